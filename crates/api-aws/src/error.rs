//! Errors as AWS JSON 1.1 clients see them: `{"__type": CODE, "message": TEXT}` with an HTTP
//! status. [`KmsError`] and the front end's own failures are mapped here by exhaustive matches
//! with no wildcard arm, so a new variant cannot go unmapped.

use strongroom_core::KmsError;

/// A failed request, before it becomes an HTTP response.
#[derive(Debug)]
pub enum ApiError {
    /// A failure of the operation itself.
    Kms(KmsError),
    /// The request's signature failed verification (or was missing or malformed).
    Signature(strongroom_sigv4::Error),
    /// The access key is unknown or inactive, or the session token does not belong to it.
    UnrecognizedClient,
    /// The session credentials have expired.
    ExpiredToken,
    /// The body is not JSON of the operation's shape.
    Serialization(String),
    /// `X-Amz-Target` does not name an operation of this service.
    UnknownOperation,
    /// The request body exceeds the size limit.
    TooLarge,
    /// A CloudTrail `LookupEvents` request CloudTrail would refuse.
    Lookup(LookupError),
}

/// Why CloudTrail refuses a `LookupEvents` request: the exceptions of its API model, each a
/// client error (400) with a message saying what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// `InvalidLookupAttributesException`: an unknown attribute key, a missing or too long
    /// value, a key given twice, or a `ReadOnly` value other than `true` or `false`.
    Attributes(String),
    /// `InvalidTimeRangeException`: the start is after the end, or a time is out of range.
    TimeRange(String),
    /// `InvalidMaxResultsException`: `MaxResults` outside 1–50.
    MaxResults(String),
    /// `InvalidNextTokenException`: a token this server did not issue, or issued for other
    /// parameters.
    NextToken(String),
    /// `InvalidEventCategoryException`: an `EventCategory` other than `insight`.
    EventCategory(String),
}

impl LookupError {
    /// The code and the message.
    pub fn parts(&self) -> (&'static str, &str) {
        match self {
            Self::Attributes(m) => ("InvalidLookupAttributesException", m),
            Self::TimeRange(m) => ("InvalidTimeRangeException", m),
            Self::MaxResults(m) => ("InvalidMaxResultsException", m),
            Self::NextToken(m) => ("InvalidNextTokenException", m),
            Self::EventCategory(m) => ("InvalidEventCategoryException", m),
        }
    }
}

impl From<KmsError> for ApiError {
    fn from(e: KmsError) -> Self {
        Self::Kms(e)
    }
}

/// The AWS error code and HTTP status of a domain error.
pub fn kms_code(e: &KmsError) -> (&'static str, u16) {
    match e {
        KmsError::Validation(_) => ("ValidationException", 400),
        KmsError::NotFound(_) => ("NotFoundException", 400),
        KmsError::AlreadyExists(_) => ("AlreadyExistsException", 400),
        KmsError::Disabled(_) => ("DisabledException", 400),
        KmsError::InvalidState(_) => ("KMSInvalidStateException", 400),
        KmsError::InvalidCiphertext(_) => ("InvalidCiphertextException", 400),
        KmsError::IncorrectKey(_) => ("IncorrectKeyException", 400),
        KmsError::InvalidKeyUsage(_) => ("InvalidKeyUsageException", 400),
        KmsError::InvalidAliasName(_) => ("InvalidAliasNameException", 400),
        KmsError::InvalidArn(_) => ("InvalidArnException", 400),
        KmsError::InvalidMarker(_) => ("InvalidMarkerException", 400),
        KmsError::MalformedPolicyDocument(_) => ("MalformedPolicyDocumentException", 400),
        KmsError::Tag(_) => ("TagException", 400),
        KmsError::LimitExceeded(_) => ("LimitExceededException", 400),
        KmsError::UnsupportedOperation(_) => ("UnsupportedOperationException", 400),
        KmsError::AccessDenied(_) => ("AccessDeniedException", 400),
        KmsError::NotAuthorized(_) => ("NotAuthorizedException", 400),
        KmsError::InvalidImportToken(_) => ("InvalidImportTokenException", 400),
        KmsError::ExpiredImportToken(_) => ("ExpiredImportTokenException", 400),
        KmsError::IncorrectKeyMaterial(_) => ("IncorrectKeyMaterialException", 400),
        KmsError::InvalidGrantToken(_) => ("InvalidGrantTokenException", 400),
        KmsError::InvalidGrantId(_) => ("InvalidGrantIdException", 400),
        // Only IAM operations report it; no KMS operation can.
        KmsError::DeleteConflict(_) => ("ValidationException", 400),
        KmsError::Conflict(_) => ("ConflictException", 409),
        KmsError::DryRun => ("DryRunOperationException", 412),
        KmsError::Internal => ("KMSInternalException", 500),
        KmsError::DependencyTimeout => ("DependencyTimeoutException", 503),
    }
}

/// The error code and HTTP status of a domain error in the Query protocol of IAM and STS
/// (`service` is `iam` or `sts`): the codes of the IAM and STS API models (`NoSuchEntity` 404,
/// `EntityAlreadyExists` 409, …). Variants no IAM or STS operation produces (KMS key states,
/// ciphertexts, import tokens) are client errors reported as `InvalidInput`.
pub fn query_code(e: &KmsError, service: &str) -> (&'static str, u16) {
    let internal = if service == "sts" {
        "InternalFailure"
    } else {
        "ServiceFailure"
    };
    match e {
        KmsError::Validation(_) | KmsError::InvalidArn(_) => ("ValidationError", 400),
        KmsError::NotFound(_) => ("NoSuchEntity", 404),
        KmsError::AlreadyExists(_) => ("EntityAlreadyExists", 409),
        KmsError::DeleteConflict(_) => ("DeleteConflict", 409),
        KmsError::LimitExceeded(_) => ("LimitExceeded", 409),
        KmsError::MalformedPolicyDocument(_) => ("MalformedPolicyDocument", 400),
        KmsError::AccessDenied(_) | KmsError::NotAuthorized(_) => ("AccessDenied", 403),
        // IAM reports refused tags (reserved prefix, duplicate keys) and bad markers as
        // InvalidInput.
        KmsError::Tag(_) | KmsError::InvalidMarker(_) => ("InvalidInput", 400),
        KmsError::Conflict(_) => ("ConcurrentModification", 409),
        KmsError::UnsupportedOperation(_) => ("UnsupportedOperation", 400),
        KmsError::Disabled(_)
        | KmsError::InvalidState(_)
        | KmsError::InvalidCiphertext(_)
        | KmsError::IncorrectKey(_)
        | KmsError::InvalidKeyUsage(_)
        | KmsError::InvalidAliasName(_)
        | KmsError::InvalidImportToken(_)
        | KmsError::ExpiredImportToken(_)
        | KmsError::IncorrectKeyMaterial(_)
        | KmsError::InvalidGrantToken(_)
        | KmsError::InvalidGrantId(_)
        | KmsError::DryRun => ("InvalidInput", 400),
        KmsError::Internal => (internal, 500),
        KmsError::DependencyTimeout => ("ServiceUnavailable", 503),
    }
}

impl ApiError {
    /// The `__type` code, the HTTP status and the message.
    pub fn parts(&self) -> (&'static str, u16, String) {
        match self {
            Self::Kms(e) => {
                let (code, status) = kms_code(e);
                (code, status, e.to_string())
            }
            Self::Signature(e) => (e.aws_error_code(), 400, e.message()),
            Self::ExpiredToken => (
                "ExpiredTokenException",
                400,
                "The security token included in the request is expired".to_owned(),
            ),
            Self::UnrecognizedClient => (
                "UnrecognizedClientException",
                400,
                "The security token included in the request is invalid.".to_owned(),
            ),
            Self::Serialization(m) => ("SerializationException", 400, m.clone()),
            Self::UnknownOperation => ("UnknownOperationException", 400, String::new()),
            Self::TooLarge => (
                "ValidationException",
                413,
                "The request body is larger than this service accepts.".to_owned(),
            ),
            Self::Lookup(e) => {
                let (code, message) = e.parts();
                (code, 400, message.to_owned())
            }
        }
    }

    /// The code, HTTP status and message as CloudTrail (JSON 1.1) reports them: like
    /// [`Self::parts`], except that internal faults are CloudTrail's `InternalFailure` and
    /// `ServiceUnavailableException` rather than KMS's.
    pub fn cloudtrail_parts(&self) -> (&'static str, u16, String) {
        match self {
            Self::Kms(KmsError::Internal) => (
                "InternalFailure",
                500,
                "The request processing has failed because of an unknown error.".to_owned(),
            ),
            Self::Kms(KmsError::DependencyTimeout) => (
                "ServiceUnavailableException",
                503,
                "The service is unavailable. Try again later.".to_owned(),
            ),
            other => other.parts(),
        }
    }

    /// The code, HTTP status and message in the Query protocol of IAM and STS (`service` is
    /// `iam` or `sts`): authentication failures take the codes those services use
    /// (`InvalidClientTokenId`, `SignatureDoesNotMatch`, `ExpiredToken`, all 403).
    pub fn query_parts(&self, service: &str) -> (&'static str, u16, String) {
        match self {
            Self::Kms(e) => {
                let (code, status) = query_code(e, service);
                (code, status, e.to_string())
            }
            Self::Signature(e) => {
                let code = match e {
                    strongroom_sigv4::Error::MissingAuthenticationToken => {
                        "MissingAuthenticationToken"
                    }
                    strongroom_sigv4::Error::IncompleteSignature(_) => "IncompleteSignature",
                    strongroom_sigv4::Error::InvalidSignature(_) => "SignatureDoesNotMatch",
                };
                let status = match e {
                    strongroom_sigv4::Error::IncompleteSignature(_) => 400,
                    _ => 403,
                };
                (code, status, e.message())
            }
            Self::ExpiredToken => (
                "ExpiredToken",
                403,
                "The security token included in the request is expired".to_owned(),
            ),
            Self::UnrecognizedClient => (
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.".to_owned(),
            ),
            Self::Serialization(m) => ("MalformedQueryString", 400, m.clone()),
            Self::UnknownOperation => ("InvalidAction", 400, String::new()),
            Self::TooLarge => (
                "RequestEntityTooLarge",
                413,
                "The request body is larger than this service accepts.".to_owned(),
            ),
            // Only CloudTrail's LookupEvents raises it; no Query request can.
            Self::Lookup(e) => ("InvalidInput", 400, e.parts().1.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every domain error with its AWS code and status. Adding a variant to `KmsError` breaks
    /// the exhaustive match above; adding it here keeps this table complete.
    #[test]
    fn every_kms_error_maps_to_its_aws_code() {
        let s = || String::from("m");
        let table: Vec<(KmsError, &str, u16)> = vec![
            (KmsError::Validation(s()), "ValidationException", 400),
            (KmsError::NotFound(s()), "NotFoundException", 400),
            (KmsError::AlreadyExists(s()), "AlreadyExistsException", 400),
            (KmsError::Disabled(s()), "DisabledException", 400),
            (KmsError::InvalidState(s()), "KMSInvalidStateException", 400),
            (
                KmsError::InvalidCiphertext(s()),
                "InvalidCiphertextException",
                400,
            ),
            (KmsError::IncorrectKey(s()), "IncorrectKeyException", 400),
            (
                KmsError::InvalidKeyUsage(s()),
                "InvalidKeyUsageException",
                400,
            ),
            (
                KmsError::InvalidAliasName(s()),
                "InvalidAliasNameException",
                400,
            ),
            (KmsError::InvalidArn(s()), "InvalidArnException", 400),
            (KmsError::InvalidMarker(s()), "InvalidMarkerException", 400),
            (
                KmsError::MalformedPolicyDocument(s()),
                "MalformedPolicyDocumentException",
                400,
            ),
            (KmsError::Tag(s()), "TagException", 400),
            (KmsError::LimitExceeded(s()), "LimitExceededException", 400),
            (
                KmsError::UnsupportedOperation(s()),
                "UnsupportedOperationException",
                400,
            ),
            (KmsError::AccessDenied(s()), "AccessDeniedException", 400),
            (KmsError::NotAuthorized(s()), "NotAuthorizedException", 400),
            (
                KmsError::InvalidImportToken(s()),
                "InvalidImportTokenException",
                400,
            ),
            (
                KmsError::ExpiredImportToken(s()),
                "ExpiredImportTokenException",
                400,
            ),
            (
                KmsError::IncorrectKeyMaterial(s()),
                "IncorrectKeyMaterialException",
                400,
            ),
            (KmsError::Conflict(s()), "ConflictException", 409),
            (KmsError::DryRun, "DryRunOperationException", 412),
            (KmsError::Internal, "KMSInternalException", 500),
            (
                KmsError::DependencyTimeout,
                "DependencyTimeoutException",
                503,
            ),
        ];
        for (e, code, status) in table {
            let (c, st, msg) = ApiError::Kms(e).parts();
            assert_eq!((c, st), (code, status));
            assert!(!msg.is_empty());
        }
    }

    /// Every domain error with its IAM/STS code and status (the Query protocol).
    #[test]
    fn every_kms_error_maps_to_its_query_code() {
        let s = || String::from("m");
        let table: Vec<(KmsError, &str, u16)> = vec![
            (KmsError::Validation(s()), "ValidationError", 400),
            (KmsError::InvalidArn(s()), "ValidationError", 400),
            (KmsError::NotFound(s()), "NoSuchEntity", 404),
            (KmsError::AlreadyExists(s()), "EntityAlreadyExists", 409),
            (KmsError::DeleteConflict(s()), "DeleteConflict", 409),
            (KmsError::LimitExceeded(s()), "LimitExceeded", 409),
            (
                KmsError::MalformedPolicyDocument(s()),
                "MalformedPolicyDocument",
                400,
            ),
            (KmsError::AccessDenied(s()), "AccessDenied", 403),
            (KmsError::NotAuthorized(s()), "AccessDenied", 403),
            (KmsError::Tag(s()), "InvalidInput", 400),
            (KmsError::InvalidMarker(s()), "InvalidInput", 400),
            (KmsError::Conflict(s()), "ConcurrentModification", 409),
            (
                KmsError::UnsupportedOperation(s()),
                "UnsupportedOperation",
                400,
            ),
            (KmsError::Disabled(s()), "InvalidInput", 400),
            (KmsError::InvalidState(s()), "InvalidInput", 400),
            (KmsError::InvalidCiphertext(s()), "InvalidInput", 400),
            (KmsError::IncorrectKey(s()), "InvalidInput", 400),
            (KmsError::InvalidKeyUsage(s()), "InvalidInput", 400),
            (KmsError::InvalidAliasName(s()), "InvalidInput", 400),
            (KmsError::InvalidImportToken(s()), "InvalidInput", 400),
            (KmsError::ExpiredImportToken(s()), "InvalidInput", 400),
            (KmsError::IncorrectKeyMaterial(s()), "InvalidInput", 400),
            (KmsError::InvalidGrantToken(s()), "InvalidInput", 400),
            (KmsError::InvalidGrantId(s()), "InvalidInput", 400),
            (KmsError::DryRun, "InvalidInput", 400),
            (KmsError::Internal, "ServiceFailure", 500),
            (KmsError::DependencyTimeout, "ServiceUnavailable", 503),
        ];
        for (e, code, status) in table {
            let (c, st, msg) = ApiError::Kms(e).query_parts("iam");
            assert_eq!((c, st), (code, status));
            assert!(!msg.is_empty());
        }
        assert_eq!(query_code(&KmsError::Internal, "sts").0, "InternalFailure");
    }

    #[test]
    fn lookup_errors_are_cloudtrails_exceptions() {
        let m = || String::from("why");
        for (e, code) in [
            (
                LookupError::Attributes(m()),
                "InvalidLookupAttributesException",
            ),
            (LookupError::TimeRange(m()), "InvalidTimeRangeException"),
            (LookupError::MaxResults(m()), "InvalidMaxResultsException"),
            (LookupError::NextToken(m()), "InvalidNextTokenException"),
            (
                LookupError::EventCategory(m()),
                "InvalidEventCategoryException",
            ),
        ] {
            let api = ApiError::Lookup(e);
            assert_eq!(api.parts(), (code, 400, "why".to_owned()));
            assert_eq!(api.cloudtrail_parts(), (code, 400, "why".to_owned()));
            assert_eq!(api.query_parts("iam").0, "InvalidInput");
        }
        assert_eq!(
            ApiError::Kms(KmsError::Internal).cloudtrail_parts().0,
            "InternalFailure"
        );
        assert_eq!(
            ApiError::Kms(KmsError::DependencyTimeout)
                .cloudtrail_parts()
                .1,
            503
        );
        let denied = ApiError::Kms(KmsError::AccessDenied("no".into()));
        assert_eq!(
            denied.cloudtrail_parts(),
            ("AccessDeniedException", 400, "no".to_owned())
        );
        assert_eq!(
            ApiError::Kms(KmsError::UnsupportedOperation("off".into()))
                .cloudtrail_parts()
                .0,
            "UnsupportedOperationException"
        );
    }

    #[test]
    fn authentication_failures_use_the_query_services_codes() {
        let parts = |e: ApiError| {
            let (c, st, _) = e.query_parts("iam");
            (c, st)
        };
        assert_eq!(
            parts(ApiError::UnrecognizedClient),
            ("InvalidClientTokenId", 403)
        );
        assert_eq!(parts(ApiError::ExpiredToken), ("ExpiredToken", 403));
        assert_eq!(
            parts(ApiError::Signature(
                strongroom_sigv4::Error::MissingAuthenticationToken
            )),
            ("MissingAuthenticationToken", 403)
        );
        assert_eq!(
            parts(ApiError::Signature(
                strongroom_sigv4::InvalidSignature::Mismatch.into()
            )),
            ("SignatureDoesNotMatch", 403)
        );
    }
}

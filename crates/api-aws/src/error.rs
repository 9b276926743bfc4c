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
    /// The access key is unknown or inactive.
    UnrecognizedClient,
    /// The body is not JSON of the operation's shape.
    Serialization(String),
    /// `X-Amz-Target` does not name an operation of this service.
    UnknownOperation,
    /// The request body exceeds the size limit.
    TooLarge,
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
        KmsError::Conflict(_) => ("ConflictException", 409),
        KmsError::DryRun => ("DryRunOperationException", 412),
        KmsError::Internal => ("KMSInternalException", 500),
        KmsError::DependencyTimeout => ("DependencyTimeoutException", 503),
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
}

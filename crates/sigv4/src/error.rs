//! Why a request failed authentication, and how AWS words each failure on the wire.
//!
//! Every variant maps, by an exhaustive `match` with no wildcard arm, to the error code that
//! AWS's JSON services (KMS among them) put in `__type` and to the message text they put in
//! `message`. SDKs read the code: the JavaScript, Java, .NET, Go and Rust SDKs treat
//! `InvalidSignatureException` as a possible clock-skew error and correct their clock from the
//! response's `Date` header, so the server must send one. botocore does no clock-skew correction.
//!
//! Where the wording below is AWS's it was taken from AWS responses quoted in public reports;
//! where AWS's wording is unknown the message is ours and its doc comment says so.
//!
//! Messages never carry a usable signature: a variant that echoes the `Authorization` header
//! stores it with the `Signature` value redacted, because a header that failed only on a typo
//! (a stray space, say) can hold a valid signature that a reader of the logs could replay.
//!
//! An access key id that the server does not know is the server's error, not this crate's:
//! AWS answers it with `UnrecognizedClientException`, "The security token included in the
//! request is invalid."

use std::fmt;

use crate::time::format_amz_date as amz;

/// The largest number of seconds the request time may be before or after the server's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// Which header carried the request time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateHeader {
    /// `X-Amz-Date`, which SDKs send.
    XAmzDate,
    /// `Date`, used only when `X-Amz-Date` is absent.
    Date,
}

impl DateHeader {
    /// The header's name as AWS writes it in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::XAmzDate => "X-Amz-Date",
            Self::Date => "Date",
        }
    }
}

/// The date in the credential scope is not the date of the request time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMismatch {
    /// The `YYYYMMDD` in the credential scope.
    pub scope_date: String,
    /// The full request timestamp, `YYYYMMDDTHHMMSSZ`.
    pub request_date: String,
}

/// The parts of the credential scope that do not fit this endpoint. AWS reports them all in one
/// message, in this order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeMismatch {
    /// The region the client named, when this endpoint does not serve it.
    pub region: Option<String>,
    /// The service this endpoint expects, when the client named another.
    pub service: Option<String>,
    /// The terminator the client used, when it is not `aws4_request`.
    pub terminator: Option<String>,
    /// The scope date, when it differs from the request date.
    pub date: Option<DateMismatch>,
}

impl ScopeMismatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.region.is_none()
            && self.service.is_none()
            && self.terminator.is_none()
            && self.date.is_none()
    }
}

/// Why a request failed SigV4 authentication, grouped by the error code AWS answers with.
/// Every variant is an HTTP 400 in AWS's JSON protocol; [`Error::aws_error_code`] and
/// [`Error::message`] give the `__type` and `message` of the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// No `Authorization` header, or one that does not start with `AWS4-` (AWS answers, say, a
    /// `Bearer` token the same way). `MissingAuthenticationTokenException`,
    /// "Request is missing Authentication Token": AWS's wording for its JSON services (API
    /// Gateway's "Missing Authentication Token" comes from a different front end).
    MissingAuthenticationToken,
    /// The signature information is malformed or incomplete: `IncompleteSignatureException`.
    IncompleteSignature(IncompleteSignature),
    /// The signature information is well formed but wrong: `InvalidSignatureException`.
    InvalidSignature(InvalidSignature),
}

/// The `IncompleteSignatureException` cases: the request cannot even be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncompleteSignature {
    /// The request has more than one `Authorization` header. The message is ours.
    MultipleAuthorizationHeaders,
    /// The `Authorization` header is longer than [`crate::MAX_AUTHORIZATION_LEN`] bytes. The
    /// message is ours.
    AuthorizationTooLong {
        /// The header's length in bytes.
        len: usize,
    },
    /// A header this crate reads (`Authorization`, `X-Amz-Security-Token`,
    /// `X-Amz-Content-Sha256`) is not printable ASCII. The message is ours.
    UnreadableHeader {
        /// The header's name.
        name: &'static str,
    },
    /// A comma- or space-separated part of the `Authorization` header has no `=`: "'…' not a
    /// valid key=value pair (missing equal-sign) in Authorization header: '…'." (AWS's wording).
    NotKeyValuePair {
        /// The offending part.
        pair: String,
        /// The whole header, `Signature` value redacted.
        authorization: String,
    },
    /// A parameter appears twice in the `Authorization` header. The message is ours: a second
    /// value must not silently win.
    DuplicateParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// Required parts are missing: one sentence per missing part ("Authorization header
    /// requires 'Credential' parameter. ", …, "Authorization header requires existence of
    /// either a 'X-Amz-Date' or a 'Date' header. "), then "Authorization=" and the header
    /// (AWS's wording and order).
    MissingParameters {
        /// `Credential` is missing or empty.
        credential: bool,
        /// `SignedHeaders` is missing.
        signed_headers: bool,
        /// `Signature` is missing or empty.
        signature: bool,
        /// Neither `X-Amz-Date` nor `Date` is present.
        date: bool,
        /// The whole header, `Signature` value redacted.
        authorization: String,
    },
    /// The request time is not `YYYYMMDD'T'HHMMSS'Z'`: "Date must be in ISO-8601 'basic
    /// format'. Got '…'. See http://en.wikipedia.org/wiki/ISO_8601" (AWS's wording).
    InvalidDate {
        /// The value received.
        value: String,
    },
    /// The algorithm is not `AWS4-HMAC-SHA256`: "Unsupported AWS 'algorithm': '…' (only
    /// AWS4-HMAC-SHA256 for now). " (AWS's wording).
    UnsupportedAlgorithm {
        /// The algorithm named.
        algorithm: String,
    },
    /// `Credential` is not `keyid/date/region/service/terminator`: "Credential must have exactly
    /// 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '…'" (AWS's
    /// wording).
    MalformedCredential {
        /// The credential received.
        credential: String,
    },
    /// `SignedHeaders` is not a sorted `;`-separated list of at most
    /// [`crate::MAX_SIGNED_HEADERS`] distinct lowercase header names, or it names
    /// `authorization`, which cannot sign itself. The message is ours.
    MalformedSignedHeaders {
        /// The list received.
        signed_headers: String,
    },
    /// `Signature` is not 64 lowercase hexadecimal digits. The message is ours (AWS's is
    /// unknown).
    MalformedSignature,
    /// A signed header is absent from the request: "'…' is named as a SignedHeader, but it does
    /// not exist in the HTTP request." (AWS's wording).
    SignedHeaderMissing {
        /// The header's name.
        name: String,
    },
}

/// The `InvalidSignatureException` cases: the request was checked and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidSignature {
    /// The request time is more than [`MAX_CLOCK_SKEW_SECS`] before the server's clock:
    /// "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z
    /// (20150830T125100Z - 5 min.)" (AWS's wording).
    Expired {
        /// The request time, Unix seconds.
        request_time: i64,
        /// The server's time, Unix seconds.
        now: i64,
    },
    /// The request time is more than [`MAX_CLOCK_SKEW_SECS`] after the server's clock:
    /// "Signature not yet current: 20150830T125200Z is still later than 20150830T124600Z
    /// (20150830T124100Z + 5 min.)" (AWS's wording).
    NotYetCurrent {
        /// The request time, Unix seconds.
        request_time: i64,
        /// The server's time, Unix seconds.
        now: i64,
    },
    /// `host` is not among the signed headers: "'Host' or ':authority' must be a
    /// 'SignedHeader' in the AWS Authorization." (AWS's wording).
    HostNotSigned,
    /// The header that carried the request time is not signed. The message is ours, modelled
    /// on the `host` one. (The string to sign binds the time anyway; AWS's documentation asks
    /// for the header to be signed and every SDK signs it.)
    DateNotSigned {
        /// The header that carried the time.
        header: DateHeader,
    },
    /// The credential scope names another region, service, terminator or date, e.g.
    /// "Credential should be scoped to correct service: 'kms'. " (AWS's wording for each part,
    /// see [`ScopeMismatch`]).
    CredentialScope(ScopeMismatch),
    /// `X-Amz-Content-Sha256` is not the SHA-256 of the body. The message is S3's wording for
    /// the same check (the JSON services' is unknown).
    ContentSha256Mismatch,
    /// The signature does not match: "The request signature we calculated does not match the
    /// signature you provided. Check your AWS Secret Access Key and signing method. Consult the
    /// service documentation for details." (AWS's wording; some AWS services append the
    /// canonical request, which is left out here.)
    Mismatch,
}

impl Error {
    /// The error code AWS's JSON services return for this failure, the `__type` of the body.
    pub fn aws_error_code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            Self::IncompleteSignature(_) => "IncompleteSignatureException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
        }
    }

    /// The HTTP status: 400 for every variant, as in AWS's JSON protocol.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::MissingAuthenticationToken
            | Self::IncompleteSignature(_)
            | Self::InvalidSignature(_) => 400,
        }
    }

    /// The message text, the `message` of the response body.
    pub fn message(&self) -> String {
        match self {
            Self::MissingAuthenticationToken => "Request is missing Authentication Token".into(),
            Self::IncompleteSignature(e) => e.message(),
            Self::InvalidSignature(e) => e.message(),
        }
    }
}

impl From<IncompleteSignature> for Error {
    fn from(e: IncompleteSignature) -> Self {
        Self::IncompleteSignature(e)
    }
}

impl From<InvalidSignature> for Error {
    fn from(e: InvalidSignature) -> Self {
        Self::InvalidSignature(e)
    }
}

impl IncompleteSignature {
    /// The message text AWS (or, where noted on the variant, this crate) uses.
    pub fn message(&self) -> String {
        match self {
            Self::MultipleAuthorizationHeaders => {
                "The request must carry exactly one Authorization header.".into()
            }
            Self::AuthorizationTooLong { len } => format!(
                "Authorization header is {len} bytes long; the limit is {} bytes.",
                crate::MAX_AUTHORIZATION_LEN
            ),
            Self::UnreadableHeader { name } => {
                format!("The '{name}' header must be printable ASCII.")
            }
            Self::NotKeyValuePair {
                pair,
                authorization,
            } => format!(
                "'{pair}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{authorization}'."
            ),
            Self::DuplicateParameter { name } => {
                format!("Authorization header has more than one '{name}' parameter.")
            }
            Self::MissingParameters {
                credential,
                signed_headers,
                signature,
                date,
                authorization,
            } => missing_parameters_message(
                [
                    (*credential, "Credential"),
                    (*signature, "Signature"),
                    (*signed_headers, "SignedHeaders"),
                ],
                *date,
                authorization,
            ),
            Self::InvalidDate { value } => format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. \
                 See http://en.wikipedia.org/wiki/ISO_8601"
            ),
            Self::UnsupportedAlgorithm { algorithm } => format!(
                "Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). "
            ),
            Self::MalformedCredential { credential } => format!(
                "Credential must have exactly 5 slash-delimited elements, \
                 e.g. keyid/date/region/service/term, got '{credential}'"
            ),
            Self::MalformedSignedHeaders { signed_headers } => format!(
                "SignedHeaders must be a sorted ';'-separated list of at most {} distinct \
                 lowercase header names, got '{signed_headers}'.",
                crate::MAX_SIGNED_HEADERS
            ),
            Self::MalformedSignature => {
                "Signature must be 64 lowercase hexadecimal characters.".into()
            }
            Self::SignedHeaderMissing { name } => format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            ),
        }
    }
}

impl InvalidSignature {
    /// The message text AWS (or, where noted on the variant, this crate) uses.
    pub fn message(&self) -> String {
        match self {
            Self::Expired { request_time, now } => format!(
                "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                amz(*request_time),
                amz(now.saturating_sub(MAX_CLOCK_SKEW_SECS)),
                amz(*now)
            ),
            Self::NotYetCurrent { request_time, now } => format!(
                "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                amz(*request_time),
                amz(now.saturating_add(MAX_CLOCK_SKEW_SECS)),
                amz(*now)
            ),
            Self::HostNotSigned => {
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into()
            }
            Self::DateNotSigned { header } => format!(
                "'{}' must be a 'SignedHeader' in the AWS Authorization.",
                header.name()
            ),
            Self::CredentialScope(mismatch) => scope_message(mismatch),
            Self::ContentSha256Mismatch => {
                "The provided 'x-amz-content-sha256' header does not match what was computed."
                    .into()
            }
            Self::Mismatch => "The request signature we calculated does not match the \
                 signature you provided. Check your AWS Secret Access Key and signing method. \
                 Consult the service documentation for details."
                .into(),
        }
    }
}

/// AWS names every missing part in one message, in this order, then echoes the header.
fn missing_parameters_message(
    parameters: [(bool, &str); 3],
    date: bool,
    authorization: &str,
) -> String {
    let mut out = String::new();
    for (missing, name) in parameters {
        if missing {
            out.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date {
        out.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    out.push_str("Authorization=");
    out.push_str(authorization);
    out
}

fn scope_message(m: &ScopeMismatch) -> String {
    let mut out = String::new();
    if let Some(region) = &m.region {
        out.push_str(&format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        ));
    }
    if let Some(service) = &m.service {
        out.push_str(&format!(
            "Credential should be scoped to correct service: '{service}'. "
        ));
    }
    if let Some(terminator) = &m.terminator {
        out.push_str(&format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', \
             not '{terminator}'. "
        ));
    }
    if let Some(DateMismatch {
        scope_date,
        request_date,
    }) = &m.date
    {
        let day = request_date.get(..8).unwrap_or(request_date);
        out.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{scope_date}' != '{day}', from '{request_date}'."
        ));
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.aws_error_code(), self.message())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_440_938_160; // 20150830T123600Z

    #[test]
    fn expiry_messages_match_aws_wording() {
        let e = Error::from(InvalidSignature::Expired {
            request_time: T,
            now: T + 900,
        });
        assert_eq!(
            e.message(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T124600Z \
             (20150830T125100Z - 5 min.)"
        );
        let e = Error::from(InvalidSignature::NotYetCurrent {
            request_time: T + 960,
            now: T + 300,
        });
        assert_eq!(
            e.message(),
            "Signature not yet current: 20150830T125200Z is still later than 20150830T124600Z \
             (20150830T124100Z + 5 min.)"
        );
        assert_eq!(e.aws_error_code(), "InvalidSignatureException");
    }

    #[test]
    fn missing_parameters_follow_aws_order() {
        let e = Error::from(IncompleteSignature::MissingParameters {
            credential: true,
            signed_headers: true,
            signature: true,
            date: true,
            authorization: "AWS4-HMAC-SHA256".into(),
        });
        assert_eq!(
            e.message(),
            "Authorization header requires 'Credential' parameter. Authorization header \
             requires 'Signature' parameter. Authorization header requires 'SignedHeaders' \
             parameter. Authorization header requires existence of either a 'X-Amz-Date' or a \
             'Date' header. Authorization=AWS4-HMAC-SHA256"
        );
    }

    #[test]
    fn scope_message_lists_every_mismatch() {
        let e = Error::from(InvalidSignature::CredentialScope(ScopeMismatch {
            region: Some("c".into()),
            service: Some("kms".into()),
            terminator: Some("e".into()),
            date: Some(DateMismatch {
                scope_date: "b".into(),
                request_date: "20130609T095204Z".into(),
            }),
        }));
        assert_eq!(
            e.message(),
            "Credential should be scoped to a valid region, not 'c'. Credential should be \
             scoped to correct service: 'kms'. Credential should be scoped with a valid \
             terminator: 'aws4_request', not 'e'. Date in Credential scope does not match \
             YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != '20130609', from \
             '20130609T095204Z'."
        );
    }

    #[test]
    fn every_variant_is_a_400() {
        assert_eq!(Error::from(InvalidSignature::Mismatch).http_status(), 400);
        let e = Error::from(IncompleteSignature::MalformedSignature);
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.aws_error_code(), "IncompleteSignatureException");
        assert_eq!(Error::MissingAuthenticationToken.http_status(), 400);
    }
}

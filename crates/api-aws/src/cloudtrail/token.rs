//! `NextToken` of `LookupEvents`: an opaque position in the log, bound to the query it
//! belongs to.
//!
//! A token is the URL-safe base64 (no padding) of 29 bytes: a version byte (1), the segment
//! number (u32, big-endian) and `seq` (u64, big-endian) of the last event of the page, and the
//! first 16 bytes of a SHA-256 over the account and the query's parameters (attributes,
//! time range, event category; not `MaxResults`, which may change from page to page, as with
//! AWS's paginators). A token whose binding does not match the request it comes with — other
//! attributes, another time range, another account — is refused with
//! `InvalidNextTokenException`, as CloudTrail refuses a token reused with other parameters.
//!
//! The token is not secret and needs no integrity of its own: the account filter is applied
//! from the caller's credentials on every page, so a forged position shows the caller nothing
//! it could not look up anyway.

use base64::Engine as _;
use strongroom_audit::LogPosition;

/// The token format version.
const VERSION: u8 = 1;
/// The bytes of the binding kept in a token.
const BINDING_LEN: usize = 16;
/// The length of a decoded token.
const TOKEN_LEN: usize = 1 + 4 + 8 + BINDING_LEN;
/// The longest token text read (a real one is 39 characters).
const MAX_TOKEN_CHARS: usize = 256;

/// What a token is bound to: a digest of the account and the query's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding([u8; BINDING_LEN]);

impl Binding {
    /// The binding of a query by `account` whose parameters' canonical form is `canonical`
    /// (any unambiguous encoding; the caller uses JSON).
    pub(crate) fn new(account: &str, canonical: &[u8]) -> Self {
        let mut text = Vec::with_capacity(account.len() + canonical.len() + 32);
        text.extend_from_slice(b"strongroom/lookup-events/v1\n");
        text.extend_from_slice(account.as_bytes());
        text.push(b'\n');
        text.extend_from_slice(canonical);
        let digest = strongroom_crypto::digest::sha256(&text);
        let mut out = [0u8; BINDING_LEN];
        out.copy_from_slice(&digest[..BINDING_LEN]);
        Self(out)
    }
}

/// The token that continues a query bound to `binding` after `at`.
pub(crate) fn encode(at: LogPosition, binding: Binding) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_LEN);
    bytes.push(VERSION);
    bytes.extend_from_slice(&at.segment.to_be_bytes());
    bytes.extend_from_slice(&at.seq.to_be_bytes());
    bytes.extend_from_slice(&binding.0);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Why a token is refused (the message of `InvalidNextTokenException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not a token this server issues.
    Malformed,
    /// Issued for other parameters (or another account).
    OtherQuery,
}

impl Refused {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Self::Malformed => "The NextToken is not valid.",
            Self::OtherQuery => {
                "The NextToken was issued for a request with other parameters; pass it with the \
                 same LookupAttributes, StartTime, EndTime and EventCategory."
            }
        }
    }
}

/// The position a token continues from, if it is one this server issued for `binding`.
pub(crate) fn decode(token: &str, binding: Binding) -> Result<LogPosition, Refused> {
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(Refused::Malformed);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| Refused::Malformed)?;
    let (Some(&VERSION), Some(segment), Some(seq), Some(bound)) = (
        bytes.first(),
        bytes.get(1..5),
        bytes.get(5..13),
        bytes.get(13..TOKEN_LEN),
    ) else {
        return Err(Refused::Malformed);
    };
    if bytes.len() != TOKEN_LEN {
        return Err(Refused::Malformed);
    }
    let segment = u32::from_be_bytes(segment.try_into().map_err(|_| Refused::Malformed)?);
    let seq = u64::from_be_bytes(seq.try_into().map_err(|_| Refused::Malformed)?);
    if !strongroom_crypto::digest::constant_time_eq(bound, &binding.0) {
        return Err(Refused::OtherQuery);
    }
    Ok(LogPosition { segment, seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(segment: u32, seq: u64) -> LogPosition {
        LogPosition { segment, seq }
    }

    #[test]
    fn tokens_round_trip_for_the_same_query_only() {
        let b = Binding::new("111122223333", br#"[["EventName","Decrypt"]]"#);
        for p in [at(1, 1), at(7, 123_456), at(u32::MAX, u64::MAX)] {
            let t = encode(p, b);
            assert_eq!(t.len(), 39);
            assert!(
                t.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            );
            assert_eq!(decode(&t, b), Ok(p));
        }
        let t = encode(at(3, 40), b);
        let other_params = Binding::new("111122223333", br#"[["EventName","Encrypt"]]"#);
        let other_account = Binding::new("444455556666", br#"[["EventName","Decrypt"]]"#);
        assert_eq!(decode(&t, other_params), Err(Refused::OtherQuery));
        assert_eq!(decode(&t, other_account), Err(Refused::OtherQuery));
        // The account and the parameters cannot be shifted into each other.
        assert_ne!(
            Binding::new("1111", b"22223333"),
            Binding::new("11112222", b"3333")
        );
    }

    #[test]
    fn anything_else_is_malformed() {
        let b = Binding::new("111122223333", b"[]");
        let good = encode(at(2, 9), b);
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&good)
            .unwrap();
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let mut longer = bytes.clone();
        longer.push(0);
        let shorter = bytes[..bytes.len() - 1].to_vec();
        let wrong_version = {
            bytes[0] = 2;
            b64(&bytes)
        };
        for bad in [
            String::new(),
            "not a token".to_owned(),
            "%%%".to_owned(),
            format!("{good}="),
            b64(&longer),
            b64(&shorter),
            wrong_version,
            "A".repeat(MAX_TOKEN_CHARS + 1),
        ] {
            assert_eq!(decode(&bad, b), Err(Refused::Malformed), "{bad}");
        }
        assert!(
            Refused::OtherQuery
                .message()
                .contains("same LookupAttributes")
        );
    }
}

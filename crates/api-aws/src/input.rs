//! Reading request members with AWS's constraints. Type mismatches are a
//! `SerializationException` (from serde); constraint violations a `ValidationException` in
//! AWS's wording, naming the member in lowerCamelCase (`keyId`, `tags.1.member.tagKey`).

use crate::error::ApiError;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use strongroom_core::KmsError;
use strongroom_crypto::secret::SecretBytes;

/// Parses the body as the operation's input shape. An empty body is `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        // serde's own message can echo a value (a plaintext sent as the wrong type); name the
        // position only.
        let what = if e.is_data() {
            "does not match the operation's input shape"
        } else {
            "is not valid JSON"
        };
        ApiError::Serialization(format!(
            "The request body {what} (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })
}

fn violation(member: &str, value: &str, constraint: &str) -> ApiError {
    ApiError::Kms(KmsError::Validation(format!(
        "1 validation error detected: Value {value}at '{member}' failed to satisfy \
         constraint: {constraint}"
    )))
}

/// Quotes a value for a validation message, bounded so a huge value cannot bloat errors.
fn shown(v: &str) -> String {
    let mut s: String = v.chars().take(256).collect();
    if s.len() < v.len() {
        s.push_str("...");
    }
    format!("'{s}' ")
}

/// A required member.
pub(crate) fn required<'a, T>(v: &'a Option<T>, member: &str) -> Result<&'a T, ApiError> {
    v.as_ref()
        .ok_or_else(|| violation(member, "null ", "Member must not be null"))
}

/// A length `n` within `min..=max`; `shown` is the quoted value or "" when it must not be
/// echoed.
fn length(member: &str, shown: &str, n: usize, min: usize, max: usize) -> Result<(), ApiError> {
    if n < min {
        return Err(violation(
            member,
            shown,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(violation(
            member,
            shown,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A string's length (in characters, as AWS counts) within `min..=max`.
pub(crate) fn str_len(member: &str, v: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = v.chars().count();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    length(member, &shown(v), n, min, max)
}

/// An optional string with a length constraint.
pub(crate) fn opt_str<'a>(
    v: &'a Option<String>,
    member: &str,
    min: usize,
    max: usize,
) -> Result<Option<&'a str>, ApiError> {
    match v {
        Some(s) => str_len(member, s, min, max).map(|()| Some(s.as_str())),
        None => Ok(None),
    }
}

/// A required string with a length constraint.
pub(crate) fn req_str<'a>(
    v: &'a Option<String>,
    member: &str,
    min: usize,
    max: usize,
) -> Result<&'a str, ApiError> {
    let s = required(v, member)?;
    str_len(member, s, min, max)?;
    Ok(s)
}

/// Every character within `allowed` (the model's `pattern` as a predicate).
pub(crate) fn chars_match(
    member: &str,
    v: &str,
    pattern: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<(), ApiError> {
    if v.chars().all(allowed) {
        Ok(())
    } else {
        Err(violation(
            member,
            &shown(v),
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ))
    }
}

/// An integer within `min..=max`.
pub(crate) fn int_range(member: &str, v: i64, min: i64, max: i64) -> Result<(), ApiError> {
    let shown = format!("'{v}' ");
    if v < min {
        return Err(violation(
            member,
            &shown,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if v > max {
        return Err(violation(
            member,
            &shown,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A list's length within `min..=max`.
pub(crate) fn list_len(member: &str, n: usize, min: usize, max: usize) -> Result<(), ApiError> {
    length(member, "", n, min, max)
}

/// An enum member, parsed with `parse`; `all` lists the model's values for the message.
pub(crate) fn enum_value<T>(
    member: &str,
    v: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    all: &[&str],
) -> Result<Option<T>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    parse(s).map(Some).ok_or_else(|| {
        violation(
            member,
            &shown(s),
            &format!("Member must satisfy enum value set: [{}]", all.join(", ")),
        )
    })
}

/// A base64 blob member, decoded, with its decoded length within `min..=max`. The value is
/// never echoed: blobs carry plaintexts and ciphertexts.
pub(crate) fn blob(
    member: &str,
    b64: &str,
    min: usize,
    max: usize,
) -> Result<SecretBytes, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| ApiError::Serialization(format!("Member '{member}' is not valid base64.")))?;
    let bytes = SecretBytes::new(bytes);
    length(member, "", bytes.expose().len(), min, max)?;
    Ok(bytes)
}

/// Encodes bytes as base64 for a response.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(e: ApiError) -> String {
        e.parts().2
    }

    #[test]
    fn messages_follow_aws_wording() {
        assert_eq!(
            msg(required::<String>(&None, "keyId").unwrap_err()),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: \
             Member must not be null"
        );
        assert_eq!(
            msg(int_range("numberOfBytes", 0, 1, 1024).unwrap_err()),
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy \
             constraint: Member must have value greater than or equal to 1"
        );
        assert!(
            msg(str_len("keyId", "", 1, 2048).unwrap_err())
                .contains("'keyId' failed to satisfy constraint: Member must have length greater")
        );
        let e = blob("plaintext", &b64(&[7u8; 4097]), 1, 4096).unwrap_err();
        let m = msg(e);
        assert!(m.contains("Value at 'plaintext'"), "{m}");
        assert!(m.contains("less than or equal to 4096"), "{m}");
    }

    #[test]
    fn blobs_decode_and_bad_base64_is_a_serialization_error() {
        assert_eq!(blob("plaintext", "aGk=", 1, 10).unwrap().expose(), b"hi");
        assert!(matches!(
            blob("plaintext", "***", 1, 10),
            Err(ApiError::Serialization(_))
        ));
    }

    #[test]
    fn empty_body_is_an_empty_object_and_wrong_types_are_serialization_errors() {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct In {
            key_id: Option<String>,
        }
        let v: In = parse_body(b"").unwrap();
        assert!(v.key_id.is_none());
        assert!(matches!(
            parse_body::<In>(br#"{"KeyId": 5}"#),
            Err(ApiError::Serialization(_))
        ));
        assert!(matches!(
            parse_body::<In>(b"{"),
            Err(ApiError::Serialization(_))
        ));
    }
}

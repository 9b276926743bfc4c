//! The signature itself, and the signer that the benchmark client and the tests use.
//!
//! Signing and verifying share [`crate::canonical`] and [`signature`], so a request this signer
//! produces verifies exactly when the canonicalization agrees with itself; the AWS test suite
//! and an independent signer pin it to what AWS computes.

use std::fmt;

use strongroom_crypto::digest::hmac_sha256;
use strongroom_crypto::secret::{KeyMaterial, SecretBytes};

use crate::Request;
use crate::authorization::{MAX_SIGNED_HEADERS, TERMINATOR};
use crate::canonical::{
    ALGORITHM, canonical_request, hex, is_valid_header_name, payload_hash, string_to_sign,
};
use crate::error::{Error, IncompleteSignature, InvalidSignature};
use crate::time::{format_amz_date, parse_amz_date};

/// The key derived from a secret access key for one credential scope
/// (`date/region/service/aws4_request`). It is good for that scope only, so a server may
/// cache it per access key for the day instead of deriving it (four HMACs) on every request.
///
/// A secret in its own right: wiped on drop, never printed.
pub struct SigningKey {
    scope: String,
    key: KeyMaterial,
}

impl SigningKey {
    /// Derives the signing key of `secret_access_key` for the scope `scope_date/region/service`.
    pub fn derive(secret_access_key: &[u8], scope_date: &str, region: &str, service: &str) -> Self {
        let mut seed = Vec::with_capacity(4 + secret_access_key.len());
        seed.extend_from_slice(b"AWS4");
        seed.extend_from_slice(secret_access_key);
        let seed = SecretBytes::new(seed);
        let k_date = KeyMaterial::new(hmac_sha256(seed.expose(), scope_date.as_bytes()));
        let k_region = KeyMaterial::new(hmac_sha256(k_date.expose(), region.as_bytes()));
        let k_service = KeyMaterial::new(hmac_sha256(k_region.expose(), service.as_bytes()));
        let key = KeyMaterial::new(hmac_sha256(k_service.expose(), TERMINATOR.as_bytes()));
        let scope = format!("{scope_date}/{region}/{service}/{TERMINATOR}");
        Self { scope, key }
    }

    /// The credential scope this key signs for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// HMAC-SHA256 of a string to sign under this key.
    pub fn sign(&self, string_to_sign: &str) -> [u8; 32] {
        hmac_sha256(self.key.expose(), string_to_sign.as_bytes())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// The last step: HMAC-SHA256 of the string to sign under the key derived from the secret and
/// the credential scope. Public so that tests can check it against published vectors alone.
pub fn signature(
    secret_access_key: &[u8],
    scope_date: &str,
    region: &str,
    service: &str,
    string_to_sign: &str,
) -> [u8; 32] {
    SigningKey::derive(secret_access_key, scope_date, region, service).sign(string_to_sign)
}

/// What a signed request must carry: send `authorization` as the `Authorization` header and
/// `amz_date` as the `X-Amz-Date` header, next to the headers that were signed.
///
/// `Debug` hides the signature: a logged header is a replayable request while it is fresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `Authorization` header value.
    pub authorization: String,
    /// The `X-Amz-Date` header value.
    pub amz_date: String,
}

impl fmt::Debug for Signed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("authorization", &"[REDACTED]")
            .field("amz_date", &self.amz_date)
            .finish()
    }
}

/// Signs `req` at time `amz_date_unix` for `service` in `region`.
///
/// Signs every header in `req.headers` (names lowercased, repeated names joined) plus the
/// `X-Amz-Date` this call chooses; an `Authorization` or `X-Amz-Date` header already in
/// `req.headers` is ignored. So pass exactly the headers to protect, `host` among them; headers
/// a transport adds later (`content-length`, say) stay unsigned and harmless. To use temporary
/// credentials, put `x-amz-security-token` in `req.headers`.
///
/// Fails, rather than produce a signature no verifier accepts, when `host` is missing
/// ([`InvalidSignature::HostNotSigned`]), a header name is not an HTTP token or there are more
/// than [`MAX_SIGNED_HEADERS`] names ([`IncompleteSignature::MalformedSignedHeaders`]), an
/// identifier holds `/`, `,` or whitespace ([`IncompleteSignature::MalformedCredential`]), or
/// the time is outside years 0000 to 9999 ([`IncompleteSignature::InvalidDate`]).
pub fn sign(
    req: &Request<'_>,
    access_key_id: &str,
    secret_access_key: &[u8],
    region: &str,
    service: &str,
    amz_date_unix: i64,
) -> Result<Signed, Error> {
    let amz_date = format_amz_date(amz_date_unix);
    if parse_amz_date(&amz_date).is_none() {
        return Err(IncompleteSignature::InvalidDate { value: amz_date }.into());
    }
    let scope_date = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{scope_date}/{region}/{service}/{TERMINATOR}");
    for part in [access_key_id, region, service] {
        if part.is_empty() || part.contains(['/', ',', ' ', '\t', '\n', '\r', '=']) {
            return Err(IncompleteSignature::MalformedCredential {
                credential: format!("{access_key_id}/{scope}"),
            }
            .into());
        }
    }
    let mut headers: Vec<(&str, &[u8])> = req
        .headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date")
        })
        .copied()
        .collect();
    headers.push(("x-amz-date", amz_date.as_bytes()));
    let names = signed_names(&headers)?;
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let signed_req = Request {
        headers: &headers,
        ..*req
    };
    let creq = canonical_request(&signed_req, &names, &payload_hash(req.body))?;
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let sig = signature(secret_access_key, scope_date, region, service, &sts);
    Ok(Signed {
        authorization: format!(
            "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={}",
            names.join(";"),
            hex(&sig)
        ),
        amz_date,
    })
}

/// The lowercase, sorted, distinct names of `headers`, which must include `host`.
fn signed_names(headers: &[(&str, &[u8])]) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    names.sort_unstable();
    names.dedup();
    if let Some(bad) = names.iter().find(|n| !is_valid_header_name(n)) {
        return Err(IncompleteSignature::MalformedSignedHeaders {
            signed_headers: bad.clone(),
        }
        .into());
    }
    if names.len() > MAX_SIGNED_HEADERS {
        return Err(IncompleteSignature::MalformedSignedHeaders {
            signed_headers: names.join(";"),
        }
        .into());
    }
    if !names.iter().any(|n| n == "host") {
        return Err(InvalidSignature::HostNotSigned.into());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_the_aws_documentation_example() {
        // The string to sign of the test suite's get-vanilla case and its published signature.
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
                   bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
        let sig = signature(
            b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "service",
            sts,
        );
        assert_eq!(
            hex(&sig),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn debug_hides_the_signature() {
        let s = Signed {
            authorization: "AWS4-HMAC-SHA256 Signature=abc".into(),
            amz_date: "20150830T123600Z".into(),
        };
        assert!(!format!("{s:?}").contains("abc"));
    }
}

//! Reading the `Authorization` header and the headers around it into a typed [`Authorization`].
//!
//! This step only reads: it needs no secret and no clock, so the server can run it first, look
//! the access key id up, and only then verify. Its checks follow the order AWS reports them in
//! (key=value syntax, missing parts, date format, algorithm, credential shape), and it bounds
//! its work: the header is at most [`MAX_AUTHORIZATION_LEN`] bytes and names at most
//! [`MAX_SIGNED_HEADERS`] headers.

use std::fmt;

use crate::Request;
use crate::canonical::{ALGORITHM, is_valid_header_name};
use crate::error::{DateHeader, Error, IncompleteSignature};
use crate::time::parse_amz_date;

/// The longest `Authorization` header accepted, in bytes. An SDK's header is about 200 bytes
/// plus the signed header names; 8 KiB leaves room for 64 long names.
pub const MAX_AUTHORIZATION_LEN: usize = 8 * 1024;

/// The most headers a request may sign. SDKs sign fewer than ten.
pub const MAX_SIGNED_HEADERS: usize = 64;

/// The only credential scope terminator SigV4 defines.
pub(crate) const TERMINATOR: &str = "aws4_request";

/// What a request claims about its signature, read but not yet verified.
///
/// `Debug` shows neither the signature nor the security token: both let someone who reads the
/// log replay the request while it is fresh.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    pub(crate) access_key_id: String,
    pub(crate) scope_date: String,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) terminator: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: [u8; 32],
    pub(crate) amz_date: String,
    pub(crate) request_time: i64,
    pub(crate) date_header: DateHeader,
    pub(crate) security_token: Option<String>,
    pub(crate) content_sha256: Option<String>,
}

impl Authorization {
    /// The access key id, by which the server finds the secret key (or answers
    /// `UnrecognizedClientException`).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The credential scope's date, `YYYYMMDD`, as sent.
    pub fn scope_date(&self) -> &str {
        &self.scope_date
    }

    /// The credential scope's region, as sent.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The credential scope's service, as sent.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The credential scope, `date/region/service/terminator`, the third line of the string to
    /// sign.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.scope_date, self.region, self.service, self.terminator
        )
    }

    /// The signed header names: lowercase, sorted, distinct.
    pub fn signed_headers(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.iter().map(String::as_str)
    }

    /// The request time, Unix seconds.
    pub fn request_time(&self) -> i64 {
        self.request_time
    }

    /// The request time as sent, `YYYYMMDDTHHMMSSZ`.
    pub fn amz_date(&self) -> &str {
        &self.amz_date
    }

    /// Which header carried the request time.
    pub fn date_header(&self) -> DateHeader {
        self.date_header
    }

    /// The `X-Amz-Security-Token` of temporary credentials, if sent.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.as_deref()
    }

    /// Whether the security token is among the signed headers. The AWS test suite has both
    /// forms (`post-sts-header-before` and `-after`), so an unsigned token is not an error here;
    /// a server that accepts temporary credentials decides whether to require it signed.
    pub fn security_token_is_signed(&self) -> bool {
        self.signed_headers
            .iter()
            .any(|h| h == "x-amz-security-token")
    }

    /// The `X-Amz-Content-Sha256` value, if sent.
    pub fn content_sha256(&self) -> Option<&str> {
        self.content_sha256.as_deref()
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("access_key_id", &self.access_key_id)
            .field("credential_scope", &self.credential_scope())
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"[REDACTED]")
            .field("amz_date", &self.amz_date)
            .field("date_header", &self.date_header)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("content_sha256", &self.content_sha256)
            .finish()
    }
}

/// The three parameters of the header, each at most once.
#[derive(Default)]
struct Parameters<'h> {
    credential: Option<&'h str>,
    signed_headers: Option<&'h str>,
    signature: Option<&'h str>,
}

/// Reads the request's SigV4 `Authorization` header, its date and the other headers SigV4
/// gives meaning to. Checks syntax only: see [`crate::verify`] for what this does not check.
pub fn parse(req: &Request<'_>) -> Result<Authorization, Error> {
    let header = authorization_header(req)?;
    let (algorithm, rest) = header.split_once([' ', '\t']).unwrap_or((header, ""));
    let params = parameters(header, rest)?;
    let dated = date_value(req);
    let (credential, signed_headers, signature, (date_header, date)) = match (
        params.credential,
        params.signed_headers,
        params.signature,
        dated,
    ) {
        (Some(c), Some(h), Some(s), Some(d)) => (c, h, s, d),
        (c, h, s, d) => {
            return Err(IncompleteSignature::MissingParameters {
                credential: c.is_none(),
                signed_headers: h.is_none(),
                signature: s.is_none(),
                date: d.is_none(),
                authorization: redact(header),
            }
            .into());
        }
    };
    let request_time = parse_amz_date(&date).ok_or_else(|| IncompleteSignature::InvalidDate {
        value: date.clone(),
    })?;
    if algorithm != ALGORITHM {
        return Err(IncompleteSignature::UnsupportedAlgorithm {
            algorithm: redact(algorithm),
        }
        .into());
    }
    let [access_key_id, scope_date, region, service, terminator] = credential_parts(credential)?;
    Ok(Authorization {
        access_key_id,
        scope_date,
        region,
        service,
        terminator,
        signed_headers: signed_header_names(signed_headers)?,
        signature: signature_bytes(signature)?,
        amz_date: date,
        request_time,
        date_header,
        security_token: ascii_header(req, "x-amz-security-token", "X-Amz-Security-Token")?,
        content_sha256: ascii_header(req, "x-amz-content-sha256", "X-Amz-Content-Sha256")?,
    })
}

/// The one `Authorization` header, bounded, starting with `AWS4-`, printable ASCII.
fn authorization_header<'r>(req: &Request<'r>) -> Result<&'r str, Error> {
    let mut values = header_values(req, "authorization");
    let value = values.next().ok_or(Error::MissingAuthenticationToken)?;
    if values.next().is_some() {
        return Err(IncompleteSignature::MultipleAuthorizationHeaders.into());
    }
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(IncompleteSignature::AuthorizationTooLong { len: value.len() }.into());
    }
    let value = value.trim_ascii();
    if !value.starts_with(b"AWS4-") {
        return Err(Error::MissingAuthenticationToken);
    }
    match std::str::from_utf8(value) {
        Ok(s) if is_printable_ascii(value) => Ok(s),
        _ => Err(IncompleteSignature::UnreadableHeader {
            name: "Authorization",
        }
        .into()),
    }
}

/// Splits the parameters on commas and whitespace, as AWS does (so `Credential= AKID/…` is an
/// empty credential followed by a part with no `=`). Unknown parameters are ignored.
fn parameters<'h>(header: &str, rest: &'h str) -> Result<Parameters<'h>, Error> {
    let mut params = Parameters::default();
    for part in rest.split([',', ' ', '\t']).filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(IncompleteSignature::NotKeyValuePair {
                pair: redact(part),
                authorization: redact(header),
            }
            .into());
        };
        let (slot, name) = match key {
            "Credential" => (&mut params.credential, "Credential"),
            "SignedHeaders" => (&mut params.signed_headers, "SignedHeaders"),
            "Signature" => (&mut params.signature, "Signature"),
            _ => continue,
        };
        if slot.is_some() {
            return Err(IncompleteSignature::DuplicateParameter { name }.into());
        }
        *slot = Some(value);
    }
    // AWS treats an empty credential or signature as missing; an empty SignedHeaders is read
    // as an empty list and fails later because `host` is not in it.
    params.credential = params.credential.filter(|v| !v.is_empty());
    params.signature = params.signature.filter(|v| !v.is_empty());
    Ok(params)
}

/// The request time's header and value: `X-Amz-Date`, else `Date`. Repeated headers are joined
/// with `,` as in the canonical request, which makes them fail the format check.
fn date_value(req: &Request<'_>) -> Option<(DateHeader, String)> {
    [
        (DateHeader::XAmzDate, "x-amz-date"),
        (DateHeader::Date, "date"),
    ]
    .into_iter()
    .find_map(|(which, name)| joined_header(req, name).map(|v| (which, v)))
}

/// `keyid/date/region/service/terminator`; trailing slashes are ignored, as AWS ignores them.
fn credential_parts(credential: &str) -> Result<[String; 5], IncompleteSignature> {
    let malformed = || IncompleteSignature::MalformedCredential {
        credential: redact(credential),
    };
    let mut parts = credential.trim_end_matches('/').split('/');
    let mut next = || parts.next().map(str::to_owned).ok_or_else(malformed);
    let out = [next()?, next()?, next()?, next()?, next()?];
    match parts.next() {
        None => Ok(out),
        Some(_) => Err(malformed()),
    }
}

/// The `SignedHeaders` list: lowercase token names, strictly increasing, at most
/// [`MAX_SIGNED_HEADERS`], never `authorization`.
fn signed_header_names(list: &str) -> Result<Vec<String>, IncompleteSignature> {
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let malformed = || IncompleteSignature::MalformedSignedHeaders {
        signed_headers: redact(list),
    };
    let mut names: Vec<String> = Vec::new();
    for name in list.split(';') {
        let in_order = names.last().is_none_or(|prev| prev.as_str() < name);
        if !in_order
            || !is_valid_header_name(name)
            || name == "authorization"
            || names.len() == MAX_SIGNED_HEADERS
        {
            return Err(malformed());
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// The signature: exactly 64 lowercase hex digits.
fn signature_bytes(hex: &str) -> Result<[u8; 32], IncompleteSignature> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes = hex.as_bytes();
    let mut out = [0u8; 32];
    if bytes.len() != 64 {
        return Err(IncompleteSignature::MalformedSignature);
    }
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let (Some(&h), Some(&l)) = (pair.first(), pair.get(1)) else {
            return Err(IncompleteSignature::MalformedSignature);
        };
        match (digit(h), digit(l)) {
            (Some(h), Some(l)) => *slot = h << 4 | l,
            _ => return Err(IncompleteSignature::MalformedSignature),
        }
    }
    Ok(out)
}

/// Every value of header `name` (any case), in order.
pub(crate) fn header_values<'r>(
    req: &Request<'r>,
    name: &'static str,
) -> impl Iterator<Item = &'r [u8]> {
    req.headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// All values of header `name` joined with `,`, or `None` when absent. Lossy for non-UTF-8,
/// which only matters for echoing a bad value back.
fn joined_header(req: &Request<'_>, name: &'static str) -> Option<String> {
    let mut values = header_values(req, name).peekable();
    values.peek()?;
    let joined: Vec<&[u8]> = values.map(<[u8]>::trim_ascii).collect();
    Some(String::from_utf8_lossy(&joined.join(&b","[..])).into_owned())
}

/// A header this crate reads as text: present or not, and printable ASCII when present.
fn ascii_header(
    req: &Request<'_>,
    name: &'static str,
    display: &'static str,
) -> Result<Option<String>, IncompleteSignature> {
    let mut values = header_values(req, name).peekable();
    if values.peek().is_none() {
        return Ok(None);
    }
    let joined: Vec<&[u8]> = values.map(<[u8]>::trim_ascii).collect();
    let joined = joined.join(&b","[..]);
    match String::from_utf8(joined) {
        Ok(s) if is_printable_ascii(s.as_bytes()) => Ok(Some(s)),
        _ => Err(IncompleteSignature::UnreadableHeader { name: display }),
    }
}

fn is_printable_ascii(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Replaces every run of 64 or more hex digits, the shape of a signature, with `[REDACTED]`, so
/// an echoed header or part never carries a signature that could be replayed.
pub(crate) fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 64 {
            out.push_str("[REDACTED]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_signature_shaped_runs_only() {
        let sig = "a".repeat(64);
        assert_eq!(
            redact(&format!("Signature={sig}, x=abc")),
            "Signature=[REDACTED], x=abc"
        );
        assert_eq!(redact(&format!("{sig}0")), "[REDACTED]");
        assert_eq!(redact("AKID/20150830/us-east-1"), "AKID/20150830/us-east-1");
    }

    #[test]
    fn credential_needs_exactly_five_parts() {
        assert!(credential_parts("a/b/c/d/e").is_ok());
        assert!(credential_parts("a/b/c/d/e//").is_ok());
        assert!(credential_parts("a/b/c/d").is_err());
        assert!(credential_parts("a/b/c/d/e/f").is_err());
    }

    #[test]
    fn signed_headers_must_be_sorted_distinct_and_bounded() {
        assert_eq!(
            signed_header_names("host;x-amz-date").ok(),
            Some(vec!["host".to_owned(), "x-amz-date".to_owned()])
        );
        for bad in [
            "x-amz-date;host",
            "host;host",
            "Host",
            "host;",
            ";host",
            "authorization;host",
        ] {
            assert!(signed_header_names(bad).is_err(), "{bad}");
        }
        let names: Vec<String> = (0..MAX_SIGNED_HEADERS)
            .map(|i| format!("h{i:03}"))
            .collect();
        assert!(signed_header_names(&names.join(";")).is_ok());
        let names: Vec<String> = (0..=MAX_SIGNED_HEADERS)
            .map(|i| format!("h{i:03}"))
            .collect();
        assert!(signed_header_names(&names.join(";")).is_err());
    }

    #[test]
    fn signature_must_be_64_lowercase_hex() {
        assert!(signature_bytes(&"0f".repeat(32)).is_ok());
        assert!(signature_bytes(&"0F".repeat(32)).is_err());
        assert!(signature_bytes(&"0f".repeat(31)).is_err());
        assert!(signature_bytes(&"0g".repeat(32)).is_err());
    }
}

//! The canonical request and the string to sign: the one canonicalization that the signer and
//! the verifier share, so the two cannot drift apart.
//!
//! The rules are those of AWS's SigV4 specification for every service except S3:
//! - the URI path is normalized (empty and `.` segments dropped, `..` removes the segment before
//!   it, a trailing `/` kept) and then every segment is URI-encoded *as received*, so an
//!   already-encoded `%20` becomes `%2520`, as the SDKs do for non-S3 services. A path that
//!   ends in a dot segment loses its trailing slash (`/a/b/..` is `/a`) as in botocore and the
//!   JavaScript SDK; the Rust SDK's RFC 3986 normalization gives `/a/`. No SDK sends such a
//!   path to KMS, whose path is always `/`;
//! - query parameters are split on `&` and at the first `=`, decoded, re-encoded with only the
//!   unreserved characters left bare, and sorted by name, then value. A raw `+` decodes to a
//!   space, as in every form-encoded query and as the Go and Rust SDKs' signers read it (SDKs
//!   never send a raw `+`: they encode it as `%2B`); a `%` that starts no valid escape is taken
//!   literally;
//! - header values are trimmed, runs of whitespace become one space, repeated headers are
//!   joined with `,` in the order received, and a folded (multi-line) value becomes one value
//!   per line joined with `,`, as the AWS test suite's `get-header-value-multiline` case shows;
//! - the payload hash is always the SHA-256 of the body (no `UNSIGNED-PAYLOAD`).

use strongroom_crypto::digest::sha256;

use crate::Request;
use crate::error::IncompleteSignature;

/// The signing algorithm, the first line of the string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Lowercase hexadecimal, as SigV4 writes every hash and signature.
pub fn hex(bytes: &[u8]) -> String {
    strongroom_crypto::hex::encode(bytes)
}

/// The hex SHA-256 of the body, the last line of the canonical request.
pub fn payload_hash(body: &[u8]) -> String {
    hex(&sha256(body))
}

/// The canonical request for `req`, covering the headers named in `signed_headers` (lowercase,
/// sorted, as they appear in the `SignedHeaders` list) and the given payload hash.
///
/// Bytes rather than a string because header values need not be UTF-8. Fails when a signed
/// header is absent from the request.
pub fn canonical_request(
    req: &Request<'_>,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<Vec<u8>, IncompleteSignature> {
    let mut out = Vec::with_capacity(256 + req.path.len() + req.query.len());
    out.extend_from_slice(req.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query).as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        if !canonical_header_value(req.headers, name, &mut out) {
            return Err(IncompleteSignature::SignedHeaderMissing {
                name: (*name).to_owned(),
            });
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    Ok(out)
}

/// The string to sign: algorithm, request time, credential scope and the hash of the canonical
/// request, one per line.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex(&sha256(canonical_request))
    )
}

/// The canonical URI of a raw request path (non-S3 rules, see the module docs).
pub fn canonical_uri(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 8);
    // A path that does not start with `/` (an empty one, in practice) is rooted anyway: the
    // canonical URI is always absolute.
    out.push('/');
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        uri_encode_into(segment.as_bytes(), &mut out);
    }
    if !segments.is_empty() && path.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query string of a raw query (without the `?`).
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Form-decodes `s` and encodes it again in canonical form.
fn reencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    uri_encode_into(&form_decode(s.as_bytes()), &mut out);
    out
}

/// Decodes `%XX` escapes and `+`; a `%` not followed by two hex digits stays as it is.
fn form_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let escaped = match (b, input.get(i + 1), input.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)),
            _ => None,
        };
        match escaped {
            Some((h, l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            None => {
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// SigV4's `UriEncode`: every byte but the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX` with
/// uppercase hex digits.
fn uri_encode_into(bytes: &[u8], out: &mut String) {
    const UPPER: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(UPPER[usize::from(b >> 4)]));
            out.push(char::from(UPPER[usize::from(b & 0x0f)]));
        }
    }
}

/// Appends the canonical value of header `name` (every occurrence, in order, joined by `,`).
/// Returns false when the request has no such header.
fn canonical_header_value(headers: &[(&str, &[u8])], name: &str, out: &mut Vec<u8>) -> bool {
    let mut found = false;
    for (_, value) in headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)) {
        if found {
            out.push(b',');
        }
        found = true;
        // A folded value (obsolete line folding) is one value per line.
        for (i, line) in value.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                out.push(b',');
            }
            trim_all_into(line, out);
        }
    }
    found
}

/// SigV4's `Trimall`: no leading or trailing whitespace, and each run of inner whitespace
/// becomes one space.
fn trim_all_into(value: &[u8], out: &mut Vec<u8>) {
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c);
    let mut pending_space = false;
    let mut started = false;
    for b in value {
        if is_space(b) {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(*b);
            started = true;
        }
    }
}

/// True when `name` is a header name SigV4 can list: a non-empty lowercase HTTP token.
pub(crate) fn is_valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_normalization_matches_the_sdks() {
        for (raw, canonical) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/../../x", "/x"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/.", "/example"),
            ("/a/b/../c/", "/a/c/"),
            ("/example space/", "/example%20space/"),
            ("/%20", "/%2520"),
            ("/\u{1234}", "/%E1%88%B4"),
            ("/-._~AZaz09", "/-._~AZaz09"),
        ] {
            assert_eq!(canonical_uri(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        for (raw, canonical) in [
            ("", ""),
            ("Param1=value1", "Param1=value1"),
            ("Param1", "Param1="),
            ("b=2&a=1&a=0", "a=0&a=1&b=2"),
            ("Param1=value2&Param1=Value1", "Param1=Value1&Param1=value2"),
            ("a=%7e%41", "a=~A"),
            ("a=b c", "a=b%20c"),
            ("a=x+y", "a=x%20y"),
            ("a=x%2By", "a=x%2By"),
            ("a=%zz%4", "a=%25zz%254"),
            ("a=b=c", "a=b%3Dc"),
            ("&&a=1&", "a=1"),
            ("\u{1234}=bar", "%E1%88%B4=bar"),
        ] {
            assert_eq!(canonical_query(raw), canonical, "{raw:?}");
        }
    }

    #[test]
    fn header_values_are_trimmed_joined_and_unfolded() {
        let headers: &[(&str, &[u8])] = &[
            ("My-Header1", b"  a   b\t c  "),
            ("other", b"x"),
            ("my-header1", b"value1\n  value2\r\n     value3"),
        ];
        let mut out = Vec::new();
        assert!(canonical_header_value(headers, "my-header1", &mut out));
        assert_eq!(out, b"a b c,value1,value2,value3");
        assert!(!canonical_header_value(headers, "absent", &mut Vec::new()));
    }

    #[test]
    fn header_names_must_be_lowercase_tokens() {
        assert!(is_valid_header_name("x-amz-date"));
        for bad in ["", "Host", "a;b", "a b", "a:b", "a,b", "é"] {
            assert!(!is_valid_header_name(bad), "{bad}");
        }
    }
}

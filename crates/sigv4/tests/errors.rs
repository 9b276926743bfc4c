//! Every way a request can fail authentication maps to the right variant, AWS code and message,
//! and no input makes the verifier panic.

#![allow(
    clippy::unwrap_used,
    reason = "helpers outside #[test] functions: a broken fixture must fail the test at once"
)]

mod common;

use common::*;
use proptest::prelude::*;
use strongroom_sigv4::canonical::{canonical_request, hex, payload_hash, string_to_sign};
use strongroom_sigv4::{
    DateHeader, Error, IncompleteSignature, InvalidSignature, MAX_AUTHORIZATION_LEN, parse,
    signature,
};

const T: i64 = SUITE_TIME;
const SCOPE: &str = "AKIDEXAMPLE/20150830/us-east-1/kms/aws4_request";
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date;x-amz-target";

fn good() -> OwnedRequest {
    signed(kms_request(), T)
}

fn sig_of(req: &OwnedRequest) -> String {
    signature_of(&authorization(req)).to_owned()
}

/// `good()` with its Authorization header replaced.
fn auth_header(value: &str) -> Result<(), Error> {
    verify_kms(&with_authorization(good(), value), T)
}

fn incomplete(e: IncompleteSignature) -> Result<(), Error> {
    Err(Error::IncompleteSignature(e))
}

fn invalid(e: InvalidSignature) -> Result<(), Error> {
    Err(Error::InvalidSignature(e))
}

#[test]
fn the_unmodified_request_verifies() {
    assert_eq!(verify_kms(&good(), T), Ok(()));
    assert_eq!(
        authorization(&good()),
        format!(
            "AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={SIGNED_HEADERS}, Signature={}",
            sig_of(&good())
        )
    );
}

#[test]
fn no_aws4_authorization_is_a_missing_token() {
    let mut req = good();
    req.remove_header("Authorization");
    let err = verify_kms(&req, T).unwrap_err();
    assert_eq!(err, Error::MissingAuthenticationToken);
    assert_eq!(err.aws_error_code(), "MissingAuthenticationTokenException");
    assert_eq!(err.message(), "Request is missing Authentication Token");
    assert_eq!(err.http_status(), 400);
    for value in [
        "",
        "   ",
        "Bearer abc",
        "AWS AKID:sig",
        "aws4-hmac-sha256 Credential=x",
    ] {
        assert_eq!(
            auth_header(value),
            Err(Error::MissingAuthenticationToken),
            "{value:?}"
        );
    }
}

#[test]
fn two_authorization_headers_are_refused() {
    let mut req = good();
    let value = authorization(&req);
    req.push_header("authorization", value.as_bytes());
    assert_eq!(
        verify_kms(&req, T),
        incomplete(IncompleteSignature::MultipleAuthorizationHeaders)
    );
}

#[test]
fn an_oversized_or_unreadable_header_is_refused_before_parsing() {
    let long = format!(
        "AWS4-HMAC-SHA256 Credential={}",
        "a".repeat(MAX_AUTHORIZATION_LEN)
    );
    let err = auth_header(&long).unwrap_err();
    assert_eq!(
        err,
        Error::IncompleteSignature(IncompleteSignature::AuthorizationTooLong { len: long.len() })
    );
    assert_eq!(err.aws_error_code(), "IncompleteSignatureException");
    assert_eq!(
        auth_header("AWS4-HMAC-SHA256 Credential=\u{e9}"),
        incomplete(IncompleteSignature::UnreadableHeader {
            name: "Authorization"
        })
    );
}

#[test]
fn each_missing_parameter_is_named_in_aws_order() {
    let sig = sig_of(&good());
    let cases = [
        (
            format!("AWS4-HMAC-SHA256 SignedHeaders={SIGNED_HEADERS}, Signature={sig}"),
            (true, false, false),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={SCOPE}, Signature={sig}"),
            (false, true, false),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={SIGNED_HEADERS}"),
            (false, false, true),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=, SignedHeaders={SIGNED_HEADERS}, Signature="),
            (true, false, true),
        ),
        ("AWS4-HMAC-SHA256".to_owned(), (true, true, true)),
    ];
    for (header, (credential, signed_headers, signature)) in cases {
        let err = auth_header(&header).unwrap_err();
        let Error::IncompleteSignature(IncompleteSignature::MissingParameters {
            credential: c,
            signed_headers: h,
            signature: s,
            date,
            authorization,
        }) = &err
        else {
            panic!("{header}: {err:?}");
        };
        assert_eq!(
            (*c, *h, *s, *date),
            (credential, signed_headers, signature, false),
            "{header}"
        );
        assert!(
            !authorization.contains(&sig),
            "the signature is redacted: {authorization}"
        );
        assert!(
            err.message()
                .ends_with(&format!("Authorization={}", authorization))
        );
    }
    let err = auth_header("AWS4-HMAC-SHA256 SignedHeaders=host").unwrap_err();
    assert_eq!(
        err.message(),
        "Authorization header requires 'Credential' parameter. Authorization header requires \
         'Signature' parameter. Authorization=AWS4-HMAC-SHA256 SignedHeaders=host"
    );
}

#[test]
fn a_missing_date_is_named() {
    let mut req = good();
    req.remove_header("X-Amz-Date");
    let err = verify_kms(&req, T).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::IncompleteSignature(IncompleteSignature::MissingParameters {
                date: true,
                credential: false,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(err.message().starts_with(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
         Authorization=AWS4-HMAC-SHA256 Credential="
    ));
}

#[test]
fn a_part_without_equals_sign_is_named() {
    let sig = sig_of(&good());
    // A stray space after `Credential=`, the classic copy-paste error.
    let header = format!(
        "AWS4-HMAC-SHA256 Credential= {SCOPE}, SignedHeaders={SIGNED_HEADERS}, Signature={sig}"
    );
    let err = auth_header(&header).unwrap_err();
    assert_eq!(
        err.message(),
        format!(
            "'{SCOPE}' not a valid key=value pair (missing equal-sign) in Authorization header: \
             'AWS4-HMAC-SHA256 Credential= {SCOPE}, SignedHeaders={SIGNED_HEADERS}, \
             Signature=[REDACTED]'."
        )
    );
    // The same error after `Signature=` must not echo the signature as the offending part.
    let header = format!(
        "AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={SIGNED_HEADERS}, Signature= {sig}"
    );
    let err = auth_header(&header).unwrap_err();
    assert!(matches!(
        err,
        Error::IncompleteSignature(IncompleteSignature::NotKeyValuePair { .. })
    ));
    assert!(!err.message().contains(&sig), "{}", err.message());
    assert!(!format!("{err:?}").contains(&sig));
}

#[test]
fn a_repeated_parameter_is_refused() {
    let header = format!("{}, Credential={SCOPE}", authorization(&good()));
    assert_eq!(
        auth_header(&header),
        incomplete(IncompleteSignature::DuplicateParameter { name: "Credential" })
    );
}

#[test]
fn unknown_parameters_are_ignored() {
    let header = format!("{}, Extra=1", authorization(&good()));
    assert_eq!(auth_header(&header), Ok(()));
}

#[test]
fn a_date_not_in_basic_format_is_refused_with_aws_wording() {
    for value in [
        "2015-08-30T12:36:00Z",
        "Sun, 30 Aug 2015 12:36:00 GMT",
        "20150830T123600",
    ] {
        let mut req = good();
        req.remove_header("X-Amz-Date");
        req.push_header("X-Amz-Date", value.as_bytes());
        let err = verify_kms(&req, T).unwrap_err();
        assert_eq!(
            err,
            Error::IncompleteSignature(IncompleteSignature::InvalidDate {
                value: value.into()
            })
        );
        assert_eq!(
            err.message(),
            format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. \
                 See http://en.wikipedia.org/wiki/ISO_8601"
            )
        );
    }
    // Two X-Amz-Date headers join into one value that is not a date.
    let mut req = good();
    req.push_header("x-amz-date", b"20150830T123600Z");
    assert!(matches!(
        verify_kms(&req, T),
        Err(Error::IncompleteSignature(
            IncompleteSignature::InvalidDate { .. }
        ))
    ));
}

#[test]
fn an_unknown_algorithm_is_named() {
    let header = authorization(&good()).replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    let err = auth_header(&header).unwrap_err();
    assert_eq!(
        err,
        Error::IncompleteSignature(IncompleteSignature::UnsupportedAlgorithm {
            algorithm: "AWS4-HMAC-SHA512".into()
        })
    );
    assert_eq!(
        err.message(),
        "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
    );
}

#[test]
fn a_credential_without_five_parts_is_refused() {
    for credential in [
        "AKIDEXAMPLE/20150830/us-east-1/kms",
        "a/b/c/d/e/f",
        "AKIDEXAMPLE",
    ] {
        let header = authorization(&good()).replace(SCOPE, credential);
        let err = auth_header(&header).unwrap_err();
        assert_eq!(
            err.message(),
            format!(
                "Credential must have exactly 5 slash-delimited elements, \
                 e.g. keyid/date/region/service/term, got '{credential}'"
            )
        );
    }
    // AWS ignores trailing slashes, and so does the scope that gets signed.
    let header = authorization(&good()).replace(SCOPE, &format!("{SCOPE}//"));
    assert_eq!(auth_header(&header), Ok(()));
}

fn scope_error(credential: &str) -> Error {
    let header = authorization(&good()).replace(SCOPE, credential);
    auth_header(&header).unwrap_err()
}

#[test]
fn a_wrong_scope_is_reported_part_by_part() {
    let err = scope_error("AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request");
    assert_eq!(err.aws_error_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Credential should be scoped to correct service: 'kms'. "
    );
    let err = scope_error("AKIDEXAMPLE/20150830/us-west-2/kms/aws4_request");
    assert_eq!(
        err.message(),
        "Credential should be scoped to a valid region, not 'us-west-2'. "
    );
    let err = scope_error("AKIDEXAMPLE/20150830/us-east-1/kms/aws5_request");
    assert_eq!(
        err.message(),
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    );
    let err = scope_error("AKIDEXAMPLE/20150831/us-east-1/kms/aws4_request");
    assert_eq!(
        err.message(),
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '20150831' != '20150830', from '20150830T123600Z'."
    );
    let err = scope_error("AKIDEXAMPLE/2015083/eu-central-1/KMS/x");
    let Error::InvalidSignature(InvalidSignature::CredentialScope(m)) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(m.region.as_deref(), Some("eu-central-1"));
    assert_eq!(m.service.as_deref(), Some("kms"));
    assert_eq!(m.terminator.as_deref(), Some("x"));
    assert_eq!(
        m.date.as_ref().map(|d| d.scope_date.as_str()),
        Some("2015083")
    );
}

#[test]
fn a_second_configured_region_is_accepted() {
    let mut req = kms_request();
    req.headers[0].1 = b"kms.eu-west-1.amazonaws.com".to_vec();
    let s = req
        .with(|r| strongroom_sigv4::sign(r, ACCESS_KEY_ID, SECRET, "eu-west-1", "kms", T))
        .unwrap();
    req.push_header("X-Amz-Date", s.amz_date.as_bytes());
    req.push_header("Authorization", s.authorization.as_bytes());
    assert_eq!(verify_kms(&req, T), Ok(()));
}

#[test]
fn a_signature_that_is_not_64_lowercase_hex_is_refused() {
    let sig = sig_of(&good());
    for bad in [
        sig.to_uppercase(),
        sig[..62].to_owned(),
        format!("{sig}00"),
        format!("{}zz", &sig[..62]),
    ] {
        let header = authorization(&good()).replace(&sig, &bad);
        assert_eq!(
            auth_header(&header),
            incomplete(IncompleteSignature::MalformedSignature),
            "{bad}"
        );
    }
}

#[test]
fn malformed_signed_headers_are_refused() {
    for bad in [
        "host;content-type;x-amz-date;x-amz-target",
        "content-type;Host;x-amz-date;x-amz-target",
        "content-type;host;host;x-amz-date;x-amz-target",
        "authorization;content-type;host;x-amz-date;x-amz-target",
        "content-type;;host;x-amz-date;x-amz-target",
    ] {
        let header = authorization(&good()).replace(SIGNED_HEADERS, bad);
        assert_eq!(
            auth_header(&header),
            incomplete(IncompleteSignature::MalformedSignedHeaders {
                signed_headers: bad.into()
            }),
            "{bad}"
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("h{i:02}")).collect();
    let header = authorization(&good()).replace(SIGNED_HEADERS, &many.join(";"));
    assert!(matches!(
        auth_header(&header),
        Err(Error::IncompleteSignature(
            IncompleteSignature::MalformedSignedHeaders { .. }
        ))
    ));
}

#[test]
fn host_and_date_must_be_signed() {
    let header =
        authorization(&good()).replace(SIGNED_HEADERS, "content-type;x-amz-date;x-amz-target");
    let err = auth_header(&header).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::HostNotSigned)
    );
    assert_eq!(
        err.message(),
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    );
    let header = authorization(&good()).replace(SIGNED_HEADERS, "");
    assert_eq!(
        auth_header(&header),
        invalid(InvalidSignature::HostNotSigned)
    );
    let header = authorization(&good()).replace(SIGNED_HEADERS, "content-type;host;x-amz-target");
    let err = auth_header(&header).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::DateNotSigned {
            header: DateHeader::XAmzDate
        })
    );
    assert_eq!(
        err.message(),
        "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn a_signed_header_absent_from_the_request_is_named() {
    let mut req = good();
    req.remove_header("Content-Type");
    let err = verify_kms(&req, T).unwrap_err();
    assert_eq!(
        err,
        Error::IncompleteSignature(IncompleteSignature::SignedHeaderMissing {
            name: "content-type".into()
        })
    );
    assert_eq!(
        err.message(),
        "'content-type' is named as a SignedHeader, but it does not exist in the HTTP request."
    );
}

#[test]
fn the_content_sha256_header_must_be_the_body_hash() {
    let mut req = kms_request();
    let hash = payload_hash(&req.body);
    req.push_header("X-Amz-Content-Sha256", hash.as_bytes());
    assert_eq!(verify_kms(&signed(req.clone(), T), T), Ok(()));
    let mut wrong = req;
    wrong.remove_header("X-Amz-Content-Sha256");
    wrong.push_header("X-Amz-Content-Sha256", payload_hash(b"other").as_bytes());
    let err = verify_kms(&signed(wrong, T), T).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::ContentSha256Mismatch)
    );
    assert_eq!(err.aws_error_code(), "InvalidSignatureException");
}

#[test]
fn a_wrong_signature_is_a_mismatch_with_aws_wording() {
    let sig = sig_of(&good());
    let first = if sig.starts_with('0') { "1" } else { "0" };
    let flipped = format!("{first}{}", &sig[1..]);
    let err = auth_header(&authorization(&good()).replace(&sig, &flipped)).unwrap_err();
    assert_eq!(err, Error::InvalidSignature(InvalidSignature::Mismatch));
    assert_eq!(
        err.message(),
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    );
    assert_eq!(err.http_status(), 400);
}

/// A request dated by `Date` alone, signed by hand through the public steps.
fn date_only_request(signed_headers: &str) -> OwnedRequest {
    let mut req = kms_request();
    req.push_header("Date", b"20150830T123600Z");
    let names: Vec<&str> = signed_headers.split(';').collect();
    let creq = req
        .with(|r| canonical_request(r, &names, &payload_hash(r.body)))
        .unwrap();
    let sts = string_to_sign(
        "20150830T123600Z",
        "20150830/us-east-1/kms/aws4_request",
        &creq,
    );
    let sig = hex(&signature(SECRET, "20150830", "us-east-1", "kms", &sts));
    let header = format!(
        "AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders={signed_headers}, Signature={sig}"
    );
    req.push_header("Authorization", header.as_bytes());
    req
}

#[test]
fn the_date_header_is_the_fallback_and_must_then_be_signed() {
    let req = date_only_request("content-type;date;host;x-amz-target");
    assert_eq!(verify_kms(&req, T), Ok(()));
    let auth = req.with(parse).unwrap();
    assert_eq!(auth.date_header(), DateHeader::Date);
    let req = date_only_request("content-type;host;x-amz-target");
    let err = verify_kms(&req, T).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::DateNotSigned {
            header: DateHeader::Date
        })
    );
    assert_eq!(
        err.message(),
        "'Date' must be a 'SignedHeader' in the AWS Authorization."
    );
}

#[test]
fn debug_output_never_shows_the_signature_or_token() {
    let mut req = kms_request();
    req.push_header("X-Amz-Security-Token", b"sentinel-session-token");
    let req = signed(req, T);
    let auth = req.with(parse).unwrap();
    assert_eq!(auth.security_token(), Some("sentinel-session-token"));
    assert!(auth.security_token_is_signed());
    let printed = format!("{auth:?} {:?}", req.with(|r| format!("{r:?}")));
    assert!(!printed.contains(&sig_of(&req)), "{printed}");
    assert!(!printed.contains("sentinel-session-token"), "{printed}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_authorization_header_is_handled_without_panic(value in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut req = good();
        req.remove_header("Authorization");
        req.push_header("Authorization", &value);
        prop_assert!(verify_kms(&req, T).is_err());
    }

    #[test]
    fn near_miss_authorization_headers_are_handled_without_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("AWS4-HMAC-SHA256".to_owned()),
                Just("Credential=".to_owned()),
                Just("SignedHeaders=".to_owned()),
                Just("Signature=".to_owned()),
                Just(SCOPE.to_owned()),
                Just(SIGNED_HEADERS.to_owned()),
                "[a-z0-9/;=, -]{0,80}",
                "[0-9a-f]{64}",
                ".{0,20}",
            ],
            0..12,
        ),
        now in any::<i64>(),
    ) {
        let req = with_authorization(good(), &parts.concat());
        prop_assert!(verify_kms(&req, now).is_err());
    }

    #[test]
    fn any_date_or_clock_is_handled_without_panic(date in ".{0,24}", now in any::<i64>()) {
        let mut req = good();
        req.remove_header("X-Amz-Date");
        req.push_header("X-Amz-Date", date.as_bytes());
        let result = verify_kms(&req, now);
        if date != "20150830T123600Z" {
            prop_assert!(result.is_err());
        }
    }
}

//! The signer and the verifier agree on every request, not only the test suite's: a request
//! signed here verifies, whatever its headers, body, path or query, and a change to any byte
//! of the body breaks it.

mod common;

use common::*;
use proptest::prelude::*;
use strongroom_sigv4::{
    Endpoint, Error, IncompleteSignature, InvalidSignature, SigningKey, parse, sign, verify,
    verify_with_key,
};

const T: i64 = SUITE_TIME;

#[test]
fn a_signed_kms_request_verifies() {
    let req = signed(kms_request(), T);
    assert_eq!(verify_kms(&req, T), Ok(()));
    let auth = req.with(parse).unwrap();
    assert_eq!(auth.access_key_id(), ACCESS_KEY_ID);
    assert_eq!(auth.service(), "kms");
    assert_eq!(auth.region(), "us-east-1");
    assert_eq!(auth.request_time(), T);
    assert_eq!(auth.amz_date(), "20150830T123600Z");
    assert_eq!(
        auth.credential_scope(),
        "20150830/us-east-1/kms/aws4_request"
    );
    assert_eq!(auth.security_token(), None);
}

#[test]
fn a_cached_signing_key_verifies_only_for_its_own_scope() {
    let req = signed(kms_request(), T);
    let auth = req.with(parse).unwrap();
    let endpoint = Endpoint {
        service: "kms",
        regions: &["us-east-1"],
    };
    let right = SigningKey::derive(SECRET, "20150830", "us-east-1", "kms");
    assert_eq!(right.scope(), auth.credential_scope());
    assert_eq!(
        req.with(|r| verify_with_key(r, &auth, &endpoint, &right, T)),
        Ok(())
    );
    let mismatch = Err(Error::InvalidSignature(InvalidSignature::Mismatch));
    for wrong in [
        SigningKey::derive(SECRET, "20150831", "us-east-1", "kms"),
        SigningKey::derive(SECRET, "20150830", "eu-west-1", "kms"),
        SigningKey::derive(b"another secret", "20150830", "us-east-1", "kms"),
    ] {
        assert_eq!(
            req.with(|r| verify_with_key(r, &auth, &endpoint, &wrong, T)),
            mismatch
        );
    }
    assert!(!format!("{right:?}").contains("key:"));
}

#[test]
fn signing_ignores_stale_authorization_and_date_headers() {
    let mut req = signed(kms_request(), T - 3_600);
    // Re-signing the already-signed request replaces both headers' meaning.
    let s = req
        .with(|r| sign(r, ACCESS_KEY_ID, SECRET, "us-east-1", "kms", T))
        .unwrap();
    req.remove_header("Authorization");
    req.remove_header("X-Amz-Date");
    req.push_header("X-Amz-Date", s.amz_date.as_bytes());
    req.push_header("Authorization", s.authorization.as_bytes());
    assert_eq!(verify_kms(&req, T), Ok(()));
}

#[test]
fn signing_refuses_what_no_verifier_would_accept() {
    let mut no_host = kms_request();
    no_host.remove_header("Host");
    let sign_kms = |req: &OwnedRequest, akid: &str, t: i64| {
        req.with(|r| sign(r, akid, SECRET, "us-east-1", "kms", t))
    };
    assert_eq!(
        sign_kms(&no_host, ACCESS_KEY_ID, T),
        Err(Error::InvalidSignature(InvalidSignature::HostNotSigned))
    );
    let mut bad_name = kms_request();
    bad_name.push_header("bad name", b"x");
    assert!(matches!(
        sign_kms(&bad_name, ACCESS_KEY_ID, T),
        Err(Error::IncompleteSignature(
            IncompleteSignature::MalformedSignedHeaders { .. }
        ))
    ));
    assert!(matches!(
        sign_kms(&kms_request(), "AKID/X", T),
        Err(Error::IncompleteSignature(
            IncompleteSignature::MalformedCredential { .. }
        ))
    ));
    assert!(matches!(
        sign_kms(&kms_request(), ACCESS_KEY_ID, i64::MAX),
        Err(Error::IncompleteSignature(
            IncompleteSignature::InvalidDate { .. }
        ))
    ));
}

#[test]
fn verify_needs_the_same_secret() {
    let req = signed(kms_request(), T);
    let result = req.with(|r| {
        let auth = parse(r)?;
        verify(r, &auth, &KMS, b"another secret", T)
    });
    assert_eq!(
        result,
        Err(Error::InvalidSignature(InvalidSignature::Mismatch))
    );
}

/// A header name: an HTTP token in any case, never one the signer treats specially.
fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}".prop_filter("reserved by the signer", |n| {
        !["authorization", "x-amz-date", "host", "date"].contains(&n.to_ascii_lowercase().as_str())
    })
}

prop_compose! {
    fn arbitrary_request()(
        method in "[A-Z]{1,7}",
        path in "(/[a-zA-Z0-9._~%+ -]{0,10}){0,5}/?",
        query in "[a-zA-Z0-9=&%+._~ -]{0,40}",
        headers in proptest::collection::vec((header_name(), proptest::collection::vec(any::<u8>(), 0..40)), 0..8),
        body in proptest::collection::vec(any::<u8>(), 1..256),
    ) -> OwnedRequest {
        let mut req = OwnedRequest { method, path, query, headers, body };
        req.push_header("Host", b"kms.us-east-1.amazonaws.com");
        req
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn verify_accepts_whatever_sign_produced(req in arbitrary_request(), skew in -300i64..=300) {
        let req = signed(req, T);
        prop_assert_eq!(verify_kms(&req, T + skew), Ok(()));
    }

    #[test]
    fn any_changed_body_byte_is_caught(req in arbitrary_request(), index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut req = signed(req, T);
        let i = index.index(req.body.len());
        req.body[i] ^= flip;
        prop_assert_eq!(
            verify_kms(&req, T),
            Err(Error::InvalidSignature(InvalidSignature::Mismatch))
        );
    }

    #[test]
    fn any_changed_header_value_is_caught(req in arbitrary_request(), index in any::<prop::sample::Index>(), extra in "[a-z]{1,4}") {
        let mut req = signed(req, T);
        // Every header but Authorization is signed; appending visible text changes its
        // canonical value whatever whitespace it ended with.
        let candidates: Vec<usize> = (0..req.headers.len())
            .filter(|&i| !req.headers[i].0.eq_ignore_ascii_case("authorization"))
            .collect();
        let i = candidates[index.index(candidates.len())];
        let name = req.headers[i].0.to_ascii_lowercase();
        req.headers[i].1.extend_from_slice(format!(" {extra}").as_bytes());
        let result = verify_kms(&req, T);
        if name == "x-amz-date" {
            prop_assert!(result.is_err());
        } else {
            prop_assert_eq!(result, Err(Error::InvalidSignature(InvalidSignature::Mismatch)), "{}", name);
        }
    }
}

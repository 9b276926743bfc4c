#![cfg(test)]
//! The AWS front end over a real service and SQLite store, without HTTP: authentication
//! failures, protocol errors and the error shape, with requests signed by our signer (the
//! black-box suite repeats these with botocore's).

use std::sync::Arc;
use strongroom_api_aws::{ApiConfig, AwsApi, Request};
use strongroom_core::ids::AccountId;
use strongroom_core::time::{Clock, SystemClock};
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_crypto::secret::SecretBytes;
use strongroom_service::{Config, Service};
use strongroom_store::sqlite::SqliteStore;

const AKID: &str = "AKIAAPITESTAPITEST00";
const SECRET: &[u8] = b"api-test-secret-api-test-secret-0123456";

struct Harness {
    api: AwsApi,
    _dir: tempfile::TempDir,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let root = DevFileSeal::new(dir.path().join("root.key"))
        .unseal(&SystemRandom)
        .unwrap();
    let store = SqliteStore::open(&dir.path().join("s.db")).unwrap();
    let svc = Service::new(
        Arc::new(store),
        root,
        Arc::new(SystemRandom),
        Arc::new(SystemClock),
        Config::default(),
    );
    let account = AccountId::parse("111122223333").unwrap();
    let requested = Some((AKID.to_owned(), SecretBytes::new(SECRET.to_vec())));
    svc.bootstrap_dev(&account, requested, None).await.unwrap();
    Harness {
        api: AwsApi::new(
            svc,
            ApiConfig {
                regions: Vec::new(),
                auth_clock: Arc::new(SystemClock),
            },
        ),
        _dir: dir,
    }
}

struct Call<'a> {
    method: &'a str,
    target: &'a str,
    body: &'a str,
    extra: Vec<(&'a str, &'a str)>,
    secret: &'a [u8],
    akid: &'a str,
    service: &'a str,
    skew: i64,
    sign: bool,
}

fn call<'a>(target: &'a str, body: &'a str) -> Call<'a> {
    Call {
        method: "POST",
        target,
        body,
        extra: Vec::new(),
        secret: SECRET,
        akid: AKID,
        service: "kms",
        skew: 0,
        sign: true,
    }
}

/// Sends `c`, returning (status, __type, message, parsed body).
async fn send(h: &Harness, c: Call<'_>) -> (u16, String, String, serde_json::Value) {
    let mut headers: Vec<(String, Vec<u8>)> = vec![
        ("host".into(), b"kms.us-east-1.amazonaws.com".to_vec()),
        (
            "content-type".into(),
            b"application/x-amz-json-1.1".to_vec(),
        ),
        ("x-amz-target".into(), c.target.as_bytes().to_vec()),
    ];
    for (n, v) in &c.extra {
        headers.push(((*n).to_owned(), v.as_bytes().to_vec()));
    }
    if c.sign {
        let view: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        let req = strongroom_sigv4::Request {
            method: c.method,
            path: "/",
            query: "",
            headers: &view,
            body: c.body.as_bytes(),
        };
        let now = SystemClock.now().unix_seconds() + c.skew;
        let s =
            strongroom_sigv4::sign(&req, c.akid, c.secret, "us-east-1", c.service, now).unwrap();
        headers.push(("x-amz-date".into(), s.amz_date.into_bytes()));
        headers.push(("authorization".into(), s.authorization.into_bytes()));
    }
    let view: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    let req = Request {
        method: c.method,
        path: "/",
        query: "",
        headers: &view,
        body: c.body.as_bytes(),
    };
    let resp = h.api.handle(&req).await;
    assert!(!resp.request_id.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let code = v["__type"].as_str().unwrap_or_default().to_owned();
    let msg = v["message"].as_str().unwrap_or_default().to_owned();
    (resp.status, code, msg, v)
}

#[tokio::test]
async fn a_signed_request_works_and_the_response_has_the_output_shape() {
    let h = harness().await;
    let (status, code, _, v) = send(&h, call("TrentService.CreateKey", "{}")).await;
    assert_eq!((status, code.as_str()), (200, ""));
    assert_eq!(v["KeyMetadata"]["KeyState"], "Enabled");
    assert_eq!(v["KeyMetadata"]["AWSAccountId"], "111122223333");
}

#[tokio::test]
async fn authentication_failures_have_aws_codes() {
    let h = harness().await;
    let t = "TrentService.ListKeys";
    let cases: Vec<(Call, &str)> = vec![
        (
            Call {
                sign: false,
                ..call(t, "{}")
            },
            "MissingAuthenticationTokenException",
        ),
        (
            Call {
                secret: b"wrong",
                ..call(t, "{}")
            },
            "InvalidSignatureException",
        ),
        (
            Call {
                akid: "AKIAUNKNOWNUNKNOWN00",
                ..call(t, "{}")
            },
            "UnrecognizedClientException",
        ),
        (
            Call {
                skew: -301,
                ..call(t, "{}")
            },
            "InvalidSignatureException",
        ),
        (
            Call {
                skew: 301,
                ..call(t, "{}")
            },
            "InvalidSignatureException",
        ),
        (
            Call {
                service: "s3",
                ..call(t, "{}")
            },
            "InvalidSignatureException",
        ),
        (
            Call {
                extra: vec![("x-amz-security-token", "token")],
                ..call(t, "{}")
            },
            "UnrecognizedClientException",
        ),
    ];
    for (c, expected) in cases {
        let (status, code, msg, _) = send(&h, c).await;
        assert_eq!((status, code.as_str()), (400, expected), "{msg}");
        assert!(!msg.contains(std::str::from_utf8(SECRET).unwrap()));
    }
    let (_, code, msg, _) = send(
        &h,
        Call {
            skew: -301,
            ..call(t, "{}")
        },
    )
    .await;
    assert_eq!(code, "InvalidSignatureException");
    assert!(msg.starts_with("Signature expired"), "{msg}");
}

#[tokio::test]
async fn protocol_errors_have_aws_codes() {
    let h = harness().await;
    let cases = [
        (
            call("TrentService.Nope", "{}"),
            400,
            "UnknownOperationException",
        ),
        (call("Nope", "{}"), 400, "UnknownOperationException"),
        (
            Call {
                method: "GET",
                ..call("TrentService.ListKeys", "")
            },
            400,
            "UnknownOperationException",
        ),
        (
            call("TrentService.ListKeys", "{"),
            400,
            "SerializationException",
        ),
        (
            call("TrentService.ListKeys", r#"{"Limit":"x"}"#),
            400,
            "SerializationException",
        ),
        (
            call("TrentService.ListKeys", r#"{"Limit":0}"#),
            400,
            "ValidationException",
        ),
        (
            call("TrentService.Sign", "{}"),
            400,
            "UnsupportedOperationException",
        ),
        (
            call("TrentService.DescribeKey", r#"{"KeyId":"nope"}"#),
            400,
            "NotFoundException",
        ),
    ];
    for (c, status, expected) in cases {
        let (got_status, code, msg, _) = send(&h, c).await;
        assert_eq!((got_status, code.as_str()), (status, expected), "{msg}");
    }
    let (_, _, msg, _) = send(&h, call("TrentService.Sign", "{}")).await;
    assert!(msg.contains("Sign"), "{msg}");
}

#[tokio::test]
async fn serialization_errors_never_echo_values() {
    let h = harness().await;
    let body = r#"{"KeyId":"alias/x","Plaintext":12345678901234567}"#;
    let (_, code, msg, _) = send(&h, call("TrentService.Encrypt", body)).await;
    assert_eq!(code, "SerializationException");
    assert!(!msg.contains("12345678901234567"), "{msg}");
}

//! Shared test helpers: an owned request that lends itself as a [`Request`], a reader for the
//! AWS test suite's raw HTTP files, and the suite's fixed credentials.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a broken fixture must fail the test at once"
)]

use std::path::{Path, PathBuf};

use strongroom_sigv4::{Endpoint, Request};

/// The test suite's access key id.
pub(crate) const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
/// The test suite's secret access key.
pub(crate) const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The test suite's request time, 20150830T123600Z.
pub(crate) const SUITE_TIME: i64 = 1_440_938_160;
/// The test suite's region and service.
pub(crate) const SUITE_ENDPOINT: Endpoint<'static> = Endpoint {
    service: "service",
    regions: &["us-east-1"],
};

/// A request that owns its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Vec<u8>,
}

impl OwnedRequest {
    /// Calls `f` with this request borrowed as a [`Request`].
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_slice()))
            .collect();
        f(&Request {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        })
    }

    /// Appends a header.
    pub(crate) fn push_header(&mut self, name: &str, value: &[u8]) {
        self.headers.push((name.to_owned(), value.to_vec()));
    }

    /// Removes every header with this name (any case).
    pub(crate) fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Parses a raw HTTP/1.1 request as the test suite writes it: `\n` line ends, folded
    /// header lines (starting with whitespace) continuing the previous value after a `\n`, and a
    /// request target that may contain a space (`normalize-path/get-space`).
    pub(crate) fn parse_http(raw: &[u8]) -> Self {
        let (head, body) = match find(raw, b"\n\n") {
            Some(i) => (&raw[..i], raw[i + 2..].to_vec()),
            None => (raw, Vec::new()),
        };
        let mut lines = head.split(|&b| b == b'\n');
        let request_line = std::str::from_utf8(lines.next().unwrap()).unwrap();
        let (method, rest) = request_line.split_once(' ').unwrap();
        let target = rest.strip_suffix(" HTTP/1.1").unwrap();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for line in lines {
            if line.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                let (_, value) = headers.last_mut().expect("a folded line follows a header");
                value.push(b'\n');
                value.extend_from_slice(line);
            } else {
                let colon = line.iter().position(|&b| b == b':').unwrap();
                let name = std::str::from_utf8(&line[..colon]).unwrap().to_owned();
                headers.push((name, line[colon + 1..].to_vec()));
            }
        }
        Self {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The copy of the AWS test suite kept with this crate.
pub(crate) fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-sig-v4-test-suite")
}

/// Every case folder of the suite (a folder holding `<name>.req`), sorted.
pub(crate) fn suite_cases() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "req") {
                out.push(dir.to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(&suite_dir(), &mut out);
    out.sort();
    out
}

/// One file of a case: `<dir>/<name>.<ext>`.
pub(crate) fn case_file(dir: &Path, ext: &str) -> Vec<u8> {
    let name = dir.file_name().unwrap().to_str().unwrap();
    std::fs::read(dir.join(format!("{name}.{ext}"))).unwrap()
}

/// The case's name, e.g. `get-vanilla` or `normalize-path/get-slash`.
pub(crate) fn case_name(dir: &Path) -> String {
    dir.strip_prefix(suite_dir())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The `Signature=` value of an `Authorization` header.
pub(crate) fn signature_of(authorization: &str) -> &str {
    authorization.rsplit_once("Signature=").unwrap().1.trim()
}

/// The KMS endpoint the error tests verify against.
pub(crate) const KMS: Endpoint<'static> = Endpoint {
    service: "kms",
    regions: &["us-east-1", "eu-west-1"],
};

/// A KMS `Encrypt` call as an SDK sends it, before signing.
pub(crate) fn kms_request() -> OwnedRequest {
    OwnedRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            ("Host".into(), b"kms.us-east-1.amazonaws.com".to_vec()),
            (
                "Content-Type".into(),
                b"application/x-amz-json-1.1".to_vec(),
            ),
            ("X-Amz-Target".into(), b"TrentService.Encrypt".to_vec()),
        ],
        body: br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#.to_vec(),
    }
}

/// Signs `req` with the suite's key for KMS in us-east-1 at `time` and adds the two headers.
pub(crate) fn signed(mut req: OwnedRequest, time: i64) -> OwnedRequest {
    let s = req
        .with(|r| strongroom_sigv4::sign(r, ACCESS_KEY_ID, SECRET, "us-east-1", "kms", time))
        .unwrap();
    req.push_header("X-Amz-Date", s.amz_date.as_bytes());
    req.push_header("Authorization", s.authorization.as_bytes());
    req
}

/// Parses and verifies `req` against [`KMS`] with the suite's key at `now`.
pub(crate) fn verify_kms(req: &OwnedRequest, now: i64) -> Result<(), strongroom_sigv4::Error> {
    req.with(|r| {
        let auth = strongroom_sigv4::parse(r)?;
        strongroom_sigv4::verify(r, &auth, &KMS, SECRET, now)
    })
}

/// Replaces the `Authorization` header's value.
pub(crate) fn with_authorization(mut req: OwnedRequest, value: &str) -> OwnedRequest {
    req.remove_header("Authorization");
    req.push_header("Authorization", value.as_bytes());
    req
}

/// The `Authorization` header's value.
pub(crate) fn authorization(req: &OwnedRequest) -> String {
    let (_, v) = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .unwrap();
    String::from_utf8(v.clone()).unwrap()
}

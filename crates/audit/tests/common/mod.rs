//! Shared fixtures for the audit log's integration tests.
#![cfg(test)]
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use strongroom_audit::{
    AuditEvent, AuditLog, AuditOptions, EventTime, Resource, SessionAttributes, SessionContext,
    SessionIssuer, UserIdentity,
};
use strongroom_core::time::{Clock, ManualClock, Timestamp};
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::RootKey;
use strongroom_crypto::signing::Ed25519SigningKey;

/// 2026-11-29T08:00:00Z.
pub const T0: i64 = 1_795_939_200_000;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: RootKey,
    pub clock: Arc<ManualClock>,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            root: RootKey::generate(&SystemRandom).unwrap(),
            clock: Arc::new(ManualClock::new(Timestamp(T0))),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("audit")
    }

    pub fn open(&self, options: AuditOptions) -> AuditLog {
        self.try_open(options).unwrap()
    }

    pub fn try_open(
        &self,
        options: AuditOptions,
    ) -> Result<AuditLog, strongroom_audit::AuditError> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        AuditLog::open(self.path(), &self.root, &SystemRandom, options, clock)
    }

    pub fn segments(&self) -> Vec<PathBuf> {
        segments(&self.path())
    }
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("segment-")
        })
        .collect();
    v.sort();
    v
}

pub fn key_arn(n: u32) -> String {
    format!("arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-{n:012}")
}

/// Event number `i`: alternates users and a role session, keys, names and errors.
pub fn event(i: u32) -> AuditEvent {
    let identity = if i % 3 == 2 {
        UserIdentity {
            identity_type: Some("AssumedRole".into()),
            principal_id: Some("AROAEXAMPLE:s".into()),
            arn: Some("arn:aws:sts::111122223333:assumed-role/App/s".into()),
            account_id: Some("111122223333".into()),
            access_key_id: Some("ASIAEXAMPLE".into()),
            user_name: None,
            session_context: Some(SessionContext {
                session_issuer: Some(SessionIssuer {
                    issuer_type: "Role".into(),
                    principal_id: "AROAEXAMPLE".into(),
                    arn: "arn:aws:iam::111122223333:role/App".into(),
                    account_id: "111122223333".into(),
                    user_name: "App".into(),
                }),
                attributes: SessionAttributes {
                    creation_date: EventTime::from_unix_seconds(T0 / 1000 - 60).unwrap(),
                    mfa_authenticated: false,
                },
            }),
            invoked_by: None,
        }
    } else {
        let user = if i.is_multiple_of(3) { "Alice" } else { "Bob" };
        UserIdentity {
            identity_type: Some("IAMUser".into()),
            principal_id: Some(format!("AIDA{user}")),
            arn: Some(format!("arn:aws:iam::111122223333:user/{user}")),
            account_id: Some("111122223333".into()),
            access_key_id: Some(format!("AKIA{user}")),
            user_name: Some(user.into()),
            ..UserIdentity::default()
        }
    };
    let name = if i.is_multiple_of(2) {
        "Encrypt"
    } else {
        "Decrypt"
    };
    let mut e = AuditEvent::kms_api_call(
        name,
        EventTime::from_unix_seconds(T0 / 1000 + i64::from(i)).unwrap(),
        "us-east-1",
        identity,
        uuid::Uuid::from_u128(u128::from(i) + 1),
    );
    e.source_ip_address = "192.0.2.10".into();
    e.user_agent = "aws-cli/2.17".into();
    e.request_id = Some(format!("req-{i}"));
    e.read_only = true;
    e.request_parameters = serde_json::json!({
        "keyId": key_arn(i % 4),
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "encryptionContext": {"n": i.to_string()},
    });
    e.resources = vec![Resource::kms_key("111122223333", key_arn(i % 4))];
    if i % 5 == 4 {
        e.error_code = Some(if i % 10 == 4 {
            "AccessDeniedException".into()
        } else {
            "DisabledException".into()
        });
        e.error_message = Some("no".into());
    }
    e
}

/// The runtime the tests drive the async API with.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes `n` events (numbered from `start`) one after the other.
pub fn record_all(rt: &tokio::runtime::Runtime, log: &AuditLog, start: u32, n: u32) {
    rt.block_on(async {
        for i in start..start + n {
            log.record(event(i)).await.unwrap();
        }
    });
}

pub fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(bytes.last(), Some(&b'\n'), "{}", path.display());
    bytes[..bytes.len() - 1]
        .split(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

pub fn is_digest(line: &[u8]) -> bool {
    let v: serde_json::Value = serde_json::from_slice(line).unwrap();
    v.get("digest").is_some()
}

pub fn sha256_hex(b: &[u8]) -> String {
    strongroom_crypto::digest::sha256(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The signed text of a digest line, rebuilt from the documented format (independently of the
/// crate's own code).
pub fn signing_text(seq: u64, d: &serde_json::Value) -> String {
    let prev_digest = d["previousDigest"].as_str().unwrap_or("null");
    format!(
        "strongroom-audit-digest-v1\nseq={seq}\nfirstSeq={}\nlastSeq={}\ncount={}\nfromTime={}\n\
         toTime={}\nhead={}\npreviousDigest={prev_digest}\npublicKeyFingerprint={}\n",
        d["firstSeq"],
        d["lastSeq"],
        d["count"],
        d["fromTime"].as_str().unwrap(),
        d["toTime"].as_str().unwrap(),
        d["head"].as_str().unwrap(),
        d["publicKeyFingerprint"].as_str().unwrap(),
    )
}

/// The canonical digest line the documentation describes.
pub fn digest_line(seq: u64, prev: &str, d: &serde_json::Value, signature: &str) -> Vec<u8> {
    let prev_digest = match d["previousDigest"].as_str() {
        Some(h) => format!("\"{h}\""),
        None => "null".to_owned(),
    };
    format!(
        "{{\"seq\":{seq},\"prev\":\"{prev}\",\"digest\":{{\"firstSeq\":{},\"lastSeq\":{},\
         \"count\":{},\"fromTime\":\"{}\",\"toTime\":\"{}\",\"head\":\"{}\",\
         \"previousDigest\":{prev_digest},\"publicKeyFingerprint\":\"{}\",\"signature\":\"{signature}\"}}}}",
        d["firstSeq"],
        d["lastSeq"],
        d["count"],
        d["fromTime"].as_str().unwrap(),
        d["toTime"].as_str().unwrap(),
        d["head"].as_str().unwrap(),
        d["publicKeyFingerprint"].as_str().unwrap(),
    )
    .into_bytes()
}

/// An attacker's rewrite: re-chains every line (renumbering `seq` from the line's position) and re-signs every digest with `key`.
pub fn rechain_and_resign(dir: &Path, key: &Ed25519SigningKey) {
    let fp = sha256_hex(key.public_key().as_bytes());
    let mut prev = "0".repeat(64);
    let mut prev_digest: Option<String> = None;
    let mut seq = 0u64;
    let mut first_uncovered = 1u64;
    let mut times: Vec<String> = Vec::new();
    for path in segments(dir) {
        let mut out = Vec::new();
        for line in read_lines(&path) {
            seq += 1;
            let mut v: serde_json::Value = serde_json::from_slice(&line).unwrap();
            let new_line = if let Some(d) = v.get("digest").cloned() {
                let mut d = d;
                d["firstSeq"] = first_uncovered.into();
                d["lastSeq"] = (seq - 1).into();
                d["count"] = (seq - first_uncovered).into();
                d["head"] = prev.clone().into();
                d["previousDigest"] = prev_digest.clone().into();
                d["publicKeyFingerprint"] = fp.clone().into();
                d["fromTime"] = times.iter().min().unwrap().clone().into();
                d["toTime"] = times.iter().max().unwrap().clone().into();
                times.clear();
                let sig = key.sign(signing_text(seq, &d).as_bytes()).unwrap();
                let sig = base64::engine::general_purpose::STANDARD.encode(sig);
                let l = digest_line(seq, &prev, &d, &sig);
                prev_digest = Some(sha256_hex(&l));
                first_uncovered = seq + 1;
                l
            } else {
                times.push(v["event"]["eventTime"].as_str().unwrap().to_owned());
                v["seq"] = seq.into();
                v["prev"] = prev.clone().into();
                serde_json::to_vec(&v).unwrap()
            };
            prev = sha256_hex(&new_line);
            out.push(new_line);
        }
        write_lines(&path, &out);
    }
}

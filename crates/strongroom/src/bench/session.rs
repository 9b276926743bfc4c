//! One bench run from start to finish: the servers it starts, the key and ciphertext the KMS
//! workloads need, each workload in turn, and the report.

use super::child::{self, ChildServer};
use super::client::{Connection, Credentials, RequestTemplate};
use super::load::{self, Load};
use super::report::{Machine, Report, Row};
use super::{BenchArgs, BoxError, Op};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::secret::SecretBytes;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// A key id of the right shape for the baseline, which never looks at it.
const BASELINE_KEY_ID: &str = "00000000-0000-4000-8000-000000000000";

/// What every workload of a run shares.
#[derive(Debug)]
struct Session<'a> {
    args: &'a BenchArgs,
    runtime: Runtime,
    /// Holds the servers' data and logs; removed when the run ends, after the servers stop
    /// (each server is a local of the method that started it, so it is dropped first).
    dir: TempDir,
    plaintext: Vec<u8>,
}

/// Runs every workload `args` asks for and gathers the report.
pub(super) fn run(args: &BenchArgs) -> Result<Report, BoxError> {
    let session = Session {
        args,
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?,
        dir: bench_dir(args.dir.as_deref())?,
        // A fixed pattern: the server treats every plaintext alike.
        plaintext: (0..args.plaintext_bytes).map(|i| i as u8).collect(),
    };
    let mut ops: Vec<Op> = Vec::new();
    for op in &args.ops {
        if !ops.contains(op) {
            ops.push(*op);
        }
    }
    let mut results = Vec::new();
    if ops.contains(&Op::Baseline) {
        results.push(session.baseline()?);
    }
    ops.retain(|&o| o != Op::Baseline);
    if !ops.is_empty() {
        results.extend(session.kms(&ops)?);
    }
    let mut report = Report {
        machine: Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            connections: usize::from(args.connections),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            plaintext_bytes: session.plaintext.len(),
            server: args.endpoint.clone().unwrap_or_else(|| "child".to_owned()),
        },
        results,
    };
    report.compute_ratios(Op::Baseline.name());
    Ok(report)
}

impl Session<'_> {
    /// The baseline: Encrypt requests, signed exactly as the real ones, to the bare server, so
    /// the client does the same work in both and only the server side differs.
    fn baseline(&self) -> Result<Row, BoxError> {
        let creds = Arc::new(random_credentials(&self.args.region)?);
        let log = self.dir.path().join("baseline.log");
        let mut server = ChildServer::start(baseline_command()?, &log)?;
        let load = self.load(&server.authority, creds, Some(server.pid()), false);
        let body = encrypt_body(BASELINE_KEY_ID, &self.plaintext)?;
        let template = RequestTemplate::new(&server.authority, "Encrypt", body);
        let outcome = self.runtime.block_on(load::drive(&load, template));
        server.stop()?;
        Ok(Row::new(Op::Baseline.name(), outcome))
    }

    /// The KMS workloads, against the `--endpoint` server or one started here.
    fn kms(&self, ops: &[Op]) -> Result<Vec<Row>, BoxError> {
        let mut server = None;
        let (authority, creds) = match &self.args.endpoint {
            Some(url) => (child::authority_of(url)?, endpoint_credentials(self.args)?),
            None => {
                let creds = random_credentials(&self.args.region)?;
                let command = server_command(self.dir.path(), &creds, self.args.audit)?;
                let log = self.dir.path().join("server.log");
                let s = server.insert(ChildServer::start(command, &log)?);
                (s.authority.clone(), creds)
            }
        };
        let pid = server.as_ref().map(ChildServer::pid);
        let creds = Arc::new(creds);
        let load = self.load(&authority, Arc::clone(&creds), pid, true);
        let fixture =
            self.runtime
                .block_on(Fixture::create(&authority, &creds, &self.plaintext))?;
        let mut rows = Vec::new();
        for &op in ops {
            let template = fixture.template(&authority, op, &self.plaintext)?;
            let outcome = self.runtime.block_on(load::drive(&load, template));
            rows.push(Row::new(op.name(), outcome));
        }
        if let Some(s) = server.as_mut() {
            s.stop()?;
        }
        Ok(rows)
    }

    fn load(
        &self,
        authority: &str,
        creds: Arc<Credentials>,
        pid: Option<u32>,
        audit_metrics: bool,
    ) -> Load {
        Load {
            authority: authority.into(),
            creds,
            connections: usize::from(self.args.connections),
            warmup: self.args.warmup,
            duration: self.args.duration,
            server_pid: pid,
            audit_metrics,
        }
    }
}

/// A fresh directory for the servers' files, inside `parent` if given.
fn bench_dir(parent: Option<&Path>) -> Result<TempDir, BoxError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("strongroom-bench-");
    match parent {
        Some(parent) => builder.tempdir_in(parent).map_err(|e| {
            format!("cannot make a directory in --dir {}: {e}", parent.display()).into()
        }),
        None => Ok(builder.tempdir()?),
    }
}

fn baseline_command() -> Result<Command, BoxError> {
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["bench", "--serve-baseline", "--listen", "127.0.0.1:0"]);
    Ok(c)
}

/// `strongroom serve --dev` on a fresh data directory, with the bench's credentials. The
/// secret goes through the environment, not the command line other users can read.
fn server_command(
    dir: &Path,
    creds: &Credentials,
    audit: crate::serve::AuditMode,
) -> Result<Command, BoxError> {
    let mut c = Command::new(std::env::current_exe()?);
    let audit = clap::ValueEnum::to_possible_value(&audit)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    c.arg("serve")
        .arg("--dev")
        .args(["--audit", &audit])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0", "--dev-access-key-id"])
        .arg(&creds.access_key_id);
    let secret = std::str::from_utf8(creds.secret_access_key.expose())?;
    c.env("STRONGROOM_DEV_SECRET_ACCESS_KEY", secret);
    Ok(c)
}

/// Fresh AWS-shaped credentials for a server the bench starts: nobody else can use that
/// server while it runs.
fn random_credentials(region: &str) -> Result<Credentials, BoxError> {
    const ID: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = strongroom_crypto::random::secret_bytes(&SystemRandom, 56)?;
    let (id_raw, secret_raw) = raw.expose().split_at(16);
    // Both alphabet sizes divide 256, so every character is equally likely.
    let id: String = "AKIA"
        .chars()
        .chain(id_raw.iter().map(|b| char::from(ID[usize::from(b % 32)])))
        .collect();
    let secret = secret_raw
        .iter()
        .map(|b| SECRET[usize::from(b % 64)])
        .collect();
    Ok(Credentials {
        access_key_id: id,
        secret_access_key: SecretBytes::new(secret),
        region: region.to_owned(),
    })
}

fn endpoint_credentials(args: &BenchArgs) -> Result<Credentials, BoxError> {
    let id = args
        .access_key_id
        .clone()
        .ok_or("--endpoint needs --access-key-id")?;
    let secret = args
        .secret_access_key
        .as_ref()
        .ok_or("--endpoint needs --secret-access-key or AWS_SECRET_ACCESS_KEY")?;
    Ok(Credentials {
        access_key_id: id,
        secret_access_key: SecretBytes::new(secret.expose().to_vec()),
        region: args.region.clone(),
    })
}

fn encrypt_body(key_id: &str, plaintext: &[u8]) -> Result<Vec<u8>, BoxError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(plaintext);
    Ok(serde_json::to_vec(
        &serde_json::json!({ "KeyId": key_id, "Plaintext": b64 }),
    )?)
}

/// What the KMS workloads need before they start: a key, and a ciphertext to decrypt.
#[derive(Debug)]
struct Fixture {
    key_id: String,
    ciphertext: String,
}

impl Fixture {
    async fn create(
        authority: &str,
        creds: &Credentials,
        plaintext: &[u8],
    ) -> Result<Self, BoxError> {
        let mut conn = Connection::connect(authority)
            .await
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        let created = call(&mut conn, authority, creds, "CreateKey", b"{}".to_vec()).await?;
        let key_id = created["KeyMetadata"]["KeyId"]
            .as_str()
            .ok_or("CreateKey answered without KeyMetadata.KeyId")?
            .to_owned();
        let body = encrypt_body(&key_id, plaintext)?;
        let encrypted = call(&mut conn, authority, creds, "Encrypt", body).await?;
        let ciphertext = encrypted["CiphertextBlob"]
            .as_str()
            .ok_or("Encrypt answered without CiphertextBlob")?
            .to_owned();
        Ok(Self { key_id, ciphertext })
    }

    fn template(
        &self,
        authority: &str,
        op: Op,
        plaintext: &[u8],
    ) -> Result<RequestTemplate, BoxError> {
        let (operation, body) = match op {
            Op::Baseline | Op::Encrypt => ("Encrypt", encrypt_body(&self.key_id, plaintext)?),
            Op::Decrypt => (
                "Decrypt",
                serde_json::to_vec(&serde_json::json!({ "CiphertextBlob": self.ciphertext }))?,
            ),
            Op::GenerateDataKey => (
                "GenerateDataKey",
                serde_json::to_vec(
                    &serde_json::json!({ "KeyId": self.key_id, "KeySpec": "AES_256" }),
                )?,
            ),
        };
        Ok(RequestTemplate::new(authority, operation, body))
    }
}

/// One signed request outside the measured load, answered with 200 and a JSON body.
async fn call(
    conn: &mut Connection,
    authority: &str,
    creds: &Credentials,
    operation: &str,
    body: Vec<u8>,
) -> Result<serde_json::Value, BoxError> {
    let mut request = Vec::new();
    RequestTemplate::new(authority, operation, body).render(
        creds,
        load::unix_now(),
        &mut request,
    )?;
    let resp = conn.round_trip(&request).await?;
    if resp.status != 200 {
        let text = String::from_utf8_lossy(resp.body);
        return Err(format!("{operation} failed with HTTP {}: {text}", resp.status).into());
    }
    Ok(serde_json::from_slice(resp.body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_credentials_are_valid_fresh_and_unprinted() {
        let a = random_credentials("eu-west-1").unwrap();
        let b = random_credentials("eu-west-1").unwrap();
        assert!(strongroom_core::identity::valid_access_key_id(
            &a.access_key_id
        ));
        let secret = std::str::from_utf8(a.secret_access_key.expose()).unwrap();
        assert_eq!(secret.len(), 40);
        assert!(!format!("{a:?}").contains(secret));
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_ne!(a.secret_access_key.expose(), b.secret_access_key.expose());
        assert_eq!(a.region, "eu-west-1");
    }

    #[test]
    fn request_bodies_are_the_json_kms_expects() {
        let body = encrypt_body("k-1", b"\x00\xff").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            serde_json::json!({ "KeyId": "k-1", "Plaintext": "AP8=" })
        );
    }
}

//! `strongroom bench`: a load generator that measures the server's throughput and latency for
//! Encrypt, Decrypt and GenerateDataKey, and the same client against a bare HTTP server on the
//! same stack, so each result comes with its ratio to what this machine's HTTP layer can do at
//! all. `docs/BENCHMARKS.md` explains the method and records results.
//!
//! The bench starts both servers itself as child processes of this binary (the baseline is the
//! hidden `bench --serve-baseline` mode), unless `--endpoint` points it at a running server.

mod baseline;
mod child;
mod client;
mod load;
mod report;
mod stats;

use child::ChildServer;
use clap::{Args, ValueEnum};
use client::{Connection, Credentials, RequestTemplate};
use load::Load;
use report::{Machine, Report, Row};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::secret::SecretBytes;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Options of `strongroom bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent keep-alive connections, each with one request in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    connections: u16,
    /// How long each workload is measured (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before each measurement that is not counted (connections, caches, CPU clocks).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// Workloads to run, comma-separated; the baseline always runs first.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "baseline,encrypt,decrypt,generate-data-key"
    )]
    ops: Vec<Op>,
    /// Size of the plaintext each Encrypt sends (1 to 4096, AWS's limit).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=4096))]
    plaintext_bytes: u16,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Drive a running server at this http://host:port instead of starting one.
    #[arg(long, value_name = "URL", requires = "access_key_id")]
    endpoint: Option<String>,
    /// Access key id to sign with (with --endpoint).
    #[arg(long, requires = "endpoint")]
    access_key_id: Option<String>,
    /// Secret access key to sign with (with --endpoint).
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true, value_parser = SecretArg::parse)]
    secret_access_key: Option<SecretArg>,
    /// Region of the signing scope.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Internal: run the bare-HTTP baseline server instead of a benchmark.
    #[arg(long, hide = true)]
    serve_baseline: bool,
    /// Internal: where the baseline server listens.
    #[arg(long, hide = true, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

/// A secret from the command line or environment; `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct SecretArg(Arc<SecretBytes>);

impl SecretArg {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(Self(Arc::new(SecretBytes::new(s.as_bytes().to_vec()))))
    }
}

impl fmt::Debug for SecretArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// A workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Op {
    /// Encrypt-shaped signed requests to the bare HTTP server.
    Baseline,
    Encrypt,
    Decrypt,
    GenerateDataKey,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Baseline => "baseline",
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::GenerateDataKey => "generate-data-key",
        }
    }
}

/// Parses `10s`, `1.5s`, `500ms`, `2m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 10s or 500ms"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "m" => value * 60.0,
        _ => return Err(format!("{s:?}: unit must be ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{s:?}: {e}"))
}

pub(crate) fn run(args: BenchArgs) -> Result<(), BoxError> {
    if args.serve_baseline {
        return baseline::serve(args.listen);
    }
    if args.duration.is_zero() {
        return Err("--duration must be more than zero".into());
    }
    let report = bench(&args)?;
    if args.json {
        println!("{}", report.json()?);
    } else {
        print!("{}", report.table());
    }
    match report.errors() {
        0 => Ok(()),
        n => Err(format!("{n} requests failed").into()),
    }
}

fn bench(args: &BenchArgs) -> Result<Report, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::Builder::new()
        .prefix("strongroom-bench-")
        .tempdir()?;
    let mut ops: Vec<Op> = Vec::new();
    for op in &args.ops {
        if !ops.contains(op) {
            ops.push(*op);
        }
    }
    let plaintext: Vec<u8> = (0..args.plaintext_bytes).map(|i| i as u8).collect();
    let mut results = Vec::new();
    if ops.contains(&Op::Baseline) {
        let creds = Arc::new(random_credentials(&args.region)?);
        let mut server = ChildServer::start(baseline_command()?, &dir.path().join("baseline.log"))?;
        let load = load_of(args, &server.authority, creds, Some(server.pid()));
        let body = encrypt_body("00000000-0000-4000-8000-000000000000", &plaintext)?;
        let template = RequestTemplate::new(&server.authority, "Encrypt", body);
        let outcome = runtime.block_on(load::drive(&load, template));
        results.push(Row::new(Op::Baseline.name(), outcome));
        server.stop()?;
    }
    let kms_ops: Vec<Op> = ops.into_iter().filter(|&o| o != Op::Baseline).collect();
    if !kms_ops.is_empty() {
        let (mut server, authority, creds) = match &args.endpoint {
            Some(url) => (None, child::authority_of(url)?, endpoint_credentials(args)?),
            None => {
                let creds = random_credentials(&args.region)?;
                let s = ChildServer::start(
                    server_command(dir.path(), &creds)?,
                    &dir.path().join("server.log"),
                )?;
                let authority = s.authority.clone();
                (Some(s), authority, creds)
            }
        };
        let creds = Arc::new(creds);
        let pid = server.as_ref().map(ChildServer::pid);
        let load = load_of(args, &authority, Arc::clone(&creds), pid);
        let fixture = runtime.block_on(Fixture::create(&authority, &creds, &plaintext))?;
        for op in kms_ops {
            let template = fixture.template(&authority, op, &plaintext)?;
            let outcome = runtime.block_on(load::drive(&load, template));
            results.push(Row::new(op.name(), outcome));
        }
        if let Some(s) = server.as_mut() {
            s.stop()?;
        }
    }
    let mut report = Report {
        machine: Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            connections: usize::from(args.connections),
            duration_s: args.duration.as_secs_f64(),
            warmup_s: args.warmup.as_secs_f64(),
            plaintext_bytes: plaintext.len(),
            server: args.endpoint.clone().unwrap_or_else(|| "child".to_owned()),
        },
        results,
    };
    report.compute_ratios(Op::Baseline.name());
    Ok(report)
}

fn load_of(args: &BenchArgs, authority: &str, creds: Arc<Credentials>, pid: Option<u32>) -> Load {
    Load {
        authority: authority.into(),
        creds,
        connections: usize::from(args.connections),
        warmup: args.warmup,
        duration: args.duration,
        server_pid: pid,
    }
}

fn baseline_command() -> Result<Command, BoxError> {
    let mut c = Command::new(std::env::current_exe()?);
    c.args(["bench", "--serve-baseline", "--listen", "127.0.0.1:0"]);
    Ok(c)
}

/// `strongroom serve --dev` on a fresh data directory, with the bench's credentials. The
/// secret goes through the environment, not the command line other users can read.
fn server_command(dir: &Path, creds: &Credentials) -> Result<Command, BoxError> {
    let mut c = Command::new(std::env::current_exe()?);
    c.arg("serve")
        .arg("--dev")
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
        secret_access_key: SecretBytes::new(secret.0.expose().clone()),
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
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied())).map(|c| c.bench)
    }

    #[test]
    fn defaults_match_the_documented_command() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.connections, 32);
        assert_eq!(a.duration, Duration::from_secs(10));
        assert_eq!(a.warmup, Duration::from_secs(2));
        assert_eq!(
            a.ops,
            [Op::Baseline, Op::Encrypt, Op::Decrypt, Op::GenerateDataKey]
        );
        assert_eq!(a.plaintext_bytes, 32);
        assert!(!a.json && !a.serve_baseline && a.endpoint.is_none());
        assert_eq!(a.region, "us-east-1");
    }

    #[test]
    fn options_parse() {
        let a = parse(&[
            "--connections",
            "2",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--ops",
            "encrypt,generate-data-key",
            "--plaintext-bytes",
            "4096",
            "--json",
        ])
        .unwrap();
        assert_eq!(a.connections, 2);
        assert_eq!(a.duration, Duration::from_secs(1));
        assert_eq!(a.warmup, Duration::ZERO);
        assert_eq!(a.ops, [Op::Encrypt, Op::GenerateDataKey]);
        assert_eq!(a.plaintext_bytes, 4096);
        assert!(a.json);
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            &["--connections", "0"][..],
            &["--plaintext-bytes", "4097"],
            &["--ops", "sign"],
            &["--duration", "ten"],
            &["--access-key-id", "AKIA0000000000000000"],
            &["--endpoint", "http://127.0.0.1:1"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse(&["--endpoint", "http://h:1", "--access-key-id", "AKIA"]).is_ok());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "10h", "-1s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let a = parse(&["--secret-access-key", "sentinel-secret"]).unwrap();
        assert!(!format!("{a:?}").contains("sentinel-secret"));
        let c = random_credentials("us-east-1").unwrap();
        assert!(
            !format!("{c:?}").contains(std::str::from_utf8(c.secret_access_key.expose()).unwrap())
        );
    }

    #[test]
    fn random_credentials_are_valid_and_fresh() {
        let a = random_credentials("eu-west-1").unwrap();
        let b = random_credentials("eu-west-1").unwrap();
        assert!(strongroom_core::identity::valid_access_key_id(
            &a.access_key_id
        ));
        assert_eq!(a.secret_access_key.expose().len(), 40);
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_ne!(a.secret_access_key.expose(), b.secret_access_key.expose());
        assert_eq!(a.region, "eu-west-1");
    }
}

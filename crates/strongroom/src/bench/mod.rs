//! `strongroom bench`: a load generator that measures the server's throughput and latency for
//! Encrypt, Decrypt and GenerateDataKey, and the same client against a bare HTTP server on the
//! same stack, so each result comes with its ratio to what this machine's HTTP layer can do at
//! all. `docs/BENCHMARKS.md` explains the method and records results.
//!
//! The bench starts both servers itself as child processes of this binary (the baseline is the
//! hidden `bench --serve-baseline` mode), unless `--endpoint` points it at a running server.

mod baseline;
pub(crate) mod child;
pub(crate) mod client;
mod load;
mod report;
mod server_metrics;
mod session;
mod stats;

use clap::{Args, ValueEnum};
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
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
    /// The audit mode of the server the bench starts (see `serve --audit`).
    #[arg(long, value_enum, default_value_t = crate::serve::AuditMode::FailClosed)]
    audit: crate::serve::AuditMode,
    /// Where the servers the bench starts keep their data, audit trail and logs: a fresh
    /// directory made inside DIR and removed at the end (default: the system's temporary
    /// directory). Put it on the disk to measure: a fail-closed audit trail waits for that disk.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
    /// Drive a running server at this http://host:port instead of starting one.
    #[arg(long, value_name = "URL", requires = "access_key_id")]
    endpoint: Option<String>,
    /// Access key id to sign with (with --endpoint).
    #[arg(long, requires = "endpoint")]
    access_key_id: Option<String>,
    /// Secret access key to sign with (with --endpoint); prefer the environment variable, as
    /// other users can read command lines.
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
    /// The secret, for signing.
    fn expose(&self) -> &[u8] {
        self.0.expose()
    }

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
    /// Encrypt requests, signed, to the bare HTTP server (the machine's HTTP ceiling).
    Baseline,
    /// Encrypt of --plaintext-bytes under one symmetric key.
    Encrypt,
    /// Decrypt of one ciphertext made before the run.
    Decrypt,
    /// GenerateDataKey with KeySpec AES_256 under the same key.
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
    let report = session::run(&args)?;
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
        assert_eq!(a.secret_access_key.unwrap().expose(), b"sentinel-secret");
    }
}

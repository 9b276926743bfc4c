//! `strongroom audit`: check and read an audit trail directory (`DATA_DIR/audit` by default)
//! offline, with or without a running server.
//!
//! `verify` exits 0 when the chain and every digest signature check out, 1 when the log is not
//! intact (naming the first bad record) or cannot be read. `query` prints matching events as
//! JSON lines; `export` writes CloudTrail's `{"Records": [...]}`.

use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use strongroom_audit::{ErrorCodeFilter, EventFilter, EventTime, VerifyError, VerifyOptions};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `strongroom audit …`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain, continuity across segments and every signed digest.
    Verify {
        /// The audit directory.
        #[arg(default_value = "./strongroom-data/audit")]
        path: PathBuf,
        /// The digest public key to check against (PEM, DER or raw); pin a copy of
        /// PATH/public-key somewhere the server cannot write. Default: PATH/public-key.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Fail unless every event is covered by a digest (a log that was closed cleanly).
        #[arg(long)]
        require_sealed: bool,
    },
    /// Print matching events, one JSON object per line, oldest first.
    Query(QueryArgs),
    /// Write matching events as a CloudTrail log file: {"Records": [...]}.
    Export(QueryArgs),
}

#[derive(Debug, Args)]
struct QueryArgs {
    /// The audit directory.
    #[arg(default_value = "./strongroom-data/audit")]
    path: PathBuf,
    /// Events on this key (key ARN or key id).
    #[arg(long)]
    key: Option<String>,
    /// Events by this principal ARN (a role also matches its sessions).
    #[arg(long)]
    principal: Option<String>,
    /// Events of this operation (eventName), e.g. Decrypt.
    #[arg(long)]
    event_name: Option<String>,
    /// Only failed requests (`any`), or those with this error code.
    #[arg(long)]
    error: Option<String>,
    /// Only successful requests.
    #[arg(long, conflicts_with = "error")]
    success: bool,
    /// Events at or after this time (2026-11-29T08:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Events before this time.
    #[arg(long)]
    until: Option<String>,
}

impl QueryArgs {
    fn filter(&self) -> Result<EventFilter, BoxError> {
        let time = |s: &Option<String>, name: &str| -> Result<Option<EventTime>, BoxError> {
            s.as_deref()
                .map(|t| {
                    EventTime::parse(t)
                        .ok_or_else(|| format!("--{name} {t:?}: expected YYYY-MM-DDTHH:MM:SSZ"))
                })
                .transpose()
                .map_err(Into::into)
        };
        Ok(EventFilter {
            key: self.key.clone(),
            principal_arn: self.principal.clone(),
            event_name: self.event_name.clone(),
            error_code: match (&self.error, self.success) {
                (Some(e), _) if e == "any" => ErrorCodeFilter::Present,
                (Some(e), _) => ErrorCodeFilter::Equals(e.clone()),
                (None, true) => ErrorCodeFilter::Absent,
                (None, false) => ErrorCodeFilter::Any,
            },
            since: time(&self.since, "since")?,
            until: time(&self.until, "until")?,
        })
    }
}

pub(crate) fn run(args: AuditArgs) -> Result<(), BoxError> {
    match args.command {
        AuditCommand::Verify {
            path,
            public_key,
            require_sealed,
        } => verify(&path, public_key.as_deref(), require_sealed),
        AuditCommand::Query(q) => {
            let mut out = std::io::stdout().lock();
            for e in strongroom_audit::events(&q.path, q.filter()?)? {
                let e = e?;
                serde_json::to_writer(&mut out, &e.event)?;
                std::io::Write::write_all(&mut out, b"\n")?;
            }
            Ok(())
        }
        AuditCommand::Export(q) => {
            let filter = q.filter()?;
            strongroom_audit::export_cloudtrail(&q.path, filter, std::io::stdout().lock())?;
            Ok(())
        }
    }
}

fn verify(path: &Path, public_key: Option<&Path>, require_sealed: bool) -> Result<(), BoxError> {
    let key = match public_key {
        Some(p) => strongroom_audit::parse_public_key(&std::fs::read(p)?)
            .ok_or_else(|| format!("{}: not an Ed25519 public key", p.display()))?,
        None => strongroom_audit::read_public_key(path)?,
    };
    let fingerprint = strongroom_crypto::hex::encode(&key.fingerprint());
    match strongroom_audit::verify_with(path, &key, VerifyOptions { require_sealed }) {
        Ok(report) => {
            println!(
                "OK: {} events, {} digests in {} segments; last seq {}, head {}",
                report.events,
                report.digests,
                report.segments,
                report.last_seq,
                report.head.as_deref().unwrap_or("-")
            );
            println!("digest key fingerprint (SHA-256): {fingerprint}");
            if let Some(u) = &report.uncovered {
                println!(
                    "not yet covered by a digest: {} events, seq {} to {} (the writer signs them \
                     within its digest interval, and at shutdown)",
                    u.count, u.first_seq, u.last_seq
                );
            }
            Ok(())
        }
        Err(VerifyError::Invalid(finding)) => Err(format!("TAMPERED: {finding}").into()),
        Err(e) => Err(e.into()),
    }
}

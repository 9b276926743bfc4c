//! `strongroom serve`: start-up (data directory, seal, store, service), the listener, and
//! graceful shutdown.

use crate::dev;
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use strongroom_api_aws::{ApiConfig, AwsApi};
use strongroom_core::ids::AccountId;
use strongroom_core::time::{Clock, OffsetClock, SystemClock};
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_service::{Config, Service};
use strongroom_store::sqlite::SqliteStore;

/// Options of `strongroom serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Zero-configuration development mode: embedded store, dev seal, one account whose root
    /// credentials are printed. The only mode of this release.
    #[arg(long)]
    dev: bool,
    /// Where keys, the root key and credentials live.
    #[arg(long, default_value = "./strongroom-data")]
    data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:4599")]
    listen: SocketAddr,
    /// The dev account's 12-digit id.
    #[arg(long, default_value = "111122223333")]
    dev_account: String,
    /// Access key id of the dev account root (generated when omitted).
    #[arg(long, requires = "dev_secret_access_key")]
    dev_access_key_id: Option<String>,
    /// Secret access key of the dev account root.
    #[arg(
        long,
        requires = "dev_access_key_id",
        env = "STRONGROOM_DEV_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    dev_secret_access_key: Option<String>,
    /// TEST ONLY: serve `POST /_strongroom/clock` ({"advance_seconds": N}), which moves the
    /// service's clock forward and runs due background work, so rotation periods and deletion
    /// windows can be tested without waiting. Signatures are still checked against real time.
    #[arg(long, requires = "dev")]
    dev_clock_control: bool,
    /// The audit trail: `fail-closed` (default: an event is on disk before the answer leaves;
    /// no audit, no answer), `best-effort` (queued, written within milliseconds; lost if the
    /// process dies first), or `off`.
    #[arg(long, value_enum, default_value_t = AuditMode::FailClosed)]
    audit: AuditMode,
    /// Where the audit trail's segments and keys live (default DATA_DIR/audit).
    #[arg(long, value_name = "DIR")]
    audit_dir: Option<PathBuf>,
    /// Signed digest records are written at least this often while events arrive.
    #[arg(long, default_value = "60", value_name = "SECONDS")]
    audit_digest_interval: u64,
    /// A segment file is closed and a new one started at this size.
    #[arg(long, default_value = "64", value_name = "MIB")]
    audit_segment_mib: u64,
    /// How often background work (due rotations, ended deletion windows) runs.
    #[arg(long, default_value = "10", value_name = "SECONDS")]
    scheduler_interval: u64,
    /// Alert rules over the audit trail, delivered to signed webhooks and the log (a TOML
    /// file; docs/alerts.md). Needs the audit trail.
    #[arg(long, value_name = "FILE")]
    alerts: Option<PathBuf>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `--audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AuditMode {
    /// Every event durable before the answer.
    FailClosed,
    /// Events queued; answers do not wait.
    BestEffort,
    /// No audit trail.
    Off,
}

pub(crate) fn run(args: ServeArgs) -> Result<(), BoxError> {
    init_logging();
    if !args.dev {
        return Err("this release runs in dev mode only: use `strongroom serve --dev`".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_dev(args))
}

fn init_logging() {
    // STRONGROOM_LOG, else the conventional RUST_LOG, else info.
    let filter = tracing_subscriber::EnvFilter::try_from_env("STRONGROOM_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve_dev(args: ServeArgs) -> Result<(), BoxError> {
    let account =
        AccountId::parse(&args.dev_account).ok_or("--dev-account must be a 12-digit account id")?;
    let dir = &args.data_dir;
    dev::prepare_data_dir(dir)?;
    let alert_config = load_alerts(&args, dir)?;
    let _lock = dev::lock_data_dir(dir)?;
    let seal = DevFileSeal::new(dir.join("root.key"));
    tracing::warn!("{}; never use dev mode for real keys", seal.describe());
    let root = seal.unseal(&SystemRandom)?;
    let store = SqliteStore::open(&dir.join("strongroom.db"))?;
    // The service's clock moves only under the test-only clock control; SigV4 always checks
    // real time.
    let test_clock = args.dev_clock_control.then(|| Arc::new(OffsetClock::new()));
    let clock: Arc<dyn Clock> = match &test_clock {
        Some(c) => {
            tracing::warn!("test-only clock control is ON: POST /_strongroom/clock moves time");
            Arc::clone(c) as Arc<dyn Clock>
        }
        None => Arc::new(SystemClock),
    };
    let (metrics, prometheus) = crate::monitor::prometheus()?;
    let audit = open_audit(&args, dir, &root, metrics.audit())?;
    let service = Service::with_metrics(
        Arc::new(store),
        root,
        Arc::new(SystemRandom),
        clock,
        Config::default(),
        metrics,
    );
    if let Some(log) = &audit {
        service.attach_audit(Arc::clone(log));
    }
    let alerts = start_alerts(alert_config, audit.as_deref(), &service)?;
    let requested = dev::requested_credentials(args.dev_access_key_id, args.dev_secret_access_key);
    let previous = dev::previous_access_key_id(dir);
    let creds = service.bootstrap_dev(&account, requested, previous).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let env = dev::export_lines(addr, &creds);
    dev::write_credentials_file(&dir.join("dev-credentials.env"), &env)?;
    print_banner(&env, dir);
    tracing::info!(%addr, data_dir = %dir.display(), "listening");
    let node = format!("{}-{}", std::process::id(), addr);
    let scheduler =
        service.spawn_scheduler(node, Duration::from_secs(args.scheduler_interval.max(1)));
    let usage_flusher = service.spawn_usage_flusher(Duration::from_secs(5));
    let flush_service = service.clone();
    let monitor = crate::monitor::Monitor::new(service.clone(), prometheus);
    let upkeep = monitor.spawn_upkeep();
    let control = test_clock.map(|clock| crate::http::ClockControl {
        clock,
        service: service.clone(),
    });
    let api = AwsApi::new(
        service,
        ApiConfig {
            regions: Vec::new(),
            auth_clock: Arc::new(SystemClock),
        },
    );
    let draining = monitor.clone();
    axum::serve(
        listener,
        crate::http::router(api, control, monitor)
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        crate::http::shutdown_signal().await;
        draining.set_shutting_down();
    })
    .await?;
    scheduler.abort();
    usage_flusher.abort();
    upkeep.abort();
    stop_alerts(alerts).await;
    if let Some(log) = &audit
        && let Err(e) = log.close().await
    {
        // The events are on disk; only the final digest is missing, and the next start
        // writes it.
        tracing::error!(error = %e, "closing the audit trail failed");
    }
    // The last usage notes of the run; a crash would lose at most one interval of them.
    if let Err(e) = flush_service.flush_usage().await {
        tracing::warn!(error = %e, "final key usage flush failed");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens the audit trail (creating its signing key, wrapped under `root`, on first use),
/// unless `--audit off`.
fn open_audit(
    args: &ServeArgs,
    dir: &Path,
    root: &strongroom_crypto::seal::RootKey,
    metrics: strongroom_service::metrics::AuditMetrics,
) -> Result<Option<Arc<strongroom_audit::AuditLog>>, BoxError> {
    if args.audit == AuditMode::Off {
        tracing::warn!("the audit trail is OFF: requests are not recorded");
        return Ok(None);
    }
    let audit_dir = args.audit_dir.clone().unwrap_or_else(|| dir.join("audit"));
    let options = strongroom_audit::AuditOptions {
        best_effort: args.audit == AuditMode::BestEffort,
        digest_interval: Duration::from_secs(args.audit_digest_interval.max(1)),
        max_segment_bytes: args.audit_segment_mib.max(1).saturating_mul(1024 * 1024),
        on_fsync: Some(strongroom_audit::FsyncHook(Arc::new(move |took| {
            metrics.observe_fsync(took);
        }))),
        ..strongroom_audit::AuditOptions::default()
    };
    let log = strongroom_audit::AuditLog::open(
        &audit_dir,
        root,
        &SystemRandom,
        options,
        Arc::new(SystemClock),
    )?;
    tracing::info!(dir = %audit_dir.display(), mode = ?args.audit, "audit trail open");
    Ok(Some(Arc::new(log)))
}

fn print_banner(env: &strongroom_crypto::secret::SecretBytes, dir: &Path) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    // The export lines carry the dev secret on purpose: dev mode shows it to its user once per
    // start, like `aws iam create-access-key` does. Logs never see it.
    let _ = out.write_all(env.expose());
    let _ = writeln!(
        out,
        "# the same lines are in {}",
        dir.join("dev-credentials.env").display()
    );
    let _ = out.flush();
}

/// Reads and checks `--alerts FILE` before anything starts: a bad file, or alerts without the
/// audit trail they read, refuses to start.
fn load_alerts(
    args: &ServeArgs,
    dir: &Path,
) -> Result<Option<strongroom_alerts::AlertConfig>, BoxError> {
    let Some(file) = &args.alerts else {
        return Ok(None);
    };
    if args.audit == AuditMode::Off {
        return Err(format!(
            "--alerts {} needs the audit trail, whose events the rules read: drop --audit off",
            file.display()
        )
        .into());
    }
    let config = strongroom_alerts::AlertConfig::load(file, dir)?;
    tracing::info!(
        file = %file.display(),
        rules = ?config.rule_names().collect::<Vec<_>>(),
        dead_letter = %config.dead_letter_path().display(),
        "alert rules loaded"
    );
    Ok(Some(config))
}

/// Starts the alert engine and attaches it to the audit trail.
fn start_alerts(
    config: Option<strongroom_alerts::AlertConfig>,
    log: Option<&strongroom_audit::AuditLog>,
    service: &Service,
) -> Result<Option<strongroom_alerts::AlertEngine>, BoxError> {
    let (Some(config), Some(log)) = (config, log) else {
        return Ok(None);
    };
    let options = strongroom_alerts::EngineOptions {
        // Windows are real time, also under the test-only clock control.
        clock: Arc::new(SystemClock),
        random: Arc::new(SystemRandom),
        metrics: service.metrics().recorder().map_or_else(
            strongroom_alerts::AlertMetrics::disabled,
            strongroom_alerts::AlertMetrics::new,
        ),
        queue: strongroom_alerts::DEFAULT_QUEUE,
        queue_bytes: strongroom_alerts::DEFAULT_QUEUE_BYTES,
    };
    let engine = strongroom_alerts::AlertEngine::start(config, options)?;
    if !log.set_observer(engine.observer()) {
        return Err("the audit trail already has an observer".into());
    }
    Ok(Some(engine))
}

/// Lets the alert engine evaluate what is queued and finish deliveries (within its grace
/// period), then reports what it did.
async fn stop_alerts(engine: Option<strongroom_alerts::AlertEngine>) {
    if let Some(engine) = engine {
        let s = engine.shutdown().await;
        tracing::info!(
            target: "strongroom::alert",
            fired = s.fired,
            delivered = s.delivered,
            dead_lettered = s.dead_lettered,
            lost = s.lost,
            attempts = s.attempts,
            dropped_events = s.dropped_events,
            "alert engine stopped"
        );
    }
}

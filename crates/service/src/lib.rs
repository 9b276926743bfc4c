//! Strongroom's use cases: one entry point per KMS operation, every one through the same
//! pipeline — resolve the key, authorize, check its state, do the cryptography, persist, and
//! (with the audit trail, later) record the event.
//!
//! Front ends (the AWS JSON API now, KMIP later) turn wire requests into the typed inputs
//! here and map [`KmsError`] back to their wire errors; they never touch storage.
//!
//! The hot path (Encrypt, Decrypt, GenerateDataKey) reads keys, aliases and credentials from
//! in-memory caches (see [`cache`]) and makes no store round trip once a key is warm.
#![forbid(unsafe_code)]

mod authz;
pub mod cache;
mod health;
mod identity;
pub mod managed;
pub mod metrics;
pub mod ops;
mod resolve;
pub mod scheduler;
pub mod simulate;
mod store_call;
pub mod usage;

pub use health::StoreUnhealthy;
pub use identity::{Caller, CallerKind, DevCredentials};
pub use strongroom_core::KmsError;

use std::sync::Arc;
use strongroom_core::ids::{AccountId, Region, Scope};
use strongroom_core::time::Clock;
use strongroom_crypto::random::Random;
use strongroom_crypto::seal::RootKey;
use strongroom_store::Store;

/// Settings that do not change while the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// ARN partition of new keys (`aws`).
    pub partition: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            partition: "aws".to_owned(),
        }
    }
}

/// Who is asking, and where: built by a front end after it authenticated the request.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The authenticated principal.
    pub caller: Caller,
    /// The partition, account and region the request acts in.
    pub scope: Scope,
    /// The front end's id of this request (recorded with key usage, and later audit events).
    pub request_id: std::sync::Arc<str>,
    /// The address the request came from (`aws:SourceIp`), when the front end knows it.
    pub source_ip: Option<std::net::IpAddr>,
    /// The keys the request acted on, in the order they were resolved (the audit event's
    /// `resources`: ReEncrypt names its source, then its destination).
    pub keys: KeysTouched,
}

/// The ARNs of the keys a request resolved; shared by the tasks of one request.
#[derive(Debug, Default)]
pub struct KeysTouched(std::sync::Mutex<Vec<String>>);

impl Clone for KeysTouched {
    fn clone(&self) -> Self {
        Self(std::sync::Mutex::new(self.arns()))
    }
}

impl KeysTouched {
    /// Notes key `arn` (once).
    pub fn note(&self, arn: &str) {
        if let Ok(mut arns) = self.0.lock()
            && !arns.iter().any(|a| a == arn)
        {
            arns.push(arn.to_owned());
        }
    }

    /// The keys noted, in order.
    pub fn arns(&self) -> Vec<String> {
        self.0.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl RequestContext {
    /// A context for request `request_id` of `caller`, acting in `region` of its own account.
    pub fn new(
        caller: Caller,
        partition: &str,
        region: Region,
        request_id: std::sync::Arc<str>,
    ) -> Self {
        let scope = Scope {
            partition: partition.to_owned(),
            account: caller.account.clone(),
            region,
        };
        Self {
            caller,
            scope,
            request_id,
            source_ip: None,
            keys: KeysTouched::default(),
        }
    }

    /// The caller's account.
    pub fn account(&self) -> &AccountId {
        &self.scope.account
    }
}

/// The service: shared by every request, cheap to clone.
#[derive(Debug, Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    root: RootKey,
    rng: Arc<dyn Random>,
    clock: Arc<dyn Clock>,
    config: Config,
    cache: cache::Caches,
    usage: usage::PendingUsage,
    metrics: metrics::Metrics,
    probes: health::Probes,
    /// The audit trail, once the binary attached it (service events: scheduled rotations,
    /// deletions, expiries).
    audit: std::sync::OnceLock<Arc<strongroom_audit::AuditLog>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("store", &self.store)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `store`, wrapping under `root`, that records no metrics.
    pub fn new(
        store: Arc<dyn Store>,
        root: RootKey,
        rng: Arc<dyn Random>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Self {
        Self::with_metrics(
            store,
            root,
            rng,
            clock,
            config,
            metrics::Metrics::disabled(),
        )
    }

    /// A service over `store`, wrapping under `root`, recording its metrics in `metrics`.
    pub fn with_metrics(
        store: Arc<dyn Store>,
        root: RootKey,
        rng: Arc<dyn Random>,
        clock: Arc<dyn Clock>,
        config: Config,
        metrics: metrics::Metrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                root,
                rng,
                clock,
                config,
                cache: cache::Caches::new(&metrics),
                usage: usage::PendingUsage::default(),
                metrics,
                probes: health::Probes::default(),
                audit: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The metrics the service records (and front ends record theirs in).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Attaches the audit trail that service events (scheduled work) are recorded in. Only
    /// the first attachment counts.
    pub fn attach_audit(&self, log: Arc<strongroom_audit::AuditLog>) {
        let _ = self.inner.audit.set(log);
    }

    /// The attached audit trail, if any.
    pub fn audit(&self) -> Option<&Arc<strongroom_audit::AuditLog>> {
        self.inner.audit.get()
    }

    /// The service's configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The injected clock.
    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    fn random<const N: usize>(&self) -> Result<[u8; N], KmsError> {
        strongroom_crypto::random::array(self.inner.rng.as_ref()).map_err(|e| {
            tracing::error!(error = %e, "random source failed");
            KmsError::Internal
        })
    }
}

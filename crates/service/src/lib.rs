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
mod identity;
pub mod managed;
pub mod ops;
mod resolve;
pub mod scheduler;
pub mod simulate;
mod store_call;
pub mod usage;

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
    /// A service over `store`, wrapping under `root`.
    pub fn new(
        store: Arc<dyn Store>,
        root: RootKey,
        rng: Arc<dyn Random>,
        clock: Arc<dyn Clock>,
        config: Config,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                root,
                rng,
                clock,
                config,
                cache: cache::Caches::default(),
                usage: usage::PendingUsage::default(),
            }),
        }
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

//! What the binary's `GET /readyz` and `GET /metrics` ask of the service: whether the store
//! answers a trivial read in time, and how many keys are in each state.
//!
//! Both run the store call on a blocking thread under a timeout. A store call that outlives
//! its timeout cannot be cancelled (the thread is blocked in the store), so each probe runs at
//! most one call at a time: while one is still waiting, the next probe fails at once with
//! [`StoreUnhealthy::Busy`] instead of tying up another thread.

use crate::Service;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strongroom_core::ids::KeyId;

/// Why a store probe failed. The store's own error is logged, not carried: probes are
/// answered to unauthenticated clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StoreUnhealthy {
    /// The store answered with an error.
    #[error("the store failed to answer a read")]
    Failed,
    /// The store did not answer in time.
    #[error("the store did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The previous probe's store call has not returned yet.
    #[error("the previous store check has not returned yet")]
    Busy,
}

/// One flag per probe: whether its store call is running.
#[derive(Debug, Default)]
pub(crate) struct Probes {
    ready: Arc<AtomicBool>,
    key_count: Arc<AtomicBool>,
}

/// Clears a probe's flag when its store call ends (or is dropped unrun).
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Service {
    /// Whether the store answers a trivial read (one key lookup by primary key) within
    /// `timeout`.
    pub async fn check_store(&self, timeout: Duration) -> Result<(), StoreUnhealthy> {
        let flag = &self.inner.probes.ready;
        self.probe("readiness", flag, timeout, |s| {
            s.get_key(&KeyId::from_bytes([0; 16])).map(drop)
        })
        .await
    }

    /// Counts the keys by state and sets the `strongroom_keys` gauges, if the store answers
    /// within `timeout`; otherwise the gauges keep their last values.
    pub async fn refresh_key_metrics(&self, timeout: Duration) -> Result<(), StoreUnhealthy> {
        let flag = &self.inner.probes.key_count;
        let counts = self
            .probe("key count", flag, timeout, |s| s.count_keys_by_state())
            .await?;
        self.inner.metrics.set_key_counts(&counts);
        Ok(())
    }

    async fn probe<T, F>(
        &self,
        what: &'static str,
        flag: &Arc<AtomicBool>,
        timeout: Duration,
        f: F,
    ) -> Result<T, StoreUnhealthy>
    where
        T: Send + 'static,
        F: FnOnce(&dyn strongroom_store::Store) -> Result<T, strongroom_store::StoreError>
            + Send
            + 'static,
    {
        if flag.swap(true, Ordering::SeqCst) {
            return Err(StoreUnhealthy::Busy);
        }
        let running = Running(Arc::clone(flag));
        let call = self.store_raw(move |s| {
            let _running = running;
            f(s)
        });
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                tracing::warn!(probe = what, error = %e, "store probe failed");
                Err(StoreUnhealthy::Failed)
            }
            Err(_) => {
                tracing::warn!(
                    probe = what,
                    timeout_ms = timeout.as_millis() as u64,
                    "store probe timed out"
                );
                Err(StoreUnhealthy::Timeout(timeout))
            }
        }
    }
}

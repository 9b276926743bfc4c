//! GetKeyLastUsage, and the cheap tracking behind it.
//!
//! A successful cryptographic operation only notes its key, operation, time and request id in
//! memory (one short lock, no I/O). A background flush writes all notes since the last flush in
//! one store transaction, so the store sees at most one write per key per flush interval, never
//! one per request. GetKeyLastUsage merges the unflushed notes, so a caller always sees its own
//! use. A crash loses at most one flush interval of usage data, which AWS too documents as
//! eventually consistent.

use crate::authz::Access;
use crate::{RequestContext, Service};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use strongroom_core::KmsError;
use strongroom_core::ids::{KeyId, KeyRef};
use strongroom_core::operation::Operation;
use strongroom_core::time::Timestamp;
use strongroom_store::{KeyUsageRecord, Transaction, Write};

/// Notes not yet flushed, one per key (the latest wins).
#[derive(Debug, Default)]
pub(crate) struct PendingUsage(Mutex<HashMap<KeyId, Note>>);

/// One note: what the store will get, with the request id shared rather than copied, so
/// noting a use allocates nothing.
#[derive(Debug, Clone)]
struct Note {
    operation: Operation,
    at: Timestamp,
    request_id: std::sync::Arc<str>,
}

impl Note {
    fn record(&self, key_id: KeyId) -> KeyUsageRecord {
        KeyUsageRecord {
            key_id,
            operation: self.operation,
            at: self.at,
            request_id: self.request_id.to_string(),
        }
    }
}

/// GetKeyLastUsage's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUsage {
    /// The key ARN.
    pub key_arn: String,
    /// When the key was created.
    pub key_created: Timestamp,
    /// Since when uses are tracked.
    pub tracking_start: Timestamp,
    /// The last successful cryptographic use, if any since tracking started.
    pub last: Option<KeyUsageRecord>,
}

impl Service {
    /// Notes a successful cryptographic use of `key` (hot path: memory only).
    pub(crate) fn note_usage(&self, ctx: &RequestContext, key: KeyId, operation: Operation) {
        let note = Note {
            operation,
            at: self.clock().now(),
            request_id: std::sync::Arc::clone(&ctx.request_id),
        };
        if let Ok(mut pending) = self.inner.usage.0.lock() {
            pending.insert(key, note);
        }
    }

    /// Writes every pending note in one transaction. Returns how many keys were written.
    pub async fn flush_usage(&self) -> Result<usize, KmsError> {
        let pending = match self.inner.usage.0.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Err(KmsError::Internal),
        };
        if pending.is_empty() {
            return Ok(0);
        }
        let n = pending.len();
        let mut txn = Transaction::new();
        txn.writes.extend(
            pending
                .iter()
                .map(|(k, n)| Write::RecordKeyUsage(n.record(*k))),
        );
        if let Err(e) = self
            .store_call("RecordKeyUsage", move |s| s.commit(txn))
            .await
        {
            // Put the notes back for the next flush, unless a newer use replaced them meanwhile.
            if let Ok(mut p) = self.inner.usage.0.lock() {
                for (key, record) in pending {
                    p.entry(key).or_insert(record);
                }
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Flushes usage notes every `interval` until the task is aborted.
    pub fn spawn_usage_flusher(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = svc.flush_usage().await {
                    tracing::warn!(error = %e, "key usage flush failed; will retry");
                }
            }
        })
    }

    /// GetKeyLastUsage.
    pub async fn get_key_last_usage(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<LastUsage, KmsError> {
        let access = Access::new(Operation::GetKeyLastUsage);
        let key = self.resolve(ctx, r, &access).await?;
        let id = key.key.id;
        let stored = self
            .store_call("GetKeyUsage", move |s| s.get_key_usage(&id))
            .await?
            .ok_or_else(|| KmsError::key_not_found(&key.key.arn))?;
        let pending = self
            .inner
            .usage
            .0
            .lock()
            .ok()
            .and_then(|p| p.get(&id).map(|n| n.record(id)));
        let last = match (stored.last, pending) {
            (Some(s), Some(p)) => Some(if p.at > s.at { p } else { s }),
            (s, p) => p.or(s),
        };
        Ok(LastUsage {
            key_arn: key.key.arn.clone(),
            key_created: key.key.created_at,
            tracking_start: stored.tracking_start,
            last,
        })
    }
}

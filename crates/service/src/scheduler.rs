//! Background work: automatic rotations that are due, expired imported material, keys whose
//! deletion window ended, and long-expired role session credentials.
//!
//! Every node runs the loop; a lease in the store lets one node at a time do the work, and every
//! change is a revision-checked write that re-checks that the work is still due, so a step done
//! twice (a lease that expired mid-run, two nodes) changes nothing the second time.

use crate::Service;
use std::time::Duration;
use strongroom_core::KmsError;
use strongroom_core::ids::KeyId;
use strongroom_core::key::{Key, RotationType};
use strongroom_store::{StoreError, Transaction, Write};

/// How many keys one pass handles per kind of work; the rest wait for the next pass.
const BATCH: usize = 256;
/// The lease name of the scheduler.
const LEASE: &str = "scheduler";
/// How long expired session credentials are kept before they are deleted. Until then a request
/// signed with them is told `ExpiredTokenException`; afterwards the key is simply unknown.
pub const SESSION_RETENTION_MS: i64 = 7 * strongroom_core::lifecycle::DAY_MS;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueWork {
    /// Keys rotated.
    pub rotated: usize,
    /// Keys destroyed at the end of their deletion window.
    pub deleted: usize,
    /// Keys whose imported material expired.
    pub expired: usize,
    /// Expired session credentials deleted after [`SESSION_RETENTION_MS`].
    pub sessions: usize,
}

impl Service {
    /// Runs one pass of due work as of the service clock's now.
    pub async fn run_due_work(&self) -> Result<DueWork, KmsError> {
        let now = self.clock().now();
        let mut done = DueWork::default();
        let due = self
            .store_call("DueRotations", move |s| {
                s.list_keys_due_for_rotation(now, BATCH)
            })
            .await?;
        for id in due {
            match self.rotate(&id, None, RotationType::Automatic).await {
                Ok(key) => {
                    done.rotated += 1;
                    self.record_service_event("RotateKey", &key).await;
                }
                Err(e) => tracing::warn!(key = %id, error = %e, "automatic rotation failed"),
            }
        }
        let due = self
            .store_call("DueExpiries", move |s| {
                s.list_keys_due_for_expiry(now, BATCH)
            })
            .await?;
        for id in due {
            match self.expire_material_if_due(&id).await {
                Ok(Some(key)) => {
                    done.expired += 1;
                    self.record_service_event("DeleteExpiredKeyMaterial", &key)
                        .await;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(key = %id, error = %e, "material expiry failed"),
            }
        }
        let due = self
            .store_call("DueDeletions", move |s| {
                s.list_keys_due_for_deletion(now, BATCH)
            })
            .await?;
        for id in due {
            match self.destroy_if_due(&id).await {
                Ok(Some(key)) => {
                    done.deleted += 1;
                    self.record_service_event("DeleteKey", &key).await;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(key = %id, error = %e, "key deletion failed"),
            }
        }
        let cutoff = strongroom_core::time::Timestamp(now.0.saturating_sub(SESSION_RETENTION_MS));
        let due = self
            .store_call("ExpiredSessions", move |s| {
                s.list_expired_sessions(cutoff, BATCH)
            })
            .await?;
        for id in due {
            match self.purge_session(&id).await {
                Ok(true) => done.sessions += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(access_key_id = %id, error = %e, "session purge failed"),
            }
        }
        Ok(done)
    }

    /// Records what the service did on its own to `key` as a CloudTrail `AwsServiceEvent`
    /// (RotateKey, DeleteKey, DeleteExpiredKeyMaterial). The work is done already, so a
    /// failure to record is logged loudly rather than undone.
    async fn record_service_event(&self, name: &str, key: &Key) {
        use strongroom_audit::{AuditEvent, EventTime, EventType, Resource, UserIdentity};
        let Some(log) = self.audit() else {
            return;
        };
        let identity = UserIdentity {
            account_id: Some(key.account.as_str().to_owned()),
            invoked_by: Some("AWS Internal".to_owned()),
            ..UserIdentity::default()
        };
        let mut event = AuditEvent::kms_api_call(
            name,
            EventTime::from_timestamp(self.clock().now()),
            key.region.as_str(),
            identity,
            uuid::Uuid::new_v4(),
        );
        event.event_type = EventType::AwsServiceEvent;
        "AWS Internal".clone_into(&mut event.source_ip_address);
        "AWS Internal".clone_into(&mut event.user_agent);
        event.resources = vec![Resource::kms_key(key.account.as_str(), key.arn.as_str())];
        if let Err(e) = log.record(event).await {
            tracing::error!(key = %key.arn, event = name, error = %e, "service event not recorded in the audit trail");
        }
    }

    /// Deletes session credentials `id`, unless they changed meanwhile.
    async fn purge_session(&self, id: &str) -> Result<bool, KmsError> {
        let lookup = id.to_owned();
        let Some(current) = self
            .store_call("GetAccessKey", move |s| s.get_access_key(&lookup))
            .await?
        else {
            return Ok(false);
        };
        let mut txn = Transaction::new();
        txn.push(Write::DeleteAccessKey {
            id: id.to_owned(),
            revision: current.revision,
        });
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {
                self.inner.cache.invalidate_credential(&id.to_owned());
                Ok(true)
            }
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(crate::store_call::map_store_error("DeleteAccessKey", e)),
        }
    }

    /// Destroys key `id` if its deletion window has ended: key, tags, material and aliases.
    async fn destroy_if_due(&self, id: &KeyId) -> Result<Option<Key>, KmsError> {
        let now = self.clock().now();
        let id = *id;
        let Some(current) = self.store_call("GetKey", move |s| s.get_key(&id)).await? else {
            return Ok(None);
        };
        if !current.value.deletion_due(now) {
            return Ok(None);
        }
        let mut txn = Transaction::new();
        txn.push(Write::DeleteKey {
            id,
            revision: current.revision,
        });
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {
                self.inner.cache.invalidate_key(&id);
                self.inner.cache.invalidate_all_aliases();
                tracing::info!(key = %current.value.arn, "key deleted at the end of its waiting period");
                Ok(Some(current.value))
            }
            Err(StoreError::Conflict) => Ok(None), // changed meanwhile: the next pass decides
            Err(e) => Err(crate::store_call::map_store_error("DeleteKey", e)),
        }
    }

    /// Runs [`Service::run_due_work`] every `interval` while this node holds the scheduler
    /// lease. `node` names this node in the lease.
    pub fn spawn_scheduler(&self, node: String, interval: Duration) -> tokio::task::JoinHandle<()> {
        let svc = self.clone();
        let lease_ms = i64::try_from(interval.as_millis().saturating_mul(3)).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = svc.clock().now();
                let until = strongroom_core::time::Timestamp(now.0.saturating_add(lease_ms));
                let holder = node.clone();
                match svc
                    .store_call("Lease", move |s| s.try_lease(LEASE, &holder, now, until))
                    .await
                {
                    Ok(true) => {
                        if let Err(e) = svc.run_due_work().await {
                            tracing::warn!(error = %e, "scheduler pass failed");
                        }
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "scheduler lease unavailable"),
                }
            }
        })
    }
}

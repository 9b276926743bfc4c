//! Reading the audit trail back over the API (CloudTrail's `LookupEvents`): authorized like
//! the other account-level actions, confined to the caller's account, and read on the blocking
//! pool, newest first, one page at a time ([`strongroom_audit::newest_events`]).

use crate::{RequestContext, Service};
use std::sync::Arc;
use strongroom_audit::{AuditLog, LogPosition, LookupFilter, NewestPage};
use strongroom_core::KmsError;

/// The IAM action that allows looking up events.
pub const LOOKUP_EVENTS_ACTION: &str = "cloudtrail:LookupEvents";

/// Lookups read files on the blocking pool, which store calls share: at most this many read
/// at once, so that lookups can never take the pool from the requests that need the store.
/// Others wait their turn.
const CONCURRENT_LOOKUPS: usize = 2;
static LOOKUP_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_LOOKUPS);

impl Service {
    /// Authorizes a lookup by the caller of `ctx` and returns the trail to read: the checks
    /// [`Self::lookup_events`] makes before it reads (and all a lookup of a category with no
    /// events needs).
    pub async fn authorize_lookup_events(
        &self,
        ctx: &RequestContext,
    ) -> Result<&Arc<AuditLog>, KmsError> {
        self.authorize_account(ctx, LOOKUP_EVENTS_ACTION, "*")
            .await?;
        self.audit().ok_or_else(|| {
            KmsError::UnsupportedOperation(
                "The audit trail is off on this server (--audit off): there are no events to \
                 look up."
                    .to_owned(),
            )
        })
    }

    /// One page of the events of the caller's account that pass `filter`, newest first,
    /// starting before `before` (from the newest when `None`), at most `limit` of them.
    ///
    /// Authorization: `cloudtrail:LookupEvents` on `*` in the caller's account — the account
    /// root may, IAM users and role sessions need an identity policy that allows it. Whatever
    /// `filter` says, only events whose `recipientAccountId` is the caller's account are read.
    /// Without an audit trail (`--audit off`) there is nothing to look up:
    /// `UnsupportedOperation`.
    pub async fn lookup_events(
        &self,
        ctx: &RequestContext,
        mut filter: LookupFilter,
        before: Option<LogPosition>,
        limit: usize,
    ) -> Result<NewestPage, KmsError> {
        let log = self.authorize_lookup_events(ctx).await?;
        filter.recipient_account_id = Some(ctx.account().as_str().to_owned());
        let dir = log.dir().to_owned();
        let slot = LOOKUP_SLOTS
            .acquire()
            .await
            .map_err(|_| KmsError::Internal)?;
        let read = tokio::task::spawn_blocking(move || {
            // Held until the read ends, even if the request is dropped meanwhile.
            let _slot = slot;
            strongroom_audit::newest_events(
                &dir,
                &filter,
                before,
                limit,
                strongroom_audit::PAGE_READ_BUDGET,
            )
        })
        .await;
        let page = match read {
            Ok(Ok(page)) => page,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reading the audit trail failed");
                return Err(KmsError::Internal);
            }
            Err(e) => {
                tracing::error!(error = %e, "the audit trail reader did not finish");
                return Err(KmsError::Internal);
            }
        };
        if page.skipped > 0 {
            tracing::warn!(
                lines = page.skipped,
                "the audit trail has lines that are not records; run `strongroom audit verify`"
            );
        }
        Ok(page)
    }
}

//! One module per operation family. Each public method of [`crate::Service`] is one KMS
//! operation; the shared steps (resolve, read-modify-write with retry, pagination) live here.

pub mod aliases;
pub mod crypto;
pub mod grants;
pub mod iam;
pub mod import;
pub mod keys;
pub mod lifecycle;
pub mod policy;
pub mod sts;
pub mod tags;
pub mod trail;

use crate::authz::Access;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::{KeyId, KeyRef, Scope};
use strongroom_core::key::Key;
use strongroom_store::{Expect, StoreError, Transaction, Write};

/// How often a read-modify-write is retried when a concurrent write wins.
const MAX_ATTEMPTS: usize = 8;

/// One page of a list operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts, if there is one.
    pub next_marker: Option<String>,
}

/// Default and maximum page sizes (AWS: Limit 1–1000, default 100 for most lists).
pub const DEFAULT_LIMIT: usize = 100;

/// Builds a page from up to `limit + 1` items: the extra item only signals that more exist.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    marker_of: impl Fn(&T) -> String,
) -> Page<T> {
    let next_marker = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| encode_marker(&marker_of(last)))
    } else {
        None
    };
    Page { items, next_marker }
}

/// Markers are opaque to clients: the last item's sort key, hex-encoded.
fn encode_marker(s: &str) -> String {
    strongroom_crypto::hex::encode(s.as_bytes())
}

/// Decodes a marker this service issued; anything else is `InvalidMarkerException`.
pub(crate) fn decode_marker(m: &str) -> Result<String, KmsError> {
    let invalid = || KmsError::InvalidMarker("The marker is not valid.".to_owned());
    let bytes = strongroom_crypto::hex::decode(m).ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

impl Service {
    /// Authorizes `access` to the key `r` names, then reads the current key record from the
    /// store, applies `change`, and writes it back under the revision it read, retrying when a concurrent write won. Returns the new record.
    /// A change that alters nothing writes nothing.
    pub(crate) async fn update_key<F>(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        access: &Access<'_>,
        change: F,
    ) -> Result<Key, KmsError>
    where
        F: Fn(&mut Key) -> Result<(), KmsError>,
    {
        let id = self.resolve(ctx, r, access).await?.key.id;
        self.update_key_record(&id, Some(&ctx.scope), |k| change(k).map(|()| Vec::new()))
            .await
    }

    /// The read-modify-write behind every key change. `change` edits the record and returns
    /// further writes for the same transaction (a new material version, say); it may run more
    /// than once when a concurrent write wins. With `scope`, a key outside it is not found;
    /// background work passes `None`.
    pub(crate) async fn update_key_record<F>(
        &self,
        id: &KeyId,
        scope: Option<&Scope>,
        change: F,
    ) -> Result<Key, KmsError>
    where
        F: Fn(&mut Key) -> Result<Vec<Write>, KmsError>,
    {
        let id = *id;
        let not_found = || match scope {
            Some(s) => KmsError::key_not_found(&s.key_arn(&id)),
            None => KmsError::key_not_found(&id.to_string()),
        };
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store_call("GetKey", move |s| s.get_key(&id))
                .await?
                .filter(|k| {
                    scope.is_none_or(|s| k.value.account == s.account && k.value.region == s.region)
                })
                .ok_or_else(not_found)?;
            let mut key = current.value.clone();
            let extra = change(&mut key)?;
            if key == current.value && extra.is_empty() {
                return Ok(key);
            }
            let mut txn = Transaction::new();
            txn.push(Write::PutKey {
                key: key.clone(),
                expect: Expect::Revision(current.revision),
            });
            txn.writes.extend(extra);
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.inner.cache.invalidate_key(&id);
                    return Ok(key);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(crate::store_call::map_store_error("PutKey", e)),
            }
        }
        Err(KmsError::Conflict(
            "The key was changed by concurrent requests too often. Retry the request.".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_foreign_markers_are_refused() {
        let m = encode_marker("alias/x");
        assert_eq!(decode_marker(&m).unwrap(), "alias/x");
        for bad in ["zz", "a", "ff", "0"] {
            assert!(
                matches!(decode_marker(bad), Err(KmsError::InvalidMarker(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn page_signals_more_only_when_there_is_more() {
        let p = page(vec![1, 2, 3], 2, |i| i.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(
            decode_marker(p.next_marker.as_deref().unwrap()).unwrap(),
            "2"
        );
        let p = page(vec![1, 2], 2, |i| i.to_string());
        assert_eq!(p.next_marker, None);
    }
}

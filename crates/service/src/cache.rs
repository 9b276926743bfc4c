//! In-memory caches for the hot path: keys with their unwrapped material, alias targets, and
//! access-key secrets.
//!
//! **Invalidation.** Every write the service commits invalidates what it changed, after the
//! commit. A reader that missed the cache loads from the store and inserts what it loaded only
//! if no invalidation happened since it started (a global epoch), so a slow reader can never
//! put back a value older than a concurrent write. This is exact for one server process per
//! store (the dev and single-node case; the data directory is locked). Several nodes sharing a
//! PostgreSQL store will need cross-node invalidation, which comes with that backend.
//!
//! **Metrics.** Every lookup counts a hit or a miss (`strongroom_cache_lookups_total`): one
//! atomic increment.
//!
//! **Bounds.** Each cache holds at most [`MAX_ENTRIES`] entries and is emptied when full; a
//! key evicted this way costs one store read on its next use.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use strongroom_core::ids::KeyId;
use strongroom_core::key::Key;
use strongroom_crypto::secret::{KeyMaterial, SecretBytes};

use crate::Caller;
use crate::metrics::{CacheLookups, CacheName, Metrics};

/// The most entries one cache holds.
pub const MAX_ENTRIES: usize = 65_536;

/// A key as the hot path needs it: metadata plus every material version, unwrapped.
#[derive(Debug)]
pub struct CachedKey {
    /// The store revision this snapshot was read at.
    pub revision: u64,
    /// The key record.
    pub key: Key,
    /// Unwrapped material by version.
    pub materials: BTreeMap<u32, KeyMaterial>,
    /// The key policy, parsed; `None` if the stored text no longer parses (then only grants
    /// allow anything).
    pub policy: Option<Arc<strongroom_policy::Policy>>,
    /// The key's grants.
    pub grants: Vec<strongroom_core::grant::Grant>,
}

/// An access key with its unwrapped secret.
#[derive(Debug)]
pub struct CachedCredential {
    /// The principal it authenticates.
    pub caller: Caller,
    /// The secret access key.
    pub secret: SecretBytes,
    /// Whether it may be used.
    pub active: bool,
    /// For session credentials: what the request's session token must match, and until when.
    pub session: Option<SessionCheck>,
}

/// The checks a session token must pass.
#[derive(Debug)]
pub struct SessionCheck {
    /// SHA-256 of the token.
    pub token_digest: Vec<u8>,
    /// When the credentials expire.
    pub expires_at: strongroom_core::time::Timestamp,
}

/// A user's or role's identity data as authorization needs it, parsed once.
#[derive(Debug)]
pub struct CachedPrincipal {
    /// The unique id (`AIDA…` or `AROA…`); empty if the principal no longer exists.
    pub id: String,
    /// Its tags (`aws:PrincipalTag/*`).
    pub tags: std::collections::BTreeMap<String, String>,
    /// Its inline identity policies, parsed, by name.
    pub policies: Vec<(String, strongroom_policy::Policy)>,
}

/// A map with epoch-checked inserts (see the module docs) whose lookups are counted.
#[derive(Debug)]
pub(crate) struct EpochMap<K, V> {
    map: RwLock<HashMap<K, V>>,
    lookups: CacheLookups,
}

impl<K, V> Default for EpochMap<K, V> {
    fn default() -> Self {
        Self::counted(CacheLookups::default())
    }
}

impl<K, V> EpochMap<K, V> {
    fn counted(lookups: CacheLookups) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            lookups,
        }
    }
}

impl<K: Eq + Hash, V: Clone> EpochMap<K, V> {
    /// The value of `k`, counting a hit or a miss.
    pub(crate) fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let found = self.map.read().ok()?.get(k).cloned();
        self.lookups.record(found.is_some());
        found
    }

    fn insert_if(&self, epoch: &AtomicU64, seen: u64, k: K, v: V) {
        if let Ok(mut m) = self.map.write() {
            if epoch.load(Ordering::SeqCst) != seen {
                return;
            }
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert(k, v);
        }
    }

    fn clear(&self) {
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }

    fn remove(&self, k: &K) {
        if let Ok(mut m) = self.map.write() {
            m.remove(k);
        }
    }
}

/// All caches of one service, sharing one invalidation epoch.
#[derive(Debug, Default)]
pub struct Caches {
    epoch: AtomicU64,
    pub(crate) keys: EpochMap<KeyId, Arc<CachedKey>>,
    /// Alias targets by `account/region/alias-name`.
    pub(crate) aliases: EpochMap<String, KeyId>,
    pub(crate) credentials: EpochMap<String, Arc<CachedCredential>>,
    /// Users' and roles' identity data by `crate::authz::principal_cache_key`.
    pub(crate) principals: EpochMap<String, Arc<CachedPrincipal>>,
}

impl Caches {
    /// Empty caches whose lookups are counted in `metrics`.
    pub(crate) fn new(metrics: &Metrics) -> Self {
        Self {
            epoch: AtomicU64::new(0),
            keys: EpochMap::counted(metrics.cache_lookups(CacheName::Keys)),
            aliases: EpochMap::counted(metrics.cache_lookups(CacheName::Aliases)),
            credentials: EpochMap::counted(metrics.cache_lookups(CacheName::Credentials)),
            principals: EpochMap::counted(metrics.cache_lookups(CacheName::Principals)),
        }
    }

    /// The current epoch; read it before a store read whose result will be inserted.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    pub(crate) fn insert_key(&self, seen: u64, v: Arc<CachedKey>) {
        self.keys.insert_if(&self.epoch, seen, v.key.id, v);
    }

    pub(crate) fn insert_alias(&self, seen: u64, k: String, v: KeyId) {
        self.aliases.insert_if(&self.epoch, seen, k, v);
    }

    pub(crate) fn insert_credential(&self, seen: u64, k: String, v: Arc<CachedCredential>) {
        self.credentials.insert_if(&self.epoch, seen, k, v);
    }

    /// Forgets a key after a committed change to it.
    pub(crate) fn invalidate_key(&self, id: &KeyId) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.keys.remove(id);
    }

    /// Forgets an alias after a committed change to it.
    pub(crate) fn invalidate_alias(&self, k: &String) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.aliases.remove(k);
    }

    /// Forgets every alias (after a key and all its aliases were destroyed).
    pub(crate) fn invalidate_all_aliases(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.aliases.clear();
    }

    pub(crate) fn insert_principal(&self, seen: u64, k: String, v: Arc<CachedPrincipal>) {
        self.principals.insert_if(&self.epoch, seen, k, v);
    }

    /// Forgets a user's or role's identity data after a committed change to it, and every
    /// credential (a credential carries its identity's creation time, which a deleted and
    /// re-created identity changes; such changes are rare administrative acts).
    pub(crate) fn invalidate_principal(&self, k: &String) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.principals.remove(k);
        self.credentials.clear();
    }

    /// Forgets an access key after a committed change to it.
    pub(crate) fn invalidate_credential(&self, id: &String) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.credentials.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_after_an_invalidation_is_dropped() {
        let c = Caches::default();
        let seen = c.epoch();
        c.invalidate_alias(&"a".to_owned());
        c.insert_alias(seen, "a".to_owned(), KeyId::from_bytes([1; 16]));
        assert_eq!(c.aliases.get(&"a".to_owned()), None);
        let seen = c.epoch();
        c.insert_alias(seen, "a".to_owned(), KeyId::from_bytes([2; 16]));
        assert_eq!(
            c.aliases.get(&"a".to_owned()),
            Some(KeyId::from_bytes([2; 16]))
        );
        c.invalidate_alias(&"a".to_owned());
        assert_eq!(c.aliases.get(&"a".to_owned()), None);
    }

    #[test]
    fn a_full_cache_is_emptied_not_grown() {
        let c = Caches::default();
        for i in 0..=MAX_ENTRIES {
            c.insert_alias(c.epoch(), i.to_string(), KeyId::from_bytes([0; 16]));
        }
        let len = c.aliases.map.read().unwrap().len();
        assert!(len <= MAX_ENTRIES, "{len}");
        assert_eq!(len, 1);
    }
}

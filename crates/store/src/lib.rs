//! Persistence for Strongroom behind one [`Store`] trait, with an embedded SQLite backend
//! (the default) and, later, PostgreSQL. Every backend runs the same [`conformance`] suite.
//!
//! # Model
//! The store keeps aggregates, each under its own revision: keys (metadata, tags and policy as
//! one record), aliases, accounts, access keys, IAM users and roles (with their tags and inline
//! policies), plus insert-only key material versions and grants.
//! Reads return a [`Versioned`] value; writes are collected in a [`Transaction`] whose every
//! write states what it expects to find ([`Expect`]). [`Store::commit`] applies all writes
//! atomically or none, and answers [`StoreError::Conflict`] if any expectation failed, so
//! concurrent writers never lose each other's updates (optimistic concurrency).
//!
//! Everything stored is either public metadata or wrapped under the root key; the store never
//! sees plaintext key material or secrets (the types it accepts cannot carry them).
//!
//! The trait is synchronous: SQLite is an in-process library, and callers on an async runtime
//! run store calls on blocking threads (see ADR 0002).
#![forbid(unsafe_code)]

pub mod conformance;
pub mod sqlite;

use strongroom_core::alias::Alias;
use strongroom_core::grant::Grant;
use strongroom_core::identity::{AccessKey, Account, Role, User};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyVersion};
use strongroom_core::operation::Operation;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// A value as read from the store, with the revision a later write must expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// Incremented by every committed write of this record; starts at 1.
    pub revision: u64,
    /// The record.
    pub value: T,
}

/// What a write expects to find in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The record must not exist (create).
    Absent,
    /// The record must exist at exactly this revision (update or delete).
    Revision(u64),
}

/// One write in a transaction.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create or update a key record.
    PutKey {
        /// The new record.
        key: Key,
        /// What must be there now.
        expect: Expect,
    },
    /// Add a key material version. Versions are never changed; adding an existing
    /// (key, version) pair is a conflict.
    AddKeyVersion(KeyVersion),
    /// Record the last successful cryptographic use of a key, unless the stored one is newer
    /// (coalesced writes from several nodes may arrive out of order). A key that no longer
    /// exists is skipped, not a conflict: usage is flushed after the fact.
    RecordKeyUsage(KeyUsageRecord),
    /// Remove one material version of a key (DeleteImportedKeyMaterial, expiry of imported
    /// material); a missing version is a no-op. The key record itself is updated by a
    /// revision-checked `PutKey` in the same transaction.
    DeleteKeyVersion {
        /// The key.
        id: KeyId,
        /// The version.
        version: u32,
    },
    /// Destroy a key: the key record, its tags, every material version, every grant, and every
    /// alias that points at it. The key must be at `revision`.
    DeleteKey {
        /// The key.
        id: KeyId,
        /// The revision that must be there now.
        revision: u64,
    },
    /// Create or update an alias.
    PutAlias {
        /// The new record.
        alias: Alias,
        /// What must be there now.
        expect: Expect,
    },
    /// Delete an alias.
    DeleteAlias {
        /// Its account.
        account: AccountId,
        /// Its region.
        region: Region,
        /// Its name.
        name: AliasName,
        /// The revision that must be there now.
        revision: u64,
    },
    /// Create an account (conflict if it exists).
    AddAccount(Account),
    /// Create or update an access key.
    PutAccessKey {
        /// The new record.
        access_key: AccessKey,
        /// What must be there now.
        expect: Expect,
    },
    /// Delete an access key.
    DeleteAccessKey {
        /// Its id.
        id: String,
        /// The revision that must be there now.
        revision: u64,
    },
    /// Create or update an IAM user (its tags and inline policies are part of the record).
    /// Names are unique per account case-insensitively: creating `alice` when `Alice` exists
    /// is a conflict.
    PutUser {
        /// The new record.
        user: User,
        /// What must be there now.
        expect: Expect,
    },
    /// Delete an IAM user.
    DeleteUser {
        /// Its account.
        account: AccountId,
        /// Its name (as stored).
        name: String,
        /// The revision that must be there now.
        revision: u64,
    },
    /// Create or update an IAM role (same rules as users).
    PutRole {
        /// The new record.
        role: Role,
        /// What must be there now.
        expect: Expect,
    },
    /// Delete an IAM role.
    DeleteRole {
        /// Its account.
        account: AccountId,
        /// Its name (as stored).
        name: String,
        /// The revision that must be there now.
        revision: u64,
    },
    /// Create a grant. Grants never change; a grant id already used on the key is a conflict,
    /// and so is a key that does not exist.
    AddGrant(Grant),
    /// Delete a grant (RetireGrant, RevokeGrant). A grant that does not exist is a conflict,
    /// so that of two concurrent retirements exactly one succeeds.
    DeleteGrant {
        /// The key.
        key_id: KeyId,
        /// The grant id.
        grant_id: String,
    },
}

/// The last successful cryptographic use of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsageRecord {
    /// The key.
    pub key_id: KeyId,
    /// The operation (`Encrypt`, `Decrypt`, …).
    pub operation: Operation,
    /// When it happened.
    pub at: Timestamp,
    /// The request id of that request.
    pub request_id: String,
}

/// What GetKeyLastUsage reports for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUsage {
    /// Since when uses of this key are tracked: its creation, or the upgrade that introduced
    /// tracking for keys older than that.
    pub tracking_start: Timestamp,
    /// The last recorded use, if any.
    pub last: Option<KeyUsageRecord>,
}

/// A set of writes that commit together or not at all.
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write.
    pub fn push(&mut self, w: Write) -> &mut Self {
        self.writes.push(w);
        self
    }
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An expectation of the transaction did not hold; nothing was written.
    #[error("conflicting concurrent change")]
    Conflict,
    /// The store could not be used (I/O error, locked database, closed connection).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be decoded (corruption or a newer schema).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// The persistence interface every backend implements.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// One key by id, in any account or region.
    fn get_key(&self, id: &KeyId) -> Result<Option<Versioned<Key>>, StoreError>;

    /// Keys of one account and region, ordered by key id, starting after `after`.
    fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError>;

    /// One material version of a key.
    fn get_key_version(&self, id: &KeyId, version: u32) -> Result<Option<KeyVersion>, StoreError>;

    /// Every material version of a key, ordered by version.
    fn list_key_versions(&self, id: &KeyId) -> Result<Vec<KeyVersion>, StoreError>;

    /// One alias by name.
    fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Versioned<Alias>>, StoreError>;

    /// Aliases of one account and region (optionally only those pointing at `target`), ordered
    /// by name, starting after `after`.
    fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError>;

    /// Keys (in any account and region) whose automatic rotation is due at `now`: enabled
    /// keys with a next rotation date at or before `now`, earliest first.
    fn list_keys_due_for_rotation(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError>;

    /// Keys (in any account and region) pending deletion whose deletion date is at or before
    /// `now`, earliest first.
    fn list_keys_due_for_deletion(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError>;

    /// Keys with some imported material (any version) still present whose `valid_to` is at or
    /// before `now`, in any state but PendingDeletion; earliest expiry first.
    fn list_keys_due_for_expiry(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError>;

    /// How many keys (in every account and region) are in each state: one entry per state
    /// that has at least one key, none with a count of zero, each state once, in any order.
    /// Read by every metrics scrape, so it must not read the key records themselves.
    fn count_keys_by_state(&self) -> Result<Vec<(KeyState, u64)>, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `until`, if it is free, expired at
    /// `now`, or already held by `holder`. Returns whether `holder` holds it now. Nodes sharing
    /// a store use leases so that background work runs on one node at a time.
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// The usage tracking of a key (`None` if the key does not exist).
    fn get_key_usage(&self, id: &KeyId) -> Result<Option<KeyUsage>, StoreError>;

    /// One account.
    fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;

    /// One access key by its public id.
    fn get_access_key(&self, id: &str) -> Result<Option<Versioned<AccessKey>>, StoreError>;

    /// Every access key of a user (`Some(name)`) or of the account root (`None`), ordered by
    /// id. Session credentials are never listed.
    fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<Versioned<AccessKey>>, StoreError>;

    /// Session credentials (in any account) that expired at or before `now`, oldest first: the
    /// scheduler deletes them.
    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// One user by name, matched case-insensitively.
    fn get_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<User>>, StoreError>;

    /// Users of an account whose path starts with `path_prefix`, ordered by name (byte order),
    /// starting after `after`.
    fn list_users(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;

    /// One role by name, matched case-insensitively.
    fn get_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Role>>, StoreError>;

    /// Roles of an account whose path starts with `path_prefix`, ordered by name, starting
    /// after `after`.
    fn list_roles(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError>;

    /// One grant of a key.
    fn get_grant(&self, key_id: &KeyId, grant_id: &str) -> Result<Option<Grant>, StoreError>;

    /// Grants of a key ordered by grant id, starting after `after`.
    fn list_grants(
        &self,
        key_id: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError>;

    /// How many grants a key has.
    fn count_grants(&self, key_id: &KeyId) -> Result<usize, StoreError>;

    /// Grants (on keys of any account) whose retiring principal is exactly `principal`,
    /// ordered by (key id, grant id), starting after `after`.
    fn list_retirable_grants(
        &self,
        principal: &str,
        after: Option<(&KeyId, &str)>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError>;

    /// Applies every write of `txn` atomically and durably, or none of them.
    fn commit(&self, txn: Transaction) -> Result<(), StoreError>;
}

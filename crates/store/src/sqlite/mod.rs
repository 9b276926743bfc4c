//! The embedded SQLite backend, the default store.
//!
//! One file holds everything. SQLite allows one writer at a time, so the store keeps exactly
//! one writer connection behind a mutex (writers queue in-process instead of spinning on
//! SQLite's lock) and a small pool of read-only connections: in WAL mode readers see the last
//! committed snapshot and never wait for the writer, so reads scale with cores while writes
//! are serialized.
//!
//! Durability: WAL with `synchronous=FULL` syncs the log on every commit, so a commit that
//! returned `Ok` survives a process crash and a power loss. Both settings are read back when
//! a connection opens, and the store refuses to open without them.
//!
//! Files: `open` creates the database (mode 0600 on Unix) but not its directory, whose
//! location and permissions belong to the server's configuration. SQLite keeps `-wal` and
//! `-shm` files beside it, with the same permissions.

mod codec;
mod grants;
mod identities;
mod materials;
mod read;
mod schema;
mod write;

#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod policy_time_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod usage_tests;

pub use schema::SCHEMA_VERSION;

use crate::{KeyUsage, Store, StoreError, Transaction, Versioned};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;
use strongroom_core::alias::Alias;
use strongroom_core::grant::Grant;
use strongroom_core::identity::{AccessKey, Account, Role, User};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyVersion};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// Tuning of a [`SqliteStore`]; [`SqliteOptions::default`] suits a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a connection waits for another process's lock on the file before the call
    /// fails with [`StoreError::Unavailable`]. Within one store, writers queue on a mutex.
    pub busy_timeout: Duration,
    /// Number of read-only connections (at least one is opened).
    pub readers: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            readers: 4,
        }
    }
}

/// Prepared statements kept per connection; the store has about fifty distinct ones.
const STATEMENT_CACHE: usize = 64;

/// A [`Store`] in one SQLite file.
pub struct SqliteStore {
    // Declared before `writer` so they close first: the last connection to close checkpoints
    // the WAL into the main file, and only the writer can.
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    writer: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("readers", &self.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path` with default options, creating the file and bringing its
    /// schema up to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database at `path` with `options`.
    ///
    /// Fails with [`StoreError::Corrupt`] for a file that is not a Strongroom database or whose
    /// schema is newer than this build, and with [`StoreError::Unavailable`] when the file
    /// cannot be opened or SQLite cannot guarantee durable commits there (no WAL).
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<Self, StoreError> {
        create_private(path)?;
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = connect(path, rw, schema::Role::Writer, options.busy_timeout)?;
        schema::migrate(&mut writer, schema::MIGRATIONS)?;
        // Readers open after the writer has switched the file to WAL and created the schema.
        let ro = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = (0..options.readers.max(1))
            .map(|_| connect(path, ro, schema::Role::Reader, options.busy_timeout).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            readers,
            next_reader: AtomicUsize::new(0),
            writer: Mutex::new(writer),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reader connection: the first free one, starting round-robin, or else a wait for one.
    fn reader(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        let n = self.readers.len();
        let start = self
            .next_reader
            .fetch_add(1, Ordering::Relaxed)
            .checked_rem(n)
            .unwrap_or(0);
        for slot in self.readers.iter().cycle().skip(start).take(n) {
            match slot.try_lock() {
                Ok(conn) => return Ok(conn),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
            }
        }
        let slot = self
            .readers
            .get(start)
            .ok_or_else(|| StoreError::Unavailable("no reader connection".into()))?;
        slot.lock().map_err(|_| poisoned())
    }

    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.reader()?;
        f(&mut conn)
    }
}

/// A lock held by a thread that panicked. The connection may be mid-transaction, so the
/// store stops using it rather than guess.
fn poisoned() -> StoreError {
    StoreError::Unavailable("a database connection was abandoned by a panicked thread".into())
}

/// Creates the file, readable by its owner only, if it does not exist, and syncs its
/// directory so the new name itself survives a power loss (SQLite does the same for the
/// `-wal` file it creates, but not for a main file it did not create).
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let failed = |e: std::io::Error| {
        StoreError::Unavailable(format!("cannot create {}: {e}", path.display()))
    };
    match options.open(path) {
        Ok(_) => sync_parent(path).map_err(failed),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(failed(e)),
    }
}

/// Syncs the directory holding `path`, making a new entry in it durable.
#[cfg(unix)]
fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(dir)?.sync_all()
}

/// Elsewhere a directory cannot be opened as a file; SQLite's own syncs have to do.
#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn connect(
    path: &Path,
    flags: OpenFlags,
    role: schema::Role,
    busy: Duration,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    schema::configure(&conn, role, busy)?;
    Ok(conn)
}

impl Store for SqliteStore {
    fn get_key(&self, id: &KeyId) -> Result<Option<Versioned<Key>>, StoreError> {
        self.with_reader(|c| read::get_key(c, id))
    }

    fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        self.with_reader(|c| read::list_keys(c, account, region, after, limit))
    }

    fn get_key_version(&self, id: &KeyId, version: u32) -> Result<Option<KeyVersion>, StoreError> {
        self.with_reader(|c| read::get_key_version(c, id, version))
    }

    fn list_key_versions(&self, id: &KeyId) -> Result<Vec<KeyVersion>, StoreError> {
        self.with_reader(|c| read::list_key_versions(c, id))
    }

    fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Versioned<Alias>>, StoreError> {
        self.with_reader(|c| read::get_alias(c, account, region, name))
    }

    fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError> {
        self.with_reader(|c| read::list_aliases(c, account, region, target, after, limit))
    }

    fn list_keys_due_for_rotation(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.with_reader(|c| read::due_keys(c, read::DUE_FOR_ROTATION, now, limit))
    }

    fn list_keys_due_for_deletion(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.with_reader(|c| read::due_keys(c, read::DUE_FOR_DELETION, now, limit))
    }

    fn list_keys_due_for_expiry(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.with_reader(|c| read::due_keys(c, read::DUE_FOR_EXPIRY, now, limit))
    }

    fn count_keys_by_state(&self) -> Result<Vec<(KeyState, u64)>, StoreError> {
        self.with_reader(|c| read::count_keys_by_state(c))
    }

    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let conn = self.writer.lock().map_err(|_| poisoned())?;
        write::try_lease(&conn, name, holder, now.0, until.0)
    }

    fn get_key_usage(&self, id: &KeyId) -> Result<Option<KeyUsage>, StoreError> {
        self.with_reader(|c| read::get_key_usage(c, id))
    }

    fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.with_reader(|c| read::get_account(c, id))
    }

    fn get_access_key(&self, id: &str) -> Result<Option<Versioned<AccessKey>>, StoreError> {
        self.with_reader(|c| read::get_access_key(c, id))
    }

    fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<Versioned<AccessKey>>, StoreError> {
        self.with_reader(|c| read::list_access_keys(c, account, user))
    }

    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.with_reader(|c| read::expired_sessions(c, now, limit))
    }

    fn get_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<User>>, StoreError> {
        self.with_reader(|c| read::get_user(c, account, name))
    }

    fn list_users(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.with_reader(|c| read::list_users(c, account, path_prefix, after, limit))
    }

    fn get_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Role>>, StoreError> {
        self.with_reader(|c| read::get_role(c, account, name))
    }

    fn list_roles(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError> {
        self.with_reader(|c| read::list_roles(c, account, path_prefix, after, limit))
    }

    fn get_grant(&self, key_id: &KeyId, grant_id: &str) -> Result<Option<Grant>, StoreError> {
        self.with_reader(|c| read::get_grant(c, key_id, grant_id))
    }

    fn list_grants(
        &self,
        key_id: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        self.with_reader(|c| read::list_grants(c, key_id, after, limit))
    }

    fn count_grants(&self, key_id: &KeyId) -> Result<usize, StoreError> {
        self.with_reader(|c| read::count_grants(c, key_id))
    }

    fn list_retirable_grants(
        &self,
        principal: &str,
        after: Option<(&KeyId, &str)>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        self.with_reader(|c| read::list_retirable_grants(c, principal, after, limit))
    }

    fn commit(&self, txn: Transaction) -> Result<(), StoreError> {
        if txn.writes.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer.lock().map_err(|_| poisoned())?;
        write::commit(&mut conn, &txn.writes)
    }
}

//! The SQLite schema, its migrations, and the connection settings the store depends on.
//!
//! `PRAGMA user_version` holds the schema version. Each migration is one SQL batch applied in
//! the same transaction as its version bump, so a crash mid-migration leaves the previous
//! version intact. A file whose version is newer than this build knows is refused rather than
//! misread: an older binary must never write into a newer schema.
//!
//! The settings are not trusted once set but read back: SQLite silently ignores a
//! `journal_mode` it cannot honour (an in-memory database, some network file systems), and
//! without WAL and `synchronous=FULL` an acknowledged commit may not survive a power loss.

use super::codec::db_err;
use crate::StoreError;
use rusqlite::{Connection, TransactionBehavior};
use std::time::Duration;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: u32 = 8;

/// `PRAGMA application_id` of a Strongroom database ("SRM1"), so that opening some other
/// application's SQLite file fails instead of adding our tables to it.
pub(crate) const APPLICATION_ID: i64 = 0x5352_4d31;

/// One step of the schema's history. Versions are consecutive from 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// The `user_version` after this step.
    pub(crate) version: u32,
    /// The SQL batch that performs it.
    pub(crate) sql: &'static str,
}

/// Every migration, oldest first. Append only: a released migration is never edited.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: V3,
    },
    Migration {
        version: 4,
        sql: V4,
    },
    Migration {
        version: 5,
        sql: V5,
    },
    Migration {
        version: 6,
        sql: V6,
    },
    Migration {
        version: 7,
        sql: V7,
    },
    Migration {
        version: 8,
        sql: V8,
    },
];

/// Version 1. STRICT tables make SQLite enforce the declared column types. Tags and versions
/// reference their key, aliases their target key and access keys their account, so the store
/// never holds a dangling reference; a write that would create one is a conflict.
const V1: &str = "
CREATE TABLE accounts (
    account_id    TEXT    NOT NULL PRIMARY KEY,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
    key_id          TEXT    NOT NULL PRIMARY KEY,
    arn             TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    description     TEXT    NOT NULL,
    key_spec        TEXT    NOT NULL,
    key_usage       TEXT    NOT NULL,
    origin          TEXT    NOT NULL,
    key_manager     TEXT    NOT NULL,
    key_state       TEXT    NOT NULL,
    current_version INTEGER NOT NULL,
    policy          TEXT    NOT NULL,
    revision        INTEGER NOT NULL CHECK (revision >= 1)
) STRICT;
CREATE INDEX keys_by_scope ON keys (account_id, region, key_id);

CREATE TABLE key_tags (
    key_id    TEXT NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE key_versions (
    key_id           TEXT    NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    wrapped_material BLOB    NOT NULL,
    PRIMARY KEY (key_id, version)
) STRICT;

CREATE TABLE aliases (
    account_id    TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    alias_name    TEXT    NOT NULL,
    target_key_id TEXT    NOT NULL REFERENCES keys (key_id),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    PRIMARY KEY (account_id, region, alias_name)
) STRICT;
CREATE INDEX aliases_by_target ON aliases (target_key_id, alias_name);

CREATE TABLE access_keys (
    access_key_id  TEXT    NOT NULL PRIMARY KEY,
    account_id     TEXT    NOT NULL REFERENCES accounts (account_id),
    principal_arn  TEXT    NOT NULL,
    wrapped_secret BLOB    NOT NULL,
    status         TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    revision       INTEGER NOT NULL CHECK (revision >= 1)
) STRICT;
CREATE INDEX access_keys_by_account ON access_keys (account_id);
";

/// Version 2: the key lifecycle (automatic and on-demand rotation, scheduled deletion) and
/// leases for background work.
///
/// Existing keys get no rotation, no on-demand rotations and no deletion; existing versions a
/// `NULL` rotation type (first material). Each pair of optional columns is set together or not
/// at all, which the CHECKs enforce (SQLite checks an added column's constraints against the
/// existing rows, which all pass). The partial indexes hold only the keys a due-query can
/// return, ordered as it returns them; the state literals are `KeyState::as_str` names, and
/// the queries must repeat them literally for SQLite to use the indexes.
const V2: &str = "
ALTER TABLE keys ADD COLUMN rotation_period_days INTEGER NULL;
ALTER TABLE keys ADD COLUMN next_rotation_at_ms INTEGER NULL
    CHECK ((rotation_period_days IS NULL) = (next_rotation_at_ms IS NULL));
ALTER TABLE keys ADD COLUMN on_demand_rotations INTEGER NOT NULL DEFAULT 0
    CHECK (on_demand_rotations >= 0);
ALTER TABLE keys ADD COLUMN deletion_date_ms INTEGER NULL;
ALTER TABLE keys ADD COLUMN pending_window_days INTEGER NULL
    CHECK ((deletion_date_ms IS NULL) = (pending_window_days IS NULL));

ALTER TABLE key_versions ADD COLUMN rotation_type TEXT NULL;

CREATE INDEX keys_due_for_rotation ON keys (next_rotation_at_ms, key_id)
    WHERE key_state = 'Enabled' AND next_rotation_at_ms IS NOT NULL;
CREATE INDEX keys_due_for_deletion ON keys (deletion_date_ms, key_id)
    WHERE key_state = 'PendingDeletion' AND deletion_date_ms IS NOT NULL;

CREATE TABLE leases (
    name          TEXT    NOT NULL PRIMARY KEY,
    holder        TEXT    NOT NULL,
    expires_at_ms INTEGER NOT NULL
) STRICT;
";

/// Version 3: the last use of each key (GetKeyLastUsage).
///
/// One row per key, created with the key and removed with it. `tracking_start_ms` is the
/// key's creation time, or, for the keys that exist when this migration runs, the time of the
/// upgrade: their earlier uses were never recorded, and reporting an earlier start would claim
/// otherwise. `'now'` is fixed for the duration of one statement, so every migrated key gets
/// the same instant; `unixepoch('subsec')` (SQLite 3.42 and later; the bundled SQLite is
/// newer) has millisecond precision, and the `CAST` makes it the INTEGER the STRICT column
/// requires. The last use is three columns set together or not at all, which the CHECK
/// enforces. The key is the primary key, so the cascade from `keys` is an index lookup, and
/// the small rows suit a table without rowid.
const V3: &str = "
CREATE TABLE key_usage (
    key_id            TEXT    NOT NULL PRIMARY KEY REFERENCES keys (key_id) ON DELETE CASCADE,
    tracking_start_ms INTEGER NOT NULL,
    operation         TEXT    NULL,
    used_at_ms        INTEGER NULL,
    request_id        TEXT    NULL,
    CHECK ((operation IS NULL) = (used_at_ms IS NULL)
       AND (used_at_ms IS NULL) = (request_id IS NULL))
) STRICT, WITHOUT ROWID;

INSERT INTO key_usage (key_id, tracking_start_ms)
    SELECT key_id, CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM keys;
";

/// Version 4: imported key material (BYOK).
///
/// What is known about a key's imported material: its keyed fingerprint, its expiry and
/// whether it is present now. Existing keys never had imported material, so all three are
/// `NULL`. The fingerprint and the presence flag are set together or not at all, the expiry
/// only with them (`NULL` with a fingerprint is "does not expire"), and the flag is 0 or 1;
/// the CHECK enforces it (SQLite checks it against the existing rows, which all pass). The
/// partial index holds only the keys the expiry due-query can return, ordered as it returns
/// them; its literals (the `KeyState::as_str` names and the flag) must be repeated by the
/// query for SQLite to use it.
const V4: &str = "
ALTER TABLE keys ADD COLUMN import_fingerprint BLOB NULL;
ALTER TABLE keys ADD COLUMN import_valid_to_ms INTEGER NULL;
ALTER TABLE keys ADD COLUMN import_present INTEGER NULL
    CHECK ((import_fingerprint IS NULL) = (import_present IS NULL)
       AND (import_fingerprint IS NOT NULL OR import_valid_to_ms IS NULL)
       AND (import_present IS NULL OR import_present IN (0, 1)));

CREATE INDEX keys_due_for_expiry ON keys (import_valid_to_ms, key_id)
    WHERE key_state IN ('Enabled', 'Disabled') AND import_present = 1
      AND import_valid_to_ms IS NOT NULL;
";

/// Version 5: several imported materials per key (rotation of imported keys).
///
/// One row per imported material version, part of the key aggregate like its tags: a key
/// write replaces them, and they go with the key (explicitly, and by the cascade). The
/// presence flag is 0 or 1; the expiry and rotation dates are optional. The partial index
/// holds only the materials the expiry due-query can return (present, with an expiry),
/// ordered by expiry; the query repeats its literals for SQLite to use it.
///
/// Each key's version 4 import columns become one row, whose version is the key's current
/// version (version 4 knew one material only, the current one) and which was never rotated
/// to. The columns are then set to `NULL` rather than dropped: all three `NULL` is the one
/// state version 4's CHECK accepts for "no import" besides a full set, so it holds for every
/// row, and `DROP COLUMN` would refuse columns named in that CHECK (and rewrite the table).
/// From version 5 on the store never reads them and never writes them (inserts leave them
/// at `NULL`, updates do not name them), so they stay `NULL`. Version 4's index
/// `keys_due_for_expiry` would hold no row any more and is dropped.
const V5: &str = "
CREATE TABLE key_imported_materials (
    key_id        TEXT    NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    fingerprint   BLOB    NOT NULL,
    valid_to_ms   INTEGER NULL,
    present       INTEGER NOT NULL CHECK (present IN (0, 1)),
    rotated_at_ms INTEGER NULL,
    PRIMARY KEY (key_id, version)
) STRICT, WITHOUT ROWID;

CREATE INDEX key_materials_due_for_expiry ON key_imported_materials (valid_to_ms, key_id)
    WHERE present = 1 AND valid_to_ms IS NOT NULL;

INSERT INTO key_imported_materials
    (key_id, version, fingerprint, valid_to_ms, present, rotated_at_ms)
    SELECT key_id, current_version, import_fingerprint, import_valid_to_ms, import_present, NULL
    FROM keys WHERE import_fingerprint IS NOT NULL;

UPDATE keys SET import_fingerprint = NULL, import_valid_to_ms = NULL, import_present = NULL
    WHERE import_fingerprint IS NOT NULL OR import_valid_to_ms IS NOT NULL
       OR import_present IS NOT NULL;

DROP INDEX keys_due_for_expiry;
";

/// Version 6: IAM users and roles, the owners of access keys, and grants.
///
/// A user or role is an aggregate like a key: its row, its tags and its inline policies share
/// one revision. Tags and policies are child tables, as a key's tags are, rather than an
/// encoded column: every other collection in an aggregate is stored that way, each entry
/// stays readable with plain SQL, and a write replaces the rows as it replaces a key's tags.
/// A principal is identified by its account and its name as stored, which updates and deletes
/// match exactly; `name_lower` makes names unique per account case-insensitively (IAM's rule)
/// and serves the case-insensitive lookups. It is generated from `name` by SQLite's `lower()`,
/// which folds ASCII only (IAM names are ASCII), so the folding has one definition and can
/// never disagree with the name. Users and roles reference their account, as access keys do,
/// and their tags and policies their user or role (cascading, like a key's tags). Policies
/// can be long, so their tables keep a rowid; tags are small, so theirs do not (as `key_tags`).
///
/// An access key's owner is a kind (`root`, `user` or `session`) and the columns of that kind:
/// the CHECK requires exactly those to be set and the others `NULL`. Existing keys are the
/// root's (the default, which the CHECK accepts for every existing row). A session keeps only
/// the digest of its token, never the token. The owner's names are not foreign keys: whether
/// a user with access keys may be deleted is the service's rule (IAM's DeleteConflict), and a
/// session's credentials last until they expire even if its role is deleted.
/// `access_keys_by_owner` serves the listing of one owner's keys, ordered by id, and makes
/// version 1's `access_keys_by_account`, its prefix, redundant; the partial index holds only
/// session keys, ordered as the expired-session query returns them, and the query repeats its
/// literal for SQLite to use it.
///
/// Grants are insert-only rows of their key, referencing it and cascading like its tags
/// (`DeleteKey` also removes them explicitly). A grant's operations are its permissions' wire
/// names joined by `,` (no name contains one), in the order given; its constraints are `NULL`
/// for none, else a versioned, length-prefixed encoding of the two optional maps (see
/// `grants::encode_constraints`), since encryption-context keys and values may contain any
/// character. Rows hold principal ARNs and constraints, too large for a table without rowid.
/// The primary key serves a key's grants in grant id order; the partial index serves the
/// grants a principal may retire, in (key, grant) order.
const V6: &str = "
CREATE TABLE users (
    account_id    TEXT    NOT NULL REFERENCES accounts (account_id),
    name          TEXT    NOT NULL,
    name_lower    TEXT    NOT NULL GENERATED ALWAYS AS (lower(name)) STORED,
    path          TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    arn           TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revision      INTEGER NOT NULL CHECK (revision >= 1),
    PRIMARY KEY (account_id, name)
) STRICT;
CREATE UNIQUE INDEX users_by_name_lower ON users (account_id, name_lower);

CREATE TABLE user_tags (
    account_id TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name, tag_key),
    FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE user_policies (
    account_id      TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    policy_name     TEXT NOT NULL,
    policy_document TEXT NOT NULL,
    PRIMARY KEY (account_id, user_name, policy_name),
    FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, name) ON DELETE CASCADE
) STRICT;

CREATE TABLE roles (
    account_id           TEXT    NOT NULL REFERENCES accounts (account_id),
    name                 TEXT    NOT NULL,
    name_lower           TEXT    NOT NULL GENERATED ALWAYS AS (lower(name)) STORED,
    path                 TEXT    NOT NULL,
    role_id              TEXT    NOT NULL,
    arn                  TEXT    NOT NULL,
    created_at_ms        INTEGER NOT NULL,
    description          TEXT    NOT NULL,
    max_session_duration INTEGER NOT NULL,
    trust_policy         TEXT    NOT NULL,
    revision             INTEGER NOT NULL CHECK (revision >= 1),
    PRIMARY KEY (account_id, name)
) STRICT;
CREATE UNIQUE INDEX roles_by_name_lower ON roles (account_id, name_lower);

CREATE TABLE role_tags (
    account_id TEXT NOT NULL,
    role_name  TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name, tag_key),
    FOREIGN KEY (account_id, role_name) REFERENCES roles (account_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TABLE role_policies (
    account_id      TEXT NOT NULL,
    role_name       TEXT NOT NULL,
    policy_name     TEXT NOT NULL,
    policy_document TEXT NOT NULL,
    PRIMARY KEY (account_id, role_name, policy_name),
    FOREIGN KEY (account_id, role_name) REFERENCES roles (account_id, name) ON DELETE CASCADE
) STRICT;

ALTER TABLE access_keys ADD COLUMN owner_kind TEXT NOT NULL DEFAULT 'root';
ALTER TABLE access_keys ADD COLUMN user_name TEXT NULL;
ALTER TABLE access_keys ADD COLUMN role_name TEXT NULL;
ALTER TABLE access_keys ADD COLUMN role_id TEXT NULL;
ALTER TABLE access_keys ADD COLUMN session_name TEXT NULL;
ALTER TABLE access_keys ADD COLUMN token_digest BLOB NULL;
ALTER TABLE access_keys ADD COLUMN expires_at_ms INTEGER NULL
    CHECK (CASE owner_kind
        WHEN 'root' THEN user_name IS NULL AND role_name IS NULL AND role_id IS NULL
            AND session_name IS NULL AND token_digest IS NULL AND expires_at_ms IS NULL
        WHEN 'user' THEN user_name IS NOT NULL AND role_name IS NULL AND role_id IS NULL
            AND session_name IS NULL AND token_digest IS NULL AND expires_at_ms IS NULL
        WHEN 'session' THEN user_name IS NULL AND role_name IS NOT NULL
            AND role_id IS NOT NULL AND session_name IS NOT NULL AND token_digest IS NOT NULL
            AND expires_at_ms IS NOT NULL
        ELSE 0 END);

CREATE INDEX access_keys_by_owner
    ON access_keys (account_id, owner_kind, user_name, access_key_id);
CREATE INDEX access_keys_expired_sessions ON access_keys (expires_at_ms, access_key_id)
    WHERE owner_kind = 'session';
DROP INDEX access_keys_by_account;

CREATE TABLE grants (
    key_id             TEXT    NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
    grant_id           TEXT    NOT NULL,
    name               TEXT    NULL,
    account_id         TEXT    NOT NULL,
    grantee_principal  TEXT    NOT NULL,
    retiring_principal TEXT    NULL,
    issuing_account    TEXT    NOT NULL,
    operations         TEXT    NOT NULL,
    constraints        BLOB    NULL,
    created_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (key_id, grant_id)
) STRICT;
CREATE INDEX grants_by_retiring_principal ON grants (retiring_principal, key_id, grant_id)
    WHERE retiring_principal IS NOT NULL;
";

/// Version 7: when each key's policy was last set (`Key::policy_updated_at`: CreateKey,
/// PutKeyPolicy).
///
/// Existing keys take their creation time. Before this version no principal could be bound
/// by a key policy, so a key's creation is a correct lower bound for when its policy was set;
/// the time of the upgrade, which version 3 gave the usage of existing keys, would claim the
/// policy changed then. SQLite adds a `NOT NULL` column only with a constant default (as
/// version 2's `on_demand_rotations` and version 6's `owner_kind`), and a default cannot name
/// another column, so the column is added with the default 0 and every existing row is then
/// set from its `created_at_ms` in the same transaction: no row keeps the default. The store
/// names the column in every insert and update of a key, so the default is never used after
/// this migration, and `NOT NULL` refuses a key written without the time.
const V7: &str = "
ALTER TABLE keys ADD COLUMN policy_updated_at_ms INTEGER NOT NULL DEFAULT 0;

UPDATE keys SET policy_updated_at_ms = created_at_ms;
";

/// Version 8: an index on the key state, so that counting keys by state (the
/// `strongroom_keys` gauge, read at every metrics scrape) scans this small index instead of
/// the key rows with their policies. The grouping query is answered from the index alone,
/// already in state order (a test checks the plan).
const V8: &str = "
CREATE INDEX keys_by_state ON keys (key_state);
";

/// Which connection is being configured: only the writer may switch the journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes.
    Writer,
    /// A read-only connection of the pool.
    Reader,
}

/// The settings of one connection, as SQLite reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// `PRAGMA journal_mode`, lowercase.
    pub(crate) journal_mode: String,
    /// `PRAGMA synchronous`: 2 is FULL.
    pub(crate) synchronous: i64,
    /// `PRAGMA foreign_keys`.
    pub(crate) foreign_keys: bool,
    /// `PRAGMA busy_timeout`, in milliseconds.
    pub(crate) busy_timeout_ms: i64,
}

/// `PRAGMA synchronous` value of FULL.
const SYNCHRONOUS_FULL: i64 = 2;

/// Applies the settings the store relies on, then reads them back and refuses the connection
/// if any did not take effect.
pub(crate) fn configure(conn: &Connection, role: Role, busy: Duration) -> Result<(), StoreError> {
    conn.busy_timeout(busy).map_err(db_err)?;
    if role == Role::Writer {
        // Answers the mode now in force; checked below with the others.
        let _: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db_err)?;
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(db_err)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(db_err)?;
    verify(&read_settings(conn)?, busy)
}

/// Reads the settings of `conn`.
pub(crate) fn read_settings(conn: &Connection) -> Result<Settings, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .map_err(db_err)
    };
    let int = |name: &str| -> Result<i64, StoreError> {
        conn.pragma_query_value(None, name, |row| row.get(0))
            .map_err(db_err)
    };
    Ok(Settings {
        journal_mode: text("journal_mode")?.to_ascii_lowercase(),
        synchronous: int("synchronous")?,
        foreign_keys: int("foreign_keys")? == 1,
        busy_timeout_ms: int("busy_timeout")?,
    })
}

/// Checks that `s` is what the store needs.
fn verify(s: &Settings, busy: Duration) -> Result<(), StoreError> {
    let refuse = |what: String| Err(StoreError::Unavailable(what));
    if s.journal_mode != "wal" {
        return refuse(format!(
            "journal_mode is {:?}, not \"wal\": the database must be a local file on a file \
             system that supports shared memory",
            s.journal_mode
        ));
    }
    if s.synchronous != SYNCHRONOUS_FULL {
        return refuse(format!("synchronous is {}, not FULL (2)", s.synchronous));
    }
    if !s.foreign_keys {
        return refuse("foreign_keys could not be enabled".to_owned());
    }
    let wanted = i64::try_from(busy.as_millis()).unwrap_or(i64::MAX);
    if s.busy_timeout_ms != wanted {
        return refuse(format!(
            "busy_timeout is {} ms, not {wanted}",
            s.busy_timeout_ms
        ));
    }
    Ok(())
}

/// Brings the schema of `conn` up to the last of `migrations`, one transaction per step, and
/// answers the resulting version. The version is read inside each step's write transaction,
/// so two processes opening the same new file do not both apply a step.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Migration]) -> Result<u32, StoreError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let current = check_identity(&tx)?;
        if current > latest {
            return Err(StoreError::Corrupt(format!(
                "the database schema version {current} is newer than this build supports \
                 ({latest}); run a newer Strongroom"
            )));
        }
        let Some(step) = migrations.iter().find(|m| m.version > current) else {
            return Ok(current);
        };
        if Some(step.version) != current.checked_add(1) {
            return Err(StoreError::Corrupt(format!(
                "no migration from schema version {current} to {}",
                current.saturating_add(1)
            )));
        }
        tx.execute_batch(step.sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", step.version)
            .map_err(db_err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
}

/// Answers the schema version of a Strongroom database (0 for a new, empty file) and refuses
/// any other file: one marked by another application, or one with tables but no version.
fn check_identity(conn: &Connection) -> Result<u32, StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db_err)?;
    let app: i64 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(db_err)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(db_err)?;
    let fresh = version == 0 && app == 0 && tables == 0;
    if !fresh && app != APPLICATION_ID {
        return Err(StoreError::Corrupt(format!(
            "not a Strongroom database (application_id {app:#x}, user_version {version})"
        )));
    }
    u32::try_from(version)
        .map_err(|_| StoreError::Corrupt(format!("invalid schema version {version}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_consecutive_from_one_and_end_at_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn wal_is_refused_where_sqlite_cannot_honour_it() {
        // An in-memory database answers journal_mode=memory to a request for WAL.
        let conn = Connection::open_in_memory().unwrap();
        let err = configure(&conn, Role::Writer, Duration::from_millis(100)).unwrap_err();
        match err {
            StoreError::Unavailable(m) => assert!(m.contains("journal_mode"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verify_names_each_missing_setting() {
        let busy = Duration::from_millis(250);
        let good = Settings {
            journal_mode: "wal".into(),
            synchronous: 2,
            foreign_keys: true,
            busy_timeout_ms: 250,
        };
        assert!(verify(&good, busy).is_ok());
        let cases = [
            (
                Settings {
                    synchronous: 1,
                    ..good.clone()
                },
                "synchronous",
            ),
            (
                Settings {
                    foreign_keys: false,
                    ..good.clone()
                },
                "foreign_keys",
            ),
            (
                Settings {
                    busy_timeout_ms: 0,
                    ..good.clone()
                },
                "busy_timeout",
            ),
            (
                Settings {
                    journal_mode: "delete".into(),
                    ..good.clone()
                },
                "journal_mode",
            ),
        ];
        for (s, name) in cases {
            match verify(&s, busy) {
                Err(StoreError::Unavailable(m)) => assert!(m.contains(name), "{m}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}

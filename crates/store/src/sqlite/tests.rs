//! Tests of what is particular to SQLite: connection settings, migrations, the file on disk,
//! corrupt contents, locking and the reader pool. The behaviour every backend shares is in
//! the conformance suite (`tests/sqlite.rs`).

use super::schema::{self, APPLICATION_ID, MIGRATIONS, Migration, SCHEMA_VERSION};
use super::{SqliteOptions, SqliteStore};
use crate::{Expect, Store, StoreError, Transaction, Write};
use proptest::prelude::*;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strongroom_core::alias::Alias;
use strongroom_core::identity::{AccessKey, AccessKeyStatus, Account};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{
    ImportedMaterial, Key, KeyManager, KeySpec, KeyUsage, KeyVersion, Origin, RotationSchedule,
    RotationType, ScheduledDeletion,
};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;
use tempfile::TempDir;

pub(super) fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    (dir, path)
}

pub(super) fn account() -> AccountId {
    AccountId::parse("111122223333").unwrap()
}

pub(super) fn region() -> Region {
    Region::parse("us-east-1").unwrap()
}

pub(super) fn key() -> Key {
    let id = KeyId::from_random(*uuid::Uuid::new_v4().as_bytes());
    Key {
        id,
        arn: format!("arn:aws:kms:us-east-1:111122223333:key/{id}"),
        account: account(),
        region: region(),
        created_at: Timestamp(1_700_000_000_000),
        description: "test".into(),
        spec: KeySpec::SymmetricDefault,
        usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AwsKms,
        manager: KeyManager::Customer,
        state: KeyState::Enabled,
        current_version: 1,
        tags: BTreeMap::from([("a".into(), "b".into())]),
        policy: "{}".into(),
        // As CreateKey sets it, and as migrating a key of an older version sets it (V7).
        policy_updated_at: Timestamp(1_700_000_000_000),
        rotation: None,
        on_demand_rotations: 0,
        deletion: None,
        imported: Vec::new(),
    }
}

pub(super) fn commit(store: &SqliteStore, writes: Vec<Write>) -> Result<(), StoreError> {
    store.commit(Transaction { writes })
}

pub(super) fn put(key: &Key, expect: Expect) -> Write {
    Write::PutKey {
        key: key.clone(),
        expect,
    }
}

pub(super) fn user_version(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn settings_are_in_force_on_every_connection() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let expected = schema::Settings {
        journal_mode: "wal".into(),
        synchronous: 2,
        foreign_keys: true,
        busy_timeout_ms: 5000,
    };
    let writer = store.writer.lock().unwrap();
    assert_eq!(schema::read_settings(&writer).unwrap(), expected);
    assert_eq!(store.readers.len(), 4);
    for reader in &store.readers {
        let reader = reader.lock().unwrap();
        assert_eq!(schema::read_settings(&reader).unwrap(), expected);
        let err = reader.execute("INSERT INTO accounts VALUES ('111122223333', 0)", []);
        assert!(err.is_err(), "a reader connection accepted a write");
    }
}

#[test]
fn schema_is_created_from_an_empty_file() {
    let (_dir, path) = temp_db();
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    drop(store);
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let conn = Connection::open(&path).unwrap();
    let app: i64 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    let mut st = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let want = [
        "access_keys",
        "accounts",
        "aliases",
        "grants",
        "key_imported_materials",
        "key_tags",
        "key_usage",
        "key_versions",
        "keys",
        "leases",
        "role_policies",
        "role_tags",
        "roles",
        "user_policies",
        "user_tags",
        "users",
    ];
    assert_eq!(tables, want);
}

#[test]
fn a_newer_schema_is_refused() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", newer).unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Corrupt(m)) => {
            assert!(
                m.contains(&format!("schema version {newer} is newer")),
                "{m}"
            );
        }
        other => panic!("opened a newer schema: {other:?}"),
    }
    assert_eq!(
        user_version(&path),
        i64::from(newer),
        "the refused file was changed"
    );
}

#[test]
fn another_applications_database_is_refused_and_left_alone() {
    let (_dir, path) = temp_db();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap();
    drop(conn);
    match SqliteStore::open(&path) {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("not a Strongroom database"), "{m}"),
        other => panic!("opened a foreign database: {other:?}"),
    }
    let conn = Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn a_failing_migration_rolls_back_with_its_version_bump() {
    let (_dir, path) = temp_db();
    let mut conn = Connection::open(&path).unwrap();
    let steps = [
        MIGRATIONS[0],
        Migration {
            version: 2,
            sql: "CREATE TABLE half_done (x INTEGER); SELECT no_such_function();",
        },
    ];
    assert!(schema::migrate(&mut conn, &steps).is_err());
    assert_eq!(schema::migrate(&mut conn, &steps[..1]).unwrap(), 1);
    let half: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(half, 0, "a failed migration left a table behind");
}

#[test]
fn a_gap_in_the_migrations_is_refused() {
    let (_dir, path) = temp_db();
    let mut conn = Connection::open(&path).unwrap();
    let steps = [
        MIGRATIONS[0],
        Migration {
            version: 3,
            sql: "SELECT 1;",
        },
    ];
    assert!(matches!(
        schema::migrate(&mut conn, &steps),
        Err(StoreError::Corrupt(_))
    ));
}

/// One record of every type, committed.
fn populate(store: &SqliteStore) -> (Key, KeyVersion, Alias, Account, AccessKey) {
    let key = Key {
        rotation: Some(RotationSchedule {
            period_days: 365,
            next_rotation_at: Timestamp(1_731_536_000_000),
        }),
        on_demand_rotations: 3,
        deletion: Some(ScheduledDeletion {
            deletion_date: Timestamp(1_700_604_800_000),
            pending_window_days: 7,
        }),
        ..key()
    };
    let version = KeyVersion {
        key_id: key.id,
        version: 1,
        created_at: key.created_at,
        wrapped_material: vec![1, 0, 2, 255],
        rotation_type: Some(RotationType::OnDemand),
    };
    let alias = Alias {
        account: account(),
        region: region(),
        name: AliasName::parse("alias/durable").unwrap(),
        target: key.id,
        created_at: key.created_at,
        updated_at: key.created_at,
    };
    let acct = Account {
        id: account(),
        created_at: key.created_at,
    };
    let ak = AccessKey {
        id: "AKIAIOSFODNN7EXAMPLE".into(),
        account: account(),
        principal_arn: "arn:aws:iam::111122223333:root".into(),
        owner: strongroom_core::identity::AccessKeyOwner::Root,
        wrapped_secret: vec![9; 48],
        status: AccessKeyStatus::Active,
        created_at: key.created_at,
    };
    let writes = vec![
        put(&key, Expect::Absent),
        Write::AddKeyVersion(version.clone()),
        Write::PutAlias {
            alias: alias.clone(),
            expect: Expect::Absent,
        },
        Write::AddAccount(acct.clone()),
        Write::PutAccessKey {
            access_key: ak.clone(),
            expect: Expect::Absent,
        },
    ];
    commit(store, writes).unwrap();
    (key, version, alias, acct, ak)
}

#[test]
fn everything_survives_closing_and_reopening() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (mut key, version, alias, acct, ak) = populate(&store);
    key.description = "second revision".into();
    commit(&store, vec![put(&key, Expect::Revision(1))]).unwrap();
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    let got = store.get_key(&key.id).unwrap().unwrap();
    assert_eq!((got.revision, got.value), (2, key.clone()));
    assert_eq!(store.list_key_versions(&key.id).unwrap(), vec![version]);
    let got = store.get_alias(&account(), &region(), &alias.name).unwrap();
    assert_eq!(got.map(|v| (v.revision, v.value)), Some((1, alias)));
    assert_eq!(store.get_account(&account()).unwrap(), Some(acct));
    let got = store.get_access_key(&ak.id).unwrap();
    assert_eq!(got.map(|v| (v.revision, v.value)), Some((1, ak)));
}

#[test]
fn unknown_stored_names_are_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (key, _, _, _, ak) = populate(&store);
    {
        let writer = store.writer.lock().unwrap();
        writer
            .execute_batch(
                "UPDATE keys SET key_state = 'Melting'; \
                 UPDATE access_keys SET status = 'Sleeping';",
            )
            .unwrap();
    }
    match store.get_key(&key.id) {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("Melting"), "{m}"),
        other => panic!("{other:?}"),
    }
    let listed = store.list_keys(&account(), &region(), None, 10);
    assert!(matches!(listed, Err(StoreError::Corrupt(_))), "{listed:?}");
    let got = store.get_access_key(&ak.id);
    assert!(matches!(got, Err(StoreError::Corrupt(m)) if m.contains("Sleeping")));
}

#[test]
fn a_poisoned_writer_makes_commits_unavailable_not_panics() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    std::thread::scope(|s| {
        let _ = s
            .spawn(|| {
                let _guard = store.writer.lock().unwrap();
                panic!("poison the writer");
            })
            .join();
    });
    let got = commit(&store, vec![put(&k, Expect::Absent)]);
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    assert!(store.get_key(&k.id).unwrap().is_none(), "reads still work");
}

#[test]
fn a_file_locked_by_another_process_is_unavailable_after_the_busy_timeout() {
    let (_dir, path) = temp_db();
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        readers: 1,
    };
    let store = SqliteStore::open_with(&path, options).unwrap();
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let k = key();
    let got = commit(&store, vec![put(&k, Expect::Absent)]);
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    other.execute_batch("COMMIT").unwrap();
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
}

#[test]
fn readers_see_the_last_commit_while_a_write_is_open() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
    let writer = store.writer.lock().unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; UPDATE keys SET description = 'uncommitted';")
        .unwrap();
    // The writer holds both the mutex and SQLite's write lock; readers neither wait nor see
    // the uncommitted change.
    let got = store.get_key(&k.id).unwrap().unwrap();
    assert_eq!(got.value.description, "test");
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn a_read_takes_a_free_reader_instead_of_waiting_for_a_busy_one() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        // Hold every reader but the first; the round-robin start moves over held ones.
        let held: Vec<_> = store.readers[1..]
            .iter()
            .map(|r| r.lock().unwrap())
            .collect();
        s.spawn(|| {
            for _ in 0..8 {
                store.get_account(&account()).unwrap();
            }
            done.send(()).unwrap();
        });
        let in_time = finished.recv_timeout(Duration::from_secs(10)).is_ok();
        drop(held);
        assert!(
            in_time,
            "a read waited for a busy reader while another was free"
        );
    });
}

#[cfg(unix)]
#[test]
fn the_database_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

fn arbitrary_key() -> impl Strategy<Value = Key> {
    let enums = (
        prop::sample::select(KeySpec::ALL),
        prop::sample::select(KeyUsage::ALL),
        prop::sample::select(Origin::ALL),
        prop::sample::select(KeyManager::ALL),
        prop::sample::select(KeyState::ALL),
    );
    let fields = (
        any::<i64>(),
        any::<String>(),
        any::<u32>(),
        prop::collection::btree_map(any::<String>(), any::<String>(), 0..8),
        any::<String>(),
        any::<i64>(),
    );
    let lifecycle = (
        prop::option::of((any::<u32>(), any::<i64>())),
        any::<u32>(),
        prop::option::of((any::<i64>(), any::<u32>())),
        // By version, so the versions are distinct and in order, as a key holds them.
        prop::collection::btree_map(
            any::<u32>(),
            (
                prop::collection::vec(any::<u8>(), 0..64),
                prop::option::of(any::<i64>()),
                any::<bool>(),
                prop::option::of(any::<i64>()),
            ),
            0..4,
        ),
    );
    (enums, fields, lifecycle).prop_map(|((spec, usage, origin, manager, state), f, l)| {
        let (created, description, current_version, tags, policy, policy_updated) = f;
        let (rotation, on_demand_rotations, deletion, imported) = l;
        Key {
            created_at: Timestamp(created),
            description,
            spec,
            usage,
            origin,
            manager,
            state,
            current_version,
            tags,
            policy,
            policy_updated_at: Timestamp(policy_updated),
            rotation: rotation.map(|(period_days, next)| RotationSchedule {
                period_days,
                next_rotation_at: Timestamp(next),
            }),
            on_demand_rotations,
            deletion: deletion.map(|(date, pending_window_days)| ScheduledDeletion {
                deletion_date: Timestamp(date),
                pending_window_days,
            }),
            imported: imported
                .into_iter()
                .map(
                    |(version, (fingerprint, valid_to, present, rotated_at))| ImportedMaterial {
                        version,
                        fingerprint,
                        valid_to: valid_to.map(Timestamp),
                        present,
                        rotated_at: rotated_at.map(Timestamp),
                    },
                )
                .collect(),
            ..key()
        }
    })
}

#[test]
fn arbitrary_keys_round_trip() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner
        .run(&arbitrary_key(), |k| {
            commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
            let got = store.get_key(&k.id).unwrap().unwrap();
            prop_assert_eq!(got.value, k);
            Ok(())
        })
        .unwrap();
}

#[test]
fn counting_keys_by_state_reads_only_the_state_index() {
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut st = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            super::read::COUNT_BY_STATE
        ))
        .unwrap();
    let plan: Vec<String> = st
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // The index alone, already grouped: no key row is read and nothing is sorted.
    assert_eq!(
        plan.join("\n"),
        "SCAN keys USING COVERING INDEX keys_by_state"
    );
}

#[test]
fn an_unknown_stored_state_is_corrupt_not_counted() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    let mut txn = Transaction::new();
    txn.push(Write::PutKey {
        key: k.clone(),
        expect: Expect::Absent,
    });
    store.commit(txn).unwrap();
    assert_eq!(
        store.count_keys_by_state().unwrap(),
        vec![(KeyState::Enabled, 1)]
    );
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE keys SET key_state = 'Melting'", [])
        .unwrap();
    assert!(matches!(
        store.count_keys_by_state(),
        Err(StoreError::Corrupt(m)) if m.contains("Melting")
    ));
}

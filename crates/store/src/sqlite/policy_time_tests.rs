//! SQLite tests of schema version 7 (when each key's policy was last set): the keys of a
//! version 6 database migrate with their creation time as their policy time, and the schema
//! refuses a key without one.

use super::SqliteStore;
use super::schema::{self, MIGRATIONS, SCHEMA_VERSION};
use super::tests::{commit, key, put, temp_db, user_version};
use crate::{Expect, Store, Write};
use rusqlite::Connection;
use std::path::Path;
use strongroom_core::key::{Key, RotationSchedule};
use strongroom_core::time::Timestamp;

/// Creates a database at schema version 6 holding `keys` (at revision 3), each with its tags
/// and its usage row, written with version 6's columns only.
fn create_v6(path: &Path, keys: &[&Key]) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..6]).unwrap(), 6);
    for key in keys {
        let id = key.id.to_string();
        conn.execute(
            "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
             key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
             rotation_period_days, next_rotation_at_ms, on_demand_rotations, revision) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, 3)",
            rusqlite::params![
                id,
                key.arn,
                key.account.as_str(),
                key.region.as_str(),
                key.created_at.0,
                key.description,
                key.spec.as_str(),
                key.usage.as_str(),
                key.origin.as_str(),
                key.manager.as_str(),
                key.state.as_str(),
                key.current_version,
                key.policy,
                key.rotation.map(|r| r.period_days),
                key.rotation.map(|r| r.next_rotation_at.0),
                key.on_demand_rotations
            ],
        )
        .unwrap();
        for (k, v) in &key.tags {
            conn.execute("INSERT INTO key_tags VALUES (?1, ?2, ?3)", [&id, k, v])
                .unwrap();
        }
        conn.execute(
            "INSERT INTO key_usage (key_id, tracking_start_ms) VALUES (?1, 5)",
            [&id],
        )
        .unwrap();
    }
}

/// A key as version 6 stored it: its policy time, which version 6 did not keep, is what the
/// migration must give it, its creation time.
fn old_key(created_at: i64) -> Key {
    let k = key();
    Key {
        created_at: Timestamp(created_at),
        policy_updated_at: Timestamp(created_at),
        ..k
    }
}

#[test]
fn a_version_6_database_migrates_its_keys_policy_time_as_their_creation() {
    let (_dir, path) = temp_db();
    let plain = old_key(1_600_000_000_000);
    let rotating = Key {
        rotation: Some(RotationSchedule {
            period_days: 90,
            next_rotation_at: Timestamp(1_700_000_000_000),
        }),
        on_demand_rotations: 2,
        policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
        ..old_key(-1)
    };
    create_v6(&path, &[&plain, &rotating]);
    assert_eq!(user_version(&path), 6);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    const { assert!(SCHEMA_VERSION >= 7) };
    for old in [&plain, &rotating] {
        let got = store.get_key(&old.id).unwrap().unwrap();
        assert_eq!(got.value.policy_updated_at, got.value.created_at);
        assert_eq!(got.value.policy_updated_at, old.created_at);
        assert_eq!((got.revision, &got.value), (3, old));
    }
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let differing: i64 = conn
        .query_row(
            "SELECT count(*) FROM keys WHERE policy_updated_at_ms IS NOT created_at_ms",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(differing, 0);
    drop(conn);

    // The migrated row takes a new policy time (PutKeyPolicy), and keeps its creation time.
    let store = SqliteStore::open(&path).unwrap();
    let mut next = plain.clone();
    next.policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"new"}]}"#.into();
    next.policy_updated_at = Timestamp(1_750_000_000_000);
    commit(&store, vec![put(&next, Expect::Revision(3))]).unwrap();
    let got = store.get_key(&plain.id).unwrap().unwrap();
    assert_eq!((got.revision, &got.value), (4, &next));
    assert_eq!(got.value.created_at, plain.created_at);
    let untouched = store.get_key(&rotating.id).unwrap().unwrap();
    assert_eq!((untouched.revision, &untouched.value), (3, &rotating));
}

#[test]
fn an_empty_version_6_database_migrates() {
    let (_dir, path) = temp_db();
    create_v6(&path, &[]);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let k = Key {
        policy_updated_at: Timestamp(42),
        ..key()
    };
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
    assert_eq!(store.get_key(&k.id).unwrap().unwrap().value, k);
}

#[test]
fn the_schema_refuses_a_key_without_a_policy_time() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    commit(
        &store,
        vec![Write::PutKey {
            key: k.clone(),
            expect: Expect::Absent,
        }],
    )
    .unwrap();
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let not_null: i64 = conn
        .query_row(
            "SELECT \"notnull\" FROM pragma_table_info('keys') \
             WHERE name = 'policy_updated_at_ms'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(not_null, 1);
    let id = k.id.to_string();
    let cleared = conn.execute(
        "UPDATE keys SET policy_updated_at_ms = NULL WHERE key_id = ?1",
        [&id],
    );
    assert!(cleared.is_err(), "the schema accepted a NULL policy time");
    let copied = conn.execute(
        "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
         key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
         policy_updated_at_ms, revision) \
         SELECT 'x' || key_id, arn, account_id, region, created_at_ms, description, key_spec, \
         key_usage, origin, key_manager, key_state, current_version, policy, NULL, 1 \
         FROM keys WHERE key_id = ?1",
        [&id],
    );
    assert!(
        copied.is_err(),
        "the schema accepted a key without a policy time"
    );
    let stored: i64 = conn
        .query_row(
            "SELECT policy_updated_at_ms FROM keys WHERE key_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, k.policy_updated_at.0);
}

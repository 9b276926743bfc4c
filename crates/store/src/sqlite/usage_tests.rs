//! SQLite tests of schema version 3 (key usage tracking): keys of a version 2 database, and of
//! the golden version 1 database, are tracked from the upgrade; the schema refuses half-set
//! usage rows and rows of missing keys; a damaged usage row reads as corrupt.

use super::SqliteStore;
use super::schema::{self, MIGRATIONS, SCHEMA_VERSION};
use super::tests::{commit, key, put, temp_db, user_version};
use crate::{Expect, KeyUsage, KeyUsageRecord, Store, StoreError, Write};
use rusqlite::Connection;
use std::path::Path;
use strongroom_core::ids::KeyId;
use strongroom_core::key::Key;
use strongroom_core::operation::Operation;
use strongroom_core::time::{Clock, SystemClock, Timestamp};

/// The version 1 database of the service's golden test, made by the first release.
const GOLDEN_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../service/tests/golden/v1/strongroom.db"
);

/// How far the upgrade's tracking start may be from the test's own reading of the clock.
const SLACK_MS: i64 = 60_000;

/// Creates a database at schema version 2 holding `keys`, written with version 2's columns
/// only, at revision 2.
fn create_v2(path: &Path, keys: &[Key]) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..2]).unwrap(), 2);
    for key in keys {
        conn.execute(
            "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
             key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
             rotation_period_days, next_rotation_at_ms, on_demand_rotations, deletion_date_ms, \
             pending_window_days, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
             ?11, ?12, ?13, NULL, NULL, 0, NULL, NULL, 2)",
            rusqlite::params![
                key.id.to_string(),
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
                key.policy
            ],
        )
        .unwrap();
        for (k, v) in &key.tags {
            conn.execute(
                "INSERT INTO key_tags VALUES (?1, ?2, ?3)",
                [&key.id.to_string(), k, v],
            )
            .unwrap();
        }
    }
}

/// Checks that `got` is tracked from an upgrade that ran between `before` and `after`, and
/// has no recorded use. Answers the tracking start.
fn tracked_from_the_upgrade(got: Option<KeyUsage>, before: Timestamp, after: Timestamp) -> i64 {
    let got = got.expect("a migrated key has usage tracking");
    assert_eq!(got.last, None, "a migrated key has a recorded use");
    let start = got.tracking_start.0;
    // The migration reads the same system clock as the test, at millisecond precision.
    assert!(
        before.0 - 1_000 <= start && start <= after.0 + 1_000,
        "tracking start {start} is not between {before:?} and {after:?}"
    );
    assert!((start - before.0).abs() < SLACK_MS);
    start
}

#[test]
fn a_version_2_database_migrates_and_tracks_its_keys_from_the_upgrade() {
    let (_dir, path) = temp_db();
    let (old, other) = (key(), key());
    create_v2(&path, &[old.clone(), other.clone()]);
    assert_eq!(user_version(&path), 2);

    let before = SystemClock.now();
    let store = SqliteStore::open(&path).unwrap();
    let after = SystemClock.now();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));

    // Not tracked from its creation (long before the upgrade), and one instant for all.
    let start = tracked_from_the_upgrade(store.get_key_usage(&old.id).unwrap(), before, after);
    assert_ne!(start, old.created_at.0);
    let other_start =
        tracked_from_the_upgrade(store.get_key_usage(&other.id).unwrap(), before, after);
    assert_eq!(
        start, other_start,
        "migrated keys share the upgrade's instant"
    );

    // The key itself is untouched, and takes uses and updates as a new one would.
    let got = store.get_key(&old.id).unwrap().unwrap();
    assert_eq!((got.revision, &got.value), (2, &old));
    let record = KeyUsageRecord {
        key_id: old.id,
        operation: Operation::Decrypt,
        at: Timestamp(start + 5),
        request_id: "after-upgrade".into(),
    };
    commit(&store, vec![Write::RecordKeyUsage(record.clone())]).unwrap();
    let mut changed = old.clone();
    changed.description = "changed after the upgrade".into();
    commit(&store, vec![put(&changed, Expect::Revision(2))]).unwrap();
    let got = store.get_key_usage(&old.id).unwrap().unwrap();
    assert_eq!((got.tracking_start.0, got.last), (start, Some(record)));

    // A key created after the upgrade is tracked from its own creation.
    let new = key();
    commit(&store, vec![put(&new, Expect::Absent)]).unwrap();
    let got = store.get_key_usage(&new.id).unwrap().unwrap();
    assert_eq!((got.tracking_start, got.last), (new.created_at, None));
}

#[test]
fn the_golden_version_1_database_tracks_its_keys_from_the_upgrade() {
    let (_dir, path) = temp_db();
    // A copy: the checked-in file must never be opened, let alone migrated.
    std::fs::copy(GOLDEN_V1, &path).unwrap();
    assert_eq!(user_version(&path), 1);
    let ids: Vec<String> = {
        let conn = Connection::open(&path).unwrap();
        let mut st = conn.prepare("SELECT key_id FROM keys").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert!(!ids.is_empty(), "the golden database has no keys");

    let before = SystemClock.now();
    let store = SqliteStore::open(&path).unwrap();
    let after = SystemClock.now();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    for id in ids {
        let id = KeyId::parse(&id).unwrap();
        tracked_from_the_upgrade(store.get_key_usage(&id).unwrap(), before, after);
    }
}

#[test]
fn the_schema_refuses_half_set_usage_rows_and_rows_of_missing_keys() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    for sql in [
        "UPDATE key_usage SET operation = 'Encrypt'",
        "UPDATE key_usage SET used_at_ms = 1",
        "UPDATE key_usage SET request_id = 'r'",
        "UPDATE key_usage SET operation = 'Encrypt', used_at_ms = 1",
        "UPDATE key_usage SET operation = 'Encrypt', request_id = 'r'",
        "UPDATE key_usage SET used_at_ms = 1, request_id = 'r'",
        "UPDATE key_usage SET tracking_start_ms = NULL",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        let m = err.to_string();
        assert!(m.contains("CHECK") || m.contains("NOT NULL"), "{sql}: {m}");
    }
    conn.execute(
        "UPDATE key_usage SET operation = 'Encrypt', used_at_ms = 1, request_id = 'r'",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE key_usage SET operation = NULL, used_at_ms = NULL, request_id = NULL",
        [],
    )
    .unwrap();

    let missing = KeyId::from_random([7; 16]).to_string();
    let err = conn
        .execute(
            "INSERT INTO key_usage (key_id, tracking_start_ms) VALUES (?1, 0)",
            [&missing],
        )
        .unwrap_err();
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");

    // The reference cascades, whether or not the store deletes the row itself.
    conn.execute_batch(
        "DELETE FROM key_tags; DELETE FROM key_versions; DELETE FROM aliases; DELETE FROM keys;",
    )
    .unwrap();
    let left: i64 = conn
        .query_row("SELECT count(*) FROM key_usage", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "usage rows outlived their keys");
}

#[test]
fn damaged_usage_rows_are_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (renamed, half, rowless) = (key(), key(), key());
    let mut writes = Vec::new();
    for k in [&renamed, &half, &rowless] {
        writes.push(put(k, Expect::Absent));
        writes.push(Write::RecordKeyUsage(KeyUsageRecord {
            key_id: k.id,
            operation: Operation::Encrypt,
            at: Timestamp(1),
            request_id: "r".into(),
        }));
    }
    commit(&store, writes).unwrap();
    {
        // Only a damaged file gets past the CHECK; ignoring it stands in for one.
        let writer = store.writer.lock().unwrap();
        writer
            .execute(
                "UPDATE key_usage SET operation = 'encrypt' WHERE key_id = ?1",
                [renamed.id.to_string()],
            )
            .unwrap();
        writer
            .execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        writer
            .execute(
                "UPDATE key_usage SET request_id = NULL WHERE key_id = ?1",
                [half.id.to_string()],
            )
            .unwrap();
        writer
            .execute_batch("PRAGMA ignore_check_constraints = OFF")
            .unwrap();
        writer
            .execute(
                "DELETE FROM key_usage WHERE key_id = ?1",
                [rowless.id.to_string()],
            )
            .unwrap();
    }
    for (id, want) in [
        (renamed.id, "\"encrypt\""),
        (half.id, "set together"),
        (rowless.id, "no usage row"),
    ] {
        match store.get_key_usage(&id) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{want}: {other:?}"),
        }
    }
    // The key records themselves still read.
    assert!(store.get_key(&rowless.id).unwrap().is_some());
}

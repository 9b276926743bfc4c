//! SQLite tests of schema version 2 (the key lifecycle): databases made at version 1 migrate
//! with their records intact, the due-queries use their partial indexes, the schema refuses
//! half-set pairs, unknown stored rotation types are corrupt, and leases hold across two
//! stores on one file.

use super::read::{DUE_FOR_DELETION, DUE_FOR_ROTATION};
use super::schema::{self, MIGRATIONS, SCHEMA_VERSION};
use super::tests::{account, commit, key, put, region, temp_db, user_version};
use super::{SqliteOptions, SqliteStore};
use crate::{Expect, Store, StoreError, Write};
use rusqlite::Connection;
use std::path::Path;
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AliasName, KeyId};
use strongroom_core::key::{Key, KeyVersion, RotationSchedule, RotationType};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// The version 1 database of the service's golden test, made by the first release.
const GOLDEN_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../service/tests/golden/v1/strongroom.db"
);

/// Creates a database at schema version 1 holding `key` with a tag, two versions and an
/// alias, written with version 1's columns only.
fn create_v1(path: &Path, key: &Key) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..1]).unwrap(), 1);
    let id = key.id.to_string();
    conn.execute(
        "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
         key_spec, key_usage, origin, key_manager, key_state, current_version, policy, revision) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 3)",
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
            key.policy
        ],
    )
    .unwrap();
    for (k, v) in &key.tags {
        conn.execute("INSERT INTO key_tags VALUES (?1, ?2, ?3)", [&id, k, v])
            .unwrap();
    }
    for v in 1..=2 {
        conn.execute(
            "INSERT INTO key_versions VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, v, key.created_at.0 + v, vec![v as u8; 40]],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO aliases VALUES ('111122223333', 'us-east-1', 'alias/old', ?1, 5, 6, 1)",
        [&id],
    )
    .unwrap();
}

#[test]
fn a_version_1_database_migrates_with_its_records_intact() {
    let (_dir, path) = temp_db();
    let old = Key {
        current_version: 2,
        ..key()
    };
    create_v1(&path, &old);
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let got = store.get_key(&old.id).unwrap().unwrap();
    // The key as version 1 held it, with the new fields at their defaults.
    assert_eq!((got.revision, &got.value), (3, &old));
    assert_eq!(
        (
            got.value.rotation,
            got.value.on_demand_rotations,
            got.value.deletion
        ),
        (None, 0, None)
    );
    let versions = store.list_key_versions(&old.id).unwrap();
    let want: Vec<KeyVersion> = (1..=2)
        .map(|v| KeyVersion {
            key_id: old.id,
            version: v,
            created_at: Timestamp(old.created_at.0 + i64::from(v)),
            wrapped_material: vec![v as u8; 40],
            rotation_type: None,
        })
        .collect();
    assert_eq!(versions, want);
    let name = AliasName::parse("alias/old").unwrap();
    let alias = store.get_alias(&account(), &region(), &name).unwrap();
    assert_eq!(
        alias.map(|a| (a.revision, a.value.target)),
        Some((1, old.id))
    );

    // Migrated rows take the new fields and leave the due-queries' indexes consistent.
    let mut next = got.value;
    next.rotation = Some(RotationSchedule {
        period_days: 90,
        next_rotation_at: Timestamp(10),
    });
    commit(&store, vec![put(&next, Expect::Revision(3))]).unwrap();
    let due = store.list_keys_due_for_rotation(Timestamp(10), 10).unwrap();
    assert_eq!(due, vec![old.id]);
    assert!(
        store
            .try_lease("scheduler", "node-a", Timestamp(0), Timestamp(5))
            .unwrap()
    );
}

#[test]
fn the_golden_version_1_database_migrates_with_its_records_intact() {
    let (_dir, path) = temp_db();
    // A copy: the checked-in file must never be opened, let alone migrated.
    std::fs::copy(GOLDEN_V1, &path).unwrap();
    assert_eq!(user_version(&path), 1);
    // What version 1 holds, read before the migration.
    let conn = Connection::open(&path).unwrap();
    let mut st = conn
        .prepare(
            "SELECT key_id, arn, key_state, current_version, policy, revision FROM keys \
             ORDER BY key_id",
        )
        .unwrap();
    type Row = (String, String, String, u32, String, i64);
    let before: Vec<Row> = st
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let versions: i64 = conn
        .query_row("SELECT count(*) FROM key_versions", [], |r| r.get(0))
        .unwrap();
    drop(st);
    drop(conn);
    assert!(
        !before.is_empty() && versions > 0,
        "the golden database is empty"
    );

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let mut listed_versions = 0;
    for (id, arn, state, current_version, policy, revision) in before {
        let id = KeyId::parse(&id).unwrap();
        let got = store.get_key(&id).unwrap().unwrap();
        assert_eq!(i64::try_from(got.revision).unwrap(), revision);
        let k = got.value;
        assert_eq!(
            (k.arn, k.state.as_str(), k.current_version, k.policy),
            (arn, state.as_str(), current_version, policy)
        );
        assert_eq!(
            (k.rotation, k.on_demand_rotations, k.deletion, k.imported),
            (None, 0, None, Vec::new())
        );
        for v in store.list_key_versions(&id).unwrap() {
            assert_eq!(v.rotation_type, None);
            listed_versions += 1;
        }
    }
    assert_eq!(listed_versions, versions);
    let golden = AliasName::parse("alias/golden").unwrap();
    assert!(
        store
            .get_alias(&account(), &region(), &golden)
            .unwrap()
            .is_some()
    );
}

#[test]
fn due_queries_use_their_partial_indexes_in_order() {
    // The queries name the states literally; they must be the names the codec stores.
    assert_eq!(KeyState::Enabled.as_str(), "Enabled");
    assert_eq!(KeyState::PendingDeletion.as_str(), "PendingDeletion");
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    assert_searches_index(&conn, DUE_FOR_ROTATION, "keys_due_for_rotation");
    assert_searches_index(&conn, DUE_FOR_DELETION, "keys_due_for_deletion");
}

/// Checks that the due-query `sql` searches the partial index `index` and does not sort.
pub(super) fn assert_searches_index(conn: &Connection, sql: &str, index: &str) {
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let plan: Vec<String> = st
        .query_map([0, 10], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    // "USING INDEX" or, if the index holds every column read, "USING COVERING INDEX".
    let searched =
        plan.starts_with("SEARCH keys USING") && plan.contains(&format!("INDEX {index} "));
    assert!(searched, "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "the query sorts: {plan}");
}

#[test]
fn the_schema_refuses_half_set_lifecycle_pairs() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE keys SET rotation_period_days = 365",
        "UPDATE keys SET next_rotation_at_ms = 0",
        "UPDATE keys SET deletion_date_ms = 0",
        "UPDATE keys SET pending_window_days = 7",
        "UPDATE keys SET on_demand_rotations = -1",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{sql}: {err}");
    }
}

#[test]
fn half_set_pairs_and_unknown_rotation_types_in_the_file_are_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    let v = KeyVersion {
        key_id: k.id,
        version: 1,
        created_at: k.created_at,
        wrapped_material: vec![1; 8],
        rotation_type: Some(RotationType::Automatic),
    };
    commit(
        &store,
        vec![put(&k, Expect::Absent), Write::AddKeyVersion(v)],
    )
    .unwrap();
    {
        // Only a damaged file gets past the CHECKs; ignoring them stands in for one.
        let writer = store.writer.lock().unwrap();
        writer
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON; \
                 UPDATE keys SET rotation_period_days = 365; \
                 UPDATE key_versions SET rotation_type = 'SIDEWAYS'; \
                 PRAGMA ignore_check_constraints = OFF;",
            )
            .unwrap();
    }
    match store.get_key(&k.id) {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("rotation"), "{m}"),
        other => panic!("{other:?}"),
    }
    for got in [
        store.get_key_version(&k.id, 1).map(|_| ()),
        store.list_key_versions(&k.id).map(|_| ()),
    ] {
        assert!(
            matches!(got, Err(StoreError::Corrupt(ref m)) if m.contains("SIDEWAYS")),
            "{got:?}"
        );
    }
}

#[test]
fn delete_key_leaves_no_rows_behind() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (doomed, kept) = (key(), key());
    let mut writes = vec![put(&doomed, Expect::Absent), put(&kept, Expect::Absent)];
    for (k, name) in [(&doomed, "alias/doomed"), (&kept, "alias/kept")] {
        writes.push(Write::AddKeyVersion(KeyVersion {
            key_id: k.id,
            version: 1,
            created_at: k.created_at,
            wrapped_material: vec![2; 8],
            rotation_type: None,
        }));
        writes.push(Write::PutAlias {
            alias: Alias {
                account: account(),
                region: region(),
                name: AliasName::parse(name).unwrap(),
                target: k.id,
                created_at: k.created_at,
                updated_at: k.created_at,
            },
            expect: Expect::Absent,
        });
    }
    commit(&store, writes).unwrap();
    let delete = Write::DeleteKey {
        id: doomed.id,
        revision: 1,
    };
    commit(&store, vec![delete]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let count = |table: &str, column: &str, id: &KeyId| -> i64 {
        let sql = format!("SELECT count(*) FROM {table} WHERE {column} = ?1");
        conn.query_row(&sql, [id.to_string()], |r| r.get(0))
            .unwrap()
    };
    for (table, column) in [
        ("keys", "key_id"),
        ("key_tags", "key_id"),
        ("key_versions", "key_id"),
        ("key_usage", "key_id"),
        ("aliases", "target_key_id"),
    ] {
        assert_eq!(
            count(table, column, &doomed.id),
            0,
            "{table} rows of the deleted key"
        );
        assert_eq!(
            count(table, column, &kept.id),
            1,
            "{table} rows of the kept key"
        );
    }
}

#[test]
fn two_stores_on_one_file_share_leases() {
    let (_dir, path) = temp_db();
    let options = SqliteOptions {
        readers: 1,
        ..SqliteOptions::default()
    };
    let (a, b) = (
        SqliteStore::open_with(&path, options).unwrap(),
        SqliteStore::open_with(&path, options).unwrap(),
    );
    let (now, until) = (Timestamp(1_000), Timestamp(2_000));
    let results: Vec<bool> = std::thread::scope(|s| {
        let ta = s.spawn(|| a.try_lease("scheduler", "node-a", now, until).unwrap());
        let tb = s.spawn(|| b.try_lease("scheduler", "node-b", now, until).unwrap());
        vec![ta.join().unwrap(), tb.join().unwrap()]
    });
    assert_eq!(results.iter().filter(|won| **won).count(), 1, "{results:?}");
    let (winner, loser) = if results[0] {
        (&a, "node-b")
    } else {
        (&b, "node-a")
    };
    let holder = if results[0] { "node-a" } else { "node-b" };
    assert!(
        winner
            .try_lease("scheduler", holder, Timestamp(1_500), Timestamp(3_000))
            .unwrap()
    );
    assert!(
        !a.try_lease("scheduler", loser, Timestamp(2_999), Timestamp(4_000))
            .unwrap()
    );
    assert!(
        b.try_lease("scheduler", loser, Timestamp(3_000), Timestamp(4_000))
            .unwrap()
    );
}

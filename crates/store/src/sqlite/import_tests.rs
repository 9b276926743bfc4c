//! SQLite tests of imported key material: schema version 4 (keys of a version 3 database
//! migrate without imported material) and version 5 (one table row per material: a version
//! 4 key's material becomes one entry, the schema refuses invalid rows, damaged ones read as
//! corrupt, the expiry due-query searches its partial index, and `DeleteKeyVersion` and
//! `DeleteKey` touch what they should and nothing else).

use super::SqliteStore;
use super::read::DUE_FOR_EXPIRY;
use super::schema::{self, MIGRATIONS, SCHEMA_VERSION};
use super::tests::{commit, key, put, temp_db, user_version};
use crate::{Expect, KeyUsageRecord, Store, StoreError, Write};
use rusqlite::Connection;
use std::path::Path;
use strongroom_core::ids::KeyId;
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion, RotationSchedule};
use strongroom_core::operation::Operation;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

fn material(version: u32, valid_to: Option<i64>, present: bool) -> ImportedMaterial {
    ImportedMaterial {
        version,
        fingerprint: vec![0xa5; 32],
        valid_to: valid_to.map(Timestamp),
        present,
        rotated_at: None,
    }
}

fn version(key: &Key, v: u32) -> KeyVersion {
    KeyVersion {
        key_id: key.id,
        version: v,
        created_at: Timestamp(key.created_at.0 + i64::from(v)),
        wrapped_material: vec![u8::try_from(v).unwrap(); 40],
        rotation_type: None,
    }
}

/// Creates a database at schema version 3 holding `key` (at revision 4) with its tags, a
/// usage row with a recorded use and two versions, written with version 3's columns only.
fn create_v3(path: &Path, key: &Key) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..3]).unwrap(), 3);
    let id = key.id.to_string();
    let rotation = key.rotation.unwrap();
    conn.execute(
        "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
         key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
         rotation_period_days, next_rotation_at_ms, on_demand_rotations, deletion_date_ms, \
         pending_window_days, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
         ?11, ?12, ?13, ?14, ?15, ?16, NULL, NULL, 4)",
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
            rotation.period_days,
            rotation.next_rotation_at.0,
            key.on_demand_rotations
        ],
    )
    .unwrap();
    for (k, v) in &key.tags {
        conn.execute("INSERT INTO key_tags VALUES (?1, ?2, ?3)", [&id, k, v])
            .unwrap();
    }
    for v in 1..=2 {
        let v = version(key, v);
        conn.execute(
            "INSERT INTO key_versions VALUES (?1, ?2, ?3, ?4, 'ON_DEMAND')",
            rusqlite::params![id, v.version, v.created_at.0, v.wrapped_material],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO key_usage VALUES (?1, 5, 'Decrypt', 7, 'req-1')",
        [&id],
    )
    .unwrap();
}

#[test]
fn a_version_3_database_migrates_without_imported_material() {
    let (_dir, path) = temp_db();
    let old = Key {
        current_version: 2,
        on_demand_rotations: 1,
        rotation: Some(RotationSchedule {
            period_days: 365,
            next_rotation_at: Timestamp(1_800_000_000_000),
        }),
        ..key()
    };
    create_v3(&path, &old);
    assert_eq!(user_version(&path), 3);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    const { assert!(SCHEMA_VERSION >= 7) };
    let got = store.get_key(&old.id).unwrap().unwrap();
    assert_eq!((got.revision, &got.value), (4, &old));
    assert_eq!(got.value.imported, vec![]);
    let versions = store.list_key_versions(&old.id).unwrap();
    assert_eq!(versions.len(), 2);
    let usage = store.get_key_usage(&old.id).unwrap().unwrap();
    assert_eq!(
        (usage.tracking_start, usage.last.map(|u| u.request_id)),
        (Timestamp(5), Some("req-1".to_owned()))
    );
    assert_eq!(
        store
            .list_keys_due_for_expiry(Timestamp(i64::MAX), 10)
            .unwrap(),
        vec![]
    );

    // The migrated row takes imported material, which the expiry query then finds.
    let mut next = got.value;
    next.imported = vec![material(2, Some(10), true)];
    commit(&store, vec![put(&next, Expect::Revision(4))]).unwrap();
    assert_eq!(store.get_key(&old.id).unwrap().unwrap().value, next);
    assert_eq!(
        store.list_keys_due_for_expiry(Timestamp(10), 10).unwrap(),
        vec![old.id]
    );
    assert_eq!(
        store.list_keys_due_for_expiry(Timestamp(9), 10).unwrap(),
        vec![]
    );
}

/// Version 4's import columns of a key: fingerprint, expiry, presence flag.
type V4Import = (Vec<u8>, Option<i64>, i64);

/// Creates a database at schema version 4 holding `keys` (at revision 3), each with a usage
/// row, one version and a tag, and the given version 4 import columns.
fn create_v4(path: &Path, keys: &[(&Key, Option<V4Import>)]) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..4]).unwrap(), 4);
    for (key, import) in keys {
        let id = key.id.to_string();
        let (fingerprint, valid_to, present) = import
            .clone()
            .map_or((None, None, None), |i| (Some(i.0), i.1, Some(i.2)));
        conn.execute(
            "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
             key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
             on_demand_rotations, import_fingerprint, import_valid_to_ms, import_present, \
             revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, ?16, ?17, 3)",
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
                key.on_demand_rotations,
                fingerprint,
                valid_to,
                present
            ],
        )
        .unwrap();
        for (k, v) in &key.tags {
            conn.execute("INSERT INTO key_tags VALUES (?1, ?2, ?3)", [&id, k, v])
                .unwrap();
        }
        let v = version(key, key.current_version);
        conn.execute(
            "INSERT INTO key_versions VALUES (?1, ?2, ?3, ?4, NULL)",
            rusqlite::params![id, v.version, v.created_at.0, v.wrapped_material],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO key_usage VALUES (?1, 5, NULL, NULL, NULL)",
            [&id],
        )
        .unwrap();
    }
}

/// How many keys still have a version 4 import column set.
fn legacy_columns_set(conn: &Connection) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM keys WHERE import_fingerprint IS NOT NULL \
         OR import_valid_to_ms IS NOT NULL OR import_present IS NOT NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_version_4_database_migrates_each_imported_material_into_one_entry() {
    let (_dir, path) = temp_db();
    let external = |state: KeyState, current_version: u32| Key {
        origin: strongroom_core::key::Origin::External,
        state,
        current_version,
        ..key()
    };
    let expiring = external(KeyState::Enabled, 3);
    let deleted = external(KeyState::PendingImport, 1);
    let waiting = external(KeyState::PendingImport, 1);
    let generated = key();
    create_v4(
        &path,
        &[
            (&expiring, Some((vec![1; 32], Some(10), 1))),
            (&deleted, Some((vec![0, 2], None, 0))),
            (&waiting, None),
            (&generated, None),
        ],
    );
    assert_eq!(user_version(&path), 4);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    let entry = |version, fingerprint, valid_to: Option<i64>, present| ImportedMaterial {
        version,
        fingerprint,
        valid_to: valid_to.map(Timestamp),
        present,
        rotated_at: None,
    };
    for (k, imported) in [
        (&expiring, vec![entry(3, vec![1; 32], Some(10), true)]),
        (&deleted, vec![entry(1, vec![0, 2], None, false)]),
        (&waiting, vec![]),
        (&generated, vec![]),
    ] {
        let got = store.get_key(&k.id).unwrap().unwrap();
        let want = Key {
            imported,
            ..k.clone()
        };
        assert_eq!((got.revision, got.value), (3, want), "{}", k.id);
        assert_eq!(store.list_key_versions(&k.id).unwrap().len(), 1);
    }
    assert_eq!(
        store.list_keys_due_for_expiry(Timestamp(10), 10).unwrap(),
        vec![expiring.id]
    );
    assert_eq!(
        store.list_keys_due_for_expiry(Timestamp(9), 10).unwrap(),
        vec![]
    );

    // The version 4 columns are cleared, their index is gone, and writes leave them NULL.
    let mut next = store.get_key(&expiring.id).unwrap().unwrap().value;
    next.imported.push(entry(4, vec![4; 32], None, true));
    let fresh = Key {
        imported: vec![entry(1, vec![5; 32], Some(1), true)],
        ..external(KeyState::Enabled, 1)
    };
    commit(
        &store,
        vec![put(&next, Expect::Revision(3)), put(&fresh, Expect::Absent)],
    )
    .unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    assert_eq!(legacy_columns_set(&conn), 0);
    let old_index: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'keys_due_for_expiry'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_index, 0);
}

#[test]
fn the_schema_refuses_invalid_imported_materials() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = Key {
        imported: vec![material(1, Some(5), true)],
        ..key()
    };
    commit(&store, vec![put(&k, Expect::Absent)]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    let id = k.id.to_string();
    for (sql, want) in [
        ("UPDATE key_imported_materials SET present = 2", "CHECK"),
        ("UPDATE key_imported_materials SET present = -1", "CHECK"),
        (
            "UPDATE key_imported_materials SET present = NULL",
            "NOT NULL",
        ),
        (
            "UPDATE key_imported_materials SET fingerprint = NULL",
            "NOT NULL",
        ),
        (
            "UPDATE key_imported_materials SET version = NULL",
            "NOT NULL",
        ),
        (
            "UPDATE key_imported_materials SET present = 'yes'",
            "cannot store",
        ),
        (
            "UPDATE key_imported_materials SET fingerprint = 'text'",
            "cannot store",
        ),
        (
            "UPDATE key_imported_materials SET valid_to_ms = 'soon'",
            "cannot store",
        ),
        (
            "UPDATE key_imported_materials SET rotated_at_ms = 1.5",
            "cannot store",
        ),
        (
            "INSERT INTO key_imported_materials VALUES \
             ('00000000-0000-4000-8000-000000000000', 1, x'00', NULL, 1, NULL)",
            "FOREIGN KEY",
        ),
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains(want), "{sql}: {err}");
    }
    let duplicate = conn
        .execute(
            "INSERT INTO key_imported_materials VALUES (?1, 1, x'00', NULL, 0, NULL)",
            [&id],
        )
        .unwrap_err();
    assert!(duplicate.to_string().contains("UNIQUE"), "{duplicate}");
    // Writing a key with two materials of one version fails as a whole, as a conflict.
    let store = SqliteStore::open(&path).unwrap();
    let twice = Key {
        imported: vec![material(2, None, true), material(2, None, false)],
        ..k.clone()
    };
    assert!(matches!(
        commit(&store, vec![put(&twice, Expect::Revision(1))]),
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.get_key(&k.id).unwrap().unwrap().value, k);
}

#[test]
fn damaged_imported_materials_are_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (flag, negative) = (key(), key());
    let mut writes = Vec::new();
    for k in [&flag, &negative] {
        let k = Key {
            imported: vec![material(1, Some(1), true)],
            ..k.clone()
        };
        writes.push(put(&k, Expect::Absent));
    }
    commit(&store, writes).unwrap();
    {
        // Only a damaged file gets past the CHECK; ignoring it stands in for one.
        let writer = store.writer.lock().unwrap();
        writer
            .execute_batch("PRAGMA ignore_check_constraints = ON")
            .unwrap();
        for (sql, k) in [
            (
                "UPDATE key_imported_materials SET present = 2 WHERE key_id = ?1",
                &flag,
            ),
            (
                "UPDATE key_imported_materials SET version = -1 WHERE key_id = ?1",
                &negative,
            ),
        ] {
            writer.execute(sql, [k.id.to_string()]).unwrap();
        }
        writer
            .execute_batch("PRAGMA ignore_check_constraints = OFF")
            .unwrap();
    }
    for (k, want) in [(&flag, "present flag 2"), (&negative, "key version -1")] {
        match store.get_key(&k.id) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{want}: {other:?}"),
        }
    }
    match store.list_keys(&flag.account, &flag.region, None, 10) {
        Err(StoreError::Corrupt(_)) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_expiry_query_searches_its_partial_index_then_each_key() {
    // The query names the excluded state literally; it must be the name the codec stores.
    assert_eq!(KeyState::PendingDeletion.as_str(), "PendingDeletion");
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let mut st = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {DUE_FOR_EXPIRY}"))
        .unwrap();
    let plan: Vec<String> = st
        .query_map([0, 10], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let text = plan.join("\n");
    // The materials come from a range of the partial index (not a scan of the table), each
    // one's key by its primary key. Grouping by key and ordering by the earliest expiry
    // cannot follow the index's order (a key's earliest due material may come after other
    // keys' later ones), so SQLite sorts: the due materials only, not the table.
    let [materials, keys, sorts @ ..] = plan.as_slice() else {
        panic!("{text}");
    };
    assert!(
        materials.starts_with("SEARCH m USING ")
            && materials.contains("INDEX key_materials_due_for_expiry (valid_to_ms"),
        "{text}"
    );
    assert!(
        keys.starts_with("SEARCH k USING ") && keys.ends_with("(key_id=?)"),
        "{text}"
    );
    assert!(
        sorts.iter().all(|s| s.starts_with("USE TEMP B-TREE FOR ")),
        "{text}"
    );
}

#[test]
fn delete_key_version_and_delete_key_touch_only_their_rows() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let with_materials = |k: Key| Key {
        current_version: 2,
        imported: vec![material(1, Some(1), false), material(2, None, true)],
        ..k
    };
    let (doomed, kept, gone) = (
        with_materials(key()),
        with_materials(key()),
        with_materials(key()),
    );
    let mut writes = Vec::new();
    for k in [&doomed, &kept, &gone] {
        writes.push(put(k, Expect::Absent));
        writes.push(Write::AddKeyVersion(version(k, 1)));
        writes.push(Write::AddKeyVersion(version(k, 2)));
        writes.push(Write::RecordKeyUsage(KeyUsageRecord {
            key_id: k.id,
            operation: Operation::Encrypt,
            at: Timestamp(3),
            request_id: "r".into(),
        }));
    }
    commit(&store, writes).unwrap();
    commit(
        &store,
        vec![Write::DeleteKeyVersion {
            id: doomed.id,
            version: 1,
        }],
    )
    .unwrap();
    // A missing version, or key, has nothing to delete.
    let missing = KeyId::from_random([9; 16]);
    for (id, version) in [(doomed.id, 1), (doomed.id, 3), (missing, 1)] {
        commit(&store, vec![Write::DeleteKeyVersion { id, version }]).unwrap();
    }
    commit(
        &store,
        vec![Write::DeleteKey {
            id: gone.id,
            revision: 1,
        }],
    )
    .unwrap();
    let got = store.get_key(&doomed.id).unwrap().unwrap();
    assert_eq!((got.revision, got.value), (1, doomed.clone()));
    drop(store);

    let conn = Connection::open(&path).unwrap();
    let count = |table: &str, id: &KeyId| -> i64 {
        let sql = format!("SELECT count(*) FROM {table} WHERE key_id = ?1");
        conn.query_row(&sql, [id.to_string()], |r| r.get(0))
            .unwrap()
    };
    for (table, doomed_rows, kept_rows) in [
        ("keys", 1, 1),
        ("key_tags", 1, 1),
        ("key_versions", 1, 2),
        ("key_imported_materials", 2, 2),
        ("key_usage", 1, 1),
    ] {
        assert_eq!(
            count(table, &doomed.id),
            doomed_rows,
            "{table} of the doomed key"
        );
        assert_eq!(count(table, &kept.id), kept_rows, "{table} of the kept key");
        assert_eq!(count(table, &gone.id), 0, "{table} of the deleted key");
    }
    let left: i64 = conn
        .query_row(
            "SELECT version FROM key_versions WHERE key_id = ?1",
            [doomed.id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 2);
    assert_eq!(legacy_columns_set(&conn), 0);
}

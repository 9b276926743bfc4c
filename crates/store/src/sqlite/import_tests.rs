//! SQLite tests of schema version 4 (imported key material): keys of a version 3 database
//! migrate without imported material, the schema refuses inconsistent import columns, damaged
//! ones read as corrupt, the expiry due-query uses its partial index, and `DeleteKeyMaterial`
//! touches the versions of its key and nothing else.

use super::SqliteStore;
use super::lifecycle_tests::assert_searches_index;
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

fn imported(valid_to: Option<i64>, present: bool) -> Option<ImportedMaterial> {
    Some(ImportedMaterial {
        fingerprint: vec![0xa5; 32],
        valid_to: valid_to.map(Timestamp),
        present,
    })
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
    assert_eq!(SCHEMA_VERSION, 4);
    let got = store.get_key(&old.id).unwrap().unwrap();
    assert_eq!((got.revision, &got.value), (4, &old));
    assert_eq!(got.value.imported, None);
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
    next.imported = imported(Some(10), true);
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

#[test]
fn the_schema_refuses_inconsistent_imported_material() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    commit(&store, vec![put(&key(), Expect::Absent)]).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE keys SET import_fingerprint = x'00'",
        "UPDATE keys SET import_present = 1",
        "UPDATE keys SET import_present = 0",
        "UPDATE keys SET import_valid_to_ms = 5",
        "UPDATE keys SET import_valid_to_ms = 5, import_present = 1",
        "UPDATE keys SET import_valid_to_ms = 5, import_fingerprint = x'00'",
        "UPDATE keys SET import_fingerprint = x'00', import_present = 2",
        "UPDATE keys SET import_fingerprint = x'00', import_present = -1",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{sql}: {err}");
    }
    // STRICT: the flag is an integer and the fingerprint bytes.
    for sql in [
        "UPDATE keys SET import_fingerprint = x'00', import_present = 'yes'",
        "UPDATE keys SET import_fingerprint = 'text', import_present = 1",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("cannot store"), "{sql}: {err}");
    }
    for sql in [
        "UPDATE keys SET import_fingerprint = x'00', import_present = 0",
        "UPDATE keys SET import_valid_to_ms = -1, import_present = 1",
        "UPDATE keys SET import_valid_to_ms = NULL",
        "UPDATE keys SET import_fingerprint = NULL, import_present = NULL",
    ] {
        conn.execute(sql, []).unwrap();
    }
}

#[test]
fn damaged_imported_material_is_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (flag, half, orphan) = (key(), key(), key());
    let mut writes = Vec::new();
    for k in [&flag, &half, &orphan] {
        let k = Key {
            imported: imported(Some(1), true),
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
                "UPDATE keys SET import_present = 2 WHERE key_id = ?1",
                &flag,
            ),
            (
                "UPDATE keys SET import_present = NULL WHERE key_id = ?1",
                &half,
            ),
            (
                "UPDATE keys SET import_fingerprint = NULL, import_present = NULL \
                 WHERE key_id = ?1",
                &orphan,
            ),
        ] {
            writer.execute(sql, [k.id.to_string()]).unwrap();
        }
        writer
            .execute_batch("PRAGMA ignore_check_constraints = OFF")
            .unwrap();
    }
    for (k, want) in [
        (&flag, "import_present 2"),
        (&half, "set together"),
        (&orphan, "import_valid_to_ms"),
    ] {
        match store.get_key(&k.id) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{want}: {other:?}"),
        }
    }
}

#[test]
fn the_expiry_query_uses_its_partial_index_in_order() {
    // The query names the states literally; they must be the names the codec stores.
    assert_eq!(KeyState::Enabled.as_str(), "Enabled");
    assert_eq!(KeyState::Disabled.as_str(), "Disabled");
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    assert_searches_index(&conn, DUE_FOR_EXPIRY, "keys_due_for_expiry");
}

#[test]
fn delete_key_material_leaves_the_rest_of_the_key_alone() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let (doomed, kept) = (key(), key());
    let mut writes = Vec::new();
    for k in [&doomed, &kept] {
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
    commit(&store, vec![Write::DeleteKeyMaterial { id: doomed.id }]).unwrap();
    // A missing key has no versions either: nothing to do.
    let missing = KeyId::from_random([9; 16]);
    commit(&store, vec![Write::DeleteKeyMaterial { id: missing }]).unwrap();
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
        ("key_versions", 0, 2),
        ("key_usage", 1, 1),
    ] {
        assert_eq!(
            count(table, &doomed.id),
            doomed_rows,
            "{table} of the doomed key"
        );
        assert_eq!(count(table, &kept.id), kept_rows, "{table} of the kept key");
    }
}

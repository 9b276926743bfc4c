//! SQLite tests of schema version 6 (IAM users and roles, access key owners, grants): the
//! access keys of a version 5 database migrate as the root's, the schema refuses owner columns
//! that do not match their kind and rows that would dangle, damaged rows read as corrupt, and
//! the new queries search their indexes.

use super::SqliteStore;
use super::grants::{CONSTRAINTS_FORMAT, encode_constraints};
use super::identities::{ROOT, SESSION, USER};
use super::read::{
    EXPIRED_SESSIONS, ROLE_ROWS, USER_ROWS, access_keys_query, retirable_grants_query,
};
use super::schema::{self, MIGRATIONS, SCHEMA_VERSION};
use super::tests::{account, commit, key, put, temp_db, user_version};
use crate::{Expect, Store, StoreError, Write};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use strongroom_core::grant::{Grant, GrantConstraints, GrantOperation};
use strongroom_core::identity::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, Account, Role, Session, User,
};
use strongroom_core::key::Key;
use strongroom_core::time::Timestamp;

fn access_key(id: &str, owner: AccessKeyOwner) -> AccessKey {
    AccessKey {
        id: id.into(),
        account: account(),
        principal_arn: "arn:aws:iam::111122223333:root".into(),
        owner,
        wrapped_secret: vec![7; 60],
        status: AccessKeyStatus::Active,
        created_at: Timestamp(1_700_000_000_000),
    }
}

fn session(expires_at: i64) -> AccessKeyOwner {
    AccessKeyOwner::Session(Session {
        role_name: "deploy".into(),
        role_id: "AROAEXAMPLE".into(),
        session_name: "ci".into(),
        token_digest: vec![0xd1; 32],
        expires_at: Timestamp(expires_at),
    })
}

fn user(name: &str) -> User {
    User {
        account: account(),
        name: name.into(),
        path: "/".into(),
        id: "AIDAEXAMPLE".into(),
        arn: format!("arn:aws:iam::111122223333:user/{name}"),
        created_at: Timestamp(1),
        tags: BTreeMap::from([("team".into(), "storage".into())]),
        policies: BTreeMap::from([("read".into(), "{}".into())]),
    }
}

fn role(name: &str) -> Role {
    Role {
        account: account(),
        name: name.into(),
        path: "/".into(),
        id: "AROAEXAMPLE".into(),
        arn: format!("arn:aws:iam::111122223333:role/{name}"),
        created_at: Timestamp(2),
        description: "d".into(),
        max_session_duration: 3600,
        trust_policy: "{}".into(),
        tags: BTreeMap::from([("team".into(), "storage".into())]),
        policies: BTreeMap::from([("read".into(), "{}".into())]),
    }
}

fn grant(key: &Key, id: &str, retiring: Option<&str>) -> Grant {
    Grant {
        key_id: key.id,
        account: account(),
        id: id.into(),
        name: None,
        grantee_principal: "arn:aws:iam::111122223333:user/alice".into(),
        retiring_principal: retiring.map(str::to_owned),
        issuing_account: "arn:aws:iam::111122223333:root".into(),
        operations: vec![GrantOperation::Decrypt],
        constraints: Some(GrantConstraints {
            equals: Some(BTreeMap::from([("k".into(), "v".into())])),
            subset: None,
        }),
        created_at: Timestamp(3),
    }
}

fn new_account() -> Write {
    Write::AddAccount(Account {
        id: account(),
        created_at: Timestamp(0),
    })
}

/// Creates a database at schema version 5 holding an account, `key` and two access keys
/// (at revisions 1 and 4), written with version 5's columns only.
fn create_v5(path: &Path, key: &Key, access_keys: [&str; 2]) {
    let mut conn = Connection::open(path).unwrap();
    assert_eq!(schema::migrate(&mut conn, &MIGRATIONS[..5]).unwrap(), 5);
    conn.execute("INSERT INTO accounts VALUES ('111122223333', 5)", [])
        .unwrap();
    for (id, revision) in access_keys.iter().zip([1, 4]) {
        conn.execute(
            "INSERT INTO access_keys VALUES (?1, '111122223333', \
             'arn:aws:iam::111122223333:root', ?2, 'Active', 1700000000000, ?3)",
            rusqlite::params![id, vec![7u8; 60], revision],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
         key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
         revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 2)",
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
    conn.execute(
        "INSERT INTO key_usage (key_id, tracking_start_ms) VALUES (?1, 5)",
        [key.id.to_string()],
    )
    .unwrap();
}

fn index_names(conn: &Connection, table: &str) -> Vec<String> {
    let mut st = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 \
                  AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    st.query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn a_version_5_database_migrates_its_access_keys_as_the_roots() {
    let (_dir, path) = temp_db();
    let old_key = key();
    let ids = ["AKIAOLDROOTKEY000001", "AKIAOLDROOTKEY000002"];
    create_v5(&path, &old_key, ids);
    assert_eq!(user_version(&path), 5);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), i64::from(SCHEMA_VERSION));
    const { assert!(SCHEMA_VERSION >= 7) };
    let root = |id: &str| access_key(id, AccessKeyOwner::Root);
    for (id, revision) in ids.iter().zip([1, 4]) {
        let got = store.get_access_key(id).unwrap().unwrap();
        assert_eq!((got.revision, got.value), (revision, root(id)));
    }
    let listed = store.list_access_keys(&account(), None).unwrap();
    let listed: Vec<_> = listed.into_iter().map(|v| (v.revision, v.value)).collect();
    assert_eq!(listed, vec![(1, root(ids[0])), (4, root(ids[1]))]);
    assert_eq!(
        store.list_access_keys(&account(), Some("alice")).unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .list_expired_sessions(Timestamp(i64::MAX), 10)
            .unwrap(),
        Vec::<String>::new()
    );
    let got = store.get_key(&old_key.id).unwrap().unwrap();
    assert_eq!((got.revision, &got.value), (2, &old_key));
    assert_eq!(store.count_grants(&old_key.id).unwrap(), 0);

    // Migrated rows take owners, the migrated key takes grants, and the new tables work.
    let moved = access_key(ids[0], AccessKeyOwner::User("alice".into()));
    let temporary = access_key(ids[1], session(10));
    let g = grant(
        &old_key,
        &"a".repeat(64),
        Some("arn:aws:iam::111122223333:role/r"),
    );
    commit(
        &store,
        vec![
            Write::PutAccessKey {
                access_key: moved.clone(),
                expect: Expect::Revision(1),
            },
            Write::PutAccessKey {
                access_key: temporary,
                expect: Expect::Revision(4),
            },
            Write::PutUser {
                user: user("alice"),
                expect: Expect::Absent,
            },
            Write::PutRole {
                role: role("deploy"),
                expect: Expect::Absent,
            },
            Write::AddGrant(g.clone()),
        ],
    )
    .unwrap();
    let listed = store.list_access_keys(&account(), Some("alice")).unwrap();
    assert_eq!(
        listed.into_iter().map(|v| v.value).collect::<Vec<_>>(),
        vec![moved]
    );
    assert_eq!(
        store.list_expired_sessions(Timestamp(10), 10).unwrap(),
        vec![ids[1].to_owned()]
    );
    assert_eq!(store.list_access_keys(&account(), None).unwrap(), vec![]);
    assert_eq!(
        store.get_grant(&old_key.id, &g.id).unwrap(),
        Some(g.clone())
    );
    assert_eq!(
        store
            .list_retirable_grants("arn:aws:iam::111122223333:role/r", None, 10)
            .unwrap(),
        vec![g.clone()]
    );
    assert_eq!(
        store
            .get_user(&account(), "ALICE")
            .unwrap()
            .map(|v| v.value),
        Some(user("alice"))
    );
    commit(
        &store,
        vec![Write::DeleteKey {
            id: old_key.id,
            revision: 2,
        }],
    )
    .unwrap();
    assert_eq!(store.get_grant(&old_key.id, &g.id).unwrap(), None);
    drop(store);

    // Version 1's index on the account is replaced by the owner index.
    let conn = Connection::open(&path).unwrap();
    assert_eq!(
        index_names(&conn, "access_keys"),
        ["access_keys_by_owner", "access_keys_expired_sessions"]
    );
}

#[test]
fn the_owner_columns_must_match_their_kind() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let mut writes = vec![new_account()];
    for (id, owner) in [
        ("AKIAROOT000000000001", AccessKeyOwner::Root),
        ("AKIAUSER000000000001", AccessKeyOwner::User("alice".into())),
        ("ASIASESSION000000001", session(1)),
    ] {
        writes.push(Write::PutAccessKey {
            access_key: access_key(id, owner),
            expect: Expect::Absent,
        });
    }
    commit(&store, writes).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let root = "WHERE access_key_id = 'AKIAROOT000000000001'";
    let user = "WHERE access_key_id = 'AKIAUSER000000000001'";
    let session = "WHERE access_key_id = 'ASIASESSION000000001'";
    for (set, which) in [
        ("owner_kind = 'robot'", root),
        ("owner_kind = NULL", root),
        ("owner_kind = 'user'", root),
        ("user_name = 'alice'", root),
        ("token_digest = x'00'", root),
        ("user_name = NULL", user),
        ("owner_kind = 'root'", user),
        ("expires_at_ms = 5", user),
        ("owner_kind = 'user'", session),
        ("user_name = 'alice'", session),
        ("token_digest = NULL", session),
        ("expires_at_ms = NULL", session),
        ("role_id = NULL", session),
    ] {
        let sql = format!("UPDATE access_keys SET {set} {which}");
        let err = conn.execute(&sql, []).unwrap_err();
        assert!(
            err.to_string().contains("constraint failed"),
            "{sql}: {err}"
        );
    }
    // Typed columns: a digest is a BLOB, an expiry an INTEGER.
    for set in ["token_digest = 'text'", "expires_at_ms = 'soon'"] {
        let sql = format!("UPDATE access_keys SET {set} {session}");
        let err = conn.execute(&sql, []).unwrap_err();
        assert!(err.to_string().contains("cannot store"), "{sql}: {err}");
    }
}

#[test]
fn the_schema_refuses_dangling_and_duplicate_identities_and_grants() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    commit(
        &store,
        vec![
            new_account(),
            put(&k, Expect::Absent),
            Write::PutUser {
                user: user("Alice"),
                expect: Expect::Absent,
            },
            Write::AddGrant(grant(&k, "g1", None)),
        ],
    )
    .unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "foreign_keys", true).unwrap();
    for (sql, want) in [
        (
            "INSERT INTO users (account_id, name, path, user_id, arn, created_at_ms, revision) \
             VALUES ('999999999999', 'bob', '/', 'AIDA', 'arn', 0, 1)",
            "FOREIGN KEY",
        ),
        (
            "INSERT INTO users (account_id, name, path, user_id, arn, created_at_ms, revision) \
             VALUES ('111122223333', 'ALICE', '/', 'AIDA', 'arn', 0, 1)",
            "UNIQUE",
        ),
        ("UPDATE users SET name_lower = 'bob'", "generated column"),
        (
            "INSERT INTO user_tags VALUES ('111122223333', 'bob', 'k', 'v')",
            "FOREIGN KEY",
        ),
        (
            "INSERT INTO user_tags VALUES ('111122223333', 'alice', 'k', 'v')",
            "FOREIGN KEY",
        ),
        (
            "INSERT INTO role_policies VALUES ('111122223333', 'deploy', 'p', '{}')",
            "FOREIGN KEY",
        ),
        (
            "INSERT INTO grants (key_id, grant_id, account_id, grantee_principal, \
             issuing_account, operations, created_at_ms) VALUES \
             ('00000000-0000-4000-8000-000000000000', 'g', '111122223333', 'p', 'i', '', 0)",
            "FOREIGN KEY",
        ),
        ("UPDATE grants SET constraints = 'text'", "cannot store"),
        ("UPDATE grants SET operations = NULL", "NOT NULL"),
        ("DELETE FROM accounts", "FOREIGN KEY"),
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains(want), "{sql}: {err}");
    }
    // The user's tags and the key's grants go with their parents.
    conn.execute("DELETE FROM users", []).unwrap();
    conn.execute("DELETE FROM grants", []).unwrap();
    let children: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM user_tags) + (SELECT count(*) FROM user_policies)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(children, 0);
}

#[test]
fn damaged_identity_and_grant_rows_are_corrupt() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    let grants = [
        grant(&k, "g1", None),
        grant(&k, "g2", None),
        grant(&k, "g3", Some("arn:aws:iam::111122223333:role/r")),
    ];
    let mut writes = vec![
        new_account(),
        put(&k, Expect::Absent),
        Write::PutAccessKey {
            access_key: access_key("AKIAROOT000000000001", AccessKeyOwner::Root),
            expect: Expect::Absent,
        },
        Write::PutAccessKey {
            access_key: access_key("ASIASESSION000000001", session(1)),
            expect: Expect::Absent,
        },
        Write::PutRole {
            role: role("deploy"),
            expect: Expect::Absent,
        },
    ];
    writes.extend(grants.iter().cloned().map(Write::AddGrant));
    commit(&store, writes).unwrap();
    {
        // Only a damaged file gets past the CHECKs and the foreign keys; ignoring them stands
        // in for one.
        let writer = store.writer.lock().unwrap();
        writer
            .execute_batch(
                "PRAGMA ignore_check_constraints = ON;
                 PRAGMA foreign_keys = OFF;
                 UPDATE access_keys SET owner_kind = 'robot' \
                     WHERE access_key_id = 'AKIAROOT000000000001';
                 UPDATE access_keys SET token_digest = NULL \
                     WHERE access_key_id = 'ASIASESSION000000001';
                 UPDATE roles SET max_session_duration = -1;
                 UPDATE grants SET operations = 'Decrypt,Melt' WHERE grant_id = 'g1';
                 UPDATE grants SET constraints = x'02' WHERE grant_id = 'g2';
                 UPDATE grants SET key_id = 'not-a-key-id' WHERE grant_id = 'g3';
                 PRAGMA foreign_keys = ON;
                 PRAGMA ignore_check_constraints = OFF;",
            )
            .unwrap();
    }
    for (id, want) in [
        ("AKIAROOT000000000001", "robot"),
        ("ASIASESSION000000001", "owner kind \"session\""),
    ] {
        match store.get_access_key(id) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    match store.get_role(&account(), "deploy") {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("max session duration -1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.list_roles(&account(), "/", None, 10),
        Err(StoreError::Corrupt(_))
    ));
    for (id, want) in [("g1", "Melt"), ("g2", "unknown format 2")] {
        match store.get_grant(&k.id, id) {
            Err(StoreError::Corrupt(m)) => assert!(m.contains(want), "{m}"),
            other => panic!("{id}: {other:?}"),
        }
    }
    assert!(matches!(
        store.list_grants(&k.id, None, 10),
        Err(StoreError::Corrupt(_))
    ));
    match store.list_retirable_grants("arn:aws:iam::111122223333:role/r", None, 10) {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("key id"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// The plan of `sql` (with NULL for every parameter), one line per step.
fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let n = st.parameter_count();
    let nulls = vec![rusqlite::types::Null; n];
    st.query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn the_new_queries_search_their_indexes_without_sorting() {
    // The queries name the owner kinds literally; they must be the names the codec stores.
    assert_eq!((ROOT, USER, SESSION), ("root", "user", "session"));
    assert!(EXPIRED_SESSIONS.contains("owner_kind = 'session'"));
    assert!(access_keys_query(true).contains("owner_kind = 'user'"));
    assert!(access_keys_query(false).contains("owner_kind = 'root'"));
    assert_eq!(
        encode_constraints(&GrantConstraints::default()).unwrap()[0],
        CONSTRAINTS_FORMAT
    );
    let (_dir, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    let check = |sql: &str, want: &[&str]| {
        let plan = plan(&conn, sql);
        let text = plan.join("\n");
        assert_eq!(plan.len(), want.len(), "{sql}\n{text}");
        for (step, want) in plan.iter().zip(want) {
            assert!(step.starts_with(want), "{sql}\n{text}");
        }
        assert!(!text.contains("TEMP B-TREE"), "{sql}\n{text}");
    };
    check(
        EXPIRED_SESSIONS,
        &["SEARCH access_keys USING COVERING INDEX access_keys_expired_sessions (expires_at_ms<?)"],
    );
    check(
        &access_keys_query(true),
        &[
            "SEARCH access_keys USING INDEX access_keys_by_owner (account_id=? AND owner_kind=? AND user_name=?)",
        ],
    );
    check(
        &access_keys_query(false),
        &[
            "SEARCH access_keys USING INDEX access_keys_by_owner (account_id=? AND owner_kind=? AND user_name=?)",
        ],
    );
    check(
        &retirable_grants_query(),
        &[
            "SEARCH grants USING INDEX grants_by_retiring_principal (retiring_principal=? AND (key_id,grant_id)>(?,?))",
        ],
    );
    check(
        "SELECT count(*) FROM grants WHERE key_id = ?1",
        &["SEARCH grants USING COVERING INDEX sqlite_autoindex_grants_1 (key_id=?)"],
    );
    for (rows, table) in [
        (USER_ROWS.rows_query(&USER_ROWS.by_name_query()), "users"),
        (ROLE_ROWS.rows_query(&ROLE_ROWS.by_name_query()), "roles"),
    ] {
        let plan = plan(&conn, &rows);
        let text = plan.join("\n");
        assert!(
            text.contains(&format!(
                "INDEX {table}_by_name_lower (account_id=? AND name_lower=?)"
            )),
            "{text}"
        );
        assert!(!text.contains(&format!("SCAN {table}")), "{text}");
    }
}

#[test]
fn identities_and_grants_survive_closing_and_reopening() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(&path).unwrap();
    let k = key();
    let g = grant(&k, "g", None);
    let session_key = access_key("ASIASESSION000000001", session(1));
    commit(
        &store,
        vec![
            new_account(),
            put(&k, Expect::Absent),
            Write::AddGrant(g.clone()),
            Write::PutUser {
                user: user("alice"),
                expect: Expect::Absent,
            },
            Write::PutRole {
                role: role("deploy"),
                expect: Expect::Absent,
            },
            Write::PutAccessKey {
                access_key: session_key.clone(),
                expect: Expect::Absent,
            },
        ],
    )
    .unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_grant(&k.id, "g").unwrap(), Some(g));
    let got = store.get_user(&account(), "alice").unwrap().unwrap();
    assert_eq!((got.revision, got.value), (1, user("alice")));
    let got = store.get_role(&account(), "deploy").unwrap().unwrap();
    assert_eq!((got.revision, got.value), (1, role("deploy")));
    let got = store.get_access_key(&session_key.id).unwrap().unwrap();
    assert_eq!(got.value, session_key);
}

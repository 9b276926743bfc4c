//! The write side: a [`Transaction`](crate::Transaction) applied on the writer connection.
//!
//! `BEGIN IMMEDIATE` takes SQLite's write lock before the first statement, so a transaction
//! never fails half-way because another process started writing, and every expectation is
//! checked against the state it will commit over. Each write states its expectation in the
//! statement itself: a create is `INSERT … ON CONFLICT DO NOTHING` and an update or delete is
//! `… WHERE revision = ?`; "no row changed" means the expectation failed. Any failure returns
//! before `COMMIT`, and dropping the transaction rolls every earlier write back.

use super::codec::{db_err, expected_revision, write_err};
use super::grants::{encode_constraints, encode_operations};
use super::identities::{OwnerColumns, Principals, ROLES, USERS};
use crate::{Expect, KeyUsageRecord, StoreError, Write};
use rusqlite::{Connection, TransactionBehavior, params};
use std::collections::BTreeMap;
use strongroom_core::alias::Alias;
use strongroom_core::grant::Grant;
use strongroom_core::identity::{AccessKey, Account, Role, User};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion};

/// Applies `writes` in order and commits, or applies none of them.
pub(crate) fn commit(conn: &mut Connection, writes: &[Write]) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_err)?;
    for w in writes {
        apply(&tx, w)?;
    }
    tx.commit().map_err(db_err)
}

fn apply(conn: &Connection, write: &Write) -> Result<(), StoreError> {
    match write {
        Write::PutKey { key, expect } => put_key(conn, key, *expect),
        Write::AddKeyVersion(v) => add_key_version(conn, v),
        Write::RecordKeyUsage(r) => record_key_usage(conn, r),
        Write::DeleteKeyVersion { id, version } => {
            delete_key_version(conn, &id.to_string(), *version)
        }
        Write::DeleteKey { id, revision } => delete_key(conn, &id.to_string(), *revision),
        Write::PutAlias { alias, expect } => put_alias(conn, alias, *expect),
        Write::DeleteAlias {
            account,
            region,
            name,
            revision,
        } => delete_alias(conn, account, region, name, *revision),
        Write::AddAccount(a) => add_account(conn, a),
        Write::PutAccessKey { access_key, expect } => put_access_key(conn, access_key, *expect),
        Write::DeleteAccessKey { id, revision } => delete_access_key(conn, id, *revision),
        Write::PutUser { user, expect } => put_user(conn, user, *expect),
        Write::DeleteUser {
            account,
            name,
            revision,
        } => delete_principal(conn, USERS, account, name, *revision),
        Write::PutRole { role, expect } => put_role(conn, role, *expect),
        Write::DeleteRole {
            account,
            name,
            revision,
        } => delete_principal(conn, ROLES, account, name, *revision),
        Write::AddGrant(g) => add_grant(conn, g),
        Write::DeleteGrant { key_id, grant_id } => delete_grant(conn, key_id, grant_id),
    }
}

/// Runs one statement that must change exactly one row; zero rows means the write's
/// expectation did not hold.
fn change_one(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(sql)
        .and_then(|mut st| st.execute(args))
        .map_err(write_err)?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

/// Writes the key row and replaces its tag set and imported materials: both are part of the
/// key aggregate and share its revision. Creating a key also starts tracking its usage.
/// Version 4's import columns are left out, so they stay `NULL` (see `schema::V5`).
fn put_key(conn: &Connection, k: &Key, expect: Expect) -> Result<(), StoreError> {
    let id = k.id.to_string();
    let (account, region) = (k.account.as_str(), k.region.as_str());
    let (spec, usage, origin) = (k.spec.as_str(), k.usage.as_str(), k.origin.as_str());
    let (manager, state) = (k.manager.as_str(), k.state.as_str());
    let period = k.rotation.map(|r| r.period_days);
    let next_rotation = k.rotation.map(|r| r.next_rotation_at.0);
    let deletion_date = k.deletion.map(|d| d.deletion_date.0);
    let window = k.deletion.map(|d| d.pending_window_days);
    match expect {
        Expect::Absent => change_one(
            conn,
            "INSERT INTO keys (key_id, arn, account_id, region, created_at_ms, description, \
             key_spec, key_usage, origin, key_manager, key_state, current_version, policy, \
             rotation_period_days, next_rotation_at_ms, on_demand_rotations, deletion_date_ms, \
             pending_window_days, policy_updated_at_ms, revision) VALUES (?1, ?2, ?3, ?4, ?5, \
             ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 1) \
             ON CONFLICT DO NOTHING",
            params![
                id,
                k.arn,
                account,
                region,
                k.created_at.0,
                k.description,
                spec,
                usage,
                origin,
                manager,
                state,
                k.current_version,
                k.policy,
                period,
                next_rotation,
                k.on_demand_rotations,
                deletion_date,
                window,
                k.policy_updated_at.0
            ],
        )
        .and_then(|()| start_usage_tracking(conn, &id, k))?,
        Expect::Revision(r) => change_one(
            conn,
            "UPDATE keys SET arn = ?2, account_id = ?3, region = ?4, created_at_ms = ?5, \
             description = ?6, key_spec = ?7, key_usage = ?8, origin = ?9, key_manager = ?10, \
             key_state = ?11, current_version = ?12, policy = ?13, \
             rotation_period_days = ?14, next_rotation_at_ms = ?15, on_demand_rotations = ?16, \
             deletion_date_ms = ?17, pending_window_days = ?18, policy_updated_at_ms = ?19, \
             revision = revision + 1 WHERE key_id = ?1 AND revision = ?20",
            params![
                id,
                k.arn,
                account,
                region,
                k.created_at.0,
                k.description,
                spec,
                usage,
                origin,
                manager,
                state,
                k.current_version,
                k.policy,
                period,
                next_rotation,
                k.on_demand_rotations,
                deletion_date,
                window,
                k.policy_updated_at.0,
                expected_revision(r)?
            ],
        )?,
    }
    replace_tags(conn, &id, &k.tags)?;
    replace_materials(conn, &id, &k.imported)
}

/// Creates the usage row of key `id`, whose row this transaction has just inserted: tracked
/// from its creation, never used yet.
fn start_usage_tracking(conn: &Connection, id: &str, k: &Key) -> Result<(), StoreError> {
    change_one(
        conn,
        "INSERT INTO key_usage (key_id, tracking_start_ms) VALUES (?1, ?2)",
        params![id, k.created_at.0],
    )
}

/// Records a use of a key unless the stored one is as new or newer, so that records arriving
/// out of order keep the latest and a tie keeps the first. No row changed is not a failure:
/// the key may have been deleted since, or a newer use recorded. The usage row is not part of
/// the key aggregate and has no revision, so this never conflicts with a key write.
fn record_key_usage(conn: &Connection, r: &KeyUsageRecord) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE key_usage SET operation = ?2, used_at_ms = ?3, request_id = ?4 \
         WHERE key_id = ?1 AND (used_at_ms IS NULL OR used_at_ms < ?3)",
    )
    .and_then(|mut st| {
        st.execute(params![
            r.key_id.to_string(),
            r.operation.name(),
            r.at.0,
            r.request_id
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

/// Replaces the tag set of key `id`, whose row this transaction has just written.
fn replace_tags(
    conn: &Connection,
    id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM key_tags WHERE key_id = ?1")
        .and_then(|mut st| st.execute([id]))
        .map_err(write_err)?;
    let mut insert = conn
        .prepare_cached("INSERT INTO key_tags (key_id, tag_key, tag_value) VALUES (?1, ?2, ?3)")
        .map_err(write_err)?;
    for (tag_key, tag_value) in tags {
        insert
            .execute(params![id, tag_key, tag_value])
            .map_err(write_err)?;
    }
    Ok(())
}

/// Replaces the imported materials of key `id`, whose row this transaction has just written.
/// Two materials of one version are refused by the primary key, as a conflict.
fn replace_materials(
    conn: &Connection,
    id: &str,
    materials: &[ImportedMaterial],
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM key_imported_materials WHERE key_id = ?1")
        .and_then(|mut st| st.execute([id]))
        .map_err(write_err)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO key_imported_materials (key_id, version, fingerprint, valid_to_ms, \
             present, rotated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(write_err)?;
    for m in materials {
        insert
            .execute(params![
                id,
                m.version,
                m.fingerprint,
                m.valid_to.map(|t| t.0),
                m.present,
                m.rotated_at.map(|t| t.0)
            ])
            .map_err(write_err)?;
    }
    Ok(())
}

/// Inserts a material version; one that exists, or one of a missing key, is a conflict.
fn add_key_version(conn: &Connection, v: &KeyVersion) -> Result<(), StoreError> {
    change_one(
        conn,
        "INSERT INTO key_versions (key_id, version, created_at_ms, wrapped_material, \
         rotation_type) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![
            v.key_id.to_string(),
            v.version,
            v.created_at.0,
            v.wrapped_material,
            v.rotation_type.map(|t| t.as_str())
        ],
    )
}

/// Removes material version `version` of key `id`. It checks no revision of its own: the
/// caller puts a revision-checked `PutKey` of the same key in the transaction, and a failed
/// one rolls this back. A missing version (or key) is left as it is.
fn delete_key_version(conn: &Connection, id: &str, version: u32) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM key_versions WHERE key_id = ?1 AND version = ?2")
        .and_then(|mut st| st.execute(params![id, version]))
        .map_err(write_err)?;
    Ok(())
}

/// Destroys key `id` at `revision` with everything that refers to it. The revision is checked
/// first, so a stale delete touches nothing; the aliases (whose reference does not cascade),
/// tags, versions, imported materials, usage and grants go before the key row, which the
/// foreign keys require.
fn delete_key(conn: &Connection, id: &str, revision: u64) -> Result<(), StoreError> {
    let revision = expected_revision(revision)?;
    let current = conn
        .prepare_cached("SELECT 1 FROM keys WHERE key_id = ?1 AND revision = ?2")
        .and_then(|mut st| st.exists(params![id, revision]))
        .map_err(write_err)?;
    if !current {
        return Err(StoreError::Conflict);
    }
    for sql in [
        "DELETE FROM aliases WHERE target_key_id = ?1",
        "DELETE FROM key_tags WHERE key_id = ?1",
        "DELETE FROM key_versions WHERE key_id = ?1",
        "DELETE FROM key_imported_materials WHERE key_id = ?1",
        "DELETE FROM key_usage WHERE key_id = ?1",
        "DELETE FROM grants WHERE key_id = ?1",
    ] {
        conn.prepare_cached(sql)
            .and_then(|mut st| st.execute([id]))
            .map_err(write_err)?;
    }
    change_one(
        conn,
        "DELETE FROM keys WHERE key_id = ?1 AND revision = ?2",
        params![id, revision],
    )
}

/// Takes or renews lease `name` for `holder` until `until_ms`: one upsert that writes only if
/// the lease is free, expired at `now_ms`, or `holder`'s already. One statement is atomic, and
/// it runs on the writer connection, whose write lock also excludes other processes.
pub(crate) fn try_lease(
    conn: &Connection,
    name: &str,
    holder: &str,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO leases (name, holder, expires_at_ms) VALUES (?1, ?2, ?4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at_ms = excluded.expires_at_ms \
             WHERE leases.holder = excluded.holder OR leases.expires_at_ms <= ?3",
        )
        .and_then(|mut st| st.execute(params![name, holder, now_ms, until_ms]))
        .map_err(db_err)?;
    Ok(changed == 1)
}

fn put_alias(conn: &Connection, a: &Alias, expect: Expect) -> Result<(), StoreError> {
    let (account, region, name) = (a.account.as_str(), a.region.as_str(), a.name.as_str());
    let target = a.target.to_string();
    match expect {
        Expect::Absent => change_one(
            conn,
            "INSERT INTO aliases (account_id, region, alias_name, target_key_id, \
             created_at_ms, updated_at_ms, revision) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) \
             ON CONFLICT DO NOTHING",
            params![
                account,
                region,
                name,
                target,
                a.created_at.0,
                a.updated_at.0
            ],
        ),
        Expect::Revision(r) => change_one(
            conn,
            "UPDATE aliases SET target_key_id = ?4, created_at_ms = ?5, updated_at_ms = ?6, \
             revision = revision + 1 \
             WHERE account_id = ?1 AND region = ?2 AND alias_name = ?3 AND revision = ?7",
            params![
                account,
                region,
                name,
                target,
                a.created_at.0,
                a.updated_at.0,
                expected_revision(r)?
            ],
        ),
    }
}

fn delete_alias(
    conn: &Connection,
    account: &AccountId,
    region: &Region,
    name: &AliasName,
    revision: u64,
) -> Result<(), StoreError> {
    change_one(
        conn,
        "DELETE FROM aliases \
         WHERE account_id = ?1 AND region = ?2 AND alias_name = ?3 AND revision = ?4",
        params![
            account.as_str(),
            region.as_str(),
            name.as_str(),
            expected_revision(revision)?
        ],
    )
}

fn add_account(conn: &Connection, a: &Account) -> Result<(), StoreError> {
    change_one(
        conn,
        "INSERT INTO accounts (account_id, created_at_ms) VALUES (?1, ?2) \
         ON CONFLICT DO NOTHING",
        params![a.id.as_str(), a.created_at.0],
    )
}

/// Writes an access key with its owner's columns (those of other kinds are `NULL`, as the
/// schema's CHECK requires).
fn put_access_key(conn: &Connection, k: &AccessKey, expect: Expect) -> Result<(), StoreError> {
    let (account, status) = (k.account.as_str(), k.status.as_str());
    let o = OwnerColumns::encode(&k.owner);
    match expect {
        Expect::Absent => change_one(
            conn,
            "INSERT INTO access_keys (access_key_id, account_id, principal_arn, \
             wrapped_secret, status, created_at_ms, revision, owner_kind, user_name, role_name, \
             role_id, session_name, token_digest, expires_at_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
             ON CONFLICT DO NOTHING",
            params![
                k.id,
                account,
                k.principal_arn,
                k.wrapped_secret,
                status,
                k.created_at.0,
                o.kind,
                o.user_name,
                o.role_name,
                o.role_id,
                o.session_name,
                o.token_digest,
                o.expires_at_ms
            ],
        ),
        Expect::Revision(r) => change_one(
            conn,
            "UPDATE access_keys SET account_id = ?2, principal_arn = ?3, wrapped_secret = ?4, \
             status = ?5, created_at_ms = ?6, owner_kind = ?7, user_name = ?8, role_name = ?9, \
             role_id = ?10, session_name = ?11, token_digest = ?12, expires_at_ms = ?13, \
             revision = revision + 1 \
             WHERE access_key_id = ?1 AND revision = ?14",
            params![
                k.id,
                account,
                k.principal_arn,
                k.wrapped_secret,
                status,
                k.created_at.0,
                o.kind,
                o.user_name,
                o.role_name,
                o.role_id,
                o.session_name,
                o.token_digest,
                o.expires_at_ms,
                expected_revision(r)?
            ],
        ),
    }
}

fn delete_access_key(conn: &Connection, id: &str, revision: u64) -> Result<(), StoreError> {
    change_one(
        conn,
        "DELETE FROM access_keys WHERE access_key_id = ?1 AND revision = ?2",
        params![id, expected_revision(revision)?],
    )
}

/// Writes a user row and replaces its tags and policies, which share its revision. A create
/// whose name is taken in the account, in any case, changes no row (`users_by_name_lower` is
/// a uniqueness constraint `ON CONFLICT DO NOTHING` covers); an update matches the name as
/// stored.
fn put_user(conn: &Connection, u: &User, expect: Expect) -> Result<(), StoreError> {
    let (account, name) = (u.account.as_str(), u.name.as_str());
    match expect {
        Expect::Absent => change_one(
            conn,
            "INSERT INTO users (account_id, name, path, user_id, arn, created_at_ms, revision) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) ON CONFLICT DO NOTHING",
            params![account, name, u.path, u.id, u.arn, u.created_at.0],
        )?,
        Expect::Revision(r) => change_one(
            conn,
            "UPDATE users SET path = ?3, user_id = ?4, arn = ?5, created_at_ms = ?6, \
             revision = revision + 1 \
             WHERE account_id = ?1 AND name = ?2 AND revision = ?7",
            params![
                account,
                name,
                u.path,
                u.id,
                u.arn,
                u.created_at.0,
                expected_revision(r)?
            ],
        )?,
    }
    replace_children(conn, USERS, account, name, &u.tags, &u.policies)
}

/// Writes a role row and replaces its tags and policies, as [`put_user`] does.
fn put_role(conn: &Connection, r: &Role, expect: Expect) -> Result<(), StoreError> {
    let (account, name) = (r.account.as_str(), r.name.as_str());
    match expect {
        Expect::Absent => change_one(
            conn,
            "INSERT INTO roles (account_id, name, path, role_id, arn, created_at_ms, \
             description, max_session_duration, trust_policy, revision) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1) ON CONFLICT DO NOTHING",
            params![
                account,
                name,
                r.path,
                r.id,
                r.arn,
                r.created_at.0,
                r.description,
                r.max_session_duration,
                r.trust_policy
            ],
        )?,
        Expect::Revision(rev) => change_one(
            conn,
            "UPDATE roles SET path = ?3, role_id = ?4, arn = ?5, created_at_ms = ?6, \
             description = ?7, max_session_duration = ?8, trust_policy = ?9, \
             revision = revision + 1 \
             WHERE account_id = ?1 AND name = ?2 AND revision = ?10",
            params![
                account,
                name,
                r.path,
                r.id,
                r.arn,
                r.created_at.0,
                r.description,
                r.max_session_duration,
                r.trust_policy,
                expected_revision(rev)?
            ],
        )?,
    }
    replace_children(conn, ROLES, account, name, &r.tags, &r.policies)
}

/// Replaces the tags and policies of principal `name` of `p`, whose row this transaction has
/// just written.
fn replace_children(
    conn: &Connection,
    p: Principals,
    account: &str,
    name: &str,
    tags: &BTreeMap<String, String>,
    policies: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    for (table, columns, entries) in [
        (p.tags, "tag_key, tag_value", tags),
        (p.policies, "policy_name, policy_document", policies),
    ] {
        let delete = format!(
            "DELETE FROM {table} WHERE account_id = ?1 AND {} = ?2",
            p.name_column
        );
        conn.prepare_cached(&delete)
            .and_then(|mut st| st.execute([account, name]))
            .map_err(write_err)?;
        let insert = format!(
            "INSERT INTO {table} (account_id, {}, {columns}) VALUES (?1, ?2, ?3, ?4)",
            p.name_column
        );
        let mut st = conn.prepare_cached(&insert).map_err(write_err)?;
        for (k, v) in entries {
            st.execute([account, name, k, v]).map_err(write_err)?;
        }
    }
    Ok(())
}

/// Deletes principal `name` of `p` (matched as stored) at `revision`, with its tags and
/// policies. The revision is checked first, so a stale delete touches nothing; the children
/// go before the row, as for a key.
fn delete_principal(
    conn: &Connection,
    p: Principals,
    account: &AccountId,
    name: &str,
    revision: u64,
) -> Result<(), StoreError> {
    let (account, revision) = (account.as_str(), expected_revision(revision)?);
    let exists = format!(
        "SELECT 1 FROM {} WHERE account_id = ?1 AND name = ?2 AND revision = ?3",
        p.table
    );
    let current = conn
        .prepare_cached(&exists)
        .and_then(|mut st| st.exists(params![account, name, revision]))
        .map_err(write_err)?;
    if !current {
        return Err(StoreError::Conflict);
    }
    for table in [p.tags, p.policies] {
        let sql = format!(
            "DELETE FROM {table} WHERE account_id = ?1 AND {} = ?2",
            p.name_column
        );
        conn.prepare_cached(&sql)
            .and_then(|mut st| st.execute([account, name]))
            .map_err(write_err)?;
    }
    let sql = format!(
        "DELETE FROM {} WHERE account_id = ?1 AND name = ?2 AND revision = ?3",
        p.table
    );
    change_one(conn, &sql, params![account, name, revision])
}

/// Inserts a grant; one whose id the key already has is a conflict (no row changed), and so
/// is one of a missing key (the foreign key).
fn add_grant(conn: &Connection, g: &Grant) -> Result<(), StoreError> {
    let constraints = g.constraints.as_ref().map(encode_constraints).transpose()?;
    change_one(
        conn,
        "INSERT INTO grants (key_id, grant_id, name, account_id, grantee_principal, \
         retiring_principal, issuing_account, operations, constraints, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
        params![
            g.key_id.to_string(),
            g.id,
            g.name,
            g.account.as_str(),
            g.grantee_principal,
            g.retiring_principal,
            g.issuing_account,
            encode_operations(&g.operations),
            constraints,
            g.created_at.0
        ],
    )
}

/// Deletes a grant; a missing one is a conflict, so that of two concurrent retirements of one
/// grant exactly one succeeds.
fn delete_grant(conn: &Connection, key_id: &KeyId, grant_id: &str) -> Result<(), StoreError> {
    change_one(
        conn,
        "DELETE FROM grants WHERE key_id = ?1 AND grant_id = ?2",
        params![key_id.to_string(), grant_id],
    )
}

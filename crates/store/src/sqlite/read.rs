//! The read side: one function per [`Store`](crate::Store) query, each on a reader connection.
//!
//! A key is three statements (its row, its tags, its imported materials) rather than one join,
//! so a long policy is not repeated once per tag, and so is a user or role (its row, its tags,
//! its inline policies); each set runs in one read transaction so it sees one snapshot even
//! while the writer commits. Pagination is by key: `after` is compared with `>`, and the empty
//! string stands for "from the start" because every stored id and name is longer.

use super::codec::{
    AccessKeyRow, AliasRow, KeyRow, UsageRow, VersionRow, account_from_row, corrupt, db_err,
    decode_account, key_id, limit, parse,
};
use super::grants::GrantRow;
use super::identities::{Children, Principals, ROLES, RoleRow, USERS, UserRow};
use super::materials::MaterialRow;
use crate::{KeyUsage, StoreError, Versioned};
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use std::collections::{BTreeMap, HashMap};
use strongroom_core::alias::Alias;
use strongroom_core::grant::Grant;
use strongroom_core::identity::{AccessKey, Account, Role, User};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// The imported materials of the keys `sql` selects (with `args`), by key id, each key's
/// ordered by version.
fn materials(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> Result<HashMap<String, Vec<ImportedMaterial>>, StoreError> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut st| {
            st.query_map(args, MaterialRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    let mut by_key: HashMap<String, Vec<ImportedMaterial>> = HashMap::new();
    for row in rows {
        let id = row.key_id().to_owned();
        by_key.entry(id).or_default().push(row.decode()?);
    }
    Ok(by_key)
}

/// One key with its tags and imported materials, from one snapshot.
pub(crate) fn get_key(
    conn: &mut Connection,
    id: &KeyId,
) -> Result<Option<Versioned<Key>>, StoreError> {
    let tx = conn.transaction().map_err(db_err)?;
    let sql = format!("SELECT {} FROM keys WHERE key_id = ?1", KeyRow::COLUMNS);
    let id = id.to_string();
    let row = tx
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_row([&id], KeyRow::from_row).optional())
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut tags = BTreeMap::new();
    let mut st = tx
        .prepare_cached("SELECT tag_key, tag_value FROM key_tags WHERE key_id = ?1")
        .map_err(db_err)?;
    let rows = st
        .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?;
    for pair in rows {
        let (k, v) = pair.map_err(db_err)?;
        tags.insert(k, v);
    }
    drop(st);
    let sql = format!(
        "SELECT {} FROM key_imported_materials WHERE key_id = ?1 ORDER BY version",
        MaterialRow::COLUMNS
    );
    let imported = materials(&tx, &sql, &[&id])?
        .remove(&id)
        .unwrap_or_default();
    // The read transaction ends when `tx` drops; it wrote nothing, so rolling back is free.
    row.decode(tags, imported).map(Some)
}

/// One page of the keys of a scope, with their tags and imported materials, from one
/// snapshot.
pub(crate) fn list_keys(
    conn: &mut Connection,
    account: &AccountId,
    region: &Region,
    after: Option<&KeyId>,
    n: usize,
) -> Result<Vec<Key>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let tx = conn.transaction().map_err(db_err)?;
    let after = after.map(KeyId::to_string).unwrap_or_default();
    let page = "SELECT key_id FROM keys WHERE account_id = ?1 AND region = ?2 AND key_id > ?3 \
                ORDER BY key_id LIMIT ?4";
    let args = params![account.as_str(), region.as_str(), after, limit(n)];

    let sql = format!(
        "SELECT {} FROM keys WHERE key_id IN ({page}) ORDER BY key_id",
        KeyRow::COLUMNS
    );
    let mut st = tx.prepare_cached(&sql).map_err(db_err)?;
    let rows = st
        .query_map(args, KeyRow::from_row)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(db_err)?;

    let sql = format!("SELECT key_id, tag_key, tag_value FROM key_tags WHERE key_id IN ({page})");
    let mut st = tx.prepare_cached(&sql).map_err(db_err)?;
    let mut tags: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    let tag_rows = st
        .query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(db_err)?;
    for t in tag_rows {
        let (id, k, v): (String, String, String) = t.map_err(db_err)?;
        tags.entry(id).or_default().insert(k, v);
    }
    drop(st);

    let sql = format!(
        "SELECT {} FROM key_imported_materials WHERE key_id IN ({page}) \
         ORDER BY key_id, version",
        MaterialRow::COLUMNS
    );
    let mut imported = materials(&tx, &sql, args)?;

    rows.into_iter()
        .map(|row| {
            let key_tags = tags.remove(row.id()).unwrap_or_default();
            let key_imported = imported.remove(row.id()).unwrap_or_default();
            row.decode(key_tags, key_imported).map(|v| v.value)
        })
        .collect()
}

/// One material version.
pub(crate) fn get_key_version(
    conn: &Connection,
    id: &KeyId,
    version: u32,
) -> Result<Option<KeyVersion>, StoreError> {
    let sql = format!(
        "SELECT {} FROM key_versions WHERE key_id = ?1 AND version = ?2",
        VersionRow::COLUMNS
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut st| {
            st.query_row(params![id.to_string(), version], VersionRow::from_row)
                .optional()
        })
        .map_err(db_err)?;
    row.map(VersionRow::decode).transpose()
}

/// Every material version of a key, oldest first.
pub(crate) fn list_key_versions(
    conn: &Connection,
    id: &KeyId,
) -> Result<Vec<KeyVersion>, StoreError> {
    let sql = format!(
        "SELECT {} FROM key_versions WHERE key_id = ?1 ORDER BY version",
        VersionRow::COLUMNS
    );
    let rows = conn
        .prepare_cached(&sql)
        .and_then(|mut st| {
            st.query_map([id.to_string()], VersionRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    rows.into_iter().map(VersionRow::decode).collect()
}

/// One alias.
pub(crate) fn get_alias(
    conn: &Connection,
    account: &AccountId,
    region: &Region,
    name: &AliasName,
) -> Result<Option<Versioned<Alias>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM aliases WHERE account_id = ?1 AND region = ?2 AND alias_name = ?3",
        AliasRow::COLUMNS
    );
    let args = params![account.as_str(), region.as_str(), name.as_str()];
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_row(args, AliasRow::from_row).optional())
        .map_err(db_err)?;
    row.map(AliasRow::decode).transpose()
}

/// One page of the aliases of a scope, optionally only those pointing at `target`.
pub(crate) fn list_aliases(
    conn: &Connection,
    account: &AccountId,
    region: &Region,
    target: Option<&KeyId>,
    after: Option<&AliasName>,
    n: usize,
) -> Result<Vec<Alias>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let after = after.map_or("", AliasName::as_str);
    let (account, region, n) = (account.as_str(), region.as_str(), limit(n));
    // Two statements rather than `(?5 IS NULL OR …)`, so each can use its index.
    let rows = match target {
        Some(t) => {
            let sql = format!(
                "SELECT {} FROM aliases WHERE account_id = ?1 AND region = ?2 \
                 AND target_key_id = ?5 AND alias_name > ?3 ORDER BY alias_name LIMIT ?4",
                AliasRow::COLUMNS
            );
            alias_rows(
                conn,
                &sql,
                params![account, region, after, n, t.to_string()],
            )?
        }
        None => {
            let sql = format!(
                "SELECT {} FROM aliases WHERE account_id = ?1 AND region = ?2 \
                 AND alias_name > ?3 ORDER BY alias_name LIMIT ?4",
                AliasRow::COLUMNS
            );
            alias_rows(conn, &sql, params![account, region, after, n])?
        }
    };
    rows.into_iter()
        .map(|r| r.decode().map(|v| v.value))
        .collect()
}

fn alias_rows(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> Result<Vec<AliasRow>, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut st| {
            st.query_map(args, AliasRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)
}

/// Enabled keys whose next rotation is at or before `now`, earliest first. The state is a
/// literal, not a parameter, so that SQLite can match the partial index `keys_due_for_rotation`
/// (a test checks the plan and that the literal is `KeyState::Enabled`'s name). The index is
/// named: without statistics SQLite would rather search `keys_by_state` for the state (every
/// enabled key) and sort; `INDEXED BY` makes that plan, or a schema without the index, an
/// error instead of a slow scheduler.
pub(crate) const DUE_FOR_ROTATION: &str = "SELECT key_id FROM keys \
    INDEXED BY keys_due_for_rotation \
    WHERE key_state = 'Enabled' AND next_rotation_at_ms <= ?1 \
    ORDER BY next_rotation_at_ms, key_id LIMIT ?2";

/// Keys pending deletion whose deletion date is at or before `now`, earliest first, through
/// the partial index `keys_due_for_deletion` (named, as for [`DUE_FOR_ROTATION`]).
pub(crate) const DUE_FOR_DELETION: &str = "SELECT key_id FROM keys \
    INDEXED BY keys_due_for_deletion \
    WHERE key_state = 'PendingDeletion' AND deletion_date_ms <= ?1 \
    ORDER BY deletion_date_ms, key_id LIMIT ?2";

/// Keys in any state but PendingDeletion with some imported material present that expires at
/// or before `now`: each key once, by its earliest such expiry, ties by id. The materials are
/// found through the partial index `key_materials_due_for_expiry`, whose literals the query
/// repeats (`valid_to_ms IS NOT NULL` too: SQLite does not infer it from the comparison), and
/// each one's key by its primary key. The grouping and the order by the earliest expiry are
/// sorts over the due materials only (a test checks the plan).
pub(crate) const DUE_FOR_EXPIRY: &str = "SELECT m.key_id \
    FROM key_imported_materials AS m JOIN keys AS k ON k.key_id = m.key_id \
    WHERE m.present = 1 AND m.valid_to_ms IS NOT NULL AND m.valid_to_ms <= ?1 \
    AND k.key_state <> 'PendingDeletion' \
    GROUP BY m.key_id ORDER BY min(m.valid_to_ms), m.key_id LIMIT ?2";

/// How many keys are in each state, through the index `keys_by_state` alone.
pub(crate) const COUNT_BY_STATE: &str = "SELECT key_state, count(*) FROM keys GROUP BY key_state";

/// Every state that has keys, with its number of keys (one snapshot: one statement).
pub(crate) fn count_keys_by_state(conn: &Connection) -> Result<Vec<(KeyState, u64)>, StoreError> {
    let rows: Vec<(String, i64)> = conn
        .prepare_cached(COUNT_BY_STATE)
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    rows.into_iter()
        .map(|(state, n)| {
            let state = parse("key state", &state, KeyState::parse)?;
            let n = u64::try_from(n).map_err(|_| corrupt("key count", &n.to_string()))?;
            Ok((state, n))
        })
        .collect()
}

/// The ids a due-query ([`DUE_FOR_ROTATION`], [`DUE_FOR_DELETION`] or [`DUE_FOR_EXPIRY`])
/// answers.
pub(crate) fn due_keys(
    conn: &Connection,
    sql: &str,
    now: Timestamp,
    n: usize,
) -> Result<Vec<KeyId>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = conn
        .prepare_cached(sql)
        .and_then(|mut st| {
            st.query_map(params![now.0, limit(n)], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    ids.iter().map(|id| key_id(id)).collect()
}

/// The usage tracking of one key: one statement, so one snapshot.
pub(crate) fn get_key_usage(conn: &Connection, id: &KeyId) -> Result<Option<KeyUsage>, StoreError> {
    let row = conn
        .prepare_cached(UsageRow::QUERY)
        .and_then(|mut st| {
            st.query_row([id.to_string()], UsageRow::from_row)
                .optional()
        })
        .map_err(db_err)?;
    row.map(UsageRow::decode).transpose()
}

/// One account.
pub(crate) fn get_account(
    conn: &Connection,
    id: &AccountId,
) -> Result<Option<Account>, StoreError> {
    let row = conn
        .prepare_cached("SELECT account_id, created_at_ms FROM accounts WHERE account_id = ?1")
        .and_then(|mut st| st.query_row([id.as_str()], account_from_row).optional())
        .map_err(db_err)?;
    row.map(decode_account).transpose()
}

/// One access key.
pub(crate) fn get_access_key(
    conn: &Connection,
    id: &str,
) -> Result<Option<Versioned<AccessKey>>, StoreError> {
    let sql = format!(
        "SELECT {} FROM access_keys WHERE access_key_id = ?1",
        AccessKeyRow::COLUMNS
    );
    let row = conn
        .prepare_cached(&sql)
        .and_then(|mut st| st.query_row([id], AccessKeyRow::from_row).optional())
        .map_err(db_err)?;
    row.map(AccessKeyRow::decode).transpose()
}

/// The access keys `sql` selects (with `args`).
fn access_keys(
    conn: &Connection,
    sql: &str,
    args: &[&dyn ToSql],
) -> Result<Vec<Versioned<AccessKey>>, StoreError> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut st| {
            st.query_map(args, AccessKeyRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    rows.into_iter().map(AccessKeyRow::decode).collect()
}

/// The access keys of one owner in account `?1`, ordered by id, through
/// `access_keys_by_owner`: of user `?2` if `of_user`, else of the root. The owner kinds are
/// literals, the names `identities::{USER, ROOT}`; session keys have the other kind, so they
/// are never listed. A root key's user name is `NULL`, which the root query states so that
/// the index's order is the id order (a test checks both plans).
pub(crate) fn access_keys_query(of_user: bool) -> String {
    let owner = if of_user {
        "owner_kind = 'user' AND user_name = ?2"
    } else {
        "owner_kind = 'root' AND user_name IS NULL"
    };
    format!(
        "SELECT {} FROM access_keys WHERE account_id = ?1 AND {owner} ORDER BY access_key_id",
        AccessKeyRow::COLUMNS
    )
}

/// Every access key of user `name` of `account`, or of its root (`None`).
pub(crate) fn list_access_keys(
    conn: &Connection,
    account: &AccountId,
    user: Option<&str>,
) -> Result<Vec<Versioned<AccessKey>>, StoreError> {
    match user {
        Some(name) => access_keys(
            conn,
            &access_keys_query(true),
            params![account.as_str(), name],
        ),
        None => access_keys(conn, &access_keys_query(false), params![account.as_str()]),
    }
}

/// Session keys that expired at or before `now`, oldest first and ties by id, through the
/// partial index `access_keys_expired_sessions`, whose literal (`identities::SESSION`) the
/// query repeats (a test checks the plan).
pub(crate) const EXPIRED_SESSIONS: &str = "SELECT access_key_id FROM access_keys \
    WHERE owner_kind = 'session' AND expires_at_ms <= ?1 \
    ORDER BY expires_at_ms, access_key_id LIMIT ?2";

/// The ids [`EXPIRED_SESSIONS`] answers.
pub(crate) fn expired_sessions(
    conn: &Connection,
    now: Timestamp,
    n: usize,
) -> Result<Vec<String>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    conn.prepare_cached(EXPIRED_SESSIONS)
        .and_then(|mut st| {
            st.query_map(params![now.0, limit(n)], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)
}

/// The tags and policies of the principals of `p` whose names `names` (a statement over
/// `p.table` in account `?1`, with `args`) answers, by name.
fn children(
    conn: &Connection,
    p: Principals,
    names: &str,
    args: &[&dyn ToSql],
) -> Result<HashMap<String, Children>, StoreError> {
    type Field = fn(&mut Children) -> &mut BTreeMap<String, String>;
    let mut by_name: HashMap<String, Children> = HashMap::new();
    let tables: [(&str, &str, Field); 2] = [
        (p.tags, "tag_key, tag_value", |c| &mut c.tags),
        (p.policies, "policy_name, policy_document", |c| {
            &mut c.policies
        }),
    ];
    for (table, columns, field) in tables {
        let sql = format!(
            "SELECT {name}, {columns} FROM {table} WHERE account_id = ?1 AND {name} IN ({names})",
            name = p.name_column
        );
        let rows: Vec<(String, String, String)> = conn
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db_err)?;
        for (name, k, v) in rows {
            field(by_name.entry(name).or_default()).insert(k, v);
        }
    }
    Ok(by_name)
}

/// How a principal table is read: its columns and row type.
pub(crate) struct PrincipalRows<R> {
    p: Principals,
    columns: &'static str,
    from_row: fn(&Row<'_>) -> rusqlite::Result<R>,
    name: fn(&R) -> &str,
}

/// How `users` is read.
pub(crate) const USER_ROWS: PrincipalRows<UserRow> = PrincipalRows {
    p: USERS,
    columns: UserRow::COLUMNS,
    from_row: UserRow::from_row,
    name: UserRow::name,
};

/// How `roles` is read.
pub(crate) const ROLE_ROWS: PrincipalRows<RoleRow> = PrincipalRows {
    p: ROLES,
    columns: RoleRow::COLUMNS,
    from_row: RoleRow::from_row,
    name: RoleRow::name,
};

impl<R> PrincipalRows<R> {
    /// The rows of the principals whose names `names` answers, ordered by name.
    pub(crate) fn rows_query(&self, names: &str) -> String {
        format!(
            "SELECT {} FROM {} WHERE account_id = ?1 AND name IN ({names}) ORDER BY name",
            self.columns, self.p.table
        )
    }

    /// The name in account `?1` that matches `?2` case-insensitively, through the unique
    /// index on `name_lower` (folded by the same `lower()` as the stored names).
    pub(crate) fn by_name_query(&self) -> String {
        format!(
            "SELECT name FROM {} WHERE account_id = ?1 AND name_lower = lower(?2)",
            self.p.table
        )
    }

    /// One page of the names in account `?1` after `?2` whose path starts with `?3` (a
    /// literal prefix: `instr` has no wildcards), at most `?4`, in name order through the
    /// primary key.
    pub(crate) fn by_path_query(&self) -> String {
        format!(
            "SELECT name FROM {} WHERE account_id = ?1 AND name > ?2 \
             AND instr(path, ?3) = 1 ORDER BY name LIMIT ?4",
            self.p.table
        )
    }

    /// The principals whose names `names` answers (see [`children`]), ordered by name, each
    /// with its tags and policies, from one snapshot.
    fn read(
        &self,
        conn: &mut Connection,
        names: &str,
        args: &[&dyn ToSql],
    ) -> Result<Vec<(R, Children)>, StoreError> {
        let tx = conn.transaction().map_err(db_err)?;
        let sql = self.rows_query(names);
        let rows = tx
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(args, self.from_row)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(db_err)?;
        let mut children = children(&tx, self.p, names, args)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let c = children.remove((self.name)(&row)).unwrap_or_default();
                (row, c)
            })
            .collect())
    }

    /// One principal by name, matched case-insensitively.
    fn get(
        &self,
        conn: &mut Connection,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<(R, Children)>, StoreError> {
        let names = self.by_name_query();
        let found = self.read(conn, &names, params![account.as_str(), name])?;
        Ok(found.into_iter().next())
    }

    /// One page of the principals of `account` whose path starts with `path_prefix`, ordered
    /// by name from after `after`.
    fn list(
        &self,
        conn: &mut Connection,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<(R, Children)>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let names = self.by_path_query();
        let args = params![
            account.as_str(),
            after.unwrap_or_default(),
            path_prefix,
            limit(n)
        ];
        self.read(conn, &names, args)
    }
}

/// One user, with its tags and policies.
pub(crate) fn get_user(
    conn: &mut Connection,
    account: &AccountId,
    name: &str,
) -> Result<Option<Versioned<User>>, StoreError> {
    USER_ROWS
        .get(conn, account, name)?
        .map(|(row, c)| row.decode(c))
        .transpose()
}

/// One page of users.
pub(crate) fn list_users(
    conn: &mut Connection,
    account: &AccountId,
    path_prefix: &str,
    after: Option<&str>,
    n: usize,
) -> Result<Vec<User>, StoreError> {
    USER_ROWS
        .list(conn, account, path_prefix, after, n)?
        .into_iter()
        .map(|(row, c)| row.decode(c).map(|v| v.value))
        .collect()
}

/// One role, with its tags and policies.
pub(crate) fn get_role(
    conn: &mut Connection,
    account: &AccountId,
    name: &str,
) -> Result<Option<Versioned<Role>>, StoreError> {
    ROLE_ROWS
        .get(conn, account, name)?
        .map(|(row, c)| row.decode(c))
        .transpose()
}

/// One page of roles.
pub(crate) fn list_roles(
    conn: &mut Connection,
    account: &AccountId,
    path_prefix: &str,
    after: Option<&str>,
    n: usize,
) -> Result<Vec<Role>, StoreError> {
    ROLE_ROWS
        .list(conn, account, path_prefix, after, n)?
        .into_iter()
        .map(|(row, c)| row.decode(c).map(|v| v.value))
        .collect()
}

/// The grants `sql` selects (with `args`).
fn grants(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<Vec<Grant>, StoreError> {
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut st| {
            st.query_map(args, GrantRow::from_row)?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db_err)?;
    rows.into_iter().map(GrantRow::decode).collect()
}

/// One grant.
pub(crate) fn get_grant(
    conn: &Connection,
    key_id: &KeyId,
    grant_id: &str,
) -> Result<Option<Grant>, StoreError> {
    let sql = format!(
        "SELECT {} FROM grants WHERE key_id = ?1 AND grant_id = ?2",
        GrantRow::COLUMNS
    );
    let found = grants(conn, &sql, params![key_id.to_string(), grant_id])?;
    Ok(found.into_iter().next())
}

/// One page of the grants of a key, by grant id, through the primary key.
pub(crate) fn list_grants(
    conn: &Connection,
    key_id: &KeyId,
    after: Option<&str>,
    n: usize,
) -> Result<Vec<Grant>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {} FROM grants WHERE key_id = ?1 AND grant_id > ?2 ORDER BY grant_id LIMIT ?3",
        GrantRow::COLUMNS
    );
    let args = params![key_id.to_string(), after.unwrap_or_default(), limit(n)];
    grants(conn, &sql, args)
}

/// How many grants a key has.
pub(crate) fn count_grants(conn: &Connection, key_id: &KeyId) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM grants WHERE key_id = ?1")
        .and_then(|mut st| st.query_row([key_id.to_string()], |r| r.get(0)))
        .map_err(db_err)?;
    usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("invalid grant count {n}")))
}

/// The grants whose retiring principal is `?1`, by (key id, grant id) from after (`?2`, `?3`),
/// at most `?4`, through the partial index `grants_by_retiring_principal` (the equality on the
/// principal implies the index's `IS NOT NULL`; a test checks the plan).
pub(crate) fn retirable_grants_query() -> String {
    format!(
        "SELECT {} FROM grants WHERE retiring_principal = ?1 \
         AND (key_id, grant_id) > (?2, ?3) ORDER BY key_id, grant_id LIMIT ?4",
        GrantRow::COLUMNS
    )
}

/// One page of the grants a principal may retire (see [`retirable_grants_query`]).
pub(crate) fn list_retirable_grants(
    conn: &Connection,
    principal: &str,
    after: Option<(&KeyId, &str)>,
    n: usize,
) -> Result<Vec<Grant>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let (after_key, after_grant) = after.map_or((String::new(), ""), |(k, g)| (k.to_string(), g));
    let args = params![principal, after_key, after_grant, limit(n)];
    grants(conn, &retirable_grants_query(), args)
}

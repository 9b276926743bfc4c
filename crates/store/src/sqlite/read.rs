//! The read side: one function per [`Store`](crate::Store) query, each on a reader connection.
//!
//! A key is three statements (its row, its tags, its imported materials) rather than one join,
//! so a long policy is not repeated once per tag; they run in one read transaction so they see
//! the same snapshot even while the writer commits. Pagination is by key: `after` is compared with `>`, and the
//! empty string stands for "from the start" because every stored id and name is longer.

use super::codec::{
    AccessKeyRow, AliasRow, KeyRow, UsageRow, VersionRow, account_from_row, db_err, decode_account,
    key_id, limit,
};
use super::materials::MaterialRow;
use crate::{KeyUsage, StoreError, Versioned};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use std::collections::{BTreeMap, HashMap};
use strongroom_core::alias::Alias;
use strongroom_core::identity::{AccessKey, Account};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion};
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
/// (a test checks the plan and that the literal is `KeyState::Enabled`'s name).
pub(crate) const DUE_FOR_ROTATION: &str = "SELECT key_id FROM keys \
    WHERE key_state = 'Enabled' AND next_rotation_at_ms <= ?1 \
    ORDER BY next_rotation_at_ms, key_id LIMIT ?2";

/// Keys pending deletion whose deletion date is at or before `now`, earliest first, through
/// the partial index `keys_due_for_deletion`.
pub(crate) const DUE_FOR_DELETION: &str = "SELECT key_id FROM keys \
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

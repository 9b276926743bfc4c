//! Translation between SQLite rows and domain records, and between SQLite errors and
//! [`StoreError`].
//!
//! Rows are first read into plain structs of SQL values and only then decoded, so that a
//! stored value the domain does not accept (an unknown key state, a malformed id) surfaces as
//! [`StoreError::Corrupt`] naming the column, instead of as a generic driver error. Enums are
//! stored by their wire names, which are stable, rather than by position.

use crate::{StoreError, Versioned};
use rusqlite::{ErrorCode, Row};
use std::collections::BTreeMap;
use strongroom_core::alias::Alias;
use strongroom_core::identity::{AccessKey, AccessKeyStatus, Account};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, KeyVersion, Origin};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// Maps a driver error to the store's error. A locked database (the busy timeout expired)
/// and I/O failures are `Unavailable`: the caller may retry later. Values that do not fit
/// their column's type can only come from a damaged or foreign file.
pub(crate) fn db_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            return StoreError::Corrupt(e.to_string());
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            return StoreError::Unavailable(format!("database is locked: {e}"));
        }
        _ => {}
    }
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Like [`db_err`], but a violated uniqueness or reference constraint is a [`StoreError::Conflict`]:
/// the write expected a state of the store that does not hold.
pub(crate) fn write_err(e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
        StoreError::Conflict
    } else {
        db_err(e)
    }
}

fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {column} {value:?}"))
}

fn parse<T>(column: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| corrupt(column, value))
}

pub(crate) fn key_id(value: &str) -> Result<KeyId, StoreError> {
    parse("key id", value, KeyId::parse)
}

fn account_id(value: &str) -> Result<AccountId, StoreError> {
    parse("account id", value, AccountId::parse)
}

fn region(value: &str) -> Result<Region, StoreError> {
    parse("region", value, Region::parse)
}

fn alias_name(value: &str) -> Result<AliasName, StoreError> {
    AliasName::parse(value).map_err(|_| corrupt("alias name", value))
}

fn revision(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value)
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| StoreError::Corrupt(format!("invalid revision {value}")))
}

pub(crate) fn version(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("invalid key version {value}")))
}

/// A revision as the write path compares it. No stored revision exceeds `i64::MAX`, so a
/// larger expectation can never hold.
pub(crate) fn expected_revision(r: u64) -> Result<i64, StoreError> {
    i64::try_from(r).map_err(|_| StoreError::Conflict)
}

/// A `LIMIT` parameter; SQLite treats the largest value as "no limit".
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A row of `keys`, in [`KeyRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct KeyRow {
    key_id: String,
    arn: String,
    account_id: String,
    region: String,
    created_at_ms: i64,
    description: String,
    key_spec: String,
    key_usage: String,
    origin: String,
    key_manager: String,
    key_state: String,
    current_version: i64,
    policy: String,
    revision: i64,
}

impl KeyRow {
    /// The columns [`KeyRow::from_row`] reads, in order.
    pub(crate) const COLUMNS: &'static str = "key_id, arn, account_id, region, created_at_ms, \
        description, key_spec, key_usage, origin, key_manager, key_state, current_version, \
        policy, revision";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            arn: row.get(1)?,
            account_id: row.get(2)?,
            region: row.get(3)?,
            created_at_ms: row.get(4)?,
            description: row.get(5)?,
            key_spec: row.get(6)?,
            key_usage: row.get(7)?,
            origin: row.get(8)?,
            key_manager: row.get(9)?,
            key_state: row.get(10)?,
            current_version: row.get(11)?,
            policy: row.get(12)?,
            revision: row.get(13)?,
        })
    }

    /// The stored key id text.
    pub(crate) fn id(&self) -> &str {
        &self.key_id
    }

    pub(crate) fn decode(
        self,
        tags: BTreeMap<String, String>,
    ) -> Result<Versioned<Key>, StoreError> {
        let key = Key {
            id: key_id(&self.key_id)?,
            arn: self.arn,
            account: account_id(&self.account_id)?,
            region: region(&self.region)?,
            created_at: Timestamp(self.created_at_ms),
            description: self.description,
            spec: parse("key spec", &self.key_spec, KeySpec::parse)?,
            usage: parse("key usage", &self.key_usage, KeyUsage::parse)?,
            origin: parse("origin", &self.origin, Origin::parse)?,
            manager: parse("key manager", &self.key_manager, KeyManager::parse)?,
            state: parse("key state", &self.key_state, KeyState::parse)?,
            current_version: version(self.current_version)?,
            tags,
            policy: self.policy,
        };
        Ok(Versioned {
            revision: revision(self.revision)?,
            value: key,
        })
    }
}

/// A row of `key_versions`, in [`VersionRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct VersionRow {
    key_id: String,
    version: i64,
    created_at_ms: i64,
    wrapped_material: Vec<u8>,
}

impl VersionRow {
    pub(crate) const COLUMNS: &'static str = "key_id, version, created_at_ms, wrapped_material";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            version: row.get(1)?,
            created_at_ms: row.get(2)?,
            wrapped_material: row.get(3)?,
        })
    }

    pub(crate) fn decode(self) -> Result<KeyVersion, StoreError> {
        Ok(KeyVersion {
            key_id: key_id(&self.key_id)?,
            version: version(self.version)?,
            created_at: Timestamp(self.created_at_ms),
            wrapped_material: self.wrapped_material,
        })
    }
}

/// A row of `aliases`, in [`AliasRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct AliasRow {
    account_id: String,
    region: String,
    alias_name: String,
    target_key_id: String,
    created_at_ms: i64,
    updated_at_ms: i64,
    revision: i64,
}

impl AliasRow {
    pub(crate) const COLUMNS: &'static str =
        "account_id, region, alias_name, target_key_id, created_at_ms, updated_at_ms, revision";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            account_id: row.get(0)?,
            region: row.get(1)?,
            alias_name: row.get(2)?,
            target_key_id: row.get(3)?,
            created_at_ms: row.get(4)?,
            updated_at_ms: row.get(5)?,
            revision: row.get(6)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Versioned<Alias>, StoreError> {
        let alias = Alias {
            account: account_id(&self.account_id)?,
            region: region(&self.region)?,
            name: alias_name(&self.alias_name)?,
            target: key_id(&self.target_key_id)?,
            created_at: Timestamp(self.created_at_ms),
            updated_at: Timestamp(self.updated_at_ms),
        };
        Ok(Versioned {
            revision: revision(self.revision)?,
            value: alias,
        })
    }
}

/// A row of `accounts`.
pub(crate) fn account_from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64)> {
    Ok((row.get(0)?, row.get(1)?))
}

pub(crate) fn decode_account((id, created_at_ms): (String, i64)) -> Result<Account, StoreError> {
    Ok(Account {
        id: account_id(&id)?,
        created_at: Timestamp(created_at_ms),
    })
}

/// A row of `access_keys`, in [`AccessKeyRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct AccessKeyRow {
    access_key_id: String,
    account_id: String,
    principal_arn: String,
    wrapped_secret: Vec<u8>,
    status: String,
    created_at_ms: i64,
    revision: i64,
}

impl AccessKeyRow {
    pub(crate) const COLUMNS: &'static str = "access_key_id, account_id, principal_arn, \
        wrapped_secret, status, created_at_ms, revision";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            access_key_id: row.get(0)?,
            account_id: row.get(1)?,
            principal_arn: row.get(2)?,
            wrapped_secret: row.get(3)?,
            status: row.get(4)?,
            created_at_ms: row.get(5)?,
            revision: row.get(6)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Versioned<AccessKey>, StoreError> {
        let access_key = AccessKey {
            id: self.access_key_id,
            account: account_id(&self.account_id)?,
            principal_arn: self.principal_arn,
            wrapped_secret: self.wrapped_secret,
            status: parse("access key status", &self.status, AccessKeyStatus::parse)?,
            created_at: Timestamp(self.created_at_ms),
        };
        Ok(Versioned {
            revision: revision(self.revision)?,
            value: access_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_numbers_outside_the_domain_are_corrupt() {
        assert!(matches!(revision(0), Err(StoreError::Corrupt(_))));
        assert!(matches!(revision(-1), Err(StoreError::Corrupt(_))));
        assert_eq!(revision(7).unwrap(), 7);
        assert!(matches!(version(-1), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            version(i64::from(u32::MAX) + 1),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            expected_revision(u64::MAX),
            Err(StoreError::Conflict)
        ));
        assert_eq!(limit(usize::MAX), i64::MAX);
    }

    #[test]
    fn unknown_names_are_corrupt_and_named() {
        match parse("key state", "Melting", KeyState::parse) {
            Err(StoreError::Corrupt(m)) => {
                assert!(m.contains("key state") && m.contains("Melting"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(key_id("not-a-uuid"), Err(StoreError::Corrupt(_))));
        assert!(matches!(alias_name("orders"), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn busy_is_unavailable_and_constraint_is_conflict_only_on_write() {
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(db_err(busy), StoreError::Unavailable(_)));
        let constraint = || {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
                None,
            )
        };
        assert!(matches!(write_err(constraint()), StoreError::Conflict));
        assert!(matches!(db_err(constraint()), StoreError::Unavailable(_)));
    }
}

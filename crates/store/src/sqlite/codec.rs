//! Translation between SQLite rows and domain records, and between SQLite errors and
//! [`StoreError`].
//!
//! Rows are first read into plain structs of SQL values and only then decoded, so that a
//! stored value the domain does not accept (an unknown key state, a malformed id) surfaces as
//! [`StoreError::Corrupt`] naming the column, instead of as a generic driver error. Enums are
//! stored by their wire names, which are stable, rather than by position.

use super::identities::OwnerColumns;
use crate::{KeyUsage, KeyUsageRecord, StoreError, Versioned};
use rusqlite::{ErrorCode, Row};
use std::collections::BTreeMap;
use strongroom_core::alias::Alias;
use strongroom_core::identity::{AccessKey, AccessKeyStatus, Account};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{
    ImportedMaterial, Key, KeyManager, KeySpec, KeyUsage as KeyUsageKind, KeyVersion, Origin,
    RotationSchedule, RotationType, ScheduledDeletion,
};
use strongroom_core::operation::Operation;
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

pub(crate) fn corrupt(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {column} {value:?}"))
}

pub(crate) fn parse<T>(
    column: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| corrupt(column, value))
}

pub(crate) fn key_id(value: &str) -> Result<KeyId, StoreError> {
    parse("key id", value, KeyId::parse)
}

pub(crate) fn account_id(value: &str) -> Result<AccountId, StoreError> {
    parse("account id", value, AccountId::parse)
}

fn region(value: &str) -> Result<Region, StoreError> {
    parse("region", value, Region::parse)
}

fn alias_name(value: &str) -> Result<AliasName, StoreError> {
    AliasName::parse(value).map_err(|_| corrupt("alias name", value))
}

pub(crate) fn revision(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value)
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| StoreError::Corrupt(format!("invalid revision {value}")))
}

pub(crate) fn version(value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("invalid key version {value}")))
}

/// A stored count of days or rotations, which the domain holds as a `u32`.
pub(crate) fn count(column: &str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt(format!("invalid {column} {value}")))
}

/// Two columns that are set together or not at all: both `NULL` is `None`, one of them
/// `NULL` is corrupt (the schema's CHECK refuses it, so only a damaged file has it).
fn pair(columns: &str, a: Option<i64>, b: Option<i64>) -> Result<Option<(i64, i64)>, StoreError> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        _ => Err(StoreError::Corrupt(format!(
            "{columns} must be set together or not at all"
        ))),
    }
}

/// A stored rotation type: `NULL` for a key's first material.
fn rotation_type(value: Option<&str>) -> Result<Option<RotationType>, StoreError> {
    value
        .map(|v| parse("rotation type", v, RotationType::parse))
        .transpose()
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
    rotation_period_days: Option<i64>,
    next_rotation_at_ms: Option<i64>,
    on_demand_rotations: i64,
    deletion_date_ms: Option<i64>,
    pending_window_days: Option<i64>,
    policy_updated_at_ms: i64,
}

impl KeyRow {
    /// The columns [`KeyRow::from_row`] reads, in order. Version 4's import columns are not
    /// among them: since version 5 they are always `NULL` (see `schema::V5`).
    pub(crate) const COLUMNS: &'static str = "key_id, arn, account_id, region, created_at_ms, \
        description, key_spec, key_usage, origin, key_manager, key_state, current_version, \
        policy, revision, rotation_period_days, next_rotation_at_ms, on_demand_rotations, \
        deletion_date_ms, pending_window_days, policy_updated_at_ms";

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
            rotation_period_days: row.get(14)?,
            next_rotation_at_ms: row.get(15)?,
            on_demand_rotations: row.get(16)?,
            deletion_date_ms: row.get(17)?,
            pending_window_days: row.get(18)?,
            policy_updated_at_ms: row.get(19)?,
        })
    }

    /// The stored key id text.
    pub(crate) fn id(&self) -> &str {
        &self.key_id
    }

    /// The key, with its tags and its imported materials (ordered by version), which the
    /// caller read from their own tables in the same snapshot.
    pub(crate) fn decode(
        self,
        tags: BTreeMap<String, String>,
        imported: Vec<ImportedMaterial>,
    ) -> Result<Versioned<Key>, StoreError> {
        let rotation = pair(
            "rotation_period_days and next_rotation_at_ms",
            self.rotation_period_days,
            self.next_rotation_at_ms,
        )?
        .map(|(days, next)| {
            Ok::<_, StoreError>(RotationSchedule {
                period_days: count("rotation period", days)?,
                next_rotation_at: Timestamp(next),
            })
        })
        .transpose()?;
        let deletion = pair(
            "deletion_date_ms and pending_window_days",
            self.deletion_date_ms,
            self.pending_window_days,
        )?
        .map(|(date, days)| {
            Ok::<_, StoreError>(ScheduledDeletion {
                deletion_date: Timestamp(date),
                pending_window_days: count("pending window", days)?,
            })
        })
        .transpose()?;
        let key = Key {
            id: key_id(&self.key_id)?,
            arn: self.arn,
            account: account_id(&self.account_id)?,
            region: region(&self.region)?,
            created_at: Timestamp(self.created_at_ms),
            description: self.description,
            spec: parse("key spec", &self.key_spec, KeySpec::parse)?,
            usage: parse("key usage", &self.key_usage, KeyUsageKind::parse)?,
            origin: parse("origin", &self.origin, Origin::parse)?,
            manager: parse("key manager", &self.key_manager, KeyManager::parse)?,
            state: parse("key state", &self.key_state, KeyState::parse)?,
            current_version: version(self.current_version)?,
            tags,
            policy: self.policy,
            policy_updated_at: Timestamp(self.policy_updated_at_ms),
            rotation,
            on_demand_rotations: count("on-demand rotation count", self.on_demand_rotations)?,
            deletion,
            imported,
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
    rotation_type: Option<String>,
}

impl VersionRow {
    pub(crate) const COLUMNS: &'static str =
        "key_id, version, created_at_ms, wrapped_material, rotation_type";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            version: row.get(1)?,
            created_at_ms: row.get(2)?,
            wrapped_material: row.get(3)?,
            rotation_type: row.get(4)?,
        })
    }

    pub(crate) fn decode(self) -> Result<KeyVersion, StoreError> {
        Ok(KeyVersion {
            key_id: key_id(&self.key_id)?,
            version: version(self.version)?,
            created_at: Timestamp(self.created_at_ms),
            wrapped_material: self.wrapped_material,
            rotation_type: rotation_type(self.rotation_type.as_deref())?,
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
    owner: OwnerColumns,
}

impl AccessKeyRow {
    /// The columns [`AccessKeyRow::from_row`] reads, in order: the owner's come last, as
    /// [`OwnerColumns::from_row`] reads them.
    pub(crate) const COLUMNS: &'static str = "access_key_id, account_id, principal_arn, \
        wrapped_secret, status, created_at_ms, revision, owner_kind, user_name, role_name, \
        role_id, session_name, token_digest, expires_at_ms";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            access_key_id: row.get(0)?,
            account_id: row.get(1)?,
            principal_arn: row.get(2)?,
            wrapped_secret: row.get(3)?,
            status: row.get(4)?,
            created_at_ms: row.get(5)?,
            revision: row.get(6)?,
            owner: OwnerColumns::from_row(row, 7)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Versioned<AccessKey>, StoreError> {
        let access_key = AccessKey {
            id: self.access_key_id,
            account: account_id(&self.account_id)?,
            owner: self.owner.decode()?,
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

/// A key's row of `key_usage` as [`UsageRow::QUERY`] reads it: `keys` left-joined with
/// `key_usage`, so that a key without its usage row (which only a damaged file has) is told
/// apart from a missing key.
#[derive(Debug)]
pub(crate) struct UsageRow {
    key_id: String,
    tracking_start_ms: Option<i64>,
    operation: Option<String>,
    used_at_ms: Option<i64>,
    request_id: Option<String>,
}

impl UsageRow {
    /// The usage of key `?1`; no row if the key does not exist.
    pub(crate) const QUERY: &'static str = "SELECT k.key_id, u.tracking_start_ms, u.operation, \
        u.used_at_ms, u.request_id FROM keys AS k LEFT JOIN key_usage AS u USING (key_id) \
        WHERE k.key_id = ?1";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key_id: row.get(0)?,
            tracking_start_ms: row.get(1)?,
            operation: row.get(2)?,
            used_at_ms: row.get(3)?,
            request_id: row.get(4)?,
        })
    }

    pub(crate) fn decode(self) -> Result<KeyUsage, StoreError> {
        let tracking_start = self
            .tracking_start_ms
            .ok_or_else(|| StoreError::Corrupt(format!("key {} has no usage row", self.key_id)))?;
        let last = match (self.operation, self.used_at_ms, self.request_id) {
            (None, None, None) => None,
            (Some(operation), Some(at), Some(request_id)) => Some(KeyUsageRecord {
                key_id: key_id(&self.key_id)?,
                operation: parse("operation", &operation, Operation::from_name)?,
                at: Timestamp(at),
                request_id,
            }),
            _ => {
                return Err(StoreError::Corrupt(
                    "operation, used_at_ms and request_id must be set together or not at all"
                        .to_owned(),
                ));
            }
        };
        Ok(KeyUsage {
            tracking_start: Timestamp(tracking_start),
            last,
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
        match rotation_type(Some("automatic")) {
            Err(StoreError::Corrupt(m)) => {
                assert!(m.contains("rotation type") && m.contains("automatic"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rotation_type(None).unwrap(), None);
        for t in RotationType::ALL {
            assert_eq!(rotation_type(Some(t.as_str())).unwrap(), Some(*t));
        }
    }

    #[test]
    fn half_set_pairs_and_negative_counts_are_corrupt() {
        assert_eq!(pair("a and b", None, None).unwrap(), None);
        assert_eq!(pair("a and b", Some(1), Some(-2)).unwrap(), Some((1, -2)));
        for (a, b) in [(Some(1), None), (None, Some(1))] {
            match pair("a and b", a, b) {
                Err(StoreError::Corrupt(m)) => assert!(m.contains("a and b"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(count("x", -1), Err(StoreError::Corrupt(_))));
        assert!(matches!(
            count("x", i64::from(u32::MAX) + 1),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(count("x", i64::from(u32::MAX)).unwrap(), u32::MAX);
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

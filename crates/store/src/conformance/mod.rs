//! The conformance suite: the behaviour every [`Store`] backend must show, written once.
//!
//! Each case is a public function over `&dyn Store` that returns `Err(Failure)` instead of
//! panicking, so the suite lives in the library (where panics are denied) and a backend's
//! test file is one line:
//!
//! ```
//! use strongroom_store::{Store, StoreError, sqlite::SqliteStore};
//!
//! fn fresh() -> Result<Box<dyn Store>, StoreError> {
//!     let name = format!("conformance-{}.db", uuid::Uuid::new_v4());
//!     Ok(Box::new(SqliteStore::open(&std::env::temp_dir().join(name))?))
//! }
//!
//! strongroom_store::conformance_tests!(fresh);
//! ```
//!
//! [`conformance_tests!`](crate::conformance_tests) expands to one `#[test]` per case. The
//! factory returns `Result<B, E>` where `B` dereferences to a store (a `Box<dyn Store>`, or a
//! guard that owns a temporary directory and removes it on drop, as `tests/sqlite.rs` does)
//! and `E` is an error.
//!
//! Cases create their records under a fresh random account, so they may also share one
//! database (a PostgreSQL schema, say) and run in parallel. The due-queries, the
//! expired-session query and leases are global rather than per account; their cases cope with
//! records of other cases (see `due`) and use lease names of their own, and the retirable
//! grants are listed for a principal of the case's own.
//!
//! Beyond the trait's documentation, the suite fixes these rules: a write that would leave a
//! dangling reference (a version, alias or grant of a missing key, an access key, user or role
//! of a missing account) is a conflict; names and ids sort bytewise; writes in one transaction
//! see the earlier writes of the same transaction; a recorded key use as old as the stored one
//! keeps the stored one; a user or role is identified by its name as stored (an update or
//! delete naming it in another case is a conflict, while reads match any case), and users and
//! roles do not share a namespace; path prefixes are literal and case-sensitive; an access key
//! of a user names the user as stored and does not need the user to exist.

/// Fails the case with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Failure::at(file!(), line!(), format!($($fmt)+)));
        }
    };
}

/// Fails the case unless `got == want`, showing both.
macro_rules! ensure_eq {
    ($got:expr, $want:expr, $($fmt:tt)+) => {{
        let (got, want) = (&$got, &$want);
        if got != want {
            return Err($crate::conformance::Failure::at(
                file!(),
                line!(),
                format!("{}\n   got: {got:?}\n  want: {want:?}", format_args!($($fmt)+)),
            ));
        }
    }};
}

mod counts;
mod due;
mod fixtures;
mod grants;
mod identities;
mod import;
mod leases;
mod lifecycle;
mod lists;
mod records;
mod transactions;
mod usage;

pub use counts::count_keys_by_state_counts_every_key_once;
pub use due::{
    keys_due_for_deletion_across_scopes_in_order, keys_due_for_rotation_across_scopes_in_order,
};
pub use grants::{
    add_grant_needs_its_key_and_a_new_id, concurrent_retirements_admit_exactly_one,
    delete_grant_of_a_missing_grant_conflicts, delete_key_removes_its_grants,
    grants_round_trip_every_field, list_grants_pages_in_grant_id_order,
    list_retirable_grants_across_keys_in_order,
};
pub use identities::{
    access_key_owners_round_trip, delete_access_key_needs_current_revision,
    delete_user_and_role_need_current_revision, expired_sessions_across_accounts_oldest_first,
    list_access_keys_of_one_owner_in_id_order, list_users_and_roles_by_path_prefix_in_name_order,
    names_are_unique_per_account_case_insensitively, user_and_role_updates_need_current_revision,
    users_and_roles_need_their_account, users_and_roles_round_trip_every_field,
};
pub use import::{
    delete_key_version_removes_exactly_one_version,
    delete_key_version_with_a_stale_key_deletes_nothing, imported_material_round_trips,
    keys_due_for_expiry_across_scopes_in_order,
};
pub use leases::{
    concurrent_lease_takers_admit_exactly_one, lease_is_held_by_one_holder_until_it_expires,
};
pub use lifecycle::{
    delete_key_needs_current_revision, delete_key_removes_key_tags_versions_and_aliases,
    lifecycle_fields_round_trip, version_rotation_types_round_trip,
};

pub use lists::{list_aliases_pages_filter_and_scope, list_keys_pages_cover_every_key_once};
pub use records::{
    access_keys_round_trip, accounts_round_trip, aliases_round_trip, creating_twice_conflicts,
    delete_alias_needs_current_revision, duplicate_key_version_conflicts,
    key_versions_round_trip_in_order, keys_round_trip_every_field, missing_records_read_as_none,
    policy_updated_at_round_trips_and_updates, references_must_exist,
    revisions_start_at_one_and_increment, stale_revision_conflicts_and_changes_nothing,
    tags_are_replaced_with_the_key,
};
pub use transactions::{
    concurrent_creates_admit_exactly_one, concurrent_increments_lose_no_update,
    failed_transaction_applies_nothing, writes_apply_in_order_within_a_transaction,
};
pub use usage::{
    created_key_is_tracked_from_its_creation, delete_key_removes_its_usage,
    every_operation_round_trips, failed_transaction_records_no_usage, newest_recorded_use_wins,
    out_of_order_records_in_one_transaction_keep_the_newest, usage_of_a_missing_key_is_skipped,
    usage_of_a_missing_key_reads_as_none,
};

use crate::StoreError;
use std::fmt;

/// Why a conformance case failed: the line of the check and what it saw.
///
/// Deliberately not a `std::error::Error`, so that any error converts into it with `?`
/// (the blanket `From` below would otherwise overlap with `From<Failure> for Failure`).
pub struct Failure(String);

impl Failure {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub(crate) fn at(file: &str, line: u32, message: String) -> Self {
        Self(format!(
            "conformance check at {file}:{line} failed: {message}"
        ))
    }
}

/// Shows the message itself, which is what a failing `#[test]` prints.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(format!("unexpected error: {e}"))
    }
}

/// The outcome of one case.
pub type Outcome = Result<(), Failure>;

/// Checks that a commit was refused as a conflict.
fn expect_conflict(result: Result<(), StoreError>, what: &str) -> Outcome {
    match result {
        Err(StoreError::Conflict) => Ok(()),
        Ok(()) => Err(Failure::new(format!(
            "{what}: committed, expected a conflict"
        ))),
        Err(e) => Err(Failure::new(format!("{what}: {e}, expected a conflict"))),
    }
}

/// Expands to one `#[test]` per conformance case, each on a store from `$factory`.
///
/// `$factory` is called once per test and returns `Result<B, E>`, where `B` dereferences to a
/// type implementing [`Store`](crate::Store) and `E: std::error::Error`.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases ($factory)
            keys_round_trip_every_field,
            key_versions_round_trip_in_order,
            aliases_round_trip,
            accounts_round_trip,
            access_keys_round_trip,
            revisions_start_at_one_and_increment,
            policy_updated_at_round_trips_and_updates,
            tags_are_replaced_with_the_key,
            stale_revision_conflicts_and_changes_nothing,
            creating_twice_conflicts,
            duplicate_key_version_conflicts,
            delete_alias_needs_current_revision,
            references_must_exist,
            missing_records_read_as_none,
            list_keys_pages_cover_every_key_once,
            list_aliases_pages_filter_and_scope,
            failed_transaction_applies_nothing,
            writes_apply_in_order_within_a_transaction,
            concurrent_increments_lose_no_update,
            concurrent_creates_admit_exactly_one,
            lifecycle_fields_round_trip,
            version_rotation_types_round_trip,
            delete_key_removes_key_tags_versions_and_aliases,
            delete_key_needs_current_revision,
            keys_due_for_rotation_across_scopes_in_order,
            keys_due_for_deletion_across_scopes_in_order,
            lease_is_held_by_one_holder_until_it_expires,
            concurrent_lease_takers_admit_exactly_one,
            created_key_is_tracked_from_its_creation,
            newest_recorded_use_wins,
            out_of_order_records_in_one_transaction_keep_the_newest,
            usage_of_a_missing_key_is_skipped,
            failed_transaction_records_no_usage,
            delete_key_removes_its_usage,
            usage_of_a_missing_key_reads_as_none,
            every_operation_round_trips,
            imported_material_round_trips,
            delete_key_version_removes_exactly_one_version,
            delete_key_version_with_a_stale_key_deletes_nothing,
            keys_due_for_expiry_across_scopes_in_order,
            users_and_roles_round_trip_every_field,
            names_are_unique_per_account_case_insensitively,
            user_and_role_updates_need_current_revision,
            delete_user_and_role_need_current_revision,
            users_and_roles_need_their_account,
            list_users_and_roles_by_path_prefix_in_name_order,
            access_key_owners_round_trip,
            list_access_keys_of_one_owner_in_id_order,
            delete_access_key_needs_current_revision,
            expired_sessions_across_accounts_oldest_first,
            grants_round_trip_every_field,
            add_grant_needs_its_key_and_a_new_id,
            delete_grant_of_a_missing_grant_conflicts,
            concurrent_retirements_admit_exactly_one,
            list_grants_pages_in_grant_id_order,
            delete_key_removes_its_grants,
            list_retirable_grants_across_keys_in_order,
            count_keys_by_state_counts_every_key_once,
        );
    };
    (@cases ($factory:expr) $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() -> ::std::result::Result<(), $crate::conformance::Failure> {
                let backend = ($factory)()?;
                $crate::conformance::$case(&*backend)
            }
        )+
    };
}

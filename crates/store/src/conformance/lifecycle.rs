//! Cases about the key lifecycle records: the rotation and deletion fields of a key and the
//! rotation type of a version survive a round trip, and `DeleteKey` destroys a key with
//! everything that refers to it, or nothing at all.
//!
//! None of the keys made here is due for rotation or deletion at [`super::due::DUE_NOW`], so
//! these cases do not disturb the due-query cases in a shared database.

use super::fixtures::{Scope, T0, commit1, create_alias, create_key, must_get_key, version};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, Transaction, Write};
use strongroom_core::alias::Alias;
use strongroom_core::key::{Key, KeyVersion, RotationSchedule, RotationType, ScheduledDeletion};
use strongroom_core::lifecycle::DAY_MS;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

fn rotation(period_days: u32, next: i64) -> Option<RotationSchedule> {
    Some(RotationSchedule {
        period_days,
        next_rotation_at: Timestamp(next),
    })
}

fn deletion(date: i64, pending_window_days: u32) -> Option<ScheduledDeletion> {
    Some(ScheduledDeletion {
        deletion_date: Timestamp(date),
        pending_window_days,
    })
}

/// The lifecycle part of a key: state, rotation, on-demand rotations, deletion.
type Lifecycle = (
    KeyState,
    Option<RotationSchedule>,
    u32,
    Option<ScheduledDeletion>,
);

/// Rotation on and off, deletion set and unset, and the edges of every stored number (the
/// store keeps what it is given; the domain's ranges are the service's to check). Extreme
/// dates go with states that make them not due.
fn lifecycles() -> Vec<Lifecycle> {
    use KeyState::{Disabled, Enabled, PendingDeletion};
    vec![
        (Enabled, None, 0, None),
        (Enabled, rotation(365, T0.0 + 365 * DAY_MS), 0, None),
        (Enabled, rotation(90, i64::MAX), 25, None),
        (Disabled, rotation(2560, i64::MIN), u32::MAX, None),
        (Disabled, rotation(u32::MAX, 0), 1, None),
        (PendingDeletion, None, 3, deletion(T0.0 + 30 * DAY_MS, 30)),
        (
            PendingDeletion,
            rotation(365, T0.0),
            0,
            deletion(i64::MAX, 7),
        ),
        (Enabled, None, 0, deletion(i64::MIN, 0)),
        (Disabled, rotation(0, -1), 7, deletion(-1, u32::MAX)),
    ]
}

fn with_lifecycle(mut k: Key, (state, rotation, on_demand, deletion): Lifecycle) -> Key {
    k.state = state;
    k.rotation = rotation;
    k.on_demand_rotations = on_demand;
    k.deletion = deletion;
    k
}

/// The rotation schedule, the on-demand rotation count and the scheduled deletion of a key
/// read back as written, at creation and after updates that set, change and clear them.
pub fn lifecycle_fields_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let all = lifecycles();
    let keys: Vec<Key> = all
        .iter()
        .map(|l| with_lifecycle(scope.key(), *l))
        .collect();
    let mut txn = Transaction::new();
    for k in &keys {
        txn.push(Write::PutKey {
            key: k.clone(),
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    for k in &keys {
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(
            (got.revision, got.value),
            (1, k.clone()),
            "new key {}",
            k.id
        );
    }
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| k.id);
    let listed = store.list_keys(&scope.account, &scope.region, None, 100)?;
    ensure_eq!(listed, sorted, "keys listed");

    // Every key takes on the next one's lifecycle, so each field is set, changed and cleared.
    for (i, k) in keys.iter().enumerate() {
        let next = all
            .get((i + 1) % all.len())
            .copied()
            .ok_or_else(|| Failure::new("no lifecycles"))?;
        let updated = with_lifecycle(k.clone(), next);
        commit1(
            store,
            Write::PutKey {
                key: updated.clone(),
                expect: Expect::Revision(1),
            },
        )?;
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(
            (got.revision, got.value),
            (2, updated),
            "updated key {}",
            k.id
        );
    }
    Ok(())
}

/// A version's rotation type reads back as written: none (the first material) and every
/// rotation type.
pub fn version_rotation_types_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let mut want = vec![version(key.id, 1)];
    for (v, t) in (2..).zip(RotationType::ALL) {
        want.push(KeyVersion {
            rotation_type: Some(*t),
            ..version(key.id, v)
        });
    }
    for v in want.iter().rev() {
        commit1(store, Write::AddKeyVersion(v.clone()))?;
    }
    ensure_eq!(store.list_key_versions(&key.id)?, want, "versions listed");
    for v in &want {
        let got = store.get_key_version(&key.id, v.version)?;
        ensure_eq!(got.as_ref(), Some(v), "version {}", v.version);
    }
    Ok(())
}

/// A key at revision 2 pending deletion, with tags, three versions and `names` as aliases in
/// `scope`.
fn doomed_key(store: &dyn Store, scope: &Scope, names: &[&str]) -> Result<Key, Failure> {
    let mut key = scope.key();
    key.rotation = rotation(365, T0.0 + 365 * DAY_MS);
    key.on_demand_rotations = 2;
    create_key(store, &key)?;
    for v in 1..=3 {
        commit1(store, Write::AddKeyVersion(version(key.id, v)))?;
    }
    for name in names {
        create_alias(store, &scope.alias(name, key.id)?)?;
    }
    key.state = KeyState::PendingDeletion;
    key.deletion = deletion(T0.0 + 7 * DAY_MS, 7);
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    Ok(key)
}

fn delete(key: &Key, revision: u64) -> Write {
    Write::DeleteKey {
        id: key.id,
        revision,
    }
}

/// The aliases of `scope` that point at `key`.
fn aliases_of(store: &dyn Store, scope: &Scope, key: &Key) -> Result<Vec<Alias>, Failure> {
    let (account, region) = (&scope.account, &scope.region);
    Ok(store.list_aliases(account, region, Some(&key.id), None, 100)?)
}

/// `DeleteKey` destroys the key, its tags, every version and every alias that points at it
/// (in any scope), and nothing of another key; the id can then be created afresh.
pub fn delete_key_removes_key_tags_versions_and_aliases(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let doomed = doomed_key(store, &scope, &["alias/doomed-1", "alias/doomed-2"])?;
    let elsewhere = scope.in_region("eu-west-3")?;
    create_alias(store, &elsewhere.alias("alias/doomed-1", doomed.id)?)?;
    let other = scope.key();
    create_key(store, &other)?;
    let other_version = version(other.id, 1);
    commit1(store, Write::AddKeyVersion(other_version.clone()))?;
    let kept = [
        scope.alias("alias/kept", other.id)?,
        elsewhere.alias("alias/doomed-2", other.id)?,
    ];
    for a in &kept {
        create_alias(store, a)?;
    }

    commit1(store, delete(&doomed, 2))?;

    ensure!(store.get_key(&doomed.id)?.is_none(), "deleted key readable");
    ensure!(
        store.list_key_versions(&doomed.id)?.is_empty(),
        "versions of the deleted key remain"
    );
    ensure!(
        store.get_key_version(&doomed.id, 1)?.is_none(),
        "version 1 of the deleted key readable"
    );
    for s in [&scope, &elsewhere] {
        let left = aliases_of(store, s, &doomed)?;
        ensure!(
            left.is_empty(),
            "aliases of the deleted key remain: {left:?}"
        );
    }
    let got = must_get_key(store, &other.id)?;
    ensure_eq!((got.revision, got.value), (1, other.clone()), "other key");
    ensure_eq!(
        store.list_key_versions(&other.id)?,
        vec![other_version],
        "other key's versions"
    );
    for (a, s) in kept.iter().zip([&scope, &elsewhere]) {
        let got = store.get_alias(&s.account, &s.region, &a.name)?;
        ensure_eq!(
            got.map(|v| (v.revision, v.value)),
            Some((1, a.clone())),
            "alias of the other key"
        );
    }
    let listed: Vec<_> = store
        .list_keys(&scope.account, &scope.region, None, 100)?
        .into_iter()
        .map(|k| k.id)
        .collect();
    ensure_eq!(listed, vec![other.id], "keys listed after the delete");

    // Nothing of the old key survives under its id: no tags, no versions, revision 1 again.
    let mut reborn = scope.key();
    reborn.id = doomed.id;
    reborn.tags.clear();
    create_key(store, &reborn)?;
    let got = must_get_key(store, &doomed.id)?;
    ensure_eq!((got.revision, got.value), (1, reborn), "key re-created");
    ensure!(
        store.list_key_versions(&doomed.id)?.is_empty(),
        "old versions reattached"
    );
    Ok(())
}

/// Everything [`doomed_key`] made, as read now.
fn snapshot(
    store: &dyn Store,
    scope: &Scope,
    key: &Key,
) -> Result<impl PartialEq + std::fmt::Debug, Failure> {
    Ok((
        store.get_key(&key.id)?,
        store.list_key_versions(&key.id)?,
        aliases_of(store, scope, key)?,
    ))
}

/// `DeleteKey` at a stale or future revision, of a missing key, or in a transaction that
/// fails later, is refused and deletes nothing; a deleted key cannot be deleted again.
pub fn delete_key_needs_current_revision(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = doomed_key(store, &scope, &["alias/survivor"])?;
    let before = snapshot(store, &scope, &key)?;
    for rev in [1, 3, u64::MAX] {
        expect_conflict(
            commit1(store, delete(&key, rev)),
            &format!("delete at revision {rev}"),
        )?;
        ensure_eq!(
            snapshot(store, &scope, &key)?,
            before,
            "after a refused delete at revision {rev}"
        );
    }
    let ghost = scope.key();
    expect_conflict(commit1(store, delete(&ghost, 1)), "delete of a missing key")?;

    let mut txn = Transaction::new();
    txn.push(delete(&key, 2)).push(Write::PutKey {
        key: ghost,
        expect: Expect::Revision(1),
    });
    expect_conflict(store.commit(txn), "delete in a failing transaction")?;
    ensure_eq!(
        snapshot(store, &scope, &key)?,
        before,
        "after a failed transaction with a delete"
    );

    commit1(store, delete(&key, 2))?;
    expect_conflict(commit1(store, delete(&key, 2)), "second delete")?;
    ensure!(store.get_key(&key.id)?.is_none(), "key after delete");
    Ok(())
}

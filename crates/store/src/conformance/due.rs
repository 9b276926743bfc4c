//! Cases about the due-queries that drive the lifecycle scheduler: which keys are due for
//! rotation or deletion at an instant, across every account and region, in what order.
//!
//! The queries are global, so in a shared database they may also list other cases' keys.
//! The cases therefore compare their own keys exactly, check that every key listed is due by
//! the domain's own rule ([`Key::rotation_due`], [`Key::deletion_due`]) and in order, and that
//! a limited query answers a prefix of the unlimited one. They ask about [`DUE_NOW`], long
//! before any date the other cases use for a key that could be due, and delete their keys at
//! the end, so that the checks are exact in practice. The expiry due-query's case (in
//! `import`) uses the same helpers.

use super::fixtures::{Scope, commit1, must_get_key};
use super::{Failure, Outcome};
use crate::{Expect, Store, StoreError, Transaction, Write};
use strongroom_core::ids::KeyId;
use strongroom_core::key::{Key, RotationSchedule, ScheduledDeletion};
use strongroom_core::lifecycle::DAY_MS;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// The instant the due-query cases ask about: 1996-01-01, before the dates other cases give
/// keys that could be due.
pub(crate) const DUE_NOW: Timestamp = Timestamp(820_454_400_000);

/// `days` days before [`DUE_NOW`].
pub(super) fn days_before(days: i64) -> i64 {
    DUE_NOW.0 - days * DAY_MS
}

/// One of the due-queries, with the domain's rule for it.
pub(super) struct Due<'a> {
    pub(super) what: &'static str,
    pub(super) query: &'a dyn Fn(Timestamp, usize) -> Result<Vec<KeyId>, StoreError>,
    /// The date that orders a due key, if `key` is due at `now`.
    pub(super) due_at: fn(&Key, Timestamp) -> Option<Timestamp>,
}

fn rotation_due_at(k: &Key, now: Timestamp) -> Option<Timestamp> {
    k.rotation
        .filter(|_| k.rotation_due(now))
        .map(|r| r.next_rotation_at)
}

fn deletion_due_at(k: &Key, now: Timestamp) -> Option<Timestamp> {
    k.deletion
        .filter(|_| k.deletion_due(now))
        .map(|d| d.deletion_date)
}

impl Due<'_> {
    /// Checks the query at `now`: of the case's keys `own`, exactly `want` are listed, in that
    /// order; every key listed is due and in order; limits cut the list.
    pub(super) fn check(
        &self,
        store: &dyn Store,
        now: Timestamp,
        own: &[KeyId],
        want: &[KeyId],
    ) -> Outcome {
        let what = self.what;
        let all = (self.query)(now, usize::MAX)?;
        let mine: Vec<KeyId> = all.iter().copied().filter(|id| own.contains(id)).collect();
        ensure_eq!(mine, want, "{what} at {now:?}, of the case's keys");
        let mut last = None;
        for id in &all {
            // A key of a case running beside this one may be gone already.
            let Some(k) = store.get_key(id)? else {
                continue;
            };
            let Some(date) = (self.due_at)(&k.value, now) else {
                return Err(Failure::new(format!(
                    "{what} at {now:?} listed {id}, which is not due: {:?}",
                    k.value
                )));
            };
            let entry = (date, *id);
            ensure!(
                last.is_none_or(|prev| prev < entry),
                "{what} at {now:?}: {id} listed out of order in {all:?}"
            );
            last = Some(entry);
        }
        for n in [0, 1, 2, want.len(), want.len() + 1] {
            let page = (self.query)(now, n)?;
            let prefix = all.get(..n.min(all.len())).unwrap_or_default();
            ensure_eq!(page, prefix, "{what} at {now:?} with limit {n}");
        }
        Ok(())
    }
}

/// Creates `keys` in one transaction, in the order given.
pub(super) fn create_all(store: &dyn Store, keys: &[&Key]) -> Outcome {
    let mut txn = Transaction::new();
    for k in keys {
        txn.push(Write::PutKey {
            key: (*k).clone(),
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    Ok(())
}

/// Writes `key` over its current revision.
pub(super) fn update(store: &dyn Store, key: &Key) -> Outcome {
    let current = must_get_key(store, &key.id)?;
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(current.revision),
    };
    commit1(store, write)?;
    Ok(())
}

/// Deletes the keys `ids` at their current revisions.
pub(super) fn delete_all(store: &dyn Store, ids: &[KeyId]) -> Outcome {
    let mut txn = Transaction::new();
    for id in ids {
        let revision = must_get_key(store, id)?.revision;
        txn.push(Write::DeleteKey { id: *id, revision });
    }
    store.commit(txn)?;
    Ok(())
}

/// `a` and `b` in key id order.
pub(super) fn by_id(a: &Key, b: &Key) -> [KeyId; 2] {
    if a.id < b.id {
        [a.id, b.id]
    } else {
        [b.id, a.id]
    }
}

/// Three scopes: two accounts, one of them in two regions.
pub(super) fn scopes() -> Result<[Scope; 3], Failure> {
    let a = Scope::new("us-east-1")?;
    let c = a.in_region("ap-southeast-2")?;
    Ok([a, Scope::new("eu-west-3")?, c])
}

/// `list_keys_due_for_rotation` answers the enabled keys with rotation on whose next rotation
/// is at or before `now`, in every account and region, earliest first and ties by id; a
/// disabled or pending-deletion key is not due whatever its date, nor a key without rotation.
/// A later write of a key moves it in or out.
pub fn keys_due_for_rotation_across_scopes_in_order(store: &dyn Store) -> Outcome {
    let [a, b, c] = scopes()?;
    let key = |scope: &Scope, state: KeyState, next: Option<i64>| Key {
        state,
        rotation: next.map(|n| RotationSchedule {
            period_days: 365,
            next_rotation_at: Timestamp(n),
        }),
        ..scope.key()
    };
    use KeyState::{Disabled, Enabled, PendingDeletion};
    let mut first = key(&a, Enabled, Some(days_before(3)));
    let (tie1, tie2) = (
        key(&b, Enabled, Some(days_before(2))),
        key(&c, Enabled, Some(days_before(2))),
    );
    let mut just = key(&b, Enabled, Some(DUE_NOW.0 - 1));
    let boundary = key(&c, Enabled, Some(DUE_NOW.0));
    let later = key(&a, Enabled, Some(DUE_NOW.0 + 1));
    let mut disabled = key(&b, Disabled, Some(days_before(10)));
    let pending = key(&c, PendingDeletion, Some(days_before(10)));
    let off = key(&a, Enabled, None);
    let created = [
        &later, &boundary, &pending, &tie2, &first, &off, &just, &disabled, &tie1,
    ];
    create_all(store, &created)?;
    let own: Vec<KeyId> = created.iter().map(|k| k.id).collect();
    let [lo, hi] = by_id(&tie1, &tie2);

    let due = Due {
        what: "keys due for rotation",
        query: &|now, n| store.list_keys_due_for_rotation(now, n),
        due_at: rotation_due_at,
    };
    let want = [first.id, lo, hi, just.id, boundary.id];
    due.check(store, DUE_NOW, &own, &want)?;
    due.check(store, Timestamp(DUE_NOW.0 - 1), &own, &want[..4])?;
    due.check(store, Timestamp(days_before(2)), &own, &want[..3])?;
    due.check(store, Timestamp(days_before(2) - 1), &own, &want[..1])?;
    due.check(store, Timestamp(days_before(11)), &own, &[])?;

    // Re-enabling a key makes its overdue rotation due; disabling rotation or the key does not.
    disabled.state = Enabled;
    update(store, &disabled)?;
    first.rotation = None;
    update(store, &first)?;
    just.state = Disabled;
    update(store, &just)?;
    let want = [disabled.id, lo, hi, boundary.id];
    due.check(store, DUE_NOW, &own, &want)?;

    delete_all(store, &own)?;
    due.check(store, DUE_NOW, &own, &[])
}

/// `list_keys_due_for_deletion` answers the keys pending deletion whose deletion date is at
/// or before `now`, in every account and region, earliest first and ties by id; a key in
/// another state is not due whatever its date. Cancelling a deletion takes a key out, and a
/// deleted key is gone.
pub fn keys_due_for_deletion_across_scopes_in_order(store: &dyn Store) -> Outcome {
    let [a, b, c] = scopes()?;
    let key = |scope: &Scope, state: KeyState, date: Option<i64>| Key {
        state,
        deletion: date.map(|d| ScheduledDeletion {
            deletion_date: Timestamp(d),
            pending_window_days: 7,
        }),
        ..scope.key()
    };
    use KeyState::{Disabled, Enabled, PendingDeletion};
    let first = key(&c, PendingDeletion, Some(days_before(7)));
    let (tie1, tie2) = (
        key(&a, PendingDeletion, Some(days_before(1))),
        key(&b, PendingDeletion, Some(days_before(1))),
    );
    let mut boundary = key(&a, PendingDeletion, Some(DUE_NOW.0));
    let later = key(&b, PendingDeletion, Some(DUE_NOW.0 + 1));
    let enabled = key(&c, Enabled, Some(days_before(30)));
    let disabled = key(&a, Disabled, Some(days_before(30)));
    let undated = key(&b, PendingDeletion, None);
    let created = [
        &tie1, &enabled, &later, &boundary, &undated, &first, &disabled, &tie2,
    ];
    create_all(store, &created)?;
    let own: Vec<KeyId> = created.iter().map(|k| k.id).collect();
    let [lo, hi] = by_id(&tie1, &tie2);

    let due = Due {
        what: "keys due for deletion",
        query: &|now, n| store.list_keys_due_for_deletion(now, n),
        due_at: deletion_due_at,
    };
    let want = [first.id, lo, hi, boundary.id];
    due.check(store, DUE_NOW, &own, &want)?;
    due.check(store, Timestamp(DUE_NOW.0 - 1), &own, &want[..3])?;
    due.check(store, Timestamp(days_before(1) - 1), &own, &want[..1])?;
    due.check(store, Timestamp(days_before(8)), &own, &[])?;
    due.check(
        store,
        Timestamp(DUE_NOW.0 + 1),
        &own,
        &[first.id, lo, hi, boundary.id, later.id],
    )?;

    // Cancelling takes a key out; deleting the due ones, as the scheduler does, empties it.
    boundary.state = Disabled;
    boundary.deletion = None;
    update(store, &boundary)?;
    due.check(store, DUE_NOW, &own, &want[..3])?;
    delete_all(store, &want[..3])?;
    due.check(store, DUE_NOW, &own, &[])?;
    ensure!(
        store.get_key(&first.id)?.is_none(),
        "due key still there after its delete"
    );

    let rest: Vec<KeyId> = own
        .iter()
        .copied()
        .filter(|id| !want[..3].contains(id))
        .collect();
    delete_all(store, &rest)
}

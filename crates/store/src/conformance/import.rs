//! Cases about imported key material (BYOK): a key's imported materials (one record per
//! material version) survive a round trip and are replaced with the key, `DeleteKeyVersion`
//! removes exactly one material version and commits or rolls back with the rest of its
//! transaction, and the expiry due-query lists each key with some present material that has
//! expired, across every account and region, by its earliest such expiry.
//!
//! The round-trip and delete cases give every present material of a key that could be due a
//! date after [`DUE_NOW`], so they do not disturb the due-query case in a shared database.

use super::due::{DUE_NOW, Due, by_id, create_all, days_before, delete_all, scopes, update};
use super::fixtures::{Scope, T0, commit1, create_key, must_get_key, new_key_id, version};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, Transaction, Write};
use strongroom_core::ids::KeyId;
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion, Origin};
use strongroom_core::lifecycle::DAY_MS;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// A fingerprint as the service makes them: 32 bytes (an HMAC-SHA-256), distinct per seed,
/// with a zero byte for seed 0.
fn fingerprint(seed: u8) -> Vec<u8> {
    (0..32u8)
        .map(|b| b.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

/// The material of `version`, with a fingerprint of its own.
fn material(
    version: u32,
    valid_to: Option<i64>,
    present: bool,
    rotated_at: Option<i64>,
) -> ImportedMaterial {
    ImportedMaterial {
        version,
        fingerprint: fingerprint(u8::try_from(version % 256).unwrap_or(0)),
        valid_to: valid_to.map(Timestamp),
        present,
        rotated_at: rotated_at.map(Timestamp),
    }
}

/// A key of origin EXTERNAL in `scope` with `state`, current version `current` and
/// `imported`.
fn external(scope: &Scope, state: KeyState, current: u32, imported: Vec<ImportedMaterial>) -> Key {
    Key {
        origin: Origin::External,
        state,
        current_version: current,
        imported,
        ..scope.key()
    }
}

/// The earliest expiry that orders `k`, if some material of it is due to expire at `now` by
/// the domain's own rule ([`Key::expiry_due`]).
fn expiry_due_at(k: &Key, now: Timestamp) -> Option<Timestamp> {
    if !k.expiry_due(now) {
        return None;
    }
    k.imported
        .iter()
        .filter(|m| m.present)
        .filter_map(|m| m.valid_to)
        .min()
}

/// A year after [`T0`]: the expiry of materials that must never be due in these cases.
const LATER: i64 = T0.0 + 365 * DAY_MS;

/// A key's imported materials read back as written, by id and through the list: none; one;
/// several versions (not consecutive, one pending rotation) with every combination of expiry,
/// presence and rotation date; the edges of the stored numbers (on materials that cannot be
/// due: deleted ones, or of a key pending deletion). Updates replace the whole set, and leave
/// other keys' sets alone.
pub fn imported_material_round_trips(store: &dyn Store) -> Outcome {
    use KeyState::{Disabled, Enabled, PendingDeletion, PendingImport};
    let scope = Scope::new("us-east-1")?;
    let mut every = Vec::new();
    for valid_to in [None, Some(LATER)] {
        for present in [false, true] {
            for rotated in [false, true] {
                let v = u32::try_from(every.len()).unwrap_or(0) + 1;
                let rotated_at = rotated.then_some(T0.0 + i64::from(v));
                every.push(material(v, valid_to, present, rotated_at));
            }
        }
    }
    let mut zero = material(1, Some(LATER), true, None);
    zero.fingerprint = fingerprint(0);
    let mut keys = vec![
        external(&scope, PendingImport, 1, vec![]),
        external(&scope, Enabled, 1, vec![zero]),
        external(&scope, Enabled, 7, every),
        external(
            &scope,
            Disabled,
            5,
            vec![
                material(2, Some(i64::MIN), false, None),
                material(5, Some(-1), false, Some(-1)),
                material(9, Some(LATER), true, None),
            ],
        ),
        external(
            &scope,
            PendingDeletion,
            2,
            vec![
                material(1, Some(i64::MIN), true, Some(i64::MIN)),
                material(2, Some(i64::MAX), true, Some(i64::MAX)),
                material(u32::MAX, None, false, Some(0)),
            ],
        ),
    ];
    create_all(store, &keys.iter().collect::<Vec<_>>())?;
    for k in &keys {
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(got.value, *k, "key {} read back", k.id);
    }
    let listed = |keys: &[Key]| -> Outcome {
        let mut sorted = keys.to_vec();
        sorted.sort_by_key(|k| k.id);
        let listed = store.list_keys(&scope.account, &scope.region, None, 1000)?;
        ensure_eq!(listed, sorted, "keys listed");
        Ok(())
    };
    listed(&keys)?;

    // Import, import new material, rotate to it, delete the old one, forget everything: each
    // an update of one key that replaces its whole set.
    let Some(k) = keys.first_mut() else {
        return Ok(());
    };
    let steps = [
        (Enabled, 1, vec![material(1, Some(LATER), true, None)]),
        (
            Enabled,
            1,
            vec![
                material(1, Some(LATER), true, None),
                material(2, None, true, None),
            ],
        ),
        (
            Enabled,
            2,
            vec![
                material(1, None, true, None),
                material(2, Some(LATER), true, Some(T0.0 + 5)),
            ],
        ),
        (
            Enabled,
            2,
            vec![
                material(1, None, false, None),
                material(2, Some(LATER), true, Some(T0.0 + 5)),
            ],
        ),
        (Disabled, 2, vec![material(2, None, false, Some(T0.0 + 6))]),
        (PendingImport, 2, vec![]),
    ];
    for (i, (state, current, imported)) in steps.into_iter().enumerate() {
        k.state = state;
        k.current_version = current;
        k.imported = imported;
        update(store, k)?;
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(got.value, *k, "key after update {i}");
        ensure_eq!(got.revision, 2 + i as u64, "revision after update {i}");
    }
    listed(&keys)
}

/// The versions of `id`, as listed and one by one (up to `n`).
fn versions_of(store: &dyn Store, id: &KeyId, n: u32) -> Result<Vec<KeyVersion>, Failure> {
    let listed = store.list_key_versions(id)?;
    for v in 1..=n {
        let one = store.get_key_version(id, v)?;
        ensure_eq!(
            one.as_ref(),
            listed.iter().find(|l| l.version == v),
            "version {v} of {id}, listed and read"
        );
    }
    Ok(listed)
}

/// A key with imported materials of versions `1..=n` (the last current) and their versions.
fn with_versions(
    store: &dyn Store,
    scope: &Scope,
    n: u32,
) -> Result<(Key, Vec<KeyVersion>), Failure> {
    let imported = (1..=n)
        .map(|v| material(v, Some(LATER), true, (v > 1).then_some(T0.0)))
        .collect();
    let k = external(scope, KeyState::Enabled, n, imported);
    create_key(store, &k)?;
    let versions: Vec<KeyVersion> = (1..=n).map(|v| version(k.id, v)).collect();
    let mut txn = Transaction::new();
    for v in &versions {
        txn.push(Write::AddKeyVersion(v.clone()));
    }
    store.commit(txn)?;
    Ok((k, versions))
}

/// The writes that delete the materials `versions` of `k` at `revision`, as the service does:
/// each version, and the key with those materials marked absent (pending import if the
/// current one is among them). Answers the key as written.
fn delete_materials(k: &Key, revision: u64, versions: &[u32]) -> (Key, Vec<Write>) {
    let mut deleted = k.clone();
    for m in &mut deleted.imported {
        if versions.contains(&m.version) {
            m.present = false;
        }
    }
    if versions.contains(&k.current_version) {
        deleted.state = KeyState::PendingImport;
    }
    let mut writes: Vec<Write> = versions
        .iter()
        .map(|&version| Write::DeleteKeyVersion { id: k.id, version })
        .collect();
    writes.push(Write::PutKey {
        key: deleted.clone(),
        expect: Expect::Revision(revision),
    });
    (deleted, writes)
}

/// `DeleteKeyVersion` removes exactly its version: the key's other versions and other keys'
/// versions stay; with the key's `PutKey` in the same transaction, the key keeps its material
/// records. A missing version, or a missing key, is no conflict and changes nothing.
pub fn delete_key_version_removes_exactly_one_version(store: &dyn Store) -> Outcome {
    let scope = Scope::new("eu-central-1")?;
    let (doomed, doomed_versions) = with_versions(store, &scope, 3)?;
    let (kept, kept_versions) = with_versions(store, &scope, 2)?;

    let (deleted, writes) = delete_materials(&doomed, 1, &[2]);
    store.commit(Transaction { writes })?;
    let rest: Vec<KeyVersion> = doomed_versions
        .iter()
        .filter(|v| v.version != 2)
        .cloned()
        .collect();
    ensure_eq!(
        versions_of(store, &doomed.id, 3)?,
        rest,
        "versions after the delete"
    );
    ensure_eq!(
        versions_of(store, &kept.id, 2)?,
        kept_versions,
        "versions of another key"
    );
    let got = must_get_key(store, &doomed.id)?;
    ensure_eq!(
        (got.revision, &got.value),
        (2, &deleted),
        "key after the delete"
    );

    // Again, and versions that never existed, of this key and of a missing one: no-ops.
    for (id, version) in [
        (doomed.id, 2),
        (doomed.id, 4),
        (doomed.id, 0),
        (doomed.id, u32::MAX),
        (new_key_id(), 1),
    ] {
        commit1(store, Write::DeleteKeyVersion { id, version })?;
    }
    ensure_eq!(
        versions_of(store, &doomed.id, 3)?,
        rest,
        "versions after no-op deletes"
    );
    ensure_eq!(
        versions_of(store, &kept.id, 2)?,
        kept_versions,
        "versions of another key"
    );
    ensure_eq!(
        must_get_key(store, &doomed.id)?.revision,
        2,
        "revision after no-op deletes"
    );

    // The version takes its material again (a reimport), beside the others.
    commit1(store, Write::AddKeyVersion(version(doomed.id, 2)))?;
    ensure_eq!(
        versions_of(store, &doomed.id, 3)?,
        doomed_versions,
        "versions after a reimport"
    );
    Ok(())
}

/// `DeleteKeyVersion` with a stale `PutKey` of its key, before or after it in the
/// transaction, is a conflict and deletes nothing.
pub fn delete_key_version_with_a_stale_key_deletes_nothing(store: &dyn Store) -> Outcome {
    let scope = Scope::new("eu-central-1")?;
    let (k, versions) = with_versions(store, &scope, 2)?;
    let mut changed = k.clone();
    changed.description = "changed".to_owned();
    commit1(
        store,
        Write::PutKey {
            key: changed.clone(),
            expect: Expect::Revision(1),
        },
    )?;
    let (_, writes) = delete_materials(&k, 1, &[1]);
    let mut reversed = writes.clone();
    reversed.reverse();
    for writes in [writes, reversed] {
        expect_conflict(
            store.commit(Transaction { writes }),
            "stale delete of a version",
        )?;
        ensure_eq!(
            versions_of(store, &k.id, 2)?,
            versions,
            "versions after the conflict"
        );
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(
            (got.revision, &got.value),
            (2, &changed),
            "key after the conflict"
        );
    }
    Ok(())
}

/// `list_keys_due_for_expiry` answers the keys, in any state but PendingDeletion, with some
/// imported material present whose expiry is at or before `now`, whichever version it is: in
/// every account and region, each key once, by its earliest such expiry, ties by id. Deleted
/// material, material that does not expire, and keys pending deletion are not due whatever
/// the date. Deleting materials takes a key out or moves it; cancelling a deletion puts a key
/// back.
pub fn keys_due_for_expiry_across_scopes_in_order(store: &dyn Store) -> Outcome {
    let [a, b, c] = scopes()?;
    use KeyState::{Disabled, Enabled, PendingDeletion, PendingImport, Unavailable};
    let one = |scope: &Scope, state: KeyState, valid_to: Option<i64>, present: bool| {
        external(scope, state, 1, vec![material(1, valid_to, present, None)])
    };
    let first = one(&a, Enabled, Some(days_before(3)), true);
    let (tie1, tie2) = (
        one(&b, Enabled, Some(days_before(2)), true),
        one(&c, Disabled, Some(days_before(2)), true),
    );
    let just = one(&b, Disabled, Some(DUE_NOW.0 - 1), true);
    let boundary = one(&c, Enabled, Some(DUE_NOW.0), true);
    let later = one(&a, Enabled, Some(DUE_NOW.0 + 1), true);
    let deleted = one(&b, Enabled, Some(days_before(10)), false);
    let never = one(&c, Enabled, None, true);
    let unavailable = one(&b, Unavailable, Some(days_before(7)), true);
    let mut pending_deletion = one(&a, PendingDeletion, Some(days_before(10)), true);
    // Only the non-current material has expired.
    let non_current = external(
        &c,
        Enabled,
        2,
        vec![
            material(1, Some(days_before(4)), true, None),
            material(2, Some(DUE_NOW.0 + DAY_MS), true, Some(days_before(20))),
        ],
    );
    // The current material is deleted; the non-current one is present and expired.
    let pending_import = external(
        &a,
        PendingImport,
        2,
        vec![
            material(1, Some(days_before(8)), true, None),
            material(2, Some(days_before(20)), false, Some(days_before(30))),
        ],
    );
    // Three expired materials, two of them at the key's earliest expiry: listed once.
    let twice = external(
        &b,
        Enabled,
        3,
        vec![
            material(1, Some(days_before(6)), true, None),
            material(2, Some(days_before(6)), true, Some(days_before(20))),
            material(3, Some(days_before(1)), true, Some(days_before(19))),
        ],
    );
    // An expired but deleted material beside one that has not expired.
    let mixed = external(
        &c,
        Enabled,
        2,
        vec![
            material(1, Some(days_before(9)), false, None),
            material(2, Some(DUE_NOW.0 + 1), true, Some(days_before(20))),
        ],
    );
    let generated = a.key();
    let created = [
        &later,
        &boundary,
        &pending_import,
        &tie2,
        &mixed,
        &first,
        &never,
        &twice,
        &just,
        &deleted,
        &non_current,
        &tie1,
        &pending_deletion,
        &unavailable,
        &generated,
    ];
    create_all(store, &created)?;
    let own: Vec<KeyId> = created.iter().map(|k| k.id).collect();
    let [lo, hi] = by_id(&tie1, &tie2);

    let due = Due {
        what: "keys due for expiry",
        query: &|now, n| store.list_keys_due_for_expiry(now, n),
        due_at: expiry_due_at,
    };
    let want = [
        pending_import.id,
        unavailable.id,
        twice.id,
        non_current.id,
        first.id,
        lo,
        hi,
        just.id,
        boundary.id,
    ];
    due.check(store, DUE_NOW, &own, &want)?;
    due.check(store, Timestamp(DUE_NOW.0 - 1), &own, &want[..8])?;
    due.check(store, Timestamp(days_before(2)), &own, &want[..7])?;
    due.check(store, Timestamp(days_before(2) - 1), &own, &want[..5])?;
    due.check(store, Timestamp(days_before(6)), &own, &want[..3])?;
    due.check(store, Timestamp(days_before(6) - 1), &own, &want[..2])?;
    due.check(store, Timestamp(days_before(9)), &own, &[])?;

    // Expiring materials, as the scheduler does: the current one of `first` and the
    // non-current one of `non_current` take them out; one of the two earliest of `twice`
    // leaves it in place, both move it to its last one. Cancelling the deletion of a key
    // whose material has expired meanwhile puts that one in.
    for (k, versions) in [(&first, &[1][..]), (&non_current, &[1]), (&twice, &[2])] {
        let revision = must_get_key(store, &k.id)?.revision;
        store.commit(Transaction {
            writes: delete_materials(k, revision, versions).1,
        })?;
    }
    due.check(store, DUE_NOW, &own, &{
        let mut w = want.to_vec();
        w.retain(|id| *id != first.id && *id != non_current.id);
        w
    })?;
    let current = must_get_key(store, &twice.id)?;
    store.commit(Transaction {
        writes: delete_materials(&current.value, current.revision, &[1]).1,
    })?;
    pending_deletion.state = Disabled;
    update(store, &pending_deletion)?;
    let want = [
        pending_deletion.id,
        pending_import.id,
        unavailable.id,
        lo,
        hi,
        twice.id,
        just.id,
        boundary.id,
    ];
    due.check(store, DUE_NOW, &own, &want)?;

    delete_all(store, &own)?;
    due.check(store, DUE_NOW, &own, &[])
}

//! Cases about imported key material (BYOK): what a key knows about its imported material
//! survives a round trip, `DeleteKeyMaterial` removes every version of one key and commits or
//! rolls back with the rest of its transaction, and the expiry due-query lists the keys whose
//! present material has expired, across every account and region, earliest first.
//!
//! The round-trip and delete cases give every key whose material could expire a date after
//! [`DUE_NOW`], so they do not disturb the due-query cases in a shared database.

use super::due::{DUE_NOW, Due, by_id, create_all, days_before, delete_all, scopes, update};
use super::fixtures::{Scope, T0, commit1, create_key, must_get_key, version};
use super::{Outcome, expect_conflict};
use crate::{Expect, Store, Transaction, Write};
use strongroom_core::ids::KeyId;
use strongroom_core::key::{ImportedMaterial, Key, KeyVersion, Origin};
use strongroom_core::lifecycle::DAY_MS;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// A fingerprint as the service makes them: 32 bytes (an HMAC-SHA-256), all distinct, with a
/// zero byte for seed 0.
fn fingerprint(seed: u8) -> Vec<u8> {
    (0..32u8)
        .map(|b| b.wrapping_mul(7).wrapping_add(seed))
        .collect()
}

fn material(valid_to: Option<i64>, present: bool) -> Option<ImportedMaterial> {
    Some(ImportedMaterial {
        fingerprint: fingerprint(0),
        valid_to: valid_to.map(Timestamp),
        present,
    })
}

/// A key of origin EXTERNAL in `scope` with `state` and `imported`.
fn external(scope: &Scope, state: KeyState, imported: Option<ImportedMaterial>) -> Key {
    Key {
        origin: Origin::External,
        state,
        imported,
        ..scope.key()
    }
}

/// The expiry that orders `k`, if its imported material is due to expire at `now` by the
/// domain's own rule ([`Key::expiry_due`]).
fn expiry_due_at(k: &Key, now: Timestamp) -> Option<Timestamp> {
    k.imported
        .as_ref()
        .filter(|_| k.expiry_due(now))
        .and_then(|m| m.valid_to)
}

/// The imported material of a key reads back as written, by id and through the list: none;
/// present or deleted; with and without an expiry (the edges of the stored number go with
/// keys whose material cannot expire: deleted, or pending import); and after updates that
/// set, change and clear it.
pub fn imported_material_round_trips(store: &dyn Store) -> Outcome {
    use KeyState::{Disabled, Enabled, PendingImport};
    let scope = Scope::new("us-east-1")?;
    let later = T0.0 + 365 * DAY_MS;
    let mut keys = vec![
        external(&scope, PendingImport, None),
        external(&scope, Enabled, material(Some(later), true)),
        external(&scope, Enabled, material(None, true)),
        external(&scope, Disabled, material(Some(later), false)),
        external(&scope, Disabled, material(None, false)),
        external(&scope, PendingImport, material(Some(i64::MIN), false)),
        external(&scope, PendingImport, material(Some(i64::MAX), true)),
        external(&scope, Enabled, material(Some(-1), false)),
    ];
    if let Some(k) = keys.get_mut(2).and_then(|k| k.imported.as_mut()) {
        k.fingerprint = vec![0xff; 32];
    }
    create_all(store, &keys.iter().collect::<Vec<_>>())?;
    for k in &keys {
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(got.value, *k, "key {} read back", k.id);
    }
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| k.id);
    let listed = store.list_keys(&scope.account, &scope.region, None, 1000)?;
    ensure_eq!(listed, sorted, "keys listed");

    // Import, delete, reimport with another expiry, and forget, as updates of one key.
    let Some(k) = keys.first_mut() else {
        return Ok(());
    };
    let steps = [
        material(Some(later), true),
        material(Some(later), false),
        Some(ImportedMaterial {
            fingerprint: fingerprint(9),
            valid_to: None,
            present: true,
        }),
        None,
    ];
    for (i, imported) in steps.into_iter().enumerate() {
        k.state = if imported.is_some() {
            Enabled
        } else {
            PendingImport
        };
        k.imported = imported;
        update(store, k)?;
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(got.value, *k, "key after update {i}");
        ensure_eq!(got.revision, 2 + i as u64, "revision after update {i}");
    }
    Ok(())
}

/// The versions of `id`, as listed and one by one.
fn versions_of(store: &dyn Store, id: &KeyId, n: u32) -> Result<Vec<KeyVersion>, super::Failure> {
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

/// A key with imported material and `n` versions, and the versions.
fn with_versions(
    store: &dyn Store,
    scope: &Scope,
    n: u32,
) -> Result<(Key, Vec<KeyVersion>), super::Failure> {
    let k = external(
        scope,
        KeyState::Enabled,
        material(Some(T0.0 + DAY_MS), true),
    );
    create_key(store, &k)?;
    let versions: Vec<KeyVersion> = (1..=n).map(|v| version(k.id, v)).collect();
    let mut txn = Transaction::new();
    for v in &versions {
        txn.push(Write::AddKeyVersion(v.clone()));
    }
    store.commit(txn)?;
    Ok((k, versions))
}

/// The writes that delete the material of `k` at `revision`, as the service does: the
/// versions, and the key marked as without material.
fn delete_material(k: &Key, revision: u64) -> [Write; 2] {
    let mut deleted = k.clone();
    deleted.state = KeyState::PendingImport;
    if let Some(m) = deleted.imported.as_mut() {
        m.present = false;
    }
    [
        Write::DeleteKeyMaterial { id: k.id },
        Write::PutKey {
            key: deleted,
            expect: Expect::Revision(revision),
        },
    ]
}

/// `DeleteKeyMaterial` removes every version of its key, and only of that key; with the
/// key's `PutKey` in the same transaction, the key keeps its fingerprint. A key without
/// versions is no conflict.
pub fn delete_key_material_removes_every_version_of_that_key_only(store: &dyn Store) -> Outcome {
    let scope = Scope::new("eu-central-1")?;
    let (doomed, _) = with_versions(store, &scope, 3)?;
    let (kept, kept_versions) = with_versions(store, &scope, 2)?;

    store.commit(Transaction {
        writes: delete_material(&doomed, 1).into(),
    })?;
    ensure_eq!(
        versions_of(store, &doomed.id, 3)?,
        vec![],
        "versions after the delete"
    );
    ensure_eq!(
        versions_of(store, &kept.id, 2)?,
        kept_versions,
        "versions of another key"
    );
    let got = must_get_key(store, &doomed.id)?;
    ensure_eq!(got.revision, 2, "revision after the delete");
    ensure_eq!(
        got.value.imported,
        material(Some(T0.0 + DAY_MS), false),
        "imported material after the delete"
    );

    // Again, now without versions; and alone, for a key that never had any.
    store.commit(Transaction {
        writes: delete_material(&got.value, 2).into(),
    })?;
    let bare = external(&scope, KeyState::PendingImport, None);
    create_key(store, &bare)?;
    commit1(store, Write::DeleteKeyMaterial { id: bare.id })?;
    ensure_eq!(
        must_get_key(store, &bare.id)?.revision,
        1,
        "revision of the bare key"
    );
    ensure_eq!(
        versions_of(store, &kept.id, 2)?,
        kept_versions,
        "versions of another key"
    );

    // The key takes new material afterwards.
    commit1(store, Write::AddKeyVersion(version(doomed.id, 4)))?;
    ensure_eq!(
        versions_of(store, &doomed.id, 4)?,
        vec![version(doomed.id, 4)],
        "versions after a reimport"
    );
    Ok(())
}

/// `DeleteKeyMaterial` with a stale `PutKey` of its key, before or after it in the
/// transaction, is a conflict and deletes nothing.
pub fn delete_key_material_with_a_stale_key_deletes_nothing(store: &dyn Store) -> Outcome {
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
    let [delete, put] = delete_material(&k, 1);
    for writes in [vec![delete.clone(), put.clone()], vec![put, delete]] {
        expect_conflict(
            store.commit(Transaction { writes }),
            "stale delete of material",
        )?;
        ensure_eq!(
            versions_of(store, &k.id, 2)?,
            versions,
            "versions after the conflict"
        );
        let got = must_get_key(store, &k.id)?;
        ensure_eq!(
            (got.revision, got.value),
            (2, changed.clone()),
            "key after the conflict"
        );
    }
    Ok(())
}

/// `list_keys_due_for_expiry` answers the enabled and disabled keys whose imported material is
/// present and expires at or before `now`, in every account and region, earliest first and
/// ties by id; deleted material, material that does not expire, and keys pending import or
/// deletion (or in any other state) are not due whatever the date. Deleting the material takes
/// a key out; cancelling a deletion puts it back.
pub fn keys_due_for_expiry_across_scopes_in_order(store: &dyn Store) -> Outcome {
    let [a, b, c] = scopes()?;
    let key = |scope: &Scope, state: KeyState, valid_to: Option<i64>, present: bool| {
        external(scope, state, material(valid_to, present))
    };
    use KeyState::{Disabled, Enabled, PendingDeletion, PendingImport, Unavailable};
    let first = key(&a, Enabled, Some(days_before(3)), true);
    let (tie1, tie2) = (
        key(&b, Enabled, Some(days_before(2)), true),
        key(&c, Disabled, Some(days_before(2)), true),
    );
    let just = key(&b, Disabled, Some(DUE_NOW.0 - 1), true);
    let boundary = key(&c, Enabled, Some(DUE_NOW.0), true);
    let later = key(&a, Enabled, Some(DUE_NOW.0 + 1), true);
    let deleted = key(&b, Enabled, Some(days_before(10)), false);
    let pending_import = key(&c, PendingImport, Some(days_before(10)), true);
    let mut pending_deletion = key(&a, PendingDeletion, Some(days_before(10)), true);
    let unavailable = key(&b, Unavailable, Some(days_before(10)), true);
    let never = key(&c, Enabled, None, true);
    let generated = a.key();
    let created = [
        &later,
        &boundary,
        &pending_import,
        &tie2,
        &first,
        &never,
        &just,
        &deleted,
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
    let want = [first.id, lo, hi, just.id, boundary.id];
    due.check(store, DUE_NOW, &own, &want)?;
    due.check(store, Timestamp(DUE_NOW.0 - 1), &own, &want[..4])?;
    due.check(store, Timestamp(days_before(2)), &own, &want[..3])?;
    due.check(store, Timestamp(days_before(2) - 1), &own, &want[..1])?;
    due.check(store, Timestamp(days_before(11)), &own, &[])?;

    // Expiring the first key's material, as the scheduler does, takes it out; cancelling the
    // deletion of a key whose material has expired meanwhile puts that one in.
    let revision = must_get_key(store, &first.id)?.revision;
    store.commit(Transaction {
        writes: delete_material(&first, revision).into(),
    })?;
    pending_deletion.state = Disabled;
    update(store, &pending_deletion)?;
    let want = [pending_deletion.id, lo, hi, just.id, boundary.id];
    due.check(store, DUE_NOW, &own, &want)?;

    delete_all(store, &own)?;
    due.check(store, DUE_NOW, &own, &[])
}

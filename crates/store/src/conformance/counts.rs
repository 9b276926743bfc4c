//! Cases about `count_keys_by_state`, the count behind the `strongroom_keys` gauge.
//!
//! The count is global, so in a shared database it also counts other cases' keys. The case
//! therefore compares differences: it counts before and after its own writes, and relies on
//! exact differences only for states no other case gives a key (`Creating`, `Updating`,
//! `PendingReplicaDeletion`); for `Enabled` and `Disabled` it checks that its own keys are
//! counted at least. It deletes its keys at the end.

use super::fixtures::{Scope, commit1, create_key, must_get_key};
use super::{Failure, Outcome};
use crate::{Expect, Store, Write};
use std::collections::BTreeMap;
use strongroom_core::key::Key;
use strongroom_core::state::KeyState;

/// The counts, by state name, checked for the trait's rules: each state once, none zero.
fn counts(store: &dyn Store) -> Result<BTreeMap<&'static str, u64>, Failure> {
    let mut by_state = BTreeMap::new();
    for (state, n) in store.count_keys_by_state()? {
        ensure!(n > 0, "{state:?} listed with a count of zero");
        ensure!(
            by_state.insert(state.as_str(), n).is_none(),
            "{state:?} listed twice"
        );
    }
    Ok(by_state)
}

fn count(c: &BTreeMap<&'static str, u64>, state: KeyState) -> u64 {
    c.get(state.as_str()).copied().unwrap_or(0)
}

/// Every key is counted once, under its current state: creations, a state change and a
/// deletion move the counts; a state left without keys is not listed.
pub fn count_keys_by_state_counts_every_key_once(store: &dyn Store) -> Outcome {
    use KeyState::{Creating, Disabled, Enabled, PendingReplicaDeletion, Updating};
    let scope = Scope::new("us-east-1")?;
    let other_region = scope.in_region("ap-south-1")?;
    let before = counts(store)?;

    let keyed = |scope: &Scope, state: KeyState| Key {
        state,
        ..scope.key()
    };
    let mine = [
        keyed(&scope, Enabled),
        keyed(&scope, Enabled),
        keyed(&other_region, Enabled),
        keyed(&scope, Disabled),
        keyed(&scope, Updating),
        keyed(&other_region, Updating),
        keyed(&scope, PendingReplicaDeletion),
        keyed(&scope, Creating),
    ];
    for k in &mine {
        create_key(store, k)?;
    }
    let after = counts(store)?;
    for (state, want) in [(Updating, 2), (PendingReplicaDeletion, 1), (Creating, 1)] {
        ensure_eq!(
            count(&after, state).saturating_sub(count(&before, state)),
            want,
            "keys in state {state:?} added by the case"
        );
    }
    ensure!(
        count(&after, Enabled) >= 3 && count(&after, Disabled) >= 1,
        "the case's 3 Enabled and 1 Disabled keys are not all counted: {after:?}"
    );

    // One Updating key becomes Enabled; the PendingReplicaDeletion key is destroyed.
    let [.., updating, _, replica_deleting, _] = &mine;
    let stored = must_get_key(store, &updating.id)?;
    commit1(
        store,
        Write::PutKey {
            key: Key {
                state: Enabled,
                ..stored.value
            },
            expect: Expect::Revision(stored.revision),
        },
    )?;
    let stored = must_get_key(store, &replica_deleting.id)?;
    commit1(
        store,
        Write::DeleteKey {
            id: replica_deleting.id,
            revision: stored.revision,
        },
    )?;
    let changed = counts(store)?;
    for (state, want) in [(Updating, 1), (PendingReplicaDeletion, 0), (Creating, 1)] {
        ensure_eq!(
            count(&changed, state).saturating_sub(count(&before, state)),
            want,
            "keys in state {state:?} after the change"
        );
    }
    if count(&before, PendingReplicaDeletion) == 0 {
        ensure!(
            !changed.contains_key(PendingReplicaDeletion.as_str()),
            "a state without keys is listed: {changed:?}"
        );
    }

    for k in mine.iter().filter(|k| k.id != replica_deleting.id) {
        let stored = must_get_key(store, &k.id)?;
        commit1(
            store,
            Write::DeleteKey {
                id: k.id,
                revision: stored.revision,
            },
        )?;
    }
    let end = counts(store)?;
    for state in [Updating, Creating] {
        ensure_eq!(
            count(&end, state),
            count(&before, state),
            "keys in state {state:?} once the case's keys are deleted"
        );
    }
    Ok(())
}

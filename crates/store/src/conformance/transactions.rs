//! Cases about transactions: all writes or none, in order, and optimistic concurrency that
//! loses no update when threads race.

use super::fixtures::{Scope, commit1, create_key, must_get_key, version};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, StoreError, Transaction, Write};

/// Threads racing in the concurrency cases.
const THREADS: u64 = 4;
/// Increments each thread commits.
const INCREMENTS: u64 = 25;
/// Attempts one increment may take before the case declares a livelock.
const MAX_ATTEMPTS: usize = 10_000;

/// A transaction whose last write conflicts leaves every earlier write unapplied.
pub fn failed_transaction_applies_nothing(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let existing = scope.key();
    create_key(store, &existing)?;
    let fresh = scope.key();
    let mut changed = existing.clone();
    changed.description = "must not be written".to_owned();
    let alias = scope.alias("alias/never", fresh.id)?;

    let mut txn = Transaction::new();
    txn.push(Write::PutKey {
        key: fresh.clone(),
        expect: Expect::Absent,
    })
    .push(Write::AddKeyVersion(version(fresh.id, 1)))
    .push(Write::PutAlias {
        alias: alias.clone(),
        expect: Expect::Absent,
    })
    .push(Write::AddAccount(scope.account_record()))
    .push(Write::PutKey {
        key: changed,
        expect: Expect::Revision(1),
    })
    .push(Write::PutKey {
        key: existing.clone(),
        expect: Expect::Absent,
    });
    expect_conflict(store.commit(txn), "transaction ending in a conflict")?;

    ensure!(
        store.get_key(&fresh.id)?.is_none(),
        "new key of failed transaction stored"
    );
    ensure!(
        store.list_key_versions(&fresh.id)?.is_empty(),
        "version stored"
    );
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure!(got.is_none(), "alias of failed transaction stored");
    ensure!(
        store.get_account(&scope.account)?.is_none(),
        "account stored"
    );
    let got = must_get_key(store, &existing.id)?;
    ensure_eq!(
        (got.revision, got.value),
        (1, existing),
        "updated key of failed transaction"
    );
    Ok(())
}

/// Writes of one transaction apply in order, each seeing the ones before it.
pub fn writes_apply_in_order_within_a_transaction(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    let mut txn = Transaction::new();
    txn.push(Write::PutKey {
        key: key.clone(),
        expect: Expect::Absent,
    });
    key.description = "updated in the same transaction".to_owned();
    key.current_version = 2;
    txn.push(Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(1),
    })
    .push(Write::AddKeyVersion(version(key.id, 1)))
    .push(Write::AddKeyVersion(version(key.id, 2)));
    store.commit(txn)?;
    let got = must_get_key(store, &key.id)?;
    ensure_eq!(
        (got.revision, got.value),
        (2, key.clone()),
        "key after two writes"
    );
    ensure_eq!(
        store.list_key_versions(&key.id)?.len(),
        2,
        "versions of the key"
    );
    ensure!(
        store.commit(Transaction::new()).is_ok(),
        "empty transaction refused"
    );
    Ok(())
}

/// Reads the counter in the key's description, and writes it back plus one, retrying on
/// conflict. Answers the number of conflicts met.
fn increment(store: &dyn Store, id: &strongroom_core::ids::KeyId) -> Result<u64, Failure> {
    let mut conflicts = 0;
    for _ in 0..MAX_ATTEMPTS {
        let current = must_get_key(store, id)?;
        let n: u64 = current
            .value
            .description
            .parse()
            .map_err(|_| Failure::new("counter is not a number"))?;
        let mut key = current.value;
        key.description = (n + 1).to_string();
        let write = Write::PutKey {
            key,
            expect: Expect::Revision(current.revision),
        };
        match commit1(store, write) {
            Ok(()) => return Ok(conflicts),
            Err(StoreError::Conflict) => conflicts += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Failure::new("increment kept conflicting"))
}

/// Threads doing read-modify-write increments of one counter, retrying on conflict, lose no
/// update: the counter and the revision both count every increment.
pub fn concurrent_increments_lose_no_update(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    key.description = "0".to_owned();
    create_key(store, &key)?;
    let results: Vec<Result<u64, Failure>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    (0..INCREMENTS).try_fold(0, |sum, _| Ok(sum + increment(store, &key.id)?))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(Failure::new("worker panicked")))
            })
            .collect()
    });
    for r in results {
        r?;
    }
    let got = must_get_key(store, &key.id)?;
    let total = THREADS * INCREMENTS;
    ensure_eq!(
        got.value.description,
        total.to_string(),
        "counter after the race"
    );
    ensure_eq!(got.revision, total + 1, "revision after the race");
    Ok(())
}

/// Threads creating the same key at once: exactly one succeeds, the others conflict.
pub fn concurrent_creates_admit_exactly_one(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    let results: Vec<Result<(), StoreError>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|i| {
                let mut mine = key.clone();
                mine.description = format!("created by thread {i}");
                s.spawn(move || {
                    commit1(
                        store,
                        Write::PutKey {
                            key: mine,
                            expect: Expect::Absent,
                        },
                    )
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(StoreError::Unavailable("panicked".into())))
            })
            .collect()
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    let lost = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict)))
        .count();
    ensure_eq!(
        (won, lost),
        (1, results.len() - 1),
        "winners and losers: {results:?}"
    );
    let got = must_get_key(store, &key.id)?;
    ensure!(
        got.value.description.starts_with("created by thread"),
        "winner's key"
    );
    ensure_eq!(got.revision, 1, "revision of the contested key");
    Ok(())
}

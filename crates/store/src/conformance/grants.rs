//! Cases about grants: every field survives a round trip (every operation, constraints of
//! every shape), grants are insert-only rows of an existing key, deleting one that does not
//! exist is a conflict (so one of two concurrent retirements wins), a key's grants list in
//! grant id order and go with the key, and the grants one principal may retire list across
//! keys and accounts in (key id, grant id) order.
//!
//! Retirable grants are listed for a principal name of the case's own, so cases sharing a
//! database do not see each other's.

use super::fixtures::{Scope, T0, commit1, create_key, new_grant_id, new_key_id};
use super::lists::{PAGE_SIZES, collect_pages};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, StoreError, Transaction, Write};
use std::collections::BTreeMap;
use strongroom_core::grant::{Grant, GrantConstraints, GrantOperation};
use strongroom_core::ids::KeyId;
use strongroom_core::key::Key;
use strongroom_core::time::Timestamp;

/// Threads racing to retire one grant.
const THREADS: usize = 8;

fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An encryption context whose keys and values hold separators, quotes, control characters
/// and text that is not ASCII.
fn tricky_context() -> BTreeMap<String, String> {
    context(&[
        ("", ""),
        ("a,b", "c=d;e"),
        ("quote\"d", "'single'"),
        ("\u{0}nul", "line\nbreak\ttab"),
        ("ключ", "значение 🔑"),
        ("Department", "Finance"),
    ])
}

/// Adds `grant`.
fn add(store: &dyn Store, grant: &Grant) -> Outcome {
    commit1(store, Write::AddGrant(grant.clone()))?;
    Ok(())
}

/// Grants on `key` that together use every operation, and every shape of name, retiring
/// principal and constraints.
fn varied_grants(scope: &Scope, key: &Key) -> Vec<Grant> {
    let mut reversed = GrantOperation::ALL.to_vec();
    reversed.reverse();
    let base = scope.grant(key);
    vec![
        Grant {
            operations: GrantOperation::ALL.to_vec(),
            created_at: Timestamp(i64::MIN),
            ..base.clone()
        },
        Grant {
            id: new_grant_id(),
            name: Some("orders-app".to_owned()),
            retiring_principal: Some(format!("arn:aws:iam::{}:role/retirer", scope.account)),
            operations: reversed,
            constraints: Some(GrantConstraints {
                equals: Some(tricky_context()),
                subset: None,
            }),
            created_at: Timestamp(i64::MAX),
            ..base.clone()
        },
        Grant {
            id: new_grant_id(),
            name: Some(String::new()),
            grantee_principal: "kms.amazonaws.com".to_owned(),
            retiring_principal: Some(String::new()),
            operations: vec![GrantOperation::Decrypt],
            constraints: Some(GrantConstraints {
                equals: None,
                subset: Some(tricky_context()),
            }),
            created_at: Timestamp(0),
            ..base.clone()
        },
        Grant {
            id: new_grant_id(),
            name: Some("n".repeat(256)),
            operations: vec![
                GrantOperation::Sign,
                GrantOperation::Verify,
                GrantOperation::Sign,
            ],
            constraints: Some(GrantConstraints::default()),
            ..base.clone()
        },
        Grant {
            id: new_grant_id(),
            operations: vec![GrantOperation::Encrypt],
            constraints: Some(GrantConstraints {
                equals: Some(BTreeMap::new()),
                subset: None,
            }),
            ..base.clone()
        },
        Grant {
            id: new_grant_id(),
            operations: Vec::new(),
            constraints: Some(GrantConstraints {
                equals: None,
                subset: Some(BTreeMap::new()),
            }),
            ..base
        },
    ]
}

/// Every field of a grant reads back as written, both by id and through the list: names
/// absent, empty and long; retiring principals absent and present; no constraints, equals
/// only, subset only, neither, and empty maps; every operation, in the order given, repeats
/// included.
pub fn grants_round_trip_every_field(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let grants = varied_grants(&scope, &key);
    let mut txn = Transaction::new();
    for g in &grants {
        txn.push(Write::AddGrant(g.clone()));
    }
    store.commit(txn)?;
    for g in &grants {
        let got = store.get_grant(&key.id, &g.id)?;
        ensure_eq!(got.as_ref(), Some(g), "grant {}", g.id);
    }
    let mut sorted = grants.clone();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    ensure_eq!(
        store.list_grants(&key.id, None, 100)?,
        sorted,
        "grants listed"
    );
    ensure_eq!(store.count_grants(&key.id)?, grants.len(), "grant count");
    for op in GrantOperation::ALL {
        ensure!(
            grants.iter().any(|g| g.operations.contains(op)),
            "no grant uses {op:?}"
        );
    }

    let other = scope.key();
    create_key(store, &other)?;
    let first = grants.first().ok_or_else(|| Failure::new("no grants"))?;
    ensure!(
        store.get_grant(&other.id, &first.id)?.is_none(),
        "grant read through another key"
    );
    ensure!(
        store.get_grant(&key.id, &new_grant_id())?.is_none(),
        "unknown grant id"
    );
    ensure_eq!(
        store.count_grants(&other.id)?,
        0,
        "count of a key without grants"
    );
    let ghost = new_key_id();
    ensure_eq!(store.count_grants(&ghost)?, 0, "count of a missing key");
    ensure!(
        store.list_grants(&ghost, None, 10)?.is_empty(),
        "grants of a missing key"
    );
    ensure!(
        store.get_grant(&ghost, &first.id)?.is_none(),
        "grant of a missing key"
    );
    Ok(())
}

/// A grant of a key that does not exist, or with an id the key already has, is refused (also
/// within a larger transaction, which then applies nothing), and the first grant stays. The
/// same id may be used on another key.
pub fn add_grant_needs_its_key_and_a_new_id(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut ghost = scope.key();
    ghost.id = new_key_id();
    let orphan = scope.grant(&ghost);
    expect_conflict(
        commit1(store, Write::AddGrant(orphan.clone())),
        "grant of a missing key",
    )?;
    ensure!(
        store.get_grant(&ghost.id, &orphan.id)?.is_none(),
        "grant of a missing key stored"
    );

    let key = scope.key();
    create_key(store, &key)?;
    let grant = scope.grant(&key);
    add(store, &grant)?;
    let again = Grant {
        name: Some("second".to_owned()),
        operations: vec![GrantOperation::RetireGrant],
        created_at: Timestamp(T0.0 + 1),
        ..grant.clone()
    };
    expect_conflict(
        commit1(store, Write::AddGrant(again.clone())),
        "second grant with one id",
    )?;
    ensure_eq!(
        store.get_grant(&key.id, &grant.id)?,
        Some(grant.clone()),
        "grant after a second add"
    );

    let fresh = scope.grant(&key);
    let mut txn = Transaction::new();
    txn.push(Write::AddGrant(fresh.clone()))
        .push(Write::AddGrant(again));
    expect_conflict(store.commit(txn), "transaction with a duplicate grant")?;
    ensure!(
        store.get_grant(&key.id, &fresh.id)?.is_none(),
        "grant of a failed transaction stored"
    );
    ensure_eq!(store.count_grants(&key.id)?, 1, "grants after the failures");

    let other = scope.key();
    create_key(store, &other)?;
    let same_id = Grant {
        key_id: other.id,
        ..grant.clone()
    };
    add(store, &same_id)?;
    ensure_eq!(
        store.get_grant(&other.id, &grant.id)?,
        Some(same_id),
        "same grant id on another key"
    );
    ensure_eq!(
        store.get_grant(&key.id, &grant.id)?,
        Some(grant),
        "first key's grant"
    );
    Ok(())
}

/// Deleting a grant removes exactly that grant; deleting one that does not exist (never
/// added, already deleted, of another key, of a missing key) is a conflict.
pub fn delete_grant_of_a_missing_grant_conflicts(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let (key, other) = (scope.key(), scope.key());
    create_key(store, &key)?;
    create_key(store, &other)?;
    let (doomed, kept, elsewhere) = (scope.grant(&key), scope.grant(&key), scope.grant(&other));
    for g in [&doomed, &kept, &elsewhere] {
        add(store, g)?;
    }
    let delete = |key_id: KeyId, grant_id: &str| Write::DeleteGrant {
        key_id,
        grant_id: grant_id.to_owned(),
    };
    expect_conflict(
        commit1(store, delete(key.id, &new_grant_id())),
        "delete of an unknown grant",
    )?;
    expect_conflict(
        commit1(store, delete(key.id, &elsewhere.id)),
        "delete of another key's grant",
    )?;
    expect_conflict(
        commit1(store, delete(new_key_id(), &doomed.id)),
        "delete of a grant of a missing key",
    )?;
    ensure_eq!(
        store.count_grants(&key.id)?,
        2,
        "grants after refused deletes"
    );
    commit1(store, delete(key.id, &doomed.id))?;
    ensure!(
        store.get_grant(&key.id, &doomed.id)?.is_none(),
        "deleted grant readable"
    );
    expect_conflict(
        commit1(store, delete(key.id, &doomed.id)),
        "second delete of a grant",
    )?;
    ensure_eq!(
        store.list_grants(&key.id, None, 10)?,
        vec![kept],
        "grants after the delete"
    );
    ensure_eq!(
        store.list_grants(&other.id, None, 10)?,
        vec![elsewhere],
        "other key's grants"
    );
    Ok(())
}

/// Threads retiring one grant at once: exactly one succeeds, the others conflict.
pub fn concurrent_retirements_admit_exactly_one(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let grant = scope.grant(&key);
    add(store, &grant)?;
    let results: Vec<Result<(), StoreError>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let write = Write::DeleteGrant {
                    key_id: key.id,
                    grant_id: grant.id.clone(),
                };
                s.spawn(move || commit1(store, write))
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
        (1, THREADS - 1),
        "winners and losers: {results:?}"
    );
    ensure!(
        store.get_grant(&key.id, &grant.id)?.is_none(),
        "retired grant readable"
    );
    Ok(())
}

/// `list_grants` pages cover every grant of the key exactly once, in grant id order, for
/// every page size; `after` is exclusive and need not be a stored id; another key's grants
/// never appear; `count_grants` counts them.
pub fn list_grants_pages_in_grant_id_order(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let (key, other) = (scope.key(), scope.key());
    create_key(store, &key)?;
    create_key(store, &other)?;
    let mut txn = Transaction::new();
    let mut ids = Vec::new();
    for _ in 0..23 {
        let g = scope.grant(&key);
        ids.push(g.id.clone());
        txn.push(Write::AddGrant(g));
    }
    for _ in 0..3 {
        txn.push(Write::AddGrant(scope.grant(&other)));
    }
    store.commit(txn)?;
    ids.sort();
    for limit in PAGE_SIZES {
        let grants = collect_pages(
            limit,
            |g: &Grant| g.id.clone(),
            |after: Option<&String>, limit| {
                Ok(store.list_grants(&key.id, after.map(String::as_str), limit)?)
            },
        )?;
        ensure!(
            grants.iter().all(|g| g.key_id == key.id),
            "grant of another key listed"
        );
        let got: Vec<String> = grants.into_iter().map(|g| g.id).collect();
        ensure_eq!(got, ids, "grant ids listed with limit {limit}");
    }
    for after in [
        ids.get(5).cloned(),
        Some("8".to_owned()),
        Some("g".to_owned()),
    ] {
        let after = after.ok_or_else(|| Failure::new("too few grants"))?;
        let got: Vec<String> = store
            .list_grants(&key.id, Some(&after), 100)?
            .into_iter()
            .map(|g| g.id)
            .collect();
        let want: Vec<String> = ids.iter().filter(|id| **id > after).cloned().collect();
        ensure_eq!(got, want, "grants after {after:?}");
    }
    ensure!(
        store.list_grants(&key.id, None, 0)?.is_empty(),
        "grants with limit 0"
    );
    ensure_eq!(store.count_grants(&key.id)?, 23, "grant count");
    ensure_eq!(store.count_grants(&other.id)?, 3, "other key's grant count");
    Ok(())
}

/// `DeleteKey` deletes the key's grants, retirable ones included, and no other key's; a key
/// created again under the id has none.
pub fn delete_key_removes_its_grants(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let retirer = format!(
        "arn:aws:iam::{}:role/retirer-{}",
        scope.account,
        new_grant_id()
    );
    let (doomed, other) = (scope.key(), scope.key());
    create_key(store, &doomed)?;
    create_key(store, &other)?;
    let retirable = |key: &Key| Grant {
        retiring_principal: Some(retirer.clone()),
        ..scope.grant(key)
    };
    let doomed_grants = [scope.grant(&doomed), retirable(&doomed)];
    let mut kept = vec![scope.grant(&other), retirable(&other)];
    for g in doomed_grants.iter().chain(&kept) {
        add(store, g)?;
    }
    commit1(
        store,
        Write::DeleteKey {
            id: doomed.id,
            revision: 1,
        },
    )?;
    for g in &doomed_grants {
        ensure!(
            store.get_grant(&doomed.id, &g.id)?.is_none(),
            "grant {} of the deleted key readable",
            g.id
        );
    }
    ensure_eq!(
        store.count_grants(&doomed.id)?,
        0,
        "grants of the deleted key"
    );
    kept.sort_by(|a, b| a.id.cmp(&b.id));
    ensure_eq!(
        store.list_grants(&other.id, None, 10)?,
        kept.clone(),
        "other key's grants"
    );
    let retirable_now = store.list_retirable_grants(&retirer, None, 10)?;
    let want: Vec<Grant> = kept
        .iter()
        .filter(|g| g.retiring_principal.is_some())
        .cloned()
        .collect();
    ensure_eq!(retirable_now, want, "retirable grants after the delete");

    let mut reborn = scope.key();
    reborn.id = doomed.id;
    create_key(store, &reborn)?;
    ensure_eq!(
        store.count_grants(&doomed.id)?,
        0,
        "grants of the re-created key"
    );
    ensure!(
        store.list_grants(&doomed.id, None, 10)?.is_empty(),
        "old grants reattached"
    );
    Ok(())
}

/// `list_retirable_grants` answers the grants, on keys of any account, whose retiring
/// principal is exactly the one asked about (not another case of it, not a prefix or an
/// extension of it), ordered by (key id, grant id), page by page; `after` is exclusive and
/// need not name a stored grant.
pub fn list_retirable_grants_across_keys_in_order(store: &dyn Store) -> Outcome {
    let (a, b) = (Scope::new("us-east-1")?, Scope::new("eu-west-3")?);
    let retirer = format!("arn:aws:iam::{}:role/Retirer-{}", a.account, new_grant_id());
    let others = [
        None,
        Some(retirer.to_lowercase()),
        Some(format!("{retirer}/x")),
        retirer.get(..retirer.len() - 1).map(str::to_owned),
        Some(format!("arn:aws:iam::{}:root", a.account)),
    ];
    let keys = [a.key(), a.key(), b.key(), a.key()];
    let mut txn = Transaction::new();
    let mut want = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        txn.push(Write::PutKey {
            key: key.clone(),
            expect: Expect::Absent,
        });
        let scope = if key.account == a.account { &a } else { &b };
        // The third key has no retirable grant; the others one to five.
        let retirable = if i == 2 { 0 } else { 1 + 2 * i };
        for _ in 0..retirable {
            let g = Grant {
                retiring_principal: Some(retirer.clone()),
                ..scope.grant(key)
            };
            txn.push(Write::AddGrant(g.clone()));
            want.push(g);
        }
        for other in &others {
            txn.push(Write::AddGrant(Grant {
                retiring_principal: other.clone(),
                ..scope.grant(key)
            }));
        }
    }
    store.commit(txn)?;
    want.sort_by(|x, y| (x.key_id, &x.id).cmp(&(y.key_id, &y.id)));
    for limit in PAGE_SIZES {
        let got = collect_pages(
            limit,
            |g: &Grant| (g.key_id, g.id.clone()),
            |after: Option<&(KeyId, String)>, limit| {
                let after = after.map(|(k, g)| (k, g.as_str()));
                Ok(store.list_retirable_grants(&retirer, after, limit)?)
            },
        )?;
        ensure_eq!(got, want, "retirable grants with limit {limit}");
    }
    // Cursors that name no stored grant: before a key's first grant, after its last.
    let mut key_ids: Vec<KeyId> = keys.iter().map(|k| k.id).collect();
    key_ids.sort();
    for key_id in &key_ids {
        for grant_id in ["", "g"] {
            let got = store.list_retirable_grants(&retirer, Some((key_id, grant_id)), 100)?;
            let expected: Vec<Grant> = want
                .iter()
                .filter(|g| (g.key_id, g.id.as_str()) > (*key_id, grant_id))
                .cloned()
                .collect();
            ensure_eq!(
                got,
                expected,
                "retirable grants after ({key_id}, {grant_id:?})"
            );
        }
    }
    for other in others.iter().flatten() {
        let got = store.list_retirable_grants(other, None, 100)?;
        ensure_eq!(got.len(), keys.len(), "grants retirable by {other}");
    }
    ensure!(
        store.list_retirable_grants(&retirer, None, 0)?.is_empty(),
        "retirable grants with limit 0"
    );
    Ok(())
}

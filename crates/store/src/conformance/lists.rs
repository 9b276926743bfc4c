//! Cases about listing: pages are ordered, `after` is exclusive, every record appears exactly
//! once across pages, and nothing leaks from another account or region.

use super::fixtures::{Scope, create_alias, create_key, new_key_id};
use super::{Failure, Outcome};
use crate::{Expect, Store, Transaction, Write};
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AliasName, KeyId};
use strongroom_core::key::Key;

/// Page sizes tried: one, small, exactly the total, more than the total.
pub(super) const PAGE_SIZES: [usize; 5] = [1, 2, 5, 23, 100];

/// Most pages a listing may take before the case gives up (guards against a backend that
/// ignores `after` and would loop forever).
const MAX_PAGES: usize = 200;

/// Pages through a listing: `page(after, limit)` answers the items after `after`.
pub(super) fn collect_pages<T: Clone, C: Clone>(
    limit: usize,
    cursor: impl Fn(&T) -> C,
    mut page: impl FnMut(Option<&C>, usize) -> Result<Vec<T>, Failure>,
) -> Result<Vec<T>, Failure> {
    let mut all = Vec::new();
    let mut after: Option<C> = None;
    for _ in 0..MAX_PAGES {
        let items = page(after.as_ref(), limit)?;
        ensure!(
            items.len() <= limit,
            "page of {} items for limit {limit}",
            items.len()
        );
        let Some(last) = items.last() else {
            return Ok(all);
        };
        after = Some(cursor(last));
        let full = items.len() == limit;
        all.extend(items);
        if !full {
            return Ok(all);
        }
    }
    Err(Failure::new(format!(
        "listing with limit {limit} did not end"
    )))
}

fn create_keys(store: &dyn Store, scope: &Scope, n: usize) -> Result<Vec<KeyId>, Failure> {
    let mut txn = Transaction::new();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let key = scope.key();
        ids.push(key.id);
        txn.push(Write::PutKey {
            key,
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    ids.sort();
    Ok(ids)
}

/// `list_keys` pages cover every key of the scope exactly once, in key id order, for every
/// page size; `after` is exclusive and need not name a stored key.
pub fn list_keys_pages_cover_every_key_once(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let ids = create_keys(store, &scope, 23)?;
    create_keys(store, &scope.in_region("eu-west-3")?, 3)?;
    create_keys(store, &Scope::new("us-east-1")?, 3)?;

    for limit in PAGE_SIZES {
        let keys = collect_pages(
            limit,
            |k: &Key| k.id,
            |after, limit| Ok(store.list_keys(&scope.account, &scope.region, after, limit)?),
        )?;
        for k in &keys {
            ensure!(
                k.account == scope.account && k.region == scope.region,
                "key {} of another scope listed",
                k.id
            );
        }
        let got: Vec<KeyId> = keys.iter().map(|k| k.id).collect();
        ensure_eq!(got, ids, "key ids listed with limit {limit}");
    }

    let after = ids.get(5).copied();
    let page = store.list_keys(&scope.account, &scope.region, after.as_ref(), 3)?;
    let got: Vec<KeyId> = page.iter().map(|k| k.id).collect();
    ensure_eq!(
        got,
        ids.get(6..9).unwrap_or_default().to_vec(),
        "page after the 6th key"
    );

    let probe = new_key_id();
    let page = store.list_keys(&scope.account, &scope.region, Some(&probe), 100)?;
    let got: Vec<KeyId> = page.iter().map(|k| k.id).collect();
    let want: Vec<KeyId> = ids.iter().copied().filter(|id| *id > probe).collect();
    ensure_eq!(got, want, "keys after an id that is not stored");
    Ok(())
}

/// Keys `k1`, `k2` and `idle`, 13 aliases to `k1` or `k2` with names that sort differently
/// bytewise and case-insensitively, and one same-named alias in another region.
fn alias_fixture(store: &dyn Store, scope: &Scope) -> Result<([Key; 3], Vec<Alias>), Failure> {
    let keys = [scope.key(), scope.key(), scope.key()];
    for k in &keys {
        create_key(store, k)?;
    }
    let [k1, k2, _] = &keys;
    let mut all = Vec::new();
    for i in 0..13 {
        let name = match i % 4 {
            0 => format!("alias/app-{i:02}"),
            1 => format!("alias/App_{i:02}"),
            2 => format!("alias/app/{i:02}/db"),
            _ => format!("alias/z{i}"),
        };
        let target = if i % 3 == 0 { k2.id } else { k1.id };
        let alias = scope.alias(&name, target)?;
        create_alias(store, &alias)?;
        all.push(alias);
    }
    let elsewhere = scope.in_region("eu-west-3")?;
    let foreign_key = elsewhere.key();
    create_key(store, &foreign_key)?;
    create_alias(store, &elsewhere.alias("alias/app-00", foreign_key.id)?)?;
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((keys, all))
}

/// Aliases of a scope in name order (bytewise: upper case before lower case), with and
/// without a target filter, page by page.
pub fn list_aliases_pages_filter_and_scope(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-west-2")?;
    let ([k1, k2, idle], all) = alias_fixture(store, &scope)?;
    let to = |target: KeyId| -> Vec<Alias> {
        all.iter().filter(|a| a.target == target).cloned().collect()
    };
    let cases = [
        (None, all.clone()),
        (Some(k1.id), to(k1.id)),
        (Some(k2.id), to(k2.id)),
    ];
    for (target, want) in cases {
        for limit in PAGE_SIZES {
            let got = collect_pages(
                limit,
                |a: &Alias| a.name.clone(),
                |after: Option<&AliasName>, limit| {
                    let (acct, region) = (&scope.account, &scope.region);
                    Ok(store.list_aliases(acct, region, target.as_ref(), after, limit)?)
                },
            )?;
            ensure_eq!(
                got,
                want,
                "aliases with target {target:?} and limit {limit}"
            );
        }
    }
    let none = store.list_aliases(&scope.account, &scope.region, Some(&idle.id), None, 10)?;
    ensure!(none.is_empty(), "aliases of a key that has none: {none:?}");

    let after = all.get(3).map(|a| a.name.clone());
    let page = store.list_aliases(&scope.account, &scope.region, None, after.as_ref(), 2)?;
    ensure_eq!(
        page,
        all.get(4..6).unwrap_or_default().to_vec(),
        "page after the 4th alias"
    );
    Ok(())
}

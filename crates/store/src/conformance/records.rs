//! Cases about single records: every field survives a round trip, revisions count writes,
//! and a write whose expectation fails is refused without changing anything.

use super::fixtures::{
    POLICY, Scope, T0, commit1, create_alias, create_key, must_get_key, version,
};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, Transaction, Write};
use std::collections::BTreeMap;
use strongroom_core::identity::AccessKeyStatus;
use strongroom_core::ids::{AliasName, KeyId};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, Origin};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// The `i`-th entry of `all`, cycling.
fn nth<T: Copy>(all: &[T], i: usize) -> Result<T, Failure> {
    all.iter()
        .cycle()
        .nth(i)
        .copied()
        .ok_or_else(|| Failure::new("empty value list"))
}

/// Keys that together use every value of every enum, and the edges of every field.
fn varied_keys(scope: &Scope) -> Result<Vec<Key>, Failure> {
    let count = KeySpec::ALL.len().max(KeyState::ALL.len());
    let mut keys = Vec::with_capacity(count);
    for i in 0..count {
        let mut k = scope.key();
        k.spec = nth(KeySpec::ALL, i)?;
        k.usage = nth(KeyUsage::ALL, i)?;
        k.origin = nth(Origin::ALL, i)?;
        k.manager = nth(KeyManager::ALL, i)?;
        k.state = nth(KeyState::ALL, i)?;
        k.current_version = u32::try_from(i).unwrap_or(0).saturating_mul(1000) + 1;
        k.created_at = Timestamp(match i {
            0 => 0,
            1 => -1,
            2 => i64::MAX,
            3 => i64::MIN,
            _ => T0.0 + i64::try_from(i).unwrap_or(0),
        });
        k.policy_updated_at = Timestamp(match i {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => -1,
            3 => 0,
            _ => T0.0 + 1_000 + i64::try_from(i).unwrap_or(0),
        });
        k.description = match i {
            0 => "Schlüssel für Bestellungen — 注文の鍵 🔑 \u{0}\n\t'\"".to_owned(),
            1 => String::new(),
            2 => "d".repeat(8192),
            _ => format!("key {i}"),
        };
        k.tags = match i % 3 {
            0 => (0..50)
                .map(|t| (format!("tag-{t:02}"), format!("value {t}")))
                .collect(),
            1 => BTreeMap::new(),
            _ => BTreeMap::from([("ключ".to_owned(), "значение ✓".to_owned())]),
        };
        if i == 0 {
            k.policy = format!(r#"{{"Statement":[{}]}}"#, "{\"Sid\":\"x\"},".repeat(3000));
        }
        keys.push(k);
    }
    Ok(keys)
}

/// Every field of a key, with every enum value, reads back as written, at revision 1, both by
/// id and through the list.
pub fn keys_round_trip_every_field(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let keys = varied_keys(&scope)?;
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
        ensure_eq!(got.value, *k, "key {} read back", k.id);
        ensure_eq!(got.revision, 1, "revision of new key {}", k.id);
    }
    let mut sorted = keys.clone();
    sorted.sort_by_key(|k| k.id);
    let listed = store.list_keys(&scope.account, &scope.region, None, 1000)?;
    ensure_eq!(listed, sorted, "keys listed");
    Ok(())
}

/// Material versions read back byte for byte and list in version order, whatever order
/// they were added in.
pub fn key_versions_round_trip_in_order(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let mut v2 = version(key.id, 2);
    v2.wrapped_material = (0..=255u8).rev().collect();
    let mut v3 = version(key.id, 3);
    v3.wrapped_material = Vec::new();
    let v1 = version(key.id, 1);
    let v_max = version(key.id, u32::MAX);
    for v in [&v3, &v1, &v_max, &v2] {
        commit1(store, Write::AddKeyVersion(v.clone()))?;
    }
    let want = vec![v1, v2.clone(), v3, v_max];
    ensure_eq!(store.list_key_versions(&key.id)?, want, "versions listed");
    ensure_eq!(store.get_key_version(&key.id, 2)?, Some(v2), "version 2");
    ensure_eq!(store.get_key_version(&key.id, 4)?, None, "version 4");
    ensure_eq!(store.get_key_version(&key.id, 0)?, None, "version 0");
    Ok(())
}

/// An alias reads back with every field at revision 1, including the longest name.
pub fn aliases_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("eu-west-3")?;
    let key = scope.key();
    create_key(store, &key)?;
    let long = format!("alias/{}", "Ab_-/9".repeat(41) + "xyzw");
    for name in ["alias/orders", long.as_str(), "alias/aws/ebs"] {
        let alias = scope.alias(name, key.id)?;
        create_alias(store, &alias)?;
        let got = store
            .get_alias(&scope.account, &scope.region, &alias.name)?
            .ok_or_else(|| Failure::new(format!("alias {name} missing")))?;
        ensure_eq!(got.value, alias, "alias {name}");
        ensure_eq!(got.revision, 1, "revision of new alias {name}");
    }
    Ok(())
}

/// An account reads back as written.
pub fn accounts_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let account = scope.account_record();
    commit1(store, Write::AddAccount(account.clone()))?;
    ensure_eq!(store.get_account(&scope.account)?, Some(account), "account");
    Ok(())
}

/// Access keys read back with every field, in both statuses, at revision 1.
pub fn access_keys_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    commit1(store, Write::AddAccount(scope.account_record()))?;
    for status in [AccessKeyStatus::Active, AccessKeyStatus::Inactive] {
        let mut ak = scope.access_key();
        ak.status = status;
        commit1(
            store,
            Write::PutAccessKey {
                access_key: ak.clone(),
                expect: Expect::Absent,
            },
        )?;
        let got = store
            .get_access_key(&ak.id)?
            .ok_or_else(|| Failure::new("access key missing"))?;
        ensure_eq!(got.value, ak, "access key with status {}", status.as_str());
        ensure_eq!(got.revision, 1, "revision of new access key");
    }
    Ok(())
}

/// Each committed update raises a record's revision by one, and the update reads back.
pub fn revisions_start_at_one_and_increment(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    create_key(store, &key)?;
    for rev in 1..=3u64 {
        key.description = format!("revision {}", rev + 1);
        key.state = if rev % 2 == 1 {
            KeyState::Disabled
        } else {
            KeyState::Enabled
        };
        key.current_version += 1;
        key.policy.push(' ');
        let write = Write::PutKey {
            key: key.clone(),
            expect: Expect::Revision(rev),
        };
        commit1(store, write)?;
        let got = must_get_key(store, &key.id)?;
        ensure_eq!(got.revision, rev + 1, "key revision after update {rev}");
        ensure_eq!(got.value, key, "key after update {rev}");
    }
    alias_revision_increments(store, &scope, key.id)?;
    access_key_revision_increments(store, &scope)
}

/// When a key's policy was last set reads back as written, a key write with a new policy and
/// time (PutKeyPolicy) replaces it without touching the creation time, and a later write of
/// another field keeps it.
pub fn policy_updated_at_round_trips_and_updates(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    ensure!(
        key.policy_updated_at != key.created_at,
        "the fixture must tell the policy time from the creation time"
    );
    create_key(store, &key)?;
    let got = must_get_key(store, &key.id)?;
    ensure_eq!(
        got.value.policy_updated_at,
        key.policy_updated_at,
        "policy time of the new key"
    );
    ensure_eq!(got.value, key, "new key");

    let set_at = Timestamp(T0.0 + 86_400_000);
    key.policy = POLICY.to_owned();
    key.policy_updated_at = set_at;
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    let got = must_get_key(store, &key.id)?;
    ensure_eq!(
        got.value.policy_updated_at,
        set_at,
        "policy time after the policy was put"
    );
    ensure_eq!(
        got.value.created_at,
        T0,
        "creation time after the policy was put"
    );
    ensure_eq!(
        (got.revision, &got.value),
        (2, &key),
        "key after the policy was put"
    );

    key.description = "policy unchanged".to_owned();
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(2),
    };
    commit1(store, write)?;
    let got = must_get_key(store, &key.id)?;
    ensure_eq!(
        got.value.policy_updated_at,
        set_at,
        "policy time after another field changed"
    );
    let listed = store.list_keys(&scope.account, &scope.region, None, 10)?;
    ensure_eq!(listed, vec![key], "keys listed");
    Ok(())
}

fn alias_revision_increments(store: &dyn Store, scope: &Scope, first: KeyId) -> Outcome {
    let other = scope.key();
    create_key(store, &other)?;
    let mut alias = scope.alias("alias/moving", first)?;
    create_alias(store, &alias)?;
    alias.target = other.id;
    alias.updated_at = Timestamp(T0.0 + 60_000);
    let write = Write::PutAlias {
        alias: alias.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure_eq!(
        got.map(|v| (v.revision, v.value)),
        Some((2, alias)),
        "retargeted alias"
    );
    Ok(())
}

fn access_key_revision_increments(store: &dyn Store, scope: &Scope) -> Outcome {
    commit1(store, Write::AddAccount(scope.account_record()))?;
    let mut ak = scope.access_key();
    let create = Write::PutAccessKey {
        access_key: ak.clone(),
        expect: Expect::Absent,
    };
    commit1(store, create)?;
    ak.status = AccessKeyStatus::Inactive;
    let update = Write::PutAccessKey {
        access_key: ak.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, update)?;
    let got = store.get_access_key(&ak.id)?;
    ensure_eq!(
        got.map(|v| (v.revision, v.value)),
        Some((2, ak)),
        "deactivated access key"
    );
    Ok(())
}

/// Tags belong to the key: a write of the key replaces its whole tag set.
pub fn tags_are_replaced_with_the_key(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    key.tags = BTreeMap::from([
        ("keep".to_owned(), "1".to_owned()),
        ("change".to_owned(), "old".to_owned()),
        ("drop".to_owned(), "x".to_owned()),
    ]);
    create_key(store, &key)?;
    key.tags = BTreeMap::from([
        ("keep".to_owned(), "1".to_owned()),
        ("change".to_owned(), "new".to_owned()),
        ("add".to_owned(), "y".to_owned()),
    ]);
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    ensure_eq!(
        must_get_key(store, &key.id)?.value.tags,
        key.tags,
        "tags after update"
    );
    key.tags.clear();
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(2),
    };
    commit1(store, write)?;
    let got = must_get_key(store, &key.id)?;
    ensure!(
        got.value.tags.is_empty(),
        "tags left after clearing: {:?}",
        got.value.tags
    );
    ensure_eq!(got.revision, 3, "revision after two tag updates");
    Ok(())
}

/// An update that expects an old, a future, or any revision of a missing record is refused
/// and leaves the record exactly as it was.
pub fn stale_revision_conflicts_and_changes_nothing(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let mut key = scope.key();
    create_key(store, &key)?;
    key.description = "second".to_owned();
    let write = Write::PutKey {
        key: key.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    let before = must_get_key(store, &key.id)?;
    let mut stale = key.clone();
    stale.description = "lost update".to_owned();
    stale.tags.insert("stale".to_owned(), "yes".to_owned());
    for rev in [1, 3, u64::MAX] {
        let write = Write::PutKey {
            key: stale.clone(),
            expect: Expect::Revision(rev),
        };
        expect_conflict(
            commit1(store, write),
            &format!("key update at revision {rev}"),
        )?;
        ensure_eq!(
            must_get_key(store, &key.id)?,
            before,
            "key after refused update"
        );
    }
    let ghost = scope.key();
    let write = Write::PutKey {
        key: ghost.clone(),
        expect: Expect::Revision(1),
    };
    expect_conflict(commit1(store, write), "update of a missing key")?;
    ensure!(
        store.get_key(&ghost.id)?.is_none(),
        "refused update created a key"
    );
    stale_alias_update_is_refused(store, &scope, key.id)?;
    stale_access_key_update_is_refused(store, &scope)
}

fn stale_alias_update_is_refused(store: &dyn Store, scope: &Scope, target: KeyId) -> Outcome {
    let alias = scope.alias("alias/stale", target)?;
    create_alias(store, &alias)?;
    let mut moved = alias.clone();
    moved.updated_at = Timestamp(0);
    let write = Write::PutAlias {
        alias: moved,
        expect: Expect::Revision(2),
    };
    expect_conflict(commit1(store, write), "alias update at revision 2")?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure_eq!(
        got.map(|v| (v.revision, v.value)),
        Some((1, alias)),
        "alias after refusal"
    );
    Ok(())
}

fn stale_access_key_update_is_refused(store: &dyn Store, scope: &Scope) -> Outcome {
    commit1(store, Write::AddAccount(scope.account_record()))?;
    let ak = scope.access_key();
    let create = Write::PutAccessKey {
        access_key: ak.clone(),
        expect: Expect::Absent,
    };
    commit1(store, create)?;
    let mut off = ak.clone();
    off.status = AccessKeyStatus::Inactive;
    let write = Write::PutAccessKey {
        access_key: off,
        expect: Expect::Revision(7),
    };
    expect_conflict(commit1(store, write), "access key update at revision 7")?;
    let got = store.get_access_key(&ak.id)?;
    ensure_eq!(
        got.map(|v| (v.revision, v.value)),
        Some((1, ak)),
        "access key after refusal"
    );
    Ok(())
}

/// Creating a record that exists is refused, and the first record stays.
pub fn creating_twice_conflicts(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let mut again = key.clone();
    again.description = "second create".to_owned();
    let write = Write::PutKey {
        key: again,
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "second create of a key")?;
    ensure_eq!(
        must_get_key(store, &key.id)?.value,
        key,
        "key after second create"
    );

    let alias = scope.alias("alias/twice", key.id)?;
    create_alias(store, &alias)?;
    let mut again = alias.clone();
    again.created_at = Timestamp(5);
    let write = Write::PutAlias {
        alias: again,
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "second create of an alias")?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure_eq!(
        got.map(|v| v.value),
        Some(alias),
        "alias after second create"
    );
    identities_created_twice_conflict(store, &scope)
}

fn identities_created_twice_conflict(store: &dyn Store, scope: &Scope) -> Outcome {
    let account = scope.account_record();
    commit1(store, Write::AddAccount(account.clone()))?;
    let mut again = account.clone();
    again.created_at = Timestamp(5);
    expect_conflict(commit1(store, Write::AddAccount(again)), "second account")?;
    ensure_eq!(store.get_account(&scope.account)?, Some(account), "account");

    let ak = scope.access_key();
    let create = |access_key| Write::PutAccessKey {
        access_key,
        expect: Expect::Absent,
    };
    commit1(store, create(ak.clone()))?;
    let mut again = ak.clone();
    again.wrapped_secret = vec![0; 8];
    expect_conflict(
        commit1(store, create(again)),
        "second create of an access key",
    )?;
    let got = store.get_access_key(&ak.id)?;
    ensure_eq!(
        got.map(|v| v.value),
        Some(ak),
        "access key after second create"
    );
    Ok(())
}

/// Material versions are write-once: adding an existing (key, version) is refused.
pub fn duplicate_key_version_conflicts(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let v1 = version(key.id, 1);
    commit1(store, Write::AddKeyVersion(v1.clone()))?;
    let mut forged = v1.clone();
    forged.wrapped_material = b"other material".to_vec();
    expect_conflict(
        commit1(store, Write::AddKeyVersion(forged)),
        "second version 1",
    )?;
    ensure_eq!(store.get_key_version(&key.id, 1)?, Some(v1), "version 1");
    Ok(())
}

/// Deleting an alias needs its current revision; a missing alias cannot be deleted; a
/// deleted name can be created again from revision 1.
pub fn delete_alias_needs_current_revision(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let key = scope.key();
    create_key(store, &key)?;
    let alias = scope.alias("alias/doomed", key.id)?;
    create_alias(store, &alias)?;
    let delete = |revision| Write::DeleteAlias {
        account: scope.account.clone(),
        region: scope.region.clone(),
        name: alias.name.clone(),
        revision,
    };
    expect_conflict(commit1(store, delete(2)), "delete at a wrong revision")?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure_eq!(
        got.map(|v| v.value),
        Some(alias.clone()),
        "alias after refused delete"
    );
    commit1(store, delete(1))?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure!(got.is_none(), "alias still there after delete: {got:?}");
    expect_conflict(commit1(store, delete(1)), "delete of a missing alias")?;
    create_alias(store, &alias)?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure_eq!(
        got.map(|v| v.revision),
        Some(1),
        "revision of re-created alias"
    );
    Ok(())
}

/// A write that would leave a dangling reference is a conflict: a version or an alias of a
/// missing key, an access key of a missing account.
pub fn references_must_exist(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let ghost = scope.key();
    let v = version(ghost.id, 1);
    expect_conflict(
        commit1(store, Write::AddKeyVersion(v)),
        "version of a missing key",
    )?;
    ensure!(
        store.list_key_versions(&ghost.id)?.is_empty(),
        "version stored"
    );
    let alias = scope.alias("alias/dangling", ghost.id)?;
    let write = Write::PutAlias {
        alias: alias.clone(),
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "alias to a missing key")?;
    let got = store.get_alias(&scope.account, &scope.region, &alias.name)?;
    ensure!(got.is_none(), "alias stored: {got:?}");
    let ak = scope.access_key();
    let write = Write::PutAccessKey {
        access_key: ak.clone(),
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "access key of a missing account")?;
    ensure!(store.get_access_key(&ak.id)?.is_none(), "access key stored");
    Ok(())
}

/// Reads of records that do not exist answer `None` (or nothing), not an error.
pub fn missing_records_read_as_none(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let ghost = scope.key();
    ensure!(
        store.get_key(&ghost.id)?.is_none(),
        "get_key of a missing key"
    );
    ensure!(
        store.get_key_version(&ghost.id, 1)?.is_none(),
        "get_key_version"
    );
    ensure!(
        store.list_key_versions(&ghost.id)?.is_empty(),
        "list_key_versions"
    );
    let name = AliasName::parse("alias/missing")?;
    let alias = store.get_alias(&scope.account, &scope.region, &name)?;
    ensure!(alias.is_none(), "get_alias of a missing alias");
    ensure!(store.get_account(&scope.account)?.is_none(), "get_account");
    ensure!(
        store.get_access_key("AKIANOSUCHKEY0000000")?.is_none(),
        "get_access_key"
    );
    let keys = store.list_keys(&scope.account, &scope.region, None, 10)?;
    ensure!(keys.is_empty(), "list_keys of an empty scope: {keys:?}");
    let aliases = store.list_aliases(&scope.account, &scope.region, None, None, 10)?;
    ensure!(
        aliases.is_empty(),
        "list_aliases of an empty scope: {aliases:?}"
    );
    Ok(())
}

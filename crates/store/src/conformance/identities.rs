//! Cases about IAM identities: users and roles (every field, names unique per account
//! case-insensitively, revisions, deletes, listing by path prefix), the owners of access keys
//! (root, user, session), the listing of one owner's access keys, and the expired-session
//! query the scheduler drives.
//!
//! The expired-session query is global. Its case asks about [`DUE_NOW`], long before any
//! expiry the other cases give a session, checks every session it lists against the rule, and
//! deletes its own at the end, as the key due-query cases do.

use super::due::{DUE_NOW, days_before};
use super::fixtures::{
    POLICY, Scope, T0, commit1, create_access_key, create_account, create_role, create_user,
};
use super::lists::{PAGE_SIZES, collect_pages};
use super::{Failure, Outcome, expect_conflict};
use crate::{Expect, Store, Transaction, Versioned, Write};
use std::collections::BTreeMap;
use strongroom_core::identity::{AccessKey, AccessKeyOwner, AccessKeyStatus, Role, Session, User};
use strongroom_core::time::Timestamp;

/// Reads a user that must exist.
fn must_get_user(store: &dyn Store, user: &User) -> Result<Versioned<User>, Failure> {
    store
        .get_user(&user.account, &user.name)?
        .ok_or_else(|| Failure::new(format!("user {} is missing", user.name)))
}

/// Reads a role that must exist.
fn must_get_role(store: &dyn Store, role: &Role) -> Result<Versioned<Role>, Failure> {
    store
        .get_role(&role.account, &role.name)?
        .ok_or_else(|| Failure::new(format!("role {} is missing", role.name)))
}

/// `n` entries `{prefix}-NN` with values that are not plain ASCII.
fn entries(prefix: &str, n: usize) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}-{i:02}"),
                format!("value {i} ✓ \u{0}\n\t'\""),
            )
        })
        .collect()
}

/// Users that together cover the edges of every field: empty and many tags and policies,
/// long names and paths, extreme instants.
fn varied_users(scope: &Scope) -> Vec<User> {
    let plain = scope.user("alice");
    let bare = User {
        path: "/division/team/".to_owned(),
        created_at: Timestamp(i64::MIN),
        tags: BTreeMap::new(),
        policies: BTreeMap::new(),
        ..scope.user("Bob.Builder+1@example.com,=_-")
    };
    let rich = User {
        created_at: Timestamp(i64::MAX),
        tags: entries("tag", 50),
        policies: (0..10)
            .map(|i| (format!("policy-{i}"), POLICY.repeat(20 + i)))
            .collect(),
        ..scope.user("carol")
    };
    let long = User {
        path: format!("/{}/", "p".repeat(510)),
        created_at: Timestamp(0),
        tags: BTreeMap::from([("ключ".to_owned(), "значение".to_owned())]),
        policies: BTreeMap::new(),
        ..scope.user(&"D".repeat(64))
    };
    vec![plain, bare, rich, long]
}

/// Roles that together cover the edges of every field.
fn varied_roles(scope: &Scope) -> Vec<Role> {
    let plain = scope.role("deploy");
    let bare = Role {
        path: "/service-role/".to_owned(),
        created_at: Timestamp(i64::MIN),
        description: String::new(),
        max_session_duration: 0,
        trust_policy: String::new(),
        tags: BTreeMap::new(),
        policies: BTreeMap::new(),
        ..scope.role("Bare+Role=,.@_-")
    };
    let rich = Role {
        created_at: Timestamp(i64::MAX),
        description: "Rolle für Bereitstellungen — 配備 🔑 \u{0}\n".to_owned(),
        max_session_duration: 43_200,
        trust_policy: POLICY.repeat(100),
        tags: entries("tag", 50),
        policies: entries("policy", 10),
        ..scope.role("reader")
    };
    let long = Role {
        path: format!("/{}/", "p".repeat(510)),
        max_session_duration: u32::MAX,
        ..scope.role(&"R".repeat(64))
    };
    vec![plain, bare, rich, long]
}

/// `name` with the case of every ASCII letter swapped.
fn swap_case(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_uppercase() {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

/// Every field of a user or role, tags and inline policies included, reads back as written
/// at revision 1: by its name, by its name in another case, and through the list.
pub fn users_and_roles_round_trip_every_field(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    let users = varied_users(&scope);
    let roles = varied_roles(&scope);
    let mut txn = Transaction::new();
    for u in &users {
        txn.push(Write::PutUser {
            user: u.clone(),
            expect: Expect::Absent,
        });
    }
    for r in &roles {
        txn.push(Write::PutRole {
            role: r.clone(),
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    for u in &users {
        let got = must_get_user(store, u)?;
        ensure_eq!((got.revision, &got.value), (1, u), "user {}", u.name);
        let other_case = store.get_user(&scope.account, &swap_case(&u.name))?;
        ensure_eq!(other_case, Some(got), "user {} in another case", u.name);
    }
    for r in &roles {
        let got = must_get_role(store, r)?;
        ensure_eq!((got.revision, &got.value), (1, r), "role {}", r.name);
        let other_case = store.get_role(&scope.account, &swap_case(&r.name))?;
        ensure_eq!(other_case, Some(got), "role {} in another case", r.name);
    }
    let mut sorted_users = users.clone();
    sorted_users.sort_by(|a, b| a.name.cmp(&b.name));
    let listed = store.list_users(&scope.account, "/", None, 100)?;
    ensure_eq!(listed, sorted_users, "users listed");
    let mut sorted_roles = roles.clone();
    sorted_roles.sort_by(|a, b| a.name.cmp(&b.name));
    let listed = store.list_roles(&scope.account, "/", None, 100)?;
    ensure_eq!(listed, sorted_roles, "roles listed");
    Ok(())
}

/// A user or role name is taken in its account in every case: creating `alice` (or `ALICE`)
/// when `Alice` exists is refused, also within one transaction, and the first stays. Another
/// account may use the name, and users and roles do not share names.
pub fn names_are_unique_per_account_case_insensitively(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let other = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    create_account(store, &other)?;
    let alice = scope.user("Alice");
    create_user(store, &alice)?;
    let deploy = scope.role("Deploy");
    create_role(store, &deploy)?;
    for name in ["alice", "ALICE", "Alice"] {
        let write = Write::PutUser {
            user: scope.user(name),
            expect: Expect::Absent,
        };
        expect_conflict(commit1(store, write), &format!("create user {name}"))?;
    }
    for name in ["deploy", "DEPLOY", "Deploy"] {
        let write = Write::PutRole {
            role: scope.role(name),
            expect: Expect::Absent,
        };
        expect_conflict(commit1(store, write), &format!("create role {name}"))?;
    }
    let got = must_get_user(store, &alice)?;
    ensure_eq!((got.revision, got.value), (1, alice.clone()), "first Alice");
    let got = must_get_role(store, &deploy)?;
    ensure_eq!(
        (got.revision, got.value),
        (1, deploy.clone()),
        "first Deploy"
    );
    for name in ["alice", "ALICE", "aLiCe"] {
        let got = store.get_user(&scope.account, name)?.map(|v| v.value);
        ensure_eq!(got, Some(alice.clone()), "user looked up as {name}");
    }
    for name in ["deploy", "DEPLOY", "dEpLoY"] {
        let got = store.get_role(&scope.account, name)?.map(|v| v.value);
        ensure_eq!(got, Some(deploy.clone()), "role looked up as {name}");
    }
    for name in ["Alic", "Alice ", "Alicea", ""] {
        let got = store.get_user(&scope.account, name)?;
        ensure!(got.is_none(), "user looked up as {name:?}: {got:?}");
    }
    ensure!(
        store.get_user(&other.account, "Alice")?.is_none(),
        "Alice of another account"
    );

    // Two names differing in case in one transaction: neither is created.
    let mut txn = Transaction::new();
    for name in ["bob", "Bob"] {
        txn.push(Write::PutUser {
            user: scope.user(name),
            expect: Expect::Absent,
        });
    }
    expect_conflict(store.commit(txn), "bob and Bob in one transaction")?;
    ensure!(
        store.get_user(&scope.account, "bob")?.is_none(),
        "bob created"
    );

    // The names are free elsewhere: in another account, and across users and roles.
    create_user(store, &other.user("alice"))?;
    create_role(store, &other.role("deploy"))?;
    create_role(store, &scope.role("alice"))?;
    create_user(store, &scope.user("DEPLOY"))?;
    let got = store
        .get_user(&other.account, "ALICE")?
        .map(|v| v.value.name);
    ensure_eq!(got, Some("alice".to_owned()), "alice of the other account");
    let got = store
        .get_user(&scope.account, "alice")?
        .map(|v| v.value.name);
    ensure_eq!(got, Some("Alice".to_owned()), "Alice beside role alice");
    Ok(())
}

/// Each update of a user or role raises its revision by one and replaces its whole tag set
/// and policy set; an update at a stale or future revision, of a missing principal, or naming
/// it in another case than stored (updates and deletes match the name as stored) is refused
/// and changes nothing.
pub fn user_and_role_updates_need_current_revision(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    let mut user = User {
        tags: BTreeMap::from([
            ("keep".to_owned(), "1".to_owned()),
            ("change".to_owned(), "old".to_owned()),
            ("drop".to_owned(), "x".to_owned()),
        ]),
        policies: entries("policy", 3),
        ..scope.user("Alice")
    };
    create_user(store, &user)?;
    user.path = "/moved/".to_owned();
    user.arn = format!("arn:aws:iam::{}:user/moved/Alice", scope.account);
    user.tags = BTreeMap::from([
        ("keep".to_owned(), "1".to_owned()),
        ("change".to_owned(), "new".to_owned()),
        ("add".to_owned(), "y".to_owned()),
    ]);
    user.policies.remove("policy-01");
    user.policies
        .insert("policy-00".to_owned(), "{}".to_owned());
    user.policies.insert("added".to_owned(), POLICY.to_owned());
    let put = |user: &User, expect| Write::PutUser {
        user: user.clone(),
        expect,
    };
    commit1(store, put(&user, Expect::Revision(1)))?;
    let got = must_get_user(store, &user)?;
    ensure_eq!((got.revision, &got.value), (2, &user), "user after update");
    user.tags.clear();
    user.policies.clear();
    commit1(store, put(&user, Expect::Revision(2)))?;
    let before = must_get_user(store, &user)?;
    ensure_eq!((before.revision, &before.value), (3, &user), "user cleared");

    let mut stale = user.clone();
    stale.tags.insert("stale".to_owned(), "yes".to_owned());
    stale.path = "/stale/".to_owned();
    for rev in [2, 4, u64::MAX] {
        let what = format!("user update at revision {rev}");
        expect_conflict(commit1(store, put(&stale, Expect::Revision(rev))), &what)?;
        ensure_eq!(
            must_get_user(store, &user)?,
            before,
            "user after a refused update"
        );
    }
    let other_case = User {
        name: "alice".to_owned(),
        ..stale.clone()
    };
    let refused = commit1(store, put(&other_case, Expect::Revision(3)));
    expect_conflict(refused, "user update naming alice")?;
    ensure_eq!(
        must_get_user(store, &user)?,
        before,
        "user after alice's update"
    );
    let ghost = scope.user("ghost");
    expect_conflict(
        commit1(store, put(&ghost, Expect::Revision(1))),
        "update of a missing user",
    )?;
    ensure!(
        store.get_user(&scope.account, "ghost")?.is_none(),
        "refused update created a user"
    );
    role_updates_need_current_revision(store, &scope)
}

fn role_updates_need_current_revision(store: &dyn Store, scope: &Scope) -> Outcome {
    let mut role = Role {
        policies: entries("policy", 2),
        ..scope.role("Deploy")
    };
    create_role(store, &role)?;
    role.description = "changed".to_owned();
    role.max_session_duration = 7200;
    role.trust_policy = "{}".to_owned();
    role.tags = entries("t", 3);
    role.policies.clear();
    let put = |role: &Role, expect| Write::PutRole {
        role: role.clone(),
        expect,
    };
    commit1(store, put(&role, Expect::Revision(1)))?;
    let before = must_get_role(store, &role)?;
    ensure_eq!(
        (before.revision, &before.value),
        (2, &role),
        "role after update"
    );
    let mut stale = role.clone();
    stale.description = "lost update".to_owned();
    stale.tags.clear();
    for rev in [1, 3, u64::MAX] {
        let what = format!("role update at revision {rev}");
        expect_conflict(commit1(store, put(&stale, Expect::Revision(rev))), &what)?;
        ensure_eq!(
            must_get_role(store, &role)?,
            before,
            "role after a refused update"
        );
    }
    let other_case = Role {
        name: "DEPLOY".to_owned(),
        ..stale
    };
    let refused = commit1(store, put(&other_case, Expect::Revision(2)));
    expect_conflict(refused, "role update naming DEPLOY")?;
    ensure_eq!(
        must_get_role(store, &role)?,
        before,
        "role after DEPLOY's update"
    );
    expect_conflict(
        commit1(store, put(&scope.role("ghost"), Expect::Revision(1))),
        "update of a missing role",
    )?;
    ensure!(
        store.get_role(&scope.account, "ghost")?.is_none(),
        "refused update created a role"
    );
    Ok(())
}

/// Deleting a user or role needs its current revision and its name as stored; a missing one
/// cannot be deleted; the name is then free in every case, and a principal created under it
/// starts afresh at revision 1 with none of the old tags or policies.
pub fn delete_user_and_role_need_current_revision(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    let user = User {
        tags: entries("tag", 4),
        policies: entries("policy", 4),
        ..scope.user("Alice")
    };
    create_user(store, &user)?;
    commit1(
        store,
        Write::PutUser {
            user: user.clone(),
            expect: Expect::Revision(1),
        },
    )?;
    let kept = scope.user("kept");
    create_user(store, &kept)?;
    let delete = |name: &str, revision| Write::DeleteUser {
        account: scope.account.clone(),
        name: name.to_owned(),
        revision,
    };
    let before = must_get_user(store, &user)?;
    for (name, rev) in [
        ("Alice", 1),
        ("Alice", 3),
        ("Alice", u64::MAX),
        ("alice", 2),
    ] {
        let what = format!("delete of user {name} at revision {rev}");
        expect_conflict(commit1(store, delete(name, rev)), &what)?;
        ensure_eq!(must_get_user(store, &user)?, before, "user after {what}");
    }
    commit1(store, delete("Alice", 2))?;
    ensure!(
        store.get_user(&scope.account, "Alice")?.is_none(),
        "deleted user readable"
    );
    expect_conflict(
        commit1(store, delete("Alice", 2)),
        "second delete of a user",
    )?;
    expect_conflict(
        commit1(store, delete("ghost", 1)),
        "delete of a missing user",
    )?;
    let listed = store.list_users(&scope.account, "/", None, 100)?;
    ensure_eq!(listed, vec![kept.clone()], "users after the delete");
    let reborn = User {
        tags: BTreeMap::new(),
        policies: BTreeMap::new(),
        ..scope.user("alice")
    };
    create_user(store, &reborn)?;
    let got = must_get_user(store, &reborn)?;
    ensure_eq!((got.revision, got.value), (1, reborn), "user re-created");

    let role = Role {
        tags: entries("tag", 2),
        policies: entries("policy", 2),
        ..scope.role("Deploy")
    };
    create_role(store, &role)?;
    commit1(
        store,
        Write::PutRole {
            role: role.clone(),
            expect: Expect::Revision(1),
        },
    )?;
    let delete = |name: &str, revision| Write::DeleteRole {
        account: scope.account.clone(),
        name: name.to_owned(),
        revision,
    };
    let before = must_get_role(store, &role)?;
    for (name, rev) in [("Deploy", 1), ("Deploy", 3), ("deploy", 2)] {
        let what = format!("delete of role {name} at revision {rev}");
        expect_conflict(commit1(store, delete(name, rev)), &what)?;
        ensure_eq!(must_get_role(store, &role)?, before, "role after {what}");
    }
    commit1(store, delete("Deploy", 2))?;
    ensure!(
        store.get_role(&scope.account, "Deploy")?.is_none(),
        "deleted role readable"
    );
    expect_conflict(
        commit1(store, delete("Deploy", 2)),
        "second delete of a role",
    )?;
    let reborn = Role {
        tags: BTreeMap::new(),
        policies: BTreeMap::new(),
        ..scope.role("DEPLOY")
    };
    create_role(store, &reborn)?;
    let got = must_get_role(store, &reborn)?;
    ensure_eq!((got.revision, got.value), (1, reborn), "role re-created");
    ensure_eq!(must_get_user(store, &kept)?.value, kept, "the other user");
    Ok(())
}

/// A user or role of an account that does not exist is a dangling reference: a conflict.
pub fn users_and_roles_need_their_account(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let write = Write::PutUser {
        user: scope.user("orphan"),
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "user of a missing account")?;
    let write = Write::PutRole {
        role: scope.role("orphan"),
        expect: Expect::Absent,
    };
    expect_conflict(commit1(store, write), "role of a missing account")?;
    ensure!(
        store.get_user(&scope.account, "orphan")?.is_none(),
        "user stored"
    );
    ensure!(
        store.get_role(&scope.account, "orphan")?.is_none(),
        "role stored"
    );
    let users = store.list_users(&scope.account, "", None, 10)?;
    ensure!(users.is_empty(), "users of a missing account: {users:?}");
    let roles = store.list_roles(&scope.account, "", None, 10)?;
    ensure!(roles.is_empty(), "roles of a missing account: {roles:?}");
    Ok(())
}

/// The (name, path) pairs of the listing fixture: names that sort differently bytewise and
/// case-insensitively, paths that share prefixes.
fn listing_fixture() -> Vec<(String, String)> {
    let paths = [
        "/",
        "/eng/",
        "/eng/backend/",
        "/engineering/",
        "/sales/",
        "/eng%/",
    ];
    let names = [
        "adam", "Zed", "bob", "Carol", "carl", "_x", "1st", "eve", "Eve2", "mallory", "Oscar",
        "peggy", "trent", "victor", "Walter", "a", "B",
    ];
    names
        .iter()
        .zip(paths.iter().cycle())
        .map(|(n, p)| ((*n).to_owned(), (*p).to_owned()))
        .collect()
}

/// The path prefixes the listing case asks about: each literal (no wildcards) and
/// case-sensitive.
const PREFIXES: [&str; 11] = [
    "/",
    "",
    "/eng/",
    "/eng",
    "/eng/backend/",
    "/engineering/",
    "/sales/",
    "/none/",
    "/ENG/",
    "/en_/",
    "/eng%",
];

/// Checks one listing against `all` (name, path): for every prefix and page size, the
/// entries whose path starts with the prefix, by name bytewise; `after` is exclusive and need
/// not be a stored name.
fn check_listing<T: Clone + PartialEq + std::fmt::Debug>(
    what: &str,
    all: &[T],
    name_path: impl Fn(&T) -> (&str, &str),
    list: impl Fn(&str, Option<&str>, usize) -> Result<Vec<T>, Failure>,
) -> Outcome {
    let mut sorted = all.to_vec();
    sorted.sort_by(|a, b| name_path(a).0.cmp(name_path(b).0));
    for prefix in PREFIXES {
        let want: Vec<T> = sorted
            .iter()
            .filter(|t| name_path(t).1.starts_with(prefix))
            .cloned()
            .collect();
        for limit in PAGE_SIZES {
            let got = collect_pages(
                limit,
                |t: &T| name_path(t).0.to_owned(),
                |after: Option<&String>, limit| list(prefix, after.map(String::as_str), limit),
            )?;
            ensure_eq!(got, want, "{what} under {prefix:?} with limit {limit}");
        }
        for after in ["Carol", "b", "zz", "0"] {
            let want_after: Vec<T> = want
                .iter()
                .filter(|t| name_path(t).0 > after)
                .cloned()
                .collect();
            let got = list(prefix, Some(after), 100)?;
            ensure_eq!(got, want_after, "{what} under {prefix:?} after {after:?}");
        }
    }
    Ok(())
}

/// `list_users` and `list_roles` answer the principals of one account whose path starts with
/// the prefix, ordered by name bytewise (upper case before lower case), page by page.
pub fn list_users_and_roles_by_path_prefix_in_name_order(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let other = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    create_account(store, &other)?;
    let mut users = Vec::new();
    let mut roles = Vec::new();
    let mut txn = Transaction::new();
    for (name, path) in listing_fixture() {
        let user = User {
            path: path.clone(),
            ..scope.user(&name)
        };
        let role = Role {
            path,
            ..scope.role(&format!("{name}-role"))
        };
        txn.push(Write::PutUser {
            user: user.clone(),
            expect: Expect::Absent,
        })
        .push(Write::PutRole {
            role: role.clone(),
            expect: Expect::Absent,
        });
        users.push(user);
        roles.push(role);
    }
    // Same names in another account, with tags and policies of their own, which must
    // neither be listed nor lend their tags and policies to the listed ones.
    let foreign = entries("other-account", 2);
    for name in ["adam", "Zed", "0"] {
        let user = User {
            tags: foreign.clone(),
            policies: foreign.clone(),
            ..other.user(name)
        };
        let role = Role {
            tags: foreign.clone(),
            policies: foreign.clone(),
            ..other.role(&format!("{name}-role"))
        };
        txn.push(Write::PutUser {
            user,
            expect: Expect::Absent,
        })
        .push(Write::PutRole {
            role,
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    let account = &scope.account;
    check_listing(
        "users",
        &users,
        |u: &User| (u.name.as_str(), u.path.as_str()),
        |prefix, after, limit| Ok(store.list_users(account, prefix, after, limit)?),
    )?;
    check_listing(
        "roles",
        &roles,
        |r: &Role| (r.name.as_str(), r.path.as_str()),
        |prefix, after, limit| Ok(store.list_roles(account, prefix, after, limit)?),
    )?;
    let none = store.list_users(account, "/", None, 0)?;
    ensure!(none.is_empty(), "users with limit 0: {none:?}");
    Ok(())
}

/// A session owner with the given role, token digest and expiry.
fn session(role: &str, digest: Vec<u8>, expires_at: i64) -> AccessKeyOwner {
    AccessKeyOwner::Session(Session {
        role_name: role.to_owned(),
        role_id: format!("AROA{}", role.to_ascii_uppercase()),
        session_name: format!("{role}-session"),
        token_digest: digest,
        expires_at: Timestamp(expires_at),
    })
}

/// Access keys of every owner (root, user, session) and status read back with every field at
/// revision 1, and an update may change the owner (raising the revision each time).
pub fn access_key_owners_round_trip(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    let owners = [
        AccessKeyOwner::Root,
        AccessKeyOwner::User("alice".to_owned()),
        AccessKeyOwner::User("Bob.Builder+1@example.com,=_-".to_owned()),
        session("deploy", (0..=255u8).collect(), i64::MAX),
        session("x", Vec::new(), T0.0),
        session("ci", vec![0; 32], T0.0 + 1),
    ];
    let mut keys = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        for status in [AccessKeyStatus::Active, AccessKeyStatus::Inactive] {
            let key = AccessKey {
                owner: owner.clone(),
                status,
                principal_arn: format!("arn:aws:iam::{}:owner-{i}", scope.account),
                ..scope.access_key()
            };
            create_access_key(store, &key)?;
            keys.push(key);
        }
    }
    for k in &keys {
        let got = store.get_access_key(&k.id)?;
        ensure_eq!(
            got.map(|v| (v.revision, v.value)),
            Some((1, k.clone())),
            "access key of {:?}",
            k.owner
        );
    }
    let mut key = keys
        .first()
        .cloned()
        .ok_or_else(|| Failure::new("no keys"))?;
    for (rev, owner) in owners
        .iter()
        .rev()
        .chain([&AccessKeyOwner::Root])
        .enumerate()
    {
        let rev = u64::try_from(rev).unwrap_or(u64::MAX) + 1;
        key.owner = owner.clone();
        let write = Write::PutAccessKey {
            access_key: key.clone(),
            expect: Expect::Revision(rev),
        };
        commit1(store, write)?;
        let got = store.get_access_key(&key.id)?;
        ensure_eq!(
            got.map(|v| (v.revision, v.value)),
            Some((rev + 1, key.clone())),
            "access key moved to {owner:?}"
        );
    }
    Ok(())
}

/// The ids of `keys`, listed.
fn ids(keys: &[Versioned<AccessKey>]) -> Vec<&str> {
    keys.iter().map(|k| k.value.id.as_str()).collect()
}

/// `list_access_keys` answers every key of one user, or of the account root, ordered by id
/// with their revisions; never session credentials, nor keys of another owner or account.
pub fn list_access_keys_of_one_owner_in_id_order(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    let other = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    create_account(store, &other)?;
    let mut txn = Transaction::new();
    let mut make = |key: AccessKey| {
        txn.push(Write::PutAccessKey {
            access_key: key.clone(),
            expect: Expect::Absent,
        });
        key
    };
    let mut root: Vec<AccessKey> = (0..3).map(|_| make(scope.access_key())).collect();
    let mut alice: Vec<AccessKey> = (0..3)
        .map(|_| make(scope.user_access_key("alice")))
        .collect();
    let bob: Vec<AccessKey> = (0..2).map(|_| make(scope.user_access_key("bob"))).collect();
    for role in ["alice", "root"] {
        make(scope.session_key(role, Timestamp(T0.0 + 3_600_000)));
    }
    let other_root = make(other.access_key());
    make(other.user_access_key("alice"));
    store.commit(txn)?;
    for list in [&mut root, &mut alice] {
        list.sort_by(|a, b| a.id.cmp(&b.id));
    }
    let at_one = |keys: &[AccessKey]| -> Vec<Versioned<AccessKey>> {
        keys.iter()
            .map(|k| Versioned {
                revision: 1,
                value: k.clone(),
            })
            .collect()
    };
    ensure_eq!(
        store.list_access_keys(&scope.account, None)?,
        at_one(&root),
        "root keys"
    );
    ensure_eq!(
        store.list_access_keys(&scope.account, Some("alice"))?,
        at_one(&alice),
        "alice's keys"
    );
    let got = store.list_access_keys(&scope.account, Some("bob"))?;
    ensure_eq!(got.len(), bob.len(), "bob's keys: {:?}", ids(&got));
    for name in ["carol", "root", ""] {
        let got = store.list_access_keys(&scope.account, Some(name))?;
        ensure!(got.is_empty(), "keys of user {name:?}: {:?}", ids(&got));
    }
    let got = store.list_access_keys(&other.account, None)?;
    ensure_eq!(
        ids(&got),
        vec![other_root.id.as_str()],
        "other account's root keys"
    );
    let unknown = Scope::new("us-east-1")?;
    ensure!(
        store.list_access_keys(&unknown.account, None)?.is_empty(),
        "keys of an unknown account"
    );

    // An update shows with its revision; a deleted key is gone.
    let (first, second) = match alice.as_slice() {
        [a, b, ..] => (a.clone(), b.clone()),
        _ => return Err(Failure::new("alice has too few keys")),
    };
    let mut off = first.clone();
    off.status = AccessKeyStatus::Inactive;
    let mut txn = Transaction::new();
    txn.push(Write::PutAccessKey {
        access_key: off.clone(),
        expect: Expect::Revision(1),
    })
    .push(Write::DeleteAccessKey {
        id: second.id.clone(),
        revision: 1,
    });
    store.commit(txn)?;
    let got = store.list_access_keys(&scope.account, Some("alice"))?;
    let mut want = vec![Versioned {
        revision: 2,
        value: off,
    }];
    want.extend(at_one(alice.get(2..).unwrap_or_default()));
    ensure_eq!(got, want, "alice's keys after an update and a delete");
    Ok(())
}

/// Deleting an access key needs its current revision; a missing key cannot be deleted; the id
/// can then be created afresh at revision 1.
pub fn delete_access_key_needs_current_revision(store: &dyn Store) -> Outcome {
    let scope = Scope::new("us-east-1")?;
    create_account(store, &scope)?;
    let mut key = scope.user_access_key("alice");
    create_access_key(store, &key)?;
    key.status = AccessKeyStatus::Inactive;
    let write = Write::PutAccessKey {
        access_key: key.clone(),
        expect: Expect::Revision(1),
    };
    commit1(store, write)?;
    let kept = scope.user_access_key("alice");
    create_access_key(store, &kept)?;
    let delete = |id: &str, revision| Write::DeleteAccessKey {
        id: id.to_owned(),
        revision,
    };
    for rev in [1, 3, u64::MAX] {
        let what = format!("delete at revision {rev}");
        expect_conflict(commit1(store, delete(&key.id, rev)), &what)?;
        let got = store
            .get_access_key(&key.id)?
            .map(|v| (v.revision, v.value));
        ensure_eq!(got, Some((2, key.clone())), "key after a refused {what}");
    }
    expect_conflict(
        commit1(store, delete("AKIANOSUCHKEY0000000", 1)),
        "delete of a missing key",
    )?;
    commit1(store, delete(&key.id, 2))?;
    ensure!(
        store.get_access_key(&key.id)?.is_none(),
        "deleted key readable"
    );
    expect_conflict(commit1(store, delete(&key.id, 2)), "second delete")?;
    let listed = store.list_access_keys(&scope.account, Some("alice"))?;
    ensure_eq!(
        ids(&listed),
        vec![kept.id.as_str()],
        "keys after the delete"
    );
    let reborn = AccessKey {
        owner: AccessKeyOwner::Root,
        status: AccessKeyStatus::Active,
        ..key.clone()
    };
    create_access_key(store, &reborn)?;
    let got = store
        .get_access_key(&key.id)?
        .map(|v| (v.revision, v.value));
    ensure_eq!(got, Some((1, reborn)), "key re-created");
    Ok(())
}

/// Checks `list_expired_sessions` at `now`: of the case's keys `own`, exactly `want` are
/// listed, in that order; every key listed is a session expired at `now`, oldest first and
/// ties by id; limits cut the list.
fn check_expired(store: &dyn Store, now: Timestamp, own: &[String], want: &[&str]) -> Outcome {
    let all = store.list_expired_sessions(now, usize::MAX)?;
    let mine: Vec<&str> = all
        .iter()
        .filter(|id| own.contains(id))
        .map(String::as_str)
        .collect();
    ensure_eq!(
        mine,
        want,
        "expired sessions at {now:?}, of the case's keys"
    );
    let mut last: Option<(Timestamp, &str)> = None;
    for id in &all {
        // A key of a case running beside this one may be gone already.
        let Some(k) = store.get_access_key(id)? else {
            continue;
        };
        let AccessKeyOwner::Session(s) = &k.value.owner else {
            return Err(Failure::new(format!(
                "expired sessions at {now:?} listed {id}, which is not a session: {:?}",
                k.value
            )));
        };
        ensure!(
            s.expires_at <= now,
            "expired sessions at {now:?} listed {id}, which expires at {:?}",
            s.expires_at
        );
        let entry = (s.expires_at, id.as_str());
        ensure!(
            last.is_none_or(|prev| prev < entry),
            "expired sessions at {now:?}: {id} listed out of order in {all:?}"
        );
        last = Some(entry);
    }
    for n in [0, 1, 2, want.len(), want.len() + 1] {
        let page = store.list_expired_sessions(now, n)?;
        let prefix = all.get(..n.min(all.len())).unwrap_or_default();
        ensure_eq!(page, prefix, "expired sessions at {now:?} with limit {n}");
    }
    Ok(())
}

/// `list_expired_sessions` answers the session credentials, in every account, that expired at
/// or before `now`, oldest first and ties by id; never root or user keys, whatever their age.
/// Extending a session takes it out; deleting it removes it.
pub fn expired_sessions_across_accounts_oldest_first(store: &dyn Store) -> Outcome {
    let (a, b) = (Scope::new("us-east-1")?, Scope::new("eu-west-3")?);
    create_account(store, &a)?;
    create_account(store, &b)?;
    let first = a.session_key("deploy", Timestamp(days_before(3)));
    let tie1 = a.session_key("deploy", Timestamp(days_before(1)));
    let tie2 = b.session_key("ci", Timestamp(days_before(1)));
    let just = b.session_key("ci", Timestamp(DUE_NOW.0 - 1));
    let boundary = a.session_key("deploy", Timestamp(DUE_NOW.0));
    let later = b.session_key("ci", Timestamp(DUE_NOW.0 + 1));
    let mut old_root = a.access_key();
    old_root.created_at = Timestamp(days_before(100));
    let mut old_user = b.user_access_key("alice");
    old_user.created_at = Timestamp(days_before(100));
    let created = [
        &later, &boundary, &tie2, &first, &old_root, &just, &tie1, &old_user,
    ];
    let mut txn = Transaction::new();
    for k in created {
        txn.push(Write::PutAccessKey {
            access_key: k.clone(),
            expect: Expect::Absent,
        });
    }
    store.commit(txn)?;
    let own: Vec<String> = created.iter().map(|k| k.id.clone()).collect();
    let (lo, hi) = if tie1.id < tie2.id {
        (&tie1, &tie2)
    } else {
        (&tie2, &tie1)
    };
    let want = [
        first.id.as_str(),
        lo.id.as_str(),
        hi.id.as_str(),
        just.id.as_str(),
        boundary.id.as_str(),
    ];
    check_expired(store, DUE_NOW, &own, &want)?;
    check_expired(store, Timestamp(DUE_NOW.0 - 1), &own, &want[..4])?;
    check_expired(store, Timestamp(days_before(1)), &own, &want[..3])?;
    check_expired(store, Timestamp(days_before(1) - 1), &own, &want[..1])?;
    check_expired(store, Timestamp(days_before(3) - 1), &own, &[])?;
    check_expired(store, Timestamp(DUE_NOW.0 + 1), &own, &{
        let mut w = want.to_vec();
        w.push(later.id.as_str());
        w
    })?;

    // Extending `first` takes it out; deleting `just` removes it.
    let mut extended = first.clone();
    if let AccessKeyOwner::Session(s) = &mut extended.owner {
        s.expires_at = Timestamp(DUE_NOW.0 + 1);
    }
    let mut txn = Transaction::new();
    txn.push(Write::PutAccessKey {
        access_key: extended,
        expect: Expect::Revision(1),
    })
    .push(Write::DeleteAccessKey {
        id: just.id.clone(),
        revision: 1,
    });
    store.commit(txn)?;
    let [_, tie_lo, tie_hi, _, at_boundary] = want;
    check_expired(store, DUE_NOW, &own, &[tie_lo, tie_hi, at_boundary])?;

    let mut txn = Transaction::new();
    for k in created.iter().filter(|k| k.id != just.id) {
        let revision = if k.id == first.id { 2 } else { 1 };
        txn.push(Write::DeleteAccessKey {
            id: k.id.clone(),
            revision,
        });
    }
    store.commit(txn)?;
    check_expired(store, Timestamp(DUE_NOW.0 + 1), &own, &[])
}

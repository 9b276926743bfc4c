#![cfg(test)]
//! IAM and STS operations of the service against a real SQLite store: users, roles, access
//! keys, inline policies, tags, AssumeRole sessions and the credentials the front end looks up.

mod common;

use common::{ACCOUNT, ctx};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::identity::AccessKeyStatus;
use strongroom_core::ids::{AccountId, Region};
use strongroom_core::time::{Clock, ManualClock, SystemClock, Timestamp};
use strongroom_service::ops::iam::{CreateRoleInput, CreateUserInput, Tag, UserView};
use strongroom_service::ops::sts::AssumeRoleInput;
use strongroom_service::{CallerKind, RequestContext, Service};

/// A service whose account exists (as the server's bootstrap makes it), with the account
/// root's access key.
async fn service_at(dir: &std::path::Path) -> Service {
    service_with_clock(dir, Arc::new(SystemClock)).await
}

async fn service_with_clock(dir: &std::path::Path, clock: Arc<dyn Clock>) -> Service {
    let svc = common::service_with_clock(dir, clock);
    svc.bootstrap_dev(&AccountId::parse(ACCOUNT).unwrap(), None, None)
        .await
        .unwrap();
    svc
}

fn user_input(name: &str) -> CreateUserInput {
    CreateUserInput {
        name: name.to_owned(),
        ..CreateUserInput::default()
    }
}

fn allow(actions: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{actions}","Resource":"*"}}]}}"#
    )
}

fn trust(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// The context of a request signed with access key `id`, as the front end builds it.
async fn ctx_of(svc: &Service, id: &str) -> RequestContext {
    let cred = svc
        .credential(id)
        .await
        .unwrap()
        .expect("credential exists");
    RequestContext::new(
        cred.caller.clone(),
        "aws",
        Region::parse("us-east-1").unwrap(),
        Arc::from("test-request"),
    )
}

/// A user with an access key and (optionally) an inline policy; returns the key's context.
async fn user_with_key(svc: &Service, name: &str, policy: Option<&str>) -> RequestContext {
    let root = ctx();
    svc.create_user(&root, user_input(name)).await.unwrap();
    if let Some(p) = policy {
        svc.put_user_policy(&root, name, "inline", p).await.unwrap();
    }
    let key = svc.create_access_key(&root, Some(name)).await.unwrap();
    ctx_of(svc, &key.access_key_id).await
}

#[tokio::test]
async fn users_are_created_read_listed_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    let created = svc
        .create_user(
            &c,
            CreateUserInput {
                name: "Alice".into(),
                path: Some("/eng/".into()),
                tags: vec![Tag {
                    key: "Dept".into(),
                    value: "Eng".into(),
                }],
            },
        )
        .await
        .unwrap();
    assert_eq!(created.arn, "arn:aws:iam::111122223333:user/eng/Alice");
    assert!(created.id.starts_with("AIDA"));
    match svc.get_user(&c, Some("alice")).await.unwrap() {
        UserView::User(u) => assert_eq!(u, created),
        other => panic!("{other:?}"),
    }
    match svc.get_user(&c, None).await.unwrap() {
        UserView::Root { arn, account, .. } => {
            assert_eq!(arn, "arn:aws:iam::111122223333:root");
            assert_eq!(account.as_str(), "111122223333");
        }
        other => panic!("{other:?}"),
    }
    for clash in ["Alice", "ALICE", "alice"] {
        let e = svc.create_user(&c, user_input(clash)).await.unwrap_err();
        assert!(matches!(e, KmsError::AlreadyExists(_)), "{e:?}");
    }
    for n in ["bob", "carol"] {
        svc.create_user(&c, user_input(n)).await.unwrap();
    }
    let first = svc.list_users(&c, None, None, 2).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["Alice", "bob"]
    );
    let rest = svc
        .list_users(&c, None, first.next_marker.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next_marker, None);
    let eng = svc.list_users(&c, Some("/eng/"), None, 10).await.unwrap();
    assert_eq!(eng.items.len(), 1);

    svc.delete_user(&c, "ALICE").await.unwrap();
    let e = svc.get_user(&c, Some("Alice")).await.unwrap_err();
    assert_eq!(
        e,
        KmsError::NotFound("The user with name Alice cannot be found.".into())
    );
}

#[tokio::test]
async fn invalid_names_paths_and_tags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    for bad in ["", "has space", &"x".repeat(65)] {
        assert!(matches!(
            svc.create_user(&c, user_input(bad)).await,
            Err(KmsError::Validation(_))
        ));
    }
    let e = svc
        .create_user(
            &c,
            CreateUserInput {
                name: "ok".into(),
                path: Some("nope".into()),
                tags: vec![],
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::Validation(_)), "{e:?}");
    let tag = |k: &str| Tag {
        key: k.into(),
        value: String::new(),
    };
    for tags in [vec![tag("aws:x")], vec![tag("a"), tag("A")]] {
        let e = svc
            .create_user(
                &c,
                CreateUserInput {
                    name: "tagged".into(),
                    path: None,
                    tags,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, KmsError::Tag(_)), "{e:?}");
    }
    // Nothing was created by the refused requests.
    assert!(
        svc.list_users(&c, None, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn access_keys_have_a_quota_and_a_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    svc.create_user(&c, user_input("alice")).await.unwrap();
    let a = svc.create_access_key(&c, Some("Alice")).await.unwrap();
    assert_eq!(a.user_name.as_deref(), Some("alice"));
    assert!(a.access_key_id.starts_with("AKIA"));
    assert_eq!(a.secret_access_key.expose().len(), 40);
    // The secret is never printed.
    assert!(!format!("{a:?}").contains(std::str::from_utf8(a.secret_access_key.expose()).unwrap()));
    let b = svc.create_access_key(&c, Some("alice")).await.unwrap();
    let e = svc.create_access_key(&c, Some("alice")).await.unwrap_err();
    assert_eq!(
        e,
        KmsError::LimitExceeded("Cannot exceed quota for AccessKeysPerUser: 2".into())
    );

    // The credential the front end verifies signatures with.
    let cred = svc.credential(&a.access_key_id).await.unwrap().unwrap();
    assert_eq!(cred.secret.expose(), a.secret_access_key.expose());
    assert!(cred.active);
    assert_eq!(
        cred.caller.kind,
        CallerKind::User {
            name: "alice".into()
        }
    );
    assert_eq!(
        cred.caller.principal_arn,
        "arn:aws:iam::111122223333:user/alice"
    );

    svc.update_access_key(
        &c,
        Some("alice"),
        &a.access_key_id,
        AccessKeyStatus::Inactive,
    )
    .await
    .unwrap();
    assert!(
        !svc.credential(&a.access_key_id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let listed = svc
        .list_access_keys(&c, Some("alice"), None, 100)
        .await
        .unwrap();
    let statuses: Vec<_> = listed
        .items
        .iter()
        .map(|k| (k.access_key_id.clone(), k.status))
        .collect();
    assert!(statuses.contains(&(a.access_key_id.clone(), AccessKeyStatus::Inactive)));
    assert!(statuses.contains(&(b.access_key_id.clone(), AccessKeyStatus::Active)));

    svc.delete_access_key(&c, Some("alice"), &a.access_key_id)
        .await
        .unwrap();
    assert!(svc.credential(&a.access_key_id).await.unwrap().is_none());
    let e = svc
        .delete_access_key(&c, Some("alice"), &a.access_key_id)
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::NotFound(_)), "{e:?}");
    // Another user's key is not found under this user.
    svc.create_user(&c, user_input("bob")).await.unwrap();
    let e = svc
        .update_access_key(&c, Some("bob"), &b.access_key_id, AccessKeyStatus::Inactive)
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn concurrent_key_creation_respects_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    svc.create_user(&c, user_input("racer")).await.unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (svc, c) = (svc.clone(), c.clone());
            tokio::spawn(async move { svc.create_access_key(&c, Some("racer")).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(KmsError::LimitExceeded(_)) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(created, 2);
    let keys = svc
        .list_access_keys(&c, Some("racer"), None, 100)
        .await
        .unwrap();
    assert_eq!(keys.items.len(), 2);
}

#[tokio::test]
async fn a_user_is_never_deleted_while_a_key_is_being_created() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    for i in 0..20 {
        let name = format!("u{i}");
        svc.create_user(&c, user_input(&name)).await.unwrap();
        let (s1, c1, n1) = (svc.clone(), c.clone(), name.clone());
        let create = tokio::spawn(async move { s1.create_access_key(&c1, Some(&n1)).await });
        let (s2, c2, n2) = (svc.clone(), c.clone(), name.clone());
        let delete = tokio::spawn(async move { s2.delete_user(&c2, &n2).await });
        let created = create.await.unwrap();
        let deleted = delete.await.unwrap();
        match (&created, &deleted) {
            // The key came first: the deletion saw it.
            (Ok(_), Err(KmsError::DeleteConflict(_))) => {
                assert!(svc.get_user(&c, Some(&name)).await.is_ok());
            }
            // The deletion came first: no key was made for a user that is gone.
            (Err(KmsError::NotFound(_)), Ok(())) => {}
            other => panic!("iteration {i}: {other:?}"),
        }
        if let Ok(k) = created {
            assert!(svc.credential(&k.access_key_id).await.unwrap().is_some());
        }
    }
}

#[tokio::test]
async fn delete_user_conflicts_with_keys_and_policies() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    svc.create_user(&c, user_input("alice")).await.unwrap();
    let key = svc.create_access_key(&c, Some("alice")).await.unwrap();
    svc.put_user_policy(&c, "alice", "p", &allow("iam:GetUser"))
        .await
        .unwrap();
    let e = svc.delete_user(&c, "alice").await.unwrap_err();
    assert_eq!(
        e,
        KmsError::DeleteConflict("Cannot delete entity, must delete access keys first.".into())
    );
    svc.delete_access_key(&c, Some("alice"), &key.access_key_id)
        .await
        .unwrap();
    let e = svc.delete_user(&c, "alice").await.unwrap_err();
    assert_eq!(
        e,
        KmsError::DeleteConflict("Cannot delete entity, must delete policies first.".into())
    );
    svc.delete_user_policy(&c, "alice", "p").await.unwrap();
    svc.delete_user(&c, "alice").await.unwrap();
}

#[tokio::test]
async fn inline_policies_are_validated_and_within_quota() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    svc.create_user(&c, user_input("alice")).await.unwrap();
    let doc = allow("kms:*");
    svc.put_user_policy(&c, "alice", "kms", &doc).await.unwrap();
    let got = svc.get_user_policy(&c, "ALICE", "kms").await.unwrap();
    assert_eq!(
        (
            got.entity_name.as_str(),
            got.policy_name.as_str(),
            got.document.as_str()
        ),
        ("alice", "kms", doc.as_str())
    );
    for bad in [
        "nope",
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
    ] {
        let e = svc
            .put_user_policy(&c, "alice", "bad", bad)
            .await
            .unwrap_err();
        assert!(matches!(e, KmsError::MalformedPolicyDocument(_)), "{e:?}");
    }
    // 2,048 characters for all of a user's inline policies, whitespace not counted.
    let padded = |n: usize| {
        let base = allow("kms:*");
        let sid = "a".repeat(n - base.len() - r#""Sid":"","#.len());
        base.replacen(r#"{"Effect""#, &format!(r#"{{"Sid":"{sid}","Effect""#), 1)
    };
    assert_eq!(padded(2048).len(), 2048);
    let e = svc
        .put_user_policy(&c, "alice", "big", &padded(2048))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        KmsError::LimitExceeded("Maximum policy size of 2048 bytes exceeded for user alice".into())
    );
    // Replacing a policy does not count its old version.
    svc.put_user_policy(&c, "alice", "kms", &padded(2048))
        .await
        .unwrap();
    let spread = padded(2048).replace(',', ",\n\t  ");
    svc.put_user_policy(&c, "alice", "kms", &spread)
        .await
        .unwrap();
    let names = svc.list_user_policies(&c, "alice", None, 10).await.unwrap();
    assert_eq!(names.items, vec!["kms".to_owned()]);
    let e = svc
        .delete_user_policy(&c, "alice", "nope")
        .await
        .unwrap_err();
    assert_eq!(
        e,
        KmsError::NotFound("The user policy with name nope cannot be found.".into())
    );
}

#[tokio::test]
async fn tags_merge_case_insensitively_within_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    svc.create_role(
        &c,
        CreateRoleInput {
            name: "r".into(),
            trust_policy: trust("arn:aws:iam::111122223333:root"),
            ..CreateRoleInput::default()
        },
    )
    .await
    .unwrap();
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    svc.tag_role(&c, "r", &[tag("Dept", "a"), tag("Team", "b")])
        .await
        .unwrap();
    svc.tag_role(&c, "r", &[tag("dept", "c")]).await.unwrap();
    let tags = svc.list_role_tags(&c, "r", None, 100).await.unwrap().items;
    assert_eq!(tags, vec![tag("Team", "b"), tag("dept", "c")]);
    svc.untag_role(&c, "r", &["TEAM".into(), "missing".into()])
        .await
        .unwrap();
    let many: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "")).collect();
    let e = svc.tag_role(&c, "r", &many).await.unwrap_err();
    assert!(matches!(e, KmsError::LimitExceeded(_)), "{e:?}");
    assert_eq!(
        svc.list_role_tags(&c, "r", None, 100)
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

#[tokio::test]
async fn roles_check_trust_policies_and_durations() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let c = ctx();
    let input = |name: &str, trust_policy: String, max: Option<u32>| CreateRoleInput {
        name: name.into(),
        trust_policy,
        max_session_duration: max,
        ..CreateRoleInput::default()
    };
    let role = svc
        .create_role(
            &c,
            input("Deployer", trust("arn:aws:iam::111122223333:root"), None),
        )
        .await
        .unwrap();
    assert_eq!(role.max_session_duration, 3600);
    assert!(role.id.starts_with("AROA"));
    assert!(matches!(
        svc.create_role(&c, input("deployer", trust("*"), None))
            .await,
        Err(KmsError::AlreadyExists(_))
    ));
    assert!(matches!(
        svc.create_role(&c, input("x", allow("iam:*"), None)).await,
        Err(KmsError::MalformedPolicyDocument(_))
    ));
    for bad in [3599, 43_201] {
        assert!(matches!(
            svc.create_role(&c, input("y", trust("*"), Some(bad))).await,
            Err(KmsError::Validation(_))
        ));
    }
    svc.put_role_policy(&c, "deployer", "p", &allow("kms:*"))
        .await
        .unwrap();
    assert!(matches!(
        svc.delete_role(&c, "Deployer").await,
        Err(KmsError::DeleteConflict(_))
    ));
    svc.delete_role_policy(&c, "Deployer", "p").await.unwrap();
    svc.delete_role(&c, "Deployer").await.unwrap();
    assert!(matches!(
        svc.get_role(&c, "deployer").await,
        Err(KmsError::NotFound(_))
    ));
}

#[tokio::test]
async fn permissions_follow_identity_policies_and_their_changes() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path()).await;
    let root = ctx();
    let alice = user_with_key(&svc, "alice", None).await;
    let e = svc
        .create_user(&alice, user_input("bob"))
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
    // A committed policy change takes effect at once (the principal cache is invalidated).
    svc.put_user_policy(&root, "alice", "admin", &allow("iam:*"))
        .await
        .unwrap();
    svc.create_user(&alice, user_input("bob")).await.unwrap();
    svc.delete_user_policy(&root, "alice", "admin")
        .await
        .unwrap();
    let e = svc.delete_user(&alice, "bob").await.unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
}

#[tokio::test]
async fn assume_role_issues_session_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let svc = service_with_clock(dir.path(), clock.clone()).await;
    let root = ctx();
    let alice = user_with_key(&svc, "alice", Some(&allow("sts:AssumeRole"))).await;
    let role = svc
        .create_role(
            &root,
            CreateRoleInput {
                name: "deployer".into(),
                trust_policy: trust(&alice.caller.principal_arn),
                max_session_duration: Some(7200),
                ..CreateRoleInput::default()
            },
        )
        .await
        .unwrap();
    let assume = |duration: Option<u32>, session: &str| AssumeRoleInput {
        role_arn: role.arn.clone(),
        session_name: session.into(),
        duration_seconds: duration,
        minimum_token_size: None,
        external_id: None,
    };

    let e = svc
        .assume_role(&root, assume(None, "root"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        KmsError::AccessDenied("Roles may not be assumed by root accounts.".into())
    );
    let now = clock.now();
    let out = svc
        .assume_role(&alice, assume(None, "build"))
        .await
        .unwrap();
    assert!(out.access_key_id.starts_with("ASIA"));
    assert_eq!(out.expiration, Timestamp(now.0 + 3_600_000));
    assert_eq!(out.assumed_role_id, format!("{}:build", role.id));
    assert_eq!(
        out.arn,
        "arn:aws:sts::111122223333:assumed-role/deployer/build"
    );
    assert!(out.session_token.expose().len() >= 128);
    assert!(!format!("{out:?}").contains(std::str::from_utf8(out.session_token.expose()).unwrap()));

    // What the front end checks: the secret, the token's digest, the expiry.
    let cred = svc.credential(&out.access_key_id).await.unwrap().unwrap();
    assert_eq!(cred.secret.expose(), out.secret_access_key.expose());
    let check = cred.session.as_ref().expect("session credentials");
    assert_eq!(
        check.token_digest,
        strongroom_crypto::digest::sha256(out.session_token.expose()).to_vec()
    );
    assert_eq!(check.expires_at, out.expiration);
    assert_eq!(
        cred.caller.kind,
        CallerKind::Session {
            role_name: "deployer".into(),
            role_id: role.id.clone(),
            session_name: "build".into(),
        }
    );
    let session = ctx_of(&svc, &out.access_key_id).await;
    let me = svc.get_caller_identity(&session).await.unwrap();
    assert_eq!(me.user_id, format!("{}:build", role.id));
    assert_eq!(me.arn, out.arn);
    let me = svc.get_caller_identity(&alice).await.unwrap();
    assert!(me.user_id.starts_with("AIDA"));
    let me = svc.get_caller_identity(&root).await.unwrap();
    assert_eq!(me.user_id, "111122223333");

    // Durations: up to the role's maximum; one hour when chaining.
    assert!(
        svc.assume_role(&alice, assume(Some(7200), "long"))
            .await
            .is_ok()
    );
    assert!(matches!(
        svc.assume_role(&alice, assume(Some(7201), "longer")).await,
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        svc.assume_role(&alice, assume(Some(899), "short")).await,
        Err(KmsError::Validation(_))
    ));
    svc.put_role_policy(&root, "deployer", "chain", &allow("sts:AssumeRole"))
        .await
        .unwrap();
    svc.create_role(
        &root,
        CreateRoleInput {
            name: "next".into(),
            trust_policy: trust(&role.arn),
            max_session_duration: Some(7200),
            ..CreateRoleInput::default()
        },
    )
    .await
    .unwrap();
    let next_arn = "arn:aws:iam::111122223333:role/next".to_owned();
    let chained = |d: Option<u32>| AssumeRoleInput {
        role_arn: next_arn.clone(),
        session_name: "hop".into(),
        duration_seconds: d,
        minimum_token_size: None,
        external_id: None,
    };
    let e = svc
        .assume_role(&session, chained(Some(3601)))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, KmsError::Validation(m) if m.contains("role chaining")),
        "{e:?}"
    );
    assert!(svc.assume_role(&session, chained(None)).await.is_ok());

    // Untrusted callers and missing roles are refused alike.
    let bob = user_with_key(&svc, "bob", Some(&allow("sts:AssumeRole"))).await;
    let e = svc
        .assume_role(&bob, assume(None, "nope"))
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
    let missing = AssumeRoleInput {
        role_arn: "arn:aws:iam::111122223333:role/ghost".into(),
        ..assume(None, "nope")
    };
    let e = svc.assume_role(&alice, missing).await.unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");

    // Longer tokens on request.
    let long = svc
        .assume_role(
            &alice,
            AssumeRoleInput {
                minimum_token_size: Some(1000),
                ..assume(None, "tok")
            },
        )
        .await
        .unwrap();
    assert!(long.session_token.expose().len() >= 1000);
}

#![cfg(test)]
//! Looking up the audit trail through the service (CloudTrail's LookupEvents): authorization
//! as for account-level IAM actions, deny by default, only the caller's account, newest first
//! in pages, and a clear refusal when the server keeps no trail.

mod common;

use common::{ACCOUNT, ctx, ctx_in};
use std::sync::Arc;
use strongroom_audit::{AuditEvent, AuditLog, AuditOptions, EventTime, LookupFilter, UserIdentity};
use strongroom_core::KmsError;
use strongroom_core::ids::{AccountId, Region};
use strongroom_core::time::SystemClock;
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_service::ops::iam::CreateUserInput;
use strongroom_service::{RequestContext, Service};

const OTHER: &str = "444455556666";

async fn service(dir: &std::path::Path) -> Service {
    let svc = common::service_at(dir);
    svc.bootstrap_dev(&AccountId::parse(ACCOUNT).unwrap(), None, None)
        .await
        .unwrap();
    svc
}

/// Opens the trail in `dir/audit` (under the same root key as the service) and attaches it.
fn attach_trail(svc: &Service, dir: &std::path::Path) -> Arc<AuditLog> {
    let root = DevFileSeal::new(dir.join("root.key"))
        .unseal(&SystemRandom)
        .unwrap();
    let log = Arc::new(
        AuditLog::open(
            dir.join("audit"),
            &root,
            &SystemRandom,
            AuditOptions::default(),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    svc.attach_audit(Arc::clone(&log));
    log
}

/// Event `i` of `account`: a root call named `Call{i}`.
fn event(account: &str, i: u32) -> AuditEvent {
    let mut e = AuditEvent::kms_api_call(
        format!("Call{i}"),
        EventTime::from_unix_seconds(1_795_939_200 + i64::from(i)).unwrap(),
        "us-east-1",
        UserIdentity {
            identity_type: Some("Root".into()),
            arn: Some(format!("arn:aws:iam::{account}:root")),
            account_id: Some(account.into()),
            ..UserIdentity::default()
        },
        uuid::Uuid::from_u128(u128::from(i) + 1),
    );
    e.read_only = true;
    e
}

/// A user with an access key and (optionally) an inline policy; returns its context.
async fn user(svc: &Service, name: &str, policy: Option<&str>) -> RequestContext {
    let root = ctx();
    svc.create_user(
        &root,
        CreateUserInput {
            name: name.to_owned(),
            ..CreateUserInput::default()
        },
    )
    .await
    .unwrap();
    if let Some(p) = policy {
        svc.put_user_policy(&root, name, "inline", p).await.unwrap();
    }
    let key = svc.create_access_key(&root, Some(name)).await.unwrap();
    let cred = svc.credential(&key.access_key_id).await.unwrap().unwrap();
    RequestContext::new(
        cred.caller.clone(),
        "aws",
        Region::parse("us-east-1").unwrap(),
        Arc::from("test-request"),
    )
}

fn names(page: &strongroom_audit::NewestPage) -> Vec<String> {
    page.events
        .iter()
        .map(|e| e.event.event_name.clone())
        .collect()
}

#[tokio::test]
async fn the_root_pages_through_its_own_accounts_events_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let log = attach_trail(&svc, dir.path());
    for i in 0..6 {
        log.record(event(ACCOUNT, i)).await.unwrap();
        log.record(event(OTHER, 100 + i)).await.unwrap();
    }
    let root = ctx();
    let first = svc
        .lookup_events(&root, LookupFilter::default(), None, 4)
        .await
        .unwrap();
    assert_eq!(names(&first), ["Call5", "Call4", "Call3", "Call2"]);
    let rest = svc
        .lookup_events(&root, LookupFilter::default(), first.next, 4)
        .await
        .unwrap();
    assert_eq!(names(&rest), ["Call1", "Call0"]);
    assert_eq!(rest.next, None);
    // Asking for another account's events gets the caller's own all the same.
    let sneaky = LookupFilter {
        recipient_account_id: Some(OTHER.to_owned()),
        ..LookupFilter::default()
    };
    let mine = svc.lookup_events(&root, sneaky, None, 50).await.unwrap();
    assert_eq!(mine.events.len(), 6);
    assert!(
        mine.events
            .iter()
            .all(|e| e.event.recipient_account_id == ACCOUNT)
    );
    // The other account's root sees its own.
    let other = svc
        .lookup_events(
            &ctx_in(OTHER, "eu-west-1"),
            LookupFilter::default(),
            None,
            50,
        )
        .await
        .unwrap();
    assert_eq!(other.events.len(), 6);
    assert_eq!(other.events[0].event.event_name, "Call105");
}

#[tokio::test]
async fn users_need_an_identity_policy_and_an_explicit_deny_wins() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let log = attach_trail(&svc, dir.path());
    log.record(event(ACCOUNT, 0)).await.unwrap();
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#;
    let other_action = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:DescribeTrails","Resource":"*"}]}"#;
    let denied = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"cloudtrail:Lookup*","Resource":"*"}]}"#;
    for (name, policy, allowed) in [
        ("nobody", None, false),
        ("trails", Some(other_action), false),
        ("denied", Some(denied), false),
        ("reader", Some(allow), true),
    ] {
        let c = user(&svc, name, policy).await;
        let got = svc
            .lookup_events(&c, LookupFilter::default(), None, 50)
            .await;
        match (allowed, got) {
            (true, Ok(page)) => assert_eq!(names(&page), ["Call0"]),
            (false, Err(KmsError::AccessDenied(m))) => {
                assert!(m.contains("cloudtrail:LookupEvents"), "{m}");
                assert!(m.contains(&format!("user/{name}")), "{m}");
            }
            (_, other) => panic!("{name}: {other:?}"),
        }
        assert_eq!(svc.authorize_lookup_events(&c).await.is_ok(), allowed);
    }
}

#[tokio::test]
async fn without_a_trail_there_is_nothing_to_look_up_but_authorization_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path()).await;
    let e = svc
        .lookup_events(&ctx(), LookupFilter::default(), None, 50)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, KmsError::UnsupportedOperation(m) if m.contains("--audit off")),
        "{e:?}"
    );
    let nobody = user(&svc, "nobody", None).await;
    let e = svc
        .lookup_events(&nobody, LookupFilter::default(), None, 50)
        .await
        .unwrap_err();
    assert!(matches!(e, KmsError::AccessDenied(_)), "{e:?}");
}

#![cfg(test)]
//! A user or role a policy names is the identity that existed when the policy was saved.

use std::sync::Arc;
use strongroom_policy::{
    Caller, Decision, PrincipalInfo, RequestContext, evaluate, parse_key_policy, parse_trust_policy,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k";

fn request(arn: &str, created_at: Option<i64>, action: &str, resource: &str) -> RequestContext {
    let mut caller = Caller::new(PrincipalInfo::from_arn(arn));
    if let Some(at) = created_at {
        caller.set_identity_created_at(at);
    }
    RequestContext::for_caller(Arc::new(caller), action.to_owned(), resource.to_owned())
}

fn allowed(d: Decision) -> bool {
    matches!(d, Decision::Allow { .. })
}

#[test]
fn a_user_created_after_the_key_policy_was_saved_is_not_the_named_user() {
    let mut policy = parse_key_policy(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:Encrypt","Resource":"*"}]}"#,
    )
    .unwrap();
    let alice = "arn:aws:iam::111122223333:user/alice";
    // Without a save time (or without a creation time) the ARN alone decides.
    assert!(allowed(evaluate(
        &policy,
        &request(alice, Some(50), "kms:Encrypt", KEY)
    )));
    policy.set_saved_at(100);
    assert!(allowed(evaluate(
        &policy,
        &request(alice, None, "kms:Encrypt", KEY)
    )));
    assert!(allowed(evaluate(
        &policy,
        &request(alice, Some(100), "kms:Encrypt", KEY)
    )));
    assert!(!allowed(evaluate(
        &policy,
        &request(alice, Some(101), "kms:Encrypt", KEY)
    )));
}

#[test]
fn the_binding_covers_role_sessions_and_not_principal_but_not_the_account() {
    let mut trust = parse_trust_policy(
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"sts:AssumeRole"}]}"#,
    )
    .unwrap();
    trust.set_saved_at(10);
    let bob = "arn:aws:iam::111122223333:user/bob";
    let role = "arn:aws:iam::111122223333:role/r";
    assert!(allowed(evaluate(
        &trust,
        &request(bob, Some(5), "sts:AssumeRole", role)
    )));
    assert!(!allowed(evaluate(
        &trust,
        &request(bob, Some(11), "sts:AssumeRole", role)
    )));

    let mut key = parse_key_policy(
        r#"{"Statement":[
          {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Decrypt","Resource":"*"},
          {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:DescribeKey","Resource":"*"},
          {"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Encrypt","Resource":"*"}
        ]}"#,
    )
    .unwrap();
    key.set_saved_at(10);
    let session = "arn:aws:sts::111122223333:assumed-role/app/s1";
    assert!(allowed(evaluate(
        &key,
        &request(session, Some(9), "kms:Decrypt", KEY)
    )));
    assert!(!allowed(evaluate(
        &key,
        &request(session, Some(11), "kms:Decrypt", KEY)
    )));
    // Account delegation does not name an identity, so it is not bound.
    assert!(allowed(evaluate(
        &key,
        &request(session, Some(11), "kms:DescribeKey", KEY)
    )));
    // The new `app` is not the role NotPrincipal exempts, so the deny applies to it.
    assert!(matches!(
        evaluate(&key, &request(session, Some(11), "kms:Encrypt", KEY)),
        Decision::ExplicitDeny { .. }
    ));
}

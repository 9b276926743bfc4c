#![cfg(test)]
//! Grants at the service level: they allow their grantee what the policies do not, within
//! their constraints, from the moment CreateGrant returns, and their tokens are genuine.

mod common;

use common::{ACCOUNT, ctx, kref, service_at};
use std::collections::BTreeMap;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::grant::{GrantConstraints, GrantOperation};
use strongroom_core::ids::{AccountId, Region};
use strongroom_service::ops::grants::{CreateGrantInput, RetireTarget};
use strongroom_service::ops::keys::CreateKeyInput;
use strongroom_service::{Caller, CallerKind, RequestContext};

const USER: &str = "arn:aws:iam::111122223333:user/batch";

fn user_ctx() -> RequestContext {
    let caller = Caller::new(
        AccountId::parse(ACCOUNT).unwrap(),
        USER.to_owned(),
        "AKIAUSERUSERUSER0000".to_owned(),
        CallerKind::User {
            name: "batch".to_owned(),
        },
    );
    RequestContext::new(
        caller,
        "aws",
        Region::parse("us-east-1").unwrap(),
        Arc::from("grant-test"),
    )
}

fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    EncryptionContext::new(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn grant(
    key: &str,
    ops: Vec<GrantOperation>,
    constraints: Option<GrantConstraints>,
) -> CreateGrantInput {
    CreateGrantInput {
        key: kref(key),
        grantee_principal: USER.to_owned(),
        retiring_principal: None,
        operations: ops,
        constraints,
        name: None,
        dry_run: false,
    }
}

#[tokio::test]
async fn a_grant_allows_its_operations_within_its_constraint_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let key = svc
        .create_key(&ctx(), CreateKeyInput::default())
        .await
        .unwrap();
    let user = user_ctx();
    let billing = context(&[("app", "billing"), ("env", "prod")]);
    let denied = svc
        .encrypt(&user, &kref(&key.arn), b"x", &billing, None, false)
        .await;
    assert!(
        matches!(denied, Err(KmsError::AccessDenied(_))),
        "{denied:?}"
    );

    let constraint = GrantConstraints {
        equals: None,
        subset: Some([("app".to_owned(), "billing".to_owned())].into()),
    };
    let created = svc
        .create_grant(
            &ctx(),
            grant(&key.arn, vec![GrantOperation::Encrypt], Some(constraint)),
        )
        .await
        .unwrap();
    svc.check_grant_tokens(std::slice::from_ref(&created.token))
        .unwrap();
    let sealed = svc
        .encrypt(&user, &kref(&key.arn), b"x", &billing, None, false)
        .await
        .unwrap();
    assert_eq!(sealed.key_arn, key.arn);
    for (ctx_pairs, why) in [
        (&[("app", "other")][..], "constraint"),
        (&[][..], "empty context"),
    ] {
        let r = svc
            .encrypt(
                &user,
                &kref(&key.arn),
                b"x",
                &context(ctx_pairs),
                None,
                false,
            )
            .await;
        assert!(matches!(r, Err(KmsError::AccessDenied(_))), "{why}: {r:?}");
    }
    let p = strongroom_service::ops::crypto::OpenParams::new(&billing);
    let r = svc.decrypt(&user, &sealed.ciphertext, p, false).await;
    assert!(
        matches!(r, Err(KmsError::AccessDenied(_))),
        "Decrypt was not granted: {r:?}"
    );

    // The grantee cannot retire it (RetireGrant is not among its operations); the account can.
    let retire = |c: RequestContext| {
        let svc = svc.clone();
        let token = created.token.clone();
        async move {
            svc.retire_grant(&c, RetireTarget::Token(token), false)
                .await
        }
    };
    assert!(matches!(
        retire(user_ctx()).await,
        Err(KmsError::AccessDenied(_))
    ));
    retire(ctx()).await.unwrap();
    let gone = svc
        .encrypt(&user, &kref(&key.arn), b"x", &billing, None, false)
        .await;
    assert!(matches!(gone, Err(KmsError::AccessDenied(_))), "{gone:?}");
    assert!(matches!(retire(ctx()).await, Err(KmsError::NotFound(_))));
}

#[tokio::test]
async fn forged_and_garbled_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let key = svc
        .create_key(&ctx(), CreateKeyInput::default())
        .await
        .unwrap();
    let created = svc
        .create_grant(&ctx(), grant(&key.arn, vec![GrantOperation::Decrypt], None))
        .await
        .unwrap();
    let again = svc
        .create_grant(&ctx(), grant(&key.arn, vec![GrantOperation::Decrypt], None))
        .await
        .unwrap();
    assert_ne!(
        created.id, again.id,
        "without a Name every CreateGrant is a new grant"
    );
    // Flip one character of the token body: the HMAC no longer matches.
    let mut forged = created.token.clone().into_bytes();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        forged,
        "not-a-token".to_owned(),
        created.token[..20].to_owned(),
    ] {
        let r = svc.check_grant_tokens(std::slice::from_ref(&bad));
        assert!(
            matches!(r, Err(KmsError::InvalidGrantToken(_))),
            "{bad}: {r:?}"
        );
    }
    // A token of another server (another root key) is not genuine here either.
    let other_dir = tempfile::tempdir().unwrap();
    let other = service_at(other_dir.path());
    assert!(matches!(
        other.check_grant_tokens(std::slice::from_ref(&created.token)),
        Err(KmsError::InvalidGrantToken(_))
    ));
}

#[tokio::test]
async fn a_named_grant_is_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let key = svc
        .create_key(&ctx(), CreateKeyInput::default())
        .await
        .unwrap();
    let named = || CreateGrantInput {
        name: Some("nightly".to_owned()),
        ..grant(&key.arn, vec![GrantOperation::Encrypt], None)
    };
    let a = svc.create_grant(&ctx(), named()).await.unwrap();
    let b = svc.create_grant(&ctx(), named()).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.token, b.token, "every CreateGrant returns a new token");
    let listed = svc
        .list_grants(&ctx(), &kref(&key.arn), None, None, 50, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[tokio::test]
async fn a_create_grant_grant_does_not_override_an_explicit_deny() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Effect":"Deny","Principal":{{"AWS":"*"}},"Action":"kms:CreateGrant","Resource":"*",
            "Condition":{{"StringEquals":{{"aws:PrincipalArn":"{USER}"}}}}}}]}}"#
    );
    let key = svc
        .create_key(
            &ctx(),
            CreateKeyInput {
                policy: Some(policy),
                ..CreateKeyInput::default()
            },
        )
        .await
        .unwrap();
    let ops = vec![GrantOperation::CreateGrant, GrantOperation::Decrypt];
    svc.create_grant(&ctx(), grant(&key.arn, ops, None))
        .await
        .unwrap();
    // The grant would let the user pass on Decrypt, but the key policy denies it CreateGrant.
    let r = svc
        .create_grant(
            &user_ctx(),
            grant(&key.arn, vec![GrantOperation::Decrypt], None),
        )
        .await;
    assert!(matches!(r, Err(KmsError::AccessDenied(_))), "{r:?}");
}

#![cfg(test)]
//! The service's operations against a real SQLite store: the request pipeline end to end,
//! without HTTP.

mod common;

use common::{ctx, ctx_in, kref, service_at};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::key::DataKeySpec;
use strongroom_service::ops::crypto::{DataKeyLength, OpenParams};
use strongroom_service::ops::keys::CreateKeyInput;

fn ec(pairs: &[(&str, &str)]) -> EncryptionContext {
    EncryptionContext::new(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_exact_context() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let key = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&key.id.to_string());
    let ctx_ab = ec(&[("a", "1"), ("b", "2")]);
    let sealed = svc
        .encrypt(&c, &r, b"secret", &ctx_ab, None, false)
        .await
        .unwrap();
    assert_eq!(sealed.key_arn, key.arn);
    let opened = svc
        .decrypt(&c, &sealed.ciphertext, OpenParams::new(&ctx_ab), false)
        .await
        .unwrap();
    assert_eq!(opened.plaintext.expose(), b"secret");

    for wrong in [
        ec(&[]),
        ec(&[("a", "1")]),
        ec(&[("a", "1"), ("b", "2"), ("c", "3")]),
        ec(&[("a", "1"), ("b", "X")]),
    ] {
        let e = svc
            .decrypt(&c, &sealed.ciphertext, OpenParams::new(&wrong), false)
            .await
            .unwrap_err();
        assert!(matches!(e, KmsError::InvalidCiphertext(_)), "{e:?}");
    }
    for i in [0, 5, 20, 30, 49, sealed.ciphertext.len() - 1] {
        let mut t = sealed.ciphertext.clone();
        t[i] ^= 0x40;
        let e = svc
            .decrypt(&c, &t, OpenParams::new(&ctx_ab), false)
            .await
            .unwrap_err();
        assert!(
            matches!(e, KmsError::InvalidCiphertext(_) | KmsError::NotFound(_)),
            "byte {i}: {e:?}"
        );
    }
}

#[tokio::test]
async fn decrypt_with_another_key_id_is_incorrect_key() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k1 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let k2 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let e0 = ec(&[]);
    let blob = svc
        .encrypt(&c, &kref(&k1.arn), b"x", &e0, None, false)
        .await
        .unwrap()
        .ciphertext;
    let other = kref(&k2.id.to_string());
    let p = OpenParams {
        context: &e0,
        key: Some(&other),
        algorithm: None,
    };
    assert!(matches!(
        svc.decrypt(&c, &blob, p, false).await,
        Err(KmsError::IncorrectKey(_))
    ));
    let same = kref(&k1.arn);
    let p = OpenParams {
        context: &e0,
        key: Some(&same),
        algorithm: None,
    };
    assert!(svc.decrypt(&c, &blob, p, false).await.is_ok());
}

#[tokio::test]
async fn disabled_keys_refuse_crypto_and_enable_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.id.to_string());
    let e0 = ec(&[]);
    let blob = svc
        .encrypt(&c, &r, b"x", &e0, None, false)
        .await
        .unwrap()
        .ciphertext;
    svc.disable_key(&c, &r).await.unwrap();
    assert!(matches!(
        svc.encrypt(&c, &r, b"x", &e0, None, false).await,
        Err(KmsError::Disabled(_))
    ));
    assert!(matches!(
        svc.decrypt(&c, &blob, OpenParams::new(&e0), false).await,
        Err(KmsError::Disabled(_))
    ));
    let gdk = svc
        .generate_data_key(
            &c,
            &r,
            DataKeyLength::Spec(DataKeySpec::Aes256),
            &e0,
            true,
            false,
        )
        .await;
    assert!(matches!(gdk, Err(KmsError::Disabled(_))));
    assert!(!svc.describe_key(&c, &r).await.unwrap().enabled());
    svc.enable_key(&c, &r).await.unwrap();
    assert!(
        svc.decrypt(&c, &blob, OpenParams::new(&e0), false)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn keys_are_scoped_to_account_and_region() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let k = svc
        .create_key(&ctx(), CreateKeyInput::default())
        .await
        .unwrap();
    let id = kref(&k.id.to_string());
    for other in [
        ctx_in("111122223333", "eu-west-1"),
        ctx_in("444455556666", "us-east-1"),
    ] {
        assert!(matches!(
            svc.describe_key(&other, &id).await,
            Err(KmsError::NotFound(_))
        ));
    }
    let arn = kref(&k.arn);
    assert!(matches!(
        svc.describe_key(&ctx_in("111122223333", "eu-west-1"), &arn)
            .await,
        Err(KmsError::NotFound(_))
    ));
}

#[tokio::test]
async fn aliases_resolve_move_and_disappear() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k1 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let k2 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    svc.create_alias(&c, "alias/app", &kref(&k1.arn))
        .await
        .unwrap();
    assert!(matches!(
        svc.create_alias(&c, "alias/app", &kref(&k2.arn)).await,
        Err(KmsError::AlreadyExists(_))
    ));
    assert!(matches!(
        svc.create_alias(&c, "alias/aws/app", &kref(&k2.arn)).await,
        Err(KmsError::NotAuthorized(_))
    ));
    assert!(matches!(
        svc.create_alias(&c, "alias/x", &kref("alias/app")).await,
        Err(KmsError::Validation(_))
    ));
    let via = |s: &str| kref(s);
    assert_eq!(
        svc.describe_key(&c, &via("alias/app")).await.unwrap().id,
        k1.id
    );
    let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/app";
    assert_eq!(
        svc.describe_key(&c, &via(alias_arn)).await.unwrap().id,
        k1.id
    );
    svc.update_alias(&c, "alias/app", &kref(&k2.id.to_string()))
        .await
        .unwrap();
    assert_eq!(
        svc.describe_key(&c, &via("alias/app")).await.unwrap().id,
        k2.id
    );
    let listed = svc
        .list_aliases(&c, Some(&kref(&k2.arn)), 10, None)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert!(
        svc.list_aliases(&c, Some(&kref(&k1.arn)), 10, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    svc.delete_alias(&c, "alias/app").await.unwrap();
    assert!(matches!(
        svc.describe_key(&c, &via("alias/app")).await,
        Err(KmsError::NotFound(_))
    ));
    assert!(matches!(
        svc.delete_alias(&c, "alias/app").await,
        Err(KmsError::NotFound(_))
    ));
}

#[tokio::test]
async fn lists_paginate_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let mut created = Vec::new();
    for _ in 0..7 {
        created.push(
            svc.create_key(&c, CreateKeyInput::default())
                .await
                .unwrap()
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let p = svc.list_keys(&c, 3, marker.as_deref()).await.unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|e| e.id));
        match p.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    created.sort();
    assert_eq!(seen, created);
    assert!(matches!(
        svc.list_keys(&c, 3, Some("nonsense")).await,
        Err(KmsError::InvalidMarker(_))
    ));
}

#[tokio::test]
async fn tags_policy_and_description_persist_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (id, blob) = {
        let svc = service_at(dir.path());
        let c = ctx();
        let input = CreateKeyInput {
            description: "orders".into(),
            tags: vec![("team".into(), "payments".into())],
            ..Default::default()
        };
        let k = svc.create_key(&c, input).await.unwrap();
        let r = kref(&k.arn);
        svc.tag_resource(&c, &r, vec![("env".into(), "prod".into())])
            .await
            .unwrap();
        svc.untag_resource(&c, &r, vec!["team".into()])
            .await
            .unwrap();
        svc.update_key_description(&c, &r, "orders-db".into())
            .await
            .unwrap();
        svc.create_alias(&c, "alias/orders", &r).await.unwrap();
        let blob = svc
            .encrypt(&c, &r, b"persist me", &ec(&[("k", "v")]), None, false)
            .await
            .unwrap();
        (k.id, blob.ciphertext)
    };
    let svc = service_at(dir.path());
    let c = ctx();
    let k = svc.describe_key(&c, &kref("alias/orders")).await.unwrap();
    assert_eq!(k.id, id);
    assert_eq!(k.description, "orders-db");
    let tags: BTreeMap<_, _> = k.tags.clone();
    assert_eq!(
        tags,
        BTreeMap::from([("env".to_string(), "prod".to_string())])
    );
    let pt = svc
        .decrypt(&c, &blob, OpenParams::new(&ec(&[("k", "v")])), false)
        .await
        .unwrap();
    assert_eq!(pt.plaintext.expose(), b"persist me");
}

#[tokio::test]
async fn dry_run_checks_everything_and_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.arn);
    let e0 = ec(&[]);
    assert!(matches!(
        svc.encrypt(&c, &r, b"x", &e0, None, true).await,
        Err(KmsError::DryRun)
    ));
    svc.disable_key(&c, &r).await.unwrap();
    assert!(matches!(
        svc.encrypt(&c, &r, b"x", &e0, None, true).await,
        Err(KmsError::Disabled(_))
    ));
}

#[tokio::test]
async fn policies_are_validated_and_defaulted() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.arn);
    let p = svc.get_key_policy(&c, &r, Some("default")).await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&p).unwrap();
    assert_eq!(
        v["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::111122223333:root"
    );
    assert!(matches!(
        svc.put_key_policy(&c, &r, None, "{}".into(), false).await,
        Err(KmsError::MalformedPolicyDocument(_))
    ));
    assert!(matches!(
        svc.get_key_policy(&c, &r, Some("other")).await,
        Err(KmsError::NotFound(_))
    ));
    let new = p.replace("Enable IAM User Permissions", "Root");
    svc.put_key_policy(&c, &r, Some("default"), new.clone(), false)
        .await
        .unwrap();
    assert_eq!(svc.get_key_policy(&c, &r, None).await.unwrap(), new);
}

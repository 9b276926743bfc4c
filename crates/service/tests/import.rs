#![cfg(test)]
//! Imported key material (BYOK) through the service, wrapped on the customer side with the
//! crypto crate's `wrap_for_import` (the black-box suite wraps with Python `cryptography`).

mod common;

use common::{ctx, kref, service_with_clock};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::key::{Origin, WrappingAlgorithm, WrappingKeySpec};
use strongroom_core::state::KeyState;
use strongroom_core::time::{ManualClock, Timestamp};
use strongroom_crypto::import::{self as cimport, wrap_for_import};
use strongroom_crypto::random::SystemRandom;
use strongroom_service::Service;
use strongroom_service::ops::crypto::OpenParams;
use strongroom_service::ops::import::ImportRequest;
use strongroom_service::ops::keys::CreateKeyInput;

const T0: Timestamp = Timestamp(1_800_000_000_000);

async fn external_key(svc: &Service) -> String {
    let input = CreateKeyInput {
        origin: Some(Origin::External),
        ..Default::default()
    };
    let k = svc.create_key(&ctx(), input).await.unwrap();
    assert_eq!(k.state, KeyState::PendingImport);
    k.arn
}

/// GetParametersForImport, then wraps `material` like a customer would.
async fn wrapped(svc: &Service, arn: &str, material: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let p = svc
        .get_parameters_for_import(
            &ctx(),
            &kref(arn),
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            WrappingKeySpec::Rsa2048,
        )
        .await
        .unwrap();
    let alg = cimport::WrappingAlgorithm::RsaAesKeyWrapSha256;
    let blob = wrap_for_import(&p.public_key, alg, material, &SystemRandom).unwrap();
    (p.import_token, blob)
}

fn existing<'a>(token: &'a [u8], blob: &'a [u8], valid_to: Option<Timestamp>) -> ImportRequest<'a> {
    ImportRequest {
        token,
        encrypted_material: blob,
        valid_to,
        new_material: false,
        material_id: None,
    }
}

fn setup() -> (tempfile::TempDir, Arc<ManualClock>, Service) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let svc = service_with_clock(dir.path(), clock.clone());
    (dir, clock, svc)
}

#[tokio::test]
async fn import_delete_and_reimport_of_the_same_material() {
    let (_d, _clock, svc) = setup();
    let c = ctx();
    let arn = external_key(&svc).await;
    let r = kref(&arn);
    let e = EncryptionContext::default();
    assert!(matches!(
        svc.encrypt(&c, &r, b"x", &e, None, false).await,
        Err(KmsError::InvalidState(_))
    ));
    let material = [7u8; 32];
    let (token, blob) = wrapped(&svc, &arn, &material).await;
    let (key, _) = svc
        .import_key_material(&c, &r, existing(&token, &blob, None))
        .await
        .unwrap();
    assert_eq!(key.state, KeyState::Enabled);
    let ct = svc
        .encrypt(&c, &r, b"imported", &e, None, false)
        .await
        .unwrap()
        .ciphertext;
    svc.delete_imported_key_material(&c, &r, None)
        .await
        .unwrap();
    assert_eq!(
        svc.describe_key(&c, &r).await.unwrap().state,
        KeyState::PendingImport
    );
    let p = OpenParams::new(&e);
    assert!(matches!(
        svc.decrypt(&c, &ct, p, false).await,
        Err(KmsError::InvalidState(_))
    ));
    let (token2, other) = wrapped(&svc, &arn, &[8u8; 32]).await;
    assert!(matches!(
        svc.import_key_material(&c, &r, existing(&token2, &other, None))
            .await,
        Err(KmsError::IncorrectKeyMaterial(_))
    ));
    let (token3, same) = wrapped(&svc, &arn, &material).await;
    svc.import_key_material(&c, &r, existing(&token3, &same, None))
        .await
        .unwrap();
    let p = OpenParams::new(&e);
    assert_eq!(
        svc.decrypt(&c, &ct, p, false)
            .await
            .unwrap()
            .plaintext
            .expose(),
        b"imported"
    );
}

#[tokio::test]
async fn tokens_are_bound_to_their_key_and_expire() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let a = external_key(&svc).await;
    let b = external_key(&svc).await;
    let (token_a, blob_a) = wrapped(&svc, &a, &[1u8; 32]).await;
    assert!(matches!(
        svc.import_key_material(&c, &kref(&b), existing(&token_a, &blob_a, None))
            .await,
        Err(KmsError::InvalidImportToken(_))
    ));
    let mut altered = token_a.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(matches!(
        svc.import_key_material(&c, &kref(&a), existing(&altered, &blob_a, None))
            .await,
        Err(KmsError::InvalidImportToken(_))
    ));
    let mut tampered = blob_a.clone();
    tampered[280] ^= 1; // inside the key-wrapped part, after the 256-byte RSA block
    assert!(matches!(
        svc.import_key_material(&c, &kref(&a), existing(&token_a, &tampered, None))
            .await,
        Err(KmsError::InvalidCiphertext(_))
    ));
    clock.advance(24 * 3_600_000);
    assert!(matches!(
        svc.import_key_material(&c, &kref(&a), existing(&token_a, &blob_a, None))
            .await,
        Err(KmsError::ExpiredImportToken(_))
    ));
}

#[tokio::test]
async fn expiring_material_is_deleted_on_time_and_comes_back_on_reimport() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let arn = external_key(&svc).await;
    let r = kref(&arn);
    let (token, blob) = wrapped(&svc, &arn, &[3u8; 32]).await;
    let until = Timestamp(T0.0 + 3_600_000);
    let (key, _) = svc
        .import_key_material(&c, &r, existing(&token, &blob, Some(until)))
        .await
        .unwrap();
    assert_eq!(key.imported[0].valid_to, Some(until));
    clock.advance(3_599_999);
    assert_eq!(svc.run_due_work().await.unwrap().expired, 0);
    clock.advance(1);
    assert_eq!(svc.run_due_work().await.unwrap().expired, 1);
    assert_eq!(svc.run_due_work().await.unwrap().expired, 0);
    assert_eq!(
        svc.describe_key(&c, &r).await.unwrap().state,
        KeyState::PendingImport
    );
    let (token, blob) = wrapped(&svc, &arn, &[3u8; 32]).await;
    svc.import_key_material(&c, &r, existing(&token, &blob, None))
        .await
        .unwrap();
    let e = EncryptionContext::default();
    assert!(svc.encrypt(&c, &r, b"x", &e, None, false).await.is_ok());
}

#[tokio::test]
async fn import_operations_need_an_external_key() {
    let (_d, _clock, svc) = setup();
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.arn);
    assert!(matches!(
        svc.get_parameters_for_import(
            &c,
            &r,
            WrappingAlgorithm::RsaesOaepSha256,
            WrappingKeySpec::Rsa2048
        )
        .await,
        Err(KmsError::UnsupportedOperation(_))
    ));
    assert!(matches!(
        svc.delete_imported_key_material(&c, &r, None).await,
        Err(KmsError::UnsupportedOperation(_))
    ));
    let arn = external_key(&svc).await;
    assert!(matches!(
        svc.rotate_key_on_demand(&c, &kref(&arn)).await,
        Err(KmsError::InvalidState(_) | KmsError::UnsupportedOperation(_))
    ));
}

#[tokio::test]
async fn new_material_rotates_on_demand_and_every_material_keeps_decrypting() {
    let (_d, _clock, svc) = setup();
    let c = ctx();
    let arn = external_key(&svc).await;
    let r = kref(&arn);
    let e = EncryptionContext::default();
    let (token, blob) = wrapped(&svc, &arn, &[1u8; 32]).await;
    svc.import_key_material(&c, &r, existing(&token, &blob, None))
        .await
        .unwrap();
    let old = svc.encrypt(&c, &r, b"v1", &e, None, false).await.unwrap();
    assert!(matches!(
        svc.rotate_key_on_demand(&c, &r).await,
        Err(KmsError::InvalidState(_))
    ));
    let (token, blob) = wrapped(&svc, &arn, &[2u8; 32]).await;
    let new = ImportRequest {
        new_material: true,
        ..existing(&token, &blob, None)
    };
    let (_, v) = svc.import_key_material(&c, &r, new).await.unwrap();
    assert_eq!(v, 2);
    assert_eq!(
        svc.encrypt(&c, &r, b"x", &e, None, false)
            .await
            .unwrap()
            .version,
        1,
        "pending"
    );
    svc.rotate_key_on_demand(&c, &r).await.unwrap();
    let fresh = svc.encrypt(&c, &r, b"v2", &e, None, false).await.unwrap();
    assert_eq!(fresh.version, 2);
    for (blob, pt) in [(&old.ciphertext, b"v1"), (&fresh.ciphertext, b"v2")] {
        let p = OpenParams::new(&e);
        assert_eq!(
            svc.decrypt(&c, blob, p, false)
                .await
                .unwrap()
                .plaintext
                .expose(),
            pt
        );
    }
    // Deleting the old material: the key stays usable, old ciphertexts wait for re-import.
    let id1 = strongroom_core::key::key_material_id(&old.key_id, 1);
    svc.delete_imported_key_material(&c, &r, Some(&id1))
        .await
        .unwrap();
    assert_eq!(
        svc.describe_key(&c, &r).await.unwrap().state,
        KeyState::Enabled
    );
    let p = OpenParams::new(&e);
    assert!(matches!(
        svc.decrypt(&c, &old.ciphertext, p, false).await,
        Err(KmsError::InvalidCiphertext(_))
    ));
    let (token, blob) = wrapped(&svc, &arn, &[1u8; 32]).await;
    let back = ImportRequest {
        material_id: Some(&id1),
        ..existing(&token, &blob, None)
    };
    svc.import_key_material(&c, &r, back).await.unwrap();
    let p = OpenParams::new(&e);
    assert_eq!(
        svc.decrypt(&c, &old.ciphertext, p, false)
            .await
            .unwrap()
            .plaintext
            .expose(),
        b"v1"
    );
    let all = svc
        .list_key_rotations(
            &c,
            &r,
            strongroom_service::ops::lifecycle::IncludeKeyMaterial::All,
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    assert!(all.items[1].date.is_some());
}

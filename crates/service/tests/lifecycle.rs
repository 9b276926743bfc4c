#![cfg(test)]
//! Rotation and scheduled deletion against a real SQLite store, with a manual clock.

mod common;

use common::{ctx, kref, service_with_clock};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::key::RotationType;
use strongroom_core::lifecycle::DAY_MS;
use strongroom_core::time::{ManualClock, Timestamp};
use strongroom_service::ops::crypto::OpenParams;
use strongroom_service::ops::keys::CreateKeyInput;
use strongroom_service::ops::lifecycle::IncludeKeyMaterial;
use strongroom_service::scheduler::DueWork;

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn setup() -> (
    tempfile::TempDir,
    Arc<ManualClock>,
    strongroom_service::Service,
) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let svc = service_with_clock(dir.path(), clock.clone());
    (dir, clock, svc)
}

fn no_ctx() -> EncryptionContext {
    EncryptionContext::default()
}

#[tokio::test]
async fn every_version_keeps_decrypting_after_rotations() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let key = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&key.arn);
    let e = no_ctx();
    let mut blobs = Vec::new();
    for i in 0..4u8 {
        let sealed = svc.encrypt(&c, &r, &[i; 8], &e, None, false).await.unwrap();
        assert_eq!(sealed.version, u32::from(i) + 1);
        blobs.push(sealed.ciphertext);
        svc.rotate_key_on_demand(&c, &r).await.unwrap();
        clock.advance(1000);
    }
    for (i, b) in blobs.iter().enumerate() {
        let p = OpenParams::new(&e);
        let out = svc.decrypt(&c, b, p, false).await.unwrap();
        assert_eq!(out.plaintext.expose(), &[i as u8; 8]);
        assert_eq!(out.version, i as u32 + 1);
    }
    let rot = svc
        .list_key_rotations(&c, &r, IncludeKeyMaterial::RotationsOnly, 100, None)
        .await
        .unwrap();
    assert_eq!(rot.items.len(), 4);
    assert!(
        rot.items
            .iter()
            .all(|e| e.rotation_type == Some(RotationType::OnDemand))
    );
    let current = strongroom_core::import::MaterialState::Current;
    assert_eq!(rot.items.iter().filter(|e| e.state == current).count(), 1);
    let all = svc
        .list_key_rotations(&c, &r, IncludeKeyMaterial::All, 2, None)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
    assert_eq!(all.items[0].rotation_type, None);
    let next = svc
        .list_key_rotations(
            &c,
            &r,
            IncludeKeyMaterial::All,
            100,
            all.next_marker.as_deref(),
        )
        .await
        .unwrap();
    assert_eq!(next.items.len(), 3);
    assert_eq!(next.items[0].version, 3);
}

#[tokio::test]
async fn automatic_rotation_happens_when_due_and_only_for_enabled_keys() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let k1 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let k2 = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    for k in [&k1, &k2] {
        svc.enable_key_rotation(&c, &kref(&k.arn), Some(90))
            .await
            .unwrap();
    }
    svc.disable_key(&c, &kref(&k2.arn)).await.unwrap();
    clock.advance(89 * DAY_MS);
    assert_eq!(svc.run_due_work().await.unwrap(), DueWork::default());
    clock.advance(2 * DAY_MS);
    assert_eq!(
        svc.run_due_work().await.unwrap(),
        DueWork {
            rotated: 1,
            ..DueWork::default()
        }
    );
    assert_eq!(
        svc.run_due_work().await.unwrap(),
        DueWork::default(),
        "done once only"
    );
    assert_eq!(
        svc.describe_key(&c, &kref(&k1.arn))
            .await
            .unwrap()
            .current_version,
        2
    );
    let status = svc
        .get_key_rotation_status(&c, &kref(&k1.arn))
        .await
        .unwrap();
    assert_eq!(status.next_rotation, Some(Timestamp(T0.0 + 181 * DAY_MS)));
    assert_eq!(
        svc.describe_key(&c, &kref(&k2.arn))
            .await
            .unwrap()
            .current_version,
        1
    );
    svc.enable_key(&c, &kref(&k2.arn)).await.unwrap();
    assert_eq!(svc.run_due_work().await.unwrap().rotated, 1);
    assert_eq!(
        svc.describe_key(&c, &kref(&k2.arn))
            .await
            .unwrap()
            .current_version,
        2
    );
}

#[tokio::test]
async fn deletion_window_end_destroys_key_material_and_aliases() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let doomed = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let kept = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    svc.create_alias(&c, "alias/doomed", &kref(&doomed.arn))
        .await
        .unwrap();
    svc.create_alias(&c, "alias/kept", &kref(&kept.arn))
        .await
        .unwrap();
    let e = no_ctx();
    let blob = svc
        .encrypt(&c, &kref("alias/doomed"), b"x", &e, None, false)
        .await
        .unwrap()
        .ciphertext;
    let k = svc
        .schedule_key_deletion(&c, &kref("alias/doomed"), Some(7))
        .await
        .unwrap();
    assert_eq!(
        k.deletion.unwrap().deletion_date,
        Timestamp(T0.0 + 7 * DAY_MS)
    );
    let p = OpenParams::new(&e);
    assert!(matches!(
        svc.decrypt(&c, &blob, p, false).await,
        Err(KmsError::InvalidState(_))
    ));
    assert!(matches!(
        svc.schedule_key_deletion(&c, &kref(&doomed.arn), None)
            .await,
        Err(KmsError::InvalidState(_))
    ));
    clock.advance(7 * DAY_MS - 1);
    assert_eq!(svc.run_due_work().await.unwrap().deleted, 0);
    clock.advance(1);
    assert_eq!(svc.run_due_work().await.unwrap().deleted, 1);
    assert!(matches!(
        svc.describe_key(&c, &kref(&doomed.arn)).await,
        Err(KmsError::NotFound(_))
    ));
    assert!(matches!(
        svc.describe_key(&c, &kref("alias/doomed")).await,
        Err(KmsError::NotFound(_))
    ));
    assert_eq!(
        svc.describe_key(&c, &kref("alias/kept")).await.unwrap().id,
        kept.id
    );
    let p = OpenParams::new(&e);
    assert!(matches!(
        svc.decrypt(&c, &blob, p, false).await,
        Err(KmsError::InvalidCiphertext(_))
    ));
    let aliases = svc.list_aliases(&c, None, 100, None).await.unwrap();
    assert_eq!(aliases.items.len(), 1);
}

#[tokio::test]
async fn cancelled_deletion_leaves_a_disabled_key_that_can_be_enabled() {
    let (_d, clock, svc) = setup();
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.arn);
    assert!(matches!(
        svc.schedule_key_deletion(&c, &r, Some(6)).await,
        Err(KmsError::Validation(_))
    ));
    assert!(matches!(
        svc.schedule_key_deletion(&c, &r, Some(31)).await,
        Err(KmsError::Validation(_))
    ));
    svc.schedule_key_deletion(&c, &r, None).await.unwrap();
    assert!(matches!(
        svc.enable_key_rotation(&c, &r, None).await,
        Err(KmsError::InvalidState(_))
    ));
    let back = svc.cancel_key_deletion(&c, &r).await.unwrap();
    assert_eq!(back.state.as_str(), "Disabled");
    assert!(back.deletion.is_none());
    clock.advance(31 * DAY_MS);
    assert_eq!(svc.run_due_work().await.unwrap().deleted, 0);
    svc.enable_key(&c, &r).await.unwrap();
    assert!(
        svc.encrypt(&c, &r, b"x", &no_ctx(), None, false)
            .await
            .is_ok()
    );
}

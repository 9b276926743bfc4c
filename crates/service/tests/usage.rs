#![cfg(test)]
//! GetKeyLastUsage: noted in memory on the hot path, flushed in batches, merged on read.

mod common;

use common::{ctx, kref, service_at, service_with_clock};
use std::sync::Arc;
use strongroom_core::context::EncryptionContext;
use strongroom_core::operation::Operation;
use strongroom_core::time::{ManualClock, Timestamp};
use strongroom_service::ops::crypto::{DataKeyLength, OpenParams};
use strongroom_service::ops::keys::CreateKeyInput;

#[tokio::test]
async fn last_use_is_visible_before_and_after_a_flush_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp(1_800_000_000_000);
    let clock = Arc::new(ManualClock::new(t0));
    let c = ctx();
    let e = EncryptionContext::default();
    let arn = {
        let svc = service_with_clock(dir.path(), clock.clone());
        let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
        let r = kref(&k.arn);
        let fresh = svc.get_key_last_usage(&c, &r).await.unwrap();
        assert_eq!(
            (fresh.tracking_start, fresh.key_created, fresh.last),
            (t0, t0, None)
        );
        clock.advance(1_000);
        let blob = svc
            .encrypt(&c, &r, b"x", &e, None, false)
            .await
            .unwrap()
            .ciphertext;
        let u = svc.get_key_last_usage(&c, &r).await.unwrap().last.unwrap();
        assert_eq!(
            (u.operation, u.at),
            (Operation::Encrypt, Timestamp(t0.0 + 1_000))
        );
        assert_eq!(svc.flush_usage().await.unwrap(), 1);
        assert_eq!(svc.flush_usage().await.unwrap(), 0, "nothing new to write");
        clock.advance(1_000);
        let p = OpenParams::new(&e);
        svc.decrypt(&c, &blob, p, false).await.unwrap();
        clock.advance(1_000);
        let len = DataKeyLength::Bytes(16);
        svc.generate_data_key(&c, &r, len, &e, false, false)
            .await
            .unwrap();
        let u = svc.get_key_last_usage(&c, &r).await.unwrap().last.unwrap();
        assert_eq!(u.operation, Operation::GenerateDataKeyWithoutPlaintext);
        assert_eq!(u.request_id, "test-request");
        svc.flush_usage().await.unwrap();
        k.arn
    };
    let svc = service_at(dir.path());
    let u = svc
        .get_key_last_usage(&c, &kref(&arn))
        .await
        .unwrap()
        .last
        .unwrap();
    assert_eq!(
        (u.operation, u.at),
        (
            Operation::GenerateDataKeyWithoutPlaintext,
            Timestamp(t0.0 + 3_000)
        )
    );
}

#[tokio::test]
async fn failed_operations_are_not_usage() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let k = svc.create_key(&c, CreateKeyInput::default()).await.unwrap();
    let r = kref(&k.arn);
    svc.disable_key(&c, &r).await.unwrap();
    let e = EncryptionContext::default();
    assert!(svc.encrypt(&c, &r, b"x", &e, None, false).await.is_err());
    assert!(
        svc.encrypt(&c, &r, b"x", &e, None, true).await.is_err(),
        "dry run"
    );
    assert_eq!(svc.get_key_last_usage(&c, &r).await.unwrap().last, None);
    assert_eq!(svc.flush_usage().await.unwrap(), 0);
}

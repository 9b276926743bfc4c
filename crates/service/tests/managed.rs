#![cfg(test)]
//! Provider-managed keys: created on first use of `alias/aws/<service>`, fixed policy, yearly
//! rotation, no customer management.

mod common;

use common::{ctx, ctx_in, kref, service_at};
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::key::KeyManager;

#[tokio::test]
async fn first_use_creates_one_managed_key_per_account_region_and_service() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let e = EncryptionContext::default();
    // As in AWS, the fixed policy allows cryptographic use only through the owning service
    // (kms:ViaService), so a direct Encrypt is denied, after the key was created.
    let direct = svc
        .encrypt(&c, &kref("alias/aws/s3"), b"x", &e, None, false)
        .await;
    assert!(
        matches!(direct, Err(KmsError::AccessDenied(_))),
        "{direct:?}"
    );
    let key = svc.describe_key(&c, &kref("alias/aws/s3")).await.unwrap();
    assert_eq!(key.manager, KeyManager::Aws);
    assert_eq!(key.rotation.unwrap().period_days, 365);
    assert!(key.policy.contains("s3.us-east-1.amazonaws.com"));
    // The same key on the next use; another service or region gets its own.
    let again = svc.describe_key(&c, &kref("alias/aws/s3")).await.unwrap();
    assert_eq!(again.id, key.id);
    let ebs = svc.describe_key(&c, &kref("alias/aws/ebs")).await.unwrap();
    assert_ne!(ebs.id, key.id);
    let west = svc
        .describe_key(&ctx_in("111122223333", "eu-west-1"), &kref("alias/aws/s3"))
        .await
        .unwrap();
    assert_ne!(west.id, key.id);
    let listed = svc.list_aliases(&c, None, 100, None).await.unwrap();
    let names: Vec<_> = listed
        .items
        .iter()
        .map(|a| a.name.as_str().to_owned())
        .collect();
    assert_eq!(names, vec!["alias/aws/ebs", "alias/aws/s3"]);
    assert!(matches!(
        svc.describe_key(&c, &kref("alias/aws/not-a-service")).await,
        Err(KmsError::NotFound(_))
    ));
}

#[tokio::test]
async fn concurrent_first_uses_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let svc = svc.clone();
        tasks.push(tokio::spawn(async move {
            svc.describe_key(&ctx(), &kref("alias/aws/dynamodb"))
                .await
                .unwrap()
                .id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        svc.list_keys(&ctx(), 100, None).await.unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn customers_cannot_manage_managed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service_at(dir.path());
    let c = ctx();
    let r = kref("alias/aws/s3");
    let arn = svc.describe_key(&c, &r).await.unwrap().arn;
    let k = kref(&arn);
    let denied =
        |e: Result<(), KmsError>| assert!(matches!(e, Err(KmsError::AccessDenied(_))), "{e:?}");
    denied(svc.disable_key(&c, &k).await);
    denied(svc.enable_key(&c, &k).await);
    denied(svc.update_key_description(&c, &k, "x".into()).await);
    denied(
        svc.tag_resource(&c, &k, vec![("a".into(), "b".into())])
            .await,
    );
    let policy = svc.get_key_policy(&c, &k, None).await.unwrap();
    denied(svc.put_key_policy(&c, &k, None, policy, false).await);
    denied(svc.schedule_key_deletion(&c, &k, None).await.map(drop));
    denied(svc.create_alias(&c, "alias/mine", &k).await);
    // The key policy does not allow rotation management either, and authorization comes first.
    denied(svc.disable_key_rotation(&c, &k).await);
    denied(svc.enable_key_rotation(&c, &k, Some(90)).await);
    denied(svc.rotate_key_on_demand(&c, &k).await.map(drop));
    assert!(matches!(
        svc.delete_alias(&c, "alias/aws/s3").await,
        Err(KmsError::NotAuthorized(_))
    ));
    assert!(svc.get_key_rotation_status(&c, &k).await.unwrap().enabled);
}

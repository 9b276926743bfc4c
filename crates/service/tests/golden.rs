#![cfg(test)]
//! Golden blobs: ciphertexts made by earlier releases, with the root key and store that made
//! them, must decrypt with this release. Never regenerate an existing version's data; add a
//! new directory when a new format version is released.

mod common;

use base64::Engine as _;
use common::{ctx, kref, service_at};
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_service::ops::crypto::OpenParams;

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

async fn check_version(name: &str, expected_blobs: usize) {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    // Work on a copy: opening a store may migrate it, and the checked-in files must not change.
    copy_dir(&src, dir.path());
    let svc = service_at(dir.path());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("blobs.json")).unwrap()).unwrap();
    let blobs = doc["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), expected_blobs);
    let b64 = base64::engine::general_purpose::STANDARD;
    let c = ctx();
    for b in blobs {
        let pairs = serde_json::from_value(b["encryption_context"].clone()).unwrap();
        let ec = EncryptionContext::new(pairs);
        let ct = b64.decode(b["ciphertext"].as_str().unwrap()).unwrap();
        let pt = b64.decode(b["plaintext"].as_str().unwrap()).unwrap();
        let key = kref(b["key_id"].as_str().unwrap());
        let p = OpenParams {
            context: &ec,
            key: Some(&key),
            algorithm: None,
        };
        let got = svc.decrypt(&c, &ct, p, false).await.unwrap();
        assert_eq!(got.plaintext.expose(), &pt);
        // And the binding still holds: a different context is refused.
        let other = EncryptionContext::new([("golden".to_owned(), "x".to_owned())].into());
        let p = OpenParams::new(&other);
        assert!(matches!(
            svc.decrypt(&c, &ct, p, false).await,
            Err(KmsError::InvalidCiphertext(_))
        ));
    }
    // The alias made with the data still resolves.
    assert_eq!(
        svc.describe_key(&c, &kref("alias/golden"))
            .await
            .unwrap()
            .description,
        "golden-2"
    );
}

#[tokio::test]
async fn format_v1_blobs_still_decrypt() {
    check_version("v1", 5).await;
}

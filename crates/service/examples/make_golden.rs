//! Writes a golden data set: a dev root key, a SQLite store with keys, and blobs with their
//! plaintexts and contexts. Run once per released ciphertext format version:
//!
//! ```text
//! cargo run -p strongroom-service --example make_golden -- crates/service/tests/golden/v1
//! ```
//! The test `golden.rs` decrypts every blob of every checked-in version forever after.
#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a one-off generator, not a request path

use base64::Engine as _;
use std::sync::Arc;
use strongroom_core::context::EncryptionContext;
use strongroom_core::ids::{AccountId, KeyRef, Region};
use strongroom_core::time::SystemClock;
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_service::ops::keys::CreateKeyInput;
use strongroom_service::{Caller, Config, RequestContext, Service};
use strongroom_store::sqlite::SqliteStore;

#[tokio::main]
async fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: make_golden DIR"));
    assert!(
        !dir.exists(),
        "{} exists; golden data is never overwritten",
        dir.display()
    );
    std::fs::create_dir_all(&dir).unwrap();
    let root = DevFileSeal::new(dir.join("root.key"))
        .unseal(&SystemRandom)
        .unwrap();
    let store = SqliteStore::open(&dir.join("strongroom.db")).unwrap();
    let svc = Service::new(
        Arc::new(store),
        root,
        Arc::new(SystemRandom),
        Arc::new(SystemClock),
        Config::default(),
    );
    let caller = Caller::root(
        "aws",
        AccountId::parse("111122223333").unwrap(),
        "AKIAGOLDENGOLDEN0000".into(),
    );
    let ctx = RequestContext::new(
        caller,
        "aws",
        Region::parse("us-east-1").unwrap(),
        std::sync::Arc::from("golden"),
    );
    let k1 = svc
        .create_key(
            &ctx,
            CreateKeyInput {
                description: "golden-1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let k2 = svc
        .create_key(
            &ctx,
            CreateKeyInput {
                description: "golden-2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    svc.create_alias(&ctx, "alias/golden", &KeyRef::parse(&k2.arn).unwrap())
        .await
        .unwrap();
    let k1r = KeyRef::parse(&k1.id.to_string()).unwrap();
    let k2r = KeyRef::parse("alias/golden").unwrap();
    type Case<'a> = (&'a KeyRef, Vec<(&'a str, &'a str)>, Vec<u8>);
    let inputs: Vec<Case> = vec![
        (&k1r, vec![], b"golden plaintext, no context".to_vec()),
        (
            &k1r,
            vec![
                ("tenant", "acme"),
                ("purpose", "orders"),
                ("ünïcode", "✓ värde"),
            ],
            b"with context".to_vec(),
        ),
        (&k1r, vec![("", "")], vec![0u8; 1]),
        (
            &k2r,
            vec![("a", "b")],
            (0..4096u32).map(|i| (i % 251) as u8).collect(),
        ),
        (&k2r, vec![], (0..32u8).collect()),
    ];
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for (r, pairs, pt) in inputs {
        let ec = EncryptionContext::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let sealed = svc.encrypt(&ctx, r, &pt, &ec, None, false).await.unwrap();
        out.push(serde_json::json!({
            "key_id": sealed.key_id.to_string(),
            "encryption_context": ec.pairs(),
            "plaintext": b64.encode(&pt),
            "ciphertext": b64.encode(&sealed.ciphertext),
        }));
    }
    let doc = serde_json::json!({ "format_version": 1, "account": "111122223333", "region": "us-east-1", "blobs": out });
    std::fs::write(
        dir.join("blobs.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    drop(svc);
    println!("golden data written to {}", dir.display());
}

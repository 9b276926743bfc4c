//! A service over a real SQLite file in a temporary directory, with the dev seal.
#![cfg(test)]
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::Arc;
use strongroom_core::ids::{AccountId, KeyRef, Region};
use strongroom_core::time::{Clock, SystemClock};
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_service::{Caller, Config, RequestContext, Service};
use strongroom_store::sqlite::SqliteStore;

pub const ACCOUNT: &str = "111122223333";

pub fn service_at(dir: &Path) -> Service {
    service_with_clock(dir, Arc::new(SystemClock))
}

pub fn service_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Service {
    let root = DevFileSeal::new(dir.join("root.key"))
        .unseal(&SystemRandom)
        .unwrap();
    let store = SqliteStore::open(&dir.join("strongroom.db")).unwrap();
    Service::new(
        Arc::new(store),
        root,
        Arc::new(SystemRandom),
        clock,
        Config::default(),
    )
}

pub fn ctx_in(account: &str, region: &str) -> RequestContext {
    let caller = Caller::root(
        "aws",
        AccountId::parse(account).unwrap(),
        "AKIAEXAMPLEEXAMPLE00".to_owned(),
    );
    RequestContext::new(
        caller,
        "aws",
        Region::parse(region).unwrap(),
        std::sync::Arc::from("test-request"),
    )
}

pub fn ctx() -> RequestContext {
    ctx_in(ACCOUNT, "us-east-1")
}

pub fn kref(s: &str) -> KeyRef {
    KeyRef::parse(s).unwrap()
}

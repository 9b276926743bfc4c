//! Records for the conformance cases. Every case works under its own random account, so
//! cases never see each other's records even in a shared database.

use super::{Failure, Outcome};
use crate::{Expect, Store, Transaction, Versioned, Write};
use std::collections::BTreeMap;
use strongroom_core::alias::Alias;
use strongroom_core::identity::{AccessKey, AccessKeyStatus, Account};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, KeyVersion, Origin};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;

/// A fixed instant, so records compare equal after a round trip.
pub(crate) const T0: Timestamp = Timestamp(1_700_000_000_123);

/// An account and region that no other case uses.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) account: AccountId,
    pub(crate) region: Region,
}

impl Scope {
    /// A fresh random account in `region`.
    pub(crate) fn new(region: &str) -> Result<Self, Failure> {
        Ok(Self {
            account: random_account()?,
            region: Region::parse(region)
                .ok_or_else(|| Failure::new(format!("bad region {region}")))?,
        })
    }

    /// The same account in another region.
    pub(crate) fn in_region(&self, region: &str) -> Result<Self, Failure> {
        Ok(Self {
            account: self.account.clone(),
            ..Self::new(region)?
        })
    }

    /// A plain enabled symmetric key in this scope.
    pub(crate) fn key(&self) -> Key {
        let id = new_key_id();
        Key {
            id,
            arn: format!("arn:aws:kms:{}:{}:key/{id}", self.region, self.account),
            account: self.account.clone(),
            region: self.region.clone(),
            created_at: T0,
            description: "conformance".to_owned(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            manager: KeyManager::Customer,
            state: KeyState::Enabled,
            current_version: 1,
            tags: BTreeMap::from([("team".to_owned(), "storage".to_owned())]),
            policy: r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
            rotation: None,
            on_demand_rotations: 0,
            deletion: None,
            imported: Vec::new(),
        }
    }

    /// An alias in this scope.
    pub(crate) fn alias(&self, name: &str, target: KeyId) -> Result<Alias, Failure> {
        Ok(Alias {
            account: self.account.clone(),
            region: self.region.clone(),
            name: AliasName::parse(name)?,
            target,
            created_at: T0,
            updated_at: Timestamp(T0.0 + 1),
        })
    }

    /// This scope's account record.
    pub(crate) fn account_record(&self) -> Account {
        Account {
            id: self.account.clone(),
            created_at: T0,
        }
    }

    /// An active access key of this scope's account root.
    pub(crate) fn access_key(&self) -> AccessKey {
        let id = format!("AKIA{:016X}", uuid::Uuid::new_v4().as_u64_pair().0);
        AccessKey {
            id,
            account: self.account.clone(),
            principal_arn: format!("arn:aws:iam::{}:root", self.account),
            wrapped_secret: (0..=255u8).collect(),
            status: AccessKeyStatus::Active,
            created_at: T0,
        }
    }
}

/// A random 12-digit account id.
pub(crate) fn random_account() -> Result<AccountId, Failure> {
    let n = uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000;
    AccountId::parse(&format!("{n:012}")).ok_or_else(|| Failure::new("bad random account"))
}

/// A random key id.
pub(crate) fn new_key_id() -> KeyId {
    KeyId::from_random(*uuid::Uuid::new_v4().as_bytes())
}

/// A material version of `key`.
pub(crate) fn version(key: KeyId, version: u32) -> KeyVersion {
    KeyVersion {
        key_id: key,
        version,
        created_at: Timestamp(T0.0 + i64::from(version)),
        wrapped_material: format!("wrapped material {version} \0 of {key}").into_bytes(),
        rotation_type: None,
    }
}

/// Commits one write.
pub(crate) fn commit1(store: &dyn Store, write: Write) -> Result<(), crate::StoreError> {
    let mut txn = Transaction::new();
    txn.push(write);
    store.commit(txn)
}

/// Creates `key` (expecting it absent).
pub(crate) fn create_key(store: &dyn Store, key: &Key) -> Outcome {
    commit1(
        store,
        Write::PutKey {
            key: key.clone(),
            expect: Expect::Absent,
        },
    )?;
    Ok(())
}

/// Creates `alias` (expecting it absent).
pub(crate) fn create_alias(store: &dyn Store, alias: &Alias) -> Outcome {
    commit1(
        store,
        Write::PutAlias {
            alias: alias.clone(),
            expect: Expect::Absent,
        },
    )?;
    Ok(())
}

/// Reads a key that must exist.
pub(crate) fn must_get_key(store: &dyn Store, id: &KeyId) -> Result<Versioned<Key>, Failure> {
    store
        .get_key(id)?
        .ok_or_else(|| Failure::new(format!("key {id} is missing")))
}

//! Records for the conformance cases. Every case works under its own random account, so
//! cases never see each other's records even in a shared database.

use super::{Failure, Outcome};
use crate::{Expect, Store, Transaction, Versioned, Write};
use std::collections::BTreeMap;
use strongroom_core::alias::Alias;
use strongroom_core::grant::{Grant, GrantOperation};
use strongroom_core::identity::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, Account, Role, Session, User,
};
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
            // Not `created_at`, so that a backend storing one time in place of the other fails.
            policy_updated_at: Timestamp(T0.0 + 7),
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
            owner: AccessKeyOwner::Root,
            wrapped_secret: (0..=255u8).collect(),
            status: AccessKeyStatus::Active,
            created_at: T0,
        }
    }

    /// An active access key of user `name` of this scope's account.
    pub(crate) fn user_access_key(&self, name: &str) -> AccessKey {
        AccessKey {
            principal_arn: format!("arn:aws:iam::{}:user/{name}", self.account),
            owner: AccessKeyOwner::User(name.to_owned()),
            ..self.access_key()
        }
    }

    /// Temporary credentials of a session of role `role` of this scope's account, expiring at
    /// `expires_at`.
    pub(crate) fn session_key(&self, role: &str, expires_at: Timestamp) -> AccessKey {
        let mut key = self.access_key();
        key.id.replace_range(..4, "ASIA");
        AccessKey {
            principal_arn: format!("arn:aws:sts::{}:assumed-role/{role}/session", self.account),
            owner: AccessKeyOwner::Session(Session {
                role_name: role.to_owned(),
                role_id: format!("AROA{role}"),
                session_name: "session".to_owned(),
                token_digest: (0..32u8).rev().collect(),
                expires_at,
            }),
            ..key
        }
    }

    /// A user of this scope's account, at path `/`, with one tag and one inline policy.
    pub(crate) fn user(&self, name: &str) -> User {
        User {
            account: self.account.clone(),
            name: name.to_owned(),
            path: "/".to_owned(),
            id: format!("AIDA{:016X}", uuid::Uuid::new_v4().as_u64_pair().0),
            arn: format!("arn:aws:iam::{}:user/{name}", self.account),
            created_at: T0,
            tags: BTreeMap::from([("team".to_owned(), "storage".to_owned())]),
            policies: BTreeMap::from([("read".to_owned(), POLICY.to_owned())]),
        }
    }

    /// A role of this scope's account, at path `/`, with one tag and one inline policy.
    pub(crate) fn role(&self, name: &str) -> Role {
        Role {
            account: self.account.clone(),
            name: name.to_owned(),
            path: "/".to_owned(),
            id: format!("AROA{:016X}", uuid::Uuid::new_v4().as_u64_pair().0),
            arn: format!("arn:aws:iam::{}:role/{name}", self.account),
            created_at: T0,
            description: "conformance role".to_owned(),
            max_session_duration: 3600,
            trust_policy: POLICY.to_owned(),
            tags: BTreeMap::from([("team".to_owned(), "storage".to_owned())]),
            policies: BTreeMap::from([("read".to_owned(), POLICY.to_owned())]),
        }
    }

    /// A grant on `key` (which is in this scope) to a user of this scope's account.
    pub(crate) fn grant(&self, key: &Key) -> Grant {
        Grant {
            key_id: key.id,
            account: self.account.clone(),
            id: new_grant_id(),
            name: None,
            grantee_principal: format!("arn:aws:iam::{}:user/grantee", self.account),
            retiring_principal: None,
            issuing_account: format!("arn:aws:iam::{}:root", self.account),
            operations: vec![GrantOperation::Encrypt, GrantOperation::Decrypt],
            constraints: None,
            created_at: T0,
        }
    }
}

/// A policy document.
pub(crate) const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#;

/// A random grant id: 64 hex digits.
pub(crate) fn new_grant_id() -> String {
    let (a, b) = uuid::Uuid::new_v4().as_u64_pair();
    let (c, d) = uuid::Uuid::new_v4().as_u64_pair();
    format!("{a:016x}{b:016x}{c:016x}{d:016x}")
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

/// Creates the account of `scope`.
pub(crate) fn create_account(store: &dyn Store, scope: &Scope) -> Outcome {
    commit1(store, Write::AddAccount(scope.account_record()))?;
    Ok(())
}

/// Creates `user` (expecting it absent).
pub(crate) fn create_user(store: &dyn Store, user: &User) -> Outcome {
    let write = Write::PutUser {
        user: user.clone(),
        expect: Expect::Absent,
    };
    commit1(store, write)?;
    Ok(())
}

/// Creates `role` (expecting it absent).
pub(crate) fn create_role(store: &dyn Store, role: &Role) -> Outcome {
    let write = Write::PutRole {
        role: role.clone(),
        expect: Expect::Absent,
    };
    commit1(store, write)?;
    Ok(())
}

/// Creates `access_key` (expecting it absent).
pub(crate) fn create_access_key(store: &dyn Store, access_key: &AccessKey) -> Outcome {
    let write = Write::PutAccessKey {
        access_key: access_key.clone(),
        expect: Expect::Absent,
    };
    commit1(store, write)?;
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

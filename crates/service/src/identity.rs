//! Authentication material: who an access key belongs to, and the dev-mode bootstrap of the
//! account root's access key.

use crate::Service;
use crate::cache::{CachedCredential, SessionCheck};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::identity::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, Account, access_key_aad, valid_access_key_id,
};
use strongroom_core::ids::AccountId;
use strongroom_crypto::secret::SecretBytes;
use strongroom_store::{Expect, Transaction, Write};

/// An authenticated principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal's account.
    pub account: AccountId,
    /// The principal's ARN.
    pub principal_arn: String,
    /// The access key the request was signed with.
    pub access_key_id: String,
    /// What kind of principal it is.
    pub kind: CallerKind,
    /// The principal as the policy evaluator sees it, with the condition keys that depend on
    /// it alone; built once per credential.
    pub policy: Arc<strongroom_policy::Caller>,
    /// For a role session: when its credentials were issued (the audit trail's
    /// `sessionContext.attributes.creationDate`).
    pub issued_at: Option<strongroom_core::time::Timestamp>,
}

/// The kinds of principal that sign requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerKind {
    /// The account's root user.
    Root,
    /// An IAM user.
    User {
        /// Its name.
        name: String,
    },
    /// An assumed-role session.
    Session {
        /// The role's name.
        role_name: String,
        /// The role's unique id.
        role_id: String,
        /// The session name.
        session_name: String,
    },
}

impl Caller {
    /// The account root of `account` in `partition`, signing with `access_key_id`.
    pub fn root(partition: &str, account: AccountId, access_key_id: String) -> Self {
        let principal_arn = format!("arn:{partition}:iam::{account}:root");
        Self::new(account, principal_arn, access_key_id, CallerKind::Root)
    }

    /// A caller, with its policy view derived (`aws:userid` for the root and sessions; a
    /// user's id is known only with its record, and is added per request when a policy asks).
    pub fn new(
        account: AccountId,
        principal_arn: String,
        access_key_id: String,
        kind: CallerKind,
    ) -> Self {
        let mut policy = strongroom_policy::Caller::new(
            strongroom_policy::PrincipalInfo::from_arn(&principal_arn),
        );
        match &kind {
            CallerKind::Root => policy.insert("aws:userid", [account.as_str()]),
            CallerKind::Session {
                role_id,
                session_name,
                ..
            } => policy.insert("aws:userid", [format!("{role_id}:{session_name}")]),
            CallerKind::User { .. } => {}
        }
        Self {
            account,
            principal_arn,
            access_key_id,
            kind,
            policy: Arc::new(policy),
            issued_at: None,
        }
    }

    /// Whether the caller is its account's root user.
    pub fn is_root(&self) -> bool {
        self.kind == CallerKind::Root
    }
}

/// The dev-mode credentials of the account root, to print for the user.
#[derive(Debug)]
pub struct DevCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key (shown to the user once per start, stored only wrapped).
    pub secret_access_key: SecretBytes,
}

const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Service {
    /// Looks up an access key for SigV4 verification. `None` if it does not exist.
    pub async fn credential(
        &self,
        access_key_id: &str,
    ) -> Result<Option<Arc<CachedCredential>>, KmsError> {
        let caches = &self.inner.cache;
        if let Some(c) = caches.credentials.get(access_key_id) {
            return Ok(Some(c));
        }
        let seen = caches.epoch();
        let id = access_key_id.to_owned();
        let Some(record) = self
            .store_call("GetAccessKey", move |s| s.get_access_key(&id))
            .await?
        else {
            return Ok(None);
        };
        let ak = record.value;
        let secret = self
            .inner
            .root
            .unwrap(&access_key_aad(&ak.id), &ak.wrapped_secret)
            .map_err(|_| {
                tracing::error!(access_key_id = %ak.id, "stored secret does not unwrap under the root key");
                KmsError::Internal
            })?;
        let (kind, session) = match &ak.owner {
            AccessKeyOwner::Root => (CallerKind::Root, None),
            AccessKeyOwner::User(name) => (CallerKind::User { name: name.clone() }, None),
            AccessKeyOwner::Session(s) => (
                CallerKind::Session {
                    role_name: s.role_name.clone(),
                    role_id: s.role_id.clone(),
                    session_name: s.session_name.clone(),
                },
                Some(SessionCheck {
                    token_digest: s.token_digest.clone(),
                    expires_at: s.expires_at,
                }),
            ),
        };
        let created_at = self.identity_created_at(&ak).await?;
        let mut caller = crate::Caller::new(
            ak.account.clone(),
            ak.principal_arn.clone(),
            ak.id.clone(),
            kind,
        );
        if let Some(at) = created_at {
            Arc::make_mut(&mut caller.policy).set_identity_created_at(at);
        }
        if matches!(ak.owner, AccessKeyOwner::Session(_)) {
            caller.issued_at = Some(ak.created_at);
        }
        let cred = Arc::new(CachedCredential {
            caller,
            secret,
            active: ak.status == AccessKeyStatus::Active,
            session,
        });
        caches.insert_credential(seen, ak.id, Arc::clone(&cred));
        Ok(Some(cred))
    }

    /// When the user or role behind an access key was created, which decides whether a policy
    /// naming it names this identity (see `strongroom_policy::Policy::set_saved_at`). A user
    /// or role that no longer exists, or a session whose role was replaced by another of the
    /// same name, is newer than every policy: no policy names it. `None` for the root.
    async fn identity_created_at(&self, ak: &AccessKey) -> Result<Option<i64>, KmsError> {
        let account = ak.account.clone();
        let created = match &ak.owner {
            AccessKeyOwner::Root => return Ok(None),
            AccessKeyOwner::User(name) => {
                let name = name.clone();
                self.store_call("GetUser", move |s| s.get_user(&account, &name))
                    .await?
                    .map(|u| u.value.created_at.0)
            }
            AccessKeyOwner::Session(session) => {
                let (name, id) = (session.role_name.clone(), session.role_id.clone());
                self.store_call("GetRole", move |s| s.get_role(&account, &name))
                    .await?
                    .filter(|r| r.value.id == id)
                    .map(|r| r.value.created_at.0)
            }
        };
        Ok(Some(created.unwrap_or(i64::MAX)))
    }

    /// Makes sure `account` exists with a root access key and returns that key.
    ///
    /// With `requested` (id and secret given by the operator) that key is created or, if it
    /// exists with another secret, re-keyed. Otherwise `previous` (the id printed at the last
    /// start) is reused if it still exists; failing that a new key is generated.
    pub async fn bootstrap_dev(
        &self,
        account: &AccountId,
        requested: Option<(String, SecretBytes)>,
        previous: Option<String>,
    ) -> Result<DevCredentials, KmsError> {
        self.ensure_account(account).await?;
        if let Some((id, secret)) = requested {
            if !valid_access_key_id(&id) {
                return Err(KmsError::Validation(
                    "access key id must be 16-128 characters of A-Z and 0-9".to_owned(),
                ));
            }
            self.put_root_access_key(account, &id, secret.expose())
                .await?;
            return Ok(DevCredentials {
                access_key_id: id,
                secret_access_key: secret,
            });
        }
        if let Some(id) = previous
            && let Some(c) = self.credential(&id).await?
            && &c.caller.account == account
            && c.active
        {
            let secret = SecretBytes::new(c.secret.expose().clone());
            return Ok(DevCredentials {
                access_key_id: id,
                secret_access_key: secret,
            });
        }
        let id = self.generate_access_key_id("AKIA")?;
        let secret = self.generate_secret()?;
        self.put_root_access_key(account, &id, secret.expose())
            .await?;
        Ok(DevCredentials {
            access_key_id: id,
            secret_access_key: secret,
        })
    }

    /// Wraps the secret of access key `id` under the root key, for storage.
    pub(crate) fn wrap_secret(&self, id: &str, secret: &[u8]) -> Result<Vec<u8>, KmsError> {
        self.inner
            .root
            .wrap(self.inner.rng.as_ref(), &access_key_aad(id), secret)
            .map_err(|_| KmsError::Internal)
    }

    /// Creates a new account (`account`, or a random 12-digit id) with a root access key, and
    /// returns the key: the operator's way to add accounts (`strongroom admin create-account`).
    /// An existing account is refused.
    pub async fn create_account(
        &self,
        account: Option<AccountId>,
    ) -> Result<(AccountId, DevCredentials), KmsError> {
        let account = match account {
            Some(a) => a,
            None => {
                let digits: [u8; 12] = self.random()?;
                let id: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
                AccountId::parse(&id).ok_or(KmsError::Internal)?
            }
        };
        let mut txn = Transaction::new();
        txn.push(Write::AddAccount(Account {
            id: account.clone(),
            created_at: self.clock().now(),
        }));
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {}
            Err(strongroom_store::StoreError::Conflict) => {
                return Err(KmsError::AlreadyExists(format!(
                    "Account {account} already exists."
                )));
            }
            Err(e) => return Err(crate::store_call::map_store_error("CreateAccount", e)),
        }
        let id = self.generate_access_key_id("AKIA")?;
        let secret = self.generate_secret()?;
        self.put_root_access_key(&account, &id, secret.expose())
            .await?;
        Ok((
            account,
            DevCredentials {
                access_key_id: id,
                secret_access_key: secret,
            },
        ))
    }

    async fn ensure_account(&self, account: &AccountId) -> Result<(), KmsError> {
        let id = account.clone();
        if self
            .store_call("GetAccount", move |s| s.get_account(&id))
            .await?
            .is_some()
        {
            return Ok(());
        }
        let mut txn = Transaction::new();
        txn.push(Write::AddAccount(Account {
            id: account.clone(),
            created_at: self.clock().now(),
        }));
        self.store_call("CreateAccount", move |s| s.commit(txn))
            .await
    }

    async fn put_root_access_key(
        &self,
        account: &AccountId,
        id: &str,
        secret: &[u8],
    ) -> Result<(), KmsError> {
        let lookup = id.to_owned();
        let existing = self
            .store_call("GetAccessKey", move |s| s.get_access_key(&lookup))
            .await?;
        let expect = match &existing {
            Some(v) if &v.value.account != account => {
                return Err(KmsError::Validation(format!(
                    "access key {id} belongs to another account"
                )));
            }
            Some(v) => Expect::Revision(v.revision),
            None => Expect::Absent,
        };
        let wrapped = self.wrap_secret(id, secret)?;
        let record = AccessKey {
            id: id.to_owned(),
            account: account.clone(),
            principal_arn: format!("arn:{}:iam::{}:root", self.config().partition, account),
            owner: AccessKeyOwner::Root,
            wrapped_secret: wrapped,
            status: AccessKeyStatus::Active,
            created_at: existing.map_or_else(|| self.clock().now(), |v| v.value.created_at),
        };
        let mut txn = Transaction::new();
        txn.push(Write::PutAccessKey {
            access_key: record,
            expect,
        });
        self.store_call("PutAccessKey", move |s| s.commit(txn))
            .await?;
        self.inner.cache.invalidate_credential(&id.to_owned());
        Ok(())
    }

    /// A new access key id (or user/role id): `prefix` and 16 random base32 characters.
    pub(crate) fn generate_access_key_id(&self, prefix: &str) -> Result<String, KmsError> {
        let bytes: [u8; 16] = self.random()?;
        let mut id = String::from(prefix);
        id.extend(
            bytes
                .iter()
                .map(|b| char::from(ID_ALPHABET[usize::from(b & 31)])),
        );
        Ok(id)
    }

    /// A new 40-character secret access key.
    pub(crate) fn generate_secret(&self) -> Result<SecretBytes, KmsError> {
        let bytes: [u8; 40] = self.random()?;
        let secret = bytes
            .iter()
            .map(|b| SECRET_ALPHABET[usize::from(b & 63)])
            .collect();
        Ok(SecretBytes::new(secret))
    }
}

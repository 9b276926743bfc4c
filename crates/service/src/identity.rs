//! Authentication material: who an access key belongs to, and the dev-mode bootstrap of the
//! account root's access key.

use crate::Service;
use crate::cache::CachedCredential;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::identity::{
    AccessKey, AccessKeyStatus, Account, access_key_aad, valid_access_key_id,
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
        if let Some(c) = caches.credentials.get(&access_key_id.to_owned()) {
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
        let cred = Arc::new(CachedCredential {
            caller: crate::Caller {
                account: ak.account.clone(),
                principal_arn: ak.principal_arn.clone(),
                access_key_id: ak.id.clone(),
            },
            secret,
            active: ak.status == AccessKeyStatus::Active,
        });
        caches.insert_credential(seen, ak.id, Arc::clone(&cred));
        Ok(Some(cred))
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
        let id = self.generate_access_key_id()?;
        let secret = self.generate_secret()?;
        self.put_root_access_key(account, &id, secret.expose())
            .await?;
        Ok(DevCredentials {
            access_key_id: id,
            secret_access_key: secret,
        })
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
        let wrapped = self
            .inner
            .root
            .wrap(self.inner.rng.as_ref(), &access_key_aad(id), secret)
            .map_err(|_| KmsError::Internal)?;
        let record = AccessKey {
            id: id.to_owned(),
            account: account.clone(),
            principal_arn: format!("arn:{}:iam::{}:root", self.config().partition, account),
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

    fn generate_access_key_id(&self) -> Result<String, KmsError> {
        let bytes: [u8; 16] = self.random()?;
        let mut id = String::from("AKIA");
        id.extend(
            bytes
                .iter()
                .map(|b| char::from(ID_ALPHABET[usize::from(b & 31)])),
        );
        Ok(id)
    }

    fn generate_secret(&self) -> Result<SecretBytes, KmsError> {
        let bytes: [u8; 40] = self.random()?;
        let secret = bytes
            .iter()
            .map(|b| SECRET_ALPHABET[usize::from(b & 63)])
            .collect();
        Ok(SecretBytes::new(secret))
    }
}

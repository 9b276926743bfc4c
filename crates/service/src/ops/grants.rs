//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the
//! grant tokens that name them.
//!
//! Grants are stored with their key and loaded with it into the key cache, so a grant is in
//! force from the moment CreateGrant returns (AWS grants are eventually consistent, and grant
//! tokens exist to bridge that; here a token only needs to be genuine). A token is
//! self-authenticating: `SRGT`, a version byte, the key id, the grant id, a random nonce (every
//! CreateGrant returns a new token, as in AWS) and an HMAC under a root-derived key over all of
//! it, base64-encoded. Tokens are not secrets; the HMAC only makes forged ones recognisable.

use super::{Page, decode_marker, page};
use crate::authz::{Access, GrantRule};
use crate::{CallerKind, RequestContext, Service};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use strongroom_core::KmsError;
use strongroom_core::grant::{Grant, GrantConstraints, GrantOperation, MAX_GRANTS_PER_KEY};
use strongroom_core::ids::{KeyId, KeyRef};
use strongroom_core::key::{KeySpec, KeyUsage};
use strongroom_core::operation::Operation;
use strongroom_store::{StoreError, Transaction, Write};

const TOKEN_MAGIC: &[u8; 4] = b"SRGT";
const TOKEN_VERSION: u8 = 1;
const TOKEN_LEN: usize = 4 + 1 + 16 + 32 + 16 + 32;
const TOKEN_LABEL: &[u8] = b"grant-token";

/// CreateGrant's input, after wire validation.
#[derive(Debug, Clone)]
pub struct CreateGrantInput {
    /// The key.
    pub key: KeyRef,
    /// Who may use the grant.
    pub grantee_principal: String,
    /// Who may retire it.
    pub retiring_principal: Option<String>,
    /// What it allows (non-empty, no duplicates needed).
    pub operations: Vec<GrantOperation>,
    /// Encryption-context constraints.
    pub constraints: Option<GrantConstraints>,
    /// The idempotency name.
    pub name: Option<String>,
    /// DryRun.
    pub dry_run: bool,
}

/// What CreateGrant returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedGrant {
    /// A token for the grant (new on every call).
    pub token: String,
    /// The grant id.
    pub id: String,
}

/// How RetireGrant names the grant.
#[derive(Debug, Clone)]
pub enum RetireTarget {
    /// By its token.
    Token(String),
    /// By key and grant id.
    Id {
        /// The key.
        key: KeyRef,
        /// The grant id.
        grant_id: String,
    },
}

/// Whether `op` can be granted on a key of this spec and usage.
fn grantable(op: GrantOperation, spec: KeySpec, usage: KeyUsage) -> bool {
    use GrantOperation as G;
    match op {
        G::CreateGrant | G::RetireGrant | G::DescribeKey => true,
        G::Decrypt
        | G::Encrypt
        | G::GenerateDataKey
        | G::GenerateDataKeyWithoutPlaintext
        | G::ReEncryptFrom
        | G::ReEncryptTo
        | G::GenerateDataKeyPair
        | G::GenerateDataKeyPairWithoutPlaintext => {
            spec == KeySpec::SymmetricDefault && usage == KeyUsage::EncryptDecrypt
        }
        G::Sign
        | G::Verify
        | G::GetPublicKey
        | G::GenerateMac
        | G::VerifyMac
        | G::DeriveSharedSecret => false,
    }
}

/// Is `s` a grant id this service issues (64 lower-case hex digits)?
fn valid_grant_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn invalid_grant_id() -> KmsError {
    KmsError::InvalidGrantId("The grant ID is not valid.".to_owned())
}

fn grant_not_found(id: &str) -> KmsError {
    KmsError::NotFound(format!("Grant ID {id} not found"))
}

impl Service {
    /// A new token for grant `grant_id` of key `key_id`.
    fn grant_token(&self, key_id: &KeyId, grant_id: &str) -> Result<String, KmsError> {
        let mut raw = Vec::with_capacity(TOKEN_LEN);
        raw.extend_from_slice(TOKEN_MAGIC);
        raw.push(TOKEN_VERSION);
        raw.extend_from_slice(key_id.as_bytes());
        // Grant ids are 64 hex digits, so this is 32 bytes.
        let id_bytes = strongroom_crypto::hex::decode(grant_id)
            .filter(|b| b.len() == 32)
            .ok_or(KmsError::Internal)?;
        raw.extend_from_slice(&id_bytes);
        raw.extend_from_slice(&self.random::<16>()?);
        let mac = self.inner.root.fingerprint(TOKEN_LABEL, &raw);
        raw.extend_from_slice(&mac);
        Ok(STANDARD.encode(raw))
    }

    /// The key and grant a token names, if this service issued it.
    fn parse_grant_token(&self, token: &str) -> Result<(KeyId, String), KmsError> {
        let invalid = || KmsError::InvalidGrantToken("The grant token is not valid.".to_owned());
        let raw = STANDARD.decode(token).map_err(|_| invalid())?;
        if raw.len() != TOKEN_LEN || !raw.starts_with(TOKEN_MAGIC) || raw[4] != TOKEN_VERSION {
            return Err(invalid());
        }
        let (body, mac) = raw.split_at(TOKEN_LEN - 32);
        let expected = self.inner.root.fingerprint(TOKEN_LABEL, body);
        if !strongroom_crypto::digest::constant_time_eq(&expected, mac) {
            return Err(invalid());
        }
        let key: [u8; 16] = body[5..21].try_into().map_err(|_| invalid())?;
        let grant_id = strongroom_crypto::hex::encode(&body[21..53]);
        Ok((KeyId::from_bytes(key), grant_id))
    }

    /// Checks the GrantTokens of a request: each must be a token this service issued. (Grants
    /// take effect at once here, so a genuine token adds no permission the grant has not.)
    pub fn check_grant_tokens(&self, tokens: &[String]) -> Result<(), KmsError> {
        tokens
            .iter()
            .try_for_each(|t| self.parse_grant_token(t).map(drop))
    }

    /// CreateGrant.
    pub async fn create_grant(
        &self,
        ctx: &RequestContext,
        input: CreateGrantInput,
    ) -> Result<CreatedGrant, KmsError> {
        let constraints = input
            .constraints
            .filter(|c| c.equals.is_some() || c.subset.is_some());
        let constraint_context = constraints
            .as_ref()
            .and_then(|c| c.equals.clone().or_else(|| c.subset.clone()))
            .map(strongroom_core::context::EncryptionContext::new);
        let mut access = Access::new(Operation::CreateGrant)
            .key(
                "kms:GrantOperations",
                input
                    .operations
                    .iter()
                    .map(|o| o.as_str().to_owned())
                    .collect(),
            )
            .key(
                "kms:GranteePrincipal",
                vec![input.grantee_principal.clone()],
            )
            .key("kms:GrantIsForAWSResource", vec!["false".to_owned()]);
        if let Some(r) = &input.retiring_principal {
            access = access.key("kms:RetiringPrincipal", vec![r.clone()]);
        }
        if let Some(c) = &constraints {
            let kind = if c.equals.is_some() {
                "EncryptionContextEquals"
            } else {
                "EncryptionContextSubset"
            };
            access = access.key("kms:GrantConstraintType", vec![kind.to_owned()]);
        }
        if let Some(c) = &constraint_context {
            access = access.context(c);
        }
        // A grant with the CreateGrant operation lets its grantee pass on what it holds, no
        // more (and, like every grant, never against an explicit deny).
        access.grant_rule = GrantRule::Subgrant {
            operations: &input.operations,
            constraints: constraints.as_ref(),
        };
        let key = self.resolve(ctx, &input.key, &access).await?;
        let k = &key.key;
        k.state.check_manageable(&k.arn)?;
        if let Some(op) = input
            .operations
            .iter()
            .find(|o| !grantable(**o, k.spec, k.usage))
        {
            return Err(KmsError::Validation(format!(
                "Grant operation {} is not compatible with key spec {} and key usage {}.",
                op.as_str(),
                k.spec.as_str(),
                k.usage.as_str()
            )));
        }
        if input.dry_run {
            return Err(KmsError::DryRun);
        }
        let grant = Grant {
            key_id: k.id,
            account: k.account.clone(),
            id: String::new(),
            name: input.name,
            grantee_principal: input.grantee_principal,
            retiring_principal: input.retiring_principal,
            issuing_account: ctx.scope.root_principal_arn(),
            operations: input.operations,
            constraints,
            created_at: self.clock().now(),
        };
        // A retried CreateGrant with the same name and parameters returns the same grant.
        if grant.name.is_some()
            && let Some(same) = key.grants.iter().find(|g| {
                g.name == grant.name
                    && g.grantee_principal == grant.grantee_principal
                    && g.retiring_principal == grant.retiring_principal
                    && g.operations == grant.operations
                    && g.constraints == grant.constraints
            })
        {
            return Ok(CreatedGrant {
                token: self.grant_token(&k.id, &same.id)?,
                id: same.id.clone(),
            });
        }
        let key_id = k.id;
        let count = self
            .store_call("CountGrants", move |s| s.count_grants(&key_id))
            .await?;
        if count >= MAX_GRANTS_PER_KEY {
            return Err(KmsError::LimitExceeded(format!(
                "Key {} already has {MAX_GRANTS_PER_KEY} grants.",
                k.arn
            )));
        }
        let id = strongroom_crypto::hex::encode(&self.random::<32>()?);
        let grant = Grant { id, ..grant };
        let mut txn = Transaction::new();
        txn.push(Write::AddGrant(grant.clone()));
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {}
            // The key was deleted meanwhile.
            Err(StoreError::Conflict) => return Err(KmsError::key_not_found(&k.arn)),
            Err(e) => return Err(crate::store_call::map_store_error("CreateGrant", e)),
        }
        self.inner.cache.invalidate_key(&key_id);
        tracing::info!(key = %k.arn, grant = %grant.id, "grant created");
        Ok(CreatedGrant {
            token: self.grant_token(&key_id, &grant.id)?,
            id: grant.id,
        })
    }

    /// ListGrants, by grant id; optionally one grant, or one grantee's grants.
    pub async fn list_grants(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, KmsError> {
        let key = self
            .resolve(ctx, r, &Access::new(Operation::ListGrants))
            .await?;
        if let Some(id) = grant_id
            && !valid_grant_id(id)
        {
            return Err(invalid_grant_id());
        }
        let after = marker.map(decode_marker).transpose()?;
        let items: Vec<Grant> = key
            .grants
            .iter()
            .filter(|g| after.as_ref().is_none_or(|a| g.id.as_str() > a.as_str()))
            .filter(|g| grant_id.is_none_or(|id| g.id == id))
            .filter(|g| grantee.is_none_or(|p| g.grantee_principal == p))
            .take(limit + 1)
            .cloned()
            .collect();
        Ok(page(items, limit, |g| g.id.clone()))
    }

    /// ListRetirableGrants: grants on any key whose retiring principal is `principal`.
    pub async fn list_retirable_grants(
        &self,
        ctx: &RequestContext,
        principal: &str,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, KmsError> {
        self.authorize_account(ctx, Operation::ListRetirableGrants.action(), "*")
            .await?;
        let after = marker
            .map(|m| {
                let s = decode_marker(m)?;
                let invalid = || KmsError::InvalidMarker("The marker is not valid.".to_owned());
                let (key, grant) = s.split_once('/').ok_or_else(invalid)?;
                Ok::<_, KmsError>((KeyId::parse(key).ok_or_else(invalid)?, grant.to_owned()))
            })
            .transpose()?;
        let owned = principal.to_owned();
        let grants = self
            .store_call("ListRetirableGrants", move |s| {
                s.list_retirable_grants(
                    &owned,
                    after.as_ref().map(|(k, g)| (k, g.as_str())),
                    limit + 1,
                )
            })
            .await?;
        Ok(page(grants, limit, |g| format!("{}/{}", g.key_id, g.id)))
    }

    /// RetireGrant: by the grant's retiring principal, its grantee (when the grant lists
    /// RetireGrant), the account that created it, or whoever the key's policies allow.
    pub async fn retire_grant(
        &self,
        ctx: &RequestContext,
        target: RetireTarget,
        dry_run: bool,
    ) -> Result<(), KmsError> {
        // A token names its key by id alone, in whatever account it is.
        let (key_id, grant_id, account) = match target {
            RetireTarget::Token(t) => {
                let (key, grant) = self.parse_grant_token(&t)?;
                (key, grant, None)
            }
            RetireTarget::Id { key, grant_id } => {
                if !valid_grant_id(&grant_id) {
                    return Err(invalid_grant_id());
                }
                let (id, account) = self.locate(ctx, &key, true).await?;
                (id, grant_id, Some(account))
            }
        };
        let key = self.load_key(ctx, &key_id, account.as_ref()).await?;
        ctx.keys.note(&key.key.arn);
        let grant = key
            .grants
            .iter()
            .find(|g| g.id == grant_id)
            .ok_or_else(|| grant_not_found(&grant_id))?;
        let by_grant = grant.retiring_principal.as_deref() == Some(&ctx.caller.principal_arn)
            || (crate::authz::grantee_matches(grant, ctx)
                && grant.operations.contains(&GrantOperation::RetireGrant))
            || (ctx.caller.kind == CallerKind::Root
                && grant.issuing_account == ctx.caller.principal_arn);
        if !by_grant {
            let mut access = Access::new(Operation::RetireGrant);
            access.grant_rule = GrantRule::Never;
            self.authorize_key(ctx, &key, &access, None).await?;
        }
        if dry_run {
            return Err(KmsError::DryRun);
        }
        self.delete_grant(&key.key.id, &grant_id, "RetireGrant")
            .await
    }

    /// RevokeGrant.
    pub async fn revoke_grant(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        grant_id: &str,
        dry_run: bool,
    ) -> Result<(), KmsError> {
        let mut access = Access::new(Operation::RevokeGrant);
        access.grant_rule = GrantRule::Never;
        let key = self.resolve(ctx, r, &access).await?;
        if !valid_grant_id(grant_id) {
            return Err(invalid_grant_id());
        }
        if !key.grants.iter().any(|g| g.id == grant_id) {
            return Err(grant_not_found(grant_id));
        }
        if dry_run {
            return Err(KmsError::DryRun);
        }
        self.delete_grant(&key.key.id, grant_id, "RevokeGrant")
            .await
    }

    async fn delete_grant(
        &self,
        key_id: &KeyId,
        grant_id: &str,
        op: &'static str,
    ) -> Result<(), KmsError> {
        let mut txn = Transaction::new();
        txn.push(Write::DeleteGrant {
            key_id: *key_id,
            grant_id: grant_id.to_owned(),
        });
        let result = self.store_raw(move |s| s.commit(txn)).await;
        self.inner.cache.invalidate_key(key_id);
        match result {
            Ok(()) => {
                tracing::info!(grant = %grant_id, "grant deleted");
                Ok(())
            }
            // A concurrent retirement or revocation won.
            Err(StoreError::Conflict) => Err(grant_not_found(grant_id)),
            Err(e) => Err(crate::store_call::map_store_error(op, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn m(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
        )
    }

    #[test]
    fn derived_grants_may_only_narrow() {
        let eq = GrantConstraints {
            equals: m(&[("a", "1")]),
            subset: None,
        };
        let sub = GrantConstraints {
            equals: None,
            subset: m(&[("a", "1")]),
        };
        let wider = GrantConstraints {
            equals: None,
            subset: m(&[("b", "2")]),
        };
        let narrower = GrantConstraints {
            equals: None,
            subset: m(&[("a", "1"), ("b", "2")]),
        };
        assert!(GrantConstraints::narrows(None, None));
        assert!(GrantConstraints::narrows(Some(&eq), None));
        assert!(!GrantConstraints::narrows(None, Some(&sub)));
        assert!(GrantConstraints::narrows(Some(&eq), Some(&eq)));
        assert!(!GrantConstraints::narrows(Some(&sub), Some(&eq)));
        assert!(GrantConstraints::narrows(Some(&narrower), Some(&sub)));
        assert!(GrantConstraints::narrows(Some(&eq), Some(&sub)));
        assert!(!GrantConstraints::narrows(Some(&wider), Some(&sub)));
    }

    #[test]
    fn grant_ids_are_64_lower_hex() {
        assert!(valid_grant_id(&"a1".repeat(32)));
        assert!(!valid_grant_id(&"A1".repeat(32)));
        assert!(!valid_grant_id("abc"));
    }

    #[test]
    fn symmetric_keys_grant_only_symmetric_operations() {
        let (s, u) = (KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
        assert!(grantable(GrantOperation::Decrypt, s, u));
        assert!(grantable(GrantOperation::GenerateDataKeyPair, s, u));
        assert!(!grantable(GrantOperation::Sign, s, u));
        assert!(!grantable(GrantOperation::GenerateMac, s, u));
    }
}

//! Key management: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, EnableKey,
//! DisableKey.

use super::{Page, decode_marker, page};
use crate::authz::Access;
use crate::{RequestContext, Service};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::ids::{KeyId, KeyRef};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, KeyVersion, Origin, material_aad};
use strongroom_core::operation::Operation;
use strongroom_core::state::KeyState;
use strongroom_store::{Expect, Transaction, Write};

/// CreateKey's input, after wire validation.
#[derive(Debug, Clone, Default)]
pub struct CreateKeyInput {
    /// Description (0–8192 characters).
    pub description: String,
    /// KeySpec or CustomerMasterKeySpec; `None` means SYMMETRIC_DEFAULT.
    pub spec: Option<KeySpec>,
    /// KeyUsage; `None` means ENCRYPT_DECRYPT.
    pub usage: Option<KeyUsage>,
    /// Origin; `None` means AWS_KMS.
    pub origin: Option<Origin>,
    /// The key policy; `None` means the default key policy.
    pub policy: Option<String>,
    /// Tags to attach.
    pub tags: Vec<(String, String)>,
    /// MultiRegion was requested.
    pub multi_region: bool,
    /// A custom key store was named.
    pub custom_key_store: bool,
    /// BypassPolicyLockoutSafetyCheck: store a policy that would lock the caller out.
    pub bypass_policy_lockout_safety_check: bool,
}

/// One entry of ListKeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyListEntry {
    /// The key id.
    pub id: KeyId,
    /// The key ARN.
    pub arn: String,
}

impl Service {
    /// CreateKey: a symmetric key with fresh material (version 1), wrapped under the root key.
    pub async fn create_key(
        &self,
        ctx: &RequestContext,
        input: CreateKeyInput,
    ) -> Result<Key, KmsError> {
        let spec = input.spec.unwrap_or(KeySpec::SymmetricDefault);
        let usage = input.usage.unwrap_or(KeyUsage::EncryptDecrypt);
        let origin = input.origin.unwrap_or(Origin::AwsKms);
        let bypass = input.bypass_policy_lockout_safety_check;
        let access = crate::ops::tags::request_tags(
            Access::new(Operation::CreateKey)
                .key("kms:KeySpec", vec![spec.as_str().to_owned()])
                .key("kms:KeyUsage", vec![usage.as_str().to_owned()])
                .key("kms:KeyOrigin", vec![origin.as_str().to_owned()])
                .key("kms:MultiRegion", vec![input.multi_region.to_string()])
                .key(
                    "kms:BypassPolicyLockoutSafetyCheck",
                    vec![bypass.to_string()],
                ),
            &input.tags,
        );
        self.authorize_account_access(ctx, &access, "*").await?;
        if !input.tags.is_empty() {
            // Tagging on creation also needs kms:TagResource, as in AWS.
            self.authorize_account_access(
                ctx,
                &crate::ops::tags::request_tags(Access::new(Operation::TagResource), &input.tags),
                "*",
            )
            .await?;
        }
        check_supported(spec, usage, origin, &input)?;
        let (policy, parsed) = match input.policy {
            Some(p) => {
                let parsed = crate::ops::policy::validate(&p)?;
                (p, Some(parsed))
            }
            None => (
                strongroom_policy::default_key_policy(&ctx.scope.partition, ctx.account().as_str()),
                None,
            ),
        };
        let tags = crate::ops::tags::merge_tags(BTreeMap::new(), &input.tags)?;
        let id = KeyId::from_random(self.random()?);
        let arn = ctx.scope.key_arn(&id);
        let now = self.clock().now();
        let key = Key {
            id,
            arn,
            account: ctx.account().clone(),
            region: ctx.scope.region.clone(),
            created_at: now,
            description: input.description,
            spec,
            usage,
            origin,
            manager: KeyManager::Customer,
            // A key for imported material has none until ImportKeyMaterial.
            state: if origin == Origin::External {
                KeyState::PendingImport
            } else {
                KeyState::Enabled
            },
            current_version: 1,
            tags,
            policy,
            rotation: None,
            on_demand_rotations: 0,
            deletion: None,
            imported: Vec::new(),
            policy_updated_at: now,
        };
        if let Some(parsed) = parsed {
            self.check_principals_exist(ctx, &parsed).await?;
            if !bypass {
                self.check_lockout(ctx, &key, &parsed).await?;
            }
        }
        let mut txn = Transaction::new();
        txn.push(Write::PutKey {
            key: key.clone(),
            expect: Expect::Absent,
        });
        if origin == Origin::AwsKms {
            txn.push(Write::AddKeyVersion(self.new_material(&key, 1, now, None)?));
        }
        self.store_call("CreateKey", move |s| s.commit(txn)).await?;
        ctx.keys.note(&key.arn);
        tracing::info!(key = %key.arn, "key created");
        Ok(key)
    }

    /// Generates 256 bits of fresh key material for `version` of `key`, wrapped under the root
    /// key and bound to the key's ARN and the version number. The plaintext material never
    /// leaves this function.
    pub(crate) fn new_material(
        &self,
        key: &Key,
        version: u32,
        now: strongroom_core::time::Timestamp,
        rotation_type: Option<strongroom_core::key::RotationType>,
    ) -> Result<KeyVersion, KmsError> {
        let material = strongroom_crypto::secret::KeyMaterial::new(self.random()?);
        let wrapped = self
            .inner
            .root
            .wrap(
                self.inner.rng.as_ref(),
                &material_aad(&key.arn, version),
                material.expose(),
            )
            .map_err(|_| KmsError::Internal)?;
        Ok(KeyVersion {
            key_id: key.id,
            version,
            created_at: now,
            wrapped_material: wrapped,
            rotation_type,
        })
    }

    /// DescribeKey.
    pub async fn describe_key(&self, ctx: &RequestContext, r: &KeyRef) -> Result<Key, KmsError> {
        let access = Access::new(Operation::DescribeKey);
        Ok(self.resolve(ctx, r, &access).await?.key.clone())
    }

    /// ListKeys: keys of the caller's account and region, by key id.
    pub async fn list_keys(
        &self,
        ctx: &RequestContext,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<KeyListEntry>, KmsError> {
        self.authorize_account(ctx, Operation::ListKeys.action(), "*")
            .await?;
        let after = marker
            .map(|m| {
                decode_marker(m).and_then(|s| {
                    KeyId::parse(&s).ok_or_else(|| {
                        KmsError::InvalidMarker("The marker is not valid.".to_owned())
                    })
                })
            })
            .transpose()?;
        let (account, region) = (ctx.account().clone(), ctx.scope.region.clone());
        let keys = self
            .store_call("ListKeys", move |s| {
                s.list_keys(&account, &region, after.as_ref(), limit + 1)
            })
            .await?;
        let entries = keys
            .into_iter()
            .map(|k| KeyListEntry {
                id: k.id,
                arn: k.arn,
            })
            .collect();
        Ok(page(entries, limit, |e| e.id.to_string()))
    }

    /// UpdateKeyDescription.
    pub async fn update_key_description(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        description: String,
    ) -> Result<(), KmsError> {
        let access = Access::new(Operation::UpdateKeyDescription);
        self.update_key(ctx, r, &access, |k| {
            k.check_customer_managed()?;
            k.state.check_manageable(&k.arn)?;
            k.description.clone_from(&description);
            Ok(())
        })
        .await
        .map(drop)
    }

    /// EnableKey.
    pub async fn enable_key(&self, ctx: &RequestContext, r: &KeyRef) -> Result<(), KmsError> {
        let access = Access::new(Operation::EnableKey);
        self.update_key(ctx, r, &access, |k| {
            k.check_customer_managed()?;
            k.state = k.state.enable(&k.arn)?;
            Ok(())
        })
        .await
        .map(drop)
    }

    /// DisableKey.
    pub async fn disable_key(&self, ctx: &RequestContext, r: &KeyRef) -> Result<(), KmsError> {
        let access = Access::new(Operation::DisableKey);
        self.update_key(ctx, r, &access, |k| {
            k.check_customer_managed()?;
            k.state = k.state.disable(&k.arn)?;
            Ok(())
        })
        .await
        .map(drop)
    }
}

/// What this release can create: symmetric encryption keys with generated material.
fn check_supported(
    spec: KeySpec,
    usage: KeyUsage,
    origin: Origin,
    input: &CreateKeyInput,
) -> Result<(), KmsError> {
    if spec == KeySpec::SymmetricDefault && usage != KeyUsage::EncryptDecrypt {
        return Err(KmsError::Validation(format!(
            "KeyUsage {} is not compatible with KeySpec SYMMETRIC_DEFAULT",
            usage.as_str()
        )));
    }
    let unsupported = |what: String| Err(KmsError::UnsupportedOperation(what));
    if spec != KeySpec::SymmetricDefault {
        return unsupported(format!("KeySpec {} is not supported yet.", spec.as_str()));
    }
    if !matches!(origin, Origin::AwsKms | Origin::External) {
        return unsupported(format!("Origin {} is not supported yet.", origin.as_str()));
    }
    if input.multi_region {
        return unsupported("Multi-Region keys are not supported yet.".to_owned());
    }
    if input.custom_key_store {
        return unsupported("Custom key stores are not supported yet.".to_owned());
    }
    Ok(())
}

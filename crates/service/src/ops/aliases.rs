//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use super::{Page, decode_marker, page};
use crate::authz::Access;
use crate::resolve::alias_cache_key;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AliasName, KeyId, KeyRef};
use strongroom_core::operation::Operation;
use strongroom_store::{Expect, Transaction, Write};

/// Parses an alias name a customer may create or change: not in `alias/aws/`.
fn customer_alias(name: &str) -> Result<AliasName, KmsError> {
    let name = AliasName::parse(name)?;
    if name.is_reserved() {
        return Err(KmsError::NotAuthorized(format!(
            "Alias names that begin with alias/aws/ are reserved for AWS managed keys: {name}"
        )));
    }
    Ok(name)
}

impl Service {
    /// Resolves an alias target, which must name a key, not another alias, and must be in a
    /// state that allows management.
    /// Resolves the key an alias is to point at, authorizing `op` on it (the key policy's
    /// half of CreateAlias and UpdateAlias).
    async fn alias_target_key(
        &self,
        ctx: &RequestContext,
        target: &KeyRef,
        op: Operation,
    ) -> Result<KeyId, KmsError> {
        if target.is_alias() {
            return Err(KmsError::Validation(
                "TargetKeyId must be a key ID or key ARN; an alias cannot point to another alias."
                    .to_owned(),
            ));
        }
        let key = self.resolve(ctx, target, &Access::new(op)).await?;
        key.key.check_customer_managed()?;
        key.key.state.check_manageable(&key.key.arn)?;
        Ok(key.key.id)
    }

    /// CreateAlias.
    pub async fn create_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        target: &KeyRef,
    ) -> Result<(), KmsError> {
        let name = customer_alias(name)?;
        self.authorize_alias(ctx, Operation::CreateAlias, &name)
            .await?;
        let target = self
            .alias_target_key(ctx, target, Operation::CreateAlias)
            .await?;
        let now = self.clock().now();
        let alias = Alias {
            account: ctx.account().clone(),
            region: ctx.scope.region.clone(),
            name: name.clone(),
            target,
            created_at: now,
            updated_at: now,
        };
        let mut txn = Transaction::new();
        txn.push(Write::PutAlias {
            alias,
            expect: Expect::Absent,
        });
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {
                self.inner
                    .cache
                    .invalidate_alias(&alias_cache_key(&ctx.scope, &name));
                Ok(())
            }
            Err(strongroom_store::StoreError::Conflict) => Err(KmsError::AlreadyExists(format!(
                "An alias with the name {} already exists",
                ctx.scope.alias_arn(&name)
            ))),
            Err(e) => Err(crate::store_call::map_store_error("CreateAlias", e)),
        }
    }

    /// UpdateAlias: points an existing alias at another key.
    pub async fn update_alias(
        &self,
        ctx: &RequestContext,
        name: &str,
        target: &KeyRef,
    ) -> Result<(), KmsError> {
        let name = customer_alias(name)?;
        self.authorize_alias(ctx, Operation::UpdateAlias, &name)
            .await?;
        let current = self.get_alias_record(ctx, &name).await?;
        // The caller needs kms:UpdateAlias on both keys, the current one and the new one.
        self.resolve(
            ctx,
            &KeyRef::Id(current.value.target),
            &Access::new(Operation::UpdateAlias),
        )
        .await?;
        let target = self
            .alias_target_key(ctx, target, Operation::UpdateAlias)
            .await?;
        let mut alias = current.value;
        alias.target = target;
        alias.updated_at = self.clock().now();
        let mut txn = Transaction::new();
        txn.push(Write::PutAlias {
            alias,
            expect: Expect::Revision(current.revision),
        });
        self.store_call("UpdateAlias", move |s| s.commit(txn))
            .await?;
        self.inner
            .cache
            .invalidate_alias(&alias_cache_key(&ctx.scope, &name));
        Ok(())
    }

    /// DeleteAlias.
    pub async fn delete_alias(&self, ctx: &RequestContext, name: &str) -> Result<(), KmsError> {
        let name = customer_alias(name)?;
        self.authorize_alias(ctx, Operation::DeleteAlias, &name)
            .await?;
        let current = self.get_alias_record(ctx, &name).await?;
        self.resolve(
            ctx,
            &KeyRef::Id(current.value.target),
            &Access::new(Operation::DeleteAlias),
        )
        .await?;
        let mut txn = Transaction::new();
        txn.push(Write::DeleteAlias {
            account: ctx.account().clone(),
            region: ctx.scope.region.clone(),
            name: name.clone(),
            revision: current.revision,
        });
        self.store_call("DeleteAlias", move |s| s.commit(txn))
            .await?;
        self.inner
            .cache
            .invalidate_alias(&alias_cache_key(&ctx.scope, &name));
        Ok(())
    }

    /// The identity-policy half of an alias operation: the caller needs the permission on
    /// the alias itself (`arn:…:alias/NAME`).
    async fn authorize_alias(
        &self,
        ctx: &RequestContext,
        op: Operation,
        name: &AliasName,
    ) -> Result<(), KmsError> {
        self.authorize_account(ctx, op.action(), &ctx.scope.alias_arn(name))
            .await
    }

    async fn get_alias_record(
        &self,
        ctx: &RequestContext,
        name: &AliasName,
    ) -> Result<strongroom_store::Versioned<Alias>, KmsError> {
        self.find_alias(ctx, name)
            .await?
            .ok_or_else(|| KmsError::alias_not_found(&ctx.scope.alias_arn(name)))
    }

    /// ListAliases: all aliases of the account and region, or those of one key.
    pub async fn list_aliases(
        &self,
        ctx: &RequestContext,
        key: Option<&KeyRef>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Alias>, KmsError> {
        self.authorize_account(ctx, Operation::ListAliases.action(), "*")
            .await?;
        let target = match key {
            Some(r) if r.is_alias() => {
                return Err(KmsError::InvalidArn(
                    "KeyId must be a key ID or key ARN, not an alias.".to_owned(),
                ));
            }
            // The key's own policy is not consulted: ListAliases is an IAM-only permission.
            Some(r) => {
                let (id, account) = self.locate(ctx, r, false).await?;
                Some(self.load_key(ctx, &id, Some(&account)).await?.key.id)
            }
            None => None,
        };
        let after = marker
            .map(|m| {
                decode_marker(m).and_then(|s| {
                    AliasName::parse(&s)
                        .map_err(|_| KmsError::InvalidMarker("The marker is not valid.".to_owned()))
                })
            })
            .transpose()?;
        let (account, region) = (ctx.account().clone(), ctx.scope.region.clone());
        let aliases = self
            .store_call("ListAliases", move |s| {
                s.list_aliases(
                    &account,
                    &region,
                    target.as_ref(),
                    after.as_ref(),
                    limit + 1,
                )
            })
            .await?;
        Ok(page(aliases, limit, |a| a.name.as_str().to_owned()))
    }
}

//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use super::{Page, decode_marker, page};
use crate::resolve::alias_cache_key;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AliasName, KeyId, KeyRef};
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
    async fn alias_target_key(
        &self,
        ctx: &RequestContext,
        target: &KeyRef,
    ) -> Result<KeyId, KmsError> {
        if target.is_alias() {
            return Err(KmsError::Validation(
                "TargetKeyId must be a key ID or key ARN; an alias cannot point to another alias."
                    .to_owned(),
            ));
        }
        let key = self.resolve(ctx, target).await?;
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
        let target = self.alias_target_key(ctx, target).await?;
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
        let target = self.alias_target_key(ctx, target).await?;
        let current = self.get_alias_record(ctx, &name).await?;
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
        let current = self.get_alias_record(ctx, &name).await?;
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
        let target = match key {
            Some(r) if r.is_alias() => {
                return Err(KmsError::InvalidArn(
                    "KeyId must be a key ID or key ARN, not an alias.".to_owned(),
                ));
            }
            Some(r) => Some(self.resolve(ctx, r).await?.key.id),
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

//! Resolving a key reference (id, key ARN, alias name, alias ARN) to a cached key, within the
//! caller's account and region.

use crate::cache::CachedKey;
use crate::{RequestContext, Service};
use std::collections::BTreeMap;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::ids::{AliasName, KeyId, KeyRef, Scope};
use strongroom_core::key::material_aad;

/// The cache key of an alias.
pub(crate) fn alias_cache_key(scope: &Scope, name: &AliasName) -> String {
    format!("{}/{}/{}", scope.account, scope.region, name)
}

impl Service {
    /// Resolves `r` to a key of the caller's account and region.
    pub(crate) async fn resolve(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<Arc<CachedKey>, KmsError> {
        let id = self.resolve_id(ctx, r).await?;
        self.load_key(ctx, &id).await
    }

    /// Resolves `r` to a key id, following an alias, without loading the key.
    pub(crate) async fn resolve_id(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<KeyId, KmsError> {
        match r {
            KeyRef::Id(id) => Ok(*id),
            KeyRef::KeyArn { scope, id } => {
                if scope != &ctx.scope {
                    return Err(KmsError::key_not_found(&scope.key_arn(id)));
                }
                Ok(*id)
            }
            KeyRef::Alias(name) => self.alias_target(ctx, name).await,
            KeyRef::AliasArn { scope, name } => {
                if scope != &ctx.scope {
                    return Err(KmsError::alias_not_found(&scope.alias_arn(name)));
                }
                self.alias_target(ctx, name).await
            }
        }
    }

    async fn alias_target(
        &self,
        ctx: &RequestContext,
        name: &AliasName,
    ) -> Result<KeyId, KmsError> {
        let cache_key = alias_cache_key(&ctx.scope, name);
        if let Some(id) = self.inner.cache.aliases.get(&cache_key) {
            return Ok(id);
        }
        let seen = self.inner.cache.epoch();
        let found = self.find_alias(ctx, name).await?;
        match found {
            Some(a) => {
                self.inner
                    .cache
                    .insert_alias(seen, cache_key, a.value.target);
                Ok(a.value.target)
            }
            None => match self.ensure_managed_key(ctx, name).await? {
                Some(id) => Ok(id),
                None => Err(KmsError::alias_not_found(&ctx.scope.alias_arn(name))),
            },
        }
    }

    /// Reads alias `name` of the caller's account and region from the store.
    pub(crate) async fn find_alias(
        &self,
        ctx: &RequestContext,
        name: &AliasName,
    ) -> Result<Option<strongroom_store::Versioned<strongroom_core::alias::Alias>>, KmsError> {
        let (account, region, n) = (
            ctx.account().clone(),
            ctx.scope.region.clone(),
            name.clone(),
        );
        self.store_call("GetAlias", move |s| s.get_alias(&account, &region, &n))
            .await
    }

    /// Loads key `id` (cache first) and checks that it lives in the caller's account and region.
    pub(crate) async fn load_key(
        &self,
        ctx: &RequestContext,
        id: &KeyId,
    ) -> Result<Arc<CachedKey>, KmsError> {
        let cached = match self.inner.cache.keys.get(id) {
            Some(k) => k,
            None => self
                .fill_key(id)
                .await?
                .ok_or_else(|| KmsError::key_not_found(&ctx.scope.key_arn(id)))?,
        };
        if cached.key.account != ctx.scope.account || cached.key.region != ctx.scope.region {
            return Err(KmsError::key_not_found(&ctx.scope.key_arn(id)));
        }
        Ok(cached)
    }

    /// Reads a key and its material versions from the store, unwraps the material, and caches
    /// the result.
    async fn fill_key(&self, id: &KeyId) -> Result<Option<Arc<CachedKey>>, KmsError> {
        let seen = self.inner.cache.epoch();
        let id = *id;
        let loaded = self
            .store_call("GetKey", move |s| {
                let Some(key) = s.get_key(&id)? else {
                    return Ok(None);
                };
                let versions = s.list_key_versions(&id)?;
                Ok(Some((key, versions)))
            })
            .await?;
        let Some((key, versions)) = loaded else {
            return Ok(None);
        };
        let mut materials = BTreeMap::new();
        for v in versions {
            let aad = material_aad(&key.value.arn, v.version);
            let m = self
                .inner
                .root
                .unwrap_key(&aad, &v.wrapped_material)
                .map_err(|_| {
                    tracing::error!(key = %key.value.arn, version = v.version,
                    "stored key material does not unwrap under the root key");
                    KmsError::Internal
                })?;
            materials.insert(v.version, m);
        }
        let cached = Arc::new(CachedKey {
            revision: key.revision,
            key: key.value,
            materials,
        });
        self.inner.cache.insert_key(seen, Arc::clone(&cached));
        Ok(Some(cached))
    }
}

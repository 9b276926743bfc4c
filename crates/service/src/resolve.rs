//! Resolving a key reference (id, key ARN, alias name, alias ARN) to a cached key, within the
//! caller's account and region.

use crate::authz::Access;
use crate::cache::CachedKey;
use crate::{RequestContext, Service};
use std::collections::BTreeMap;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::ids::{AccountId, AliasName, KeyId, KeyRef, Scope};
use strongroom_core::key::material_aad;

/// The cache key of an alias.
pub(crate) fn alias_cache_key(scope: &Scope, name: &AliasName) -> String {
    format!("{}/{}/{}", scope.account, scope.region, name)
}

/// The alias a reference names (`kms:RequestAlias`), if it names one.
fn request_alias(r: &KeyRef) -> Option<String> {
    match r {
        KeyRef::Alias(name) | KeyRef::AliasArn { name, .. } => Some(name.to_string()),
        KeyRef::Id(_) | KeyRef::KeyArn { .. } => None,
    }
}

impl Service {
    /// Resolves `r` to a key and authorizes `access` to it: a key of the caller's account and
    /// region, or, for operations that allow it, a key or alias ARN of another account in the
    /// region.
    pub(crate) async fn resolve(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        access: &Access<'_>,
    ) -> Result<Arc<CachedKey>, KmsError> {
        let (id, account) = self.locate(ctx, r, access.cross_account).await?;
        let key = self.load_key(ctx, &id, Some(&account)).await?;
        // Recorded before authorization: a denied request is audited with its key too.
        ctx.keys.note(&key.key.arn);
        self.authorize_key(ctx, &key, access, request_alias(r).as_deref())
            .await?;
        Ok(key)
    }

    /// Resolves `r` to a key id and the account the reference says it is in, following an
    /// alias, without loading the key. Only an ARN can name another account, and only with
    /// `cross_account`; a bare id or alias name means the caller's account.
    pub(crate) async fn locate(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        cross_account: bool,
    ) -> Result<(KeyId, AccountId), KmsError> {
        let reachable = |scope: &Scope| {
            scope == &ctx.scope
                || (cross_account
                    && scope.partition == ctx.scope.partition
                    && scope.region == ctx.scope.region)
        };
        match r {
            KeyRef::Id(id) => Ok((*id, ctx.account().clone())),
            KeyRef::KeyArn { scope, id } => {
                if !reachable(scope) {
                    return Err(KmsError::key_not_found(&scope.key_arn(id)));
                }
                Ok((*id, scope.account.clone()))
            }
            KeyRef::Alias(name) => Ok((
                self.alias_target(ctx, &ctx.scope, name).await?,
                ctx.account().clone(),
            )),
            KeyRef::AliasArn { scope, name } => {
                if !reachable(scope) {
                    return Err(KmsError::alias_not_found(&scope.alias_arn(name)));
                }
                Ok((
                    self.alias_target(ctx, scope, name).await?,
                    scope.account.clone(),
                ))
            }
        }
    }

    /// The key alias `name` of `scope` points at. Only the caller's own `alias/aws/…` names
    /// create their AWS managed key on first use.
    async fn alias_target(
        &self,
        ctx: &RequestContext,
        scope: &Scope,
        name: &AliasName,
    ) -> Result<KeyId, KmsError> {
        let cache_key = alias_cache_key(scope, name);
        if let Some(id) = self.inner.cache.aliases.get(&cache_key) {
            return Ok(id);
        }
        let seen = self.inner.cache.epoch();
        let (account, region, n) = (scope.account.clone(), scope.region.clone(), name.clone());
        let found = self
            .store_call("GetAlias", move |s| s.get_alias(&account, &region, &n))
            .await?;
        match found {
            Some(a) => {
                self.inner
                    .cache
                    .insert_alias(seen, cache_key, a.value.target);
                Ok(a.value.target)
            }
            None if scope == &ctx.scope => match self.ensure_managed_key(ctx, name).await? {
                Some(id) => Ok(id),
                None => Err(KmsError::alias_not_found(&scope.alias_arn(name))),
            },
            None => Err(KmsError::alias_not_found(&scope.alias_arn(name))),
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

    /// Loads key `id` (cache first) and checks that it lives in the caller's region and in
    /// `account`; `None` accepts any account (a ciphertext blob or a grant token names its key
    /// by id alone, and the key's policy then decides).
    pub(crate) async fn load_key(
        &self,
        ctx: &RequestContext,
        id: &KeyId,
        account: Option<&AccountId>,
    ) -> Result<Arc<CachedKey>, KmsError> {
        let cached = match self.inner.cache.keys.get(id) {
            Some(k) => k,
            None => self
                .fill_key(id)
                .await?
                .ok_or_else(|| KmsError::key_not_found(&ctx.scope.key_arn(id)))?,
        };
        if account.is_some_and(|a| a != &cached.key.account)
            || cached.key.region != ctx.scope.region
        {
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
                let grants =
                    s.list_grants(&id, None, strongroom_core::grant::MAX_GRANTS_PER_KEY)?;
                Ok(Some((key, versions, grants)))
            })
            .await?;
        let Some((key, versions, grants)) = loaded else {
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
        let policy = match strongroom_policy::parse_key_policy(&key.value.policy) {
            Ok(mut p) => {
                p.set_saved_at(key.value.policy_updated_at.0);
                Some(Arc::new(p))
            }
            Err(e) => {
                // Stored policies were valid when written; this one cannot be enforced, so
                // nothing but a grant allows anything with the key.
                tracing::error!(key = %key.value.arn, error = %e, "stored key policy does not parse");
                None
            }
        };
        let cached = Arc::new(CachedKey {
            revision: key.revision,
            key: key.value,
            materials,
            policy,
            grants,
        });
        self.inner.cache.insert_key(seen, Arc::clone(&cached));
        Ok(Some(cached))
    }
}

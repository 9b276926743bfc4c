//! Authorization: every operation asks here whether its caller may perform its action, before
//! it looks at the key's state or does any work.
//!
//! What decides (AWS KMS's model; see docs/access-control.md):
//! - a key's **key policy** is authoritative for the key. An allow that names the caller (or
//!   `*`) suffices; an allow that names the caller's *account* delegates to the account's
//!   **identity policies** (a user's or role's inline policies), which must then allow too. The
//!   account root needs no identity policy in its own account.
//! - **cross-account** use (a key ARN of another account) needs the key policy to allow the
//!   caller or its account *and* the caller's identity policies (or the caller is its account
//!   root).
//! - an explicit **Deny** in the key policy or an identity policy always wins.
//! - **grants** on the key allow their operations to their grantee (with encryption-context
//!   constraints) when the policies alone did not allow, unless a policy explicitly denies.
//! - actions that act on no key (CreateKey, ListKeys, IAM, …) are decided by identity policies
//!   alone, in the caller's own account.
//!
//! Cost on the hot path: the key policy is parsed once per cached key, identity policies once
//! per cached principal, and only the condition keys some statement reads are computed.

use crate::cache::{CachedKey, CachedPrincipal};
use crate::{CallerKind, RequestContext, Service};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::grant::{Grant, GrantOperation};
use strongroom_core::ids::AccountId;
use strongroom_core::key::{EncryptionAlgorithm, Key};
use strongroom_core::operation::Operation;
use strongroom_policy::Policy;

/// The cache key of a principal's identity data: `ACCOUNT/user/NAME` or `ACCOUNT/role/NAME`,
/// the name lower-cased (IAM names are case-insensitive).
pub(crate) fn principal_cache_key(account: &AccountId, kind: &str, name: &str) -> String {
    format!("{account}/{kind}/{}", name.to_lowercase())
}

/// The most aliases `kms:ResourceAliases` lists (AWS documents it for keys with at most 50
/// aliases; beyond that, AWS evaluates conditions on it as if it had none of the rest).
const MAX_ALIASES_PER_KEY: usize = 50;

/// Operations AWS KMS lets a principal of another account call with a key ARN (the "Cross-
/// account use: Yes" operations of the KMS API reference).
const CROSS_ACCOUNT: &[Operation] = &[
    Operation::CreateGrant,
    Operation::Decrypt,
    Operation::DeriveSharedSecret,
    Operation::DescribeKey,
    Operation::Encrypt,
    Operation::GenerateDataKey,
    Operation::GenerateDataKeyPair,
    Operation::GenerateDataKeyPairWithoutPlaintext,
    Operation::GenerateDataKeyWithoutPlaintext,
    Operation::GenerateMac,
    Operation::GetKeyRotationStatus,
    Operation::GetPublicKey,
    Operation::ListGrants,
    Operation::ReEncrypt,
    Operation::RetireGrant,
    Operation::RevokeGrant,
    Operation::Sign,
    Operation::Verify,
    Operation::VerifyMac,
];

/// What a request asks to do with a key: the action, and the request's values that conditions
/// and grants look at.
#[derive(Debug, Clone)]
pub(crate) struct Access<'a> {
    /// `kms:Encrypt`, `kms:ReEncryptFrom`, …
    pub(crate) action: &'static str,
    /// The grant operation that also allows it, if any.
    pub(crate) grant: Option<GrantOperation>,
    /// Whether a key of another account may be named (by key ARN).
    pub(crate) cross_account: bool,
    /// The request's encryption context (cryptographic operations).
    pub(crate) context: Option<&'a EncryptionContext>,
    /// The encryption algorithm the request names or implies (`kms:EncryptionAlgorithm`).
    pub(crate) algorithm: Option<&'static str>,
    /// Further condition keys of the request (`aws:TagKeys`, `kms:GrantOperations`…).
    pub(crate) keys: Vec<(&'static str, Vec<String>)>,
    /// The tags the request sets (`aws:RequestTag/KEY`).
    pub(crate) request_tags: Vec<(String, String)>,
    /// Which grants may allow the access when the policies do not.
    pub(crate) grant_rule: GrantRule<'a>,
}

/// How a key's grants can allow an access the policies did not (never against an explicit
/// deny).
#[derive(Debug, Clone, Copy)]
pub(crate) enum GrantRule<'a> {
    /// A grant of the caller listing the access's grant operation, within its constraints.
    Operation,
    /// No grant (RetireGrant and RevokeGrant have rules of their own).
    Never,
    /// CreateGrant: a grant of the caller listing CreateGrant and every one of `operations`,
    /// whose constraints `constraints` are at least as strict as.
    Subgrant {
        operations: &'a [GrantOperation],
        constraints: Option<&'a strongroom_core::grant::GrantConstraints>,
    },
}

impl<'a> Access<'a> {
    /// Access for operation `op`, with its own action name.
    pub(crate) fn new(op: Operation) -> Self {
        Self::action(op, op.action(), GrantOperation::parse(op.name()))
    }

    /// Access for an action that acts on no key (or not only on a key): IAM actions,
    /// `kms:CreateKey`, `kms:ListKeys`, the alias half of alias operations.
    pub(crate) fn named(action: &'static str) -> Self {
        Self {
            action,
            grant: None,
            cross_account: false,
            context: None,
            algorithm: None,
            keys: Vec::new(),
            request_tags: Vec::new(),
            grant_rule: GrantRule::Operation,
        }
    }

    /// Access for `op` under another action name (ReEncrypt's `kms:ReEncryptFrom`/`To`).
    pub(crate) fn action(
        op: Operation,
        action: &'static str,
        grant: Option<GrantOperation>,
    ) -> Self {
        Self {
            grant,
            cross_account: CROSS_ACCOUNT.contains(&op),
            ..Self::named(action)
        }
    }

    /// Adds the request's encryption context.
    pub(crate) fn context(mut self, context: &'a EncryptionContext) -> Self {
        self.context = Some(context);
        self
    }

    /// Adds the encryption algorithm; a symmetric key's default when the request names none.
    pub(crate) fn algorithm(mut self, algorithm: Option<EncryptionAlgorithm>) -> Self {
        self.algorithm = Some(
            algorithm
                .unwrap_or(EncryptionAlgorithm::SymmetricDefault)
                .as_str(),
        );
        self
    }

    /// Adds a condition key of the request.
    pub(crate) fn key(mut self, name: &'static str, values: Vec<String>) -> Self {
        self.keys.push((name, values));
        self
    }
}

/// What the policies are asked: the resource's policy (if the action has one), the caller's
/// identity policies, and the resource's account.
pub(crate) struct Question<'a> {
    pub(crate) resource_policy: Option<&'a Policy>,
    pub(crate) resource_account: &'a AccountId,
    pub(crate) principal: Option<&'a CachedPrincipal>,
}

impl Question<'_> {
    /// Whether any of the policies reads condition key `key` (a `…*` query: any of a family).
    fn needs(&self, key: &str) -> bool {
        self.resource_policy
            .is_some_and(|p| p.condition_keys().needs(key))
            || self.principal.is_some_and(|p| {
                p.policies
                    .iter()
                    .any(|(_, policy)| policy.condition_keys().needs(key))
            })
    }

    /// The decision with its explanation, as AWS combines key (or trust) policy and identity
    /// policies, handed to `f` (the explanation borrows from the policies).
    pub(crate) fn explain<R>(
        &self,
        request: &strongroom_policy::RequestContext,
        f: impl FnOnce(&strongroom_policy::Authorization<'_>) -> R,
    ) -> R {
        let identity: Vec<(&str, &Policy)> = self
            .principal
            .map(|p| p.policies.iter().map(|(n, p)| (n.as_str(), p)).collect())
            .unwrap_or_default();
        let input = strongroom_policy::AuthorizationInput {
            context: request,
            resource_policy: self.resource_policy,
            identity_policies: &identity,
            resource_account: Some(self.resource_account.as_str()),
        };
        f(&strongroom_policy::authorize(&input))
    }

    /// The decision alone.
    fn decide(&self, request: &strongroom_policy::RequestContext) -> Result<(), Denied> {
        self.explain(request, |a| match a {
            strongroom_policy::Authorization::Allowed { .. } => Ok(()),
            strongroom_policy::Authorization::Denied { reason } => Err(Denied {
                explicit: reason.is_explicit(),
                phrase: reason.phrase(request.action()).to_string(),
            }),
        })
    }
}

/// A denial: whether a Deny statement decided (no grant can override that), and the end of
/// the message.
struct Denied {
    explicit: bool,
    phrase: String,
}

/// `AccessDeniedException` as AWS words it: caller, action, resource, and which kind of policy
/// failed to allow or denied; never a policy's contents.
fn deny(ctx: &RequestContext, action: &str, resource: &str, d: &Denied) -> KmsError {
    KmsError::access_denied(&ctx.caller.principal_arn, action, resource, &d.phrase)
}

impl Service {
    /// Authorizes `access` on the cached key `key`. `alias` is the alias the request named the
    /// key by (`kms:RequestAlias`). Policies first; failing that (but not on an explicit
    /// deny), the key's grants.
    pub(crate) async fn authorize_key(
        &self,
        ctx: &RequestContext,
        key: &CachedKey,
        access: &Access<'_>,
        alias: Option<&str>,
    ) -> Result<(), KmsError> {
        let principal = self.caller_principal(ctx).await?;
        let Some(policy) = key.policy.as_deref() else {
            // A stored policy that no longer parses denies everything but the grants.
            let d = Denied {
                explicit: false,
                phrase: format!(
                    "because no resource-based policy allows the {} action",
                    access.action
                ),
            };
            return self.by_grant(ctx, key, access, d);
        };
        let q = Question {
            resource_policy: Some(policy),
            resource_account: &key.key.account,
            principal: principal.as_deref(),
        };
        let mut request =
            self.request_context(ctx, &q, Some(&key.key), &key.key.arn, access, alias);
        self.add_resource_aliases(&q, &key.key, &mut request)
            .await?;
        match q.decide(&request) {
            Ok(()) => Ok(()),
            Err(d) if d.explicit => Err(deny(ctx, access.action, &key.key.arn, &d)),
            Err(d) => self.by_grant(ctx, key, access, d),
        }
    }

    /// Sets `kms:ResourceAliases` when a policy reads it: the one condition key that needs a
    /// store read, so only policies that use it pay for it.
    pub(crate) async fn add_resource_aliases(
        &self,
        q: &Question<'_>,
        key: &Key,
        request: &mut strongroom_policy::RequestContext,
    ) -> Result<(), KmsError> {
        if !q.needs("kms:ResourceAliases") {
            return Ok(());
        }
        let (account, region, id) = (key.account.clone(), key.region.clone(), key.id);
        let aliases = self
            .store_call("ListAliases", move |s| {
                s.list_aliases(&account, &region, Some(&id), None, MAX_ALIASES_PER_KEY)
            })
            .await?;
        request.insert(
            "kms:ResourceAliases",
            aliases.iter().map(|a| a.name.as_str()),
        );
        Ok(())
    }

    fn by_grant(
        &self,
        ctx: &RequestContext,
        key: &CachedKey,
        access: &Access<'_>,
        d: Denied,
    ) -> Result<(), KmsError> {
        let empty = EncryptionContext::default();
        let context = access.context.unwrap_or(&empty).pairs();
        let mine = key.grants.iter().filter(|g| grantee_matches(g, ctx));
        let allowed = match access.grant_rule {
            GrantRule::Never => false,
            GrantRule::Operation => access
                .grant
                .is_some_and(|op| mine.into_iter().any(|g| g.allows(op, context))),
            GrantRule::Subgrant {
                operations,
                constraints,
            } => mine.into_iter().any(|g| {
                g.operations.contains(&GrantOperation::CreateGrant)
                    && operations.iter().all(|o| g.operations.contains(o))
                    && strongroom_core::grant::GrantConstraints::narrows(
                        constraints,
                        g.constraints.as_ref(),
                    )
            }),
        };
        if allowed {
            return Ok(());
        }
        Err(deny(ctx, access.action, &key.key.arn, &d))
    }

    /// Authorizes `action` (`iam:CreateUser`, `kms:ListKeys`, …) on `resource` (an ARN, or
    /// `*`) in the caller's own account, where only identity policies decide: the account
    /// root may do anything, a user or role session what its policies allow.
    pub(crate) async fn authorize_account(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        resource: &str,
    ) -> Result<(), KmsError> {
        self.authorize_account_access(ctx, &Access::named(action), resource)
            .await
    }

    /// [`Self::authorize_account`] with the request's condition keys (`kms:KeySpec` of a
    /// CreateKey, `aws:RequestTag/…`).
    pub(crate) async fn authorize_account_access(
        &self,
        ctx: &RequestContext,
        access: &Access<'_>,
        resource: &str,
    ) -> Result<(), KmsError> {
        if ctx.caller.is_root() {
            return Ok(());
        }
        let principal = self.caller_principal(ctx).await?;
        let q = Question {
            resource_policy: None,
            resource_account: ctx.account(),
            principal: principal.as_deref(),
        };
        let request = self.request_context(ctx, &q, None, resource, access, None);
        q.decide(&request)
            .map_err(|d| deny(ctx, access.action, resource, &d))
    }

    /// Authorizes `access` on `resource` (of `resource_account`) whose resource-based policy
    /// is `policy` (a role's trust policy, say), combined with the caller's identity policies
    /// as AWS combines them (same-account and cross-account rules).
    pub(crate) async fn authorize_with_policy(
        &self,
        ctx: &RequestContext,
        access: &Access<'_>,
        resource: &str,
        resource_account: &AccountId,
        policy: &Policy,
    ) -> Result<(), KmsError> {
        let principal = self.caller_principal(ctx).await?;
        let q = Question {
            resource_policy: Some(policy),
            resource_account,
            principal: principal.as_deref(),
        };
        let request = self.request_context(ctx, &q, None, resource, access, None);
        q.decide(&request)
            .map_err(|d| deny(ctx, access.action, resource, &d))
    }

    /// Whether `policy`, were it the key policy of `key`, would let the caller change the key
    /// policy again (the policy lockout safety check of CreateKey and PutKeyPolicy).
    pub(crate) async fn policy_keeps_access(
        &self,
        ctx: &RequestContext,
        key: &Key,
        policy: &Policy,
    ) -> Result<bool, KmsError> {
        let principal = self.caller_principal(ctx).await?;
        // Were it saved now, the policy would name the identities that exist now.
        let mut policy = policy.clone();
        policy.set_saved_at(self.clock().now().0);
        let q = Question {
            resource_policy: Some(&policy),
            resource_account: &key.account,
            principal: principal.as_deref(),
        };
        let access = Access::new(Operation::PutKeyPolicy);
        let request = self.request_context(ctx, &q, Some(key), &key.arn, &access, None);
        Ok(q.decide(&request).is_ok())
    }

    /// The request as the policy evaluator sees it, with the condition keys `q`'s policies
    /// read (and no others: the default key policy reads none, so Encrypt builds none).
    pub(crate) fn request_context(
        &self,
        ctx: &RequestContext,
        q: &Question<'_>,
        key: Option<&Key>,
        resource: &str,
        access: &Access<'_>,
        alias: Option<&str>,
    ) -> strongroom_policy::RequestContext {
        let mut r = strongroom_policy::RequestContext::for_caller(
            Arc::clone(&ctx.caller.policy),
            access.action,
            resource.to_owned(),
        );
        if q.needs("*") {
            fill_keys(&mut r, q, ctx, key, access, alias, self.clock().now());
        }
        r
    }

    /// The unique id of the calling IAM user (`AIDA…`), for the audit trail; `None` for other
    /// callers (whose ids are in their credentials) or when it cannot be read.
    pub async fn principal_id(&self, ctx: &RequestContext) -> Option<String> {
        if !matches!(ctx.caller.kind, CallerKind::User { .. }) {
            return None;
        }
        match self.caller_principal(ctx).await {
            Ok(Some(p)) if !p.id.is_empty() => Some(p.id.clone()),
            _ => None,
        }
    }

    /// The caller's identity policies and tags (cached; `None` for the account root).
    pub(crate) async fn caller_principal(
        &self,
        ctx: &RequestContext,
    ) -> Result<Option<Arc<CachedPrincipal>>, KmsError> {
        let (kind, name) = match &ctx.caller.kind {
            CallerKind::Root => return Ok(None),
            CallerKind::User { name } => ("user", name.as_str()),
            CallerKind::Session { role_name, .. } => ("role", role_name.as_str()),
        };
        let principal = self.load_principal(ctx, kind, name).await?;
        // A session of a role that was deleted and created again under the same name keeps
        // nothing: the new role's policies are not its.
        if let CallerKind::Session { role_id, .. } = &ctx.caller.kind
            && principal.id != *role_id
        {
            return Ok(Some(Arc::new(CachedPrincipal {
                id: String::new(),
                tags: std::collections::BTreeMap::new(),
                policies: Vec::new(),
            })));
        }
        Ok(Some(principal))
    }

    /// A user's or role's identity data, from the cache or the store.
    async fn load_principal(
        &self,
        ctx: &RequestContext,
        kind: &'static str,
        name: &str,
    ) -> Result<Arc<CachedPrincipal>, KmsError> {
        let cache_key = principal_cache_key(ctx.account(), kind, name);
        if let Some(p) = self.inner.cache.principals.get(&cache_key) {
            return Ok(p);
        }
        let seen = self.inner.cache.epoch();
        let (account, owned) = (ctx.account().clone(), name.to_owned());
        let loaded = if kind == "user" {
            self.store_call("GetUser", move |s| s.get_user(&account, &owned))
                .await?
                .map(|u| (u.value.id, u.value.tags, u.value.policies))
        } else {
            self.store_call("GetRole", move |s| s.get_role(&account, &owned))
                .await?
                .map(|r| (r.value.id, r.value.tags, r.value.policies))
        };
        // A principal deleted after its credentials were issued has no permissions.
        let (id, tags, texts) = loaded.unwrap_or_default();
        let mut policies = Vec::with_capacity(texts.len());
        for (name, text) in texts {
            // Sizes were checked when the policy was put; they are not this check's concern.
            match strongroom_policy::parse_identity_policy(&text, usize::MAX) {
                Ok(p) => policies.push((name, p)),
                Err(e) => {
                    tracing::error!(policy = %name, error = %e, "stored identity policy does not parse; ignored");
                }
            }
        }
        let principal = Arc::new(CachedPrincipal { id, tags, policies });
        self.inner
            .cache
            .insert_principal(seen, cache_key, Arc::clone(&principal));
        Ok(principal)
    }
}

/// Whether grant `g` names the caller: its ARN exactly, the role of its session, or (for the
/// account root) its account.
pub(crate) fn grantee_matches(g: &Grant, ctx: &RequestContext) -> bool {
    let grantee = g.grantee_principal.as_str();
    if grantee == ctx.caller.principal_arn {
        return true;
    }
    match &ctx.caller.kind {
        CallerKind::Session { role_name, .. } => {
            // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME names every session of the role.
            let prefix = format!("arn:{}:iam::{}:role/", ctx.scope.partition, ctx.account());
            grantee
                .strip_prefix(&prefix)
                .is_some_and(|rest| rest.rsplit('/').next() == Some(role_name.as_str()))
        }
        CallerKind::Root => grantee == ctx.account().as_str(),
        CallerKind::User { .. } => false,
    }
}

/// Sets the condition keys of a request that the policies read. The caller's own keys
/// (`aws:PrincipalArn`, `kms:CallerAccount`, …) are already in its shared `Caller`.
fn fill_keys(
    r: &mut strongroom_policy::RequestContext,
    q: &Question<'_>,
    ctx: &RequestContext,
    key: Option<&Key>,
    access: &Access<'_>,
    alias: Option<&str>,
    now: strongroom_core::time::Timestamp,
) {
    let set = |r: &mut strongroom_policy::RequestContext, name: &str, value: &str| {
        if q.needs(name) {
            r.insert(name, [value]);
        }
    };
    if let Some(ip) = ctx.source_ip
        && q.needs("aws:SourceIp")
    {
        r.insert("aws:SourceIp", [ip.to_string()]);
    }
    set(r, "aws:SecureTransport", "false");
    set(r, "aws:RequestedRegion", ctx.scope.region.as_str());
    set(r, "aws:PrincipalIsAWSService", "false");
    if q.needs("aws:EpochTime") || q.needs("aws:CurrentTime") {
        // The Date operators read epoch seconds as well as ISO 8601, so one form serves both.
        let secs = now.unix_seconds().to_string();
        set(r, "aws:EpochTime", &secs);
        set(r, "aws:CurrentTime", &secs);
    }
    if let Some(p) = q.principal {
        if matches!(ctx.caller.kind, CallerKind::User { .. }) {
            set(r, "aws:userid", &p.id);
        }
        if q.needs("aws:PrincipalTag/*") {
            for (k, v) in &p.tags {
                set(r, &format!("aws:PrincipalTag/{k}"), v);
            }
        }
    }
    if let Some(k) = key {
        set(r, "kms:KeySpec", k.spec.as_str());
        set(r, "kms:CustomerMasterKeySpec", k.spec.as_str());
        set(r, "kms:KeyUsage", k.usage.as_str());
        set(r, "kms:CustomerMasterKeyUsage", k.usage.as_str());
        set(r, "kms:KeyOrigin", k.origin.as_str());
        if q.needs("aws:ResourceTag/*") {
            for (t, v) in &k.tags {
                set(r, &format!("aws:ResourceTag/{t}"), v);
            }
        }
    }
    if let Some(a) = access.algorithm {
        set(r, "kms:EncryptionAlgorithm", a);
    }
    if let Some(a) = alias {
        set(r, "kms:RequestAlias", a);
    }
    if q.needs("aws:RequestTag/*") {
        for (k, v) in &access.request_tags {
            set(r, &format!("aws:RequestTag/{k}"), v);
        }
    }
    if let Some(c) = access.context {
        let pairs = c.pairs();
        if q.needs("kms:EncryptionContext:*") {
            for (k, v) in pairs {
                set(r, &format!("kms:EncryptionContext:{k}"), v);
            }
        }
        if q.needs("kms:EncryptionContextKeys") {
            r.insert(
                "kms:EncryptionContextKeys",
                pairs.keys().map(String::as_str),
            );
        }
    }
    for (name, values) in &access.keys {
        if q.needs(name) {
            r.insert(name, values.iter().map(String::as_str));
        }
    }
}

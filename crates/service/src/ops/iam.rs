//! IAM: users, roles, access keys, inline identity policies and tags — the subset of the IAM
//! API that Strongroom serves. Every operation acts in the caller's account and is authorized
//! first (`iam:<Action>` on the user's or role's ARN, identity policies only).
//!
//! Users and roles are aggregates of the store (tags and inline policies are part of the
//! record); every change is a read-modify-write under the revision read, retried when a
//! concurrent write wins. An access key is its own aggregate; creating one also rewrites its
//! user under the revision read, so that the per-user quota and DeleteUser's "no access keys
//! left" check cannot race with it.
//!
//! Secret access keys leave the service once, in [`CreatedAccessKey`], and are stored only
//! wrapped under the root key.

use super::{MAX_ATTEMPTS, Page, decode_marker, page};
use crate::authz::{Access, principal_cache_key};
use crate::store_call::map_store_error;
use crate::{CallerKind, RequestContext, Service};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::identity::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, Role, User, iam_arn, valid_path,
    valid_principal_name,
};
use strongroom_core::ids::AccountId;
use strongroom_core::time::Timestamp;
use strongroom_crypto::secret::SecretBytes;
use strongroom_policy::policy_size_chars;
use strongroom_store::{Expect, Store, StoreError, Transaction, Versioned, Write};

/// Access keys one user (or the account root) may have (AWS's fixed quota).
pub const MAX_ACCESS_KEYS: usize = 2;
/// Tags one user or role may have.
pub const MAX_TAGS: usize = 50;
/// The aggregate size of a user's inline policies, in characters, whitespace not counted.
pub const USER_POLICY_QUOTA: usize = strongroom_policy::USER_POLICY_MAX_CHARS;
/// The aggregate size of a role's inline policies, in characters, whitespace not counted.
pub const ROLE_POLICY_QUOTA: usize = strongroom_policy::ROLE_POLICY_MAX_CHARS;
/// The size of a role's trust policy, in characters, whitespace not counted (AWS's default
/// "role trust policy length" quota).
pub const TRUST_POLICY_QUOTA: usize = strongroom_policy::TRUST_POLICY_MAX_CHARS;
/// A role's MaxSessionDuration when CreateRole names none, and its bounds.
pub const DEFAULT_MAX_SESSION_DURATION: u32 = 3_600;
/// The bounds of a role's MaxSessionDuration, in seconds.
pub const MAX_SESSION_DURATION_RANGE: std::ops::RangeInclusive<u32> = 3_600..=43_200;

/// A tag of a user or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The key (unique per user or role, case-insensitively).
    pub key: String,
    /// The value (may be empty).
    pub value: String,
}

/// CreateUser's input.
#[derive(Debug, Clone, Default)]
pub struct CreateUserInput {
    /// The name: 1–64 characters of `[\w+=,.@-]`, unique in the account case-insensitively.
    pub name: String,
    /// The path (`/` when absent).
    pub path: Option<String>,
    /// Tags to attach.
    pub tags: Vec<Tag>,
}

/// CreateRole's input.
#[derive(Debug, Clone, Default)]
pub struct CreateRoleInput {
    /// The name: 1–64 characters of `[\w+=,.@-]`, unique in the account case-insensitively.
    pub name: String,
    /// The path (`/` when absent).
    pub path: Option<String>,
    /// The trust policy (AssumeRolePolicyDocument).
    pub trust_policy: String,
    /// The description.
    pub description: Option<String>,
    /// The longest session AssumeRole may grant (3600–43200 s; 3600 when absent).
    pub max_session_duration: Option<u32>,
    /// Tags to attach.
    pub tags: Vec<Tag>,
}

/// What GetUser describes: an IAM user, or (called by the account root without a user name)
/// the root user itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserView {
    /// An IAM user.
    User(User),
    /// The account's root user.
    Root {
        /// The account id (the root's user id).
        account: AccountId,
        /// `arn:PARTITION:iam::ACCOUNT:root`.
        arn: String,
        /// When the account was created.
        created_at: Timestamp,
    },
}

/// A new access key, with the only copy of its secret that ever leaves the service.
#[derive(Debug)]
pub struct CreatedAccessKey {
    /// The owning user's name; `None` for a key of the account root.
    pub user_name: Option<String>,
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretBytes,
    /// Always `Active` for a new key.
    pub status: AccessKeyStatus,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An access key as ListAccessKeys describes it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    /// The owning user's name; `None` for a key of the account root.
    pub user_name: Option<String>,
    /// The access key id.
    pub access_key_id: String,
    /// Active or inactive.
    pub status: AccessKeyStatus,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An inline policy as GetUserPolicy and GetRolePolicy return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// The user's or role's name, as stored.
    pub entity_name: String,
    /// The policy's name.
    pub policy_name: String,
    /// The document, as it was put.
    pub document: String,
}

// -- users and roles, generically ----------------------------------------------------------

/// What the operations shared by users and roles need of either.
trait Entity: Clone + PartialEq + Send + Sync + 'static {
    /// `user` or `role`: the ARN's resource type and the principal cache's kind.
    const KIND: &'static str;
    /// `User` or `Role`, for messages.
    const TITLE: &'static str;
    /// The aggregate size quota of the inline policies.
    const POLICY_QUOTA: usize;
    /// The name of the tag quota in LimitExceeded messages.
    const TAG_QUOTA_NAME: &'static str;

    fn account(&self) -> &AccountId;
    fn name(&self) -> &str;
    fn arn(&self) -> &str;
    fn tags(&self) -> &BTreeMap<String, String>;
    fn tags_mut(&mut self) -> &mut BTreeMap<String, String>;
    fn policies(&self) -> &BTreeMap<String, String>;
    fn policies_mut(&mut self) -> &mut BTreeMap<String, String>;
    fn load(
        store: &dyn Store,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Self>>, StoreError>;
    fn put(self, expect: Expect) -> Write;
    fn delete(&self, revision: u64) -> Write;
}

impl Entity for User {
    const KIND: &'static str = "user";
    const TITLE: &'static str = "User";
    const POLICY_QUOTA: usize = USER_POLICY_QUOTA;
    const TAG_QUOTA_NAME: &'static str = "TagsPerUser";

    fn account(&self) -> &AccountId {
        &self.account
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.tags
    }
    fn policies(&self) -> &BTreeMap<String, String> {
        &self.policies
    }
    fn policies_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.policies
    }
    fn load(
        store: &dyn Store,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Self>>, StoreError> {
        store.get_user(account, name)
    }
    fn put(self, expect: Expect) -> Write {
        Write::PutUser { user: self, expect }
    }
    fn delete(&self, revision: u64) -> Write {
        Write::DeleteUser {
            account: self.account.clone(),
            name: self.name.clone(),
            revision,
        }
    }
}

impl Entity for Role {
    const KIND: &'static str = "role";
    const TITLE: &'static str = "Role";
    const POLICY_QUOTA: usize = ROLE_POLICY_QUOTA;
    const TAG_QUOTA_NAME: &'static str = "TagsPerRole";

    fn account(&self) -> &AccountId {
        &self.account
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.tags
    }
    fn policies(&self) -> &BTreeMap<String, String> {
        &self.policies
    }
    fn policies_mut(&mut self) -> &mut BTreeMap<String, String> {
        &mut self.policies
    }
    fn load(
        store: &dyn Store,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Self>>, StoreError> {
        store.get_role(account, name)
    }
    fn put(self, expect: Expect) -> Write {
        Write::PutRole { role: self, expect }
    }
    fn delete(&self, revision: u64) -> Write {
        Write::DeleteRole {
            account: self.account.clone(),
            name: self.name.clone(),
            revision,
        }
    }
}

fn entity_not_found<E: Entity>(name: &str) -> KmsError {
    KmsError::NotFound(format!("The {} with name {name} cannot be found.", E::KIND))
}

fn policy_not_found<E: Entity>(policy: &str) -> KmsError {
    KmsError::NotFound(format!(
        "The {} policy with name {policy} cannot be found.",
        E::KIND
    ))
}

fn already_exists<E: Entity>(name: &str) -> KmsError {
    KmsError::AlreadyExists(format!("{} with name {name} already exists.", E::TITLE))
}

fn too_many_conflicts() -> KmsError {
    KmsError::Conflict(
        "The entity was changed by concurrent requests too often. Retry the request.".to_owned(),
    )
}

/// Checks an inline identity policy document of `entity` (kind `kind`), given the size quota
/// its other inline policies leave. An exceeded quota is reported with the entity's whole
/// quota, as IAM words it ("Maximum policy size of 2048 bytes exceeded for user NAME").
fn check_identity_policy(
    document: &str,
    quota_left: usize,
    quota: usize,
    kind: &str,
    entity: &str,
) -> Result<(), KmsError> {
    match strongroom_policy::parse_identity_policy(document, quota_left) {
        Ok(_) => Ok(()),
        Err(strongroom_policy::PolicyError::SizeQuotaExceeded { .. }) => {
            Err(KmsError::LimitExceeded(format!(
                "Maximum policy size of {quota} bytes exceeded for {kind} {entity}"
            )))
        }
        Err(e) => Err(super::policy::policy_error(&e)),
    }
}

/// Checks a role's trust policy document, then its size quota; returns it parsed.
fn check_trust_policy(document: &str) -> Result<strongroom_policy::Policy, KmsError> {
    let policy = strongroom_policy::parse_trust_policy(document)
        .map_err(|e| super::policy::policy_error(&e))?;
    if policy_size_chars(document) > TRUST_POLICY_QUOTA {
        return Err(KmsError::LimitExceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"
        )));
    }
    Ok(policy)
}

/// The users and roles a policy names by ARN (in `Principal` or `NotPrincipal`).
fn named_identities(policy: &strongroom_policy::Policy) -> Vec<&strongroom_policy::PrincipalArn> {
    use strongroom_policy::{AwsPrincipal, IamIdentity, Principal, PrincipalSpec, Principals};
    policy
        .statements
        .iter()
        .filter_map(|st| match &st.principal {
            PrincipalSpec::Principal(Principals::Listed(list))
            | PrincipalSpec::NotPrincipal(Principals::Listed(list)) => Some(list),
            _ => None,
        })
        .flatten()
        .filter_map(|p| match p {
            Principal::Aws(AwsPrincipal::Arn(arn))
                if matches!(
                    arn.identity,
                    IamIdentity::User { .. } | IamIdentity::Role { .. }
                ) =>
            {
                Some(arn)
            }
            _ => None,
        })
        .collect()
}

/// Tags a request sets: no `aws:` prefix, no key twice (IAM compares keys case-insensitively).
fn check_new_tags(tags: &[Tag]) -> Result<(), KmsError> {
    let mut seen = std::collections::BTreeSet::new();
    for t in tags {
        if t.key.to_lowercase().starts_with("aws:") {
            return Err(KmsError::Tag(format!(
                "Tag keys beginning with 'aws:' are reserved for AWS use: {}",
                t.key
            )));
        }
        if !seen.insert(t.key.to_lowercase()) {
            return Err(KmsError::Tag(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// Adds `tags` to `current` (a key equal to an existing one but for case replaces it), within
/// the quota.
fn merge_tags<E: Entity>(
    current: &mut BTreeMap<String, String>,
    tags: &[Tag],
) -> Result<(), KmsError> {
    for t in tags {
        let lower = t.key.to_lowercase();
        current.retain(|k, _| k.to_lowercase() != lower);
        current.insert(t.key.clone(), t.value.clone());
    }
    if current.len() > MAX_TAGS {
        return Err(KmsError::LimitExceeded(format!(
            "Cannot exceed quota for {}: {MAX_TAGS}",
            E::TAG_QUOTA_NAME
        )));
    }
    Ok(())
}

/// Access for an action that sets tags: `aws:RequestTag/…` and `aws:TagKeys`.
fn tagging_access(action: &'static str, tags: &[Tag]) -> Access<'static> {
    let mut access = Access::named(action);
    if !tags.is_empty() {
        access.request_tags = tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        access = access.key("aws:TagKeys", tags.iter().map(|t| t.key.clone()).collect());
    }
    access
}

/// A page of items already in memory, sorted by `key_of`, after `marker`.
fn page_in_memory<T>(
    items: Vec<T>,
    marker: Option<&str>,
    limit: usize,
    key_of: impl Fn(&T) -> String,
) -> Result<Page<T>, KmsError> {
    let after = marker.map(decode_marker).transpose()?;
    let rest: Vec<T> = items
        .into_iter()
        .filter(|i| {
            after
                .as_ref()
                .is_none_or(|a| key_of(i).as_str() > a.as_str())
        })
        .take(limit.saturating_add(1))
        .collect();
    Ok(page(rest, limit, key_of))
}

/// The user (or root) an access key operation acts on.
enum KeyOwner {
    Root,
    User(String),
}

/// The user an access key operation names, or the caller's own when it names none.
fn key_owner(ctx: &RequestContext, user_name: Option<&str>) -> Result<KeyOwner, KmsError> {
    match (user_name, &ctx.caller.kind) {
        (Some(n), _) => Ok(KeyOwner::User(n.to_owned())),
        (None, CallerKind::Root) => Ok(KeyOwner::Root),
        (None, CallerKind::User { name }) => Ok(KeyOwner::User(name.clone())),
        (None, CallerKind::Session { .. }) => Err(KmsError::Validation(
            "Must specify userName when calling with non-User credentials".to_owned(),
        )),
    }
}

fn access_key_not_found(id: &str) -> KmsError {
    KmsError::NotFound(format!("The Access Key with id {id} cannot be found."))
}

impl Service {
    /// Loads a user or role of `account` by name (case-insensitively).
    async fn load_entity<E: Entity>(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<E>>, KmsError> {
        let (account, name) = (account.clone(), name.to_owned());
        self.store_call("GetIdentity", move |s| E::load(s, &account, &name))
            .await
    }

    /// The ARN a request about `name` is authorized against: the entity's own when it
    /// exists, else the ARN it would have at path `/`.
    fn entity_arn<E: Entity>(ctx: &RequestContext, name: &str, found: Option<&E>) -> String {
        found.map_or_else(
            || iam_arn(&ctx.scope.partition, ctx.account(), E::KIND, "/", name),
            |e| e.arn().to_owned(),
        )
    }

    /// Reads an entity, authorizes `access` on it, and returns it or NoSuchEntity.
    async fn read_entity<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        access: &Access<'_>,
    ) -> Result<Versioned<E>, KmsError> {
        let found = self.load_entity::<E>(ctx.account(), name).await?;
        let arn = Self::entity_arn(ctx, name, found.as_ref().map(|v| &v.value));
        self.authorize_account_access(ctx, access, &arn).await?;
        found.ok_or_else(|| entity_not_found::<E>(name))
    }

    /// Read, authorize (once), change, write under the revision read; retried when a
    /// concurrent write wins. A change that alters nothing writes nothing.
    async fn update_entity<E, F>(
        &self,
        ctx: &RequestContext,
        name: &str,
        access: &Access<'_>,
        change: F,
    ) -> Result<E, KmsError>
    where
        E: Entity,
        F: Fn(&mut E) -> Result<(), KmsError>,
    {
        let mut authorized = false;
        for _ in 0..MAX_ATTEMPTS {
            let found = self.load_entity::<E>(ctx.account(), name).await?;
            if !authorized {
                let arn = Self::entity_arn(ctx, name, found.as_ref().map(|v| &v.value));
                self.authorize_account_access(ctx, access, &arn).await?;
                authorized = true;
            }
            let current = found.ok_or_else(|| entity_not_found::<E>(name))?;
            let mut entity = current.value.clone();
            change(&mut entity)?;
            if entity == current.value {
                return Ok(entity);
            }
            let mut txn = Transaction::new();
            txn.push(entity.clone().put(Expect::Revision(current.revision)));
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.forget_principal::<E>(ctx.account(), entity.name());
                    return Ok(entity);
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("UpdateIdentity", e)),
            }
        }
        Err(too_many_conflicts())
    }

    /// Authorizes creating a user or role at `arn`; with tags, also tagging it (IAM's
    /// dependent action: tags given at creation need `iam:TagUser` / `iam:TagRole` too).
    async fn authorize_create(
        &self,
        ctx: &RequestContext,
        create: &'static str,
        tag: &'static str,
        tags: &[Tag],
        arn: &str,
    ) -> Result<(), KmsError> {
        self.authorize_account_access(ctx, &tagging_access(create, tags), arn)
            .await?;
        if !tags.is_empty() {
            self.authorize_account_access(ctx, &tagging_access(tag, tags), arn)
                .await?;
        }
        Ok(())
    }

    fn forget_principal<E: Entity>(&self, account: &AccountId, name: &str) {
        self.inner
            .cache
            .invalidate_principal(&principal_cache_key(account, E::KIND, name));
    }

    /// Creates a user or role that must not exist yet.
    async fn create_entity<E: Entity>(&self, entity: E) -> Result<(), KmsError> {
        let (account, name) = (entity.account().clone(), entity.name().to_owned());
        let mut txn = Transaction::new();
        txn.push(entity.put(Expect::Absent));
        match self.store_raw(move |s| s.commit(txn)).await {
            // A cached "no such principal" must not outlive the new one.
            Ok(()) => {
                self.forget_principal::<E>(&account, &name);
                Ok(())
            }
            // Expect::Absent failed: the name is taken, case-insensitively. (The store also
            // refuses an entity of an account it does not know; say so only if the name is
            // really free.)
            Err(StoreError::Conflict) => match self.load_entity::<E>(&account, &name).await? {
                Some(_) => Err(already_exists::<E>(&name)),
                None => Err(KmsError::Conflict(format!(
                    "{} {name} could not be created. Retry the request.",
                    E::TITLE
                ))),
            },
            Err(e) => Err(map_store_error("CreateIdentity", e)),
        }
    }

    /// Deletes a user or role once `blocker` finds nothing that still belongs to it.
    async fn delete_entity<E, F, Fut>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        blocker: F,
    ) -> Result<(), KmsError>
    where
        E: Entity,
        F: Fn(E) -> Fut,
        Fut: std::future::Future<Output = Result<(), KmsError>>,
    {
        let access = Access::named(action);
        let mut authorized = false;
        for _ in 0..MAX_ATTEMPTS {
            let found = self.load_entity::<E>(ctx.account(), name).await?;
            if !authorized {
                let arn = Self::entity_arn(ctx, name, found.as_ref().map(|v| &v.value));
                self.authorize_account_access(ctx, &access, &arn).await?;
                authorized = true;
            }
            let current = found.ok_or_else(|| entity_not_found::<E>(name))?;
            blocker(current.value.clone()).await?;
            if !current.value.policies().is_empty() {
                return Err(KmsError::DeleteConflict(
                    "Cannot delete entity, must delete policies first.".to_owned(),
                ));
            }
            let mut txn = Transaction::new();
            txn.push(current.value.delete(current.revision));
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.forget_principal::<E>(ctx.account(), current.value.name());
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("DeleteIdentity", e)),
            }
        }
        Err(too_many_conflicts())
    }

    async fn put_entity_policy<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), KmsError> {
        self.update_entity::<E, _>(ctx, name, &Access::named(action), |e| {
            // The quota covers all of the entity's inline policies; the one replaced does not
            // count.
            let others: usize = e
                .policies()
                .iter()
                .filter(|(n, _)| n.as_str() != policy_name)
                .map(|(_, d)| policy_size_chars(d))
                .sum();
            let left = E::POLICY_QUOTA.saturating_sub(others);
            check_identity_policy(document, left, E::POLICY_QUOTA, E::KIND, e.name())?;
            e.policies_mut()
                .insert(policy_name.to_owned(), document.to_owned());
            Ok(())
        })
        .await
        .map(|_| ())
    }

    async fn get_entity_policy<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        policy_name: &str,
    ) -> Result<InlinePolicy, KmsError> {
        let e = self
            .read_entity::<E>(ctx, name, &Access::named(action))
            .await?
            .value;
        let document = e
            .policies()
            .get(policy_name)
            .cloned()
            .ok_or_else(|| policy_not_found::<E>(policy_name))?;
        Ok(InlinePolicy {
            entity_name: e.name().to_owned(),
            policy_name: policy_name.to_owned(),
            document,
        })
    }

    async fn delete_entity_policy<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        policy_name: &str,
    ) -> Result<(), KmsError> {
        self.update_entity::<E, _>(ctx, name, &Access::named(action), |e| {
            e.policies_mut()
                .remove(policy_name)
                .map(|_| ())
                .ok_or_else(|| policy_not_found::<E>(policy_name))
        })
        .await
        .map(|_| ())
    }

    async fn list_entity_policies<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>, KmsError> {
        let e = self
            .read_entity::<E>(ctx, name, &Access::named(action))
            .await?
            .value;
        let names: Vec<String> = e.policies().keys().cloned().collect();
        page_in_memory(names, marker, limit, Clone::clone)
    }

    async fn tag_entity<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        tags: &[Tag],
    ) -> Result<(), KmsError> {
        let access = tagging_access(action, tags);
        self.update_entity::<E, _>(ctx, name, &access, |e| {
            check_new_tags(tags)?;
            merge_tags::<E>(e.tags_mut(), tags)
        })
        .await
        .map(|_| ())
    }

    async fn untag_entity<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        keys: &[String],
    ) -> Result<(), KmsError> {
        let access = Access::named(action).key("aws:TagKeys", keys.to_vec());
        let lower: Vec<String> = keys.iter().map(|k| k.to_lowercase()).collect();
        self.update_entity::<E, _>(ctx, name, &access, |e| {
            e.tags_mut()
                .retain(|k, _| !lower.contains(&k.to_lowercase()));
            Ok(())
        })
        .await
        .map(|_| ())
    }

    async fn list_entity_tags<E: Entity>(
        &self,
        ctx: &RequestContext,
        name: &str,
        action: &'static str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<Tag>, KmsError> {
        let e = self
            .read_entity::<E>(ctx, name, &Access::named(action))
            .await?
            .value;
        let tags: Vec<Tag> = e
            .tags()
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        page_in_memory(tags, marker, limit, |t| t.key.clone())
    }
}

/// The path of a new user or role: `/` when absent, else IAM's path syntax.
fn new_path(path: Option<&str>) -> Result<String, KmsError> {
    let path = path.unwrap_or("/");
    if !valid_path(path) {
        return Err(KmsError::Validation(format!(
            "The specified value for path is invalid. It must begin and end with / and \
             contain only alphanumeric characters and/or / characters: {path}"
        )));
    }
    Ok(path.to_owned())
}

fn new_name(name: &str) -> Result<(), KmsError> {
    if valid_principal_name(name) {
        Ok(())
    } else {
        Err(KmsError::Validation(format!(
            "The specified value for name is invalid. It must contain only alphanumeric \
             characters and/or the following: +=,.@_-: {name}"
        )))
    }
}

// -- users ---------------------------------------------------------------------------------

impl Service {
    /// CreateUser.
    pub async fn create_user(
        &self,
        ctx: &RequestContext,
        input: CreateUserInput,
    ) -> Result<User, KmsError> {
        new_name(&input.name)?;
        let path = new_path(input.path.as_deref())?;
        let partition = &ctx.scope.partition;
        let arn = iam_arn(partition, ctx.account(), "user", &path, &input.name);
        self.authorize_create(ctx, "iam:CreateUser", "iam:TagUser", &input.tags, &arn)
            .await?;
        check_new_tags(&input.tags)?;
        if input.tags.len() > MAX_TAGS {
            return Err(KmsError::LimitExceeded(format!(
                "Cannot exceed quota for TagsPerUser: {MAX_TAGS}"
            )));
        }
        let user = User {
            account: ctx.account().clone(),
            id: self.generate_access_key_id("AIDA")?,
            arn,
            path,
            created_at: self.clock().now(),
            tags: input.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            policies: BTreeMap::new(),
            name: input.name,
        };
        self.create_entity(user.clone()).await?;
        Ok(user)
    }

    /// GetUser: the named user, or the caller's own (the root user for the account root).
    pub async fn get_user(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> Result<UserView, KmsError> {
        let name = match (name, &ctx.caller.kind) {
            (Some(n), _) => n.to_owned(),
            (None, CallerKind::User { name }) => name.clone(),
            (None, CallerKind::Root) => {
                let account = ctx.account().clone();
                let arn = ctx.caller.principal_arn.clone();
                self.authorize_account(ctx, "iam:GetUser", &arn).await?;
                let id = account.clone();
                let created_at = self
                    .store_call("GetAccount", move |s| s.get_account(&id))
                    .await?
                    .map_or_else(|| self.clock().now(), |a| a.created_at);
                return Ok(UserView::Root {
                    account,
                    arn,
                    created_at,
                });
            }
            (None, CallerKind::Session { .. }) => {
                return Err(KmsError::Validation(
                    "Must specify userName when calling with non-User credentials".to_owned(),
                ));
            }
        };
        let user = self
            .read_entity::<User>(ctx, &name, &Access::named("iam:GetUser"))
            .await?;
        Ok(UserView::User(user.value))
    }

    /// DeleteUser: refused while the user has access keys or inline policies.
    pub async fn delete_user(&self, ctx: &RequestContext, name: &str) -> Result<(), KmsError> {
        let account = ctx.account().clone();
        self.delete_entity::<User, _, _>(ctx, name, "iam:DeleteUser", |user: User| {
            let account = account.clone();
            async move {
                let keys = self
                    .store_call("ListAccessKeys", move |s| {
                        s.list_access_keys(&account, Some(&user.name))
                    })
                    .await?;
                if keys.is_empty() {
                    Ok(())
                } else {
                    Err(KmsError::DeleteConflict(
                        "Cannot delete entity, must delete access keys first.".to_owned(),
                    ))
                }
            }
        })
        .await
    }

    /// ListUsers: users whose path starts with `path_prefix`, by name.
    pub async fn list_users(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<User>, KmsError> {
        let prefix = path_prefix.unwrap_or("/").to_owned();
        let resource = iam_arn(&ctx.scope.partition, ctx.account(), "user", &prefix, "");
        self.authorize_account(ctx, "iam:ListUsers", &resource)
            .await?;
        let after = marker.map(decode_marker).transpose()?;
        let account = ctx.account().clone();
        let users = self
            .store_call("ListUsers", move |s| {
                s.list_users(&account, &prefix, after.as_deref(), limit.saturating_add(1))
            })
            .await?;
        Ok(page(users, limit, |u| u.name.clone()))
    }

    /// PutUserPolicy: adds or replaces an inline policy.
    pub async fn put_user_policy(
        &self,
        ctx: &RequestContext,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), KmsError> {
        self.put_entity_policy::<User>(ctx, user, "iam:PutUserPolicy", policy_name, document)
            .await
    }

    /// GetUserPolicy.
    pub async fn get_user_policy(
        &self,
        ctx: &RequestContext,
        user: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, KmsError> {
        self.get_entity_policy::<User>(ctx, user, "iam:GetUserPolicy", policy_name)
            .await
    }

    /// DeleteUserPolicy.
    pub async fn delete_user_policy(
        &self,
        ctx: &RequestContext,
        user: &str,
        policy_name: &str,
    ) -> Result<(), KmsError> {
        self.delete_entity_policy::<User>(ctx, user, "iam:DeleteUserPolicy", policy_name)
            .await
    }

    /// ListUserPolicies: inline policy names, sorted.
    pub async fn list_user_policies(
        &self,
        ctx: &RequestContext,
        user: &str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>, KmsError> {
        self.list_entity_policies::<User>(ctx, user, "iam:ListUserPolicies", marker, limit)
            .await
    }

    /// TagUser.
    pub async fn tag_user(
        &self,
        ctx: &RequestContext,
        user: &str,
        tags: &[Tag],
    ) -> Result<(), KmsError> {
        self.tag_entity::<User>(ctx, user, "iam:TagUser", tags)
            .await
    }

    /// UntagUser (keys the user does not have are ignored).
    pub async fn untag_user(
        &self,
        ctx: &RequestContext,
        user: &str,
        keys: &[String],
    ) -> Result<(), KmsError> {
        self.untag_entity::<User>(ctx, user, "iam:UntagUser", keys)
            .await
    }

    /// ListUserTags: sorted by key.
    pub async fn list_user_tags(
        &self,
        ctx: &RequestContext,
        user: &str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<Tag>, KmsError> {
        self.list_entity_tags::<User>(ctx, user, "iam:ListUserTags", marker, limit)
            .await
    }
}

// -- access keys ---------------------------------------------------------------------------

impl Service {
    /// The owner's user record (authorized for `action`), or `None` for the account root.
    async fn key_owner_record(
        &self,
        ctx: &RequestContext,
        owner: &KeyOwner,
        action: &'static str,
    ) -> Result<Option<Versioned<User>>, KmsError> {
        match owner {
            KeyOwner::Root => {
                let arn = ctx.caller.principal_arn.clone();
                self.authorize_account(ctx, action, &arn).await?;
                Ok(None)
            }
            KeyOwner::User(name) => self
                .read_entity::<User>(ctx, name, &Access::named(action))
                .await
                .map(Some),
        }
    }

    /// The access keys of a user (or of the root, for `None`).
    async fn owner_keys(
        &self,
        account: &AccountId,
        user: Option<&User>,
    ) -> Result<Vec<Versioned<AccessKey>>, KmsError> {
        let account = account.clone();
        let name = user.map(|u| u.name.clone());
        self.store_call("ListAccessKeys", move |s| {
            s.list_access_keys(&account, name.as_deref())
        })
        .await
    }

    /// CreateAccessKey: a new key for the named user, or for the caller (user or root).
    pub async fn create_access_key(
        &self,
        ctx: &RequestContext,
        user_name: Option<&str>,
    ) -> Result<CreatedAccessKey, KmsError> {
        let owner = key_owner(ctx, user_name)?;
        let mut authorized = false;
        let secret = self.generate_secret()?;
        for _ in 0..MAX_ATTEMPTS {
            let user = if authorized {
                match &owner {
                    KeyOwner::Root => None,
                    KeyOwner::User(n) => Some(
                        self.load_entity::<User>(ctx.account(), n)
                            .await?
                            .ok_or_else(|| entity_not_found::<User>(n))?,
                    ),
                }
            } else {
                authorized = true;
                self.key_owner_record(ctx, &owner, "iam:CreateAccessKey")
                    .await?
            };
            let keys = self
                .owner_keys(ctx.account(), user.as_ref().map(|u| &u.value))
                .await?;
            if keys.len() >= MAX_ACCESS_KEYS {
                return Err(KmsError::LimitExceeded(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}"
                )));
            }
            let id = self.generate_access_key_id("AKIA")?;
            let now = self.clock().now();
            let (principal_arn, key_owner) = match &user {
                Some(u) => (
                    u.value.arn.clone(),
                    AccessKeyOwner::User(u.value.name.clone()),
                ),
                None => (ctx.caller.principal_arn.clone(), AccessKeyOwner::Root),
            };
            let record = AccessKey {
                id: id.clone(),
                account: ctx.account().clone(),
                principal_arn,
                owner: key_owner,
                wrapped_secret: self.wrap_secret(&id, secret.expose())?,
                status: AccessKeyStatus::Active,
                created_at: now,
            };
            let mut txn = Transaction::new();
            txn.push(Write::PutAccessKey {
                access_key: record,
                expect: Expect::Absent,
            });
            // Rewriting the user under the revision read serializes this with DeleteUser and
            // with other CreateAccessKey calls (the quota).
            if let Some(u) = &user {
                txn.push(u.value.clone().put(Expect::Revision(u.revision)));
            }
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.inner.cache.invalidate_credential(&id);
                    return Ok(CreatedAccessKey {
                        user_name: user.map(|u| u.value.name),
                        access_key_id: id,
                        secret_access_key: secret,
                        status: AccessKeyStatus::Active,
                        created_at: now,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("CreateAccessKey", e)),
            }
        }
        Err(too_many_conflicts())
    }

    /// The key `id` if it belongs to `user` (or to the root for `None`) in the caller's account.
    async fn owned_key(
        &self,
        ctx: &RequestContext,
        user: Option<&User>,
        id: &str,
    ) -> Result<Versioned<AccessKey>, KmsError> {
        let lookup = id.to_owned();
        let found = self
            .store_call("GetAccessKey", move |s| s.get_access_key(&lookup))
            .await?;
        found
            .filter(|k| {
                &k.value.account == ctx.account()
                    && match (&k.value.owner, user) {
                        (AccessKeyOwner::Root, None) => true,
                        (AccessKeyOwner::User(n), Some(u)) => n.eq_ignore_ascii_case(&u.name),
                        _ => false,
                    }
            })
            .ok_or_else(|| access_key_not_found(id))
    }

    /// UpdateAccessKey: activates or deactivates a key of the named user (or the caller's).
    pub async fn update_access_key(
        &self,
        ctx: &RequestContext,
        user_name: Option<&str>,
        id: &str,
        status: AccessKeyStatus,
    ) -> Result<(), KmsError> {
        let owner = key_owner(ctx, user_name)?;
        let user = self
            .key_owner_record(ctx, &owner, "iam:UpdateAccessKey")
            .await?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .owned_key(ctx, user.as_ref().map(|u| &u.value), id)
                .await?;
            if current.value.status == status {
                return Ok(());
            }
            let mut record = current.value.clone();
            record.status = status;
            let mut txn = Transaction::new();
            txn.push(Write::PutAccessKey {
                access_key: record,
                expect: Expect::Revision(current.revision),
            });
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.inner.cache.invalidate_credential(&id.to_owned());
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("UpdateAccessKey", e)),
            }
        }
        Err(too_many_conflicts())
    }

    /// DeleteAccessKey.
    pub async fn delete_access_key(
        &self,
        ctx: &RequestContext,
        user_name: Option<&str>,
        id: &str,
    ) -> Result<(), KmsError> {
        let owner = key_owner(ctx, user_name)?;
        let user = self
            .key_owner_record(ctx, &owner, "iam:DeleteAccessKey")
            .await?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .owned_key(ctx, user.as_ref().map(|u| &u.value), id)
                .await?;
            let mut txn = Transaction::new();
            txn.push(Write::DeleteAccessKey {
                id: id.to_owned(),
                revision: current.revision,
            });
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.inner.cache.invalidate_credential(&id.to_owned());
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("DeleteAccessKey", e)),
            }
        }
        Err(too_many_conflicts())
    }

    /// ListAccessKeys: the keys of the named user (or the caller's), by id. Never secrets,
    /// never session credentials.
    pub async fn list_access_keys(
        &self,
        ctx: &RequestContext,
        user_name: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<AccessKeyInfo>, KmsError> {
        let owner = key_owner(ctx, user_name)?;
        let user = self
            .key_owner_record(ctx, &owner, "iam:ListAccessKeys")
            .await?;
        let user_name = user.as_ref().map(|u| u.value.name.clone());
        let mut keys: Vec<AccessKeyInfo> = self
            .owner_keys(ctx.account(), user.as_ref().map(|u| &u.value))
            .await?
            .into_iter()
            .filter(|k| !matches!(k.value.owner, AccessKeyOwner::Session(_)))
            .map(|k| AccessKeyInfo {
                user_name: user_name.clone(),
                access_key_id: k.value.id,
                status: k.value.status,
                created_at: k.value.created_at,
            })
            .collect();
        keys.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        page_in_memory(keys, marker, limit, |k| k.access_key_id.clone())
    }
}

// -- roles ---------------------------------------------------------------------------------

impl Service {
    /// CreateRole.
    pub async fn create_role(
        &self,
        ctx: &RequestContext,
        input: CreateRoleInput,
    ) -> Result<Role, KmsError> {
        new_name(&input.name)?;
        let path = new_path(input.path.as_deref())?;
        let arn = iam_arn(
            &ctx.scope.partition,
            ctx.account(),
            "role",
            &path,
            &input.name,
        );
        self.authorize_create(ctx, "iam:CreateRole", "iam:TagRole", &input.tags, &arn)
            .await?;
        let max_session_duration = input
            .max_session_duration
            .unwrap_or(DEFAULT_MAX_SESSION_DURATION);
        if !MAX_SESSION_DURATION_RANGE.contains(&max_session_duration) {
            return Err(KmsError::Validation(format!(
                "The MaxSessionDuration must be between {} and {} seconds.",
                MAX_SESSION_DURATION_RANGE.start(),
                MAX_SESSION_DURATION_RANGE.end()
            )));
        }
        let trust = check_trust_policy(&input.trust_policy)?;
        self.check_trust_principals(ctx, &trust).await?;
        check_new_tags(&input.tags)?;
        if input.tags.len() > MAX_TAGS {
            return Err(KmsError::LimitExceeded(format!(
                "Cannot exceed quota for TagsPerRole: {MAX_TAGS}"
            )));
        }
        let role = Role {
            account: ctx.account().clone(),
            id: self.generate_access_key_id("AROA")?,
            arn,
            path,
            created_at: self.clock().now(),
            description: input.description.unwrap_or_default(),
            max_session_duration,
            trust_policy: input.trust_policy,
            tags: input.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            policies: BTreeMap::new(),
            name: input.name,
        };
        self.create_entity(role.clone()).await?;
        Ok(role)
    }

    /// IAM refuses a trust policy naming a user or role (by ARN) that does not exist:
    /// `MalformedPolicyDocument`, "Invalid principal in policy". Accounts, services and
    /// sessions are not checked.
    async fn check_trust_principals(
        &self,
        ctx: &RequestContext,
        policy: &strongroom_policy::Policy,
    ) -> Result<(), KmsError> {
        match self.first_missing_principal(ctx, policy).await? {
            Some(arn) => Err(KmsError::MalformedPolicyDocument(format!(
                "Invalid principal in policy: \"AWS\":\"{arn}\""
            ))),
            None => Ok(()),
        }
    }

    /// The first user or role ARN in `policy` that names no existing user or role (key and
    /// trust policies may name only principals that exist, which binds them: see
    /// `strongroom_policy::Policy::set_saved_at`).
    pub(crate) async fn first_missing_principal(
        &self,
        ctx: &RequestContext,
        policy: &strongroom_policy::Policy,
    ) -> Result<Option<String>, KmsError> {
        use strongroom_policy::IamIdentity;
        for arn in named_identities(policy) {
            let Some(account) =
                AccountId::parse(&arn.account_id).filter(|_| arn.partition == ctx.scope.partition)
            else {
                return Ok(Some(arn.to_string()));
            };
            let exists = match &arn.identity {
                IamIdentity::User { path, name } => self
                    .load_entity::<User>(&account, name)
                    .await?
                    .is_some_and(|u| &u.value.path == path),
                IamIdentity::Role { path, name } => self
                    .load_entity::<Role>(&account, name)
                    .await?
                    .is_some_and(|r| &r.value.path == path),
                _ => true,
            };
            if !exists {
                return Ok(Some(arn.to_string()));
            }
        }
        Ok(None)
    }

    /// GetRole.
    pub async fn get_role(&self, ctx: &RequestContext, name: &str) -> Result<Role, KmsError> {
        Ok(self
            .read_entity::<Role>(ctx, name, &Access::named("iam:GetRole"))
            .await?
            .value)
    }

    /// DeleteRole: refused while the role has inline policies. Sessions already issued keep
    /// authenticating until they expire, with no permissions (as in AWS).
    pub async fn delete_role(&self, ctx: &RequestContext, name: &str) -> Result<(), KmsError> {
        self.delete_entity::<Role, _, _>(ctx, name, "iam:DeleteRole", |_role: Role| async {
            Ok(())
        })
        .await
    }

    /// ListRoles: roles whose path starts with `path_prefix`, by name.
    pub async fn list_roles(
        &self,
        ctx: &RequestContext,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<Role>, KmsError> {
        let prefix = path_prefix.unwrap_or("/").to_owned();
        let resource = iam_arn(&ctx.scope.partition, ctx.account(), "role", &prefix, "");
        self.authorize_account(ctx, "iam:ListRoles", &resource)
            .await?;
        let after = marker.map(decode_marker).transpose()?;
        let account = ctx.account().clone();
        let roles = self
            .store_call("ListRoles", move |s| {
                s.list_roles(&account, &prefix, after.as_deref(), limit.saturating_add(1))
            })
            .await?;
        Ok(page(roles, limit, |r| r.name.clone()))
    }

    /// PutRolePolicy.
    pub async fn put_role_policy(
        &self,
        ctx: &RequestContext,
        role: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), KmsError> {
        self.put_entity_policy::<Role>(ctx, role, "iam:PutRolePolicy", policy_name, document)
            .await
    }

    /// GetRolePolicy.
    pub async fn get_role_policy(
        &self,
        ctx: &RequestContext,
        role: &str,
        policy_name: &str,
    ) -> Result<InlinePolicy, KmsError> {
        self.get_entity_policy::<Role>(ctx, role, "iam:GetRolePolicy", policy_name)
            .await
    }

    /// DeleteRolePolicy.
    pub async fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        role: &str,
        policy_name: &str,
    ) -> Result<(), KmsError> {
        self.delete_entity_policy::<Role>(ctx, role, "iam:DeleteRolePolicy", policy_name)
            .await
    }

    /// ListRolePolicies.
    pub async fn list_role_policies(
        &self,
        ctx: &RequestContext,
        role: &str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>, KmsError> {
        self.list_entity_policies::<Role>(ctx, role, "iam:ListRolePolicies", marker, limit)
            .await
    }

    /// TagRole.
    pub async fn tag_role(
        &self,
        ctx: &RequestContext,
        role: &str,
        tags: &[Tag],
    ) -> Result<(), KmsError> {
        self.tag_entity::<Role>(ctx, role, "iam:TagRole", tags)
            .await
    }

    /// UntagRole.
    pub async fn untag_role(
        &self,
        ctx: &RequestContext,
        role: &str,
        keys: &[String],
    ) -> Result<(), KmsError> {
        self.untag_entity::<Role>(ctx, role, "iam:UntagRole", keys)
            .await
    }

    /// ListRoleTags.
    pub async fn list_role_tags(
        &self,
        ctx: &RequestContext,
        role: &str,
        marker: Option<&str>,
        limit: usize,
    ) -> Result<Page<Tag>, KmsError> {
        self.list_entity_tags::<Role>(ctx, role, "iam:ListRoleTags", marker, limit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_tags_refuse_reserved_prefix_and_case_insensitive_duplicates() {
        let t = |k: &str| Tag {
            key: k.to_owned(),
            value: String::new(),
        };
        assert!(check_new_tags(&[t("a"), t("b")]).is_ok());
        assert!(matches!(
            check_new_tags(&[t("AWS:x")]),
            Err(KmsError::Tag(_))
        ));
        assert!(matches!(
            check_new_tags(&[t("Dept"), t("dept")]),
            Err(KmsError::Tag(_))
        ));
    }

    #[test]
    fn merged_tags_replace_case_insensitively_and_respect_the_quota() {
        let mut current: BTreeMap<String, String> =
            [("Dept".to_owned(), "a".to_owned())].into_iter().collect();
        let tags = [Tag {
            key: "dept".to_owned(),
            value: "b".to_owned(),
        }];
        merge_tags::<User>(&mut current, &tags).unwrap();
        assert_eq!(current.len(), 1);
        assert_eq!(current.get("dept").map(String::as_str), Some("b"));
        let many: Vec<Tag> = (0..MAX_TAGS)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect();
        assert!(matches!(
            merge_tags::<User>(&mut current, &many),
            Err(KmsError::LimitExceeded(_))
        ));
    }

    #[test]
    fn in_memory_pages_follow_markers() {
        let items: Vec<String> = ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let p = page_in_memory(items.clone(), None, 2, Clone::clone).unwrap();
        assert_eq!(p.items, vec!["a", "b"]);
        let p = page_in_memory(items, p.next_marker.as_deref(), 2, Clone::clone).unwrap();
        assert_eq!(p.items, vec!["c"]);
        assert_eq!(p.next_marker, None);
    }
}

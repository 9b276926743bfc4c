//! The request as the evaluator sees it: who calls, which action on which resource, and the
//! values of the condition keys.
//!
//! Everything here is plain data built by the service layer; the evaluator never reaches out for
//! more (no clock, no directory), so a decision is a pure function of policies and context and
//! the policy simulator can replay it. Condition values are strings, as in IAM's request
//! context; each typed operator parses them when it compares.
//!
//! # Cost
//!
//! A context is built for every request, so it is split in two:
//! - a [`Caller`] holds the principal and the keys that depend only on it (`aws:PrincipalArn`,
//!   `aws:PrincipalAccount`, `kms:CallerAccount`, `aws:PrincipalType`, `aws:username`, and
//!   whatever the service adds once, such as `aws:PrincipalTag/*` or `aws:userid`). The service
//!   builds it once per credential and shares it behind an [`Arc`];
//! - a [`RequestContext`] holds that `Arc`, the action (a `&'static str` costs nothing), the
//!   resource, and only the request's own keys. The service asks the policies which keys they
//!   read ([`crate::Policy::condition_keys`]) and builds no others; for the default key policy
//!   that is none, so an Encrypt context costs one allocation (the resource ARN, unless it is
//!   `'static` too).
//!
//! Request keys shadow caller keys of the same name; [`RequestContext::remove`] hides a caller
//! key from this request only (the `Arc` is copied on write, the shared caller is untouched).
//! Key lookups compare names case-insensitively without allocating.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalInfo {
    /// An IAM or STS identity (or an account's root user).
    Aws {
        /// The caller's ARN, e.g. `arn:aws:iam::111122223333:user/Alice` or
        /// `arn:aws:sts::111122223333:assumed-role/Admin/session`.
        arn: String,
        /// The caller's 12-digit account id.
        account_id: String,
    },
    /// A service principal, such as `cloudtrail.amazonaws.com`.
    Service(String),
}

impl PrincipalInfo {
    /// An AWS identity; the account id is read from the ARN's fifth field.
    pub fn from_arn(arn: &str) -> Self {
        let account_id = arn.split(':').nth(4).unwrap_or_default().to_owned();
        Self::Aws {
            arn: arn.to_owned(),
            account_id,
        }
    }

    /// The caller's account, if it is an AWS identity.
    pub fn account_id(&self) -> Option<&str> {
        match self {
            Self::Aws { account_id, .. } => Some(account_id),
            Self::Service(_) => None,
        }
    }

    /// Whether the caller is an account's root user (`arn:…:iam::ACCOUNT:root`).
    pub fn is_account_root(&self) -> bool {
        matches!(self, Self::Aws { arn, .. } if arn.ends_with(":root") && arn.contains(":iam::"))
    }
}

/// A condition key name in the form keys are stored and compared: lower case, character by
/// character (so that stored names and queried names are folded by the same function).
pub(crate) fn fold_key(key: &str) -> String {
    key.chars().flat_map(char::to_lowercase).collect()
}

/// Compares a folded name with a name as written, folding the latter on the fly.
pub(crate) fn cmp_folded(folded: &str, key: &str) -> Ordering {
    folded.chars().cmp(key.chars().flat_map(char::to_lowercase))
}

/// The values of condition keys. Key names compare case-insensitively, as IAM's do; values are
/// case-sensitive. Every key may hold several values (`kms:EncryptionContextKeys`,
/// `kms:GrantOperations`, `aws:TagKeys`); a single-valued key is a list of one.
///
/// Stored as a vector sorted by folded name: requests carry a handful of keys, and a lookup is a
/// binary search that folds the queried name as it compares, so it never allocates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionKeys {
    entries: Vec<(String, Vec<String>)>,
}

impl ConditionKeys {
    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|(folded, _)| cmp_folded(folded, key))
    }

    /// Sets `key` to `values`, replacing what it held.
    pub fn insert<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        match self.position(key) {
            Ok(i) => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.1 = values;
                }
            }
            Err(i) => self.entries.insert(i, (fold_key(key), values)),
        }
    }

    /// Removes `key`, so that it is absent from the request.
    pub fn remove(&mut self, key: &str) {
        if let Ok(i) = self.position(key) {
            self.entries.remove(i);
        }
    }

    /// The values of `key`; `None` when the request does not carry it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        let i = self.position(key).ok()?;
        self.entries.get(i).map(|(_, values)| values.as_slice())
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many keys are set.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The keys (lower-cased) and their values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries
            .iter()
            .map(|(key, values)| (key.as_str(), values.as_slice()))
    }
}

/// `aws:PrincipalArn`: the caller's ARN, except that a role session is represented by its role
/// (`arn:…:iam::ACCOUNT:role/NAME`), as IAM does. The role's path is not in the session ARN,
/// so a role with a path must have the key set by the caller, who knows the role.
fn principal_arn(arn: &str) -> String {
    let mut parts = arn.splitn(6, ':');
    if let (Some(_), Some(partition), Some("sts"), Some(_), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) && let Some(role) = resource.strip_prefix("assumed-role/")
    {
        let name = role.split('/').next().unwrap_or_default();
        return format!("arn:{partition}:iam::{account}:role/{name}");
    }
    arn.to_owned()
}

/// The principal of a request and the condition keys that depend only on it; built once per
/// credential and shared by every request made with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    principal: PrincipalInfo,
    keys: ConditionKeys,
    identity_created_at: Option<i64>,
}

impl Caller {
    /// The caller with the keys IAM derives from the principal already set:
    /// `aws:PrincipalArn`, `aws:PrincipalAccount`, `kms:CallerAccount`, `aws:PrincipalType`,
    /// and `aws:username` for IAM users. Add the others the service knows (`aws:userid`,
    /// `aws:PrincipalTag/*`) with [`Self::insert`] or [`Self::with`].
    pub fn new(principal: PrincipalInfo) -> Self {
        let mut keys = ConditionKeys::default();
        if let PrincipalInfo::Aws { arn, account_id } = &principal {
            keys.insert("aws:PrincipalArn", [principal_arn(arn)]);
            keys.insert("aws:PrincipalAccount", [account_id.as_str()]);
            keys.insert("kms:CallerAccount", [account_id.as_str()]);
            let resource_part = arn.splitn(6, ':').nth(5).unwrap_or_default();
            let principal_type = if principal.is_account_root() {
                "Account"
            } else if resource_part.starts_with("user/") {
                "User"
            } else if resource_part.starts_with("assumed-role/") {
                "AssumedRole"
            } else if resource_part.starts_with("federated-user/") {
                "FederatedUser"
            } else {
                "Unknown"
            };
            keys.insert("aws:PrincipalType", [principal_type]);
            if principal_type == "User" {
                let name = resource_part.rsplit('/').next().unwrap_or_default();
                keys.insert("aws:username", [name]);
            }
        }
        Self {
            principal,
            keys,
            identity_created_at: None,
        }
    }

    /// Records when the caller's user or role was created (same time unit as
    /// [`crate::Policy::set_saved_at`]); a policy saved before that does not name this
    /// identity, even if the ARN matches.
    pub fn set_identity_created_at(&mut self, at: i64) {
        self.identity_created_at = Some(at);
    }

    /// When the caller's user or role was created, if known.
    pub fn identity_created_at(&self) -> Option<i64> {
        self.identity_created_at
    }

    /// The principal.
    pub fn principal(&self) -> &PrincipalInfo {
        &self.principal
    }

    /// The caller's condition keys.
    pub fn keys(&self) -> &ConditionKeys {
        &self.keys
    }

    /// Sets a caller key, replacing a derived one of the same name.
    pub fn insert<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.insert(key, values);
    }

    /// Removes a caller key.
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(key);
    }

    /// Sets a caller key; for building callers fluently.
    #[must_use]
    pub fn with<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.insert(key, values);
        self
    }
}

/// One authorization question: may the caller call `action` on `resource`?
///
/// The resource is the ARN the action acts on (the key, for a KMS key operation), or `*` for
/// actions that act on no resource (CreateKey, ListKeys, GenerateRandom): `*` is matched only by
/// a `"Resource": "*"` (or by a `NotResource` that it is not), as IAM requires for such actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    caller: Arc<Caller>,
    action: Cow<'static, str>,
    resource: Cow<'static, str>,
    keys: ConditionKeys,
}

impl RequestContext {
    /// A context for `principal`, building its [`Caller`] on the spot. Convenient for tests and
    /// one-off questions; on the hot path, build the caller once and use [`Self::for_caller`].
    pub fn new(principal: PrincipalInfo, action: &str, resource: &str) -> Self {
        Self::for_caller(
            Arc::new(Caller::new(principal)),
            action.to_owned(),
            resource.to_owned(),
        )
    }

    /// A context for a shared caller. Pass `&'static str` for the action (and the resource, when
    /// it is `*`) to allocate nothing for them.
    pub fn for_caller(
        caller: Arc<Caller>,
        action: impl Into<Cow<'static, str>>,
        resource: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            caller,
            action: action.into(),
            resource: resource.into(),
            keys: ConditionKeys::default(),
        }
    }

    /// The caller.
    pub fn caller(&self) -> &Arc<Caller> {
        &self.caller
    }

    /// The principal making the request.
    pub fn principal(&self) -> &PrincipalInfo {
        &self.caller.principal
    }

    /// The action, `service:Operation`, e.g. `kms:Encrypt`.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The ARN of the resource the request acts on, or `*`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Replaces the resource.
    pub fn set_resource(&mut self, resource: impl Into<Cow<'static, str>>) {
        self.resource = resource.into();
    }

    /// The keys set for this request only (not the caller's).
    pub fn request_keys(&self) -> &ConditionKeys {
        &self.keys
    }

    /// The values of `key` in this request: its own keys first, then the caller's.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).or_else(|| self.caller.keys.get(key))
    }

    /// Sets a key for this request, shadowing a caller key of the same name.
    pub fn insert<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.insert(key, values);
    }

    /// Makes `key` absent from this request, including a caller key of that name (the shared
    /// caller is copied first, so other requests still see it).
    pub fn remove(&mut self, key: &str) {
        self.keys.remove(key);
        if self.caller.keys.get(key).is_some() {
            Arc::make_mut(&mut self.caller).keys.remove(key);
        }
    }

    /// Sets a request key; for building contexts fluently.
    #[must_use]
    pub fn with<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.insert(key, values);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_case_insensitively_and_values_do_not() {
        let mut keys = ConditionKeys::default();
        keys.insert("kms:EncryptionContext:Dept", ["IT"]);
        assert_eq!(
            keys.get("KMS:encryptioncontext:dept"),
            Some(&["IT".to_owned()][..])
        );
        keys.insert("kms:ENCRYPTIONCONTEXT:dept", ["HR"]);
        assert_eq!(keys.len(), 1);
        assert_eq!(
            keys.get("kms:EncryptionContext:Dept"),
            Some(&["HR".to_owned()][..])
        );
        keys.remove("kms:encryptionContext:DEPT");
        assert_eq!(keys.get("kms:EncryptionContext:Dept"), None);
        assert!(keys.is_empty());
    }

    #[test]
    fn keys_stay_sorted_and_findable_in_any_insertion_order() {
        let mut keys = ConditionKeys::default();
        for key in ["b:x", "A:y", "c:Z", "a:b", "Ä:x"] {
            keys.insert(key, [key]);
        }
        for key in ["B:X", "a:Y", "C:z", "A:B", "ä:X"] {
            assert!(keys.get(key).is_some(), "{key}");
        }
        let names: Vec<&str> = keys.iter().map(|(k, _)| k).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }

    #[test]
    fn the_caller_derives_the_principal_keys() {
        let ctx = RequestContext::new(
            PrincipalInfo::from_arn("arn:aws:iam::111122223333:user/dev/Alice"),
            "kms:Encrypt",
            "arn:aws:kms:us-east-1:111122223333:key/k",
        );
        assert_eq!(ctx.get("aws:username"), Some(&["Alice".to_owned()][..]));
        assert_eq!(
            ctx.get("kms:CallerAccount"),
            Some(&["111122223333".to_owned()][..])
        );
        assert_eq!(ctx.get("aws:PrincipalType"), Some(&["User".to_owned()][..]));
        assert!(ctx.request_keys().is_empty());
        let session = RequestContext::new(
            PrincipalInfo::from_arn("arn:aws:sts::111122223333:assumed-role/Ops/s1"),
            "kms:Encrypt",
            "arn:aws:kms:us-east-1:111122223333:key/k",
        );
        let role = "arn:aws:iam::111122223333:role/Ops".to_owned();
        assert_eq!(session.get("aws:PrincipalArn"), Some(&[role][..]));
        let root = PrincipalInfo::from_arn("arn:aws:iam::111122223333:root");
        assert!(root.is_account_root());
        assert!(!PrincipalInfo::Service("s3.amazonaws.com".into()).is_account_root());
    }

    #[test]
    fn request_keys_shadow_caller_keys_and_removal_does_not_touch_the_shared_caller() {
        let caller = Arc::new(
            Caller::new(PrincipalInfo::from_arn(
                "arn:aws:iam::111122223333:user/Alice",
            ))
            .with("aws:PrincipalTag/Team", ["blue"]),
        );
        let mut ctx = RequestContext::for_caller(Arc::clone(&caller), "kms:Encrypt", "*");
        assert_eq!(
            ctx.get("aws:principaltag/team"),
            Some(&["blue".to_owned()][..])
        );
        ctx.insert("aws:PrincipalTag/Team", ["red"]);
        assert_eq!(
            ctx.get("aws:PrincipalTag/Team"),
            Some(&["red".to_owned()][..])
        );
        ctx.remove("aws:PrincipalTag/Team");
        assert_eq!(ctx.get("aws:PrincipalTag/Team"), None);
        assert_eq!(
            caller.keys().get("aws:PrincipalTag/Team"),
            Some(&["blue".to_owned()][..])
        );
        let other = RequestContext::for_caller(caller, "kms:Decrypt", "*");
        assert!(other.get("aws:PrincipalTag/Team").is_some());
    }
}

//! The request as the evaluator sees it: who calls, which action on which key, and the values of
//! the condition keys.
//!
//! Everything here is plain data built by the service layer; the evaluator never reaches out for
//! more (no clock, no directory), so a decision is a pure function of policy and context and the
//! policy simulator can replay it. Condition values are strings, as in IAM's request context;
//! each typed operator parses them when it compares.

use std::collections::BTreeMap;

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

/// The values of the request's condition keys. Key names compare case-insensitively, as IAM's
/// do; values are case-sensitive. Every key may hold several values (`kms:EncryptionContextKeys`,
/// `kms:GrantOperations`, `aws:TagKeys`); a single-valued key is a list of one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionKeys {
    values: BTreeMap<String, Vec<String>>,
}

impl ConditionKeys {
    /// Sets `key` to `values`, replacing what it held.
    pub fn insert<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        self.values.insert(key.to_lowercase(), values);
    }

    /// Removes `key`, so that it is absent from the request.
    pub fn remove(&mut self, key: &str) {
        self.values.remove(&key.to_lowercase());
    }

    /// The values of `key`; `None` when the request does not carry it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values.get(&key.to_lowercase()).map(Vec::as_slice)
    }
}

/// `aws:PrincipalArn`: the caller's ARN, except that a role session is represented by its role
/// (`arn:…:iam::ACCOUNT:role/NAME`), as IAM does. The role's path is not in the session ARN,
/// so a role with a path must have the key set by the caller, who knows the role.
fn principal_arn(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let [_, partition, "sts", _, account, resource] = parts.as_slice()
        && let Some(role) = resource.strip_prefix("assumed-role/")
    {
        let name = role.split('/').next().unwrap_or_default();
        return format!("arn:{partition}:iam::{account}:role/{name}");
    }
    arn.to_owned()
}

/// One authorization question: may `principal` call `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The caller.
    pub principal: PrincipalInfo,
    /// The action, `service:Operation`, e.g. `kms:Encrypt`.
    pub action: String,
    /// The ARN of the key the request acts on.
    pub resource: String,
    /// The condition keys and their values.
    pub keys: ConditionKeys,
}

impl RequestContext {
    /// A context with the keys IAM derives from the caller already set: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `kms:CallerAccount`, `aws:PrincipalType`, and `aws:username` for
    /// IAM users. The caller adds the rest (or overrides these) through [`Self::keys`].
    pub fn new(principal: PrincipalInfo, action: &str, resource: &str) -> Self {
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
            action: action.to_owned(),
            resource: resource.to_owned(),
            keys,
        }
    }

    /// Sets a condition key; for building contexts fluently.
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
        keys.remove("kms:encryptionContext:DEPT");
        assert_eq!(keys.get("kms:EncryptionContext:Dept"), None);
    }

    #[test]
    fn new_derives_the_principal_keys() {
        let ctx = RequestContext::new(
            PrincipalInfo::from_arn("arn:aws:iam::111122223333:user/dev/Alice"),
            "kms:Encrypt",
            "arn:aws:kms:us-east-1:111122223333:key/k",
        );
        assert_eq!(
            ctx.keys.get("aws:username"),
            Some(&["Alice".to_owned()][..])
        );
        assert_eq!(
            ctx.keys.get("kms:CallerAccount"),
            Some(&["111122223333".to_owned()][..])
        );
        assert_eq!(
            ctx.keys.get("aws:PrincipalType"),
            Some(&["User".to_owned()][..])
        );
        let session = RequestContext::new(
            PrincipalInfo::from_arn("arn:aws:sts::111122223333:assumed-role/Ops/s1"),
            "kms:Encrypt",
            "arn:aws:kms:us-east-1:111122223333:key/k",
        );
        let role = "arn:aws:iam::111122223333:role/Ops".to_owned();
        assert_eq!(session.keys.get("aws:PrincipalArn"), Some(&[role][..]));
        let root = PrincipalInfo::from_arn("arn:aws:iam::111122223333:root");
        assert!(root.is_account_root());
        assert!(!PrincipalInfo::Service("s3.amazonaws.com".into()).is_account_root());
    }
}

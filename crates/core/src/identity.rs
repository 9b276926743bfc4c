//! Identities: accounts, principals and their access keys.
//!
//! Every account has a root principal (`arn:…:iam::ACCOUNT:root`); IAM users and roles live in
//! an account; an assumed-role session is a role's temporary credentials. Inline identity
//! policies (PutUserPolicy, PutRolePolicy) are stored as text on their user or role. A secret
//! access key is stored only wrapped under the root key, and a session token only as a digest.

use crate::ids::AccountId;
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its 12-digit id.
    pub id: AccountId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Whether an access key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKeyStatus {
    /// Usable.
    Active,
    /// Refused.
    Inactive,
}

impl AccessKeyStatus {
    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(Self::Active),
            "Inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its account.
    pub account: AccountId,
    /// Its name, unique in the account (case-insensitively, as IAM's are).
    pub name: String,
    /// Its path (`/` or `/division/team/`).
    pub path: String,
    /// Its unique id (`AIDA…`), the `aws:userid` of its requests.
    pub id: String,
    /// `arn:PARTITION:iam::ACCOUNT:user` + path + name.
    pub arn: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its tags (`aws:PrincipalTag/*` of its requests).
    pub tags: BTreeMap<String, String>,
    /// Its inline identity policies, by policy name.
    pub policies: BTreeMap<String, String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Its account.
    pub account: AccountId,
    /// Its name, unique in the account (case-insensitively).
    pub name: String,
    /// Its path.
    pub path: String,
    /// Its unique id (`AROA…`).
    pub id: String,
    /// `arn:PARTITION:iam::ACCOUNT:role` + path + name.
    pub arn: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// Its description (may be empty).
    pub description: String,
    /// The longest session AssumeRole may grant, in seconds (3600–43200).
    pub max_session_duration: u32,
    /// The trust policy: who may assume the role.
    pub trust_policy: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its inline identity policies, by policy name.
    pub policies: BTreeMap<String, String>,
}

/// Temporary credentials of an assumed-role session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The role's name.
    pub role_name: String,
    /// The role's unique id (the session's `aws:userid` is `ROLEID:SESSIONNAME`).
    pub role_id: String,
    /// The session name the caller chose.
    pub session_name: String,
    /// SHA-256 of the session token; the token itself is never stored.
    pub token_digest: Vec<u8>,
    /// When the credentials stop working.
    pub expires_at: Timestamp,
}

/// Whose an access key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessKeyOwner {
    /// The account's root user.
    Root,
    /// The IAM user of this name.
    User(String),
    /// An assumed-role session (temporary credentials, `ASIA…`).
    Session(Session),
}

/// An access key of a principal. The secret is wrapped under the root key with
/// [`access_key_aad`] as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The public id (`AKIA…`, or `ASIA…` for temporary credentials).
    pub id: String,
    /// The account of the principal.
    pub account: AccountId,
    /// The principal's ARN (`arn:aws:iam::ACCOUNT:root` for the account root).
    pub principal_arn: String,
    /// Whose key it is.
    pub owner: AccessKeyOwner,
    /// The secret access key, wrapped under the root key. Never plaintext.
    pub wrapped_secret: Vec<u8>,
    /// Active or inactive.
    pub status: AccessKeyStatus,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The associated data that binds a wrapped secret access key to its access key id.
pub fn access_key_aad(access_key_id: &str) -> Vec<u8> {
    let mut aad = b"strongroom/access-key/v1\0".to_vec();
    aad.extend_from_slice(access_key_id.as_bytes());
    aad
}

/// Is `s` acceptable as an IAM user or role name? 1–64 characters of `[A-Za-z0-9+=,.@_-]`.
pub fn valid_principal_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(is_name_byte)
}

/// Is `s` acceptable as an IAM path? `/`, or `/`-delimited segments starting and ending with
/// `/`, at most 512 characters of printable ASCII.
pub fn valid_path(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s.starts_with('/')
        && s.ends_with('/')
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// Is `s` acceptable as an inline policy name or a session name? 1–128 (policy) or 2–64
/// (session) characters of `[A-Za-z0-9+=,.@_-]`; the caller passes the bounds.
pub fn valid_name_in(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(is_name_byte)
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b)
}

/// The ARN of a user or role: `arn:PARTITION:iam::ACCOUNT:KIND` + path + name.
pub fn iam_arn(partition: &str, account: &AccountId, kind: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:{kind}{path}{name}")
}

/// The ARN of an assumed-role session.
pub fn session_arn(partition: &str, account: &AccountId, role: &str, session: &str) -> String {
    format!("arn:{partition}:sts::{account}:assumed-role/{role}/{session}")
}

/// Is `s` acceptable as an access key id? 16–128 characters of `[A-Z0-9]` (IAM's rule).
pub fn valid_access_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_id_rule() {
        assert!(valid_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!valid_access_key_id("akiaiosfodnn7example"));
        assert!(!valid_access_key_id("AKIA"));
    }

    #[test]
    fn aad_depends_on_id() {
        assert_ne!(access_key_aad("A"), access_key_aad("B"));
        assert_eq!(
            AccessKeyStatus::parse("Active"),
            Some(AccessKeyStatus::Active)
        );
    }
}

//! Identities: accounts, principals and their access keys.
//!
//! This first cut has the account root principal only; users, roles and sessions come with
//! access control. A secret access key is stored only wrapped under the root key.

use crate::ids::AccountId;
use crate::time::Timestamp;

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

/// An access key of a principal. The secret is wrapped under the root key with
/// [`access_key_aad`] as associated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// The public id (`AKIA…`).
    pub id: String,
    /// The account of the principal.
    pub account: AccountId,
    /// The principal's ARN (`arn:aws:iam::ACCOUNT:root` for the account root).
    pub principal_arn: String,
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

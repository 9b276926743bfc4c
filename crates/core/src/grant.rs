//! Grants: per-key permissions for one grantee principal to call a listed set of operations,
//! optionally only with a given encryption context. Grants only allow; they never deny.

use crate::ids::{AccountId, KeyId};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// The most grants one key may have (AWS's quota: 50,000 grants per KMS key).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;

crate::key::wire_enum!(
    /// The operations a grant may allow (AWS's `GrantOperation`). The names are the
    /// permissions' names: ReEncrypt is two permissions, `ReEncryptFrom` and `ReEncryptTo`.
    GrantOperation {
        /// Decrypt.
        Decrypt = "Decrypt",
        /// Encrypt.
        Encrypt = "Encrypt",
        /// GenerateDataKey.
        GenerateDataKey = "GenerateDataKey",
        /// GenerateDataKeyWithoutPlaintext.
        GenerateDataKeyWithoutPlaintext = "GenerateDataKeyWithoutPlaintext",
        /// ReEncrypt with the key as the source.
        ReEncryptFrom = "ReEncryptFrom",
        /// ReEncrypt with the key as the destination.
        ReEncryptTo = "ReEncryptTo",
        /// Sign.
        Sign = "Sign",
        /// Verify.
        Verify = "Verify",
        /// GetPublicKey.
        GetPublicKey = "GetPublicKey",
        /// CreateGrant (a grantee may create grants with a subset of its operations).
        CreateGrant = "CreateGrant",
        /// RetireGrant.
        RetireGrant = "RetireGrant",
        /// DescribeKey.
        DescribeKey = "DescribeKey",
        /// GenerateDataKeyPair.
        GenerateDataKeyPair = "GenerateDataKeyPair",
        /// GenerateDataKeyPairWithoutPlaintext.
        GenerateDataKeyPairWithoutPlaintext = "GenerateDataKeyPairWithoutPlaintext",
        /// GenerateMac.
        GenerateMac = "GenerateMac",
        /// VerifyMac.
        VerifyMac = "VerifyMac",
        /// DeriveSharedSecret.
        DeriveSharedSecret = "DeriveSharedSecret",
    }
);

/// Encryption-context constraints of a grant. At most one of the two is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantConstraints {
    /// The request's encryption context must be exactly this.
    pub equals: Option<BTreeMap<String, String>>,
    /// The request's encryption context must include every pair of this.
    pub subset: Option<BTreeMap<String, String>>,
}

impl GrantConstraints {
    /// Whether a request with encryption context `context` satisfies the constraints.
    pub fn allow(&self, context: &BTreeMap<String, String>) -> bool {
        let equals_ok = self.equals.as_ref().is_none_or(|e| e == context);
        let subset_ok = self
            .subset
            .as_ref()
            .is_none_or(|s| s.iter().all(|(k, v)| context.get(k) == Some(v)));
        equals_ok && subset_ok
    }
}

impl GrantConstraints {
    /// Whether constraints `child` are at least as strict as `parent`'s: a grantee holding a
    /// grant with the CreateGrant operation may pass on only what it holds.
    pub fn narrows(child: Option<&Self>, parent: Option<&Self>) -> bool {
        let Some(parent) = parent else {
            return true;
        };
        let Some(child) = child else {
            return false;
        };
        match (&parent.equals, &parent.subset) {
            (Some(pe), _) => child.equals.as_ref() == Some(pe),
            (None, Some(ps)) => {
                let covers =
                    |m: &BTreeMap<String, String>| ps.iter().all(|(k, v)| m.get(k) == Some(v));
                child.equals.as_ref().is_some_and(covers)
                    || child.subset.as_ref().is_some_and(covers)
            }
            (None, None) => true,
        }
    }
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key it is on.
    pub key_id: KeyId,
    /// The key's account.
    pub account: AccountId,
    /// Its id: 64 hex digits.
    pub id: String,
    /// The optional name, which makes CreateGrant idempotent.
    pub name: Option<String>,
    /// Who may use it: an account, user, role or session ARN, or a service principal.
    pub grantee_principal: String,
    /// Who may retire it besides the grantee (with the RetireGrant operation) and the account.
    pub retiring_principal: Option<String>,
    /// The account root ARN of the caller who created it.
    pub issuing_account: String,
    /// What it allows, in the order given.
    pub operations: Vec<GrantOperation>,
    /// Its encryption-context constraints, if any.
    pub constraints: Option<GrantConstraints>,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Grant {
    /// Whether this grant allows `operation` with encryption context `context`. Constraints
    /// restrict only cryptographic operations that take an encryption context; for the others
    /// (DescribeKey, RetireGrant, CreateGrant…) AWS ignores them, and so do we.
    pub fn allows(&self, operation: GrantOperation, context: &BTreeMap<String, String>) -> bool {
        self.operations.contains(&operation)
            && (!takes_context(operation)
                || self.constraints.as_ref().is_none_or(|c| c.allow(context)))
    }
}

/// Whether grant constraints apply to `operation`.
fn takes_context(operation: GrantOperation) -> bool {
    matches!(
        operation,
        GrantOperation::Decrypt
            | GrantOperation::Encrypt
            | GrantOperation::GenerateDataKey
            | GrantOperation::GenerateDataKeyWithoutPlaintext
            | GrantOperation::GenerateDataKeyPair
            | GrantOperation::GenerateDataKeyPairWithoutPlaintext
            | GrantOperation::ReEncryptFrom
            | GrantOperation::ReEncryptTo
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn grant(constraints: Option<GrantConstraints>) -> Grant {
        Grant {
            key_id: KeyId::from_bytes([1; 16]),
            account: AccountId::parse("111122223333").unwrap(),
            id: "0".repeat(64),
            name: None,
            grantee_principal: "arn:aws:iam::111122223333:user/a".into(),
            retiring_principal: None,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            operations: vec![GrantOperation::Decrypt, GrantOperation::DescribeKey],
            constraints,
            created_at: Timestamp(0),
        }
    }

    #[test]
    fn constraints_apply_to_cryptographic_operations_only() {
        let g = grant(Some(GrantConstraints {
            equals: Some(ctx(&[("a", "1")])),
            subset: None,
        }));
        assert!(g.allows(GrantOperation::Decrypt, &ctx(&[("a", "1")])));
        assert!(!g.allows(GrantOperation::Decrypt, &ctx(&[("a", "1"), ("b", "2")])));
        assert!(!g.allows(GrantOperation::Decrypt, &ctx(&[])));
        assert!(g.allows(GrantOperation::DescribeKey, &ctx(&[])));
        assert!(!g.allows(GrantOperation::Encrypt, &ctx(&[("a", "1")])));
    }

    #[test]
    fn subset_needs_every_pair() {
        let g = grant(Some(GrantConstraints {
            equals: None,
            subset: Some(ctx(&[("a", "1")])),
        }));
        assert!(g.allows(GrantOperation::Decrypt, &ctx(&[("a", "1"), ("b", "2")])));
        assert!(!g.allows(GrantOperation::Decrypt, &ctx(&[("a", "2")])));
        assert!(grant(None).allows(GrantOperation::Decrypt, &ctx(&[])));
    }
}

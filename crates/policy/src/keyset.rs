//! Which condition keys a policy reads, so that the service builds only those.
//!
//! A policy reads a key when a condition tests it, or when a policy variable names it
//! (`${aws:username}` in a `Resource`, `${aws:PrincipalTag/Team}` in a string or ARN condition
//! value). Variables count only in `2012-10-17` policies, the only ones where the evaluator
//! substitutes them. The set is computed once, when the policy is parsed, and answers
//! [`ConditionKeySet::needs`] without allocating:
//!
//! - `needs("kms:EncryptionContext:Department")` — is this exact key read? Names compare
//!   case-insensitively, as the evaluator compares them.
//! - `needs("kms:EncryptionContext:*")` — is any key of the family read? A query ending in `*`
//!   asks about every key that starts with the text before it; the families the service builds
//!   are `kms:EncryptionContext:*`, `aws:ResourceTag/*`, `aws:RequestTag/*` and
//!   `aws:PrincipalTag/*`.
//!
//! A key the set does not need can be left out of the request without changing any decision of
//! the policy: the evaluator reads no other key. (`IfExists`, `Null` and negated operators do
//! read absent keys, which is why every tested key is in the set, whatever its operator.)

use std::cmp::Ordering;

use crate::context::{cmp_folded, fold_key};
use crate::model::{ResourcePattern, ResourceSpec, Statement, ValueKind};
use crate::wildcard;

/// The condition keys a policy reads; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionKeySet {
    /// Folded (lower-case) names, sorted, without repeats.
    keys: Vec<String>,
}

impl ConditionKeySet {
    /// The keys read by `statements`; `variables` is whether policy variables are substituted.
    pub(crate) fn of_statements(statements: &[Statement], variables: bool) -> Self {
        let mut keys = Vec::new();
        for statement in statements {
            for condition in &statement.conditions {
                keys.push(fold_key(&condition.key));
                let patterned = matches!(
                    condition.operator.test.value_kind(),
                    ValueKind::String | ValueKind::Arn
                );
                if variables && patterned {
                    for value in &condition.values {
                        keys.extend(wildcard::variable_keys(value.as_text()).map(fold_key));
                    }
                }
            }
            if let (true, Some(ResourceSpec::Resource(p) | ResourceSpec::NotResource(p))) =
                (variables, &statement.resource)
            {
                for pattern in p {
                    if let ResourcePattern::Arn(text) = pattern {
                        keys.extend(wildcard::variable_keys(text).map(fold_key));
                    }
                }
            }
        }
        keys.sort_unstable();
        keys.dedup();
        Self { keys }
    }

    /// Whether the policy reads `key`, or, for a query ending in `*`, any key that starts with
    /// the text before the `*`. Case-insensitive; never allocates.
    pub fn needs(&self, key: &str) -> bool {
        match key.strip_suffix('*') {
            Some(prefix) => {
                let start = self
                    .keys
                    .partition_point(|k| cmp_prefix(k, prefix) == Ordering::Less);
                self.keys
                    .get(start)
                    .is_some_and(|k| cmp_prefix(k, prefix) == Ordering::Equal)
            }
            None => self.keys.binary_search_by(|k| cmp_folded(k, key)).is_ok(),
        }
    }

    /// Whether the policy reads no condition key at all (true of the default key policy).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many distinct keys the policy reads.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys, lower-cased, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(String::as_str)
    }
}

/// Compares the start of a folded name with a prefix as written: `Equal` when the name starts
/// with the prefix, else the order of the name's start against the prefix. Consistent with
/// the sort order of folded names, so the names starting with a prefix are one run.
fn cmp_prefix(folded: &str, prefix: &str) -> Ordering {
    let mut name = folded.chars();
    for p in prefix.chars().flat_map(char::to_lowercase) {
        match name.next() {
            None => return Ordering::Less,
            Some(c) if c != p => return c.cmp(&p),
            Some(_) => {}
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(keys: &[&str]) -> ConditionKeySet {
        let mut keys: Vec<String> = keys.iter().map(|k| fold_key(k)).collect();
        keys.sort_unstable();
        keys.dedup();
        ConditionKeySet { keys }
    }

    #[test]
    fn exact_queries_ignore_case() {
        let s = set(&["kms:EncryptionContext:Department", "aws:SourceIp"]);
        assert!(s.needs("kms:encryptioncontext:department"));
        assert!(s.needs("AWS:SOURCEIP"));
        assert!(!s.needs("kms:EncryptionContext:Dept"));
        assert!(!s.needs("kms:EncryptionContext:*Department"));
    }

    #[test]
    fn family_queries_find_any_member() {
        let s = set(&[
            "aws:ResourceTag/Project",
            "kms:CallerAccount",
            "kms:ViaService",
        ]);
        assert!(s.needs("aws:ResourceTag/*"));
        assert!(s.needs("AWS:resourcetag/*"));
        assert!(!s.needs("aws:RequestTag/*"));
        assert!(!s.needs("kms:EncryptionContext:*"));
        assert!(s.needs("kms:*"));
        assert!(s.needs("*"));
        assert!(!set(&[]).needs("*"));
        assert!(!s.needs("aws:ResourceTag/Project/*"));
        assert!(s.needs("aws:ResourceTag/Project*"));
    }
}

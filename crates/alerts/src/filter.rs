//! Which events a rule looks at: optional lists of principal, key and event-name patterns.
//! A list that is present must match (any of its patterns); lists combine with AND.
//!
//! Patterns are exact strings in which `*` matches any run of characters (including none) and
//! `?` exactly one, as in IAM policy ARNs: `arn:aws:iam::111122223333:user/ops-*`. Matching is
//! case-sensitive, as ARNs and operation names are.

use crate::facts;
use strongroom_audit::AuditEvent;

/// One glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern(String);

impl Pattern {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Whether `text` matches the whole pattern. Iterative, with one backtrack point per
    /// `*`, so a hostile pattern cannot make matching exponential.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let p: Vec<char> = self.0.chars().collect();
        let t: Vec<char> = text.chars().collect();
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(&c) if c == '?' || c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

/// A rule's filter; the default matches every event.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub(crate) principals: Option<Vec<Pattern>>,
    pub(crate) keys: Option<Vec<Pattern>>,
    pub(crate) event_names: Option<Vec<Pattern>>,
}

fn any(patterns: &[Pattern], text: &str) -> bool {
    patterns.iter().any(|p| p.matches(text))
}

impl Filter {
    /// Whether the rule should look at `event`. `principals` matches the caller (see
    /// [`facts::principal`]); `keys` matches if any key the event names matches.
    pub(crate) fn matches(&self, event: &AuditEvent) -> bool {
        if let Some(names) = &self.event_names
            && !any(names, &event.event_name)
        {
            return false;
        }
        if let Some(principals) = &self.principals
            && !facts::principal(event).is_some_and(|p| any(principals, p))
        {
            return false;
        }
        if let Some(keys) = &self.keys
            && !facts::key_arns(event).any(|k| any(keys, k))
        {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{api_call, with_key};

    #[test]
    fn glob_matching() {
        let p = Pattern::new("arn:aws:iam::*:user/ops-*");
        assert!(p.matches("arn:aws:iam::111122223333:user/ops-alice"));
        assert!(p.matches("arn:aws:iam::111122223333:user/ops-"));
        assert!(!p.matches("arn:aws:iam::111122223333:user/dev-alice"));
        assert!(!p.matches("arn:aws:iam::111122223333:role/ops-x"));
        assert!(Pattern::new("Disable?ey").matches("DisableKey"));
        assert!(!Pattern::new("Disable?ey").matches("DisableKeyRotation"));
        assert!(Pattern::new("*").matches(""));
        assert!(Pattern::new("a*b*c").matches("a-b-b-c"));
        assert!(!Pattern::new("a*b*c").matches("a-b-b-"));
        assert!(Pattern::new("Encrypt").matches("Encrypt"));
        assert!(!Pattern::new("encrypt").matches("Encrypt"));
        // Pathological input stays fast (linear backtracking).
        let long = "a".repeat(5_000);
        assert!(!Pattern::new("*a*a*a*a*a*a*b").matches(&long));
    }

    #[test]
    fn lists_combine_with_and_patterns_with_or() {
        let key = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let e = with_key(api_call("Decrypt", "arn:aws:iam::111122223333:user/a"), key);
        let f = Filter {
            principals: Some(vec![Pattern::new("*:user/b"), Pattern::new("*:user/a")]),
            keys: Some(vec![Pattern::new("*:key/k1")]),
            event_names: Some(vec![Pattern::new("Decrypt")]),
        };
        assert!(f.matches(&e));
        let wrong_key = Filter {
            keys: Some(vec![Pattern::new("*:key/k2")]),
            ..f.clone()
        };
        assert!(!wrong_key.matches(&e));
        let wrong_name = Filter {
            event_names: Some(vec![Pattern::new("Encrypt")]),
            ..f.clone()
        };
        assert!(!wrong_name.matches(&e));
        assert!(Filter::default().matches(&e));
        // An event without keys never matches a key filter.
        let keyless = api_call("ListKeys", "arn:aws:iam::111122223333:user/a");
        assert!(!f.matches(&keyless));
    }
}

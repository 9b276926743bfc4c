//! Combining a resource policy (a KMS key policy, or a role's trust policy) with the caller's
//! identity policies into one decision, as AWS does for KMS keys.
//!
//! [`authorize`] is a pure function of an [`AuthorizationInput`]: it evaluates each policy with
//! [`crate::evaluate()`]'s rules and combines the results. Grants are not policy documents and are
//! the service's to check; see "Grants" below for how they fit.
//!
//! # Rules
//!
//! In the order they are applied:
//!
//! 1. An explicit `Deny` in the resource policy or in any identity policy denies: nothing
//!    outvotes it ("An explicit deny overrides an explicit allow", IAM "Policy evaluation
//!    logic"; KMS: no principal has access unless it is "explicitly allowed, and never denied,
//!    in a key policy, IAM policy, or grant", "Key policies in AWS KMS"). An IAM policy may deny
//!    access to a key even though the key policy does not enable IAM policies.
//! 2. With a resource policy (a KMS key action, or sts:AssumeRole with the role's trust policy):
//!    - the resource policy must allow the caller; if it does not, identity policies cannot help
//!      ("Without permission from the key policy, IAM policies that allow permissions have no
//!      effect", "Key policies in AWS KMS");
//!    - an allow that names the caller ([`PrincipalMatch::Direct`]: its ARN, its role, `*`, a
//!      service principal, or the account root user itself) is enough within the resource's
//!      account;
//!    - an allow that names only the caller's account ([`PrincipalMatch::AccountDelegation`])
//!      needs an identity-policy allow as well ("Allows access to the AWS account and enables
//!      IAM policies", "Default key policy");
//!    - across accounts (caller's account ≠ resource account), every allow needs the caller's
//!      side as well: the caller is its account's root user, or an identity policy allows ("Cross-
//!      account access requires permission in the key policy of the KMS key and in an IAM policy
//!      in the external user's account", "Allowing users in other accounts to use a KMS key"; IAM
//!      "Cross-account policy evaluation logic").
//! 3. Without a resource policy (actions governed by IAM alone: CreateKey, ListKeys,
//!    ListAliases, GenerateRandom, IAM and STS actions other than AssumeRole): the action must be
//!    in the caller's account (`resource_account` is `None` or the caller's), and then the
//!    caller is the account's root user (who has every permission in its account: "By default,
//!    all requests are implicitly denied with the exception of the AWS account root user, which
//!    has full access", IAM "How AWS enforcement code logic evaluates requests") or an identity
//!    policy allows. An action on a resource of another account with no resource policy is
//!    denied.
//!
//! A service principal has no account and no identity policies: a resource-policy allow that
//! names it is enough, and without a resource policy it is denied.
//!
//! # Explanation
//!
//! [`Authorization::Allowed`] lists what allowed the request (the resource policy statement,
//! then the identity policy statement or the account root user); [`Authorization::Denied`]
//! says why not, and [`Denial::phrase`] gives the end of AWS's AccessDenied message for it.
//! When several statements or policies could be reported, the one reported is chosen by a fixed
//! rule — the resource policy's deny before an identity policy's, then the smallest
//! (policy name, `Sid`) — never by position, so neither the order of statements nor the order of
//! identity policies changes the explanation.
//!
//! # Grants
//!
//! A grant can only allow ("A grant can allow access to a KMS key, but not deny access",
//! <https://docs.aws.amazon.com/kms/latest/developerguide/grants.html>), and a principal has
//! access only if it is "explicitly allowed, and never denied, in a key policy, IAM policy, or
//! grant" (<https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html>): an
//! explicit deny in the key policy or an IAM policy therefore overrides a grant. The service
//! should call [`authorize`] first, answer an explicit denial ([`Denial::is_explicit`]) as is,
//! and consult grants only for the other denials.

use std::fmt;

use crate::context::RequestContext;
use crate::evaluate::{Evaluated, PrincipalMatch, evaluate_borrowed};
use crate::model::Policy;

/// Everything [`authorize`] decides on.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationInput<'a> {
    /// The request: caller, action, resource, condition keys.
    pub context: &'a RequestContext,
    /// The resource's policy: the key policy for a KMS key action, the role's trust policy for
    /// sts:AssumeRole; `None` for actions that no resource policy governs (CreateKey, ListKeys,
    /// ListAliases, GenerateRandom, IAM and STS actions).
    pub resource_policy: Option<&'a Policy>,
    /// The caller's identity policies, by policy name (a user's or role's inline policies).
    pub identity_policies: &'a [(&'a str, &'a Policy)],
    /// The account that owns the resource (the key's account); `None` for account-level
    /// actions, which are in the caller's account.
    pub resource_account: Option<&'a str>,
}

impl AuthorizationInput<'_> {
    /// Whether any of the input's policies reads the condition key `key` (or, for a query
    /// ending in `*`, any key of that family); see [`crate::ConditionKeySet::needs`]. A key no
    /// policy needs can be left out of the context without changing the decision.
    pub fn needs(&self, key: &str) -> bool {
        self.resource_policy
            .is_some_and(|p| p.condition_keys().needs(key))
            || self
                .identity_policies
                .iter()
                .any(|(_, p)| p.condition_keys().needs(key))
    }
}

/// The outcome of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// The request is allowed.
    Allowed {
        /// What allowed it: the resource policy statement first (if any), then the caller's
        /// side (an identity policy statement, or the account root user). One or two entries.
        by: Vec<Source<'a>>,
    },
    /// The request is denied.
    Denied {
        /// Why.
        reason: Denial<'a>,
    },
}

impl Authorization<'_> {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }

    /// The reason for a denial; `None` when allowed.
    pub fn denial(&self) -> Option<&Denial<'_>> {
        match self {
            Self::Allowed { .. } => None,
            Self::Denied { reason } => Some(reason),
        }
    }
}

/// One thing that allowed a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source<'a> {
    /// An allow statement of the resource policy (the key policy).
    ResourcePolicy {
        /// The statement's `Sid`.
        sid: Option<&'a str>,
    },
    /// An allow statement of one of the caller's identity policies.
    IdentityPolicy {
        /// The policy's name.
        name: &'a str,
        /// The statement's `Sid`.
        sid: Option<&'a str>,
    },
    /// The caller is the root user of its account, which needs no identity policy.
    AccountRoot,
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Denial<'a> {
    /// A deny statement of the resource policy applies.
    ExplicitDenyInResourcePolicy {
        /// The statement's `Sid`.
        sid: Option<&'a str>,
    },
    /// A deny statement of one of the caller's identity policies applies.
    ExplicitDenyInIdentityPolicy {
        /// The policy's name.
        name: &'a str,
        /// The statement's `Sid`.
        sid: Option<&'a str>,
    },
    /// The resource policy allows the caller only through the caller's IAM policies (or the
    /// request crosses accounts, or no resource policy governs the action), and no identity
    /// policy allows it.
    NoIdentityPolicyAllows,
    /// The resource policy does not allow the caller (or there is none, and the resource is in
    /// another account).
    NoResourcePolicyAllows,
}

impl<'a> Denial<'a> {
    /// Whether a deny statement decided (which a grant cannot override).
    pub fn is_explicit(&self) -> bool {
        matches!(
            self,
            Self::ExplicitDenyInResourcePolicy { .. } | Self::ExplicitDenyInIdentityPolicy { .. }
        )
    }

    /// The end of AWS's AccessDenied message for this denial of `action`, to follow
    /// "User: ARN is not authorized to perform: ACTION on resource: ARN ":
    /// "because no identity-based policy allows the kms:Encrypt action",
    /// "because no resource-based policy allows the kms:Encrypt action",
    /// "with an explicit deny in a resource-based policy",
    /// "with an explicit deny in an identity-based policy".
    pub fn phrase<'b>(&'b self, action: &'b str) -> DenialPhrase<'b> {
        DenialPhrase {
            denial: self,
            action,
        }
    }
}

/// [`Denial::phrase`]: displays the phrase without allocating.
#[derive(Debug, Clone, Copy)]
pub struct DenialPhrase<'b> {
    denial: &'b Denial<'b>,
    action: &'b str,
}

impl fmt::Display for DenialPhrase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = self.action;
        match self.denial {
            Denial::ExplicitDenyInResourcePolicy { .. } => {
                f.write_str("with an explicit deny in a resource-based policy")
            }
            Denial::ExplicitDenyInIdentityPolicy { .. } => {
                f.write_str("with an explicit deny in an identity-based policy")
            }
            Denial::NoIdentityPolicyAllows => {
                write!(
                    f,
                    "because no identity-based policy allows the {action} action"
                )
            }
            Denial::NoResourcePolicyAllows => {
                write!(
                    f,
                    "because no resource-based policy allows the {action} action"
                )
            }
        }
    }
}

/// Decides whether the request is allowed; see the module docs for the rules.
pub fn authorize<'a>(input: &AuthorizationInput<'a>) -> Authorization<'a> {
    let ctx = input.context;
    let resource = input.resource_policy.map(|p| evaluate_borrowed(p, ctx));
    if let Some(Evaluated::ExplicitDeny { sid }) = resource {
        return denied(Denial::ExplicitDenyInResourcePolicy { sid });
    }
    let mut identity_deny: Option<(&str, Option<&str>)> = None;
    let mut identity_allow: Option<(&str, Option<&str>)> = None;
    for &(name, policy) in input.identity_policies {
        match evaluate_borrowed(policy, ctx) {
            Evaluated::ExplicitDeny { sid } => keep_least(&mut identity_deny, (name, sid)),
            Evaluated::Allow { sid, .. } => keep_least(&mut identity_allow, (name, sid)),
            Evaluated::ImplicitDeny => {}
        }
    }
    if let Some((name, sid)) = identity_deny {
        return denied(Denial::ExplicitDenyInIdentityPolicy { name, sid });
    }

    let principal = ctx.principal();
    let caller_account = principal.account_id();
    let cross_account = match (input.resource_account, caller_account) {
        (Some(resource), Some(caller)) => resource != caller,
        _ => false,
    };
    // The caller's own side: its account's root user, or an identity-policy allow.
    let callers_side = if principal.is_account_root() {
        Some(Source::AccountRoot)
    } else {
        identity_allow.map(|(name, sid)| Source::IdentityPolicy { name, sid })
    };

    let Some(resource) = resource else {
        if cross_account || caller_account.is_none() {
            let reason = if cross_account {
                Denial::NoResourcePolicyAllows
            } else {
                Denial::NoIdentityPolicyAllows
            };
            return denied(reason);
        }
        return match callers_side {
            Some(source) => allowed(vec![source]),
            None => denied(Denial::NoIdentityPolicyAllows),
        };
    };
    let Evaluated::Allow { sid, principal } = resource else {
        return denied(Denial::NoResourcePolicyAllows);
    };
    let by_resource = Source::ResourcePolicy { sid };
    match (principal, cross_account) {
        (PrincipalMatch::Direct, false) => allowed(vec![by_resource]),
        (PrincipalMatch::Direct, true) => match callers_side {
            Some(source) => allowed(vec![by_resource, source]),
            None => denied(Denial::NoIdentityPolicyAllows),
        },
        // Delegation never matches a root user (whose account match is direct), so the caller's
        // side is an identity policy.
        (PrincipalMatch::AccountDelegation, _) => match callers_side {
            Some(source) => allowed(vec![by_resource, source]),
            None => denied(Denial::NoIdentityPolicyAllows),
        },
    }
}

/// Keeps the least (policy name, `Sid`) seen, so the report does not depend on order.
fn keep_least<'a>(best: &mut Option<(&'a str, Option<&'a str>)>, seen: (&'a str, Option<&'a str>)) {
    *best = Some(best.map_or(seen, |b| b.min(seen)));
}

fn allowed(by: Vec<Source<'_>>) -> Authorization<'_> {
    Authorization::Allowed { by }
}

fn denied(reason: Denial<'_>) -> Authorization<'_> {
    Authorization::Denied { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_are_aws_wording() {
        let cases = [
            (
                Denial::NoIdentityPolicyAllows,
                "because no identity-based policy allows the kms:Encrypt action",
            ),
            (
                Denial::NoResourcePolicyAllows,
                "because no resource-based policy allows the kms:Encrypt action",
            ),
            (
                Denial::ExplicitDenyInResourcePolicy { sid: Some("x") },
                "with an explicit deny in a resource-based policy",
            ),
            (
                Denial::ExplicitDenyInIdentityPolicy {
                    name: "p",
                    sid: None,
                },
                "with an explicit deny in an identity-based policy",
            ),
        ];
        for (denial, phrase) in cases {
            assert_eq!(denial.phrase("kms:Encrypt").to_string(), phrase);
        }
        assert!(Denial::ExplicitDenyInResourcePolicy { sid: None }.is_explicit());
        assert!(!Denial::NoIdentityPolicyAllows.is_explicit());
    }
}

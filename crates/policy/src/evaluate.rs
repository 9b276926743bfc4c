//! Key policy evaluation, as AWS evaluates a resource policy on its own.
//!
//! The algorithm is deliberately order-free: every statement is tested independently, then
//! - any applicable `Deny` gives [`Decision::ExplicitDeny`] (a deny cannot be outvoted);
//! - else any applicable `Allow` gives [`Decision::Allow`];
//! - else [`Decision::ImplicitDeny`] (nothing is allowed by default).
//!
//! When several statements decide, the one reported is chosen by a fixed rule (a direct allow
//! before a delegated one, then the smallest `Sid`), never by position, so reordering a policy
//! cannot change even the explanation. A statement applies when its principal, action and
//! resource elements all match and every condition holds; a statement without `Action` or
//! `Resource` applies to nothing (the parser documents why KMS accepts such statements).
//!
//! # The account principal is a delegation, not a grant
//!
//! In AWS, `"AWS": "arn:aws:iam::111122223333:root"` (or `"111122223333"`) in a key policy does
//! not let every identity of the account use the key: it lets the *account* decide, through its
//! IAM policies. Such an allow is reported as [`PrincipalMatch::AccountDelegation`]; the caller
//! must also find an identity-policy allow before it grants the request. The account's root user
//! itself needs no IAM policy, so for it the match is [`PrincipalMatch::Direct`]. A `Deny` naming
//! the account applies to every identity of the account.

use crate::context::{PrincipalInfo, RequestContext};
use crate::model::{
    ActionPattern, ActionSpec, AwsPrincipal, Effect, IamIdentity, Policy, PolicyVersion, Principal,
    PrincipalArn, PrincipalSpec, Principals, ResourcePattern, ResourceSpec, Statement,
};
use crate::operators;
use crate::wildcard;

/// The outcome of evaluating a policy for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A `Deny` statement applies; nothing else can allow the request.
    ExplicitDeny {
        /// The `Sid` of the deciding statement.
        sid: Option<String>,
    },
    /// An `Allow` statement applies and no `Deny` does.
    Allow {
        /// The `Sid` of the deciding statement.
        sid: Option<String>,
        /// How that statement named the caller.
        principal: PrincipalMatch,
    },
    /// No statement applies.
    ImplicitDeny,
}

impl Decision {
    /// Whether the key policy alone grants the request: an allow that names the caller directly.
    /// An [`PrincipalMatch::AccountDelegation`] allow still needs an identity-policy allow.
    pub fn is_allowed_by_key_policy_alone(&self) -> bool {
        matches!(
            self,
            Self::Allow {
                principal: PrincipalMatch::Direct,
                ..
            }
        )
    }
}

/// How a statement's principal element matched the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrincipalMatch {
    /// The caller is named (by ARN, role, service, `*`, or by not being excluded by
    /// `NotPrincipal`): the statement itself decides.
    Direct,
    /// The caller's account is named: the account's IAM policies must also allow the request.
    AccountDelegation,
}

/// Evaluates `policy` for `ctx`: explicit deny, allow, or implicit deny.
pub fn evaluate(policy: &Policy, ctx: &RequestContext) -> Decision {
    let variables = policy.version == Some(PolicyVersion::V2012_10_17);
    let mut deny: Option<Option<&String>> = None;
    let mut allow: Option<(PrincipalMatch, Option<&String>)> = None;
    for statement in &policy.statements {
        let Some(principal) = applies(statement, ctx, variables) else {
            continue;
        };
        let sid = statement.sid.as_ref();
        match statement.effect {
            Effect::Deny => deny = Some(deny.map_or(sid, |d| d.min(sid))),
            Effect::Allow => {
                let candidate = (principal, sid);
                allow = Some(allow.map_or(candidate, |a| a.min(candidate)));
            }
        }
    }
    match (deny, allow) {
        (Some(sid), _) => Decision::ExplicitDeny { sid: sid.cloned() },
        (None, Some((principal, sid))) => Decision::Allow {
            sid: sid.cloned(),
            principal,
        },
        (None, None) => Decision::ImplicitDeny,
    }
}

/// How the statement matches the caller, if it applies to the request at all.
fn applies(statement: &Statement, ctx: &RequestContext, variables: bool) -> Option<PrincipalMatch> {
    let principal = principal_match(&statement.principal, &ctx.principal)?;
    let action_ok = statement
        .action
        .as_ref()
        .is_some_and(|spec| action_matches(spec, &ctx.action));
    let resource_ok = statement
        .resource
        .as_ref()
        .is_some_and(|spec| resource_matches(spec, ctx, variables));
    let conditions_ok = statement
        .conditions
        .iter()
        .all(|c| operators::holds(c, &ctx.keys, variables));
    (action_ok && resource_ok && conditions_ok).then_some(principal)
}

fn principal_match(spec: &PrincipalSpec, caller: &PrincipalInfo) -> Option<PrincipalMatch> {
    match spec {
        PrincipalSpec::Principal(principals) => principals_match(principals, caller),
        PrincipalSpec::NotPrincipal(principals) => principals_match(principals, caller)
            .is_none()
            .then_some(PrincipalMatch::Direct),
    }
}

/// The best match among the listed principals: direct before delegated.
fn principals_match(principals: &Principals, caller: &PrincipalInfo) -> Option<PrincipalMatch> {
    match principals {
        Principals::Anyone => Some(PrincipalMatch::Direct),
        Principals::Listed(list) => list.iter().filter_map(|p| one_principal(p, caller)).min(),
    }
}

fn one_principal(principal: &Principal, caller: &PrincipalInfo) -> Option<PrincipalMatch> {
    match (principal, caller) {
        (Principal::Aws(AwsPrincipal::Anyone), _) => Some(PrincipalMatch::Direct),
        (Principal::Aws(AwsPrincipal::Account(id)), PrincipalInfo::Aws { account_id, .. }) => {
            account_match(id, account_id, caller)
        }
        (Principal::Aws(AwsPrincipal::Arn(named)), PrincipalInfo::Aws { arn, account_id }) => {
            arn_match(named, arn, account_id, caller)
        }
        (Principal::Service(name), PrincipalInfo::Service(caller_name)) => name
            .eq_ignore_ascii_case(caller_name)
            .then_some(PrincipalMatch::Direct),
        _ => None,
    }
}

fn account_match(named: &str, account_id: &str, caller: &PrincipalInfo) -> Option<PrincipalMatch> {
    if named != account_id {
        return None;
    }
    Some(if caller.is_account_root() {
        PrincipalMatch::Direct
    } else {
        PrincipalMatch::AccountDelegation
    })
}

/// A named ARN matches that identity exactly; a role also matches its assumed-role sessions.
fn arn_match(
    named: &PrincipalArn,
    arn: &str,
    account_id: &str,
    caller: &PrincipalInfo,
) -> Option<PrincipalMatch> {
    let same_partition = arn.split(':').nth(1) == Some(named.partition.as_str());
    if !same_partition || named.account_id != account_id {
        return None;
    }
    match &named.identity {
        IamIdentity::Root => account_match(&named.account_id, account_id, caller),
        IamIdentity::Role { name, .. } => {
            let session_of = arn
                .splitn(6, ':')
                .nth(5)
                .and_then(|r| r.strip_prefix("assumed-role/"))
                .and_then(|r| r.split('/').next());
            (named.to_string() == arn || session_of == Some(name.as_str()))
                .then_some(PrincipalMatch::Direct)
        }
        _ => (named.to_string() == arn).then_some(PrincipalMatch::Direct),
    }
}

/// Actions match case-insensitively; `*` and `?` are wildcards; policy variables do not apply.
fn action_matches(spec: &ActionSpec, action: &str) -> bool {
    let one = |pattern: &ActionPattern| match pattern {
        ActionPattern::All => true,
        ActionPattern::Scoped {
            service,
            action: name,
        } => {
            let (req_service, req_name) = action.split_once(':').unwrap_or(("", action));
            wildcard::matches(&wildcard::tokens(service), req_service, true)
                && wildcard::matches(&wildcard::tokens(name), req_name, true)
        }
    };
    match spec {
        ActionSpec::Action(patterns) => patterns.iter().any(one),
        ActionSpec::NotAction(patterns) => !patterns.iter().any(one),
    }
}

/// `*` is the key the policy is attached to; ARN patterns match part by part, case-sensitively,
/// after policy variables are substituted. A pattern whose variable cannot be resolved matches
/// no key.
fn resource_matches(spec: &ResourceSpec, ctx: &RequestContext, variables: bool) -> bool {
    let one = |pattern: &ResourcePattern| match pattern {
        ResourcePattern::All => true,
        ResourcePattern::Arn(text) => {
            let tokens = if variables {
                wildcard::substitute(text, &ctx.keys)
            } else {
                Some(wildcard::tokens(text))
            };
            tokens.is_some_and(|t| wildcard::arn_matches(&t, &ctx.resource))
        }
    };
    match spec {
        ResourceSpec::Resource(patterns) => patterns.iter().any(one),
        ResourceSpec::NotResource(patterns) => !patterns.iter().any(one),
    }
}

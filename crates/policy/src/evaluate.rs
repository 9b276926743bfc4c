//! Evaluation of one policy on its own, as AWS evaluates each policy before combining them
//! (the combining is [`crate::authorize()`]).
//!
//! The algorithm is deliberately order-free: every statement is tested independently, then
//! - any applicable `Deny` gives [`Decision::ExplicitDeny`] (a deny cannot be outvoted);
//! - else any applicable `Allow` gives [`Decision::Allow`];
//! - else [`Decision::ImplicitDeny`] (nothing is allowed by default).
//!
//! When several statements decide, the one reported is chosen by a fixed rule (a direct allow
//! before a delegated one, then the smallest `Sid`), never by position, so reordering a policy
//! cannot change even the explanation. A statement applies when its principal, action and
//! resource elements all match and every condition holds.
//!
//! What a missing element means depends on the [`PolicyKind`]:
//! - key policy: a statement without `Action` or `Resource` applies to nothing (the parser
//!   documents why KMS accepts such statements); `"Resource": "*"` is the key;
//! - identity policy: statements have no principal ([`PrincipalSpec::Implicit`]) and apply to
//!   whoever the policy is evaluated for, as a [`PrincipalMatch::Direct`] match;
//!   `"Resource": "*"` is any resource, including the `*` of an action on no resource;
//! - trust policy: statements have no `Resource` and apply to the role the policy is attached
//!   to, whatever the context's resource.
//!
//! # The account principal is a delegation, not a grant
//!
//! In AWS, `"AWS": "arn:aws:iam::111122223333:root"` (or `"111122223333"`) in a key policy does
//! not let every identity of the account use the key: it lets the *account* decide, through its
//! IAM policies. Such an allow is reported as [`PrincipalMatch::AccountDelegation`]; the caller
//! must also find an identity-policy allow before it grants the request. The account's root user
//! itself needs no IAM policy, so for it the match is [`PrincipalMatch::Direct`]. A `Deny` naming
//! the account applies to every identity of the account. A role's trust policy is read the same
//! way: the two are the resource policies for which AWS requires an allow naming the caller (or
//! an identity-policy allow when only the account is named) even within one account.

use std::fmt;

use crate::context::{PrincipalInfo, RequestContext};
use crate::model::{
    ActionPattern, ActionSpec, AwsPrincipal, Effect, IamIdentity, Policy, PolicyKind,
    PolicyVersion, Principal, PrincipalArn, PrincipalSpec, Principals, ResourcePattern,
    ResourceSpec, Statement,
};
use crate::operators;
use crate::wildcard::{self, Written};

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
///
/// Apart from copying the deciding `Sid` into the [`Decision`], evaluation allocates nothing
/// unless a pattern holds a policy variable to substitute.
pub fn evaluate(policy: &Policy, ctx: &RequestContext) -> Decision {
    match evaluate_borrowed(policy, ctx) {
        Evaluated::ExplicitDeny { sid } => Decision::ExplicitDeny {
            sid: sid.map(str::to_owned),
        },
        Evaluated::Allow { sid, principal } => Decision::Allow {
            sid: sid.map(str::to_owned),
            principal,
        },
        Evaluated::ImplicitDeny => Decision::ImplicitDeny,
    }
}

/// [`Decision`] with the deciding `Sid` borrowed from the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evaluated<'p> {
    ExplicitDeny {
        sid: Option<&'p str>,
    },
    Allow {
        sid: Option<&'p str>,
        principal: PrincipalMatch,
    },
    ImplicitDeny,
}

/// [`evaluate`] without copying the deciding `Sid`.
pub(crate) fn evaluate_borrowed<'p>(policy: &'p Policy, ctx: &RequestContext) -> Evaluated<'p> {
    let variables = policy.version == Some(PolicyVersion::V2012_10_17);
    let kind = policy.kind();
    // A user or role created after the policy was saved is not the one the policy names.
    let newer = matches!(
        (policy.saved_at(), ctx.caller().identity_created_at()),
        (Some(saved), Some(created)) if created > saved
    );
    let mut deny: Option<Option<&str>> = None;
    let mut allow: Option<(PrincipalMatch, Option<&str>)> = None;
    for statement in &policy.statements {
        let Some(principal) = applies(statement, kind, ctx, variables, newer) else {
            continue;
        };
        let sid = statement.sid.as_deref();
        match statement.effect {
            Effect::Deny => deny = Some(deny.map_or(sid, |d| d.min(sid))),
            Effect::Allow => {
                let candidate = (principal, sid);
                allow = Some(allow.map_or(candidate, |a| a.min(candidate)));
            }
        }
    }
    match (deny, allow) {
        (Some(sid), _) => Evaluated::ExplicitDeny { sid },
        (None, Some((principal, sid))) => Evaluated::Allow { sid, principal },
        (None, None) => Evaluated::ImplicitDeny,
    }
}

/// How the statement matches the caller, if it applies to the request at all.
fn applies(
    statement: &Statement,
    kind: PolicyKind,
    ctx: &RequestContext,
    variables: bool,
    newer: bool,
) -> Option<PrincipalMatch> {
    let principal = principal_match(&statement.principal, ctx.principal(), newer)?;
    let action_ok = statement
        .action
        .as_ref()
        .is_some_and(|spec| action_matches(spec, ctx.action()));
    let resource_ok = match &statement.resource {
        Some(spec) => resource_matches(spec, ctx, variables),
        // A trust policy has no Resource element: its statements are about the role.
        None => kind == PolicyKind::Trust,
    };
    let conditions_ok = statement
        .conditions
        .iter()
        .all(|c| operators::holds(c, ctx, variables));
    (action_ok && resource_ok && conditions_ok).then_some(principal)
}

/// `newer`: the caller's user or role was created after the policy was saved, so an ARN naming
/// it names another, earlier identity of the same name.
fn principal_match(
    spec: &PrincipalSpec,
    caller: &PrincipalInfo,
    newer: bool,
) -> Option<PrincipalMatch> {
    match spec {
        PrincipalSpec::Principal(principals) => principals_match(principals, caller, newer),
        PrincipalSpec::NotPrincipal(principals) => principals_match(principals, caller, newer)
            .is_none()
            .then_some(PrincipalMatch::Direct),
        PrincipalSpec::Implicit => Some(PrincipalMatch::Direct),
    }
}

/// The best match among the listed principals: direct before delegated.
fn principals_match(
    principals: &Principals,
    caller: &PrincipalInfo,
    newer: bool,
) -> Option<PrincipalMatch> {
    match principals {
        Principals::Anyone => Some(PrincipalMatch::Direct),
        Principals::Listed(list) => list
            .iter()
            .filter_map(|p| one_principal(p, caller, newer))
            .min(),
    }
}

fn one_principal(
    principal: &Principal,
    caller: &PrincipalInfo,
    newer: bool,
) -> Option<PrincipalMatch> {
    match (principal, caller) {
        (Principal::Aws(AwsPrincipal::Anyone), _) => Some(PrincipalMatch::Direct),
        (Principal::Aws(AwsPrincipal::Account(id)), PrincipalInfo::Aws { account_id, .. }) => {
            account_match(id, account_id, caller)
        }
        (Principal::Aws(AwsPrincipal::Arn(named)), PrincipalInfo::Aws { arn, account_id }) => {
            arn_match(named, arn, account_id, caller, newer)
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
/// A user or role (or its session) created after the policy was saved (`newer`) is not the
/// identity the ARN named.
fn arn_match(
    named: &PrincipalArn,
    arn: &str,
    account_id: &str,
    caller: &PrincipalInfo,
    newer: bool,
) -> Option<PrincipalMatch> {
    let same_partition = arn.split(':').nth(1) == Some(named.partition.as_str());
    if !same_partition || named.account_id != account_id {
        return None;
    }
    match &named.identity {
        IamIdentity::Root => account_match(&named.account_id, account_id, caller),
        _ if newer => None,
        IamIdentity::Role { name, .. } => {
            let session_of = arn
                .splitn(6, ':')
                .nth(5)
                .and_then(|r| r.strip_prefix("assumed-role/"))
                .and_then(|r| r.split('/').next());
            (displays_as(named, arn) || session_of == Some(name.as_str()))
                .then_some(PrincipalMatch::Direct)
        }
        _ => displays_as(named, arn).then_some(PrincipalMatch::Direct),
    }
}

/// Whether `value` displays as exactly `text`, compared as it is written out: no allocation.
fn displays_as(value: &impl fmt::Display, text: &str) -> bool {
    struct Compare<'a> {
        rest: &'a str,
    }
    impl fmt::Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            match self.rest.strip_prefix(s) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(())
                }
                None => Err(fmt::Error),
            }
        }
    }
    let mut compare = Compare { rest: text };
    fmt::write(&mut compare, format_args!("{value}")).is_ok() && compare.rest.is_empty()
}

/// Actions match case-insensitively; `*` and `?` are wildcards; policy variables do not apply.
fn action_matches(spec: &ActionSpec, action: &str) -> bool {
    let (req_service, req_name) = action.split_once(':').unwrap_or(("", action));
    let one = |pattern: &ActionPattern| match pattern {
        ActionPattern::All => true,
        ActionPattern::Scoped {
            service,
            action: name,
        } => {
            wildcard::matches(&Written(service), req_service, true)
                && wildcard::matches(&Written(name), req_name, true)
        }
    };
    match spec {
        ActionSpec::Action(patterns) => patterns.iter().any(one),
        ActionSpec::NotAction(patterns) => !patterns.iter().any(one),
    }
}

/// `*` is the resource the policy is attached to (in a key policy) or any resource (in an
/// identity policy); ARN patterns match part by part, case-sensitively, after policy variables
/// are substituted. A pattern whose variable cannot be resolved matches nothing. A request for
/// no particular resource (resource `*`) is matched by `*` only.
fn resource_matches(spec: &ResourceSpec, ctx: &RequestContext, variables: bool) -> bool {
    let one = |pattern: &ResourcePattern| match pattern {
        ResourcePattern::All => true,
        ResourcePattern::Arn(text) if variables && wildcard::has_variable(text) => {
            wildcard::substitute(text, ctx)
                .is_some_and(|tokens| wildcard::arn_matches(&tokens, ctx.resource()))
        }
        ResourcePattern::Arn(text) => wildcard::arn_matches(&Written(text), ctx.resource()),
    };
    match spec {
        ResourceSpec::Resource(patterns) => patterns.iter().any(one),
        ResourceSpec::NotResource(patterns) => !patterns.iter().any(one),
    }
}

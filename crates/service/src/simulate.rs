//! The policy simulator: would this principal be allowed this action on this key, and what
//! decides? It runs the same evaluation as a real request (key policy, the principal's
//! identity policies, grants) with the principal, encryption context and source address the
//! operator names, and reports the statement, grant or default that decided.

use crate::authz::{Access, Question, grantee_matches};
use crate::{Caller, CallerKind, RequestContext, Service};
use std::net::IpAddr;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::context::EncryptionContext;
use strongroom_core::grant::GrantOperation;
use strongroom_core::ids::{AccountId, KeyRef};
use strongroom_core::operation::Operation;
use strongroom_policy::{Authorization, Denial, Source};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateInput {
    /// The principal: `arn:…:iam::ACCOUNT:root`, `…:user/NAME`, `…:role/NAME` (as one of its
    /// sessions) or `arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION`, in the caller's account.
    pub principal_arn: String,
    /// The action, e.g. `kms:Encrypt`.
    pub action: String,
    /// The key, for key actions; `None` for actions on no key (CreateKey, ListKeys…).
    pub key: Option<KeyRef>,
    /// The request's encryption context.
    pub context: EncryptionContext,
    /// The request's source address (`aws:SourceIp`).
    pub source_ip: Option<IpAddr>,
}

/// One thing that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// A statement of the key policy allowed.
    KeyPolicyAllow(Option<String>),
    /// A statement of the key policy denied.
    KeyPolicyDeny(Option<String>),
    /// A statement of an identity policy (by name) allowed.
    IdentityPolicyAllow(String, Option<String>),
    /// A statement of an identity policy (by name) denied.
    IdentityPolicyDeny(String, Option<String>),
    /// The account root user needs no identity policy.
    AccountRoot,
    /// A grant (by id) allowed.
    Grant(String),
    /// Nothing allowed: the default, deny. The text says which side was missing.
    DefaultDeny(String),
}

/// The simulator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// Allowed or denied.
    pub allowed: bool,
    /// What decided (one or two entries).
    pub decided_by: Vec<Decider>,
}

fn sid(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// The simulated principal as a caller, from its ARN.
fn simulated_caller(partition: &str, account: &AccountId, arn: &str) -> Result<Caller, KmsError> {
    let invalid = || {
        KmsError::Validation(format!(
            "PrincipalArn must be the root, a user, a role or a role session of account {account}; got {arn}"
        ))
    };
    let iam = format!("arn:{partition}:iam::{account}:");
    let sts = format!("arn:{partition}:sts::{account}:assumed-role/");
    let kind = if let Some(rest) = arn.strip_prefix(&iam) {
        if rest == "root" {
            CallerKind::Root
        } else if let Some(user) = rest.strip_prefix("user/") {
            CallerKind::User {
                name: user.rsplit('/').next().unwrap_or_default().to_owned(),
            }
        } else if let Some(role) = rest.strip_prefix("role/") {
            CallerKind::Session {
                role_name: role.rsplit('/').next().unwrap_or_default().to_owned(),
                role_id: String::new(),
                session_name: "simulated".to_owned(),
            }
        } else {
            return Err(invalid());
        }
    } else if let Some(rest) = arn.strip_prefix(&sts) {
        let (role, session) = rest.split_once('/').ok_or_else(invalid)?;
        CallerKind::Session {
            role_name: role.to_owned(),
            role_id: String::new(),
            session_name: session.to_owned(),
        }
    } else {
        return Err(invalid());
    };
    let principal_arn = match &kind {
        CallerKind::Session {
            role_name,
            session_name,
            ..
        } => strongroom_core::identity::session_arn(partition, account, role_name, session_name),
        _ => arn.to_owned(),
    };
    Ok(Caller::new(
        account.clone(),
        principal_arn,
        "SIMULATION".to_owned(),
        kind,
    ))
}

impl Service {
    /// Simulates a request and explains the decision. The caller needs `kms:GetKeyPolicy` on
    /// the key (it could read the policy anyway) and, to simulate someone else,
    /// `iam:SimulatePrincipalPolicy` on that principal.
    pub async fn simulate_policy(
        &self,
        ctx: &RequestContext,
        input: SimulateInput,
    ) -> Result<Simulation, KmsError> {
        if !input.action.contains(':') {
            return Err(KmsError::Validation(
                "Action must be service:Operation, such as kms:Encrypt.".to_owned(),
            ));
        }
        let caller = simulated_caller(&ctx.scope.partition, ctx.account(), &input.principal_arn)?;
        if caller.principal_arn != ctx.caller.principal_arn {
            self.authorize_account(ctx, "iam:SimulatePrincipalPolicy", &input.principal_arn)
                .await?;
        }
        let key = match &input.key {
            Some(r) => Some(
                self.resolve(ctx, r, &Access::new(Operation::GetKeyPolicy))
                    .await?,
            ),
            None => None,
        };
        if key.as_ref().is_some_and(|k| k.policy.is_none()) {
            // As for real requests: a stored policy that does not parse allows nothing.
            return Ok(Simulation {
                allowed: false,
                decided_by: vec![Decider::DefaultDeny(
                    "the key policy cannot be evaluated".to_owned(),
                )],
            });
        }
        let mut sim = RequestContext::new(
            caller,
            &ctx.scope.partition,
            ctx.scope.region.clone(),
            Arc::clone(&ctx.request_id),
        );
        sim.source_ip = input.source_ip;
        let principal = self.caller_principal(&sim).await?;
        let op_name = input.action.split_once(':').map_or("", |(_, n)| n);
        let mut access = Access::named("");
        access.context = Some(&input.context);
        access.grant = GrantOperation::parse(op_name);
        let q = Question {
            resource_policy: key.as_deref().and_then(|k| k.policy.as_deref()),
            resource_account: key.as_ref().map_or(ctx.account(), |k| &k.key.account),
            principal: principal.as_deref(),
        };
        let resource = key.as_ref().map_or("*", |k| k.key.arn.as_str());
        let mut request = self.request_context(
            &sim,
            &q,
            key.as_ref().map(|k| &k.key),
            resource,
            &access,
            None,
        );
        request = request_with_action(request, &input.action);
        if let Some(k) = &key {
            self.add_resource_aliases(&q, &k.key, &mut request).await?;
        }
        let (allowed, mut decided_by, explicit) = q.explain(&request, |a| match a {
            Authorization::Allowed { by } => (true, by.iter().map(owned_source).collect(), false),
            Authorization::Denied { reason } => (
                false,
                vec![owned_denial(reason, &input.action)],
                reason.is_explicit(),
            ),
        });
        if !allowed
            && !explicit
            && let (Some(k), Some(op)) = (&key, access.grant)
        {
            let context = input.context.pairs();
            if let Some(g) = k
                .grants
                .iter()
                .find(|g| grantee_matches(g, &sim) && g.allows(op, context))
            {
                decided_by = vec![Decider::Grant(g.id.clone())];
                return Ok(Simulation {
                    allowed: true,
                    decided_by,
                });
            }
        }
        Ok(Simulation {
            allowed,
            decided_by,
        })
    }
}

/// The request with the simulated action (any `service:Operation`, not only the static names
/// real requests use).
fn request_with_action(
    r: strongroom_policy::RequestContext,
    action: &str,
) -> strongroom_policy::RequestContext {
    let mut out = strongroom_policy::RequestContext::for_caller(
        Arc::clone(r.caller()),
        action.to_owned(),
        r.resource().to_owned(),
    );
    for (k, v) in r.request_keys().iter() {
        out.insert(k, v.iter().map(String::as_str));
    }
    out
}

fn owned_source(s: &Source<'_>) -> Decider {
    match s {
        Source::ResourcePolicy { sid: s } => Decider::KeyPolicyAllow(sid(*s)),
        Source::IdentityPolicy { name, sid: s } => {
            Decider::IdentityPolicyAllow((*name).to_owned(), sid(*s))
        }
        Source::AccountRoot => Decider::AccountRoot,
    }
}

fn owned_denial(d: &Denial<'_>, action: &str) -> Decider {
    match d {
        Denial::ExplicitDenyInResourcePolicy { sid: s } => Decider::KeyPolicyDeny(sid(*s)),
        Denial::ExplicitDenyInIdentityPolicy { name, sid: s } => {
            Decider::IdentityPolicyDeny((*name).to_owned(), sid(*s))
        }
        other => Decider::DefaultDeny(other.phrase(action).to_string()),
    }
}

//! The shape of a policy document: which elements may appear where, which are required, which
//! come in exclusive pairs. Element values are handed to [`crate::principal`],
//! [`crate::patterns`] and [`crate::condition`].
//!
//! The grammar is the same for the three kinds of policy; what differs is which statement
//! elements are required or prohibited (see the crate docs), and that identity and trust policy
//! Sids are ASCII letters and digits, as IAM's grammar says.
//!
//! Element names, `Effect` values and `Version` values are case-sensitive, as in IAM.

use crate::condition::parse_conditions;
use crate::error::{ElementPair, PolicyError};
use crate::json::Json;
use crate::model::{
    ActionSpec, Effect, Policy, PolicyKind, PolicyVersion, PrincipalSpec, ResourceSpec, Statement,
};
use crate::patterns::{parse_actions, parse_resources};
use crate::principal::parse_principals;
use std::collections::HashSet;

/// Builds a [`Policy`] of `kind` from a parsed document.
pub(crate) fn policy_from_json(json: Json, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let Json::Object(members) = json else {
        return Err(PolicyError::NotAnObject);
    };
    let mut version = None;
    let mut id = None;
    let mut statement = None;
    for (name, value) in members {
        match name.as_str() {
            "Version" => version = Some(parse_version(value)?),
            "Id" => id = Some(string("Id", value)?),
            "Statement" => statement = Some(value),
            _ => return Err(unknown(name, "the policy document")),
        }
    }
    let statements = match statement.ok_or(PolicyError::MissingStatement)? {
        Json::Array(items) if items.is_empty() => return Err(PolicyError::NoStatements),
        Json::Array(items) => items
            .into_iter()
            .map(|item| parse_statement(item, kind))
            .collect::<Result<Vec<_>, _>>()?,
        single @ Json::Object(_) => vec![parse_statement(single, kind)?],
        _ => return Err(statement_type()),
    };
    check_unique_sids(&statements)?;
    Ok(Policy::new(kind, version, id, statements))
}

fn parse_version(value: Json) -> Result<PolicyVersion, PolicyError> {
    match string("Version", value)?.as_str() {
        "2012-10-17" => Ok(PolicyVersion::V2012_10_17),
        "2008-10-17" => Ok(PolicyVersion::V2008_10_17),
        other => Err(PolicyError::InvalidVersion(other.to_owned())),
    }
}

/// The raw elements of one statement, each pair holding whichever of its two names was used.
#[derive(Default)]
struct RawStatement {
    sid: Option<String>,
    effect: Option<Effect>,
    principal: Option<(bool, Json)>,
    action: Option<(bool, Json)>,
    resource: Option<(bool, Json)>,
    condition: Option<Json>,
}

fn parse_statement(json: Json, kind: PolicyKind) -> Result<Statement, PolicyError> {
    let Json::Object(members) = json else {
        return Err(statement_type());
    };
    let mut raw = RawStatement::default();
    for (name, value) in members {
        match name.as_str() {
            "Sid" => raw.sid = Some(string("Sid", value)?),
            "Effect" => raw.effect = Some(parse_effect(value)?),
            "Principal" => set_pair(&mut raw.principal, ElementPair::Principal, false, value)?,
            "NotPrincipal" => set_pair(&mut raw.principal, ElementPair::Principal, true, value)?,
            "Action" => set_pair(&mut raw.action, ElementPair::Action, false, value)?,
            "NotAction" => set_pair(&mut raw.action, ElementPair::Action, true, value)?,
            "Resource" => set_pair(&mut raw.resource, ElementPair::Resource, false, value)?,
            "NotResource" => set_pair(&mut raw.resource, ElementPair::Resource, true, value)?,
            "Condition" => raw.condition = Some(value),
            _ => return Err(unknown(name, "a statement")),
        }
    }
    build_statement(raw, kind)
}

/// Validates the element values in a fixed order: Sid, Effect, principal, action, resource,
/// condition, so that a document with several faults always reports the same one.
fn build_statement(raw: RawStatement, kind: PolicyKind) -> Result<Statement, PolicyError> {
    if kind != PolicyKind::Key
        && let Some(sid) = &raw.sid
        && !sid.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(PolicyError::InvalidSid(sid.clone()));
    }
    let effect = raw.effect.ok_or(PolicyError::MissingEffect)?;
    let principal = match (kind, raw.principal) {
        (PolicyKind::Identity, Some(_)) => return Err(PolicyError::PrincipalNotAllowed),
        (PolicyKind::Identity, None) => PrincipalSpec::Implicit,
        (_, None) => return Err(PolicyError::NoPrincipal),
        (PolicyKind::Trust, Some((true, _))) => {
            return Err(PolicyError::ProhibitedField("NotPrincipal"));
        }
        (_, Some((false, value))) => PrincipalSpec::Principal(parse_principals(value)?),
        (_, Some((true, value))) => PrincipalSpec::NotPrincipal(parse_principals(value)?),
    };
    if kind != PolicyKind::Key && raw.action.is_none() {
        return Err(PolicyError::NoActions);
    }
    match (kind, &raw.resource) {
        (PolicyKind::Identity, None) => return Err(PolicyError::NoResources),
        (PolicyKind::Trust, Some((negated, _))) => {
            let name = if *negated { "NotResource" } else { "Resource" };
            return Err(PolicyError::ProhibitedField(name));
        }
        _ => {}
    }
    let action = match raw.action {
        None => None,
        Some((false, value)) => Some(ActionSpec::Action(parse_actions("Action", value)?)),
        Some((true, value)) => Some(ActionSpec::NotAction(parse_actions("NotAction", value)?)),
    };
    let resource = match raw.resource {
        None => None,
        Some((false, value)) => Some(ResourceSpec::Resource(parse_resources("Resource", value)?)),
        Some((true, value)) => Some(ResourceSpec::NotResource(parse_resources(
            "NotResource",
            value,
        )?)),
    };
    let conditions = raw
        .condition
        .map(parse_conditions)
        .transpose()?
        .unwrap_or_default();
    Ok(Statement {
        sid: raw.sid,
        effect,
        principal,
        action,
        resource,
        conditions,
    })
}

/// Records one element of an exclusive pair. Duplicate JSON keys are refused before this runs,
/// so a slot that is already full holds the other element of the pair.
fn set_pair(
    slot: &mut Option<(bool, Json)>,
    pair: ElementPair,
    negated: bool,
    value: Json,
) -> Result<(), PolicyError> {
    if slot.is_some() {
        return Err(PolicyError::ConflictingElements(pair));
    }
    *slot = Some((negated, value));
    Ok(())
}

fn parse_effect(value: Json) -> Result<Effect, PolicyError> {
    match string("Effect", value)?.as_str() {
        "Allow" => Ok(Effect::Allow),
        "Deny" => Ok(Effect::Deny),
        other => Err(PolicyError::InvalidEffect(other.to_owned())),
    }
}

/// Empty Sids are allowed and not compared, as in IAM.
fn check_unique_sids(statements: &[Statement]) -> Result<(), PolicyError> {
    let mut seen = HashSet::new();
    for sid in statements.iter().filter_map(|s| s.sid.as_deref()) {
        if !sid.is_empty() && !seen.insert(sid) {
            return Err(PolicyError::DuplicateSid(sid.to_owned()));
        }
    }
    Ok(())
}

fn string(element: &'static str, value: Json) -> Result<String, PolicyError> {
    match value {
        Json::String(s) => Ok(s),
        _ => Err(PolicyError::WrongType {
            element,
            expected: "a string",
        }),
    }
}

fn unknown(element: String, context: &'static str) -> PolicyError {
    PolicyError::UnknownElement { element, context }
}

fn statement_type() -> PolicyError {
    PolicyError::WrongType {
        element: "Statement",
        expected: "an object or an array of objects",
    }
}

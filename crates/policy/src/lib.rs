//! The IAM policy language as AWS KMS applies it to key policies: a typed model, and the parser
//! that decides whether CreateKey or PutKeyPolicy may store a document.
//!
//! [`parse_key_policy`] turns text into a [`Policy`] or a [`PolicyError`] whose `Display` is the
//! reason the caller is given. [`evaluate`] decides one [`RequestContext`] against a parsed
//! policy, as AWS does (explicit deny, then allow, else implicit deny; see the `evaluate` module
//! for why the account principal yields [`PrincipalMatch::AccountDelegation`]). The evaluator
//! works on the model directly: negated elements, condition operator qualifiers and principal
//! kinds are all typed, and nothing is reparsed at request time. Policies are not secret, so the
//! model derives `Debug` and errors may quote the document.
//!
//! # Rules
//!
//! In the order they are checked:
//!
//! 1. Text: non-empty, at most 131072 characters and only `[\t\n\r\u{20}-\u{FF}]` (the KMS API
//!    model's constraints on `Policy`, reported as `ValidationException`); then at most
//!    [`KEY_POLICY_MAX_BYTES`] bytes of UTF-8 (the key policy quota, reported as
//!    `LimitExceededException`, as the KMS API reference says). See [`PolicyError::exception`].
//! 2. JSON: exactly one value, an object, with no member name repeated in any object (AWS's
//!    guidance for a refused key policy is to remove duplicate elements; the `json` module says
//!    why we refuse rather than keep the last).
//! 3. Document: members only `Version` (optional, `2012-10-17` or `2008-10-17`, as in the IAM
//!    grammar), `Id` (string), `Statement` (required; one object or a non-empty array).
//! 4. Statement: members only `Sid`, `Effect`, `Principal`, `NotPrincipal`, `Action`,
//!    `NotAction`, `Resource`, `NotResource`, `Condition`. `Effect` is required and exactly
//!    `Allow` or `Deny`. Exactly one of `Principal`/`NotPrincipal` is required in a key policy.
//!    At most one of `Action`/`NotAction` and of `Resource`/`NotResource`: a statement missing
//!    either is accepted and never applies, because the KMS API reference documents that
//!    CreateKey and PutKeyPolicy succeed for such a statement. `Sid` is any string (key policy
//!    Sids may contain spaces, unlike IAM's) and non-empty Sids are unique in the policy.
//! 5. Principals, actions, resources, conditions: see the `principal`, `patterns` and
//!    `condition` modules.
//!
//! # Wording
//!
//! Confirmed KMS messages (quoted from real KMS responses): "Policy contains a statement with one
//! or more invalid principals." and "Policy contains a statement with no principal.". Messages
//! confirmed for IAM's policy engine, assumed to be shared by KMS and used for the same faults:
//! SID uniqueness, "Actions/Conditions must be prefaced by a vendor…", "Actions/Condition can
//! contain only one colon.", "Vendor X is not valid", "Resource X must be in ARN format or
//! \"*\".", "Resource vendor must be fully qualified and cannot contain regexes.", "Policy
//! statement must contain actions." / "…resources.". The `ValidationException` texts follow
//! AWS's standard constraint message. All other texts are ours, written in the same style.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod condition;
mod context;
mod default_policy;
mod document;
mod error;
mod evaluate;
#[doc(hidden)]
pub mod fuzzing;
mod json;
mod model;
mod operators;
mod patterns;
mod principal;
mod syntax;
mod values;
mod wildcard;

pub use context::{ConditionKeys, PrincipalInfo, RequestContext};
pub use default_policy::{default_key_policy, managed_key_policy};
pub use error::{ElementPair, PolicyError, PolicyException};
pub use evaluate::{Decision, PrincipalMatch, evaluate};
pub use model::{
    ActionPattern, ActionSpec, AwsPrincipal, Condition, ConditionOperator, ConditionTest,
    ConditionValue, Effect, FederatedPrincipal, IamIdentity, Policy, PolicyVersion, Principal,
    PrincipalArn, PrincipalSpec, Principals, ResourcePattern, ResourceSpec, SetOperator, Statement,
    ValueKind,
};

/// The key policy document size quota: 32 KB. AWS documents it as fixed (not adjustable).
pub const KEY_POLICY_MAX_BYTES: usize = 32_768;

/// The KMS API model's maximum length of the `Policy` member, in characters.
pub const POLICY_MAX_CHARS: usize = 131_072;

/// Parses and validates a key policy as CreateKey and PutKeyPolicy receive it.
///
/// Only the document is checked here. The lockout safety check (the policy must let the caller
/// call PutKeyPolicy again) needs the evaluator and the caller, and belongs to the service layer.
pub fn parse_key_policy(text: &str) -> Result<Policy, PolicyError> {
    check_text(text)?;
    document::policy_from_json(json::parse(text)?)
}

fn check_text(text: &str) -> Result<(), PolicyError> {
    if text.is_empty() {
        return Err(PolicyError::Empty);
    }
    let chars = text.chars().count();
    if chars > POLICY_MAX_CHARS {
        return Err(PolicyError::TooLong { chars });
    }
    if let Some((offset, character)) = text.char_indices().find(|&(_, c)| !is_allowed(c)) {
        return Err(PolicyError::InvalidCharacter { offset, character });
    }
    if text.len() > KEY_POLICY_MAX_BYTES {
        return Err(PolicyError::TooLarge {
            size: text.len(),
            limit: KEY_POLICY_MAX_BYTES,
        });
    }
    Ok(())
}

/// The KMS API model's pattern for `Policy`: `[\u0009\u000A\u000D\u0020-\u00FF]+`.
fn is_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}

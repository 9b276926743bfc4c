//! The IAM policy language as Strongroom applies it: key policies (AWS KMS), identity policies
//! (IAM users' and roles' inline policies) and trust policies (IAM roles): a typed model, the
//! parsers that decide whether a document may be stored, the evaluator, and the combination of
//! the three into one authorization decision.
//!
//! [`parse_key_policy`], [`parse_identity_policy`] and [`parse_trust_policy`] turn text into a
//! [`Policy`] or a [`PolicyError`] whose `Display` is the reason the caller is given.
//! [`evaluate()`] decides one [`RequestContext`] against one parsed policy, as AWS does (explicit
//! deny, then allow, else implicit deny; see the `evaluate` module for why the account principal
//! yields [`PrincipalMatch::AccountDelegation`]). [`authorize()`] combines the key (or trust)
//! policy with the caller's identity policies as AWS does for KMS (see the `authorize` module:
//! rules, sources, and how grants fit). The evaluator works on the model directly: negated
//! elements, condition operator qualifiers and principal kinds are all typed, and nothing is
//! reparsed at request time. [`Policy::condition_keys`] says which condition keys a policy reads,
//! so that the service builds only those (the `keyset` module), and a [`RequestContext`] shares
//! its [`Caller`] part between requests (the `context` module). Policies are not secret, so the
//! model derives `Debug` and errors may quote the document.
//!
//! # Rules
//!
//! In the order they are checked:
//!
//! 1. Text: non-empty, at most 131072 characters and only `[\t\n\r\u{20}-\u{FF}]` (the KMS and
//!    IAM API models' constraints on a policy document, reported as `ValidationException`;
//!    the messages name the KMS member, `policy`). Then the size quota:
//!    - key policy: at most [`KEY_POLICY_MAX_BYTES`] bytes of UTF-8 (the key policy quota,
//!      reported as `LimitExceededException`, as the KMS API reference says);
//!    - identity policy: at most `max_chars` characters not counting white space (space, tab,
//!      line feed, carriage return), the limit the caller gives: IAM's quotas are per entity
//!      ([`USER_POLICY_MAX_CHARS`] for the aggregate of a user's inline policies,
//!      [`ROLE_POLICY_MAX_CHARS`] for a role's) and "IAM does not count white space" against
//!      them. Reported as IAM's `LimitExceeded`, "Maximum policy size of N bytes exceeded", to
//!      which the service appends " for user NAME" / " for role NAME". See
//!      [`PolicyError::exception`];
//!    - trust policy: no quota here; IAM words its trust policy quota differently, so the
//!      service checks it ([`policy_size_chars`], [`TRUST_POLICY_MAX_CHARS`]).
//! 2. JSON: exactly one value, an object, with no member name repeated in any object (AWS's
//!    guidance for a refused key policy is to remove duplicate elements; the `json` module says
//!    why we refuse rather than keep the last).
//! 3. Document: members only `Version` (optional, `2012-10-17` or `2008-10-17`, as in the IAM
//!    grammar), `Id` (string), `Statement` (required; one object or a non-empty array).
//! 4. Statement: members only `Sid`, `Effect`, `Principal`, `NotPrincipal`, `Action`,
//!    `NotAction`, `Resource`, `NotResource`, `Condition`. `Effect` is required and exactly
//!    `Allow` or `Deny`. At most one of each pair (`Principal`/`NotPrincipal`, …). Non-empty
//!    Sids are unique in the policy. Then, by kind:
//!    - key policy: exactly one of `Principal`/`NotPrincipal` is required. A statement missing
//!      `Action`/`NotAction` or `Resource`/`NotResource` is accepted and never applies, because
//!      the KMS API reference documents that CreateKey and PutKeyPolicy succeed for such a
//!      statement. `Sid` is any string (key policy Sids may contain spaces, unlike IAM's).
//!    - identity policy: `Principal`/`NotPrincipal` are refused ("Policy document should not
//!      specify a principal."); `Action`/`NotAction` and `Resource`/`NotResource` are required
//!      ("Policy statement must contain actions." / "…resources."); `Sid` is ASCII letters and
//!      digits, as the IAM grammar says. Actions of any vendor and resources of any ARN are
//!      accepted (an identity policy governs every service).
//!    - trust policy: `Principal` is required; `NotPrincipal`, `Resource` and `NotResource` are
//!      refused ("Has prohibited field Resource"; IAM documents that `NotPrincipal` cannot be
//!      used in a role trust policy); `Action`/`NotAction` is required (typically
//!      `sts:AssumeRole`, but any action is accepted); `Sid` as in identity policies.
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
//! statement must contain actions." / "…resources.". IAM's, for identity and trust policies:
//! "Policy document should not specify a principal.", "Has prohibited field Resource" (and the
//! same form for the other prohibited fields), "Maximum policy size of N bytes exceeded…". The
//! SID character message follows IAM's documented rule in IAM's style, unconfirmed. The
//! `ValidationException` texts follow AWS's standard constraint message. All other texts are
//! ours, written in the same style.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authorize;
mod condition;
mod context;
mod default_policy;
mod document;
mod error;
mod evaluate;
#[doc(hidden)]
pub mod fuzzing;
mod json;
mod keyset;
mod model;
mod operators;
mod patterns;
mod principal;
mod syntax;
mod values;
mod wildcard;

pub use authorize::{Authorization, AuthorizationInput, Denial, DenialPhrase, Source, authorize};
pub use context::{Caller, ConditionKeys, PrincipalInfo, RequestContext};
pub use default_policy::{default_key_policy, managed_key_policy};
pub use error::{ElementPair, PolicyError, PolicyException};
pub use evaluate::{Decision, PrincipalMatch, evaluate};
pub use keyset::ConditionKeySet;
pub use model::{
    ActionPattern, ActionSpec, AwsPrincipal, Condition, ConditionOperator, ConditionTest,
    ConditionValue, Effect, FederatedPrincipal, IamIdentity, Policy, PolicyKind, PolicyVersion,
    Principal, PrincipalArn, PrincipalSpec, Principals, ResourcePattern, ResourceSpec, SetOperator,
    Statement, ValueKind,
};

/// The key policy document size quota: 32 KB. AWS documents it as fixed (not adjustable).
pub const KEY_POLICY_MAX_BYTES: usize = 32_768;

/// The KMS API model's maximum length of the `Policy` member, in characters (also IAM's
/// maximum length of a policy document member).
pub const POLICY_MAX_CHARS: usize = 131_072;

/// IAM's quota on the aggregate size of a user's inline policies, in characters not counting
/// white space.
pub const USER_POLICY_MAX_CHARS: usize = 2_048;

/// IAM's quota on the aggregate size of a role's inline policies, in characters not counting
/// white space.
pub const ROLE_POLICY_MAX_CHARS: usize = 10_240;

/// IAM's default quota on the size of a role trust policy, in characters not counting white
/// space (adjustable in AWS; checked by the service, see [`parse_trust_policy`]).
pub const TRUST_POLICY_MAX_CHARS: usize = 2_048;

/// Parses and validates a key policy as CreateKey and PutKeyPolicy receive it.
///
/// Only the document is checked here. The lockout safety check (the policy must let the caller
/// call PutKeyPolicy again) needs the evaluator and the caller, and belongs to the service layer.
pub fn parse_key_policy(text: &str) -> Result<Policy, PolicyError> {
    check_text(text)?;
    if text.len() > KEY_POLICY_MAX_BYTES {
        return Err(PolicyError::TooLarge {
            size: text.len(),
            limit: KEY_POLICY_MAX_BYTES,
        });
    }
    document::policy_from_json(json::parse(text)?, PolicyKind::Key)
}

/// Parses and validates an IAM identity policy (an inline user or role policy) as
/// PutUserPolicy and PutRolePolicy receive it.
///
/// `max_chars` is the size quota left for this document, in characters not counting white
/// space: IAM's quotas apply to the aggregate of an entity's inline policies
/// ([`USER_POLICY_MAX_CHARS`], [`ROLE_POLICY_MAX_CHARS`]), so the caller passes the quota less
/// what the entity's other policies use, and formats the entity's name into the message.
pub fn parse_identity_policy(text: &str, max_chars: usize) -> Result<Policy, PolicyError> {
    check_text(text)?;
    check_quota(text, max_chars)?;
    document::policy_from_json(json::parse(text)?, PolicyKind::Identity)
}

/// Parses and validates a role trust policy (the assume-role policy document of CreateRole and
/// UpdateAssumeRolePolicy).
///
/// The trust policy size quota is not checked here: IAM reports it with its own message
/// ("Cannot exceed quota for ACLSizePerRole: N"), which is the service's to word; measure with
/// [`policy_size_chars`] against [`TRUST_POLICY_MAX_CHARS`].
pub fn parse_trust_policy(text: &str) -> Result<Policy, PolicyError> {
    check_text(text)?;
    document::policy_from_json(json::parse(text)?, PolicyKind::Trust)
}

/// The size of a policy as IAM counts it against its quotas: characters, white space excluded.
/// White space is what the text pattern allows of it: space, tab, line feed, carriage return.
pub fn policy_size_chars(text: &str) -> usize {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

fn check_quota(text: &str, max_chars: usize) -> Result<(), PolicyError> {
    let chars = policy_size_chars(text);
    if chars > max_chars {
        return Err(PolicyError::SizeQuotaExceeded {
            chars,
            limit: max_chars,
        });
    }
    Ok(())
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
    Ok(())
}

/// The KMS API model's pattern for `Policy`: `[\u0009\u000A\u000D\u0020-\u00FF]+`.
fn is_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}

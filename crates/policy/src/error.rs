//! Why a policy document was refused, in the words the caller sees.
//!
//! Each variant's `Display` is the message that reaches the client. Where the wording of AWS KMS
//! (or of the IAM policy engine it shares) is known, it is reproduced verbatim; the crate docs list
//! which messages are confirmed and which are ours. [`PolicyError::exception`] names the AWS
//! exception a variant becomes, so the API layer maps errors with one exhaustive match.

/// The AWS KMS exception a [`PolicyError`] is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyException {
    /// `ValidationException`: the text breaks the `Policy` member's length or pattern constraint
    /// from the KMS API model, checked before KMS looks at the document.
    Validation,
    /// `LimitExceededException`: the document is over the 32 KB key policy quota (the API
    /// reference says KMS answers this exception when the length constraint is exceeded); for
    /// an identity policy, IAM's `LimitExceeded`: the document is over the size the caller
    /// allowed.
    LimitExceeded,
    /// `MalformedPolicyDocumentException` (IAM: `MalformedPolicyDocument`): the document is not
    /// a valid policy of its kind.
    MalformedPolicyDocument,
}

/// The one policy element that must come with exactly one of a pair (`Principal` or
/// `NotPrincipal`, and so on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElementPair {
    /// `Principal` / `NotPrincipal`.
    Principal,
    /// `Action` / `NotAction`.
    Action,
    /// `Resource` / `NotResource`.
    Resource,
}

impl ElementPair {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Principal => ("Principal", "NotPrincipal"),
            Self::Action => ("Action", "NotAction"),
            Self::Resource => ("Resource", "NotResource"),
        }
    }
}

impl std::fmt::Display for ElementPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (positive, negative) = self.names();
        write!(f, "both {positive} and {negative}")
    }
}

/// A policy document that must be refused: a key policy (CreateKey, PutKeyPolicy), an identity
/// policy (PutUserPolicy, PutRolePolicy) or a trust policy (CreateRole,
/// UpdateAssumeRolePolicy).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is empty (the API model's minimum length is 1).
    #[error(
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: \
         Member must have length greater than or equal to 1"
    )]
    Empty,
    /// The text is longer than the API model's 131072 characters.
    #[error(
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: \
         Member must have length less than or equal to 131072"
    )]
    TooLong {
        /// Length of the text in characters.
        chars: usize,
    },
    /// The text has a character outside tab, line feed, carriage return and U+0020..=U+00FF.
    #[error(
        "1 validation error detected: Value at 'policy' failed to satisfy constraint: \
         Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
    )]
    InvalidCharacter {
        /// Byte offset of the first offending character.
        offset: usize,
        /// The offending character.
        character: char,
    },
    /// The document is over the key policy size quota.
    #[error("The key policy is {size} bytes; a key policy can be at most {limit} bytes.")]
    TooLarge {
        /// Size of the text in bytes (UTF-8).
        size: usize,
        /// The quota, [`crate::KEY_POLICY_MAX_BYTES`].
        limit: usize,
    },
    /// The text is not one JSON value (serde_json's reason, with line and column).
    #[error("Policy is not valid JSON: {0}.")]
    InvalidJson(String),
    /// An object repeats a member name (serde_json's position of the repeat).
    #[error("Policy contains a duplicate JSON key: {0}.")]
    DuplicateKey(String),
    /// An identity policy has more non-whitespace characters than the caller allows
    /// (IAM counts policy size without white space). IAM's message goes on with
    /// " for user NAME" or " for role NAME", which the caller appends.
    #[error("Maximum policy size of {limit} bytes exceeded")]
    SizeQuotaExceeded {
        /// Characters in the text, not counting space, tab, line feed and carriage return.
        chars: usize,
        /// The quota the caller gave.
        limit: usize,
    },
    /// The document is JSON, but not an object.
    #[error("The policy document must be a JSON object.")]
    NotAnObject,
    /// A member name that the policy grammar does not have at that level.
    #[error("Policy contains an unknown element \"{element}\" in {context}.")]
    UnknownElement {
        /// The member name as written.
        element: String,
        /// Where it was found: "the policy document" or "a statement".
        context: &'static str,
    },
    /// An element holds a JSON value of the wrong type.
    #[error("The {element} element must be {expected}.")]
    WrongType {
        /// The element's name.
        element: &'static str,
        /// What it must hold.
        expected: &'static str,
    },
    /// `Version` is neither of the two policy language versions.
    #[error("Policy version \"{0}\" is not valid; use \"2012-10-17\" or \"2008-10-17\".")]
    InvalidVersion(String),
    /// The document has no `Statement` element.
    #[error("The policy document must contain a Statement element.")]
    MissingStatement,
    /// `Statement` is an empty array.
    #[error("A key policy document must have at least one statement.")]
    NoStatements,
    /// An identity or trust policy `Sid` has a character other than an ASCII letter or digit
    /// (the IAM grammar's rule; key policy Sids may hold any character).
    #[error(
        "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular \
         expression [0-9A-Za-z]*"
    )]
    InvalidSid(String),
    /// Two statements share a `Sid`.
    #[error("Statement IDs (SID) in a single policy must be unique.")]
    DuplicateSid(String),
    /// A statement has no `Effect`.
    #[error("Policy contains a statement with no Effect.")]
    MissingEffect,
    /// `Effect` is not exactly `Allow` or `Deny`.
    #[error(
        "Policy contains a statement with an invalid Effect \"{0}\"; use \"Allow\" or \"Deny\"."
    )]
    InvalidEffect(String),
    /// A statement has both elements of a pair.
    #[error("Policy contains a statement with {0}.")]
    ConflictingElements(ElementPair),
    /// A key or trust policy statement has neither `Principal` nor `NotPrincipal`, or names
    /// nobody.
    #[error("Policy contains a statement with no principal.")]
    NoPrincipal,
    /// An identity policy statement has `Principal` or `NotPrincipal`.
    #[error("Policy document should not specify a principal.")]
    PrincipalNotAllowed,
    /// A trust policy statement has an element trust policies may not have (`Resource`,
    /// `NotResource`, `NotPrincipal`).
    #[error("Has prohibited field {0}")]
    ProhibitedField(&'static str),
    /// A principal is not of a form that names an identity.
    #[error("Policy contains a statement with one or more invalid principals.")]
    InvalidPrincipal(String),
    /// `Action` or `NotAction` is an empty array, or is missing from an identity or trust
    /// policy statement.
    #[error("Policy statement must contain actions.")]
    NoActions,
    /// `Resource` or `NotResource` is an empty array, or is missing from an identity policy
    /// statement.
    #[error("Policy statement must contain resources.")]
    NoResources,
    /// An action or condition key has no `vendor:` prefix.
    #[error("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")]
    MissingVendor(String),
    /// An action has more than one colon.
    #[error("Actions/Condition can contain only one colon.")]
    TooManyColons(String),
    /// The vendor prefix of an action or condition key has characters a service prefix cannot.
    #[error("Vendor {0} is not valid")]
    InvalidVendor(String),
    /// The action name after the vendor prefix is empty or has characters no action has.
    #[error("Policy contains a statement with an invalid action \"{0}\".")]
    InvalidAction(String),
    /// A resource is neither `*` nor an ARN.
    #[error("Resource {0} must be in ARN format or \"*\".")]
    InvalidResource(String),
    /// The service of a resource ARN is empty or has wildcards.
    #[error("Resource vendor must be fully qualified and cannot contain regexes.")]
    InvalidResourceVendor(String),
    /// A condition operator that the IAM policy language does not define.
    #[error("Policy contains a statement with an unknown condition operator \"{0}\".")]
    UnknownConditionOperator(String),
    /// A condition key with nothing after its vendor prefix.
    #[error("Policy contains a statement with an invalid condition key \"{0}\".")]
    InvalidConditionKey(String),
    /// A condition value that its operator cannot compare.
    #[error(
        "Policy contains a statement with an invalid value \"{value}\" for condition operator \
         {operator}: {expected}."
    )]
    InvalidConditionValue {
        /// The operator as written.
        operator: String,
        /// The value as written (JSON numbers and booleans in their JSON spelling).
        value: String,
        /// What the operator compares.
        expected: &'static str,
    },
}

impl PolicyError {
    /// The AWS exception this error is reported as.
    pub fn exception(&self) -> PolicyException {
        match self {
            Self::Empty | Self::TooLong { .. } | Self::InvalidCharacter { .. } => {
                PolicyException::Validation
            }
            Self::TooLarge { .. } | Self::SizeQuotaExceeded { .. } => {
                PolicyException::LimitExceeded
            }
            Self::InvalidJson(_)
            | Self::DuplicateKey(_)
            | Self::NotAnObject
            | Self::UnknownElement { .. }
            | Self::WrongType { .. }
            | Self::InvalidVersion(_)
            | Self::MissingStatement
            | Self::NoStatements
            | Self::InvalidSid(_)
            | Self::DuplicateSid(_)
            | Self::MissingEffect
            | Self::InvalidEffect(_)
            | Self::ConflictingElements(_)
            | Self::NoPrincipal
            | Self::PrincipalNotAllowed
            | Self::ProhibitedField(_)
            | Self::InvalidPrincipal(_)
            | Self::NoActions
            | Self::NoResources
            | Self::MissingVendor(_)
            | Self::TooManyColons(_)
            | Self::InvalidVendor(_)
            | Self::InvalidAction(_)
            | Self::InvalidResource(_)
            | Self::InvalidResourceVendor(_)
            | Self::UnknownConditionOperator(_)
            | Self::InvalidConditionKey(_)
            | Self::InvalidConditionValue { .. } => PolicyException::MalformedPolicyDocument,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmed_kms_wording_is_verbatim() {
        assert_eq!(
            PolicyError::InvalidPrincipal("x".into()).to_string(),
            "Policy contains a statement with one or more invalid principals."
        );
        assert_eq!(
            PolicyError::NoPrincipal.to_string(),
            "Policy contains a statement with no principal."
        );
    }

    #[test]
    fn size_and_text_errors_map_to_their_own_exceptions() {
        let too_large = PolicyError::TooLarge {
            size: 32769,
            limit: 32768,
        };
        assert_eq!(too_large.exception(), PolicyException::LimitExceeded);
        assert_eq!(PolicyError::Empty.exception(), PolicyException::Validation);
        assert_eq!(
            PolicyError::NoPrincipal.exception(),
            PolicyException::MalformedPolicyDocument
        );
    }

    #[test]
    fn iam_wording_for_identity_and_trust_policies() {
        assert_eq!(
            PolicyError::PrincipalNotAllowed.to_string(),
            "Policy document should not specify a principal."
        );
        assert_eq!(
            PolicyError::ProhibitedField("Resource").to_string(),
            "Has prohibited field Resource"
        );
        let size = PolicyError::SizeQuotaExceeded {
            chars: 2049,
            limit: 2048,
        };
        assert_eq!(
            format!("{size} for user Alice"),
            "Maximum policy size of 2048 bytes exceeded for user Alice"
        );
        assert_eq!(size.exception(), PolicyException::LimitExceeded);
        assert_eq!(
            PolicyError::InvalidSid("a b".into()).exception(),
            PolicyException::MalformedPolicyDocument
        );
    }

    #[test]
    fn conflicting_elements_name_both_members() {
        let err = PolicyError::ConflictingElements(ElementPair::Action);
        assert_eq!(
            err.to_string(),
            "Policy contains a statement with both Action and NotAction."
        );
    }
}

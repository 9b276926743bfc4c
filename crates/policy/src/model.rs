//! The typed form of a policy (key, identity or trust policy), built once at put time so
//! evaluation never reparses text.
//!
//! The model keeps everything an evaluator needs and nothing it would have to re-derive:
//! negated elements (`NotPrincipal`, `NotAction`, `NotResource`) are variants, not flags beside
//! an untyped list; condition operators are parsed into their test, set qualifier and
//! `IfExists` flag; principals are split into account, user, role and session parts. Things that
//! are valid but unknown to Strongroom — actions of other services, service principals, condition
//! keys — stay representable as strings. Policies are not secret, so every type derives `Debug`.

use crate::keyset::ConditionKeySet;
use std::fmt;

/// A parsed policy document.
///
/// The public fields are the document as parsed. The [kind](Self::kind) and the
/// [condition keys](Self::condition_keys) are derived from them once, by the parser; a policy
/// whose fields are edited after parsing must be rebuilt with [`Policy::new`] so that they stay
/// in step (the evaluator itself reads only the fields, but a service that trusts
/// `condition_keys()` to skip building a key would otherwise omit one a statement reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `Version`; absent means the IAM default, 2008-10-17 (no policy variables).
    pub version: Option<PolicyVersion>,
    /// `Id`, free text.
    pub id: Option<String>,
    /// The statements in document order; never empty.
    pub statements: Vec<Statement>,
    kind: PolicyKind,
    condition_keys: ConditionKeySet,
    saved_at: Option<i64>,
}

impl Policy {
    /// A policy of `kind` from its parts, deriving its condition keys. The parsers call this;
    /// use it to rebuild a policy whose statements were edited.
    pub fn new(
        kind: PolicyKind,
        version: Option<PolicyVersion>,
        id: Option<String>,
        statements: Vec<Statement>,
    ) -> Self {
        let variables = version == Some(PolicyVersion::V2012_10_17);
        let condition_keys = ConditionKeySet::of_statements(&statements, variables);
        Self {
            version,
            id,
            statements,
            kind,
            condition_keys,
            saved_at: None,
        }
    }

    /// Records when the policy was saved (any monotonic time unit the caller also uses for
    /// [`crate::Caller::set_identity_created_at`]). A user or role ARN the policy names then
    /// matches only an identity that existed at that time: one deleted and created again
    /// under the same name is another principal. AWS gets the same effect by binding policy
    /// principals to unique ids when it saves a policy.
    pub fn set_saved_at(&mut self, at: i64) {
        self.saved_at = Some(at);
    }

    /// When the policy was saved, if recorded.
    pub fn saved_at(&self) -> Option<i64> {
        self.saved_at
    }

    /// Which kind of policy this is, which decides how a missing element is read.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// The condition keys the policy reads, in conditions and in policy variables: a request
    /// key that no policy of the request [needs](ConditionKeySet::needs) need not be built.
    pub fn condition_keys(&self) -> &ConditionKeySet {
        &self.condition_keys
    }
}

/// What a policy document is attached to, which decides its grammar and how the evaluator reads
/// an element the document leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// A KMS key policy: every statement names a principal; a statement without `Action` or
    /// `Resource` applies to nothing; `"Resource": "*"` is the key itself.
    Key,
    /// An IAM identity policy (inline user or role policy): no principal, the statements apply
    /// to the identity the policy is attached to; `Action` and `Resource` are required.
    Identity,
    /// A role's trust policy: every statement names a principal; there is no `Resource`, the
    /// statements apply to the role.
    Trust,
}

/// The two versions of the policy language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2008-10-17`: the original language, without policy variables.
    V2008_10_17,
    /// `2012-10-17`: the current language; `${...}` policy variables are substituted.
    V2012_10_17,
}

impl PolicyVersion {
    /// The version string as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2008_10_17 => "2008-10-17",
            Self::V2012_10_17 => "2012-10-17",
        }
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`; in a key policy any string, spaces included; in identity and trust policies
    /// ASCII letters and digits. Unique within the policy.
    pub sid: Option<String>,
    /// `Effect`.
    pub effect: Effect,
    /// `Principal` or `NotPrincipal` (key and trust policies), or [`PrincipalSpec::Implicit`]
    /// (identity policies).
    pub principal: PrincipalSpec,
    /// `Action` or `NotAction`. `None` when absent, which only a key policy allows: KMS
    /// accepts such a statement, and it applies to no request.
    pub action: Option<ActionSpec>,
    /// `Resource` or `NotResource`. `None` when absent: in a key policy such a statement
    /// applies to no key; in a trust policy (which may not have the element) it applies to
    /// the role.
    pub resource: Option<ResourceSpec>,
    /// Every (operator, key) pair of the `Condition` block, in document order; all must hold.
    pub conditions: Vec<Condition>,
}

/// Whether a matching statement allows or denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`: wins over any allow.
    Deny,
}

/// The principal element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `Principal`: the statement applies to these principals.
    Principal(Principals),
    /// `NotPrincipal`: the statement applies to everyone except these principals.
    NotPrincipal(Principals),
    /// No principal element, as in every statement of an identity policy: the statement applies
    /// to the identity the policy is attached to, i.e. to whoever the policy is evaluated for.
    /// The parsers produce it only for identity policies.
    Implicit,
}

/// The value of a `Principal` or `NotPrincipal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// The bare string `"*"`: every principal, authenticated or not.
    Anyone,
    /// The map form, flattened in document order; never empty.
    Listed(Vec<Principal>),
}

/// One principal from the map form of a principal element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An `"AWS"` entry.
    Aws(AwsPrincipal),
    /// A `"Service"` entry: a service principal name such as `cloudtrail.amazonaws.com`.
    Service(String),
    /// A `"Federated"` entry.
    Federated(FederatedPrincipal),
    /// A `"CanonicalUser"` entry: a 64-digit hexadecimal canonical user id.
    CanonicalUser(String),
}

/// An `"AWS"` principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwsPrincipal {
    /// `"*"`: every AWS principal.
    Anyone,
    /// A bare 12-digit account id, the same as the account's `:root` ARN in the key's partition.
    Account(String),
    /// An IAM or STS principal ARN.
    Arn(PrincipalArn),
}

/// A principal ARN: `arn:PARTITION:iam::ACCOUNT:…` or `arn:PARTITION:sts::ACCOUNT:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalArn {
    /// The partition, e.g. `aws`.
    pub partition: String,
    /// The 12-digit account id.
    pub account_id: String,
    /// What in the account the ARN names.
    pub identity: IamIdentity,
}

/// The resource part of a principal ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IamIdentity {
    /// `:root`: the account itself, which delegates to the account's IAM policies.
    Root,
    /// `:user/PATH/NAME`; `path` is `/` or `/…/`.
    User {
        /// The IAM path, with leading and trailing `/`.
        path: String,
        /// The user name.
        name: String,
    },
    /// `:role/PATH/NAME`; `path` is `/` or `/…/`.
    Role {
        /// The IAM path, with leading and trailing `/`.
        path: String,
        /// The role name.
        name: String,
    },
    /// `sts` `:assumed-role/ROLE/SESSION`.
    AssumedRole {
        /// The role name (without path).
        role_name: String,
        /// The role session name.
        session_name: String,
    },
    /// `sts` `:federated-user/NAME`.
    FederatedUser {
        /// The federated user name.
        name: String,
    },
}

impl fmt::Display for PrincipalArn {
    /// The ARN as written in a policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (partition, account) = (&self.partition, &self.account_id);
        match &self.identity {
            IamIdentity::Root => write!(f, "arn:{partition}:iam::{account}:root"),
            IamIdentity::User { path, name } => {
                write!(f, "arn:{partition}:iam::{account}:user{path}{name}")
            }
            IamIdentity::Role { path, name } => {
                write!(f, "arn:{partition}:iam::{account}:role{path}{name}")
            }
            IamIdentity::AssumedRole {
                role_name,
                session_name,
            } => {
                write!(
                    f,
                    "arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
                )
            }
            IamIdentity::FederatedUser { name } => {
                write!(f, "arn:{partition}:sts::{account}:federated-user/{name}")
            }
        }
    }
}

/// A `"Federated"` principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FederatedPrincipal {
    /// A web identity provider named by host, e.g. `cognito-identity.amazonaws.com`.
    Provider(String),
    /// `arn:PARTITION:iam::ACCOUNT:saml-provider/NAME`.
    Saml {
        /// The partition.
        partition: String,
        /// The 12-digit account id.
        account_id: String,
        /// The provider name.
        name: String,
    },
    /// `arn:PARTITION:iam::ACCOUNT:oidc-provider/URL`.
    Oidc {
        /// The partition.
        partition: String,
        /// The 12-digit account id.
        account_id: String,
        /// The provider URL without scheme.
        url: String,
    },
}

/// The action element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSpec {
    /// `Action`: the statement applies to these actions; never empty.
    Action(Vec<ActionPattern>),
    /// `NotAction`: the statement applies to every action except these; never empty.
    NotAction(Vec<ActionPattern>),
}

/// One action pattern; matching is case-insensitive, `*` and `?` are wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPattern {
    /// `"*"`: every action of every service.
    All,
    /// `service:action`, e.g. `kms:Encrypt` or `kms:ReEncrypt*`. Other services' actions are
    /// accepted (AWS accepts them in key policies, where they never match).
    Scoped {
        /// The service prefix, e.g. `kms`, or `*`.
        service: String,
        /// The action name or pattern.
        action: String,
    },
}

impl fmt::Display for ActionPattern {
    /// The pattern as written in a policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Scoped { service, action } => write!(f, "{service}:{action}"),
        }
    }
}

/// The resource element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    /// `Resource`; never empty.
    Resource(Vec<ResourcePattern>),
    /// `NotResource`; never empty.
    NotResource(Vec<ResourcePattern>),
}

/// One resource pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// `"*"`: in a key policy, the key the policy is attached to.
    All,
    /// An ARN pattern; `*` and `?` are wildcards outside the service part.
    Arn(String),
}

impl fmt::Display for ResourcePattern {
    /// The pattern as written in a policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("*"),
            Self::Arn(arn) => f.write_str(arn),
        }
    }
}

/// One condition: `operator` applied to request key `key` against `values` (any may match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator.
    pub operator: ConditionOperator,
    /// The condition key as written, e.g. `kms:EncryptionContext:Department`; keys compare
    /// case-insensitively.
    pub key: String,
    /// The values; a single JSON value is a list of one. May be empty.
    pub values: Vec<ConditionValue>,
}

/// A condition operator such as `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConditionOperator {
    /// The `ForAnyValue:` / `ForAllValues:` prefix, for multivalued keys.
    pub set: Option<SetOperator>,
    /// The comparison.
    pub test: ConditionTest,
    /// The `IfExists` suffix: the condition holds when the key is absent.
    pub if_exists: bool,
}

/// How a condition treats a multivalued request key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetOperator {
    /// `ForAnyValue:`: at least one request value must match.
    ForAnyValue,
    /// `ForAllValues:`: every request value must match (true when there are none).
    ForAllValues,
}

/// What kind of value a condition operator compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// Any string (policy variables allowed).
    String,
    /// A decimal number.
    Number,
    /// An ISO 8601 date-time or epoch seconds.
    Date,
    /// `true` or `false`.
    Bool,
    /// Base64-encoded bytes.
    Binary,
    /// An IPv4 or IPv6 address or CIDR block.
    Ip,
    /// An ARN or ARN pattern.
    Arn,
}

macro_rules! condition_tests {
    ($($name:ident => $kind:ident),+ $(,)?) => {
        /// The comparison of a condition operator, without prefix or `IfExists` suffix.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ConditionTest {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )+
        }

        impl ConditionTest {
            /// Every comparison the IAM policy language defines.
            pub const ALL: &'static [ConditionTest] = &[$(ConditionTest::$name),+];

            /// The operator's name as written in a policy.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)+
                }
            }

            /// The kind of value the operator compares.
            pub fn value_kind(self) -> ValueKind {
                match self {
                    $(Self::$name => ValueKind::$kind,)+
                }
            }
        }
    };
}

condition_tests! {
    StringEquals => String,
    StringNotEquals => String,
    StringEqualsIgnoreCase => String,
    StringNotEqualsIgnoreCase => String,
    StringLike => String,
    StringNotLike => String,
    NumericEquals => Number,
    NumericNotEquals => Number,
    NumericLessThan => Number,
    NumericLessThanEquals => Number,
    NumericGreaterThan => Number,
    NumericGreaterThanEquals => Number,
    DateEquals => Date,
    DateNotEquals => Date,
    DateLessThan => Date,
    DateLessThanEquals => Date,
    DateGreaterThan => Date,
    DateGreaterThanEquals => Date,
    Bool => Bool,
    BinaryEquals => Binary,
    IpAddress => Ip,
    NotIpAddress => Ip,
    ArnEquals => Arn,
    ArnLike => Arn,
    ArnNotEquals => Arn,
    ArnNotLike => Arn,
    Null => Bool,
}

impl ConditionOperator {
    /// Parses an operator name; `None` for names the policy language does not define
    /// (including `NullIfExists`, which AWS documents as invalid).
    pub fn parse(name: &str) -> Option<Self> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let test = ConditionTest::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == base)?;
        if if_exists && test == ConditionTest::Null {
            return None;
        }
        Some(Self {
            set,
            test,
            if_exists,
        })
    }
}

impl fmt::Display for ConditionOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.set {
            Some(SetOperator::ForAnyValue) => f.write_str("ForAnyValue:")?,
            Some(SetOperator::ForAllValues) => f.write_str("ForAllValues:")?,
            None => {}
        }
        f.write_str(self.test.as_str())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

/// One condition value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionValue {
    /// A JSON string.
    String(String),
    /// A JSON number, in serde_json's spelling (`10`, `1.5`).
    Number(String),
    /// A JSON boolean.
    Bool(bool),
}

impl ConditionValue {
    /// The value as IAM compares it: numbers and booleans by their text.
    pub fn as_text(&self) -> &str {
        match self {
            Self::String(s) | Self::Number(s) => s,
            Self::Bool(true) => "true",
            Self::Bool(false) => "false",
        }
    }
}

impl fmt::Display for ConditionValue {
    /// The value as IAM compares it: numbers and booleans by their text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operator_round_trips_with_prefixes_and_suffix() {
        for &test in ConditionTest::ALL {
            for prefix in ["", "ForAnyValue:", "ForAllValues:"] {
                for suffix in ["", "IfExists"] {
                    let name = format!("{prefix}{}{suffix}", test.as_str());
                    let parsed = ConditionOperator::parse(&name);
                    if test == ConditionTest::Null && suffix == "IfExists" {
                        assert_eq!(parsed, None, "{name}");
                        continue;
                    }
                    let op = parsed.unwrap_or_else(|| panic!("{name} did not parse"));
                    assert_eq!(op.test, test);
                    assert_eq!(op.if_exists, suffix == "IfExists");
                    assert_eq!(op.to_string(), name);
                }
            }
        }
        assert_eq!(ConditionTest::ALL.len(), 27);
    }

    #[test]
    fn unknown_and_miscased_operators_do_not_parse() {
        for name in [
            "StringEqual",
            "stringequals",
            "ForSomeValues:StringLike",
            "ForAnyValue:ForAllValues:StringLike",
            "StringLikeIfExistsIfExists",
            "IfExists",
            "",
        ] {
            assert_eq!(ConditionOperator::parse(name), None, "{name}");
        }
    }

    #[test]
    fn condition_values_display_as_iam_compares_them() {
        assert_eq!(ConditionValue::Bool(true).to_string(), "true");
        assert_eq!(ConditionValue::Number("10".into()).to_string(), "10");
        assert_eq!(ConditionValue::String("a b".into()).to_string(), "a b");
    }
}

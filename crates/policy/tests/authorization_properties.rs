//! Properties of `authorize` that hold for every combination of policies, not only the
//! documented ones. Each is checked over random key policies and identity policies built from a
//! pool of principals, actions, resources and conditions, for callers in the key's account, in
//! another account, root users and a service principal:
//! - an applicable explicit `Deny`, in the key policy or in any identity policy, always wins;
//! - adding an `Allow` statement (to the key policy or to an identity policy) never removes
//!   access;
//! - neither the order of statements within a policy nor the order of identity policies changes
//!   the authorization, explanation included;
//! - identity policies never give access to a key whose key policy does not allow the caller
//!   (directly or by delegating to the caller's account).

#![cfg(test)]

use proptest::prelude::*;
use strongroom_policy::{
    Authorization, AuthorizationInput, Decision, Denial, Policy, PrincipalInfo,
    ROLE_POLICY_MAX_CHARS, RequestContext, authorize, evaluate, parse_identity_policy,
    parse_key_policy,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

fn principal() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Principal": "*""#,
        r#""Principal": {"AWS": "111122223333"}"#,
        r#""Principal": {"AWS": "arn:aws:iam::111122223333:root"}"#,
        r#""Principal": {"AWS": "arn:aws:iam::444455556666:root"}"#,
        r#""Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}"#,
        r#""Principal": {"AWS": ["arn:aws:iam::111122223333:role/Ops", "444455556666"]}"#,
        r#""NotPrincipal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}"#,
        r#""Principal": {"Service": "cloudtrail.amazonaws.com"}"#,
    ])
}

fn action() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Action": "kms:*""#,
        r#""Action": ["kms:Encrypt", "kms:Decrypt"]"#,
        r#""Action": "kms:Re*""#,
        r#""NotAction": "kms:Decrypt""#,
        r#""Action": ["kms:CreateKey", "kms:ListKeys"]"#,
        r#""Action": "*""#,
    ])
}

fn key_resource() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Resource": "*""#,
        r#""Resource": "arn:aws:kms:*:111122223333:key/*""#,
        r#""NotResource": "arn:aws:kms:us-east-1:111122223333:key/k2""#,
    ])
}

fn identity_resource() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Resource": "*""#,
        r#""Resource": "arn:aws:kms:*:111122223333:key/*""#,
        r#""Resource": "arn:aws:kms:us-east-1:111122223333:key/k1""#,
        r#""Resource": "arn:aws:kms:*:444455556666:key/*""#,
        r#""NotResource": "arn:aws:kms:us-east-1:111122223333:key/k2""#,
        r#""Resource": "arn:aws:kms:*:${aws:PrincipalAccount}:key/*""#,
    ])
}

fn condition() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "",
        r#", "Condition": {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}}"#,
        r#", "Condition": {"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "D*"}}"#,
        r#", "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
        r#", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
        r#", "Condition": {"Null": {"kms:ViaService": "true"}}"#,
        r#", "Condition": {"StringNotEqualsIfExists": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}"#,
        r#", "Condition": {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
        r#", "Condition": {"StringEquals": {"kms:CallerAccount": "444455556666"}}"#,
        r#", "Condition": {"StringEquals": {"aws:ResourceTag/Team": "${aws:PrincipalTag/Team}"}}"#,
    ])
}

fn effect(fixed: Option<&'static str>) -> BoxedStrategy<&'static str> {
    match fixed {
        Some(e) => Just(e).boxed(),
        None => prop::sample::select(vec!["Allow", "Deny"]).boxed(),
    }
}

/// One key policy statement's members after the `Sid`.
fn key_statement(fixed: Option<&'static str>) -> impl Strategy<Value = String> {
    (
        effect(fixed),
        principal(),
        action(),
        key_resource(),
        condition(),
    )
        .prop_map(|(e, p, a, r, c)| format!(r#""Effect": "{e}", {p}, {a}, {r}{c}"#))
}

/// One identity policy statement's members after the `Sid`.
fn identity_statement(fixed: Option<&'static str>) -> impl Strategy<Value = String> {
    (effect(fixed), action(), identity_resource(), condition())
        .prop_map(|(e, a, r, c)| format!(r#""Effect": "{e}", {a}, {r}{c}"#))
}

fn with_sids(bodies: Vec<String>, prefix: &str) -> Vec<String> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| format!(r#""Sid": "{prefix}{i}", {body}"#))
        .collect()
}

fn document(bodies: &[String]) -> String {
    let statements: Vec<String> = bodies.iter().map(|b| format!("{{{b}}}")).collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

/// A scenario: the key policy's statements (`None` for an account-level action), and the
/// identity policies' statements by policy name.
#[derive(Debug, Clone)]
struct Scenario {
    key: Option<Vec<String>>,
    identities: Vec<(String, Vec<String>)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let key = prop::option::weighted(
        0.85,
        prop::collection::vec(key_statement(None), 1..5).prop_map(|b| with_sids(b, "K")),
    );
    let identity = prop::collection::vec(identity_statement(None), 1..4);
    let identities = prop::collection::vec(identity, 0..4).prop_map(|policies| {
        policies
            .into_iter()
            .enumerate()
            .map(|(i, bodies)| (format!("P{i}"), with_sids(bodies, "S")))
            .collect()
    });
    (key, identities).prop_map(|(key, identities)| Scenario { key, identities })
}

fn request() -> impl Strategy<Value = RequestContext> {
    let callers = prop::sample::select(vec![
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/Alice",
        "arn:aws:iam::111122223333:user/Bob",
        "arn:aws:sts::111122223333:assumed-role/Ops/s",
        "arn:aws:iam::444455556666:user/Eve",
        "arn:aws:iam::444455556666:root",
        "svc:cloudtrail.amazonaws.com",
    ]);
    let actions = prop::sample::select(vec![
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:CreateKey",
    ]);
    let resources = prop::sample::select(vec![KEY, "arn:aws:kms:us-east-1:111122223333:key/k2"]);
    let flags = prop::collection::vec(any::<bool>(), 6);
    (callers, actions, resources, flags).prop_map(|(who, action, resource, f)| {
        let principal = match who.strip_prefix("svc:") {
            Some(service) => PrincipalInfo::Service(service.to_owned()),
            None => PrincipalInfo::from_arn(who),
        };
        let mut ctx = RequestContext::new(principal, action, resource);
        if f[0] {
            ctx.insert("kms:EncryptionContext:Dept", ["IT"]);
            ctx.insert("kms:EncryptionContextKeys", ["Dept"]);
        }
        ctx.insert(
            "aws:SourceIp",
            [if f[1] { "10.1.2.3" } else { "192.0.2.1" }],
        );
        if f[2] {
            ctx.insert("kms:ViaService", ["ec2.us-east-1.amazonaws.com"]);
        }
        let time = if f[3] {
            "2024-06-01T00:00:00Z"
        } else {
            "2026-06-01T00:00:00Z"
        };
        ctx.insert("aws:CurrentTime", [time]);
        ctx.insert("aws:ResourceTag/Team", ["blue"]);
        if f[4] {
            ctx.insert("aws:PrincipalTag/Team", [if f[5] { "blue" } else { "red" }]);
        }
        ctx
    })
}

/// The parsed policies of a scenario.
struct Parsed {
    key: Option<Policy>,
    identities: Vec<(String, Policy)>,
}

fn parse(scenario: &Scenario) -> Parsed {
    let key = scenario.key.as_ref().map(|bodies| {
        parse_key_policy(&document(bodies))
            .unwrap_or_else(|e| panic!("generated key policy refused: {e}"))
    });
    let identities = scenario
        .identities
        .iter()
        .map(|(name, bodies)| {
            let policy = parse_identity_policy(&document(bodies), ROLE_POLICY_MAX_CHARS)
                .unwrap_or_else(|e| panic!("generated identity policy refused: {e}"));
            (name.clone(), policy)
        })
        .collect();
    Parsed { key, identities }
}

/// The authorization, with owned strings so that it can be compared across scenarios.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Allowed(Vec<String>),
    Explicit(String),
    NoIdentity,
    NoResource,
}

fn decide(scenario: &Scenario, ctx: &RequestContext) -> Outcome {
    let parsed = parse(scenario);
    let named: Vec<(&str, &Policy)> = parsed
        .identities
        .iter()
        .map(|(n, p)| (n.as_str(), p))
        .collect();
    // An account-level action is on no resource, in the caller's account.
    let mut ctx = ctx.clone();
    let resource_account = if parsed.key.is_some() {
        Some("111122223333")
    } else {
        ctx.set_resource("*");
        None
    };
    let input = AuthorizationInput {
        context: &ctx,
        resource_policy: parsed.key.as_ref(),
        identity_policies: &named,
        resource_account,
    };
    match authorize(&input) {
        Authorization::Allowed { by } => {
            Outcome::Allowed(by.iter().map(|s| format!("{s:?}")).collect())
        }
        Authorization::Denied { reason } => match reason {
            Denial::NoIdentityPolicyAllows => Outcome::NoIdentity,
            Denial::NoResourcePolicyAllows => Outcome::NoResource,
            explicit => Outcome::Explicit(format!("{explicit:?}")),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn an_applicable_explicit_deny_anywhere_always_wins(
        mut scenario in scenario(),
        key_deny in key_statement(Some("Deny")),
        identity_deny in identity_statement(Some("Deny")),
        in_identity in any::<bool>(),
        at in any::<prop::sample::Index>(),
        ctx in request(),
    ) {
        let deny_applies = if in_identity || scenario.key.is_none() {
            let deny = format!(r#""Sid": "Guard", {identity_deny}"#);
            let policy = parse_identity_policy(&document(std::slice::from_ref(&deny)), ROLE_POLICY_MAX_CHARS).unwrap();
            let mut ctx = ctx.clone();
            if scenario.key.is_none() {
                ctx.set_resource("*");
            }
            let applies = matches!(evaluate(&policy, &ctx), Decision::ExplicitDeny { .. });
            if scenario.identities.is_empty() {
                scenario.identities.push(("P9".to_owned(), vec![deny]));
            } else {
                let i = at.index(scenario.identities.len());
                let bodies = &mut scenario.identities[i].1;
                bodies.insert(at.index(bodies.len() + 1), deny);
            }
            applies
        } else {
            let deny = format!(r#""Sid": "Guard", {key_deny}"#);
            let policy = parse_key_policy(&document(std::slice::from_ref(&deny))).unwrap();
            let applies = matches!(evaluate(&policy, &ctx), Decision::ExplicitDeny { .. });
            if let Some(bodies) = scenario.key.as_mut() {
                bodies.insert(at.index(bodies.len() + 1), deny);
            }
            applies
        };
        let outcome = decide(&scenario, &ctx);
        if deny_applies {
            prop_assert!(matches!(outcome, Outcome::Explicit(_)), "{outcome:?}");
        }
    }

    #[test]
    fn adding_an_allow_never_removes_access(
        scenario in scenario(),
        key_allow in key_statement(Some("Allow")),
        identity_allow in identity_statement(Some("Allow")),
        target in any::<prop::sample::Index>(),
        new_policy in any::<bool>(),
        ctx in request(),
    ) {
        let before = decide(&scenario, &ctx);
        let mut more = scenario.clone();
        let slots = more.identities.len() + usize::from(more.key.is_some());
        let pick = target.index(slots + 1);
        if pick < more.identities.len() && !new_policy {
            more.identities[pick].1.push(format!(r#""Sid": "Extra", {identity_allow}"#));
        } else if let (Some(bodies), true) = (more.key.as_mut(), pick == slots) {
            bodies.push(format!(r#""Sid": "Extra", {key_allow}"#));
        } else {
            more.identities.push(("P8".to_owned(), vec![format!(r#""Sid": "Extra", {identity_allow}"#)]));
        }
        let after = decide(&more, &ctx);
        match before {
            Outcome::Allowed(_) => prop_assert!(matches!(after, Outcome::Allowed(_)), "{after:?}"),
            Outcome::Explicit(_) => prop_assert_eq!(after, before),
            Outcome::NoIdentity | Outcome::NoResource => {
                prop_assert!(!matches!(after, Outcome::Explicit(_)), "{after:?}")
            }
        }
    }

    #[test]
    fn order_of_statements_and_of_identity_policies_never_matters(
        (scenario, shuffled) in scenario().prop_flat_map(|s| {
            let key = match s.key.clone() {
                Some(bodies) => Just(bodies).prop_shuffle().prop_map(Some).boxed(),
                None => Just(None).boxed(),
            };
            let identities: Vec<_> = s
                .identities
                .iter()
                .map(|(name, bodies)| (Just(name.clone()), Just(bodies.clone()).prop_shuffle()))
                .collect();
            let identities = identities.prop_shuffle();
            (Just(s), (key, identities).prop_map(|(key, identities)| Scenario { key, identities }))
        }),
        ctx in request(),
    ) {
        prop_assert_eq!(decide(&scenario, &ctx), decide(&shuffled, &ctx));
    }

    #[test]
    fn identity_policies_never_open_a_key_the_key_policy_keeps_shut(
        scenario in scenario(),
        ctx in request(),
    ) {
        let Some(bodies) = &scenario.key else {
            return Ok(());
        };
        let key_policy = parse_key_policy(&document(bodies)).unwrap();
        let key_decision = evaluate(&key_policy, &ctx);
        let outcome = decide(&scenario, &ctx);
        if !matches!(key_decision, Decision::Allow { .. }) {
            prop_assert!(!matches!(outcome, Outcome::Allowed(_)), "{key_decision:?} {outcome:?}");
        }
        // And with no identity policy at all, a delegating key policy allows only root users
        // (which it matches directly) and callers it names.
        let alone = Scenario { key: scenario.key.clone(), identities: Vec::new() };
        if let (Outcome::Allowed(_), Decision::Allow { principal, .. }) = (decide(&alone, &ctx), &key_decision) {
            prop_assert_eq!(*principal, strongroom_policy::PrincipalMatch::Direct);
        }
    }
}

//! Properties of evaluation that hold for every policy, not only the documented ones.
//!
//! They are the reasons AWS's algorithm is safe to reason about, so each is checked over random
//! policies built from a pool of principals, actions, resources and conditions:
//! - an applicable explicit `Deny` always wins: no allow, however specific, can outvote it, so a
//!   guard statement added by an administrator cannot be undone by someone else's allow;
//! - adding an `Allow` statement never removes access: allows only add, so a policy can be
//!   reviewed statement by statement;
//! - permuting statements never changes the decision (the deciding `Sid` included): policies are
//!   sets, and the simulator's explanation must not depend on how the JSON was written.

#![cfg(test)]

use proptest::prelude::*;
use strongroom_policy::{Decision, PrincipalInfo, RequestContext, evaluate, parse_key_policy};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";

fn principal() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Principal": "*""#,
        r#""Principal": {"AWS": "111122223333"}"#,
        r#""Principal": {"AWS": "arn:aws:iam::111122223333:root"}"#,
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
        r#""Action": "kms:Describe?ey""#,
    ])
}

fn resource() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        r#""Resource": "*""#,
        r#""Resource": "arn:aws:kms:*:111122223333:key/*""#,
        r#""NotResource": "arn:aws:kms:us-east-1:111122223333:key/k2""#,
        r#""Resource": "arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/k?""#,
    ])
}

fn condition() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        r#", "Condition": {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}}"#,
        r#", "Condition": {"ForAllValues:StringLike": {"kms:EncryptionContextKeys": "D*"}}"#,
        r#", "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Dept"}}"#,
        r#", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
        r#", "Condition": {"Null": {"kms:ViaService": "true"}}"#,
        r#", "Condition": {"StringNotEqualsIfExists": {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}}"#,
        r#", "Condition": {"DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
        r#", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}"#,
    ])
}

/// One statement without `Sid`, as JSON members after the `Sid`.
fn statement(effect: Option<&'static str>) -> impl Strategy<Value = String> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop::sample::select(vec!["Allow", "Deny"]).boxed(),
    };
    (effect, principal(), action(), resource(), condition())
        .prop_map(|(e, p, a, r, c)| format!(r#""Effect": "{e}", {p}, {a}, {r}{c}"#))
}

fn policy_text(bodies: &[String]) -> String {
    let statements: Vec<String> = bodies.iter().map(|b| format!("{{{b}}}")).collect();
    format!(
        r#"{{"Version": "2012-10-17", "Statement": [{}]}}"#,
        statements.join(",")
    )
}

/// Statements with unique Sids attached, so that permutations carry their Sid along.
fn statements() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(statement(None), 1..6).prop_map(|bodies| {
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| format!(r#""Sid": "S{i}", {body}"#))
            .collect()
    })
}

fn request() -> impl Strategy<Value = RequestContext> {
    let callers = prop::sample::select(vec![
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/Alice",
        "arn:aws:sts::111122223333:assumed-role/Ops/s",
        "arn:aws:iam::444455556666:user/Eve",
        "svc:cloudtrail.amazonaws.com",
    ]);
    let actions = prop::sample::select(vec![
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:DescribeKey",
    ]);
    let resources = prop::sample::select(vec![KEY, "arn:aws:kms:us-east-1:111122223333:key/k2"]);
    let context_keys = prop::sample::subsequence(vec!["Dept", "Project"], 0..=2);
    let flags = prop::collection::vec(any::<bool>(), 5);
    (callers, actions, resources, context_keys, flags).prop_map(
        |(who, action, resource, ctx_keys, f)| {
            let principal = match who.strip_prefix("svc:") {
                Some(service) => PrincipalInfo::Service(service.to_owned()),
                None => PrincipalInfo::from_arn(who),
            };
            let mut ctx = RequestContext::new(principal, action, resource);
            if f[0] {
                ctx.insert("kms:EncryptionContext:Dept", ["IT"]);
            }
            if f[1] {
                ctx.insert("kms:EncryptionContextKeys", ctx_keys);
            }
            ctx.insert(
                "aws:SourceIp",
                [if f[2] { "10.1.2.3" } else { "192.0.2.1" }],
            );
            if f[3] {
                ctx.insert("kms:ViaService", ["ec2.us-east-1.amazonaws.com"]);
            }
            let time = if f[4] {
                "2024-06-01T00:00:00Z"
            } else {
                "2026-06-01T00:00:00Z"
            };
            ctx.insert("aws:CurrentTime", [time]);
            ctx
        },
    )
}

fn decide(bodies: &[String], ctx: &RequestContext) -> Decision {
    match parse_key_policy(&policy_text(bodies)) {
        Ok(policy) => evaluate(&policy, ctx),
        Err(e) => panic!("generated policy refused: {e}\n{}", policy_text(bodies)),
    }
}

proptest! {
    #[test]
    fn an_applicable_deny_always_wins(
        mut bodies in statements(),
        deny in statement(Some("Deny")),
        at in any::<prop::sample::Index>(),
        ctx in request(),
    ) {
        let deny = format!(r#""Sid": "Guard", {deny}"#);
        let deny_applies = decide(std::slice::from_ref(&deny), &ctx) != Decision::ImplicitDeny;
        bodies.insert(at.index(bodies.len() + 1), deny);
        let decision = decide(&bodies, &ctx);
        if deny_applies {
            prop_assert!(matches!(decision, Decision::ExplicitDeny { .. }), "{decision:?}");
        }
        let deny_everything = r#""Sid": "All", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*""#;
        bodies.push(deny_everything.to_owned());
        let decision = decide(&bodies, &ctx);
        prop_assert!(matches!(decision, Decision::ExplicitDeny { .. }), "{decision:?}");
    }

    #[test]
    fn adding_an_allow_never_removes_access(
        bodies in statements(),
        allow in statement(Some("Allow")),
        ctx in request(),
    ) {
        let before = decide(&bodies, &ctx);
        let mut more = bodies.clone();
        more.push(format!(r#""Sid": "Extra", {allow}"#));
        let after = decide(&more, &ctx);
        match before {
            Decision::Allow { .. } => prop_assert!(matches!(after, Decision::Allow { .. }), "{after:?}"),
            Decision::ExplicitDeny { .. } => prop_assert_eq!(after, before),
            Decision::ImplicitDeny => prop_assert!(!matches!(after, Decision::ExplicitDeny { .. }), "{after:?}"),
        }
    }

    #[test]
    fn statement_order_never_changes_the_decision(
        (bodies, shuffled) in statements().prop_flat_map(|b| (Just(b.clone()), Just(b).prop_shuffle())),
        ctx in request(),
    ) {
        prop_assert_eq!(decide(&bodies, &ctx), decide(&shuffled, &ctx));
    }
}

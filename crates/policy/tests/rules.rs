//! One test per document rule of `parse_key_policy`: the accepted form passes, each violation
//! gives its reason and its AWS exception.

// Integration tests are always built with cfg(test); saying so lets clippy's test allowances
// (unwrap, expect, panic) cover the helper functions too, not only the #[test] functions.
#![cfg(test)]

use strongroom_policy::{
    ActionSpec, Effect, ElementPair, KEY_POLICY_MAX_BYTES, POLICY_MAX_CHARS, PolicyError,
    PolicyException, PolicyVersion, PrincipalSpec, Principals, ResourceSpec, parse_key_policy,
};

/// A minimal valid key policy whose single statement is `statement_body` (JSON members).
fn with_statement(statement_body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": [{{{statement_body}}}]}}"#)
}

const BODY: &str = r#""Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*""#;

fn err(text: &str) -> PolicyError {
    parse_key_policy(text).expect_err("policy should be refused")
}

fn malformed(text: &str) -> PolicyError {
    let e = err(text);
    assert_eq!(
        e.exception(),
        PolicyException::MalformedPolicyDocument,
        "{e:?}"
    );
    e
}

/// A valid policy padded with spaces to exactly `len` bytes.
fn padded(len: usize) -> String {
    let base = with_statement(BODY);
    let pad = " ".repeat(len - base.len());
    base + &pad
}

#[test]
fn size_limit_is_exactly_32768_bytes() {
    assert_eq!(KEY_POLICY_MAX_BYTES, 32_768);
    assert!(parse_key_policy(&padded(KEY_POLICY_MAX_BYTES)).is_ok());
    let e = err(&padded(KEY_POLICY_MAX_BYTES + 1));
    assert_eq!(
        e,
        PolicyError::TooLarge {
            size: 32_769,
            limit: 32_768
        }
    );
    assert_eq!(e.exception(), PolicyException::LimitExceeded);
    assert_eq!(
        e.to_string(),
        "The key policy is 32769 bytes; a key policy can be at most 32768 bytes."
    );
}

#[test]
fn size_limit_counts_utf8_bytes_not_characters() {
    // 'é' (U+00E9) is allowed and takes two bytes.
    let base = with_statement(&format!(r#""Sid": "", {BODY}"#));
    let room = KEY_POLICY_MAX_BYTES - base.len();
    let fits = base.replacen(
        r#""Sid": """#,
        &format!(r#""Sid": "{}""#, "é".repeat(room / 2)),
        1,
    );
    assert!(fits.len() <= KEY_POLICY_MAX_BYTES && fits.chars().count() < KEY_POLICY_MAX_BYTES);
    assert!(parse_key_policy(&fits).is_ok());
    let over = base.replacen(
        r#""Sid": """#,
        &format!(r#""Sid": "{}""#, "é".repeat(room / 2 + 1)),
        1,
    );
    assert!(over.chars().count() < KEY_POLICY_MAX_BYTES);
    assert!(matches!(err(&over), PolicyError::TooLarge { .. }));
}

#[test]
fn text_must_be_non_empty() {
    let e = err("");
    assert_eq!(e, PolicyError::Empty);
    assert_eq!(e.exception(), PolicyException::Validation);
    assert!(
        e.to_string()
            .ends_with("Member must have length greater than or equal to 1")
    );
}

#[test]
fn text_longer_than_the_model_maximum_is_a_validation_error() {
    let e = err(&" ".repeat(POLICY_MAX_CHARS + 1));
    assert_eq!(
        e,
        PolicyError::TooLong {
            chars: POLICY_MAX_CHARS + 1
        }
    );
    assert_eq!(e.exception(), PolicyException::Validation);
}

#[test]
fn text_may_hold_only_tab_newline_return_and_latin_1() {
    let ok = with_statement(&format!(
        "\"Sid\": \"caf\u{e9} \u{ff} \u{7f}\",\t\r\n{BODY}"
    ));
    assert!(parse_key_policy(&ok).is_ok());
    for bad in [
        '\u{0}',
        '\u{b}',
        '\u{1f}',
        '\u{100}',
        '\u{2013}',
        '\u{feff}',
        '\u{1f512}',
    ] {
        let text = with_statement(&format!("\"Sid\": \"x{bad}\", {BODY}"));
        let offset = text.find(bad).unwrap();
        let e = err(&text);
        assert_eq!(
            e,
            PolicyError::InvalidCharacter {
                offset,
                character: bad
            }
        );
        assert_eq!(e.exception(), PolicyException::Validation);
        assert!(
            e.to_string()
                .contains(r"[\u0009\u000A\u000D\u0020-\u00FF]+"),
            "{e}"
        );
    }
}

#[test]
fn document_must_be_one_json_object() {
    assert!(matches!(malformed("{"), PolicyError::InvalidJson(_)));
    assert!(matches!(
        malformed(&format!("{} x", with_statement(BODY))),
        PolicyError::InvalidJson(_)
    ));
    for not_object in ["[]", "\"policy\"", "42", "null", "true"] {
        assert_eq!(
            malformed(not_object),
            PolicyError::NotAnObject,
            "{not_object}"
        );
    }
}

#[test]
fn duplicate_keys_are_refused_at_every_level() {
    let cases = [
        r#"{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}"#.to_owned(),
        with_statement(&format!(r#""Effect": "Deny", {BODY}"#)),
        with_statement(
            r#""Effect": "Allow", "Principal": {"AWS": "111122223333", "AWS": "*"}, "Action": "kms:*", "Resource": "*""#,
        ),
        with_statement(&format!(
            r#"{BODY}, "Condition": {{"StringEquals": {{"kms:CallerAccount": "1", "kms:CallerAccount": "2"}}}}"#
        )),
    ];
    for text in &cases {
        let e = malformed(text);
        assert!(
            matches!(&e, PolicyError::DuplicateKey(m) if m.contains("line 1 column")),
            "{text}: {e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("Policy contains a duplicate JSON key: duplicate key \"")
        );
    }
}

#[test]
fn top_level_members_are_only_version_id_and_statement() {
    let full =
        format!(r#"{{"Version": "2012-10-17", "Id": "key-policy-1", "Statement": {{{BODY}}}}}"#);
    let policy = parse_key_policy(&full).unwrap();
    assert_eq!(policy.id.as_deref(), Some("key-policy-1"));
    for extra in ["Conditions", "version", "Statements", "Principal"] {
        let text = format!(r#"{{"{extra}": "x", "Statement": {{{BODY}}}}}"#);
        assert_eq!(
            malformed(&text),
            PolicyError::UnknownElement {
                element: extra.into(),
                context: "the policy document"
            }
        );
    }
    let e = malformed(&format!(r#"{{"Id": 7, "Statement": {{{BODY}}}}}"#));
    assert_eq!(
        e,
        PolicyError::WrongType {
            element: "Id",
            expected: "a string"
        }
    );
    assert_eq!(e.to_string(), "The Id element must be a string.");
}

#[test]
fn version_is_optional_and_one_of_two() {
    let without = parse_key_policy(&format!(r#"{{"Statement": [{{{BODY}}}]}}"#)).unwrap();
    assert_eq!(without.version, None);
    let old = parse_key_policy(&format!(
        r#"{{"Version": "2008-10-17", "Statement": [{{{BODY}}}]}}"#
    ));
    assert_eq!(old.unwrap().version, Some(PolicyVersion::V2008_10_17));
    assert_eq!(
        parse_key_policy(&with_statement(BODY)).unwrap().version,
        Some(PolicyVersion::V2012_10_17)
    );
    for bad in ["2012-10-18", "2012-10-17 ", "latest", ""] {
        let e = malformed(&format!(
            r#"{{"Version": "{bad}", "Statement": [{{{BODY}}}]}}"#
        ));
        assert_eq!(e, PolicyError::InvalidVersion(bad.into()));
    }
    let e = malformed(&format!(
        r#"{{"Version": 2012, "Statement": [{{{BODY}}}]}}"#
    ));
    assert_eq!(
        e,
        PolicyError::WrongType {
            element: "Version",
            expected: "a string"
        }
    );
}

#[test]
fn statement_is_required_and_is_one_object_or_a_non_empty_array() {
    let single = parse_key_policy(&format!(r#"{{"Statement": {{{BODY}}}}}"#)).unwrap();
    assert_eq!(single.statements.len(), 1);
    assert_eq!(
        malformed(r#"{"Version": "2012-10-17"}"#),
        PolicyError::MissingStatement
    );
    let e = malformed(r#"{"Statement": []}"#);
    assert_eq!(e, PolicyError::NoStatements);
    assert_eq!(
        e.to_string(),
        "A key policy document must have at least one statement."
    );
    let valid_then_string = format!(r#"[{{{BODY}}}, "x"]"#);
    for bad in [r#""*""#, "null", &valid_then_string, "[[]]"] {
        let e = malformed(&format!(r#"{{"Statement": {bad}}}"#));
        assert!(
            matches!(
                e,
                PolicyError::WrongType {
                    element: "Statement",
                    ..
                }
            ),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn statement_members_are_only_the_known_elements() {
    for extra in ["Principals", "effect", "Id", "Version", "Conditions"] {
        let e = malformed(&with_statement(&format!(r#"{BODY}, "{extra}": "x""#)));
        assert_eq!(
            e,
            PolicyError::UnknownElement {
                element: extra.into(),
                context: "a statement"
            }
        );
        assert_eq!(
            e.to_string(),
            format!("Policy contains an unknown element \"{extra}\" in a statement.")
        );
    }
}

#[test]
fn effect_is_required_and_exactly_allow_or_deny() {
    let deny = with_statement(&BODY.replace("Allow", "Deny"));
    assert_eq!(
        parse_key_policy(&deny).unwrap().statements[0].effect,
        Effect::Deny
    );
    let missing = with_statement(r#""Principal": "*", "Action": "kms:*", "Resource": "*""#);
    let e = malformed(&missing);
    assert_eq!(
        (e.clone(), e.to_string()),
        (
            PolicyError::MissingEffect,
            "Policy contains a statement with no Effect.".into()
        )
    );
    for bad in ["allow", "DENY", "Permit", ""] {
        let e = malformed(&with_statement(
            &BODY.replace("\"Allow\"", &format!("\"{bad}\"")),
        ));
        assert_eq!(e, PolicyError::InvalidEffect(bad.into()));
    }
    let e = malformed(&with_statement(&BODY.replace("\"Allow\"", "true")));
    assert_eq!(
        e,
        PolicyError::WrongType {
            element: "Effect",
            expected: "a string"
        }
    );
}

#[test]
fn a_key_policy_statement_needs_exactly_one_of_principal_and_not_principal() {
    let none = with_statement(r#""Effect": "Allow", "Action": "kms:*", "Resource": "*""#);
    let e = malformed(&none);
    assert_eq!(e, PolicyError::NoPrincipal);
    assert_eq!(
        e.to_string(),
        "Policy contains a statement with no principal."
    );
    let not = with_statement(
        &BODY
            .replace("\"Principal\"", "\"NotPrincipal\"")
            .replace("Allow", "Deny"),
    );
    let statement = &parse_key_policy(&not).unwrap().statements[0];
    assert!(
        matches!(&statement.principal, PrincipalSpec::NotPrincipal(Principals::Listed(l)) if l.len() == 1)
    );
    let both = with_statement(&format!(r#"{BODY}, "NotPrincipal": "*""#));
    let e = malformed(&both);
    assert_eq!(e, PolicyError::ConflictingElements(ElementPair::Principal));
    assert_eq!(
        e.to_string(),
        "Policy contains a statement with both Principal and NotPrincipal."
    );
}

#[test]
fn principal_faults_use_the_kms_wording() {
    let e = malformed(&with_statement(
        &BODY.replace("arn:aws:iam::111122223333:root", "AIDACKCEVSQ6C2EXAMPLE"),
    ));
    assert_eq!(
        e,
        PolicyError::InvalidPrincipal("AIDACKCEVSQ6C2EXAMPLE".into())
    );
    assert_eq!(
        e.to_string(),
        "Policy contains a statement with one or more invalid principals."
    );
    let empty = with_statement(
        r#""Effect": "Allow", "Principal": {"AWS": []}, "Action": "kms:*", "Resource": "*""#,
    );
    assert_eq!(malformed(&empty), PolicyError::NoPrincipal);
}

#[test]
fn action_and_not_action_are_exclusive_and_may_both_be_absent() {
    let not = with_statement(&BODY.replace("\"Action\"", "\"NotAction\""));
    let statement = &parse_key_policy(&not).unwrap().statements[0];
    assert!(matches!(&statement.action, Some(ActionSpec::NotAction(a)) if a.len() == 1));
    let both = with_statement(&format!(r#"{BODY}, "NotAction": "kms:Decrypt""#));
    assert_eq!(
        malformed(&both),
        PolicyError::ConflictingElements(ElementPair::Action)
    );
    // KMS accepts a statement without an action; it applies to no request.
    let without = with_statement(r#""Effect": "Allow", "Principal": "*", "Resource": "*""#);
    assert_eq!(
        parse_key_policy(&without).unwrap().statements[0].action,
        None
    );
    let empty = with_statement(&BODY.replace(r#""kms:*""#, "[]"));
    assert_eq!(malformed(&empty), PolicyError::NoActions);
}

#[test]
fn resource_and_not_resource_are_exclusive_and_may_both_be_absent() {
    let not = with_statement(&BODY.replace("\"Resource\"", "\"NotResource\""));
    let statement = &parse_key_policy(&not).unwrap().statements[0];
    assert!(matches!(&statement.resource, Some(ResourceSpec::NotResource(r)) if r.len() == 1));
    let both = with_statement(&format!(r#"{BODY}, "NotResource": "*""#));
    let e = malformed(&both);
    assert_eq!(e, PolicyError::ConflictingElements(ElementPair::Resource));
    // KMS accepts a statement without a resource; it applies to no key.
    let without = with_statement(r#""Effect": "Allow", "Principal": "*", "Action": "kms:*""#);
    assert_eq!(
        parse_key_policy(&without).unwrap().statements[0].resource,
        None
    );
    let empty = with_statement(&BODY.replace(r#""Resource": "*""#, r#""Resource": []"#));
    assert_eq!(malformed(&empty), PolicyError::NoResources);
}

#[test]
fn sid_is_any_string_and_unique() {
    let spaced = with_statement(&format!(r#""Sid": "Allow use of the key (2024)!", {BODY}"#));
    let policy = parse_key_policy(&spaced).unwrap();
    assert_eq!(
        policy.statements[0].sid.as_deref(),
        Some("Allow use of the key (2024)!")
    );
    let twice = |a: &str, b: &str| {
        format!(r#"{{"Statement": [{{"Sid": "{a}", {BODY}}}, {{"Sid": "{b}", {BODY}}}]}}"#)
    };
    let e = malformed(&twice("Admins", "Admins"));
    assert_eq!(e, PolicyError::DuplicateSid("Admins".into()));
    assert_eq!(
        e.to_string(),
        "Statement IDs (SID) in a single policy must be unique."
    );
    assert!(
        parse_key_policy(&twice("Admins", "admins")).is_ok(),
        "Sids compare case-sensitively"
    );
    assert!(
        parse_key_policy(&twice("", "")).is_ok(),
        "empty Sids are not compared"
    );
    let e = malformed(&with_statement(&format!(r#""Sid": 1, {BODY}"#)));
    assert_eq!(
        e,
        PolicyError::WrongType {
            element: "Sid",
            expected: "a string"
        }
    );
}

#[test]
fn statements_without_sid_may_repeat() {
    let text = format!(r#"{{"Statement": [{{{BODY}}}, {{{BODY}}}]}}"#);
    assert_eq!(parse_key_policy(&text).unwrap().statements.len(), 2);
}

#[test]
fn condition_faults_reach_the_caller() {
    let op = malformed(&with_statement(&format!(
        r#"{BODY}, "Condition": {{"StringEqual": {{"kms:CallerAccount": "1"}}}}"#
    )));
    assert_eq!(
        op.to_string(),
        "Policy contains a statement with an unknown condition operator \"StringEqual\"."
    );
    let value = malformed(&with_statement(&format!(
        r#"{BODY}, "Condition": {{"Bool": {{"aws:SecureTransport": "yes"}}}}"#
    )));
    assert!(matches!(value, PolicyError::InvalidConditionValue { .. }));
    let shape = malformed(&with_statement(&format!(r#"{BODY}, "Condition": ["x"]"#)));
    assert!(matches!(
        shape,
        PolicyError::WrongType {
            element: "Condition",
            ..
        }
    ));
}

#[test]
fn the_first_fault_in_document_order_is_reported() {
    // Two faults: the unknown element comes first in the statement.
    let text = with_statement(r#""Bogus": 1, "Effect": "Maybe", "Principal": "*""#);
    assert!(matches!(
        malformed(&text),
        PolicyError::UnknownElement { .. }
    ));
    // Within a statement, values are checked Effect first, then principal.
    let text = with_statement(r#""Principal": "nobody", "Effect": "Maybe""#);
    assert_eq!(malformed(&text), PolicyError::InvalidEffect("Maybe".into()));
}

//! Property tests: `parse_key_policy` returns, never panics, on arbitrary text and on arbitrary
//! textual and structural mutations of a valid policy; and layout does not change acceptance.

// Integration tests are always built with cfg(test); saying so lets clippy's test allowances
// (unwrap, expect, panic) cover the helper functions too, not only the #[test] functions.
#![cfg(test)]

use proptest::prelude::*;
use serde_json::Value;
use strongroom_policy::{PolicyException, parse_key_policy};

const VALID: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-3",
  "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
    {"Sid": "Allow use of the key", "Effect": "Allow",
     "Principal": {"AWS": ["arn:aws:iam::111122223333:role/ExampleRole", "111122223333"],
                   "Service": "ec2.amazonaws.com"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
     "Resource": "*",
     "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"},
                   "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": ["Dept*"]},
                   "NumericLessThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": 30},
                   "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                   "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
                   "Bool": {"kms:GrantIsForAWSResource": true}}},
    {"Sid": "Deny others", "Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
     "NotAction": "kms:Describe*", "NotResource": "arn:aws:kms:*:111122223333:key/*"}
  ]
}"#;

/// Calls the parser and checks the error contract: a message and an exception.
fn parse_checked(text: &str) -> bool {
    match parse_key_policy(text) {
        Ok(policy) => {
            assert!(!policy.statements.is_empty());
            true
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
            let _ = e.exception();
            false
        }
    }
}

/// One edit of the policy text.
#[derive(Debug, Clone)]
enum Edit {
    Delete { at: usize, len: usize },
    Insert { at: usize, text: String },
    Replace { at: usize, with: char },
    Duplicate { at: usize, len: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let tokens = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("\"Effect\": \"Allow\",".to_owned()),
        Just("\"Principal\": \"*\",".to_owned()),
        Just("*".to_owned()),
        Just("\\u0000".to_owned()),
        "\\PC{0,8}",
    ];
    prop_oneof![
        (any::<usize>(), 0..40usize).prop_map(|(at, len)| Edit::Delete { at, len }),
        (any::<usize>(), tokens).prop_map(|(at, text)| Edit::Insert { at, text }),
        (any::<usize>(), any::<char>()).prop_map(|(at, with)| Edit::Replace { at, with }),
        (any::<usize>(), 0..200usize).prop_map(|(at, len)| Edit::Duplicate { at, len }),
    ]
}

/// Applies an edit on character boundaries.
fn apply(text: &str, edit: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    let pos = |at: usize| {
        if chars.is_empty() {
            0
        } else {
            at % (chars.len() + 1)
        }
    };
    let mut out = chars.clone();
    match edit {
        Edit::Delete { at, len } => {
            let start = pos(*at);
            let end = (start + len).min(out.len());
            out.drain(start..end);
        }
        Edit::Insert { at, text } => {
            let start = pos(*at);
            out.splice(start..start, text.chars());
        }
        Edit::Replace { at, with } => {
            if !out.is_empty() {
                let i = at % out.len();
                out[i] = *with;
            }
        }
        Edit::Duplicate { at, len } => {
            let start = pos(*at);
            let end = (start + len).min(chars.len());
            out.splice(start..start, chars[start..end].iter().copied());
        }
    }
    out.into_iter().collect()
}

/// Arbitrary JSON values, small.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("*"),
            Just("kms:*"),
            Just("Allow"),
            Just("arn:aws:iam::111122223333:root")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[A-Za-z:]{1,10}", inner), 0..4)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// Replaces the node reached by following `path` (indices taken modulo each container's size).
fn replace_node(node: &mut Value, path: &[usize], new: Value) {
    let Some((&step, rest)) = path.split_first() else {
        *node = new;
        return;
    };
    match node {
        Value::Array(items) if !items.is_empty() => {
            let len = items.len();
            replace_node(&mut items[step % len], rest, new);
        }
        Value::Object(map) if !map.is_empty() => {
            let len = map.len();
            if let Some(child) = map.values_mut().nth(step % len) {
                replace_node(child, rest, new);
            }
        }
        _ => *node = new,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        parse_checked(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_checked(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn json_shaped_text_never_panics(text in r#"[\{\}\[\]",: a-zA-Z0-9*\\]{0,200}"#) {
        parse_checked(&text);
    }

    #[test]
    fn textual_mutations_of_a_valid_policy_never_panic(edits in prop::collection::vec(edit(), 1..6)) {
        let mutated = edits.iter().fold(VALID.to_owned(), |text, e| apply(&text, e));
        parse_checked(&mutated);
    }

    #[test]
    fn structural_mutations_never_panic_and_layout_does_not_matter(
        path in prop::collection::vec(any::<usize>(), 0..5),
        new in json_value(),
    ) {
        let mut doc: Value = serde_json::from_str(VALID).unwrap();
        replace_node(&mut doc, &path, new);
        let compact = serde_json::to_string(&doc).unwrap();
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        prop_assert_eq!(parse_checked(&compact), parse_checked(&pretty));
    }

    #[test]
    fn oversized_valid_text_is_a_limit_error(extra in 1..2000usize) {
        let text = format!("{VALID}{}", " ".repeat(32_768 - VALID.len() + extra));
        let e = parse_key_policy(&text).unwrap_err();
        prop_assert_eq!(e.exception(), PolicyException::LimitExceeded);
    }
}

#[test]
fn the_mutation_seed_is_itself_valid() {
    assert!(parse_checked(VALID), "{:?}", parse_key_policy(VALID));
}

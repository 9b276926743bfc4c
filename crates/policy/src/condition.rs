//! The `Condition` element: operators, keys and the values each operator can compare.
//!
//! Values are checked against their operator at put time. AWS is known to do this for dates (a
//! date IAM cannot parse fails the policy); Strongroom does it for every typed operator, because
//! a value that can never compare — a mistyped CIDR in a `NotIpAddress` deny, `"yes"` in a
//! `Bool` — makes a statement silently inert, and a silently inert deny is a hole. String and ARN
//! operators take any string (they may hold policy variables), and JSON numbers and booleans,
//! which IAM compares by their text.

use crate::error::PolicyError;
use crate::json::Json;
use crate::model::{Condition, ConditionOperator, ConditionValue, ValueKind};
use crate::syntax;

/// Parses a `Condition` block into one [`Condition`] per (operator, key) pair.
pub(crate) fn parse_conditions(value: Json) -> Result<Vec<Condition>, PolicyError> {
    let Json::Object(blocks) = value else {
        return Err(wrong_type());
    };
    let mut conditions = Vec::new();
    for (name, block) in blocks {
        let operator = ConditionOperator::parse(&name)
            .ok_or_else(|| PolicyError::UnknownConditionOperator(name.clone()))?;
        let Json::Object(keys) = block else {
            return Err(wrong_type());
        };
        for (key, raw) in keys {
            check_key(&key)?;
            let values = values(raw)?;
            for value in &values {
                check_value(&name, operator, value)?;
            }
            conditions.push(Condition {
                operator,
                key,
                values,
            });
        }
    }
    Ok(conditions)
}

fn wrong_type() -> PolicyError {
    PolicyError::WrongType {
        element: "Condition",
        expected: "an object that maps operators to objects that map condition keys to a \
                   string, number or boolean, or an array of them",
    }
}

/// A condition key is `vendor:name`; the name may hold further colons
/// (`kms:EncryptionContext:aws:pi:service`) and slashes (`aws:RequestTag/Project`).
fn check_key(key: &str) -> Result<(), PolicyError> {
    let Some((vendor, name)) = key.split_once(':') else {
        return Err(PolicyError::MissingVendor(key.to_owned()));
    };
    if !syntax::is_vendor(vendor) {
        return Err(PolicyError::InvalidVendor(vendor.to_owned()));
    }
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(PolicyError::InvalidConditionKey(key.to_owned()));
    }
    Ok(())
}

fn values(raw: Json) -> Result<Vec<ConditionValue>, PolicyError> {
    match raw {
        Json::Array(items) => items.into_iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

fn scalar(raw: Json) -> Result<ConditionValue, PolicyError> {
    match raw {
        Json::String(s) => Ok(ConditionValue::String(s)),
        Json::Number(n) => Ok(ConditionValue::Number(n.to_string())),
        Json::Bool(b) => Ok(ConditionValue::Bool(b)),
        Json::Null | Json::Array(_) | Json::Object(_) => Err(wrong_type()),
    }
}

fn check_value(
    name: &str,
    operator: ConditionOperator,
    value: &ConditionValue,
) -> Result<(), PolicyError> {
    let kind = operator.test.value_kind();
    let ok = match (kind, value) {
        (ValueKind::String | ValueKind::Arn, _) => true,
        (ValueKind::Number, ConditionValue::Number(_)) => true,
        (ValueKind::Number, ConditionValue::String(s)) => syntax::is_decimal(s),
        (ValueKind::Date, ConditionValue::Number(n)) => syntax::is_epoch_seconds(n),
        (ValueKind::Date, ConditionValue::String(s)) => syntax::is_date(s),
        (ValueKind::Bool, ConditionValue::Bool(_)) => true,
        (ValueKind::Bool, ConditionValue::String(s)) => {
            s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")
        }
        (ValueKind::Binary, ConditionValue::String(s)) => syntax::is_base64(s),
        (ValueKind::Ip, ConditionValue::String(s)) => syntax::is_ip_or_cidr(s),
        (ValueKind::Number | ValueKind::Date, ConditionValue::Bool(_))
        | (ValueKind::Bool | ValueKind::Binary | ValueKind::Ip, ConditionValue::Number(_))
        | (ValueKind::Binary | ValueKind::Ip, ConditionValue::Bool(_)) => false,
    };
    if ok {
        return Ok(());
    }
    Err(PolicyError::InvalidConditionValue {
        operator: name.to_owned(),
        value: value.to_string(),
        expected: expected(kind),
    })
}

fn expected(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::String | ValueKind::Arn => "a string",
        ValueKind::Number => "a decimal number",
        ValueKind::Date => "an ISO 8601 date (2024-01-31T12:00:00Z) or epoch seconds",
        ValueKind::Bool => "\"true\" or \"false\"",
        ValueKind::Binary => "base64-encoded bytes",
        ValueKind::Ip => "an IPv4 or IPv6 address or CIDR block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ConditionTest, SetOperator};

    fn parse(json: &str) -> Result<Vec<Condition>, PolicyError> {
        parse_conditions(crate::json::parse(json).unwrap())
    }

    #[test]
    fn flattens_operators_and_keys_in_document_order() {
        let conditions = parse(
            r#"{"StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": ["ec2.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"]},
                "ForAnyValue:StringLikeIfExists": {"kms:EncryptionContextKeys": "Dept*"},
                "NumericLessThan": {"kms:ExpirationModel": 10}}"#,
        )
        .unwrap();
        assert_eq!(conditions.len(), 4);
        assert_eq!(conditions[0].key, "kms:CallerAccount");
        assert_eq!(conditions[1].values.len(), 2);
        let op = conditions[2].operator;
        assert_eq!(op.set, Some(SetOperator::ForAnyValue));
        assert_eq!(op.test, ConditionTest::StringLike);
        assert!(op.if_exists);
        assert_eq!(
            conditions[3].values,
            vec![ConditionValue::Number("10".into())]
        );
    }

    #[test]
    fn empty_blocks_and_empty_value_lists_are_kept_as_written() {
        assert_eq!(parse("{}").unwrap(), vec![]);
        assert_eq!(parse(r#"{"StringEquals": {}}"#).unwrap(), vec![]);
        assert_eq!(
            parse(r#"{"StringEquals": {"aws:username": []}}"#).unwrap()[0].values,
            vec![]
        );
    }

    #[test]
    fn unknown_operators_are_refused() {
        for op in [
            "StringEqual",
            "NullIfExists",
            "stringEquals",
            "ForOneValue:StringLike",
        ] {
            let err = parse(&format!(r#"{{"{op}": {{"aws:username": "a"}}}}"#)).unwrap_err();
            assert_eq!(err, PolicyError::UnknownConditionOperator(op.into()));
        }
    }

    #[test]
    fn condition_keys_need_a_vendor_and_a_name() {
        let key = |k: &str| parse(&format!(r#"{{"StringEquals": {{"{k}": "a"}}}}"#));
        assert_eq!(
            key("username"),
            Err(PolicyError::MissingVendor("username".into()))
        );
        assert_eq!(
            key("k*s:ViaService"),
            Err(PolicyError::InvalidVendor("k*s".into()))
        );
        assert_eq!(
            key("kms:"),
            Err(PolicyError::InvalidConditionKey("kms:".into()))
        );
        assert!(key("kms:EncryptionContext:aws:pi:service").is_ok());
        assert!(key("aws:RequestTag/Project").is_ok());
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for json in [
            "[]",
            r#""StringEquals""#,
            r#"{"StringEquals": "a"}"#,
            r#"{"StringEquals": {"aws:username": null}}"#,
            r#"{"StringEquals": {"aws:username": [["a"]]}}"#,
            r#"{"StringEquals": {"aws:username": {"a": "b"}}}"#,
        ] {
            assert!(
                matches!(
                    parse(json),
                    Err(PolicyError::WrongType {
                        element: "Condition",
                        ..
                    })
                ),
                "{json}"
            );
        }
    }

    fn check(op: &str, value: &str) -> Result<Vec<Condition>, PolicyError> {
        parse(&format!(r#"{{"{op}": {{"aws:x": {value}}}}}"#))
    }

    #[test]
    fn typed_operators_accept_their_values() {
        for (op, value) in [
            ("NumericLessThan", "10"),
            ("NumericLessThan", "\"-2.5\""),
            ("NumericEqualsIfExists", "[1, \"2\"]"),
            ("DateGreaterThan", "\"2024-01-31T12:00:00Z\""),
            ("DateLessThan", "\"2024-01-31\""),
            ("DateEquals", "1700000000"),
            ("DateEquals", "\"1700000000\""),
            ("Bool", "\"true\""),
            ("Bool", "false"),
            ("Null", "\"false\""),
            ("BinaryEquals", "\"QmluYXJ5VmFsdWU=\""),
            ("IpAddress", "\"203.0.113.0/24\""),
            (
                "NotIpAddress",
                "[\"2001:DB8:1234:5678::/64\", \"198.51.100.7\"]",
            ),
            ("ArnLike", "\"arn:aws:iam::*:role/Admin*\""),
            ("StringEquals", "[true, 3, \"x\"]"),
        ] {
            assert!(
                check(op, value).is_ok(),
                "{op} {value}: {:?}",
                check(op, value)
            );
        }
    }

    #[test]
    fn typed_operators_refuse_values_they_cannot_compare() {
        for (op, value) in [
            ("NumericLessThan", "\"ten\""),
            ("NumericLessThan", "true"),
            ("DateGreaterThan", "\"yesterday\""),
            ("DateGreaterThan", "\"2024-13-01\""),
            ("DateGreaterThan", "-5"),
            ("Bool", "\"yes\""),
            ("Bool", "1"),
            ("Null", "\"maybe\""),
            ("BinaryEquals", "\"not base64!\""),
            ("IpAddress", "\"203.0.113.0/33\""),
            ("ForAnyValue:IpAddress", "[\"10.0.0.0/8\", \"10.0.0.300\"]"),
        ] {
            let err = check(op, value).unwrap_err();
            assert!(
                matches!(&err, PolicyError::InvalidConditionValue { operator, .. } if operator == op),
                "{op} {value}: {err:?}"
            );
        }
        let err = check("IpAddress", "\"10.0.0.0/33\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Policy contains a statement with an invalid value \"10.0.0.0/33\" for condition \
             operator IpAddress: an IPv4 or IPv6 address or CIDR block."
        );
    }
}

//! Condition evaluation: one (operator, key, values) triple against the request's values.
//!
//! The rules follow IAM's documentation of condition operators:
//! - a key the request lacks makes a positive operator false and a negated one (`StringNotEquals`,
//!   `NotIpAddress`, `ArnNotLike`, …) true; `…IfExists` makes any operator true; `Null` tests
//!   presence and nothing else;
//! - several policy values are OR-ed for a positive operator and NOR-ed for a negated one, so a
//!   negated operator is exactly the negation of its positive twin, value by value;
//! - `ForAnyValue:` needs one request value to pass (false on an empty set), `ForAllValues:` needs
//!   every request value to pass (true on an empty set, which is why AWS pairs it with `Null`);
//!   without a qualifier a multivalued key behaves as `ForAnyValue` for positive operators;
//! - policy variables are substituted only for string and ARN operators (IAM supports them
//!   nowhere else); a value whose variable cannot be resolved matches nothing.
//!
//! A request value the operator cannot parse (a non-number for `NumericLessThan`) never matches.

use std::cmp::Ordering;

use crate::context::ConditionKeys;
use crate::model::{Condition, ConditionTest, ConditionValue, SetOperator};
use crate::values::{parse_cidr, parse_date, parse_ip, parse_number};
use crate::wildcard::{self, Token};

/// Whether `condition` holds for the request.
pub(crate) fn holds(condition: &Condition, keys: &ConditionKeys, variables: bool) -> bool {
    let op = condition.operator;
    let present = keys.get(&condition.key).filter(|v| !v.is_empty());
    if op.test == ConditionTest::Null {
        return condition.values.iter().any(|v| match v {
            ConditionValue::Bool(b) => *b == present.is_none(),
            other => other.to_string().eq_ignore_ascii_case("true") == present.is_none(),
        });
    }
    let (positive, negated) = positive_form(op.test);
    let Some(request) = present else {
        return match op.set {
            _ if op.if_exists => true,
            Some(SetOperator::ForAllValues) => true,
            Some(SetOperator::ForAnyValue) => false,
            None => negated,
        };
    };
    let policy = policy_values(condition, keys, variables);
    let passes = |r: &String| policy.iter().any(|p| compare(positive, r, p)) != negated;
    match op.set {
        Some(SetOperator::ForAllValues) => request.iter().all(passes),
        Some(SetOperator::ForAnyValue) => request.iter().any(passes),
        None if negated => request.iter().all(passes),
        None => request.iter().any(passes),
    }
}

/// A policy value ready to compare: text, or a wildcard pattern after variable substitution.
enum PolicyValue {
    Text(String),
    Pattern(Vec<Token>),
}

fn policy_values(condition: &Condition, keys: &ConditionKeys, variables: bool) -> Vec<PolicyValue> {
    use crate::model::ValueKind;
    let patterned = matches!(
        condition.operator.test.value_kind(),
        ValueKind::String | ValueKind::Arn
    );
    condition
        .values
        .iter()
        .filter_map(|value| {
            let text = value.to_string();
            if !patterned {
                return Some(PolicyValue::Text(text));
            }
            if variables {
                wildcard::substitute(&text, keys).map(PolicyValue::Pattern)
            } else {
                Some(PolicyValue::Pattern(wildcard::tokens(&text)))
            }
        })
        .collect()
}

/// The positive test behind `test`, and whether `test` negates it.
fn positive_form(test: ConditionTest) -> (ConditionTest, bool) {
    use ConditionTest as T;
    match test {
        T::StringNotEquals => (T::StringEquals, true),
        T::StringNotEqualsIgnoreCase => (T::StringEqualsIgnoreCase, true),
        T::StringNotLike => (T::StringLike, true),
        T::NumericNotEquals => (T::NumericEquals, true),
        T::DateNotEquals => (T::DateEquals, true),
        T::NotIpAddress => (T::IpAddress, true),
        T::ArnNotEquals => (T::ArnEquals, true),
        T::ArnNotLike => (T::ArnLike, true),
        other => (other, false),
    }
}

/// One request value against one policy value, for a positive test.
fn compare(test: ConditionTest, request: &str, policy: &PolicyValue) -> bool {
    use ConditionTest as T;
    let text = |p: &PolicyValue| match p {
        PolicyValue::Text(t) => t.clone(),
        PolicyValue::Pattern(tokens) => wildcard::literal_text(tokens),
    };
    match (test, policy) {
        (T::StringLike, PolicyValue::Pattern(p)) => wildcard::matches(p, request, false),
        (T::ArnEquals | T::ArnLike, PolicyValue::Pattern(p)) => wildcard::arn_matches(p, request),
        (T::StringEquals, p) => request == text(p),
        (T::StringEqualsIgnoreCase, p) => text(p).to_lowercase() == request.to_lowercase(),
        (T::Bool, p) => text(p).eq_ignore_ascii_case(request),
        (T::BinaryEquals, p) => text(p) == request,
        (T::IpAddress, p) => ip_in(request, &text(p)),
        (T::NumericEquals | T::NumericLessThan | T::NumericLessThanEquals, p)
        | (T::NumericGreaterThan | T::NumericGreaterThanEquals, p) => {
            ordered(test, parse_number(request), parse_number(&text(p)))
        }
        (_, p) => ordered(test, parse_date(request), parse_date(&text(p))),
    }
}

/// `request <op> policy` for the numeric and date tests.
fn ordered<T: PartialOrd>(test: ConditionTest, request: Option<T>, policy: Option<T>) -> bool {
    use ConditionTest as C;
    let (Some(r), Some(p)) = (request, policy) else {
        return false;
    };
    let Some(ord) = r.partial_cmp(&p) else {
        return false;
    };
    match test {
        C::NumericEquals | C::DateEquals => ord == Ordering::Equal,
        C::NumericLessThan | C::DateLessThan => ord == Ordering::Less,
        C::NumericLessThanEquals | C::DateLessThanEquals => ord != Ordering::Greater,
        C::NumericGreaterThan | C::DateGreaterThan => ord == Ordering::Greater,
        C::NumericGreaterThanEquals | C::DateGreaterThanEquals => ord != Ordering::Less,
        _ => false,
    }
}

fn ip_in(request: &str, cidr: &str) -> bool {
    match (parse_ip(request), parse_cidr(cidr)) {
        (Some(addr), Some(block)) => block.contains(addr),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConditionOperator;

    fn condition(op: &str, key: &str, values: &[&str]) -> Condition {
        Condition {
            operator: ConditionOperator::parse(op).unwrap(),
            key: key.to_owned(),
            values: values
                .iter()
                .map(|v| ConditionValue::String((*v).to_owned()))
                .collect(),
        }
    }

    fn keys(pairs: &[(&str, &[&str])]) -> ConditionKeys {
        let mut keys = ConditionKeys::default();
        for (k, v) in pairs {
            keys.insert(k, v.iter().copied());
        }
        keys
    }

    #[test]
    fn missing_keys_fail_positive_operators_and_pass_negated_ones() {
        let none = keys(&[]);
        for (op, expected) in [
            ("StringEquals", false),
            ("StringNotEquals", true),
            ("StringEqualsIfExists", true),
            ("ArnNotLike", true),
            ("NumericLessThan", false),
            ("ForAnyValue:StringEquals", false),
            ("ForAllValues:StringEquals", true),
            ("ForAnyValue:StringNotEquals", false),
        ] {
            let c = condition(op, "aws:x", &["1"]);
            assert_eq!(holds(&c, &none, true), expected, "{op}");
        }
    }

    #[test]
    fn negated_operators_nor_their_values_over_every_request_value() {
        let c = condition("StringNotEquals", "aws:TagKeys", &["a", "b"]);
        assert!(holds(&c, &keys(&[("aws:TagKeys", &["c"])]), true));
        assert!(!holds(&c, &keys(&[("aws:TagKeys", &["b"])]), true));
        assert!(!holds(&c, &keys(&[("aws:TagKeys", &["c", "a"])]), true));
        let all = condition("ForAllValues:StringNotLike", "aws:TagKeys", &["a*"]);
        assert!(holds(&all, &keys(&[("aws:TagKeys", &["b", "c"])]), true));
        assert!(!holds(&all, &keys(&[("aws:TagKeys", &["b", "ab"])]), true));
    }

    #[test]
    fn unreadable_request_values_never_match() {
        let lt = condition("NumericLessThan", "aws:n", &["10"]);
        assert!(!holds(&lt, &keys(&[("aws:n", &["ten"])]), true));
        let date = condition("DateGreaterThan", "aws:CurrentTime", &["2024-01-01"]);
        assert!(!holds(
            &date,
            &keys(&[("aws:CurrentTime", &["soon"])]),
            true
        ));
        let ip = condition("IpAddress", "aws:SourceIp", &["10.0.0.0/8"]);
        assert!(!holds(&ip, &keys(&[("aws:SourceIp", &["host"])]), true));
    }

    #[test]
    fn null_tests_presence_only() {
        let absent = condition("Null", "aws:x", &["true"]);
        let present = condition("Null", "aws:x", &["false"]);
        let with = keys(&[("aws:x", &["anything"])]);
        assert!(holds(&absent, &keys(&[]), true) && !holds(&absent, &with, true));
        assert!(holds(&present, &with, true) && !holds(&present, &keys(&[]), true));
    }

    #[test]
    fn variables_are_substituted_only_in_2012_policies() {
        let c = condition("StringEquals", "aws:x", &["${aws:username}"]);
        let ks = keys(&[("aws:username", &["bob"]), ("aws:x", &["bob"])]);
        assert!(holds(&c, &ks, true));
        assert!(!holds(&c, &ks, false));
        let literal = keys(&[("aws:x", &["${aws:username}"])]);
        assert!(holds(&c, &literal, false));
    }
}

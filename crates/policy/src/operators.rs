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

use crate::model::{Condition, ConditionTest, ConditionValue, SetOperator, ValueKind};
use crate::values::{parse_cidr, parse_date, parse_ip, parse_number};
use crate::wildcard::{self, KeySource, Token, Written};

/// Whether `condition` holds for the request.
///
/// Allocates only when a value holds a policy variable that must be substituted.
pub(crate) fn holds<K: KeySource + ?Sized>(
    condition: &Condition,
    keys: &K,
    variables: bool,
) -> bool {
    let op = condition.operator;
    let present = keys.values(&condition.key).filter(|v| !v.is_empty());
    if op.test == ConditionTest::Null {
        return condition.values.iter().any(|v| match v {
            ConditionValue::Bool(b) => *b == present.is_none(),
            other => other.as_text().eq_ignore_ascii_case("true") == present.is_none(),
        });
    }
    let Some(request) = present else {
        return match op.set {
            _ if op.if_exists => true,
            Some(SetOperator::ForAllValues) => true,
            Some(SetOperator::ForAnyValue) => false,
            None => positive_form(op.test).1,
        };
    };
    let patterned = matches!(op.test.value_kind(), ValueKind::String | ValueKind::Arn);
    let substitute = variables
        && patterned
        && condition
            .values
            .iter()
            .any(|v| wildcard::has_variable(v.as_text()));
    if substitute {
        // A value whose variable cannot be resolved matches nothing: it is left out.
        let resolved: Vec<Vec<Token>> = condition
            .values
            .iter()
            .filter_map(|v| wildcard::substitute(v.as_text(), keys))
            .collect();
        let values = resolved.iter().map(|t| PolicyValue::Tokens(t));
        decide(condition, request, values)
    } else {
        let values = condition
            .values
            .iter()
            .map(|v| PolicyValue::Written(v.as_text()));
        decide(condition, request, values)
    }
}

/// The set-operator logic over the request's values, for any source of policy values.
fn decide<'v, I>(condition: &Condition, request: &[String], values: I) -> bool
where
    I: Iterator<Item = PolicyValue<'v>> + Clone,
{
    let op = condition.operator;
    let (positive, negated) = positive_form(op.test);
    let passes = |r: &String| values.clone().any(|p| compare(positive, r, p)) != negated;
    match op.set {
        Some(SetOperator::ForAllValues) => request.iter().all(passes),
        Some(SetOperator::ForAnyValue) => request.iter().any(passes),
        None if negated => request.iter().all(passes),
        None => request.iter().any(passes),
    }
}

/// A policy value ready to compare: as written (wildcards are wildcards where the operator
/// reads them), or a token sequence after variable substitution.
#[derive(Clone, Copy)]
enum PolicyValue<'v> {
    Written(&'v str),
    Tokens(&'v [Token]),
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
fn compare(test: ConditionTest, request: &str, policy: PolicyValue<'_>) -> bool {
    use ConditionTest as T;
    match (test, policy) {
        (T::StringLike, PolicyValue::Written(p)) => wildcard::matches(&Written(p), request, false),
        (T::StringLike, PolicyValue::Tokens(p)) => wildcard::matches(p, request, false),
        (T::ArnEquals | T::ArnLike, PolicyValue::Written(p)) => {
            wildcard::arn_matches(&Written(p), request)
        }
        (T::ArnEquals | T::ArnLike, PolicyValue::Tokens(p)) => wildcard::arn_matches(p, request),
        (T::StringEquals, PolicyValue::Written(p)) => request == p,
        (T::StringEquals, PolicyValue::Tokens(p)) => wildcard::equals_literally(p, request, false),
        (T::StringEqualsIgnoreCase, PolicyValue::Written(p)) => {
            wildcard::equals_literally(&Written(p), request, true)
        }
        (T::StringEqualsIgnoreCase, PolicyValue::Tokens(p)) => {
            wildcard::equals_literally(p, request, true)
        }
        // Only string and ARN operators substitute variables, so the rest see written values.
        (_, PolicyValue::Tokens(_)) => false,
        (T::Bool, PolicyValue::Written(p)) => p.eq_ignore_ascii_case(request),
        (T::BinaryEquals, PolicyValue::Written(p)) => p == request,
        (T::IpAddress, PolicyValue::Written(p)) => ip_in(request, p),
        (
            T::NumericEquals
            | T::NumericLessThan
            | T::NumericLessThanEquals
            | T::NumericGreaterThan
            | T::NumericGreaterThanEquals,
            PolicyValue::Written(p),
        ) => ordered(test, parse_number(request), parse_number(p)),
        (_, PolicyValue::Written(p)) => ordered(test, parse_date(request), parse_date(p)),
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

    fn keys(pairs: &[(&str, &[&str])]) -> crate::context::ConditionKeys {
        let mut keys = crate::context::ConditionKeys::default();
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

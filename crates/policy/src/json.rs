//! A JSON tree that keeps member order and refuses repeated member names.
//!
//! `serde_json::Value` silently keeps the last of two equal keys. In a policy that is a parser
//! differential waiting to happen: `{"Effect": "Deny", "Effect": "Allow"}` would mean Allow here
//! and may mean Deny to whatever linter or console reviewed the document. AWS tells users to
//! remove duplicate policy elements when KMS refuses a policy, so this tree refuses a repeated
//! name in any object at any depth. Parsing still runs on serde_json, which bounds nesting depth
//! (128) and rejects trailing characters, so hostile input cannot exhaust the stack.

use crate::error::PolicyError;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::fmt;

/// Prefix of the error the visitor raises for a repeated name; serde_json appends the position.
const DUPLICATE_KEY: &str = "duplicate key";

/// One JSON value, objects as ordered member lists.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Parses `text` as exactly one JSON value with no repeated member names.
pub(crate) fn parse(text: &str) -> Result<Json, PolicyError> {
    serde_json::from_str::<Json>(text).map_err(|err| {
        let message = err.to_string();
        if err.classify() == serde_json::error::Category::Data && message.starts_with(DUPLICATE_KEY)
        {
            PolicyError::DuplicateKey(message)
        } else {
            PolicyError::InvalidJson(message)
        }
    })
}

impl Json {
    /// The value in its JSON spelling when it is a scalar, for error messages.
    pub(crate) fn scalar_text(&self) -> String {
        match self {
            Self::Null => "null".to_owned(),
            Self::Bool(b) => b.to_string(),
            Self::Number(n) => n.to_string(),
            Self::String(s) => s.clone(),
            Self::Array(_) => "[...]".to_owned(),
            Self::Object(_) => "{...}".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        // serde_json never yields a non-finite float from text, but the type allows one.
        serde_json::Number::from_f64(v)
            .map(Json::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::new();
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(de::Error::custom(format_args!(
                    "{DUPLICATE_KEY} \"{name}\""
                )));
            }
            let value = map.next_value::<Json>()?;
            members.push((name, value));
        }
        Ok(Json::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_member_order() {
        let json = parse(r#"{"b": 1, "a": [true, null, "x"]}"#).unwrap();
        let Json::Object(members) = json else {
            panic!("not an object")
        };
        assert_eq!(members[0].0, "b");
        assert_eq!(members[1].0, "a");
        assert_eq!(
            members[1].1,
            Json::Array(vec![Json::Bool(true), Json::Null, Json::String("x".into())])
        );
    }

    #[test]
    fn refuses_duplicate_keys_at_top_level_and_nested() {
        let top = parse(r#"{"a": 1, "a": 2}"#).unwrap_err();
        assert!(
            matches!(&top, PolicyError::DuplicateKey(m) if m.contains("\"a\"")),
            "{top:?}"
        );
        let nested = parse(r#"{"x": [{"Effect": "Deny", "Effect": "Allow"}]}"#).unwrap_err();
        assert!(
            matches!(&nested, PolicyError::DuplicateKey(m) if m.contains("\"Effect\"") && m.contains("line 1")),
            "{nested:?}"
        );
    }

    #[test]
    fn same_key_in_sibling_objects_is_not_a_duplicate() {
        assert!(parse(r#"[{"a": 1}, {"a": 2}]"#).is_ok());
    }

    #[test]
    fn syntax_errors_and_trailing_text_are_invalid_json() {
        for text in ["{", "{\"a\": }", "{} {}", "{'a': 1}", "{\"a\": 1,}"] {
            assert!(
                matches!(parse(text), Err(PolicyError::InvalidJson(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(matches!(parse(&text), Err(PolicyError::InvalidJson(_))));
    }
}

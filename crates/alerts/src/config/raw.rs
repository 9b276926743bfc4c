//! The file as written: serde shapes that accept exactly the documented keys (anything else is
//! an error naming the unknown key) and keep every value's position for error messages.
//! Nothing here checks meaning; `validate` does.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) delivery: Option<Spanned<RawDelivery>>,
    #[serde(default)]
    pub(super) webhooks: BTreeMap<String, Spanned<RawWebhook>>,
    #[serde(default)]
    pub(super) rules: Vec<Spanned<RawRule>>,
}

/// `[delivery]`: how alerts reach webhooks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) attempts: Option<Spanned<i64>>,
    pub(super) initial_backoff: Option<Spanned<String>>,
    pub(super) max_backoff: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) dead_letter: Option<Spanned<String>>,
    pub(super) queue: Option<Spanned<i64>>,
    pub(super) shutdown_grace: Option<Spanned<String>>,
}

/// `[webhooks.NAME]`. Deliberately no `secret` key: a secret written into the file is
/// refused as an unknown key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhook {
    pub(super) url: Spanned<String>,
    pub(super) secret_env: Option<Spanned<String>>,
    pub(super) secret_file: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
}

/// `[[rules]]`: the parameters of every kind, each optional here; `validate` refuses those
/// that do not belong to the rule's kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: Spanned<String>,
    pub(super) kind: Spanned<String>,
    pub(super) webhooks: Option<Spanned<Vec<String>>>,
    pub(super) cooldown: Option<Spanned<String>>,
    pub(super) filter: Option<Spanned<RawFilter>>,
    pub(super) threshold: Option<Spanned<i64>>,
    pub(super) window: Option<Spanned<String>>,
    pub(super) per: Option<Spanned<String>>,
    pub(super) baseline: Option<Spanned<String>>,
    pub(super) factor: Option<Spanned<f64>>,
    pub(super) min_count: Option<Spanned<i64>>,
    pub(super) warmup: Option<Spanned<String>>,
    pub(super) events: Option<Spanned<Vec<String>>>,
}

/// `[rules.filter]`: which events a rule looks at.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilter {
    pub(super) principals: Option<Spanned<Vec<String>>>,
    pub(super) keys: Option<Spanned<Vec<String>>>,
    pub(super) event_names: Option<Spanned<Vec<String>>>,
}

//! From the file as written to a checked [`AlertConfig`]: every value in range, every
//! reference resolved, every secret and CA file loaded. All problems are collected, each with
//! the position of the value at fault.

use super::raw::{RawDelivery, RawFile, RawFilter, RawRule, RawWebhook};
use super::{AlertConfig, ConfigSource, Delivery, Problem, Rule, Webhook, duration};
use crate::filter::{Filter, Pattern};
use crate::http::{Roots, Target};
use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;
use strongroom_crypto::secret::SecretBytes;
use toml::Spanned;

/// The shortest webhook secret accepted.
pub(crate) const MIN_SECRET_BYTES: usize = 16;

/// Service events a key-change rule may also name (the service's own work on a key).
const SERVICE_EVENTS: &[&str] = &["DeleteKey", "RotateKey", "DeleteExpiredKeyMaterial"];

const SECOND: Duration = Duration::from_secs(1);
const DAY: Duration = Duration::from_secs(86_400);

pub(super) fn parse(text: &str, source: &ConfigSource<'_>) -> Result<AlertConfig, Vec<Problem>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let mut message = e.message().trim_end().to_owned();
        if message.contains("unknown field `secret`") {
            message.push_str(
                " (a webhook secret is never written in this file: use secret_env or secret_file)",
            );
        }
        vec![Problem {
            position: e.span().map(|s| position(text, s.start)),
            field: String::new(),
            message,
        }]
    })?;
    let mut v = Validator {
        text,
        source,
        problems: Vec::new(),
    };
    let delivery = v.delivery(raw.delivery.as_ref());
    let webhooks = v.webhooks(&raw.webhooks, delivery.as_ref());
    let names: Vec<&str> = raw.webhooks.keys().map(String::as_str).collect();
    let rules = v.rules(&raw.rules, &names);
    if raw.rules.is_empty() {
        v.problem(
            None,
            "rules",
            "there are no rules: add at least one [[rules]] table",
        );
    }
    match (v.problems.is_empty(), delivery) {
        (true, Some((delivery, _))) => Ok(AlertConfig {
            rules,
            webhooks,
            delivery,
        }),
        _ => Err(v.problems),
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

struct Validator<'a> {
    text: &'a str,
    source: &'a ConfigSource<'a>,
    problems: Vec<Problem>,
}

impl Validator<'_> {
    fn problem(&mut self, span: Option<Range<usize>>, field: &str, message: &str) {
        self.problems.push(Problem {
            position: span.map(|s| position(self.text, s.start)),
            field: field.to_owned(),
            message: message.to_owned(),
        });
    }

    fn at<T>(&mut self, value: &Spanned<T>, field: &str, message: &str) {
        self.problem(Some(value.span()), field, message);
    }

    /// A duration within `min..=max`; `None` (after recording the problem) otherwise.
    fn duration(
        &mut self,
        value: &Spanned<String>,
        field: &str,
        min: Duration,
        max: Duration,
    ) -> Option<Duration> {
        match duration::parse(value.get_ref()) {
            Err(m) => {
                self.at(value, field, &m);
                None
            }
            Ok(d) if d < min || d > max => {
                let m = format!(
                    "must be between {} and {}",
                    duration::display(min),
                    duration::display(max)
                );
                self.at(value, field, &m);
                None
            }
            Ok(d) => Some(d),
        }
    }

    /// An optional duration with a default.
    fn duration_or(
        &mut self,
        value: Option<&Spanned<String>>,
        field: &str,
        default: Duration,
        range: (Duration, Duration),
    ) -> Option<Duration> {
        match value {
            None => Some(default),
            Some(v) => self.duration(v, field, range.0, range.1),
        }
    }

    /// A window in whole seconds.
    fn window(&mut self, value: &Spanned<String>, field: &str, max: Duration) -> Option<Duration> {
        let d = self.duration(value, field, SECOND, max)?;
        if d.subsec_millis() != 0 {
            self.at(value, field, "must be a whole number of seconds");
            return None;
        }
        Some(d)
    }

    fn int(&mut self, value: &Spanned<i64>, field: &str, min: i64, max: i64) -> Option<i64> {
        let n = *value.get_ref();
        if (min..=max).contains(&n) {
            Some(n)
        } else {
            self.at(value, field, &format!("must be between {min} and {max}"));
            None
        }
    }

    fn path(&self, text: &str) -> PathBuf {
        let p = PathBuf::from(text);
        if p.is_absolute() {
            p
        } else {
            self.source.base_dir.join(p)
        }
    }

    /// `[delivery]`, and the default per-request timeout of webhooks.
    fn delivery(&mut self, raw: Option<&Spanned<RawDelivery>>) -> Option<(Delivery, Duration)> {
        let none = RawDelivery {
            attempts: None,
            initial_backoff: None,
            max_backoff: None,
            timeout: None,
            dead_letter: None,
            queue: None,
            shutdown_grace: None,
        };
        let d = raw.map_or(&none, Spanned::get_ref);
        let attempts = match &d.attempts {
            None => Some(5),
            Some(v) => self.int(v, "delivery.attempts", 1, 20),
        };
        let ms = Duration::from_millis;
        let initial = self.duration_or(
            d.initial_backoff.as_ref(),
            "delivery.initial_backoff",
            SECOND,
            (ms(1), Duration::from_secs(3_600)),
        );
        let max = self.duration_or(
            d.max_backoff.as_ref(),
            "delivery.max_backoff",
            Duration::from_secs(60),
            (ms(1), DAY),
        );
        if let (Some(i), Some(m), Some(v)) = (initial, max, &d.max_backoff)
            && m < i
        {
            self.at(
                v,
                "delivery.max_backoff",
                "must not be shorter than initial_backoff",
            );
        }
        let timeout = self.duration_or(
            d.timeout.as_ref(),
            "delivery.timeout",
            Duration::from_secs(10),
            (ms(1), Duration::from_secs(300)),
        );
        let dead_letter = match &d.dead_letter {
            None => Some(self.source.default_dead_letter.clone()),
            Some(v) if v.get_ref().trim().is_empty() => {
                self.at(v, "delivery.dead_letter", "must be a file path");
                None
            }
            Some(v) => Some(self.path(v.get_ref())),
        };
        let queue = match &d.queue {
            None => Some(1_000),
            Some(v) => self.int(v, "delivery.queue", 1, 100_000),
        };
        let grace = self.duration_or(
            d.shutdown_grace.as_ref(),
            "delivery.shutdown_grace",
            Duration::from_secs(5),
            (Duration::ZERO, Duration::from_secs(300)),
        );
        let delivery = Delivery {
            attempts: u32::try_from(attempts?).ok()?,
            initial_backoff: initial?,
            max_backoff: max?.max(initial?),
            dead_letter: dead_letter?,
            queue: usize::try_from(queue?).ok()?,
            shutdown_grace: grace?,
        };
        Some((delivery, timeout?))
    }

    fn webhooks(
        &mut self,
        raw: &BTreeMap<String, Spanned<RawWebhook>>,
        delivery: Option<&(Delivery, Duration)>,
    ) -> Vec<Webhook> {
        let default_timeout = delivery.map_or(Duration::from_secs(10), |(_, t)| *t);
        raw.iter()
            .filter_map(|(name, w)| self.webhook(name, w, default_timeout))
            .collect()
    }

    fn webhook(
        &mut self,
        name: &str,
        spanned: &Spanned<RawWebhook>,
        default_timeout: Duration,
    ) -> Option<Webhook> {
        let field = |f: &str| format!("webhooks.{name}.{f}");
        if !valid_name(name) {
            self.at(
                spanned,
                &format!("webhooks.{name}"),
                "a webhook name is 1 to 64 letters, digits, '-', '_' or '.'",
            );
        }
        let w = spanned.get_ref();
        let roots = match &w.ca_file {
            None => Some(Roots::System),
            Some(v) => self.ca_file(v, &field("ca_file")),
        };
        let target = roots.and_then(|roots| match Target::parse(w.url.get_ref(), &roots) {
            Ok(t) => Some(t),
            Err(m) => {
                self.at(&w.url, &field("url"), &m);
                None
            }
        });
        if let (Some(v), Some(t)) = (&w.ca_file, &target)
            && t.describe().starts_with("http:")
        {
            self.at(v, &field("ca_file"), "applies to https:// URLs only");
        }
        let timeout = self.duration_or(
            w.timeout.as_ref(),
            &field("timeout"),
            default_timeout,
            (Duration::from_millis(1), Duration::from_secs(300)),
        );
        let secret = self.secret(name, spanned);
        Some(Webhook {
            name: name.to_owned(),
            target: target?,
            secret: secret?,
            timeout: timeout?,
        })
    }

    fn ca_file(&mut self, value: &Spanned<String>, field: &str) -> Option<Roots> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let path = self.path(value.get_ref());
        let certs: Result<Vec<_>, _> = match CertificateDer::pem_file_iter(&path) {
            Ok(iter) => iter.collect(),
            Err(e) => Err(e),
        };
        match certs {
            Ok(c) if !c.is_empty() => Some(Roots::Only(c)),
            Ok(_) => {
                let m = format!("{} holds no PEM CERTIFICATE", path.display());
                self.at(value, field, &m);
                None
            }
            Err(e) => {
                let m = format!("cannot read certificates from {}: {e}", path.display());
                self.at(value, field, &m);
                None
            }
        }
    }

    /// The webhook's secret, from its environment variable or file. Messages never contain
    /// any part of it.
    fn secret(&mut self, name: &str, spanned: &Spanned<RawWebhook>) -> Option<SecretBytes> {
        let w = spanned.get_ref();
        let (bytes, at) = match (&w.secret_env, &w.secret_file) {
            (Some(_), Some(file)) => {
                let f = format!("webhooks.{name}.secret_file");
                self.at(file, &f, "set secret_env or secret_file, not both");
                return None;
            }
            (None, None) => {
                let f = format!("webhooks.{name}");
                self.at(
                    spanned,
                    &f,
                    "needs secret_env or secret_file (the HMAC signing secret)",
                );
                return None;
            }
            (Some(var), None) => {
                let f = format!("webhooks.{name}.secret_env");
                match (self.source.env)(var.get_ref()) {
                    Some(s) => (SecretBytes::new(s.into_bytes()), (var.span(), f)),
                    None => {
                        let m = format!("the environment variable {} is not set", var.get_ref());
                        self.at(var, &f, &m);
                        return None;
                    }
                }
            }
            (None, Some(file)) => {
                let f = format!("webhooks.{name}.secret_file");
                let path = self.path(file.get_ref());
                match std::fs::read(&path) {
                    Ok(mut b) => {
                        // One trailing line ending is the file's, not the secret's.
                        if b.last() == Some(&b'\n') {
                            b.pop();
                            if b.last() == Some(&b'\r') {
                                b.pop();
                            }
                        }
                        (SecretBytes::new(b), (file.span(), f))
                    }
                    Err(e) => {
                        let m = format!("cannot read {}: {e}", path.display());
                        self.at(file, &f, &m);
                        return None;
                    }
                }
            }
        };
        if bytes.expose().len() < MIN_SECRET_BYTES {
            let m = format!(
                "the secret is shorter than {MIN_SECRET_BYTES} bytes; use a random one, e.g. `openssl rand -hex 32`"
            );
            self.problem(Some(at.0), &at.1, &m);
            return None;
        }
        Some(bytes)
    }

    fn rules(&mut self, raw: &[Spanned<RawRule>], webhooks: &[&str]) -> Vec<Rule> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let name = r.get_ref().name.get_ref();
            let prefix = if name.is_empty() {
                format!("rules[{i}]")
            } else {
                format!("rules[{i}] ({name})")
            };
            if !valid_name(name) {
                let m = "a rule name is 1 to 64 letters, digits, '-', '_' or '.'";
                self.at(&r.get_ref().name, &format!("{prefix}.name"), m);
            } else if !seen.insert(name.clone()) {
                let m = "another rule has the same name";
                self.at(&r.get_ref().name, &format!("{prefix}.name"), m);
            }
            if let Some(rule) = self.rule(r, &prefix, webhooks) {
                out.push(rule);
            }
        }
        out
    }

    fn rule(&mut self, spanned: &Spanned<RawRule>, prefix: &str, names: &[&str]) -> Option<Rule> {
        let r = spanned.get_ref();
        let field = |f: &str| format!("{prefix}.{f}");
        let mut webhooks = Vec::new();
        if let Some(list) = &r.webhooks {
            for w in list.get_ref() {
                match names.iter().position(|n| n == w) {
                    None => {
                        let m = format!("names an undefined webhook `{w}` (define [webhooks.{w}])");
                        self.at(list, &field("webhooks"), &m);
                    }
                    Some(_) if webhooks.contains(w) => {
                        self.at(list, &field("webhooks"), &format!("names `{w}` twice"));
                    }
                    Some(_) => webhooks.push(w.clone()),
                }
            }
        }
        let cooldown = self.duration_or(
            r.cooldown.as_ref(),
            &field("cooldown"),
            Duration::from_secs(300),
            (Duration::ZERO, 7 * DAY),
        );
        let filter = match &r.filter {
            None => Some(Filter::default()),
            Some(f) => self.filter(f.get_ref(), &field("filter")),
        };
        let kind = self.kind(spanned, prefix);
        // Webhooks are stored by their index in the sorted map, as `AlertConfig` holds them.
        let indexes = webhooks
            .iter()
            .filter_map(|w| names.iter().position(|n| n == w))
            .collect();
        Some(Rule {
            name: r.name.get_ref().clone(),
            kind: kind?,
            filter: filter?,
            cooldown: cooldown?,
            webhooks: indexes,
        })
    }

    fn filter(&mut self, f: &RawFilter, prefix: &str) -> Option<Filter> {
        let mut ok = true;
        let mut list = |this: &mut Self, v: &Option<Spanned<Vec<String>>>, name: &str| {
            let v = v.as_ref()?;
            if v.get_ref().is_empty() || v.get_ref().iter().any(|p| p.is_empty()) {
                let m =
                    "must be a non-empty list of non-empty patterns (omit it to match everything)";
                this.at(v, &format!("{prefix}.{name}"), m);
                ok = false;
                return None;
            }
            Some(v.get_ref().iter().map(Pattern::new).collect())
        };
        let principals = list(self, &f.principals, "principals");
        let keys = list(self, &f.keys, "keys");
        let event_names = list(self, &f.event_names, "event_names");
        ok.then_some(Filter {
            principals,
            keys,
            event_names,
        })
    }
}

/// Rule and webhook names: also metric label values and log fields, so plain and short.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

mod kinds;
#[cfg(test)]
mod tests;

//! The alerts configuration: a TOML file read once at start-up (`strongroom serve --alerts
//! FILE`), checked completely before anything runs. A file with any problem is refused as a
//! whole, with every problem listed as `FILE:LINE:COLUMN: FIELD: what is wrong`.
//!
//! The file's reference, with a full example, is `docs/alerts.md`.

mod duration;
mod raw;
mod validate;

use crate::filter::Filter;
use crate::http::Target;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strongroom_crypto::secret::SecretBytes;

pub(crate) use duration::display as display_duration;

/// A validated configuration: rules, webhooks (with their secrets loaded) and delivery
/// settings.
#[derive(Debug)]
pub struct AlertConfig {
    pub(crate) rules: Vec<Rule>,
    pub(crate) webhooks: Vec<Webhook>,
    pub(crate) delivery: Delivery,
}

/// One rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) name: String,
    pub(crate) kind: RuleKind,
    pub(crate) filter: Filter,
    /// After an alert for a subject, further matches for it are only counted for this long.
    pub(crate) cooldown: Duration,
    /// Indexes into [`AlertConfig::webhooks`].
    pub(crate) webhooks: Vec<usize>,
}

/// What a rule looks for, with its parameters.
#[derive(Debug, Clone)]
pub(crate) enum RuleKind {
    /// A request failed because its key is pending deletion.
    PendingDeletionUse,
    /// `threshold` denials of one principal within `window`.
    Denials { threshold: usize, window: Duration },
    /// A principal's or key's request count well above its own baseline.
    Rate(RateParams),
    /// A successful call among `events` (`DisableKey`, …).
    KeyChange { events: Vec<String> },
}

impl RuleKind {
    /// The `kind` as the file writes it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::PendingDeletionUse => PENDING_DELETION_USE,
            Self::Denials { .. } => DENIALS,
            Self::Rate(_) => RATE,
            Self::KeyChange { .. } => KEY_CHANGE,
        }
    }
}

pub(crate) const PENDING_DELETION_USE: &str = "pending-deletion-use";
pub(crate) const DENIALS: &str = "denials";
pub(crate) const RATE: &str = "rate";
pub(crate) const KEY_CHANGE: &str = "key-change";

/// The events a `key-change` rule watches when it names none.
pub(crate) const DEFAULT_KEY_CHANGE_EVENTS: &[&str] =
    &["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"];

/// Whose requests a rate rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Per {
    /// Each caller (by ARN).
    Principal,
    /// Each key named in `resources`.
    Key,
}

/// A rate rule's parameters (the math is in `rules::rate`).
#[derive(Debug, Clone)]
pub(crate) struct RateParams {
    pub(crate) per: Per,
    /// The short window, in whole seconds, as milliseconds.
    pub(crate) window_ms: i64,
    /// How many windows the baseline spans (`baseline / window`).
    pub(crate) baseline_windows: usize,
    pub(crate) factor: f64,
    pub(crate) min_count: u64,
    pub(crate) warmup_ms: i64,
}

/// One webhook.
pub(crate) struct Webhook {
    pub(crate) name: String,
    pub(crate) target: Target,
    pub(crate) secret: SecretBytes,
    pub(crate) timeout: Duration,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The target prints its scheme and host only; the secret prints as [REDACTED].
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("target", &self.target)
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `[delivery]`.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// Attempts per alert and webhook, the first included.
    pub(crate) attempts: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) dead_letter: PathBuf,
    /// Alerts waiting per webhook before new ones go straight to the dead-letter file.
    pub(crate) queue: usize,
    pub(crate) shutdown_grace: Duration,
}

/// Where a configuration comes from, and what its relative paths and secrets resolve against.
pub struct ConfigSource<'a> {
    /// The file's name, for messages.
    pub name: String,
    /// Relative `secret_file`, `ca_file` and `dead_letter` paths are relative to this
    /// directory (the file's own).
    pub base_dir: PathBuf,
    /// The dead-letter file when `[delivery] dead_letter` is not set.
    pub default_dead_letter: PathBuf,
    /// Reads an environment variable (`secret_env`).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl fmt::Debug for ConfigSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSource")
            .field("name", &self.name)
            .field("base_dir", &self.base_dir)
            .finish_non_exhaustive()
    }
}

impl AlertConfig {
    /// Reads and validates the file at `path`; secrets come from the process environment or
    /// their files; the dead-letter file defaults to `DATA_DIR/alerts-dead-letter.jsonl`.
    pub fn load(path: &Path, data_dir: &Path) -> Result<Self, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            problems: vec![Problem::general(format!("cannot read the file: {e}"))],
        })?;
        let env = |var: &str| std::env::var(var).ok();
        let source = ConfigSource {
            name,
            base_dir: path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            default_dead_letter: data_dir.join(DEFAULT_DEAD_LETTER_FILE),
            env: &env,
        };
        Self::parse(&text, &source)
    }

    /// Validates `text` as read from `source`.
    pub fn parse(text: &str, source: &ConfigSource<'_>) -> Result<Self, ConfigError> {
        validate::parse(text, source).map_err(|problems| ConfigError {
            file: source.name.clone(),
            problems,
        })
    }

    /// The rules' names, in the file's order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The dead-letter file.
    pub fn dead_letter_path(&self) -> &Path {
        &self.delivery.dead_letter
    }
}

/// The dead-letter file's name in the data directory, by default.
pub const DEFAULT_DEAD_LETTER_FILE: &str = "alerts-dead-letter.jsonl";

/// A configuration that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    file: String,
    problems: Vec<Problem>,
}

impl ConfigError {
    /// The problems, in the order of the file.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column of the value at fault, when it has one.
    pub position: Option<(usize, usize)>,
    /// The setting, e.g. `rules[2].threshold` or `webhooks.ops.url` (empty for the file).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn general(message: String) -> Self {
        Self {
            position: None,
            field: String::new(),
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "invalid alerts configuration ({n} problem{})",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {}", self.file)?;
            if let Some((line, col)) = p.position {
                write!(f, ":{line}:{col}")?;
            }
            if p.field.is_empty() {
                write!(f, ": {}", p.message)?;
            } else {
                write!(f, ": {}: {}", p.field, p.message)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

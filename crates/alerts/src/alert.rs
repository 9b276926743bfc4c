//! An alert, and the JSON document webhooks receive (schema version 1, `docs/alerts.md`).

use serde::Serialize;
use strongroom_audit::{AuditEvent, EventTime};

/// The schema version webhooks receive in `version`.
pub const SCHEMA_VERSION: u32 = 1;

/// At most this many `eventIds` are listed (the most recent ones).
pub(crate) const MAX_EVENT_IDS: usize = 20;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    /// A caller, by ARN (or principal id or access key id when the request named no ARN).
    Principal,
    /// A KMS key, by ARN.
    Key,
}

/// `subject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// `type`: `principal` or `key`.
    #[serde(rename = "type")]
    pub subject_type: SubjectType,
    /// `arn`.
    pub arn: String,
}

/// One alert: the body POSTed to webhooks, the dead-letter file's `alert`, and what is logged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Always [`SCHEMA_VERSION`].
    pub version: u32,
    /// A UUID, the same in every delivery attempt and in the log, so receivers can drop
    /// duplicates (delivery is at least once).
    pub id: uuid::Uuid,
    /// The rule's name.
    pub rule: String,
    /// The rule's kind: `pending-deletion-use`, `denials`, `rate`, `key-change`.
    pub kind: &'static str,
    /// When the rule fired (the engine's clock), `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: EventTime,
    /// What the alert is about.
    pub subject: Subject,
    /// One sentence for humans.
    pub summary: String,
    /// The caller of the triggering event (`pending-deletion-use`, `key-change`, `rate` per key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The triggering event's `eventName`.
    pub event_name: String,
    /// `denials`: denials in the window (counted up to the threshold); `rate`: requests in the
    /// current window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// `denials`: the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
    /// `denials`, `rate`: the window, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<u64>,
    /// `rate`: the mean count per window over the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    /// `rate`: the baseline's span, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_seconds: Option<u64>,
    /// `rate`: the factor k.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Matches for this rule and subject that the cooldown kept quiet since the previous
    /// alert.
    pub suppressed: u64,
    /// `eventID`s of the events that made the rule fire, oldest first, at most
    /// [`MAX_EVENT_IDS`] (the most recent).
    #[serde(rename = "eventIds")]
    pub event_ids: Vec<uuid::Uuid>,
    /// The event that made the rule fire (one), as in the audit trail.
    pub events: Vec<AuditEvent>,
}

//! Alert rules over the audit trail: every audit event the server records is offered to the
//! rules of a configuration file, and what they find is logged and POSTed, signed, to
//! webhooks.
//!
//! - [`AlertConfig`] reads and validates the TOML file (`strongroom serve --alerts FILE`);
//! - [`AlertEngine`] runs it: its observer ([`AlertEngine::observer`], attached with
//!   `AuditLog::set_observer`) queues events without blocking the request path; one task
//!   evaluates the rules against the engine's clock; each webhook has a bounded queue and
//!   retries with backoff, and what cannot be delivered goes to a dead-letter file.
//!
//! The rule kinds (`pending-deletion-use`, `denials`, `rate`, `key-change`), the payload
//! schema ([`Alert`]), the signature and the metrics are documented for users in
//! `docs/alerts.md`; the choice of HTTP client in ADR 0013.
//!
//! The engine reads only the events: it never asks the store, so it knows a key's state only
//! from what an event says (a refused request's error message), never from the key itself.
#![forbid(unsafe_code)]

mod alert;
mod config;
mod dead_letter;
mod deliver;
mod engine;
mod facts;
mod filter;
mod http;
mod metrics;
mod rules;
#[cfg(test)]
mod testing;

pub use alert::{Alert, SCHEMA_VERSION, Subject, SubjectType};
pub use config::{AlertConfig, ConfigError, ConfigSource, DEFAULT_DEAD_LETTER_FILE, Problem};
pub use deliver::{ALERT_ID_HEADER, ATTEMPT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};
pub use engine::{
    AlertEngine, DEFAULT_QUEUE, DEFAULT_QUEUE_BYTES, DROP_WARNING_INTERVAL_MS, EngineOptions,
    StartError,
};
pub use metrics::{
    ALERT_DELIVERIES_TOTAL, ALERT_DELIVERY_ATTEMPTS_TOTAL, ALERT_EVENTS_DROPPED_TOTAL,
    ALERTS_FIRED_TOTAL, AlertMetrics, AlertStats, SharedRecorder,
};

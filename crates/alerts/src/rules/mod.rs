//! Rule evaluation: each event goes through every rule in the file's order; a rule that
//! matches names a subject (a principal or a key), and its cooldown decides whether that match
//! becomes an alert. Pure and synchronous: the caller passes the time (the engine's clock), so
//! tests drive it with a manual clock.
//!
//! Memory is bounded: each rule tracks at most [`MAX_SUBJECTS`] subjects (denial windows, rate
//! series, cooldowns); [`Evaluator::sweep`] forgets subjects whose state no longer matters, and
//! a rule that is full ignores new subjects until a sweep frees room (counted in
//! [`Evaluator::ignored`]).

mod cooldown;
mod denials;
mod rate;

use crate::alert::{Alert, MAX_EVENT_IDS, SCHEMA_VERSION, Subject, SubjectType};
use crate::config::{Per, Rule, RuleKind, display_duration};
use crate::facts;
use cooldown::Cooldowns;
use strongroom_audit::{AuditEvent, EventTime};
use strongroom_core::time::Timestamp;

/// Subjects one rule tracks at most, per kind of state.
pub(crate) const MAX_SUBJECTS: usize = 100_000;

/// An alert and the index of the rule that raised it.
#[derive(Debug)]
pub(crate) struct Fired {
    pub(crate) rule: usize,
    pub(crate) alert: Alert,
}

/// Every rule's state.
#[derive(Debug)]
pub(crate) struct Evaluator {
    rules: Vec<RuleState>,
    ignored: u64,
}

#[derive(Debug)]
struct RuleState {
    rule: Rule,
    cooldowns: Cooldowns,
    state: KindState,
}

#[derive(Debug)]
enum KindState {
    Stateless,
    Denials(denials::Denials),
    Rate(rate::Rate),
}

/// A match, before the cooldown.
struct Match {
    subject: Subject,
    /// What the cooldown is kept per: the subject, and for key changes the event name too.
    cooldown_key: String,
    summary: String,
    principal: Option<String>,
    count: Option<u64>,
    threshold: Option<u64>,
    window_seconds: Option<u64>,
    baseline: Option<(f64, u64, f64)>,
    event_ids: Vec<uuid::Uuid>,
}

impl Evaluator {
    pub(crate) fn new(rules: &[Rule]) -> Self {
        let rules = rules
            .iter()
            .map(|r| RuleState {
                cooldowns: Cooldowns::new(r.cooldown),
                state: match &r.kind {
                    RuleKind::Denials { threshold, window } => {
                        KindState::Denials(denials::Denials::new(*threshold, *window))
                    }
                    RuleKind::Rate(p) => KindState::Rate(rate::Rate::new(p.clone())),
                    RuleKind::PendingDeletionUse | RuleKind::KeyChange { .. } => {
                        KindState::Stateless
                    }
                },
                rule: r.clone(),
            })
            .collect();
        Self { rules, ignored: 0 }
    }

    /// Runs `event`, seen at `now`, through every rule; returns the alerts it raised.
    pub(crate) fn evaluate(&mut self, now: Timestamp, event: &AuditEvent) -> Vec<Fired> {
        let mut fired = Vec::new();
        for (index, r) in self.rules.iter_mut().enumerate() {
            if !r.rule.filter.matches(event) {
                continue;
            }
            let mut matches = Vec::new();
            let full = match (&r.rule.kind, &mut r.state) {
                (RuleKind::PendingDeletionUse, _) => {
                    matches.extend(pending_deletion(event));
                    false
                }
                (RuleKind::KeyChange { events }, _) => {
                    matches.extend(key_change(events, event));
                    false
                }
                (RuleKind::Denials { .. }, KindState::Denials(d)) => {
                    d.observe(now, event, &mut matches)
                }
                (RuleKind::Rate(_), KindState::Rate(rt)) => rt.observe(now, event, &mut matches),
                _ => false,
            };
            if full {
                self.ignored += 1;
            }
            for m in matches {
                if let Some(suppressed) = r.cooldowns.admit(&m.cooldown_key, now) {
                    fired.push(Fired {
                        rule: index,
                        alert: alert(&r.rule, now, event, m, suppressed),
                    });
                }
            }
        }
        fired
    }

    /// Forgets state that can no longer affect a decision.
    pub(crate) fn sweep(&mut self, now: Timestamp) {
        for r in &mut self.rules {
            r.cooldowns.sweep(now);
            match &mut r.state {
                KindState::Denials(d) => d.sweep(now),
                KindState::Rate(rt) => rt.sweep(now),
                KindState::Stateless => {}
            }
        }
    }

    /// Subjects ignored so far because a rule tracked [`MAX_SUBJECTS`] already.
    pub(crate) fn ignored(&self) -> u64 {
        self.ignored
    }
}

fn alert(rule: &Rule, now: Timestamp, event: &AuditEvent, m: Match, suppressed: u64) -> Alert {
    let (baseline, baseline_seconds, factor) = match m.baseline {
        Some((mean, seconds, k)) => (Some(mean), Some(seconds), Some(k)),
        None => (None, None, None),
    };
    let mut event_ids = m.event_ids;
    if event_ids.len() > MAX_EVENT_IDS {
        event_ids.drain(..event_ids.len() - MAX_EVENT_IDS);
    }
    Alert {
        version: SCHEMA_VERSION,
        id: uuid::Uuid::new_v4(),
        rule: rule.name.clone(),
        kind: rule.kind.name(),
        time: EventTime::from_timestamp(now),
        subject: m.subject,
        summary: m.summary,
        principal: m.principal,
        event_name: event.event_name.clone(),
        count: m.count,
        threshold: m.threshold,
        window_seconds: m.window_seconds,
        baseline,
        baseline_seconds,
        factor,
        suppressed,
        event_ids,
        events: vec![event.clone()],
    }
}

fn caller(event: &AuditEvent) -> String {
    facts::principal(event).map_or_else(|| "an unidentified caller".to_owned(), str::to_owned)
}

fn pending_deletion(event: &AuditEvent) -> Option<Match> {
    let key = facts::pending_deletion_key(event)?;
    Some(Match {
        subject: Subject {
            subject_type: SubjectType::Key,
            arn: key.to_owned(),
        },
        cooldown_key: key.to_owned(),
        summary: format!(
            "{} by {} on key {key}, which is pending deletion",
            event.event_name,
            caller(event)
        ),
        principal: facts::principal(event).map(str::to_owned),
        count: None,
        threshold: None,
        window_seconds: None,
        baseline: None,
        event_ids: vec![event.event_id],
    })
}

fn key_change<'e>(events: &[String], event: &'e AuditEvent) -> impl Iterator<Item = Match> + 'e {
    let relevant = facts::succeeded(event) && events.contains(&event.event_name);
    facts::key_arns(event)
        .filter(move |_| relevant)
        .map(move |key| Match {
            subject: Subject {
                subject_type: SubjectType::Key,
                arn: key.to_owned(),
            },
            cooldown_key: format!("{key}\n{}", event.event_name),
            summary: format!("{} on key {key} by {}", event.event_name, caller(event)),
            principal: facts::principal(event).map(str::to_owned),
            count: None,
            threshold: None,
            window_seconds: None,
            baseline: None,
            event_ids: vec![event.event_id],
        })
}

/// The subjects a rate rule counts `event` under.
fn rate_subjects(per: Per, event: &AuditEvent) -> Vec<&str> {
    if !facts::is_api_call(event) {
        return Vec::new();
    }
    match per {
        Per::Principal => facts::counted_principal(event).into_iter().collect(),
        Per::Key => {
            let mut keys: Vec<&str> = facts::key_arns(event).collect();
            keys.dedup();
            keys
        }
    }
}

fn seconds(ms: i64) -> u64 {
    u64::try_from(ms / 1_000).unwrap_or(0)
}

fn window_text(ms: i64) -> String {
    display_duration(std::time::Duration::from_millis(
        u64::try_from(ms).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests;

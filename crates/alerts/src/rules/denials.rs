//! `denials`: N access-control refusals of one principal within a sliding window T.
//!
//! Per principal the rule keeps the times (and event ids) of its most recent denials, at most
//! N of them. A denial at `now` matches when, after dropping those at or before `now − T`,
//! N remain: N denials in the half-open interval (now − T, now].

use super::{MAX_SUBJECTS, Match, window_text};
use crate::alert::{Subject, SubjectType};
use crate::facts;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use strongroom_audit::AuditEvent;
use strongroom_core::time::Timestamp;

#[derive(Debug)]
pub(super) struct Denials {
    threshold: usize,
    window_ms: i64,
    recent: HashMap<String, VecDeque<(i64, uuid::Uuid)>>,
}

impl Denials {
    pub(super) fn new(threshold: usize, window: Duration) -> Self {
        Self {
            threshold,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            recent: HashMap::new(),
        }
    }

    /// Notes `event` if it is a denial; adds a match when the threshold is reached. Returns
    /// whether the principal was ignored because the rule is full.
    pub(super) fn observe(
        &mut self,
        now: Timestamp,
        event: &AuditEvent,
        out: &mut Vec<Match>,
    ) -> bool {
        if !facts::is_denial(event) {
            return false;
        }
        let Some(principal) = facts::counted_principal(event) else {
            return false;
        };
        if !self.recent.contains_key(principal) && self.recent.len() >= MAX_SUBJECTS {
            self.sweep(now);
            if self.recent.len() >= MAX_SUBJECTS {
                return true;
            }
        }
        let window_ms = self.window_ms;
        let times = self.recent.entry(principal.to_owned()).or_default();
        times.push_back((now.0, event.event_id));
        while times.len() > self.threshold {
            times.pop_front();
        }
        let since = now.0.saturating_sub(window_ms);
        while times.front().is_some_and(|(t, _)| *t <= since) {
            times.pop_front();
        }
        if times.len() >= self.threshold {
            let count = times.len();
            out.push(Match {
                subject: Subject {
                    subject_type: SubjectType::Principal,
                    arn: principal.to_owned(),
                },
                cooldown_key: principal.to_owned(),
                summary: format!(
                    "{count} denied requests by {principal} within {}",
                    window_text(window_ms)
                ),
                principal: None,
                count: Some(count as u64),
                threshold: Some(self.threshold as u64),
                window_seconds: Some(super::seconds(window_ms)),
                baseline: None,
                event_ids: times.iter().map(|(_, id)| *id).collect(),
            });
        }
        false
    }

    /// Forgets principals whose every denial has left the window.
    pub(super) fn sweep(&mut self, now: Timestamp) {
        let since = now.0.saturating_sub(self.window_ms);
        self.recent
            .retain(|_, times| times.back().is_some_and(|(t, _)| *t > since));
    }

    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.recent.len()
    }
}

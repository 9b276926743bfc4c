//! `rate`: a principal's or a key's request count in the current window, against k times its
//! own trailing baseline.
//!
//! Time is cut into windows of W seconds aligned to the Unix epoch (window number
//! `floor(t / W)`). For each subject the rule keeps the counts of the current window c and of
//! the n = baseline / W windows before it. An API call (not a service event) that passes the
//! filter adds 1 to its subject's count in c (per key: each distinct key in `resources`), and
//! the rule then matches when all of these hold:
//!
//! - **warm-up**: `now − first_seen ≥ warmup`, where `first_seen` is when the rule first
//!   counted this subject (or first again after forgetting it, below);
//! - **minimum**: `count(c) ≥ min_count`;
//! - **above baseline**: `count(c) > k × mean`, with `mean = (count(c−1) + … + count(c−n)) / n`.
//!   Windows without requests count as 0, including those before `first_seen`.
//!
//! Because the current window is still filling, the rule fires as soon as the count crosses
//! the threshold, not at the window's end. A subject with no request for a whole baseline plus
//! one window has only zeros to remember and is forgotten, so it warms up again on return.

use super::{MAX_SUBJECTS, Match, rate_subjects, seconds, window_text};
use crate::alert::{MAX_EVENT_IDS, Subject, SubjectType};
use crate::config::{Per, RateParams};
use std::collections::{HashMap, VecDeque};
use strongroom_audit::AuditEvent;
use strongroom_core::time::Timestamp;

#[derive(Debug)]
pub(super) struct Rate {
    p: RateParams,
    series: HashMap<String, Series>,
}

/// One subject's counts.
#[derive(Debug)]
struct Series {
    first_seen: i64,
    last_seen: i64,
    /// The newest window number counted.
    newest: i64,
    /// Counts of windows `newest − n ..= newest`, at index `window mod (n + 1)`.
    counts: Vec<u64>,
    /// Ids of the newest window's most recent events.
    recent: VecDeque<uuid::Uuid>,
}

impl Series {
    fn new(now: i64, window: i64, slots: usize) -> Self {
        Self {
            first_seen: now,
            last_seen: now,
            newest: window,
            counts: vec![0; slots],
            recent: VecDeque::new(),
        }
    }

    fn slot(&self, window: i64) -> usize {
        let len = i64::try_from(self.counts.len()).unwrap_or(i64::MAX);
        usize::try_from(window.rem_euclid(len)).unwrap_or(0)
    }

    /// Counts one request in `window` (never earlier than the newest; a clock that stepped
    /// back counts in the newest) and returns (current count, baseline mean).
    fn count(&mut self, now: i64, window: i64, id: uuid::Uuid) -> (u64, f64) {
        self.last_seen = self.last_seen.max(now);
        if window > self.newest {
            let gap = window - self.newest;
            if gap >= i64::try_from(self.counts.len()).unwrap_or(i64::MAX) {
                self.counts.fill(0);
            } else {
                for w in self.newest + 1..=window {
                    let s = self.slot(w);
                    self.counts[s] = 0;
                }
            }
            self.newest = window;
            self.recent.clear();
        }
        let current_slot = self.slot(self.newest);
        self.counts[current_slot] += 1;
        if self.recent.len() == MAX_EVENT_IDS {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
        let n = self.counts.len() - 1;
        let sum: u64 = (1..=n)
            .map(|back| self.counts[self.slot(self.newest - back as i64)])
            .sum();
        (self.counts[current_slot], sum as f64 / n as f64)
    }
}

impl Rate {
    pub(super) fn new(p: RateParams) -> Self {
        Self {
            p,
            series: HashMap::new(),
        }
    }

    /// Counts `event` for each of its subjects; adds a match for each subject above its
    /// baseline. Returns whether a subject was ignored because the rule is full.
    pub(super) fn observe(
        &mut self,
        now: Timestamp,
        event: &AuditEvent,
        out: &mut Vec<Match>,
    ) -> bool {
        let p = &self.p;
        let window = now.0.div_euclid(p.window_ms);
        let mut ignored = false;
        for subject in rate_subjects(p.per, event) {
            if !self.series.contains_key(subject) && self.series.len() >= MAX_SUBJECTS {
                let (w, n) = (p.window_ms, p.baseline_windows);
                forget_idle(&mut self.series, now, w, n);
                if self.series.len() >= MAX_SUBJECTS {
                    ignored = true;
                    continue;
                }
            }
            let series = self
                .series
                .entry(subject.to_owned())
                .or_insert_with(|| Series::new(now.0, window, p.baseline_windows + 1));
            let (count, mean) = series.count(now.0, window, event.event_id);
            let warm = now.0.saturating_sub(series.first_seen) >= p.warmup_ms;
            if warm && count >= p.min_count && count as f64 > p.factor * mean {
                let (subject_type, whose) = match p.per {
                    Per::Principal => (SubjectType::Principal, format!("by {subject}")),
                    Per::Key => (SubjectType::Key, format!("on key {subject}")),
                };
                out.push(Match {
                    subject: Subject {
                        subject_type,
                        arn: subject.to_owned(),
                    },
                    cooldown_key: subject.to_owned(),
                    summary: format!(
                        "{count} requests {whose} in the current {} window, above {} × its baseline of {mean:.2} per window",
                        window_text(p.window_ms),
                        p.factor
                    ),
                    principal: match p.per {
                        Per::Principal => None,
                        Per::Key => crate::facts::principal(event).map(str::to_owned),
                    },
                    count: Some(count),
                    threshold: None,
                    window_seconds: Some(seconds(p.window_ms)),
                    baseline: Some((
                        mean,
                        seconds(p.window_ms.saturating_mul(p.baseline_windows as i64)),
                        p.factor,
                    )),
                    event_ids: series.recent.iter().copied().collect(),
                });
            }
        }
        ignored
    }

    /// Forgets subjects idle for a whole baseline plus one window.
    pub(super) fn sweep(&mut self, now: Timestamp) {
        forget_idle(
            &mut self.series,
            now,
            self.p.window_ms,
            self.p.baseline_windows,
        );
    }

    #[cfg(test)]
    pub(super) fn tracked(&self) -> usize {
        self.series.len()
    }
}

fn forget_idle(series: &mut HashMap<String, Series>, now: Timestamp, window_ms: i64, n: usize) {
    let span = window_ms.saturating_mul(i64::try_from(n).unwrap_or(i64::MAX).saturating_add(1));
    series.retain(|_, s| now.0.saturating_sub(s.last_seen) < span);
}

//! The cooldown of one rule: after an alert for a subject, further matches for that subject
//! raise no alert until the cooldown has passed; they are counted, and the next alert reports
//! how many were kept quiet (`suppressed`).

use super::MAX_SUBJECTS;
use std::collections::HashMap;
use std::time::Duration;
use strongroom_core::time::Timestamp;

#[derive(Debug)]
pub(super) struct Cooldowns {
    period_ms: i64,
    /// Per subject: quiet until (ms), matches kept quiet since the last alert.
    entries: HashMap<String, (i64, u64)>,
}

impl Cooldowns {
    pub(super) fn new(period: Duration) -> Self {
        Self {
            period_ms: i64::try_from(period.as_millis()).unwrap_or(i64::MAX),
            entries: HashMap::new(),
        }
    }

    /// Whether a match for `subject` at `now` becomes an alert: `Some(suppressed)` if so
    /// (starting a new cooldown), `None` if the subject is cooling down.
    pub(super) fn admit(&mut self, subject: &str, now: Timestamp) -> Option<u64> {
        let until = now.0.saturating_add(self.period_ms);
        match self.entries.get_mut(subject) {
            Some((quiet_until, suppressed)) if now.0 < *quiet_until => {
                *suppressed += 1;
                None
            }
            Some(entry) => {
                let suppressed = entry.1;
                *entry = (until, 0);
                Some(suppressed)
            }
            None => {
                if self.period_ms > 0 {
                    if self.entries.len() >= MAX_SUBJECTS {
                        self.sweep(now);
                    }
                    if self.entries.len() >= MAX_SUBJECTS {
                        self.evict_oldest();
                    }
                    self.entries.insert(subject.to_owned(), (until, 0));
                }
                Some(0)
            }
        }
    }

    /// Forgets subjects whose cooldown ended more than a cooldown ago (a match after that
    /// reports `suppressed` 0).
    pub(super) fn sweep(&mut self, now: Timestamp) {
        let period = self.period_ms;
        self.entries
            .retain(|_, (until, _)| now.0 < until.saturating_add(period));
    }

    /// Room for one more when every entry is still live: the one that ends first goes.
    fn evict_oldest(&mut self) {
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, (until, _))| *until)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            self.entries.remove(&k);
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_alert_per_cooldown_and_the_quiet_ones_are_counted() {
        let mut c = Cooldowns::new(Duration::from_secs(60));
        let t = |s: i64| Timestamp(1_000_000 + s * 1_000);
        assert_eq!(c.admit("a", t(0)), Some(0));
        assert_eq!(c.admit("a", t(1)), None);
        assert_eq!(c.admit("a", t(59)), None);
        // Another subject has its own cooldown.
        assert_eq!(c.admit("b", t(30)), Some(0));
        // Exactly one cooldown later the next match fires and reports the two kept quiet.
        assert_eq!(c.admit("a", t(60)), Some(2));
        assert_eq!(c.admit("a", t(61)), None);
    }

    #[test]
    fn zero_cooldown_admits_everything_and_keeps_nothing() {
        let mut c = Cooldowns::new(Duration::ZERO);
        for s in 0..5 {
            assert_eq!(c.admit("a", Timestamp(s)), Some(0));
        }
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn sweep_forgets_long_ended_cooldowns_only() {
        let mut c = Cooldowns::new(Duration::from_secs(10));
        let _ = c.admit("old", Timestamp(0));
        let _ = c.admit("new", Timestamp(15_000));
        c.sweep(Timestamp(20_000));
        assert_eq!(c.len(), 1);
        // "new" is still cooling down.
        assert_eq!(c.admit("new", Timestamp(20_000)), None);
    }
}

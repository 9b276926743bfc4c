//! The parameters of each rule kind: required ones present, all in range, none that belongs
//! to another kind.

use super::super::raw::RawRule;
use super::super::{
    DEFAULT_KEY_CHANGE_EVENTS, DENIALS, KEY_CHANGE, PENDING_DELETION_USE, Per, RATE, RateParams,
    RuleKind, duration,
};
use super::{DAY, SERVICE_EVENTS, Validator};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

impl Validator<'_> {
    /// The rule's kind and its parameters; parameters of other kinds are refused.
    pub(super) fn kind(&mut self, spanned: &Spanned<RawRule>, prefix: &str) -> Option<RuleKind> {
        let r = spanned.get_ref();
        let kind = r.kind.get_ref().as_str();
        let allowed: &[&str] = match kind {
            PENDING_DELETION_USE => &[],
            DENIALS => &["threshold", "window"],
            RATE => &["per", "window", "baseline", "factor", "min_count", "warmup"],
            KEY_CHANGE => &["events"],
            _ => {
                let m = format!(
                    "unknown kind `{kind}`: expected {PENDING_DELETION_USE}, {DENIALS}, {RATE} or {KEY_CHANGE}"
                );
                self.at(&r.kind, &format!("{prefix}.kind"), &m);
                return None;
            }
        };
        let present: [(&str, Option<Range<usize>>); 7] = [
            ("threshold", r.threshold.as_ref().map(Spanned::span)),
            ("window", r.window.as_ref().map(Spanned::span)),
            ("per", r.per.as_ref().map(Spanned::span)),
            ("baseline", r.baseline.as_ref().map(Spanned::span)),
            ("factor", r.factor.as_ref().map(Spanned::span)),
            ("min_count", r.min_count.as_ref().map(Spanned::span)),
            ("warmup", r.warmup.as_ref().map(Spanned::span)),
        ];
        let events = ("events", r.events.as_ref().map(Spanned::span));
        let mut misplaced = false;
        for (name, span) in present.into_iter().chain(std::iter::once(events)) {
            if let Some(span) = span
                && !allowed.contains(&name)
            {
                let m = format!("does not apply to a rule of kind {kind}");
                self.problem(Some(span), &format!("{prefix}.{name}"), &m);
                misplaced = true;
            }
        }
        let result = match kind {
            PENDING_DELETION_USE => Some(RuleKind::PendingDeletionUse),
            DENIALS => self.denials(spanned, prefix),
            RATE => self.rate(spanned, prefix).map(RuleKind::Rate),
            _ => self.key_change(r, prefix),
        };
        if misplaced { None } else { result }
    }

    /// A required parameter: records its absence at the rule's position.
    fn required<'r, T>(
        &mut self,
        value: &'r Option<Spanned<T>>,
        rule: &Spanned<RawRule>,
        field: &str,
    ) -> Option<&'r Spanned<T>> {
        if value.is_none() {
            let kind = rule.get_ref().kind.get_ref();
            let m = format!("is required for a rule of kind {kind}");
            self.at(rule, field, &m);
        }
        value.as_ref()
    }

    fn denials(&mut self, spanned: &Spanned<RawRule>, prefix: &str) -> Option<RuleKind> {
        let r = spanned.get_ref();
        let (ft, fw) = (format!("{prefix}.threshold"), format!("{prefix}.window"));
        let threshold = self
            .required(&r.threshold, spanned, &ft)
            .and_then(|v| self.int(v, &ft, 1, 10_000));
        let window = self
            .required(&r.window, spanned, &fw)
            .and_then(|v| self.window(v, &fw, DAY));
        Some(RuleKind::Denials {
            threshold: usize::try_from(threshold?).ok()?,
            window: window?,
        })
    }

    fn rate(&mut self, spanned: &Spanned<RawRule>, prefix: &str) -> Option<RateParams> {
        let r = spanned.get_ref();
        let f = |name: &str| format!("{prefix}.{name}");
        let per =
            self.required(&r.per, spanned, &f("per"))
                .and_then(|v| match v.get_ref().as_str() {
                    "principal" => Some(Per::Principal),
                    "key" => Some(Per::Key),
                    _ => {
                        self.at(v, &f("per"), "must be \"principal\" or \"key\"");
                        None
                    }
                });
        let window = self
            .required(&r.window, spanned, &f("window"))
            .and_then(|v| self.window(v, &f("window"), Duration::from_secs(3_600)));
        let baseline = self
            .required(&r.baseline, spanned, &f("baseline"))
            .and_then(|v| self.window(v, &f("baseline"), 7 * DAY).map(|d| (d, v)));
        let factor = self
            .required(&r.factor, spanned, &f("factor"))
            .and_then(|v| {
                let k = *v.get_ref();
                if k.is_finite() && k > 1.0 && k <= 1e6 {
                    Some(k)
                } else {
                    self.at(
                        v,
                        &f("factor"),
                        "must be a number above 1 (and at most 1000000)",
                    );
                    None
                }
            });
        let min_count = self
            .required(&r.min_count, spanned, &f("min_count"))
            .and_then(|v| self.int(v, &f("min_count"), 1, 1_000_000_000));
        let warmup = match &r.warmup {
            None => baseline.map(|(d, _)| d),
            Some(v) => self.duration(v, &f("warmup"), Duration::ZERO, 30 * DAY),
        };
        let (window, (baseline, baseline_at)) = (window?, baseline?);
        let windows = baseline.as_millis() / window.as_millis().max(1);
        if !baseline
            .as_millis()
            .is_multiple_of(window.as_millis().max(1))
            || !(1..=10_080).contains(&windows)
        {
            let m = format!(
                "must be a whole multiple of window ({}), at most 10080 windows",
                duration::display(window)
            );
            self.at(baseline_at, &f("baseline"), &m);
            return None;
        }
        Some(RateParams {
            per: per?,
            window_ms: i64::try_from(window.as_millis()).ok()?,
            baseline_windows: usize::try_from(windows).ok()?,
            factor: factor?,
            min_count: u64::try_from(min_count?).ok()?,
            warmup_ms: i64::try_from(warmup?.as_millis()).ok()?,
        })
    }

    fn key_change(&mut self, r: &RawRule, prefix: &str) -> Option<RuleKind> {
        let Some(list) = &r.events else {
            let events = DEFAULT_KEY_CHANGE_EVENTS.iter().map(|s| (*s).to_owned());
            return Some(RuleKind::KeyChange {
                events: events.collect(),
            });
        };
        let field = format!("{prefix}.events");
        if list.get_ref().is_empty() {
            self.at(
                list,
                &field,
                "must name at least one event (omit it for the default list)",
            );
            return None;
        }
        let mut ok = true;
        for name in list.get_ref() {
            let known = strongroom_core::operation::Operation::from_name(name).is_some()
                || SERVICE_EVENTS.contains(&name.as_str());
            if !known {
                let m = format!(
                    "`{name}` is not a KMS operation or service event name (e.g. DisableKey, PutKeyPolicy, DeleteKey)"
                );
                self.at(list, &field, &m);
                ok = false;
            }
        }
        ok.then(|| RuleKind::KeyChange {
            events: list.get_ref().clone(),
        })
    }
}

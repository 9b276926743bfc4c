use super::*;
use crate::config::RateParams;
use crate::facts::INVALID_STATE_CODE;
use crate::filter::{Filter, Pattern};
use crate::testing::{api_call, failed, service_event, with_key};
use std::time::Duration;

const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const BOB: &str = "arn:aws:iam::111122223333:user/bob";
const K1: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";
const K2: &str = "arn:aws:kms:us-east-1:111122223333:key/k2";
/// A fixed start, in whole windows of every size used here.
const T0: i64 = 1_800_000_000_000;

fn at(seconds: f64) -> Timestamp {
    Timestamp(T0 + (seconds * 1_000.0) as i64)
}

fn rule(kind: RuleKind, cooldown_s: u64) -> Rule {
    Rule {
        name: "r".into(),
        kind,
        filter: Filter::default(),
        cooldown: Duration::from_secs(cooldown_s),
        webhooks: Vec::new(),
    }
}

fn evaluator(kind: RuleKind, cooldown_s: u64) -> Evaluator {
    Evaluator::new(&[rule(kind, cooldown_s)])
}

fn denied(principal: &str) -> AuditEvent {
    failed(
        api_call("Decrypt", principal),
        "AccessDeniedException",
        "User: … is not authorized to perform: kms:Decrypt",
    )
}

fn pending_use(name: &str, key: &str) -> AuditEvent {
    with_key(
        failed(
            api_call(name, ALICE),
            INVALID_STATE_CODE,
            &format!("{key} is pending deletion."),
        ),
        key,
    )
}

#[test]
fn pending_deletion_use_fires_per_key_with_a_cooldown() {
    let mut e = evaluator(RuleKind::PendingDeletionUse, 60);
    let first = pending_use("Decrypt", K1);
    let fired = e.evaluate(at(0.0), &first);
    assert_eq!(fired.len(), 1);
    let a = &fired[0].alert;
    assert_eq!(a.kind, "pending-deletion-use");
    assert_eq!(
        a.subject,
        Subject {
            subject_type: SubjectType::Key,
            arn: K1.into()
        }
    );
    assert_eq!(a.principal.as_deref(), Some(ALICE));
    assert_eq!(a.event_name, "Decrypt");
    assert_eq!(a.event_ids, vec![first.event_id]);
    assert_eq!(a.events.len(), 1);
    assert!(a.summary.contains("pending deletion"), "{}", a.summary);
    // The same key within the cooldown: quiet; another key: its own alert.
    assert!(e.evaluate(at(1.0), &pending_use("Encrypt", K1)).is_empty());
    assert_eq!(e.evaluate(at(2.0), &pending_use("Encrypt", K2)).len(), 1);
    // After the cooldown, the next use fires and reports the one kept quiet.
    let again = e.evaluate(at(60.0), &pending_use("GenerateDataKey", K1));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].alert.suppressed, 1);
}

#[test]
fn pending_deletion_use_ignores_everything_else() {
    let mut e = evaluator(RuleKind::PendingDeletionUse, 0);
    let quiet = [
        with_key(api_call("DescribeKey", ALICE), K1),
        with_key(
            failed(
                api_call("Decrypt", ALICE),
                INVALID_STATE_CODE,
                &format!("{K1} is pending import."),
            ),
            K1,
        ),
        with_key(
            failed(
                api_call("Decrypt", ALICE),
                "DisabledException",
                &format!("{K1} is disabled."),
            ),
            K1,
        ),
        with_key(
            failed(
                api_call("CancelKeyDeletion", ALICE),
                INVALID_STATE_CODE,
                &format!("{K1} is not pending deletion."),
            ),
            K1,
        ),
        denied(ALICE),
    ];
    for ev in &quiet {
        assert!(e.evaluate(at(0.0), ev).is_empty(), "{ev:?}");
    }
}

fn denials(threshold: usize, window_s: u64) -> RuleKind {
    RuleKind::Denials {
        threshold,
        window: Duration::from_secs(window_s),
    }
}

#[test]
fn denials_fire_exactly_at_the_threshold_per_principal() {
    let mut e = evaluator(denials(3, 60), 300);
    let d1 = denied(ALICE);
    let d2 = denied(ALICE);
    assert!(e.evaluate(at(0.0), &d1).is_empty());
    assert!(e.evaluate(at(1.0), &d2).is_empty());
    // Other failures and other principals do not count towards alice's.
    let not_denied = failed(
        api_call("Decrypt", ALICE),
        "NotFoundException",
        "no such key",
    );
    assert!(e.evaluate(at(2.0), &not_denied).is_empty());
    assert!(e.evaluate(at(2.0), &denied(BOB)).is_empty());
    assert!(e.evaluate(at(2.0), &denied(BOB)).is_empty());
    let d3 = denied(ALICE);
    let fired = e.evaluate(at(3.0), &d3);
    assert_eq!(fired.len(), 1);
    let a = &fired[0].alert;
    assert_eq!(a.kind, "denials");
    assert_eq!(
        a.subject,
        Subject {
            subject_type: SubjectType::Principal,
            arn: ALICE.into()
        }
    );
    assert_eq!(
        (a.count, a.threshold, a.window_seconds),
        (Some(3), Some(3), Some(60))
    );
    assert_eq!(a.event_ids, vec![d1.event_id, d2.event_id, d3.event_id]);
    // IAM's code counts too: bob's third denial.
    let iam = failed(
        api_call("CreateUser", BOB),
        "AccessDenied",
        "not authorized",
    );
    assert_eq!(e.evaluate(at(4.0), &iam).len(), 1);
}

#[test]
fn the_denial_window_slides() {
    let mut e = evaluator(denials(3, 10), 0);
    assert!(e.evaluate(at(0.0), &denied(ALICE)).is_empty());
    assert!(e.evaluate(at(5.0), &denied(ALICE)).is_empty());
    // At t = 10 the first denial (t = 0) has left the window (0, 10]: two remain.
    assert!(e.evaluate(at(10.0), &denied(ALICE)).is_empty());
    // t = 5, 10, 11 are within (1, 11].
    assert_eq!(e.evaluate(at(11.0), &denied(ALICE)).len(), 1);
    // Spread out, never three in a window: quiet.
    let mut e = evaluator(denials(3, 10), 0);
    for s in [0.0, 6.0, 12.0, 18.0, 24.0, 30.0] {
        assert!(e.evaluate(at(s), &denied(ALICE)).is_empty(), "t={s}");
    }
}

#[test]
fn a_denial_storm_gives_one_alert_per_cooldown() {
    let mut e = evaluator(denials(2, 60), 30);
    let mut alerts = Vec::new();
    // 1000 denials, one every 60 ms.
    for i in 0..1_000 {
        alerts.extend(e.evaluate(Timestamp(T0 + i * 60), &denied(ALICE)));
    }
    assert_eq!(
        alerts.len(),
        2,
        "one at the start, one when the cooldown ended"
    );
    assert_eq!(alerts[0].alert.suppressed, 0);
    // The first alert came with the second denial (60 ms); the cooldown ended 30 s later,
    // with denial 501; the 499 in between were kept quiet and are counted.
    assert_eq!(
        alerts[1].alert.time,
        EventTime::from_timestamp(Timestamp(T0 + 30_060))
    );
    assert_eq!(alerts[1].alert.suppressed, 499);
}

fn rate(
    per: Per,
    window_s: i64,
    windows: usize,
    factor: f64,
    min_count: u64,
    warmup_s: i64,
) -> RuleKind {
    RuleKind::Rate(RateParams {
        per,
        window_ms: window_s * 1_000,
        baseline_windows: windows,
        factor,
        min_count,
        warmup_ms: warmup_s * 1_000,
    })
}

/// `n` calls by `who` spread evenly over the 10-second window starting at `start`.
fn calls(e: &mut Evaluator, who: &str, start: f64, n: u32) -> Vec<Fired> {
    (0..n)
        .flat_map(|i| {
            let t = start + f64::from(i) * 10.0 / f64::from(n.max(1));
            e.evaluate(at(t), &api_call("Encrypt", who))
        })
        .collect()
}

#[test]
fn rate_is_quiet_under_steady_traffic_and_fires_just_above_k_times_the_baseline() {
    // 10-second windows, a 60-second baseline (6 windows), k = 3, at least 5 requests.
    let mut e = evaluator(rate(Per::Principal, 10, 6, 3.0, 5, 60), 300);
    for w in 0..10 {
        assert!(
            calls(&mut e, ALICE, f64::from(w) * 10.0, 10).is_empty(),
            "window {w}"
        );
    }
    // Window 10: baseline mean 10, so the rule needs more than 30.
    for i in 0..30 {
        let t = 100.0 + f64::from(i) * 0.1;
        assert!(
            e.evaluate(at(t), &api_call("Encrypt", ALICE)).is_empty(),
            "request {}",
            i + 1
        );
    }
    let fired = e.evaluate(at(103.5), &api_call("Encrypt", ALICE));
    assert_eq!(fired.len(), 1);
    let a = &fired[0].alert;
    assert_eq!(a.kind, "rate");
    assert_eq!(
        a.subject,
        Subject {
            subject_type: SubjectType::Principal,
            arn: ALICE.into()
        }
    );
    assert_eq!(a.count, Some(31));
    assert_eq!(a.baseline, Some(10.0));
    assert_eq!(
        (a.window_seconds, a.baseline_seconds, a.factor),
        (Some(10), Some(60), Some(3.0))
    );
    assert_eq!(a.event_ids.len(), MAX_EVENT_IDS);
}

#[test]
fn rate_is_quiet_during_warm_up() {
    let mut e = evaluator(rate(Per::Principal, 10, 6, 3.0, 5, 60), 0);
    // A new principal at 20 requests a second from its first second: 200 per window, far
    // above its (empty) baseline, but nothing during the 60 s warm-up…
    for ms in (0..60_000).step_by(50) {
        assert!(
            e.evaluate(Timestamp(T0 + ms), &api_call("Encrypt", BOB))
                .is_empty(),
            "t={ms} ms"
        );
    }
    // …after which a burst above 3 × its baseline of 200 per window fires.
    let burst: Vec<Fired> = (0..700)
        .flat_map(|i| e.evaluate(Timestamp(T0 + 60_000 + i), &api_call("Encrypt", BOB)))
        .collect();
    assert!(!burst.is_empty());
    assert_eq!(burst[0].alert.count, Some(601));
    assert_eq!(burst[0].alert.baseline, Some(200.0));
}

#[test]
fn rate_needs_the_minimum_count_when_the_baseline_is_zero() {
    let mut e = evaluator(rate(Per::Principal, 10, 6, 3.0, 5, 60), 0);
    assert!(e.evaluate(at(0.0), &api_call("Encrypt", ALICE)).is_empty());
    // Quiet for a long while (baseline zero), then four requests: below the minimum.
    for i in 0..4 {
        assert!(
            e.evaluate(at(100.0 + f64::from(i)), &api_call("Encrypt", ALICE))
                .is_empty()
        );
    }
    assert_eq!(e.evaluate(at(105.0), &api_call("Encrypt", ALICE)).len(), 1);
}

#[test]
fn rate_per_key_counts_each_key_and_not_service_events() {
    let mut e = evaluator(rate(Per::Key, 10, 6, 2.0, 3, 0), 300);
    let on = |k: &str, who: &str| with_key(api_call("Decrypt", who), k);
    // The service's own work on a key never counts.
    for _ in 0..10 {
        assert!(
            e.evaluate(at(0.0), &service_event("RotateKey", K1))
                .is_empty()
        );
    }
    // Calls on k1 by two callers add up; k2 is separate.
    assert!(e.evaluate(at(1.0), &on(K1, ALICE)).is_empty());
    assert!(e.evaluate(at(1.0), &on(K2, ALICE)).is_empty());
    assert!(e.evaluate(at(1.0), &on(K1, BOB)).is_empty());
    let fired = e.evaluate(at(1.0), &on(K1, BOB));
    assert_eq!(fired.len(), 1);
    let a = &fired[0].alert;
    assert_eq!(
        a.subject,
        Subject {
            subject_type: SubjectType::Key,
            arn: K1.into()
        }
    );
    assert_eq!(a.principal.as_deref(), Some(BOB));
    assert_eq!(a.count, Some(3));
}

#[test]
fn rate_survives_a_clock_stepping_back() {
    let mut e = evaluator(rate(Per::Principal, 10, 6, 3.0, 5, 0), 0);
    assert!(calls(&mut e, ALICE, 100.0, 3).is_empty());
    // Counted in the newest window rather than rewriting history.
    assert!(e.evaluate(at(5.0), &api_call("Encrypt", ALICE)).is_empty());
    assert_eq!(e.evaluate(at(109.0), &api_call("Encrypt", ALICE)).len(), 1);
}

fn key_change() -> RuleKind {
    RuleKind::KeyChange {
        events: [
            "DisableKey",
            "ScheduleKeyDeletion",
            "PutKeyPolicy",
            "DeleteKey",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    }
}

#[test]
fn key_change_fires_on_successful_listed_calls_only() {
    let mut e = evaluator(key_change(), 300);
    let disable = with_key(api_call("DisableKey", ALICE), K1);
    let fired = e.evaluate(at(0.0), &disable);
    assert_eq!(fired.len(), 1);
    let a = &fired[0].alert;
    assert_eq!(a.kind, "key-change");
    assert_eq!(
        a.subject,
        Subject {
            subject_type: SubjectType::Key,
            arn: K1.into()
        }
    );
    assert_eq!(
        (a.event_name.as_str(), a.principal.as_deref()),
        ("DisableKey", Some(ALICE))
    );
    assert_eq!(a.event_ids, vec![disable.event_id]);
    // Another change of the same key has its own cooldown; the same change does not.
    assert_eq!(
        e.evaluate(at(1.0), &with_key(api_call("PutKeyPolicy", ALICE), K1))
            .len(),
        1
    );
    assert!(
        e.evaluate(at(2.0), &with_key(api_call("DisableKey", BOB), K1))
            .is_empty()
    );
    // Failed calls, unlisted calls and calls naming no key: quiet.
    let refused = failed(
        with_key(api_call("ScheduleKeyDeletion", BOB), K2),
        "AccessDeniedException",
        "no",
    );
    let invalid = failed(
        with_key(api_call("DisableKey", BOB), K2),
        INVALID_STATE_CODE,
        "pending",
    );
    for ev in [
        refused,
        invalid,
        with_key(api_call("EnableKey", BOB), K2),
        api_call("DisableKey", BOB),
    ] {
        assert!(e.evaluate(at(3.0), &ev).is_empty(), "{ev:?}");
    }
    // A listed service event (the end of a deletion window).
    let deleted = e.evaluate(at(4.0), &service_event("DeleteKey", K2));
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].alert.principal, None);
}

#[test]
fn filters_restrict_what_a_rule_sees() {
    let mut r = rule(denials(1, 60), 0);
    r.filter = Filter {
        principals: Some(vec![Pattern::new("*:user/b*")]),
        ..Filter::default()
    };
    let mut e = Evaluator::new(&[r]);
    assert!(e.evaluate(at(0.0), &denied(ALICE)).is_empty());
    assert_eq!(e.evaluate(at(0.0), &denied(BOB)).len(), 1);
}

#[test]
fn rules_are_independent_and_report_their_index() {
    let mut e = Evaluator::new(&[rule(denials(1, 60), 0), rule(key_change(), 0)]);
    let fired = e.evaluate(at(0.0), &with_key(api_call("DisableKey", ALICE), K1));
    assert_eq!(fired.iter().map(|f| f.rule).collect::<Vec<_>>(), vec![1]);
    let fired = e.evaluate(at(0.0), &denied(ALICE));
    assert_eq!(fired.iter().map(|f| f.rule).collect::<Vec<_>>(), vec![0]);
}

#[test]
fn sweep_forgets_idle_subjects() {
    let mut e = Evaluator::new(&[
        rule(denials(5, 10), 0),
        rule(rate(Per::Principal, 10, 6, 3.0, 5, 60), 0),
    ]);
    let _ = e.evaluate(at(0.0), &denied(ALICE));
    e.sweep(at(5.0));
    let tracked = |e: &Evaluator| match (&e.rules[0].state, &e.rules[1].state) {
        (KindState::Denials(d), KindState::Rate(r)) => (d.tracked(), r.tracked()),
        _ => (usize::MAX, usize::MAX),
    };
    assert_eq!(tracked(&e), (1, 1));
    e.sweep(at(10.0));
    assert_eq!(tracked(&e), (0, 1), "the denial left its 10 s window");
    e.sweep(at(69.9));
    assert_eq!(tracked(&e), (0, 1));
    e.sweep(at(70.0));
    assert_eq!(tracked(&e), (0, 0), "idle for the baseline plus one window");
}

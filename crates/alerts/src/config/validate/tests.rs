use super::super::{AlertConfig, ConfigError, ConfigSource, Per, RuleKind};
use std::path::{Path, PathBuf};
use std::time::Duration;

const SECRET: &str = "sentinel-webhook-secret-0123456789";

fn env(var: &str) -> Option<String> {
    match var {
        "HOOK_SECRET" => Some(SECRET.to_owned()),
        "SHORT_SECRET" => Some("sentinel-short".to_owned()),
        _ => None,
    }
}

fn source(dir: &Path) -> ConfigSource<'static> {
    ConfigSource {
        name: "alerts.toml".into(),
        base_dir: dir.to_path_buf(),
        default_dead_letter: PathBuf::from("/data/alerts-dead-letter.jsonl"),
        env: &env,
    }
}

fn parse(text: &str) -> Result<AlertConfig, ConfigError> {
    AlertConfig::parse(text, &source(Path::new("/etc/strongroom")))
}

/// The single problem of `text`: (line, column, field, message).
fn problem(text: &str) -> (Option<(usize, usize)>, String, String) {
    match parse(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => {
            assert_eq!(e.problems().len(), 1, "{e}");
            let p = &e.problems()[0];
            (p.position, p.field.clone(), p.message.clone())
        }
    }
}

const WEBHOOK: &str = r#"
[webhooks.ops]
url = "http://127.0.0.1:9/hook"
secret_env = "HOOK_SECRET"
"#;

/// The example of docs/alerts.md, less its ca_file.
const FULL: &str = r#"
[delivery]
attempts = 4
initial_backoff = "500ms"
max_backoff = "30s"
timeout = "5s"
dead_letter = "dead.jsonl"
queue = 100
shutdown_grace = "3s"

[webhooks.ops]
url = "https://alerts.example.com/strongroom?token=abc"
secret_env = "HOOK_SECRET"
timeout = "2s"

[webhooks.siem]
url = "http://127.0.0.1:8088/ingest"
secret_env = "HOOK_SECRET"

[[rules]]
name = "pending-deletion"
kind = "pending-deletion-use"
webhooks = ["ops", "siem"]

[[rules]]
name = "denied-burst"
kind = "denials"
threshold = 10
window = "1m"
cooldown = "10m"
webhooks = ["siem"]
[rules.filter]
principals = ["arn:aws:iam::111122223333:user/*"]

[[rules]]
name = "key-rate"
kind = "rate"
per = "key"
window = "1m"
baseline = "1h"
factor = 5
min_count = 100

[[rules]]
name = "key-changes"
kind = "key-change"
"#;

#[test]
fn a_full_file_is_read_with_defaults_filled_in() {
    let c = parse(FULL).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.rule_names().collect::<Vec<_>>(),
        [
            "pending-deletion",
            "denied-burst",
            "key-rate",
            "key-changes"
        ]
    );
    let d = &c.delivery;
    assert_eq!(d.attempts, 4);
    assert_eq!(d.initial_backoff, Duration::from_millis(500));
    assert_eq!(d.max_backoff, Duration::from_secs(30));
    assert_eq!(d.queue, 100);
    assert_eq!(d.shutdown_grace, Duration::from_secs(3));
    assert_eq!(
        c.dead_letter_path(),
        Path::new("/etc/strongroom/dead.jsonl")
    );
    // Webhooks in name order; their own timeout, else [delivery]'s.
    let hooks: Vec<_> = c
        .webhooks
        .iter()
        .map(|w| (w.name.as_str(), w.timeout))
        .collect();
    assert_eq!(
        hooks,
        [
            ("ops", Duration::from_secs(2)),
            ("siem", Duration::from_secs(5))
        ]
    );
    assert_eq!(c.webhooks[0].secret.expose(), SECRET.as_bytes());
    assert_eq!(c.rules[0].webhooks, [0, 1]);
    assert_eq!(c.rules[1].webhooks, [1]);
    assert!(c.rules[2].webhooks.is_empty());
    assert_eq!(c.rules[0].cooldown, Duration::from_secs(300));
    assert_eq!(c.rules[1].cooldown, Duration::from_secs(600));
    match &c.rules[1].kind {
        RuleKind::Denials { threshold, window } => {
            assert_eq!((*threshold, *window), (10, Duration::from_secs(60)));
        }
        other => panic!("{other:?}"),
    }
    match &c.rules[2].kind {
        RuleKind::Rate(p) => {
            assert_eq!(p.per, Per::Key);
            assert_eq!(
                (p.window_ms, p.baseline_windows, p.min_count),
                (60_000, 60, 100)
            );
            assert!((p.factor - 5.0).abs() < f64::EPSILON);
            assert_eq!(p.warmup_ms, 3_600_000, "warm-up defaults to the baseline");
        }
        other => panic!("{other:?}"),
    }
    match &c.rules[3].kind {
        RuleKind::KeyChange { events } => {
            assert_eq!(
                events,
                &["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn secrets_and_url_paths_never_print() {
    let c = parse(FULL).unwrap_or_else(|e| panic!("{e}"));
    let printed = format!("{c:?}");
    assert!(!printed.contains("sentinel"), "{printed}");
    assert!(!printed.contains("token=abc"), "{printed}");
    assert!(printed.contains("https://alerts.example.com"), "{printed}");
}

#[test]
fn minimal_file_defaults() {
    let c = parse("[[rules]]\nname = \"p\"\nkind = \"pending-deletion-use\"\n").unwrap();
    assert_eq!(c.delivery.attempts, 5);
    assert_eq!(c.delivery.initial_backoff, Duration::from_secs(1));
    assert_eq!(c.delivery.max_backoff, Duration::from_secs(60));
    assert_eq!(c.delivery.shutdown_grace, Duration::from_secs(5));
    assert_eq!(c.delivery.queue, 1_000);
    assert_eq!(
        c.dead_letter_path(),
        Path::new("/data/alerts-dead-letter.jsonl")
    );
}

#[test]
fn syntax_errors_and_unknown_keys_have_positions() {
    let (pos, _, msg) = problem("[[rules]]\nname = \"a\"\nkind = \n");
    assert_eq!(pos.map(|p| p.0), Some(3));
    assert!(!msg.is_empty());
    let (pos, _, msg) = problem("[[rules]]\nname = \"a\"\nkind = \"denials\"\nthreshhold = 3\n");
    assert_eq!(pos, Some((4, 1)));
    assert!(msg.contains("unknown field `threshhold`"), "{msg}");
    let (pos, _, msg) = problem(
        "[webhooks.ops]\nurl = \"http://127.0.0.1/\"\nsecret = \"sentinel-in-the-file-0123456789\"\n",
    );
    assert_eq!(pos, Some((3, 1)));
    assert!(msg.contains("secret_env or secret_file"), "{msg}");
    assert!(!msg.contains("sentinel"), "{msg}");
}

#[test]
fn the_file_needs_rules() {
    let (_, field, msg) = problem(WEBHOOK);
    assert_eq!(field, "rules");
    assert!(msg.contains("no rules"), "{msg}");
}

fn rule(body: &str) -> String {
    format!("{WEBHOOK}\n[[rules]]\nname = \"r\"\n{body}\n")
}

#[test]
fn rule_kinds_and_their_parameters_are_checked() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "kind = \"burst\"",
            "rules[0] (r).kind",
            "unknown kind `burst`",
        ),
        (
            "kind = \"denials\"\nwindow = \"1m\"",
            "rules[0] (r).threshold",
            "is required",
        ),
        (
            "kind = \"denials\"\nthreshold = 0\nwindow = \"1m\"",
            "rules[0] (r).threshold",
            "between 1 and 10000",
        ),
        (
            "kind = \"denials\"\nthreshold = 3\nwindow = \"60\"",
            "rules[0] (r).window",
            "is not a duration",
        ),
        (
            "kind = \"denials\"\nthreshold = 3\nwindow = \"1500ms\"",
            "rules[0] (r).window",
            "whole number of seconds",
        ),
        (
            "kind = \"denials\"\nthreshold = 3\nwindow = \"2d\"",
            "rules[0] (r).window",
            "between 1s and 1d",
        ),
        (
            "kind = \"pending-deletion-use\"\nthreshold = 3",
            "rules[0] (r).threshold",
            "does not apply",
        ),
        (
            "kind = \"key-change\"\nevents = [\"DisableKeys\"]",
            "rules[0] (r).events",
            "`DisableKeys` is not a KMS operation",
        ),
        (
            "kind = \"key-change\"\nevents = []",
            "rules[0] (r).events",
            "at least one",
        ),
        (
            "kind = \"key-change\"\nwebhooks = [\"pager\"]",
            "rules[0] (r).webhooks",
            "undefined webhook `pager`",
        ),
        (
            "kind = \"key-change\"\nwebhooks = [\"ops\", \"ops\"]",
            "rules[0] (r).webhooks",
            "twice",
        ),
        (
            "kind = \"key-change\"\ncooldown = \"8d\"",
            "rules[0] (r).cooldown",
            "between",
        ),
        (
            "kind = \"key-change\"\n[rules.filter]\nkeys = []",
            "rules[0] (r).filter.keys",
            "non-empty list",
        ),
        (
            "kind = \"key-change\"\n[rules.filter]\nprincipals = [\"\"]",
            "rules[0] (r).filter.principals",
            "non-empty",
        ),
    ];
    for (body, field, message) in cases {
        let (pos, f, m) = problem(&rule(body));
        assert!(pos.is_some(), "{body}");
        assert_eq!(&f, field, "{body}");
        assert!(m.contains(message), "{body}: {m}");
    }
}

#[test]
fn rate_parameters_are_checked() {
    let base = "kind = \"rate\"\nper = \"principal\"\nwindow = \"1m\"\nbaseline = \"1h\"\nfactor = 4\nmin_count = 10";
    assert!(parse(&rule(base)).is_ok());
    let cases: &[(&str, &str, &str)] = &[
        (
            "per = \"principal\"",
            "per = \"account\"",
            "\"principal\" or \"key\"",
        ),
        (
            "baseline = \"1h\"",
            "baseline = \"90s\"",
            "whole multiple of window",
        ),
        (
            "baseline = \"1h\"",
            "baseline = \"30d\"",
            "between 1s and 7d",
        ),
        (
            "window = \"1m\"\nbaseline = \"1h\"",
            "window = \"1s\"\nbaseline = \"7d\"",
            "at most 10080 windows",
        ),
        ("factor = 4", "factor = 1", "above 1"),
        ("factor = 4", "factor = nan", "above 1"),
        ("min_count = 10", "min_count = 0", "between 1 and"),
        (
            "min_count = 10",
            "min_count = 10\nwarmup = \"31d\"",
            "between",
        ),
        (
            "min_count = 10",
            "min_count = 10\nthreshold = 3",
            "does not apply",
        ),
    ];
    for (from, to, message) in cases {
        let (_, _, m) = problem(&rule(&base.replace(from, to)));
        assert!(m.contains(message), "{to}: {m}");
    }
    let (_, f, m) = problem(&rule(&base.replace("factor = 4\n", "")));
    assert_eq!(
        (f.as_str(), m.contains("is required")),
        ("rules[0] (r).factor", true)
    );
}

#[test]
fn rule_names_are_checked_and_unique() {
    let two = format!(
        "{}[[rules]]\nname = \"r\"\nkind = \"key-change\"\n",
        rule("kind = \"key-change\"")
    );
    let (_, f, m) = problem(&two);
    assert_eq!(f, "rules[1] (r).name");
    assert!(m.contains("same name"), "{m}");
    let (_, f, m) = problem("[[rules]]\nname = \"has space\"\nkind = \"key-change\"\n");
    assert_eq!(f, "rules[0] (has space).name");
    assert!(m.contains("letters, digits"), "{m}");
}

fn hook(body: &str) -> String {
    format!(
        "[webhooks.w]\n{body}\n[[rules]]\nname = \"r\"\nkind = \"key-change\"\nwebhooks = [\"w\"]\n"
    )
}

#[test]
fn webhooks_are_checked_without_revealing_secrets() {
    let url = "url = \"https://example.com/x\"";
    let cases: &[(String, &str, &str)] = &[
        (url.to_string(), "webhooks.w", "needs secret_env or secret_file"),
        (format!("{url}\nsecret_env = \"NOT_SET\""), "webhooks.w.secret_env", "NOT_SET is not set"),
        (format!("{url}\nsecret_env = \"SHORT_SECRET\""), "webhooks.w.secret_env", "shorter than 16 bytes"),
        (
            format!("{url}\nsecret_env = \"HOOK_SECRET\"\nsecret_file = \"s\""),
            "webhooks.w.secret_file",
            "not both",
        ),
        (format!("{url}\nsecret_file = \"/nonexistent/secret\""), "webhooks.w.secret_file", "cannot read /nonexistent/secret"),
        ("url = \"ftp://example.com/\"\nsecret_env = \"HOOK_SECRET\"".into(), "webhooks.w.url", "https://"),
        ("url = \"https://u:p@example.com/\"\nsecret_env = \"HOOK_SECRET\"".into(), "webhooks.w.url", "user information"),
        ("url = \"not a url\"\nsecret_env = \"HOOK_SECRET\"".into(), "webhooks.w.url", "not a valid absolute URL"),
        (format!("{url}\nsecret_env = \"HOOK_SECRET\"\ntimeout = \"0s\""), "webhooks.w.timeout", "between"),
        (
            "url = \"http://127.0.0.1/\"\nsecret_env = \"HOOK_SECRET\"\nca_file = \"/nonexistent/ca.pem\"".into(),
            "webhooks.w.ca_file",
            "cannot read certificates",
        ),
    ];
    for (body, field, message) in cases {
        let (pos, f, m) = problem(&hook(body));
        assert!(pos.is_some(), "{body}");
        assert_eq!(&f, field, "{body}");
        assert!(m.contains(message), "{body}: {m}");
        assert!(!m.contains("sentinel"), "{m}");
    }
}

#[test]
fn secret_files_resolve_against_the_config_directory_and_lose_one_line_ending() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hook.secret"), format!("{SECRET}\r\n")).unwrap();
    let text = hook("url = \"http://127.0.0.1:1/\"\nsecret_file = \"hook.secret\"");
    let c = AlertConfig::parse(&text, &source(dir.path())).unwrap();
    assert_eq!(c.webhooks[0].secret.expose(), SECRET.as_bytes());
}

#[test]
fn delivery_settings_are_checked() {
    let cases: &[(&str, &str, &str)] = &[
        ("attempts = 0", "delivery.attempts", "between 1 and 20"),
        ("attempts = 21", "delivery.attempts", "between 1 and 20"),
        (
            "initial_backoff = \"10s\"\nmax_backoff = \"1s\"",
            "delivery.max_backoff",
            "not be shorter",
        ),
        ("queue = 0", "delivery.queue", "between 1 and 100000"),
        ("dead_letter = \" \"", "delivery.dead_letter", "file path"),
        (
            "shutdown_grace = \"10m\"",
            "delivery.shutdown_grace",
            "between 0ms and 5m",
        ),
        ("timeout = \"1h\"", "delivery.timeout", "between"),
    ];
    for (body, field, message) in cases {
        let text = format!("[delivery]\n{body}\n[[rules]]\nname = \"r\"\nkind = \"key-change\"\n");
        let (pos, f, m) = problem(&text);
        assert!(pos.is_some_and(|p| p.0 >= 2), "{body}");
        assert_eq!(&f, field, "{body}");
        assert!(m.contains(message), "{body}: {m}");
    }
}

#[test]
fn every_problem_is_reported_with_file_line_and_column() {
    let text = "[delivery]\nattempts = 0\n\n[[rules]]\nname = \"a\"\nkind = \"denials\"\nthreshold = 0\nwindow = \"1x\"\n";
    let e = match parse(text) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e,
    };
    assert_eq!(e.problems().len(), 3, "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("invalid alerts configuration (3 problems)"),
        "{shown}"
    );
    assert!(
        shown.contains("alerts.toml:2:12: delivery.attempts: must be between 1 and 20"),
        "{shown}"
    );
    assert!(
        shown.contains("alerts.toml:7:13: rules[0] (a).threshold"),
        "{shown}"
    );
    assert!(
        shown.contains("alerts.toml:8:10: rules[0] (a).window: `1x` is not a duration"),
        "{shown}"
    );
}

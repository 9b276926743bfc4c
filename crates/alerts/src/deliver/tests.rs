//! Delivery against a local webhook receiver (hyper, on 127.0.0.1), through the whole engine.

use super::*;
use crate::config::{AlertConfig, ConfigSource};
use crate::engine::{AlertEngine, EngineOptions};
use crate::metrics::{AlertMetrics, AlertStats};
use crate::testing::{api_call, failed};
use http_body_util::BodyExt as _;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use strongroom_audit::AuditEvent;
use strongroom_core::time::SystemClock;
use strongroom_crypto::random::SystemRandom;

const SECRET: &str = "sentinel-delivery-secret-0123456789";

/// What the receiver answers to each request, in order; 200 once the script runs out.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answers.
    Hang,
}

#[derive(Debug, Clone)]
struct Seen {
    headers: ::http::HeaderMap,
    body: Bytes,
}

struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Receiver {
    async fn start(script: &[Answer]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let (s, sc) = (Arc::clone(&seen), script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, script) = (Arc::clone(&s), Arc::clone(&sc));
                tokio::spawn(async move {
                    let service = service_fn(move |req: ::http::Request<hyper::body::Incoming>| {
                        let (seen, script) = (Arc::clone(&seen), Arc::clone(&script));
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                                headers: parts.headers,
                                body,
                            });
                            let answer =
                                script.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                            let status = match answer {
                                Some(Answer::Hang) => {
                                    tokio::time::sleep(Duration::from_secs(3_600)).await;
                                    200
                                }
                                Some(Answer::Status(s)) => s,
                                None => 200,
                            };
                            ::http::Response::builder()
                                .status(status)
                                .body(http_body_util::Full::new(Bytes::from_static(b"ok")))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}/hook?token=sentinel-url-token", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    async fn wait_for(&self, n: usize) {
        for _ in 0..500 {
            if self.seen().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the receiver saw {} requests, expected {n}",
            self.seen().len()
        );
    }
}

fn env(var: &str) -> Option<String> {
    (var == "HOOK_SECRET").then(|| SECRET.to_owned())
}

/// A denial rule (every denial alerts) delivering to `url`.
fn config(url: &str, delivery: &str, dir: &Path) -> AlertConfig {
    let dead_letter = if delivery.contains("dead_letter") {
        ""
    } else {
        "dead_letter = \"dead.jsonl\""
    };
    let text = format!(
        r#"
[delivery]
{dead_letter}
initial_backoff = "10ms"
max_backoff = "40ms"
{delivery}

[webhooks.w]
url = "{url}"
secret_env = "HOOK_SECRET"

[[rules]]
name = "deny"
kind = "denials"
threshold = 1
window = "1m"
cooldown = "0s"
webhooks = ["w"]
"#
    );
    let source = ConfigSource {
        name: "test.toml".into(),
        base_dir: dir.to_path_buf(),
        default_dead_letter: dir.join("unused.jsonl"),
        env: &env,
    };
    AlertConfig::parse(&text, &source).unwrap()
}

fn options(metrics: AlertMetrics, queue: usize) -> EngineOptions {
    EngineOptions {
        clock: Arc::new(SystemClock),
        random: Arc::new(SystemRandom),
        metrics,
        queue,
        queue_bytes: crate::DEFAULT_QUEUE_BYTES,
    }
}

/// Yields (to the engine's task, on a single-threaded runtime) until `n` alerts have fired.
async fn until_fired(engine: &AlertEngine, n: u64) {
    for _ in 0..1000 {
        if engine.stats().fired == n {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("{} alerts fired, not {n}", engine.stats().fired);
}

/// Shows `event` to the engine as the audit log does, with the size of its JSON.
fn observe(engine: &AlertEngine, event: AuditEvent) {
    let bytes = serde_json::to_vec(&event).unwrap().len();
    engine.observer().observe(event, bytes);
}

fn start(config: AlertConfig) -> AlertEngine {
    AlertEngine::start(config, options(AlertMetrics::disabled(), 100)).unwrap()
}

fn denial() -> AuditEvent {
    failed(
        api_call("Decrypt", "arn:aws:iam::111122223333:user/mallory"),
        "AccessDeniedException",
        "not authorized",
    )
}

fn dead_letters(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("dead.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn header<'a>(s: &'a Seen, name: &str) -> &'a str {
    s.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[test]
fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
    // Computed independently with Python's hmac module.
    assert_eq!(
        sign(b"whsec-0123456789abcdef", "1700000000", br#"{"id":"x"}"#),
        "v1=ffcc3087b2ccc7bc8c7614f2a2500a2cb8605108d6b4bb72c037de4f60d0bd08"
    );
}

#[derive(Debug)]
struct Fixed(u8);

impl Random for Fixed {
    fn fill(&self, dest: &mut [u8]) -> Result<(), strongroom_crypto::CryptoError> {
        dest.fill(self.0);
        Ok(())
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum_with_jitter_in_the_upper_half() {
    let dir = tempdir();
    let mut c = config("http://127.0.0.1:1/", "", dir.path());
    c.delivery.max_backoff = Duration::from_millis(100);
    let shared = |r: u8| Shared {
        webhooks: Vec::new(),
        delivery: c.delivery.clone(),
        dead: Arc::new(DeadLetter::open(&dir.path().join("d")).unwrap()),
        pending: Mutex::new(HashMap::new()),
        counters: Arc::new(Counters::new(
            &AlertMetrics::disabled(),
            std::iter::empty(),
            std::iter::empty(),
        )),
        clock: Arc::new(SystemClock),
        random: Rng(Arc::new(Fixed(r))),
    };
    let (low, high) = (shared(0), shared(0xff));
    let ms = |d: Duration| d.as_millis();
    // initial 10 ms: attempts 2, 3, 4, 5, 6 wait around 10, 20, 40, 80, 100 (the maximum).
    for (next, base) in [(2, 10), (3, 20), (4, 40), (5, 80), (6, 100), (20, 100)] {
        assert_eq!(ms(low.backoff(next)), base / 2, "attempt {next}");
        let h = ms(high.backoff(next));
        assert!(h >= base / 2 && h <= base, "attempt {next}: {h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_until_delivered_and_signs_every_attempt() {
    let dir = tempdir();
    let rx = Receiver::start(&[Answer::Status(500), Answer::Status(503)]).await;
    let engine = start(config(&rx.url(), "attempts = 3", dir.path()));
    let event = denial();
    observe(&engine, event.clone());
    rx.wait_for(3).await;
    let stats = engine.shutdown().await;
    assert_eq!(
        stats,
        AlertStats {
            fired: 1,
            delivered: 1,
            dead_lettered: 0,
            lost: 0,
            attempts: 3,
            dropped_events: 0
        }
    );
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    let id = header(&seen[0], ALERT_ID_HEADER).to_owned();
    for (n, s) in seen.iter().enumerate() {
        let ts = header(s, TIMESTAMP_HEADER);
        let expected = strongroom_crypto::digest::hmac_sha256(
            SECRET.as_bytes(),
            &[ts.as_bytes(), b".", &s.body].concat(),
        );
        assert_eq!(
            header(s, SIGNATURE_HEADER),
            format!("v1={}", strongroom_crypto::hex::encode(&expected))
        );
        assert_eq!(header(s, ATTEMPT_HEADER), (n + 1).to_string());
        assert_eq!(header(s, ALERT_ID_HEADER), id);
        assert_eq!(header(s, "content-type"), "application/json");
        let now = SystemClock.now().unix_seconds();
        let signed_at: i64 = ts.parse().unwrap_or(0);
        assert!((now - signed_at).abs() < 60, "{ts}");
        assert!(!String::from_utf8_lossy(&s.body).contains("sentinel-delivery"));
    }
    let body: serde_json::Value = serde_json::from_slice(&seen[2].body).unwrap();
    assert_eq!(body["version"], 1);
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["rule"], "deny");
    assert_eq!(body["kind"], "denials");
    assert_eq!(body["subject"]["type"], "principal");
    assert_eq!(
        body["subject"]["arn"],
        "arn:aws:iam::111122223333:user/mallory"
    );
    assert_eq!(body["eventIds"][0], event.event_id.to_string());
    assert_eq!(body["events"][0]["eventID"], event.event_id.to_string());
    assert_eq!(body["count"], 1);
    assert!(dead_letters(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_answers_are_not_retried_and_go_to_the_dead_letter_file() {
    let dir = tempdir();
    let rx = Receiver::start(&[Answer::Status(404)]).await;
    let engine = start(config(&rx.url(), "attempts = 5", dir.path()));
    observe(&engine, denial());
    rx.wait_for(1).await;
    let stats = engine.shutdown().await;
    assert_eq!(
        (stats.dead_lettered, stats.delivered, stats.attempts),
        (1, 0, 1)
    );
    assert_eq!(rx.seen().len(), 1);
    let lines = dead_letters(dir.path());
    assert_eq!(lines.len(), 1);
    let d = &lines[0];
    assert_eq!(
        (d["webhook"].as_str(), d["attempts"].as_u64()),
        (Some("w"), Some(1))
    );
    assert_eq!(d["reason"], "HTTP 404 (not retried)");
    assert_eq!(
        d["alert"]["id"].as_str(),
        Some(header(&rx.seen()[0], ALERT_ID_HEADER))
    );
    let raw = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap_or_default();
    assert!(
        !raw.contains("sentinel"),
        "no secret and no URL token: {raw}"
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("dead.jsonl")).map(|m| m.permissions().mode());
    assert_eq!(mode.map(|m| m & 0o777).ok(), Some(0o600));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_webhook_ends_in_the_dead_letter_file_after_every_attempt() {
    let dir = tempdir();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
    let addr = closed.unwrap();
    let engine = start(config(
        &format!("http://{addr}/"),
        "attempts = 3",
        dir.path(),
    ));
    observe(&engine, denial());
    for _ in 0..500 {
        if engine.stats().dead_lettered == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stats = engine.shutdown().await;
    assert_eq!((stats.dead_lettered, stats.attempts), (1, 3));
    let lines = dead_letters(dir.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["attempts"], 3);
    let reason = lines[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("cannot connect") && reason.ends_with("(attempt 3 of 3)"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_never_answers_times_out() {
    let dir = tempdir();
    let rx = Receiver::start(&[Answer::Hang, Answer::Hang]).await;
    let engine = start(config(
        &rx.url(),
        "attempts = 2\ntimeout = \"100ms\"",
        dir.path(),
    ));
    observe(&engine, denial());
    rx.wait_for(2).await;
    for _ in 0..500 {
        if engine.stats().dead_lettered == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = engine.shutdown().await;
    let lines = dead_letters(dir.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["reason"],
        "no answer within 100 ms (attempt 2 of 2)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_gives_pending_deliveries_a_grace_period_then_dead_letters_them() {
    let dir = tempdir();
    let rx = Receiver::start(&[Answer::Hang]).await;
    let engine = start(config(
        &rx.url(),
        "timeout = \"30s\"\nshutdown_grace = \"200ms\"",
        dir.path(),
    ));
    observe(&engine, denial());
    rx.wait_for(1).await;
    let started = std::time::Instant::now();
    let stats = engine.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!((stats.delivered, stats.dead_lettered), (0, 1));
    let lines = dead_letters(dir.path());
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["reason"],
        "not delivered before the server stopped"
    );
    assert_eq!(lines[0]["attempts"], 1);
}

#[tokio::test]
async fn a_full_observer_queue_drops_and_counts_events() {
    let dir = tempdir();
    let c = config("http://127.0.0.1:1/", "", dir.path());
    let mut c = c;
    c.rules[0].webhooks.clear();
    let engine = AlertEngine::start(c, options(AlertMetrics::disabled(), 2)).unwrap();
    // On this single-threaded runtime the engine cannot run until the test yields.
    for _ in 0..10 {
        observe(&engine, denial());
    }
    assert_eq!(engine.stats().dropped_events, 8);
    // Events no rule can match are not even queued.
    observe(
        &engine,
        api_call("Encrypt", "arn:aws:iam::111122223333:user/a"),
    );
    let stats = engine.shutdown().await;
    assert_eq!((stats.fired, stats.dropped_events), (2, 8));
}

/// The queue is bounded in bytes as well as in events: past the budget events are dropped
/// and counted, and the bytes come back as the engine takes events off the queue.
#[tokio::test]
async fn the_observer_queue_is_bounded_in_bytes_too() {
    let dir = tempdir();
    let mut c = config("http://127.0.0.1:1/", "", dir.path());
    c.rules[0].webhooks.clear();
    let size = serde_json::to_vec(&denial()).unwrap().len();
    let engine = AlertEngine::start(
        c,
        EngineOptions {
            queue_bytes: 2 * size + size / 2,
            ..options(AlertMetrics::disabled(), 100)
        },
    )
    .unwrap();
    // On this single-threaded runtime the engine cannot run until the test yields: two
    // events fit in the budget, the other eight do not.
    for _ in 0..10 {
        observe(&engine, denial());
    }
    assert_eq!(engine.stats().dropped_events, 8);
    until_fired(&engine, 2).await;
    // Their bytes are free again.
    observe(&engine, denial());
    observe(&engine, denial());
    assert_eq!(engine.stats().dropped_events, 8);
    // One event larger than the whole budget still goes through an empty queue.
    until_fired(&engine, 4).await;
    let mut big = denial();
    big.request_parameters = serde_json::json!({"policy": "x".repeat(3 * size)});
    observe(&engine, big);
    let stats = engine.shutdown().await;
    assert_eq!((stats.fired, stats.dropped_events), (5, 8));
}

#[tokio::test]
async fn a_full_delivery_queue_sends_alerts_to_the_dead_letter_file_and_none_is_lost() {
    let dir = tempdir();
    let rx = Receiver::start(&[Answer::Hang; 10]).await;
    let c = config(
        &rx.url(),
        "queue = 1\ntimeout = \"30s\"\nshutdown_grace = \"100ms\"",
        dir.path(),
    );
    let engine = start(c);
    for _ in 0..10 {
        observe(&engine, denial());
    }
    let stats = engine.shutdown().await;
    assert_eq!(stats.fired, 10);
    assert_eq!(stats.delivered + stats.dead_lettered, 10, "{stats:?}");
    let lines = dead_letters(dir.path());
    assert_eq!(lines.len(), 10);
    let full = lines
        .iter()
        .filter(|l| l["reason"] == "the webhook's delivery queue was full")
        .count();
    assert!(full >= 4, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_alerts_attempts_and_outcomes() {
    let dir = tempdir();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let rx = Receiver::start(&[Answer::Status(429)]).await;
    let c = config(&rx.url(), "attempts = 2", dir.path());
    let engine =
        AlertEngine::start(c, options(AlertMetrics::new(Arc::new(recorder)), 100)).unwrap();
    observe(&engine, denial());
    rx.wait_for(2).await;
    let _ = engine.shutdown().await;
    let text = handle.render();
    for line in [
        "strongroom_alerts_fired_total{rule=\"deny\"} 1",
        "strongroom_alert_deliveries_total{webhook=\"w\",outcome=\"delivered\"} 1",
        "strongroom_alert_deliveries_total{webhook=\"w\",outcome=\"dead_letter\"} 0",
        "strongroom_alert_delivery_attempts_total{webhook=\"w\",result=\"success\"} 1",
        "strongroom_alert_delivery_attempts_total{webhook=\"w\",result=\"error\"} 1",
        "strongroom_alert_events_dropped_total 0",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[test]
fn starting_needs_a_runtime_and_a_writable_dead_letter_file() {
    let dir = tempdir();
    let c = config("http://127.0.0.1:1/", "", dir.path());
    let e = AlertEngine::start(c, options(AlertMetrics::disabled(), 10));
    assert!(
        matches!(e, Err(crate::engine::StartError::NoRuntime)),
        "{e:?}"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = runtime.unwrap();
    let c = config(
        "http://127.0.0.1:1/",
        "dead_letter = \"/nonexistent/dir/dead.jsonl\"",
        dir.path(),
    );
    let e = runtime.block_on(async {
        AlertEngine::start(c, options(AlertMetrics::disabled(), 10)).map(|_| ())
    });
    let shown = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(shown.contains("/nonexistent/dir/dead.jsonl"), "{shown}");
}

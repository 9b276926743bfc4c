//! Driving one workload: N connection tasks, each sending one request at a time for the whole
//! run, with latencies recorded only after the warm-up.

use super::child::{cpu_seconds, own_cpu_seconds};
use super::client::{ClientError, Connection, Credentials, RequestTemplate};
use super::server_metrics::{self, Syncs};
use super::stats::Histogram;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pause after a failed connect, so a dead server costs errors but not a spinning core.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);
/// How much of an error response to keep for the report.
const ERROR_SNIPPET: usize = 200;

/// What one workload is pointed at and for how long.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) authority: Arc<str>,
    pub(crate) creds: Arc<Credentials>,
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// The server process, when the bench started it, for its CPU time.
    pub(crate) server_pid: Option<u32>,
    /// Whether to read the server's audit sync counters (a Strongroom server, not the
    /// baseline).
    pub(crate) audit_metrics: bool,
}

/// What a workload measured.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Latencies of the successful requests sent after the warm-up.
    pub(crate) latencies: Histogram,
    /// Failed requests over the whole run, warm-up included.
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    /// The length of the measured window.
    pub(crate) measured: Duration,
    /// CPU seconds the server and this process used during the measured window.
    pub(crate) server_cpu: Option<f64>,
    pub(crate) client_cpu: Option<f64>,
    /// The server's audit syncs during the measured window.
    pub(crate) audit_syncs: Option<Syncs>,
}

impl Outcome {
    fn fail(&mut self, why: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies.merge(&other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
}

/// Runs `template` on every connection of `load` and gathers the results.
pub(crate) async fn drive(load: &Load, template: RequestTemplate) -> Outcome {
    let template = Arc::new(template);
    let start = Instant::now();
    let window = Window {
        measure_from: start + load.warmup,
        end: start + load.warmup + load.duration,
    };
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            let authority = Arc::clone(&load.authority);
            let creds = Arc::clone(&load.creds);
            let template = Arc::clone(&template);
            tokio::spawn(
                async move { connection_loop(&authority, &template, &creds, window).await },
            )
        })
        .collect();
    let cpu = || (load.server_pid.and_then(cpu_seconds), own_cpu_seconds());
    let syncs = || async {
        if load.audit_metrics {
            server_metrics::audit_syncs(&load.authority).await
        } else {
            None
        }
    };
    tokio::time::sleep_until(window.measure_from.into()).await;
    let cpu_from = cpu();
    let syncs_from = syncs().await;
    tokio::time::sleep_until(window.end.into()).await;
    let cpu_to = cpu();
    let syncs_to = syncs().await;
    let mut total = Outcome::default();
    for task in tasks {
        match task.await {
            Ok(outcome) => total.merge(outcome),
            Err(e) => total.fail(|| format!("connection task failed: {e}")),
        }
    }
    total.measured = load.duration;
    total.server_cpu = cpu_to.0.zip(cpu_from.0).map(|(b, a)| b - a);
    total.client_cpu = cpu_to.1.zip(cpu_from.1).map(|(b, a)| b - a);
    total.audit_syncs = syncs_to.zip(syncs_from).map(|(b, a)| b.since(a));
    total
}

/// One connection's share of the load: send, wait, record, repeat until the window closes.
async fn connection_loop(
    authority: &str,
    template: &RequestTemplate,
    creds: &Credentials,
    window: Window,
) -> Outcome {
    let mut out = Outcome::default();
    let mut request = Vec::with_capacity(2048);
    let mut conn: Option<Connection> = None;
    while Instant::now() < window.end {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => match Connection::connect(authority).await {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    out.fail(|| format!("connect to {authority}: {e}"));
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        if let Err(e) = template.render(creds, unix_now(), &mut request) {
            // Signing fails the same way every time: stop rather than spin.
            out.fail(|| e.to_string());
            break;
        }
        let sent = Instant::now();
        let keep = match c.round_trip(&request).await {
            Ok(resp) if resp.status == 200 => {
                if sent >= window.measure_from {
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    out.latencies.record(micros);
                }
                !resp.close
            }
            Ok(resp) => {
                out.fail(|| describe_refusal(resp.status, resp.body));
                !resp.close
            }
            Err(e) => {
                out.fail(|| describe_failure(&e));
                false
            }
        };
        if !keep {
            conn = None;
        }
    }
    out
}

fn describe_refusal(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.chars().take(ERROR_SNIPPET).collect();
    format!("HTTP {status}: {snippet}")
}

fn describe_failure(e: &ClientError) -> String {
    format!("no response: {e}")
}

/// Seconds since the Unix epoch, the signing time of a request.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_keep_status_and_a_bounded_snippet() {
        let body = format!(
            r#"{{"__type":"NotFoundException","message":"{}"}}"#,
            "x".repeat(500)
        );
        let d = describe_refusal(400, body.as_bytes());
        assert!(
            d.starts_with("HTTP 400: {\"__type\":\"NotFoundException\""),
            "{d}"
        );
        assert_eq!(d.chars().count(), "HTTP 400: ".len() + ERROR_SNIPPET);
    }

    #[test]
    fn outcomes_add_up_and_keep_the_first_error() {
        let mut a = Outcome::default();
        a.latencies.record(5);
        let mut b = Outcome::default();
        b.latencies.record(7);
        b.fail(|| "first".to_owned());
        b.fail(|| "second".to_owned());
        a.merge(b);
        assert_eq!(a.latencies.len(), 2);
        assert_eq!(a.errors, 2);
        assert_eq!(a.first_error.as_deref(), Some("first"));
    }
}

//! The results: one row per workload, as a table for people or JSON for scripts.

use super::load::Outcome;
use serde::Serialize;
use std::fmt::Write as _;

/// Everything one `strongroom bench` run reports.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) results: Vec<Row>,
}

/// The conditions of the run.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    /// CPUs this process may run on (client and server share them).
    pub(crate) nproc: usize,
    pub(crate) connections: usize,
    pub(crate) duration_s: f64,
    pub(crate) warmup_s: f64,
    pub(crate) plaintext_bytes: usize,
    /// `"child"` when the bench started the server, else the endpoint given.
    pub(crate) server: String,
}

/// One workload's results.
#[derive(Debug, Serialize)]
pub(crate) struct Row {
    pub(crate) op: &'static str,
    pub(crate) requests: u64,
    pub(crate) requests_per_s: f64,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    pub(crate) errors: u64,
    /// `requests_per_s` over the baseline's; `None` when the baseline was not run.
    pub(crate) ratio_to_baseline: Option<f64>,
    /// Server CPU time per measured request; `None` for a server the bench did not start.
    pub(crate) server_cpu_us_per_request: Option<f64>,
    /// The bench's own CPU time per measured request (signing, HTTP, bookkeeping).
    pub(crate) client_cpu_us_per_request: Option<f64>,
    /// The server's audit trail during the window: syncs per second, the mean sync, and
    /// measured requests per sync (absent without a trail, or for the baseline).
    pub(crate) audit_syncs_per_s: Option<f64>,
    pub(crate) audit_sync_us: Option<f64>,
    pub(crate) requests_per_audit_sync: Option<f64>,
    pub(crate) first_error: Option<String>,
}

impl Row {
    pub(crate) fn new(op: &'static str, o: Outcome) -> Self {
        let requests = o.latencies.len();
        let secs = o.measured.as_secs_f64();
        let per_request = |cpu: Option<f64>| {
            cpu.filter(|_| requests > 0)
                .map(|c| round(c * 1e6 / requests as f64, 2))
        };
        // A window in which the trail never synced says nothing about its syncs.
        let syncs = o.audit_syncs.filter(|s| s.count > 0.0);
        Self {
            op,
            requests,
            requests_per_s: if secs > 0.0 {
                round(requests as f64 / secs, 1)
            } else {
                0.0
            },
            p50_ms: o.latencies.percentile(50.0).map(|us| round(us / 1e3, 3)),
            p99_ms: o.latencies.percentile(99.0).map(|us| round(us / 1e3, 3)),
            errors: o.errors,
            ratio_to_baseline: None,
            server_cpu_us_per_request: per_request(o.server_cpu),
            client_cpu_us_per_request: per_request(o.client_cpu),
            audit_syncs_per_s: syncs
                .filter(|_| secs > 0.0)
                .map(|s| round(s.count / secs, 1)),
            audit_sync_us: syncs.map(|s| round(s.seconds * 1e6 / s.count, 1)),
            requests_per_audit_sync: syncs.map(|s| round(requests as f64 / s.count, 2)),
            first_error: o.first_error,
        }
    }
}

impl Report {
    /// Fills in every row's ratio to the `baseline` row, if there is one that did any work.
    pub(crate) fn compute_ratios(&mut self, baseline: &str) {
        let base = self
            .results
            .iter()
            .find(|r| r.op == baseline)
            .map(|r| r.requests_per_s)
            .filter(|&b| b > 0.0);
        for row in &mut self.results {
            row.ratio_to_baseline = base.map(|b| round(row.requests_per_s / b, 3));
        }
    }

    /// Failed requests over all workloads.
    pub(crate) fn errors(&self) -> u64 {
        self.results.iter().map(|r| r.errors).sum()
    }

    pub(crate) fn json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    pub(crate) fn table(&self) -> String {
        let m = &self.machine;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "strongroom bench: nproc {}, {} connections, {} s per op after {} s warm-up, \
             {}-byte plaintext, server: {}",
            m.nproc, m.connections, m.duration_s, m.warmup_s, m.plaintext_bytes, m.server
        );
        let _ = writeln!(
            t,
            "{:<18} {:>9} {:>10} {:>8} {:>8} {:>7} {:>17} {:>15} {:>15}",
            "op",
            "requests",
            "req/s",
            "p50(ms)",
            "p99(ms)",
            "errors",
            "ratio-to-baseline",
            "srv-cpu(us/req)",
            "cli-cpu(us/req)"
        );
        for r in &self.results {
            let _ = writeln!(
                t,
                "{:<18} {:>9} {:>10.1} {:>8} {:>8} {:>7} {:>17} {:>15} {:>15}",
                r.op,
                r.requests,
                r.requests_per_s,
                opt(r.p50_ms, 3),
                opt(r.p99_ms, 3),
                r.errors,
                opt(r.ratio_to_baseline, 2),
                opt(r.server_cpu_us_per_request, 1),
                opt(r.client_cpu_us_per_request, 1),
            );
        }
        for r in &self.results {
            if let (Some(per_s), Some(us), Some(shared)) = (
                r.audit_syncs_per_s,
                r.audit_sync_us,
                r.requests_per_audit_sync,
            ) {
                let _ = writeln!(
                    t,
                    "{}: audit trail {per_s:.0} syncs/s, {us:.0} us per sync, \
                     {shared:.1} requests per sync",
                    r.op
                );
            }
        }
        for r in &self.results {
            if let Some(e) = &r.first_error {
                let _ = writeln!(t, "{}: {} failed; first: {e}", r.op, r.errors);
            }
        }
        t
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn round(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn outcome(requests: u64, errors: u64) -> Outcome {
        let mut o = Outcome {
            measured: Duration::from_secs(2),
            errors,
            server_cpu: Some(1.0),
            client_cpu: Some(0.5),
            ..Outcome::default()
        };
        for i in 0..requests {
            o.latencies.record(100 + i % 100);
        }
        o
    }

    fn report() -> Report {
        let mut r = Report {
            machine: Machine {
                nproc: 2,
                connections: 4,
                duration_s: 2.0,
                warmup_s: 0.0,
                plaintext_bytes: 32,
                server: "child".to_owned(),
            },
            results: vec![
                Row::new("baseline", outcome(1000, 0)),
                Row::new("encrypt", outcome(600, 0)),
            ],
        };
        r.compute_ratios("baseline");
        r
    }

    #[test]
    fn rows_derive_rate_ratio_and_cpu_per_request() {
        let r = report();
        let enc = &r.results[1];
        assert_eq!(enc.requests, 600);
        assert_eq!(enc.requests_per_s, 300.0);
        assert_eq!(enc.ratio_to_baseline, Some(0.6));
        assert_eq!(r.results[0].ratio_to_baseline, Some(1.0));
        // 1 CPU second over 600 requests.
        assert_eq!(enc.server_cpu_us_per_request, Some(1666.67));
        assert_eq!(enc.client_cpu_us_per_request, Some(833.33));
        assert_eq!(r.errors(), 0);
    }

    #[test]
    fn without_a_baseline_there_is_no_ratio() {
        let mut r = report();
        r.results.remove(0);
        r.compute_ratios("baseline");
        assert_eq!(r.results[0].ratio_to_baseline, None);
        assert!(r.table().lines().nth(2).is_some_and(|l| l.contains(" - ")));
    }

    #[test]
    fn table_has_a_header_and_one_row_per_op() {
        let t = report().table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(
            lines[1]
                .split_whitespace()
                .any(|c| c == "ratio-to-baseline")
        );
        let enc: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(enc[0], "encrypt");
        assert_eq!(enc[6], "0.60");
    }

    #[test]
    fn audit_syncs_become_rates_and_a_line_under_the_table() {
        let mut r = report();
        let mut o = outcome(600, 0);
        o.audit_syncs = Some(crate::bench::server_metrics::Syncs {
            count: 100.0,
            seconds: 0.0127,
        });
        r.results[1] = Row::new("encrypt", o);
        let enc = &r.results[1];
        assert_eq!(enc.audit_syncs_per_s, Some(50.0));
        assert_eq!(enc.audit_sync_us, Some(127.0));
        assert_eq!(enc.requests_per_audit_sync, Some(6.0));
        let t = r.table();
        assert!(
            t.contains("encrypt: audit trail 50 syncs/s, 127 us per sync, 6.0 requests per sync"),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&r.json().unwrap()).unwrap();
        assert_eq!(v["results"][1]["audit_sync_us"], 127.0);
        assert!(v["results"][0]["audit_sync_us"].is_null());
        // A window without a sync (no trail, or nothing to write) reports nothing.
        let mut quiet = outcome(600, 0);
        quiet.audit_syncs = Some(crate::bench::server_metrics::Syncs {
            count: 0.0,
            seconds: 0.0,
        });
        assert_eq!(Row::new("encrypt", quiet).audit_sync_us, None);
        assert!(!report().table().contains("audit trail"));
    }

    #[test]
    fn json_names_every_field() {
        let mut r = report();
        r.results[1].errors = 3;
        r.results[1].first_error = Some("HTTP 400: nope".to_owned());
        let v: serde_json::Value = serde_json::from_str(&r.json().unwrap()).unwrap();
        assert_eq!(v["machine"]["connections"], 4);
        assert_eq!(v["results"][1]["op"], "encrypt");
        assert_eq!(v["results"][1]["ratio_to_baseline"], 0.6);
        assert_eq!(v["results"][1]["errors"], 3);
        assert_eq!(v["results"][1]["first_error"], "HTTP 400: nope");
        assert_eq!(r.errors(), 3);
        assert!(
            r.table()
                .contains("encrypt: 3 failed; first: HTTP 400: nope")
        );
    }
}

//! What the server under test says about its audit trail: the sync counters of its
//! `/metrics`, read before and after a measured window, so a run shows how often the trail
//! synced, how long a sync took on that disk and how many requests shared one.

use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The histogram of audit syncs the server exports (docs/monitoring.md).
const SYNC_SECONDS: &str = "strongroom_audit_fsync_seconds";
/// A metrics page larger than this is not the server's.
const MAX_PAGE: u64 = 4 << 20;
/// A server that does not answer within this is left out of the report, not waited for.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The audit sync counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Syncs {
    /// Syncs since the server started.
    pub(crate) count: f64,
    /// Seconds spent in them.
    pub(crate) seconds: f64,
}

impl Syncs {
    /// The syncs between `earlier` and `self`.
    pub(crate) fn since(self, earlier: Self) -> Self {
        Self {
            count: self.count - earlier.count,
            seconds: self.seconds - earlier.seconds,
        }
    }
}

/// Reads the audit sync counters from `http://{authority}/metrics`. `None` when the server
/// has no audit trail, does not export metrics, or does not answer in time.
pub(crate) async fn audit_syncs(authority: &str) -> Option<Syncs> {
    let page = tokio::time::timeout(TIMEOUT, metrics_page(authority))
        .await
        .ok()?
        .ok()?;
    parse_syncs(&page)
}

async fn metrics_page(authority: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(authority).await?;
    let request =
        format!("GET /metrics HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.take(MAX_PAGE).read_to_end(&mut response).await?;
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut head = httparse::Response::new(&mut headers);
    let invalid = |why| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let Ok(httparse::Status::Complete(n)) = head.parse(&response) else {
        return Err(invalid("no complete response head"));
    };
    if head.code != Some(200) {
        return Err(invalid("not 200"));
    }
    String::from_utf8(response[n..].to_vec()).map_err(|_| invalid("not UTF-8"))
}

/// The `_count` and `_sum` of the sync histogram in a Prometheus text page.
fn parse_syncs(page: &str) -> Option<Syncs> {
    let value = |suffix: &str| {
        page.lines().find_map(|line| {
            let rest = line.strip_prefix(SYNC_SECONDS)?.strip_prefix(suffix)?;
            rest.strip_prefix(' ')?.trim().parse::<f64>().ok()
        })
    };
    Some(Syncs {
        count: value("_count")?,
        seconds: value("_sum")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sync_histograms_count_and_sum_and_nothing_else() {
        let page = "\
# TYPE strongroom_audit_fsync_seconds histogram
strongroom_audit_fsync_seconds_bucket{le=\"0.001\"} 2400
strongroom_audit_fsync_seconds_bucket{le=\"+Inf\"} 2440
strongroom_audit_fsync_seconds_sum 0.3096
strongroom_audit_fsync_seconds_count 2440
strongroom_audit_fsync_seconds_counted 7
strongroom_requests_total{api=\"kms\"} 99
";
        assert_eq!(
            parse_syncs(page),
            Some(Syncs {
                count: 2440.0,
                seconds: 0.3096
            })
        );
        assert_eq!(parse_syncs("strongroom_requests_total 1\n"), None);
        assert_eq!(
            parse_syncs("strongroom_audit_fsync_seconds_count 3\n"),
            None
        );
        let later = Syncs {
            count: 2540.0,
            seconds: 0.4096,
        };
        let d = later.since(parse_syncs(page).unwrap());
        assert_eq!(d.count, 100.0);
        assert!((d.seconds - 0.1).abs() < 1e-9);
    }
}

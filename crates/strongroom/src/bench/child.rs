//! The servers under test as child processes of the bench: started from this same binary,
//! found through the `export AWS_ENDPOINT_URL=…` line they print once listening, and stopped
//! with SIGTERM (the graceful path a real deployment takes) when the bench is done with them.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How long a child may take to print its endpoint.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Linux reports process CPU time in clock ticks of this many per second (`USER_HZ`, fixed
/// at 100 on every architecture Linux supports).
const TICKS_PER_SEC: f64 = 100.0;

/// A running child server. Dropping it stops the process.
#[derive(Debug)]
pub(crate) struct ChildServer {
    child: Child,
    /// The `host:port` it listens on.
    pub(crate) authority: String,
}

impl ChildServer {
    /// Starts `command` (stdout piped, stderr appended to `log`) and waits for its endpoint.
    pub(crate) fn start(mut command: Command, log: &Path) -> Result<Self, BoxError> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file));
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("child has no stdout")?;
        let mut server = Self {
            child,
            authority: String::new(),
        };
        match wait_for_endpoint(stdout) {
            Ok(authority) => {
                server.authority = authority;
                Ok(server)
            }
            Err(e) => {
                let status = server.child.try_wait().ok().flatten();
                let tail = log_tail(log);
                let exited = status.map(|s| format!(" ({s})")).unwrap_or_default();
                Err(format!("server did not start{exited}: {e}\n{tail}").into())
            }
        }
    }

    /// The process id, for reading its CPU time.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for a graceful exit, killing the process if it overstays.
    pub(crate) fn stop(&mut self) -> Result<(), BoxError> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        // std has no portable way to send SIGTERM and this crate forbids the `unsafe` a libc
        // call needs, so ask kill(1).
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while sent && Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("server exited with {status} on SIGTERM").into())
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Err("server did not stop on SIGTERM and was killed".into())
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        // After an explicit `stop` this finds the process gone and does nothing.
        if let Err(e) = self.stop() {
            eprintln!("strongroom bench: stopping a server: {e}");
        }
    }
}

/// Reads `stdout` on a thread until the endpoint line, then keeps draining it so the child
/// never blocks on a full pipe.
fn wait_for_endpoint(stdout: ChildStdout) -> Result<String, BoxError> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut found = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if !found => {
                    if let Some(authority) = endpoint_authority(&line) {
                        found = true;
                        let _ = tx.send(authority);
                    }
                }
                Ok(_) => {}
            }
        }
        // Dropping `tx` unfound tells the waiting side the child went away.
    });
    match rx.recv_timeout(STARTUP_TIMEOUT) {
        Ok(Ok(authority)) => Ok(authority),
        Ok(Err(e)) => Err(e.into()),
        Err(mpsc::RecvTimeoutError::Timeout) => Err("timed out waiting for the endpoint".into()),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("it exited without printing its endpoint".into())
        }
    }
}

/// The `host:port` of an `export AWS_ENDPOINT_URL=http://host:port` line.
pub(crate) fn endpoint_authority(line: &str) -> Option<Result<String, String>> {
    let value = line.trim().strip_prefix("export AWS_ENDPOINT_URL=")?;
    Some(authority_of(value.trim_matches(['"', '\''])))
}

/// The `host:port` of an `http://host:port[/]` URL; anything else is refused.
pub(crate) fn authority_of(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// endpoints are supported"))?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let valid = !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@'])
        && authority
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if valid {
        Ok(authority.to_owned())
    } else {
        Err(format!("{url:?}: expected http://host:port"))
    }
}

/// The last lines of a child's log, for an error message.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(10);
    lines.get(from..).unwrap_or_default().join("\n")
}

/// The CPU time (user + system, all threads) process `pid` has used so far, from
/// `/proc/PID/stat`; `None` off Linux or once the process is gone.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// [`cpu_seconds`] of this process.
pub(crate) fn own_cpu_seconds() -> Option<f64> {
    parse_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// Fields 14 and 15 of a `/proc/PID/stat` line. The command name (field 2) is in parentheses
/// and may itself contain spaces and parentheses, so counting starts after the last `)`.
fn parse_cpu_seconds(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_lines_give_the_authority() {
        let line = "export AWS_ENDPOINT_URL=http://127.0.0.1:43117\n";
        assert_eq!(
            endpoint_authority(line),
            Some(Ok("127.0.0.1:43117".to_owned()))
        );
        assert_eq!(
            endpoint_authority("export AWS_ENDPOINT_URL=\"http://[::1]:8/\""),
            Some(Ok("[::1]:8".to_owned()))
        );
        assert_eq!(endpoint_authority("export AWS_REGION=us-east-1"), None);
        assert!(matches!(
            endpoint_authority("export AWS_ENDPOINT_URL=https://kms.example:443"),
            Some(Err(_))
        ));
    }

    #[test]
    fn only_plain_host_port_urls_are_accepted() {
        assert_eq!(
            authority_of("http://localhost:4599"),
            Ok("localhost:4599".to_owned())
        );
        for bad in [
            "http://localhost",
            "http://:80",
            "http://h:80/path",
            "h:80",
            "http://h:x",
        ] {
            assert!(authority_of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpu_time_is_utime_plus_stime() {
        let stat = "4242 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 3 0 100";
        assert_eq!(parse_cpu_seconds(stat), Some(3.0));
        assert_eq!(parse_cpu_seconds("garbage"), None);
        assert!(own_cpu_seconds().is_some_and(|s| s >= 0.0));
        assert!(cpu_seconds(std::process::id()).is_some());
    }
}

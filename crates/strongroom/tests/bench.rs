//! `strongroom bench` end to end: the real binary starts its own server and baseline, drives
//! every workload and reports a row for each.

use std::process::Command;

#[test]
fn bench_drives_every_op_without_errors_and_reports_ratios() {
    let out = Command::new(env!("CARGO_BIN_EXE_strongroom"))
        .args([
            "bench",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--connections",
            "2",
        ])
        .env("STRONGROOM_LOG", "warn")
        .output()
        .expect("run strongroom bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let lines: Vec<&str> = stdout.lines().collect();
    let header_at = lines
        .iter()
        .position(|l| l.starts_with("op "))
        .unwrap_or_else(|| panic!("no table header in:\n{stdout}"));
    let header: Vec<&str> = lines[header_at].split_whitespace().collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
    };
    let (requests, errors, ratio) = (col("requests"), col("errors"), col("ratio-to-baseline"));

    let rows: Vec<Vec<&str>> = lines[header_at + 1..]
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cells| cells.len() == header.len())
        .collect();
    let ops: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        ops,
        ["baseline", "encrypt", "decrypt", "generate-data-key"],
        "{stdout}"
    );
    for row in &rows {
        let n: u64 = row[requests].parse().unwrap();
        assert!(n > 0, "{} made no requests:\n{stdout}", row[0]);
        assert_eq!(row[errors], "0", "{} had errors:\n{stdout}", row[0]);
        let r: f64 = row[ratio].parse().unwrap();
        assert!(r > 0.0, "{} has no ratio:\n{stdout}", row[0]);
    }
    assert_eq!(rows[0][ratio], "1.00");
    // The server the bench started keeps a fail-closed trail (the default): every KMS
    // workload reports its syncs, read from the server's /metrics; the baseline has none.
    for op in ["encrypt", "decrypt", "generate-data-key"] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{op}: audit trail ")))
            .unwrap_or_else(|| panic!("no audit line for {op}:\n{stdout}"));
        let per_s: f64 = line
            .split_whitespace()
            .nth(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(per_s > 0.0, "{line}");
    }
    assert!(!stdout.contains("baseline: audit trail"), "{stdout}");
}

/// `--dir` places the servers' files: the bench runs there, leaves nothing behind, and a
/// directory it cannot use is an error that names it (so the option is not silently ignored).
#[test]
fn bench_keeps_its_servers_files_in_dir_and_cleans_up() {
    let parent = tempfile::tempdir().unwrap();
    let run = |dir: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_strongroom"))
            .args(["bench", "--ops", "encrypt", "--duration", "300ms"])
            .args(["--warmup", "0s", "--connections", "1", "--dir"])
            .arg(dir)
            .env("STRONGROOM_LOG", "warn")
            .output()
            .expect("run strongroom bench")
    };
    let out = run(parent.path());
    assert!(
        out.status.success(),
        "bench failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(parent.path()).unwrap().count(),
        0,
        "the run's directory is removed"
    );

    let missing = parent.path().join("no-such-dir");
    let out = run(&missing);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--dir") && stderr.contains(&*missing.to_string_lossy()),
        "{stderr}"
    );
}

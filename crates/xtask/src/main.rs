//! Repository checks that cargo does not do itself.
//!
//! `cargo run -p xtask -- layering` fails when a crate depends on one the architecture forbids
//! (docs/ARCHITECTURE.md): the direction of workspace dependencies, and which external crates
//! each layer may name (only `crypto` names aws-lc-rs; `core` never sees HTTP, async runtimes,
//! JSON or SQL; front ends never touch storage; the audit log knows no operation, HTTP or store; alert
//! rules see audit events only).
#![forbid(unsafe_code)]

use std::process::{Command, ExitCode};

/// Workspace crates each crate may depend on (any dependency kind).
const ALLOWED: &[(&str, &[&str])] = &[
    ("strongroom-crypto", &[]),
    ("strongroom-core", &["strongroom-crypto"]),
    ("strongroom-policy", &[]),
    ("strongroom-sigv4", &["strongroom-crypto"]),
    ("strongroom-store", &["strongroom-core"]),
    // The audit log: events, chain, digests. Knows no operation, HTTP or store; it needs
    // `core` for the clock only and `crypto` for hashing, the root key and Ed25519.
    (
        "strongroom-audit",
        &["strongroom-core", "strongroom-crypto"],
    ),
    // Alert rules over audit events: reads events (audit), the clock (core), HMAC and
    // randomness (crypto). Knows no service, store or front end.
    (
        "strongroom-alerts",
        &["strongroom-core", "strongroom-crypto", "strongroom-audit"],
    ),
    (
        "strongroom-service",
        &[
            "strongroom-core",
            "strongroom-crypto",
            "strongroom-store",
            "strongroom-policy",
            "strongroom-audit",
        ],
    ),
    (
        "strongroom-api-aws",
        &[
            "strongroom-core",
            "strongroom-crypto",
            "strongroom-service",
            "strongroom-sigv4",
            "strongroom-audit",
        ],
    ),
    (
        "strongroom",
        &[
            "strongroom-crypto",
            "strongroom-core",
            "strongroom-store",
            "strongroom-service",
            "strongroom-api-aws",
            "strongroom-sigv4",
            "strongroom-audit",
            "strongroom-alerts",
        ],
    ),
    ("xtask", &[]),
];

/// External crates a crate must not name as a normal or build dependency.
const FORBIDDEN_EXTERNAL: &[(&str, &[&str])] = &[
    (
        "strongroom-core",
        &[
            "tokio",
            "http",
            "hyper",
            "axum",
            "serde_json",
            "rusqlite",
            "aws-lc-rs",
        ],
    ),
    (
        "strongroom-policy",
        &["tokio", "http", "hyper", "axum", "rusqlite", "aws-lc-rs"],
    ),
    (
        "strongroom-sigv4",
        &["tokio", "http", "hyper", "axum", "rusqlite", "aws-lc-rs"],
    ),
    (
        "strongroom-store",
        &["tokio", "http", "hyper", "axum", "aws-lc-rs"],
    ),
    (
        "strongroom-audit",
        &["http", "hyper", "axum", "rusqlite", "aws-lc-rs"],
    ),
    // A webhook client (hyper's client, rustls), not a server or a store.
    ("strongroom-alerts", &["axum", "rusqlite", "aws-lc-rs"]),
    (
        "strongroom-service",
        &[
            "http",
            "hyper",
            "axum",
            "serde_json",
            "rusqlite",
            "aws-lc-rs",
        ],
    ),
    (
        "strongroom-api-aws",
        &["rusqlite", "aws-lc-rs", "axum", "hyper"],
    ),
    ("strongroom", &["rusqlite", "aws-lc-rs"]),
];

/// One dependency edge as cargo metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edge {
    from: String,
    to: String,
    kind: Option<String>,
}

/// Every rule an edge breaks, as messages.
fn violations(edges: &[Edge], workspace: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for e in edges {
        if workspace.contains(&e.to) {
            let allowed = ALLOWED.iter().find(|(n, _)| *n == e.from).map(|(_, a)| *a);
            match allowed {
                None => out.push(format!("{} is not in the layering table", e.from)),
                Some(a) if !a.contains(&e.to.as_str()) => {
                    out.push(format!("{} must not depend on {}", e.from, e.to));
                }
                Some(_) => {}
            }
        } else if e.kind.as_deref() != Some("dev") {
            let forbidden = FORBIDDEN_EXTERNAL
                .iter()
                .find(|(n, _)| *n == e.from)
                .map(|(_, f)| *f);
            if forbidden.is_some_and(|f| f.contains(&e.to.as_str())) {
                out.push(format!(
                    "{} must not depend on the external crate {}",
                    e.from, e.to
                ));
            }
        }
    }
    out
}

fn metadata_edges() -> Result<(Vec<Edge>, Vec<String>), String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("bad cargo metadata: {e}"))?;
    let packages = v["packages"]
        .as_array()
        .ok_or("no packages in cargo metadata")?;
    let workspace: Vec<String> = packages
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    let mut edges = Vec::new();
    for p in packages {
        let from = p["name"].as_str().unwrap_or_default().to_owned();
        for d in p["dependencies"].as_array().into_iter().flatten() {
            edges.push(Edge {
                from: from.clone(),
                to: d["name"].as_str().unwrap_or_default().to_owned(),
                kind: d["kind"].as_str().map(str::to_owned),
            });
        }
    }
    Ok((edges, workspace))
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    if task.as_deref() != Some("layering") {
        eprintln!("usage: cargo run -p xtask -- layering");
        return ExitCode::FAILURE;
    }
    match metadata_edges() {
        Ok((edges, workspace)) => {
            let v = violations(&edges, &workspace);
            for m in &v {
                eprintln!("layering: {m}");
            }
            if v.is_empty() {
                println!(
                    "layering: {} dependency edges follow the rules",
                    edges.len()
                );
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("layering: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: &str, to: &str, kind: Option<&str>) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            kind: kind.map(Into::into),
        }
    }

    fn ws() -> Vec<String> {
        ALLOWED.iter().map(|(n, _)| (*n).to_owned()).collect()
    }

    #[test]
    fn allowed_edges_pass() {
        let e = [
            edge("strongroom-core", "strongroom-crypto", None),
            edge("strongroom-crypto", "aws-lc-rs", None),
            edge("strongroom-sigv4", "aws-sigv4", Some("dev")),
            edge("strongroom-store", "rusqlite", None),
            edge("strongroom-audit", "strongroom-crypto", None),
            edge("strongroom-audit", "tokio", None),
            edge("strongroom-service", "strongroom-audit", None),
            edge("strongroom-alerts", "strongroom-audit", None),
            edge("strongroom-alerts", "hyper", None),
            edge("strongroom", "strongroom-alerts", None),
        ];
        assert!(violations(&e, &ws()).is_empty());
    }

    #[test]
    fn upward_and_forbidden_edges_fail() {
        let e = [
            edge("strongroom-core", "strongroom-service", None),
            edge("strongroom-api-aws", "strongroom-store", None),
            edge("strongroom-core", "tokio", None),
            edge("strongroom-service", "aws-lc-rs", None),
            edge("strongroom-new", "strongroom-core", None),
            edge("strongroom-audit", "strongroom-service", None),
            edge("strongroom-audit", "strongroom-store", None),
            edge("strongroom-audit", "aws-lc-rs", None),
            edge("strongroom-audit", "http", None),
            edge("strongroom-core", "strongroom-audit", None),
            edge("strongroom-alerts", "strongroom-service", None),
            edge("strongroom-alerts", "strongroom-store", None),
            edge("strongroom-alerts", "aws-lc-rs", None),
            edge("strongroom-audit", "strongroom-alerts", None),
            edge("strongroom-service", "strongroom-alerts", None),
        ];
        let v = violations(&e, &ws());
        assert_eq!(v.len(), 15, "{v:?}");
    }
}

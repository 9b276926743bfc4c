//! The `strongroom` binary: `serve` runs the server, `admin` manages accounts on a data
//! directory, `policy simulate` explains access decisions, `bench` drives load against a
//! server.
#![forbid(unsafe_code)]

mod admin;
mod audit_cli;
mod bench;
mod dev;
mod http;
mod monitor;
mod policy_cli;
mod serve;

use clap::{Parser, Subcommand};

/// mimalloc: the request path allocates many small short-lived buffers, which glibc's malloc
/// served at about 14% of server CPU in the Encrypt benchmark (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

/// Strongroom: a self-hosted key management service that speaks the AWS KMS API.
#[derive(Debug, Parser)]
#[command(name = "strongroom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(serve::ServeArgs),
    /// Operator commands on a data directory (create accounts).
    Admin(admin::AdminArgs),
    /// Verify, query and export an audit trail.
    Audit(audit_cli::AuditArgs),
    /// Ask a running server how it decides a request (the policy simulator).
    Policy(policy_cli::PolicyArgs),
    /// Drive signed load against a running server (or a bare HTTP baseline) and report
    /// requests/s and latency percentiles.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args).map(|()| ExitCode::SUCCESS),
        Command::Admin(args) => admin::run(args).map(|()| ExitCode::SUCCESS),
        Command::Policy(args) => policy_cli::run(args),
        Command::Audit(args) => audit_cli::run(args).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strongroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

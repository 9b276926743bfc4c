//! `strongroom bench` (being written).
use clap::Args;

/// Options of `strongroom bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {}

pub(crate) fn run(_args: BenchArgs) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("not yet".into())
}

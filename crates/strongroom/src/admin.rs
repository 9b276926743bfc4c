//! `strongroom admin`: operator commands that work on a data directory directly, alongside a
//! running server or without one.
//!
//! Only what the AWS-compatible APIs cannot express lives here: creating an account (AWS does
//! that outside IAM). Users, roles, access keys and policies are managed with `aws iam` and
//! `aws sts` against the server, as docs/access-control.md shows.
//!
//! Safe next to a running server: a new account and its root access key are records no server
//! has cached (a credential cache miss reads the store), and SQLite serialises the write.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use strongroom_core::ids::AccountId;
use strongroom_core::time::SystemClock;
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_service::{Config, Service};
use strongroom_store::sqlite::SqliteStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `strongroom admin …`.
#[derive(Debug, Args)]
pub(crate) struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an account and print its root credentials as JSON (shown once; the secret is
    /// stored only wrapped under the root key).
    CreateAccount {
        /// The data directory of the server (dev mode).
        #[arg(long, default_value = "./strongroom-data")]
        data_dir: PathBuf,
        /// The 12-digit account id (random when omitted).
        #[arg(long)]
        account_id: Option<String>,
    },
}

pub(crate) fn run(args: AdminArgs) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.command {
        AdminCommand::CreateAccount {
            data_dir,
            account_id,
        } => runtime.block_on(create_account(data_dir, account_id)),
    }
}

async fn create_account(dir: PathBuf, account_id: Option<String>) -> Result<(), BoxError> {
    let account = account_id
        .map(|a| AccountId::parse(&a).ok_or("--account-id must be a 12-digit account id"))
        .transpose()?;
    let store_path = dir.join("strongroom.db");
    if !store_path.exists() {
        return Err(format!(
            "{} holds no Strongroom store; start `strongroom serve --dev --data-dir {}` once first",
            dir.display(),
            dir.display()
        )
        .into());
    }
    let root = DevFileSeal::new(dir.join("root.key")).unseal(&SystemRandom)?;
    let store = SqliteStore::open(&store_path)?;
    let service = Service::new(
        Arc::new(store),
        root,
        Arc::new(SystemRandom),
        Arc::new(SystemClock),
        Config::default(),
    );
    let (account, creds) = service.create_account(account).await?;
    let secret = std::str::from_utf8(creds.secret_access_key.expose())?;
    let out = serde_json::json!({
        "AccountId": account.as_str(),
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": secret,
    });
    println!("{out}");
    Ok(())
}

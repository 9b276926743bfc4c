//! `strongroom policy simulate`: asks a running server whether a principal may perform an
//! action on a key, and what decides (the key policy statement, identity policy statement,
//! grant, or the default deny). The server evaluates with the same code as real requests; see
//! docs/access-control.md.
//!
//! Exit status: 0 when the request would be allowed, 2 when denied, 1 on any error.

use crate::bench::child::authority_of;
use crate::bench::client::{Connection, Credentials, RequestTemplate};
use clap::{Args, Subcommand};
use std::process::ExitCode;
use strongroom_crypto::secret::SecretBytes;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `strongroom policy …`.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Would PRINCIPAL be allowed ACTION on KEY? Prints the decision and what decided it.
    Simulate(SimulateArgs),
}

#[derive(Debug, Args)]
struct SimulateArgs {
    /// The principal: arn:aws:iam::ACCOUNT:root, …:user/NAME, …:role/NAME, or
    /// arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION (in the signing account).
    #[arg(long)]
    principal: String,
    /// The action, e.g. kms:Encrypt.
    #[arg(long)]
    action: String,
    /// The key (id, ARN, alias name or alias ARN); omit for actions on no key.
    #[arg(long)]
    key_id: Option<String>,
    /// An encryption context pair, KEY=VALUE (repeatable).
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// The request's source address (aws:SourceIp).
    #[arg(long)]
    source_ip: Option<String>,
    /// The server.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:4599"
    )]
    endpoint: String,
    /// The region to sign for.
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// The access key id to sign with (whose account the simulation runs in).
    #[arg(long, env = "AWS_ACCESS_KEY_ID")]
    access_key_id: String,
    /// The secret access key.
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_access_key: String,
    /// Print the server's JSON answer instead of a sentence.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: PolicyArgs) -> Result<ExitCode, BoxError> {
    let PolicyCommand::Simulate(args) = args.command;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(simulate(args))
}

async fn simulate(args: SimulateArgs) -> Result<ExitCode, BoxError> {
    let mut context = serde_json::Map::new();
    for pair in &args.context {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("--context {pair:?}: expected KEY=VALUE"))?;
        context.insert(k.to_owned(), v.into());
    }
    let mut body = serde_json::json!({
        "PrincipalArn": args.principal,
        "Action": args.action,
        "EncryptionContext": context,
    });
    if let Some(k) = &args.key_id {
        body["KeyId"] = k.as_str().into();
    }
    if let Some(ip) = &args.source_ip {
        body["SourceIp"] = ip.as_str().into();
    }
    let authority = authority_of(&args.endpoint)?;
    let creds = Credentials {
        access_key_id: args.access_key_id.clone(),
        secret_access_key: SecretBytes::new(args.secret_access_key.into_bytes()),
        region: args.region.clone(),
    };
    let template = RequestTemplate::with_target(
        &authority,
        strongroom_api_aws::SIMULATE_TARGET.to_owned(),
        serde_json::to_vec(&body)?,
    );
    let mut request = Vec::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    template.render(&creds, i64::try_from(now)?, &mut request)?;
    let mut conn = Connection::connect(&authority)
        .await
        .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let resp = conn.round_trip(&request).await?;
    let answer: serde_json::Value = serde_json::from_slice(resp.body)
        .map_err(|e| format!("the server's answer is not JSON ({e})"))?;
    if resp.status != 200 {
        let code = answer["__type"].as_str().unwrap_or("error");
        let message = answer["message"].as_str().unwrap_or_default();
        return Err(format!("{code}: {message}").into());
    }
    let allowed = answer["Decision"] == "allowed";
    if args.json {
        println!("{answer}");
    } else {
        println!(
            "{}",
            describe(&answer, &args.action, args.key_id.as_deref())
        );
    }
    Ok(if allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// One line per decider, after the verdict.
fn describe(answer: &serde_json::Value, action: &str, key: Option<&str>) -> String {
    let verdict = if answer["Decision"] == "allowed" {
        "ALLOWED"
    } else {
        "DENIED"
    };
    let mut out = format!("{verdict}: {action} on {}", key.unwrap_or("*"));
    for d in answer["DecidedBy"].as_array().into_iter().flatten() {
        let sid = d["Sid"]
            .as_str()
            .map(|s| format!(" (Sid {s:?})"))
            .unwrap_or_default();
        let line = match d["Type"].as_str().unwrap_or_default() {
            "KeyPolicyAllow" => format!("allowed by the key policy{sid}"),
            "KeyPolicyDeny" => format!("denied by the key policy{sid}"),
            "IdentityPolicyAllow" => format!(
                "allowed by identity policy {:?}{sid}",
                d["PolicyName"].as_str().unwrap_or_default()
            ),
            "IdentityPolicyDeny" => format!(
                "denied by identity policy {:?}{sid}",
                d["PolicyName"].as_str().unwrap_or_default()
            ),
            "AccountRoot" => "the account root user needs no identity policy".to_owned(),
            "Grant" => format!(
                "allowed by grant {}",
                d["GrantId"].as_str().unwrap_or_default()
            ),
            _ => format!(
                "default deny: {}",
                d["Reason"].as_str().unwrap_or("nothing allows it")
            ),
        };
        out.push_str("\n  - ");
        out.push_str(&line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_every_decider() {
        let answer = serde_json::json!({
            "Decision": "allowed",
            "DecidedBy": [
                {"Type": "KeyPolicyAllow", "Sid": "Enable IAM User Permissions"},
                {"Type": "IdentityPolicyAllow", "PolicyName": "use-keys", "Sid": "Use"}
            ]
        });
        let text = describe(&answer, "kms:Encrypt", Some("alias/a"));
        assert_eq!(
            text,
            "ALLOWED: kms:Encrypt on alias/a\n  - allowed by the key policy (Sid \"Enable IAM User Permissions\")\n  - allowed by identity policy \"use-keys\" (Sid \"Use\")"
        );
        let denied = serde_json::json!({
            "Decision": "denied",
            "DecidedBy": [{"Type": "DefaultDeny", "Reason": "because no resource-based policy allows the kms:Decrypt action"}]
        });
        assert!(
            describe(&denied, "kms:Decrypt", None).starts_with(
                "DENIED: kms:Decrypt on *\n  - default deny: because no resource-based"
            )
        );
    }
}

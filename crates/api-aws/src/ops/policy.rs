//! GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.

use super::keys::policy_text;
use super::{Call, PageInfo, empty, json, key_ref, limit, marker};
use crate::error::ApiError;
use crate::input::{chars_match, opt_str, parse_body};
use serde::{Deserialize, Serialize};

/// PolicyName: 1–128 word characters.
fn policy_name(v: &Option<String>) -> Result<Option<&str>, ApiError> {
    let n = opt_str(v, "policyName", 1, 128)?;
    if let Some(n) = n {
        chars_match("policyName", n, "[\\w]+", |c| {
            c.is_alphanumeric() || c == '_'
        })?;
    }
    Ok(n)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetIn {
    key_id: Option<String>,
    policy_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetOut {
    policy: String,
    policy_name: &'static str,
}

pub(crate) async fn get_key_policy(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: GetIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let name = policy_name(&i.policy_name)?;
    let policy = c.svc.get_key_policy(c.ctx, &r, name).await?;
    json(&GetOut {
        policy,
        policy_name: strongroom_service::ops::policy::DEFAULT_POLICY_NAME,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutIn {
    key_id: Option<String>,
    policy_name: Option<String>,
    policy: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
}

pub(crate) async fn put_key_policy(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: PutIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let name = policy_name(&i.policy_name)?;
    let policy = policy_text(&i.policy, true)?.unwrap_or_default().to_owned();
    let bypass = i.bypass_policy_lockout_safety_check.unwrap_or(false);
    c.svc
        .put_key_policy(c.ctx, &r, name, policy, bypass)
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListIn {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOut {
    policy_names: Vec<&'static str>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(crate) async fn list_key_policies(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    limit(i.limit)?;
    marker(&i.marker)?;
    let names = c.svc.list_key_policies(c.ctx, &r).await?;
    json(&ListOut {
        policy_names: names,
        page: PageInfo::new(None),
    })
}

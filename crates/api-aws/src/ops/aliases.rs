//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use super::{Call, PageInfo, empty, json, key_ref, limit, marker, opt_key_ref};
use crate::error::ApiError;
use crate::input::{chars_match, parse_body, req_str};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasIn {
    alias_name: Option<String>,
    target_key_id: Option<String>,
}

/// AliasName: 1–256 characters of `^[a-zA-Z0-9:/_-]+$` (the model's wire constraint; the
/// service applies AWS's stricter naming rules after it).
fn alias_name(v: &Option<String>) -> Result<&str, ApiError> {
    let n = req_str(v, "aliasName", 1, 256)?;
    chars_match("aliasName", n, "^[a-zA-Z0-9:/_-]+$", |c| {
        c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-')
    })?;
    Ok(n)
}

pub(crate) async fn create_alias(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: AliasIn = parse_body(c.body)?;
    let name = alias_name(&i.alias_name)?;
    let target = key_ref(&i.target_key_id, "targetKeyId")?;
    c.svc.create_alias(c.ctx, name, &target).await?;
    Ok(empty())
}

pub(crate) async fn update_alias(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: AliasIn = parse_body(c.body)?;
    let name = alias_name(&i.alias_name)?;
    let target = key_ref(&i.target_key_id, "targetKeyId")?;
    c.svc.update_alias(c.ctx, name, &target).await?;
    Ok(empty())
}

pub(crate) async fn delete_alias(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: AliasIn = parse_body(c.body)?;
    c.svc
        .delete_alias(c.ctx, alias_name(&i.alias_name)?)
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesIn {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AliasEntry {
    alias_name: String,
    alias_arn: String,
    target_key_id: String,
    creation_date: f64,
    last_updated_date: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesOut {
    aliases: Vec<AliasEntry>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(crate) async fn list_aliases(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListAliasesIn = parse_body(c.body)?;
    let key = opt_key_ref(&i.key_id, "keyId")?;
    let limit = limit(i.limit)?;
    let marker = marker(&i.marker)?;
    let page = c
        .svc
        .list_aliases(c.ctx, key.as_ref(), limit, marker)
        .await?;
    let aliases = page
        .items
        .into_iter()
        .map(|a| AliasEntry {
            alias_arn: c.ctx.scope.alias_arn(&a.name),
            alias_name: a.name.as_str().to_owned(),
            target_key_id: a.target.to_string(),
            creation_date: a.created_at.unix_seconds_f64(),
            last_updated_date: a.updated_at.unix_seconds_f64(),
        })
        .collect();
    json(&ListAliasesOut {
        aliases,
        page: PageInfo::new(page.next_marker),
    })
}

//! CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.

use super::{Call, PageInfo, empty, grant_tokens, json, key_ref, marker};
use crate::error::ApiError;
use crate::input::{chars_match, enum_value, int_range, list_len, opt_str, parse_body, req_str};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::grant::{Grant, GrantConstraints, GrantOperation};
use strongroom_core::ids::Scope;
use strongroom_service::RequestContext;
use strongroom_service::ops::grants::{CreateGrantInput, RetireTarget};

/// ListGrants' and ListRetirableGrants' default page size (AWS: 50).
const DEFAULT_GRANT_LIMIT: usize = 50;

/// A principal member: 1–256 characters of `^[\w+=,.@:/-]+$`.
fn principal<'a>(
    v: &'a Option<String>,
    member: &str,
    required: bool,
) -> Result<Option<&'a str>, ApiError> {
    let s = if required {
        Some(req_str(v, member, 1, 256)?)
    } else {
        opt_str(v, member, 1, 256)?
    };
    if let Some(s) = s {
        chars_match(member, s, "^[\\w+=,.@:/-]+$", |c| {
            c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c)
        })?;
    }
    Ok(s)
}

/// A grant id member (1–128 characters).
fn grant_id<'a>(v: &'a Option<String>, member: &str) -> Result<Option<&'a str>, ApiError> {
    opt_str(v, member, 1, 128)
}

/// Limit of the grant lists: the model allows 1–1000; the default is 50.
fn grant_limit(v: Option<i64>) -> Result<usize, ApiError> {
    match v {
        Some(n) => {
            int_range("limit", n, 1, 1000)?;
            Ok(usize::try_from(n).unwrap_or(100))
        }
        None => Ok(DEFAULT_GRANT_LIMIT),
    }
}

#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ConstraintsWire {
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_context_equals: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing)]
    source_arn: Option<String>,
}

/// A service principal member (1–128 characters, `name.domain…`).
fn service_principal<'a>(v: &'a Option<String>, member: &str) -> Result<Option<&'a str>, ApiError> {
    let s = opt_str(v, member, 1, 128)?;
    if let Some(s) = s {
        let parts: Vec<&str> = s.split('.').collect();
        let ok = parts.len() >= 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            chars_match(
                member,
                s,
                "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$",
                |_| false,
            )?;
        }
    }
    Ok(s)
}

/// The model's SourceArn pattern: `^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$`.
fn is_source_arn(s: &str) -> bool {
    let lower = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let mut parts = s.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    partition.strip_prefix("aws").is_some_and(lower)
        && !service.is_empty()
        && lower(service)
        && lower(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && !rest.contains('\n')
}

/// Grants to and by service principals exist for AWS services integrated with KMS; this
/// server has none, so such grants are refused rather than stored unusable.
fn no_service_principals() -> ApiError {
    KmsError::UnsupportedOperation(
        "Grants for service principals (GranteeServicePrincipal, RetiringServicePrincipal, \
         SourceArn) are not supported: this server has no integrated services."
            .to_owned(),
    )
    .into()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateIn {
    key_id: Option<String>,
    grantee_principal: Option<String>,
    retiring_principal: Option<String>,
    operations: Option<Vec<String>>,
    constraints: Option<ConstraintsWire>,
    grant_tokens: Option<Vec<String>>,
    name: Option<String>,
    dry_run: Option<bool>,
    grantee_service_principal: Option<String>,
    retiring_service_principal: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateOut {
    grant_token: String,
    grant_id: String,
}

pub(crate) async fn create_grant(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: CreateIn = parse_body(c.body)?;
    let key = key_ref(&i.key_id, "keyId")?;
    let grantee = principal(&i.grantee_principal, "granteePrincipal", false)?;
    let retiring = principal(&i.retiring_principal, "retiringPrincipal", false)?;
    let grantee_service =
        service_principal(&i.grantee_service_principal, "granteeServicePrincipal")?;
    let retiring_service =
        service_principal(&i.retiring_service_principal, "retiringServicePrincipal")?;
    if let Some(arn) = i.constraints.as_ref().and_then(|c| c.source_arn.as_deref()) {
        crate::input::str_len("constraints.sourceArn", arn, 20, 512)?;
        if !is_source_arn(arn) {
            chars_match(
                "constraints.sourceArn",
                arn,
                "^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$",
                |_| false,
            )?;
        }
    }
    let ops = crate::input::required(&i.operations, "operations")?;
    list_len("operations", ops.len(), 1, usize::MAX)?;
    let names: Vec<&str> = GrantOperation::ALL.iter().map(|o| o.as_str()).collect();
    let mut operations = Vec::with_capacity(ops.len());
    for (n, o) in ops.iter().enumerate() {
        let member = format!("operations.{}.member", n + 1);
        let op = enum_value(&member, &Some(o.clone()), GrantOperation::parse, &names)?;
        if let Some(op) = op
            && !operations.contains(&op)
        {
            operations.push(op);
        }
    }
    grant_tokens(c.svc, &i.grant_tokens)?;
    if let Some(n) = opt_str(&i.name, "name", 1, 256)? {
        chars_match("name", n, "^[a-zA-Z0-9:/_-]+$", |c| {
            c.is_ascii_alphanumeric() || ":/_-".contains(c)
        })?;
    }
    let grantee = match (grantee, grantee_service) {
        (Some(g), None) => g,
        (None, None) | (Some(_), Some(_)) => {
            return Err(KmsError::Validation(
                "You must specify either GranteePrincipal or GranteeServicePrincipal, but not both."
                    .to_owned(),
            )
            .into());
        }
        (None, Some(_)) => return Err(no_service_principals()),
    };
    if retiring_service.is_some()
        || i.constraints
            .as_ref()
            .is_some_and(|c| c.source_arn.is_some())
    {
        return Err(no_service_principals());
    }
    let constraints = i.constraints.map(|w| GrantConstraints {
        equals: w.encryption_context_equals,
        subset: w.encryption_context_subset,
    });
    let input = CreateGrantInput {
        key,
        grantee_principal: grantee.to_owned(),
        retiring_principal: retiring.map(str::to_owned),
        operations,
        constraints,
        name: i.name,
        dry_run: i.dry_run.unwrap_or(false),
    };
    let created = c.svc.create_grant(c.ctx, input).await?;
    json(&CreateOut {
        grant_token: created.token,
        grant_id: created.id,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GrantEntry {
    key_id: String,
    grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    creation_date: f64,
    grantee_principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    retiring_principal: Option<String>,
    issuing_account: String,
    operations: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<ConstraintsWire>,
}

impl GrantEntry {
    fn of(ctx: &RequestContext, g: Grant) -> Self {
        // Keys are used within one region, so a grant's key is in the caller's region.
        let scope = Scope {
            partition: ctx.scope.partition.clone(),
            account: g.account.clone(),
            region: ctx.scope.region.clone(),
        };
        Self {
            key_id: scope.key_arn(&g.key_id),
            grant_id: g.id,
            name: g.name,
            creation_date: g.created_at.unix_seconds_f64(),
            grantee_principal: g.grantee_principal,
            retiring_principal: g.retiring_principal,
            issuing_account: g.issuing_account,
            operations: g.operations.iter().map(|o| o.as_str()).collect(),
            constraints: g.constraints.map(|c| ConstraintsWire {
                encryption_context_subset: c.subset,
                encryption_context_equals: c.equals,
                source_arn: None,
            }),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListOut {
    grants: Vec<GrantEntry>,
    #[serde(flatten)]
    page: PageInfo,
}

fn list_out(
    ctx: &RequestContext,
    page: strongroom_service::ops::Page<Grant>,
) -> Result<Vec<u8>, ApiError> {
    json(&ListOut {
        grants: page
            .items
            .into_iter()
            .map(|g| GrantEntry::of(ctx, g))
            .collect(),
        page: PageInfo::new(page.next_marker),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListIn {
    limit: Option<i64>,
    marker: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
}

pub(crate) async fn list_grants(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListIn = parse_body(c.body)?;
    let limit = grant_limit(i.limit)?;
    let marker = marker(&i.marker)?;
    let key = key_ref(&i.key_id, "keyId")?;
    let id = grant_id(&i.grant_id, "grantId")?;
    let grantee = principal(&i.grantee_principal, "granteePrincipal", false)?;
    if service_principal(&i.grantee_service_principal, "granteeServicePrincipal")?.is_some() {
        // No grant here has a service principal, so none matches.
        return list_out(
            c.ctx,
            strongroom_service::ops::Page {
                items: Vec::new(),
                next_marker: None,
            },
        );
    }
    let page = c
        .svc
        .list_grants(c.ctx, &key, id, grantee, limit, marker)
        .await?;
    list_out(c.ctx, page)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetirableIn {
    limit: Option<i64>,
    marker: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
}

pub(crate) async fn list_retirable_grants(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: RetirableIn = parse_body(c.body)?;
    let limit = grant_limit(i.limit)?;
    let marker = marker(&i.marker)?;
    let who = principal(&i.retiring_principal, "retiringPrincipal", false)?;
    let service = service_principal(&i.retiring_service_principal, "retiringServicePrincipal")?;
    let who = match (who, service) {
        (Some(w), None) => w,
        (None, Some(_)) => {
            return list_out(
                c.ctx,
                strongroom_service::ops::Page {
                    items: Vec::new(),
                    next_marker: None,
                },
            );
        }
        _ => {
            return Err(KmsError::Validation(
                "You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both."
                    .to_owned(),
            )
            .into());
        }
    };
    let page = c
        .svc
        .list_retirable_grants(c.ctx, who, limit, marker)
        .await?;
    list_out(c.ctx, page)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetireIn {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub(crate) async fn retire_grant(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: RetireIn = parse_body(c.body)?;
    let token = opt_str(&i.grant_token, "grantToken", 1, 8192)?;
    let id = grant_id(&i.grant_id, "grantId")?;
    let key = match &i.key_id {
        Some(_) => Some(key_ref(&i.key_id, "keyId")?),
        None => None,
    };
    let target = match (token, key, id) {
        (Some(t), _, _) => RetireTarget::Token(t.to_owned()),
        (None, Some(key), Some(id)) => RetireTarget::Id {
            key,
            grant_id: id.to_owned(),
        },
        _ => {
            return Err(KmsError::Validation(
                "Either GrantToken, or both KeyId and GrantId, must be specified.".to_owned(),
            )
            .into());
        }
    };
    c.svc
        .retire_grant(c.ctx, target, i.dry_run.unwrap_or(false))
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevokeIn {
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub(crate) async fn revoke_grant(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: RevokeIn = parse_body(c.body)?;
    let key = key_ref(&i.key_id, "keyId")?;
    let id = req_str(&i.grant_id, "grantId", 1, 128)?;
    c.svc
        .revoke_grant(c.ctx, &key, id, i.dry_run.unwrap_or(false))
        .await?;
    Ok(empty())
}

//! CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, EnableKey, DisableKey.

use super::{Call, PageInfo, empty, grant_tokens, json, key_ref, limit, marker};
use crate::error::ApiError;
use crate::input::{chars_match, enum_value, opt_str, parse_body, req_str};
use crate::ops::tags::{TagDto, tag_list};
use serde::{Deserialize, Serialize};
use strongroom_core::key::{Key, KeySpec, KeyUsage, Origin, key_material_id};
use strongroom_core::state::KeyState;
use strongroom_service::ops::keys::CreateKeyInput;

/// The model's KeySpec enum (CustomerMasterKeySpec is the same list without the newest specs).
fn key_spec_names() -> Vec<&'static str> {
    KeySpec::ALL.iter().map(|s| s.as_str()).collect()
}

const CMK_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
    "SYMMETRIC_DEFAULT",
    "HMAC_224",
    "HMAC_256",
    "HMAC_384",
    "HMAC_512",
    "SM2",
];

/// Checks a Policy member: 1–131072 characters of `[\u0009\u000A\u000D\u0020-\u00FF]`.
pub(crate) fn policy_text(v: &Option<String>, required: bool) -> Result<Option<&str>, ApiError> {
    let p = if required {
        Some(req_str(v, "policy", 1, 131_072)?)
    } else {
        opt_str(v, "policy", 1, 131_072)?
    };
    if let Some(p) = p {
        chars_match(
            "policy",
            p,
            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            |c| matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{FF}'),
        )?;
    }
    Ok(p)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyIn {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    bypass_policy_lockout_safety_check: Option<bool>,
    tags: Option<Vec<TagDto>>,
    multi_region: Option<bool>,
    xks_key_id: Option<String>,
}

/// The KeyMetadata output shape.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyMetadata<'a> {
    #[serde(rename = "AWSAccountId")]
    aws_account_id: &'a str,
    key_id: String,
    arn: &'a str,
    creation_date: f64,
    enabled: bool,
    description: &'a str,
    key_usage: &'static str,
    key_state: &'static str,
    origin: &'static str,
    key_manager: &'static str,
    customer_master_key_spec: &'static str,
    key_spec: &'static str,
    encryption_algorithms: Vec<&'static str>,
    multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_key_material_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_deletion_window_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<f64>,
}

impl<'a> KeyMetadata<'a> {
    pub(crate) fn of(k: &'a Key) -> Self {
        let current_import = k.imported_material(k.current_version);
        Self {
            aws_account_id: k.account.as_str(),
            key_id: k.id.to_string(),
            arn: &k.arn,
            creation_date: k.created_at.unix_seconds_f64(),
            enabled: k.enabled(),
            description: &k.description,
            key_usage: k.usage.as_str(),
            key_state: k.state.as_str(),
            origin: k.origin.as_str(),
            key_manager: k.manager.as_str(),
            customer_master_key_spec: k.spec.as_str(),
            key_spec: k.spec.as_str(),
            encryption_algorithms: k
                .encryption_algorithms()
                .iter()
                .map(|a| a.as_str())
                .collect(),
            multi_region: false,
            // A key waiting for imported material has none to name.
            current_key_material_id: (k.state != KeyState::PendingImport)
                .then(|| key_material_id(&k.id, k.current_version)),
            deletion_date: k.deletion.map(|d| d.deletion_date.unix_seconds_f64()),
            pending_deletion_window_in_days: k.deletion.map(|d| d.pending_window_days),
            expiration_model: current_import
                .map(|m| super::lifecycle::expiration_model(m.valid_to)),
            valid_to: current_import
                .and_then(|m| m.valid_to)
                .map(|t| t.unix_seconds_f64()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadataOut<'a> {
    key_metadata: KeyMetadata<'a>,
}

pub(crate) async fn create_key(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: CreateKeyIn = parse_body(c.body)?;
    let policy = policy_text(&i.policy, false)?.map(str::to_owned);
    let description = opt_str(&i.description, "description", 0, 8192)?
        .unwrap_or("")
        .to_owned();
    let usage_names: Vec<_> = KeyUsage::ALL.iter().map(|u| u.as_str()).collect();
    let usage = enum_value("keyUsage", &i.key_usage, KeyUsage::parse, &usage_names)?;
    let cmk_spec = enum_value(
        "customerMasterKeySpec",
        &i.customer_master_key_spec,
        |s| CMK_SPECS.contains(&s).then(|| KeySpec::parse(s)).flatten(),
        CMK_SPECS,
    )?;
    let spec = enum_value("keySpec", &i.key_spec, KeySpec::parse, &key_spec_names())?;
    let origin_names: Vec<_> = Origin::ALL.iter().map(|o| o.as_str()).collect();
    let origin = enum_value("origin", &i.origin, Origin::parse, &origin_names)?;
    opt_str(&i.custom_key_store_id, "customKeyStoreId", 1, 64)?;
    if let Some(x) = opt_str(&i.xks_key_id, "xksKeyId", 1, 128)? {
        chars_match("xksKeyId", x, "^[a-zA-Z0-9-_.]+$", |c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        })?;
    }
    if cmk_spec.is_some() && spec.is_some() {
        return Err(strongroom_core::KmsError::Validation(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. \
             CustomerMasterKeySpec is deprecated."
                .to_owned(),
        )
        .into());
    }
    let input = CreateKeyInput {
        description,
        spec: spec.or(cmk_spec),
        usage,
        origin,
        policy,
        tags: tag_list(&i.tags)?,
        multi_region: i.multi_region.unwrap_or(false),
        custom_key_store: i.custom_key_store_id.is_some() || i.xks_key_id.is_some(),
        bypass_policy_lockout_safety_check: i.bypass_policy_lockout_safety_check.unwrap_or(false),
    };
    let key = c.svc.create_key(c.ctx, input).await?;
    json(&KeyMetadataOut {
        key_metadata: KeyMetadata::of(&key),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyIdIn {
    key_id: Option<String>,
    grant_tokens: Option<Vec<String>>,
}

pub(crate) async fn describe_key(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    grant_tokens(c.svc, &i.grant_tokens)?;
    let key = c.svc.describe_key(c.ctx, &r).await?;
    json(&KeyMetadataOut {
        key_metadata: KeyMetadata::of(&key),
    })
}

pub(crate) async fn enable_key(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    c.svc
        .enable_key(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    Ok(empty())
}

pub(crate) async fn disable_key(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    c.svc
        .disable_key(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateDescriptionIn {
    key_id: Option<String>,
    description: Option<String>,
}

pub(crate) async fn update_key_description(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: UpdateDescriptionIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let d = req_str(&i.description, "description", 0, 8192)?.to_owned();
    c.svc.update_key_description(c.ctx, &r, d).await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListIn {
    limit: Option<i64>,
    marker: Option<String>,
    resource_owners: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyEntry {
    key_id: String,
    key_arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeysOut {
    keys: Vec<KeyEntry>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(crate) async fn list_keys(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListIn = parse_body(c.body)?;
    let limit = limit(i.limit)?;
    let marker = marker(&i.marker)?;
    if let Some(owners) = &i.resource_owners {
        crate::input::list_len("resourceOwners", owners.len(), 1, 2)?;
        for (n, o) in owners.iter().enumerate() {
            let names = ["SELF", "OTHER_ACCOUNTS_VIA_RAM"];
            let member = format!("resourceOwners.{}.member", n + 1);
            enum_value(
                &member,
                &Some(o.clone()),
                |s| names.contains(&s).then_some(()),
                &names,
            )?;
        }
    }
    let page = c.svc.list_keys(c.ctx, limit, marker).await?;
    let keys = page
        .items
        .into_iter()
        .map(|e| KeyEntry {
            key_id: e.id.to_string(),
            key_arn: e.arn,
        })
        .collect();
    json(&ListKeysOut {
        keys,
        page: PageInfo::new(page.next_marker),
    })
}

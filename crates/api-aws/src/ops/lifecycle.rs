//! EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
//! ListKeyRotations, ScheduleKeyDeletion, CancelKeyDeletion.

use super::{Call, PageInfo, empty, json, key_ref, limit, marker};
use crate::error::ApiError;
use crate::input::{enum_value, int_range, parse_body};
use serde::{Deserialize, Serialize};
use strongroom_core::key::key_material_id;
use strongroom_service::ops::lifecycle::IncludeKeyMaterial;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyIdIn {
    key_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyIdOut {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnableRotationIn {
    key_id: Option<String>,
    rotation_period_in_days: Option<i64>,
}

/// A whole number of days within the model's range.
fn days(member: &str, v: Option<i64>, min: i64, max: i64) -> Result<Option<u32>, ApiError> {
    match v {
        Some(n) => {
            int_range(member, n, min, max)?;
            Ok(u32::try_from(n).ok())
        }
        None => Ok(None),
    }
}

pub(crate) async fn enable_key_rotation(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: EnableRotationIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let period = days("rotationPeriodInDays", i.rotation_period_in_days, 90, 2560)?;
    c.svc.enable_key_rotation(c.ctx, &r, period).await?;
    Ok(empty())
}

pub(crate) async fn disable_key_rotation(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    c.svc
        .disable_key_rotation(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    Ok(empty())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RotationStatusOut {
    key_rotation_enabled: bool,
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period_in_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_rotation_date: Option<f64>,
}

pub(crate) async fn get_key_rotation_status(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    let s = c
        .svc
        .get_key_rotation_status(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    json(&RotationStatusOut {
        key_rotation_enabled: s.enabled,
        key_id: s.key_arn,
        rotation_period_in_days: s.period_days,
        next_rotation_date: s.next_rotation.map(|t| t.unix_seconds_f64()),
    })
}

pub(crate) async fn rotate_key_on_demand(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    let arn = c
        .svc
        .rotate_key_on_demand(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    json(&KeyIdOut { key_id: arn })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRotationsIn {
    key_id: Option<String>,
    include_key_material: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RotationOut {
    key_id: String,
    key_material_id: String,
    key_material_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    import_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_type: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListRotationsOut {
    rotations: Vec<RotationOut>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(crate) async fn list_key_rotations(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListRotationsIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let include = enum_value(
        "includeKeyMaterial",
        &i.include_key_material,
        |s| match s {
            "ALL_KEY_MATERIAL" => Some(IncludeKeyMaterial::All),
            "ROTATIONS_ONLY" => Some(IncludeKeyMaterial::RotationsOnly),
            _ => None,
        },
        &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"],
    )?
    .unwrap_or(IncludeKeyMaterial::RotationsOnly);
    let limit = limit(i.limit)?;
    let marker = marker(&i.marker)?;
    let page = c
        .svc
        .list_key_rotations(c.ctx, &r, include, limit, marker)
        .await?;
    let rotations = page
        .items
        .into_iter()
        .map(|e| RotationOut {
            key_id: e.key_id.to_string(),
            key_material_id: key_material_id(&e.key_id, e.version),
            key_material_state: e.state.as_str(),
            import_state: e.import.map(|(present, _)| {
                if present {
                    "IMPORTED"
                } else {
                    "PENDING_IMPORT"
                }
            }),
            expiration_model: e.import.map(|(_, valid_to)| expiration_model(valid_to)),
            valid_to: e.import.and_then(|(_, v)| v).map(|t| t.unix_seconds_f64()),
            rotation_date: e.date.map(|t| t.unix_seconds_f64()),
            rotation_type: e.rotation_type.map(|t| t.as_str()),
        })
        .collect();
    json(&ListRotationsOut {
        rotations,
        page: PageInfo::new(page.next_marker),
    })
}

/// The ExpirationModel of imported material that expires at `valid_to` (or never).
pub(crate) fn expiration_model(valid_to: Option<strongroom_core::time::Timestamp>) -> &'static str {
    match valid_to {
        Some(_) => "KEY_MATERIAL_EXPIRES",
        None => "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleDeletionIn {
    key_id: Option<String>,
    pending_window_in_days: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleDeletionOut {
    key_id: String,
    deletion_date: f64,
    key_state: &'static str,
    pending_window_in_days: u32,
}

pub(crate) async fn schedule_key_deletion(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ScheduleDeletionIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let window = days("pendingWindowInDays", i.pending_window_in_days, 1, 365)?;
    let key = c.svc.schedule_key_deletion(c.ctx, &r, window).await?;
    let deletion = key
        .deletion
        .ok_or(ApiError::Kms(strongroom_core::KmsError::Internal))?;
    json(&ScheduleDeletionOut {
        key_id: key.arn,
        deletion_date: deletion.deletion_date.unix_seconds_f64(),
        key_state: key.state.as_str(),
        pending_window_in_days: deletion.pending_window_days,
    })
}

pub(crate) async fn cancel_key_deletion(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    let key = c
        .svc
        .cancel_key_deletion(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    json(&KeyIdOut { key_id: key.arn })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsageData {
    operation: &'static str,
    timestamp: f64,
    kms_request_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LastUsageOut {
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_last_usage: Option<LastUsageData>,
    tracking_start_date: f64,
    key_creation_date: f64,
}

pub(crate) async fn get_key_last_usage(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: KeyIdIn = parse_body(c.body)?;
    let u = c
        .svc
        .get_key_last_usage(c.ctx, &key_ref(&i.key_id, "keyId")?)
        .await?;
    json(&LastUsageOut {
        key_id: u.key_arn,
        key_last_usage: u.last.map(|l| LastUsageData {
            operation: l.operation.name(),
            timestamp: l.at.unix_seconds_f64(),
            kms_request_id: l.request_id,
        }),
        tracking_start_date: u.tracking_start.unix_seconds_f64(),
        key_creation_date: u.key_created.unix_seconds_f64(),
    })
}

//! GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial.

use super::{Call, json, key_ref};
use crate::error::ApiError;
use crate::input::{b64, blob, chars_match, enum_value, opt_str, parse_body, required};
use serde::{Deserialize, Serialize};
use strongroom_core::KmsError;
use strongroom_core::key::{WrappingAlgorithm, WrappingKeySpec, key_material_id};
use strongroom_core::time::Timestamp;
use strongroom_service::ops::import::ImportRequest;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParametersIn {
    key_id: Option<String>,
    wrapping_algorithm: Option<String>,
    wrapping_key_spec: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ParametersOut {
    key_id: String,
    import_token: String,
    public_key: String,
    parameters_valid_to: f64,
}

pub(crate) async fn get_parameters_for_import(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ParametersIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let alg_names: Vec<_> = WrappingAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
    required(&i.wrapping_algorithm, "wrappingAlgorithm")?;
    let alg = enum_value(
        "wrappingAlgorithm",
        &i.wrapping_algorithm,
        WrappingAlgorithm::parse,
        &alg_names,
    )?;
    let spec_names: Vec<_> = WrappingKeySpec::ALL.iter().map(|s| s.as_str()).collect();
    required(&i.wrapping_key_spec, "wrappingKeySpec")?;
    let spec = enum_value(
        "wrappingKeySpec",
        &i.wrapping_key_spec,
        WrappingKeySpec::parse,
        &spec_names,
    )?;
    let (Some(alg), Some(spec)) = (alg, spec) else {
        return Err(KmsError::Internal.into());
    };
    let p = c
        .svc
        .get_parameters_for_import(c.ctx, &r, alg, spec)
        .await?;
    json(&ParametersOut {
        key_id: p.key_arn,
        import_token: b64(&p.import_token),
        public_key: b64(&p.public_key),
        parameters_valid_to: p.valid_to.unix_seconds_f64(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImportIn {
    key_id: Option<String>,
    import_token: Option<String>,
    encrypted_key_material: Option<String>,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
    import_type: Option<String>,
    key_material_description: Option<String>,
    key_material_id: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImportOut {
    key_id: String,
    key_material_id: String,
}

/// A KeyMaterialId member: 64 lowercase hex digits.
fn material_id(v: &Option<String>) -> Result<Option<&str>, ApiError> {
    let id = opt_str(v, "keyMaterialId", 64, 64)?;
    if let Some(s) = id {
        chars_match(
            "keyMaterialId",
            s,
            "^[a-f0-9]+$",
            |c| matches!(c, 'a'..='f' | '0'..='9'),
        )?;
    }
    Ok(id)
}

/// ExpirationModel and ValidTo together: KEY_MATERIAL_EXPIRES needs ValidTo, the other model
/// forbids it; without a model, ValidTo decides.
fn expiry(model: &Option<String>, valid_to: Option<f64>) -> Result<Option<Timestamp>, ApiError> {
    let names = ["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"];
    let expires = enum_value(
        "expirationModel",
        model,
        |s| match s {
            "KEY_MATERIAL_EXPIRES" => Some(true),
            "KEY_MATERIAL_DOES_NOT_EXPIRE" => Some(false),
            _ => None,
        },
        &names,
    )?;
    let at = valid_to.map(|secs| Timestamp((secs * 1000.0) as i64));
    match (expires, at) {
        (Some(true), None) => Err(KmsError::Validation(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.".to_owned(),
        )
        .into()),
        (Some(false), Some(_)) => Err(KmsError::Validation(
            "ValidTo must be omitted when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
                .to_owned(),
        )
        .into()),
        (_, at) => Ok(at),
    }
}

pub(crate) async fn import_key_material(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ImportIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let token = blob(
        "importToken",
        required(&i.import_token, "importToken")?,
        1,
        6144,
    )?;
    let material = blob(
        "encryptedKeyMaterial",
        required(&i.encrypted_key_material, "encryptedKeyMaterial")?,
        1,
        6144,
    )?;
    let valid_to = expiry(&i.expiration_model, i.valid_to)?;
    let import_type = enum_value(
        "importType",
        &i.import_type,
        |s| match s {
            "EXISTING_KEY_MATERIAL" => Some(false),
            "NEW_KEY_MATERIAL" => Some(true),
            _ => None,
        },
        &["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"],
    )?;
    if let Some(d) = opt_str(
        &i.key_material_description,
        "keyMaterialDescription",
        0,
        256,
    )? {
        chars_match("keyMaterialDescription", d, "^[a-zA-Z0-9:/_\\s.-]+$", |c| {
            c.is_ascii_alphanumeric()
                || c.is_whitespace()
                || matches!(c, ':' | '/' | '_' | '.' | '-')
        })?;
    }
    let claimed_id = material_id(&i.key_material_id)?;
    if import_type == Some(true) && claimed_id.is_some() {
        return Err(KmsError::Validation(
            "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL.".to_owned(),
        )
        .into());
    }
    let request = ImportRequest {
        token: token.expose(),
        encrypted_material: material.expose(),
        valid_to,
        new_material: import_type == Some(true),
        material_id: claimed_id,
    };
    let (key, version) = c.svc.import_key_material(c.ctx, &r, request).await?;
    json(&ImportOut {
        key_id: key.arn,
        key_material_id: key_material_id(&key.id, version),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteIn {
    key_id: Option<String>,
    key_material_id: Option<String>,
}

pub(crate) async fn delete_imported_key_material(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: DeleteIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let id = material_id(&i.key_material_id)?;
    let (key, version) = c.svc.delete_imported_key_material(c.ctx, &r, id).await?;
    json(&ImportOut {
        key_id: key.arn,
        key_material_id: key_material_id(&key.id, version),
    })
}

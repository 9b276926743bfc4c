//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+WithoutPlaintext), GenerateRandom.

use super::{Call, context, grant_tokens, json, key_ref, opt_key_ref};
use crate::error::ApiError;
use crate::input::{b64, blob, enum_value, int_range, parse_body, required};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::key::{DataKeySpec, EncryptionAlgorithm, key_material_id};
use strongroom_service::ops::crypto::{DataKeyLength, OpenParams};

/// The largest ciphertext blob AWS accepts (CiphertextType max).
const MAX_CIPHERTEXT: usize = 6144;

fn algorithm(member: &str, v: &Option<String>) -> Result<Option<EncryptionAlgorithm>, ApiError> {
    let names: Vec<_> = EncryptionAlgorithm::ALL
        .iter()
        .map(|a| a.as_str())
        .collect();
    enum_value(member, v, EncryptionAlgorithm::parse, &names)
}

/// The Recipient member (Nitro Enclaves attestation).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecipientIn {
    key_encryption_algorithm: Option<String>,
    attestation_document: Option<String>,
}

/// Validates Recipient, then refuses it: attested enclaves are not supported.
fn unsupported_recipient(r: &Option<RecipientIn>) -> Result<(), ApiError> {
    let Some(r) = r else { return Ok(()) };
    enum_value(
        "recipient.keyEncryptionAlgorithm",
        &r.key_encryption_algorithm,
        |s| (s == "RSAES_OAEP_SHA_256").then_some(()),
        &["RSAES_OAEP_SHA_256"],
    )?;
    if let Some(doc) = &r.attestation_document {
        blob("recipient.attestationDocument", doc, 1, 262_144)?;
    }
    Err(KmsError::UnsupportedOperation(
        "Recipient (attested enclave) requests are not supported.".to_owned(),
    )
    .into())
}

/// DryRunModifiers: each must be IGNORE_CIPHERTEXT. Accepted; a dry run here always checks the
/// ciphertext too, which is stricter than the modifier asks for.
fn dry_run_modifiers(v: &Option<Vec<String>>) -> Result<(), ApiError> {
    for (n, m) in v.iter().flatten().enumerate() {
        enum_value(
            &format!("dryRunModifiers.{}.member", n + 1),
            &Some(m.clone()),
            |s| (s == "IGNORE_CIPHERTEXT").then_some(()),
            &["IGNORE_CIPHERTEXT"],
        )?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptIn {
    key_id: Option<String>,
    plaintext: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    grant_tokens: Option<Vec<String>>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptOut {
    ciphertext_blob: String,
    key_id: String,
    encryption_algorithm: &'static str,
}

pub(crate) async fn encrypt(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: EncryptIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let plaintext = blob("plaintext", required(&i.plaintext, "plaintext")?, 1, 4096)?;
    grant_tokens(c.svc, &i.grant_tokens)?;
    let alg = algorithm("encryptionAlgorithm", &i.encryption_algorithm)?;
    let ctx = context(i.encryption_context);
    let out = c
        .svc
        .encrypt(
            c.ctx,
            &r,
            plaintext.expose(),
            &ctx,
            alg,
            i.dry_run.unwrap_or(false),
        )
        .await?;
    json(&EncryptOut {
        ciphertext_blob: b64(&out.ciphertext),
        key_id: out.key_arn,
        encryption_algorithm: EncryptionAlgorithm::SymmetricDefault.as_str(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptIn {
    ciphertext_blob: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    grant_tokens: Option<Vec<String>>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    recipient: Option<RecipientIn>,
    dry_run: Option<bool>,
    dry_run_modifiers: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptOut {
    key_id: String,
    plaintext: String,
    encryption_algorithm: &'static str,
    key_material_id: String,
}

pub(crate) async fn decrypt(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: DecryptIn = parse_body(c.body)?;
    let ct = blob(
        "ciphertextBlob",
        required(&i.ciphertext_blob, "ciphertextBlob")?,
        1,
        MAX_CIPHERTEXT,
    )?;
    let r = opt_key_ref(&i.key_id, "keyId")?;
    grant_tokens(c.svc, &i.grant_tokens)?;
    let alg = algorithm("encryptionAlgorithm", &i.encryption_algorithm)?;
    unsupported_recipient(&i.recipient)?;
    dry_run_modifiers(&i.dry_run_modifiers)?;
    let ctx = context(i.encryption_context);
    let p = OpenParams {
        context: &ctx,
        key: r.as_ref(),
        algorithm: alg,
    };
    let out = c
        .svc
        .decrypt(c.ctx, ct.expose(), p, i.dry_run.unwrap_or(false))
        .await?;
    json(&DecryptOut {
        key_id: out.key_arn,
        plaintext: b64(out.plaintext.expose()),
        encryption_algorithm: EncryptionAlgorithm::SymmetricDefault.as_str(),
        key_material_id: key_material_id(&out.key_id, out.version),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReEncryptIn {
    ciphertext_blob: Option<String>,
    source_encryption_context: Option<BTreeMap<String, String>>,
    source_key_id: Option<String>,
    destination_key_id: Option<String>,
    destination_encryption_context: Option<BTreeMap<String, String>>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    grant_tokens: Option<Vec<String>>,
    dry_run: Option<bool>,
    dry_run_modifiers: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReEncryptOut {
    ciphertext_blob: String,
    source_key_id: String,
    key_id: String,
    source_encryption_algorithm: &'static str,
    destination_encryption_algorithm: &'static str,
    source_key_material_id: String,
    destination_key_material_id: String,
}

pub(crate) async fn re_encrypt(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ReEncryptIn = parse_body(c.body)?;
    let ct = blob(
        "ciphertextBlob",
        required(&i.ciphertext_blob, "ciphertextBlob")?,
        1,
        MAX_CIPHERTEXT,
    )?;
    let src = opt_key_ref(&i.source_key_id, "sourceKeyId")?;
    let dst = key_ref(&i.destination_key_id, "destinationKeyId")?;
    let src_alg = algorithm("sourceEncryptionAlgorithm", &i.source_encryption_algorithm)?;
    let dst_alg = algorithm(
        "destinationEncryptionAlgorithm",
        &i.destination_encryption_algorithm,
    )?;
    grant_tokens(c.svc, &i.grant_tokens)?;
    dry_run_modifiers(&i.dry_run_modifiers)?;
    let src_ctx = context(i.source_encryption_context);
    let dst_ctx = context(i.destination_encryption_context);
    let source = OpenParams {
        context: &src_ctx,
        key: src.as_ref(),
        algorithm: src_alg,
    };
    let dry = i.dry_run.unwrap_or(false);
    let out = c
        .svc
        .re_encrypt(c.ctx, ct.expose(), source, &dst, &dst_ctx, dst_alg, dry)
        .await?;
    json(&ReEncryptOut {
        ciphertext_blob: b64(&out.ciphertext),
        source_key_id: out.source_key_arn,
        key_id: out.destination_key_arn,
        source_encryption_algorithm: EncryptionAlgorithm::SymmetricDefault.as_str(),
        destination_encryption_algorithm: EncryptionAlgorithm::SymmetricDefault.as_str(),
        source_key_material_id: key_material_id(&out.source_material.0, out.source_material.1),
        destination_key_material_id: key_material_id(
            &out.destination_material.0,
            out.destination_material.1,
        ),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyIn {
    key_id: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    grant_tokens: Option<Vec<String>>,
    recipient: Option<RecipientIn>,
    dry_run: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyOut {
    ciphertext_blob: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plaintext: Option<String>,
    key_id: String,
    key_material_id: String,
}

fn data_key_length(i: &DataKeyIn) -> Result<DataKeyLength, ApiError> {
    let spec = enum_value(
        "keySpec",
        &i.key_spec,
        DataKeySpec::parse,
        &["AES_256", "AES_128"],
    )?;
    if let Some(n) = i.number_of_bytes {
        int_range("numberOfBytes", n, 1, 1024)?;
    }
    match (spec, i.number_of_bytes) {
        (Some(s), None) => Ok(DataKeyLength::Spec(s)),
        (None, Some(n)) => Ok(DataKeyLength::Bytes(usize::try_from(n).unwrap_or(0))),
        (Some(_), Some(_)) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec, not both.".to_owned(),
        )
        .into()),
        (None, None) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec.".to_owned(),
        )
        .into()),
    }
}

async fn data_key(c: Call<'_>, with_plaintext: bool) -> Result<Vec<u8>, ApiError> {
    let i: DataKeyIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let length = data_key_length(&i)?;
    grant_tokens(c.svc, &i.grant_tokens)?;
    unsupported_recipient(&i.recipient)?;
    let ctx = context(i.encryption_context);
    let dry = i.dry_run.unwrap_or(false);
    let out = c
        .svc
        .generate_data_key(c.ctx, &r, length, &ctx, with_plaintext, dry)
        .await?;
    json(&DataKeyOut {
        ciphertext_blob: b64(&out.ciphertext),
        plaintext: out.plaintext.as_ref().map(|p| b64(p.expose())),
        key_id: out.key_arn,
        key_material_id: key_material_id(&out.key_id, out.version),
    })
}

pub(crate) async fn generate_data_key(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    data_key(c, true).await
}

pub(crate) async fn generate_data_key_without_plaintext(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    data_key(c, false).await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RandomIn {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<RecipientIn>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RandomOut {
    plaintext: String,
}

pub(crate) async fn generate_random(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: RandomIn = parse_body(c.body)?;
    let n = *required(&i.number_of_bytes, "numberOfBytes")?;
    int_range("numberOfBytes", n, 1, 1024)?;
    if crate::input::opt_str(&i.custom_key_store_id, "customKeyStoreId", 1, 64)?.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Custom key stores are not supported yet.".to_owned(),
        )
        .into());
    }
    unsupported_recipient(&i.recipient)?;
    let bytes = c
        .svc
        .generate_random(c.ctx, usize::try_from(n).unwrap_or(0))
        .await?;
    json(&RandomOut {
        plaintext: b64(bytes.expose()),
    })
}

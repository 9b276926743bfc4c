//! Imported key material (BYOK): GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial. The rules and the import-token layout live in `core::import`;
//! the RSA and key-wrap cryptography in `crypto::import`.

use crate::authz::Access;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::KeyRef;
use strongroom_core::import::{IMPORT_PARAMETERS_VALIDITY_MS, TokenHeader};
use strongroom_core::key::{Key, WrappingAlgorithm, WrappingKeySpec, material_aad};
use strongroom_core::operation::Operation;
use strongroom_core::time::Timestamp;
use strongroom_crypto::import as cimport;
use strongroom_crypto::secret::SecretBytes;
use strongroom_store::Write;

/// The fingerprint label of imported key material.
const MATERIAL_FINGERPRINT: &[u8] = b"imported-key-material";

/// What ImportKeyMaterial brings, after wire validation.
#[derive(Debug, Clone, Copy)]
pub struct ImportRequest<'a> {
    /// The import token from GetParametersForImport.
    pub token: &'a [u8],
    /// The wrapped material.
    pub encrypted_material: &'a [u8],
    /// When the material expires (`None`: never).
    pub valid_to: Option<Timestamp>,
    /// ImportType NEW_KEY_MATERIAL.
    pub new_material: bool,
    /// KeyMaterialId: which existing material to re-import.
    pub material_id: Option<&'a str>,
}

/// The version whose KeyMaterialId is `id` (among the versions the key ever had).
pub fn material_version(key: &Key, id: &str) -> Result<u32, KmsError> {
    let last = key
        .imported
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
        .max(key.current_version);
    (1..=last)
        .find(|v| strongroom_core::key::key_material_id(&key.id, *v) == id)
        .ok_or_else(|| {
            KmsError::NotFound(format!(
                "{} has no key material with KeyMaterialId {id}.",
                key.arn
            ))
        })
}

/// GetParametersForImport's answer.
#[derive(Debug)]
pub struct ImportParameters {
    /// The key ARN.
    pub key_arn: String,
    /// The import token.
    pub import_token: Vec<u8>,
    /// The wrapping public key, DER-encoded SubjectPublicKeyInfo.
    pub public_key: Vec<u8>,
    /// When token and wrapping key expire.
    pub valid_to: Timestamp,
}

fn crypto_algorithm(a: WrappingAlgorithm) -> Result<cimport::WrappingAlgorithm, KmsError> {
    match a {
        WrappingAlgorithm::RsaesOaepSha1 => Ok(cimport::WrappingAlgorithm::RsaesOaepSha1),
        WrappingAlgorithm::RsaesOaepSha256 => Ok(cimport::WrappingAlgorithm::RsaesOaepSha256),
        WrappingAlgorithm::RsaAesKeyWrapSha1 => Ok(cimport::WrappingAlgorithm::RsaAesKeyWrapSha1),
        WrappingAlgorithm::RsaAesKeyWrapSha256 => {
            Ok(cimport::WrappingAlgorithm::RsaAesKeyWrapSha256)
        }
        WrappingAlgorithm::Sm2pke | WrappingAlgorithm::RsaesPkcs1V15 => {
            Err(KmsError::UnsupportedOperation(format!(
                "The {} wrapping algorithm is not supported.",
                a.as_str()
            )))
        }
    }
}

fn crypto_spec(s: WrappingKeySpec) -> Result<cimport::WrappingKeySpec, KmsError> {
    match s {
        WrappingKeySpec::Rsa2048 => Ok(cimport::WrappingKeySpec::Rsa2048),
        WrappingKeySpec::Rsa3072 => Ok(cimport::WrappingKeySpec::Rsa3072),
        WrappingKeySpec::Rsa4096 => Ok(cimport::WrappingKeySpec::Rsa4096),
        WrappingKeySpec::Sm2 => Err(KmsError::UnsupportedOperation(
            "The SM2 wrapping key spec is not supported.".to_owned(),
        )),
    }
}

impl Service {
    /// GetParametersForImport: a fresh RSA wrapping key and a token that binds it to this key,
    /// this algorithm and a 24-hour validity.
    pub async fn get_parameters_for_import(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        algorithm: WrappingAlgorithm,
        spec: WrappingKeySpec,
    ) -> Result<ImportParameters, KmsError> {
        let access = Access::new(Operation::GetParametersForImport)
            .key("kms:WrappingAlgorithm", vec![algorithm.as_str().to_owned()])
            .key("kms:WrappingKeySpec", vec![spec.as_str().to_owned()]);
        let key = self.resolve(ctx, r, &access).await?;
        key.key.check_external()?;
        // Refuse now what ImportKeyMaterial would refuse for this state.
        key.key.state.import_material(&key.key.arn)?;
        crypto_algorithm(algorithm)?;
        let cspec = crypto_spec(spec)?;
        // RSA key generation takes up to a second or two for RSA_4096: off the async threads.
        let pair = tokio::task::spawn_blocking(move || cimport::WrappingKeyPair::generate(cspec))
            .await
            .map_err(|_| KmsError::Internal)?
            .map_err(|_| KmsError::Internal)?;
        let valid_to = Timestamp(self.clock().now().0 + IMPORT_PARAMETERS_VALIDITY_MS);
        let header = TokenHeader {
            key_id: key.key.id,
            algorithm,
            spec,
            valid_to,
        }
        .encode();
        let wrapped = self
            .inner
            .root
            .wrap(
                self.inner.rng.as_ref(),
                &TokenHeader::aad(&header),
                pair.private_pkcs8.expose(),
            )
            .map_err(|_| KmsError::Internal)?;
        let mut token = header.to_vec();
        token.extend_from_slice(&wrapped);
        Ok(ImportParameters {
            key_arn: key.key.arn.clone(),
            import_token: token,
            public_key: pair.public_spki_der.clone(),
            valid_to,
        })
    }

    /// ImportKeyMaterial. `EXISTING_KEY_MATERIAL` (re-)imports the material of a version (the
    /// named one, or the current): the first import of a key, or the same material again
    /// after deletion or expiry — different material never. `NEW_KEY_MATERIAL` imports new
    /// material that RotateKeyOnDemand makes current. Returns the key and the material version.
    pub async fn import_key_material(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        request: ImportRequest<'_>,
    ) -> Result<(Key, u32), KmsError> {
        let key = self
            .resolve(ctx, r, &Access::new(Operation::ImportKeyMaterial))
            .await?;
        // What the key itself refuses comes before anything about the token.
        key.key.check_external()?;
        key.key.state.delete_material(&key.key.arn)?;
        let version = match request.material_id {
            Some(m) => Some(material_version(&key.key, m)?),
            None => None,
        };
        let id = key.key.id;
        let material = self
            .open_import(&id, request.token, request.encrypted_material)
            .await?;
        let now = self.clock().now();
        let valid_to = request.valid_to;
        if valid_to.is_some_and(|t| t <= now) {
            return Err(KmsError::Validation(
                "ValidTo must be in the future.".to_owned(),
            ));
        }
        let fingerprint = self
            .inner
            .root
            .fingerprint(MATERIAL_FINGERPRINT, material.expose())
            .to_vec();
        let imported = std::sync::atomic::AtomicU32::new(0);
        let key = self
            .update_key_record(&id, Some(&ctx.scope), |k| {
                // The first import of a key is its first material whatever ImportType says
                // (AWS defaults to NEW_KEY_MATERIAL for it).
                let (target, store, kind) = if request.new_material && !k.imported.is_empty() {
                    let v = k.import_new_material(fingerprint.clone(), valid_to)?;
                    (v, true, Some(strongroom_core::key::RotationType::OnDemand))
                } else {
                    let target = version.unwrap_or(k.current_version);
                    (
                        target,
                        k.import_existing_material(version, fingerprint.clone(), valid_to)?,
                        None,
                    )
                };
                imported.store(target, std::sync::atomic::Ordering::Relaxed);
                if !store {
                    return Ok(Vec::new());
                }
                let wrapped = self
                    .inner
                    .root
                    .wrap(
                        self.inner.rng.as_ref(),
                        &material_aad(&k.arn, target),
                        material.expose(),
                    )
                    .map_err(|_| KmsError::Internal)?;
                Ok(vec![Write::AddKeyVersion(
                    strongroom_core::key::KeyVersion {
                        key_id: k.id,
                        version: target,
                        created_at: now,
                        wrapped_material: wrapped,
                        rotation_type: kind,
                    },
                )])
            })
            .await?;
        let version = imported.load(std::sync::atomic::Ordering::Relaxed);
        tracing::info!(key = %key.arn, version, new = request.new_material, "key material imported");
        Ok((key, version))
    }

    /// Checks the token against key `id` and the clock, and unwraps the customer's material.
    async fn open_import(
        &self,
        id: &strongroom_core::ids::KeyId,
        token: &[u8],
        encrypted_material: &[u8],
    ) -> Result<SecretBytes, KmsError> {
        let invalid = |m: &str| KmsError::InvalidImportToken(m.to_owned());
        let (header, header_bytes, wrapped) = TokenHeader::parse(token)?;
        if header.key_id != *id {
            return Err(invalid("The import token was made for another KMS key."));
        }
        if header.valid_to <= self.clock().now() {
            return Err(KmsError::ExpiredImportToken(
                "The import token has expired; call GetParametersForImport again.".to_owned(),
            ));
        }
        let private = self
            .inner
            .root
            .unwrap(&TokenHeader::aad(header_bytes), wrapped)
            .map_err(|_| invalid("The import token is invalid."))?;
        let alg = crypto_algorithm(header.algorithm)?;
        let encrypted = encrypted_material.to_vec();
        // RSA private-key operations take milliseconds: off the async threads.
        let material = tokio::task::spawn_blocking(move || {
            cimport::unwrap_import(private.expose(), alg, &encrypted)
        })
        .await
        .map_err(|_| KmsError::Internal)?
        .map_err(|_| {
            KmsError::InvalidCiphertext(
                "The encrypted key material could not be decrypted with the import token's \
                 wrapping key and algorithm."
                    .to_owned(),
            )
        })?;
        if material.expose().len() != 32 {
            return Err(KmsError::IncorrectKeyMaterial(
                "Key material for a SYMMETRIC_DEFAULT key must be 256 bits (32 bytes).".to_owned(),
            ));
        }
        Ok(material)
    }

    /// DeleteImportedKeyMaterial of the named material, or the current one; deleting the
    /// current material makes the key wait for it again (PendingImport). Returns the key and the
    /// version deleted.
    pub async fn delete_imported_key_material(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        material_id: Option<&str>,
    ) -> Result<(Key, u32), KmsError> {
        let key = self
            .resolve(ctx, r, &Access::new(Operation::DeleteImportedKeyMaterial))
            .await?;
        let version = match material_id {
            Some(m) => Some(material_version(&key.key, m)?),
            None => None,
        };
        let deleted = std::sync::atomic::AtomicU32::new(0);
        let key = self
            .update_key_record(&key.key.id, Some(&ctx.scope), |k| {
                let v = k.delete_imported_material(version)?;
                deleted.store(v, std::sync::atomic::Ordering::Relaxed);
                Ok(vec![Write::DeleteKeyVersion {
                    id: k.id,
                    version: v,
                }])
            })
            .await?;
        let version = deleted.load(std::sync::atomic::Ordering::Relaxed);
        tracing::info!(key = %key.arn, version, "imported key material deleted");
        Ok((key, version))
    }

    /// Deletes expired imported material of key `id` if it is still due (scheduler).
    pub(crate) async fn expire_material_if_due(
        &self,
        id: &strongroom_core::ids::KeyId,
    ) -> Result<Option<Key>, KmsError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let now = self.clock().now();
        let expired = AtomicBool::new(false);
        let key = self
            .update_key_record(id, None, |k| {
                let versions = k.expire_materials(now)?;
                expired.store(!versions.is_empty(), Ordering::Relaxed);
                Ok(versions
                    .into_iter()
                    .map(|version| Write::DeleteKeyVersion { id: k.id, version })
                    .collect())
            })
            .await?;
        if !expired.load(Ordering::Relaxed) {
            return Ok(None);
        }
        tracing::info!(key = %key.arn, "imported key material expired");
        Ok(Some(key))
    }
}

//! Imported key material (BYOK): GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial. The rules and the import-token layout live in `core::import`;
//! the RSA and key-wrap cryptography in `crypto::import`.

use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::KeyRef;
use strongroom_core::import::{IMPORT_PARAMETERS_VALIDITY_MS, TokenHeader};
use strongroom_core::key::{Key, WrappingAlgorithm, WrappingKeySpec, material_aad};
use strongroom_core::time::Timestamp;
use strongroom_crypto::import as cimport;
use strongroom_crypto::secret::SecretBytes;
use strongroom_store::Write;

/// The fingerprint label of imported key material.
const MATERIAL_FINGERPRINT: &[u8] = b"imported-key-material";

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
        let key = self.resolve(ctx, r).await?;
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

    /// ImportKeyMaterial (ImportType EXISTING_KEY_MATERIAL): unwraps the material with the
    /// token's private key and makes it the key's material; the same material may be imported
    /// again after deletion or expiry, different material never.
    pub async fn import_key_material(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        token: &[u8],
        encrypted_material: &[u8],
        valid_to: Option<Timestamp>,
    ) -> Result<Key, KmsError> {
        let key = self.resolve(ctx, r).await?;
        // What the key itself refuses comes before anything about the token.
        key.key.check_external()?;
        key.key.state.import_material(&key.key.arn)?;
        let id = key.key.id;
        let material = self.open_import(&id, token, encrypted_material).await?;
        let now = self.clock().now();
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
        let key = self
            .update_key_record(&id, Some(&ctx.scope), |k| {
                if !k.import_material(fingerprint.clone(), valid_to)? {
                    return Ok(Vec::new());
                }
                let version = k.current_version;
                let wrapped = self
                    .inner
                    .root
                    .wrap(
                        self.inner.rng.as_ref(),
                        &material_aad(&k.arn, version),
                        material.expose(),
                    )
                    .map_err(|_| KmsError::Internal)?;
                Ok(vec![Write::AddKeyVersion(
                    strongroom_core::key::KeyVersion {
                        key_id: k.id,
                        version,
                        created_at: now,
                        wrapped_material: wrapped,
                        rotation_type: None,
                    },
                )])
            })
            .await?;
        tracing::info!(key = %key.arn, "key material imported");
        Ok(key)
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

    /// DeleteImportedKeyMaterial: the key waits for its material again (PendingImport).
    pub async fn delete_imported_key_material(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<(), KmsError> {
        let id = self.resolve_id(ctx, r).await?;
        let key = self
            .update_key_record(&id, Some(&ctx.scope), |k| {
                k.delete_imported_material()?;
                Ok(vec![Write::DeleteKeyMaterial { id: k.id }])
            })
            .await?;
        tracing::info!(key = %key.arn, "imported key material deleted");
        Ok(())
    }

    /// Deletes expired imported material of key `id` if it is still due (scheduler).
    pub(crate) async fn expire_material_if_due(
        &self,
        id: &strongroom_core::ids::KeyId,
    ) -> Result<bool, KmsError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let now = self.clock().now();
        let expired = AtomicBool::new(false);
        let key = self
            .update_key_record(id, None, |k| {
                expired.store(false, Ordering::Relaxed);
                if !k.expiry_due(now) {
                    return Ok(Vec::new());
                }
                k.delete_imported_material()?;
                expired.store(true, Ordering::Relaxed);
                Ok(vec![Write::DeleteKeyMaterial { id: k.id }])
            })
            .await?;
        let expired = expired.load(Ordering::Relaxed);
        if expired {
            tracing::info!(key = %key.arn, "imported key material expired");
        }
        Ok(expired)
    }
}

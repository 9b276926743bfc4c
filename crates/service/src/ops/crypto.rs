//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+WithoutPlaintext),
//! GenerateRandom. These are the hot path: a warm key is used straight from the cache.

use crate::authz::Access;
use crate::cache::CachedKey;
use crate::{RequestContext, Service};
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_core::ciphertext::{self, HEADER_LEN, Header, OVERHEAD};
use strongroom_core::context::EncryptionContext;
use strongroom_core::grant::GrantOperation;
use strongroom_core::ids::{KeyId, KeyRef};
use strongroom_core::key::{DataKeySpec, EncryptionAlgorithm, KeySpec, KeyUsage};
use strongroom_core::operation::Operation;
use strongroom_crypto::aead::{self, NONCE_LEN, SALT_LEN};
use strongroom_crypto::secret::SecretBytes;

/// How many bytes of data key to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKeyLength {
    /// AES_128 or AES_256.
    Spec(DataKeySpec),
    /// NumberOfBytes, 1–1024.
    Bytes(usize),
}

impl DataKeyLength {
    fn len(self) -> usize {
        match self {
            Self::Spec(s) => s.byte_len(),
            Self::Bytes(n) => n,
        }
    }
}

/// The result of an encryption: the blob and the ARN of the key that made it.
#[derive(Debug)]
pub struct Sealed {
    /// The ciphertext blob.
    pub ciphertext: Vec<u8>,
    /// The key ARN.
    pub key_arn: String,
    /// The key id.
    pub key_id: KeyId,
    /// The material version that encrypted.
    pub version: u32,
}

/// The result of a decryption.
#[derive(Debug)]
pub struct Opened {
    /// The plaintext.
    pub plaintext: SecretBytes,
    /// The ARN of the key that decrypted it.
    pub key_arn: String,
    /// The key id.
    pub key_id: KeyId,
    /// The material version that decrypted.
    pub version: u32,
}

/// The result of ReEncrypt.
#[derive(Debug)]
pub struct ReSealed {
    /// The new blob.
    pub ciphertext: Vec<u8>,
    /// The key that decrypted the old blob.
    pub source_key_arn: String,
    /// The key that encrypted the new blob.
    pub destination_key_arn: String,
    /// The key and material version that decrypted the old blob.
    pub source_material: (KeyId, u32),
    /// The key and material version that encrypted the new blob.
    pub destination_material: (KeyId, u32),
}

/// The result of GenerateDataKey(+WithoutPlaintext).
#[derive(Debug)]
pub struct DataKey {
    /// The data key encrypted under the CMK.
    pub ciphertext: Vec<u8>,
    /// The data key in plaintext (GenerateDataKey only).
    pub plaintext: Option<SecretBytes>,
    /// The CMK's ARN.
    pub key_arn: String,
    /// The CMK's id.
    pub key_id: KeyId,
    /// The material version that encrypted.
    pub version: u32,
}

/// What a decryption needs besides the blob.
#[derive(Debug, Clone, Copy)]
pub struct OpenParams<'a> {
    /// The encryption context the blob was made with.
    pub context: &'a EncryptionContext,
    /// The KeyId the caller expects, if given.
    pub key: Option<&'a KeyRef>,
    /// The algorithm the caller names, if given.
    pub algorithm: Option<EncryptionAlgorithm>,
}

impl<'a> OpenParams<'a> {
    /// Parameters naming only the encryption context (no KeyId, no algorithm).
    pub fn new(context: &'a EncryptionContext) -> Self {
        Self {
            context,
            key: None,
            algorithm: None,
        }
    }
}

/// Checks that `key` can encrypt or decrypt with `algorithm`.
fn check_encryption_key(
    key: &CachedKey,
    algorithm: Option<EncryptionAlgorithm>,
) -> Result<(), KmsError> {
    let k = &key.key;
    if k.usage != KeyUsage::EncryptDecrypt || k.spec != KeySpec::SymmetricDefault {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for this operation.",
            k.arn,
            k.usage.as_str()
        )));
    }
    match algorithm {
        None | Some(EncryptionAlgorithm::SymmetricDefault) => Ok(()),
        Some(other) => Err(KmsError::InvalidKeyUsage(format!(
            "The encryption algorithm {} is not compatible with the key {}.",
            other.as_str(),
            k.arn
        ))),
    }
}

impl Service {
    /// Encrypts `plaintext` under the key's current material version.
    fn seal_with(
        &self,
        key: &CachedKey,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, KmsError> {
        let version = key.key.current_version;
        let material = key.materials.get(&version).ok_or_else(|| {
            tracing::error!(key = %key.key.arn, version, "current key material version missing");
            KmsError::Internal
        })?;
        // Salt and nonce from one call to the random source.
        let r: [u8; SALT_LEN + NONCE_LEN] = self.random()?;
        let (mut salt, mut nonce) = ([0u8; SALT_LEN], [0u8; NONCE_LEN]);
        salt.copy_from_slice(&r[..SALT_LEN]);
        nonce.copy_from_slice(&r[SALT_LEN..]);
        let header = Header {
            key_id: key.key.id,
            version,
            salt,
            nonce,
        };
        let mut blob = Vec::with_capacity(OVERHEAD + plaintext.len() + context.canonical_len());
        header.write(&mut blob);
        let aad = ciphertext::associated_data(&blob[..HEADER_LEN], context);
        aead::encrypt_message_into(
            material,
            &header.salt,
            &header.nonce,
            &aad,
            plaintext,
            &mut blob,
        )
        .map_err(|_| KmsError::Internal)?;
        Ok(blob)
    }

    /// Resolves, checks and encrypts: the part Encrypt, GenerateDataKey and ReEncrypt share.
    #[allow(clippy::too_many_arguments)] // reason: the shared members of three operations
    async fn seal_for(
        &self,
        ctx: &RequestContext,
        key: &KeyRef,
        access: Access<'_>,
        algorithm: Option<EncryptionAlgorithm>,
        dry_run: bool,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Sealed, KmsError> {
        let access = access.context(context).algorithm(algorithm);
        let key = self.resolve(ctx, key, &access).await?;
        key.key.state.check_usable(&key.key.arn)?;
        check_encryption_key(&key, algorithm)?;
        if dry_run {
            return Err(KmsError::DryRun);
        }
        let ciphertext = self.seal_with(&key, plaintext, context)?;
        Ok(Sealed {
            ciphertext,
            key_arn: key.key.arn.clone(),
            key_id: key.key.id,
            version: key.key.current_version,
        })
    }

    /// Decrypts a blob made by this service.
    async fn open(
        &self,
        ctx: &RequestContext,
        blob: &[u8],
        p: OpenParams<'_>,
        access: Access<'_>,
    ) -> Result<(Arc<CachedKey>, u32, SecretBytes), KmsError> {
        let parsed = ciphertext::parse(blob)?;
        let blob_key = parsed.header.key_id;
        if let Some(r) = p.key
            && self.locate(ctx, r, true).await?.0 != blob_key
        {
            return Err(KmsError::IncorrectKey(
                "The key ID in the request does not identify a KMS key that can perform this \
                 operation."
                    .to_owned(),
            ));
        }
        // A blob naming a key that does not exist here is indistinguishable from a tampered
        // one, and saying "not found" would reveal which key ids exist elsewhere.
        let key = match self.load_key(ctx, &blob_key, None).await {
            Err(KmsError::NotFound(_)) => return Err(KmsError::invalid_ciphertext()),
            other => other?,
        };
        let access = access.context(p.context).algorithm(p.algorithm);
        ctx.keys.note(&key.key.arn);
        self.authorize_key(ctx, &key, &access, None).await?;
        key.key.state.check_usable(&key.key.arn)?;
        check_encryption_key(&key, p.algorithm)?;
        let material = key
            .materials
            .get(&parsed.header.version)
            .ok_or_else(KmsError::invalid_ciphertext)?;
        let aad = ciphertext::associated_data(parsed.header_bytes, p.context);
        let h = &parsed.header;
        let plaintext = aead::decrypt_message(material, &h.salt, &h.nonce, &aad, parsed.body)
            .map_err(|_| KmsError::invalid_ciphertext())?;
        Ok((key, parsed.header.version, plaintext))
    }

    /// Encrypt.
    pub async fn encrypt(
        &self,
        ctx: &RequestContext,
        key: &KeyRef,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: Option<EncryptionAlgorithm>,
        dry_run: bool,
    ) -> Result<Sealed, KmsError> {
        let access = Access::new(Operation::Encrypt);
        let sealed = self
            .seal_for(ctx, key, access, algorithm, dry_run, plaintext, context)
            .await?;
        self.note_usage(ctx, sealed.key_id, Operation::Encrypt);
        Ok(sealed)
    }

    /// Decrypt.
    pub async fn decrypt(
        &self,
        ctx: &RequestContext,
        blob: &[u8],
        p: OpenParams<'_>,
        dry_run: bool,
    ) -> Result<Opened, KmsError> {
        let access = Access::new(Operation::Decrypt);
        let (key, version, plaintext) = self.open(ctx, blob, p, access).await?;
        if dry_run {
            return Err(KmsError::DryRun);
        }
        self.note_usage(ctx, key.key.id, Operation::Decrypt);
        Ok(Opened {
            plaintext,
            key_arn: key.key.arn.clone(),
            key_id: key.key.id,
            version,
        })
    }

    /// ReEncrypt: decrypts under the source key and context, encrypts under the destination.
    #[allow(clippy::too_many_arguments)] // reason: mirrors the operation's members one to one
    pub async fn re_encrypt(
        &self,
        ctx: &RequestContext,
        blob: &[u8],
        source: OpenParams<'_>,
        destination: &KeyRef,
        destination_context: &EncryptionContext,
        destination_algorithm: Option<EncryptionAlgorithm>,
        dry_run: bool,
    ) -> Result<ReSealed, KmsError> {
        // kms:ReEncryptOnSameKey, for both halves' conditions.
        let destination_id = self.locate(ctx, destination, true).await?.0;
        let same_key = ciphertext::parse(blob)?.header.key_id == destination_id;
        let half = |action, grant| {
            Access::action(Operation::ReEncrypt, action, Some(grant))
                .key("kms:ReEncryptOnSameKey", vec![same_key.to_string()])
        };
        let from = half("kms:ReEncryptFrom", GrantOperation::ReEncryptFrom);
        let (src, src_version, plaintext) = self.open(ctx, blob, source, from).await?;
        let sealed = self
            .seal_for(
                ctx,
                destination,
                half("kms:ReEncryptTo", GrantOperation::ReEncryptTo),
                destination_algorithm,
                dry_run,
                plaintext.expose(),
                destination_context,
            )
            .await?;
        self.note_usage(ctx, src.key.id, Operation::ReEncrypt);
        self.note_usage(ctx, sealed.key_id, Operation::ReEncrypt);
        Ok(ReSealed {
            ciphertext: sealed.ciphertext,
            source_key_arn: src.key.arn.clone(),
            destination_key_arn: sealed.key_arn,
            source_material: (src.key.id, src_version),
            destination_material: (sealed.key_id, sealed.version),
        })
    }

    /// GenerateDataKey (`with_plaintext`) and GenerateDataKeyWithoutPlaintext.
    pub async fn generate_data_key(
        &self,
        ctx: &RequestContext,
        key: &KeyRef,
        length: DataKeyLength,
        context: &EncryptionContext,
        with_plaintext: bool,
        dry_run: bool,
    ) -> Result<DataKey, KmsError> {
        let op = if with_plaintext {
            Operation::GenerateDataKey
        } else {
            Operation::GenerateDataKeyWithoutPlaintext
        };
        let data_key = self.random_bytes(length.len())?;
        let sealed = self
            .seal_for(
                ctx,
                key,
                Access::new(op),
                None,
                dry_run,
                data_key.expose(),
                context,
            )
            .await?;
        self.note_usage(ctx, sealed.key_id, op);
        Ok(DataKey {
            ciphertext: sealed.ciphertext,
            plaintext: with_plaintext.then_some(data_key),
            key_arn: sealed.key_arn,
            key_id: sealed.key_id,
            version: sealed.version,
        })
    }

    /// GenerateRandom: `n` random bytes (1–1024, checked at the edge). An IAM-only
    /// permission: no key is involved.
    pub async fn generate_random(
        &self,
        ctx: &RequestContext,
        n: usize,
    ) -> Result<SecretBytes, KmsError> {
        self.authorize_account(ctx, Operation::GenerateRandom.action(), "*")
            .await?;
        self.random_bytes(n)
    }

    pub(crate) fn random_bytes(&self, n: usize) -> Result<SecretBytes, KmsError> {
        strongroom_crypto::random::secret_bytes(self.inner.rng.as_ref(), n).map_err(|e| {
            tracing::error!(error = %e, "random source failed");
            KmsError::Internal
        })
    }
}

//! Importing customer key material (BYOK) the way AWS KMS does it.
//!
//! `GetParametersForImport` hands the customer the public half of an RSA *wrapping key*
//! (`SubjectPublicKeyInfo` DER) and an import token; the customer encrypts ("wraps") the key
//! material with it and sends the result to `ImportKeyMaterial`. This module holds the
//! cryptography of both sides: [`WrappingKeyPair::generate`] and [`unwrap_import`] for the
//! server, [`wrap_for_import`] for the customer (tests, the benchmark).
//!
//! # Wrapped blob layouts
//!
//! `k` is the RSA modulus length in bytes (256, 384 or 512 for `RSA_2048`, `RSA_3072`,
//! `RSA_4096`; for symmetric key material AWS accepts every algorithm below with every one of
//! these specs). RSA-OAEP always
//! uses the same hash for OAEP and MGF1 and an empty label, which is what
//! `openssl pkeyutl -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:… -pkeyopt
//! rsa_mgf1_md:…` produces:
//!
//! | algorithm | blob |
//! |---|---|
//! | `RSAES_OAEP_SHA_1` | `RSA-OAEP-SHA-1(material)`, exactly `k` bytes |
//! | `RSAES_OAEP_SHA_256` | `RSA-OAEP-SHA-256(material)`, exactly `k` bytes |
//! | `RSA_AES_KEY_WRAP_SHA_1` | `RSA-OAEP-SHA-1(aes_key)` (`k` bytes) ‖ `KWP(aes_key, material)` |
//! | `RSA_AES_KEY_WRAP_SHA_256` | `RSA-OAEP-SHA-256(aes_key)` (`k` bytes) ‖ `KWP(aes_key, material)` |
//!
//! where `aes_key` is a fresh 256-bit key the customer generates and `KWP` is AES key wrap with
//! padding (RFC 5649, [`crate::keywrap`]); for 32 bytes of material the KWP part is 40 bytes.
//! This is the concatenation AWS's developer guide builds with `openssl enc
//! -id-aes256-wrap-pad -iv A65959A6` and `cat aes-key-wrapped.bin key-material-wrapped.bin`,
//! and the same layout as PKCS #11 `CKM_RSA_AES_KEY_WRAP`.
//!
//! # Failure and bounds
//!
//! Every failure of [`unwrap_import`] that depends on the wrapped blob (wrong length, wrong
//! wrapping key, wrong algorithm, bad OAEP padding, KWP integrity failure, an ephemeral key
//! that is not 32 bytes, empty material) is the single [`CryptoError::AuthenticationFailed`].
//! OAEP blobs must be exactly `k` bytes; key-wrap blobs at most `k` + [`MAX_KWP_LEN`] bytes, so
//! the work per request is bounded. A private key that does not parse is
//! [`CryptoError::InvalidKey`]: that is the server's own stored key, never customer input.
//!
//! # Randomness
//!
//! RSA key generation and OAEP encryption draw from aws-lc's own DRBG (seeded from the
//! operating system); aws-lc-rs has no way to inject a source there. The injected [`Random`]
//! is used for what Strongroom chooses itself: the ephemeral AES key of the key-wrap
//! algorithms.
//!
//! # Cost
//!
//! Generating a wrapping key pair is slow and its time varies widely (a random prime search).
//! Measured on one core of the 2-vCPU development VM: RSA-2048 0.04–0.13 s, RSA-3072
//! 0.2–0.5 s, RSA-4096 0.3–2.3 s (typically about a second). Run it on a blocking thread, never
//! on the async executor, and consider generating ahead of demand. [`unwrap_import`] parses
//! and checks the PKCS#8 key on every call, then does one RSA private-key operation: about
//! 1 ms (RSA-2048), 2 ms (RSA-3072) and 4 ms (RSA-4096) in total, which is fine for an
//! operation customers call once per key material.

use crate::CryptoError;
use crate::keywrap;
use crate::random::{self, Random};
use crate::secret::{KeyMaterial, SecretBytes};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};

/// The largest KWP part accepted after the RSA ciphertext of a key-wrap blob: 1 KiB, room for
/// 1016 bytes of key material (32 are needed for a symmetric key).
pub const MAX_KWP_LEN: usize = 1024;

/// Length of the ephemeral AES key of the key-wrap algorithms.
pub const EPHEMERAL_KEY_LEN: usize = 32;

/// The size of an RSA wrapping key (AWS `WrappingKeySpec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrappingKeySpec {
    /// `RSA_2048`.
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
}

impl WrappingKeySpec {
    /// Every spec, smallest first.
    pub const ALL: [Self; 3] = [Self::Rsa2048, Self::Rsa3072, Self::Rsa4096];

    /// The modulus size in bits.
    pub fn bits(self) -> usize {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        }
    }

    /// The modulus size in bytes: the length of every RSA ciphertext under this key.
    pub fn modulus_len(self) -> usize {
        self.bits() / 8
    }

    fn from_bits(bits: usize) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.bits() == bits)
    }

    fn key_size(self) -> KeySize {
        match self {
            Self::Rsa2048 => KeySize::Rsa2048,
            Self::Rsa3072 => KeySize::Rsa3072,
            Self::Rsa4096 => KeySize::Rsa4096,
        }
    }
}

/// How the customer wrapped the key material (AWS `AlgorithmSpec` for imports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WrappingAlgorithm {
    /// `RSAES_OAEP_SHA_1`: the material itself, RSA-OAEP with SHA-1 (and MGF1-SHA-1).
    RsaesOaepSha1,
    /// `RSAES_OAEP_SHA_256`: the material itself, RSA-OAEP with SHA-256 (and MGF1-SHA-256).
    RsaesOaepSha256,
    /// `RSA_AES_KEY_WRAP_SHA_1`: an ephemeral AES-256 key under RSA-OAEP-SHA-1, then the
    /// material under that key with AES-KWP.
    RsaAesKeyWrapSha1,
    /// `RSA_AES_KEY_WRAP_SHA_256`: an ephemeral AES-256 key under RSA-OAEP-SHA-256, then the
    /// material under that key with AES-KWP.
    RsaAesKeyWrapSha256,
}

/// The two shapes of blob: RSA-OAEP of the material, or RSA-OAEP of an AES key followed by KWP.
enum Shape {
    Direct(&'static OaepAlgorithm),
    KeyWrap(&'static OaepAlgorithm),
}

impl WrappingAlgorithm {
    /// Every algorithm.
    pub const ALL: [Self; 4] = [
        Self::RsaesOaepSha1,
        Self::RsaesOaepSha256,
        Self::RsaAesKeyWrapSha1,
        Self::RsaAesKeyWrapSha256,
    ];

    /// Whether the blob is an RSA ciphertext followed by an AES-KWP wrap.
    pub fn uses_key_wrap(self) -> bool {
        matches!(self.shape(), Shape::KeyWrap(_))
    }

    /// The accepted lengths of a wrapped blob under a key of `modulus_len` bytes.
    pub fn wrapped_len_range(self, modulus_len: usize) -> std::ops::RangeInclusive<usize> {
        match self.shape() {
            Shape::Direct(_) => modulus_len..=modulus_len,
            Shape::KeyWrap(_) => modulus_len + keywrap::MIN_WRAPPED_LEN..=modulus_len + MAX_KWP_LEN,
        }
    }

    fn shape(self) -> Shape {
        match self {
            Self::RsaesOaepSha1 => Shape::Direct(&OAEP_SHA1_MGF1SHA1),
            Self::RsaesOaepSha256 => Shape::Direct(&OAEP_SHA256_MGF1SHA256),
            Self::RsaAesKeyWrapSha1 => Shape::KeyWrap(&OAEP_SHA1_MGF1SHA1),
            Self::RsaAesKeyWrapSha256 => Shape::KeyWrap(&OAEP_SHA256_MGF1SHA256),
        }
    }
}

/// A freshly generated RSA wrapping key pair.
///
/// The private half is a PKCS#8 (v1) DER document in a [`SecretBytes`]: the caller stores it
/// only wrapped under the root key, and hands it back to [`unwrap_import`].
pub struct WrappingKeyPair {
    /// The spec the pair was generated for.
    pub spec: WrappingKeySpec,
    /// The private key, PKCS#8 v1 DER.
    pub private_pkcs8: SecretBytes,
    /// The public key, X.509 `SubjectPublicKeyInfo` DER: `GetParametersForImport`'s `PublicKey`.
    pub public_spki_der: Vec<u8>,
}

impl WrappingKeyPair {
    /// Generates a key pair of `spec` with aws-lc's DRBG (see the [module docs](self) for why no
    /// [`Random`] is taken). Slow, above all for RSA-4096 (about a second, sometimes several):
    /// call it from a blocking thread.
    pub fn generate(spec: WrappingKeySpec) -> Result<Self, CryptoError> {
        let key = PrivateDecryptingKey::generate(spec.key_size())
            .map_err(|_| CryptoError::KeyGeneration)?;
        if key.key_size_bits() != spec.bits() {
            return Err(CryptoError::KeyGeneration);
        }
        // `Pkcs8V1Der` zeroizes its own buffer on drop; the copy lives in a secret.
        let der = key.as_der().map_err(|_| CryptoError::KeyGeneration)?;
        let private_pkcs8 = SecretBytes::new(der.as_ref().to_vec());
        let public_spki_der = key
            .public_key()
            .as_der()
            .map_err(|_| CryptoError::KeyGeneration)?
            .as_ref()
            .to_vec();
        Ok(Self {
            spec,
            private_pkcs8,
            public_spki_der,
        })
    }
}

impl std::fmt::Debug for WrappingKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappingKeyPair")
            .field("spec", &self.spec)
            .field("private_pkcs8", &self.private_pkcs8)
            .field("public_spki_der_len", &self.public_spki_der.len())
            .finish()
    }
}

/// Decrypts a blob the customer wrapped with `algorithm` under the public half of
/// `private_pkcs8`, and returns the key material (at least one byte; the caller checks the
/// length its key spec needs).
///
/// Every failure caused by `wrapped` is [`CryptoError::AuthenticationFailed`], without detail.
/// [`CryptoError::InvalidKey`] means `private_pkcs8` is not an RSA-2048/3072/4096 PKCS#8 key.
pub fn unwrap_import(
    private_pkcs8: &[u8],
    algorithm: WrappingAlgorithm,
    wrapped: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let key =
        PrivateDecryptingKey::from_pkcs8(private_pkcs8).map_err(|_| CryptoError::InvalidKey)?;
    let spec = WrappingKeySpec::from_bits(key.key_size_bits()).ok_or(CryptoError::InvalidKey)?;
    let k = spec.modulus_len();
    if key.key_size_bytes() != k {
        return Err(CryptoError::InvalidKey);
    }
    if !algorithm.wrapped_len_range(k).contains(&wrapped.len()) {
        return Err(CryptoError::AuthenticationFailed);
    }
    let key = OaepPrivateDecryptingKey::new(key).map_err(|_| CryptoError::InvalidKey)?;
    let material = match algorithm.shape() {
        Shape::Direct(oaep) => oaep_decrypt(&key, oaep, wrapped)?,
        Shape::KeyWrap(oaep) => {
            let (rsa_part, kwp_part) = wrapped.split_at(k);
            let ephemeral = oaep_decrypt(&key, oaep, rsa_part)?;
            let ephemeral = ephemeral_key(&ephemeral)?;
            keywrap::unwrap_padded(&ephemeral, kwp_part)?
        }
    };
    if material.expose().is_empty() {
        return Err(CryptoError::AuthenticationFailed);
    }
    Ok(material)
}

/// Wraps `material` for import under the wrapping public key `public_spki_der` (what the
/// customer does before `ImportKeyMaterial`). For the key-wrap algorithms the ephemeral AES key
/// comes from `rng`; the RSA-OAEP seed always comes from aws-lc's DRBG.
///
/// Fails with [`CryptoError::InvalidKey`] if the public key is not an RSA-2048/3072/4096 SPKI,
/// and with [`CryptoError::InvalidLength`] if `material` is empty or too long for the
/// algorithm (OAEP: `k` − 2·hash − 2 bytes; key wrap: 1016 bytes).
pub fn wrap_for_import(
    public_spki_der: &[u8],
    algorithm: WrappingAlgorithm,
    material: &[u8],
    rng: &dyn Random,
) -> Result<Vec<u8>, CryptoError> {
    let public =
        PublicEncryptingKey::from_der(public_spki_der).map_err(|_| CryptoError::InvalidKey)?;
    let spec = WrappingKeySpec::from_bits(public.key_size_bits()).ok_or(CryptoError::InvalidKey)?;
    let public = OaepPublicEncryptingKey::new(public).map_err(|_| CryptoError::InvalidKey)?;
    if material.is_empty() {
        return Err(CryptoError::InvalidLength);
    }
    let k = spec.modulus_len();
    match algorithm.shape() {
        Shape::Direct(oaep) => {
            if material.len() > public.max_plaintext_size(oaep) {
                return Err(CryptoError::InvalidLength);
            }
            oaep_encrypt(&public, oaep, material, k)
        }
        Shape::KeyWrap(oaep) => {
            if keywrap::wrapped_len(material.len()) > MAX_KWP_LEN {
                return Err(CryptoError::InvalidLength);
            }
            let ephemeral = KeyMaterial::new(random::array(rng)?);
            let mut out = oaep_encrypt(&public, oaep, ephemeral.expose(), k)?;
            out.extend_from_slice(&keywrap::wrap_padded(&ephemeral, material)?);
            Ok(out)
        }
    }
}

fn oaep_decrypt(
    key: &OaepPrivateDecryptingKey,
    oaep: &'static OaepAlgorithm,
    ciphertext: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let mut out = SecretBytes::new(vec![0u8; key.min_output_size()]);
    let len = key
        .decrypt(oaep, ciphertext, out.expose_mut(), None)
        .map_err(|_| CryptoError::AuthenticationFailed)?
        .len();
    out.expose_mut().truncate(len);
    Ok(out)
}

fn oaep_encrypt(
    key: &OaepPublicEncryptingKey,
    oaep: &'static OaepAlgorithm,
    plaintext: &[u8],
    modulus_len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key
        .encrypt(oaep, plaintext, &mut out, None)
        .map_err(|_| CryptoError::InvalidLength)?
        .len();
    // An RSA ciphertext is always exactly the modulus length; the unwrap side splits on it.
    if len != modulus_len {
        return Err(CryptoError::InvalidKey);
    }
    out.truncate(len);
    Ok(out)
}

fn ephemeral_key(bytes: &SecretBytes) -> Result<KeyMaterial, CryptoError> {
    let mut key = KeyMaterial::new([0u8; EPHEMERAL_KEY_LEN]);
    if bytes.expose().len() != EPHEMERAL_KEY_LEN {
        return Err(CryptoError::AuthenticationFailed);
    }
    key.expose_mut().copy_from_slice(bytes.expose());
    Ok(key)
}

#[cfg(test)]
mod tests;

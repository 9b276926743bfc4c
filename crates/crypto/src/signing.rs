//! Ed25519 signatures (RFC 8032), for signing the audit log's digests.
//!
//! [`Ed25519SigningKey`] is the private half: generated from the injected [`Random`] (a 32-byte
//! seed, so tests can be deterministic), stored only as a PKCS#8 v2 document wrapped under the
//! root key by its user, and never printed. [`Ed25519PublicKey`] is the public half: raw
//! 32 bytes, or the X.509 `SubjectPublicKeyInfo` DER that `openssl pkey -pubin` reads.
//!
//! Verification needs nothing secret, so an offline verifier can check signatures with the public
//! key alone.

use crate::CryptoError;
use crate::random::{self, Random};
use crate::secret::SecretBytes;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use std::fmt;

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// The fixed DER prefix of an Ed25519 `SubjectPublicKeyInfo` (RFC 8410 section 4): a SEQUENCE
/// of the algorithm identifier 1.3.101.112 and a BIT STRING holding the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The private half of an Ed25519 key pair.
pub struct Ed25519SigningKey(Ed25519KeyPair);

impl Ed25519SigningKey {
    /// Generates a key pair from a 32-byte seed drawn from `rng`.
    pub fn generate(rng: &dyn Random) -> Result<Self, CryptoError> {
        let seed = random::secret_bytes(rng, 32)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed.expose())
            .map_err(|_| CryptoError::KeyGeneration)?;
        Ok(Self(pair))
    }

    /// Parses a PKCS#8 (v1 or v2) Ed25519 private key, as [`Ed25519SigningKey::to_pkcs8`]
    /// writes and `openssl genpkey -algorithm ED25519` produces.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CryptoError> {
        Ed25519KeyPair::from_pkcs8(der)
            .map(Self)
            .map_err(|_| CryptoError::InvalidKey)
    }

    /// The private key as a PKCS#8 v2 document (with the public key), for wrapping and storage.
    pub fn to_pkcs8(&self) -> Result<SecretBytes, CryptoError> {
        let doc = self.0.to_pkcs8().map_err(|_| CryptoError::InvalidKey)?;
        Ok(SecretBytes::new(doc.as_ref().to_vec()))
    }

    /// The public half.
    pub fn public_key(&self) -> Ed25519PublicKey {
        let mut raw = [0u8; PUBLIC_KEY_LEN];
        let bytes = self.0.public_key().as_ref();
        // An Ed25519 public key is always 32 bytes; copy defensively without panicking.
        let n = bytes.len().min(PUBLIC_KEY_LEN);
        raw[..n].copy_from_slice(&bytes[..n]);
        Ed25519PublicKey(raw)
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_LEN], CryptoError> {
        let sig = self
            .0
            .try_sign(message)
            .map_err(|_| CryptoError::InvalidKey)?;
        sig.as_ref()
            .try_into()
            .map_err(|_| CryptoError::InvalidLength)
    }
}

impl fmt::Debug for Ed25519SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519SigningKey([REDACTED])")
    }
}

/// The public half of an Ed25519 key pair: 32 raw bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ed25519PublicKey([u8; PUBLIC_KEY_LEN]);

impl Ed25519PublicKey {
    /// A public key from its 32 raw bytes.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, CryptoError> {
        raw.try_into()
            .map(Self)
            .map_err(|_| CryptoError::InvalidLength)
    }

    /// A public key from an X.509 `SubjectPublicKeyInfo` DER (RFC 8410), the body of a
    /// `-----BEGIN PUBLIC KEY-----` PEM file.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(raw) => Self::from_bytes(raw).map_err(|_| CryptoError::InvalidKey),
            None => Err(CryptoError::InvalidKey),
        }
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// The X.509 `SubjectPublicKeyInfo` DER of this key (44 bytes).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SPKI_PREFIX.len() + PUBLIC_KEY_LEN);
        out.extend_from_slice(&SPKI_PREFIX);
        out.extend_from_slice(&self.0);
        out
    }

    /// SHA-256 of the 32 raw bytes: a short, stable name for the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        crate::digest::sha256(&self.0)
    }

    /// Checks that `sig` is a valid signature of `message` under this key. Every failure
    /// (wrong length, wrong key, changed message) is [`CryptoError::AuthenticationFailed`].
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, sig)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519PublicKey(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;

    /// Returns the same 32 bytes every time, for known-answer tests.
    struct FixedSeed([u8; 32]);
    impl Random for FixedSeed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
            for (i, d) in dest.iter_mut().enumerate() {
                *d = self.0[i % 32];
            }
            Ok(())
        }
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc8032_test_1_known_answer() {
        // RFC 8032 section 7.1, TEST 1: empty message.
        let seed: [u8; 32] =
            unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .try_into()
                .unwrap();
        let key = Ed25519SigningKey::generate(&FixedSeed(seed)).unwrap();
        assert_eq!(
            key.public_key().as_bytes().to_vec(),
            unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        );
        let sig = key.sign(b"").unwrap();
        assert_eq!(
            sig.to_vec(),
            unhex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                 5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
        key.public_key().verify(b"", &sig).unwrap();
    }

    #[test]
    fn sign_verify_and_reject_changes() {
        let key = Ed25519SigningKey::generate(&SystemRandom).unwrap();
        let pk = key.public_key();
        let sig = key.sign(b"digest").unwrap();
        pk.verify(b"digest", &sig).unwrap();
        assert_eq!(
            pk.verify(b"digesT", &sig),
            Err(CryptoError::AuthenticationFailed)
        );
        let mut bad = sig;
        bad[0] ^= 1;
        assert_eq!(
            pk.verify(b"digest", &bad),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            pk.verify(b"digest", &sig[..63]),
            Err(CryptoError::AuthenticationFailed)
        );
        let other = Ed25519SigningKey::generate(&SystemRandom).unwrap();
        assert_eq!(
            other.public_key().verify(b"digest", &sig),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        let key = Ed25519SigningKey::generate(&SystemRandom).unwrap();
        let der = key.to_pkcs8().unwrap();
        let back = Ed25519SigningKey::from_pkcs8(der.expose()).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let sig = back.sign(b"m").unwrap();
        key.public_key().verify(b"m", &sig).unwrap();
        assert_eq!(
            Ed25519SigningKey::from_pkcs8(b"not a key").unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(format!("{key:?}"), "Ed25519SigningKey([REDACTED])");
    }

    #[test]
    fn spki_round_trip_and_rejects_other_encodings() {
        let pk = Ed25519SigningKey::generate(&SystemRandom)
            .unwrap()
            .public_key();
        let der = pk.to_spki_der();
        assert_eq!(der.len(), 44);
        assert_eq!(Ed25519PublicKey::from_spki_der(&der).unwrap(), pk);
        assert!(Ed25519PublicKey::from_spki_der(&der[..43]).is_err());
        assert!(Ed25519PublicKey::from_spki_der(&pk.as_bytes()[..]).is_err());
        assert_eq!(
            Ed25519PublicKey::from_bytes(&[0u8; 31]).unwrap_err(),
            CryptoError::InvalidLength
        );
        assert_eq!(pk.fingerprint(), crate::digest::sha256(pk.as_bytes()));
    }
}

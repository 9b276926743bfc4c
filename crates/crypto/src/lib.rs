//! Cryptography for Strongroom, and the only crate that names `aws-lc-rs`.
//!
//! Everything else in the workspace asks this crate for the few primitives it needs, so the
//! choice of implementation (and a later switch to its FIPS build) stays in one place:
//! - [`secret`]: secret values that zeroize on drop and never print;
//! - [`aead`]: AES-256-GCM for ciphertext blobs (per-message derived keys) and for wrapping
//!   stored key material under the root key;
//! - [`digest`]: SHA-256, HMAC-SHA-256 and constant-time comparison (SigV4 needs all three);
//! - [`random`]: the injected source of randomness;
//! - [`seal`]: the root key and the seals that protect it at rest;
//! - [`signing`]: Ed25519 key pairs, signatures and their verification (the audit log's digests);
//! - [`import`]: RSA wrapping keys and the unwrapping of imported key material (BYOK), with
//!   [`keywrap`] (AES key wrap with padding, RFC 5649) for its `RSA_AES_KEY_WRAP_*` algorithms.
#![forbid(unsafe_code)]

pub mod aead;
pub mod digest;
pub mod hex;
pub mod import;
pub mod keywrap;
pub mod random;
pub mod seal;
pub mod secret;
pub mod signing;

/// A cryptographic operation failed. Deliberately carries no detail: a failed open must not tell
/// an attacker whether the key, the nonce, the associated data or the tag was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Authentication of a ciphertext failed (wrong key, tampered data, wrong associated data).
    #[error("authentication failed")]
    AuthenticationFailed,
    /// An input had the wrong length for the primitive.
    #[error("invalid length")]
    InvalidLength,
    /// The system random source failed.
    #[error("random source failed")]
    Random,
    /// A stored or supplied key could not be parsed, or is of an unsupported kind or size.
    /// Never caused by a ciphertext: failures that depend on one are `AuthenticationFailed`.
    #[error("invalid key")]
    InvalidKey,
    /// Generating a key pair failed inside aws-lc.
    #[error("key generation failed")]
    KeyGeneration,
}

//! The ciphertext blob format (see `docs/ciphertext-format.md`).
//!
//! ```text
//! offset  size  field
//!      0     1  format version (0x01)
//!      1    16  key id (UUID, binary)
//!     17     4  key material version (u32, big-endian)
//!     21    16  salt for the per-message key (HKDF-SHA-256)
//!     37    12  AES-GCM nonce
//!     49     n  AES-256-GCM ciphertext of the plaintext
//!   49+n    16  AES-GCM tag
//! ```
//! The associated data is the 49-byte header followed by the canonical encryption context, so
//! changing any header byte or any context pair makes decryption fail. Once released, a format
//! version is never changed: golden blobs in the test suite hold every release to it.

use crate::KmsError;
use crate::context::EncryptionContext;
use crate::ids::KeyId;
use strongroom_crypto::aead::{NONCE_LEN, SALT_LEN, TAG_LEN};

/// The only format version so far.
pub const FORMAT_V1: u8 = 0x01;
/// Header length of a v1 blob.
pub const HEADER_LEN: usize = 1 + 16 + 4 + SALT_LEN + NONCE_LEN;
/// Bytes a v1 blob adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// The parsed header of a ciphertext blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The key that encrypted it.
    pub key_id: KeyId,
    /// The key material version that encrypted it.
    pub version: u32,
    /// The salt of the per-message key.
    pub salt: [u8; SALT_LEN],
    /// The GCM nonce.
    pub nonce: [u8; NONCE_LEN],
}

impl Header {
    /// Appends the 49-byte encoded header.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(FORMAT_V1);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
    }
}

/// A blob split into its parts, borrowing the input.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The header fields.
    pub header: Header,
    /// The encoded header bytes (part of the associated data).
    pub header_bytes: &'a [u8],
    /// Ciphertext followed by tag.
    pub body: &'a [u8],
}

/// Parses a blob. Anything that is not a well-formed v1 blob is `InvalidCiphertextException`.
pub fn parse(blob: &[u8]) -> Result<Parsed<'_>, KmsError> {
    if blob.len() < OVERHEAD || blob.first() != Some(&FORMAT_V1) {
        return Err(KmsError::invalid_ciphertext());
    }
    let (header_bytes, body) = blob.split_at(HEADER_LEN);
    let mut key_id = [0u8; 16];
    key_id.copy_from_slice(&header_bytes[1..17]);
    let mut version = [0u8; 4];
    version.copy_from_slice(&header_bytes[17..21]);
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&header_bytes[21..21 + SALT_LEN]);
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&header_bytes[21 + SALT_LEN..HEADER_LEN]);
    Ok(Parsed {
        header: Header {
            key_id: KeyId::from_bytes(key_id),
            version: u32::from_be_bytes(version),
            salt,
            nonce,
        },
        header_bytes,
        body,
    })
}

/// The associated data for a blob: its header bytes, then the canonical encryption context.
pub fn associated_data(header_bytes: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header_bytes.len() + context.canonical_len());
    aad.extend_from_slice(header_bytes);
    context.write_canonical(&mut aad);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> Header {
        Header {
            key_id: KeyId::from_bytes([7; 16]),
            version: 3,
            salt: [1; SALT_LEN],
            nonce: [2; NONCE_LEN],
        }
    }

    #[test]
    fn header_round_trips() {
        let mut blob = Vec::new();
        header().write(&mut blob);
        assert_eq!(blob.len(), HEADER_LEN);
        blob.extend_from_slice(&[9; TAG_LEN + 5]);
        let p = parse(&blob).unwrap();
        assert_eq!(p.header, header());
        assert_eq!(p.header_bytes, &blob[..HEADER_LEN]);
        assert_eq!(p.body.len(), TAG_LEN + 5);
    }

    #[test]
    fn short_or_unknown_version_blobs_are_invalid_ciphertext() {
        let mut blob = Vec::new();
        header().write(&mut blob);
        blob.extend_from_slice(&[0; TAG_LEN]);
        assert!(parse(&blob).is_ok());
        assert!(matches!(
            parse(&blob[..OVERHEAD - 1]),
            Err(KmsError::InvalidCiphertext(_))
        ));
        blob[0] = 2;
        assert!(matches!(parse(&blob), Err(KmsError::InvalidCiphertext(_))));
        assert!(parse(&[]).is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let well_formed = bytes.len() >= OVERHEAD && bytes[0] == FORMAT_V1;
            prop_assert_eq!(parse(&bytes).is_ok(), well_formed);
        }
    }
}

//! AES-256-GCM, in the two shapes Strongroom uses it.
//!
//! **Messages** (ciphertext blobs) are encrypted under a key derived for that one message:
//! HKDF-SHA-256 over the key material with a random 128-bit salt. A CMK version can therefore
//! encrypt far more than the 2^32 messages NIST allows one GCM key with random nonces; the pair
//! (salt, nonce) would have to repeat, which takes about 2^112 messages.
//!
//! **Wrapping** (key material and secrets at rest under the root key) uses the root key
//! directly with a random nonce: the root key wraps one item per stored key version or access
//! key, many orders of magnitude below the GCM limit.

use crate::CryptoError;
use crate::secret::{KeyMaterial, SecretBytes};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;

/// Length of the per-message key-derivation salt.
pub const SALT_LEN: usize = 16;
/// Length of a GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Length of a GCM authentication tag.
pub const TAG_LEN: usize = 16;

const MESSAGE_KDF_INFO: &[u8] = b"strongroom/message-key/v1";

fn message_key(material: &KeyMaterial, salt: &[u8; SALT_LEN]) -> Result<LessSafeKey, CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(material.expose());
    // `expand` fails only when asked for more than 255 hash lengths; 32 bytes never are.
    let info = [MESSAGE_KDF_INFO];
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .map_err(|_| CryptoError::InvalidLength)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// Encrypts `plaintext` under a key derived from `material` and `salt`, appending
/// ciphertext and tag to `out` (which typically already holds the blob header).
pub fn encrypt_message_into(
    material: &KeyMaterial,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let key = message_key(material, salt)?;
    let start = out.len();
    out.reserve(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut out[start..],
        )
        .map_err(|_| CryptoError::InvalidLength)?;
    out.extend_from_slice(tag.as_ref());
    Ok(())
}

/// Decrypts what [`encrypt_message_into`] produced. Fails without detail on any mismatch.
pub fn decrypt_message(
    material: &KeyMaterial,
    salt: &[u8; SALT_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<SecretBytes, CryptoError> {
    if ciphertext_and_tag.len() < TAG_LEN {
        return Err(CryptoError::AuthenticationFailed);
    }
    let key = message_key(material, salt)?;
    let mut buf = SecretBytes::new(ciphertext_and_tag.to_vec());
    open_in_place(&key, nonce, aad, &mut buf)?;
    Ok(buf)
}

fn open_in_place(
    key: &LessSafeKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut SecretBytes,
) -> Result<(), CryptoError> {
    // The buffer is only ever shrunk in place, so the wrapper keeps owning every byte.
    let mut v = std::mem::take(secret_vec_mut(buf));
    let res = key
        .open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut v)
        .map(|pt| pt.len());
    match res {
        Ok(len) => {
            v.truncate(len);
            *secret_vec_mut(buf) = v;
            Ok(())
        }
        Err(_) => {
            zeroize::Zeroize::zeroize(&mut v);
            Err(CryptoError::AuthenticationFailed)
        }
    }
}

fn secret_vec_mut(s: &mut SecretBytes) -> &mut Vec<u8> {
    s.expose_mut()
}

/// Encrypts `plaintext` directly under a 256-bit `key` (the root key) with a random nonce.
/// Output: nonce ‖ ciphertext ‖ tag.
pub fn wrap(
    key: &KeyMaterial,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| CryptoError::InvalidLength)?,
    );
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let tag = k
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::InvalidLength)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Reverses [`wrap`].
pub fn unwrap(key: &KeyMaterial, aad: &[u8], wrapped: &[u8]) -> Result<SecretBytes, CryptoError> {
    if wrapped.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::AuthenticationFailed);
    }
    let (nonce, body) = wrapped.split_at(NONCE_LEN);
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(nonce);
    let k = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, key.expose()).map_err(|_| CryptoError::InvalidLength)?,
    );
    let mut buf = SecretBytes::new(body.to_vec());
    open_in_place(&k, &n, aad, &mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn material(b: u8) -> KeyMaterial {
        KeyMaterial::new([b; 32])
    }

    #[test]
    fn message_round_trip_and_every_input_is_bound() {
        let m = material(1);
        let (salt, nonce) = ([2u8; SALT_LEN], [3u8; NONCE_LEN]);
        let mut out = b"hdr".to_vec();
        encrypt_message_into(&m, &salt, &nonce, b"aad", b"hello", &mut out).unwrap();
        assert_eq!(&out[..3], b"hdr");
        let ct = &out[3..];
        assert_eq!(ct.len(), 5 + TAG_LEN);
        assert_ne!(&ct[..5], b"hello");
        let pt = decrypt_message(&m, &salt, &nonce, b"aad", ct).unwrap();
        assert_eq!(pt.expose(), b"hello");

        assert!(decrypt_message(&material(9), &salt, &nonce, b"aad", ct).is_err());
        assert!(decrypt_message(&m, &[9; SALT_LEN], &nonce, b"aad", ct).is_err());
        assert!(decrypt_message(&m, &salt, &[9; NONCE_LEN], b"aad", ct).is_err());
        assert!(decrypt_message(&m, &salt, &nonce, b"aaX", ct).is_err());
        assert!(decrypt_message(&m, &salt, &nonce, b"aad", &ct[..4]).is_err());
    }

    #[test]
    fn wrap_round_trip_and_aad_binding() {
        let root = material(5);
        let w = wrap(&root, &[1; NONCE_LEN], b"arn|1", b"key material").unwrap();
        assert_eq!(
            unwrap(&root, b"arn|1", &w).unwrap().expose(),
            b"key material"
        );
        assert!(unwrap(&root, b"arn|2", &w).is_err());
        assert!(unwrap(&material(6), b"arn|1", &w).is_err());
        assert!(unwrap(&root, b"arn|1", &w[..10]).is_err());
    }

    proptest! {
        #[test]
        fn any_single_bit_flip_is_detected(pt in proptest::collection::vec(any::<u8>(), 0..256),
                                           bit in 0usize..8, pos in any::<prop::sample::Index>()) {
            let m = material(7);
            let mut out = Vec::new();
            encrypt_message_into(&m, &[0; SALT_LEN], &[0; NONCE_LEN], b"", &pt, &mut out).unwrap();
            let i = pos.index(out.len());
            out[i] ^= 1 << bit;
            prop_assert!(decrypt_message(&m, &[0; SALT_LEN], &[0; NONCE_LEN], b"", &out).is_err());
        }
    }
}

//! AES key wrap with padding (KWP: RFC 5649, NIST SP 800-38F) under a 256-bit key-encryption
//! key.
//!
//! KWP exists here because the AWS KMS import flow (`RSA_AES_KEY_WRAP_SHA_*`, see
//! [`crate::import`]) wraps the customer's key material with it, exactly as
//! `openssl enc -id-aes256-wrap-pad` and PKCS #11 `CKM_RSA_AES_KEY_WRAP` do. It is a
//! deterministic, authenticated wrap: unwrapping checks the 32-bit constant `A65959A6`, the
//! encoded length and the zero padding, so any change to the wrapped bytes or the KEK fails.
//!
//! Only 256-bit KEKs are offered: that is what the import flow uses, and aws-lc-rs 1.19 has no
//! 192-bit KEK at all (`key_wrap` offers `AES_128` and `AES_256` only), which is also why the
//! known-answer tests use NIST's CAVP vectors rather than RFC 5649 section 6 (whose two
//! examples use a 192-bit KEK).

use crate::CryptoError;
use crate::secret::{KeyMaterial, SecretBytes};
use aws_lc_rs::key_wrap::{AES_256, AesKek, KeyWrapPadded as _};

/// Length of the KWP semiblock; wrapped outputs are multiples of it.
pub const SEMIBLOCK_LEN: usize = 8;

/// The shortest possible wrapped value: one AES block (for key data of 1 to 8 bytes).
pub const MIN_WRAPPED_LEN: usize = 16;

/// The length of the KWP output for `plaintext_len` bytes of key data: the data padded to a
/// multiple of 8 bytes, plus the 8-byte integrity block.
pub fn wrapped_len(plaintext_len: usize) -> usize {
    plaintext_len.div_ceil(SEMIBLOCK_LEN) * SEMIBLOCK_LEN + SEMIBLOCK_LEN
}

fn kek(key: &KeyMaterial) -> Result<AesKek, CryptoError> {
    // `AesKek` copies the key into a box that it zeroizes on drop.
    AesKek::new(&AES_256, key.expose()).map_err(|_| CryptoError::InvalidLength)
}

/// Wraps `plaintext` (1 byte or more) under `key` with RFC 5649 padding. The result is not
/// secret.
pub fn wrap_padded(key: &KeyMaterial, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if plaintext.is_empty() {
        return Err(CryptoError::InvalidLength);
    }
    let expected = wrapped_len(plaintext.len());
    // aws-lc asks for room for the worst-case padding (7 bytes) plus the integrity block.
    let mut out = vec![0u8; plaintext.len() + 15];
    let len = kek(key)?
        .wrap_with_padding(plaintext, &mut out)
        .map_err(|_| CryptoError::InvalidLength)?
        .len();
    if len != expected {
        return Err(CryptoError::InvalidLength);
    }
    out.truncate(len);
    Ok(out)
}

/// Reverses [`wrap_padded`]. Fails without detail (wrong key, tampered bytes, bad length).
pub fn unwrap_padded(key: &KeyMaterial, wrapped: &[u8]) -> Result<SecretBytes, CryptoError> {
    if wrapped.len() < MIN_WRAPPED_LEN || !wrapped.len().is_multiple_of(SEMIBLOCK_LEN) {
        return Err(CryptoError::AuthenticationFailed);
    }
    let k = kek(key)?;
    // The buffer receives unauthenticated plaintext before the integrity check; it is a secret
    // from the start so it is wiped whatever the outcome.
    let mut out = SecretBytes::new(vec![0u8; wrapped.len()]);
    let len = k
        .unwrap_with_padding(wrapped, out.expose_mut())
        .map_err(|_| CryptoError::AuthenticationFailed)?
        .len();
    out.expose_mut().truncate(len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn key(s: &str) -> KeyMaterial {
        KeyMaterial::new(h(s).try_into().unwrap())
    }

    // NIST CAVP key wrap test vectors (kwtestvectors.zip, SP 800-38F), as shipped in
    // pyca/cryptography's vectors/cryptography_vectors/keywrap/kwtestvectors/:
    // KWP_AE_256.txt (CAVS 17.4) and KWP_AD_256.txt (CAVS 21.4), AES-256 KEKs. RFC 5649's own
    // examples need a 192-bit KEK, which aws-lc-rs does not offer.
    const KWP_AE_256: &[(&str, &str, &str, &str)] = &[
        (
            "[PLAINTEXT LENGTH = 8] COUNT = 0",
            "397989e9208a7f0133eab2f8c9a5ec231eb3f771ec409a6c43c75b8ff39b489c",
            "ea",
            "6c0bf17e7c72f5b3a95988c20da4a776",
        ),
        (
            "[PLAINTEXT LENGTH = 72] COUNT = 0",
            "f5a3f19df4bca6d8b9736a410053e8fdde705237c882df80e6d836fa9b5eb316",
            "9dba964ee6cbe6dad4",
            "708ca1a77dcb2f1fd61ff6a8b7c3be265fc624d18a78b8e3",
        ),
        (
            "[PLAINTEXT LENGTH = 96] COUNT = 0",
            "83cf4e2000a665ad82809166127e6a22274f04b4dff9068cdab017dd0c2505f9",
            "a037c93d938a925432d8472f",
            "aa6f2d0080e24f35e4ce00046626b3def84b127e56a61afd",
        ),
    ];

    /// (name, KEK, wrapped, Some(key data) or None for a FAIL record).
    const KWP_AD_256: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "[PLAINTEXT LENGTH = 8] COUNT = 0",
            "20e4ff6a88ffa9a2818b81702793d8a016722c2fa1ff445f24b9db293cb12069",
            "85011dc927b167f411b0b8e21b11d819",
            Some("d2"),
        ),
        (
            "[PLAINTEXT LENGTH = 8] COUNT = 4",
            "c32cb3e1e41a4b9f4de79989957866f5dd48dba38c22a6ebb80e14c84bdd9534",
            "c29b05c2619a58ecc1d239e7a34273cd",
            None,
        ),
        (
            "[PLAINTEXT LENGTH = 64] COUNT = 0",
            "398444df32841be9e699c64faa92630c834564b8384876dceb471c4056fc8299",
            "30032c9a3ed00d29512d8c725fa86a4b",
            None,
        ),
        (
            "[PLAINTEXT LENGTH = 64] COUNT = 1",
            "96503e950d01ee1664de77ef6c0108aea2cffcffd0cf282e58a3fb982914ff9c",
            "e5fa8bf0919d5a7163f2af43b3b549b8",
            Some("e731cf7c44ac7722"),
        ),
    ];

    #[test]
    fn nist_kwp_ae_256_known_answers() {
        for (name, k, p, c) in KWP_AE_256 {
            let w = wrap_padded(&key(k), &h(p)).unwrap();
            assert_eq!(w, h(c), "{name}");
            assert_eq!(w.len(), wrapped_len(h(p).len()), "{name}");
            assert_eq!(
                unwrap_padded(&key(k), &w).unwrap().expose(),
                &h(p),
                "{name}"
            );
        }
    }

    #[test]
    fn nist_kwp_ad_256_known_answers() {
        for (name, k, c, p) in KWP_AD_256 {
            let res = unwrap_padded(&key(k), &h(c));
            match p {
                Some(p) => assert_eq!(res.unwrap().expose(), &h(p), "{name}"),
                None => assert_eq!(
                    res.unwrap_err(),
                    CryptoError::AuthenticationFailed,
                    "{name}"
                ),
            }
        }
    }

    #[test]
    fn round_trips_every_short_length_and_sizes_match() {
        let k = KeyMaterial::new([0x42; 32]);
        for n in 1..=80usize {
            let pt: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let w = wrap_padded(&k, &pt).unwrap();
            assert_eq!(w.len(), wrapped_len(n));
            assert_eq!(w.len() % SEMIBLOCK_LEN, 0);
            assert_eq!(unwrap_padded(&k, &w).unwrap().expose(), &pt);
        }
        assert_eq!(wrapped_len(32), 40);
        assert_eq!(wrapped_len(1), MIN_WRAPPED_LEN);
    }

    #[test]
    fn rejects_empty_input_bad_lengths_and_the_wrong_key() {
        let k = KeyMaterial::new([1; 32]);
        assert_eq!(wrap_padded(&k, b""), Err(CryptoError::InvalidLength));
        let w = wrap_padded(&k, &[9; 32]).unwrap();
        assert!(unwrap_padded(&KeyMaterial::new([2; 32]), &w).is_err());
        for len in [0, 1, 8, 15, 17, 23, 39, 41] {
            let v = vec![0u8; len];
            assert_eq!(
                unwrap_padded(&k, &v).unwrap_err(),
                CryptoError::AuthenticationFailed,
                "len {len}"
            );
        }
        // Truncating or extending a valid wrap by a semiblock breaks it too.
        assert!(unwrap_padded(&k, &w[..32]).is_err());
        let mut longer = w.clone();
        longer.extend_from_slice(&[0; 8]);
        assert!(unwrap_padded(&k, &longer).is_err());
    }

    proptest! {
        #[test]
        fn any_single_bit_flip_is_detected(pt in proptest::collection::vec(any::<u8>(), 1..100),
                                           pos in any::<prop::sample::Index>(), bit in 0usize..8) {
            let k = KeyMaterial::new([7; 32]);
            let mut w = wrap_padded(&k, &pt).unwrap();
            let i = pos.index(w.len());
            w[i] ^= 1 << bit;
            prop_assert!(unwrap_padded(&k, &w).is_err());
        }

        #[test]
        fn unwrap_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = unwrap_padded(&KeyMaterial::new([3; 32]), &data);
        }
    }
}

use super::*;
use crate::random::SystemRandom;
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256};
use proptest::prelude::*;
use std::sync::OnceLock;

const ALGS: [WrappingAlgorithm; 4] = WrappingAlgorithm::ALL;

/// Key generation is the slow part; the tests share one pair per size (and a second 2048-bit
/// pair for the wrong-key test).
fn pair(spec: WrappingKeySpec) -> &'static WrappingKeyPair {
    static P2048: OnceLock<WrappingKeyPair> = OnceLock::new();
    static P3072: OnceLock<WrappingKeyPair> = OnceLock::new();
    static P4096: OnceLock<WrappingKeyPair> = OnceLock::new();
    let cell = match spec {
        WrappingKeySpec::Rsa2048 => &P2048,
        WrappingKeySpec::Rsa3072 => &P3072,
        WrappingKeySpec::Rsa4096 => &P4096,
    };
    cell.get_or_init(|| WrappingKeyPair::generate(spec).unwrap())
}

fn other_2048() -> &'static WrappingKeyPair {
    static P: OnceLock<WrappingKeyPair> = OnceLock::new();
    P.get_or_init(|| WrappingKeyPair::generate(WrappingKeySpec::Rsa2048).unwrap())
}

fn p2048() -> &'static WrappingKeyPair {
    pair(WrappingKeySpec::Rsa2048)
}

/// A `Random` that always yields the same byte, to see where the ephemeral key ends up.
struct FixedRandom(u8);

impl Random for FixedRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        dest.fill(self.0);
        Ok(())
    }
}

fn material() -> [u8; 32] {
    random::array(&SystemRandom).unwrap()
}

fn wrap(p: &WrappingKeyPair, alg: WrappingAlgorithm, m: &[u8]) -> Vec<u8> {
    wrap_for_import(&p.public_spki_der, alg, m, &SystemRandom).unwrap()
}

fn unwrap(
    p: &WrappingKeyPair,
    alg: WrappingAlgorithm,
    w: &[u8],
) -> Result<SecretBytes, CryptoError> {
    unwrap_import(p.private_pkcs8.expose(), alg, w)
}

/// RSA-OAEP straight from aws-lc, to build blobs `wrap_for_import` refuses to make.
fn raw_oaep(p: &WrappingKeyPair, oaep: &'static OaepAlgorithm, pt: &[u8]) -> Vec<u8> {
    let key =
        OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&p.public_spki_der).unwrap())
            .unwrap();
    let mut out = vec![0u8; key.ciphertext_size()];
    let len = key.encrypt(oaep, pt, &mut out, None).unwrap().len();
    out.truncate(len);
    out
}

fn round_trip_every_algorithm(spec: WrappingKeySpec) {
    let p = pair(spec);
    let k = spec.modulus_len();
    for alg in ALGS {
        let m = material();
        let w = wrap(p, alg, &m);
        let expected_len = if alg.uses_key_wrap() { k + 40 } else { k };
        assert_eq!(w.len(), expected_len, "{spec:?} {alg:?}");
        assert_eq!(unwrap(p, alg, &w).unwrap().expose(), &m, "{spec:?} {alg:?}");
        // Randomized: OAEP seeds (and ephemeral keys) differ between two wraps.
        assert_ne!(wrap(p, alg, &m), w, "{spec:?} {alg:?}");
    }
}

#[test]
fn round_trip_rsa_2048_every_algorithm() {
    round_trip_every_algorithm(WrappingKeySpec::Rsa2048);
}

#[test]
fn round_trip_rsa_3072_every_algorithm() {
    round_trip_every_algorithm(WrappingKeySpec::Rsa3072);
}

#[test]
fn round_trip_rsa_4096_every_algorithm() {
    round_trip_every_algorithm(WrappingKeySpec::Rsa4096);
}

#[test]
fn generated_pair_has_the_requested_size_and_standard_encodings() {
    for spec in [WrappingKeySpec::Rsa2048, WrappingKeySpec::Rsa3072] {
        let p = pair(spec);
        assert_eq!(p.spec, spec);
        let private = PrivateDecryptingKey::from_pkcs8(p.private_pkcs8.expose()).unwrap();
        assert_eq!(private.key_size_bits(), spec.bits());
        let public = PublicEncryptingKey::from_der(&p.public_spki_der).unwrap();
        assert_eq!(public.key_size_bytes(), spec.modulus_len());
        assert_eq!(
            private.public_key().as_der().unwrap().as_ref(),
            p.public_spki_der
        );
        // SPKI and PKCS#8 are both DER SEQUENCEs; the public half must not hold the private one.
        assert_eq!(p.public_spki_der[0], 0x30);
        assert!(p.public_spki_der.len() < p.private_pkcs8.expose().len());
    }
    let p = p2048();
    assert_eq!(
        format!("{p:?}"),
        format!(
            "WrappingKeyPair {{ spec: Rsa2048, private_pkcs8: [REDACTED], public_spki_der_len: {} }}",
            p.public_spki_der.len()
        )
    );
}

#[test]
fn key_wrap_blob_is_rsa_oaep_of_the_ephemeral_key_then_kwp() {
    let p = p2048();
    let k = WrappingKeySpec::Rsa2048.modulus_len();
    let m = material();
    for (alg, oaep) in [
        (WrappingAlgorithm::RsaAesKeyWrapSha1, &OAEP_SHA1_MGF1SHA1),
        (
            WrappingAlgorithm::RsaAesKeyWrapSha256,
            &OAEP_SHA256_MGF1SHA256,
        ),
    ] {
        let w = wrap_for_import(&p.public_spki_der, alg, &m, &FixedRandom(0x5a)).unwrap();
        let (rsa_part, kwp_part) = w.split_at(k);
        // The KWP part is the material under the key the injected `Random` produced …
        let eph = KeyMaterial::new([0x5a; 32]);
        assert_eq!(kwp_part, keywrap::wrap_padded(&eph, &m).unwrap());
        // … and the RSA part is that key under RSA-OAEP with the algorithm's hash.
        let key = OaepPrivateDecryptingKey::new(
            PrivateDecryptingKey::from_pkcs8(p.private_pkcs8.expose()).unwrap(),
        )
        .unwrap();
        assert_eq!(
            oaep_decrypt(&key, oaep, rsa_part).unwrap().expose(),
            &[0x5a; 32]
        );
        assert_eq!(unwrap(p, alg, &w).unwrap().expose(), &m);
    }
}

#[test]
fn direct_blob_is_plain_rsa_oaep_with_the_named_hash() {
    let p = p2048();
    let m = material();
    for (alg, oaep) in [
        (WrappingAlgorithm::RsaesOaepSha1, &OAEP_SHA1_MGF1SHA1),
        (WrappingAlgorithm::RsaesOaepSha256, &OAEP_SHA256_MGF1SHA256),
    ] {
        assert_eq!(unwrap(p, alg, &raw_oaep(p, oaep, &m)).unwrap().expose(), &m);
    }
}

#[test]
fn flipping_any_byte_of_the_blob_fails_for_every_algorithm() {
    let p = p2048();
    for alg in ALGS {
        let w = wrap(p, alg, &material());
        for i in 0..w.len() {
            let mut t = w.clone();
            t[i] ^= 1 << (i % 8);
            assert_eq!(
                unwrap(p, alg, &t).unwrap_err(),
                CryptoError::AuthenticationFailed,
                "{alg:?} byte {i}"
            );
        }
    }
}

#[test]
fn the_wrong_private_key_fails() {
    for alg in ALGS {
        let w = wrap(p2048(), alg, &material());
        assert_eq!(
            unwrap(other_2048(), alg, &w).unwrap_err(),
            CryptoError::AuthenticationFailed
        );
        // A key of another size rejects it on length alone.
        let big = pair(WrappingKeySpec::Rsa3072);
        assert_eq!(
            unwrap(big, alg, &w).unwrap_err(),
            CryptoError::AuthenticationFailed
        );
    }
}

#[test]
fn the_wrong_algorithm_fails() {
    let p = p2048();
    for wrapped_with in ALGS {
        let w = wrap(p, wrapped_with, &material());
        for unwrapped_with in ALGS.into_iter().filter(|a| *a != wrapped_with) {
            assert_eq!(
                unwrap(p, unwrapped_with, &w).unwrap_err(),
                CryptoError::AuthenticationFailed,
                "{wrapped_with:?} opened as {unwrapped_with:?}"
            );
        }
    }
}

#[test]
fn blob_lengths_are_bounded() {
    let p = p2048();
    let k = WrappingKeySpec::Rsa2048.modulus_len();
    let fail = |alg, len: usize| {
        assert_eq!(
            unwrap(p, alg, &vec![0x11; len]).unwrap_err(),
            CryptoError::AuthenticationFailed,
            "{alg:?} {len}"
        );
    };
    for alg in [
        WrappingAlgorithm::RsaesOaepSha1,
        WrappingAlgorithm::RsaesOaepSha256,
    ] {
        assert_eq!(alg.wrapped_len_range(k), k..=k);
        for len in [0, 1, k - 1, k + 1, k + 40] {
            fail(alg, len);
        }
    }
    for alg in [
        WrappingAlgorithm::RsaAesKeyWrapSha1,
        WrappingAlgorithm::RsaAesKeyWrapSha256,
    ] {
        assert_eq!(alg.wrapped_len_range(k), k + 16..=k + MAX_KWP_LEN);
        for len in [0, k, k + 8, k + 15, k + MAX_KWP_LEN + 8, 1 << 20] {
            fail(alg, len);
        }
        // The largest material that fits the bound round-trips at exactly the bound …
        let m = vec![0xab; MAX_KWP_LEN - 8];
        let w = wrap(p, alg, &m);
        assert_eq!(w.len(), k + MAX_KWP_LEN);
        assert_eq!(unwrap(p, alg, &w).unwrap().expose(), &m);
        // … one byte more is refused on the wrapping side.
        let too_long = vec![0xab; MAX_KWP_LEN - 7];
        assert_eq!(
            wrap_for_import(&p.public_spki_der, alg, &too_long, &SystemRandom),
            Err(CryptoError::InvalidLength)
        );
    }
}

#[test]
fn oaep_material_limits_follow_the_hash() {
    let p = p2048();
    // k − 2·hLen − 2: 256 − 42 − 2 = 214 for SHA-1, 256 − 64 − 2 = 190 for SHA-256.
    for (alg, max) in [
        (WrappingAlgorithm::RsaesOaepSha1, 214),
        (WrappingAlgorithm::RsaesOaepSha256, 190),
    ] {
        let m = vec![7u8; max];
        assert_eq!(unwrap(p, alg, &wrap(p, alg, &m)).unwrap().expose(), &m);
        assert_eq!(
            wrap_for_import(&p.public_spki_der, alg, &vec![7u8; max + 1], &SystemRandom),
            Err(CryptoError::InvalidLength)
        );
    }
}

#[test]
fn empty_material_and_odd_ephemeral_keys_are_refused() {
    let p = p2048();
    for alg in ALGS {
        assert_eq!(
            wrap_for_import(&p.public_spki_der, alg, b"", &SystemRandom),
            Err(CryptoError::InvalidLength)
        );
    }
    // OAEP can carry an empty message; an import of nothing is still a failure.
    for (alg, oaep) in [
        (WrappingAlgorithm::RsaesOaepSha1, &OAEP_SHA1_MGF1SHA1),
        (WrappingAlgorithm::RsaesOaepSha256, &OAEP_SHA256_MGF1SHA256),
    ] {
        let w = raw_oaep(p, oaep, b"");
        assert_eq!(
            unwrap(p, alg, &w).unwrap_err(),
            CryptoError::AuthenticationFailed
        );
    }
    // The ephemeral key must be AES-256: a 16- or 33-byte key in front of a well-formed KWP
    // part fails like everything else.
    let kwp = keywrap::wrap_padded(&KeyMaterial::new([1; 32]), &[2; 32]).unwrap();
    for eph_len in [0, 16, 31, 33] {
        let mut w = raw_oaep(p, &OAEP_SHA256_MGF1SHA256, &vec![1u8; eph_len]);
        w.extend_from_slice(&kwp);
        assert_eq!(
            unwrap(p, WrappingAlgorithm::RsaAesKeyWrapSha256, &w).unwrap_err(),
            CryptoError::AuthenticationFailed,
            "ephemeral key of {eph_len} bytes"
        );
    }
    // The same blob with a 32-byte ephemeral key is fine (the check above is about length).
    let mut w = raw_oaep(p, &OAEP_SHA256_MGF1SHA256, &[1u8; 32]);
    w.extend_from_slice(&kwp);
    let m = unwrap(p, WrappingAlgorithm::RsaAesKeyWrapSha256, &w).unwrap();
    assert_eq!(m.expose(), &[2; 32]);
}

#[test]
fn unusable_keys_are_invalid_key_errors() {
    let p = p2048();
    let w = wrap(p, WrappingAlgorithm::RsaesOaepSha256, &material());
    for bad in [&b""[..], b"not a key", &p.public_spki_der] {
        assert_eq!(
            unwrap_import(bad, WrappingAlgorithm::RsaesOaepSha256, &w).unwrap_err(),
            CryptoError::InvalidKey
        );
    }
    let mut truncated = p.private_pkcs8.expose().clone();
    truncated.truncate(truncated.len() - 1);
    assert_eq!(
        unwrap_import(&truncated, WrappingAlgorithm::RsaesOaepSha256, &w).unwrap_err(),
        CryptoError::InvalidKey
    );
    for bad in [&b""[..], b"not a key", p.private_pkcs8.expose()] {
        for alg in ALGS {
            assert_eq!(
                wrap_for_import(bad, alg, &[1; 32], &SystemRandom),
                Err(CryptoError::InvalidKey)
            );
        }
    }
}

/// Valid RSA-OAEP encryptions (SHA-1, SHA-256) of an ephemeral key under the shared 2048-bit
/// key, so that arbitrary bytes after them reach the KWP code.
fn valid_rsa_parts() -> &'static [Vec<u8>; 2] {
    static W: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    W.get_or_init(|| {
        [
            raw_oaep(p2048(), &OAEP_SHA1_MGF1SHA1, &[9u8; 32]),
            raw_oaep(p2048(), &OAEP_SHA256_MGF1SHA256, &[9u8; 32]),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bit_flips_fail(alg in 0usize..4, pos in any::<prop::sample::Index>(), bit in 0usize..8) {
        let p = p2048();
        let alg = ALGS[alg];
        let mut w = wrap(p, alg, &material());
        let i = pos.index(w.len());
        w[i] ^= 1 << bit;
        prop_assert_eq!(unwrap(p, alg, &w).unwrap_err(), CryptoError::AuthenticationFailed);
    }
}

proptest! {
    #[test]
    fn unwrap_import_never_panics_on_arbitrary_blobs(
        alg in 0usize..4,
        data in proptest::collection::vec(any::<u8>(), 0..1400),
    ) {
        // Random bytes are never a valid OAEP ciphertext (about 2^-160 for SHA-1).
        prop_assert!(unwrap(p2048(), ALGS[alg], &data).is_err());
    }

    #[test]
    fn unwrap_import_never_panics_on_arbitrary_kwp_parts(
        sha256 in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..1100),
    ) {
        let (alg, rsa_part) = if sha256 {
            (WrappingAlgorithm::RsaAesKeyWrapSha256, &valid_rsa_parts()[1])
        } else {
            (WrappingAlgorithm::RsaAesKeyWrapSha1, &valid_rsa_parts()[0])
        };
        let mut w = rsa_part.clone();
        w.extend_from_slice(&tail);
        prop_assert_eq!(unwrap(p2048(), alg, &w).unwrap_err(), CryptoError::AuthenticationFailed);
    }

    #[test]
    fn unwrap_import_never_panics_on_arbitrary_keys(
        key in proptest::collection::vec(any::<u8>(), 0..600),
        alg in 0usize..4,
    ) {
        prop_assert_eq!(unwrap_import(&key, ALGS[alg], &[0; 256]).unwrap_err(), CryptoError::InvalidKey);
    }
}

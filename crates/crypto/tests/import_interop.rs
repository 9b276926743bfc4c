//! Cross-check of `import::unwrap_import` against implementations that share no code with
//! aws-lc-rs: blobs wrapped by Python's `cryptography` package and by the `openssl` command
//! line, the latter with the very commands AWS's developer guide gives customers
//! (`tests/interop/wrap_like_aws.py`).
//!
//! These tests fail, never skip, when their tool is missing: the interpreter is
//! `$STRONGROOM_PYTHON`, else the workspace's `.venv/bin/python` (which `scripts/test` creates
//! with the pinned `cryptography`), else `python3`; the second test also needs `openssl` on the
//! `PATH`.
#![cfg(test)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use strongroom_crypto::import::{
    WrappingAlgorithm, WrappingKeyPair, WrappingKeySpec, unwrap_import,
};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("STRONGROOM_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("python3")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/wrap_like_aws.py")
}

fn pairs() -> &'static [WrappingKeyPair] {
    static P: OnceLock<Vec<WrappingKeyPair>> = OnceLock::new();
    P.get_or_init(|| {
        WrappingKeySpec::ALL
            .into_iter()
            .map(|s| WrappingKeyPair::generate(s).unwrap())
            .collect()
    })
}

fn algorithm(name: &str) -> WrappingAlgorithm {
    match name {
        "RSAES_OAEP_SHA_1" => WrappingAlgorithm::RsaesOaepSha1,
        "RSAES_OAEP_SHA_256" => WrappingAlgorithm::RsaesOaepSha256,
        "RSA_AES_KEY_WRAP_SHA_1" => WrappingAlgorithm::RsaAesKeyWrapSha1,
        "RSA_AES_KEY_WRAP_SHA_256" => WrappingAlgorithm::RsaAesKeyWrapSha256,
        other => panic!("unknown algorithm {other}"),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Runs the script in `mode` against `pair`'s public key and checks every wrap it prints.
/// Returns how many blobs were unwrapped.
fn check(mode: &str, pair: &WrappingKeyPair, per_algorithm: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let spki = dir.path().join("WrappingPublicKey.bin");
    std::fs::write(&spki, &pair.public_spki_der).unwrap();
    let python = python();
    let out = Command::new(&python)
        .arg(script())
        .arg(mode)
        .arg(&spki)
        .arg(per_algorithm.to_string())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (set STRONGROOM_PYTHON): {e}",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{} {mode} failed: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut seen = [0usize; 4];
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "bad line {line:?}");
        let alg = algorithm(fields[0]);
        let (material, wrapped) = (unhex(fields[1]), unhex(fields[2]));
        let k = pair.spec.modulus_len();
        let expected_len = if alg.uses_key_wrap() { k + 40 } else { k };
        assert_eq!(
            wrapped.len(),
            expected_len,
            "{mode} {:?} {alg:?}",
            pair.spec
        );
        let got = unwrap_import(pair.private_pkcs8.expose(), alg, &wrapped)
            .unwrap_or_else(|e| panic!("{mode} {:?} {alg:?}: {e}", pair.spec));
        assert_eq!(got.expose(), &material, "{mode} {:?} {alg:?}", pair.spec);
        let i = WrappingAlgorithm::ALL
            .iter()
            .position(|a| *a == alg)
            .unwrap();
        seen[i] += 1;
    }
    assert_eq!(seen, [per_algorithm; 4], "{mode}: wraps per algorithm");
    seen.iter().sum()
}

#[test]
fn python_cryptography_wraps_unwrap_for_every_algorithm_and_key_spec() {
    let n: usize = pairs().iter().map(|p| check("library", p, 3)).sum();
    assert_eq!(n, 3 * 4 * 3);
}

#[test]
fn openssl_cli_wraps_made_as_in_the_aws_docs_unwrap() {
    let n: usize = pairs().iter().map(|p| check("openssl", p, 1)).sum();
    assert_eq!(n, 3 * 4);
}

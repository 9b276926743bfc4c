//! The digest signing key: created on first open, stored wrapped under the root key, reused.
//!
//! - `signing-key`: the 8-byte header `SRAUDSK1` followed by
//!   `RootKey::wrap(aad = "strongroom/audit/signing-key/v1", PKCS#8 v2 of the Ed25519 key)`,
//!   mode 0600;
//! - `public-key`: the public key as a PEM `PUBLIC KEY` (X.509 `SubjectPublicKeyInfo`), which
//!   `openssl pkey -pubin -in public-key -text` reads, mode 0644.
//!
//! Both are written to a temporary name, synced and renamed into place, then the directory is
//! synced, so a crash leaves either the complete file or none.

use crate::AuditError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::io::Write as _;
use std::path::Path;
use strongroom_crypto::random::Random;
use strongroom_crypto::seal::RootKey;
use strongroom_crypto::signing::{Ed25519PublicKey, Ed25519SigningKey};

/// File name of the wrapped signing key.
pub const SIGNING_KEY_FILE: &str = "signing-key";
/// File name of the PEM public key.
pub const PUBLIC_KEY_FILE: &str = "public-key";

const SIGNING_KEY_MAGIC: &[u8; 8] = b"SRAUDSK1";
/// Associated data of the wrapped signing key: it cannot be swapped for another wrapped value.
const SIGNING_KEY_AAD: &[u8] = b"strongroom/audit/signing-key/v1";

const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";

/// The public key as PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo DER in base64).
pub fn public_key_pem(key: &Ed25519PublicKey) -> String {
    format!(
        "{PEM_BEGIN}\n{}\n{PEM_END}\n",
        STANDARD.encode(key.to_spki_der())
    )
}

/// Parses a public key given as PEM (as in the `public-key` file), as SubjectPublicKeyInfo
/// DER, or as the 32 raw bytes.
pub fn parse_public_key(bytes: &[u8]) -> Option<Ed25519PublicKey> {
    if bytes.len() == 32 {
        return Ed25519PublicKey::from_bytes(bytes).ok();
    }
    if let Ok(key) = Ed25519PublicKey::from_spki_der(bytes) {
        return Some(key);
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let body = text.strip_prefix(PEM_BEGIN)?.strip_suffix(PEM_END)?;
    let b64: String = body.split_whitespace().collect();
    let der = STANDARD.decode(b64).ok()?;
    Ed25519PublicKey::from_spki_der(&der).ok()
}

/// Reads the `public-key` file of a log directory. Convenient, but it trusts the directory:
/// someone who can rewrite the log can rewrite this file too, so verify against a copy of the
/// key kept elsewhere (see the crate docs).
pub fn read_public_key(dir: &Path) -> Result<Ed25519PublicKey, AuditError> {
    let path = dir.join(PUBLIC_KEY_FILE);
    let bytes = std::fs::read(&path).map_err(|e| AuditError::io(&path, e))?;
    parse_public_key(&bytes).ok_or(AuditError::Key(
        "the public-key file is not an Ed25519 public key",
    ))
}

/// Loads the signing key of `dir`, creating it (and the public key file) if the directory has
/// neither a key nor any segment. `log_exists` says whether segments exist.
pub(crate) fn load_or_create(
    dir: &Path,
    root: &RootKey,
    rng: &dyn Random,
    log_exists: bool,
) -> Result<Ed25519SigningKey, AuditError> {
    let key_path = dir.join(SIGNING_KEY_FILE);
    let pub_path = dir.join(PUBLIC_KEY_FILE);
    let key = match std::fs::read(&key_path) {
        Ok(stored) => {
            let wrapped = stored
                .strip_prefix(&SIGNING_KEY_MAGIC[..])
                .ok_or(AuditError::Key(
                    "the signing-key file has no SRAUDSK1 header",
                ))?;
            let pkcs8 = root.unwrap(SIGNING_KEY_AAD, wrapped).map_err(|_| {
                AuditError::Key("the signing key does not unwrap under this root key")
            })?;
            Ed25519SigningKey::from_pkcs8(pkcs8.expose())
                .map_err(|_| AuditError::Key("the unwrapped signing key is not Ed25519 PKCS#8"))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if log_exists || pub_path.exists() {
                // A new key could not verify the existing digests; refuse rather than hide it.
                return Err(AuditError::Key(
                    "the signing-key file is missing but the log (or its public key) exists",
                ));
            }
            let key = Ed25519SigningKey::generate(rng).map_err(AuditError::Crypto)?;
            let pkcs8 = key.to_pkcs8().map_err(AuditError::Crypto)?;
            let wrapped = root
                .wrap(rng, SIGNING_KEY_AAD, pkcs8.expose())
                .map_err(AuditError::Crypto)?;
            let mut content = SIGNING_KEY_MAGIC.to_vec();
            content.extend_from_slice(&wrapped);
            write_atomically(dir, SIGNING_KEY_FILE, &content, 0o600)?;
            tracing::info!(dir = %dir.display(), "created the audit log signing key");
            key
        }
        Err(e) => return Err(AuditError::io(&key_path, e)),
    };
    let public = key.public_key();
    match std::fs::read(&pub_path) {
        Ok(bytes) => {
            if parse_public_key(&bytes) != Some(public) {
                return Err(AuditError::Key(
                    "the public-key file does not match the signing key (was it replaced?)",
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_atomically(
                dir,
                PUBLIC_KEY_FILE,
                public_key_pem(&public).as_bytes(),
                0o644,
            )?;
        }
        Err(e) => return Err(AuditError::io(&pub_path, e)),
    }
    Ok(key)
}

/// Writes `name` in `dir` through a temporary file, fsync and rename, then syncs the directory.
fn write_atomically(dir: &Path, name: &str, content: &[u8], mode: u32) -> Result<(), AuditError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| AuditError::io(&tmp, e))?;
    f.write_all(content).map_err(|e| AuditError::io(&tmp, e))?;
    f.sync_all().map_err(|e| AuditError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| AuditError::io(&path, e))?;
    crate::writer::sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strongroom_crypto::random::SystemRandom;

    #[test]
    fn pem_round_trips_and_raw_and_der_are_accepted() {
        let key = Ed25519SigningKey::generate(&SystemRandom)
            .unwrap()
            .public_key();
        let pem = public_key_pem(&key);
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
        assert_eq!(parse_public_key(pem.as_bytes()), Some(key));
        assert_eq!(parse_public_key(key.as_bytes()), Some(key));
        assert_eq!(parse_public_key(&key.to_spki_der()), Some(key));
        assert_eq!(
            parse_public_key(b"-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----"),
            None
        );
        assert_eq!(parse_public_key(b""), None);
    }

    #[test]
    fn created_once_then_reused_and_bound_to_the_root_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = RootKey::generate(&SystemRandom).unwrap();
        let k1 = load_or_create(dir.path(), &root, &SystemRandom, false).unwrap();
        let k2 = load_or_create(dir.path(), &root, &SystemRandom, true).unwrap();
        assert_eq!(k1.public_key(), k2.public_key());
        assert_eq!(read_public_key(dir.path()).unwrap(), k1.public_key());
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(SIGNING_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let other_root = RootKey::generate(&SystemRandom).unwrap();
        assert!(matches!(
            load_or_create(dir.path(), &other_root, &SystemRandom, true),
            Err(AuditError::Key(_))
        ));

        // A replaced public key file is refused.
        let other = Ed25519SigningKey::generate(&SystemRandom)
            .unwrap()
            .public_key();
        std::fs::write(dir.path().join(PUBLIC_KEY_FILE), public_key_pem(&other)).unwrap();
        assert!(matches!(
            load_or_create(dir.path(), &root, &SystemRandom, true),
            Err(AuditError::Key(_))
        ));

        // A lost public key file is rewritten from the signing key.
        std::fs::remove_file(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        load_or_create(dir.path(), &root, &SystemRandom, true).unwrap();
        assert_eq!(read_public_key(dir.path()).unwrap(), k1.public_key());

        // A lost signing key is not silently replaced.
        std::fs::remove_file(dir.path().join(SIGNING_KEY_FILE)).unwrap();
        assert!(matches!(
            load_or_create(dir.path(), &root, &SystemRandom, true),
            Err(AuditError::Key(_))
        ));
    }
}

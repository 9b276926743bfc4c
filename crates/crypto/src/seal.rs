//! The root key and the seals that keep it at rest.
//!
//! The root key wraps every stored piece of key material and every stored secret. A [`Seal`]
//! produces it at start-up: the dev seal reads it from a file; later seals derive it from a
//! passphrase, reassemble it from Shamir shares or keep it inside an HSM.

use crate::CryptoError;
use crate::aead::{self, NONCE_LEN};
use crate::random::{self, Random};
use crate::secret::{KeyMaterial, SecretBytes};
use std::fmt;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// The 256-bit root of the key hierarchy. Only wraps and unwraps; never leaves this type.
pub struct RootKey(KeyMaterial);

impl RootKey {
    /// Generates a fresh root key.
    pub fn generate(rng: &dyn Random) -> Result<Self, CryptoError> {
        Ok(Self(KeyMaterial::new(random::array(rng)?)))
    }

    /// Encrypts `plaintext` under the root key; `aad` names what is wrapped (for key material:
    /// the key ARN and the material version), so a wrapped value cannot be moved to another
    /// record.
    pub fn wrap(
        &self,
        rng: &dyn Random,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let nonce: [u8; NONCE_LEN] = random::array(rng)?;
        aead::wrap(&self.0, &nonce, aad, plaintext)
    }

    /// Reverses [`RootKey::wrap`]; fails if the value or its `aad` was changed.
    pub fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<SecretBytes, CryptoError> {
        aead::unwrap(&self.0, aad, wrapped)
    }

    /// A keyed fingerprint of `data` for purpose `label`: HMAC-SHA-256 under a key derived from
    /// the root key for that label. It identifies a secret (imported key material, say)
    /// without revealing it, and means nothing without the root key.
    pub fn fingerprint(&self, label: &[u8], data: &[u8]) -> [u8; 32] {
        let mut info = b"strongroom/fingerprint/v1\0".to_vec();
        info.extend_from_slice(label);
        let subkey = KeyMaterial::new(crate::digest::hmac_sha256(self.0.expose(), &info));
        crate::digest::hmac_sha256(subkey.expose(), data)
    }

    /// Unwraps a 32-byte value (key material).
    pub fn unwrap_key(&self, aad: &[u8], wrapped: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let bytes = self.unwrap(aad, wrapped)?;
        let arr: [u8; 32] = bytes
            .expose()
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidLength)?;
        Ok(KeyMaterial::new(arr))
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey([REDACTED])")
    }
}

/// Why a seal could not produce the root key.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Reading or writing the sealed root key failed.
    #[error("root key file {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The stored root key is not in the expected format.
    #[error("root key file {path} is malformed: {reason}")]
    Malformed {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Randomness for a new root key was unavailable.
    #[error("could not generate a root key: {0}")]
    Crypto(#[from] CryptoError),
}

/// Produces the root key at start-up.
pub trait Seal: Send + Sync + fmt::Debug {
    /// Returns the root key, creating it first if this seal starts a new data directory.
    fn unseal(&self, rng: &dyn Random) -> Result<RootKey, SealError>;
    /// A short description for the start-up log (never the key).
    fn describe(&self) -> String;
}

const DEV_FILE_MAGIC: &[u8; 8] = b"SRDEVRK1";

/// The development seal: the root key sits unprotected in a file (mode 0600). Anyone who can
/// read that file can unwrap every key, so the server warns loudly whenever it uses this seal.
#[derive(Debug, Clone)]
pub struct DevFileSeal {
    path: PathBuf,
}

impl DevFileSeal {
    /// A dev seal whose root key lives at `path` (normally `DATA_DIR/root.key`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn io(&self, source: std::io::Error) -> SealError {
        SealError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn read(&self) -> Result<RootKey, SealError> {
        let mut f = std::fs::File::open(&self.path).map_err(|e| self.io(e))?;
        let mut buf = SecretBytes::new(Vec::with_capacity(40));
        // Read at most one byte more than a valid file, so a huge file is refused cheaply.
        let mut limited = (&mut f).take(41);
        let mut tmp = Vec::with_capacity(41);
        limited.read_to_end(&mut tmp).map_err(|e| self.io(e))?;
        *buf.expose_mut() = tmp;
        let bytes = buf.expose();
        if bytes.len() != 40 || &bytes[..8] != DEV_FILE_MAGIC {
            return Err(SealError::Malformed {
                path: self.path.clone(),
                reason: "expected the 8-byte header SRDEVRK1 followed by 32 key bytes",
            });
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[8..]);
        Ok(RootKey(KeyMaterial::new(key)))
    }

    fn create(&self, rng: &dyn Random) -> Result<RootKey, SealError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let key: [u8; 32] = random::array(rng)?;
        let mut content = SecretBytes::new(Vec::with_capacity(40));
        content.expose_mut().extend_from_slice(DEV_FILE_MAGIC);
        content.expose_mut().extend_from_slice(&key);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        f.write_all(content.expose()).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        if let Some(dir) = self.path.parent() {
            sync_dir(dir).map_err(|e| self.io(e))?;
        }
        Ok(RootKey(KeyMaterial::new(key)))
    }
}

/// Makes a newly created directory entry durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(dir)?.sync_all()
}

impl Seal for DevFileSeal {
    fn unseal(&self, rng: &dyn Random) -> Result<RootKey, SealError> {
        match self.read() {
            Err(SealError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                self.create(rng)
            }
            other => other,
        }
    }

    fn describe(&self) -> String {
        format!(
            "dev seal: root key stored UNPROTECTED in {}",
            self.path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandom;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn dev_seal_creates_0600_file_and_reads_the_same_key_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let seal = DevFileSeal::new(&path);
        let k1 = seal.unseal(&SystemRandom).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let wrapped = k1.wrap(&SystemRandom, b"aad", b"material").unwrap();
        let k2 = seal.unseal(&SystemRandom).unwrap();
        assert_eq!(k2.unwrap(b"aad", &wrapped).unwrap().expose(), b"material");
        assert_eq!(format!("{k2:?}"), "RootKey([REDACTED])");
    }

    #[test]
    fn fingerprints_depend_on_root_label_and_data() {
        let a = RootKey::generate(&SystemRandom).unwrap();
        let b = RootKey::generate(&SystemRandom).unwrap();
        assert_eq!(a.fingerprint(b"l", b"d"), a.fingerprint(b"l", b"d"));
        assert_ne!(a.fingerprint(b"l", b"d"), b.fingerprint(b"l", b"d"));
        assert_ne!(a.fingerprint(b"l", b"d"), a.fingerprint(b"m", b"d"));
        assert_ne!(a.fingerprint(b"l", b"d"), a.fingerprint(b"l", b"e"));
    }

    #[test]
    fn dev_seal_refuses_a_malformed_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        std::fs::write(&path, b"not a key").unwrap();
        let err = DevFileSeal::new(&path).unseal(&SystemRandom).unwrap_err();
        assert!(matches!(err, SealError::Malformed { .. }), "{err}");
    }
}

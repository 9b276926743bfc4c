//! Dev mode's data directory: creation with private permissions, an exclusive lock so two
//! servers never share one store, and the credentials file a user sources.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;
use strongroom_crypto::secret::SecretBytes;
use strongroom_service::DevCredentials;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Creates the data directory (mode 0700) if needed.
pub(crate) fn prepare_data_dir(dir: &Path) -> Result<(), BoxError> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    Ok(())
}

/// Takes an exclusive lock on `DIR/lock`, held for the life of the returned file. A second
/// server on the same directory would make the key cache stale, so it is refused.
pub(crate) fn lock_data_dir(dir: &Path) -> Result<File, BoxError> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(dir.join("lock"))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(_) => Err(format!("{} is in use by another strongroom process", dir.display()).into()),
    }
}

/// The operator-supplied credentials, if both flags were given.
pub(crate) fn requested_credentials(
    id: Option<String>,
    secret: Option<String>,
) -> Option<(String, SecretBytes)> {
    match (id, secret) {
        (Some(id), Some(secret)) => Some((id, SecretBytes::new(secret.into_bytes()))),
        _ => None,
    }
}

/// The access key id printed at the last start, from `DIR/dev-credentials.env`.
pub(crate) fn previous_access_key_id(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("dev-credentials.env")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("export AWS_ACCESS_KEY_ID="))
        .map(|v| v.trim().to_owned())
}

/// The `export …` lines a user pastes into a shell (they include the secret, so they are a
/// secret too).
pub(crate) fn export_lines(addr: SocketAddr, creds: &DevCredentials) -> SecretBytes {
    let secret = String::from_utf8_lossy(creds.secret_access_key.expose());
    let text = format!(
        "export AWS_ENDPOINT_URL=http://{addr}\n\
         export AWS_ACCESS_KEY_ID={}\n\
         export AWS_SECRET_ACCESS_KEY={secret}\n\
         export AWS_REGION=us-east-1\n\
         export AWS_DEFAULT_REGION=us-east-1\n",
        creds.access_key_id
    );
    SecretBytes::new(text.into_bytes())
}

/// Writes the credentials file atomically with mode 0600.
pub(crate) fn write_credentials_file(path: &Path, content: &SecretBytes) -> Result<(), BoxError> {
    let tmp = path.with_extension("env.tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(content.expose())?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(())
}

//! The dead-letter file: alerts that could not be delivered to a webhook, one JSON object per
//! line, appended and `fdatasync`ed, so an operator can replay them. Mode 0600: alerts name
//! callers and keys. No webhook URL or secret is ever written to it.
//!
//! ```json
//! {"time":"2026-11-29T08:46:10Z","webhook":"ops","reason":"HTTP 503 (attempt 5 of 5)","attempts":5,"alert":{…}}
//! ```

use crate::alert::Alert;
use serde::Serialize;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use strongroom_audit::EventTime;

/// One line of the file.
#[derive(Debug, Serialize)]
pub(crate) struct DeadLetterRecord {
    /// When delivery was given up.
    pub(crate) time: EventTime,
    /// The webhook's name in the configuration.
    pub(crate) webhook: String,
    /// Why: the last attempt's error, a full queue, or shutdown.
    pub(crate) reason: String,
    /// HTTP attempts made.
    pub(crate) attempts: u32,
    /// The alert, exactly as webhooks receive it.
    #[serde(serialize_with = "shared_alert")]
    pub(crate) alert: Arc<Alert>,
}

fn shared_alert<S: serde::Serializer>(alert: &Arc<Alert>, s: S) -> Result<S::Ok, S::Error> {
    alert.as_ref().serialize(s)
}

/// The open file. Appends are serialized by a lock and run on blocking threads.
#[derive(Debug)]
pub(crate) struct DeadLetter {
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl DeadLetter {
    /// Opens (creating) `path` for appending, and makes it mode 0600 whatever it was. A
    /// symbolic link is refused: alerts can name keys and callers, and must not be written
    /// wherever a link points.
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(std::io::Error::other(format!(
                "{} is a symbolic link; give the dead-letter file's real path",
                path.display()
            )));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Arc::new(Mutex::new(file)),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line and syncs it to disk.
    pub(crate) async fn append(&self, record: DeadLetterRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let file = Arc::clone(&self.file);
        tokio::task::spawn_blocking(move || {
            let f = file
                .lock()
                .map_err(|_| std::io::Error::other("the dead-letter file's lock is poisoned"))?;
            (&*f).write_all(&line)?;
            f.sync_data()
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn the_file_is_made_private_and_a_symlink_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead.jsonl");
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        DeadLetter::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = DeadLetter::open(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}

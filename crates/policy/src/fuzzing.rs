//! Entry points for the fuzz targets in `fuzz/`: each takes raw bytes and must never panic.

/// Parses `data` (if UTF-8) as a key policy.
pub fn key_policy(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::parse_key_policy(s);
    }
}

//! Secret values: zeroized on drop, `[REDACTED]` in `Debug`, never `Clone` or serializable.
//!
//! Turning a secret into bytes someone can see is always an explicit call to
//! [`Secret::expose`], so a reviewer can find every place a secret leaves its wrapper.

use std::fmt;
use zeroize::Zeroize;

/// A secret value of type `T`. The inner value is wiped from memory when the secret is dropped.
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value that must be treated as secret from now on.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// Borrows the secret value. Every call site is a place where the secret is used in the
    /// clear; keep them few and never pass the result to a formatter or a logger.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutably borrows the secret value, for in-place cryptography.
    pub(crate) fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Secret bytes of any length: plaintexts, data keys, secret access keys.
pub type SecretBytes = Secret<Vec<u8>>;

/// 256 bits of symmetric key material.
pub type KeyMaterial = Secret<[u8; 32]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        let s = SecretBytes::new(b"sentinel-plaintext".to_vec());
        let printed = format!("{s:?} {s:#?}");
        assert_eq!(printed, "[REDACTED] [REDACTED]");
        assert_eq!(s.expose(), b"sentinel-plaintext");
    }

    #[test]
    fn zeroize_wipes_the_value() {
        // Drop runs `zeroize`; check the same call wipes what `expose` shows.
        let mut v = b"sentinel".to_vec();
        v.zeroize();
        assert!(v.is_empty());
        let mut k = [7u8; 32];
        k.zeroize();
        assert_eq!(k, [0u8; 32]);
    }
}

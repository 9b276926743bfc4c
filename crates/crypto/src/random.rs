//! The source of randomness, injected so that tests can substitute a deterministic one.

use crate::CryptoError;
use aws_lc_rs::rand::SecureRandom as _;

/// Fills buffers with cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fills `dest` completely with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG, through aws-lc.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        aws_lc_rs::rand::SystemRandom::new()
            .fill(dest)
            .map_err(|_| CryptoError::Random)
    }
}

/// Returns `N` random bytes from `rng`.
pub fn array<const N: usize>(rng: &dyn Random) -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    rng.fill(&mut out)?;
    Ok(out)
}

/// Returns `n` random bytes as a secret (data keys, GenerateRandom output), generated in place
/// so no copy is left behind.
pub fn secret_bytes(rng: &dyn Random, n: usize) -> Result<crate::secret::SecretBytes, CryptoError> {
    let mut s = crate::secret::SecretBytes::new(vec![0u8; n]);
    rng.fill(s.expose_mut())?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_random_produces_distinct_values() {
        let a: [u8; 32] = array(&SystemRandom).unwrap();
        let b: [u8; 32] = array(&SystemRandom).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
        let s = secret_bytes(&SystemRandom, 17).unwrap();
        assert_eq!(s.expose().len(), 17);
        assert_ne!(s.expose(), &[0u8; 17]);
    }
}

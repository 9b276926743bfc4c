//! The encryption context: non-secret key–value pairs bound to a ciphertext as associated data.
//! Decryption needs exactly the same pairs (an exact, case-sensitive match); order is irrelevant.

use std::collections::BTreeMap;

/// An encryption context. Keys are kept sorted, so equal contexts always encode equally.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    /// A context from its pairs.
    pub fn new(pairs: BTreeMap<String, String>) -> Self {
        Self(pairs)
    }

    /// The pairs, sorted by key.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the canonical encoding: a 4-byte big-endian pair count, then for each pair in
    /// key order the key and the value, each as a 4-byte big-endian length and its UTF-8 bytes.
    /// Length prefixes make the encoding injective: no two contexts share one.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&len32(self.0.len()));
        for (k, v) in &self.0 {
            out.extend_from_slice(&len32(k.len()));
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&len32(v.len()));
            out.extend_from_slice(v.as_bytes());
        }
    }

    /// The size of the canonical encoding, to reserve buffers in one go.
    pub fn canonical_len(&self) -> usize {
        4 + self
            .0
            .iter()
            .map(|(k, v)| 8 + k.len() + v.len())
            .sum::<usize>()
    }
}

fn len32(n: usize) -> [u8; 4] {
    // Request bodies are bounded far below 4 GiB, so lengths always fit; saturate regardless.
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
        EncryptionContext::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn enc(c: &EncryptionContext) -> Vec<u8> {
        let mut v = Vec::new();
        c.write_canonical(&mut v);
        assert_eq!(v.len(), c.canonical_len());
        v
    }

    #[test]
    fn order_of_insertion_does_not_matter() {
        assert_eq!(
            enc(&ctx(&[("a", "1"), ("b", "2")])),
            enc(&ctx(&[("b", "2"), ("a", "1")]))
        );
    }

    #[test]
    fn boundaries_between_keys_and_values_are_unambiguous() {
        assert_ne!(enc(&ctx(&[("ab", "c")])), enc(&ctx(&[("a", "bc")])));
        assert_ne!(enc(&ctx(&[])), enc(&ctx(&[("", "")])));
        assert_ne!(enc(&ctx(&[("a", "A")])), enc(&ctx(&[("a", "a")])));
    }

    proptest! {
        #[test]
        fn encoding_is_injective(a in proptest::collection::btree_map(".{0,4}", ".{0,4}", 0..4),
                                 b in proptest::collection::btree_map(".{0,4}", ".{0,4}", 0..4)) {
            let (ca, cb) = (EncryptionContext::new(a.clone()), EncryptionContext::new(b.clone()));
            prop_assert_eq!(a == b, enc(&ca) == enc(&cb));
        }
    }
}

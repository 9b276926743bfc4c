//! Imported key material (BYOK): the rules of ImportKeyMaterial and DeleteImportedKeyMaterial,
//! and the layout of import tokens.
//!
//! An import token is self-contained: it carries the wrapping private key, encrypted under the
//! root key, with the key it was made for, its algorithm, its spec and its expiry in the
//! authenticated header. No state is kept between GetParametersForImport and
//! ImportKeyMaterial, and a token cannot be moved to another key or altered.
//!
//! ```text
//! offset size field
//!      0    1 token format version (0x01)
//!      1   16 key id
//!     17    1 wrapping algorithm code
//!     18    1 wrapping key spec code
//!     19    8 valid-to, milliseconds since the epoch (i64, big-endian)
//!     27    n the wrapping private key (PKCS#8), wrapped under the root key with
//!             associated data "strongroom/import-token/v1\0" ‖ bytes 0..27
//! ```

use crate::KmsError;
use crate::ids::KeyId;
use crate::key::{ImportedMaterial, Key, KeyManager, Origin, WrappingAlgorithm, WrappingKeySpec};
use crate::time::Timestamp;

/// How long a wrapping key and its import token are valid.
pub const IMPORT_PARAMETERS_VALIDITY_MS: i64 = 24 * 3_600_000;

const TOKEN_V1: u8 = 0x01;
/// Length of the authenticated token header.
pub const TOKEN_HEADER_LEN: usize = 27;

/// The header of an import token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHeader {
    /// The key the token was made for.
    pub key_id: KeyId,
    /// The wrapping algorithm the customer must use.
    pub algorithm: WrappingAlgorithm,
    /// The wrapping key's spec.
    pub spec: WrappingKeySpec,
    /// When token and wrapping key expire.
    pub valid_to: Timestamp,
}

impl TokenHeader {
    /// The 27 header bytes.
    pub fn encode(&self) -> [u8; TOKEN_HEADER_LEN] {
        let mut out = [0u8; TOKEN_HEADER_LEN];
        out[0] = TOKEN_V1;
        out[1..17].copy_from_slice(self.key_id.as_bytes());
        out[17] = self.algorithm.code();
        out[18] = self.spec.code();
        out[19..27].copy_from_slice(&self.valid_to.0.to_be_bytes());
        out
    }

    /// The associated data under which the private key is wrapped.
    pub fn aad(header: &[u8]) -> Vec<u8> {
        let mut aad = b"strongroom/import-token/v1\0".to_vec();
        aad.extend_from_slice(header);
        aad
    }

    /// Splits a token into header and wrapped private key. Anything malformed is
    /// `InvalidImportTokenException`.
    pub fn parse(token: &[u8]) -> Result<(Self, &[u8], &[u8]), KmsError> {
        let invalid = || KmsError::InvalidImportToken("The import token is invalid.".to_owned());
        if token.len() <= TOKEN_HEADER_LEN || token.first() != Some(&TOKEN_V1) {
            return Err(invalid());
        }
        let (header, wrapped) = token.split_at(TOKEN_HEADER_LEN);
        let mut id = [0u8; 16];
        id.copy_from_slice(&header[1..17]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&header[19..27]);
        let h = Self {
            key_id: KeyId::from_bytes(id),
            algorithm: WrappingAlgorithm::from_code(header[17]).ok_or_else(invalid)?,
            spec: WrappingKeySpec::from_code(header[18]).ok_or_else(invalid)?,
            valid_to: Timestamp(i64::from_be_bytes(t)),
        };
        Ok((h, header, wrapped))
    }
}

impl Key {
    /// Import operations apply to customer keys whose origin is EXTERNAL.
    pub fn check_external(&self) -> Result<(), KmsError> {
        self.check_customer_managed()?;
        if self.origin != Origin::External || self.manager != KeyManager::Customer {
            return Err(KmsError::UnsupportedOperation(format!(
                "{} origin is {} which is not valid for this operation.",
                self.arn,
                self.origin.as_str()
            )));
        }
        Ok(())
    }

    /// ImportKeyMaterial with material whose keyed fingerprint is `fingerprint`. Returns
    /// whether the material must be stored (it was absent). Different material than the key
    /// ever had is `IncorrectKeyMaterialException`.
    pub fn import_material(
        &mut self,
        fingerprint: Vec<u8>,
        valid_to: Option<Timestamp>,
    ) -> Result<bool, KmsError> {
        self.check_external()?;
        if let Some(prev) = &self.imported
            && prev.fingerprint != fingerprint
        {
            return Err(KmsError::IncorrectKeyMaterial(format!(
                "The key material is not the key material previously imported into {}.",
                self.arn
            )));
        }
        self.state = self.state.import_material(&self.arn)?;
        let was_present = self.imported.as_ref().is_some_and(|m| m.present);
        self.imported = Some(ImportedMaterial {
            fingerprint,
            valid_to,
            present: true,
        });
        Ok(!was_present)
    }

    /// DeleteImportedKeyMaterial, or expiry: the material goes, its fingerprint stays.
    pub fn delete_imported_material(&mut self) -> Result<(), KmsError> {
        self.check_external()?;
        self.state = self.state.delete_material(&self.arn)?;
        if let Some(m) = &mut self.imported {
            m.present = false;
        }
        Ok(())
    }

    /// Whether imported material has expired at `now` and must be deleted.
    pub fn expiry_due(&self, now: Timestamp) -> bool {
        matches!(
            self.state,
            crate::state::KeyState::Enabled | crate::state::KeyState::Disabled
        ) && self
            .imported
            .as_ref()
            .is_some_and(|m| m.present && m.valid_to.is_some_and(|t| t <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, Region};
    use crate::key::{KeySpec, KeyUsage};
    use crate::state::KeyState;
    use proptest::prelude::*;

    fn external() -> Key {
        Key {
            id: KeyId::from_bytes([3; 16]),
            arn: "arn:aws:kms:us-east-1:111122223333:key/x".into(),
            account: AccountId::parse("111122223333").unwrap(),
            region: Region::parse("us-east-1").unwrap(),
            created_at: Timestamp(0),
            description: String::new(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::External,
            manager: KeyManager::Customer,
            state: KeyState::PendingImport,
            current_version: 1,
            tags: Default::default(),
            policy: String::new(),
            rotation: None,
            on_demand_rotations: 0,
            deletion: None,
            imported: None,
        }
    }

    #[test]
    fn token_header_round_trips_and_malformed_tokens_are_invalid() {
        let h = TokenHeader {
            key_id: KeyId::from_bytes([9; 16]),
            algorithm: WrappingAlgorithm::RsaAesKeyWrapSha256,
            spec: WrappingKeySpec::Rsa3072,
            valid_to: Timestamp(1_800_000_000_123),
        };
        let mut token = h.encode().to_vec();
        token.extend_from_slice(b"wrapped");
        let (parsed, header, wrapped) = TokenHeader::parse(&token).unwrap();
        assert_eq!(
            (parsed, header, wrapped),
            (h, &token[..27], &b"wrapped"[..])
        );
        for bad in [&token[..27], &token[..5], &[][..]] {
            assert!(matches!(
                TokenHeader::parse(bad),
                Err(KmsError::InvalidImportToken(_))
            ));
        }
        let mut wrong = token.clone();
        wrong[17] = 99;
        assert!(TokenHeader::parse(&wrong).is_err());
    }

    #[test]
    fn import_enables_and_only_the_same_material_returns() {
        let mut k = external();
        assert!(k.import_material(vec![1; 32], None).unwrap());
        assert_eq!(k.state, KeyState::Enabled);
        assert!(
            !k.import_material(vec![1; 32], Some(Timestamp(5))).unwrap(),
            "already present"
        );
        assert!(matches!(
            k.import_material(vec![2; 32], None),
            Err(KmsError::IncorrectKeyMaterial(_))
        ));
        k.delete_imported_material().unwrap();
        assert_eq!(k.state, KeyState::PendingImport);
        assert!(matches!(
            k.import_material(vec![2; 32], None),
            Err(KmsError::IncorrectKeyMaterial(_))
        ));
        assert!(
            k.import_material(vec![1; 32], None).unwrap(),
            "same material restores the key"
        );
        assert_eq!(k.state, KeyState::Enabled);
    }

    #[test]
    fn expiry_is_due_only_for_present_expiring_material() {
        let mut k = external();
        k.import_material(vec![1; 32], Some(Timestamp(100)))
            .unwrap();
        assert!(!k.expiry_due(Timestamp(99)));
        assert!(k.expiry_due(Timestamp(100)));
        k.delete_imported_material().unwrap();
        assert!(!k.expiry_due(Timestamp(100)));
    }

    #[test]
    fn import_refuses_keys_that_are_not_external() {
        let mut k = external();
        k.origin = Origin::AwsKms;
        assert!(matches!(
            k.import_material(vec![1; 32], None),
            Err(KmsError::UnsupportedOperation(_))
        ));
        let mut k = external();
        k.state = KeyState::PendingDeletion;
        assert!(matches!(
            k.import_material(vec![1; 32], None),
            Err(KmsError::InvalidState(_))
        ));
    }

    proptest! {
        #[test]
        fn token_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let r = TokenHeader::parse(&bytes);
            if bytes.len() <= TOKEN_HEADER_LEN { prop_assert!(r.is_err()); }
        }
    }
}

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
use crate::state::KeyState;
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

/// Where a material of an imported key stands (ListKeyRotations' KeyMaterialState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaterialState {
    /// The version new ciphertexts use.
    Current,
    /// An earlier version.
    NonCurrent,
    /// Imported as new material, waiting for RotateKeyOnDemand.
    PendingRotation,
}

impl MaterialState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "CURRENT",
            Self::NonCurrent => "NON_CURRENT",
            Self::PendingRotation => "PENDING_ROTATION",
        }
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

    /// The state of material `version` relative to the current one.
    pub fn material_state(&self, version: u32) -> MaterialState {
        match version.cmp(&self.current_version) {
            std::cmp::Ordering::Equal => MaterialState::Current,
            std::cmp::Ordering::Less => MaterialState::NonCurrent,
            std::cmp::Ordering::Greater => MaterialState::PendingRotation,
        }
    }

    /// The imported material of `version`, if any was ever imported for it.
    pub fn imported_material(&self, version: u32) -> Option<&ImportedMaterial> {
        self.imported.iter().find(|m| m.version == version)
    }

    /// ImportKeyMaterial with ImportType EXISTING_KEY_MATERIAL: (re-)imports the material of
    /// `version` (default: the current one). The first import of a key creates its first
    /// material; later ones must bring the same material back. Returns whether the material
    /// must be stored (it was absent).
    pub fn import_existing_material(
        &mut self,
        version: Option<u32>,
        fingerprint: Vec<u8>,
        valid_to: Option<Timestamp>,
    ) -> Result<bool, KmsError> {
        self.check_external()?;
        let target = version.unwrap_or(self.current_version);
        let state = if target == self.current_version {
            self.state.import_material(&self.arn)?
        } else {
            self.state.delete_material(&self.arn).map(|_| self.state)?
        };
        let arn = self.arn.clone();
        let first = self.imported.is_empty() && target == self.current_version;
        let needs_material = match self.imported.iter_mut().find(|m| m.version == target) {
            Some(m) if m.fingerprint != fingerprint => {
                return Err(KmsError::IncorrectKeyMaterial(format!(
                    "The key material is not the key material previously imported into {arn}."
                )));
            }
            Some(m) => {
                let was_present = m.present;
                m.present = true;
                m.valid_to = valid_to;
                !was_present
            }
            None if first => {
                self.imported.push(ImportedMaterial {
                    version: target,
                    fingerprint,
                    valid_to,
                    present: true,
                    rotated_at: None,
                });
                true
            }
            None => {
                return Err(KmsError::NotFound(format!(
                    "{arn} has no key material with the given KeyMaterialId."
                )));
            }
        };
        self.state = state;
        Ok(needs_material)
    }

    /// ImportKeyMaterial with ImportType NEW_KEY_MATERIAL: new material that becomes current
    /// with the next RotateKeyOnDemand. Returns its version.
    pub fn import_new_material(
        &mut self,
        fingerprint: Vec<u8>,
        valid_to: Option<Timestamp>,
    ) -> Result<u32, KmsError> {
        self.check_external()?;
        if !matches!(self.state, KeyState::Enabled | KeyState::Disabled) {
            return Err(KmsError::InvalidState(format!(
                "{} must be Enabled or Disabled with current key material to import new key \
                 material.",
                self.arn
            )));
        }
        if self
            .imported
            .iter()
            .any(|m| m.version > self.current_version)
        {
            return Err(KmsError::InvalidState(format!(
                "{} already has key material pending rotation.",
                self.arn
            )));
        }
        if self.imported.iter().any(|m| m.fingerprint == fingerprint) {
            return Err(KmsError::IncorrectKeyMaterial(format!(
                "The key material is already associated with {}; new key material must differ.",
                self.arn
            )));
        }
        let version = self.imported.iter().map(|m| m.version).max().unwrap_or(0) + 1;
        self.imported.push(ImportedMaterial {
            version,
            fingerprint,
            valid_to,
            present: true,
            rotated_at: None,
        });
        Ok(version)
    }

    /// RotateKeyOnDemand of an imported key: the material pending rotation becomes current.
    pub(crate) fn rotate_to_pending_material(&mut self, now: Timestamp) -> Result<u32, KmsError> {
        let arn = self.arn.clone();
        let current = self.current_version;
        let pending = self
            .imported
            .iter_mut()
            .find(|m| m.version > current && m.present)
            .ok_or_else(|| {
                KmsError::InvalidState(format!(
                    "{arn} has no key material pending rotation: import new key material \
                     (ImportType NEW_KEY_MATERIAL) first."
                ))
            })?;
        pending.rotated_at = Some(now);
        self.current_version = pending.version;
        Ok(self.current_version)
    }

    /// DeleteImportedKeyMaterial of `version` (default: the current one). Deleting the current
    /// material makes the key wait for it again (PendingImport). Returns the version whose
    /// material must be removed.
    pub fn delete_imported_material(&mut self, version: Option<u32>) -> Result<u32, KmsError> {
        self.check_external()?;
        let target = version.unwrap_or(self.current_version);
        let state = if target == self.current_version {
            self.state.delete_material(&self.arn)?
        } else {
            self.state.delete_material(&self.arn).map(|_| self.state)?
        };
        let arn = self.arn.clone();
        let is_current = target == self.current_version;
        match self.imported.iter_mut().find(|m| m.version == target) {
            Some(m) => m.present = false,
            None if is_current => {}
            None => {
                return Err(KmsError::NotFound(format!(
                    "{arn} has no key material with the given KeyMaterialId."
                )));
            }
        }
        self.state = state;
        Ok(target)
    }

    /// Whether some imported material has expired at `now` and must be deleted.
    pub fn expiry_due(&self, now: Timestamp) -> bool {
        self.state != KeyState::PendingDeletion
            && self
                .imported
                .iter()
                .any(|m| m.present && m.valid_to.is_some_and(|t| t <= now))
    }

    /// Deletes every imported material that expired at `now`. Returns their versions.
    pub fn expire_materials(&mut self, now: Timestamp) -> Result<Vec<u32>, KmsError> {
        let due: Vec<u32> = self
            .imported
            .iter()
            .filter(|m| m.present && m.valid_to.is_some_and(|t| t <= now))
            .map(|m| m.version)
            .collect();
        for v in &due {
            self.delete_imported_material(Some(*v))?;
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, Region};
    use crate::key::{KeySpec, KeyUsage};
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
            imported: Vec::new(),
            policy_updated_at: Timestamp(0),
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
        assert!(k.import_existing_material(None, vec![1; 32], None).unwrap());
        assert_eq!(k.state, KeyState::Enabled);
        assert!(
            !k.import_existing_material(None, vec![1; 32], Some(Timestamp(5)))
                .unwrap()
        );
        assert!(matches!(
            k.import_existing_material(None, vec![2; 32], None),
            Err(KmsError::IncorrectKeyMaterial(_))
        ));
        assert_eq!(k.delete_imported_material(None).unwrap(), 1);
        assert_eq!(k.state, KeyState::PendingImport);
        assert!(matches!(
            k.import_existing_material(None, vec![2; 32], None),
            Err(KmsError::IncorrectKeyMaterial(_))
        ));
        assert!(k.import_existing_material(None, vec![1; 32], None).unwrap());
        assert_eq!(k.state, KeyState::Enabled);
    }

    #[test]
    fn new_material_waits_for_rotation_and_old_material_stays_importable() {
        let mut k = external();
        k.import_existing_material(None, vec![1; 32], None).unwrap();
        assert!(matches!(
            k.rotate_to_pending_material(Timestamp(1)),
            Err(KmsError::InvalidState(_))
        ));
        assert!(matches!(
            k.import_new_material(vec![1; 32], None),
            Err(KmsError::IncorrectKeyMaterial(_))
        ));
        assert_eq!(k.import_new_material(vec![2; 32], None).unwrap(), 2);
        assert_eq!(k.material_state(2), MaterialState::PendingRotation);
        assert!(matches!(
            k.import_new_material(vec![3; 32], None),
            Err(KmsError::InvalidState(_))
        ));
        assert_eq!(k.rotate_to_pending_material(Timestamp(9)).unwrap(), 2);
        assert_eq!(
            (k.material_state(1), k.material_state(2)),
            (MaterialState::NonCurrent, MaterialState::Current)
        );
        assert_eq!(
            k.imported_material(2).unwrap().rotated_at,
            Some(Timestamp(9))
        );
        // Deleting the non-current material leaves the key usable; it can come back.
        assert_eq!(k.delete_imported_material(Some(1)).unwrap(), 1);
        assert_eq!(k.state, KeyState::Enabled);
        assert!(
            k.import_existing_material(Some(1), vec![1; 32], None)
                .unwrap()
        );
        assert!(matches!(
            k.import_existing_material(Some(7), vec![1; 32], None),
            Err(KmsError::NotFound(_))
        ));
    }

    #[test]
    fn expiry_is_due_only_for_present_expiring_material() {
        let mut k = external();
        k.import_existing_material(None, vec![1; 32], Some(Timestamp(100)))
            .unwrap();
        assert!(!k.expiry_due(Timestamp(99)));
        assert!(k.expiry_due(Timestamp(100)));
        assert_eq!(k.expire_materials(Timestamp(100)).unwrap(), vec![1]);
        assert_eq!(k.state, KeyState::PendingImport);
        assert!(!k.expiry_due(Timestamp(100)));
    }

    #[test]
    fn import_refuses_keys_that_are_not_external() {
        let mut k = external();
        k.origin = Origin::AwsKms;
        assert!(matches!(
            k.import_existing_material(None, vec![1; 32], None),
            Err(KmsError::UnsupportedOperation(_))
        ));
        let mut k = external();
        k.state = KeyState::PendingDeletion;
        assert!(matches!(
            k.import_existing_material(None, vec![1; 32], None),
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

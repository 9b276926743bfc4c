//! Customer master keys: their specs, usages, origins, managers, and the key aggregate that the
//! store persists as one unit (metadata, tags, policy) beside its wrapped material versions.

use crate::ids::{AccountId, KeyId, Region};
use crate::state::KeyState;
use crate::time::Timestamp;
use std::collections::BTreeMap;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$v),+];

            /// The name used on the wire and in storage.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }

            /// Parses the wire name (exact match).
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)+ _ => None }
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// What kind of key material a key holds.
    KeySpec {
        /// AES-256-GCM symmetric key.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// ECDSA P-256.
        EccNistP256 = "ECC_NIST_P256",
        /// ECDSA P-384.
        EccNistP384 = "ECC_NIST_P384",
        /// ECDSA P-521.
        EccNistP521 = "ECC_NIST_P521",
        /// ECDSA secp256k1.
        EccSecgP256k1 = "ECC_SECG_P256K1",
        /// Ed25519.
        EccNistEdwards25519 = "ECC_NIST_EDWARDS25519",
        /// HMAC-SHA-224.
        Hmac224 = "HMAC_224",
        /// HMAC-SHA-256.
        Hmac256 = "HMAC_256",
        /// HMAC-SHA-384.
        Hmac384 = "HMAC_384",
        /// HMAC-SHA-512.
        Hmac512 = "HMAC_512",
        /// SM2 (never supported).
        Sm2 = "SM2",
        /// ML-DSA-44.
        MlDsa44 = "ML_DSA_44",
        /// ML-DSA-65.
        MlDsa65 = "ML_DSA_65",
        /// ML-DSA-87.
        MlDsa87 = "ML_DSA_87",
        /// ML-KEM-512.
        MlKem512 = "ML_KEM_512",
        /// ML-KEM-768.
        MlKem768 = "ML_KEM_768",
        /// ML-KEM-1024.
        MlKem1024 = "ML_KEM_1024",
    }
);

wire_enum!(
    /// The cryptographic operations a key may perform.
    KeyUsage {
        /// Encrypt and decrypt.
        EncryptDecrypt = "ENCRYPT_DECRYPT",
        /// Sign and verify.
        SignVerify = "SIGN_VERIFY",
        /// Generate and verify MACs.
        GenerateVerifyMac = "GENERATE_VERIFY_MAC",
        /// Derive shared secrets.
        KeyAgreement = "KEY_AGREEMENT",
        /// KEM encapsulation.
        EncapsulateDecapsulate = "ENCAPSULATE_DECAPSULATE",
    }
);

wire_enum!(
    /// Where a key's material came from.
    Origin {
        /// Generated inside Strongroom.
        AwsKms = "AWS_KMS",
        /// Imported by the customer.
        External = "EXTERNAL",
        /// Held in a PKCS#11 custom key store.
        AwsCloudhsm = "AWS_CLOUDHSM",
        /// Held behind an external key store proxy.
        ExternalKeyStore = "EXTERNAL_KEY_STORE",
    }
);

wire_enum!(
    /// Who manages a key.
    KeyManager {
        /// The customer.
        Customer = "CUSTOMER",
        /// The provider (`alias/aws/<service>` keys).
        Aws = "AWS",
    }
);

wire_enum!(
    /// Encryption algorithms a key may use.
    EncryptionAlgorithm {
        /// AES-256-GCM, for symmetric keys.
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA OAEP with SHA-1.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA OAEP with SHA-256.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// SM2 public-key encryption (never supported).
        Sm2pke = "SM2PKE",
    }
);

wire_enum!(
    /// Data key lengths for GenerateDataKey.
    DataKeySpec {
        /// 32 bytes.
        Aes256 = "AES_256",
        /// 16 bytes.
        Aes128 = "AES_128",
    }
);

impl DataKeySpec {
    /// The data key's length in bytes.
    pub fn byte_len(self) -> usize {
        match self {
            Self::Aes256 => 32,
            Self::Aes128 => 16,
        }
    }
}

wire_enum!(
    /// How a key material version came to be.
    RotationType {
        /// By the scheduler, on the key's rotation period.
        Automatic = "AUTOMATIC",
        /// By RotateKeyOnDemand.
        OnDemand = "ON_DEMAND",
    }
);

/// Automatic rotation of a key, when enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationSchedule {
    /// Days between rotations, 90–2560.
    pub period_days: u32,
    /// When the scheduler rotates next.
    pub next_rotation_at: Timestamp,
}

/// A scheduled deletion: the key is destroyed at `deletion_date` unless cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledDeletion {
    /// When the key and its material are destroyed.
    pub deletion_date: Timestamp,
    /// The waiting period it was scheduled with, 7–30 days.
    pub pending_window_days: u32,
}

wire_enum!(
    /// How key material to import is wrapped (GetParametersForImport's WrappingAlgorithm).
    WrappingAlgorithm {
        /// RSA PKCS#1 v1.5 (deprecated by AWS; refused).
        RsaesPkcs1V15 = "RSAES_PKCS1_V1_5",
        /// RSA-OAEP with SHA-1.
        RsaesOaepSha1 = "RSAES_OAEP_SHA_1",
        /// RSA-OAEP with SHA-256.
        RsaesOaepSha256 = "RSAES_OAEP_SHA_256",
        /// RSA-OAEP (SHA-1) of an AES key, then AES key wrap with padding of the material.
        RsaAesKeyWrapSha1 = "RSA_AES_KEY_WRAP_SHA_1",
        /// RSA-OAEP (SHA-256) of an AES key, then AES key wrap with padding of the material.
        RsaAesKeyWrapSha256 = "RSA_AES_KEY_WRAP_SHA_256",
        /// SM2 public-key encryption (never supported).
        Sm2pke = "SM2PKE",
    }
);

wire_enum!(
    /// The wrapping key's type (GetParametersForImport's WrappingKeySpec).
    WrappingKeySpec {
        /// RSA 2048.
        Rsa2048 = "RSA_2048",
        /// RSA 3072.
        Rsa3072 = "RSA_3072",
        /// RSA 4096.
        Rsa4096 = "RSA_4096",
        /// SM2 (never supported).
        Sm2 = "SM2",
    }
);

impl WrappingAlgorithm {
    /// A one-byte code for import tokens.
    pub fn code(self) -> u8 {
        match self {
            Self::RsaesOaepSha1 => 1,
            Self::RsaesOaepSha256 => 2,
            Self::RsaAesKeyWrapSha1 => 3,
            Self::RsaAesKeyWrapSha256 => 4,
            Self::Sm2pke => 5,
            Self::RsaesPkcs1V15 => 6,
        }
    }

    /// The value of a [`WrappingAlgorithm::code`].
    pub fn from_code(c: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.code() == c)
    }
}

impl WrappingKeySpec {
    /// A one-byte code for import tokens.
    pub fn code(self) -> u8 {
        match self {
            Self::Rsa2048 => 1,
            Self::Rsa3072 => 2,
            Self::Rsa4096 => 3,
            Self::Sm2 => 4,
        }
    }

    /// The value of a [`WrappingKeySpec::code`].
    pub fn from_code(c: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.code() == c)
    }
}

/// One imported material of a key (Origin EXTERNAL). The record outlives the material itself:
/// its fingerprint lets a later import be checked to be the same material (AWS refuses
/// different material for an existing version), and ListKeyRotations reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMaterial {
    /// The key material version this material is.
    pub version: u32,
    /// A keyed fingerprint of the material (HMAC under a key derived from the root key): it
    /// identifies the material without revealing it.
    pub fingerprint: Vec<u8>,
    /// When the material expires (`None`: KEY_MATERIAL_DOES_NOT_EXPIRE).
    pub valid_to: Option<Timestamp>,
    /// Whether the material is present now (false after DeleteImportedKeyMaterial or expiry).
    pub present: bool,
    /// When RotateKeyOnDemand made this material current (materials imported as new material).
    pub rotated_at: Option<Timestamp>,
}

/// Maximum number of tags on one key (AWS's quota).
pub const MAX_TAGS_PER_KEY: usize = 50;

/// The key aggregate: everything about a key except its material. The store persists it as
/// one record under one revision, so a change to any part is one optimistic write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key id.
    pub id: KeyId,
    /// The key ARN, fixed at creation (it is bound into wrapped material).
    pub arn: String,
    /// The owning account.
    pub account: AccountId,
    /// The region the key lives in.
    pub region: Region,
    /// When the key was created.
    pub created_at: Timestamp,
    /// Free text, 0–8192 characters.
    pub description: String,
    /// The kind of material.
    pub spec: KeySpec,
    /// What the key may do.
    pub usage: KeyUsage,
    /// Where its material came from.
    pub origin: Origin,
    /// Who manages it.
    pub manager: KeyManager,
    /// Its lifecycle state.
    pub state: KeyState,
    /// The material version new ciphertexts use.
    pub current_version: u32,
    /// Tags, by tag key.
    pub tags: BTreeMap<String, String>,
    /// The key policy document, as the customer wrote it.
    pub policy: String,
    /// When the policy was last set (CreateKey, PutKeyPolicy). A user or role the policy names
    /// is the one that existed then: one deleted and created again later under the same name
    /// is another principal, as AWS binds policy principals to unique ids when it saves them.
    pub policy_updated_at: Timestamp,
    /// Automatic rotation, when enabled.
    pub rotation: Option<RotationSchedule>,
    /// How many on-demand rotations the key has had (AWS limits them per key).
    pub on_demand_rotations: u32,
    /// The scheduled deletion, while the key is pending deletion.
    pub deletion: Option<ScheduledDeletion>,
    /// Imported materials (Origin EXTERNAL), one entry per version, ordered by version; empty
    /// until the first import.
    pub imported: Vec<ImportedMaterial>,
}

impl Key {
    /// Whether the key is enabled (DescribeKey's `Enabled`).
    pub fn enabled(&self) -> bool {
        self.state == KeyState::Enabled
    }

    /// The encryption algorithms the key supports (DescribeKey's `EncryptionAlgorithms`).
    pub fn encryption_algorithms(&self) -> &'static [EncryptionAlgorithm] {
        match (self.usage, self.spec) {
            (KeyUsage::EncryptDecrypt, KeySpec::SymmetricDefault) => {
                &[EncryptionAlgorithm::SymmetricDefault]
            }
            _ => &[],
        }
    }
}

/// One version of a key's material, wrapped under the root key. The associated data of the
/// wrap is [`material_aad`], so a wrapped value only opens for the key and version it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVersion {
    /// The key it belongs to.
    pub key_id: KeyId,
    /// Its number, starting at 1.
    pub version: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// The material, encrypted under the root key. Never plaintext.
    pub wrapped_material: Vec<u8>,
    /// How this version was made: `None` for the key's first material, else the rotation.
    pub rotation_type: Option<RotationType>,
}

/// The associated data that binds wrapped key material to its key ARN and version.
pub fn material_aad(key_arn: &str, version: u32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + key_arn.len());
    aad.extend_from_slice(b"strongroom/key-material/v1\0");
    aad.extend_from_slice(key_arn.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

/// The public identifier of one key material version (AWS's `KeyMaterialId`: 64 hex digits).
/// Derived, not stored: SHA-256 over the key id and the version number.
pub fn key_material_id(key_id: &KeyId, version: u32) -> String {
    let mut input = Vec::with_capacity(48);
    input.extend_from_slice(b"strongroom/key-material-id/v1\0");
    input.extend_from_slice(key_id.as_bytes());
    input.extend_from_slice(&version.to_be_bytes());
    strongroom_crypto::hex::encode(&strongroom_crypto::digest::sha256(&input))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_for_every_value() {
        for s in KeySpec::ALL {
            assert_eq!(KeySpec::parse(s.as_str()), Some(*s));
        }
        for u in KeyUsage::ALL {
            assert_eq!(KeyUsage::parse(u.as_str()), Some(*u));
        }
        for o in Origin::ALL {
            assert_eq!(Origin::parse(o.as_str()), Some(*o));
        }
        assert_eq!(KeySpec::parse("symmetric_default"), None);
        assert_eq!(KeySpec::ALL.len(), 20);
    }

    #[test]
    fn material_aad_separates_keys_and_versions() {
        assert_ne!(material_aad("arn:a", 1), material_aad("arn:a", 2));
        assert_ne!(material_aad("arn:a", 1), material_aad("arn:b", 1));
    }

    #[test]
    fn key_material_ids_are_64_hex_and_distinct() {
        let k = KeyId::from_bytes([1; 16]);
        let a = key_material_id(&k, 1);
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, key_material_id(&k, 2));
        assert_ne!(a, key_material_id(&KeyId::from_bytes([2; 16]), 1));
    }

    #[test]
    fn data_key_lengths() {
        assert_eq!(DataKeySpec::Aes128.byte_len(), 16);
        assert_eq!(DataKeySpec::Aes256.byte_len(), 32);
    }
}

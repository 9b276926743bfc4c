//! The operations of the AWS KMS API (all 56 of botocore's model), by name. Front ends parse
//! their wire names into [`Operation`]; the audit trail and authorization speak of them too.

macro_rules! operations {
    ($($v:ident),+ $(,)?) => {
        /// A KMS API operation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $(
            #[doc = concat!("`", stringify!($v), "`")]
            $v
        ),+ }

        impl Operation {
            /// Every operation, in alphabetical order.
            pub const ALL: &'static [Self] = &[$(Self::$v),+];

            /// The operation's name as in `X-Amz-Target: TrentService.<Name>`.
            pub fn name(self) -> &'static str {
                match self { $(Self::$v => stringify!($v)),+ }
            }

            /// The IAM action that authorizes the operation, `kms:<Name>`. ReEncrypt needs two,
            /// `kms:ReEncryptFrom` and `kms:ReEncryptTo`, which its caller asks for itself.
            pub fn action(self) -> &'static str {
                match self { $(Self::$v => concat!("kms:", stringify!($v))),+ }
            }

            /// Parses an operation name (exact, case-sensitive).
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $(stringify!($v) => Some(Self::$v),)+ _ => None }
            }
        }
    };
}

operations!(
    CancelKeyDeletion,
    ConnectCustomKeyStore,
    CreateAlias,
    CreateCustomKeyStore,
    CreateGrant,
    CreateKey,
    Decapsulate,
    Decrypt,
    DeleteAlias,
    DeleteCustomKeyStore,
    DeleteImportedKeyMaterial,
    DeriveSharedSecret,
    DescribeCustomKeyStores,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    DisconnectCustomKeyStore,
    EnableKey,
    EnableKeyRotation,
    Encapsulate,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GenerateRandom,
    GetKeyLastUsage,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListKeyRotations,
    ListKeys,
    ListResourceTags,
    ListRetirableGrants,
    PutKeyPolicy,
    ReEncrypt,
    ReplicateKey,
    RetireGrant,
    RevokeGrant,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    Sign,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateCustomKeyStore,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_list_is_complete() {
        assert_eq!(Operation::ALL.len(), 56);
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(*op));
        }
        assert_eq!(Operation::from_name("encrypt"), None);
        assert_eq!(Operation::from_name("Encrypt"), Some(Operation::Encrypt));
    }
}

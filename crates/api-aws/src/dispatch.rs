//! Routing `X-Amz-Target` to an operation. Every operation of the AWS KMS API is known; those
//! not implemented yet answer `UnsupportedOperationException` naming the operation.

use crate::error::ApiError;
use crate::ops::{self, Call};
use strongroom_core::KmsError;
use strongroom_core::operation::Operation;
use strongroom_service::{RequestContext, Service};

/// The `X-Amz-Target` prefix of AWS KMS.
const TARGET_PREFIX: &str = "TrentService.";

/// Strongroom's one extension of the protocol: the policy simulator, signed and sent like a
/// KMS operation (`strongroom policy simulate` and the console use it).
pub const SIMULATE_TARGET: &str = "StrongroomService.SimulatePolicy";

/// Parses `X-Amz-Target`.
pub(crate) fn operation(target: &str) -> Result<Operation, ApiError> {
    target
        .strip_prefix(TARGET_PREFIX)
        .and_then(Operation::from_name)
        .ok_or(ApiError::UnknownOperation)
}

/// What `X-Amz-Target` names, parsed once per request (for dispatch and for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A KMS operation.
    Kms(Operation),
    /// The policy simulator ([`SIMULATE_TARGET`]).
    Simulate,
    /// Anything else, or no target.
    Unknown,
}

/// The `operation` label of the policy simulator.
const SIMULATE_OPERATION: &str = "SimulatePolicy";

impl Target {
    pub(crate) fn parse(target: &str) -> Self {
        if target == SIMULATE_TARGET {
            return Self::Simulate;
        }
        operation(target).map_or(Self::Unknown, Self::Kms)
    }

    /// The target's index in [`metric_operations`]; `usize::MAX` (unknown) if it names none.
    pub(crate) fn metric_index(self) -> usize {
        match self {
            // The enum's variants are declared in the order of `Operation::ALL`.
            Self::Kms(op) => op as usize,
            Self::Simulate => Operation::ALL.len(),
            Self::Unknown => usize::MAX,
        }
    }
}

/// The `operation` labels of KMS requests, by [`Target::metric_index`].
pub(crate) fn metric_operations() -> Vec<&'static str> {
    Operation::ALL
        .iter()
        .map(|op| op.name())
        .chain(std::iter::once(SIMULATE_OPERATION))
        .collect()
}

pub(crate) async fn dispatch(
    svc: &Service,
    ctx: &RequestContext,
    target: Target,
    body: &[u8],
) -> Result<Vec<u8>, ApiError> {
    let c = Call { svc, ctx, body };
    let op = match target {
        Target::Kms(op) => op,
        Target::Simulate => return ops::simulate::simulate_policy(c).await,
        Target::Unknown => return Err(ApiError::UnknownOperation),
    };
    use Operation as O;
    match op {
        O::CreateKey => ops::keys::create_key(c).await,
        O::DescribeKey => ops::keys::describe_key(c).await,
        O::ListKeys => ops::keys::list_keys(c).await,
        O::UpdateKeyDescription => ops::keys::update_key_description(c).await,
        O::EnableKey => ops::keys::enable_key(c).await,
        O::DisableKey => ops::keys::disable_key(c).await,
        O::Encrypt => ops::crypto::encrypt(c).await,
        O::Decrypt => ops::crypto::decrypt(c).await,
        O::ReEncrypt => ops::crypto::re_encrypt(c).await,
        O::GenerateDataKey => ops::crypto::generate_data_key(c).await,
        O::GenerateDataKeyWithoutPlaintext => {
            ops::crypto::generate_data_key_without_plaintext(c).await
        }
        O::GenerateRandom => ops::crypto::generate_random(c).await,
        O::CreateAlias => ops::aliases::create_alias(c).await,
        O::UpdateAlias => ops::aliases::update_alias(c).await,
        O::DeleteAlias => ops::aliases::delete_alias(c).await,
        O::ListAliases => ops::aliases::list_aliases(c).await,
        O::TagResource => ops::tags::tag_resource(c).await,
        O::UntagResource => ops::tags::untag_resource(c).await,
        O::ListResourceTags => ops::tags::list_resource_tags(c).await,
        O::GetKeyPolicy => ops::policy::get_key_policy(c).await,
        O::PutKeyPolicy => ops::policy::put_key_policy(c).await,
        O::ListKeyPolicies => ops::policy::list_key_policies(c).await,
        O::EnableKeyRotation => ops::lifecycle::enable_key_rotation(c).await,
        O::DisableKeyRotation => ops::lifecycle::disable_key_rotation(c).await,
        O::GetKeyRotationStatus => ops::lifecycle::get_key_rotation_status(c).await,
        O::RotateKeyOnDemand => ops::lifecycle::rotate_key_on_demand(c).await,
        O::ListKeyRotations => ops::lifecycle::list_key_rotations(c).await,
        O::ScheduleKeyDeletion => ops::lifecycle::schedule_key_deletion(c).await,
        O::CancelKeyDeletion => ops::lifecycle::cancel_key_deletion(c).await,
        O::GetKeyLastUsage => ops::lifecycle::get_key_last_usage(c).await,
        O::GetParametersForImport => ops::import::get_parameters_for_import(c).await,
        O::ImportKeyMaterial => ops::import::import_key_material(c).await,
        O::DeleteImportedKeyMaterial => ops::import::delete_imported_key_material(c).await,
        O::CreateGrant => ops::grants::create_grant(c).await,
        O::ListGrants => ops::grants::list_grants(c).await,
        O::ListRetirableGrants => ops::grants::list_retirable_grants(c).await,
        O::RetireGrant => ops::grants::retire_grant(c).await,
        O::RevokeGrant => ops::grants::revoke_grant(c).await,
        other => Err(KmsError::UnsupportedOperation(format!(
            "{} is not supported by this server yet.",
            other.name()
        ))
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_only_with_the_kms_prefix() {
        assert_eq!(
            operation("TrentService.Encrypt").unwrap(),
            Operation::Encrypt
        );
        assert!(matches!(
            operation("Encrypt"),
            Err(ApiError::UnknownOperation)
        ));
        assert!(matches!(
            operation("TrentService.Nope"),
            Err(ApiError::UnknownOperation)
        ));
        assert!(matches!(
            operation("DynamoDB_20120810.Encrypt"),
            Err(ApiError::UnknownOperation)
        ));
    }

    #[test]
    fn every_target_has_its_own_metric_label() {
        let labels = metric_operations();
        for op in Operation::ALL {
            let t = Target::parse(&format!("TrentService.{}", op.name()));
            assert_eq!(t, Target::Kms(*op));
            assert_eq!(labels[t.metric_index()], op.name());
        }
        let simulate = Target::parse(SIMULATE_TARGET);
        assert_eq!(labels[simulate.metric_index()], "SimulatePolicy");
        assert_eq!(labels.len(), Operation::ALL.len() + 1);
        for unknown in ["", "TrentService.Nope", "Encrypt"] {
            let t = Target::parse(unknown);
            assert_eq!(t, Target::Unknown);
            assert!(labels.get(t.metric_index()).is_none());
        }
    }
}

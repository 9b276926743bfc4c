//! The key lifecycle: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand, ListKeyRotations, ScheduleKeyDeletion, CancelKeyDeletion. The rules live
//! in `core::lifecycle`; this module reads, applies them and persists.

use super::{Page, decode_marker, page};
use crate::authz::Access;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::{KeyId, KeyRef};
use strongroom_core::import::MaterialState;
use strongroom_core::key::{Key, Origin, RotationType};
use strongroom_core::lifecycle::{PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS};
use strongroom_core::operation::Operation;
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;
use strongroom_store::Write;

/// GetKeyRotationStatus's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationStatus {
    /// The key ARN.
    pub key_arn: String,
    /// Whether automatic rotation is enabled.
    pub enabled: bool,
    /// The period, when enabled.
    pub period_days: Option<u32>,
    /// The next automatic rotation, when enabled.
    pub next_rotation: Option<Timestamp>,
}

/// Which material versions ListKeyRotations lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeKeyMaterial {
    /// Every version, the first one included.
    All,
    /// Only versions made by rotations (the default).
    RotationsOnly,
}

/// One entry of ListKeyRotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationEntry {
    /// The key.
    pub key_id: KeyId,
    /// The material version.
    pub version: u32,
    /// When it became a rotation (`None` for the first material and for imported material
    /// still pending rotation).
    pub date: Option<Timestamp>,
    /// How it was made (`None` for the first material).
    pub rotation_type: Option<RotationType>,
    /// Current, earlier, or pending rotation.
    pub state: MaterialState,
    /// For imported keys: whether the material is present, and when it expires.
    pub import: Option<(bool, Option<Timestamp>)>,
}

impl Service {
    /// EnableKeyRotation; `period_days` is 90–2560 (checked at the edge), default 365.
    pub async fn enable_key_rotation(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        period_days: Option<u32>,
    ) -> Result<(), KmsError> {
        let now = self.clock().now();
        let period = period_days.unwrap_or(ROTATION_PERIOD_DAYS.2);
        let access = Access::new(Operation::EnableKeyRotation)
            .key("kms:RotationPeriodInDays", vec![period.to_string()]);
        self.update_key(ctx, r, &access, |k| k.enable_rotation(now, period))
            .await
            .map(drop)
    }

    /// DisableKeyRotation.
    pub async fn disable_key_rotation(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<(), KmsError> {
        let access = Access::new(Operation::DisableKeyRotation);
        self.update_key(ctx, r, &access, Key::disable_rotation)
            .await
            .map(drop)
    }

    /// GetKeyRotationStatus.
    pub async fn get_key_rotation_status(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<RotationStatus, KmsError> {
        let access = Access::new(Operation::GetKeyRotationStatus);
        let key = self.resolve(ctx, r, &access).await?;
        let k = &key.key;
        // While a key is pending deletion its rotation status is false; cancelling the deletion
        // brings the stored setting back (AWS's documented behaviour).
        let rotation = k.rotation.filter(|_| k.state != KeyState::PendingDeletion);
        Ok(RotationStatus {
            key_arn: k.arn.clone(),
            enabled: rotation.is_some(),
            period_days: rotation.map(|r| r.period_days),
            next_rotation: rotation.map(|r| r.next_rotation_at),
        })
    }

    /// RotateKeyOnDemand: new material becomes current at once; every earlier version keeps
    /// decrypting.
    pub async fn rotate_key_on_demand(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<String, KmsError> {
        let access = Access::new(Operation::RotateKeyOnDemand);
        let id = self.resolve(ctx, r, &access).await?.key.id;
        let key = self
            .rotate(&id, Some(&ctx.scope), RotationType::OnDemand)
            .await?;
        Ok(key.arn)
    }

    /// Rotates key `id` now: the rule check, the new wrapped material version and the new
    /// current version in one transaction.
    pub(crate) async fn rotate(
        &self,
        id: &KeyId,
        scope: Option<&strongroom_core::ids::Scope>,
        kind: RotationType,
    ) -> Result<Key, KmsError> {
        let now = self.clock().now();
        let key = self
            .update_key_record(id, scope, |k| {
                if kind == RotationType::Automatic && !k.rotation_due(now) {
                    return Ok(Vec::new()); // another node, or a racing request, already did it
                }
                let version = k.rotate(now, kind)?;
                if k.origin == Origin::External {
                    return Ok(Vec::new()); // the imported material is already stored
                }
                Ok(vec![Write::AddKeyVersion(self.new_material(
                    k,
                    version,
                    now,
                    Some(kind),
                )?)])
            })
            .await?;
        tracing::info!(key = %key.arn, version = key.current_version, kind = kind.as_str(), "key rotated");
        Ok(key)
    }

    /// ListKeyRotations, by version.
    pub async fn list_key_rotations(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        include: IncludeKeyMaterial,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<RotationEntry>, KmsError> {
        let access = Access::new(Operation::ListKeyRotations);
        let key = self.resolve(ctx, r, &access).await?;
        let after = marker
            .map(|m| {
                decode_marker(m)?
                    .parse::<u32>()
                    .map_err(|_| KmsError::InvalidMarker("The marker is not valid.".to_owned()))
            })
            .transpose()?
            .unwrap_or(0);
        let k = &key.key;
        let entries: Vec<RotationEntry> = if k.origin == Origin::External {
            // Imported keys: every material ever imported, present or not.
            k.imported
                .iter()
                .map(|m| RotationEntry {
                    key_id: k.id,
                    version: m.version,
                    date: m.rotated_at,
                    rotation_type: m.rotated_at.map(|_| RotationType::OnDemand),
                    state: k.material_state(m.version),
                    import: Some((m.present, m.valid_to)),
                })
                .collect()
        } else {
            let id = k.id;
            let versions = self
                .store_call("ListKeyRotations", move |s| s.list_key_versions(&id))
                .await?;
            versions
                .into_iter()
                .map(|v| RotationEntry {
                    key_id: v.key_id,
                    version: v.version,
                    date: v.rotation_type.map(|_| v.created_at),
                    rotation_type: v.rotation_type,
                    state: k.material_state(v.version),
                    import: None,
                })
                .collect()
        };
        let entries = entries
            .into_iter()
            .filter(|e| e.version > after)
            .filter(|e| include == IncludeKeyMaterial::All || e.rotation_type.is_some())
            .take(limit + 1)
            .collect();
        Ok(page(entries, limit, |e| e.version.to_string()))
    }

    /// ScheduleKeyDeletion; `window_days` defaults to 30 and must be 7–30.
    pub async fn schedule_key_deletion(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        window_days: Option<u32>,
    ) -> Result<Key, KmsError> {
        let (min, max, default) = PENDING_WINDOW_DAYS;
        let window = window_days.unwrap_or(default);
        if !(min..=max).contains(&window) {
            return Err(KmsError::Validation(format!(
                "PendingWindowInDays must be between {min} and {max} days; got {window}."
            )));
        }
        let now = self.clock().now();
        let key = self
            .update_key(
                ctx,
                r,
                &Access::new(Operation::ScheduleKeyDeletion).key(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    vec![window.to_string()],
                ),
                |k| k.schedule_deletion(now, window),
            )
            .await?;
        tracing::info!(key = %key.arn, window_days = window, "key deletion scheduled");
        Ok(key)
    }

    /// CancelKeyDeletion: the key comes back disabled.
    pub async fn cancel_key_deletion(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<Key, KmsError> {
        let access = Access::new(Operation::CancelKeyDeletion);
        let key = self
            .update_key(ctx, r, &access, Key::cancel_deletion)
            .await?;
        tracing::info!(key = %key.arn, "key deletion cancelled");
        Ok(key)
    }
}

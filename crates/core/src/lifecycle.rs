//! The key lifecycle rules: rotation and scheduled deletion, as AWS KMS applies them.
//!
//! Each rule is a method on [`Key`] that checks the state machine and changes the record in
//! memory; the service persists the result under the revision it read. Time is a parameter,
//! never read here.

use crate::KmsError;
use crate::key::{
    Key, KeyManager, KeySpec, Origin, RotationSchedule, RotationType, ScheduledDeletion,
};
use crate::state::KeyState;
use crate::time::Timestamp;

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;
/// Automatic rotation period bounds and default, in days.
pub const ROTATION_PERIOD_DAYS: (u32, u32, u32) = (90, 2560, 365);
/// Deletion waiting period bounds and default, in days.
pub const PENDING_WINDOW_DAYS: (u32, u32, u32) = (7, 30, 30);
/// How many on-demand rotations a key may have.
pub const ON_DEMAND_ROTATION_LIMIT: u32 = 25;

fn after_days(t: Timestamp, days: u32) -> Timestamp {
    Timestamp(t.0.saturating_add(i64::from(days).saturating_mul(DAY_MS)))
}

impl Key {
    /// Customers may not manage provider-managed keys (`KeyManager` AWS): their state, policy,
    /// description, tags, aliases and deletion belong to the service that uses them. AWS answers
    /// such requests with AccessDeniedException (the keys' fixed policy grants no management).
    pub fn check_customer_managed(&self) -> Result<(), KmsError> {
        match self.manager {
            KeyManager::Customer => Ok(()),
            KeyManager::Aws => Err(KmsError::AccessDenied(format!(
                "{} is an AWS managed key: it can be used and described, but only the service \
                 that owns it manages it.",
                self.arn
            ))),
        }
    }

    /// Rotation settings of provider-managed keys are fixed (yearly, always on), and they are
    /// not rotated on demand: AWS answers UnsupportedOperationException.
    fn check_rotation_settable(&self) -> Result<(), KmsError> {
        match self.manager {
            KeyManager::Customer => Ok(()),
            KeyManager::Aws => Err(KmsError::UnsupportedOperation(format!(
                "{} is an AWS managed key: it rotates every year and its rotation cannot be \
                 changed or triggered.",
                self.arn
            ))),
        }
    }

    /// Rotation applies to symmetric encryption keys with generated material only (imported
    /// material rotates on demand with new imported material, a later feature).
    fn check_rotatable(&self) -> Result<(), KmsError> {
        if self.spec != KeySpec::SymmetricDefault || self.origin != Origin::AwsKms {
            return Err(KmsError::UnsupportedOperation(format!(
                "{} does not support automatic or on-demand rotation: only symmetric \
                 encryption keys with AWS_KMS origin do.",
                self.arn
            )));
        }
        Ok(())
    }

    /// EnableKeyRotation with `period_days` (already checked to be 90–2560). Enabling starts
    /// the period now; changing the period of enabled rotation keeps the schedule's anchor (the
    /// last rotation, or when rotation was enabled) and moves only the next date.
    pub fn enable_rotation(&mut self, now: Timestamp, period_days: u32) -> Result<(), KmsError> {
        self.check_rotation_settable()?;
        self.state.check_usable(&self.arn)?;
        self.check_rotatable()?;
        let from = match self.rotation {
            Some(r) => Timestamp(
                r.next_rotation_at
                    .0
                    .saturating_sub(i64::from(r.period_days).saturating_mul(DAY_MS)),
            ),
            None => now,
        };
        self.rotation = Some(RotationSchedule {
            period_days,
            next_rotation_at: after_days(from, period_days),
        });
        Ok(())
    }

    /// DisableKeyRotation.
    pub fn disable_rotation(&mut self) -> Result<(), KmsError> {
        self.check_rotation_settable()?;
        self.state.check_usable(&self.arn)?;
        self.check_rotatable()?;
        self.rotation = None;
        Ok(())
    }

    /// Makes version `current_version + 1` current. The caller stores its new material in the
    /// same transaction. On-demand rotations count against the key's limit and leave the
    /// automatic schedule alone; automatic ones move it one period on from `now`.
    pub fn rotate(&mut self, now: Timestamp, kind: RotationType) -> Result<u32, KmsError> {
        self.state.check_usable(&self.arn)?;
        if self.origin == Origin::External && kind == RotationType::OnDemand {
            // Imported keys rotate on demand to material imported as NEW_KEY_MATERIAL.
            self.check_customer_managed()?;
            self.check_on_demand_limit()?;
            let version = self.rotate_to_pending_material(now)?;
            self.on_demand_rotations += 1;
            return Ok(version);
        }
        self.check_rotatable()?;
        match kind {
            RotationType::OnDemand => {
                self.check_rotation_settable()?;
                self.check_on_demand_limit()?;
                self.on_demand_rotations += 1;
            }
            RotationType::Automatic => {
                if let Some(r) = &mut self.rotation {
                    r.next_rotation_at = after_days(now, r.period_days);
                }
            }
        }
        self.current_version = self
            .current_version
            .checked_add(1)
            .ok_or(KmsError::Internal)?;
        Ok(self.current_version)
    }

    fn check_on_demand_limit(&self) -> Result<(), KmsError> {
        if self.on_demand_rotations >= ON_DEMAND_ROTATION_LIMIT {
            return Err(KmsError::LimitExceeded(format!(
                "{} has reached the limit of {ON_DEMAND_ROTATION_LIMIT} on-demand rotations.",
                self.arn
            )));
        }
        Ok(())
    }

    /// Whether the scheduler should rotate the key now: rotation enabled, due, and the key
    /// enabled (rotation waits while a key is disabled and happens when it is re-enabled).
    pub fn rotation_due(&self, now: Timestamp) -> bool {
        self.state == KeyState::Enabled && self.rotation.is_some_and(|r| r.next_rotation_at <= now)
    }

    /// ScheduleKeyDeletion with `window_days` (already checked to be 7–30).
    pub fn schedule_deletion(&mut self, now: Timestamp, window_days: u32) -> Result<(), KmsError> {
        self.check_customer_managed()?;
        self.state = self.state.schedule_deletion(&self.arn)?;
        self.deletion = Some(ScheduledDeletion {
            deletion_date: after_days(now, window_days),
            pending_window_days: window_days,
        });
        Ok(())
    }

    /// CancelKeyDeletion: the key comes back disabled.
    pub fn cancel_deletion(&mut self) -> Result<(), KmsError> {
        self.check_customer_managed()?;
        self.state = self.state.cancel_deletion(&self.arn)?;
        self.deletion = None;
        Ok(())
    }

    /// Whether the deletion window has ended and the key must be destroyed.
    pub fn deletion_due(&self, now: Timestamp) -> bool {
        self.state == KeyState::PendingDeletion
            && self.deletion.is_some_and(|d| d.deletion_date <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, KeyId, Region};
    use crate::key::{KeyManager, KeyUsage};
    use std::collections::BTreeMap;

    const T: Timestamp = Timestamp(1_700_000_000_000);

    fn key() -> Key {
        Key {
            id: KeyId::from_bytes([1; 16]),
            arn: "arn:aws:kms:us-east-1:111122223333:key/x".into(),
            account: AccountId::parse("111122223333").unwrap(),
            region: Region::parse("us-east-1").unwrap(),
            created_at: T,
            description: String::new(),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            manager: KeyManager::Customer,
            state: KeyState::Enabled,
            current_version: 1,
            tags: BTreeMap::new(),
            policy: String::new(),
            rotation: None,
            on_demand_rotations: 0,
            deletion: None,
            imported: Vec::new(),
            policy_updated_at: Timestamp(0),
        }
    }

    #[test]
    fn enabling_rotation_schedules_one_period_ahead_and_reenabling_keeps_the_anchor() {
        let mut k = key();
        k.enable_rotation(T, 365).unwrap();
        assert_eq!(
            k.rotation.unwrap().next_rotation_at,
            Timestamp(T.0 + 365 * DAY_MS)
        );
        let later = Timestamp(T.0 + 10 * DAY_MS);
        k.enable_rotation(later, 90).unwrap();
        assert_eq!(
            k.rotation.unwrap().next_rotation_at,
            Timestamp(T.0 + 90 * DAY_MS)
        );
        k.disable_rotation().unwrap();
        assert!(k.rotation.is_none());
    }

    #[test]
    fn rotation_needs_an_enabled_symmetric_generated_key() {
        let mut k = key();
        k.state = KeyState::Disabled;
        assert!(matches!(
            k.enable_rotation(T, 365),
            Err(KmsError::Disabled(_))
        ));
        assert!(matches!(
            k.rotate(T, RotationType::OnDemand),
            Err(KmsError::Disabled(_))
        ));
        k.state = KeyState::PendingDeletion;
        assert!(matches!(
            k.enable_rotation(T, 365),
            Err(KmsError::InvalidState(_))
        ));
        let mut k = key();
        k.origin = Origin::External;
        // Imported keys rotate only automatically never, and on demand only to new material.
        assert!(matches!(
            k.enable_rotation(T, 365),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            k.rotate(T, RotationType::OnDemand),
            Err(KmsError::InvalidState(_))
        ));
    }

    #[test]
    fn on_demand_rotations_are_limited_and_leave_the_schedule_alone() {
        let mut k = key();
        k.enable_rotation(T, 365).unwrap();
        let next = k.rotation.unwrap().next_rotation_at;
        for v in 2..=(ON_DEMAND_ROTATION_LIMIT + 1) {
            assert_eq!(k.rotate(T, RotationType::OnDemand).unwrap(), v);
        }
        assert_eq!(k.rotation.unwrap().next_rotation_at, next);
        assert!(matches!(
            k.rotate(T, RotationType::OnDemand),
            Err(KmsError::LimitExceeded(_))
        ));
        let v = k.rotate(next, RotationType::Automatic).unwrap();
        assert_eq!(v, ON_DEMAND_ROTATION_LIMIT + 2);
        assert_eq!(
            k.rotation.unwrap().next_rotation_at,
            Timestamp(next.0 + 365 * DAY_MS)
        );
    }

    #[test]
    fn rotation_is_due_only_for_enabled_keys_past_their_date() {
        let mut k = key();
        assert!(!k.rotation_due(Timestamp(i64::MAX)));
        k.enable_rotation(T, 90).unwrap();
        let due = Timestamp(T.0 + 90 * DAY_MS);
        assert!(!k.rotation_due(Timestamp(due.0 - 1)));
        assert!(k.rotation_due(due));
        k.state = KeyState::Disabled;
        assert!(!k.rotation_due(due));
    }

    #[test]
    fn provider_managed_keys_rotate_automatically_but_refuse_management() {
        let mut k = key();
        k.manager = KeyManager::Aws;
        k.rotation = Some(RotationSchedule {
            period_days: 365,
            next_rotation_at: T,
        });
        assert!(matches!(
            k.enable_rotation(T, 90),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            k.disable_rotation(),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            k.rotate(T, RotationType::OnDemand),
            Err(KmsError::UnsupportedOperation(_))
        ));
        assert!(matches!(
            k.schedule_deletion(T, 7),
            Err(KmsError::AccessDenied(_))
        ));
        assert!(matches!(
            k.check_customer_managed(),
            Err(KmsError::AccessDenied(_))
        ));
        assert_eq!(k.rotate(T, RotationType::Automatic).unwrap(), 2);
    }

    #[test]
    fn deletion_window_schedule_cancel_and_due() {
        let mut k = key();
        k.schedule_deletion(T, 7).unwrap();
        assert_eq!(k.state, KeyState::PendingDeletion);
        let end = Timestamp(T.0 + 7 * DAY_MS);
        assert!(!k.deletion_due(Timestamp(end.0 - 1)));
        assert!(k.deletion_due(end));
        assert!(matches!(
            k.schedule_deletion(T, 7),
            Err(KmsError::InvalidState(_))
        ));
        k.cancel_deletion().unwrap();
        assert_eq!((k.state, k.deletion), (KeyState::Disabled, None));
        assert!(matches!(
            k.cancel_deletion(),
            Err(KmsError::InvalidState(_))
        ));
    }
}

//! Key states and the one state machine that moves keys between them. Every transition goes
//! through a function here, so the rules (which AWS documents in "Key states of AWS KMS keys")
//! live in one place.

use crate::KmsError;

/// The lifecycle state of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Being created (multi-Region replicas).
    Creating,
    /// Usable.
    Enabled,
    /// Not usable until enabled.
    Disabled,
    /// Scheduled for deletion; not usable.
    PendingDeletion,
    /// Waiting for imported material.
    PendingImport,
    /// A replica being deleted.
    PendingReplicaDeletion,
    /// Its custom key store is disconnected.
    Unavailable,
    /// Being updated (multi-Region primary change).
    Updating,
}

impl KeyState {
    /// Every state.
    pub const ALL: &'static [Self] = &[
        Self::Creating,
        Self::Enabled,
        Self::Disabled,
        Self::PendingDeletion,
        Self::PendingImport,
        Self::PendingReplicaDeletion,
        Self::Unavailable,
        Self::Updating,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "Creating",
            Self::Enabled => "Enabled",
            Self::Disabled => "Disabled",
            Self::PendingDeletion => "PendingDeletion",
            Self::PendingImport => "PendingImport",
            Self::PendingReplicaDeletion => "PendingReplicaDeletion",
            Self::Unavailable => "Unavailable",
            Self::Updating => "Updating",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|st| st.as_str() == s)
    }

    fn invalid(self, arn: &str) -> KmsError {
        let what = match self {
            Self::PendingDeletion => "pending deletion",
            Self::PendingImport => "pending import",
            Self::PendingReplicaDeletion => "pending replica deletion",
            Self::Unavailable => "unavailable",
            Self::Creating => "being created",
            Self::Updating => "being updated",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        };
        KmsError::InvalidState(format!("{arn} is {what}."))
    }

    /// May the key perform a cryptographic operation? Disabled keys answer
    /// `DisabledException`; every other unusable state `KMSInvalidStateException`.
    pub fn check_usable(self, arn: &str) -> Result<(), KmsError> {
        match self {
            Self::Enabled => Ok(()),
            Self::Disabled => Err(KmsError::disabled(arn)),
            other => Err(other.invalid(arn)),
        }
    }

    /// EnableKey: Enabled or Disabled become Enabled (idempotent); other states refuse.
    pub fn enable(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::Enabled | Self::Disabled => Ok(Self::Enabled),
            other => Err(other.invalid(arn)),
        }
    }

    /// DisableKey: Enabled or Disabled become Disabled (idempotent); other states refuse.
    pub fn disable(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::Enabled | Self::Disabled => Ok(Self::Disabled),
            other => Err(other.invalid(arn)),
        }
    }

    /// ScheduleKeyDeletion: any state but pending deletion (of the key or its replica) moves to
    /// PendingDeletion.
    pub fn schedule_deletion(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::PendingDeletion
            | Self::PendingReplicaDeletion
            | Self::Creating
            | Self::Updating => Err(self.invalid(arn)),
            Self::Enabled | Self::Disabled | Self::PendingImport | Self::Unavailable => {
                Ok(Self::PendingDeletion)
            }
        }
    }

    /// CancelKeyDeletion: PendingDeletion becomes Disabled; other states refuse.
    pub fn cancel_deletion(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::PendingDeletion => Ok(Self::Disabled),
            _ => Err(KmsError::InvalidState(format!(
                "{arn} is not pending deletion."
            ))),
        }
    }

    /// ImportKeyMaterial: a key waiting for material becomes Enabled; an enabled or disabled
    /// key (re-import of its material) keeps its state.
    pub fn import_material(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::PendingImport => Ok(Self::Enabled),
            Self::Enabled | Self::Disabled => Ok(self),
            other => Err(other.invalid(arn)),
        }
    }

    /// DeleteImportedKeyMaterial and expiry: the key waits for material again.
    pub fn delete_material(self, arn: &str) -> Result<Self, KmsError> {
        match self {
            Self::Enabled | Self::Disabled | Self::PendingImport => Ok(Self::PendingImport),
            other => Err(other.invalid(arn)),
        }
    }

    /// May the key's metadata (description, tags, aliases, policy) be changed? AWS allows it in
    /// every state except pending deletion of the key or its replica, and unavailable only for
    /// some; we refuse while the key is on its way out.
    pub fn check_manageable(self, arn: &str) -> Result<(), KmsError> {
        match self {
            Self::PendingDeletion | Self::PendingReplicaDeletion => Err(self.invalid(arn)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_keys_are_usable_with_the_right_error() {
        for s in KeyState::ALL {
            let r = s.check_usable("arn");
            match s {
                KeyState::Enabled => assert!(r.is_ok()),
                KeyState::Disabled => assert!(matches!(r, Err(KmsError::Disabled(_)))),
                _ => assert!(matches!(r, Err(KmsError::InvalidState(_))), "{s:?}"),
            }
        }
    }

    #[test]
    fn enable_and_disable_are_idempotent_and_refuse_other_states() {
        for s in KeyState::ALL {
            let e = s.enable("arn");
            let d = s.disable("arn");
            if matches!(s, KeyState::Enabled | KeyState::Disabled) {
                assert_eq!(e.unwrap(), KeyState::Enabled);
                assert_eq!(d.unwrap(), KeyState::Disabled);
            } else {
                assert!(matches!(e, Err(KmsError::InvalidState(_))));
                assert!(matches!(d, Err(KmsError::InvalidState(_))));
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in KeyState::ALL {
            assert_eq!(KeyState::parse(s.as_str()), Some(*s));
        }
    }
}

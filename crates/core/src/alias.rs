//! Aliases: friendly names that point at one key in the same account and region.

use crate::ids::{AccountId, AliasName, KeyId, Region};
use crate::time::Timestamp;

/// An alias record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alias {
    /// The owning account.
    pub account: AccountId,
    /// The region.
    pub region: Region,
    /// The name, `alias/…`.
    pub name: AliasName,
    /// The key it points at.
    pub target: KeyId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed target.
    pub updated_at: Timestamp,
}

//! Identifiers: accounts, regions, key ids, alias names, ARNs, and the four forms in which a
//! request may name a key.

use crate::KmsError;
use std::fmt;

/// A 12-digit account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Parses a 12-digit account id.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())).then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A region name such as `us-east-1`: lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

impl Region {
    /// Parses a region name (1–32 characters of `[a-z0-9-]`, starting with a letter).
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=32).contains(&s.len())
            && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a request acts: the partition, account and region its keys and aliases live in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// ARN partition, normally `aws`.
    pub partition: String,
    /// The account that owns the keys.
    pub account: AccountId,
    /// The region the keys live in.
    pub region: Region,
}

impl Scope {
    /// The ARN of key `id` in this scope.
    pub fn key_arn(&self, id: &KeyId) -> String {
        format!(
            "arn:{}:kms:{}:{}:key/{}",
            self.partition, self.region, self.account, id
        )
    }

    /// The ARN of alias `name` (which includes the `alias/` prefix) in this scope.
    pub fn alias_arn(&self, name: &AliasName) -> String {
        format!(
            "arn:{}:kms:{}:{}:{}",
            self.partition, self.region, self.account, name
        )
    }

    /// The ARN of the account's root principal.
    pub fn root_principal_arn(&self) -> String {
        format!("arn:{}:iam::{}:root", self.partition, self.account)
    }
}

/// A key id: a UUID, printed in lowercase hyphenated form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(uuid::Uuid);

impl KeyId {
    /// A key id from 16 random bytes (a version-4 UUID).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The id from its 16-byte binary form (as in ciphertext blobs).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Uuid::from_bytes(bytes))
    }

    /// The 16-byte binary form.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// Parses the canonical text form (36 characters, hyphenated; any case).
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 36 {
            return None;
        }
        uuid::Uuid::try_parse(s).ok().map(Self)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// An alias name including its `alias/` prefix, e.g. `alias/orders`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AliasName(String);

/// The prefix reserved for provider-managed keys.
pub const RESERVED_ALIAS_PREFIX: &str = "alias/aws/";

impl AliasName {
    /// Parses an alias name: `alias/` followed by 1–250 characters of `[a-zA-Z0-9/_-]`
    /// (AWS's rule; the model's wider pattern also admits `:`, which AWS refuses in names).
    pub fn parse(s: &str) -> Result<Self, KmsError> {
        let rest = s.strip_prefix("alias/").ok_or_else(|| {
            KmsError::Validation(
                "Alias must start with the prefix \"alias/\". Please see \
                 https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
                    .to_owned(),
            )
        })?;
        let ok_chars = rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'));
        if rest.is_empty() || s.len() > 256 || !ok_chars {
            return Err(KmsError::Validation(format!(
                "{s} contains invalid characters for an alias"
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// Whether the name is in the reserved `alias/aws/` namespace.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with(RESERVED_ALIAS_PREFIX)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key as a request names it, in any of the four forms AWS accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// `1234abcd-12ab-34cd-56ef-1234567890ab`
    Id(KeyId),
    /// `arn:aws:kms:us-east-1:111122223333:key/1234abcd-…`
    KeyArn {
        /// The partition, region and account the ARN names.
        scope: Scope,
        /// The key id.
        id: KeyId,
    },
    /// `alias/orders`
    Alias(AliasName),
    /// `arn:aws:kms:us-east-1:111122223333:alias/orders`
    AliasArn {
        /// The partition, region and account the ARN names.
        scope: Scope,
        /// The alias name.
        name: AliasName,
    },
}

impl KeyRef {
    /// Parses a KeyId member. Anything that is none of the four forms is a
    /// `NotFoundException` ("Invalid keyId …"), as AWS answers.
    pub fn parse(s: &str) -> Result<Self, KmsError> {
        if let Some(rest) = s.strip_prefix("arn:") {
            return parse_arn(s, rest);
        }
        if s.starts_with("alias/") {
            return AliasName::parse(s)
                .map(Self::Alias)
                .map_err(|_| KmsError::NotFound(format!("Invalid keyId '{s}'")));
        }
        KeyId::parse(s)
            .map(Self::Id)
            .ok_or_else(|| KmsError::NotFound(format!("Invalid keyId '{s}'")))
    }

    /// Whether this names an alias rather than a key.
    pub fn is_alias(&self) -> bool {
        matches!(self, Self::Alias(_) | Self::AliasArn { .. })
    }
}

fn parse_arn(whole: &str, rest: &str) -> Result<KeyRef, KmsError> {
    let invalid = || KmsError::NotFound(format!("Invalid arn '{whole}'"));
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    let valid_partition = !partition.is_empty()
        && partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-');
    if service != "kms" || !valid_partition {
        return Err(invalid());
    }
    let scope = Scope {
        partition: partition.to_owned(),
        account: AccountId::parse(account).ok_or_else(invalid)?,
        region: Region::parse(region).ok_or_else(invalid)?,
    };
    if let Some(id) = resource.strip_prefix("key/") {
        let id = KeyId::parse(id).ok_or_else(invalid)?;
        return Ok(KeyRef::KeyArn { scope, id });
    }
    if resource.starts_with("alias/") {
        let name = AliasName::parse(resource).map_err(|_| invalid())?;
        return Ok(KeyRef::AliasArn { scope, name });
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn key_ref_accepts_all_four_forms() {
        let id = KeyId::parse(ID).unwrap();
        assert_eq!(KeyRef::parse(ID).unwrap(), KeyRef::Id(id));
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{ID}");
        match KeyRef::parse(&arn).unwrap() {
            KeyRef::KeyArn { scope, id: got } => {
                assert_eq!(got, id);
                assert_eq!(scope.key_arn(&got), arn);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            KeyRef::parse("alias/orders").unwrap(),
            KeyRef::Alias(_)
        ));
        let aarn = "arn:aws:kms:eu-west-3:111122223333:alias/orders/db";
        match KeyRef::parse(aarn).unwrap() {
            KeyRef::AliasArn { scope, name } => assert_eq!(scope.alias_arn(&name), aarn),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_ref_refuses_other_forms_with_not_found() {
        for bad in [
            "",
            "1234",
            "arn:aws:kms:us-east-1:111122223333:key/not-a-uuid",
            "arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:grant/x",
            "alias/",
            "alias/has space",
            "1234abcd12ab34cd56ef1234567890ab",
        ] {
            assert!(
                matches!(KeyRef::parse(bad), Err(KmsError::NotFound(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn alias_name_rules() {
        assert!(AliasName::parse("alias/a").is_ok());
        assert!(AliasName::parse("alias/aws/ebs").unwrap().is_reserved());
        assert!(!AliasName::parse("alias/awsx").unwrap().is_reserved());
        assert!(AliasName::parse("orders").is_err());
        assert!(AliasName::parse("alias/a:b").is_err());
        assert!(AliasName::parse(&format!("alias/{}", "a".repeat(250))).is_ok());
        assert!(AliasName::parse(&format!("alias/{}", "a".repeat(251))).is_err());
    }

    #[test]
    fn key_id_round_trips_binary_and_text() {
        let id = KeyId::from_random([0xab; 16]);
        assert_eq!(KeyId::from_bytes(*id.as_bytes()), id);
        assert_eq!(KeyId::parse(&id.to_string()), Some(id));
        assert_eq!(id.to_string().len(), 36);
    }

    #[test]
    fn account_and_region_parsing() {
        assert!(AccountId::parse("111122223333").is_some());
        assert!(AccountId::parse("11112222333").is_none());
        assert!(AccountId::parse("11112222333a").is_none());
        assert!(Region::parse("us-east-1").is_some());
        assert!(Region::parse("US-EAST-1").is_none());
        assert!(Region::parse("").is_none());
    }
}

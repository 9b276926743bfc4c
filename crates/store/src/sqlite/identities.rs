//! IAM identities in SQLite (schema version 6): the owner columns of `access_keys`, and the
//! rows of `users` and `roles`, whose tags and inline policies live in child tables read in
//! the same snapshot and replaced with the row on every write.

use super::codec::{account_id, corrupt, count, revision};
use crate::{StoreError, Versioned};
use rusqlite::Row;
use std::collections::BTreeMap;
use strongroom_core::identity::{AccessKeyOwner, Role, Session, User};
use strongroom_core::time::Timestamp;

/// `owner_kind` of the account root's keys (the default of the rows version 6 migrated).
pub(crate) const ROOT: &str = "root";
/// `owner_kind` of an IAM user's keys.
pub(crate) const USER: &str = "user";
/// `owner_kind` of an assumed-role session's temporary credentials. The expired-session
/// query and its partial index repeat this literal.
pub(crate) const SESSION: &str = "session";

/// The owner columns of an access key: a kind, and the columns of that kind (the others are
/// `NULL`, which the schema's CHECK enforces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerColumns {
    pub(crate) kind: String,
    pub(crate) user_name: Option<String>,
    pub(crate) role_name: Option<String>,
    pub(crate) role_id: Option<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) token_digest: Option<Vec<u8>>,
    pub(crate) expires_at_ms: Option<i64>,
}

impl OwnerColumns {
    /// The columns of `owner`.
    pub(crate) fn encode(owner: &AccessKeyOwner) -> Self {
        let none = Self {
            kind: ROOT.to_owned(),
            user_name: None,
            role_name: None,
            role_id: None,
            session_name: None,
            token_digest: None,
            expires_at_ms: None,
        };
        match owner {
            AccessKeyOwner::Root => none,
            AccessKeyOwner::User(name) => Self {
                kind: USER.to_owned(),
                user_name: Some(name.clone()),
                ..none
            },
            AccessKeyOwner::Session(s) => Self {
                kind: SESSION.to_owned(),
                role_name: Some(s.role_name.clone()),
                role_id: Some(s.role_id.clone()),
                session_name: Some(s.session_name.clone()),
                token_digest: Some(s.token_digest.clone()),
                expires_at_ms: Some(s.expires_at.0),
                ..none
            },
        }
    }

    /// Reads `owner_kind, user_name, role_name, role_id, session_name, token_digest,
    /// expires_at_ms` from `row`, in that order, starting at column `first`.
    pub(crate) fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            kind: row.get(first)?,
            user_name: row.get(first + 1)?,
            role_name: row.get(first + 2)?,
            role_id: row.get(first + 3)?,
            session_name: row.get(first + 4)?,
            token_digest: row.get(first + 5)?,
            expires_at_ms: row.get(first + 6)?,
        })
    }

    /// The owner; an unknown kind, or columns that do not match the kind (which the schema's
    /// CHECK refuses, so only a damaged file has them), are corrupt.
    pub(crate) fn decode(self) -> Result<AccessKeyOwner, StoreError> {
        let mismatch = |kind: &str| {
            StoreError::Corrupt(format!(
                "the owner columns of an access key do not match its owner kind {kind:?}"
            ))
        };
        let Self {
            kind,
            user_name,
            role_name,
            role_id,
            session_name,
            token_digest,
            expires_at_ms,
        } = self;
        let no_session = role_name.is_none()
            && role_id.is_none()
            && session_name.is_none()
            && token_digest.is_none()
            && expires_at_ms.is_none();
        match kind.as_str() {
            ROOT if user_name.is_none() && no_session => Ok(AccessKeyOwner::Root),
            USER if no_session => user_name
                .map(AccessKeyOwner::User)
                .ok_or_else(|| mismatch(&kind)),
            SESSION if user_name.is_none() => {
                match (
                    role_name,
                    role_id,
                    session_name,
                    token_digest,
                    expires_at_ms,
                ) {
                    (
                        Some(role_name),
                        Some(role_id),
                        Some(session_name),
                        Some(digest),
                        Some(at),
                    ) => Ok(AccessKeyOwner::Session(Session {
                        role_name,
                        role_id,
                        session_name,
                        token_digest: digest,
                        expires_at: Timestamp(at),
                    })),
                    _ => Err(mismatch(&kind)),
                }
            }
            ROOT | USER | SESSION => Err(mismatch(&kind)),
            other => Err(corrupt("access key owner kind", other)),
        }
    }
}

/// A table of principals (`users` or `roles`) and its two child tables, whose rows name their
/// principal by `account_id` and `name_column`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Principals {
    /// The principals' table.
    pub(crate) table: &'static str,
    /// Its tags (`tag_key`, `tag_value`).
    pub(crate) tags: &'static str,
    /// Its inline policies (`policy_name`, `policy_document`).
    pub(crate) policies: &'static str,
    /// The column of the child tables that holds the principal's name.
    pub(crate) name_column: &'static str,
}

/// IAM users.
pub(crate) const USERS: Principals = Principals {
    table: "users",
    tags: "user_tags",
    policies: "user_policies",
    name_column: "user_name",
};

/// IAM roles.
pub(crate) const ROLES: Principals = Principals {
    table: "roles",
    tags: "role_tags",
    policies: "role_policies",
    name_column: "role_name",
};

/// A principal's tags and inline policies, as read from its child tables.
#[derive(Debug, Default)]
pub(crate) struct Children {
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) policies: BTreeMap<String, String>,
}

/// A row of `users`, in [`UserRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct UserRow {
    account_id: String,
    name: String,
    path: String,
    user_id: String,
    arn: String,
    created_at_ms: i64,
    revision: i64,
}

impl UserRow {
    /// The columns [`UserRow::from_row`] reads, in order.
    pub(crate) const COLUMNS: &'static str =
        "account_id, name, path, user_id, arn, created_at_ms, revision";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            account_id: row.get(0)?,
            name: row.get(1)?,
            path: row.get(2)?,
            user_id: row.get(3)?,
            arn: row.get(4)?,
            created_at_ms: row.get(5)?,
            revision: row.get(6)?,
        })
    }

    /// The stored name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The user, with its tags and policies, which the caller read in the same snapshot.
    pub(crate) fn decode(self, children: Children) -> Result<Versioned<User>, StoreError> {
        let user = User {
            account: account_id(&self.account_id)?,
            name: self.name,
            path: self.path,
            id: self.user_id,
            arn: self.arn,
            created_at: Timestamp(self.created_at_ms),
            tags: children.tags,
            policies: children.policies,
        };
        Ok(Versioned {
            revision: revision(self.revision)?,
            value: user,
        })
    }
}

/// A row of `roles`, in [`RoleRow::COLUMNS`] order.
#[derive(Debug)]
pub(crate) struct RoleRow {
    account_id: String,
    name: String,
    path: String,
    role_id: String,
    arn: String,
    created_at_ms: i64,
    description: String,
    max_session_duration: i64,
    trust_policy: String,
    revision: i64,
}

impl RoleRow {
    /// The columns [`RoleRow::from_row`] reads, in order.
    pub(crate) const COLUMNS: &'static str = "account_id, name, path, role_id, arn, \
        created_at_ms, description, max_session_duration, trust_policy, revision";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            account_id: row.get(0)?,
            name: row.get(1)?,
            path: row.get(2)?,
            role_id: row.get(3)?,
            arn: row.get(4)?,
            created_at_ms: row.get(5)?,
            description: row.get(6)?,
            max_session_duration: row.get(7)?,
            trust_policy: row.get(8)?,
            revision: row.get(9)?,
        })
    }

    /// The stored name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The role, with its tags and policies, which the caller read in the same snapshot.
    pub(crate) fn decode(self, children: Children) -> Result<Versioned<Role>, StoreError> {
        let role = Role {
            account: account_id(&self.account_id)?,
            name: self.name,
            path: self.path,
            id: self.role_id,
            arn: self.arn,
            created_at: Timestamp(self.created_at_ms),
            description: self.description,
            max_session_duration: count("max session duration", self.max_session_duration)?,
            trust_policy: self.trust_policy,
            tags: children.tags,
            policies: children.policies,
        };
        Ok(Versioned {
            revision: revision(self.revision)?,
            value: role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            role_name: "deploy".into(),
            role_id: "AROAEXAMPLE".into(),
            session_name: "ci".into(),
            token_digest: vec![0, 1, 255],
            expires_at: Timestamp(-3),
        }
    }

    #[test]
    fn every_owner_round_trips_through_its_columns() {
        for owner in [
            AccessKeyOwner::Root,
            AccessKeyOwner::User("Alice".into()),
            AccessKeyOwner::User(String::new()),
            AccessKeyOwner::Session(session()),
            AccessKeyOwner::Session(Session {
                token_digest: Vec::new(),
                ..session()
            }),
        ] {
            assert_eq!(OwnerColumns::encode(&owner).decode().unwrap(), owner);
        }
        assert_eq!(OwnerColumns::encode(&AccessKeyOwner::Root).kind, ROOT);
    }

    #[test]
    fn owner_columns_that_do_not_match_their_kind_are_corrupt() {
        let user = OwnerColumns::encode(&AccessKeyOwner::User("a".into()));
        let session = OwnerColumns::encode(&AccessKeyOwner::Session(session()));
        let cases = [
            OwnerColumns {
                kind: ROOT.into(),
                ..user.clone()
            },
            OwnerColumns {
                user_name: None,
                ..user.clone()
            },
            OwnerColumns {
                expires_at_ms: Some(1),
                ..user.clone()
            },
            OwnerColumns {
                user_name: Some("a".into()),
                ..session.clone()
            },
            OwnerColumns {
                token_digest: None,
                ..session.clone()
            },
            OwnerColumns {
                kind: USER.into(),
                ..session.clone()
            },
        ];
        for c in cases {
            match c.clone().decode() {
                Err(StoreError::Corrupt(m)) => assert!(m.contains("owner kind"), "{m}"),
                other => panic!("{c:?}: {other:?}"),
            }
        }
        match (OwnerColumns {
            kind: "robot".into(),
            ..user
        })
        .decode()
        {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("robot"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

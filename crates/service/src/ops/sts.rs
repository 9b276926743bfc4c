//! STS: AssumeRole and GetCallerIdentity.
//!
//! An assumed-role session is an access key (`ASIA…`) owned by
//! [`AccessKeyOwner::Session`]: its secret is stored wrapped like any other, its session
//! token only as a SHA-256 digest, with the expiry the front end checks on every request. The
//! session acts in the role's account as `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.

use super::MAX_ATTEMPTS;
use crate::store_call::map_store_error;
use crate::{CallerKind, RequestContext, Service};
use base64::Engine as _;
use strongroom_core::KmsError;
use strongroom_core::identity::{
    AccessKey, AccessKeyOwner, AccessKeyStatus, Role, Session, session_arn, valid_name_in,
    valid_principal_name,
};
use strongroom_core::ids::AccountId;
use strongroom_core::time::Timestamp;
use strongroom_crypto::secret::SecretBytes;
use strongroom_store::{Expect, StoreError, Transaction, Write};

/// The session length when AssumeRole names none, in seconds.
pub const DEFAULT_SESSION_DURATION: u32 = 3_600;
/// The shortest session AssumeRole grants, in seconds.
pub const MIN_SESSION_DURATION: u32 = 900;
/// The longest session a role session may get by assuming another role (role chaining).
pub const ROLE_CHAINING_MAX_DURATION: u32 = 3_600;
/// Random bytes in a session token (base64-encoded, so 128 characters at least).
pub const SESSION_TOKEN_BYTES: usize = 96;
/// The longest session token a client may ask for (`MinimumSessionTokenSize`'s maximum).
pub const MAX_SESSION_TOKEN_CHARS: usize = 4_096;

/// AssumeRole's input.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleInput {
    /// The role's ARN (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`), in any account of this
    /// server.
    pub role_arn: String,
    /// The session name: 2–64 characters of `[\w+=,.@-]`.
    pub session_name: String,
    /// The session's length in seconds: 900 to the role's MaxSessionDuration (one hour when
    /// a role session assumes a role); one hour when absent.
    pub duration_seconds: Option<u32>,
    /// The smallest session token, in characters, the client accepts.
    pub minimum_token_size: Option<usize>,
    /// The external id the caller presents (the trust policy's `sts:ExternalId` condition
    /// key).
    pub external_id: Option<String>,
}

/// AssumeRole's result: temporary credentials, returned once.
#[derive(Debug)]
pub struct AssumedRole {
    /// The access key id (`ASIA…`).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: SecretBytes,
    /// The session token (sent as `X-Amz-Security-Token`).
    pub session_token: SecretBytes,
    /// When the credentials expire.
    pub expiration: Timestamp,
    /// `ROLEID:SESSIONNAME`.
    pub assumed_role_id: String,
    /// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
}

/// GetCallerIdentity's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The account id (root), the user's id (`AIDA…`) or `ROLEID:SESSIONNAME`.
    pub user_id: String,
    /// The caller's account.
    pub account: AccountId,
    /// The caller's ARN.
    pub arn: String,
}

/// The account and role name a role ARN names, if it is one of `partition`.
fn parse_role_arn(partition: &str, arn: &str) -> Option<(AccountId, String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(p), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if p != partition {
        return None;
    }
    let account = AccountId::parse(account)?;
    let rest = resource.strip_prefix("role")?;
    let slash = rest.rfind('/')?;
    let (path, name) = (rest.get(..=slash)?, rest.get(slash + 1..)?);
    if !path.starts_with('/') || !valid_principal_name(name) {
        return None;
    }
    Some((account, path.to_owned(), name.to_owned()))
}

impl Service {
    /// AssumeRole: temporary credentials for a role whose trust policy (and, where AWS
    /// requires it, the caller's identity policies) allow the caller `sts:AssumeRole`.
    pub async fn assume_role(
        &self,
        ctx: &RequestContext,
        input: AssumeRoleInput,
    ) -> Result<AssumedRole, KmsError> {
        if ctx.caller.is_root() {
            return Err(KmsError::AccessDenied(
                "Roles may not be assumed by root accounts.".to_owned(),
            ));
        }
        if !valid_name_in(&input.session_name, 2, 64) {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{}' at 'roleSessionName' failed to \
                 satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
                input.session_name
            )));
        }
        let partition = ctx.scope.partition.clone();
        let (account, path, name) = parse_role_arn(&partition, &input.role_arn)
            .ok_or_else(|| KmsError::Validation(format!("{} is invalid", input.role_arn)))?;
        let denied = || {
            KmsError::access_denied(
                &ctx.caller.principal_arn,
                "sts:AssumeRole",
                &input.role_arn,
                "because no resource-based policy allows the sts:AssumeRole action",
            )
        };
        // A role that does not exist is refused exactly like one whose trust policy does not
        // allow the caller, so that roles of other accounts cannot be discovered.
        let lookup = (account.clone(), name.clone());
        let role: Role = self
            .store_call("GetRole", move |s| s.get_role(&lookup.0, &lookup.1))
            .await?
            .map(|v| v.value)
            .filter(|r| r.path == path && r.name.eq_ignore_ascii_case(&name))
            .ok_or_else(denied)?;
        let trust = match strongroom_policy::parse_trust_policy(&role.trust_policy) {
            Ok(mut p) => {
                // The trust policy was saved with the role; it names the identities of then.
                p.set_saved_at(role.created_at.0);
                p
            }
            Err(e) => {
                tracing::error!(role = %role.arn, error = %e, "stored trust policy does not parse; AssumeRole refused");
                return Err(denied());
            }
        };
        let mut access = crate::authz::Access::named("sts:AssumeRole")
            .key("sts:RoleSessionName", vec![input.session_name.clone()]);
        if let Some(id) = &input.external_id {
            access = access.key("sts:ExternalId", vec![id.clone()]);
        }
        self.authorize_with_policy(ctx, &access, &role.arn, &role.account, &trust)
            .await?;

        let chained = matches!(ctx.caller.kind, CallerKind::Session { .. });
        let duration = input.duration_seconds.unwrap_or(DEFAULT_SESSION_DURATION);
        if duration < MIN_SESSION_DURATION {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{duration}' at 'durationSeconds' failed \
                 to satisfy constraint: Member must have value greater than or equal to \
                 {MIN_SESSION_DURATION}"
            )));
        }
        if chained && duration > ROLE_CHAINING_MAX_DURATION {
            return Err(KmsError::Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles \
                 assumed by role chaining."
                    .to_owned(),
            ));
        }
        if duration > role.max_session_duration {
            return Err(KmsError::Validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                    .to_owned(),
            ));
        }

        let secret = self.generate_secret()?;
        let token = self.session_token(input.minimum_token_size.unwrap_or(0))?;
        let token_digest = strongroom_crypto::digest::sha256(token.expose()).to_vec();
        let now = self.clock().now();
        let expiration = Timestamp(now.0.saturating_add(i64::from(duration) * 1000));
        let arn = session_arn(&partition, &role.account, &role.name, &input.session_name);
        for _ in 0..MAX_ATTEMPTS {
            let id = self.generate_access_key_id("ASIA")?;
            let record = AccessKey {
                id: id.clone(),
                account: role.account.clone(),
                principal_arn: arn.clone(),
                owner: AccessKeyOwner::Session(Session {
                    role_name: role.name.clone(),
                    role_id: role.id.clone(),
                    session_name: input.session_name.clone(),
                    token_digest: token_digest.clone(),
                    expires_at: expiration,
                }),
                wrapped_secret: self.wrap_secret(&id, secret.expose())?,
                status: AccessKeyStatus::Active,
                created_at: now,
            };
            let mut txn = Transaction::new();
            txn.push(Write::PutAccessKey {
                access_key: record,
                expect: Expect::Absent,
            });
            match self.store_raw(move |s| s.commit(txn)).await {
                Ok(()) => {
                    self.inner.cache.invalidate_credential(&id);
                    return Ok(AssumedRole {
                        access_key_id: id,
                        secret_access_key: secret,
                        session_token: token,
                        expiration,
                        assumed_role_id: format!("{}:{}", role.id, input.session_name),
                        arn,
                    });
                }
                // An id already taken (vanishingly unlikely): draw another.
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(map_store_error("AssumeRole", e)),
            }
        }
        Err(KmsError::Internal)
    }

    /// A new session token: at least [`SESSION_TOKEN_BYTES`] random bytes, base64-encoded, and
    /// at least `min_chars` characters long.
    fn session_token(&self, min_chars: usize) -> Result<SecretBytes, KmsError> {
        let min_chars = min_chars.min(MAX_SESSION_TOKEN_CHARS);
        let n = SESSION_TOKEN_BYTES.max(min_chars.div_ceil(4) * 3);
        let bytes = self.random_bytes(n)?;
        Ok(SecretBytes::new(
            base64::engine::general_purpose::STANDARD
                .encode(bytes.expose())
                .into_bytes(),
        ))
    }

    /// GetCallerIdentity: who the request's credentials belong to. Needs no permission.
    pub async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
    ) -> Result<CallerIdentity, KmsError> {
        let caller = &ctx.caller;
        let user_id = match &caller.kind {
            CallerKind::Root => caller.account.to_string(),
            CallerKind::Session {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
            CallerKind::User { name } => {
                let (account, name) = (caller.account.clone(), name.clone());
                self.store_call("GetUser", move |s| s.get_user(&account, &name))
                    .await?
                    .map(|u| u.value.id)
                    .ok_or_else(|| {
                        KmsError::AccessDenied(
                            "The user the request's access key belongs to no longer exists."
                                .to_owned(),
                        )
                    })?
            }
        };
        Ok(CallerIdentity {
            user_id,
            account: caller.account.clone(),
            arn: caller.principal_arn.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_paths_and_only_in_our_partition() {
        let (a, p, n) = parse_role_arn("aws", "arn:aws:iam::111122223333:role/x/y/Admin").unwrap();
        assert_eq!(
            (a.as_str(), p.as_str(), n.as_str()),
            ("111122223333", "/x/y/", "Admin")
        );
        let (_, p, n) = parse_role_arn("aws", "arn:aws:iam::111122223333:role/R").unwrap();
        assert_eq!((p.as_str(), n.as_str()), ("/", "R"));
        for bad in [
            "arn:aws-cn:iam::111122223333:role/R",
            "arn:aws:iam::111122223333:user/R",
            "arn:aws:iam::1111:role/R",
            "arn:aws:sts::111122223333:role/R",
            "arn:aws:iam:us-east-1:111122223333:role/R",
            "arn:aws:iam::111122223333:role/",
            "arn:aws:iam::111122223333:roleR",
            "arn:aws:iam::111122223333:role/a b",
        ] {
            assert!(parse_role_arn("aws", bad).is_none(), "{bad}");
        }
    }
}

//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the policy lockout safety
//! check that CreateKey and PutKeyPolicy run.

use crate::authz::Access;
use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::KeyRef;
use strongroom_core::key::Key;
use strongroom_core::operation::Operation;
use strongroom_policy::Policy;

/// The only policy name a key has.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Checks a policy document and returns it parsed; failures are
/// `MalformedPolicyDocumentException` with the reason.
pub(crate) fn validate(policy: &str) -> Result<Policy, KmsError> {
    strongroom_policy::parse_key_policy(policy).map_err(|e| policy_error(&e))
}

/// The exception a policy parse failure is reported as, with the reason.
pub(crate) fn policy_error(e: &strongroom_policy::PolicyError) -> KmsError {
    use strongroom_policy::PolicyException;
    let reason = e.to_string();
    match e.exception() {
        PolicyException::Validation => KmsError::Validation(reason),
        PolicyException::LimitExceeded => KmsError::LimitExceeded(reason),
        PolicyException::MalformedPolicyDocument => KmsError::MalformedPolicyDocument(reason),
    }
}

fn check_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(_) => Err(KmsError::NotFound("No such policy exists".to_owned())),
    }
}

impl Service {
    /// The policy lockout safety check: a new key policy must let the caller call
    /// PutKeyPolicy afterwards, or CreateKey and PutKeyPolicy refuse it (unless the request
    /// sets BypassPolicyLockoutSafetyCheck).
    pub(crate) async fn check_lockout(
        &self,
        ctx: &RequestContext,
        key: &Key,
        policy: &Policy,
    ) -> Result<(), KmsError> {
        if self.policy_keeps_access(ctx, key, policy).await? {
            Ok(())
        } else {
            Err(KmsError::MalformedPolicyDocument(
                "The new key policy will not allow you to update the key policy in the future."
                    .to_owned(),
            ))
        }
    }

    /// Every user and role a key policy names must exist (AWS: "The principals in the key
    /// policy must exist and be visible to KMS"); assumed-role sessions, accounts and service
    /// principals are taken as written.
    pub(crate) async fn check_principals_exist(
        &self,
        ctx: &RequestContext,
        policy: &Policy,
    ) -> Result<(), KmsError> {
        if let Some(arn) = self.first_missing_principal(ctx, policy).await? {
            tracing::debug!(principal = %arn, "key policy names a principal that does not exist");
            return Err(KmsError::MalformedPolicyDocument(
                "Policy contains a statement with one or more invalid principals.".to_owned(),
            ));
        }
        Ok(())
    }

    /// GetKeyPolicy.
    pub async fn get_key_policy(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        name: Option<&str>,
    ) -> Result<String, KmsError> {
        let access = Access::new(Operation::GetKeyPolicy);
        let key = self.resolve(ctx, r, &access).await?;
        check_name(name)?;
        Ok(key.key.policy.clone())
    }

    /// PutKeyPolicy.
    pub async fn put_key_policy(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        name: Option<&str>,
        policy: String,
        bypass_lockout_check: bool,
    ) -> Result<(), KmsError> {
        check_name(name)?;
        let parsed = validate(&policy)?;
        self.check_principals_exist(ctx, &parsed).await?;
        let access = Access::new(Operation::PutKeyPolicy).key(
            "kms:BypassPolicyLockoutSafetyCheck",
            vec![bypass_lockout_check.to_string()],
        );
        let key = self.resolve(ctx, r, &access).await?;
        if !bypass_lockout_check {
            self.check_lockout(ctx, &key.key, &parsed).await?;
        }
        let now = self.clock().now();
        self.update_key_record(&key.key.id, Some(&ctx.scope), |k| {
            k.check_customer_managed()?;
            k.state.check_manageable(&k.arn)?;
            k.policy.clone_from(&policy);
            k.policy_updated_at = now;
            Ok(Vec::new())
        })
        .await
        .map(drop)
    }

    /// ListKeyPolicies: always `["default"]`.
    pub async fn list_key_policies(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
    ) -> Result<Vec<&'static str>, KmsError> {
        self.resolve(ctx, r, &Access::new(Operation::ListKeyPolicies))
            .await?;
        Ok(vec![DEFAULT_POLICY_NAME])
    }
}

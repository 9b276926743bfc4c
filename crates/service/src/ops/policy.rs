//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. Policies are validated and
//! stored; enforcement comes with access control.

use crate::{RequestContext, Service};
use strongroom_core::KmsError;
use strongroom_core::ids::KeyRef;

/// The only policy name a key has.
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Checks a policy document; failures are `MalformedPolicyDocumentException` with the reason.
pub(crate) fn validate(policy: &str) -> Result<(), KmsError> {
    use strongroom_policy::PolicyException;
    strongroom_policy::parse_key_policy(policy)
        .map(drop)
        .map_err(|e| {
            let reason = e.to_string();
            match e.exception() {
                PolicyException::Validation => KmsError::Validation(reason),
                PolicyException::LimitExceeded => KmsError::LimitExceeded(reason),
                PolicyException::MalformedPolicyDocument => {
                    KmsError::MalformedPolicyDocument(reason)
                }
            }
        })
}

fn check_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(_) => Err(KmsError::NotFound("No such policy exists".to_owned())),
    }
}

impl Service {
    /// GetKeyPolicy.
    pub async fn get_key_policy(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        name: Option<&str>,
    ) -> Result<String, KmsError> {
        let key = self.resolve(ctx, r).await?;
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
    ) -> Result<(), KmsError> {
        check_name(name)?;
        validate(&policy)?;
        self.update_key(ctx, r, |k| {
            k.check_customer_managed()?;
            k.state.check_manageable(&k.arn)?;
            k.policy.clone_from(&policy);
            Ok(())
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
        self.resolve(ctx, r).await?;
        Ok(vec![DEFAULT_POLICY_NAME])
    }
}

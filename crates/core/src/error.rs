//! The one error type of the domain. Each front end maps it with an exhaustive `match` (no
//! wildcard arm), so adding a variant forces every edge to decide how to show it.
//!
//! Messages are written for the client: precise about *their* input, silent about internals.
//! Internal failures carry no detail here; the service logs the detail where it happens.

/// A failed KMS operation, as the client is told about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KmsError {
    /// Input breaks a documented constraint (length, pattern, range, exclusive members).
    #[error("{0}")]
    Validation(String),
    /// The named key or alias does not exist (in this account and region).
    #[error("{0}")]
    NotFound(String),
    /// The resource (alias) already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The key's state does not allow the operation (pending deletion, pending import…).
    #[error("{0}")]
    InvalidState(String),
    /// The ciphertext, its encryption context or its key do not match. Deliberately vague.
    #[error("{0}")]
    InvalidCiphertext(String),
    /// The KeyId in the request is not the key that encrypted the ciphertext.
    #[error("{0}")]
    IncorrectKey(String),
    /// The key's usage does not permit the operation.
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// An alias name is not acceptable (reserved prefix, malformed).
    #[error("{0}")]
    InvalidAliasName(String),
    /// An ARN is malformed.
    #[error("{0}")]
    InvalidArn(String),
    /// A pagination marker was not issued by this service.
    #[error("{0}")]
    InvalidMarker(String),
    /// A key policy document is not valid.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A tag is not valid (reserved prefix, bad characters).
    #[error("{0}")]
    Tag(String),
    /// A quota was reached.
    #[error("{0}")]
    LimitExceeded(String),
    /// The operation or option is not supported (yet, or for this key).
    #[error("{0}")]
    UnsupportedOperation(String),
    /// The caller is not allowed to perform the operation.
    #[error("{0}")]
    AccessDenied(String),
    /// An import token is malformed, was made for another key, or was altered.
    #[error("{0}")]
    InvalidImportToken(String),
    /// An import token (and its wrapping key) expired.
    #[error("{0}")]
    ExpiredImportToken(String),
    /// Imported material is not the material this key had, or not usable key material.
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    /// A grant token is malformed or names no grant of the key.
    #[error("{0}")]
    InvalidGrantToken(String),
    /// A grant id names no grant of the key.
    #[error("{0}")]
    InvalidGrantId(String),
    /// An identity cannot be deleted while something still belongs to it (IAM's
    /// `DeleteConflict`: a user with access keys or policies, say).
    #[error("{0}")]
    DeleteConflict(String),
    /// The caller may never do this, whatever the policy (e.g. aliases in `alias/aws/`).
    #[error("{0}")]
    NotAuthorized(String),
    /// A concurrent change won the race; retrying the request is safe.
    #[error("{0}")]
    Conflict(String),
    /// The request would have succeeded, but DryRun was set.
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    /// Something failed inside the service. No detail reaches the client.
    #[error("An internal error occurred. Try again later.")]
    Internal,
    /// A dependency (the store) did not answer in time. Retrying is safe.
    #[error("The service could not reach its key store in time. Try again later.")]
    DependencyTimeout,
}

impl KmsError {
    /// `NotFoundException` for a key named by `what` (an ARN or id).
    pub fn key_not_found(what: &str) -> Self {
        Self::NotFound(format!("Key '{what}' does not exist"))
    }

    /// `NotFoundException` for an alias named by its ARN.
    pub fn alias_not_found(alias_arn: &str) -> Self {
        Self::NotFound(format!("Alias '{alias_arn}' is not found."))
    }

    /// `AccessDeniedException` as AWS words it: names the caller, the action and the resource,
    /// then `reason` ("because no identity-based policy allows the kms:Encrypt action", "with
    /// an explicit deny in a resource-based policy"), never a policy's contents.
    pub fn access_denied(caller_arn: &str, action: &str, resource: &str, reason: &str) -> Self {
        Self::AccessDenied(format!(
            "User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {reason}"
        ))
    }

    /// `DisabledException` for the key `arn`.
    pub fn disabled(arn: &str) -> Self {
        Self::Disabled(format!("{arn} is disabled."))
    }

    /// `InvalidCiphertextException`. The message never says what did not match.
    pub fn invalid_ciphertext() -> Self {
        Self::InvalidCiphertext(
            "The ciphertext is invalid or does not match its key or encryption context.".to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_no_detail() {
        assert_eq!(
            KmsError::Internal.to_string(),
            "An internal error occurred. Try again later."
        );
    }
}

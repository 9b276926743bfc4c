//! Entry points for the fuzz targets in `fuzz/`: each takes raw bytes and must never panic.

use std::sync::Arc;

/// Parses `data` (if UTF-8) as a key policy.
pub fn key_policy(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::parse_key_policy(s);
    }
}

/// Parses `data` (if UTF-8) as an identity policy (under the role quota) and as a trust policy;
/// what parses is evaluated and authorized for a fixed request, and its condition keys queried.
pub fn identity_policy(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let identity = crate::parse_identity_policy(s, crate::ROLE_POLICY_MAX_CHARS);
    let trust = crate::parse_trust_policy(s);
    let caller = Arc::new(
        crate::Caller::new(crate::PrincipalInfo::from_arn(
            "arn:aws:sts::111122223333:assumed-role/Ops/session",
        ))
        .with("aws:PrincipalTag/Team", ["blue"]),
    );
    let ctx = crate::RequestContext::for_caller(
        caller,
        "kms:Encrypt",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    .with("kms:EncryptionContext:Department", ["IT"])
    .with("aws:SourceIp", ["192.0.2.10"])
    .with("aws:CurrentTime", ["2024-06-01T12:00:00Z"]);
    for policy in [identity.as_ref(), trust.as_ref()].into_iter().flatten() {
        let _ = crate::evaluate(policy, &ctx);
        let _ = policy.condition_keys().needs("kms:EncryptionContext:*");
    }
    if let Ok(policy) = &identity {
        let policies = [("fuzzed", policy)];
        let input = crate::AuthorizationInput {
            context: &ctx,
            resource_policy: trust.as_ref().ok(),
            identity_policies: &policies,
            resource_account: Some("111122223333"),
        };
        let _ = crate::authorize(&input);
    }
}

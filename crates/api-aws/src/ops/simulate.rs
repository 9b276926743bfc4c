//! `StrongroomService.SimulatePolicy`: the policy simulator over the API (see
//! `strongroom_service::simulate`). JSON in the KMS protocol's style.

use super::{Call, context, json, opt_key_ref};
use crate::error::ApiError;
use crate::input::{parse_body, req_str};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_service::simulate::{Decider, SimulateInput};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SimulateIn {
    principal_arn: Option<String>,
    action: Option<String>,
    key_id: Option<String>,
    encryption_context: Option<BTreeMap<String, String>>,
    source_ip: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeciderOut {
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl DeciderOut {
    fn of(d: Decider) -> Self {
        let base = |t| Self {
            r#type: t,
            policy_name: None,
            sid: None,
            grant_id: None,
            reason: None,
        };
        match d {
            Decider::KeyPolicyAllow(sid) => Self {
                sid,
                ..base("KeyPolicyAllow")
            },
            Decider::KeyPolicyDeny(sid) => Self {
                sid,
                ..base("KeyPolicyDeny")
            },
            Decider::IdentityPolicyAllow(name, sid) => Self {
                policy_name: Some(name),
                sid,
                ..base("IdentityPolicyAllow")
            },
            Decider::IdentityPolicyDeny(name, sid) => Self {
                policy_name: Some(name),
                sid,
                ..base("IdentityPolicyDeny")
            },
            Decider::AccountRoot => base("AccountRoot"),
            Decider::Grant(id) => Self {
                grant_id: Some(id),
                ..base("Grant")
            },
            Decider::DefaultDeny(reason) => Self {
                reason: Some(reason),
                ..base("DefaultDeny")
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SimulateOut {
    decision: &'static str,
    decided_by: Vec<DeciderOut>,
}

pub(crate) async fn simulate_policy(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: SimulateIn = parse_body(c.body)?;
    let principal_arn = req_str(&i.principal_arn, "principalArn", 1, 2048)?.to_owned();
    let action = req_str(&i.action, "action", 3, 128)?.to_owned();
    let key = opt_key_ref(&i.key_id, "keyId")?;
    let source_ip = i
        .source_ip
        .as_deref()
        .map(|s| {
            s.parse()
                .map_err(|_| KmsError::Validation(format!("SourceIp is not an IP address: {s}")))
        })
        .transpose()?;
    let input = SimulateInput {
        principal_arn,
        action,
        key,
        context: context(i.encryption_context),
        source_ip,
    };
    let sim = c.svc.simulate_policy(c.ctx, input).await?;
    json(&SimulateOut {
        decision: if sim.allowed { "allowed" } else { "denied" },
        decided_by: sim.decided_by.into_iter().map(DeciderOut::of).collect(),
    })
}

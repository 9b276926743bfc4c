//! STS actions over the Query protocol: AssumeRole and GetCallerIdentity.

use super::{Answer, Call, Params, QueryError, QueryService, Xml, audit, response_body};
use crate::error::ApiError;
use crate::input::{chars_match, int_range, required, str_len};
use strongroom_core::KmsError;
use strongroom_service::ops::sts::AssumeRoleInput;

type Out = Result<Answer, QueryError>;

// Runs STS action `action` (`dispatch`; `None` if this server does not know it); `ACTIONS`
// lists the same actions, as the metrics' operation labels.
super::actions! {
    "AssumeRole" => assume_role,
    "GetCallerIdentity" => get_caller_identity,
}

fn ok(c: &Call<'_>, action: &str, fill: &dyn Fn(&mut Xml)) -> Out {
    Ok(Answer::new(response_body(
        QueryService::Sts,
        action,
        c.request_id,
        Some(fill),
    )))
}

/// `arnType` of the STS model: 20–2048 characters of
/// `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]`.
fn role_arn(p: &Params) -> Result<String, ApiError> {
    let v = p.string("RoleArn");
    let s = required(&v, "roleArn")?;
    str_len("roleArn", s, 20, 2048)?;
    chars_match(
        "roleArn",
        s,
        "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+",
        |c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}')
                || ('\u{A0}'..='\u{D7FF}').contains(&c)
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        },
    )?;
    Ok(s.clone())
}

fn is_sts_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

/// Members of AssumeRole this server does not implement. Session policies and session tags
/// would narrow or label the session; MFA and source identity would be checked by conditions;
/// ignoring any of them would hand out broader or unverified credentials, so they are refused.
const UNSUPPORTED: &[&str] = &[
    "Policy",
    "PolicyArns",
    "Tags",
    "TransitiveTagKeys",
    "SerialNumber",
    "TokenCode",
    "SourceIdentity",
    "ProvidedContexts",
];

async fn assume_role(c: Call<'_>) -> Out {
    let p = c.params;
    let role_arn = role_arn(p)?;
    let session_name = p.string("RoleSessionName");
    let session_name = required(&session_name, "roleSessionName")?.clone();
    str_len("roleSessionName", &session_name, 2, 64)?;
    chars_match(
        "roleSessionName",
        &session_name,
        "[\\w+=,.@-]*",
        is_sts_name_char,
    )?;
    let duration_seconds = match p.int("DurationSeconds", "durationSeconds")? {
        Some(n) => {
            int_range("durationSeconds", n, 900, 43_200)?;
            u32::try_from(n).ok()
        }
        None => None,
    };
    let external_id = p.string("ExternalId");
    if let Some(id) = &external_id {
        str_len("externalId", id, 2, 1224)?;
        chars_match("externalId", id, "[\\w+=,.@:\\/-]*", |c| {
            is_sts_name_char(c) || matches!(c, ':' | '/')
        })?;
    }
    let minimum_token_size = match p.int("MinimumSessionTokenSize", "minimumSessionTokenSize")? {
        Some(n) => {
            int_range("minimumSessionTokenSize", n, 0, 4096)?;
            usize::try_from(n).ok()
        }
        None => None,
    };
    for m in UNSUPPORTED {
        if p.has(m) {
            return Err(KmsError::UnsupportedOperation(format!(
                "{m} is not supported by this server."
            ))
            .into());
        }
    }
    let assumed = c
        .svc
        .assume_role(
            c.ctx,
            AssumeRoleInput {
                role_arn,
                session_name,
                duration_seconds,
                minimum_token_size,
                external_id,
            },
        )
        .await?;
    let secret = std::str::from_utf8(assumed.secret_access_key.expose())
        .map_err(|_| ApiError::Kms(KmsError::Internal))?;
    let token = std::str::from_utf8(assumed.session_token.expose())
        .map_err(|_| ApiError::Kms(KmsError::Internal))?;
    let elements = audit::assume_role_elements(
        &assumed.access_key_id,
        assumed.expiration,
        &assumed.assumed_role_id,
        &assumed.arn,
    );
    ok(&c, "AssumeRole", &|x| {
        x.open("Credentials");
        x.elem("AccessKeyId", &assumed.access_key_id);
        x.elem("SecretAccessKey", secret);
        x.elem("SessionToken", token);
        x.time("Expiration", assumed.expiration);
        x.close("Credentials");
        x.open("AssumedRoleUser");
        x.elem("AssumedRoleId", &assumed.assumed_role_id);
        x.elem("Arn", &assumed.arn);
        x.close("AssumedRoleUser");
    })
    .map(|a| a.with_elements(elements))
}

async fn get_caller_identity(c: Call<'_>) -> Out {
    let id = c.svc.get_caller_identity(c.ctx).await?;
    ok(&c, "GetCallerIdentity", &|x| {
        x.elem("UserId", &id.user_id);
        x.elem("Account", id.account.as_str());
        x.elem("Arn", &id.arn);
    })
}

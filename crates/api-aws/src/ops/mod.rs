//! One module per operation family: each parses its input shape, validates it with AWS's
//! constraints, calls the service and writes the output shape.

pub(crate) mod aliases;
pub(crate) mod crypto;
pub(crate) mod grants;
pub(crate) mod import;
pub(crate) mod keys;
pub(crate) mod lifecycle;
pub(crate) mod policy;
pub(crate) mod simulate;
pub(crate) mod tags;

use crate::error::ApiError;
use crate::input::{int_range, list_len, opt_str, req_str, str_len};
use serde::Serialize;
use std::collections::BTreeMap;
use strongroom_core::context::EncryptionContext;
use strongroom_core::ids::KeyRef;
use strongroom_service::{RequestContext, Service};

/// What every handler gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) svc: &'a Service,
    pub(crate) ctx: &'a RequestContext,
    pub(crate) body: &'a [u8],
}

/// Serializes an output shape.
pub(crate) fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(v).map_err(|_| ApiError::Kms(strongroom_core::KmsError::Internal))
}

/// The empty output shape.
pub(crate) fn empty() -> Vec<u8> {
    b"{}".to_vec()
}

/// A required KeyId-like member (1–2048 characters) in any of AWS's four forms.
pub(crate) fn key_ref(v: &Option<String>, member: &str) -> Result<KeyRef, ApiError> {
    Ok(KeyRef::parse(req_str(v, member, 1, 2048)?)?)
}

/// An optional KeyId-like member.
pub(crate) fn opt_key_ref(v: &Option<String>, member: &str) -> Result<Option<KeyRef>, ApiError> {
    match opt_str(v, member, 1, 2048)? {
        Some(s) => Ok(Some(KeyRef::parse(s)?)),
        None => Ok(None),
    }
}

/// An encryption context member (absent means empty).
pub(crate) fn context(v: Option<BTreeMap<String, String>>) -> EncryptionContext {
    EncryptionContext::new(v.unwrap_or_default())
}

/// GrantTokens: 0–10 tokens of 1–8192 characters, each one this service issued
/// (`InvalidGrantTokenException` otherwise).
pub(crate) fn grant_tokens(svc: &Service, v: &Option<Vec<String>>) -> Result<(), ApiError> {
    if let Some(tokens) = v {
        list_len("grantTokens", tokens.len(), 0, 10)?;
        for (i, t) in tokens.iter().enumerate() {
            str_len(&format!("grantTokens.{}.member", i + 1), t, 1, 8192)?;
        }
        svc.check_grant_tokens(tokens)?;
    }
    Ok(())
}

/// Limit (1–1000, default 100) of list operations.
pub(crate) fn limit(v: Option<i64>) -> Result<usize, ApiError> {
    match v {
        Some(n) => {
            int_range("limit", n, 1, 1000)?;
            Ok(usize::try_from(n).unwrap_or(1000))
        }
        None => Ok(strongroom_service::ops::DEFAULT_LIMIT),
    }
}

/// Marker of list operations (1–1024 characters of `[\u0020-\u00FF]`).
pub(crate) fn marker(v: &Option<String>) -> Result<Option<&str>, ApiError> {
    let m = opt_str(v, "marker", 1, 1024)?;
    if let Some(s) = m {
        crate::input::chars_match("marker", s, "[\\u0020-\\u00FF]*", |c| {
            ('\u{20}'..='\u{FF}').contains(&c)
        })?;
    }
    Ok(m)
}

/// The `Truncated` / `NextMarker` pair of list outputs.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PageInfo {
    pub(crate) truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_marker: Option<String>,
}

impl PageInfo {
    pub(crate) fn new(next_marker: Option<String>) -> Self {
        Self {
            truncated: next_marker.is_some(),
            next_marker,
        }
    }
}

//! Deciding whether a parsed request is authentic: the policy checks that need the server's
//! clock and identity, then the signature itself.
//!
//! The policy checks ([`Authorization::check`]) need no secret, so a server can run them before
//! it looks up the access key, as AWS does; [`verify`] runs them again, so forgetting the early
//! call cannot weaken anything.

use strongroom_crypto::digest::constant_time_eq;

use crate::Request;
use crate::authorization::{Authorization, TERMINATOR};
use crate::canonical::{canonical_request, payload_hash, string_to_sign};
use crate::error::{
    DateHeader, DateMismatch, Error, InvalidSignature, MAX_CLOCK_SKEW_SECS, ScopeMismatch,
};
use crate::signing::SigningKey;

/// The service and regions this server answers for: what a credential scope must name.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    /// The signing name, `kms` for KMS. Compared exactly, case included.
    pub service: &'a str,
    /// Every region accepted in the credential scope.
    pub regions: &'a [&'a str],
}

impl Authorization {
    /// The checks that need no secret: the request time is within [`MAX_CLOCK_SKEW_SECS`] of
    /// `now_unix`, `host` and the date header are signed, and the credential scope names this
    /// endpoint's service, one of its regions, the terminator `aws4_request` and the date of the
    /// request time.
    pub fn check(&self, endpoint: &Endpoint<'_>, now_unix: i64) -> Result<(), Error> {
        let skew = i128::from(self.request_time) - i128::from(now_unix);
        if skew < -i128::from(MAX_CLOCK_SKEW_SECS) {
            return Err(InvalidSignature::Expired {
                request_time: self.request_time,
                now: now_unix,
            }
            .into());
        }
        if skew > i128::from(MAX_CLOCK_SKEW_SECS) {
            return Err(InvalidSignature::NotYetCurrent {
                request_time: self.request_time,
                now: now_unix,
            }
            .into());
        }
        if !self.is_signed("host") {
            return Err(InvalidSignature::HostNotSigned.into());
        }
        let date_name = match self.date_header {
            DateHeader::XAmzDate => "x-amz-date",
            DateHeader::Date => "date",
        };
        if !self.is_signed(date_name) {
            return Err(InvalidSignature::DateNotSigned {
                header: self.date_header,
            }
            .into());
        }
        let mismatch = self.scope_mismatch(endpoint);
        if mismatch.is_empty() {
            Ok(())
        } else {
            Err(InvalidSignature::CredentialScope(mismatch).into())
        }
    }

    fn is_signed(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }

    fn scope_mismatch(&self, endpoint: &Endpoint<'_>) -> ScopeMismatch {
        let day = self.amz_date.get(..8).unwrap_or_default();
        ScopeMismatch {
            region: (!endpoint.regions.contains(&self.region.as_str()))
                .then(|| self.region.clone()),
            service: (self.service != endpoint.service).then(|| endpoint.service.to_owned()),
            terminator: (self.terminator != TERMINATOR).then(|| self.terminator.clone()),
            date: (self.scope_date != day).then(|| DateMismatch {
                scope_date: self.scope_date.clone(),
                request_date: self.amz_date.clone(),
            }),
        }
    }
}

/// Verifies `req` against the claims parsed from it and the secret access key of
/// `auth.access_key_id()`.
///
/// Runs [`Authorization::check`], then checks that `X-Amz-Content-Sha256`, when sent, is the
/// body's SHA-256, then recomputes the signature and compares it in constant time. `now_unix` is
/// the server's clock; nothing here reads one.
pub fn verify(
    req: &Request<'_>,
    auth: &Authorization,
    endpoint: &Endpoint<'_>,
    secret_access_key: &[u8],
    now_unix: i64,
) -> Result<(), Error> {
    let key = SigningKey::derive(
        secret_access_key,
        &auth.scope_date,
        &auth.region,
        &auth.service,
    );
    verify_with_key(req, auth, endpoint, &key, now_unix)
}

/// [`verify`] with a signing key the caller derived (and may have cached) for this access key.
/// A key for another scope than the request's fails as a mismatch, so a stale cache entry can
/// only refuse, never accept.
pub fn verify_with_key(
    req: &Request<'_>,
    auth: &Authorization,
    endpoint: &Endpoint<'_>,
    key: &SigningKey,
    now_unix: i64,
) -> Result<(), Error> {
    auth.check(endpoint, now_unix)?;
    let body_hash = payload_hash(req.body);
    if let Some(claimed) = auth.content_sha256()
        && !claimed.eq_ignore_ascii_case(&body_hash)
    {
        return Err(InvalidSignature::ContentSha256Mismatch.into());
    }
    let scope = auth.credential_scope();
    if key.scope() != scope {
        return Err(InvalidSignature::Mismatch.into());
    }
    let names: Vec<&str> = auth.signed_headers().collect();
    let creq = canonical_request(req, &names, &body_hash)?;
    let sts = string_to_sign(&auth.amz_date, &scope, &creq);
    if constant_time_eq(&key.sign(&sts), &auth.signature) {
        Ok(())
    } else {
        Err(InvalidSignature::Mismatch.into())
    }
}

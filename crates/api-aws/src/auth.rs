//! SigV4 authentication of a request: parse the signature, run the checks that need no secret,
//! look up the access key, verify. Produces the [`RequestContext`] every operation acts in.

use crate::{ApiError, AwsApi, Request};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock, Weak};
use strongroom_core::ids::Region;
use strongroom_core::time::Timestamp;
use strongroom_service::RequestContext;
use strongroom_service::cache::CachedCredential;
use strongroom_sigv4::{Authorization, Endpoint, SigningKey};

/// The most signing keys kept; the map is emptied when full.
const MAX_SIGNING_KEYS: usize = 4096;

/// Signing keys derived per access key and credential scope: deriving one costs four HMACs and
/// a key is good for a whole day, so it is derived once per day, region and access key.
///
/// Each entry remembers the credential it was derived from; when the service replaces a
/// credential (a new secret), the entry no longer matches and is derived again.
#[derive(Debug, Default)]
pub(crate) struct SigningKeys(RwLock<HashMap<String, SigningKeyEntry>>);

#[derive(Debug)]
struct SigningKeyEntry {
    credential: Weak<CachedCredential>,
    key: Arc<SigningKey>,
}

impl SigningKeys {
    fn get(&self, cred: &Arc<CachedCredential>, auth: &Authorization) -> Arc<SigningKey> {
        let id = format!("{}/{}", auth.access_key_id(), auth.credential_scope());
        if let Ok(map) = self.0.read()
            && let Some(e) = map.get(&id)
            && std::ptr::eq(e.credential.as_ptr(), Arc::as_ptr(cred))
        {
            return Arc::clone(&e.key);
        }
        let key = Arc::new(SigningKey::derive(
            cred.secret.expose(),
            auth.scope_date(),
            auth.region(),
            auth.service(),
        ));
        if let Ok(mut map) = self.0.write() {
            if map.len() >= MAX_SIGNING_KEYS {
                map.clear();
            }
            let entry = SigningKeyEntry {
                credential: Arc::downgrade(cred),
                key: Arc::clone(&key),
            };
            map.insert(id, entry);
        }
        key
    }
}

impl AwsApi {
    /// Authenticates a request signed for `service` (`kms`, `iam`, `sts`) and builds its
    /// context. Session credentials must carry their session token and be unexpired.
    pub(crate) async fn authenticate(
        &self,
        req: &Request<'_>,
        request_id: &str,
        service: &str,
        peer: Option<IpAddr>,
    ) -> Result<RequestContext, ApiError> {
        let auth = strongroom_sigv4::parse(req).map_err(ApiError::Signature)?;
        // Dev mode (no configured regions) serves any well-formed region the scope names.
        let region = Region::parse(auth.region());
        let scope_region: Vec<&str> = region
            .is_some()
            .then(|| auth.region())
            .into_iter()
            .collect();
        let configured: Vec<&str> = self.config.regions.iter().map(String::as_str).collect();
        let endpoint = Endpoint {
            service,
            regions: if configured.is_empty() {
                &scope_region
            } else {
                &configured
            },
        };
        let now = self.clock().now().unix_seconds();
        auth.check(&endpoint, now).map_err(ApiError::Signature)?;
        // `check` accepted the region, so it is one of the well-formed names above.
        let region = region.ok_or(ApiError::Kms(strongroom_core::KmsError::Internal))?;
        let cred = self
            .service
            .credential(auth.access_key_id())
            .await?
            .filter(|c| c.active)
            .ok_or(ApiError::UnrecognizedClient)?;
        let key = self.signing_keys.get(&cred, &auth);
        strongroom_sigv4::verify_with_key(req, &auth, &endpoint, &key, now)
            .map_err(ApiError::Signature)?;
        check_session(&cred, auth.security_token(), self.service.clock().now())?;
        let partition = self.service.config().partition.clone();
        let mut ctx = RequestContext::new(
            cred.caller.clone(),
            &partition,
            region,
            std::sync::Arc::from(request_id),
        );
        ctx.source_ip = peer;
        Ok(ctx)
    }
}

/// Long-term credentials take no session token; session credentials need theirs (compared as
/// digests, in constant time) and must not have expired. Checked after the signature, so an
/// unsigned request learns nothing about a key's kind or expiry.
fn check_session(
    cred: &CachedCredential,
    token: Option<&str>,
    now: Timestamp,
) -> Result<(), ApiError> {
    match (&cred.session, token) {
        (None, None) => Ok(()),
        (Some(session), Some(token)) => {
            let digest = strongroom_crypto::digest::sha256(token.as_bytes());
            if !strongroom_crypto::digest::constant_time_eq(&digest, &session.token_digest) {
                return Err(ApiError::UnrecognizedClient);
            }
            if now >= session.expires_at {
                return Err(ApiError::ExpiredToken);
            }
            Ok(())
        }
        _ => Err(ApiError::UnrecognizedClient),
    }
}

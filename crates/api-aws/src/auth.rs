//! SigV4 authentication of a request: parse the signature, run the checks that need no secret,
//! look up the access key, verify. Produces the [`RequestContext`] every operation acts in.

use crate::{ApiError, AwsApi, Request};
use strongroom_core::ids::Region;
use strongroom_service::RequestContext;
use strongroom_sigv4::Endpoint;

/// The SigV4 signing name of KMS.
const SERVICE: &str = "kms";

impl AwsApi {
    pub(crate) async fn authenticate(&self, req: &Request<'_>) -> Result<RequestContext, ApiError> {
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
            service: SERVICE,
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
        // No temporary credentials exist yet, so no session token can be valid.
        if auth.security_token().is_some() {
            return Err(ApiError::UnrecognizedClient);
        }
        let cred = self
            .service
            .credential(auth.access_key_id())
            .await?
            .filter(|c| c.active)
            .ok_or(ApiError::UnrecognizedClient)?;
        strongroom_sigv4::verify(req, &auth, &endpoint, cred.secret.expose(), now)
            .map_err(ApiError::Signature)?;
        let partition = self.service.config().partition.clone();
        Ok(RequestContext::new(cred.caller.clone(), &partition, region))
    }
}

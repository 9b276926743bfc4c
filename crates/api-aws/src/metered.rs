//! The front end's request metrics (`strongroom_requests_total`,
//! `strongroom_request_duration_seconds`): one table of handles per API, indexed by
//! operation, so recording a request looks nothing up by name.

use crate::dispatch::{self, Target};
use crate::query::QueryService;
use std::time::Duration;
use strongroom_service::metrics::{Api, Metrics, Outcome, RequestMetrics};

/// The request metrics of the four APIs.
#[derive(Debug)]
pub(crate) struct ApiMetrics {
    kms: RequestMetrics,
    iam: RequestMetrics,
    sts: RequestMetrics,
    cloudtrail: RequestMetrics,
}

impl ApiMetrics {
    pub(crate) fn new(m: &Metrics) -> Self {
        Self {
            kms: m.requests(Api::Kms, &dispatch::metric_operations()),
            iam: m.requests(Api::Iam, QueryService::Iam.actions()),
            sts: m.requests(Api::Sts, QueryService::Sts.actions()),
            cloudtrail: m.requests(Api::CloudTrail, crate::cloudtrail::OPERATIONS),
        }
    }

    /// Records a KMS request.
    pub(crate) fn kms(&self, target: Target, outcome: Outcome, elapsed: Duration) {
        self.kms.record(target.metric_index(), outcome, elapsed);
    }

    /// Records an IAM or STS request of the action at `action` in `service.actions()`
    /// (`None`: not determined).
    pub(crate) fn query(
        &self,
        service: QueryService,
        action: Option<usize>,
        outcome: Outcome,
        elapsed: Duration,
    ) {
        let metrics = match service {
            QueryService::Iam => &self.iam,
            QueryService::Sts => &self.sts,
        };
        metrics.record(action.unwrap_or(usize::MAX), outcome, elapsed);
    }
}

impl ApiMetrics {
    /// Records a CloudTrail request of the operation at `operation` in
    /// [`crate::cloudtrail::OPERATIONS`] (`None`: another one).
    pub(crate) fn cloudtrail(&self, operation: Option<usize>, outcome: Outcome, elapsed: Duration) {
        self.cloudtrail
            .record(operation.unwrap_or(usize::MAX), outcome, elapsed);
    }
}

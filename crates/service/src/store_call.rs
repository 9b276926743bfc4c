//! Running store calls from async code: on a blocking thread, with store errors turned into
//! client-safe [`KmsError`]s and their detail logged here, where it happens.

use crate::Service;
use std::sync::Arc;
use strongroom_core::KmsError;
use strongroom_store::{Store, StoreError};

impl Service {
    /// Runs `f` against the store on a blocking thread, keeping the store's own error (for
    /// callers that retry on [`StoreError::Conflict`]).
    pub(crate) async fn store_raw<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store: Arc<dyn Store> = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .unwrap_or_else(|e| Err(StoreError::Unavailable(format!("store task failed: {e}"))))
    }

    /// Runs `f` against the store on a blocking thread; failures become client-safe errors.
    pub(crate) async fn store_call<T, F>(&self, what: &'static str, f: F) -> Result<T, KmsError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    {
        self.store_raw(f)
            .await
            .map_err(|e| map_store_error(what, e))
    }
}

/// Maps a store failure to what the client may see.
pub(crate) fn map_store_error(what: &'static str, e: StoreError) -> KmsError {
    match e {
        StoreError::Conflict => KmsError::Conflict(
            "The resource was changed by a concurrent request. Retry the request.".to_owned(),
        ),
        StoreError::Unavailable(detail) => {
            tracing::error!(operation = what, detail = %detail, "store unavailable");
            KmsError::DependencyTimeout
        }
        StoreError::Corrupt(detail) => {
            tracing::error!(operation = what, detail = %detail, "store data corrupt");
            KmsError::Internal
        }
    }
}

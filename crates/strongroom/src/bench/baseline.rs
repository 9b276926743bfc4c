//! The bare-HTTP baseline: the server's HTTP stack with nothing behind it, to measure what
//! this machine can do at all with the same runtime, the same `axum::serve` HTTP/1.1 settings,
//! the same body limit and the same response headers. It reads the whole body and answers
//! every request with one fixed body; no authentication, no JSON parsing, no cryptography.

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::io::Write as _;
use std::net::SocketAddr;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An Encrypt answer for a 32-byte plaintext, in shape and size, so the bytes on the wire
/// match those of the workload the baseline is compared with.
const BODY: &str = concat!(
    r#"{"CiphertextBlob":"AQICAHhGbG9vcmJlbmNoYmFzZWxpbmVvbmx5AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"#,
    r#"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","#,
    r#""KeyId":"arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000","#,
    r#""EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#
);
/// A request id of the length the server's (UUID) request ids have.
const REQUEST_ID: &str = "00000000-0000-4000-8000-000000000000";

/// Runs the baseline server on `listen` until SIGTERM or SIGINT, printing its endpoint the way
/// `strongroom serve` does so the bench finds both the same way.
pub(crate) fn serve(listen: SocketAddr) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "export AWS_ENDPOINT_URL=http://{addr}")?;
        out.flush()?;
        drop(out);
        axum::serve(listener, router())
            .with_graceful_shutdown(crate::http::shutdown_signal())
            .await?;
        Ok(())
    })
}

fn router() -> Router {
    Router::new()
        .fallback(answer)
        .layer(DefaultBodyLimit::max(crate::http::MAX_BODY))
}

async fn answer(_body: Bytes) -> Response {
    let mut out = (StatusCode::OK, BODY).into_response();
    let h = out.headers_mut();
    h.insert(
        "content-type",
        HeaderValue::from_static(super::client::CONTENT_TYPE),
    );
    h.insert("x-amzn-requestid", HeaderValue::from_static(REQUEST_ID));
    out
}

//! One HTTP POST to a webhook, over TCP or TLS (rustls with the aws-lc-rs provider), with
//! hyper's HTTP/1.1 client connection. A fresh connection per attempt: alerts are rare, and a
//! new connection never inherits a half-broken one (ADR 0013).
//!
//! Webhook URLs can carry credentials in their path or query (many chat services work that
//! way), so nothing here prints a URL: messages name the host and port only.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Where a webhook's alerts go: a parsed `http://` or `https://` URL and, for HTTPS, the TLS
/// configuration that checks the server.
#[derive(Clone)]
pub(crate) struct Target {
    host: String,
    port: u16,
    /// The `Host` header: host and, when not the scheme's default, port.
    authority: String,
    path_and_query: String,
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the path or query: they may hold a token.
        write!(f, "Target({})", self.describe())
    }
}

/// Which certificate authorities an HTTPS webhook trusts.
#[derive(Debug, Clone)]
pub(crate) enum Roots {
    /// The operating system's trust store.
    System,
    /// Only these (a `ca_file`).
    Only(Vec<CertificateDer<'static>>),
}

impl Target {
    /// Parses `url` (`http://` or `https://`, a host, no user information) and, for HTTPS,
    /// builds its TLS configuration from `roots`.
    pub(crate) fn parse(url: &str, roots: &Roots) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|_| "is not a valid absolute URL".to_owned())?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err("must start with https:// (or http://)".to_owned()),
        };
        let authority = uri.authority().ok_or("has no host")?;
        if authority.as_str().contains('@') {
            return Err(
                "must not contain user information (user:password@); authenticate with the signature"
                    .to_owned(),
            );
        }
        let host = authority.host();
        if host.is_empty() {
            return Err("has no host".to_owned());
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let path_and_query = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let tls = if https {
            let name = ServerName::try_from(bare_host.clone())
                .map_err(|_| format!("has a host ({host}) that is not a valid TLS server name"))?;
            Some((client_config(roots)?, name))
        } else {
            None
        };
        Ok(Self {
            host: bare_host,
            port,
            authority: authority.as_str().to_owned(),
            path_and_query,
            tls,
        })
    }

    /// `https://host:port` or `http://host:port`, for logs.
    pub(crate) fn describe(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.authority)
    }

    /// Whether alerts to this target travel in the clear to another machine.
    pub(crate) fn is_plaintext_remote(&self) -> bool {
        let loopback = self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        self.tls.is_none() && !loopback
    }
}

fn client_config(roots: &Roots) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Roots::Only(certs) => {
            for c in certs {
                store
                    .add(c.clone())
                    .map_err(|e| format!("has a ca_file certificate rustls refuses: {e}"))?;
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "is https, but the system trust store has no usable CA certificates; set ca_file"
                        .to_owned(),
                );
            }
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// How one attempt ended, short of an answer.
#[derive(Debug)]
pub(crate) enum PostError {
    /// No answer within the timeout.
    Timeout(Duration),
    /// Connecting, the TLS handshake or the exchange failed.
    Io(String),
}

impl fmt::Display for PostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout(d) => write!(f, "no answer within {} ms", d.as_millis()),
            Self::Io(m) => f.write_str(m),
        }
    }
}

/// POSTs `body` with `headers` and returns the answer's status. The whole attempt (connect,
/// handshake, request, answer head) must finish within `timeout`; the answer's body is not
/// read.
pub(crate) async fn post(
    target: &Target,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    timeout: Duration,
) -> Result<u16, PostError> {
    tokio::time::timeout(timeout, post_inner(target, headers, body))
        .await
        .map_err(|_| PostError::Timeout(timeout))?
}

async fn post_inner(
    target: &Target,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
) -> Result<u16, PostError> {
    let where_ = format!("{}:{}", target.host, target.port);
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| PostError::Io(format!("cannot connect to {where_}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(target.path_and_query.as_str())
        .header(http::header::HOST, target.authority.as_str())
        .header(http::header::CONNECTION, "close");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Full::new(body))
        .map_err(|e| PostError::Io(format!("cannot build the request: {e}")))?;
    match &target.tls {
        Some((config, name)) => {
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(config))
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| PostError::Io(format!("TLS with {where_} failed: {e}")))?;
            exchange(tls, request, &where_).await
        }
        None => exchange(tcp, request, &where_).await,
    }
}

async fn exchange<S>(
    stream: S,
    request: Request<Full<Bytes>>,
    where_: &str,
) -> Result<u16, PostError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| PostError::Io(format!("HTTP with {where_} failed: {e}")))?;
    // The connection is driven by its own task; it ends when the exchange is over, and is
    // aborted if this future is dropped (timeout).
    let driver = AbortOnDrop(tokio::spawn(connection));
    let answer = sender
        .send_request(request)
        .await
        .map_err(|e| PostError::Io(format!("HTTP with {where_} failed: {e}")));
    drop(driver);
    Ok(answer?.status().as_u16())
}

struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

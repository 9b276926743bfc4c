//! The load client: signed KMS requests over plain HTTP/1.1 keep-alive connections.
//!
//! It writes requests and reads responses by hand instead of going through hyper's client,
//! because it shares the machine's cores with the server under test: every microsecond it
//! spends is taken from the server. Everything constant about a request (request line, host,
//! content type, target, content length, body) is rendered once; per request it only signs
//! (a fresh `X-Amz-Date` and signature, as the server verifies every one) and copies bytes into
//! a buffer that is reused, as is the read buffer.

use std::fmt;
use std::io;
use strongroom_crypto::secret::SecretBytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The content type of the AWS JSON 1.1 protocol.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The SigV4 signing name of KMS.
const SERVICE: &str = "kms";
/// A response head larger than this is not one the server sends.
const MAX_HEAD: usize = 16 * 1024;
/// A response body larger than this is not one the server sends.
const MAX_BODY: usize = 1 << 20;

/// Who signs the requests.
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: SecretBytes,
    pub(crate) region: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Why a request got no HTTP response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("malformed response: {0}")]
    Protocol(&'static str),
    #[error("cannot sign the request: {0}")]
    Sign(#[from] strongroom_sigv4::Error),
}

/// One operation's request, rendered except for the signature.
#[derive(Debug)]
pub(crate) struct RequestTemplate {
    host: String,
    target: String,
    body: Vec<u8>,
    /// Request line and unsigned-per-request headers, ending with `\r\n`.
    head: Vec<u8>,
}

impl RequestTemplate {
    /// A `POST /` of `body` to KMS operation `operation` on `host` (the `host:port` authority).
    pub(crate) fn new(host: &str, operation: &str, body: Vec<u8>) -> Self {
        Self::with_target(host, format!("TrentService.{operation}"), body)
    }

    /// A `POST /` of `body` with `X-Amz-Target: target` (Strongroom's own extensions).
    pub(crate) fn with_target(host: &str, target: String, body: Vec<u8>) -> Self {
        let head = format!(
            "POST / HTTP/1.1\r\nhost: {host}\r\ncontent-type: {CONTENT_TYPE}\r\n\
             x-amz-target: {target}\r\ncontent-length: {}\r\n",
            body.len()
        );
        Self {
            host: host.to_owned(),
            target,
            body,
            head: head.into_bytes(),
        }
    }

    /// Replaces the contents of `out` with this request signed by `creds` at `now_unix`.
    pub(crate) fn render(
        &self,
        creds: &Credentials,
        now_unix: i64,
        out: &mut Vec<u8>,
    ) -> Result<(), ClientError> {
        let headers: [(&str, &[u8]); 3] = [
            ("host", self.host.as_bytes()),
            ("content-type", CONTENT_TYPE.as_bytes()),
            ("x-amz-target", self.target.as_bytes()),
        ];
        let req = strongroom_sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: &self.body,
        };
        let signed = strongroom_sigv4::sign(
            &req,
            &creds.access_key_id,
            creds.secret_access_key.expose(),
            &creds.region,
            SERVICE,
            now_unix,
        )?;
        out.clear();
        out.extend_from_slice(&self.head);
        for (name, value) in [
            (&b"x-amz-date: "[..], signed.amz_date.as_bytes()),
            (b"authorization: ", signed.authorization.as_bytes()),
        ] {
            out.extend_from_slice(name);
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        Ok(())
    }
}

/// A response, borrowed from the connection's read buffer.
#[derive(Debug)]
pub(crate) struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) body: &'a [u8],
    /// The server announced it will close the connection after this response.
    pub(crate) close: bool,
}

/// One keep-alive HTTP/1.1 connection. Requests are sent one at a time (no pipelining), as
/// SDK clients do.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// What the response head says about the rest of the response.
struct Head {
    status: u16,
    len: usize,
    body_len: usize,
    close: bool,
}

impl Connection {
    /// Connects to `authority` (`host:port`).
    pub(crate) async fn connect(authority: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` (a whole HTTP/1.1 request) and reads the whole response.
    pub(crate) async fn round_trip(&mut self, request: &[u8]) -> Result<Response<'_>, ClientError> {
        self.stream.write_all(request).await?;
        self.buf.clear();
        let head = loop {
            self.fill().await?;
            if let Some(head) = parse_head(&self.buf)? {
                break head;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ClientError::Protocol("response head too large"));
            }
        };
        let end = head.len + head.body_len;
        while self.buf.len() < end {
            self.fill().await?;
        }
        if self.buf.len() > end {
            return Err(ClientError::Protocol("bytes after the response"));
        }
        Ok(Response {
            status: head.status,
            body: self.buf.get(head.len..end).unwrap_or_default(),
            close: head.close,
        })
    }

    async fn fill(&mut self) -> Result<(), ClientError> {
        self.buf.reserve(4096);
        match self.stream.read_buf(&mut self.buf).await? {
            0 => Err(ClientError::Closed),
            _ => Ok(()),
        }
    }
}

/// Parses the response head at the start of `buf`; `None` until it is complete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ClientError> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ClientError::Protocol("unparsable response head")),
    };
    let status = resp.code.ok_or(ClientError::Protocol("no status"))?;
    let mut body_len = None;
    let mut close = resp.version == Some(0);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or(ClientError::Protocol("bad content-length"))?;
            body_len = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(ClientError::Protocol("chunked responses are not supported"));
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    let body_len = body_len.ok_or(ClientError::Protocol("no content-length"))?;
    if body_len > MAX_BODY {
        return Err(ClientError::Protocol("response body too large"));
    }
    Ok(Some(Head {
        status,
        len,
        body_len,
        close,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key_id: "AKIDEXAMPLE0000000".to_owned(),
            secret_access_key: SecretBytes::new(
                b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_vec(),
            ),
            region: "us-east-1".to_owned(),
        }
    }

    #[test]
    fn rendered_requests_verify_and_carry_the_body() {
        let t = RequestTemplate::new("127.0.0.1:9", "Encrypt", br#"{"KeyId":"k"}"#.to_vec());
        let mut out = Vec::new();
        let now = 1_700_000_000;
        t.render(&creds(), now, &mut out).unwrap();
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(n) = req.parse(&out).unwrap() else {
            panic!("incomplete request");
        };
        assert_eq!(&out[n..], br#"{"KeyId":"k"}"#);
        let pairs: Vec<(&str, &[u8])> = req.headers.iter().map(|h| (h.name, h.value)).collect();
        let sreq = strongroom_sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
            body: &out[n..],
        };
        let auth = strongroom_sigv4::parse(&sreq).unwrap();
        let endpoint = strongroom_sigv4::Endpoint {
            service: "kms",
            regions: &["us-east-1"],
        };
        let secret = creds().secret_access_key;
        strongroom_sigv4::verify(&sreq, &auth, &endpoint, secret.expose(), now).unwrap();
        // Signed a second later, the same request carries a different signature.
        let mut again = Vec::new();
        t.render(&creds(), now + 1, &mut again).unwrap();
        assert_ne!(out, again);
    }

    #[test]
    fn response_heads_parse_incrementally() {
        let full = b"HTTP/1.1 200 OK\r\ncontent-type: x\r\ncontent-length: 2\r\n\r\n{}";
        assert!(parse_head(&full[..20]).unwrap().is_none());
        let head = parse_head(full).unwrap().unwrap();
        assert_eq!((head.status, head.body_len, head.close), (200, 2, false));
        assert_eq!(&full[head.len..], b"{}");
        let closing = b"HTTP/1.1 400 Bad\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let head = parse_head(closing).unwrap().unwrap();
        assert_eq!((head.status, head.close), (400, true));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    }
}

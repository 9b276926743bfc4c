//! The AWS Query protocol, as IAM and STS speak it: `POST /` with an
//! `application/x-www-form-urlencoded` body (`Action=CreateUser&Version=2010-05-08&…`, lists
//! flattened as `Tags.member.1.Key`), answered with XML
//! (`<CreateUserResponse><CreateUserResult>…</CreateUserResult><ResponseMetadata>…`), errors
//! as `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code>…`.
//!
//! Which service a request is for comes from its SigV4 credential scope (`iam` or `sts`); the
//! request is authenticated for that service like a KMS request is for `kms`.
//!
//! **Parsing** is strict and bounded: the body must be printable ASCII with well-formed `%XX`
//! escapes that decode to UTF-8, hold at most [`MAX_PARAMS`] parameters with names of at most
//! [`MAX_NAME_LEN`] bytes, none repeated, and list members must be numbered `1..=n` with
//! `n <= MAX_LIST_INDEX`. Anything else is refused with a precise `MalformedQueryString`
//! rather than guessed at.
//!
//! **XML** is written by the small escaping writer [`Xml`] rather than a library: responses
//! are a fixed vocabulary of elements with text content and one `xmlns` attribute, so the
//! only correctness concern is escaping, which is short enough to test exhaustively here; a
//! dependency (quick-xml) would add a reader and serde glue this never uses.

/// Defines a Query service's `dispatch` and `ACTIONS` from one table, so that the actions
/// counted in metrics are exactly those dispatched.
macro_rules! actions {
    ($($name:literal => $handler:ident),+ $(,)?) => {
        /// The actions this server knows: the `operation` labels of their metrics.
        pub(crate) const ACTIONS: &[&str] = &[$($name),+];

        /// Runs action `action`; `None` if this server does not know it.
        pub(crate) async fn dispatch(action: &str, c: Call<'_>) -> Option<Out> {
            Some(match action {
                $($name => $handler(c).await,)+
                _ => return None,
            })
        }
    };
}
use actions;

pub(crate) mod audit;
mod form;
pub(crate) mod iam;
pub(crate) mod sts;

pub(crate) use form::Params;

use crate::error::ApiError;
use crate::{AwsApi, Request, Response, UNRECORDED_MESSAGE, Unrecorded, header};
use strongroom_core::time::Timestamp;

/// The content type of Query protocol responses.
pub const XML_CONTENT_TYPE: &str = "text/xml";
/// The most parameters one request may carry.
pub(crate) const MAX_PARAMS: usize = 1_000;
/// The longest parameter name, in bytes.
pub(crate) const MAX_NAME_LEN: usize = 256;
/// The highest list member number accepted (no list of these APIs has more than 50).
pub(crate) const MAX_LIST_INDEX: usize = 1_000;

/// The services spoken over the Query protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryService {
    Iam,
    Sts,
}

impl QueryService {
    /// The service a Query request is for: the one its credential scope names (STS), else
    /// IAM. IAM and STS share this endpoint, so a request whose signature cannot be read (an
    /// unsigned one) is taken to be for STS when its `Action` is one of STS's (the names do
    /// not overlap): it is answered, counted and audited as AWS's STS endpoint would.
    pub(crate) fn of(req: &Request<'_>, params: Option<&Params>) -> Self {
        match strongroom_sigv4::parse(req) {
            Ok(a) if a.service() == "sts" => Self::Sts,
            Ok(_) => Self::Iam,
            Err(_) => match params.and_then(|p| p.get("Action")) {
                Some(action) if sts::ACTIONS.contains(&action) => Self::Sts,
                _ => Self::Iam,
            },
        }
    }

    /// The SigV4 signing name.
    pub(crate) fn signing_name(self) -> &'static str {
        match self {
            Self::Iam => "iam",
            Self::Sts => "sts",
        }
    }

    /// The actions this server knows.
    pub(crate) fn actions(self) -> &'static [&'static str] {
        match self {
            Self::Iam => iam::ACTIONS,
            Self::Sts => sts::ACTIONS,
        }
    }

    /// The API version `Version` must name.
    pub(crate) fn version(self) -> &'static str {
        match self {
            Self::Iam => "2010-05-08",
            Self::Sts => "2011-06-15",
        }
    }

    /// The XML namespace of responses.
    pub(crate) fn namespace(self) -> &'static str {
        match self {
            Self::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Self::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }
}

/// Whether `req` uses the Query protocol: no `X-Amz-Target`, `POST`, a form body.
pub(crate) fn is_query_request(req: &Request<'_>) -> bool {
    if req.method != "POST" || header(req.headers, "x-amz-target").is_some() {
        return false;
    }
    header(req.headers, "content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    })
}

// -- errors --------------------------------------------------------------------------------

/// A failed Query request.
#[derive(Debug)]
pub(crate) enum QueryError {
    /// Authentication or the operation failed (shared with the JSON protocol).
    Api(ApiError),
    /// The body is not a well-formed form (`MalformedQueryString`).
    Malformed(String),
    /// No `Action` parameter.
    MissingAction,
    /// `Action` names no operation of this service and version.
    InvalidAction(String),
}

impl From<ApiError> for QueryError {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<strongroom_core::KmsError> for QueryError {
    fn from(e: strongroom_core::KmsError) -> Self {
        Self::Api(ApiError::Kms(e))
    }
}

impl QueryError {
    /// Code, HTTP status and message.
    pub(crate) fn parts(&self, service: QueryService) -> (&'static str, u16, String) {
        match self {
            Self::Api(e) => e.query_parts(service.signing_name()),
            Self::Malformed(m) => ("MalformedQueryString", 400, m.clone()),
            Self::MissingAction => ("MissingAction", 400, "Missing Action".to_owned()),
            Self::InvalidAction(m) => ("InvalidAction", 400, m.clone()),
        }
    }
}

/// The error document: `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`.
pub(crate) fn error_body(
    service: QueryService,
    code: &str,
    status: u16,
    message: &str,
    request_id: &str,
) -> Vec<u8> {
    let mut x = Xml::new();
    x.open_ns("ErrorResponse", service.namespace());
    x.open("Error");
    x.elem("Type", if status >= 500 { "Receiver" } else { "Sender" });
    x.elem("Code", code);
    x.elem("Message", message);
    x.close("Error");
    x.elem("RequestId", request_id);
    x.close("ErrorResponse");
    x.finish()
}

// -- XML -----------------------------------------------------------------------------------

/// A minimal XML writer: elements with escaped text content. Its `Debug` shows the length
/// only: a response can carry a secret access key or a session token.
#[derive(Default)]
pub(crate) struct Xml {
    buf: String,
}

impl std::fmt::Debug for Xml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Xml").field("len", &self.buf.len()).finish()
    }
}

impl Xml {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `<name xmlns="ns">`.
    pub(crate) fn open_ns(&mut self, name: &str, ns: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(" xmlns=\"");
        escape_into(&mut self.buf, ns);
        self.buf.push_str("\">");
    }

    /// `<name>`.
    pub(crate) fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name>text</name>`, the text escaped.
    pub(crate) fn elem(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.buf, text);
        self.close(name);
    }

    /// [`Self::elem`] when `text` is present.
    pub(crate) fn opt_elem(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.elem(name, t);
        }
    }

    /// A timestamp element in ISO 8601 (`2024-05-01T12:00:00Z`).
    pub(crate) fn time(&mut self, name: &str, at: Timestamp) {
        self.elem(name, &iso8601(at));
    }

    /// A boolean element.
    pub(crate) fn bool(&mut self, name: &str, v: bool) {
        self.elem(name, if v { "true" } else { "false" });
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf.into_bytes()
    }
}

/// Appends `text` escaped for XML 1.0 content and attribute values. Characters XML 1.0 cannot
/// carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD; carriage returns are written
/// as a character reference so parsers do not normalize them away.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
}

/// The document of a successful response: `<ActionResponse xmlns=…>`, the result element
/// (when the operation has an output) filled by `result`, and the request id.
pub(crate) fn response_body(
    service: QueryService,
    action: &str,
    request_id: &str,
    result: Option<&dyn Fn(&mut Xml)>,
) -> Vec<u8> {
    let mut x = Xml::new();
    let outer = format!("{action}Response");
    x.open_ns(&outer, service.namespace());
    if let Some(fill) = result {
        let inner = format!("{action}Result");
        x.open(&inner);
        fill(&mut x);
        x.close(&inner);
    }
    x.open("ResponseMetadata");
    x.elem("RequestId", request_id);
    x.close("ResponseMetadata");
    x.close(&outer);
    x.finish()
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC), as IAM and STS write timestamps.
pub(crate) fn iso8601(at: Timestamp) -> String {
    let secs = at.unix_seconds();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986; every byte but the unreserved
/// characters as `%XX`). SDKs decode it (botocore `unquote`s and parses it).
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// -- the entry point -----------------------------------------------------------------------

/// What a successful action returns: its XML document, and what its audit event records of
/// the response. `Debug` shows neither: the document can carry a secret access key.
pub(crate) struct Answer {
    body: Vec<u8>,
    /// CloudTrail's `responseElements` (never a secret); `Null` for most actions.
    response_elements: serde_json::Value,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Answer {
    /// An answer whose audit event records no response elements.
    pub(crate) fn new(body: Vec<u8>) -> Self {
        Self {
            body,
            response_elements: serde_json::Value::Null,
        }
    }

    /// The same answer, with `elements` as its event's `responseElements`.
    pub(crate) fn with_elements(self, elements: serde_json::Value) -> Self {
        Self {
            response_elements: elements,
            ..self
        }
    }
}

impl AwsApi {
    /// Handles a Query protocol request end to end, and records its audit event (every
    /// request: successful, refused, denied, unauthenticated or malformed) before the answer
    /// leaves. Fail-closed, an answer whose event cannot be recorded is replaced by a 500
    /// (`ServiceFailure` from IAM, `InternalFailure` from STS).
    pub(crate) async fn handle_query(
        &self,
        req: &Request<'_>,
        request_id: String,
        peer: Option<std::net::IpAddr>,
        started: std::time::Instant,
    ) -> Response {
        // The form is read first, so that the audit event of a request refused before its
        // action ran (unauthenticated, say) still names the action and its parameters; a
        // malformed form is reported after authentication, as before.
        let (params, malformed) = match Params::parse(req.body) {
            Ok(p) => (Some(p), None),
            Err(e) => (None, Some(e)),
        };
        // An unparsable signature is reported by `authenticate` below, in the namespace of
        // the service its action belongs to.
        let service = QueryService::of(req, params.as_ref());
        // The action's index in `service.actions()`, once the request is authenticated and
        // its form parsed (for metrics).
        let mut action = None;
        let (ctx, result) = self
            .query_inner(
                service,
                req,
                &request_id,
                peer,
                params.as_ref(),
                malformed,
                &mut action,
            )
            .await;
        let (status, body, code, message, elements) = match result {
            Ok(answer) => (
                200,
                answer.body,
                "",
                String::new(),
                answer.response_elements,
            ),
            Err(e) => {
                let (code, status, message) = e.parts(service);
                crate::log_refusal(&request_id, code, status);
                let body = error_body(service, code, status, &message, &request_id);
                (status, body, code, message, serde_json::Value::Null)
            }
        };
        let event_name = audit::event_name(params.as_ref());
        let audited = crate::audit::Audited {
            event_source: audit::event_source(service),
            event_name,
            read_only: audit::read_only(service, event_name),
            region: audit::region(service),
            request_parameters: audit::request_parameters(service, event_name, params.as_ref()),
            response_elements: elements,
            // Only an authenticated request names a resource: an unauthenticated one belongs
            // to no account, and must not reach the role's account's lookups.
            resources: match ctx {
                Some(_) => audit::resources(service, event_name, params.as_ref()),
                None => Vec::new(),
            },
            error: (status >= 400).then_some((code, message.as_str())),
        };
        let (mut status, mut body, mut code) = (status, body, code);
        if let Err(Unrecorded) = self
            .record(req, ctx.as_ref(), peer, &request_id, audited)
            .await
        {
            let internal = strongroom_core::KmsError::Internal;
            (code, status) = crate::error::query_code(&internal, service.signing_name());
            body = error_body(service, code, status, UNRECORDED_MESSAGE, &request_id);
        }
        let outcome = strongroom_service::metrics::Outcome::of(status, code);
        self.metrics
            .query(service, action, outcome, started.elapsed());
        Response {
            status,
            request_id,
            body,
            content_type: XML_CONTENT_TYPE,
        }
    }

    /// Answers a Query request whose body was over the listener's limit (see
    /// [`AwsApi::refuse_too_large`]): `RequestEntityTooLarge` in IAM's or STS's XML shape,
    /// recorded as an unauthenticated request of an unknown action.
    pub(crate) async fn refuse_too_large_query(
        &self,
        req: &Request<'_>,
        request_id: String,
        peer: Option<std::net::IpAddr>,
        started: std::time::Instant,
    ) -> Response {
        // The body was not read: the signature alone names the service.
        let service = QueryService::of(req, None);
        let (mut code, mut status, message) = QueryError::Api(ApiError::TooLarge).parts(service);
        let mut body = error_body(service, code, status, &message, &request_id);
        let event_name = audit::event_name(None);
        let audited = crate::audit::Audited {
            event_source: audit::event_source(service),
            event_name,
            read_only: audit::read_only(service, event_name),
            region: audit::region(service),
            request_parameters: serde_json::Value::Null,
            response_elements: serde_json::Value::Null,
            resources: Vec::new(),
            error: Some((code, message.as_str())),
        };
        if let Err(Unrecorded) = self.record(req, None, peer, &request_id, audited).await {
            let internal = strongroom_core::KmsError::Internal;
            (code, status) = crate::error::query_code(&internal, service.signing_name());
            body = error_body(service, code, status, UNRECORDED_MESSAGE, &request_id);
        }
        let outcome = strongroom_service::metrics::Outcome::of(status, code);
        self.metrics
            .query(service, None, outcome, started.elapsed());
        Response {
            status,
            request_id,
            body,
            content_type: XML_CONTENT_TYPE,
        }
    }

    /// Authenticates the request and runs its action; returns the request's context when it
    /// was authenticated.
    #[allow(clippy::too_many_arguments)] // reason: one call site; the parts of one request
    async fn query_inner(
        &self,
        service: QueryService,
        req: &Request<'_>,
        request_id: &str,
        peer: Option<std::net::IpAddr>,
        params: Option<&Params>,
        malformed: Option<QueryError>,
        action_seen: &mut Option<usize>,
    ) -> (
        Option<strongroom_service::RequestContext>,
        Result<Answer, QueryError>,
    ) {
        let ctx = match self
            .authenticate(req, request_id, service.signing_name(), peer)
            .await
        {
            Ok(ctx) => ctx,
            Err(e) => return (None, Err(e.into())),
        };
        let result = async {
            if req.path != "/" {
                return Err(QueryError::InvalidAction(format!(
                    "The path {} is not an endpoint of this service; send requests to /.",
                    req.path.chars().take(256).collect::<String>()
                )));
            }
            if let Some(e) = malformed {
                return Err(e);
            }
            let params = params.ok_or(QueryError::MissingAction)?;
            let action = params.get("Action").ok_or(QueryError::MissingAction)?;
            *action_seen = service.actions().iter().position(|a| *a == action);
            if let Some(v) = params.get("Version")
                && v != service.version()
            {
                return Err(QueryError::InvalidAction(format!(
                    "Could not find operation {} for version {}",
                    shown(action),
                    shown(v)
                )));
            }
            let call = Call {
                svc: &self.service,
                ctx: &ctx,
                params,
                request_id,
            };
            let found = match service {
                QueryService::Iam => iam::dispatch(action, call).await,
                QueryService::Sts => sts::dispatch(action, call).await,
            };
            found.unwrap_or_else(|| {
                Err(QueryError::InvalidAction(format!(
                    "Could not find operation {} for version {}",
                    shown(action),
                    service.version()
                )))
            })
        }
        .await;
        (Some(ctx), result)
    }
}

/// A client-supplied name, bounded for a message.
fn shown(s: &str) -> String {
    s.chars().take(128).collect()
}

/// What every Query handler gets.
#[derive(Clone, Copy)]
pub(crate) struct Call<'a> {
    pub(crate) svc: &'a strongroom_service::Service,
    pub(crate) ctx: &'a strongroom_service::RequestContext,
    pub(crate) params: &'a Params,
    pub(crate) request_id: &'a str,
}

impl std::fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

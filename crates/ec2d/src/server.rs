//! HTTP: a hyper HTTP/1.1 server on tokio. `/_ec2d/*` goes to the control endpoints, every other
//! path to the EC2 query protocol (`POST /` with a form body, or `GET /?Action=...`).
//!
//! Limits come before anything else, so that an unauthenticated client cannot make the server
//! hold memory, threads or connections: at most `--max-connections` open connections (more wait in
//! the listen queue), headers within `--header-timeout` (also the idle keep-alive limit) and 64 KiB,
//! a body within `--max-body-bytes` and `--body-timeout`, requests against PostgreSQL (and the
//! embedded store's waits for its file) on a pool of at most `--max-blocking-threads` threads. Each request is logged in one line
//! (`ec2d::request`): action, account, region, status, error code and latency, with the cause of
//! a 5xx.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ec2_store::Store;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::app::{App, ReplyBody, RequestLog};
use crate::config::{Config, StoreChoice};
use crate::control;
use crate::identity;
use crate::service::instances::ListingPieces;
use crate::two_encoders::TwoEncoders;

/// The most bytes of request line and headers hyper buffers for one connection.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// moto's `POST /moto-api/reset`, which does what `POST /_ec2d/reset` does.
pub const MOTO_RESET_PATH: &str = "/moto-api/reset";

/// How long a health check's answer is reused: `/_ec2d/health` stays cheap however often it is
/// polled.
pub const HEALTH_TTL: Duration = Duration::from_millis(500);

fn response(status: u16, content_type: &'static str, body: String, request_id: Option<&str>) -> Response<AnswerBody> {
    response_with(status, content_type, AnswerBody::whole(body), request_id.map(str::to_string))
}

/// The `Server` header's name, made once rather than parsed for every answer.
const SERVER: HeaderName = HeaderName::from_static("server");
/// The request ID header's name.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

fn response_with(
    status: u16,
    content_type: &'static str,
    body: AnswerBody,
    request_id: Option<String>,
) -> Response<AnswerBody> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // The ID's own buffer becomes the header's value (checked, not copied).
    let id = request_id.and_then(|id| HeaderValue::from_maybe_shared(Bytes::from(id)).ok());
    *r.headers_mut() = answer_headers(content_type, id);
    r
}

/// An answer's headers, in this order: `Content-Type`, `Server` and, if any, the request ID.
fn answer_headers(content_type: &'static str, request_id: Option<HeaderValue>) -> hyper::HeaderMap {
    /// The headers of an XML answer, made once with a stand-in request ID: an answer clones them and
    /// puts its own ID in place, rather than hashing three names into a map that allocates as it grows.
    static XML_HEADERS: std::sync::LazyLock<hyper::HeaderMap> =
        std::sync::LazyLock::new(|| headers_inserted(XML, Some(HeaderValue::from_static("-"))));
    match request_id {
        Some(id) if content_type == XML => {
            let mut h = XML_HEADERS.clone();
            if let Some((_, value)) = h.iter_mut().find(|(name, _)| *name == REQUEST_ID) {
                *value = id;
            }
            h
        }
        id => headers_inserted(content_type, id),
    }
}

/// [`answer_headers`], inserted one by one.
fn headers_inserted(content_type: &'static str, request_id: Option<HeaderValue>) -> hyper::HeaderMap {
    let mut h = hyper::HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(SERVER, HeaderValue::from_static("AmazonEC2"));
    if let Some(id) = request_id {
        h.insert(REQUEST_ID, id);
    }
    h
}

const XML: &str = "text/xml;charset=UTF-8";
const JSON: &str = "application/json";

/// The server's state beside the app: the last health answer.
pub struct Server {
    pub app: Arc<App>,
    health: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Server {
    pub fn new(app: Arc<App>) -> Arc<Server> {
        Arc::new(Server { app, health: Mutex::new(None) })
    }

    /// Whether the store answers, checked at most every [`HEALTH_TTL`].
    fn store_health(&self) -> Result<(), String> {
        let mut cached = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, result)) = cached.as_ref() {
            if at.elapsed() < HEALTH_TTL {
                return result.clone();
            }
        }
        let result = self.app.store.ping().map_err(|e| e.to_string());
        *cached = Some((Instant::now(), result.clone()));
        result
    }
}

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Malformed(String),
    Timeout,
}

/// The body within `--body-timeout` (a sleep of `timer`, the connection's timer for bodies, which
/// is polled only when the body is not all there: as `tokio::time::timeout` does).
async fn read_body(app: &App, body: Incoming, timer: &ConnectionTimer) -> Result<Bytes, BodyError> {
    let mut late = timer.sleep_at(Instant::now() + Duration::from_secs_f64(app.config.body_timeout));
    let mut collect = std::pin::pin!(collect_limited(body, app.config.max_body_bytes));
    std::future::poll_fn(|cx| match collect.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => std::pin::Pin::new(&mut late).poll(cx).map(|()| Err(BodyError::Timeout)),
    })
    .await
}

/// A connection's timer: hyper's header-read timeout and the body timeout each have one per
/// connection. The sleeps it hands out share one tokio timer, moved to each one's deadline when it is
/// polled, so that a request costs no timer of its own: moving a registered timer to a later
/// deadline (the next request's) is a store, where a timer per request was an allocation, an
/// insertion into tokio's timer wheel and a removal, each under the timer's lock (about 250
/// instructions of a light request more than this), and it is moved to a later deadline only when it
/// fires before it. Its sleeps are waited for one at a time (hyper's header read ends before the body is
/// read, and the next header read starts after the answer): a sleep polled moves the shared timer
/// to its own deadline.
#[derive(Clone, Default)]
pub struct ConnectionTimer {
    shared: Arc<Mutex<Option<std::pin::Pin<Box<tokio::time::Sleep>>>>>,
}

/// A sleep of a [`ConnectionTimer`]: done at its deadline.
pub struct ConnectionSleep {
    shared: Arc<Mutex<Option<std::pin::Pin<Box<tokio::time::Sleep>>>>>,
    deadline: tokio::time::Instant,
}

impl ConnectionTimer {
    /// A sleep until `deadline` (the timer is made on its first poll, inside the runtime).
    pub fn sleep_at(&self, deadline: Instant) -> ConnectionSleep {
        ConnectionSleep { shared: Arc::clone(&self.shared), deadline: tokio::time::Instant::from_std(deadline) }
    }
}

impl std::future::Future for ConnectionSleep {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let mut shared = self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let timer = shared.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(self.deadline)));
        // Moved to an earlier deadline at once; to a later one (the next request's, nearly always) only
        // once it fires: moving a registered timer takes the timer wheel's lock, which a light request
        // would pay for each of its two sleeps, and the early firing comes at most once per timeout.
        if timer.deadline() > self.deadline {
            timer.as_mut().reset(self.deadline);
        }
        loop {
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) if timer.deadline() < self.deadline => timer.as_mut().reset(self.deadline),
                done => return done,
            }
        }
    }
}

impl hyper::rt::Sleep for ConnectionSleep {}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(self.sleep_at(Instant::now() + duration))
    }

    fn sleep_until(&self, deadline: Instant) -> std::pin::Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(self.sleep_at(deadline))
    }
}

/// The body's bytes, refused as soon as they exceed `limit`. A body that arrives in one piece (any
/// small request) is that piece itself: nothing is copied or gathered.
async fn collect_limited(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut gathered: Vec<u8> = Vec::new();
    let mut remaining = limit;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Malformed(e.to_string()))?;
        // Trailers carry no body bytes.
        let Ok(data) = frame.into_data() else { continue };
        if data.len() > remaining {
            return Err(BodyError::TooLarge);
        }
        remaining -= data.len();
        match first.take() {
            None if gathered.is_empty() => first = Some(data),
            Some(earlier) => {
                gathered.extend_from_slice(&earlier);
                gathered.extend_from_slice(&data);
            }
            None => gathered.extend_from_slice(&data),
        }
    }
    Ok(match first {
        Some(only) => only,
        None => Bytes::from(gathered),
    })
}

impl BodyError {
    /// The EC2 error (whose code carries the HTTP status).
    fn answer(&self, limit: usize) -> ec2_protocol::Ec2Error {
        use ec2_protocol::{Code, Ec2Error};
        match self {
            BodyError::TooLarge => {
                Ec2Error::new(Code::RequestEntityTooLarge, format!("The request body is larger than {limit} bytes."))
            }
            BodyError::Malformed(why) => Ec2Error::new(
                Code::InvalidHttpRequest,
                format!("The HTTP request is invalid. Reason: {}", ec2_protocol::truncate_echo(why, 200)),
            ),
            BodyError::Timeout => Ec2Error::new(Code::RequestTimeout, "The request body did not arrive in time."),
        }
    }
}

/// One log line for a finished request.
fn log_request(method: &str, path: &str, status: u16, request_id: &str, log: &RequestLog, started: Instant) {
    let latency_us = started.elapsed().as_micros() as u64;
    let action = log.action.as_deref().unwrap_or("-");
    let account = log.account.as_deref().unwrap_or("-");
    let region = log.region.as_deref().unwrap_or("-");
    let code = log.code.as_deref().unwrap_or("-");
    let path = ec2_protocol::truncate_echo(path, 128);
    match &log.cause {
        Some(cause) if status >= 500 => tracing::error!(
            target: "ec2d::request",
            method = %method, path = %path, action = %action, account = %account, region = %region, status, code = %code,
            latency_us, request_id = %request_id, cause = %cause,
            "request failed"
        ),
        _ => crate::logging::RequestLine {
            method,
            path: &path,
            action,
            account,
            region,
            status,
            code,
            latency_us,
            request_id,
        }
        .log(),
    }
}

/// Answers one request of a connection whose body timer is `body_timer`.
pub async fn handle(
    server: Arc<Server>,
    mut req: Request<Incoming>,
    body_timer: ConnectionTimer,
) -> Result<Response<AnswerBody>, Infallible> {
    let started = Instant::now();
    let app = Arc::clone(&server.app);
    // Shares of the request's own buffers (copies only of an uncommon method): the EC2 pipeline below
    // takes them with it without copying the path and query.
    let method_shared = req.method().clone();
    let uri = req.uri().clone();
    let method = method_shared.as_str();
    let path = uri.path();
    let query = uri.query().unwrap_or("");
    // The signature covers the method, path, query, headers and body as they arrived.
    let headers = std::mem::take(req.headers_mut());
    let body = match read_body(&app, req.into_body(), &body_timer).await {
        Ok(body) => body,
        Err(e) => {
            let request_id = app.next_request_id();
            let e = e.answer(app.config.max_body_bytes);
            let status = e.status();
            let log = RequestLog { code: Some(e.code.as_str().into()), ..RequestLog::default() };
            log_request(method, path, status, &request_id, &log, started);
            let body = if path.starts_with("/_ec2d/") {
                (serde_json::json!({ "error": e.message, "code": e.code.as_str() }).to_string() + "\n", JSON)
            } else {
                (e.to_xml(&request_id), XML)
            };
            return Ok(response(status, body.1, body.0, Some(&request_id)));
        }
    };
    if let Some(console_rest) = path.strip_prefix("/_ec2d/console").filter(|r| r.is_empty() || r.starts_with('/')) {
        // The page and its assets are open; with a credentials file its API answers only a signed
        // caller whose policy allows `ec2d:ReadConsole`, like every control endpoint.
        if console_rest.starts_with("/api/") && app.identities.is_secured() {
            let header_refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
            let http = ec2_sigv4::HttpRequest { method, path, query, headers: &header_refs, body: &body };
            let params = ec2_protocol::Node::parse_form(query.as_bytes());
            let decision = app
                .identities
                .authenticate_request(&http, &params, crate::clock::wall_now)
                .and_then(|caller| caller.authorize_control("ec2d:ReadConsole"));
            if let Err(e) = decision {
                let request_id = app.next_request_id();
                let log = RequestLog { code: Some(e.code.as_str().to_string()), ..RequestLog::default() };
                log_request(method, path, e.status(), &request_id, &log, started);
                let body = serde_json::json!({ "error": e.message, "code": e.code.as_str() });
                return Ok(response(e.status(), JSON, body.to_string() + "\n", Some(&request_id)));
            }
        }
        let (rest, method, query) = (console_rest.to_string(), method.to_string(), query.to_string());
        let if_none_match = headers.get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
        let reply =
            off_runtime(&app, move |app| crate::console::handle(app, &method, &rest, &query, if_none_match.as_deref()))
                .await
                .unwrap_or_else(|| crate::console::ConsoleReply {
                    status: 500,
                    content_type: "application/json",
                    body: "{\"error\": \"internal error\"}\n".into(),
                    etag: None,
                });
        let request_id = app.next_request_id();
        let mut r = response(reply.status, reply.content_type, reply.body, Some(&request_id));
        if let Some(tag) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            r.headers_mut().insert(hyper::header::ETAG, tag);
        }
        r.headers_mut().insert(hyper::header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return Ok(r);
    }
    // moto's server-mode reset, for suites written for moto: the control endpoint `reset` under
    // its own authorization (`ec2d:Reset`).
    let control_rest = match path.strip_prefix("/_ec2d/") {
        Some(rest) => Some(rest.to_string()),
        None if path == MOTO_RESET_PATH => Some("reset".to_string()),
        None => None,
    };
    if let Some(rest) = control_rest {
        let header_pairs: Vec<(String, Vec<u8>)> =
            headers.iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect();
        let (status, body, log) = control_request(&server, method, path, &rest, query, &header_pairs, &body).await;
        let request_id = app.next_request_id();
        log_request(method, path, status, &request_id, &log, started);
        return Ok(response(status, JSON, body.to_string() + "\n", Some(&request_id)));
    }
    let (m, u) = (method_shared.clone(), uri.clone());
    let reply = answer_off_runtime(&app, move |app| {
        with_header_pairs(&headers, |header_pairs| {
            app.handle_ec2_streamed(&ec2_sigv4::HttpRequest {
                method: m.as_str(),
                path: u.path(),
                query: u.query().unwrap_or(""),
                headers: header_pairs,
                body: &body,
            })
        })
    })
    .await
    .unwrap_or_else(|| {
        let request_id = app.next_request_id();
        let e = ec2_protocol::Ec2Error::internal("An internal error has occurred.");
        let log = RequestLog {
            code: Some(e.code.as_str().to_string()),
            cause: Some("the request's handler panicked".into()),
            ..RequestLog::default()
        };
        crate::app::Reply { status: e.status(), body: ReplyBody::Whole(e.to_xml(&request_id)), request_id, log }
    });
    log_request(method, path, reply.status, &reply.request_id, &reply.log, started);
    let body = match reply.body {
        ReplyBody::Whole(body) => AnswerBody::whole(body),
        ReplyBody::Pieces(pieces) => match TwoEncoders::start(pieces) {
            Ok(two) => AnswerBody::Two(Box::new(two)),
            Err(pieces) => AnswerBody::Pieces(pieces),
        },
    };
    Ok(response_with(reply.status, XML, body, Some(reply.request_id)))
}

/// The most headers of a request listed without an allocation ([`with_header_pairs`]).
const FEW_HEADERS: usize = 16;

/// `f` of every header of `headers` as (name, value) in the map's order, repeated names included: a
/// request's few headers listed on the stack, more than [`FEW_HEADERS`] in a vector.
fn with_header_pairs<R>(headers: &hyper::HeaderMap, f: impl FnOnce(&[(&str, &[u8])]) -> R) -> R {
    if headers.len() > FEW_HEADERS {
        let many: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        return f(&many);
    }
    let mut few = [("", &b""[..]); FEW_HEADERS];
    for (slot, (n, v)) in few.iter_mut().zip(headers.iter()) {
        *slot = (n.as_str(), v.as_bytes());
    }
    f(&few[..headers.len()])
}

/// An answer's HTTP body: one buffer sent with its `Content-Length`, or DescribeInstances' XML written
/// piece by piece as hyper asks for the next (chunked), so that the connection's buffer and not the
/// whole answer bounds the memory a large page takes while it is sent.
pub enum AnswerBody {
    Whole(Option<Bytes>),
    Pieces(Box<ListingPieces>),
    /// A large page's pieces, written by two encoders ([`TwoEncoders`]).
    Two(Box<TwoEncoders>),
}

impl AnswerBody {
    fn whole(body: String) -> AnswerBody {
        AnswerBody::Whole(Some(Bytes::from(body)).filter(|b| !b.is_empty()))
    }
}

/// A piece of DescribeInstances' XML as the bytes hyper sends: a small one's buffer goes back to its
/// thread's spares once hyper is done with it ([`crate::service::instances::keep_spare`]).
fn piece_bytes(piece: String) -> Bytes {
    if piece.capacity() == crate::service::instances::SPARE_BYTES {
        Bytes::from_owner(Spare(piece))
    } else {
        Bytes::from(piece)
    }
}

/// A small piece's buffer while hyper sends it.
struct Spare(String);

impl AsRef<[u8]> for Spare {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        crate::service::instances::keep_spare(std::mem::take(&mut self.0));
    }
}

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let next = match self.get_mut() {
            AnswerBody::Whole(body) => body.take(),
            AnswerBody::Pieces(pieces) => pieces.next().map(piece_bytes),
            AnswerBody::Two(two) => match two.poll_piece(cx) {
                std::task::Poll::Pending => return std::task::Poll::Pending,
                std::task::Poll::Ready(piece) => piece.map(Bytes::from),
            },
        };
        std::task::Poll::Ready(next.map(|b| Ok(hyper::body::Frame::data(b))))
    }

    /// True as soon as the last piece is taken, so that hyper writes the chunked body's end with that
    /// piece (the same bytes) rather than asking for a frame once more.
    fn is_end_stream(&self) -> bool {
        match self {
            AnswerBody::Whole(body) => body.is_none(),
            AnswerBody::Pieces(pieces) => pieces.is_done(),
            AnswerBody::Two(_) => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            AnswerBody::Whole(body) => hyper::body::SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64)),
            AnswerBody::Pieces(_) | AnswerBody::Two(_) => hyper::body::SizeHint::default(),
        }
    }
}

/// A control request: with a credentials file, signed by an identity whose policy allows the
/// endpoint's action ([`identity::control_action`]); `GET /_ec2d/health` answers anyone (with the
/// settings only for an allowed caller).
async fn control_request(
    server: &Arc<Server>,
    method: &str,
    full_path: &str,
    rest: &str,
    query: &str,
    headers: &[(String, Vec<u8>)],
    body: &Bytes,
) -> (u16, serde_json::Value, RequestLog) {
    let app = &server.app;
    let action = identity::control_action(method, rest);
    let mut log = RequestLog { action: Some(action.into()), ..RequestLog::default() };
    let header_refs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let http = ec2_sigv4::HttpRequest { method, path: full_path, query, headers: &header_refs, body: body.as_ref() };
    let mut allowed = true;
    if app.identities.is_secured() {
        let params = ec2_protocol::Node::parse_form(query.as_bytes());
        let decision = app.identities.authenticate_request(&http, &params, crate::clock::wall_now).and_then(|caller| {
            log.account = Some(caller.account.clone());
            log.region = Some(caller.region.clone());
            caller.authorize_control(action)
        });
        if let Err(e) = decision {
            if !(method == "GET" && rest == "health") {
                log.code = Some(e.code.as_str().to_string());
                return (e.status(), serde_json::json!({ "error": e.message, "code": e.code.as_str() }), log);
            }
            allowed = false;
        }
    }
    if method == "GET" && rest == "health" {
        let s = Arc::clone(server);
        let health =
            off_runtime(app, move |_| s.store_health()).await.unwrap_or(Err("the health check panicked".into()));
        let mut body = serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "store": app.store.engine_name() });
        if allowed {
            body["clock"] = app.clock.mode.name().into();
            body["seed"] = app.config.seed.into();
        }
        return match health {
            Ok(()) => (200, body, log),
            Err(reason) => {
                body["status"] = "unavailable".into();
                body["reason"] = reason.clone().into();
                log.code = Some("StoreUnavailable".into());
                log.cause = Some(reason);
                (503, body, log)
            }
        };
    }
    let (m, r, q) = (method.to_string(), rest.to_string(), query.to_string());
    let reply = off_runtime(app, move |app| control::handle(app, &m, &r, &q))
        .await
        .unwrap_or_else(|| control::ControlReply { status: 500, body: serde_json::json!({"error": "internal error"}) });
    if reply.status >= 500 {
        log.cause = reply.body.get("error").and_then(|e| e.as_str()).map(String::from);
    }
    (reply.status, reply.body, log)
}

/// Runs `f` where the store engine lets it run without stalling the runtime's workers. The in-memory
/// engine only ever holds its lock for the microseconds a transaction takes, so with it `f` runs right
/// here, saving the hand-off to another thread. The embedded engine answers from memory too, and
/// waits (for its lock while another transaction reads the file, for a read of the file, for the
/// commit of what the request wrote or read) through the hook `f` runs with, tokio's `block_in_place`,
/// which hands this worker's other tasks to another thread first: a read with nothing to wait for
/// runs entirely here. PostgreSQL blocks on its socket: `f` runs on tokio's blocking pool.
/// `None` if `f` panicked.
async fn off_runtime<T: Send + 'static>(app: &Arc<App>, f: impl FnOnce(&App) -> T + Send + 'static) -> Option<T> {
    if app.store.engine_name() == "memory" {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(app))).ok();
    }
    if runs_inline_with_hook(app) {
        let run = || ec2_store::wait::with_hook(|wait| tokio::task::block_in_place(wait), || f(app));
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).ok();
    }
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app)).await.ok()
}

/// Whether the store's transactions run on this async worker with `block_in_place` as their wait hook:
/// the engine allows it and the runtime is multi-threaded (`block_in_place` needs another worker).
fn runs_inline_with_hook(app: &App) -> bool {
    app.store.runs_inline_with_hook()
        && tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
}

/// [`off_runtime`] for an EC2 request. With the embedded engine the request runs here and its commit
/// (of what it wrote, or of what it read that was not yet durable) is awaited, not waited for on a
/// thread: the answer is made while the writer commits and sent once the commit is durable; if the
/// commit failed, the answer is the 500 the request would have had if it had waited itself.
async fn answer_off_runtime(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> crate::app::Reply<ReplyBody> + Send + 'static,
) -> Option<crate::app::Reply<ReplyBody>> {
    if !runs_inline_with_hook(app) {
        return off_runtime(app, f).await;
    }
    let (reply, durable) =
        ec2_store::wait::deferring(|| ec2_store::wait::with_hook(|wait| tokio::task::block_in_place(wait), || f(app)));
    let lost = match durable {
        Some(durable) => durable.await.err(),
        None => None,
    };
    match (reply.ok(), lost) {
        (Some(reply), Some(e)) => {
            let e = ec2_protocol::Ec2Error::from(crate::service::Error::Store(e));
            let log =
                RequestLog { code: Some(e.code.as_str().to_string()), cause: Some(e.message.clone()), ..reply.log };
            let body = ReplyBody::Whole(e.to_xml(&reply.request_id));
            Some(crate::app::Reply { status: e.status(), body, request_id: reply.request_id, log })
        }
        (reply, _) => reply,
    }
}

/// Builds the app from the configuration: chooses the store engine.
/// Blocks (opening a database), so call it off the async runtime.
pub fn build_app(config: Config) -> Result<App, String> {
    config.check_limits()?;
    let store = match config.store_choice()? {
        StoreChoice::Memory => Store::memory(),
        StoreChoice::Embedded(dir) => Store::sqlite(&dir).map_err(|e| format!("--data-dir {}: {e}", dir.display()))?,
        StoreChoice::Postgres(url) => Store::postgres(&url).map_err(|e| format!("--store: {e}"))?,
    };
    App::new(config, store)
}

/// Serves until the process gets SIGTERM or SIGINT; requests in progress then get up to
/// [`SHUTDOWN_GRACE`] to finish.
pub fn run(config: Config) -> Result<(), String> {
    config.check_limits()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(config.blocking_threads())
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let store = Arc::new(std::sync::OnceLock::new());
    let result = runtime.block_on(serve_reporting(config, Arc::clone(&store)));
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    // No request is left: make everything durable and mark the data directory closed cleanly.
    if let Some(store) = store.get() {
        match store.close() {
            Ok(()) => tracing::info!("store closed"),
            Err(e) => tracing::error!("closing the store failed: {e}"),
        }
    }
    result
}

/// How long requests in progress get to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Resolves at SIGTERM or SIGINT, with the signal's name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

pub async fn serve(config: Config) -> Result<(), String> {
    serve_reporting(config, Arc::new(std::sync::OnceLock::new())).await
}

/// [`serve`], handing the store out through `store` once it is open (for [`run`] to close it at the end).
async fn serve_reporting(config: Config, store: Arc<std::sync::OnceLock<Store>>) -> Result<(), String> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let data_dir = match config.store_choice() {
        Ok(StoreChoice::Embedded(dir)) => format!(" in {}", dir.display()),
        _ => String::new(),
    };
    let open_to_anyone = !config.is_loopback() && config.credentials_file.is_none();
    let app = Arc::new(
        tokio::task::spawn_blocking(move || build_app(config)).await.map_err(|e| format!("startup failed: {e}"))??,
    );
    let _ = store.set(app.store.clone());
    eprintln!("ec2d: {}", app.identities.summary());
    if open_to_anyone {
        eprintln!(
            "ec2d: WARNING: listening on {local} with no credentials file: anyone who can reach this address can \
             call every action and reset all state through /_ec2d/reset"
        );
    }
    eprintln!(
        "ec2d {} listening on http://{local} (store {}{data_dir}, clock {}, seed {})",
        env!("CARGO_PKG_VERSION"),
        app.store.engine_name(),
        app.clock.mode.name(),
        app.ids.seed()
    );
    let connections = Arc::new(Semaphore::new(app.config.max_connections));
    let server = Server::new(Arc::clone(&app));
    let header_timeout = Duration::from_secs_f64(app.config.header_timeout);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        // A connection slot first: beyond the cap, clients wait in the listen queue.
        let permit = tokio::select! {
            signal = &mut shutdown => return shut_down(signal),
            permit = Arc::clone(&connections).acquire_owned() => permit.map_err(|e| e.to_string())?,
        };
        let (stream, _) = tokio::select! {
            signal = &mut shutdown => return shut_down(signal),
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    // Out of file descriptors, say: give connections a moment to close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let _permit = permit;
            serve_connection(server, stream, header_timeout, false).await;
        });
    }
}

/// Serves the HTTP/1.1 requests of one connection until it closes: headers within
/// `header_timeout` (also the idle limit between requests) and [`MAX_HEADER_BYTES`].
/// `half_close`: keep answering after the client shut its side down (the fuzz target sends its
/// bytes and then shuts down).
pub async fn serve_connection<I>(server: Arc<Server>, io: I, header_timeout: Duration, half_close: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let body_timer = ConnectionTimer::default();
    let service = service_fn(move |req| handle(Arc::clone(&server), req, body_timer.clone()));
    let _ = http1::Builder::new()
        .timer(ConnectionTimer::default())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .half_close(half_close)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

fn shut_down(signal: &str) -> Result<(), String> {
    tracing::info!("shutting down on {signal}: no new connections; requests in progress get {SHUTDOWN_GRACE:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DescribeInstances answer on the wire: chunked, its one piece a chunk followed by the end chunk,
    /// whether hyper learns of the end with the piece or asks once more.
    #[tokio::test]
    async fn a_one_piece_answer_is_one_chunk_and_the_end() {
        use std::io::{Read, Write};
        let listing = crate::service::instances::tests::page_of(1);
        let xml = listing.encode("req-9");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service = service_fn(|_req: Request<Incoming>| async {
                let pieces = crate::service::instances::tests::page_of(1).pieces("req-9");
                Ok::<_, Infallible>(response_with(200, XML, AnswerBody::Pieces(pieces), Some("req-9".into())))
            });
            http1::Builder::new().serve_connection(TokioIo::new(stream), service).await.unwrap();
        });
        let raw = tokio::task::spawn_blocking(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
            let mut raw = Vec::new();
            c.read_to_end(&mut raw).unwrap();
            String::from_utf8(raw).unwrap()
        })
        .await
        .unwrap();
        server.await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        let lines: Vec<&str> = head.lines().skip(1).filter(|l| !l.starts_with("date: ")).collect();
        assert_eq!(
            lines,
            [
                "content-type: text/xml;charset=UTF-8",
                "server: AmazonEC2",
                "x-amzn-requestid: req-9",
                "connection: close",
                "transfer-encoding: chunked"
            ]
        );
        assert_eq!(body, format!("{:x}\r\n{xml}\r\n0\r\n\r\n", xml.len()));
    }

    #[test]
    fn an_answers_headers_are_the_ones_inserted_in_order() {
        let pairs = |h: &hyper::HeaderMap| {
            h.iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect::<Vec<_>>()
        };
        let id = || Some(HeaderValue::from_static("4c8c1a8e-52b6-4a45-b8b8-1d6c0e5b1f0a"));
        for (content_type, request_id) in [(XML, id()), (XML, None), (JSON, id()), (JSON, None)] {
            let made = answer_headers(content_type, request_id.clone());
            let inserted = headers_inserted(content_type, request_id.clone());
            assert_eq!(pairs(&made), pairs(&inserted), "{content_type} {request_id:?}");
            assert_eq!(made.len(), 2 + usize::from(request_id.is_some()));
        }
        // Each answer has its own ID, whatever answers came before it.
        let first = answer_headers(XML, Some(HeaderValue::from_static("one")));
        let second = answer_headers(XML, Some(HeaderValue::from_static("two")));
        assert_eq!(first.get(REQUEST_ID).unwrap(), "one");
        assert_eq!(second.get(REQUEST_ID).unwrap(), "two");
        assert_eq!(pairs(&second)[2], ("x-amzn-requestid".to_string(), b"two".to_vec()));
    }

    /// Few headers or many, each header is listed once, in the map's order, repeated names included.
    #[test]
    fn header_pairs_list_every_header_in_order() {
        for count in [0, 1, FEW_HEADERS - 1, FEW_HEADERS, FEW_HEADERS + 1, 40] {
            let mut headers = hyper::HeaderMap::new();
            let mut expected = Vec::new();
            for k in 0..count {
                let name = format!("x-h{}", k % 7);
                let value = format!("v{k}");
                headers
                    .append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(&value).unwrap());
                expected.push((name, value.into_bytes()));
            }
            let listed: Vec<(String, Vec<u8>)> =
                headers.iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect();
            let pairs = with_header_pairs(&headers, |pairs| {
                pairs.iter().map(|(n, v)| (n.to_string(), v.to_vec())).collect::<Vec<_>>()
            });
            assert_eq!(pairs, listed, "{count} headers");
            expected.sort();
            let mut sorted = pairs.clone();
            sorted.sort();
            assert_eq!(sorted, expected, "{count} headers");
        }
    }

    /// `sleep` polled once: whether it was done.
    async fn done_at_once(sleep: &mut ConnectionSleep) -> bool {
        std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *sleep).poll(cx).is_ready())).await
    }

    /// Each sleep of a connection's timer ends at its own deadline, whether the shared timer was last
    /// set earlier or later, and a sleep dropped before its deadline (hyper's header sleep, once the
    /// headers are read) leaves the next one unaffected.
    #[tokio::test]
    async fn a_connection_timers_sleeps_end_at_their_own_deadlines() {
        let timer = ConnectionTimer::default();
        let hour = Duration::from_secs(3600);
        let mut far = timer.sleep_at(Instant::now() + hour);
        assert!(!done_at_once(&mut far).await);
        drop(far);
        // Earlier than the shared timer's deadline.
        let start = Instant::now();
        timer.sleep_at(start + Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        // After it fired: later, then later again (the shared timer moved forward while set).
        let start = Instant::now();
        timer.sleep_at(start + Duration::from_millis(10)).await;
        assert!(start.elapsed() >= Duration::from_millis(10));
        let mut far = timer.sleep_at(Instant::now() + hour);
        assert!(!done_at_once(&mut far).await);
        let start = Instant::now();
        let mut soon = timer.sleep_at(start + Duration::from_millis(10));
        assert!(!done_at_once(&mut far).await);
        (&mut soon).await;
        assert!(start.elapsed() >= Duration::from_millis(10));
        // A later deadline while the timer is still set to an earlier one (left there, not moved): the
        // sleep does not end when the timer fires for the earlier one.
        let start = Instant::now();
        let mut early = timer.sleep_at(start + Duration::from_millis(10));
        assert!(!done_at_once(&mut early).await);
        drop(early);
        timer.sleep_at(start + Duration::from_millis(40)).await;
        assert!(start.elapsed() >= Duration::from_millis(40));
        // A clone shares the timer; hyper's own use goes through `Timer`.
        let boxed = hyper::rt::Timer::sleep(&timer.clone(), Duration::from_millis(1));
        boxed.await;
    }
}

//! HTTP: a hyper HTTP/1.1 server on tokio. `/_ec2d/*` goes to the control endpoints, every other
//! path to the EC2 query protocol (`POST /` with a form body, or `GET /?Action=...`).

use ec2_protocol::Code;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ec2_store::Store;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::app::App;
use crate::config::{Config, StoreChoice};
use crate::control;

/// The largest request body accepted.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

fn response(status: u16, content_type: &'static str, body: String, request_id: Option<&str>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("server", HeaderValue::from_static("AmazonEC2"));
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        h.insert("x-amzn-requestid", id);
    }
    r
}

const XML: &str = "text/xml;charset=UTF-8";

pub async fn handle(app: Arc<App>, mut req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    if let Some(rest) = path.strip_prefix("/_ec2d/console").filter(|r| r.is_empty() || r.starts_with('/')) {
        let rest = rest.to_string();
        let if_none_match = req.headers().get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
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
    if let Some(rest) = path.strip_prefix("/_ec2d/") {
        let rest = rest.to_string();
        let reply =
            off_runtime(&app, move |app| control::handle(app, &method, &rest, &query)).await.unwrap_or_else(|| {
                control::ControlReply { status: 500, body: serde_json::json!({"error": "internal error"}) }
            });
        let request_id = app.next_request_id();
        return Ok(response(reply.status, "application/json", reply.body.to_string() + "\n", Some(&request_id)));
    }
    // The signature covers the method, path, query, headers and body as they arrived.
    let headers = std::mem::take(req.headers_mut());
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let request_id = app.next_request_id();
            let e = ec2_protocol::Ec2Error::new(Code::RequestEntityTooLarge, "The request body is too large.");
            return Ok(response(413, XML, e.to_xml(&request_id), Some(&request_id)));
        }
    };
    let reply = off_runtime(&app, move |app| {
        let header_pairs: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        app.handle_ec2(&ec2_sigv4::HttpRequest {
            method: &method,
            path: &path,
            query: &query,
            headers: &header_pairs,
            body: &body,
        })
    })
    .await
    .unwrap_or_else(|| {
        let request_id = app.next_request_id();
        let e = ec2_protocol::Ec2Error::internal("An internal error has occurred.");
        crate::app::Reply { status: e.status(), body: e.to_xml(&request_id), request_id }
    });
    Ok(response(reply.status, XML, reply.body, Some(&reply.request_id)))
}

/// Runs `f` on tokio's blocking pool: the durable store engines block (on the disk, the database's
/// socket) and must not stall the runtime's workers. The in-memory engine only ever holds its lock
/// for the microseconds a transaction takes, so with it `f` runs right here, saving the hand-off
/// to another thread. `None` if `f` panicked.
async fn off_runtime<T: Send + 'static>(app: &Arc<App>, f: impl FnOnce(&App) -> T + Send + 'static) -> Option<T> {
    if app.store.engine_name() == "memory" {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(app))).ok();
    }
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app)).await.ok()
}

/// Builds the app from the configuration: chooses the store engine.
/// Blocks (opening a database), so call it off the async runtime.
pub fn build_app(config: Config) -> Result<App, String> {
    let store = match config.store_choice()? {
        StoreChoice::Memory => Store::memory(),
        StoreChoice::Embedded(dir) => Store::sqlite(&dir).map_err(|e| format!("--data-dir {}: {e}", dir.display()))?,
        StoreChoice::Postgres(url) => Store::postgres(&url).map_err(|e| format!("--store: {e}"))?,
    };
    App::new(config, store)
}

/// Serves until the process is stopped.
pub fn run(config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(config))
}

pub async fn serve(config: Config) -> Result<(), String> {
    let addr = format!("{}:{}", config.host, config.port);
    let listener = TcpListener::bind(&addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local: SocketAddr = listener.local_addr().map_err(|e| e.to_string())?;
    let data_dir = match config.store_choice() {
        Ok(StoreChoice::Embedded(dir)) => format!(" in {}", dir.display()),
        _ => String::new(),
    };
    let app = Arc::new(
        tokio::task::spawn_blocking(move || build_app(config)).await.map_err(|e| format!("startup failed: {e}"))??,
    );
    eprintln!("ec2d: {}", app.identities.summary());
    eprintln!(
        "ec2d {} listening on http://{local} (store {}{data_dir}, clock {}, seed {})",
        env!("CARGO_PKG_VERSION"),
        app.store.engine_name(),
        app.clock.mode.name(),
        app.ids.seed()
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("ec2d: accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(Arc::clone(&app), req));
            let _ = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

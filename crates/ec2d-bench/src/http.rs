//! HTTP/1.1 keep-alive client connections and SigV4 signing (with ec2-sigv4).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::Result;

pub type Sender = SendRequest<Full<Bytes>>;

pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Who the bench signs as (any access key works against an ec2d without a credentials file).
pub struct Credentials {
    pub access_key: &'static str,
    pub secret_key: &'static str,
    pub region: &'static str,
    pub service: &'static str,
}

pub const CREDENTIALS: Credentials =
    Credentials { access_key: "AKIAIOSFODNN7EXAMPLE", secret_key: "test", region: "us-east-1", service: "ec2" };
/// Any single request (including connecting) that takes longer than this counts as a timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one setup call (a RunInstances of 1000, a DescribeInstances of everything) may take.
pub const SETUP_CALL_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The connection of `conn`, opened to `addr` first if there is none.
async fn connected(addr: SocketAddr, conn: &mut Option<Sender>) -> Result<&mut Sender> {
    match conn {
        Some(sender) => Ok(sender),
        None => Ok(conn.insert(connect(addr).await?)),
    }
}

/// Sends one request on a connection and reads the whole answer: (status, wants to close, body).
pub async fn send(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<(StatusCode, bool, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let close = resp.headers().get(CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, close, body))
}

/// What [`send_discarding`] kept of an answer: its size, and its first and last bytes.
pub struct Discarded {
    pub bytes: usize,
    /// The first bytes of the answer (at most `KEPT_BYTES`), for an error's snippet.
    pub head: Vec<u8>,
    /// The last bytes of the answer (at most `KEPT_BYTES`), to check that it is whole.
    pub tail: Vec<u8>,
}

const KEPT_BYTES: usize = 512;

/// Sends one request on a connection and reads the answer frame by frame as it arrives, keeping only
/// its size and its first and last bytes: (status, wants to close, what was kept). A large answer
/// (DescribeInstances of everything) is timed as a client that parses it as it streams would start,
/// without the time of gathering it into one buffer.
pub async fn send_discarding(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<(StatusCode, bool, Discarded)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let close = resp.headers().get(CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let mut body = resp.into_body();
    let mut kept = Discarded { bytes: 0, head: Vec::new(), tail: Vec::new() };
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else { continue };
        kept.bytes += data.len();
        if kept.head.len() < KEPT_BYTES {
            let n = (KEPT_BYTES - kept.head.len()).min(data.len());
            kept.head.extend_from_slice(&data[..n]);
        }
        if data.len() >= KEPT_BYTES {
            kept.tail.clear();
            kept.tail.extend_from_slice(&data[data.len() - KEPT_BYTES..]);
        } else {
            kept.tail.extend_from_slice(&data);
            let extra = kept.tail.len().saturating_sub(KEPT_BYTES);
            kept.tail.drain(..extra);
        }
    }
    Ok((status, close, kept))
}

/// [`send`] on a keep-alive connection, opened first if `conn` has none, bounded by `REQUEST_TIMEOUT`
/// (`Err` when it ran out).
pub async fn send_keep_alive(
    conn: &mut Option<Sender>,
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
) -> std::result::Result<Result<(StatusCode, bool, Bytes)>, tokio::time::error::Elapsed> {
    tokio::time::timeout(REQUEST_TIMEOUT, async {
        let sender = match conn {
            Some(sender) => sender,
            None => conn.insert(connect(addr).await?),
        };
        send(sender, req).await
    })
    .await
}

/// One request on a fresh connection, bounded by `REQUEST_TIMEOUT`.
pub async fn one_shot(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
    one_shot_within(addr, req, REQUEST_TIMEOUT).await
}

/// One request on a fresh connection, bounded by `limit`.
pub async fn one_shot_within(
    addr: SocketAddr,
    req: Request<Full<Bytes>>,
    limit: Duration,
) -> Result<(StatusCode, Bytes)> {
    let answer = tokio::time::timeout(limit, async {
        let mut sender = connect(addr).await?;
        send(&mut sender, req).await
    })
    .await
    .map_err(|_| format!("no answer within {limit:?}"))??;
    Ok((answer.0, answer.2))
}

pub fn health_request(addr: SocketAddr) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri("/_ec2d/health")
        .header(HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .expect("valid request")
}

/// Signs request bodies with SigV4 (ec2-sigv4's canonical request, string to sign and signing key). The signing
/// key is computed once a day and the `Authorization` of a body is reused while the same body is sent again within
/// the same wall-clock second, so a fixed body costs one signature per second and a per-request body two SHA-256
/// and one HMAC per request.
#[derive(Clone)]
pub struct Signer {
    host: HeaderValue,
    region: &'static str,
    /// The wall-clock second, its X-Amz-Date header, and the signing key of its day.
    now: Option<(u64, HeaderValue, Arc<[u8; 32]>)>,
    /// The last body signed, in which second, and its Authorization header.
    last: Option<(u64, Bytes, HeaderValue)>,
}

/// The headers every signed request carries, and signs.
const SIGNED_HEADERS: &str = "content-type;host;x-amz-date";

impl Signer {
    pub fn new(addr: SocketAddr) -> Signer {
        Signer::in_region(addr, CREDENTIALS.region)
    }

    pub fn in_region(addr: SocketAddr, region: &'static str) -> Signer {
        Signer {
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header"),
            region,
            now: None,
            last: None,
        }
    }

    fn credential(&self, date: &str) -> ec2_sigv4::Credential {
        ec2_sigv4::Credential {
            access_key: CREDENTIALS.access_key.into(),
            date: date.get(..8).unwrap_or_default().into(),
            region: self.region.into(),
            service: CREDENTIALS.service.into(),
            terminator: ec2_sigv4::TERMINATOR.into(),
        }
    }

    /// The `Authorization` header of `POST /` with `body`, signed at `date` (basic ISO 8601) with `key`, the
    /// signing key of `date`'s day.
    pub fn authorization(&self, key: &[u8; 32], date: &str, body: &[u8]) -> String {
        let host = self.host.to_str().expect("ASCII host");
        let headers: [(&str, &[u8]); 3] = [
            ("content-type", FORM_CONTENT_TYPE.as_bytes()),
            ("host", host.as_bytes()),
            ("x-amz-date", date.as_bytes()),
        ];
        let req = ec2_sigv4::HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body };
        let signed = ec2_sigv4::Signed {
            location: ec2_sigv4::Location::Header,
            credential: self.credential(date),
            signed_headers: SIGNED_HEADERS.into(),
            signature: String::new(),
            timestamp: date.into(),
            time: ec2_time::UnixMillis(0),
            expires: None,
        };
        let signature = ec2_sigv4::signature(key, &ec2_sigv4::string_to_sign(&req, &signed));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}",
            CREDENTIALS.access_key,
            signed.credential.scope()
        )
    }

    // X-Amz-Date must be the real wall-clock time: the bench is a client, not part of the server's Clock.
    #[allow(clippy::disallowed_methods)]
    pub fn request(&mut self, body: Bytes) -> Request<Full<Bytes>> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if self.now.as_ref().map(|n| n.0) != Some(now) {
            let millis = i64::try_from(now).unwrap_or(0).saturating_mul(1000);
            let date = ec2_sigv4::format_timestamp(ec2_time::UnixMillis(millis));
            let key = match &self.now {
                Some((_, old, key)) if old.as_bytes()[..8] == date.as_bytes()[..8] => key.clone(),
                _ => Arc::new(ec2_sigv4::signing_key(CREDENTIALS.secret_key.as_bytes(), &self.credential(&date))),
            };
            self.now = Some((now, HeaderValue::from_str(&date).expect("valid date header"), key));
        }
        let (_, date, key) = self.now.as_ref().expect("set above");
        let auth = match &self.last {
            Some((second, last, auth)) if *second == now && *last == body => auth.clone(),
            _ => {
                let auth = self.authorization(key, date.to_str().expect("ASCII date"), &body);
                let auth = HeaderValue::from_str(&auth).expect("valid authorization header");
                self.last = Some((now, body.clone(), auth.clone()));
                auth
            }
        };
        Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .header("x-amz-date", date.clone())
            .header(AUTHORIZATION, auth)
            .body(Full::new(body))
            .expect("valid request")
    }
}

/// One keep-alive connection for setup calls, each of which must answer 200.
pub struct Client {
    addr: SocketAddr,
    signer: Signer,
    conn: Option<Sender>,
}

impl Client {
    pub fn new(addr: SocketAddr, region: &'static str) -> Client {
        Client { addr, signer: Signer::in_region(addr, region), conn: None }
    }

    /// Sends `body` and returns the answer, or an error naming `what` unless it is a 200 within
    /// `SETUP_CALL_TIMEOUT`.
    pub async fn call(&mut self, what: &str, body: String) -> Result<Bytes> {
        let req = self.signer.request(Bytes::from(body));
        let (addr, conn) = (self.addr, &mut self.conn);
        let answer =
            tokio::time::timeout(SETUP_CALL_TIMEOUT, async { send(connected(addr, conn).await?, req).await }).await;
        self.answered(what, answer, |a: &Bytes| a.clone())
    }

    /// [`Client::call`] reading the answer as it arrives without keeping it ([`send_discarding`]):
    /// its size in bytes. The answer must end with `closing` (the response's closing tag).
    pub async fn call_discarding(&mut self, what: &str, body: String, closing: &str) -> Result<usize> {
        let req = self.signer.request(Bytes::from(body));
        let (addr, conn) = (self.addr, &mut self.conn);
        let answer = tokio::time::timeout(SETUP_CALL_TIMEOUT, async {
            send_discarding(connected(addr, conn).await?, req).await
        })
        .await;
        let kept = self.answered(what, answer, |k: &Discarded| Bytes::copy_from_slice(&k.head))?;
        if !kept.tail.trim_ascii_end().ends_with(closing.as_bytes()) {
            return Err(format!("{what}: the answer ({} bytes) does not end with {closing}", kept.bytes).into());
        }
        Ok(kept.bytes)
    }

    /// The answer of a setup call, or an error naming `what` (with `snippet_of` the bytes to quote).
    fn answered<A>(
        &mut self,
        what: &str,
        answer: std::result::Result<Result<(StatusCode, bool, A)>, tokio::time::error::Elapsed>,
        snippet_of: impl Fn(&A) -> Bytes,
    ) -> Result<A> {
        let (status, close, answer) = match answer {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                self.conn = None;
                return Err(format!("{what}: {e}").into());
            }
            Err(_) => {
                self.conn = None;
                return Err(format!("{what}: no answer within {SETUP_CALL_TIMEOUT:?}").into());
            }
        };
        if close {
            self.conn = None;
        }
        if status != StatusCode::OK {
            return Err(format!("{what}: HTTP {status}: {}", snippet(&snippet_of(&answer))).into());
        }
        Ok(answer)
    }
}

pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

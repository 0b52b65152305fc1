//! ec2d-bench: starts a real `ec2d` binary on loopback and measures startup time, idle memory, and the throughput
//! and latency of signed EC2 query-protocol requests over keep-alive HTTP/1.1 connections.
//!
//! `--scenario instances` instead launches `--instances` instances with RunInstances (timed, with the server's RSS
//! afterwards) and then loads DescribeInstances (by random ID, everything, the first page of 1000) and
//! StopInstances/StartInstances on random instances.
//!
//! Every server it starts is killed when its guard drops (also on error, panic or Ctrl-C), every request loop
//! stops by itself after `--warmup + --seconds`, and it only ever talks to 127.0.0.1.

mod sigv4;

use std::collections::{BTreeMap, HashSet};
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// Named request bodies for `--workload` (default scenario). Add a line here to add a workload.
const WORKLOADS: &[(&str, &str)] = &[
    ("describe-regions", "Action=DescribeRegions&Version=2016-11-15"),
    ("describe-availability-zones", "Action=DescribeAvailabilityZones&Version=2016-11-15"),
];

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
const CREDENTIALS: sigv4::Credentials<'static> =
    sigv4::Credentials { access_key: "AKIAIOSFODNN7EXAMPLE", secret_key: "test", region: "us-east-1", service: "ec2" };
/// Any single request (including connecting) that takes longer than this counts as a timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a started server gets to answer its health check.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after a healthy health check the first DescribeRegions may keep failing.
const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Delay between two polls while waiting for the server.
const POLL_INTERVAL: Duration = Duration::from_millis(1);
/// Requests sent per workload before reading the idle memory.
const IDLE_REQUESTS: usize = 10;
/// How long one RunInstances call, or the one-off DescribeInstances of everything after the launch, may take.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(120);
/// The most instances the server launches per RunInstances call (ec2d's `MAX_LAUNCH`).
const LAUNCH_BATCH: usize = 1000;
/// Launches go round-robin over these zones, one default /20 subnet (4091 addresses) each.
const ZONES: [&str; 6] = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"];
/// Stay below 6 x 4091 so no default subnet runs out of addresses and wraps.
const MAX_INSTANCES: usize = 24_000;
const IMAGE_ID: &str = "ami-08f6cfac8c54bafdd";
const INSTANCE_TYPE: &str = "t3.micro";

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;
type Sender = SendRequest<Full<Bytes>>;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Startup, idle memory and the throughput of each --workload
    Default,
    /// Launch --instances instances, then DescribeInstances (by ID, all, first page) and Stop/StartInstances
    Instances,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Default => "default",
            Scenario::Instances => "instances",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    about = "Benchmarks a real ec2d binary over loopback: startup, idle memory, throughput and latency",
    after_help = "Workloads (default scenario): describe-regions, describe-availability-zones, or any raw form body \
                  containing '=' (e.g. 'Action=DescribeVpcs&Version=2016-11-15').\n\
                  Instances scenario: launches --instances instances (RunInstances of 1000 at a time, round-robin \
                  over us-east-1a..f), then runs describe-instances-by-id (a random launched ID per request), \
                  describe-instances-all (--all-connections, --all-seconds), describe-instances-page (MaxResults=1000) \
                  and stop-start (per connection: StopInstances i, StartInstances i, for a random i).\n\
                  Exit status: 0 clean, 1 the run saw errors or non-200 answers, 2 the bench could not run."
)]
struct Args {
    /// What to measure
    #[arg(long, value_enum, default_value_t = Scenario::Default)]
    scenario: Scenario,
    /// The ec2d binary to start [default: `ec2d` next to this executable]
    #[arg(long)]
    ec2d: Option<PathBuf>,
    /// How many times to start the server to time its startup (0 skips the startup phase)
    /// [default: 20; 0 with --scenario instances]
    #[arg(long)]
    startup_runs: Option<usize>,
    /// Measured seconds of each throughput run
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up seconds before each throughput run (not counted)
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections; one throughput run per value
    /// [default: 16,64; 16 with --scenario instances]
    #[arg(long, value_delimiter = ',')]
    connections: Option<Vec<usize>>,
    /// Workload to run (repeatable, default scenario); see below
    #[arg(long = "workload", default_value = "describe-regions")]
    workloads: Vec<String>,
    /// Instances to launch (--scenario instances)
    #[arg(long, default_value_t = 10_000)]
    instances: usize,
    /// Connections of the DescribeInstances-of-everything run (--scenario instances); its answers are large
    #[arg(long, default_value_t = 2)]
    all_connections: usize,
    /// Measured seconds of the DescribeInstances-of-everything run (--scenario instances)
    #[arg(long, default_value_t = 3.0)]
    all_seconds: f64,
    /// Seed of the bench's own choice of instances (--scenario instances; --seed is the server's)
    #[arg(long, default_value_t = 1)]
    rng_seed: u64,
    /// Passed to `ec2d serve --clock` (instant, realistic or virtual)
    #[arg(long)]
    clock: Option<String>,
    /// Passed to `ec2d serve --seed`
    #[arg(long)]
    seed: Option<u64>,
    /// Extra argument appended to `ec2d serve` (repeatable)
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
    /// Store engine of the servers it starts: `memory` (--ephemeral), `embedded` (--data-dir, a fresh
    /// temporary directory), or a `postgres://` URL (--store URL; best an empty database)
    #[arg(long, default_value = "memory")]
    store: String,
    /// Tokio worker threads of the load generator [default: number of CPUs]
    #[arg(long)]
    client_threads: Option<usize>,
    /// Print one JSON object with every number on stdout (the table then goes to stderr)
    #[arg(long)]
    json: bool,
}

// ---------------------------------------------------------------------------------------------------------------
// Report

#[derive(Serialize)]
struct Report {
    scenario: &'static str,
    ec2d: String,
    ec2d_binary_bytes: u64,
    server_args: Vec<String>,
    cpus: usize,
    client_threads: usize,
    startup: Option<StartupReport>,
    memory: MemoryReport,
    /// The RunInstances phase of `--scenario instances`.
    launch: Option<LaunchReport>,
    runs: Vec<RunReport>,
    /// False when any request failed or answered non-200; `problems` then says what.
    ok: bool,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct StartupReport {
    runs: usize,
    /// From spawning `ec2d serve` to the first `GET /_ec2d/health` answering 200.
    health_ms: Summary,
    /// From spawning `ec2d serve` to the first signed DescribeRegions answering 200.
    describe_regions_ms: Summary,
}

#[derive(Serialize)]
struct Summary {
    min: f64,
    median: f64,
    max: f64,
    samples: Vec<f64>,
}

#[derive(Serialize)]
struct LaunchReport {
    instances: usize,
    /// RunInstances calls, sent one after the other on one keep-alive connection.
    calls: usize,
    per_call: usize,
    zones: Vec<&'static str>,
    /// From the first RunInstances sent to the last one answered.
    seconds: f64,
    instances_per_second: f64,
    call_ms: Summary,
    /// Distinct instance IDs parsed out of the RunInstances answers.
    ids_parsed: usize,
    /// VmRSS right after the launch (the RSS before it is `memory.idle_rss_kib`).
    rss_after_launch_kib: u64,
    rss_after_launch_mib: f64,
    /// One DescribeInstances of everything right after the launch, as a check.
    describe_all: DescribeAllCheck,
}

#[derive(Serialize)]
struct DescribeAllCheck {
    ms: f64,
    response_bytes: u64,
    /// Distinct instance IDs in the answer, and how many launched IDs were missing from it.
    instances: usize,
    missing: usize,
}

#[derive(Serialize)]
struct MemoryReport {
    /// VmRSS after startup and a few requests of each workload (`--scenario instances`: before the launch).
    idle_rss_kib: u64,
    idle_rss_mib: f64,
    /// VmRSS and VmHWM (peak RSS) after all throughput runs.
    after_load_rss_kib: u64,
    after_load_rss_mib: f64,
    peak_rss_kib: u64,
    peak_rss_mib: f64,
}

#[derive(Serialize)]
struct RunReport {
    workload: String,
    connections: usize,
    warmup_seconds: f64,
    seconds: f64,
    /// Answers (any status) to requests sent during the measured window.
    requests: u64,
    requests_per_second: f64,
    latency_us: Latency,
    /// Body sizes of the 200 answers during the measured window.
    response_bytes: ResponseBytes,
    non_200: u64,
    non_200_by_status: BTreeMap<u16, u64>,
    /// Failed requests (connect, I/O or protocol errors) and timeouts during the measured window.
    errors: u64,
    timeouts: u64,
    /// Non-200 answers, errors and timeouts during the warm-up.
    warmup_non_200: u64,
    warmup_errors: u64,
    /// Connections re-opened because the server asked to close them.
    reconnects: u64,
    first_problem: Option<String>,
    /// CPU time over the measured window, 100 = one core busy.
    server_cpu_percent: Option<f64>,
    bench_cpu_percent: Option<f64>,
}

#[derive(Serialize, Default)]
struct ResponseBytes {
    min: u64,
    mean: f64,
    max: u64,
}

#[derive(Serialize, Default)]
struct Latency {
    mean: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

// ---------------------------------------------------------------------------------------------------------------
// The server process

/// A running `ec2d serve`; killed (and its log removed unless `keep_log`) on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    keep_log: bool,
}

static SERVER_COUNT: AtomicUsize = AtomicUsize::new(0);

impl Server {
    fn spawn(bin: &Path, extra_args: &[String]) -> Result<Server> {
        let port = free_port()?;
        let n = SERVER_COUNT.fetch_add(1, Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("ec2d-bench-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)?;
        let child = Command::new(bin)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        Ok(Server { child, port, log, keep_log: false })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last few lines the server wrote, for error messages.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(2000)));
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            text = String::from_utf8_lossy(&buf).into_owned();
        }
        if text.trim().is_empty() {
            "(the server wrote nothing)".into()
        } else {
            format!("server output (last lines):\n{}", text.trim_end())
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.keep_log {
            eprintln!("ec2d-bench: server log kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A port that was free a moment ago: bind port 0 and let it go.
/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `ec2d serve` flags that choose `--store`'s engine; the embedded engine's directory lives as long as
/// the returned guard (one directory for every server the bench starts, one at a time).
fn store_args(store: &str) -> Result<(Vec<String>, Option<TempDir>)> {
    let owned = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match store {
        "memory" => Ok((owned(&["--ephemeral"]), None)),
        "embedded" => {
            let dir = std::env::temp_dir().join(format!("ec2d-bench-data-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let args = owned(&["--data-dir", &dir.to_string_lossy()]);
            Ok((args, Some(TempDir(dir))))
        }
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok((owned(&["--store", url]), None))
        }
        other => Err(format!("--store {other:?}: expected memory, embedded or a postgres:// URL").into()),
    }
}

fn free_port() -> Result<u16> {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

async fn connect(addr: SocketAddr) -> Result<Sender> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request on a connection and reads the whole answer: (status, wants to close, body).
async fn send(sender: &mut Sender, req: Request<Full<Bytes>>) -> Result<(StatusCode, bool, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let close = resp.headers().get(CONNECTION).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, close, body))
}

/// One request on a fresh connection, bounded by `REQUEST_TIMEOUT`.
async fn one_shot(addr: SocketAddr, req: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes)> {
    one_shot_within(addr, req, REQUEST_TIMEOUT).await
}

/// One request on a fresh connection, bounded by `limit`.
async fn one_shot_within(addr: SocketAddr, req: Request<Full<Bytes>>, limit: Duration) -> Result<(StatusCode, Bytes)> {
    let answer = tokio::time::timeout(limit, async {
        let mut sender = connect(addr).await?;
        send(&mut sender, req).await
    })
    .await
    .map_err(|_| format!("no answer within {limit:?}"))??;
    Ok((answer.0, answer.2))
}

fn health_request(addr: SocketAddr) -> Request<Full<Bytes>> {
    Request::builder()
        .method(Method::GET)
        .uri("/_ec2d/health")
        .header(HOST, addr.to_string())
        .body(Full::new(Bytes::new()))
        .expect("valid request")
}

/// Signs request bodies with SigV4. The signing key is computed once a day and the `Authorization` of a body is
/// reused while the same body is sent again within the same wall-clock second, so a fixed body costs one signature
/// per second and a per-request body one SHA-256 plus one HMAC per request.
#[derive(Clone)]
struct Signer {
    host: HeaderValue,
    /// The wall-clock second, its X-Amz-Date header, and the signing key of its day.
    now: Option<(u64, HeaderValue, Arc<[u8]>)>,
    /// The last body signed, in which second, and its Authorization header.
    last: Option<(u64, Bytes, HeaderValue)>,
}

impl Signer {
    fn new(addr: SocketAddr) -> Signer {
        Signer {
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header"),
            now: None,
            last: None,
        }
    }

    // X-Amz-Date must be the real wall-clock time: the bench is a client, not part of the server's Clock.
    #[allow(clippy::disallowed_methods)]
    fn request(&mut self, body: Bytes) -> Request<Full<Bytes>> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        if self.now.as_ref().map(|n| n.0) != Some(now) {
            let date = sigv4::amz_date(now);
            let key = match &self.now {
                Some((_, old, key)) if old.as_bytes()[..8] == date.as_bytes()[..8] => key.clone(),
                _ => Arc::from(sigv4::signing_key(&CREDENTIALS, &date[..8])),
            };
            self.now = Some((now, HeaderValue::from_str(&date).expect("valid date header"), key));
        }
        let (_, date, key) = self.now.as_ref().expect("set above");
        let auth = match &self.last {
            Some((second, last, auth)) if *second == now && *last == body => auth.clone(),
            _ => {
                let host = self.host.to_str().expect("ASCII host");
                let date = date.to_str().expect("ASCII date");
                let hash = sigv4::sha256_hex(&body);
                let auth = sigv4::authorization_with_key(&CREDENTIALS, key, date, host, FORM_CONTENT_TYPE, &hash);
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

/// One connection's source of request bodies.
type BodyFn = Box<dyn FnMut() -> String + Send>;

/// What a workload sends.
#[derive(Clone)]
enum Body {
    /// The same body on every request.
    Fixed(Bytes),
    /// A body built per request. Called once per connection with the connection's index, it returns that
    /// connection's generator, which keeps its own state (e.g. its own seeded RNG) between requests.
    PerRequest(Arc<dyn Fn(usize) -> BodyFn + Send + Sync>),
}

impl Body {
    fn fixed(body: &str) -> Body {
        Body::Fixed(Bytes::copy_from_slice(body.as_bytes()))
    }

    fn per_request(make: impl Fn(usize) -> BodyFn + Send + Sync + 'static) -> Body {
        Body::PerRequest(Arc::new(make))
    }

    fn for_connection(&self, index: usize) -> ConnectionBody {
        match self {
            Body::Fixed(body) => ConnectionBody::Fixed(body.clone()),
            Body::PerRequest(make) => ConnectionBody::Generated(make(index)),
        }
    }
}

enum ConnectionBody {
    Fixed(Bytes),
    Generated(BodyFn),
}

impl ConnectionBody {
    fn next(&mut self) -> Bytes {
        match self {
            ConnectionBody::Fixed(body) => body.clone(),
            ConnectionBody::Generated(make) => Bytes::from(make()),
        }
    }
}

#[derive(Clone)]
struct Workload {
    name: String,
    body: Body,
}

/// SplitMix64: a tiny seeded generator, so the same `--rng-seed` picks the same instances.
struct Rng(u64);

impl Rng {
    /// Stream `stream` of seed `seed`; different streams start far apart in the sequence.
    fn new(seed: u64, stream: u64) -> Rng {
        let mut mix = Rng(stream);
        Rng(seed ^ mix.next_u64())
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// Polls with fresh connections until a request answers 200; returns the time since `t0`.
async fn poll_until_ok(
    server: &mut Server,
    t0: Instant,
    limit: Duration,
    what: &str,
    mut make: impl FnMut() -> Request<Full<Bytes>>,
) -> Result<Duration> {
    let started = Instant::now();
    let mut last = "no answer yet".to_string();
    loop {
        if let Some(status) = server.exited() {
            return Err(format!("ec2d exited ({status}) before {what} answered 200\n{}", server.log_tail()).into());
        }
        if started.elapsed() > limit {
            return Err(
                format!("{what} did not answer 200 within {limit:?}; last: {last}\n{}", server.log_tail()).into()
            );
        }
        match one_shot(server.addr(), make()).await {
            Ok((StatusCode::OK, _)) => return Ok(t0.elapsed()),
            Ok((status, body)) => last = format!("HTTP {status}: {}", snippet(&body)),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Starts a server and waits until it is healthy and answers a signed DescribeRegions.
/// Returns it with the times from spawn to each.
async fn start_ready(bin: &Path, server_args: &[String]) -> Result<(Server, Duration, Duration)> {
    let t0 = Instant::now();
    let mut server = Server::spawn(bin, server_args)?;
    let addr = server.addr();
    let health = poll_until_ok(&mut server, t0, HEALTH_TIMEOUT, "GET /_ec2d/health", || health_request(addr)).await?;
    let mut signer = Signer::new(addr);
    let body = Bytes::from_static(WORKLOADS[0].1.as_bytes());
    let first_call =
        poll_until_ok(&mut server, t0, FIRST_CALL_TIMEOUT, "signed DescribeRegions", || signer.request(body.clone()))
            .await?;
    Ok((server, health, first_call))
}

// ---------------------------------------------------------------------------------------------------------------
// Load

#[derive(Default)]
struct WorkerStats {
    latencies_ns: Vec<u64>,
    by_status: BTreeMap<u16, u64>,
    errors: u64,
    timeouts: u64,
    warmup_non_200: u64,
    warmup_errors: u64,
    reconnects: u64,
    first_problem: Option<String>,
    /// Body sizes of the 200 answers in the measured window: sum, min, max.
    ok_bytes: u64,
    ok_bytes_min: Option<u64>,
    ok_bytes_max: u64,
}

impl WorkerStats {
    fn problem(&mut self, text: String) {
        self.first_problem.get_or_insert(text);
    }
}

/// One connection's request loop: sends back-to-back requests until `end`; counts only those sent after `measure`.
async fn worker(
    addr: SocketAddr,
    mut signer: Signer,
    mut body: ConnectionBody,
    measure: Instant,
    end: Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut conn: Option<Sender> = None;
    while Instant::now() < end {
        let t0 = Instant::now();
        let in_window = t0 >= measure;
        let req = signer.request(body.next());
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let sender = match &mut conn {
                Some(sender) => sender,
                None => conn.insert(connect(addr).await?),
            };
            send(sender, req).await
        })
        .await;
        let elapsed = t0.elapsed();
        match answer {
            Ok(Ok((status, close, answer))) => {
                if in_window {
                    stats.latencies_ns.push(elapsed.as_nanos() as u64);
                    *stats.by_status.entry(status.as_u16()).or_default() += 1;
                    if status == StatusCode::OK {
                        let n = answer.len() as u64;
                        stats.ok_bytes += n;
                        stats.ok_bytes_max = stats.ok_bytes_max.max(n);
                        stats.ok_bytes_min = Some(stats.ok_bytes_min.map_or(n, |m| m.min(n)));
                    }
                }
                if status != StatusCode::OK {
                    if !in_window {
                        stats.warmup_non_200 += 1;
                    }
                    stats.problem(format!("HTTP {status}: {}", snippet(&answer)));
                }
                if close {
                    conn = None;
                    stats.reconnects += 1;
                }
            }
            Ok(Err(e)) => {
                conn = None;
                if in_window {
                    stats.errors += 1
                } else {
                    stats.warmup_errors += 1
                }
                stats.problem(format!("error: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await; // don't spin if the server is gone
            }
            Err(_) => {
                conn = None;
                if in_window {
                    stats.timeouts += 1
                } else {
                    stats.warmup_errors += 1
                }
                stats.problem(format!("timeout: no answer within {REQUEST_TIMEOUT:?}"));
            }
        }
    }
    stats
}

/// CPU time (user + system) of a process in seconds, from /proc/PID/stat.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

async fn load_run(
    server: &Server,
    workload: &Workload,
    connections: usize,
    warmup: Duration,
    seconds: Duration,
) -> RunReport {
    let start = Instant::now();
    let measure = start + warmup;
    let end = measure + seconds;
    let server_pid = server.pid().to_string();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure.into()).await;
        let before = (cpu_seconds(&server_pid), cpu_seconds("self"), Instant::now());
        tokio::time::sleep_until(end.into()).await;
        let wall = before.2.elapsed().as_secs_f64();
        let percent = |a: Option<f64>, b: Option<f64>| Some(((b? - a?) / wall * 1000.0).round() / 10.0);
        (percent(before.0, cpu_seconds(&server_pid)), percent(before.1, cpu_seconds("self")))
    });
    let signer = Signer::new(server.addr());
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let body = workload.body.for_connection(i);
            tokio::spawn(worker(server.addr(), signer.clone(), body, measure, end))
        })
        .collect();
    let mut total = WorkerStats::default();
    for handle in workers {
        let stats = match handle.await {
            Ok(stats) => stats,
            Err(e) => {
                WorkerStats { errors: 1, first_problem: Some(format!("worker failed: {e}")), ..Default::default() }
            }
        };
        total.latencies_ns.extend(stats.latencies_ns);
        for (status, n) in stats.by_status {
            *total.by_status.entry(status).or_default() += n;
        }
        total.errors += stats.errors;
        total.timeouts += stats.timeouts;
        total.warmup_non_200 += stats.warmup_non_200;
        total.warmup_errors += stats.warmup_errors;
        total.reconnects += stats.reconnects;
        total.ok_bytes += stats.ok_bytes;
        total.ok_bytes_max = total.ok_bytes_max.max(stats.ok_bytes_max);
        total.ok_bytes_min = match (total.ok_bytes_min, stats.ok_bytes_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if total.first_problem.is_none() {
            total.first_problem = stats.first_problem;
        }
    }
    let (server_cpu_percent, bench_cpu_percent) = cpu.await.unwrap_or((None, None));

    let mut lat = total.latencies_ns;
    lat.sort_unstable();
    let ok_answers = total.by_status.get(&200).copied().unwrap_or(0);
    let response_bytes = ResponseBytes {
        min: total.ok_bytes_min.unwrap_or(0),
        mean: if ok_answers == 0 { 0.0 } else { round1(total.ok_bytes as f64 / ok_answers as f64) },
        max: total.ok_bytes_max,
    };
    let non_200_by_status: BTreeMap<u16, u64> = total.by_status.into_iter().filter(|(s, _)| *s != 200).collect();
    RunReport {
        workload: workload.name.clone(),
        connections,
        warmup_seconds: warmup.as_secs_f64(),
        seconds: seconds.as_secs_f64(),
        requests: lat.len() as u64,
        requests_per_second: round1(lat.len() as f64 / seconds.as_secs_f64()),
        latency_us: latency(&lat),
        response_bytes,
        non_200: non_200_by_status.values().sum(),
        non_200_by_status,
        errors: total.errors,
        timeouts: total.timeouts,
        warmup_non_200: total.warmup_non_200,
        warmup_errors: total.warmup_errors,
        reconnects: total.reconnects,
        first_problem: total.first_problem,
        server_cpu_percent,
        bench_cpu_percent,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency(sorted_ns: &[u64]) -> Latency {
    if sorted_ns.is_empty() {
        return Latency::default();
    }
    let us = |ns: u64| round1(ns as f64 / 1000.0);
    let mean = sorted_ns.iter().map(|&n| n as f64).sum::<f64>() / sorted_ns.len() as f64;
    Latency {
        mean: round1(mean / 1000.0),
        p50: us(percentile(sorted_ns, 50.0)),
        p90: us(percentile(sorted_ns, 90.0)),
        p99: us(percentile(sorted_ns, 99.0)),
        max: us(*sorted_ns.last().expect("not empty")),
    }
}

fn summary(durations: &[Duration]) -> Summary {
    let mut ms: Vec<f64> = durations.iter().map(|d| (d.as_secs_f64() * 1e5).round() / 100.0).collect();
    let samples = ms.clone();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { ((ms[n / 2 - 1] + ms[n / 2]) * 50.0).round() / 100.0 };
    Summary { min: ms[0], median, max: ms[n - 1], samples }
}

/// VmRSS and VmHWM in KiB from /proc/PID/status.
fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status.lines().find(|l| l.starts_with(name)).ok_or(format!("no {name} in /proc/{pid}/status"))?;
        Ok(line[name.len()..].trim().trim_end_matches("kB").trim().parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    round1(kib as f64 / 1024.0)
}

// ---------------------------------------------------------------------------------------------------------------
// The instances scenario

const DESCRIBE_ALL: &str = "Action=DescribeInstances&Version=2016-11-15";
const DESCRIBE_PAGE: &str = "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000";

/// The distinct `<instanceId>` values of an XML answer, in order of appearance.
fn instance_ids(xml: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(xml);
    let (open, close) = ("<instanceId>", "</instanceId>");
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    let mut rest = &*text;
    while let Some(at) = rest.find(open) {
        rest = &rest[at + open.len()..];
        let Some(end) = rest.find(close) else { break };
        let id = rest[..end].trim();
        if seen.insert(id) {
            ids.push(id.to_string());
        }
        rest = &rest[end + close.len()..];
    }
    ids
}

struct Launched {
    ids: Vec<String>,
    calls: Vec<Duration>,
    elapsed: Duration,
}

/// Launches `count` instances, `LAUNCH_BATCH` per RunInstances call, round-robin over `ZONES`, one call after
/// the other on one keep-alive connection. Any call that fails or launches the wrong number is an error.
async fn launch(addr: SocketAddr, count: usize) -> Result<Launched> {
    let mut signer = Signer::new(addr);
    let mut conn: Option<Sender> = None;
    let mut ids: Vec<String> = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    let mut calls = Vec::new();
    let progress = std::io::stderr().is_terminal();
    eprintln!(
        "ec2d-bench: launching {count} instances ({} RunInstances calls of up to {LAUNCH_BATCH})",
        count.div_ceil(LAUNCH_BATCH)
    );
    let t0 = Instant::now();
    while ids.len() < count {
        let n = (count - ids.len()).min(LAUNCH_BATCH);
        let zone = ZONES[calls.len() % ZONES.len()];
        let what = format!("RunInstances #{} ({n} in {zone})", calls.len() + 1);
        let body = format!(
            "Action=RunInstances&Version=2016-11-15&ImageId={IMAGE_ID}&InstanceType={INSTANCE_TYPE}\
             &MinCount={n}&MaxCount={n}&Placement.AvailabilityZone={zone}"
        );
        let started = Instant::now();
        let req = signer.request(Bytes::from(body));
        let (status, close, answer) = tokio::time::timeout(LAUNCH_TIMEOUT, async {
            let sender = match &mut conn {
                Some(sender) => sender,
                None => conn.insert(connect(addr).await?),
            };
            send(sender, req).await
        })
        .await
        .map_err(|_| format!("{what}: no answer within {LAUNCH_TIMEOUT:?}"))?
        .map_err(|e| format!("{what}: {e}"))?;
        calls.push(started.elapsed());
        if status != StatusCode::OK {
            return Err(format!("{what}: HTTP {status}: {}", snippet(&answer)).into());
        }
        let got = instance_ids(&answer);
        if got.len() != n {
            return Err(format!("{what}: {} instance IDs in the answer, expected {n}", got.len()).into());
        }
        for id in got {
            if !seen.insert(id.clone()) {
                return Err(format!("{what}: instance ID {id} was launched before").into());
            }
            ids.push(id);
        }
        if close {
            conn = None;
        }
        if progress {
            eprint!("\rec2d-bench: launched {}/{count}", ids.len());
        }
    }
    let elapsed = t0.elapsed();
    if progress {
        eprintln!();
    }
    Ok(Launched { ids, calls, elapsed })
}

/// One DescribeInstances of everything on a fresh connection: is every launched instance in it?
async fn describe_all_check(addr: SocketAddr, launched: &[String]) -> Result<DescribeAllCheck> {
    let mut signer = Signer::new(addr);
    let t0 = Instant::now();
    let (status, answer) =
        one_shot_within(addr, signer.request(Bytes::from_static(DESCRIBE_ALL.as_bytes())), LAUNCH_TIMEOUT).await?;
    let ms = round1(t0.elapsed().as_secs_f64() * 1000.0);
    if status != StatusCode::OK {
        return Err(format!("DescribeInstances after the launch: HTTP {status}: {}", snippet(&answer)).into());
    }
    let seen = instance_ids(&answer);
    let seen: HashSet<&str> = seen.iter().map(String::as_str).collect();
    let missing = launched.iter().filter(|id| !seen.contains(id.as_str())).count();
    Ok(DescribeAllCheck { ms, response_bytes: answer.len() as u64, instances: seen.len(), missing })
}

/// The instances scenario's runs, in order (the state-changing one last): (workload, connections, seconds).
fn instances_plan(args: &Args, connections: &[usize], ids: Arc<Vec<String>>) -> Vec<(Workload, usize, f64)> {
    let seed = args.rng_seed;
    let by_id = {
        let ids = ids.clone();
        Body::per_request(move |conn| -> BodyFn {
            let ids = ids.clone();
            let mut rng = Rng::new(seed, conn as u64);
            Box::new(move || {
                format!("Action=DescribeInstances&Version=2016-11-15&InstanceId.1={}", ids[rng.below(ids.len())])
            })
        })
    };
    // Per connection: StopInstances i, then StartInstances i, then another random i.
    let stop_start = Body::per_request(move |conn| -> BodyFn {
        let ids = ids.clone();
        let mut rng = Rng::new(seed, (1 << 32) | conn as u64);
        let mut stopped: Option<usize> = None;
        Box::new(move || match stopped.take() {
            Some(i) => format!("Action=StartInstances&Version=2016-11-15&InstanceId.1={}", ids[i]),
            None => {
                let i = rng.below(ids.len());
                stopped = Some(i);
                format!("Action=StopInstances&Version=2016-11-15&InstanceId.1={}", ids[i])
            }
        })
    });
    let workload = |name: &str, body: Body| Workload { name: name.to_string(), body };
    let mut plan = Vec::new();
    for &c in connections {
        plan.push((workload("describe-instances-by-id", by_id.clone()), c, args.seconds));
    }
    plan.push((workload("describe-instances-all", Body::fixed(DESCRIBE_ALL)), args.all_connections, args.all_seconds));
    for &c in connections {
        plan.push((workload("describe-instances-page", Body::fixed(DESCRIBE_PAGE)), c, args.seconds));
    }
    for &c in connections {
        plan.push((workload("stop-start", stop_start.clone()), c, args.seconds));
    }
    plan
}

// ---------------------------------------------------------------------------------------------------------------
// Main

fn default_ec2d() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map(|dir| dir.join("ec2d")).unwrap_or_else(|| PathBuf::from("ec2d"))
}

fn resolve_workloads(names: &[String]) -> Result<Vec<Workload>> {
    names
        .iter()
        .map(|name| {
            if let Some((_, body)) = WORKLOADS.iter().find(|(n, _)| n == name) {
                Ok(Workload { name: name.clone(), body: Body::fixed(body) })
            } else if name.contains('=') {
                Ok(Workload { name: name.clone(), body: Body::fixed(name) })
            } else {
                let known: Vec<&str> = WORKLOADS.iter().map(|(n, _)| *n).collect();
                Err(format!(
                    "unknown workload {name:?}; known: {}, or a raw form body containing '='",
                    known.join(", ")
                )
                .into())
            }
        })
        .collect()
}

fn check_args(args: &Args) -> Result<()> {
    let seconds_ok = |s: f64| s > 0.0 && s <= 3600.0;
    if !(seconds_ok(args.seconds) && seconds_ok(args.all_seconds) && (0.0..=600.0).contains(&args.warmup)) {
        return Err("--seconds and --all-seconds must be in (0, 3600] and --warmup in [0, 600]".into());
    }
    let connections = args.connections.iter().flatten().chain([&args.all_connections]);
    if args.connections.as_ref().is_some_and(Vec::is_empty) || connections.into_iter().any(|&c| c == 0 || c > 4096) {
        return Err("--connections and --all-connections take numbers from 1 to 4096".into());
    }
    if !(1..=MAX_INSTANCES).contains(&args.instances) {
        return Err(format!("--instances must be in [1, {MAX_INSTANCES}] (no default subnet may run out)").into());
    }
    Ok(())
}

async fn run(args: &Args, client_threads: usize) -> Result<Report> {
    check_args(args)?;
    let scenario = args.scenario;
    let workloads = match scenario {
        Scenario::Default => resolve_workloads(&args.workloads)?,
        Scenario::Instances => Vec::new(),
    };
    let connections = args.connections.clone().unwrap_or_else(|| match scenario {
        Scenario::Default => vec![16, 64],
        Scenario::Instances => vec![16],
    });
    let startup_runs = args.startup_runs.unwrap_or(match scenario {
        Scenario::Default => 20,
        Scenario::Instances => 0,
    });
    let bin = args.ec2d.clone().unwrap_or_else(default_ec2d);
    let binary_bytes = std::fs::metadata(&bin)
        .map_err(|e| format!("{}: {e} (build it with `cargo build --release -p ec2d`, or pass --ec2d)", bin.display()))?
        .len();
    let bin = bin.canonicalize().unwrap_or(bin);
    let (mut server_args, _data_dir) = store_args(&args.store)?;
    if let Some(clock) = &args.clock {
        server_args.extend(["--clock".to_string(), clock.clone()]);
    }
    if let Some(seed) = args.seed {
        server_args.extend(["--seed".to_string(), seed.to_string()]);
    }
    server_args.extend(args.server_args.iter().cloned());
    let mut problems = Vec::new();

    // 1. Startup.
    let startup = if startup_runs > 0 {
        let (mut health, mut first_call) = (Vec::new(), Vec::new());
        let progress = std::io::stderr().is_terminal();
        if !progress {
            eprintln!("ec2d-bench: {startup_runs} startup runs");
        }
        for i in 1..=startup_runs {
            if progress {
                eprint!("\rec2d-bench: startup run {i}/{startup_runs}");
            }
            let (server, h, f) = start_ready(&bin, &server_args).await?;
            drop(server);
            health.push(h);
            first_call.push(f);
        }
        if progress {
            eprintln!();
        }
        Some(StartupReport {
            runs: startup_runs,
            health_ms: summary(&health),
            describe_regions_ms: summary(&first_call),
        })
    } else {
        None
    };

    // 2. Idle memory, on the server the load runs will use.
    let (mut server, _, _) = start_ready(&bin, &server_args).await?;
    for workload in &workloads {
        let mut signer = Signer::new(server.addr());
        let mut body = workload.body.for_connection(0);
        for i in 0..IDLE_REQUESTS {
            let (status, answer) = one_shot(server.addr(), signer.request(body.next())).await?;
            if status != StatusCode::OK {
                if i == 0 {
                    problems.push(format!(
                        "workload {}: HTTP {status} before the load: {}",
                        workload.name,
                        snippet(&answer)
                    ));
                }
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (idle_rss, _) = memory_kib(server.pid())?;

    // 3. The runs: each workload at each connection count, or (instances) launch first and plan around the IDs.
    let (launch_report, plan) = match scenario {
        Scenario::Default => {
            let plan = workloads
                .iter()
                .flat_map(|w| connections.iter().map(move |&c| (w.clone(), c, args.seconds)))
                .collect::<Vec<_>>();
            (None, plan)
        }
        Scenario::Instances => {
            let launched = match launch(server.addr(), args.instances).await {
                Ok(launched) => launched,
                Err(e) => {
                    server.keep_log = true;
                    let exited = server.exited().map(|s| format!(" (ec2d exited: {s})")).unwrap_or_default();
                    return Err(format!("launch failed{exited}: {e}\n{}", server.log_tail()).into());
                }
            };
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (launch_rss, _) = memory_kib(server.pid())?;
            eprintln!("ec2d-bench: one DescribeInstances of everything");
            let check = describe_all_check(server.addr(), &launched.ids).await?;
            if check.missing > 0 || check.instances != launched.ids.len() {
                problems.push(format!(
                    "DescribeInstances after the launch lists {} instances; {} of the {} launched are missing",
                    check.instances,
                    check.missing,
                    launched.ids.len()
                ));
            }
            let n = launched.ids.len();
            let report = LaunchReport {
                instances: args.instances,
                calls: launched.calls.len(),
                per_call: LAUNCH_BATCH,
                zones: ZONES.to_vec(),
                seconds: (launched.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
                instances_per_second: round1(n as f64 / launched.elapsed.as_secs_f64()),
                call_ms: summary(&launched.calls),
                ids_parsed: n,
                rss_after_launch_kib: launch_rss,
                rss_after_launch_mib: mib(launch_rss),
                describe_all: check,
            };
            (Some(report), instances_plan(args, &connections, Arc::new(launched.ids)))
        }
    };

    // 4. Throughput and latency.
    let mut runs = Vec::new();
    let warmup = Duration::from_secs_f64(args.warmup);
    for (workload, connections, seconds) in &plan {
        let (name, connections) = (&workload.name, *connections);
        eprintln!("ec2d-bench: {name} with {connections} connections ({seconds}s + {}s warm-up)", args.warmup);
        let run = load_run(&server, workload, connections, warmup, Duration::from_secs_f64(*seconds)).await;
        let failed = run.non_200 + run.errors + run.timeouts + run.warmup_non_200 + run.warmup_errors;
        if failed > 0 {
            problems.push(format!(
                "{name} x{connections}: {} non-200 {:?}, {} errors, {} timeouts (+{} bad during warm-up); first: {}",
                run.non_200,
                run.non_200_by_status,
                run.errors,
                run.timeouts,
                run.warmup_non_200 + run.warmup_errors,
                run.first_problem.as_deref().unwrap_or("-")
            ));
        }
        runs.push(run);
        if let Some(status) = server.exited() {
            server.keep_log = true;
            return Err(format!("ec2d exited ({status}) during the load\n{}", server.log_tail()).into());
        }
    }
    let (after_rss, peak_rss) = memory_kib(server.pid())?;
    if !problems.is_empty() {
        server.keep_log = true;
    }

    Ok(Report {
        scenario: scenario.name(),
        ec2d: bin.display().to_string(),
        ec2d_binary_bytes: binary_bytes,
        server_args,
        cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        client_threads,
        startup,
        memory: MemoryReport {
            idle_rss_kib: idle_rss,
            idle_rss_mib: mib(idle_rss),
            after_load_rss_kib: after_rss,
            after_load_rss_mib: mib(after_rss),
            peak_rss_kib: peak_rss,
            peak_rss_mib: mib(peak_rss),
        },
        launch: launch_report,
        runs,
        ok: problems.is_empty(),
        problems,
    })
}

fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

fn fmt_bytes(b: f64) -> String {
    if b < 1024.0 {
        format!("{b:.0}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1}KiB", b / 1024.0)
    } else {
        format!("{:.1}MiB", b / 1048576.0)
    }
}

fn table(r: &Report) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "ec2d-bench  {}{}  ({:.1} MiB binary, {} CPUs, {} client threads{})",
        r.ec2d,
        if r.scenario == "default" { String::new() } else { format!("  scenario {}", r.scenario) },
        r.ec2d_binary_bytes as f64 / 1048576.0,
        r.cpus,
        r.client_threads,
        if r.server_args.is_empty() { String::new() } else { format!(", serve {}", r.server_args.join(" ")) }
    ));
    if let Some(s) = &r.startup {
        line(format!("startup ({} runs, from spawn)          min    median       max", s.runs));
        for (label, v) in
            [("GET /_ec2d/health = 200", &s.health_ms), ("signed DescribeRegions = 200", &s.describe_regions_ms)]
        {
            line(format!("  {label:<32} {:>7.2}ms {:>7.2}ms {:>7.2}ms", v.min, v.median, v.max));
        }
    }
    let m = &r.memory;
    if let Some(l) = &r.launch {
        line(format!(
            "launch  {} instances in {} RunInstances calls of {} (round-robin {}..{}): {:.3}s = {:.0} instances/s",
            l.ids_parsed,
            l.calls,
            l.per_call,
            l.zones.first().unwrap_or(&"?"),
            l.zones.last().map_or("?", |z| &z[z.len() - 1..]),
            l.seconds,
            l.instances_per_second
        ));
        line(format!(
            "  per call  min {:.2}ms   median {:.2}ms   max {:.2}ms",
            l.call_ms.min, l.call_ms.median, l.call_ms.max
        ));
        let d = &l.describe_all;
        line(format!(
            "  then one DescribeInstances of everything: {} instances ({} launched missing), {} bytes ({}), {:.1}ms",
            d.instances,
            d.missing,
            d.response_bytes,
            fmt_bytes(d.response_bytes as f64),
            d.ms
        ));
        line(format!(
            "memory (VmRSS)  before launch {:.1} MiB   after launch {:.1} MiB   after load {:.1} MiB   peak {:.1} MiB",
            m.idle_rss_mib, l.rss_after_launch_mib, m.after_load_rss_mib, m.peak_rss_mib
        ));
    } else {
        line(format!(
            "memory (VmRSS)  idle {:.1} MiB   after load {:.1} MiB   peak {:.1} MiB",
            m.idle_rss_mib, m.after_load_rss_mib, m.peak_rss_mib
        ));
    }
    let sizes = r.launch.is_some();
    let w = r.runs.iter().map(|run| run.workload.chars().count()).max().unwrap_or(0).max(8);
    if let Some(first) = r.runs.first() {
        let others: Vec<String> = r
            .runs
            .iter()
            .filter(|run| run.seconds != first.seconds)
            .map(|run| format!("{} {}s", run.workload, run.seconds))
            .collect();
        let others = if others.is_empty() { String::new() } else { format!(", {},", others.join(", ")) };
        line(format!(
            "throughput ({}s per run{others} after {}s warm-up, keep-alive HTTP/1.1, SigV4-signed POST)",
            first.seconds, first.warmup_seconds
        ));
        line(format!(
            "  {:<w$} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>9}{}",
            "workload",
            "conns",
            "req/s",
            "p50",
            "p90",
            "p99",
            "max",
            "non-200",
            "errors",
            "cpu srv/me",
            if sizes { "  response size" } else { "" }
        ));
    }
    for run in &r.runs {
        let l = &run.latency_us;
        let cpu = |c: Option<f64>| c.map_or("?".to_string(), |c| format!("{c:.0}%"));
        let size = if sizes {
            let b = &run.response_bytes;
            if b.min == b.max {
                format!("  {} B", b.max)
            } else {
                format!("  {:.0} B mean ({}..{})", b.mean, b.min, b.max)
            }
        } else {
            String::new()
        };
        let cpu_me = if sizes { format!("{:<4}", cpu(run.bench_cpu_percent)) } else { cpu(run.bench_cpu_percent) };
        line(format!(
            "  {:<w$} {:>5} {:>9.0} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>4}/{cpu_me}{size}",
            run.workload,
            run.connections,
            run.requests_per_second,
            fmt_us(l.p50),
            fmt_us(l.p90),
            fmt_us(l.p99),
            fmt_us(l.max),
            run.non_200 + run.warmup_non_200,
            run.errors + run.timeouts + run.warmup_errors,
            cpu(run.server_cpu_percent),
        ));
    }
    if !r.ok {
        line(
            "!!!!!!!! ERRORS: some requests failed or answered non-200; these numbers are NOT a clean run !!!!!!!!"
                .into(),
        );
        for p in &r.problems {
            line(format!("!!! {p}"));
        }
    }
    out
}

fn main() -> ExitCode {
    let args = Args::parse();
    let client_threads =
        args.client_threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(client_threads.max(1)).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("ec2d-bench: cannot start the tokio runtime: {e}");
                return ExitCode::from(2);
            }
        };
    // Ctrl-C drops the `run` future, and with it the server guards, which kill the servers.
    let result = runtime.block_on(async {
        tokio::select! {
            result = run(&args, client_threads) => result,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    });
    drop(runtime);
    match result {
        Ok(report) => {
            let text = table(&report);
            if args.json {
                eprint!("{text}");
                println!("{}", serde_json::to_string(&report).expect("the report serializes"));
            } else {
                print!("{text}");
            }
            if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            let newline = if std::io::stderr().is_terminal() { "\n" } else { "" };
            eprintln!("{newline}ec2d-bench: error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 90.0), 90);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn summary_takes_the_middle() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
        let s = summary(&ms(&[5, 1, 3]));
        assert_eq!((s.min, s.median, s.max), (1.0, 3.0, 5.0));
        assert_eq!(summary(&ms(&[4, 1, 2, 3])).median, 2.5);
    }

    #[test]
    fn workloads_resolve_by_name_or_raw_body() {
        let w = resolve_workloads(&["describe-regions".into(), "Action=DescribeVpcs&Version=2016-11-15".into()])
            .expect("known");
        assert_eq!(w[0].body.for_connection(0).next(), "Action=DescribeRegions&Version=2016-11-15");
        assert_eq!(w[1].body.for_connection(0).next(), "Action=DescribeVpcs&Version=2016-11-15");
        assert!(resolve_workloads(&["nope".into()]).is_err());
    }

    #[test]
    fn instance_ids_are_parsed_in_order_without_duplicates() {
        let xml = b"<r><item><instanceId>i-0aa</instanceId><x/></item><item><instanceId>i-0bb</instanceId>\
                    <instanceId>i-0aa</instanceId></item><instanceId>i-unclosed";
        assert_eq!(instance_ids(xml), ["i-0aa", "i-0bb"]);
        assert!(instance_ids(b"<r/>").is_empty());
    }

    #[test]
    fn rng_is_seeded_uniform_and_streams_differ() {
        let draw = |seed, stream| {
            let mut r = Rng::new(seed, stream);
            (0..1000).map(|_| r.below(10)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, 0), draw(1, 0));
        assert_ne!(draw(1, 0), draw(1, 1));
        assert_ne!(draw(1, 0), draw(2, 0));
        let v = draw(7, 3);
        assert!(v.iter().all(|&x| x < 10));
        assert!((0..10).all(|k| v.iter().filter(|&&x| x == k).count() > 50));
    }

    fn args(extra: &[&str]) -> Args {
        Args::parse_from(["ec2d-bench", "--scenario", "instances"].iter().chain(extra))
    }

    #[test]
    fn instances_plan_builds_bodies_per_request() {
        let ids: Vec<String> = (0..50).map(|i| format!("i-{i:017x}")).collect();
        let plan = instances_plan(&args(&[]), &[16], Arc::new(ids.clone()));
        let names: Vec<(&str, usize)> = plan.iter().map(|(w, c, _)| (w.name.as_str(), *c)).collect();
        assert_eq!(
            names,
            [
                ("describe-instances-by-id", 16),
                ("describe-instances-all", 2),
                ("describe-instances-page", 16),
                ("stop-start", 16)
            ]
        );
        assert_eq!(plan[1].2, 3.0);
        let text = |b: Bytes| String::from_utf8(b.to_vec()).expect("UTF-8");

        let mut by_id = plan[0].0.body.for_connection(0);
        let bodies: Vec<String> = (0..20).map(|_| text(by_id.next())).collect();
        let prefix = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=";
        assert!(bodies.iter().all(|b| b.starts_with(prefix) && ids.contains(&b[prefix.len()..].to_string())));
        assert!(bodies.iter().collect::<HashSet<_>>().len() > 5, "random IDs");
        let mut again = plan[0].0.body.for_connection(0);
        assert_eq!(text(again.next()), bodies[0], "seeded");

        let mut stop_start = plan[3].0.body.for_connection(5);
        for _ in 0..10 {
            let stop = text(stop_start.next());
            let start = text(stop_start.next());
            let id = stop.strip_prefix("Action=StopInstances&Version=2016-11-15&InstanceId.1=").expect("a stop");
            assert_eq!(start, format!("Action=StartInstances&Version=2016-11-15&InstanceId.1={id}"));
        }
        assert_eq!(plan[2].0.body.for_connection(0).next(), DESCRIBE_PAGE);
    }

    #[test]
    fn signer_reuses_a_signature_only_for_the_same_body() {
        let mut signer = Signer::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)));
        let auth = |r: &Request<Full<Bytes>>| r.headers()[AUTHORIZATION].clone();
        let a = signer.request(Bytes::from_static(b"Action=A"));
        let b = signer.request(Bytes::from_static(b"Action=B"));
        assert_ne!(auth(&a), auth(&b));
        let date = a.headers()["x-amz-date"].to_str().expect("ASCII").to_string();
        let host = "127.0.0.1:1";
        let expected =
            sigv4::authorization(&CREDENTIALS, &date, host, FORM_CONTENT_TYPE, &sigv4::sha256_hex(b"Action=A"));
        // (unless the second turned over between the two calls)
        if a.headers()["x-amz-date"] == signer.request(Bytes::new()).headers()["x-amz-date"] {
            assert_eq!(auth(&a), expected);
        }
    }

    #[test]
    fn args_default_per_scenario() {
        let a = args(&[]);
        assert_eq!((a.instances, a.all_connections, a.connections.clone(), a.startup_runs), (10_000, 2, None, None));
        assert!(check_args(&a).is_ok());
        assert!(check_args(&args(&["--instances", "0"])).is_err());
        assert!(check_args(&args(&["--instances", "30000"])).is_err());
        assert!(check_args(&args(&["--all-connections", "0"])).is_err());
        assert!(check_args(&args(&["--connections", "0"])).is_err());
        assert_eq!(Args::parse_from(["ec2d-bench"]).scenario, Scenario::Default);
    }
}

//! ec2d-bench: starts a real `ec2d` binary on loopback and measures startup time, idle memory, and the throughput
//! and latency of signed EC2 query-protocol requests over keep-alive HTTP/1.1 connections.
//!
//! Every server it starts is killed when its guard drops (also on error, panic or Ctrl-C), every request loop
//! stops by itself after `--warmup + --seconds`, and it only ever talks to 127.0.0.1.

mod sigv4;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

/// Named request bodies for `--workload`. Add a line here to add a workload.
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

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;
type Sender = SendRequest<Full<Bytes>>;

#[derive(Parser, Debug)]
#[command(
    about = "Benchmarks a real ec2d binary over loopback: startup, idle memory, throughput and latency",
    after_help = "Workloads: describe-regions, describe-availability-zones, or any raw form body containing '=' \
                  (e.g. 'Action=DescribeVpcs&Version=2016-11-15').\n\
                  Exit status: 0 clean, 1 the run saw errors or non-200 answers, 2 the bench could not run."
)]
struct Args {
    /// The ec2d binary to start [default: `ec2d` next to this executable]
    #[arg(long)]
    ec2d: Option<PathBuf>,
    /// How many times to start the server to time its startup (0 skips the startup phase)
    #[arg(long, default_value_t = 20)]
    startup_runs: usize,
    /// Measured seconds of each throughput run
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up seconds before each throughput run (not counted)
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Concurrent keep-alive connections; one throughput run per value
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    connections: Vec<usize>,
    /// Workload to run (repeatable); see below
    #[arg(long = "workload", default_value = "describe-regions")]
    workloads: Vec<String>,
    /// Passed to `ec2d serve --clock` (instant, realistic or virtual)
    #[arg(long)]
    clock: Option<String>,
    /// Passed to `ec2d serve --seed`
    #[arg(long)]
    seed: Option<u64>,
    /// Extra argument appended to `ec2d serve` (repeatable)
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,
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
    ec2d: String,
    ec2d_binary_bytes: u64,
    server_args: Vec<String>,
    cpus: usize,
    client_threads: usize,
    startup: Option<StartupReport>,
    memory: MemoryReport,
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
struct MemoryReport {
    /// VmRSS after startup and a few requests of each workload.
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
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string(), "--ephemeral"])
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
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut sender = connect(addr).await?;
        send(&mut sender, req).await
    })
    .await
    .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))??;
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

/// A workload body plus its SigV4 signature, re-signed when the wall-clock second changes.
#[derive(Clone)]
struct Signed {
    host: HeaderValue,
    body: Bytes,
    payload_hash: String,
    cached: Option<(u64, HeaderValue, HeaderValue)>,
}

impl Signed {
    fn new(addr: SocketAddr, body: &str) -> Signed {
        Signed {
            host: HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header"),
            body: Bytes::copy_from_slice(body.as_bytes()),
            payload_hash: sigv4::sha256_hex(body.as_bytes()),
            cached: None,
        }
    }

    // X-Amz-Date must be the real wall-clock time: the bench is a client, not part of the server's Clock.
    #[allow(clippy::disallowed_methods)]
    fn request(&mut self) -> Request<Full<Bytes>> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (date, auth) = match &self.cached {
            Some((second, date, auth)) if *second == now => (date.clone(), auth.clone()),
            _ => {
                let date = sigv4::amz_date(now);
                let host = self.host.to_str().expect("ASCII host");
                let auth = sigv4::authorization(&CREDENTIALS, &date, host, FORM_CONTENT_TYPE, &self.payload_hash);
                let date = HeaderValue::from_str(&date).expect("valid date header");
                let auth = HeaderValue::from_str(&auth).expect("valid authorization header");
                self.cached = Some((now, date.clone(), auth.clone()));
                (date, auth)
            }
        };
        Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .header("x-amz-date", date)
            .header(AUTHORIZATION, auth)
            .body(Full::new(self.body.clone()))
            .expect("valid request")
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
    let mut signed = Signed::new(addr, WORKLOADS[0].1);
    let first_call =
        poll_until_ok(&mut server, t0, FIRST_CALL_TIMEOUT, "signed DescribeRegions", || signed.request()).await?;
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
}

impl WorkerStats {
    fn problem(&mut self, text: String) {
        self.first_problem.get_or_insert(text);
    }
}

/// One connection's request loop: sends back-to-back requests until `end`; counts only those sent after `measure`.
async fn worker(addr: SocketAddr, mut signed: Signed, measure: Instant, end: Instant) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut conn: Option<Sender> = None;
    while Instant::now() < end {
        let t0 = Instant::now();
        let in_window = t0 >= measure;
        let req = signed.request();
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
            Ok(Ok((status, close, body))) => {
                if in_window {
                    stats.latencies_ns.push(elapsed.as_nanos() as u64);
                    *stats.by_status.entry(status.as_u16()).or_default() += 1;
                }
                if status != StatusCode::OK {
                    if !in_window {
                        stats.warmup_non_200 += 1;
                    }
                    stats.problem(format!("HTTP {status}: {}", snippet(&body)));
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
    name: &str,
    body: &str,
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
    let signed = Signed::new(server.addr(), body);
    let workers: Vec<_> =
        (0..connections).map(|_| tokio::spawn(worker(server.addr(), signed.clone(), measure, end))).collect();
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
        if total.first_problem.is_none() {
            total.first_problem = stats.first_problem;
        }
    }
    let (server_cpu_percent, bench_cpu_percent) = cpu.await.unwrap_or((None, None));

    let mut lat = total.latencies_ns;
    lat.sort_unstable();
    let non_200_by_status: BTreeMap<u16, u64> = total.by_status.into_iter().filter(|(s, _)| *s != 200).collect();
    RunReport {
        workload: name.to_string(),
        connections,
        warmup_seconds: warmup.as_secs_f64(),
        seconds: seconds.as_secs_f64(),
        requests: lat.len() as u64,
        requests_per_second: round1(lat.len() as f64 / seconds.as_secs_f64()),
        latency_us: latency(&lat),
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
// Main

fn default_ec2d() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map(|dir| dir.join("ec2d")).unwrap_or_else(|| PathBuf::from("ec2d"))
}

fn resolve_workloads(names: &[String]) -> Result<Vec<(String, String)>> {
    names
        .iter()
        .map(|name| {
            if let Some((_, body)) = WORKLOADS.iter().find(|(n, _)| n == name) {
                Ok((name.clone(), body.to_string()))
            } else if name.contains('=') {
                Ok((name.clone(), name.clone()))
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
    if !(args.seconds > 0.0 && args.seconds <= 3600.0 && (0.0..=600.0).contains(&args.warmup)) {
        return Err("--seconds must be in (0, 3600] and --warmup in [0, 600]".into());
    }
    if args.connections.is_empty() || args.connections.iter().any(|&c| c == 0 || c > 4096) {
        return Err("--connections takes numbers from 1 to 4096".into());
    }
    Ok(())
}

async fn run(args: &Args, client_threads: usize) -> Result<Report> {
    check_args(args)?;
    let workloads = resolve_workloads(&args.workloads)?;
    let bin = args.ec2d.clone().unwrap_or_else(default_ec2d);
    let binary_bytes = std::fs::metadata(&bin)
        .map_err(|e| format!("{}: {e} (build it with `cargo build --release -p ec2d`, or pass --ec2d)", bin.display()))?
        .len();
    let bin = bin.canonicalize().unwrap_or(bin);
    let mut server_args = Vec::new();
    if let Some(clock) = &args.clock {
        server_args.extend(["--clock".to_string(), clock.clone()]);
    }
    if let Some(seed) = args.seed {
        server_args.extend(["--seed".to_string(), seed.to_string()]);
    }
    server_args.extend(args.server_args.iter().cloned());
    let mut problems = Vec::new();

    // 1. Startup.
    let startup = if args.startup_runs > 0 {
        let (mut health, mut first_call) = (Vec::new(), Vec::new());
        let progress = std::io::stderr().is_terminal();
        if !progress {
            eprintln!("ec2d-bench: {} startup runs", args.startup_runs);
        }
        for i in 1..=args.startup_runs {
            if progress {
                eprint!("\rec2d-bench: startup run {i}/{}", args.startup_runs);
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
            runs: args.startup_runs,
            health_ms: summary(&health),
            describe_regions_ms: summary(&first_call),
        })
    } else {
        None
    };

    // 2. Idle memory, on the server the load runs will use.
    let (mut server, _, _) = start_ready(&bin, &server_args).await?;
    for (name, body) in &workloads {
        let mut signed = Signed::new(server.addr(), body);
        for i in 0..IDLE_REQUESTS {
            let (status, answer) = one_shot(server.addr(), signed.request()).await?;
            if status != StatusCode::OK {
                if i == 0 {
                    problems.push(format!("workload {name}: HTTP {status} before the load: {}", snippet(&answer)));
                }
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (idle_rss, _) = memory_kib(server.pid())?;

    // 3. Throughput and latency.
    let mut runs = Vec::new();
    for (name, body) in &workloads {
        for &connections in &args.connections {
            eprintln!(
                "ec2d-bench: {name} with {connections} connections ({}s + {}s warm-up)",
                args.seconds, args.warmup
            );
            let run = load_run(
                &server,
                name,
                body,
                connections,
                Duration::from_secs_f64(args.warmup),
                Duration::from_secs_f64(args.seconds),
            )
            .await;
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
    }
    let (after_rss, peak_rss) = memory_kib(server.pid())?;
    if !problems.is_empty() {
        server.keep_log = true;
    }

    Ok(Report {
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

fn table(r: &Report) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "ec2d-bench  {}  ({:.1} MiB binary, {} CPUs, {} client threads{})",
        r.ec2d,
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
    line(format!(
        "memory (VmRSS)  idle {:.1} MiB   after load {:.1} MiB   peak {:.1} MiB",
        m.idle_rss_mib, m.after_load_rss_mib, m.peak_rss_mib
    ));
    let w = r.runs.iter().map(|run| run.workload.chars().count()).max().unwrap_or(0).max(8);
    if let Some(first) = r.runs.first() {
        line(format!(
            "throughput ({}s per run after {}s warm-up, keep-alive HTTP/1.1, SigV4-signed POST)",
            first.seconds, first.warmup_seconds
        ));
        line(format!(
            "  {:<w$} {:>5} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>9}",
            "workload", "conns", "req/s", "p50", "p90", "p99", "max", "non-200", "errors", "cpu srv/me"
        ));
    }
    for run in &r.runs {
        let l = &run.latency_us;
        let cpu = |c: Option<f64>| c.map_or("?".to_string(), |c| format!("{c:.0}%"));
        line(format!(
            "  {:<w$} {:>5} {:>9.0} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6} {:>4}/{}",
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
            cpu(run.bench_cpu_percent)
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
        assert_eq!(w[0].1, "Action=DescribeRegions&Version=2016-11-15");
        assert_eq!(w[1].1, "Action=DescribeVpcs&Version=2016-11-15");
        assert!(resolve_workloads(&["nope".into()]).is_err());
    }
}

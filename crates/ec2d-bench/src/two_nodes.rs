//! The two-node PostgreSQL scenario (`--scenario postgres --store postgres://...`): issue 12's PostgreSQL
//! targets.
//!
//! It starts two `ec2d serve` processes on the database of `--store` and resets it through the first. Then:
//!
//! 1. Launch: `--connections` keep-alive connections (default 16), half on each node, each sending
//!    RunInstances of `--launch-count` instances (default 10) back to back, connection `c` in zone
//!    `ZONES[c % 5]`, for `--warmup + --seconds`; at most `ZONE_LAUNCH_CAP` instances in each zone (its default
//!    subnet's addresses: with 16 connections one zone gets four of them, so a cap on the total would let
//!    it run out). Measured: instances launched per second (from the answers in the measured window) and the
//!    latency of each call.
//! 2. Conflicts: `--shared` instances (default 16, launched through the first node) shared by every
//!    connection of both nodes; each connection sends StopInstances or StartInstances (at random) of a random
//!    one of them. Answers are 200 or `IncorrectInstanceState` (a legitimate refusal, counted apart); anything
//!    else is a failure. Measured: requests per second and the latency of every answer.
//!
//! The table prints both with the targets (2,000 instances/s with p99 under 100 ms; Stop/Start p99 under 200
//! ms) and `ok` or `MISSED`, and the CPU of the two ec2d processes per request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, StatusCode};
use serde::Serialize;

use crate::cli::Args;
use crate::http::{one_shot_within, send_keep_alive, snippet, Client, Sender, Signer, REQUEST_TIMEOUT};
use crate::instances::{instance_ids, IMAGE_ID, INSTANCE_TYPE, ZONES};
use crate::report::{fmt_us, Latency};
use crate::server::{cpu_seconds, start_ready, store_args, Server};
use crate::stats::{latency, round1, Rng};
use crate::Result;

/// The most instances the launch phase starts in one zone: its default subnet (a /20) holds 4,091
/// addresses, and the shared instances (in the first zone) need room too.
pub const ZONE_LAUNCH_CAP: usize = 4_000;
/// Targets of issue 12.
pub const TARGET_LAUNCH_PER_SECOND: f64 = 2000.0;
pub const TARGET_LAUNCH_P99_MS: f64 = 100.0;
pub const TARGET_CONFLICT_P99_MS: f64 = 200.0;

#[derive(Serialize, Default)]
pub struct PhaseReport {
    pub connections: usize,
    pub seconds: f64,
    /// Requests answered in the measured window (any status).
    pub requests: u64,
    pub requests_per_second: f64,
    /// Launch phase: instances in the 200 answers of the measured window, per second.
    pub instances: u64,
    pub instances_per_second: f64,
    pub latency_us: Latency,
    /// Conflict phase: `IncorrectInstanceState` answers (legitimate refusals).
    pub refused: u64,
    /// Anything else but a 200: other statuses, connection errors, timeouts (warm-up included).
    pub failed: u64,
    pub first_problem: Option<String>,
    /// CPU of both ec2d processes over the measured window, in % of one core.
    pub servers_cpu_percent: Option<f64>,
}

#[derive(Serialize)]
pub struct TwoNodeReport {
    pub store: String,
    pub launch_count: usize,
    pub shared: usize,
    pub launch: PhaseReport,
    pub conflicts: PhaseReport,
}

/// One connection's request bodies.
type NextBody = Box<dyn FnMut() -> String + Send>;

#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    instances: u64,
    refused: u64,
    failed: u64,
    first_problem: Option<String>,
}

/// One connection: requests back to back until `end`; only those sent after `measure` are counted (failures
/// always are). `budget`, when given, is taken from by `per_call` before each request; the loop stops when it
/// runs out.
async fn worker(
    addr: std::net::SocketAddr,
    mut signer: Signer,
    mut next: NextBody,
    window: (Instant, Instant),
    budget: Option<(Arc<AtomicUsize>, usize)>,
) -> Tally {
    let (measure, end) = window;
    let mut t = Tally::default();
    let mut conn: Option<Sender> = None;
    while Instant::now() < end {
        if let Some((left, n)) = &budget {
            if left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(*n)).is_err() {
                break;
            }
        }
        let t0 = Instant::now();
        let req = signer.request(Bytes::from(next()));
        let answer = send_keep_alive(&mut conn, addr, req).await;
        let elapsed = t0.elapsed();
        let in_window = t0 >= measure;
        match answer {
            Ok(Ok((status, close, body))) => {
                if close {
                    conn = None;
                }
                let refused = status == StatusCode::BAD_REQUEST && contains(&body, b"IncorrectInstanceState");
                if status != StatusCode::OK && !refused {
                    t.failed += 1;
                    t.first_problem.get_or_insert_with(|| format!("HTTP {status}: {}", snippet(&body)));
                    continue;
                }
                if in_window {
                    t.latencies_ns.push(elapsed.as_nanos() as u64);
                    if refused {
                        t.refused += 1;
                    } else if budget.is_some() {
                        t.instances += instance_ids(&body).len() as u64;
                    }
                }
            }
            Ok(Err(e)) => {
                conn = None;
                t.failed += 1;
                t.first_problem.get_or_insert_with(|| format!("error: {e}"));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(_) => {
                conn = None;
                t.failed += 1;
                t.first_problem.get_or_insert_with(|| format!("timeout: no answer within {REQUEST_TIMEOUT:?}"));
            }
        }
    }
    t
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The RunInstances body of connection `conn`.
pub fn launch_body(conn: usize, count: usize) -> String {
    let zone = ZONES[conn % ZONES.len()];
    format!(
        "Action=RunInstances&Version=2016-11-15&ImageId={IMAGE_ID}&InstanceType={INSTANCE_TYPE}\
         &MinCount={count}&MaxCount={count}&Placement.AvailabilityZone={zone}"
    )
}

/// The Stop/Start bodies of connection `conn`: a random shared instance, a random action.
pub fn conflict_bodies(ids: Arc<Vec<String>>, conn: usize, seed: u64) -> NextBody {
    let mut rng = Rng::new(seed, (2 << 32) | conn as u64);
    Box::new(move || {
        let id = &ids[rng.below(ids.len())];
        let action = if rng.below(2) == 0 { "StopInstances" } else { "StartInstances" };
        format!("Action={action}&Version=2016-11-15&InstanceId.1={id}")
    })
}

/// Runs one phase over both nodes: connection `c` talks to node `c % 2`.
async fn phase(
    nodes: &[Server; 2],
    conns: usize,
    warmup: Duration,
    seconds: Duration,
    mut bodies: impl FnMut(usize) -> NextBody,
    budget: Option<(usize, usize)>,
) -> PhaseReport {
    let start = Instant::now();
    let (measure, end) = (start + warmup, start + warmup + seconds);
    let pids: Vec<String> = nodes.iter().map(|n| n.pid().to_string()).collect();
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure.into()).await;
        let sum = |pids: &[String]| pids.iter().map(|p| cpu_seconds(p)).sum::<Option<f64>>();
        let before = (sum(&pids), Instant::now());
        tokio::time::sleep_until(end.into()).await;
        let wall = before.1.elapsed().as_secs_f64();
        Some(round1((sum(&pids)? - before.0?) / wall * 100.0))
    });
    // A budget per zone: connection `c` launches in `ZONES[c % ZONES.len()]` (`launch_body`).
    let left = budget.map(|(per_zone, n)| (ZONES.map(|_| Arc::new(AtomicUsize::new(per_zone))), n));
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let node = &nodes[c % 2];
            let budget = left.as_ref().map(|(l, n)| (l[c % ZONES.len()].clone(), *n));
            tokio::spawn(worker(node.addr(), Signer::new(node.addr()), bodies(c), (measure, end), budget))
        })
        .collect();
    let mut all = Tally::default();
    for h in handles {
        let t = h.await.unwrap_or_else(|e| Tally {
            failed: 1,
            first_problem: Some(format!("worker failed: {e}")),
            ..Tally::default()
        });
        all.latencies_ns.extend(t.latencies_ns);
        all.instances += t.instances;
        all.refused += t.refused;
        all.failed += t.failed;
        if all.first_problem.is_none() {
            all.first_problem = t.first_problem;
        }
    }
    // A phase that ran out of its launch budget ends early: rates are over the time it ran.
    let ran = Instant::now().min(end).saturating_duration_since(measure).as_secs_f64().max(1e-3);
    let secs = if budget.is_some() { ran.min(seconds.as_secs_f64()) } else { seconds.as_secs_f64() };
    all.latencies_ns.sort_unstable();
    let n = all.latencies_ns.len() as u64;
    PhaseReport {
        connections: conns,
        seconds: round1(secs),
        requests: n,
        requests_per_second: round1(n as f64 / secs),
        instances: all.instances,
        instances_per_second: round1(all.instances as f64 / secs),
        latency_us: latency(&all.latencies_ns),
        refused: all.refused,
        failed: all.failed,
        first_problem: all.first_problem,
        servers_cpu_percent: cpu.await.ok().flatten(),
    }
}

async fn reset(addr: std::net::SocketAddr) -> Result<()> {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/_ec2d/reset")
        .header(hyper::header::HOST, addr.to_string())
        .body(Full::new(Bytes::new()))?;
    let (status, body) = one_shot_within(addr, req, Duration::from_secs(60)).await?;
    if status != StatusCode::OK {
        return Err(format!("POST /_ec2d/reset: HTTP {status}: {}", snippet(&body)).into());
    }
    Ok(())
}

pub async fn run(args: &Args, bin: &std::path::Path, problems: &mut Vec<String>) -> Result<TwoNodeReport> {
    let store = args.store.clone();
    if !(store.starts_with("postgres://") || store.starts_with("postgresql://")) {
        return Err(
            "--scenario postgres needs --store postgres://... (scripts/throwaway-postgres.sh starts one)".into()
        );
    }
    let conns = args.connections.as_ref().and_then(|c| c.first().copied()).unwrap_or(16);
    let count = args.launch_count;
    if !(1..=1000).contains(&count) || !(1..=1000).contains(&args.shared) {
        return Err("--launch-count and --shared must be in [1, 1000]".into());
    }
    let (mut server_args, _) = store_args(&store)?;
    if let Some(seed) = args.seed {
        server_args.extend(["--seed".to_string(), seed.to_string()]);
    }
    server_args.extend(args.server_args.iter().cloned());
    let (a, _, _) = start_ready(bin, &server_args).await?;
    reset(a.addr()).await?;
    let (b, _, _) = start_ready(bin, &server_args).await?;
    let nodes = [a, b];
    let warmup = Duration::from_secs_f64(args.warmup);
    let seconds = Duration::from_secs_f64(args.seconds);

    // The shared instances first (they need addresses the launch phase may use up).
    let mut client = Client::new(nodes[0].addr(), "us-east-1");
    let n = args.shared;
    let shared = instance_ids(
        &client
            .call(
                "RunInstances (shared)",
                format!(
                    "Action=RunInstances&Version=2016-11-15&ImageId={IMAGE_ID}&InstanceType={INSTANCE_TYPE}\
                     &MinCount={n}&MaxCount={n}&Placement.AvailabilityZone={}",
                    ZONES[0]
                ),
            )
            .await?,
    );
    if shared.len() != n {
        return Err(format!("RunInstances (shared) answered {} instances, expected {n}", shared.len()).into());
    }
    // Each node serves a request before the load (connections, caches).
    for node in &nodes {
        Client::new(node.addr(), "us-east-1").call("DescribeInstances", crate::instances::DESCRIBE_PAGE.into()).await?;
    }

    eprintln!(
        "ec2d-bench: two nodes on {store}: RunInstances of {count}, {conns} connections ({}s + {}s warm-up)",
        args.seconds, args.warmup
    );
    let launch = phase(
        &nodes,
        conns,
        warmup,
        seconds,
        |c| {
            let body = launch_body(c, count);
            Box::new(move || body.clone())
        },
        Some((ZONE_LAUNCH_CAP - n, count)),
    )
    .await;
    eprintln!("ec2d-bench: conflicting Stop/Start of {n} shared instances, {conns} connections");
    let ids = Arc::new(shared);
    let seed = args.rng_seed;
    let conflicts = phase(&nodes, conns, warmup, seconds, |c| conflict_bodies(ids.clone(), c, seed), None).await;
    for (what, p) in [("launch", &launch), ("conflicts", &conflicts)] {
        if p.failed > 0 {
            problems.push(format!("{what}: {} failed; first: {}", p.failed, p.first_problem.as_deref().unwrap_or("-")));
        }
    }
    let [mut a, mut b] = nodes;
    for node in [&mut a, &mut b] {
        if let Some(status) = node.exited() {
            problems.push(format!("a node exited ({status})\n{}", node.log_tail()));
        }
        if !problems.is_empty() {
            node.keep_log = true;
        }
    }
    Ok(TwoNodeReport { store, launch_count: count, shared: n, launch, conflicts })
}

/// Server CPU per request in µs (both nodes).
fn cpu_per_request(p: &PhaseReport) -> String {
    match p.servers_cpu_percent {
        Some(cpu) if p.requests_per_second > 0.0 => format!("{:.0}µs", cpu / 100.0 / p.requests_per_second * 1e6),
        _ => "?".into(),
    }
}

pub fn table(r: &TwoNodeReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "two ec2d nodes on one PostgreSQL database ({})", r.store);
    let l = &r.launch;
    let _ = writeln!(
        out,
        "  RunInstances of {:<4} {:>2} conns  {:>8.1} calls/s  {:>8.1} instances/s  p50 {:>8}  p99 {:>8}  max {:>8}  \
         ec2d cpu {}/call",
        r.launch_count,
        l.connections,
        l.requests_per_second,
        l.instances_per_second,
        fmt_us(l.latency_us.p50),
        fmt_us(l.latency_us.p99),
        fmt_us(l.latency_us.max),
        cpu_per_request(l)
    );
    let c = &r.conflicts;
    let _ = writeln!(
        out,
        "  Stop/Start of {:<4}    {:>2} conns  {:>8.1} req/s    {:>6} refused      p50 {:>8}  p99 {:>8}  max {:>8}  \
         ec2d cpu {}/req",
        r.shared,
        c.connections,
        c.requests_per_second,
        c.refused,
        fmt_us(c.latency_us.p50),
        fmt_us(c.latency_us.p99),
        fmt_us(c.latency_us.max),
        cpu_per_request(c)
    );
    let _ = writeln!(out, "targets                                                  measured          target");
    let mut row = |name: &str, measured: String, target: &str, ok: bool| {
        let _ = writeln!(out, "  {name:<54} {measured:>12}   {target:<12} {}", if ok { "ok" } else { "MISSED" });
    };
    let p99 = |p: &PhaseReport| p.latency_us.p99 / 1000.0;
    row(
        "postgres, two nodes: RunInstances instances/s",
        format!("{:.0}", l.instances_per_second),
        ">= 2000",
        l.instances_per_second >= TARGET_LAUNCH_PER_SECOND,
    );
    row("postgres, two nodes: RunInstances p99", format!("{:.1}ms", p99(l)), "< 100ms", p99(l) < TARGET_LAUNCH_P99_MS);
    row(
        "postgres, two nodes: conflicting Stop/Start p99",
        format!("{:.1}ms", p99(c)),
        "< 200ms",
        p99(c) < TARGET_CONFLICT_P99_MS && c.requests > 0,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_bodies_spread_over_the_zones() {
        assert!(launch_body(0, 10).ends_with("&MinCount=10&MaxCount=10&Placement.AvailabilityZone=us-east-1a"));
        assert!(launch_body(6, 100).ends_with("&MaxCount=100&Placement.AvailabilityZone=us-east-1b"));
    }

    #[test]
    fn conflict_bodies_pick_shared_instances_and_both_actions() {
        let ids: Arc<Vec<String>> = Arc::new((0..4).map(|i| format!("i-{i:017x}")).collect());
        let mut next = conflict_bodies(ids.clone(), 3, 1);
        let bodies: Vec<String> = (0..200).map(|_| next()).collect();
        assert!(bodies.iter().any(|b| b.starts_with("Action=StopInstances&")));
        assert!(bodies.iter().any(|b| b.starts_with("Action=StartInstances&")));
        for id in ids.iter() {
            assert!(bodies.iter().any(|b| b.ends_with(&format!("InstanceId.1={id}"))), "{id} is picked");
        }
        let mut again = conflict_bodies(ids, 3, 1);
        assert_eq!(again(), bodies[0], "seeded");
    }

    #[test]
    fn the_table_says_missed_below_the_targets() {
        let mut r = TwoNodeReport {
            store: "postgres://x".into(),
            launch_count: 10,
            shared: 16,
            launch: PhaseReport { instances_per_second: 610.0, requests: 10, ..Default::default() },
            conflicts: PhaseReport { requests: 10, ..Default::default() },
        };
        r.launch.latency_us.p99 = 537_000.0;
        r.conflicts.latency_us.p99 = 150_000.0;
        let t = table(&r);
        let line = |name: &str| t.lines().find(|l| l.contains(name)).expect("a row").to_string();
        assert!(line("RunInstances instances/s").ends_with("MISSED"));
        assert!(line("RunInstances p99").ends_with("MISSED"));
        assert!(line("conflicting Stop/Start p99").ends_with("ok"));
    }
}

//! The instances scenario: launch `--instances` instances, then DescribeInstances (by ID, everything, the first
//! page) and Stop/StartInstances.

use std::collections::HashSet;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::StatusCode;

use crate::cli::Args;
use crate::http::{one_shot_within, snippet, Client, Signer, SETUP_CALL_TIMEOUT};
use crate::load::{Body, BodyFn, Workload};
use crate::report::DescribeAllCheck;
use crate::stats::{round1, Rng};
use crate::Result;

/// The most instances the server launches per RunInstances call (ec2d's `MAX_LAUNCH`).
pub const LAUNCH_BATCH: usize = 1000;
/// Launches go round-robin over these zones, one default /20 subnet (4091 addresses) each: the zones of
/// us-east-1 that offer `INSTANCE_TYPE` (and the mixed state's `t3.medium`) in ec2d's offerings
/// (us-east-1e offers neither).
pub const ZONES: [&str; 5] = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"];
/// Stay below 5 x 4091 so no default subnet runs out of addresses and wraps.
pub const MAX_INSTANCES: usize = 20_000;
pub const IMAGE_ID: &str = "ami-08f6cfac8c54bafdd";
pub const INSTANCE_TYPE: &str = "t3.micro";

pub const DESCRIBE_ALL: &str = "Action=DescribeInstances&Version=2016-11-15";
pub const DESCRIBE_PAGE: &str = "Action=DescribeInstances&Version=2016-11-15&MaxResults=1000";

/// The distinct `<instanceId>` values of an XML answer, in order of appearance.
pub fn instance_ids(xml: &[u8]) -> Vec<String> {
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

pub struct Launched {
    pub ids: Vec<String>,
    pub calls: Vec<Duration>,
    /// The server's CPU time during each call (all its threads), when /proc tells it.
    pub call_cpu: Vec<Duration>,
    pub elapsed: Duration,
}

/// Launches `count` instances in `region`, `LAUNCH_BATCH` per RunInstances call, round-robin over `zones`, one
/// call after the other on one keep-alive connection. Any call that fails or launches the wrong number is an error.
pub async fn launch(addr: SocketAddr, region: &'static str, zones: &[&str], count: usize) -> Result<Launched> {
    launch_measured(addr, None, region, zones, count).await
}

/// [`launch`]; `server_pid`, when given, is the server's process, whose CPU time each call is measured in.
pub async fn launch_measured(
    addr: SocketAddr,
    server_pid: Option<u32>,
    region: &'static str,
    zones: &[&str],
    count: usize,
) -> Result<Launched> {
    let mut client = Client::new(addr, region);
    let mut ids: Vec<String> = Vec::with_capacity(count);
    let mut seen = HashSet::with_capacity(count);
    let mut calls = Vec::new();
    let mut call_cpu = Vec::new();
    let cpu_ns = || server_pid.and_then(crate::server::cpu_ns_threads);
    let progress = std::io::stderr().is_terminal();
    eprintln!(
        "ec2d-bench: launching {count} instances in {region} ({} RunInstances calls of up to {LAUNCH_BATCH})",
        count.div_ceil(LAUNCH_BATCH)
    );
    let t0 = Instant::now();
    while ids.len() < count {
        let n = (count - ids.len()).min(LAUNCH_BATCH);
        let zone = zones[calls.len() % zones.len()];
        let what = format!("RunInstances #{} ({n} in {zone})", calls.len() + 1);
        let body = format!(
            "Action=RunInstances&Version=2016-11-15&ImageId={IMAGE_ID}&InstanceType={INSTANCE_TYPE}\
             &MinCount={n}&MaxCount={n}&Placement.AvailabilityZone={zone}"
        );
        let started = Instant::now();
        let cpu_before = cpu_ns();
        let answer = client.call(&what, body).await?;
        calls.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, cpu_ns()) {
            call_cpu.push(Duration::from_nanos(after.saturating_sub(before)));
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
        if progress {
            eprint!("\rec2d-bench: launched {}/{count}", ids.len());
        }
    }
    let elapsed = t0.elapsed();
    if progress {
        eprintln!();
    }
    Ok(Launched { ids, calls, call_cpu, elapsed })
}

/// One DescribeInstances of everything on a fresh connection: is every launched instance in it?
pub async fn describe_all_check(addr: SocketAddr, launched: &[String]) -> Result<DescribeAllCheck> {
    let mut signer = Signer::new(addr);
    let t0 = Instant::now();
    let (status, answer) =
        one_shot_within(addr, signer.request(Bytes::from_static(DESCRIBE_ALL.as_bytes())), SETUP_CALL_TIMEOUT).await?;
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
pub fn instances_plan(args: &Args, connections: &[usize], ids: Arc<Vec<String>>) -> Vec<(Workload, usize, f64)> {
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

//! The mixed-state scenario: issue 12's targets in one run.
//!
//! For each engine of `--engines` it starts two servers one after the other: one with an almost empty state
//! (`EMPTY_INSTANCES` instances) and one with the mixed state (`--instances` instances, `--spot-requests` Spot
//! requests in mixed states, `--reservations` capacity reservations and `--bundle-tasks` bundle tasks in one
//! account, plus `SIDE_INSTANCES` instances in another region), and runs the same two phases on both: light
//! (DescribeInstances of one instance by ID) and write (StopInstances, then StartInstances, of one instance; each
//! connection has its own instances, so two connections never race for one). Both states' phases name the same
//! number of distinct instances (`EMPTY_INSTANCES`; on the mixed state spread evenly over its `--instances`, on
//! the almost empty state launched in as many calls in the same zones, [`empty_launches`]), so that the two differ
//! only in the records the requests do not name: naming 10,000 distinct instances instead
//! of 64 is another working set (the named records are cold in the cache, and their timelines are pushed out by
//! one another under the per-scope bound), which the mixed state also measures, as rows that are no target
//! (`mixed_light_all_named`, `mixed_write_all_named`). On the mixed state it also times
//! DescribeInstances of everything (10,000 and 1,000 instances), reads the RSS, and (embedded engine) times
//! restarts on the data directory. A bare hyper server answering a fixed 4 KB body ([`crate::reference`]) runs the
//! light phase's load too, as the ceiling of this machine.
//!
//! The targets are ratios of runs, and this machine's speed drifts over a run of minutes, so the runs they compare
//! take turns: the two servers of an engine and the reference stay up together, and `--rounds` times over the
//! reference, then both states' light and write phases run, in an order where the two runs of each ratio are next
//! to each other and every other round goes backwards ([`round_order`]). Each ratio is the median of the rounds'
//! ratios, and each phase's reported run the round whose rate is the median.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;

use crate::http::{one_shot_within, Client};
use crate::instances::{launch, DESCRIBE_ALL};
use crate::load::{load_run, Body, BodyFn, Workload};
use crate::report::RunReport;
use crate::server::{cpu_ns_threads, memory_kib, start_ready, store_args, Server};
use crate::stats::{mib, percentile, round1, Rng};
use crate::Result;

/// Instances of the almost empty state.
pub const EMPTY_INSTANCES: usize = 64;
/// Instances launched in `SIDE_REGION` of the mixed state: DescribeInstances of everything there lists these.
pub const SIDE_INSTANCES: usize = 1000;
pub const SIDE_REGION: &str = "us-west-2";
const SIDE_ZONES: [&str; 4] = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"];
/// Spot requests are made `SPOT_BATCH` at a time, cycling through `SPOT_KINDS`.
const SPOT_BATCH: usize = 50;
const SPOT_ZONE: &str = "us-east-1c";
const SPOT_TYPE: &str = "t3.small";
const WINDOWS_STORE_IMAGE: &str = "ami-0193dd2c1f96edc84";
/// base64 of `{"expiration":"2099-01-01T00:00:00Z","conditions":[{"bucket":"bench"},{"acl":"ec2-bundle-read"},
/// ["starts-with","$key","win"]]}` (an S3 POST policy BundleInstance accepts), and the base64 of 20 zero bytes
/// (an HMAC-SHA1-shaped signature: EC2 cannot check it).
const UPLOAD_POLICY: &str = "eyJleHBpcmF0aW9uIjoiMjA5OS0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJiZW5jaCJ9LHsiYWNsIjoiZWMyLWJ1bmRsZS1yZWFkIn0sWyJzdGFydHMtd2l0aCIsIiRrZXkiLCJ3aW4iXV19";
const UPLOAD_SIGNATURE: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D";
/// Sequential DescribeInstances of everything per measurement.
const DESCRIBE_ALL_CALLS: usize = 10;
/// Restarts timed on the embedded engine's mixed data directory.
const RESTARTS: usize = 5;

#[derive(Serialize)]
pub struct MixedReport {
    pub instances: usize,
    pub spot_requests: usize,
    pub reservations: usize,
    pub bundle_tasks: usize,
    pub reference: RunReport,
    pub engines: Vec<EngineReport>,
}

#[derive(Serialize)]
pub struct EngineReport {
    pub engine: String,
    pub empty_light: RunReport,
    pub empty_write: RunReport,
    pub setup_seconds: f64,
    /// The phases naming `EMPTY_INSTANCES` instances spread over the mixed state (the targets' rows).
    pub mixed_light: RunReport,
    pub mixed_write: RunReport,
    /// The same phases naming every one of the `--instances` instances (no target: another working set).
    pub mixed_light_all_named: RunReport,
    pub mixed_write_all_named: RunReport,
    /// p50 of DescribeInstances of everything: `--instances` instances, and `SIDE_INSTANCES` in `SIDE_REGION`.
    /// Each answer is read as it arrives and dropped (`Client::call_discarding`).
    pub describe_all_ms: f64,
    pub describe_all_bytes: usize,
    /// The server's CPU per call (every thread's, from schedstat).
    pub describe_all_server_cpu_ms: f64,
    pub describe_side_ms: f64,
    pub describe_side_bytes: usize,
    pub describe_side_server_cpu_ms: f64,
    /// VmRSS once the mixed state is built and described.
    pub rss_mixed_kib: u64,
    pub rss_mixed_mib: f64,
    /// VmRSS after the light and write phases on the mixed state.
    pub rss_after_phases_mib: f64,
    pub peak_rss_mib: f64,
    /// Embedded engine: from spawn to the first signed DescribeRegions answered, on the mixed data directory
    /// after a clean stop (SIGTERM).
    pub restart_ms: Option<Vec<f64>>,
    /// Embedded engine: the same after the server was killed (no clean close: the whole file is checked).
    pub restart_after_kill_ms: Option<f64>,
    /// Per round: mixed / almost empty req/s of the light phase, of the write phase, and the reference's req/s over
    /// the mixed light phase's.
    pub light_ratio_rounds: Vec<f64>,
    pub write_ratio_rounds: Vec<f64>,
    /// Per round: the almost empty state's server CPU per request over the mixed state's, light and write (1.0:
    /// a request costs the server the same CPU in both states; below: more on the mixed state). No target: the
    /// cost itself, less tied than the rate to how the load generator and the server share the two cores.
    pub light_cpu_ratio_rounds: Vec<f64>,
    pub write_cpu_ratio_rounds: Vec<f64>,
    pub reference_ratio_rounds: Vec<f64>,
}

/// The runs of `--rounds` alternated rounds.
#[derive(Default)]
struct Rounds {
    reference: Vec<RunReport>,
    empty_light: Vec<RunReport>,
    mixed_light: Vec<RunReport>,
    empty_write: Vec<RunReport>,
    mixed_write: Vec<RunReport>,
}

/// One run of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Run {
    Reference,
    MixedLight,
    EmptyLight,
    EmptyWrite,
    MixedWrite,
}

/// The runs of round `round` (from 0), in order. The runs each ratio compares are next to each other (the
/// reference and the mixed light phase, both states' light phases, both states' write phases), and every other
/// round runs the sequence backwards, so that a drift of the machine's speed over a round favours neither side of
/// a ratio: the state that runs first alternates, and so does the reference's side of the mixed light phase.
fn round_order(round: usize) -> [Run; 5] {
    let mut order = [Run::Reference, Run::MixedLight, Run::EmptyLight, Run::EmptyWrite, Run::MixedWrite];
    if round % 2 == 1 {
        order.reverse();
    }
    order
}

/// `a[i] / b[i]` of each round's rates.
fn ratios(a: &[RunReport], b: &[RunReport]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a.requests_per_second / b.requests_per_second.max(1e-9)).collect()
}

/// `cpu(b[i]) / cpu(a[i])` of each round's server CPU per request (rounds without a reading are left out).
fn cpu_ratios(a: &[RunReport], b: &[RunReport]) -> Vec<f64> {
    a.iter().zip(b).filter_map(|(a, b)| Some(cpu_per_request(b)? / cpu_per_request(a)?.max(1e-9))).collect()
}

/// The run whose rate is the median of `runs` (the upper one of an even count).
fn median_run(mut runs: Vec<RunReport>) -> RunReport {
    runs.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
    let mid = runs.len() / 2;
    runs.swap_remove(mid)
}

/// `n` of `ids`, evenly spaced from the first (all of them when there are no more than `n`).
pub fn spread(ids: &[String], n: usize) -> Vec<String> {
    if ids.len() <= n {
        return ids.to_vec();
    }
    (0..n).map(|k| ids[k * ids.len() / n].clone()).collect()
}

/// The request bodies of the two phases over `ids`: connection `c` of `conns` only touches `ids[i]` with
/// `i % conns == c`.
pub fn phases(ids: Arc<Vec<String>>, conns: usize, seed: u64) -> (Workload, Workload) {
    let pick = move |ids: &[String], rng: &mut Rng, conn: usize| -> usize {
        let own = ids.len().div_ceil(conns).max(1);
        loop {
            let i = rng.below(own) * conns + conn % conns;
            if i < ids.len() {
                return i;
            }
        }
    };
    let light_ids = ids.clone();
    let light = Body::per_request(move |conn| -> BodyFn {
        let ids = light_ids.clone();
        let mut rng = Rng::new(seed, conn as u64);
        Box::new(move || {
            let i = pick(&ids, &mut rng, conn);
            format!("Action=DescribeInstances&Version=2016-11-15&InstanceId.1={}", ids[i])
        })
    });
    let write = Body::per_request(move |conn| -> BodyFn {
        let ids = ids.clone();
        let mut rng = Rng::new(seed, (1 << 32) | conn as u64);
        let mut stopped: Option<usize> = None;
        Box::new(move || match stopped.take() {
            Some(i) => format!("Action=StartInstances&Version=2016-11-15&InstanceId.1={}", ids[i]),
            None => {
                let i = pick(&ids, &mut rng, conn);
                stopped = Some(i);
                format!("Action=StopInstances&Version=2016-11-15&InstanceId.1={}", ids[i])
            }
        })
    });
    (Workload { name: "light".into(), body: light }, Workload { name: "write".into(), body: write })
}

/// The server's clock (`GET /_ec2d/clock`), so that dates in requests are relative to the server's now.
async fn server_now(addr: std::net::SocketAddr) -> Result<ec2_time::UnixMillis> {
    let req = hyper::Request::builder()
        .uri("/_ec2d/clock")
        .header(hyper::header::HOST, addr.to_string())
        .body(http_body_util::Full::new(Bytes::new()))?;
    let (status, body) = one_shot_within(addr, req, Duration::from_secs(10)).await?;
    let text = String::from_utf8_lossy(&body);
    let now = text.split("\"now\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
    ec2_time::parse_iso8601(now).ok_or_else(|| format!("GET /_ec2d/clock: HTTP {status}: {text}").into())
}

/// The four kinds of Spot request the mixed state holds, in equal shares: fulfilled one-time requests, requests
/// priced under the market (open), persistent requests with an expiry a day away (active, due to change), and
/// requests valid only from tomorrow (open, due to change).
fn spot_body(kind: usize, count: usize, now: ec2_time::UnixMillis) -> String {
    let day = now.plus_seconds(86_400).to_iso8601();
    let (price, extra) = match kind % 4 {
        0 => ("0.05", String::new()),
        1 => ("0.001", String::new()),
        2 => ("0.05", format!("&Type=persistent&ValidUntil={day}")),
        _ => ("0.05", format!("&ValidFrom={day}")),
    };
    format!(
        "Action=RequestSpotInstances&Version=2016-11-15&SpotPrice={price}&InstanceCount={count}{extra}\
         &LaunchSpecification.ImageId={}&LaunchSpecification.InstanceType={SPOT_TYPE}\
         &LaunchSpecification.Placement.AvailabilityZone={SPOT_ZONE}",
        crate::instances::IMAGE_ID
    )
}

fn reservation_body(i: usize, now: ec2_time::UnixMillis) -> String {
    let zone = crate::instances::ZONES[i % crate::instances::ZONES.len()];
    let end = if i % 2 == 1 {
        format!("&EndDateType=limited&EndDate={}", now.plus_seconds(2 * 86_400).to_iso8601())
    } else {
        String::new()
    };
    format!(
        "Action=CreateCapacityReservation&Version=2016-11-15&InstanceType=t3.medium&InstancePlatform=Linux%2FUNIX\
         &AvailabilityZone={zone}&InstanceCount={}{end}",
        1 + i % 4
    )
}

fn bundle_body(instance: &str) -> String {
    format!(
        "Action=BundleInstance&Version=2016-11-15&InstanceId={instance}&Storage.S3.Bucket=bench\
         &Storage.S3.Prefix=win&Storage.S3.AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE\
         &Storage.S3.UploadPolicy={UPLOAD_POLICY}&Storage.S3.UploadPolicySignature={UPLOAD_SIGNATURE}"
    )
}

/// The RunInstances calls (zone, count) of the almost empty state, so that its `EMPTY_INSTANCES` instances come
/// from launches like those of the instances the phases name on the mixed state: [`spread`] picks those out of
/// `instances` launched `LAUNCH_BATCH` at a time round-robin over the zones, so they come from several launches
/// (launch times of their own) in every zone (a capacity pool and a subnet each); the almost empty state launches
/// as many in each of those launches' zones, one call each. The two states' named instances then differ in the
/// records around them, not in their own.
pub fn empty_launches(instances: usize) -> Vec<(&'static str, usize)> {
    let zones = &crate::instances::ZONES;
    let mut calls: Vec<(usize, &'static str, usize)> = Vec::new();
    for k in 0..EMPTY_INSTANCES {
        // The index `spread` names (all of them, in the first launch, when there are no more than EMPTY_INSTANCES).
        let batch = k * instances.max(EMPTY_INSTANCES) / EMPTY_INSTANCES / crate::instances::LAUNCH_BATCH;
        match calls.last_mut() {
            Some((b, _, count)) if *b == batch => *count += 1,
            _ => calls.push((batch, zones[batch % zones.len()], 1)),
        }
    }
    calls.into_iter().map(|(_, zone, count)| (zone, count)).collect()
}

/// Builds the almost empty state ([`empty_launches`]); returns its instances' IDs.
async fn launch_empty(server: &Server, instances: usize) -> Result<Vec<String>> {
    let mut client = Client::new(server.addr(), "us-east-1");
    let mut ids = Vec::new();
    for (zone, n) in empty_launches(instances) {
        let body = format!(
            "Action=RunInstances&Version=2016-11-15&ImageId={}&InstanceType={}&MinCount={n}&MaxCount={n}\
             &Placement.AvailabilityZone={zone}",
            crate::instances::IMAGE_ID,
            crate::instances::INSTANCE_TYPE
        );
        let got = crate::instances::instance_ids(&client.call("RunInstances (almost empty state)", body).await?);
        if got.len() != n {
            return Err(
                format!("RunInstances in {zone}: {} instance IDs in the answer, expected {n}", got.len()).into()
            );
        }
        ids.extend(got);
    }
    Ok(ids)
}

/// Builds the mixed state; returns the IDs of the `instances` On-Demand instances of the main region.
async fn build_mixed(server: &Server, args: &crate::cli::Args) -> Result<Vec<String>> {
    let addr = server.addr();
    let ids = launch(addr, "us-east-1", &crate::instances::ZONES, args.instances).await?.ids;
    launch(addr, SIDE_REGION, &SIDE_ZONES, SIDE_INSTANCES).await?;
    let now = server_now(addr).await?;
    let mut client = Client::new(addr, "us-east-1");
    eprintln!(
        "ec2d-bench: {} Spot requests, {} capacity reservations, {} bundle tasks",
        args.spot_requests, args.reservations, args.bundle_tasks
    );
    let mut made = 0;
    while made < args.spot_requests {
        let n = (args.spot_requests - made).min(SPOT_BATCH);
        client.call("RequestSpotInstances", spot_body(made / SPOT_BATCH, n, now)).await?;
        made += n;
    }
    for i in 0..args.reservations {
        client.call("CreateCapacityReservation", reservation_body(i, now)).await?;
    }
    if args.bundle_tasks > 0 {
        let n = args.bundle_tasks;
        let answer = client
            .call(
                "RunInstances (Windows)",
                format!(
                    "Action=RunInstances&Version=2016-11-15&ImageId={WINDOWS_STORE_IMAGE}&InstanceType=m1.small\
                     &MinCount={n}&MaxCount={n}&Placement.AvailabilityZone=us-east-1a"
                ),
            )
            .await?;
        for id in crate::instances::instance_ids(&answer) {
            client.call("BundleInstance", bundle_body(&id)).await?;
        }
    }
    Ok(ids)
}

/// The end of a whole DescribeInstances answer.
const DESCRIBE_ALL_END: &str = "</DescribeInstancesResponse>";

/// What `DESCRIBE_ALL_CALLS` sequential DescribeInstances of everything measured.
struct DescribeAll {
    /// p50 of the calls' times.
    ms: f64,
    /// The answer's size.
    bytes: usize,
    /// The server's CPU (every thread's) per call, over all the calls.
    server_cpu_ms: f64,
}

/// p50 of `DESCRIBE_ALL_CALLS` sequential DescribeInstances of everything in `region`, the answer's
/// size and the server's CPU per call.
/// Each answer is read as it arrives and dropped piece by piece (`Client::call_discarding`), as a
/// client parsing it while it streams would: the time is not that of gathering 41 MB into one buffer.
async fn describe_all(server: &Server, region: &'static str) -> Result<DescribeAll> {
    let mut client = Client::new(server.addr(), region);
    let mut ns = Vec::new();
    let mut bytes = 0;
    // A first call, not timed: the one that settles the instances launched last.
    client.call_discarding("DescribeInstances (all)", DESCRIBE_ALL.to_string(), DESCRIBE_ALL_END).await?;
    let cpu_before = cpu_ns_threads(server.pid()).unwrap_or(0);
    for _ in 0..DESCRIBE_ALL_CALLS {
        let t0 = Instant::now();
        bytes = client.call_discarding("DescribeInstances (all)", DESCRIBE_ALL.to_string(), DESCRIBE_ALL_END).await?;
        ns.push(t0.elapsed().as_nanos() as u64);
    }
    let cpu_ns = cpu_ns_threads(server.pid()).unwrap_or(0).saturating_sub(cpu_before);
    ns.sort_unstable();
    Ok(DescribeAll {
        ms: round1(percentile(&ns, 50.0) as f64 / 1e5) / 10.0,
        bytes,
        server_cpu_ms: round1(cpu_ns as f64 / DESCRIBE_ALL_CALLS as f64 / 1e5) / 10.0,
    })
}

async fn phase_runs(
    server: &Server,
    ids: Vec<String>,
    args: &crate::cli::Args,
    conns: usize,
    what: &str,
) -> (RunReport, RunReport) {
    let (light, write) = phases(Arc::new(ids), conns, args.rng_seed);
    let warmup = Duration::from_secs_f64(args.warmup);
    let seconds = Duration::from_secs_f64(args.seconds);
    eprintln!("ec2d-bench: {what}: light, then write, {conns} connections");
    let l = load_run(server, &light, conns, warmup, seconds).await;
    let w = load_run(server, &write, conns, warmup, seconds).await;
    (l, w)
}

pub async fn run(args: &crate::cli::Args, bin: &std::path::Path, problems: &mut Vec<String>) -> Result<MixedReport> {
    let conns = args.connections.as_ref().and_then(|c| c.first().copied()).unwrap_or(16);
    let mut check = |what: String, run: &RunReport| {
        let failed = run.non_200 + run.errors + run.timeouts + run.warmup_non_200 + run.warmup_errors;
        if failed > 0 {
            problems.push(format!("{what}: {failed} failed; first: {}", run.first_problem.as_deref().unwrap_or("-")));
        }
    };

    let rounds = args.rounds.max(1) as usize;
    let warmup = Duration::from_secs_f64(args.warmup / rounds as f64);
    let seconds = Duration::from_secs_f64(args.seconds / rounds as f64);
    let mut reference_server = Server::spawn_reference()?;
    reference_server.wait_listening(Duration::from_secs(10)).await?;
    let reference_load = Workload { name: "reference".into(), body: Body::fixed(crate::WORKLOADS[0].1) };
    let mut references = Vec::new();

    let mut engines = Vec::new();
    for engine in &args.engines {
        // The almost empty state.
        let (empty_args, empty_dir) = store_args(engine)?;
        let (empty, _, _) = start_ready(bin, &empty_args).await?;
        let empty_ids = launch_empty(&empty, args.instances).await?;
        let (empty_light_load, empty_write_load) = phases(Arc::new(empty_ids), conns, args.rng_seed);

        // The mixed state.
        let (server_args, data_dir) = store_args(engine)?;
        let (mut server, _, _) = start_ready(bin, &server_args).await?;
        let t0 = Instant::now();
        let ids = match build_mixed(&server, args).await {
            Ok(ids) => ids,
            Err(e) => {
                server.keep_log = true;
                return Err(format!("building the mixed state on {engine}: {e}\n{}", server.log_tail()).into());
            }
        };
        let setup_seconds = round1(t0.elapsed().as_secs_f64());
        let all = describe_all(&server, "us-east-1").await?;
        let side = describe_all(&server, SIDE_REGION).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (rss_mixed, _) = memory_kib(server.pid())?;
        let (mixed_light_load, mixed_write_load) =
            phases(Arc::new(spread(&ids, EMPTY_INSTANCES)), conns, args.rng_seed);

        eprintln!(
            "ec2d-bench: {engine}: {rounds} rounds of the reference, then light and write on the almost empty and the \
             mixed state ({EMPTY_INSTANCES} named), {conns} connections"
        );
        let mut r = Rounds::default();
        for round in 0..rounds {
            for run in round_order(round) {
                let (target, load, into) = match run {
                    Run::Reference => (&reference_server, &reference_load, &mut r.reference),
                    Run::MixedLight => (&server, &mixed_light_load, &mut r.mixed_light),
                    Run::EmptyLight => (&empty, &empty_light_load, &mut r.empty_light),
                    Run::EmptyWrite => (&empty, &empty_write_load, &mut r.empty_write),
                    Run::MixedWrite => (&server, &mixed_write_load, &mut r.mixed_write),
                };
                into.push(load_run(target, load, conns, warmup, seconds).await);
            }
        }
        drop(empty);
        drop(empty_dir);
        for (what, runs) in [
            ("reference", &r.reference),
            ("empty light", &r.empty_light),
            ("empty write", &r.empty_write),
            ("mixed light", &r.mixed_light),
            ("mixed write", &r.mixed_write),
        ] {
            for (round, run) in runs.iter().enumerate() {
                check(format!("{engine} {what}, round {}", round + 1), run);
            }
        }
        let light_ratio_rounds = ratios(&r.mixed_light, &r.empty_light);
        let write_ratio_rounds = ratios(&r.mixed_write, &r.empty_write);
        let light_cpu_ratio_rounds = cpu_ratios(&r.mixed_light, &r.empty_light);
        let write_cpu_ratio_rounds = cpu_ratios(&r.mixed_write, &r.empty_write);
        let reference_ratio_rounds = ratios(&r.reference, &r.mixed_light);
        references.extend(r.reference);
        let (empty_light, empty_write) = (median_run(r.empty_light), median_run(r.empty_write));
        let (mixed_light, mixed_write) = (median_run(r.mixed_light), median_run(r.mixed_write));
        let every = ids.len();
        let (mixed_light_all_named, mixed_write_all_named) =
            phase_runs(&server, ids, args, conns, &format!("{engine}, mixed, all {every} named")).await;
        check(format!("{engine} mixed light, all named"), &mixed_light_all_named);
        check(format!("{engine} mixed write, all named"), &mixed_write_all_named);
        let (rss_after_phases, peak) = memory_kib(server.pid())?;
        let (restart_ms, restart_after_kill_ms) = if data_dir.is_some() {
            // Restarts after a clean stop (SIGTERM), then one after a kill (which checks the whole file).
            server.stop()?;
            let mut ms = Vec::new();
            for _ in 0..RESTARTS {
                let (server, _, first_call) = start_ready(bin, &server_args).await?;
                server.stop()?;
                ms.push(round1(first_call.as_secs_f64() * 1e4) / 10.0);
            }
            // Dropping a server kills it (SIGKILL): the start after that finds no clean-close mark.
            drop(start_ready(bin, &server_args).await?.0);
            let (server, _, after_kill) = start_ready(bin, &server_args).await?;
            drop(server);
            (Some(ms), Some(round1(after_kill.as_secs_f64() * 1e4) / 10.0))
        } else {
            drop(server);
            (None, None)
        };
        drop(data_dir);
        engines.push(EngineReport {
            engine: engine.clone(),
            empty_light,
            empty_write,
            setup_seconds,
            mixed_light,
            mixed_write,
            mixed_light_all_named,
            mixed_write_all_named,
            describe_all_ms: all.ms,
            describe_all_bytes: all.bytes,
            describe_all_server_cpu_ms: all.server_cpu_ms,
            describe_side_ms: side.ms,
            describe_side_bytes: side.bytes,
            describe_side_server_cpu_ms: side.server_cpu_ms,
            rss_mixed_kib: rss_mixed,
            rss_mixed_mib: mib(rss_mixed),
            rss_after_phases_mib: mib(rss_after_phases),
            peak_rss_mib: mib(peak),
            restart_ms,
            restart_after_kill_ms,
            light_ratio_rounds,
            write_ratio_rounds,
            light_cpu_ratio_rounds,
            write_cpu_ratio_rounds,
            reference_ratio_rounds,
        });
    }
    if references.is_empty() {
        references.push(load_run(&reference_server, &reference_load, conns, warmup, seconds).await);
        check("reference".into(), &references[0]);
    }
    drop(reference_server);
    let reference = median_run(references);
    Ok(MixedReport {
        instances: args.instances,
        spot_requests: args.spot_requests,
        reservations: args.reservations,
        bundle_tasks: args.bundle_tasks,
        reference,
        engines,
    })
}

/// Server CPU per request in µs.
fn cpu_per_request(r: &RunReport) -> Option<f64> {
    let rps = r.requests_per_second;
    r.server_cpu_percent.filter(|_| rps > 0.0).map(|p| p / 100.0 / rps * 1e6)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// The table of issue 12's targets.
pub fn table(r: &MixedReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let fmt_run = |run: &RunReport| {
        format!(
            "{:>8.0} req/s  p50 {:>7}  p99 {:>7}  cpu {:>6}/req",
            run.requests_per_second,
            crate::report::fmt_us(run.latency_us.p50),
            crate::report::fmt_us(run.latency_us.p99),
            cpu_per_request(run).map_or("?".into(), |c| format!("{c:.0}µs"))
        )
    };
    let _ = writeln!(
        out,
        "mixed state: {} instances, {} Spot requests, {} capacity reservations, {} bundle tasks (+{} instances in {})",
        r.instances, r.spot_requests, r.reservations, r.bundle_tasks, SIDE_INSTANCES, SIDE_REGION
    );
    let _ = writeln!(out, "  reference (bare hyper, 4 KB)   {}", fmt_run(&r.reference));
    for e in &r.engines {
        let _ = writeln!(out, "{} engine (mixed state built in {:.1}s)", e.engine, e.setup_seconds);
        let _ = writeln!(out, "  light, almost empty            {}", fmt_run(&e.empty_light));
        let _ = writeln!(out, "  light, mixed                   {}", fmt_run(&e.mixed_light));
        let _ = writeln!(out, "  write, almost empty            {}", fmt_run(&e.empty_write));
        let _ = writeln!(out, "  write, mixed                   {}", fmt_run(&e.mixed_write));
        let _ = writeln!(out, "  light, mixed, all {:<6} named {}", r.instances, fmt_run(&e.mixed_light_all_named));
        let _ = writeln!(out, "  write, mixed, all {:<6} named {}", r.instances, fmt_run(&e.mixed_write_all_named));
        let _ = writeln!(
            out,
            "  DescribeInstances of {} / {}: server cpu {:.1} / {:.1} ms per call; {:.1} / {:.1} MB",
            r.instances,
            SIDE_INSTANCES,
            e.describe_all_server_cpu_ms,
            e.describe_side_server_cpu_ms,
            e.describe_all_bytes as f64 / 1e6,
            e.describe_side_bytes as f64 / 1e6
        );
        let list = |v: &[f64]| v.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(" ");
        let _ = writeln!(
            out,
            "  rounds' mixed / almost empty: light {}; write {}; server CPU per request, almost empty / mixed: \
             light {}; write {}",
            list(&e.light_ratio_rounds),
            list(&e.write_ratio_rounds),
            list(&e.light_cpu_ratio_rounds),
            list(&e.write_cpu_ratio_rounds)
        );
        let _ = writeln!(
            out,
            "  RSS mixed state {:.1} MiB, after the phases {:.1} MiB, peak {:.1} MiB",
            e.rss_mixed_mib, e.rss_after_phases_mib, e.peak_rss_mib
        );
    }
    let _ = writeln!(out, "targets                                                  measured          target     ");
    let mut row = |name: String, measured: String, target: &str, ok: bool| {
        let _ = writeln!(out, "  {name:<54} {measured:>12}   {target:<12} {}", if ok { "ok" } else { "MISSED" });
    };
    let by_engine = |name: &str| r.engines.iter().find(|e| e.engine == name);
    for e in &r.engines {
        let (light, write) = (median(&e.light_ratio_rounds), median(&e.write_ratio_rounds));
        row(format!("{}: light req/s, mixed / almost empty", e.engine), format!("{light:.3}"), ">= 0.90", light >= 0.9);
        row(format!("{}: write req/s, mixed / almost empty", e.engine), format!("{write:.3}"), ">= 0.90", write >= 0.9);
        row(
            format!("{}: server CPU per request, almost empty / mixed (no target)", e.engine),
            format!("{:.3} / {:.3}", median(&e.light_cpu_ratio_rounds), median(&e.write_cpu_ratio_rounds)),
            "-",
            true,
        );
        let all = |m: &RunReport, x: &RunReport| m.requests_per_second / x.requests_per_second.max(1e-9);
        row(
            format!("{}: the same, all {} named (no target)", e.engine, r.instances),
            format!(
                "{:.3} / {:.3}",
                all(&e.mixed_light_all_named, &e.empty_light),
                all(&e.mixed_write_all_named, &e.empty_write)
            ),
            "-",
            true,
        );
        row(
            format!("{}: DescribeInstances of {} p50", e.engine, SIDE_INSTANCES),
            format!("{:.1}ms", e.describe_side_ms),
            "< 5ms",
            e.describe_side_ms < 5.0,
        );
        row(
            format!("{}: DescribeInstances of {} p50", e.engine, r.instances),
            format!("{:.1}ms", e.describe_all_ms),
            "< 50ms",
            e.describe_all_ms < 50.0,
        );
        row(
            format!("{}: RSS with the mixed state", e.engine),
            format!("{:.1}MiB", e.rss_mixed_mib),
            "< 60MB",
            e.rss_mixed_kib as f64 * 1024.0 < 60e6,
        );
        if let Some(ms) = &e.restart_ms {
            let m = median(ms);
            row(
                format!("{}: startup to the first answer, mixed state", e.engine),
                format!("{m:.1}ms"),
                "< 20ms",
                m < 20.0,
            );
        }
        if let Some(ms) = e.restart_after_kill_ms {
            row(format!("{}: the same after a kill (not a target)", e.engine), format!("{ms:.1}ms"), "-", true);
        }
    }
    if let Some(m) = by_engine("memory") {
        let ratio = median(&m.reference_ratio_rounds);
        row(
            "memory light (mixed) vs bare hyper: reference / memory".into(),
            format!("{ratio:.2}x"),
            "<= 1.5x",
            ratio <= 1.5,
        );
        if let Some(e) = by_engine("embedded") {
            let light = m.mixed_light.requests_per_second / e.mixed_light.requests_per_second.max(1e-9);
            let write = e.mixed_write.requests_per_second / m.mixed_write.requests_per_second.max(1e-9);
            row("embedded light (mixed): memory / embedded".into(), format!("{light:.2}x"), "<= 1.3x", light <= 1.3);
            row("embedded write (mixed): embedded / memory".into(), format!("{write:.2}"), ">= 0.5", write >= 0.5);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: Bytes) -> String {
        String::from_utf8(b.to_vec()).expect("UTF-8")
    }

    #[test]
    fn each_connection_has_its_own_instances() {
        let ids: Vec<String> = (0..70).map(|i| format!("i-{i:017x}")).collect();
        let (light, write) = phases(Arc::new(ids.clone()), 16, 1);
        let index =
            |body: &str| ids.iter().position(|id| body.ends_with(&format!("InstanceId.1={id}"))).expect("an id");
        for conn in [0, 5, 15] {
            let mut l = light.body.for_connection(conn);
            let mut w = write.body.for_connection(conn);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let body = text(l.next());
                assert!(body.starts_with("Action=DescribeInstances&Version=2016-11-15&InstanceId.1="));
                let i = index(&body);
                assert_eq!(i % 16, conn);
                seen.insert(i);
                let stop = text(w.next());
                let start = text(w.next());
                assert!(stop.starts_with("Action=StopInstances&"), "{stop}");
                assert!(start.starts_with("Action=StartInstances&"), "{start}");
                assert_eq!(index(&stop), index(&start));
                assert_eq!(index(&stop) % 16, conn);
            }
            assert_eq!(seen.len(), (conn..70).step_by(16).count(), "every own instance is picked");
        }
    }

    #[test]
    fn spread_names_evenly_spaced_instances() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("i-{i}")).collect();
        let named = spread(&ids, 64);
        assert_eq!(named.len(), 64);
        assert_eq!(named[0], "i-0");
        assert_eq!(named[1], "i-156");
        assert_eq!(named[63], "i-9843");
        assert_eq!(named.iter().collect::<std::collections::HashSet<_>>().len(), 64);
        assert_eq!(spread(&ids[..10], 64), &ids[..10]);
    }

    #[test]
    fn the_almost_empty_state_is_launched_as_the_named_instances_of_the_mixed_state_were() {
        // spread(10,000, 64) names indexes 0, 156, ..., 9843: 7, 6, 7, 6, ... of each launch of 1,000.
        let calls = empty_launches(10_000);
        assert_eq!(calls.len(), 10);
        assert_eq!(calls.iter().map(|c| c.1).sum::<usize>(), EMPTY_INSTANCES);
        let ids: Vec<String> = (0..10_000).map(|i| format!("{i}")).collect();
        let named = spread(&ids, EMPTY_INSTANCES);
        for (b, (zone, count)) in calls.iter().enumerate() {
            let in_batch = named.iter().filter(|i| i.parse::<usize>().unwrap() / 1000 == b).count();
            assert_eq!((*zone, *count), (crate::instances::ZONES[b % 5], in_batch), "launch {b}");
        }
        assert_eq!(calls[5].0, "us-east-1a");
        // No more than EMPTY_INSTANCES: one launch, as before.
        assert_eq!(empty_launches(10), [("us-east-1a", EMPTY_INSTANCES)]);
        assert_eq!(empty_launches(2_000), [("us-east-1a", 32), ("us-east-1b", 32)]);
    }

    #[test]
    fn the_runs_a_ratio_compares_are_adjacent_and_take_turns_at_going_first() {
        let position = |round: usize, run: Run| round_order(round).iter().position(|r| *r == run).unwrap();
        for round in 0..4 {
            let order = round_order(round);
            assert_eq!(order.iter().collect::<std::collections::HashSet<_>>().len(), 5, "every run once: {order:?}");
            for (a, b) in [
                (Run::Reference, Run::MixedLight),
                (Run::MixedLight, Run::EmptyLight),
                (Run::EmptyWrite, Run::MixedWrite),
            ] {
                assert_eq!(position(round, a).abs_diff(position(round, b)), 1, "round {round}: {a:?} next to {b:?}");
            }
        }
        for (a, b) in
            [(Run::Reference, Run::MixedLight), (Run::MixedLight, Run::EmptyLight), (Run::EmptyWrite, Run::MixedWrite)]
        {
            assert!(position(0, a) < position(0, b) && position(1, a) > position(1, b), "{a:?} and {b:?} take turns");
        }
    }

    #[test]
    fn rounds_pair_up_and_the_median_run_is_kept_whole() {
        let run = |rps: f64, p99: f64| RunReport {
            requests_per_second: rps,
            latency_us: crate::report::Latency { p99, ..Default::default() },
            ..Default::default()
        };
        let mixed = [run(90.0, 1.0), run(40.0, 2.0), run(120.0, 3.0)];
        let empty = [run(100.0, 0.0), run(50.0, 0.0), run(100.0, 0.0)];
        assert_eq!(ratios(&mixed, &empty), vec![0.9, 0.8, 1.2]);
        assert_eq!(median(&ratios(&mixed, &empty)), 0.9);
        // Server CPU per request: 50% at 100 req/s is 5,000 µs, at 80 req/s 6,250 µs.
        let cpu = |rps: f64, percent: Option<f64>| RunReport {
            requests_per_second: rps,
            server_cpu_percent: percent,
            ..Default::default()
        };
        let empty_cpu = [cpu(100.0, Some(50.0)), cpu(100.0, None), cpu(100.0, Some(50.0))];
        let mixed_cpu = [cpu(80.0, Some(50.0)), cpu(100.0, Some(50.0)), cpu(100.0, Some(50.0))];
        assert_eq!(cpu_ratios(&mixed_cpu, &empty_cpu), vec![0.8, 1.0]);
        // The run of the median rate, with its own latencies.
        let kept = median_run(mixed.into());
        assert_eq!((kept.requests_per_second, kept.latency_us.p99), (90.0, 1.0));
        assert_eq!(median_run(vec![run(7.0, 4.0)]).latency_us.p99, 4.0);
    }

    #[test]
    fn setup_bodies() {
        let now = ec2_time::parse_iso8601("2026-01-01T00:00:00Z").expect("a date");
        assert!(spot_body(2, 50, now).contains("&Type=persistent&ValidUntil=2026-01-02T00:00:00"));
        assert!(spot_body(3, 50, now).contains("&ValidFrom=2026-01-02T00:00:00"));
        assert!(spot_body(1, 50, now).contains("SpotPrice=0.001&InstanceCount=50&LaunchSpecification"));
        assert!(reservation_body(1, now).contains("AvailabilityZone=us-east-1b&InstanceCount=2&EndDateType=limited"));
        assert!(bundle_body("i-1").contains("UploadPolicySignature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"));
    }
}

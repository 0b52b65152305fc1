//! ec2d-bench: starts a real `ec2d` binary on loopback and measures startup time, idle memory, and the throughput
//! and latency of signed EC2 query-protocol requests over keep-alive HTTP/1.1 connections.
//!
//! `--scenario instances` instead launches `--instances` instances with RunInstances (timed, with the server's RSS
//! afterwards) and then loads DescribeInstances (by random ID, everything, the first page of 1000) and
//! StopInstances/StartInstances on random instances. `--scenario mixed` measures issue 12's targets ([`mixed`]);
//! `--scenario fleet` creates instant fleets and measures instances launched per second ([`fleet`]).
//!
//! Modules: `cli` (arguments), `server` (the processes it starts), `http` (connections, SigV4 with ec2-sigv4),
//! `load` (the request loops), `stats` (numbers), `report` (JSON and table), one module per scenario
//! (`instances`, `mixed`, `fleet`), and `reference` (the bare hyper server).
//!
//! Every server it starts is killed when its guard drops (also on error, panic or Ctrl-C), every request loop
//! stops by itself after `--warmup + --seconds`, and it only ever talks to 127.0.0.1.

mod cli;
mod fleet;
mod http;
mod instances;
mod load;
mod mixed;
mod reference;
mod report;
mod server;
mod stats;
mod two_nodes;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hyper::StatusCode;

use cli::{Args, Scenario};
use http::{one_shot, snippet, Signer};
use instances::{describe_all_check, instances_plan, launch_measured, LAUNCH_BATCH, MAX_INSTANCES, ZONES};
use load::{load_run, Body, Workload};
use report::{table, LaunchReport, MemoryReport, Report, StartupReport};
use server::{memory_kib, start_ready, store_args};
use stats::{mib, round1, summary};

/// Named request bodies for `--workload` (default scenario). Add a line here to add a workload.
pub const WORKLOADS: &[(&str, &str)] = &[
    ("describe-regions", "Action=DescribeRegions&Version=2016-11-15"),
    ("describe-availability-zones", "Action=DescribeAvailabilityZones&Version=2016-11-15"),
];

/// Requests sent per workload before reading the idle memory.
const IDLE_REQUESTS: usize = 10;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T, E = Error> = std::result::Result<T, E>;

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
        Scenario::Instances | Scenario::Mixed | Scenario::Fleet | Scenario::Postgres => Vec::new(),
    };
    let connections = args.connections.clone().unwrap_or_else(|| match scenario {
        Scenario::Default => vec![16, 64],
        Scenario::Instances | Scenario::Mixed | Scenario::Fleet | Scenario::Postgres => vec![16],
    });
    let startup_runs = args.startup_runs.unwrap_or(match scenario {
        Scenario::Default => 20,
        Scenario::Instances | Scenario::Mixed | Scenario::Fleet | Scenario::Postgres => 0,
    });
    let bin = ec2d_binary(args)?;
    let binary_bytes = std::fs::metadata(&bin)?.len();
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
        Scenario::Default | Scenario::Mixed | Scenario::Fleet | Scenario::Postgres => {
            let plan = workloads
                .iter()
                .flat_map(|w| connections.iter().map(move |&c| (w.clone(), c, args.seconds)))
                .collect::<Vec<_>>();
            (None, plan)
        }
        Scenario::Instances => {
            let launched =
                match launch_measured(server.addr(), Some(server.pid()), "us-east-1", &ZONES, args.instances).await {
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
                server_cpu_ms_per_call: (!launched.call_cpu.is_empty()).then(|| summary(&launched.call_cpu)),
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

/// The ec2d binary of `--ec2d`, or next to this executable.
fn ec2d_binary(args: &Args) -> Result<PathBuf> {
    let bin = args.ec2d.clone().unwrap_or_else(default_ec2d);
    std::fs::metadata(&bin).map_err(|e| {
        format!("{}: {e} (build it with `cargo build --release -p ec2d`, or pass --ec2d)", bin.display())
    })?;
    Ok(bin.canonicalize().unwrap_or(bin))
}

/// The mixed scenario: (the table, the JSON report, whether every request succeeded).
async fn run_mixed(args: &Args) -> Result<(String, String, bool)> {
    check_args(args)?;
    let bin = ec2d_binary(args)?;
    let mut problems = Vec::new();
    let report = mixed::run(args, &bin, &mut problems).await?;
    let mut text = format!("ec2d-bench  {}  scenario mixed\n", bin.display());
    text.push_str(&mixed::table(&report));
    for p in &problems {
        text.push_str(&format!("!!! {p}\n"));
    }
    if !problems.is_empty() {
        text.push_str(
            "!!!!!!!! ERRORS: some requests failed or answered non-200; these numbers are NOT a clean run !!!!!!!!\n",
        );
    }
    let json = serde_json::json!({ "scenario": "mixed", "ec2d": bin.display().to_string(), "report": report,
                                   "ok": problems.is_empty(), "problems": problems });
    Ok((text, json.to_string(), problems.is_empty()))
}

/// The two-node PostgreSQL scenario: (the table, the JSON report, whether every request succeeded).
async fn run_two_nodes(args: &Args) -> Result<(String, String, bool)> {
    let bin = ec2d_binary(args)?;
    let mut problems = Vec::new();
    let report = two_nodes::run(args, &bin, &mut problems).await?;
    let mut text = format!("ec2d-bench  {}  scenario postgres\n", bin.display());
    text.push_str(&two_nodes::table(&report));
    for p in &problems {
        text.push_str(&format!("!!! {p}\n"));
    }
    if !problems.is_empty() {
        text.push_str("!!!!!!!! ERRORS: some requests failed; these numbers are NOT a clean run !!!!!!!!\n");
    }
    let json = serde_json::json!({ "scenario": "postgres", "ec2d": bin.display().to_string(), "report": report,
                                   "ok": problems.is_empty(), "problems": problems });
    Ok((text, json.to_string(), problems.is_empty()))
}

/// The fleet scenario: (the table, the JSON report, whether every fleet launched in full).
async fn run_fleet(args: &Args) -> Result<(String, String, bool)> {
    let bin = ec2d_binary(args)?;
    let mut problems = Vec::new();
    let report = fleet::run(args, &bin, &mut problems).await?;
    let mut text = format!("ec2d-bench  {}  scenario fleet\n", bin.display());
    text.push_str(&fleet::table(&report));
    for p in &problems {
        text.push_str(&format!("!!! {p}\n"));
    }
    let json = serde_json::json!({ "scenario": "fleet", "ec2d": bin.display().to_string(), "report": report,
                                   "ok": problems.is_empty(), "problems": problems });
    Ok((text, json.to_string(), problems.is_empty()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(port) = args.reference_server {
        return match reference::serve(port) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ec2d-bench: reference server: {e}");
                ExitCode::from(2)
            }
        };
    }
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
        let work = async {
            if args.scenario == Scenario::Mixed {
                run_mixed(&args).await
            } else if args.scenario == Scenario::Fleet {
                run_fleet(&args).await
            } else if args.scenario == Scenario::Postgres {
                run_two_nodes(&args).await
            } else {
                let report = run(&args, client_threads).await?;
                let json = serde_json::to_string(&report).expect("the report serializes");
                Ok((table(&report), json, report.ok))
            }
        };
        tokio::select! {
            result = work => result,
            _ = tokio::signal::ctrl_c() => Err("interrupted".into()),
        }
    });
    drop(runtime);
    match result {
        Ok((text, json, ok)) => {
            if args.json {
                eprint!("{text}");
                println!("{json}");
            } else {
                print!("{text}");
            }
            if ok {
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
    use std::collections::HashSet;
    use std::net::{Ipv4Addr, SocketAddr};

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::Request;

    use super::*;
    use crate::instances::{instance_ids, DESCRIBE_PAGE};
    use crate::stats::{percentile, Rng};

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

    /// What ec2-sigv4's verifier (the server's) says about a request the bench signed.
    fn verify(r: &Request<Full<Bytes>>, body: &[u8]) -> std::result::Result<(), ec2_sigv4::Error> {
        let headers: Vec<(&str, &[u8])> = r.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes())).collect();
        let req = ec2_sigv4::HttpRequest { method: "POST", path: "/", query: "", headers: &headers, body };
        let date = r.headers()["x-amz-date"].to_str().expect("ASCII");
        let now = ec2_sigv4::parse_timestamp(date).expect("a timestamp");
        ec2_sigv4::verify(&req, "ec2", now, 300, |_| Some(http::CREDENTIALS.secret_key)).map(drop)
    }

    #[test]
    fn signer_signs_what_the_server_verifies_and_reuses_a_signature_only_for_the_same_body() {
        let mut signer = Signer::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)));
        let auth = |r: &Request<Full<Bytes>>| r.headers()[hyper::header::AUTHORIZATION].clone();
        let a = signer.request(Bytes::from_static(b"Action=A"));
        let b = signer.request(Bytes::from_static(b"Action=B"));
        assert_ne!(auth(&a), auth(&b));
        assert_eq!(verify(&a, b"Action=A"), Ok(()));
        assert_eq!(verify(&b, b"Action=B"), Ok(()));
        assert!(verify(&a, b"Action=B").is_err(), "the body is signed");
        let mut west = Signer::in_region(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), "us-west-2");
        let w = west.request(Bytes::from_static(b"Action=A"));
        assert!(auth(&w).to_str().expect("ASCII").contains("/us-west-2/ec2/aws4_request"));
        assert_eq!(verify(&w, b"Action=A"), Ok(()));
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

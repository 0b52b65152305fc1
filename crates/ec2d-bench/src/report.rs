//! What a run found: the JSON report and the table.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub ec2d: String,
    pub ec2d_binary_bytes: u64,
    pub server_args: Vec<String>,
    pub cpus: usize,
    pub client_threads: usize,
    pub startup: Option<StartupReport>,
    pub memory: MemoryReport,
    /// The RunInstances phase of `--scenario instances`.
    pub launch: Option<LaunchReport>,
    pub runs: Vec<RunReport>,
    /// False when any request failed or answered non-200; `problems` then says what.
    pub ok: bool,
    pub problems: Vec<String>,
}

#[derive(Serialize)]
pub struct StartupReport {
    pub runs: usize,
    /// From spawning `ec2d serve` to the first `GET /_ec2d/health` answering 200.
    pub health_ms: Summary,
    /// From spawning `ec2d serve` to the first signed DescribeRegions answering 200.
    pub describe_regions_ms: Summary,
}

#[derive(Serialize)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub samples: Vec<f64>,
}

#[derive(Serialize)]
pub struct LaunchReport {
    pub instances: usize,
    /// RunInstances calls, sent one after the other on one keep-alive connection.
    pub calls: usize,
    pub per_call: usize,
    pub zones: Vec<&'static str>,
    /// From the first RunInstances sent to the last one answered.
    pub seconds: f64,
    pub instances_per_second: f64,
    pub call_ms: Summary,
    /// The server's CPU time (all its threads) during each call, when /proc tells it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_ms_per_call: Option<Summary>,
    /// Distinct instance IDs parsed out of the RunInstances answers.
    pub ids_parsed: usize,
    /// VmRSS right after the launch (the RSS before it is `memory.idle_rss_kib`).
    pub rss_after_launch_kib: u64,
    pub rss_after_launch_mib: f64,
    /// One DescribeInstances of everything right after the launch, as a check.
    pub describe_all: DescribeAllCheck,
}

#[derive(Serialize)]
pub struct DescribeAllCheck {
    pub ms: f64,
    pub response_bytes: u64,
    /// Distinct instance IDs in the answer, and how many launched IDs were missing from it.
    pub instances: usize,
    pub missing: usize,
}

#[derive(Serialize)]
pub struct MemoryReport {
    /// VmRSS after startup and a few requests of each workload (`--scenario instances`: before the launch).
    pub idle_rss_kib: u64,
    pub idle_rss_mib: f64,
    /// VmRSS and VmHWM (peak RSS) after all throughput runs.
    pub after_load_rss_kib: u64,
    pub after_load_rss_mib: f64,
    pub peak_rss_kib: u64,
    pub peak_rss_mib: f64,
}

#[derive(Serialize, Default)]
pub struct RunReport {
    pub workload: String,
    pub connections: usize,
    pub warmup_seconds: f64,
    pub seconds: f64,
    /// Answers (any status) to requests sent during the measured window.
    pub requests: u64,
    pub requests_per_second: f64,
    pub latency_us: Latency,
    /// Body sizes of the 200 answers during the measured window.
    pub response_bytes: ResponseBytes,
    pub non_200: u64,
    pub non_200_by_status: BTreeMap<u16, u64>,
    /// Failed requests (connect, I/O or protocol errors) and timeouts during the measured window.
    pub errors: u64,
    pub timeouts: u64,
    /// Non-200 answers, errors and timeouts during the warm-up.
    pub warmup_non_200: u64,
    pub warmup_errors: u64,
    /// Connections re-opened because the server asked to close them.
    pub reconnects: u64,
    pub first_problem: Option<String>,
    /// CPU time over the measured window, 100 = one core busy.
    pub server_cpu_percent: Option<f64>,
    pub bench_cpu_percent: Option<f64>,
}

#[derive(Serialize, Default)]
pub struct ResponseBytes {
    pub min: u64,
    pub mean: f64,
    pub max: u64,
}

#[derive(Serialize, Default)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn fmt_us(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.2}ms", us / 1000.0)
    } else {
        format!("{:.2}s", us / 1e6)
    }
}

pub fn fmt_bytes(b: f64) -> String {
    if b < 1024.0 {
        format!("{b:.0}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1}KiB", b / 1024.0)
    } else {
        format!("{:.1}MiB", b / 1048576.0)
    }
}

pub fn table(r: &Report) -> String {
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
        if let Some(cpu) = &l.server_cpu_ms_per_call {
            line(format!(
                "  server CPU per call  min {:.2}ms   median {:.2}ms   max {:.2}ms",
                cpu.min, cpu.median, cpu.max
            ));
        }
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

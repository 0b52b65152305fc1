//! The load: keep-alive connections sending signed requests back to back, and what they measured.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::StatusCode;

use crate::http::{send_keep_alive, snippet, Sender, Signer, REQUEST_TIMEOUT};
use crate::report::{ResponseBytes, RunReport};
use crate::server::{cpu_seconds, Server};
use crate::stats::{latency, round1};

/// One connection's source of request bodies.
pub type BodyFn = Box<dyn FnMut() -> String + Send>;

/// What a workload sends.
#[derive(Clone)]
pub enum Body {
    /// The same body on every request.
    Fixed(Bytes),
    /// A body built per request. Called once per connection with the connection's index, it returns that
    /// connection's generator, which keeps its own state (e.g. its own seeded RNG) between requests.
    PerRequest(Arc<dyn Fn(usize) -> BodyFn + Send + Sync>),
}

impl Body {
    pub fn fixed(body: &str) -> Body {
        Body::Fixed(Bytes::copy_from_slice(body.as_bytes()))
    }

    pub fn per_request(make: impl Fn(usize) -> BodyFn + Send + Sync + 'static) -> Body {
        Body::PerRequest(Arc::new(make))
    }

    pub fn for_connection(&self, index: usize) -> ConnectionBody {
        match self {
            Body::Fixed(body) => ConnectionBody::Fixed(body.clone()),
            Body::PerRequest(make) => ConnectionBody::Generated(make(index)),
        }
    }
}

pub enum ConnectionBody {
    Fixed(Bytes),
    Generated(BodyFn),
}

impl ConnectionBody {
    pub fn next(&mut self) -> Bytes {
        match self {
            ConnectionBody::Fixed(body) => body.clone(),
            ConnectionBody::Generated(make) => Bytes::from(make()),
        }
    }
}

#[derive(Clone)]
pub struct Workload {
    pub name: String,
    pub body: Body,
}

#[derive(Default)]
pub struct WorkerStats {
    pub latencies_ns: Vec<u64>,
    pub by_status: BTreeMap<u16, u64>,
    pub errors: u64,
    pub timeouts: u64,
    pub warmup_non_200: u64,
    pub warmup_errors: u64,
    pub reconnects: u64,
    pub first_problem: Option<String>,
    /// Body sizes of the 200 answers in the measured window: sum, min, max.
    pub ok_bytes: u64,
    pub ok_bytes_min: Option<u64>,
    pub ok_bytes_max: u64,
}

impl WorkerStats {
    pub fn problem(&mut self, text: String) {
        self.first_problem.get_or_insert(text);
    }
}

/// One connection's request loop: sends back-to-back requests until `end`; counts only those sent after `measure`.
pub async fn worker(
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
        let answer = send_keep_alive(&mut conn, addr, req).await;
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

pub async fn load_run(
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

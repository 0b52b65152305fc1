//! The servers the bench starts: `ec2d serve` (and the reference server), their store directories, their
//! memory and CPU.

use std::io::{Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};

use crate::http::{health_request, one_shot, snippet, Signer};
use crate::Result;

/// How long a started server gets to answer its health check.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long after a healthy health check the first DescribeRegions may keep failing.
const FIRST_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Delay between two polls while waiting for the server.
const POLL_INTERVAL: Duration = Duration::from_millis(1);

/// A running `ec2d serve`; killed (and its log removed unless `keep_log`) on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    pub keep_log: bool,
}

pub static SERVER_COUNT: AtomicUsize = AtomicUsize::new(0);

impl Server {
    pub fn spawn(bin: &Path, extra_args: &[String]) -> Result<Server> {
        let port = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()]).args(extra_args);
        Server::spawn_command(cmd, port, &bin.display().to_string())
    }

    /// The bare reference server ([`crate::reference`]): this executable started again.
    pub fn spawn_reference() -> Result<Server> {
        let port = free_port()?;
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(&exe);
        cmd.args(["--reference-server", &port.to_string()]);
        Server::spawn_command(cmd, port, &exe.display().to_string())
    }

    fn spawn_command(mut cmd: Command, port: u16, what: &str) -> Result<Server> {
        let n = SERVER_COUNT.fetch_add(1, Ordering::Relaxed);
        let log = std::env::temp_dir().join(format!("ec2d-bench-{}-{n}.log", std::process::id()));
        let log_file = std::fs::File::create(&log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {what}: {e}"))?;
        Ok(Server { child, port, log, keep_log: false })
    }

    /// Waits until the server accepts connections.
    pub async fn wait_listening(&mut self, limit: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return Err(format!("the server exited ({status})\n{}", self.log_tail()).into());
            }
            if tokio::net::TcpStream::connect(self.addr()).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!("the server did not listen within {limit:?}").into());
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last few lines the server wrote, for error messages.
    pub fn log_tail(&self) -> String {
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

impl Server {
    /// Stops the server as an operator would (SIGTERM) and waits for it to exit: the embedded engine then
    /// closes its data directory cleanly.
    pub fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status()?;
        if !status.success() {
            return Err(format!("kill -TERM {pid} failed").into());
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                return Err(format!("ec2d (pid {pid}) did not stop within 30 s of SIGTERM").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(())
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
pub struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `ec2d serve` flags that choose `--store`'s engine; the embedded engine's directory lives as long as
/// the returned guard (one directory for every server the bench starts, one at a time).
pub fn store_args(store: &str) -> Result<(Vec<String>, Option<TempDir>)> {
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

pub fn free_port() -> Result<u16> {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Polls with fresh connections until a request answers 200; returns the time since `t0`.
pub async fn poll_until_ok(
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
pub async fn start_ready(bin: &Path, server_args: &[String]) -> Result<(Server, Duration, Duration)> {
    let t0 = Instant::now();
    let mut server = Server::spawn(bin, server_args)?;
    let addr = server.addr();
    let health = poll_until_ok(&mut server, t0, HEALTH_TIMEOUT, "GET /_ec2d/health", || health_request(addr)).await?;
    let mut signer = Signer::new(addr);
    let body = Bytes::from_static(crate::WORKLOADS[0].1.as_bytes());
    let first_call =
        poll_until_ok(&mut server, t0, FIRST_CALL_TIMEOUT, "signed DescribeRegions", || signer.request(body.clone()))
            .await?;
    Ok((server, health, first_call))
}

/// CPU time (user + system) of a process in seconds, from /proc/PID/stat.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

/// CPU time of every thread of a process in nanoseconds, from /proc/PID/task/*/schedstat (precise where
/// /proc/PID/stat counts 10 ms ticks): for short phases such as a launch. Threads that ended are not counted.
pub fn cpu_ns_threads(pid: u32) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Some(total)
}

/// VmRSS and VmHWM in KiB from /proc/PID/status.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> Result<u64> {
        let line = status.lines().find(|l| l.starts_with(name)).ok_or(format!("no {name} in /proc/{pid}/status"))?;
        Ok(line[name.len()..].trim().trim_end_matches("kB").trim().parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

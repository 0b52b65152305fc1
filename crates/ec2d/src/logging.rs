//! The log: `tracing` events written to stderr by a background thread, so that a slow or full
//! stderr never stalls a request (lines are dropped rather than waited for when the thread falls
//! far behind). `--log-level` / `EC2D_LOG` takes a level or a `tracing` filter.
//!
//! A request's line is appended to a shared buffer (one short lock, no system call, no wake-up of
//! another thread); the writer thread writes out what gathered every [`GATHER`] or as soon as
//! [`EARLY`] bytes wait, in one write. It sleeps without a timeout while nothing is logged, and the
//! first line after that wakes it.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How long the writer thread lets lines gather before it writes them.
const GATHER: Duration = Duration::from_millis(20);
/// Waiting bytes that make the writer thread write at once.
const EARLY: usize = 64 * 1024;
/// Waiting bytes beyond which new lines are dropped (and counted) rather than kept.
const MOST: usize = 8 * 1024 * 1024;

#[derive(Default)]
struct Waiting {
    lines: Vec<u8>,
    /// Lines dropped since the last write, for want of room.
    dropped: u64,
    /// The writer thread sleeps until a line comes (no timeout).
    idle: bool,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    waiting: Mutex<Waiting>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one formatted line (`tracing-subscriber` writes each event in one call).
    fn append(&self, line: &[u8]) {
        let mut w = self.lock();
        if w.lines.len() + line.len() > MOST {
            w.dropped += 1;
            return;
        }
        let before = w.lines.len();
        w.lines.extend_from_slice(line);
        let reached_early = before < EARLY && w.lines.len() >= EARLY;
        if w.idle || reached_early {
            w.idle = false;
            self.wake.notify_one();
        }
    }
}

/// What the `fmt` subscriber writes each event to.
struct Writer(Arc<Shared>);

/// One event's writer: a handle on the shared buffer.
pub struct LineWriter<'a>(&'a Shared);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Writer {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(&self.0)
    }
}

/// Keeps the writer thread; dropping it writes out every line logged before and stops the thread.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            let mut w = self.shared.lock();
            w.closing = true;
            self.shared.wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: writes what gathered to `out`, one write per batch.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let (dropped, closing) = {
            let mut w = shared.lock();
            while w.lines.is_empty() && w.dropped == 0 && !w.closing {
                w.idle = true;
                w = shared.wake.wait(w).unwrap_or_else(PoisonError::into_inner);
            }
            w.idle = false;
            if !w.closing && w.lines.len() < EARLY {
                // Let the lines of the next few milliseconds join this batch.
                w = shared.wake.wait_timeout(w, GATHER).unwrap_or_else(PoisonError::into_inner).0;
            }
            std::mem::swap(&mut w.lines, &mut batch);
            (std::mem::take(&mut w.dropped), w.closing && w.lines.is_empty())
        };
        if !batch.is_empty() {
            let _ = out.write_all(&batch);
            batch.clear();
        }
        if dropped > 0 {
            let _ = writeln!(out, "ec2d: {dropped} log lines dropped: stderr fell behind");
        }
        if closing {
            let _ = out.flush();
            return;
        }
    }
}

/// The shared buffer and its writer thread, writing to `out`.
fn start(out: impl Write + Send + 'static) -> Result<(Writer, LogGuard), String> {
    let shared = Arc::new(Shared::default());
    let thread = {
        let shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("ec2d-log".into())
            .spawn(move || write_out(&shared, out))
            .map_err(|e| format!("cannot start the log: {e}"))?
    };
    Ok((Writer(Arc::clone(&shared)), LogGuard { shared, thread: Some(thread) }))
}

/// Installs the log; keep the guard until exit, so that its last lines are written.
pub fn init(level: &str) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(level)
        .map_err(|e| format!("--log-level {level:?}: {e} (give error, warn, info, debug or trace)"))?;
    let (writer, guard) = start(std::io::stderr())?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start the log: {e}"))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` whose bytes a test reads afterwards.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(sink: &Sink) -> String {
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn every_line_is_written_whole_and_in_order_by_the_time_the_guard_is_dropped() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let shared = Arc::clone(&writer.0);
                std::thread::spawn(move || {
                    for n in 0..2000 {
                        let mut w = LineWriter(&shared);
                        w.write_all(format!("thread {t} line {n} {}\n", "x".repeat(n % 50)).as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let out = text(&sink);
        assert_eq!(out.lines().count(), 8000);
        for t in 0..4 {
            let mine: Vec<usize> = out
                .lines()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .map(|l| {
                    let n: usize = l.split(' ').nth(3).unwrap().parse().unwrap();
                    assert_eq!(l, format!("thread {t} line {n} {}", "x".repeat(n % 50)));
                    n
                })
                .collect();
            assert_eq!(mine, (0..2000).collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_line_is_written_while_the_server_runs() {
        let sink = Sink::default();
        let (writer, guard) = start(sink.clone()).unwrap();
        LineWriter(&writer.0).write_all(b"first\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !text(&sink).contains("first\n") {
            assert!(std::time::Instant::now() < deadline, "the line was not written");
            std::thread::sleep(Duration::from_millis(5));
        }
        // After an idle spell, the next line wakes the writer thread again.
        LineWriter(&writer.0).write_all(b"second\n").unwrap();
        while !text(&sink).contains("second\n") {
            assert!(std::time::Instant::now() < deadline, "the second line was not written");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(guard);
        assert_eq!(text(&sink), "first\nsecond\n");
    }

    #[test]
    fn lines_beyond_the_room_are_dropped_and_counted() {
        let shared = Shared::default();
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..10 {
            shared.append(&line);
        }
        let w = shared.lock();
        assert_eq!((w.lines.len(), w.dropped), (MOST, 2));
    }
}

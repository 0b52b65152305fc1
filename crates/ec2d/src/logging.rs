//! The log: `tracing` events written to stderr by a background thread, so that a slow or full
//! stderr never stalls a request (lines are dropped rather than waited for when the thread falls
//! far behind). `--log-level` / `EC2D_LOG` takes a level or a `tracing` filter.
//!
//! A request's line is appended to a shared buffer (one short lock, no system call, no wake-up of
//! another thread); the writer thread writes out what gathered every [`GATHER`] or as soon as
//! [`EARLY`] bytes wait, in one write. It sleeps without a timeout while nothing is logged, and the
//! first line after that wakes it.
//!
//! The request line (`ec2d::request` at `INFO`, one per request) is the hot one: [`request_line`]
//! writes it by hand into a buffer each thread reuses, in exactly the form the `fmt` subscriber
//! gives every other event, and appends it to the same shared buffer; the filter still decides
//! whether it is written.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

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
    let shared = Arc::clone(&writer.0);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| format!("cannot start the log: {e}"))?;
    let _ = INSTALLED.set(shared);
    Ok(guard)
}

/// The shared buffer of the `fmt` subscriber that [`init`] installed (none in tests and in a
/// library use without [`init`]: the request line then goes through `tracing` as any event).
static INSTALLED: OnceLock<Arc<Shared>> = OnceLock::new();

/// The fields of one request's log line, in the order the line has them.
pub struct RequestLine<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub action: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub status: u16,
    pub code: &'a str,
    pub latency_us: u64,
    pub request_id: &'a str,
}

impl RequestLine<'_> {
    /// Logs the line at `INFO` (target `ec2d::request`, message `request`), if the filter lets it
    /// through.
    pub fn log(&self) {
        if !tracing::enabled!(target: "ec2d::request", tracing::Level::INFO) {
            return;
        }
        let Some(shared) = INSTALLED.get() else {
            return tracing::info!(
                target: "ec2d::request",
                method = %self.method, path = %self.path, action = %self.action, account = %self.account,
                region = %self.region, status = self.status, code = %self.code, latency_us = self.latency_us,
                request_id = %self.request_id,
                "request"
            );
        };
        thread_local! {
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            // The log's own timestamp, read where the `fmt` subscriber would read it: the wall clock
            // of the line, never a request's time (which comes from `Clock`).
            #[allow(clippy::disallowed_methods)]
            let now = SystemTime::now();
            self.write(&mut line, now);
            shared.append(&line);
        });
    }

    /// The line as the `fmt` subscriber (without colours) writes it, at `now`.
    fn write(&self, out: &mut Vec<u8>, now: SystemTime) {
        write_timestamp(out, now);
        out.extend_from_slice(b"  INFO ec2d::request: request method=");
        out.extend_from_slice(self.method.as_bytes());
        for (name, value) in [
            (&b" path="[..], self.path),
            (b" action=", self.action),
            (b" account=", self.account),
            (b" region=", self.region),
        ] {
            out.extend_from_slice(name);
            out.extend_from_slice(value.as_bytes());
        }
        match self.status {
            // Every HTTP status: its three digits in place in the constant text around them.
            s @ 100..=999 => {
                let mut text = *b" status=000 code=";
                text[8] = b'0' + (s / 100) as u8;
                text[9] = b'0' + (s / 10 % 10) as u8;
                text[10] = b'0' + (s % 10) as u8;
                out.extend_from_slice(&text);
            }
            s => {
                out.extend_from_slice(b" status=");
                write_decimal(out, u64::from(s));
                out.extend_from_slice(b" code=");
            }
        }
        out.extend_from_slice(self.code.as_bytes());
        out.extend_from_slice(b" latency_us=");
        write_decimal(out, self.latency_us);
        out.extend_from_slice(b" request_id=");
        out.extend_from_slice(self.request_id.as_bytes());
        out.push(b'\n');
    }
}

fn write_decimal(out: &mut Vec<u8>, n: u64) {
    write_padded(out, n, 1);
}

/// `n` in at least `width` (at most 20) digits, zero-padded.
fn write_padded(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while n > 0 || digits.len() - at < width {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits[at..]);
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ`, as `tracing-subscriber`'s `SystemTime` timer writes it (the
/// clock is after 1970 and before 10000 here; any other time goes through its own writer).
fn write_timestamp(out: &mut Vec<u8>, now: SystemTime) {
    let since = match now.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) if since.as_secs() < 253_402_300_800 => since,
        _ => {
            use tracing_subscriber::fmt::time::FormatTime;
            let mut text = String::new();
            let _ = tracing_subscriber::fmt::time::SystemTime
                .format_time(&mut tracing_subscriber::fmt::format::Writer::new(&mut text));
            out.extend_from_slice(text.as_bytes());
            return;
        }
    };
    let secs = since.as_secs();
    // The lines of one second share its text, written once per thread and second.
    thread_local! {
        static SECOND: Cell<(u64, [u8; SECOND_BYTES])> = const { Cell::new((u64::MAX, [0; SECOND_BYTES])) };
    }
    SECOND.with(|second| {
        let (at, text) = second.get();
        if at == secs {
            out.extend_from_slice(&text);
            return;
        }
        let start = out.len();
        write_second(out, secs);
        if let Ok(text) = <[u8; SECOND_BYTES]>::try_from(&out[start..]) {
            second.set((secs, text));
        }
    });
    // The six digits of the microseconds (below a million) in place between `.` and `Z`.
    let micros = since.subsec_micros();
    let digit = |unit: u32| b'0' + (micros / unit % 10) as u8;
    out.extend_from_slice(&[b'.', digit(100_000), digit(10_000), digit(1_000), digit(100), digit(10), digit(1), b'Z']);
}

/// The length of `YYYY-MM-DDTHH:MM:SS`.
const SECOND_BYTES: usize = 19;

/// `YYYY-MM-DDTHH:MM:SS` of `secs` after the epoch (before the year 10000).
fn write_second(out: &mut Vec<u8>, secs: u64) {
    let (year, month, day) = ec2_time::civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    write_padded(out, year as u64, 4);
    out.push(b'-');
    write_padded(out, u64::from(month), 2);
    out.push(b'-');
    write_padded(out, u64::from(day), 2);
    out.push(b'T');
    write_padded(out, of_day / 3_600, 2);
    out.push(b':');
    write_padded(out, of_day % 3_600 / 60, 2);
    out.push(b':');
    write_padded(out, of_day % 60, 2);
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

    fn example() -> RequestLine<'static> {
        RequestLine {
            method: "POST",
            path: "/",
            action: "DescribeInstances",
            account: "111122223333",
            region: "us-east-1",
            status: 400,
            code: "InvalidInstanceID.Malformed",
            latency_us: 1207,
            request_id: "76f6c34c-4adf-4607-806a-78f5d7b6bc32",
        }
    }

    #[test]
    fn the_request_line_is_the_one_the_fmt_subscriber_writes() {
        let sink = Sink::default();
        let out = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let dispatch = tracing::Dispatch::new(subscriber);
        let mut mine = Vec::new();
        let lines = [
            example(),
            RequestLine { status: 200, code: "-", latency_us: 0, path: "/x?y", ..example() },
            RequestLine { status: 99, ..example() },
            RequestLine { status: 1000, ..example() },
            RequestLine { status: 999, latency_us: 1_234_567_890, ..example() },
        ];
        for line in lines {
            tracing::dispatcher::with_default(&dispatch, || {
                tracing::info!(
                    target: "ec2d::request",
                    method = %line.method, path = %line.path, action = %line.action, account = %line.account,
                    region = %line.region, status = line.status, code = %line.code, latency_us = line.latency_us,
                    request_id = %line.request_id,
                    "request"
                )
            });
            line.write(&mut mine, SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_165_823));
        }
        let theirs = text(&sink);
        let mine = String::from_utf8(mine).unwrap();
        assert_eq!(theirs.lines().count(), 5, "{theirs}");
        for (a, b) in theirs.lines().zip(mine.lines()) {
            let (a_time, a_rest) = a.split_once(' ').unwrap();
            let (b_time, b_rest) = b.split_once(' ').unwrap();
            assert_eq!(a_rest, b_rest);
            let shape = |t: &str| t.chars().map(|c| if c.is_ascii_digit() { '0' } else { c }).collect::<String>();
            assert_eq!(shape(a_time), shape(b_time), "{a_time} / {b_time}");
        }
        assert!(mine.ends_with("request_id=76f6c34c-4adf-4607-806a-78f5d7b6bc32\n"), "{mine}");
    }

    #[test]
    fn timestamps_are_written_in_microseconds() {
        let at = |secs: u64, micros: u32| {
            let mut out = Vec::new();
            write_timestamp(&mut out, SystemTime::UNIX_EPOCH + Duration::new(secs, micros * 1_000 + 999));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(1_000_000_000, 7), "2001-09-09T01:46:40.000007Z");
        assert_eq!(at(1_709_164_799, 999_999), "2024-02-28T23:59:59.999999Z");
        assert_eq!(at(1_709_164_800 + 86_400, 123_456), "2024-03-01T00:00:00.123456Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000000Z");
        // The same second again (its text reused), then another.
        assert_eq!(at(253_402_300_799, 5), "9999-12-31T23:59:59.000005Z");
        assert_eq!(at(0, 1), "1970-01-01T00:00:00.000001Z");
        let mut n = Vec::new();
        for v in [0, 7, 42, 1_000, u64::MAX] {
            write_decimal(&mut n, v);
            n.push(b' ');
        }
        assert_eq!(String::from_utf8(n).unwrap(), format!("0 7 42 1000 {} ", u64::MAX));
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

//! The embedded, durable engine (the default; `--data-dir`): SQLite, compiled into the binary.
//!
//! Requests run against memory; a writer thread makes their changes durable. The database is in WAL mode with
//! `synchronous=FULL`, so a `COMMIT` returns only once the write-ahead log is synced to the disk (with
//! `fdatasync`: SQLite is built with `HAVE_FDATASYNC`, `.cargo/config.toml`). A lock file keeps a second ec2d
//! process off the directory.
//!
//! - **Reads from memory.** Every (scope, kind) a request touches is loaded whole from the database the first
//!   time (through the writer's connection, between its commits), then kept: its documents, each decoded at most once ([`Doc`]) and
//!   found by a hash of the id ([`Ids`]), and every write since. Counters likewise. The file is read once per
//!   (scope, kind) and otherwise only written.
//! - **One request at a time.** A request runs its body under the engine's mutex against that memory (so
//!   requests are serial, like the memory engine's, and never conflict); its writes are recorded with what
//!   they replaced and undone if it fails, panics included.
//! - **Write-behind, acknowledged only once durable.** A request that succeeds numbers its writes (a write
//!   set) and releases the mutex, then hands the write set to the writer thread; the writer applies every
//!   write set handed over so far, in their numbers' order, in one SQLite transaction (making each
//!   document's JSON in one reused buffer, then binding and stepping prepared statements) and commits (group
//!   commit: one sync of the log for all of them; it writes each document once per commit, `last_changes`). No document's text is allocated on its way to the file: a request
//!   that writes a thousand instances leaves no megabytes of JSON behind for the allocator to keep. A request answers only once every write set numbered before its end is committed, its own and
//!   those it may have read, so nothing it answered about can be lost. The next requests run while the writer
//!   commits.
//! - **Runs on the caller's thread.** The engine never blocks outside [`crate::wait::blocking`], so a request
//!   may run on an async worker ([`Engine::runs_inline_with_hook`]): a read of the file, a wait for a lock
//!   held across one, and a wait for a commit go through the thread's hook, and a request with nothing to
//!   wait for runs without a hand-off to another thread. Under [`crate::wait::deferring`] the wait for a
//!   commit is handed back to be awaited instead ([`Commit`]).
//! - **A failed commit stops the engine.** If the writer cannot commit (a full disk, an IO error), every
//!   request whose writes or reads were in that commit or later fails, and every later request is refused
//!   with the cause until ec2d restarts from what the file kept.
//! - **A (scope, kind) not in memory has no queued writes** (writes go through memory, which is never
//!   evicted), so loading it from the committed file is exact. A reset waits for its own commit before it
//!   empties the memory.
//! - **Startup check.** A file ec2d closed cleanly ([`SqliteEngine::close`], at SIGTERM and SIGINT) is marked
//!   by [`CLEAN_FILE`] with its size and modification time (set back a few seconds first, so that any later
//!   write changes it however coarse the file system's clock); at the next start an unchanged file is trusted.
//!   Any other file (after a crash or a kill, or touched since) gets `PRAGMA quick_check` first, and a
//!   damaged one is refused.
//!
//! - **One connection, held alone.** The file is opened with `locking_mode=EXCLUSIVE`: its locks are taken
//!   once and kept, and the write-ahead log's index is kept in memory, not in a `-shm` file (no lock calls per
//!   commit); no other connection can read the file while the engine has it open.
//!
//! Files in the data directory: `ec2d.sqlite3` (with its `-wal` companion while open; an older ec2d left a
//! `-shm` beside it, which this one does not use),
//! `ec2d.lock`, and `ec2d.clean` between a clean close and the next start.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, TryLockError};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, TryLockError as TryMutexError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use crate::nested::{lookup, lookup_mut, slot, Ids, Key, NestedOf};
use crate::schema;
use crate::wait::{blocking, defer, hooked, Commit};
use crate::{Abort, Doc, DocRef, Engine, StoreError, Tx};

/// The database file inside the data directory.
pub const DB_FILE: &str = "ec2d.sqlite3";
/// The lock file inside the data directory, held for as long as the engine is open.
pub const LOCK_FILE: &str = "ec2d.lock";
/// The mark of a clean close: the database file's size and modification time when ec2d closed it.
pub const CLEAN_FILE: &str = "ec2d.clean";
/// How far back a clean close sets the file's modification time (see [`CLEAN_FILE`]).
const MARK_BACKDATE: Duration = Duration::from_secs(5);

/// The migrations, in order: the schema version is the number applied. Append only; never edit one
/// that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: documents and counters.
    // (Documents are a kilobyte or more: a rowid table with a unique index beats WITHOUT ROWID.)
    "CREATE TABLE docs (
         scope TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
         UNIQUE (scope, kind, id)
     );
     CREATE INDEX docs_by_kind ON docs (kind, scope);
     CREATE TABLE counters (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;",
];

/// Marks the engine slow ([`SqliteEngine::slow`]) while it lives.
struct Slow<'a>(&'a AtomicBool);

impl<'a> Slow<'a> {
    fn mark(flag: &'a AtomicBool) -> Slow<'a> {
        flag.store(true, Ordering::Release);
        Slow(flag)
    }
}

impl Drop for Slow<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The engine's one connection to the file. The file is opened with `locking_mode=EXCLUSIVE` (the process owns it:
/// the lock file keeps any other ec2d off the directory), so SQLite takes its file locks once and keeps them,
/// and keeps the write-ahead log's index in memory rather than in a shared `-shm` file: a commit makes no
/// `fcntl` lock calls. A second connection of this process would find the file locked, so the reads of the
/// file (a (scope, kind) or a counter the first time a request uses it) go through the writer's connection,
/// between its commits: the writer holds the mutex for a whole transaction, so a read never sees one half
/// made, and what a read loads has no queued writes (see [`SqliteEngine`]'s invariants), so it is exact.
type Shared = Arc<Mutex<Connection>>;

fn hold(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The pages of write-ahead log after which a commit copies the log into the file (`wal_autocheckpoint`).
pub const WAL_AUTOCHECKPOINT: u32 = 10_000;

/// SQLite's page cache, as `PRAGMA cache_size` takes it (negative: KiB, not pages): 512 KiB rather than SQLite's
/// 2 MiB. Reads are served from the typed copy in memory, so the cache only holds the pages a commit rewrites
/// (B-tree interior pages and the rows' leaves); the records' leaves are spread over the file, so a bigger
/// cache keeps few of them anyway. Counted (`scripts/write_kernel_counts.py BIN 20000`): 0.05 -> 0.81 `pread64`
/// per embedded write, about 1.5 MiB less RSS with the mixed state.
pub const PAGE_CACHE_KIB: i64 = -512;

/// The most write sets one commit covers.
pub const MAX_BATCH: usize = 256;

pub struct SqliteEngine {
    inner: Mutex<Inner>,
    /// Set while the holder of `inner` may block (it reads the file, or a reset waits for its commit): a
    /// transaction on an async worker then waits for `inner` through its hook rather than spinning.
    slow: AtomicBool,
    log: Arc<Log>,
    writer: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
    dir: PathBuf,
    /// Held (locked) until the engine is dropped.
    _lock: File,
}

struct Inner {
    /// The one connection to the file, shared with the writer thread ([`Shared`]): here it reads what is
    /// committed, a (scope, kind) or a counter the first time it is used.
    conn: Shared,
    cache: Cache,
    /// The number of the last write set handed to the writer.
    queued: u64,
    /// [`SqliteEngine::close`] ran: every request is refused.
    closed: bool,
}

/// The documents and counters in memory: every (scope, kind) and counter used since the engine opened, as the
/// committed file holds them plus every queued write set, with each record decoded at most once ([`Doc`]).
/// The running request's writes are recorded with what they replaced, to be undone if it fails.
#[derive(Default)]
struct Cache {
    /// scope, then kind, then id (looked up by `&str`: a read allocates nothing; a kind's documents found by
    /// a hash of the id, [`Ids`], and listed in id order).
    docs: NestedOf<Kind>,
    counters: HashMap<String, u64>,
    undo: Vec<Undo>,
    /// The documents the running request put, by the address of the [`Doc`] `docs` holds for each, with the
    /// index of its put in the request's write set: a later put or delete of the same document replaces that
    /// change in place ([`collapse`]) rather than adding one. (Addresses are the process's own, not a caller's
    /// text: hashed with foldhash's fast hasher, not SipHash.)
    written: Written,
    /// The counters the running request moved, with the index of the change in its write set (which each later
    /// move updates in place).
    counted: HashMap<String, usize>,
    /// The rowid the next new document gets: above every rowid the file held when the engine opened, and never
    /// given twice, so that a rowid names at most one (scope, kind, id) in the file. A row keeps its rowid while
    /// its document is rewritten; a document deleted and put again gets a new one (the writer moves the row to
    /// it, [`commit`]).
    next_rowid: i64,
}

/// [`Cache::written`].
type Written = HashMap<usize, usize, foldhash::fast::RandomState>;

/// A (scope, kind), as the write sets and the undo log name it: made once, when the (scope, kind) is loaded,
/// and shared by every change to its documents. (A change used to copy the scope, the kind and the id into
/// strings of its own, twice: a settling of 11,000 instances left 66,000 small blocks for other threads to
/// free, among the records' own.)
type Place = Arc<(String, String)>;

/// One (scope, kind) in memory: its documents, and its [`Place`].
#[derive(Default)]
struct Kind {
    place: Place,
    docs: Ids<Row>,
}

/// A document in memory, with the rowid of its row in the file ([`Cache::next_rowid`]): the writer rewrites the
/// row found by its rowid, not by a search of the `(scope, kind, id)` index (7,000 instructions per Stop or Start
/// with the mixed state, more as the file grows). 8 bytes per record, in the slot [`Ids`] keeps anyway.
#[derive(Clone)]
struct Row {
    doc: DocRef,
    rowid: i64,
}

impl Kind {
    fn new(scope: &str, kind: &str, docs: Ids<Row>) -> Kind {
        Kind { place: Arc::new((scope.to_string(), kind.to_string())), docs }
    }
}

/// The longest undo log a request leaves allocated for the next one (a settling of 11,000 instances would
/// otherwise keep its log's 11,000 entries allocated for good).
const UNDO_KEPT: usize = 1024;

enum Undo {
    Doc { place: Place, id: Key, before: Option<Row> },
    Counter { name: String, before: u64 },
}

impl Cache {
    fn clear(&mut self) {
        self.docs.clear();
        self.counters.clear();
        self.end_request();
    }

    /// Forgets the running request's undo log (its writes stay).
    fn end_request(&mut self) {
        self.undo.clear();
        if self.undo.capacity() > UNDO_KEPT {
            self.undo = Vec::new();
        }
        self.counted.clear();
        if !self.written.is_empty() {
            self.written.clear();
            // A launch of a thousand instances leaves a large table: not cleared again for every small request.
            if self.written.capacity() > 1024 {
                self.written.shrink_to(0);
            }
        }
    }

    /// Undoes the running request's writes.
    fn roll_back(&mut self) {
        self.written = Written::default();
        self.counted.clear();
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Doc { place, id, before } => {
                    if let Some(loaded) = lookup_mut(&mut self.docs, &place.0, &place.1) {
                        match before {
                            Some(row) => loaded.docs.insert(id.as_str(), row),
                            None => loaded.docs.remove(id.as_str()),
                        }
                    }
                }
                Undo::Counter { name, before } => {
                    self.counters.insert(name, before);
                }
            }
        }
    }
}

/// One change for the writer to make durable. A document's change carries the rowid its row has in memory
/// ([`Row`]), which the file's row has too unless the batch's earlier changes were left out ([`commit`]).
enum Op {
    Put { place: Place, id: Key, doc: DocRef, rowid: i64 },
    Delete { place: Place, id: Key, rowid: i64 },
    Counter { name: String, value: u64 },
    Reset,
}

/// The hand-off between the requests and the writer thread.
#[derive(Default)]
struct Log {
    state: Mutex<LogState>,
    /// Signalled when a write set is queued, or the engine closes.
    work: Condvar,
    /// Signalled when a commit ends (made or failed), if a thread waits on it ([`LogState::blocked`]).
    committed: Condvar,
}

#[derive(Default)]
struct LogState {
    /// Write sets not yet taken by the writer, with their numbers (ascending). A request numbers its write set
    /// under the engine's lock ([`Log::promise`]) but hands it over after releasing it ([`Log::push`]): the
    /// writer takes write sets in their numbers' order, without gaps.
    queue: VecDeque<(u64, Vec<Op>)>,
    /// The last write set numbered.
    promised: u64,
    /// The last write set the writer took (or dropped after a failed commit).
    taken: u64,
    /// Every write set up to this number is committed.
    durable: u64,
    /// The first write set that could not be committed, and why.
    failed: Option<(u64, String)>,
    /// The tasks awaiting a deferred commit ([`wait::deferring`](crate::wait::deferring)), with the write set
    /// each awaits: woken once it is committed, or a commit failed.
    wakers: Vec<(u64, std::task::Waker)>,
    /// The threads waiting on [`Log::committed`] (a request without a deferred wait, a reset): a commit that
    /// ends signals the condition variable only if there is one (a signal is a system call even when nobody
    /// waits, and on the write path every request's wait is deferred).
    blocked: usize,
    /// Stop once the queue is empty.
    closing: bool,
    /// The writer waits for a write set ready to take ([`LogState::ready`]); false while it works (it looks
    /// at the queue before it waits again, so a push need not wake it).
    writer_waits: bool,
}

impl LogState {
    /// The write sets the writer can take now: the queue's run of numbers that follows the last one taken.
    fn ready(&self) -> usize {
        self.queue.iter().zip(self.taken + 1..).take_while(|((seq, _), next)| seq == next).count()
    }
}

impl Log {
    fn lock(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Numbers a write set (under the engine's lock, in order): it must be [`Log::push`]ed.
    fn promise(&self, seq: u64) {
        self.lock().promised = seq;
    }

    /// Hands write set `seq` (numbered by [`Log::promise`]) to the writer.
    fn push(&self, seq: u64, ops: Vec<Op>) {
        let mut s = self.lock();
        let at = s.queue.iter().rposition(|(queued, _)| *queued < seq).map_or(0, |i| i + 1);
        s.queue.insert(at, (seq, ops));
        // Wake the writer only if it waits and has what it waits for (no wake-up per write set while it
        // commits: it looks at the queue before it waits again).
        let wake = s.writer_waits && s.ready() > 0;
        drop(s);
        if wake {
            self.work.notify_one();
        }
    }

    /// Why the engine refuses requests, if a commit failed.
    fn failure(&self) -> Option<StoreError> {
        self.lock().failed.as_ref().map(|(_, why)| failed_commit(why))
    }

    /// Waits until write set `seq` and every one before it are committed (through the thread's wait hook, if
    /// it has to wait at all).
    fn wait_durable(&self, seq: u64) -> Result<(), StoreError> {
        if self.lock().durable >= seq {
            return Ok(());
        }
        blocking(|| self.wait_durable_blocking(seq))
    }

    fn wait_durable_blocking(&self, seq: u64) -> Result<(), StoreError> {
        let mut s = self.lock();
        loop {
            if s.durable >= seq {
                return Ok(());
            }
            if let Some((first, why)) = &s.failed {
                if seq >= *first {
                    return Err(failed_commit(why));
                }
            }
            s.blocked += 1;
            s = self.committed.wait(s).unwrap_or_else(|poisoned| poisoned.into_inner());
            s.blocked -= 1;
        }
    }
}

/// A request's deferred wait for write set `seq` and every one before it.
struct Awaited {
    log: Arc<Log>,
    seq: u64,
}

impl Commit for Awaited {
    fn poll_durable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), StoreError>> {
        let mut s = self.log.lock();
        if s.durable >= self.seq {
            return std::task::Poll::Ready(Ok(()));
        }
        if let Some((first, why)) = &s.failed {
            if self.seq >= *first {
                return std::task::Poll::Ready(Err(failed_commit(why)));
            }
        }
        if !s.wakers.iter().any(|(seq, w)| *seq == self.seq && w.will_wake(cx.waker())) {
            s.wakers.push((self.seq, cx.waker().clone()));
        }
        std::task::Poll::Pending
    }
}

fn failed_commit(why: &str) -> StoreError {
    StoreError::Engine(format!(
        "sqlite: cannot commit ({why}); the embedded store refuses every request until ec2d restarts from what the \
         file kept"
    ))
}

fn engine_err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("sqlite: {what}: {e}"))
}

impl SqliteEngine {
    /// Opens (creating it if needed) the store in `dir`, and applies pending migrations.
    pub fn open(dir: &Path) -> Result<SqliteEngine, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| engine_err(&format!("cannot create {}", dir.display()), e))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| engine_err(&format!("cannot open {}", lock_path.display()), e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Engine(format!(
                    "{} is in use by another ec2d process (it holds {}); give each process its own --data-dir, \
                     or use --store postgres://... to share state between processes",
                    dir.display(),
                    LOCK_FILE
                )))
            }
            Err(TryLockError::Error(e)) => return Err(engine_err(&format!("cannot lock {}", lock_path.display()), e)),
        }
        let path = dir.join(DB_FILE);
        let closed_cleanly = take_clean_mark(dir, &path);
        let mut conn =
            Connection::open(&path).map_err(|e| engine_err(&format!("cannot open {}", path.display()), e))?;
        // Before the first access of the file, so that the log's index is never put in a shared `-shm` file.
        let locking: String = conn
            .query_row("PRAGMA locking_mode=EXCLUSIVE", [], |r| r.get(0))
            .map_err(|e| engine_err("cannot set locking_mode", e))?;
        if !locking.eq_ignore_ascii_case("exclusive") {
            return Err(StoreError::Engine(format!(
                "sqlite: {} refused exclusive locking (it is {locking})",
                path.display()
            )));
        }
        let mode: String =
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| damaged(&path, &e.to_string()))?;
        if !closed_cleanly {
            check_integrity(&conn, &path)?;
        }
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Engine(format!("sqlite: {} refused WAL mode (it is {mode})", path.display())));
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| engine_err("cannot set synchronous", e))?;
        conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB).map_err(|e| engine_err("cannot set cache_size", e))?;
        // The writer copies the log into the file (SQLite's automatic checkpoint, in the commit that takes the log
        // past this many pages) every 10,000 pages (40 MB of log) rather than SQLite's 1,000: a checkpoint copies
        // each page once, its last version, and the write path keeps rewriting the same few hundred pages (the
        // instances named, their tails, the pools, the counters), so one checkpoint in ten copies about as much.
        // The log is emptied at a clean close; after a crash, opening reads it whole.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)
            .map_err(|e| engine_err("cannot set wal_autocheckpoint", e))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| engine_err("cannot set busy_timeout", e))?;
        migrate(&mut conn)?;
        let last_rowid: i64 = conn
            .query_row("SELECT coalesce(max(rowid), 0) FROM docs", [], |r| r.get(0))
            .map_err(|e| engine_err("cannot read the last rowid", e))?;
        let shared: Shared = Arc::new(Mutex::new(conn));
        let log = Arc::new(Log::default());
        let writer = {
            let log = Arc::clone(&log);
            let conn = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ec2d-sqlite-writer".into())
                .spawn(move || write_loop(&log, &conn))
                .map_err(|e| engine_err("cannot start the writer thread", e))?
        };
        Ok(SqliteEngine {
            inner: Mutex::new(Inner {
                conn: shared,
                cache: Cache { next_rowid: last_rowid + 1, ..Cache::default() },
                queued: 0,
                closed: false,
            }),
            slow: AtomicBool::new(false),
            log,
            writer: Mutex::new(Some(writer)),
            path,
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The engine's lock for a transaction. On a thread with a wait hook (an async worker), a busy lock whose
    /// holder runs from memory is waited for here, as the memory engine's is (a transaction takes
    /// microseconds, and never waits for the disk while it holds the lock but through [`SqliteTx::read`]);
    /// one whose holder may block (it reads the file, or a reset waits for its commit) through the hook. (A
    /// holder that begins to read the file while this thread already waits holds it for that read: once per
    /// (scope, kind) and process.)
    fn lock_for_transaction(&self) -> std::sync::MutexGuard<'_, Inner> {
        if !hooked() {
            return self.lock();
        }
        match self.inner.try_lock() {
            Ok(g) => g,
            Err(TryMutexError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryMutexError::WouldBlock) if self.slow.load(Ordering::Acquire) => blocking(|| self.lock()),
            Err(TryMutexError::WouldBlock) => self.lock(),
        }
    }

    /// Closes the store: refuses every later request, waits for the queued write sets to commit, checkpoints the
    /// write-ahead log into the file, and marks the file closed cleanly ([`CLEAN_FILE`]) unless a commit failed.
    /// Runs at most once (also when the engine is dropped).
    pub fn close(&self) -> Result<(), StoreError> {
        {
            let mut g = self.lock();
            if g.closed {
                return Ok(());
            }
            g.closed = true;
        }
        self.log.lock().closing = true;
        self.log.work.notify_all();
        let writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        // The writer has let go of the connection: closing it removes the write-ahead log.
        let closed = Connection::open_in_memory().map_err(|e| engine_err("cannot close", e))?;
        drop(std::mem::replace(&mut self.lock().conn, Arc::new(Mutex::new(closed))));
        if let Some(e) = self.log.failure() {
            return Err(e);
        }
        write_clean_mark(&self.dir, &self.path)
    }
}

/// `len mtime_ns` of the database file, if it has no write-ahead log left beside it.
fn file_stamp(path: &Path) -> Option<String> {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false) {
        return None;
    }
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    Some(format!("{} {}", meta.len(), mtime.as_nanos()))
}

fn write_clean_mark(dir: &Path, path: &Path) -> Result<(), StoreError> {
    // The file's modification time is set a few seconds before its last write first, so that any later write
    // moves it (the file system's clock may be too coarse to tell a write a millisecond after the close).
    File::options()
        .write(true)
        .open(path)
        .and_then(|f| {
            let last_write = f.metadata()?.modified()?;
            f.set_modified(last_write.checked_sub(MARK_BACKDATE).unwrap_or(last_write))
        })
        .map_err(|e| engine_err("cannot date the file for the clean-close mark", e))?;
    let Some(stamp) = file_stamp(path) else {
        return Ok(());
    };
    std::fs::write(dir.join(CLEAN_FILE), stamp).map_err(|e| engine_err("cannot write the clean-close mark", e))
}

/// Whether the file is as ec2d left it at a clean close. The mark is removed either way: a crash from now on
/// leaves no mark, and the next start checks the file.
fn take_clean_mark(dir: &Path, path: &Path) -> bool {
    let mark_path = dir.join(CLEAN_FILE);
    let Ok(mark) = std::fs::read_to_string(&mark_path) else {
        return false;
    };
    if std::fs::remove_file(&mark_path).is_err() {
        return false;
    }
    file_stamp(path).is_some_and(|stamp| stamp == mark.trim())
}
/// The refusal of a damaged database file, saying what to do about it.
fn damaged(path: &Path, detail: &str) -> StoreError {
    let detail: String = detail.chars().take(300).collect();
    StoreError::Engine(format!(
        "sqlite: {} is damaged ({detail}); ec2d will not serve from it. Restore the data directory from a backup, \
         or move the file (with its -wal and -shm companions) aside to start with an empty store: \
         mv {0} {0}.damaged",
        path.display()
    ))
}

/// `PRAGMA quick_check` over the whole file (every page and record, without the cross-check of
/// indexes against their tables that `integrity_check` adds): a file damaged while the server was
/// stopped is refused at startup rather than answering 500 on some reads later.
fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut problems: Vec<String> = Vec::new();
    let result = conn.prepare("PRAGMA quick_check(5)").and_then(|mut st| {
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        for row in rows {
            problems.push(row?);
        }
        Ok(())
    });
    match result {
        Err(e) => Err(damaged(path, &e.to_string())),
        Ok(()) if problems.len() == 1 && problems[0] == "ok" => Ok(()),
        Ok(()) => Err(damaged(path, &problems.join("; "))),
    }
}

/// Brings the schema up to date, or refuses a store written by a newer ec2d.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| engine_err("cannot begin the migration", e))?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)")
        .map_err(|e| engine_err("cannot create meta", e))?;
    let meta = |key: &str| -> Result<Option<String>, StoreError> {
        tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| engine_err("cannot read meta", e))
    };
    let found = match meta(schema::VERSION_KEY)? {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|e| engine_err(&format!("bad schema version {v:?}"), e))?,
    };
    let written_by = meta(schema::WRITTEN_BY_KEY)?;
    let pending = schema::pending("sqlite", found, written_by.as_deref(), MIGRATIONS.len())?;
    if pending.is_empty() {
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(pending.start) {
        tx.execute_batch(sql).map_err(|e| engine_err(&format!("migration {}", i + 1), e))?;
    }
    let set = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    tx.execute(set, [schema::VERSION_KEY, &MIGRATIONS.len().to_string()])
        .and_then(|_| tx.execute(set, [schema::WRITTEN_BY_KEY, schema::THIS_VERSION]))
        .map_err(|e| engine_err("cannot record the schema version", e))?;
    tx.commit().map_err(|e| engine_err("cannot commit the migration", e))
}

struct SqliteTx<'a> {
    conn: &'a Mutex<Connection>,
    /// The engine's [`SqliteEngine::slow`], set while this transaction reads the file.
    slow: &'a AtomicBool,
    cache: &'a mut Cache,
    /// The request's writes, for the writer.
    ops: &'a mut Vec<Op>,
}

fn q(e: rusqlite::Error) -> StoreError {
    engine_err("query failed", e)
}

impl SqliteTx<'_> {
    /// Reads the committed file: a wait (through the thread's hook), during which the engine is marked slow.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>) -> Result<T, StoreError> {
        let _slow = Slow::mark(self.slow);
        blocking(|| f(&hold(self.conn))).map_err(q)
    }

    /// The documents of (scope, kind), loaded from the committed file the first time. (Once loaded, the scope
    /// and the kind are each looked up twice, not three times as with [`slot`] after the check; a get looks
    /// them up once: a write request finds its kinds a dozen times.)
    fn loaded(&mut self, scope: &str, kind: &str) -> Result<&mut Kind, StoreError> {
        if lookup(&self.cache.docs, scope, kind).is_none() {
            let docs = self.read(|conn| {
                let mut st = conn.prepare_cached("SELECT rowid, id, doc FROM docs WHERE scope = ?1 AND kind = ?2")?;
                let rows = st.query_map([scope, kind], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })?;
                let mut docs = Ids::for_kind(kind);
                for row in rows {
                    let (rowid, id, text) = row?;
                    docs.insert(&id, Row { doc: Doc::new(text), rowid });
                }
                Ok(docs)
            })?;
            *slot(&mut self.cache.docs, scope, kind) = Kind::new(scope, kind, docs);
        }
        Ok(lookup_mut(&mut self.cache.docs, scope, kind).expect("loaded above"))
    }

    fn remember(&mut self, place: Place, id: Key, before: Option<Row>) {
        self.cache.undo.push(Undo::Doc { place, id, before });
    }
}

/// The address that identifies a document in memory while it is alive ([`Cache::written`]).
fn address(doc: &DocRef) -> usize {
    Arc::as_ptr(doc) as usize
}

/// If `before` (what a put or delete of (scope, kind, id) just replaced in memory) was put by the running
/// request, replaces that put in the request's write set with `change` and returns where (`Ok`): the undo
/// log already holds what the document was before the request, and the replaced version is freed now, on
/// this thread, rather than travelling to the writer, which writes only a document's last change anyway.
/// (A Spot request's fulfilment launches one instance at a time, each rewriting the subnet's record and
/// the capacity pool's: a request fulfilling fifty handed the writer fifty copies of each to free on its
/// own thread.) Otherwise gives `change` back (`Err`) for the caller to add, and to remember `before`.
fn collapse(
    written: &mut Written,
    ops: &mut [Op],
    (scope, kind, id): (&str, &str, &str),
    before: &Option<Row>,
    change: Op,
) -> Result<usize, Op> {
    let Some((key, at)) = before.as_ref().and_then(|b| written.get(&address(&b.doc)).map(|at| (address(&b.doc), *at)))
    else {
        return Err(change);
    };
    // One `Doc` may be held under two ids (a document made from text is kept as it is): the put replaced
    // must be of this very document.
    match ops.get(at) {
        Some(Op::Put { place, id: i, .. }) if (place.0.as_str(), place.1.as_str(), i.as_str()) == (scope, kind, id) => {
            written.remove(&key);
            ops[at] = change;
            Ok(at)
        }
        _ => Err(change),
    }
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        if let Some(loaded) = lookup(&self.cache.docs, scope, kind) {
            return Ok(loaded.docs.get(id).map(|row| row.doc.clone()));
        }
        Ok(self.loaded(scope, kind)?.docs.get(id).map(|row| row.doc.clone()))
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        // Memory keeps the record without its text; the writer makes the text for the file.
        let kept = Doc::compact(&doc);
        let now = address(&kept);
        let fresh = self.cache.next_rowid;
        let loaded = self.loaded(scope, kind)?;
        // A document rewritten keeps its row's rowid; a new one takes the next.
        let (before, rowid) = match loaded.docs.get_mut(id) {
            Some(row) => {
                let rowid = row.rowid;
                (Some(std::mem::replace(row, Row { doc: kept, rowid })), rowid)
            }
            None => {
                loaded.docs.insert(id, Row { doc: kept, rowid: fresh });
                (None, fresh)
            }
        };
        let place = Arc::clone(&loaded.place);
        if before.is_none() {
            self.cache.next_rowid += 1;
        }
        let key = Key::new(id);
        let put = Op::Put { place: Arc::clone(&place), id: key.clone(), doc, rowid };
        let at = match collapse(&mut self.cache.written, self.ops, (scope, kind, id), &before, put) {
            Ok(at) => at,
            Err(put) => {
                self.remember(place, key, before);
                self.ops.push(put);
                self.ops.len() - 1
            }
        };
        self.cache.written.insert(now, at);
        Ok(())
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let loaded = self.loaded(scope, kind)?;
        let Some(before) = loaded.docs.take(id) else {
            return Ok(false);
        };
        let place = Arc::clone(&loaded.place);
        let rowid = before.rowid;
        let before = Some(before);
        let key = Key::new(id);
        let delete = Op::Delete { place: Arc::clone(&place), id: key.clone(), rowid };
        if let Err(delete) = collapse(&mut self.cache.written, self.ops, (scope, kind, id), &before, delete) {
            self.remember(place, key, before);
            self.ops.push(delete);
        }
        Ok(true)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        Ok(self.loaded(scope, kind)?.docs.iter().map(|(id, row)| (id.to_string(), row.doc.clone())).collect())
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        let in_file = self.read(|conn| {
            let mut st = conn.prepare_cached("SELECT DISTINCT scope FROM docs WHERE kind = ?1")?;
            let rows = st.query_map([kind], |r| r.get::<_, String>(0))?;
            rows.collect::<Result<Vec<String>, _>>()
        })?;
        let mut scopes = std::collections::BTreeSet::new();
        // The file's scopes, as memory has them where it holds the (scope, kind).
        for scope in in_file {
            match lookup(&self.cache.docs, &scope, kind) {
                Some(loaded) if loaded.docs.is_empty() => {}
                _ => {
                    scopes.insert(scope);
                }
            }
        }
        for (scope, kinds) in &self.cache.docs {
            if kinds.get(kind).is_some_and(|loaded| !loaded.docs.is_empty()) {
                scopes.insert(scope.clone());
            }
        }
        Ok(scopes.into_iter().collect())
    }

    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        let current = match self.cache.counters.get(name) {
            Some(v) => *v,
            None => {
                let v: Option<i64> = self.read(|conn| {
                    conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")
                        .and_then(|mut st| st.query_row([name], |r| r.get(0)).optional())
                })?;
                u64::try_from(v.unwrap_or(0)).map_err(|e| engine_err(&format!("counter {name} is {v:?}"), e))?
            }
        };
        let next = current + 1;
        match self.cache.counters.get_mut(name) {
            Some(value) => *value = next,
            None => {
                self.cache.counters.insert(name.to_string(), next);
            }
        }
        // Moved before by this request: its change in the write set takes the new value, and the undo log
        // already holds the value before the request (a settling that records an event per instance moves the
        // event counter eleven thousand times in one request).
        if let Some(Op::Counter { value, .. }) = self.cache.counted.get(name).and_then(|at| self.ops.get_mut(*at)) {
            *value = next;
            return Ok(next);
        }
        self.cache.undo.push(Undo::Counter { name: name.into(), before: current });
        self.ops.push(Op::Counter { name: name.into(), value: next });
        self.cache.counted.insert(name.to_string(), self.ops.len() - 1);
        Ok(next)
    }
}

/// The writer thread: commits the queued write sets, as many as are queued (up to [`MAX_BATCH`]) in one
/// transaction, until the engine closes; then checkpoints the write-ahead log into the file.
fn write_loop(log: &Log, conn: &Mutex<Connection>) {
    // The JSON of each document put is made here, in this one buffer, and bound from it.
    let mut buf = Vec::with_capacity(8192);
    loop {
        let batch: Vec<(u64, Vec<Op>)> = {
            let mut s = log.lock();
            loop {
                if s.failed.is_some() {
                    // Built on writes that were lost: they fail with them.
                    s.queue.clear();
                } else if s.ready() > 0 {
                    break;
                }
                if s.closing && (s.taken == s.promised || s.failed.is_some()) {
                    break;
                }
                s.writer_waits = true;
                s = log.work.wait(s).unwrap_or_else(|poisoned| poisoned.into_inner());
                s.writer_waits = false;
            }
            let mut batch = Vec::new();
            while batch.len() < MAX_BATCH && s.queue.front().is_some_and(|(first, _)| *first == s.taken + 1) {
                let write_set = s.queue.pop_front().expect("the front is there");
                s.taken = write_set.0;
                batch.push(write_set);
            }
            if batch.is_empty() {
                break;
            }
            batch
        };
        let (first, last) = (batch[0].0, batch[batch.len() - 1].0);
        let result = match catch_unwind(AssertUnwindSafe(|| commit(&mut hold(conn), &batch, &mut buf))) {
            Ok(result) => result,
            Err(_) => Err("the writer panicked".to_string()),
        };
        drop(batch);
        let mut s = log.lock();
        match result {
            Ok(()) => s.durable = last,
            Err(why) => {
                tracing::error!("sqlite: commit of write sets {first}..={last} failed: {why}");
                if s.failed.is_none() {
                    s.failed = Some((first, why));
                }
                s.queue.clear();
            }
        }
        let (durable, failed, blocked) = (s.durable, s.failed.is_some(), s.blocked > 0);
        let mut woken = Vec::new();
        s.wakers.retain(|(seq, waker)| {
            let done = failed || *seq <= durable;
            if done {
                woken.push(waker.clone());
            }
            !done
        });
        drop(s);
        if blocked {
            log.committed.notify_all();
        }
        woken.into_iter().for_each(std::task::Waker::wake);
    }
    if log.lock().failed.is_none() {
        if let Err(e) = hold(conn).execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            tracing::warn!("sqlite: checkpoint at close failed: {e}");
        }
    }
}

/// The changes of a batch that reach the file, in their order: each document's and counter's last one, after
/// the last reset. (The write sets of concurrent requests often change the same few documents, a capacity
/// pool or a counter each: written once per commit, not once per request, as the earlier writes would be
/// overwritten in the same transaction anyway.)
fn last_changes<'a>(ops: impl DoubleEndedIterator<Item = &'a Op>) -> Vec<&'a Op> {
    let ops: Vec<&Op> = ops.collect();
    // Sized once for the batch (growing the set took more instructions than its lookups).
    let mut docs = std::collections::HashSet::with_capacity(ops.len());
    let mut counters = std::collections::HashSet::new();
    let mut last = Vec::with_capacity(ops.len());
    for op in ops.into_iter().rev() {
        let latest = match op {
            Op::Put { place, id, .. } | Op::Delete { place, id, .. } => {
                docs.insert(DocName { scope: &place.0, kind: &place.1, id: id.as_bytes() })
            }
            Op::Counter { name, .. } => counters.insert(name.as_str()),
            Op::Reset => {
                last.push(op);
                break;
            }
        };
        if latest {
            last.push(op);
        }
    }
    last.reverse();
    last
}

/// A document's (scope, kind, id) in [`last_changes`], hashed by its id alone (the scope and kind are compared):
/// a document's id is short and nearly always tells it apart (an instance's event log and tail share its id), and
/// hashing the scope and kind as well was most of the set's cost.
#[derive(PartialEq, Eq)]
struct DocName<'a> {
    scope: &'a str,
    kind: &'a str,
    id: &'a [u8],
}

impl std::hash::Hash for DocName<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// Text known to be UTF-8 (a document's JSON, `Doc::json_in`, or an id's bytes, made from a `&str`), bound as text
/// without checking it again.
struct Utf8Text<'a>(&'a [u8]);

impl rusqlite::ToSql for Utf8Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(self.0)))
    }
}

/// Applies write sets in one transaction and commits it (durable when it returns `Ok`).
///
/// A document's row is found by the rowid memory holds for it ([`Row`]), and checked to be the document's: a row
/// found so is rewritten without a search of the `(scope, kind, id)` index. Otherwise (a new document, or one
/// deleted and put again, whose earlier changes in the batch [`last_changes`] left out) the row is found by its
/// name and moved to memory's rowid, or inserted with it, so that the next change finds it by rowid.
fn commit(conn: &mut Connection, batch: &[(u64, Vec<Op>)], buf: &mut Vec<u8>) -> Result<(), String> {
    let e = |e: rusqlite::Error| e.to_string();
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(e)?;
    {
        // `+` keeps the planner on the rowid: the columns are only checked, on the row the rowid found.
        let mut update = tx
            .prepare_cached("UPDATE docs SET doc = ?4 WHERE rowid = ?5 AND +scope = ?1 AND +kind = ?2 AND +id = ?3")
            .map_err(e)?;
        let mut update_named = tx
            .prepare_cached("UPDATE docs SET rowid = ?5, doc = ?4 WHERE scope = ?1 AND kind = ?2 AND id = ?3")
            .map_err(e)?;
        let mut insert = tx
            .prepare_cached("INSERT INTO docs (rowid, scope, kind, id, doc) VALUES (?5, ?1, ?2, ?3, ?4)")
            .map_err(e)?;
        let mut delete = tx
            .prepare_cached("DELETE FROM docs WHERE rowid = ?4 AND +scope = ?1 AND +kind = ?2 AND +id = ?3")
            .map_err(e)?;
        let mut delete_named =
            tx.prepare_cached("DELETE FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3").map_err(e)?;
        let mut counter = tx
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .map_err(e)?;
        for op in last_changes(batch.iter().flat_map(|(_, ops)| ops)) {
            match op {
                Op::Put { place, id, doc, rowid } => {
                    let text = Utf8Text(doc.json_in(buf).map_err(|err| err.to_string())?);
                    let (scope, kind, name) = (place.0.as_str(), place.1.as_str(), Utf8Text(id.as_bytes()));
                    if update.execute(rusqlite::params![scope, kind, name, text, rowid]).map_err(e)? == 0
                        && update_named.execute(rusqlite::params![scope, kind, name, text, rowid]).map_err(e)? == 0
                    {
                        insert.execute(rusqlite::params![scope, kind, name, text, rowid]).map_err(e)?;
                    }
                }
                Op::Delete { place, id, rowid } => {
                    let (scope, kind, name) = (place.0.as_str(), place.1.as_str(), Utf8Text(id.as_bytes()));
                    if delete.execute(rusqlite::params![scope, kind, name, rowid]).map_err(e)? == 0 {
                        delete_named.execute(rusqlite::params![scope, kind, name]).map_err(e)?;
                    }
                }
                Op::Counter { name, value } => {
                    let value = i64::try_from(*value).map_err(|err| err.to_string())?;
                    counter.execute(rusqlite::params![name, value]).map_err(e)?;
                }
                Op::Reset => tx.execute_batch("DELETE FROM docs; DELETE FROM counters").map_err(e)?,
            }
        }
    }
    tx.commit().map_err(e)
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        if let Some(e) = self.log.failure() {
            return Err(Abort::Store(e));
        }
        let mut g = self.lock_for_transaction();
        if g.closed {
            return Err(Abort::Store(StoreError::Engine("sqlite: the store is closed".into())));
        }
        let mut ops = Vec::new();
        let outcome = {
            let inner = &mut *g;
            let mut tx = SqliteTx { conn: &inner.conn, slow: &self.slow, cache: &mut inner.cache, ops: &mut ops };
            catch_unwind(AssertUnwindSafe(|| body(&mut tx)))
        };
        if matches!(outcome, Ok(Ok(()))) {
            g.cache.end_request();
            if !ops.is_empty() {
                g.queued += 1;
                self.log.promise(g.queued);
            }
        } else {
            g.cache.roll_back();
        }
        // Whatever the request read may come from write sets not yet committed: it answers once they are.
        let wait_for = g.queued;
        drop(g);
        if !ops.is_empty() && matches!(outcome, Ok(Ok(()))) {
            self.log.push(wait_for, ops);
        }
        let durable = if self.log.lock().durable >= wait_for
            || !defer(|| Box::new(Awaited { log: Arc::clone(&self.log), seq: wait_for }))
        {
            self.log.wait_durable(wait_for)
        } else {
            Ok(())
        };
        match outcome {
            Err(panic) => resume_unwind(panic),
            Ok(result) => {
                durable?;
                result
            }
        }
    }

    fn ping(&self) -> Result<(), StoreError> {
        if let Some(e) = self.log.failure() {
            return Err(e);
        }
        blocking(|| {
            let g = self.lock();
            let conn = hold(&g.conn);
            conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0)).map(drop).map_err(q)
        })
    }

    fn reset(&self) -> Result<(), StoreError> {
        blocking(|| {
            let mut g = self.lock();
            if g.closed {
                return Err(StoreError::Engine("sqlite: the store is closed".into()));
            }
            // Nothing may be loaded from the file until the reset is committed: hold the mutex until then.
            let _slow = Slow::mark(&self.slow);
            g.queued += 1;
            let seq = g.queued;
            self.log.promise(seq);
            self.log.push(seq, vec![Op::Reset]);
            let result = self.log.wait_durable(seq);
            g.cache.clear();
            result
        })
    }

    fn runs_inline_with_hook(&self) -> bool {
        true
    }

    fn close(&self) -> Result<(), StoreError> {
        SqliteEngine::close(self)
    }
}

impl Drop for SqliteEngine {
    fn drop(&mut self) {
        if let Err(e) = SqliteEngine::close(self) {
            tracing::warn!("sqlite: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(kind: &str) -> Place {
        Arc::new(("s".to_string(), kind.to_string()))
    }

    fn put(id: &str, n: u64) -> Op {
        let doc = Doc::new(format!("{{\"n\":{n}}}"));
        Op::Put { place: place("k"), id: Key::new(id), doc, rowid: 0 }
    }

    fn delete(kind: &str, id: &str) -> Op {
        Op::Delete { place: place(kind), id: Key::new(id), rowid: 0 }
    }

    fn show(ops: &[&Op]) -> Vec<String> {
        ops.iter()
            .map(|op| match op {
                Op::Put { place, id, doc, .. } => {
                    let (scope, kind, id) = (&place.0, &place.1, id.as_str());
                    format!("put {scope}/{kind}/{id} {}", doc.text_in(&mut Vec::new()).unwrap())
                }
                Op::Delete { place, id, .. } => format!("delete {}/{}/{}", place.0, place.1, id.as_str()),
                Op::Counter { name, value } => format!("counter {name} {value}"),
                Op::Reset => "reset".into(),
            })
            .collect()
    }

    #[test]
    fn a_batch_writes_each_document_and_counter_once_with_its_last_change() {
        let batch = [
            put("a", 1),
            Op::Counter { name: "c".into(), value: 1 },
            put("b", 1),
            delete("k", "b"),
            put("a", 2),
            Op::Counter { name: "c".into(), value: 2 },
            Op::Counter { name: "d".into(), value: 7 },
            delete("other", "a"),
        ];
        assert_eq!(
            show(&last_changes(batch.iter())),
            ["delete s/k/b", r#"put s/k/a {"n":2}"#, "counter c 2", "counter d 7", "delete s/other/a"]
        );
        // Deleted, then put again: the put.
        let batch = [delete("k", "a"), put("a", 3)];
        assert_eq!(show(&last_changes(batch.iter())), [r#"put s/k/a {"n":3}"#]);
    }

    #[test]
    fn a_reset_voids_the_changes_before_it() {
        let batch = [put("a", 1), Op::Counter { name: "c".into(), value: 1 }, Op::Reset, put("b", 1), put("b", 2)];
        assert_eq!(show(&last_changes(batch.iter())), ["reset", r#"put s/k/b {"n":2}"#]);
        let batch = [put("a", 1), Op::Reset, put("a", 2), Op::Reset];
        assert_eq!(show(&last_changes(batch.iter())), ["reset"]);
    }

    /// The compiled-in SQLite syncs with fdatasync (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`). Built without
    /// `HAVE_FDATASYNC`, SQLite's `fdatasync` is a macro for `fsync`, and nothing in this test binary names the
    /// C library's `fdatasync` (the name would be missing from its dynamic symbols).
    #[cfg(target_os = "linux")]
    #[test]
    fn sqlite_syncs_with_fdatasync() {
        let exe = std::fs::read(std::env::current_exe().expect("the test binary")).expect("readable");
        assert!(
            exe.split(|b| *b == 0).any(|name| name == b"fdatasync"),
            "SQLite was built without HAVE_FDATASYNC: it would fsync the write-ahead log (see .cargo/config.toml)"
        );
    }

    fn text(n: u64) -> DocRef {
        Doc::new(format!("{{\"n\":{n}}}"))
    }

    /// Runs `body` as a request's transaction on a cache whose (s, k) holds `stored` and counters c and d are 0
    /// (and no file behind it),
    /// and gives back the cache and the request's write set.
    fn request(stored: &[(&str, DocRef)], body: impl FnOnce(&mut SqliteTx<'_>)) -> (Cache, Vec<Op>) {
        let conn = Connection::open_in_memory().unwrap();
        let slow = AtomicBool::new(false);
        let mut cache = Cache { next_rowid: 100, ..Cache::default() };
        cache.counters.extend([("c".to_string(), 0), ("d".to_string(), 0)]);
        let mut docs = Ids::default();
        for (rowid, (id, doc)) in (1..).zip(stored) {
            docs.insert(id, Row { doc: doc.clone(), rowid });
        }
        *slot(&mut cache.docs, "s", "k") = Kind::new("s", "k", docs);
        let mut ops = Vec::new();
        body(&mut SqliteTx { conn: &Mutex::new(conn), slow: &slow, cache: &mut cache, ops: &mut ops });
        (cache, ops)
    }

    fn now(cache: &Cache, id: &str) -> Option<String> {
        let doc = &lookup(&cache.docs, "s", "k")?.docs.get(id)?.doc;
        Some(doc.text_in(&mut Vec::new()).unwrap().to_string())
    }

    #[test]
    fn a_request_hands_the_writer_one_change_per_document_and_frees_the_versions_between() {
        let first = text(1);
        let (mut cache, ops) = request(&[("a", text(0))], |tx| {
            tx.put("s", "k", "a", first.clone()).unwrap();
            tx.put("s", "k", "b", text(1)).unwrap();
            tx.put("s", "k", "a", text(2)).unwrap();
            assert_eq!(
                Arc::strong_count(&first),
                1,
                "the replaced version is held by neither memory nor the write set"
            );
            assert!(tx.delete("s", "k", "b").unwrap());
            tx.put("s", "k", "b", text(3)).unwrap();
            tx.put("s", "k", "a", text(4)).unwrap();
            assert!(tx.delete("s", "k", "a").unwrap());
            tx.put("s", "k", "a", text(5)).unwrap();
        });
        let ops: Vec<&Op> = ops.iter().collect();
        assert_eq!(show(&ops), ["delete s/k/a", "delete s/k/b", r#"put s/k/b {"n":3}"#, r#"put s/k/a {"n":5}"#]);
        assert_eq!(show(&last_changes(ops.into_iter())), [r#"put s/k/b {"n":3}"#, r#"put s/k/a {"n":5}"#]);
        assert_eq!(
            (now(&cache, "a").as_deref(), now(&cache, "b").as_deref()),
            (Some(r#"{"n":5}"#), Some(r#"{"n":3}"#))
        );
        // Undone, the request leaves memory as it found it.
        cache.roll_back();
        assert_eq!((now(&cache, "a").as_deref(), now(&cache, "b")), (Some(r#"{"n":0}"#), None));
        assert!(cache.written.is_empty());
    }

    #[test]
    fn a_request_hands_the_writer_one_change_per_counter() {
        let (mut cache, ops) = request(&[], |tx| {
            assert_eq!(tx.next_counter("c").unwrap(), 1);
            tx.put("s", "k", "a", text(1)).unwrap();
            assert_eq!(tx.next_counter("c").unwrap(), 2);
            assert_eq!(tx.next_counter("d").unwrap(), 1);
            assert_eq!(tx.next_counter("c").unwrap(), 3);
        });
        let ops: Vec<&Op> = ops.iter().collect();
        assert_eq!(show(&ops), ["counter c 3", r#"put s/k/a {"n":1}"#, "counter d 1"]);
        assert_eq!((cache.counters.get("c"), cache.counters.get("d")), (Some(&3), Some(&1)));
        cache.roll_back();
        assert_eq!((cache.counters.get("c"), cache.counters.get("d")), (Some(&0), Some(&0)));
        assert!(cache.counted.is_empty());
    }

    #[test]
    fn one_doc_put_under_two_ids_stays_two_changes() {
        let shared = text(1);
        let (mut cache, ops) = request(&[], |tx| {
            tx.put("s", "k", "x", shared.clone()).unwrap();
            tx.put("s", "k", "y", shared.clone()).unwrap();
            tx.put("s", "k", "x", text(2)).unwrap();
            tx.put("s", "k", "y", text(3)).unwrap();
        });
        let ops: Vec<&Op> = ops.iter().collect();
        // y's second put replaces its first in place; x's first put is y's document, so x's second is added.
        assert_eq!(show(&last_changes(ops.into_iter())), [r#"put s/k/y {"n":3}"#, r#"put s/k/x {"n":2}"#]);
        cache.roll_back();
        assert_eq!((now(&cache, "x"), now(&cache, "y")), (None, None));
    }

    #[test]
    fn the_connection_holds_the_file_alone_with_its_page_cache_and_checkpoint_period() {
        let dir = std::env::temp_dir().join(format!("ec2d-sqlite-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = SqliteEngine::open(&dir).unwrap();
        {
            let g = engine.lock();
            let conn = hold(&g.conn);
            let pages: u32 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).unwrap();
            assert_eq!(pages, WAL_AUTOCHECKPOINT);
            let locking: String = conn.query_row("PRAGMA locking_mode", [], |r| r.get(0)).unwrap();
            assert_eq!(locking, "exclusive");
            let cache: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0)).unwrap();
            assert_eq!(cache, PAGE_CACHE_KIB);
        }
        drop(engine);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A connection to a new file with the engine's schema.
    fn new_file() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    fn rows(conn: &Connection) -> Vec<(i64, String, String)> {
        let mut st = conn.prepare("SELECT rowid, id, doc FROM docs ORDER BY rowid").unwrap();
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    }

    fn row(rowid: i64, id: &str, n: u64) -> (i64, String, String) {
        (rowid, id.to_string(), format!("{{\"n\":{n}}}"))
    }

    fn put_at(id: &str, n: u64, rowid: i64) -> Op {
        Op::Put { place: place("k"), id: Key::new(id), doc: text(n), rowid }
    }

    #[test]
    fn the_writer_finds_a_row_by_its_rowid_and_moves_a_row_found_by_name_to_it() {
        let (mut conn, mut buf) = (new_file(), Vec::new());
        commit(&mut conn, &[(1, vec![put_at("a", 1, 5), put_at("b", 1, 6)])], &mut buf).unwrap();
        assert_eq!(rows(&conn), [row(5, "a", 1), row(6, "b", 1)], "inserted with memory's rowids");
        commit(&mut conn, &[(2, vec![put_at("a", 2, 5)])], &mut buf).unwrap();
        assert_eq!(rows(&conn), [row(5, "a", 2), row(6, "b", 1)], "rewritten in place");
        // Deleted and put again in one batch: only the put reaches the file, with the new rowid memory gave it.
        let batch =
            [(3, vec![Op::Delete { place: place("k"), id: Key::new("b"), rowid: 6 }]), (4, vec![put_at("b", 3, 7)])];
        commit(&mut conn, &batch, &mut buf).unwrap();
        assert_eq!(rows(&conn), [row(5, "a", 2), row(7, "b", 3)], "the row moved to the new rowid");
        commit(&mut conn, &[(5, vec![put_at("b", 4, 7)])], &mut buf).unwrap();
        assert_eq!(rows(&conn), [row(5, "a", 2), row(7, "b", 4)]);
        // A rowid that is another document's row never writes over it.
        assert!(commit(&mut conn, &[(6, vec![put_at("a", 9, 7)])], &mut buf).is_err());
        assert_eq!(rows(&conn), [row(5, "a", 2), row(7, "b", 4)], "the failed commit left the file as it was");
        // A delete finds its row by rowid, or else by name.
        commit(&mut conn, &[(7, vec![Op::Delete { place: place("k"), id: Key::new("a"), rowid: 99 }])], &mut buf)
            .unwrap();
        commit(&mut conn, &[(8, vec![Op::Delete { place: place("k"), id: Key::new("b"), rowid: 7 }])], &mut buf)
            .unwrap();
        assert_eq!(rows(&conn), []);
    }

    #[test]
    fn a_rewrite_by_rowid_searches_no_index() {
        let conn = new_file();
        let plan = |sql: &str| -> String {
            let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let nulls = std::iter::repeat_n(rusqlite::types::Null, st.parameter_count());
            let rows = st.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap();
            rows.collect::<Result<Vec<_>, _>>().unwrap().join("; ")
        };
        for sql in [
            "UPDATE docs SET doc = ?4 WHERE rowid = ?5 AND +scope = ?1 AND +kind = ?2 AND +id = ?3",
            "DELETE FROM docs WHERE rowid = ?4 AND +scope = ?1 AND +kind = ?2 AND +id = ?3",
        ] {
            let plan = plan(sql);
            assert!(plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"), "{sql}: {plan}");
        }
    }

    #[test]
    fn a_document_keeps_its_rowid_while_rewritten_and_a_new_one_takes_the_next() {
        let (cache, ops) = request(&[("a", text(0))], |tx| {
            tx.put("s", "k", "a", text(1)).unwrap();
            tx.put("s", "k", "b", text(1)).unwrap();
            assert!(tx.delete("s", "k", "a").unwrap());
            tx.put("s", "k", "a", text(2)).unwrap();
        });
        let rowids: Vec<(String, i64)> = ops
            .iter()
            .map(|op| match op {
                Op::Put { id, rowid, .. } => (format!("put {}", id.as_str()), *rowid),
                Op::Delete { id, rowid, .. } => (format!("delete {}", id.as_str()), *rowid),
                _ => unreachable!(),
            })
            .collect();
        // a was row 1 in the file: rewritten there, deleted from there; put again, it is a new row.
        let expect = [("delete a", 1), ("put b", 100), ("put a", 101)];
        assert_eq!(rowids, expect.map(|(op, rowid)| (op.to_string(), rowid)));
        assert_eq!(cache.next_rowid, 102);
        assert_eq!(lookup(&cache.docs, "s", "k").unwrap().docs.get("a").unwrap().rowid, 101);
    }

    #[test]
    fn only_write_sets_in_sequence_are_ready() {
        let mut s = LogState { taken: 4, ..LogState::default() };
        assert_eq!(s.ready(), 0);
        s.queue.extend([(5, vec![]), (6, vec![]), (8, vec![])]);
        assert_eq!(s.ready(), 2, "7 is numbered but not handed over yet");
        s.queue.insert(2, (7, vec![]));
        assert_eq!(s.ready(), 4);
        s.taken = 5;
        s.queue.pop_front();
        assert_eq!(s.ready(), 3);
    }
}

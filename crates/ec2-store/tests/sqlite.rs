//! The embedded engine (SQLite, the default) against the store conformance suite, plus what only a
//! persistent engine has: reopening, schema versions, the data directory's lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use ec2_store::conformance::Thing;
use ec2_store::sqlite::{SqliteEngine, CLEAN_FILE, DB_FILE};
use ec2_store::{Store, StoreError};

/// A fresh, empty directory under cargo's per-target scratch space.
fn fresh_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sqlite-tests").join(format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn make() -> Store {
    Store::sqlite(&fresh_dir()).expect("open a fresh sqlite store")
}

mod conformance {
    ec2_store::conformance_suite!(super::make);
}

fn thing(id: &str, n: u64) -> Thing {
    Thing { id: id.into(), n }
}

#[test]
fn reopening_finds_every_committed_change() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
        store.transact(|tx| tx.next_counter("c")).unwrap();
        let _ = store.transact(|tx| {
            tx.put("s", &thing("rolled-back", 1))?;
            Err::<(), _>(StoreError::Engine("no".into()))
        });
    }
    let store = Store::sqlite(&dir).unwrap();
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(all, [thing("a", 1)]);
    assert_eq!(store.transact(|tx| tx.next_counter("c")).unwrap(), 2);
}

#[test]
fn a_second_process_on_the_same_directory_is_refused() {
    let dir = fresh_dir();
    let first = SqliteEngine::open(&dir).unwrap();
    let Err(e) = SqliteEngine::open(&dir) else { panic!("a second open of {} succeeded", dir.display()) };
    assert!(e.to_string().contains("in use by another ec2d process"), "{e}");
    drop(first);
    SqliteEngine::open(&dir).expect("the lock is released with the engine");
}

#[test]
fn the_engine_holds_the_file_alone_and_keeps_the_log_index_in_memory() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
        assert!(dir.join(format!("{DB_FILE}-wal")).exists(), "the commit went to the write-ahead log");
        assert!(!dir.join(format!("{DB_FILE}-shm")).exists(), "no shared-memory index of the log");
        // Another connection (of this process, or any other) finds the file locked: the engine takes its locks
        // once and keeps them, rather than taking and releasing them around every commit.
        let other = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let read = other.query_row("SELECT count(*) FROM docs", [], |r| r.get::<_, i64>(0));
        assert!(read.is_err(), "read the file beside the engine: {read:?}");
    }
    // Closed: the file is everyone's again, with what was committed.
    let other = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    assert_eq!(other.query_row("SELECT count(*) FROM docs", [], |r| r.get::<_, i64>(0)).unwrap(), 1);
}

#[test]
fn kinds_load_from_the_file_while_the_writer_commits() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        for k in 0..20 {
            store.transact(|tx| tx.put(&format!("cold-{k}"), &thing("x", k))).unwrap();
        }
    }
    let store = Store::sqlite(&dir).unwrap();
    // One thread keeps the writer committing while another loads the kinds written before the reopen, which
    // go through the writer's connection between its commits.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for n in 0..200 {
                store.transact(|tx| tx.put("hot", &thing("h", n))).unwrap();
            }
        });
        for k in 0..20 {
            let found: Vec<Thing> = store.transact(|tx| tx.scan(&format!("cold-{k}"))).unwrap();
            assert_eq!(found, [thing("x", k)]);
        }
        writer.join().unwrap();
    });
    assert_eq!(store.transact(|tx| tx.scan::<Thing>("hot")).unwrap(), [thing("h", 199)]);
}

#[test]
fn a_store_written_by_a_newer_ec2d_is_refused() {
    let dir = fresh_dir();
    drop(SqliteEngine::open(&dir).unwrap());
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let version: String =
        conn.query_row("SELECT value FROM meta WHERE key = 'schema_version'", [], |r| r.get(0)).unwrap();
    assert_eq!(version, "1");
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'", []).unwrap();
    conn.execute("UPDATE meta SET value = '7.0.0' WHERE key = 'written_by'", []).unwrap();
    drop(conn);
    let Err(e) = SqliteEngine::open(&dir) else { panic!("a newer store was opened") };
    let e = e.to_string();
    assert!(e.contains("schema version 99") && e.contains("ec2d 7.0.0") && e.contains("upgrade ec2d"), "{e}");
}

#[test]
fn an_unversioned_directory_gets_the_current_schema() {
    let dir = fresh_dir();
    let store = Store::sqlite(&dir).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["counters", "docs", "meta"]);
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_panicking_body_leaves_the_store_usable() {
    let store = make();
    let s = store.clone();
    let panicked = std::thread::spawn(move || {
        let _: Result<(), StoreError> = s.transact(|tx| {
            tx.put("s", &thing("half-done", 1))?;
            panic!("the handler fails mid-transaction");
        });
    })
    .join();
    assert!(panicked.is_err());
    store.transact(|tx| tx.put("s", &thing("after", 1))).unwrap();
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(all, [thing("after", 1)]);
}

/// Concurrent requests share commits (group commit), but each stays atomic: the failing ones leave
/// nothing behind, the others all land, and each sees the ones before it.
#[test]
fn requests_sharing_a_commit_stay_atomic() {
    let store = std::sync::Arc::new(make());
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                for n in 0..50u64 {
                    let id = format!("{w}-{n:02}");
                    let r: Result<u64, StoreError> = store.transact(|tx| {
                        tx.put("s", &thing(&id, n))?;
                        let count = tx.next_counter("all")?;
                        if n % 2 == 1 {
                            return Err(StoreError::Engine("refused".into()));
                        }
                        Ok(count)
                    });
                    assert_eq!(r.is_ok(), n % 2 == 0, "{id}: {r:?}");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(all.len(), 200);
    assert!(all.iter().all(|t| t.n % 2 == 0), "a failed request left a document");
    assert_eq!(store.transact(|tx| tx.next_counter("all")).unwrap(), 201, "failed requests' counters rolled back");
}

/// A reset empties what memory has not loaded yet as well: nothing is loaded from the file until the reset
/// is committed.
#[test]
fn a_reset_empties_kinds_not_yet_loaded() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("a", &thing("1", 1))).unwrap();
        store.transact(|tx| tx.put("b", &thing("2", 2))).unwrap();
        store.transact(|tx| tx.next_counter("c")).unwrap();
    }
    let store = Store::sqlite(&dir).unwrap();
    store.reset().unwrap();
    let b: Vec<Thing> = store.transact(|tx| tx.scan("b")).unwrap();
    assert_eq!(b, []);
    assert_eq!(store.transact(|tx| tx.next_counter("c")).unwrap(), 1);
    assert_eq!(store.transact(|tx| tx.scopes::<Thing>()).unwrap(), Vec::<String>::new());
}

/// The scopes of a kind: the file's, as memory has them (a scope emptied by a queued delete is gone), and
/// memory's new ones.
#[test]
fn scopes_see_memory_over_the_file() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("a", &thing("1", 1))).unwrap();
        store.transact(|tx| tx.put("b", &thing("2", 2))).unwrap();
    }
    let store = Store::sqlite(&dir).unwrap();
    store.transact(|tx| tx.delete::<Thing>("a", "1")).unwrap();
    store.transact(|tx| tx.put("c", &thing("3", 3))).unwrap();
    assert_eq!(store.transact(|tx| tx.scopes::<Thing>()).unwrap(), ["b", "c"]);
}

/// A clean close marks the file; the next open takes the mark away (a crash after it leaves none), and trusts
/// the file only while it is unchanged: a file damaged after a clean close is still refused.
#[test]
fn a_clean_close_is_marked_and_a_file_changed_since_is_checked() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        for n in 0..400 {
            store.transact(|tx| tx.put("s", &Thing { id: format!("{n:04}-{}", "x".repeat(200)), n })).unwrap();
        }
        store.close().unwrap();
        let Err(e) = store.transact(|tx| tx.put("s", &thing("late", 1))) else { panic!("a closed store took a write") };
        assert!(e.to_string().contains("closed"), "{e}");
    }
    assert!(dir.join(CLEAN_FILE).exists(), "a clean close leaves its mark");
    {
        let store = Store::sqlite(&dir).unwrap();
        assert!(!dir.join(CLEAN_FILE).exists(), "opening takes the mark away");
        assert_eq!(store.transact(|tx| tx.scan::<Thing>("s")).unwrap().len(), 400);
    }
    assert!(dir.join(CLEAN_FILE).exists(), "dropping the engine closes it cleanly too");
    // Damage the pages of the documents after the clean close: the file changed, so it is checked.
    let db = dir.join(DB_FILE);
    let len = std::fs::metadata(&db).unwrap().len();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::File::options().write(true).open(&db).unwrap();
        let mut page = 2;
        while (page + 1) * 4096 < len {
            f.seek(SeekFrom::Start(page * 4096 + 100)).unwrap();
            f.write_all(&[0x5a; 1500]).unwrap();
            page += 2;
        }
    }
    let Err(e) = SqliteEngine::open(&dir) else { panic!("a damaged file was opened") };
    assert!(e.to_string().contains("is damaged"), "{e}");
}

/// A record whose serialization fails: its commit cannot be written.
#[derive(Clone, serde::Deserialize)]
struct Unwritable {
    id: String,
}

impl serde::Serialize for Unwritable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("cannot be written"))
    }
}

impl ec2_store::Record for Unwritable {
    const KIND: &'static str = "unwritable";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A record that cannot be written makes its commit fail: the request fails, and so does every later one
/// (the engine stops rather than serve what the file does not hold).
#[test]
fn a_failed_commit_fails_the_request_and_stops_the_engine() {
    let dir = fresh_dir();
    let store = Store::sqlite(&dir).unwrap();
    store.transact(|tx| tx.put("s", &thing("kept", 1))).unwrap();
    let Err(e) = store.transact(|tx| tx.put("s", &Unwritable { id: "u".into() })) else {
        panic!("an unwritable record was acknowledged")
    };
    assert!(e.to_string().contains("cannot be written"), "{e}");
    let Err(e) = store.transact(|tx| tx.scan::<Thing>("s")) else { panic!("the engine went on after a failed commit") };
    assert!(e.to_string().contains("until ec2d restarts"), "{e}");
    assert!(store.ping().is_err());
    drop(store);
    let store = Store::sqlite(&dir).unwrap();
    assert_eq!(store.transact(|tx| tx.scan::<Thing>("s")).unwrap(), [thing("kept", 1)]);
}

/// Polls `f` on this thread until it is ready, parking in between (a waker that unparks the thread).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

fn counting_hook(wait: &mut dyn FnMut()) {
    HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    wait();
}

/// On a thread with a wait hook (an async worker), what may block goes through the hook: the first read of a
/// kind (from the file) and the wait for a commit; a read answered from memory with nothing to wait for does
/// not call it.
#[test]
fn with_a_hook_only_file_reads_and_commits_wait_through_it() {
    use ec2_store::wait::with_hook;
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
    }
    let store = Store::sqlite(&dir).unwrap();
    assert!(store.runs_inline_with_hook());
    let calls = |f: &dyn Fn()| {
        let before = HOOK_CALLS.load(Ordering::SeqCst);
        with_hook(counting_hook, f);
        HOOK_CALLS.load(Ordering::SeqCst) - before
    };
    let read = || assert_eq!(store.transact(|tx| tx.get::<Thing>("s", "a")).unwrap(), Some(thing("a", 1)));
    assert_eq!(calls(&read), 1, "the first read loads the kind from the file");
    assert_eq!(calls(&read), 0, "a read from memory with nothing pending waits for nothing");
    // A write waits for its commit through the hook (unless the writer was quicker than the check).
    assert!(calls(&|| store.transact(|tx| tx.put("s", &thing("b", 2))).unwrap()) <= 1);
    assert_eq!(calls(&read), 0, "once committed, nothing is pending");
}

/// Under `deferring`, a transaction hands its commit back instead of waiting: awaited, it is durable (the
/// change survives a restart); a commit that fails is handed back as the error.
#[test]
fn a_deferred_commit_is_awaited_and_a_lost_one_reported() {
    use ec2_store::wait::deferring;
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        let (out, durable) = deferring(|| store.transact(|tx| tx.put("s", &thing("a", 1))));
        out.unwrap().unwrap();
        if let Some(durable) = durable {
            block_on(durable).expect("the commit is made");
        }
        // A read-only request with nothing pending defers nothing.
        let (out, durable) = deferring(|| store.transact(|tx| tx.get::<Thing>("s", "a")));
        assert_eq!(out.unwrap().unwrap(), Some(thing("a", 1)));
        assert!(durable.is_none());
    }
    let store = Store::sqlite(&dir).unwrap();
    assert_eq!(store.transact(|tx| tx.scan::<Thing>("s")).unwrap(), [thing("a", 1)]);

    let (out, durable) = deferring(|| store.transact(|tx| tx.put("s", &Unwritable { id: "u".into() })));
    let lost = match (out.unwrap(), durable) {
        (Ok(()), Some(durable)) => block_on(durable).expect_err("an unwritable record was made durable"),
        (Err(e), _) => e,
        (Ok(()), None) => panic!("an unwritable record was acknowledged"),
    };
    assert!(lost.to_string().contains("cannot be written"), "{lost}");
    let Err(e) = store.transact(|tx| tx.scan::<Thing>("s")) else { panic!("the engine went on after a failed commit") };
    assert!(e.to_string().contains("until ec2d restarts"), "{e}");
}

/// The rowid of each document's row, by id, read from the closed file.
fn rowids(dir: &std::path::Path) -> Vec<(String, i64)> {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let mut st = conn.prepare("SELECT id, rowid FROM docs ORDER BY id").unwrap();
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_row_keeps_its_rowid_while_rewritten_and_across_a_restart() {
    let dir = fresh_dir();
    {
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
        store.transact(|tx| tx.put("s", &thing("b", 1))).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 2))).unwrap();
        store.transact(|tx| tx.delete::<Thing>("s", "b")).unwrap();
        store.transact(|tx| tx.put("s", &thing("b", 2))).unwrap();
        store.close().unwrap();
    }
    let before = rowids(&dir);
    assert_eq!(before.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let b_row = before[1].1;
    assert!(b_row > before[0].1, "b, put again, is a new row after a: {before:?}");
    {
        // Loaded from the file, a document is rewritten in its row; a new one goes after every row there.
        let store = Store::sqlite(&dir).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 3))).unwrap();
        store.transact(|tx| tx.put("s", &thing("c", 1))).unwrap();
        let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
        assert_eq!(all, [thing("a", 3), thing("b", 2), thing("c", 1)]);
        store.close().unwrap();
    }
    let after = rowids(&dir);
    assert_eq!(after[..2], before[..]);
    assert!(after[2].0 == "c" && after[2].1 > b_row, "{after:?}");
}

//! The embedded, durable engine (the default; `--data-dir`): SQLite, compiled into the binary.
//!
//! One connection, behind a mutex, runs the transactions one at a time, so they are serial (like the
//! memory engine's) and never conflict. The database is in WAL mode with `synchronous=FULL`: `COMMIT`
//! returns only once the write-ahead log is fsynced, so a change the server has answered for survives
//! a crash of the process or of the machine. A lock file keeps a second ec2d process off the directory.
//!
//! Group commit: an fsync costs far more than a request, so transactions that queue up for the
//! connection share one. A batch is one SQLite transaction (`BEGIN IMMEDIATE`) in which each request
//! runs inside its own savepoint (released on success, rolled back on failure: each request stays
//! atomic). A request that finishes while others wait for the connection leaves the batch open for them
//! and waits; the one that finishes with nobody waiting (or the [`MAX_BATCH`]th) commits, and every
//! request of the batch returns only after that `COMMIT` (except while the batch has written nothing:
//! then what a request read is already durable). If the commit fails, every waiting request of the
//! batch fails.
//!
//! Files in the data directory: `ec2d.sqlite3` (with its `-wal` and `-shm` companions while open) and
//! `ec2d.lock`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, TryLockError};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use crate::schema;
use crate::{Abort, Doc, DocRef, Engine, StoreError, Tx};

/// The database file inside the data directory.
pub const DB_FILE: &str = "ec2d.sqlite3";
/// The lock file inside the data directory, held for as long as the engine is open.
pub const LOCK_FILE: &str = "ec2d.lock";

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

/// The most requests one commit covers.
pub const MAX_BATCH: usize = 64;

pub struct SqliteEngine {
    inner: Mutex<Inner>,
    /// Signalled when a batch ends (committed or failed).
    batch_ended: Condvar,
    /// Requests waiting for the connection: while there are some, a finished request leaves the batch
    /// open for them.
    queued: AtomicUsize,
    path: PathBuf,
    /// Held (locked) until the engine is dropped.
    _lock: File,
}

struct Inner {
    conn: Connection,
    /// A batch (an SQLite transaction) is open.
    open: bool,
    /// The number of the open batch, or of the last one.
    batch: u64,
    /// Requests run in the open batch.
    in_batch: usize,
    /// SQLite's count of changed rows when the batch began: while it is unchanged, the batch has read
    /// only committed state, and its requests need not wait for its commit.
    changes_at_begin: u64,
    /// The last batch that ended.
    ended: u64,
    /// Recent batches whose commit failed, with the error.
    failed: VecDeque<(u64, String)>,
    cache: Cache,
}

/// The documents in memory: every (scope, kind) read or written since the engine opened, as the database holds
/// it (including the open batch's writes), with each record decoded at most once ([`Doc`]). Reads are served
/// from here; the database is read once per (scope, kind) and otherwise only written.
///
/// A (scope, kind) is loaded whole before any read or write of it, so the cache of a loaded one always equals
/// the database's rows. A request's writes are recorded with the documents they replaced, and undone when the
/// request rolls back to its savepoint; when a batch's commit fails, the whole cache is dropped (and loaded again
/// from what the database kept).
#[derive(Default)]
struct Cache {
    docs: HashMap<(String, String), BTreeMap<String, DocRef>>,
    /// The running request's writes: (scope, kind, id, the document before).
    undo: Vec<(String, String, String, Option<DocRef>)>,
}

impl Cache {
    fn clear(&mut self) {
        self.docs.clear();
        self.undo.clear();
    }

    /// Undoes the running request's writes.
    fn roll_back(&mut self) {
        while let Some((scope, kind, id, before)) = self.undo.pop() {
            if let Some(docs) = self.docs.get_mut(&(scope, kind)) {
                match before {
                    Some(doc) => docs.insert(id, doc),
                    None => docs.remove(&id),
                };
            }
        }
    }
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
        let mut conn =
            Connection::open(&path).map_err(|e| engine_err(&format!("cannot open {}", path.display()), e))?;
        let mode: String =
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| damaged(&path, &e.to_string()))?;
        check_integrity(&conn, &path)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Engine(format!("sqlite: {} refused WAL mode (it is {mode})", path.display())));
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| engine_err("cannot set synchronous", e))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| engine_err("cannot set busy_timeout", e))?;
        migrate(&mut conn)?;
        let inner = Inner {
            conn,
            open: false,
            batch: 0,
            in_batch: 0,
            changes_at_begin: 0,
            ended: 0,
            failed: VecDeque::new(),
            cache: Cache::default(),
        };
        Ok(SqliteEngine {
            inner: Mutex::new(inner),
            batch_ended: Condvar::new(),
            queued: AtomicUsize::new(0),
            path,
            _lock: lock,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
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
    conn: &'a Connection,
    cache: &'a mut Cache,
}

fn q(e: rusqlite::Error) -> StoreError {
    engine_err("query failed", e)
}

impl SqliteTx<'_> {
    /// The documents of (scope, kind), loaded from the database the first time.
    fn loaded(&mut self, scope: &str, kind: &str) -> Result<&mut BTreeMap<String, DocRef>, StoreError> {
        let key = (scope.to_string(), kind.to_string());
        if !self.cache.docs.contains_key(&key) {
            let mut st =
                self.conn.prepare_cached("SELECT id, doc FROM docs WHERE scope = ?1 AND kind = ?2").map_err(q)?;
            let rows =
                st.query_map([scope, kind], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(q)?;
            let mut docs = BTreeMap::new();
            for row in rows {
                let (id, text) = row.map_err(q)?;
                docs.insert(id, Doc::new(text));
            }
            self.cache.docs.insert(key.clone(), docs);
        }
        Ok(self.cache.docs.get_mut(&key).expect("loaded above"))
    }

    fn remember(&mut self, scope: &str, kind: &str, id: &str, before: Option<DocRef>) {
        self.cache.undo.push((scope.to_string(), kind.to_string(), id.to_string(), before));
    }
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        Ok(self.loaded(scope, kind)?.get(id).cloned())
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        self.loaded(scope, kind)?;
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO docs (scope, kind, id, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (scope, kind, id) DO UPDATE SET doc = excluded.doc",
            )
            .map_err(q)?;
        st.execute([scope, kind, id, doc.text()?]).map_err(q)?;
        let before = self.loaded(scope, kind)?.insert(id.to_string(), Doc::compact(&doc));
        self.remember(scope, kind, id, before);
        Ok(())
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        if !self.loaded(scope, kind)?.contains_key(id) {
            return Ok(false);
        }
        let mut st =
            self.conn.prepare_cached("DELETE FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3").map_err(q)?;
        st.execute([scope, kind, id]).map_err(q)?;
        let before = self.loaded(scope, kind)?.remove(id);
        self.remember(scope, kind, id, before);
        Ok(true)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        Ok(self.loaded(scope, kind)?.iter().map(|(id, doc)| (id.clone(), doc.clone())).collect())
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        let mut st =
            self.conn.prepare_cached("SELECT DISTINCT scope FROM docs WHERE kind = ?1 ORDER BY scope").map_err(q)?;
        let rows = st.query_map([kind], |r| r.get(0)).map_err(q)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(q)
    }

    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            )
            .map_err(q)?;
        let v: i64 = st.query_row([name], |r| r.get(0)).map_err(q)?;
        u64::try_from(v).map_err(|e| engine_err(&format!("counter {name} is {v}"), e))
    }
}

impl SqliteEngine {
    /// Runs `f` as one atomic request in the current batch, and returns once the batch is committed.
    fn run(&self, f: &mut dyn FnMut(&Connection, &mut Cache) -> Result<(), Abort>) -> Result<(), Abort> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut g = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if !g.open {
            if !g.conn.is_autocommit() {
                g.conn.execute_batch("ROLLBACK").map_err(|e| engine_err("cannot roll back", e))?;
            }
            g.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| engine_err("cannot begin", e))?;
            g.open = true;
            g.batch += 1;
            g.in_batch = 0;
            g.changes_at_begin = g.conn.total_changes();
        }
        let batch = g.batch;
        g.in_batch += 1;
        let mut outcome = match g.conn.execute_batch("SAVEPOINT request") {
            Ok(()) => {
                let inner = &mut *g;
                catch_unwind(AssertUnwindSafe(|| f(&inner.conn, &mut inner.cache)))
            }
            Err(e) => Ok(Err(Abort::Store(engine_err("cannot begin", e)))),
        };
        let end = if matches!(outcome, Ok(Ok(()))) {
            g.cache.undo.clear();
            "RELEASE request"
        } else {
            g.cache.roll_back();
            "ROLLBACK TO request; RELEASE request"
        };
        let mut broken = g.conn.execute_batch(end).err().map(|e| e.to_string());
        if broken.is_none() && g.conn.is_autocommit() {
            // SQLite rolls the whole transaction back on some errors (a full disk, an IO error).
            broken = Some("SQLite rolled the transaction back".into());
        }
        if broken.is_some() || self.queued.load(Ordering::SeqCst) == 0 || g.in_batch >= MAX_BATCH {
            let result = match broken {
                Some(e) => Err(e),
                None => g.conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
            };
            if let Err(e) = result {
                if !g.conn.is_autocommit() {
                    let _ = g.conn.execute_batch("ROLLBACK");
                }
                g.cache.clear();
                g.failed.push_back((batch, e));
                if g.failed.len() > 1024 {
                    g.failed.pop_front();
                }
            }
            g.open = false;
            g.ended = batch;
            self.batch_ended.notify_all();
        } else if g.conn.total_changes() == g.changes_at_begin {
            // Nothing in this batch wrote so far: what this request read is already durable.
        } else {
            while g.ended < batch {
                g = self.batch_ended.wait(g).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        }
        if let Some((_, e)) = g.failed.iter().find(|(b, _)| *b == batch) {
            outcome = Ok(Err(Abort::Store(engine_err("cannot commit", e))));
        }
        drop(g);
        match outcome {
            Ok(result) => result,
            Err(panic) => resume_unwind(panic),
        }
    }
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        self.run(&mut |conn, cache| body(&mut SqliteTx { conn, cache }))
    }

    fn ping(&self) -> Result<(), StoreError> {
        let g = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        g.conn.query_row("SELECT count(*) FROM meta", [], |r| r.get::<_, i64>(0)).map(drop).map_err(q)
    }

    fn reset(&self) -> Result<(), StoreError> {
        let result = self.run(&mut |conn, cache| {
            cache.clear();
            conn.execute_batch("DELETE FROM docs; DELETE FROM counters")
                .map_err(|e| engine_err("cannot reset", e).into())
        });
        match result {
            Ok(()) => Ok(()),
            Err(Abort::Store(e)) => Err(e),
            Err(Abort::Rollback) => Err(StoreError::Engine("sqlite: reset rolled back".into())),
        }
    }
}

//! The embedded, durable engine (the default; `--data-dir`): SQLite, compiled into the binary.
//!
//! One connection, behind a mutex, runs every transaction as `BEGIN IMMEDIATE` … `COMMIT`, so
//! transactions are serial (like the memory engine's) and never conflict. The database is in WAL mode
//! with `synchronous=FULL`: `COMMIT` returns only once the write-ahead log is fsynced, so a change the
//! server has answered for survives a crash of the process or of the machine. A lock file keeps a
//! second ec2d process off the same directory.
//!
//! Files in the data directory: `ec2d.sqlite3` (with its `-wal` and `-shm` companions while open) and
//! `ec2d.lock`.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};

use crate::schema;
use crate::{Abort, Engine, StoreError, Tx};

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

pub struct SqliteEngine {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Held (locked) until the engine is dropped.
    _lock: File,
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
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| engine_err("cannot enable WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Engine(format!("sqlite: {} refused WAL mode (it is {mode})", path.display())));
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(|e| engine_err("cannot set synchronous", e))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| engine_err("cannot set busy_timeout", e))?;
        migrate(&mut conn)?;
        Ok(SqliteEngine { conn: Mutex::new(conn), path, _lock: lock })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
}

fn q(e: rusqlite::Error) -> StoreError {
    engine_err("query failed", e)
}

impl Tx for SqliteTx<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let mut st =
            self.conn.prepare_cached("SELECT doc FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3").map_err(q)?;
        st.query_row([scope, kind, id], |r| r.get(0)).optional().map_err(q)
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: String) -> Result<(), StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO docs (scope, kind, id, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (scope, kind, id) DO UPDATE SET doc = excluded.doc",
            )
            .map_err(q)?;
        st.execute([scope, kind, id, &doc]).map(drop).map_err(q)
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let mut st =
            self.conn.prepare_cached("DELETE FROM docs WHERE scope = ?1 AND kind = ?2 AND id = ?3").map_err(q)?;
        st.execute([scope, kind, id]).map(|n| n > 0).map_err(q)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, doc FROM docs WHERE scope = ?1 AND kind = ?2 ORDER BY id")
            .map_err(q)?;
        let rows = st.query_map([scope, kind], |r| Ok((r.get(0)?, r.get(1)?))).map_err(q)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(q)
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

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !conn.is_autocommit() {
            // A body panicked inside its transaction last time: drop what it left open.
            conn.execute_batch("ROLLBACK").map_err(|e| engine_err("cannot roll back", e))?;
        }
        conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| engine_err("cannot begin", e))?;
        let outcome = body(&mut SqliteTx { conn: &conn });
        let outcome = match outcome {
            Ok(()) => conn.execute_batch("COMMIT").map_err(|e| Abort::Store(engine_err("cannot commit", e))),
            Err(abort) => Err(abort),
        };
        if outcome.is_err() && !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(|e| engine_err("cannot roll back", e))?;
        }
        outcome
    }

    fn reset(&self) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK").map_err(|e| engine_err("cannot roll back", e))?;
        }
        let result = conn.execute_batch("BEGIN IMMEDIATE; DELETE FROM docs; DELETE FROM counters; COMMIT;");
        if result.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        result.map_err(|e| engine_err("cannot reset", e))
    }
}

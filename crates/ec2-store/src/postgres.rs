//! The PostgreSQL engine (`--store postgres://...`): several ec2d processes share one state.
//!
//! Every transaction runs at `SERIALIZABLE` isolation, so the database itself guarantees that the
//! outcome is that of some serial order of the requests of every node: no lost update, no transition
//! applied twice, no counter value handed out twice. When PostgreSQL aborts a transaction for a
//! serialization conflict (SQLSTATE 40001, or a deadlock, 40P01) the engine rolls back and runs the
//! body again on a fresh snapshot, for up to [`RETRY_BUDGET`]: after its first conflict a transaction
//! waits for its turn among this process's retries (first come, first served) and keeps it until it is
//! done, backing off randomly between later attempts, so that a hot row (an ID counter, a capacity
//! pool) does not set off a herd of retries that conflict with each other again. `COMMIT`
//! returns once PostgreSQL has flushed the transaction's WAL (its default `synchronous_commit=on`).
//!
//! Keys are stored as `BYTEA`, which compares bytewise like Rust strings (a `TEXT` column would sort by
//! the database's locale), and which takes any string, NUL included. Connections come from a small pool
//! of at most [`POOL_SIZE`]. TLS is not supported (use `sslmode=disable` or the default `prefer`).

use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, NoTls, Statement};

use crate::schema;
use crate::{Abort, Doc, DocRef, Engine, StoreError, Tx};

/// How long a health check waits for a new connection.
const PING_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connections one engine (one ec2d process) opens.
pub const POOL_SIZE: usize = 16;
/// How long a transaction keeps being retried after serialization conflicts before it fails.
pub const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// Serializes concurrent migrations from several nodes starting at once (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6563_3264; // "ec2d"

/// The migrations, in order: the schema version is the number applied. Append only; never edit one
/// that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: documents and counters.
    "CREATE TABLE docs (
         scope BYTEA NOT NULL, kind BYTEA NOT NULL, id BYTEA NOT NULL, doc TEXT NOT NULL,
         PRIMARY KEY (scope, kind, id)
     );
     CREATE INDEX docs_by_kind ON docs (kind, scope);
     CREATE TABLE counters (name BYTEA PRIMARY KEY, value BIGINT NOT NULL);",
];

fn engine_err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(format!("postgres: {what}: {e}"))
}

/// A client error with its causes ("error connecting to server: Connection refused ...").
struct Chain<'a>(&'a postgres::Error);

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = std::error::Error::source(self.0);
        while let Some(c) = cause {
            let text = c.to_string();
            if !self.0.to_string().contains(&text) {
                write!(f, ": {text}")?;
            }
            cause = c.source();
        }
        Ok(())
    }
}

/// Whether PostgreSQL gave up on the transaction for a conflict with a concurrent one: the same body
/// run again on a fresh snapshot may succeed.
fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            // Two transactions inserting the same new key (a ClientToken, a counter): the loser sees
            // the winner's row only after a retry.
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// One pooled connection with its prepared statements.
struct Conn {
    client: Client,
    get: Statement,
    put: Statement,
    delete: Statement,
    scan: Statement,
    scopes: Statement,
    next_counter: Statement,
}

impl Conn {
    fn open(config: &postgres::Config) -> Result<Conn, StoreError> {
        let mut client = config.connect(NoTls).map_err(|e| engine_err("cannot connect", Chain(&e)))?;
        // Index scans take fine-grained predicate locks; a sequential scan (which the planner picks
        // for small tables) locks the whole table and turns every concurrent write into a conflict.
        client.batch_execute("SET enable_seqscan = off").map_err(|e| engine_err("cannot configure", e))?;
        let mut prepare = |sql: &str| client.prepare(sql).map_err(|e| engine_err("cannot prepare", e));
        Ok(Conn {
            get: prepare("SELECT doc FROM docs WHERE scope = $1 AND kind = $2 AND id = $3")?,
            put: prepare(
                "INSERT INTO docs (scope, kind, id, doc) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (scope, kind, id) DO UPDATE SET doc = EXCLUDED.doc",
            )?,
            delete: prepare("DELETE FROM docs WHERE scope = $1 AND kind = $2 AND id = $3")?,
            scan: prepare("SELECT id, doc FROM docs WHERE scope = $1 AND kind = $2 ORDER BY id")?,
            scopes: prepare("SELECT DISTINCT scope FROM docs WHERE kind = $1 ORDER BY scope")?,
            next_counter: prepare(
                "INSERT INTO counters (name, value) VALUES ($1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
            )?,
            client,
        })
    }
}

#[derive(Default)]
struct Pool {
    idle: Vec<Conn>,
    open: usize,
}

pub struct PostgresEngine {
    config: postgres::Config,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// Held by a transaction's retries: after a conflict, this process's transactions retry one at a
    /// time, so that a hot row (an ID counter, a capacity pool) costs a short wait rather than a herd
    /// of retries that conflict with each other again.
    retry_turn: FifoLock,
}

/// A first-come, first-served lock: retries are served in the order they conflicted.
#[derive(Default)]
struct FifoLock {
    /// (next ticket, ticket being served)
    tickets: Mutex<(u64, u64)>,
    turn: Condvar,
}

struct FifoTurn<'a>(&'a FifoLock);

impl FifoLock {
    fn lock(&self) -> FifoTurn<'_> {
        let mut t = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let mine = t.0;
        t.0 += 1;
        while t.1 != mine {
            t = self.turn.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        FifoTurn(self)
    }
}

impl Drop for FifoTurn<'_> {
    fn drop(&mut self) {
        self.0.tickets.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
        self.0.turn.notify_all();
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it broke.
struct Lease<'a> {
    engine: &'a PostgresEngine,
    conn: Option<Conn>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let mut pool = self.engine.pool.lock().unwrap_or_else(|p| p.into_inner());
        match self.conn.take() {
            Some(conn) if !conn.client.is_closed() => pool.idle.push(conn),
            _ => pool.open -= 1,
        }
        self.engine.returned.notify_one();
    }
}

impl PostgresEngine {
    /// Connects to `url` (`postgres://user:password@host:port/database?options`), and applies pending
    /// migrations.
    pub fn connect(url: &str) -> Result<PostgresEngine, StoreError> {
        let mut config = postgres::Config::from_str(url).map_err(|e| engine_err("bad URL", e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("ec2d");
        }
        let mut client = config.connect(NoTls).map_err(|e| engine_err("cannot connect", Chain(&e)))?;
        migrate(&mut client)?;
        let engine = PostgresEngine {
            config,
            pool: Mutex::new(Pool::default()),
            returned: Condvar::new(),
            retry_turn: FifoLock::default(),
        };
        drop(client);
        // Open one connection now, so that a bad setup fails at startup rather than on a request.
        drop(engine.lease()?);
        Ok(engine)
    }

    fn lease(&self) -> Result<Lease<'_>, StoreError> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(conn) = pool.idle.pop() {
                return Ok(Lease { engine: self, conn: Some(conn) });
            }
            if pool.open < POOL_SIZE {
                pool.open += 1;
                drop(pool);
                // From here on the lease owns the slot: dropping it (also on error) gives it back.
                let mut lease = Lease { engine: self, conn: None };
                lease.conn = Some(Conn::open(&self.config)?);
                return Ok(lease);
            }
            pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Brings the schema up to date, or refuses a store written by a newer ec2d. Nodes starting at once
/// take turns on an advisory lock.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(|e| engine_err("cannot begin the migration", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| engine_err("cannot take the migration lock", e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .map_err(|e| engine_err("cannot create meta", e))?;
    let mut meta = |key: &str| -> Result<Option<String>, StoreError> {
        tx.query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
            .map(|row| row.map(|r| r.get(0)))
            .map_err(|e| engine_err("cannot read meta", e))
    };
    let found = match meta(schema::VERSION_KEY)? {
        None => 0,
        Some(v) => v.parse::<i64>().map_err(|e| engine_err(&format!("bad schema version {v:?}"), e))?,
    };
    let written_by = meta(schema::WRITTEN_BY_KEY)?;
    let pending = schema::pending("postgres", found, written_by.as_deref(), MIGRATIONS.len())?;
    if pending.is_empty() {
        return Ok(());
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(pending.start) {
        tx.batch_execute(sql).map_err(|e| engine_err(&format!("migration {}", i + 1), e))?;
    }
    let set = "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
    let version = MIGRATIONS.len().to_string();
    tx.execute(set, &[&schema::VERSION_KEY, &version])
        .and_then(|_| tx.execute(set, &[&schema::WRITTEN_BY_KEY, &schema::THIS_VERSION]))
        .map_err(|e| engine_err("cannot record the schema version", e))?;
    tx.commit().map_err(|e| engine_err("cannot commit the migration", e))
}

struct PgTx<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
    conn: &'a ConnStatements<'a>,
    /// The first failed statement: PostgreSQL refuses every later one in this transaction.
    failed: Option<postgres::Error>,
}

/// The prepared statements of a leased connection, borrowed apart from its client.
struct ConnStatements<'a> {
    get: &'a Statement,
    put: &'a Statement,
    delete: &'a Statement,
    scan: &'a Statement,
    scopes: &'a Statement,
    next_counter: &'a Statement,
}

impl PgTx<'_, '_> {
    fn check(&self) -> Result<(), StoreError> {
        match &self.failed {
            Some(e) => Err(engine_err("an earlier statement failed", e)),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: postgres::Error) -> StoreError {
        let err = engine_err("query failed", &e);
        self.failed.get_or_insert(e);
        err
    }
}

fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|e| engine_err("a stored key is not UTF-8", e))
}

impl Tx for PgTx<'_, '_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        self.check()?;
        let (s, k, i) = (scope.as_bytes(), kind.as_bytes(), id.as_bytes());
        match self.tx.query_opt(self.conn.get, &[&s, &k, &i]) {
            Ok(row) => Ok(row.map(|r| Doc::new(r.get(0)))),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        self.check()?;
        let (s, k, i) = (scope.as_bytes(), kind.as_bytes(), id.as_bytes());
        let text = doc.text()?;
        match self.tx.execute(self.conn.put, &[&s, &k, &i, &text]) {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        self.check()?;
        let (s, k, i) = (scope.as_bytes(), kind.as_bytes(), id.as_bytes());
        match self.tx.execute(self.conn.delete, &[&s, &k, &i]) {
            Ok(n) => Ok(n > 0),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        self.check()?;
        let (s, k) = (scope.as_bytes(), kind.as_bytes());
        match self.tx.query(self.conn.scan, &[&s, &k]) {
            Ok(rows) => rows.into_iter().map(|r| Ok((text(r.get(0))?, Doc::new(r.get(1))))).collect(),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        self.check()?;
        let k = kind.as_bytes();
        match self.tx.query(self.conn.scopes, &[&k]) {
            Ok(rows) => rows.into_iter().map(|r| text(r.get(0))).collect(),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.check()?;
        let n = name.as_bytes();
        match self.tx.query_one(self.conn.next_counter, &[&n]) {
            Ok(row) => {
                let v: i64 = row.get(0);
                u64::try_from(v).map_err(|e| engine_err(&format!("counter {name} is {v}"), e))
            }
            Err(e) => Err(self.fail(e)),
        }
    }
}

/// How one run of a transaction body ended.
enum Attempt {
    Done(Result<(), Abort>),
    /// A serialization conflict: run the body again.
    Conflict(postgres::Error),
}

fn attempt(conn: &mut Conn, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Attempt {
    let Conn { client, get, put, delete, scan, scopes, next_counter } = conn;
    let statements = ConnStatements { get, put, delete, scan, scopes, next_counter };
    let mut tx = match client.build_transaction().isolation_level(IsolationLevel::Serializable).start() {
        Ok(tx) => tx,
        Err(e) => return Attempt::Done(Err(Abort::Store(engine_err("cannot begin", e)))),
    };
    let mut pg = PgTx { tx: &mut tx, conn: &statements, failed: None };
    let outcome = body(&mut pg);
    let failed = pg.failed.take();
    // Whatever the body made of a failed statement, the transaction is aborted: never report a commit.
    match (failed, outcome) {
        (Some(e), _) if is_conflict(&e) => Attempt::Conflict(e),
        (Some(e), Ok(())) => Attempt::Done(Err(Abort::Store(engine_err("query failed", e)))),
        (_, Err(abort)) => Attempt::Done(Err(abort)),
        (None, Ok(())) => match tx.commit() {
            Ok(()) => Attempt::Done(Ok(())),
            Err(e) if is_conflict(&e) => Attempt::Conflict(e),
            Err(e) => Attempt::Done(Err(Abort::Store(engine_err("cannot commit", e)))),
        },
    }
}

/// A random pause before retry number `n` (1-based): up to 1 ms, doubling, capped at 32 ms.
fn backoff(n: u32) -> Duration {
    let cap_us = 1000u64 << n.min(5);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    Duration::from_micros(random % cap_us)
}

impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        let mut lease = self.lease()?;
        let started = Instant::now();
        let mut retries = 0u32;
        // After a first conflict, the transaction waits for its turn among this process's retries and
        // keeps it until it is done.
        let mut turn = None;
        loop {
            let conn = lease.conn.as_mut().expect("a lease holds a connection");
            match attempt(conn, body) {
                Attempt::Done(result) => return result,
                Attempt::Conflict(_) if started.elapsed() < RETRY_BUDGET => {
                    retries += 1;
                    match turn {
                        None => turn = Some(self.retry_turn.lock()),
                        Some(_) => std::thread::sleep(backoff(retries)),
                    }
                }
                Attempt::Conflict(e) => {
                    return Err(Abort::Store(engine_err(
                        &format!("still conflicting after {retries} retries in {:?}", started.elapsed()),
                        e,
                    )))
                }
            }
        }
    }

    /// `SELECT 1` on an idle connection, or on a new one opened with a short timeout; with every
    /// connection busy the database is evidently answering.
    fn ping(&self) -> Result<(), StoreError> {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match pool.idle.pop() {
            Some(conn) => Some(conn),
            None if pool.open >= POOL_SIZE => return Ok(()),
            None => None,
        };
        pool.open += 1;
        drop(pool);
        let mut lease = Lease { engine: self, conn };
        if lease.conn.is_none() {
            let mut config = self.config.clone();
            config.connect_timeout(PING_CONNECT_TIMEOUT);
            lease.conn = Some(Conn::open(&config)?);
        }
        let conn = lease.conn.as_mut().expect("a lease holds a connection");
        conn.client.simple_query("SELECT 1").map(drop).map_err(|e| engine_err("cannot reach the database", Chain(&e)))
    }

    fn reset(&self) -> Result<(), StoreError> {
        let mut lease = self.lease()?;
        let conn = lease.conn.as_mut().expect("a lease holds a connection");
        let started = Instant::now();
        let mut retries = 0u32;
        loop {
            let result =
                conn.client.build_transaction().isolation_level(IsolationLevel::Serializable).start().and_then(
                    |mut tx| {
                        tx.batch_execute("DELETE FROM docs; DELETE FROM counters")?;
                        tx.commit()
                    },
                );
            match result {
                Ok(()) => return Ok(()),
                Err(e) if is_conflict(&e) && started.elapsed() < RETRY_BUDGET => {
                    retries += 1;
                    std::thread::sleep(backoff(retries));
                }
                Err(e) => return Err(engine_err("cannot reset", e)),
            }
        }
    }
}

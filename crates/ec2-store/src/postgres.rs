//! The PostgreSQL engine (`--store postgres://...`): several ec2d processes share one state.
//!
//! Every transaction runs at `SERIALIZABLE` isolation, so the database itself guarantees that the
//! outcome is that of some serial order of the requests of every node: no lost update, no transition
//! applied twice, no counter value handed out twice. When PostgreSQL aborts a transaction for a
//! serialization conflict (SQLSTATE 40001, or a deadlock, 40P01) the engine rolls back and runs the
//! body again on a fresh snapshot, for up to [`RETRY_BUDGET`]. `COMMIT` returns once PostgreSQL has
//! flushed the transaction's WAL (its default `synchronous_commit=on`).
//!
//! Two other ways to run a body, for the event-log sweep: [`Engine::read_snapshot`] (`REPEATABLE READ READ ONLY`,
//! no predicate locks) and [`Engine::transact_locking`] (`READ COMMITTED`, every read by key `FOR UPDATE`): neither
//! takes predicate locks, so no `SERIALIZABLE` transaction fails for what they read. A `SERIALIZABLE` transaction
//! rewrites an event log or tail it read and found with an `UPDATE` ([`SWEPT`]), and a log it read and found beside a
//! new tail as it read it, so that the sweep's delete committed since its snapshot fails it rather than being
//! undone by an insert or left with a tail alone.
//!
//! Round trips: a transaction costs `BEGIN` (which also reads the ID generation, below), one query per
//! document it reads that it has not read or written before in this transaction (reads are kept for the
//! transaction, writes are kept in memory and read back from there), one statement that writes every
//! change at once, and `COMMIT`; advisory locks are taken in `BEGIN`'s round trip.
//!
//! Hot rows: no row is written by every transaction. IDs come from [`Tx::next_id`], which hands out
//! values from blocks of [`ID_BLOCK`] that each node reserves in their own short statement (on a
//! connection of their own, outside the request's transaction), so launches on several nodes never
//! wait for each other's counter row; the values stay unique across nodes (each block is reserved once),
//! but are not in order across nodes and may skip (a block left over at exit). `POST /_ec2d/reset`
//! bumps a generation that every transaction reads at `BEGIN`, so a node never hands out a value of a
//! block reserved before a reset by then. The gapless [`Tx::next_counter`] keeps its row in the
//! transaction.
//!
//! Hot documents: a transaction that conflicted retries holding (session-level, so across nodes) advisory
//! locks on the documents it read and changed, taken before its `BEGIN` (in the same round trip, in a transaction
//! of their own, so its snapshot comes after the previous holder's commit), and those documents are hot for
//! [`HOT_FOR`], and stay hot while transactions holding their locks and reading or writing them keep committing:
//! any transaction of this node that reads a hot document without holding its lock stops there (before it wrote
//! anything), rolls back, and runs again at once holding the locks of the hot documents it read (an attempt that
//! starts again gets the IDs of the one before). So the requests on one hot document (a
//! capacity pool, a zone's subnet, an instance under conflicting Stop/Start) queue on its lock instead of
//! failing each other at commit, while documents nobody fights over are read without locks. The locks are
//! released in the round trip of the `COMMIT`.
//!
//! Hints: a request may name the documents it is likely to change ([`Engine::transact_hinted`]). Before its
//! first `BEGIN` the transaction then takes the locks of those that are hot, and of the hot documents the last
//! committed transaction with the same hints held locks on (a Stop's instance leads to its capacity pool); and
//! it reads in `BEGIN`'s round trip the documents that transaction read by key, found or not ([`Learned`]), so a launch
//! does not restart at its zone's subnet and reads most of its documents without a round trip each.
//!
//! Predicate locks: `SERIALIZABLE` locks the B-tree leaf page a read by key visits, and an insert into that
//! page by a concurrent transaction counts as a read/write dependency. So the documents table is partitioned
//! by kind (migration 2): the kinds launches insert by the ten, and the subnet and capacity pool each launch
//! rewrites, have indexes of their own, apart from the documents every launch only reads; and a read by key
//! can only use the primary key.
//!
//! Keys are stored as `BYTEA`, which compares bytewise like Rust strings (a `TEXT` column would sort by
//! the database's locale), and which takes any string, NUL included. Connections come from a small pool
//! of at most [`POOL_SIZE`]. TLS is not supported (use `sslmode=disable` or the default `prefer`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, NoTls, SimpleQueryMessage, Statement};

use crate::schema;
use crate::{Abort, Doc, DocRef, Engine, Hint, StoreError, Tx};

/// How long a health check waits for a new connection.
const PING_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The most connections one engine (one ec2d process) opens for transactions (plus one that reserves
/// ID blocks).
pub const POOL_SIZE: usize = 16;
/// How long a transaction keeps being retried after serialization conflicts before it fails.
pub const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// Serializes concurrent migrations from several nodes starting at once (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6563_3264; // "ec2d"
/// Values of an ID counter a node reserves at once ([`Tx::next_id`]).
pub const ID_BLOCK: u64 = 128;
/// The `meta` key of the ID generation, bumped by every reset.
const GENERATION_KEY: &str = "id_generation";
/// At most this many advisory locks are taken for one transaction; beyond, one lock for everything.
const MAX_LOCKS: usize = 32;
/// The advisory lock taken instead of more than [`MAX_LOCKS`], or for a conflict that wrote nothing.
const EVERYTHING_LOCK: i64 = 0x6563_3264_0000_0001;
/// How long a document stays hot after a transaction that changed it lost a conflict, or after the last committed
/// transaction that held its lock: a transaction that reads a hot document without holding its advisory lock
/// starts again holding it ([`PgTx::get`]).
const HOT_FOR: Duration = Duration::from_secs(1);
/// Hot documents remembered at most (the oldest are forgotten first).
const MAX_HOT: usize = 4096;
/// At most this many documents are read in the round trip of `BEGIN` ([`Learned::reads`]).
const MAX_PREFETCH: usize = 32;
/// How long what a transaction with some hints needed is remembered for the next one ([`Learned`]).
const LEARNED_FOR: Duration = Duration::from_secs(60);

/// What the last committed transaction with some hints (by [`hints_tag`]) needed: the next one with the same
/// hints takes the locks of these that are still hot before its first attempt, and reads these documents in
/// the round trip of its `BEGIN` rather than one round trip each (a launch reads a dozen documents, the same
/// for every launch of its zone).
struct Learned {
    /// The advisory locks it held when it committed.
    locks: Vec<i64>,
    /// The documents it read by key, found or not (not those of scans).
    reads: Vec<Key>,
    at: Instant,
}

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
    // 2: predicate locks of reads by key no longer cover the pages where other transactions insert.
    // `SERIALIZABLE` records a B-tree read as a lock on the leaf page it visited, and an insert into that page
    // by a concurrent transaction as a read/write dependency.
    // - The planner took `docs_by_kind (kind, scope)` for `scope = $1 AND kind = $2 AND id = $3` while the
    //   table had no statistics (a fresh database), and read every document of that kind and scope to find
    //   one, locking the pages where every launch inserts. The index of a kind's scopes is now on an
    //   expression that only the scopes query names ([`Conn::scopes`]).
    // - With every kind in one primary key, the pages holding the few documents every launch reads (the
    //   image, the VPC, the security group, the defaults) also held the first or last keys of the kinds
    //   launches insert by the ten (instances, interfaces, volumes, events), and the subnets and capacity
    //   pools every launch in a zone rewrites. Each of those kinds now has a partition, so indexes, of its
    //   own; the other kinds share the default partition.
    "CREATE TABLE docs_v2 (
         scope BYTEA NOT NULL, kind BYTEA NOT NULL, id BYTEA NOT NULL, doc TEXT NOT NULL,
         PRIMARY KEY (scope, kind, id)
     ) PARTITION BY LIST (kind);
     CREATE TABLE docs_instance PARTITION OF docs_v2 FOR VALUES IN ('instance');
     CREATE TABLE docs_instance_interfaces PARTITION OF docs_v2 FOR VALUES IN ('instance_interfaces');
     CREATE TABLE docs_network_interface PARTITION OF docs_v2 FOR VALUES IN ('network_interface');
     CREATE TABLE docs_volume PARTITION OF docs_v2 FOR VALUES IN ('volume');
     CREATE TABLE docs_event PARTITION OF docs_v2 FOR VALUES IN ('event');
     CREATE TABLE docs_event_tail PARTITION OF docs_v2 FOR VALUES IN ('event_tail');
     CREATE TABLE docs_due_index PARTITION OF docs_v2 FOR VALUES IN ('due_index');
     CREATE TABLE docs_spot_request PARTITION OF docs_v2 FOR VALUES IN ('spot_request');
     CREATE TABLE docs_resource_tags PARTITION OF docs_v2 FOR VALUES IN ('resource_tags');
     CREATE TABLE docs_client_token PARTITION OF docs_v2 FOR VALUES IN ('client_token');
     CREATE TABLE docs_subnet PARTITION OF docs_v2 FOR VALUES IN ('subnet');
     CREATE TABLE docs_capacity_pool PARTITION OF docs_v2 FOR VALUES IN ('capacity_pool');
     CREATE TABLE docs_other PARTITION OF docs_v2 DEFAULT;
     INSERT INTO docs_v2 (scope, kind, id, doc) SELECT scope, kind, id, doc FROM docs;
     DROP TABLE docs;
     ALTER TABLE docs_v2 RENAME TO docs;
     ALTER INDEX docs_v2_pkey RENAME TO docs_pkey;
     CREATE INDEX docs_scopes_by_kind ON docs ((kind || ''::bytea), scope);",
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

/// The kinds the event-log sweep deletes outside `SERIALIZABLE` ([`Engine::transact_locking`]): the write statement
/// rewrites a document of these kinds that the transaction read and found with an `UPDATE` of its partition, in this
/// order (`docs_event`, `docs_event_tail`).
const SWEPT: [&str; 2] = ["event", "event_tail"];

/// One pooled connection with its prepared statements.
struct Conn {
    client: Client,
    get: Statement,
    get_many: Statement,
    /// `get` and `get_many` that lock the rows they find ([`Engine::transact_locking`]).
    get_locked: Statement,
    get_many_locked: Statement,
    write: Statement,
    scan: Statement,
    scopes: Statement,
    next_counter: Statement,
}

impl Conn {
    fn open(config: &postgres::Config) -> Result<Conn, StoreError> {
        let mut client = config.connect(NoTls).map_err(|e| engine_err("cannot connect", Chain(&e)))?;
        // Index scans take fine-grained predicate locks; a sequential scan (which the planner picks
        // for small tables) locks the whole table and turns every concurrent write into a conflict.
        // The write statement's joins (the keys it deletes and rewrites against `docs`) as nested loops: each key
        // then probes the one partition of its kind by primary key (run-time pruning), where a hash join would scan
        // every partition's index, locking it whole.
        client
            .batch_execute("SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off")
            .map_err(|e| engine_err("cannot configure", e))?;
        let mut prepare = |sql: &str| client.prepare(sql).map_err(|e| engine_err("cannot prepare", e));
        Ok(Conn {
            get: prepare("SELECT doc FROM docs WHERE scope = $1 AND kind = $2 AND id = $3")?,
            get_many: prepare("SELECT id, doc FROM docs WHERE scope = $1 AND kind = $2 AND id = ANY($3::bytea[])")?,
            get_locked: prepare("SELECT doc FROM docs WHERE scope = $1 AND kind = $2 AND id = $3 FOR UPDATE")?,
            get_many_locked: prepare(
                "SELECT id, doc FROM docs WHERE scope = $1 AND kind = $2 AND id = ANY($3::bytea[]) ORDER BY id FOR UPDATE",
            )?,
            // Every change of a transaction in one statement: the deleted keys, the rewritten event logs and tails
            // (read by the transaction and found), then the other written documents (a key is in one list at most).
            // Those rewrites are `UPDATE`s of their partitions ([`SWEPT`]), so that one deleted since the
            // transaction's snapshot fails it (SQLSTATE 40001) even when the deleting transaction was not
            // `SERIALIZABLE` (the event-log sweep's, [`Engine::transact_locking`]), where an insert would bring it
            // back alone (an event tail without its log).
            write: prepare(
                "WITH gone AS (
                     DELETE FROM docs d USING unnest($1::bytea[], $2::bytea[], $3::bytea[]) AS x(scope, kind, id)
                     WHERE d.scope = x.scope AND d.kind = x.kind AND d.id = x.id
                 ), logs AS (
                     UPDATE docs_event d SET doc = x.doc
                     FROM unnest($4::bytea[], $5::bytea[], $6::text[]) AS x(scope, id, doc)
                     WHERE d.scope = x.scope AND d.kind = 'event'::bytea AND d.id = x.id
                 ), tails AS (
                     UPDATE docs_event_tail d SET doc = x.doc
                     FROM unnest($7::bytea[], $8::bytea[], $9::text[]) AS x(scope, id, doc)
                     WHERE d.scope = x.scope AND d.kind = 'event_tail'::bytea AND d.id = x.id
                 )
                 INSERT INTO docs (scope, kind, id, doc)
                 SELECT * FROM unnest($10::bytea[], $11::bytea[], $12::bytea[], $13::text[])
                 ON CONFLICT (scope, kind, id) DO UPDATE SET doc = EXCLUDED.doc",
            )?,
            scan: prepare("SELECT id, doc FROM docs WHERE scope = $1 AND kind = $2 ORDER BY id")?,
            // `kind || ''` names the expression of the index `docs_scopes_by_kind` (migration 2).
            scopes: prepare("SELECT DISTINCT scope FROM docs WHERE kind || ''::bytea = $1 ORDER BY scope")?,
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

/// A node's block of values of one ID counter.
#[derive(Default)]
struct IdBlock {
    /// The generation the block was reserved in.
    generation: i64,
    /// Values given back by transactions that did not commit, handed out first (lowest first).
    returned: BTreeSet<u64>,
    /// The next value of the block, and its end (exclusive).
    next: u64,
    end: u64,
}

impl IdBlock {
    fn take(&mut self) -> Option<u64> {
        if let Some(v) = self.returned.pop_first() {
            return Some(v);
        }
        (self.next < self.end).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
}

pub struct PostgresEngine {
    config: postgres::Config,
    pool: Mutex<Pool>,
    returned: Condvar,
    /// The connection that reserves ID blocks (autocommit, one statement each), opened on first use.
    reserver: Mutex<Option<Client>>,
    /// This node's ID blocks by counter name.
    ids: Mutex<HashMap<String, IdBlock>>,
    /// The advisory lock keys of hot documents (changed by a transaction that lost a conflict), with when
    /// that last happened.
    hot: Mutex<HashMap<i64, Instant>>,
    /// By the hints of a transaction ([`hints_tag`]), what the last transaction with those hints needed.
    learned: Mutex<HashMap<u64, Learned>>,
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
            // A body that panicked may have left its transaction open: that connection is not reused.
            Some(conn) if !conn.client.is_closed() && !std::thread::panicking() => pool.idle.push(conn),
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
            reserver: Mutex::new(None),
            ids: Mutex::new(HashMap::new()),
            hot: Mutex::new(HashMap::new()),
            learned: Mutex::new(HashMap::new()),
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

    /// A value of ID counter `name` for a transaction that read `generation` at its start, and the
    /// generation of the block it came from.
    fn take_id(&self, name: &str, generation: i64) -> Result<(u64, i64), StoreError> {
        let from_block = || {
            let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
            let block = ids.get_mut(name).filter(|b| b.generation >= generation)?;
            block.take().map(|v| (v, block.generation))
        };
        let started = Instant::now();
        loop {
            if let Some(found) = from_block() {
                return Ok(found);
            }
            let mut reserver = self.reserver.lock().unwrap_or_else(|p| p.into_inner());
            // Another transaction may have reserved one meanwhile.
            if let Some(found) = from_block() {
                return Ok(found);
            }
            match self.reserve(&mut reserver, name) {
                Ok(block) => {
                    let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
                    let mut block = block;
                    let v = block.take().expect("a fresh block has values");
                    let found = (v, block.generation);
                    let keep = ids.get(name).is_none_or(|old| old.generation <= block.generation);
                    if keep {
                        // What the old block of the same generation had given back stays available.
                        if let Some(old) = ids.get(name).filter(|b| b.generation == block.generation) {
                            block.returned.extend(old.returned.iter().copied());
                        }
                        ids.insert(name.to_string(), block);
                    }
                    return Ok(found);
                }
                // The counter's row is locked by a transaction (one that uses `next_counter` on the same
                // name) that may itself wait for this connection: let go, and try again.
                Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) && started.elapsed() < RETRY_BUDGET => {
                    drop(reserver);
                    std::thread::sleep(backoff(1));
                }
                Err(e) => return Err(engine_err(&format!("cannot reserve a block of {name}"), e)),
            }
        }
    }

    /// Reserves a block of `name`: one statement, committed at once, on the reserving connection. The
    /// block's generation is read in the same statement: a block of an older generation than a
    /// transaction's is never used by it.
    fn reserve(&self, reserver: &mut Option<Client>, name: &str) -> Result<IdBlock, postgres::Error> {
        if reserver.as_ref().is_none_or(Client::is_closed) {
            let mut client = self.config.connect(NoTls)?;
            client.batch_execute("SET lock_timeout = '50ms'")?;
            *reserver = Some(client);
        }
        let client = reserver.as_mut().expect("connected above");
        let size = ID_BLOCK as i64;
        let row = client.query_one(
            "WITH g AS (SELECT COALESCE((SELECT value FROM meta WHERE key = $3), '0') AS generation)
             INSERT INTO counters (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = counters.value + $2
             RETURNING value, (SELECT generation FROM g)",
            &[&name.as_bytes(), &size, &GENERATION_KEY],
        )?;
        let (last, generation): (i64, String) = (row.get(0), row.get(1));
        let last = u64::try_from(last).unwrap_or(0).max(ID_BLOCK);
        Ok(IdBlock {
            generation: generation.parse().unwrap_or(0),
            returned: BTreeSet::new(),
            next: last + 1 - ID_BLOCK,
            end: last + 1,
        })
    }

    /// Marks the documents of `keys` hot (a transaction that changed them lost a conflict, or one that held their
    /// locks committed).
    fn heat(&self, keys: &[i64]) {
        let now = Instant::now();
        let mut hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        if hot.len() + keys.len() > MAX_HOT {
            hot.retain(|_, at| now.duration_since(*at) < HOT_FOR);
        }
        for k in keys.iter().filter(|k| **k != EVERYTHING_LOCK) {
            if hot.len() < MAX_HOT || hot.contains_key(k) {
                hot.insert(*k, now);
            }
        }
    }

    /// Whether the document of lock key `k` is hot.
    fn is_hot(&self, k: i64) -> bool {
        let hot = self.hot.lock().unwrap_or_else(|p| p.into_inner());
        hot.get(&k).is_some_and(|at| at.elapsed() < HOT_FOR)
    }

    /// The locks a transaction with `hints` takes before its first attempt: those of the hinted documents
    /// that are hot, and those of the hot documents the last transaction with the same hints (`tag`) had
    /// to lock. A first attempt that would read them unlocked would stop there and start again under them.
    /// Also the documents the last one read ([`Learned::reads`]), to read at `BEGIN`.
    fn prelocks(&self, hints: &[Hint], tag: Option<u64>) -> (BTreeSet<i64>, Vec<Key>) {
        let (learned, reads) = tag
            .and_then(|t| {
                let learned = self.learned.lock().unwrap_or_else(|p| p.into_inner());
                learned.get(&t).filter(|l| l.at.elapsed() < LEARNED_FOR).map(|l| (l.locks.clone(), l.reads.clone()))
            })
            .unwrap_or_default();
        let hinted = hints.iter().map(|h| lock_key(&h.scope, h.kind, &h.id));
        let mut locks: BTreeSet<i64> = hinted.chain(learned).filter(|k| self.is_hot(*k)).collect();
        if locks.len() > MAX_LOCKS {
            locks = BTreeSet::from([EVERYTHING_LOCK]);
        }
        (locks, reads)
    }

    /// Remembers the locks a transaction with the hints of `tag` ended up holding (unless it took the one for
    /// everything, which the next one should not take before it knows it must), and the documents it read and
    /// found. A transaction that needed no lock leaves the locks learned before (it ran while they were cold;
    /// they may be hot again for the next one).
    fn learn(&self, tag: u64, locked: &BTreeSet<i64>, reads: Vec<Key>) {
        let now = Instant::now();
        let mut learned = self.learned.lock().unwrap_or_else(|p| p.into_inner());
        let locks = match learned.get_mut(&tag) {
            Some(old) if locked.is_empty() => std::mem::take(&mut old.locks),
            _ if locked.contains(&EVERYTHING_LOCK) => Vec::new(),
            _ => locked.iter().copied().collect(),
        };
        if learned.len() >= MAX_HOT && !learned.contains_key(&tag) {
            learned.retain(|_, l| now.duration_since(l.at) < LEARNED_FOR);
            if learned.len() >= MAX_HOT {
                return;
            }
        }
        learned.insert(tag, Learned { locks, reads, at: now });
    }

    /// Gives back the ID values of a transaction that did not commit.
    fn give_back(&self, taken: Vec<(String, u64, i64)>) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        for (name, v, generation) in taken {
            if let Some(block) = ids.get_mut(&name).filter(|b| b.generation == generation) {
                block.returned.insert(v);
            }
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

type Key = (String, String, String);

/// A document's advisory lock key: FNV-1a of its key, the same on every node.
fn lock_key(scope: &str, kind: &str, id: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [scope, kind, id] {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h as i64
}

/// What identifies a set of hints (whatever their order): the transactions that give the same hints are
/// likely to read and change the same documents. `None` without hints.
fn hints_tag(hints: &[Hint]) -> Option<u64> {
    let mut keys: Vec<i64> = hints.iter().map(|h| lock_key(&h.scope, h.kind, &h.id)).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().reduce(|a, b| a.rotate_left(5) ^ b).map(|t| t as u64)
}

/// What an attempt leaves: for the next attempt, the IDs it took; once committed, what it needed, for the next
/// transaction with the same hints ([`Learned`]).
#[derive(Default)]
struct Found {
    /// The documents it read by key, found or not.
    reads: Vec<Key>,
    /// The advisory locks it held that it used ([`used_locks`]).
    locks: BTreeSet<i64>,
    /// The IDs of the attempts that did not commit: the next attempt takes them first ([`kept_id`]).
    ids: Vec<(String, u64, i64)>,
}

/// Of the advisory locks `locked` a committed attempt held, those of the documents it read by key or wrote
/// (`touched`), and the lock for everything if held. A lock taken only because the last transaction with the same
/// hints needed it (a launch that swept its scope's event logs locked the sweep's mark; the next ones of its zone
/// do not read it) is not passed on, nor kept hot: otherwise every launch of every zone whose last launch once
/// swept would queue on that one mark, for as long as they keep committing.
fn used_locks<'k>(locked: &BTreeSet<i64>, touched: impl Iterator<Item = &'k Key>) -> BTreeSet<i64> {
    let mut used: BTreeSet<i64> = touched.map(|(s, k, i)| lock_key(s, k, i)).filter(|l| locked.contains(l)).collect();
    if locked.contains(&EVERYTHING_LOCK) {
        used.insert(EVERYTHING_LOCK);
    }
    used
}

/// One attempt's transaction: what it read and wrote, kept until it ends.
struct PgTx<'a> {
    engine: &'a PostgresEngine,
    conn: &'a mut Conn,
    /// The advisory locks the attempt holds.
    locked: &'a BTreeSet<i64>,
    /// A hot document the attempt read without holding its lock: it stops, and runs again holding it.
    restart: Option<i64>,
    /// The ID generation read at `BEGIN`.
    generation: i64,
    /// Documents read (and what was found), by key.
    reads: HashMap<Key, Option<DocRef>>,
    /// Documents read at `BEGIN` that the body has not asked for (yet).
    unasked: HashSet<Key>,
    /// The documents the body read by key (found or not; not those of scans), for the next transaction with the
    /// same hints to read at `BEGIN`.
    asked: Vec<Key>,
    /// Documents written (`None`: deleted), by key.
    writes: BTreeMap<Key, Option<DocRef>>,
    /// ID values handed to this attempt, handed to the next attempt first unless it commits.
    taken: Vec<(String, u64, i64)>,
    /// ID values handed to the attempts before, handed out again first ([`kept_id`]).
    kept: &'a mut Vec<(String, u64, i64)>,
    /// The first failed statement: PostgreSQL refuses every later one in this transaction.
    failed: Option<postgres::Error>,
    /// A transaction whose reads lock the rows they find, at `READ COMMITTED` ([`Engine::transact_locking`]): no
    /// hot documents, no predicate locks.
    locking: bool,
}

impl PgTx<'_> {
    fn check(&self) -> Result<(), StoreError> {
        if self.restart.is_some() {
            return Err(engine_err("a hot document", "read again under its lock"));
        }
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

    /// A hot document is read under its advisory lock, taken before the snapshot: the transactions that change it
    /// then queue instead of failing each other at commit. Outside a locking transaction (whose reads lock their
    /// rows), reading one without its lock stops the attempt, which runs again holding it.
    fn refuse_hot(&mut self, scope: &str, kind: &str, id: &str) -> Result<(), StoreError> {
        let lock = lock_key(scope, kind, id);
        let covered = self.locked.contains(&lock) || self.locked.contains(&EVERYTHING_LOCK);
        if !self.locking && !covered && self.locked.len() < MAX_LOCKS && self.engine.is_hot(lock) {
            self.restart = Some(lock);
            return Err(engine_err("a hot document", "read again under its lock"));
        }
        Ok(())
    }

    /// Whether this attempt read the document at `key` and found it.
    fn read_found(&self, key: &Key) -> bool {
        matches!(self.reads.get(key), Some(Some(_)))
    }

    /// Writes every change in one statement.
    fn flush(&mut self) -> Result<(), StoreError> {
        self.check()?;
        if self.writes.is_empty() {
            return Ok(());
        }
        // Key columns: the deleted keys (scope, kind, id), the rewritten logs' and tails' (scope, id), then the
        // other written keys (scope, kind, id); and the documents of the last three.
        let mut keys: [Vec<&[u8]>; 10] = Default::default();
        let mut docs: [Vec<&str>; 3] = Default::default();
        for (key, doc) in &self.writes {
            let (s, k, i) = key;
            let Some(doc) = doc else {
                keys[0].push(s.as_bytes());
                keys[1].push(k.as_bytes());
                keys[2].push(i.as_bytes());
                continue;
            };
            let swept = SWEPT.iter().position(|kind| kind == k);
            match swept {
                Some(n) if self.read_found(key) => {
                    keys[3 + 2 * n].push(s.as_bytes());
                    keys[4 + 2 * n].push(i.as_bytes());
                    docs[n].push(doc.text()?);
                }
                _ => {
                    keys[7].push(s.as_bytes());
                    keys[8].push(k.as_bytes());
                    keys[9].push(i.as_bytes());
                    docs[2].push(doc.text()?);
                }
            }
        }
        // A new tail beside a log this transaction read and found (a resource's first transition after its
        // log's): the log is rewritten as it was read, so that a sweep's delete of it since fails this
        // transaction instead of leaving the new tail without its log.
        for ((s, k, i), _) in self.writes.iter().filter(|(key, doc)| doc.is_some() && !self.read_found(key)) {
            if k != SWEPT[1] {
                continue;
            }
            let log = key(s, SWEPT[0], i);
            if let (Some(Some(read)), false) = (self.reads.get(&log), self.writes.contains_key(&log)) {
                keys[3].push(s.as_bytes());
                keys[4].push(i.as_bytes());
                docs[0].push(read.text()?);
            }
        }
        let [k0, k1, k2, k3, k4, k5, k6, k7, k8, k9] = &keys;
        let [logs, tails, written] = &docs;
        let params: [&(dyn postgres::types::ToSql + Sync); 13] =
            [k0, k1, k2, k3, k4, logs, k5, k6, tails, k7, k8, k9, written];
        let result = self.conn.client.execute(&self.conn.write, &params);
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The advisory lock keys of the documents this attempt read and then changed (what two transactions
    /// conflict on; new documents do not need one), sorted.
    fn write_locks(&self) -> Vec<i64> {
        let changed = self.writes.keys().filter(|k| matches!(self.reads.get(*k), Some(Some(_))));
        let keys: BTreeSet<i64> = changed.map(|(s, k, i)| lock_key(s, k, i)).collect();
        keys.into_iter().collect()
    }
}

fn text(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|e| engine_err("a stored key is not UTF-8", e))
}

fn key(scope: &str, kind: &str, id: &str) -> Key {
    (scope.to_string(), kind.to_string(), id.to_string())
}

impl Tx for PgTx<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        self.check()?;
        let k = key(scope, kind, id);
        if let Some(doc) = self.writes.get(&k).or_else(|| self.reads.get(&k)) {
            let doc = doc.clone();
            if self.unasked.remove(&k) {
                self.asked.push(k);
            }
            return Ok(doc);
        }
        self.refuse_hot(scope, kind, id)?;
        let (s, kd, i) = (scope.as_bytes(), kind.as_bytes(), id.as_bytes());
        let get = if self.locking { &self.conn.get_locked } else { &self.conn.get };
        match self.conn.client.query_opt(get, &[&s, &kd, &i]) {
            Ok(row) => {
                let doc = row.map(|r| Doc::new(r.get(0)));
                self.asked.push(k.clone());
                self.reads.insert(k, doc.clone());
                Ok(doc)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The documents not read yet in one query; like [`PgTx::get`], a hot one without its lock restarts the
    /// attempt. Not passed on to the next transaction with the same hints (a sweep's victims).
    fn get_many(&mut self, scope: &str, kind: &str, ids: &[&str]) -> Result<Vec<Option<DocRef>>, StoreError> {
        self.check()?;
        let mut wanted: Vec<&[u8]> = Vec::new();
        for id in ids {
            let k = key(scope, kind, id);
            if self.writes.contains_key(&k) || self.reads.contains_key(&k) {
                continue;
            }
            self.refuse_hot(scope, kind, id)?;
            wanted.push(id.as_bytes());
        }
        if !wanted.is_empty() {
            let (s, kd) = (scope.as_bytes(), kind.as_bytes());
            let get_many = if self.locking { &self.conn.get_many_locked } else { &self.conn.get_many };
            let rows = match self.conn.client.query(get_many, &[&s, &kd, &wanted]) {
                Ok(rows) => rows,
                Err(e) => return Err(self.fail(e)),
            };
            let mut found: HashMap<String, DocRef> = HashMap::with_capacity(rows.len());
            for r in rows {
                found.insert(text(r.get(0))?, Doc::new(r.get(1)));
            }
            for id in wanted {
                let id = std::str::from_utf8(id).map_err(|e| engine_err("a key is not UTF-8", e))?;
                let doc = found.remove(id);
                self.reads.insert(key(scope, kind, id), doc);
            }
        }
        ids.iter()
            .map(|id| {
                let k = key(scope, kind, id);
                Ok(self.writes.get(&k).or_else(|| self.reads.get(&k)).cloned().flatten())
            })
            .collect()
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        self.check()?;
        self.writes.insert(key(scope, kind, id), Some(doc));
        Ok(())
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let existed = self.get(scope, kind, id)?.is_some();
        self.writes.insert(key(scope, kind, id), None);
        Ok(existed)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        self.check()?;
        let (s, k) = (scope.as_bytes(), kind.as_bytes());
        let rows = match self.conn.client.query(&self.conn.scan, &[&s, &k]) {
            Ok(rows) => rows,
            Err(e) => return Err(self.fail(e)),
        };
        let mut found = BTreeMap::new();
        for r in rows {
            let id = text(r.get(0))?;
            let doc = Doc::new(r.get(1));
            self.reads.insert(key(scope, kind, &id), Some(doc.clone()));
            found.insert(id, doc);
        }
        // This transaction's own changes of that scope and kind.
        let from = key(scope, kind, "");
        for ((s, k, id), doc) in self.writes.range(from..) {
            if s != scope || k != kind {
                break;
            }
            match doc {
                Some(doc) => found.insert(id.clone(), doc.clone()),
                None => found.remove(id),
            };
        }
        Ok(found.into_iter().collect())
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        // Rare: the database answers once it has this transaction's changes.
        self.flush()?;
        let k = kind.as_bytes();
        match self.conn.client.query(&self.conn.scopes, &[&k]) {
            Ok(rows) => rows.into_iter().map(|r| text(r.get(0))).collect(),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.check()?;
        let n = name.as_bytes();
        match self.conn.client.query_one(&self.conn.next_counter, &[&n]) {
            Ok(row) => {
                let v: i64 = row.get(0);
                u64::try_from(v).map_err(|e| engine_err(&format!("counter {name} is {v}"), e))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn next_id(&mut self, name: &str) -> Result<u64, StoreError> {
        self.check()?;
        let (v, generation) = match kept_id(self.kept, name, self.generation) {
            Some(found) => found,
            None => self.engine.take_id(name, self.generation)?,
        };
        self.taken.push((name.to_string(), v, generation));
        Ok(v)
    }
}

/// A read-only transaction on a snapshot ([`Engine::read_snapshot`]): `REPEATABLE READ READ ONLY`, which takes no
/// predicate locks, so no `SERIALIZABLE` transaction conflicts with it however much it reads.
struct PgSnapshot<'a> {
    conn: &'a mut Conn,
}

impl PgSnapshot<'_> {
    fn read_only() -> StoreError {
        StoreError::Engine("postgres: a write in a read-only snapshot".into())
    }
}

impl Tx for PgSnapshot<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        let (s, k, i) = (scope.as_bytes(), kind.as_bytes(), id.as_bytes());
        let row =
            self.conn.client.query_opt(&self.conn.get, &[&s, &k, &i]).map_err(|e| engine_err("query failed", e))?;
        Ok(row.map(|r| Doc::new(r.get(0))))
    }

    fn put(&mut self, _: &str, _: &str, _: &str, _: DocRef) -> Result<(), StoreError> {
        Err(Self::read_only())
    }

    fn delete(&mut self, _: &str, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(Self::read_only())
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        let (s, k) = (scope.as_bytes(), kind.as_bytes());
        let rows = self.conn.client.query(&self.conn.scan, &[&s, &k]).map_err(|e| engine_err("query failed", e))?;
        rows.into_iter().map(|r| Ok((text(r.get(0))?, Doc::new(r.get(1))))).collect()
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        let k = kind.as_bytes();
        let rows = self.conn.client.query(&self.conn.scopes, &[&k]).map_err(|e| engine_err("query failed", e))?;
        rows.into_iter().map(|r| text(r.get(0))).collect()
    }

    fn next_counter(&mut self, _: &str) -> Result<u64, StoreError> {
        Err(Self::read_only())
    }

    fn next_id(&mut self, _: &str) -> Result<u64, StoreError> {
        Err(Self::read_only())
    }
}

/// The first value of ID counter `name` that an earlier attempt of the transaction took (of a generation not older
/// than the attempt's), taken out of `kept`. A transaction that starts again gets the same IDs in the same order: a
/// launch that restarts under the lock of the sweep's mark still makes the log that calls for the sweep, rather than
/// handing that value to another launch, which would read the mark and restart in turn.
fn kept_id(kept: &mut Vec<(String, u64, i64)>, name: &str, generation: i64) -> Option<(u64, i64)> {
    let at = kept.iter().position(|(n, _, g)| n == name && *g >= generation)?;
    let (_, v, g) = kept.remove(at);
    Some((v, g))
}

/// How one run of a transaction body ended.
enum Attempt {
    Done(Result<(), Abort>),
    /// A serialization conflict: run the body again holding the locks of what it wrote.
    Conflict(postgres::Error, Vec<i64>),
    /// The body read a hot document without its lock: run it again at once holding it (and the locks of the
    /// other hot documents it read).
    Restart(Vec<i64>),
}

/// Appends `s` as a `BYTEA` literal of the simple query protocol (`'\\x...'`: hex digits only).
fn push_bytea_literal(out: &mut String, s: &str) {
    out.push_str("'\\x");
    for b in s.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out.push_str("'::bytea");
}

/// `BEGIN`, the ID generation and the documents `prefetch` (each by its primary key, as [`PgTx::get`] reads
/// one), in one round trip; with `locks`, first the session's advisory locks are replaced by those (taken in key
/// order, in a transaction of their own: the `SERIALIZABLE` snapshot is taken once they are granted, so it sees
/// the commits of their previous holders), in the same round trip.
fn begin(
    client: &mut Client,
    locks: Option<&BTreeSet<i64>>,
    prefetch: &[Key],
    locking: bool,
) -> Result<(i64, Vec<Option<String>>), postgres::Error> {
    let mut sql = String::new();
    // Statements end with their `CommandComplete`: the locks' four (BEGIN, release, take, COMMIT), then
    // BEGIN's, then the generation's, then one per document.
    let mut first = 0;
    if let Some(locks) = locks {
        sql.push_str("BEGIN; SELECT pg_advisory_unlock_all(); SELECT pg_advisory_lock(k) FROM unnest(ARRAY[");
        for (n, k) in locks.iter().enumerate() {
            let _ = write!(sql, "{}{k}", if n == 0 { "" } else { "," });
        }
        sql.push_str("]::int8[]) AS k; COMMIT; ");
        first = 4;
    }
    let isolation = if locking { "READ COMMITTED" } else { "SERIALIZABLE" };
    let _ = write!(
        sql,
        "BEGIN ISOLATION LEVEL {isolation}; SELECT COALESCE((SELECT value FROM meta WHERE key = '{GENERATION_KEY}'), '0')"
    );
    // Each key is written into the query in place (a launch prefetches a dozen: no string per byte or part).
    for (s, k, i) in prefetch {
        sql.push_str("; SELECT doc FROM docs WHERE scope = ");
        push_bytea_literal(&mut sql, s);
        sql.push_str(" AND kind = ");
        push_bytea_literal(&mut sql, k);
        sql.push_str(" AND id = ");
        push_bytea_literal(&mut sql, i);
    }
    let mut generation = String::from("0");
    let mut docs = vec![None; prefetch.len()];
    let mut statement = 0;
    for m in client.simple_query(&sql)? {
        match m {
            SimpleQueryMessage::Row(row) if statement == first + 1 => {
                generation = row.get(0).unwrap_or("0").to_string();
            }
            SimpleQueryMessage::Row(row) if statement >= first + 2 => {
                docs[statement - first - 2] = row.get(0).map(str::to_string);
            }
            SimpleQueryMessage::CommandComplete(_) => statement += 1,
            _ => {}
        }
    }
    Ok((generation.parse().unwrap_or(0), docs))
}

/// One run of `body`, under the advisory locks `locked` (taken in `BEGIN`'s round trip when `relock`, which is
/// then cleared). `prefetch`: documents to read at `BEGIN` (but a hot one this attempt does not hold the
/// lock of, which [`PgTx::get`] refuses to read), and whether the transaction is a locking one
/// ([`Engine::transact_locking`]); `found` gets what a committed attempt read by key and the locks it
/// used, and the IDs of an attempt that did not commit.
fn attempt(
    engine: &PostgresEngine,
    conn: &mut Conn,
    locked: &BTreeSet<i64>,
    relock: &mut bool,
    (prefetch, locking): (&[Key], bool),
    found: &mut Found,
    body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>,
) -> Attempt {
    let covered = |l: i64| locked.contains(&l) || locked.contains(&EVERYTHING_LOCK) || !engine.is_hot(l);
    let prefetch: Vec<Key> = prefetch.iter().filter(|(s, k, i)| covered(lock_key(s, k, i))).cloned().collect();
    let (generation, docs) = match begin(&mut conn.client, relock.then_some(locked), &prefetch, locking) {
        Ok(g) => {
            *relock = false;
            g
        }
        Err(e) => {
            let _ = conn.client.batch_execute("ROLLBACK");
            return if is_conflict(&e) {
                Attempt::Conflict(e, Vec::new())
            } else {
                Attempt::Done(Err(Abort::Store(engine_err("cannot begin", e))))
            };
        }
    };
    let mut pg = PgTx {
        engine,
        conn,
        locked,
        restart: None,
        generation,
        unasked: prefetch.iter().cloned().collect(),
        asked: Vec::new(),
        reads: prefetch.into_iter().zip(docs).map(|(k, doc)| (k, doc.map(Doc::new))).collect(),
        writes: BTreeMap::new(),
        taken: Vec::new(),
        kept: &mut found.ids,
        failed: None,
        locking,
    };
    let mut outcome = body(&mut pg);
    if outcome.is_ok() {
        // The changes, written before COMMIT (their failure is the transaction's).
        if let Err(e) = pg.flush() {
            outcome = Err(Abort::Store(e));
        }
    }
    let failed = pg.failed.take();
    let restart = pg.restart;
    let locks = pg.write_locks();
    // The hot documents read, whose locks a restart takes: those the body asked for, not those read at `BEGIN` for
    // it that it did not ask for (a launch reads the sweep's mark at `BEGIN` when the launch before swept).
    let hot_read: Vec<i64> = pg
        .reads
        .keys()
        .filter(|k| !pg.unasked.contains(*k))
        .map(|(s, k, i)| lock_key(s, k, i))
        .filter(|l| !locked.contains(l) && engine.is_hot(*l))
        .chain(restart)
        .collect();
    let taken = std::mem::take(&mut pg.taken);
    if outcome.is_ok() && failed.is_none() && restart.is_none() {
        // Found or not (a launch looks for the same few absent documents every time: the clock, the defaults),
        // but not what scans found (a sweep's thousand event logs).
        let mut read = std::mem::take(&mut pg.asked);
        found.locks = used_locks(locked, read.iter().chain(pg.writes.keys()));
        read.sort_unstable();
        read.truncate(MAX_PREFETCH);
        found.reads = read;
    }
    drop(pg);
    let client = &mut conn.client;
    // Whatever the body made of a failed statement, the transaction is aborted: never report a commit.
    let result = match (restart, failed, outcome) {
        (Some(_), _, _) => Attempt::Restart(hot_read),
        (None, Some(e), _) if is_conflict(&e) => Attempt::Conflict(e, locks),
        (None, Some(e), Ok(())) => Attempt::Done(Err(Abort::Store(engine_err("query failed", e)))),
        (None, _, Err(abort)) => Attempt::Done(Err(abort)),
        (None, None, Ok(())) => {
            // With advisory locks held, they go in the same round trip as the COMMIT.
            let commit = if locked.is_empty() { "COMMIT" } else { "COMMIT; SELECT pg_advisory_unlock_all()" };
            match client.batch_execute(commit) {
                Ok(()) => {
                    return Attempt::Done(Ok(()));
                }
                Err(e) if is_conflict(&e) => Attempt::Conflict(e, locks),
                Err(e) => Attempt::Done(Err(Abort::Store(engine_err("cannot commit", e)))),
            }
        }
    };
    // Not committed: roll back (a no-op after a failed COMMIT); the IDs go to the next attempt first, in the order
    // taken (those given back when the transaction is over). (When even the rollback fails the connection is broken,
    // and the pool drops it.)
    let _ = client.batch_execute("ROLLBACK");
    let unused = std::mem::replace(&mut found.ids, taken);
    found.ids.extend(unused);
    result
}

/// The locks to hold after `held` once `wanted` are needed too: all of them, or, beyond [`MAX_LOCKS`], the lock
/// for everything beside those already held (a transaction that held its zone's subnet and pool keeps queueing
/// with that zone's launches instead of racing them under the lock for everything alone).
fn with_locks(held: BTreeSet<i64>, wanted: Vec<i64>) -> BTreeSet<i64> {
    let mut all = held.clone();
    all.extend(wanted);
    if all.len() <= MAX_LOCKS {
        return all;
    }
    let mut kept = held;
    kept.insert(EVERYTHING_LOCK);
    kept
}

/// A random pause before retry number `n` (1-based): up to 1 ms, doubling, capped at 32 ms.
fn backoff(n: u32) -> Duration {
    let cap_us = 1000u64 << n.min(5);
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    Duration::from_micros(random % cap_us)
}

impl PostgresEngine {
    /// [`Engine::transact_hinted`], or with `locking` [`Engine::transact_locking`].
    fn run(
        &self,
        hints: &[Hint],
        locking: bool,
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let mut lease = self.lease()?;
        let started = Instant::now();
        let mut retries = 0u32;
        let tag = hints_tag(hints);
        // The advisory locks held (session-level, released when the transaction is done): at first, those
        // of the hot documents the hints name or led to last time.
        let (mut locked, prefetch) = self.prelocks(hints, tag);
        // What the committed attempt read by key, for the next transaction with the same hints.
        let mut found = Found::default();
        let conn = lease.conn.as_mut().expect("a lease holds a connection");
        // Whether the locks went with the COMMIT (a committed attempt releases them in its round trip).
        let mut released = false;
        // Whether the next attempt takes `locked` (in its BEGIN's round trip) rather than running under the locks
        // the session holds.
        let mut relock = !locked.is_empty();
        let result = loop {
            let wanted = match attempt(self, conn, &locked, &mut relock, (&prefetch, locking), &mut found, body) {
                Attempt::Done(result) => {
                    released = result.is_ok();
                    break result;
                }
                Attempt::Restart(keys) => keys,
                Attempt::Conflict(e, keys) => {
                    // Row locks order a locking transaction: it only ever deadlocks, and runs again without advisory
                    // locks, heating nothing.
                    let keys = if locking { Vec::new() } else { keys };
                    self.heat(&keys);
                    if started.elapsed() >= RETRY_BUDGET {
                        break Err(Abort::Store(engine_err(
                            &format!("still conflicting after {retries} retries in {:?}", started.elapsed()),
                            e,
                        )));
                    }
                    retries += 1;
                    if retries > 1 {
                        std::thread::sleep(backoff(retries));
                    }
                    if keys.is_empty() && !locking {
                        vec![EVERYTHING_LOCK]
                    } else {
                        keys
                    }
                }
            };
            let before = locked.len();
            locked = with_locks(locked, wanted);
            if locked.len() != before {
                relock = true;
            }
        };
        // The IDs no attempt took again (all of them, if none committed).
        self.give_back(std::mem::take(&mut found.ids));
        if result.is_ok() && !found.locks.is_empty() {
            // Still fought over: the documents stay hot while transactions holding their locks and using them keep
            // committing (they were queued on a lock, or could have been), so the next ones of either node take the
            // locks first rather than losing a conflict to cool them down again.
            let keys: Vec<i64> = found.locks.iter().copied().collect();
            self.heat(&keys);
        }
        if let (Some(tag), true) = (tag, result.is_ok()) {
            self.learn(tag, &found.locks, found.reads);
        }
        // A connection that cannot release its locks must not be reused: close it (the pool drops it).
        if !locked.is_empty() && !released && conn.client.batch_execute("SELECT pg_advisory_unlock_all()").is_err() {
            lease.conn = None;
        }
        result
    }
}

impl Engine for PostgresEngine {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        self.transact_hinted(&[], body)
    }

    fn takes_hints(&self) -> bool {
        true
    }

    fn transact_hinted(
        &self,
        hints: &[Hint],
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        self.run(hints, false, body)
    }

    /// At `READ COMMITTED`, every read by key `SELECT ... FOR UPDATE`: the rows the body reads stay as it read them
    /// until it commits (a concurrent writer waits, and a `SERIALIZABLE` one then retries), and it takes no predicate
    /// locks, so no concurrent transaction fails for what it read. Retried on a deadlock or unique violation.
    fn transact_locking(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        self.run(&[], true, body)
    }

    fn read_snapshot(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        let mut lease = self.lease()?;
        let conn = lease.conn.as_mut().expect("a lease holds a connection");
        conn.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(|e| Abort::Store(engine_err("cannot begin", e)))?;
        let outcome = body(&mut PgSnapshot { conn: &mut *conn });
        // Nothing to keep: a read-only transaction ends the same either way. A connection that cannot end it is
        // not reused.
        if conn.client.batch_execute("ROLLBACK").is_err() {
            lease.conn = None;
        }
        outcome
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

    /// Drops every document and counter, and starts a new ID generation: no node hands out a value of a
    /// block it reserved before.
    fn reset(&self) -> Result<(), StoreError> {
        let mut lease = self.lease()?;
        let conn = lease.conn.as_mut().expect("a lease holds a connection");
        let started = Instant::now();
        let mut retries = 0u32;
        loop {
            let result = conn
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::Serializable)
                .start()
                .and_then(|mut tx| {
                    tx.batch_execute(&format!(
                        "DELETE FROM docs; DELETE FROM counters;
                         INSERT INTO meta (key, value) VALUES ('{GENERATION_KEY}', '1')
                         ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text"
                    ))?;
                    tx.commit()
                });
            match result {
                Ok(()) => {
                    self.ids.lock().unwrap_or_else(|p| p.into_inner()).clear();
                    return Ok(());
                }
                Err(e) if is_conflict(&e) && started.elapsed() < RETRY_BUDGET => {
                    retries += 1;
                    std::thread::sleep(backoff(retries));
                }
                Err(e) => return Err(engine_err("cannot reset", e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_locks_of_documents_read_or_written_are_passed_on() {
        let subnet = key("acct", "subnet", "subnet-1");
        let pool = key("-", "capacity_pool", "us-east-1a/t3.micro");
        let mark = key("acct", "event_sweep", "sweep");
        let instance = key("acct", "instance", "i-1");
        let lock = |k: &Key| lock_key(&k.0, &k.1, &k.2);
        // A launch holding its zone's locks and the sweep mark's (learned from the launch before, which swept) read
        // the subnet and wrote the pool and an instance: the mark's lock is not passed on.
        let locked: BTreeSet<i64> = [lock(&subnet), lock(&pool), lock(&mark)].into();
        let touched = [subnet.clone(), pool.clone(), instance.clone()];
        assert_eq!(used_locks(&locked, touched.iter()), [lock(&subnet), lock(&pool)].into());
        // The one that swept read the mark: passed on.
        let touched = [subnet.clone(), mark.clone()];
        assert_eq!(used_locks(&locked, touched.iter()), [lock(&subnet), lock(&mark)].into());
        // The lock for everything stays (the next one then learns no lock, as before).
        let everything: BTreeSet<i64> = [lock(&subnet), EVERYTHING_LOCK].into();
        assert_eq!(used_locks(&everything, [instance].iter()), [EVERYTHING_LOCK].into());
        assert!(used_locks(&BTreeSet::new(), [subnet].iter()).is_empty());
    }

    #[test]
    fn an_attempt_gets_the_ids_of_the_attempt_before_in_order() {
        let mut kept =
            vec![("instance".to_string(), 7, 1), ("event-logs".to_string(), 128, 1), ("instance".to_string(), 9, 1)];
        assert_eq!(kept_id(&mut kept, "instance", 1), Some((7, 1)));
        assert_eq!(kept_id(&mut kept, "event-logs", 1), Some((128, 1)));
        assert_eq!(kept_id(&mut kept, "volume", 1), None, "none of that counter");
        // A value of a block reserved before a reset the attempt saw is not handed out again.
        assert_eq!(kept_id(&mut kept, "instance", 2), None);
        assert_eq!(kept_id(&mut kept, "instance", 1), Some((9, 1)));
        assert!(kept.is_empty());
    }

    #[test]
    fn locks_beyond_the_bound_keep_those_held_beside_the_lock_for_everything() {
        let held: BTreeSet<i64> = [3, 9].into();
        assert_eq!(with_locks(held.clone(), vec![5, 9]), [3, 5, 9].into());
        let many: Vec<i64> = (100..100 + MAX_LOCKS as i64).collect();
        assert_eq!(with_locks(held.clone(), many), [3, 9, EVERYTHING_LOCK].into());
        let exactly: Vec<i64> = (100..100 + MAX_LOCKS as i64 - 2).collect();
        assert_eq!(with_locks(held, exactly).len(), MAX_LOCKS);
    }
}

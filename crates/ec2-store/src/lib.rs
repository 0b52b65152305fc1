//! The store: every piece of ec2d state, behind one small transactional API.
//!
//! Data model: documents addressed by `(scope, kind, id)` with a JSON body, plus named counters.
//! `scope` is `account/region` for resources, or [`GLOBAL`] for server-wide state (the virtual clock).
//! Scans return one kind of one scope in ascending id order, so every `Describe*` is deterministic.
//!
//! Engines implement [`Engine`]: run a closure as one serializable transaction, commit only when it
//! returns `Ok`, and report a commit only once it is durable (for the engines that persist). The
//! engines: [`memory`] (`--ephemeral`), [`sqlite`] (embedded and durable, the default) and
//! [`postgres`] (several nodes, one state). Every engine must pass [`conformance`] unchanged; the
//! persistent ones migrate their schema at startup ([`schema`]).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub mod conformance;
pub mod memory;
pub mod postgres;
pub mod records;
pub mod schema;
pub mod sqlite;

/// The scope of server-wide documents.
pub const GLOBAL: &str = "-";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The engine failed (IO, connection, corruption). Maps to a 500 InternalError.
    Engine(String),
    /// A stored document could not be read back as its record type.
    Corrupt { kind: String, id: String, reason: String },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Engine(e) => write!(f, "store engine error: {e}"),
            StoreError::Corrupt { kind, id, reason } => write!(f, "stored {kind} {id} is unreadable: {reason}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why a transaction closure stopped without committing.
pub enum Abort {
    /// The caller's own error: roll back and hand it back.
    Rollback,
    Store(StoreError),
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

/// The operations available inside a transaction.
pub trait Tx {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<String>, StoreError>;
    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: String) -> Result<(), StoreError>;
    /// Whether a document was there.
    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError>;
    /// Every document of `kind` in `scope`, ascending by id.
    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// The scopes that hold at least one document of `kind`, ascending.
    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError>;
    /// Increments the counter `name` and returns its new value (the first call returns 1).
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError>;
}

pub trait Engine: Send + Sync {
    fn name(&self) -> &'static str;
    /// Runs `body` as one transaction and commits it if it returns `Ok`. An engine may run `body`
    /// more than once (on a serialization conflict), so `body` must not have other side effects.
    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort>;
    /// Drops every document and counter.
    fn reset(&self) -> Result<(), StoreError>;
    /// Whether the store answers, cheaply (for `/_ec2d/health`): one trivial round trip.
    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A stored record type: a kind name and an id, serialized as JSON.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn id(&self) -> &str;
}

#[derive(Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
}

impl Store {
    pub fn new(engine: Arc<dyn Engine>) -> Self {
        Store { engine }
    }

    pub fn memory() -> Self {
        Store::new(Arc::new(memory::MemoryEngine::default()))
    }

    /// The embedded, durable engine on the data directory `dir` (created if missing).
    pub fn sqlite(dir: &std::path::Path) -> Result<Self, StoreError> {
        Ok(Store::new(Arc::new(sqlite::SqliteEngine::open(dir)?)))
    }

    /// The PostgreSQL engine on the database at `url` (`postgres://...`).
    pub fn postgres(url: &str) -> Result<Self, StoreError> {
        Ok(Store::new(Arc::new(postgres::PostgresEngine::connect(url)?)))
    }

    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    pub fn reset(&self) -> Result<(), StoreError> {
        self.engine.reset()
    }

    /// Whether the store answers (one trivial round trip).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.engine.ping()
    }

    /// Runs `f` in one transaction: commits when it returns `Ok`, rolls back and returns its error
    /// otherwise. `f` may run more than once.
    pub fn transact<T, E>(&self, mut f: impl FnMut(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut outcome: Option<Result<T, E>> = None;
        let result = self.engine.transact(&mut |tx| {
            let mut txn = Txn { tx };
            match f(&mut txn) {
                Ok(v) => {
                    outcome = Some(Ok(v));
                    Ok(())
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    Err(Abort::Rollback)
                }
            }
        });
        match (result, outcome) {
            (Err(Abort::Store(e)), _) => Err(E::from(e)),
            (_, Some(out)) => out,
            (Ok(()) | Err(Abort::Rollback), None) => {
                Err(E::from(StoreError::Engine("transaction body never ran".into())))
            }
        }
    }
}

/// Typed access over a [`Tx`].
pub struct Txn<'a> {
    tx: &'a mut dyn Tx,
}

fn decode<R: Record>(id: &str, doc: &str) -> Result<R, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt {
        kind: R::KIND.into(),
        id: id.into(),
        reason: e.to_string(),
    })
}

impl Txn<'_> {
    pub fn raw(&mut self) -> &mut dyn Tx {
        self.tx
    }

    pub fn get<R: Record>(&mut self, scope: &str, id: &str) -> Result<Option<R>, StoreError> {
        match self.tx.get(scope, R::KIND, id)? {
            Some(doc) => decode(id, &doc).map(Some),
            None => Ok(None),
        }
    }

    pub fn put<R: Record>(&mut self, scope: &str, record: &R) -> Result<(), StoreError> {
        let doc = serde_json::to_string(record).map_err(|e| StoreError::Engine(e.to_string()))?;
        self.tx.put(scope, R::KIND, record.id(), doc)
    }

    pub fn delete<R: Record>(&mut self, scope: &str, id: &str) -> Result<bool, StoreError> {
        self.tx.delete(scope, R::KIND, id)
    }

    pub fn scan<R: Record>(&mut self, scope: &str) -> Result<Vec<R>, StoreError> {
        self.tx.scan(scope, R::KIND)?.iter().map(|(id, doc)| decode(id, doc)).collect()
    }

    pub fn scopes<R: Record>(&mut self) -> Result<Vec<String>, StoreError> {
        self.tx.scopes(R::KIND)
    }

    pub fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.tx.next_counter(name)
    }
}

//! The store: every piece of ec2d state, behind one small transactional API.
//!
//! Data model: documents addressed by `(scope, kind, id)` with a JSON body, plus named counters (gapless,
//! [`Tx::next_counter`], or only unique, for IDs: [`Tx::next_id`]).
//! `scope` is `account/region` for resources, or [`GLOBAL`] for server-wide state (the virtual clock).
//! Scans return one kind of one scope in ascending id order, so every `Describe*` is deterministic.
//!
//! Engines implement [`Engine`]: run a closure as one serializable transaction, commit only when it
//! returns `Ok`, and report a commit only once it is durable (for the engines that persist). The
//! engines: [`memory`] (`--ephemeral`), [`sqlite`] (embedded and durable, the default) and
//! [`postgres`] (several nodes, one state). Every engine must pass [`conformance`] unchanged; the
//! persistent ones migrate their schema at startup ([`schema`]).

use std::any::Any;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub mod conformance;
pub mod format;
pub mod json;
pub mod memory;
mod nested;
pub mod postgres;
pub mod records;
pub mod schema;
pub mod sqlite;
pub mod wait;

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

/// A stored document: its JSON text, and the record it encodes, kept once a typed read decoded it or a typed
/// write made it. Engines that keep documents in memory share one `Doc` between transactions, so a record is
/// decoded at most once however often it is read, and a typed read is a clone. The text of a written record is
/// made only when an engine asks for it ([`Doc::text`]): the memory engine never does.
pub struct Doc {
    text: OnceLock<String>,
    decoded: OnceLock<Arc<dyn Any + Send + Sync>>,
    /// Encodes `decoded` (set when the document was made from a record).
    encode: Option<EncodeFn>,
}

type EncodeFn = fn(&(dyn Any + Send + Sync), &mut Vec<u8>) -> Result<(), StoreError>;

/// A shared [`Doc`].
pub type DocRef = Arc<Doc>;

fn encode_any<R: Record>(any: &(dyn Any + Send + Sync), doc: &mut Vec<u8>) -> Result<(), StoreError> {
    match any.downcast_ref::<R>() {
        Some(record) => format::encode_into(record, doc),
        None => Err(StoreError::Engine(format!("a {} document holds another type", R::KIND))),
    }
}

impl Doc {
    /// A document known only by its text.
    pub fn new(text: String) -> DocRef {
        Arc::new(Doc { text: OnceLock::from(text), decoded: OnceLock::new(), encode: None })
    }

    /// A document made from a record (shared with its writer, who may keep reading it); its text is
    /// made when first asked for.
    fn with_record<R: Record>(record: Arc<R>) -> DocRef {
        let decoded: OnceLock<Arc<dyn Any + Send + Sync>> = OnceLock::new();
        let _ = decoded.set(record);
        Arc::new(Doc { text: OnceLock::new(), decoded, encode: Some(encode_any::<R>) })
    }

    /// The JSON text (with the format version first), made now from the record if need be.
    pub fn text(&self) -> Result<&str, StoreError> {
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let (Some(encode), Some(record)) = (self.encode, self.decoded.get()) else {
            return Err(StoreError::Engine("a document has neither text nor record".into()));
        };
        let mut text = Vec::with_capacity(format::ENCODE_CAPACITY);
        encode(record.as_ref(), &mut text)?;
        let text = String::from_utf8(text).map_err(|e| StoreError::Engine(e.to_string()))?;
        Ok(self.text.get_or_init(|| text))
    }

    /// The JSON text as [`Doc::text`] makes it, but made in `buf` (and not kept) when the document has none:
    /// a writer that reuses one buffer allocates nothing per document.
    pub fn text_in<'a>(&'a self, buf: &'a mut Vec<u8>) -> Result<&'a str, StoreError> {
        let json = self.json_in(buf)?;
        std::str::from_utf8(json).map_err(|e| StoreError::Engine(e.to_string()))
    }

    /// [`Doc::text_in`]'s bytes, not checked again for UTF-8: the JSON writers copy only whole `&str`s and ASCII,
    /// so what they make is UTF-8 by construction (debug builds check it). For a writer that binds the bytes as
    /// text (the check was 3% of the embedded writer's instructions).
    pub fn json_in<'a>(&'a self, buf: &'a mut Vec<u8>) -> Result<&'a [u8], StoreError> {
        if let Some(text) = self.text.get() {
            return Ok(text.as_bytes());
        }
        let (Some(encode), Some(record)) = (self.encode, self.decoded.get()) else {
            return Err(StoreError::Engine("a document has neither text nor record".into()));
        };
        encode(record.as_ref(), buf)?;
        debug_assert!(std::str::from_utf8(buf).is_ok(), "a document's JSON is not UTF-8");
        Ok(buf)
    }

    /// The same document without its text when the record is at hand (the text is made again on demand):
    /// what an engine keeps in memory after it has written the text. A document that has no text yet is
    /// itself (no new `Doc`: the embedded engine's memory and its write set share it).
    pub fn compact(doc: &DocRef) -> DocRef {
        match (doc.text.get(), doc.decoded.get(), doc.encode) {
            (Some(_), Some(record), Some(encode)) => {
                Arc::new(Doc { text: OnceLock::new(), decoded: OnceLock::from(record.clone()), encode: Some(encode) })
            }
            _ => doc.clone(),
        }
    }

    /// The record: a copy of the decoded one, or decoded (and kept) now.
    fn record<R: Record>(&self, id: &str) -> Result<R, StoreError> {
        if let Some(r) = self.decoded.get().and_then(|any| any.downcast_ref::<R>()) {
            return Ok(r.clone());
        }
        let r: R = decode(id, self.text()?)?;
        let _ = self.decoded.set(Arc::new(r.clone()));
        Ok(r)
    }

    /// The record shared, not copied: the decoded one, or decoded (and kept) now.
    fn shared<R: Record>(&self, id: &str) -> Result<Arc<R>, StoreError> {
        if let Some(Ok(r)) = self.decoded.get().map(|any| any.clone().downcast::<R>()) {
            return Ok(r);
        }
        let r: Arc<R> = Arc::new(decode(id, self.text()?)?);
        let _ = self.decoded.set(r.clone());
        Ok(r)
    }
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Doc").field(&self.text.get()).finish()
    }
}

/// The operations available inside a transaction.
pub trait Tx {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError>;
    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError>;
    /// Whether a document was there.
    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError>;
    /// Whether other transactions run beside this one, so that what it reads can make them (or it) run
    /// again: work that reads much and need not be part of it is better left for after its commit
    /// ([`Txn::after_commit`]). An engine that runs one transaction at a time says no (the default).
    fn concurrent(&self) -> bool {
        false
    }
    /// The documents of `kind` in `scope` with the given ids, in that order (`None`: not there). The
    /// default reads them one by one; an engine with round trips reads them at once.
    fn get_many(&mut self, scope: &str, kind: &str, ids: &[&str]) -> Result<Vec<Option<DocRef>>, StoreError> {
        ids.iter().map(|id| self.get(scope, kind, id)).collect()
    }
    /// Every document of `kind` in `scope`, ascending by id.
    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError>;
    /// The scopes that hold at least one document of `kind`, ascending.
    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError>;
    /// Increments the counter `name` and returns its new value (the first call returns 1).
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError>;
    /// A value of the counter `name` never handed out before (by this call or by `next_counter`), for IDs:
    /// unlike `next_counter`, an engine for several nodes may hand values out of order and skip some (one
    /// that did not commit, a block reserved by a node that stopped), so that concurrent transactions do
    /// not wait for one counter. One node alone gets 1, 2, 3... unless it restarts. The default is
    /// `next_counter`.
    fn next_id(&mut self, name: &str) -> Result<u64, StoreError> {
        self.next_counter(name)
    }
}

pub trait Engine: Send + Sync {
    fn name(&self) -> &'static str;
    /// Runs `body` as one transaction and commits it if it returns `Ok`. An engine may run `body`
    /// more than once (on a serialization conflict), so `body` must not have other side effects.
    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort>;
    /// [`Engine::transact`], told which documents the body is likely to change (`hints`): an engine whose
    /// transactions fail each other on the documents they change may queue on those before its first
    /// attempt. Only a guess: a wrong or missing hint may change how long the transaction waits, never
    /// what it does. The default ignores them.
    fn transact_hinted(
        &self,
        hints: &[Hint],
        body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>,
    ) -> Result<(), Abort> {
        let _ = hints;
        self.transact(body)
    }
    /// Whether [`Engine::transact_hinted`] uses its hints (so that callers make them only then). The
    /// default ignores them.
    fn takes_hints(&self) -> bool {
        false
    }
    /// Runs `body` as one transaction whose every read by key locks what it found until the commit (a
    /// concurrent transaction that changes it waits, and runs again if it must), rather than as one
    /// that others may fail at commit for what it read: for a body that reads only by key, whose
    /// decisions rest on what it found alone (not on a document being absent, nor on a scan). The
    /// default is [`Engine::transact`].
    fn transact_locking(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        self.transact(body)
    }
    /// Runs `body`, which only reads, on a consistent snapshot of committed state that other
    /// transactions do not conflict with (PostgreSQL: `REPEATABLE READ READ ONLY`, which takes no
    /// predicate locks): for a look over many documents whose outcome a later transaction checks by
    /// key before it acts. A write in it is an error. The default is [`Engine::transact`] (an engine
    /// that runs its transactions one at a time conflicts with nobody).
    fn read_snapshot(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        self.transact(body)
    }
    /// Drops every document and counter.
    fn reset(&self) -> Result<(), StoreError>;
    /// Whether the store answers, cheaply (for `/_ec2d/health`): one trivial round trip.
    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Closes the store at shutdown, once no request is left: makes everything durable and leaves the files
    /// tidy. Later transactions may be refused.
    fn close(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether a transaction may run on an async runtime's worker thread when its every wait that may take
    /// long goes through the thread's [`wait::with_hook`] (the embedded engine: it answers from memory, and
    /// waits only on its lock, the file and its writer). `false`: run it on a thread that may block.
    fn runs_inline_with_hook(&self) -> bool {
        false
    }
}

/// A stored record type: a kind name and an id, serialized as JSON with its format version
/// ([`format`]).
pub trait Record: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: &'static str;
    /// The upgrades of this kind's stored format, oldest first (append only): `UPGRADES[i]` turns a
    /// document of format `i + 1` into format `i + 2`, and this ec2d writes format `UPGRADES.len() + 1`.
    const UPGRADES: &'static [format::Upgrade] = &[];
    fn id(&self) -> &str;
}

/// A document a transaction is likely to change ([`Engine::transact_hinted`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hint {
    pub scope: String,
    pub kind: &'static str,
    pub id: String,
}

impl Hint {
    /// The record of type `R` with `id` in `scope`.
    pub fn of<R: Record>(scope: &str, id: &str) -> Hint {
        Hint { scope: scope.to_string(), kind: R::KIND, id: id.to_string() }
    }
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

    /// [`Engine::takes_hints`].
    pub fn takes_hints(&self) -> bool {
        self.engine.takes_hints()
    }

    /// [`Engine::runs_inline_with_hook`].
    pub fn runs_inline_with_hook(&self) -> bool {
        self.engine.runs_inline_with_hook()
    }

    /// Closes the store at shutdown ([`Engine::close`]).
    pub fn close(&self) -> Result<(), StoreError> {
        self.engine.close()
    }

    /// Runs `f` in one transaction: commits when it returns `Ok`, rolls back and returns its error
    /// otherwise. `f` may run more than once.
    pub fn transact<T, E>(&self, f: impl FnMut(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.transact_hinted(&[], f)
    }

    /// [`Store::transact`], with the documents `f` is likely to change ([`Engine::transact_hinted`]).
    /// Once committed, the work the committed attempt left for after its commit ([`Txn::after_commit`])
    /// runs, in order, before this returns.
    pub fn transact_hinted<T, E>(&self, hints: &[Hint], f: impl FnMut(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.run(|body| self.engine.transact_hinted(hints, body), f)
    }

    /// [`Store::transact`] as [`Engine::transact_locking`]: for a body that reads only by key and decides on
    /// what it found alone.
    pub fn transact_locking<T, E>(&self, f: impl FnMut(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.run(|body| self.engine.transact_locking(body), f)
    }

    /// Runs `f` through `engine` (one of the engine's ways to run a transaction), then, once committed, the work
    /// left for after the commit.
    fn run<T, E>(
        &self,
        engine: impl FnOnce(&mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort>,
        mut f: impl FnMut(&mut Txn<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut outcome: Option<Result<T, E>> = None;
        let mut after: Vec<(String, AfterCommit)> = Vec::new();
        let result = engine(&mut |tx| {
            let mut txn = Txn { tx, after: Vec::new() };
            let out = f(&mut txn);
            after = txn.after;
            match out {
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
        let out = match (result, outcome) {
            (Err(Abort::Store(e)), _) => return Err(E::from(e)),
            (_, Some(out)) => out,
            (Ok(()) | Err(Abort::Rollback), None) => {
                return Err(E::from(StoreError::Engine("transaction body never ran".into())))
            }
        };
        if out.is_ok() {
            for (_, job) in after {
                job(self);
            }
        }
        out
    }

    /// Runs `f`, which only reads, on a snapshot that concurrent transactions do not conflict with
    /// ([`Engine::read_snapshot`]). `f` may run more than once.
    pub fn read_snapshot<T, E>(&self, f: impl FnMut(&mut Txn<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.run(|body| self.engine.read_snapshot(body), f)
    }
}

/// Work a transaction leaves for after its commit ([`Txn::after_commit`]): it gets the store, to run
/// transactions of its own. It cannot fail the request that committed.
pub type AfterCommit = Box<dyn FnOnce(&Store) + Send>;

/// Typed access over a [`Tx`].
pub struct Txn<'a> {
    tx: &'a mut dyn Tx,
    /// The work left for after the commit, by key ([`Txn::after_commit`]).
    after: Vec<(String, AfterCommit)>,
}

use format::decode;

impl Txn<'_> {
    pub fn raw(&mut self) -> &mut dyn Tx {
        self.tx
    }

    /// [`Tx::concurrent`].
    pub fn concurrent(&self) -> bool {
        self.tx.concurrent()
    }

    /// Leaves `job` for after this transaction commits (dropped if it does not): work that need not
    /// be part of it, in a transaction of its own, so that it holds none of this one's locks and its
    /// conflicts do not make this one run again. A later job with the same `key` replaces the earlier.
    pub fn after_commit(&mut self, key: &str, job: AfterCommit) {
        match self.after.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = job,
            None => self.after.push((key.to_string(), job)),
        }
    }

    pub fn get<R: Record>(&mut self, scope: &str, id: &str) -> Result<Option<R>, StoreError> {
        match self.tx.get(scope, R::KIND, id)? {
            Some(doc) => doc.record(id).map(Some),
            None => Ok(None),
        }
    }

    /// The record shared with the engine rather than copied: for a read that changes nothing (copy it
    /// with `Arc::unwrap_or_clone` to change it).
    pub fn get_shared<R: Record>(&mut self, scope: &str, id: &str) -> Result<Option<Arc<R>>, StoreError> {
        match self.tx.get(scope, R::KIND, id)? {
            Some(doc) => doc.shared(id).map(Some),
            None => Ok(None),
        }
    }

    /// The records of `R` in `scope` with the given ids, in that order, shared ([`Tx::get_many`]).
    pub fn get_many_shared<R: Record>(&mut self, scope: &str, ids: &[&str]) -> Result<Vec<Option<Arc<R>>>, StoreError> {
        let docs = self.tx.get_many(scope, R::KIND, ids)?;
        docs.iter().zip(ids).map(|(doc, id)| doc.as_ref().map(|d| d.shared(id)).transpose()).collect()
    }

    pub fn put<R: Record>(&mut self, scope: &str, record: &R) -> Result<(), StoreError> {
        self.put_owned(scope, record.clone())
    }

    /// [`Txn::put`] of a record the caller no longer needs: kept without a copy.
    pub fn put_owned<R: Record>(&mut self, scope: &str, record: R) -> Result<(), StoreError> {
        self.put_shared(scope, Arc::new(record))
    }

    /// [`Txn::put`] of a record the caller keeps reading (never changing) afterwards: shared with the
    /// engine, not copied.
    pub fn put_shared<R: Record>(&mut self, scope: &str, record: Arc<R>) -> Result<(), StoreError> {
        let doc = Doc::with_record(Arc::clone(&record));
        self.tx.put(scope, R::KIND, record.id(), doc)
    }

    pub fn delete<R: Record>(&mut self, scope: &str, id: &str) -> Result<bool, StoreError> {
        self.tx.delete(scope, R::KIND, id)
    }

    pub fn scan<R: Record>(&mut self, scope: &str) -> Result<Vec<R>, StoreError> {
        self.tx.scan(scope, R::KIND)?.iter().map(|(id, doc)| doc.record(id)).collect()
    }

    /// Every record of `R` in `scope`, ascending by id, shared with the engine rather than copied: for
    /// reads of many records that change few of them (copy one with `Arc::unwrap_or_clone` to change it).
    pub fn scan_shared<R: Record>(&mut self, scope: &str) -> Result<Vec<Arc<R>>, StoreError> {
        self.tx.scan(scope, R::KIND)?.iter().map(|(id, doc)| doc.shared(id)).collect()
    }

    pub fn scopes<R: Record>(&mut self) -> Result<Vec<String>, StoreError> {
        self.tx.scopes(R::KIND)
    }

    pub fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.tx.next_counter(name)
    }

    /// A value for an ID ([`Tx::next_id`]): unique, not necessarily gapless or in order across nodes.
    pub fn next_id(&mut self, name: &str) -> Result<u64, StoreError> {
        self.tx.next_id(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::Thing;

    #[test]
    fn a_text_made_in_a_reused_buffer_is_the_kept_text() {
        let mut buf = b"left over from a longer document before".to_vec();
        let long = Doc::with_record(Arc::new(Thing { id: "thing-long".into(), n: 123_456_789 }));
        let short = Doc::with_record(Arc::new(Thing { id: "t".into(), n: 1 }));
        assert_eq!(
            long.text_in(&mut buf).unwrap(),
            format::encode(&Thing { id: "thing-long".into(), n: 123_456_789 }).unwrap()
        );
        // The buffer is emptied first: nothing of the previous document is left behind.
        assert_eq!(short.text_in(&mut buf).unwrap(), r#"{"_format":1,"id":"t","n":1}"#);
        // Made in the buffer, not kept: the document has no text of its own yet.
        assert!(short.text.get().is_none());
        assert_eq!(short.text().unwrap(), r#"{"_format":1,"id":"t","n":1}"#);
        // A document with its text answers with it, whatever the buffer holds.
        let stored = Doc::new(r#"{"_format":1,"id":"s","n":2}"#.into());
        assert_eq!(stored.text_in(&mut buf).unwrap(), r#"{"_format":1,"id":"s","n":2}"#);
        // A document with neither is an error, not a panic.
        let empty = Doc { text: OnceLock::new(), decoded: OnceLock::new(), encode: None };
        assert!(empty.text_in(&mut buf).is_err());
    }

    #[test]
    fn compact_drops_a_made_text_and_shares_a_document_without_one() {
        let made = Doc::with_record(Arc::new(Thing { id: "t".into(), n: 1 }));
        let kept = Doc::compact(&made);
        assert!(Arc::ptr_eq(&kept, &made), "no text to drop: the same document");
        made.text().unwrap();
        let kept = Doc::compact(&made);
        assert!(!Arc::ptr_eq(&kept, &made) && kept.text.get().is_none(), "the text is dropped, the record kept");
        assert!(Arc::ptr_eq(kept.decoded.get().unwrap(), made.decoded.get().unwrap()));
        assert_eq!(kept.text_in(&mut Vec::new()).unwrap(), r#"{"_format":1,"id":"t","n":1}"#);
        // Known only by its text: kept as it is.
        let stored = Doc::new(r#"{"_format":1,"id":"s","n":2}"#.into());
        assert!(Arc::ptr_eq(&Doc::compact(&stored), &stored));
    }
}

//! The in-memory engine (`--ephemeral`): one mutex-guarded set of ordered maps. A transaction holds the lock
//! from start to commit, so transactions are serial and never conflict; writes go to an overlay that
//! is applied on commit and dropped on rollback.
//!
//! Documents are kept in nested maps, scope -> kind -> id, so that a lookup borrows the caller's `&str`s and
//! allocates nothing, and a scan walks one kind's map in id order. A kind's documents are found by a hash of
//! the id ([`Ids`]), so that a get costs the same however many records the kind holds. A read-only
//! transaction allocates no overlay at all.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::nested::{ids_slot, lookup, slot, Ids, Kinds, Nested, NestedOf};
use crate::{Abort, DocRef, Engine, StoreError, Tx};

#[derive(Default)]
struct State {
    docs: NestedOf<Ids<DocRef>>,
    counters: HashMap<String, u64>,
}

#[derive(Default)]
pub struct MemoryEngine {
    state: Mutex<State>,
}

struct MemoryTx<'a> {
    state: &'a State,
    /// The transaction's writes (`None`: deleted), applied on commit.
    writes: Nested<Option<DocRef>>,
    counters: HashMap<String, u64>,
    /// The scope read last and its kinds in `state`, which does not change during the transaction.
    last_scope: LastScope<'a>,
}

/// A scope's key is hashed with SipHash (it is a caller's text) and a request reads a handful of
/// documents of one scope: the scope read last is kept, its key in a buffer of its own (no allocation),
/// and the next read of the same scope compares the key instead of hashing it again.
struct LastScope<'a> {
    key: [u8; LastScope::MAX_KEY],
    /// The key's length; `None` while no scope is kept.
    len: Option<usize>,
    kinds: Option<&'a Kinds<Ids<DocRef>>>,
}

impl<'a> LastScope<'a> {
    /// The longest key kept (`account/region` is about 25 bytes); a longer one is looked up every time.
    const MAX_KEY: usize = 48;

    const NONE: LastScope<'a> = LastScope { key: [0; LastScope::MAX_KEY], len: None, kinds: None };

    /// The kinds of `scope` in `docs`, through the scope kept when it is the same.
    fn kinds(&mut self, docs: &'a NestedOf<Ids<DocRef>>, scope: &str) -> Option<&'a Kinds<Ids<DocRef>>> {
        if self.len.is_some_and(|len| self.key[..len] == *scope.as_bytes()) {
            return self.kinds;
        }
        let kinds = docs.get(scope);
        if scope.len() <= Self::MAX_KEY {
            self.key[..scope.len()].copy_from_slice(scope.as_bytes());
            self.len = Some(scope.len());
            self.kinds = kinds;
        }
        kinds
    }
}

impl<'a> MemoryTx<'a> {
    /// The stored documents of (scope, kind), without the transaction's writes.
    fn stored(&mut self, scope: &str, kind: &str) -> Option<&'a Ids<DocRef>> {
        self.last_scope.kinds(&self.state.docs, scope)?.get(kind)
    }

    fn find(&mut self, scope: &str, kind: &str, id: &str) -> Option<&DocRef> {
        let stored = self.stored(scope, kind);
        if let Some(w) = lookup(&self.writes, scope, kind).and_then(|ids| ids.get(id)) {
            return w.as_ref();
        }
        stored?.get(id)
    }

    fn write(&mut self, scope: &str, kind: &str, id: &str, doc: Option<DocRef>) {
        let ids = slot(&mut self.writes, scope, kind);
        match ids.get_mut(id) {
            Some(w) => *w = doc,
            None => {
                ids.insert(id.to_string(), doc);
            }
        }
    }
}

impl Tx for MemoryTx<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        Ok(self.find(scope, kind, id).cloned())
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        self.write(scope, kind, id, Some(doc));
        Ok(())
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let existed = self.find(scope, kind, id).is_some();
        self.write(scope, kind, id, None);
        Ok(existed)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        let stored = self.stored(scope, kind);
        let written = lookup(&self.writes, scope, kind);
        let Some(written) = written.filter(|w| !w.is_empty()) else {
            return Ok(stored.into_iter().flat_map(Ids::iter).map(|(id, doc)| (id.to_string(), doc.clone())).collect());
        };
        // Both lists are in ascending id order: one pass merges them, a written id replacing (or, deleted,
        // hiding) the stored one, with no map built over the stored ids.
        let mut out = Vec::with_capacity(stored.map_or(0, Ids::len) + written.len());
        let mut stored = stored.into_iter().flat_map(Ids::iter).peekable();
        let mut written = written.iter().peekable();
        loop {
            let from_written = match (stored.peek(), written.peek()) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some((s, _)), Some((w, _))) => match (*s).cmp(w.as_str()) {
                    Ordering::Less => false,
                    Ordering::Equal => {
                        stored.next();
                        true
                    }
                    Ordering::Greater => true,
                },
            };
            if from_written {
                if let Some((id, Some(doc))) = written.next() {
                    out.push((id.clone(), doc.clone()));
                }
            } else if let Some((id, doc)) = stored.next() {
                out.push((id.to_string(), doc.clone()));
            }
        }
        Ok(out)
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        let mut scopes: Vec<String> = Vec::new();
        let candidates = self.state.docs.keys().chain(self.writes.keys().filter(|s| !self.state.docs.contains_key(*s)));
        for scope in candidates {
            let written = lookup(&self.writes, scope, kind);
            let any_written = written.is_some_and(|w| w.values().any(Option::is_some));
            let any_stored = lookup(&self.state.docs, scope, kind)
                .is_some_and(|ids| ids.iter().any(|(id, _)| !matches!(written.and_then(|w| w.get(id)), Some(None))));
            if any_written || any_stored {
                scopes.push(scope.clone());
            }
        }
        scopes.sort();
        Ok(scopes)
    }

    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        let current = match self.counters.get(name) {
            Some(v) => *v,
            None => self.state.counters.get(name).copied().unwrap_or(0),
        };
        match self.counters.get_mut(name) {
            Some(v) => *v = current + 1,
            None => {
                self.counters.insert(name.to_string(), current + 1);
            }
        }
        Ok(current + 1)
    }
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn transact(&self, body: &mut dyn FnMut(&mut dyn Tx) -> Result<(), Abort>) -> Result<(), Abort> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (writes, counters) = {
            let mut tx = MemoryTx {
                state: &state,
                writes: HashMap::new(),
                counters: HashMap::new(),
                last_scope: LastScope::NONE,
            };
            let ran = body(&mut tx);
            let MemoryTx { writes, counters, .. } = tx;
            if ran.is_err() {
                // A rolled-back overlay is dropped once the lock is released, as a commit's garbage is.
                drop(state);
                drop((writes, counters));
                return ran;
            }
            (writes, counters)
        };
        // The documents the commit replaces or removes: freed once the lock is released, since
        // freeing a record touches all of its memory (cold on a large state), and nothing else
        // needs the lock for that.
        let mut replaced: Vec<DocRef> = Vec::new();
        for (scope, kinds) in &writes {
            for (kind, ids) in kinds {
                let stored = ids_slot(&mut state.docs, scope, kind);
                for (id, doc) in ids {
                    let old = match doc {
                        Some(doc) => stored.replace(id, doc.clone()),
                        None => stored.take(id),
                    };
                    replaced.extend(old);
                }
                // No empty maps are kept: a kind without documents is no kind of the scope.
                if stored.is_empty() {
                    let kinds = state.docs.get_mut(scope).expect("slot made it");
                    kinds.remove(kind);
                    if kinds.is_empty() {
                        state.docs.remove(scope);
                    }
                }
            }
        }
        state.counters.extend(counters);
        drop(state);
        // The overlay (its ids and the other references to the written documents) and the
        // replaced documents.
        drop(writes);
        drop(replaced);
        Ok(())
    }

    fn reset(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = State::default();
        Ok(())
    }
}

//! The in-memory engine (`--ephemeral`): one mutex-guarded ordered map. A transaction holds the lock
//! from start to commit, so transactions are serial and never conflict; writes go to an overlay that
//! is applied on commit and dropped on rollback.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::{Abort, DocRef, Engine, StoreError, Tx};

type Key = (String, String, String);

#[derive(Default)]
struct State {
    docs: BTreeMap<Key, DocRef>,
    counters: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct MemoryEngine {
    state: Mutex<State>,
}

struct MemoryTx<'a> {
    state: &'a State,
    writes: BTreeMap<Key, Option<DocRef>>,
    counters: BTreeMap<String, u64>,
}

fn key(scope: &str, kind: &str, id: &str) -> Key {
    (scope.to_string(), kind.to_string(), id.to_string())
}

impl Tx for MemoryTx<'_> {
    fn get(&mut self, scope: &str, kind: &str, id: &str) -> Result<Option<DocRef>, StoreError> {
        let k = key(scope, kind, id);
        Ok(match self.writes.get(&k) {
            Some(w) => w.clone(),
            None => self.state.docs.get(&k).cloned(),
        })
    }

    fn put(&mut self, scope: &str, kind: &str, id: &str, doc: DocRef) -> Result<(), StoreError> {
        self.writes.insert(key(scope, kind, id), Some(doc));
        Ok(())
    }

    fn delete(&mut self, scope: &str, kind: &str, id: &str) -> Result<bool, StoreError> {
        let existed = self.get(scope, kind, id)?.is_some();
        self.writes.insert(key(scope, kind, id), None);
        Ok(existed)
    }

    fn scan(&mut self, scope: &str, kind: &str) -> Result<Vec<(String, DocRef)>, StoreError> {
        let lo = key(scope, kind, "");
        let in_range = |k: &&Key| k.0 == scope && k.1 == kind;
        let mut merged: BTreeMap<&str, Option<&DocRef>> = BTreeMap::new();
        for (k, v) in self.state.docs.range(lo.clone()..).take_while(|(k, _)| in_range(k)) {
            merged.insert(&k.2, Some(v));
        }
        for (k, v) in self.writes.range(lo..).take_while(|(k, _)| in_range(k)) {
            merged.insert(&k.2, v.as_ref());
        }
        Ok(merged.into_iter().filter_map(|(id, v)| Some((id.to_string(), v?.clone()))).collect())
    }

    fn scopes(&mut self, kind: &str) -> Result<Vec<String>, StoreError> {
        let mut scopes: Vec<String> = Vec::new();
        let all: Vec<(String, String)> = self
            .state
            .docs
            .keys()
            .chain(self.writes.keys())
            .filter(|k| k.1 == kind)
            .map(|k| (k.0.clone(), k.2.clone()))
            .collect();
        for (scope, id) in all {
            if scopes.last() != Some(&scope) && !scopes.contains(&scope) && self.get(&scope, kind, &id)?.is_some() {
                scopes.push(scope);
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
        self.counters.insert(name.to_string(), current + 1);
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
            let mut tx = MemoryTx { state: &state, writes: BTreeMap::new(), counters: BTreeMap::new() };
            body(&mut tx)?;
            (tx.writes, tx.counters)
        };
        for (k, v) in writes {
            match v {
                Some(doc) => state.docs.insert(k, doc),
                None => state.docs.remove(&k),
            };
        }
        state.counters.extend(counters);
        Ok(())
    }

    fn reset(&self) -> Result<(), StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = State::default();
        Ok(())
    }
}

//! Documents in memory by scope, then kind, then id (ids ordered: scans are by ascending id), looked up by
//! the caller's `&str`s so that a read allocates nothing. The memory engine's state and the embedded
//! engine's cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// scope -> kind -> id -> `V`.
pub type Nested<V> = NestedOf<BTreeMap<String, V>>;

/// scope -> kind -> the kind's documents in `M`.
pub type NestedOf<M> = HashMap<String, HashMap<String, M>>;

/// The documents of (scope, kind), if the map has that kind.
pub fn lookup<'m, M>(map: &'m NestedOf<M>, scope: &str, kind: &str) -> Option<&'m M> {
    map.get(scope)?.get(kind)
}

/// The documents of (scope, kind), made empty if the map has none: an existing scope or kind costs no
/// allocation.
pub fn slot<'m, M: Default>(map: &'m mut NestedOf<M>, scope: &str, kind: &str) -> &'m mut M {
    if !map.contains_key(scope) {
        map.insert(scope.to_string(), HashMap::new());
    }
    let kinds = map.get_mut(scope).expect("inserted above");
    if !kinds.contains_key(kind) {
        kinds.insert(kind.to_string(), M::default());
    }
    kinds.get_mut(kind).expect("inserted above")
}

/// One kind's documents, found by id through a hash and listed in id order. A lookup in an ordered map
/// of thousands of ids compares the id with a dozen or more stored ids, each behind a pointer (a cache
/// miss apiece on a large state), so a get would cost more the more records the kind holds; here it
/// hashes the id and compares it once. Each id is stored once, shared by both maps; values are cheap
/// to clone (shared documents).
#[derive(Debug, Clone)]
pub struct Ids<V> {
    by_id: HashMap<Arc<str>, V>,
    ordered: BTreeMap<Arc<str>, V>,
}

impl<V> Default for Ids<V> {
    fn default() -> Self {
        Ids { by_id: HashMap::new(), ordered: BTreeMap::new() }
    }
}

impl<V: Clone> Ids<V> {
    pub fn get(&self, id: &str) -> Option<&V> {
        self.by_id.get(id)
    }

    /// Sets the document of `id`.
    pub fn insert(&mut self, id: &str, value: V) {
        match self.by_id.get_mut(id) {
            Some(v) => {
                *v = value.clone();
                *self.ordered.get_mut(id).expect("both maps hold every id") = value;
            }
            None => {
                let key: Arc<str> = Arc::from(id);
                self.by_id.insert(Arc::clone(&key), value.clone());
                self.ordered.insert(key, value);
            }
        }
    }

    /// Removes the document of `id`, if any.
    pub fn remove(&mut self, id: &str) {
        if self.by_id.remove(id).is_some() {
            self.ordered.remove(id);
        }
    }

    /// Sets the document of `id` and returns the one it replaced (what the embedded engine's undo keeps).
    pub fn replace(&mut self, id: &str, value: V) -> Option<V> {
        match self.by_id.get_mut(id) {
            Some(v) => {
                *self.ordered.get_mut(id).expect("both maps hold every id") = value.clone();
                Some(std::mem::replace(v, value))
            }
            None => {
                self.insert(id, value);
                None
            }
        }
    }

    /// Removes the document of `id` and returns it, if any.
    pub fn take(&mut self, id: &str) -> Option<V> {
        let v = self.by_id.remove(id)?;
        self.ordered.remove(id);
        Some(v)
    }

    /// Every document in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.ordered.iter().map(|(id, v)| (&**id, v))
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_found_by_hash_and_listed_in_order() {
        let mut ids = Ids::default();
        for (id, v) in [("i-3", 3), ("i-1", 1), ("i-2", 2)] {
            ids.insert(id, v);
        }
        ids.insert("i-2", 20);
        assert_eq!(ids.get("i-2"), Some(&20));
        assert_eq!(ids.get("i-9"), None);
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1), ("i-2", &20), ("i-3", &3)]);
        ids.remove("i-1");
        ids.remove("i-9");
        assert_eq!(ids.get("i-1"), None);
        assert_eq!(ids.iter().map(|(id, _)| id).collect::<Vec<_>>(), ["i-2", "i-3"]);
        ids.remove("i-2");
        ids.remove("i-3");
        assert!(ids.is_empty());
        assert_eq!(ids.iter().count(), 0);
    }

    #[test]
    fn replace_and_take_hand_back_what_was_there() {
        let mut ids = Ids::default();
        assert_eq!(ids.replace("i-2", 2), None);
        assert_eq!(ids.replace("i-1", 1), None);
        assert_eq!(ids.replace("i-2", 20), Some(2));
        assert_eq!(ids.get("i-2"), Some(&20));
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1), ("i-2", &20)]);
        assert_eq!(ids.take("i-2"), Some(20));
        assert_eq!(ids.take("i-2"), None);
        assert_eq!(ids.get("i-2"), None);
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1)]);
        assert_eq!(ids.take("i-1"), Some(1));
        assert!(ids.is_empty());
    }
}

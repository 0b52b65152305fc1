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
/// hashes the id and compares it once. The documents sit in `slots`; both maps give a document's slot,
/// so replacing the document of a known id (what most writes do) touches the hash map and its slot
/// alone, and costs the same however many ids the kind holds: only a new or removed id changes the
/// ordered map. Each id is stored once, shared by both maps.
#[derive(Debug, Clone)]
pub struct Ids<V> {
    by_id: HashMap<Arc<str>, usize>,
    ordered: BTreeMap<Arc<str>, usize>,
    /// The documents; `None` for a slot freed by a removal, listed in `free` for the next new id.
    slots: Vec<Option<V>>,
    free: Vec<usize>,
}

impl<V> Default for Ids<V> {
    fn default() -> Self {
        Ids { by_id: HashMap::new(), ordered: BTreeMap::new(), slots: Vec::new(), free: Vec::new() }
    }
}

impl<V> Ids<V> {
    fn at(&self, slot: usize) -> &V {
        self.slots[slot].as_ref().expect("both maps point at filled slots")
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.by_id.get(id).map(|&slot| self.at(slot))
    }

    /// Sets the document of `id`.
    pub fn insert(&mut self, id: &str, value: V) {
        self.replace(id, value);
    }

    /// Sets the document of `id` and returns the one it replaced (what the embedded engine's undo keeps).
    pub fn replace(&mut self, id: &str, value: V) -> Option<V> {
        if let Some(&slot) = self.by_id.get(id) {
            return self.slots[slot].replace(value);
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(value);
                slot
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        };
        let key: Arc<str> = Arc::from(id);
        self.by_id.insert(Arc::clone(&key), slot);
        self.ordered.insert(key, slot);
        None
    }

    /// Removes the document of `id`, if any.
    pub fn remove(&mut self, id: &str) {
        self.take(id);
    }

    /// Removes the document of `id` and returns it, if any.
    pub fn take(&mut self, id: &str) -> Option<V> {
        let slot = self.by_id.remove(id)?;
        self.ordered.remove(id);
        let value = self.slots[slot].take();
        if self.by_id.is_empty() {
            self.slots.clear();
            self.free.clear();
        } else {
            self.free.push(slot);
        }
        value
    }

    /// Every document in ascending id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.ordered.iter().map(|(id, &slot)| (&**id, self.at(slot)))
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// How many documents.
    pub fn len(&self) -> usize {
        self.by_id.len()
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
    fn a_removed_id_frees_its_slot_for_the_next_new_one() {
        let mut ids = Ids::default();
        for (id, v) in [("i-1", 1), ("i-2", 2), ("i-3", 3)] {
            ids.insert(id, v);
        }
        ids.remove("i-2");
        ids.insert("i-0", 0);
        ids.insert("i-3", 30);
        assert_eq!(ids.slots.len(), 3, "i-0 took the slot i-2 left");
        assert_eq!(ids.get("i-2"), None);
        assert_eq!(ids.get("i-0"), Some(&0));
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-0", &0), ("i-1", &1), ("i-3", &30)]);
        ids.insert("i-2", 22);
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-0", &0), ("i-1", &1), ("i-2", &22), ("i-3", &30)]);
        assert_eq!(ids.slots.len(), 4);
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

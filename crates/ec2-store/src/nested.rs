//! Documents in memory by scope, then kind, then id (ids ordered: scans are by ascending id), looked up by
//! the caller's `&str`s so that a read allocates nothing. The memory engine's state and the embedded
//! engine's cache.

use std::collections::{BTreeMap, HashMap};

/// scope -> kind -> id -> `V`.
pub type Nested<V> = HashMap<String, HashMap<String, BTreeMap<String, V>>>;

/// The documents of (scope, kind), if the map has that kind.
pub fn lookup<'m, V>(map: &'m Nested<V>, scope: &str, kind: &str) -> Option<&'m BTreeMap<String, V>> {
    map.get(scope)?.get(kind)
}

/// The documents of (scope, kind), made empty if the map has none: an existing scope or kind costs no
/// allocation.
pub fn slot<'m, V>(map: &'m mut Nested<V>, scope: &str, kind: &str) -> &'m mut BTreeMap<String, V> {
    if !map.contains_key(scope) {
        map.insert(scope.to_string(), HashMap::new());
    }
    let kinds = map.get_mut(scope).expect("inserted above");
    if !kinds.contains_key(kind) {
        kinds.insert(kind.to_string(), BTreeMap::new());
    }
    kinds.get_mut(kind).expect("inserted above")
}

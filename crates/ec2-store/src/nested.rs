//! Documents in memory by scope, then kind, then id (ids ordered: scans are by ascending id), looked up by
//! the caller's `&str`s so that a read allocates nothing. The memory engine's state and the embedded
//! engine's cache.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// scope -> kind -> id -> `V`.
pub type Nested<V> = NestedOf<BTreeMap<String, V>>;

/// scope -> kind -> the kind's documents in `M`.
pub type NestedOf<M> = HashMap<String, Kinds<M>>;

/// One scope's kinds, by name. A kind's name is the store's own (a constant of the service's, never a
/// caller's text), and a scope holds a few dozen, so they are hashed with foldhash's fast hasher rather
/// than SipHash, which guards against chosen colliding keys that these cannot be: a request looks up
/// about eight (scope, kind) pairs, and SipHash was about 100 instructions a kind.
pub type Kinds<M> = HashMap<String, M, foldhash::fast::RandomState>;

/// The documents of (scope, kind), if the map has that kind.
pub fn lookup<'m, M>(map: &'m NestedOf<M>, scope: &str, kind: &str) -> Option<&'m M> {
    map.get(scope)?.get(kind)
}

/// [`lookup`], to change them.
pub fn lookup_mut<'m, M>(map: &'m mut NestedOf<M>, scope: &str, kind: &str) -> Option<&'m mut M> {
    map.get_mut(scope)?.get_mut(kind)
}

/// The documents of (scope, kind) as [`slot`] finds them, made for the kind ([`Ids::for_kind`]) if the map
/// has none.
pub fn ids_slot<'m, V>(map: &'m mut NestedOf<Ids<V>>, scope: &str, kind: &str) -> &'m mut Ids<V> {
    slot_made(map, scope, kind, Ids::for_kind)
}

/// The documents of (scope, kind), made empty if the map has none: an existing scope or kind costs no
/// allocation.
pub fn slot<'m, M: Default>(map: &'m mut NestedOf<M>, scope: &str, kind: &str) -> &'m mut M {
    slot_made(map, scope, kind, |_| M::default())
}

/// The documents of (scope, kind), made by `make(kind)` if the map has none: an existing scope or kind costs no
/// allocation.
fn slot_made<'m, M>(map: &'m mut NestedOf<M>, scope: &str, kind: &str, make: impl FnOnce(&str) -> M) -> &'m mut M {
    if !map.contains_key(scope) {
        map.insert(scope.to_string(), Kinds::default());
    }
    let kinds = map.get_mut(scope).expect("inserted above");
    if !kinds.contains_key(kind) {
        kinds.insert(kind.to_string(), make(kind));
    }
    kinds.get_mut(kind).expect("inserted above")
}

/// One kind's documents, found by id through a hash and listed in id order. A lookup in an ordered map
/// of thousands of ids compares the id with a dozen or more stored ids, so a get would cost more the more
/// records the kind holds; here it hashes the id and compares it once. The documents sit in `slots`; both
/// maps give a document's slot, so replacing the document of a known id (what most writes do) touches the
/// hash map and its slot alone, and costs the same however many ids the kind holds: only a new or removed
/// id changes the ordered map. Both maps hold the id itself as a [`Key`] (inline when short, as every EC2
/// ID is), so comparing ids while probing or walking them reads the maps' own memory rather than a
/// separate allocation per id (a cache miss apiece on a large state).
#[derive(Debug, Clone)]
pub struct Ids<V> {
    by_id: HashMap<Key, usize, IdHasher>,
    ordered: BTreeMap<Key, usize>,
    /// The documents; `None` for a slot freed by a removal, listed in `free` for the next new id.
    slots: Vec<Option<V>>,
    free: Vec<usize>,
}

/// The longest id a [`Key`] holds inline.
const INLINE: usize = 22;

/// An id as [`Ids`] keeps it: its bytes in the key itself when they fit (24 bytes in all, as an
/// `Arc<str>` and a tag would take), else shared. Hashed, compared and ordered as its bytes, which
/// order as the `str` does (bytewise), so the maps are searched with `id.as_bytes()`. (The embedded engine's
/// write sets and undo log name a document's id the same way: no allocation per change.)
#[derive(Debug, Clone)]
pub(crate) enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl Key {
    pub(crate) fn new(id: &str) -> Key {
        if id.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            Key::Inline { len: id.len() as u8, bytes }
        } else {
            Key::Shared(Arc::from(id))
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Shared(s) => s.as_bytes(),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Made from a `&str`: always valid, so this never fails.
            Key::Inline { .. } => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Key::Shared(s) => s,
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl<V> Default for Ids<V> {
    /// Ids hashed with SipHash: what any kind gets unless [`Ids::for_kind`] knows better.
    fn default() -> Self {
        Ids::with_hasher(IdHasher::Sip(std::hash::RandomState::new()))
    }
}

/// How an [`Ids`] hashes its ids (the hash policy in ARCHITECTURE.md's invariants): SipHash, which keeps
/// ids chosen to collide from making long probe chains, unless every id the kind ever inserts comes from
/// the server's own ID generator or is one of its constants ([`crate::records::ids_are_generated`]), where
/// foldhash's fast hasher is enough (about 40 instructions for an EC2 ID against SipHash's 220). A lookup of
/// a caller's id in such a kind is fine: a lookup does not lengthen any chain.
#[derive(Debug, Clone)]
pub(crate) enum IdHasher {
    Sip(std::hash::RandomState),
    Fold(foldhash::fast::RandomState),
}

/// The hasher of an [`IdHasher`].
pub(crate) enum IdHash {
    Sip(std::hash::DefaultHasher),
    Fold(foldhash::fast::FoldHasher<'static>),
}

impl std::hash::BuildHasher for IdHasher {
    type Hasher = IdHash;

    #[inline]
    fn build_hasher(&self) -> IdHash {
        match self {
            IdHasher::Sip(s) => IdHash::Sip(s.build_hasher()),
            IdHasher::Fold(s) => IdHash::Fold(s.build_hasher()),
        }
    }
}

impl std::hash::Hasher for IdHash {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        match self {
            IdHash::Sip(h) => h.write(bytes),
            IdHash::Fold(h) => h.write(bytes),
        }
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        match self {
            IdHash::Sip(h) => h.write_usize(n),
            IdHash::Fold(h) => h.write_usize(n),
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        match self {
            IdHash::Sip(h) => h.finish(),
            IdHash::Fold(h) => h.finish(),
        }
    }
}

impl<V> Ids<V> {
    fn with_hasher(hasher: IdHasher) -> Self {
        Ids { by_id: HashMap::with_hasher(hasher), ordered: BTreeMap::new(), slots: Vec::new(), free: Vec::new() }
    }

    /// The empty ids of `kind`, hashed as the hash policy allows for it ([`IdHasher`]).
    pub fn for_kind(kind: &str) -> Self {
        if crate::records::ids_are_generated(kind) {
            Ids::with_hasher(IdHasher::Fold(foldhash::fast::RandomState::default()))
        } else {
            Ids::default()
        }
    }

    /// Whether its ids are hashed with foldhash (the kind's ids are all the server's own).
    #[cfg(test)]
    pub fn hashed_fast(&self) -> bool {
        matches!(self.by_id.hasher(), IdHasher::Fold(_))
    }

    fn at(&self, slot: usize) -> &V {
        self.slots[slot].as_ref().expect("both maps point at filled slots")
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.by_id.get(id.as_bytes()).map(|&slot| self.at(slot))
    }

    /// The document of `id`, to change it in place.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut V> {
        let slot = *self.by_id.get(id.as_bytes())?;
        self.slots[slot].as_mut()
    }

    /// Sets the document of `id`.
    pub fn insert(&mut self, id: &str, value: V) {
        self.replace(id, value);
    }

    /// Sets the document of `id` and returns the one it replaced (what the embedded engine's undo keeps).
    pub fn replace(&mut self, id: &str, value: V) -> Option<V> {
        if let Some(&slot) = self.by_id.get(id.as_bytes()) {
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
        let key = Key::new(id);
        self.by_id.insert(key.clone(), slot);
        self.ordered.insert(key, slot);
        None
    }

    /// Removes the document of `id`, if any.
    pub fn remove(&mut self, id: &str) {
        self.take(id);
    }

    /// Removes the document of `id` and returns it, if any.
    pub fn take(&mut self, id: &str) -> Option<V> {
        let slot = self.by_id.remove(id.as_bytes())?;
        self.ordered.remove(id.as_bytes());
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
        self.ordered.iter().map(|(id, &slot)| (id.as_str(), self.at(slot)))
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

    /// The hash policy: foldhash only for the kinds whose ids are all the server's own, SipHash for any
    /// other (and for a kind nobody declared); either way the ids are found, replaced and listed the same.
    #[test]
    fn only_kinds_of_generated_ids_are_hashed_fast_and_both_behave_alike() {
        use crate::Record;
        for kind in [ec2_core::instances::Instance::KIND, ec2_core::due::DueHead::KIND, ec2_core::due::DueIndex::KIND] {
            assert!(Ids::<u8>::for_kind(kind).hashed_fast(), "{kind}");
        }
        for kind in [ec2_core::key_pairs::KeyPair::KIND, "resource_tags", "client_token", "no_such_kind"] {
            assert!(!Ids::<u8>::for_kind(kind).hashed_fast(), "{kind}");
        }
        assert!(!Ids::<u8>::default().hashed_fast());
        let run = |mut ids: Ids<u32>| {
            for n in 0..300u32 {
                ids.insert(&format!("i-{:017x}", n.wrapping_mul(2_654_435_761)), n);
            }
            for n in (0..300u32).step_by(3) {
                ids.remove(&format!("i-{:017x}", n.wrapping_mul(2_654_435_761)));
            }
            ids.insert("i-00000000000000001", 7);
            let found: Vec<Option<u32>> =
                (0..300u32).map(|n| ids.get(&format!("i-{:017x}", n.wrapping_mul(2_654_435_761))).copied()).collect();
            (found, ids.iter().map(|(id, v)| (id.to_string(), *v)).collect::<Vec<_>>())
        };
        assert_eq!(run(Ids::for_kind("instance")), run(Ids::default()));
        let mut map: NestedOf<Ids<u8>> = NestedOf::default();
        assert!(ids_slot(&mut map, "s", "instance").hashed_fast());
        assert!(!ids_slot(&mut map, "s", "key_pair").hashed_fast());
    }

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
    fn short_and_long_ids_are_found_and_ordered_as_strings() {
        // Inline up to INLINE bytes, shared beyond: both kinds mix in one kind's maps.
        let long = "x".repeat(INLINE + 1);
        let edge = "y".repeat(INLINE);
        let ids_in = ["i-10", "i-1", long.as_str(), edge.as_str(), "", "i-0123456789abcdef0", "ü-1", "i-1/a"];
        let mut ids = Ids::default();
        for (n, id) in ids_in.iter().enumerate() {
            ids.insert(id, n);
        }
        let mut sorted = ids_in.to_vec();
        sorted.sort();
        assert_eq!(ids.iter().map(|(id, _)| id).collect::<Vec<_>>(), sorted);
        for (n, id) in ids_in.iter().enumerate() {
            assert_eq!(ids.get(id), Some(&n), "{id}");
        }
        assert_eq!(ids.get(&"x".repeat(INLINE)), None);
        assert_eq!(ids.get(&"y".repeat(INLINE + 1)), None);
        assert_eq!(ids.take(&long), Some(2));
        assert_eq!(ids.take(&edge), Some(3));
        assert_eq!(ids.get(&long), None);
        assert_eq!(ids.len(), ids_in.len() - 2);
        assert!(ids.iter().all(|(id, _)| id != long && id != edge));
    }

    #[test]
    fn replace_and_take_hand_back_what_was_there() {
        let mut ids = Ids::default();
        assert_eq!(ids.replace("i-2", 2), None);
        assert_eq!(ids.replace("i-1", 1), None);
        assert_eq!(ids.replace("i-2", 20), Some(2));
        assert_eq!(ids.get("i-2"), Some(&20));
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1), ("i-2", &20)]);
        *ids.get_mut("i-2").unwrap() += 1;
        assert!(ids.get_mut("i-9").is_none());
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1), ("i-2", &21)]);
        assert_eq!(ids.take("i-2"), Some(21));
        assert_eq!(ids.take("i-2"), None);
        assert_eq!(ids.get("i-2"), None);
        assert_eq!(ids.iter().collect::<Vec<_>>(), [("i-1", &1)]);
        assert_eq!(ids.take("i-1"), Some(1));
        assert!(ids.is_empty());
    }
}

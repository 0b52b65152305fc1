//! The store conformance suite: every engine must pass every check here, unchanged.
//!
//! Each check takes a fresh, empty [`Store`] and panics on a violation. Engines run the suite with
//! [`conformance_suite!`](crate::conformance_suite), which makes one `#[test]` per check.

use std::sync::Arc;
use std::thread;

use serde::{Deserialize, Serialize};

use crate::{Record, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thing {
    pub id: String,
    pub n: u64,
}

impl Record for Thing {
    const KIND: &'static str = "conformance_thing";
    fn id(&self) -> &str {
        &self.id
    }
}

fn thing(id: &str, n: u64) -> Thing {
    Thing { id: id.to_string(), n }
}

#[derive(Debug)]
pub struct Fail;

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        panic!("store error: {e}")
    }
}

pub fn put_get_roundtrip(store: Store) {
    store.transact(|tx| tx.put("a/r", &thing("x", 1))).unwrap();
    let got: Option<Thing> = store.transact(|tx| tx.get("a/r", "x")).unwrap();
    assert_eq!(got, Some(thing("x", 1)));
    let missing: Option<Thing> = store.transact(|tx| tx.get("a/r", "y")).unwrap();
    assert_eq!(missing, None);
}

pub fn scan_is_ordered_by_id_and_sees_own_writes(store: Store) {
    store
        .transact(|tx| {
            for id in ["c", "a", "b"] {
                tx.put("s", &thing(id, 0))?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let ids: Vec<String> = store
        .transact(|tx| {
            tx.put("s", &thing("aa", 0))?;
            tx.delete::<Thing>("s", "b")?;
            Ok::<_, StoreError>(tx.scan::<Thing>("s")?.into_iter().map(|t| t.id).collect())
        })
        .unwrap();
    assert_eq!(ids, ["a", "aa", "c"]);
}

/// A shared scan lists what a copying scan lists, sees the transaction's own writes, and a record it
/// handed out is not changed by a later write.
pub fn shared_scan_matches_scan(store: Store) {
    store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
    store.transact(|tx| tx.put("s", &thing("c", 3))).unwrap();
    let (shared, copied) = store
        .transact(|tx| {
            tx.put("s", &thing("b", 2))?;
            let shared: Vec<Arc<Thing>> = tx.scan_shared("s")?;
            Ok::<_, StoreError>((shared, tx.scan::<Thing>("s")?))
        })
        .unwrap();
    let listed: Vec<Thing> = shared.iter().map(|t| (**t).clone()).collect();
    assert_eq!(listed, copied);
    assert_eq!(listed, [thing("a", 1), thing("b", 2), thing("c", 3)]);
    store.transact(|tx| tx.put("s", &thing("a", 10))).unwrap();
    assert_eq!(*shared[0], thing("a", 1));
    let again: Vec<Arc<Thing>> = store.transact(|tx| tx.scan_shared("s")).unwrap();
    assert_eq!(*again[0], thing("a", 10));
}

pub fn scopes_and_kinds_are_isolated(store: Store) {
    store.transact(|tx| tx.put("acct1/us-east-1", &thing("x", 1))).unwrap();
    store.transact(|tx| tx.put("acct2/us-east-1", &thing("x", 2))).unwrap();
    let (a, b, other_kind): (Vec<Thing>, Vec<Thing>, Vec<(String, crate::DocRef)>) = store
        .transact(|tx| {
            Ok::<_, StoreError>((
                tx.scan("acct1/us-east-1")?,
                tx.scan("acct2/us-east-1")?,
                tx.raw().scan("acct1/us-east-1", "other_kind")?,
            ))
        })
        .unwrap();
    assert_eq!(a, [thing("x", 1)]);
    assert_eq!(b, [thing("x", 2)]);
    assert!(other_kind.is_empty());
    let scopes = store.transact(|tx| tx.scopes::<Thing>()).unwrap();
    assert_eq!(scopes, ["acct1/us-east-1", "acct2/us-east-1"]);
}

pub fn rollback_discards_everything(store: Store) {
    store.transact(|tx| tx.put("s", &thing("keep", 1))).unwrap();
    let r: Result<(), Fail> = store.transact(|tx| {
        tx.put("s", &thing("new", 1))?;
        tx.put("s", &thing("keep", 99))?;
        tx.delete::<Thing>("s", "keep")?;
        tx.next_counter("rollback")?;
        Err(Fail)
    });
    assert!(r.is_err());
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(all, [thing("keep", 1)]);
    assert_eq!(store.transact(|tx| tx.next_counter("rollback")).unwrap(), 1);
}

pub fn delete_reports_existence(store: Store) {
    store.transact(|tx| tx.put("s", &thing("x", 1))).unwrap();
    assert!(store.transact(|tx| tx.delete::<Thing>("s", "x")).unwrap());
    assert!(!store.transact(|tx| tx.delete::<Thing>("s", "x")).unwrap());
}

pub fn counters_are_monotonic_and_independent(store: Store) {
    let a: Vec<u64> = (0..5).map(|_| store.transact(|tx| tx.next_counter("a")).unwrap()).collect();
    assert_eq!(a, [1, 2, 3, 4, 5]);
    assert_eq!(store.transact(|tx| tx.next_counter("b")).unwrap(), 1);
    let in_one = store.transact(|tx| Ok::<_, StoreError>((tx.next_counter("a")?, tx.next_counter("a")?))).unwrap();
    assert_eq!(in_one, (6, 7));
}

/// Read-modify-write from several threads at once: no update is lost, and counters never repeat.
pub fn concurrent_updates_are_serialized(store: Store) {
    store.transact(|tx| tx.put("s", &thing("ctr", 0))).unwrap();
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                let mut seen = Vec::new();
                for _ in 0..50 {
                    let c = store
                        .transact(|tx| {
                            let mut t: Thing = tx.get("s", "ctr")?.expect("ctr exists");
                            t.n += 1;
                            tx.put("s", &t)?;
                            tx.next_counter("ids")
                        })
                        .unwrap();
                    seen.push(c);
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let t: Thing = store.transact(|tx| tx.get("s", "ctr")).unwrap().unwrap();
    assert_eq!(t.n, 400);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 400);
}

/// IDs ([`Tx::next_id`](crate::Tx::next_id)) from several threads at once, mixed with the gapless
/// counter of the same name, and across rolled-back transactions: no value twice; one thread alone
/// starts at 1.
pub fn ids_never_repeat(store: Store) {
    assert_eq!(store.transact(|tx| tx.next_id("first")).unwrap(), 1);
    let _ = store.transact(|tx| {
        tx.next_id("ids")?;
        Err::<(), _>(Fail)
    });
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                (0..50)
                    .flat_map(|i| {
                        store
                            .transact(|tx| {
                                if (t + i) % 10 == 0 {
                                    Ok::<_, StoreError>(vec![tx.next_counter("ids")?])
                                } else {
                                    Ok(vec![tx.next_id("ids")?, tx.next_id("ids")?])
                                }
                            })
                            .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let mut distinct = all.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), all.len(), "a value was handed out twice");
    assert!(all.iter().all(|&v| v > 0));
}

pub fn reset_drops_everything(store: Store) {
    store.transact(|tx| tx.put("s", &thing("x", 1))).unwrap();
    store.transact(|tx| tx.next_counter("c")).unwrap();
    store.reset().unwrap();
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert!(all.is_empty());
    assert_eq!(store.transact(|tx| tx.next_counter("c")).unwrap(), 1);
}

/// Ids and scopes are any strings (NUL and non-ASCII included), ordered bytewise like Rust strings,
/// whatever the engine's locale.
pub fn keys_are_any_string_ordered_bytewise(store: Store) {
    let ids = ["b", "B", "a", "a\u{0}", "a\u{0}b", "\u{e9}", "z", "Z", "10", "9", "-", "_", "\u{1f600}"];
    store
        .transact(|tx| {
            for (n, id) in ids.iter().enumerate() {
                tx.put("s", &thing(id, n as u64))?;
                tx.put(&format!("scope {id}"), &thing("x", n as u64))?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let mut want: Vec<&str> = ids.to_vec();
    want.sort_unstable();
    let got: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(got.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), want);
    for (n, id) in ids.iter().enumerate() {
        let one: Option<Thing> = store.transact(|tx| tx.get("s", id)).unwrap();
        assert_eq!(one, Some(thing(id, n as u64)), "get {id:?}");
    }
    let scopes = store.transact(|tx| tx.scopes::<Thing>()).unwrap();
    let mut want_scopes: Vec<String> = ids.iter().map(|id| format!("scope {id}")).chain(["s".to_string()]).collect();
    want_scopes.sort_unstable();
    assert_eq!(scopes, want_scopes);
}

pub fn corrupt_documents_are_reported(store: Store) {
    store.transact(|tx| tx.raw().put("s", Thing::KIND, "bad", crate::Doc::new("{not json".to_string()))).unwrap();
    let r: Result<Option<Thing>, StoreError> = store.transact(|tx| tx.get("s", "bad"));
    assert!(matches!(r, Err(StoreError::Corrupt { .. })), "{r:?}");
}

/// `get_many` answers in the order asked, `None` for what is not there, and sees the transaction's own
/// writes and deletes; a delete after it still reports existence.
pub fn get_many_is_in_order_and_sees_own_writes(store: Store) {
    store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
    store.transact(|tx| tx.put("s", &thing("c", 3))).unwrap();
    store.transact(|tx| tx.put("other", &thing("b", 9))).unwrap();
    let (first, second, gone) = store
        .transact(|tx| {
            let first: Vec<Option<Thing>> = tx
                .get_many_shared::<Thing>("s", &["c", "b", "a", "z"])?
                .into_iter()
                .map(|t| t.map(|t| (*t).clone()))
                .collect();
            tx.put("s", &thing("b", 2))?;
            tx.delete::<Thing>("s", "c")?;
            let second: Vec<Option<Thing>> = tx
                .get_many_shared::<Thing>("s", &["a", "b", "c"])?
                .into_iter()
                .map(|t| t.map(|t| (*t).clone()))
                .collect();
            let gone = tx.delete::<Thing>("s", "a")?;
            Ok::<_, StoreError>((first, second, gone))
        })
        .unwrap();
    assert_eq!(first, [Some(thing("c", 3)), None, Some(thing("a", 1)), None]);
    assert_eq!(second, [Some(thing("a", 1)), Some(thing("b", 2)), None]);
    assert!(gone, "read by get_many, then deleted: it was there");
    let left: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(left, [thing("b", 2)]);
}

/// A snapshot read sees what was committed before it.
pub fn snapshot_reads_see_committed_state(store: Store) {
    store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
    let seen: Vec<Thing> = store.read_snapshot(|tx| tx.scan::<Thing>("s")).unwrap();
    assert_eq!(seen, [thing("a", 1)]);
    let got: Option<Thing> = store.read_snapshot(|tx| tx.get("s", "a")).unwrap();
    assert_eq!(got, Some(thing("a", 1)));
    let missing: Option<Thing> = store.read_snapshot(|tx| tx.get("s", "b")).unwrap();
    assert_eq!(missing, None);
    store.transact(|tx| tx.put("s", &thing("a", 2))).unwrap();
    let got: Option<Thing> = store.read_snapshot(|tx| tx.get("s", "a")).unwrap();
    assert_eq!(got, Some(thing("a", 2)));
}

/// Work left for after a commit runs once the transaction has committed (it sees its writes), once per
/// key (the last left), and not at all after a rollback.
pub fn after_commit_runs_once_committed(store: Store) {
    let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = |ran: &Arc<std::sync::Mutex<Vec<String>>>, what: &'static str| -> crate::AfterCommit {
        let ran = Arc::clone(ran);
        Box::new(move |store: &Store| {
            let seen: Option<Thing> = store.transact(|tx| tx.get("s", "a")).unwrap();
            ran.lock().unwrap().push(format!("{what} {}", seen.map_or(0, |t| t.n)));
        })
    };
    store
        .transact(|tx| {
            tx.put("s", &thing("a", 7))?;
            tx.after_commit("k", log(&ran, "replaced"));
            tx.after_commit("k", log(&ran, "k"));
            tx.after_commit("j", log(&ran, "j"));
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(*ran.lock().unwrap(), ["k 7", "j 7"]);
    let r: Result<(), Fail> = store.transact(|tx| {
        tx.after_commit("k", log(&ran, "rolled back"));
        Err(Fail)
    });
    assert!(r.is_err());
    assert_eq!(ran.lock().unwrap().len(), 2, "nothing ran after a rollback");
}

/// One `#[test]` per conformance check for an engine: `conformance_suite!(|| make_store());`
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            put_get_roundtrip scan_is_ordered_by_id_and_sees_own_writes shared_scan_matches_scan
            scopes_and_kinds_are_isolated
            rollback_discards_everything delete_reports_existence counters_are_monotonic_and_independent
            concurrent_updates_are_serialized reset_drops_everything keys_are_any_string_ordered_bytewise
            corrupt_documents_are_reported ids_never_repeat get_many_is_in_order_and_sees_own_writes
            snapshot_reads_see_committed_state after_commit_runs_once_committed);
    };
    (@tests $make:expr; $($check:ident)*) => {
        $(
            #[test]
            fn $check() {
                let make: fn() -> $crate::Store = $make;
                $crate::conformance::$check(make());
            }
        )*
    };
}

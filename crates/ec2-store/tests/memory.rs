//! The in-memory engine (`--ephemeral`) against the store conformance suite.

ec2_store::conformance_suite!(ec2_store::Store::memory);

use ec2_store::conformance::Thing;
use ec2_store::{Store, StoreError};

fn thing(id: &str, n: u64) -> Thing {
    Thing { id: id.to_string(), n }
}

/// The engine keeps nested maps (scope, kind, id): a scope whose last document of a kind is deleted is
/// no longer one of that kind's scopes, inside the deleting transaction and after it, and a transaction
/// sees its own deletes and rewrites in gets, scans and scopes.
#[test]
fn deletes_empty_a_scope_and_a_transaction_sees_its_own_writes() {
    let store = Store::memory();
    store
        .transact(|tx| {
            tx.put("a", &thing("x", 1))?;
            tx.put("b", &thing("y", 1))?;
            tx.put("b", &thing("z", 1))
        })
        .unwrap();
    let inside = store
        .transact(|tx| {
            assert!(tx.delete::<Thing>("b", "y")?);
            assert!(tx.delete::<Thing>("b", "z")?);
            assert_eq!(tx.get::<Thing>("b", "y")?, None);
            tx.put("a", &thing("x", 2))?;
            tx.put("c", &thing("w", 1))?;
            assert_eq!(tx.get::<Thing>("a", "x")?, Some(thing("x", 2)));
            assert_eq!(tx.scan::<Thing>("a")?, [thing("x", 2)]);
            assert!(tx.scan::<Thing>("b")?.is_empty());
            tx.scopes::<Thing>()
        })
        .unwrap();
    assert_eq!(inside, ["a", "c"]);
    let after = store.transact(|tx| Ok::<_, StoreError>((tx.scopes::<Thing>()?, tx.scan::<Thing>("b")?))).unwrap();
    assert_eq!(after, (vec!["a".to_string(), "c".to_string()], vec![]));
    let shared = store.transact(|tx| tx.get_shared::<Thing>("a", "x")).unwrap();
    assert_eq!(shared.as_deref(), Some(&thing("x", 2)));
    assert_eq!(store.transact(|tx| tx.get_shared::<Thing>("a", "nothing")).unwrap(), None);
}

/// A scan inside a transaction that wrote the kind merges the stored and the written documents in one
/// pass: new ids before, between and after the stored ones, rewrites, deletes (of stored ids and of ids
/// never stored) and a freed id taken again, each in id order.
#[test]
fn a_scan_merges_the_transactions_writes_in_id_order() {
    let store = Store::memory();
    store
        .transact(|tx| {
            for id in ["b", "d", "f", "h"] {
                tx.put("s", &thing(id, 1))?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let scanned = store
        .transact(|tx| {
            for (id, n) in [("a", 2), ("d", 2), ("e", 2), ("i", 2), ("j", 2)] {
                tx.put("s", &thing(id, n))?;
            }
            tx.delete::<Thing>("s", "f")?;
            tx.delete::<Thing>("s", "h")?;
            tx.delete::<Thing>("s", "c")?;
            tx.delete::<Thing>("s", "j")?;
            tx.scan::<Thing>("s")
        })
        .unwrap();
    let want = [("a", 2), ("b", 1), ("d", 2), ("e", 2), ("i", 2)].map(|(id, n)| thing(id, n));
    assert_eq!(scanned, want);
    let after: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(after, want);
    // A deleted id taken again, and every stored id deleted but one.
    let again = store
        .transact(|tx| {
            tx.put("s", &thing("f", 3))?;
            for id in ["a", "b", "d", "i"] {
                tx.delete::<Thing>("s", id)?;
            }
            tx.scan::<Thing>("s")
        })
        .unwrap();
    assert_eq!(again, [thing("e", 2), thing("f", 3)]);
    let after: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(after, [thing("e", 2), thing("f", 3)]);
}

/// A transaction keeps the scope it read last: reads that move between scopes, share a prefix, differ
/// only in their last byte, name a scope with no documents, or a key longer than the one kept, each find
/// their own scope's documents.
#[test]
fn reads_moving_between_scopes_find_each_scope_s_documents() {
    let long = "9".repeat(100);
    let longer = format!("{long}0");
    let scopes = ["111122223333/us-east-1", "111122223333/us-east-2", "1", "", long.as_str(), longer.as_str()];
    let store = Store::memory();
    store
        .transact(|tx| {
            for (n, scope) in scopes.iter().enumerate() {
                tx.put(scope, &thing("x", n as u64))?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    let read = store
        .transact(|tx| {
            let mut read = Vec::new();
            for scope in scopes.iter().chain(scopes.iter().rev()).chain(["none", "111122223333/us-east-1"].iter()) {
                read.push((tx.get::<Thing>(scope, "x")?.map(|t| t.n), tx.scan::<Thing>(scope)?.len()));
                read.push((tx.get_shared::<Thing>(scope, "x")?.map(|t| t.n), 0));
            }
            Ok::<_, StoreError>(read)
        })
        .unwrap();
    let n = |i: usize| (Some(i as u64), 1);
    let shared = |i: usize| (Some(i as u64), 0);
    let mut expected = Vec::new();
    for i in (0..scopes.len()).chain((0..scopes.len()).rev()) {
        expected.extend([n(i), shared(i)]);
    }
    expected.extend([(None, 0), (None, 0), n(0), shared(0)]);
    assert_eq!(read, expected);
}

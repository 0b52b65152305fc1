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

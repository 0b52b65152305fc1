//! The PostgreSQL engine against the store conformance suite, plus what only it has: migrations,
//! several engines (nodes) on one database.
//!
//! The server is `$EC2D_TEST_POSTGRES_URL` (CI starts one: .ci/run), or else a throwaway one that this
//! test process starts with `scripts/throwaway-postgres.sh` (installing PostgreSQL if it is missing),
//! watched so that it stops when the process exits: these tests never skip. Each test gets its own
//! database, named after the test.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;

use ec2_store::conformance::Thing;
use ec2_store::postgres::PostgresEngine;
use ec2_store::{Store, StoreError};
use postgres::{Client, NoTls};

/// The server's URL: the environment's, or a throwaway server's started once per test process.
fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Some(url) = std::env::var("EC2D_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
            return url;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/throwaway-postgres.sh");
        let dir = std::env::temp_dir().join(format!("ec2d-test-pg-{}", std::process::id()));
        let out = Command::new("bash")
            .arg(&script)
            .arg("start")
            .arg(&dir)
            .args(["--watch", &std::process::id().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "cannot start a throwaway PostgreSQL (set EC2D_TEST_POSTGRES_URL to use another): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("a UTF-8 URL").trim().to_string()
    })
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let path_start = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    let query = url[path_start..].find('?').map_or("", |i| &url[path_start + i..]);
    format!("{}/{database}{query}", &url[..path_start])
}

/// A new, empty database named after the calling test; its URL.
fn fresh_database() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let test = thread::current().name().unwrap_or("main").rsplit("::").next().unwrap_or("main").to_string();
    let mut name: String = format!("ec2d_test_{test}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(50)
        .collect();
    if test == "main" {
        name = format!("{name}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    }
    let mut admin = Client::connect(server_url(), NoTls).expect("connect to the test server");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).expect("drop an old test database");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create a test database");
    with_database(server_url(), &name)
}

fn make() -> Store {
    Store::postgres(&fresh_database()).expect("connect to a fresh database")
}

mod conformance {
    ec2_store::conformance_suite!(super::make);
}

fn thing(id: &str, n: u64) -> Thing {
    Thing { id: id.into(), n }
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(with_database("postgres://u@h:1/postgres", "x"), "postgres://u@h:1/x");
    assert_eq!(with_database("postgres://u@h:1/db?sslmode=disable", "x"), "postgres://u@h:1/x?sslmode=disable");
    assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
}

#[test]
fn reconnecting_finds_every_committed_change() {
    let url = fresh_database();
    {
        let store = Store::postgres(&url).unwrap();
        store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
        store.transact(|tx| tx.next_counter("c")).unwrap();
    }
    let store = Store::postgres(&url).unwrap();
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert_eq!(all, [thing("a", 1)]);
    assert_eq!(store.transact(|tx| tx.next_counter("c")).unwrap(), 2);
}

#[test]
fn a_database_written_by_a_newer_ec2d_is_refused() {
    let url = fresh_database();
    drop(PostgresEngine::connect(&url).unwrap());
    let mut admin = Client::connect(&url, NoTls).unwrap();
    let version: String = admin.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, "2");
    admin.batch_execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'").unwrap();
    admin.batch_execute("UPDATE meta SET value = '7.0.0' WHERE key = 'written_by'").unwrap();
    let Err(e) = PostgresEngine::connect(&url) else { panic!("a newer store was opened") };
    let e = e.to_string();
    assert!(e.contains("schema version 99") && e.contains("ec2d 7.0.0") && e.contains("upgrade ec2d"), "{e}");
}

#[test]
fn nodes_starting_at_once_migrate_once() {
    let url = fresh_database();
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || PostgresEngine::connect(&url).map(drop))
        })
        .collect();
    for n in nodes {
        n.join().unwrap().expect("every node starts");
    }
    let mut admin = Client::connect(&url, NoTls).unwrap();
    let version: String = admin.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, "2");
}

/// Two engines (two ec2d processes' worth of connections) on one database, updating one document and
/// drawing from one counter at once: no lost update, no value drawn twice.
#[test]
fn two_nodes_on_one_database_are_serialized() {
    let url = fresh_database();
    let nodes = [Arc::new(Store::postgres(&url).unwrap()), Arc::new(Store::postgres(&url).unwrap())];
    nodes[0].transact(|tx| tx.put("s", &thing("ctr", 0))).unwrap();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let store = Arc::clone(&nodes[w % 2]);
            thread::spawn(move || {
                (0..40)
                    .map(|_| {
                        store
                            .transact(|tx| {
                                let mut t: Thing = tx.get("s", "ctr")?.expect("ctr exists");
                                t.n += 1;
                                tx.put("s", &t)?;
                                tx.next_counter("ids")
                            })
                            .unwrap()
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut drawn: Vec<u64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let t: Thing = nodes[1].transact(|tx| tx.get("s", "ctr")).unwrap().unwrap();
    assert_eq!(t.n, 320);
    drawn.sort_unstable();
    assert_eq!(drawn, (1..=320).collect::<Vec<u64>>());
}

/// Documents that lost conflicts are read under their advisory locks for a while: a body that swallows the
/// refused read of such a document (read first without its lock) commits only what its run under the lock did.
#[test]
fn a_hot_document_is_read_under_its_lock_and_a_swallowed_refusal_commits_nothing() {
    let url = fresh_database();
    let nodes = [Arc::new(Store::postgres(&url).unwrap()), Arc::new(Store::postgres(&url).unwrap())];
    nodes[0].transact(|tx| tx.put("s", &thing("ctr", 0))).unwrap();
    let bump = |store: &Store| {
        store.transact(|tx| {
            let mut t: Thing = tx.get("s", "ctr")?.expect("ctr exists");
            t.n += 1;
            tx.put("s", &t)
        })
    };
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let store = Arc::clone(&nodes[w % 2]);
            thread::spawn(move || (0..20).for_each(|_| bump(&store).unwrap()))
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    for store in &nodes {
        let mut runs = 0;
        store
            .transact(|tx| {
                runs += 1;
                match tx.get::<Thing>("s", "ctr") {
                    Ok(Some(mut t)) => {
                        t.n += 1000;
                        tx.put("s", &t)
                    }
                    // Swallowed: this run must not commit.
                    _ => tx.put("s", &thing("lost", runs)),
                }
            })
            .unwrap();
    }
    let (ctr, lost): (Option<Thing>, Option<Thing>) =
        nodes[1].transact(|tx| Ok::<_, StoreError>((tx.get("s", "ctr")?, tx.get("s", "lost")?))).unwrap();
    assert_eq!(ctr.map(|t| t.n), Some(160 + 2000));
    assert_eq!(lost, None);
}

/// A body that swallows a failed statement must not be reported as committed.
#[test]
fn a_swallowed_statement_failure_is_not_a_commit() {
    let store = make();
    let r: Result<(), StoreError> = store.transact(|tx| {
        tx.put("s", &thing("a", 1))?;
        // A key that is not valid in a PostgreSQL text parameter would do; use an engine-level failure:
        // a raw document that PostgreSQL's TEXT refuses (a NUL byte).
        let _ = tx.raw().put("s", "conformance_thing", "b", ec2_store::Doc::new("\u{0}".to_string()));
        Ok(())
    });
    assert!(r.is_err(), "the transaction reported a commit: {r:?}");
    let all: Vec<Thing> = store.transact(|tx| tx.scan("s")).unwrap();
    assert!(all.is_empty(), "{all:?}");
}

/// IDs from two nodes, before and after a reset through one of them: never one value twice, although
/// each node keeps a block of values in memory across the reset.
#[test]
fn ids_of_two_nodes_never_repeat_across_a_reset() {
    let url = fresh_database();
    let nodes = [Store::postgres(&url).unwrap(), Store::postgres(&url).unwrap()];
    let draw = |n: &Store| n.transact(|tx| tx.next_id("ids")).unwrap();
    assert_eq!(draw(&nodes[0]), 1, "a node alone starts at 1");
    assert!(draw(&nodes[1]) > 1, "the other node has a block of its own");
    nodes[0].reset().unwrap();
    let mut after: Vec<u64> = (0..300).map(|i| draw(&nodes[i % 2])).collect();
    after.sort_unstable();
    let n = after.len();
    after.dedup();
    assert_eq!(after.len(), n, "a value was handed out twice after the reset");
}

/// A transaction that does not commit gives its IDs back to its node: one node alone hands out no gap.
#[test]
fn ids_of_a_rolled_back_transaction_are_handed_out_again() {
    let store = make();
    let r: Result<u64, StoreError> = store.transact(|tx| {
        tx.next_id("ids")?;
        Err(StoreError::Engine("the caller gives up".into()))
    });
    assert!(r.is_err());
    assert_eq!(store.transact(|tx| tx.next_id("ids")).unwrap(), 1);
    assert_eq!(store.transact(|tx| tx.next_id("ids")).unwrap(), 2);
}

/// The plan PostgreSQL picks for a read by key, as a generic plan (what a prepared statement gets) on a table
/// without statistics (a fresh database): the indexes it names.
fn plan_of_a_read_by_key(admin: &mut Client) -> String {
    admin.batch_execute("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan").unwrap();
    admin
        .batch_execute(
            "PREPARE by_key(bytea, bytea, bytea) AS SELECT doc FROM docs WHERE scope = $1 AND kind = $2 AND id = $3",
        )
        .unwrap();
    let rows = admin.simple_query("EXPLAIN EXECUTE by_key('s', 'conformance_thing', 'a')").unwrap();
    rows.iter()
        .filter_map(|m| match m {
            postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A read by key goes through the primary key, never an index that holds every document of a kind and
/// scope: under `SERIALIZABLE` such a read would put predicate locks on the pages where every concurrent
/// transaction inserts its new documents of that kind. And the kinds launches insert by the ten, or rewrite
/// in every launch, have a partition (so indexes) of their own.
#[test]
fn a_read_by_key_uses_the_primary_key_and_bulk_kinds_have_their_own_partition() {
    let url = fresh_database();
    let store = Store::postgres(&url).unwrap();
    store.transact(|tx| tx.put("s", &thing("a", 1))).unwrap();
    let mut admin = Client::connect(&url, NoTls).unwrap();
    let plan = plan_of_a_read_by_key(&mut admin);
    assert!(plan.contains("_pkey") && !plan.contains("by_kind"), "{plan}");
    for kind in ["instance", "network_interface", "volume", "event", "subnet", "capacity_pool"] {
        store.transact(|tx| tx.raw().put("s", kind, "x-1", ec2_store::Doc::new("{}".to_string()))).unwrap();
    }
    let placed: Vec<(String, String)> = admin
        .query("SELECT convert_from(kind, 'UTF8'), tableoid::regclass::text FROM docs ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let expected: Vec<(String, String)> =
        ["capacity_pool", "conformance_thing", "event", "instance", "network_interface", "subnet", "volume"]
            .iter()
            .map(|k| {
                (k.to_string(), if *k == "conformance_thing" { "docs_other".to_string() } else { format!("docs_{k}") })
            })
            .collect();
    assert_eq!(placed, expected);
}

/// A database of schema version 1 (its index by kind and scope served reads by key) is migrated: its
/// documents and the scopes of a kind read as before, and a read by key takes the primary key.
#[test]
fn a_version_1_database_is_migrated() {
    let url = fresh_database();
    let mut admin = Client::connect(&url, NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE docs (
                 scope BYTEA NOT NULL, kind BYTEA NOT NULL, id BYTEA NOT NULL, doc TEXT NOT NULL,
                 PRIMARY KEY (scope, kind, id)
             );
             CREATE INDEX docs_by_kind ON docs (kind, scope);
             CREATE TABLE counters (name BYTEA PRIMARY KEY, value BIGINT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '1');
             INSERT INTO docs VALUES ('s1', 'conformance_thing', 'a', '{\"id\":\"a\",\"n\":1}'),
                                     ('s2', 'conformance_thing', 'b', '{\"id\":\"b\",\"n\":2}');
             INSERT INTO counters VALUES ('c', 5);",
        )
        .unwrap();
    assert!(plan_of_a_read_by_key(&mut admin).contains("docs_by_kind"), "version 1 reads by key through docs_by_kind");
    let store = Store::postgres(&url).unwrap();
    let version: String = admin.query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[]).unwrap().get(0);
    assert_eq!(version, "2");
    let (a, scopes) =
        store.transact(|tx| Ok::<_, StoreError>((tx.get::<Thing>("s1", "a")?, tx.scopes::<Thing>()?))).unwrap();
    assert_eq!(a, Some(thing("a", 1)));
    assert_eq!(scopes, ["s1", "s2"]);
    assert_eq!(store.transact(|tx| tx.next_counter("c")).unwrap(), 6);
    admin.batch_execute("DEALLOCATE by_key").unwrap();
    let plan = plan_of_a_read_by_key(&mut admin);
    assert!(plan.contains("_pkey") && !plan.contains("by_kind"), "{plan}");
}

/// `ctr`'s count raised by one in a transaction hinted with `hints`: how many times its body ran.
fn bump(store: &Store, hints: &[ec2_store::Hint]) -> u64 {
    let mut runs = 0;
    store
        .transact_hinted(hints, |tx| {
            runs += 1;
            let mut t: Thing = tx.get("s", "ctr")?.expect("ctr exists");
            t.n += 1;
            tx.put("s", &t)
        })
        .unwrap();
    runs
}

/// One conflict on `ctr` (which exists), which makes it hot for a second: a transaction reads it, another
/// bumps it and commits, then the first adds 100 to what it read: it fails at its write or commit and runs
/// again. Gives the moment just before the first transaction was let go on (the conflict comes after it).
fn conflict_on_ctr(store: &Arc<Store>) -> std::time::Instant {
    use std::sync::mpsc;
    let (read, wait_read) = mpsc::channel();
    let (committed, wait_committed) = mpsc::channel::<()>();
    let loser = {
        let store = Arc::clone(store);
        thread::spawn(move || {
            let mut runs = 0;
            store
                .transact(|tx| {
                    runs += 1;
                    let mut t: Thing = tx.get("s", "ctr")?.expect("ctr exists");
                    if runs == 1 {
                        read.send(()).unwrap();
                        wait_committed.recv().unwrap();
                    }
                    t.n += 100;
                    tx.put("s", &t)
                })
                .unwrap();
            runs
        })
    };
    wait_read.recv().unwrap();
    assert_eq!(bump(store, &[]), 1);
    let hot_from = std::time::Instant::now();
    committed.send(()).unwrap();
    assert!(loser.join().unwrap() >= 2, "the first transaction did not conflict");
    hot_from
}

/// A transaction hinted with a hot document takes its lock before its first attempt, so its body runs once
/// where an unhinted one reads the document unlocked, stops and runs again; and a transaction whose hints
/// led last time to another hot document takes that one's lock first too.
#[test]
fn hinted_hot_documents_are_locked_before_the_first_attempt() {
    use ec2_store::{Hint, Record};
    use std::time::Duration;
    let url = fresh_database();
    let store = Arc::new(Store::postgres(&url).unwrap());
    store.transact(|tx| tx.put("s", &thing("ctr", 0))).unwrap();
    let hot_from = conflict_on_ctr(&store);
    let ctr = [Hint { scope: "s".into(), kind: Thing::KIND, id: "ctr".into() }];
    let other = [Hint { scope: "s".into(), kind: Thing::KIND, id: "other".into() }];
    let unhinted = bump(&store, &[]);
    let hinted = bump(&store, &ctr);
    let first = bump(&store, &other);
    let learned = bump(&store, &other);
    assert_eq!((hinted, learned), (1, 1), "a hinted transaction ran again");
    if hot_from.elapsed() < Duration::from_millis(900) {
        // Still hot: a transaction without the right hints ran twice.
        assert_eq!((unhinted, first), (2, 2));
    }
    let t: Thing = store.transact(|tx| tx.get("s", "ctr")).unwrap().unwrap();
    assert_eq!(t.n, 100 + 5);
}

/// A transaction with the hints of an earlier one reads the documents that one read in the round trip of its
/// `BEGIN`: what it finds is what its snapshot holds (changed or deleted since, keys of any bytes).
#[test]
fn documents_read_at_begin_are_those_of_the_snapshot() {
    use ec2_store::{Hint, Record};
    let url = fresh_database();
    let nodes = [Store::postgres(&url).unwrap(), Store::postgres(&url).unwrap()];
    let odd = "it's \\ \u{e9} \"x\"";
    nodes[0]
        .transact(|tx| {
            tx.put("s", &thing("a", 1))?;
            tx.put(odd, &thing(odd, 2))
        })
        .unwrap();
    let hints = [Hint { scope: "s".into(), kind: Thing::KIND, id: "a".into() }];
    let read = |store: &Store| -> (Option<Thing>, Option<Thing>) {
        store
            .transact_hinted(&hints, |tx| {
                let found = (tx.get("s", "a")?, tx.get(odd, odd)?);
                tx.put("s", &thing("c", 3))?;
                Ok::<_, StoreError>(found)
            })
            .unwrap()
    };
    assert_eq!(read(&nodes[0]), (Some(thing("a", 1)), Some(thing(odd, 2))));
    assert_eq!(read(&nodes[0]), (Some(thing("a", 1)), Some(thing(odd, 2))));
    nodes[1]
        .transact(|tx| {
            tx.put("s", &thing("a", 10))?;
            tx.delete::<Thing>(odd, odd).map(drop)
        })
        .unwrap();
    assert_eq!(read(&nodes[0]), (Some(thing("a", 10)), None));
    nodes[1].transact(|tx| tx.put(odd, &thing(odd, 4))).unwrap();
    assert_eq!(read(&nodes[0]), (Some(thing("a", 10)), Some(thing(odd, 4))));
    assert_eq!(read(&nodes[0]), (Some(thing("a", 10)), Some(thing(odd, 4))));
}

/// A document the last transaction with the same hints looked for and did not find is read again at `BEGIN`:
/// missing then, and found once another node has made it.
#[test]
fn a_missing_document_read_at_begin_is_found_once_made() {
    use ec2_store::{Hint, Record};
    let url = fresh_database();
    let nodes = [Store::postgres(&url).unwrap(), Store::postgres(&url).unwrap()];
    let hints = [Hint { scope: "s".into(), kind: Thing::KIND, id: "missing".into() }];
    let read = |store: &Store| -> Option<Thing> {
        store
            .transact_hinted(&hints, |tx| {
                let found = tx.get("s", "missing")?;
                tx.put("s", &thing("other", 1))?;
                Ok::<_, StoreError>(found)
            })
            .unwrap()
    };
    assert_eq!(read(&nodes[0]), None);
    assert_eq!(read(&nodes[0]), None);
    nodes[1].transact(|tx| tx.put("s", &thing("missing", 7))).unwrap();
    assert_eq!(read(&nodes[0]), Some(thing("missing", 7)));
    nodes[1].transact(|tx| tx.delete::<Thing>("s", "missing").map(drop)).unwrap();
    assert_eq!(read(&nodes[0]), None);
}

/// A hot document stays hot while transactions holding its lock keep committing: after more than `HOT_FOR` (a
/// second) of them, a transaction that reads it without its lock still stops and runs again under it.
#[test]
fn a_document_stays_hot_while_transactions_holding_its_lock_commit() {
    use ec2_store::{Hint, Record};
    use std::time::{Duration, Instant};
    let url = fresh_database();
    let store = Arc::new(Store::postgres(&url).unwrap());
    store.transact(|tx| tx.put("s", &thing("ctr", 0))).unwrap();
    conflict_on_ctr(&store);
    // Hinted transactions (which take the lock of the hot document first) for 1.5 s; the longest pause between
    // two commits is what the test can rely on: on a machine so loaded that it exceeds a second, nothing is
    // asserted.
    let ctr = [Hint { scope: "s".into(), kind: Thing::KIND, id: "ctr".into() }];
    let from = Instant::now();
    let mut last = Instant::now();
    let mut longest = Duration::ZERO;
    let mut bumps = 0;
    while from.elapsed() < Duration::from_millis(1500) {
        assert_eq!(bump(&store, &ctr), 1, "a hinted transaction ran again");
        longest = longest.max(last.elapsed());
        last = Instant::now();
        bumps += 1;
    }
    let unhinted = bump(&store, &[]);
    if longest.max(last.elapsed()) < Duration::from_millis(900) {
        assert_eq!(unhinted, 2, "the document cooled down while its lock was held by every commit");
    }
    let t: Thing = store.transact(|tx| tx.get("s", "ctr")).unwrap().unwrap();
    assert_eq!(t.n, 100 + 1 + bumps + 1);
}

/// A document of the kind of an event tail, which the event-log sweep deletes outside `SERIALIZABLE`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tail {
    id: String,
    n: u64,
}

impl ec2_store::Record for Tail {
    const KIND: &'static str = "event_tail";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A locking transaction (`READ COMMITTED`, its reads `FOR UPDATE`: the event-log sweep's) that deletes a document
/// a `SERIALIZABLE` transaction read does not let that one write the document back alone once it committed: the
/// rewrite of a document read and found is an `UPDATE`, which fails on the delete, and the transaction runs again
/// and finds nothing. (An upsert would make it again: an event tail without its log.)
#[test]
fn a_document_deleted_by_a_locking_transaction_is_not_rewritten_by_one_that_read_it() {
    let store = Arc::new(make());
    store.transact(|tx| tx.put("s", &Tail { id: "x".into(), n: 1 })).unwrap();
    let attempts = AtomicUsize::new(0);
    let seen = store
        .transact(|tx| {
            let found = tx.get::<Tail>("s", "x")?;
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                // Another transaction deletes it and commits, after this one read it.
                let other = Arc::clone(&store);
                thread::spawn(move || {
                    other
                        .transact_locking(|tx| {
                            let x = tx.get_many_shared::<Tail>("s", &["x"])?;
                            assert!(x[0].is_some());
                            tx.delete::<Tail>("s", "x").map(drop)
                        })
                        .unwrap()
                })
                .join()
                .unwrap();
            }
            if let Some(mut x) = found.clone() {
                x.n += 1;
                tx.put("s", &x)?;
            }
            Ok::<_, StoreError>(found)
        })
        .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "the first attempt failed on the delete");
    assert_eq!(seen, None, "the second found it gone");
    assert_eq!(store.transact(|tx| tx.get::<Tail>("s", "x")).unwrap(), None, "not made again");
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Log {
    id: String,
}

impl ec2_store::Record for Log {
    const KIND: &'static str = "event";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A `SERIALIZABLE` transaction that read a log and found no tail, and makes the tail (a resource's first
/// transition after its log's), fails when a locking transaction deleted the log since (the event-log sweep):
/// the tail is not made without its log.
#[test]
fn a_new_tail_is_not_made_beside_a_log_deleted_by_a_locking_transaction() {
    let store = Arc::new(make());
    store.transact(|tx| tx.put("s", &Log { id: "x".into() })).unwrap();
    let attempts = AtomicUsize::new(0);
    store
        .transact(|tx| {
            let tail = tx.get::<Tail>("s", "x")?;
            let log = tx.get::<Log>("s", "x")?;
            if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
                let other = Arc::clone(&store);
                thread::spawn(move || {
                    other
                        .transact_locking(|tx| {
                            assert!(tx.get_many_shared::<Log>("s", &["x"])?[0].is_some());
                            tx.delete::<Log>("s", "x").map(drop)
                        })
                        .unwrap()
                })
                .join()
                .unwrap();
            }
            if tail.is_none() && log.is_some() {
                tx.put("s", &Tail { id: "x".into(), n: 1 })?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "the first attempt failed on the delete");
    assert_eq!(store.transact(|tx| tx.get::<Tail>("s", "x")).unwrap(), None, "no tail without its log");
    assert_eq!(store.transact(|tx| tx.get::<Log>("s", "x")).unwrap(), None);
}

/// A locking transaction waits for a concurrent writer of what it reads, and sees its change: it decides on the
/// latest committed document.
#[test]
fn a_locking_transaction_reads_the_latest_committed_document() {
    let store = Arc::new(make());
    store.transact(|tx| tx.put("s", &thing("x", 1))).unwrap();
    let n = store
        .transact(|tx| {
            tx.get::<Thing>("s", "x")?;
            tx.put("s", &thing("x", 2))?;
            Ok::<_, StoreError>(())
        })
        .and_then(|()| store.transact_locking(|tx| tx.get_many_shared::<Thing>("s", &["x", "y"])))
        .unwrap();
    assert_eq!(n.iter().map(|t| t.as_ref().map(|t| t.n)).collect::<Vec<_>>(), [Some(2), None]);
}

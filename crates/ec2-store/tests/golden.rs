//! Golden documents: every format of the domain records ec2d has stored (`golden/format<N>/`,
//! recorded by `golden/record.py` with the ec2d of that format) still loads, through the upgrades of
//! [`ec2_store::format`], into the record types of today, and nothing in it is lost on the way: the
//! record written back holds every member of the upgraded document. The records of the server's own
//! kinds are loaded by the real server in `tests/e2e/test_stored_formats.py`.

use std::path::PathBuf;

use ec2_core::bundle_tasks::BundleTask;
use ec2_core::capacity_reservations::CapacityReservation;
use ec2_core::instances::Instance;
use ec2_core::spot::SpotRequest;
use ec2_store::format::{self, FORMAT_KEY};
use ec2_store::{Record, Store, StoreError};
use serde_json::Value;

fn golden_formats() -> Vec<(u32, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(n) = name.strip_prefix("format") {
            let text = std::fs::read_to_string(dir.join(&name).join("documents.json")).unwrap();
            found.push((n.parse().unwrap(), serde_json::from_str(&text).unwrap()));
        }
    }
    found.sort_by_key(|(n, _)| *n);
    assert!(!found.is_empty(), "no golden documents in {}", dir.display());
    found
}

/// Loads every golden document of kind `R` through the store, and returns how many there were.
fn loads<R: Record>(docs: &Value) -> usize {
    let store = Store::memory();
    let mut n = 0;
    for d in docs["documents"].as_array().unwrap().iter().filter(|d| d["kind"] == R::KIND) {
        let (scope, id) = (d["scope"].as_str().unwrap(), d["id"].as_str().unwrap());
        let stored = serde_json::to_string(&d["doc"]).unwrap();
        let record: R = store
            .transact(|tx| {
                tx.raw().put(scope, R::KIND, id, ec2_store::Doc::new(stored.clone()))?;
                Ok::<_, StoreError>(tx.get::<R>(scope, id)?.unwrap())
            })
            .unwrap_or_else(|e| panic!("{} {id}: {e}", R::KIND));
        assert_eq!(record.id(), id);
        // Written back, it is in the current format and holds every member the upgraded document had.
        let text = format::encode(&record).unwrap();
        // Byte for byte what serde_json writes (the store's own JSON writer, `ec2_store::json`, only goes faster).
        let by_serde_json = serde_json::to_string(&record).unwrap();
        assert_eq!(text, format!("{{\"{FORMAT_KEY}\":{},{}", format::current::<R>(), &by_serde_json[1..]));
        let written: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(written[FORMAT_KEY], format::current::<R>());
        let mut upgraded = d["doc"].clone();
        let from = upgraded.as_object_mut().unwrap().remove(FORMAT_KEY).and_then(|v| v.as_u64()).unwrap_or(1);
        for up in R::UPGRADES.iter().skip(usize::try_from(from).unwrap() - 1) {
            up(&mut upgraded).unwrap();
        }
        for (member, value) in upgraded.as_object().unwrap() {
            assert_eq!(&written[member], value, "{} {id}: member {member} changed on the way", R::KIND);
        }
        n += 1;
    }
    n
}

#[test]
fn every_recorded_format_of_the_domain_records_loads() {
    for (n, docs) in golden_formats() {
        let counts = [
            (Instance::KIND, loads::<Instance>(&docs)),
            (SpotRequest::KIND, loads::<SpotRequest>(&docs)),
            (CapacityReservation::KIND, loads::<CapacityReservation>(&docs)),
            (BundleTask::KIND, loads::<BundleTask>(&docs)),
        ];
        for (kind, count) in counts {
            assert!(count > 0, "format {n} has no {kind} document to load");
        }
    }
}

#[test]
fn the_golden_documents_cover_every_kind_of_the_previous_format() {
    // Kinds that the server defines (loaded by tests/e2e/test_stored_formats.py) and the domain
    // kinds above: a kind added later must get golden documents once its format changes.
    let known = [
        "bundle_task",
        "capacity_block_offering",
        "capacity_pool",
        "capacity_reservation",
        "client_token",
        "clock",
        "instance",
        "resource_tags",
        "spot_capacity",
        "spot_request",
    ];
    let (_, latest) = golden_formats().pop().unwrap();
    let mut kinds: Vec<&str> =
        latest["documents"].as_array().unwrap().iter().map(|d| d["kind"].as_str().unwrap()).collect();
    kinds.dedup();
    assert_eq!(kinds, known);
}

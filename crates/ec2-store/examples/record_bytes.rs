//! Where a state's memory goes, record kind by record kind: reads every document of an embedded
//! store's file (`DIR/ec2d.sqlite3`, opened read-only), decodes it as its record type, and prints per
//! kind the count, the JSON bytes, the record's inline size and the memory it takes (the growth of
//! the process's resident set while the kind's records are decoded and kept; run with
//! `MALLOC_ARENA_MAX=1`). Kinds without a decoder here are counted by
//! their JSON alone. Usage: `cargo run --release -p ec2-store --example record_bytes -- DIR`

use std::collections::BTreeMap;

use ec2_store::format::decode;
use ec2_store::Record;

/// The process's resident bytes (`/proc/self/statm`, 4 KiB pages).
fn resident() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()).unwrap_or(0) * 4096
}

#[derive(Default)]
struct Tally {
    count: usize,
    json: usize,
    inline: usize,
    resident: usize,
}

/// Decodes `text` as `R` and keeps it (its memory is counted by the resident set), adding its inline
/// size to `t`.
fn held<R: Record>(id: &str, text: &str, t: &mut Tally, keep: &mut Vec<Box<dyn std::any::Any>>) {
    let Ok(record) = decode::<R>(id, text) else {
        eprintln!("{} {id}: does not decode", R::KIND);
        return;
    };
    t.inline += std::mem::size_of::<R>();
    keep.push(Box::new(record));
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: record_bytes DIR");
    let db = rusqlite::Connection::open_with_flags(
        std::path::Path::new(&dir).join("ec2d.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the store");
    let mut stmt = db.prepare("SELECT kind, id, doc FROM docs ORDER BY kind").expect("prepare");
    let rows: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("query").map(Result::unwrap).collect();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(rows.len());
    let mut at = resident();
    let mut previous = String::new();
    for (kind, id, doc) in &rows {
        if *kind != previous {
            let now = resident();
            if let Some(t) = tallies.get_mut(&previous) {
                t.resident = now.saturating_sub(at);
            }
            at = now;
            previous = kind.clone();
        }
        let t = tallies.entry(kind.clone()).or_default();
        t.count += 1;
        t.json += doc.len();
        macro_rules! kinds {
            ($($ty:ty),* $(,)?) => {
                $(if kind == <$ty as Record>::KIND { held::<$ty>(id, doc, t, &mut keep); continue; })*
            };
        }
        use ec2_core::*;
        kinds!(
            instances::Instance,
            bundle_tasks::BundleTask,
            spot::SpotRequest,
            capacity_reservations::CapacityReservation,
            capacity_reservations::pools::CapacityPool,
            network_interfaces::NetworkInterface,
            network_interfaces::InstanceInterfaces,
            volumes::Volume,
            due::DueIndex,
            due::DueHead,
            events::EventLog,
            events::EventTail,
            addresses::Address,
            subnets::Subnet,
            security_groups::SecurityGroup,
        );
    }
    if let Some(t) = tallies.get_mut(&previous) {
        t.resident = resident().saturating_sub(at);
    }
    println!(
        "{:<28} {:>7} {:>11} {:>11} {:>11} {:>9}",
        "kind", "count", "json B", "inline B", "resident B", "res/record"
    );
    let mut total = Tally::default();
    for (kind, t) in &tallies {
        println!(
            "{kind:<28} {:>7} {:>11} {:>11} {:>11} {:>9}",
            t.count,
            t.json,
            t.inline,
            t.resident,
            t.resident / t.count.max(1)
        );
        total.count += t.count;
        total.json += t.json;
        total.inline += t.inline;
        total.resident += t.resident;
    }
    println!("{:<28} {:>7} {:>11} {:>11} {:>11}", "total", total.count, total.json, total.inline, total.resident);
    drop(keep);
}

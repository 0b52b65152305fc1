//! README.md's table of implemented operations (written by tools/readme_ops.py) must list exactly
//! the operations ec2d implements, and its count line must be true, so the README cannot go stale.

use std::collections::BTreeSet;

use ec2_protocol::{ALL_OPERATIONS, IMPLEMENTED_OPERATIONS};

const START: &str = "<!-- implemented-operations:start -->";
const END: &str = "<!-- implemented-operations:end -->";

#[test]
fn the_readme_table_lists_exactly_the_implemented_operations() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme.find(START).expect("the table's start marker");
    let end = readme.find(END).expect("the table's end marker");
    let table = &readme[start..end];
    let mut listed = BTreeSet::new();
    for row in table.lines().filter(|l| l.starts_with("| `")) {
        let ops = row.split('|').nth(2).expect("an operations column");
        for op in ops.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            assert!(listed.insert(op.to_string()), "{op} is listed twice");
        }
    }
    let implemented: BTreeSet<String> = IMPLEMENTED_OPERATIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, implemented, "run `python3 tools/readme_ops.py`");
    let count = format!(
        "{} operations implemented; the other {} of the model's {} answer `NotImplemented`.",
        IMPLEMENTED_OPERATIONS.len(),
        ALL_OPERATIONS.len() - IMPLEMENTED_OPERATIONS.len(),
        ALL_OPERATIONS.len()
    );
    assert!(table.contains(&count), "the count line should read: {count}");
}

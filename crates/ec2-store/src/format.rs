//! The format version of stored documents, and their upgrade on read.
//!
//! Every document a [`Txn`](crate::Txn) writes carries the format version of its record kind as its
//! first member, `"_format": N`, ahead of the record's own members. A kind's format version is
//! `Record::UPGRADES.len() + 1`: format 1 is the record as ec2d stored it before documents carried a
//! version (a document without `_format` is format 1), and `UPGRADES[i]` turns a document of format
//! `i + 1` into format `i + 2`. Reading applies every upgrade from the stored format to the current one
//! (in memory: the stored document stays as it is until the record is written again), so a data
//! directory written by an older ec2d keeps working after a record type changes. A document of a
//! format newer than this ec2d knows is refused as [`StoreError::Corrupt`], never guessed at.
//!
//! Changing a record's serialized form (a renamed, removed or retyped field; a new field without a
//! `#[serde(default)]`) therefore means: append an upgrade to the kind's `UPGRADES`, and add a golden
//! document of the now previous format to `tests/golden/` (see `tests/golden.rs`).

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Record, StoreError};

/// The member that carries a document's format version.
pub const FORMAT_KEY: &str = "_format";

/// One upgrade step: turns a document (without its `_format` member) of format `n` into format `n + 1`.
pub type Upgrade = fn(&mut Value) -> Result<(), String>;

/// The format version that `R` writes.
pub fn current<R: Record>() -> u32 {
    u32::try_from(R::UPGRADES.len()).unwrap_or(u32::MAX - 1).saturating_add(1)
}

/// Serializes `record` with its format version as its first member.
pub fn encode<R: Record>(record: &R) -> Result<String, StoreError> {
    let mut doc = Vec::with_capacity(ENCODE_CAPACITY);
    encode_into(record, &mut doc)?;
    String::from_utf8(doc).map_err(|e| StoreError::Engine(e.to_string()))
}

/// [`encode`] into `doc` (emptied first), for a writer that reuses one buffer for every document.
pub fn encode_into<R: Record>(record: &R, doc: &mut Vec<u8>) -> Result<(), StoreError> {
    // `{"_format":N` and then the record's own object written after it, in one buffer: its opening brace
    // becomes the comma (or, for an empty object, the closing brace).
    doc.clear();
    doc.extend_from_slice(b"{\"");
    doc.extend_from_slice(FORMAT_KEY.as_bytes());
    doc.extend_from_slice(b"\":");
    crate::json::to_vec(&current::<R>(), doc).map_err(|e| StoreError::Engine(e.to_string()))?;
    let at = doc.len();
    crate::json::to_vec(record, doc).map_err(|e| StoreError::Engine(e.to_string()))?;
    // Debug builds (the end-to-end tests' server) check every document against serde_json's bytes.
    #[cfg(debug_assertions)]
    {
        let reference = serde_json::to_vec(record).map_err(|e| StoreError::Engine(e.to_string()))?;
        assert_eq!(
            String::from_utf8_lossy(&doc[at..]),
            String::from_utf8_lossy(&reference),
            "a {} record's JSON differs from serde_json's",
            R::KIND
        );
    }
    match &doc[at..] {
        [b'{', b'}'] => {
            doc.truncate(at);
            doc.push(b'}');
        }
        [b'{', ..] => doc[at] = b',',
        _ => return Err(StoreError::Engine(format!("a {} record must serialize to a JSON object", R::KIND))),
    }
    Ok(())
}

/// What [`encode`] reserves first: an instance's document fits, so most records need no regrowth.
pub(crate) const ENCODE_CAPACITY: usize = 2048;

/// The format version written at the start of `doc` (as [`encode`] writes it), if any. A document
/// reformatted by someone else (the `_format` member elsewhere) is found by the slow path of
/// [`decode`].
fn leading_format(doc: &str) -> Option<u64> {
    let rest = doc.strip_prefix("{\"")?.strip_prefix(FORMAT_KEY)?.strip_prefix("\":")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    let after = rest[end..].chars().next()?;
    if end == 0 || !(after == ',' || after == '}') {
        return None;
    }
    rest[..end].parse().ok()
}

fn corrupt<R: Record>(id: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { kind: R::KIND.into(), id: id.into(), reason: reason.to_string() }
}

/// Reads a stored document of kind `R` with id `id`, upgrading it from the format it was written in.
pub fn decode<R: Record + DeserializeOwned>(id: &str, doc: &str) -> Result<R, StoreError> {
    let current = u64::from(current::<R>());
    if leading_format(doc) == Some(current) {
        // The common case: the document is in the current format (serde skips `_format`).
        return serde_json::from_str(doc).map_err(|e| corrupt::<R>(id, e));
    }
    let mut value: Value = serde_json::from_str(doc).map_err(|e| corrupt::<R>(id, e))?;
    let Value::Object(members) = &mut value else {
        return Err(corrupt::<R>(id, "the document is not a JSON object"));
    };
    let found = match members.remove(FORMAT_KEY) {
        None => 1,
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| corrupt::<R>(id, format!("bad {FORMAT_KEY} {v}")))?,
    };
    if found > current {
        return Err(corrupt::<R>(
            id,
            format!(
                "it has format {found}, but this ec2d ({}) reads {} documents up to format {current}: \
                 it was written by a newer ec2d",
                crate::schema::THIS_VERSION,
                R::KIND
            ),
        ));
    }
    for (step, upgrade) in R::UPGRADES.iter().enumerate().skip(usize::try_from(found - 1).unwrap_or(usize::MAX)) {
        upgrade(&mut value).map_err(|e| {
            corrupt::<R>(id, format!("cannot upgrade it from format {} to {}: {e}", step + 1, step + 2))
        })?;
    }
    serde_json::from_value(value).map_err(|e| corrupt::<R>(id, e))
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    /// Format 1: `{id, size}` (size in GiB as a string); format 2: size a number; format 3: `size`
    /// renamed to `size_gib`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Disk {
        id: String,
        size_gib: u64,
    }

    fn size_to_number(doc: &mut Value) -> Result<(), String> {
        let size = doc.get_mut("size").ok_or("no size")?;
        let n: u64 = size.as_str().ok_or("size is not a string")?.parse().map_err(|e| format!("size: {e}"))?;
        *size = json!(n);
        Ok(())
    }

    fn rename_size(doc: &mut Value) -> Result<(), String> {
        let members = doc.as_object_mut().ok_or("not an object")?;
        let size = members.remove("size").ok_or("no size")?;
        members.insert("size_gib".into(), size);
        Ok(())
    }

    impl Record for Disk {
        const KIND: &'static str = "disk";
        const UPGRADES: &'static [Upgrade] = &[size_to_number, rename_size];
        fn id(&self) -> &str {
            &self.id
        }
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Empty {}

    impl Record for Empty {
        const KIND: &'static str = "empty";
        fn id(&self) -> &str {
            "e"
        }
    }

    fn disk() -> Disk {
        Disk { id: "d-1".into(), size_gib: 8 }
    }

    #[test]
    fn documents_carry_their_format_first() {
        assert_eq!(current::<Disk>(), 3);
        assert_eq!(encode(&disk()).unwrap(), r#"{"_format":3,"id":"d-1","size_gib":8}"#);
        assert_eq!(encode(&Empty {}).unwrap(), r#"{"_format":1}"#);
        assert_eq!(decode::<Empty>("e", r#"{"_format":1}"#).unwrap(), Empty {});
        assert_eq!(decode::<Disk>("d-1", &encode(&disk()).unwrap()).unwrap(), disk());
    }

    #[test]
    fn older_formats_are_upgraded_on_read() {
        // Format 1 documents were written before documents carried a version.
        assert_eq!(decode::<Disk>("d-1", r#"{"id":"d-1","size":"8"}"#).unwrap(), disk());
        assert_eq!(decode::<Disk>("d-1", r#"{"_format":1,"id":"d-1","size":"8"}"#).unwrap(), disk());
        assert_eq!(decode::<Disk>("d-1", r#"{"_format":2,"id":"d-1","size":8}"#).unwrap(), disk());
        // The member found anywhere (a document rewritten by hand or by another tool).
        assert_eq!(decode::<Disk>("d-1", r#"{"id":"d-1","size":8,"_format":2}"#).unwrap(), disk());
        assert_eq!(decode::<Disk>("d-1", r#"{ "_format" : 3, "id":"d-1","size_gib":8}"#).unwrap(), disk());
    }

    #[test]
    fn newer_or_broken_formats_are_refused() {
        let e = decode::<Disk>("d-1", r#"{"_format":4,"id":"d-1","size_gib":8}"#).unwrap_err();
        let StoreError::Corrupt { kind, id, reason } = &e else { panic!("{e:?}") };
        assert_eq!((kind.as_str(), id.as_str()), ("disk", "d-1"));
        assert!(reason.contains("format 4") && reason.contains("up to format 3") && reason.contains("newer"), "{e}");
        let e = decode::<Disk>("d-1", r#"{"id":"d-1","size":"eight"}"#).unwrap_err().to_string();
        assert!(e.contains("from format 1 to 2") && e.contains("size"), "{e}");
        for bad in [r#"{"_format":0,"id":"d-1"}"#, r#"{"_format":"3","id":"d-1"}"#, "[1]", "{", ""] {
            assert!(matches!(decode::<Disk>("d-1", bad), Err(StoreError::Corrupt { .. })), "{bad}");
        }
    }

    #[test]
    fn only_a_leading_member_takes_the_fast_path() {
        assert_eq!(leading_format(r#"{"_format":12,"a":1}"#), Some(12));
        assert_eq!(leading_format(r#"{"_format":1}"#), Some(1));
        assert_eq!(leading_format(r#"{"_format":1.5,"a":1}"#), None);
        assert_eq!(leading_format(r#"{"_format":,"a":1}"#), None);
        assert_eq!(leading_format(r#"{"a":1,"_format":1}"#), None);
        assert_eq!(leading_format(r#"{"_format":1"#), None);
    }
}

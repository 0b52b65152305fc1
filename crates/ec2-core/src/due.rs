//! The due-work index of a scope: which records have timed work (a Spot request's next step, a
//! capacity reservation's next event) and when it is due, so that the catch-up at the start of a
//! request finds due work without reading every record of the scope.
//!
//! An entry may be due earlier than the record's real next step (settling a record before anything
//! is due changes nothing), never later. At equal times, entries are taken in [`DueKind`] order,
//! then by ID, so the order of the catch-ups is decided here, in one place.

use std::collections::BTreeMap;

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

/// The kinds of records with timed work, in the order they are caught up at equal due times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    SpotRequest,
    CapacityReservation,
    Fleet,
    SpotFleetRequest,
}

impl DueKind {
    fn prefix(self) -> &'static str {
        match self {
            DueKind::SpotRequest => "spot_request",
            DueKind::CapacityReservation => "capacity_reservation",
            DueKind::Fleet => "fleet",
            DueKind::SpotFleetRequest => "spot_fleet_request",
        }
    }

    fn of_prefix(p: &str) -> Option<DueKind> {
        match p {
            "spot_request" => Some(DueKind::SpotRequest),
            "capacity_reservation" => Some(DueKind::CapacityReservation),
            "fleet" => Some(DueKind::Fleet),
            "spot_fleet_request" => Some(DueKind::SpotFleetRequest),
            _ => None,
        }
    }
}

/// The id of a scope's one [`DueIndex`] and one [`DueHead`].
pub const INDEX_ID: &str = "due";

/// Every entry of a scope: `kind/id` -> due time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueIndex {
    pub id: String,
    pub entries: BTreeMap<String, UnixMillis>,
}

/// The earliest due time of the scope's index, in a document of its own, so that a request with
/// nothing due reads one small document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueHead {
    pub id: String,
    pub next: Option<UnixMillis>,
}

fn key(kind: DueKind, id: &str) -> String {
    format!("{}/{id}", kind.prefix())
}

impl DueIndex {
    pub fn new() -> Self {
        DueIndex { id: INDEX_ID.into(), entries: BTreeMap::new() }
    }

    /// Sets (or with `None` removes) the record's entry; whether anything changed.
    pub fn set(&mut self, kind: DueKind, id: &str, due: Option<UnixMillis>) -> bool {
        let k = key(kind, id);
        match due {
            Some(t) => self.entries.insert(k, t) != Some(t),
            None => self.entries.remove(&k).is_some(),
        }
    }

    /// Makes the record's entry due at `t` at the latest; whether anything changed.
    pub fn lower(&mut self, kind: DueKind, id: &str, t: UnixMillis) -> bool {
        let k = key(kind, id);
        match self.entries.get(&k) {
            Some(due) if *due <= t => false,
            _ => {
                self.entries.insert(k, t);
                true
            }
        }
    }

    /// The first entry due by `now`, in (due time, kind, id) order.
    pub fn first_due(&self, now: UnixMillis) -> Option<(UnixMillis, DueKind, String)> {
        self.entries
            .iter()
            .filter(|(_, due)| **due <= now)
            .filter_map(|(k, due)| {
                let (p, id) = k.split_once('/')?;
                Some((*due, DueKind::of_prefix(p)?, id.to_string()))
            })
            .min()
    }

    /// The head document for this index.
    pub fn head(&self) -> DueHead {
        DueHead { id: INDEX_ID.into(), next: self.entries.values().min().copied() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: UnixMillis = UnixMillis(1_700_000_000_000);

    #[test]
    fn entries_come_due_in_time_then_kind_then_id_order() {
        let mut ix = DueIndex::new();
        assert!(ix.set(DueKind::CapacityReservation, "cr-1", Some(T.plus_millis(10))));
        assert!(ix.set(DueKind::SpotRequest, "sir-2", Some(T.plus_millis(10))));
        assert!(ix.set(DueKind::SpotRequest, "sir-1", Some(T.plus_millis(20))));
        assert_eq!(ix.first_due(T), None);
        assert_eq!(ix.head().next, Some(T.plus_millis(10)));
        let now = T.plus_millis(30);
        assert_eq!(ix.first_due(now), Some((T.plus_millis(10), DueKind::SpotRequest, "sir-2".into())));
        ix.set(DueKind::SpotRequest, "sir-2", None);
        assert_eq!(ix.first_due(now), Some((T.plus_millis(10), DueKind::CapacityReservation, "cr-1".into())));
        ix.set(DueKind::CapacityReservation, "cr-1", None);
        assert_eq!(ix.first_due(now), Some((T.plus_millis(20), DueKind::SpotRequest, "sir-1".into())));
        ix.set(DueKind::SpotRequest, "sir-1", None);
        assert_eq!(ix.first_due(now), None);
        assert_eq!(ix.head().next, None);
    }

    #[test]
    fn setting_reports_changes_and_lowering_only_moves_earlier() {
        let mut ix = DueIndex::new();
        assert!(!ix.set(DueKind::SpotRequest, "sir-1", None), "nothing to remove");
        assert!(ix.set(DueKind::SpotRequest, "sir-1", Some(T)));
        assert!(!ix.set(DueKind::SpotRequest, "sir-1", Some(T)), "same time");
        assert!(!ix.lower(DueKind::SpotRequest, "sir-1", T.plus_millis(5)), "later: unchanged");
        assert!(ix.lower(DueKind::SpotRequest, "sir-1", T.plus_millis(-5)));
        assert_eq!(ix.head().next, Some(T.plus_millis(-5)));
        assert!(ix.lower(DueKind::CapacityReservation, "cr-1", T), "a missing entry is added");
        assert_eq!(ix.entries.len(), 2);
    }
}

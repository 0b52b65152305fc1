//! The state timeline of a resource, as the console draws it: every transition with its time and
//! reason, kept with a bounded retention. Pure: the service records (`service::events::record`)
//! and saves the log.

use serde::{Deserialize, Serialize};

use crate::UnixMillis;

/// The newest transitions kept per resource; older ones are dropped first.
pub const PER_RESOURCE: usize = 64;
/// The most resources with a timeline kept per scope; the logs whose last transition is oldest
/// are dropped first.
pub const PER_SCOPE: usize = 2000;

/// One transition: the state entered, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: UnixMillis,
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// The timeline of one resource (`id`), of the given kind (`instance`, `spot_request`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLog {
    pub id: String,
    pub kind: String,
    pub events: Vec<Event>,
}

impl EventLog {
    pub fn new(id: &str, kind: &str) -> Self {
        EventLog { id: id.into(), kind: kind.into(), events: Vec::new() }
    }

    /// The time of the newest transition (for the per-scope retention).
    pub fn last_at(&self) -> Option<UnixMillis> {
        self.events.iter().map(|e| e.at).max()
    }

    /// Adds a transition unless the resource is already known to be in that state; keeps the
    /// events in time order (a lazily settled transition may be recorded after a later-dated one
    /// of the same request) and at most [`PER_RESOURCE`] of them. Whether it changed the log.
    pub fn record(&mut self, at: UnixMillis, state: &str, reason: &str) -> bool {
        let pos = self.events.partition_point(|e| e.at <= at);
        if pos > 0 && self.events[pos - 1].state == state {
            return false;
        }
        self.events.insert(pos, Event { at, state: state.into(), reason: reason.into() });
        if self.events.len() > PER_RESOURCE {
            let excess = self.events.len() - PER_RESOURCE;
            self.events.drain(..excess);
        }
        true
    }
}

/// The ids of the logs to drop so that at most `keep` remain: those whose newest transition is
/// oldest (ties by id), given each log's id and newest time.
pub fn over_retention(logs: &[(String, Option<UnixMillis>)], keep: usize) -> Vec<String> {
    if logs.len() <= keep {
        return Vec::new();
    }
    let mut order: Vec<&(String, Option<UnixMillis>)> = logs.iter().collect();
    order.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    order.iter().take(logs.len() - keep).map(|(id, _)| id.clone()).collect()
}

/// How many new logs in a scope between two looks at its size.
pub const SWEEP_EVERY: u64 = 128;

/// What a scope's last retention sweep left: `live` logs when `created` logs had been made in the
/// scope. Written only by a sweep, so that a launch need not count the scope's logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepMark {
    pub id: String,
    pub created: u64,
    pub live: u64,
}

/// Whether the `created`-th new log of a scope calls for a sweep: at every [`SWEEP_EVERY`]-th,
/// when the scope may hold more than [`PER_SCOPE`] logs (what the last sweep left plus the logs
/// made since; every log ever made when it never swept). A scope below the bound is never
/// scanned.
pub fn needs_sweep(created: u64, last: Option<&SweepMark>) -> bool {
    if !created.is_multiple_of(SWEEP_EVERY) {
        return false;
    }
    let may_hold = match last {
        Some(m) => m.live.saturating_add(created.saturating_sub(m.created)),
        None => created,
    };
    may_hold > PER_SCOPE as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_swept_only_when_it_may_hold_more_than_the_bound() {
        let per = PER_SCOPE as u64;
        assert!(!needs_sweep(SWEEP_EVERY + 1, None), "only at every SWEEP_EVERY-th log");
        assert!(!needs_sweep(SWEEP_EVERY, None));
        let first = (per / SWEEP_EVERY + 1) * SWEEP_EVERY;
        assert!(!needs_sweep(first - SWEEP_EVERY, None), "at most PER_SCOPE made yet");
        assert!(needs_sweep(first, None));
        let mark = SweepMark { id: "sweep".into(), created: first, live: per };
        assert!(needs_sweep(first + SWEEP_EVERY, Some(&mark)), "full after the sweep, then more");
        // Resources whose logs were dropped elsewhere leave room: no sweep until it fills again.
        let roomy = SweepMark { id: "sweep".into(), created: first, live: per - 2 * SWEEP_EVERY };
        assert!(!needs_sweep(first + SWEEP_EVERY, Some(&roomy)));
        assert!(!needs_sweep(first + 2 * SWEEP_EVERY, Some(&roomy)));
        assert!(needs_sweep(first + 3 * SWEEP_EVERY, Some(&roomy)));
    }

    #[test]
    fn a_repeated_state_is_not_a_transition() {
        let mut log = EventLog::new("i-1", "instance");
        assert!(log.record(UnixMillis(1), "pending", "launched"));
        assert!(!log.record(UnixMillis(2), "pending", ""));
        assert!(log.record(UnixMillis(3), "running", ""));
        assert!(log.record(UnixMillis(4), "pending", "started"));
        let states: Vec<&str> = log.events.iter().map(|e| e.state.as_str()).collect();
        assert_eq!(states, ["pending", "running", "pending"]);
    }

    #[test]
    fn late_records_keep_time_order() {
        let mut log = EventLog::new("i-1", "instance");
        log.record(UnixMillis(10), "stopping", "");
        log.record(UnixMillis(5), "running", "");
        assert_eq!(log.events.iter().map(|e| e.at.0).collect::<Vec<_>>(), [5, 10]);
        assert_eq!(log.last_at(), Some(UnixMillis(10)));
    }

    #[test]
    fn retention_per_resource_drops_the_oldest() {
        let mut log = EventLog::new("i-1", "instance");
        for t in 0..(PER_RESOURCE as i64 + 10) {
            log.record(UnixMillis(t), if t % 2 == 0 { "a" } else { "b" }, "");
        }
        assert_eq!(log.events.len(), PER_RESOURCE);
        assert_eq!(log.events[0].at, UnixMillis(10));
    }

    #[test]
    fn retention_per_scope_drops_the_stalest_logs() {
        let logs = vec![
            ("c".to_string(), Some(UnixMillis(5))),
            ("a".to_string(), Some(UnixMillis(9))),
            ("b".to_string(), Some(UnixMillis(1))),
            ("d".to_string(), None),
        ];
        assert_eq!(over_retention(&logs, 4), Vec::<String>::new());
        assert_eq!(over_retention(&logs, 2), vec!["d".to_string(), "b".to_string()]);
    }
}

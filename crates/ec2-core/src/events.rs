//! The state timeline of a resource, as the console draws it: every transition with its time and
//! reason, kept with a bounded retention. Pure: the service records (`service::events::record`)
//! and saves the log.
//!
//! A resource's timeline is two records: its [`EventLog`] (made at its first transition) and an
//! [`EventTail`] of at most [`TAIL`] newer transitions. Recording one rewrites the small tail
//! only; a full tail is folded into the log. The timeline is the log followed by the tail, its
//! newest [`PER_RESOURCE`] transitions: the same as if every transition had gone to the log.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::UnixMillis;

/// The newest transitions kept per resource; older ones are dropped first.
pub const PER_RESOURCE: usize = 64;
/// The most resources with a timeline kept per scope; the logs whose last transition is oldest
/// are dropped first.
pub const PER_SCOPE: usize = 2000;
/// What a sweep that finds more than [`PER_SCOPE`] logs leaves: the newest half. Dropping well
/// below the bound spaces out the sweeps (each reads every log of the scope) in a scope whose
/// resources keep getting new timelines, where trimming back to the bound itself would sweep again
/// after every [`SWEEP_EVERY`] new logs.
pub const AFTER_SWEEP: usize = PER_SCOPE / 2;

/// One transition: the state entered, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: UnixMillis,
    pub state: Text,
    #[serde(default, skip_serializing_if = "Text::is_empty")]
    pub reason: Text,
}

/// The text of an event (its state or reason), shared: copying a timeline to change it (a tail
/// on every transition, the log when the tail folds into it) copies no strings. Stored as a JSON
/// string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(Arc<str>);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Arc::from(s))
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Arc::from(s))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text::from)
    }
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
        self.keep_newest();
        true
    }

    /// Drops the oldest transitions beyond [`PER_RESOURCE`].
    fn keep_newest(&mut self) {
        if self.events.len() > PER_RESOURCE {
            let excess = self.events.len() - PER_RESOURCE;
            self.events.drain(..excess);
        }
    }
}

impl EventLog {
    /// The tail's transitions (all at or after the log's newest one) appended, keeping the newest
    /// [`PER_RESOURCE`].
    pub fn fold(&mut self, tail: Vec<Event>) {
        self.events.extend(tail);
        self.keep_newest();
    }

    /// The timeline of a resource whose log is `self` and whose tail is `tail`.
    pub fn with_tail(mut self, tail: Option<&EventTail>) -> EventLog {
        if let Some(t) = tail {
            self.fold(t.events.clone());
        }
        self
    }
}

/// The most transitions a resource's [`EventTail`] holds; one more folds them into its log.
pub const TAIL: usize = 8;

/// A resource's newest transitions beside its [`EventLog`] (under the same ID): every one at or
/// after the log's newest, in time order. With none, it keeps a copy of the log's newest
/// transition, so that recording the next one needs no look at the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTail {
    pub id: String,
    pub events: Vec<Event>,
    /// The log's newest transition (what the tail's first follows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_newest: Option<Event>,
}

/// Where a transition goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The resource is already known to be in that state: nothing changes.
    Repeated,
    /// Into the tail, at this position.
    Tail(usize),
    /// Before the tail's first transition (or, the tail empty, before the log's newest): into
    /// the log ([`EventLog::record`]) once the tail is folded into it.
    Log,
}

impl EventTail {
    /// The empty tail of a log.
    pub fn after(log: &EventLog) -> Self {
        EventTail { id: log.id.clone(), events: Vec::new(), log_newest: log.events.last().cloned() }
    }

    /// Where a transition goes, as [`EventLog::record`] would put it in the whole timeline: not
    /// when the state it follows is the same.
    fn place(&self, at: UnixMillis, state: &str) -> Place {
        let before = match self.events.first() {
            Some(first) if at < first.at => return Place::Log,
            Some(_) => {
                // >= 1: the first transition is at or before `at`.
                let pos = self.events.partition_point(|e| e.at <= at);
                Some(&self.events[pos - 1])
            }
            None => match &self.log_newest {
                Some(newest) if at < newest.at => return Place::Log,
                newest => newest.as_ref(),
            },
        };
        if before.is_some_and(|b| b.state == state) {
            Place::Repeated
        } else {
            Place::Tail(self.events.partition_point(|e| e.at <= at))
        }
    }

    /// The time of the newest transition in the tail.
    pub fn last_at(&self) -> Option<UnixMillis> {
        self.events.last().map(|e| e.at)
    }
}

/// What recording a transition writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Nothing: the resource is already known to be in that state.
    Nothing,
    /// The tail, with the transition.
    Tail(EventTail),
    /// The log, with the tail folded in and the transition, and its new empty tail.
    Log(EventLog, EventTail),
    /// The log is needed (the tail is full, the transition comes before it, or there is no tail):
    /// record again with it. The tail is handed back unchanged.
    NeedLog(Option<EventTail>),
}

/// Records a transition of the resource whose tail is `tail` and whose log is `log` (`None`:
/// not read yet). The log is read only when there is no tail, the tail is full or the
/// transition comes before it, and copied only then.
pub fn record(log: Option<&EventLog>, tail: Option<EventTail>, at: UnixMillis, state: &str, reason: &str) -> Write {
    let mut tail = match (tail, log) {
        (Some(t), _) => t,
        (None, Some(l)) => EventTail::after(l),
        (None, None) => return Write::NeedLog(None),
    };
    let event = || Event { at, state: state.into(), reason: reason.into() };
    let place = tail.place(at, state);
    match place {
        Place::Repeated => return Write::Nothing,
        Place::Tail(pos) if tail.events.len() < TAIL => {
            tail.events.insert(pos, event());
            return Write::Tail(tail);
        }
        Place::Tail(_) | Place::Log => {}
    }
    let Some(log) = log else { return Write::NeedLog(Some(tail)) };
    let mut log = log.clone();
    match place {
        Place::Tail(pos) => {
            tail.events.insert(pos, event());
            log.fold(tail.events);
        }
        _ => {
            log.fold(tail.events);
            if !log.record(at, state, reason) {
                return Write::Nothing;
            }
        }
    }
    let tail = EventTail::after(&log);
    Write::Log(log, tail)
}

/// The ids of the logs to drop so that at most `keep` remain: those whose newest transition is
/// oldest (ties by id), given each log's id and newest time.
pub fn over_retention(logs: &[(&str, Option<UnixMillis>)], keep: usize) -> Vec<String> {
    if logs.len() <= keep {
        return Vec::new();
    }
    let mut order: Vec<&(&str, Option<UnixMillis>)> = logs.iter().collect();
    let n = logs.len() - keep;
    // The n stalest, in no particular order: a selection, not a sort.
    order.select_nth_unstable_by(n - 1, |a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(b.0)));
    order[..n].iter().map(|(id, _)| id.to_string()).collect()
}

/// What a sweep drops from a scope's logs: nothing while they are within [`PER_SCOPE`], else the
/// stalest down to [`AFTER_SWEEP`].
pub fn sweep(logs: &[(&str, Option<UnixMillis>)]) -> Vec<String> {
    if logs.len() <= PER_SCOPE {
        return Vec::new();
    }
    over_retention(logs, AFTER_SWEEP)
}

/// The time of a resource's newest transition, given its log and its tail (in the tail when it has one):
/// what the per-scope retention orders logs by.
pub fn newest(log: &EventLog, tail: Option<&EventTail>) -> Option<UnixMillis> {
    tail.and_then(EventTail::last_at).or_else(|| log.last_at())
}

/// Whether a log a sweep chose to drop (when its newest transition was at `chosen`), read again as `log`
/// and `tail` by the transaction that drops it, still goes: not when the resource had a transition since
/// (it is no longer among the stalest the sweep saw), nor when it is already gone.
pub fn still_stale(chosen: Option<UnixMillis>, log: Option<&EventLog>, tail: Option<&EventTail>) -> bool {
    log.is_some_and(|log| newest(log, tail) == chosen)
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
    fn a_chosen_log_goes_only_while_nothing_happened_to_it_since() {
        let mut log = EventLog::new("i-1", "instance");
        log.record(UnixMillis(10), "pending", "");
        log.record(UnixMillis(20), "running", "");
        let tail = EventTail::after(&log);
        assert_eq!(newest(&log, None), Some(UnixMillis(20)));
        assert_eq!(newest(&log, Some(&tail)), Some(UnixMillis(20)), "an empty tail: the log's newest");
        assert!(still_stale(Some(UnixMillis(20)), Some(&log), Some(&tail)));
        assert!(still_stale(Some(UnixMillis(20)), Some(&log), None));
        // A transition since, into the tail: kept.
        let Write::Tail(moved) = record(Some(&log), Some(tail.clone()), UnixMillis(30), "stopping", "") else {
            panic!()
        };
        assert_eq!(newest(&log, Some(&moved)), Some(UnixMillis(30)));
        assert!(!still_stale(Some(UnixMillis(20)), Some(&log), Some(&moved)));
        // The same state again writes nothing, and changes nothing about it.
        assert_eq!(record(Some(&log), Some(tail.clone()), UnixMillis(30), "running", ""), Write::Nothing);
        // Already gone (another sweep dropped it): nothing to drop.
        assert!(!still_stale(Some(UnixMillis(20)), None, None));
    }

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
    fn a_sweep_over_the_bound_keeps_the_newest_half() {
        let ids: Vec<String> = (0..PER_SCOPE + 1).map(|n| format!("i-{n:05}")).collect();
        // Log n's newest transition is at n, except that two share a time (ties go by id).
        let mut logs: Vec<(&str, Option<UnixMillis>)> =
            ids.iter().enumerate().map(|(n, id)| (id.as_str(), Some(UnixMillis(n as i64)))).collect();
        logs[1].1 = Some(UnixMillis(0));
        assert_eq!(sweep(&logs[..PER_SCOPE]), Vec::<String>::new(), "within the bound");
        let mut dropped = sweep(&logs);
        dropped.sort();
        assert_eq!(dropped.len(), PER_SCOPE + 1 - AFTER_SWEEP);
        assert_eq!(dropped, ids[..PER_SCOPE + 1 - AFTER_SWEEP].to_vec(), "the stalest go");
        // After it, the scope fills for many more new logs before the next sweep.
        let mark = SweepMark { id: "sweep".into(), created: 4096, live: AFTER_SWEEP as u64 };
        let room = (PER_SCOPE - AFTER_SWEEP) as u64;
        assert!(!needs_sweep(4096 + room / SWEEP_EVERY * SWEEP_EVERY, Some(&mark)));
        assert!(needs_sweep(4096 + (room / SWEEP_EVERY + 1) * SWEEP_EVERY, Some(&mark)));
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

    /// What the service does: the tail first, the log when asked for.
    fn record_both(log: &EventLog, tail: Option<EventTail>, at: i64, state: &str, reason: &str) -> Write {
        match record(None, tail, UnixMillis(at), state, reason) {
            Write::NeedLog(tail) => {
                let w = record(Some(log), tail, UnixMillis(at), state, reason);
                assert!(!matches!(w, Write::NeedLog(_)), "not with the log");
                w
            }
            w => w,
        }
    }

    /// Records the same transitions in one log and in a log with a tail: the same answers and the
    /// same timeline after each.
    fn same_as_one_log(steps: &[(i64, &str)]) {
        let mut whole = EventLog::new("i-1", "instance");
        let mut log: Option<EventLog> = None;
        let mut tail: Option<EventTail> = None;
        for (n, (at, state)) in steps.iter().enumerate() {
            let reason = format!("r{n}");
            let changed = whole.record(UnixMillis(*at), state, &reason);
            let split_changed = match &log {
                None => {
                    let mut l = EventLog::new("i-1", "instance");
                    l.record(UnixMillis(*at), state, &reason);
                    log = Some(l);
                    true
                }
                Some(l) => match record_both(l, tail.clone(), *at, state, &reason) {
                    Write::Nothing => false,
                    Write::Tail(t) => {
                        assert!(t.events.len() <= TAIL);
                        tail = Some(t);
                        true
                    }
                    Write::Log(l, t) => {
                        assert!(l.events.len() <= PER_RESOURCE);
                        assert!(t.events.is_empty() && t.log_newest.as_ref() == l.events.last());
                        log = Some(l);
                        tail = Some(t);
                        true
                    }
                    Write::NeedLog(_) => unreachable!(),
                },
            };
            assert_eq!(changed, split_changed, "step {n}: ({at}, {state})");
            let timeline = log.clone().map(|l| l.with_tail(tail.as_ref())).unwrap_or_else(|| whole.clone());
            assert_eq!(timeline, whole, "step {n}: ({at}, {state})");
        }
    }

    #[test]
    fn a_log_with_a_tail_records_as_one_log_does() {
        // In order, with repeats: the tail fills and folds many times, past the retention.
        let states = ["pending", "running", "running", "stopping", "stopped", "stopped", "pending"];
        let steps: Vec<(i64, &str)> = (0..300).map(|t| (t as i64 / 2, states[t % states.len()])).collect();
        same_as_one_log(&steps);
        // Late transitions (before the tail, before the log's newest, equal times), from a fixed
        // pseudo-random sequence.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut steps = Vec::new();
        let mut clock = 0i64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            clock += (x % 3) as i64;
            let late = if x.is_multiple_of(5) { ((x >> 8) % 40) as i64 } else { 0 };
            steps.push(((clock - late).max(0), states[((x >> 16) % states.len() as u64) as usize]));
        }
        same_as_one_log(&steps);
    }

    #[test]
    fn the_log_is_read_only_when_the_tail_cannot_take_the_transition() {
        let mut log = EventLog::new("i-1", "instance");
        log.record(UnixMillis(10), "pending", "");
        assert_eq!(record(None, None, UnixMillis(20), "running", ""), Write::NeedLog(None), "no tail yet");
        let Write::Tail(tail) = record(Some(&log), None, UnixMillis(20), "running", "") else { panic!("in the tail") };
        assert_eq!(record(None, Some(tail.clone()), UnixMillis(25), "running", ""), Write::Nothing);
        let Write::Tail(t2) = record(None, Some(tail.clone()), UnixMillis(22), "stopping", "") else {
            panic!("after the tail's first: the tail")
        };
        assert_eq!(t2.events.iter().map(|e| e.at.0).collect::<Vec<_>>(), [20, 22]);
        assert_eq!(record(None, Some(tail.clone()), UnixMillis(15), "x", ""), Write::NeedLog(Some(tail.clone())));
        let Write::Log(l, t) = record(Some(&log), Some(tail), UnixMillis(15), "x", "") else {
            panic!("before the tail: the log")
        };
        assert_eq!(l.events.iter().map(|e| e.at.0).collect::<Vec<_>>(), [10, 15, 20]);
        assert_eq!((t.events.len(), t.log_newest.map(|e| e.at)), (0, Some(UnixMillis(20))));
        // An empty tail knows the log's newest: a repeat of it, or a later one, needs no log.
        let empty = EventTail::after(&log);
        assert_eq!(record(None, Some(empty.clone()), UnixMillis(30), "pending", ""), Write::Nothing);
        assert!(matches!(record(None, Some(empty.clone()), UnixMillis(30), "running", ""), Write::Tail(_)));
        assert_eq!(record(None, Some(empty.clone()), UnixMillis(5), "x", ""), Write::NeedLog(Some(empty)));
        // A full tail is folded into the log with the transition.
        let mut full = EventTail::after(&log);
        for t in 0..TAIL as i64 {
            full.events.push(Event { at: UnixMillis(100 + t), state: format!("s{t}").into(), reason: Text::default() });
        }
        assert_eq!(record(None, Some(full.clone()), UnixMillis(200), "x", ""), Write::NeedLog(Some(full.clone())));
        let Write::Log(l, t) = record(Some(&log), Some(full), UnixMillis(200), "x", "") else { panic!("folded") };
        assert_eq!(l.events.len(), TAIL + 2);
        assert_eq!(t.log_newest.map(|e| e.state), Some("x".into()));
    }

    #[test]
    fn retention_per_scope_drops_the_stalest_logs() {
        let logs =
            vec![("c", Some(UnixMillis(5))), ("a", Some(UnixMillis(9))), ("b", Some(UnixMillis(1))), ("d", None)];
        assert_eq!(over_retention(&logs, 4), Vec::<String>::new());
        let mut dropped = over_retention(&logs, 2);
        dropped.sort();
        assert_eq!(dropped, ["b", "d"]);
        assert_eq!(over_retention(&logs, 3), ["d"]);
    }
}

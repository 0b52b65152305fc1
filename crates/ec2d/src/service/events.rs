//! The `event` records: each resource's state timeline, for the console. Every state change the
//! service makes goes through [`record`], the one function a future choke point for state changes
//! calls too. A lazily settled transition is recorded with its due time, not the time it was seen.

use ec2_core::events::{self, needs_sweep, EventLog, EventTail, SweepMark, Write};
use ec2_core::UnixMillis;
use std::collections::HashMap;

use ec2_store::{Store, StoreError, Txn};

/// The counter that spaces out the per-scope retention sweeps.
fn sweep_counter(scope: &str) -> String {
    format!("event-logs/{scope}")
}

/// Records that resource `id` (of store kind `kind`) entered `state` at `at`, for `reason`. A
/// state the resource is already known to be in is not recorded again. The resource's log is
/// read only when its tail cannot take the transition, and rewritten only when the tail is folded
/// into it (`ec2_core::events::record`): a transition usually reads and rewrites the small tail alone.
pub fn record(
    tx: &mut Txn<'_>,
    scope: &str,
    kind: &str,
    id: &str,
    at: UnixMillis,
    state: &str,
    reason: &str,
) -> Result<(), StoreError> {
    // The tail alone usually decides; the log is read (shared) only when it does not.
    let mut write = events::record(None, tx.get::<EventTail>(scope, id)?, at, state, reason);
    if let Write::NeedLog(tail) = write {
        write = match tx.get_shared::<EventLog>(scope, id)? {
            Some(log) => events::record(Some(&log), tail, at, state, reason),
            None => Write::NeedLog(None),
        };
    }
    match write {
        Write::Nothing => Ok(()),
        Write::Tail(tail) => tx.put_owned(scope, tail),
        Write::Log(log, tail) => {
            tx.put_owned(scope, log)?;
            tx.put_owned(scope, tail)
        }
        // No log: the resource's first transition.
        Write::NeedLog(_) => first(tx, scope, kind, id, at, state, reason),
    }
}

/// [`record`] of the first transition of a resource that has no timeline yet (made in this
/// transaction, with a new ID): starts its log without reading any.
pub fn first(
    tx: &mut Txn<'_>,
    scope: &str,
    kind: &str,
    id: &str,
    at: UnixMillis,
    state: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let mut log = EventLog::new(id, kind);
    log.record(at, state, reason);
    tx.put_owned(scope, log)?;
    // Unique rather than gapless (no row every launch waits for on PostgreSQL): a count that skips
    // only brings a sweep forward.
    let created = tx.next_id(&sweep_counter(scope))?;
    // Every SWEEP_EVERY-th new log, the scope is looked at. Where other transactions run beside this one
    // (`Txn::concurrent`: PostgreSQL), once this one has committed (`sweep`): the launch holds none of the
    // sweep's reads, and the sweep's conflicts do not make it run again. Elsewhere, in this transaction: a
    // transaction that makes thousands of logs (a launch of many, the first look that settles them) keeps the
    // scope near its bound as it goes rather than holding every new log until its commit.
    if created.is_multiple_of(ec2_core::events::SWEEP_EVERY) {
        if tx.concurrent() {
            let scope = scope.to_string();
            tx.after_commit(&sweep_counter(&scope), Box::new(move |store: &Store| sweep(store, &scope, created)));
        } else if let Some(chosen) = choose(tx, scope, created)? {
            drop_chosen(tx, scope, created, &chosen)?;
        }
    }
    Ok(())
}

/// What a sweep chose: the logs to drop with the newest transition each had when chosen, and how many logs
/// the scope held.
type Chosen = (Vec<(String, Option<UnixMillis>)>, usize);

/// The retention sweep of `scope`'s event logs called for by its `created`-th new log, after that log's
/// transaction committed: when the scope may hold more logs than it keeps (`needs_sweep`), the stalest are
/// chosen on a snapshot that concurrent launches do not conflict with (`Store::read_snapshot`), then dropped
/// by key in a short transaction that reads each again and keeps it if it had a transition since
/// (`events::still_stale`). A sweep that fails leaves the scope to the next one (its mark is unchanged).
pub fn sweep(store: &Store, scope: &str, created: u64) {
    // The outcome reaches nobody: the launch that called for it has committed.
    let _ = try_sweep(store, scope, created);
}

/// [`sweep`]: the number of logs dropped (`None`: the scope did not need a sweep).
pub fn try_sweep(store: &Store, scope: &str, created: u64) -> Result<Option<usize>, StoreError> {
    let Some(chosen) = store.read_snapshot(|tx| choose(tx, scope, created))? else { return Ok(None) };
    store.transact_locking(|tx| drop_chosen(tx, scope, created, &chosen))
}

/// The logs a sweep called for by the `created`-th new log drops (`events::sweep`), when the scope may hold more
/// than it keeps (`needs_sweep`).
fn choose(tx: &mut Txn<'_>, scope: &str, created: u64) -> Result<Option<Chosen>, StoreError> {
    if !needs_sweep(created, tx.get::<SweepMark>(scope, "sweep")?.as_ref()) {
        return Ok(None);
    }
    // A resource's newest transition is in its tail when it has one.
    let tail_records = tx.scan_shared::<EventTail>(scope)?;
    let tails: HashMap<&str, &EventTail> = tail_records.iter().map(|t| (t.id.as_str(), &**t)).collect();
    let log_records = tx.scan_shared::<EventLog>(scope)?;
    let logs: Vec<(&str, Option<UnixMillis>)> =
        log_records.iter().map(|l| (l.id.as_str(), events::newest(l, tails.get(l.id.as_str()).copied()))).collect();
    let newest: HashMap<&str, Option<UnixMillis>> = logs.iter().copied().collect();
    let victims = events::sweep(&logs)
        .into_iter()
        .map(|id| {
            let at = newest[id.as_str()];
            (id, at)
        })
        .collect();
    Ok(Some((victims, logs.len())))
}

/// Drops the logs `choose` chose that are still stale (`events::still_stale`), with their tails, and leaves the
/// sweep's mark; the number dropped (`None`: a sweep of a later count already left its mark).
fn drop_chosen(
    tx: &mut Txn<'_>,
    scope: &str,
    created: u64,
    (victims, seen): &Chosen,
) -> Result<Option<usize>, StoreError> {
    // A sweep of a later count (another node's) already left its mark: this one's look is older.
    if tx.get::<SweepMark>(scope, "sweep")?.is_some_and(|m| m.created >= created) {
        return Ok(None);
    }
    let ids: Vec<&str> = victims.iter().map(|(id, _)| id.as_str()).collect();
    let logs = tx.get_many_shared::<EventLog>(scope, &ids)?;
    let tails = tx.get_many_shared::<EventTail>(scope, &ids)?;
    let mut gone = 0;
    for (((id, chosen), log), tail) in victims.iter().zip(&logs).zip(&tails) {
        if log.is_none() {
            gone += 1;
        } else if events::still_stale(*chosen, log.as_deref(), tail.as_deref()) {
            tx.delete::<EventLog>(scope, id)?;
            if tail.is_some() {
                tx.delete::<EventTail>(scope, id)?;
            }
            gone += 1;
        }
    }
    let live = (seen - gone) as u64;
    tx.put_owned(scope, SweepMark { id: "sweep".into(), created, live })?;
    Ok(Some(gone))
}

/// The timeline of one resource (empty when nothing was recorded): its log and its tail.
pub fn timeline(tx: &mut Txn<'_>, scope: &str, id: &str) -> Result<Option<EventLog>, StoreError> {
    let Some(log) = tx.get::<EventLog>(scope, id)? else { return Ok(None) };
    let tail = tx.get_shared::<EventTail>(scope, id)?;
    Ok(Some(log.with_tail(tail.as_deref())))
}

/// Records an instance's state at `at`, with its state reason (or transition reason).
pub fn instance(
    tx: &mut Txn<'_>,
    scope: &str,
    inst: &ec2_core::instances::Instance,
    at: UnixMillis,
) -> Result<(), StoreError> {
    let (state, reason) = instance_state(inst);
    record(tx, scope, "instance", &inst.id, at, state, reason)
}

/// An instance's state and its state reason (or transition reason), as its timeline shows them.
fn instance_state(inst: &ec2_core::instances::Instance) -> (&'static str, &str) {
    let reason = match &inst.state_reason {
        Some(r) => r.message.as_str(),
        None => inst.state_transition_reason.as_str(),
    };
    (inst.state.name(), reason)
}

/// [`instance`] for an instance just launched (no timeline yet): [`first`].
pub fn first_of_instance(
    tx: &mut Txn<'_>,
    scope: &str,
    inst: &ec2_core::instances::Instance,
    at: UnixMillis,
) -> Result<(), StoreError> {
    let (state, reason) = instance_state(inst);
    first(tx, scope, "instance", &inst.id, at, state, reason)
}

/// Records a Spot request's state and status code, at the status code's time.
pub fn spot_request(tx: &mut Txn<'_>, scope: &str, r: &ec2_core::spot::SpotRequest) -> Result<(), StoreError> {
    let state = format!("{} / {}", r.state.name(), r.status_code);
    record(tx, scope, "spot_request", &r.id, r.status_time, &state, ec2_core::spot::status_message(&r.status_code))
}

/// Records a Capacity Reservation's state at `at`.
pub fn reservation(
    tx: &mut Txn<'_>,
    scope: &str,
    cr: &ec2_core::capacity_reservations::CapacityReservation,
    at: UnixMillis,
) -> Result<(), StoreError> {
    let reason = match &cr.allocation {
        Some(a) => format!("interruptible allocation {}", a.interruptible_id),
        None => String::new(),
    };
    record(tx, scope, "capacity_reservation", &cr.id, at, cr.state.name(), &reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec2_core::events::{AFTER_SWEEP, PER_SCOPE, SWEEP_EVERY};

    const SCOPE: &str = "111122223333/us-east-1";

    fn launch(store: &Store, n: usize) {
        let id = format!("i-{n:05}");
        store.transact(|tx| first(tx, SCOPE, "instance", &id, UnixMillis(n as i64), "pending", "")).unwrap();
    }

    fn ids<R: ec2_store::Record>(store: &Store) -> Vec<String> {
        store.transact(|tx| tx.scan::<R>(SCOPE)).unwrap().iter().map(|r| r.id().to_string()).collect()
    }

    /// The log that calls for a sweep (inside its transaction on an engine that runs one at a time, as here)
    /// drops the stalest logs by their newest transition (a tail's, when there is one) down to `AFTER_SWEEP`,
    /// with their tails, and leaves its mark; `try_sweep`, the sweep after a commit, then finds nothing to do.
    #[test]
    fn the_sweep_drops_the_stalest_down_to_the_bound() {
        let store = Store::memory();
        let first_sweep = (PER_SCOPE as u64 / SWEEP_EVERY + 1) * SWEEP_EVERY;
        for n in 0..first_sweep as usize - 1 {
            launch(&store, n);
        }
        assert_eq!(ids::<EventLog>(&store).len(), first_sweep as usize - 1, "below the bound until then");
        // The oldest but one had a transition since: the newest of all now.
        store.transact(|tx| record(tx, SCOPE, "instance", "i-00001", UnixMillis(1 << 40), "running", "")).unwrap();
        store.transact(|tx| record(tx, SCOPE, "instance", "i-00000", UnixMillis(0), "pending", "")).unwrap();
        assert_eq!(ids::<EventTail>(&store), ["i-00001"]);
        launch(&store, first_sweep as usize - 1);
        let logs = ids::<EventLog>(&store);
        assert_eq!(logs.len(), AFTER_SWEEP);
        assert!(logs.contains(&"i-00001".to_string()), "a transition since keeps it");
        let dropped = first_sweep as usize - AFTER_SWEEP;
        let expected: Vec<String> =
            std::iter::once(1).chain(dropped + 1..first_sweep as usize).map(|n| format!("i-{n:05}")).collect();
        assert_eq!(logs, expected, "the stalest went");
        assert_eq!(ids::<EventTail>(&store), ["i-00001"]);
        let mark = store.transact(|tx| tx.get::<SweepMark>(SCOPE, "sweep")).unwrap();
        assert_eq!(mark, Some(SweepMark { id: "sweep".into(), created: first_sweep, live: AFTER_SWEEP as u64 }));
        // A sweep called for by an older count than the mark's does nothing; nor one the scope does not need.
        assert_eq!(try_sweep(&store, SCOPE, first_sweep - SWEEP_EVERY), Ok(None));
        assert_eq!(try_sweep(&store, SCOPE, first_sweep + SWEEP_EVERY), Ok(None));
        assert_eq!(ids::<EventLog>(&store).len(), AFTER_SWEEP);
    }
}

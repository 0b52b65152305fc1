//! The `event` records: each resource's state timeline, for the console. Every state change the
//! service makes goes through [`record`], the one function a future choke point for state changes
//! calls too. A lazily settled transition is recorded with its due time, not the time it was seen.

use ec2_core::events::{self, needs_sweep, EventLog, EventTail, SweepMark, Write};
use ec2_core::UnixMillis;
use ec2_store::{StoreError, Txn};

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
    // A scope is scanned only when it may hold more logs than it keeps (`needs_sweep`), so a
    // launch into a scope below the bound reads no other log.
    if created.is_multiple_of(ec2_core::events::SWEEP_EVERY)
        && needs_sweep(created, tx.get::<SweepMark>(scope, "sweep")?.as_ref())
    {
        // A resource's newest transition is in its tail when it has one.
        let tail_records = tx.scan_shared::<EventTail>(scope)?;
        let tails: std::collections::HashMap<&str, Option<UnixMillis>> =
            tail_records.iter().map(|t| (t.id.as_str(), t.last_at())).collect();
        let log_records = tx.scan_shared::<EventLog>(scope)?;
        let logs: Vec<(&str, Option<UnixMillis>)> = log_records
            .iter()
            .map(|l| (l.id.as_str(), tails.get(l.id.as_str()).copied().flatten().or_else(|| l.last_at())))
            .collect();
        let drop = events::sweep(&logs);
        for id in &drop {
            tx.delete::<EventLog>(scope, id)?;
            if tails.contains_key(id.as_str()) {
                tx.delete::<EventTail>(scope, id)?;
            }
        }
        let live = (logs.len() - drop.len()) as u64;
        tx.put_owned(scope, SweepMark { id: "sweep".into(), created, live })?;
    }
    Ok(())
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

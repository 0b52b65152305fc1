//! The `event` records: each resource's state timeline, for the console. Every state change the
//! service makes goes through [`record`], the one function a future choke point for state changes
//! calls too. A lazily settled transition is recorded with its due time, not the time it was seen.

use ec2_core::events::{needs_sweep, over_retention, EventLog, SweepMark, PER_SCOPE};
use ec2_core::UnixMillis;
use ec2_store::{StoreError, Txn};

/// The counter that spaces out the per-scope retention sweeps.
fn sweep_counter(scope: &str) -> String {
    format!("event-logs/{scope}")
}

/// Records that resource `id` (of store kind `kind`) entered `state` at `at`, for `reason`. A
/// state the resource is already known to be in is not recorded again.
pub fn record(
    tx: &mut Txn<'_>,
    scope: &str,
    kind: &str,
    id: &str,
    at: UnixMillis,
    state: &str,
    reason: &str,
) -> Result<(), StoreError> {
    let existing = tx.get::<EventLog>(scope, id)?;
    let new = existing.is_none();
    let mut log = existing.unwrap_or_else(|| EventLog::new(id, kind));
    if !log.record(at, state, reason) {
        return Ok(());
    }
    tx.put(scope, &log)?;
    if !new {
        return Ok(());
    }
    // Unique rather than gapless (no row every launch waits for on PostgreSQL): a count that skips
    // only brings a sweep forward.
    let created = tx.next_id(&sweep_counter(scope))?;
    // A scope is scanned only when it may hold more logs than it keeps (`needs_sweep`), so a
    // launch into a scope below the bound reads no other log.
    if created.is_multiple_of(ec2_core::events::SWEEP_EVERY)
        && needs_sweep(created, tx.get::<SweepMark>(scope, "sweep")?.as_ref())
    {
        let logs: Vec<(String, Option<UnixMillis>)> =
            tx.scan::<EventLog>(scope)?.iter().map(|l| (l.id.clone(), l.last_at())).collect();
        let drop = over_retention(&logs, PER_SCOPE);
        for id in &drop {
            tx.delete::<EventLog>(scope, id)?;
        }
        let live = (logs.len() - drop.len()) as u64;
        tx.put(scope, &SweepMark { id: "sweep".into(), created, live })?;
    }
    Ok(())
}

/// The timeline of one resource (empty when nothing was recorded).
pub fn timeline(tx: &mut Txn<'_>, scope: &str, id: &str) -> Result<Option<EventLog>, StoreError> {
    tx.get::<EventLog>(scope, id)
}

/// Records an instance's state at `at`, with its state reason (or transition reason).
pub fn instance(
    tx: &mut Txn<'_>,
    scope: &str,
    inst: &ec2_core::instances::Instance,
    at: UnixMillis,
) -> Result<(), StoreError> {
    let reason = match &inst.state_reason {
        Some(r) => r.message.as_str(),
        None => inst.state_transition_reason.as_str(),
    };
    record(tx, scope, "instance", &inst.id, at, inst.state.name(), reason)
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

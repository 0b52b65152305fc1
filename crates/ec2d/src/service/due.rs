//! The due-work index of a scope (rules in `ec2_core::due`): every save of a record with timed work
//! (a Spot request, a capacity reservation) sets its entry here, and [`catch_up`], at the start of
//! every request's transaction, settles the records whose entries are due, earliest first, whatever
//! their kind. A request with nothing due reads one small document (`due_head`), never the scope's
//! Spot requests or reservations.
//!
//! A scope without a head document (an empty scope, or data written before the index existed) has
//! its index built once from its records.

use ec2_core::capacity_reservations::CapacityReservation;
use ec2_core::due::{DueHead, DueIndex, DueKind, INDEX_ID};
use ec2_core::spot::SpotRequest;
use ec2_core::UnixMillis;
use ec2_store::Txn;

use ec2_core::fleets::Flavor;

use super::{capacity_reservations, fleets, spot, Ctx, Result};

/// A bound on the records one catch-up settles, far above any real backlog, so nothing can spin.
const MAX_STEPS: usize = 1_000_000;

/// The scope's index, built from its records when it has none yet.
fn load(seed: u64, tx: &mut Txn<'_>, scope: &str) -> Result<DueIndex> {
    if tx.get_shared::<DueHead>(scope, INDEX_ID)?.is_none() {
        return rebuild(seed, tx, scope);
    }
    Ok(tx.get::<DueIndex>(scope, INDEX_ID)?.unwrap_or_else(DueIndex::new))
}

fn store(tx: &mut Txn<'_>, scope: &str, index: &DueIndex) -> Result<()> {
    tx.put(scope, index)?;
    tx.put(scope, &index.head())?;
    Ok(())
}

/// Builds the scope's index from its Spot requests and reservations (once per scope).
fn rebuild(seed: u64, tx: &mut Txn<'_>, scope: &str) -> Result<DueIndex> {
    let mut index = DueIndex::new();
    for r in tx.scan::<SpotRequest>(scope)? {
        let due = spot::next_due(seed, tx, scope, &r)?;
        index.set(DueKind::SpotRequest, &r.id, due);
    }
    for cr in tx.scan::<CapacityReservation>(scope)? {
        index.set(DueKind::CapacityReservation, &cr.id, cr.next_due());
    }
    for f in tx.scan::<ec2_core::fleets::Fleet>(scope)? {
        index.set(DueKind::Fleet, &f.id, f.next_check);
    }
    for f in tx.scan::<ec2_core::fleets::SpotFleetRequest>(scope)? {
        index.set(DueKind::SpotFleetRequest, &f.0.id, f.0.next_check);
    }
    store(tx, scope, &index)?;
    Ok(index)
}

/// Sets the record's entry (`None` removes it).
pub fn set(seed: u64, tx: &mut Txn<'_>, scope: &str, kind: DueKind, id: &str, due: Option<UnixMillis>) -> Result<()> {
    let mut index = load(seed, tx, scope)?;
    if index.set(kind, id, due) {
        store(tx, scope, &index)?;
    }
    Ok(())
}

/// Makes the record's entry due at `t` at the latest.
pub fn lower(seed: u64, tx: &mut Txn<'_>, scope: &str, kind: DueKind, id: &str, t: UnixMillis) -> Result<()> {
    let mut index = load(seed, tx, scope)?;
    if index.lower(kind, id, t) {
        store(tx, scope, &index)?;
    }
    Ok(())
}

/// Settles every record of the scope whose timed work is due by `ctx.now`, earliest first.
pub fn catch_up(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<()> {
    let scope = ctx.scope.key();
    let seed = ctx.ids.seed();
    match tx.get_shared::<DueHead>(scope, INDEX_ID)?.as_deref() {
        Some(head) if head.next.is_none_or(|t| t > ctx.now) => return Ok(()),
        Some(_) => {}
        None => {
            if rebuild(seed, tx, scope)?.head().next.is_none_or(|t| t > ctx.now) {
                return Ok(());
            }
        }
    }
    for _ in 0..MAX_STEPS {
        let mut index = load(seed, tx, scope)?;
        let Some((due_at, kind, id)) = index.first_due(ctx.now) else { break };
        // Taken off first: settling saves the record, which puts its next entry back.
        index.set(kind, &id, None);
        store(tx, scope, &index)?;
        match kind {
            DueKind::SpotRequest => spot::settle_due(ctx, tx, &id)?,
            DueKind::CapacityReservation => capacity_reservations::settle_due(ctx, tx, &id)?,
            // A fleet acts at the time its work came due (an instance went, a retry, its expiry).
            DueKind::Fleet => fleets::settle_due(&Ctx { now: due_at, ..*ctx }, tx, Flavor::Ec2Fleet, &id)?,
            DueKind::SpotFleetRequest => fleets::settle_due(&Ctx { now: due_at, ..*ctx }, tx, Flavor::SpotFleet, &id)?,
        }
    }
    Ok(())
}

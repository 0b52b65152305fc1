//! The one choke point for instance state changes. Whoever changes an instance's state (Run, Start,
//! Stop, Terminate, settling, Spot interruptions and restarts, reclaims, Capacity Block ends,
//! control endpoints) calls [`apply`] with the instance as it was before; the core decides the
//! consequences (`ec2_core::instances::changes`) and this module carries them out, then saves the
//! instance: the capacity unit (pool and reservation), the Spot request's entry in the due-work
//! index, the network an instance gives back when it begins to terminate (its interfaces, their
//! addresses, its Elastic IPs), and the state-change event on the instance's timeline
//! (`service::events`).

use std::sync::Arc;

use ec2_core::capacity_reservations::pools::Transition;
use ec2_core::due::DueKind;
use ec2_core::instances::changes::{self, Before};
use ec2_core::instances::Instance;
use ec2_store::Txn;

use super::{capacity_pools, due, Ctx, Result};

/// How a unit taken or given back is accounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accounting {
    /// On-Demand launches and starts: refused when the pool is full.
    Strict,
    /// Spot fulfilment and EC2's own restarts (room was checked when they were evaluated), and
    /// every release.
    Lenient,
    /// A reclaim or the end of a Capacity Block: only the pool gets the unit back; the caller
    /// adjusts the reservation itself.
    PoolOnly,
}

/// Carries out the consequences of the instance's change from `before` (at `ctx.now`) and saves it.
pub fn apply(ctx: &Ctx<'_>, tx: &mut Txn<'_>, before: Before, inst: &mut Instance, how: Accounting) -> Result<()> {
    carry_out(ctx, tx, before, inst, how, true)
}

/// [`apply`] without saving the instance, for a caller that changes it again and saves it (with
/// [`apply`]) later in the same transaction, or fails it: nothing here reads the instance's record.
pub fn apply_unsaved(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    before: Before,
    inst: &mut Instance,
    how: Accounting,
) -> Result<()> {
    carry_out(ctx, tx, before, inst, how, false)
}

/// [`apply`] of an instance the caller only reads afterwards: saved shared with the store rather than
/// copied, and handed back.
pub fn apply_shared(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    before: Before,
    mut inst: Instance,
    how: Accounting,
) -> Result<Arc<Instance>> {
    let c = account(ctx, tx, before, &mut inst, how)?;
    let inst = Arc::new(inst);
    tx.put_shared(ctx.scope.key(), Arc::clone(&inst))?;
    follow_up(ctx, tx, before, &inst, c)?;
    Ok(inst)
}

fn carry_out(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    before: Before,
    inst: &mut Instance,
    how: Accounting,
    save: bool,
) -> Result<()> {
    let c = account(ctx, tx, before, inst, how)?;
    if save {
        tx.put(ctx.scope.key(), &*inst)?;
    }
    follow_up(ctx, tx, before, inst, c)
}

/// The consequences that change the instance or what it holds, before it is saved: its capacity
/// unit and the network it gives back.
fn account(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    before: Before,
    inst: &mut Instance,
    how: Accounting,
) -> Result<changes::Consequences> {
    let c = changes::consequences(before, inst, ctx.now);
    match (c.capacity, how) {
        (Transition::Keep, _) => {}
        (Transition::Release, Accounting::PoolOnly) => capacity_pools::release_pool_only(tx, inst)?,
        (t, _) => capacity_pools::track(ctx, tx, t, inst, how == Accounting::Strict)?,
    }
    if c.releases_network {
        super::network_interfaces::release_instance(ctx, tx, inst)?;
    }
    Ok(c)
}

/// The consequences after the instance is saved: the Spot request's and the fleet's due work, and
/// the timeline.
fn follow_up(ctx: &Ctx<'_>, tx: &mut Txn<'_>, before: Before, inst: &Instance, c: changes::Consequences) -> Result<()> {
    let scope = ctx.scope.key();
    if let Some((request_id, at)) = c.spot_due {
        due::lower(ctx.ids.seed(), tx, scope, DueKind::SpotRequest, &request_id, at)?;
    }
    // A fleet instance that gives its capacity back: its fleet has work due now.
    if c.capacity == Transition::Release {
        super::fleets::instance_released(ctx, tx, inst)?;
    }
    if c.event.is_some() {
        // The instance's timeline (the console's): its state, with the reason, at this change. A
        // launched instance has no timeline yet: its first event starts one without looking.
        if before == Before::LAUNCH {
            super::events::first_of_instance(tx, scope, inst, ctx.now)?;
        } else {
            super::events::instance(tx, scope, inst, ctx.now)?;
        }
    }
    Ok(())
}

//! The capacity model's service side: loads the pool and the reservations a placement needs, calls
//! the rules in [`ec2_core::capacity_reservations::pools`], and saves what changed. Nothing here
//! scans instances: a launch, start or stop changes one pool document and at most one reservation.

use ec2_core::capacity_reservations::pools::{self as core, CapacityPool, PoolView, Transition, Want};
use ec2_core::capacity_reservations::CapacityReservation;
use ec2_core::ids::IdKind;
use ec2_core::instances::Instance;
use ec2_core::UnixMillis;
use ec2_store::{Txn, GLOBAL};
use std::sync::Arc;

use super::common::not_found;
use super::errors;
use super::launch::LaunchPlan;
use super::{Ctx, Result};

fn load_pool(tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<CapacityPool> {
    let id = CapacityPool::id_of(zone, instance_type);
    Ok(tx.get::<CapacityPool>(GLOBAL, &id)?.unwrap_or_else(|| CapacityPool::empty(zone, instance_type)))
}

/// The pool's counters at `now` (its reservations settled in memory). A reservation is read shared
/// and copied only when a step of it is due, so a look at the pool copies none as a rule.
fn view_of(tx: &mut Txn<'_>, now: UnixMillis, default_capacity: u64, pool: &CapacityPool) -> Result<PoolView> {
    let mut reservations = Vec::new();
    for (scope, id) in pool.reservation_keys() {
        if let Some(cr) = tx.get_shared::<CapacityReservation>(scope, id)? {
            if cr.has_due_step(now) {
                let mut cr = Arc::unwrap_or_clone(cr);
                cr.settle(now);
                reservations.push(Arc::new(cr));
            } else {
                reservations.push(cr);
            }
        }
    }
    Ok(pool.view(default_capacity, reservations.iter().map(|cr| &**cr)))
}

/// The pool's counters at `now`, for the control API.
pub fn pool_view(
    tx: &mut Txn<'_>,
    now: UnixMillis,
    default_capacity: u64,
    zone: &str,
    instance_type: &str,
) -> Result<PoolView> {
    let pool = load_pool(tx, zone, instance_type)?;
    view_of(tx, now, default_capacity, &pool)
}

/// The pool's Spot limit and how many Spot requests count against it, for the control API.
pub fn spot_view(tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<(Option<u64>, i64)> {
    let pool = load_pool(tx, zone, instance_type)?;
    Ok((pool.spot_limit, pool.spot_held))
}

pub fn free_in_pool(ctx: &Ctx<'_>, tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<i64> {
    Ok(pool_view(tx, ctx.now, ctx.pool_capacity, zone, instance_type)?.free)
}

/// Places a reservation of the caller's scope in its pool.
pub fn register(ctx: &Ctx<'_>, tx: &mut Txn<'_>, cr: &CapacityReservation) -> Result<()> {
    let mut pool = load_pool(tx, &cr.availability_zone, &cr.instance_type)?;
    if pool.register(ctx.scope.key(), &cr.id) {
        tx.put(GLOBAL, &pool)?;
    }
    Ok(())
}

/// Sets (or with `None` resets to the default) a pool's capacity, for the control API.
pub fn set_pool_capacity(tx: &mut Txn<'_>, zone: &str, instance_type: &str, capacity: Option<u64>) -> Result<()> {
    let mut pool = load_pool(tx, zone, instance_type)?;
    pool.capacity = capacity;
    tx.put(GLOBAL, &pool)?;
    Ok(())
}

/// Sets (or with `None` lifts) a pool's Spot limit, for the control API.
pub fn set_spot_limit(tx: &mut Txn<'_>, zone: &str, instance_type: &str, limit: Option<u64>) -> Result<()> {
    let mut pool = load_pool(tx, zone, instance_type)?;
    pool.spot_limit = limit;
    tx.put(GLOBAL, &pool)?;
    Ok(())
}

fn load_pool_by_id(tx: &mut Txn<'_>, id: &str) -> Result<CapacityPool> {
    Ok(tx.get::<CapacityPool>(GLOBAL, id)?.unwrap_or_else(|| CapacityPool { id: id.to_string(), ..Default::default() }))
}

/// A Spot request leaves the Spot count of the pool `leave` and joins that of `join`.
pub fn count_spot(tx: &mut Txn<'_>, leave: Option<&str>, join: Option<&str>) -> Result<()> {
    if let Some(id) = leave {
        let mut pool = load_pool_by_id(tx, id)?;
        pool.spot_held = (pool.spot_held - 1).max(0);
        tx.put(GLOBAL, &pool)?;
    }
    if let Some(id) = join {
        let mut pool = load_pool_by_id(tx, id)?;
        pool.spot_held += 1;
        tx.put(GLOBAL, &pool)?;
    }
    Ok(())
}

/// Whether the pool's Spot limit has room for one more Spot Instance for a request counted in
/// `counted_in`.
pub fn spot_limit_room(tx: &mut Txn<'_>, zone: &str, instance_type: &str, counted_in: Option<&str>) -> Result<bool> {
    Ok(load_pool(tx, zone, instance_type)?.spot_room_for(counted_in))
}

/// The instance (already settled) gives its unit back to its pool only, for a reclaim or the end
/// of a Capacity Block, whose caller adjusts the reservation itself.
pub fn release_pool_only(tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    let mut pool = load_pool(tx, &inst.availability_zone, &inst.instance_type)?;
    pool.adjust_held(-1);
    tx.put_owned(GLOBAL, pool)?;
    Ok(())
}

/// The reservations of the scope an instance described by `w` may run in, best first: the
/// targeted one (an error when it cannot take the instance), or the open matching ones.
fn candidates(ctx: &Ctx<'_>, tx: &mut Txn<'_>, w: &Want<'_>) -> Result<Vec<CapacityReservation>> {
    let scope = ctx.scope.key();
    if let Some(id) = w.target {
        let Some(mut cr) = tx.get::<CapacityReservation>(scope, id)? else {
            return Err(not_found(IdKind::CapacityReservation, &[id.to_string()]).into());
        };
        cr.settle(ctx.now);
        core::check_target(&cr, w).map_err(errors::capacity)?;
        return Ok(vec![cr]);
    }
    if w.preference == core::Preference::None {
        return Ok(vec![]);
    }
    // The open reservations that can fit are in the instance's pool: read those, not the scope's.
    let pool = load_pool(tx, w.zone, w.instance_type)?;
    let mut placed = Vec::new();
    for (s, id) in pool.reservation_keys().filter(|(s, _)| *s == scope) {
        placed.extend(tx.get_shared::<CapacityReservation>(s, id)?);
    }
    Ok(core::open_candidates(w, placed.iter().map(|cr| &**cr)))
}

/// The instance takes a unit: in a reservation when its specification finds one, else in its
/// pool. `strict` refuses when the pool is full (On-Demand launches and starts); Spot fulfilment
/// (which checks room when it evaluates) takes without refusing.
fn take(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &mut Instance, strict: bool) -> Result<()> {
    let searched = core::looks_for_reservation(inst);
    if searched {
        let found = candidates(ctx, tx, &Want::of_instance(inst))?;
        if let Some(mut cr) = found.into_iter().next() {
            let mut pool = load_pool(tx, &inst.availability_zone, &inst.instance_type)?;
            core::take_in_reservation(inst, &mut cr, &mut pool);
            super::capacity_reservations::save(ctx.ids.seed(), tx, ctx.scope.key(), &cr, ctx.now)?;
            tx.put_owned(GLOBAL, pool)?;
            return Ok(());
        }
    }
    let mut pool = load_pool(tx, &inst.availability_zone, &inst.instance_type)?;
    let free = if strict { Some(view_of(tx, ctx.now, ctx.pool_capacity, &pool)?.free) } else { None };
    core::take_in_pool(inst, &mut pool, searched, free).map_err(errors::capacity)?;
    tx.put_owned(GLOBAL, pool)?;
    Ok(())
}

/// The instance gives its unit back (to its reservation if that is still active, and the pool).
fn release(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    let mut pool = load_pool(tx, &inst.availability_zone, &inst.instance_type)?;
    let scope = ctx.scope.key();
    let mut cr = match &inst.capacity_reservation_id {
        Some(id) => tx.get::<CapacityReservation>(scope, id)?,
        None => None,
    };
    let was_active = cr.as_ref().is_some_and(CapacityReservation::is_active);
    core::release(&mut pool, cr.as_mut());
    tx.put_owned(GLOBAL, pool)?;
    if let Some(cr) = cr.filter(|_| was_active) {
        super::capacity_reservations::save(ctx.ids.seed(), tx, scope, &cr, ctx.now)?;
    }
    Ok(())
}

/// Takes or gives back the instance's unit, as `service::state_changes::apply` decided.
pub fn track(ctx: &Ctx<'_>, tx: &mut Txn<'_>, t: Transition, inst: &mut Instance, strict: bool) -> Result<()> {
    match t {
        Transition::Take => take(ctx, tx, inst, strict),
        Transition::Release => release(ctx, tx, inst),
        Transition::Keep => Ok(()),
    }
}

/// How many of a RunInstances request's instances (between `min` and `max`) the model can place.
pub fn launchable(ctx: &Ctx<'_>, tx: &mut Txn<'_>, plan: &LaunchPlan, min: i64, max: i64, spot: bool) -> Result<usize> {
    let w = Want::of_launch(
        &plan.image_id,
        &plan.instance_type,
        &plan.zone,
        &plan.tenancy,
        plan.capacity_preference.as_deref(),
        plan.capacity_target.as_deref(),
    );
    let found = if spot { vec![] } else { candidates(ctx, tx, &w)? };
    let free =
        if core::launch_counts_pool(&w, spot) { free_in_pool(ctx, tx, &plan.zone, &plan.instance_type)? } else { 0 };
    Ok(core::launchable(&w, &found, free, min, max).map_err(errors::capacity)?)
}

/// Whether the pool has room for one more Spot Instance.
pub fn spot_room(ctx: &Ctx<'_>, tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<bool> {
    Ok(free_in_pool(ctx, tx, zone, instance_type)? >= 1)
}

//! Capacity Reservations, interruptible allocations, Capacity Blocks, and the capacity model.
//!
//! **The capacity model.** Every pool (availability zone, instance type) has a finite capacity
//! (`--pool-capacity`, or per pool through `POST /_ec2d/capacity`). A [`CapacityPool`] document in
//! the global scope counts the instances that hold a unit of the pool (`held`: every instance from
//! its launch or start until a stop or termination is *requested*; capacity is taken and given back
//! at the action, not at the end of the transition) and lists the reservations placed in the pool.
//! Reservations are few, so their part is computed by reading them:
//!
//! `free = capacity - held - Σ AvailableInstanceCount of the pool's active reservations`
//!
//! (instances running in a reservation are in `held` and in the reservation's used count, so an
//! active reservation keeps exactly its total out of everyone else's reach). A launch into a
//! reservation needs room in the reservation, not in the pool. Nothing scans instances on a
//! launch, start or stop: each one changes one pool document and at most one reservation.
//!
//! Reservations settle on the clock: [`catch_up`] runs at the start of every request and applies
//! the due steps of the scope's reservations (delivery, expiry, allocation steps, the end of a
//! reclaim notice, which terminates the reclaimed instances).

use std::collections::BTreeMap;

use ec2_core::capacity_reservations::{
    self as core, CapacityReservation, CrDurations, CrError, CrState, Effect, MatchCriteria, ReservationType,
};
use ec2_core::catalog::{images, instance_types};
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::lifecycle::{self, settle};
use ec2_core::instances::{Instance, StateChange, StateReason};
use ec2_core::regions;
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::{Record, Txn, GLOBAL};
use serde::{Deserialize, Serialize};

use super::common::{
    fingerprint, load_named, new_id, not_found, paginate, remember, replay, tag_specifications, tags_for, well_formed,
    PageBounds,
};
use super::launch::LaunchPlan;
use super::{dry_run_gate, filters, Ctx, Result};

/// The capacity of a pool that has no setting of its own, unless `--pool-capacity` says otherwise:
/// large enough that 10,000 instances in one pool fit.
pub const DEFAULT_POOL_CAPACITY: u64 = 10_000;

const DAY_MS: i64 = 86_400_000;

pub const PLATFORMS: &[&str] = &[
    "Linux/UNIX",
    "Red Hat Enterprise Linux",
    "SUSE Linux",
    "Windows",
    "Windows with SQL Server",
    "Windows with SQL Server Enterprise",
    "Windows with SQL Server Standard",
    "Windows with SQL Server Web",
    "Linux with SQL Server Standard",
    "Linux with SQL Server Web",
    "Linux with SQL Server Enterprise",
    "RHEL with SQL Server Standard",
    "RHEL with SQL Server Enterprise",
    "RHEL with SQL Server Web",
    "RHEL with HA",
    "RHEL with HA and SQL Server Standard",
    "RHEL with HA and SQL Server Enterprise",
    "Ubuntu Pro",
];

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

fn combination(message: impl Into<String>) -> Ec2Error {
    Ec2Error::new(Code::InvalidParameterCombination, message)
}

pub fn insufficient_capacity() -> Ec2Error {
    Ec2Error::new(Code::InsufficientInstanceCapacity, "Insufficient capacity.")
}

fn reservation_capacity_exceeded() -> Ec2Error {
    Ec2Error::new(
        Code::ReservationCapacityExceeded,
        "The requested reservation does not have sufficient compatible and available capacity for this request.",
    )
}

fn cr_error(e: CrError) -> Ec2Error {
    match e {
        CrError::CapacityBlock { verb } => {
            Ec2Error::new(Code::UnsupportedOperation, format!("You can't {verb} a Capacity Block."))
        }
        CrError::Interruptible { verb } => Ec2Error::new(
            Code::UnsupportedOperation,
            format!(
                "You can't {verb} an interruptible Capacity Reservation directly; change the allocation of its source reservation with UpdateInterruptibleCapacityReservationAllocation."
            ),
        ),
        CrError::WrongState { id, state } => Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} is in an incorrect state ('{}') for this operation.", state.name()),
        ),
        CrError::InCommitment { id, until } => Ec2Error::new(
            Code::IncorrectState,
            format!(
                "The Capacity Reservation {id} can't be cancelled before the end of its commitment duration ({}).",
                until.to_iso8601()
            ),
        ),
        CrError::HasAllocation { id } => Ec2Error::new(
            Code::IncorrectState,
            format!(
                "The Capacity Reservation {id} lends capacity to an interruptible Capacity Reservation. Set the allocation's target instance count to 0 first."
            ),
        ),
    }
}

fn durations(ctx: &Ctx<'_>) -> CrDurations {
    match ctx.clock {
        crate::config::ClockMode::Instant => CrDurations::INSTANT,
        crate::config::ClockMode::Realistic | crate::config::ClockMode::Virtual => CrDurations::REALISTIC,
    }
}

fn scope_key(ctx: &Ctx<'_>) -> String {
    ctx.scope.key()
}

// ---------------------------------------------------------------------------------------------
// Pools

/// One pool's counters, in the global scope.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CapacityPool {
    /// `{zone}/{instance type}`.
    pub id: String,
    /// The pool's own capacity; `None` uses the server's default.
    #[serde(default)]
    pub capacity: Option<u64>,
    /// Instances holding a unit of the pool (inside reservations or not).
    #[serde(default)]
    pub held: i64,
    /// The reservations placed in the pool, as `{scope}#{id}`.
    #[serde(default)]
    pub reservations: Vec<String>,
}

impl Record for CapacityPool {
    const KIND: &'static str = "capacity_pool";
    fn id(&self) -> &str {
        &self.id
    }
}

fn pool_id(zone: &str, instance_type: &str) -> String {
    format!("{zone}/{instance_type}")
}

fn load_pool(tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<CapacityPool> {
    let id = pool_id(zone, instance_type);
    Ok(tx.get::<CapacityPool>(GLOBAL, &id)?.unwrap_or(CapacityPool { id, ..Default::default() }))
}

/// A pool as the control API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolView {
    pub capacity: u64,
    pub held: i64,
    /// Unused units of the pool's active reservations.
    pub reserved: i64,
    pub free: i64,
}

/// The pool's counters at `now` (reservations settled in memory).
pub fn pool_view(
    tx: &mut Txn<'_>,
    now: UnixMillis,
    default_capacity: u64,
    zone: &str,
    instance_type: &str,
) -> Result<PoolView> {
    let pool = load_pool(tx, zone, instance_type)?;
    let mut reserved = 0i64;
    for entry in &pool.reservations {
        let Some((scope, id)) = entry.split_once('#') else { continue };
        if let Some(mut cr) = tx.get::<CapacityReservation>(scope, id)? {
            cr.settle(now);
            if cr.is_active() {
                reserved += i64::from(cr.available());
            }
        }
    }
    let capacity = pool.capacity.unwrap_or(default_capacity);
    let free = (capacity as i64 - pool.held - reserved).max(0);
    Ok(PoolView { capacity, held: pool.held, reserved, free })
}

fn free_in_pool(ctx: &Ctx<'_>, tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<i64> {
    Ok(pool_view(tx, ctx.now, ctx.pool_capacity, zone, instance_type)?.free)
}

fn adjust_held(tx: &mut Txn<'_>, zone: &str, instance_type: &str, delta: i64) -> Result<()> {
    let mut pool = load_pool(tx, zone, instance_type)?;
    pool.held = (pool.held + delta).max(0);
    tx.put(GLOBAL, &pool)?;
    Ok(())
}

fn register(ctx: &Ctx<'_>, tx: &mut Txn<'_>, cr: &CapacityReservation) -> Result<()> {
    let mut pool = load_pool(tx, &cr.availability_zone, &cr.instance_type)?;
    let entry = format!("{}#{}", scope_key(ctx), cr.id);
    if !pool.reservations.contains(&entry) {
        pool.reservations.push(entry);
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

// ---------------------------------------------------------------------------------------------
// Instances taking and giving back capacity

/// What an instance (or a launch) asks of the capacity model.
struct Want<'a> {
    instance_type: &'a str,
    zone: &'a str,
    platform: &'a str,
    tenancy: &'a str,
    preference: &'a str,
    target: Option<&'a str>,
}

fn fits(cr: &CapacityReservation, w: &Want<'_>) -> bool {
    cr.instance_type == w.instance_type
        && cr.availability_zone == w.zone
        && cr.instance_platform == w.platform
        && cr.tenancy == w.tenancy
}

/// The reservations of the scope an instance described by `w` may run in, best first: the
/// targeted one (an error when it cannot take the instance), or the open matching ones.
fn candidates(ctx: &Ctx<'_>, tx: &mut Txn<'_>, w: &Want<'_>) -> Result<Vec<CapacityReservation>> {
    let scope = scope_key(ctx);
    if let Some(id) = w.target {
        let Some(mut cr) = tx.get::<CapacityReservation>(&scope, id)? else {
            return Err(not_found(IdKind::CapacityReservation, &[id.to_string()]).into());
        };
        cr.settle(ctx.now);
        if cr.reservation_type == ReservationType::CapacityBlock
            && matches!(cr.state, CrState::PaymentPending | CrState::Scheduled)
        {
            return Err(Ec2Error::new(
                Code::InvalidCapacityReservationStatePendingActivation,
                "Your Capacity Block is not active yet.",
            )
            .into());
        }
        if !cr.is_active() || !fits(&cr, w) || cr.available() == 0 {
            return Err(reservation_capacity_exceeded().into());
        }
        return Ok(vec![cr]);
    }
    if w.preference == "none" {
        return Ok(vec![]);
    }
    let mut open: Vec<CapacityReservation> = tx
        .scan::<CapacityReservation>(&scope)?
        .into_iter()
        .filter(|cr| {
            cr.is_active()
                && cr.match_criteria == MatchCriteria::Open
                && !cr.interruptible
                && cr.reservation_type == ReservationType::Default
                && fits(cr, w)
                && cr.available() > 0
        })
        .collect();
    open.sort_by(|a, b| (a.create_date, &a.id).cmp(&(b.create_date, &b.id)));
    Ok(open)
}

fn want_of(inst: &Instance) -> Want<'_> {
    Want {
        instance_type: &inst.instance_type,
        zone: &inst.availability_zone,
        platform: &inst.platform_details,
        tenancy: &inst.tenancy,
        preference: inst.capacity_preference.as_deref().unwrap_or("open"),
        target: inst.capacity_target.as_deref(),
    }
}

/// The instance takes a unit: in a reservation when its specification finds one, else in its
/// pool. `strict` refuses when the pool is full (On-Demand launches and starts); Spot fulfilment
/// (which checks room when it evaluates) takes without refusing.
fn take(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &mut Instance, strict: bool) -> Result<()> {
    inst.capacity_reservation_id = None;
    inst.reservation_lifecycle = None;
    if inst.spot_request_id.is_none() {
        let w = want_of(inst);
        let mut found = candidates(ctx, tx, &w)?;
        if let Some(mut cr) = (!found.is_empty()).then(|| found.remove(0)) {
            cr.used += 1;
            tx.put(&scope_key(ctx), &cr)?;
            inst.capacity_reservation_id = Some(cr.id.clone());
            inst.reservation_lifecycle = if cr.reservation_type == ReservationType::CapacityBlock {
                Some("capacity-block".into())
            } else if cr.interruptible {
                Some("interruptible-capacity-reservation".into())
            } else {
                None
            };
            return adjust_held(tx, &inst.availability_zone, &inst.instance_type, 1);
        }
        if w.preference == "capacity-reservations-only" {
            return Err(insufficient_capacity().into());
        }
    }
    if strict && free_in_pool(ctx, tx, &inst.availability_zone, &inst.instance_type)? < 1 {
        return Err(insufficient_capacity().into());
    }
    adjust_held(tx, &inst.availability_zone, &inst.instance_type, 1)
}

/// The instance gives its unit back (to its reservation if that is still active, and the pool).
fn release(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    adjust_held(tx, &inst.availability_zone, &inst.instance_type, -1)?;
    if let Some(id) = &inst.capacity_reservation_id {
        if let Some(mut cr) = tx.get::<CapacityReservation>(&scope_key(ctx), id)? {
            if cr.is_active() {
                cr.used = cr.used.saturating_sub(1);
                tx.put(&scope_key(ctx), &cr)?;
            }
        }
    }
    Ok(())
}

/// Takes or gives back the instance's unit after an action, from whether it held one before.
pub fn track(ctx: &Ctx<'_>, tx: &mut Txn<'_>, held_before: bool, inst: &mut Instance, strict: bool) -> Result<()> {
    match (held_before, inst.holds_capacity()) {
        (false, true) => take(ctx, tx, inst, strict),
        (true, false) => release(ctx, tx, inst),
        _ => Ok(()),
    }
}

fn holds(state: ec2_core::instances::InstanceState) -> bool {
    use ec2_core::instances::InstanceState as S;
    matches!(state, S::Pending | S::Running)
}

/// [`track`] for the instances of a Start/Stop/TerminateInstances request, after the action.
pub fn track_changes(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    instances: &mut [Instance],
    changes: &[StateChange],
) -> Result<()> {
    for (inst, change) in instances.iter_mut().zip(changes) {
        track(ctx, tx, holds(change.previous), inst, true)?;
    }
    Ok(())
}

/// How many of a RunInstances request's instances (between `min` and `max`) the model can place.
pub fn launchable(ctx: &Ctx<'_>, tx: &mut Txn<'_>, plan: &LaunchPlan, min: i64, max: i64, spot: bool) -> Result<usize> {
    let platform = images::image(&plan.image_id).map(|i| i.platform_details).unwrap_or("Linux/UNIX");
    let w = Want {
        instance_type: &plan.instance_type,
        zone: &plan.zone,
        platform,
        tenancy: &plan.tenancy,
        preference: plan.capacity_preference.as_deref().unwrap_or("open"),
        target: plan.capacity_target.as_deref(),
    };
    let in_reservations: i64 =
        if spot { 0 } else { candidates(ctx, tx, &w)?.iter().map(|cr| i64::from(cr.available())).sum() };
    let in_pool = if w.target.is_some() || (!spot && w.preference == "capacity-reservations-only") {
        0
    } else {
        free_in_pool(ctx, tx, &plan.zone, &plan.instance_type)?
    };
    let room = in_reservations + in_pool;
    if room < min {
        return Err(if w.target.is_some() { reservation_capacity_exceeded() } else { insufficient_capacity() }.into());
    }
    Ok(room.min(max) as usize)
}

/// Whether the pool has room for one more Spot Instance.
pub fn spot_room(ctx: &Ctx<'_>, tx: &mut Txn<'_>, zone: &str, instance_type: &str) -> Result<bool> {
    Ok(free_in_pool(ctx, tx, zone, instance_type)? >= 1)
}

/// The capacity-reservation part of a RunInstances request: `(preference, target)`, checked.
pub fn launch_specification(req: &dto::RunInstancesRequest) -> Result<(Option<String>, Option<String>)> {
    let Some(spec) = req.capacity_reservation_specification.as_ref() else {
        if interruptible_market(req) {
            return Err(combination(
                "The interruptible-capacity-reservation market type needs a CapacityReservationTarget naming an interruptible Capacity Reservation.",
            )
            .into());
        }
        return Ok((None, None));
    };
    let preference = spec.capacity_reservation_preference.clone();
    if let Some(p) = preference.as_deref() {
        if !matches!(p, "open" | "none" | "capacity-reservations-only") {
            return Err(invalid(format!("Value ({p}) for parameter capacityReservationPreference is invalid.")).into());
        }
    }
    let target = match spec.capacity_reservation_target.as_ref() {
        None => None,
        Some(t) => {
            if t.capacity_reservation_resource_group_arn.is_some() {
                return Err(Ec2Error::new(
                    Code::NotImplemented,
                    "ec2d does not implement RunInstances with a capacity reservation resource group yet.",
                )
                .into());
            }
            let id = t.capacity_reservation_id.clone().ok_or_else(|| {
                Ec2Error::missing_parameter(
                    "CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId",
                )
            })?;
            well_formed(IdKind::CapacityReservation, std::slice::from_ref(&id))?;
            Some(id)
        }
    };
    if preference.is_some() && target.is_some() {
        return Err(combination(
            "The request can include either a CapacityReservationId or a CapacityReservationPreference but not both.",
        )
        .into());
    }
    if interruptible_market(req) && target.is_none() {
        return Err(combination(
            "The interruptible-capacity-reservation market type needs a CapacityReservationTarget naming an interruptible Capacity Reservation.",
        )
        .into());
    }
    Ok((preference, target))
}

fn interruptible_market(req: &dto::RunInstancesRequest) -> bool {
    req.instance_market_options.as_ref().and_then(|m| m.market_type.as_deref())
        == Some("interruptible-capacity-reservation")
}

// ---------------------------------------------------------------------------------------------
// Settling on the clock

/// The code and message ec2d sets on an instance a reclaim interrupts (AWS documents none).
fn reclaim_reason() -> StateReason {
    StateReason::new(
        "Server.InterruptibleCapacityReservationReclaim",
        "Server.InterruptibleCapacityReservationReclaim: Interruptible Capacity Reservation capacity reclaimed",
    )
}

fn block_end_reason() -> StateReason {
    StateReason::new("Server.CapacityBlockEnded", "Server.CapacityBlockEnded: Capacity Block ended")
}

/// Terminates `inst` at `t` on EC2's behalf; returns whether it held a unit (now given back to
/// the pool; the caller adjusts the reservation it was in).
fn service_terminate_at(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    inst: &mut Instance,
    t: UnixMillis,
    reason: StateReason,
) -> Result<bool> {
    settle(inst, t, ctx.durations);
    let held = inst.holds_capacity();
    lifecycle::service_terminate(inst, t, ctx.durations, reason);
    if held {
        adjust_held(tx, &inst.availability_zone, &inst.instance_type, -1)?;
    }
    tx.put(&scope_key(ctx), &*inst)?;
    Ok(held)
}

/// Applies the due steps of the scope's reservations.
pub fn catch_up(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<()> {
    let scope = scope_key(ctx);
    for mut cr in tx.scan::<CapacityReservation>(&scope)? {
        if cr.events.first().is_none_or(|(due, _)| *due > ctx.now) {
            continue;
        }
        let effects = cr.settle(ctx.now);
        for (t, effect) in effects {
            match effect {
                Effect::None => {}
                Effect::Interrupt(ids) => {
                    let irr_id = cr.allocation.as_ref().map(|a| a.interruptible_id.clone()).unwrap_or_default();
                    let Some(mut irr) = tx.get::<CapacityReservation>(&scope, &irr_id)? else { continue };
                    for id in ids {
                        let Some(mut inst) = tx.get::<Instance>(&scope, &id)? else { continue };
                        let held = service_terminate_at(ctx, tx, &mut inst, t, reclaim_reason())?;
                        if held && inst.capacity_reservation_id.as_deref() == Some(irr.id.as_str()) {
                            irr.used = irr.used.saturating_sub(1);
                        }
                    }
                    core::finish_reclaim(&mut cr, &mut irr);
                    tx.put(&scope, &irr)?;
                }
                Effect::Ended => {
                    if cr.reservation_type == ReservationType::CapacityBlock {
                        for mut inst in tx.scan::<Instance>(&scope)? {
                            if inst.capacity_reservation_id.as_deref() == Some(cr.id.as_str()) && inst.holds_capacity()
                            {
                                service_terminate_at(ctx, tx, &mut inst, t, block_end_reason())?;
                            }
                        }
                    }
                }
            }
        }
        tx.put(&scope, &cr)?;
    }
    Ok(())
}

fn load(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<CapacityReservation> {
    tx.get::<CapacityReservation>(&scope_key(ctx), id)?
        .ok_or_else(|| not_found(IdKind::CapacityReservation, &[id.to_string()]).into())
}

fn required_id(id: &Option<String>) -> Result<String> {
    let id = id.clone().ok_or_else(|| Ec2Error::missing_parameter("CapacityReservationId"))?;
    well_formed(IdKind::CapacityReservation, std::slice::from_ref(&id))?;
    Ok(id)
}

// ---------------------------------------------------------------------------------------------
// DTOs

fn allocation_dto(a: &core::Allocation) -> dto::InterruptibleCapacityAllocation {
    dto::InterruptibleCapacityAllocation {
        instance_count: Some(i64::from(a.instance_count)),
        target_instance_count: Some(i64::from(a.target_instance_count)),
        status: Some(a.status.name().into()),
        interruptible_capacity_reservation_id: Some(a.interruptible_id.clone()),
        interruption_type: Some("adhoc".into()),
    }
}

fn interruption_info(cr: &CapacityReservation) -> Option<dto::InterruptionInfo> {
    cr.source_id.as_ref().map(|s| dto::InterruptionInfo {
        source_capacity_reservation_id: Some(s.clone()),
        interruption_type: Some("adhoc".into()),
    })
}

fn cr_dto(ctx: &Ctx<'_>, cr: &CapacityReservation) -> dto::CapacityReservation {
    dto::CapacityReservation {
        capacity_reservation_id: Some(cr.id.clone()),
        owner_id: Some(cr.owner_id.clone()),
        capacity_reservation_arn: Some(format!(
            "arn:aws:ec2:{}:{}:capacity-reservation/{}",
            ctx.scope.region, cr.owner_id, cr.id
        )),
        availability_zone_id: Some(cr.availability_zone_id.clone()),
        instance_type: Some(cr.instance_type.clone()),
        instance_platform: Some(cr.instance_platform.clone()),
        availability_zone: Some(cr.availability_zone.clone()),
        tenancy: Some(cr.tenancy.clone()),
        total_instance_count: Some(i64::from(cr.total)),
        available_instance_count: Some(i64::from(cr.available())),
        ebs_optimized: Some(cr.ebs_optimized),
        ephemeral_storage: Some(cr.ephemeral_storage),
        state: Some(cr.state.name().into()),
        start_date: Some(cr.start_date),
        end_date: cr.end_date,
        end_date_type: Some(cr.end_date_type().into()),
        instance_match_criteria: Some(cr.match_criteria.name().into()),
        create_date: Some(cr.create_date),
        tags: Some(cr.tags.iter().map(|(k, v)| dto::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()),
        capacity_allocations: Some(if cr.used > 0 {
            vec![dto::CapacityAllocation {
                allocation_type: Some("used".into()),
                count: Some(i64::from(cr.used)),
                ..Default::default()
            }]
        } else {
            vec![]
        }),
        reservation_type: Some(cr.reservation_type.name().into()),
        commitment_info: cr.commitment_end.map(|end| dto::CapacityReservationCommitmentInfo {
            committed_instance_count: Some(i64::from(cr.requested)),
            commitment_end_date: Some(end),
        }),
        delivery_preference: cr.delivery_preference.clone(),
        capacity_block_id: cr.capacity_block_id.clone(),
        interruptible: Some(cr.interruptible),
        interruptible_capacity_allocation: cr.allocation.as_ref().map(allocation_dto),
        interruption_info: interruption_info(cr),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// CreateCapacityReservation

fn check_token(token: &Option<String>) -> Result<()> {
    if let Some(t) = token.as_deref().filter(|t| t.len() > 64 || !t.is_ascii()) {
        return Err(invalid(format!(
            "Value ({t}) for parameter clientToken is invalid. Expected at most 64 ASCII characters."
        ))
        .into());
    }
    Ok(())
}

fn zone_of(ctx: &Ctx<'_>, name: Option<&str>, id: Option<&str>) -> Result<(&'static str, &'static str)> {
    let found = match (name, id) {
        (Some(_), Some(_)) => {
            return Err(
                combination("The parameters AvailabilityZone and AvailabilityZoneId cannot be used together.").into()
            )
        }
        (Some(z), None) => regions::zone(z).filter(|(r, _)| r.name == ctx.scope.region).map(|(_, z)| z),
        (None, Some(i)) => regions::zone_by_id(i).filter(|(r, _)| r.name == ctx.scope.region).map(|(_, z)| z),
        (None, None) => {
            return Err(Ec2Error::new(
                Code::MissingParameter,
                "The request must contain the parameter AvailabilityZone or AvailabilityZoneId",
            )
            .into())
        }
    };
    let z = found.ok_or_else(|| invalid(format!("Invalid availability zone: [{}]", name.or(id).unwrap_or(""))))?;
    Ok((z.name, z.id))
}

fn parse_end(
    now: UnixMillis,
    end_date_type: Option<&str>,
    end_date: Option<UnixMillis>,
) -> Result<Option<Option<UnixMillis>>> {
    match (end_date_type, end_date) {
        (None, None) => Ok(None),
        (Some("unlimited"), None) => Ok(Some(None)),
        (Some("unlimited"), Some(_)) => {
            Err(combination("EndDate cannot be specified when EndDateType is 'unlimited'.").into())
        }
        (Some("limited") | None, Some(end)) => {
            if end <= now {
                return Err(invalid("The EndDate must be in the future.").into());
            }
            if end_date_type.is_none() {
                return Err(combination("EndDate can only be specified when EndDateType is 'limited'.").into());
            }
            Ok(Some(Some(end)))
        }
        (Some("limited"), None) => Err(combination("EndDate is required when EndDateType is 'limited'.").into()),
        (Some(other), _) => Err(invalid(format!(
            "Value ({other}) for parameter endDateType is invalid. Expected 'unlimited' or 'limited'."
        ))
        .into()),
    }
}

fn parse_criteria(c: Option<&str>) -> Result<Option<MatchCriteria>> {
    match c {
        None => Ok(None),
        Some("open") => Ok(Some(MatchCriteria::Open)),
        Some("targeted") => Ok(Some(MatchCriteria::Targeted)),
        Some(other) => Err(invalid(format!(
            "Value ({other}) for parameter instanceMatchCriteria is invalid. Expected 'open' or 'targeted'."
        ))
        .into()),
    }
}

fn check_count(n: i64, param: &str) -> Result<u32> {
    if !(1..=1000).contains(&n) {
        return Err(invalid(format!(
            "Value ({n}) for parameter {param} is invalid. Expected a value between 1 and 1000."
        ))
        .into());
    }
    Ok(n as u32)
}

pub fn create_capacity_reservation(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateCapacityReservationRequest,
) -> Result<dto::CreateCapacityReservationResult> {
    let type_name = req.instance_type.clone().unwrap_or_default();
    let itype = instance_types::instance_type(&type_name)
        .ok_or_else(|| invalid(format!("Invalid value '{type_name}' for InstanceType.")))?;
    let platform = req.instance_platform.clone().unwrap_or_default();
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(invalid(format!("Value ({platform}) for parameter instancePlatform is invalid.")).into());
    }
    let count = check_count(req.instance_count.unwrap_or(0), "instanceCount")?;
    let (zone, zone_id) = zone_of(ctx, req.availability_zone.as_deref(), req.availability_zone_id.as_deref())?;
    let tenancy = req.tenancy.clone().unwrap_or_else(|| "default".into());
    if !matches!(tenancy.as_str(), "default" | "dedicated") {
        return Err(invalid(format!(
            "Value ({tenancy}) for parameter tenancy is invalid. Expected 'default' or 'dedicated'."
        ))
        .into());
    }
    let end = parse_end(ctx.now, req.end_date_type.as_deref(), req.end_date)?.flatten();
    let criteria = parse_criteria(req.instance_match_criteria.as_deref())?;
    if req.outpost_arn.is_some() || req.placement_group_arn.is_some() {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            "ec2d does not support Capacity Reservations on Outposts or in placement groups.",
        )
        .into());
    }
    check_token(&req.client_token)?;
    // Future-dated requests (spec 7.9).
    let future = req.start_date.is_some();
    if !future && (req.commitment_duration.is_some() || req.delivery_preference.is_some()) {
        return Err(combination("CommitmentDuration and DeliveryPreference need a StartDate.").into());
    }
    if let Some(start) = req.start_date {
        if start < ctx.now.plus_millis(5 * DAY_MS) || start > ctx.now.plus_millis(120 * DAY_MS) {
            return Err(
                invalid("The StartDate of a future-dated Capacity Reservation must be 5 to 120 days ahead.").into()
            );
        }
        let commitment = req.commitment_duration.unwrap_or(0);
        if commitment < 14 * 86_400 {
            return Err(invalid(
                "The CommitmentDuration of a future-dated Capacity Reservation must be at least 1209600 seconds (14 days).",
            )
            .into());
        }
        if criteria != Some(MatchCriteria::Targeted) {
            return Err(invalid(
                "A future-dated Capacity Reservation must use the 'targeted' instance match criteria.",
            )
            .into());
        }
        if u64::from(itype.vcpus) * u64::from(count) < 32 {
            return Err(invalid("A future-dated Capacity Reservation must reserve at least 32 vCPUs in total.").into());
        }
        if !matches!(type_name.chars().next(), Some('c' | 'm' | 'r' | 'i' | 't' | 'g')) {
            return Err(invalid(format!(
                "Future-dated Capacity Reservations do not support the instance type '{type_name}'."
            ))
            .into());
        }
        if let Some(e) = end {
            if e < start.plus_millis(commitment * 1000) {
                return Err(invalid("The EndDate cannot be within the commitment duration.").into());
            }
        }
        if let Some(p) = req.delivery_preference.as_deref().filter(|p| *p != "incremental") {
            return Err(invalid(format!(
                "Value ({p}) for parameter deliveryPreference is invalid. Only 'incremental' is supported."
            ))
            .into());
        }
    }
    let specs = tag_specifications(&req.tag_specifications, &["capacity-reservation"])?;
    dry_run_gate(ctx, req.dry_run)?;

    let fp = fingerprint(&dto::CreateCapacityReservationRequest { client_token: None, dry_run: None, ..req.clone() });
    let token_key = req.client_token.as_ref().map(|t| format!("CreateCapacityReservation/{t}"));
    // The token's resource: the reservation.
    if let Some(resources) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        let cr = load(ctx, tx, resources.first().map_or("", String::as_str))?;
        return Ok(dto::CreateCapacityReservationResult { capacity_reservation: Some(cr_dto(ctx, &cr)) });
    }
    if !future && free_in_pool(ctx, tx, zone, itype.name)? < i64::from(count) {
        return Err(insufficient_capacity().into());
    }
    let id = new_id(ctx, tx, IdKind::CapacityReservation)?;
    let mut cr = CapacityReservation {
        id,
        owner_id: ctx.scope.account.clone(),
        instance_type: itype.name.to_string(),
        instance_platform: platform,
        availability_zone: zone.to_string(),
        availability_zone_id: zone_id.to_string(),
        tenancy,
        total: 0,
        used: 0,
        requested: count,
        ebs_optimized: req.ebs_optimized.unwrap_or(false),
        ephemeral_storage: false,
        state: CrState::Pending,
        create_date: ctx.now,
        start_date: req.start_date.unwrap_or(ctx.now),
        end_date: end,
        match_criteria: criteria.unwrap_or(MatchCriteria::Open),
        reservation_type: ReservationType::Default,
        capacity_block_id: None,
        commitment_duration: req.commitment_duration.map(|s| s * 1000),
        commitment_end: None,
        delivery_preference: future.then(|| "incremental".to_string()),
        commitment_waived: false,
        interruptible: false,
        source_id: None,
        allocation: None,
        events: vec![],
        tags: tags_for(&specs, "capacity-reservation").into_iter().collect(),
    };
    if future {
        cr.submit_future_dated(ctx.now, &durations(ctx));
    } else {
        cr.activate_now(ctx.now);
    }
    tx.put(&scope_key(ctx), &cr)?;
    register(ctx, tx, &cr)?;
    if let Some(key) = token_key {
        remember(ctx, tx, Some(key), fp, vec![cr.id.clone()])?;
    }
    Ok(dto::CreateCapacityReservationResult { capacity_reservation: Some(cr_dto(ctx, &cr)) })
}

// ---------------------------------------------------------------------------------------------
// DescribeCapacityReservations / GetCapacityReservationUsage

fn one_to_thousand() -> PageBounds {
    PageBounds {
        min: 1,
        max: 1000,
        cap_above_max: false,
        message: |n| format!("{n} is an invalid value for MaxResults. MaxResults must be null, or between 1 and 1000."),
    }
}

fn date(t: Option<UnixMillis>) -> Vec<String> {
    t.map(|t| t.to_iso8601()).into_iter().collect()
}

static CR_FILTERS: FilterTable<CapacityReservation> = FilterTable {
    entries: &[
        ("availability-zone", |c| vec![c.availability_zone.clone()]),
        ("availability-zone-id", |c| vec![c.availability_zone_id.clone()]),
        ("capacity-reservation-id", |c| vec![c.id.clone()]),
        ("end-date", |c| date(c.end_date)),
        ("end-date-type", |c| vec![c.end_date_type().to_string()]),
        ("instance-match-criteria", |c| vec![c.match_criteria.name().to_string()]),
        ("instance-platform", |c| vec![c.instance_platform.clone()]),
        ("instance-type", |c| vec![c.instance_type.clone()]),
        ("interruptible", |c| vec![c.interruptible.to_string()]),
        ("outpost-arn", |_| vec![]),
        ("owner-id", |c| vec![c.owner_id.clone()]),
        ("placement-group-arn", |_| vec![]),
        ("reservation-type", |c| vec![c.reservation_type.name().to_string()]),
        ("start-date", |c| date(Some(c.start_date))),
        ("state", |c| vec![c.state.name().to_string()]),
        ("tenancy", |c| vec![c.tenancy.clone()]),
    ],
    tags: Some(|c| &c.tags),
};

pub fn describe_capacity_reservations(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeCapacityReservationsRequest,
) -> Result<dto::DescribeCapacityReservationsResult> {
    let ids = well_formed(IdKind::CapacityReservation, req.capacity_reservation_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&CR_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut all = if ids.is_empty() {
        tx.scan::<CapacityReservation>(&scope_key(ctx))?
    } else {
        let mut found: Vec<CapacityReservation> = load_named(ctx, tx, IdKind::CapacityReservation, &ids)?;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    };
    all.retain(|c| CR_FILTERS.matches(c, &filters));
    let (page, next) = paginate(all, |c| c.id.clone(), req.max_results, req.next_token.as_deref(), &one_to_thousand())?;
    Ok(dto::DescribeCapacityReservationsResult {
        capacity_reservations: Some(page.iter().map(|c| cr_dto(ctx, c)).collect()),
        next_token: next,
    })
}

pub fn get_capacity_reservation_usage(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetCapacityReservationUsageRequest,
) -> Result<dto::GetCapacityReservationUsageResult> {
    let id = required_id(&req.capacity_reservation_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    let cr = load(ctx, tx, &id)?;
    let usages = if cr.used > 0 {
        vec![dto::InstanceUsage {
            account_id: Some(cr.owner_id.clone()),
            used_instance_count: Some(i64::from(cr.used)),
        }]
    } else {
        vec![]
    };
    let (page, next) = paginate(
        usages,
        |u| u.account_id.clone().unwrap_or_default(),
        req.max_results,
        req.next_token.as_deref(),
        &one_to_thousand(),
    )?;
    Ok(dto::GetCapacityReservationUsageResult {
        next_token: next,
        capacity_reservation_id: Some(cr.id.clone()),
        instance_type: Some(cr.instance_type.clone()),
        total_instance_count: Some(i64::from(cr.total)),
        available_instance_count: Some(i64::from(cr.available())),
        state: Some(cr.state.name().into()),
        instance_usages: Some(page),
        interruptible: Some(cr.interruptible),
        interruptible_capacity_allocation: cr.allocation.as_ref().map(allocation_dto),
        interruption_info: interruption_info(&cr),
    })
}

// ---------------------------------------------------------------------------------------------
// ModifyCapacityReservation / CancelCapacityReservation

pub fn modify_capacity_reservation(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyCapacityReservationRequest,
) -> Result<dto::ModifyCapacityReservationResult> {
    let id = required_id(&req.capacity_reservation_id)?;
    let count = req.instance_count.map(|n| check_count(n, "instanceCount")).transpose()?;
    let end = parse_end(ctx.now, req.end_date_type.as_deref(), req.end_date)?;
    let criteria = parse_criteria(req.instance_match_criteria.as_deref())?;
    if count.is_none() && end.is_none() && criteria.is_none() {
        return Err(Ec2Error::new(
            Code::MissingParameter,
            "The request must contain at least one of InstanceCount, EndDateType, EndDate or InstanceMatchCriteria",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut cr = load(ctx, tx, &id)?;
    cr.check_modifiable().map_err(cr_error)?;
    let in_commitment = cr.in_commitment(ctx.now);
    if let Some(n) = count {
        if in_commitment && n < cr.requested {
            return Err(Ec2Error::new(
                Code::IncorrectState,
                format!(
                    "The Capacity Reservation {id} can't go below its committed instance count ({}) during its commitment duration.",
                    cr.requested
                ),
            )
            .into());
        }
        if n < cr.used {
            return Err(invalid(format!(
                "The instance count ({n}) cannot be lower than the number of instances running in the Capacity Reservation ({}).",
                cr.used
            ))
            .into());
        }
        if i64::from(n).abs_diff(i64::from(cr.total)) > 1000 {
            return Err(invalid("The instance count can change by at most 1000 in one request.").into());
        }
        if n > cr.total && free_in_pool(ctx, tx, &cr.availability_zone, &cr.instance_type)? < i64::from(n - cr.total) {
            return Err(insufficient_capacity().into());
        }
    }
    if let (Some(Some(e)), Some(until)) = (end, cr.commitment_end) {
        if in_commitment && e < until {
            return Err(invalid("The EndDate cannot be within the commitment duration.").into());
        }
    }
    if criteria == Some(MatchCriteria::Open) && cr.match_criteria == MatchCriteria::Targeted && cr.used > 0 {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} must have no instances running in it to change to 'open'."),
        )
        .into());
    }
    if let Some(n) = count {
        cr.total = n;
        if !in_commitment {
            cr.requested = n;
        }
    }
    if let Some(e) = end {
        cr.set_end_date(e, ctx.now);
    }
    if let Some(c) = criteria {
        cr.match_criteria = c;
    }
    tx.put(&scope_key(ctx), &cr)?;
    Ok(dto::ModifyCapacityReservationResult { r#return: Some(true) })
}

pub fn cancel_capacity_reservation(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CancelCapacityReservationRequest,
) -> Result<dto::CancelCapacityReservationResult> {
    let id = required_id(&req.capacity_reservation_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut cr = load(ctx, tx, &id)?;
    cr.cancel(ctx.now).map_err(cr_error)?;
    tx.put(&scope_key(ctx), &cr)?;
    Ok(dto::CancelCapacityReservationResult { r#return: Some(true) })
}

// ---------------------------------------------------------------------------------------------
// Interruptible allocations

fn allocation_result(src: &CapacityReservation) -> dto::CreateInterruptibleCapacityReservationAllocationResult {
    let a = src.allocation.as_ref();
    dto::CreateInterruptibleCapacityReservationAllocationResult {
        source_capacity_reservation_id: Some(src.id.clone()),
        target_instance_count: a.map(|a| i64::from(a.target_instance_count)),
        status: a.map(|a| a.status.name().to_string()),
        interruption_type: Some("adhoc".into()),
    }
}

pub fn create_interruptible_capacity_reservation_allocation(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateInterruptibleCapacityReservationAllocationRequest,
) -> Result<dto::CreateInterruptibleCapacityReservationAllocationResult> {
    let id = required_id(&req.capacity_reservation_id)?;
    let count = check_count(req.instance_count.unwrap_or(0), "instanceCount")?;
    check_token(&req.client_token)?;
    let specs = tag_specifications(&req.tag_specifications, &["capacity-reservation"])?;
    dry_run_gate(ctx, req.dry_run)?;
    // SDKs fill the token in; without one, each call is a new request.
    let fp = fingerprint(&dto::CreateInterruptibleCapacityReservationAllocationRequest {
        client_token: None,
        dry_run: None,
        ..req.clone()
    });
    let token_key = req.client_token.as_ref().map(|t| format!("CreateInterruptibleCapacityReservationAllocation/{t}"));
    // The token's resource: the source reservation.
    if let Some(resources) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        return Ok(allocation_result(&load(ctx, tx, resources.first().map_or("", String::as_str))?));
    }
    let mut src = load(ctx, tx, &id)?;
    if src.interruptible {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} is interruptible and cannot be the source of an allocation."),
        )
        .into());
    }
    if src.reservation_type == ReservationType::CapacityBlock {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            "A Capacity Block cannot be the source of an interruptible allocation.",
        )
        .into());
    }
    if !src.is_active() {
        return Err(cr_error(CrError::WrongState { id, state: src.state }).into());
    }
    if src.end_date.is_some() {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} has an end date; only reservations without one can lend capacity."),
        )
        .into());
    }
    if src.allocation.as_ref().is_some_and(|a| a.status.is_live()) {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} already has an interruptible allocation. Update it instead."),
        )
        .into());
    }
    if count > src.available() {
        return Err(invalid(format!(
            "The Capacity Reservation {id} has {} unused instances; an allocation can only take unused capacity.",
            src.available()
        ))
        .into());
    }
    let irr_id = new_id(ctx, tx, IdKind::CapacityReservation)?;
    let mut irr = CapacityReservation {
        id: irr_id.clone(),
        total: 0,
        used: 0,
        requested: count,
        state: CrState::Pending,
        create_date: ctx.now,
        start_date: ctx.now,
        end_date: None,
        match_criteria: MatchCriteria::Targeted,
        reservation_type: ReservationType::Default,
        capacity_block_id: None,
        commitment_duration: None,
        commitment_end: None,
        delivery_preference: None,
        commitment_waived: false,
        interruptible: true,
        source_id: Some(src.id.clone()),
        allocation: None,
        events: vec![],
        tags: tags_for(&specs, "capacity-reservation").into_iter().collect(),
        ..src.clone()
    };
    irr.activate_now(ctx.now);
    src.lend(&irr_id, count, ctx.now, &durations(ctx));
    tx.put(&scope_key(ctx), &irr)?;
    tx.put(&scope_key(ctx), &src)?;
    register(ctx, tx, &irr)?;
    if let Some(key) = token_key {
        remember(ctx, tx, Some(key), fp, vec![src.id.clone()])?;
    }
    Ok(allocation_result(&src))
}

pub fn update_interruptible_capacity_reservation_allocation(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::UpdateInterruptibleCapacityReservationAllocationRequest,
) -> Result<dto::UpdateInterruptibleCapacityReservationAllocationResult> {
    let id = required_id(&req.capacity_reservation_id)?;
    let target = req.target_instance_count.unwrap_or(-1);
    if !(0..=100_000).contains(&target) {
        return Err(invalid(format!(
            "Value ({target}) for parameter targetInstanceCount is invalid. Expected a non-negative integer."
        ))
        .into());
    }
    let target = target as u32;
    dry_run_gate(ctx, req.dry_run)?;
    let mut src = load(ctx, tx, &id)?;
    if src.interruptible {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!(
                "The Capacity Reservation {id} is interruptible; update the allocation through its source reservation."
            ),
        )
        .into());
    }
    let Some(a) = src.allocation.clone().filter(|a| a.status.is_live()) else {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Capacity Reservation {id} has no interruptible allocation."),
        )
        .into());
    };
    if target.abs_diff(a.instance_count) > 1000 {
        return Err(invalid("An allocation can change by at most 1000 instances in one request.").into());
    }
    if target > a.instance_count && target - a.instance_count > src.available() {
        return Err(invalid(format!(
            "The Capacity Reservation {id} has {} unused instances; an allocation can only take unused capacity.",
            src.available()
        ))
        .into());
    }
    let mut irr = load(ctx, tx, &a.interruptible_id)?;
    // The instances running in the interruptible reservation, oldest first: the ones a reclaim
    // interrupts. Only this rare call looks at the scope's instances.
    let mut running: Vec<Instance> = tx
        .scan::<Instance>(&scope_key(ctx))?
        .into_iter()
        .filter(|i| i.capacity_reservation_id.as_deref() == Some(irr.id.as_str()) && i.holds_capacity())
        .collect();
    running.sort_by(|x, y| (x.launch_time, &x.id).cmp(&(y.launch_time, &y.id)));
    let running: Vec<String> = running.into_iter().map(|i| i.id).collect();
    core::resize(&mut src, &mut irr, target, &running, ctx.now, &durations(ctx));
    tx.put(&scope_key(ctx), &src)?;
    tx.put(&scope_key(ctx), &irr)?;
    let a = src.allocation.as_ref();
    Ok(dto::UpdateInterruptibleCapacityReservationAllocationResult {
        interruptible_capacity_reservation_id: Some(irr.id.clone()),
        source_capacity_reservation_id: Some(src.id.clone()),
        instance_count: a.map(|a| i64::from(a.instance_count)),
        target_instance_count: a.map(|a| i64::from(a.target_instance_count)),
        status: a.map(|a| a.status.name().to_string()),
        interruption_type: Some("adhoc".into()),
    })
}

// ---------------------------------------------------------------------------------------------
// Capacity Blocks

/// An offering shown by DescribeCapacityBlockOfferings, kept so that PurchaseCapacityBlock can
/// buy it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CapacityBlockOfferingRecord {
    pub id: String,
    pub instance_type: String,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub instance_count: u32,
    pub start: UnixMillis,
    pub end: UnixMillis,
    pub hours: i64,
    pub upfront_fee: String,
}

impl Record for CapacityBlockOfferingRecord {
    const KIND: &'static str = "capacity_block_offering";
    fn id(&self) -> &str {
        &self.id
    }
}

/// Instance families sold as Capacity Blocks.
fn block_type(name: &str) -> bool {
    name.starts_with('p') || name.starts_with("trn")
}

fn offering_id(seed: u64, parts: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in parts.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("cbr-0{:016x}", h)
}

/// The next 11:30 UTC at or after `t` (Capacity Blocks start at 11:30 UTC).
fn next_block_start(t: UnixMillis) -> UnixMillis {
    let day = t.0.div_euclid(DAY_MS) * DAY_MS;
    let start = day + 11 * 3_600_000 + 30 * 60_000;
    UnixMillis(if start >= t.0 { start } else { start + DAY_MS })
}

pub fn describe_capacity_block_offerings(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeCapacityBlockOfferingsRequest,
) -> Result<dto::DescribeCapacityBlockOfferingsResult> {
    let type_name = req.instance_type.clone().ok_or_else(|| Ec2Error::missing_parameter("InstanceType"))?;
    let itype = instance_types::instance_type(&type_name)
        .filter(|t| block_type(t.name))
        .ok_or_else(|| invalid(format!("Capacity Blocks are not offered for the instance type '{type_name}'.")))?;
    let count = req.instance_count.unwrap_or(1);
    if !(1..=64).contains(&count) {
        return Err(
            invalid(format!("Value ({count}) for parameter instanceCount is invalid. Expected 1 to 64.")).into()
        );
    }
    let hours = req.capacity_duration_hours.unwrap_or(0);
    if !(1..=4368).contains(&hours) || (hours > 24 && hours % 24 != 0) {
        return Err(invalid(format!(
            "Value ({hours}) for parameter capacityDurationHours is invalid. Expected 1 to 24 hours, or whole days up to 182 days."
        ))
        .into());
    }
    let bounds = PageBounds {
        min: 1,
        max: 1000,
        cap_above_max: false,
        message: |n| format!("{n} is an invalid value for MaxResults. MaxResults must be null, or between 1 and 1000."),
    };
    dry_run_gate(ctx, req.dry_run)?;
    let from = req.start_date_range.unwrap_or(ctx.now).max(ctx.now);
    let until = req.end_date_range;
    let zones: Vec<&regions::Zone> =
        regions::region(&ctx.scope.region).map(|r| r.zones.iter().take(2).collect()).unwrap_or_default();
    let mut offers = Vec::new();
    for k in 0..3 {
        let start = next_block_start(from.plus_millis(k * DAY_MS));
        let end = start.plus_millis(hours * 3_600_000);
        if until.is_some_and(|u| end > u) {
            continue;
        }
        for z in &zones {
            let fee = itype.on_demand_usd_per_hour * 0.6 * count as f64 * hours as f64;
            let rec = CapacityBlockOfferingRecord {
                id: offering_id(ctx.ids.seed(), &format!("{}/{}/{}/{}/{}", itype.name, z.name, start.0, hours, count)),
                instance_type: itype.name.to_string(),
                availability_zone: z.name.to_string(),
                availability_zone_id: z.id.to_string(),
                instance_count: count as u32,
                start,
                end,
                hours,
                upfront_fee: format!("{fee:.2}"),
            };
            tx.put(&scope_key(ctx), &rec)?;
            offers.push(rec);
        }
    }
    let (page, next) = paginate(
        offers,
        |o| format!("{:016}/{}", o.start.0, o.availability_zone),
        req.max_results,
        req.next_token.as_deref(),
        &bounds,
    )?;
    Ok(dto::DescribeCapacityBlockOfferingsResult {
        capacity_block_offerings: Some(
            page.iter()
                .map(|o| dto::CapacityBlockOffering {
                    capacity_block_offering_id: Some(o.id.clone()),
                    instance_type: Some(o.instance_type.clone()),
                    availability_zone: Some(o.availability_zone.clone()),
                    instance_count: Some(i64::from(o.instance_count)),
                    start_date: Some(o.start),
                    end_date: Some(o.end),
                    capacity_block_duration_hours: Some(o.hours),
                    upfront_fee: Some(o.upfront_fee.clone()),
                    currency_code: Some("USD".into()),
                    tenancy: Some("default".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: next,
    })
}

pub fn purchase_capacity_block(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::PurchaseCapacityBlockRequest,
) -> Result<dto::PurchaseCapacityBlockResult> {
    let offering_id = req.capacity_block_offering_id.clone().unwrap_or_default();
    let platform = req.instance_platform.clone().unwrap_or_default();
    if !PLATFORMS.contains(&platform.as_str()) {
        return Err(invalid(format!("Value ({platform}) for parameter instancePlatform is invalid.")).into());
    }
    let specs = tag_specifications(&req.tag_specifications, &["capacity-reservation", "capacity-block"])?;
    dry_run_gate(ctx, req.dry_run)?;
    let offer = tx
        .get::<CapacityBlockOfferingRecord>(&scope_key(ctx), &offering_id)?
        .filter(|o| o.start > ctx.now)
        .ok_or_else(|| {
            invalid(format!("The Capacity Block offering '{offering_id}' does not exist or is no longer available."))
        })?;
    tx.delete::<CapacityBlockOfferingRecord>(&scope_key(ctx), &offering_id)?;
    let id = new_id(ctx, tx, IdKind::CapacityReservation)?;
    let block_id = format!("cb-{}", id.trim_start_matches("cr-"));
    let mut cr = CapacityReservation {
        id,
        owner_id: ctx.scope.account.clone(),
        instance_type: offer.instance_type.clone(),
        instance_platform: platform,
        availability_zone: offer.availability_zone.clone(),
        availability_zone_id: offer.availability_zone_id.clone(),
        tenancy: "default".into(),
        total: 0,
        used: 0,
        requested: offer.instance_count,
        ebs_optimized: true,
        ephemeral_storage: false,
        state: CrState::Pending,
        create_date: ctx.now,
        start_date: offer.start,
        end_date: Some(offer.end),
        match_criteria: MatchCriteria::Targeted,
        reservation_type: ReservationType::CapacityBlock,
        capacity_block_id: Some(block_id.clone()),
        commitment_duration: None,
        commitment_end: None,
        delivery_preference: None,
        commitment_waived: false,
        interruptible: false,
        source_id: None,
        allocation: None,
        events: vec![],
        tags: tags_for(&specs, "capacity-reservation").into_iter().collect(),
    };
    cr.submit_capacity_block(ctx.now, &durations(ctx));
    tx.put(&scope_key(ctx), &cr)?;
    register(ctx, tx, &cr)?;
    let block_tags: BTreeMap<String, String> = tags_for(&specs, "capacity-block").into_iter().collect();
    Ok(dto::PurchaseCapacityBlockResult {
        capacity_reservation: Some(cr_dto(ctx, &cr)),
        capacity_blocks: Some(vec![dto::CapacityBlock {
            capacity_block_id: Some(block_id),
            availability_zone: Some(cr.availability_zone.clone()),
            availability_zone_id: Some(cr.availability_zone_id.clone()),
            capacity_reservation_ids: Some(vec![cr.id.clone()]),
            start_date: Some(offer.start),
            end_date: Some(offer.end),
            create_date: Some(ctx.now),
            state: Some("scheduled".into()),
            tags: Some(
                block_tags.iter().map(|(k, v)| dto::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect(),
            ),
            ..Default::default()
        }]),
    })
}

// ---------------------------------------------------------------------------------------------
// Control hooks

/// The operator's hooks on a reservation (any account): `delay` (deliver `seconds` after now,
/// commitment waived) or `unsupported`. Returns the new state, or `None` for an unknown ID.
pub fn operator_hook(
    app: &crate::app::App,
    tx: &mut Txn<'_>,
    id: &str,
    action: &str,
    seconds: f64,
) -> Result<Option<CrState>> {
    let now = app.clock.now(tx)?;
    for scope in tx.scopes::<CapacityReservation>()? {
        let Some(mut cr) = tx.get::<CapacityReservation>(&scope, id)? else { continue };
        cr.settle(now);
        let outcome = match action {
            "delay" => cr.delay(now.plus_millis((seconds * 1000.0).round() as i64)),
            _ => cr.mark_unsupported(),
        };
        outcome.map_err(cr_error)?;
        tx.put(&scope, &cr)?;
        return Ok(Some(cr.state));
    }
    Ok(None)
}

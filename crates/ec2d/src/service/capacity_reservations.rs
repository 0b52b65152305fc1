//! Capacity Reservations and interruptible allocations: the handlers, and [`catch_up`], which runs
//! at the start of every request and applies the due steps of the scope's reservations (delivery,
//! expiry, allocation steps, the end of a reclaim notice, which terminates the reclaimed
//! instances). The capacity model is in `capacity_pools.rs` (rules in
//! `ec2_core::capacity_reservations::pools`), Capacity Blocks in `capacity_blocks.rs`.

use ec2_core::capacity_reservations::pools::CapacityError;
use ec2_core::capacity_reservations::{
    self as core, CapacityReservation, CrDurations, CrError, CrState, Effect, MatchCriteria, ReservationType,
};
use ec2_core::catalog::instance_types;
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::lifecycle::{self, settle};
use ec2_core::instances::{Instance, StateReason};
use ec2_core::regions;
use ec2_core::Shared;
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::capacity_pools::{free_in_pool, register};
use super::common::{
    fingerprint, load_named, new_id, not_found, paginate, remember, replay, tag_specifications, tags_for, well_formed,
    PageBounds,
};
use super::errors;
use super::state_changes::{self, Accounting};
use super::{dry_run_gate, filters, Ctx, Result};
use ec2_core::due::DueKind;
use ec2_core::instances::changes::Before;

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

pub(super) fn durations(ctx: &Ctx<'_>) -> CrDurations {
    *ctx.cr_durations
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
fn reclaim_reason() -> Shared<StateReason> {
    StateReason::new(
        "Server.InterruptibleCapacityReservationReclaim",
        "Server.InterruptibleCapacityReservationReclaim: Interruptible Capacity Reservation capacity reclaimed",
    )
}

fn block_end_reason() -> Shared<StateReason> {
    StateReason::new("Server.CapacityBlockEnded", "Server.CapacityBlockEnded: Capacity Block ended")
}

/// Terminates `inst` at `t` on EC2's behalf; returns whether it held a unit (now given back to
/// the pool; the caller adjusts the reservation it was in).
fn service_terminate_at(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    inst: &mut Instance,
    t: UnixMillis,
    reason: Shared<StateReason>,
) -> Result<bool> {
    let before = Before::of(inst);
    settle(inst, t, ctx.durations);
    let held = inst.holds_capacity();
    lifecycle::service_terminate(inst, t, ctx.durations, reason);
    state_changes::apply(&Ctx { now: t, ..*ctx }, tx, before, inst, Accounting::PoolOnly)?;
    Ok(held)
}

/// Saves the reservation (its state at `at` joins its timeline) and sets its entry in the scope's
/// due-work index. Every write of a reservation goes through here.
pub fn save(seed: u64, tx: &mut Txn<'_>, scope: &str, cr: &CapacityReservation, at: UnixMillis) -> Result<()> {
    tx.put(scope, cr)?;
    super::events::reservation(tx, scope, cr, at)?;
    super::due::set(seed, tx, scope, DueKind::CapacityReservation, &cr.id, cr.next_due())
}

/// Applies the due steps of the reservation `id`, whose entry in the due-work index came due
/// (`service::due::catch_up`).
pub fn settle_due(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<()> {
    let scope = ctx.scope.key();
    let seed = ctx.ids.seed();
    let Some(mut cr) = tx.get::<CapacityReservation>(scope, id)? else { return Ok(()) };
    if cr.next_due().is_none_or(|due| due > ctx.now) {
        return save(seed, tx, scope, &cr, ctx.now);
    }
    let effects = cr.settle(ctx.now);
    let at = effects.last().map_or(ctx.now, |(t, _)| *t);
    for (t, effect) in effects {
        match effect {
            Effect::None => {}
            Effect::Interrupt(ids) => {
                let irr_id = cr.allocation.as_ref().map(|a| a.interruptible_id.clone()).unwrap_or_default();
                let Some(mut irr) = tx.get::<CapacityReservation>(scope, &irr_id)? else { continue };
                for id in ids {
                    let Some(mut inst) = tx.get::<Instance>(scope, &id)? else { continue };
                    let held = service_terminate_at(ctx, tx, &mut inst, t, reclaim_reason())?;
                    if held && inst.capacity_reservation_id.as_deref() == Some(irr.id.as_str()) {
                        irr.used = irr.used.saturating_sub(1);
                    }
                }
                core::finish_reclaim(&mut cr, &mut irr);
                save(seed, tx, scope, &irr, t)?;
            }
            Effect::Ended => {
                if cr.reservation_type == ReservationType::CapacityBlock {
                    for mut inst in tx.scan::<Instance>(scope)? {
                        if inst.capacity_reservation_id.as_deref() == Some(cr.id.as_str()) && inst.holds_capacity() {
                            service_terminate_at(ctx, tx, &mut inst, t, block_end_reason())?;
                        }
                    }
                }
            }
        }
    }
    save(seed, tx, scope, &cr, at)
}

fn load(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<CapacityReservation> {
    tx.get::<CapacityReservation>(ctx.scope.key(), id)?
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

pub(super) fn cr_dto(ctx: &Ctx<'_>, cr: &CapacityReservation) -> dto::CapacityReservation {
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
        return Err(errors::capacity(CapacityError::InsufficientCapacity).into());
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
    save(ctx.ids.seed(), tx, ctx.scope.key(), &cr, ctx.now)?;
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
        tx.scan::<CapacityReservation>(ctx.scope.key())?
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
    cr.check_modifiable().map_err(errors::capacity_reservation)?;
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
            return Err(errors::capacity(CapacityError::InsufficientCapacity).into());
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
    save(ctx.ids.seed(), tx, ctx.scope.key(), &cr, ctx.now)?;
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
    cr.cancel(ctx.now).map_err(errors::capacity_reservation)?;
    save(ctx.ids.seed(), tx, ctx.scope.key(), &cr, ctx.now)?;
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
        return Err(errors::capacity_reservation(CrError::WrongState { id, state: src.state }).into());
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
    save(ctx.ids.seed(), tx, ctx.scope.key(), &irr, ctx.now)?;
    save(ctx.ids.seed(), tx, ctx.scope.key(), &src, ctx.now)?;
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
        .scan::<Instance>(ctx.scope.key())?
        .into_iter()
        .filter(|i| i.capacity_reservation_id.as_deref() == Some(irr.id.as_str()) && i.holds_capacity())
        .collect();
    running.sort_by(|x, y| (x.launch_time, &x.id).cmp(&(y.launch_time, &y.id)));
    let running: Vec<String> = running.into_iter().map(|i| i.id.to_string()).collect();
    core::resize(&mut src, &mut irr, target, &running, ctx.now, &durations(ctx));
    save(ctx.ids.seed(), tx, ctx.scope.key(), &src, ctx.now)?;
    save(ctx.ids.seed(), tx, ctx.scope.key(), &irr, ctx.now)?;
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
// Control hooks

/// The operator's hooks on a reservation (any account): `delay` (deliver `seconds` after now,
/// commitment waived) or `unsupported`. Returns the new state, or `None` for an unknown ID.
pub fn operator_hook(
    tx: &mut Txn<'_>,
    now: UnixMillis,
    seed: u64,
    id: &str,
    action: &str,
    seconds: f64,
) -> Result<Option<CrState>> {
    for scope in tx.scopes::<CapacityReservation>()? {
        let Some(mut cr) = tx.get::<CapacityReservation>(&scope, id)? else { continue };
        cr.settle(now);
        let outcome = match action {
            "delay" => cr.delay(now.plus_millis((seconds * 1000.0).round() as i64)),
            _ => cr.mark_unsupported(),
        };
        outcome.map_err(errors::capacity_reservation)?;
        save(seed, tx, &scope, &cr, now)?;
        return Ok(Some(cr.state));
    }
    Ok(None)
}

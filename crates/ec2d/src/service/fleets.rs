//! EC2 Fleet: CreateFleet, DescribeFleets, DescribeFleetInstances, DescribeFleetHistory,
//! ModifyFleet and DeleteFleets, and the engine both fleet flavors share (Spot Fleet's handlers are
//! in `spot_fleets.rs`): resolving the (launch template, override) pools into launch plans,
//! choosing pools with the allocation strategies of `ec2_core::fleets` from the Spot market's
//! prices and the capacity model's free room, launching (Spot Instances through Spot requests, as
//! RunInstances does), and settling a fleet whose entry in the due-work index came due.
//!
//! A maintain fleet learns that an instance went from its instance: every fleet instance carries
//! the fleet's `aws:` tag, and `state_changes::apply` makes the fleet's due entry come due when such
//! an instance gives its capacity back (an interruption, a termination). No scan finds fleets.

use std::collections::BTreeMap;

use ec2_core::catalog::instance_types;
use ec2_core::due::DueKind;
use ec2_core::filters::FilterTable;
use ec2_core::fleets::{
    self as core, Allocation, Candidate, Flavor, Fleet, FleetError, FleetInstance, FleetState, FleetType, HistoryKind,
    Lifecycle, OnDemandStrategy, Override, Pool, SpotFleetRequest, SpotStrategy, Target, TemplateRef, UnitType,
};
use ec2_core::ids::IdKind;
use ec2_core::instances::{Instance, InstanceState};
use ec2_core::spot::market::{self, format_price};
use ec2_core::spot::{InterruptionBehavior, SpotType};
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    fingerprint, five_to_thousand, new_id, paginate, remember, replay, tag_set, tag_specifications, tags_for,
    well_formed, TagsByType,
};
use super::tags::ResourceTags;
use super::{dry_run_gate, filters, launch, launch_templates, Ctx, Result};

pub(super) fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

pub(super) fn not_implemented(op: &str, what: &str) -> Ec2Error {
    Ec2Error::new(Code::NotImplemented, format!("ec2d does not implement {op} with {what} yet."))
}

// ---------------------------------------------------------------------------------------------
// Loading and saving

pub(super) fn id_kind(flavor: Flavor) -> IdKind {
    match flavor {
        Flavor::Ec2Fleet => IdKind::Fleet,
        Flavor::SpotFleet => IdKind::SpotFleetRequest,
    }
}

fn due_kind(flavor: Flavor) -> DueKind {
    match flavor {
        Flavor::Ec2Fleet => DueKind::Fleet,
        Flavor::SpotFleet => DueKind::SpotFleetRequest,
    }
}

pub(super) fn get(ctx: &Ctx<'_>, tx: &mut Txn<'_>, flavor: Flavor, id: &str) -> Result<Option<Fleet>> {
    Ok(match flavor {
        Flavor::Ec2Fleet => tx.get::<Fleet>(ctx.scope.key(), id)?,
        Flavor::SpotFleet => tx.get::<SpotFleetRequest>(ctx.scope.key(), id)?.map(|r| r.0),
    })
}

pub(super) fn scan(ctx: &Ctx<'_>, tx: &mut Txn<'_>, flavor: Flavor) -> Result<Vec<Fleet>> {
    Ok(match flavor {
        Flavor::Ec2Fleet => tx.scan::<Fleet>(ctx.scope.key())?,
        Flavor::SpotFleet => tx.scan::<SpotFleetRequest>(ctx.scope.key())?.into_iter().map(|r| r.0).collect(),
    })
}

/// Saves the fleet and sets its entry in the due-work index. Every write of a fleet goes through here.
pub(super) fn save(ctx: &Ctx<'_>, tx: &mut Txn<'_>, f: &Fleet) -> Result<()> {
    let scope = ctx.scope.key();
    match f.flavor {
        Flavor::Ec2Fleet => tx.put(scope, f)?,
        Flavor::SpotFleet => tx.put(scope, &SpotFleetRequest(f.clone()))?,
    }
    super::due::set(ctx.ids.seed(), tx, scope, due_kind(f.flavor), &f.id, f.next_check)
}

/// The named fleets, settled, in the order named; unknown IDs are the kind's NotFound, all at once.
pub(super) fn load_many(ctx: &Ctx<'_>, tx: &mut Txn<'_>, flavor: Flavor, ids: &[String]) -> Result<Vec<Fleet>> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match get(ctx, tx, flavor, id)? {
            Some(f) => out.push(f),
            None => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(super::common::not_found(id_kind(flavor), &missing).into());
    }
    Ok(out)
}

pub(super) fn tags_of(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<BTreeMap<String, String>> {
    Ok(tx.get::<ResourceTags>(ctx.scope.key(), id)?.map(|r| r.tags).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Pools: launch template configs and overrides resolved into plans

/// One launch template config (or Spot Fleet launch specification) as the request gave it.
pub(super) enum ConfigIn {
    Template { spec: dto::LaunchTemplateSpecification, overrides: Vec<Override> },
    Specification { request: Box<dto::RunInstancesRequest>, weight: Option<f64>, max_price: Option<String> },
}

pub(super) fn parse_price(text: &str, param: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p > 0.0 => Ok(p),
        _ => Err(invalid(format!("Value ({text}) for parameter {param} is invalid.")).into()),
    }
}

/// Syntax checks of the configs, before the permission gate.
pub(super) fn check_configs(configs: &[ConfigIn]) -> Result<()> {
    if configs.is_empty() {
        return Err(Ec2Error::missing_parameter("LaunchTemplateConfigs").into());
    }
    for c in configs {
        match c {
            ConfigIn::Template { spec, overrides } => {
                launch_templates::check_spec(spec)?;
                for o in overrides {
                    if let Some(w) = o.weighted_capacity.filter(|w| !(w.is_finite() && *w > 0.0)) {
                        return Err(invalid(format!("Value ({w}) for parameter WeightedCapacity is invalid.")).into());
                    }
                    if let Some(p) = &o.max_price {
                        parse_price(p, "MaxPrice")?;
                    }
                    if let Some(t) = &o.instance_type {
                        if instance_types::instance_type(t).is_none() {
                            return Err(invalid(format!("Invalid value '{t}' for InstanceType.")).into());
                        }
                    }
                    if let Some(s) = &o.subnet_id {
                        well_formed(IdKind::Subnet, std::slice::from_ref(s))?;
                    }
                }
            }
            ConfigIn::Specification { weight, max_price, .. } => {
                if let Some(w) = weight.filter(|w| !(w.is_finite() && *w > 0.0)) {
                    return Err(invalid(format!("Value ({w}) for parameter WeightedCapacity is invalid.")).into());
                }
                if let Some(p) = max_price {
                    parse_price(p, "SpotPrice")?;
                }
            }
        }
    }
    Ok(())
}

fn instance_specs(req: &dto::RunInstancesRequest, extra: &[(String, String)]) -> Result<TagsByType> {
    let mut specs = tag_specifications(
        &req.tag_specifications,
        &["instance", "volume", "network-interface", "spot-instances-request"],
    )?;
    if !extra.is_empty() {
        specs.push(("instance".into(), extra.to_vec()));
    }
    Ok(specs)
}

/// A plan for one pool, checked the way RunInstances checks it.
fn plan_for(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RunInstancesRequest,
    extra: &[(String, String)],
) -> Result<launch::LaunchPlan> {
    let specs = instance_specs(req, extra)?;
    let mut plan = launch::plan(ctx, req, 1, &specs)?;
    launch::resolve_network(ctx, tx, req, &mut plan)?;
    launch::check_image(ctx, tx, &plan)?;
    Ok(plan)
}

fn weight_of(unit: Option<UnitType>, given: Option<f64>, instance_type: &str) -> f64 {
    if let Some(w) = given {
        return w;
    }
    match (unit, instance_types::instance_type(instance_type)) {
        (Some(u), Some(t)) => u.default_weight(t.vcpus, t.memory_mib),
        _ => 1.0,
    }
}

/// Resolves every config into its pools (after the permission gate: templates, subnets and images
/// must exist). `instance_tags` go on every instance.
pub(super) fn pools_of(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    configs: &[ConfigIn],
    unit: Option<UnitType>,
    instance_tags: &[(String, String)],
) -> Result<Vec<Pool>> {
    let mut pools = Vec::new();
    for (index, c) in configs.iter().enumerate() {
        match c {
            ConfigIn::Template { spec, overrides } => {
                let resolved = launch_templates::resolve(ctx, tx, spec)?;
                let template = TemplateRef {
                    id: resolved.template.id.clone(),
                    name: resolved.template.name.clone(),
                    version: spec.version.clone().unwrap_or_else(|| "$Default".into()),
                };
                let mut tags = launch_templates::launch_tags(&resolved);
                tags.extend(instance_tags.iter().cloned());
                let shown: Vec<Option<Override>> =
                    if overrides.is_empty() { vec![None] } else { overrides.iter().cloned().map(Some).collect() };
                for o in shown {
                    let ov = o.clone().unwrap_or_default();
                    let base = dto::RunInstancesRequest {
                        image_id: ov.image_id.clone(),
                        instance_type: ov.instance_type.clone(),
                        subnet_id: ov.subnet_id.clone(),
                        placement: ov
                            .availability_zone
                            .clone()
                            .map(|z| dto::Placement { availability_zone: Some(z), ..Default::default() }),
                        min_count: Some(1),
                        max_count: Some(1),
                        ..Default::default()
                    };
                    let merged = launch_templates::run_request(&base, &resolved.data)?;
                    let plan = plan_for(ctx, tx, &merged, &tags)?;
                    let weight = weight_of(unit, ov.weighted_capacity, &plan.instance_type);
                    pools.push(Pool {
                        config: index,
                        template: Some(template.clone()),
                        max_price: ov.max_price.as_deref().map(|p| parse_price(p, "MaxPrice")).transpose()?,
                        priority: ov.priority,
                        shown: o,
                        plan,
                        weight,
                    });
                }
            }
            ConfigIn::Specification { request, weight, max_price } => {
                let plan = plan_for(ctx, tx, request, instance_tags)?;
                let shown = Override {
                    instance_type: Some(plan.instance_type.clone()),
                    availability_zone: Some(plan.zone.clone()),
                    subnet_id: Some(plan.subnet_id.clone()),
                    weighted_capacity: *weight,
                    max_price: max_price.clone(),
                    ..Default::default()
                };
                pools.push(Pool {
                    config: index,
                    template: None,
                    max_price: max_price.as_deref().map(|p| parse_price(p, "SpotPrice")).transpose()?,
                    priority: None,
                    weight: weight_of(unit, *weight, &plan.instance_type),
                    shown: Some(shown),
                    plan,
                });
            }
        }
    }
    Ok(pools)
}

// ---------------------------------------------------------------------------------------------
// Filling capacity

fn product_of(plan: &launch::LaunchPlan) -> &'static str {
    match ec2_core::catalog::images::image(&plan.image_id).and_then(|i| i.platform) {
        Some("windows") => "Windows",
        _ => "Linux/UNIX",
    }
}

/// The Spot price of a pool at `now`.
pub(super) fn spot_price(ctx: &Ctx<'_>, plan: &launch::LaunchPlan) -> Result<f64> {
    let t = instance_types::instance_type(&plan.instance_type)
        .ok_or_else(|| Ec2Error::internal(format!("unknown instance type {}", plan.instance_type)))?;
    let linux = market::price(ctx.ids.seed(), t, &plan.zone, ctx.now);
    Ok(market::product_price(linux, t, product_of(plan)))
}

fn on_demand_price(plan: &launch::LaunchPlan) -> f64 {
    instance_types::instance_type(&plan.instance_type)
        .map_or(f64::INFINITY, |t| market::product_price(t.on_demand_usd_per_hour, t, product_of(plan)))
}

/// The most instances a pool takes now, of a lifecycle: its capacity pool's room (and Spot limit),
/// and with `addresses` also its subnet's free addresses (which costs more to count, so only the
/// pools a launch goes to are asked).
fn free_of(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &launch::LaunchPlan,
    lifecycle: Lifecycle,
    addresses: bool,
) -> Result<i64> {
    const BIG: i64 = 1_000_000;
    let room = match super::capacity_pools::launchable(ctx, tx, plan, 0, BIG, lifecycle == Lifecycle::Spot) {
        Ok(n) => n as i64,
        Err(_) => 0,
    };
    let room = if lifecycle == Lifecycle::Spot {
        let (limit, held) = super::capacity_pools::spot_view(tx, &plan.zone, &plan.instance_type)?;
        match limit {
            Some(l) => room.min((l as i64 - held).max(0)),
            None => room,
        }
    } else {
        room
    };
    if !addresses || room <= 0 {
        return Ok(room.max(0));
    }
    let free = super::subnets::launchable(ctx, tx, &plan.subnet_id, 0, room as usize).unwrap_or(0);
    Ok(room.min(free as i64).max(0))
}

/// What one fill did: per pool and lifecycle, the instances launched.
pub(super) struct Filled {
    pub launched: Vec<(usize, Lifecycle, Vec<Instance>)>,
    pub errors: Vec<FleetError>,
}

fn tag_key(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Ec2Fleet => core::FLEET_TAG,
        Flavor::SpotFleet => core::SPOT_FLEET_TAG,
    }
}

fn launch_in(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    f: &Fleet,
    pool: usize,
    lifecycle: Lifecycle,
    count: usize,
) -> Result<Vec<Instance>> {
    let p = &f.pools[pool];
    let mut plan = p.plan.clone();
    plan.instance_tags.insert(tag_key(f.flavor).to_string(), f.id.clone());
    plan.client_token = None;
    let reservation = new_id(ctx, tx, IdKind::Reservation)?;
    match lifecycle {
        Lifecycle::OnDemand => launch::launch(ctx, tx, &plan, count, &reservation, None),
        Lifecycle::Spot => {
            let options = super::spot::MarketOptions {
                max_price: p.max_price.or(f.spot_max_price),
                spot_type: SpotType::OneTime,
                valid_until: None,
                behavior: InterruptionBehavior::Terminate,
            };
            super::spot::run_spot(ctx, tx, &plan, count, &reservation, &options, &Vec::new())
        }
    }
}

/// Launches what the fleet misses of its target at `ctx.now`, in the pools its strategies choose.
/// Errors of pools that could not take their share are returned (an instant fleet reports them).
pub(super) fn fill(ctx: &Ctx<'_>, tx: &mut Txn<'_>, f: &mut Fleet) -> Result<Filled> {
    f.attempted = true;
    let mut out = Filled { launched: Vec::new(), errors: Vec::new() };
    for lifecycle in [Lifecycle::OnDemand, Lifecycle::Spot] {
        // Spot's share is what the On-Demand launches left of the total.
        let (od_missing, spot_missing) = f.missing();
        let units = if lifecycle == Lifecycle::OnDemand { od_missing } else { spot_missing };
        if units <= 0.0 {
            continue;
        }
        let mut cands = Vec::new();
        for (i, p) in f.pools.iter().enumerate() {
            let price = match lifecycle {
                Lifecycle::OnDemand => on_demand_price(&p.plan),
                Lifecycle::Spot => {
                    let price = spot_price(ctx, &p.plan)?;
                    let max = p.max_price.or(f.spot_max_price).unwrap_or_else(|| on_demand_price(&p.plan));
                    if max < price {
                        out.errors.push(FleetError {
                            pool: i,
                            lifecycle,
                            code: "SpotMaxPriceTooLow".into(),
                            message: format!(
                                "Your Spot request price of {} is lower than the minimum required Spot request fulfillment price of {}.",
                                format_price(max),
                                format_price(price)
                            ),
                        });
                        continue;
                    }
                    price
                }
            };
            let free = free_of(ctx, tx, &p.plan, lifecycle, false)?;
            cands.push(Candidate { pool: i, weight: p.weight, priority: p.priority, price, free });
        }
        let Allocation { launches, short } = match lifecycle {
            Lifecycle::OnDemand => core::allocate_on_demand(f.on_demand_strategy, &cands, units),
            Lifecycle::Spot => core::allocate_spot(f.spot_strategy, f.pools_to_use, &cands, units),
        };
        for pool in short {
            let message = match lifecycle {
                Lifecycle::Spot => "There is no Spot capacity available that matches your request.".to_string(),
                Lifecycle::OnDemand => format!(
                    "We currently do not have sufficient {} capacity in the Availability Zone you requested ({}).",
                    f.pools[pool].plan.instance_type, f.pools[pool].plan.zone
                ),
            };
            out.errors.push(FleetError { pool, lifecycle, code: "InsufficientInstanceCapacity".into(), message });
        }
        for (pool, wanted) in launches {
            // Two overrides may share a capacity pool or a subnet: what is free is read again, with
            // the subnet's addresses, before each launch.
            let count = (wanted as i64).min(free_of(ctx, tx, &f.pools[pool].plan, lifecycle, true)?).max(0) as usize;
            if count < wanted as usize && !out.errors.iter().any(|e| e.pool == pool && e.lifecycle == lifecycle) {
                out.errors.push(FleetError {
                    pool,
                    lifecycle,
                    code: "InsufficientInstanceCapacity".into(),
                    message: "There is not enough capacity to fulfill your request.".into(),
                });
            }
            if count == 0 {
                continue;
            }
            let launched = launch_in(ctx, tx, f, pool, lifecycle, count)?;
            for inst in &launched {
                f.instances.push(FleetInstance {
                    id: inst.id.to_string(),
                    pool,
                    lifecycle,
                    instance_type: inst.instance_type.to_string(),
                    spot_request_id: inst.spot_request_id.clone().map(Into::into),
                    weight: f.pools[pool].weight,
                    live: true,
                });
                f.record(ctx.now, HistoryKind::Instance, "launched", String::new(), Some(inst.id.to_string()));
            }
            out.launched.push((pool, lifecycle, launched));
        }
    }
    for e in &out.errors {
        let description = format!("{}: {}", e.code, e.message);
        f.record(ctx.now, HistoryKind::Error, "launchSpecUnusable", description, None);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Settling

/// Whether a fleet instance is gone by `now` (shutting down, terminated or purged).
fn gone(inst: Option<&Instance>) -> bool {
    inst.is_none_or(|i| matches!(i.state, InstanceState::ShuttingDown | InstanceState::Terminated))
}

/// Notes the instances that went, expires the fleet, tops a maintain fleet up, and sets when it
/// next has work.
pub(super) fn settle(ctx: &Ctx<'_>, tx: &mut Txn<'_>, f: &mut Fleet) -> Result<()> {
    let scope = ctx.scope.key();
    let live: Vec<String> = f.instances.iter().filter(|i| i.live).map(|i| i.id.clone()).collect();
    for id in live {
        let inst = tx.get::<Instance>(scope, &id)?;
        if gone(inst.as_ref()) {
            f.instance_gone(ctx.now, &id);
        }
    }
    if f.expired(ctx.now) {
        f.state = FleetState::Deleted;
        f.record(ctx.now, HistoryKind::Fleet, "expired", String::new(), None);
        if f.terminate_with_expiration {
            let ids: Vec<String> = f.instances.iter().filter(|i| i.live).map(|i| i.id.clone()).collect();
            terminate(ctx, tx, &ids)?;
            for id in ids {
                f.instance_gone(ctx.now, &id);
            }
        }
    }
    f.next_check = None;
    if f.wants_more(ctx.now) {
        fill(ctx, tx, f)?;
        if f.wants_more(ctx.now) {
            f.next_check = Some(ctx.now.plus_millis(ctx.spot_durations.capacity_retry.max(1)));
        }
    }
    if f.fleet_type != FleetType::Instant && f.state.launches() {
        if let Some(until) = f.valid_until {
            f.next_check = Some(f.next_check.map_or(until, |t| t.min(until)));
        }
        if let Some(from) = f.valid_from.filter(|t| *t > ctx.now) {
            f.next_check = Some(f.next_check.map_or(from, |t| t.min(from)));
        }
    }
    Ok(())
}

/// Settles the fleet whose entry in the due-work index came due (`service::due::catch_up`).
pub fn settle_due(ctx: &Ctx<'_>, tx: &mut Txn<'_>, flavor: Flavor, id: &str) -> Result<()> {
    if let Some(mut f) = get(ctx, tx, flavor, id)? {
        settle(ctx, tx, &mut f)?;
        save(ctx, tx, &f)?;
    }
    Ok(())
}

/// The hook of `state_changes::apply`: a fleet instance gave its capacity back at `ctx.now`, so its
/// fleet has work due.
pub fn instance_released(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    if let Some((flavor, id)) = core::owner_of(&inst.tags) {
        super::due::lower(ctx.ids.seed(), tx, ctx.scope.key(), due_kind(flavor), id, ctx.now)?;
    }
    Ok(())
}

/// Terminates fleet instances that still exist, as TerminateInstances does.
pub(super) fn terminate(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<()> {
    let scope = ctx.scope.key();
    let mut existing = Vec::new();
    for id in ids {
        if tx.get::<Instance>(scope, id)?.is_some() {
            existing.push(id.clone());
        }
    }
    if existing.is_empty() {
        return Ok(());
    }
    super::instances::terminate_instances(
        ctx,
        tx,
        &dto::TerminateInstancesRequest { instance_ids: Some(existing), ..Default::default() },
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Requests

fn target_of(t: &dto::TargetCapacitySpecificationRequest) -> Result<Target> {
    let num = |v: Option<i64>, name: &str| -> Result<u32> {
        match v {
            None => Ok(0),
            Some(n) if (0..=1_000_000).contains(&n) => Ok(n as u32),
            Some(n) => Err(invalid(format!("Value ({n}) for parameter {name} is invalid.")).into()),
        }
    };
    let total = t
        .total_target_capacity
        .ok_or_else(|| Ec2Error::missing_parameter("TargetCapacitySpecification.TotalTargetCapacity"))?;
    let default_type = match t.default_target_capacity_type.as_deref() {
        None => Lifecycle::OnDemand,
        Some(text) => Lifecycle::parse(text).ok_or_else(|| {
            invalid(format!(
                "Value ({text}) for parameter DefaultTargetCapacityType is invalid. Expected 'spot' or 'on-demand'."
            ))
        })?,
    };
    let unit_type = t
        .target_capacity_unit_type
        .as_deref()
        .map(|u| {
            UnitType::parse(u).ok_or_else(|| {
                invalid(format!("Value ({u}) for parameter TargetCapacityUnitType is invalid. Expected 'units', 'vcpu' or 'memory-mib'."))
            })
        })
        .transpose()?;
    let target = Target {
        total: num(Some(total), "TotalTargetCapacity")?,
        on_demand: num(t.on_demand_target_capacity, "OnDemandTargetCapacity")?,
        spot: num(t.spot_target_capacity, "SpotTargetCapacity")?,
        default_type,
        unit_type,
    };
    if target.split().is_none() {
        return Err(invalid(
            "The sum of OnDemandTargetCapacity and SpotTargetCapacity must not be greater than TotalTargetCapacity.",
        )
        .into());
    }
    Ok(target)
}

fn override_of(o: &dto::FleetLaunchTemplateOverridesRequest) -> Override {
    Override {
        instance_type: o.instance_type.clone(),
        max_price: o.max_price.clone(),
        subnet_id: o.subnet_id.clone(),
        availability_zone: o
            .availability_zone
            .clone()
            .or_else(|| o.placement.as_ref().and_then(|p| p.availability_zone.clone())),
        weighted_capacity: o.weighted_capacity,
        priority: o.priority,
        image_id: o.image_id.clone(),
    }
}

pub(super) fn configs_of(c: &Option<Vec<dto::FleetLaunchTemplateConfigRequest>>) -> Vec<ConfigIn> {
    c.iter()
        .flatten()
        .map(|c| {
            let s = c.launch_template_specification.clone().unwrap_or_default();
            ConfigIn::Template {
                spec: dto::LaunchTemplateSpecification {
                    launch_template_id: s.launch_template_id,
                    launch_template_name: s.launch_template_name,
                    version: s.version,
                },
                overrides: c.overrides.iter().flatten().map(override_of).collect(),
            }
        })
        .collect()
}

fn fleet_type_of(t: Option<&str>) -> Result<FleetType> {
    match t {
        None => Ok(FleetType::Maintain),
        Some(text) => FleetType::parse(text).ok_or_else(|| {
            invalid(format!(
                "Value ({text}) for parameter Type is invalid. Expected 'instant', 'request' or 'maintain'."
            ))
            .into()
        }),
    }
}

pub(super) fn behavior_of(text: Option<&str>) -> Result<String> {
    match text {
        None => Ok("terminate".into()),
        Some(b @ ("terminate" | "stop" | "hibernate")) => Ok(b.to_string()),
        Some(b) => Err(invalid(format!(
            "Value ({b}) for parameter InstanceInterruptionBehavior is invalid. Expected 'terminate', 'stop' or 'hibernate'."
        ))
        .into()),
    }
}

/// Creates a fleet from its checked parts: draws the ID, fills what it can now, records the history,
/// and saves it.
pub(super) fn create(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut f: Fleet) -> Result<(Fleet, Filled)> {
    f.record(ctx.now, HistoryKind::Fleet, "submitted", String::new(), None);
    f.state = FleetState::Active;
    f.record(ctx.now, HistoryKind::Fleet, "active", String::new(), None);
    let filled = if f.valid_from.is_none_or(|t| t <= ctx.now) {
        fill(ctx, tx, &mut f)?
    } else {
        Filled { launched: Vec::new(), errors: Vec::new() }
    };
    if f.fleet_type == FleetType::Instant {
        f.errors = filled.errors.clone();
    }
    // A maintain fleet tries again later when it could not fill its target.
    if f.fleet_type == FleetType::Maintain {
        let (od, spot) = f.missing();
        if od > 0.0 || spot > 0.0 {
            f.next_check = Some(ctx.now.plus_millis(ctx.spot_durations.capacity_retry.max(1)));
        }
    }
    if f.fleet_type != FleetType::Instant {
        let edges = [f.valid_until, f.valid_from.filter(|t| *t > ctx.now)];
        for t in edges.into_iter().flatten() {
            f.next_check = Some(f.next_check.map_or(t, |n| n.min(t)));
        }
    }
    save(ctx, tx, &f)?;
    Ok((f, filled))
}

fn check_validity(now: UnixMillis, from: Option<UnixMillis>, until: Option<UnixMillis>) -> Result<()> {
    if let Some(u) = until {
        if u <= now || from.is_some_and(|f| u <= f) {
            return Err(invalid(
                "Value for parameter ValidUntil is invalid. It must be in the future and after ValidFrom.",
            )
            .into());
        }
    }
    Ok(())
}

pub fn create_fleet(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateFleetRequest) -> Result<dto::CreateFleetResult> {
    let fleet_type = fleet_type_of(req.r#type.as_deref())?;
    let target = target_of(
        req.target_capacity_specification
            .as_ref()
            .ok_or_else(|| Ec2Error::missing_parameter("TargetCapacitySpecification"))?,
    )?;
    if req.target_capacity_specification.as_ref().and_then(|t| t.default_target_capacity_type.as_ref()).is_none() {
        return Err(Ec2Error::missing_parameter("TargetCapacitySpecification.DefaultTargetCapacityType").into());
    }
    let configs = configs_of(&req.launch_template_configs);
    check_configs(&configs)?;
    let spot = req.spot_options.clone().unwrap_or_default();
    let od_options = req.on_demand_options.clone().unwrap_or_default();
    let requirements = req.launch_template_configs.iter().flatten().flat_map(|c| c.overrides.iter().flatten());
    for (given, name) in [
        (requirements.clone().any(|o| o.instance_requirements.is_some()), "Overrides with InstanceRequirements"),
        (spot.max_total_price.is_some() || od_options.max_total_price.is_some(), "MaxTotalPrice"),
        (spot.min_target_capacity.is_some() || od_options.min_target_capacity.is_some(), "MinTargetCapacity"),
        (spot.single_instance_type.is_some() || od_options.single_instance_type.is_some(), "SingleInstanceType"),
        (
            spot.single_availability_zone.is_some() || od_options.single_availability_zone.is_some(),
            "SingleAvailabilityZone",
        ),
    ] {
        if given {
            return Err(not_implemented("CreateFleet", name).into());
        }
    }
    let spot_strategy = match spot.allocation_strategy.as_deref() {
        None => SpotStrategy::LowestPrice,
        Some(s) => SpotStrategy::parse(s, Flavor::Ec2Fleet)
            .ok_or_else(|| invalid(format!("Value ({s}) for parameter SpotOptions.AllocationStrategy is invalid.")))?,
    };
    let od = req.on_demand_options.clone().unwrap_or_default();
    let on_demand_strategy = match od.allocation_strategy.as_deref() {
        None => OnDemandStrategy::LowestPrice,
        Some(s) => OnDemandStrategy::parse(s, Flavor::Ec2Fleet).ok_or_else(|| {
            invalid(format!("Value ({s}) for parameter OnDemandOptions.AllocationStrategy is invalid."))
        })?,
    };
    let behavior = behavior_of(spot.instance_interruption_behavior.as_deref())?;
    let pools_to_use = match spot.instance_pools_to_use_count {
        None => None,
        Some(n) if n >= 1 && spot_strategy == SpotStrategy::LowestPrice => Some(n as u32),
        Some(n) if n >= 1 => {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "InstancePoolsToUseCount is valid only with the lowest-price allocation strategy.",
            )
            .into())
        }
        Some(n) => return Err(invalid(format!("Value ({n}) for parameter InstancePoolsToUseCount is invalid.")).into()),
    };
    if fleet_type == FleetType::Instant && (req.valid_from.is_some() || req.valid_until.is_some()) {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "ValidFrom and ValidUntil are not supported for fleets of type instant.",
        )
        .into());
    }
    check_validity(ctx.now, req.valid_from, req.valid_until)?;
    let allowed: &[&str] = if fleet_type == FleetType::Instant { &["fleet", "instance"] } else { &["fleet"] };
    let specs = tag_specifications(&req.tag_specifications, allowed)?;
    dry_run_gate(ctx, req.dry_run)?;

    let fp = fingerprint(&dto::CreateFleetRequest { client_token: None, dry_run: None, ..req.clone() });
    let token_key = req.client_token.as_ref().map(|t| format!("CreateFleet/{t}"));
    if let Some(ids) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        let id = ids.first().cloned().unwrap_or_default();
        let f = get(ctx, tx, Flavor::Ec2Fleet, &id)?.ok_or_else(|| super::common::not_found(IdKind::Fleet, &[id]))?;
        return Ok(create_result(&f, None));
    }
    let pools = pools_of(ctx, tx, &configs, target.unit_type, &tags_for(&specs, "instance"))?;
    let id = new_id(ctx, tx, IdKind::Fleet)?;
    let mut f = Fleet::new(id, Flavor::Ec2Fleet, fleet_type, ctx.now, req.client_token.clone(), target, pools);
    f.spot_strategy = spot_strategy;
    f.on_demand_strategy = on_demand_strategy;
    f.interruption_behavior = behavior;
    f.pools_to_use = pools_to_use;
    f.capacity_rebalance = spot.maintenance_strategies.as_ref().and_then(|m| m.capacity_rebalance.as_ref()).is_some();
    f.valid_from = req.valid_from;
    f.valid_until = req.valid_until;
    f.replace_unhealthy = req.replace_unhealthy_instances.unwrap_or(false);
    f.terminate_with_expiration = req.terminate_instances_with_expiration.unwrap_or(false);
    f.excess_policy = req.excess_capacity_termination_policy.clone();
    f.context = req.context.clone();
    super::tags::set_tags(ctx, tx, &f.id, "fleet", tags_for(&specs, "fleet"))?;
    let (f, filled) = create(ctx, tx, f)?;
    remember(ctx, tx, token_key, fp, vec![f.id.clone()])?;
    Ok(create_result(&f, Some(&filled)))
}

// ---------------------------------------------------------------------------------------------
// Responses

pub(super) fn template_and_overrides(f: &Fleet, pool: usize) -> dto::LaunchTemplateAndOverridesResponse {
    let p = &f.pools[pool];
    dto::LaunchTemplateAndOverridesResponse {
        launch_template_specification: p.template.as_ref().map(|t| dto::FleetLaunchTemplateSpecification {
            launch_template_id: Some(t.id.clone()),
            launch_template_name: Some(t.name.clone()),
            version: Some(t.version.clone()),
        }),
        overrides: p.shown.as_ref().map(|o| dto::FleetLaunchTemplateOverrides {
            instance_type: o.instance_type.clone(),
            max_price: o.max_price.clone(),
            subnet_id: o.subnet_id.clone(),
            availability_zone: o.availability_zone.clone(),
            weighted_capacity: o.weighted_capacity,
            priority: o.priority,
            image_id: o.image_id.clone(),
            ..Default::default()
        }),
    }
}

fn platform_of(f: &Fleet, pool: usize) -> Option<String> {
    match product_of(&f.pools[pool].plan) {
        "Windows" => Some("windows".into()),
        _ => None,
    }
}

/// The instance sets of a fleet, one per (pool, lifecycle), in launch order.
fn instance_sets(f: &Fleet, only: Option<&Filled>) -> Vec<dto::CreateFleetInstance> {
    let mut groups: Vec<((usize, Lifecycle), Vec<String>)> = Vec::new();
    let mut push =
        |pool: usize, lifecycle: Lifecycle, id: &str| match groups.iter_mut().find(|(k, _)| *k == (pool, lifecycle)) {
            Some((_, ids)) => ids.push(id.to_string()),
            None => groups.push(((pool, lifecycle), vec![id.to_string()])),
        };
    match only {
        Some(filled) => {
            for (pool, lifecycle, insts) in &filled.launched {
                for i in insts {
                    push(*pool, *lifecycle, &i.id);
                }
            }
        }
        None => {
            for i in &f.instances {
                push(i.pool, i.lifecycle, &i.id);
            }
        }
    }
    groups
        .into_iter()
        .map(|((pool, lifecycle), ids)| dto::CreateFleetInstance {
            launch_template_and_overrides: Some(template_and_overrides(f, pool)),
            lifecycle: Some(lifecycle.name().into()),
            instance_ids: Some(ids),
            instance_type: Some(f.pools[pool].plan.instance_type.clone()),
            platform: platform_of(f, pool),
        })
        .collect()
}

fn create_result(f: &Fleet, filled: Option<&Filled>) -> dto::CreateFleetResult {
    let instant = f.fleet_type == FleetType::Instant;
    let errors = match filled {
        Some(filled) => filled.errors.clone(),
        None => f.errors.clone(),
    };
    dto::CreateFleetResult {
        fleet_id: Some(f.id.clone()),
        errors: Some(
            errors
                .iter()
                .map(|e| dto::CreateFleetError {
                    launch_template_and_overrides: Some(template_and_overrides(f, e.pool)),
                    lifecycle: Some(e.lifecycle.name().into()),
                    error_code: Some(e.code.clone()),
                    error_message: Some(e.message.clone()),
                })
                .collect(),
        )
        .filter(|_| instant || filled.is_some()),
        instances: Some(if instant { instance_sets(f, filled) } else { Vec::new() }),
    }
}

fn target_dto(t: &Target) -> dto::TargetCapacitySpecification {
    dto::TargetCapacitySpecification {
        total_target_capacity: Some(i64::from(t.total)),
        on_demand_target_capacity: Some(i64::from(t.on_demand)),
        spot_target_capacity: Some(i64::from(t.spot)),
        default_target_capacity_type: Some(t.default_type.name().into()),
        target_capacity_unit_type: t.unit_type.map(|u| u.name().into()),
    }
}

fn configs_dto(f: &Fleet) -> Vec<dto::FleetLaunchTemplateConfig> {
    let mut out: Vec<dto::FleetLaunchTemplateConfig> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, p) in f.pools.iter().enumerate() {
        let tao = template_and_overrides(f, i);
        if last != Some(p.config) {
            out.push(dto::FleetLaunchTemplateConfig {
                launch_template_specification: tao.launch_template_specification,
                overrides: Some(Vec::new()),
            });
            last = Some(p.config);
        }
        if let (Some(o), Some(c)) = (tao.overrides, out.last_mut()) {
            c.overrides.get_or_insert_with(Vec::new).push(o);
        }
    }
    out
}

fn fleet_dto(f: &Fleet, tags: &BTreeMap<String, String>) -> dto::FleetData {
    let instant = f.fleet_type == FleetType::Instant;
    dto::FleetData {
        activity_status: (!instant).then(|| f.activity().to_string()),
        create_time: Some(f.create_time),
        fleet_id: Some(f.id.clone()),
        fleet_state: Some(f.state.name(f.flavor).into()),
        client_token: f.client_token.clone(),
        excess_capacity_termination_policy: f.excess_policy.clone(),
        fulfilled_capacity: Some(f.fulfilled(None)),
        fulfilled_on_demand_capacity: Some(f.fulfilled(Some(Lifecycle::OnDemand))),
        launch_template_configs: Some(configs_dto(f)),
        target_capacity_specification: Some(target_dto(&f.target)),
        terminate_instances_with_expiration: Some(f.terminate_with_expiration),
        r#type: Some(f.fleet_type.name().into()),
        valid_from: f.valid_from,
        valid_until: f.valid_until,
        replace_unhealthy_instances: Some(f.replace_unhealthy),
        spot_options: Some(dto::SpotOptions {
            allocation_strategy: Some(f.spot_strategy.name(f.flavor).into()),
            instance_interruption_behavior: Some(f.interruption_behavior.clone()),
            instance_pools_to_use_count: f.pools_to_use.map(i64::from),
            ..Default::default()
        }),
        on_demand_options: Some(dto::OnDemandOptions {
            allocation_strategy: Some(f.on_demand_strategy.name(f.flavor).into()),
            ..Default::default()
        }),
        tags: tag_set(tags),
        errors: instant.then(|| {
            f.errors
                .iter()
                .map(|e| dto::DescribeFleetError {
                    launch_template_and_overrides: Some(template_and_overrides(f, e.pool)),
                    lifecycle: Some(e.lifecycle.name().into()),
                    error_code: Some(e.code.clone()),
                    error_message: Some(e.message.clone()),
                })
                .collect()
        }),
        instances: instant.then(|| {
            instance_sets(f, None)
                .into_iter()
                .map(|s| dto::DescribeFleetsInstances {
                    launch_template_and_overrides: s.launch_template_and_overrides,
                    lifecycle: s.lifecycle,
                    instance_ids: s.instance_ids,
                    instance_type: s.instance_type,
                    platform: s.platform,
                })
                .collect()
        }),
        context: f.context.clone(),
        ..Default::default()
    }
}

pub struct FleetRow {
    pub f: Fleet,
    pub tags: BTreeMap<String, String>,
}

static FLEET_FILTERS: FilterTable<FleetRow> = FilterTable {
    entries: &[
        ("activity-status", |x| vec![x.f.activity().to_string()]),
        ("excess-capacity-termination-policy", |x| x.f.excess_policy.iter().cloned().collect()),
        ("fleet-state", |x| vec![x.f.state.name(x.f.flavor).to_string()]),
        ("replace-unhealthy-instances", |x| vec![x.f.replace_unhealthy.to_string()]),
        ("type", |x| vec![x.f.fleet_type.name().to_string()]),
    ],
    tags: Some(|x| &x.tags),
};

pub fn describe_fleets(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeFleetsRequest,
) -> Result<dto::DescribeFleetsResult> {
    let ids = well_formed(IdKind::Fleet, req.fleet_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&FLEET_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let fleets =
        if ids.is_empty() { scan(ctx, tx, Flavor::Ec2Fleet)? } else { load_many(ctx, tx, Flavor::Ec2Fleet, &ids)? };
    let mut rows = Vec::new();
    for f in fleets {
        let row = FleetRow { tags: tags_of(ctx, tx, &f.id)?, f };
        if FLEET_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    let key = |x: &FleetRow| format!("{:016}/{}", x.f.create_time.0, x.f.id);
    rows.sort_by_key(key);
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeFleetsResult {
        fleets: Some(page.iter().map(|x| fleet_dto(&x.f, &x.tags)).collect()),
        next_token: next,
    })
}

fn one(ctx: &Ctx<'_>, tx: &mut Txn<'_>, flavor: Flavor, id: Option<&String>, param: &str) -> Result<Fleet> {
    let id = id.ok_or_else(|| Ec2Error::missing_parameter(param))?;
    well_formed(id_kind(flavor), std::slice::from_ref(id))?;
    Ok(load_many(ctx, tx, flavor, std::slice::from_ref(id))?.remove(0))
}

/// The live instances of a fleet, as DescribeFleetInstances and DescribeSpotFleetInstances show them.
pub(super) fn active_instances(ctx: &Ctx<'_>, tx: &mut Txn<'_>, f: &Fleet) -> Result<Vec<dto::ActiveInstance>> {
    let scope = ctx.scope.key();
    let mut out = Vec::new();
    for i in f.instances.iter().filter(|i| i.live) {
        let inst = tx.get::<Instance>(scope, &i.id)?;
        if gone(inst.as_ref()) {
            continue;
        }
        out.push(dto::ActiveInstance {
            instance_id: Some(i.id.clone()),
            instance_type: Some(i.instance_type.clone()),
            spot_instance_request_id: i.spot_request_id.clone(),
            instance_health: Some("healthy".into()),
        });
    }
    Ok(out)
}

pub fn describe_fleet_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeFleetInstancesRequest,
) -> Result<dto::DescribeFleetInstancesResult> {
    let id = req.fleet_id.clone().ok_or_else(|| Ec2Error::missing_parameter("FleetId"))?;
    well_formed(IdKind::Fleet, std::slice::from_ref(&id))?;
    static NONE: FilterTable<dto::ActiveInstance> =
        FilterTable { entries: &[("instance-type", |x| x.instance_type.iter().cloned().collect())], tags: None };
    let filters = filters(&NONE, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let f = one(ctx, tx, Flavor::Ec2Fleet, Some(&id), "FleetId")?;
    let mut rows = active_instances(ctx, tx, &f)?;
    rows.retain(|r| NONE.matches(r, &filters));
    let key = |x: &dto::ActiveInstance| x.instance_id.clone().unwrap_or_default();
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeFleetInstancesResult { active_instances: Some(page), next_token: next, fleet_id: Some(id) })
}

/// History entries of a fleet from `start` on, of one kind if asked, as (time, type, info).
pub(super) fn history(
    f: &Fleet,
    start: UnixMillis,
    kind: Option<HistoryKind>,
) -> Vec<(UnixMillis, String, dto::EventInformation)> {
    f.history
        .iter()
        .filter(|h| h.time >= start && kind.is_none_or(|k| k == h.kind))
        .map(|h| {
            (
                h.time,
                h.kind.name(f.flavor).to_string(),
                dto::EventInformation {
                    event_description: Some(h.description.clone()),
                    event_sub_type: Some(h.sub_type.clone()),
                    instance_id: h.instance_id.clone(),
                },
            )
        })
        .collect()
}

pub(super) fn event_kind(text: Option<&str>, flavor: Flavor) -> Result<Option<HistoryKind>> {
    text.map(|t| {
        HistoryKind::parse(t, flavor)
            .ok_or_else(|| invalid(format!("Value ({t}) for parameter EventType is invalid.")).into())
    })
    .transpose()
}

/// A row of a fleet's history: time, event type, information.
type HistoryRow = (UnixMillis, String, dto::EventInformation);

/// One page of a fleet's history (both flavors), oldest first, and the next page's token.
pub(super) fn history_page(
    f: &Fleet,
    start: UnixMillis,
    kind: Option<HistoryKind>,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<(Vec<HistoryRow>, Option<String>)> {
    let rows: Vec<(usize, HistoryRow)> = history(f, start, kind).into_iter().enumerate().collect();
    let key = |x: &(usize, HistoryRow)| format!("{:08}", x.0);
    let (page, next) = paginate(rows, key, max_results, next_token, &five_to_thousand())?;
    Ok((page.into_iter().map(|(_, row)| row).collect(), next))
}

pub fn describe_fleet_history(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeFleetHistoryRequest,
) -> Result<dto::DescribeFleetHistoryResult> {
    let id = req.fleet_id.clone().ok_or_else(|| Ec2Error::missing_parameter("FleetId"))?;
    well_formed(IdKind::Fleet, std::slice::from_ref(&id))?;
    let start = req.start_time.ok_or_else(|| Ec2Error::missing_parameter("StartTime"))?;
    let kind = event_kind(req.event_type.as_deref(), Flavor::Ec2Fleet)?;
    dry_run_gate(ctx, req.dry_run)?;
    let f = one(ctx, tx, Flavor::Ec2Fleet, Some(&id), "FleetId")?;
    let (page, next) = history_page(&f, start, kind, req.max_results, req.next_token.as_deref())?;
    Ok(dto::DescribeFleetHistoryResult {
        history_records: Some(
            page.into_iter()
                .map(|(t, ty, info)| dto::HistoryRecordEntry {
                    event_information: Some(info),
                    event_type: Some(ty),
                    timestamp: Some(t),
                })
                .collect(),
        ),
        last_evaluated_time: Some(ctx.now),
        next_token: next,
        fleet_id: Some(id),
        start_time: Some(start),
    })
}

/// Changes a fleet's target: a larger one is filled now, a smaller one terminates the excess when
/// the policy says so.
pub(super) fn retarget(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    f: &mut Fleet,
    target: Target,
    excess_policy: Option<String>,
) -> Result<()> {
    f.target = target;
    if let Some(p) = excess_policy {
        f.excess_policy = Some(p);
    }
    f.record(ctx.now, HistoryKind::Fleet, "modify_in_progress", String::new(), None);
    let terminate_excess = f.excess_policy.as_deref().is_none_or(|p| p == "termination" || p == "default");
    if terminate_excess {
        let ids = core::excess(f);
        terminate(ctx, tx, &ids)?;
        for id in &ids {
            f.instance_gone(ctx.now, id);
        }
    }
    if f.fleet_type == FleetType::Maintain || f.fleet_type == FleetType::Request {
        fill(ctx, tx, f)?;
    }
    f.record(ctx.now, HistoryKind::Fleet, "modify_succeeded", String::new(), None);
    f.next_check = None;
    if f.wants_more(ctx.now) {
        f.next_check = Some(ctx.now.plus_millis(ctx.spot_durations.capacity_retry.max(1)));
    }
    if let Some(until) = f.valid_until.filter(|_| f.state.launches()) {
        f.next_check = Some(f.next_check.map_or(until, |t| t.min(until)));
    }
    Ok(())
}

pub fn modify_fleet(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ModifyFleetRequest) -> Result<dto::ModifyFleetResult> {
    let id = req.fleet_id.clone().ok_or_else(|| Ec2Error::missing_parameter("FleetId"))?;
    well_formed(IdKind::Fleet, std::slice::from_ref(&id))?;
    if req.launch_template_configs.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement ModifyFleet with LaunchTemplateConfigs yet.",
        )
        .into());
    }
    let spec = req.target_capacity_specification.clone();
    if let Some(p) =
        req.excess_capacity_termination_policy.as_deref().filter(|p| !matches!(*p, "no-termination" | "termination"))
    {
        return Err(invalid(format!("Value ({p}) for parameter ExcessCapacityTerminationPolicy is invalid.")).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut f = one(ctx, tx, Flavor::Ec2Fleet, Some(&id), "FleetId")?;
    if f.fleet_type != FleetType::Maintain || !f.state.launches() {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The fleet {id} cannot be modified: only active fleets of type maintain can be modified."),
        )
        .into());
    }
    let mut target = f.target.clone();
    if let Some(s) = spec {
        let total = s.total_target_capacity.unwrap_or(i64::from(target.total));
        let merged = dto::TargetCapacitySpecificationRequest {
            total_target_capacity: Some(total),
            on_demand_target_capacity: s.on_demand_target_capacity.or(Some(i64::from(target.on_demand))),
            spot_target_capacity: s.spot_target_capacity.or(Some(i64::from(target.spot))),
            default_target_capacity_type: s
                .default_target_capacity_type
                .or(Some(target.default_type.name().to_string())),
            target_capacity_unit_type: target.unit_type.map(|u| u.name().to_string()),
        };
        target = target_of(&merged)?;
    }
    retarget(ctx, tx, &mut f, target, req.excess_capacity_termination_policy.clone())?;
    save(ctx, tx, &f)?;
    Ok(dto::ModifyFleetResult { r#return: Some(true) })
}

pub fn delete_fleets(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteFleetsRequest,
) -> Result<dto::DeleteFleetsResult> {
    let ids = req.fleet_ids.clone().unwrap_or_default();
    if ids.is_empty() {
        return Err(Ec2Error::missing_parameter("FleetId").into());
    }
    let terminate_instances =
        req.terminate_instances.ok_or_else(|| Ec2Error::missing_parameter("TerminateInstances"))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut fail = |id: &str, code: &str, message: String| {
        failed.push(dto::DeleteFleetErrorItem {
            error: Some(dto::DeleteFleetError { code: Some(code.into()), message: Some(message) }),
            fleet_id: Some(id.to_string()),
        })
    };
    for id in &ids {
        if !IdKind::Fleet.is_well_formed(id) {
            fail(id, "fleetIdMalformed", format!("The fleet ID '{id}' is malformed"));
            continue;
        }
        let Some(mut f) = get(ctx, tx, Flavor::Ec2Fleet, id)? else {
            fail(id, "fleetIdDoesNotExist", format!("The fleet ID '{id}' does not exist"));
            continue;
        };
        if f.state.is_deleted() {
            fail(id, "fleetNotInDeletableState", format!("The fleet {id} is already deleted."));
            continue;
        }
        if f.fleet_type == FleetType::Instant && !terminate_instances {
            fail(
                id,
                "fleetNotInDeletableState",
                "NoTerminateInstances is not supported for EC2 Fleets of type instant.".into(),
            );
            continue;
        }
        settle(ctx, tx, &mut f)?;
        let previous = f.delete(ctx.now, terminate_instances);
        if terminate_instances {
            let live: Vec<String> = f.instances.iter().filter(|i| i.live).map(|i| i.id.clone()).collect();
            terminate(ctx, tx, &live)?;
        }
        // The terminating instances count until the fleet next settles.
        f.next_check = (f.state == FleetState::DeletedTerminating).then_some(ctx.now);
        save(ctx, tx, &f)?;
        ok.push(dto::DeleteFleetSuccessItem {
            current_fleet_state: Some(f.state.name(f.flavor).into()),
            previous_fleet_state: Some(previous.name(f.flavor).into()),
            fleet_id: Some(id.clone()),
        });
    }
    Ok(dto::DeleteFleetsResult { successful_fleet_deletions: Some(ok), unsuccessful_fleet_deletions: Some(failed) })
}

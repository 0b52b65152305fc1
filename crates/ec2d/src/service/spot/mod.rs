//! Spot Instance requests: RequestSpotInstances, DescribeSpotInstanceRequests,
//! CancelSpotInstanceRequests, DescribeSpotPriceHistory, RunInstances with
//! `InstanceMarketOptions.MarketType=spot`, and the Spot rules of Stop/StartInstances.
//!
//! Every request's transaction starts with [`catch_up`]: each Spot request that still has
//! something to wait for is settled together with its instance, applying their due steps in time
//! order (the instance's transitions, the request's evaluation, fulfilment, interruption notice,
//! EC2's restart or clean-up, expiry, and price rises above the request's maximum price), so a
//! persistent request relaunches, and a one-time one closes, exactly when the clock says so.
//!
//! Choices where EC2 leaves room (also in the README): a request with a bad image fails
//! synchronously (`InvalidAMIID.NotFound`) instead of moving to `bad-parameters`; Spot capacity is
//! unlimited unless a pool gets a limit through the control API; `LaunchGroup` and
//! `AvailabilityZoneGroup` are recorded but not enforced; closed and cancelled requests stay
//! visible (AWS purges them after about four hours).

use std::collections::BTreeMap;
use std::rc::Rc;

use ec2_core::capacity_reservations::pools;
use ec2_core::catalog::instance_types::{self, InstanceTypeInfo};
use ec2_core::due::DueKind;
use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::changes::Before;
use ec2_core::instances::lifecycle::{self, settle};
use ec2_core::instances::{Instance, InstanceState, Settled, StateReason};
use ec2_core::network;
use ec2_core::regions;
use ec2_core::spot::market::{self, format_price, PRODUCTS};
use ec2_core::spot::schedule::{self, Step};
use ec2_core::spot::{Cause, Effect, InterruptionBehavior, SpotEvent, SpotRequest, SpotState, SpotType};
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::capacity_pools;
use super::common::{
    fingerprint, five_to_thousand, load_named, new_id, paginate, remember, replay, tag_specifications, tags_for,
    well_formed, TagsByType,
};
use super::launch::{self, LaunchPlan};
use super::state_changes::{self, Accounting};
use super::{dry_run_gate, filters, Ctx, Result};

const HOUR_MS: i64 = 3_600_000;

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

/// A context at another moment (the time a step was due).
fn at<'a>(ctx: &Ctx<'a>, now: UnixMillis) -> Ctx<'a> {
    Ctx { now, ..*ctx }
}

mod instance_actions;
mod interrupt;
mod price_history;
mod settle;

pub use instance_actions::{after_user_action, check_start, check_stop};
pub use interrupt::interrupt;
pub use price_history::{describe_spot_price_history, PricePoint};
use settle::{capacity_ok, itype, market_price, save};
pub use settle::{next_due, settle_due, settle_request};

// ---------------------------------------------------------------------------------------------
// Requests

/// Market options of a RunInstances request, checked.
#[derive(Debug, Clone)]
pub struct MarketOptions {
    pub max_price: Option<f64>,
    pub spot_type: SpotType,
    pub valid_until: Option<UnixMillis>,
    pub behavior: InterruptionBehavior,
}

fn parse_price(text: &str, param: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.001 => Ok(p),
        _ => {
            Err(invalid(format!("Value ({text}) for parameter {param} is invalid. The price must be at least 0.001."))
                .into())
        }
    }
}

fn parse_type(t: Option<&str>) -> Result<SpotType> {
    match t {
        None | Some("one-time") => Ok(SpotType::OneTime),
        Some("persistent") => Ok(SpotType::Persistent),
        Some(other) => {
            Err(invalid(format!("Value ({other}) for parameter type is invalid. Expected 'one-time' or 'persistent'."))
                .into())
        }
    }
}

fn parse_behavior(b: Option<&str>, hibernation: bool) -> Result<InterruptionBehavior> {
    let behavior = match b {
        None => None,
        Some(text) => Some(InterruptionBehavior::parse(text).ok_or_else(|| {
            invalid(format!(
                "Value ({text}) for parameter instanceInterruptionBehavior is invalid. Expected 'terminate', 'stop' or 'hibernate'."
            ))
        })?),
    };
    match (behavior, hibernation) {
        (None | Some(InterruptionBehavior::Hibernate), true) => Ok(InterruptionBehavior::Hibernate),
        (Some(other), true) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            format!("An instance launched with hibernation configured must use the 'hibernate' interruption behavior, not '{}'.", other.name()),
        )
        .into()),
        (b, false) => Ok(b.unwrap_or(InterruptionBehavior::Terminate)),
    }
}

/// The Spot options of a RunInstances request, or `None` for an On-Demand launch.
pub fn market_options(_ctx: &Ctx<'_>, req: &dto::RunInstancesRequest) -> Result<Option<MarketOptions>> {
    let Some(m) = &req.instance_market_options else { return Ok(None) };
    match m.market_type.as_deref() {
        None => return Ok(None),
        // An On-Demand launch into an interruptible Capacity Reservation (it must target one).
        Some("interruptible-capacity-reservation") => return Ok(None),
        Some("spot") => {}
        Some(other) => {
            return Err(Ec2Error::new(
                Code::NotImplemented,
                format!("ec2d does not implement RunInstances with MarketType '{other}' yet."),
            )
            .into())
        }
    }
    if req.disable_api_stop == Some(true) {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Stop protection (DisableApiStop) is not supported for Spot Instances.",
        )
        .into());
    }
    let o = m.spot_options.clone().unwrap_or_default();
    let max_price = o.max_price.as_deref().map(|p| parse_price(p, "MaxPrice")).transpose()?;
    let spot_type = parse_type(o.spot_instance_type.as_deref())?;
    let hibernation = req.hibernation_options.as_ref().and_then(|h| h.configured).unwrap_or(false);
    let behavior = parse_behavior(o.instance_interruption_behavior.as_deref(), hibernation)?;
    if spot_type == SpotType::Persistent && behavior == InterruptionBehavior::Terminate {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Persistent Spot Instance requests are only supported when the instance interruption behavior is 'stop' or 'hibernate'.",
        )
        .into());
    }
    if spot_type == SpotType::OneTime && behavior != InterruptionBehavior::Terminate {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The 'stop' and 'hibernate' interruption behaviors need a persistent Spot Instance request.",
        )
        .into());
    }
    if o.valid_until.is_some() && spot_type == SpotType::OneTime {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "ValidUntil is supported only for persistent Spot Instance requests.",
        )
        .into());
    }
    Ok(Some(MarketOptions { max_price, spot_type, valid_until: o.valid_until, behavior }))
}

fn product_of(plan: &LaunchPlan) -> &'static str {
    match ec2_core::catalog::images::image(&plan.image_id).and_then(|i| i.platform) {
        Some("windows") => "Windows",
        _ => "Linux/UNIX",
    }
}

#[allow(clippy::too_many_arguments)]
fn new_request(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &LaunchPlan,
    spot_type: SpotType,
    max_price: Option<f64>,
    valid_from: Option<UnixMillis>,
    valid_until: Option<UnixMillis>,
    behavior: InterruptionBehavior,
    tags: BTreeMap<String, String>,
) -> Result<SpotRequest> {
    let t = itype(&plan.instance_type)?;
    let product = product_of(plan).to_string();
    let on_demand = market::product_price(t.on_demand_usd_per_hour, t, &product);
    let mut r = SpotRequest {
        id: new_id(ctx, tx, IdKind::SpotInstanceRequest)?,
        spot_type,
        state: SpotState::Open,
        status_code: String::new(),
        status_time: ctx.now,
        max_price: max_price.unwrap_or(on_demand),
        instance_type: plan.instance_type.clone(),
        product_description: product,
        instance_id: None,
        launched_zone: None,
        create_time: ctx.now,
        valid_from,
        valid_until: valid_until.unwrap_or(ctx.now.plus_seconds(7 * 86_400)),
        interruption_behavior: behavior,
        launch_group: None,
        availability_zone_group: None,
        tags,
        launch_plan: plan.clone(),
        zone: plan.zone.clone(),
        pending: None,
        interruption: None,
        stopped_by_interruption: false,
        price_checked_until: ctx.now,
        counted_in: None,
    };
    r.submitted(ctx.now, ctx.spot_durations);
    Ok(r)
}

/// RunInstances with Spot market options: one request per instance, each fulfilled at once, or a
/// synchronous error when the price or the capacity does not allow the launch.
pub fn run_spot(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &LaunchPlan,
    count: usize,
    reservation_id: &str,
    options: &MarketOptions,
    specs: &TagsByType,
) -> Result<Vec<Instance>> {
    let tags: BTreeMap<String, String> = tags_for(specs, "spot-instances-request").into_iter().collect();
    let mut requests = Vec::with_capacity(count);
    for _ in 0..count {
        let r = new_request(
            ctx,
            tx,
            plan,
            options.spot_type,
            options.max_price,
            None,
            options.valid_until,
            options.behavior,
            tags.clone(),
        )?;
        let price = market_price(ctx, &r, ctx.now)?;
        if r.max_price < price {
            return Err(Ec2Error::new(
                Code::SpotMaxPriceTooLow,
                format!(
                    "Your Spot request price of {} is lower than the minimum required Spot request fulfillment price of {}.",
                    format_price(r.max_price),
                    format_price(price)
                ),
            )
            .into());
        }
        requests.push(r);
    }
    let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
    for r in requests.iter_mut() {
        save(ctx.ids.seed(), tx, ctx.scope.key(), r)?;
    }
    for r in &requests {
        if !capacity_ok(tx, &plan.zone, &plan.instance_type, r)? {
            return Err(Ec2Error::new(
                Code::InsufficientInstanceCapacity,
                "There is no Spot capacity available that matches your request.",
            )
            .into());
        }
    }
    let instances = launch::launch(ctx, tx, plan, count, reservation_id, Some(&ids))?;
    for (r, inst) in requests.iter_mut().zip(&instances) {
        r.fulfilled(ctx.now, inst.id.to_string(), inst.availability_zone.to_string());
        save(ctx.ids.seed(), tx, ctx.scope.key(), r)?;
    }
    Ok(instances)
}

/// RequestSpotInstances' launch specification as a RunInstances request, to check and plan it
/// the same way.
fn as_run_request(req: &dto::RequestSpotInstancesRequest) -> dto::RunInstancesRequest {
    let spec = req.launch_specification.clone().unwrap_or_default();
    dto::RunInstancesRequest {
        image_id: spec.image_id,
        instance_type: spec.instance_type,
        key_name: spec.key_name,
        subnet_id: spec.subnet_id,
        security_group_ids: spec.security_group_ids,
        security_groups: spec.security_groups,
        block_device_mappings: spec.block_device_mappings,
        ebs_optimized: spec.ebs_optimized,
        monitoring: spec.monitoring,
        network_interfaces: spec.network_interfaces,
        placement: spec.placement.map(|p| dto::Placement {
            availability_zone: p.availability_zone,
            availability_zone_id: p.availability_zone_id,
            group_name: p.group_name,
            tenancy: p.tenancy,
            ..Default::default()
        }),
        min_count: Some(1),
        max_count: Some(1),
        ..Default::default()
    }
}

pub fn request_spot_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RequestSpotInstancesRequest,
) -> Result<dto::RequestSpotInstancesResult> {
    let count = req.instance_count.unwrap_or(1);
    if count < 1 {
        return Err(invalid(format!(
            "Value ({count}) for parameter instanceCount is invalid. Expected a positive integer."
        ))
        .into());
    }
    if count > 3000 {
        return Err(Ec2Error::new(
            Code::RequestResourceCountExceeded,
            "A Spot request can ask for at most 3000 instances.",
        )
        .into());
    }
    let spot_type = parse_type(req.r#type.as_deref())?;
    let behavior = parse_behavior(req.instance_interruption_behavior.as_deref(), false)?;
    if behavior != InterruptionBehavior::Terminate && (spot_type == SpotType::OneTime || req.launch_group.is_some()) {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The 'stop' and 'hibernate' interruption behaviors need a persistent Spot Instance request without a launch group.",
        )
        .into());
    }
    let max_price = req.spot_price.as_deref().map(|p| parse_price(p, "spotPrice")).transpose()?;
    if let Some(from) = req.valid_from {
        if from <= ctx.now {
            return Err(invalid("Value for parameter validFrom is invalid. It must be in the future.").into());
        }
    }
    if let Some(until) = req.valid_until {
        if until <= ctx.now || req.valid_from.is_some_and(|f| until <= f) {
            return Err(invalid(
                "Value for parameter validUntil is invalid. It must be in the future and after validFrom.",
            )
            .into());
        }
    }
    if req.launch_specification.is_none() {
        return Err(Ec2Error::missing_parameter("LaunchSpecification").into());
    }
    let specs = tag_specifications(&req.tag_specifications, &["spot-instances-request"])?;
    let mut plan = launch::plan(ctx, &as_run_request(req), 1, &Vec::new())?;
    dry_run_gate(ctx, req.dry_run)?;
    launch::resolve_network(ctx, tx, &as_run_request(req), &mut plan)?;
    let fp = fingerprint(&dto::RequestSpotInstancesRequest { client_token: None, dry_run: None, ..req.clone() });
    let token_key = req.client_token.as_ref().map(|t| format!("RequestSpotInstances/{t}"));
    // The token's resources: the requests.
    if let Some(ids) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        let requests = load(ctx, tx, &ids)?;
        return Ok(dto::RequestSpotInstancesResult {
            spot_instance_requests: Some(requests.iter().map(|r| request_dto(r, &plan)).collect()),
        });
    }
    launch::check_image(ctx, tx, &plan)?;
    let tags: BTreeMap<String, String> = tags_for(&specs, "spot-instances-request").into_iter().collect();
    let mut out = Vec::new();
    for _ in 0..count {
        let mut r =
            new_request(ctx, tx, &plan, spot_type, max_price, req.valid_from, req.valid_until, behavior, tags.clone())?;
        r.launch_group = req.launch_group.clone();
        r.availability_zone_group = req.availability_zone_group.clone();
        save(ctx.ids.seed(), tx, ctx.scope.key(), &mut r)?;
        out.push(r);
    }
    remember(ctx, tx, token_key, fp, out.iter().map(|r| r.id.clone()).collect())?;
    Ok(dto::RequestSpotInstancesResult {
        spot_instance_requests: Some(out.iter().map(|r| request_dto(r, &plan)).collect()),
    })
}

fn load(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<Vec<SpotRequest>> {
    load_named(ctx, tx, IdKind::SpotInstanceRequest, ids)
}

fn plan_of(r: &SpotRequest) -> Result<LaunchPlan> {
    Ok(r.launch_plan.clone())
}

fn zone_id(zone: &str) -> Option<String> {
    regions::zone(zone).map(|(_, z)| z.id.to_string())
}

fn request_dto(r: &SpotRequest, plan: &LaunchPlan) -> dto::SpotInstanceRequest {
    dto::SpotInstanceRequest {
        spot_instance_request_id: Some(r.id.clone()),
        spot_price: Some(format_price(r.max_price)),
        r#type: Some(r.spot_type.name().into()),
        state: Some(r.state.name().into()),
        status: Some(dto::SpotInstanceStatus {
            code: Some(r.status_code.clone()),
            message: Some(ec2_core::spot::status_message(&r.status_code).into()),
            update_time: Some(r.status_time),
        }),
        launch_specification: Some(dto::LaunchSpecification {
            image_id: Some(plan.image_id.clone()),
            instance_type: Some(plan.instance_type.clone()),
            key_name: plan.key_name.clone(),
            placement: Some(dto::SpotPlacement {
                availability_zone: Some(plan.zone.clone()),
                tenancy: Some(plan.tenancy.clone()),
                ..Default::default()
            }),
            subnet_id: Some(plan.subnet_id.clone()),
            security_groups: Some(
                plan.groups
                    .iter()
                    .map(|g| dto::GroupIdentifier {
                        group_id: Some(g.id.to_string()),
                        group_name: Some(g.name.to_string()),
                    })
                    .collect(),
            ),
            monitoring: Some(dto::RunInstancesMonitoringEnabled { enabled: Some(plan.monitoring) }),
            ebs_optimized: plan.ebs_optimized,
            ..Default::default()
        }),
        instance_id: r.instance_id.clone(),
        create_time: Some(r.create_time),
        valid_from: r.valid_from,
        valid_until: Some(r.valid_until),
        launch_group: r.launch_group.clone(),
        availability_zone_group: r.availability_zone_group.clone(),
        launched_availability_zone: r.launched_zone.clone(),
        launched_availability_zone_id: r.launched_zone.as_deref().and_then(zone_id),
        product_description: Some(r.product_description.clone()),
        tags: Some(r.tags.iter().map(|(k, v)| dto::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()),
        instance_interruption_behavior: Some(r.interruption_behavior.name().into()),
        ..Default::default()
    }
}

/// A request with its plan, for filters.
pub struct RequestRow {
    pub r: SpotRequest,
    pub plan: LaunchPlan,
}

static SPOT_FILTERS: FilterTable<RequestRow> = FilterTable {
    entries: &[
        ("availability-zone-group", |x| x.r.availability_zone_group.iter().cloned().collect()),
        ("create-time", |x| vec![x.r.create_time.to_iso8601()]),
        ("fault-code", |_| vec![]),
        ("fault-message", |_| vec![]),
        ("instance-id", |x| x.r.instance_id.iter().cloned().collect()),
        ("launch-group", |x| x.r.launch_group.iter().cloned().collect()),
        ("launch.block-device-mapping.delete-on-termination", |x| {
            x.plan.block_devices.iter().map(|b| b.delete_on_termination.to_string()).collect()
        }),
        ("launch.block-device-mapping.device-name", |x| {
            x.plan.block_devices.iter().map(|b| b.device_name.clone()).collect()
        }),
        ("launch.block-device-mapping.snapshot-id", |_| vec![]),
        ("launch.block-device-mapping.volume-size", |x| {
            x.plan.block_devices.iter().filter_map(|b| b.size_gb).map(|s| s.to_string()).collect()
        }),
        ("launch.block-device-mapping.volume-type", |_| vec![]),
        ("launch.group-id", |x| x.plan.groups.iter().map(|g| g.id.to_string()).collect()),
        ("launch.group-name", |x| x.plan.groups.iter().map(|g| g.name.to_string()).collect()),
        ("launch.image-id", |x| vec![x.plan.image_id.clone()]),
        ("launch.instance-type", |x| vec![x.plan.instance_type.clone()]),
        ("launch.kernel-id", |_| vec![]),
        ("launch.key-name", |x| x.plan.key_name.iter().cloned().collect()),
        ("launch.monitoring-enabled", |x| vec![x.plan.monitoring.to_string()]),
        ("launch.ramdisk-id", |_| vec![]),
        ("launched-availability-zone", |x| x.r.launched_zone.iter().cloned().collect()),
        ("launched-availability-zone-id", |x| x.r.launched_zone.as_deref().and_then(zone_id).into_iter().collect()),
        ("network-interface.addresses.primary", |_| vec![]),
        ("network-interface.delete-on-termination", |_| vec![]),
        ("network-interface.description", |_| vec![]),
        ("network-interface.device-index", |_| vec![]),
        ("network-interface.group-id", |_| vec![]),
        ("network-interface.network-interface-id", |_| vec![]),
        ("network-interface.private-ip-address", |_| vec![]),
        ("network-interface.subnet-id", |_| vec![]),
        ("product-description", |x| vec![x.r.product_description.clone()]),
        ("spot-instance-request-id", |x| vec![x.r.id.clone()]),
        ("spot-price", |x| vec![format_price(x.r.max_price)]),
        ("state", |x| vec![x.r.state.name().to_string()]),
        ("status-code", |x| vec![x.r.status_code.clone()]),
        ("status-message", |x| vec![ec2_core::spot::status_message(&x.r.status_code).to_string()]),
        ("type", |x| vec![x.r.spot_type.name().to_string()]),
        ("valid-from", |x| x.r.valid_from.map(|t| t.to_iso8601()).into_iter().collect()),
        ("valid-until", |x| vec![x.r.valid_until.to_iso8601()]),
    ],
    tags: Some(|x| &x.r.tags),
};

pub fn describe_spot_instance_requests(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSpotInstanceRequestsRequest,
) -> Result<dto::DescribeSpotInstanceRequestsResult> {
    let ids = well_formed(IdKind::SpotInstanceRequest, req.spot_instance_request_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&SPOT_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    let requests = if ids.is_empty() { tx.scan::<SpotRequest>(ctx.scope.key())? } else { load(ctx, tx, &ids)? };
    let mut rows = Vec::with_capacity(requests.len());
    for r in requests {
        let row = RequestRow { plan: plan_of(&r)?, r };
        if SPOT_FILTERS.matches(&row, &filters) {
            rows.push(row);
        }
    }
    let key = |x: &RequestRow| format!("{:016}/{}", x.r.create_time.0, x.r.id);
    rows.sort_by_key(key);
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSpotInstanceRequestsResult {
        spot_instance_requests: Some(page.iter().map(|x| request_dto(&x.r, &x.plan)).collect()),
        next_token: next,
    })
}

pub fn cancel_spot_instance_requests(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CancelSpotInstanceRequestsRequest,
) -> Result<dto::CancelSpotInstanceRequestsResult> {
    let ids = well_formed(IdKind::SpotInstanceRequest, req.spot_instance_request_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut requests = load(ctx, tx, &ids)?;
    for r in requests.iter_mut() {
        r.cancel(ctx.now, ctx.spot_durations);
        save(ctx.ids.seed(), tx, ctx.scope.key(), r)?;
    }
    Ok(dto::CancelSpotInstanceRequestsResult {
        cancelled_spot_instance_requests: Some(
            requests
                .iter()
                .map(|r| dto::CancelledSpotInstanceRequest {
                    spot_instance_request_id: Some(r.id.clone()),
                    state: Some(r.state.name().into()),
                })
                .collect(),
        ),
    })
}

//! Spot Fleet: RequestSpotFleet, DescribeSpotFleetRequests, DescribeSpotFleetInstances,
//! DescribeSpotFleetRequestHistory, ModifySpotFleetRequest and CancelSpotFleetRequests, on the
//! engine of `fleets.rs` (pools, allocation, launching, settling), stored as `spot_fleet_request`.

use std::collections::BTreeMap;

use ec2_core::fleets::{Flavor, FleetState, FleetType, Lifecycle, OnDemandStrategy, Override, SpotStrategy, Target};
use ec2_core::ids::IdKind;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    fingerprint, five_to_thousand, new_id, paginate, remember, replay, tag_set, tag_specifications, tags_for,
    well_formed,
};
use super::fleets::{self, ConfigIn};
use super::{dry_run_gate, Ctx, Result};

fn bad_config(message: impl Into<String>) -> Ec2Error {
    Ec2Error::new(Code::InvalidSpotFleetRequestConfig, message)
}

/// A launch specification as a RunInstances request, to plan it the way RunInstances does.
fn run_request_of(s: &dto::SpotFleetLaunchSpecification) -> (dto::RunInstancesRequest, Vec<(String, String)>) {
    let tags: Vec<(String, String)> = s
        .tag_specifications
        .iter()
        .flatten()
        .filter(|t| t.resource_type.as_deref().is_none_or(|r| r == "instance"))
        .flat_map(|t| t.tags.iter().flatten())
        .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
        .collect();
    let req = dto::RunInstancesRequest {
        image_id: s.image_id.clone(),
        instance_type: s.instance_type.clone(),
        key_name: s.key_name.clone(),
        subnet_id: s.subnet_id.clone(),
        security_group_ids: s
            .security_groups
            .as_ref()
            .map(|g| g.iter().filter_map(|g| g.group_id.clone()).collect::<Vec<_>>())
            .filter(|g| !g.is_empty()),
        block_device_mappings: s.block_device_mappings.clone(),
        ebs_optimized: s.ebs_optimized,
        monitoring: s.monitoring.as_ref().map(|m| dto::RunInstancesMonitoringEnabled { enabled: m.enabled }),
        network_interfaces: s.network_interfaces.clone(),
        user_data: s.user_data.clone(),
        iam_instance_profile: s.iam_instance_profile.clone(),
        placement: s.placement.as_ref().map(|p| dto::Placement {
            availability_zone: p.availability_zone.clone(),
            availability_zone_id: p.availability_zone_id.clone(),
            group_name: p.group_name.clone(),
            tenancy: p.tenancy.clone(),
            ..Default::default()
        }),
        min_count: Some(1),
        max_count: Some(1),
        ..Default::default()
    };
    (req, tags)
}

fn template_configs(c: &Option<Vec<dto::LaunchTemplateConfig>>) -> Vec<ConfigIn> {
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
                overrides: c
                    .overrides
                    .iter()
                    .flatten()
                    .map(|o| Override {
                        instance_type: o.instance_type.clone(),
                        max_price: o.spot_price.clone(),
                        subnet_id: o.subnet_id.clone(),
                        availability_zone: o.availability_zone.clone(),
                        weighted_capacity: o.weighted_capacity,
                        priority: o.priority,
                        image_id: None,
                    })
                    .collect(),
            }
        })
        .collect()
}

pub fn request_spot_fleet(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RequestSpotFleetRequest,
) -> Result<dto::RequestSpotFleetResponse> {
    let c =
        req.spot_fleet_request_config.clone().ok_or_else(|| Ec2Error::missing_parameter("SpotFleetRequestConfig"))?;
    if c.iam_fleet_role.as_deref().is_none_or(str::is_empty) {
        return Err(Ec2Error::missing_parameter("SpotFleetRequestConfig.IamFleetRole").into());
    }
    let total =
        c.target_capacity.ok_or_else(|| Ec2Error::missing_parameter("SpotFleetRequestConfig.TargetCapacity"))?;
    let fleet_type = match c.r#type.as_deref() {
        None | Some("maintain") => FleetType::Maintain,
        Some("request") => FleetType::Request,
        Some(other) => {
            return Err(bad_config(format!(
                "Value ({other}) for parameter Type is invalid. Expected 'request' or 'maintain'."
            ))
            .into())
        }
    };
    let unit_type = c
        .target_capacity_unit_type
        .as_deref()
        .map(|u| {
            ec2_core::fleets::UnitType::parse(u)
                .ok_or_else(|| bad_config(format!("Value ({u}) for parameter TargetCapacityUnitType is invalid.")))
        })
        .transpose()?;
    let on_demand = c.on_demand_target_capacity.unwrap_or(0);
    if !(0..=1_000_000).contains(&total) || !(0..=total).contains(&on_demand) {
        return Err(bad_config(format!(
            "The target capacity ({total}) must be positive and at least the On-Demand target capacity ({on_demand})."
        ))
        .into());
    }
    let target =
        Target { total: total as u32, on_demand: on_demand as u32, spot: 0, default_type: Lifecycle::Spot, unit_type };
    let requirements = c.launch_specifications.iter().flatten().any(|s| s.instance_requirements.is_some())
        || c.launch_template_configs
            .iter()
            .flatten()
            .flat_map(|t| t.overrides.iter().flatten())
            .any(|o| o.instance_requirements.is_some());
    for (given, name) in [
        (requirements, "InstanceRequirements"),
        (c.spot_max_total_price.is_some() || c.on_demand_max_total_price.is_some(), "a maximum total price"),
        (c.load_balancers_config.is_some(), "LoadBalancersConfig"),
    ] {
        if given {
            return Err(fleets::not_implemented("RequestSpotFleet", name).into());
        }
    }
    let specs_given = c.launch_specifications.as_ref().is_some_and(|l| !l.is_empty());
    let templates_given = c.launch_template_configs.as_ref().is_some_and(|l| !l.is_empty());
    let configs: Vec<ConfigIn> = match (specs_given, templates_given) {
        (true, true) => {
            return Err(bad_config("LaunchSpecifications and LaunchTemplateConfigs cannot both be given.").into())
        }
        (false, false) => {
            return Err(bad_config("Either LaunchSpecifications or LaunchTemplateConfigs must be given.").into())
        }
        (true, false) => c
            .launch_specifications
            .iter()
            .flatten()
            .map(|s| {
                let (request, _) = run_request_of(s);
                ConfigIn::Specification {
                    request: Box::new(request),
                    weight: s.weighted_capacity,
                    max_price: s.spot_price.clone(),
                }
            })
            .collect(),
        (false, true) => template_configs(&c.launch_template_configs),
    };
    fleets::check_configs(&configs)?;
    let spot_strategy = match c.allocation_strategy.as_deref() {
        None => SpotStrategy::LowestPrice,
        Some(s) => SpotStrategy::parse(s, Flavor::SpotFleet)
            .ok_or_else(|| bad_config(format!("Value ({s}) for parameter AllocationStrategy is invalid.")))?,
    };
    let on_demand_strategy = match c.on_demand_allocation_strategy.as_deref() {
        None => OnDemandStrategy::LowestPrice,
        Some(s) => OnDemandStrategy::parse(s, Flavor::SpotFleet)
            .ok_or_else(|| bad_config(format!("Value ({s}) for parameter OnDemandAllocationStrategy is invalid.")))?,
    };
    let spot_price = c.spot_price.as_deref().map(|p| fleets::parse_price(p, "SpotPrice")).transpose()?;
    let behavior = fleets::behavior_of(c.instance_interruption_behavior.as_deref())?;
    if let Some(u) = c.valid_until {
        if u <= ctx.now || c.valid_from.is_some_and(|f| u <= f) {
            return Err(bad_config("ValidUntil must be in the future and after ValidFrom.").into());
        }
    }
    let specs = tag_specifications(&c.tag_specifications, &["spot-fleet-request"])?;
    dry_run_gate(ctx, req.dry_run)?;

    let fp = fingerprint(&dto::SpotFleetRequestConfigData { client_token: None, ..c.clone() });
    let token_key = c.client_token.as_ref().map(|t| format!("RequestSpotFleet/{t}"));
    if let Some(ids) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        return Ok(dto::RequestSpotFleetResponse { spot_fleet_request_id: ids.first().cloned() });
    }
    // Instance tags of each launch specification go on that specification's instances.
    let mut pools = Vec::new();
    for (i, cfg) in configs.iter().enumerate() {
        let tags = match (cfg, c.launch_specifications.as_ref().and_then(|l| l.get(i))) {
            (ConfigIn::Specification { .. }, Some(s)) => run_request_of(s).1,
            _ => Vec::new(),
        };
        let mut p = fleets::pools_of(ctx, tx, std::slice::from_ref(cfg), unit_type, &tags)?;
        for pool in p.iter_mut() {
            pool.config = i;
        }
        pools.extend(p);
    }
    let id = new_id(ctx, tx, IdKind::SpotFleetRequest)?;
    let mut f =
        ec2_core::fleets::Fleet::new(id, Flavor::SpotFleet, fleet_type, ctx.now, c.client_token.clone(), target, pools);
    f.spot_strategy = spot_strategy;
    f.on_demand_strategy = on_demand_strategy;
    f.spot_max_price = spot_price;
    f.interruption_behavior = behavior;
    f.pools_to_use = c.instance_pools_to_use_count.filter(|n| *n >= 1).map(|n| n as u32);
    f.valid_from = c.valid_from;
    f.valid_until = c.valid_until;
    f.replace_unhealthy = c.replace_unhealthy_instances.unwrap_or(false);
    f.terminate_with_expiration = c.terminate_instances_with_expiration.unwrap_or(false);
    f.excess_policy = c.excess_capacity_termination_policy.clone();
    f.iam_fleet_role = c.iam_fleet_role.clone();
    f.context = c.context.clone();
    f.launch_specifications = specs_given;
    super::tags::set_tags(ctx, tx, &f.id, "spot-fleet-request", tags_for(&specs, "spot-fleet-request"))?;
    let (f, _) = fleets::create(ctx, tx, f)?;
    remember(ctx, tx, token_key, fp, vec![f.id.clone()])?;
    Ok(dto::RequestSpotFleetResponse { spot_fleet_request_id: Some(f.id) })
}

fn config_dto(f: &ec2_core::fleets::Fleet) -> dto::SpotFleetRequestConfigData {
    let specs = f.launch_specifications.then(|| {
        f.pools
            .iter()
            .map(|p| dto::SpotFleetLaunchSpecification {
                image_id: Some(p.plan.image_id.clone()),
                instance_type: Some(p.plan.instance_type.clone()),
                key_name: p.plan.key_name.clone(),
                subnet_id: Some(p.plan.subnet_id.clone()),
                placement: Some(dto::SpotPlacement {
                    availability_zone: Some(p.plan.zone.clone()),
                    tenancy: Some(p.plan.tenancy.clone()),
                    ..Default::default()
                }),
                security_groups: Some(
                    p.plan
                        .groups
                        .iter()
                        .map(|g| dto::GroupIdentifier {
                            group_id: Some(g.id.to_string()),
                            group_name: Some(g.name.to_string()),
                        })
                        .collect(),
                ),
                weighted_capacity: p.shown.as_ref().and_then(|o| o.weighted_capacity),
                spot_price: p.shown.as_ref().and_then(|o| o.max_price.clone()),
                ..Default::default()
            })
            .collect()
    });
    let templates = (!f.launch_specifications).then(|| {
        let mut out: Vec<dto::LaunchTemplateConfig> = Vec::new();
        let mut last = None;
        for (i, p) in f.pools.iter().enumerate() {
            let tao = fleets::template_and_overrides(f, i);
            if last != Some(p.config) {
                out.push(dto::LaunchTemplateConfig {
                    launch_template_specification: tao.launch_template_specification,
                    overrides: Some(Vec::new()),
                });
                last = Some(p.config);
            }
            if let (Some(o), Some(c)) = (tao.overrides, out.last_mut()) {
                c.overrides.get_or_insert_with(Vec::new).push(dto::LaunchTemplateOverrides {
                    instance_type: o.instance_type,
                    spot_price: o.max_price,
                    subnet_id: o.subnet_id,
                    availability_zone: o.availability_zone,
                    weighted_capacity: o.weighted_capacity,
                    priority: o.priority,
                    ..Default::default()
                });
            }
        }
        out
    });
    dto::SpotFleetRequestConfigData {
        allocation_strategy: Some(f.spot_strategy.name(Flavor::SpotFleet).into()),
        on_demand_allocation_strategy: Some(f.on_demand_strategy.name(Flavor::SpotFleet).into()),
        client_token: f.client_token.clone(),
        excess_capacity_termination_policy: f.excess_policy.clone(),
        fulfilled_capacity: Some(f.fulfilled(None)),
        on_demand_fulfilled_capacity: Some(f.fulfilled(Some(Lifecycle::OnDemand))),
        iam_fleet_role: f.iam_fleet_role.clone(),
        launch_specifications: specs,
        launch_template_configs: templates,
        spot_price: f.spot_max_price.map(ec2_core::spot::market::format_price),
        target_capacity: Some(i64::from(f.target.total)),
        on_demand_target_capacity: Some(i64::from(f.target.on_demand)),
        terminate_instances_with_expiration: Some(f.terminate_with_expiration),
        r#type: Some(f.fleet_type.name().into()),
        valid_from: f.valid_from,
        valid_until: f.valid_until,
        replace_unhealthy_instances: Some(f.replace_unhealthy),
        instance_interruption_behavior: Some(f.interruption_behavior.clone()),
        instance_pools_to_use_count: f.pools_to_use.map(i64::from),
        context: f.context.clone(),
        target_capacity_unit_type: f.target.unit_type.map(|u| u.name().into()),
        ..Default::default()
    }
}

fn request_dto(f: &ec2_core::fleets::Fleet, tags: &BTreeMap<String, String>) -> dto::SpotFleetRequestConfig {
    dto::SpotFleetRequestConfig {
        activity_status: Some(f.activity().into()),
        create_time: Some(f.create_time),
        spot_fleet_request_config: Some(config_dto(f)),
        spot_fleet_request_id: Some(f.id.clone()),
        spot_fleet_request_state: Some(f.state.name(Flavor::SpotFleet).into()),
        tags: tag_set(tags),
    }
}

pub fn describe_spot_fleet_requests(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSpotFleetRequestsRequest,
) -> Result<dto::DescribeSpotFleetRequestsResponse> {
    let ids = well_formed(IdKind::SpotFleetRequest, req.spot_fleet_request_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, req.dry_run)?;
    let all = if ids.is_empty() {
        fleets::scan(ctx, tx, Flavor::SpotFleet)?
    } else {
        fleets::load_many(ctx, tx, Flavor::SpotFleet, &ids)?
    };
    let mut rows = Vec::new();
    for f in all {
        let tags = fleets::tags_of(ctx, tx, &f.id)?;
        rows.push((f, tags));
    }
    let key = |x: &(ec2_core::fleets::Fleet, BTreeMap<String, String>)| format!("{:016}/{}", x.0.create_time.0, x.0.id);
    rows.sort_by_key(key);
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSpotFleetRequestsResponse {
        next_token: next,
        spot_fleet_request_configs: Some(page.iter().map(|(f, t)| request_dto(f, t)).collect()),
    })
}

fn one(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<ec2_core::fleets::Fleet> {
    Ok(fleets::load_many(ctx, tx, Flavor::SpotFleet, &[id.to_string()])?.remove(0))
}

fn named(id: &Option<String>) -> Result<String> {
    let id = id.clone().ok_or_else(|| Ec2Error::missing_parameter("SpotFleetRequestId"))?;
    well_formed(IdKind::SpotFleetRequest, std::slice::from_ref(&id))?;
    Ok(id)
}

pub fn describe_spot_fleet_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSpotFleetInstancesRequest,
) -> Result<dto::DescribeSpotFleetInstancesResponse> {
    let id = named(&req.spot_fleet_request_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    let f = one(ctx, tx, &id)?;
    let rows = fleets::active_instances(ctx, tx, &f)?;
    let key = |x: &dto::ActiveInstance| x.instance_id.clone().unwrap_or_default();
    let (page, next) = paginate(rows, key, req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSpotFleetInstancesResponse {
        active_instances: Some(page),
        next_token: next,
        spot_fleet_request_id: Some(id),
    })
}

pub fn describe_spot_fleet_request_history(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSpotFleetRequestHistoryRequest,
) -> Result<dto::DescribeSpotFleetRequestHistoryResponse> {
    let id = named(&req.spot_fleet_request_id)?;
    let start = req.start_time.ok_or_else(|| Ec2Error::missing_parameter("StartTime"))?;
    let kind = fleets::event_kind(req.event_type.as_deref(), Flavor::SpotFleet)?;
    dry_run_gate(ctx, req.dry_run)?;
    let f = one(ctx, tx, &id)?;
    let (page, next) = fleets::history_page(&f, start, kind, req.max_results, req.next_token.as_deref())?;
    Ok(dto::DescribeSpotFleetRequestHistoryResponse {
        history_records: Some(
            page.into_iter()
                .map(|(t, ty, info)| dto::HistoryRecord {
                    event_information: Some(info),
                    event_type: Some(ty),
                    timestamp: Some(t),
                })
                .collect(),
        ),
        last_evaluated_time: Some(ctx.now),
        next_token: next,
        spot_fleet_request_id: Some(id),
        start_time: Some(start),
    })
}

pub fn modify_spot_fleet_request(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifySpotFleetRequestRequest,
) -> Result<dto::ModifySpotFleetRequestResponse> {
    let id = named(&req.spot_fleet_request_id)?;
    if req.launch_template_configs.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement ModifySpotFleetRequest with LaunchTemplateConfigs yet.",
        )
        .into());
    }
    let policy = match req.excess_capacity_termination_policy.as_deref() {
        None => None,
        Some("noTermination") => Some("no-termination".to_string()),
        Some("default") => Some("termination".to_string()),
        Some(p) => {
            return Err(Ec2Error::invalid_parameter_value(format!(
                "Value ({p}) for parameter ExcessCapacityTerminationPolicy is invalid. Expected 'noTermination' or 'default'."
            ))
            .into())
        }
    };
    dry_run_gate(ctx, None)?;
    let mut f = one(ctx, tx, &id)?;
    if f.fleet_type != FleetType::Maintain || !f.state.launches() {
        return Err(Ec2Error::new(
            Code::IncorrectState,
            format!("The Spot Fleet request {id} cannot be modified: only active requests of type maintain can be modified."),
        )
        .into());
    }
    let mut target = f.target.clone();
    if let Some(t) = req.target_capacity {
        if !(0..=1_000_000).contains(&t) {
            return Err(Ec2Error::invalid_parameter_value(format!(
                "Value ({t}) for parameter TargetCapacity is invalid."
            ))
            .into());
        }
        target.total = t as u32;
    }
    if let Some(od) = req.on_demand_target_capacity {
        target.on_demand = od.max(0) as u32;
    }
    if target.split().is_none() {
        return Err(bad_config("The On-Demand target capacity cannot exceed the target capacity.").into());
    }
    fleets::retarget(ctx, tx, &mut f, target, policy)?;
    fleets::save(ctx, tx, &f)?;
    Ok(dto::ModifySpotFleetRequestResponse { r#return: Some(true) })
}

pub fn cancel_spot_fleet_requests(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CancelSpotFleetRequestsRequest,
) -> Result<dto::CancelSpotFleetRequestsResponse> {
    let ids = req.spot_fleet_request_ids.clone().unwrap_or_default();
    if ids.is_empty() {
        return Err(Ec2Error::missing_parameter("SpotFleetRequestId").into());
    }
    let terminate = req.terminate_instances.ok_or_else(|| Ec2Error::missing_parameter("TerminateInstances"))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    let mut fail = |id: &str, code: &str, message: String| {
        failed.push(dto::CancelSpotFleetRequestsErrorItem {
            error: Some(dto::CancelSpotFleetRequestsError { code: Some(code.into()), message: Some(message) }),
            spot_fleet_request_id: Some(id.to_string()),
        })
    };
    for id in &ids {
        if !IdKind::SpotFleetRequest.is_well_formed(id) {
            fail(id, "fleetRequestIdMalformed", format!("The Spot Fleet request ID '{id}' is malformed"));
            continue;
        }
        let Some(mut f) = fleets::get(ctx, tx, Flavor::SpotFleet, id)? else {
            fail(id, "fleetRequestIdDoesNotExist", format!("The Spot Fleet request ID '{id}' does not exist"));
            continue;
        };
        if f.state.is_deleted() {
            fail(id, "fleetRequestNotInCancellableState", format!("The Spot Fleet request {id} is already cancelled."));
            continue;
        }
        fleets::settle(ctx, tx, &mut f)?;
        let previous = f.delete(ctx.now, terminate);
        if terminate {
            let live: Vec<String> = f.instances.iter().filter(|i| i.live).map(|i| i.id.clone()).collect();
            fleets::terminate(ctx, tx, &live)?;
        }
        f.next_check = (f.state == FleetState::DeletedTerminating).then_some(ctx.now);
        fleets::save(ctx, tx, &f)?;
        ok.push(dto::CancelSpotFleetRequestsSuccessItem {
            current_spot_fleet_request_state: Some(f.state.name(Flavor::SpotFleet).into()),
            previous_spot_fleet_request_state: Some(previous.name(Flavor::SpotFleet).into()),
            spot_fleet_request_id: Some(id.clone()),
        });
    }
    Ok(dto::CancelSpotFleetRequestsResponse {
        successful_fleet_requests: Some(ok),
        unsuccessful_fleet_requests: Some(failed),
    })
}

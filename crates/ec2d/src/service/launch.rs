//! Launching instances, shared by RunInstances and Spot fulfilment.
//!
//! [`plan`] checks a RunInstances-shaped request and resolves everything a launch needs (zone,
//! subnet, groups, addresses, options) into a [`LaunchPlan`], which Spot requests store so they
//! can launch again later. [`check_image`] checks the image and its fit with the instance type
//! (after the dry-run gate, as existence checks are). [`launch`] draws the IDs and addresses and
//! creates the instances; the plan, the fit rules and the derivation of an instance are in
//! `ec2_core::launch`.

use ec2_core::catalog::images::{self, ImageInfo};
use ec2_core::catalog::instance_types::{self, InstanceTypeInfo};
use ec2_core::ids::IdKind;
use ec2_core::instances::model::{SecurityGroupRef, ShutdownBehavior};
use ec2_core::instances::Instance;
use ec2_core::network::{self, DefaultNetwork, DefaultSubnet};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{new_id, not_found, tags_for, well_formed, TagsByType};
use super::{instances, Ctx, Result};

pub use ec2_core::launch::{BlockDevice, LaunchPlan};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

fn not_implemented_parameter(param: &str) -> Ec2Error {
    Ec2Error::new(Code::NotImplemented, format!("ec2d does not implement RunInstances with {param} yet."))
}

/// Where a launch goes: the default subnet of one zone.
pub fn placement<'n>(
    ctx: &Ctx<'_>,
    net: &'n DefaultNetwork,
    req: &dto::RunInstancesRequest,
) -> Result<&'n DefaultSubnet> {
    let nic = req.network_interfaces.as_ref().and_then(|n| n.first());
    let nic_subnet = nic.and_then(|n| n.subnet_id.clone());
    if req.subnet_id.is_some() && nic_subnet.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Network interfaces and an instance-level subnet ID may not be specified on the same request",
        )
        .into());
    }
    let zone_name = req.placement.as_ref().and_then(|p| p.availability_zone.clone());
    let zone_id = req.placement.as_ref().and_then(|p| p.availability_zone_id.clone());
    let by_zone = match (&zone_name, &zone_id) {
        (Some(z), _) => {
            Some(net.subnet_in_zone(z).ok_or_else(|| invalid(format!("Invalid availability zone: [{z}]")))?)
        }
        (None, Some(id)) => Some(
            net.subnets
                .iter()
                .find(|s| s.zone.id == id.as_str())
                .ok_or_else(|| invalid(format!("Invalid availability zone ID: [{id}]")))?,
        ),
        (None, None) => None,
    };
    match req.subnet_id.clone().or(nic_subnet) {
        Some(id) => {
            well_formed(IdKind::Subnet, std::slice::from_ref(&id))?;
            let subnet = net.subnet(&id).ok_or_else(|| not_found(IdKind::Subnet, std::slice::from_ref(&id)))?;
            if let Some(z) = by_zone.filter(|z| z.id != subnet.id) {
                return Err(invalid(format!(
                    "Value ({}) for parameter availabilityZone is invalid. Subnet {} is in availability zone {}",
                    z.zone.name, subnet.id, subnet.zone.name
                ))
                .into());
            }
            Ok(subnet)
        }
        None => match by_zone {
            Some(s) => Ok(s),
            // ec2d places a launch without a zone or subnet in the region's first zone.
            None => net.subnets.first().ok_or_else(|| {
                invalid(format!("ec2d has no availability zones for region '{}'", ctx.scope.region)).into()
            }),
        },
    }
}

pub fn security_groups(net: &DefaultNetwork, req: &dto::RunInstancesRequest) -> Result<Vec<SecurityGroupRef>> {
    let nic_groups = req.network_interfaces.as_ref().and_then(|n| n.first()).and_then(|n| n.groups.clone());
    let ids: Vec<String> = req.security_group_ids.clone().or(nic_groups).unwrap_or_default();
    let names: Vec<String> = req.security_groups.clone().unwrap_or_default();
    let ids = well_formed(IdKind::SecurityGroup, &ids)?;
    let missing: Vec<String> = ids.iter().filter(|id| **id != net.security_group_id).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(IdKind::SecurityGroup, &missing).into());
    }
    if let Some(name) = names.iter().find(|n| n.as_str() != network::DEFAULT_GROUP_NAME) {
        return Err(Ec2Error::new(
            Code::InvalidGroupNotFound,
            format!("The security group '{name}' does not exist in default VPC '{}'", net.vpc_id),
        )
        .into());
    }
    Ok(vec![SecurityGroupRef { id: net.security_group_id.clone(), name: network::DEFAULT_GROUP_NAME.into() }])
}

/// Checks a RunInstances-shaped request (`max` instances) and resolves its launch plan.
pub fn plan(ctx: &Ctx<'_>, req: &dto::RunInstancesRequest, max: i64, specs: &TagsByType) -> Result<LaunchPlan> {
    if req.launch_template.is_some() {
        return Err(not_implemented_parameter("LaunchTemplate").into());
    }
    let image_id = req.image_id.clone().ok_or_else(|| Ec2Error::missing_parameter("ImageId"))?;
    well_formed(IdKind::Image, std::slice::from_ref(&image_id))?;
    let type_name = req.instance_type.clone().unwrap_or_else(|| "m1.small".into());
    let itype = instance_types::instance_type(&type_name)
        .ok_or_else(|| invalid(format!("Invalid value '{type_name}' for InstanceType.")))?;
    let shutdown = match req.instance_initiated_shutdown_behavior.as_deref() {
        None | Some("stop") => ShutdownBehavior::Stop,
        Some("terminate") => ShutdownBehavior::Terminate,
        Some(other) => {
            return Err(invalid(format!(
                "Value ({other}) for parameter instanceInitiatedShutdownBehavior is invalid. Expected 'stop' or 'terminate'."
            ))
            .into())
        }
    };
    if let Some(t) = req.client_token.as_deref().filter(|t| t.len() > 64 || !t.is_ascii()) {
        return Err(invalid(format!(
            "Value ({t}) for parameter clientToken is invalid. Expected at most 64 ASCII characters."
        ))
        .into());
    }
    let tenancy = req.placement.as_ref().and_then(|p| p.tenancy.clone()).unwrap_or_else(|| "default".into());
    if !matches!(tenancy.as_str(), "default" | "dedicated" | "host") {
        return Err(invalid(format!("Value ({tenancy}) for parameter tenancy is invalid.")).into());
    }
    let (capacity_preference, capacity_target) = super::capacity_reservations::launch_specification(req)?;
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let subnet = super::catalog::offered_subnet(ctx, &net, req, itype, placement(ctx, &net, req)?)?;
    let groups = security_groups(&net, req)?;
    let nic = req.network_interfaces.as_ref().and_then(|n| n.first());
    let fixed_ip = req.private_ip_address.clone().or_else(|| nic.and_then(|n| n.private_ip_address.clone()));
    if let Some(ip) = &fixed_ip {
        if !subnet.contains(ip) {
            return Err(invalid(format!("Address {ip} does not fall within the subnet's address range")).into());
        }
        if max > 1 {
            return Err(invalid("A private IP address can only be given when launching one instance.").into());
        }
    }
    let block_devices = req
        .block_device_mappings
        .iter()
        .flatten()
        .filter(|b| b.no_device.is_none())
        .filter_map(|b| {
            let ebs = b.ebs.as_ref()?;
            Some(BlockDevice {
                device_name: b.device_name.clone()?,
                size_gb: ebs.volume_size.map(|s| s as u32),
                delete_on_termination: ebs.delete_on_termination.unwrap_or(true),
            })
        })
        .collect();
    Ok(LaunchPlan {
        image_id,
        instance_type: itype.name.to_string(),
        key_name: req.key_name.clone(),
        zone: subnet.zone.name.to_string(),
        subnet_id: subnet.id.clone(),
        groups,
        tenancy,
        fixed_ip,
        associate_public_ip: nic.and_then(|n| n.associate_public_ip_address).unwrap_or(true),
        hibernation: req.hibernation_options.as_ref().and_then(|h| h.configured).unwrap_or(false),
        disable_api_stop: req.disable_api_stop.unwrap_or(false),
        disable_api_termination: req.disable_api_termination.unwrap_or(false),
        shutdown,
        ebs_optimized: req.ebs_optimized,
        monitoring: req.monitoring.as_ref().and_then(|m| m.enabled).unwrap_or(false),
        cpu_cores: req.cpu_options.as_ref().and_then(|c| c.core_count).map(|c| c as u32),
        threads_per_core: req.cpu_options.as_ref().and_then(|c| c.threads_per_core).map(|t| t as u32),
        block_devices,
        client_token: req.client_token.clone(),
        instance_tags: tags_for(specs, "instance").into_iter().collect(),
        capacity_preference,
        capacity_target,
        user_data: req.user_data.clone(),
        iam_profile: super::iam_instance_profiles::launch_profile(ctx, req.iam_instance_profile.as_ref())?,
        metadata: super::instance_attributes::metadata_options(
            &Default::default(),
            &req.metadata_options
                .as_ref()
                .map(|m| ec2_core::instance_attributes::MetadataChange {
                    http_tokens: m.http_tokens.clone(),
                    hop_limit: m.http_put_response_hop_limit,
                    http_endpoint: m.http_endpoint.clone(),
                    http_protocol_ipv6: m.http_protocol_ipv6.clone(),
                    instance_metadata_tags: m.instance_metadata_tags.clone(),
                })
                .unwrap_or_default(),
        )?,
    })
}

/// The plan's image and instance type, after checking that the image exists and fits the type.
pub fn check_image(plan: &LaunchPlan) -> Result<(&'static ImageInfo, &'static InstanceTypeInfo)> {
    let itype = instance_types::instance_type(&plan.instance_type)
        .ok_or_else(|| invalid(format!("Invalid value '{}' for InstanceType.", plan.instance_type)))?;
    let image =
        images::image(&plan.image_id).ok_or_else(|| not_found(IdKind::Image, std::slice::from_ref(&plan.image_id)))?;
    ec2_core::launch::check_fit(plan, image, itype).map_err(super::errors::launch)?;
    Ok((image, itype))
}

/// Launches `count` instances of `plan` in one reservation, each `pending` until the launch
/// duration has passed. `spot_request_ids`, when given, names the Spot request of each instance.
pub fn launch(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &LaunchPlan,
    count: usize,
    reservation_id: &str,
    spot_request_ids: Option<&[String]>,
) -> Result<Vec<Instance>> {
    let (image, itype) = check_image(plan)?;
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let subnet =
        net.subnet(&plan.subnet_id).ok_or_else(|| not_found(IdKind::Subnet, std::slice::from_ref(&plan.subnet_id)))?;
    let wanted = ec2_core::launch::volumes(plan, image).len();
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let id = new_id(ctx, tx, IdKind::Instance)?;
        let eni = new_id(ctx, tx, IdKind::NetworkInterface)?;
        let private_ip = match &plan.fixed_ip {
            Some(ip) => ip.clone(),
            None => subnet.address(tx.next_counter(&format!("ip/{}", subnet.id))? - 1),
        };
        let public_ip =
            if plan.associate_public_ip { Some(network::public_ip(tx.next_counter("public_ip")? - 1)) } else { None };
        let mut volume_ids = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            volume_ids.push(new_id(ctx, tx, IdKind::Volume)?);
        }
        let drawn = ec2_core::launch::Drawn {
            id,
            reservation_id: reservation_id.to_string(),
            owner_id: ctx.scope.account.clone(),
            zone: subnet.zone.name.to_string(),
            zone_id: subnet.zone.id.to_string(),
            vpc_id: net.vpc_id.clone(),
            subnet_id: subnet.id.clone(),
            eni,
            private_ip,
            public_ip,
            volume_ids,
            spot_request_id: spot_request_ids.and_then(|ids| ids.get(index).cloned()),
        };
        let mut inst = ec2_core::launch::derive(plan, image, itype, drawn, index as u32, ctx.now, ctx.durations);
        // Spot launches checked their room when they were evaluated.
        super::capacity_pools::track(ctx, tx, false, &mut inst, spot_request_ids.is_none())?;
        instances::save(ctx, tx, &inst)?;
        out.push(inst);
    }
    Ok(out)
}

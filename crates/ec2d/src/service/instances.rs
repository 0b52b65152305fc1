//! The instance lifecycle: RunInstances, DescribeInstances, DescribeInstanceStatus, and the
//! Start/Stop/Terminate/Reboot actions.
//!
//! Every handler validates the whole request first (syntax, then `DryRun`, then existence, then each
//! instance's state), and only then writes; the transaction commits only when the handler succeeds,
//! so a failing batch changes nothing. Records are settled (transitions due by `now` completed) as
//! they are loaded.

use std::collections::BTreeMap;

use ec2_core::catalog::{images, instance_types};
use ec2_core::ids::IdKind;
use ec2_core::instances::filters::{
    current_boot_mode, normalize_state_codes, private_dns_name, public_dns_name, StatusView, INSTANCE_FILTERS,
    STATUS_FILTERS,
};
use ec2_core::instances::lifecycle::{self, settle};
use ec2_core::instances::model::{SecurityGroupRef, ShutdownBehavior, Volume};
use ec2_core::instances::{Instance, InstanceState, RootDeviceType, Settled, StateChange, StateReason, StopOptions};
use ec2_core::network::{self, DefaultNetwork, DefaultSubnet};
use ec2_core::UnixMillis;
use ec2_protocol::{dto, Ec2Error};
use ec2_store::{Record, Txn};
use serde::{Deserialize, Serialize};

use super::common::{
    describe_instances_bounds, flag, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
    PageBounds,
};
use super::{dry_run_gate, errors, filters, Ctx, Result};

/// The most instances one RunInstances call launches (a stand-in for AWS's per-account limits
/// until the capacity model lands).
pub const MAX_LAUNCH: i64 = 1000;

fn scope_key(ctx: &Ctx<'_>) -> String {
    ctx.scope.key()
}

/// Settles one loaded record: `None` when it has been purged (and deletes it).
fn settled(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut inst: Instance) -> Result<Option<Instance>> {
    match settle(&mut inst, ctx.now, ctx.durations) {
        Settled::Unchanged => Ok(Some(inst)),
        Settled::Changed => {
            tx.put(&scope_key(ctx), &inst)?;
            Ok(Some(inst))
        }
        Settled::Purged => {
            tx.delete::<Instance>(&scope_key(ctx), &inst.id)?;
            Ok(None)
        }
    }
}

/// Every visible instance of the scope, settled.
pub fn load_all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Instance>> {
    let all: Vec<Instance> = tx.scan(&scope_key(ctx))?;
    let mut out = Vec::with_capacity(all.len());
    for inst in all {
        if let Some(i) = settled(ctx, tx, inst)? {
            out.push(i);
        }
    }
    Ok(out)
}

/// The named instances, settled, in the order named; every unknown ID is reported at once.
pub fn load_many(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String]) -> Result<Vec<Instance>> {
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        match tx.get::<Instance>(&scope_key(ctx), id)? {
            Some(inst) => match settled(ctx, tx, inst)? {
                Some(i) => found.push(i),
                None => missing.push(id.clone()),
            },
            None => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(not_found(IdKind::Instance, &missing).into());
    }
    Ok(found)
}

pub fn save(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    tx.put(&scope_key(ctx), inst)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Domain -> DTO

fn state_dto(s: InstanceState) -> dto::InstanceState {
    dto::InstanceState { code: Some(s.code()), name: Some(s.name().to_string()) }
}

pub fn state_change_dto(c: &StateChange) -> dto::InstanceStateChange {
    dto::InstanceStateChange {
        instance_id: Some(c.instance_id.clone()),
        current_state: Some(state_dto(c.current)),
        previous_state: Some(state_dto(c.previous)),
    }
}

fn groups_dto(i: &Instance) -> Vec<dto::GroupIdentifier> {
    i.security_groups
        .iter()
        .map(|g| dto::GroupIdentifier { group_id: Some(g.id.clone()), group_name: Some(g.name.clone()) })
        .collect()
}

pub fn instance_dto(i: &Instance) -> dto::Instance {
    let terminated = i.state == InstanceState::Terminated;
    let public_ip = i.visible_public_ip().map(String::from);
    let public_dns = public_dns_name(i).unwrap_or_default();
    let private_dns = if terminated { String::new() } else { private_dns_name(i) };
    let association = public_ip.as_ref().map(|ip| dto::InstanceNetworkInterfaceAssociation {
        ip_owner_id: Some("amazon".into()),
        public_dns_name: Some(public_dns.clone()),
        public_ip: Some(ip.clone()),
        ..Default::default()
    });
    let network_interfaces = if terminated {
        vec![]
    } else {
        vec![dto::InstanceNetworkInterface {
            association: association.clone(),
            attachment: Some(dto::InstanceNetworkInterfaceAttachment {
                attach_time: Some(i.launch_time),
                attachment_id: Some(i.attachment_id.clone()),
                delete_on_termination: Some(true),
                device_index: Some(0),
                status: Some("attached".into()),
                network_card_index: Some(0),
                ..Default::default()
            }),
            description: Some(String::new()),
            groups: Some(groups_dto(i)),
            ipv6_addresses: Some(vec![]),
            mac_address: Some(i.mac_address.clone()),
            network_interface_id: Some(i.network_interface_id.clone()),
            owner_id: Some(i.owner_id.clone()),
            private_dns_name: Some(private_dns.clone()),
            private_ip_address: Some(i.private_ip.clone()),
            private_ip_addresses: Some(vec![dto::InstancePrivateIpAddress {
                association,
                primary: Some(true),
                private_dns_name: Some(private_dns.clone()),
                private_ip_address: Some(i.private_ip.clone()),
            }]),
            source_dest_check: Some(true),
            status: Some("in-use".into()),
            subnet_id: Some(i.subnet_id.clone()),
            vpc_id: Some(i.vpc_id.clone()),
            interface_type: Some("interface".into()),
            ..Default::default()
        }]
    };
    dto::Instance {
        instance_id: Some(i.id.clone()),
        image_id: Some(i.image_id.clone()),
        state: Some(state_dto(i.state)),
        private_dns_name: Some(private_dns),
        public_dns_name: Some(public_dns),
        state_transition_reason: Some(i.state_transition_reason.clone()),
        key_name: i.key_name.clone(),
        ami_launch_index: Some(i64::from(i.ami_launch_index)),
        product_codes: Some(vec![]),
        instance_type: Some(i.instance_type.clone()),
        launch_time: Some(i.launch_time),
        placement: Some(dto::Placement {
            availability_zone: Some(i.availability_zone.clone()),
            availability_zone_id: Some(i.availability_zone_id.clone()),
            group_name: Some(String::new()),
            tenancy: Some(i.tenancy.clone()),
            ..Default::default()
        }),
        platform: i.platform.clone(),
        monitoring: Some(dto::Monitoring { state: Some(if i.monitoring { "enabled" } else { "disabled" }.into()) }),
        subnet_id: (!terminated).then(|| i.subnet_id.clone()),
        vpc_id: (!terminated).then(|| i.vpc_id.clone()),
        private_ip_address: (!terminated).then(|| i.private_ip.clone()),
        public_ip_address: public_ip,
        architecture: Some(i.architecture.clone()),
        root_device_type: Some(i.root_device_type.name().into()),
        root_device_name: Some(i.root_device_name.clone()),
        block_device_mappings: Some(
            i.volumes
                .iter()
                .map(|v| dto::InstanceBlockDeviceMapping {
                    device_name: Some(v.device_name.clone()),
                    ebs: Some(dto::EbsInstanceBlockDevice {
                        attach_time: Some(v.attach_time),
                        delete_on_termination: Some(v.delete_on_termination),
                        status: Some("attached".into()),
                        volume_id: Some(v.volume_id.clone()),
                        ..Default::default()
                    }),
                })
                .collect(),
        ),
        client_token: Some(i.client_token.clone().unwrap_or_default()),
        ebs_optimized: flag(i.ebs_optimized),
        ena_support: flag(i.ena_support),
        hypervisor: Some(i.hypervisor.clone()),
        network_interfaces: Some(network_interfaces),
        security_groups: Some(if terminated { vec![] } else { groups_dto(i) }),
        source_dest_check: (!terminated).then_some(true),
        state_reason: i
            .state_reason
            .as_ref()
            .map(|r| dto::StateReason { code: Some(r.code.clone()), message: Some(r.message.clone()) }),
        tags: tag_set(&i.tags),
        virtualization_type: Some(i.virtualization_type.clone()),
        cpu_options: Some(dto::CpuOptions {
            core_count: Some(i64::from(i.cpu_cores)),
            threads_per_core: Some(i64::from(i.threads_per_core)),
            ..Default::default()
        }),
        capacity_reservation_specification: Some(dto::CapacityReservationSpecificationResponse {
            capacity_reservation_preference: Some("open".into()),
            ..Default::default()
        }),
        hibernation_options: Some(dto::HibernationOptions { configured: flag(i.hibernation_configured) }),
        metadata_options: Some(dto::InstanceMetadataOptionsResponse {
            state: Some(if i.state == InstanceState::Pending { "pending" } else { "applied" }.into()),
            http_tokens: Some("required".into()),
            http_put_response_hop_limit: Some(2),
            http_endpoint: Some("enabled".into()),
            http_protocol_ipv6: Some("disabled".into()),
            instance_metadata_tags: Some("disabled".into()),
        }),
        enclave_options: Some(dto::EnclaveOptions { enabled: Some(false) }),
        boot_mode: i.boot_mode.clone(),
        current_instance_boot_mode: i.boot_mode.as_deref().map(|m| current_boot_mode(m).to_string()),
        platform_details: Some(i.platform_details.clone()),
        usage_operation: Some(i.usage_operation.clone()),
        usage_operation_update_time: Some(i.launch_time),
        private_dns_name_options: Some(dto::PrivateDnsNameOptionsResponse {
            hostname_type: Some("ip-name".into()),
            enable_resource_name_dns_a_record: Some(false),
            enable_resource_name_dns_aaaa_record: Some(false),
        }),
        maintenance_options: Some(dto::InstanceMaintenanceOptions {
            auto_recovery: Some("default".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Groups instances (in listing order) into reservations; a reservation split across pages
/// appears on each page with its instances there.
fn reservations_dto(instances: &[Instance]) -> Vec<dto::Reservation> {
    let mut out: Vec<dto::Reservation> = Vec::new();
    for i in instances {
        let same = out.last().is_some_and(|r| r.reservation_id.as_deref() == Some(i.reservation_id.as_str()));
        if !same {
            out.push(dto::Reservation {
                reservation_id: Some(i.reservation_id.clone()),
                owner_id: Some(i.owner_id.clone()),
                groups: Some(vec![]),
                instances: Some(vec![]),
                ..Default::default()
            });
        }
        if let Some(r) = out.last_mut() {
            r.instances.get_or_insert_with(Vec::new).push(instance_dto(i));
        }
    }
    out
}

/// The listing order: launch time, then reservation, then launch index.
fn listing_key(i: &Instance) -> String {
    format!("{:016}/{}/{:05}", i.launch_time.0, i.reservation_id, i.ami_launch_index)
}

// ---------------------------------------------------------------------------------------------
// RunInstances

/// The idempotency record of a RunInstances client token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInstancesToken {
    pub id: String,
    pub fingerprint: String,
    pub reservation_id: String,
    pub instance_ids: Vec<String>,
}

impl Record for RunInstancesToken {
    const KIND: &'static str = "client_token";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A stable digest of a request's parameters other than the client token and DryRun.
pub fn fingerprint(debug: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in debug.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn idempotent_mismatch() -> Ec2Error {
    Ec2Error::new(
        "IdempotentParameterMismatch",
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
    )
}

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

fn not_implemented_parameter(param: &str) -> Ec2Error {
    Ec2Error::new("NotImplemented", format!("ec2d does not implement RunInstances with {param} yet."))
}

/// Where a launch goes: the default subnet of one zone.
fn placement<'n>(ctx: &Ctx<'_>, net: &'n DefaultNetwork, req: &dto::RunInstancesRequest) -> Result<&'n DefaultSubnet> {
    let nic = req.network_interfaces.as_ref().and_then(|n| n.first());
    let nic_subnet = nic.and_then(|n| n.subnet_id.clone());
    if req.subnet_id.is_some() && nic_subnet.is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
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

fn security_groups(net: &DefaultNetwork, req: &dto::RunInstancesRequest) -> Result<Vec<SecurityGroupRef>> {
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
            "InvalidGroup.NotFound",
            format!("The security group '{name}' does not exist in default VPC '{}'", net.vpc_id),
        )
        .into());
    }
    Ok(vec![SecurityGroupRef { id: net.security_group_id.clone(), name: network::DEFAULT_GROUP_NAME.into() }])
}

fn mac_address(eni: &str) -> String {
    let hex = eni.trim_start_matches("eni-");
    let b = hex.as_bytes();
    let pair = |i: usize| std::str::from_utf8(b.get(i..i + 2).unwrap_or(b"00")).unwrap_or("00").to_string();
    format!("0e:{}:{}:{}:{}:{}", pair(7), pair(9), pair(11), pair(13), pair(15))
}

pub fn run_instances(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RunInstancesRequest) -> Result<dto::Reservation> {
    let min = req.min_count.unwrap_or(1);
    let max = req.max_count.unwrap_or(1);
    if min < 1 {
        return Err(
            invalid(format!("Value ({min}) for parameter minCount is invalid. Expected a positive integer.")).into()
        );
    }
    if max < min {
        return Err(invalid(format!(
            "Value ({max}) for parameter maxCount is invalid. Expected a value greater than or equal to minCount ({min})."
        ))
        .into());
    }
    if min > MAX_LAUNCH {
        return Err(Ec2Error::new(
            "InstanceLimitExceeded",
            format!("You have requested more instances ({min}) than ec2d launches in one request ({MAX_LAUNCH})."),
        )
        .into());
    }
    if req.launch_template.is_some() {
        return Err(not_implemented_parameter("LaunchTemplate").into());
    }
    if let Some(m) = &req.instance_market_options {
        if m.market_type.is_some() {
            return Err(not_implemented_parameter("InstanceMarketOptions").into());
        }
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
    let reservation_preference = req
        .capacity_reservation_specification
        .as_ref()
        .and_then(|c| c.capacity_reservation_preference.clone())
        .unwrap_or_else(|| "open".into());
    if !matches!(reservation_preference.as_str(), "open" | "none" | "capacity-reservations-only") {
        return Err(invalid(format!(
            "Value ({reservation_preference}) for parameter capacityReservationPreference is invalid."
        ))
        .into());
    }
    let specs = tag_specifications(
        &req.tag_specifications,
        &["instance", "volume", "network-interface", "spot-instances-request"],
    )?;
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let subnet = placement(ctx, &net, req)?;
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
    dry_run_gate(req.dry_run)?;

    // Idempotency: the same token and parameters give the same reservation.
    let token_key = req.client_token.as_ref().map(|t| {
        let zonal = req.placement.as_ref().is_some_and(|p| p.availability_zone.is_some()) || req.subnet_id.is_some();
        if zonal {
            format!("RunInstances/{}/{t}", subnet.zone.name)
        } else {
            format!("RunInstances/{t}")
        }
    });
    let fp = {
        let mut canonical = req.clone();
        canonical.client_token = None;
        canonical.dry_run = None;
        fingerprint(&format!("{canonical:?}"))
    };
    if let Some(key) = &token_key {
        if let Some(rec) = tx.get::<RunInstancesToken>(&scope_key(ctx), key)? {
            if rec.fingerprint != fp {
                return Err(idempotent_mismatch().into());
            }
            let mut instances = Vec::new();
            for id in &rec.instance_ids {
                if let Some(inst) = tx.get::<Instance>(&scope_key(ctx), id)? {
                    if let Some(i) = settled(ctx, tx, inst)? {
                        instances.push(i);
                    }
                }
            }
            if instances.is_empty() {
                return Err(Ec2Error::new(
                    "IdempotentInstanceTerminated",
                    "The instances launched with this client token have been terminated.",
                )
                .into());
            }
            return Ok(reservation(ctx, &rec.reservation_id, &instances));
        }
    }

    let image = images::image(&image_id).ok_or_else(|| not_found(IdKind::Image, std::slice::from_ref(&image_id)))?;
    if !itype.architectures.contains(&image.architecture) {
        return Err(invalid(format!(
            "The architecture '{}' of the instance type '{}' does not match the architecture '{}' of the image '{}'.",
            itype.architectures.join(", "),
            itype.name,
            image.architecture,
            image.id
        ))
        .into());
    }
    if !itype.root_device_types.contains(&image.root_device_type)
        || !itype.virtualization_types.contains(&image.virtualization_type)
    {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            format!(
                "The instance type '{}' does not support {} images with a root device of type '{}'.",
                itype.name, image.virtualization_type, image.root_device_type
            ),
        )
        .into());
    }
    let hibernation = req.hibernation_options.as_ref().and_then(|h| h.configured).unwrap_or(false);
    if hibernation && !(itype.hibernation_supported && image.hibernation_supported && image.root_device_type == "ebs") {
        return Err(Ec2Error::new(
            "UnsupportedHibernationConfiguration",
            format!("Hibernation is not supported for instance type '{}' with image '{}'.", itype.name, image.id),
        )
        .into());
    }
    if reservation_preference == "capacity-reservations-only"
        || req
            .capacity_reservation_specification
            .as_ref()
            .and_then(|c| c.capacity_reservation_target.as_ref())
            .is_some()
    {
        return Err(not_implemented_parameter("a capacity reservation target").into());
    }

    let count = max.min(MAX_LAUNCH);
    let reservation_id = super::common::new_id(ctx, tx, IdKind::Reservation)?;
    let root_size = req
        .block_device_mappings
        .iter()
        .flatten()
        .find(|b| b.device_name.as_deref() == Some(image.root_device_name))
        .and_then(|b| b.ebs.as_ref().and_then(|e| e.volume_size))
        .map(|s| s as u32)
        .unwrap_or(image.root_volume_gb);
    let instance_tags: BTreeMap<String, String> = tags_for(&specs, "instance").into_iter().collect();
    let mut instances = Vec::with_capacity(count as usize);
    for index in 0..count {
        let id = super::common::new_id(ctx, tx, IdKind::Instance)?;
        let eni = super::common::new_id(ctx, tx, IdKind::NetworkInterface)?;
        let private_ip = match &fixed_ip {
            Some(ip) => ip.clone(),
            None => subnet.address(tx.next_counter(&format!("ip/{}", subnet.id))? - 1),
        };
        let associate = nic.and_then(|n| n.associate_public_ip_address).unwrap_or(true);
        let public_ip = if associate { Some(network::public_ip(tx.next_counter("public_ip")? - 1)) } else { None };
        let mut volumes = Vec::new();
        if image.root_device_type == "ebs" {
            volumes.push(Volume {
                device_name: image.root_device_name.to_string(),
                volume_id: super::common::new_id(ctx, tx, IdKind::Volume)?,
                size_gb: root_size,
                delete_on_termination: true,
                attach_time: ctx.now,
            });
        }
        for b in req.block_device_mappings.iter().flatten() {
            let (Some(device), Some(ebs)) = (&b.device_name, &b.ebs) else { continue };
            if device == image.root_device_name || b.no_device.is_some() {
                continue;
            }
            volumes.push(Volume {
                device_name: device.clone(),
                volume_id: super::common::new_id(ctx, tx, IdKind::Volume)?,
                size_gb: ebs.volume_size.unwrap_or(8) as u32,
                delete_on_termination: ebs.delete_on_termination.unwrap_or(true),
                attach_time: ctx.now,
            });
        }
        let mut inst = Instance {
            id,
            reservation_id: reservation_id.clone(),
            owner_id: ctx.scope.account.clone(),
            image_id: image.id.to_string(),
            instance_type: itype.name.to_string(),
            key_name: req.key_name.clone(),
            launch_time: UnixMillis(ctx.now.0 - ctx.now.0 % 1000),
            ami_launch_index: index as u32,
            client_token: req.client_token.clone(),
            availability_zone: subnet.zone.name.to_string(),
            availability_zone_id: subnet.zone.id.to_string(),
            tenancy: tenancy.clone(),
            vpc_id: net.vpc_id.clone(),
            subnet_id: subnet.id.clone(),
            private_ip,
            public_ip,
            security_groups: groups.clone(),
            attachment_id: format!("eni-attach-{}", eni.trim_start_matches("eni-")),
            mac_address: mac_address(&eni),
            network_interface_id: eni,
            root_device_type: if image.root_device_type == "ebs" {
                RootDeviceType::Ebs
            } else {
                RootDeviceType::InstanceStore
            },
            root_device_name: image.root_device_name.to_string(),
            volumes,
            architecture: image.architecture.to_string(),
            virtualization_type: image.virtualization_type.to_string(),
            hypervisor: image.hypervisor.to_string(),
            platform: image.platform.map(String::from),
            platform_details: image.platform_details.to_string(),
            usage_operation: image.usage_operation.to_string(),
            ena_support: image.ena_support,
            boot_mode: image.boot_mode.map(String::from),
            cpu_cores: req.cpu_options.as_ref().and_then(|c| c.core_count).map_or(itype.cores, |c| c as u32),
            threads_per_core: req
                .cpu_options
                .as_ref()
                .and_then(|c| c.threads_per_core)
                .map_or(itype.threads_per_core, |t| t as u32),
            ebs_optimized: req.ebs_optimized.unwrap_or(itype.ebs_optimized_support == "default"),
            monitoring: req.monitoring.as_ref().and_then(|m| m.enabled).unwrap_or(false),
            hibernation_configured: hibernation,
            disable_api_stop: req.disable_api_stop.unwrap_or(false),
            disable_api_termination: req.disable_api_termination.unwrap_or(false),
            shutdown_behavior: shutdown,
            tags: instance_tags.clone(),
            state: InstanceState::Pending,
            state_transition_reason: String::new(),
            state_reason: Some(StateReason::new("pending", "pending")),
            ever_running: false,
            stuck_stopping: false,
            pending: None,
            status_ok_at: None,
            terminated_at: None,
        };
        inst.pending = Some(ec2_core::instances::model::Pending {
            due: ctx.now.plus_millis(ctx.durations.launch),
            transition: ec2_core::instances::model::Transition::BecomeRunning,
        });
        save(ctx, tx, &inst)?;
        instances.push(inst);
    }
    if let Some(key) = token_key {
        tx.put(
            &scope_key(ctx),
            &RunInstancesToken {
                id: key,
                fingerprint: fp,
                reservation_id: reservation_id.clone(),
                instance_ids: instances.iter().map(|i| i.id.clone()).collect(),
            },
        )?;
    }
    Ok(reservation(ctx, &reservation_id, &instances))
}

fn reservation(ctx: &Ctx<'_>, reservation_id: &str, instances: &[Instance]) -> dto::Reservation {
    dto::Reservation {
        reservation_id: Some(reservation_id.to_string()),
        owner_id: Some(ctx.scope.account.clone()),
        groups: Some(vec![]),
        instances: Some(instances.iter().map(instance_dto).collect()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// DescribeInstances / DescribeInstanceStatus

pub fn describe_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstancesRequest,
) -> Result<dto::DescribeInstancesResult> {
    let ids = well_formed(IdKind::Instance, req.instance_ids.as_deref().unwrap_or_default())?;
    let mut filters = filters(&INSTANCE_FILTERS, &req.filters)?;
    normalize_state_codes(&mut filters);
    if !ids.is_empty() && req.max_results.is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(req.dry_run)?;
    let mut instances = if ids.is_empty() { load_all(ctx, tx)? } else { load_many(ctx, tx, &ids)? };
    instances.retain(|i| INSTANCE_FILTERS.matches(i, &filters));
    instances.sort_by_key(listing_key);
    let (page, next) =
        paginate(instances, listing_key, req.max_results, req.next_token.as_deref(), &describe_instances_bounds())?;
    Ok(dto::DescribeInstancesResult { reservations: Some(reservations_dto(&page)), next_token: next })
}

fn status_bounds() -> PageBounds {
    describe_instances_bounds()
}

pub fn describe_instance_status(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstanceStatusRequest,
) -> Result<dto::DescribeInstanceStatusResult> {
    let ids = well_formed(IdKind::Instance, req.instance_ids.as_deref().unwrap_or_default())?;
    if ids.len() > 100 {
        return Err(invalid("The maximum number of instance IDs in one request is 100.").into());
    }
    let mut filters = filters(&STATUS_FILTERS, &req.filters)?;
    normalize_state_codes(&mut filters);
    if !ids.is_empty() && req.max_results.is_some() {
        return Err(Ec2Error::new(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(req.dry_run)?;
    let all = req.include_all_instances == Some(true);
    let mut instances = if ids.is_empty() { load_all(ctx, tx)? } else { load_many(ctx, tx, &ids)? };
    instances.retain(|i| all || i.state == InstanceState::Running);
    instances.sort_by(|a, b| a.id.cmp(&b.id));
    let tasks = super::bundle_tasks::scope_tasks(ctx, tx)?;
    let views: Vec<StatusView> = instances
        .into_iter()
        .map(|instance| StatusView {
            unreachable: super::bundle_tasks::shut_down_for_bundling(&tasks, &instance, ctx.now),
            instance,
            now: ctx.now,
        })
        .filter(|v| STATUS_FILTERS.matches(v, &filters))
        .collect();
    let (page, next) =
        paginate(views, |v| v.instance.id.clone(), req.max_results, req.next_token.as_deref(), &status_bounds())?;
    let summary = |v: &StatusView| dto::InstanceStatusSummary {
        status: Some(v.summary().to_string()),
        details: Some(
            v.reachability()
                .map(|r| dto::InstanceStatusDetails {
                    name: Some("reachability".into()),
                    status: Some(r.to_string()),
                    ..Default::default()
                })
                .into_iter()
                .collect(),
        ),
    };
    let statuses = page
        .iter()
        .map(|v| dto::InstanceStatus {
            instance_id: Some(v.instance.id.clone()),
            availability_zone: Some(v.instance.availability_zone.clone()),
            availability_zone_id: Some(v.instance.availability_zone_id.clone()),
            instance_state: Some(state_dto(v.instance.state)),
            instance_status: Some(summary(v)),
            system_status: Some(summary(v)),
            attached_ebs_status: Some(dto::EbsStatusSummary {
                status: Some(v.summary().to_string()),
                details: Some(
                    v.reachability()
                        .map(|r| dto::EbsStatusDetails {
                            name: Some("reachability".into()),
                            status: Some(r.to_string()),
                            ..Default::default()
                        })
                        .into_iter()
                        .collect(),
                ),
            }),
            events: Some(vec![]),
            operator: Some(dto::OperatorResponse { managed: Some(false), ..Default::default() }),
            ..Default::default()
        })
        .collect();
    Ok(dto::DescribeInstanceStatusResult { instance_statuses: Some(statuses), next_token: next })
}

// ---------------------------------------------------------------------------------------------
// Start / Stop / Terminate / Reboot

/// The named instances, after the syntax check, the dry-run gate and the existence check.
fn prepare(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &Option<Vec<String>>, dry_run: Option<bool>) -> Result<Vec<Instance>> {
    let ids = well_formed(IdKind::Instance, ids.as_deref().unwrap_or_default())?;
    dry_run_gate(dry_run)?;
    load_many(ctx, tx, &ids)
}

/// Applies `action` to every instance, all or nothing: the first refusal fails the request.
fn apply(
    instances: &mut [Instance],
    mut action: impl FnMut(&mut Instance) -> std::result::Result<StateChange, lifecycle::LifecycleError>,
) -> Result<Vec<StateChange>> {
    let mut changes = Vec::with_capacity(instances.len());
    for inst in instances.iter_mut() {
        changes.push(action(inst).map_err(errors::lifecycle)?);
    }
    Ok(changes)
}

/// Saves the changed instances and returns the changes as the wire lists them.
fn commit(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    instances: &[Instance],
    changes: &[StateChange],
) -> Result<Vec<dto::InstanceStateChange>> {
    for inst in instances {
        save(ctx, tx, inst)?;
    }
    Ok(changes.iter().map(state_change_dto).collect())
}

pub fn stop_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::StopInstancesRequest,
) -> Result<dto::StopInstancesResult> {
    let opts = StopOptions {
        hibernate: req.hibernate == Some(true),
        force: req.force == Some(true),
        skip_os_shutdown: req.skip_os_shutdown == Some(true),
    };
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run)?;
    let changes = apply(&mut instances, |i| lifecycle::stop(i, ctx.now, opts, ctx.durations))?;
    Ok(dto::StopInstancesResult { stopping_instances: Some(commit(ctx, tx, &instances, &changes)?) })
}

pub fn start_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::StartInstancesRequest,
) -> Result<dto::StartInstancesResult> {
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run)?;
    let changes = apply(&mut instances, |i| lifecycle::start(i, ctx.now, ctx.durations))?;
    // A started instance gets a new public address (the old one was released when it stopped).
    for inst in instances.iter_mut().filter(|i| i.state == InstanceState::Pending && i.public_ip.is_none()) {
        inst.public_ip = Some(network::public_ip(tx.next_counter("public_ip")? - 1));
    }
    let changes = commit(ctx, tx, &instances, &changes)?;
    Ok(dto::StartInstancesResult { starting_instances: Some(changes) })
}

pub fn terminate_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::TerminateInstancesRequest,
) -> Result<dto::TerminateInstancesResult> {
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run)?;
    let changes = apply(&mut instances, |i| lifecycle::terminate(i, ctx.now, ctx.durations))?;
    Ok(dto::TerminateInstancesResult { terminating_instances: Some(commit(ctx, tx, &instances, &changes)?) })
}

pub fn reboot_instances(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RebootInstancesRequest) -> Result<()> {
    let instances = prepare(ctx, tx, &req.instance_ids, req.dry_run)?;
    for inst in &instances {
        lifecycle::reboot(inst).map_err(errors::lifecycle)?;
    }
    Ok(())
}

/// Finds an instance in any scope (IDs are unique across the server), for the control API.
pub fn find_scope(tx: &mut Txn<'_>, id: &str) -> Result<Option<String>> {
    for scope in tx.scopes::<Instance>()? {
        if tx.get::<Instance>(&scope, id)?.is_some() {
            return Ok(Some(scope));
        }
    }
    Ok(None)
}

/// The control API's stuck-host switch: holds an instance in `stopping` (or releases it). Returns
/// the instance's state, or `None` when no scope has the instance.
pub fn set_held_in_stopping(
    app: &crate::app::App,
    tx: &mut Txn<'_>,
    id: &str,
    hold: bool,
) -> Result<Option<InstanceState>> {
    let Some(scope_key) = find_scope(tx, id)? else { return Ok(None) };
    let (account, region) = scope_key.split_once('/').unwrap_or((scope_key.as_str(), ""));
    let scope = ec2_core::Scope::new(account, region);
    let now = app.clock.now(tx)?;
    let ctx = Ctx {
        scope: &scope,
        now,
        ids: app.ids,
        clock: app.clock.mode,
        durations: &app.durations,
        bundle_durations: &app.bundle_durations,
    };
    let Some(mut inst) = load_many(&ctx, tx, &[id.to_string()]).ok().and_then(|mut v| v.pop()) else {
        return Ok(None);
    };
    if hold {
        lifecycle::hold_stopping(&mut inst);
    } else {
        lifecycle::release_stopping(&mut inst, now, ctx.durations);
    }
    save(&ctx, tx, &inst)?;
    Ok(Some(inst.state))
}

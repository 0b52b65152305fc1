//! Launching instances, shared by RunInstances and Spot fulfilment.
//!
//! [`plan`] checks a RunInstances-shaped request and resolves everything a launch needs (zone,
//! subnet, groups, addresses, options) into a [`LaunchPlan`], which Spot requests store so they
//! can launch again later. [`check_image`] checks the image and its fit with the instance type
//! (after the dry-run gate, as existence checks are). [`launch`] draws the IDs and addresses and
//! creates the instances; the plan, the fit rules and the derivation of an instance are in
//! `ec2_core::launch`.

use std::sync::Arc;

use ec2_core::catalog::instance_types::{self, InstanceTypeInfo};
use ec2_core::ids::IdKind;
use ec2_core::images::{
    self as image_rules, HibernationRootError, Image, LaunchVolumeError, NewVolume, RequestedDevice,
};
use ec2_core::instances::model::{SecurityGroupRef, ShutdownBehavior};
use ec2_core::instances::Instance;
use ec2_core::network::{self, DefaultNetwork, DefaultSubnet};
use ec2_core::volumes::{valid_device_name, Volume};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{new_id, not_found, tags_for, well_formed, TagsByType};
use super::state_changes::Accounting;
use super::{Ctx, Result};
use ec2_core::instances::changes::Before;

pub use ec2_core::launch::{BlockDevice, LaunchPlan};

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

fn not_implemented_parameter(param: &str) -> Ec2Error {
    Ec2Error::new(Code::NotImplemented, format!("ec2d does not implement RunInstances with {param} yet."))
}

/// The instance type of a launch that names none.
pub const DEFAULT_INSTANCE_TYPE: &str = "m1.small";

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
        (None, None) => None,
        _ => Some(net.launch_subnet(zone_name.as_deref(), zone_id.as_deref()).ok_or_else(|| match &zone_name {
            Some(z) => invalid(format!("Invalid availability zone: [{z}]")),
            None => invalid(format!("Invalid availability zone ID: [{}]", zone_id.as_deref().unwrap_or_default())),
        })?),
    };
    match req.subnet_id.clone().or(nic_subnet) {
        // A subnet is a record: `resolve_network` finds it after the permission gate.
        Some(id) if net.subnet(&id).is_none() => {
            well_formed(IdKind::Subnet, std::slice::from_ref(&id))?;
            by_zone.or(net.subnets.first()).ok_or_else(|| {
                invalid(format!("ec2d has no availability zones for region '{}'", ctx.scope.region)).into()
            })
        }
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

/// The syntax of the requested groups; `resolve_network` finds them after the permission gate.
pub fn security_groups(net: &DefaultNetwork, req: &dto::RunInstancesRequest) -> Result<Vec<SecurityGroupRef>> {
    let nic_groups = req.network_interfaces.as_ref().and_then(|n| n.first()).and_then(|n| n.groups.clone());
    let ids: Vec<String> = req.security_group_ids.clone().or(nic_groups).unwrap_or_default();
    well_formed(IdKind::SecurityGroup, &ids)?;
    Ok(vec![SecurityGroupRef { id: net.security_group_id.clone().into(), name: network::DEFAULT_GROUP_NAME.into() }])
}

/// After the permission gate: the plan's subnet, zone, groups and public addressing from the
/// network records (`subnets::resolve_launch`).
pub fn resolve_network(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RunInstancesRequest,
    plan: &mut LaunchPlan,
) -> Result<()> {
    let n = super::subnets::resolve_launch(ctx, tx, req)?;
    plan.zone = n.subnet.availability_zone.clone();
    plan.subnet_id = n.subnet.id.clone();
    plan.groups = n.groups;
    plan.associate_public_ip = n.associate_public_ip;
    Ok(())
}

/// Checks a RunInstances-shaped request (`max` instances) and resolves its launch plan.
pub fn plan(ctx: &Ctx<'_>, req: &dto::RunInstancesRequest, max: i64, specs: &TagsByType) -> Result<LaunchPlan> {
    if req.launch_template.is_some() {
        return Err(not_implemented_parameter("LaunchTemplate").into());
    }
    let image_id = req.image_id.clone().ok_or_else(|| Ec2Error::missing_parameter("ImageId"))?;
    // `resolve:ssm:<parameter>` names one of AWS's public AMI parameters.
    let image_id = match image_rules::resolve_ssm(&image_id) {
        Some(Ok(id)) => id.to_string(),
        Some(Err(parameter)) => {
            return Err(invalid(format!(
                "Invalid value '{image_id}' for ImageId: the parameter {parameter} is not one of AWS's public AMI parameters ec2d knows."
            ))
            .into())
        }
        None => image_id,
    };
    well_formed(IdKind::Image, std::slice::from_ref(&image_id))?;
    let type_name = req.instance_type.clone().unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into());
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
    if fixed_ip.is_some() && max > 1 {
        return Err(invalid("A private IP address can only be given when launching one instance.").into());
    }
    let block_devices = block_devices(req)?;
    let options = launch_options(req, itype)?;
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
        options,
    })
}

/// The members of RunInstances that ec2d cannot honour, refused rather than dropped.
fn refuse_unsupported(req: &dto::RunInstancesRequest) -> Result<()> {
    if req.ipv6_address_count.is_some_and(|n| n > 0) || req.ipv6_addresses.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(not_implemented_parameter(
            "Ipv6AddressCount or Ipv6Addresses (the subnets ec2d launches into have no IPv6 block)",
        )
        .into());
    }
    if req.enable_primary_ipv6 == Some(true) {
        return Err(not_implemented_parameter("EnablePrimaryIpv6").into());
    }
    if req.elastic_gpu_specification.as_ref().is_some_and(|g| !g.is_empty()) {
        return Err(Ec2Error::new(
            Code::Unsupported,
            "Amazon Elastic Graphics has reached end of life: ElasticGpuSpecification is not supported.",
        )
        .into());
    }
    if req.elastic_inference_accelerators.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(Ec2Error::new(
            Code::Unsupported,
            "Amazon Elastic Inference has reached end of life: ElasticInferenceAccelerators is not supported.",
        )
        .into());
    }
    if req.license_specifications.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(not_implemented_parameter("LicenseSpecifications (ec2d has no License Manager)").into());
    }
    if req.secondary_interfaces.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(not_implemented_parameter("SecondaryInterfaces").into());
    }
    Ok(())
}

/// The RunInstances members an instance keeps as attributes beyond its launch description, checked.
fn launch_options(
    req: &dto::RunInstancesRequest,
    itype: &InstanceTypeInfo,
) -> Result<ec2_core::instance_attributes::LaunchOptions> {
    use ec2_core::instance_attributes::options::{self, MaintenanceChange, PrivateDnsChange};
    refuse_unsupported(req)?;
    let bad = |b: options::BadOption| invalid(format!("Value ({}) for parameter {} is invalid.", b.value, b.parameter));
    for (id, param, prefix) in [(&req.kernel_id, "kernelId", "aki-"), (&req.ramdisk_id, "ramdiskId", "ari-")] {
        if let Some(v) = id.as_deref().filter(|v| !v.starts_with(prefix)) {
            return Err(
                invalid(format!("Value ({v}) for parameter {param} is invalid. Expected: '{prefix}...'.")).into()
            );
        }
    }
    let enclave_enabled = req.enclave_options.as_ref().and_then(|e| e.enabled).unwrap_or(false);
    let hibernation = req.hibernation_options.as_ref().and_then(|h| h.configured) == Some(true);
    options::check_enclave(enclave_enabled, itype.nitro_enclaves_support, hibernation).map_err(|e| match e {
        options::EnclaveError::TypeUnsupported => Ec2Error::new(
            Code::Unsupported,
            format!("The instance type {} does not support Nitro Enclaves.", itype.name),
        ),
        options::EnclaveError::WithHibernation => Ec2Error::new(
            Code::InvalidParameterCombination,
            "An instance cannot have both Nitro Enclaves and hibernation enabled.",
        ),
    })?;
    let private_dns = req
        .private_dns_name_options
        .as_ref()
        .map(|p| {
            ec2_core::instance_attributes::PrivateDnsOptions::default()
                .with(&PrivateDnsChange {
                    hostname_type: p.hostname_type.clone(),
                    a_record: p.enable_resource_name_dns_a_record,
                    aaaa_record: p.enable_resource_name_dns_aaaa_record,
                })
                .map_err(bad)
        })
        .transpose()?
        .unwrap_or_default();
    let maintenance = ec2_core::instance_attributes::MaintenanceOptions::default()
        .with(&MaintenanceChange {
            auto_recovery: req.maintenance_options.as_ref().and_then(|m| m.auto_recovery.clone()),
            reboot_migration: None,
        })
        .map_err(bad)?;
    let cpu_credits = match req.credit_specification.as_ref().and_then(|c| c.cpu_credits.as_deref()) {
        None => None,
        Some(v) => Some(
            ec2_core::credit_specifications::at_launch(itype.name, v)
                .map_err(super::credit_specifications::credit_error)?,
        ),
    };
    let bandwidth_weighting = req
        .network_performance_options
        .as_ref()
        .and_then(|n| n.bandwidth_weighting.as_deref())
        .map(|w| options::bandwidth_weighting(w).map_err(bad))
        .transpose()?;
    let operator = req.operator.as_ref().and_then(|o| o.principal.clone());
    if let Some(p) = operator.as_deref().filter(|p| p.is_empty() || p.len() > 255) {
        return Err(invalid(format!("Value ({p}) for parameter Operator.Principal is invalid.")).into());
    }
    Ok(ec2_core::instance_attributes::LaunchOptions {
        kernel_id: req.kernel_id.clone().map(Into::into),
        ramdisk_id: req.ramdisk_id.clone().map(Into::into),
        enclave_enabled,
        private_dns,
        maintenance,
        cpu_credits: cpu_credits.map(Into::into),
        bandwidth_weighting: bandwidth_weighting.map(Into::into),
        operator: operator.map(Into::into),
    })
}

/// The request's block device mappings, checked for syntax.
fn block_devices(req: &dto::RunInstancesRequest) -> Result<Vec<BlockDevice>> {
    let mut out: Vec<BlockDevice> = Vec::new();
    for b in req.block_device_mappings.iter().flatten() {
        let device =
            b.device_name.clone().ok_or_else(|| Ec2Error::missing_parameter("BlockDeviceMapping.N.DeviceName"))?;
        if !valid_device_name(&device) {
            return Err(Ec2Error::new(Code::InvalidBlockDeviceMapping, format!("Invalid device name {device}")).into());
        }
        if out.iter().any(|o| ec2_core::volumes::device_slot(&o.device_name) == ec2_core::volumes::device_slot(&device))
        {
            return Err(Ec2Error::new(
                Code::InvalidBlockDeviceMapping,
                format!("The device {device} is named more than once."),
            )
            .into());
        }
        let ebs = b.ebs.clone().unwrap_or_default();
        if let Some(s) = &ebs.snapshot_id {
            well_formed(IdKind::Snapshot, std::slice::from_ref(s))?;
        }
        let num = |v: Option<i64>, name: &str| -> Result<Option<u32>> {
            v.map(|n| u32::try_from(n).map_err(|_| invalid(format!("Value ({n}) for parameter {name} is invalid."))))
                .transpose()
                .map_err(Into::into)
        };
        let requested = RequestedDevice {
            device_name: device.clone(),
            no_device: b.no_device.is_some(),
            virtual_name: b.virtual_name.clone(),
            size_gb: num(ebs.volume_size, "volumeSize")?,
            volume_type: ebs.volume_type.clone(),
            iops: num(ebs.iops, "iops")?,
            throughput: num(ebs.throughput, "throughput")?,
            encrypted: ebs.encrypted,
            kms_key_id: ebs.kms_key_id.clone(),
            snapshot_id: ebs.snapshot_id.clone(),
            delete_on_termination: ebs.delete_on_termination,
        };
        out.push(BlockDevice {
            device_name: device,
            size_gb: requested.size_gb,
            delete_on_termination: ebs.delete_on_termination.unwrap_or(true),
            requested: Some(requested),
        });
    }
    Ok(out)
}

fn launch_volume_error(e: LaunchVolumeError) -> Ec2Error {
    match e {
        LaunchVolumeError::Spec(e) => super::volumes::spec_error(e),
        LaunchVolumeError::Encryption(e) => super::volumes::encryption_error(e),
        LaunchVolumeError::UnknownVolumeType(t) => invalid(format!(
            "Value ({t}) for parameter volumeType is invalid. Valid values: standard, io1, io2, gp2, gp3, sc1, st1."
        )),
        LaunchVolumeError::SmallerThanSnapshot { device, size, min } => Ec2Error::new(
            Code::InvalidBlockDeviceMapping,
            format!("Volume of size {size}GiB for {device} is smaller than its snapshot, expect size >= {min}GiB"),
        ),
        LaunchVolumeError::UnknownSnapshot(s) => not_found(IdKind::Snapshot, &[s]),
        LaunchVolumeError::NoSize(device) => Ec2Error::new(
            Code::InvalidBlockDeviceMapping,
            format!("The block device mapping of {device} needs a volume size or a snapshot."),
        ),
    }
}

/// The plan's image and instance type, after checking that the image exists and fits the type, and
/// the volumes each instance gets (checked against their types' limits and, for hibernation, the
/// root volume against the instance's memory).
pub fn check_image(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &LaunchPlan,
) -> Result<(Image, &'static InstanceTypeInfo, Vec<NewVolume>)> {
    let itype = instance_types::instance_type(&plan.instance_type)
        .ok_or_else(|| invalid(format!("Invalid value '{}' for InstanceType.", plan.instance_type)))?;
    let architecture = itype.architectures.first().copied().unwrap_or("x86_64");
    let image = super::images::for_launch(ctx, tx, &plan.image_id, architecture)?;
    ec2_core::launch::check_fit(plan, &image, itype).map_err(super::errors::launch)?;
    let requested: Vec<RequestedDevice> = plan.block_devices.iter().map(BlockDevice::request).collect();
    let defaults = super::ebs_encryption::settings(ctx, tx)?;
    let mut snapshots = std::collections::BTreeMap::new();
    for r in &requested {
        if let Some(s) = &r.snapshot_id {
            let src = super::snapshots::volume_source(ctx, tx, s)?;
            snapshots.insert(s.clone(), (src.size_gb, src.encrypted, src.kms_key_id));
        }
    }
    let volumes =
        image_rules::launch_volumes(ctx.scope, &image, &requested, &defaults, |s: &str| snapshots.get(s).cloned())
            .map_err(launch_volume_error)?;
    if plan.hibernation {
        let root = volumes.iter().find(|v| {
            ec2_core::volumes::device_slot(&v.device_name) == ec2_core::volumes::device_slot(&image.root_device_name)
        });
        let (encrypted, size) = root.map(|r| (r.encrypted, r.spec.size_gb)).unwrap_or((false, 0));
        image_rules::hibernation_root_check(encrypted, size, itype.memory_mib).map_err(|e| {
            Ec2Error::new(
                Code::UnsupportedHibernationConfiguration,
                match e {
                    HibernationRootError::NotEncrypted => {
                        "For hibernation, the root device volume must be encrypted.".to_string()
                    }
                    HibernationRootError::TooSmall { root_gb, memory_mib } => format!(
                        "For hibernation, the root device volume ({root_gb}GiB) must be large enough for the instance's memory ({memory_mib}MiB)."
                    ),
                },
            )
        })?;
    }
    Ok((image, itype, volumes))
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
    let launched = launch_shared(ctx, tx, plan, count, reservation_id, spot_request_ids)?;
    Ok(launched.into_iter().map(Arc::unwrap_or_clone).collect())
}

/// [`launch`], the instances shared with the store rather than copied: for a caller that only reads them.
pub fn launch_shared(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    plan: &LaunchPlan,
    count: usize,
    reservation_id: &str,
    spot_request_ids: Option<&[String]>,
) -> Result<Vec<Arc<Instance>>> {
    let (image, itype, new_volumes) = check_image(ctx, tx, plan)?;
    super::vpcs::ensure_default_network(ctx, tx)?;
    let mut subnet = super::subnets::load_subnet(ctx, tx, &plan.subnet_id)?;
    let zone_id = subnet.availability_zone_id.clone();
    let group_ids: Vec<String> = plan.groups.iter().map(|g| g.id.to_string()).collect();
    // The subnet's free addresses, found once for the whole launch.
    let mut free = subnet.free_hosts();
    let wanted = new_volumes.len();
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let id = new_id(ctx, tx, IdKind::Instance)?;
        let eni = new_id(ctx, tx, IdKind::NetworkInterface)?;
        // The instance's primary interface is a record holding its address in the subnet.
        let attachment_id = super::network_interfaces::primary_attachment_id(&eni);
        let private_ip = super::network_interfaces::create_primary(
            ctx,
            tx,
            &mut subnet,
            &mut free,
            plan.fixed_ip.clone(),
            group_ids.clone(),
            eni.clone(),
            &id,
            &attachment_id,
        )?;
        let public_ip =
            if plan.associate_public_ip { Some(network::public_ip(tx.next_id("public_ip")? - 1)) } else { None };
        let mut volume_ids = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            volume_ids.push(new_id(ctx, tx, IdKind::Volume)?);
        }
        let drawn = ec2_core::launch::Drawn {
            id,
            reservation_id: reservation_id.to_string(),
            owner_id: ctx.scope.account.clone(),
            zone: subnet.availability_zone.clone(),
            zone_id: zone_id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            subnet_id: subnet.id.clone(),
            eni,
            private_ip,
            public_ip,
            volume_ids,
            spot_request_id: spot_request_ids.and_then(|ids| ids.get(index).cloned()),
        };
        let inst =
            ec2_core::launch::derive(plan, &image, itype, &new_volumes, drawn, index as u32, ctx.now, ctx.durations);
        // Spot launches checked their room when they were evaluated.
        let how = if spot_request_ids.is_none() { Accounting::Strict } else { Accounting::Lenient };
        let inst = super::state_changes::apply_shared(ctx, tx, Before::LAUNCH, inst, how)?;
        // The instance's volumes are volume records, attached from the start.
        for (v, entry) in new_volumes.iter().zip(&inst.volumes) {
            let volume = Volume::for_instance(
                entry.volume_id.to_string(),
                v.spec,
                (&inst.availability_zone, &inst.availability_zone_id),
                (v.encrypted, v.kms_key_id.clone()),
                v.snapshot_id.clone(),
                &inst.id,
                &v.device_name,
                v.delete_on_termination,
                ctx.now,
            );
            tx.put_owned(ctx.scope.key(), volume)?;
        }
        out.push(inst);
    }
    tx.put(ctx.scope.key(), &subnet)?;
    Ok(out)
}

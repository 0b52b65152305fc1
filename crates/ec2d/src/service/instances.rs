//! The instance lifecycle: RunInstances, DescribeInstances, DescribeInstanceStatus, and the
//! Start/Stop/Terminate/Reboot actions.
//!
//! Every handler validates the whole request first (syntax, then `DryRun`, then existence, then each
//! instance's state), and only then writes; the transaction commits only when the handler succeeds,
//! so a failing batch changes nothing. Records are settled (transitions due by `now` completed) as
//! they are loaded.

use ec2_core::ids::IdKind;
use ec2_core::instances::changes::Before;
use ec2_core::instances::filters::{
    current_boot_mode, normalize_state_codes, private_dns_name, public_dns_name, region_of, StatusView,
    INSTANCE_FILTERS, STATUS_FILTERS,
};
use ec2_core::instances::lifecycle::{self, settle};
use ec2_core::instances::{Instance, InstanceState, Settled, StateChange, StopOptions};
use ec2_core::network;
use std::sync::Arc;

use ec2_protocol::xml::{Repeated, ToXml, XmlWriter};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    describe_instances_bounds, fingerprint, flag, load_named_with, paginate, remember, replay, tag_set,
    tag_specifications, well_formed, well_formed_refs, PageBounds,
};
use super::state_changes::{self, Accounting};
use super::{dry_run_gate, errors, filters, launch, launch_templates, Ctx, Result};

/// The most instances one RunInstances call launches (a stand-in for AWS's per-account limits
/// until the capacity model lands).
pub const MAX_LAUNCH: i64 = 1000;

/// Settles one loaded record: `None` when it has been purged (and deletes it).
fn settled(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: Instance) -> Result<Option<Instance>> {
    settled_then(ctx, tx, inst, Then::Save)
}

/// What becomes of a record settling changed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Then {
    Save,
    /// The caller changes it again and saves it (`state_changes::apply`) in the same transaction,
    /// or fails the request: the settled record is not saved in between.
    CallerSaves,
}

fn settled_then(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut inst: Instance, then: Then) -> Result<Option<Instance>> {
    // A Spot Instance is settled together with its request (`spot::catch_up`), which must see its
    // transitions happen.
    if inst.spot_request_id.is_some() {
        return Ok(Some(inst));
    }
    // One due transition at a time, so that each consequence and each timeline event has its due time.
    while let Some(due) = inst.pending.map(|p| p.due).filter(|due| *due <= ctx.now) {
        let before = Before::of(&inst);
        match settle(&mut inst, due, ctx.durations) {
            Settled::Unchanged => break,
            Settled::Changed => {
                let at = Ctx { now: due, ..*ctx };
                match then {
                    Then::Save => state_changes::apply(&at, tx, before, &mut inst, Accounting::Lenient)?,
                    Then::CallerSaves => state_changes::apply_unsaved(&at, tx, before, &mut inst, Accounting::Lenient)?,
                }
            }
            Settled::Purged => {
                tx.delete::<Instance>(ctx.scope.key(), &inst.id)?;
                return Ok(None);
            }
        }
    }
    Ok(Some(inst))
}

/// Every visible instance of the scope, settled.
pub fn load_all(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Instance>> {
    let all: Vec<Instance> = tx.scan(ctx.scope.key())?;
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
    load_named_with(ctx, tx, IdKind::Instance, ids, |tx, inst| settled(ctx, tx, inst))
}

pub fn save(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    tx.put(ctx.scope.key(), inst)?;
    super::events::instance(tx, ctx.scope.key(), inst, ctx.now)?;
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

pub fn groups_dto(i: &Instance) -> Vec<dto::GroupIdentifier> {
    i.security_groups
        .iter()
        .map(|g| dto::GroupIdentifier { group_id: Some(g.id.to_string()), group_name: Some(g.name.to_string()) })
        .collect()
}

/// The attached volumes as DescribeInstances and DescribeInstanceAttribute show them.
pub fn block_devices_dto(i: &Instance) -> Vec<dto::InstanceBlockDeviceMapping> {
    i.volumes
        .iter()
        .map(|v| dto::InstanceBlockDeviceMapping {
            device_name: Some(v.device_name.to_string()),
            ebs: Some(dto::EbsInstanceBlockDevice {
                attach_time: Some(v.attach_time),
                delete_on_termination: Some(v.delete_on_termination),
                status: Some("attached".into()),
                volume_id: Some(v.volume_id.to_string()),
                ..Default::default()
            }),
        })
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
                attachment_id: Some(i.attachment_id.to_string()),
                delete_on_termination: Some(true),
                device_index: Some(0),
                status: Some("attached".into()),
                network_card_index: Some(0),
                ..Default::default()
            }),
            description: Some(String::new()),
            groups: Some(groups_dto(i)),
            ipv6_addresses: Some(vec![]),
            mac_address: Some(i.mac_address.to_string()),
            network_interface_id: Some(i.network_interface_id.to_string()),
            owner_id: Some(i.owner_id.to_string()),
            private_dns_name: Some(private_dns.clone()),
            private_ip_address: Some(i.private_ip.to_string()),
            private_ip_addresses: Some(vec![dto::InstancePrivateIpAddress {
                association,
                primary: Some(true),
                private_dns_name: Some(private_dns.clone()),
                private_ip_address: Some(i.private_ip.to_string()),
            }]),
            source_dest_check: Some(i.attributes.source_dest_check),
            status: Some("in-use".into()),
            subnet_id: Some(i.subnet_id.to_string()),
            vpc_id: Some(i.vpc_id.to_string()),
            interface_type: Some("interface".into()),
            ..Default::default()
        }]
    };
    dto::Instance {
        instance_id: Some(i.id.to_string()),
        image_id: Some(i.image_id.to_string()),
        state: Some(state_dto(i.state)),
        private_dns_name: Some(private_dns),
        public_dns_name: Some(public_dns),
        state_transition_reason: Some(i.state_transition_reason.to_string()),
        key_name: i.key_name.clone().map(Into::into),
        ami_launch_index: Some(i64::from(i.ami_launch_index)),
        product_codes: Some(vec![]),
        instance_type: Some(i.instance_type.to_string()),
        launch_time: Some(i.launch_time),
        placement: Some(dto::Placement {
            availability_zone: Some(i.availability_zone.to_string()),
            availability_zone_id: Some(i.availability_zone_id.to_string()),
            group_name: Some(String::new()),
            tenancy: Some(i.tenancy.to_string()),
            ..Default::default()
        }),
        platform: i.platform.clone().map(Into::into),
        kernel_id: i.attributes.kernel_id.clone().map(Into::into),
        ramdisk_id: i.attributes.ramdisk_id.clone().map(Into::into),
        monitoring: Some(dto::Monitoring { state: Some(if i.monitoring { "enabled" } else { "disabled" }.into()) }),
        subnet_id: (!terminated).then(|| i.subnet_id.clone()).map(Into::into),
        vpc_id: (!terminated).then(|| i.vpc_id.clone()).map(Into::into),
        private_ip_address: (!terminated).then(|| i.private_ip.clone()).map(Into::into),
        public_ip_address: public_ip,
        architecture: Some(i.architecture.to_string()),
        root_device_type: Some(i.root_device_type.name().into()),
        root_device_name: Some(i.root_device_name.to_string()),
        block_device_mappings: Some(block_devices_dto(i)),
        client_token: Some(i.client_token.clone().unwrap_or_default().to_string()),
        ebs_optimized: flag(i.ebs_optimized),
        ena_support: flag(i.ena_support),
        hypervisor: Some(i.hypervisor.to_string()),
        network_interfaces: Some(network_interfaces),
        security_groups: Some(if terminated { vec![] } else { groups_dto(i) }),
        source_dest_check: (!terminated).then_some(i.attributes.source_dest_check),
        state_reason: i
            .state_reason
            .as_ref()
            .map(|r| dto::StateReason { code: Some(r.code.to_string()), message: Some(r.message.to_string()) }),
        tags: tag_set(&i.tags),
        virtualization_type: Some(i.virtualization_type.to_string()),
        cpu_options: Some(dto::CpuOptions {
            core_count: Some(i64::from(i.cpu_cores)),
            threads_per_core: Some(i64::from(i.threads_per_core)),
            ..Default::default()
        }),
        capacity_reservation_id: i.capacity_reservation_id.clone().map(Into::into),
        capacity_reservation_specification: Some(match &i.capacity_target {
            Some(id) => dto::CapacityReservationSpecificationResponse {
                capacity_reservation_target: Some(dto::CapacityReservationTargetResponse {
                    capacity_reservation_id: Some(id.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            None => dto::CapacityReservationSpecificationResponse {
                capacity_reservation_preference: Some(
                    i.capacity_preference.clone().unwrap_or_else(|| "open".into()).to_string(),
                ),
                ..Default::default()
            },
        }),
        hibernation_options: Some(dto::HibernationOptions { configured: flag(i.hibernation_configured) }),
        metadata_options: Some(super::instance_attributes::metadata_dto(
            i,
            if i.state == InstanceState::Pending { "pending" } else { "applied" },
        )),
        enclave_options: Some(dto::EnclaveOptions { enabled: Some(i.attributes.enclave_enabled) }),
        boot_mode: i.boot_mode.clone().map(Into::into),
        iam_instance_profile: i.attributes.iam_profile.as_ref().map(super::iam_instance_profiles::profile_dto),
        current_instance_boot_mode: i.boot_mode.as_deref().map(|m| current_boot_mode(m).to_string()),
        platform_details: Some(i.platform_details.to_string()),
        usage_operation: Some(i.usage_operation.to_string()),
        usage_operation_update_time: Some(i.launch_time),
        private_dns_name_options: Some(super::instance_attributes::private_dns_dto(i)),
        instance_lifecycle: i
            .spot_request_id
            .as_ref()
            .map(|_| "spot".to_string())
            .or(i.reservation_lifecycle.clone().map(Into::into)),
        spot_instance_request_id: i.spot_request_id.clone().map(Into::into),
        maintenance_options: Some(super::instance_attributes::maintenance_dto(i)),
        network_performance_options: Some(dto::InstanceNetworkPerformanceOptions {
            bandwidth_weighting: Some(
                i.attributes.bandwidth_weighting.clone().unwrap_or_else(|| "default".into()).to_string(),
            ),
        }),
        operator: Some(dto::OperatorResponse {
            managed: Some(i.attributes.operator.is_some()),
            principal: i.attributes.operator.clone().map(Into::into),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A reservation of DescribeInstances without its instances.
fn reservation_head_dto(i: &Instance) -> dto::Reservation {
    dto::Reservation {
        reservation_id: Some(i.reservation_id.to_string()),
        owner_id: Some(i.owner_id.to_string()),
        groups: Some(vec![]),
        ..Default::default()
    }
}

/// Writes `<item>` with what `instance_dto(i)` (plus the interfaces `extra` attached besides the
/// primary one) writes through the generated encoder, straight from the record: the same elements in
/// the generated encoder's order (`dto::Instance::write_members`), without building the DTO's strings.
/// Runs of tags between two values are written as one piece of markup, and every value of the record
/// is escaped. `tests::the_record_writer_writes_what_the_generated_encoder_writes` holds the two together.
fn write_instance(w: &mut XmlWriter, i: &Instance, extra: &[dto::InstanceNetworkInterface]) {
    thread_local! {
        /// The DNS names of the instance being written (each copied into its XML up to three
        /// times): made in one buffer the thread keeps rather than in two strings per instance.
        static DNS_NAMES: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    DNS_NAMES.with_borrow_mut(|names| {
        names.clear();
        let region = region_of(&i.availability_zone);
        if let Some(ip) = i.visible_public_ip() {
            network::write_public_dns_name(names, region, ip);
        }
        let public_end = names.len();
        if i.state != InstanceState::Terminated {
            network::write_private_dns_name(names, region, &i.private_ip);
        }
        let (public_dns, private_dns) = names.split_at(public_end);
        write_instance_named(w, i, extra, public_dns, private_dns);
    });
}

/// [`write_instance`] with the instance's public and private DNS names (`public_dns_name(i)` or
/// nothing, `private_dns_name(i)` or nothing once it is terminated).
fn write_instance_named(
    w: &mut XmlWriter,
    i: &Instance,
    extra: &[dto::InstanceNetworkInterface],
    public_dns: &str,
    private_dns: &str,
) {
    let terminated = i.state == InstanceState::Terminated;
    // The values written up to three times each, searched for characters to escape once.
    let public_ip = i.visible_public_ip().map(Repeated::new);
    let public_dns = Repeated::new(public_dns);
    let private_dns = Repeated::new(private_dns);
    let private_ip = Repeated::new(&i.private_ip);
    let subnet_id = Repeated::new(&i.subnet_id);
    let vpc_id = Repeated::new(&i.vpc_id);
    let association = |w: &mut XmlWriter| {
        if let Some(ip) = public_ip {
            w.markup("<association><ipOwnerId>amazon</ipOwnerId><publicDnsName>");
            w.repeated(public_dns);
            w.markup("</publicDnsName><publicIp>");
            w.repeated(ip);
            w.markup("</publicIp></association>");
        }
    };
    let groups = |w: &mut XmlWriter| {
        if i.security_groups.is_empty() {
            w.markup("<groupSet/>");
            return;
        }
        w.markup("<groupSet>");
        for g in &i.security_groups {
            w.markup("<item><groupId>");
            w.escaped(&g.id);
            w.markup("</groupId><groupName>");
            w.escaped(&g.name);
            w.markup("</groupName></item>");
        }
        w.markup("</groupSet>");
    };
    w.markup("<item><architecture>");
    w.escaped(&i.architecture);
    if i.volumes.is_empty() {
        w.markup("</architecture><blockDeviceMapping/>");
    } else {
        w.markup("</architecture><blockDeviceMapping>");
        for v in &i.volumes {
            w.markup("<item><deviceName>");
            w.escaped(&v.device_name);
            w.markup("</deviceName><ebs><attachTime>");
            w.timestamp_value(v.attach_time);
            w.markup("</attachTime><deleteOnTermination>");
            w.boolean_value(v.delete_on_termination);
            w.markup("</deleteOnTermination><status>attached</status><volumeId>");
            w.escaped(&v.volume_id);
            w.markup("</volumeId></ebs></item>");
        }
        w.markup("</blockDeviceMapping>");
    }
    w.markup("<clientToken>");
    w.escaped(i.client_token.as_deref().unwrap_or_default());
    w.markup("</clientToken><ebsOptimized>");
    w.boolean_value(i.ebs_optimized);
    w.markup("</ebsOptimized><enaSupport>");
    w.boolean_value(i.ena_support);
    w.markup("</enaSupport><hypervisor>");
    w.escaped(&i.hypervisor);
    w.markup("</hypervisor>");
    if let Some(p) = &i.attributes.iam_profile {
        super::iam_instance_profiles::profile_dto(p).write_xml(w, "iamInstanceProfile");
    }
    if i.spot_request_id.is_some() {
        w.markup("<instanceLifecycle>spot</instanceLifecycle>");
    } else if let Some(l) = &i.reservation_lifecycle {
        w.markup("<instanceLifecycle>");
        w.escaped(l);
        w.markup("</instanceLifecycle>");
    }
    if terminated && extra.is_empty() {
        w.markup("<networkInterfaceSet/>");
    } else {
        w.markup("<networkInterfaceSet>");
        if !terminated {
            w.markup("<item>");
            association(w);
            w.markup("<attachment><attachTime>");
            w.timestamp_value(i.launch_time);
            w.markup("</attachTime><attachmentId>");
            w.escaped(&i.attachment_id);
            w.markup(concat!(
                "</attachmentId><deleteOnTermination>true</deleteOnTermination><deviceIndex>0</deviceIndex>",
                "<status>attached</status><networkCardIndex>0</networkCardIndex></attachment>",
                "<description></description>"
            ));
            groups(w);
            w.markup("<ipv6AddressesSet/><macAddress>");
            w.escaped(&i.mac_address);
            w.markup("</macAddress><networkInterfaceId>");
            w.escaped(&i.network_interface_id);
            w.markup("</networkInterfaceId><ownerId>");
            w.escaped(&i.owner_id);
            w.markup("</ownerId><privateDnsName>");
            w.repeated(private_dns);
            w.markup("</privateDnsName><privateIpAddress>");
            w.repeated(private_ip);
            w.markup("</privateIpAddress><privateIpAddressesSet><item>");
            association(w);
            w.markup("<primary>true</primary><privateDnsName>");
            w.repeated(private_dns);
            w.markup("</privateDnsName><privateIpAddress>");
            w.repeated(private_ip);
            w.markup("</privateIpAddress></item></privateIpAddressesSet><sourceDestCheck>");
            w.boolean_value(i.attributes.source_dest_check);
            w.markup("</sourceDestCheck><status>in-use</status><subnetId>");
            w.repeated(subnet_id);
            w.markup("</subnetId><vpcId>");
            w.repeated(vpc_id);
            w.markup("</vpcId><interfaceType>interface</interfaceType></item>");
        }
        for eni in extra {
            eni.write_xml(w, "item");
        }
        w.markup("</networkInterfaceSet>");
    }
    w.markup("<rootDeviceName>");
    w.escaped(&i.root_device_name);
    w.markup("</rootDeviceName><rootDeviceType>");
    w.markup(i.root_device_type.name());
    w.markup("</rootDeviceType>");
    if terminated {
        w.markup("<groupSet/>");
    } else {
        groups(w);
        w.markup("<sourceDestCheck>");
        w.boolean_value(i.attributes.source_dest_check);
        w.markup("</sourceDestCheck>");
    }
    if let Some(id) = &i.spot_request_id {
        w.markup("<spotInstanceRequestId>");
        w.escaped(id);
        w.markup("</spotInstanceRequestId>");
    }
    if let Some(r) = &i.state_reason {
        w.markup("<stateReason><code>");
        w.escaped(&r.code);
        w.markup("</code><message>");
        w.escaped(&r.message);
        w.markup("</message></stateReason>");
    }
    if !i.tags.is_empty() {
        w.markup("<tagSet>");
        for (k, v) in &i.tags {
            w.markup("<item><key>");
            w.escaped(k);
            w.markup("</key><value>");
            w.escaped(v);
            w.markup("</value></item>");
        }
        w.markup("</tagSet>");
    }
    w.markup("<virtualizationType>");
    w.escaped(&i.virtualization_type);
    w.markup("</virtualizationType><cpuOptions><coreCount>");
    w.integer_value(i64::from(i.cpu_cores));
    w.markup("</coreCount><threadsPerCore>");
    w.integer_value(i64::from(i.threads_per_core));
    w.markup("</threadsPerCore></cpuOptions>");
    if let Some(id) = &i.capacity_reservation_id {
        w.markup("<capacityReservationId>");
        w.escaped(id);
        w.markup("</capacityReservationId>");
    }
    match &i.capacity_target {
        Some(id) => {
            w.markup("<capacityReservationSpecification><capacityReservationTarget><capacityReservationId>");
            w.escaped(id);
            w.markup("</capacityReservationId></capacityReservationTarget></capacityReservationSpecification>");
        }
        None => {
            w.markup("<capacityReservationSpecification><capacityReservationPreference>");
            w.escaped(i.capacity_preference.as_deref().unwrap_or("open"));
            w.markup("</capacityReservationPreference></capacityReservationSpecification>");
        }
    }
    w.markup("<hibernationOptions><configured>");
    w.boolean_value(i.hibernation_configured);
    w.markup("</configured></hibernationOptions>");
    // `instance_attributes::metadata_dto`'s elements.
    let m = &i.attributes.metadata;
    if i.state == InstanceState::Pending {
        w.markup("<metadataOptions><state>pending</state><httpTokens>");
    } else {
        w.markup("<metadataOptions><state>applied</state><httpTokens>");
    }
    w.escaped(&m.http_tokens);
    w.markup("</httpTokens><httpPutResponseHopLimit>");
    w.integer_value(m.hop_limit);
    w.markup("</httpPutResponseHopLimit><httpEndpoint>");
    w.escaped(&m.http_endpoint);
    w.markup("</httpEndpoint><httpProtocolIpv6>");
    w.escaped(&m.http_protocol_ipv6);
    w.markup("</httpProtocolIpv6><instanceMetadataTags>");
    w.escaped(&m.instance_metadata_tags);
    w.markup("</instanceMetadataTags></metadataOptions><enclaveOptions><enabled>");
    w.boolean_value(i.attributes.enclave_enabled);
    w.markup("</enabled></enclaveOptions>");
    if let Some(m) = &i.boot_mode {
        w.markup("<bootMode>");
        w.escaped(m);
        w.markup("</bootMode>");
    }
    w.markup("<platformDetails>");
    w.escaped(&i.platform_details);
    w.markup("</platformDetails><usageOperation>");
    w.escaped(&i.usage_operation);
    w.markup("</usageOperation><usageOperationUpdateTime>");
    w.timestamp_value(i.launch_time);
    // `instance_attributes::private_dns_dto`'s and `maintenance_dto`'s elements.
    let p = &i.attributes.private_dns;
    w.markup("</usageOperationUpdateTime><privateDnsNameOptions><hostnameType>");
    w.escaped(&p.hostname_type);
    w.markup("</hostnameType><enableResourceNameDnsARecord>");
    w.boolean_value(p.a_record);
    w.markup("</enableResourceNameDnsARecord><enableResourceNameDnsAAAARecord>");
    w.boolean_value(p.aaaa_record);
    w.markup("</enableResourceNameDnsAAAARecord></privateDnsNameOptions><maintenanceOptions><autoRecovery>");
    w.escaped(&i.attributes.maintenance.auto_recovery);
    w.markup("</autoRecovery><rebootMigration>");
    w.escaped(&i.attributes.maintenance.reboot_migration);
    w.markup("</rebootMigration></maintenanceOptions>");
    if let Some(m) = &i.boot_mode {
        w.markup("<currentInstanceBootMode>");
        w.escaped(current_boot_mode(m));
        w.markup("</currentInstanceBootMode>");
    }
    w.markup("<networkPerformanceOptions><bandwidthWeighting>");
    w.escaped(i.attributes.bandwidth_weighting.as_deref().unwrap_or("default"));
    w.markup("</bandwidthWeighting></networkPerformanceOptions><operator><managed>");
    w.boolean_value(i.attributes.operator.is_some());
    w.markup("</managed>");
    if let Some(p) = &i.attributes.operator {
        w.markup("<principal>");
        w.escaped(p);
        w.markup("</principal>");
    }
    w.markup("</operator><instanceId>");
    w.escaped(&i.id);
    w.markup("</instanceId><imageId>");
    w.escaped(&i.image_id);
    w.markup("</imageId><instanceState><code>");
    w.integer_value(i.state.code());
    w.markup("</code><name>");
    w.markup(i.state.name());
    w.markup("</name></instanceState><privateDnsName>");
    w.repeated(private_dns);
    w.markup("</privateDnsName><dnsName>");
    w.repeated(public_dns);
    w.markup("</dnsName><reason>");
    w.escaped(&i.state_transition_reason);
    w.markup("</reason>");
    if let Some(k) = &i.key_name {
        w.markup("<keyName>");
        w.escaped(k);
        w.markup("</keyName>");
    }
    w.markup("<amiLaunchIndex>");
    w.integer_value(i64::from(i.ami_launch_index));
    w.markup("</amiLaunchIndex><productCodes/><instanceType>");
    w.escaped(&i.instance_type);
    w.markup("</instanceType><launchTime>");
    w.timestamp_value(i.launch_time);
    w.markup("</launchTime><placement><availabilityZoneId>");
    w.escaped(&i.availability_zone_id);
    w.markup("</availabilityZoneId><groupName></groupName><tenancy>");
    w.escaped(&i.tenancy);
    w.markup("</tenancy><availabilityZone>");
    w.escaped(&i.availability_zone);
    w.markup("</availabilityZone></placement>");
    if let Some(k) = &i.attributes.kernel_id {
        w.markup("<kernelId>");
        w.escaped(k);
        w.markup("</kernelId>");
    }
    if let Some(r) = &i.attributes.ramdisk_id {
        w.markup("<ramdiskId>");
        w.escaped(r);
        w.markup("</ramdiskId>");
    }
    if let Some(p) = &i.platform {
        w.markup("<platform>");
        w.escaped(p);
        w.markup("</platform>");
    }
    if i.monitoring {
        w.markup("<monitoring><state>enabled</state></monitoring>");
    } else {
        w.markup("<monitoring><state>disabled</state></monitoring>");
    }
    if !terminated {
        w.markup("<subnetId>");
        w.repeated(subnet_id);
        w.markup("</subnetId><vpcId>");
        w.repeated(vpc_id);
        w.markup("</vpcId><privateIpAddress>");
        w.repeated(private_ip);
        w.markup("</privateIpAddress>");
    }
    if let Some(ip) = public_ip {
        w.markup("<ipAddress>");
        w.repeated(ip);
        w.markup("</ipAddress>");
    }
    w.markup("</item>");
}

/// Groups instances (in listing order) into reservations; a reservation split across pages
/// appears on each page with its instances there.
fn reservations_dto(instances: &[Arc<Instance>]) -> Vec<dto::Reservation> {
    instances
        .chunk_by(|a, b| a.reservation_id == b.reservation_id)
        .map(|group| dto::Reservation {
            instances: Some(group.iter().map(|i| instance_dto(i)).collect()),
            ..reservation_head_dto(&group[0])
        })
        .collect()
}

/// The listing order: launch time, then reservation, then launch index.
fn listing_key(i: &Instance) -> String {
    format!("{:016}/{}/{:05}", i.launch_time.0, i.reservation_id, i.ami_launch_index)
}

/// Sorts in [`listing_key`]'s order without its string (its numbers are written at a fixed width,
/// and reservation IDs, `r-` and 17 hexadecimal digits, at one length). Each record's key is read
/// once, then compared in one array: not, at every comparison, from two records anywhere in memory.
///
/// When every reservation ID is ec2d's own form (`r-` and 17 lowercase hexadecimal digits), the key
/// holds the ID's number instead of a copy of its string: at one length and one case, the numbers
/// compare as the strings do, and three integers compare without a call (the string comparisons were
/// a tenth of the instructions of DescribeInstances of everything).
fn sort_listing<I: std::borrow::Borrow<Instance>>(instances: &mut [I]) {
    if instances.iter().all(|i| reservation_number(&i.borrow().reservation_id).is_some()) {
        instances.sort_by_cached_key(|i| {
            let i = i.borrow();
            (i.launch_time.0, reservation_number(&i.reservation_id).unwrap_or_default(), i.ami_launch_index)
        });
        return;
    }
    instances.sort_by_cached_key(|i| {
        let i = i.borrow();
        (i.launch_time.0, i.reservation_id.clone(), i.ami_launch_index)
    });
}

/// The number of a reservation ID of ec2d's form, `r-` and 17 lowercase hexadecimal digits; `None`
/// for any other text.
fn reservation_number(id: &str) -> Option<u128> {
    let digits = id.strip_prefix("r-").filter(|d| d.len() == 17)?;
    let mut n = 0u128;
    for b in digits.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        n = n << 4 | u128::from(digit);
    }
    Some(n)
}

// ---------------------------------------------------------------------------------------------
// RunInstances

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

pub fn run_instances(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RunInstancesRequest) -> Result<dto::Reservation> {
    let launched = run_instances_launched(ctx, tx, req)?;
    Ok(reservation(&launched.owner_id, &launched.reservation_id, &launched.instances))
}

/// RunInstances: its reservation, written by [`Launched::encode`] once the transaction is over.
pub fn run_instances_launched(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RunInstancesRequest) -> Result<Launched> {
    // A launch from a launch template: the template's version under the request's own parameters,
    // and the instances tagged with the template and version (launch_templates.rs).
    if let Some(spec) = &req.launch_template {
        launch_templates::check_spec(spec)?;
        dry_run_gate(ctx, req.dry_run)?;
        let resolved = launch_templates::resolve(ctx, tx, spec)?;
        let merged = launch_templates::run_request(req, &resolved.data)?;
        return run_instances_with(ctx, tx, &merged, launch_templates::launch_tags(&resolved));
    }
    run_instances_with(ctx, tx, req, Vec::new())
}

/// RunInstances, with tags to put on the instances beyond the request's own (`aws:` tags).
fn run_instances_with(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RunInstancesRequest,
    instance_tags: Vec<(String, String)>,
) -> Result<Launched> {
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
            Code::InstanceLimitExceeded,
            format!("You have requested more instances ({min}) than ec2d launches in one request ({MAX_LAUNCH})."),
        )
        .into());
    }
    let mut specs = tag_specifications(
        &req.tag_specifications,
        &["instance", "volume", "network-interface", "spot-instances-request"],
    )?;
    if !instance_tags.is_empty() {
        specs.push(("instance".into(), instance_tags));
    }
    let mut plan = launch::plan(ctx, req, max, &specs)?;
    let market = super::spot::market_options(ctx, req)?;
    dry_run_gate(ctx, req.dry_run)?;
    // A burstable instance launches with the account's default credit option unless it asks for one.
    if plan.options.cpu_credits.is_none() {
        plan.options.cpu_credits =
            super::credit_specifications::launch_default(ctx, tx, &plan.instance_type)?.map(Into::into);
    }
    launch::resolve_network(ctx, tx, req, &mut plan)?;
    super::key_pairs::check_launch_key(ctx, tx, req.key_name.as_deref())?;

    // Idempotency: the same token and parameters give the same reservation. A token is regional,
    // or zonal when the request names a zone or a subnet.
    let token_key = req.client_token.as_ref().map(|t| {
        let zonal = req.placement.as_ref().is_some_and(|p| p.availability_zone.is_some()) || req.subnet_id.is_some();
        if zonal {
            format!("RunInstances/{}/{t}", plan.zone)
        } else {
            format!("RunInstances/{t}")
        }
    });
    // The request's digest matters only with a token.
    let fp = match token_key {
        Some(_) => fingerprint(&dto::RunInstancesRequest { client_token: None, dry_run: None, ..req.clone() }),
        None => String::new(),
    };
    // The token's resources: the reservation, then its instances.
    if let Some(resources) = replay(ctx, tx, token_key.as_deref(), &fp)? {
        let (reservation_id, ids) = resources.split_first().map_or((String::new(), &[][..]), |(r, i)| (r.clone(), i));
        {
            let mut instances = Vec::new();
            for id in ids {
                if let Some(inst) = tx.get::<Instance>(ctx.scope.key(), id)? {
                    if let Some(i) = settled(ctx, tx, inst)? {
                        instances.push(Arc::new(i));
                    }
                }
            }
            if instances.is_empty() {
                return Err(Ec2Error::new(
                    Code::IdempotentInstanceTerminated,
                    "The instances launched with this client token have been terminated.",
                )
                .into());
            }
            return Ok(Launched { reservation_id, owner_id: ctx.scope.account.clone(), instances });
        }
    }
    launch::check_image(ctx, tx, &plan)?;
    let count = super::capacity_pools::launchable(ctx, tx, &plan, min, max.min(MAX_LAUNCH), market.is_some())?;
    let count = super::subnets::launchable(ctx, tx, &plan.subnet_id, min, count)?;
    let reservation_id = super::common::new_id(ctx, tx, IdKind::Reservation)?;
    // The launched instances are shared with the store: the answer reads them, nothing copies them.
    let mut instances: Vec<Arc<Instance>> = match market {
        Some(options) => super::spot::run_spot(ctx, tx, &plan, count, &reservation_id, &options, &specs)?
            .into_iter()
            .map(Arc::new)
            .collect(),
        None => launch::launch_shared(ctx, tx, &plan, count, &reservation_id, None)?,
    };
    let volume_tags = super::common::tags_for(&specs, "volume");
    if !volume_tags.is_empty() {
        for v in instances.iter().flat_map(|i| i.volumes.iter()) {
            super::volumes::put_tags(ctx, tx, &v.volume_id, "volume", &volume_tags)?;
        }
    }
    if let Some(profile) = &plan.iam_profile {
        for inst in instances.iter_mut() {
            let inst = Arc::make_mut(inst);
            super::iam_instance_profiles::associate(ctx, tx, inst, profile.clone())?;
            save(ctx, tx, inst)?;
        }
    }
    if token_key.is_some() {
        let resources =
            std::iter::once(reservation_id.clone()).chain(instances.iter().map(|i| i.id.to_string())).collect();
        remember(ctx, tx, token_key, fp, resources)?;
    }
    Ok(Launched { reservation_id, owner_id: ctx.scope.account.clone(), instances })
}

fn reservation(owner_id: &str, reservation_id: &str, instances: &[Arc<Instance>]) -> dto::Reservation {
    dto::Reservation {
        reservation_id: Some(reservation_id.to_string()),
        owner_id: Some(owner_id.to_string()),
        groups: Some(vec![]),
        instances: Some(instances.iter().map(|i| instance_dto(i)).collect()),
        ..Default::default()
    }
}

/// What RunInstances launched (or, for a repeated client token, launched before): its answer is
/// written straight from the records once the transaction is over, without building the result's tree.
pub struct Launched {
    reservation_id: String,
    owner_id: String,
    instances: Vec<Arc<Instance>>,
}

impl Launched {
    /// The whole RunInstances answer: the same XML as the generated encoder writes for
    /// [`run_instances`]' result.
    pub fn encode(self, request_id: &str) -> String {
        let size = INSTANCE_XML_BYTES * self.instances.len() + 1024;
        ec2_protocol::encode_response_with("RunInstances", request_id, size, |w| {
            w.text("reservationId", &self.reservation_id);
            w.text("ownerId", &self.owner_id);
            w.empty("groupSet");
            if self.instances.is_empty() {
                w.empty("instancesSet");
                return;
            }
            w.open("instancesSet");
            for i in &self.instances {
                write_instance(w, i, &[]);
            }
            w.close("instancesSet");
        })
    }
}

// ---------------------------------------------------------------------------------------------
// DescribeInstances / DescribeInstanceStatus

/// DescribeInstances: the page of instances, written by [`Listing::encode`] once the transaction is over.
pub fn describe_instances_listing(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstancesRequest,
) -> Result<Listing> {
    let ids = well_formed_refs(IdKind::Instance, req.instance_ids.as_deref().unwrap_or_default())?;
    let mut filters = filters(&INSTANCE_FILTERS, &req.filters)?;
    normalize_state_codes(&mut filters);
    if !ids.is_empty() && req.max_results.is_some() {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut instances = if ids.is_empty() { load_all_shared(ctx, tx)? } else { load_many_shared(ctx, tx, &ids)? };
    instances.retain(|i| INSTANCE_FILTERS.matches(i, &filters));
    sort_listing(&mut instances);
    let (page, next_token) = paginate(
        instances,
        |i| listing_key(i),
        req.max_results,
        req.next_token.as_deref(),
        &describe_instances_bounds(),
    )?;
    // Interfaces attached besides the primary one (network_interfaces.rs), read inside the transaction.
    let attached = super::network_interfaces::attached(ctx, tx, &page)?;
    Ok(Listing { page, next_token, attached })
}

pub fn describe_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstancesRequest,
) -> Result<dto::DescribeInstancesResult> {
    let listing = describe_instances_listing(ctx, tx, req)?;
    let mut reservations = reservations_dto(&listing.page);
    for inst in reservations.iter_mut().flat_map(|r| r.instances.iter_mut().flatten()) {
        listing.add_attached(inst);
    }
    Ok(dto::DescribeInstancesResult { reservations: Some(reservations), next_token: listing.next_token })
}

/// Every visible instance of the scope, settled, shared with the store: only the records that settling
/// changes are copied.
fn load_all_shared(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Vec<Arc<Instance>>> {
    let all: Vec<Arc<Instance>> = tx.scan_shared(ctx.scope.key())?;
    let mut out = Vec::with_capacity(all.len());
    for inst in all {
        if let Some(i) = settled_shared(ctx, tx, inst)? {
            out.push(i);
        }
    }
    Ok(out)
}

/// The named instances, settled, in the order named, shared with the store: only the records that settling
/// changes are copied. Every unknown ID is reported at once.
fn load_many_shared(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[&str]) -> Result<Vec<Arc<Instance>>> {
    super::common::load_named_shared_with(ctx, tx, IdKind::Instance, ids, |tx, inst| settled_shared(ctx, tx, inst))
}

/// [`settled`] of a record shared with the store: copied only when a transition is due (a Spot
/// Instance is settled with its request, never here). The settled record is saved once, shared with
/// the caller: the store and the answer hold one copy, not two (two copies made one after the other
/// for each record of a listing lie interleaved in the allocator's pages, so the answer's, freed once
/// sent, left those pages half used: 16 MiB of RSS after the first settling of 11,000 instances).
fn settled_shared(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: Arc<Instance>) -> Result<Option<Arc<Instance>>> {
    let due = inst.pending.is_some_and(|p| p.due <= ctx.now);
    if !due || inst.spot_request_id.is_some() {
        return Ok(Some(inst));
    }
    // Each transition's consequences are carried out as `settled` does; the record is saved after the
    // last one rather than after each (nothing in between reads it), and only if settling changed it.
    let Some(now) = settled_then(ctx, tx, (*inst).clone(), Then::CallerSaves)? else { return Ok(None) };
    if now == *inst {
        return Ok(Some(inst));
    }
    let now = Arc::new(now);
    tx.put_shared(ctx.scope.key(), Arc::clone(&now))?;
    Ok(Some(now))
}

/// A page of DescribeInstances: the instances in listing order, and the token of the next page.
pub struct Listing {
    page: Vec<Arc<Instance>>,
    next_token: Option<String>,
    /// By instance ID, the interfaces attached besides the primary one, after it by device index.
    attached: std::collections::BTreeMap<String, Vec<dto::InstanceNetworkInterface>>,
}

/// How many instances ahead of the one being written [`ListingPieces`] reads with [`warm`].
const WARM_AHEAD: usize = 2;

/// Reads the first byte of every string [`write_instance`] writes, and returns their sum (for
/// `black_box`), to bring a record into the cache before it is written. The records of a listing lie
/// wherever their last change put them, and each string is its own allocation: written one after the
/// other, each waits for its record and then for its strings in turn. Read here all at once (they do
/// not depend on one another), they arrive together.
fn warm(i: &Instance) -> usize {
    fn first(s: &str) -> usize {
        s.as_bytes().first().copied().map_or(0, usize::from)
    }
    fn opt<S: std::ops::Deref<Target = str>>(s: &Option<S>) -> usize {
        s.as_deref().map_or(0, first)
    }
    let a = &i.attributes;
    let mut sum = first(&i.id)
        + first(&i.reservation_id)
        + first(&i.owner_id)
        + first(&i.image_id)
        + first(&i.instance_type)
        + opt(&i.key_name)
        + opt(&i.client_token)
        + first(&i.availability_zone)
        + first(&i.availability_zone_id)
        + first(&i.tenancy)
        + first(&i.vpc_id)
        + first(&i.subnet_id)
        + first(&i.private_ip)
        + opt(&i.public_ip)
        + first(&i.network_interface_id)
        + first(&i.attachment_id)
        + first(&i.mac_address)
        + first(&i.root_device_name)
        + first(&i.architecture)
        + first(&i.virtualization_type)
        + first(&i.hypervisor)
        + first(&i.platform_details)
        + first(&i.usage_operation)
        + first(&i.state_transition_reason)
        + first(&a.metadata.http_tokens)
        + first(&a.metadata.http_endpoint)
        + first(&a.metadata.http_protocol_ipv6)
        + first(&a.metadata.instance_metadata_tags)
        + first(&a.private_dns.hostname_type)
        + first(&a.maintenance.auto_recovery)
        + first(&a.maintenance.reboot_migration);
    for v in &i.volumes {
        sum += first(&v.device_name) + first(&v.volume_id);
    }
    for g in &i.security_groups {
        sum += first(&g.id) + first(&g.name);
    }
    for (k, v) in &i.tags {
        sum += first(k) + first(v);
    }
    sum
}

/// About the size of one instance in DescribeInstances' XML, to size a piece's buffer once.
const INSTANCE_XML_BYTES: usize = 4608;

/// About how many bytes of DescribeInstances' XML [`ListingPieces`] writes at a time.
pub const PIECE_BYTES: usize = 64 * 1024;

impl Listing {
    /// The whole DescribeInstances answer: its [`Listing::pieces`] joined. The same XML as the
    /// generated encoder of `DescribeInstancesResult` writes for [`describe_instances`]' result.
    pub fn encode(self, request_id: &str) -> String {
        self.pieces(request_id).collect()
    }

    /// The DescribeInstances answer in pieces of about [`PIECE_BYTES`], each written when it is asked
    /// for, straight from the records: a page of 10,000 instances is sent without one buffer of all
    /// its XML. Boxed once here, as the server's answer body keeps it: the reply carries a pointer,
    /// not the whole state, through the moves on its way there.
    pub fn pieces(self, request_id: &str) -> Box<ListingPieces> {
        Box::new(ListingPieces { listing: self, request_id: request_id.to_string(), next: 0, done: false })
    }

    /// Appends the interfaces attached to this instance besides its primary one.
    fn add_attached(&self, inst: &mut dto::Instance) {
        let Some(extra) = inst.instance_id.as_deref().and_then(|id| self.attached.get(id)) else { return };
        inst.network_interfaces.get_or_insert_with(Vec::new).extend(extra.iter().cloned());
    }
}

/// DescribeInstances' XML, piece by piece: `DescribeInstancesResult::write_output_members` between
/// the response's root, with each reservation (`Reservation::write_members`, whose `instancesSet`
/// comes last) written instance by instance.
pub struct ListingPieces {
    listing: Listing,
    request_id: String,
    /// The next instance of the page to write.
    next: usize,
    done: bool,
}

impl Listing {
    /// How many instances the page holds.
    pub fn len(&self) -> usize {
        self.page.len()
    }

    /// Whether the page is empty.
    pub fn is_empty(&self) -> bool {
        self.page.is_empty()
    }

    /// Writes the answer's XML from instance `from` on, until `w` holds `bytes` or instance `to` is
    /// reached, and returns the next instance to write: the response's opening before instance 0 and
    /// its end after the last. The pieces written over consecutive ranges, joined, are the whole answer
    /// whatever the ranges (a reservation split between two is closed and reopened by neither: its
    /// `instancesSet` stays open across the boundary), so that ranges can be written apart and sent in order.
    pub fn write_range(&self, w: &mut XmlWriter, request_id: &str, from: usize, to: usize, bytes: usize) -> usize {
        let page = &self.page;
        let to = to.min(page.len());
        let mut next = from;
        if next == 0 {
            // `ec2_protocol::open_response`'s opening, its constant part one piece of markup.
            w.markup(ec2_protocol::response_opening!("DescribeInstances"));
            w.escaped(request_id);
            w.markup("</requestId>");
            if let Some(token) = &self.next_token {
                w.text("nextToken", token);
            }
            if page.is_empty() {
                w.markup("<reservationSet/></DescribeInstancesResponse>");
                return 0;
            }
            w.markup("<reservationSet>");
        }
        while next < to && w.len() < bytes {
            if let Some(ahead) = page.get(next + WARM_AHEAD).filter(|_| next + WARM_AHEAD < to) {
                std::hint::black_box(warm(ahead));
            }
            let i = &page[next];
            let first_of_reservation = next == 0 || page[next - 1].reservation_id != i.reservation_id;
            if first_of_reservation {
                if next > 0 {
                    w.markup("</instancesSet></item>");
                }
                // `reservation_head_dto(i)`'s members, then its instances.
                w.markup("<item><reservationId>");
                w.escaped(&i.reservation_id);
                w.markup("</reservationId><ownerId>");
                w.escaped(&i.owner_id);
                w.markup("</ownerId><groupSet/><instancesSet>");
            }
            write_instance(w, i, self.attached.get(i.id.as_str()).map(Vec::as_slice).unwrap_or_default());
            next += 1;
        }
        if next == page.len() {
            w.markup("</instancesSet></item></reservationSet></DescribeInstancesResponse>");
        }
        next
    }

    /// A buffer for a piece of about `instances` instances (at most [`PIECE_BYTES`] and one more): a
    /// spare one of this thread's ([`keep_spare`]) when it is small enough for one.
    pub fn piece_writer(instances: usize) -> XmlWriter {
        let bytes = PIECE_BYTES.min(instances * INSTANCE_XML_BYTES) + INSTANCE_XML_BYTES;
        if bytes <= SPARE_BYTES {
            if let Some(spare) = SPARES.try_with(|spares| spares.borrow_mut().pop()).ok().flatten() {
                return XmlWriter::with_buffer(spare);
            }
            // Made with the room every piece kept as a spare has, so that any spare fits any small piece.
            return XmlWriter::with_buffer(String::with_capacity(SPARE_BYTES));
        }
        let mut w = XmlWriter::default();
        w.reserve(bytes);
        w
    }
}

/// The room of a small piece's buffer (a page of one or two instances): such buffers are kept for the
/// next small answer ([`keep_spare`]) rather than freed. A buffer of this size takes the allocator's
/// slow path every time (about 300 instructions to make, and its page given back when it is freed),
/// and the light DescribeInstances of one instance makes one per request.
pub const SPARE_BYTES: usize = 16 * 1024;

/// How many small buffers a thread keeps: at most 64 KiB per thread.
const MOST_SPARES: usize = 4;

thread_local! {
    static SPARES: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Keeps a piece's buffer, once sent, for the next small piece written on this thread: if it has the
/// room of a small piece ([`SPARE_BYTES`]) and the thread keeps fewer than [`MOST_SPARES`]. Any other
/// is freed.
pub fn keep_spare(buffer: String) {
    if buffer.capacity() != SPARE_BYTES {
        return;
    }
    // Not at all while the thread ends (its spares are gone by then).
    let _ = SPARES.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        if spares.len() < MOST_SPARES {
            spares.push(buffer);
        }
    });
}

impl Iterator for ListingPieces {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.done {
            return None;
        }
        let len = self.listing.page.len();
        let mut w = Listing::piece_writer(len.saturating_sub(self.next));
        self.next = self.listing.write_range(&mut w, &self.request_id, self.next, len, PIECE_BYTES);
        self.done = self.next == len;
        Some(w.finish())
    }
}

impl ListingPieces {
    /// The listing and the request ID, for a writer of its own (the server's two encoders).
    pub fn into_parts(self) -> (Listing, String) {
        (self.listing, self.request_id)
    }

    /// Whether the last piece was taken.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether no piece was taken yet.
    pub fn from_the_start(&self) -> bool {
        self.next == 0 && !self.done
    }

    /// The page being written.
    pub fn listing(&self) -> &Listing {
        &self.listing
    }
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
            Code::InvalidParameterCombination,
            "The parameter instancesSet cannot be used with the parameter maxResults",
        )
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
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
        paginate(views, |v| v.instance.id.to_string(), req.max_results, req.next_token.as_deref(), &status_bounds())?;
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
            instance_id: Some(v.instance.id.to_string()),
            availability_zone: Some(v.instance.availability_zone.to_string()),
            availability_zone_id: Some(v.instance.availability_zone_id.to_string()),
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
            operator: Some(dto::OperatorResponse {
                managed: Some(v.instance.attributes.operator.is_some()),
                principal: v.instance.attributes.operator.clone().map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(dto::DescribeInstanceStatusResult { instance_statuses: Some(statuses), next_token: next })
}

// ---------------------------------------------------------------------------------------------
// Start / Stop / Terminate / Reboot

/// The named instances, after the syntax check, the dry-run gate and the existence check. With
/// `then` [`Then::CallerSaves`], the caller saves every one (`commit`) or fails.
fn prepare(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    ids: &Option<Vec<String>>,
    dry_run: Option<bool>,
    then: Then,
) -> Result<Vec<Instance>> {
    // Distinct IDs: an instance is settled once.
    let ids = well_formed(IdKind::Instance, ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, dry_run)?;
    load_named_with(ctx, tx, IdKind::Instance, &ids, |tx, inst| settled_then(ctx, tx, inst, then))
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

/// Applies the consequences of the changes and saves the instances (`state_changes::apply`);
/// returns the changes as the wire lists them.
/// The instances are saved shared with the store (not copied) and handed back for reading.
fn commit(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    instances: Vec<Instance>,
    changes: &[StateChange],
) -> Result<(Vec<dto::InstanceStateChange>, Vec<Arc<Instance>>)> {
    let mut saved = Vec::with_capacity(instances.len());
    for (inst, change) in instances.into_iter().zip(changes) {
        saved.push(state_changes::apply_shared(ctx, tx, Before::state(change.previous), inst, Accounting::Strict)?);
    }
    Ok((changes.iter().map(state_change_dto).collect(), saved))
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
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run, Then::CallerSaves)?;
    super::spot::check_stop(ctx, tx, &instances)?;
    let changes = apply(&mut instances, |i| lifecycle::stop(i, ctx.now, opts, ctx.durations))?;
    let (changes, instances) = commit(ctx, tx, instances, &changes)?;
    super::spot::after_user_action(ctx, tx, &instances, false)?;
    Ok(dto::StopInstancesResult { stopping_instances: Some(changes) })
}

pub fn start_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::StartInstancesRequest,
) -> Result<dto::StartInstancesResult> {
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run, Then::CallerSaves)?;
    super::spot::check_start(ctx, tx, &instances)?;
    let changes = apply(&mut instances, |i| lifecycle::start(i, ctx.now, ctx.durations))?;
    // A started instance gets a new public address (the old one was released when it stopped).
    for inst in instances.iter_mut().filter(|i| i.state == InstanceState::Pending && i.public_ip.is_none()) {
        inst.public_ip = Some(network::public_ip(tx.next_id("public_ip")? - 1).into());
    }
    let (changes, instances) = commit(ctx, tx, instances, &changes)?;
    super::spot::after_user_action(ctx, tx, &instances, true)?;
    Ok(dto::StartInstancesResult { starting_instances: Some(changes) })
}

pub fn terminate_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::TerminateInstancesRequest,
) -> Result<dto::TerminateInstancesResult> {
    let mut instances = prepare(ctx, tx, &req.instance_ids, req.dry_run, Then::CallerSaves)?;
    let changes = apply(&mut instances, |i| lifecycle::terminate(i, ctx.now, ctx.durations))?;
    // A terminated instance gives back its interfaces, their addresses and its Elastic IPs in
    // `state_changes::apply`.
    Ok(dto::TerminateInstancesResult { terminating_instances: Some(commit(ctx, tx, instances, &changes)?.0) })
}

pub fn reboot_instances(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RebootInstancesRequest) -> Result<()> {
    let instances = prepare(ctx, tx, &req.instance_ids, req.dry_run, Then::Save)?;
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
    settings: &super::Settings,
    tx: &mut Txn<'_>,
    now: ec2_core::UnixMillis,
    id: &str,
    hold: bool,
) -> Result<Option<InstanceState>> {
    let Some(scope_key) = find_scope(tx, id)? else { return Ok(None) };
    let scope = super::scope_of_key(&scope_key);
    let ctx = Ctx::new(settings, &scope, now);
    let Some(mut inst) = load_many(&ctx, tx, &[id.to_string()]).ok().and_then(|mut v| v.pop()) else {
        return Ok(None);
    };
    let before = Before::of(&inst);
    if hold {
        lifecycle::hold_stopping(&mut inst);
    } else {
        lifecycle::release_stopping(&mut inst, now, ctx.durations);
    }
    state_changes::apply(&ctx, tx, before, &mut inst, Accounting::Lenient)?;
    Ok(Some(inst.state))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A page of `n` instances made from the golden ones (seven to a reservation), in listing order.
    pub(crate) fn page_of(n: usize) -> Listing {
        let base = golden_instances();
        let generator = ec2_core::ids::IdGen::new(11);
        let page = (0..n as u64)
            .map(|k| {
                let mut i = base[(k as usize) % base.len()].clone();
                i.id = generator.id(IdKind::Instance, k).into();
                i.reservation_id = generator.id(IdKind::Reservation, k / 7).into();
                i.launch_time = ec2_time::UnixMillis(1_700_000_000_000 + (k / 7) as i64);
                i.ami_launch_index = (k % 7) as u32;
                Arc::new(i)
            })
            .collect();
        Listing { page, next_token: Some("more".into()), attached: Default::default() }
    }

    /// The instances of the golden format-1 data set (launched by RunInstances and Spot requests).
    fn golden_instances() -> Vec<Instance> {
        let text = include_str!("../../../ec2-store/tests/golden/format1/documents.json");
        let set: serde_json::Value = serde_json::from_str(text).unwrap();
        let docs = set["documents"].as_array().unwrap();
        let instances: Vec<Instance> = docs
            .iter()
            .filter(|d| d["kind"] == "instance")
            .map(|d| ec2_store::format::decode(d["id"].as_str().unwrap(), &d["doc"].to_string()).unwrap())
            .collect();
        assert!(instances.len() >= 3);
        instances
    }

    fn through_the_result(listing: &Listing) -> String {
        let mut reservations = reservations_dto(&listing.page);
        for inst in reservations.iter_mut().flat_map(|r| r.instances.iter_mut().flatten()) {
            listing.add_attached(inst);
        }
        let result =
            dto::DescribeInstancesResult { reservations: Some(reservations), next_token: listing.next_token.clone() };
        ec2_protocol::encode_response(&ec2_protocol::Response::DescribeInstances(result), "req-1")
    }

    #[test]
    fn the_listing_order_is_the_order_of_its_keys() {
        let base = golden_instances();
        let generator = ec2_core::ids::IdGen::new(7);
        let mut instances = Vec::new();
        for n in 0..60u64 {
            let mut i = base[(n as usize) % base.len()].clone();
            // Launches at a few times, several reservations per time, several instances per reservation.
            i.launch_time = ec2_time::UnixMillis(1_700_000_000_000 + (n % 3) as i64 * 999);
            i.reservation_id = generator.id(IdKind::Reservation, n % 7).into();
            i.ami_launch_index = ((n * 37) % 11) as u32;
            instances.push(i);
        }
        let keys = |v: &[Instance]| v.iter().map(listing_key).collect::<Vec<_>>();
        let mut by_key = instances.clone();
        by_key.sort_by_cached_key(listing_key);
        let mut sorted = instances.clone();
        sort_listing(&mut sorted);
        assert_eq!(keys(&sorted), keys(&by_key));
        // One reservation ID of another form: the listing falls back to the strings, in the same order.
        instances[5].reservation_id = "r-0000000000000000g".into();
        instances[6].reservation_id = "r-FFFFFFFFFFFFFFFFF".into();
        let mut by_key = instances.clone();
        by_key.sort_by_cached_key(listing_key);
        sort_listing(&mut instances);
        assert_eq!(keys(&instances), keys(&by_key));
    }

    #[test]
    fn a_reservation_number_orders_as_its_id() {
        let ids = [
            "r-00000000000000000",
            "r-0000000000000000f",
            "r-00000000000000010",
            "r-0a000000000000000",
            "r-fffffffffffffffff",
        ];
        let numbers: Vec<u128> = ids.iter().map(|id| reservation_number(id).unwrap()).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
        assert_eq!(reservation_number("r-fffffffffffffffff"), Some((1u128 << 68) - 1));
        for other in [
            "r-0000000000000000",
            "r-000000000000000000",
            "r-0000000000000000F",
            "x-00000000000000000",
            "r-0000000000000000-",
            "",
        ] {
            assert_eq!(reservation_number(other), None, "{other}");
        }
    }

    #[test]
    fn a_listing_writes_what_the_generated_encoder_writes() {
        let mut instances = golden_instances();
        // Two instances of one reservation, listed together, and one of them terminated.
        instances[1].reservation_id = instances[0].reservation_id.clone();
        instances[1].launch_time = instances[0].launch_time;
        instances[1].state = InstanceState::Terminated;
        instances.sort_by_cached_key(listing_key);
        let page: Vec<Arc<Instance>> = instances.into_iter().map(Arc::new).collect();
        let reservations = page.chunk_by(|a, b| a.reservation_id == b.reservation_id).count();
        assert!(reservations < page.len(), "some reservation holds two instances");
        for next_token in [None, Some("ec2d0a<&".to_string())] {
            let listing = Listing { page: page.clone(), next_token, attached: Default::default() };
            let expected = through_the_result(&listing);
            let xml = listing.encode("req-1");
            assert_eq!(xml, expected);
            assert_eq!(xml.matches("<instancesSet>").count(), reservations);
            assert!(xml.contains(&format!("<instanceId>{}</instanceId>", page[0].id)));
        }
        let empty = Listing { page: vec![], next_token: None, attached: Default::default() };
        let expected = through_the_result(&empty);
        let xml = empty.encode("req-1");
        assert_eq!(xml, expected);
        assert!(xml.contains("<reservationSet/>"));
    }

    /// A page written over any split into consecutive ranges (reservations split between two ranges
    /// among them), the pieces joined, is the whole answer.
    #[test]
    fn ranges_joined_are_the_whole_answer() {
        let listing = page_of(40);
        let whole = through_the_result(&listing);
        let mut w = XmlWriter::default();
        assert_eq!(listing.write_range(&mut w, "req-1", 0, listing.len(), usize::MAX), listing.len());
        assert_eq!(w.finish(), whole);
        for step in [1, 3, 5, 7, 16, 40, 41] {
            let mut joined = String::new();
            let mut from = 0;
            loop {
                let mut w = XmlWriter::default();
                let next = listing.write_range(&mut w, "req-1", from, from + step, usize::MAX);
                joined.push_str(&w.finish());
                if next == listing.len() {
                    break;
                }
                assert_eq!(next, from + step);
                from = next;
            }
            assert_eq!(joined, whole, "ranges of {step}");
        }
        let empty = Listing { page: vec![], next_token: None, attached: Default::default() };
        let mut w = XmlWriter::default();
        assert_eq!(empty.write_range(&mut w, "req-1", 0, 16, usize::MAX), 0);
        assert_eq!(w.finish(), through_the_result(&empty));
    }

    /// A small piece's buffer, kept once sent, is the next small piece's; a thread keeps a few at most,
    /// and never a large piece's.
    #[test]
    fn a_small_pieces_buffer_is_kept_for_the_next() {
        std::thread::spawn(|| {
            let mut first = Listing::piece_writer(1);
            first.markup("<a/>");
            let first = first.finish();
            assert_eq!(first.capacity(), SPARE_BYTES);
            let at = first.as_ptr();
            keep_spare(first);
            let again = Listing::piece_writer(2);
            assert!(again.is_empty());
            let again = again.finish();
            assert_eq!(again.as_ptr(), at, "the kept buffer");
            // A piece of three instances or more is not written in a spare, nor kept.
            let large = Listing::piece_writer(3).finish();
            assert!(large.capacity() > SPARE_BYTES);
            keep_spare(large);
            keep_spare(String::with_capacity(100));
            assert_eq!(SPARES.with_borrow(Vec::len), 0);
            for _ in 0..10 {
                keep_spare(String::with_capacity(SPARE_BYTES));
            }
            assert_eq!(SPARES.with_borrow(Vec::len), MOST_SPARES);
            // Each answer still writes only its own bytes, in a spare that held another's.
            let whole = page_of(1).encode("req-1");
            while SPARES.with_borrow(Vec::len) > 0 {
                drop(Listing::piece_writer(1));
            }
            keep_spare({
                let mut dirty = String::with_capacity(SPARE_BYTES);
                dirty.push_str("left over");
                dirty
            });
            assert_eq!(SPARES.with_borrow(Vec::len), 1);
            let pieces: Vec<String> = page_of(1).pieces("req-1").collect();
            assert_eq!(SPARES.with_borrow(Vec::len), 0, "the piece was written in the spare");
            assert_eq!(pieces, [whole]);
        })
        .join()
        .unwrap();
    }

    /// The pieces say they are done as soon as the last one is taken, not before.
    #[test]
    fn the_pieces_are_done_with_the_last() {
        for n in [0, 1, 40, 200] {
            let mut pieces = page_of(n).pieces("req-1");
            let mut taken = 0;
            while !pieces.is_done() {
                assert!(pieces.next().is_some(), "{n}");
                taken += 1;
            }
            assert!(pieces.next().is_none());
            // A page of a few instances is one piece; one of 40 (about 180 KiB) several.
            assert_eq!(taken == 1, n <= 1, "{n}: {taken}");
        }
    }

    /// RunInstances' answer written from the records is the generated encoder's of its result.
    #[test]
    fn a_launch_writes_what_the_generated_encoder_writes() {
        let page: Vec<Arc<Instance>> = golden_instances().into_iter().map(Arc::new).collect();
        for instances in [page.clone(), page[..1].to_vec(), vec![]] {
            let launched =
                Launched { reservation_id: "r-0123456789abcdef0".into(), owner_id: "123456789012".into(), instances };
            let result = reservation(&launched.owner_id, &launched.reservation_id, &launched.instances);
            let expected = ec2_protocol::encode_response(&ec2_protocol::Response::RunInstances(result), "req-1");
            let n = launched.instances.len();
            let xml = launched.encode("req-1");
            assert_eq!(xml, expected);
            assert_eq!(xml.matches("<instanceId>").count(), n);
            assert!(xml.contains("<reservationId>r-0123456789abcdef0</reservationId>"));
        }
    }

    /// Every optional part of an instance's XML, in every state: the record writer and the generated
    /// encoder of `instance_dto` write the same bytes.
    #[test]
    fn the_record_writer_writes_what_the_generated_encoder_writes() {
        let base = golden_instances();
        let mut variants = Vec::new();
        for (n, state) in InstanceState::ALL.into_iter().enumerate() {
            for (k, template) in base.iter().enumerate() {
                let mut i = template.clone();
                i.id = format!("i-{n:02}{k:02}abcdef0123456").into();
                i.state = state;
                if (n + k) % 2 == 0 {
                    i.tags.insert("Name".into(), "a<b & 'c' \"d\"\r".into());
                    i.tags.insert("empty".into(), String::new());
                    i.state_reason = Some(ec2_core::instances::StateReason::new("Client.UserInitiatedShutdown", "x>y"));
                    i.key_name = Some("key&1".into());
                    i.capacity_target = Some("cr-0123456789abcdef0".into());
                    i.capacity_reservation_id = Some("cr-0123456789abcdef0".into());
                    i.attributes.iam_profile = Some(ec2_core::iam_instance_profiles::Profile {
                        arn: "arn:aws:iam::123456789012:instance-profile/p".into(),
                        id: "AIPAABCDEFGHIJKLMNOPQ".into(),
                    });
                    i.attributes.operator = Some("ec2.amazonaws.com".into());
                    i.attributes.kernel_id = Some("aki-12345678".into());
                    i.attributes.ramdisk_id = Some("ari-12345678".into());
                    i.attributes.bandwidth_weighting = Some("vpc-1".into());
                    i.platform = Some("windows".into());
                    i.boot_mode = Some("uefi-preferred".into());
                    i.public_ip = Some("3.4.5.6".into());
                    i.public_ip_elastic = true;
                    i.reservation_lifecycle = Some("capacity-block".into());
                    i.security_groups.clear();
                    if k == 0 {
                        // The values written several times (and the DNS names made of the addresses)
                        // with characters to escape.
                        i.private_ip = "10.0.<0>.1".into();
                        i.public_ip = Some("3.4.5.&6".into());
                        i.subnet_id = "subnet-\"a\"".into();
                        i.vpc_id = "vpc-'b'".into();
                    }
                } else {
                    i.volumes.clear();
                    i.capacity_preference = Some("none".into());
                    i.client_token = None;
                    i.monitoring = !i.monitoring;
                    i.ebs_optimized = !i.ebs_optimized;
                    i.attributes.source_dest_check = !i.attributes.source_dest_check;
                    i.security_groups.push(ec2_core::instances::model::SecurityGroupRef {
                        id: "sg-0123456789abcdef0".into(),
                        name: "web <1>".into(),
                    });
                }
                variants.push(i);
            }
        }
        let extra = |id: &str| dto::InstanceNetworkInterface {
            network_interface_id: Some(format!("eni-{id}")),
            description: Some("second & more".into()),
            ..Default::default()
        };
        let mut attached: std::collections::BTreeMap<String, Vec<dto::InstanceNetworkInterface>> = Default::default();
        for (n, i) in variants.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
            attached.insert(i.id.to_string(), (0..=n % 2).map(|d| extra(&format!("{n}{d}"))).collect());
        }
        let page: Vec<Arc<Instance>> = variants.into_iter().map(Arc::new).collect();
        for i in &page {
            let mut dto = instance_dto(i);
            if let Some(more) = attached.get(i.id.as_str()) {
                dto.network_interfaces.get_or_insert_with(Vec::new).extend(more.iter().cloned());
            }
            let mut generated = XmlWriter::default();
            dto.write_xml(&mut generated, "item");
            let mut direct = XmlWriter::default();
            write_instance(&mut direct, i, attached.get(i.id.as_str()).map(Vec::as_slice).unwrap_or_default());
            assert_eq!(direct.finish(), generated.finish(), "{:?} {}", i.state, i.id);
        }
        let listing = Listing { page, next_token: None, attached };
        let expected = through_the_result(&listing);
        // Written in pieces of about PIECE_BYTES: each but the last one at least that long.
        let pieces: Vec<String> = listing.pieces("req-1").collect();
        assert!(pieces.len() >= 2, "{}", pieces.len());
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.len() >= PIECE_BYTES));
        assert_eq!(pieces.concat(), expected);
    }
}

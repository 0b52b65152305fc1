//! DescribeInstanceAttribute, ModifyInstanceAttribute and ResetInstanceAttribute, and the guest
//! shutdown of the control API. The rules (names, which attribute changes in which state, the
//! change itself, what a guest shutdown does) are `ec2_core::instance_attributes`; this file checks
//! the request's syntax, loads, calls them, saves, and words their refusals.

use ec2_core::catalog::instance_types;
use ec2_core::ids::IdKind;
use ec2_core::instance_attributes::{self, AttrError, Attribute, Change};
use ec2_core::instances::model::ShutdownBehavior;
use ec2_core::instances::{Instance, InstanceState};
use ec2_core::network::DefaultNetwork;
use ec2_core::text::base64_decode;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{not_found, well_formed};
use super::instances::{load_many, save};
use super::state_changes::Accounting;
use super::{dry_run_gate, Ctx, Result};
use ec2_core::instances::changes::Before;

/// The most user data an instance takes, in bytes before base64 (EC2's limit).
pub const MAX_USER_DATA: usize = 16 * 1024;

fn invalid(message: impl Into<String>) -> Ec2Error {
    Ec2Error::invalid_parameter_value(message)
}

/// The wire form of an attribute rule's refusal.
pub fn attr_error(e: AttrError) -> Ec2Error {
    match e {
        AttrError::NotModifiable(a) => invalid(format!(
            "Value ({}) for parameter attribute is invalid. This attribute cannot be modified.",
            a.name()
        )),
        AttrError::NotResettable(a) => invalid(format!(
            "Value ({}) for parameter attribute is invalid. Only kernel, ramdisk and sourceDestCheck can be reset.",
            a.name()
        )),
        AttrError::NotStopped { id } => {
            Ec2Error::new(Code::IncorrectInstanceState, format!("The instance '{id}' is not in the 'stopped' state."))
        }
        AttrError::Gone { id, state } => Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{id}' is in the '{}' state and its attributes cannot be changed.", state.name()),
        ),
        AttrError::NoDevice(name) => {
            Ec2Error::new(Code::InvalidInstanceAttributeValue, format!("No device is currently mapped at {name}"))
        }
        AttrError::NotRunning { id, state } => Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{id}' is '{}', and only a running instance can shut itself down.", state.name()),
        ),
    }
}

/// The attribute a request names (`MissingParameter` when absent, `InvalidParameterValue` when unknown).
fn attribute(name: Option<&str>) -> Result<Attribute> {
    let name = name.ok_or_else(|| Ec2Error::missing_parameter("Attribute"))?;
    Attribute::parse(name)
        .ok_or_else(|| invalid(format!("Value ({name}) for parameter attribute is invalid. Unknown attribute.")).into())
}

/// The one instance a request names: checked syntax first (the gate runs between).
fn instance_id(id: Option<&str>) -> Result<String> {
    let id = id.ok_or_else(|| Ec2Error::missing_parameter("InstanceId"))?.to_string();
    well_formed(IdKind::Instance, std::slice::from_ref(&id))?;
    Ok(id)
}

fn load_one(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Instance> {
    load_many(ctx, tx, &[id.to_string()])?.pop().ok_or_else(|| not_found(IdKind::Instance, &[id.to_string()]).into())
}

fn text(v: Option<String>) -> Option<dto::AttributeValue> {
    Some(dto::AttributeValue { value: v })
}

fn boolean(v: bool) -> Option<dto::AttributeBooleanValue> {
    Some(dto::AttributeBooleanValue { value: Some(v) })
}

/// The response of DescribeInstanceAttribute: the instance ID and the one attribute asked for.
pub fn attribute_dto(i: &Instance, attr: Attribute) -> dto::InstanceAttribute {
    let mut out = dto::InstanceAttribute { instance_id: Some(i.id.to_string()), ..Default::default() };
    match attr {
        Attribute::InstanceType => out.instance_type = text(Some(i.instance_type.to_string())),
        Attribute::Kernel => out.kernel_id = text(i.attributes.kernel_id.clone().map(Into::into)),
        Attribute::Ramdisk => out.ramdisk_id = text(i.attributes.ramdisk_id.clone().map(Into::into)),
        Attribute::UserData => out.user_data = text(i.attributes.user_data.clone().map(Into::into)),
        Attribute::DisableApiTermination => out.disable_api_termination = boolean(i.disable_api_termination),
        Attribute::InstanceInitiatedShutdownBehavior => {
            out.instance_initiated_shutdown_behavior = text(Some(
                match i.shutdown_behavior {
                    ShutdownBehavior::Stop => "stop",
                    ShutdownBehavior::Terminate => "terminate",
                }
                .into(),
            ))
        }
        Attribute::RootDeviceName => out.root_device_name = text(Some(i.root_device_name.to_string())),
        Attribute::BlockDeviceMapping => {
            out.block_device_mappings = Some(super::instances::block_devices_dto(i));
        }
        Attribute::ProductCodes => out.product_codes = Some(vec![]),
        Attribute::SourceDestCheck => out.source_dest_check = boolean(i.attributes.source_dest_check),
        Attribute::GroupSet => out.groups = Some(super::instances::groups_dto(i)),
        Attribute::EbsOptimized => out.ebs_optimized = boolean(i.ebs_optimized),
        Attribute::SriovNetSupport => {
            out.sriov_net_support = text(i.attributes.sriov_net_support.clone().map(Into::into))
        }
        Attribute::EnaSupport => out.ena_support = boolean(i.ena_support),
        Attribute::EnclaveOptions => {
            out.enclave_options = Some(dto::EnclaveOptions { enabled: Some(i.attributes.enclave_enabled) })
        }
        Attribute::DisableApiStop => out.disable_api_stop = boolean(i.disable_api_stop),
    }
    out
}

pub fn describe_instance_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInstanceAttributeRequest,
) -> Result<dto::InstanceAttribute> {
    let id = instance_id(req.instance_id.as_deref())?;
    let attr = attribute(req.attribute.as_deref())?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = load_one(ctx, tx, &id)?;
    Ok(attribute_dto(&inst, attr))
}

/// A boolean given as text (`Attribute=disableApiTermination&Value=true`).
fn parse_bool(attr: Attribute, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("Value ({v}) for parameter {} is invalid. Expected 'true' or 'false'.", attr.name()))
            .into()),
    }
}

fn bool_member(attr: Attribute, v: &dto::AttributeBooleanValue) -> Result<bool> {
    v.value.ok_or_else(|| Ec2Error::missing_parameter(&format!("{}.Value", wire_member(attr))).into())
}

fn text_member(attr: Attribute, v: Option<&String>) -> Result<String> {
    v.cloned().ok_or_else(|| Ec2Error::missing_parameter(&format!("{}.Value", wire_member(attr))).into())
}

/// The query member of ModifyInstanceAttribute that carries an attribute.
fn wire_member(attr: Attribute) -> &'static str {
    match attr {
        Attribute::InstanceType => "InstanceType",
        Attribute::Kernel => "Kernel",
        Attribute::Ramdisk => "Ramdisk",
        Attribute::UserData => "UserData",
        Attribute::DisableApiTermination => "DisableApiTermination",
        Attribute::InstanceInitiatedShutdownBehavior => "InstanceInitiatedShutdownBehavior",
        Attribute::BlockDeviceMapping => "BlockDeviceMapping",
        Attribute::SourceDestCheck => "SourceDestCheck",
        Attribute::GroupSet => "GroupId",
        Attribute::EbsOptimized => "EbsOptimized",
        Attribute::SriovNetSupport => "SriovNetSupport",
        Attribute::EnaSupport => "EnaSupport",
        Attribute::DisableApiStop => "DisableApiStop",
        Attribute::RootDeviceName => "RootDeviceName",
        Attribute::ProductCodes => "ProductCodes",
        Attribute::EnclaveOptions => "EnclaveOptions",
    }
}

/// What a request asks to change, before any value is checked: the attribute and its raw value.
enum Raw<'a> {
    Text(Attribute, String),
    Bool(Attribute, bool),
    Groups(&'a [String]),
    Devices(&'a [dto::InstanceBlockDeviceMappingSpecification]),
}

/// Every attribute the request sets (typed members, and the `Attribute`/`Value` pair).
fn raw_changes(req: &dto::ModifyInstanceAttributeRequest) -> Result<Vec<Raw<'_>>> {
    use Attribute as A;
    let mut out = Vec::new();
    let bools = [
        (A::SourceDestCheck, &req.source_dest_check),
        (A::DisableApiStop, &req.disable_api_stop),
        (A::DisableApiTermination, &req.disable_api_termination),
        (A::EbsOptimized, &req.ebs_optimized),
        (A::EnaSupport, &req.ena_support),
    ];
    for (a, v) in bools {
        if let Some(v) = v {
            out.push(Raw::Bool(a, bool_member(a, v)?));
        }
    }
    let texts = [
        (A::InstanceType, &req.instance_type),
        (A::Kernel, &req.kernel),
        (A::Ramdisk, &req.ramdisk),
        (A::InstanceInitiatedShutdownBehavior, &req.instance_initiated_shutdown_behavior),
        (A::SriovNetSupport, &req.sriov_net_support),
    ];
    for (a, v) in texts {
        if let Some(v) = v {
            out.push(Raw::Text(a, text_member(a, v.value.as_ref())?));
        }
    }
    if let Some(v) = &req.user_data {
        out.push(Raw::Text(A::UserData, text_member(A::UserData, v.value.as_ref())?));
    }
    if let Some(g) = &req.groups {
        out.push(Raw::Groups(g));
    }
    if let Some(d) = &req.block_device_mappings {
        out.push(Raw::Devices(d));
    }
    if let Some(name) = req.attribute.as_deref() {
        let a = attribute(Some(name))?;
        instance_attributes::check_modifiable(a).map_err(attr_error)?;
        let named_too = out.iter().any(|r| raw_attribute(r) == a);
        match (&req.value, a) {
            // `Attribute=groupSet` or `blockDeviceMapping` goes with its list member.
            (None, A::GroupSet | A::BlockDeviceMapping) if named_too => {}
            (None, _) if named_too => {}
            (None, _) => return Err(Ec2Error::missing_parameter("Value").into()),
            (Some(_), A::GroupSet | A::BlockDeviceMapping) => {
                return Err(invalid(format!(
                    "Value for parameter {} is invalid: give the {} list instead of Value.",
                    a.name(),
                    wire_member(a)
                ))
                .into())
            }
            (Some(v), _) if named_too => {
                return Err(Ec2Error::new(
                    Code::InvalidParameterCombination,
                    format!("Value ({v}) and {}.Value cannot both be given.", wire_member(a)),
                )
                .into())
            }
            (
                Some(v),
                A::SourceDestCheck | A::DisableApiStop | A::DisableApiTermination | A::EbsOptimized | A::EnaSupport,
            ) => out.push(Raw::Bool(a, parse_bool(a, v)?)),
            (Some(v), _) => out.push(Raw::Text(a, v.clone())),
        }
    } else if req.value.is_some() {
        return Err(Ec2Error::missing_parameter("Attribute").into());
    }
    match out.len() {
        0 => Err(Ec2Error::new(Code::InvalidParameterCombination, "No attributes specified.").into()),
        1 => Ok(out),
        _ => {
            let names: Vec<&str> = out.iter().map(|r| raw_attribute(r).name()).collect();
            Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                format!("Fields for multiple attribute types specified: {}", names.join(", ")),
            )
            .into())
        }
    }
}

fn raw_attribute(r: &Raw<'_>) -> Attribute {
    match r {
        Raw::Text(a, _) | Raw::Bool(a, _) => *a,
        Raw::Groups(_) => Attribute::GroupSet,
        Raw::Devices(_) => Attribute::BlockDeviceMapping,
    }
}

/// Checks a raw value and makes the change (syntax and catalogue only: no store reads).
fn change(ctx: &Ctx<'_>, raw: Raw<'_>) -> Result<Change> {
    use Attribute as A;
    Ok(match raw {
        Raw::Bool(A::SourceDestCheck, v) => Change::SourceDestCheck(v),
        Raw::Bool(A::DisableApiStop, v) => Change::DisableApiStop(v),
        Raw::Bool(A::DisableApiTermination, v) => Change::DisableApiTermination(v),
        Raw::Bool(A::EbsOptimized, v) => Change::EbsOptimized(v),
        Raw::Bool(A::EnaSupport, v) => Change::EnaSupport(v),
        Raw::Bool(a, v) => return change(ctx, Raw::Text(a, v.to_string())),
        Raw::Text(A::InstanceType, t) => {
            if instance_types::instance_type(&t).is_none() {
                return Err(Ec2Error::new(
                    Code::InvalidInstanceAttributeValue,
                    format!("Value ({t}) for parameter instanceType is invalid."),
                )
                .into());
            }
            Change::InstanceType(t)
        }
        Raw::Text(A::Kernel, k) => {
            if !(k.is_empty() || k.starts_with("aki-")) {
                return Err(invalid(format!("Value ({k}) for parameter kernel is invalid. Expected: 'aki-...'.")).into());
            }
            Change::Kernel(k)
        }
        Raw::Text(A::Ramdisk, r) => {
            if !(r.is_empty() || r.starts_with("ari-")) {
                return Err(invalid(format!("Value ({r}) for parameter ramdisk is invalid. Expected: 'ari-...'.")).into());
            }
            Change::Ramdisk(r)
        }
        Raw::Text(A::UserData, u) => {
            let bytes = base64_decode(&u)
                .ok_or_else(|| invalid("Invalid BASE64 encoding of user data."))?;
            if bytes.len() > MAX_USER_DATA {
                return Err(invalid(format!("User data is limited to {MAX_USER_DATA} bytes")).into());
            }
            Change::UserData(u)
        }
        Raw::Text(A::InstanceInitiatedShutdownBehavior, b) => Change::ShutdownBehavior(match b.as_str() {
            "stop" => ShutdownBehavior::Stop,
            "terminate" => ShutdownBehavior::Terminate,
            _ => {
                return Err(invalid(format!(
                    "Value ({b}) for parameter instanceInitiatedShutdownBehavior is invalid. Expected 'stop' or 'terminate'."
                ))
                .into())
            }
        }),
        Raw::Text(A::SriovNetSupport, v) => {
            if v != "simple" {
                return Err(invalid(format!(
                    "Value ({v}) for parameter sriovNetSupport is invalid. Expected 'simple'."
                ))
                .into());
            }
            Change::SriovNetSupport(v)
        }
        Raw::Text(a @ (A::SourceDestCheck | A::DisableApiStop | A::DisableApiTermination | A::EbsOptimized | A::EnaSupport), v) => {
            return change(ctx, Raw::Bool(a, parse_bool(a, &v)?))
        }
        Raw::Text(a, _) => return Err(attr_error(AttrError::NotModifiable(a)).into()),
        Raw::Groups(ids) => {
            if ids.is_empty() {
                return Err(Ec2Error::missing_parameter("GroupId").into());
            }
            let ids = well_formed(IdKind::SecurityGroup, ids)?;
            let net = DefaultNetwork::of(ctx.scope, ctx.ids);
            let missing: Vec<String> = ids.iter().filter(|id| **id != net.security_group_id).cloned().collect();
            if !missing.is_empty() {
                return Err(not_found(IdKind::SecurityGroup, &missing).into());
            }
            Change::Groups(vec![ec2_core::instances::model::SecurityGroupRef {
                id: net.security_group_id.clone().into(),
                name: ec2_core::network::DEFAULT_GROUP_NAME.into(),
            }])
        }
        Raw::Devices(list) => {
            let mut devices = Vec::with_capacity(list.len());
            for d in list {
                let name = d.device_name.clone().ok_or_else(|| Ec2Error::missing_parameter("BlockDeviceMapping.DeviceName"))?;
                devices.push((name, d.ebs.as_ref().and_then(|e| e.delete_on_termination)));
            }
            if devices.is_empty() {
                return Err(Ec2Error::missing_parameter("BlockDeviceMapping").into());
            }
            Change::BlockDevices(devices)
        }
    })
}

pub fn modify_instance_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyInstanceAttributeRequest,
) -> Result<()> {
    let id = instance_id(req.instance_id.as_deref())?;
    let mut raws = raw_changes(req)?;
    let change = change(ctx, raws.remove(0))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut inst = load_one(ctx, tx, &id)?;
    if let (Change::InstanceType(t), Some(info)) = (&change, instance_types::instance_type(&inst.instance_type)) {
        let new = instance_types::instance_type(t).unwrap_or(info);
        if !new.architectures.contains(&inst.architecture.as_str()) {
            return Err(Ec2Error::new(
                Code::InvalidInstanceAttributeValue,
                format!(
                    "The instance type '{t}' does not support the architecture '{}' of instance '{}'.",
                    inst.architecture, inst.id
                ),
            )
            .into());
        }
    }
    instance_attributes::modify(&mut inst, change).map_err(attr_error)?;
    save(ctx, tx, &inst)
}

pub fn reset_instance_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ResetInstanceAttributeRequest,
) -> Result<()> {
    let id = instance_id(req.instance_id.as_deref())?;
    let attr = attribute(req.attribute.as_deref())?;
    if !attr.resettable() {
        return Err(attr_error(AttrError::NotResettable(attr)).into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    let mut inst = load_one(ctx, tx, &id)?;
    instance_attributes::reset(&mut inst, attr).map_err(attr_error)?;
    save(ctx, tx, &inst)
}

/// The control API's guest shutdown: the instance's operating system shuts down, and the
/// instance stops or terminates as its `instanceInitiatedShutdownBehavior` says. `Ok(None)` when
/// no scope has the instance.
pub fn guest_shutdown(
    settings: &super::Settings,
    tx: &mut Txn<'_>,
    now: ec2_core::UnixMillis,
    id: &str,
) -> Result<Option<InstanceState>> {
    let Some(scope_key) = super::instances::find_scope(tx, id)? else { return Ok(None) };
    let scope = super::scope_of_key(&scope_key);
    let ctx = Ctx::new(settings, &scope, now);
    let mut instances = load_many(&ctx, tx, &[id.to_string()])?;
    if instances.first().is_some_and(|i| i.spot_request_id.is_some()) {
        return Err(Ec2Error::new(
            Code::UnsupportedOperation,
            "ec2d does not simulate the guest shutdown of a Spot Instance.",
        )
        .into());
    }
    let mut changes = Vec::with_capacity(1);
    for inst in instances.iter_mut() {
        changes.push(instance_attributes::guest_shutdown(inst, now, ctx.durations).map_err(attr_error)?);
    }
    // Through the choke point of instance state changes, like every other change.
    for (inst, change) in instances.iter_mut().zip(&changes) {
        super::state_changes::apply(&ctx, tx, Before::state(change.previous), inst, Accounting::Lenient)?;
    }
    Ok(instances.first().map(|i| i.state))
}

// ---------------------------------------------------------------------------------------------
// MonitorInstances / UnmonitorInstances, GetConsoleOutput, ModifyInstanceMetadataOptions

fn set_monitoring(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    ids: &Option<Vec<String>>,
    dry_run: Option<bool>,
    enabled: bool,
) -> Result<Vec<dto::InstanceMonitoring>> {
    let ids = well_formed(IdKind::Instance, ids.as_deref().unwrap_or_default())?;
    if ids.is_empty() {
        return Err(Ec2Error::missing_parameter("InstanceId").into());
    }
    dry_run_gate(ctx, dry_run)?;
    let mut instances = load_many(ctx, tx, &ids)?;
    for inst in instances.iter_mut() {
        instance_attributes::set_monitoring(inst, enabled).map_err(attr_error)?;
    }
    let mut out = Vec::with_capacity(instances.len());
    for inst in &instances {
        save(ctx, tx, inst)?;
        out.push(dto::InstanceMonitoring {
            instance_id: Some(inst.id.to_string()),
            // EC2 answers with the transition in progress; ec2d completes it at once.
            monitoring: Some(dto::Monitoring { state: Some(if enabled { "pending" } else { "disabling" }.into()) }),
        });
    }
    Ok(out)
}

pub fn monitor_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::MonitorInstancesRequest,
) -> Result<dto::MonitorInstancesResult> {
    let set = set_monitoring(ctx, tx, &req.instance_ids, req.dry_run, true)?;
    Ok(dto::MonitorInstancesResult { instance_monitorings: Some(set) })
}

pub fn unmonitor_instances(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::UnmonitorInstancesRequest,
) -> Result<dto::UnmonitorInstancesResult> {
    let set = set_monitoring(ctx, tx, &req.instance_ids, req.dry_run, false)?;
    Ok(dto::UnmonitorInstancesResult { instance_monitorings: Some(set) })
}

pub fn get_console_output(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::GetConsoleOutputRequest,
) -> Result<dto::GetConsoleOutputResult> {
    let id = instance_id(req.instance_id.as_deref())?;
    dry_run_gate(ctx, req.dry_run)?;
    let inst = load_one(ctx, tx, &id)?;
    let output = instance_attributes::console_output(&inst);
    Ok(dto::GetConsoleOutputResult {
        instance_id: Some(inst.id.to_string()),
        timestamp: Some(output.as_ref().map_or(ctx.now, |(_, at)| *at)),
        output: output.map(|(text, _)| ec2_core::text::base64_encode(text.as_bytes())),
    })
}

/// The metadata options as DescribeInstances and ModifyInstanceMetadataOptions show them.
pub fn metadata_dto(i: &Instance, state: &str) -> dto::InstanceMetadataOptionsResponse {
    let m = &i.attributes.metadata;
    dto::InstanceMetadataOptionsResponse {
        state: Some(state.into()),
        http_tokens: Some(m.http_tokens.to_string()),
        http_put_response_hop_limit: Some(m.hop_limit),
        http_endpoint: Some(m.http_endpoint.to_string()),
        http_protocol_ipv6: Some(m.http_protocol_ipv6.to_string()),
        instance_metadata_tags: Some(m.instance_metadata_tags.to_string()),
    }
}

/// Checks `MetadataOptions` members against the defaults or an instance's current options.
pub fn metadata_options(
    base: &instance_attributes::MetadataOptions,
    change: &instance_attributes::MetadataChange,
) -> Result<instance_attributes::MetadataOptions> {
    base.with(change)
        .map_err(|b| invalid(format!("Value ({}) for parameter {} is invalid.", b.value, b.parameter)).into())
}

pub fn modify_instance_metadata_options(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyInstanceMetadataOptionsRequest,
) -> Result<dto::ModifyInstanceMetadataOptionsResult> {
    let id = instance_id(req.instance_id.as_deref())?;
    let change = instance_attributes::MetadataChange {
        http_tokens: req.http_tokens.clone(),
        hop_limit: req.http_put_response_hop_limit,
        http_endpoint: req.http_endpoint.clone(),
        http_protocol_ipv6: req.http_protocol_ipv6.clone(),
        instance_metadata_tags: req.instance_metadata_tags.clone(),
    };
    metadata_options(&Default::default(), &change)?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut inst = load_one(ctx, tx, &id)?;
    if matches!(inst.state, InstanceState::ShuttingDown | InstanceState::Terminated) {
        return Err(attr_error(AttrError::Gone { id: inst.id.to_string(), state: inst.state }).into());
    }
    inst.attributes.metadata = metadata_options(&inst.attributes.metadata, &change)?;
    save(ctx, tx, &inst)?;
    Ok(dto::ModifyInstanceMetadataOptionsResult {
        instance_id: Some(inst.id.to_string()),
        instance_metadata_options: Some(metadata_dto(&inst, "pending")),
    })
}

// ---------------------------------------------------------------------------------------------
// ModifyPrivateDnsNameOptions / ModifyInstanceMaintenanceOptions

fn option_error(e: instance_attributes::options::OptionError) -> Ec2Error {
    use instance_attributes::options::OptionError;
    match e {
        OptionError::Bad(b) => invalid(format!("Value ({}) for parameter {} is invalid.", b.value, b.parameter)),
        OptionError::NotStopped { id } => attr_error(AttrError::NotStopped { id }),
        OptionError::Gone { id, state } => attr_error(AttrError::Gone { id, state }),
    }
}

/// The hostname options as DescribeInstances shows them.
pub fn private_dns_dto(i: &Instance) -> dto::PrivateDnsNameOptionsResponse {
    let p = &i.attributes.private_dns;
    dto::PrivateDnsNameOptionsResponse {
        hostname_type: Some(p.hostname_type.to_string()),
        enable_resource_name_dns_a_record: Some(p.a_record),
        enable_resource_name_dns_aaaa_record: Some(p.aaaa_record),
    }
}

/// The maintenance options as DescribeInstances shows them.
pub fn maintenance_dto(i: &Instance) -> dto::InstanceMaintenanceOptions {
    let m = &i.attributes.maintenance;
    dto::InstanceMaintenanceOptions {
        auto_recovery: Some(m.auto_recovery.to_string()),
        reboot_migration: Some(m.reboot_migration.to_string()),
    }
}

pub fn modify_private_dns_name_options(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyPrivateDnsNameOptionsRequest,
) -> Result<dto::ModifyPrivateDnsNameOptionsResult> {
    let id = instance_id(req.instance_id.as_deref())?;
    let change = instance_attributes::options::PrivateDnsChange {
        hostname_type: req.private_dns_hostname_type.clone(),
        a_record: req.enable_resource_name_dns_a_record,
        aaaa_record: req.enable_resource_name_dns_aaaa_record,
    };
    instance_attributes::PrivateDnsOptions::default()
        .with(&change)
        .map_err(|b| option_error(instance_attributes::options::OptionError::Bad(b)))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut inst = load_one(ctx, tx, &id)?;
    instance_attributes::options::modify_private_dns(&mut inst, &change).map_err(option_error)?;
    save(ctx, tx, &inst)?;
    Ok(dto::ModifyPrivateDnsNameOptionsResult { r#return: Some(true) })
}

pub fn modify_instance_maintenance_options(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyInstanceMaintenanceOptionsRequest,
) -> Result<dto::ModifyInstanceMaintenanceOptionsResult> {
    let id = instance_id(req.instance_id.as_deref())?;
    let change = instance_attributes::options::MaintenanceChange {
        auto_recovery: req.auto_recovery.clone(),
        reboot_migration: req.reboot_migration.clone(),
    };
    instance_attributes::MaintenanceOptions::default()
        .with(&change)
        .map_err(|b| option_error(instance_attributes::options::OptionError::Bad(b)))?;
    dry_run_gate(ctx, req.dry_run)?;
    let mut inst = load_one(ctx, tx, &id)?;
    instance_attributes::options::modify_maintenance(&mut inst, &change).map_err(option_error)?;
    save(ctx, tx, &inst)?;
    let m = maintenance_dto(&inst);
    Ok(dto::ModifyInstanceMaintenanceOptionsResult {
        instance_id: Some(inst.id.to_string()),
        auto_recovery: m.auto_recovery,
        reboot_migration: m.reboot_migration,
    })
}

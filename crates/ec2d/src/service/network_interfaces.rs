//! Network interfaces: Create/Delete/Describe/Attach/Detach NetworkInterfaces,
//! ModifyNetworkInterfaceAttribute and Assign/UnassignPrivateIpAddresses. Every address an interface
//! holds is held in its subnet's record, so the subnet's free count follows.

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::instances::Instance;
use ec2_core::instances::InstanceState;
use ec2_core::network;
use ec2_core::network_interfaces::{self as core, Attachment, EniError, InstanceInterfaces, NetworkInterface};
use ec2_core::security_groups::SecurityGroup;
use ec2_core::subnets::Subnet;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    five_to_thousand, load_named, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::subnets::load_subnet;
use super::vpcs::{check_id, ensure_default_network, net_err, with_tags, Row};
use super::{dry_run_gate, errors, filters, tags, Ctx, Error, Result};

fn eni_err(e: EniError) -> Error {
    errors::network_interface(e).into()
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

/// A MAC address derived from the interface ID.
pub fn mac_address(eni: &str) -> String {
    let hex = eni.trim_start_matches("eni-");
    let b = hex.as_bytes();
    let pair = |i: usize| std::str::from_utf8(b.get(i..i + 2).unwrap_or(b"00")).unwrap_or("00").to_string();
    format!("0e:{}:{}:{}:{}:{}", pair(7), pair(9), pair(11), pair(13), pair(15))
}

/// Whether the interface exists (the primary interfaces of instances launched before interfaces
/// were records become records in `ensure_default_network`).
pub fn exists(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<bool> {
    ensure_default_network(ctx, tx)?;
    Ok(tx.get::<NetworkInterface>(ctx.scope.key(), id)?.is_some())
}

/// The interfaces attached to the instance besides its primary one.
pub fn attached_to(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_id: &str) -> Result<InstanceInterfaces> {
    Ok(tx
        .get::<InstanceInterfaces>(ctx.scope.key(), instance_id)?
        .unwrap_or_else(|| InstanceInterfaces { instance_id: instance_id.into(), ..Default::default() }))
}

fn save_attached(ctx: &Ctx<'_>, tx: &mut Txn<'_>, links: &InstanceInterfaces) -> Result<()> {
    let scope = ctx.scope.key();
    if links.by_device.is_empty() {
        tx.delete::<InstanceInterfaces>(scope, &links.instance_id)?;
    } else {
        tx.put(scope, links)?;
    }
    Ok(())
}

/// Whether an interface uses the group.
pub fn group_in_use(ctx: &Ctx<'_>, tx: &mut Txn<'_>, group_id: &str) -> Result<bool> {
    Ok(tx.scan::<NetworkInterface>(ctx.scope.key())?.iter().any(|e| e.group_ids.iter().any(|g| g == group_id)))
}

/// The instances whose primary interface is in the VPC.
pub fn instances_in_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc_id: &str) -> Result<Vec<String>> {
    Ok(tx
        .scan::<NetworkInterface>(ctx.scope.key())?
        .into_iter()
        .filter(|e| e.vpc_id == vpc_id)
        .filter_map(|e| e.attachment.filter(|a| a.device_index == 0).map(|a| a.instance_id.into()))
        .collect())
}

/// The interfaces in a VPC.
pub fn count_in_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc_id: &str) -> Result<usize> {
    Ok(tx.scan::<NetworkInterface>(ctx.scope.key())?.iter().filter(|e| e.vpc_id == vpc_id).count())
}

pub fn load_eni(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<NetworkInterface> {
    tx.get::<NetworkInterface>(ctx.scope.key(), id)?
        .ok_or_else(|| not_found(IdKind::NetworkInterface, &[id.to_string()]).into())
}

/// The groups named by ID, which must exist and be in `vpc_id`.
pub fn check_groups(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &[String], vpc_id: &str) -> Result<Vec<SecurityGroup>> {
    let ids = well_formed(IdKind::SecurityGroup, ids)?;
    let groups: Vec<SecurityGroup> = load_named(ctx, tx, IdKind::SecurityGroup, &ids)?;
    if let Some(g) = groups.iter().find(|g| g.vpc_id != vpc_id) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "The security group '{}' does not belong to VPC '{vpc_id}'",
            g.id
        ))
        .into());
    }
    Ok(groups)
}

/// A new interface in `subnet` holding `ips` (the first is the primary; `None` entries get the
/// subnet's next free address), written with its addresses held in the subnet.
pub fn create(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    subnet: &mut Subnet,
    wanted: &[Option<String>],
    group_ids: Vec<String>,
    description: String,
    id: String,
) -> Result<NetworkInterface> {
    let mut ips = Vec::new();
    for ip in wanted.iter().flatten() {
        subnet.reserve(ip).map_err(net_err)?;
        ips.push(ip.clone());
    }
    let mut out = Vec::new();
    let mut fixed = ips.into_iter();
    for w in wanted {
        match w {
            Some(_) => out.push(fixed.next().unwrap_or_default().into()),
            None => out.push(subnet.allocate().map_err(net_err)?.into()),
        }
    }
    tx.put(ctx.scope.key(), subnet)?;
    let eni = record(ctx, subnet, id, description, out, group_ids, None);
    tx.put(ctx.scope.key(), &eni)?;
    Ok(eni)
}

/// Removes the interface and gives its addresses back to its subnet.
pub fn destroy(ctx: &Ctx<'_>, tx: &mut Txn<'_>, eni: &NetworkInterface) -> Result<()> {
    let scope = ctx.scope.key();
    if let Some(mut subnet) = tx.get::<Subnet>(scope, &eni.subnet_id)? {
        for ip in &eni.private_ips {
            subnet.release(ip);
        }
        tx.put(scope, &subnet)?;
    }
    tags::drop_tags(ctx, tx, &eni.id)?;
    tx.delete::<NetworkInterface>(scope, &eni.id)?;
    Ok(())
}

/// An interface with the names of its groups and the public address on it, for responses.
pub struct EniView {
    pub eni: NetworkInterface,
    pub groups: Vec<(String, String)>,
    pub public_ip: Option<String>,
    pub region: String,
}

static ENI_FILTERS: FilterTable<Row<EniView>> = FilterTable {
    entries: &[
        ("addresses.private-ip-address", |r| r.item.eni.private_ips.iter().map(|s| s.to_string()).collect()),
        ("addresses.primary", |r| {
            r.item.eni.private_ips.iter().enumerate().map(|(i, _)| (i == 0).to_string()).collect()
        }),
        ("association.public-ip", |r| r.item.public_ip.iter().map(|s| s.to_string()).collect()),
        ("attachment.attachment-id", |r| r.item.eni.attachment.iter().map(|a| a.id.to_string()).collect()),
        ("attachment.device-index", |r| r.item.eni.attachment.iter().map(|a| a.device_index.to_string()).collect()),
        ("attachment.instance-id", |r| r.item.eni.attachment.iter().map(|a| a.instance_id.to_string()).collect()),
        ("attachment.instance-owner-id", |r| {
            r.item.eni.attachment.iter().map(|_| r.item.eni.owner_id.to_string()).collect()
        }),
        ("attachment.status", |r| r.item.eni.attachment.iter().map(|_| "attached".to_string()).collect()),
        ("attachment.delete-on-termination", |r| {
            r.item.eni.attachment.iter().map(|a| a.delete_on_termination.to_string()).collect()
        }),
        ("availability-zone", |r| one(&*r.item.eni.availability_zone)),
        ("description", |r| one(&*r.item.eni.description)),
        ("group-id", |r| r.item.groups.iter().map(|g| g.0.clone()).collect()),
        ("group-name", |r| r.item.groups.iter().map(|g| g.1.clone()).collect()),
        ("interface-type", |r| one(&*r.item.eni.interface_type)),
        ("mac-address", |r| one(&*r.item.eni.mac_address)),
        ("network-interface-id", |r| one(&*r.item.eni.id)),
        ("owner-id", |r| one(&*r.item.eni.owner_id)),
        ("private-dns-name", |r| one(network::private_dns_name(&r.item.region, r.item.eni.primary_ip()))),
        ("private-ip-address", |r| r.item.eni.private_ips.iter().map(|s| s.to_string()).collect()),
        ("requester-managed", |_| one("false")),
        ("source-dest-check", |r| one(r.item.eni.source_dest_check.to_string())),
        ("status", |r| one(r.item.eni.status())),
        ("subnet-id", |r| one(&*r.item.eni.subnet_id)),
        ("vpc-id", |r| one(&*r.item.eni.vpc_id)),
    ],
    tags: Some(|r| &r.tags),
};

fn view(ctx: &Ctx<'_>, tx: &mut Txn<'_>, eni: NetworkInterface) -> Result<EniView> {
    let scope = ctx.scope.key();
    let mut groups = Vec::new();
    for g in &eni.group_ids {
        let name = tx.get::<SecurityGroup>(scope, g)?.map(|x| x.name).unwrap_or_default();
        groups.push((g.to_string(), name));
    }
    let public_ip = match &eni.attachment {
        Some(a) if a.device_index == 0 => super::instances::load_many(ctx, tx, &[a.instance_id.to_string()])
            .ok()
            .and_then(|v| v.into_iter().next())
            .and_then(|i| i.visible_public_ip().map(String::from)),
        _ => None,
    };
    Ok(EniView { eni, groups, public_ip, region: ctx.scope.region.clone() })
}

/// The interfaces attached to the page's instances besides their primary one (`InstanceInterfaces`,
/// a kind with a record only for instances that have such interfaces), by instance ID, in device
/// index order, as DescribeInstances shows them after the primary one.
pub fn attached(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    page: &[std::sync::Arc<Instance>],
) -> Result<std::collections::BTreeMap<String, Vec<dto::InstanceNetworkInterface>>> {
    let scope = ctx.scope.key();
    let mut out = std::collections::BTreeMap::new();
    let links: Vec<InstanceInterfaces> = tx.scan(scope)?;
    if links.is_empty() {
        return Ok(out);
    }
    let by_instance: std::collections::BTreeMap<&str, &InstanceInterfaces> =
        links.iter().map(|l| (l.instance_id.as_str(), l)).collect();
    for inst in page {
        let Some(l) = by_instance.get(inst.id.as_str()) else { continue };
        let mut shown = Vec::with_capacity(l.by_device.len());
        for eni_id in l.by_device.values() {
            let Some(eni) = tx.get::<NetworkInterface>(scope, eni_id)? else { continue };
            let v = view(ctx, tx, eni)?;
            shown.push(instance_eni_dto(&v));
        }
        out.insert(inst.id.to_string(), shown);
    }
    Ok(out)
}

/// An attached interface as DescribeInstances shows it.
fn instance_eni_dto(v: &EniView) -> dto::InstanceNetworkInterface {
    let e = &v.eni;
    let dns = |ip: &str| network::private_dns_name(&v.region, ip);
    dto::InstanceNetworkInterface {
        attachment: e.attachment.as_ref().map(|a| dto::InstanceNetworkInterfaceAttachment {
            attach_time: Some(a.attach_time),
            attachment_id: Some(a.id.to_string()),
            delete_on_termination: Some(a.delete_on_termination),
            device_index: Some(a.device_index),
            status: Some("attached".into()),
            network_card_index: Some(0),
            ..Default::default()
        }),
        description: Some(e.description.to_string()),
        groups: Some(
            v.groups
                .iter()
                .map(|(id, name)| dto::GroupIdentifier { group_id: Some(id.clone()), group_name: Some(name.clone()) })
                .collect(),
        ),
        ipv6_addresses: Some(vec![]),
        mac_address: Some(e.mac_address.to_string()),
        network_interface_id: Some(e.id.to_string()),
        owner_id: Some(e.owner_id.to_string()),
        private_dns_name: Some(dns(e.primary_ip())),
        private_ip_address: Some(e.primary_ip().to_string()),
        private_ip_addresses: Some(
            e.private_ips
                .iter()
                .enumerate()
                .map(|(n, ip)| dto::InstancePrivateIpAddress {
                    primary: Some(n == 0),
                    private_dns_name: Some(dns(ip)),
                    private_ip_address: Some(ip.to_string()),
                    ..Default::default()
                })
                .collect(),
        ),
        source_dest_check: Some(e.source_dest_check),
        status: Some(e.status().into()),
        subnet_id: Some(e.subnet_id.to_string()),
        vpc_id: Some(e.vpc_id.to_string()),
        interface_type: Some(e.interface_type.to_string()),
        ..Default::default()
    }
}

pub fn eni_dto(r: &Row<EniView>) -> dto::NetworkInterface {
    let e = &r.item.eni;
    let region = &r.item.region;
    let association = r.item.public_ip.as_ref().map(|ip| dto::NetworkInterfaceAssociation {
        public_ip: Some(ip.clone()),
        public_dns_name: Some(network::public_dns_name(region, ip)),
        ip_owner_id: Some("amazon".into()),
        ..Default::default()
    });
    dto::NetworkInterface {
        network_interface_id: Some(e.id.to_string()),
        subnet_id: Some(e.subnet_id.to_string()),
        vpc_id: Some(e.vpc_id.to_string()),
        availability_zone: Some(e.availability_zone.to_string()),
        owner_id: Some(e.owner_id.to_string()),
        description: Some(e.description.to_string()),
        mac_address: Some(e.mac_address.to_string()),
        interface_type: Some(e.interface_type.to_string()),
        private_ip_address: Some(e.primary_ip().to_string()),
        private_dns_name: Some(network::private_dns_name(region, e.primary_ip())),
        private_ip_addresses: Some(
            e.private_ips
                .iter()
                .enumerate()
                .map(|(i, ip)| dto::NetworkInterfacePrivateIpAddress {
                    primary: Some(i == 0),
                    private_ip_address: Some(ip.to_string()),
                    private_dns_name: Some(network::private_dns_name(region, ip)),
                    association: if i == 0 { association.clone() } else { None },
                })
                .collect(),
        ),
        association,
        groups: Some(
            r.item
                .groups
                .iter()
                .map(|(id, name)| dto::GroupIdentifier { group_id: Some(id.clone()), group_name: Some(name.clone()) })
                .collect(),
        ),
        attachment: e.attachment.as_ref().map(|a| dto::NetworkInterfaceAttachment {
            attachment_id: Some(a.id.to_string()),
            attach_time: Some(a.attach_time),
            delete_on_termination: Some(a.delete_on_termination),
            device_index: Some(a.device_index),
            network_card_index: Some(0),
            instance_id: Some(a.instance_id.to_string()),
            instance_owner_id: Some(e.owner_id.to_string()),
            status: Some("attached".into()),
            ..Default::default()
        }),
        source_dest_check: Some(e.source_dest_check),
        requester_managed: Some(false),
        status: Some(e.status().into()),
        ipv6_addresses: Some(vec![]),
        tag_set: Some(tag_set(&r.tags).unwrap_or_default()),
        ..Default::default()
    }
}

pub fn describe_network_interfaces(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeNetworkInterfacesRequest,
) -> Result<dto::DescribeNetworkInterfacesResult> {
    let ids = well_formed(IdKind::NetworkInterface, req.network_interface_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&ENI_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let enis: Vec<NetworkInterface> = if ids.is_empty() {
        tx.scan(ctx.scope.key())?
    } else {
        let mut v: Vec<NetworkInterface> = load_named(ctx, tx, IdKind::NetworkInterface, &ids)?;
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let views = enis.into_iter().map(|e| view(ctx, tx, e)).collect::<Result<Vec<_>>>()?;
    let mut rows = with_tags(ctx, tx, views, |v| v.eni.id.to_string())?;
    rows.retain(|r| ENI_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.eni.id.to_string(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeNetworkInterfacesResult {
        network_interfaces: Some(page.iter().map(eni_dto).collect()),
        next_token: next,
    })
}

pub fn create_network_interface(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateNetworkInterfaceRequest,
) -> Result<dto::CreateNetworkInterfaceResult> {
    let subnet_id = check_id(IdKind::Subnet, &req.subnet_id, "subnetId")?;
    if req.ipv6_address_count.is_some() || req.ipv6_addresses.is_some() || req.ipv4_prefixes.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement IPv6 addresses or prefixes on interfaces yet.",
        )
        .into());
    }
    if let Some(t) = req.interface_type.as_deref().filter(|t| *t != "interface") {
        return Err(Ec2Error::new(Code::NotImplemented, format!("ec2d does not make interfaces of type '{t}'.")).into());
    }
    let mut wanted: Vec<Option<String>> = vec![req.private_ip_address.clone()];
    for p in req.private_ip_addresses.iter().flatten() {
        let ip = p.private_ip_address.clone();
        if p.primary == Some(true) {
            wanted[0] = ip;
        } else if ip.is_some() && ip != wanted[0] {
            wanted.push(ip);
        }
    }
    let extra = req.secondary_private_ip_address_count.unwrap_or(0);
    if !(0..=(core::MAX_PRIVATE_IPS as i64)).contains(&extra) {
        return Err(Ec2Error::new(
            Code::PrivateIpAddressLimitExceeded,
            format!("Number of private addresses ({extra}) exceeds the limit of an interface."),
        )
        .into());
    }
    wanted.extend((0..extra).map(|_| None));
    let specs = tag_specifications(&req.tag_specifications, &["network-interface"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut subnet = load_subnet(ctx, tx, &subnet_id)?;
    let group_ids = match &req.groups {
        Some(g) if !g.is_empty() => check_groups(ctx, tx, g, &subnet.vpc_id)?.into_iter().map(|g| g.id).collect(),
        _ => {
            let vpc = super::vpcs::load_vpc(ctx, tx, &subnet.vpc_id)?;
            vec![vpc.default_security_group_id]
        }
    };
    let id = new_id(ctx, tx, IdKind::NetworkInterface)?;
    let eni = create(ctx, tx, &mut subnet, &wanted, group_ids, req.description.clone().unwrap_or_default(), id)?;
    let tags = tags::set_tags(ctx, tx, &eni.id, "network-interface", tags_for(&specs, "network-interface"))?;
    let item = view(ctx, tx, eni)?;
    Ok(dto::CreateNetworkInterfaceResult {
        network_interface: Some(eni_dto(&Row { item, tags })),
        client_token: req.client_token.clone(),
    })
}

pub fn delete_network_interface(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteNetworkInterfaceRequest,
) -> Result<()> {
    let id = check_id(IdKind::NetworkInterface, &req.network_interface_id, "networkInterfaceId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let eni = load_eni(ctx, tx, &id)?;
    core::check_delete(&eni).map_err(eni_err)?;
    destroy(ctx, tx, &eni)
}

pub fn attach_network_interface(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AttachNetworkInterfaceRequest,
) -> Result<dto::AttachNetworkInterfaceResult> {
    let id = check_id(IdKind::NetworkInterface, &req.network_interface_id, "networkInterfaceId")?;
    let instance_id = check_id(IdKind::Instance, &req.instance_id, "instanceId")?;
    let index = req.device_index.ok_or_else(|| Ec2Error::missing_parameter("deviceIndex"))?;
    if !(1..=31).contains(&index) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({index}) for parameter deviceIndex is invalid. Expected a value from 1 to 31."
        ))
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut eni = load_eni(ctx, tx, &id)?;
    let inst = super::instances::load_many(ctx, tx, std::slice::from_ref(&instance_id))?.remove(0);
    if !matches!(inst.state, InstanceState::Running | InstanceState::Stopped) {
        return Err(Ec2Error::new(
            Code::IncorrectInstanceState,
            format!("The instance '{}' is not in a valid state for this operation.", inst.id),
        )
        .into());
    }
    if inst.availability_zone != eni.availability_zone {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Interface {} and instance {} are in different availability zones.",
            eni.id, inst.id
        ))
        .into());
    }
    let scope = ctx.scope.key();
    let mut links = attached_to(ctx, tx, &inst.id)?;
    if links.by_device.contains_key(&index) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Instance '{}' already has an interface attached at device index '{index}'.",
            inst.id
        ))
        .into());
    }
    let attachment = Attachment {
        id: new_id(ctx, tx, IdKind::NetworkInterfaceAttachment)?.into(),
        instance_id: inst.id.clone(),
        device_index: index,
        delete_on_termination: false,
        attach_time: ctx.now,
    };
    let attachment_id = attachment.id.clone();
    core::attach(&mut eni, attachment).map_err(eni_err)?;
    tx.put(scope, &eni)?;
    links.by_device.insert(index, eni.id.to_string());
    save_attached(ctx, tx, &links)?;
    Ok(dto::AttachNetworkInterfaceResult {
        attachment_id: Some(attachment_id.to_string()),
        network_card_index: Some(0),
    })
}

pub fn detach_network_interface(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DetachNetworkInterfaceRequest,
) -> Result<()> {
    let attachment_id = check_id(IdKind::NetworkInterfaceAttachment, &req.attachment_id, "attachmentId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let scope = ctx.scope.key();
    let mut eni = tx
        .scan::<NetworkInterface>(scope)?
        .into_iter()
        .find(|e| e.attachment.as_ref().is_some_and(|a| a.id == attachment_id))
        .ok_or_else(|| eni_err(EniError::NotAttached { attachment_id: attachment_id.clone() }))?;
    let gone = core::detach(&mut eni, &attachment_id).map_err(eni_err)?;
    tx.put(scope, &eni)?;
    let mut links = attached_to(ctx, tx, &gone.instance_id)?;
    links.by_device.remove(&gone.device_index);
    save_attached(ctx, tx, &links)?;
    Ok(())
}

pub fn modify_network_interface_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifyNetworkInterfaceAttributeRequest,
) -> Result<()> {
    let id = check_id(IdKind::NetworkInterface, &req.network_interface_id, "networkInterfaceId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut eni = load_eni(ctx, tx, &id)?;
    if let Some(d) = &req.description {
        eni.description = d.value.clone().unwrap_or_default().into();
    }
    if let Some(s) = &req.source_dest_check {
        eni.source_dest_check = s.value.unwrap_or(true);
    }
    if let Some(groups) = req.groups.as_ref().filter(|g| !g.is_empty()) {
        eni.group_ids =
            check_groups(ctx, tx, groups, &eni.vpc_id)?.into_iter().map(|g| g.id.into()).collect::<Vec<_>>().into();
    }
    if let Some(a) = &req.attachment {
        match (&mut eni.attachment, &a.attachment_id) {
            (Some(att), Some(aid)) if att.id == *aid => {
                if let Some(d) = a.delete_on_termination {
                    att.delete_on_termination = d;
                }
            }
            _ => {
                return Err(eni_err(EniError::NotAttached {
                    attachment_id: a.attachment_id.clone().unwrap_or_default(),
                }))
            }
        }
    }
    tx.put(ctx.scope.key(), &eni)?;
    Ok(())
}

pub fn assign_private_ip_addresses(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AssignPrivateIpAddressesRequest,
) -> Result<dto::AssignPrivateIpAddressesResult> {
    let id = check_id(IdKind::NetworkInterface, &req.network_interface_id, "networkInterfaceId")?;
    if req.ipv4_prefixes.is_some() || req.ipv4_prefix_count.is_some() {
        return Err(Ec2Error::new(Code::NotImplemented, "ec2d does not implement IPv4 prefixes yet.").into());
    }
    let fixed = req.private_ip_addresses.clone().unwrap_or_default();
    let count = req.secondary_private_ip_address_count.unwrap_or(0);
    if fixed.is_empty() == (count == 0) {
        return Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Exactly one of privateIpAddress and secondaryPrivateIpAddressCount must be given.",
        )
        .into());
    }
    if !(0..=(core::MAX_PRIVATE_IPS as i64)).contains(&count) {
        return Err(eni_err(EniError::TooManyAddresses { id }));
    }
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let mut eni = load_eni(ctx, tx, &id)?;
    let mut subnet = load_subnet(ctx, tx, &eni.subnet_id)?;
    let mut ips = Vec::new();
    for ip in &fixed {
        subnet.reserve(ip).map_err(net_err)?;
        ips.push(ip.clone());
    }
    for _ in 0..count {
        ips.push(subnet.allocate().map_err(net_err)?);
    }
    core::assign(&mut eni, &ips).map_err(eni_err)?;
    let scope = ctx.scope.key();
    tx.put(scope, &subnet)?;
    tx.put(scope, &eni)?;
    Ok(dto::AssignPrivateIpAddressesResult {
        network_interface_id: Some(eni.id.to_string()),
        assigned_private_ip_addresses: Some(
            ips.into_iter().map(|ip| dto::AssignedPrivateIpAddress { private_ip_address: Some(ip) }).collect(),
        ),
        assigned_ipv4_prefixes: None,
    })
}

pub fn unassign_private_ip_addresses(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::UnassignPrivateIpAddressesRequest,
) -> Result<()> {
    let id = check_id(IdKind::NetworkInterface, &req.network_interface_id, "networkInterfaceId")?;
    let ips = req.private_ip_addresses.clone().unwrap_or_default();
    if ips.is_empty() {
        return Err(Ec2Error::missing_parameter("privateIpAddress").into());
    }
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let mut eni = load_eni(ctx, tx, &id)?;
    core::unassign(&mut eni, &ips).map_err(eni_err)?;
    let scope = ctx.scope.key();
    if let Some(mut subnet) = tx.get::<Subnet>(scope, &eni.subnet_id)? {
        for ip in &ips {
            subnet.release(ip);
        }
        tx.put(scope, &subnet)?;
    }
    tx.put(scope, &eni)?;
    Ok(())
}

/// The primary interface of a new instance, attached at device index 0 (deleted with the
/// instance), holding `fixed` or the next address of `free` (the subnet's free addresses, drawn
/// once per launch). Returns its address; the caller saves the subnet.
#[allow(clippy::too_many_arguments)]
pub fn create_primary(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    subnet: &mut Subnet,
    free: &mut ec2_core::subnets::FreeHosts,
    fixed: Option<String>,
    group_ids: Vec<String>,
    eni_id: String,
    instance_id: &str,
    attachment_id: &str,
) -> Result<String> {
    let ip = match fixed {
        Some(ip) => {
            subnet.reserve(&ip).map_err(net_err)?;
            ip
        }
        None => subnet.allocate_from(free).map_err(net_err)?,
    };
    let eni = primary_record(ctx, subnet, eni_id, ip.clone(), group_ids, instance_id, attachment_id);
    tx.put_owned(ctx.scope.key(), eni)?;
    Ok(ip)
}

fn primary_record(
    ctx: &Ctx<'_>,
    subnet: &Subnet,
    eni_id: String,
    ip: String,
    group_ids: Vec<String>,
    instance_id: &str,
    attachment_id: &str,
) -> NetworkInterface {
    let attachment = Attachment {
        id: attachment_id.into(),
        instance_id: instance_id.into(),
        device_index: 0,
        delete_on_termination: true,
        attach_time: ctx.now,
    };
    record(ctx, subnet, eni_id, String::new(), vec![ip.into()], group_ids, Some(attachment))
}

/// An interface record of the caller's account in `subnet` (its VPC and zone), with a source/destination
/// check, as both a created interface and an instance's primary one start.
fn record(
    ctx: &Ctx<'_>,
    subnet: &Subnet,
    id: String,
    description: String,
    private_ips: Vec<ec2_core::Text>,
    group_ids: Vec<String>,
    attachment: Option<Attachment>,
) -> NetworkInterface {
    NetworkInterface {
        mac_address: mac_address(&id).into(),
        id: id.into(),
        subnet_id: subnet.id.as_str().into(),
        vpc_id: subnet.vpc_id.as_str().into(),
        availability_zone: subnet.availability_zone.as_str().into(),
        owner_id: ctx.scope.account.as_str().into(),
        description: description.into(),
        private_ips,
        group_ids: group_ids.into_iter().map(Into::into).collect::<Vec<_>>().into(),
        source_dest_check: true,
        interface_type: "interface".into(),
        attachment,
    }
}

/// The attachment ID of an instance's primary interface, derived from the interface's.
pub fn primary_attachment_id(eni_id: &str) -> String {
    format!("eni-attach-{}", eni_id.trim_start_matches("eni-"))
}

/// Once per scope: the instances launched before interfaces were records get their primary
/// interface as a record holding their address in their subnet, and what instances that are gone
/// still hold (terminated before termination gave it back in `state_changes::apply`) is given
/// back. Afterwards every address, interface and Elastic IP in use is found through the records
/// the request names, never by scanning instances.
pub fn track_legacy(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<()> {
    let scope = ctx.scope.key();
    let instances = super::instances::load_all(ctx, tx)?;
    let live: std::collections::BTreeMap<&str, &Instance> = instances
        .iter()
        .filter(|i| !matches!(i.state, InstanceState::Terminated | InstanceState::ShuttingDown))
        .map(|i| (i.id.as_str(), i))
        .collect();
    for inst in live.values() {
        if inst.network_interface_id.is_empty()
            || tx.get::<NetworkInterface>(scope, &inst.network_interface_id)?.is_some()
        {
            continue;
        }
        if let Some(mut subnet) = tx.get::<Subnet>(scope, &inst.subnet_id)? {
            // An address the subnet cannot hold (outside it, or held twice) stays unrecorded there.
            if subnet.reserve(&inst.private_ip).is_ok() {
                tx.put(scope, &subnet)?;
            }
            let groups = inst.security_groups.iter().map(|g| g.id.to_string()).collect();
            let eni = primary_record(
                ctx,
                &subnet,
                inst.network_interface_id.to_string(),
                inst.private_ip.to_string(),
                groups,
                &inst.id,
                &primary_attachment_id(&inst.network_interface_id),
            );
            tx.put(scope, &eni)?;
        }
    }
    let mut gone: Vec<String> = tx
        .scan::<NetworkInterface>(scope)?
        .into_iter()
        .filter_map(|e| e.attachment.map(|a| a.instance_id.to_string()))
        .chain(
            tx.scan::<ec2_core::addresses::Address>(scope)?
                .into_iter()
                .filter_map(|a| a.association.and_then(|x| x.instance_id)),
        )
        .filter(|i| !live.contains_key(i.as_str()))
        .collect();
    gone.sort();
    gone.dedup();
    for id in gone {
        release_by_scan(ctx, tx, &id)?;
    }
    Ok(())
}

/// What a gone instance of old data holds, found by scanning (only [`track_legacy`], once).
fn release_by_scan(ctx: &Ctx<'_>, tx: &mut Txn<'_>, instance_id: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for eni in tx.scan::<NetworkInterface>(scope)? {
        if eni.attachment.as_ref().is_some_and(|a| a.instance_id == instance_id) {
            give_back(ctx, tx, eni)?;
        }
    }
    tx.delete::<InstanceInterfaces>(scope, instance_id)?;
    super::addresses::release_instance(ctx, tx, instance_id)
}

/// An interface of a terminated instance: deleted with it (its addresses return to its subnet)
/// or detached.
fn give_back(ctx: &Ctx<'_>, tx: &mut Txn<'_>, mut eni: NetworkInterface) -> Result<()> {
    match &eni.attachment {
        Some(a) if a.delete_on_termination => destroy(ctx, tx, &eni),
        _ => {
            eni.attachment = None;
            tx.put(ctx.scope.key(), &eni)?;
            Ok(())
        }
    }
}

/// What a terminated instance gives back: its interfaces that go with it are deleted (their
/// addresses return to their subnets), the others are detached, and its Elastic IPs are
/// disassociated. Found from the instance's primary interface and its `InstanceInterfaces`.
pub fn release_instance(ctx: &Ctx<'_>, tx: &mut Txn<'_>, inst: &Instance) -> Result<()> {
    let scope = ctx.scope.key();
    let links = attached_to(ctx, tx, &inst.id)?;
    if !links.by_device.is_empty() {
        tx.delete::<InstanceInterfaces>(scope, &inst.id)?;
    }
    let ids = std::iter::once(inst.network_interface_id.clone()).chain(links.by_device.into_values().map(Into::into));
    for id in ids {
        let Some(eni) = tx.get::<NetworkInterface>(scope, &id)? else { continue };
        if eni.attachment.as_ref().is_some_and(|a| a.instance_id == inst.id) {
            give_back(ctx, tx, eni)?;
        }
    }
    super::addresses::release_instance(ctx, tx, &inst.id)
}

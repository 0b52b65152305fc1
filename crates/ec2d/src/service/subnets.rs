//! Subnets: Create/Delete/Describe Subnets, ModifySubnetAttribute and CreateDefaultSubnet.

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::network::NetError;
use ec2_core::regions::{self, Zone};
use ec2_core::route_tables::RouteTable;
use ec2_core::subnets::{self, Subnet};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    five_to_thousand, load_named, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::vpcs::{check_id, ensure_default_network, load_vpc, net_err, with_tags, Row};
use super::{dry_run_gate, filters, tags, Ctx, Result};

/// A subnet with its free address count.
pub struct SubnetView {
    pub subnet: Subnet,
    pub region: String,
    pub free: u64,
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn flag(b: bool) -> Vec<String> {
    one(b.to_string())
}

fn subnet_arn(v: &SubnetView) -> String {
    format!("arn:aws:ec2:{}:{}:subnet/{}", v.region, v.subnet.owner_id, v.subnet.id)
}

pub fn load_subnet(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Subnet> {
    tx.get::<Subnet>(ctx.scope.key(), id)?.ok_or_else(|| not_found(IdKind::Subnet, &[id.to_string()]).into())
}

static SUBNET_FILTERS: FilterTable<Row<SubnetView>> = FilterTable {
    entries: &[
        ("availability-zone", |r| one(&r.item.subnet.availability_zone)),
        ("availabilityZone", |r| one(&r.item.subnet.availability_zone)),
        ("availability-zone-id", |r| one(&r.item.subnet.availability_zone_id)),
        ("available-ip-address-count", |r| one(r.item.free.to_string())),
        ("availableIpAddressCount", |r| one(r.item.free.to_string())),
        ("cidr", |r| one(&r.item.subnet.cidr)),
        ("cidr-block", |r| one(&r.item.subnet.cidr)),
        ("cidrBlock", |r| one(&r.item.subnet.cidr)),
        ("customer-owned-ipv4-pool", |_| vec![]),
        ("default-for-az", |r| flag(r.item.subnet.default_for_az)),
        ("defaultForAz", |r| flag(r.item.subnet.default_for_az)),
        ("enable-dns64", |r| flag(r.item.subnet.enable_dns64)),
        ("enable-lni-at-device-index", |r| {
            r.item.subnet.enable_lni_at_device_index.iter().map(|n| n.to_string()).collect()
        }),
        ("ipv6-cidr-block-association.ipv6-cidr-block", |_| vec![]),
        ("ipv6-cidr-block-association.association-id", |_| vec![]),
        ("ipv6-cidr-block-association.state", |_| vec![]),
        ("ipv6-native", |_| flag(false)),
        ("map-customer-owned-ip-on-launch", |r| flag(r.item.subnet.map_customer_owned_ip_on_launch)),
        ("map-public-ip-on-launch", |r| flag(r.item.subnet.map_public_ip_on_launch)),
        ("outpost-arn", |_| vec![]),
        ("owner-id", |r| one(&r.item.subnet.owner_id)),
        ("private-dns-name-options-on-launch.hostname-type", |r| one(&r.item.subnet.hostname_type)),
        ("private-dns-name-options-on-launch.enable-resource-name-dns-a-record", |r| {
            flag(r.item.subnet.enable_resource_name_dns_a_record)
        }),
        ("private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record", |r| {
            flag(r.item.subnet.enable_resource_name_dns_aaaa_record)
        }),
        ("state", |_| one("available")),
        ("subnet-arn", |r| one(subnet_arn(&r.item))),
        ("subnet-id", |r| one(&r.item.subnet.id)),
        ("subnetId", |r| one(&r.item.subnet.id)),
        ("vpc-id", |r| one(&r.item.subnet.vpc_id)),
        ("vpcId", |r| one(&r.item.subnet.vpc_id)),
    ],
    tags: Some(|r| &r.tags),
};

pub fn subnet_dto(r: &Row<SubnetView>) -> dto::Subnet {
    let s = &r.item.subnet;
    dto::Subnet {
        subnet_id: Some(s.id.clone()),
        subnet_arn: Some(subnet_arn(&r.item)),
        state: Some("available".into()),
        vpc_id: Some(s.vpc_id.clone()),
        owner_id: Some(s.owner_id.clone()),
        cidr_block: Some(s.cidr.clone()),
        available_ip_address_count: Some(r.item.free as i64),
        availability_zone: Some(s.availability_zone.clone()),
        availability_zone_id: Some(s.availability_zone_id.clone()),
        default_for_az: Some(s.default_for_az),
        map_public_ip_on_launch: Some(s.map_public_ip_on_launch),
        map_customer_owned_ip_on_launch: Some(s.map_customer_owned_ip_on_launch),
        assign_ipv6_address_on_creation: Some(s.assign_ipv6_address_on_creation),
        ipv6_cidr_block_association_set: Some(vec![]),
        enable_dns64: Some(s.enable_dns64),
        ipv6_native: Some(false),
        enable_lni_at_device_index: s.enable_lni_at_device_index,
        private_dns_name_options_on_launch: Some(dto::PrivateDnsNameOptionsOnLaunch {
            hostname_type: Some(s.hostname_type.clone()),
            enable_resource_name_dns_a_record: Some(s.enable_resource_name_dns_a_record),
            enable_resource_name_dns_aaaa_record: Some(s.enable_resource_name_dns_aaaa_record),
        }),
        tags: tag_set(&r.tags),
        ..Default::default()
    }
}

fn view(ctx: &Ctx<'_>, subnet: Subnet) -> SubnetView {
    let free = subnet.available();
    SubnetView { subnet, region: ctx.scope.region.clone(), free }
}

pub fn describe_subnets(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSubnetsRequest,
) -> Result<dto::DescribeSubnetsResult> {
    let ids = well_formed(IdKind::Subnet, req.subnet_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&SUBNET_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let subnets: Vec<Subnet> = if ids.is_empty() {
        tx.scan(ctx.scope.key())?
    } else {
        let mut v: Vec<Subnet> = load_named(ctx, tx, IdKind::Subnet, &ids)?;
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let views: Vec<SubnetView> = subnets.into_iter().map(|s| view(ctx, s)).collect();
    let mut rows = with_tags(ctx, tx, views, |v| v.subnet.id.clone())?;
    rows.retain(|r| SUBNET_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.subnet.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSubnetsResult { subnets: Some(page.iter().map(subnet_dto).collect()), next_token: next })
}

/// The zone a request names by name or by ID; `None` when it names neither.
fn requested_zone(ctx: &Ctx<'_>, name: &Option<String>, id: &Option<String>) -> Result<Option<&'static Zone>> {
    let zones = regions::region(&ctx.scope.region).map(|r| r.zones).unwrap_or_default();
    let listing = || zones.iter().map(|z| z.name).collect::<Vec<_>>().join(", ");
    match (name, id) {
        (Some(_), Some(_)) => Err(Ec2Error::new(
            Code::InvalidParameterCombination,
            "Only one of availabilityZone or availabilityZoneId may be specified.",
        )
        .into()),
        (Some(n), None) => zones.iter().find(|z| z.name == n.as_str()).map(Some).ok_or_else(|| {
            Ec2Error::invalid_parameter_value(format!(
                "Value ({n}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                listing()
            ))
            .into()
        }),
        (None, Some(i)) => zones.iter().find(|z| z.id == i.as_str()).map(Some).ok_or_else(|| {
            Ec2Error::invalid_parameter_value(format!(
                "Value ({i}) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: {}.",
                listing()
            ))
            .into()
        }),
        (None, None) => Ok(None),
    }
}

pub fn create_subnet(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateSubnetRequest,
) -> Result<dto::CreateSubnetResult> {
    let vpc_id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    if req.ipv6_cidr_block.is_some() || req.ipv6_native == Some(true) || req.ipv4_ipam_pool_id.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement CreateSubnet with IPAM pools or IPv6 blocks yet.",
        )
        .into());
    }
    let cidr = req.cidr_block.clone().ok_or_else(|| Ec2Error::missing_parameter("cidrBlock"))?;
    let zone = requested_zone(ctx, &req.availability_zone, &req.availability_zone_id)?;
    let specs = tag_specifications(&req.tag_specifications, &["subnet"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = load_vpc(ctx, tx, &vpc_id)?;
    let siblings: Vec<String> =
        tx.scan::<Subnet>(ctx.scope.key())?.into_iter().filter(|s| s.vpc_id == vpc.id).map(|s| s.cidr).collect();
    let net = subnets::check_subnet_cidr(&vpc, &cidr, &siblings).map_err(net_err)?;
    // ec2d places a subnet without a zone in the region's first zone.
    let zones = regions::region(&ctx.scope.region).map(|r| r.zones).unwrap_or_default();
    let zone = zone.or(zones.first()).ok_or_else(|| {
        Ec2Error::invalid_parameter_value(format!("ec2d has no availability zones for region '{}'", ctx.scope.region))
    })?;
    let index = zones.iter().position(|z| z.name == zone.name).unwrap_or(0);
    let id = new_id(ctx, tx, IdKind::Subnet)?;
    let mut subnet = super::vpcs::default_subnet(ctx, &vpc, id, index, net.to_string());
    subnet.default_for_az = false;
    subnet.map_public_ip_on_launch = false;
    tx.put(ctx.scope.key(), &subnet)?;
    let tags = tags::set_tags(ctx, tx, &subnet.id, "subnet", tags_for(&specs, "subnet"))?;
    let item = view(ctx, subnet);
    Ok(dto::CreateSubnetResult { subnet: Some(subnet_dto(&Row { item, tags })) })
}

pub fn create_default_subnet(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateDefaultSubnetRequest,
) -> Result<dto::CreateDefaultSubnetResult> {
    if req.ipv6_native == Some(true) {
        return Err(Ec2Error::new(Code::NotImplemented, "ec2d does not implement IPv6-only subnets yet.").into());
    }
    let zone = requested_zone(ctx, &req.availability_zone, &req.availability_zone_id)?
        .ok_or_else(|| Ec2Error::missing_parameter("availabilityZone"))?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = super::vpcs::default_vpc(ctx, tx)?.ok_or_else(|| net_err(NetError::NoDefaultVpc))?;
    let scope = ctx.scope.key();
    let siblings: Vec<Subnet> = tx.scan::<Subnet>(scope)?.into_iter().filter(|s| s.vpc_id == vpc.id).collect();
    if siblings.iter().any(|s| s.default_for_az && s.availability_zone == zone.name) {
        return Err(net_err(NetError::DefaultSubnetExists { zone: zone.name.to_string() }));
    }
    let cidrs: Vec<String> = siblings.iter().map(|s| s.cidr.clone()).collect();
    let cidr = subnets::default_subnet_cidr(&vpc, &cidrs).ok_or_else(|| {
        net_err(NetError::SubnetConflict { cidr: format!("{} (no free /20 left)", vpc.primary_cidr()) })
    })?;
    let zones = regions::region(&ctx.scope.region).map(|r| r.zones).unwrap_or_default();
    let index = zones.iter().position(|z| z.name == zone.name).unwrap_or(0);
    let id = new_id(ctx, tx, IdKind::Subnet)?;
    let subnet = super::vpcs::default_subnet(ctx, &vpc, id, index, cidr);
    tx.put(scope, &subnet)?;
    let item = view(ctx, subnet);
    Ok(dto::CreateDefaultSubnetResult { subnet: Some(subnet_dto(&Row { item, tags: Default::default() })) })
}

pub fn delete_subnet(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteSubnetRequest) -> Result<()> {
    let id = check_id(IdKind::Subnet, &req.subnet_id, "subnetId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let subnet = load_subnet(ctx, tx, &id)?;
    if subnet.in_use() > 0 {
        return Err(net_err(NetError::Dependency { kind: "subnet", id: subnet.id.clone() }));
    }
    let scope = ctx.scope.key();
    // The subnet's explicit route table association goes with it.
    for mut t in tx.scan::<RouteTable>(scope)? {
        let before = t.associations.len();
        t.associations.retain(|a| a.subnet_id.as_deref() != Some(subnet.id.as_str()));
        if t.associations.len() != before {
            tx.put(scope, &t)?;
        }
    }
    tags::drop_tags(ctx, tx, &subnet.id)?;
    tx.delete::<Subnet>(scope, &subnet.id)?;
    Ok(())
}

pub fn modify_subnet_attribute(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ModifySubnetAttributeRequest) -> Result<()> {
    let id = check_id(IdKind::Subnet, &req.subnet_id, "subnetId")?;
    let b = |v: &Option<dto::AttributeBooleanValue>| v.as_ref().map(|v| v.value.unwrap_or(false));
    if req.customer_owned_ipv4_pool.is_some() || b(&req.map_customer_owned_ip_on_launch) == Some(true) {
        return Err(Ec2Error::new(Code::NotImplemented, "ec2d has no customer-owned address pools.").into());
    }
    if b(&req.assign_ipv6_address_on_creation) == Some(true) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Invalid value 'true' for assignIpv6AddressOnCreation. Subnet {id} has no IPv6 CIDR block."
        ))
        .into());
    }
    if let Some(t) =
        req.private_dns_hostname_type_on_launch.as_deref().filter(|t| !matches!(*t, "ip-name" | "resource-name"))
    {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({t}) for parameter privateDnsHostnameTypeOnLaunch is invalid. Expected 'ip-name' or 'resource-name'."
        ))
        .into());
    }
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let mut s = load_subnet(ctx, tx, &id)?;
    if let Some(v) = b(&req.map_public_ip_on_launch) {
        s.map_public_ip_on_launch = v;
    }
    if let Some(v) = b(&req.assign_ipv6_address_on_creation) {
        s.assign_ipv6_address_on_creation = v;
    }
    if let Some(v) = b(&req.map_customer_owned_ip_on_launch) {
        s.map_customer_owned_ip_on_launch = v;
    }
    if let Some(v) = b(&req.enable_dns64) {
        s.enable_dns64 = v;
    }
    if let Some(t) = &req.private_dns_hostname_type_on_launch {
        s.hostname_type = t.clone();
    }
    if let Some(v) = b(&req.enable_resource_name_dns_a_record_on_launch) {
        s.enable_resource_name_dns_a_record = v;
    }
    if let Some(v) = b(&req.enable_resource_name_dns_aaaa_record_on_launch) {
        s.enable_resource_name_dns_aaaa_record = v;
    }
    if let Some(n) = req.enable_lni_at_device_index {
        s.enable_lni_at_device_index = Some(n);
    }
    if b(&req.disable_lni_at_device_index) == Some(true) {
        s.enable_lni_at_device_index = None;
    }
    tx.put(ctx.scope.key(), &s)?;
    Ok(())
}

/// Where a launch goes, resolved from the records after the permission gate: the subnet, the
/// groups, and whether the instances get public addresses.
pub struct LaunchNetwork {
    pub subnet: Subnet,
    pub groups: Vec<ec2_core::instances::model::SecurityGroupRef>,
    pub associate_public_ip: bool,
}

/// The network of a RunInstances-shaped request: `SubnetId` (or the first interface's subnet),
/// else the default subnet of the requested zone (or of the region's first zone) in the default
/// VPC; `SecurityGroupIds` (or the interface's groups) in the subnet's VPC, `SecurityGroups` by name
/// in the default VPC, else the VPC's default group; a chosen private address inside the subnet and
/// free; public addresses as the interface asks or as the subnet maps them.
pub fn resolve_launch(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::RunInstancesRequest) -> Result<LaunchNetwork> {
    use ec2_core::instances::model::SecurityGroupRef;
    use ec2_core::security_groups::SecurityGroup;
    ensure_default_network(ctx, tx)?;
    let nic = req.network_interfaces.as_ref().and_then(|n| n.first());
    let subnet_id = req.subnet_id.clone().or_else(|| nic.and_then(|n| n.subnet_id.clone()));
    let zone_name = req.placement.as_ref().and_then(|p| p.availability_zone.clone());
    let zone_id = req.placement.as_ref().and_then(|p| p.availability_zone_id.clone());
    let scope = ctx.scope.key();
    let subnet = match &subnet_id {
        Some(id) => {
            let s = load_subnet(ctx, tx, id)?;
            let other_zone = zone_name.as_ref().filter(|z| **z != s.availability_zone);
            if let Some(z) = other_zone {
                return Err(Ec2Error::invalid_parameter_value(format!(
                    "Value ({z}) for parameter availabilityZone is invalid. Subnet {} is in availability zone {}",
                    s.id, s.availability_zone
                ))
                .into());
            }
            s
        }
        None => {
            let vpc = super::vpcs::default_vpc(ctx, tx)?.ok_or_else(|| {
                Ec2Error::new(Code::VpcIdNotSpecified, "No default VPC for this user. A subnet must be specified.")
            })?;
            // The default subnet the network was made with, read by key: a zone has at most one default
            // subnet, and the region's first zone comes first. Without it, the scope's subnets are searched.
            let net = ec2_core::network::DefaultNetwork::of(ctx.scope, ctx.ids);
            let keyed = match net.launch_subnet(zone_name.as_deref(), zone_id.as_deref()) {
                Some(first) => tx.get::<Subnet>(scope, &first.id)?.filter(|s| s.vpc_id == vpc.id && s.default_for_az),
                None => None,
            };
            let zones = regions::region(&ctx.scope.region).map(|r| r.zones).unwrap_or_default();
            let mut defaults: Vec<Subnet> = match keyed {
                Some(s) => vec![s],
                None => {
                    tx.scan::<Subnet>(scope)?.into_iter().filter(|s| s.vpc_id == vpc.id && s.default_for_az).collect()
                }
            };
            let pos = |s: &Subnet| zones.iter().position(|z| z.name == s.availability_zone).unwrap_or(usize::MAX);
            defaults.sort_by_key(pos);
            let wanted = |s: &&Subnet| match (&zone_name, &zone_id) {
                (Some(z), _) => s.availability_zone == *z,
                (None, Some(id)) => s.availability_zone_id == *id,
                (None, None) => true,
            };
            let found = defaults.iter().find(wanted).cloned();
            found.ok_or_else(|| {
                let z = zone_name.clone().or(zone_id.clone()).unwrap_or_else(|| ctx.scope.region.clone());
                Ec2Error::invalid_parameter_value(format!("No default subnet for availability zone: '{z}'."))
            })?
        }
    };
    let nic_groups = nic.and_then(|n| n.groups.clone());
    let ids: Vec<String> = req.security_group_ids.clone().or(nic_groups).unwrap_or_default();
    let names: Vec<String> = req.security_groups.clone().unwrap_or_default();
    let mut groups: Vec<SecurityGroup> = Vec::new();
    if !ids.is_empty() {
        let ids = well_formed(IdKind::SecurityGroup, &ids)?;
        groups.extend(load_named::<SecurityGroup>(ctx, tx, IdKind::SecurityGroup, &ids)?);
    }
    if !names.is_empty() {
        let vpc = tx.get::<ec2_core::vpcs::Vpc>(scope, &subnet.vpc_id)?;
        if subnet_id.is_some() && !vpc.as_ref().is_some_and(|v| v.is_default) {
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                "The parameter groupName cannot be used with the parameter subnet",
            )
            .into());
        }
        for name in &names {
            groups.push(super::security_groups::by_name_in_default_vpc(ctx, tx, name)?);
        }
    }
    if let Some(g) = groups.iter().find(|g| g.vpc_id != subnet.vpc_id) {
        return Err(Ec2Error::new(
            Code::InvalidParameter,
            format!("Security group {} and subnet {} belong to different networks.", g.id, subnet.id),
        )
        .into());
    }
    if groups.is_empty() {
        let vpc = super::vpcs::load_vpc(ctx, tx, &subnet.vpc_id)?;
        groups.push(super::security_groups::load_group(ctx, tx, &vpc.default_security_group_id)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    let groups = groups
        .into_iter()
        .filter(|g| seen.insert(g.id.clone()))
        .map(|g| SecurityGroupRef { id: g.id.into(), name: g.name.into() })
        .collect();
    let fixed = req.private_ip_address.clone().or_else(|| nic.and_then(|n| n.private_ip_address.clone()));
    if let Some(ip) = fixed {
        // Inside the subnet, not AWS's, and free.
        subnet.check_free(&ip).map_err(net_err)?;
    }
    let associate_public_ip = nic.and_then(|n| n.associate_public_ip_address).unwrap_or(subnet.map_public_ip_on_launch);
    Ok(LaunchNetwork { subnet, groups, associate_public_ip })
}

/// How many of a launch of `min`..=`count` instances the subnet has addresses for
/// (`InsufficientFreeAddressesInSubnet` below `min`).
pub fn launchable(ctx: &Ctx<'_>, tx: &mut Txn<'_>, subnet_id: &str, min: i64, count: usize) -> Result<usize> {
    let subnet = load_subnet(ctx, tx, subnet_id)?;
    let free = subnet.available();
    if (free as i64) < min {
        return Err(net_err(NetError::SubnetFull { subnet: subnet.id }));
    }
    Ok(count.min(free as usize))
}

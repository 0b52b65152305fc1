//! VPCs: Create/Delete/Describe Vpcs, Describe/ModifyVpcAttribute, Associate/DisassociateVpcCidrBlock
//! and CreateDefaultVpc; and the default network of every scope, written as real records the first
//! time a network family touches the scope ([`ensure_default_network`]).

use std::collections::BTreeMap;

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::internet_gateways::InternetGateway;
use ec2_core::network::{DefaultNetwork, NetError};
use ec2_core::route_tables::{self, Association, RouteTable, RouteTarget};
use ec2_core::security_groups::{self, SecurityGroup};
use ec2_core::subnets::Subnet;
use ec2_core::vpcs::{self, CidrBlock, Vpc, VpcDependents};
use ec2_core::Scope;
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;
use serde::{Deserialize, Serialize};

use super::common::{
    five_to_thousand, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::{dry_run_gate, errors, filters, tags, Ctx, Error, Result};

/// The mark that a scope's default network has been written (it may have been deleted since).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DefaultNetworkMark {
    pub id: String,
    /// Whether the scope's interfaces and addresses have been brought up to date once
    /// (`network_interfaces::track_legacy`): absent in marks written before.
    #[serde(default)]
    pub tracked: bool,
}

impl ec2_store::Record for DefaultNetworkMark {
    const KIND: &'static str = "default_network_mark";
    fn id(&self) -> &str {
        &self.id
    }
}

pub fn net_err(e: NetError) -> Error {
    errors::network(e).into()
}

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn flag(b: bool) -> Vec<String> {
    one(b.to_string())
}

/// A record with its tags, for filters and responses.
pub struct Row<T> {
    pub item: T,
    pub tags: BTreeMap<String, String>,
}

pub fn with_tags<T>(ctx: &Ctx<'_>, tx: &mut Txn<'_>, items: Vec<T>, id: impl Fn(&T) -> String) -> Result<Vec<Row<T>>> {
    items
        .into_iter()
        .map(|item| {
            let tags = tags::network_tags(tx, ctx, &id(&item))?;
            Ok(Row { item, tags })
        })
        .collect()
}

/// The IDs a default network (or a new default VPC) is built with.
pub struct DefaultIds {
    pub vpc: String,
    pub cidr_association: String,
    pub dhcp_options: String,
    pub security_group: String,
    pub rule_ids: [String; 2],
    pub route_table: String,
    pub main_association: String,
    pub internet_gateway: String,
    /// `(subnet ID, zone index)` per zone.
    pub subnets: Vec<String>,
}

/// Writes the scope's default network the first time any network family touches the scope, with the
/// IDs `ec2_core::network` derives from the scope. Deleting it later does not bring it back.
pub fn ensure_default_network(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<()> {
    let scope = ctx.scope.key();
    match tx.get::<DefaultNetworkMark>(scope, "default")? {
        Some(m) if m.tracked => return Ok(()),
        Some(_) => {}
        None => write_default_network(ctx, tx)?,
    }
    tx.put(scope, &DefaultNetworkMark { id: "default".into(), tracked: true })?;
    super::network_interfaces::track_legacy(ctx, tx)
}

fn write_default_network(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<()> {
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let ids = DefaultIds {
        vpc: net.vpc_id.clone(),
        cidr_association: net.cidr_association_id.clone(),
        dhcp_options: net.dhcp_options_id.clone(),
        security_group: net.security_group_id.clone(),
        rule_ids: net.security_group_rule_ids.clone(),
        route_table: net.route_table_id.clone(),
        main_association: net.main_association_id.clone(),
        internet_gateway: net.internet_gateway_id.clone(),
        subnets: net.subnets.iter().map(|s| s.id.clone()).collect(),
    };
    write_default_vpc(ctx, tx, &ids)?;
    Ok(())
}

fn zones(scope: &Scope) -> &'static [ec2_core::regions::Zone] {
    ec2_core::regions::region(&scope.region).map(|r| r.zones).unwrap_or_default()
}

/// A default subnet of `vpc` in the zone with index `index`.
pub fn default_subnet(ctx: &Ctx<'_>, vpc: &Vpc, id: String, index: usize, cidr: String) -> Subnet {
    let zone = &zones(ctx.scope)[index];
    Subnet {
        id,
        vpc_id: vpc.id.clone(),
        owner_id: ctx.scope.account.clone(),
        cidr,
        availability_zone: zone.name.to_string(),
        availability_zone_id: zone.id.to_string(),
        default_for_az: true,
        map_public_ip_on_launch: true,
        assign_ipv6_address_on_creation: false,
        map_customer_owned_ip_on_launch: false,
        enable_dns64: false,
        enable_lni_at_device_index: None,
        hostname_type: "ip-name".into(),
        enable_resource_name_dns_a_record: false,
        enable_resource_name_dns_aaaa_record: false,
        used: BTreeMap::new(),
        held: Default::default(),
    }
}

/// A default VPC (172.31.0.0/16, DNS hostnames on) with a default subnet per zone, its default
/// group, its main route table and an attached internet gateway that the main table routes to.
fn write_default_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, ids: &DefaultIds) -> Result<Vpc> {
    let scope = ctx.scope.key();
    let mut vpc = new_vpc(ctx, ids, ec2_core::network::VPC_CIDR, "default", true);
    vpc.enable_dns_hostnames = true;
    write_vpc_parts(ctx, tx, &vpc, ids)?;
    let mut table: RouteTable = tx.get(scope, &ids.route_table)?.expect("written above");
    route_tables::create_route(&mut table, "0.0.0.0/0", RouteTarget::Gateway(ids.internet_gateway.clone()))
        .map_err(net_err)?;
    tx.put(scope, &table)?;
    tx.put(
        scope,
        &InternetGateway {
            id: ids.internet_gateway.clone(),
            owner_id: ctx.scope.account.clone(),
            vpc_id: Some(vpc.id.clone()),
        },
    )?;
    for (index, id) in ids.subnets.iter().enumerate() {
        let subnet = default_subnet(ctx, &vpc, id.clone(), index, format!("172.31.{}.0/20", index * 16));
        tx.put(scope, &subnet)?;
    }
    Ok(vpc)
}

fn new_vpc(ctx: &Ctx<'_>, ids: &DefaultIds, cidr: &str, tenancy: &str, is_default: bool) -> Vpc {
    Vpc {
        id: ids.vpc.clone(),
        owner_id: ctx.scope.account.clone(),
        cidr_blocks: vec![CidrBlock {
            association_id: ids.cidr_association.clone(),
            cidr: cidr.to_string(),
            state: "associated".into(),
        }],
        is_default,
        instance_tenancy: tenancy.to_string(),
        dhcp_options_id: ids.dhcp_options.clone(),
        enable_dns_support: true,
        enable_dns_hostnames: false,
        enable_network_address_usage_metrics: false,
        main_route_table_id: ids.route_table.clone(),
        default_security_group_id: ids.security_group.clone(),
    }
}

/// The VPC with its default group and its main route table (a local route per block).
fn write_vpc_parts(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc, ids: &DefaultIds) -> Result<()> {
    let scope = ctx.scope.key();
    let owner = ctx.scope.account.clone();
    tx.put(scope, vpc)?;
    tx.put(
        scope,
        &SecurityGroup {
            id: ids.security_group.clone(),
            name: "default".into(),
            description: "default VPC security group".into(),
            vpc_id: vpc.id.clone(),
            owner_id: owner.clone(),
            rules: security_groups::default_rules(&ids.security_group, &owner, true, ids.rule_ids.clone()),
        },
    )?;
    let cidrs: Vec<String> = vpc.cidr_blocks.iter().map(|b| b.cidr.clone()).collect();
    let mut table = RouteTable::new(ids.route_table.clone(), vpc.id.clone(), owner, &cidrs);
    table.associations.push(Association { id: ids.main_association.clone(), subnet_id: None, main: true });
    tx.put(scope, &table)?;
    Ok(())
}

/// Fresh IDs from the store's counters for a new VPC's parts.
fn fresh_ids(ctx: &Ctx<'_>, tx: &mut Txn<'_>, subnets: usize) -> Result<DefaultIds> {
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    Ok(DefaultIds {
        vpc: new_id(ctx, tx, IdKind::Vpc)?,
        cidr_association: new_id(ctx, tx, IdKind::VpcCidrAssociation)?,
        dhcp_options: net.dhcp_options_id,
        security_group: new_id(ctx, tx, IdKind::SecurityGroup)?,
        rule_ids: [new_id(ctx, tx, IdKind::SecurityGroupRule)?, new_id(ctx, tx, IdKind::SecurityGroupRule)?],
        route_table: new_id(ctx, tx, IdKind::RouteTable)?,
        main_association: new_id(ctx, tx, IdKind::RouteTableAssociation)?,
        internet_gateway: new_id(ctx, tx, IdKind::InternetGateway)?,
        subnets: (0..subnets).map(|_| new_id(ctx, tx, IdKind::Subnet)).collect::<Result<_>>()?,
    })
}

/// The VPC named `id`, after a syntax check; `InvalidVpcID.NotFound` when there is none.
pub fn load_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<Vpc> {
    tx.get::<Vpc>(ctx.scope.key(), id)?.ok_or_else(|| not_found(IdKind::Vpc, &[id.to_string()]).into())
}

pub fn check_id(kind: IdKind, id: &Option<String>, param: &str) -> Result<String> {
    let id = id.clone().ok_or_else(|| Ec2Error::missing_parameter(param))?;
    well_formed(kind, std::slice::from_ref(&id))?;
    Ok(id)
}

/// The scope's default VPC, if it has one. The one the scope's default network was made with is read
/// by key (there is at most one default VPC); only when it is gone or no longer the default are the
/// scope's VPCs searched (a scan, which on PostgreSQL conflicts with every change to a VPC of the scope).
pub fn default_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>) -> Result<Option<Vpc>> {
    let scope = ctx.scope.key();
    let first = DefaultNetwork::of(ctx.scope, ctx.ids).vpc_id;
    if let Some(vpc) = tx.get::<Vpc>(scope, &first)?.filter(|v| v.is_default) {
        return Ok(Some(vpc));
    }
    Ok(tx.scan::<Vpc>(scope)?.into_iter().find(|v| v.is_default))
}

pub fn vpc_dto(r: &Row<Vpc>) -> dto::Vpc {
    let v = &r.item;
    dto::Vpc {
        vpc_id: Some(v.id.clone()),
        owner_id: Some(v.owner_id.clone()),
        state: Some("available".into()),
        cidr_block: Some(v.primary_cidr().to_string()),
        dhcp_options_id: Some(v.dhcp_options_id.clone()),
        instance_tenancy: Some(v.instance_tenancy.clone()),
        is_default: Some(v.is_default),
        cidr_block_association_set: Some(v.cidr_blocks.iter().map(cidr_dto).collect()),
        tags: tag_set(&r.tags),
        ..Default::default()
    }
}

fn cidr_dto(b: &CidrBlock) -> dto::VpcCidrBlockAssociation {
    dto::VpcCidrBlockAssociation {
        association_id: Some(b.association_id.clone()),
        cidr_block: Some(b.cidr.clone()),
        cidr_block_state: Some(dto::VpcCidrBlockState { state: Some(b.state.clone()), ..Default::default() }),
    }
}

static VPC_FILTERS: FilterTable<Row<Vpc>> = FilterTable {
    entries: &[
        ("cidr", |r| one(r.item.primary_cidr())),
        ("cidr-block", |r| one(r.item.primary_cidr())),
        ("cidrBlock", |r| one(r.item.primary_cidr())),
        ("cidr-block-association.cidr-block", |r| r.item.cidr_blocks.iter().map(|b| b.cidr.clone()).collect()),
        ("cidr-block-association.association-id", |r| {
            r.item.cidr_blocks.iter().map(|b| b.association_id.clone()).collect()
        }),
        ("cidr-block-association.state", |r| r.item.cidr_blocks.iter().map(|b| b.state.clone()).collect()),
        ("dhcp-options-id", |r| one(&r.item.dhcp_options_id)),
        ("dhcpOptionsId", |r| one(&r.item.dhcp_options_id)),
        ("ipv6-cidr-block-association.ipv6-cidr-block", |_| vec![]),
        ("ipv6-cidr-block-association.ipv6-pool", |_| vec![]),
        ("ipv6-cidr-block-association.association-id", |_| vec![]),
        ("ipv6-cidr-block-association.state", |_| vec![]),
        ("is-default", |r| flag(r.item.is_default)),
        ("isDefault", |r| flag(r.item.is_default)),
        ("owner-id", |r| one(&r.item.owner_id)),
        ("state", |_| one("available")),
        ("vpc-id", |r| one(&r.item.id)),
        ("vpcId", |r| one(&r.item.id)),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_vpcs(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVpcsRequest,
) -> Result<dto::DescribeVpcsResult> {
    let ids = well_formed(IdKind::Vpc, req.vpc_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&VPC_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpcs: Vec<Vpc> = if ids.is_empty() {
        tx.scan(ctx.scope.key())?
    } else {
        let mut v: Vec<Vpc> = super::common::load_named(ctx, tx, IdKind::Vpc, &ids)?;
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let mut rows = with_tags(ctx, tx, vpcs, |v| v.id.clone())?;
    rows.retain(|r| VPC_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeVpcsResult { vpcs: Some(page.iter().map(vpc_dto).collect()), next_token: next })
}

pub fn create_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateVpcRequest) -> Result<dto::CreateVpcResult> {
    if req.ipv4_ipam_pool_id.is_some() || req.amazon_provided_ipv6_cidr_block == Some(true) || req.ipv6_pool.is_some() {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement CreateVpc with IPAM pools or IPv6 blocks yet.",
        )
        .into());
    }
    let cidr = req.cidr_block.clone().ok_or_else(|| Ec2Error::missing_parameter("cidrBlock"))?;
    let net = vpcs::check_vpc_cidr(&cidr).map_err(net_err)?;
    let tenancy = req.instance_tenancy.clone().unwrap_or_else(|| "default".into());
    if !matches!(tenancy.as_str(), "default" | "dedicated") {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({tenancy}) for parameter instanceTenancy is invalid. Expected 'default' or 'dedicated'."
        ))
        .into());
    }
    let specs = tag_specifications(&req.tag_specifications, &["vpc"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let ids = fresh_ids(ctx, tx, 0)?;
    let vpc = new_vpc(ctx, &ids, &net.to_string(), &tenancy, false);
    write_vpc_parts(ctx, tx, &vpc, &ids)?;
    let tags = tags::set_tags(ctx, tx, &vpc.id, "vpc", tags_for(&specs, "vpc"))?;
    Ok(dto::CreateVpcResult { vpc: Some(vpc_dto(&Row { item: vpc, tags })) })
}

pub fn create_default_vpc(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateDefaultVpcRequest,
) -> Result<dto::CreateDefaultVpcResult> {
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    if default_vpc(ctx, tx)?.is_some() {
        return Err(net_err(NetError::DefaultVpcExists));
    }
    let ids = fresh_ids(ctx, tx, zones(ctx.scope).len())?;
    let vpc = write_default_vpc(ctx, tx, &ids)?;
    Ok(dto::CreateDefaultVpcResult { vpc: Some(vpc_dto(&Row { item: vpc, tags: BTreeMap::new() })) })
}

/// What still lives in the VPC.
fn dependents(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc) -> Result<VpcDependents> {
    let scope = ctx.scope.key();
    let subnets = tx.scan::<Subnet>(scope)?.iter().filter(|s| s.vpc_id == vpc.id).count();
    let attached_gateways =
        tx.scan::<InternetGateway>(scope)?.iter().filter(|g| g.vpc_id.as_deref() == Some(&vpc.id)).count();
    let extra_security_groups = tx
        .scan::<SecurityGroup>(scope)?
        .iter()
        .filter(|g| g.vpc_id == vpc.id && g.id != vpc.default_security_group_id)
        .count();
    let extra_route_tables =
        tx.scan::<RouteTable>(scope)?.iter().filter(|t| t.vpc_id == vpc.id && t.id != vpc.main_route_table_id).count();
    // An instance's primary interface is one of them.
    let network_interfaces = super::network_interfaces::count_in_vpc(ctx, tx, &vpc.id)?;
    Ok(VpcDependents { subnets, attached_gateways, extra_security_groups, extra_route_tables, network_interfaces })
}

pub fn delete_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteVpcRequest) -> Result<()> {
    let id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = load_vpc(ctx, tx, &id)?;
    let deps = dependents(ctx, tx, &vpc)?;
    vpcs::check_delete(&vpc, &deps).map_err(net_err)?;
    let scope = ctx.scope.key();
    for gone in [&vpc.id, &vpc.default_security_group_id, &vpc.main_route_table_id] {
        tags::drop_tags(ctx, tx, gone)?;
    }
    tx.delete::<SecurityGroup>(scope, &vpc.default_security_group_id)?;
    tx.delete::<RouteTable>(scope, &vpc.main_route_table_id)?;
    tx.delete::<Vpc>(scope, &vpc.id)?;
    Ok(())
}

fn bool_attr(v: bool) -> Option<dto::AttributeBooleanValue> {
    Some(dto::AttributeBooleanValue { value: Some(v) })
}

pub fn describe_vpc_attribute(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVpcAttributeRequest,
) -> Result<dto::DescribeVpcAttributeResult> {
    let attribute = req.attribute.clone().ok_or_else(|| Ec2Error::missing_parameter("attribute"))?;
    let id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    if !matches!(attribute.as_str(), "enableDnsSupport" | "enableDnsHostnames" | "enableNetworkAddressUsageMetrics") {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Value ({attribute}) for parameter attribute is invalid. Unknown attribute."
        ))
        .into());
    }
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = load_vpc(ctx, tx, &id)?;
    let mut out = dto::DescribeVpcAttributeResult { vpc_id: Some(vpc.id.clone()), ..Default::default() };
    match attribute.as_str() {
        "enableDnsSupport" => out.enable_dns_support = bool_attr(vpc.enable_dns_support),
        "enableDnsHostnames" => out.enable_dns_hostnames = bool_attr(vpc.enable_dns_hostnames),
        _ => out.enable_network_address_usage_metrics = bool_attr(vpc.enable_network_address_usage_metrics),
    }
    Ok(out)
}

pub fn modify_vpc_attribute(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ModifyVpcAttributeRequest) -> Result<()> {
    let id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    let given: Vec<(&str, Option<bool>)> = [
        ("enableDnsHostnames", &req.enable_dns_hostnames),
        ("enableDnsSupport", &req.enable_dns_support),
        ("enableNetworkAddressUsageMetrics", &req.enable_network_address_usage_metrics),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.as_ref().map(|v| (n, v.value)))
    .collect();
    match given.len() {
        0 => {
            return Err(Ec2Error::missing_parameter(
                "enableDnsHostnames, enableDnsSupport or enableNetworkAddressUsageMetrics",
            )
            .into())
        }
        1 => {}
        _ => {
            let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            return Err(Ec2Error::new(
                Code::InvalidParameterCombination,
                format!("Fields for multiple attribute types specified: {}", names.join(", ")),
            )
            .into());
        }
    }
    let (name, value) = given[0];
    let value = value.ok_or_else(|| Ec2Error::missing_parameter(&format!("{name}.Value")))?;
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let mut vpc = load_vpc(ctx, tx, &id)?;
    match name {
        "enableDnsHostnames" => vpc.enable_dns_hostnames = value,
        "enableDnsSupport" => vpc.enable_dns_support = value,
        _ => vpc.enable_network_address_usage_metrics = value,
    }
    tx.put(ctx.scope.key(), &vpc)?;
    Ok(())
}

pub fn associate_vpc_cidr_block(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AssociateVpcCidrBlockRequest,
) -> Result<dto::AssociateVpcCidrBlockResult> {
    let id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    if req.amazon_provided_ipv6_cidr_block == Some(true)
        || req.ipv6_cidr_block.is_some()
        || req.ipv4_ipam_pool_id.is_some()
    {
        return Err(Ec2Error::new(
            Code::NotImplemented,
            "ec2d does not implement AssociateVpcCidrBlock with IPAM pools or IPv6 blocks yet.",
        )
        .into());
    }
    let cidr = req.cidr_block.clone().ok_or_else(|| Ec2Error::missing_parameter("cidrBlock"))?;
    vpcs::check_vpc_cidr(&cidr).map_err(net_err)?;
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let mut vpc = load_vpc(ctx, tx, &id)?;
    let assoc = new_id(ctx, tx, IdKind::VpcCidrAssociation)?;
    let block = vpcs::associate_cidr(&mut vpc, &cidr, assoc).map_err(net_err)?;
    tx.put(ctx.scope.key(), &vpc)?;
    // The main route table routes the new block locally.
    super::route_tables::add_local_route(ctx, tx, &vpc, &block.cidr)?;
    Ok(dto::AssociateVpcCidrBlockResult {
        vpc_id: Some(vpc.id),
        cidr_block_association: Some(dto::VpcCidrBlockAssociation {
            cidr_block_state: Some(dto::VpcCidrBlockState { state: Some("associating".into()), ..Default::default() }),
            ..cidr_dto(&block)
        }),
        ipv6_cidr_block_association: None,
    })
}

pub fn disassociate_vpc_cidr_block(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DisassociateVpcCidrBlockRequest,
) -> Result<dto::DisassociateVpcCidrBlockResult> {
    let assoc = check_id(IdKind::VpcCidrAssociation, &req.association_id, "associationId")?;
    dry_run_gate(ctx, None)?;
    ensure_default_network(ctx, tx)?;
    let scope = ctx.scope.key();
    let mut vpc = tx
        .scan::<Vpc>(scope)?
        .into_iter()
        .find(|v| v.cidr_blocks.iter().any(|b| b.association_id == assoc))
        .ok_or_else(|| net_err(NetError::CidrAssociationNotFound { association_id: assoc.clone() }))?;
    let subnet_cidrs: Vec<String> =
        tx.scan::<Subnet>(scope)?.into_iter().filter(|s| s.vpc_id == vpc.id).map(|s| s.cidr).collect();
    let block = vpcs::disassociate_cidr(&mut vpc, &assoc, &subnet_cidrs).map_err(net_err)?;
    tx.put(scope, &vpc)?;
    super::route_tables::remove_local_route(ctx, tx, &vpc, &block.cidr)?;
    Ok(dto::DisassociateVpcCidrBlockResult {
        vpc_id: Some(vpc.id),
        cidr_block_association: Some(dto::VpcCidrBlockAssociation {
            cidr_block_state: Some(dto::VpcCidrBlockState {
                state: Some("disassociating".into()),
                ..Default::default()
            }),
            ..cidr_dto(&block)
        }),
        ipv6_cidr_block_association: None,
    })
}

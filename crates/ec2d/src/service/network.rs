//! DescribeVpcs, DescribeSubnets and DescribeSecurityGroups for the default network every account
//! has in every region (`ec2_core::network`): the default VPC, one default subnet per zone, and
//! the VPC's `default` security group.

use std::collections::BTreeMap;

use ec2_core::filters::{Accessor, FilterTable};
use ec2_core::ids::IdKind;
use ec2_core::instances::InstanceState;
use ec2_core::network::{DefaultNetwork, DefaultSubnet, DEFAULT_GROUP_NAME, VPC_CIDR};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{five_to_thousand, not_found, paginate, tag_set, well_formed};
use super::{dry_run_gate, filters, instances, tags, Ctx, Result};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

/// A default-network resource with what filters need to see.
pub struct Row<T> {
    pub item: T,
    pub owner: String,
    pub vpc_id: String,
    pub tags: BTreeMap<String, String>,
}

fn rows<T>(ctx: &Ctx<'_>, tx: &mut Txn<'_>, net: &DefaultNetwork, items: Vec<(String, T)>) -> Result<Vec<Row<T>>> {
    items
        .into_iter()
        .map(|(id, item)| {
            Ok(Row {
                item,
                owner: ctx.scope.account.clone(),
                vpc_id: net.vpc_id.clone(),
                tags: tags::network_tags(tx, ctx, &id)?,
            })
        })
        .collect()
}

fn suffix(id: &str) -> &str {
    id.split_once('-').map_or(id, |(_, s)| s)
}

fn check_known(kind: IdKind, ids: &[String], known: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let ids = well_formed(kind, ids)?;
    let missing: Vec<String> = ids.iter().filter(|id| !known(id)).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(kind, &missing).into());
    }
    Ok(ids)
}

// --- VPCs

static VPC_FILTERS: FilterTable<Row<()>> = FilterTable {
    entries: &[
        ("cidr", |_| one(VPC_CIDR)),
        ("cidr-block-association.cidr-block", |_| one(VPC_CIDR)),
        ("cidr-block-association.association-id", |r| one(format!("vpc-cidr-assoc-{}", suffix(&r.vpc_id)))),
        ("cidr-block-association.state", |_| one("associated")),
        ("dhcp-options-id", |r| one(format!("dopt-{}", suffix(&r.vpc_id)))),
        ("ipv6-cidr-block-association.ipv6-cidr-block", |_| vec![]),
        ("ipv6-cidr-block-association.ipv6-pool", |_| vec![]),
        ("ipv6-cidr-block-association.association-id", |_| vec![]),
        ("ipv6-cidr-block-association.state", |_| vec![]),
        ("is-default", |_| one("true")),
        ("owner-id", |r| one(&r.owner)),
        ("state", |_| one("available")),
        ("vpc-id", |r| one(&r.vpc_id)),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_vpcs(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeVpcsRequest,
) -> Result<dto::DescribeVpcsResult> {
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let ids = well_formed(IdKind::Vpc, req.vpc_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&VPC_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    check_known(IdKind::Vpc, &ids, |id| id == net.vpc_id)?;
    let mut vpcs = rows(ctx, tx, &net, vec![(net.vpc_id.clone(), ())])?;
    vpcs.retain(|r| VPC_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(vpcs, |r| r.vpc_id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    let vpcs = page
        .iter()
        .map(|r| dto::Vpc {
            vpc_id: Some(r.vpc_id.clone()),
            owner_id: Some(r.owner.clone()),
            state: Some("available".into()),
            cidr_block: Some(VPC_CIDR.into()),
            dhcp_options_id: Some(format!("dopt-{}", suffix(&r.vpc_id))),
            instance_tenancy: Some("default".into()),
            is_default: Some(true),
            cidr_block_association_set: Some(vec![dto::VpcCidrBlockAssociation {
                association_id: Some(format!("vpc-cidr-assoc-{}", suffix(&r.vpc_id))),
                cidr_block: Some(VPC_CIDR.into()),
                cidr_block_state: Some(dto::VpcCidrBlockState {
                    state: Some("associated".into()),
                    ..Default::default()
                }),
            }]),
            tags: tag_set(&r.tags),
            ..Default::default()
        })
        .collect();
    Ok(dto::DescribeVpcsResult { vpcs: Some(vpcs), next_token: next })
}

// --- Subnets

/// A default subnet with its free address count.
pub struct SubnetView {
    pub subnet: DefaultSubnet,
    pub region: String,
    pub free: u64,
}

fn subnet_arn(r: &Row<SubnetView>) -> String {
    format!("arn:aws:ec2:{}:{}:subnet/{}", r.item.region, r.owner, r.item.subnet.id)
}

static SUBNET_FILTERS: FilterTable<Row<SubnetView>> = FilterTable {
    entries: &[
        ("availability-zone", |r| one(r.item.subnet.zone.name)),
        ("availability-zone-id", |r| one(r.item.subnet.zone.id)),
        ("available-ip-address-count", |r| one(r.item.free.to_string())),
        ("cidr-block", |r| one(r.item.subnet.cidr())),
        ("customer-owned-ipv4-pool", |_| vec![]),
        ("default-for-az", |_| one("true")),
        ("enable-dns64", |_| one("false")),
        ("enable-lni-at-device-index", |_| vec![]),
        ("ipv6-cidr-block-association.ipv6-cidr-block", |_| vec![]),
        ("ipv6-cidr-block-association.association-id", |_| vec![]),
        ("ipv6-cidr-block-association.state", |_| vec![]),
        ("ipv6-native", |_| one("false")),
        ("map-customer-owned-ip-on-launch", |_| one("false")),
        ("map-public-ip-on-launch", |_| one("true")),
        ("outpost-arn", |_| vec![]),
        ("owner-id", |r| one(&r.owner)),
        ("private-dns-name-options-on-launch.hostname-type", |_| one("ip-name")),
        ("private-dns-name-options-on-launch.enable-resource-name-dns-a-record", |_| one("false")),
        ("private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record", |_| one("false")),
        ("state", |_| one("available")),
        ("subnet-arn", |r| one(subnet_arn(r))),
        ("subnet-id", |r| one(&r.item.subnet.id)),
        ("vpc-id", |r| one(&r.vpc_id)),
    ],
    tags: Some(|r| &r.tags),
};

pub fn describe_subnets(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSubnetsRequest,
) -> Result<dto::DescribeSubnetsResult> {
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let ids = well_formed(IdKind::Subnet, req.subnet_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&SUBNET_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    check_known(IdKind::Subnet, &ids, |id| net.subnet(id).is_some())?;
    let live = instances::load_all(ctx, tx)?;
    let items: Vec<(String, SubnetView)> = net
        .subnets
        .iter()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .map(|s| {
            let used = live.iter().filter(|i| i.subnet_id == s.id && i.state != InstanceState::Terminated).count();
            let view = SubnetView {
                subnet: s.clone(),
                region: ctx.scope.region.clone(),
                free: DefaultSubnet::USABLE.saturating_sub(used as u64),
            };
            (s.id.clone(), view)
        })
        .collect();
    let mut subnets = rows(ctx, tx, &net, items)?;
    subnets.retain(|r| SUBNET_FILTERS.matches(r, &filters));
    let (page, next) = paginate(
        subnets,
        |r| r.item.subnet.id.clone(),
        req.max_results,
        req.next_token.as_deref(),
        &five_to_thousand(),
    )?;
    let subnets = page
        .iter()
        .map(|r| dto::Subnet {
            subnet_id: Some(r.item.subnet.id.clone()),
            subnet_arn: Some(subnet_arn(r)),
            state: Some("available".into()),
            vpc_id: Some(r.vpc_id.clone()),
            owner_id: Some(r.owner.clone()),
            cidr_block: Some(r.item.subnet.cidr()),
            available_ip_address_count: Some(r.item.free as i64),
            availability_zone: Some(r.item.subnet.zone.name.into()),
            availability_zone_id: Some(r.item.subnet.zone.id.into()),
            default_for_az: Some(true),
            map_public_ip_on_launch: Some(true),
            map_customer_owned_ip_on_launch: Some(false),
            assign_ipv6_address_on_creation: Some(false),
            ipv6_cidr_block_association_set: Some(vec![]),
            enable_dns64: Some(false),
            ipv6_native: Some(false),
            private_dns_name_options_on_launch: Some(dto::PrivateDnsNameOptionsOnLaunch {
                hostname_type: Some("ip-name".into()),
                enable_resource_name_dns_a_record: Some(false),
                enable_resource_name_dns_aaaa_record: Some(false),
            }),
            tags: tag_set(&r.tags),
            ..Default::default()
        })
        .collect();
    Ok(dto::DescribeSubnetsResult { subnets: Some(subnets), next_token: next })
}

// --- Security groups

pub struct GroupView {
    pub id: String,
    pub region: String,
}

const GROUP_DESCRIPTION: &str = "default VPC security group";

static GROUP_ENTRIES: &[(&str, Accessor<Row<GroupView>>)] = &[
    ("description", |_| one(GROUP_DESCRIPTION)),
    ("egress.ip-permission.cidr", |_| one("0.0.0.0/0")),
    ("egress.ip-permission.from-port", |_| vec![]),
    ("egress.ip-permission.group-id", |_| vec![]),
    ("egress.ip-permission.group-name", |_| vec![]),
    ("egress.ip-permission.ipv6-cidr", |_| vec![]),
    ("egress.ip-permission.prefix-list-id", |_| vec![]),
    ("egress.ip-permission.protocol", |_| one("-1")),
    ("egress.ip-permission.to-port", |_| vec![]),
    ("egress.ip-permission.user-id", |_| vec![]),
    ("group-id", |r| one(&r.item.id)),
    ("group-name", |_| one(DEFAULT_GROUP_NAME)),
    ("ip-permission.cidr", |_| vec![]),
    ("ip-permission.from-port", |_| vec![]),
    ("ip-permission.group-id", |r| one(&r.item.id)),
    ("ip-permission.group-name", |_| vec![]),
    ("ip-permission.ipv6-cidr", |_| vec![]),
    ("ip-permission.prefix-list-id", |_| vec![]),
    ("ip-permission.protocol", |_| one("-1")),
    ("ip-permission.to-port", |_| vec![]),
    ("ip-permission.user-id", |r| one(&r.owner)),
    ("owner-id", |r| one(&r.owner)),
    ("vpc-id", |r| one(&r.vpc_id)),
];

static GROUP_FILTERS: FilterTable<Row<GroupView>> = FilterTable { entries: GROUP_ENTRIES, tags: Some(|r| &r.tags) };

pub fn describe_security_groups(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSecurityGroupsRequest,
) -> Result<dto::DescribeSecurityGroupsResult> {
    let net = DefaultNetwork::of(ctx.scope, ctx.ids);
    let ids = well_formed(IdKind::SecurityGroup, req.group_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&GROUP_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    check_known(IdKind::SecurityGroup, &ids, |id| id == net.security_group_id)?;
    if let Some(name) = req.group_names.iter().flatten().find(|n| n.as_str() != DEFAULT_GROUP_NAME) {
        return Err(Ec2Error::new(
            Code::InvalidGroupNotFound,
            format!("The security group '{name}' does not exist in default VPC '{}'", net.vpc_id),
        )
        .into());
    }
    let view = GroupView { id: net.security_group_id.clone(), region: ctx.scope.region.clone() };
    let mut groups = rows(ctx, tx, &net, vec![(net.security_group_id.clone(), view)])?;
    groups.retain(|r| GROUP_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(groups, |r| r.item.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    let groups = page
        .iter()
        .map(|r| dto::SecurityGroup {
            group_id: Some(r.item.id.clone()),
            group_name: Some(DEFAULT_GROUP_NAME.into()),
            description: Some(GROUP_DESCRIPTION.into()),
            vpc_id: Some(r.vpc_id.clone()),
            owner_id: Some(r.owner.clone()),
            security_group_arn: Some(format!("arn:aws:ec2:{}:{}:security-group/{}", r.item.region, r.owner, r.item.id)),
            ip_permissions: Some(vec![dto::IpPermission {
                ip_protocol: Some("-1".into()),
                user_id_group_pairs: Some(vec![dto::UserIdGroupPair {
                    user_id: Some(r.owner.clone()),
                    group_id: Some(r.item.id.clone()),
                    ..Default::default()
                }]),
                ip_ranges: Some(vec![]),
                ipv6_ranges: Some(vec![]),
                prefix_list_ids: Some(vec![]),
                ..Default::default()
            }]),
            ip_permissions_egress: Some(vec![dto::IpPermission {
                ip_protocol: Some("-1".into()),
                user_id_group_pairs: Some(vec![]),
                ip_ranges: Some(vec![dto::IpRange { cidr_ip: Some("0.0.0.0/0".into()), ..Default::default() }]),
                ipv6_ranges: Some(vec![]),
                prefix_list_ids: Some(vec![]),
                ..Default::default()
            }]),
            tags: tag_set(&r.tags),
        })
        .collect();
    Ok(dto::DescribeSecurityGroupsResult { security_groups: Some(groups), next_token: next })
}

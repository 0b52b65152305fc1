//! Security groups: Create/Delete/Describe SecurityGroups, Authorize/Revoke SecurityGroupIngress and
//! Egress, DescribeSecurityGroupRules and ModifySecurityGroupRules.

use ec2_core::filters::{Accessor, FilterTable};
use ec2_core::ids::IdKind;
use ec2_core::network::NetError;
use ec2_core::security_groups::{self, Peer, Rule, RuleSpec, SecurityGroup};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    five_to_thousand, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::vpcs::{check_id, default_vpc, ensure_default_network, load_vpc, net_err, with_tags, Row};
use super::{dry_run_gate, filters, tags, Ctx, Result};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

pub fn group_arn(ctx: &Ctx<'_>, g: &SecurityGroup) -> String {
    format!("arn:aws:ec2:{}:{}:security-group/{}", ctx.scope.region, g.owner_id, g.id)
}

fn group_not_found(id: &str) -> Ec2Error {
    not_found(IdKind::SecurityGroup, &[id.to_string()])
}

pub fn load_group(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<SecurityGroup> {
    tx.get::<SecurityGroup>(ctx.scope.key(), id)?.ok_or_else(|| group_not_found(id).into())
}

/// The group a request names by ID, or by name in the default VPC.
fn resolve_group(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &Option<String>, name: &Option<String>) -> Result<SecurityGroup> {
    if let Some(id) = id {
        return load_group(ctx, tx, id);
    }
    let name = name.clone().ok_or_else(|| Ec2Error::missing_parameter("groupId"))?;
    by_name_in_default_vpc(ctx, tx, &name)
}

/// A group of the default VPC by name (`InvalidGroup.NotFound` if there is none).
pub fn by_name_in_default_vpc(ctx: &Ctx<'_>, tx: &mut Txn<'_>, name: &str) -> Result<SecurityGroup> {
    let vpc = default_vpc(ctx, tx)?;
    let vpc_id = vpc.as_ref().map(|v| v.id.clone()).unwrap_or_default();
    tx.scan::<SecurityGroup>(ctx.scope.key())?.into_iter().find(|g| g.vpc_id == vpc_id && g.name == name).ok_or_else(
        || {
            Ec2Error::new(
                Code::InvalidGroupNotFound,
                format!("The security group '{name}' does not exist in default VPC '{vpc_id}'"),
            )
            .into()
        },
    )
}

// --- Conversions

/// The rule specs of a request: its `IpPermissions` and the older top-level form (one protocol,
/// port range and CIDR, or a source group by name).
fn requested_specs(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    group: &SecurityGroup,
    legacy: Legacy<'_>,
    perms: &Option<Vec<dto::IpPermission>>,
) -> Result<Vec<RuleSpec>> {
    let mut out = Vec::new();
    if legacy.protocol.is_some() || legacy.cidr.is_some() || legacy.source_group_name.is_some() {
        let protocol = legacy.protocol.clone().unwrap_or_else(|| "-1".into());
        let peer = match (legacy.cidr, legacy.source_group_name) {
            (Some(c), _) => Peer::Ipv4(c.clone()),
            (None, Some(name)) => {
                let g = group_in_vpc_by_name(ctx, tx, &group.vpc_id, name)?;
                Peer::Group { group_id: g.id, user_id: ctx.scope.account.clone() }
            }
            (None, None) => return Err(Ec2Error::missing_parameter("cidrIp").into()),
        };
        out.push(security_groups::check_spec(&protocol, legacy.from, legacy.to, peer, None).map_err(net_err)?);
    }
    for p in perms.iter().flatten() {
        let protocol = p.ip_protocol.clone().ok_or_else(|| Ec2Error::missing_parameter("ipProtocol"))?;
        let mut peers: Vec<(Peer, Option<String>)> = Vec::new();
        for r in p.ip_ranges.iter().flatten() {
            let c = r.cidr_ip.clone().ok_or_else(|| Ec2Error::missing_parameter("cidrIp"))?;
            peers.push((Peer::Ipv4(c), r.description.clone()));
        }
        for r in p.ipv6_ranges.iter().flatten() {
            let c = r.cidr_ipv6.clone().ok_or_else(|| Ec2Error::missing_parameter("cidrIpv6"))?;
            peers.push((Peer::Ipv6(c), r.description.clone()));
        }
        for r in p.prefix_list_ids.iter().flatten() {
            let id = r.prefix_list_id.clone().ok_or_else(|| Ec2Error::missing_parameter("prefixListId"))?;
            if !id.starts_with("pl-") {
                return Err(Ec2Error::new(
                    Code::InvalidParameterValue,
                    format!("The prefix list ID '{id}' is malformed"),
                )
                .into());
            }
            peers.push((Peer::PrefixList(id), r.description.clone()));
        }
        for pair in p.user_id_group_pairs.iter().flatten() {
            let target = match (&pair.group_id, &pair.group_name) {
                (Some(id), _) => {
                    well_formed(IdKind::SecurityGroup, std::slice::from_ref(id))?;
                    load_group(ctx, tx, id)?
                }
                (None, Some(name)) => group_in_vpc_by_name(ctx, tx, &group.vpc_id, name)?,
                (None, None) => return Err(Ec2Error::missing_parameter("groupId").into()),
            };
            let user_id = pair.user_id.clone().unwrap_or_else(|| ctx.scope.account.clone());
            peers.push((Peer::Group { group_id: target.id, user_id }, pair.description.clone()));
        }
        if peers.is_empty() {
            return Err(Ec2Error::new(
                Code::InvalidParameterValue,
                "A permission must name at least one source or destination: an IP range, a prefix list or a group.",
            )
            .into());
        }
        for (peer, description) in peers {
            out.push(
                security_groups::check_spec(&protocol, p.from_port, p.to_port, peer, description).map_err(net_err)?,
            );
        }
    }
    if out.is_empty() {
        return Err(Ec2Error::missing_parameter("ipPermissions").into());
    }
    Ok(out)
}

struct Legacy<'a> {
    protocol: &'a Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    cidr: Option<&'a String>,
    source_group_name: Option<&'a String>,
}

fn group_in_vpc_by_name(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc_id: &str, name: &str) -> Result<SecurityGroup> {
    tx.scan::<SecurityGroup>(ctx.scope.key())?.into_iter().find(|g| g.vpc_id == vpc_id && g.name == name).ok_or_else(
        || {
            Ec2Error::new(
                Code::InvalidGroupNotFound,
                format!("The security group '{name}' does not exist in VPC '{vpc_id}'"),
            )
            .into()
        },
    )
}

/// The group's rules of one direction as EC2 lists them: one permission per protocol and port
/// range, holding every peer of those rules.
fn permissions(g: &SecurityGroup, egress: bool) -> Vec<dto::IpPermission> {
    let mut out: Vec<dto::IpPermission> = Vec::new();
    for r in g.rules(egress) {
        let s = &r.spec;
        let pos = out.iter().position(|p| {
            p.ip_protocol.as_deref() == Some(s.protocol.as_str())
                && p.from_port == s.from_port
                && p.to_port == s.to_port
        });
        let pos = pos.unwrap_or_else(|| {
            out.push(dto::IpPermission {
                ip_protocol: Some(s.protocol.clone()),
                from_port: s.from_port,
                to_port: s.to_port,
                ip_ranges: Some(vec![]),
                ipv6_ranges: Some(vec![]),
                prefix_list_ids: Some(vec![]),
                user_id_group_pairs: Some(vec![]),
            });
            out.len() - 1
        });
        let p = &mut out[pos];
        match &s.peer {
            Peer::Ipv4(c) => p
                .ip_ranges
                .get_or_insert_with(Vec::new)
                .push(dto::IpRange { cidr_ip: Some(c.clone()), description: s.description.clone() }),
            Peer::Ipv6(c) => p
                .ipv6_ranges
                .get_or_insert_with(Vec::new)
                .push(dto::Ipv6Range { cidr_ipv6: Some(c.clone()), description: s.description.clone() }),
            Peer::PrefixList(id) => p
                .prefix_list_ids
                .get_or_insert_with(Vec::new)
                .push(dto::PrefixListId { prefix_list_id: Some(id.clone()), description: s.description.clone() }),
            Peer::Group { group_id, user_id } => {
                p.user_id_group_pairs.get_or_insert_with(Vec::new).push(dto::UserIdGroupPair {
                    group_id: Some(group_id.clone()),
                    user_id: Some(user_id.clone()),
                    description: s.description.clone(),
                    ..Default::default()
                })
            }
        }
    }
    out
}

fn group_dto(ctx: &Ctx<'_>, r: &Row<SecurityGroup>) -> dto::SecurityGroup {
    let g = &r.item;
    dto::SecurityGroup {
        group_id: Some(g.id.clone()),
        group_name: Some(g.name.clone()),
        description: Some(g.description.clone()),
        vpc_id: Some(g.vpc_id.clone()),
        owner_id: Some(g.owner_id.clone()),
        security_group_arn: Some(group_arn(ctx, g)),
        ip_permissions: Some(permissions(g, false)),
        ip_permissions_egress: Some(permissions(g, true)),
        tags: tag_set(&r.tags),
    }
}

pub fn rule_dto(
    ctx: &Ctx<'_>,
    g: &SecurityGroup,
    r: &Rule,
    tags: &std::collections::BTreeMap<String, String>,
) -> dto::SecurityGroupRule {
    let s = &r.spec;
    let mut out = dto::SecurityGroupRule {
        security_group_rule_id: Some(r.id.clone()),
        group_id: Some(g.id.clone()),
        group_owner_id: Some(g.owner_id.clone()),
        is_egress: Some(r.egress),
        ip_protocol: Some(s.protocol.clone()),
        from_port: Some(s.from_port.unwrap_or(-1)),
        to_port: Some(s.to_port.unwrap_or(-1)),
        description: s.description.clone(),
        tags: Some(tag_set(tags).unwrap_or_default()),
        security_group_rule_arn: Some(format!(
            "arn:aws:ec2:{}:{}:security-group-rule/{}",
            ctx.scope.region, g.owner_id, r.id
        )),
        ..Default::default()
    };
    match &s.peer {
        Peer::Ipv4(c) => out.cidr_ipv4 = Some(c.clone()),
        Peer::Ipv6(c) => out.cidr_ipv6 = Some(c.clone()),
        Peer::PrefixList(p) => out.prefix_list_id = Some(p.clone()),
        Peer::Group { group_id, user_id } => {
            out.referenced_group_info = Some(dto::ReferencedSecurityGroup {
                group_id: Some(group_id.clone()),
                user_id: Some(user_id.clone()),
                ..Default::default()
            })
        }
    }
    out
}

fn revoked_dto(g: &SecurityGroup, r: &Rule) -> dto::RevokedSecurityGroupRule {
    let s = &r.spec;
    let (mut v4, mut v6, mut pl, mut grp) = (None, None, None, None);
    match &s.peer {
        Peer::Ipv4(c) => v4 = Some(c.clone()),
        Peer::Ipv6(c) => v6 = Some(c.clone()),
        Peer::PrefixList(p) => pl = Some(p.clone()),
        Peer::Group { group_id, .. } => grp = Some(group_id.clone()),
    }
    dto::RevokedSecurityGroupRule {
        security_group_rule_id: Some(r.id.clone()),
        group_id: Some(g.id.clone()),
        is_egress: Some(r.egress),
        ip_protocol: Some(s.protocol.clone()),
        from_port: Some(s.from_port.unwrap_or(-1)),
        to_port: Some(s.to_port.unwrap_or(-1)),
        cidr_ipv4: v4,
        cidr_ipv6: v6,
        prefix_list_id: pl,
        referenced_group_id: grp,
        description: s.description.clone(),
    }
}

// --- Describe

fn peers_of(g: &SecurityGroup, egress: bool, pick: fn(&Peer) -> Option<String>) -> Vec<String> {
    g.rules(egress).filter_map(|r| pick(&r.spec.peer)).collect()
}

fn ports(g: &SecurityGroup, egress: bool, from: bool) -> Vec<String> {
    g.rules(egress)
        .filter_map(|r| if from { r.spec.from_port } else { r.spec.to_port })
        .map(|p| p.to_string())
        .collect()
}

fn v4(p: &Peer) -> Option<String> {
    if let Peer::Ipv4(c) = p {
        Some(c.clone())
    } else {
        None
    }
}
fn v6(p: &Peer) -> Option<String> {
    if let Peer::Ipv6(c) = p {
        Some(c.clone())
    } else {
        None
    }
}
fn pl(p: &Peer) -> Option<String> {
    if let Peer::PrefixList(c) = p {
        Some(c.clone())
    } else {
        None
    }
}
fn gid(p: &Peer) -> Option<String> {
    if let Peer::Group { group_id, .. } = p {
        Some(group_id.clone())
    } else {
        None
    }
}
fn uid(p: &Peer) -> Option<String> {
    if let Peer::Group { user_id, .. } = p {
        Some(user_id.clone())
    } else {
        None
    }
}

static GROUP_ENTRIES: &[(&str, Accessor<Row<SecurityGroup>>)] = &[
    ("description", |r| one(&r.item.description)),
    ("egress.ip-permission.cidr", |r| peers_of(&r.item, true, v4)),
    ("egress.ip-permission.from-port", |r| ports(&r.item, true, true)),
    ("egress.ip-permission.group-id", |r| peers_of(&r.item, true, gid)),
    ("egress.ip-permission.group-name", |_| vec![]),
    ("egress.ip-permission.ipv6-cidr", |r| peers_of(&r.item, true, v6)),
    ("egress.ip-permission.prefix-list-id", |r| peers_of(&r.item, true, pl)),
    ("egress.ip-permission.protocol", |r| r.item.rules(true).map(|x| x.spec.protocol.clone()).collect()),
    ("egress.ip-permission.to-port", |r| ports(&r.item, true, false)),
    ("egress.ip-permission.user-id", |r| peers_of(&r.item, true, uid)),
    ("group-id", |r| one(&r.item.id)),
    ("group-name", |r| one(&r.item.name)),
    ("ip-permission.cidr", |r| peers_of(&r.item, false, v4)),
    ("ip-permission.from-port", |r| ports(&r.item, false, true)),
    ("ip-permission.group-id", |r| peers_of(&r.item, false, gid)),
    ("ip-permission.group-name", |_| vec![]),
    ("ip-permission.ipv6-cidr", |r| peers_of(&r.item, false, v6)),
    ("ip-permission.prefix-list-id", |r| peers_of(&r.item, false, pl)),
    ("ip-permission.protocol", |r| r.item.rules(false).map(|x| x.spec.protocol.clone()).collect()),
    ("ip-permission.to-port", |r| ports(&r.item, false, false)),
    ("ip-permission.user-id", |r| peers_of(&r.item, false, uid)),
    ("owner-id", |r| one(&r.item.owner_id)),
    ("vpc-id", |r| one(&r.item.vpc_id)),
];

static GROUP_FILTERS: FilterTable<Row<SecurityGroup>> = FilterTable { entries: GROUP_ENTRIES, tags: Some(|r| &r.tags) };

pub fn describe_security_groups(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSecurityGroupsRequest,
) -> Result<dto::DescribeSecurityGroupsResult> {
    let ids = well_formed(IdKind::SecurityGroup, req.group_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&GROUP_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let all: Vec<SecurityGroup> = tx.scan(ctx.scope.key())?;
    let missing: Vec<String> = ids.iter().filter(|id| !all.iter().any(|g| &g.id == *id)).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(IdKind::SecurityGroup, &missing).into());
    }
    let mut named = Vec::new();
    for name in req.group_names.iter().flatten() {
        named.push(by_name_in_default_vpc(ctx, tx, name)?.id);
    }
    let groups: Vec<SecurityGroup> = all
        .into_iter()
        .filter(|g| (ids.is_empty() && named.is_empty()) || ids.contains(&g.id) || named.contains(&g.id))
        .collect();
    let mut rows = with_tags(ctx, tx, groups, |g| g.id.clone())?;
    rows.retain(|r| GROUP_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeSecurityGroupsResult {
        security_groups: Some(page.iter().map(|r| group_dto(ctx, r)).collect()),
        next_token: next,
    })
}

/// One rule with its group, for DescribeSecurityGroupRules filters.
pub struct RuleRow {
    pub group: SecurityGroup,
    pub rule: Rule,
    pub tags: std::collections::BTreeMap<String, String>,
}

static RULE_FILTERS: FilterTable<RuleRow> = FilterTable {
    entries: &[("group-id", |r| one(&r.group.id)), ("security-group-rule-id", |r| one(&r.rule.id))],
    tags: Some(|r| &r.tags),
};

pub fn describe_security_group_rules(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeSecurityGroupRulesRequest,
) -> Result<dto::DescribeSecurityGroupRulesResult> {
    let ids = well_formed(IdKind::SecurityGroupRule, req.security_group_rule_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&RULE_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut rows = Vec::new();
    for g in tx.scan::<SecurityGroup>(ctx.scope.key())? {
        for r in &g.rules {
            let tags = tags::network_tags(tx, ctx, &r.id)?;
            rows.push(RuleRow { group: g.clone(), rule: r.clone(), tags });
        }
    }
    let missing: Vec<String> = ids.iter().filter(|id| !rows.iter().any(|r| &r.rule.id == *id)).cloned().collect();
    if !missing.is_empty() {
        return Err(not_found(IdKind::SecurityGroupRule, &missing).into());
    }
    rows.retain(|r| (ids.is_empty() || ids.contains(&r.rule.id)) && RULE_FILTERS.matches(r, &filters));
    rows.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
    let bounds = super::common::PageBounds {
        min: 5,
        max: 1000,
        cap_above_max: false,
        message: |n| {
            format!("Value ( {n} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.")
        },
    };
    let (page, next) = paginate(rows, |r| r.rule.id.clone(), req.max_results, req.next_token.as_deref(), &bounds)?;
    Ok(dto::DescribeSecurityGroupRulesResult {
        security_group_rules: Some(page.iter().map(|r| rule_dto(ctx, &r.group, &r.rule, &r.tags)).collect()),
        next_token: next,
    })
}

// --- Create and delete

pub fn create_security_group(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateSecurityGroupRequest,
) -> Result<dto::CreateSecurityGroupResult> {
    let name = req.group_name.clone().ok_or_else(|| Ec2Error::missing_parameter("groupName"))?;
    let description = req.description.clone().ok_or_else(|| Ec2Error::missing_parameter("groupDescription"))?;
    security_groups::check_name(&name).map_err(net_err)?;
    if description.len() > 255 {
        return Err(Ec2Error::invalid_parameter_value(
            "Value for parameter groupDescription is invalid. The description may be at most 255 characters.",
        )
        .into());
    }
    if let Some(v) = &req.vpc_id {
        well_formed(IdKind::Vpc, std::slice::from_ref(v))?;
    }
    let specs = tag_specifications(&req.tag_specifications, &["security-group"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let vpc = match &req.vpc_id {
        Some(id) => load_vpc(ctx, tx, id)?,
        None => default_vpc(ctx, tx)?.ok_or_else(|| {
            Ec2Error::new(
                Code::VpcIdNotSpecified,
                "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.",
            )
        })?,
    };
    let scope = ctx.scope.key();
    if tx.scan::<SecurityGroup>(scope)?.iter().any(|g| g.vpc_id == vpc.id && g.name == name) {
        return Err(net_err(NetError::DuplicateGroup { name, vpc: vpc.id }));
    }
    let id = new_id(ctx, tx, IdKind::SecurityGroup)?;
    let rule_ids = [new_id(ctx, tx, IdKind::SecurityGroupRule)?, String::new()];
    let owner = ctx.scope.account.clone();
    let group = SecurityGroup {
        rules: security_groups::default_rules(&id, &owner, false, rule_ids),
        id,
        name,
        description,
        vpc_id: vpc.id,
        owner_id: owner,
    };
    tx.put(scope, &group)?;
    let tags = tags::set_tags(ctx, tx, &group.id, "security-group", tags_for(&specs, "security-group"))?;
    Ok(dto::CreateSecurityGroupResult {
        security_group_arn: Some(group_arn(ctx, &group)),
        group_id: Some(group.id),
        tags: tag_set(&tags),
    })
}

pub fn delete_security_group(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DeleteSecurityGroupRequest,
) -> Result<dto::DeleteSecurityGroupResult> {
    if let Some(id) = &req.group_id {
        well_formed(IdKind::SecurityGroup, std::slice::from_ref(id))?;
    }
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let group = resolve_group(ctx, tx, &req.group_id, &req.group_name)?;
    if group.is_default() {
        return Err(net_err(NetError::CannotDeleteDefaultGroup { id: group.id }));
    }
    let scope = ctx.scope.key();
    // Every instance's primary interface is a record holding the instance's groups.
    let in_use = super::network_interfaces::group_in_use(ctx, tx, &group.id)?
        || tx.scan::<SecurityGroup>(scope)?.iter().any(|g| {
            g.id != group.id
                && g.rules.iter().any(|r| matches!(&r.spec.peer, Peer::Group { group_id, .. } if *group_id == group.id))
        });
    if in_use {
        return Err(
            Ec2Error::new(Code::DependencyViolation, format!("resource {} has a dependent object", group.id)).into()
        );
    }
    for r in &group.rules {
        tags::drop_tags(ctx, tx, &r.id)?;
    }
    tags::drop_tags(ctx, tx, &group.id)?;
    tx.delete::<SecurityGroup>(scope, &group.id)?;
    Ok(dto::DeleteSecurityGroupResult { r#return: Some(true), group_id: Some(group.id) })
}

// --- Rules

#[allow(clippy::too_many_arguments)]
fn authorize(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    group_id: &Option<String>,
    group_name: &Option<String>,
    egress: bool,
    legacy: Legacy<'_>,
    perms: &Option<Vec<dto::IpPermission>>,
    tag_specs: &Option<Vec<dto::TagSpecification>>,
    dry_run: Option<bool>,
) -> Result<Vec<dto::SecurityGroupRule>> {
    if let Some(id) = group_id {
        well_formed(IdKind::SecurityGroup, std::slice::from_ref(id))?;
    } else if egress || group_name.is_none() {
        return Err(Ec2Error::missing_parameter("groupId").into());
    }
    let specs_tags = tag_specifications(tag_specs, &["security-group-rule"])?;
    dry_run_gate(ctx, dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut group = resolve_group(ctx, tx, group_id, group_name)?;
    let specs = requested_specs(ctx, tx, &group, legacy, perms)?;
    let ids = (0..specs.len()).map(|_| new_id(ctx, tx, IdKind::SecurityGroupRule)).collect::<Result<Vec<_>>>()?;
    let added = security_groups::authorize(&mut group, egress, specs, ids).map_err(net_err)?;
    tx.put(ctx.scope.key(), &group)?;
    let rule_tags = tags_for(&specs_tags, "security-group-rule");
    let mut out = Vec::new();
    for r in &added {
        let tags = tags::set_tags(ctx, tx, &r.id, "security-group-rule", rule_tags.clone())?;
        out.push(rule_dto(ctx, &group, r, &tags));
    }
    Ok(out)
}

pub fn authorize_security_group_ingress(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AuthorizeSecurityGroupIngressRequest,
) -> Result<dto::AuthorizeSecurityGroupIngressResult> {
    let legacy = Legacy {
        protocol: &req.ip_protocol,
        from: req.from_port,
        to: req.to_port,
        cidr: req.cidr_ip.as_ref(),
        source_group_name: req.source_security_group_name.as_ref(),
    };
    let rules = authorize(
        ctx,
        tx,
        &req.group_id,
        &req.group_name,
        false,
        legacy,
        &req.ip_permissions,
        &req.tag_specifications,
        req.dry_run,
    )?;
    Ok(dto::AuthorizeSecurityGroupIngressResult { r#return: Some(true), security_group_rules: Some(rules) })
}

pub fn authorize_security_group_egress(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AuthorizeSecurityGroupEgressRequest,
) -> Result<dto::AuthorizeSecurityGroupEgressResult> {
    let legacy = Legacy {
        protocol: &req.ip_protocol,
        from: req.from_port,
        to: req.to_port,
        cidr: req.cidr_ip.as_ref(),
        source_group_name: req.source_security_group_name.as_ref(),
    };
    let rules = authorize(
        ctx,
        tx,
        &req.group_id,
        &None,
        true,
        legacy,
        &req.ip_permissions,
        &req.tag_specifications,
        req.dry_run,
    )?;
    Ok(dto::AuthorizeSecurityGroupEgressResult { r#return: Some(true), security_group_rules: Some(rules) })
}

#[allow(clippy::too_many_arguments)]
fn revoke(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    group_id: &Option<String>,
    group_name: &Option<String>,
    egress: bool,
    legacy: Legacy<'_>,
    perms: &Option<Vec<dto::IpPermission>>,
    rule_ids: &Option<Vec<String>>,
    dry_run: Option<bool>,
) -> Result<Vec<dto::RevokedSecurityGroupRule>> {
    if let Some(id) = group_id {
        well_formed(IdKind::SecurityGroup, std::slice::from_ref(id))?;
    } else if egress || group_name.is_none() {
        return Err(Ec2Error::missing_parameter("groupId").into());
    }
    let rule_ids = well_formed(IdKind::SecurityGroupRule, rule_ids.as_deref().unwrap_or_default())?;
    dry_run_gate(ctx, dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut group = resolve_group(ctx, tx, group_id, group_name)?;
    let gone = if rule_ids.is_empty() {
        let specs = requested_specs(ctx, tx, &group, legacy, perms)?;
        security_groups::revoke(&mut group, egress, &specs).map_err(net_err)?
    } else {
        security_groups::revoke_ids(&mut group, egress, &rule_ids).map_err(net_err)?
    };
    tx.put(ctx.scope.key(), &group)?;
    for r in &gone {
        tags::drop_tags(ctx, tx, &r.id)?;
    }
    Ok(gone.iter().map(|r| revoked_dto(&group, r)).collect())
}

pub fn revoke_security_group_ingress(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RevokeSecurityGroupIngressRequest,
) -> Result<dto::RevokeSecurityGroupIngressResult> {
    let legacy = Legacy {
        protocol: &req.ip_protocol,
        from: req.from_port,
        to: req.to_port,
        cidr: req.cidr_ip.as_ref(),
        source_group_name: req.source_security_group_name.as_ref(),
    };
    let gone = revoke(
        ctx,
        tx,
        &req.group_id,
        &req.group_name,
        false,
        legacy,
        &req.ip_permissions,
        &req.security_group_rule_ids,
        req.dry_run,
    )?;
    Ok(dto::RevokeSecurityGroupIngressResult {
        r#return: Some(true),
        unknown_ip_permissions: None,
        revoked_security_group_rules: Some(gone),
    })
}

pub fn revoke_security_group_egress(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::RevokeSecurityGroupEgressRequest,
) -> Result<dto::RevokeSecurityGroupEgressResult> {
    let legacy = Legacy {
        protocol: &req.ip_protocol,
        from: req.from_port,
        to: req.to_port,
        cidr: req.cidr_ip.as_ref(),
        source_group_name: req.source_security_group_name.as_ref(),
    };
    let gone = revoke(
        ctx,
        tx,
        &req.group_id,
        &None,
        true,
        legacy,
        &req.ip_permissions,
        &req.security_group_rule_ids,
        req.dry_run,
    )?;
    Ok(dto::RevokeSecurityGroupEgressResult {
        r#return: Some(true),
        unknown_ip_permissions: None,
        revoked_security_group_rules: Some(gone),
    })
}

pub fn modify_security_group_rules(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::ModifySecurityGroupRulesRequest,
) -> Result<dto::ModifySecurityGroupRulesResult> {
    let group_id = check_id(IdKind::SecurityGroup, &req.group_id, "groupId")?;
    let updates = req.security_group_rules.clone().unwrap_or_default();
    if updates.is_empty() {
        return Err(Ec2Error::missing_parameter("securityGroupRule").into());
    }
    let mut checked = Vec::new();
    for u in &updates {
        let id = u.security_group_rule_id.clone().ok_or_else(|| Ec2Error::missing_parameter("securityGroupRuleId"))?;
        well_formed(IdKind::SecurityGroupRule, std::slice::from_ref(&id))?;
        let r = u.security_group_rule.clone().ok_or_else(|| Ec2Error::missing_parameter("securityGroupRule"))?;
        checked.push((id, r));
    }
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut group = load_group(ctx, tx, &group_id)?;
    for (id, r) in checked {
        let peer = match (&r.cidr_ipv4, &r.cidr_ipv6, &r.prefix_list_id, &r.referenced_group_id) {
            (Some(c), None, None, None) => Peer::Ipv4(c.clone()),
            (None, Some(c), None, None) => Peer::Ipv6(c.clone()),
            (None, None, Some(p), None) => Peer::PrefixList(p.clone()),
            (None, None, None, Some(g)) => {
                well_formed(IdKind::SecurityGroup, std::slice::from_ref(g))?;
                let target = load_group(ctx, tx, g)?;
                Peer::Group { group_id: target.id, user_id: target.owner_id }
            }
            _ => {
                return Err(Ec2Error::new(
                    Code::InvalidParameterCombination,
                    "Exactly one of CidrIpv4, CidrIpv6, PrefixListId and ReferencedGroupId must be given.",
                )
                .into())
            }
        };
        let protocol = r.ip_protocol.clone().ok_or_else(|| Ec2Error::missing_parameter("ipProtocol"))?;
        let spec = security_groups::check_spec(&protocol, r.from_port, r.to_port, peer, r.description.clone())
            .map_err(net_err)?;
        security_groups::modify_rule(&mut group, &id, spec).map_err(net_err)?;
    }
    tx.put(ctx.scope.key(), &group)?;
    Ok(dto::ModifySecurityGroupRulesResult { r#return: Some(true) })
}

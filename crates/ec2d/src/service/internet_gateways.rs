//! Internet gateways: Create/Delete/Describe/Attach/Detach InternetGateways.

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::internet_gateways::{self, InternetGateway};
use ec2_protocol::{dto, Code, Ec2Error};
use ec2_store::Txn;

use super::common::{
    five_to_thousand, load_named, new_id, not_found, paginate, tag_set, tag_specifications, tags_for, well_formed,
};
use super::vpcs::{check_id, ensure_default_network, load_vpc, net_err, with_tags, Row};
use super::{dry_run_gate, filters, tags, Ctx, Result};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

static IGW_FILTERS: FilterTable<Row<InternetGateway>> = FilterTable {
    entries: &[
        ("attachment.state", |r| r.item.vpc_id.iter().map(|_| "available".to_string()).collect()),
        ("attachment.vpc-id", |r| r.item.vpc_id.iter().cloned().collect()),
        ("internet-gateway-id", |r| one(&r.item.id)),
        ("owner-id", |r| one(&r.item.owner_id)),
    ],
    tags: Some(|r| &r.tags),
};

fn igw_dto(r: &Row<InternetGateway>) -> dto::InternetGateway {
    dto::InternetGateway {
        internet_gateway_id: Some(r.item.id.clone()),
        owner_id: Some(r.item.owner_id.clone()),
        attachments: Some(
            r.item
                .vpc_id
                .iter()
                .map(|v| dto::InternetGatewayAttachment { vpc_id: Some(v.clone()), state: Some("available".into()) })
                .collect(),
        ),
        tags: Some(tag_set(&r.tags).unwrap_or_default()),
    }
}

pub fn load_igw(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<InternetGateway> {
    tx.get::<InternetGateway>(ctx.scope.key(), id)?
        .ok_or_else(|| not_found(IdKind::InternetGateway, &[id.to_string()]).into())
}

pub fn describe_internet_gateways(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeInternetGatewaysRequest,
) -> Result<dto::DescribeInternetGatewaysResult> {
    let ids = well_formed(IdKind::InternetGateway, req.internet_gateway_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&IGW_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let items: Vec<InternetGateway> = if ids.is_empty() {
        tx.scan(ctx.scope.key())?
    } else {
        let mut v: Vec<InternetGateway> = load_named(ctx, tx, IdKind::InternetGateway, &ids)?;
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let mut rows = with_tags(ctx, tx, items, |g| g.id.clone())?;
    rows.retain(|r| IGW_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeInternetGatewaysResult {
        internet_gateways: Some(page.iter().map(igw_dto).collect()),
        next_token: next,
    })
}

pub fn create_internet_gateway(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateInternetGatewayRequest,
) -> Result<dto::CreateInternetGatewayResult> {
    let specs = tag_specifications(&req.tag_specifications, &["internet-gateway"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let igw = InternetGateway {
        id: new_id(ctx, tx, IdKind::InternetGateway)?,
        owner_id: ctx.scope.account.clone(),
        vpc_id: None,
    };
    tx.put(ctx.scope.key(), &igw)?;
    let tags = tags::set_tags(ctx, tx, &igw.id, "internet-gateway", tags_for(&specs, "internet-gateway"))?;
    Ok(dto::CreateInternetGatewayResult { internet_gateway: Some(igw_dto(&Row { item: igw, tags })) })
}

pub fn delete_internet_gateway(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteInternetGatewayRequest) -> Result<()> {
    let id = check_id(IdKind::InternetGateway, &req.internet_gateway_id, "internetGatewayId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let igw = load_igw(ctx, tx, &id)?;
    internet_gateways::check_delete(&igw).map_err(net_err)?;
    tags::drop_tags(ctx, tx, &igw.id)?;
    tx.delete::<InternetGateway>(ctx.scope.key(), &igw.id)?;
    Ok(())
}

pub fn attach_internet_gateway(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::AttachInternetGatewayRequest) -> Result<()> {
    let id = check_id(IdKind::InternetGateway, &req.internet_gateway_id, "internetGatewayId")?;
    let vpc_id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut igw = load_igw(ctx, tx, &id)?;
    let vpc = load_vpc(ctx, tx, &vpc_id)?;
    let scope = ctx.scope.key();
    let existing = tx.scan::<InternetGateway>(scope)?.into_iter().find(|g| g.vpc_id.as_deref() == Some(&vpc.id));
    internet_gateways::attach(&mut igw, &vpc.id, existing.as_ref().map(|g| g.id.as_str())).map_err(net_err)?;
    tx.put(scope, &igw)?;
    Ok(())
}

pub fn detach_internet_gateway(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DetachInternetGatewayRequest) -> Result<()> {
    let id = check_id(IdKind::InternetGateway, &req.internet_gateway_id, "internetGatewayId")?;
    let vpc_id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut igw = load_igw(ctx, tx, &id)?;
    load_vpc(ctx, tx, &vpc_id)?;
    internet_gateways::detach(&mut igw, &vpc_id).map_err(net_err)?;
    // Public addresses in the VPC need the gateway.
    let in_vpc = super::network_interfaces::instances_in_vpc(ctx, tx, &vpc_id)?;
    let mapped = super::instances::load_many(ctx, tx, &in_vpc)?.iter().any(|i| i.public_ip.is_some());
    if mapped {
        return Err(Ec2Error::new(
            Code::DependencyViolation,
            format!(
                "Network {vpc_id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
            ),
        )
        .into());
    }
    tx.put(ctx.scope.key(), &igw)?;
    Ok(())
}

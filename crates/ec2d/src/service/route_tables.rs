//! Route tables: the local routes that follow a VPC's blocks.

use ec2_core::route_tables::{Route, RouteTable, RouteTarget};
use ec2_core::vpcs::Vpc;
use ec2_store::Txn;

use super::{Ctx, Result};

/// Every route table of the VPC routes a newly associated block locally.
pub fn add_local_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc, cidr: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for mut t in tx.scan::<RouteTable>(scope)?.into_iter().filter(|t| t.vpc_id == vpc.id) {
        t.routes.push(Route {
            destination: cidr.to_string(),
            target: RouteTarget::Gateway("local".into()),
            origin: "CreateRouteTable".into(),
        });
        tx.put(scope, &t)?;
    }
    Ok(())
}

/// A disassociated block's local routes go with it.
pub fn remove_local_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc, cidr: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for mut t in tx.scan::<RouteTable>(scope)?.into_iter().filter(|t| t.vpc_id == vpc.id) {
        t.routes.retain(|r| !(r.is_local() && r.destination == cidr));
        tx.put(scope, &t)?;
    }
    Ok(())
}

// --- The route table operations

use ec2_core::filters::FilterTable;
use ec2_core::ids::IdKind;
use ec2_core::internet_gateways::InternetGateway;
use ec2_core::route_tables::{self as core, Association};
use ec2_core::subnets::Subnet;
use ec2_protocol::{dto, Code, Ec2Error};

use super::common::{
    fingerprint, five_to_thousand, load_named, new_id, not_found, paginate, remember, replay, tag_set,
    tag_specifications, tags_for, well_formed,
};
use super::vpcs::{check_id, ensure_default_network, load_vpc, net_err, with_tags, Row};
use super::{dry_run_gate, filters, tags};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn target_id(t: &RouteTarget) -> &str {
    match t {
        RouteTarget::Gateway(x)
        | RouteTarget::Instance(x)
        | RouteTarget::NetworkInterface(x)
        | RouteTarget::NatGateway(x)
        | RouteTarget::VpcPeeringConnection(x)
        | RouteTarget::TransitGateway(x) => x,
    }
}

/// A table with what its routes' states need: the gateways attached to its VPC.
pub struct TableView {
    pub table: RouteTable,
    pub attached: Vec<String>,
}

fn route_state(v: &TableView, r: &Route) -> &'static str {
    match &r.target {
        RouteTarget::Gateway(g) if g != "local" && !v.attached.contains(g) => "blackhole",
        _ => "active",
    }
}

fn gateway_ids(r: &Row<TableView>) -> Vec<String> {
    r.item
        .table
        .routes
        .iter()
        .filter_map(|x| if let RouteTarget::Gateway(g) = &x.target { Some(g.clone()) } else { None })
        .collect()
}

fn targets(r: &Row<TableView>, pick: fn(&RouteTarget) -> bool) -> Vec<String> {
    r.item.table.routes.iter().filter(|x| pick(&x.target)).map(|x| target_id(&x.target).to_string()).collect()
}

static TABLE_FILTERS: FilterTable<Row<TableView>> = FilterTable {
    entries: &[
        ("association.gateway-id", |_| vec![]),
        ("association.route-table-association-id", |r| {
            r.item.table.associations.iter().map(|a| a.id.clone()).collect()
        }),
        ("association.route-table-id", |r| r.item.table.associations.iter().map(|_| r.item.table.id.clone()).collect()),
        ("association.subnet-id", |r| r.item.table.associations.iter().filter_map(|a| a.subnet_id.clone()).collect()),
        ("association.main", |r| one(r.item.table.is_main().to_string())),
        ("owner-id", |r| one(&r.item.table.owner_id)),
        ("route-table-id", |r| one(&r.item.table.id)),
        ("route.destination-cidr-block", |r| r.item.table.routes.iter().map(|x| x.destination.clone()).collect()),
        ("route.destination-ipv6-cidr-block", |_| vec![]),
        ("route.destination-prefix-list-id", |_| vec![]),
        ("route.egress-only-internet-gateway-id", |_| vec![]),
        ("route.gateway-id", gateway_ids),
        ("route.instance-id", |r| targets(r, |t| matches!(t, RouteTarget::Instance(_)))),
        ("route.nat-gateway-id", |r| targets(r, |t| matches!(t, RouteTarget::NatGateway(_)))),
        ("route.transit-gateway-id", |r| targets(r, |t| matches!(t, RouteTarget::TransitGateway(_)))),
        ("route.origin", |r| r.item.table.routes.iter().map(|x| x.origin.clone()).collect()),
        ("route.state", |r| r.item.table.routes.iter().map(|x| route_state(&r.item, x).to_string()).collect()),
        ("route.vpc-peering-connection-id", |r| targets(r, |t| matches!(t, RouteTarget::VpcPeeringConnection(_)))),
        ("vpc-id", |r| one(&r.item.table.vpc_id)),
    ],
    tags: Some(|r| &r.tags),
};

fn route_dto(v: &TableView, r: &Route) -> dto::Route {
    let mut out = dto::Route {
        destination_cidr_block: Some(r.destination.clone()),
        origin: Some(r.origin.clone()),
        state: Some(route_state(v, r).into()),
        ..Default::default()
    };
    match &r.target {
        RouteTarget::Gateway(g) => out.gateway_id = Some(g.clone()),
        RouteTarget::Instance(i) => {
            out.instance_id = Some(i.clone());
            out.instance_owner_id = Some(v.table.owner_id.clone());
        }
        RouteTarget::NetworkInterface(n) => out.network_interface_id = Some(n.clone()),
        RouteTarget::NatGateway(n) => out.nat_gateway_id = Some(n.clone()),
        RouteTarget::VpcPeeringConnection(p) => out.vpc_peering_connection_id = Some(p.clone()),
        RouteTarget::TransitGateway(t) => out.transit_gateway_id = Some(t.clone()),
    }
    out
}

fn association_dto(t: &RouteTable, a: &Association) -> dto::RouteTableAssociation {
    dto::RouteTableAssociation {
        main: Some(a.main),
        route_table_association_id: Some(a.id.clone()),
        route_table_id: Some(t.id.clone()),
        subnet_id: a.subnet_id.clone(),
        association_state: Some(dto::RouteTableAssociationState {
            state: Some("associated".into()),
            status_message: None,
        }),
        ..Default::default()
    }
}

fn table_dto(r: &Row<TableView>) -> dto::RouteTable {
    let t = &r.item.table;
    dto::RouteTable {
        route_table_id: Some(t.id.clone()),
        vpc_id: Some(t.vpc_id.clone()),
        owner_id: Some(t.owner_id.clone()),
        routes: Some(t.routes.iter().map(|x| route_dto(&r.item, x)).collect()),
        associations: Some(t.associations.iter().map(|a| association_dto(t, a)).collect()),
        propagating_vgws: Some(vec![]),
        tags: Some(tag_set(&r.tags).unwrap_or_default()),
    }
}

fn view(tx: &mut Txn<'_>, ctx: &Ctx<'_>, table: RouteTable) -> Result<TableView> {
    let attached = tx
        .scan::<InternetGateway>(ctx.scope.key())?
        .into_iter()
        .filter(|g| g.vpc_id.as_deref() == Some(table.vpc_id.as_str()))
        .map(|g| g.id)
        .collect();
    Ok(TableView { table, attached })
}

pub fn load_table(ctx: &Ctx<'_>, tx: &mut Txn<'_>, id: &str) -> Result<RouteTable> {
    tx.get::<RouteTable>(ctx.scope.key(), id)?.ok_or_else(|| not_found(IdKind::RouteTable, &[id.to_string()]).into())
}

pub fn describe_route_tables(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DescribeRouteTablesRequest,
) -> Result<dto::DescribeRouteTablesResult> {
    let ids = well_formed(IdKind::RouteTable, req.route_table_ids.as_deref().unwrap_or_default())?;
    let filters = filters(&TABLE_FILTERS, &req.filters)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let tables: Vec<RouteTable> = if ids.is_empty() {
        tx.scan(ctx.scope.key())?
    } else {
        let mut v: Vec<RouteTable> = load_named(ctx, tx, IdKind::RouteTable, &ids)?;
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let views = tables.into_iter().map(|t| view(tx, ctx, t)).collect::<Result<Vec<_>>>()?;
    let mut rows = with_tags(ctx, tx, views, |v| v.table.id.clone())?;
    rows.retain(|r| TABLE_FILTERS.matches(r, &filters));
    let (page, next) =
        paginate(rows, |r| r.item.table.id.clone(), req.max_results, req.next_token.as_deref(), &five_to_thousand())?;
    Ok(dto::DescribeRouteTablesResult { route_tables: Some(page.iter().map(table_dto).collect()), next_token: next })
}

pub fn create_route_table(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::CreateRouteTableRequest,
) -> Result<dto::CreateRouteTableResult> {
    let vpc_id = check_id(IdKind::Vpc, &req.vpc_id, "vpcId")?;
    let specs = tag_specifications(&req.tag_specifications, &["route-table"])?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let key = req.client_token.as_ref().map(|t| format!("CreateRouteTable/{t}"));
    let fp = fingerprint(&dto::CreateRouteTableRequest { client_token: None, dry_run: None, ..req.clone() });
    if let Some(ids) = replay(ctx, tx, key.as_deref(), &fp)? {
        if let Some(t) = ids.first() {
            let table = load_table(ctx, tx, t)?;
            let tags = tags::network_tags(tx, ctx, &table.id)?;
            let item = view(tx, ctx, table)?;
            return Ok(dto::CreateRouteTableResult {
                route_table: Some(table_dto(&Row { item, tags })),
                client_token: req.client_token.clone(),
            });
        }
    }
    let vpc = load_vpc(ctx, tx, &vpc_id)?;
    let cidrs: Vec<String> = vpc.cidr_blocks.iter().map(|b| b.cidr.clone()).collect();
    let table =
        RouteTable::new(new_id(ctx, tx, IdKind::RouteTable)?, vpc.id.clone(), ctx.scope.account.clone(), &cidrs);
    tx.put(ctx.scope.key(), &table)?;
    remember(ctx, tx, key, fp, vec![table.id.clone()])?;
    let tags = tags::set_tags(ctx, tx, &table.id, "route-table", tags_for(&specs, "route-table"))?;
    let item = view(tx, ctx, table)?;
    Ok(dto::CreateRouteTableResult {
        route_table: Some(table_dto(&Row { item, tags })),
        client_token: req.client_token.clone(),
    })
}

pub fn delete_route_table(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteRouteTableRequest) -> Result<()> {
    let id = check_id(IdKind::RouteTable, &req.route_table_id, "routeTableId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let table = load_table(ctx, tx, &id)?;
    core::check_delete(&table).map_err(net_err)?;
    tags::drop_tags(ctx, tx, &table.id)?;
    tx.delete::<RouteTable>(ctx.scope.key(), &table.id)?;
    Ok(())
}

pub fn associate_route_table(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::AssociateRouteTableRequest,
) -> Result<dto::AssociateRouteTableResult> {
    let id = check_id(IdKind::RouteTable, &req.route_table_id, "routeTableId")?;
    if req.gateway_id.is_some() || req.public_ipv4_pool.is_some() {
        return Err(Ec2Error::new(Code::NotImplemented, "ec2d associates route tables with subnets only.").into());
    }
    let subnet_id = check_id(IdKind::Subnet, &req.subnet_id, "subnetId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut table = load_table(ctx, tx, &id)?;
    let scope = ctx.scope.key();
    let subnet = tx
        .get::<Subnet>(scope, &subnet_id)?
        .ok_or_else(|| not_found(IdKind::Subnet, std::slice::from_ref(&subnet_id)))?;
    if subnet.vpc_id != table.vpc_id {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "Route table {} and subnet {} belong to different networks",
            table.id, subnet.id
        ))
        .into());
    }
    let taken = tx
        .scan::<RouteTable>(scope)?
        .iter()
        .any(|t| t.associations.iter().any(|a| a.subnet_id.as_deref() == Some(subnet.id.as_str())));
    if taken {
        return Err(net_err(ec2_core::network::NetError::SubnetAssociated { subnet: subnet.id }));
    }
    let assoc =
        Association { id: new_id(ctx, tx, IdKind::RouteTableAssociation)?, subnet_id: Some(subnet.id), main: false };
    table.associations.push(assoc.clone());
    tx.put(scope, &table)?;
    Ok(dto::AssociateRouteTableResult {
        association_id: Some(assoc.id),
        association_state: Some(dto::RouteTableAssociationState {
            state: Some("associated".into()),
            status_message: None,
        }),
    })
}

pub fn disassociate_route_table(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    req: &dto::DisassociateRouteTableRequest,
) -> Result<()> {
    let id = check_id(IdKind::RouteTableAssociation, &req.association_id, "associationId")?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let scope = ctx.scope.key();
    let mut table = tx
        .scan::<RouteTable>(scope)?
        .into_iter()
        .find(|t| t.associations.iter().any(|a| a.id == id))
        .ok_or_else(|| not_found(IdKind::RouteTableAssociation, std::slice::from_ref(&id)))?;
    if table.associations.iter().any(|a| a.id == id && a.main) {
        return Err(Ec2Error::invalid_parameter_value(format!(
            "cannot disassociate the main route table association {id}"
        ))
        .into());
    }
    table.associations.retain(|a| a.id != id);
    tx.put(scope, &table)?;
    Ok(())
}

/// The route's target as a request gives it: exactly one target.
#[allow(clippy::too_many_arguments)]
fn requested_target(
    ctx: &Ctx<'_>,
    tx: &mut Txn<'_>,
    table: &RouteTable,
    gateway: &Option<String>,
    instance: &Option<String>,
    eni: &Option<String>,
    nat: &Option<String>,
    peering: &Option<String>,
    transit: &Option<String>,
) -> Result<RouteTarget> {
    let given: Vec<RouteTarget> = [
        gateway.clone().map(RouteTarget::Gateway),
        instance.clone().map(RouteTarget::Instance),
        eni.clone().map(RouteTarget::NetworkInterface),
        nat.clone().map(RouteTarget::NatGateway),
        peering.clone().map(RouteTarget::VpcPeeringConnection),
        transit.clone().map(RouteTarget::TransitGateway),
    ]
    .into_iter()
    .flatten()
    .collect();
    let [target] = <[RouteTarget; 1]>::try_from(given).map_err(|g| {
        if g.is_empty() {
            Ec2Error::missing_parameter("gatewayId")
        } else {
            Ec2Error::new(Code::InvalidParameterCombination, "More than one target was given for the route.")
        }
    })?;
    match &target {
        RouteTarget::Gateway(g) => {
            well_formed(IdKind::InternetGateway, std::slice::from_ref(g))?;
            let igw = super::internet_gateways::load_igw(ctx, tx, g)?;
            if igw.vpc_id.as_deref() != Some(table.vpc_id.as_str()) {
                return Err(Ec2Error::invalid_parameter_value(format!(
                    "route table {} and network gateway {} belong to different networks",
                    table.id, igw.id
                ))
                .into());
            }
        }
        RouteTarget::Instance(i) => {
            well_formed(IdKind::Instance, std::slice::from_ref(i))?;
            super::instances::load_many(ctx, tx, std::slice::from_ref(i))?;
        }
        RouteTarget::NetworkInterface(n) => {
            well_formed(IdKind::NetworkInterface, std::slice::from_ref(n))?;
            if !super::network_interfaces::exists(ctx, tx, n)? {
                return Err(not_found(IdKind::NetworkInterface, std::slice::from_ref(n)).into());
            }
        }
        _ => {}
    }
    Ok(target)
}

fn destination(cidr: &Option<String>, v6: &Option<String>, pl: &Option<String>) -> Result<String> {
    if v6.is_some() || pl.is_some() {
        return Err(Ec2Error::new(Code::NotImplemented, "ec2d routes IPv4 destinations only.").into());
    }
    let c = cidr.clone().ok_or_else(|| Ec2Error::missing_parameter("destinationCidrBlock"))?;
    let net = ec2_core::vpcs::parse_cidr(&c, "destinationCidrBlock").map_err(net_err)?;
    Ok(net.to_string())
}

pub fn create_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::CreateRouteRequest) -> Result<dto::CreateRouteResult> {
    let id = check_id(IdKind::RouteTable, &req.route_table_id, "routeTableId")?;
    let dest =
        destination(&req.destination_cidr_block, &req.destination_ipv6_cidr_block, &req.destination_prefix_list_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut table = load_table(ctx, tx, &id)?;
    let target = requested_target(
        ctx,
        tx,
        &table,
        &req.gateway_id,
        &req.instance_id,
        &req.network_interface_id,
        &req.nat_gateway_id,
        &req.vpc_peering_connection_id,
        &req.transit_gateway_id,
    )?;
    core::create_route(&mut table, &dest, target).map_err(net_err)?;
    tx.put(ctx.scope.key(), &table)?;
    Ok(dto::CreateRouteResult { r#return: Some(true) })
}

pub fn replace_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::ReplaceRouteRequest) -> Result<()> {
    let id = check_id(IdKind::RouteTable, &req.route_table_id, "routeTableId")?;
    let dest =
        destination(&req.destination_cidr_block, &req.destination_ipv6_cidr_block, &req.destination_prefix_list_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut table = load_table(ctx, tx, &id)?;
    let target = requested_target(
        ctx,
        tx,
        &table,
        &req.gateway_id,
        &req.instance_id,
        &req.network_interface_id,
        &req.nat_gateway_id,
        &req.vpc_peering_connection_id,
        &req.transit_gateway_id,
    )?;
    core::replace_route(&mut table, &dest, target).map_err(net_err)?;
    tx.put(ctx.scope.key(), &table)?;
    Ok(())
}

pub fn delete_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, req: &dto::DeleteRouteRequest) -> Result<()> {
    let id = check_id(IdKind::RouteTable, &req.route_table_id, "routeTableId")?;
    let dest =
        destination(&req.destination_cidr_block, &req.destination_ipv6_cidr_block, &req.destination_prefix_list_id)?;
    dry_run_gate(ctx, req.dry_run)?;
    ensure_default_network(ctx, tx)?;
    let mut table = load_table(ctx, tx, &id)?;
    core::delete_route(&mut table, &dest).map_err(net_err)?;
    tx.put(ctx.scope.key(), &table)?;
    Ok(())
}

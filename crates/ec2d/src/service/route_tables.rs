//! Route tables: the local routes that follow a VPC's blocks.

use ec2_core::route_tables::{Route, RouteTable, RouteTarget};
use ec2_core::vpcs::Vpc;
use ec2_store::Txn;

use super::{Ctx, Result};

/// Every route table of the VPC routes a newly associated block locally.
pub fn add_local_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc, cidr: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for mut t in tx.scan::<RouteTable>(&scope)?.into_iter().filter(|t| t.vpc_id == vpc.id) {
        t.routes.push(Route {
            destination: cidr.to_string(),
            target: RouteTarget::Gateway("local".into()),
            origin: "CreateRouteTable".into(),
        });
        tx.put(&scope, &t)?;
    }
    Ok(())
}

/// A disassociated block's local routes go with it.
pub fn remove_local_route(ctx: &Ctx<'_>, tx: &mut Txn<'_>, vpc: &Vpc, cidr: &str) -> Result<()> {
    let scope = ctx.scope.key();
    for mut t in tx.scan::<RouteTable>(&scope)?.into_iter().filter(|t| t.vpc_id == vpc.id) {
        t.routes.retain(|r| !(r.is_local() && r.destination == cidr));
        tx.put(&scope, &t)?;
    }
    Ok(())
}

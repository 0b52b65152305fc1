//! Route tables: the record, its routes (the local route of each VPC block, which cannot be
//! replaced or deleted; one route per destination), its associations (the VPC's main association
//! and subnets) and the rules of deletion.

use serde::{Deserialize, Serialize};

use crate::network::NetError;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RouteTarget {
    /// `local`, or an internet gateway ID.
    Gateway(String),
    Instance(String),
    NetworkInterface(String),
    NatGateway(String),
    VpcPeeringConnection(String),
    TransitGateway(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// An IPv4 or IPv6 block, or a prefix list ID.
    pub destination: String,
    pub target: RouteTarget,
    /// `CreateRouteTable` (the local routes) or `CreateRoute`.
    pub origin: String,
}

impl Route {
    pub fn is_local(&self) -> bool {
        self.target == RouteTarget::Gateway("local".into())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    /// `rtbassoc-...`.
    pub id: String,
    /// `None` for the main association.
    pub subnet_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub owner_id: String,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
}

impl RouteTable {
    /// A new table with a local route for each of the VPC's blocks.
    pub fn new(id: String, vpc_id: String, owner_id: String, vpc_cidrs: &[String]) -> RouteTable {
        let routes = vpc_cidrs
            .iter()
            .map(|c| Route {
                destination: c.clone(),
                target: RouteTarget::Gateway("local".into()),
                origin: "CreateRouteTable".into(),
            })
            .collect();
        RouteTable { id, vpc_id, owner_id, routes, associations: Vec::new() }
    }

    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }
}

pub fn create_route(table: &mut RouteTable, destination: &str, target: RouteTarget) -> Result<(), NetError> {
    if table.routes.iter().any(|r| r.destination == destination) {
        return Err(NetError::RouteExists { table: table.id.clone(), destination: destination.to_string() });
    }
    table.routes.push(Route { destination: destination.to_string(), target, origin: "CreateRoute".into() });
    Ok(())
}

fn find_editable(table: &RouteTable, destination: &str) -> Result<usize, NetError> {
    let pos = table
        .routes
        .iter()
        .position(|r| r.destination == destination)
        .ok_or_else(|| NetError::RouteNotFound { table: table.id.clone(), destination: destination.to_string() })?;
    if table.routes[pos].is_local() {
        return Err(NetError::LocalRoute { table: table.id.clone(), destination: destination.to_string() });
    }
    Ok(pos)
}

pub fn replace_route(table: &mut RouteTable, destination: &str, target: RouteTarget) -> Result<(), NetError> {
    let pos = find_editable(table, destination)?;
    table.routes[pos].target = target;
    Ok(())
}

pub fn delete_route(table: &mut RouteTable, destination: &str) -> Result<(), NetError> {
    let pos = find_editable(table, destination)?;
    table.routes.remove(pos);
    Ok(())
}

/// A table with associations (the main one included) cannot be deleted.
pub fn check_delete(table: &RouteTable) -> Result<(), NetError> {
    if table.associations.is_empty() {
        Ok(())
    } else {
        Err(NetError::Dependency { kind: "routeTable", id: table.id.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_route_stays_and_destinations_are_unique() {
        let mut t = RouteTable::new("rtb-1".into(), "vpc-1".into(), "0".into(), &["10.0.0.0/16".into()]);
        let igw = RouteTarget::Gateway("igw-1".into());
        create_route(&mut t, "0.0.0.0/0", igw.clone()).unwrap();
        assert!(matches!(create_route(&mut t, "0.0.0.0/0", igw.clone()), Err(NetError::RouteExists { .. })));
        assert!(matches!(delete_route(&mut t, "10.0.0.0/16"), Err(NetError::LocalRoute { .. })));
        assert!(matches!(replace_route(&mut t, "10.0.0.0/16", igw.clone()), Err(NetError::LocalRoute { .. })));
        assert!(matches!(replace_route(&mut t, "1.0.0.0/8", igw), Err(NetError::RouteNotFound { .. })));
        replace_route(&mut t, "0.0.0.0/0", RouteTarget::Instance("i-1".into())).unwrap();
        delete_route(&mut t, "0.0.0.0/0").unwrap();
        assert_eq!(t.routes.len(), 1);
        assert!(check_delete(&t).is_ok());
        t.associations.push(Association { id: "a".into(), subnet_id: None, main: true });
        assert!(t.is_main());
        assert!(matches!(check_delete(&t), Err(NetError::Dependency { .. })));
    }
}

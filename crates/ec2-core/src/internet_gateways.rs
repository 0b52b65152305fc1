//! Internet gateways: the record and its attachment to at most one VPC (and a VPC to at most one
//! gateway).

use serde::{Deserialize, Serialize};

use crate::network::NetError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InternetGateway {
    pub id: String,
    pub owner_id: String,
    /// The attached VPC, if any (its attachment state is `available`).
    pub vpc_id: Option<String>,
}

/// Attaches the gateway to `vpc`; `vpc_gateway` is the gateway the VPC already has, if any.
pub fn attach(igw: &mut InternetGateway, vpc: &str, vpc_gateway: Option<&str>) -> Result<(), NetError> {
    if igw.vpc_id.is_some() {
        return Err(NetError::GatewayAttached { igw: igw.id.clone() });
    }
    if vpc_gateway.is_some() {
        return Err(NetError::VpcHasGateway { vpc: vpc.to_string() });
    }
    igw.vpc_id = Some(vpc.to_string());
    Ok(())
}

pub fn detach(igw: &mut InternetGateway, vpc: &str) -> Result<(), NetError> {
    if igw.vpc_id.as_deref() != Some(vpc) {
        return Err(NetError::GatewayNotAttached { igw: igw.id.clone(), vpc: vpc.to_string() });
    }
    igw.vpc_id = None;
    Ok(())
}

pub fn check_delete(igw: &InternetGateway) -> Result<(), NetError> {
    match igw.vpc_id {
        Some(_) => Err(NetError::Dependency { kind: "internetGateway", id: igw.id.clone() }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gateway_per_vpc_and_one_vpc_per_gateway() {
        let mut g = InternetGateway { id: "igw-1".into(), owner_id: "0".into(), vpc_id: None };
        assert!(matches!(attach(&mut g, "vpc-1", Some("igw-0")), Err(NetError::VpcHasGateway { .. })));
        attach(&mut g, "vpc-1", None).unwrap();
        assert!(matches!(attach(&mut g, "vpc-2", None), Err(NetError::GatewayAttached { .. })));
        assert!(matches!(check_delete(&g), Err(NetError::Dependency { .. })));
        assert!(matches!(detach(&mut g, "vpc-2"), Err(NetError::GatewayNotAttached { .. })));
        detach(&mut g, "vpc-1").unwrap();
        assert!(check_delete(&g).is_ok());
    }
}

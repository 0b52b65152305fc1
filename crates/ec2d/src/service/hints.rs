//! The documents a request is likely to change, for an engine whose concurrent transactions fail each
//! other on them (PostgreSQL queues on those that are hot before its first attempt,
//! `Store::transact_hinted`). A guess from the request alone, read before the transaction: a wrong or
//! missing hint may change how long a request waits, never what it does.
//!
//! RunInstances rewrites its zone's subnet (the addresses it takes) and its capacity pool; StartInstances,
//! StopInstances and TerminateInstances rewrite the instances they name (and their pools, which the engine
//! learns from the transactions before).

use ec2_core::capacity_reservations::pools::CapacityPool;
use ec2_core::instances::Instance;
use ec2_core::network::DefaultNetwork;
use ec2_core::subnets::Subnet;
use ec2_core::Scope;
use ec2_protocol::dto::RunInstancesRequest;
use ec2_protocol::Request;
use ec2_store::{Hint, GLOBAL};

use super::launch::DEFAULT_INSTANCE_TYPE;
use super::Settings;

/// At most this many hints for one request (a request naming more instances is hinted by its first ones).
const MAX_HINTS: usize = 16;

/// The documents `request` of `scope` is likely to change.
pub fn of(settings: &Settings, scope: &Scope, request: &Request) -> Vec<Hint> {
    let instances = |ids: &Option<Vec<String>>| -> Vec<Hint> {
        let key = scope.key();
        ids.iter().flatten().take(MAX_HINTS).map(|id| Hint::of::<Instance>(key, id)).collect()
    };
    match request {
        Request::RunInstances(r) => launch(settings, scope, r),
        Request::StartInstances(r) => instances(&r.instance_ids),
        Request::StopInstances(r) => instances(&r.instance_ids),
        Request::TerminateInstances(r) => instances(&r.instance_ids),
        _ => Vec::new(),
    }
}

/// A launch into a default subnet (named, or found by its zone): that subnet and its zone's pool of the
/// instance type. A launch into another subnet: that subnet.
fn launch(settings: &Settings, scope: &Scope, r: &RunInstancesRequest) -> Vec<Hint> {
    let key = scope.key();
    let nic_subnet = r.network_interfaces.as_ref().and_then(|n| n.first()).and_then(|n| n.subnet_id.as_deref());
    let named = r.subnet_id.as_deref().or(nic_subnet);
    let net = DefaultNetwork::of(scope, settings.ids);
    let default = match named {
        Some(id) => net.subnet(id),
        None => {
            let placement = r.placement.as_ref();
            let zone_name = placement.and_then(|p| p.availability_zone.as_deref());
            let zone_id = placement.and_then(|p| p.availability_zone_id.as_deref());
            net.launch_subnet(zone_name, zone_id)
        }
    };
    match (default, named) {
        (Some(subnet), _) => {
            let instance_type = r.instance_type.as_deref().unwrap_or(DEFAULT_INSTANCE_TYPE);
            vec![
                Hint::of::<Subnet>(key, &subnet.id),
                Hint::of::<CapacityPool>(GLOBAL, &CapacityPool::id_of(subnet.zone.name, instance_type)),
            ]
        }
        (None, Some(id)) => vec![Hint::of::<Subnet>(key, id)],
        (None, None) => Vec::new(),
    }
}

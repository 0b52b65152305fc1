//! The store kind of every domain record, in one place: one grep for a kind name finds its layer.

use ec2_core::instances::Instance;

use crate::Record;

/// The kinds whose every id is the server's own: made by its ID generator (`service::common::new_id`) or one
/// of its constants, never a caller's text (a key pair's name, a tag, a client token). Their ids may be hashed
/// with foldhash instead of SipHash (`nested::Ids::for_kind`; the hash policy in ARCHITECTURE.md). Before
/// adding a kind, check every path that puts a record of it: a lookup with a caller's id is fine, an insert
/// is not.
/// - `instance`: `launch::derive` takes the id `service::launch` drew with `new_id(.., IdKind::Instance)`;
///   every other put writes back a record read by its id.
/// - `due_index`, `due_head`: one record per scope, with the id `ec2_core::due::INDEX_ID`.
pub const GENERATED_ID_KINDS: &[&str] = &["instance", "due_index", "due_head"];

/// Whether every id of `kind` is the server's own ([`GENERATED_ID_KINDS`]).
pub fn ids_are_generated(kind: &str) -> bool {
    GENERATED_ID_KINDS.contains(&kind)
}

impl Record for Instance {
    const KIND: &'static str = "instance";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::bundle_tasks::BundleTask {
    const KIND: &'static str = "bundle_task";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::spot::SpotRequest {
    const KIND: &'static str = "spot_request";
    const UPGRADES: &'static [crate::format::Upgrade] = &[spot_launch_plan_typed];
    fn id(&self) -> &str {
        &self.id
    }
}

/// Format 1 -> 2 of `spot_request`: the launch plan was a JSON string inside the document; it becomes
/// the typed object, with the members added since at their defaults.
fn spot_launch_plan_typed(doc: &mut serde_json::Value) -> Result<(), String> {
    let Some(plan) = doc.get_mut("launch_plan") else { return Ok(()) };
    if let Some(text) = plan.as_str() {
        let typed: ec2_core::launch::LaunchPlan =
            serde_json::from_str(text).map_err(|e| format!("launch_plan: {e}"))?;
        *plan = serde_json::to_value(typed).map_err(|e| format!("launch_plan: {e}"))?;
    }
    Ok(())
}

impl Record for ec2_core::capacity_reservations::CapacityReservation {
    const KIND: &'static str = "capacity_reservation";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::vpcs::Vpc {
    const KIND: &'static str = "vpc";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::capacity_reservations::pools::CapacityPool {
    const KIND: &'static str = "capacity_pool";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::subnets::Subnet {
    const KIND: &'static str = "subnet";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::security_groups::SecurityGroup {
    const KIND: &'static str = "security_group";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::internet_gateways::InternetGateway {
    const KIND: &'static str = "internet_gateway";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::route_tables::RouteTable {
    const KIND: &'static str = "route_table";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::addresses::Address {
    const KIND: &'static str = "address";
    fn id(&self) -> &str {
        &self.allocation_id
    }
}

impl Record for ec2_core::network_interfaces::InstanceInterfaces {
    const KIND: &'static str = "instance_interfaces";
    fn id(&self) -> &str {
        &self.instance_id
    }
}

impl Record for ec2_core::network_interfaces::NetworkInterface {
    const KIND: &'static str = "network_interface";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::capacity_reservations::blocks::CapacityBlockOfferingRecord {
    const KIND: &'static str = "capacity_block_offering";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::key_pairs::KeyPair {
    const KIND: &'static str = "key_pair";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::launch_templates::LaunchTemplate {
    const KIND: &'static str = "launch_template";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::fleets::Fleet {
    const KIND: &'static str = "fleet";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::fleets::SpotFleetRequest {
    const KIND: &'static str = "spot_fleet_request";
    fn id(&self) -> &str {
        &self.0.id
    }
}

impl Record for ec2_core::due::DueIndex {
    const KIND: &'static str = "due_index";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::volumes::Volume {
    const KIND: &'static str = "volume";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::launch_templates::LaunchTemplateVersion {
    const KIND: &'static str = "launch_template_version";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::ebs_encryption::EbsEncryption {
    const KIND: &'static str = "ebs_encryption";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::snapshots::Snapshot {
    const KIND: &'static str = "snapshot";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::images::Image {
    const KIND: &'static str = "image";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A resource's state timeline (the console's `events`), stored under the resource's own ID.
impl Record for ec2_core::events::EventLog {
    const KIND: &'static str = "event";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A resource's newest transitions beside its `event` log, under the resource's own ID.
impl Record for ec2_core::events::EventTail {
    const KIND: &'static str = "event_tail";
    fn id(&self) -> &str {
        &self.id
    }
}

/// What a scope's last retention sweep of its `event` logs left.
impl Record for ec2_core::events::SweepMark {
    const KIND: &'static str = "event_sweep";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::due::DueHead {
    const KIND: &'static str = "due_head";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::iam_instance_profiles::Association {
    const KIND: &'static str = "iam_instance_profile_association";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::credit_specifications::Defaults {
    const KIND: &'static str = "credit_defaults";
    fn id(&self) -> &str {
        &self.id
    }
}

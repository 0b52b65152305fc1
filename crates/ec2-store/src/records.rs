//! The store kind of every domain record, in one place: one grep for a kind name finds its layer.

use ec2_core::instances::Instance;

use crate::Record;

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
    fn id(&self) -> &str {
        &self.id
    }
}

impl Record for ec2_core::capacity_reservations::CapacityReservation {
    const KIND: &'static str = "capacity_reservation";
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

impl Record for ec2_core::iam_instance_profiles::Association {
    const KIND: &'static str = "iam_instance_profile_association";
    fn id(&self) -> &str {
        &self.id
    }
}

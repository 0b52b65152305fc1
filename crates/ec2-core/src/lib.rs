//! The pure EC2 domain core.
//!
//! **Architecture invariant:** no IO, no async, no clock reads, no randomness of its own, and no wire
//! types. Every function that depends on time takes `now: UnixMillis` as an argument; every ID comes
//! from [`ids`] with a counter the caller supplies. `ec2-protocol` is deliberately not a dependency:
//! the conversion between DTOs and domain records lives in the server (`ec2d/src/service/`).

pub mod account_attributes;
pub mod addresses;
pub mod bundle_tasks;
pub mod capacity_reservations;
pub mod catalog;
pub mod cidr;
pub mod credit_specifications;
pub mod due;
pub mod ebs_encryption;
pub mod events;
pub mod filters;
pub mod fleets;
pub mod iam_instance_profiles;
pub mod ids;
pub mod images;
pub mod instance_attributes;
pub mod instances;
pub mod internet_gateways;
pub mod key_pairs;
pub mod launch;
pub mod launch_templates;
pub mod network;
pub mod network_interfaces;
pub mod passwords;
pub mod regions;
pub mod route_tables;
pub mod scope;
pub mod security_groups;
pub mod shared;
pub mod shared_text;
pub mod snapshots;
pub mod spot;
pub mod subnets;
pub mod tags;
pub mod text;
pub mod volumes;
pub mod vpcs;

pub use ec2_time::UnixMillis;
pub use scope::Scope;
pub use shared::Shared;
pub use shared_text::SharedText;
pub use text::Text;

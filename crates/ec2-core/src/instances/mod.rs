//! Instances: the record, its state machine, and its filters.

pub mod changes;
pub mod filters;
pub mod lifecycle;
pub mod model;

pub use lifecycle::{Durations, LifecycleError, Settled, StateChange, StopOptions};
pub use model::{Instance, InstanceState, RootDeviceType, StateReason};

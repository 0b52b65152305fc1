//! The in-memory engine (`--ephemeral`) against the store conformance suite.

ec2_store::conformance_suite!(ec2_store::Store::memory);

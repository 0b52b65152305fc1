//! The in-memory engine against the store conformance suite.

ec2_store::conformance_suite!(ec2_store::Store::memory);

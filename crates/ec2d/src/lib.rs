//! The ec2d server: configuration, HTTP, the request pipeline, the clock, and the service layer that
//! turns decoded requests into domain calls inside store transactions.

pub mod allocator;
pub mod app;
pub mod clock;
pub mod config;
pub mod console;
pub mod control;
pub mod control_client;
pub mod identity;
pub mod logging;
pub mod server;
pub mod service;
pub mod two_encoders;

//! Built-in catalogues: the instance types and the public machine images the emulator knows.
//!
//! Both are pure data with lookups, in the style of [`crate::regions`]: static tables sorted by their
//! key, searched by binary search. [`instance_types`] backs `DescribeInstanceTypes` and the validation of
//! every instance type a request names, and gives each type a reference on-demand price to seed the
//! spot market; [`offerings`] says which region and zone offers which type; [`images`] holds the public AMIs (Amazon Linux, Ubuntu, Debian, RHEL, SUSE, Windows, and
//! two instance-store images for the legacy bundling flows) that every account can describe and launch.
//! Each module's documentation says where its data comes from and what was chosen.

pub mod images;
pub mod instance_types;
#[rustfmt::skip]
mod instance_types_data;
pub mod offerings;

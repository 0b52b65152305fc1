//! The launch options an instance keeps and DescribeInstances shows back: hostname options
//! (`PrivateDnsNameOptions`), maintenance options (`MaintenanceOptions`), Nitro Enclaves, the
//! network bandwidth weighting, the operator, kernel and ramdisk; and their changes
//! (ModifyPrivateDnsNameOptions, ModifyInstanceMaintenanceOptions).

use serde::{Deserialize, Serialize};

use crate::Text;

use crate::instances::{Instance, InstanceState};

/// `PrivateDnsNameOptions`: the hostname type and whether DNS answers for the resource name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PrivateDnsOptions {
    /// `ip-name` or `resource-name`.
    pub hostname_type: Text,
    pub a_record: bool,
    pub aaaa_record: bool,
}

impl Default for PrivateDnsOptions {
    fn default() -> Self {
        PrivateDnsOptions { hostname_type: "ip-name".into(), a_record: false, aaaa_record: false }
    }
}

/// `MaintenanceOptions`: automatic recovery and reboot migration, each `default` or `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MaintenanceOptions {
    pub auto_recovery: Text,
    pub reboot_migration: Text,
}

impl Default for MaintenanceOptions {
    fn default() -> Self {
        MaintenanceOptions { auto_recovery: "default".into(), reboot_migration: "default".into() }
    }
}

/// The RunInstances members beyond the launch description that an instance keeps as attributes.
/// Plans stored before these existed read with the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LaunchOptions {
    pub kernel_id: Option<Text>,
    pub ramdisk_id: Option<Text>,
    pub enclave_enabled: bool,
    pub private_dns: PrivateDnsOptions,
    pub maintenance: MaintenanceOptions,
    /// `CreditSpecification.CpuCredits` as asked (`standard` or `unlimited`).
    pub cpu_credits: Option<Text>,
    /// `NetworkPerformanceOptions.BandwidthWeighting` (`default`, `vpc-1`, `ebs-1`).
    pub bandwidth_weighting: Option<Text>,
    /// `Operator.Principal`: the service that manages the instance.
    pub operator: Option<Text>,
}

/// A value outside what a member takes: (the parameter, the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOption {
    pub parameter: &'static str,
    pub value: String,
}

fn one_of(parameter: &'static str, value: &str, allowed: &[&str]) -> Result<String, BadOption> {
    if allowed.contains(&value) {
        Ok(value.to_string())
    } else {
        Err(BadOption { parameter, value: value.to_string() })
    }
}

pub const HOSTNAME_TYPES: &[&str] = &["ip-name", "resource-name"];
pub const MAINTENANCE_STATES: &[&str] = &["default", "disabled"];
pub const BANDWIDTH_WEIGHTINGS: &[&str] = &["default", "vpc-1", "ebs-1"];

/// A change of the hostname options: each member given replaces the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateDnsChange {
    pub hostname_type: Option<String>,
    pub a_record: Option<bool>,
    pub aaaa_record: Option<bool>,
}

impl PrivateDnsOptions {
    pub fn with(&self, change: &PrivateDnsChange) -> Result<PrivateDnsOptions, BadOption> {
        Ok(PrivateDnsOptions {
            hostname_type: match &change.hostname_type {
                Some(t) => one_of("PrivateDnsHostnameType", t, HOSTNAME_TYPES)?.into(),
                None => self.hostname_type.clone(),
            },
            a_record: change.a_record.unwrap_or(self.a_record),
            aaaa_record: change.aaaa_record.unwrap_or(self.aaaa_record),
        })
    }
}

/// A change of the maintenance options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceChange {
    pub auto_recovery: Option<String>,
    pub reboot_migration: Option<String>,
}

impl MaintenanceOptions {
    pub fn with(&self, change: &MaintenanceChange) -> Result<MaintenanceOptions, BadOption> {
        let pick = |parameter, new: &Option<String>, current: &str| match new {
            Some(v) => one_of(parameter, v, MAINTENANCE_STATES),
            None => Ok(current.to_string()),
        };
        Ok(MaintenanceOptions {
            auto_recovery: pick("AutoRecovery", &change.auto_recovery, &self.auto_recovery)?.into(),
            reboot_migration: pick("RebootMigration", &change.reboot_migration, &self.reboot_migration)?.into(),
        })
    }
}

/// Checks a bandwidth weighting value.
pub fn bandwidth_weighting(value: &str) -> Result<String, BadOption> {
    one_of("BandwidthWeighting", value, BANDWIDTH_WEIGHTINGS)
}

/// Why Nitro Enclaves cannot be enabled at a launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnclaveError {
    /// The instance type does not support Nitro Enclaves.
    TypeUnsupported,
    /// Enclaves and hibernation exclude each other.
    WithHibernation,
}

/// Checks `EnclaveOptions.Enabled` against the instance type's `nitro_enclaves_support` and the
/// launch's hibernation.
pub fn check_enclave(enabled: bool, type_support: &str, hibernation: bool) -> Result<(), EnclaveError> {
    if !enabled {
        return Ok(());
    }
    if type_support != "supported" {
        return Err(EnclaveError::TypeUnsupported);
    }
    if hibernation {
        return Err(EnclaveError::WithHibernation);
    }
    Ok(())
}

/// Why an option change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    Bad(BadOption),
    /// The hostname type changes only while the instance is stopped.
    NotStopped {
        id: String,
    },
    /// The instance is shutting down or terminated.
    Gone {
        id: String,
        state: InstanceState,
    },
}

fn alive(inst: &Instance) -> Result<(), OptionError> {
    match inst.state {
        InstanceState::ShuttingDown | InstanceState::Terminated => {
            Err(OptionError::Gone { id: inst.id.to_string(), state: inst.state })
        }
        _ => Ok(()),
    }
}

/// ModifyPrivateDnsNameOptions: the DNS record switches in any live state; a new hostname type
/// only while the instance is stopped.
pub fn modify_private_dns(inst: &mut Instance, change: &PrivateDnsChange) -> Result<(), OptionError> {
    let new = inst.attributes.private_dns.with(change).map_err(OptionError::Bad)?;
    alive(inst)?;
    if new.hostname_type != inst.attributes.private_dns.hostname_type && inst.state != InstanceState::Stopped {
        return Err(OptionError::NotStopped { id: inst.id.to_string() });
    }
    inst.attributes.private_dns = new;
    Ok(())
}

/// ModifyInstanceMaintenanceOptions, in any live state.
pub fn modify_maintenance(inst: &mut Instance, change: &MaintenanceChange) -> Result<(), OptionError> {
    let new = inst.attributes.maintenance.with(change).map_err(OptionError::Bad)?;
    alive(inst)?;
    inst.attributes.maintenance = new;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instances::lifecycle::tests::fixture;

    fn running() -> Instance {
        fixture(InstanceState::Running)
    }

    #[test]
    fn hostname_type_changes_only_while_stopped() {
        let mut i = running();
        let change = PrivateDnsChange { hostname_type: Some("resource-name".into()), ..Default::default() };
        assert_eq!(modify_private_dns(&mut i, &change), Err(OptionError::NotStopped { id: i.id.to_string() }));
        assert_eq!(i.attributes.private_dns.hostname_type, "ip-name");
        let records = PrivateDnsChange { a_record: Some(true), ..Default::default() };
        modify_private_dns(&mut i, &records).unwrap();
        assert!(i.attributes.private_dns.a_record);
        i.state = InstanceState::Stopped;
        modify_private_dns(&mut i, &change).unwrap();
        assert_eq!(i.attributes.private_dns.hostname_type, "resource-name");
        assert!(i.attributes.private_dns.a_record, "members not given stay");
    }

    #[test]
    fn bad_values_and_gone_instances_are_refused() {
        let mut i = running();
        let bad = PrivateDnsChange { hostname_type: Some("fancy".into()), ..Default::default() };
        assert!(
            matches!(modify_private_dns(&mut i, &bad), Err(OptionError::Bad(b)) if b.parameter == "PrivateDnsHostnameType")
        );
        let m = MaintenanceChange { auto_recovery: Some("on".into()), ..Default::default() };
        assert!(matches!(modify_maintenance(&mut i, &m), Err(OptionError::Bad(b)) if b.value == "on"));
        i.state = InstanceState::Terminated;
        let ok = MaintenanceChange { auto_recovery: Some("disabled".into()), ..Default::default() };
        assert!(matches!(modify_maintenance(&mut i, &ok), Err(OptionError::Gone { .. })));
        assert_eq!(i.attributes.maintenance, MaintenanceOptions::default());
    }

    #[test]
    fn enclaves_need_a_supporting_type_and_no_hibernation() {
        assert_eq!(check_enclave(false, "unsupported", true), Ok(()));
        assert_eq!(check_enclave(true, "supported", false), Ok(()));
        assert_eq!(check_enclave(true, "unsupported", false), Err(EnclaveError::TypeUnsupported));
        assert_eq!(check_enclave(true, "supported", true), Err(EnclaveError::WithHibernation));
    }

    #[test]
    fn maintenance_changes_in_any_live_state() {
        let mut i = running();
        let m = MaintenanceChange { reboot_migration: Some("disabled".into()), ..Default::default() };
        modify_maintenance(&mut i, &m).unwrap();
        assert_eq!(i.attributes.maintenance.reboot_migration, "disabled");
        assert_eq!(i.attributes.maintenance.auto_recovery, "default");
        assert_eq!(bandwidth_weighting("vpc-1").unwrap(), "vpc-1");
        assert!(bandwidth_weighting("fast").is_err());
    }
}

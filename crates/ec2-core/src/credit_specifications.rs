//! CPU credit options of burstable performance instances (T2, T3, T3a, T4g): the default of each
//! family, the option an instance runs with, which instances DescribeInstanceCreditSpecifications
//! lists, and the checks of RunInstances' `CreditSpecification` and
//! ModifyInstanceCreditSpecification.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::filters::FilterTable;
use crate::instances::{Instance, InstanceState};

/// DescribeInstanceCreditSpecifications' one filter.
pub static FILTERS: FilterTable<Instance> =
    FilterTable { entries: &[("instance-id", |i| vec![i.id.to_string()])], tags: None };

/// The families whose CPU credit option can be chosen.
pub const FAMILIES: [&str; 4] = ["t2", "t3", "t3a", "t4g"];

pub const STANDARD: &str = "standard";
pub const UNLIMITED: &str = "unlimited";

/// The family of an instance type whose credit option can be chosen (`t3.micro` -> `t3`).
pub fn family(instance_type: &str) -> Option<&'static str> {
    let prefix = instance_type.split('.').next()?;
    FAMILIES.into_iter().find(|f| *f == prefix)
}

/// The account's default per family (ModifyDefaultCreditSpecification); a family not in it has
/// EC2's default: `standard` for T2, `unlimited` for the others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Defaults {
    /// One record per account and region: [`DEFAULTS_ID`].
    pub id: String,
    pub families: BTreeMap<String, String>,
}

/// The ID of a scope's one `Defaults` record.
pub const DEFAULTS_ID: &str = "default";

impl Defaults {
    pub fn of(&self, family: &str) -> String {
        self.families.get(family).cloned().unwrap_or_else(|| builtin_default(family).to_string())
    }
}

/// EC2's own default of a family.
pub fn builtin_default(family: &str) -> &'static str {
    if family == "t2" {
        STANDARD
    } else {
        UNLIMITED
    }
}

/// Why a credit option is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditError {
    /// Neither `standard` nor `unlimited`.
    BadValue(String),
    /// The instance type is not of a family whose credit option can be chosen.
    NotSupported { instance_type: String },
    /// A family name ModifyDefaultCreditSpecification does not take.
    BadFamily(String),
    /// The instance is shutting down or terminated.
    Gone { id: String, state: InstanceState },
}

/// Checks a `CpuCredits` value (EC2 takes it in any case).
pub fn parse(value: &str) -> Result<&'static str, CreditError> {
    match value.to_ascii_lowercase().as_str() {
        STANDARD => Ok(STANDARD),
        UNLIMITED => Ok(UNLIMITED),
        _ => Err(CreditError::BadValue(value.to_string())),
    }
}

/// RunInstances' `CreditSpecification` for an instance type: the option to record.
pub fn at_launch(instance_type: &str, value: &str) -> Result<String, CreditError> {
    let v = parse(value)?;
    family(instance_type).ok_or_else(|| CreditError::NotSupported { instance_type: instance_type.to_string() })?;
    Ok(v.to_string())
}

/// The option an instance runs with: the one set on it, else its family's default; `None` for an
/// instance that is not burstable and never had one set.
pub fn effective(inst: &Instance, defaults: &Defaults) -> Option<String> {
    inst.attributes
        .cpu_credits
        .clone()
        .or_else(|| family(&inst.instance_type).map(|f| defaults.of(f)).map(Into::into))
        .map(Into::into)
}

/// What DescribeInstanceCreditSpecifications shows for an instance named by ID.
pub fn named(inst: &Instance, defaults: &Defaults) -> Result<String, CreditError> {
    effective(inst, defaults).ok_or_else(|| CreditError::NotSupported { instance_type: inst.instance_type.to_string() })
}

/// Whether DescribeInstanceCreditSpecifications without IDs lists the instance: those running with
/// `unlimited`, including instances resized away from a burstable family with it.
pub fn listed(inst: &Instance, defaults: &Defaults) -> bool {
    effective(inst, defaults).as_deref() == Some(UNLIMITED)
}

/// ModifyInstanceCreditSpecification for one instance.
pub fn modify(inst: &mut Instance, value: &str) -> Result<(), CreditError> {
    let v = parse(value)?;
    if matches!(inst.state, InstanceState::ShuttingDown | InstanceState::Terminated) {
        return Err(CreditError::Gone { id: inst.id.to_string(), state: inst.state });
    }
    if family(&inst.instance_type).is_none() {
        return Err(CreditError::NotSupported { instance_type: inst.instance_type.to_string() });
    }
    inst.attributes.cpu_credits = Some(v.into());
    Ok(())
}

/// ModifyDefaultCreditSpecification.
pub fn set_default(defaults: &mut Defaults, family_name: &str, value: &str) -> Result<String, CreditError> {
    let v = parse(value)?;
    let f = FAMILIES
        .into_iter()
        .find(|f| *f == family_name)
        .ok_or_else(|| CreditError::BadFamily(family_name.to_string()))?;
    defaults.families.insert(f.to_string(), v.to_string());
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instances::lifecycle::tests::fixture;

    fn of_type(t: &str) -> Instance {
        let mut i = fixture(InstanceState::Running);
        i.instance_type = t.into();
        i
    }

    #[test]
    fn families_and_defaults() {
        assert_eq!(family("t3a.nano"), Some("t3a"));
        assert_eq!(family("t4g.micro"), Some("t4g"));
        assert_eq!(family("t1.micro"), None);
        assert_eq!(family("m5.large"), None);
        let d = Defaults::default();
        assert_eq!(effective(&of_type("t2.micro"), &d).as_deref(), Some("standard"));
        assert_eq!(effective(&of_type("t3.micro"), &d).as_deref(), Some("unlimited"));
        assert_eq!(effective(&of_type("m5.large"), &d), None);
        let mut d = Defaults::default();
        assert_eq!(set_default(&mut d, "t3", "Standard").unwrap(), "standard");
        assert_eq!(effective(&of_type("t3.micro"), &d).as_deref(), Some("standard"));
        assert_eq!(set_default(&mut d, "m5", "standard"), Err(CreditError::BadFamily("m5".into())));
    }

    #[test]
    fn launch_and_modify_take_burstable_types_only() {
        assert_eq!(at_launch("t2.micro", "unlimited").unwrap(), "unlimited");
        assert_eq!(
            at_launch("m5.large", "standard"),
            Err(CreditError::NotSupported { instance_type: "m5.large".into() })
        );
        assert_eq!(at_launch("t3.micro", "burst"), Err(CreditError::BadValue("burst".into())));
        let mut m5 = of_type("m5.large");
        assert!(matches!(modify(&mut m5, "unlimited"), Err(CreditError::NotSupported { .. })));
        assert!(matches!(named(&m5, &Defaults::default()), Err(CreditError::NotSupported { .. })));
        let mut t3 = of_type("t3.micro");
        modify(&mut t3, "standard").unwrap();
        assert_eq!(named(&t3, &Defaults::default()).unwrap(), "standard");
        t3.state = InstanceState::Terminated;
        assert!(matches!(modify(&mut t3, "unlimited"), Err(CreditError::Gone { .. })));
    }

    #[test]
    fn an_unlimited_instance_stays_listed_after_a_resize() {
        let d = Defaults::default();
        let mut t2 = of_type("t2.micro");
        assert!(!listed(&t2, &d));
        modify(&mut t2, "unlimited").unwrap();
        assert!(listed(&t2, &d));
        t2.instance_type = "m5.large".into();
        assert!(listed(&t2, &d));
        assert_eq!(named(&t2, &d).unwrap(), "unlimited");
        assert!(listed(&of_type("t3.micro"), &d));
    }
}

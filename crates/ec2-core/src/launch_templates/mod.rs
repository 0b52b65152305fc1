//! Launch templates: a named, numbered series of versions of launch data, one of them the default.
//!
//! A version's launch data is kept as the model's generic tree (`RequestLaunchTemplateData` members by
//! their model names, as JSON values): the template records what the caller sent, and every member
//! comes back in DescribeLaunchTemplateVersions unchanged. The rules here decide which versions a
//! request names, what a new version inherits from its source, which versions can be deleted, and
//! how a launch's own parameters override the template's.

use std::collections::{BTreeMap, BTreeSet};

use ec2_time::UnixMillis;
use serde::{Deserialize, Serialize};

/// Launch data: `RequestLaunchTemplateData` members by model name (`ImageId`, `InstanceType`,
/// `BlockDeviceMappings`, ...).
pub type LaunchData = BTreeMap<String, serde_json::Value>;

pub const NAME_MIN: usize = 3;
pub const NAME_MAX: usize = 128;
pub const DESCRIPTION_MAX: usize = 255;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplate {
    pub id: String,
    pub name: String,
    pub create_time: UnixMillis,
    /// The ARN of the caller that created it.
    pub created_by: String,
    pub default_version: u64,
    pub latest_version: u64,
    /// The version numbers that exist (deleted ones are gone).
    pub versions: BTreeSet<u64>,
    /// The highest number ever issued: numbers are never reused, so an instance's
    /// `aws:ec2launchtemplate:version` tag never comes to name other data.
    pub last_issued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTemplateVersion {
    /// The store key: `{template id}/{number, 10 digits}`, so that a scan lists versions in order.
    pub id: String,
    pub template_id: String,
    pub template_name: String,
    pub number: u64,
    pub description: Option<String>,
    pub create_time: UnixMillis,
    pub created_by: String,
    pub data: LaunchData,
}

impl LaunchTemplateVersion {
    pub fn key(template_id: &str, number: u64) -> String {
        format!("{template_id}/{number:010}")
    }
}

/// A version as a request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    Latest,
    Default,
    Number(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LtError {
    /// The name breaks the naming rules (3 to 128 characters of letters, digits, `( ) . - / _`).
    NameMalformed(String),
    /// A version string that is neither `$Latest`, `$Default` nor a positive number.
    VersionMalformed(String),
    /// The template has no such version.
    VersionNotFound(u64),
    DescriptionTooLong,
}

/// Checks a launch template name.
pub fn check_name(name: &str) -> Result<(), LtError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '(' | ')' | '.' | '-' | '/' | '_');
    let n = name.chars().count();
    if (NAME_MIN..=NAME_MAX).contains(&n) && name.chars().all(ok_char) {
        Ok(())
    } else {
        Err(LtError::NameMalformed(name.to_string()))
    }
}

pub fn check_description(d: Option<&str>) -> Result<(), LtError> {
    match d {
        Some(d) if d.chars().count() > DESCRIPTION_MAX => Err(LtError::DescriptionTooLong),
        _ => Ok(()),
    }
}

/// Parses `$Latest`, `$Default` or a version number (1 or more).
pub fn parse_version(s: &str) -> Result<VersionRef, LtError> {
    match s {
        "$Latest" => Ok(VersionRef::Latest),
        "$Default" => Ok(VersionRef::Default),
        n => match n.parse::<u64>() {
            Ok(v) if v >= 1 && n.bytes().all(|b| b.is_ascii_digit()) => Ok(VersionRef::Number(v)),
            _ => Err(LtError::VersionMalformed(s.to_string())),
        },
    }
}

impl LaunchTemplate {
    /// A new template whose version 1 is its default and latest.
    pub fn new(id: String, name: String, now: UnixMillis, created_by: String) -> Self {
        LaunchTemplate {
            id,
            name,
            create_time: now,
            created_by,
            default_version: 1,
            latest_version: 1,
            versions: BTreeSet::from([1]),
            last_issued: 1,
        }
    }

    /// The number a reference names, if that version exists.
    pub fn resolve(&self, r: VersionRef) -> Result<u64, LtError> {
        let n = match r {
            VersionRef::Latest => self.latest_version,
            VersionRef::Default => self.default_version,
            VersionRef::Number(n) => n,
        };
        if self.versions.contains(&n) {
            Ok(n)
        } else {
            Err(LtError::VersionNotFound(n))
        }
    }

    /// Adds the next version and returns its number.
    pub fn add_version(&mut self) -> Result<u64, LtError> {
        self.last_issued += 1;
        self.latest_version = self.last_issued;
        self.versions.insert(self.latest_version);
        Ok(self.latest_version)
    }

    /// Makes an existing version the default.
    pub fn set_default(&mut self, r: VersionRef) -> Result<u64, LtError> {
        let n = self.resolve(r)?;
        self.default_version = n;
        Ok(n)
    }

    /// Deletes the named versions one by one: each is deleted or refused on its own (the default
    /// version cannot be deleted; an unknown one is not found). `$Latest` and `$Default` are not
    /// accepted here, as in AWS's DeleteLaunchTemplateVersions.
    pub fn delete_versions(&mut self, requested: &[String]) -> Vec<(String, Result<u64, DeleteRefusal>)> {
        let mut out = Vec::with_capacity(requested.len());
        for s in requested {
            let res = match s.parse::<u64>() {
                Ok(n) if n >= 1 && s.bytes().all(|b| b.is_ascii_digit()) => {
                    if n == self.default_version && self.versions.contains(&n) {
                        Err(DeleteRefusal::IsDefault(n))
                    } else if self.versions.remove(&n) {
                        Ok(n)
                    } else {
                        Err(DeleteRefusal::NotFound(n))
                    }
                }
                _ => Err(DeleteRefusal::Malformed),
            };
            out.push((s.clone(), res));
        }
        // The latest version is the highest that is left (the default always is).
        if let Some(&max) = self.versions.iter().next_back() {
            self.latest_version = max;
        }
        out
    }

    /// The version numbers a DescribeLaunchTemplateVersions request selects, ascending: the named
    /// ones (`$Latest`/`$Default`/numbers; an unknown number is an error), or all of them, then
    /// bounded by `min`/`max`.
    pub fn select(&self, named: &[VersionRef], min: Option<u64>, max: Option<u64>) -> Result<Vec<u64>, LtError> {
        let mut set = BTreeSet::new();
        if named.is_empty() {
            set.extend(self.versions.iter().copied());
        } else {
            for r in named {
                set.insert(self.resolve(*r)?);
            }
        }
        Ok(set.into_iter().filter(|n| min.is_none_or(|m| *n >= m) && max.is_none_or(|m| *n <= m)).collect())
    }
}

/// Why one version could not be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteRefusal {
    IsDefault(u64),
    NotFound(u64),
    Malformed,
}

/// The data of a new version: the source version's data with every member the request gives
/// replacing the source's member of the same name (members are replaced whole, lists included).
pub fn derive(source: Option<&LaunchData>, given: &LaunchData) -> LaunchData {
    let mut out = source.cloned().unwrap_or_default();
    for (k, v) in given {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The string form of a path of members (`["MetadataOptions", "HttpTokens"]`), for filters; lists
/// along the way contribute every element.
pub fn texts(data: &LaunchData, path: &[&str]) -> Vec<String> {
    let Some((first, rest)) = path.split_first() else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(v) = data.get(*first) {
        walk(v, rest, &mut out);
    }
    out
}

fn walk(v: &serde_json::Value, path: &[&str], out: &mut Vec<String>) {
    use serde_json::Value;
    match (v, path.split_first()) {
        (Value::Array(items), _) => items.iter().for_each(|i| walk(i, path, out)),
        (v, None) => out.extend(value_text(v)),
        (Value::Object(m), Some((k, rest))) => {
            if let Some(v) = m.get(*k) {
                walk(v, rest, out)
            }
        }
        _ => {}
    }
}

fn value_text(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The launch data GetLaunchTemplateData reports for an instance: what a template needs to launch
/// one like it (image, type, key, placement, network, security groups, options, and its tags as an
/// `instance` tag specification, without the `aws:` ones).
pub fn data_of_instance(inst: &crate::instances::Instance) -> LaunchData {
    use serde_json::{json, Value};
    let mut d = LaunchData::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.to_string(), v);
    };
    put("ImageId", json!(inst.image_id));
    put("InstanceType", json!(inst.instance_type));
    if let Some(k) = &inst.key_name {
        put("KeyName", json!(k));
    }
    put("Placement", json!({"AvailabilityZone": inst.availability_zone, "GroupName": "", "Tenancy": inst.tenancy}));
    put("Monitoring", json!({"Enabled": inst.monitoring}));
    put("EbsOptimized", json!(inst.ebs_optimized));
    put("DisableApiTermination", json!(inst.disable_api_termination));
    put("DisableApiStop", json!(inst.disable_api_stop));
    put(
        "InstanceInitiatedShutdownBehavior",
        json!(match inst.shutdown_behavior {
            crate::instances::model::ShutdownBehavior::Stop => "stop",
            crate::instances::model::ShutdownBehavior::Terminate => "terminate",
        }),
    );
    put("CpuOptions", json!({"CoreCount": inst.cpu_cores, "ThreadsPerCore": inst.threads_per_core}));
    put("HibernationOptions", json!({"Configured": inst.hibernation_configured}));
    put(
        "CapacityReservationSpecification",
        json!({"CapacityReservationPreference": inst.capacity_preference.as_deref().unwrap_or("open")}),
    );
    let a = &inst.attributes;
    put("EnclaveOptions", json!({"Enabled": a.enclave_enabled}));
    put(
        "PrivateDnsNameOptions",
        json!({"HostnameType": a.private_dns.hostname_type,
            "EnableResourceNameDnsARecord": a.private_dns.a_record,
            "EnableResourceNameDnsAAAARecord": a.private_dns.aaaa_record}),
    );
    put("MaintenanceOptions", json!({"AutoRecovery": a.maintenance.auto_recovery}));
    if let Some(c) = &a.cpu_credits {
        put("CreditSpecification", json!({"CpuCredits": c}));
    }
    if let Some(k) = &a.kernel_id {
        put("KernelId", json!(k));
    }
    if let Some(r) = &a.ramdisk_id {
        put("RamDiskId", json!(r));
    }
    if let Some(w) = &a.bandwidth_weighting {
        put("NetworkPerformanceOptions", json!({"BandwidthWeighting": w}));
    }
    let groups: Vec<&str> = inst.security_groups.iter().map(|g| g.id.as_str()).collect();
    put(
        "NetworkInterfaces",
        json!([{
            "DeviceIndex": 0,
            "NetworkInterfaceId": inst.network_interface_id,
            "SubnetId": inst.subnet_id,
            "PrivateIpAddress": inst.private_ip,
            "Groups": groups,
            "DeleteOnTermination": true,
            "AssociatePublicIpAddress": inst.public_ip.is_some(),
        }]),
    );
    let blocks: Vec<Value> = inst
        .volumes
        .iter()
        .map(|v| {
            json!({"DeviceName": v.device_name,
                "Ebs": {"VolumeSize": v.size_gb, "DeleteOnTermination": v.delete_on_termination}})
        })
        .collect();
    if !blocks.is_empty() {
        put("BlockDeviceMappings", Value::Array(blocks));
    }
    let tags: Vec<Value> =
        inst.tags.iter().filter(|(k, _)| !k.starts_with("aws:")).map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    if !tags.is_empty() {
        put("TagSpecifications", json!([{"ResourceType": "instance", "Tags": tags}]));
    }
    d
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn lt() -> LaunchTemplate {
        LaunchTemplate::new("lt-0123456789abcdef0".into(), "web".into(), UnixMillis(0), "arn".into())
    }

    fn data(v: serde_json::Value) -> LaunchData {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn the_launch_data_of_an_instance_keeps_its_options() {
        let mut inst = crate::instances::lifecycle::tests::fixture(crate::instances::InstanceState::Running);
        let plain = data_of_instance(&inst);
        assert!(!plain.contains_key("CreditSpecification") && !plain.contains_key("KernelId"));
        inst.attributes.enclave_enabled = true;
        inst.attributes.private_dns.hostname_type = "resource-name".into();
        inst.attributes.maintenance.auto_recovery = "disabled".into();
        inst.attributes.cpu_credits = Some("standard".into());
        inst.attributes.kernel_id = Some("aki-1".into());
        let d = data_of_instance(&inst);
        assert_eq!(d["EnclaveOptions"], json!({"Enabled": true}));
        assert_eq!(d["PrivateDnsNameOptions"]["HostnameType"], json!("resource-name"));
        assert_eq!(d["MaintenanceOptions"], json!({"AutoRecovery": "disabled"}));
        assert_eq!(d["CreditSpecification"], json!({"CpuCredits": "standard"}));
        assert_eq!(d["KernelId"], json!("aki-1"));
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(check_name("my-template_1.(x)/y").is_ok());
        assert!(check_name("ab").is_err());
        assert!(check_name(&"a".repeat(129)).is_err());
        assert!(check_name(&"a".repeat(128)).is_ok());
        assert!(check_name("has space").is_err());
        assert!(check_name("näme").is_err());
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("$Latest"), Ok(VersionRef::Latest));
        assert_eq!(parse_version("$Default"), Ok(VersionRef::Default));
        assert_eq!(parse_version("12"), Ok(VersionRef::Number(12)));
        for bad in ["0", "-1", "+1", "x", "$latest", ""] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn latest_and_default_resolve_and_follow_changes() {
        let mut t = lt();
        assert_eq!(t.resolve(VersionRef::Latest), Ok(1));
        assert_eq!(t.add_version(), Ok(2));
        assert_eq!(t.add_version(), Ok(3));
        assert_eq!(t.resolve(VersionRef::Latest), Ok(3));
        assert_eq!(t.resolve(VersionRef::Default), Ok(1));
        assert_eq!(t.set_default(VersionRef::Number(2)), Ok(2));
        assert_eq!(t.resolve(VersionRef::Default), Ok(2));
        assert_eq!(t.set_default(VersionRef::Number(9)), Err(LtError::VersionNotFound(9)));
        assert_eq!(t.default_version, 2);
    }

    #[test]
    fn the_default_version_cannot_be_deleted_and_each_version_answers_alone() {
        let mut t = lt();
        t.add_version().unwrap();
        t.add_version().unwrap();
        let r = t.delete_versions(&["1".into(), "3".into(), "7".into(), "x".into()]);
        assert_eq!(r[0].1, Err(DeleteRefusal::IsDefault(1)));
        assert_eq!(r[1].1, Ok(3));
        assert_eq!(r[2].1, Err(DeleteRefusal::NotFound(7)));
        assert_eq!(r[3].1, Err(DeleteRefusal::Malformed));
        assert_eq!(t.versions, BTreeSet::from([1, 2]));
        assert_eq!(t.latest_version, 2);
        // Numbers are not reused after a deletion.
        assert_eq!(t.add_version(), Ok(4));
        assert_eq!(t.latest_version, 4);
    }

    #[test]
    fn selection_by_reference_and_bounds() {
        let mut t = lt();
        for _ in 0..4 {
            t.add_version().unwrap();
        }
        assert_eq!(t.select(&[], None, None), Ok(vec![1, 2, 3, 4, 5]));
        assert_eq!(t.select(&[], Some(2), Some(4)), Ok(vec![2, 3, 4]));
        assert_eq!(
            t.select(&[VersionRef::Latest, VersionRef::Default, VersionRef::Number(1)], None, None),
            Ok(vec![1, 5])
        );
        assert_eq!(t.select(&[VersionRef::Number(6)], None, None), Err(LtError::VersionNotFound(6)));
    }

    #[test]
    fn a_new_version_inherits_its_source_and_replaces_whole_members() {
        let src = data(json!({"ImageId": "ami-1", "InstanceType": "t3.micro", "SecurityGroupIds": ["sg-1", "sg-2"]}));
        let given = data(json!({"InstanceType": "m5.large", "SecurityGroupIds": ["sg-3"]}));
        let d = derive(Some(&src), &given);
        assert_eq!(d, data(json!({"ImageId": "ami-1", "InstanceType": "m5.large", "SecurityGroupIds": ["sg-3"]})));
        assert_eq!(derive(None, &given), given);
    }

    #[test]
    fn filter_paths_reach_nested_members_and_lists() {
        let d = data(json!({"MetadataOptions": {"HttpTokens": "required"}, "EbsOptimized": true,
            "LicenseSpecifications": [{"LicenseConfigurationArn": "a"}, {"LicenseConfigurationArn": "b"}]}));
        assert_eq!(texts(&d, &["MetadataOptions", "HttpTokens"]), ["required"]);
        assert_eq!(texts(&d, &["EbsOptimized"]), ["true"]);
        assert_eq!(texts(&d, &["LicenseSpecifications", "LicenseConfigurationArn"]), ["a", "b"]);
        assert!(texts(&d, &["Nope"]).is_empty());
    }
}

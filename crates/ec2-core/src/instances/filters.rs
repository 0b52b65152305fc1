//! DescribeInstances and DescribeInstanceStatus filters. Every filter name the model documents is
//! accepted; attributes ec2d's instances never have (carrier IPs, IPv6, Outposts, ...) have no
//! values, so a filter on them matches nothing, as it would on AWS for instances without them.

use ec2_time::UnixMillis;

use super::lifecycle::status_checks_passed;
use super::model::{Instance, InstanceState};
use crate::filters::{Accessor, Filter, FilterTable};

fn one(s: impl Into<String>) -> Vec<String> {
    vec![s.into()]
}

fn opt(s: Option<&str>) -> Vec<String> {
    s.map(|s| vec![s.to_string()]).unwrap_or_default()
}

fn flag(b: bool) -> Vec<String> {
    one(if b { "true" } else { "false" })
}

fn none(_: &Instance) -> Vec<String> {
    Vec::new()
}

pub fn private_dns_name(i: &Instance) -> String {
    crate::network::private_dns_name(region_of(&i.availability_zone), &i.private_ip)
}

pub fn public_dns_name(i: &Instance) -> Option<String> {
    i.visible_public_ip().map(|ip| crate::network::public_dns_name(region_of(&i.availability_zone), ip))
}

/// The region of a zone name (`us-east-1a` -> `us-east-1`).
pub fn region_of(zone: &str) -> &str {
    zone.trim_end_matches(|c: char| c.is_ascii_lowercase())
}

const INSTANCE_ENTRIES: &[(&str, Accessor<Instance>)] = &[
    ("affinity", none),
    ("architecture", |i| one(&*i.architecture)),
    ("availability-zone", |i| one(&*i.availability_zone)),
    ("availability-zone-id", |i| one(&*i.availability_zone_id)),
    ("block-device-mapping.attach-time", |i| i.volumes.iter().map(|v| v.attach_time.to_iso8601()).collect()),
    ("block-device-mapping.delete-on-termination", |i| {
        i.volumes.iter().flat_map(|v| flag(v.delete_on_termination)).collect()
    }),
    ("block-device-mapping.device-name", |i| i.volumes.iter().map(|v| v.device_name.to_string()).collect()),
    ("block-device-mapping.status", |i| i.volumes.iter().map(|_| "attached".to_string()).collect()),
    ("block-device-mapping.volume-id", |i| i.volumes.iter().map(|v| v.volume_id.to_string()).collect()),
    ("boot-mode", |i| opt(i.boot_mode.as_deref())),
    ("capacity-reservation-id", |i| opt(i.capacity_reservation_id.as_deref())),
    ("capacity-reservation-specification.capacity-reservation-preference", |i| {
        one(i.capacity_preference.as_deref().unwrap_or("open"))
    }),
    ("capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id", |i| {
        opt(i.capacity_target.as_deref())
    }),
    ("capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn", none),
    ("client-token", |i| opt(i.client_token.as_deref())),
    ("current-instance-boot-mode", |i| opt(i.boot_mode.as_deref().map(current_boot_mode))),
    ("dns-name", |i| public_dns_name(i).into_iter().collect()),
    ("ebs-optimized", |i| flag(i.ebs_optimized)),
    ("ena-support", |i| flag(i.ena_support)),
    ("enclave-options.enabled", |_| one("false")),
    ("hibernation-options.configured", |i| flag(i.hibernation_configured)),
    ("host-id", none),
    ("hypervisor", |i| one(&*i.hypervisor)),
    ("iam-instance-profile.arn", none),
    ("iam-instance-profile.id", none),
    ("image-id", |i| one(&*i.image_id)),
    ("instance-id", |i| one(&*i.id)),
    ("instance-lifecycle", |i| opt(i.spot_request_id.as_ref().map(|_| "spot").or(i.reservation_lifecycle.as_deref()))),
    ("instance-state-code", |i| one(i.state.code().to_string())),
    ("instance-state-name", |i| one(i.state.name())),
    ("instance-type", |i| one(&*i.instance_type)),
    ("instance.group-id", |i| i.security_groups.iter().map(|g| g.id.to_string()).collect()),
    ("instance.group-name", |i| i.security_groups.iter().map(|g| g.name.to_string()).collect()),
    ("ip-address", |i| opt(i.visible_public_ip())),
    ("ipv6-address", none),
    ("kernel-id", none),
    ("key-name", |i| opt(i.key_name.as_deref())),
    ("launch-index", |i| one(i.ami_launch_index.to_string())),
    ("launch-time", |i| one(i.launch_time.to_iso8601())),
    ("maintenance-options.auto-recovery", |_| one("default")),
    ("metadata-options.http-endpoint", |_| one("enabled")),
    ("metadata-options.http-protocol-ipv4", |_| one("enabled")),
    ("metadata-options.http-protocol-ipv6", |_| one("disabled")),
    ("metadata-options.http-put-response-hop-limit", |_| one("2")),
    ("metadata-options.http-tokens", |_| one("required")),
    ("metadata-options.instance-metadata-tags", |_| one("disabled")),
    ("metadata-options.state", |i| one(if i.state == InstanceState::Pending { "pending" } else { "applied" })),
    ("monitoring-state", |i| one(if i.monitoring { "enabled" } else { "disabled" })),
    ("network-interface.addresses.association.allocation-id", none),
    ("network-interface.addresses.association.association-id", none),
    ("network-interface.addresses.association.carrier-ip", none),
    ("network-interface.addresses.association.customer-owned-ip", none),
    ("network-interface.addresses.association.ip-owner-id", |i| opt(i.visible_public_ip().map(|_| "amazon"))),
    ("network-interface.addresses.association.public-dns-name", |i| public_dns_name(i).into_iter().collect()),
    ("network-interface.addresses.association.public-ip", |i| opt(i.visible_public_ip())),
    ("network-interface.addresses.primary", |_| one("true")),
    ("network-interface.addresses.private-dns-name", |i| one(private_dns_name(i))),
    ("network-interface.addresses.private-ip-address", |i| one(&*i.private_ip)),
    ("network-interface.association.allocation-id", none),
    ("network-interface.association.association-id", none),
    ("network-interface.association.carrier-ip", none),
    ("network-interface.association.customer-owned-ip", none),
    ("network-interface.association.ip-owner-id", |i| opt(i.visible_public_ip().map(|_| "amazon"))),
    ("network-interface.association.public-dns-name", |i| public_dns_name(i).into_iter().collect()),
    ("network-interface.association.public-ip", |i| opt(i.visible_public_ip())),
    ("network-interface.attachment.attach-time", |i| one(i.launch_time.to_iso8601())),
    ("network-interface.attachment.attachment-id", |i| one(&*i.attachment_id)),
    ("network-interface.attachment.delete-on-termination", |_| one("true")),
    ("network-interface.attachment.device-index", |_| one("0")),
    ("network-interface.attachment.instance-id", |i| one(&*i.id)),
    ("network-interface.attachment.instance-owner-id", |i| one(&*i.owner_id)),
    ("network-interface.attachment.network-card-index", |_| one("0")),
    ("network-interface.attachment.status", |_| one("attached")),
    ("network-interface.availability-zone", |i| one(&*i.availability_zone)),
    ("network-interface.deny-all-igw-traffic", |_| one("false")),
    ("network-interface.description", |_| one("")),
    ("network-interface.group-id", |i| i.security_groups.iter().map(|g| g.id.to_string()).collect()),
    ("network-interface.group-name", |i| i.security_groups.iter().map(|g| g.name.to_string()).collect()),
    ("network-interface.ipv4-prefixes.ipv4-prefix", none),
    ("network-interface.ipv6-address", none),
    ("network-interface.ipv6-addresses.ipv6-address", none),
    ("network-interface.ipv6-addresses.is-primary-ipv6", none),
    ("network-interface.ipv6-native", |_| one("false")),
    ("network-interface.ipv6-prefixes.ipv6-prefix", none),
    ("network-interface.mac-address", |i| one(&*i.mac_address)),
    ("network-interface.network-interface-id", |i| one(&*i.network_interface_id)),
    ("network-interface.operator.managed", |_| one("false")),
    ("network-interface.operator.principal", none),
    ("network-interface.outpost-arn", none),
    ("network-interface.owner-id", |i| one(&*i.owner_id)),
    ("network-interface.private-dns-name", |i| one(private_dns_name(i))),
    ("network-interface.private-ip-address", |i| one(&*i.private_ip)),
    ("network-interface.public-dns-name", |i| public_dns_name(i).into_iter().collect()),
    ("network-interface.requester-id", none),
    ("network-interface.requester-managed", |_| one("false")),
    ("network-interface.source-dest-check", |_| one("true")),
    ("network-interface.status", |_| one("in-use")),
    ("network-interface.subnet-id", |i| one(&*i.subnet_id)),
    ("network-interface.tag-key", none),
    ("network-interface.tag-value", none),
    ("network-interface.vpc-id", |i| one(&*i.vpc_id)),
    ("network-performance-options.bandwidth-weighting", |_| one("default")),
    ("operator.managed", |i| one(i.attributes.operator.is_some().to_string())),
    ("operator.principal", |i| i.attributes.operator.iter().map(|o| o.to_string()).collect()),
    ("outpost-arn", none),
    ("owner-id", |i| one(&*i.owner_id)),
    ("placement-group-name", none),
    ("placement-partition-number", none),
    ("platform", |i| opt(i.platform.as_deref())),
    ("platform-details", |i| one(&*i.platform_details)),
    ("private-dns-name", |i| one(private_dns_name(i))),
    ("private-dns-name-options.enable-resource-name-dns-a-record", |_| one("false")),
    ("private-dns-name-options.enable-resource-name-dns-aaaa-record", |_| one("false")),
    ("private-dns-name-options.hostname-type", |_| one("ip-name")),
    ("private-ip-address", |i| one(&*i.private_ip)),
    ("product-code", none),
    ("product-code.type", none),
    ("ramdisk-id", none),
    ("reason", |i| one(&*i.state_transition_reason)),
    ("requester-id", none),
    ("reservation-id", |i| one(&*i.reservation_id)),
    ("root-device-name", |i| one(&*i.root_device_name)),
    ("root-device-type", |i| one(i.root_device_type.name())),
    ("source-dest-check", |_| one("true")),
    ("spot-instance-request-id", |i| opt(i.spot_request_id.as_deref())),
    ("state-reason-code", |i| opt(i.state_reason.as_ref().map(|r| r.code.as_str()))),
    ("state-reason-message", |i| opt(i.state_reason.as_ref().map(|r| r.message.as_str()))),
    ("subnet-id", |i| one(&*i.subnet_id)),
    ("tenancy", |i| one(&*i.tenancy)),
    ("tpm-support", none),
    ("usage-operation", |i| one(&*i.usage_operation)),
    ("usage-operation-update-time", |i| one(i.launch_time.to_iso8601())),
    ("virtualization-type", |i| one(&*i.virtualization_type)),
    ("vpc-id", |i| one(&*i.vpc_id)),
];

pub static INSTANCE_FILTERS: FilterTable<Instance> = FilterTable { entries: INSTANCE_ENTRIES, tags: Some(|i| &i.tags) };

/// `uefi-preferred` boots as `uefi` on the Nitro types ec2d models; the others boot as named.
pub fn current_boot_mode(mode: &str) -> &str {
    match mode {
        "uefi-preferred" => "uefi",
        other => other,
    }
}

/// An instance seen at a moment, for DescribeInstanceStatus.
pub struct StatusView {
    pub instance: Instance,
    pub now: UnixMillis,
    /// The guest is shut down while the instance stays `running` (for a bundle task).
    pub unreachable: bool,
}

impl StatusView {
    /// `ok`, `initializing` or `not-applicable`.
    pub fn summary(&self) -> &'static str {
        match self.instance.state {
            InstanceState::Running if self.unreachable => "impaired",
            InstanceState::Running if status_checks_passed(&self.instance, self.now) => "ok",
            InstanceState::Running => "initializing",
            _ => "not-applicable",
        }
    }

    /// The reachability detail: `passed`, `initializing`, `failed`, or none outside `running`.
    pub fn reachability(&self) -> Option<&'static str> {
        match self.summary() {
            "ok" => Some("passed"),
            "impaired" => Some("failed"),
            "initializing" => Some("initializing"),
            _ => None,
        }
    }
}

pub static STATUS_FILTERS: FilterTable<StatusView> = FilterTable {
    entries: &[
        ("availability-zone", |v| one(&*v.instance.availability_zone)),
        ("availability-zone-id", |v| one(&*v.instance.availability_zone_id)),
        ("event.code", |_| vec![]),
        ("event.description", |_| vec![]),
        ("event.instance-event-id", |_| vec![]),
        ("event.not-after", |_| vec![]),
        ("event.not-before", |_| vec![]),
        ("event.not-before-deadline", |_| vec![]),
        ("instance-state-code", |v| one(v.instance.state.code().to_string())),
        ("instance-state-name", |v| one(v.instance.state.name())),
        ("instance-status.reachability", |v| opt(v.reachability())),
        ("instance-status.status", |v| one(v.summary())),
        ("operator.managed", |v| one(v.instance.attributes.operator.is_some().to_string())),
        ("operator.principal", |v| v.instance.attributes.operator.iter().map(|o| o.to_string()).collect()),
        ("system-status.reachability", |v| opt(v.reachability())),
        ("system-status.status", |v| one(v.summary())),
        ("attached-ebs-status.status", |v| one(v.summary())),
    ],
    tags: None,
};

/// `instance-state-code` compares on the low byte: a client's `272` means 16.
pub fn normalize_state_codes(filters: &mut [Filter]) {
    for f in filters.iter_mut().filter(|f| f.name == "instance-state-code") {
        for v in f.values.iter_mut() {
            if let Ok(code) = v.parse::<i64>() {
                *v = (code & 0xff).to_string();
            }
        }
    }
}

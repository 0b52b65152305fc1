//! The one table of resource kinds. For each ID family: its ARN resource type, whether and how it can
//! be tagged (its DescribeTags resource type, where its tags live), and the codes and messages of its
//! Malformed and NotFound errors. Every fact is an arm of an exhaustive `match` over [`IdKind`], so a
//! new kind does not compile until it has them all.

use ec2_core::ids::IdKind;
use ec2_core::Scope;
use ec2_protocol::Code;

/// Where the tags of a taggable kind are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagHome {
    /// On the resource's own record (the record's `tags` field), read with the record itself.
    Record,
    /// In the central `resource_tags` record of the resource ID (see service/tags.rs).
    Central,
}

/// How a kind can be tagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taggable {
    /// The `resourceType` DescribeTags reports, and the `ResourceType` of a tag specification.
    pub resource_type: &'static str,
    pub home: TagHome,
}

/// The facts of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The resource type of the kind's ARNs (`arn:aws:ec2:{region}:{account}:{type}/{id}`).
    pub arn_type: &'static str,
    /// Images and snapshots are named without an account in their ARNs.
    pub arn_has_account: bool,
    /// `None` for a kind that CreateTags refuses (`InvalidID`).
    pub taggable: Option<Taggable>,
    pub malformed: Code,
    pub not_found: Code,
    /// `(one, many)` NotFound message templates; `{}` is replaced by the ID or the IDs.
    pub not_found_message: (&'static str, &'static str),
}

const fn tag(resource_type: &'static str, home: TagHome) -> Option<Taggable> {
    Some(Taggable { resource_type, home })
}

pub fn info(kind: IdKind) -> KindInfo {
    use TagHome::{Central, Record};
    let k = |arn_type, taggable, malformed, not_found, one, many| KindInfo {
        arn_type,
        arn_has_account: true,
        taggable,
        malformed,
        not_found,
        not_found_message: (one, many),
    };
    match kind {
        IdKind::Instance => k(
            "instance",
            tag("instance", Record),
            Code::InvalidInstanceIdMalformed,
            Code::InvalidInstanceIdNotFound,
            "The instance ID '{}' does not exist",
            "The instance IDs '{}' do not exist",
        ),
        IdKind::Image => KindInfo {
            arn_has_account: false,
            ..k(
                "image",
                tag("image", Central),
                Code::InvalidAmiIdMalformed,
                Code::InvalidAmiIdNotFound,
                "The image id '[{}]' does not exist",
                "The image ids '[{}]' do not exist",
            )
        },
        IdKind::Vpc => k(
            "vpc",
            tag("vpc", Central),
            Code::InvalidVpcIdMalformed,
            Code::InvalidVpcIdNotFound,
            "The vpc ID '{}' does not exist",
            "The vpc IDs '{}' do not exist",
        ),
        IdKind::Subnet => k(
            "subnet",
            tag("subnet", Central),
            Code::InvalidSubnetIdMalformed,
            Code::InvalidSubnetIdNotFound,
            "The subnet ID '{}' does not exist",
            "The subnet IDs '{}' do not exist",
        ),
        IdKind::SecurityGroup => k(
            "security-group",
            tag("security-group", Central),
            Code::InvalidGroupIdMalformed,
            Code::InvalidGroupNotFound,
            "The security group '{}' does not exist",
            "The security groups '{}' do not exist",
        ),
        IdKind::SpotInstanceRequest => k(
            "spot-instances-request",
            tag("spot-instances-request", Record),
            Code::InvalidSpotInstanceRequestIdMalformed,
            Code::InvalidSpotInstanceRequestIdNotFound,
            "The spot instance request ID '{}' does not exist",
            "The spot instance request IDs '{}' do not exist",
        ),
        IdKind::CapacityReservation => k(
            "capacity-reservation",
            tag("capacity-reservation", Record),
            Code::InvalidCapacityReservationIdMalformed,
            Code::InvalidCapacityReservationIdNotFound,
            "The capacity reservation ID '{}' does not exist",
            "The capacity reservation IDs '{}' do not exist",
        ),
        IdKind::BundleTask => k(
            "bundle-task",
            None,
            Code::InvalidBundleIdMalformed,
            Code::InvalidBundleIdNotFound,
            "The bundle ID '{}' does not exist",
            "The bundle IDs '{}' do not exist",
        ),
        IdKind::Fleet => k(
            "fleet",
            tag("fleet", Central),
            Code::InvalidFleetIdMalformed,
            Code::InvalidFleetIdNotFound,
            "The fleet ID '{}' does not exist",
            "The fleet IDs '{}' do not exist",
        ),
        IdKind::SpotFleetRequest => k(
            "spot-fleet-request",
            tag("spot-fleet-request", Central),
            Code::InvalidSpotFleetRequestIdMalformed,
            Code::InvalidSpotFleetRequestIdNotFound,
            "The spot fleet request ID '{}' does not exist",
            "The spot fleet request IDs '{}' do not exist",
        ),
        IdKind::LaunchTemplate => k(
            "launch-template",
            tag("launch-template", Central),
            Code::InvalidLaunchTemplateIdMalformed,
            Code::InvalidLaunchTemplateIdNotFound,
            "The specified launch template, with template ID {}, does not exist.",
            "The specified launch templates, with template IDs {}, do not exist.",
        ),
        IdKind::KeyPair => k(
            "key-pair",
            tag("key-pair", Record),
            Code::InvalidKeyPairIdMalformed,
            Code::InvalidKeyPairNotFound,
            "The key pair ID '{}' does not exist",
            "The key pair IDs '{}' do not exist",
        ),
        IdKind::IamInstanceProfileAssociation => KindInfo {
            arn_type: "iam-instance-profile-association",
            arn_has_account: true,
            taggable: None,
            malformed: Code::InvalidAssociationIdMalformed,
            not_found: Code::InvalidAssociationIdNotFound,
            not_found_message: ("The association ID '{}' does not exist", "The association IDs '{}' do not exist"),
        },
        // Kinds ec2d issues IDs for but keeps no records of yet: CreateTags refuses them.
        IdKind::Reservation => invalid_id("reservation"),
        IdKind::Volume => k(
            "volume",
            tag("volume", Central),
            Code::InvalidVolumeIdMalformed,
            Code::InvalidVolumeNotFound,
            "The volume '{}' does not exist.",
            "The volumes '{}' do not exist.",
        ),
        IdKind::Snapshot => KindInfo {
            arn_has_account: false,
            ..k(
                "snapshot",
                tag("snapshot", Central),
                Code::InvalidSnapshotIdMalformed,
                Code::InvalidSnapshotNotFound,
                "The snapshot '{}' does not exist.",
                "The snapshots '{}' do not exist.",
            )
        },
        IdKind::NetworkInterface => k(
            "network-interface",
            tag("network-interface", Central),
            Code::InvalidNetworkInterfaceIdMalformed,
            Code::InvalidNetworkInterfaceIdNotFound,
            "The networkInterface ID '{}' does not exist",
            "The networkInterface IDs '{}' do not exist",
        ),
        IdKind::InternetGateway => k(
            "internet-gateway",
            tag("internet-gateway", Central),
            Code::InvalidInternetGatewayIdMalformed,
            Code::InvalidInternetGatewayIdNotFound,
            "The internetGateway ID '{}' does not exist",
            "The internetGateway IDs '{}' do not exist",
        ),
        IdKind::RouteTable => k(
            "route-table",
            tag("route-table", Central),
            Code::InvalidRouteTableIdMalformed,
            Code::InvalidRouteTableIdNotFound,
            "The routeTable ID '{}' does not exist",
            "The routeTable IDs '{}' do not exist",
        ),
        IdKind::RouteTableAssociation => k(
            "route-table-association",
            None,
            Code::InvalidAssociationIdMalformed,
            Code::InvalidAssociationIdNotFound,
            "The association ID '{}' does not exist",
            "The association IDs '{}' do not exist",
        ),
        IdKind::ElasticIp => k(
            "elastic-ip",
            tag("elastic-ip", Central),
            Code::InvalidAllocationIdMalformed,
            Code::InvalidAllocationIdNotFound,
            "The allocation ID '{}' does not exist",
            "The allocation IDs '{}' do not exist",
        ),
        IdKind::ElasticIpAssociation => k(
            "elastic-ip-association",
            None,
            Code::InvalidAssociationIdMalformed,
            Code::InvalidAssociationIdNotFound,
            "The association ID '{}' does not exist",
            "The association IDs '{}' do not exist",
        ),
        IdKind::SecurityGroupRule => k(
            "security-group-rule",
            tag("security-group-rule", Central),
            Code::InvalidSecurityGroupRuleIdMalformed,
            Code::InvalidSecurityGroupRuleIdNotFound,
            "The security group rule ID '{}' does not exist",
            "The security group rule IDs '{}' do not exist",
        ),
        IdKind::VpcCidrAssociation => k(
            "vpc-cidr-block-association",
            None,
            Code::InvalidVpcCidrBlockAssociationIdMalformed,
            Code::InvalidVpcCidrBlockAssociationIdNotFound,
            "The vpc CIDR block association ID '{}' does not exist",
            "The vpc CIDR block association IDs '{}' do not exist",
        ),
        IdKind::NetworkInterfaceAttachment => k(
            "network-interface-attachment",
            None,
            Code::InvalidAttachmentIdMalformed,
            Code::InvalidAttachmentIdNotFound,
            "Interface attachment '{}' does not exist.",
            "Interface attachments '{}' do not exist.",
        ),
        IdKind::DhcpOptions => k(
            "dhcp-options",
            None,
            Code::InvalidDhcpOptionIdMalformed,
            Code::InvalidDhcpOptionIdNotFound,
            "The dhcpOption ID '{}' does not exist",
            "The dhcpOption IDs '{}' do not exist",
        ),
    }
}

fn invalid_id(arn_type: &'static str) -> KindInfo {
    KindInfo {
        arn_type,
        arn_has_account: true,
        taggable: None,
        malformed: Code::InvalidId,
        not_found: Code::InvalidId,
        not_found_message: ("The ID '{}' is not valid", "The IDs '{}' are not valid"),
    }
}

/// The kind an ID names by its prefix (the longest matching one), whether or not the rest is well
/// formed.
pub fn of_id(id: &str) -> Option<IdKind> {
    IdKind::ALL
        .iter()
        .copied()
        .filter(|k| id.strip_prefix(k.prefix()).is_some_and(|rest| rest.starts_with('-')))
        .max_by_key(|k| k.prefix().len())
}

/// The ARN of the resource `id` of `kind` in `scope`.
pub fn arn(scope: &Scope, kind: IdKind, id: &str) -> String {
    let i = info(kind);
    let account = if i.arn_has_account { scope.account.as_str() } else { "" };
    format!("arn:aws:ec2:{}:{account}:{}/{id}", scope.region, i.arn_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_classified_by_their_longest_prefix() {
        assert_eq!(of_id("i-0123456789abcdef0"), Some(IdKind::Instance));
        assert_eq!(of_id("i-bad"), Some(IdKind::Instance));
        assert_eq!(of_id("sir-12345678"), Some(IdKind::SpotInstanceRequest));
        assert_eq!(of_id("cr-0123456789abcdef0"), Some(IdKind::CapacityReservation));
        assert_eq!(of_id("subnet-1"), Some(IdKind::Subnet));
        assert_eq!(of_id("nope-1"), None);
        assert_eq!(of_id("i"), None);
    }

    #[test]
    fn every_kind_has_distinct_codes_and_a_prefix_that_classifies_it() {
        for kind in IdKind::ALL {
            let i = info(kind);
            assert_eq!(of_id(&format!("{}-x", kind.prefix())), Some(kind));
            if i.malformed != Code::InvalidId {
                assert!(i.malformed.as_str().ends_with(".Malformed"), "{kind:?}");
                assert!(i.not_found.as_str().ends_with(".NotFound"), "{kind:?}");
            }
            assert!(i.not_found_message.0.contains("{}") && i.not_found_message.1.contains("{}"));
        }
    }

    #[test]
    fn arns_name_the_account_except_for_images() {
        let scope = Scope::new("111122223333", "eu-west-1");
        assert_eq!(arn(&scope, IdKind::Instance, "i-1"), "arn:aws:ec2:eu-west-1:111122223333:instance/i-1");
        assert_eq!(arn(&scope, IdKind::Image, "ami-1"), "arn:aws:ec2:eu-west-1::image/ami-1");
    }
}

//! Every error code ec2d sends, with its HTTP status: one table, no fallback. A code that is not in
//! the table cannot be sent, so a new code is added here (with its status) before it is used.
//!
//! EC2's model has no error shapes; the statuses follow ../shared/spec/aws-semantics.md section 1.6:
//! 4xx for the caller's mistakes, 5xx for conditions on the service's side (which SDKs retry).

macro_rules! error_codes {
    ($($variant:ident = $wire:literal => $status:literal,)*) => {
        /// An EC2 error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as EC2 writes it on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $wire,)*
                }
            }

            /// AWS's HTTP status for the code.
            pub fn status(self) -> u16 {
                match self {
                    $(Code::$variant => $status,)*
                }
            }

            /// The code whose wire form is `wire`.
            pub fn from_wire(wire: &str) -> Option<Code> {
                match wire {
                    $($wire => Some(Code::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

error_codes! {
    // The caller: authentication and authorization.
    AuthFailure = "AuthFailure" => 401,
    IncompleteSignature = "IncompleteSignature" => 400,
    InvalidClientTokenId = "InvalidClientTokenId" => 403,
    OptInRequired = "OptInRequired" => 403,
    RequestExpired = "RequestExpired" => 400,
    SignatureDoesNotMatch = "SignatureDoesNotMatch" => 403,
    UnauthorizedOperation = "UnauthorizedOperation" => 403,
    DryRunOperation = "DryRunOperation" => 412,

    // The request itself.
    InvalidAction = "InvalidAction" => 400,
    InvalidParameter = "InvalidParameter" => 400,
    InvalidParameterCombination = "InvalidParameterCombination" => 400,
    InvalidParameterValue = "InvalidParameterValue" => 400,
    MissingAction = "MissingAction" => 400,
    MissingParameter = "MissingParameter" => 400,
    NotImplemented = "NotImplemented" => 400,
    RequestEntityTooLarge = "RequestEntityTooLarge" => 413,
    RequestTimeout = "RequestTimeout" => 408,
    InvalidHttpRequest = "InvalidHttpRequest" => 400,
    NoSuchVersion = "NoSuchVersion" => 400,
    UnknownParameter = "UnknownParameter" => 400,
    IdempotentParameterMismatch = "IdempotentParameterMismatch" => 400,
    IdempotentInstanceTerminated = "IdempotentInstanceTerminated" => 400,
    InvalidId = "InvalidID" => 400,
    TagLimitExceeded = "TagLimitExceeded" => 400,
    RequestResourceCountExceeded = "RequestResourceCountExceeded" => 400,

    // State and permission of resources.
    IncorrectInstanceState = "IncorrectInstanceState" => 400,
    InvalidInstanceAttributeValue = "InvalidInstanceAttributeValue" => 400,
    InstanceCreditSpecificationNotSupported = "InstanceCreditSpecification.NotSupported" => 400,
    InvalidAssociationIdMalformed = "InvalidAssociationID.Malformed" => 400,
    InvalidAssociationIdNotFound = "InvalidAssociationID.NotFound" => 400,
    IncorrectState = "IncorrectState" => 400,
    OperationNotPermitted = "OperationNotPermitted" => 400,
    Unsupported = "Unsupported" => 400,
    UnsupportedOperation = "UnsupportedOperation" => 400,
    UnsupportedHibernationConfiguration = "UnsupportedHibernationConfiguration" => 400,
    DependencyViolation = "DependencyViolation" => 400,
    InstanceLimitExceeded = "InstanceLimitExceeded" => 400,
    BundlingInProgress = "BundlingInProgress" => 400,
    ReservationCapacityExceeded = "ReservationCapacityExceeded" => 400,
    SpotMaxPriceTooLow = "SpotMaxPriceTooLow" => 400,
    InvalidCapacityReservationStatePendingActivation = "InvalidCapacityReservationState.PendingActivation" => 400,
    InvalidInstanceType = "InvalidInstanceType" => 400,

    // The network families.
    CannotDelete = "CannotDelete" => 400,
    CidrConflict = "CidrConflict" => 400,
    CidrLimitExceeded = "CidrLimitExceeded" => 400,
    DefaultSubnetAlreadyExistsInAvailabilityZone = "DefaultSubnetAlreadyExistsInAvailabilityZone" => 400,
    DefaultVpcAlreadyExists = "DefaultVpcAlreadyExists" => 400,
    DefaultVpcDoesNotExist = "DefaultVpcDoesNotExist" => 400,
    GatewayNotAttached = "Gateway.NotAttached" => 400,
    InsufficientFreeAddressesInSubnet = "InsufficientFreeAddressesInSubnet" => 400,
    InvalidGroupDuplicate = "InvalidGroup.Duplicate" => 400,
    InvalidGroupReserved = "InvalidGroup.Reserved" => 400,
    InvalidIpAddressInUse = "InvalidIPAddress.InUse" => 400,
    InvalidPermissionDuplicate = "InvalidPermission.Duplicate" => 400,
    InvalidPermissionMalformed = "InvalidPermission.Malformed" => 400,
    InvalidPermissionNotFound = "InvalidPermission.NotFound" => 400,
    InvalidRouteNotFound = "InvalidRoute.NotFound" => 400,
    InvalidSubnetConflict = "InvalidSubnet.Conflict" => 400,
    InvalidSubnetRange = "InvalidSubnet.Range" => 400,
    InvalidVpcRange = "InvalidVpc.Range" => 400,
    ResourceAlreadyAssociated = "Resource.AlreadyAssociated" => 400,
    RouteAlreadyExists = "RouteAlreadyExists" => 400,
    RulesPerSecurityGroupLimitExceeded = "RulesPerSecurityGroupLimitExceeded" => 400,
    AddressLimitExceeded = "AddressLimitExceeded" => 400,
    VpcIdNotSpecified = "VPCIdNotSpecified" => 400,
    InvalidNetworkInterfaceInUse = "InvalidNetworkInterface.InUse" => 400,
    PrivateIpAddressLimitExceeded = "PrivateIpAddressLimitExceeded" => 400,
    // Storage and images (volumes, snapshots, images, ebs_encryption).
    VolumeInUse = "VolumeInUse" => 400,
    InvalidVolumeZoneMismatch = "InvalidVolume.ZoneMismatch" => 400,
    InvalidAttachmentNotFound = "InvalidAttachment.NotFound" => 400,
    IncorrectModificationState = "IncorrectModificationState" => 400,
    InvalidParameterDependency = "InvalidParameterDependency" => 400,
    InvalidSnapshotInUse = "InvalidSnapshot.InUse" => 400,
    InvalidAmiNameDuplicate = "InvalidAMIName.Duplicate" => 400,
    InvalidAmiNameMalformed = "InvalidAMIName.Malformed" => 400,
    InvalidAmiIdUnavailable = "InvalidAMIID.Unavailable" => 400,
    InvalidBlockDeviceMapping = "InvalidBlockDeviceMapping" => 400,
    InvalidAmiAttributeItemValue = "InvalidAMIAttributeItemValue" => 400,

    // Malformed and unknown IDs, by resource kind.
    InvalidAddressNotFound = "InvalidAddress.NotFound" => 400,
    InvalidAttachmentIdMalformed = "InvalidAttachmentID.Malformed" => 400,
    InvalidAttachmentIdNotFound = "InvalidAttachmentID.NotFound" => 400,
    InvalidAllocationIdMalformed = "InvalidAllocationID.Malformed" => 400,
    InvalidAllocationIdNotFound = "InvalidAllocationID.NotFound" => 400,
    InvalidInternetGatewayIdMalformed = "InvalidInternetGatewayId.Malformed" => 400,
    InvalidInternetGatewayIdNotFound = "InvalidInternetGatewayID.NotFound" => 400,
    InvalidRouteTableIdMalformed = "InvalidRouteTableId.Malformed" => 400,
    InvalidRouteTableIdNotFound = "InvalidRouteTableID.NotFound" => 400,
    InvalidSecurityGroupRuleIdMalformed = "InvalidSecurityGroupRuleId.Malformed" => 400,
    InvalidSecurityGroupRuleIdNotFound = "InvalidSecurityGroupRuleId.NotFound" => 400,
    InvalidVpcCidrBlockAssociationIdMalformed = "InvalidVpcCidrBlockAssociationID.Malformed" => 400,
    InvalidVpcCidrBlockAssociationIdNotFound = "InvalidVpcCidrBlockAssociationID.NotFound" => 400,
    InvalidDhcpOptionIdMalformed = "InvalidDhcpOptionsId.Malformed" => 400,
    InvalidDhcpOptionIdNotFound = "InvalidDhcpOptionID.NotFound" => 400,
    InvalidNetworkInterfaceIdMalformed = "InvalidNetworkInterfaceId.Malformed" => 400,
    InvalidNetworkInterfaceIdNotFound = "InvalidNetworkInterfaceID.NotFound" => 400,
    InvalidAmiIdMalformed = "InvalidAMIID.Malformed" => 400,
    InvalidAmiIdNotFound = "InvalidAMIID.NotFound" => 400,
    InvalidBundleIdMalformed = "InvalidBundleID.Malformed" => 400,
    InvalidBundleIdNotFound = "InvalidBundleID.NotFound" => 400,
    InvalidCapacityReservationIdMalformed = "InvalidCapacityReservationId.Malformed" => 400,
    InvalidCapacityReservationIdNotFound = "InvalidCapacityReservationId.NotFound" => 400,
    InvalidGroupIdMalformed = "InvalidGroupId.Malformed" => 400,
    InvalidGroupNotFound = "InvalidGroup.NotFound" => 400,
    InvalidInstanceIdMalformed = "InvalidInstanceID.Malformed" => 400,
    InvalidInstanceIdNotFound = "InvalidInstanceID.NotFound" => 400,
    InvalidKeyPairDuplicate = "InvalidKeyPair.Duplicate" => 400,
    InvalidKeyPairFormat = "InvalidKeyPair.Format" => 400,
    InvalidKeyPairNotFound = "InvalidKeyPair.NotFound" => 400,
    InvalidKeyPairIdMalformed = "InvalidKeyPairId.Malformed" => 400,
    InvalidSpotInstanceRequestIdMalformed = "InvalidSpotInstanceRequestID.Malformed" => 400,
    InvalidSpotInstanceRequestIdNotFound = "InvalidSpotInstanceRequestID.NotFound" => 400,
    InvalidSnapshotIdMalformed = "InvalidSnapshotID.Malformed" => 400,
    InvalidSnapshotNotFound = "InvalidSnapshot.NotFound" => 400,
    InvalidSubnetIdMalformed = "InvalidSubnetID.Malformed" => 400,
    InvalidSubnetIdNotFound = "InvalidSubnetID.NotFound" => 400,
    InvalidVpcIdMalformed = "InvalidVpcID.Malformed" => 400,
    InvalidVolumeIdMalformed = "InvalidVolumeID.Malformed" => 400,
    InvalidVolumeNotFound = "InvalidVolume.NotFound" => 400,
    InvalidVpcIdNotFound = "InvalidVpcID.NotFound" => 400,
    InvalidLaunchTemplateIdMalformed = "InvalidLaunchTemplateId.Malformed" => 400,
    InvalidLaunchTemplateIdNotFound = "InvalidLaunchTemplateId.NotFound" => 400,
    InvalidLaunchTemplateIdVersionNotFound = "InvalidLaunchTemplateId.VersionNotFound" => 400,
    InvalidLaunchTemplateNameAlreadyExists = "InvalidLaunchTemplateName.AlreadyExistsException" => 400,
    InvalidLaunchTemplateNameMalformed = "InvalidLaunchTemplateName.MalformedException" => 400,
    InvalidLaunchTemplateNameNotFound = "InvalidLaunchTemplateName.NotFoundException" => 400,

    // The service's side.
    InsufficientInstanceCapacity = "InsufficientInstanceCapacity" => 500,
    InternalError = "InternalError" => 500,
    RequestLimitExceeded = "RequestLimitExceeded" => 503,
    ServiceUnavailable = "ServiceUnavailable" => 503,
    Unavailable = "Unavailable" => 503,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for &c in Code::ALL {
            assert_eq!(Code::from_wire(c.as_str()), Some(c));
            assert!(seen.insert(c.as_str()), "{} twice", c.as_str());
        }
        assert_eq!(Code::from_wire("NoSuchCode"), None);
    }

    #[test]
    fn statuses_follow_the_spec_table() {
        assert_eq!(Code::DryRunOperation.status(), 412);
        assert_eq!(Code::UnauthorizedOperation.status(), 403);
        assert_eq!(Code::AuthFailure.status(), 401);
        assert_eq!(Code::InsufficientInstanceCapacity.status(), 500);
        assert_eq!(Code::InvalidInstanceIdNotFound.status(), 400);
        for &c in Code::ALL {
            let s = c.status();
            assert!((400..600).contains(&s), "{c:?}");
            // Only conditions on the service's side are 5xx: SDKs retry those.
            let server_side = matches!(
                c,
                Code::InsufficientInstanceCapacity
                    | Code::InternalError
                    | Code::RequestLimitExceeded
                    | Code::ServiceUnavailable
                    | Code::Unavailable
            );
            assert_eq!(s >= 500, server_side, "{c:?}");
        }
    }
}

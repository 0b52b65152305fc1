//! The EBS volume types and their limits: size, IOPS and throughput, as the EBS user guide lists
//! them (gp3: 1-16384 GiB, 3000-16000 IOPS at most 500 per GiB, 125-1000 MiB/s at most 0.25 MiB/s
//! per IOPS; gp2: 1-16384 GiB, 3 IOPS per GiB between 100 and 16000, not settable; io1: 4-16384 GiB,
//! 100-64000 IOPS at most 50 per GiB; io2: 4-65536 GiB, 100-256000 IOPS at most 1000 per GiB; st1
//! and sc1: 125-16384 GiB; standard: 1-1024 GiB). Multi-Attach is for io1 and io2 only.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumeType {
    Standard,
    Gp2,
    Gp3,
    Io1,
    Io2,
    St1,
    Sc1,
}

impl VolumeType {
    pub const ALL: [VolumeType; 7] = [
        VolumeType::Standard,
        VolumeType::Gp2,
        VolumeType::Gp3,
        VolumeType::Io1,
        VolumeType::Io2,
        VolumeType::St1,
        VolumeType::Sc1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            VolumeType::Standard => "standard",
            VolumeType::Gp2 => "gp2",
            VolumeType::Gp3 => "gp3",
            VolumeType::Io1 => "io1",
            VolumeType::Io2 => "io2",
            VolumeType::St1 => "st1",
            VolumeType::Sc1 => "sc1",
        }
    }

    pub fn parse(s: &str) -> Option<VolumeType> {
        VolumeType::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Smallest and largest size, in GiB.
    pub fn size_range(self) -> (u32, u32) {
        match self {
            VolumeType::Standard => (1, 1024),
            VolumeType::Gp2 | VolumeType::Gp3 => (1, 16_384),
            VolumeType::Io1 => (4, 16_384),
            VolumeType::Io2 => (4, 65_536),
            VolumeType::St1 | VolumeType::Sc1 => (125, 16_384),
        }
    }

    /// `(min, max, max per GiB)` of provisioned IOPS, for the types that take them.
    fn iops_range(self) -> Option<(u32, u32, u32)> {
        match self {
            VolumeType::Gp3 => Some((3_000, 16_000, 500)),
            VolumeType::Io1 => Some((100, 64_000, 50)),
            VolumeType::Io2 => Some((100, 256_000, 1_000)),
            VolumeType::Standard | VolumeType::Gp2 | VolumeType::St1 | VolumeType::Sc1 => None,
        }
    }

    fn requires_iops(self) -> bool {
        matches!(self, VolumeType::Io1 | VolumeType::Io2)
    }
}

/// A volume's size, type and performance, after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    pub volume_type: VolumeType,
    pub size_gb: u32,
    /// Provisioned IOPS (gp3, io1, io2) or gp2's baseline; `None` for the others.
    pub iops: Option<u32>,
    /// gp3's throughput in MiB/s.
    pub throughput: Option<u32>,
    pub multi_attach: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    SizeTooSmall { volume_type: VolumeType, size: i64, min: u32 },
    SizeTooLarge { volume_type: VolumeType, size: i64, max: u32 },
    IopsRequired(VolumeType),
    IopsNotSupported(VolumeType),
    IopsOutOfRange { volume_type: VolumeType, iops: i64, min: u32, max: u32 },
    IopsTooHighForSize { volume_type: VolumeType, iops: i64, size: u32, per_gib: u32 },
    ThroughputNotSupported(VolumeType),
    ThroughputOutOfRange { throughput: i64 },
    ThroughputTooHighForIops { throughput: i64, iops: u32 },
    MultiAttachNotSupported(VolumeType),
}

/// Whether the error is about a parameter the type does not take (`InvalidParameterCombination`)
/// rather than a value out of range (`InvalidParameterValue`); `IopsRequired` is a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecErrorKind {
    Missing,
    Combination,
    Value,
}

impl SpecError {
    pub fn kind(&self) -> SpecErrorKind {
        match self {
            SpecError::IopsRequired(_) => SpecErrorKind::Missing,
            SpecError::IopsNotSupported(_)
            | SpecError::ThroughputNotSupported(_)
            | SpecError::MultiAttachNotSupported(_) => SpecErrorKind::Combination,
            SpecError::SizeTooSmall { .. }
            | SpecError::SizeTooLarge { .. }
            | SpecError::IopsOutOfRange { .. }
            | SpecError::IopsTooHighForSize { .. }
            | SpecError::ThroughputOutOfRange { .. }
            | SpecError::ThroughputTooHighForIops { .. } => SpecErrorKind::Value,
        }
    }

    pub fn message(&self) -> String {
        match self {
            SpecError::SizeTooSmall { volume_type, size, min } => {
                format!("Volume of {size}GiB is too small for volume type {}; minimum is {min}GiB.", volume_type.name())
            }
            SpecError::SizeTooLarge { volume_type, size, max } => {
                format!("Volume of {size}GiB is too large for volume type {}; maximum is {max}GiB.", volume_type.name())
            }
            SpecError::IopsRequired(t) => format!("The parameter iops must be specified for {} volumes.", t.name()),
            SpecError::IopsNotSupported(t) => format!("The parameter iops is not supported for {} volumes.", t.name()),
            SpecError::IopsOutOfRange { volume_type, iops, min, max } => format!(
                "Value ({iops}) for parameter iops is invalid. The iops of {} volumes must be between {min} and {max}.",
                volume_type.name()
            ),
            SpecError::IopsTooHighForSize { volume_type, iops, size, per_gib } => format!(
                "Iops to volume size ratio of {} is too high; maximum is {per_gib} for {} volumes ({iops} IOPS for {size}GiB).",
                iops / i64::from((*size).max(1)),
                volume_type.name()
            ),
            SpecError::ThroughputNotSupported(t) => {
                format!("The parameter throughput is not supported for {} volumes.", t.name())
            }
            SpecError::ThroughputOutOfRange { throughput } => format!(
                "Value ({throughput}) for parameter throughput is invalid. Throughput must be between 125 and 1000 MiB/s."
            ),
            SpecError::ThroughputTooHighForIops { throughput, iops } => format!(
                "Throughput ({throughput} MiB/s) is too high for {iops} IOPS; the maximum is 0.25 MiB/s per provisioned IOPS."
            ),
            SpecError::MultiAttachNotSupported(t) => {
                format!("Multi-Attach is not supported for {} volumes; it requires io1 or io2.", t.name())
            }
        }
    }
}

/// gp2's baseline: 3 IOPS per GiB, at least 100 and at most 16000.
pub fn gp2_baseline(size: u32) -> u32 {
    size.saturating_mul(3).clamp(100, 16_000)
}

/// Checks a requested volume against its type's limits and fills in the defaults.
pub fn resolve(
    volume_type: VolumeType,
    size: i64,
    iops: Option<i64>,
    throughput: Option<i64>,
    multi_attach: bool,
) -> Result<Spec, SpecError> {
    let (min, max) = volume_type.size_range();
    if size < i64::from(min) {
        return Err(SpecError::SizeTooSmall { volume_type, size, min });
    }
    if size > i64::from(max) {
        return Err(SpecError::SizeTooLarge { volume_type, size, max });
    }
    let size = size as u32;
    if multi_attach && !matches!(volume_type, VolumeType::Io1 | VolumeType::Io2) {
        return Err(SpecError::MultiAttachNotSupported(volume_type));
    }
    let iops = match (volume_type.iops_range(), iops) {
        (None, Some(_)) => return Err(SpecError::IopsNotSupported(volume_type)),
        (None, None) => (volume_type == VolumeType::Gp2).then(|| gp2_baseline(size)),
        (Some(_), None) if volume_type.requires_iops() => return Err(SpecError::IopsRequired(volume_type)),
        (Some((lo, _, _)), None) => Some(lo),
        (Some((lo, hi, per_gib)), Some(n)) => {
            if n < i64::from(lo) || n > i64::from(hi) {
                return Err(SpecError::IopsOutOfRange { volume_type, iops: n, min: lo, max: hi });
            }
            // gp3's baseline 3000 IOPS come with any size; beyond it, the ratio applies.
            let floor = if volume_type == VolumeType::Gp3 { i64::from(lo) } else { 0 };
            if n > floor && n > i64::from(size) * i64::from(per_gib) {
                return Err(SpecError::IopsTooHighForSize { volume_type, iops: n, size, per_gib });
            }
            Some(n as u32)
        }
    };
    let throughput = match (volume_type, throughput) {
        (VolumeType::Gp3, None) => Some(125),
        (VolumeType::Gp3, Some(t)) => {
            if !(125..=1000).contains(&t) {
                return Err(SpecError::ThroughputOutOfRange { throughput: t });
            }
            let iops = iops.unwrap_or(3_000);
            if t > 125 && t * 4 > i64::from(iops) {
                return Err(SpecError::ThroughputTooHighForIops { throughput: t, iops });
            }
            Some(t as u32)
        }
        (_, Some(_)) => return Err(SpecError::ThroughputNotSupported(volume_type)),
        (_, None) => None,
    };
    Ok(Spec { volume_type, size_gb: size, iops, throughput, multi_attach })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_type() {
        let gp3 = resolve(VolumeType::Gp3, 8, None, None, false).unwrap();
        assert_eq!((gp3.iops, gp3.throughput), (Some(3000), Some(125)));
        let gp2 = resolve(VolumeType::Gp2, 8, None, None, false).unwrap();
        assert_eq!((gp2.iops, gp2.throughput), (Some(100), None));
        assert_eq!(resolve(VolumeType::Gp2, 1000, None, None, false).unwrap().iops, Some(3000));
        assert_eq!(resolve(VolumeType::Gp2, 16000, None, None, false).unwrap().iops, Some(16000));
        assert_eq!(resolve(VolumeType::St1, 500, None, None, false).unwrap().iops, None);
    }

    #[test]
    fn sizes_per_type() {
        assert!(matches!(resolve(VolumeType::Gp3, 0, None, None, false), Err(SpecError::SizeTooSmall { .. })));
        assert!(matches!(resolve(VolumeType::Gp2, 16385, None, None, false), Err(SpecError::SizeTooLarge { .. })));
        assert!(matches!(resolve(VolumeType::St1, 124, None, None, false), Err(SpecError::SizeTooSmall { .. })));
        assert!(matches!(resolve(VolumeType::Standard, 1025, None, None, false), Err(SpecError::SizeTooLarge { .. })));
        assert!(resolve(VolumeType::Io2, 65536, Some(1000), None, false).is_ok());
        assert!(resolve(VolumeType::Io1, 65536, Some(1000), None, false).is_err());
    }

    #[test]
    fn iops_and_throughput_per_type() {
        assert_eq!(resolve(VolumeType::Io1, 10, None, None, false), Err(SpecError::IopsRequired(VolumeType::Io1)));
        assert_eq!(
            resolve(VolumeType::Gp2, 10, Some(300), None, false),
            Err(SpecError::IopsNotSupported(VolumeType::Gp2))
        );
        assert!(matches!(
            resolve(VolumeType::Io1, 10, Some(501), None, false),
            Err(SpecError::IopsTooHighForSize { .. })
        ));
        assert!(resolve(VolumeType::Io1, 10, Some(500), None, false).is_ok());
        assert!(matches!(resolve(VolumeType::Gp3, 10, Some(2000), None, false), Err(SpecError::IopsOutOfRange { .. })));
        assert!(resolve(VolumeType::Gp3, 1, Some(3000), None, false).is_ok());
        assert!(matches!(
            resolve(VolumeType::Gp3, 10, Some(6000), None, false),
            Err(SpecError::IopsTooHighForSize { .. })
        ));
        assert!(matches!(
            resolve(VolumeType::Gp3, 100, None, Some(1000), false),
            Err(SpecError::ThroughputTooHighForIops { .. })
        ));
        assert!(resolve(VolumeType::Gp3, 100, Some(4000), Some(1000), false).is_ok());
        assert!(matches!(
            resolve(VolumeType::Gp3, 100, None, Some(100), false),
            Err(SpecError::ThroughputOutOfRange { .. })
        ));
        assert_eq!(
            resolve(VolumeType::Io2, 100, Some(1000), Some(200), false),
            Err(SpecError::ThroughputNotSupported(VolumeType::Io2))
        );
        assert_eq!(
            resolve(VolumeType::Gp3, 100, None, None, true),
            Err(SpecError::MultiAttachNotSupported(VolumeType::Gp3))
        );
        assert!(resolve(VolumeType::Io2, 100, Some(1000), None, true).unwrap().multi_attach);
    }

    #[test]
    fn every_error_has_a_kind_and_a_message() {
        let e = SpecError::IopsRequired(VolumeType::Io2);
        assert_eq!(e.kind(), SpecErrorKind::Missing);
        assert!(e.message().contains("io2"));
    }
}

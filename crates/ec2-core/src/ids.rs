//! Deterministic resource and request IDs in AWS's formats.
//!
//! An ID is a bijective mix of `(seed, prefix, counter)`: the same seed and the same sequence of
//! counters give the same IDs, IDs of one prefix never collide, and they look random. The counters
//! themselves are kept by the caller (in the store, so that several nodes never issue the same ID).
//!
//! Formats (../shared/spec/aws-semantics.md section 2.1): `i-`, `r-`, `cr-`, `ami-`, `vpc-`,
//! `subnet-`, `sg-`, `vol-`, `eni-`, `igw-`, `rtb-`, `rtbassoc-`, `eipalloc-`, `eipassoc-`, `sgr-`,
//! `vpc-cidr-assoc-`, `dopt-`, `eni-attach-`, `key-`, `lt-`, `snap-`, `iip-assoc-` followed by 17 lower-case hex characters (the first one `0`, as in
//! AWS's own IDs); `sir-` followed by 8 characters of `[0-9a-z]`; `bun-` followed by 8 hex characters.

/// The ID families ec2d issues, each with its prefix and body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdKind {
    Instance,
    Reservation,
    SpotInstanceRequest,
    CapacityReservation,
    BundleTask,
    Image,
    Vpc,
    Subnet,
    SecurityGroup,
    Volume,
    NetworkInterface,
    InternetGateway,
    RouteTable,
    RouteTableAssociation,
    ElasticIp,
    ElasticIpAssociation,
    SecurityGroupRule,
    VpcCidrAssociation,
    DhcpOptions,
    NetworkInterfaceAttachment,
    LaunchTemplate,
    Snapshot,
    KeyPair,
    IamInstanceProfileAssociation,
    Fleet,
    SpotFleetRequest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// `0` then 16 hex characters.
    Hex17,
    /// 8 hex characters.
    Hex8,
    /// 8 characters of `[0-9a-z]`.
    Base36x8,
    /// A UUID in its 8-4-4-4-12 lower-case hex form.
    Uuid,
}

impl IdKind {
    pub const ALL: [IdKind; 26] = [
        IdKind::Instance,
        IdKind::Reservation,
        IdKind::SpotInstanceRequest,
        IdKind::CapacityReservation,
        IdKind::BundleTask,
        IdKind::Image,
        IdKind::Vpc,
        IdKind::Subnet,
        IdKind::SecurityGroup,
        IdKind::Volume,
        IdKind::NetworkInterface,
        IdKind::InternetGateway,
        IdKind::RouteTable,
        IdKind::RouteTableAssociation,
        IdKind::ElasticIp,
        IdKind::ElasticIpAssociation,
        IdKind::SecurityGroupRule,
        IdKind::VpcCidrAssociation,
        IdKind::DhcpOptions,
        IdKind::NetworkInterfaceAttachment,
        IdKind::LaunchTemplate,
        IdKind::Snapshot,
        IdKind::KeyPair,
        IdKind::IamInstanceProfileAssociation,
        IdKind::Fleet,
        IdKind::SpotFleetRequest,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Instance => "i",
            IdKind::Reservation => "r",
            IdKind::SpotInstanceRequest => "sir",
            IdKind::CapacityReservation => "cr",
            IdKind::BundleTask => "bun",
            IdKind::Image => "ami",
            IdKind::Vpc => "vpc",
            IdKind::Subnet => "subnet",
            IdKind::SecurityGroup => "sg",
            IdKind::Volume => "vol",
            IdKind::NetworkInterface => "eni",
            IdKind::InternetGateway => "igw",
            IdKind::RouteTable => "rtb",
            IdKind::RouteTableAssociation => "rtbassoc",
            IdKind::ElasticIp => "eipalloc",
            IdKind::ElasticIpAssociation => "eipassoc",
            IdKind::SecurityGroupRule => "sgr",
            IdKind::VpcCidrAssociation => "vpc-cidr-assoc",
            IdKind::DhcpOptions => "dopt",
            IdKind::NetworkInterfaceAttachment => "eni-attach",
            IdKind::LaunchTemplate => "lt",
            IdKind::Snapshot => "snap",
            IdKind::KeyPair => "key",
            IdKind::IamInstanceProfileAssociation => "iip-assoc",
            IdKind::Fleet => "fleet",
            IdKind::SpotFleetRequest => "sfr",
        }
    }

    fn body(self) -> Body {
        match self {
            IdKind::SpotInstanceRequest => Body::Base36x8,
            IdKind::BundleTask => Body::Hex8,
            IdKind::Fleet | IdKind::SpotFleetRequest => Body::Uuid,
            _ => Body::Hex17,
        }
    }

    /// The name of the counter this kind draws from.
    pub fn counter(self) -> &'static str {
        self.prefix()
    }

    /// Whether `id` has this kind's syntax (prefix, length and character class). AWS also accepts
    /// the legacy 8-hex form for the 17-hex kinds.
    pub fn is_well_formed(self, id: &str) -> bool {
        let Some(rest) = id.strip_prefix(self.prefix()).and_then(|r| r.strip_prefix('-')) else {
            return false;
        };
        // Every byte is tested (no early exit), which the compiler does several bytes at a time.
        let hex = |s: &str| s.bytes().fold(true, |ok, b| ok & matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match self.body() {
            Body::Hex17 => (rest.len() == 17 || rest.len() == 8) && hex(rest),
            Body::Hex8 => rest.len() == 8 && hex(rest),
            Body::Base36x8 => rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()),
            Body::Uuid => {
                let parts: Vec<&str> = rest.split('-').collect();
                parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
            }
        }
    }
}

/// splitmix64's finalizer: a bijection on u64.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A bijection on u32 (xor-shift-multiply rounds with odd multipliers).
fn mix32(mut z: u32) -> u32 {
    z = (z ^ (z >> 16)).wrapping_mul(0x7feb_352d);
    z = (z ^ (z >> 15)).wrapping_mul(0x846c_a68b);
    z ^ (z >> 16)
}

fn key_of(seed: u64, salt: &str) -> u64 {
    // FNV-1a over the salt, folded with the seed; constant per (seed, salt).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h ^ seed)
}

/// `x` mixed and written in the UUID version 4 form.
fn uuid(x: u64, key: u64) -> String {
    let hi = mix64(x);
    let lo = mix64(hi ^ key.rotate_left(17));
    // The 32 hex digits: hi's top 48 bits, the version digit 4, hi's low 12 bits, the variant
    // (0b10) and 14 bits of lo, then lo's low 48 bits. Written by hand: this runs for every request.
    let groups: [(u64, usize); 5] = [
        (hi >> 32, 8),
        ((hi >> 16) & 0xffff, 4),
        (0x4000 | (hi & 0x0fff), 4),
        (0x8000 | ((lo >> 48) & 0x3fff), 4),
        (lo & 0xffff_ffff_ffff, 12),
    ];
    let mut out = [0u8; 36];
    let mut at = 0;
    for (n, (value, digits)) in groups.into_iter().enumerate() {
        if n > 0 {
            out[at] = b'-';
            at += 1;
        }
        for d in (0..digits).rev() {
            out[at] = b"0123456789abcdef"[((value >> (4 * d)) & 0xf) as usize];
            at += 1;
        }
    }
    // Hex digits and dashes: ASCII, copied as one string rather than pushed a char at a time.
    std::str::from_utf8(&out).map(str::to_owned).unwrap_or_default()
}

/// The seeded generator. It holds no counters: callers pass the counter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdGen {
    seed: u64,
}

impl IdGen {
    pub fn new(seed: u64) -> Self {
        IdGen { seed }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The ID number `counter` of `kind`. Distinct counters give distinct IDs.
    pub fn id(&self, kind: IdKind, counter: u64) -> String {
        let key = key_of(self.seed, kind.prefix());
        let prefix = kind.prefix();
        match kind.body() {
            Body::Hex17 => format!("{prefix}-0{:016x}", mix64(counter ^ key)),
            Body::Hex8 => format!("{prefix}-{:08x}", mix32((counter as u32) ^ (key as u32))),
            Body::Base36x8 => {
                // 36^8 > 2^32, so a 32-bit permutation written in base 36 stays injective.
                let mut v = u64::from(mix32((counter as u32) ^ (key as u32)));
                let mut out = [b'0'; 8];
                for slot in out.iter_mut().rev() {
                    *slot = b"0123456789abcdefghijklmnopqrstuvwxyz"[(v % 36) as usize];
                    v /= 36;
                }
                format!("{prefix}-{}", std::str::from_utf8(&out).unwrap_or("00000000"))
            }
            Body::Uuid => format!("{prefix}-{}", uuid(counter ^ key, key)),
        }
    }

    /// A request ID in UUID version 4 form, for request number `counter`.
    pub fn request_id(&self, counter: u64) -> String {
        let key = key_of(self.seed, "request");
        uuid(counter ^ key, key)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn request_ids_are_uuid_v4_text() {
        for seed in [0, 1, 42] {
            let g = IdGen::new(seed);
            for counter in [0, 1, 2, 1_000, u64::MAX] {
                let id = g.request_id(counter);
                let key = key_of(seed, "request");
                let hi = mix64(counter ^ key);
                let lo = mix64(hi ^ key.rotate_left(17));
                let expected = format!(
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    hi >> 32,
                    (hi >> 16) & 0xffff,
                    hi & 0x0fff,
                    0x8000 | ((lo >> 48) & 0x3fff),
                    lo & 0xffff_ffff_ffff
                );
                assert_eq!(id, expected);
            }
        }
        // The first request ID of a server started with seed 0.
        assert_eq!(IdGen::new(0).request_id(0), "76f6c34c-4adf-4607-806a-78f5d7b6bc32");
    }

    #[test]
    fn formats_match_aws() {
        let g = IdGen::new(0);
        for kind in IdKind::ALL {
            for c in 0..200 {
                let id = g.id(kind, c);
                assert!(kind.is_well_formed(&id), "{id}");
            }
        }
        assert_eq!(g.id(IdKind::Instance, 1).len(), "i-".len() + 17);
        assert_eq!(g.id(IdKind::SpotInstanceRequest, 1).len(), "sir-".len() + 8);
        assert_eq!(g.id(IdKind::BundleTask, 1).len(), "bun-".len() + 8);
        assert_eq!(g.id(IdKind::CapacityReservation, 1).len(), "cr-".len() + 17);
    }

    #[test]
    fn ids_never_collide_and_repeat_for_the_same_seed() {
        for kind in [IdKind::Instance, IdKind::SpotInstanceRequest, IdKind::BundleTask] {
            let ids: HashSet<String> = (0..50_000).map(|c| IdGen::new(7).id(kind, c)).collect();
            assert_eq!(ids.len(), 50_000);
        }
        assert_eq!(IdGen::new(7).id(IdKind::Instance, 3), IdGen::new(7).id(IdKind::Instance, 3));
        assert_ne!(IdGen::new(7).id(IdKind::Instance, 3), IdGen::new(8).id(IdKind::Instance, 3));
    }

    #[test]
    fn request_ids_are_uuid_v4_shaped() {
        let g = IdGen::new(1);
        let ids: HashSet<String> = (0..10_000).map(|c| g.request_id(c)).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
            assert!(parts[2].starts_with('4'));
            assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{id}");
        }
    }

    #[test]
    fn well_formedness() {
        assert!(IdKind::Instance.is_well_formed("i-0123456789abcdef0"));
        assert!(IdKind::Instance.is_well_formed("i-1234abcd"));
        assert!(!IdKind::Instance.is_well_formed("i-01265b7abcdefghij"));
        assert!(!IdKind::Instance.is_well_formed("i"));
        assert!(!IdKind::Instance.is_well_formed("10.10.1.202"));
        assert!(IdKind::SpotInstanceRequest.is_well_formed("sir-2648y2kj"));
        assert!(!IdKind::SpotInstanceRequest.is_well_formed("sir-2648Y2KJ"));
        assert!(IdKind::BundleTask.is_well_formed("bun-c1a540a8"));
    }

    #[test]
    fn a_hex_body_is_well_formed_exactly_when_every_byte_is_lowercase_hex() {
        let reference = |body: &[u8]| body.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        for len in [8, 17] {
            for at in 0..len {
                for b in 0..=0x7fu8 {
                    let mut body = vec![b'0'; len];
                    body[at] = b;
                    let id = format!("i-{}", std::str::from_utf8(&body).unwrap());
                    assert_eq!(IdKind::Instance.is_well_formed(&id), reference(&body), "{id:?}");
                }
            }
        }
    }
}

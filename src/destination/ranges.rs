//! One classification of every special-purpose range of IANA's IPv4 and IPv6 Special-Purpose
//! Address Registries (plus multicast, broadcast and the deprecated forms still routed by
//! some stacks): what [`super::DestinationPolicy`] refuses unless the operator allows it.
//!
//! IPv6 forms that embed an IPv4 address (IPv4-compatible, -mapped, -translated, NAT64's
//! well-known prefix, 6to4) are judged by the IPv4 address they carry: `[::ffff:127.0.0.1]`
//! is loopback. Forms whose embedding is not fixed (local-use NAT64 `64:ff9b:1::/48`,
//! Teredo) are refused outright. Every special-purpose range is refused, even the few the
//! registry calls globally reachable (anycast infrastructure, never a webhook receiver).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is not a public destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Special {
    /// The registry entry the address falls in (for an embedded IPv4 form, the form's).
    pub range: &'static str,
    /// For an embedded IPv4 form, the entry of the IPv4 address it carries.
    pub embedded: Option<&'static str>,
}

impl fmt::Display for Special {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded {
            Some(inner) => write!(f, "{} carrying a {inner} address", self.range),
            None => f.write_str(self.range),
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// IANA IPv4 Special-Purpose Address Registry (RFC 6890 and updates), every entry, plus
/// multicast (IANA IPv4 Multicast Address Space Registry, RFC 5771).
const V4_RANGES: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "\"This network\" (0.0.0.0/8)"),
    (v4(10, 0, 0, 0, 8), "Private-Use (10.0.0.0/8)"),
    (
        v4(100, 64, 0, 0, 10),
        "Shared Address Space (100.64.0.0/10)",
    ),
    (v4(127, 0, 0, 0, 8), "Loopback (127.0.0.0/8)"),
    (v4(169, 254, 0, 0, 16), "Link Local (169.254.0.0/16)"),
    (v4(172, 16, 0, 0, 12), "Private-Use (172.16.0.0/12)"),
    (
        v4(192, 0, 0, 0, 24),
        "IETF Protocol Assignments (192.0.0.0/24)",
    ),
    (v4(192, 0, 2, 0, 24), "Documentation (192.0.2.0/24)"),
    (v4(192, 31, 196, 0, 24), "AS112-v4 (192.31.196.0/24)"),
    (v4(192, 52, 193, 0, 24), "AMT (192.52.193.0/24)"),
    (
        v4(192, 88, 99, 0, 24),
        "Deprecated 6to4 Relay Anycast (192.88.99.0/24)",
    ),
    (v4(192, 168, 0, 0, 16), "Private-Use (192.168.0.0/16)"),
    (
        v4(192, 175, 48, 0, 24),
        "Direct Delegation AS112 Service (192.175.48.0/24)",
    ),
    (v4(198, 18, 0, 0, 15), "Benchmarking (198.18.0.0/15)"),
    (v4(198, 51, 100, 0, 24), "Documentation (198.51.100.0/24)"),
    (v4(203, 0, 113, 0, 24), "Documentation (203.0.113.0/24)"),
    (v4(224, 0, 0, 0, 4), "Multicast (224.0.0.0/4)"),
    (
        v4(255, 255, 255, 255, 32),
        "Limited Broadcast (255.255.255.255/32)",
    ),
    (v4(240, 0, 0, 0, 4), "Reserved (240.0.0.0/4)"),
];

/// How an IPv6 range is judged.
#[derive(Clone, Copy)]
enum Judge {
    /// Never a destination.
    Refuse,
    /// By the IPv4 address in its last 32 bits.
    Low32,
    /// By the IPv4 address in bits 16..48 (6to4).
    SixToFour,
}

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// IANA IPv6 Special-Purpose Address Registry (RFC 6890 and updates), every entry, the
/// deprecated forms (IPv4-compatible ::/96 and site-local fec0::/10, RFC 4291; IPv4-translated
/// ::ffff:0:0:0/96, RFC 2765) and multicast ff00::/8. First match wins: specific entries come
/// before the blocks that contain them.
const V6_RANGES: &[(Ipv6Net, &str, Judge)] = {
    use Judge::*;
    &[
        (v6([0; 8], 128), "Unspecified Address (::/128)", Refuse),
        (
            v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
            "Loopback Address (::1/128)",
            Refuse,
        ),
        (v6([0; 8], 96), "IPv4-compatible Address (::/96)", Low32),
        (
            v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96),
            "IPv4-mapped Address (::ffff:0:0/96)",
            Low32,
        ),
        (
            v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96),
            "IPv4-translated Address (::ffff:0:0:0/96)",
            Low32,
        ),
        (
            v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96),
            "IPv4-IPv6 Translat. (64:ff9b::/96)",
            Low32,
        ),
        (
            v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
            "IPv4-IPv6 Translat. (64:ff9b:1::/48)",
            Refuse,
        ),
        (
            v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64),
            "Discard-Only Address Block (100::/64)",
            Refuse,
        ),
        (
            v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64),
            "Dummy IPv6 Prefix (100:0:0:1::/64)",
            Refuse,
        ),
        (
            v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32),
            "TEREDO (2001::/32)",
            Refuse,
        ),
        (
            v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
            "IETF Protocol Assignments (2001::/23)",
            Refuse,
        ),
        (
            v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
            "Documentation (2001:db8::/32)",
            Refuse,
        ),
        (
            v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
            "6to4 (2002::/16)",
            SixToFour,
        ),
        (
            v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48),
            "Direct Delegation AS112 Service (2620:4f:8000::/48)",
            Refuse,
        ),
        (
            v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
            "Documentation (3fff::/20)",
            Refuse,
        ),
        (
            v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),
            "Segment Routing (SRv6) SIDs (5f00::/16)",
            Refuse,
        ),
        (
            v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
            "Unique-Local (fc00::/7)",
            Refuse,
        ),
        (
            v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
            "Link-Local Unicast (fe80::/10)",
            Refuse,
        ),
        (
            v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
            "Site-Local (deprecated) (fec0::/10)",
            Refuse,
        ),
        (
            v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
            "Multicast (ff00::/8)",
            Refuse,
        ),
    ]
};

/// Global unicast: IPv6 outside it (and outside the forms above) is reserved by the IETF.
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// The special-purpose range `ip` falls in; `None` for a public address.
pub fn classify(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip).map(|range| Special {
            range,
            embedded: None,
        }),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_RANGES
        .iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, name)| *name)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Special> {
    let Some(&(_, range, judge)) = V6_RANGES.iter().find(|(net, _, _)| net.contains(&ip)) else {
        return (!GLOBAL_UNICAST.contains(&ip)).then_some(Special {
            range: "Reserved by IETF (outside 2000::/3)",
            embedded: None,
        });
    };
    let bits = u128::from(ip);
    let carried = match judge {
        Judge::Refuse => {
            return Some(Special {
                range,
                embedded: None,
            })
        }
        Judge::Low32 => bits as u32,
        Judge::SixToFour => (bits >> 80) as u32,
    };
    classify_v4(Ipv4Addr::from(carried)).map(|inner| Special {
        range,
        embedded: Some(inner),
    })
}

/// True when `ip` is in any special-purpose range (directly or through an embedded IPv4).
pub fn is_forbidden(ip: IpAddr) -> bool {
    classify(ip).is_some()
}

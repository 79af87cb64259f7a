//! Unit tests of the special-purpose ranges, the policy over them and the proxy URL check.

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn range_of(text: &str) -> Option<&'static str> {
    classify(ip(text)).map(|s| s.range)
}

/// Every entry of the IANA IPv4 Special-Purpose Address Registry (as of 2025), the IPv4
/// multicast block, limited broadcast: (CIDR, an address inside, one just outside).
const V4_CASES: &[(&str, &str, &str)] = &[
    ("0.0.0.0/8", "0.255.255.255", "1.0.0.0"),
    ("0.0.0.0/8", "0.0.0.0", "1.0.0.1"), // 0.0.0.0/32 "This host on this network"
    ("10.0.0.0/8", "10.255.255.255", "11.0.0.0"),
    ("10.0.0.0/8", "10.0.0.0", "9.255.255.255"),
    ("100.64.0.0/10", "100.64.0.0", "100.63.255.255"),
    ("100.64.0.0/10", "100.127.255.255", "100.128.0.0"),
    ("127.0.0.0/8", "127.0.0.1", "128.0.0.0"),
    ("127.0.0.0/8", "127.255.255.255", "126.255.255.255"),
    ("169.254.0.0/16", "169.254.169.254", "169.255.0.0"),
    ("169.254.0.0/16", "169.254.0.0", "169.253.255.255"),
    ("172.16.0.0/12", "172.16.0.0", "172.15.255.255"),
    ("172.16.0.0/12", "172.31.255.255", "172.32.0.0"),
    ("192.0.0.0/24", "192.0.0.9", "192.0.1.0"), // PCP anycast, inside the IETF /24
    ("192.0.0.0/24", "192.0.0.170", "191.255.255.255"), // NAT64/DNS64 discovery
    ("192.0.2.0/24", "192.0.2.1", "192.0.3.0"),
    ("192.31.196.0/24", "192.31.196.1", "192.31.197.0"),
    ("192.52.193.0/24", "192.52.193.1", "192.52.194.0"),
    ("192.88.99.0/24", "192.88.99.1", "192.88.100.0"),
    ("192.168.0.0/16", "192.168.0.1", "192.169.0.0"),
    ("192.168.0.0/16", "192.168.255.255", "192.167.255.255"),
    ("192.175.48.0/24", "192.175.48.1", "192.175.49.0"),
    ("198.18.0.0/15", "198.18.0.0", "198.17.255.255"),
    ("198.18.0.0/15", "198.19.255.255", "198.20.0.0"),
    ("198.51.100.0/24", "198.51.100.1", "198.51.101.0"),
    ("203.0.113.0/24", "203.0.113.1", "203.0.114.0"),
    ("224.0.0.0/4", "224.0.0.1", "223.255.255.255"),
    ("224.0.0.0/4", "239.255.255.250", "240.0.0.0"), // the neighbour is Reserved
    ("240.0.0.0/4", "240.0.0.1", "239.255.255.255"), // the neighbour is Multicast
    ("255.255.255.255/32", "255.255.255.255", "255.255.255.254"),
];

/// Every entry of the IANA IPv6 Special-Purpose Address Registry (as of 2025), the
/// deprecated IPv4-compatible, IPv4-translated and site-local forms, multicast.
const V6_CASES: &[(&str, &str, &str)] = &[
    ("::/128", "::", "::1"),
    ("::1/128", "::1", "::2"),
    ("::/96", "::127.0.0.1", "::1:0:0"), // IPv4-compatible
    ("::ffff:0:0/96", "::ffff:127.0.0.1", "::fffe:ffff:ffff"),
    ("::ffff:0:0/96", "::ffff:10.0.0.1", "::1:0:0:0"),
    ("::ffff:0:0:0/96", "::ffff:0:127.0.0.1", "::ffff:1:0:0"), // IPv4-translated
    ("64:ff9b::/96", "64:ff9b::127.0.0.1", "64:ff9b::1:0:0"),
    (
        "64:ff9b::/96",
        "64:ff9b::a9fe:a9fe",
        "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff",
    ),
    ("64:ff9b:1::/48", "64:ff9b:1::8.8.8.8", "64:ff9b:2::"),
    (
        "64:ff9b:1::/48",
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        "64:ff9b:0:ffff::",
    ),
    ("100::/64", "100::1", "100:0:0:1::"),
    ("100:0:0:1::/64", "100:0:0:1::1", "100:0:0:2::"),
    (
        "2001::/32",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:1::",
    ), // Teredo
    ("2001::/23", "2001:1::1", "2001:200::1"), // PCP anycast
    ("2001::/23", "2001:2::1", "2001:200::2"), // benchmarking
    ("2001::/23", "2001:20::1", "2000:ffff:ffff:ffff::"), // ORCHIDv2
    ("2001:db8::/32", "2001:db8::1", "2001:db9::"),
    ("2002::/16", "2002:7f00:1::", "2003::1"), // 6to4 of 127.0.0.1
    ("2002::/16", "2002:a9fe:a9fe::", "2001:ffff:ffff:ffff::"), // 6to4 of metadata
    ("2620:4f:8000::/48", "2620:4f:8000::1", "2620:4f:8001::"),
    ("3fff::/20", "3fff::1", "3fff:1000::"),
    ("5f00::/16", "5f00::1", "5f01::"),
    (
        "fc00::/7",
        "fc00::1",
        "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ),
    ("fc00::/7", "fd00:ec2::254", "fe00::"),
    ("fe80::/10", "fe80::1", "fec0::"),
    ("fec0::/10", "fec0::1", "ff00::"),
    (
        "ff00::/8",
        "ff02::1",
        "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ),
];

#[test]
fn every_special_purpose_range_is_refused_and_its_neighbour_is_not_that_range() {
    for (cidr, inside, outside) in V4_CASES.iter().chain(V6_CASES) {
        let net: IpNet = cidr.parse().unwrap();
        let (inside, outside) = (ip(inside), ip(outside));
        assert!(
            net.contains(&inside) && !net.contains(&outside),
            "{cidr}: bad case"
        );
        let special = classify(inside).unwrap_or_else(|| panic!("{inside} ({cidr}) accepted"));
        // Each range is named by its own CIDR (embedded forms by the form's).
        assert!(
            special.range.contains(cidr),
            "{inside}: {special} is not {cidr}"
        );
        assert_ne!(
            classify(outside).map(|s| s.range),
            Some(special.range),
            "{outside} is outside {cidr}"
        );
    }
}

#[test]
fn the_issues_forms_are_refused() {
    for text in [
        "::127.0.0.1",
        "::ffff:0:127.0.0.1",
        "64:ff9b::127.0.0.1",
        "64:ff9b:1::7f00:1",
        "2002:7f00:1::",
        "fec0::1",
        "240.0.0.1",
        "fc00::1",
        "100.64.0.1",
        "198.18.0.1",
        "0.1.2.3",
        "224.0.0.1",
        "ff02::1",
        "255.255.255.255",
        "2001::1",
    ] {
        assert!(is_forbidden(ip(text)), "{text}");
    }
}

#[test]
fn embedded_ipv4_is_judged_by_the_address_it_carries() {
    let loopback = classify(ip("::ffff:127.0.0.1")).unwrap();
    assert_eq!(loopback.embedded, Some("Loopback (127.0.0.0/8)"));
    assert!(loopback.to_string().contains("IPv4-mapped"));
    for public in [
        "::ffff:8.8.8.8",
        "::ffff:0:8.8.8.8",
        "::8.8.8.8",
        "64:ff9b::8.8.8.8",
        "2002:808:808::1",
    ] {
        assert_eq!(classify(ip(public)), None, "{public}");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for text in [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.0",
        "2606:4700::1111",
        "2a00:1450:4001::1",
        "2001:200::1",
    ] {
        assert_eq!(classify(ip(text)), None, "{text}");
    }
    // Outside global unicast 2000::/3, IPv6 is reserved: refused.
    assert_eq!(
        range_of("4000::1"),
        Some("Reserved by IETF (outside 2000::/3)")
    );
}

#[test]
fn the_policy_admits_listed_networks_only() {
    let networks = ["127.0.0.0/8", "fd00:1::/64"].map(|n| parse_network(n).unwrap());
    let policy = DestinationPolicy::new(false, &networks);
    assert!(policy.check(ip("127.0.0.1")).is_ok());
    assert!(
        policy.check(ip("::ffff:127.0.0.1")).is_ok(),
        "mapped reaches 127.0.0.1"
    );
    assert!(policy.check(ip("fd00:1::5")).is_ok());
    assert!(policy.check(ip("8.8.8.8")).is_ok());
    let refused = policy.check(ip("10.0.0.1")).unwrap_err();
    assert!(
        refused.starts_with(REFUSED) && refused.contains("Private-Use"),
        "{refused}"
    );
    assert!(policy.check(ip("fd00:2::5")).is_err());
    assert!(policy.check(ip("::1")).is_err(), "127/8 does not admit ::1");

    let open = DestinationPolicy::new(true, &[]);
    assert!(open.allows_everything() && open.check(ip("10.0.0.1")).is_ok());
    let closed = DestinationPolicy::default();
    assert!(closed.check(ip("127.0.0.1")).is_err());
}

#[test]
fn invalid_networks_are_refused() {
    for bad in ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "localhost/8", ""] {
        let err = parse_network(bad).unwrap_err();
        assert!(err.contains("not a CIDR"), "{bad}: {err}");
    }
    // Host bits are dropped: 10.20.1.2/16 is 10.20.0.0/16.
    let policy = DestinationPolicy::new(false, &[parse_network("10.20.1.2/16").unwrap()]);
    assert!(policy.check(ip("10.20.200.1")).is_ok());
}

#[test]
fn a_proxy_url_must_be_http_with_a_host_and_never_shows_its_password() {
    for bad in ["socks5://p:1080", "not a url", "http://", "file:///tmp/x"] {
        assert!(ProxyUrl::parse(bad).is_err(), "{bad}");
    }
    let proxy = ProxyUrl::parse("http://user:hunter2@proxy.internal:3128").unwrap();
    assert_eq!(proxy.expose(), "http://user:hunter2@proxy.internal:3128/");
    assert_eq!(proxy.masked(), "http://user:***@proxy.internal:3128/");
    assert!(!format!("{proxy:?}").contains("hunter2"));
}

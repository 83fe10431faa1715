//! The allowlist (plain data) and the pure decisions made from it: may this name be contacted, and
//! may this resolved address be connected to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Ports a host entry without an explicit `:PORT` allows: plain HTTP and HTTPS.
pub const DEFAULT_PORTS: &[u16] = &[80, 443];

/// Named presets and the host entries each stands for. Each is documented in the README.
pub const PRESETS: &[(&str, &[&str])] = &[
    ("pypi", &["pypi.org", "files.pythonhosted.org"]),
    ("npm", &["registry.npmjs.org", "registry.yarnpkg.com"]),
    (
        "crates",
        &["crates.io", "index.crates.io", "static.crates.io"],
    ),
    (
        "github",
        &[
            "github.com",
            "api.github.com",
            "codeload.github.com",
            "raw.githubusercontent.com",
            "objects.githubusercontent.com",
            "release-assets.githubusercontent.com",
        ],
    ),
];

/// What an entry matches by name or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Exactly this host name (lower case, no trailing dot).
    Host(String),
    /// Any name strictly below this suffix (`*.example.org` matches `a.example.org` and
    /// `a.b.example.org`, not `example.org`).
    Suffix(String),
    /// Exactly this address (only requests for this IP literal, or names that resolve to it).
    Ip(IpAddr),
}

/// One allowlist entry: a pattern and the port it allows (`None`: [`DEFAULT_PORTS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub pattern: Pattern,
    pub port: Option<u16>,
}

/// The allowlist: plain data, built from user entries by [`AllowList::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    pub entries: Vec<Entry>,
}

/// An allowlist entry that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--allow-net {entry:?}: {why}. Use a host name (pypi.org), a wildcard (*.example.org), HOST:PORT, \
     an IP address, or a preset ({presets})"
)]
pub struct EntryError {
    pub entry: String,
    pub why: String,
    presets: String,
}

fn entry_error(entry: &str, why: impl Into<String>) -> EntryError {
    EntryError {
        entry: entry.to_string(),
        why: why.into(),
        presets: PRESETS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Whether `name` is a syntactically valid DNS host name (lower-cased, no trailing dot): labels of
/// letters, digits, `-` and `_`, none empty, and a last label that is not all digits (so `127.1`
/// or `0x7f000001`-style numbers, which resolvers turn into addresses, are never names).
pub fn valid_host_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|l| {
        l.is_empty()
            || l.len() > 63
            || !l
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    }) {
        return false;
    }
    let last = labels[labels.len() - 1];
    !last.bytes().all(|b| b.is_ascii_digit()) && !looks_hex_number(last)
}

fn looks_hex_number(label: &str) -> bool {
    label.len() > 2 && label.starts_with("0x") && label[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Lower-case and strip one trailing dot, the canonical form names are compared in.
pub fn canonical_name(host: &str) -> String {
    let h = host.strip_suffix('.').unwrap_or(host);
    h.to_ascii_lowercase()
}

/// Split `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT` (a bare IPv6 address is taken whole).
fn split_port(s: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("unclosed [".into());
        };
        return match after {
            "" => Ok((host, None)),
            p => match p.strip_prefix(':') {
                Some(p) => Ok((host, Some(parse_port(p)?))),
                None => Err("unexpected text after ]".into()),
            },
        };
    }
    if s.parse::<Ipv6Addr>().is_ok() {
        return Ok((s, None));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(parse_port(p)?))),
        None => Ok((s, None)),
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{p:?} is not a port (1-65535)")),
        Ok(n) => Ok(n),
    }
}

impl AllowList {
    /// Parse user entries (flags and config): presets expand to their hosts, `*.suffix` wildcards,
    /// `HOST:PORT`, IP addresses (`[v6]:PORT` for a port). A wildcard must have at least two labels
    /// after `*.` (`*.org` is refused as too broad).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowList, EntryError> {
        let mut out = AllowList::default();
        for raw in entries {
            let raw = raw.as_ref().trim();
            if let Some((_, hosts)) = PRESETS.iter().find(|(n, _)| *n == raw) {
                for h in *hosts {
                    out.push(Entry {
                        pattern: Pattern::Host((*h).to_string()),
                        port: None,
                    });
                }
                continue;
            }
            let (host, port) = split_port(raw).map_err(|w| entry_error(raw, w))?;
            let pattern = if let Ok(ip) = host.parse::<IpAddr>() {
                Pattern::Ip(ip)
            } else if let Some(suffix) = host.strip_prefix("*.") {
                let s = canonical_name(suffix);
                if !valid_host_name(&s) {
                    return Err(entry_error(raw, "not a valid host name after *."));
                }
                if !s.contains('.') {
                    return Err(entry_error(
                        raw,
                        "a wildcard over a whole top-level domain is too broad",
                    ));
                }
                Pattern::Suffix(s)
            } else {
                let h = canonical_name(host);
                if !valid_host_name(&h) {
                    return Err(entry_error(raw, "not a valid host name"));
                }
                Pattern::Host(h)
            };
            out.push(Entry { pattern, port });
        }
        Ok(out)
    }

    fn push(&mut self, e: Entry) {
        if !self.entries.contains(&e) {
            self.entries.push(e);
        }
    }

    /// The entries as a user would write them (for `--explain` and messages).
    pub fn describe(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.to_string()).collect()
    }

    /// Whether the (canonical) host name `name` may be contacted on `port`.
    pub fn allows_name(&self, name: &str, port: u16) -> bool {
        self.entries.iter().any(|e| {
            port_ok(e.port, port)
                && match &e.pattern {
                    Pattern::Host(h) => h == name,
                    Pattern::Suffix(s) => {
                        name.len() > s.len() + 1
                            && name.ends_with(s.as_str())
                            && name.as_bytes()[name.len() - s.len() - 1] == b'.'
                    }
                    Pattern::Ip(_) => false,
                }
        })
    }

    /// Whether an IP entry allows exactly `ip` on `port` (IPv4-mapped IPv6 compares as IPv4).
    pub fn allows_ip(&self, ip: IpAddr, port: u16) -> bool {
        let ip = unmap(ip);
        self.entries
            .iter()
            .any(|e| port_ok(e.port, port) && matches!(e.pattern, Pattern::Ip(a) if unmap(a) == ip))
    }
}

fn port_ok(entry: Option<u16>, port: u16) -> bool {
    match entry {
        Some(p) => p == port,
        None => DEFAULT_PORTS.contains(&port),
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (host, v6) = match &self.pattern {
            Pattern::Host(h) => (h.clone(), false),
            Pattern::Suffix(s) => (format!("*.{s}"), false),
            Pattern::Ip(ip) => (ip.to_string(), ip.is_ipv6()),
        };
        match (self.port, v6) {
            (None, _) => write!(f, "{host}"),
            (Some(p), true) => write!(f, "[{host}]:{p}"),
            (Some(p), false) => write!(f, "{host}:{p}"),
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is; everything else unchanged.
pub fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Why an address must not be connected to (unless an IP entry names it exactly), or `None` for a
/// public unicast address. Covers loopback, private (RFC 1918, unique-local `fc00::/7`), link-local
/// (incl. the cloud metadata address 169.254.169.254), CGNAT, "this network", multicast and reserved
/// ranges, and IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4),
/// judged by the address they embed.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    const RANGES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "a \"this network\" address (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "a private address (10.0.0.0/8)"),
        (
            [100, 64, 0, 0],
            10,
            "a carrier-grade NAT address (100.64.0.0/10)",
        ),
        ([127, 0, 0, 0], 8, "a loopback address (127.0.0.0/8)"),
        (
            [169, 254, 169, 254],
            32,
            "the cloud metadata address (169.254.169.254)",
        ),
        (
            [169, 254, 0, 0],
            16,
            "a link-local address (169.254.0.0/16)",
        ),
        ([172, 16, 0, 0], 12, "a private address (172.16.0.0/12)"),
        ([192, 0, 0, 0], 24, "a reserved address (192.0.0.0/24)"),
        ([192, 168, 0, 0], 16, "a private address (192.168.0.0/16)"),
        (
            [198, 18, 0, 0],
            15,
            "a benchmarking address (198.18.0.0/15)",
        ),
        ([224, 0, 0, 0], 4, "a multicast address (224.0.0.0/4)"),
        (
            [240, 0, 0, 0],
            4,
            "a reserved or broadcast address (240.0.0.0/4)",
        ),
    ];
    RANGES
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if ip.is_unspecified() {
        return Some("the unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("a loopback address (::1)");
    }
    if s[0..6] == [0; 6] {
        // IPv4-compatible (::a.b.c.d), deprecated; never a public destination of its own.
        return Some("an IPv4-compatible IPv6 address (::/96)");
    }
    if s[0..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(s[6], s[7]))
            .map(|_| "a NAT64 form of a refused IPv4 address");
    }
    if s[0] == 0x2002 {
        return forbidden_v4(embedded_v4(s[1], s[2]))
            .map(|_| "a 6to4 form of a refused IPv4 address");
    }
    const RANGES: &[(u16, u16, &str)] = &[
        (
            0xfe00,
            0xfc00,
            "a unique-local (private) IPv6 address (fc00::/7)",
        ),
        (0xffc0, 0xfe80, "a link-local IPv6 address (fe80::/10)"),
        (0xffc0, 0xfec0, "a site-local IPv6 address (fec0::/10)"),
        (0xff00, 0xff00, "a multicast IPv6 address (ff00::/8)"),
    ];
    if let Some((_, _, why)) = RANGES.iter().find(|(mask, net, _)| s[0] & mask == *net) {
        return Some(why);
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("a Teredo address (2001::/32), which tunnels to any IPv4 address");
    }
    if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        return Some("a discard-only IPv6 address (100::/64)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> AllowList {
        AllowList::parse(e).unwrap()
    }

    #[test]
    fn host_entries_match_exactly_on_default_ports() {
        let l = list(&["PyPI.org."]);
        assert!(l.allows_name("pypi.org", 443));
        assert!(l.allows_name("pypi.org", 80));
        assert!(!l.allows_name("pypi.org", 22));
        assert!(!l.allows_name("evil.pypi.org", 443));
        assert!(!l.allows_name("pypi.org.evil.com", 443));
        assert!(!l.allows_name("xpypi.org", 443));
    }

    #[test]
    fn wildcards_match_strict_subdomains_only() {
        let l = list(&["*.example.org"]);
        assert!(l.allows_name("a.example.org", 443));
        assert!(l.allows_name("a.b.example.org", 443));
        assert!(!l.allows_name("example.org", 443));
        assert!(!l.allows_name("badexample.org", 443));
        assert!(!l.allows_name("a.example.org.evil.com", 443));
        assert!(AllowList::parse(&["*.org"]).is_err());
        assert!(AllowList::parse(&["*"]).is_err());
    }

    #[test]
    fn ports_are_exact_when_given() {
        let l = list(&["example.org:8443", "[2606:4700::1]:8080", "93.184.216.34"]);
        assert!(l.allows_name("example.org", 8443));
        assert!(!l.allows_name("example.org", 443));
        assert!(l.allows_ip("2606:4700::1".parse().unwrap(), 8080));
        assert!(!l.allows_ip("2606:4700::1".parse().unwrap(), 443));
        assert!(l.allows_ip("93.184.216.34".parse().unwrap(), 443));
        assert!(l.allows_ip("::ffff:93.184.216.34".parse().unwrap(), 443));
        assert!(!l.allows_ip("93.184.216.35".parse().unwrap(), 443));
        // An IP entry never allows a name, and a name entry never allows an IP literal.
        assert!(!l.allows_name("93.184.216.34", 443));
        assert_eq!(
            l.describe(),
            vec!["example.org:8443", "[2606:4700::1]:8080", "93.184.216.34"]
        );
    }

    #[test]
    fn presets_expand_to_their_hosts() {
        let l = list(&["pypi", "github"]);
        assert!(l.allows_name("files.pythonhosted.org", 443));
        assert!(l.allows_name("codeload.github.com", 443));
        assert!(!l.allows_name("gist.github.com", 443));
    }

    #[test]
    fn malformed_entries_are_refused_with_a_hint() {
        for bad in [
            "",
            "exa mple.org",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "127.1",
            "0x7f000001",
            "a..b",
            "http://x.org",
        ] {
            let e = AllowList::parse(&[bad]).unwrap_err();
            assert!(e.to_string().contains("preset"), "{bad}: {e}");
        }
    }

    #[test]
    fn numeric_names_are_not_host_names() {
        for n in ["127.1", "2130706433", "0x7f.0x1", "1.2.3.4", "a.0x10"] {
            assert!(!valid_host_name(n), "{n}");
        }
        for n in ["pypi.org", "a-b.c_d.io", "localhost", "x1.example.org"] {
            assert!(valid_host_name(n), "{n}");
        }
    }

    #[test]
    fn internal_addresses_are_refused() {
        for a in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:0:1::1",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert!(forbidden_reason(ip).is_some(), "{a} must be refused");
        }
        assert!(
            forbidden_reason("169.254.169.254".parse().unwrap())
                .unwrap()
                .contains("metadata")
        );
    }

    #[test]
    fn public_addresses_pass() {
        for a in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "151.101.0.223",
            "2606:4700::6810:84e5",
            "2a04:4e42::223",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            // Documentation ranges are not internal: some networks route registries through them.
            "203.0.113.80",
            "2001:db8::1",
        ] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(forbidden_reason(ip), None, "{a} must pass");
        }
    }
}

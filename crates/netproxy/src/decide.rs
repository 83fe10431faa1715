//! The pure decision: a requested `host:port` against the allowlist, then the addresses it resolved
//! to against the address rules.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::allow::{AllowList, canonical_name, forbidden_reason, unmap, valid_host_name};

/// What a request asked for, once its host passed the name check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name (canonical form) the allowlist names; it must still be resolved and checked.
    Name(String),
    /// An IP literal an IP entry allows exactly.
    Ip(IpAddr),
}

/// Why a request was refused. Its `Display` is the reason shown to the program, the user and the
/// audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The request could not be parsed or uses a form the proxy does not serve.
    BadRequest(String),
    /// Not a valid host name.
    BadHost,
    /// The host name (with this port) is not on the allowlist.
    NotAllowed,
    /// An IP literal that no IP entry allows.
    IpLiteral,
    /// The name resolved to an address the rules refuse.
    Forbidden { addr: IpAddr, why: &'static str },
    /// The name did not resolve.
    Unresolved(String),
    /// The per-run connection cap was reached.
    ConnectionCap(u64),
    /// The per-run byte cap was reached.
    ByteCap(u64),
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::BadRequest(w) => write!(f, "bad proxy request: {w}"),
            Denial::BadHost => write!(f, "not a valid host name"),
            Denial::NotAllowed => write!(
                f,
                "host not on the network allowlist (the user can add it with --allow-net)"
            ),
            Denial::IpLiteral => write!(
                f,
                "IP addresses are refused unless --allow-net names that exact address"
            ),
            Denial::Forbidden { addr, why } => write!(
                f,
                "resolves to {addr}, {why}; internal addresses are refused unless --allow-net names \
                 that exact address"
            ),
            Denial::Unresolved(e) => write!(f, "could not resolve the host name: {e}"),
            Denial::ConnectionCap(n) => {
                write!(f, "the limit of {n} connections per run was reached")
            }
            Denial::ByteCap(n) => write!(f, "the limit of {n} bytes per run was reached"),
        }
    }
}

impl Denial {
    /// A short stable code for logs and tests (`not-allowed`, `ip-literal`, `forbidden-address`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Denial::BadRequest(_) => "bad-request",
            Denial::BadHost => "bad-host",
            Denial::NotAllowed => "not-allowed",
            Denial::IpLiteral => "ip-literal",
            Denial::Forbidden { .. } => "forbidden-address",
            Denial::Unresolved(_) => "unresolved",
            Denial::ConnectionCap(_) => "connection-cap",
            Denial::ByteCap(_) => "byte-cap",
        }
    }
}

/// Decide by name: `host` as the program wrote it (brackets already removed from IPv6).
pub fn decide_target(list: &AllowList, host: &str, port: u16) -> Result<Target, Denial> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if list.allows_ip(ip, port) {
            Ok(Target::Ip(ip))
        } else {
            Err(Denial::IpLiteral)
        };
    }
    let name = canonical_name(host);
    if !valid_host_name(&name) {
        return Err(Denial::BadHost);
    }
    if list.allows_name(&name, port) {
        Ok(Target::Name(name))
    } else {
        Err(Denial::NotAllowed)
    }
}

/// Decide by address: keep the resolved addresses that may be connected to, in order. An address
/// passes when it is public, when an IP entry names it exactly, or when `vouched(addr)` (the
/// resolver seam of tests; the system resolver vouches for nothing). If any address is refused the
/// whole name is refused, so a name that mixes a public and an internal address (a rebinding
/// attempt) never reaches either.
pub fn decide_addrs(
    list: &AllowList,
    addrs: &[SocketAddr],
    vouched: &dyn Fn(&SocketAddr) -> bool,
) -> Result<Vec<SocketAddr>, Denial> {
    if addrs.is_empty() {
        return Err(Denial::Unresolved("no addresses".into()));
    }
    let mut ok = Vec::with_capacity(addrs.len());
    for a in addrs {
        let ip = unmap(a.ip());
        if vouched(a) || list.allows_ip(ip, a.port()) {
            ok.push(SocketAddr::new(ip, a.port()));
            continue;
        }
        if let Some(why) = forbidden_reason(ip) {
            return Err(Denial::Forbidden { addr: ip, why });
        }
        ok.push(SocketAddr::new(ip, a.port()));
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(e: &[&str]) -> AllowList {
        AllowList::parse(e).unwrap()
    }
    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }
    fn never(_: &SocketAddr) -> bool {
        false
    }

    #[test]
    fn names_must_be_listed() {
        let l = list(&["pypi.org", "*.example.org"]);
        assert_eq!(
            decide_target(&l, "PYPI.ORG.", 443),
            Ok(Target::Name("pypi.org".into()))
        );
        assert_eq!(decide_target(&l, "evil.com", 443), Err(Denial::NotAllowed));
        assert_eq!(decide_target(&l, "pypi.org", 25), Err(Denial::NotAllowed));
        assert_eq!(decide_target(&l, "a b", 443), Err(Denial::BadHost));
        assert_eq!(decide_target(&l, "2130706433", 443), Err(Denial::BadHost));
        assert_eq!(decide_target(&l, "", 443), Err(Denial::BadHost));
    }

    #[test]
    fn ip_literals_need_an_ip_entry() {
        let l = list(&["pypi.org", "10.0.0.5:8080"]);
        assert_eq!(decide_target(&l, "1.1.1.1", 443), Err(Denial::IpLiteral));
        assert_eq!(decide_target(&l, "::1", 443), Err(Denial::IpLiteral));
        assert_eq!(decide_target(&l, "10.0.0.5", 443), Err(Denial::IpLiteral));
        assert_eq!(
            decide_target(&l, "10.0.0.5", 8080),
            Ok(Target::Ip("10.0.0.5".parse().unwrap()))
        );
    }

    #[test]
    fn rebinding_to_internal_addresses_is_refused() {
        let l = list(&["pypi.org"]);
        for a in [
            "127.0.0.1:443",
            "[::1]:443",
            "169.254.169.254:80",
            "[fd00::1]:443",
            "[::ffff:10.0.0.1]:443",
        ] {
            let e = decide_addrs(&l, &[sa(a)], &never).unwrap_err();
            assert_eq!(e.code(), "forbidden-address", "{a}");
        }
        // One internal address among public ones refuses the whole name.
        let e = decide_addrs(&l, &[sa("151.101.0.223:443"), sa("127.0.0.1:443")], &never);
        assert!(matches!(e, Err(Denial::Forbidden { .. })));
        assert_eq!(
            decide_addrs(&l, &[], &never).unwrap_err().code(),
            "unresolved"
        );
    }

    #[test]
    fn public_addresses_and_exact_ip_entries_pass() {
        let l = list(&["pypi.org", "10.0.0.5:443"]);
        assert_eq!(
            decide_addrs(&l, &[sa("151.101.0.223:443")], &never),
            Ok(vec![sa("151.101.0.223:443")])
        );
        assert_eq!(
            decide_addrs(&l, &[sa("[::ffff:10.0.0.5]:443")], &never),
            Ok(vec![sa("10.0.0.5:443")])
        );
        assert!(decide_addrs(&l, &[sa("10.0.0.5:80")], &never).is_err());
    }

    #[test]
    fn only_the_seam_vouches_for_loopback() {
        let l = list(&["allowed.test"]);
        let vouch = |a: &SocketAddr| *a == sa("127.0.0.1:4443");
        assert_eq!(
            decide_addrs(&l, &[sa("127.0.0.1:4443")], &vouch),
            Ok(vec![sa("127.0.0.1:4443")])
        );
        assert!(decide_addrs(&l, &[sa("127.0.0.1:4444")], &vouch).is_err());
        assert!(decide_addrs(&l, &[sa("127.0.0.1:4443")], &never).is_err());
    }
}

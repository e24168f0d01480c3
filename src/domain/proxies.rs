//! Which address a request comes from when reverse proxies stand in front:
//! the socket's peer, unless that peer is a trusted proxy, in which case the
//! right-most `X-Forwarded-For` entry that is not a trusted proxy.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's address: `peer` when it is not a trusted proxy (its
    /// `X-Forwarded-For` is then ignored); else, walking the forwarded
    /// entries (`forwarded`, every `X-Forwarded-For` value in order) from
    /// the right, the first that is not a trusted proxy. An entry that is not
    /// an address stops the walk at the trusted hop that reported it.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        let entries = forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for entry in entries.into_iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[2001:db8::1]:80`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
        .map(canonical)
}

/// Why a `TRUSTED_PROXIES` value was refused: the entry in question.
#[derive(Debug, PartialEq, Eq)]
pub struct BadProxy(pub String);

impl fmt::Display for BadProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TRUSTED_PROXIES: {:?} is neither an IP address nor a CIDR block",
            self.0
        )
    }
}

impl FromStr for TrustedProxies {
    type Err = BadProxy;

    /// Comma-separated addresses and CIDR blocks (`10.0.0.1, 10.1.0.0/16,
    /// fd00::/8`); empty means none.
    fn from_str(s: &str) -> Result<Self, BadProxy> {
        let mut nets = Vec::new();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(canonical(ip)),
                    Err(_) => return Err(BadProxy(entry.to_string())),
                },
            };
            nets.push(net.trunc());
        }
        Ok(TrustedProxies(nets))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks() {
        let t: TrustedProxies = " 10.0.0.1 , 192.168.0.0/16,fd00::/8,".parse().unwrap();
        assert!(t.contains(ip("10.0.0.1")));
        assert!(!t.contains(ip("10.0.0.2")));
        assert!(t.contains(ip("192.168.44.3")));
        assert!(t.contains(ip("::ffff:192.168.1.1")));
        assert!(t.contains(ip("fd12::1")));
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        assert_eq!(
            "10.0.0.1,proxy.local".parse::<TrustedProxies>(),
            Err(BadProxy("proxy.local".into()))
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        let t: TrustedProxies = "10.0.0.1".parse().unwrap();
        assert_eq!(t.client(ip("203.0.113.9"), &["1.1.1.1"]), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &["1.1.1.1"]), ip("127.0.0.1"));
    }

    #[test]
    fn a_trusted_peer_names_the_rightmost_untrusted_entry() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // The client forged the left-most entry; the proxies appended the rest.
        assert_eq!(
            t.client(ip("10.0.0.1"), &["6.6.6.6, 198.51.100.7", "10.2.3.4"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client(ip("10.0.0.1"), &["198.51.100.7:4711"]),
            ip("198.51.100.7")
        );
        assert_eq!(
            t.client(ip("10.0.0.1"), &["[2001:db8::1]:80"]),
            ip("2001:db8::1")
        );
        // No header, or only proxies: the left-most trusted hop.
        assert_eq!(t.client(ip("10.0.0.1"), &[]), ip("10.0.0.1"));
        assert_eq!(t.client(ip("10.0.0.1"), &["10.9.9.9"]), ip("10.9.9.9"));
        // Garbage stops at the hop that reported it.
        assert_eq!(
            t.client(ip("10.0.0.1"), &["198.51.100.7, junk, 10.2.3.4"]),
            ip("10.2.3.4")
        );
    }
}

//! `allowed-peers`: which source addresses (and ports) may connect to a listener.
//!
//! Entries are `ADDRESS`, `ADDRESS/PREFIX` (CIDR), optionally with a source port or port
//! range: `192.0.2.1:5000`, `10.0.0.0/8:5000-5010`, `[2001:db8::/32]:547`. A peer that
//! must connect from a fixed port (a partner with `source-port`) can be pinned that way.

use crate::Error;
use std::net::{IpAddr, SocketAddr};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    network: IpAddr,
    prefix: u8,
    ports: Option<(u16, u16)>,
}

/// The allow-list; an empty one (no `allowed-peers` key) allows everyone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    rules: Vec<Rule>,
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u32::from(v4) as u128, 32),
        // An IPv4-mapped IPv6 peer is matched as IPv4.
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (u32::from(v4) as u128, 32),
            None => (u128::from(v6), 128),
        },
    }
}

impl Rule {
    fn parse(text: &str) -> Result<Rule, String> {
        let (addr_part, port_part) = if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest.split_once(']').ok_or("unclosed '['")?;
            (inside, after.strip_prefix(':'))
        } else if text.matches(':').count() == 1 {
            let (a, p) = text.split_once(':').expect("one colon");
            (a, Some(p))
        } else {
            (text, None)
        };
        let (addr, prefix) = match addr_part.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| format!("bad prefix length '{p}'"))?)),
            None => (addr_part, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| format!("'{addr}' is not an IP address"))?;
        // An IPv4-mapped network is matched as IPv4 (see `bits`): its IPv6 prefix length
        // counts the 96 bits of the mapping too.
        let prefix = match (network, prefix) {
            (IpAddr::V6(v6), Some(p)) if v6.to_ipv4_mapped().is_some() => match p.checked_sub(96) {
                Some(v4) => Some(v4),
                None => return Err(format!("prefix length {p} of an IPv4-mapped address must be 96 to 128")),
            },
            (_, p) => p,
        };
        let width = bits(network).1;
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return Err(format!("prefix length {prefix} is longer than the address"));
        }
        let ports = match port_part {
            None => None,
            Some(p) => {
                let (lo, hi) = p.split_once('-').unwrap_or((p, p));
                let lo: u16 = lo.parse().map_err(|_| format!("bad port '{lo}'"))?;
                let hi: u16 = hi.parse().map_err(|_| format!("bad port '{hi}'"))?;
                if lo > hi {
                    return Err(format!("port range {lo}-{hi} is empty"));
                }
                Some((lo, hi))
            }
        };
        Ok(Rule { network, prefix, ports })
    }

    fn matches(&self, peer: SocketAddr) -> bool {
        let (net, width) = bits(self.network);
        let (ip, ip_width) = bits(peer.ip());
        if width != ip_width {
            return false;
        }
        let shift = u32::from(width - self.prefix);
        let same_network = shift >= 128 || (net >> shift) == (ip >> shift);
        let port_ok = match self.ports {
            None => true,
            Some((lo, hi)) => (lo..=hi).contains(&peer.port()),
        };
        same_network && port_ok
    }
}

impl AllowList {
    /// Parses the entries of `allowed-peers`.
    pub fn parse(entries: &[serde_json::Value]) -> Result<AllowList, Error> {
        let mut rules = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let text = entry
                .as_str()
                .ok_or_else(|| Error::config(format!("'allowed-peers[{i}]' must be a string")))?;
            let rule = Rule::parse(text.trim())
                .map_err(|why| Error::config(format!("'allowed-peers[{i}]': {why}")))?;
            rules.push(rule);
        }
        Ok(AllowList { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `peer` may connect (always, for an empty list).
    pub fn allows(&self, peer: SocketAddr) -> bool {
        self.rules.is_empty() || self.rules.iter().any(|r| r.matches(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(entries: serde_json::Value) -> AllowList {
        AllowList::parse(entries.as_array().unwrap()).unwrap()
    }

    fn peer(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_networks_and_ports() {
        let l = list(json!(["192.0.2.1", "10.0.0.0/8:5000-5010", "[2001:db8::/32]:547", "198.51.100.7:67"]));
        assert!(l.allows(peer("192.0.2.1:40000")));
        assert!(!l.allows(peer("192.0.2.2:40000")));
        assert!(l.allows(peer("10.9.8.7:5005")));
        assert!(!l.allows(peer("10.9.8.7:5011")));
        assert!(!l.allows(peer("11.0.0.1:5005")));
        assert!(l.allows(peer("[2001:db8:1::5]:547")));
        assert!(!l.allows(peer("[2001:db8:1::5]:548")));
        assert!(l.allows(peer("198.51.100.7:67")));
        assert!(!l.allows(peer("198.51.100.7:68")));
        assert!(l.allows(peer("[::ffff:192.0.2.1]:1")), "IPv4-mapped peers match IPv4 rules");
        let mapped = AllowList::parse(&[json!("[::ffff:10.0.0.0/104]")]).unwrap();
        assert!(mapped.allows(peer("10.200.0.1:5")) && mapped.allows(peer("[::ffff:10.1.2.3]:5")));
        assert!(!mapped.allows(peer("11.0.0.1:5")));
        assert!(list(json!(["0.0.0.0/0"])).allows(peer("203.0.113.9:1")));
        assert!(AllowList::default().allows(peer("203.0.113.9:1")));
    }

    #[test]
    fn bad_entries_are_refused_with_the_index() {
        for (entry, why) in [
            (json!("nope"), "not an IP address"),
            (json!("10.0.0.0/33"), "prefix length 33"),
            (json!("[::ffff:10.0.0.0/64]"), "96 to 128"),
            (json!("10.0.0.1:70000"), "bad port"),
            (json!("10.0.0.1:9-8"), "empty"),
            (json!("[::1"), "unclosed"),
            (json!(5), "must be a string"),
        ] {
            let e = AllowList::parse(&[json!("127.0.0.1"), entry]).unwrap_err();
            assert!(e.message.contains("allowed-peers[1]") && e.message.contains(why), "{}", e.message);
        }
    }
}

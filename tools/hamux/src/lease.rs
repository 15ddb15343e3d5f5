//! Reading a Kea `lease4-update` command with serde_json, the way a lease-storing handler
//! does: one pass over the JSON, strings borrowed from the body where possible.

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::net::Ipv4Addr;

/// The lease fields of a `lease4-update` command.
#[derive(Debug, Default, PartialEq)]
pub struct LeaseUpdate<'a> {
    pub ip: u32,
    pub hw: [u8; 6],
    pub client_id: Cow<'a, str>,
    pub subnet_id: u32,
    pub valid_lft: u32,
    pub expire: i64,
    pub hostname: Cow<'a, str>,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    pub state: u32,
}

/// Parses a command; `Err` has the text of a Kea error answer.
pub fn parse(body: &[u8]) -> Result<LeaseUpdate<'_>, String> {
    let command: Command<'_> = serde_json::from_slice(body).map_err(|e| format!("invalid command: {e}"))?;
    match command.name.as_deref() {
        Some("lease4-update") => {}
        Some(other) => return Err(format!("'{other}' command not supported.")),
        None => return Err("missing 'command' parameter".into()),
    }
    command.arguments.ok_or_else(|| "missing 'arguments' parameter".into())
}

struct Command<'a> {
    name: Option<Cow<'a, str>>,
    arguments: Option<LeaseUpdate<'a>>,
}

/// A string borrowed from the input unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Command<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Command<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Kea command object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Command<'de>, A::Error> {
                let mut cmd = Command { name: None, arguments: None };
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match &*key.0 {
                        "command" => cmd.name = Some(map.next_value::<Text<'de>>()?.0),
                        "arguments" => cmd.arguments = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(cmd)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for LeaseUpdate<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LeaseUpdate<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("lease4-update arguments")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LeaseUpdate<'de>, A::Error> {
                let mut lease = LeaseUpdate::default();
                let (mut has_ip, mut has_hw) = (false, false);
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match &*key.0 {
                        "ip-address" => {
                            let text = map.next_value::<Text<'de>>()?.0;
                            let ip: Ipv4Addr = text.parse().map_err(|_| {
                                de::Error::custom(format!("'ip-address' is not an IPv4 address: {text}"))
                            })?;
                            lease.ip = ip.into();
                            has_ip = true;
                        }
                        "hw-address" => {
                            let text = map.next_value::<Text<'de>>()?.0;
                            lease.hw = parse_hw(&text).ok_or_else(|| {
                                de::Error::custom(format!("'hw-address' is not a MAC address: {text}"))
                            })?;
                            has_hw = true;
                        }
                        "client-id" => lease.client_id = map.next_value::<Text<'de>>()?.0,
                        "hostname" => lease.hostname = map.next_value::<Text<'de>>()?.0,
                        "subnet-id" => lease.subnet_id = map.next_value()?,
                        "valid-lft" => lease.valid_lft = map.next_value()?,
                        "expire" => lease.expire = map.next_value()?,
                        "fqdn-fwd" => lease.fqdn_fwd = map.next_value()?,
                        "fqdn-rev" => lease.fqdn_rev = map.next_value()?,
                        "state" => lease.state = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if !has_ip {
                    return Err(de::Error::missing_field("ip-address"));
                }
                if !has_hw {
                    return Err(de::Error::missing_field("hw-address"));
                }
                Ok(lease)
            }
        }
        d.deserialize_map(V)
    }
}

/// `aa:bb:cc:dd:ee:ff` (also with `-`) into six bytes.
fn parse_hw(text: &str) -> Option<[u8; 6]> {
    let b = text.as_bytes();
    if b.len() != 17 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut hw = [0u8; 6];
    for (i, byte) in hw.iter_mut().enumerate() {
        let at = 3 * i;
        if i > 0 && !matches!(b[at - 1], b':' | b'-') {
            return None;
        }
        *byte = nibble(b[at])? << 4 | nibble(b[at + 1])?;
    }
    Some(hw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;

    #[test]
    fn reads_the_generated_bodies() {
        let mut body = Body::new(400, &crate::subnet::Subnet::DEFAULT).unwrap();
        body.set_lease(42);
        let lease = parse(body.bytes()).unwrap();
        assert_eq!(Ipv4Addr::from(lease.ip), Ipv4Addr::new(10, 100, 100, 142));
        assert_eq!(lease.hw, [2, 0, 0, 0, 0, 42]);
        assert_eq!(lease.client_id, "01:02:00:00:00:00:2a");
        assert!(lease.hostname.starts_with("client-000042") && matches!(lease.hostname, Cow::Borrowed(_)));
        assert_eq!((lease.subnet_id, lease.valid_lft, lease.state), (1, 3600, 0));
    }

    #[test]
    fn refuses_what_is_not_a_lease4_update() {
        assert!(parse(b"{\"command\":\"list-commands\"}").unwrap_err().contains("not supported"));
        assert!(parse(b"{\"command\":\"lease4-update\"}").unwrap_err().contains("arguments"));
        let bad_ip =
            br#"{"command":"lease4-update","arguments":{"ip-address":"x","hw-address":"02:00:00:00:00:01"}}"#;
        assert!(parse(bad_ip).unwrap_err().contains("ip-address"));
        assert!(parse(b"[1]").is_err());
        let escaped = br#"{"command":"lease4-update","arguments":{"ip-address":"10.0.0.1","hw-address":"02-00-00-00-00-01","hostname":"a\"b"}}"#;
        assert_eq!(parse(escaped).unwrap().hostname, "a\"b");
    }
}

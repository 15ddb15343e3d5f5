//! Kea's HA lease commands, built from typed leases, and reading Kea's `result`/`text`.
//!
//! The argument names and shapes are those Kea's own HA hook sends (its
//! `CommandCreator`): the lease as Kea renders it, `expire` instead of `cltt`,
//! `force-create` on updates and `origin: "ha-partner"` so the receiving server does not
//! replicate the change back.

use crate::Error;
use serde_json::{json, Map, Value};

/// An IPv4 lease. `None` and empty fields are left out of the command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lease4 {
    pub ip_address: String,
    pub hw_address: Option<String>,
    pub client_id: Option<String>,
    pub subnet_id: u32,
    pub valid_lft: u32,
    /// Absolute expiry (seconds since the epoch); 0 leaves it to the server (now + valid).
    pub expire: i64,
    pub hostname: Option<String>,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    /// 0 default, 1 declined, 2 expired-reclaimed.
    pub state: u32,
    /// A JSON object, as text.
    pub user_context: Option<String>,
}

/// The kind of an IPv6 lease.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lease6Type {
    #[default]
    NonTemporary,
    Prefix,
}

/// An IPv6 lease. `None` and empty fields are left out of the command.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lease6 {
    pub ip_address: String,
    pub lease_type: Lease6Type,
    pub prefix_len: u8,
    pub duid: String,
    pub iaid: u32,
    pub hw_address: Option<String>,
    pub subnet_id: u32,
    pub valid_lft: u32,
    pub preferred_lft: u32,
    pub expire: i64,
    pub hostname: Option<String>,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    pub state: u32,
    pub user_context: Option<String>,
}

fn put_opt(args: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
        args.insert(key.into(), v.into());
    }
}

fn put_context(args: &mut Map<String, Value>, text: &Option<String>) -> Result<(), Error> {
    if let Some(text) = text.as_deref().filter(|t| !t.is_empty()) {
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Object(_)) => {
                args.insert("user-context".into(), v);
            }
            _ => return Err(Error::invalid("user-context must be a JSON object")),
        }
    }
    Ok(())
}

fn require(value: &str, what: &str) -> Result<(), Error> {
    if value.is_empty() {
        Err(Error::invalid(format!("{what} is required")))
    } else {
        Ok(())
    }
}

impl Lease4 {
    fn arguments(&self) -> Result<Map<String, Value>, Error> {
        require(&self.ip_address, "ip-address")?;
        let mut args = Map::new();
        args.insert("ip-address".into(), self.ip_address.clone().into());
        put_opt(&mut args, "hw-address", &self.hw_address);
        put_opt(&mut args, "client-id", &self.client_id);
        args.insert("subnet-id".into(), self.subnet_id.into());
        args.insert("valid-lft".into(), self.valid_lft.into());
        if self.expire != 0 {
            args.insert("expire".into(), self.expire.into());
        }
        put_opt(&mut args, "hostname", &self.hostname);
        args.insert("fqdn-fwd".into(), self.fqdn_fwd.into());
        args.insert("fqdn-rev".into(), self.fqdn_rev.into());
        args.insert("state".into(), self.state.into());
        put_context(&mut args, &self.user_context)?;
        Ok(args)
    }
}

impl Lease6 {
    fn arguments(&self) -> Result<Map<String, Value>, Error> {
        require(&self.ip_address, "ip-address")?;
        require(&self.duid, "duid")?;
        let mut args = Map::new();
        args.insert("ip-address".into(), self.ip_address.clone().into());
        args.insert("type".into(), self.type_name().into());
        if self.lease_type == Lease6Type::Prefix {
            args.insert("prefix-len".into(), self.prefix_len.into());
        }
        args.insert("duid".into(), self.duid.clone().into());
        args.insert("iaid".into(), self.iaid.into());
        put_opt(&mut args, "hw-address", &self.hw_address);
        args.insert("subnet-id".into(), self.subnet_id.into());
        args.insert("valid-lft".into(), self.valid_lft.into());
        args.insert("preferred-lft".into(), self.preferred_lft.into());
        if self.expire != 0 {
            args.insert("expire".into(), self.expire.into());
        }
        put_opt(&mut args, "hostname", &self.hostname);
        args.insert("fqdn-fwd".into(), self.fqdn_fwd.into());
        args.insert("fqdn-rev".into(), self.fqdn_rev.into());
        args.insert("state".into(), self.state.into());
        put_context(&mut args, &self.user_context)?;
        Ok(args)
    }

    fn type_name(&self) -> &'static str {
        match self.lease_type {
            Lease6Type::NonTemporary => "IA_NA",
            Lease6Type::Prefix => "IA_PD",
        }
    }
}

fn command(name: &str, service: &str, arguments: Map<String, Value>) -> Value {
    json!({"command": name, "service": [service], "arguments": arguments})
}

fn ha_update(mut args: Map<String, Value>) -> Map<String, Value> {
    args.insert("force-create".into(), true.into());
    args.insert("origin".into(), "ha-partner".into());
    args
}

fn ha_delete(mut args: Map<String, Value>) -> Map<String, Value> {
    args.insert("origin".into(), "ha-partner".into());
    args
}

/// `lease4-update` as Kea's HA sends it to a partner.
pub fn lease4_update(lease: &Lease4) -> Result<Value, Error> {
    Ok(command("lease4-update", "dhcp4", ha_update(lease.arguments()?)))
}

/// `lease4-del` as Kea's HA sends it to a partner.
pub fn lease4_del(lease: &Lease4) -> Result<Value, Error> {
    Ok(command("lease4-del", "dhcp4", ha_delete(lease.arguments()?)))
}

/// `lease6-update` as Kea's HA sends it to a partner.
pub fn lease6_update(lease: &Lease6) -> Result<Value, Error> {
    Ok(command("lease6-update", "dhcp6", ha_update(lease.arguments()?)))
}

/// `lease6-del` as Kea's HA sends it to a partner.
pub fn lease6_del(lease: &Lease6) -> Result<Value, Error> {
    Ok(command("lease6-del", "dhcp6", ha_delete(lease.arguments()?)))
}

/// `lease6-bulk-apply`: `leases` added or updated and `deleted` removed, in one command.
pub fn lease6_bulk_apply(leases: &[Lease6], deleted: &[Lease6]) -> Result<Value, Error> {
    let leases: Result<Vec<Value>, Error> = leases.iter().map(|l| l.arguments().map(Value::Object)).collect();
    let deleted: Result<Vec<Value>, Error> = deleted
        .iter()
        .map(|l| {
            require(&l.ip_address, "ip-address")?;
            Ok(json!({"ip-address": l.ip_address, "type": l.type_name()}))
        })
        .collect();
    let mut args = Map::new();
    args.insert("deleted-leases".into(), Value::Array(deleted?));
    args.insert("leases".into(), Value::Array(leases?));
    args.insert("origin".into(), "ha-partner".into());
    Ok(command("lease6-bulk-apply", "dhcp6", args))
}

/// Kea's answer: `result` (0 success, 1 error, 2 unsupported, 3 empty) and `text`.
/// Accepts the list Kea's HTTP interface returns and a bare object.
pub fn reply_result(body: &[u8]) -> Result<(i64, String), Error> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| Error::invalid(format!("reply is not valid JSON: {e}")))?;
    let answer = match &value {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    };
    let result = answer
        .get("result")
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::invalid("reply has no integer 'result'"))?;
    let text = answer.get("text").and_then(Value::as_str).unwrap_or("").to_string();
    Ok((result, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease4() -> Lease4 {
        Lease4 {
            ip_address: "192.0.2.1".into(),
            hw_address: Some("1a:1b:1c:1d:1e:1f".into()),
            subnet_id: 1,
            valid_lft: 3600,
            expire: 1_800_000_000,
            hostname: Some("h.example.org".into()),
            user_context: Some(r#"{"a":1}"#.into()),
            ..Lease4::default()
        }
    }

    #[test]
    fn lease4_update_has_keas_arguments() {
        let cmd = lease4_update(&lease4()).unwrap();
        assert_eq!(cmd["command"], "lease4-update");
        let a = &cmd["arguments"];
        assert_eq!(a["ip-address"], "192.0.2.1");
        assert_eq!(a["hw-address"], "1a:1b:1c:1d:1e:1f");
        assert_eq!((a["subnet-id"].as_u64(), a["valid-lft"].as_u64()), (Some(1), Some(3600)));
        assert_eq!((a["expire"].as_i64(), a["force-create"].as_bool()), (Some(1_800_000_000), Some(true)));
        assert_eq!((a["origin"].as_str(), a["user-context"]["a"].as_i64()), (Some("ha-partner"), Some(1)));
        assert!(a.get("client-id").is_none());
        let del = lease4_del(&lease4()).unwrap();
        assert_eq!(del["command"], "lease4-del");
        assert!(del["arguments"].get("force-create").is_none());
    }

    #[test]
    fn lease6_commands_and_bulk_apply() {
        let lease = Lease6 {
            ip_address: "2001:db8::1".into(),
            duid: "00:01:02".into(),
            iaid: 7,
            lease_type: Lease6Type::Prefix,
            prefix_len: 56,
            ..Lease6::default()
        };
        let cmd = lease6_update(&lease).unwrap();
        assert_eq!(
            (cmd["arguments"]["type"].as_str(), cmd["arguments"]["prefix-len"].as_u64()),
            (Some("IA_PD"), Some(56))
        );
        let bulk = lease6_bulk_apply(std::slice::from_ref(&lease), std::slice::from_ref(&lease)).unwrap();
        assert_eq!(bulk["command"], "lease6-bulk-apply");
        assert_eq!(bulk["arguments"]["leases"][0]["iaid"], 7);
        assert_eq!(
            bulk["arguments"]["deleted-leases"][0],
            json!({"ip-address": "2001:db8::1", "type": "IA_PD"})
        );
    }

    #[test]
    fn missing_fields_and_bad_context_are_refused() {
        assert!(lease4_update(&Lease4::default()).unwrap_err().message.contains("ip-address"));
        let bad = Lease4 { user_context: Some("[1]".into()), ..lease4() };
        assert!(lease4_update(&bad).unwrap_err().message.contains("user-context"));
        let no_duid = Lease6 { ip_address: "2001:db8::1".into(), ..Lease6::default() };
        assert!(lease6_update(&no_duid).unwrap_err().message.contains("duid"));
    }

    #[test]
    fn reads_keas_result_and_text() {
        assert_eq!(
            reply_result(br#"[ { "result": 0, "text": "IPv4 lease added." } ]"#).unwrap(),
            (0, "IPv4 lease added.".into())
        );
        assert_eq!(
            reply_result(br#"{ "result": 400, "text": "Bad Request" }"#).unwrap(),
            (400, "Bad Request".into())
        );
        assert!(reply_result(b"[]").is_err());
        assert!(reply_result(b"nope").is_err());
    }
}

//! `hamux_lease*`: Kea's HA lease commands from typed C structs, for hosts that do not
//! speak Kea JSON, and `hamux_reply_result` to read Kea's answer.

use super::boundary::{bytes, c_str, guard, non_null};
use super::client::{hamux_client, hamux_response_cb, send};
use super::status::hamux_status;
use super::strings::into_c_string;
use crate::lease::{self, Lease4, Lease6, Lease6Type};
use crate::Error;
use serde_json::Value;
use std::ffi::{c_char, c_void};

/// An IPv4 lease. Strings are NUL-terminated; NULL (or "") leaves an optional field out.
#[repr(C)]
pub struct hamux_lease4 {
    /// Required, e.g. "192.0.2.1".
    pub ip_address: *const c_char,
    /// e.g. "1a:1b:1c:1d:1e:1f".
    pub hw_address: *const c_char,
    pub client_id: *const c_char,
    pub subnet_id: u32,
    pub valid_lft: u32,
    /// Absolute expiry in seconds since the epoch; 0 leaves it to the server.
    pub expire: i64,
    pub hostname: *const c_char,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    /// 0 default, 1 declined, 2 expired-reclaimed.
    pub state: u32,
    /// A JSON object as text, or NULL.
    pub user_context: *const c_char,
}

/// The kind of an IPv6 lease (`hamux_lease6.lease_type`).
#[repr(C)]
pub enum hamux_lease6_type {
    /// A non-temporary address (IA_NA).
    HAMUX_LEASE6_IA_NA = 0,
    /// A delegated prefix (IA_PD); set `prefix_len`.
    HAMUX_LEASE6_IA_PD = 1,
}

/// An IPv6 lease. Strings are NUL-terminated; NULL (or "") leaves an optional field out.
#[repr(C)]
pub struct hamux_lease6 {
    /// Required, e.g. "2001:db8::1".
    pub ip_address: *const c_char,
    /// A `hamux_lease6_type` value.
    pub lease_type: u32,
    /// Prefix length, for IA_PD.
    pub prefix_len: u8,
    /// Required, e.g. "00:03:00:01:1a:1b:1c:1d:1e:1f".
    pub duid: *const c_char,
    pub iaid: u32,
    pub hw_address: *const c_char,
    pub subnet_id: u32,
    pub valid_lft: u32,
    pub preferred_lft: u32,
    /// Absolute expiry in seconds since the epoch; 0 leaves it to the server.
    pub expire: i64,
    pub hostname: *const c_char,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    pub state: u32,
    /// A JSON object as text, or NULL.
    pub user_context: *const c_char,
}

unsafe fn opt(ptr: *const c_char, what: &str) -> Result<Option<String>, Error> {
    if ptr.is_null() {
        Ok(None)
    } else {
        Ok(Some(c_str(ptr, what)?.to_string()))
    }
}

unsafe fn lease4_from(lease: *const hamux_lease4) -> Result<Lease4, Error> {
    non_null(lease, "lease")?;
    let l = &*lease;
    Ok(Lease4 {
        ip_address: c_str(l.ip_address, "ip_address")?.to_string(),
        hw_address: opt(l.hw_address, "hw_address")?,
        client_id: opt(l.client_id, "client_id")?,
        subnet_id: l.subnet_id,
        valid_lft: l.valid_lft,
        expire: l.expire,
        hostname: opt(l.hostname, "hostname")?,
        fqdn_fwd: l.fqdn_fwd,
        fqdn_rev: l.fqdn_rev,
        state: l.state,
        user_context: opt(l.user_context, "user_context")?,
    })
}

unsafe fn lease6_from(l: &hamux_lease6) -> Result<Lease6, Error> {
    let lease_type = match l.lease_type {
        0 => Lease6Type::NonTemporary,
        1 => Lease6Type::Prefix,
        other => return Err(Error::invalid(format!("lease_type {other} is not a hamux_lease6_type"))),
    };
    Ok(Lease6 {
        ip_address: c_str(l.ip_address, "ip_address")?.to_string(),
        lease_type,
        prefix_len: l.prefix_len,
        duid: c_str(l.duid, "duid")?.to_string(),
        iaid: l.iaid,
        hw_address: opt(l.hw_address, "hw_address")?,
        subnet_id: l.subnet_id,
        valid_lft: l.valid_lft,
        preferred_lft: l.preferred_lft,
        expire: l.expire,
        hostname: opt(l.hostname, "hostname")?,
        fqdn_fwd: l.fqdn_fwd,
        fqdn_rev: l.fqdn_rev,
        state: l.state,
        user_context: opt(l.user_context, "user_context")?,
    })
}

unsafe fn leases6_from(ptr: *const hamux_lease6, count: usize, what: &str) -> Result<Vec<Lease6>, Error> {
    if count == 0 {
        return Ok(Vec::new());
    }
    non_null(ptr, what)?;
    std::slice::from_raw_parts(ptr, count).iter().map(|l| lease6_from(l)).collect()
}

unsafe fn send_value(
    client: *mut hamux_client,
    peer_url: *const c_char,
    command: Value,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> Result<(), Error> {
    send(client, peer_url, command.to_string().as_bytes(), cb, user_data, txid_out)
}

/// Sends Kea's `lease4-update` for `lease` (with `force-create` and `origin:
/// "ha-partner"`, as Kea's HA does). Otherwise as `hamux_client_send`.
#[no_mangle]
pub unsafe extern "C" fn hamux_lease4_update(
    client: *mut hamux_client,
    peer_url: *const c_char,
    lease: *const hamux_lease4,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| {
        send_value(client, peer_url, lease::lease4_update(&lease4_from(lease)?)?, cb, user_data, txid_out)
    })
}

/// Sends Kea's `lease4-del` for `lease`. Otherwise as `hamux_client_send`.
#[no_mangle]
pub unsafe extern "C" fn hamux_lease4_del(
    client: *mut hamux_client,
    peer_url: *const c_char,
    lease: *const hamux_lease4,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| send_value(client, peer_url, lease::lease4_del(&lease4_from(lease)?)?, cb, user_data, txid_out))
}

/// Sends Kea's `lease6-update` for `lease`. Otherwise as `hamux_client_send`.
#[no_mangle]
pub unsafe extern "C" fn hamux_lease6_update(
    client: *mut hamux_client,
    peer_url: *const c_char,
    lease: *const hamux_lease6,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| {
        let lease = leases6_from(lease, 1, "lease")?;
        send_value(client, peer_url, lease::lease6_update(&lease[0])?, cb, user_data, txid_out)
    })
}

/// Sends Kea's `lease6-del` for `lease`. Otherwise as `hamux_client_send`.
#[no_mangle]
pub unsafe extern "C" fn hamux_lease6_del(
    client: *mut hamux_client,
    peer_url: *const c_char,
    lease: *const hamux_lease6,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| {
        let lease = leases6_from(lease, 1, "lease")?;
        send_value(client, peer_url, lease::lease6_del(&lease[0])?, cb, user_data, txid_out)
    })
}

/// Sends Kea's `lease6-bulk-apply`: the `leases_count` leases in `leases` are added or
/// updated and the `deleted_count` in `deleted` removed (arrays may be NULL with a count
/// of 0). Otherwise as `hamux_client_send`.
#[no_mangle]
pub unsafe extern "C" fn hamux_lease6_bulk_apply(
    client: *mut hamux_client,
    peer_url: *const c_char,
    leases: *const hamux_lease6,
    leases_count: usize,
    deleted: *const hamux_lease6,
    deleted_count: usize,
    cb: hamux_response_cb,
    user_data: *mut c_void,
    txid_out: *mut u64,
) -> hamux_status {
    guard(|| {
        let leases = leases6_from(leases, leases_count, "leases")?;
        let deleted = leases6_from(deleted, deleted_count, "deleted")?;
        send_value(client, peer_url, lease::lease6_bulk_apply(&leases, &deleted)?, cb, user_data, txid_out)
    })
}

/// Reads Kea's answer in a reply body: writes `result` (0 success, 1 error, 2 command not
/// supported, 3 nothing found; HTTP-level refusals carry the HTTP status, e.g. 400) to
/// `*result_out`, and, if `text_out` is not NULL, the `text` as a string to free with
/// `hamux_string_free`. HAMUX_E_INVALID if the body is not a Kea answer.
#[no_mangle]
pub unsafe extern "C" fn hamux_reply_result(
    body: *const u8,
    body_len: usize,
    result_out: *mut i64,
    text_out: *mut *mut c_char,
) -> hamux_status {
    guard(|| {
        non_null(result_out, "result_out")?;
        let (result, text) = lease::reply_result(bytes(body, body_len, "body")?)?;
        *result_out = result;
        if !text_out.is_null() {
            *text_out = into_c_string(text);
        }
        Ok(())
    })
}

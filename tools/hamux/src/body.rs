//! Request bodies: Kea `lease4-update` commands as an HA partner sends them.
//!
//! A body is built once per sending thread ([`RunBody`]) from a template whose varying
//! fields have a fixed width; each request then only overwrites those bytes in place (no allocation, no
//! formatting on the hot path). Leases are numbered `0..pool`; lease `n` gets its address
//! from the [`Subnet`] (written as `"a.b.c.d"` padded with spaces, which JSON ignores, to
//! the width of the longest address), its own hardware address, client id and hostname.

use crate::subnet::Subnet;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest `--body-size` (hamux's default `max-frame-bytes`); the smallest is
/// [`Body::min_size`], the body without padding.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Where the varying fields sit in the template.
#[derive(Clone, Copy, Debug)]
struct Layout {
    ip: usize,
    hw: usize,
    client_id: usize,
    expire: usize,
    host: usize,
}

/// A body with fixed-width fields, rewritten in place for each lease.
#[derive(Clone)]
pub struct Body {
    bytes: Vec<u8>,
    at: Layout,
    expire_base: u64,
    subnet: Subnet,
}

const HOST_PREFIX: &str = "client-";
const HOST_SUFFIX: &str = ".example.org";
/// Hostname padding is used up to this many bytes; beyond, a `user-context` carries it.
const HOST_PAD_MAX: usize = 190;

/// The address field: `"255.255.255.255"`, the widest; shorter addresses are padded.
const IP_FIELD: usize = 17;

fn render(subnet_id: u32, host_pad: usize, context_pad: Option<usize>, expire: u64) -> String {
    let pad = "x".repeat(host_pad);
    let context = match context_pad {
        Some(n) => format!(",\"user-context\":{{\"ha-bench-padding\":\"{}\"}}", "p".repeat(n)),
        None => String::new(),
    };
    format!(
        concat!(
            "{{\"command\":\"lease4-update\",\"service\":[\"dhcp4\"],\"arguments\":{{",
            "\"ip-address\":\"255.255.255.255\",\"hw-address\":\"02:00:00:00:00:00\",",
            "\"client-id\":\"01:02:00:00:00:00:00\",\"subnet-id\":{subnet_id},\"valid-lft\":3600,",
            "\"expire\":{expire},\"hostname\":\"{prefix}000000{pad}{suffix}\",",
            "\"fqdn-fwd\":false,\"fqdn-rev\":false,\"state\":0,\"force-create\":true,",
            "\"origin\":\"ha-partner\"{context}}}}}"
        ),
        subnet_id = subnet_id,
        expire = expire,
        prefix = HOST_PREFIX,
        pad = pad,
        suffix = HOST_SUFFIX,
        context = context,
    )
}

fn offset(text: &str, key: &str) -> usize {
    let needle = format!("\"{key}\":");
    text.find(&needle).map(|i| i + needle.len()).expect("template has every field")
}

impl Body {
    /// The smallest body (no padding) for leases of `subnet`.
    pub fn min_size(subnet: &Subnet) -> usize {
        render(subnet.id, 0, None, 1_000_000_000).len()
    }

    /// A body of exactly `size` bytes (at least [`min_size`](Self::min_size)) for leases
    /// of `subnet`.
    pub fn new(size: usize, subnet: &Subnet) -> Result<Body, String> {
        let min = Body::min_size(subnet);
        if !(min..=MAX_BODY).contains(&size) {
            return Err(format!("--body-size must be from {min} to {MAX_BODY} bytes, got {size}"));
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        // Ten digits until 2286; the per-lease offset below stays under 3600.
        let expire_base = (now + 3600).clamp(1_000_000_000, 9_999_990_000);
        let extra = size - min;
        let id = subnet.id;
        let context_overhead = render(id, 0, Some(0), expire_base).len() - min;
        let text = if extra <= HOST_PAD_MAX || extra < context_overhead {
            render(id, extra, None, expire_base)
        } else {
            render(id, 0, Some(extra - context_overhead), expire_base)
        };
        debug_assert_eq!(text.len(), size);
        let at = Layout {
            ip: offset(&text, "ip-address"),
            hw: offset(&text, "hw-address") + 1,
            client_id: offset(&text, "client-id") + 1,
            expire: offset(&text, "expire"),
            host: offset(&text, "hostname") + 1 + HOST_PREFIX.len(),
        };
        Ok(Body { bytes: text.into_bytes(), at, expire_base, subnet: *subnet })
    }

    /// Rewrites the body for lease `n` (taken modulo the subnet's pool); returns its address.
    pub fn set_lease(&mut self, n: u64) -> u32 {
        let n = n % self.subnet.pool();
        let ip = self.subnet.address(n);
        let b = &mut self.bytes;
        write_ip(&mut b[self.at.ip..self.at.ip + IP_FIELD], ip);
        // hw-address "02:00:00:XX:XX:XX" and client-id "01:" + hw-address
        for (i, shift) in [16u32, 8, 0].into_iter().enumerate() {
            let byte = (n >> shift) as u8;
            hex(&mut b[self.at.hw + 9 + 3 * i..], byte);
            hex(&mut b[self.at.client_id + 12 + 3 * i..], byte);
        }
        decimal(&mut b[self.at.expire..self.at.expire + 10], self.expire_base + n % 3600);
        decimal(&mut b[self.at.host..self.at.host + 6], n);
        ip
    }

    pub fn pool(&self) -> u64 {
        self.subnet.pool()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// One run's body, written for each send in a buffer of the sending thread's rather than
/// of the chain's: `hamux_client_send` copies the body before it returns, so one hot
/// buffer per thread serves every chain. With a body per chain, 64 peers with 512 updates
/// in flight each made 13 MB of bodies written on every send: cache misses that made the
/// bench's own share of the client's CPU per update grow with the updates in flight (a
/// profile: `set_lease` 0.24 -> 0.67 and the reply callback 0.11 -> 0.74 samples per
/// thousand updates from 1 to 64 peers), where a Kea primary's per-query state is Kea's.
pub struct RunBody {
    template: Body,
    /// This run's number: a thread's buffer is made from the template of the run it was
    /// made for.
    run: u64,
}

thread_local! {
    /// The sending thread's body buffer: (run, body).
    static SCRATCH: Cell<Option<(u64, Body)>> = const { Cell::new(None) };
}

/// Runs so far, for [`RunBody::run`].
static RUNS: AtomicU64 = AtomicU64::new(0);

impl RunBody {
    pub fn new(template: Body) -> RunBody {
        RunBody { template, run: RUNS.fetch_add(1, Ordering::Relaxed) }
    }

    /// Runs `send` with the body of lease `n` (and its address), in this thread's buffer.
    pub fn with_lease<R>(&self, n: u64, send: impl FnOnce(u32, &[u8]) -> R) -> R {
        // Taken out while in use: a send that completes at once on this thread (the
        // client shutting down) and sends again finds none and makes its own.
        let mut body = match SCRATCH.take() {
            Some((run, body)) if run == self.run => body,
            _ => self.template.clone(),
        };
        let ip = body.set_lease(n);
        let out = send(ip, body.bytes());
        SCRATCH.set(Some((self.run, body)));
        out
    }
}

/// Writes `value` right-aligned in decimal over all of `out`, zero-padded.
fn decimal(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Writes `"a.b.c.d"` at the start of `out` and fills the rest with spaces.
fn write_ip(out: &mut [u8], ip: u32) {
    out[0] = b'"';
    let mut at = 1;
    for (i, octet) in ip.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            out[at] = b'.';
            at += 1;
        }
        let digits = 1 + usize::from(octet >= 10) + usize::from(octet >= 100);
        decimal(&mut out[at..at + digits], octet as u64);
        at += digits;
    }
    out[at] = b'"';
    out[at + 1..].fill(b' ');
}

fn hex(out: &mut [u8], byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out[0] = DIGITS[(byte >> 4) as usize];
    out[1] = DIGITS[(byte & 15) as usize];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_body_is_the_template_with_the_lease_whatever_ran_on_the_thread_before() {
        let subnet = Subnet::DEFAULT;
        let small = RunBody::new(Body::new(350, &subnet).unwrap());
        let large = RunBody::new(Body::new(600, &subnet).unwrap());
        let expected = |run: &RunBody, n: u64| {
            let mut b = run.template.clone();
            let ip = b.set_lease(n);
            (ip, b.bytes().to_vec())
        };
        let got = |run: &RunBody, n| run.with_lease(n, |ip, bytes| (ip, bytes.to_vec()));
        assert_eq!(got(&small, 7), expected(&small, 7));
        // Another run's buffer on this thread is not reused for this one.
        assert_eq!(got(&large, 8), expected(&large, 8));
        assert_eq!(got(&large, 8).1.len(), 600);
        assert_eq!(got(&small, 9), expected(&small, 9));
        // A send made from inside a send (a completion run at once) gets a buffer too.
        let nested = small.with_lease(10, |_, outer| (outer.to_vec(), got(&small, 11)));
        assert_eq!(nested, (expected(&small, 10).1, expected(&small, 11)));
    }

    #[test]
    fn bodies_are_valid_json_of_the_asked_size_with_the_lease_in_place() {
        let wide = Subnet::DEFAULT;
        let min = Body::min_size(&wide);
        for size in [min, min + 1, 350, min + 190, min + 191, min + 250, 4096] {
            let mut body = Body::new(size, &wide).unwrap();
            assert_eq!(body.set_lease(12_345), u32::from(std::net::Ipv4Addr::new(10, 101, 123, 145)));
            assert_eq!(body.bytes().len(), size);
            let v: serde_json::Value = serde_json::from_slice(body.bytes()).unwrap();
            let args = &v["arguments"];
            assert_eq!(args["ip-address"], "10.101.123.145");
            assert_eq!(args["hw-address"], "02:00:00:00:30:39");
            assert_eq!(args["client-id"], "01:02:00:00:00:30:39");
            assert!(args["hostname"].as_str().unwrap().starts_with("client-012345"));
            assert!(args["expire"].as_u64().unwrap() >= 1_000_000_000);
        }
        assert!(Body::new(min - 1, &wide).is_err());
    }

    #[test]
    fn short_addresses_are_padded_and_the_subnet_id_is_set() {
        let subnet = Subnet::parse("192.0.2.0/24", 42).unwrap();
        let mut body = Body::new(400, &subnet).unwrap();
        for (n, ip) in [(0, "192.0.2.1"), (9, "192.0.2.10"), (253, "192.0.2.254")] {
            body.set_lease(n);
            assert_eq!(body.bytes().len(), 400);
            let text = std::str::from_utf8(body.bytes()).unwrap();
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                (v["arguments"]["ip-address"].as_str(), v["arguments"]["subnet-id"].as_u64()),
                (Some(ip), Some(42))
            );
            assert!(text.contains(&format!("\"{ip}\"{},", " ".repeat(15 - ip.len()))));
        }
    }
}

//! The addresses the benchmark's leases get: a subnet (`--subnet`, default 10.0.0.0/8)
//! and the Kea `subnet-id` it has (`--subnet-id`, default 1). A real Kea accepts a
//! `lease4-update` only for an address inside the subnet configured with that id.

use std::fmt;
use std::net::Ipv4Addr;

/// Leases the benchmark picks from at random (the size of the simulated address pool),
/// unless the subnet is smaller. 100k leases keep the listener's store within the L3
/// cache of a small machine; with 1M its cache misses cost about 25% of the round trips/s.
pub const POOL: u64 = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subnet {
    base: u32,
    prefix: u8,
    pub id: u32,
}

impl Subnet {
    /// 10.0.0.0/8 with subnet-id 1 (the `--subnet` default is the same, written out).
    pub const DEFAULT: Subnet = Subnet { base: 10 << 24, prefix: 8, id: 1 };

    /// `a.b.c.d/len` (len 1 to 30, host bits zero) with Kea subnet-id `id`.
    pub fn parse(cidr: &str, id: u32) -> Result<Subnet, String> {
        let bad = || format!("--subnet must be an IPv4 subnet from /1 to /30, e.g. 10.0.0.0/8, got '{cidr}'");
        let (addr, len) = cidr.split_once('/').ok_or_else(bad)?;
        let base = u32::from(addr.parse::<Ipv4Addr>().map_err(|_| bad())?);
        let prefix: u8 = len.parse().ok().filter(|p| (1..=30).contains(p)).ok_or_else(bad)?;
        let mask = u32::MAX << (32 - prefix);
        if base & !mask != 0 {
            let net = Ipv4Addr::from(base & mask);
            return Err(format!("--subnet {cidr} has host bits set (the subnet is {net}/{prefix})"));
        }
        Ok(Subnet { base, prefix, id })
    }

    /// How many leases the benchmark uses: [`POOL`], or every usable address of a
    /// smaller subnet.
    pub fn pool(&self) -> u64 {
        POOL.min((1u64 << (32 - self.prefix)) - 2)
    }

    /// The address of lease `n` (taken modulo [`pool`](Self::pool)). In a /8 or wider,
    /// lease `n` is `net.(100 + n / 10000).(100 + n / 100 % 100).(100 + n % 100)` (easy to
    /// read: three digits per octet); in a smaller subnet, the `n + 1`th host address.
    pub fn address(&self, n: u64) -> u32 {
        let n = n % self.pool();
        if self.prefix <= 8 {
            self.base | ((100 + n / 10_000) << 16 | (100 + n / 100 % 100) << 8 | (100 + n % 100)) as u32
        } else {
            self.base + 1 + n as u32
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// Whether the head-of-line handler answers a lease late: its address ends in `.100`
/// (1% of the leases of a /8; the driver classifies replies by the same rule).
pub fn is_slow_address(ip: u32) -> bool {
    ip & 0xff == 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_inside_the_subnet() {
        let wide = Subnet::DEFAULT;
        assert_eq!(Ipv4Addr::from(wide.address(12_345)), Ipv4Addr::new(10, 101, 123, 145));
        assert_eq!(wide.pool(), POOL);
        assert_eq!((0..POOL).filter(|&n| is_slow_address(wide.address(n))).count(), 1000);
        let small = Subnet::parse("192.0.2.0/24", 7).unwrap();
        assert_eq!((small.pool(), small.id, small.to_string()), (254, 7, "192.0.2.0/24".into()));
        assert_eq!(Ipv4Addr::from(small.address(0)), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(Ipv4Addr::from(small.address(253)), Ipv4Addr::new(192, 0, 2, 254));
        assert_eq!(small.address(254), small.address(0));
        let mid = Subnet::parse("172.16.0.0/12", 1).unwrap();
        assert_eq!(Ipv4Addr::from(mid.address(99_999)), Ipv4Addr::new(172, 17, 134, 160));
        for bad in ["10.0.0.0", "10.0.0.1/8", "10.0.0.0/31", "10.0.0.0/0", "x/8", "10.0.0.0/a"] {
            assert!(Subnet::parse(bad, 1).is_err(), "{bad}");
        }
    }
}

//! A log-linear latency histogram: 32 linear buckets per power of two (under 3.2% wide),
//! from 1 ns to about 18 minutes, in 9.5 KiB. One per window slot, so recording is a
//! plain increment on memory no other thread touches; merged once at the end.

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values are clamped to 2^40 ns (about 18 minutes).
const MAX_EXP: u32 = 40;
const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) as usize) * SUB as usize;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], total: 0, max: 0 }
    }
}

/// The bucket of `v`: values under 32 have their own; above, 32 per power of two.
fn index(v: u64) -> usize {
    let v = v.min((1 << (MAX_EXP + 1)) - 1);
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    let group = (exp - SUB_BITS + 1) as u64;
    (group * SUB + ((v >> (exp - SUB_BITS)) - SUB)) as usize
}

/// The smallest value in bucket `i`, and the bucket's width.
fn bucket_range(i: usize) -> (u64, u64) {
    let (group, offset) = (i as u64 / SUB, i as u64 % SUB);
    if group == 0 {
        return (offset, 1);
    }
    let shift = group - 1;
    ((SUB + offset) << shift, 1 << shift)
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The nearest-rank `p` quantile (0 < p ≤ 1), as the middle of its bucket (never above
    /// the maximum recorded); 0 when empty.
    pub fn quantile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((p * self.total as f64).ceil() as u64).clamp(1, self.total);
        if rank == self.total {
            return self.max;
        }
        let mut seen = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (low, width) = bucket_range(i);
                return (low + width / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut last = 0;
        for v in (0..100_000u64).chain([1 << 20, (1 << 20) + 12345, 1 << 39, u64::MAX]) {
            let i = index(v);
            assert!(i >= last && i < BUCKETS, "{v}");
            last = i;
            let (low, width) = bucket_range(i);
            let clamped = v.min((1 << (MAX_EXP + 1)) - 1);
            assert!(low <= clamped && clamped < low + width, "{v}: [{low}, +{width})");
            assert!(width * 32 <= low.max(32), "{v}: bucket too wide");
        }
    }

    #[test]
    fn quantiles_are_within_the_bucket_precision() {
        let mut h = Histogram::default();
        let mut other = Histogram::default();
        for v in 1..=100_000u64 {
            if v % 2 == 0 {
                h.record(v * 1000)
            } else {
                other.record(v * 1000)
            }
        }
        h.merge(&other);
        assert_eq!((h.count(), h.max()), (100_000, 100_000_000));
        for (p, want) in [(0.5, 50_000_000.0), (0.99, 99_000_000.0), (0.999, 99_900_000.0)] {
            let got = h.quantile(p) as f64;
            assert!((got - want).abs() / want < 0.02, "p{p}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 100_000_000);
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }
}

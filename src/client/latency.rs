//! A lock-free latency histogram for stats: log-linear buckets of microseconds (8 per
//! power of two, so a percentile is within 12.5% of the truth), one atomic add per sample,
//! on a copy of the buckets of the recording thread's own (see [`crate::counter`]).

use crate::counter::{stripe, STRIPES};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

const SUB_BUCKETS: u32 = 8;
const BUCKETS: usize = (64 * SUB_BUCKETS) as usize;

pub(crate) struct LatencyHistogram {
    /// `STRIPES` histograms one after the other (4 KiB each: no cache line shared).
    buckets: Box<[AtomicU64]>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { buckets: (0..BUCKETS * STRIPES).map(|_| AtomicU64::new(0)).collect() }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB_BUCKETS as u64 {
        return us as usize;
    }
    let power = 63 - us.leading_zeros(); // us in [2^power, 2^(power+1))
    let shift = power - SUB_BUCKETS.trailing_zeros();
    let sub = (us >> shift) as u32 - SUB_BUCKETS; // 0..SUB_BUCKETS
    ((power - SUB_BUCKETS.trailing_zeros() + 1) * SUB_BUCKETS + sub) as usize
}

/// The largest value that falls in `bucket` (a percentile reports this upper bound).
fn upper_bound(bucket: usize) -> u64 {
    let b = bucket as u32;
    if b < SUB_BUCKETS {
        return b as u64;
    }
    let shift = b / SUB_BUCKETS - 1;
    let sub = b % SUB_BUCKETS;
    (((SUB_BUCKETS + sub + 1) as u64) << shift) - 1
}

impl LatencyHistogram {
    pub(crate) fn record(&self, latency: Duration) {
        let us = latency.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[stripe() * BUCKETS + bucket_of(us).min(BUCKETS - 1)].fetch_add(1, Relaxed);
    }

    /// The `q` quantile (0.0..=1.0) in microseconds; 0 with no samples.
    pub(crate) fn quantile_us(&self, q: f64) -> u64 {
        let mut counts = vec![0u64; BUCKETS];
        for histogram in self.buckets.chunks(BUCKETS) {
            for (sum, b) in counts.iter_mut().zip(histogram) {
                *sum += b.load(Relaxed);
            }
        }
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return upper_bound(i);
            }
        }
        upper_bound(BUCKETS - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for us in [0u64, 1, 7, 8, 9, 15, 16, 100, 1000, 12_345, 1 << 20, u32::MAX as u64] {
            let b = bucket_of(us);
            assert!(b >= last, "{us}");
            last = b;
            let upper = upper_bound(b);
            assert!(upper >= us && upper as f64 <= us.max(1) as f64 * 1.125 + 1.0, "{us} -> {upper}");
        }
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = LatencyHistogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile_us(0.5);
        let p99 = h.quantile_us(0.99);
        assert!((500..=563).contains(&p50), "p50 {p50}");
        assert!((990..=1114).contains(&p99), "p99 {p99}");
        assert_eq!(LatencyHistogram::default().quantile_us(0.5), 0);
    }

    #[test]
    fn quantiles_count_every_threads_samples() {
        let h = std::sync::Arc::new(LatencyHistogram::default());
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let h = h.clone();
                // Thread t records the microseconds t+1, t+5, ...: 1..=1000 over all four.
                std::thread::spawn(move || {
                    (0..250).for_each(|k| h.record(Duration::from_micros(t + 1 + 4 * k)))
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert!((500..=563).contains(&h.quantile_us(0.5)), "p50 {}", h.quantile_us(0.5));
        assert!((990..=1114).contains(&h.quantile_us(0.99)), "p99 {}", h.quantile_us(0.99));
    }
}

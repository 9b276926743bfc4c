//! Latency recording: a fixed-size log-linear histogram, so memory stays bounded however long
//! or fast a run is, and merging the per-connection histograms is a cheap element-wise sum.

/// Values below this are recorded exactly, one bucket per microsecond.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above [`LINEAR`]: a recorded value is off by less than 1/64 of
/// itself (under 1.6 %), far below the run-to-run noise of a shared VM.
const SUB: u64 = 64;
/// Powers of two covered above [`LINEAR`]: up to 2^40 µs (12 days); larger values saturate.
const OCTAVES: u64 = 33;
const BUCKETS: usize = (LINEAR + SUB * OCTAVES) as usize;

/// Microsecond latencies.
#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
        }
    }
}

impl Histogram {
    /// Records one latency of `micros` microseconds.
    pub(crate) fn record(&mut self, micros: u64) {
        let i = bucket_of(micros);
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
            self.total += 1;
        }
    }

    /// Adds every sample of `other`.
    pub(crate) fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The number of samples.
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    /// The nearest-rank `p`-th percentile (0 < p ≤ 100) in microseconds: the smallest recorded
    /// value with at least `p` % of the samples at or below it, or `None` when empty. Exact
    /// below 128 µs; above, the middle of the bucket that holds it.
    pub(crate) fn percentile(&self, p: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        // Float-to-int casts saturate; the clamp keeps the rank within 1..=total.
        let rank = ((p / 100.0 * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds_of(i);
                return Some((lo + hi) as f64 / 2.0);
            }
        }
        None
    }
}

/// The bucket index of `v`.
fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let octave = u64::from(63 - v.leading_zeros()) - LINEAR.trailing_zeros() as u64;
    if octave >= OCTAVES {
        return BUCKETS - 1;
    }
    // The top log2(SUB)+1 bits of v: a mantissa in SUB..2*SUB.
    let mantissa = v >> (octave + 1);
    (LINEAR + octave * SUB + (mantissa - SUB)) as usize
}

/// The smallest and largest value that land in bucket `i`.
fn bounds_of(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < LINEAR {
        return (i, i);
    }
    let octave = (i - LINEAR) / SUB;
    let mantissa = (i - LINEAR) % SUB + SUB;
    let shift = octave + 1;
    (mantissa << shift, ((mantissa + 1) << shift) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(samples: impl IntoIterator<Item = u64>) -> Histogram {
        let mut h = Histogram::default();
        for s in samples {
            h.record(s);
        }
        h
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_are_exact() {
        let h = of(1..=100);
        assert_eq!(h.len(), 100);
        assert_eq!(h.percentile(50.0), Some(50.0));
        assert_eq!(h.percentile(99.0), Some(99.0));
        assert_eq!(h.percentile(100.0), Some(100.0));
        assert_eq!(h.percentile(0.1), Some(1.0));
    }

    #[test]
    fn nearest_rank_picks_the_outlier_only_past_its_share() {
        // 98 fast requests and 2 slow ones: p98 is fast, p99 is slow.
        let h = of(std::iter::repeat_n(10, 98).chain([5_000, 5_000]));
        assert_eq!(h.percentile(50.0), Some(10.0));
        assert_eq!(h.percentile(98.0), Some(10.0));
        let p99 = h.percentile(99.0).unwrap_or_default();
        assert!((p99 - 5_000.0).abs() / 5_000.0 < 1.0 / 64.0, "{p99}");
    }

    #[test]
    fn large_values_stay_within_the_stated_precision() {
        for v in [128, 129, 255, 256, 1_000, 12_345, 999_999, 1 << 30] {
            let (lo, hi) = bounds_of(bucket_of(v));
            assert!(lo <= v && v <= hi, "{v} not in [{lo}, {hi}]");
            assert!(((hi - lo) as f64) < v as f64 / 64.0, "{v}: [{lo}, {hi}]");
        }
    }

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        for i in 1..BUCKETS {
            assert_eq!(bounds_of(i - 1).1 + 1, bounds_of(i).0, "bucket {i}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn merging_adds_the_samples_of_both() {
        let mut a = of(1..=50);
        a.merge(&of(51..=100));
        assert_eq!(a.len(), 100);
        assert_eq!(a.percentile(50.0), Some(50.0));
        assert_eq!(a.percentile(99.0), Some(99.0));
        assert_eq!(Histogram::default().percentile(50.0), None);
    }
}

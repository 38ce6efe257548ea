//! A fixed-size log-bucketed histogram of durations, for quantiles over any number of values.
//!
//! nginx prints `$upstream_response_time` and `$request_time` in seconds with millisecond
//! resolution, so values are whole milliseconds. 0 ms has a bucket of its own; a value `v ≥ 1`
//! goes to bucket `ceil(log_γ v)` with `γ = 1.02`, so every value of a bucket lies within
//! `(γ^(i-1), γ^i]` and the bucket's representative `2γ^i / (γ + 1)` is within
//! [`RELATIVE_ERROR`] (1%) of each of them (the DDSketch construction). Values above
//! [`MAX_MS`] (about 2.8 hours) share the last bucket; the maximum is kept exactly. The
//! histogram is [`BUCKETS`] counters whatever the number of values.

/// γ: the ratio between bucket bounds.
const GAMMA: f64 = 1.02;

/// Largest value with a bucket of its own, in milliseconds.
pub const MAX_MS: u64 = 10_000_000;

/// Relative error of a quantile: `(γ - 1) / (γ + 1)`, just under 1%.
pub const RELATIVE_ERROR: f64 = (GAMMA - 1.0) / (GAMMA + 1.0);

/// Bucket 0 holds 0 ms; buckets 1.. hold `ceil(log_γ v)` + 1 for `v` in 1..=MAX_MS.
pub const BUCKETS: usize = 816;

/// Counts of durations; see the module docs.
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("total", &self.total)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max: 0,
        }
    }
}

fn bucket_of(ms: u64) -> usize {
    if ms == 0 {
        return 0;
    }
    let v = ms.min(MAX_MS) as f64;
    // ceil(ln v / ln γ); 1 ms is bucket 1.
    let i = (v.ln() / GAMMA.ln()).ceil() as usize + 1;
    i.min(BUCKETS - 1)
}

/// The value a bucket stands for, in milliseconds.
fn representative(bucket: usize) -> f64 {
    if bucket == 0 {
        return 0.0;
    }
    let upper = GAMMA.powi(bucket as i32 - 1);
    2.0 * upper / (GAMMA + 1.0)
}

impl Histogram {
    pub fn add(&mut self, ms: u64) {
        self.counts[bucket_of(ms)] += 1;
        self.total += 1;
        self.max = self.max.max(ms);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The largest value added, exactly.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q` quantile (0.0..=1.0) in milliseconds, within [`RELATIVE_ERROR`] of the value of
    /// that rank (never above the maximum); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        // The rank nginx-style tools use: the smallest value with at least q of the values at
        // or below it.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(representative(i).min(self.max as f64));
            }
        }
        Some(self.max as f64)
    }

    /// Values at or above `ms`, counted by bucket: exact when `ms` is a bucket bound, else the
    /// bucket holding `ms` counts as above (an over-count of at most that bucket).
    pub fn at_or_above(&self, ms: u64) -> u64 {
        let b = bucket_of(ms);
        self.counts[b..].iter().sum()
    }

    /// Counts of values in `(edges[i-1], edges[i]]` (ms), each bucket placed by its
    /// representative (so within [`RELATIVE_ERROR`] of an edge a value may land on either
    /// side), plus one last bin for values above the last edge: for drawing.
    pub fn bins(&self, edges: &[u64]) -> Vec<u64> {
        let mut out = vec![0; edges.len() + 1];
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let v = representative(i);
            let bin = edges
                .iter()
                .position(|&e| v <= e as f64)
                .unwrap_or(edges.len());
            out[bin] += c;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_stated_error() {
        let mut h = Histogram::default();
        let mut values: Vec<u64> = (0..10_000u64).map(|i| (i * i) % 70_001).collect();
        for &v in &values {
            h.add(v);
        }
        values.sort_unstable();
        for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            let exact = values[rank - 1] as f64;
            let got = h.quantile(q).unwrap_or(f64::NAN);
            assert!(
                (got - exact).abs() <= exact * RELATIVE_ERROR + 1e-9,
                "q {q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.max(), *values.last().unwrap_or(&0));
        assert_eq!(h.total(), 10_000);
    }

    #[test]
    fn zero_huge_and_empty() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        h.add(0);
        h.add(u64::MAX);
        assert_eq!(h.quantile(0.5), Some(0.0));
        assert_eq!(h.max(), u64::MAX);
        assert!(bucket_of(u64::MAX) < BUCKETS);
        assert_eq!(bucket_of(MAX_MS), BUCKETS - 1);
        assert_eq!(h.at_or_above(1), 1);
    }

    #[test]
    fn bins_split_by_edges() {
        let mut h = Histogram::default();
        for v in [5, 50, 500, 5_000, 50_000] {
            h.add(v);
        }
        assert_eq!(h.bins(&[10, 1_000, 10_000]), vec![1, 2, 1, 1]);
    }
}

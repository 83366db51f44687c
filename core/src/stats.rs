//! Summary statistics of numbers: Spark's `StatCounter`, and the statistics actions of
//! datasets of `f64` (Spark's `DoubleRDDFunctions`: `stats`, `mean`, `variance`, ...).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::Result;

/// Count, mean, variance, maximum and minimum of a set of numbers, as Spark's
/// `StatCounter`: Welford's update for each value and Chan's formula to merge two counters,
/// so that one pass over each partition and a merge of the partitions' counters give the
/// statistics of the whole, in a numerically stable way.
///
/// ```
/// use firesteel_core::StatCounter;
///
/// let s = StatCounter::from_values([1.0, 2.0, 3.0, 4.0]);
/// assert_eq!((s.count(), s.mean(), s.sum()), (4, 2.5, 10.0));
/// assert_eq!((s.variance(), s.sample_variance()), (1.25, 5.0 / 3.0));
/// assert_eq!((s.max(), s.min()), (4.0, 1.0));
///
/// let mut halves = StatCounter::from_values([1.0, 2.0]);
/// halves.merge(&StatCounter::from_values([3.0, 4.0]));
/// assert_eq!(halves, s);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatCounter {
    n: u64,
    mu: f64,
    m2: f64,
    max: f64,
    min: f64,
}

impl Default for StatCounter {
    fn default() -> Self {
        StatCounter {
            n: 0,
            mu: 0.0,
            m2: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
        }
    }
}

impl StatCounter {
    /// An empty counter.
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::new();
    /// assert_eq!((s.count(), s.sum(), s.max(), s.min()), (0, 0.0, f64::NEG_INFINITY, f64::INFINITY));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The statistics of `values`.
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]);
    /// assert_eq!((s.count(), s.mean()), (3, 2.0));
    /// ```
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Self {
        let mut s = Self::new();
        for v in values {
            s.merge_value(v);
        }
        s
    }

    /// Adds one value (Spark's `merge(value)`).
    ///
    /// ```
    /// let mut s = firesteel_core::StatCounter::new();
    /// s.merge_value(4.0);
    /// s.merge_value(6.0);
    /// assert_eq!((s.count(), s.mean()), (2, 5.0));
    /// ```
    #[inline]
    pub fn merge_value(&mut self, value: f64) {
        let delta = value - self.mu;
        self.n += 1;
        self.mu += delta / self.n as f64;
        self.m2 += delta * (value - self.mu);
        self.max = self.max.max(value);
        self.min = self.min.min(value);
    }

    /// Adds the values another counter has seen (Spark's `merge(other)`, with its choice of
    /// formula for the mean when one side is much larger than the other).
    ///
    /// ```
    /// use firesteel_core::StatCounter;
    /// let mut s = StatCounter::from_values([1.0, 2.0]);
    /// s.merge(&StatCounter::from_values([3.0]));
    /// assert_eq!(s, StatCounter::from_values([1.0, 2.0, 3.0]));
    /// ```
    pub fn merge(&mut self, other: &StatCounter) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (n, m) = (self.n as f64, other.n as f64);
        let delta = other.mu - self.mu;
        self.mu = if other.n * 10 < self.n {
            self.mu + delta * m / (n + m)
        } else if self.n * 10 < other.n {
            other.mu - delta * n / (n + m)
        } else {
            (self.mu * n + other.mu * m) / (n + m)
        };
        self.m2 += other.m2 + delta * delta * n * m / (n + m);
        self.n += other.n;
        self.max = self.max.max(other.max);
        self.min = self.min.min(other.min);
    }

    /// How many values.
    ///
    /// ```
    /// assert_eq!(firesteel_core::StatCounter::from_values([2.0, 3.0, 4.0]).count(), 3);
    /// ```
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Their mean (NaN when there are none).
    ///
    /// ```
    /// assert_eq!(firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]).mean(), 2.0);
    /// ```
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.mu
        }
    }

    /// Their sum.
    ///
    /// ```
    /// assert_eq!(firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]).sum(), 6.0);
    /// ```
    pub fn sum(&self) -> f64 {
        self.n as f64 * self.mu
    }

    /// The largest value (−∞ when there are none).
    ///
    /// ```
    /// assert_eq!(firesteel_core::StatCounter::from_values([1.0, 5.0, 43.0, 10.0]).max(), 43.0);
    /// ```
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The smallest value (+∞ when there are none).
    ///
    /// ```
    /// assert_eq!(firesteel_core::StatCounter::from_values([2.0, 5.0, 43.0, 10.0]).min(), 2.0);
    /// ```
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The population variance, Σ(x − mean)² / n (NaN when there are no values), as
    /// Spark's `variance`.
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]);
    /// assert_eq!(s.variance(), 2.0 / 3.0);
    /// ```
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.m2 / self.n as f64
        }
    }

    /// The sample variance, Σ(x − mean)² / (n − 1) (NaN for fewer than two values).
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]);
    /// assert_eq!(s.sample_variance(), 1.0);
    /// ```
    pub fn sample_variance(&self) -> f64 {
        if self.n <= 1 {
            f64::NAN
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// The population standard deviation, the square root of [`variance`](Self::variance).
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]);
    /// assert_eq!(s.stdev(), (2.0f64 / 3.0).sqrt());
    /// ```
    pub fn stdev(&self) -> f64 {
        self.variance().sqrt()
    }

    /// The sample standard deviation, the square root of
    /// [`sample_variance`](Self::sample_variance).
    ///
    /// ```
    /// let s = firesteel_core::StatCounter::from_values([1.0, 2.0, 3.0]);
    /// assert_eq!(s.sample_stdev(), 1.0);
    /// ```
    pub fn sample_stdev(&self) -> f64 {
        self.sample_variance().sqrt()
    }
}

impl fmt::Display for StatCounter {
    /// As Spark prints a `StatCounter`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(count: {}, mean: {:.6}, stdev: {:.6}, max: {:.6}, min: {:.6})",
            self.n,
            self.mean(),
            self.stdev(),
            self.max,
            self.min
        )
    }
}

/// Statistics of a dataset of numbers, as Spark's `DoubleRDDFunctions`.
impl Dataset<f64> {
    /// Count, mean, variance, maximum and minimum in one job: a [`StatCounter`] per
    /// partition, merged in partition order, so the result does not depend on timing.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let s = ctx.parallelize(vec![2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 3).stats().unwrap();
    ///     assert_eq!((s.count(), s.mean(), s.stdev()), (8, 5.0, 2.0));
    /// });
    /// ```
    pub fn stats(&self) -> Result<StatCounter> {
        let parts = self.fold_partitions(StatCounter::new, |mut s, b| {
            for v in b {
                s.merge_value(v);
            }
            s
        })?;
        Ok(parts.iter().fold(StatCounter::new(), |mut all, s| {
            all.merge(s);
            all
        }))
    }

    /// The mean of the records (NaN when there are none).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1.0, 2.0, 6.0], 2).mean().unwrap(), 3.0);
    /// });
    /// ```
    pub fn mean(&self) -> Result<f64> {
        Ok(self.stats()?.mean())
    }

    /// The population variance of the records (NaN when there are none).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1.0, 3.0], 2).variance().unwrap(), 1.0);
    /// });
    /// ```
    pub fn variance(&self) -> Result<f64> {
        Ok(self.stats()?.variance())
    }

    /// The population standard deviation of the records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1.0, 3.0], 2).stdev().unwrap(), 1.0);
    /// });
    /// ```
    pub fn stdev(&self) -> Result<f64> {
        Ok(self.stats()?.stdev())
    }

    /// The sample variance of the records (NaN for fewer than two).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1.0, 3.0], 2).sample_variance().unwrap(), 2.0);
    /// });
    /// ```
    pub fn sample_variance(&self) -> Result<f64> {
        Ok(self.stats()?.sample_variance())
    }

    /// The sample standard deviation of the records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let s = ctx.parallelize(vec![1.0, 3.0], 2).sample_stdev().unwrap();
    ///     assert_eq!(s, 2f64.sqrt());
    /// });
    /// ```
    pub fn sample_stdev(&self) -> Result<f64> {
        Ok(self.stats()?.sample_stdev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two passes: the mean, then the squared deviations from it.
    fn two_pass(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let m2: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        (mean, m2)
    }

    /// Within `rel` of `b`, relatively.
    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    fn values(n: usize) -> Vec<f64> {
        // A fixed, irregular sequence with a large offset, where naive sums of squares lose
        // precision.
        (0..n)
            .map(|i| 1e6 + ((i * 7919) % 1000) as f64 * 0.37 - (i % 13) as f64)
            .collect()
    }

    #[test]
    fn one_pass_matches_two_passes() {
        let xs = values(1000);
        let s = StatCounter::from_values(xs.iter().copied());
        let (mean, m2) = two_pass(&xs);
        assert_eq!(s.count(), 1000);
        assert!(close(s.mean(), mean, 1e-14), "{} vs {mean}", s.mean());
        assert!(close(s.variance(), m2 / 1000.0, 1e-9));
        assert!(close(s.sample_variance(), m2 / 999.0, 1e-9));
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!((s.max(), s.min()), (max, min));
    }

    #[test]
    fn merging_any_split_matches_one_counter() {
        let xs = values(500);
        let whole = StatCounter::from_values(xs.iter().copied());
        // Balanced, lopsided both ways (the two other mean formulas), and empty sides.
        for cut in [0, 1, 20, 250, 480, 499, 500] {
            let mut a = StatCounter::from_values(xs[..cut].iter().copied());
            a.merge(&StatCounter::from_values(xs[cut..].iter().copied()));
            assert_eq!(a.count(), whole.count());
            assert!(close(a.mean(), whole.mean(), 1e-14), "cut {cut}");
            assert!(close(a.variance(), whole.variance(), 1e-9), "cut {cut}");
            assert_eq!((a.max(), a.min()), (whole.max(), whole.min()));
        }
    }

    #[test]
    fn empty_and_single() {
        let e = StatCounter::new();
        assert_eq!(e.count(), 0);
        assert!(e.mean().is_nan() && e.variance().is_nan() && e.sample_variance().is_nan());
        assert_eq!(
            (e.max(), e.min(), e.sum()),
            (f64::NEG_INFINITY, f64::INFINITY, 0.0)
        );
        let one = StatCounter::from_values([3.0]);
        assert_eq!((one.mean(), one.variance()), (3.0, 0.0));
        assert!(one.sample_variance().is_nan());
        assert_eq!(
            one.to_string(),
            "(count: 1, mean: 3.000000, stdev: 0.000000, max: 3.000000, min: 3.000000)"
        );
    }

    #[test]
    fn dataset_statistics_do_not_depend_on_partitioning() {
        let xs = values(1000);
        let whole = StatCounter::from_values(xs.iter().copied());
        for threads in [1, 3] {
            let ctx = crate::Context::local(threads).unwrap();
            for parts in [1, 4, 7] {
                let d = ctx.parallelize(xs.clone(), parts);
                let s = d.stats().unwrap();
                assert_eq!(s.count(), 1000);
                assert!(close(s.mean(), whole.mean(), 1e-14));
                assert!(close(d.variance().unwrap(), whole.variance(), 1e-9));
                assert_eq!(
                    d.stats().unwrap(),
                    s,
                    "the same partitioning gives the same bits"
                );
            }
        }
        let ctx = crate::Context::local(2).unwrap();
        assert!(ctx
            .parallelize(Vec::<f64>::new(), 3)
            .mean()
            .unwrap()
            .is_nan());
    }
}

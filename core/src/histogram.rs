//! Histograms of datasets of numbers, as Spark's `DoubleRDDFunctions.histogram`.
//!
//! Every bucket holds the values from its lower edge up to but excluding its upper edge,
//! except the last, which includes its upper edge: buckets `[1, 10, 20, 50]` are
//! `[1, 10)`, `[10, 20)` and `[20, 50]`. Values outside the edges, and NaN, are not
//! counted.

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// The bucket of `x` among the sorted `edges` (Spark's `basicBucketFunction`).
fn bucket_of(edges: &[f64], x: f64) -> Option<usize> {
    let last = edges.len() - 1;
    if x.is_nan() || x < edges[0] || x > edges[last] {
        return None;
    }
    // The number of edges at or below x, less one: the bucket whose lower edge it passed.
    let i = edges.partition_point(|&e| e <= x) - 1;
    Some(i.min(last - 1))
}

/// The bucket of `x` among `count` even buckets from `min` to `max` (Spark's
/// `fastBucketFunction`, which the bucket-count form uses).
fn even_bucket_of(min: f64, max: f64, count: usize, x: f64) -> Option<usize> {
    if x.is_nan() || x < min || x > max {
        return None;
    }
    // With min == max the ratio is NaN, which casts to bucket 0, as in Spark.
    let i = ((x - min) / (max - min) * count as f64) as usize;
    Some(i.min(count - 1))
}

impl Dataset<f64> {
    /// A histogram of `bucket_count` even buckets spanning the smallest to the largest
    /// value, as Spark's `histogram(bucketCount)`: the bucket edges and the count in each.
    /// If every value is the same there is one bucket, `[v, v]`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..51).map(f64::from).collect(), 4);
    ///     assert_eq!(d.histogram(2).unwrap(), (vec![0.0, 25.0, 50.0], vec![25, 26]));
    /// });
    /// ```
    ///
    /// # Errors
    /// No buckets, an empty dataset, or a dataset holding NaN or an infinity (Spark's
    /// "Histogram on either an empty RDD or RDD containing +/-infinity or NaN").
    pub fn histogram(&self, bucket_count: usize) -> Result<(Vec<f64>, Vec<u64>)> {
        if bucket_count == 0 {
            return Err(Error::InvalidArgument(
                "histogram: the number of buckets must be at least 1".into(),
            ));
        }
        let range = self.fold_partitions(
            || None,
            |acc: Option<(f64, f64)>, b| {
                b.into_iter().fold(acc, |acc, x| match acc {
                    // NaN wins both comparisons, so that it is seen below.
                    Some((lo, hi)) => Some((
                        if x < lo || x.is_nan() { x } else { lo },
                        if x > hi || x.is_nan() { x } else { hi },
                    )),
                    None => Some((x, x)),
                })
            },
        )?;
        let (min, max) = range
            .into_iter()
            .flatten()
            .reduce(|(a, b), (c, d)| {
                (
                    if c < a || c.is_nan() { c } else { a },
                    if d > b || d.is_nan() { d } else { b },
                )
            })
            .ok_or(Error::EmptyDataset("histogram"))?;
        if !min.is_finite() || !max.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "histogram: the values run from {min} to {max}; buckets need finite values \
                 (no NaN or infinity)"
            )));
        }
        let edges: Vec<f64> = if min == max {
            vec![min, min]
        } else {
            let span = max - min;
            (0..bucket_count)
                .map(|s| min + (s as f64 * span) / bucket_count as f64)
                .chain(std::iter::once(max))
                .collect()
        };
        let count = edges.len() - 1;
        let counts = self.count_buckets(count, move |x| even_bucket_of(min, max, count, x))?;
        Ok((edges, counts))
    }

    /// The counts of a histogram with the given bucket edges, as Spark's
    /// `histogram(buckets)`: `[1, 10, 20, 50]` means the buckets `[1, 10)`, `[10, 20)` and
    /// `[20, 50]`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..51).map(f64::from).collect(), 4);
    ///     let counts = d.histogram_with_buckets(&[0.0, 5.0, 25.0, 50.0]).unwrap();
    ///     assert_eq!(counts, vec![5, 20, 26]);
    /// });
    /// ```
    ///
    /// # Errors
    /// Fewer than two edges, a NaN edge, or edges that do not increase.
    pub fn histogram_with_buckets(&self, buckets: &[f64]) -> Result<Vec<u64>> {
        if buckets.len() < 2 {
            return Err(Error::InvalidArgument(
                "histogram: the buckets need at least two edges".into(),
            ));
        }
        if buckets.iter().any(|b| b.is_nan()) || buckets.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::InvalidArgument(format!(
                "histogram: the bucket edges must increase, without NaN, got {buckets:?}"
            )));
        }
        let edges = buckets.to_vec();
        self.count_buckets(buckets.len() - 1, move |x| bucket_of(&edges, x))
    }

    fn count_buckets(
        &self,
        count: usize,
        bucket: impl Fn(f64) -> Option<usize> + Sync,
    ) -> Result<Vec<u64>> {
        let parts = self.fold_partitions(
            || vec![0u64; count],
            |mut acc, b| {
                for x in b {
                    if let Some(i) = bucket(x) {
                        acc[i] += 1;
                    }
                }
                acc
            },
        )?;
        Ok(parts.into_iter().fold(vec![0u64; count], |mut all, p| {
            for (a, c) in all.iter_mut().zip(p) {
                *a += c;
            }
            all
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_follow_sparks_bucket_rules() {
        let edges = [0.0, 5.0, 25.0, 50.0];
        let got: Vec<Option<usize>> = [-1.0, 0.0, 4.999, 5.0, 25.0, 49.0, 50.0, 50.5, f64::NAN]
            .iter()
            .map(|&x| bucket_of(&edges, x))
            .collect();
        let want = [
            None,
            Some(0),
            Some(0),
            Some(1),
            Some(2),
            Some(2),
            Some(2),
            None,
            None,
        ];
        assert_eq!(got, want);
        assert_eq!(even_bucket_of(3.0, 3.0, 1, 3.0), Some(0));
        assert_eq!(even_bucket_of(0.0, 50.0, 2, 50.0), Some(1));
        assert_eq!(even_bucket_of(0.0, 50.0, 2, 24.999), Some(0));
    }
}

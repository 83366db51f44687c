//! Approximate distinct counts, as Spark's `countApproxDistinct`: each partition builds a
//! HyperLogLog++ sketch of its records' hashes (the `hyperloglogplus` crate: 64-bit
//! hashes, a sparse form for small counts, Google's empirical bias correction), and the
//! sketches are merged here. Memory is fixed by the accuracy, not by the data.

use std::hash::{BuildHasher, Hash};

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::Data;

/// SipHash with fixed keys: the same hash of a record in every task and every process.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct FixedSip;

impl BuildHasher for FixedSip {
    type Hasher = std::collections::hash_map::DefaultHasher;
    fn build_hasher(&self) -> Self::Hasher {
        std::collections::hash_map::DefaultHasher::new()
    }
}

/// The sketch precision Spark chooses for a relative standard deviation:
/// `ceil(2 log2(1.054 / relative_sd))`.
fn precision_for(relative_sd: f64) -> Result<u8> {
    let p = (2.0 * (1.054 / relative_sd).log2()).ceil();
    // NaN gives a NaN precision, which no range contains.
    if relative_sd <= 0.0 || !(4.0..=18.0).contains(&p) {
        return Err(Error::InvalidArgument(format!(
            "count_approx_distinct: relative accuracy {relative_sd} is out of range: it must \
             be from 0.00206 (2^18 registers) to 0.26 (2^4)"
        )));
    }
    Ok(p as u8)
}

impl<T: Data + Hash> Dataset<T> {
    /// About how many distinct records there are, as Spark's
    /// `countApproxDistinct(relativeSD)`: `relative_sd` is the relative standard deviation
    /// of the estimate (Spark's default is 0.05), which sets the sketch's size as Spark
    /// does. One pass, no shuffle.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..1000).map(|i| i.to_string()).collect(), 4);
    ///     let n = d.count_approx_distinct(0.05).unwrap();
    ///     assert!(900 < n && n < 1100, "{n}");
    /// });
    /// ```
    ///
    /// # Errors
    /// An accuracy outside what 2^4 to 2^18 registers give (0.00206 to 0.26).
    pub fn count_approx_distinct(&self, relative_sd: f64) -> Result<u64> {
        let p = precision_for(relative_sd)?;
        let sketch = || {
            HyperLogLogPlus::<T, FixedSip>::new(p, FixedSip)
                .map_err(|e| Error::InvalidArgument(format!("count_approx_distinct: {e:?}")))
        };
        let new = sketch()?;
        let parts = self.fold_partitions(
            || new.clone(),
            |mut h, b| {
                for x in b {
                    h.insert(&x);
                }
                h
            },
        )?;
        let mut all = sketch()?;
        for part in &parts {
            all.merge(part)
                .map_err(|e| Error::InvalidArgument(format!("count_approx_distinct: {e:?}")))?;
        }
        Ok(all.count().round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_follows_sparks_formula() {
        // Spark's default 0.05: ceil(2 * log2(21.08)) = ceil(8.80) = 9.
        assert_eq!(precision_for(0.05).unwrap(), 9);
        assert_eq!(precision_for(0.01).unwrap(), 14);
        assert!(precision_for(0.0).is_err());
        assert!(precision_for(0.5).is_err());
        assert!(precision_for(f64::NAN).is_err());
        assert!(precision_for(0.001).is_err());
    }
}

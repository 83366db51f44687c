//! A sample of a fixed size, as Spark's `takeSample`: sample a fraction large enough that
//! the sample is almost always big enough (Spark's `SamplingUtils` bounds), sample again
//! in the rare case it is not, and keep a random `num` of what came back.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::Data;

/// Standard deviations of headroom in the largest sample size, as Spark's.
const NUM_STD_DEV: f64 = 10.0;

/// The fraction to sample so that at least `num` of `total` records come back with
/// probability 0.9999, as Spark's `SamplingUtils.computeFractionForSampleSize`: a
/// Poisson upper bound with replacement, a binomial one without.
fn fraction_for_sample_size(num: usize, total: u64, with_replacement: bool) -> f64 {
    let s = num as f64;
    let n = total as f64;
    if with_replacement {
        let std_devs = if s < 6.0 {
            12.0
        } else if s < 16.0 {
            9.0
        } else {
            6.0
        };
        (s + std_devs * s.sqrt()).max(1e-10) / n
    } else {
        let fraction = s / n;
        let gamma = -(1e-4f64).ln() / n;
        (fraction + gamma + (gamma * gamma + 2.0 * gamma * fraction).sqrt()).clamp(1e-10, 1.0)
    }
}

impl<T: Data> Dataset<T> {
    /// `num` records chosen at random (with or without replacement), in random order, as
    /// Spark's `takeSample`. Without replacement and with `num` at least the record
    /// count, every record comes back, shuffled. The same seed and partitioning give the
    /// same sample.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..10).collect::<Vec<u32>>(), 2);
    ///     assert_eq!(d.take_sample(true, 20, 1).unwrap().len(), 20);
    ///     assert_eq!(d.take_sample(false, 5, 2).unwrap().len(), 5);
    ///     let mut all = d.take_sample(false, 15, 3).unwrap();
    ///     all.sort();
    ///     assert_eq!(all, (0..10).collect::<Vec<u32>>());
    /// });
    /// ```
    ///
    /// # Errors
    /// A sample larger than Spark allows (2^31 - 1 less ten standard deviations).
    pub fn take_sample(&self, with_replacement: bool, num: usize, seed: u64) -> Result<Vec<T>> {
        let limit = i32::MAX as f64 - NUM_STD_DEV * (i32::MAX as f64).sqrt();
        if num as f64 > limit {
            return Err(Error::InvalidArgument(format!(
                "take_sample: sample size cannot be greater than {}",
                limit as u64
            )));
        }
        if num == 0 {
            return Ok(Vec::new());
        }
        let total = self.count()?;
        if total == 0 {
            return Ok(Vec::new());
        }
        let mut rng = Pcg64::seed_from_u64(seed);
        if !with_replacement && num as u64 >= total {
            let mut all = self.collect()?;
            all.shuffle(&mut rng);
            return Ok(all);
        }
        let fraction = fraction_for_sample_size(num, total, with_replacement);
        let mut samples = self
            .sample(with_replacement, fraction, rng.random())?
            .collect()?;
        let mut tries = 1;
        while samples.len() < num {
            tracing::warn!(
                tries,
                "take_sample: the sample came back too small; sampling again"
            );
            samples = self
                .sample(with_replacement, fraction, rng.random())?
                .collect()?;
            tries += 1;
        }
        samples.shuffle(&mut rng);
        samples.truncate(num);
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_leave_headroom_and_stay_in_range() {
        // Without replacement: more than num/total, never above 1.
        let f = fraction_for_sample_size(5, 10, false);
        assert!(f > 0.5 && f <= 1.0, "{f}");
        assert_eq!(fraction_for_sample_size(10, 10, false), 1.0);
        // With replacement: s + 12 sqrt(s) below 6, 9 sqrt(s) below 16, else 6 sqrt(s).
        assert_eq!(
            fraction_for_sample_size(4, 100, true),
            (4.0 + 12.0 * 2.0) / 100.0
        );
        assert_eq!(
            fraction_for_sample_size(9, 100, true),
            (9.0 + 9.0 * 3.0) / 100.0
        );
        assert_eq!(
            fraction_for_sample_size(25, 100, true),
            (25.0 + 6.0 * 5.0) / 100.0
        );
    }
}

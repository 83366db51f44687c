//! Samples beyond `sample`'s fraction of all records:
//! - of a fixed size, as Spark's `takeSample`: sample a fraction large enough that the
//!   sample is almost always big enough (Spark's `SamplingUtils` bounds), sample again in
//!   the rare case it is not, and keep a random `num` of what came back;
//! - stratified by key, as Spark's `sampleByKey` (each key its own fraction) and
//!   `sampleByKeyExact` (exactly `ceil(fraction * count)` records of each key). Without
//!   replacement every record draws a uniform number, and the smallest draws of each key
//!   are kept, found with Spark's bounds so that only the draws near each key's cut come
//!   here; with replacement each key's draws are dealt out multinomially, first to the
//!   partitions by their counts of the key, then within a partition record by record.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Binomial, Distribution};
use rand_pcg::Pcg64;

use crate::dataset::{partition_rng, Dataset};
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

/// Spark's `BinomialBounds` with its `delta`: a fraction whose Bernoulli sample of `n`
/// records keeps at most (lower) or at least (upper) `fraction * n` of them, but with
/// probability `delta`.
fn binomial_bounds(fraction: f64, n: u64, delta: f64) -> (f64, f64) {
    let n = n.max(1) as f64;
    let gamma_lo = -delta.ln() / n * (2.0 / 3.0);
    let lo = fraction + gamma_lo - (gamma_lo * gamma_lo + 3.0 * gamma_lo * fraction).sqrt();
    let gamma = -delta.ln() / n;
    let hi = fraction + gamma + (gamma * gamma + 2.0 * gamma * fraction).sqrt();
    (lo.max(0.0), hi.clamp(1e-10, 1.0))
}

/// The sampling fraction of `key`, or an error naming the key.
fn fraction_of<K: Hash + Eq + std::fmt::Debug>(
    fractions: &HashMap<K, f64>,
    key: &K,
) -> Result<f64> {
    fractions.get(key).copied().ok_or_else(|| {
        Error::InvalidArgument(format!("sample_by_key: no fraction for key {key:?}"))
    })
}

fn check_fractions<K: std::fmt::Debug>(
    fractions: &HashMap<K, f64>,
    with_replacement: bool,
) -> Result<()> {
    for (k, &f) in fractions {
        if f.is_nan() || f < 0.0 || (!with_replacement && f > 1.0) {
            return Err(Error::InvalidArgument(format!(
                "sample_by_key: the fraction of key {k:?} must be in [0, 1] without \
                 replacement and at least 0 with it, got {f}"
            )));
        }
    }
    Ok(())
}

impl<K: Data + Hash + Eq + std::fmt::Debug, V: Data> Dataset<(K, V)> {
    /// A sample stratified by key, as Spark's `sampleByKey`: each pair is kept with the
    /// probability its key's fraction gives (without replacement), or a Poisson number of
    /// times (with replacement). The same seed and partitioning give the same sample.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!['a', 'b'], 1).cartesian(&ctx.range(0, 1000, 1, 4).unwrap());
    ///     let fractions = HashMap::from([('a', 0.2), ('b', 0.1)]);
    ///     let counts = d.sample_by_key(false, &fractions, 2).unwrap().count_by_key().unwrap();
    ///     assert!(100 < counts[&'a'] && counts[&'a'] < 300);
    ///     assert!(50 < counts[&'b'] && counts[&'b'] < 150);
    /// });
    /// ```
    ///
    /// # Errors
    /// A fraction below 0 (or above 1 without replacement). A key without a fraction
    /// fails the job that reaches it.
    pub fn sample_by_key(
        &self,
        with_replacement: bool,
        fractions: &HashMap<K, f64>,
        seed: u64,
    ) -> Result<Dataset<(K, V)>> {
        check_fractions(fractions, with_replacement)?;
        let fractions = Arc::new(fractions.clone());
        Ok(self.keep_drawn("sample_by_key", seed, move |_| {
            let fractions = fractions.clone();
            move |rng: &mut Pcg64, k: &K| {
                let f = fraction_of(&fractions, k)?;
                Ok(if with_replacement {
                    crate::dataset::poisson(rng, f)
                } else {
                    usize::from(rng.random::<f64>() < f)
                })
            }
        }))
    }

    /// A sample with exactly `ceil(fraction * count)` pairs of each key, as Spark's
    /// `sampleByKeyExact`. The same seed and partitioning give the same sample.
    ///
    /// Without replacement each pair draws a uniform number and each key keeps its
    /// smallest draws: three passes over the data (count, find each key's cut, select),
    /// with only the draws near each cut brought here. With replacement (where a fraction
    /// may exceed 1) two passes: count each key in each partition, then deal each key's
    /// draws out uniformly, so that every pair of the key is equally likely to be drawn
    /// each time.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!['a', 'b'], 1).cartesian(&ctx.range(0, 1000, 1, 4).unwrap());
    ///     let fractions = HashMap::from([('a', 0.2), ('b', 0.1)]);
    ///     let s = d.sample_by_key_exact(false, &fractions, 2).unwrap();
    ///     let counts = s.count_by_key().unwrap();
    ///     assert_eq!((counts[&'a'], counts[&'b']), (200, 100));
    ///
    ///     let fractions = HashMap::from([('a', 2.5), ('b', 0.01)]);
    ///     let s = d.sample_by_key_exact(true, &fractions, 2).unwrap();
    ///     let counts = s.count_by_key().unwrap();
    ///     assert_eq!((counts[&'a'], counts[&'b']), (2500, 10));
    /// });
    /// ```
    ///
    /// # Errors
    /// A fraction below 0 (or above 1 without replacement), or a key without a fraction.
    pub fn sample_by_key_exact(
        &self,
        with_replacement: bool,
        fractions: &HashMap<K, f64>,
        seed: u64,
    ) -> Result<Dataset<(K, V)>> {
        check_fractions(fractions, with_replacement)?;
        if with_replacement {
            return self.exact_with_replacement(fractions, seed);
        }
        let counts = self
            .map_values(|_| 1u64)
            .reduce_by_key_locally(|a, b| a + b)?;
        let delta = 5e-5;
        // Each key's bounds: draws below `lo` are surely kept, above `hi` surely not.
        let mut bounds: HashMap<K, (f64, f64, u64)> = HashMap::new();
        for (k, n) in &counts {
            let f = fraction_of(fractions, k)?;
            let want = (f * *n as f64).ceil() as u64;
            let (lo, hi) = binomial_bounds(f, *n, delta);
            bounds.insert(k.clone(), (lo, hi, want));
        }
        let mut cuts: HashMap<K, f64> = HashMap::new();
        // First with the bounds; keys whose bounds missed (probability about `delta`)
        // again with every draw.
        for round in 0..2 {
            let todo: HashMap<K, (f64, f64)> = bounds
                .iter()
                .filter(|(k, _)| !cuts.contains_key(*k))
                .map(|(k, &(lo, hi, _))| {
                    (k.clone(), if round == 0 { (lo, hi) } else { (0.0, 1.0) })
                })
                .collect();
            if todo.is_empty() {
                break;
            }
            let todo = Arc::new(todo);
            let near = self.draws_near_cuts(seed, todo.clone())?;
            for (k, (below, mut waiting)) in near {
                let (lo, _) = todo[&k];
                let want = bounds[&k].2;
                let Some(need) = want.checked_sub(below) else {
                    continue;
                };
                if need as usize > waiting.len() {
                    continue;
                }
                waiting.sort_by(f64::total_cmp);
                let cut = match need {
                    0 => lo,
                    need => waiting[need as usize - 1].next_up(),
                };
                cuts.insert(k, cut);
            }
            // Keys with no draws in range and nothing to keep.
            for (k, &(_, _, want)) in &bounds {
                if want == 0 {
                    cuts.entry(k.clone()).or_insert(0.0);
                }
            }
        }
        let cuts = Arc::new(cuts);
        Ok(self.keep_drawn("sample_by_key_exact", seed, move |_| {
            let cuts = cuts.clone();
            move |rng: &mut Pcg64, k: &K| {
                let u = rng.random::<f64>();
                Ok(usize::from(cuts.get(k).is_some_and(|&c| u < c)))
            }
        }))
    }

    /// `sample_by_key_exact` with replacement: each key's `ceil(fraction * count)` draws
    /// go to the partitions multinomially by their counts of the key (on the driver,
    /// from a generator seeded by the seed and the key, so the order of keys does not
    /// matter), and within a partition to its pairs of the key one by one: a pair with
    /// `m` pairs of its key still to come and `r` draws left takes Binomial(`r`, 1/`m`).
    fn exact_with_replacement(
        &self,
        fractions: &HashMap<K, f64>,
        seed: u64,
    ) -> Result<Dataset<(K, V)>> {
        let counts: Vec<HashMap<K, u64>> = self.run_all(|_, it| {
            let mut m: HashMap<K, u64> = HashMap::new();
            for b in it {
                for (k, _) in b? {
                    *m.entry(k).or_default() += 1;
                }
            }
            Ok(m)
        })?;
        let mut totals: HashMap<&K, u64> = HashMap::new();
        for m in &counts {
            for (k, n) in m {
                *totals.entry(k).or_default() += n;
            }
        }
        // Per partition, per key: (draws, pairs of the key).
        let mut shares: Vec<HashMap<K, (u64, u64)>> = vec![HashMap::new(); counts.len()];
        for (k, total) in totals {
            let mut draws = (fraction_of(fractions, k)? * total as f64).ceil() as u64;
            let mut rng = Pcg64::seed_from_u64(seed ^ crate::partitioner::stable_hash(k));
            let mut left = total;
            for (p, m) in counts.iter().enumerate() {
                let Some(&n) = m.get(k) else { continue };
                let here = binomial(&mut rng, draws, n, left);
                shares[p].insert(k.clone(), (here, n));
                draws -= here;
                left -= n;
            }
        }
        let shares = Arc::new(shares);
        Ok(self.keep_drawn("sample_by_key_exact", seed, move |split| {
            let mut left = shares[split].clone();
            move |rng: &mut Pcg64, k: &K| {
                let (draws, pairs) = left.get_mut(k).ok_or_else(|| {
                    Error::Unrecoverable(format!(
                        "sample_by_key_exact: key {k:?} was not counted in this partition: \
                         its records changed between passes"
                    ))
                })?;
                let here = binomial(rng, *draws, 1, *pairs);
                *draws -= here;
                *pairs = pairs.saturating_sub(1);
                Ok(here as usize)
            }
        }))
    }

    /// Keeps each pair as many times as the function `copies` makes for its partition
    /// says, drawing from a generator seeded by `seed` and the partition, so that every
    /// pass over a partition draws the same.
    fn keep_drawn<C>(
        &self,
        op: &'static str,
        seed: u64,
        copies: impl Fn(usize) -> C + Send + Sync + 'static,
    ) -> Dataset<(K, V)>
    where
        C: FnMut(&mut Pcg64, &K) -> Result<usize> + 'static,
    {
        let copies = Arc::new(copies);
        self.map_batches_of_partitions(op, true, move |_, split, it| {
            let mut copies = copies(split);
            let mut rng = partition_rng(seed, split);
            Box::new(it.map(move |b| {
                let mut out = Vec::new();
                for (k, v) in b? {
                    for _ in 0..copies(&mut rng, &k)? {
                        out.push((k.clone(), v.clone()));
                    }
                }
                Ok(out.into())
            }))
        })
    }

    /// For each key in `bounds`, how many of its draws fell below its lower bound, and
    /// the draws between its bounds.
    fn draws_near_cuts(
        &self,
        seed: u64,
        bounds: Arc<HashMap<K, (f64, f64)>>,
    ) -> Result<HashMap<K, (u64, Vec<f64>)>> {
        let parts = self.run_all(move |tc, it| {
            let mut rng = partition_rng(seed, tc.partition);
            let mut m: HashMap<K, (u64, Vec<f64>)> = HashMap::new();
            for b in it {
                for (k, _) in b? {
                    let u = rng.random::<f64>();
                    let Some(&(lo, hi)) = bounds.get(&k) else {
                        continue;
                    };
                    if u < lo {
                        m.entry(k).or_default().0 += 1;
                    } else if u < hi {
                        m.entry(k).or_default().1.push(u);
                    }
                }
            }
            Ok(m)
        })?;
        let mut all: HashMap<K, (u64, Vec<f64>)> = HashMap::new();
        for m in parts {
            for (k, (below, waiting)) in m {
                let e = all.entry(k).or_default();
                e.0 += below;
                e.1.extend(waiting);
            }
        }
        Ok(all)
    }
}

/// How many of `draws` uniform draws from `of` items land on a given `part` of them:
/// Binomial(`draws`, `part / of`).
fn binomial(rng: &mut Pcg64, draws: u64, part: u64, of: u64) -> u64 {
    if draws == 0 || part >= of {
        return draws;
    }
    Binomial::new(draws, part as f64 / of as f64).map_or(0, |b| b.sample(rng))
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

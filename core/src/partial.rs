//! Approximate actions with a timeout, as Spark's `countApprox`, `sumApprox` and
//! `meanApprox`: the job runs in the background, each partition's summary comes back as
//! its task ends, and at the timeout the summaries so far are extrapolated to the whole
//! dataset with a confidence interval ([`BoundedDouble`], by Spark's evaluators). The
//! answer is a [`PartialResult`]: its initial value, and the final one for those who wait.
//!
//! In cluster mode every process must run the same jobs in the same order, so a job cannot
//! be left running in the background: there the actions wait for the whole job and return
//! the exact value.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, DiscreteCDF, Normal, Poisson, StudentsT};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::rdd::BatchIter;
use crate::stats::StatCounter;
use crate::Data;

/// An estimate with a confidence interval, as Spark's `BoundedDouble`: `mean` lies in
/// `[low, high]` with probability `confidence`. An exact value has confidence 1 and
/// `low == mean == high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoundedDouble {
    /// The estimate.
    pub mean: f64,
    /// The probability that the true value lies in `[low, high]`.
    pub confidence: f64,
    /// The lower bound.
    pub low: f64,
    /// The upper bound.
    pub high: f64,
}

impl BoundedDouble {
    fn exact(v: f64) -> Self {
        BoundedDouble {
            mean: v,
            confidence: 1.0,
            low: v,
            high: v,
        }
    }

    /// An estimate without bounds.
    fn unbounded(mean: f64, confidence: f64) -> Self {
        BoundedDouble {
            mean,
            confidence,
            low: f64::NEG_INFINITY,
            high: f64::INFINITY,
        }
    }
}

impl std::fmt::Display for BoundedDouble {
    /// Spark's form: `[low, high]` to three decimals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:.3}, {:.3}]", self.low, self.high)
    }
}

/// What the rest of a running approximate job can still do.
struct Rest<R> {
    finish: Box<dyn FnOnce() -> Result<R> + Send>,
    cancel: Box<dyn FnOnce() + Send>,
}

/// The answer of an approximate action, as Spark's `PartialResult`: the value when the
/// timeout came, and the final value of the whole job for those who wait for it. Dropping
/// it before the job ends cancels the rest of the job.
pub struct PartialResult<R: Clone> {
    initial: R,
    rest: Option<Rest<R>>,
}

impl<R: Clone> std::fmt::Debug for PartialResult<R>
where
    R: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialResult")
            .field("initial", &self.initial)
            .field("is_final", &self.rest.is_none())
            .finish()
    }
}

impl<R: Clone> PartialResult<R> {
    /// The value when the timeout came (or the final value, if the job had ended).
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     let r = ctx.parallelize((0..1000).collect::<Vec<u32>>(), 10)
    ///         .count_approx(Duration::from_secs(60), 0.95).unwrap();
    ///     assert_eq!(r.initial_value().mean, 1000.0);
    /// });
    /// ```
    pub fn initial_value(&self) -> &R {
        &self.initial
    }

    /// Whether the job had ended by the timeout, so the initial value is final.
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     let r = ctx.parallelize(vec![1.0, 2.0], 2).sum_approx(Duration::from_secs(60), 0.9).unwrap();
    ///     assert!(r.is_initial_value_final());
    /// });
    /// ```
    pub fn is_initial_value_final(&self) -> bool {
        self.rest.is_none()
    }

    /// Waits for the rest of the job and returns the exact value.
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((1..=100).map(f64::from).collect(), 4);
    ///     let r = d.mean_approx(Duration::from_millis(1), 0.95).unwrap();
    ///     let exact = r.final_value().unwrap();
    ///     assert_eq!((exact.mean, exact.low, exact.high, exact.confidence), (50.5, 50.5, 50.5, 1.0));
    /// });
    /// ```
    ///
    /// # Errors
    /// The job's error, if it failed after the timeout.
    pub fn final_value(mut self) -> Result<R> {
        match self.rest.take() {
            None => Ok(self.initial.clone()),
            Some(rest) => (rest.finish)(),
        }
    }
}

impl<R: Clone> Drop for PartialResult<R> {
    fn drop(&mut self) {
        if let Some(rest) = self.rest.take() {
            (rest.cancel)();
        }
    }
}

/// Spark's `CountEvaluator`: `sum` records seen in a fraction `p` of the partitions; the
/// rest is Poisson(`sum (1 - p) / p`), and the bounds are its quantiles.
fn count_bound(confidence: f64, sum: u64, merged: usize, total: usize) -> BoundedDouble {
    if merged == total {
        return BoundedDouble::exact(sum as f64);
    }
    if merged == 0 || sum == 0 {
        return BoundedDouble {
            mean: 0.0,
            confidence: 0.0,
            low: 0.0,
            high: f64::INFINITY,
        };
    }
    let p = merged as f64 / total as f64;
    let rate = sum as f64 * (1.0 - p) / p;
    let Ok(rest) = Poisson::new(rate) else {
        return BoundedDouble::exact(sum as f64);
    };
    // Commons Math answers i32::MAX for the quantile 1, where statrs answers u64::MAX.
    let quantile = |q: f64| rest.inverse_cdf(q).min(i32::MAX as u64) as f64;
    let s = sum as f64;
    BoundedDouble {
        mean: s + rate,
        confidence,
        low: s + quantile((1.0 - confidence) / 2.0),
        high: s + quantile((1.0 + confidence) / 2.0),
    }
}

/// The two-sided confidence factor Spark uses: Student's t with `count - 1` degrees of
/// freedom up to 100 records, the normal distribution beyond.
fn confidence_factor(confidence: f64, count: u64) -> f64 {
    let q = (1.0 + confidence) / 2.0;
    if count > 100 {
        Normal::standard().inverse_cdf(q)
    } else {
        StudentsT::new(0.0, 1.0, (count - 1) as f64).map_or(f64::INFINITY, |t| t.inverse_cdf(q))
    }
}

/// Spark's `SumEvaluator`: the sum as the estimated mean times the estimated count, with
/// the variance of a product of independent estimates.
fn sum_bound(confidence: f64, s: &StatCounter, merged: usize, total: usize) -> BoundedDouble {
    if merged == total {
        return BoundedDouble::exact(s.sum());
    }
    if merged == 0 || s.count() == 0 {
        return BoundedDouble::unbounded(0.0, 0.0);
    }
    let n = s.count() as f64;
    let p = merged as f64 / total as f64;
    let mean = s.mean();
    let mean_var = s.sample_variance() / n;
    if mean_var.is_nan() || s.count() == 1 {
        return BoundedDouble::unbounded(s.sum(), confidence);
    }
    let count_estimate = (n + 1.0 - p) / p;
    let count_var = (n + 1.0) * (1.0 - p) / (p * p);
    let sum_estimate = mean * count_estimate;
    let sum_var =
        mean * mean * count_var + count_estimate * count_estimate * mean_var + mean_var * count_var;
    let spread = confidence_factor(confidence, s.count()) * sum_var.sqrt();
    BoundedDouble {
        mean: sum_estimate,
        confidence,
        low: sum_estimate - spread,
        high: sum_estimate + spread,
    }
}

/// Spark's `MeanEvaluator`: the sample mean with a t (or normal) interval.
fn mean_bound(confidence: f64, s: &StatCounter, merged: usize, total: usize) -> BoundedDouble {
    if merged == total {
        return BoundedDouble::exact(s.mean());
    }
    if merged == 0 || s.count() == 0 {
        return BoundedDouble::unbounded(0.0, 0.0);
    }
    if s.count() == 1 {
        return BoundedDouble::unbounded(s.mean(), confidence);
    }
    let stdev = (s.sample_variance() / s.count() as f64).sqrt();
    let spread = confidence_factor(confidence, s.count()) * stdev;
    BoundedDouble {
        mean: s.mean(),
        confidence,
        low: s.mean() - spread,
        high: s.mean() + spread,
    }
}

fn check_confidence(confidence: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&confidence) {
        return Err(Error::InvalidArgument(format!(
            "the confidence of an approximate action must be in [0, 1], got {confidence}"
        )));
    }
    Ok(())
}

/// The partition summaries that have come back, and how many.
struct Summaries<S> {
    parts: Vec<Option<S>>,
    merged: usize,
}

impl<S: Clone> Summaries<S> {
    fn add(&mut self, partition: usize, s: S) {
        // A retried task sends its partition again.
        if self.parts[partition].is_none() {
            self.parts[partition] = Some(s);
            self.merged += 1;
        }
    }

    fn complete(&self) -> bool {
        self.merged == self.parts.len()
    }

    /// The summaries merged in partition order, so that the result does not depend on
    /// which task ended first.
    fn fold(&self, zero: S, merge: impl Fn(S, &S) -> S) -> S {
        self.parts.iter().flatten().fold(zero, merge)
    }
}

impl<T: Data> Dataset<T> {
    /// Runs `summarize` over every partition in the background and evaluates the
    /// summaries that came back within `timeout` with `evaluate(summaries, merged, total)`.
    fn approximate<S>(
        &self,
        timeout: Duration,
        summarize: impl Fn(BatchIter<T>) -> Result<S> + Send + Sync + 'static,
        evaluate: impl Fn(&Summaries<S>) -> BoundedDouble + Send + 'static,
    ) -> Result<PartialResult<BoundedDouble>>
    where
        S: Clone + Send + Serialize + DeserializeOwned + 'static,
    {
        let total = self.num_partitions();
        let mut got = Summaries {
            parts: vec![None; total],
            merged: 0,
        };
        if self.ctx.num_processes() > 1 {
            for (p, s) in self.run_all(|_, it| summarize(it))?.into_iter().enumerate() {
                got.add(p, s);
            }
            return Ok(PartialResult {
                initial: evaluate(&got),
                rest: None,
            });
        }
        let (tx, rx) = mpsc::channel::<(usize, S)>();
        static JOBS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let group = format!("firesteel-approximate-{n}");
        let (ds, ctx, job_group) = (self.clone(), self.ctx.clone(), group.clone());
        let job = std::thread::spawn(move || {
            ctx.set_job_group(&job_group, "approximate action");
            let ran = ds.run_all(|tc, it| {
                let s = summarize(it)?;
                // The receiver is gone once the caller dropped the result.
                let _ = tx.send((tc.partition, s));
                Ok(())
            });
            ctx.clear_job_group();
            ran.map(drop)
        });
        let deadline = Instant::now() + timeout;
        while !got.complete() {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok((p, s)) => got.add(p, s),
                Err(RecvTimeoutError::Timeout) => break,
                // The job ended: every summary has come, or it failed.
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if got.complete() || job.is_finished() {
            job.join()
                .map_err(|_| Error::Unrecoverable("an approximate job panicked".into()))??;
            // A job that ended sent every summary before ending.
            while let Ok((p, s)) = rx.try_recv() {
                got.add(p, s);
            }
            return Ok(PartialResult {
                initial: evaluate(&got),
                rest: None,
            });
        }
        let initial = evaluate(&got);
        let ctx = self.ctx.clone();
        Ok(PartialResult {
            initial,
            rest: Some(Rest {
                finish: Box::new(move || {
                    for (p, s) in rx.iter() {
                        got.add(p, s);
                    }
                    job.join().map_err(|_| {
                        Error::Unrecoverable("an approximate job panicked".into())
                    })??;
                    Ok(evaluate(&got))
                }),
                cancel: Box::new(move || {
                    ctx.cancel_job_group(&group);
                }),
            }),
        })
    }

    /// The number of records, or an estimate of it if the job has not ended within
    /// `timeout`, as Spark's `countApprox`: the count of the partitions done so far,
    /// extrapolated with a Poisson model of the rest, and its `confidence` interval.
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     // PySpark: sc.parallelize(range(1000), 10).countApprox(1000, 1.0) == 1000
    ///     let rdd = ctx.parallelize((0..1000).collect::<Vec<u32>>(), 10);
    ///     let r = rdd.count_approx(Duration::from_millis(1000), 1.0).unwrap();
    ///     assert_eq!(r.final_value().unwrap().mean, 1000.0);
    /// });
    /// ```
    ///
    /// # Errors
    /// A confidence outside `[0, 1]`, or a job that failed before the timeout.
    pub fn count_approx(
        &self,
        timeout: Duration,
        confidence: f64,
    ) -> Result<PartialResult<BoundedDouble>> {
        check_confidence(confidence)?;
        self.approximate(
            timeout,
            |it| it.map(|b| b.map(|b| b.len() as u64)).sum(),
            move |got| {
                let sum = got.fold(0, |a, b| a + b);
                count_bound(confidence, sum, got.merged, got.parts.len())
            },
        )
    }
}

/// An evaluator of the statistics of the partitions done: (confidence, statistics, done,
/// total).
type StatsBound = fn(f64, &StatCounter, usize, usize) -> BoundedDouble;

impl Dataset<f64> {
    /// Runs a [`StatCounter`] per partition in the background and evaluates those done
    /// within `timeout` with `bound`.
    fn approximate_stats(
        &self,
        timeout: Duration,
        confidence: f64,
        bound: StatsBound,
    ) -> Result<PartialResult<BoundedDouble>> {
        check_confidence(confidence)?;
        self.approximate(timeout, stat_counter, move |got| {
            let s = got.fold(StatCounter::new(), merged);
            bound(confidence, &s, got.merged, got.parts.len())
        })
    }

    /// The sum, or an estimate of it if the job has not ended within `timeout`, as
    /// Spark's `sumApprox`.
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     // PySpark: rdd = sc.parallelize(range(1000), 10); r = sum(range(1000))
    ///     // abs(rdd.sumApprox(1000) - r) / r < 0.05
    ///     let rdd = ctx.parallelize((0..1000).map(f64::from).collect(), 10);
    ///     let r = 499_500.0;
    ///     let s = rdd.sum_approx(Duration::from_millis(1000), 0.95).unwrap();
    ///     assert!((s.initial_value().mean - r).abs() / r < 0.05);
    /// });
    /// ```
    ///
    /// # Errors
    /// A confidence outside `[0, 1]`, or a job that failed before the timeout.
    pub fn sum_approx(
        &self,
        timeout: Duration,
        confidence: f64,
    ) -> Result<PartialResult<BoundedDouble>> {
        self.approximate_stats(timeout, confidence, sum_bound)
    }

    /// The mean, or an estimate of it if the job has not ended within `timeout`, as
    /// Spark's `meanApprox`.
    ///
    /// ```
    /// use std::time::Duration;
    /// firesteel_core::example(|ctx| {
    ///     // PySpark: abs(rdd.meanApprox(1000) - r) / r < 0.05, with r = sum(range(1000)) / 1000.0
    ///     let rdd = ctx.parallelize((0..1000).map(f64::from).collect(), 10);
    ///     let m = rdd.mean_approx(Duration::from_millis(1000), 0.95).unwrap();
    ///     assert!((m.initial_value().mean - 499.5).abs() / 499.5 < 0.05);
    /// });
    /// ```
    ///
    /// # Errors
    /// A confidence outside `[0, 1]`, or a job that failed before the timeout.
    pub fn mean_approx(
        &self,
        timeout: Duration,
        confidence: f64,
    ) -> Result<PartialResult<BoundedDouble>> {
        self.approximate_stats(timeout, confidence, mean_bound)
    }
}

fn stat_counter(it: BatchIter<f64>) -> Result<StatCounter> {
    let mut s = StatCounter::new();
    for b in it {
        for v in b? {
            s.merge_value(v);
        }
    }
    Ok(s)
}

fn merged(mut a: StatCounter, b: &StatCounter) -> StatCounter {
    a.merge(b);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest k with P(Poisson(rate) <= k) >= q, by summing the mass function.
    fn poisson_quantile(rate: f64, q: f64) -> f64 {
        let (mut k, mut pmf) = (0u64, (-rate).exp());
        let mut cdf = pmf;
        while cdf < q {
            k += 1;
            pmf *= rate / k as f64;
            cdf += pmf;
        }
        k as f64
    }

    #[test]
    fn counts_extrapolate_with_poisson_quantiles() {
        // 30 records in 3 of 4 partitions: the rest is Poisson(10).
        let b = count_bound(0.95, 30, 3, 4);
        assert_eq!(b.mean, 40.0);
        assert_eq!(b.low, 30.0 + poisson_quantile(10.0, 0.025));
        assert_eq!(b.high, 30.0 + poisson_quantile(10.0, 0.975));
        // Poisson(10): P(X <= 3) = 0.0103, P(X <= 4) = 0.0293; P(X <= 16) = 0.9730,
        // P(X <= 17) = 0.9857.
        assert_eq!((b.low, b.high), (34.0, 47.0));
        assert_eq!(count_bound(0.95, 30, 4, 4), BoundedDouble::exact(30.0));
        assert_eq!(count_bound(0.95, 0, 1, 4).high, f64::INFINITY);
    }

    #[test]
    fn sums_and_means_use_student_t_up_to_100_records() {
        // 30 values 1..=30 from half the partitions.
        let s = StatCounter::from_values((1..=30).map(f64::from));
        let t = 2.045229642132703; // t(0.975, 29 degrees of freedom)
        let m = mean_bound(0.95, &s, 1, 2);
        let se = (s.sample_variance() / 30.0).sqrt();
        assert_eq!(m.mean, 15.5);
        assert!((m.low - (15.5 - t * se)).abs() < 1e-9, "{m:?}");
        assert!((m.high - (15.5 + t * se)).abs() < 1e-9, "{m:?}");
        // The sum: the count estimated as (n + 1 - p) / p = 61, times the mean.
        let b = sum_bound(0.95, &s, 1, 2);
        assert!((b.mean - 15.5 * 61.0).abs() < 1e-9);
        let (count_var, mean_var) = (31.0 * 0.5 / 0.25, s.sample_variance() / 30.0);
        let var = 15.5 * 15.5 * count_var + 61.0 * 61.0 * mean_var + mean_var * count_var;
        assert!((b.high - b.mean - t * var.sqrt()).abs() < 1e-6, "{b:?}");
        // Beyond 100 records, the normal quantile.
        let big = StatCounter::from_values((1..=200).map(f64::from));
        let m = mean_bound(0.95, &big, 1, 2);
        let z = 1.959963984540054;
        let se = (big.sample_variance() / 200.0).sqrt();
        assert!((m.high - m.mean - z * se).abs() < 1e-9, "{m:?}");
        // One record: no interval.
        let one = StatCounter::from_values([5.0]);
        assert_eq!(mean_bound(0.95, &one, 1, 2).high, f64::INFINITY);
        assert_eq!(sum_bound(0.95, &one, 1, 2).low, f64::NEG_INFINITY);
    }
}

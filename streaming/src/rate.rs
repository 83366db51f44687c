//! Rate control of receivers: a fixed maximum rate, and backpressure, as Spark's
//! `spark.streaming.receiver.maxRate` and `spark.streaming.backpressure.enabled`. With
//! backpressure, after each batch a PID controller ([`PidRateEstimator`], Spark's formula
//! and defaults) turns the batch's size and delays into the rate the receivers may store
//! at, so that batches finish within the batch interval.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Spark's `PIDRateEstimator`: a new rate (records per second) from each finished batch.
///
/// The error is the difference between the previous rate and the rate the last batch was
/// processed at; the integral term is the backlog that the scheduling delay stands for; the
/// result never falls below `min_rate`. The first batch only records the processing rate.
///
/// ```
/// use firesteel_streaming::PidRateEstimator;
///
/// // Spark's defaults: proportional 1, integral 0.2, derivative 0, at least 100/s.
/// let mut pid = PidRateEstimator::new(1000);
/// assert_eq!(pid.compute(1000, 5000, 500, 0), None); // first batch: 10 000/s measured
/// // The next batch of 5 000 records took 1 s and waited 0.5 s: the rate drops.
/// let rate = pid.compute(2000, 5000, 1000, 500).unwrap();
/// assert!((rate - 4500.0).abs() < 1e-9);
/// ```
#[derive(Debug, Clone)]
pub struct PidRateEstimator {
    batch_ms: i64,
    proportional: f64,
    integral: f64,
    derivative: f64,
    min_rate: f64,
    first_run: bool,
    latest_time: i64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    /// Spark's defaults for batches of `batch_ms`: proportional 1.0, integral 0.2,
    /// derivative 0.0, minimum rate 100 records/s.
    pub fn new(batch_ms: i64) -> Self {
        Self::with_gains(batch_ms, 1.0, 0.2, 0.0, 100.0)
    }

    /// An estimator with the given gains and minimum rate.
    pub fn with_gains(
        batch_ms: i64,
        proportional: f64,
        integral: f64,
        derivative: f64,
        min_rate: f64,
    ) -> Self {
        PidRateEstimator {
            batch_ms,
            proportional,
            integral,
            derivative,
            min_rate,
            first_run: true,
            latest_time: -1,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// The new rate after a batch that ended at `time_ms` with `elements` records,
    /// `processing_ms` of processing and `scheduling_ms` of waiting; `None` for the first
    /// batch, and when the batch says nothing (no records, no processing time, or no time
    /// passed since the last one).
    pub fn compute(
        &mut self,
        time_ms: i64,
        elements: i64,
        processing_ms: i64,
        scheduling_ms: i64,
    ) -> Option<f64> {
        if time_ms <= self.latest_time || elements <= 0 || processing_ms <= 0 {
            return None;
        }
        let delay_since_update = (time_ms - self.latest_time) as f64 / 1000.0;
        let processing_rate = elements as f64 / processing_ms as f64 * 1000.0;
        let error = self.latest_rate - processing_rate;
        let historical_error = scheduling_ms as f64 * processing_rate / self.batch_ms as f64;
        let d_error = (error - self.latest_error) / delay_since_update;
        let new_rate = (self.latest_rate
            - self.proportional * error
            - self.integral * historical_error
            - self.derivative * d_error)
            .max(self.min_rate);
        self.latest_time = time_ms;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

/// A token bucket without burst: storing `n` records at `rate` takes `n / rate` seconds,
/// paid before the next store (as Guava's `RateLimiter`, which Spark's receivers use).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    /// Records per second; `None` is unlimited.
    rate: Option<f64>,
    /// The fixed maximum, which backpressure never exceeds.
    max: Option<f64>,
    next_free: Instant,
}

impl RateLimiter {
    pub fn new(max: Option<f64>, initial: Option<f64>) -> Self {
        let rate = match (initial, max) {
            (Some(i), Some(m)) => Some(i.min(m)),
            (i, m) => i.or(m),
        };
        RateLimiter {
            state: Mutex::new(LimiterState {
                rate,
                max,
                next_free: Instant::now(),
            }),
        }
    }

    /// Waits until `n` more records may be stored.
    pub fn acquire(&self, n: u64) {
        let wait = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let Some(rate) = s.rate else { return };
            let now = Instant::now();
            let start = s.next_free.max(now);
            s.next_free = start + Duration::from_secs_f64(n as f64 / rate.max(1e-3));
            start - now
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }

    /// Sets the rate (capped by the maximum).
    pub fn set_rate(&self, rate: f64) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.rate = Some(s.max.map_or(rate, |m| rate.min(m)));
    }

    pub fn rate(&self) -> Option<f64> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).rate
    }
}

#[cfg(test)]
mod tests {
    use super::PidRateEstimator;

    // The cases of Spark's PIDRateEstimatorSuite.
    #[test]
    fn first_estimate_is_none_and_the_second_is_not() {
        let mut p = PidRateEstimator::new(20);
        assert_eq!(p.compute(0, 10, 10, 0), None);
        assert!(p.compute(10, 10, 10, 0).is_some());
    }

    #[test]
    fn no_estimate_without_time_records_or_processing() {
        let mut p = PidRateEstimator::new(20);
        assert_eq!(p.compute(0, 10, 10, 0), None);
        assert!(p.compute(10, 10, 10, 0).is_some());
        assert_eq!(p.compute(10, 10, 10, 0), None, "no time passed");
        assert_eq!(p.compute(20, 0, 10, 0), None, "no records");
        assert_eq!(p.compute(30, -5, 10, 0), None, "negative records");
        assert_eq!(p.compute(40, 10, 0, 0), None, "no processing time");
        assert_eq!(p.compute(50, 10, -1, 0), None, "negative processing time");
    }

    #[test]
    fn never_below_the_minimum_rate() {
        let mut p = PidRateEstimator::with_gains(20, 1.0, 1.0, 0.0, 10.0);
        let _ = p.compute(0, 100, 10, 0);
        // A huge scheduling delay drives the formula far below zero.
        assert_eq!(p.compute(10, 100, 10, 10_000), Some(10.0));
    }

    #[test]
    fn with_no_error_it_follows_the_processing_speed() {
        // "with no accumulated or positive error, |I| > 0, follow the processing speed":
        // 1000 records in 20 ms each time is 50 000 records/s.
        let mut p = PidRateEstimator::with_gains(20, 1.0, 1.0, 0.0, 10.0);
        let got: Vec<Option<f64>> = (0..5).map(|i| p.compute(i * 20, 1000, 20, 0)).collect();
        assert_eq!(got[0], None);
        for r in &got[1..] {
            assert_eq!(*r, Some(50_000.0));
        }
    }

    #[test]
    fn the_formula_by_hand() {
        // batch 1000 ms, gains 1 / 0.2 / 0. First: 10 000/s measured. Second: 5 000 records
        // in 1 000 ms is 5 000/s; error = 10 000 - 5 000 = 5 000; the 500 ms wait is a
        // backlog of 500 * 5 000 / 1 000 = 2 500/s; new = 10 000 - 5 000 - 0.2 * 2 500.
        let mut p = PidRateEstimator::new(1000);
        assert_eq!(p.compute(1000, 5000, 500, 0), None);
        assert_eq!(p.compute(2000, 5000, 1000, 500), Some(4500.0));
    }
}

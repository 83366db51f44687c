//! The clocks that pace batches: [`SystemClock`] for real streams and [`ManualClock`] for
//! tests and replays, as Spark's `SystemClock` and `ManualClock`.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of time for the batch generator.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The time now, in milliseconds.
    fn now_ms(&self) -> i64;

    /// Blocks until the time is at least `target_ms` or `stop()` is true; returns the time
    /// then. Implementations check `stop` at least every 50 ms and after each
    /// [`wake`](Self::wake).
    fn wait_till(&self, target_ms: i64, stop: &dyn Fn() -> bool) -> i64;

    /// Wakes every waiter so that it checks its `stop` condition.
    fn wake(&self) {}
}

/// Wall-clock time: milliseconds since the Unix epoch.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn wait_till(&self, target_ms: i64, stop: &dyn Fn() -> bool) -> i64 {
        loop {
            let now = self.now_ms();
            if now >= target_ms || stop() {
                return now;
            }
            let left = (target_ms - now).min(50) as u64;
            std::thread::sleep(Duration::from_millis(left));
        }
    }
}

/// A clock that moves only when told to, as Spark's `ManualClock`: a batch at time `t`
/// runs once the clock has been advanced to `t`. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use firesteel_streaming::{Clock, ManualClock};
///
/// let clock = ManualClock::new(0);
/// clock.advance(Duration::from_millis(500));
/// assert_eq!(clock.now_ms(), 500);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Arc<(Mutex<i64>, Condvar)>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManualClock({} ms)", self.now_ms())
    }
}

impl ManualClock {
    /// A clock reading `start_ms`.
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock {
            inner: Arc::new((Mutex::new(start_ms), Condvar::new())),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let (time, cond) = &*self.inner;
        *time.lock().unwrap_or_else(|e| e.into_inner()) += by.as_millis() as i64;
        cond.notify_all();
    }

    /// Sets the clock to `ms` (it may move backwards; batches already run are not rerun).
    pub fn set_time(&self, ms: i64) {
        let (time, cond) = &*self.inner;
        *time.lock().unwrap_or_else(|e| e.into_inner()) = ms;
        cond.notify_all();
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_till(&self, target_ms: i64, stop: &dyn Fn() -> bool) -> i64 {
        let (time, cond) = &*self.inner;
        let mut now = time.lock().unwrap_or_else(|e| e.into_inner());
        while *now < target_ms && !stop() {
            now = cond
                .wait_timeout(now, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *now
    }

    fn wake(&self) {
        self.inner.1.notify_all();
    }
}

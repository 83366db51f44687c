//! [`StreamingListener`] and [`BatchInfo`]: what a batch did and how late it was, as Spark's
//! `StreamingListener` reports it.

use std::time::Duration;

use crate::time::Time;

/// One batch's timeline. Times are wall-clock milliseconds since the Unix epoch (as in
/// Spark, whatever clock paces the batches); `batch_time` is the batch's own time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's time.
    pub batch_time: Time,
    /// Records the input streams reported for the batch (0 where a source cannot count
    /// them without reading them).
    pub num_records: u64,
    /// When the batch's jobs were generated and queued.
    pub submission_time: i64,
    /// When its first job started.
    pub processing_start_time: Option<i64>,
    /// When its last job ended.
    pub processing_end_time: Option<i64>,
    /// The first job failure, if any.
    pub failure: Option<String>,
}

impl BatchInfo {
    /// Time from submission to the start of processing.
    pub fn scheduling_delay(&self) -> Option<Duration> {
        self.processing_start_time
            .map(|s| millis(s - self.submission_time))
    }

    /// Time the batch's jobs took.
    pub fn processing_delay(&self) -> Option<Duration> {
        self.processing_start_time
            .zip(self.processing_end_time)
            .map(|(s, e)| millis(e - s))
    }

    /// Scheduling delay plus processing delay, as Spark's `totalDelay`.
    pub fn total_delay(&self) -> Option<Duration> {
        self.processing_end_time
            .map(|e| millis(e - self.submission_time))
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

/// Receives batch events, as Spark's `StreamingListener`. Methods run on the batch
/// generator's thread, so they should return quickly.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use firesteel_streaming::{BatchInfo, StreamingListener};
///
/// #[derive(Default)]
/// struct Delays(Mutex<Vec<u64>>);
///
/// impl StreamingListener for Delays {
///     fn on_batch_completed(&self, batch: &BatchInfo) {
///         let ms = batch.total_delay().unwrap().as_millis() as u64;
///         self.0.lock().unwrap().push(ms);
///     }
/// }
/// let _listener: Arc<dyn StreamingListener> = Arc::new(Delays::default());
/// ```
pub trait StreamingListener: Send + Sync {
    /// The context started; `zero_time` is the time before its first batch.
    fn on_streaming_started(&self, _zero_time: Time) {}
    /// A batch's jobs were generated.
    fn on_batch_submitted(&self, _batch: &BatchInfo) {}
    /// A batch's jobs started.
    fn on_batch_started(&self, _batch: &BatchInfo) {}
    /// A batch's jobs ended, successfully or not (see [`BatchInfo::failure`]).
    fn on_batch_completed(&self, _batch: &BatchInfo) {}
    /// A receiver reported a problem (a refused or dropped connection, say).
    fn on_receiver_error(&self, _receiver: &str, _message: &str) {}
}

//! # firesteel-streaming
//!
//! Discretized streams on the Firesteel engine, in the spirit of Spark Streaming: a live
//! stream is cut into batches of a fixed interval; each batch is a
//! [`Dataset`](firesteel_core::Dataset) processed by the same engine, and results go out
//! batch by batch.
//!
//! ## Modules
//! - [`StreamingContext`] (`context`): the stream graph, the batch generator and the
//!   lifecycle (`start`, `stop`, `await_termination`), and the queue and function input
//!   streams; `file_stream`: directories watched for new files; `receiver`: sources that
//!   push records ([`Receiver`]), and sockets; `rate`: receivers' maximum rate and
//!   backpressure ([`PidRateEstimator`]);
//! - [`DStream`] (`dstream`): transformations and output operations; `pair`: key-value
//!   operations; `window`: windows, with incremental reductions through inverse
//!   functions; `state`: `update_state_by_key` and `map_with_state`;
//! - `kafka` (the `kafka` feature): the Kafka direct stream and the reader of offset
//!   ranges, on librdkafka;
//! - `recovery`: what a recoverable context keeps in its checkpoint directory (the graph's
//!   signature, the write-ahead log of batch inputs, commit markers); `receiver_log`: the
//!   receivers' write-ahead log of stored records;
//! - `node`: what every stream node does (remembering, persisting and checkpointing its
//!   batches); [`Clock`]s (`clock`); [`Time`] (`time`); [`StreamingListener`] and
//!   [`BatchInfo`] (`listener`).
//!
//! ```
//! use std::collections::VecDeque;
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use firesteel_streaming::StreamingContext;
//!
//! let ctx = firesteel_core::Context::local(2).unwrap();
//! let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(500)).unwrap();
//! let batches: VecDeque<_> = (1..=3).map(|n| ctx.parallelize((0..n).collect(), 1)).collect();
//! let windows = Arc::new(Mutex::new(Vec::new()));
//! let seen = windows.clone();
//! ssc.queue_stream(Arc::new(Mutex::new(batches)), true, None)
//!     .window(Duration::from_secs(1), Duration::from_millis(500))
//!     .count()
//!     .foreach_rdd(move |count, _| {
//!         seen.lock().unwrap().extend(count.collect()?);
//!         Ok(())
//!     });
//! ssc.start().unwrap();
//! ssc.run_batches(4).unwrap();
//! ssc.stop(false);
//! assert_eq!(*windows.lock().unwrap(), vec![1, 3, 5, 3]);
//! ```

mod clock;
mod context;
mod dstream;
mod file_stream;
#[cfg(feature = "kafka")]
pub mod kafka;
mod listener;
mod node;
mod pair;
mod rate;
mod receiver;
mod receiver_log;
mod recovery;
mod state;
mod time;
mod window;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{StreamingContext, StreamingState};
pub use dstream::DStream;
pub use listener::{BatchInfo, StreamingListener};
pub use rate::PidRateEstimator;
pub use receiver::{Receiver, ReceiverSink};
pub use state::{MapWithStateDStream, State, StateSpec};
pub use time::Time;
pub use window::WindowFilter;

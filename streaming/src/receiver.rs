//! Receivers: sources that push records as they arrive, as Spark's `Receiver`. A receiver
//! runs on threads of its own and [`store`](ReceiverSink::store)s records; each batch
//! takes whatever was stored since the previous one. A supervisor restarts a receiver
//! that asks for it (a dropped connection, say) after the restart delay.
//!
//! Receivers cannot replay what they received: records stored but not yet in a batch
//! when the process dies are lost (at most once), as with Spark's receivers, unless the
//! receiver write-ahead log is on ([`crate::receiver_log`]; then at least once).
//!
//! In cluster mode the receiver runs on rank 0 only, and each batch's records reach the
//! other processes with the batch, so that every process builds the same batch.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use firesteel_core::{Data, Dataset, Result};

use crate::context::{Inner, InputHooks, Replay, StreamingContext};
use crate::dstream::DStream;
use crate::listener::{BatchInfo, StreamingListener};
use crate::rate::{PidRateEstimator, RateLimiter};
use crate::receiver_log::ReceiverLog;
use crate::time::Time;

/// A custom source, as Spark's `Receiver`: [`on_start`](Self::on_start) starts whatever
/// threads receive the data (and must return quickly); they hand records to the
/// [`ReceiverSink`] until it [`is_stopped`](ReceiverSink::is_stopped).
/// [`on_stop`](Self::on_stop) releases what `on_start` set up (and unblocks its threads).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use firesteel_streaming::{Receiver, ReceiverSink, StreamingContext};
///
/// /// Counts up, one number per millisecond.
/// struct Counter;
///
/// impl Receiver<u64> for Counter {
///     fn on_start(&self, sink: ReceiverSink<u64>) {
///         std::thread::spawn(move || {
///             let mut i = 0;
///             while !sink.is_stopped() {
///                 sink.store(i);
///                 i += 1;
///                 std::thread::sleep(Duration::from_millis(1));
///             }
///         });
///     }
/// }
///
/// let ctx = firesteel_core::Context::local(1).unwrap();
/// let ssc = StreamingContext::new(&ctx, Duration::from_millis(50)).unwrap();
/// ssc.receiver_stream("counter", Counter).foreach_rdd(|_, _| Ok(()));
/// ssc.start().unwrap();
/// ssc.stop(false);
/// ```
pub trait Receiver<T: Data>: Send + Sync + 'static {
    /// Starts receiving into `sink`.
    fn on_start(&self, sink: ReceiverSink<T>);
    /// Stops receiving (called before a restart, and when the context stops).
    fn on_stop(&self) {}
}

struct Control {
    /// Why a restart was asked for.
    restart: Option<String>,
}

/// What a receiver stored since the last batch, and the log it is written to first.
struct Stored<T> {
    records: Vec<T>,
    log: Option<ReceiverLog>,
}

struct Shared<T> {
    name: String,
    buffer: Mutex<Stored<T>>,
    stopped: AtomicBool,
    control: Mutex<Control>,
    wake: Condvar,
    context: Weak<Inner>,
    limiter: RateLimiter,
}

/// Where a [`Receiver`] hands its records, and how it reports trouble. Cheap to clone.
pub struct ReceiverSink<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for ReceiverSink<T> {
    fn clone(&self) -> Self {
        ReceiverSink {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for ReceiverSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReceiverSink({})", self.shared.name)
    }
}

impl<T: Data> ReceiverSink<T> {
    /// The rate the receiver is held to now (records per second), if any.
    pub fn rate(&self) -> Option<f64> {
        self.shared.limiter.rate()
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Stored<T>> {
        self.shared.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores one record for the next batch (waiting first if the receiver is rate
    /// limited). With the write-ahead log on, the record is in the log when this returns.
    pub fn store(&self, record: T) {
        self.store_all(std::iter::once(record));
    }

    /// Stores many records at once (one lock, and one write to the log, for all of them).
    pub fn store_all(&self, records: impl IntoIterator<Item = T>) {
        let records: Vec<T> = records.into_iter().collect();
        self.shared.limiter.acquire(records.len() as u64);
        let mut stored = self.buffer();
        let logged = match &mut stored.log {
            Some(log) => log.append(&records),
            None => Ok(()),
        };
        stored.records.extend(records);
        drop(stored);
        if let Err(e) = logged {
            // Kept for the next batch all the same, but not safe from a crash.
            self.report_error(&format!("the write-ahead log failed: {e}"));
        }
    }

    /// Whether the receiver should stop (the context is stopping, or a restart is due).
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
            || self
                .shared
                .control
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .restart
                .is_some()
    }

    /// Asks for a restart: `on_stop`, the restart delay, then `on_start` again. The
    /// message goes to the listeners as a receiver error.
    pub fn restart(&self, message: impl Into<String>) {
        let message = message.into();
        self.report_error(&message);
        let mut c = self
            .shared
            .control
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        c.restart.get_or_insert(message);
        self.shared.wake.notify_all();
    }

    /// Reports a problem to the listeners without stopping.
    pub fn report_error(&self, message: &str) {
        tracing::warn!(receiver = %self.shared.name, "{message}");
        if let Some(inner) = self.shared.context.upgrade() {
            for l in inner.listeners() {
                l.on_receiver_error(&self.shared.name, message);
            }
        }
    }
}

/// The input side of a receiver stream: its supervisor thread and what each batch took.
struct ReceiverInput<T, R> {
    ctx: firesteel_core::Context,
    /// The input stream's id, which names its write-ahead log.
    id: OnceLock<usize>,
    write_ahead_log: bool,
    /// After a restart: the last batch that finished before it.
    recovered: Mutex<Option<Time>>,
    receiver: Arc<R>,
    sink: ReceiverSink<T>,
    restart_delay: Duration,
    supervisor: Mutex<Option<JoinHandle<()>>>,
    records: Mutex<BTreeMap<Time, u64>>,
}

impl<T: Data, R: Receiver<T>> ReceiverInput<T, R> {
    /// Runs the receiver, restarting it when asked, until the context stops.
    fn supervise(receiver: Arc<R>, sink: ReceiverSink<T>, delay: Duration) {
        let shared = sink.shared.clone();
        loop {
            receiver.on_start(sink.clone());
            let mut c = shared.control.lock().unwrap_or_else(|e| e.into_inner());
            while c.restart.is_none() && !shared.stopped.load(Ordering::Acquire) {
                c = shared.wake.wait(c).unwrap_or_else(|e| e.into_inner());
            }
            drop(c);
            receiver.on_stop();
            if shared.stopped.load(Ordering::Acquire) {
                return;
            }
            let c = shared.control.lock().unwrap_or_else(|e| e.into_inner());
            let (mut c, _) = shared
                .wake
                .wait_timeout_while(c, delay, |_| !shared.stopped.load(Ordering::Acquire))
                .unwrap_or_else(|e| e.into_inner());
            if shared.stopped.load(Ordering::Acquire) {
                return;
            }
            c.restart = None;
        }
    }

    /// Opens the write-ahead log, if it is on and not open yet (on rank 0 only): what
    /// was stored before a crash but in no batch goes first into the next batch.
    fn open_log(&self) -> Result<()> {
        if !self.write_ahead_log || self.ctx.process_rank() != 0 {
            return Ok(());
        }
        let mut stored = self.sink.buffer();
        if stored.log.is_some() {
            return Ok(());
        }
        let name = &self.sink.shared.name;
        let log = self
            .sink
            .shared
            .context
            .upgrade()
            .and_then(|inner| inner.recovery_log())
            .ok_or_else(|| {
                firesteel_core::Error::InvalidArgument(format!(
                    "receiver {name}: the receiver write-ahead log needs a context made by \
                     StreamingContext::get_or_create"
                ))
            })?;
        let id = *self.id.get().expect("set when the stream is built");
        let (log, pending) = ReceiverLog::open(&log.receiver_dir(id))?;
        stored.records.splice(0..0, pending);
        stored.log = Some(log);
        Ok(())
    }

    /// The records of the batch at `time`: those sealed for it before a restart, or
    /// what was stored since the last batch.
    fn take_batch(&self, time: Time) -> Result<Vec<T>> {
        self.open_log()?;
        let mut stored = self.sink.buffer();
        let Some(log) = &mut stored.log else {
            return Ok(std::mem::take(&mut stored.records));
        };
        if let Some(records) = log.sealed(time)? {
            return Ok(records);
        }
        let recovered = *self.recovered.lock().unwrap_or_else(|e| e.into_inner());
        if recovered.is_some_and(|last| time <= last) {
            // Finished before the restart and since forgotten by the log.
            return Ok(Vec::new());
        }
        log.seal(time)?;
        Ok(std::mem::take(&mut stored.records))
    }
}

impl<T: Data, R: Receiver<T>> InputHooks for ReceiverInput<T, R> {
    fn replay(&self) -> Replay {
        if self.write_ahead_log {
            Replay::Exact
        } else {
            Replay::Lossy
        }
    }

    fn restore(&self, _logged: &[serde_json::Value], last: Time) -> Result<()> {
        *self.recovered.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
        Ok(())
    }

    fn on_start(&self, _zero: Time) -> Result<()> {
        if self.ctx.process_rank() != 0 {
            return Ok(());
        }
        self.open_log()?;
        let (receiver, sink, delay) =
            (self.receiver.clone(), self.sink.clone(), self.restart_delay);
        let name = format!("firesteel-receiver-{}", self.sink.shared.name);
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || Self::supervise(receiver, sink, delay))
            .map_err(|e| {
                firesteel_core::Error::io("starting a receiver thread for", "streaming", e)
            })?;
        *self.supervisor.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle);
        Ok(())
    }

    fn on_stop(&self) {
        let shared = &self.sink.shared;
        shared.stopped.store(true, Ordering::Release);
        {
            let _c = shared.control.lock().unwrap_or_else(|e| e.into_inner());
            shared.wake.notify_all();
        }
        if let Some(h) = self
            .supervisor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            let _ = h.join();
        }
    }

    fn records(&self, time: Time) -> u64 {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&time)
            .copied()
            .unwrap_or(0)
    }
}

/// Backpressure for one receiver: after each batch, the PID estimate of the rate it may
/// store at, as Spark's `ReceiverRateController`.
struct RateController<T, R> {
    input: Arc<ReceiverInput<T, R>>,
    estimator: Mutex<PidRateEstimator>,
}

impl<T: Data, R: Receiver<T>> StreamingListener for RateController<T, R> {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let (Some(end), Some(processing), Some(scheduling)) = (
            b.processing_end_time,
            b.processing_delay(),
            b.scheduling_delay(),
        ) else {
            return;
        };
        let elements = self.input.records(b.batch_time) as i64;
        let estimate = self
            .estimator
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .compute(
                end,
                elements,
                processing.as_millis() as i64,
                scheduling.as_millis() as i64,
            );
        if let Some(rate) = estimate {
            tracing::debug!(receiver = %self.input.sink.shared.name, rate, "backpressure");
            self.input.sink.shared.limiter.set_rate(rate);
        }
    }
}

/// Spark's `SocketReceiver`: lines of text from a TCP connection. A refused or dropped
/// connection restarts the receiver, which connects again after the restart delay.
struct SocketReceiver {
    address: String,
    stream: Mutex<Option<TcpStream>>,
}

impl Receiver<String> for SocketReceiver {
    fn on_start(&self, sink: ReceiverSink<String>) {
        let stream = match TcpStream::connect(&self.address) {
            Ok(s) => s,
            Err(e) => {
                sink.restart(format!("error connecting to {}: {e}", self.address));
                return;
            }
        };
        let reader = match stream.try_clone() {
            Ok(r) => r,
            Err(e) => {
                sink.restart(format!("error reading from {}: {e}", self.address));
                return;
            }
        };
        *self.stream.lock().unwrap_or_else(|e| e.into_inner()) = Some(stream);
        let address = self.address.clone();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(reader).lines();
            while !sink.is_stopped() {
                match lines.next() {
                    Some(Ok(line)) => sink.store(line),
                    Some(Err(e)) => {
                        if !sink.is_stopped() {
                            sink.restart(format!("error reading from {address}: {e}"));
                        }
                        return;
                    }
                    None => {
                        if !sink.is_stopped() {
                            sink.restart(format!(
                                "socket data stream from {address} had no more data"
                            ));
                        }
                        return;
                    }
                }
            }
        });
    }

    fn on_stop(&self) {
        if let Some(s) = self.stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
            // Unblocks the reading thread.
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl StreamingContext {
    /// A stream of what `receiver` stores, as Spark's `receiverStream`: each batch holds
    /// the records stored since the previous batch, in the order they were stored, spread
    /// over the default number of partitions.
    pub fn receiver_stream<T: Data, R: Receiver<T>>(&self, name: &str, receiver: R) -> DStream<T> {
        let settings = self.receiver_settings();
        let sink = ReceiverSink {
            shared: Arc::new(Shared {
                name: name.to_owned(),
                buffer: Mutex::new(Stored {
                    records: Vec::new(),
                    log: None,
                }),
                stopped: AtomicBool::new(false),
                control: Mutex::new(Control { restart: None }),
                wake: Condvar::new(),
                context: Arc::downgrade(&self.inner),
                limiter: RateLimiter::new(
                    settings.max_rate,
                    settings
                        .backpressure
                        .then_some(settings.initial_rate)
                        .flatten(),
                ),
            }),
        };
        let input = Arc::new(ReceiverInput {
            ctx: self.context().clone(),
            id: OnceLock::new(),
            write_ahead_log: settings.write_ahead_log,
            recovered: Mutex::new(None),
            receiver: Arc::new(receiver),
            sink: sink.clone(),
            restart_delay: self.receiver_restart_delay(),
            supervisor: Mutex::new(None),
            records: Mutex::new(BTreeMap::new()),
        });
        let hooks = input.clone();
        let ctx = self.context().clone();
        let label = format!("the records of receiver {name}");
        let compute = move |time: Time| -> Result<Option<Dataset<T>>> {
            let taken: Vec<T> = ctx.agree(&format!("{label} for batch {time}"), || {
                input.take_batch(time)
            })?;
            let mut records = input.records.lock().unwrap_or_else(|e| e.into_inner());
            records.insert(time, taken.len() as u64);
            while records.len() > 64 {
                records.pop_first();
            }
            Ok(Some(ctx.parallelize(taken, ctx.default_parallelism())))
        };
        let stream = self.input_node("receiver_stream", Box::new(compute));
        let _ = hooks.id.set(stream.node.base.id);
        self.add_input(&stream, hooks.clone());
        if settings.backpressure {
            self.add_listener(Arc::new(RateController {
                input: hooks,
                estimator: Mutex::new(PidRateEstimator::new(self.inner.batch_ms)),
            }));
        }
        stream
    }

    /// Lines of text from a TCP server at `host:port`, as Spark's `socketTextStream`. A
    /// refused or dropped connection is reported to the listeners
    /// ([`StreamingListener::on_receiver_error`](crate::StreamingListener::on_receiver_error))
    /// and retried after the restart delay; the stream goes on with empty batches
    /// meanwhile. At most once: lines received but not yet in a batch are lost if the
    /// process dies.
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<String> {
        let receiver = SocketReceiver {
            address: format!("{host}:{port}"),
            stream: Mutex::new(None),
        };
        self.receiver_stream(&format!("socket {host}:{port}"), receiver)
    }
}

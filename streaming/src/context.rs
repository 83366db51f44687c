//! [`StreamingContext`]: the stream graph, the batch generator that runs it every batch
//! interval, and its lifecycle (`start`, `stop`, `await_termination`), as Spark's
//! `StreamingContext`, `DStreamGraph`, `JobGenerator` and `JobScheduler` together.

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use firesteel_core::{Context, Data, Dataset, Error, Result};

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::dstream::DStream;
use crate::listener::{BatchInfo, StreamingListener};
use crate::node::{collect, signature, AnyNode, NodeBase, OutputOp};
use crate::recovery::{fnv1a, BatchInputs, Log, Metadata};
use crate::time::{whole_millis, Time};

/// Where a [`StreamingContext`] is in its life, as Spark's `StreamingContextState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamingState {
    /// Built; streams and outputs may be added.
    Initialized,
    /// Started: batches run every batch interval.
    Active,
    /// Stopped; it cannot be started again.
    Stopped,
}

/// What an input stream gives back after a restart.
pub(crate) enum Replay {
    /// The same batches, from what it logged (or from the batch time alone).
    Exact,
    /// New data only: what it had received but not yet put in a batch is lost.
    Lossy,
    /// Nothing it can recover; the string says why.
    Impossible(&'static str),
}

/// An input stream's hooks into the context's life.
pub(crate) trait InputHooks: Send + Sync {
    /// How the stream replays after a restart.
    fn replay(&self) -> Replay {
        Replay::Exact
    }
    /// What the stream decided since the last call (the files it chose for a batch
    /// time, say), to log with the current batch.
    fn take_log(&self) -> Option<serde_json::Value> {
        None
    }
    /// Restores what an earlier run logged; `last` is its last finished batch.
    fn restore(&self, _logged: &[serde_json::Value], _last: Time) -> Result<()> {
        Ok(())
    }
    /// Called once when the context starts, with the time before the first batch.
    fn on_start(&self, _zero: Time) -> Result<()> {
        Ok(())
    }
    /// Called once when the context stops, before its last batch.
    fn on_stop(&self) {}
    /// Records the stream read for the batch at `time` (0 when it cannot tell).
    fn records(&self, _time: Time) -> u64 {
        0
    }
}

struct Graph {
    outputs: Vec<Arc<dyn OutputOp>>,
    inputs: Vec<(usize, Arc<dyn InputHooks>)>,
    checkpoint_dir: Option<PathBuf>,
    /// Set by [`StreamingContext::get_or_create`]: batches are logged for recovery.
    log: Option<Log>,
    remember_ms: Option<i64>,
    stop_on_error: bool,
    receiver_restart_delay: Duration,
    receivers: ReceiverSettings,
}

/// The settings of receiver streams.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReceiverSettings {
    pub backpressure: bool,
    /// Whether receivers log what they store (the receiver write-ahead log).
    pub write_ahead_log: bool,
    pub max_rate: Option<f64>,
    pub initial_rate: Option<f64>,
}

struct RunState {
    state: StreamingState,
    /// `Some(graceful)` once a stop has been asked for.
    stop: Option<bool>,
    /// The clock's time when a graceful stop was asked for: batches up to it still run.
    stop_at_ms: i64,
    /// The first failure, until [`StreamingContext::await_termination`] or
    /// [`StreamingContext::run_batches`] hands it out (afterwards, its message).
    first_error: Option<(Time, Error)>,
    error_message: Option<String>,
    /// Every failed batch's time and failure.
    failed: Vec<(Time, String)>,
    last_completed: Option<Time>,
    zero: Option<Time>,
    thread: Option<JoinHandle<()>>,
    thread_id: Option<ThreadId>,
}

pub(crate) struct Inner {
    pub(crate) ctx: Context,
    pub(crate) batch_ms: i64,
    clock: Arc<dyn Clock>,
    manual: Option<ManualClock>,
    graph: Mutex<Graph>,
    run: Mutex<RunState>,
    changed: Condvar,
    listeners: Mutex<Vec<Arc<dyn StreamingListener>>>,
    next_id: AtomicUsize,
}

/// The entry point of a streaming program, as Spark's `StreamingContext`: it cuts the
/// input streams into batches of `batch_interval`, turns each batch into a
/// [`Dataset`] and runs the output operations on it, batch after batch, on the engine of
/// the [`Context`] it was built on. Clones share the same context.
///
/// Streams and output operations are added before [`start`](Self::start); the graph is
/// checked as a whole when it starts (windows that are not multiples of the batch
/// interval, joins of streams with different slides, state without a checkpoint
/// directory are errors then).
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use firesteel_core::Context;
/// use firesteel_streaming::StreamingContext;
///
/// let ctx = Context::local(2).unwrap();
/// let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
/// let queue = Arc::new(Mutex::new(VecDeque::from([
///     ctx.parallelize(vec!["a b".to_string(), "b".into()], 2),
///     ctx.parallelize(vec!["c".to_string()], 1),
/// ])));
/// let counts = Arc::new(Mutex::new(Vec::new()));
/// let seen = counts.clone();
/// ssc.queue_stream(queue, true, None)
///     .flat_map(|line: String| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
///     .count()
///     .foreach_rdd(move |batch, _time| {
///         seen.lock().unwrap().extend(batch.collect()?);
///         Ok(())
///     });
/// ssc.start().unwrap();
/// ssc.run_batches(2).unwrap();
/// ssc.stop(false);
/// assert_eq!(*counts.lock().unwrap(), vec![3, 1]);
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for StreamingContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StreamingContext(batch {} ms, {:?})",
            self.inner.batch_ms,
            self.state()
        )
    }
}

fn wall_ms() -> i64 {
    SystemClock.now_ms()
}

impl StreamingContext {
    /// A streaming context on `ctx` with batches of `batch_interval`, paced by the system
    /// clock.
    ///
    /// # Errors
    /// A zero interval, or one that is not a whole number of milliseconds.
    pub fn new(ctx: &Context, batch_interval: Duration) -> Result<StreamingContext> {
        Self::build(ctx, batch_interval, Arc::new(SystemClock), None)
    }

    /// A streaming context paced by `clock`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_clock(
        ctx: &Context,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<StreamingContext> {
        Self::build(ctx, batch_interval, clock, None)
    }

    /// A streaming context on a [`ManualClock`] starting at 0, as Spark's tests use: the
    /// batch at time `t` runs once the clock reaches `t`
    /// ([`run_batches`](Self::run_batches) advances it batch by batch).
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_manual_clock(ctx: &Context, batch_interval: Duration) -> Result<StreamingContext> {
        let clock = ManualClock::new(0);
        Self::build(ctx, batch_interval, Arc::new(clock.clone()), Some(clock))
    }

    fn build(
        ctx: &Context,
        batch_interval: Duration,
        clock: Arc<dyn Clock>,
        manual: Option<ManualClock>,
    ) -> Result<StreamingContext> {
        let batch_ms = whole_millis(batch_interval, "the batch interval")?;
        Ok(StreamingContext {
            inner: Arc::new(Inner {
                ctx: ctx.clone(),
                batch_ms,
                clock,
                manual,
                graph: Mutex::new(Graph {
                    outputs: Vec::new(),
                    inputs: Vec::new(),
                    checkpoint_dir: None,
                    log: None,
                    remember_ms: None,
                    stop_on_error: false,
                    receiver_restart_delay: Duration::from_secs(2),
                    receivers: ReceiverSettings::default(),
                }),
                run: Mutex::new(RunState {
                    state: StreamingState::Initialized,
                    stop: None,
                    stop_at_ms: 0,
                    first_error: None,
                    error_message: None,
                    failed: Vec::new(),
                    last_completed: None,
                    zero: None,
                    thread: None,
                    thread_id: None,
                }),
                changed: Condvar::new(),
                listeners: Mutex::new(Vec::new()),
                next_id: AtomicUsize::new(0),
            }),
        })
    }

    /// A context that survives crashes, as Spark's `StreamingContext.getOrCreate`:
    /// `setup` builds the context and its streams (closures cannot be saved, so it runs
    /// every time, unlike in Spark), and `checkpoint_dir` keeps what a restart needs. On
    /// a fresh directory the context starts as usual and logs each batch's inputs before
    /// its outputs run and a commit marker after they all finish. On a directory left by
    /// an earlier run of the same program, [`start`](Self::start) checks that the stream
    /// graph is the same one (a different graph is an error), reloads the newest state
    /// checkpoints, rebuilds state up to the last finished batch from the logged inputs
    /// and runs the following batches (unfinished ones with exactly the inputs they were
    /// given), so that idempotent outputs such as
    /// [`DStream::save_as_text_files`] come out exactly once.
    ///
    /// Queue streams cannot be recovered and are refused; receivers (sockets) lose what
    /// they had received but not yet put in a batch.
    ///
    /// # Errors
    /// `setup`'s errors, or a checkpoint directory that cannot be created.
    pub fn get_or_create(
        checkpoint_dir: impl AsRef<Path>,
        setup: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        let ssc = setup()?;
        ssc.checkpoint(checkpoint_dir.as_ref())?;
        ssc.inner.graph().log = Some(Log::new(checkpoint_dir.as_ref()));
        Ok(ssc)
    }

    /// The batch engine's context.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// The batch interval.
    pub fn batch_interval(&self) -> Duration {
        Duration::from_millis(self.inner.batch_ms as u64)
    }

    /// The manual clock, when the context was built with
    /// [`with_manual_clock`](Self::with_manual_clock).
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.inner.manual.as_ref()
    }

    /// Where the context is in its life.
    pub fn state(&self) -> StreamingState {
        self.inner.run().state
    }

    /// The time before the first batch, once started.
    pub fn zero_time(&self) -> Option<Time> {
        self.inner.run().zero
    }

    /// Sets the directory where stateful streams write their periodic checkpoints (created
    /// if missing), as Spark's `StreamingContext.checkpoint`.
    ///
    /// # Errors
    /// The directory cannot be created, or the context has started.
    pub fn checkpoint(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.expect_initialized("set the checkpoint directory")?;
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        self.inner.graph().checkpoint_dir = Some(dir);
        Ok(())
    }

    /// Makes every stream remember its generated datasets for at least `duration` (so that
    /// [`DStream::slice`] can reach back that far), as Spark's `remember`.
    ///
    /// # Errors
    /// A duration that is not a positive whole number of milliseconds, or a started
    /// context.
    pub fn remember(&self, duration: Duration) -> Result<()> {
        self.expect_initialized("set the remember duration")?;
        self.inner.graph().remember_ms = Some(whole_millis(duration, "the remember duration")?);
        Ok(())
    }

    /// Whether a failed batch stops the context (`true`) or the following batches still
    /// run (`false`, Spark's behaviour and the default). Either way
    /// [`await_termination`](Self::await_termination) returns the first failure.
    pub fn stop_on_error(&self, stop: bool) {
        self.inner.graph().stop_on_error = stop;
    }

    /// How long a receiver waits before it starts again after asking for a restart
    /// (Spark's `spark.streaming.receiverRestartDelay`, 2 s by default). Applies to
    /// receiver streams created afterwards.
    pub fn set_receiver_restart_delay(&self, delay: Duration) {
        self.inner.graph().receiver_restart_delay = delay;
    }

    pub(crate) fn receiver_restart_delay(&self) -> Duration {
        self.inner.graph().receiver_restart_delay
    }

    /// Turns backpressure on or off (Spark's `spark.streaming.backpressure.enabled`, off by
    /// default): after each batch, a PID controller ([`PidRateEstimator`](crate::PidRateEstimator),
    /// Spark's gains) sets the rate each receiver may store at from the batch's size and
    /// delays, so that batches keep within the batch interval. Applies to receiver streams
    /// created afterwards.
    pub fn backpressure(&self, enabled: bool) {
        self.inner.graph().receivers.backpressure = enabled;
    }

    /// The most records per second each receiver stores (Spark's
    /// `spark.streaming.receiver.maxRate`; unlimited by default). Backpressure never goes
    /// above it. Applies to receiver streams created afterwards.
    pub fn set_max_rate(&self, records_per_second: f64) {
        self.inner.graph().receivers.max_rate = Some(records_per_second);
    }

    /// The rate receivers start at when backpressure is on, before the first estimate
    /// (Spark's `spark.streaming.backpressure.initialRate`).
    pub fn set_initial_rate(&self, records_per_second: f64) {
        self.inner.graph().receivers.initial_rate = Some(records_per_second);
    }

    /// Turns the receiver write-ahead log on or off (Spark's
    /// `spark.streaming.receiver.writeAheadLog.enable`, off by default): each receiver
    /// appends what it stores to a log in the checkpoint directory before `store` returns,
    /// so that after a crash and a restart by [`get_or_create`](Self::get_or_create) every
    /// stored record is processed at least once (and an unfinished batch again with the
    /// same records). Needs a context made by `get_or_create`. Applies to receiver streams
    /// created afterwards.
    pub fn receiver_write_ahead_log(&self, enabled: bool) {
        self.inner.graph().receivers.write_ahead_log = enabled;
    }

    pub(crate) fn receiver_settings(&self) -> ReceiverSettings {
        self.inner.graph().receivers
    }

    /// Adds a listener of batch events.
    pub fn add_listener(&self, listener: Arc<dyn StreamingListener>) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    fn expect_initialized(&self, what: &str) -> Result<()> {
        match self.state() {
            StreamingState::Initialized => Ok(()),
            s => Err(Error::InvalidArgument(format!(
                "cannot {what}: the streaming context is {s:?}"
            ))),
        }
    }

    /// Starts the batches: checks the stream graph, sets the zero time to the last batch
    /// boundary of the clock and runs the batch at each following boundary on a thread of
    /// its own.
    ///
    /// # Errors
    /// A context already started or stopped, no output operation, or a stream graph
    /// problem (a window or slide that is not a multiple of its parent's slide, streams
    /// of different slides combined, state without a checkpoint directory).
    pub fn start(&self) -> Result<()> {
        self.expect_initialized("start")?;
        let (nodes, inputs, dir, remember) = {
            let g = self.inner.graph();
            if g.outputs.is_empty() {
                return Err(Error::InvalidArgument(
                    "no output operations registered, so nothing to execute".into(),
                ));
            }
            (
                g.outputs.iter().map(|o| o.node()).collect::<Vec<_>>(),
                g.inputs.clone(),
                g.checkpoint_dir.clone(),
                g.remember_ms,
            )
        };
        let batch = self.inner.batch_ms;
        let log = self.inner.graph().log.clone();
        let earlier = match &log {
            Some(log) => log.read_metadata()?,
            None => None,
        };
        let (zero, mut first) = match &earlier {
            Some(m) => {
                if m.batch_ms != batch {
                    return Err(Error::InvalidArgument(format!(
                        "the checkpoint in {} was written with batches of {} ms, not {batch} ms",
                        dir.as_ref()
                            .map_or(String::new(), |d| d.display().to_string()),
                        m.batch_ms
                    )));
                }
                let zero = Time::from_millis(m.zero_ms);
                (zero, zero.plus(batch))
            }
            None => {
                // In cluster mode rank 0's clock sets the batch times of every process.
                let clock = &self.inner.clock;
                let now = self
                    .inner
                    .ctx
                    .agree("the streaming start time", || Ok(clock.now_ms()))?;
                let first = Time::from_millis((now.div_euclid(batch) + 1) * batch);
                (first.minus(batch), first)
            }
        };
        for n in &nodes {
            n.initialize(zero, dir.as_ref())?;
        }
        for n in &nodes {
            n.remember(remember);
        }
        for n in &nodes {
            n.validate()?;
        }
        let mut all: Vec<Arc<dyn AnyNode>> = Vec::new();
        for n in &nodes {
            collect(n.clone(), &mut all);
        }
        if let Some(log) = &log {
            for (id, i) in &inputs {
                if let Replay::Impossible(why) = i.replay() {
                    return Err(Error::InvalidArgument(format!(
                        "stream {id} cannot be recovered after a restart ({why}), so it \
                         cannot be part of a context made by get_or_create"
                    )));
                }
            }
            let (hash, graph) = graph_signature(batch, &nodes, &all);
            match &earlier {
                Some(m) if m.graph_hash != hash => {
                    return Err(Error::InvalidArgument(format!(
                        "the checkpoint in {} belongs to a different stream graph \
                         (signature {} there, {hash} here); use a new checkpoint directory \
                         for a changed program.\nthere:\n{}\nhere:\n{graph}",
                        dir.as_ref()
                            .map_or(String::new(), |d| d.display().to_string()),
                        m.graph_hash,
                        m.graph
                    )));
                }
                Some(_) => {
                    first = self.recover(log, zero, &inputs, &all)?;
                }
                None => log.write_metadata(&Metadata {
                    version: 1,
                    batch_ms: batch,
                    zero_ms: zero.millis(),
                    graph_hash: hash,
                    graph,
                })?,
            }
        }
        for (_, i) in &inputs {
            i.on_start(zero)?;
        }
        let weak = Arc::downgrade(&self.inner);
        let thread = std::thread::Builder::new()
            .name("firesteel-streaming".into())
            .spawn(move || generate_batches(weak, first))
            .map_err(|e| Error::io("starting the batch thread for", "streaming", e))?;
        {
            let mut run = self.inner.run();
            run.state = StreamingState::Active;
            run.zero = Some(zero);
            if first > zero.plus(batch) {
                run.last_completed = Some(first.minus(batch));
            }
            run.thread_id = Some(thread.thread().id());
            run.thread = Some(thread);
        }
        for l in self.inner.listeners() {
            l.on_streaming_started(zero);
        }
        tracing::info!(zero = %zero, batch_ms = batch, "streaming started");
        Ok(())
    }

    /// Rebuilds what an earlier run left in the checkpoint directory: the inputs it logged,
    /// the newest state checkpoints, and the state up to its last finished batch. Returns
    /// the time of the first batch to run: the one after the last finished batch (batches
    /// that were logged but not finished run again with the inputs they were given).
    fn recover(
        &self,
        log: &Log,
        zero: Time,
        inputs: &[(usize, Arc<dyn InputHooks>)],
        all: &[Arc<dyn AnyNode>],
    ) -> Result<Time> {
        let batch = self.inner.batch_ms;
        let last = log.last_commit()?.unwrap_or(zero).max(zero);
        let logged = log.read_batches()?;
        for (id, input) in inputs {
            let key = id.to_string();
            let entries: Vec<serde_json::Value> = logged
                .values()
                .filter_map(|b| b.get(&key).cloned())
                .collect();
            input.restore(&entries, last)?;
        }
        let ctx = self.inner.ctx.clone();
        for n in all {
            let must = n.base().lock().checkpoint_ms.is_some();
            if !must {
                continue;
            }
            let from = n.restore_checkpoint(&ctx, last)?.unwrap_or(zero);
            // State from the checkpoint up to the last finished batch, from the logged
            // inputs; it is computed when the next batch needs it.
            let slide = n.base().slide_ms;
            let mut t = from.plus(slide);
            while t <= last {
                n.recompute(t)?;
                t = t.plus(slide);
            }
        }
        if let Some(clock) = &self.inner.manual {
            if clock.now_ms() < last.millis() {
                clock.set_time(last.millis());
            }
        }
        tracing::info!(last_finished = %last, "streaming recovered from its checkpoint");
        Ok(last.plus(batch))
    }

    /// Stops the batches, as Spark's `stop(stopGracefully)`. A batch in progress always
    /// finishes (its jobs are not cut short); with `graceful`, the batches whose time the
    /// clock had already reached also run. Returns once the batch thread has ended (at
    /// once when called from inside a batch). Stopping twice, or before starting, is
    /// harmless.
    pub fn stop(&self, graceful: bool) {
        let join = {
            let mut run = self.inner.run();
            if run.state == StreamingState::Initialized {
                run.state = StreamingState::Stopped;
                self.inner.changed.notify_all();
                return;
            }
            if run.stop.is_none() {
                run.stop = Some(graceful);
                run.stop_at_ms = self.inner.clock.now_ms();
            }
            if run.thread_id == Some(std::thread::current().id()) {
                None
            } else {
                run.thread.take()
            }
        };
        // Receivers stop first: what they stored so far still goes into the batches that
        // run before the generator ends.
        let inputs = self.inner.graph().inputs.clone();
        for (_, i) in &inputs {
            i.on_stop();
        }
        self.inner.clock.wake();
        let joined = join.is_some();
        if let Some(t) = join {
            let _ = t.join();
        }
        if joined {
            self.inner.run().state = StreamingState::Stopped;
        }
        self.inner.changed.notify_all();
    }

    /// Waits until the context stops or a batch fails.
    ///
    /// # Errors
    /// The first batch failure (the same failure on every later call).
    pub fn await_termination(&self) -> Result<()> {
        self.await_termination_inner(None).map(|_| ())
    }

    /// As [`await_termination`](Self::await_termination), for at most `timeout`; `true` if
    /// the context stopped.
    ///
    /// # Errors
    /// As [`await_termination`](Self::await_termination).
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool> {
        self.await_termination_inner(Some(timeout))
    }

    fn await_termination_inner(&self, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut run = self.inner.run();
        loop {
            if let Some(e) = take_error(&mut run) {
                return Err(e);
            }
            if run.state == StreamingState::Stopped {
                return Ok(true);
            }
            run = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    self.inner
                        .changed
                        .wait_timeout(run, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self
                    .inner
                    .changed
                    .wait(run)
                    .unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// Waits until the batch at `time` (and every one before it) has completed, for at most
    /// `timeout`; `true` if it has. Completed includes failed.
    pub fn await_batch(&self, time: Time, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut run = self.inner.run();
        loop {
            if run.last_completed.is_some_and(|t| t >= time) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || run.state == StreamingState::Stopped {
                return false;
            }
            run = self
                .inner
                .changed
                .wait_timeout(run, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Runs the next `n` batches on a context built with
    /// [`with_manual_clock`](Self::with_manual_clock): advances the clock one batch
    /// interval at a time and waits for each batch, as fast as the engine goes.
    ///
    /// # Errors
    /// No manual clock, a context that is not active, or the first failure among these
    /// batches.
    pub fn run_batches(&self, n: usize) -> Result<()> {
        let Some(clock) = &self.inner.manual else {
            return Err(Error::InvalidArgument(
                "run_batches needs a context built with StreamingContext::with_manual_clock".into(),
            ));
        };
        if self.state() != StreamingState::Active {
            return Err(Error::InvalidArgument(format!(
                "run_batches needs an active streaming context; it is {:?}",
                self.state()
            )));
        }
        let batch = self.inner.batch_ms;
        let mut first: Option<Time> = None;
        for _ in 0..n {
            let now = clock.now_ms();
            let next = Time::from_millis((now.div_euclid(batch) + 1) * batch);
            first.get_or_insert(next);
            clock.set_time(next.millis());
            while !self.await_batch(next, Duration::from_secs(1)) {
                if self.state() == StreamingState::Stopped {
                    // Stopped by a failed batch (stop_on_error): that failure is the cause.
                    if let Some(e) = take_error(&mut self.inner.run()) {
                        return Err(e);
                    }
                    return Err(Error::InvalidArgument(format!(
                        "the streaming context stopped before the batch at {next}"
                    )));
                }
            }
        }
        let mut run = self.inner.run();
        let Some(first) = first else { return Ok(()) };
        if run.first_error.as_ref().is_some_and(|(t, _)| *t >= first) {
            return Err(take_error(&mut run).unwrap_or_else(|| Error::Unrecoverable(String::new())));
        }
        match run.failed.iter().find(|(t, _)| *t >= first) {
            Some((_, m)) => Err(Error::Unrecoverable(m.clone())),
            None => Ok(()),
        }
    }

    /// Runs batches on a context built with [`with_manual_clock`](Self::with_manual_clock)
    /// until the batch at `time` has run (none if it already has, as after a recovery
    /// that got past it).
    ///
    /// # Errors
    /// As [`run_batches`](Self::run_batches).
    pub fn run_until(&self, time: Time) -> Result<()> {
        let Some(clock) = &self.inner.manual else {
            return self.run_batches(0);
        };
        let batch = self.inner.batch_ms;
        let next = (clock.now_ms().div_euclid(batch) + 1) * batch;
        let n = (time.millis() - next).div_euclid(batch) + 1;
        self.run_batches(n.max(0) as usize)
    }

    // ----- inputs -----

    /// A stream whose batches are datasets taken from `queue`, as Spark's `queueStream`:
    /// one per batch (`one_at_a_time`) or all that are queued, unioned. A batch that finds
    /// the queue empty is `default`, or an empty dataset.
    ///
    /// Datasets pushed while the context runs are picked up by the next batch. The queue's
    /// contents are not logged, so after a restart they are gone (Spark's queue streams
    /// cannot be checkpointed at all).
    pub fn queue_stream<T: Data>(
        &self,
        queue: Arc<Mutex<VecDeque<Dataset<T>>>>,
        one_at_a_time: bool,
        default: Option<Dataset<T>>,
    ) -> DStream<T> {
        struct QueueInput;
        impl InputHooks for QueueInput {
            fn replay(&self) -> Replay {
                Replay::Impossible("a queue stream's datasets are not logged")
            }
        }
        let ctx = self.inner.ctx.clone();
        let compute = move |_time: Time| -> Result<Option<Dataset<T>>> {
            let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
            let taken: Vec<Dataset<T>> = if one_at_a_time {
                q.pop_front().into_iter().collect()
            } else {
                q.drain(..).collect()
            };
            drop(q);
            Ok(Some(match taken.len() {
                0 => default.clone().unwrap_or_else(|| ctx.empty()),
                1 => taken.into_iter().next().unwrap_or_else(|| ctx.empty()),
                _ => ctx.union(&taken),
            }))
        };
        let stream = self.input_node("queue_stream", Box::new(compute));
        self.add_input(&stream, Arc::new(QueueInput));
        stream
    }

    /// An input stream whose batch at each time is `compute(time)`, as a Spark
    /// `InputDStream` subclass overriding `compute`: for generated data, or for any source
    /// that can say what belongs to a batch time. `None` means no batch at that time.
    /// Every batch time asks once; a source that is a pure function of the time can be
    /// replayed exactly after a restart.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use firesteel_streaming::StreamingContext;
    ///
    /// let ctx = firesteel_core::Context::local(1).unwrap();
    /// let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
    /// let c = ctx.clone();
    /// let sums = Arc::new(Mutex::new(Vec::new()));
    /// let seen = sums.clone();
    /// ssc.input_stream(move |t| Ok(Some(c.range(0, t.millis() / 1000, 1, 1)?)))
    ///     .reduce(|a, b| a + b)
    ///     .foreach_rdd(move |ds, _| Ok(seen.lock().unwrap().extend(ds.collect()?)));
    /// ssc.start().unwrap();
    /// ssc.run_batches(3).unwrap();
    /// ssc.stop(false);
    /// assert_eq!(*sums.lock().unwrap(), vec![0, 1, 3]);
    /// ```
    pub fn input_stream<T: Data>(
        &self,
        compute: impl Fn(Time) -> Result<Option<Dataset<T>>> + Send + Sync + 'static,
    ) -> DStream<T> {
        self.input_node("input_stream", Box::new(compute))
    }

    /// A new input stream node computing each batch with `compute`.
    pub(crate) fn input_node<T: Data>(
        &self,
        name: &'static str,
        compute: crate::node::ComputeFn<T>,
    ) -> DStream<T> {
        let base = self.node_base(name, self.inner.batch_ms, Vec::new());
        DStream::from_node(self, base, compute)
    }

    pub(crate) fn add_input<T: Data>(&self, stream: &DStream<T>, hooks: Arc<dyn InputHooks>) {
        self.inner.graph().inputs.push((stream.node.base.id, hooks));
    }

    /// The union of several streams of the same slide, as Spark's `StreamingContext.union`.
    ///
    /// An empty list gives a stream of empty batches.
    pub fn union<T: Data>(&self, streams: &[DStream<T>]) -> DStream<T> {
        DStream::union_all(self, streams)
    }

    pub(crate) fn node_base(
        &self,
        name: &'static str,
        slide_ms: i64,
        parents: Vec<Arc<dyn crate::node::AnyNode>>,
    ) -> NodeBase {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        NodeBase::new(id, name, slide_ms, parents)
    }

    pub(crate) fn add_output(&self, op: Arc<dyn OutputOp>) {
        self.inner.graph().outputs.push(op);
    }
}

fn take_error(run: &mut RunState) -> Option<Error> {
    if let Some((_, e)) = run.first_error.take() {
        return Some(e);
    }
    run.error_message
        .as_ref()
        .map(|m| Error::Unrecoverable(m.clone()))
}

impl Inner {
    fn graph(&self) -> MutexGuard<'_, Graph> {
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) -> MutexGuard<'_, RunState> {
        self.run.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The recovery log of a context made by `get_or_create`.
    pub(crate) fn recovery_log(&self) -> Option<Log> {
        self.graph().log.clone()
    }

    pub(crate) fn listeners(&self) -> Vec<Arc<dyn StreamingListener>> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the batch at `time` should not run because of a stop request.
    fn stops_before(&self, time: Time) -> bool {
        let run = self.run();
        match run.stop {
            None => false,
            Some(false) => true,
            Some(true) => time.millis() > run.stop_at_ms,
        }
    }

    /// Generates and runs the batch at `time`, then forgets what no stream needs any more.
    fn run_batch(&self, time: Time) {
        let (outputs, inputs, stop_on_error, log) = {
            let g = self.graph();
            (
                g.outputs.clone(),
                g.inputs.clone(),
                g.stop_on_error,
                g.log.clone(),
            )
        };
        let listeners = self.listeners();
        let mut info = BatchInfo {
            batch_time: time,
            num_records: 0,
            submission_time: wall_ms(),
            processing_start_time: None,
            processing_end_time: None,
            failure: None,
        };
        let mut failure: Option<Error> = None;
        let mut jobs = Vec::new();
        for o in &outputs {
            match o.generate_job(time) {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        info.num_records = inputs.iter().map(|(_, i)| i.records(time)).sum();
        if failure.is_none() {
            if let Some(log) = &log {
                let mut logged = BatchInputs::new();
                for (id, i) in &inputs {
                    if let Some(v) = i.take_log() {
                        logged.insert(id.to_string(), v);
                    }
                }
                if let Err(e) = log.write_batch(time, &logged) {
                    failure = Some(e);
                }
            }
        }
        for l in &listeners {
            l.on_batch_submitted(&info);
        }
        info.processing_start_time = Some(wall_ms());
        for l in &listeners {
            l.on_batch_started(&info);
        }
        if failure.is_none() {
            // Every output job runs even if an earlier one failed, as in Spark, where
            // each is a job of its own.
            for job in jobs {
                if let Err(e) = job() {
                    failure.get_or_insert(e);
                }
            }
        }
        if failure.is_none() {
            if let Some(log) = &log {
                // Every output finished: the batch is done for good. Log entries older
                // than any stream looks back are no longer needed to rebuild state.
                let horizon = outputs
                    .iter()
                    .map(|o| max_remember(&o.node()))
                    .max()
                    .unwrap_or(0);
                if let Err(e) = log
                    .commit(time)
                    .and_then(|()| log.prune(time.minus(horizon + self.batch_ms)))
                {
                    failure = Some(e);
                }
            }
        }
        info.processing_end_time = Some(wall_ms());
        info.failure = failure.as_ref().map(|e| format!("batch {time}: {e}"));
        for o in &outputs {
            o.node().clear_metadata(time);
        }
        for l in &listeners {
            l.on_batch_completed(&info);
        }
        let mut run = self.run();
        run.last_completed = Some(time);
        if let Some(e) = failure {
            tracing::error!(%time, error = %e, "batch failed");
            let message = info.failure.clone().unwrap_or_default();
            run.failed.push((time, message.clone()));
            if run.error_message.is_none() {
                run.error_message = Some(message);
                run.first_error = Some((time, e));
            }
            if stop_on_error && run.stop.is_none() {
                run.stop = Some(false);
            }
        }
        self.changed.notify_all();
    }
}

impl Inner {
    /// Records that the batch at `time` could not even start, and stops.
    fn fail_to_start(&self, time: Time, e: Error) {
        tracing::error!(%time, error = %e, "batch could not start");
        let message = format!("batch {time}: {e}");
        let mut run = self.run();
        run.failed.push((time, message.clone()));
        if run.error_message.is_none() {
            run.error_message = Some(message);
            run.first_error = Some((time, e));
        }
        run.stop.get_or_insert(false);
        self.changed.notify_all();
    }
}

/// The longest any node from `node` up remembers its batches.
fn max_remember(node: &Arc<dyn AnyNode>) -> i64 {
    let own = node.base().lock().remember_ms.unwrap_or(0);
    node.base()
        .parents
        .iter()
        .map(max_remember)
        .fold(own, i64::max)
}

/// The stream graph's signature: a hash of a description of every node and output, in
/// the order the program built them.
fn graph_signature(
    batch_ms: i64,
    outputs: &[Arc<dyn AnyNode>],
    all: &[Arc<dyn AnyNode>],
) -> (String, String) {
    let mut lines = vec![format!("batch {batch_ms} ms")];
    let mut nodes: Vec<&Arc<dyn AnyNode>> = all.iter().collect();
    nodes.sort_by_key(|n| n.base().id);
    lines.extend(nodes.iter().map(|n| signature(n.as_ref())));
    lines.extend(
        outputs
            .iter()
            .enumerate()
            .map(|(i, n)| format!("output {i} of stream {}", n.base().id)),
    );
    let text = lines.join("\n");
    (fnv1a(&text), text)
}

/// The batch generator: waits for each batch time and runs the batch, until stopped or
/// until every handle on the context is gone.
fn generate_batches(weak: Weak<Inner>, first: Time) {
    let mut time = first;
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let clock = inner.clock.clone();
        let batch = inner.batch_ms;
        drop(inner);
        let should_wake = || weak.upgrade().is_none_or(|i| i.run().stop.is_some());
        let now = clock.wait_till(time.millis(), &should_wake);
        let Some(inner) = weak.upgrade() else { return };
        let stopping = inner.run().stop.is_some();
        if now < time.millis() && !stopping {
            continue;
        }
        // Woken for a stop, the batch runs only if the clock had reached it before.
        let runs = now >= time.millis() && !inner.stops_before(time);
        // In cluster mode rank 0 decides, so that every process runs the same batches.
        let label = format!("whether batch {time} runs");
        let runs = match inner.ctx.agree(&label, || Ok(runs)) {
            Ok(runs) => runs,
            Err(e) => {
                inner.fail_to_start(time, e);
                break;
            }
        };
        if !runs {
            break;
        }
        inner.run_batch(time);
        time = time.plus(batch);
    }
    if let Some(inner) = weak.upgrade() {
        // The generated datasets are no longer needed: free their cached blocks.
        let outputs = inner.graph().outputs.clone();
        for o in &outputs {
            o.node().release();
        }
        let mut run = inner.run();
        run.state = StreamingState::Stopped;
        inner.changed.notify_all();
    }
}

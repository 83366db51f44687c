//! State kept from batch to batch: `update_state_by_key`, as Spark's `StateDStream`. The
//! state is a cached dataset partitioned by key; each batch cogroups it with the batch's
//! values (only the batch is shuffled) and checkpoints it every so often, so its lineage
//! never grows without bound.

use std::hash::Hash;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use firesteel_core::partitioner::HashPartitioner;
use firesteel_core::{Data, Dataset, Result, StorageLevel};

use crate::dstream::DStream;
use crate::time::Time;
use crate::window::{previous, SelfRef};

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// Keeps a state per key, updated at every batch by `f(new values, previous state)`,
    /// as Spark's `updateStateByKey`: keys with state but no new values are called with no
    /// values, and returning `None` drops the key. The output at each batch is the whole
    /// state. Needs [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint):
    /// the state is checkpointed at the smallest multiple of the slide that is at least
    /// 10 s.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use firesteel_streaming::StreamingContext;
    ///
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
    /// ssc.checkpoint(tempfile::tempdir().unwrap().keep()).unwrap();
    /// let batches = VecDeque::from([
    ///     ctx.parallelize(vec![('a', 1u64), ('b', 1)], 1),
    ///     ctx.parallelize(vec![('a', 1)], 1),
    /// ]);
    /// let totals = Arc::new(Mutex::new(Vec::new()));
    /// let seen = totals.clone();
    /// ssc.queue_stream(Arc::new(Mutex::new(batches)), true, None)
    ///     .update_state_by_key(|new: Vec<u64>, old: Option<u64>| {
    ///         Some(old.unwrap_or(0) + new.iter().sum::<u64>())
    ///     })
    ///     .foreach_rdd(move |state, _| {
    ///         let mut s = state.collect()?;
    ///         s.sort();
    ///         seen.lock().unwrap().push(s);
    ///         Ok(())
    ///     });
    /// ssc.start().unwrap();
    /// ssc.run_batches(2).unwrap();
    /// ssc.stop(false);
    /// assert_eq!(*totals.lock().unwrap(), vec![
    ///     vec![('a', 1), ('b', 1)],
    ///     vec![('a', 2), ('b', 1)],
    /// ]);
    /// ```
    pub fn update_state_by_key<S: Data>(
        &self,
        f: impl Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    ) -> DStream<(K, S)> {
        let n = self.ssc.context().default_parallelism();
        self.update_state_by_key_with(f, HashPartitioner::new(n), None)
    }

    /// As [`update_state_by_key`](Self::update_state_by_key), with the state hash
    /// partitioned by `partitioner` and starting from `initial` (Spark's `initialRDD`).
    pub fn update_state_by_key_with<S: Data>(
        &self,
        f: impl Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
        partitioner: HashPartitioner,
        initial: Option<Dataset<(K, S)>>,
    ) -> DStream<(K, S)> {
        let f = Arc::new(f);
        let slide = self.slide_ms();
        let mut base = self
            .ssc
            .node_base("update_state_by_key", slide, vec![self.any()]);
        base.must_checkpoint = true;
        let me: SelfRef<(K, S)> = Arc::new(OnceLock::new());
        let me2 = me.clone();
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let p = partitioner;
        let compute = move |time: Time| -> Result<Option<Dataset<(K, S)>>> {
            let prev = match previous(&me2, time.minus(slide))? {
                Some(state) => state,
                None => match &initial {
                    Some(init) => init.partition_by(p),
                    None => ctx.empty(),
                },
            };
            let f = f.clone();
            Ok(Some(match parent.get_or_compute(time)? {
                Some(batch) => prev
                    .cogroup_with(&batch, p)
                    .flat_map_values(move |(states, values)| f(values, states.into_iter().next())),
                None => prev.flat_map_values(move |s| f(Vec::new(), Some(s))),
            }))
        };
        let out = DStream::from_node(&self.ssc, base, Box::new(compute))
            .persist(StorageLevel::MemoryOnly);
        let _ = me.set(Arc::downgrade(&out.node));
        out
    }
}

/// A key's state as the [`StateSpec`] function sees it, as Spark's `State`.
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    updated: bool,
    removed: bool,
    timing_out: bool,
}

impl<S> State<S> {
    /// Whether the key has a state.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The state, if the key has one.
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the state. Ignored for a state that is timing out: it is removed whatever the
    /// function does (Spark throws instead).
    pub fn update(&mut self, state: S) {
        if !self.timing_out {
            self.value = Some(state);
            self.updated = true;
            self.removed = false;
        }
    }

    /// Removes the key's state.
    pub fn remove(&mut self) {
        self.value = None;
        self.removed = true;
    }

    /// Whether the function is being called because the key timed out (with no value).
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

type MappingFn<K, V, S, E> = Arc<dyn Fn(&K, Option<V>, &mut State<S>) -> E + Send + Sync>;

/// What [`DStream::map_with_state`] does, as Spark's `StateSpec`: the mapping function,
/// and optionally an initial state, a partition count and an idle timeout.
pub struct StateSpec<K, V, S, E> {
    f: MappingFn<K, V, S, E>,
    initial: Option<Dataset<(K, S)>>,
    partitions: Option<usize>,
    timeout: Option<Duration>,
}

impl<K, V, S, E> std::fmt::Debug for StateSpec<K, V, S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSpec")
            .field("partitions", &self.partitions)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<K: Data, V: Data, S: Data, E: Data> StateSpec<K, V, S, E> {
    /// A spec calling `f(key, value, state)` once per record of each batch (and with no
    /// value when the key times out); its results form the mapped stream.
    pub fn function(f: impl Fn(&K, Option<V>, &mut State<S>) -> E + Send + Sync + 'static) -> Self {
        StateSpec {
            f: Arc::new(f),
            initial: None,
            partitions: None,
            timeout: None,
        }
    }

    /// The state before the first batch.
    pub fn initial_state(mut self, initial: Dataset<(K, S)>) -> Self {
        self.initial = Some(initial);
        self
    }

    /// Hash partitions of the state (default: the context's default parallelism).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.partitions = Some(n.max(1));
        self
    }

    /// Keys with no new record for longer than `idle` time out: the function is called
    /// once more with no value and [`State::is_timing_out`] true, and the state is removed.
    /// As in Spark, timeouts are found in the batches where the state is checkpointed.
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.timeout = Some(idle);
        self
    }
}

/// A key's stored state with the time it was last updated, and what the batch's calls
/// returned for it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entry<S, E> {
    state: Option<(S, i64)>,
    mapped: Vec<E>,
}

/// The stream [`DStream::map_with_state`] returns: the mapped values (it dereferences to
/// a [`DStream<E>`]), and the states through [`state_snapshots`](Self::state_snapshots).
pub struct MapWithStateDStream<K, S, E> {
    mapped: DStream<E>,
    internal: DStream<(K, Entry<S, E>)>,
}

impl<K: Data, S: Data, E: Data> std::fmt::Debug for MapWithStateDStream<K, S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MapWithStateDStream({:?})", self.mapped)
    }
}

impl<K, S, E> std::ops::Deref for MapWithStateDStream<K, S, E> {
    type Target = DStream<E>;
    fn deref(&self) -> &DStream<E> {
        &self.mapped
    }
}

impl<K: Data + Hash + Eq, S: Data, E: Data> MapWithStateDStream<K, S, E> {
    /// Every key's state after each batch, as Spark's `stateSnapshots`.
    pub fn state_snapshots(&self) -> DStream<(K, S)> {
        self.internal
            .flat_map(|(k, e): (K, Entry<S, E>)| e.state.map(|(s, _)| (k, s)))
    }

    /// The mapped values as a stream of their own.
    pub fn mapped(&self) -> DStream<E> {
        self.mapped.clone()
    }
}

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// Keeps a state per key and maps every record with it, as Spark's `mapWithState`:
    /// `spec`'s function gets each record's key and value and the key's [`State`], which
    /// it may read, update or remove; what it returns is the mapped stream. Unlike
    /// [`update_state_by_key`](Self::update_state_by_key), keys without new records cost
    /// nothing (they are not called) except for timeouts. The state is checkpointed every
    /// 10 slides, as in Spark; needs
    /// [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint).
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use firesteel_streaming::{StateSpec, StreamingContext};
    ///
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
    /// ssc.checkpoint(tempfile::tempdir().unwrap().keep()).unwrap();
    /// let batches = VecDeque::from([
    ///     ctx.parallelize(vec![('a', 1u64), ('b', 1)], 1),
    ///     ctx.parallelize(vec![('a', 1)], 1),
    /// ]);
    /// // Running counts, emitted for the keys of each batch only.
    /// let spec = StateSpec::function(|k: &char, v: Option<u64>, s: &mut _| {
    ///     let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
    ///     s.update(n);
    ///     (*k, n)
    /// });
    /// let out = Arc::new(Mutex::new(Vec::new()));
    /// let seen = out.clone();
    /// ssc.queue_stream(Arc::new(Mutex::new(batches)), true, None)
    ///     .map_with_state(spec)
    ///     .foreach_rdd(move |ds, _| {
    ///         let mut v = ds.collect()?;
    ///         v.sort();
    ///         seen.lock().unwrap().push(v);
    ///         Ok(())
    ///     });
    /// ssc.start().unwrap();
    /// ssc.run_batches(2).unwrap();
    /// ssc.stop(false);
    /// assert_eq!(*out.lock().unwrap(), vec![vec![('a', 1), ('b', 1)], vec![('a', 2)]]);
    /// ```
    pub fn map_with_state<S: Data, E: Data>(
        &self,
        spec: StateSpec<K, V, S, E>,
    ) -> MapWithStateDStream<K, S, E> {
        let n = spec
            .partitions
            .unwrap_or_else(|| self.ssc.context().default_parallelism());
        let p = HashPartitioner::new(n);
        let f = spec.f.clone();
        let initial = spec.initial.clone();
        let timeout_ms = spec.timeout.map(|d| d.as_millis() as i64);
        let slide = self.slide_ms();
        let mut base = self
            .ssc
            .node_base("map_with_state", slide, vec![self.any()]);
        base.must_checkpoint = true;
        let me: SelfRef<(K, Entry<S, E>)> = Arc::new(OnceLock::new());
        let me2 = me.clone();
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let compute = move |time: Time| -> Result<Option<Dataset<(K, Entry<S, E>)>>> {
            let prev: Dataset<(K, Entry<S, E>)> = match previous(&me2, time.minus(slide))? {
                Some(state) => state,
                None => match &initial {
                    Some(init) => init.partition_by(p).map_values(move |s| Entry {
                        state: Some((s, time.millis())),
                        mapped: Vec::new(),
                    }),
                    None => ctx.empty(),
                },
            };
            // Timeouts are looked for in the batches whose state is checkpointed.
            let full_scan = me2.get().and_then(Weak::upgrade).is_some_and(|n| {
                let m = n.base.lock();
                let zero = m.zero.map_or(0, |z| z.millis());
                m.checkpoint_ms
                    .is_some_and(|c| (time.millis() - zero) % c == 0)
            });
            let threshold = timeout_ms.filter(|_| full_scan).map(|t| time.millis() - t);
            let batch = parent.get_or_compute(time)?.unwrap_or_else(|| ctx.empty());
            let f = f.clone();
            let now = time.millis();
            let entries = prev.cogroup_with(&batch, p).flat_map_values_with_key(
                move |k: &K, (prevs, values): (Vec<Entry<S, E>>, Vec<V>)| {
                    let (value, mut stamp) = match prevs.into_iter().next().and_then(|e| e.state) {
                        Some((s, t)) => (Some(s), t),
                        None => (None, now),
                    };
                    let mut state = State {
                        value,
                        updated: false,
                        removed: false,
                        timing_out: false,
                    };
                    let mut mapped = Vec::with_capacity(values.len());
                    for v in values {
                        state.updated = false;
                        state.removed = false;
                        mapped.push(f(k, Some(v), &mut state));
                        // Spark: an updated state, or any state when timeouts are on, is
                        // stamped with the batch time.
                        if state.updated || (state.exists() && timeout_ms.is_some()) {
                            stamp = now;
                        }
                    }
                    if let Some(threshold) = threshold {
                        if state.exists() && stamp < threshold {
                            state.timing_out = true;
                            mapped.push(f(k, None, &mut state));
                            state.value = None;
                        }
                    }
                    let entry = Entry {
                        state: state.value.map(|s| (s, stamp)),
                        mapped,
                    };
                    (entry.state.is_some() || !entry.mapped.is_empty()).then_some(entry)
                },
            );
            Ok(Some(entries))
        };
        let internal = DStream::from_node(&self.ssc, base, Box::new(compute))
            .persist(StorageLevel::MemoryOnly);
        // Spark checkpoints map_with_state's state every 10 slides.
        internal.node.base.lock().checkpoint_ms = Some(10 * slide);
        let _ = me.set(Arc::downgrade(&internal.node));
        let mapped = internal.flat_map(|(_, e): (K, Entry<S, E>)| e.mapped);
        MapWithStateDStream { mapped, internal }
    }
}

//! State kept from batch to batch: `update_state_by_key`, as Spark's `StateDStream`. The
//! state is a cached dataset partitioned by key; each batch cogroups it with the batch's
//! values (only the batch is shuffled) and checkpoints it every so often, so its lineage
//! never grows without bound.

use std::hash::Hash;
use std::sync::{Arc, OnceLock};

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

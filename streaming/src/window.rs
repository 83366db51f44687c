//! Window operations, as Spark's: a window of `length` that moves every `slide` covers the
//! batches of the last `length`; both must be multiples of the parent stream's slide.
//! Reductions with an inverse function update the previous window incrementally (add the
//! batches that entered, subtract those that left) instead of reducing the whole window.

use std::hash::Hash;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use firesteel_core::partitioner::HashPartitioner;
use firesteel_core::{Data, Dataset, Result, StorageLevel};

use crate::dstream::DStream;
use crate::node::Node;
use crate::time::{ms, whole_millis, Time};

/// A filter applied to a windowed reduction's output, as Spark's `filterFunc`.
pub type WindowFilter<K, V> = Arc<dyn Fn(&(K, V)) -> bool + Send + Sync>;

/// A window's length and slide in milliseconds, or why they are invalid for a parent
/// sliding every `parent_ms` (reported when the context starts).
fn window_spec(length: Duration, slide: Duration, parent_ms: i64) -> (i64, i64, Option<String>) {
    let check = |d: Duration, what: &str| -> std::result::Result<i64, String> {
        let v = whole_millis(d, what).map_err(|e| e.to_string())?;
        if v % parent_ms != 0 {
            return Err(format!(
                "the {what} {} is not a multiple of the parent stream's slide {}",
                ms(v),
                ms(parent_ms)
            ));
        }
        Ok(v)
    };
    match (check(length, "window length"), check(slide, "window slide")) {
        (Ok(l), Ok(s)) => (l, s, None),
        (Err(e), _) | (_, Err(e)) => (parent_ms, parent_ms, Some(e)),
    }
}

/// A handle through which a node's computation reaches the node itself (its previous
/// window or state), without keeping it alive.
pub(crate) type SelfRef<T> = Arc<OnceLock<Weak<Node<T>>>>;

pub(crate) fn previous<T: Data>(me: &SelfRef<T>, time: Time) -> Result<Option<Dataset<T>>> {
    match me.get().and_then(Weak::upgrade) {
        Some(node) => node.get_or_compute(time),
        None => Ok(None),
    }
}

impl<T: Data> DStream<T> {
    /// Computes and caches this (persisted) stream's dataset at every batch, so that a
    /// window sliding every few batches merges batches already reduced instead of doing
    /// all their work at once when it slides. (Spark computes them lazily at the slide,
    /// which makes the slide's batch take as long as all of them.)
    pub(crate) fn materialize_each_batch(&self) {
        self.foreach_rdd(|ds, _| ds.count().map(drop));
    }

    /// Each output batch is the union of this stream's batches in the last `length`,
    /// every `slide`, as Spark's `window`. This stream's batches are cached while a window
    /// needs them.
    pub fn window(&self, length: Duration, slide: Duration) -> DStream<T> {
        let parent_ms = self.slide_ms();
        let (len_ms, slide_ms, invalid) = window_spec(length, slide, parent_ms);
        {
            let mut m = self.node.base.lock();
            m.storage.get_or_insert(StorageLevel::MemoryOnly);
        }
        if slide_ms > parent_ms {
            self.materialize_each_batch();
        }
        let mut base = self.ssc.node_base("window", slide_ms, vec![self.any()]);
        base.parent_extra_remember_ms = len_ms;
        base.invalid = invalid;
        let parent = self.node.clone();
        let ctx = self.ssc.context().clone();
        let compute = move |time: Time| {
            let parts = parent.slice(time.minus(len_ms - parent_ms), time)?;
            Ok(Some(ctx.union(&parts)))
        };
        DStream::from_node(&self.ssc, base, Box::new(compute))
    }

    /// Each window reduced to one record (no record for an empty window), as Spark's
    /// `reduceByWindow` without an inverse function: each batch is reduced, then the
    /// window's partial results.
    pub fn reduce_by_window(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<T> {
        let f = Arc::new(f);
        let g = f.clone();
        self.reduce(move |a, b| f(a, b))
            .window(length, slide)
            .reduce(move |a, b| g(a, b))
    }

    /// As [`reduce_by_window`](Self::reduce_by_window), updating the previous window with
    /// `inverse` (which undoes `f`) for the batches that left it, as Spark's
    /// `reduceByWindow(reduceFunc, invReduceFunc, ...)`. An emptied window keeps its last
    /// reduced value after the inverse (0 for counts), as in Spark.
    pub fn reduce_by_window_inv(
        &self,
        f: impl Fn(T, T) -> T + Send + Sync + 'static,
        inverse: impl Fn(T, T) -> T + Send + Sync + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<T> {
        self.map(|x| (1u8, x))
            .reduce_by_key_and_window_inv(f, inverse, length, slide, Some(1), None)
            .map(|(_, v)| v)
    }

    /// The number of records in each window (incrementally, with an inverse), as Spark's
    /// `countByWindow`.
    pub fn count_by_window(&self, length: Duration, slide: Duration) -> DStream<u64> {
        self.map(|_| 1u64)
            .reduce_by_window_inv(|a, b| a + b, |a, b| a - b, length, slide)
    }

    /// How often each distinct record occurs in each window, leaving out records whose
    /// count fell to zero, as Spark's `countByValueAndWindow`. `num_partitions` defaults to
    /// the context's default parallelism.
    pub fn count_by_value_and_window(
        &self,
        length: Duration,
        slide: Duration,
        num_partitions: Option<usize>,
    ) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        let nonzero: WindowFilter<T, u64> = Arc::new(|(_, c)| *c != 0);
        self.map(|x| (x, 1u64)).reduce_by_key_and_window_inv(
            |a, b| a + b,
            |a, b| a - b,
            length,
            slide,
            num_partitions,
            Some(nonzero),
        )
    }
}

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// Each key's values in each window, in batch order, as Spark's `groupByKeyAndWindow`.
    pub fn group_by_key_and_window(
        &self,
        length: Duration,
        slide: Duration,
    ) -> DStream<(K, Vec<V>)> {
        let p = self.default_partitioner();
        self.group_by_key_with(p)
            .window(length, slide)
            .combine_by_key(
                |v: Vec<V>| v,
                |mut a, b| {
                    a.extend(b);
                    a
                },
                |mut a, b| {
                    a.extend(b);
                    a
                },
                p,
            )
    }

    /// Each key's values in each window merged with an associative function, as Spark's
    /// `reduceByKeyAndWindow` without an inverse: each batch is reduced by key, then the
    /// window's partial results.
    pub fn reduce_by_key_and_window(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        length: Duration,
        slide: Duration,
    ) -> DStream<(K, V)> {
        let p = self.default_partitioner();
        let f = Arc::new(f);
        let g = f.clone();
        self.reduce_by_key_with(move |a, b| f(a, b), p)
            .window(length, slide)
            .reduce_by_key_with(move |a, b| g(a, b), p)
    }

    /// Each key's values in each window, updated incrementally from the previous window:
    /// `inverse` takes out the batches that left the window and `f` adds those that
    /// entered, as Spark's `reduceByKeyAndWindow(reduceFunc, invReduceFunc, window, slide,
    /// numPartitions, filterFunc)`. Keys whose value was inverted back to "nothing" stay
    /// (with, say, a count of 0) unless `filter` drops them. The window's state is
    /// persisted and checkpointed (needs [`StreamingContext::checkpoint`](crate::StreamingContext::checkpoint)).
    pub fn reduce_by_key_and_window_inv(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        inverse: impl Fn(V, V) -> V + Send + Sync + 'static,
        length: Duration,
        slide: Duration,
        num_partitions: Option<usize>,
        filter: Option<WindowFilter<K, V>>,
    ) -> DStream<(K, V)> {
        let p = match num_partitions {
            Some(n) => HashPartitioner::new(n.max(1)),
            None => self.default_partitioner(),
        };
        let f = Arc::new(f);
        let inverse = Arc::new(inverse);
        let f1 = f.clone();
        let reduced = self
            .reduce_by_key_with(move |a, b| f1(a, b), p)
            .persist(StorageLevel::MemoryOnly);
        let parent_ms = self.slide_ms();
        let (len_ms, slide_ms, invalid) = window_spec(length, slide, parent_ms);
        if slide_ms > parent_ms {
            reduced.materialize_each_batch();
        }
        let mut base =
            self.ssc
                .node_base("reduce_by_key_and_window", slide_ms, vec![reduced.any()]);
        base.parent_extra_remember_ms = len_ms;
        base.invalid = invalid;
        base.must_checkpoint = true;
        let me: SelfRef<(K, V)> = Arc::new(OnceLock::new());
        let me2 = me.clone();
        let ctx = self.ssc.context().clone();
        let parent = reduced.node.clone();
        let compute = move |time: Time| -> Result<Option<Dataset<(K, V)>>> {
            // The current window is (time - length, time]; the previous one ends a slide
            // earlier. Batches in the previous window but not the current one are "old",
            // batches in the current one but not the previous one are "new".
            let cur_begin = time.minus(len_ms - parent_ms);
            let prev_end = time.minus(slide_ms);
            let prev_begin = cur_begin.minus(slide_ms);
            // With a window shorter than its slide the windows do not overlap: all of the
            // previous window is old and only the current window's batches are new
            // (Spark's formula would also count the batches between the windows).
            let old = parent.slice(prev_begin, cur_begin.minus(parent_ms).min(prev_end))?;
            let new = parent.slice(prev_end.plus(parent_ms).max(cur_begin), time)?;
            let prev = previous(&me2, prev_end)?.unwrap_or_else(|| ctx.empty());
            let tagged: Vec<Dataset<(K, (bool, V))>> = old
                .iter()
                .map(|d| d.map(|(k, v)| (k, (false, v))))
                .chain(new.iter().map(|d| d.map(|(k, v)| (k, (true, v)))))
                .collect();
            let (fa, fb, fc) = (f.clone(), f.clone(), f.clone());
            let merge = move |acc: (Option<V>, Option<V>), (is_new, v): (bool, V)| {
                let (old, new) = acc;
                if is_new {
                    (
                        old,
                        Some(match new {
                            Some(n) => fa(n, v),
                            None => v,
                        }),
                    )
                } else {
                    (
                        Some(match old {
                            Some(o) => fa(o, v),
                            None => v,
                        }),
                        new,
                    )
                }
            };
            let merge2 = merge.clone();
            let either = move |a: Option<V>, b: Option<V>| match (a, b) {
                (Some(a), Some(b)) => Some(fb(a, b)),
                (a, b) => a.or(b),
            };
            let delta = ctx.union(&tagged).combine_by_key_with(
                move |x| merge2((None, None), x),
                merge,
                move |(o1, n1), (o2, n2)| (either(o1, o2), either(n1, n2)),
                p,
            );
            let inv = inverse.clone();
            let window = prev
                .cogroup_with(&delta, p)
                .flat_map_values(move |(prevs, deltas)| {
                    let (old, new) = deltas.into_iter().next().unwrap_or((None, None));
                    match prevs.into_iter().next() {
                        // Keys new to the window; a key with old values but no previous
                        // value cannot occur (Spark reports it as inconsistent hashing).
                        None => new,
                        Some(mut v) => {
                            if let Some(o) = old {
                                v = inv(v, o);
                            }
                            if let Some(n) = new {
                                v = fc(v, n);
                            }
                            Some(v)
                        }
                    }
                });
            Ok(Some(match &filter {
                Some(keep) => {
                    let keep = keep.clone();
                    window.filter(move |kv| keep(kv))
                }
                None => window,
            }))
        };
        let out = DStream::from_node(&self.ssc, base, Box::new(compute))
            .persist(StorageLevel::MemoryOnly);
        let _ = me.set(Arc::downgrade(&out.node));
        out
    }
}

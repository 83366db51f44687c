//! The shuffle dependency: the scheduler's view of a shuffle, and the map task that
//! buckets (and optionally combines) a parent partition's records.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

use super::aggregate::{Aggregator, CombineMap};
use super::manager::SerializedBucket;
use super::write::{MapOutputWriter, MapSideCombine};
use crate::context::ContextInner;
use crate::error::Result;
use crate::metrics::TaskCounters;
use crate::partitioner::{HashPartitioner, Partitioner};
use crate::rdd::{iterator, Rdd, RddBase, Tc};
use crate::ser::SizeTracker;
use crate::Data;

/// The scheduler's view of a shuffle dependency.
pub(crate) trait ShuffleDepBase: Send + Sync {
    fn shuffle_id(&self) -> usize;
    fn parent(&self) -> Arc<dyn RddBase>;
    /// Computes one map partition and registers its output with the shuffle manager.
    fn run_map_task(&self, tc: &Tc) -> Result<()>;
    /// The number of reduce partitions.
    fn num_reduce(&self) -> usize;
    /// Serializes the buckets of local map output `map` for the given reduce partitions.
    fn encode_buckets(
        &self,
        ctx: &ContextInner,
        map: usize,
        reduces: &[usize],
    ) -> Result<Vec<SerializedBucket>>;
}

/// A shuffle of `(K, V)` records into `(K, C)` combiners (or `(K, V)` when not combining).
pub(crate) struct ShuffleDependency<K, V, C, A> {
    pub id: usize,
    pub parent: Arc<dyn Rdd<(K, V)>>,
    pub partitioner: Arc<dyn Partitioner<K>>,
    pub aggregator: Option<Arc<A>>,
    pub map_side_combine: bool,
    pub ctx: Weak<ContextInner>,
    pub _c: PhantomData<fn() -> C>,
}

impl<K, V, C, A> ShuffleDependency<K, V, C, A> {
    pub(crate) fn new(
        ctx: &Arc<ContextInner>,
        parent: Arc<dyn Rdd<(K, V)>>,
        partitioner: Arc<dyn Partitioner<K>>,
        aggregator: Option<Arc<A>>,
        map_side_combine: bool,
    ) -> Self {
        ShuffleDependency {
            id: ctx.new_shuffle_id(),
            parent,
            partitioner,
            aggregator,
            map_side_combine,
            ctx: Arc::downgrade(ctx),
            _c: PhantomData,
        }
    }
}

impl<K, V, C, A> Drop for ShuffleDependency<K, V, C, A> {
    fn drop(&mut self) {
        // No dataset can read this shuffle any more: free its outputs.
        if let Some(ctx) = self.ctx.upgrade() {
            ctx.shuffles.remove_shuffle(self.id);
        }
    }
}

impl<K, V, C, A> ShuffleDepBase for ShuffleDependency<K, V, C, A>
where
    K: Data + Hash + Eq,
    V: Data,
    C: Data,
    A: Aggregator<V, C>,
{
    fn shuffle_id(&self) -> usize {
        self.id
    }
    fn parent(&self) -> Arc<dyn RddBase> {
        self.parent.clone()
    }

    fn num_reduce(&self) -> usize {
        self.partitioner.num_partitions()
    }

    fn encode_buckets(
        &self,
        ctx: &ContextInner,
        map: usize,
        reduces: &[usize],
    ) -> Result<Vec<SerializedBucket>> {
        let combined = self.aggregator.is_some() && self.map_side_combine;
        if combined {
            ctx.shuffles.encode::<(K, C)>(self.id, map, reduces)
        } else {
            ctx.shuffles.encode::<(K, V)>(self.id, map, reduces)
        }
    }

    fn run_map_task(&self, tc: &Tc) -> Result<()> {
        let n = self.partitioner.num_partitions();
        let budget = tc.ctx.config.shuffle_memory as u64;
        let part = &*self.partitioner;
        let input = iterator(&self.parent, tc.partition, tc)?;
        let mut writer = MapOutputWriter::new(n, tc);
        let mut tracker = SizeTracker::default();
        let mut records = 0u64;
        match (&self.aggregator, self.map_side_combine) {
            (Some(agg), true) => {
                let mut maps: Vec<CombineMap<K, C>> =
                    (0..n).map(|_| CombineMap::default()).collect();
                let mut combine = MapSideCombine {
                    agg: &**agg,
                    maps: &mut maps,
                    writer: &mut writer,
                    tracker: &mut tracker,
                    budget,
                    records: &mut records,
                };
                // The hash partitioner is by far the most common: its per-record call is
                // inlined rather than virtual.
                match part.as_any().downcast_ref::<HashPartitioner>() {
                    Some(hp) => combine.run(hp, input)?,
                    None => combine.run(part, input)?,
                }
                writer.finish(
                    maps.into_iter()
                        .map(|m| m.into_iter().collect::<Vec<(K, C)>>()),
                )?;
            }
            _ => {
                let mut buckets: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
                for batch in input {
                    for kv in batch? {
                        records += 1;
                        tracker.add(&kv);
                        buckets[part.get_partition(&kv.0)].push(kv);
                    }
                    if tracker.bytes() > budget {
                        writer.spill(buckets.iter_mut().map(|b| b.drain(..)))?;
                        tracker.reset();
                    }
                }
                writer.finish(buckets.into_iter())?;
            }
        }
        TaskCounters::add(&tc.counters.records_out, records);
        let output = writer.into_output();
        TaskCounters::add(&tc.counters.shuffle_bytes_written, output.total_bytes());
        tc.ctx
            .shuffles
            .register(self.id, self.parent.num_partitions(), tc.partition, output);
        Ok(())
    }
}

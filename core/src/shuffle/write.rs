//! The map side's output: buckets per reduce partition, held in memory up to the shuffle
//! budget and spilled to files beyond it.

use std::any::Any;
use std::fs::File;
use std::hash::Hash;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use super::aggregate::{combine_into, Aggregator, CombineMap};
use crate::error::{Error, Result};
use crate::metrics::TaskCounters;
use crate::partitioner::Partitioner;
use crate::rdd::{BatchIter, TaskContext};
use crate::ser::{self, RecordWriter, SizeTracker};
use crate::Data;

/// The map side of a combining shuffle: one combiner map per reduce partition, spilled
/// when the task's estimated size passes the shuffle budget.
pub(crate) struct MapSideCombine<'a, 't, K, C, A> {
    pub(crate) agg: &'a A,
    pub(crate) maps: &'a mut [CombineMap<K, C>],
    pub(crate) writer: &'a mut MapOutputWriter<'t>,
    pub(crate) tracker: &'a mut SizeTracker,
    pub(crate) budget: u64,
    pub(crate) records: &'a mut u64,
}

impl<K: Data + Hash + Eq, C: Data, A> MapSideCombine<'_, '_, K, C, A> {
    pub(crate) fn run<V: Data, P>(&mut self, part: &P, input: BatchIter<(K, V)>) -> Result<()>
    where
        A: Aggregator<V, C>,
        P: Partitioner<K> + ?Sized,
    {
        let agg = self.agg;
        // Each batch is first split by reduce partition, and each part then goes into its
        // map in one go: one small map is hot at a time, so its probes mostly hit L1
        // instead of missing on all n maps in turn. Records keep their order within a key.
        let mut parts: Vec<Vec<(K, V)>> = (0..self.maps.len()).map(|_| Vec::new()).collect();
        for batch in input {
            let batch = batch?;
            *self.records += batch.len() as u64;
            for kv in batch {
                parts[part.get_partition(&kv.0)].push(kv);
            }
            for (map, recs) in self.maps.iter_mut().zip(&mut parts) {
                if map.capacity() == 0 {
                    // A first guess from the data, so that small maps skip the first few
                    // doublings (the guess depends only on the input, never on timing).
                    map.reserve(recs.len());
                }
                for kv in recs.drain(..) {
                    combine_into(
                        map,
                        self.tracker,
                        false,
                        kv,
                        |v| agg.create(v),
                        |c, v| agg.merge_value(c, v),
                    );
                }
            }
            if self.tracker.bytes() > self.budget {
                self.writer.spill(self.maps.iter_mut().map(|m| m.drain()))?;
                self.tracker.reset();
            }
        }
        Ok(())
    }
}

/// A file of spilled records, deleted when the last output referring to it goes.
#[derive(Debug)]
pub(crate) struct SpillFile {
    pub(crate) path: PathBuf,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A run of records in a spill file.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) file: Arc<SpillFile>,
    pub(crate) offset: u64,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
}

/// The part of one map output destined for one reduce partition.
#[derive(Default, Clone)]
pub(crate) struct Bucket {
    /// Spilled runs, in the order they were written (they precede `mem`).
    pub(crate) segments: Vec<Segment>,
    /// Records still in memory: an `Arc<Vec<(K, X)>>`.
    pub(crate) mem: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) mem_bytes: u64,
    pub(crate) mem_records: u64,
    /// Cluster mode: the serialized records a peer sent, and how many there are.
    pub(crate) remote: Option<(Arc<Vec<u8>>, u64)>,
    /// Cluster mode: a bucket of a peer's map output that was not delivered here.
    pub(crate) absent: bool,
}

/// Everything one map task wrote.
pub(crate) struct MapOutput {
    pub(crate) buckets: Vec<Bucket>,
}

impl MapOutput {
    pub(crate) fn mem_bytes(&self) -> u64 {
        self.buckets
            .iter()
            .map(|b| b.mem_bytes + b.remote.as_ref().map_or(0, |r| r.0.len() as u64))
            .sum()
    }
    pub(crate) fn total_bytes(&self) -> u64 {
        self.buckets
            .iter()
            .map(|b| b.mem_bytes + b.segments.iter().map(|s| s.bytes).sum::<u64>())
            .sum()
    }
}

/// Writes one map task's buckets, spilling them to a file when the task's buffer exceeds
/// the shuffle budget or the shuffle manager's memory is full.
pub(crate) struct MapOutputWriter<'t> {
    tc: &'t TaskContext,
    buckets: Vec<Bucket>,
}

impl<'t> MapOutputWriter<'t> {
    pub(crate) fn new(n: usize, tc: &'t TaskContext) -> Self {
        MapOutputWriter {
            tc,
            buckets: (0..n).map(|_| Bucket::default()).collect(),
        }
    }

    /// Writes every bucket's records to one new spill file.
    pub(crate) fn spill<R: Data>(
        &mut self,
        parts: impl Iterator<Item = impl Iterator<Item = R>>,
    ) -> Result<()> {
        let path = self.tc.ctx.new_scratch_file("shuffle");
        let file = File::create(&path).map_err(|e| Error::io("creating spill file", &path, e))?;
        let spill = Arc::new(SpillFile { path: path.clone() });
        let mut w = RecordWriter::new(BufWriter::new(file));
        for (bucket, recs) in self.buckets.iter_mut().zip(parts) {
            let (r0, b0) = (w.records, w.bytes);
            for r in recs {
                w.write(&r)?;
            }
            if w.records > r0 {
                bucket.segments.push(Segment {
                    file: spill.clone(),
                    offset: b0,
                    records: w.records - r0,
                    bytes: w.bytes - b0,
                });
            }
        }
        let total = w.bytes;
        w.into_inner()
            .flush()
            .map_err(|e| Error::io("writing spill file", &path, e))?;
        TaskCounters::add(&self.tc.counters.bytes_spilled, total);
        Ok(())
    }

    /// Adds the records left in memory. They stay in memory if the shuffle manager has room.
    pub(crate) fn finish<R: Data>(&mut self, parts: impl Iterator<Item = Vec<R>>) -> Result<()> {
        let parts: Vec<Vec<R>> = parts.collect();
        let sizes: Vec<u64> = parts.iter().map(|p| ser::estimate_size(p) as u64).collect();
        let total: u64 = sizes.iter().sum();
        if self
            .tc
            .ctx
            .shuffles
            .reserve(total, self.tc.ctx.config.shuffle_memory)
        {
            for ((bucket, recs), size) in self.buckets.iter_mut().zip(parts).zip(sizes) {
                if !recs.is_empty() {
                    bucket.mem_records = recs.len() as u64;
                    bucket.mem = Some(Arc::new(recs));
                    bucket.mem_bytes = size;
                }
            }
            Ok(())
        } else {
            self.spill(parts.into_iter().map(Vec::into_iter))
        }
    }

    pub(crate) fn into_output(self) -> MapOutput {
        MapOutput {
            buckets: self.buckets,
        }
    }
}

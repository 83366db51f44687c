//! Shuffles: map-side bucketing with optional combine, map outputs held in memory up to the
//! shuffle budget and spilled to disk beyond it, and reduce-side aggregation and sorting
//! that spill sorted runs and merge them on read.

use std::any::Any;
use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::Entry as MapEntry;
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::Hash;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, Weak};

use serde::Serialize;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::batch::Batch;
use crate::cluster::EncodedBuckets;
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::metrics::TaskCounters;
use crate::partitioner::{erase, stable_hash, ErasedPartitioner, HashPartitioner, Partitioner};
use crate::rdd::{iterator, BatchIter, Dependency, Rdd, RddBase, RddMeta, TaskContext, Tc, BATCH};
use crate::ser::{self, RecordReader, RecordWriter, SizeTracker};
use crate::Data;

/// How values of a key are combined, as Spark's `Aggregator`.
pub(crate) trait Aggregator<V, C>: Send + Sync + 'static {
    fn create(&self, v: V) -> C;
    fn merge_value(&self, c: C, v: V) -> C;
    fn merge_combiners(&self, c: C, other: C) -> C;
}

/// An aggregator from three closures; monomorphized, so combining is inlined in the loop.
pub(crate) struct FnAggregator<F1, F2, F3> {
    pub create: F1,
    pub merge_value: F2,
    pub merge_combiners: F3,
}

impl<V, C, F1, F2, F3> Aggregator<V, C> for FnAggregator<F1, F2, F3>
where
    F1: Fn(V) -> C + Send + Sync + 'static,
    F2: Fn(C, V) -> C + Send + Sync + 'static,
    F3: Fn(C, C) -> C + Send + Sync + 'static,
{
    #[inline]
    fn create(&self, v: V) -> C {
        (self.create)(v)
    }
    #[inline]
    fn merge_value(&self, c: C, v: V) -> C {
        (self.merge_value)(c, v)
    }
    #[inline]
    fn merge_combiners(&self, c: C, other: C) -> C {
        (self.merge_combiners)(c, other)
    }
}

/// The aggregator type of shuffles that only move records (partition_by, sort_by_key).
pub(crate) struct NoCombine;

impl<V: 'static> Aggregator<V, V> for NoCombine {
    fn create(&self, v: V) -> V {
        v
    }
    fn merge_value(&self, _: V, _: V) -> V {
        unreachable!("a shuffle without aggregator never combines")
    }
    fn merge_combiners(&self, _: V, _: V) -> V {
        unreachable!("a shuffle without aggregator never combines")
    }
}

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
    ) -> Result<EncodedBuckets>;
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
    ) -> Result<EncodedBuckets> {
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

/// Hash maps of combiners. hashbrown's by-value `replace_entry_with` lets by-value merge
/// functions update a combiner in place, with one hash lookup and no `Option` around it.
pub(crate) type CombineMap<K, C> = hashbrown::HashMap<K, C, rustc_hash::FxBuildHasher>;

/// Adds `v` to the combiner of `k`: `create` for a new key, `merge` for an existing one.
/// `tracker` accounts every new entry and, if `count_merged`, every merged value.
#[inline]
fn combine_into<K: Hash + Eq + Serialize, V: Serialize, C: Serialize>(
    map: &mut CombineMap<K, C>,
    tracker: &mut SizeTracker,
    count_merged: bool,
    (k, v): (K, V),
    create: impl FnOnce(V) -> C,
    merge: impl FnOnce(C, V) -> C,
) {
    match map.entry(k) {
        hashbrown::hash_map::Entry::Occupied(e) => {
            if count_merged {
                tracker.add(&v);
            }
            if std::mem::needs_drop::<C>() {
                // If `merge` panics the entry is gone, and the map stays consistent.
                e.replace_entry_with(|_, c| Some(merge(c, v)));
            } else {
                let slot = e.into_mut();
                // SAFETY: `slot` is valid for reads and writes. The combiner is moved out
                // and the merged one written back. Should `merge` panic in between, the
                // bits left in `slot` belong to a type without drop glue, so dropping the
                // map during the unwind (the map is task-local and is never read after a
                // panic) cannot free anything twice.
                unsafe {
                    let c = std::ptr::read(slot);
                    std::ptr::write(slot, merge(c, v));
                }
            }
        }
        hashbrown::hash_map::Entry::Vacant(e) => {
            let c = create(v);
            tracker.add(&(e.key(), &c));
            e.insert(c);
        }
    }
}

/// The map side of a combining shuffle: one combiner map per reduce partition, spilled
/// when the task's estimated size passes the shuffle budget.
struct MapSideCombine<'a, 't, K, C, A> {
    agg: &'a A,
    maps: &'a mut [CombineMap<K, C>],
    writer: &'a mut MapOutputWriter<'t>,
    tracker: &'a mut SizeTracker,
    budget: u64,
    records: &'a mut u64,
}

impl<K: Data + Hash + Eq, C: Data, A> MapSideCombine<'_, '_, K, C, A> {
    fn run<V: Data, P>(&mut self, part: &P, input: BatchIter<(K, V)>) -> Result<()>
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
    path: PathBuf,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A run of records in a spill file.
#[derive(Debug, Clone)]
struct Segment {
    file: Arc<SpillFile>,
    offset: u64,
    records: u64,
    bytes: u64,
}

/// The part of one map output destined for one reduce partition.
#[derive(Default, Clone)]
struct Bucket {
    /// Spilled runs, in the order they were written (they precede `mem`).
    segments: Vec<Segment>,
    /// Records still in memory: an `Arc<Vec<(K, X)>>`.
    mem: Option<Arc<dyn Any + Send + Sync>>,
    mem_bytes: u64,
    mem_records: u64,
    /// Cluster mode: the serialized records a peer sent, and how many there are.
    remote: Option<(Arc<Vec<u8>>, u64)>,
    /// Cluster mode: a bucket of a peer's map output that was not delivered here.
    absent: bool,
}

/// Everything one map task wrote.
pub(crate) struct MapOutput {
    buckets: Vec<Bucket>,
}

impl MapOutput {
    fn mem_bytes(&self) -> u64 {
        self.buckets
            .iter()
            .map(|b| b.mem_bytes + b.remote.as_ref().map_or(0, |r| r.0.len() as u64))
            .sum()
    }
    fn total_bytes(&self) -> u64 {
        self.buckets
            .iter()
            .map(|b| b.mem_bytes + b.segments.iter().map(|s| s.bytes).sum::<u64>())
            .sum()
    }
}

/// Writes one map task's buckets, spilling them to a file when the task's buffer exceeds
/// the shuffle budget or the shuffle manager's memory is full.
struct MapOutputWriter<'t> {
    tc: &'t TaskContext,
    buckets: Vec<Bucket>,
}

impl<'t> MapOutputWriter<'t> {
    fn new(n: usize, tc: &'t TaskContext) -> Self {
        MapOutputWriter {
            tc,
            buckets: (0..n).map(|_| Bucket::default()).collect(),
        }
    }

    /// Writes every bucket's records to one new spill file.
    fn spill<R: Data>(
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
    fn finish<R: Data>(&mut self, parts: impl Iterator<Item = Vec<R>>) -> Result<()> {
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

    fn into_output(self) -> MapOutput {
        MapOutput {
            buckets: self.buckets,
        }
    }
}

struct ShuffleState {
    maps: Vec<Option<Arc<MapOutput>>>,
    /// Cluster mode: per process, the reduce partitions delivered to it.
    delivered: Vec<FxHashSet<usize>>,
}

/// Map outputs of every live shuffle.
pub(crate) struct ShuffleManager {
    state: Mutex<FxHashMap<usize, ShuffleState>>,
    mem_used: AtomicUsize,
}

impl std::fmt::Debug for ShuffleManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShuffleManager")
            .field("mem_used", &self.mem_used)
            .finish_non_exhaustive()
    }
}

impl ShuffleManager {
    pub(crate) fn new() -> Self {
        ShuffleManager {
            state: Mutex::new(FxHashMap::default()),
            mem_used: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FxHashMap<usize, ShuffleState>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves memory for an output; false if it would exceed `budget`.
    fn reserve(&self, bytes: u64, budget: usize) -> bool {
        let bytes = bytes as usize;
        self.mem_used
            .fetch_update(AtomicOrdering::AcqRel, AtomicOrdering::Acquire, |u| {
                (u + bytes <= budget || bytes == 0).then_some(u + bytes)
            })
            .is_ok()
    }

    fn release(&self, out: &MapOutput) {
        self.mem_used
            .fetch_sub(out.mem_bytes() as usize, AtomicOrdering::AcqRel);
    }

    fn register(&self, shuffle: usize, num_maps: usize, map: usize, out: MapOutput) {
        let mut st = self.lock();
        let s = st.entry(shuffle).or_insert_with(|| ShuffleState {
            maps: vec![None; num_maps],
            delivered: Vec::new(),
        });
        if let Some(old) = s.maps[map].replace(Arc::new(out)) {
            self.release(&old);
        }
    }

    /// Cluster mode: serializes local map output `map`'s buckets for `reduces`.
    pub(crate) fn encode<R: Data>(
        &self,
        shuffle: usize,
        map: usize,
        reduces: &[usize],
    ) -> Result<EncodedBuckets> {
        let out = {
            let st = self.lock();
            st.get(&shuffle)
                .and_then(|s| s.maps[map].clone())
                .ok_or(Error::FetchFailed {
                    shuffle,
                    map_partition: map,
                })?
        };
        let mut encoded = Vec::with_capacity(reduces.len());
        for &r in reduces {
            let b = &out.buckets[r];
            // The in-memory estimate is close to the encoded size: one allocation, no regrowth.
            let mut bytes = Vec::with_capacity(
                b.mem_bytes as usize
                    + b.segments.iter().map(|s| s.bytes as usize).sum::<usize>()
                    + b.remote.as_ref().map_or(0, |r| r.0.len()),
            );
            let mut records = 0;
            for seg in &b.segments {
                let path = &seg.file.path;
                let mut f =
                    File::open(path).map_err(|e| Error::io("opening spill file", path, e))?;
                f.seek(SeekFrom::Start(seg.offset))
                    .map_err(|e| Error::io("seeking spill file", path, e))?;
                std::io::Read::take(&mut f, seg.bytes)
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io("reading spill file", path, e))?;
                records += seg.records;
            }
            if let Some(m) = &b.mem {
                let recs = m.clone().downcast::<Vec<R>>().expect("shuffle record type");
                for rec in recs.iter() {
                    ser::encode_into(rec, &mut bytes)?;
                }
                records += recs.len() as u64;
            }
            if let Some((raw, n)) = &b.remote {
                bytes.extend_from_slice(raw);
                records += n;
            }
            encoded.push((r, records, bytes.into()));
        }
        Ok(encoded)
    }

    /// Cluster mode: records the buckets of a peer's map output `map` delivered here. The
    /// other buckets of that output are marked absent, so reading them is an error rather
    /// than silently empty.
    pub(crate) fn register_remote(
        &self,
        shuffle: usize,
        num_maps: usize,
        num_reduce: usize,
        map: usize,
        buckets: EncodedBuckets,
    ) {
        let mut st = self.lock();
        let s = st.entry(shuffle).or_insert_with(|| ShuffleState {
            maps: vec![None; num_maps],
            delivered: Vec::new(),
        });
        let mut out = match &s.maps[map] {
            Some(old) => MapOutput {
                buckets: old.buckets.clone(),
            },
            None => MapOutput {
                buckets: (0..num_reduce)
                    .map(|_| Bucket {
                        absent: true,
                        ..Bucket::default()
                    })
                    .collect(),
            },
        };
        let mut added = 0;
        for (r, records, bytes) in buckets {
            added += bytes.len();
            out.buckets[r] = Bucket {
                remote: Some((Arc::new(bytes.into_vec()), records)),
                ..Bucket::default()
            };
        }
        self.mem_used.fetch_add(added, AtomicOrdering::AcqRel);
        if let Some(old) = s.maps[map].replace(Arc::new(out)) {
            // Only the old output's own bytes are released; the added ones were counted.
            self.release(&old);
            let kept: u64 = old
                .buckets
                .iter()
                .map(|b| b.remote.as_ref().map_or(0, |r| r.0.len() as u64))
                .sum();
            self.mem_used
                .fetch_add(kept as usize, AtomicOrdering::AcqRel);
        }
    }

    /// Cluster mode: the reduce partitions already delivered to each of `world` processes.
    pub(crate) fn delivered(&self, shuffle: usize, world: usize) -> Vec<FxHashSet<usize>> {
        let st = self.lock();
        match st.get(&shuffle) {
            Some(s) if !s.delivered.is_empty() => s.delivered.clone(),
            _ => vec![FxHashSet::default(); world],
        }
    }

    /// Cluster mode: records that `parts[d]` now sit on process `d`.
    pub(crate) fn mark_delivered(&self, shuffle: usize, num_maps: usize, parts: &[Vec<usize>]) {
        let mut st = self.lock();
        let s = st.entry(shuffle).or_insert_with(|| ShuffleState {
            maps: vec![None; num_maps],
            delivered: Vec::new(),
        });
        if s.delivered.is_empty() {
            s.delivered = vec![FxHashSet::default(); parts.len()];
        }
        for (d, ps) in parts.iter().enumerate() {
            s.delivered[d].extend(ps.iter().copied());
        }
    }

    /// Map partitions of a shuffle whose output is missing.
    pub(crate) fn missing(&self, shuffle: usize, num_maps: usize) -> Vec<usize> {
        let st = self.lock();
        match st.get(&shuffle) {
            None => (0..num_maps).collect(),
            Some(s) => (0..num_maps).filter(|&m| s.maps[m].is_none()).collect(),
        }
    }

    fn outputs(&self, shuffle: usize, num_maps: usize) -> Result<Vec<Arc<MapOutput>>> {
        let st = self.lock();
        let s = st.get(&shuffle);
        (0..num_maps)
            .map(|m| {
                s.and_then(|s| s.maps[m].clone()).ok_or(Error::FetchFailed {
                    shuffle,
                    map_partition: m,
                })
            })
            .collect()
    }

    /// The most records any one map output holds for reduce partition `reduce` (0 if an
    /// output is missing: reading the shuffle reports that).
    pub(crate) fn largest_bucket(&self, shuffle: usize, num_maps: usize, reduce: usize) -> usize {
        let Ok(outputs) = self.outputs(shuffle, num_maps) else {
            return 0;
        };
        let records = |b: &Bucket| {
            b.mem_records
                + b.segments.iter().map(|s| s.records).sum::<u64>()
                + b.remote.as_ref().map_or(0, |r| r.1)
        };
        outputs
            .iter()
            .map(|o| records(&o.buckets[reduce]) as usize)
            .max()
            .unwrap_or(0)
    }

    /// Deletes one map output (fault injection, or a lost peer in cluster mode).
    pub(crate) fn remove_output(&self, shuffle: usize, map: usize) -> bool {
        let mut st = self.lock();
        let removed = st
            .get_mut(&shuffle)
            .and_then(|s| s.maps.get_mut(map).and_then(Option::take));
        match removed {
            Some(out) => {
                self.release(&out);
                true
            }
            None => false,
        }
    }

    pub(crate) fn remove_shuffle(&self, shuffle: usize) {
        let removed = self.lock().remove(&shuffle);
        if let Some(s) = removed {
            for out in s.maps.into_iter().flatten() {
                self.release(&out);
            }
        }
    }

    /// Ids of live shuffles, ascending.
    pub(crate) fn shuffle_ids(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.lock().keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

/// Reads reduce partition `reduce` of a shuffle: each map output's bucket in map order,
/// spilled segments first, as batches of `R` records.
pub(crate) fn read_shuffle<R: Data>(
    tc: &Tc,
    shuffle: usize,
    num_maps: usize,
    reduce: usize,
) -> Result<BatchIter<R>> {
    let outputs = tc.ctx.shuffles.outputs(shuffle, num_maps)?;
    let mut bytes = 0;
    for (m, o) in outputs.iter().enumerate() {
        let b = &o.buckets[reduce];
        if b.absent {
            return Err(Error::FetchFailed {
                shuffle,
                map_partition: m,
            });
        }
        bytes += b.mem_bytes
            + b.segments.iter().map(|s| s.bytes).sum::<u64>()
            + b.remote.as_ref().map_or(0, |r| r.0.len() as u64);
    }
    TaskCounters::add(&tc.counters.shuffle_bytes_read, bytes);
    let mut sources: Vec<Source> = Vec::new();
    for o in outputs {
        let b = &o.buckets[reduce];
        sources.extend(b.segments.iter().cloned().map(Source::Disk));
        if let Some(m) = &b.mem {
            sources.push(Source::Mem(m.clone()));
        }
        if let Some((raw, n)) = &b.remote {
            sources.push(Source::Remote(raw.clone(), *n));
        }
    }
    let mut sources = sources.into_iter();
    let mut cur: Option<BatchIter<R>> = None;
    let tc = tc.clone();
    Ok(Box::new(std::iter::from_fn(move || loop {
        if let Some(it) = cur.as_mut() {
            if let Some(b) = it.next() {
                if let Ok(b) = &b {
                    TaskCounters::add(&tc.counters.shuffle_records_read, b.len() as u64);
                }
                return Some(b);
            }
        }
        cur = Some(match sources.next()? {
            Source::Mem(m) => {
                crate::rdd::batches_of(m.downcast::<Vec<R>>().expect("shuffle record type"))
            }
            Source::Remote(raw, n) => match ser::decode_all::<R>(&raw) {
                Ok(recs) if recs.len() as u64 == n => crate::rdd::rebatch(recs.into_iter()),
                Ok(recs) => {
                    sources = Vec::new().into_iter();
                    return Some(Err(Error::Serde(format!(
                        "a peer's shuffle bucket holds {} records, {n} announced",
                        recs.len()
                    ))));
                }
                Err(e) => {
                    sources = Vec::new().into_iter();
                    return Some(Err(Error::Serde(format!("shuffle data from a peer: {e}"))));
                }
            },
            Source::Disk(seg) => match segment_reader::<R>(&seg) {
                Ok(it) => it,
                Err(e) => {
                    sources = Vec::new().into_iter();
                    return Some(Err(e));
                }
            },
        });
    })))
}

enum Source {
    Mem(Arc<dyn Any + Send + Sync>),
    Remote(Arc<Vec<u8>>, u64),
    Disk(Segment),
}

fn segment_reader<R: Data>(seg: &Segment) -> Result<BatchIter<R>> {
    let path = seg.file.path.clone();
    let mut f = File::open(&path).map_err(|e| Error::io("opening spill file", &path, e))?;
    f.seek(SeekFrom::Start(seg.offset))
        .map_err(|e| Error::io("seeking spill file", &path, e))?;
    let keep = seg.file.clone();
    let reader = RecordReader::<File, R>::new(f, seg.records);
    Ok(batch_results(reader, move |e| {
        let _ = &keep;
        Error::io("reading spill file", &path, e)
    }))
}

/// Batches a stream of fallible records.
fn batch_results<R: 'static, E: 'static>(
    mut it: impl Iterator<Item = std::result::Result<R, E>> + 'static,
    map_err: impl Fn(E) -> Error + 'static,
) -> BatchIter<R> {
    let mut failed = false;
    Box::new(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut b = Vec::with_capacity(BATCH.min(1024));
        for r in it.by_ref() {
            match r {
                Ok(x) => {
                    b.push(x);
                    if b.len() == BATCH {
                        break;
                    }
                }
                Err(e) => {
                    failed = true;
                    return Some(Err(map_err(e)));
                }
            }
        }
        (!b.is_empty()).then_some(Ok(Batch::Owned(b)))
    }))
}

/// A sorted run written to an anonymous temporary file.
struct Run {
    file: File,
    records: u64,
}

fn write_run<R: Data>(ctx: &ContextInner, recs: impl Iterator<Item = R>) -> Result<(Run, u64)> {
    let dir = ctx.scratch_dir();
    let file = tempfile::tempfile_in(dir).map_err(|e| Error::io("creating spill file", dir, e))?;
    let mut w = RecordWriter::new(BufWriter::new(file));
    for r in recs {
        w.write(&r)?;
    }
    let (records, bytes) = (w.records, w.bytes);
    let mut file = w
        .into_inner()
        .into_inner()
        .map_err(|e| Error::io("writing spill file", dir, e.into_error()))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("seeking spill file", dir, e))?;
    Ok((Run { file, records }, bytes))
}

type RunReader<R> = RecordReader<File, R>;

fn open_run<R: Data>(run: Run) -> RunReader<R> {
    RecordReader::new(run.file, run.records)
}

fn next_rec<R: Data>(r: &mut RunReader<R>) -> Result<Option<R>> {
    r.next()
        .transpose()
        .map_err(|e| Error::Serde(format!("reading spill run: {e}")))
}

/// Spark's `ExternalAppendOnlyMap`: combines values by key in a hash map; when its estimated
/// size passes the budget, the map is written as a run sorted by key hash, and the runs are
/// merged on read, combining equal keys.
pub(crate) struct ExternalMap<K, C> {
    tc: Tc,
    map: CombineMap<K, C>,
    tracker: SizeTracker,
    runs: Vec<Run>,
}

impl<K: Data + Hash + Eq, C: Data> ExternalMap<K, C> {
    pub(crate) fn new(tc: &Tc) -> Self {
        ExternalMap {
            tc: tc.clone(),
            map: CombineMap::default(),
            tracker: SizeTracker::default(),
            runs: Vec::new(),
        }
    }

    /// Makes room for `keys` more keys, within the shuffle budget.
    pub(crate) fn reserve(&mut self, keys: usize) {
        let per_key = std::mem::size_of::<(K, C)>().max(1) + 1;
        let fits = self.tc.ctx.config.shuffle_memory / 2 / per_key;
        self.map.reserve(keys.min(fits));
    }

    /// Inserts a value: `create` for a new key, `merge` into an existing combiner.
    #[inline]
    pub(crate) fn insert<V: serde::Serialize>(
        &mut self,
        k: K,
        v: V,
        create: impl FnOnce(V) -> C,
        merge: impl FnOnce(C, V) -> C,
    ) -> Result<()> {
        combine_into(
            &mut self.map,
            &mut self.tracker,
            true,
            (k, v),
            create,
            merge,
        );
        if self.tracker.bytes() > self.tc.ctx.config.shuffle_memory as u64 {
            self.spill()?;
        }
        Ok(())
    }

    fn sorted_by_hash(map: &mut CombineMap<K, C>) -> Vec<(u64, K, C)> {
        let mut v: Vec<(u64, K, C)> = map.drain().map(|(k, c)| (stable_hash(&k), k, c)).collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    fn spill(&mut self) -> Result<()> {
        let sorted = Self::sorted_by_hash(&mut self.map);
        let (run, bytes) = write_run(&self.tc.ctx, sorted.into_iter().map(|(_, k, c)| (k, c)))?;
        TaskCounters::add(&self.tc.counters.bytes_spilled, bytes);
        self.runs.push(run);
        self.tracker.reset();
        Ok(())
    }

    /// All combiners. Without spills, in hash-map order; with spills, merged by key hash.
    pub(crate) fn into_batches(
        mut self,
        merge: impl Fn(C, C) -> C + 'static,
    ) -> Result<BatchIter<(K, C)>> {
        if self.runs.is_empty() {
            return Ok(crate::rdd::rebatch(self.map.into_iter()));
        }
        let mem = Self::sorted_by_hash(&mut self.map).into_iter();
        let readers: Vec<RunReader<(K, C)>> = self.runs.into_iter().map(open_run).collect();
        let mut merger = HashMerger::new(readers, mem)?;
        let mut failed = false;
        Ok(Box::new(std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let mut out = Vec::with_capacity(1024);
            while out.len() < BATCH {
                match merger.next_group(&merge) {
                    Ok(Some(group)) => out.extend(group),
                    Ok(None) => break,
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
            }
            (!out.is_empty()).then_some(Ok(Batch::Owned(out)))
        })))
    }
}

/// Merges runs sorted by key hash, plus a sorted in-memory run.
struct HashMerger<K, C> {
    readers: Vec<RunReader<(K, C)>>,
    mem: std::vec::IntoIter<(u64, K, C)>,
    /// Head of each source: readers first, then the memory run (index `readers.len()`).
    heads: Vec<Option<(u64, K, C)>>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl<K: Data + Hash + Eq, C: Data> HashMerger<K, C> {
    fn new(readers: Vec<RunReader<(K, C)>>, mem: std::vec::IntoIter<(u64, K, C)>) -> Result<Self> {
        let n = readers.len() + 1;
        let mut m = HashMerger {
            readers,
            mem,
            heads: (0..n).map(|_| None).collect(),
            heap: BinaryHeap::new(),
        };
        for i in 0..n {
            m.advance(i)?;
        }
        Ok(m)
    }

    fn advance(&mut self, i: usize) -> Result<()> {
        let next = if i < self.readers.len() {
            next_rec(&mut self.readers[i])?.map(|(k, c)| (stable_hash(&k), k, c))
        } else {
            self.mem.next()
        };
        if let Some(h) = &next {
            self.heap.push(Reverse((h.0, i)));
        }
        self.heads[i] = next;
        Ok(())
    }

    /// The combined entries of the smallest remaining hash.
    fn next_group(&mut self, merge: &impl Fn(C, C) -> C) -> Result<Option<Vec<(K, C)>>> {
        let Some(&Reverse((hash, _))) = self.heap.peek() else {
            return Ok(None);
        };
        let mut group: Vec<(K, C)> = Vec::new();
        while let Some(&Reverse((h, i))) = self.heap.peek() {
            if h != hash {
                break;
            }
            self.heap.pop();
            let (_, k, c) = self.heads[i].take().expect("heap entries have heads");
            match group.iter().position(|(gk, _)| *gk == k) {
                Some(j) => {
                    let (gk, gc) = group.swap_remove(j);
                    group.push((gk, merge(gc, c)));
                }
                None => group.push((k, c)),
            }
            self.advance(i)?;
        }
        Ok(Some(group))
    }
}

/// Spark's `ExternalSorter` for `sort_by_key`: sorts records by key, spilling sorted runs
/// past the budget and merging them on read. Ties keep input order (the sort is stable).
pub(crate) fn external_sort<K: Data + Ord, V: Data>(
    tc: &Tc,
    input: BatchIter<(K, V)>,
    ascending: bool,
) -> Result<BatchIter<(K, V)>> {
    let cmp = move |a: &K, b: &K| if ascending { a.cmp(b) } else { b.cmp(a) };
    let budget = tc.ctx.config.shuffle_memory as u64;
    let mut buf: Vec<(K, V)> = Vec::new();
    let mut tracker = SizeTracker::default();
    let mut runs = Vec::new();
    for batch in input {
        for kv in batch? {
            tracker.add(&kv);
            buf.push(kv);
        }
        if tracker.bytes() > budget {
            buf.sort_by(|a, b| cmp(&a.0, &b.0));
            let (run, bytes) = write_run(&tc.ctx, buf.drain(..))?;
            TaskCounters::add(&tc.counters.bytes_spilled, bytes);
            runs.push(run);
            tracker.reset();
        }
    }
    buf.sort_by(|a, b| cmp(&a.0, &b.0));
    if runs.is_empty() {
        return Ok(crate::rdd::batches_from_vec(buf));
    }
    let mut readers: Vec<RunReader<(K, V)>> = runs.into_iter().map(open_run).collect();
    let mut mem = buf.into_iter();
    let n = readers.len() + 1;
    let mut heads: Vec<Option<(K, V)>> = Vec::with_capacity(n);
    for r in readers.iter_mut() {
        heads.push(next_rec(r)?);
    }
    heads.push(mem.next());
    let mut failed = false;
    Ok(Box::new(std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let mut out = Vec::with_capacity(1024);
        while out.len() < BATCH {
            // Runs are few (data size / budget), so a linear scan for the minimum is fine
            // and keeps ties in run order, which is input order.
            let mut best: Option<usize> = None;
            for (i, h) in heads.iter().enumerate() {
                if let Some((k, _)) = h {
                    let better = match best {
                        None => true,
                        Some(b) => {
                            cmp(k, &heads[b].as_ref().expect("best has a head").0) == Ordering::Less
                        }
                    };
                    if better {
                        best = Some(i);
                    }
                }
            }
            let Some(i) = best else { break };
            out.push(heads[i].take().expect("chosen head"));
            heads[i] = if i < readers.len() {
                match next_rec(&mut readers[i]) {
                    Ok(x) => x,
                    Err(e) => {
                        failed = true;
                        return Some(Err(e));
                    }
                }
            } else {
                mem.next()
            };
        }
        (!out.is_empty()).then_some(Ok(Batch::Owned(out)))
    })))
}

/// The reduce side of a combining shuffle: `(K, V)` records combined into `(K, C)`.
pub(crate) struct ShuffledRdd<K, V, C, A> {
    pub meta: RddMeta,
    pub dep: Arc<ShuffleDependency<K, V, C, A>>,
}

impl<K, V, C, A> RddBase for ShuffledRdd<K, V, C, A>
where
    K: Data + Hash + Eq,
    V: Data,
    C: Data,
    A: Aggregator<V, C>,
{
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "ShuffledDataset"
    }
    fn num_partitions(&self) -> usize {
        self.dep.partitioner.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(self.dep.clone())]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        Some(erase(self.dep.partitioner.clone()))
    }
}

impl<K, V, C, A> Rdd<(K, C)> for ShuffledRdd<K, V, C, A>
where
    K: Data + Hash + Eq,
    V: Data,
    C: Data,
    A: Aggregator<V, C>,
{
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(K, C)>> {
        let dep = &self.dep;
        let maps = dep.parent.num_partitions();
        let agg = dep
            .aggregator
            .as_ref()
            .expect("ShuffledRdd is built with an aggregator");
        let mut map = ExternalMap::<K, C>::new(tc);
        if dep.map_side_combine {
            // Keys are distinct within a combined bucket, so the largest bucket is a lower
            // bound on the keys to come: the map starts that large instead of growing there.
            map.reserve(tc.ctx.shuffles.largest_bucket(dep.id, maps, split));
            for batch in read_shuffle::<(K, C)>(tc, dep.id, maps, split)? {
                for (k, c) in batch? {
                    map.insert(k, c, |c| c, |a, b| agg.merge_combiners(a, b))?;
                }
            }
        } else {
            for batch in read_shuffle::<(K, V)>(tc, dep.id, maps, split)? {
                for (k, v) in batch? {
                    map.insert(k, v, |v| agg.create(v), |c, v| agg.merge_value(c, v))?;
                }
            }
        }
        let agg = agg.clone();
        map.into_batches(move |a, b| agg.merge_combiners(a, b))
    }
}

/// The reduce side of a shuffle that only moves records (partition_by, repartition,
/// sort_by_key): map outputs are read in map-partition order.
pub(crate) struct PlainShuffledRdd<K, V> {
    pub meta: RddMeta,
    pub dep: Arc<ShuffleDependency<K, V, V, NoCombine>>,
    pub kind: &'static str,
}

impl<K: Data + Hash + Eq, V: Data> RddBase for PlainShuffledRdd<K, V> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn num_partitions(&self) -> usize {
        self.dep.partitioner.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Shuffle(self.dep.clone())]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        Some(erase(self.dep.partitioner.clone()))
    }
}

impl<K: Data + Hash + Eq, V: Data> Rdd<(K, V)> for PlainShuffledRdd<K, V> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(K, V)>> {
        read_shuffle::<(K, V)>(tc, self.dep.id, self.dep.parent.num_partitions(), split)
    }
}

/// One side of a cogroup: already partitioned like the result (narrow), or shuffled.
pub(crate) enum CoGroupSide<K, V> {
    Narrow(Arc<dyn Rdd<(K, V)>>),
    Shuffle(Arc<ShuffleDependency<K, V, V, NoCombine>>),
}

impl<K: Data + Hash + Eq, V: Data> CoGroupSide<K, V> {
    fn dependency(&self) -> Dependency {
        match self {
            CoGroupSide::Narrow(r) => Dependency::Narrow(r.clone()),
            CoGroupSide::Shuffle(d) => Dependency::Shuffle(d.clone()),
        }
    }

    fn read(&self, split: usize, tc: &Tc) -> Result<BatchIter<(K, V)>> {
        match self {
            CoGroupSide::Narrow(r) => iterator(r, split, tc),
            CoGroupSide::Shuffle(d) => read_shuffle(tc, d.id, d.parent.num_partitions(), split),
        }
    }
}

/// Spark's `CoGroupedRDD` for two parents: for each key, the values of both sides.
/// A parent already partitioned by the target partitioner is read without a shuffle.
pub(crate) struct CoGroupedRdd<K, V, W> {
    pub meta: RddMeta,
    pub left: CoGroupSide<K, V>,
    pub right: CoGroupSide<K, W>,
    pub partitioner: Arc<dyn Partitioner<K>>,
}

impl<K: Data + Hash + Eq, V: Data, W: Data> RddBase for CoGroupedRdd<K, V, W> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "CoGroupedDataset"
    }
    fn num_partitions(&self) -> usize {
        self.partitioner.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![self.left.dependency(), self.right.dependency()]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        Some(erase(self.partitioner.clone()))
    }
}

impl<K: Data + Hash + Eq, V: Data, W: Data> Rdd<(K, (Vec<V>, Vec<W>))> for CoGroupedRdd<K, V, W> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(K, (Vec<V>, Vec<W>))>> {
        cogroup_partition(&self.left, &self.right, split, tc)
    }
}

/// One partition of a cogroup, through an [`ExternalMap`] (so it spills).
fn cogroup_partition<K: Data + Hash + Eq, V: Data, W: Data>(
    left: &CoGroupSide<K, V>,
    right: &CoGroupSide<K, W>,
    split: usize,
    tc: &Tc,
) -> Result<BatchIter<(K, (Vec<V>, Vec<W>))>> {
    let mut map = ExternalMap::<K, (Vec<V>, Vec<W>)>::new(tc);
    for batch in left.read(split, tc)? {
        for (k, v) in batch? {
            map.insert(
                k,
                v,
                |v| (vec![v], Vec::new()),
                |mut c, v| {
                    c.0.push(v);
                    c
                },
            )?;
        }
    }
    for batch in right.read(split, tc)? {
        for (k, w) in batch? {
            map.insert(
                k,
                w,
                |w| (Vec::new(), vec![w]),
                |mut c, w| {
                    c.1.push(w);
                    c
                },
            )?;
        }
    }
    map.into_batches(|mut a, b| {
        a.0.extend(b.0);
        a.1.extend(b.1);
        a
    })
}

/// The values a hash-join table holds for one key; most keys have one, stored inline.
enum JoinValues<W> {
    One(W),
    Many(Vec<W>),
}

/// Inner join into the target partitioning, as a hash join: each task builds a table from
/// its partition of the right side and streams the left side through it, so no per-key
/// groups are built for the left side. If the right partition outgrows the shuffle budget,
/// the task falls back to the cogroup plan, which spills.
pub(crate) struct JoinedRdd<K, V, W> {
    pub meta: RddMeta,
    pub left: CoGroupSide<K, V>,
    pub right: CoGroupSide<K, W>,
    pub partitioner: Arc<dyn Partitioner<K>>,
}

impl<K: Data + Hash + Eq, V: Data, W: Data> RddBase for JoinedRdd<K, V, W> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "JoinedDataset"
    }
    fn num_partitions(&self) -> usize {
        self.partitioner.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![self.left.dependency(), self.right.dependency()]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        Some(erase(self.partitioner.clone()))
    }
}

impl<K: Data + Hash + Eq, V: Data, W: Data> Rdd<(K, (V, W))> for JoinedRdd<K, V, W> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(K, (V, W))>> {
        let budget = tc.ctx.config.shuffle_memory as u64;
        let mut table: FxHashMap<K, JoinValues<W>> = FxHashMap::default();
        let mut tracker = SizeTracker::default();
        let mut fits = true;
        'build: for batch in self.right.read(split, tc)? {
            for (k, w) in batch? {
                tracker.add(&(&k, &w));
                match table.entry(k) {
                    MapEntry::Vacant(e) => {
                        e.insert(JoinValues::One(w));
                    }
                    MapEntry::Occupied(mut e) => {
                        let slot = e.get_mut();
                        match slot {
                            JoinValues::Many(ws) => ws.push(w),
                            JoinValues::One(_) => {
                                let JoinValues::One(first) =
                                    std::mem::replace(slot, JoinValues::Many(Vec::new()))
                                else {
                                    unreachable!("matched One")
                                };
                                *slot = JoinValues::Many(vec![first, w]);
                            }
                        }
                    }
                }
                if tracker.bytes() > budget {
                    fits = false;
                    break 'build;
                }
            }
        }
        if !fits {
            drop(table);
            let groups = cogroup_partition(&self.left, &self.right, split, tc)?;
            return Ok(crate::rdd::through_records(groups, |recs| {
                recs.flat_map(|(k, (vs, ws))| {
                    let mut out = Vec::with_capacity(vs.len() * ws.len());
                    for v in &vs {
                        for w in &ws {
                            out.push((k.clone(), (v.clone(), w.clone())));
                        }
                    }
                    out
                })
            }));
        }
        let left = self.left.read(split, tc)?;
        Ok(Box::new(left.map(move |b| {
            let b = b?;
            let mut out = Vec::with_capacity(b.len());
            for (k, v) in b {
                match table.get(&k) {
                    None => {}
                    Some(JoinValues::One(w)) => out.push((k, (v, w.clone()))),
                    Some(JoinValues::Many(ws)) => {
                        for w in ws {
                            out.push((k.clone(), (v.clone(), w.clone())));
                        }
                    }
                }
            }
            Ok(Batch::Owned(out))
        })))
    }
}

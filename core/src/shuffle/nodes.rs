//! The lineage nodes that read shuffles: shuffled (combined or plain), co-grouped and
//! joined datasets.

use std::collections::hash_map::Entry as MapEntry;
use std::hash::Hash;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::aggregate::{Aggregator, NoCombine};
use super::dependency::ShuffleDependency;
use super::external::ExternalMap;
use super::read::read_shuffle;
use crate::batch::Batch;
use crate::error::Result;
use crate::partitioner::{erase, ErasedPartitioner, Partitioner};
use crate::rdd::{iterator, BatchIter, Dependency, Rdd, RddBase, RddMeta, Tc};
use crate::ser::SizeTracker;
use crate::Data;

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

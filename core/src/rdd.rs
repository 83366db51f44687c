//! Lineage nodes: the internal plumbing behind [`Dataset`](crate::Dataset).
//!
//! Every dataset is a node implementing [`Rdd<T>`]. A node computes one partition as a
//! stream of record batches (`Vec<T>` of up to [`BATCH`] records), pulling batches from its
//! parents. Narrow transformations therefore run fused within a task: no partition is
//! materialized between them, and the per-record work inside a batch is monomorphized code
//! with no virtual call. The virtual call happens once per batch.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};

use crate::batch::{Batch, BatchRecords};
use crate::context::ContextInner;
use crate::error::Result;
use crate::metrics::TaskCounters;
use crate::partitioner::ErasedPartitioner;
use crate::shuffle::ShuffleDepBase;
use crate::storage::StorageLevel;

/// Records per batch flowing between fused operators.
pub(crate) const BATCH: usize = 4096;

/// The stream of batches a node produces for one partition.
pub(crate) type BatchIter<T> = Box<dyn Iterator<Item = Result<Batch<T>>>>;

/// A running task's context, shared by the iterators of its pipeline.
pub(crate) type Tc = std::rc::Rc<TaskContext>;

/// Everything a running task knows about itself.
#[derive(Debug)]
pub(crate) struct TaskContext {
    pub ctx: Arc<ContextInner>,
    pub partition: usize,
    pub attempt: usize,
    pub counters: TaskCounters,
    /// Set when the task's job is cancelled: checked before each batch.
    pub cancel: Arc<crate::job_group::CancelFlag>,
}

/// State every lineage node carries.
#[derive(Debug)]
pub(crate) struct RddMeta {
    pub id: usize,
    /// The operation that created the node (`"map"`, `"reduce_by_key"`, ...).
    pub op: &'static str,
    pub ctx: Weak<ContextInner>,
    storage: AtomicU8,
    /// The name the program gave the dataset (`set_name`).
    name: std::sync::Mutex<Option<Arc<str>>>,
}

impl RddMeta {
    pub(crate) fn new(ctx: &Arc<ContextInner>, op: &'static str) -> Self {
        RddMeta {
            id: ctx.new_rdd_id(),
            op,
            ctx: Arc::downgrade(ctx),
            storage: AtomicU8::new(0),
            name: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn name(&self) -> Option<Arc<str>> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_name(&self, name: &str) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = Some(name.into());
    }

    pub(crate) fn storage_level(&self) -> Option<StorageLevel> {
        StorageLevel::from_u8(self.storage.load(Ordering::Acquire))
    }

    pub(crate) fn set_storage_level(&self, level: Option<StorageLevel>) {
        self.storage
            .store(level.map_or(0, StorageLevel::to_u8), Ordering::Release);
    }
}

impl Drop for RddMeta {
    fn drop(&mut self) {
        // A dataset nobody can reach any more can never be read from the cache again.
        if self.storage_level().is_some() {
            if let Some(ctx) = self.ctx.upgrade() {
                ctx.blocks.remove_rdd(self.id);
            }
        }
    }
}

/// An edge of the lineage graph.
pub(crate) enum Dependency {
    /// Each child partition depends on a bounded set of parent partitions; no data moves.
    Narrow(Arc<dyn RddBase>),
    /// Child partitions depend on all parent partitions through a shuffle.
    Shuffle(Arc<dyn ShuffleDepBase>),
}

/// The untyped part of a lineage node, which the scheduler works with.
pub(crate) trait RddBase: Send + Sync + 'static {
    fn meta(&self) -> &RddMeta;
    /// The node's type name, as shown by `to_debug_string`.
    fn kind(&self) -> &'static str;
    fn num_partitions(&self) -> usize;
    fn dependencies(&self) -> Vec<Dependency>;
    /// The partitions of the narrow dependency `dep` (an index into `dependencies()`) that
    /// partition `partition` reads: the same index unless the node says otherwise.
    fn narrow_parents(&self, dep: usize, partition: usize) -> Vec<usize> {
        let _ = dep;
        vec![partition]
    }
    /// The partitioner of a node produced by (or aligned with) a shuffle.
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        None
    }
    fn id(&self) -> usize {
        self.meta().id
    }
    /// Whether the node reads a checkpoint (reliable or local) instead of its lineage.
    fn is_checkpoint(&self) -> bool {
        false
    }
    /// The directory of the reliable checkpoint the node reads.
    fn checkpoint_dir(&self) -> Option<&std::path::Path> {
        None
    }
    /// Spark's form: `[name ]Kind[id] at op`.
    fn describe(&self) -> String {
        let meta = self.meta();
        let named = meta.name().map_or(String::new(), |n| format!("{n} "));
        format!("{named}{}[{}] at {}", self.kind(), meta.id, meta.op)
    }
}

/// A lineage node producing records of type `T`.
pub(crate) trait Rdd<T>: RddBase {
    /// Computes partition `split`, without consulting the cache (see [`iterator`]).
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<T>>;
}

/// Reads partition `split` of `rdd`: from the block store when the node is persisted
/// (computing and storing it on a miss), otherwise by computing it.
pub(crate) fn iterator<T: crate::Data>(
    rdd: &Arc<dyn Rdd<T>>,
    split: usize,
    tc: &Tc,
) -> Result<BatchIter<T>> {
    let it = match rdd.meta().storage_level() {
        None => rdd.compute(split, tc)?,
        Some(level) => crate::storage::get_or_compute(rdd, split, tc, level)?,
    };
    // A cancelled job's tasks stop before their next batch.
    let flag = tc.cancel.clone();
    let mut it = it.fuse();
    Ok(Box::new(std::iter::from_fn(move || {
        if let Err(e) = flag.check() {
            return Some(Err(e));
        }
        it.next()
    })))
}

/// Streams an in-memory partition as batches, cloning records.
pub(crate) fn batches_of<T: Clone + 'static>(data: Arc<Vec<T>>) -> BatchIter<T> {
    let len = data.len();
    Box::new(
        (0..len)
            .step_by(BATCH)
            .map(move |s| Ok(Batch::Shared(data.clone(), s, (s + BATCH).min(len)))),
    )
}

/// Streams owned records as batches.
pub(crate) fn batches_from_vec<T: 'static>(data: Vec<T>) -> BatchIter<T> {
    if data.len() <= BATCH {
        return Box::new(
            (!data.is_empty())
                .then_some(Ok(Batch::Owned(data)))
                .into_iter(),
        );
    }
    let mut it = data.into_iter();
    Box::new(std::iter::from_fn(move || {
        let b: Vec<T> = it.by_ref().take(BATCH).collect();
        (!b.is_empty()).then_some(Ok(Batch::Owned(b)))
    }))
}

/// Re-batches a record iterator.
pub(crate) fn rebatch<T: 'static>(mut it: impl Iterator<Item = T> + 'static) -> BatchIter<T> {
    Box::new(std::iter::from_fn(move || {
        let mut b: Vec<T> = Vec::with_capacity(BATCH.min(it.size_hint().0.max(64)));
        b.extend(it.by_ref().take(BATCH));
        (!b.is_empty()).then_some(Ok(Batch::Owned(b)))
    }))
}

/// The records of a partition, as handed to `map_partitions` and friends.
///
/// If reading the partition fails, the iterator ends early and the task fails with that
/// error once the user function's output is consumed.
pub struct Records<T> {
    inner: BatchIter<T>,
    cur: BatchRecords<T>,
    slot: ErrorSlot,
}

impl<T> Records<T> {
    pub(crate) fn new(inner: BatchIter<T>, slot: ErrorSlot) -> Self {
        Records {
            inner,
            cur: BatchRecords::Owned(Vec::new().into_iter()),
            slot,
        }
    }
}

impl<T> std::fmt::Debug for Records<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").finish_non_exhaustive()
    }
}

impl<T: Clone> Iterator for Records<T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(x) = self.cur.next() {
                return Some(x);
            }
            match self.inner.next()? {
                Ok(b) => self.cur = b.into_iter(),
                Err(e) => {
                    self.slot.borrow_mut().get_or_insert(e);
                    return None;
                }
            }
        }
    }
}

/// Runs a record-level user function over a batch stream: the user sees a plain iterator of
/// records, and its output is batched again. An upstream error ends the user's input and is
/// reported after its output.
pub(crate) fn through_records<T: Clone + 'static, U: 'static, I>(
    input: BatchIter<T>,
    f: impl FnOnce(Records<T>) -> I,
) -> BatchIter<U>
where
    I: Iterator<Item = U> + 'static,
{
    let slot = ErrorSlot::default();
    let out = f(Records::new(input, slot.clone()));
    rebatch_checked(out, slot)
}

/// `flat_map` over a batch stream: each record's outputs are copied straight into the
/// output batch (a bulk copy for exact-size iterators such as ranges and vectors), and an
/// output batch never holds more than [`BATCH`] records, however many one record yields.
/// An upstream error is reported after the records produced before it.
pub(crate) fn flat_map_batches<T, U, I>(
    mut input: BatchIter<T>,
    f: impl Fn(T) -> I + 'static,
) -> BatchIter<U>
where
    T: Clone + 'static,
    U: 'static,
    I: Iterator<Item = U> + 'static,
{
    let mut cur = BatchRecords::Owned(Vec::new().into_iter());
    let mut pending: Option<I> = None;
    let mut error = None;
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        if done {
            return error.take().map(Err);
        }
        let mut out = Vec::with_capacity(BATCH);
        loop {
            if let Some(it) = pending.as_mut() {
                out.extend(it.by_ref().take(BATCH - out.len()));
                if out.len() == BATCH {
                    return Some(Ok(Batch::Owned(out)));
                }
                pending = None;
            }
            match cur.next() {
                Some(x) => pending = Some(f(x)),
                None => match input.next() {
                    Some(Ok(b)) => cur = b.into_iter(),
                    end => {
                        done = true;
                        error = end.and_then(|r| r.err());
                        if out.is_empty() {
                            return error.take().map(Err);
                        }
                        return Some(Ok(Batch::Owned(out)));
                    }
                },
            }
        }
    }))
}

/// Where a [`Records`] iterator parks the error that ended it.
pub(crate) type ErrorSlot = std::rc::Rc<std::cell::RefCell<Option<crate::Error>>>;

/// Batches the output of user code that read [`Records`] sharing `slot`; after the output,
/// the parked error (if any) is reported.
pub(crate) fn rebatch_checked<U: 'static>(
    out: impl Iterator<Item = U> + 'static,
    slot: ErrorSlot,
) -> BatchIter<U> {
    let mut out = rebatch(out);
    let mut done = false;
    Box::new(std::iter::from_fn(move || {
        if done {
            return None;
        }
        match out.next() {
            Some(b) => Some(b),
            None => {
                done = true;
                slot.borrow_mut().take().map(Err)
            }
        }
    }))
}

/// `parallelize`: a local collection cut into slices.
pub(crate) struct ParallelCollection<T> {
    pub meta: RddMeta,
    pub slices: Vec<Arc<Vec<T>>>,
}

impl<T: crate::Data> RddBase for ParallelCollection<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "ParallelCollectionDataset"
    }
    fn num_partitions(&self) -> usize {
        self.slices.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: crate::Data> Rdd<T> for ParallelCollection<T> {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<T>> {
        Ok(batches_of(self.slices[split].clone()))
    }
}

/// `range`: arithmetic progressions computed on the fly.
pub(crate) struct RangeRdd {
    pub meta: RddMeta,
    pub start: i64,
    pub step: i64,
    /// Cumulative element offsets: partition `i` holds elements `bounds[i]..bounds[i + 1]`.
    pub bounds: Vec<u64>,
}

impl RddBase for RangeRdd {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "RangeDataset"
    }
    fn num_partitions(&self) -> usize {
        self.bounds.len() - 1
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl Rdd<i64> for RangeRdd {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<i64>> {
        let (lo, hi) = (self.bounds[split], self.bounds[split + 1]);
        let (start, step) = (self.start, self.step);
        Ok(Box::new((lo..hi).step_by(BATCH).map(move |s| {
            let e = (s + BATCH as u64).min(hi);
            Ok(Batch::Owned(
                (s..e)
                    .map(|i| start.wrapping_add((i as i64).wrapping_mul(step)))
                    .collect(),
            ))
        })))
    }
}

/// The function of a [`MapPartitions`] node: batch stream in, batch stream out.
pub(crate) type PartitionFn<T, U> = dyn Fn(&Tc, usize, BatchIter<T>) -> BatchIter<U> + Send + Sync;

/// Every narrow one-to-one transformation (map, filter, flat_map, map_partitions, ...).
pub(crate) struct MapPartitions<T, U> {
    pub meta: RddMeta,
    pub parent: Arc<dyn Rdd<T>>,
    pub f: Arc<PartitionFn<T, U>>,
    pub preserves_partitioning: bool,
    pub kind: &'static str,
}

impl<T: crate::Data, U: crate::Data> RddBase for MapPartitions<T, U> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.clone())]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        if self.preserves_partitioning {
            self.parent.partitioner()
        } else {
            None
        }
    }
}

impl<T: crate::Data, U: crate::Data> Rdd<U> for MapPartitions<T, U> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<U>> {
        let input = iterator(&self.parent, split, tc)?;
        Ok((self.f)(tc, split, input))
    }
}

/// `union`: the partitions of all parents, one after another.
pub(crate) struct UnionRdd<T> {
    pub meta: RddMeta,
    pub parents: Vec<Arc<dyn Rdd<T>>>,
    /// For each output partition: (parent index, parent partition).
    pub index: Vec<(usize, usize)>,
}

impl<T: crate::Data> RddBase for UnionRdd<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "UnionDataset"
    }
    fn num_partitions(&self) -> usize {
        self.index.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        self.parents
            .iter()
            .map(|p| Dependency::Narrow(p.clone()))
            .collect()
    }
    fn narrow_parents(&self, dep: usize, partition: usize) -> Vec<usize> {
        let (p, s) = self.index[partition];
        if p == dep {
            vec![s]
        } else {
            Vec::new()
        }
    }
}

impl<T: crate::Data> Rdd<T> for UnionRdd<T> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<T>> {
        let (p, s) = self.index[split];
        iterator(&self.parents[p], s, tc)
    }
}

/// `coalesce` without shuffle: each output partition concatenates a run of parent partitions.
pub(crate) struct CoalescedRdd<T> {
    pub meta: RddMeta,
    pub parent: Arc<dyn Rdd<T>>,
    pub groups: Vec<std::ops::Range<usize>>,
}

impl<T: crate::Data> RddBase for CoalescedRdd<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "CoalescedDataset"
    }
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![Dependency::Narrow(self.parent.clone())]
    }
    fn narrow_parents(&self, _dep: usize, partition: usize) -> Vec<usize> {
        self.groups[partition].clone().collect()
    }
}

impl<T: crate::Data> Rdd<T> for CoalescedRdd<T> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<T>> {
        let parent = self.parent.clone();
        let tc = tc.clone();
        let mut parts = self.groups[split].clone();
        let mut cur: Option<BatchIter<T>> = None;
        Ok(Box::new(std::iter::from_fn(move || loop {
            if let Some(it) = cur.as_mut() {
                if let Some(b) = it.next() {
                    return Some(b);
                }
            }
            let p = parts.next()?;
            match iterator(&parent, p, &tc) {
                Ok(it) => cur = Some(it),
                Err(e) => {
                    parts = 0..0;
                    return Some(Err(e));
                }
            }
        })))
    }
}

/// `cartesian`: partition (i, j) pairs left partition i with right partition j.
pub(crate) struct CartesianRdd<T, U> {
    pub meta: RddMeta,
    pub left: Arc<dyn Rdd<T>>,
    pub right: Arc<dyn Rdd<U>>,
}

impl<T: crate::Data, U: crate::Data> RddBase for CartesianRdd<T, U> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "CartesianDataset"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions() * self.right.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.left.clone()),
            Dependency::Narrow(self.right.clone()),
        ]
    }
    fn narrow_parents(&self, dep: usize, partition: usize) -> Vec<usize> {
        let nr = self.right.num_partitions();
        vec![if dep == 0 {
            partition / nr
        } else {
            partition % nr
        }]
    }
}

impl<T: crate::Data, U: crate::Data> Rdd<(T, U)> for CartesianRdd<T, U> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(T, U)>> {
        let nr = self.right.num_partitions();
        let (i, j) = (split / nr, split % nr);
        let mut right = Vec::new();
        for b in iterator(&self.right, j, tc)? {
            right.extend(b?);
        }
        let right = Arc::new(right);
        let left = iterator(&self.left, i, tc)?;
        Ok(through_records(left, move |it| {
            it.flat_map(move |t| {
                let right = right.clone();
                (0..right.len()).map(move |k| (t.clone(), right[k].clone()))
            })
        }))
    }
}

/// `zip`: pairs the i-th records of matching partitions.
pub(crate) struct ZippedRdd<T, U> {
    pub meta: RddMeta,
    pub left: Arc<dyn Rdd<T>>,
    pub right: Arc<dyn Rdd<U>>,
}

impl<T: crate::Data, U: crate::Data> RddBase for ZippedRdd<T, U> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "ZippedPartitionsDataset"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.left.clone()),
            Dependency::Narrow(self.right.clone()),
        ]
    }
}

impl<T: crate::Data, U: crate::Data> Rdd<(T, U)> for ZippedRdd<T, U> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<(T, U)>> {
        let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
        let mut l = Records::new(iterator(&self.left, split, tc)?, slot.clone());
        let mut r = Records::new(iterator(&self.right, split, tc)?, slot.clone());
        let mut done = false;
        Ok(Box::new(std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut b = Vec::with_capacity(BATCH);
            while b.len() < BATCH {
                match (l.next(), r.next()) {
                    (Some(x), Some(y)) => b.push((x, y)),
                    (None, None) => {
                        done = true;
                        break;
                    }
                    _ => {
                        done = true;
                        let e = slot.borrow_mut().take().unwrap_or_else(|| {
                            crate::Error::InvalidArgument(format!(
                                "can only zip datasets with the same number of records in each \
                                 partition (partition {split} differs)"
                            ))
                        });
                        return Some(Err(e));
                    }
                }
            }
            if let Some(e) = slot.borrow_mut().take() {
                done = true;
                return Some(Err(e));
            }
            (!b.is_empty()).then_some(Ok(Batch::Owned(b)))
        })))
    }
}

/// The function of a [`ZipPartitionsRdd`].
pub(crate) type ZipFn<T, U, V> = dyn Fn(BatchIter<T>, BatchIter<U>) -> BatchIter<V> + Send + Sync;

/// `zip_partitions`: partition `i` of the result is computed from partitions `i` of two
/// parents with the same number of partitions.
pub(crate) struct ZipPartitionsRdd<T, U, V> {
    pub meta: RddMeta,
    pub left: Arc<dyn Rdd<T>>,
    pub right: Arc<dyn Rdd<U>>,
    pub f: Arc<ZipFn<T, U, V>>,
    pub preserves_partitioning: bool,
}

impl<T: crate::Data, U: crate::Data, V: crate::Data> RddBase for ZipPartitionsRdd<T, U, V> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "ZippedPartitionsDataset"
    }
    fn num_partitions(&self) -> usize {
        self.left.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        vec![
            Dependency::Narrow(self.left.clone()),
            Dependency::Narrow(self.right.clone()),
        ]
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        if self.preserves_partitioning {
            self.left.partitioner()
        } else {
            None
        }
    }
}

impl<T: crate::Data, U: crate::Data, V: crate::Data> Rdd<V> for ZipPartitionsRdd<T, U, V> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<V>> {
        let l = iterator(&self.left, split, tc)?;
        let r = iterator(&self.right, split, tc)?;
        Ok((self.f)(l, r))
    }
}

/// Reads back a checkpointed dataset, or an object file: one file of records per
/// partition.
pub(crate) struct CheckpointRdd<T> {
    pub meta: RddMeta,
    pub files: Vec<std::path::PathBuf>,
    /// Each part's CRC-32 from a checkpoint's manifest; `None` for an object file.
    pub checksums: Option<Vec<u32>>,
    /// The checkpoint directory; `None` for an object file.
    pub checkpoint_dir: Option<std::path::PathBuf>,
    pub partitioner: Option<ErasedPartitioner>,
    pub _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: crate::Data> RddBase for CheckpointRdd<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "ReliableCheckpointDataset"
    }
    fn num_partitions(&self) -> usize {
        self.files.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        self.partitioner.clone()
    }
    fn is_checkpoint(&self) -> bool {
        self.checkpoint_dir.is_some()
    }
    fn checkpoint_dir(&self) -> Option<&std::path::Path> {
        self.checkpoint_dir.as_deref()
    }
}

impl<T: crate::Data> Rdd<T> for CheckpointRdd<T> {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<T>> {
        let path = &self.files[split];
        let bytes =
            std::fs::read(path).map_err(|e| crate::Error::io("reading checkpoint", path, e))?;
        if let Some(crcs) = &self.checksums {
            crate::checkpoint_files::check_part(path, &bytes, crcs[split])?;
        }
        let recs = crate::ser::decode_all::<T>(&bytes).map_err(|e| {
            crate::Error::parse(path, 0, format!("not a file of records of this type: {e}"))
        })?;
        Ok(batches_from_vec(recs))
    }
}

/// Reads a locally checkpointed dataset: the blocks its parent stored in the block store.
/// The parent is held only so that its blocks live as long as this node; it is not a
/// dependency, so the lineage ends here.
pub(crate) struct LocalCheckpointRdd<T> {
    pub meta: RddMeta,
    pub parent: Arc<dyn Rdd<T>>,
}

impl<T: crate::Data> RddBase for LocalCheckpointRdd<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "LocalCheckpointDataset"
    }
    fn num_partitions(&self) -> usize {
        self.parent.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn partitioner(&self) -> Option<ErasedPartitioner> {
        self.parent.partitioner()
    }
    fn is_checkpoint(&self) -> bool {
        true
    }
}

impl<T: crate::Data> Rdd<T> for LocalCheckpointRdd<T> {
    fn compute(&self, split: usize, tc: &Tc) -> Result<BatchIter<T>> {
        let id = self.parent.id();
        match tc.ctx.blocks.get::<T>((id, split))? {
            Some(values) => Ok(batches_of(values)),
            // Spark's message: the block is gone and there is no lineage to rebuild it from.
            None => Err(crate::Error::Unrecoverable(format!(
                "checkpoint block rdd_{id}_{split} not found: the dataset that \
                 local_checkpoint stored was unpersisted, or the process that stored \
                 the block is gone"
            ))),
        }
    }
}

/// Downcasts a type-erased value, for blocks and map outputs whose type the caller knows.
pub(crate) fn downcast_arc<T: Any + Send + Sync>(a: Arc<dyn Any + Send + Sync>) -> Option<Arc<T>> {
    a.downcast::<T>().ok()
}

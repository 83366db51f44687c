//! Reduce-side aggregation and sorting past the memory budget: sorted runs spilled to
//! temporary files and merged on read.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fs::File;
use std::hash::Hash;
use std::io::{BufWriter, Seek, SeekFrom};

use super::aggregate::{combine_into, CombineMap};
use crate::batch::Batch;
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::metrics::TaskCounters;
use crate::partitioner::stable_hash;
use crate::rdd::{BatchIter, Tc, BATCH};
use crate::ser::{RecordReader, RecordWriter, SizeTracker};
use crate::Data;

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

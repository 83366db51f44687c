//! The block store: cached partitions under a memory budget with LRU eviction.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{Error, Result};
use crate::metrics::TaskCounters;
use crate::rdd::{batches_of, downcast_arc, BatchIter, Rdd, Tc};
use crate::ser;
use crate::Data;

/// Where and how a persisted dataset keeps its partitions, as Spark's `StorageLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageLevel {
    /// Deserialized records in memory. A partition that does not fit, or that is evicted, is
    /// recomputed from lineage when next needed. The default of `cache()`.
    MemoryOnly,
    /// Serialized records in memory: more compact, but each read deserializes.
    MemoryOnlySer,
    /// Deserialized in memory; partitions that do not fit or are evicted go to local disk.
    MemoryAndDisk,
    /// Serialized on local disk only.
    DiskOnly,
}

impl StorageLevel {
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            StorageLevel::MemoryOnly => 1,
            StorageLevel::MemoryOnlySer => 2,
            StorageLevel::MemoryAndDisk => 3,
            StorageLevel::DiskOnly => 4,
        }
    }

    pub(crate) fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => StorageLevel::MemoryOnly,
            2 => StorageLevel::MemoryOnlySer,
            3 => StorageLevel::MemoryAndDisk,
            4 => StorageLevel::DiskOnly,
            _ => return None,
        })
    }
}

/// (dataset id, partition).
pub(crate) type BlockId = (usize, usize);

enum Stored {
    Values(Arc<dyn Any + Send + Sync>),
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
}

type ToBytes = fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>>;

struct Entry {
    stored: Stored,
    /// Bytes of memory the entry holds (0 on disk).
    size: usize,
    last_used: u64,
    level: StorageLevel,
    to_bytes: ToBytes,
}

#[derive(Default)]
struct Inner {
    blocks: FxHashMap<BlockId, Entry>,
    used: usize,
    clock: u64,
    /// Blocks that were cached once and since evicted or dropped.
    lost: FxHashSet<BlockId>,
    file_seq: u64,
}

/// Holds cached partitions, accounting their estimated size against a budget.
pub(crate) struct BlockStore {
    budget: usize,
    dir: PathBuf,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for BlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStore")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

fn values_to_bytes<T: Data>(v: &(dyn Any + Send + Sync)) -> Result<Vec<u8>> {
    let v = v
        .downcast_ref::<Vec<T>>()
        .expect("block type matches its dataset");
    ser::encode_all(v.iter())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io("writing cached block", path, e))
}

impl BlockStore {
    pub(crate) fn new(budget: usize, dir: PathBuf) -> Self {
        BlockStore {
            budget,
            dir,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (entries are inserted whole).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn new_file(&self, inner: &mut Inner, id: BlockId) -> PathBuf {
        inner.file_seq += 1;
        self.dir
            .join(format!("rdd_{}_{}_{}.blk", id.0, id.1, inner.file_seq))
    }

    /// Looks a block up, refreshing its LRU position.
    pub(crate) fn get<T: Data>(&self, id: BlockId) -> Result<Option<Arc<Vec<T>>>> {
        let stored = {
            let mut inner = self.lock();
            inner.clock += 1;
            let clock = inner.clock;
            match inner.blocks.get_mut(&id) {
                None => return Ok(None),
                Some(e) => {
                    e.last_used = clock;
                    match &e.stored {
                        Stored::Values(v) => Stored::Values(v.clone()),
                        Stored::Bytes(b) => Stored::Bytes(b.clone()),
                        Stored::File(p) => Stored::File(p.clone()),
                    }
                }
            }
        };
        Ok(Some(match stored {
            Stored::Values(v) => downcast_arc::<Vec<T>>(v).expect("block type matches"),
            Stored::Bytes(b) => Arc::new(ser::decode_all(&b)?),
            Stored::File(p) => {
                let bytes =
                    std::fs::read(&p).map_err(|e| Error::io("reading cached block", &p, e))?;
                Arc::new(ser::decode_all(&bytes)?)
            }
        }))
    }

    /// Whether a block was cached once and has been evicted or dropped since.
    pub(crate) fn was_lost(&self, id: BlockId) -> bool {
        self.lock().lost.contains(&id)
    }

    /// Whether a block is stored.
    pub(crate) fn contains(&self, id: BlockId) -> bool {
        self.lock().blocks.contains_key(&id)
    }

    /// Whether every partition of a dataset is cached.
    pub(crate) fn contains_all(&self, rdd: usize, partitions: usize) -> bool {
        let inner = self.lock();
        (0..partitions).all(|p| inner.blocks.contains_key(&(rdd, p)))
    }

    /// Stores a computed partition. A memory block that cannot fit even after evicting every
    /// other dataset's blocks is not stored (`MemoryOnly`) or goes to disk (`MemoryAndDisk`).
    pub(crate) fn put<T: Data>(
        &self,
        id: BlockId,
        values: Arc<Vec<T>>,
        level: StorageLevel,
        counters: &TaskCounters,
    ) -> Result<()> {
        let to_bytes: ToBytes = values_to_bytes::<T>;
        let (stored, size) = match level {
            StorageLevel::MemoryOnly | StorageLevel::MemoryAndDisk => {
                let size = ser::estimate_size(&values);
                (Stored::Values(values), size)
            }
            StorageLevel::MemoryOnlySer => {
                let bytes = ser::encode_all(values.iter())?;
                let size = bytes.len();
                (Stored::Bytes(Arc::new(bytes)), size)
            }
            StorageLevel::DiskOnly => {
                let bytes = ser::encode_all(values.iter())?;
                let mut inner = self.lock();
                let path = self.new_file(&mut inner, id);
                write_file(&path, &bytes)?;
                Self::insert(&mut inner, id, Stored::File(path), 0, level, to_bytes);
                return Ok(());
            }
        };
        let mut inner = self.lock();
        if size > self.budget || !self.make_room(&mut inner, id.0, size, counters)? {
            if level == StorageLevel::MemoryAndDisk {
                let bytes = match &stored {
                    Stored::Values(v) => to_bytes(&**v)?,
                    _ => unreachable!("memory-and-disk blocks hold values"),
                };
                let path = self.new_file(&mut inner, id);
                write_file(&path, &bytes)?;
                counters
                    .bytes_spilled
                    .set(counters.bytes_spilled.get() + bytes.len() as u64);
                Self::insert(&mut inner, id, Stored::File(path), 0, level, to_bytes);
            }
            // MemoryOnly / MemoryOnlySer: not cached; the next read recomputes it.
            return Ok(());
        }
        Self::insert(&mut inner, id, stored, size, level, to_bytes);
        Ok(())
    }

    fn insert(
        inner: &mut Inner,
        id: BlockId,
        stored: Stored,
        size: usize,
        level: StorageLevel,
        to_bytes: ToBytes,
    ) {
        inner.clock += 1;
        let entry = Entry {
            stored,
            size,
            last_used: inner.clock,
            level,
            to_bytes,
        };
        inner.used += size;
        inner.lost.remove(&id);
        if let Some(old) = inner.blocks.insert(id, entry) {
            inner.used -= old.size;
            if let Stored::File(p) = old.stored {
                let _ = std::fs::remove_file(p);
            }
        }
    }

    /// Evicts least-recently-used memory blocks of other datasets until `size` more bytes
    /// fit. Returns false (evicting nothing) if that is impossible.
    fn make_room(
        &self,
        inner: &mut Inner,
        rdd: usize,
        size: usize,
        counters: &TaskCounters,
    ) -> Result<bool> {
        if inner.used + size <= self.budget {
            return Ok(true);
        }
        // As Spark does, never evict blocks of the dataset being stored: that would only
        // cycle its partitions through memory.
        let mut candidates: Vec<(u64, BlockId, usize)> = inner
            .blocks
            .iter()
            .filter(|(k, e)| k.0 != rdd && e.size > 0)
            .map(|(k, e)| (e.last_used, *k, e.size))
            .collect();
        let freeable: usize = candidates.iter().map(|c| c.2).sum();
        if inner.used - freeable + size > self.budget {
            return Ok(false);
        }
        candidates.sort_unstable();
        for (_, key, _) in candidates {
            if inner.used + size <= self.budget {
                break;
            }
            self.evict(inner, key, counters)?;
        }
        Ok(true)
    }

    fn evict(&self, inner: &mut Inner, key: BlockId, counters: &TaskCounters) -> Result<()> {
        let Some(entry) = inner.blocks.remove(&key) else {
            return Ok(());
        };
        inner.used -= entry.size;
        TaskCounters::add(&counters.cache_evictions, 1);
        if entry.level == StorageLevel::MemoryAndDisk {
            let bytes = match &entry.stored {
                Stored::Values(v) => (entry.to_bytes)(&**v)?,
                Stored::Bytes(b) => b.to_vec(),
                Stored::File(_) => unreachable!("disk blocks hold no memory"),
            };
            let path = self.new_file(inner, key);
            write_file(&path, &bytes)?;
            TaskCounters::add(&counters.bytes_spilled, bytes.len() as u64);
            Self::insert(
                inner,
                key,
                Stored::File(path),
                0,
                entry.level,
                entry.to_bytes,
            );
        } else {
            inner.lost.insert(key);
        }
        Ok(())
    }

    /// Drops one block (fault injection).
    #[cfg(feature = "fault-injection")]
    pub(crate) fn drop_block(&self, key: BlockId) -> bool {
        let mut inner = self.lock();
        match inner.blocks.remove(&key) {
            Some(e) => {
                inner.used -= e.size;
                if let Stored::File(p) = e.stored {
                    let _ = std::fs::remove_file(p);
                }
                inner.lost.insert(key);
                true
            }
            None => false,
        }
    }

    /// Removes every block of a dataset (unpersist).
    pub(crate) fn remove_rdd(&self, rdd: usize) {
        let mut inner = self.lock();
        let keys: Vec<BlockId> = inner
            .blocks
            .keys()
            .filter(|k| k.0 == rdd)
            .copied()
            .collect();
        for k in keys {
            if let Some(e) = inner.blocks.remove(&k) {
                inner.used -= e.size;
                if let Stored::File(p) = e.stored {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
        inner.lost.retain(|k| k.0 != rdd);
    }

    /// (bytes in memory, number of blocks).
    pub(crate) fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.used, inner.blocks.len())
    }

    /// Memory bytes held by one dataset's blocks.
    pub(crate) fn rdd_memory(&self, rdd: usize) -> usize {
        let inner = self.lock();
        inner
            .blocks
            .iter()
            .filter(|(k, _)| k.0 == rdd)
            .map(|(_, e)| e.size)
            .sum()
    }
}

/// Reads a persisted partition from the block store, or computes and stores it.
pub(crate) fn get_or_compute<T: Data>(
    rdd: &Arc<dyn Rdd<T>>,
    split: usize,
    tc: &Tc,
    level: StorageLevel,
) -> Result<BatchIter<T>> {
    let key = (rdd.meta().id, split);
    let store = &tc.ctx.blocks;
    if let Some(values) = store.get::<T>(key)? {
        TaskCounters::add(&tc.counters.cache_hits, 1);
        return Ok(batches_of(values));
    }
    TaskCounters::add(&tc.counters.cache_misses, 1);
    if store.was_lost(key) {
        TaskCounters::add(&tc.counters.recomputations, 1);
    }
    let mut all = Vec::new();
    for b in rdd.compute(split, tc)? {
        let b = b?;
        if all.is_empty() {
            all = b.into_vec();
        } else {
            all.extend(b);
        }
    }
    // A batch reused in place by `map` can carry spare capacity far beyond its records:
    // do not pin it in the cache.
    all.shrink_to_fit();
    let all = Arc::new(all);
    store.put(key, all.clone(), level, &tc.counters)?;
    Ok(batches_of(all))
}

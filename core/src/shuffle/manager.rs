//! The shuffle manager: every live shuffle's map outputs, their memory accounting, and
//! buckets serialized for (or received from) other processes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use super::write::{Bucket, MapOutput};
use crate::error::{Error, Result};
use crate::ser::{self};
use crate::Data;

/// One bucket of a map output in the shuffle's record format, to move it to another
/// process: its reduce partition, how many records it holds, and the records.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct SerializedBucket {
    pub reduce: usize,
    pub records: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
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
    pub(crate) fn reserve(&self, bytes: u64, budget: usize) -> bool {
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

    pub(crate) fn register(&self, shuffle: usize, num_maps: usize, map: usize, out: MapOutput) {
        let mut st = self.lock();
        let s = st.entry(shuffle).or_insert_with(|| ShuffleState {
            maps: vec![None; num_maps],
            delivered: Vec::new(),
        });
        if let Some(old) = s.maps[map].replace(Arc::new(out)) {
            self.release(&old);
        }
    }

    /// Serializes local map output `map`'s buckets for `reduces`.
    pub(crate) fn encode<R: Data>(
        &self,
        shuffle: usize,
        map: usize,
        reduces: &[usize],
    ) -> Result<Vec<SerializedBucket>> {
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
            encoded.push(SerializedBucket {
                reduce: r,
                records,
                bytes,
            });
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
        buckets: Vec<SerializedBucket>,
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
        for SerializedBucket {
            reduce: r,
            records,
            bytes,
        } in buckets
        {
            added += bytes.len();
            out.buckets[r] = Bucket {
                remote: Some((Arc::new(bytes), records)),
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

    pub(crate) fn outputs(&self, shuffle: usize, num_maps: usize) -> Result<Vec<Arc<MapOutput>>> {
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

    /// Deletes one map output (fault injection).
    #[cfg(feature = "fault-injection")]
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
    #[cfg(feature = "fault-injection")]
    pub(crate) fn shuffle_ids(&self) -> Vec<usize> {
        let mut ids: Vec<usize> = self.lock().keys().copied().collect();
        ids.sort_unstable();
        ids
    }
}

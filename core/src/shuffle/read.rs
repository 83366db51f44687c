//! The reduce side's read: a reduce partition's buckets from every map output, in map order.

use std::any::Any;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use super::write::Segment;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::metrics::TaskCounters;
use crate::rdd::{BatchIter, Tc, BATCH};
use crate::ser::{self, RecordReader};
use crate::Data;

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

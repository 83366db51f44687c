//! The seam through which other systems become datasets ([`DataSource`]) and take them
//! back ([`DataSink`]): databases, object stores, file formats. A source says how many
//! partitions it has and reads one of them inside a task; a sink writes one partition
//! inside a task and commits once every partition is written.

use std::sync::Arc;

use crate::error::Result;
use crate::rdd::{BatchIter, Dependency, Rdd, RddBase, RddMeta, Records, Tc};
use crate::{Context, Data, Dataset};

/// The records of one partition of a [`DataSource`], in batches (a batch may be any size;
/// a few thousand records keeps memory small and per-batch costs low).
pub type RecordBatches<T> = Box<dyn Iterator<Item = Result<Vec<T>>>>;

/// A system that records are read from in parallel, one partition per split (a range of
/// a table, a row group of a file, an object).
///
/// The source is built on the driver, where it decides its partitions; each task reads
/// one partition with [`read_partition`](Self::read_partition). In cluster mode every
/// process builds the same source and reads only the partitions it owns.
///
/// ```
/// use firesteel_core::io::{DataSource, RecordBatches};
/// use firesteel_core::{Context, Result};
///
/// /// The squares of 0..n, in `parts` partitions.
/// struct Squares { n: u64, parts: usize }
///
/// impl DataSource<u64> for Squares {
///     fn name(&self) -> String {
///         format!("squares of 0..{}", self.n)
///     }
///     fn num_partitions(&self) -> usize {
///         self.parts
///     }
///     fn read_partition(&self, p: usize) -> Result<RecordBatches<u64>> {
///         let (n, k) = (self.n, self.parts as u64);
///         let (lo, hi) = (p as u64 * n / k, (p as u64 + 1) * n / k);
///         Ok(Box::new(std::iter::once(Ok((lo..hi).map(|x| x * x).collect()))))
///     }
/// }
///
/// let ctx = Context::local(2).unwrap();
/// let squares = ctx.read_source(Squares { n: 10, parts: 3 });
/// assert_eq!(squares.num_partitions(), 3);
/// assert_eq!(squares.sum().unwrap(), 285);
/// ```
pub trait DataSource<T>: Send + Sync + 'static {
    /// What the source reads, for the lineage string and errors (a table, a URL).
    fn name(&self) -> String;
    /// The number of partitions (at least 1 for a non-empty source).
    fn num_partitions(&self) -> usize;
    /// Reads partition `partition`, inside a task. Errors fail the task (a retryable
    /// error, such as a lost connection, is retried as any task failure;
    /// [`Error::Parse`](crate::Error::Parse) fails the job at once).
    fn read_partition(&self, partition: usize) -> Result<RecordBatches<T>>;
}

/// A system that a dataset is written to, one partition per task.
///
/// [`Dataset::write_to`] calls [`prepare`](Self::prepare) once, then
/// [`write_partition`](Self::write_partition) in one task per partition (again for a
/// retried task), then [`commit`](Self::commit) once if every partition was written, or
/// [`abort`](Self::abort) if not. A sink must make a retried partition replace what a
/// failed attempt of the same partition wrote (a transaction per partition, a staging
/// file renamed on success), so that each record lands exactly once.
///
/// In cluster mode `prepare` and `commit` run on one process (in one-task jobs), each
/// partition is written by the process that owns it, and `abort` runs on every process.
pub trait DataSink<T>: Send + Sync + 'static {
    /// Before any partition is written (create a table, check the save mode).
    fn prepare(&self, num_partitions: usize) -> Result<()> {
        let _ = num_partitions;
        Ok(())
    }
    /// Writes partition `partition` (attempt `attempt`, from 0) from `records`.
    fn write_partition(
        &self,
        partition: usize,
        attempt: usize,
        records: &mut Records<T>,
    ) -> Result<()>;
    /// After every partition was written (make the output visible).
    fn commit(&self, num_partitions: usize) -> Result<()> {
        let _ = num_partitions;
        Ok(())
    }
    /// After a failed job (remove what was staged).
    fn abort(&self) {}
}

/// Partitions read from a [`DataSource`].
struct SourceRdd<T, S> {
    meta: RddMeta,
    source: Arc<S>,
    name: String,
    _records: std::marker::PhantomData<fn() -> T>,
}

pub(crate) fn read_source<T: Data, S: DataSource<T>>(ctx: &Context, source: S) -> Dataset<T> {
    Dataset::from_rdd(
        ctx,
        Arc::new(SourceRdd {
            meta: RddMeta::new(&ctx.inner, "read_source"),
            name: source.name(),
            source: Arc::new(source),
            _records: std::marker::PhantomData,
        }),
    )
}

impl<T: Data, S: DataSource<T>> RddBase for SourceRdd<T, S> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "DataSourceDataset"
    }
    fn num_partitions(&self) -> usize {
        self.source.num_partitions()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
    fn describe(&self) -> String {
        format!(
            "{}[{}] at {} ({})",
            self.kind(),
            self.meta.id,
            self.meta.op,
            self.name
        )
    }
}

impl<T: Data, S: DataSource<T>> Rdd<T> for SourceRdd<T, S> {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<T>> {
        let batches = self.source.read_partition(split)?;
        Ok(Box::new(batches.filter_map(|b| match b {
            Ok(v) if v.is_empty() => None,
            Ok(v) => Some(Ok(crate::batch::Batch::Owned(v))),
            Err(e) => Some(Err(e)),
        })))
    }
}

pub(crate) fn write_to_sink<T: Data, S: DataSink<T>>(ds: &Dataset<T>, sink: S) -> Result<()> {
    let sink = Arc::new(sink);
    let n = ds.num_partitions();
    let once = |f: Box<dyn Fn() -> Result<()> + Send + Sync>| {
        ds.ctx
            .parallelize(vec![()], 1)
            .run_all(move |_, _| f())
            .map(drop)
    };
    let s = sink.clone();
    once(Box::new(move || s.prepare(n)))?;
    let s = sink.clone();
    let written = ds.run_all(move |tc, it| {
        let slot = crate::rdd::ErrorSlot::default();
        let mut records = Records::new(it, slot.clone());
        let r = s.write_partition(tc.partition, tc.attempt, &mut records);
        // An upstream error ends the records early: the partition is not complete.
        if let Some(e) = slot.borrow_mut().take() {
            return Err(e);
        }
        r
    });
    let s = sink.clone();
    let result = written.and_then(|_| once(Box::new(move || s.commit(n))));
    if result.is_err() {
        sink.abort();
    }
    result
}

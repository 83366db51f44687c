//! [`DStream<T>`]: a discretized stream, one [`Dataset`] per batch, with the
//! transformations and output operations of Spark's `DStream`.

use std::fmt;
use std::hash::Hash;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use firesteel_core::io::{as_text, TextRecord};
use firesteel_core::partitioner::HashPartitioner;
use firesteel_core::{Data, Dataset, Error, Records, Result, StorageLevel};

use crate::context::StreamingContext;
use crate::node::{AnyNode, ComputeFn, ForEach, Node, NodeBase};
use crate::time::{ms, whole_millis, Time};

/// A discretized stream, as Spark's `DStream`: a sequence of datasets, one per batch time,
/// each computed from its parents' datasets for the same time (or, for windows and
/// state, from a range of times). Transformations build the stream graph; output
/// operations ([`foreach_rdd`](Self::foreach_rdd), [`print`](Self::print),
/// [`save_as_text_files`](Self::save_as_text_files)) register the jobs that run at every
/// batch once the [`StreamingContext`] starts. Cloning is cheap and shares the stream.
#[must_use = "streams do nothing without an output operation"]
pub struct DStream<T> {
    pub(crate) ssc: StreamingContext,
    pub(crate) node: Arc<Node<T>>,
}

impl<T> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            ssc: self.ssc.clone(),
            node: self.node.clone(),
        }
    }
}

impl<T: Data> fmt::Debug for DStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DStream({})", self.node.base.describe())
    }
}

/// Slides must agree for streams combined batch by batch; the mismatch is reported when
/// the context starts.
fn slide_mismatch(what: &str, slides: &[(String, i64)]) -> Option<String> {
    let first = slides.first()?.1;
    if slides.iter().all(|(_, s)| *s == first) {
        return None;
    }
    let list: Vec<String> = slides
        .iter()
        .map(|(n, s)| format!("{n} slides every {}", ms(*s)))
        .collect();
    Some(format!(
        "{what} needs streams of the same slide, but {}",
        list.join(", ")
    ))
}

impl<T: Data> DStream<T> {
    pub(crate) fn from_node(ssc: &StreamingContext, base: NodeBase, compute: ComputeFn<T>) -> Self {
        DStream {
            ssc: ssc.clone(),
            node: Arc::new(Node::new(base, compute)),
        }
    }

    pub(crate) fn any(&self) -> Arc<dyn AnyNode> {
        self.node.clone()
    }

    pub(crate) fn slide_ms(&self) -> i64 {
        self.node.base.slide_ms
    }

    pub(crate) fn label(&self) -> String {
        format!("{} (stream {})", self.node.base.name, self.node.base.id)
    }

    /// The streaming context.
    pub fn context(&self) -> &StreamingContext {
        &self.ssc
    }

    /// How often the stream produces a dataset: the batch interval, or a window's slide.
    pub fn slide_duration(&self) -> Duration {
        Duration::from_millis(self.slide_ms() as u64)
    }

    /// A stream computing each time's dataset from this stream's dataset for the same
    /// time; times with no parent dataset have none.
    pub(crate) fn derive<U: Data>(
        &self,
        name: &'static str,
        f: impl Fn(&Dataset<T>, Time) -> Result<Dataset<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        let parent = self.node.clone();
        let base = self.ssc.node_base(name, self.slide_ms(), vec![self.any()]);
        let compute = move |time: Time| match parent.get_or_compute(time)? {
            Some(ds) => f(&ds, time).map(Some),
            None => Ok(None),
        };
        DStream::from_node(&self.ssc, base, Box::new(compute))
    }

    // ----- transformations -----

    /// Applies `f` to every record.
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> DStream<U> {
        let f = Arc::new(f);
        self.derive("map", move |ds, _| {
            let f = f.clone();
            Ok(ds.map(move |x| f(x)))
        })
    }

    /// Maps every record to any number of records.
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.derive("flat_map", move |ds, _| {
            let f = f.clone();
            Ok(ds.flat_map(move |x| f(x)))
        })
    }

    /// Keeps the records for which `f` is true.
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.derive("filter", move |ds, _| {
            let f = f.clone();
            Ok(ds.filter(move |x| f(x)))
        })
    }

    /// Transforms each partition of each batch as a whole.
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(Records<T>) -> I + Send + Sync + 'static,
    ) -> DStream<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.derive("map_partitions", move |ds, _| {
            let f = f.clone();
            Ok(ds.map_partitions(move |r| f(r)))
        })
    }

    /// One `Vec` per partition of each batch.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.derive("glom", |ds, _| Ok(ds.glom()))
    }

    /// Each batch reshuffled into exactly `num_partitions` partitions.
    pub fn repartition(&self, num_partitions: usize) -> DStream<T> {
        self.derive("repartition", move |ds, _| {
            Ok(ds.repartition(num_partitions))
        })
    }

    /// Each batch's records of both streams (which must have the same slide).
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        Self::union_all(&self.ssc, &[self.clone(), other.clone()])
    }

    pub(crate) fn union_all(ssc: &StreamingContext, streams: &[DStream<T>]) -> DStream<T> {
        let slide = streams.first().map_or(ssc.inner.batch_ms, |s| s.slide_ms());
        let mut base = ssc.node_base("union", slide, streams.iter().map(|s| s.any()).collect());
        base.invalid = slide_mismatch(
            "union",
            &streams
                .iter()
                .map(|s| (s.label(), s.slide_ms()))
                .collect::<Vec<_>>(),
        );
        let nodes: Vec<Arc<Node<T>>> = streams.iter().map(|s| s.node.clone()).collect();
        let ctx = ssc.context().clone();
        let compute = move |time: Time| {
            let mut parts = Vec::with_capacity(nodes.len());
            for n in &nodes {
                match n.get_or_compute(time)? {
                    Some(ds) => parts.push(ds),
                    None => {
                        return Err(Error::InvalidArgument(format!(
                            "union: {} has no batch at {time}",
                            n.base.describe()
                        )))
                    }
                }
            }
            Ok(Some(ctx.union(&parts)))
        };
        DStream::from_node(ssc, base, Box::new(compute))
    }

    /// Applies a dataset-to-dataset function to each batch, as Spark's `transform`; `f`
    /// also gets the batch time.
    pub fn transform<U: Data>(
        &self,
        f: impl Fn(&Dataset<T>, Time) -> Result<Dataset<U>> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive("transform", f)
    }

    /// Applies a function of both streams' datasets for each batch time, as Spark's
    /// `transformWith` (the streams must have the same slide).
    pub fn transform_with<U: Data, V: Data>(
        &self,
        other: &DStream<U>,
        f: impl Fn(&Dataset<T>, &Dataset<U>, Time) -> Result<Dataset<V>> + Send + Sync + 'static,
    ) -> DStream<V> {
        let (a, b) = (self.node.clone(), other.node.clone());
        let mut base = self.ssc.node_base(
            "transform_with",
            self.slide_ms(),
            vec![self.any(), other.any()],
        );
        base.invalid = slide_mismatch(
            "transform_with",
            &[
                (self.label(), self.slide_ms()),
                (other.label(), other.slide_ms()),
            ],
        );
        let compute = move |time: Time| match (a.get_or_compute(time)?, b.get_or_compute(time)?) {
            (Some(x), Some(y)) => f(&x, &y, time).map(Some),
            _ => Ok(None),
        };
        DStream::from_node(&self.ssc, base, Box::new(compute))
    }

    /// The number of records of each batch: one record per batch, 0 for an empty batch,
    /// as Spark's `count`.
    pub fn count(&self) -> DStream<u64> {
        self.derive("count", |ds, _| {
            let ctx = ds.context();
            let counts = ds.map_partitions(|r| std::iter::once(r.count() as u64));
            let zero = ctx.parallelize(vec![0u64], 1);
            Ok(ctx
                .union(&[counts, zero])
                .coalesce(1, false)
                .map_partitions(|r| std::iter::once(r.sum::<u64>())))
        })
    }

    /// Each batch reduced to one record with an associative function (no record for an
    /// empty batch), as Spark's `reduce`.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> DStream<T> {
        let f = Arc::new(f);
        self.derive("reduce", move |ds, _| {
            let (f1, f2) = (f.clone(), f.clone());
            Ok(ds
                .map_partitions(move |r| r.reduce(|a, b| f1(a, b)))
                .coalesce(1, false)
                .map_partitions(move |r| r.reduce(|a, b| f2(a, b))))
        })
    }

    /// How often each distinct record occurs in each batch, into the default number of
    /// partitions, as Spark's `countByValue`.
    pub fn count_by_value(&self) -> DStream<(T, u64)>
    where
        T: Hash + Eq,
    {
        let n = self.ssc.context().default_parallelism();
        self.map(|x| (x, 1u64))
            .reduce_by_key_with(|a, b| a + b, HashPartitioner::new(n))
    }

    // ----- persistence and checkpoints -----

    /// Persists every generated dataset at `level` (they are dropped again once no window
    /// or state needs them).
    pub fn persist(&self, level: StorageLevel) -> DStream<T> {
        self.node.base.lock().storage = Some(level);
        self.clone()
    }

    /// `persist(StorageLevel::MemoryOnly)`.
    pub fn cache(&self) -> DStream<T> {
        self.persist(StorageLevel::MemoryOnly)
    }

    /// Checkpoints the stream's datasets every `interval` (a multiple of its slide), which
    /// cuts their lineage; needs [`StreamingContext::checkpoint`].
    ///
    /// # Errors
    /// An interval that is not a positive multiple of the slide.
    pub fn checkpoint(&self, interval: Duration) -> Result<DStream<T>> {
        let interval_ms = whole_millis(interval, "the checkpoint interval")?;
        if interval_ms % self.slide_ms() != 0 {
            return Err(Error::InvalidArgument(format!(
                "the checkpoint interval {} of {} is not a multiple of its slide {}",
                ms(interval_ms),
                self.label(),
                ms(self.slide_ms())
            )));
        }
        self.node.base.lock().checkpoint_ms = Some(interval_ms);
        Ok(self.clone())
    }

    /// The datasets of every batch of this stream from `from` to `to` (both included),
    /// as Spark's `slice`. Only remembered batches can be sliced (see
    /// [`StreamingContext::remember`]); older times are recomputed from the inputs, which
    /// gives empty batches for most sources.
    ///
    /// # Errors
    /// A stream that has not started, or a failure computing a batch.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Dataset<T>>> {
        self.node.slice(from, to)
    }

    // ----- output operations -----

    /// Runs `f` on each batch's dataset and time, as Spark's `foreachRDD`. An error from
    /// `f` fails the batch.
    pub fn foreach_rdd(&self, f: impl Fn(&Dataset<T>, Time) -> Result<()> + Send + Sync + 'static) {
        self.ssc.add_output(Arc::new(ForEach {
            parent: self.node.clone(),
            f: Arc::new(f),
        }));
    }

    /// Prints the first `num` records of each batch to standard output under Spark's
    /// banner (`Time: <ms> ms`), followed by `...` if there are more. Records are printed
    /// as text outputs write them: their `Display` form, and a tuple as Scala writes it,
    /// `(a,1)` (see [`TextRecord`](firesteel_core::io::TextRecord)).
    pub fn print<V>(&self, num: usize)
    where
        T: TextRecord<V>,
    {
        self.foreach_rdd(move |ds, time| {
            let first = ds.take(num + 1)?;
            print!("{}", print_banner(time, &first, num));
            Ok(())
        });
    }

    /// Saves each batch as a text file directory `prefix-<batch time in ms>` (or
    /// `prefix-<ms>.suffix` with a non-empty `suffix`), as Spark's `saveAsTextFiles`.
    ///
    /// A batch directory that is complete (it has `_SUCCESS`) is left alone, and an
    /// incomplete one, left by an interrupted run, is replaced: rerunning a batch after a
    /// restart writes the same directory once.
    pub fn save_as_text_files<V>(&self, prefix: impl Into<String>, suffix: impl Into<String>)
    where
        T: TextRecord<V>,
    {
        let (prefix, suffix) = (prefix.into(), suffix.into());
        self.foreach_rdd(move |ds, time| {
            let path = batch_path(&prefix, &suffix, time);
            if path.join("_SUCCESS").exists() {
                return Ok(());
            }
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io("removing", &path, e))?;
            }
            ds.save_as_text_file(&path)
        });
    }
}

/// Spark's `rddToFileName`: `prefix-<ms>` or `prefix-<ms>.suffix`.
pub(crate) fn batch_path(prefix: &str, suffix: &str, time: Time) -> PathBuf {
    if suffix.is_empty() {
        PathBuf::from(format!("{prefix}-{}", time.millis()))
    } else {
        PathBuf::from(format!("{prefix}-{}.{suffix}", time.millis()))
    }
}

/// What [`DStream::print`] prints for a batch whose first records are `first` (at most
/// `num + 1` of them).
pub(crate) fn print_banner<V, T: TextRecord<V>>(time: Time, first: &[T], num: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let rule = "-------------------------------------------";
    let _ = writeln!(out, "{rule}\nTime: {time}\n{rule}");
    for r in first.iter().take(num) {
        let _ = writeln!(out, "{}", as_text(r));
    }
    if first.len() > num {
        let _ = writeln!(out, "...");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_banner_is_sparks() {
        // Spark's DStream.print: the banner, `num` records, "..." when there are more,
        // and an empty line.
        let s = print_banner(Time::from_millis(1000), &[1, 2, 3], 2);
        assert_eq!(
            s,
            "-------------------------------------------\nTime: 1000 ms\n\
             -------------------------------------------\n1\n2\n...\n\n"
        );
        let s = print_banner(Time::from_millis(5), &[0u8; 0], 10);
        assert!(s.ends_with("Time: 5 ms\n-------------------------------------------\n\n"));
        // Records are written as Scala's toString writes them: ("a", 1) is (a,1).
        let s = print_banner(Time::from_millis(5), &[("a", 1)], 10);
        assert!(s.ends_with("-\n(a,1)\n\n"), "{s}");
    }

    #[test]
    fn batch_paths_follow_sparks_file_names() {
        let t = Time::from_millis(2000);
        assert_eq!(batch_path("out/wc", "", t), PathBuf::from("out/wc-2000"));
        assert_eq!(
            batch_path("out/wc", "txt", t),
            PathBuf::from("out/wc-2000.txt")
        );
    }
}

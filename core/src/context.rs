//! The entry point: [`Context`], like Spark's `SparkContext`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::accumulator::AccDecoder;
use crate::backend::Backend;
use crate::cluster::ClusterConfig;
use crate::error::{Error, Result};
use crate::executor::{Executor, LocalExecutor};
#[cfg(feature = "fault-injection")]
use crate::fault::{Fault, FaultInjector};
use crate::metrics::{JobMetrics, Listener, MetricsSnapshot, TaskMetrics};
use crate::rdd::{ParallelCollection, RangeRdd, RddMeta};
use crate::shuffle::ShuffleManager;
use crate::storage::BlockStore;
use crate::{Data, Dataset};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Settings of a [`Context`], fixed when it is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub app_name: String,
    pub threads: usize,
    pub default_parallelism: usize,
    /// Whether `default_parallelism` was set explicitly (Spark's `spark.default.parallelism`).
    pub parallelism_set: bool,
    pub memory: usize,
    pub shuffle_memory: usize,
    pub max_task_attempts: usize,
}

/// Builds a [`Context`]; every setting has a default.
///
/// # Examples
/// ```
/// let ctx = firesteel_core::Context::builder()
///     .threads(2)
///     .memory(64 << 20)
///     .build()
///     .unwrap();
/// assert_eq!(ctx.default_parallelism(), 2);
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ContextBuilder {
    app_name: String,
    threads: Option<usize>,
    default_parallelism: Option<usize>,
    memory: usize,
    shuffle_memory: usize,
    scratch_dir: Option<PathBuf>,
    max_task_attempts: usize,
    executor: Option<Arc<dyn Executor>>,
    cluster: Option<ClusterConfig>,
}

impl ContextBuilder {
    /// The default cache budget: 1 GiB.
    pub const DEFAULT_MEMORY: usize = 1 << 30;
    /// The default shuffle budget: 256 MiB.
    pub const DEFAULT_SHUFFLE_MEMORY: usize = 256 << 20;
    /// The default number of attempts per task, as Spark's `spark.task.maxFailures`.
    pub const DEFAULT_MAX_TASK_ATTEMPTS: usize = 4;

    /// The application name shown in metrics and debug output.
    ///
    /// ```
    /// let ctx = firesteel_core::Context::builder().app_name("nightly report").build().unwrap();
    /// assert_eq!(ctx.app_name(), "nightly report");
    /// ```
    pub fn app_name(mut self, name: impl Into<String>) -> Self {
        self.app_name = name.into();
        self
    }

    /// Worker threads of the local executor (default: available cores).
    ///
    /// ```
    /// let ctx = firesteel_core::Context::builder().threads(3).build().unwrap();
    /// assert_eq!((ctx.threads(), ctx.default_parallelism()), (3, 3));
    /// ```
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }

    /// Partitions of `parallelize`, `range` and shuffles when none is given (default: threads).
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::builder().threads(2).default_parallelism(6).build().unwrap();
    /// let pairs = ctx.parallelize(vec![('a', 1), ('b', 2), ('a', 3)], 2);
    /// assert_eq!(pairs.reduce_by_key(|a, b| a + b).num_partitions(), 6);
    /// ```
    pub fn default_parallelism(mut self, n: usize) -> Self {
        self.default_parallelism = Some(n);
        self
    }

    /// Cache budget in bytes: cached partitions beyond it evict least-recently-used blocks.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// // No room at all: cached partitions are not kept, and are recomputed when needed.
    /// let ctx = Context::builder().threads(2).memory(0).build().unwrap();
    /// let nums = ctx.parallelize((0..1000u64).collect(), 2).cache();
    /// assert_eq!(nums.count().unwrap(), 1000);
    /// assert_eq!(nums.cached_bytes(), 0);
    /// ```
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = bytes;
        self
    }

    /// Shuffle budget in bytes. A map or reduce task that buffers more than this spills sorted
    /// runs to disk, and map outputs kept in memory never total more than this.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::builder().threads(2).shuffle_memory(1 << 10).build().unwrap();
    /// let pairs = ctx.parallelize((0..10_000u32).map(|x| (x, x)).collect(), 2);
    /// assert_eq!(pairs.group_by_key().count().unwrap(), 10_000);
    /// assert!(ctx.metrics().totals.bytes_spilled > 0);
    /// ```
    pub fn shuffle_memory(mut self, bytes: usize) -> Self {
        self.shuffle_memory = bytes;
        self
    }

    /// Directory under which the context creates its scratch directory (default: the
    /// system temp dir). The scratch directory is removed when the context is dropped.
    ///
    /// ```
    /// let base = tempfile::tempdir().unwrap();
    /// let ctx = firesteel_core::Context::builder().scratch_dir(base.path()).build().unwrap();
    /// assert!(ctx.scratch_dir().starts_with(base.path()));
    /// ```
    pub fn scratch_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scratch_dir = Some(dir.into());
        self
    }

    /// Attempts per task before its job fails (default 4, as in Spark).
    ///
    /// ```
    /// use firesteel_core::{Context, Error};
    /// let ctx = Context::builder().threads(2).max_task_attempts(1).build().unwrap();
    /// let flaky = ctx.parallelize(vec![1, 2, 3], 3).try_map(|x| match x {
    ///     2 => Err(Error::task_failed("connection reset")),
    ///     x => Ok(x),
    /// });
    /// assert!(flaky.collect().is_err());
    /// assert_eq!(ctx.metrics().task_failures, 1);
    /// ```
    pub fn max_task_attempts(mut self, n: usize) -> Self {
        self.max_task_attempts = n;
        self
    }

    /// Runs stages on a custom [`Executor`] instead of the local rayon pool.
    pub fn executor(mut self, executor: Arc<dyn Executor>) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Runs this program as one process of a cluster (see [`ClusterConfig`]): every
    /// process runs the same program, owns the partitions `p` with `p % N == rank`, and
    /// sees the same action results. `build` connects to the peers. Needs the `cluster`
    /// feature.
    pub fn cluster(mut self, cfg: ClusterConfig) -> Self {
        self.cluster = Some(cfg);
        self
    }

    /// As [`cluster`](Self::cluster) with [`ClusterConfig::from_env`], when the environment
    /// describes a cluster (as `firesteel launch` does); otherwise unchanged.
    ///
    /// # Errors
    /// A malformed cluster environment.
    pub fn cluster_from_env(self) -> Result<Self> {
        Ok(match ClusterConfig::from_env()? {
            Some(cfg) => self.cluster(cfg),
            None => self,
        })
    }

    /// Builds the context.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::builder().threads(2).build().unwrap();
    /// assert_eq!(ctx.threads(), 2);
    /// assert!(Context::builder().threads(0).build().is_err());
    /// ```
    ///
    /// # Errors
    /// An invalid setting, a thread pool that cannot start, or a scratch directory that
    /// cannot be created.
    pub fn build(self) -> Result<Context> {
        if self.max_task_attempts == 0 {
            return Err(Error::InvalidArgument(
                "max_task_attempts must be at least 1".into(),
            ));
        }
        if self.threads == Some(0) || self.default_parallelism == Some(0) {
            return Err(Error::InvalidArgument(
                "threads and default_parallelism must be at least 1".into(),
            ));
        }
        let executor: Arc<dyn Executor> = match self.executor {
            Some(e) => e,
            None => Arc::new(LocalExecutor::new(self.threads)?),
        };
        let threads = executor.parallelism();
        let backend = match &self.cluster {
            Some(cfg) => Backend::Cluster(crate::cluster::start(cfg)?),
            None => Backend::Local,
        };
        let world = backend.world();
        let base = self.scratch_dir.unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&base).map_err(|e| Error::io("creating", &base, e))?;
        let scratch = tempfile::Builder::new()
            .prefix("firesteel-")
            .tempdir_in(&base)
            .map_err(|e| Error::io("creating scratch dir in", &base, e))?;
        let config = Config {
            app_name: self.app_name,
            threads,
            default_parallelism: self.default_parallelism.unwrap_or(threads * world),
            parallelism_set: self.default_parallelism.is_some(),
            memory: self.memory,
            shuffle_memory: self.shuffle_memory,
            max_task_attempts: self.max_task_attempts,
        };
        let blocks = BlockStore::new(config.memory, scratch.path().to_path_buf());
        Ok(Context {
            inner: Arc::new(ContextInner {
                config,
                executor,
                blocks,
                shuffles: ShuffleManager::new(),
                next_rdd: AtomicUsize::new(0),
                next_shuffle: AtomicUsize::new(0),
                next_job: AtomicUsize::new(0),
                next_stage: AtomicUsize::new(0),
                next_file: AtomicU64::new(0),
                next_accumulator: AtomicUsize::new(0),
                metrics: Mutex::new(MetricsState::default()),
                listeners: RwLock::new(Vec::new()),
                #[cfg(feature = "fault-injection")]
                faults: FaultInjector::default(),
                backend,
                job_groups: Default::default(),
                acc_decoders: Mutex::new(Default::default()),
                _scratch_registered: crate::io::Temporary::register(scratch.path()),
                scratch,
            }),
        })
    }
}

#[derive(Debug, Default)]
pub(crate) struct MetricsState {
    pub jobs_run: usize,
    pub jobs_failed: usize,
    pub stages_run: usize,
    pub task_failures: usize,
    pub totals: TaskMetrics,
    pub recent: VecDeque<JobMetrics>,
}

/// Shared state behind a [`Context`].
pub(crate) struct ContextInner {
    pub config: Config,
    pub executor: Arc<dyn Executor>,
    pub blocks: BlockStore,
    pub shuffles: ShuffleManager,
    next_rdd: AtomicUsize,
    next_shuffle: AtomicUsize,
    pub next_job: AtomicUsize,
    pub next_stage: AtomicUsize,
    next_file: AtomicU64,
    pub next_accumulator: AtomicUsize,
    pub metrics: Mutex<MetricsState>,
    pub listeners: RwLock<Vec<Arc<dyn Listener>>>,
    #[cfg(feature = "fault-injection")]
    pub faults: FaultInjector,
    /// Where jobs run: here, or across the processes of a cluster.
    pub backend: Backend,
    /// Each thread's job group, and the running jobs that can be cancelled.
    pub job_groups: crate::job_group::JobGroups,
    /// Cluster mode: how to decode a peer's update of each live accumulator.
    pub acc_decoders: Mutex<rustc_hash::FxHashMap<usize, AccDecoder>>,
    /// The scratch directory, for a signal handler to remove (`io::remove_temporaries`).
    _scratch_registered: crate::io::Temporary,
    scratch: tempfile::TempDir,
}

impl std::fmt::Debug for ContextInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("config", &self.config)
            .field("scratch", &self.scratch.path())
            .finish_non_exhaustive()
    }
}

impl ContextInner {
    pub(crate) fn new_rdd_id(&self) -> usize {
        self.next_rdd.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_shuffle_id(&self) -> usize {
        self.next_shuffle.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// A fresh file name in the scratch directory.
    pub(crate) fn new_scratch_file(&self, what: &str) -> PathBuf {
        let n = self.next_file.fetch_add(1, Ordering::Relaxed);
        self.scratch.path().join(format!("{what}-{n}"))
    }

    pub(crate) fn listeners(&self) -> Vec<Arc<dyn Listener>> {
        self.listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The entry point of a Firesteel program, like Spark's `SparkContext`: it owns the
/// executor, the block store, the shuffle outputs and the scratch directory, and creates
/// source datasets. Cloning is cheap and shares everything.
///
/// # Examples
/// ```
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let squares = ctx.parallelize((1..=4).collect::<Vec<u64>>(), 2).map(|x| x * x);
/// assert_eq!(squares.collect().unwrap(), vec![1, 4, 9, 16]);
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

impl Context {
    /// A builder with default settings.
    ///
    /// ```
    /// let ctx = firesteel_core::Context::builder().app_name("etl").threads(2).build().unwrap();
    /// assert_eq!((ctx.app_name(), ctx.threads()), ("etl", 2));
    /// ```
    pub fn builder() -> ContextBuilder {
        ContextBuilder {
            app_name: "firesteel".into(),
            threads: None,
            default_parallelism: None,
            memory: ContextBuilder::DEFAULT_MEMORY,
            shuffle_memory: ContextBuilder::DEFAULT_SHUFFLE_MEMORY,
            scratch_dir: None,
            max_task_attempts: ContextBuilder::DEFAULT_MAX_TASK_ATTEMPTS,
            executor: None,
            cluster: None,
        }
    }

    /// A context with `threads` worker threads and default settings (Spark's `local[n]`).
    ///
    /// ```
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// assert_eq!((ctx.threads(), ctx.default_parallelism(), ctx.app_name()), (2, 2, "firesteel"));
    /// ```
    ///
    /// # Errors
    /// As [`ContextBuilder::build`].
    pub fn local(threads: usize) -> Result<Context> {
        Context::builder().threads(threads).build()
    }

    /// Partitions used when an operation is given none.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// assert_eq!(Context::local(2).unwrap().default_parallelism(), 2);
    /// let ctx = Context::builder().threads(2).default_parallelism(8).build().unwrap();
    /// assert_eq!(ctx.default_parallelism(), 8);
    /// ```
    pub fn default_parallelism(&self) -> usize {
        self.inner.config.default_parallelism
    }

    /// Worker threads of the executor.
    ///
    /// ```
    /// assert_eq!(firesteel_core::Context::local(3).unwrap().threads(), 3);
    /// ```
    pub fn threads(&self) -> usize {
        self.inner.config.threads
    }

    /// This process's rank in its cluster (0 when running locally).
    ///
    /// ```
    /// firesteel_core::example(|ctx| assert_eq!(ctx.process_rank(), 0));
    /// ```
    pub fn process_rank(&self) -> usize {
        self.inner.backend.rank()
    }

    /// The number of processes running this program (1 when running locally).
    ///
    /// ```
    /// firesteel_core::example(|ctx| assert_eq!(ctx.num_processes(), 1));
    /// ```
    pub fn num_processes(&self) -> usize {
        self.inner.backend.world()
    }

    /// What rank 0 of a cluster decides, the same on every process: `decide` runs on
    /// rank 0 only and its value (or its error) reaches the others in a round of its own.
    /// Use it for what each process would otherwise see differently: a directory's
    /// listing, a broker's latest offsets, the wall clock. Every process must call it at
    /// the same point of the program; `label` names the decision, and processes that
    /// reach different decisions fail with a plan mismatch. Locally it is `decide()`.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::local(2).unwrap();
    /// let n: usize = ctx.agree("number of inputs", || Ok(3)).unwrap();
    /// assert_eq!(n, 3);
    /// ```
    ///
    /// # Errors
    /// The error of `decide` (on every process), or a failed round.
    pub fn agree<T: Serialize + DeserializeOwned>(
        &self,
        label: &str,
        decide: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        match &self.inner.backend {
            Backend::Local => decide(),
            Backend::Cluster(c) => {
                let bytes = c.agree(label, || {
                    decide().and_then(|v| postcard::to_stdvec(&v).map_err(Error::serde))
                })?;
                postcard::from_bytes(&bytes).map_err(Error::serde)
            }
        }
    }

    /// Fails on every process of a cluster, at once and alike, unless every process
    /// passes the same `fingerprint` of `what`: a hash of what a run depends on beyond
    /// its code (its arguments, the identity of its input files), so that processes
    /// started differently fail with [`Error::PlanMismatch`] instead of blending their
    /// results. Every process must call it at the same point of the program. Locally it
    /// checks nothing.
    ///
    /// ```
    /// use std::hash::{BuildHasher, BuildHasherDefault};
    /// use firesteel_core::Context;
    ///
    /// let args: Vec<String> = vec!["--k".into(), "3".into()];
    /// let fingerprint = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
    ///     .hash_one(&args);
    /// let ctx = Context::local(2).unwrap();
    /// ctx.ensure_same("job arguments", fingerprint).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::PlanMismatch`] naming each rank's fingerprint, or a failed round.
    pub fn ensure_same(&self, what: &str, fingerprint: u64) -> Result<()> {
        match &self.inner.backend {
            Backend::Local => Ok(()),
            Backend::Cluster(c) => c.all_same(what, fingerprint),
        }
    }

    /// The application name.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// assert_eq!(Context::local(1).unwrap().app_name(), "firesteel");
    /// let ctx = Context::builder().app_name("word count").build().unwrap();
    /// assert_eq!(ctx.app_name(), "word count");
    /// ```
    pub fn app_name(&self) -> &str {
        &self.inner.config.app_name
    }

    /// The scratch directory, removed when the last clone of the context is dropped.
    ///
    /// ```
    /// let ctx = firesteel_core::Context::local(1).unwrap();
    /// let dir = ctx.scratch_dir().to_path_buf();
    /// assert!(dir.is_dir());
    /// drop(ctx);
    /// assert!(!dir.exists());
    /// ```
    pub fn scratch_dir(&self) -> &Path {
        self.inner.scratch_dir()
    }

    /// Distributes a local collection over `num_slices` partitions (at least 1), slicing
    /// it into contiguous runs as Spark does.
    ///
    /// Records must be owned: a `Vec<&str>` is refused by the compiler (with an error about
    /// `Deserialize` not being general enough); make it a `Vec<String>`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![0, 2, 3, 4, 6], 5);
    ///     assert_eq!(d.glom().collect().unwrap(), vec![vec![0], vec![2], vec![3], vec![4], vec![6]]);
    ///     let d = ctx.parallelize(vec![0, 2, 4], 5);
    ///     assert_eq!(d.glom().collect().unwrap(), vec![vec![], vec![0], vec![], vec![2], vec![4]]);
    /// });
    /// ```
    pub fn parallelize<T: Data>(&self, data: Vec<T>, num_slices: usize) -> Dataset<T> {
        let n = num_slices.max(1);
        let len = data.len();
        let mut slices = Vec::with_capacity(n);
        let mut it = data.into_iter();
        for i in 0..n {
            let (start, end) = (i * len / n, (i + 1) * len / n);
            slices.push(Arc::new(it.by_ref().take(end - start).collect::<Vec<T>>()));
        }
        Dataset::from_rdd(
            self,
            Arc::new(ParallelCollection {
                meta: RddMeta::new(&self.inner, "parallelize"),
                slices,
            }),
        )
    }

    /// [`parallelize`](Self::parallelize) over the [default
    /// parallelism](Self::default_parallelism), as Spark's `parallelize(seq)` without
    /// `numSlices`.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::builder().threads(2).default_parallelism(3).build().unwrap();
    /// let d = ctx.parallelize_default(vec![1, 2, 3, 4, 5, 6]);
    /// assert_eq!(d.glom().collect().unwrap(), vec![vec![1, 2], vec![3, 4], vec![5, 6]]);
    /// let words = ctx.parallelize_default(["a", "b"].map(String::from).to_vec());
    /// assert_eq!(words.num_partitions(), 3);
    /// ```
    pub fn parallelize_default<T: Data>(&self, data: Vec<T>) -> Dataset<T> {
        self.parallelize(data, self.default_parallelism())
    }

    /// [`range`](Self::range) over the [default parallelism](Self::default_parallelism),
    /// as Spark's `range(start, end, step)` without `numSlices`.
    ///
    /// ```
    /// use firesteel_core::Context;
    /// let ctx = Context::builder().threads(2).default_parallelism(2).build().unwrap();
    /// let d = ctx.range_default(0, 6, 2).unwrap();
    /// assert_eq!(d.glom().collect().unwrap(), vec![vec![0], vec![2, 4]]);
    /// ```
    ///
    /// # Errors
    /// A zero step.
    pub fn range_default(&self, start: i64, end: i64, step: i64) -> Result<Dataset<i64>> {
        self.range(start, end, step, self.default_parallelism())
    }

    /// `start, start + step, ...` up to but excluding `end`, over `num_slices` partitions,
    /// as Spark's `range`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.range(0, 5, 1, 2).unwrap().collect().unwrap(), vec![0, 1, 2, 3, 4]);
    ///     assert_eq!(ctx.range(2, 4, 1, 2).unwrap().collect().unwrap(), vec![2, 3]);
    ///     assert_eq!(ctx.range(1, 7, 2, 2).unwrap().collect().unwrap(), vec![1, 3, 5]);
    ///     assert_eq!(ctx.range(5, 0, -2, 2).unwrap().collect().unwrap(), vec![5, 3, 1]);
    ///     assert!(ctx.range(0, 5, 0, 2).is_err());
    /// });
    /// ```
    ///
    /// # Errors
    /// A zero step.
    pub fn range(
        &self,
        start: i64,
        end: i64,
        step: i64,
        num_slices: usize,
    ) -> Result<Dataset<i64>> {
        if step == 0 {
            return Err(Error::InvalidArgument("range step cannot be 0".into()));
        }
        let count: u64 = if (step > 0 && end > start) || (step < 0 && end < start) {
            let span = (end as i128 - start as i128).unsigned_abs();
            span.div_ceil(step.unsigned_abs() as u128) as u64
        } else {
            0
        };
        let n = num_slices.max(1) as u64;
        let bounds = (0..=n)
            .map(|i| ((i as u128 * count as u128) / n as u128) as u64)
            .collect();
        Ok(Dataset::from_rdd(
            self,
            Arc::new(RangeRdd {
                meta: RddMeta::new(&self.inner, "range"),
                start,
                step,
                bounds,
            }),
        ))
    }

    /// Reads text files as lines without their terminators (`\n` or `\r\n`), as Spark's
    /// `textFile`.
    ///
    /// `path` may name a file, a directory (its files not starting with `_` or `.`, in
    /// name order), a glob (`*`, `?`, `[a-z]`, `{a,b}`), or a comma-separated list of
    /// these (see [`io::resolve_inputs`](crate::io::resolve_inputs)). Files ending in
    /// `.gz`, `.bz2` or `.zst` are decompressed ([`io::Codec`](crate::io::Codec)).
    ///
    /// Files are cut into byte ranges of at most 32 MiB, and into at least
    /// `min_partitions` ranges in total, which partitions read in parallel, as Hadoop
    /// input splits (a compressed file is one range). A line belongs to the range in which
    /// its first byte lies. Invalid UTF-8 fails the job with [`Error::Parse`] naming the
    /// file and line.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.txt"), "to be\r\nor not\n").unwrap();
    /// std::fs::write(dir.path().join("b.txt"), "to be").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let lines = ctx.text_file(dir.path().join("*.txt"), 2).unwrap();
    /// assert_eq!(lines.collect().unwrap(), ["to be", "or not", "to be"]);
    /// ```
    ///
    /// # Errors
    /// A path that does not exist, a glob that matches nothing, or a file that cannot be
    /// read.
    pub fn text_file(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Dataset<String>> {
        crate::io::parse_text_file(self, path.as_ref(), min_partitions, "text_file", |l, _| {
            Ok(Some(l.to_owned()))
        })
    }

    /// Reads text files as [`text_file`](Self::text_file) does, turning each line into at
    /// most one record with `parse` inside the tasks, without allocating a `String` per
    /// line. `parse` gets the line and its [`LineOrigin`](crate::io::LineOrigin), whose
    /// [`error`](crate::io::LineOrigin::error) names `path:line` (such an error fails the
    /// job at once, without retries); it returns `None` to skip a line.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("edges.txt");
    /// std::fs::write(&path, "# src dst\n1 2\n2 3\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let edges = ctx
    ///     .parse_text_file(&path, 2, |line, origin| {
    ///         if line.starts_with('#') {
    ///             return Ok(None);
    ///         }
    ///         let mut ids = line.split_whitespace().map(str::parse::<u32>);
    ///         match (ids.next(), ids.next()) {
    ///             (Some(Ok(s)), Some(Ok(d))) => Ok(Some((s, d))),
    ///             _ => Err(origin.error("expected two ids")),
    ///         }
    ///     })
    ///     .unwrap();
    /// assert_eq!(edges.collect().unwrap(), [(1, 2), (2, 3)]);
    /// ```
    ///
    /// # Errors
    /// As [`text_file`](Self::text_file).
    pub fn parse_text_file<T, F>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        parse: F,
    ) -> Result<Dataset<T>>
    where
        T: Data,
        F: Fn(&str, &crate::io::LineOrigin<'_>) -> Result<Option<T>> + Send + Sync + 'static,
    {
        crate::io::parse_text_file(
            self,
            path.as_ref(),
            min_partitions,
            "parse_text_file",
            parse,
        )
    }

    /// Reads text files as [`text_file`](Self::text_file) does, handing each partition's
    /// [`Lines`](crate::io::Lines) to `next`, which reads as many lines as it wants and
    /// returns one record (a block of parsed rows, say), or `None` when the partition has
    /// nothing more to give. It is called again until it returns `None`. A parser that
    /// builds blocks this way needs no record, and no allocation, per line.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("nums.txt");
    /// std::fs::write(&path, (1..=10).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// // Blocks of at most 4 numbers.
    /// let blocks = ctx
    ///     .read_text_chunks(&path, 1, |lines| {
    ///         let mut block = Vec::new();
    ///         while block.len() < 4 {
    ///             let Some(line) = lines.next_line() else { break };
    ///             let (text, origin) = line?;
    ///             block.push(text.parse::<u32>().map_err(|_| origin.error("not a number"))?);
    ///         }
    ///         Ok((!block.is_empty()).then_some(block))
    ///     })
    ///     .unwrap();
    /// assert_eq!(blocks.collect().unwrap(), [vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]);
    /// ```
    ///
    /// # Errors
    /// As [`text_file`](Self::text_file).
    pub fn read_text_chunks<T, F>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        next: F,
    ) -> Result<Dataset<T>>
    where
        T: Data,
        F: Fn(&mut crate::io::Lines) -> Result<Option<T>> + Send + Sync + 'static,
    {
        crate::io::read_text_chunks(self, path.as_ref(), min_partitions, next)
    }

    /// Reads each file whole, as `(path, contents)`, as Spark's `wholeTextFiles`: `path`
    /// as in [`text_file`](Self::text_file), compressed files decompressed, runs of files
    /// of about equal size in at most `min_partitions` partitions (at most one per file).
    /// The path in each record is the file's path as the input named it (Spark prefixes
    /// `file:`).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.txt"), "alpha\n").unwrap();
    /// std::fs::write(dir.path().join("b.txt"), "beta\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let files = ctx.whole_text_files(dir.path(), 2).unwrap().collect().unwrap();
    /// let names: Vec<_> = files.iter().map(|(p, text)| (&p[p.len() - 5..], text.as_str())).collect();
    /// assert_eq!(names, [("a.txt", "alpha\n"), ("b.txt", "beta\n")]);
    /// ```
    ///
    /// # Errors
    /// As [`text_file`](Self::text_file); invalid UTF-8 fails the job with
    /// [`Error::Parse`] naming the file and line.
    pub fn whole_text_files(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Dataset<(String, String)>> {
        crate::io::whole_text_files(self, path.as_ref(), min_partitions)
    }

    /// Reads each file whole as bytes, `(path, bytes)`, as Spark's `binaryFiles`
    /// (compressed files are not decompressed), partitioned as
    /// [`whole_text_files`](Self::whole_text_files).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("x.bin"), [0u8, 159, 255]).unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let files = ctx.binary_files(dir.path(), 1).unwrap().collect().unwrap();
    /// assert_eq!(files[0].1, [0u8, 159, 255]);
    /// ```
    ///
    /// # Errors
    /// As [`text_file`](Self::text_file).
    pub fn binary_files(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
    ) -> Result<Dataset<(String, Vec<u8>)>> {
        crate::io::binary_files(self, path.as_ref(), min_partitions)
    }

    /// A dataset read from a [`DataSource`](crate::io::DataSource): a database table, an
    /// object store, a file format. See the trait for an example.
    ///
    /// ```
    /// use firesteel_core::io::{DataSource, RecordBatches};
    ///
    /// // Ten digits, five per partition.
    /// struct Digits;
    ///
    /// impl DataSource<u8> for Digits {
    ///     fn name(&self) -> String {
    ///         "digits".into()
    ///     }
    ///     fn num_partitions(&self) -> usize {
    ///         2
    ///     }
    ///     fn read_partition(&self, p: usize) -> firesteel_core::Result<RecordBatches<u8>> {
    ///         let first = p as u8 * 5;
    ///         Ok(Box::new(std::iter::once(Ok((first..first + 5).collect()))))
    ///     }
    /// }
    ///
    /// firesteel_core::example(|ctx| {
    ///     let digits = ctx.read_source(Digits);
    ///     assert_eq!(digits.glom().collect().unwrap(), vec![vec![0, 1, 2, 3, 4], vec![5, 6, 7, 8, 9]]);
    /// });
    /// ```
    pub fn read_source<T: Data, S: crate::io::DataSource<T>>(&self, source: S) -> Dataset<T> {
        crate::io::read_source(self, source)
    }

    /// Registers a listener of scheduler events.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use firesteel_core::Listener;
    ///
    /// // Counts the jobs that start.
    /// #[derive(Default)]
    /// struct Jobs(AtomicUsize);
    ///
    /// impl Listener for Jobs {
    ///     fn on_job_start(&self, _job_id: usize, _name: &str) {
    ///         self.0.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// }
    ///
    /// firesteel_core::example(|ctx| {
    ///     let jobs = Arc::new(Jobs::default());
    ///     ctx.add_listener(jobs.clone());
    ///     assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    ///     assert_eq!(jobs.0.load(Ordering::Relaxed), 1);
    /// });
    /// ```
    pub fn add_listener(&self, listener: Arc<dyn Listener>) {
        self.inner
            .listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    /// A snapshot of the engine's metrics so far.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     assert_eq!(d.reduce_by_key(|a, b| a + b).count().unwrap(), 2);
    ///     let m = ctx.metrics();
    ///     assert_eq!((m.jobs_run, m.jobs_failed, m.stages_run), (1, 0, 2));
    /// });
    /// ```
    pub fn metrics(&self) -> MetricsSnapshot {
        let st = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        let (cache_memory_used, cached_blocks) = self.inner.blocks.usage();
        MetricsSnapshot {
            jobs_run: st.jobs_run,
            jobs_failed: st.jobs_failed,
            stages_run: st.stages_run,
            task_failures: st.task_failures,
            totals: st.totals,
            cache_memory_used,
            cached_blocks,
            recent_jobs: st.recent.iter().cloned().collect(),
        }
    }

    /// Metrics of the most recent job, if any ran.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert!(ctx.last_job_metrics().is_none());
    ///     assert_eq!(ctx.parallelize(vec![1, 2, 3], 3).count().unwrap(), 3);
    ///     let job = ctx.last_job_metrics().map(|j| (j.success, j.stages.len(), j.stages[0].tasks));
    ///     assert_eq!(job, Some((true, 1, 3)));
    /// });
    /// ```
    pub fn last_job_metrics(&self) -> Option<JobMetrics> {
        let st = self.inner.metrics.lock().unwrap_or_else(|e| e.into_inner());
        st.recent.back().cloned()
    }

    /// Injects a fault (testing only, with the `fault-injection` feature): see [`Fault`].
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, fault: Fault) {
        self.inner.faults.inject(fault, &self.inner);
    }

    /// Ids of live shuffles (testing only, with the `fault-injection` feature: a test
    /// names the shuffle whose output it deletes).
    #[cfg(feature = "fault-injection")]
    pub fn shuffle_ids(&self) -> Vec<usize> {
        self.inner.shuffles.shuffle_ids()
    }
}

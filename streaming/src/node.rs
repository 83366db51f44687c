//! The stream graph's nodes: each [`DStream`](crate::DStream) is a [`Node`] that computes
//! one dataset per batch time from its parents, remembers the datasets it generated for as
//! long as a window or a state needs them, persists and checkpoints them, as Spark's
//! `DStream` base class does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use firesteel_core::{Context, Data, Dataset, Error, Result, StorageLevel};

use crate::time::{ms, Time};

/// How long any stream with state waits between checkpoints, at least (Spark's 10 s).
const MIN_CHECKPOINT_MS: i64 = 10_000;

/// The computation of a node: the dataset for a batch time, or `None` when the node has no
/// data for that time.
pub(crate) type ComputeFn<T> = Box<dyn Fn(Time) -> Result<Option<Dataset<T>>> + Send + Sync>;

/// What every node has, whatever its record type.
pub(crate) struct NodeBase {
    pub id: usize,
    pub name: &'static str,
    pub slide_ms: i64,
    pub parents: Vec<Arc<dyn AnyNode>>,
    /// How much longer than this node the parents must remember (a window's length).
    pub parent_extra_remember_ms: i64,
    /// Whether the node carries state from batch to batch and must be checkpointed.
    pub must_checkpoint: bool,
    /// A problem found while building the node, reported when the context starts.
    pub invalid: Option<String>,
    pub(crate) mutable: Mutex<Mutable>,
}

#[derive(Default)]
pub(crate) struct Mutable {
    pub zero: Option<Time>,
    pub remember_ms: Option<i64>,
    pub checkpoint_ms: Option<i64>,
    pub storage: Option<StorageLevel>,
    pub checkpoint_dir: Option<PathBuf>,
}

impl NodeBase {
    pub fn new(
        id: usize,
        name: &'static str,
        slide_ms: i64,
        parents: Vec<Arc<dyn AnyNode>>,
    ) -> NodeBase {
        NodeBase {
            id,
            name,
            slide_ms,
            parents,
            parent_extra_remember_ms: 0,
            must_checkpoint: false,
            invalid: None,
            mutable: Mutex::new(Mutable::default()),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Mutable> {
        self.mutable.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn zero(&self) -> Option<Time> {
        self.lock().zero
    }

    /// Whether a batch at `time` belongs to this node: after the zero time, on the slide.
    pub fn is_time_valid(&self, time: Time) -> bool {
        match self.zero() {
            Some(zero) => time > zero && (time.millis() - zero.millis()) % self.slide_ms == 0,
            None => false,
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} (stream {}, slide {})",
            self.name,
            self.id,
            ms(self.slide_ms)
        )
    }
}

/// A node seen without its record type: what the graph does to every node.
pub(crate) trait AnyNode: Send + Sync {
    fn base(&self) -> &NodeBase;

    /// Drops the datasets generated more than the remember duration before `time` (and
    /// their cached blocks), here and in every ancestor.
    fn clear_metadata(&self, time: Time);

    /// Drops every generated dataset and its cached blocks (checkpoint files stay, for a
    /// restart), here and in every ancestor: the context has stopped.
    fn release(&self);

    /// Sets the zero time (the time before the first batch), the default remember duration
    /// and checkpoint interval, here and in every ancestor.
    fn initialize(&self, zero: Time, checkpoint_dir: Option<&PathBuf>) -> Result<()> {
        let base = self.base();
        {
            let mut m = base.lock();
            if let Some(z) = m.zero {
                if z != zero {
                    return Err(Error::InvalidArgument(format!(
                        "{} was already started at {z}",
                        base.describe()
                    )));
                }
            } else {
                m.zero = Some(zero);
                if base.must_checkpoint && m.checkpoint_ms.is_none() {
                    // Spark: the smallest multiple of the slide that is at least 10 s.
                    let n = (MIN_CHECKPOINT_MS + base.slide_ms - 1) / base.slide_ms;
                    m.checkpoint_ms = Some(base.slide_ms * n.max(1));
                }
                let mut remember = m.remember_ms.unwrap_or(base.slide_ms);
                if let Some(c) = m.checkpoint_ms {
                    remember = remember.max(2 * c);
                }
                m.remember_ms = Some(remember);
                m.checkpoint_dir = checkpoint_dir.cloned();
            }
        }
        for p in &base.parents {
            p.initialize(zero, checkpoint_dir)?;
        }
        Ok(())
    }

    /// Makes the node remember generated datasets for at least `duration_ms`, and its
    /// parents for as long as this node needs them.
    fn remember(&self, duration_ms: Option<i64>) {
        let base = self.base();
        let parent_ms = {
            let mut m = base.lock();
            if let Some(d) = duration_ms {
                if m.remember_ms.is_none_or(|r| d > r) {
                    m.remember_ms = Some(d);
                }
            }
            m.remember_ms.map(|r| r + base.parent_extra_remember_ms)
        };
        for p in &base.parents {
            p.remember(parent_ms);
        }
    }

    /// Loads the newest complete checkpoint of this node at or before `upto` from an
    /// earlier run, and returns its time.
    fn restore_checkpoint(&self, ctx: &Context, upto: Time) -> Result<Option<Time>>;

    /// Computes (lazily) this node's dataset for `time`, to rebuild state after a restart.
    fn recompute(&self, time: Time) -> Result<()>;

    /// The graph's problems at start: invalid nodes, and checkpointing without a directory.
    fn validate(&self) -> Result<()> {
        let base = self.base();
        if let Some(why) = &base.invalid {
            return Err(Error::InvalidArgument(format!("{}: {why}", base.name)));
        }
        {
            let m = base.lock();
            if m.checkpoint_ms.is_some() && m.checkpoint_dir.is_none() {
                return Err(Error::InvalidArgument(format!(
                    "{} needs checkpoints (it keeps state from batch to batch) but the \
                     checkpoint directory has not been set: call StreamingContext::checkpoint",
                    base.describe()
                )));
            }
        }
        for p in &base.parents {
            p.validate()?;
        }
        Ok(())
    }
}

/// Every node from `node` up, each once, parents first.
pub(crate) fn collect(node: Arc<dyn AnyNode>, out: &mut Vec<Arc<dyn AnyNode>>) {
    if out.iter().any(|n| n.base().id == node.base().id) {
        return;
    }
    for p in &node.base().parents {
        collect(p.clone(), out);
    }
    out.push(node);
}

/// A line describing a node for the graph signature: what it is and what feeds it.
pub(crate) fn signature(node: &dyn AnyNode) -> String {
    let b = node.base();
    let m = b.lock();
    let parents: Vec<String> = b.parents.iter().map(|p| p.base().id.to_string()).collect();
    format!(
        "stream {} {} slide {} parents [{}] window {} checkpoint {:?}",
        b.id,
        b.name,
        b.slide_ms,
        parents.join(","),
        b.parent_extra_remember_ms,
        m.checkpoint_ms
    )
}

/// A node producing datasets of `T`.
pub(crate) struct Node<T> {
    pub base: NodeBase,
    pub compute: ComputeFn<T>,
    pub generated: Mutex<BTreeMap<Time, Dataset<T>>>,
}

impl<T: Data> Node<T> {
    pub fn new(base: NodeBase, compute: ComputeFn<T>) -> Node<T> {
        Node {
            base,
            compute,
            generated: Mutex::new(BTreeMap::new()),
        }
    }

    fn generated(&self) -> std::sync::MutexGuard<'_, BTreeMap<Time, Dataset<T>>> {
        self.generated.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The dataset for `time`: remembered, or computed now (then persisted at the node's
    /// storage level and checkpointed when the time is on the checkpoint interval), or
    /// `None` when `time` is not one of this node's batch times.
    pub fn get_or_compute(&self, time: Time) -> Result<Option<Dataset<T>>> {
        if let Some(ds) = self.generated().get(&time) {
            return Ok(Some(ds.clone()));
        }
        if !self.base.is_time_valid(time) {
            return Ok(None);
        }
        // The lock is not held while computing: a stateful node asks for its own previous
        // batch.
        let Some(mut ds) = (self.compute)(time)? else {
            return Ok(None);
        };
        let (storage, checkpoint) = {
            let m = self.base.lock();
            let zero = m.zero.unwrap_or(Time::from_millis(0));
            let due = m
                .checkpoint_ms
                .filter(|c| (time.millis() - zero.millis()) % c == 0);
            (m.storage, due.and(m.checkpoint_dir.clone()))
        };
        if let Some(level) = storage {
            ds = ds.persist(level);
        }
        if let Some(dir) = checkpoint {
            let target = dir.join(self.checkpoint_name(time));
            if target.exists() {
                std::fs::remove_dir_all(&target).map_err(|e| Error::io("removing", &target, e))?;
            }
            let cut = ds.checkpoint_to(&target)?;
            let _ = ds.unpersist();
            ds = match storage {
                Some(level) => cut.persist(level),
                None => cut,
            };
            tracing::debug!(stream = self.base.id, %time, "checkpointed");
        }
        self.generated().insert(time, ds.clone());
        Ok(Some(ds))
    }

    fn checkpoint_name(&self, time: Time) -> String {
        checkpoint_name(self.base.id, time)
    }

    /// The datasets of every batch time of this node in `[from, to]`, as Spark's `slice`.
    pub fn slice(&self, from: Time, to: Time) -> Result<Vec<Dataset<T>>> {
        let Some(zero) = self.base.zero() else {
            return Err(Error::InvalidArgument(format!(
                "{} has not been started, so it has no batches to slice",
                self.base.describe()
            )));
        };
        let slide = self.base.slide_ms;
        // Align `from` up and `to` down to the node's batch times.
        let first =
            zero.millis() + (from.millis() - zero.millis() + slide - 1).div_euclid(slide) * slide;
        let last = zero.millis() + (to.millis() - zero.millis()).div_euclid(slide) * slide;
        let mut out = Vec::new();
        let mut t = first;
        while t <= last {
            if let Some(ds) = self.get_or_compute(Time::from_millis(t))? {
                out.push(ds);
            }
            t += slide;
        }
        Ok(out)
    }
}

impl<T: Data> AnyNode for Node<T> {
    fn base(&self) -> &NodeBase {
        &self.base
    }

    fn clear_metadata(&self, time: Time) {
        let (remember, dir) = {
            let m = self.base.lock();
            (
                m.remember_ms.unwrap_or(self.base.slide_ms),
                m.checkpoint_dir.clone(),
            )
        };
        let horizon = time.minus(remember);
        let old: Vec<(Time, Dataset<T>)> = {
            let mut g = self.generated();
            let keep = g.split_off(&horizon.plus(1));
            std::mem::replace(&mut *g, keep).into_iter().collect()
        };
        for (t, ds) in old {
            let _ = ds.unpersist();
            if let Some(dir) = &dir {
                let files = dir.join(self.checkpoint_name(t));
                if files.exists() {
                    // A checkpoint older than the remembered batches is never read again.
                    let _ = std::fs::remove_dir_all(files);
                }
            }
        }
        for p in &self.base.parents {
            p.clear_metadata(time);
        }
    }

    fn release(&self) {
        let all = std::mem::take(&mut *self.generated());
        for ds in all.into_values() {
            let _ = ds.unpersist();
        }
        for p in &self.base.parents {
            p.release();
        }
    }

    fn restore_checkpoint(&self, ctx: &Context, upto: Time) -> Result<Option<Time>> {
        let (dir, storage) = {
            let m = self.base.lock();
            (m.checkpoint_dir.clone(), m.storage)
        };
        let Some(dir) = dir else { return Ok(None) };
        let prefix = format!("rdd-{}-", self.base.id);
        let mut best: Option<Time> = None;
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io("listing", &dir, e))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(ms) = name
                .strip_prefix(&prefix)
                .and_then(|m| m.parse::<i64>().ok())
            else {
                continue;
            };
            let t = Time::from_millis(ms);
            if t <= upto && e.path().join("_SUCCESS").exists() && best.is_none_or(|b| t > b) {
                best = Some(t);
            }
        }
        if let Some(t) = best {
            let ds: Dataset<T> = ctx.read_checkpoint(dir.join(checkpoint_name(self.base.id, t)))?;
            let ds = match storage {
                Some(level) => ds.persist(level),
                None => ds,
            };
            self.generated().insert(t, ds);
        }
        Ok(best)
    }

    fn recompute(&self, time: Time) -> Result<()> {
        self.get_or_compute(time).map(|_| ())
    }
}

fn checkpoint_name(id: usize, time: Time) -> String {
    format!("rdd-{id}-{}", time.millis())
}

/// An output operation: at each batch, the job that sends the batch's data somewhere.
pub(crate) trait OutputOp: Send + Sync {
    fn node(&self) -> Arc<dyn AnyNode>;

    /// The job for `time`, or `None` when the stream has no data for it.
    fn generate_job(&self, time: Time) -> Result<Option<Box<dyn FnOnce() -> Result<()> + Send>>>;
}

/// `foreach_rdd`: runs a function on each batch's dataset.
pub(crate) struct ForEach<T> {
    pub parent: Arc<Node<T>>,
    pub f: Arc<dyn Fn(&Dataset<T>, Time) -> Result<()> + Send + Sync>,
}

impl<T: Data> OutputOp for ForEach<T> {
    fn node(&self) -> Arc<dyn AnyNode> {
        self.parent.clone()
    }

    fn generate_job(&self, time: Time) -> Result<Option<Box<dyn FnOnce() -> Result<()> + Send>>> {
        let Some(ds) = self.parent.get_or_compute(time)? else {
            return Ok(None);
        };
        let f = self.f.clone();
        Ok(Some(Box::new(move || f(&ds, time))))
    }
}

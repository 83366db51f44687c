//! # firesteel-core
//!
//! Firesteel's engine: RDD-style partitioned datasets with lazy lineage, in the spirit of
//! Apache Spark. An action builds a DAG that is split into stages at shuffle boundaries;
//! each stage runs one task per partition on the [`Executor`], with narrow transformations
//! fused within the task. Shuffles combine map-side, are partitioner-aware (co-partitioned
//! joins do not reshuffle) and spill past their budget. Persisted datasets live in a block
//! store with a memory budget, LRU eviction and spill to disk; lost partitions are
//! recomputed from lineage and failed tasks are retried.
//!
//! See `core/DESIGN.md` for how the pieces fit together.
//!
//! ## Modules
//! - the API: [`Context`] (`context`), [`Dataset`] (`dataset`, pair operations in `pair`),
//!   [`Broadcast`] and [`Accumulator`] (`accumulator`), [`partitioner`], [`StorageLevel`]
//!   (`storage`, the block store), [`metrics`] and listeners, statistics of numbers
//!   ([`StatCounter`], `stats`);
//! - [`io`]: data in and out: input paths and globs, compression codecs, text files read
//!   in parallel with each line's origin, CSV and JSON lines as typed records (with Spark's
//!   parse modes), whole files, part-file outputs, and the
//!   [`DataSource`](io::DataSource) / [`DataSink`](io::DataSink) seam for other systems;
//! - `checkpoint_files`: the manifest of a checkpoint directory (each part's length and
//!   CRC-32), verified before the checkpoint is read;
//! - planning and running: lineage nodes (`rdd`, `batch`, `lineage`), the stage walk
//!   (`scheduler`), the seam to where tasks run (`backend`), the thread pool that runs them
//!   ([`executor`]);
//! - `shuffle`: map-side bucketing and combining, spill, the shuffle manager, reduce-side
//!   reads, external aggregation and sorting;
//! - `cluster`: cluster mode over timely-dataflow ([`ClusterConfig`]; the `cluster`
//!   feature);
//! - `java_hash`: Java's and Scala's hash codes ([`JavaHash`](partitioner::JavaHash)) for
//!   [`JavaHashPartitioner`]; `xorshift`: Spark's `XORShiftRandom`, where `repartition`
//!   starts dealing;
//! - `ser`, `sizeof`: the record format and size estimates; `fault`: fault injection for
//!   tests (the `fault-injection` feature).
//!
//! ## Features
//! - `cluster`: cluster mode (timely-dataflow), off by default;
//! - `fault-injection`: `Context::inject_fault`, for tests of retry and recovery;
//! - `compression`: `.gz`, `.bz2` and `.zst` inputs and outputs, on by default;
//! - `csv`: CSV files as typed records (`Context::read_csv`, `Dataset::save_as_csv`, with
//!   the `csv` crate), on by default;
//! - `json`: JSON lines as typed records (`Context::read_json`, `Dataset::save_as_json`,
//!   with `serde_json`), on by default.
//!
//! ```
//! use firesteel_core::Context;
//!
//! let ctx = Context::local(2).unwrap();
//! let nums = ctx.parallelize((1..=100u64).collect(), 4).cache();
//! let evens = nums.filter(|x| x % 2 == 0).count().unwrap();
//! let sum = nums.map(|x| x * 2).reduce(|a, b| a + b).unwrap();
//! assert_eq!((evens, sum), (50, 10100));
//! ```

mod accumulator;
mod approx;
mod backend;
mod batch;
mod checkpoint_files;
mod cluster;
mod cogroup;
mod context;
mod dataset;
mod error;
pub mod executor;
#[cfg(feature = "fault-injection")]
pub mod fault;
mod histogram;
pub mod io;
mod java_hash;
mod job_group;
mod lineage;
mod local_iter;
pub mod metrics;
mod ordering;
mod pair;
mod partial;
pub mod partitioner;
mod pipe;
mod rdd;
mod sampling;
mod scheduler;
mod ser;
mod set_ops;
mod shuffle;
mod sizeof;
mod stats;
mod storage;
mod xorshift;

pub use accumulator::{Accumulator, Broadcast};
pub use cluster::ClusterConfig;
pub use context::{Context, ContextBuilder};
pub use dataset::Dataset;
pub use error::{Error, Result};
pub use executor::{Executor, LocalExecutor};
pub use local_iter::LocalIterator;
pub use metrics::{Listener, MetricsSnapshot};
pub use pair::IntoPartitioner;
pub use partial::{BoundedDouble, PartialResult};
pub use partitioner::{
    HashPartitioner, JavaHashPartitioner, ModPartitioner, Partitioner, RangePartitioner,
};
pub use rdd::Records;
/// serde, which record types implement (see [`Data`]).
pub use serde;
pub use stats::StatCounter;
pub use storage::StorageLevel;

/// What a dataset's records must be: shareable across threads, cloneable, and
/// serializable (for spill files, serialized caching, checkpoints and the cluster backend).
///
/// Every type with those traits is `Data`. For a record type of your own, derive serde's
/// `Serialize` and `Deserialize` (re-exported as `firesteel_core::serde`). Borrowed
/// records such as `&str` are not `Data`: use `String`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a dataset record",
    label = "not `Data`",
    note = "a record must be `Clone + Send + Sync + 'static` and implement serde's `Serialize` \
            and `DeserializeOwned`: derive them (serde is re-exported as `firesteel::serde`), \
            and use owned types (`String`, not `&str`)"
)]
pub trait Data:
    Send + Sync + Clone + serde::Serialize + serde::de::DeserializeOwned + 'static
{
}

impl<T> Data for T where
    T: Send + Sync + Clone + serde::Serialize + serde::de::DeserializeOwned + 'static
{
}

/// Runs `f` with a small local context, for examples and doctests.
///
/// # Panics
/// If the context cannot be built.
pub fn example<R>(f: impl FnOnce(&Context) -> R) -> R {
    let ctx = Context::builder()
        .threads(2)
        .build()
        .expect("building an example context");
    f(&ctx)
}

//! Shuffles: map-side bucketing with optional combine, map outputs held in memory up to the
//! shuffle budget and spilled to disk beyond it, and reduce-side aggregation and sorting
//! that spill sorted runs and merge them on read.
//!
//! - [`aggregate`]: how values of a key combine (Spark's `Aggregator`);
//! - [`dependency`]: the shuffle dependency and its map task;
//! - [`write`]: a map task's output, in memory or spilled;
//! - [`manager`]: every live shuffle's outputs, and their serialized form for other processes;
//! - [`read`]: a reduce partition's read over all map outputs;
//! - [`external`]: reduce-side aggregation and sorting that spill and merge;
//! - [`nodes`]: the lineage nodes that read shuffles.

mod aggregate;
mod dependency;
mod external;
mod manager;
mod nodes;
mod read;
mod write;

pub(crate) use aggregate::{Aggregator, FnAggregator, NoCombine};
pub(crate) use dependency::{ShuffleDepBase, ShuffleDependency};
pub(crate) use external::{external_sort, ExternalMap};
pub(crate) use manager::{SerializedBucket, ShuffleManager};
pub(crate) use nodes::{CoGroupSide, CoGroupedRdd, JoinedRdd, PlainShuffledRdd, ShuffledRdd};

//! # firesteel-graphx
//!
//! Property graphs on Firesteel datasets, in the spirit of Apache Spark's GraphX: a
//! [`Graph<VD, ED>`] holds vertices (`(VertexId, VD)`) and edges ([`Edge<ED>`]), with
//! GraphX's operators ([`Graph::aggregate_messages`], [`Graph::pregel`], joins, subgraphs,
//! ...) and algorithms ([`algorithms`]: PageRank, connected components, SCC, triangle count,
//! label propagation, shortest paths).
//!
//! ## Modules
//! - `graph`: [`Graph`], its operators and triplets; `partition`: edge partitions (CSR),
//!   routing tables and [`PartitionStrategy`];
//! - [`algorithms`]: one file per algorithm family (PageRank, components, triangles, label
//!   propagation, shortest paths, Pregel), their parameter types, and the dense loops;
//! - `loader`: GraphX's `edgeListFile`; [`rmat`]: R-MAT graph generation; `petgraph_interop`
//!   (the `petgraph` feature, on by default): conversion to and from petgraph;
//! - `error`: [`GraphError`].
//!
//! ## Layout
//! Edges live in cached **edge partitions** (one record per dataset partition, behind an
//! `Arc`), each a compact local CSR over local vertex ids with a local→global index, as
//! GraphX's `EdgePartition`. Vertices live in cached **vertex partitions**, hash partitioned
//! by id, each with a **routing table**: for every edge partition, the vertices it
//! references, in the order in which that edge partition numbers them. Shipping vertex
//! attributes to edges therefore needs no hashing and no id lookups: each vertex partition
//! sends every edge partition exactly the attributes it needs (only sources or only
//! destinations when the [`TripletFields`] hint says so), and messages come back as
//! positions in those same lists. The edge structure and routing are built once and reused
//! by every superstep; only vertex attributes and messages move per iteration.
//!
//! ## Iterations and lineage
//! Iterative operators ([`Graph::pregel`] and the algorithms) compute each superstep's
//! vertices in one job and then truncate their lineage in memory ([`Graph::localize`], as
//! Spark's `localCheckpoint`), so that neither recomputation nor shuffle outputs pile up
//! along a growing lineage. [`Graph::with_checkpoint_interval`] additionally writes them
//! to the scratch directory every so many supersteps, as GraphX's `checkpointInterval`.
//!
//! ## Algorithms and dense loops
//! [`algorithms`] holds one file per algorithm family (PageRank, components, triangles,
//! label propagation, shortest paths) plus Pregel, each with a configuration that checks
//! GraphX's parameter rules and returns [`GraphError::InvalidParameter`] for a broken one.
//! Static PageRank ([`algorithms::page_rank`], [`algorithms::personalized_page_rank`]) and
//! [`algorithms::connected_components`] run dense loops over the same cached partitions
//! and routing tables, moving only dense arrays (the machinery they share is
//! `algorithms/dense.rs`: edge jobs and vertex jobs over the routing tables). Connected
//! components runs, per superstep, one engine job over the edge partitions (labels gathered
//! through the routing table, a CSR scan) and one over the vertex partitions (combine and
//! update). PageRank first cuts the edge partitions' in-edges by destination vertex
//! partition, once; then each iteration is one job over the vertex partitions. They compute
//! the same supersteps as the message-passing versions
//! ([`algorithms::static_page_rank_message_passing`],
//! [`algorithms::connected_components_pregel`]), which the tests compare them with
//! (PageRank bit for bit: both PageRanks call the same functions for the start ranks, the
//! update with its reset term, the edge weights and the normalization).
//!
//! ```
//! use firesteel_graphx::{algorithms, Graph};
//!
//! let ctx = firesteel_core::Context::local(2).unwrap();
//! let pairs = ctx.parallelize(vec![(1, 2), (2, 3), (3, 1), (4, 5)], 2);
//! let g = Graph::from_edge_tuples(&pairs, 0u8, None);
//! let mut cc = algorithms::connected_components(&g, None).unwrap().vertices().collect().unwrap();
//! cc.sort();
//! assert_eq!(cc, vec![(1, 1), (2, 1), (3, 1), (4, 4), (5, 4)]);
//! ```

pub mod algorithms;
mod error;
mod graph;
mod loader;
mod partition;
#[cfg(feature = "petgraph")]
mod petgraph_interop;
pub mod rmat;

pub use error::{GraphError, Result};
pub use graph::{EdgeContext, Graph, Triplet};
pub use loader::{edge_list_dataset, edge_list_file, parse_edge_line, EdgeListOptions};
pub use partition::PartitionStrategy;

use serde::{Deserialize, Serialize};

/// A vertex identifier (GraphX's `VertexId`, a 64-bit integer).
pub type VertexId = u64;

/// A directed edge with an attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Edge<ED> {
    /// The source vertex.
    pub src_id: VertexId,
    /// The destination vertex.
    pub dst_id: VertexId,
    /// The edge's attribute.
    pub attr: ED,
}

impl<ED> Edge<ED> {
    /// An edge from `src_id` to `dst_id`.
    pub fn new(src_id: VertexId, dst_id: VertexId, attr: ED) -> Self {
        Edge {
            src_id,
            dst_id,
            attr,
        }
    }
}

/// An edge with the attributes of both of its vertices (GraphX's `EdgeTriplet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeTriplet<VD, ED> {
    /// The source vertex.
    pub src_id: VertexId,
    /// The destination vertex.
    pub dst_id: VertexId,
    /// The source vertex's attribute.
    pub src_attr: VD,
    /// The destination vertex's attribute.
    pub dst_attr: VD,
    /// The edge's attribute.
    pub attr: ED,
}

/// A direction relative to a vertex, as GraphX's `EdgeDirection`.
///
/// In [`Graph::pregel`] it says which edges of active vertices send: `Out` (the source
/// received a message last superstep), `In` (the destination did), `Either` or `Both`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EdgeDirection {
    /// Edges arriving at a vertex.
    In,
    /// Edges leaving a vertex.
    Out,
    /// Edges arriving or leaving.
    Either,
    /// Edges whose both ends qualify.
    Both,
}

/// Which vertex attributes an edge function reads, as GraphX's `TripletFields`. Only those
/// attributes are shipped to the edge partitions; reading another one panics (GraphX reads
/// `null` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TripletFields {
    /// No vertex attribute (only ids and the edge attribute).
    None,
    /// The source's attribute.
    Src,
    /// The destination's attribute.
    Dst,
    /// Both attributes.
    All,
}

impl TripletFields {
    pub(crate) fn src(self) -> bool {
        matches!(self, TripletFields::Src | TripletFields::All)
    }
    pub(crate) fn dst(self) -> bool {
        matches!(self, TripletFields::Dst | TripletFields::All)
    }
}

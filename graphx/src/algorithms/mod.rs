//! GraphX's graph algorithms, written on the [`Graph`](crate::Graph) API, with GraphX's
//! semantics and GraphX's parameter rules (checked by a configuration per algorithm, which
//! reports a broken rule as
//! [`GraphError::InvalidParameter`](crate::GraphError::InvalidParameter)).
//!
//! One file per family:
//! - `pagerank.rs`: [`page_rank`] (static), [`dynamic_page_rank`] (until convergence),
//!   [`personalized_page_rank`] and [`dynamic_personalized_page_rank`] (one source),
//!   [`parallel_personalized_page_rank`] (many sources at once), all configured by
//!   [`PageRankConfig`]; static PageRank's pull loop and its message-passing reference,
//!   [`static_page_rank_message_passing`];
//! - `components.rs`: [`connected_components`] (a dense loop; its Pregel reference is
//!   [`connected_components_pregel`]) and [`strongly_connected_components`], configured by
//!   [`ConnectedComponentsConfig`] and [`StronglyConnectedComponentsConfig`];
//! - `triangles.rs`: [`triangle_count`];
//! - `label_propagation.rs`: [`label_propagation()`], [`LabelPropagationConfig`];
//! - `shortest_paths.rs`: [`shortest_paths()`], [`ShortestPathsConfig`];
//! - `pregel.rs`: [`Graph::pregel`](crate::Graph::pregel), GraphX's Pregel, on which the
//!   message-passing versions are written;
//! - `dense.rs`: what the dense loops of PageRank and connected components share: dense
//!   arrays of plain numbers, and jobs over the edge and vertex partitions that move them
//!   through the routing tables.

mod components;
mod dense;
mod label_propagation;
mod pagerank;
mod pregel;
mod shortest_paths;
mod triangles;

use std::collections::BTreeMap;

use firesteel_core::{Data, Dataset};

use crate::{Result, VertexId};

pub use components::{
    connected_components, connected_components_pregel, strongly_connected_components,
    ConnectedComponentsConfig, StronglyConnectedComponentsConfig,
};
pub use label_propagation::{label_propagation, LabelPropagationConfig};
pub use pagerank::{
    dynamic_page_rank, dynamic_personalized_page_rank, page_rank, parallel_personalized_page_rank,
    personalized_page_rank, static_page_rank_message_passing, PageRankConfig, PageRankStop,
    RESET_PROB,
};
pub use shortest_paths::{shortest_paths, ShortestPathMap, ShortestPathsConfig};
pub use triangles::triangle_count;

/// The vertices of a graph as a map, for tests and small graphs.
pub fn collect_vertices<VD: Data>(
    vertices: &Dataset<(VertexId, VD)>,
) -> Result<BTreeMap<VertexId, VD>> {
    Ok(vertices.collect()?.into_iter().collect())
}

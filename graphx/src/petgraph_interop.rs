//! Conversion to and from `petgraph` graphs (the `petgraph` feature, on by default).

use firesteel_core::{Context, Data};
use petgraph::visit::EdgeRef;

use crate::{Edge, Graph, Result, VertexId};

impl<VD: Data, ED: Data> Graph<VD, ED> {
    /// A graph from a `petgraph` graph: vertex ids are node indices, and edges keep their
    /// weights. Edges are spread over `num_partitions` partitions.
    pub fn from_petgraph<Ty: petgraph::EdgeType, Ix: petgraph::graph::IndexType>(
        ctx: &Context,
        g: &petgraph::Graph<VD, ED, Ty, Ix>,
        num_partitions: usize,
    ) -> Self {
        let verts: Vec<(VertexId, VD)> = g
            .node_indices()
            .map(|i| (i.index() as VertexId, g[i].clone()))
            .collect();
        let edges: Vec<Edge<ED>> = g
            .edge_references()
            .map(|e| {
                Edge::new(
                    e.source().index() as VertexId,
                    e.target().index() as VertexId,
                    e.weight().clone(),
                )
            })
            .collect();
        let n = num_partitions.max(1);
        Graph::build(
            Some(ctx.parallelize(verts, n)),
            ctx.parallelize(edges, n).glom(),
            None,
            0,
        )
    }

    /// Collects the graph into a directed `petgraph` graph whose node weights are
    /// `(vertex id, attribute)`, nodes in increasing id order.
    pub fn to_petgraph(&self) -> Result<petgraph::Graph<(VertexId, VD), ED>> {
        let mut verts = self.vertices().collect()?;
        verts.sort_by_key(|v| v.0);
        let mut g = petgraph::Graph::with_capacity(verts.len(), 0);
        let mut index = std::collections::HashMap::with_capacity(verts.len());
        for (id, a) in verts {
            index.insert(id, g.add_node((id, a)));
        }
        for e in self.edges().collect()? {
            g.add_edge(index[&e.src_id], index[&e.dst_id], e.attr);
        }
        Ok(g)
    }
}

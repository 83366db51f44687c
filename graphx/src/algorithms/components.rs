//! Components, as GraphX's `ConnectedComponents` ([`connected_components`], configured by
//! [`ConnectedComponentsConfig`]) and `StronglyConnectedComponents`
//! ([`strongly_connected_components`], [`StronglyConnectedComponentsConfig`]).
//!
//! Connected components runs a dense loop over the graph's own partitions (see
//! [`super::dense`]): per superstep, one engine job over the edge partitions (labels
//! gathered through the routing table, a CSR scan) and one over the vertex partitions
//! (combine and update). It performs the supersteps of the Pregel version,
//! [`connected_components_pregel`], against which it is tested.

use std::sync::Arc;

use firesteel_core::Data;

use super::dense::{edge_job, layout, vertex_job, Dense};
use crate::partition::VPart;
use crate::{EdgeDirection, Graph, GraphError, Result, VertexId};

/// Connected components' parameters, with GraphX's default (no bound on the supersteps,
/// GraphX's `Int.MaxValue`), checked by [`check`](Self::check) (and by every run) with
/// GraphX's rule: `max_iterations` greater than 0.
///
/// ```
/// use firesteel_graphx::algorithms::ConnectedComponentsConfig;
/// use firesteel_graphx::{Graph, GraphError};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 3), (4, 5)], 2), 0u8, None);
/// let mut cc = ConnectedComponentsConfig::new().run(&g).unwrap().vertices().collect().unwrap();
/// cc.sort();
/// assert_eq!(cc, vec![(1, 1), (2, 1), (3, 1), (4, 4), (5, 4)]);
///
/// let bad = ConnectedComponentsConfig::new().max_iterations(0);
/// let err = bad.check().unwrap_err();
/// assert!(matches!(err, GraphError::InvalidParameter { name: "max_iterations", .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectedComponentsConfig {
    max_iterations: Option<usize>,
}

impl ConnectedComponentsConfig {
    /// GraphX's default: supersteps until no label changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `n` supersteps (GraphX's `maxIterations`, greater than 0).
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = Some(n);
        self
    }

    /// Checks the rule, returning a violation as [`GraphError::InvalidParameter`].
    pub fn check(&self) -> Result<()> {
        match self.max_iterations {
            Some(0) => Err(GraphError::invalid(
                "max_iterations",
                0,
                "must be greater than 0",
            )),
            _ => Ok(()),
        }
    }

    /// Labels each vertex with the smallest vertex id of its component, on the dense loop.
    /// See [`connected_components`].
    pub fn run<VD: Data, ED: Data>(&self, g: &Graph<VD, ED>) -> Result<Graph<VertexId, ED>> {
        self.check()?;
        components_dense(g, self.max_iterations.unwrap_or(usize::MAX))
    }
}

/// GraphX's `ConnectedComponents`: each vertex is labelled with the smallest vertex id of
/// its (weakly) connected component; `max_iter` bounds the supersteps (`None`: until no
/// label changes; `Some(0)` is an error, as in GraphX).
///
/// Runs a dense loop over the graph's partitions (dense label arrays, two engine jobs per
/// superstep, nothing shuffled) that performs the same supersteps as the Pregel version,
/// [`connected_components_pregel`], against which it is tested.
pub fn connected_components<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_iter: Option<usize>,
) -> Result<Graph<VertexId, ED>> {
    ConnectedComponentsConfig {
        max_iterations: max_iter,
    }
    .run(g)
}

/// [`connected_components`] written exactly as GraphX writes it, with
/// [`Graph::pregel`]: a vertex sends its label across an edge to a neighbour with a larger
/// one, in either direction. `max_iter` is checked as [`ConnectedComponentsConfig::check`]
/// says.
pub fn connected_components_pregel<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_iter: Option<usize>,
) -> Result<Graph<VertexId, ED>> {
    ConnectedComponentsConfig {
        max_iterations: max_iter,
    }
    .check()?;
    g.map_vertices(|id, _| id).pregel(
        VertexId::MAX,
        max_iter.unwrap_or(usize::MAX),
        EdgeDirection::Either,
        |_, &a, m| a.min(m),
        |c| {
            let (s, d) = (*c.src_attr(), *c.dst_attr());
            if s < d {
                c.send_to_dst(s);
            } else if s > d {
                c.send_to_src(d);
            }
        },
        |a, b| a.min(b),
    )
}

/// Connected components on the dense loop, once checked. Each superstep, every edge
/// partition takes, for each local vertex, the minimum of its label and its neighbours'
/// labels; each vertex partition takes the minimum over edge partitions. This is the
/// Pregel version's superstep: an edge whose ends were both unchanged could only carry a
/// label its destination already has, so skipping inactive edges changes nothing.
fn components_dense<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_iter: usize,
) -> Result<Graph<VertexId, ED>> {
    let lay = layout(g)?;
    let indices = lay.indices.clone();
    let mut labels: Arc<Vec<Arc<Vec<u64>>>> =
        Arc::new(indices.iter().map(|ix| Arc::new(ix.ids.clone())).collect());
    let mut i = 0;
    while i < max_iter {
        let partials = edge_job(&g.edges, &lay, Some(labels.clone()), |ep, local| {
            let mut m = local.to_vec();
            ep.for_each(|s, d, _| {
                let (s, d) = (s as usize, d as usize);
                m[d] = m[d].min(local[s]);
                m[s] = m[s].min(local[d]);
            });
            m
        });
        let old = labels.clone();
        let next = vertex_job(&lay, partials, u64::MAX, u64::min, move |q, _, mins| {
            let new: Vec<u64> = old[q].iter().zip(mins).map(|(&o, m)| o.min(m)).collect();
            let changed = new
                .iter()
                .zip(old[q].iter())
                .filter(|(a, b)| a != b)
                .count();
            (Dense(new), changed as u64)
        })?;
        i += 1;
        let changed: u64 = next.iter().map(|x| x.1).sum();
        labels = Arc::new(next.into_iter().map(|x| Arc::new(x.0 .0)).collect());
        if changed == 0 {
            break;
        }
    }
    let parts: Vec<VPart<u64>> = indices
        .iter()
        .zip(labels.iter())
        .map(|(ix, l)| VPart {
            index: ix.clone(),
            attrs: l.clone(),
        })
        .collect();
    Ok(g.with_verts(g.context().parallelize(parts, g.nv)))
}

/// Strongly connected components' parameters, checked by [`check`](Self::check) (and by
/// [`run`](Self::run)) with GraphX's rule: `num_iter` greater than 0. GraphX has no
/// default for `num_iter`; [`usize::MAX`] runs until every vertex has its component.
///
/// ```
/// use firesteel_graphx::algorithms::StronglyConnectedComponentsConfig;
/// use firesteel_graphx::{Graph, GraphError};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 1), (2, 3)], 2), 0u8, None);
/// let scc = StronglyConnectedComponentsConfig::new(usize::MAX).run(&g).unwrap();
/// let mut scc = scc.vertices().collect().unwrap();
/// scc.sort();
/// assert_eq!(scc, vec![(1, 1), (2, 1), (3, 3)]);
///
/// let bad = StronglyConnectedComponentsConfig::new(0);
/// assert!(matches!(bad.check(), Err(GraphError::InvalidParameter { name: "num_iter", .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StronglyConnectedComponentsConfig {
    num_iter: usize,
}

impl StronglyConnectedComponentsConfig {
    /// At most `num_iter` rounds of trimming, colouring and confirmation (GraphX's
    /// `numIter`, greater than 0).
    pub fn new(num_iter: usize) -> Self {
        StronglyConnectedComponentsConfig { num_iter }
    }

    /// Checks the rule, returning a violation as [`GraphError::InvalidParameter`].
    pub fn check(&self) -> Result<()> {
        if self.num_iter == 0 {
            return Err(GraphError::invalid("num_iter", 0, "must be greater than 0"));
        }
        Ok(())
    }

    /// Labels each vertex with the smallest vertex id of its strongly connected component.
    /// See [`strongly_connected_components`].
    pub fn run<VD: Data, ED: Data>(&self, g: &Graph<VD, ED>) -> Result<Graph<VertexId, ED>> {
        self.check()?;
        scc(g, self.num_iter)
    }
}

/// GraphX's `StronglyConnectedComponents`: each vertex is labelled with the smallest vertex
/// id of its strongly connected component. Alternates trimming (vertices without in- or
/// out-edges in the remaining graph are components of their own) with forward colouring
/// and backward confirmation by Pregel, for at most `num_iter` rounds (greater than 0, as
/// in GraphX).
pub fn strongly_connected_components<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
) -> Result<Graph<VertexId, ED>> {
    StronglyConnectedComponentsConfig::new(num_iter).run(g)
}

/// [`strongly_connected_components`], once checked.
fn scc<VD: Data, ED: Data>(g: &Graph<VD, ED>, num_iter: usize) -> Result<Graph<VertexId, ED>> {
    let mut scc_graph = g.map_vertices(|id, _| id).localize()?;
    let mut work = g.map_vertices(|id, _| (id, false)).localize()?;
    let mut iter = 0;
    while work.num_vertices()? > 0 && iter < num_iter {
        iter += 1;
        loop {
            let n = work.num_vertices()?;
            let outd = work.out_degrees();
            let ind = work.in_degrees();
            let marked = work
                .outer_join_vertices(
                    &outd,
                    |id, &d, deg| if deg.is_some() { d } else { (id, true) },
                )
                .outer_join_vertices(
                    &ind,
                    |id, &d, deg| if deg.is_some() { d } else { (id, true) },
                )
                .localize()?;
            let finals = marked
                .vertices()
                .filter(|(_, (_, f))| *f)
                .map(|(id, (c, _))| (id, c));
            scc_graph = scc_graph
                .outer_join_vertices(&finals, |_, &c, f| f.unwrap_or(c))
                .localize()?;
            work = marked.subgraph(|_| true, |_, &(_, f)| !f).localize()?;
            if work.num_vertices()? >= n {
                break;
            }
        }
        if iter < num_iter {
            // Colour afresh: each vertex starts with its own id.
            let fresh = work.map_vertices(|id, &(_, f)| (id, f));
            let coloured = fresh.pregel(
                VertexId::MAX,
                usize::MAX,
                EdgeDirection::Out,
                |_, &(c, f), m| (c.min(m), f),
                |e| {
                    let (s, d) = (e.src_attr().0, e.dst_attr().0);
                    if s < d {
                        e.send_to_dst(s);
                    }
                },
                |a, b| a.min(b),
            )?;
            let confirmed = coloured.pregel(
                false,
                usize::MAX,
                EdgeDirection::In,
                |id, &(c, f), m| (c, f || id == c || m),
                |e| {
                    let (s, d) = (*e.src_attr(), *e.dst_attr());
                    if s.0 == d.0 && d.1 && !s.1 {
                        e.send_to_src(true);
                    }
                },
                |a, b| a || b,
            )?;
            work = confirmed;
        }
    }
    Ok(scc_graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_rules_are_graphx_s() {
        // GraphX's `ConnectedComponents.run(graph)`: no bound.
        assert_eq!(ConnectedComponentsConfig::new().max_iterations, None);
        ConnectedComponentsConfig::new().check().unwrap();
        ConnectedComponentsConfig::new()
            .max_iterations(1)
            .check()
            .unwrap();
        StronglyConnectedComponentsConfig::new(1).check().unwrap();
        let rejected = |r: Result<()>| match r {
            Err(GraphError::InvalidParameter { name, value, rule }) => (name, value, rule),
            other => panic!("{other:?}"),
        };
        let zero = ("0".to_string(), "must be greater than 0");
        let (name, value, rule) =
            rejected(ConnectedComponentsConfig::new().max_iterations(0).check());
        assert_eq!((name, (value, rule)), ("max_iterations", zero.clone()));
        let (name, value, rule) = rejected(StronglyConnectedComponentsConfig::new(0).check());
        assert_eq!((name, (value, rule)), ("num_iter", zero));
    }

    #[test]
    fn every_run_checks_first() {
        let ctx = firesteel_core::Context::local(1).unwrap();
        let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2)], 1), 0u8, None);
        let name = |r: Result<Graph<VertexId, i32>>| match r {
            Err(GraphError::InvalidParameter { name, .. }) => name,
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(name(connected_components(&g, Some(0))), "max_iterations");
        assert_eq!(
            name(connected_components_pregel(&g, Some(0))),
            "max_iterations"
        );
        assert_eq!(name(strongly_connected_components(&g, 0)), "num_iter");
    }
}

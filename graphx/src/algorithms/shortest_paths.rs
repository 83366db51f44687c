//! Shortest paths to landmarks, as GraphX's `ShortestPaths` ([`shortest_paths`], configured
//! by [`ShortestPathsConfig`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use firesteel_core::Data;

use crate::{EdgeDirection, Graph, GraphError, Result, VertexId};

/// A map from landmark to hop count.
pub type ShortestPathMap = BTreeMap<VertexId, u32>;

fn add_maps(mut a: ShortestPathMap, b: &ShortestPathMap) -> ShortestPathMap {
    for (&k, &v) in b {
        let e = a.entry(k).or_insert(v);
        *e = (*e).min(v);
    }
    a
}

/// Shortest paths' parameters: the landmarks, checked by [`check`](Self::check) (and by
/// [`run`](Self::run)): at least one (GraphX accepts none, and then every map is empty).
///
/// ```
/// use firesteel_graphx::algorithms::{ShortestPathMap, ShortestPathsConfig};
/// use firesteel_graphx::{Graph, GraphError};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 3)], 2), 0u8, None);
/// let mut hops = ShortestPathsConfig::new(&[3]).run(&g).unwrap().vertices().collect().unwrap();
/// hops.sort();
/// assert_eq!(hops[0], (1, ShortestPathMap::from([(3, 2)])));
///
/// let bad = ShortestPathsConfig::new(&[]);
/// assert!(matches!(bad.check(), Err(GraphError::InvalidParameter { name: "landmarks", .. })));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortestPathsConfig {
    landmarks: Vec<VertexId>,
}

impl ShortestPathsConfig {
    /// Hop counts to each of `landmarks` (GraphX's `landmarks`, at least one).
    pub fn new(landmarks: &[VertexId]) -> Self {
        ShortestPathsConfig {
            landmarks: landmarks.to_vec(),
        }
    }

    /// Checks the rule, returning a violation as [`GraphError::InvalidParameter`].
    pub fn check(&self) -> Result<()> {
        if self.landmarks.is_empty() {
            return Err(GraphError::invalid("landmarks", "[]", "must not be empty"));
        }
        Ok(())
    }

    /// For every vertex, the hop counts to the landmarks it reaches. See
    /// [`shortest_paths`].
    pub fn run<VD: Data, ED: Data>(&self, g: &Graph<VD, ED>) -> Result<Graph<ShortestPathMap, ED>> {
        self.check()?;
        let marks: Arc<Vec<VertexId>> = Arc::new(self.landmarks.clone());
        g.map_vertices(move |id, _| {
            if marks.contains(&id) {
                BTreeMap::from([(id, 0)])
            } else {
                BTreeMap::new()
            }
        })
        .pregel(
            ShortestPathMap::new(),
            usize::MAX,
            EdgeDirection::Either,
            |_, attr, msg| add_maps(msg, attr),
            |c| {
                let inc: ShortestPathMap = c.dst_attr().iter().map(|(&k, &v)| (k, v + 1)).collect();
                if *c.src_attr() != add_maps(inc.clone(), c.src_attr()) {
                    c.send_to_src(inc);
                }
            },
            |a, b| add_maps(a, &b),
        )
    }
}

/// GraphX's `ShortestPaths`: for every vertex, the number of hops of a shortest path
/// following edge directions to each reachable landmark (at least one landmark).
pub fn shortest_paths<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    landmarks: &[VertexId],
) -> Result<Graph<ShortestPathMap, ED>> {
    ShortestPathsConfig::new(landmarks).run(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landmarks_must_not_be_empty() {
        ShortestPathsConfig::new(&[7]).check().unwrap();
        match ShortestPathsConfig::new(&[]).check() {
            Err(GraphError::InvalidParameter { name, value, rule }) => {
                assert_eq!(
                    (name, value.as_str(), rule),
                    ("landmarks", "[]", "must not be empty")
                );
            }
            other => panic!("{other:?}"),
        }
        let ctx = firesteel_core::Context::local(1).unwrap();
        let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2)], 1), 0u8, None);
        assert!(matches!(
            shortest_paths(&g, &[]),
            Err(GraphError::InvalidParameter {
                name: "landmarks",
                ..
            })
        ));
    }
}

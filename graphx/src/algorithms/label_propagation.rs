//! Label propagation, as GraphX's `LabelPropagation` ([`label_propagation`], configured by
//! [`LabelPropagationConfig`]).

use std::collections::BTreeMap;

use firesteel_core::Data;

use crate::{EdgeDirection, Graph, GraphError, Result, VertexId};

/// Label propagation's parameters, checked by [`check`](Self::check) (and by
/// [`run`](Self::run)) with GraphX's rule: `max_steps` greater than 0. GraphX has no default
/// for `max_steps`.
///
/// ```
/// use firesteel_graphx::algorithms::LabelPropagationConfig;
/// use firesteel_graphx::{Graph, GraphError};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (3, 4)], 2), 0u8, None);
/// let mut labels = LabelPropagationConfig::new(1).run(&g).unwrap().vertices().collect().unwrap();
/// labels.sort();
/// assert_eq!(labels, vec![(1, 2), (2, 1), (3, 4), (4, 3)]);
///
/// let bad = LabelPropagationConfig::new(0);
/// assert!(matches!(bad.check(), Err(GraphError::InvalidParameter { name: "max_steps", .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelPropagationConfig {
    max_steps: usize,
}

impl LabelPropagationConfig {
    /// `max_steps` supersteps (GraphX's `maxSteps`, greater than 0).
    pub fn new(max_steps: usize) -> Self {
        LabelPropagationConfig { max_steps }
    }

    /// Checks the rule, returning a violation as [`GraphError::InvalidParameter`].
    pub fn check(&self) -> Result<()> {
        if self.max_steps == 0 {
            return Err(GraphError::invalid(
                "max_steps",
                0,
                "must be greater than 0",
            ));
        }
        Ok(())
    }

    /// Labels each vertex with its community. See [`label_propagation`].
    pub fn run<VD: Data, ED: Data>(&self, g: &Graph<VD, ED>) -> Result<Graph<VertexId, ED>> {
        self.check()?;
        let max_steps = self.max_steps;
        g.map_vertices(|id, _| id).pregel(
            BTreeMap::<VertexId, u64>::new(),
            max_steps,
            EdgeDirection::Either,
            |_, &attr, msg| {
                let mut best: Option<(u64, VertexId)> = None;
                for (label, count) in msg {
                    if best.is_none_or(|(c, _)| count > c) {
                        best = Some((count, label));
                    }
                }
                best.map_or(attr, |b| b.1)
            },
            |c| {
                let (s, d) = (*c.src_attr(), *c.dst_attr());
                c.send_to_src(BTreeMap::from([(d, 1)]));
                c.send_to_dst(BTreeMap::from([(s, 1)]));
            },
            |mut a, b| {
                for (k, v) in b {
                    *a.entry(k).or_insert(0) += v;
                }
                a
            },
        )
    }
}

/// GraphX's `LabelPropagation`: every vertex starts with its own id as label and, for
/// `max_steps` supersteps (greater than 0, as in GraphX), takes the most frequent label
/// among its neighbours (both directions). GraphX breaks ties arbitrarily; here the
/// smallest label wins.
pub fn label_propagation<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_steps: usize,
) -> Result<Graph<VertexId, ED>> {
    LabelPropagationConfig::new(max_steps).run(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_steps_must_be_positive() {
        LabelPropagationConfig::new(1).check().unwrap();
        match LabelPropagationConfig::new(0).check() {
            Err(GraphError::InvalidParameter { name, value, rule }) => {
                assert_eq!(
                    (name, value.as_str(), rule),
                    ("max_steps", "0", "must be greater than 0")
                );
            }
            other => panic!("{other:?}"),
        }
        let ctx = firesteel_core::Context::local(1).unwrap();
        let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2)], 1), 0u8, None);
        assert!(matches!(
            label_propagation(&g, 0),
            Err(GraphError::InvalidParameter {
                name: "max_steps",
                ..
            })
        ));
    }
}

//! A seeded Graph500-style R-MAT (Kronecker) edge generator.
//!
//! Each edge picks one quadrant of the adjacency matrix per bit of the vertex id, with
//! probabilities `a` (top left), `b` (top right), `c` (bottom left) and `1 − a − b − c`;
//! Graph500 uses `a = 0.57`, `b = c = 0.19`, `2^scale` vertices and `edge_factor × 2^scale`
//! edges (edge factor 16). Vertex ids are then relabelled by a random permutation, as
//! Graph500 does, so that degree does not correlate with id. Self-loops and duplicate edges
//! are kept, as the generator produces them.
//!
//! Generation is parallel (rayon) over fixed chunks of edges, each seeded from the seed and
//! the chunk index, so the output depends only on the configuration.
//!
//! ```
//! let edges = firesteel_graphx::rmat::RmatConfig::graph500(10, 42).generate();
//! assert_eq!(edges.len(), 16 << 10);
//! assert!(edges.iter().all(|&(s, d)| s < 1024 && d < 1024));
//! ```

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use rayon::prelude::*;

use crate::VertexId;

/// Parameters of an R-MAT graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmatConfig {
    /// `log2` of the number of vertices.
    pub scale: u32,
    /// Edges per vertex.
    pub edge_factor: usize,
    /// Probability of the top-left quadrant.
    pub a: f64,
    /// Probability of the top-right quadrant.
    pub b: f64,
    /// Probability of the bottom-left quadrant.
    pub c: f64,
    /// Random seed.
    pub seed: u64,
    /// Relabel vertices by a random permutation.
    pub permute: bool,
}

const CHUNK: usize = 1 << 16;

impl RmatConfig {
    /// Graph500's parameters: `a = 0.57`, `b = c = 0.19`, edge factor 16, permuted ids.
    pub fn graph500(scale: u32, seed: u64) -> Self {
        RmatConfig {
            scale,
            edge_factor: 16,
            a: 0.57,
            b: 0.19,
            c: 0.19,
            seed,
            permute: true,
        }
    }

    /// Number of vertices (`2^scale`).
    pub fn num_vertices(&self) -> u64 {
        1u64 << self.scale
    }

    /// Number of edges (`edge_factor × 2^scale`).
    pub fn num_edges(&self) -> usize {
        self.edge_factor << self.scale
    }

    /// The edges, as `(src, dst)` pairs with ids in `0..2^scale`.
    pub fn generate(&self) -> Vec<(VertexId, VertexId)> {
        let m = self.num_edges();
        let (a, ab, abc) = (self.a, self.a + self.b, self.a + self.b + self.c);
        let scale = self.scale;
        let seed = self.seed;
        let mut edges: Vec<(VertexId, VertexId)> = vec![(0, 0); m];
        edges
            .par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(chunk, out)| {
                let mut rng = Pcg64::seed_from_u64(
                    seed ^ (chunk as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                for e in out.iter_mut() {
                    let (mut s, mut d) = (0u64, 0u64);
                    for _ in 0..scale {
                        let u: f64 = rng.random();
                        let (bs, bd) = if u < a {
                            (0, 0)
                        } else if u < ab {
                            (0, 1)
                        } else if u < abc {
                            (1, 0)
                        } else {
                            (1, 1)
                        };
                        s = (s << 1) | bs;
                        d = (d << 1) | bd;
                    }
                    *e = (s, d);
                }
            });
        if self.permute {
            let n = self.num_vertices() as usize;
            let mut perm: Vec<VertexId> = (0..n as VertexId).collect();
            let mut rng = Pcg64::seed_from_u64(seed.wrapping_add(0x5eed));
            for i in (1..n).rev() {
                let j = rng.random_range(0..=i);
                perm.swap(i, j);
            }
            edges.par_iter_mut().for_each(|e| {
                *e = (perm[e.0 as usize], perm[e.1 as usize]);
            });
        }
        edges
    }
}

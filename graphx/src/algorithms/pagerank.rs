//! PageRank, as GraphX's `PageRank`: static ([`page_rank`]), until convergence
//! ([`dynamic_page_rank`]), personalized to one source ([`personalized_page_rank`],
//! [`dynamic_personalized_page_rank`]) or to many at once
//! ([`parallel_personalized_page_rank`]), all configured by a [`PageRankConfig`].
//!
//! Static PageRank runs a pull loop over the graph's own partitions (dense arrays, see
//! [`super::dense`]). Once, before the loop, each edge partition's transposed CSR is cut
//! by destination vertex partition and the pieces are shuffled to their vertex partitions,
//! with every source rewritten as its position in one flat array of all contributions.
//! Each iteration, one task per vertex partition then sums its in-edges' contributions,
//! edge partition by edge partition, and applies the update; the new contributions are
//! collected into the next flat array. In cluster mode that is one exchange round per
//! iteration, carrying only the contributions. It computes exactly what the
//! message-passing version ([`static_page_rank_message_passing`]) computes, in the same
//! summation order (per edge partition in ascending source order, then across edge
//! partitions in partition order), with the same start ranks ([`start_rank`]), update
//! ([`next_rank`]), edge weights ([`out_weight`]) and normalization ([`normalized`]).

use std::sync::Arc;

use firesteel_core::{Data, Dataset, ModPartitioner, Partitioner};
use serde::{Deserialize, Serialize};

use super::dense::{edge_job, gather, layout, vertex_job, Dense, Layout};
use crate::partition::{EdgePartition, VPart, VertexIndex};
use crate::{EdgeDirection, Graph, GraphError, Result, TripletFields, VertexId};

/// GraphX's default reset probability (`resetProb`, `1 − damping`).
pub const RESET_PROB: f64 = 0.15;

/// When PageRank stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PageRankStop {
    /// After this many iterations (GraphX's `numIter`, greater than 0): static PageRank.
    Iterations(usize),
    /// When no rank changes by more than this (GraphX's `tol`, greater than 0): dynamic
    /// PageRank, GraphX's `runUntilConvergence`.
    Tolerance(f64),
}

/// PageRank's parameters, with GraphX's defaults, checked by [`check`](Self::check) (and by
/// every run) with GraphX's rules: `reset_prob` in [0, 1], `num_iter` greater than 0, at
/// least one source for [`run_parallel_personalized`]. Running until convergence has two
/// stricter ones: `reset_prob` below 1 (the first message is `reset_prob / (1 −
/// reset_prob)`) and `tol` greater than 0 (GraphX accepts 0, but then the loop never ends
/// on a graph with a cycle, where a rounded last bit keeps a change of one ulp going round;
/// so does any `tol` below the ranks' ulp).
///
/// [`run_parallel_personalized`]: Self::run_parallel_personalized
///
/// ```
/// use firesteel_graphx::algorithms::PageRankConfig;
/// use firesteel_graphx::{Graph, GraphError};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 1), (2, 3)], 2), 0u8, None);
/// let ranks = PageRankConfig::iterations(10).run(&g).unwrap();
/// let sum: f64 = ranks.vertices().map(|(_, r)| r).sum().unwrap();
/// assert!((sum - 3.0).abs() < 1e-9);
///
/// let bad = PageRankConfig::iterations(10).reset_prob(1.5);
/// assert!(matches!(bad.check(), Err(GraphError::InvalidParameter { name: "reset_prob", .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRankConfig {
    reset_prob: f64,
    stop: PageRankStop,
    max_iter: usize,
}

impl PageRankConfig {
    /// Static PageRank for `num_iter` iterations (GraphX's `staticPageRank(numIter)`), with
    /// GraphX's default `reset_prob` ([`RESET_PROB`]).
    pub fn iterations(num_iter: usize) -> Self {
        PageRankConfig {
            reset_prob: RESET_PROB,
            stop: PageRankStop::Iterations(num_iter),
            max_iter: usize::MAX,
        }
    }

    /// PageRank until no rank changes by more than `tol` (GraphX's `pageRank(tol)`), with
    /// GraphX's default `reset_prob` ([`RESET_PROB`]).
    pub fn tolerance(tol: f64) -> Self {
        PageRankConfig {
            reset_prob: RESET_PROB,
            stop: PageRankStop::Tolerance(tol),
            max_iter: usize::MAX,
        }
    }

    /// Running until convergence, stop after `max_iter` supersteps even if ranks still
    /// change by more than `tol` (with a warning that it did not converge). GraphX sets no
    /// limit (the default here too), so a `tol` below what the ranks' precision can show
    /// may loop for ever; static PageRank ignores it.
    ///
    /// ```
    /// use firesteel_graphx::algorithms::PageRankConfig;
    /// use firesteel_graphx::Graph;
    ///
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 1)], 2), 0u8, None);
    /// // A tolerance no double can show still ends, after 50 supersteps.
    /// let ranks = PageRankConfig::tolerance(1e-300).max_iterations(50).run(&g).unwrap();
    /// assert_eq!(ranks.vertices().count().unwrap(), 2);
    /// ```
    pub fn max_iterations(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// The probability of a random reset (GraphX's `resetProb`, `1 − damping`).
    pub fn reset_prob(mut self, reset_prob: f64) -> Self {
        self.reset_prob = reset_prob;
        self
    }

    /// Checks every rule, returning the first violation as
    /// [`GraphError::InvalidParameter`].
    pub fn check(&self) -> Result<()> {
        let p = self.reset_prob;
        match self.stop {
            PageRankStop::Iterations(n) => {
                if !(0.0..=1.0).contains(&p) {
                    return Err(GraphError::invalid("reset_prob", p, "must be in [0, 1]"));
                }
                if n == 0 {
                    return Err(GraphError::invalid("num_iter", n, "must be greater than 0"));
                }
            }
            PageRankStop::Tolerance(tol) => {
                if !(0.0..1.0).contains(&p) {
                    return Err(GraphError::invalid(
                        "reset_prob",
                        p,
                        "must be in [0, 1) to run until convergence",
                    ));
                }
                if tol.is_nan() || tol <= 0.0 {
                    return Err(GraphError::invalid("tol", tol, "must be greater than 0"));
                }
            }
        }
        Ok(())
    }

    /// PageRank: every rank starts at 1.0, and the ranks are rescaled to sum to the number
    /// of vertices at the end. See [`page_rank`] and [`dynamic_page_rank`].
    pub fn run<VD: Data, ED: Data>(&self, g: &Graph<VD, ED>) -> Result<Graph<f64, f64>> {
        self.run_from(g, None)
    }

    /// PageRank personalized to `src`: the source starts at 1.0 and the others at 0.0,
    /// only the source gets the reset mass, and the final ranks are divided by their sum.
    /// See [`personalized_page_rank`] and [`dynamic_personalized_page_rank`].
    pub fn run_personalized<VD: Data, ED: Data>(
        &self,
        g: &Graph<VD, ED>,
        src: VertexId,
    ) -> Result<Graph<f64, f64>> {
        self.run_from(g, Some(src))
    }

    fn run_from<VD: Data, ED: Data>(
        &self,
        g: &Graph<VD, ED>,
        src: Option<VertexId>,
    ) -> Result<Graph<f64, f64>> {
        self.check()?;
        match self.stop {
            PageRankStop::Iterations(n) => static_rank_pull(g, n, self.reset_prob, src),
            PageRankStop::Tolerance(tol) => {
                dynamic_rank(g, tol, self.reset_prob, self.max_iter, src)
            }
        }
    }

    /// Personalized PageRank from every source in `sources` at once (GraphX's
    /// `runParallelPersonalizedPageRank`, which runs a fixed number of iterations: a
    /// tolerance is an error). See [`parallel_personalized_page_rank`].
    pub fn run_parallel_personalized<VD: Data, ED: Data>(
        &self,
        g: &Graph<VD, ED>,
        sources: &[VertexId],
    ) -> Result<Graph<Vec<f64>, f64>> {
        self.check()?;
        let num_iter = match self.stop {
            PageRankStop::Iterations(n) => n,
            PageRankStop::Tolerance(tol) => {
                return Err(GraphError::invalid(
                    "tol",
                    tol,
                    "does not apply: parallel personalized PageRank runs num_iter iterations",
                ))
            }
        };
        if sources.is_empty() {
            return Err(GraphError::invalid("sources", "[]", "must not be empty"));
        }
        parallel_rank(g, sources, num_iter, self.reset_prob)
    }
}

/// The rank a vertex starts with: 1.0, or when personalized to `src`, 1.0 at the source
/// and 0.0 elsewhere.
fn start_rank(src: Option<VertexId>, id: VertexId) -> f64 {
    match src {
        Some(s) if s != id => 0.0,
        _ => 1.0,
    }
}

/// One iteration's rank of `id` from `sum`, the sum of its in-edges' contributions:
/// `reset + (1 − reset_prob) × sum`, where the reset term is `reset_prob`, or when
/// personalized to `src`, `reset_prob` at the source and 0.0 elsewhere.
fn next_rank(reset_prob: f64, src: Option<VertexId>, id: VertexId, sum: f64) -> f64 {
    let reset = match src {
        Some(s) if s != id => 0.0,
        _ => reset_prob,
    };
    reset + (1.0 - reset_prob) * sum
}

/// The weight of the edges leaving a vertex with `out_degree` out-edges, `1 / out_degree`
/// (a vertex without out-edges gets 0.0, which no edge carries).
fn out_weight(out_degree: u64) -> f64 {
    if out_degree == 0 {
        0.0
    } else {
        1.0 / out_degree as f64
    }
}

/// GraphX's `normalizeRankSum` (SPARK-18847) for one rank, `sum` being the sum of all
/// ranks: divided by the sum when personalized (`num_vertices` is `None`), otherwise
/// rescaled so that the ranks sum to the number of vertices.
fn normalized(rank: f64, sum: f64, num_vertices: Option<u64>) -> f64 {
    match num_vertices {
        None => rank / sum,
        Some(n) => rank * (n as f64 / sum),
    }
}

/// Materializes `next` and truncates its lineage in memory ([`Graph::localize`]), and
/// checkpoints it every `interval` iterations.
fn advance<VD: Data, ED: Data>(
    next: Graph<VD, ED>,
    iteration: usize,
    interval: usize,
) -> Result<Graph<VD, ED>> {
    let next = next.localize()?;
    if interval > 0 && iteration.is_multiple_of(interval) {
        return next.checkpoint();
    }
    Ok(next)
}

/// The graph with edge weights [`out_weight`]`(outdeg(src))` and vertex attributes
/// `init(id)`.
fn weighted<VD: Data, ED: Data, R: Data>(
    g: &Graph<VD, ED>,
    init: impl Fn(VertexId) -> R + Send + Sync + 'static,
) -> Result<Graph<R, f64>> {
    let deg = g.aggregate_aligned(
        |c| c.send_to_src(1u64),
        |a, b| a + b,
        TripletFields::None,
        None,
    );
    g.join_aligned(&deg, |_, _, d| d.copied().unwrap_or(0))
        .map_triplets(|t| out_weight(*t.src_attr()), TripletFields::Src)
        .map_vertices(move |id, _| init(id))
        .localize()
}

/// [`normalized`] applied to every rank of `rank`.
fn normalize(rank: &Graph<f64, f64>, personalized: bool) -> Result<Graph<f64, f64>> {
    let sum: f64 = rank.vertices().map(|(_, r)| r).sum()?;
    // Dividing by the sum needs no count.
    let n = if personalized {
        None
    } else {
        Some(rank.num_vertices()?)
    };
    rank.map_vertices(move |_, &r| normalized(r, sum, n))
        .localize()
}

/// GraphX's static PageRank (`staticPageRank(numIter, resetProb)`): every rank starts at
/// 1.0; each iteration sets `rank = reset_prob + (1 − reset_prob) × Σ rank(src) /
/// outdeg(src)` over in-edges; at the end the ranks are rescaled to sum to the number of
/// vertices. Edge attributes of the result are the weights `1 / outdeg(src)`. The
/// parameters are checked as [`PageRankConfig::check`] says.
///
/// Runs a pull loop over the graph's partitions (one engine job per iteration, dense
/// arrays), tested against [`static_page_rank_message_passing`].
///
/// ```
/// use firesteel_graphx::{algorithms, Graph};
///
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2), (2, 3), (3, 1)], 2), 0u8, None);
/// let mut ranks = algorithms::page_rank(&g, 10, algorithms::RESET_PROB)
///     .unwrap()
///     .vertices()
///     .collect()
///     .unwrap();
/// ranks.sort_by_key(|r| r.0);
/// assert!(ranks.iter().all(|&(_, r)| (r - 1.0).abs() < 1e-12));
/// ```
pub fn page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    PageRankConfig::iterations(num_iter)
        .reset_prob(reset_prob)
        .run(g)
}

/// GraphX's personalized static PageRank from `src`: the source starts at 1.0 and
/// the others at 0.0, only the source gets the reset mass, and the final ranks are divided
/// by their sum. Runs the same pull loop as [`page_rank`].
pub fn personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    src: VertexId,
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    PageRankConfig::iterations(num_iter)
        .reset_prob(reset_prob)
        .run_personalized(g, src)
}

/// GraphX's `runParallelPersonalizedPageRank`: personalized PageRank from every source in
/// `sources` (at least one) at once. Each vertex holds a vector with one rank per source
/// (in the order of `sources`); each vector component is divided by its sum over all
/// vertices at the end.
pub fn parallel_personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    sources: &[VertexId],
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<Vec<f64>, f64>> {
    PageRankConfig::iterations(num_iter)
        .reset_prob(reset_prob)
        .run_parallel_personalized(g, sources)
}

/// GraphX's `PageRank.runUntilConvergence`: Pregel over `(rank, delta)`; a vertex sends
/// its change along its out-edges while the change exceeds `tol`. Ranks are rescaled as in
/// [`page_rank`].
pub fn dynamic_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    tol: f64,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    PageRankConfig::tolerance(tol).reset_prob(reset_prob).run(g)
}

/// As [`dynamic_page_rank`], personalized to `src` (GraphX's
/// `runUntilConvergenceWithOptions` with a source); ranks are divided by their sum.
pub fn dynamic_personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    src: VertexId,
    tol: f64,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    PageRankConfig::tolerance(tol)
        .reset_prob(reset_prob)
        .run_personalized(g, src)
}

/// Static PageRank (personalized to `src` when set) written with
/// [`Graph::aggregate_messages`]-style message passing and vertex joins, exactly as GraphX
/// writes it. [`page_rank`] and [`personalized_page_rank`] compute the same thing on a
/// pull loop over the same partitions (dense arrays, no shuffle per iteration); this
/// version is the reference that loop is tested against. The parameters are checked as
/// [`PageRankConfig::check`] says.
pub fn static_page_rank_message_passing<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
    reset_prob: f64,
    src: Option<VertexId>,
) -> Result<Graph<f64, f64>> {
    PageRankConfig::iterations(num_iter)
        .reset_prob(reset_prob)
        .check()?;
    let mut rank = weighted(g, move |id| start_rank(src, id))?;
    for i in 1..=num_iter {
        let msgs = rank.aggregate_aligned(
            |c| {
                let m = c.src_attr() * c.attr;
                c.send_to_dst(m)
            },
            |a, b| a + b,
            TripletFields::Src,
            None,
        );
        let next = rank.join_aligned(&msgs, move |id, _, m| {
            next_rank(reset_prob, src, id, m.copied().unwrap_or(0.0))
        });
        rank = advance(next, i, g.checkpoint_interval)?;
    }
    normalize(&rank, src.is_some())
}

/// [`PageRankConfig::run_parallel_personalized`] once checked: message passing over
/// vectors, component `k` personalized to `sources[k]`.
fn parallel_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    sources: &[VertexId],
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<Vec<f64>, f64>> {
    let k = sources.len();
    let sources: Arc<Vec<VertexId>> = Arc::new(sources.to_vec());
    let init = sources.clone();
    let mut rank = weighted(g, move |id| {
        init.iter()
            .map(|&s| start_rank(Some(s), id))
            .collect::<Vec<f64>>()
    })?;
    for i in 1..=num_iter {
        let msgs = rank.aggregate_aligned(
            |c| {
                let w = *c.attr;
                let m: Vec<f64> = c.src_attr().iter().map(|r| r * w).collect();
                c.send_to_dst(m)
            },
            |mut a: Vec<f64>, b: Vec<f64>| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
            TripletFields::Src,
            None,
        );
        let srcs = sources.clone();
        let next = rank.join_aligned(&msgs, move |id, _, m| {
            let sum = |j: usize| m.map_or(0.0, |m| m[j]);
            srcs.iter()
                .enumerate()
                .map(|(j, &s)| next_rank(reset_prob, Some(s), id, sum(j)))
                .collect::<Vec<f64>>()
        });
        rank = advance(next, i, g.checkpoint_interval)?;
    }
    let sums = rank
        .vertices()
        .map(|(_, v)| v)
        .fold(vec![0.0; k], |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        })?;
    rank.map_vertices(move |_, v| {
        v.iter()
            .zip(&sums)
            .map(|(&x, &s)| normalized(x, s, None))
            .collect()
    })
    .localize()
}

/// GraphX's `runUntilConvergenceWithOptions`, once checked.
fn dynamic_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    tol: f64,
    reset_prob: f64,
    max_iter: usize,
    src: Option<VertexId>,
) -> Result<Graph<f64, f64>> {
    let personalized = src.is_some();
    let pr = weighted(g, move |id| {
        if Some(id) == src {
            (0.0, f64::NEG_INFINITY)
        } else {
            (0.0, 0.0)
        }
    })?;
    let initial = if personalized {
        0.0
    } else {
        reset_prob / (1.0 - reset_prob)
    };
    let (out, unfinished) = pr.pregel_run(
        initial,
        max_iter,
        EdgeDirection::Out,
        move |_, &(old, last_delta), msg: f64| {
            let new = if personalized && last_delta == f64::NEG_INFINITY {
                1.0
            } else {
                old + (1.0 - reset_prob) * msg
            };
            (new, new - old)
        },
        move |c| {
            let (_, delta) = *c.src_attr();
            if delta > tol {
                let m = delta * c.attr;
                c.send_to_dst(m);
            }
        },
        |a, b| a + b,
    )?;
    if unfinished {
        tracing::warn!(
            "PageRank stopped after {max_iter} iterations without converging: some rank \
             still changes by more than the tolerance {tol:e}"
        );
    }
    let rank = out.map_vertices(|_, r| r.0).localize()?;
    normalize(&rank, personalized)
}

/// The in-edges of one vertex partition `q` within one edge partition `p`: for each of
/// `q`'s vertices that are destinations in `p` (in `p`'s local order, the order of
/// `q`'s route for `p` past its source-only prefix), its sources as positions in the flat
/// contribution array, in ascending local source order.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InBlock {
    /// Which edge partition the block comes from.
    part: u64,
    /// CSR offsets into `srcs`, one more than there are destinations.
    off: Dense<u32>,
    /// Flat positions of the sources.
    srcs: Dense<u32>,
}

/// Everything one pull task needs: its vertex partition's index and in-blocks, in edge
/// partition order.
#[derive(Debug, Serialize, Deserialize)]
struct PullPart {
    q: usize,
    index: Arc<VertexIndex>,
    blocks: Vec<InBlock>,
}

/// One dataset of [`PullPart`]s, one per vertex partition, built from the edge partitions'
/// transposed CSRs and cached. `flat_start[q]` is where vertex partition `q`'s vertices
/// start in the flat array.
fn pull_parts<ED: Data>(
    edges: &Dataset<Arc<EdgePartition<ED>>>,
    lay: &Layout,
    flat_start: Arc<Vec<u32>>,
) -> Result<Dataset<Arc<PullPart>>> {
    let indices = lay.indices.clone();
    let nv = indices.len();
    let blocks = edges
        .map_partitions_with_index(move |p, eps| {
            let indices = indices.clone();
            let flat_start = flat_start.clone();
            eps.flat_map(move |ep| {
                // Local id → flat position: local ids run through the vertex partitions'
                // ranges in route order.
                let mut flat = Vec::with_capacity(ep.num_local());
                for (ix, &start) in indices.iter().zip(flat_start.iter()) {
                    flat.extend(ix.routes[p].iter().map(|&i| start + i));
                }
                let (off, srcs) = ep.in_csr();
                (0..nv)
                    .map(|q| {
                        let (lo, hi) = (ep.splits[q].0 as usize, ep.ranges[q + 1] as usize);
                        let base = off[lo];
                        let o = off[lo..=hi].iter().map(|&x| x - base).collect();
                        let s = srcs[base as usize..off[hi] as usize]
                            .iter()
                            .map(|&l| flat[l as usize])
                            .collect();
                        let block = InBlock {
                            part: p as u64,
                            off: Dense(o),
                            srcs: Dense(s),
                        };
                        (q as u64, block)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .partition_by(Arc::new(ModPartitioner::new(nv)) as Arc<dyn Partitioner<u64>>);
    Ok(lay
        .index_ds
        .zip_partitions(&blocks, false, |mut ixs, bs| {
            let (q, index) = ixs.next()?;
            let mut blocks: Vec<InBlock> = bs.map(|(_, b)| b).collect();
            blocks.sort_by_key(|b| b.part);
            Some(Arc::new(PullPart {
                q: q as usize,
                index,
                blocks,
            }))
        })?
        .cache())
}

impl PullPart {
    /// The sums, per vertex of this partition, of its in-edges' contributions.
    fn pull(&self, flat: &[f64]) -> Vec<f64> {
        let ix = &self.index;
        let mut acc = vec![0.0f64; ix.ids.len()];
        for b in &self.blocks {
            let p = b.part as usize;
            let dests = &ix.routes[p][ix.splits[p].0 as usize..];
            let (off, srcs) = (&b.off.0, &b.srcs.0);
            debug_assert_eq!(dests.len() + 1, off.len(), "a block matches its route");
            for (&d, w) in dests.iter().zip(off.windows(2)) {
                let mut sum = 0.0f64;
                for &s in &srcs[w[0] as usize..w[1] as usize] {
                    sum += flat[s as usize];
                }
                acc[d as usize] += sum;
            }
        }
        acc
    }
}

/// Static PageRank (personalized when `src` is set), once checked, on the pull loop.
fn static_rank_pull<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
    reset_prob: f64,
    src: Option<VertexId>,
) -> Result<Graph<f64, f64>> {
    let ctx = g.context().clone();
    let (nv, ne) = (g.nv, g.ne);
    let lay = layout(g)?;
    let indices = lay.indices.clone();
    let mut flat_start = Vec::with_capacity(nv);
    let mut total = 0usize;
    for ix in indices.iter() {
        flat_start.push(total as u32);
        total += ix.ids.len();
    }
    if total > u32::MAX as usize {
        // Flat positions are `u32`, as local ids are.
        return static_page_rank_message_passing(g, num_iter, reset_prob, src);
    }

    // Edge weights from the out-degrees, through an edge job and a vertex job.
    let local_out = edge_job(&g.edges, &lay, None, |ep, _| {
        ep.offsets
            .windows(2)
            .map(|w| u64::from(w[1] - w[0]))
            .collect::<Vec<u64>>()
    });
    let weights: Vec<Dense<f64>> = vertex_job(
        &lay,
        local_out,
        0,
        |a, b| a + b,
        |_, _, deg| Dense(deg.into_iter().map(out_weight).collect()),
    )?;
    let weights: Arc<Vec<Arc<Vec<f64>>>> =
        Arc::new(weights.into_iter().map(|w| Arc::new(w.0)).collect());

    let mut ranks: Vec<Arc<Vec<f64>>> = indices
        .iter()
        .map(|ix| Arc::new(ix.ids.iter().map(|&id| start_rank(src, id)).collect()))
        .collect();
    let mut flat: Arc<Vec<f64>> = Arc::new(
        ranks
            .iter()
            .zip(weights.iter())
            .flat_map(|(r, w)| r.iter().zip(w.iter()).map(|(r, w)| r * w))
            .collect(),
    );
    let parts = pull_parts(&g.edges, &lay, Arc::new(flat_start))?;
    for it in 0..num_iter {
        // Only the last iteration's ranks are kept: the others need only contributions.
        let last = it + 1 == num_iter;
        let w = weights.clone();
        let contrib = flat.clone();
        // In cluster mode every process receives every vertex partition's contributions.
        let next: Vec<(Option<Dense<f64>>, Dense<f64>)> = parts
            .map(move |pp| {
                let sums = pp.pull(&contrib);
                let rank: Vec<f64> = pp
                    .index
                    .ids
                    .iter()
                    .zip(sums)
                    .map(|(&id, s)| next_rank(reset_prob, src, id, s))
                    .collect();
                let c = rank
                    .iter()
                    .zip(w[pp.q].iter())
                    .map(|(r, w)| r * w)
                    .collect();
                (last.then_some(Dense(rank)), Dense(c))
            })
            .collect()?;
        let mut next_flat = Vec::with_capacity(total);
        let mut next_ranks = Vec::new();
        for (r, c) in next {
            next_flat.extend_from_slice(&c.0);
            if let Some(r) = r {
                next_ranks.push(Arc::new(r.0));
            }
        }
        if last {
            ranks = next_ranks;
        }
        flat = Arc::new(next_flat);
    }
    let _ = parts.unpersist();

    let sum: f64 = ranks.iter().map(|r| r.iter().sum::<f64>()).sum();
    let n = src.is_none().then_some(total as u64);
    let parts: Vec<VPart<f64>> = indices
        .iter()
        .zip(ranks)
        .map(|(ix, r)| VPart {
            index: ix.clone(),
            attrs: Arc::new(r.iter().map(|&x| normalized(x, sum, n)).collect()),
        })
        .collect();
    let verts = ctx.parallelize(parts, nv);
    // Edge weights 1 / outdeg(src), as GraphX's result carries; computed when read.
    let idx = indices.clone();
    let edges = g
        .edges
        .map_partitions_with_index(move |p, eps| {
            let w = weights.clone();
            let idx = idx.clone();
            eps.map(move |ep| {
                let local = gather(&idx, &w, p, &ep);
                let mut attrs = Vec::with_capacity(ep.len());
                ep.for_each(|s, _, _| attrs.push(local[s as usize]));
                Arc::new(ep.with_attrs(attrs))
            })
        })
        .cache();
    Ok(Graph {
        verts,
        edges,
        nv,
        ne,
        checkpoint_interval: g.checkpoint_interval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(c: PageRankConfig) -> (&'static str, String, &'static str) {
        match c.check() {
            Err(GraphError::InvalidParameter { name, value, rule }) => (name, value, rule),
            other => panic!("{c:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults_are_graphx_s() {
        assert_eq!(RESET_PROB, 0.15);
        let c = PageRankConfig::iterations(20);
        assert_eq!(c.reset_prob, 0.15);
        assert_eq!(c.stop, PageRankStop::Iterations(20));
        let c = PageRankConfig::tolerance(1e-4);
        assert_eq!(c.reset_prob, 0.15);
        assert_eq!(c.stop, PageRankStop::Tolerance(1e-4));
    }

    #[test]
    fn graphx_s_rules_are_checked() {
        // Accepted: GraphX's bounds, inclusive.
        for p in [0.0, 0.15, 1.0] {
            PageRankConfig::iterations(1).reset_prob(p).check().unwrap();
        }
        for tol in [1e-9, f64::INFINITY] {
            PageRankConfig::tolerance(tol).check().unwrap();
        }
        PageRankConfig::tolerance(0.1)
            .reset_prob(0.0)
            .check()
            .unwrap();
        // Rejected, each with its name, value and rule.
        for p in [-0.1, 1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let (name, value, rule) = rejected(PageRankConfig::iterations(5).reset_prob(p));
            assert_eq!((name, rule), ("reset_prob", "must be in [0, 1]"));
            assert_eq!(value, p.to_string());
        }
        for p in [1.0, -0.1, f64::NAN] {
            let (name, _, rule) = rejected(PageRankConfig::tolerance(0.1).reset_prob(p));
            assert_eq!(name, "reset_prob");
            assert_eq!(rule, "must be in [0, 1) to run until convergence");
        }
        assert_eq!(
            rejected(PageRankConfig::iterations(0)),
            ("num_iter", "0".to_string(), "must be greater than 0")
        );
        for tol in [0.0, -1e-9, f64::NAN, f64::NEG_INFINITY] {
            let (name, value, rule) = rejected(PageRankConfig::tolerance(tol));
            assert_eq!((name, rule), ("tol", "must be greater than 0"));
            assert_eq!(value, tol.to_string());
        }
    }

    #[test]
    fn every_run_checks_first() {
        let ctx = firesteel_core::Context::local(1).unwrap();
        let g = Graph::from_edge_tuples(&ctx.parallelize(vec![(1, 2)], 1), 0u8, None);
        let invalid = |r: Result<Graph<f64, f64>>, want: &str| match r {
            Err(GraphError::InvalidParameter { name, .. }) => assert_eq!(name, want),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("{want} should be rejected"),
        };
        invalid(page_rank(&g, 0, RESET_PROB), "num_iter");
        invalid(personalized_page_rank(&g, 1, 3, 2.0), "reset_prob");
        invalid(dynamic_page_rank(&g, -1.0, RESET_PROB), "tol");
        invalid(
            dynamic_personalized_page_rank(&g, 1, 0.1, 1.0),
            "reset_prob",
        );
        invalid(
            static_page_rank_message_passing(&g, 3, f64::NAN, None),
            "reset_prob",
        );
        let par = |sources: &[VertexId], c: PageRankConfig| match c
            .run_parallel_personalized(&g, sources)
        {
            Err(GraphError::InvalidParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(par(&[], PageRankConfig::iterations(3)), "sources");
        assert_eq!(par(&[1], PageRankConfig::tolerance(0.1)), "tol");
        assert_eq!(par(&[1], PageRankConfig::iterations(0)), "num_iter");
    }
}

//! GraphX's graph algorithms, written on the [`Graph`] API, with GraphX's semantics.
//!
//! - PageRank: [`page_rank`] (static), [`dynamic_page_rank`] (until convergence),
//!   [`personalized_page_rank`] (one source), [`parallel_personalized_page_rank`] (many
//!   sources at once);
//! - [`connected_components`], [`strongly_connected_components`];
//! - [`triangle_count`], [`label_propagation`], [`shortest_paths`].

mod dense;
mod pregel;

use std::collections::BTreeMap;
use std::sync::Arc;

use firesteel_core::{Data, Dataset};

use crate::{Edge, EdgeDirection, Graph, Result, TripletFields, VertexId};

/// GraphX's default reset probability (`1 − damping`).
pub const RESET_PROB: f64 = 0.15;

/// Materializes `next` and truncates its lineage in memory ([`Graph::localize`]), and
/// checkpoints it every `interval` iterations.
fn advance<VD: Data, ED: Data>(
    next: Graph<VD, ED>,
    iteration: usize,
    interval: usize,
) -> Result<Graph<VD, ED>> {
    let next = next.localize()?;
    if interval > 0 && iteration % interval == 0 {
        return next.checkpoint();
    }
    Ok(next)
}

/// The graph with edge weights `1 / outdeg(src)` and vertex attributes `init(id)`.
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
        .map_triplets(|t| 1.0 / *t.src_attr() as f64, TripletFields::Src)
        .map_vertices(move |id, _| init(id))
        .localize()
}

/// Static PageRank (personalized to `src` when set) written with
/// [`Graph::aggregate_messages`]-style message passing and vertex joins, exactly as GraphX
/// writes it. [`page_rank`] and [`personalized_page_rank`] compute the same thing on a
/// specialized loop over the same partitions (dense arrays, no shuffle); this version is
/// the reference that loop is tested against.
pub fn static_page_rank_message_passing<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
    reset_prob: f64,
    src: Option<VertexId>,
) -> Result<Graph<f64, f64>> {
    let mut rank = weighted(g, move |id| match src {
        Some(s) if s != id => 0.0,
        _ => 1.0,
    })?;
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
            let reset = match src {
                Some(s) if s != id => 0.0,
                _ => reset_prob,
            };
            reset + (1.0 - reset_prob) * m.copied().unwrap_or(0.0)
        });
        rank = advance(next, i, g.checkpoint_interval)?;
    }
    normalize(&rank, src.is_some())
}

/// GraphX's `normalizeRankSum` (SPARK-18847): ranks rescaled to sum to the number of
/// vertices, or to 1 when personalized.
fn normalize(rank: &Graph<f64, f64>, personalized: bool) -> Result<Graph<f64, f64>> {
    let sum: f64 = rank.vertices().map(|(_, r)| r).sum()?;
    let factor = if personalized {
        1.0 / sum
    } else {
        rank.num_vertices()? as f64 / sum
    };
    rank.map_vertices(move |_, r| r * factor).localize()
}

/// GraphX's static PageRank (`staticPageRank(numIter, resetProb)`): every rank starts at
/// 1.0; each iteration sets `rank = reset_prob + (1 − reset_prob) × Σ rank(src) /
/// outdeg(src)` over in-edges; at the end the ranks are rescaled to sum to the number of
/// vertices. Edge attributes of the result are the weights `1 / outdeg(src)`.
///
/// Runs on a specialized loop over the graph's partitions (two engine jobs per iteration,
/// dense arrays, nothing shuffled), tested against
/// [`static_page_rank_message_passing`].
pub fn page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    dense::static_rank_fast(g, num_iter, reset_prob, None)
}

/// GraphX's personalized static PageRank from `src`: the source starts at 1.0 and
/// the others at 0.0, only the source gets the reset mass, and the final ranks are divided
/// by their sum.
pub fn personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    src: VertexId,
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    dense::static_rank_fast(g, num_iter, reset_prob, Some(src))
}

/// GraphX's `runParallelPersonalizedPageRank`: personalized PageRank from every source in
/// `sources` at once. Each vertex holds a vector with one rank per source (in the order of
/// `sources`); each vector component is divided by its sum over all vertices at the end.
pub fn parallel_personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    sources: &[VertexId],
    num_iter: usize,
    reset_prob: f64,
) -> Result<Graph<Vec<f64>, f64>> {
    let k = sources.len();
    let index: Arc<BTreeMap<VertexId, usize>> =
        Arc::new(sources.iter().enumerate().map(|(i, &s)| (s, i)).collect());
    let init = index.clone();
    let mut rank = weighted(g, move |id| {
        let mut v = vec![0.0; k];
        if let Some(&i) = init.get(&id) {
            v[i] = 1.0;
        }
        v
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
        let idx = index.clone();
        let next = rank.join_aligned(&msgs, move |id, _, m| {
            let mut v: Vec<f64> = match m {
                Some(m) => m.iter().map(|x| x * (1.0 - reset_prob)).collect(),
                None => vec![0.0; k],
            };
            if let Some(&i) = idx.get(&id) {
                v[i] += reset_prob;
            }
            v
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
    rank.map_vertices(move |_, v| v.iter().zip(&sums).map(|(x, s)| x / s).collect())
        .localize()
}

/// GraphX's `PageRank.runUntilConvergence`: Pregel over `(rank, delta)`; a vertex sends
/// its change along its out-edges while the change exceeds `tol`. Ranks are rescaled as in
/// [`page_rank`].
pub fn dynamic_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    tol: f64,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    dynamic_rank(g, tol, reset_prob, None)
}

/// As [`dynamic_page_rank`], personalized to `src` (GraphX's
/// `runUntilConvergenceWithOptions` with a source); ranks are divided by their sum.
pub fn dynamic_personalized_page_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    src: VertexId,
    tol: f64,
    reset_prob: f64,
) -> Result<Graph<f64, f64>> {
    dynamic_rank(g, tol, reset_prob, Some(src))
}

fn dynamic_rank<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    tol: f64,
    reset_prob: f64,
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
    let out = pr.pregel(
        initial,
        usize::MAX,
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
    let rank = out.map_vertices(|_, r| r.0).localize()?;
    normalize(&rank, personalized)
}

/// GraphX's `ConnectedComponents`: each vertex is labelled with the smallest vertex id of
/// its (weakly) connected component; `max_iter` bounds the supersteps (`None`: until no
/// label changes).
///
/// Runs on a specialized loop over the graph's partitions (dense label arrays, two engine
/// jobs per superstep, nothing shuffled) that performs the same supersteps as the Pregel
/// version, [`connected_components_pregel`], against which it is tested.
pub fn connected_components<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_iter: Option<usize>,
) -> Result<Graph<VertexId, ED>> {
    dense::cc_fast(g, max_iter.unwrap_or(usize::MAX))
}

/// [`connected_components`] written exactly as GraphX writes it, with
/// [`Graph::pregel`]: a vertex sends its label across an edge to a neighbour with a larger
/// one, in either direction.
pub fn connected_components_pregel<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_iter: Option<usize>,
) -> Result<Graph<VertexId, ED>> {
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

/// GraphX's `StronglyConnectedComponents`: each vertex is labelled with the smallest vertex
/// id of its strongly connected component. Alternates trimming (vertices without in- or
/// out-edges in the remaining graph are components of their own) with forward colouring
/// and backward confirmation by Pregel, for at most `num_iter` rounds.
pub fn strongly_connected_components<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    num_iter: usize,
) -> Result<Graph<VertexId, ED>> {
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

/// GraphX's `TriangleCount`: for each vertex, the number of triangles through it, on the
/// graph with self-loops removed, edge directions ignored and parallel edges merged.
pub fn triangle_count<VD: Data, ED: Data>(g: &Graph<VD, ED>) -> Result<Graph<u64, ED>> {
    let n = g.num_partitions();
    let canon_edges = g
        .edges()
        .filter(|e| e.src_id != e.dst_id)
        .map(|e| ((e.src_id.min(e.dst_id), e.src_id.max(e.dst_id)), ()))
        .reduce_by_key_with(|a, _| a, n)
        .glom()
        .map(|v| {
            v.into_iter()
                .map(|((s, d), ())| Edge::new(s, d, ()))
                .collect::<Vec<_>>()
        });
    let canon: Graph<(), ()> = Graph::build(
        Some(g.vertices().map(|(id, _)| (id, ()))),
        canon_edges,
        None,
        0,
    );
    let nbrs = canon.aggregate_aligned(
        |c| {
            let (s, d) = (c.src_id, c.dst_id);
            c.send_to_src(vec![d]);
            c.send_to_dst(vec![s]);
        },
        |mut a: Vec<VertexId>, b| {
            a.extend(b);
            a
        },
        TripletFields::None,
        None,
    );
    let sets = canon
        .join_aligned(&nbrs, |_, _, m| {
            let mut v = m.cloned().unwrap_or_default();
            v.sort_unstable();
            v.dedup();
            v
        })
        .localize()?;
    let counts = sets.aggregate_messages(
        |c| {
            let n = intersection_size(c.src_attr(), c.dst_attr());
            c.send_to_src(n);
            c.send_to_dst(n);
        },
        |a, b| a + b,
        TripletFields::All,
    );
    g.outer_join_vertices(&counts, |_, _, c| c.unwrap_or(0) / 2)
        .localize()
}

fn intersection_size(a: &[VertexId], b: &[VertexId]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// GraphX's `LabelPropagation`: every vertex starts with its own id as label and, for
/// `max_steps` supersteps, takes the most frequent label among its neighbours (both
/// directions). GraphX breaks ties arbitrarily; here the smallest label wins.
pub fn label_propagation<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    max_steps: usize,
) -> Result<Graph<VertexId, ED>> {
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

/// A map from landmark to hop count.
pub type ShortestPathMap = BTreeMap<VertexId, u32>;

fn add_maps(mut a: ShortestPathMap, b: &ShortestPathMap) -> ShortestPathMap {
    for (&k, &v) in b {
        let e = a.entry(k).or_insert(v);
        *e = (*e).min(v);
    }
    a
}

/// GraphX's `ShortestPaths`: for every vertex, the number of hops of a shortest path
/// following edge directions to each reachable landmark.
pub fn shortest_paths<VD: Data, ED: Data>(
    g: &Graph<VD, ED>,
    landmarks: &[VertexId],
) -> Result<Graph<ShortestPathMap, ED>> {
    let marks: Arc<Vec<VertexId>> = Arc::new(landmarks.to_vec());
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

/// The vertices of a graph as a map, for tests and small graphs.
pub fn collect_vertices<VD: Data>(
    vertices: &Dataset<(VertexId, VD)>,
) -> Result<BTreeMap<VertexId, VD>> {
    Ok(vertices.collect()?.into_iter().collect())
}

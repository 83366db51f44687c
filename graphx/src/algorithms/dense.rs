//! Specialized loops on the graph's own edge and vertex partitions.
//!
//! Connected components and the out-degrees run as two engine jobs per step: one task per
//! edge partition gathers the vertices' values through the routing table and computes a
//! dense array per local vertex; then one task per vertex partition combines the partial
//! arrays of its vertices (again through the routing table). No records are hashed or
//! boxed: only dense arrays move.
//!
//! Static PageRank needs one job per iteration. Once, before the loop, each edge
//! partition's transposed CSR is cut by destination vertex partition and the pieces are
//! shuffled to their vertex partitions, with every source rewritten as its position in one
//! flat array of all contributions. Each iteration, one task per vertex partition then
//! sums its in-edges' contributions, edge partition by edge partition, and applies the
//! update; the new contributions are collected into the next flat array. In cluster mode
//! that is one exchange round per iteration, carrying only the contributions. It computes
//! exactly what the message-passing version
//! ([`crate::algorithms::static_page_rank_message_passing`]) computes, in the same
//! summation order: per edge partition in ascending source order, then across edge
//! partitions in partition order.

use std::marker::PhantomData;
use std::sync::Arc;

use firesteel_core::{Data, Dataset, ModPartitioner, Partitioner};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::partition::{EdgePartition, VPart, VertexIndex};
use crate::{Graph, Result, VertexId};

/// Per vertex partition `q`: `(edge partition p, p's partial values for q's vertices)`.
type Partials<T> = Dataset<(u64, (u64, Dense<T>))>;

/// A value of a dense array: a plain fixed-size number, shipped little-endian.
pub(crate) trait Plain: Data + Copy + bytemuck::Pod {
    fn to_le(self) -> Self;
}

impl Plain for f64 {
    fn to_le(self) -> Self {
        f64::from_bits(self.to_bits().to_le())
    }
}

impl Plain for u64 {
    fn to_le(self) -> Self {
        self.to_le()
    }
}

impl Plain for u32 {
    fn to_le(self) -> Self {
        self.to_le()
    }
}

/// A dense array of plain numbers that serializes as one byte string, so that shipping it
/// to a peer (cluster mode) is a bulk copy rather than one serde call per element, and
/// estimating its size walks nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense<T>(pub Vec<T>);

impl<T: Plain> Serialize for Dense<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if cfg!(target_endian = "little") {
            s.serialize_bytes(bytemuck::cast_slice(&self.0))
        } else {
            let le: Vec<T> = self.0.iter().map(|x| x.to_le()).collect();
            s.serialize_bytes(bytemuck::cast_slice(&le))
        }
    }
}

impl<'de, T: Plain> Deserialize<'de> for Dense<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Bytes<T>(PhantomData<T>);
        impl<T: Plain> Visitor<'_> for Bytes<T> {
            type Value = Dense<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a byte string of {}-byte numbers", size_of::<T>())
            }
            fn visit_bytes<E: de::Error>(self, b: &[u8]) -> std::result::Result<Dense<T>, E> {
                if b.len() % size_of::<T>() != 0 {
                    return Err(E::invalid_length(b.len(), &self));
                }
                // `b` may be unaligned: copy it into a vector of `T`.
                let mut v = vec![T::zeroed(); b.len() / size_of::<T>()];
                bytemuck::cast_slice_mut::<T, u8>(&mut v).copy_from_slice(b);
                if cfg!(target_endian = "big") {
                    v.iter_mut().for_each(|x| *x = x.to_le());
                }
                Ok(Dense(v))
            }
        }
        d.deserialize_bytes(Bytes(PhantomData))
    }
}

/// An edge job: `f(edge partition, gathered per-local values)` for every edge partition,
/// where the gathered value of local vertex `l` is `values[q][routes]`. The per-local
/// results are cut into one slice per vertex partition and shuffled to it, so each slice
/// goes only where it is combined (in cluster mode, to the process owning the vertex
/// partition). Lazy: [`vertex_job`] runs it.
fn edge_job<ED: Data, T: Plain>(
    edges: &Dataset<Arc<EdgePartition<ED>>>,
    layout: &Layout,
    values: Option<Arc<Vec<Arc<Vec<T>>>>>,
    f: impl Fn(&EdgePartition<ED>, &[T]) -> Vec<T> + Send + Sync + 'static,
) -> Partials<T> {
    let indices = layout.indices.clone();
    let nv = indices.len();
    let f = Arc::new(f);
    edges
        .map_partitions_with_index(move |p, eps| {
            let indices = indices.clone();
            let values = values.clone();
            let f = f.clone();
            eps.flat_map(move |ep| {
                let mut local = Vec::new();
                if let Some(values) = &values {
                    local.reserve(ep.num_local());
                    for (ix, vals) in indices.iter().zip(values.iter()) {
                        local.extend(ix.routes[p].iter().map(|&i| vals[i as usize]));
                    }
                }
                let part = f(&ep, &local);
                (0..nv)
                    .map(|q| {
                        let range = ep.ranges[q] as usize..ep.ranges[q + 1] as usize;
                        (q as u64, (p as u64, Dense(part[range].to_vec())))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .partition_by(Arc::new(ModPartitioner::new(nv)) as Arc<dyn Partitioner<u64>>)
}

/// Runs a vertex job: for every vertex partition `q`, the edge partitions' partials for
/// `q` combined (from `zero`, in edge partition order) onto `q`'s vertices, then
/// `apply(q, index, combined)`.
fn vertex_job<R: Data, T: Plain>(
    layout: &Layout,
    partials: Partials<T>,
    zero: T,
    combine: impl Fn(T, T) -> T + Copy + Send + Sync + 'static,
    apply: impl Fn(usize, &VertexIndex, Vec<T>) -> R + Send + Sync + 'static,
) -> Result<Vec<R>> {
    Ok(layout
        .index_ds
        .zip_partitions(&partials, false, move |mut ixs, parts| {
            let (q, ix) = ixs.next()?;
            let q = q as usize;
            let mut parts: Vec<(u64, Dense<T>)> = parts.map(|(_, pv)| pv).collect();
            parts.sort_by_key(|(p, _)| *p);
            let mut acc = vec![zero; ix.ids.len()];
            for (p, Dense(part)) in parts {
                let route = &ix.routes[p as usize];
                debug_assert_eq!(part.len(), route.len(), "partials match the route");
                for (&i, &v) in route.iter().zip(&part) {
                    let slot = &mut acc[i as usize];
                    *slot = combine(*slot, v);
                }
            }
            Some(apply(q, &ix, acc))
        })?
        .collect()?)
}

fn add(a: f64, b: f64) -> f64 {
    a + b
}

/// What the loops start from: the vertex indices, and a dataset with one index per vertex
/// partition.
struct Layout {
    indices: Arc<Vec<Arc<VertexIndex>>>,
    index_ds: Dataset<(u64, Arc<VertexIndex>)>,
}

fn layout<VD: Data, ED: Data>(g: &Graph<VD, ED>) -> Result<Layout> {
    let indices: Vec<Arc<VertexIndex>> = g.verts.map(|vp| vp.index).collect()?;
    let indices = Arc::new(indices);
    let index_ds = g.context().parallelize(
        indices
            .iter()
            .enumerate()
            .map(|(q, ix)| (q as u64, ix.clone()))
            .collect(),
        g.nv,
    );
    Ok(Layout { indices, index_ds })
}

/// Connected components (GraphX semantics: the smallest id of the component; `max_iter`
/// bounds the supersteps) on the fast path. Each iteration, every edge partition takes, for
/// each local vertex, the minimum of its label and its neighbours' labels; each vertex
/// partition takes the minimum over edge partitions. This is the Pregel version's
/// superstep: an edge whose ends were both unchanged could only carry a label its
/// destination already has, so skipping inactive edges changes nothing.
pub(crate) fn cc_fast<VD: Data, ED: Data>(
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

/// Static PageRank (personalized when `src` is set), GraphX semantics, on the fast path.
pub(crate) fn static_rank_fast<VD: Data, ED: Data>(
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
        return crate::algorithms::static_page_rank_message_passing(g, num_iter, reset_prob, src);
    }

    // Out-degrees, through an edge job and a vertex job.
    let local_out = edge_job(&g.edges, &lay, None, |ep, _| {
        ep.offsets
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64)
            .collect::<Vec<f64>>()
    });
    let outdeg: Vec<Dense<f64>> = vertex_job(&lay, local_out, 0.0, add, |_, _, s| Dense(s))?;
    let inv_out: Arc<Vec<Arc<Vec<f64>>>> = Arc::new(
        outdeg
            .iter()
            .map(|d| {
                Arc::new(
                    d.0.iter()
                        .map(|&d| if d > 0.0 { 1.0 / d } else { 0.0 })
                        .collect(),
                )
            })
            .collect(),
    );

    let start_rank = |id: VertexId| match src {
        Some(s) if s != id => 0.0,
        _ => 1.0,
    };
    let mut ranks: Vec<Arc<Vec<f64>>> = indices
        .iter()
        .map(|ix| Arc::new(ix.ids.iter().map(|&id| start_rank(id)).collect()))
        .collect();
    let mut flat: Arc<Vec<f64>> = Arc::new(
        ranks
            .iter()
            .zip(inv_out.iter())
            .flat_map(|(r, w)| r.iter().zip(w.iter()).map(|(r, w)| r * w))
            .collect(),
    );
    let parts = pull_parts(&g.edges, &lay, Arc::new(flat_start))?;
    for it in 0..num_iter {
        // Only the last iteration's ranks are kept: the others need only contributions.
        let last = it + 1 == num_iter;
        let inv = inv_out.clone();
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
                    .map(|(&id, s)| {
                        let reset = match src {
                            Some(x) if x != id => 0.0,
                            _ => reset_prob,
                        };
                        reset + (1.0 - reset_prob) * s
                    })
                    .collect();
                let c = rank
                    .iter()
                    .zip(inv[pp.q].iter())
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
    let n: usize = ranks.iter().map(|r| r.len()).sum();
    let factor = if src.is_some() {
        1.0 / sum
    } else {
        n as f64 / sum
    };
    let parts: Vec<VPart<f64>> = indices
        .iter()
        .zip(ranks)
        .map(|(ix, r)| VPart {
            index: ix.clone(),
            attrs: Arc::new(r.iter().map(|x| x * factor).collect()),
        })
        .collect();
    let verts = ctx.parallelize(parts, nv);
    // Edge weights 1 / outdeg(src), as GraphX's result carries; computed when read.
    let w = inv_out;
    let idx2 = indices.clone();
    let edges = g
        .edges
        .map_partitions_with_index(move |p, eps| {
            let w = w.clone();
            let idx = idx2.clone();
            eps.map(move |ep| {
                let mut local: Vec<f64> = Vec::with_capacity(ep.num_local());
                for (ix, inv) in idx.iter().zip(w.iter()) {
                    local.extend(ix.routes[p].iter().map(|&i| inv[i as usize]));
                }
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

    #[test]
    fn dense_arrays_round_trip_as_bytes() {
        let d = Dense(vec![0.0, -1.5, f64::MAX, 1e-300]);
        let bytes = postcard::to_allocvec(&(7u64, d.clone())).unwrap();
        // One length byte, then the values' 32 bytes, after the key's one varint byte.
        assert_eq!(bytes.len(), 1 + 1 + 32);
        let back: (u64, Dense<f64>) = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, (7, d));
        let ids = Dense(vec![u64::MAX, 0, 42]);
        let back: Dense<u64> = postcard::from_bytes(&postcard::to_allocvec(&ids).unwrap()).unwrap();
        assert_eq!(back, ids);
    }

    #[test]
    fn a_byte_string_of_the_wrong_length_is_an_error() {
        let bytes = postcard::to_allocvec(serde_bytes::Bytes::new(&[1, 2, 3])).unwrap();
        assert!(postcard::from_bytes::<Dense<f64>>(&bytes).is_err());
    }
}

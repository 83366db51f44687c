//! Dense arrays over the graph's own edge and vertex partitions, for the loops of
//! [`super::page_rank`] and [`super::connected_components`].
//!
//! A [`Layout`] holds the vertex partitions' indices (ids and routing tables). An edge job
//! ([`edge_job`]) runs one task per edge partition: it gathers the vertices' values through
//! the routing table into a dense array per local vertex ([`gather`]), computes a dense
//! array of partial results, and cuts it into one slice per vertex partition. A vertex job
//! ([`vertex_job`]) runs one task per vertex partition: it combines the slices of its
//! vertices (again through the routing table) and applies the update. No records are hashed
//! or boxed: only [`Dense`] arrays move, and they ship as byte strings.

use std::marker::PhantomData;
use std::sync::Arc;

use firesteel_core::{Data, Dataset, ModPartitioner, Partitioner};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::partition::{EdgePartition, VertexIndex};
use crate::{Graph, Result};

/// Per vertex partition `q`: `(edge partition p, p's partial values for q's vertices)`.
pub(super) type Partials<T> = Dataset<(u64, (u64, Dense<T>))>;

/// A value of a dense array: a plain fixed-size number, shipped little-endian.
pub(super) trait Plain: Data + Copy + bytemuck::Pod {
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
pub(super) struct Dense<T>(pub(super) Vec<T>);

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
                if !b.len().is_multiple_of(size_of::<T>()) {
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

/// The values of edge partition `p`'s local vertices, in local order: `values[q]` holds
/// vertex partition `q`'s values in its own order, and `q`'s route for `p` says which of them
/// `p` references, in the order `p` numbers them.
pub(super) fn gather<ED, T: Copy>(
    indices: &[Arc<VertexIndex>],
    values: &[Arc<Vec<T>>],
    p: usize,
    ep: &EdgePartition<ED>,
) -> Vec<T> {
    let mut local = Vec::with_capacity(ep.num_local());
    for (ix, vals) in indices.iter().zip(values) {
        local.extend(ix.routes[p].iter().map(|&i| vals[i as usize]));
    }
    local
}

/// An edge job: `f(edge partition, gathered per-local values)` for every edge partition,
/// where the gathered value of local vertex `l` is `values[q][routes]`. The per-local
/// results are cut into one slice per vertex partition and shuffled to it, so each slice
/// goes only where it is combined (in cluster mode, to the process owning the vertex
/// partition). Lazy: [`vertex_job`] runs it.
pub(super) fn edge_job<ED: Data, T: Plain>(
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
                let local = match &values {
                    Some(values) => gather(&indices, values, p, &ep),
                    None => Vec::new(),
                };
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
pub(super) fn vertex_job<R: Data, T: Plain>(
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

/// What the loops start from: the vertex indices, and a dataset with one index per vertex
/// partition.
pub(super) struct Layout {
    pub(super) indices: Arc<Vec<Arc<VertexIndex>>>,
    pub(super) index_ds: Dataset<(u64, Arc<VertexIndex>)>,
}

/// The graph's [`Layout`] (one job, collecting the vertex indices).
pub(super) fn layout<VD: Data, ED: Data>(g: &Graph<VD, ED>) -> Result<Layout> {
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

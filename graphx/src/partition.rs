//! Edge partitions (local CSR + local vertex index), vertex partitions with their routing
//! tables, and the partition strategies.

use std::any::Any;
use std::sync::Arc;

use firesteel_core::partitioner::stable_hash;
use firesteel_core::Partitioner;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::{Edge, VertexId};

/// How edges are assigned to edge partitions, with GraphX's formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PartitionStrategy {
    /// By source only (`|src × 1125899906842597| mod n`): all out-edges of a vertex share a
    /// partition.
    EdgePartition1D,
    /// A 2D grid over the adjacency matrix: the source picks the column and the destination
    /// the row, so a vertex is replicated to at most about `2√n` partitions. Uses GraphX's
    /// formula for both square and non-square partition counts.
    EdgePartition2D,
    /// A hash of `(src, dst)`: duplicate edges share a partition.
    RandomVertexCut,
    /// A hash of `(min, max)`: both directions of an edge and duplicates share a partition.
    CanonicalRandomVertexCut,
}

const MIXING_PRIME: i64 = 1_125_899_906_842_597;

fn mix_abs(id: VertexId) -> u64 {
    (id as i64).wrapping_mul(MIXING_PRIME).unsigned_abs()
}

impl PartitionStrategy {
    /// The partition, in `0..num_parts`, of an edge from `src` to `dst`.
    ///
    /// `RandomVertexCut` and `CanonicalRandomVertexCut` hash the pair with the engine's
    /// stable hash where GraphX uses Scala's tuple `hashCode`; the other two are GraphX's
    /// formulas exactly.
    pub fn get_partition(self, src: VertexId, dst: VertexId, num_parts: usize) -> usize {
        let n = num_parts.max(1) as u64;
        match self {
            PartitionStrategy::EdgePartition1D => (mix_abs(src) % n) as usize,
            PartitionStrategy::EdgePartition2D => {
                let ceil_sqrt = (n as f64).sqrt().ceil() as u64;
                if n == ceil_sqrt * ceil_sqrt {
                    let col = mix_abs(src) % ceil_sqrt;
                    let row = mix_abs(dst) % ceil_sqrt;
                    ((col * ceil_sqrt + row) % n) as usize
                } else {
                    let cols = ceil_sqrt;
                    let rows = n.div_ceil(cols);
                    let last_col_rows = n - rows * (cols - 1);
                    let col = mix_abs(src) % n / rows;
                    let row = mix_abs(dst) % if col < cols - 1 { rows } else { last_col_rows };
                    (col * rows + row) as usize
                }
            }
            PartitionStrategy::RandomVertexCut => (stable_hash(&(src, dst)) % n) as usize,
            PartitionStrategy::CanonicalRandomVertexCut => {
                (stable_hash(&(src.min(dst), src.max(dst))) % n) as usize
            }
        }
    }
}

/// Sends key `k` to partition `k mod n`: the keys of internal shuffles are partition ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdPartitioner(pub usize);

impl Partitioner<u64> for IdPartitioner {
    fn num_partitions(&self) -> usize {
        self.0
    }
    fn get_partition(&self, key: &u64) -> usize {
        (*key % self.0 as u64) as usize
    }
    fn equivalent(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<IdPartitioner>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The vertex partition of a vertex id: the engine's `HashPartitioner`, so that user
/// datasets hash partitioned into as many partitions are co-partitioned with the vertices.
#[inline]
pub(crate) fn vertex_part(vid: VertexId, nv: usize) -> usize {
    (stable_hash(&vid) % nv as u64) as usize
}

/// A vertex's role in an edge partition: 0 = only a source, 1 = both, 2 = only a
/// destination. Local ids within a vertex partition's range are ordered by (role, id), so
/// that the sources form a prefix and the destinations a suffix of the range.
pub(crate) type Role = u8;

/// One partition of edges: a CSR over local vertex ids, as GraphX's `EdgePartition`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgePartition<ED> {
    /// Local id → global id. Local ids are ordered by (vertex partition, role, global id).
    pub(crate) global: Vec<VertexId>,
    /// `ranges[q]..ranges[q + 1]` are the local ids of vertex partition `q`.
    pub(crate) ranges: Vec<u32>,
    /// Per vertex partition, the first local id with role 1 and the first with role 2.
    pub(crate) splits: Vec<(u32, u32)>,
    /// CSR offsets by local source id (`global.len() + 1` entries).
    pub(crate) offsets: Vec<u32>,
    /// Local destination of each edge, edges ordered by (local source, local destination).
    pub(crate) dst: Vec<u32>,
    /// Attribute of each edge.
    pub(crate) attrs: Vec<ED>,
}

impl<ED> EdgePartition<ED> {
    /// Builds a partition from edges; `nv` is the number of vertex partitions.
    pub(crate) fn build(edges: Vec<Edge<ED>>, nv: usize) -> Self {
        // One hash lookup per endpoint: each vertex gets a provisional id in order of first
        // appearance, and its role bits (1 = source, 2 = destination).
        let mut provisional: FxHashMap<VertexId, u32> =
            FxHashMap::with_capacity_and_hasher(edges.len() / 2, Default::default());
        let mut ids: Vec<VertexId> = Vec::new();
        let mut bits: Vec<u8> = Vec::new();
        let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(edges.len());
        let mut number = |v: VertexId, bit: u8| -> u32 {
            let next = ids.len() as u32;
            let i = *provisional.entry(v).or_insert(next);
            if i == next {
                ids.push(v);
                bits.push(0);
            }
            bits[i as usize] |= bit;
            i
        };
        for e in &edges {
            let s = number(e.src_id, 1);
            let d = number(e.dst_id, 2);
            pairs.push((s, d));
        }
        // bits: 1 = src, 2 = dst → role 0 (src only), 1 (both), 2 (dst only)
        let role_of = |bits: u8| -> Role {
            match bits {
                1 => 0,
                3 => 1,
                _ => 2,
            }
        };
        let mut keyed: Vec<(u32, Role, VertexId, u32)> = ids
            .iter()
            .zip(&bits)
            .enumerate()
            .map(|(i, (&v, &b))| (vertex_part(v, nv) as u32, role_of(b), v, i as u32))
            .collect();
        keyed.sort_unstable();
        let mut ranges = vec![0u32; nv + 1];
        let mut splits = vec![(0u32, 0u32); nv];
        for &(q, role, _, _) in &keyed {
            ranges[q as usize + 1] += 1;
            if role == 0 {
                splits[q as usize].0 += 1;
            }
            if role <= 1 {
                splits[q as usize].1 += 1;
            }
        }
        for q in 0..nv {
            ranges[q + 1] += ranges[q];
            splits[q].0 += ranges[q];
            splits[q].1 += ranges[q];
        }
        // Provisional id → local id (the position in `keyed`).
        let mut local = vec![0u32; keyed.len()];
        for (l, k) in keyed.iter().enumerate() {
            local[k.3 as usize] = l as u32;
        }
        let global: Vec<VertexId> = keyed.iter().map(|k| k.2).collect();
        // Edges ordered by (local source, local destination), ties in input order, as a
        // stable sort gives them: a counting sort by source, then each source's
        // destinations sorted stably.
        let n = global.len();
        let mut start = vec![0usize; n + 1];
        for &(s, _) in &pairs {
            start[local[s as usize] as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        // (local destination, edge) in source order; each source's run then sorted stably
        // by destination (the edge index breaks ties in input order).
        let mut order = vec![(0u32, 0u32); pairs.len()];
        for (k, &(s, d)) in pairs.iter().enumerate() {
            let slot = &mut next[local[s as usize] as usize];
            order[*slot] = (local[d as usize], k as u32);
            *slot += 1;
        }
        for w in start.windows(2) {
            let run = &mut order[w[0]..w[1]];
            if run.len() > 1 {
                run.sort_unstable();
            }
        }
        let mut attrs: Vec<Option<ED>> = edges.into_iter().map(|e| Some(e.attr)).collect();
        let es: Vec<(u32, u32, ED)> = order
            .iter()
            .map(|&(d, k)| {
                let s = pairs[k as usize].0;
                let attr = attrs[k as usize].take().expect("each edge once");
                (local[s as usize], d, attr)
            })
            .collect();
        Self::from_sorted(global, ranges, splits, es)
    }

    /// Builds the CSR from edges sorted by (local source, local destination).
    pub(crate) fn from_sorted(
        global: Vec<VertexId>,
        ranges: Vec<u32>,
        splits: Vec<(u32, u32)>,
        es: Vec<(u32, u32, ED)>,
    ) -> Self {
        let mut offsets = vec![0u32; global.len() + 1];
        for e in &es {
            offsets[e.0 as usize + 1] += 1;
        }
        for i in 0..global.len() {
            offsets[i + 1] += offsets[i];
        }
        let mut dst = Vec::with_capacity(es.len());
        let mut attrs = Vec::with_capacity(es.len());
        for (_, d, a) in es {
            dst.push(d);
            attrs.push(a);
        }
        EdgePartition {
            global,
            ranges,
            splits,
            offsets,
            dst,
            attrs,
        }
    }

    /// The transposed CSR: for each local destination, its local sources, in ascending
    /// source order (the order in which a scan of the CSR meets them).
    pub(crate) fn in_csr(&self) -> (Vec<u32>, Vec<u32>) {
        let n = self.global.len();
        let mut off = vec![0u32; n + 1];
        for &d in &self.dst {
            off[d as usize + 1] += 1;
        }
        for i in 0..n {
            off[i + 1] += off[i];
        }
        let mut pos = off.clone();
        let mut srcs = vec![0u32; self.dst.len()];
        self.for_each(|s, d, _| {
            srcs[pos[d as usize] as usize] = s;
            pos[d as usize] += 1;
        });
        (off, srcs)
    }

    /// Number of edges.
    pub(crate) fn len(&self) -> usize {
        self.dst.len()
    }

    /// Number of local vertices.
    pub(crate) fn num_local(&self) -> usize {
        self.global.len()
    }

    /// Calls `f(local src, local dst, edge index)` for every edge.
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(u32, u32, usize)) {
        for s in 0..self.global.len() {
            for e in self.offsets[s] as usize..self.offsets[s + 1] as usize {
                f(s as u32, self.dst[e], e);
            }
        }
    }

    /// The edges, with global ids.
    pub(crate) fn edges(&self) -> Vec<Edge<ED>>
    where
        ED: Clone,
    {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|s, d, e| {
            out.push(Edge::new(
                self.global[s as usize],
                self.global[d as usize],
                self.attrs[e].clone(),
            ))
        });
        out
    }

    /// The same structure with new edge attributes (in edge order).
    pub(crate) fn with_attrs<ED2>(&self, attrs: Vec<ED2>) -> EdgePartition<ED2> {
        EdgePartition {
            global: self.global.clone(),
            ranges: self.ranges.clone(),
            splits: self.splits.clone(),
            offsets: self.offsets.clone(),
            dst: self.dst.clone(),
            attrs,
        }
    }

    /// The local range shipped for vertex partition `q` under the given fields.
    pub(crate) fn ship_range(&self, q: usize, src: bool, dst: bool) -> (u32, u32) {
        let (lo, hi) = (self.ranges[q], self.ranges[q + 1]);
        match (src, dst) {
            (true, true) => (lo, hi),
            (true, false) => (lo, self.splits[q].1),
            (false, true) => (self.splits[q].0, hi),
            (false, false) => (lo, lo),
        }
    }
}

/// The ids of a vertex partition and its routing table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VertexIndex {
    /// Vertex ids, sorted.
    pub ids: Vec<VertexId>,
    /// Per edge partition: local vertex indices, in that edge partition's local order.
    pub routes: Vec<Vec<u32>>,
    /// Per edge partition: where role 1 and role 2 start in `routes[p]`.
    pub splits: Vec<(u32, u32)>,
}

impl VertexIndex {
    /// Builds the index from the partition's ids (sorted, distinct) and route records
    /// `(vid, edge partition, role)`.
    pub(crate) fn build(
        ids: Vec<VertexId>,
        mut routes_in: Vec<(u32, Role, VertexId)>,
        ne: usize,
    ) -> Self {
        routes_in.sort_unstable();
        let mut routes = vec![Vec::new(); ne];
        let mut splits = vec![(0u32, 0u32); ne];
        for (p, role, v) in routes_in {
            let i = ids.binary_search(&v).expect("routed vertex exists") as u32;
            let r = &mut routes[p as usize];
            r.push(i);
            if role == 0 {
                splits[p as usize].0 += 1;
            }
            if role <= 1 {
                splits[p as usize].1 += 1;
            }
        }
        VertexIndex {
            ids,
            routes,
            splits,
        }
    }

    /// The positions of `routes[p]` shipped under the given fields.
    pub(crate) fn ship_range(&self, p: usize, src: bool, dst: bool) -> (usize, usize) {
        let len = self.routes[p].len();
        let (a, b) = (self.splits[p].0 as usize, self.splits[p].1 as usize);
        match (src, dst) {
            (true, true) => (0, len),
            (true, false) => (0, b),
            (false, true) => (a, len),
            (false, false) => (0, 0),
        }
    }

    /// The local index of `vid`, if present.
    pub(crate) fn find(&self, vid: VertexId) -> Option<usize> {
        self.ids.binary_search(&vid).ok()
    }
}

/// A vertex partition: an index shared between graphs of the same structure, and the
/// attributes, aligned with the index's ids.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "VD: Serialize", deserialize = "VD: Deserialize<'de>"))]
pub(crate) struct VPart<VD> {
    pub index: Arc<VertexIndex>,
    pub attrs: Arc<Vec<VD>>,
}

impl<VD> Clone for VPart<VD> {
    fn clone(&self) -> Self {
        VPart {
            index: self.index.clone(),
            attrs: self.attrs.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partition built by hashing and counting sorts equals the definition: local ids
    /// ordered by (vertex partition, role, id), edges by (local source, local destination)
    /// with duplicates in input order.
    #[test]
    fn build_matches_its_definition() {
        let mut x: u64 = 7;
        let mut edges = Vec::new();
        for k in 0..3000i32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let (s, d) = ((x >> 33) % 97, (x >> 17) % 89 + 50);
            edges.push(Edge::new(s, d, k));
        }
        for nv in [1, 3, 8] {
            let p = EdgePartition::build(edges.clone(), nv);
            let mut roles: std::collections::BTreeMap<VertexId, u8> = Default::default();
            for e in &edges {
                *roles.entry(e.src_id).or_default() |= 1;
                *roles.entry(e.dst_id).or_default() |= 2;
            }
            let role = |b: u8| match b {
                1 => 0u8,
                3 => 1,
                _ => 2,
            };
            let mut keyed: Vec<(usize, u8, VertexId)> = roles
                .iter()
                .map(|(&v, &b)| (vertex_part(v, nv), role(b), v))
                .collect();
            keyed.sort();
            let global: Vec<VertexId> = keyed.iter().map(|k| k.2).collect();
            assert_eq!(p.global, global);
            let local = |v: VertexId| global.iter().position(|&g| g == v).unwrap() as u32;
            let mut es: Vec<(u32, u32, i32)> = edges
                .iter()
                .map(|e| (local(e.src_id), local(e.dst_id), e.attr))
                .collect();
            es.sort_by_key(|e| (e.0, e.1));
            let got: Vec<(u32, u32, i32)> = (0..p.global.len())
                .flat_map(|s| {
                    let (a, b) = (p.offsets[s] as usize, p.offsets[s + 1] as usize);
                    (a..b).map(move |i| (s as u32, i))
                })
                .map(|(s, i)| (s, p.dst[i], p.attrs[i]))
                .collect();
            assert_eq!(got, es, "{nv} vertex partitions");
        }
    }

    #[test]
    fn strategies_stay_in_range_and_2d_bounds_replication() {
        for n in [1usize, 2, 3, 4, 7, 9, 16] {
            for s in [
                PartitionStrategy::EdgePartition1D,
                PartitionStrategy::EdgePartition2D,
                PartitionStrategy::RandomVertexCut,
                PartitionStrategy::CanonicalRandomVertexCut,
            ] {
                for a in 0..50u64 {
                    for b in 0..50u64 {
                        assert!(s.get_partition(a, b, n) < n);
                    }
                }
            }
            // 2D: a vertex's out-edges land in at most ceil(sqrt(n)) partitions (one column).
            let mut parts: Vec<usize> = (0..500u64)
                .map(|d| PartitionStrategy::EdgePartition2D.get_partition(7, d, n))
                .collect();
            parts.sort();
            parts.dedup();
            assert!(parts.len() <= (n as f64).sqrt().ceil() as usize + 1);
        }
        // GraphX's 1D formula on known values: |3 * prime| mod 4.
        assert_eq!(
            PartitionStrategy::EdgePartition1D.get_partition(3, 0, 4),
            ((3i64 * MIXING_PRIME) % 4) as usize
        );
        let c = PartitionStrategy::CanonicalRandomVertexCut;
        assert_eq!(c.get_partition(5, 9, 7), c.get_partition(9, 5, 7));
    }

    #[test]
    fn edge_partition_orders_locals_by_partition_role_and_id() {
        let es = vec![
            Edge::new(1, 2, ()),
            Edge::new(2, 3, ()),
            Edge::new(1, 3, ()),
            Edge::new(4, 4, ()),
        ];
        let p = EdgePartition::build(es, 1);
        // roles: 1 src only, 2 both, 3 dst only, 4 both
        assert_eq!(p.global, vec![1, 2, 4, 3]);
        assert_eq!(p.splits, vec![(1, 3)]);
        let mut got: Vec<(u64, u64)> = p.edges().iter().map(|e| (e.src_id, e.dst_id)).collect();
        got.sort();
        assert_eq!(got, vec![(1, 2), (1, 3), (2, 3), (4, 4)]);
        assert_eq!(p.ship_range(0, true, false), (0, 3));
        assert_eq!(p.ship_range(0, false, true), (1, 4));
    }
}

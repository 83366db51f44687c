//! Triangle counting, as GraphX's `TriangleCount` ([`triangle_count`]). It has no
//! parameters.

use firesteel_core::Data;

use crate::{Edge, Graph, Result, TripletFields, VertexId};

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

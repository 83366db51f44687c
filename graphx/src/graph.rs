//! [`Graph`]: vertex and edge partitions, the builders and GraphX's operators.

use std::fmt;
use std::sync::Arc;

use firesteel_core::{Context, Data, Dataset, HashPartitioner};
use serde::{Deserialize, Serialize};

use crate::partition::{EdgePartition, IdPartitioner, Role, VPart, VertexIndex};
use crate::{
    Edge, EdgeDirection, EdgeTriplet, GraphError, PartitionStrategy, Result, TripletFields,
    VertexId,
};

/// A property graph: vertices with attributes `VD` and directed edges with attributes `ED`,
/// as GraphX's `Graph[VD, ED]`.
///
/// Vertices are hash partitioned by id into as many partitions as there are edge
/// partitions. Edges stay in the partitions they were built in (as GraphX does) until
/// [`partition_by`](Self::partition_by) moves them by a [`PartitionStrategy`]. Both sides
/// are cached datasets of per-partition structures behind `Arc`s, so operators that keep
/// the structure (`map_vertices`, `map_edges`, joins, `aggregate_messages`) reuse it.
///
/// Operators are lazy, as dataset transformations are; counts and `collect`s run jobs.
pub struct Graph<VD, ED> {
    pub(crate) verts: Dataset<VPart<VD>>,
    pub(crate) edges: Dataset<Arc<EdgePartition<ED>>>,
    pub(crate) nv: usize,
    pub(crate) ne: usize,
    pub(crate) checkpoint_interval: usize,
}

impl<VD, ED> Clone for Graph<VD, ED> {
    fn clone(&self) -> Self {
        Graph {
            verts: self.verts.clone(),
            edges: self.edges.clone(),
            nv: self.nv,
            ne: self.ne,
            checkpoint_interval: self.checkpoint_interval,
        }
    }
}

impl<VD: 'static, ED: 'static> fmt::Debug for Graph<VD, ED> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Graph")
            .field("vertex_partitions", &self.nv)
            .field("edge_partitions", &self.ne)
            .finish_non_exhaustive()
    }
}

/// An edge seen with (some of) its vertices' attributes, as passed to
/// [`Graph::map_triplets`] and [`Graph::subgraph`].
#[derive(Debug)]
pub struct Triplet<'a, VD, ED> {
    /// The source vertex.
    pub src_id: VertexId,
    /// The destination vertex.
    pub dst_id: VertexId,
    /// The edge attribute.
    pub attr: &'a ED,
    src_attr: Option<&'a VD>,
    dst_attr: Option<&'a VD>,
}

impl<'a, VD, ED> Triplet<'a, VD, ED> {
    /// The source's attribute.
    ///
    /// # Panics
    /// If the [`TripletFields`] hint did not include the source.
    pub fn src_attr(&self) -> &'a VD {
        self.src_attr
            .expect("source attribute not shipped: the TripletFields hint excludes it")
    }
    /// The destination's attribute.
    ///
    /// # Panics
    /// If the [`TripletFields`] hint did not include the destination.
    pub fn dst_attr(&self) -> &'a VD {
        self.dst_attr
            .expect("destination attribute not shipped: the TripletFields hint excludes it")
    }
}

/// What [`Graph::aggregate_messages`] passes to its send function for each edge: the edge,
/// its vertices' attributes (as the [`TripletFields`] hint allows), and ways to send a
/// message to either end. Messages to the same vertex are merged with the merge function
/// right away, inside the edge partition.
pub struct EdgeContext<'a, VD, ED, A> {
    /// The source vertex.
    pub src_id: VertexId,
    /// The destination vertex.
    pub dst_id: VertexId,
    /// The edge attribute.
    pub attr: &'a ED,
    src_attr: Option<&'a VD>,
    dst_attr: Option<&'a VD>,
    src_local: usize,
    dst_local: usize,
    acc: &'a mut [Option<A>],
    merge: &'a (dyn Fn(A, A) -> A + 'a),
}

impl<VD, ED, A> fmt::Debug for EdgeContext<'_, VD, ED, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeContext")
            .field("src_id", &self.src_id)
            .field("dst_id", &self.dst_id)
            .finish_non_exhaustive()
    }
}

impl<'a, VD, ED, A> EdgeContext<'a, VD, ED, A> {
    /// The source's attribute.
    ///
    /// # Panics
    /// If the [`TripletFields`] hint did not include the source.
    #[inline]
    pub fn src_attr(&self) -> &'a VD {
        self.src_attr
            .expect("source attribute not shipped: the TripletFields hint excludes it")
    }
    /// The destination's attribute.
    ///
    /// # Panics
    /// If the [`TripletFields`] hint did not include the destination.
    #[inline]
    pub fn dst_attr(&self) -> &'a VD {
        self.dst_attr
            .expect("destination attribute not shipped: the TripletFields hint excludes it")
    }
    /// Sends a message to the source vertex.
    #[inline]
    pub fn send_to_src(&mut self, msg: A) {
        let slot = &mut self.acc[self.src_local];
        *slot = Some(match slot.take() {
            Some(a) => (self.merge)(a, msg),
            None => msg,
        });
    }
    /// Sends a message to the destination vertex.
    #[inline]
    pub fn send_to_dst(&mut self, msg: A) {
        let slot = &mut self.acc[self.dst_local];
        *slot = Some(match slot.take() {
            Some(a) => (self.merge)(a, msg),
            None => msg,
        });
    }
}

/// A record of the vertex-building shuffle.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum VRec<VD> {
    Attr(VD),
    Route(u32, Role),
}

/// Vertex attributes (and activity flags) shipped from a vertex partition to an edge
/// partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ship<VD> {
    q: u32,
    attrs: Vec<VD>,
    active: Option<Vec<bool>>,
}

/// An edge partition's view of its vertices: attributes where shipped, activity flags.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct LocalView<VD> {
    pub attrs: Vec<Option<VD>>,
    pub active: Option<Vec<bool>>,
}

/// Messages for one vertex partition from one edge partition: positions in the routing
/// list and values.
type MsgBlock<A> = (u32, Vec<(u32, A)>);

/// Zips two datasets built with the same partition count and one record per partition.
pub(crate) fn zip1<T: Data, U: Data>(a: &Dataset<T>, b: &Dataset<U>) -> Dataset<(T, U)> {
    a.zip(b)
        .expect("internal datasets share their partition count")
}

fn role_at(ep_splits: &(u32, u32), l: u32) -> Role {
    if l < ep_splits.0 {
        0
    } else if l < ep_splits.1 {
        1
    } else {
        2
    }
}

impl<VD: Data, ED: Data> Graph<VD, ED> {
    // ----- builders -----

    /// Builds a graph from edge groups (one record per edge partition), optional vertex
    /// records, and a default attribute for vertices that edges name but the records lack.
    pub(crate) fn build(
        vertex_recs: Option<Dataset<(VertexId, VD)>>,
        edge_groups: Dataset<Vec<Edge<ED>>>,
        default: Option<VD>,
        checkpoint_interval: usize,
    ) -> Self {
        let ne = edge_groups.num_partitions();
        let nv = ne;
        let edges = edge_groups
            .map(move |es| Arc::new(EdgePartition::build(es, nv)))
            .cache();
        let routes: Dataset<(VertexId, VRec<VD>)> =
            edges.map_partitions_with_index(move |p, eps| {
                eps.flat_map(move |ep| {
                    let mut out = Vec::with_capacity(ep.num_local());
                    for q in 0..nv {
                        for l in ep.ranges[q]..ep.ranges[q + 1] {
                            out.push((
                                ep.global[l as usize],
                                VRec::Route(p as u32, role_at(&ep.splits[q], l)),
                            ));
                        }
                    }
                    out
                })
            });
        let all = match vertex_recs {
            Some(v) => v.map(|(id, a)| (id, VRec::Attr(a))).union(&routes),
            None => routes,
        };
        let verts = all
            .partition_by(HashPartitioner::new(nv))
            .glom()
            .map(move |recs| {
                let mut attrs: Vec<(VertexId, VD)> = Vec::new();
                let mut rs: Vec<(u32, Role, VertexId)> = Vec::new();
                for (id, r) in recs {
                    match r {
                        VRec::Attr(a) => attrs.push((id, a)),
                        VRec::Route(p, role) => rs.push((p, role, id)),
                    }
                }
                attrs.sort_by_key(|a| a.0);
                attrs.dedup_by_key(|a| a.0);
                let mut ids: Vec<VertexId> = attrs.iter().map(|a| a.0).collect();
                ids.extend(rs.iter().map(|r| r.2));
                ids.sort_unstable();
                ids.dedup();
                let mut vals = Vec::with_capacity(ids.len());
                let mut it = attrs.into_iter().peekable();
                for &id in &ids {
                    match it.peek() {
                        Some((a, _)) if *a == id => vals.push(it.next().expect("peeked").1),
                        _ => vals.push(
                            default
                                .clone()
                                .expect("every vertex named by an edge has an attribute"),
                        ),
                    }
                }
                VPart {
                    index: Arc::new(VertexIndex::build(ids, rs, ne)),
                    attrs: Arc::new(vals),
                }
            })
            .cache();
        Graph {
            verts,
            edges,
            nv,
            ne,
            checkpoint_interval,
        }
    }

    /// GraphX's `Graph(vertices, edges, defaultVertexAttr)`: vertices from `vertices`
    /// (the first attribute wins for duplicate ids), plus every id an edge names, with
    /// `default` as its attribute. Edges keep their partitions.
    pub fn new(vertices: &Dataset<(VertexId, VD)>, edges: &Dataset<Edge<ED>>, default: VD) -> Self {
        Self::build(Some(vertices.clone()), edges.glom(), Some(default), 0)
    }

    /// GraphX's `Graph.fromEdges`: the vertices are the ids the edges name, each with
    /// attribute `default`. Edges keep their partitions.
    pub fn from_edges(edges: &Dataset<Edge<ED>>, default: VD) -> Self {
        Self::build(None, edges.glom(), Some(default), 0)
    }

    /// Sets how often iterative operators ([`pregel`](Self::pregel) and the PageRank loops)
    /// checkpoint their state to truncate lineage, in iterations (0, the default, never
    /// does), as GraphX's `spark.graphx.pregel.checkpointInterval`.
    pub fn with_checkpoint_interval(mut self, every: usize) -> Self {
        self.checkpoint_interval = every;
        self
    }

    /// The checkpoint interval (see [`with_checkpoint_interval`](Self::with_checkpoint_interval)).
    pub fn checkpoint_interval(&self) -> usize {
        self.checkpoint_interval
    }

    /// The context the graph's datasets belong to.
    pub fn context(&self) -> &Context {
        self.edges.context()
    }

    /// The number of edge partitions (and of vertex partitions).
    pub fn num_partitions(&self) -> usize {
        self.ne
    }

    /// Moves the edges into `num_parts` partitions by `strategy` (GraphX's `partitionBy`);
    /// vertices are repartitioned to match.
    pub fn partition_by(&self, strategy: PartitionStrategy, num_parts: usize) -> Self {
        let n = num_parts.max(1);
        let groups = self
            .edges()
            .map(move |e| (strategy.get_partition(e.src_id, e.dst_id, n) as u64, e))
            .partition_by(Arc::new(IdPartitioner(n)) as Arc<dyn firesteel_core::Partitioner<u64>>)
            .glom()
            .map(|v| v.into_iter().map(|(_, e)| e).collect::<Vec<_>>());
        Self::build(
            Some(self.vertices()),
            groups,
            None,
            self.checkpoint_interval,
        )
    }

    /// Keeps the vertex partitions in memory (edge partitions always are).
    pub fn cache(&self) -> Self {
        let _ = self.verts.cache();
        self.clone()
    }

    /// Drops the cached vertex partitions (the edges, shared with other graphs, stay).
    pub fn unpersist_vertices(&self) {
        let _ = self.verts.unpersist();
    }

    /// Writes the vertex partitions to the scratch directory and returns a graph whose
    /// vertices have no lineage beyond those files (edges are cached and shared).
    pub fn checkpoint(&self) -> Result<Self> {
        let verts = self.verts.checkpoint()?.cache();
        Ok(Graph {
            verts,
            ..self.clone()
        })
    }

    /// Truncates the vertices' lineage in memory, as Spark's `localCheckpoint`: computes
    /// the vertex partitions (one job; cheap when cached), then returns a graph whose
    /// vertices are those partitions, held by the driver (`Arc` clones, no copy), with no
    /// lineage at all. Iterative algorithms do this every iteration, so that neither
    /// recomputation nor shuffle outputs accumulate along a growing lineage.
    pub fn localize(&self) -> Result<Self> {
        let parts = self.verts.collect()?;
        Ok(self.with_verts(self.context().parallelize(parts, self.nv)))
    }

    // ----- views -----

    /// The vertices with their attributes.
    pub fn vertices(&self) -> Dataset<(VertexId, VD)> {
        self.verts.flat_map(|vp| {
            vp.index
                .ids
                .iter()
                .copied()
                .zip(vp.attrs.iter().cloned())
                .collect::<Vec<_>>()
        })
    }

    /// The edges.
    pub fn edges(&self) -> Dataset<Edge<ED>> {
        self.edges.flat_map(|ep| ep.edges())
    }

    /// The edges with their vertices' attributes.
    pub fn triplets(&self) -> Dataset<EdgeTriplet<VD, ED>> {
        self.replicate(TripletFields::All, None)
            .flat_map(|(ep, view)| {
                let mut out = Vec::with_capacity(ep.len());
                ep.for_each(|s, d, e| {
                    out.push(EdgeTriplet {
                        src_id: ep.global[s as usize],
                        dst_id: ep.global[d as usize],
                        src_attr: view.attrs[s as usize].clone().expect("shipped"),
                        dst_attr: view.attrs[d as usize].clone().expect("shipped"),
                        attr: ep.attrs[e].clone(),
                    })
                });
                out
            })
    }

    /// The number of vertices.
    pub fn num_vertices(&self) -> Result<u64> {
        Ok(self.verts.map(|vp| vp.index.ids.len() as u64).sum()?)
    }

    /// The number of edges.
    pub fn num_edges(&self) -> Result<u64> {
        Ok(self.edges.map(|ep| ep.len() as u64).sum()?)
    }

    /// In-degrees of the vertices that have edges arriving (GraphX omits zeros).
    pub fn in_degrees(&self) -> Dataset<(VertexId, u64)> {
        self.aggregate_messages(|c| c.send_to_dst(1u64), |a, b| a + b, TripletFields::None)
    }

    /// Out-degrees of the vertices that have edges leaving (GraphX omits zeros).
    pub fn out_degrees(&self) -> Dataset<(VertexId, u64)> {
        self.aggregate_messages(|c| c.send_to_src(1u64), |a, b| a + b, TripletFields::None)
    }

    /// Degrees (in + out; a self-loop counts twice) of vertices with edges.
    pub fn degrees(&self) -> Dataset<(VertexId, u64)> {
        self.aggregate_messages(
            |c| {
                c.send_to_src(1u64);
                c.send_to_dst(1u64);
            },
            |a, b| a + b,
            TripletFields::None,
        )
    }

    // ----- transformations that keep the structure -----

    /// Transforms vertex attributes; the structure (and its routing) is reused.
    pub fn map_vertices<VD2: Data>(
        &self,
        f: impl Fn(VertexId, &VD) -> VD2 + Send + Sync + 'static,
    ) -> Graph<VD2, ED> {
        let verts = self.verts.map(move |vp| VPart {
            attrs: Arc::new(
                vp.index
                    .ids
                    .iter()
                    .zip(vp.attrs.iter())
                    .map(|(&id, a)| f(id, a))
                    .collect(),
            ),
            index: vp.index,
        });
        self.with_verts(verts)
    }

    pub(crate) fn with_verts<VD2>(&self, verts: Dataset<VPart<VD2>>) -> Graph<VD2, ED> {
        Graph {
            verts,
            edges: self.edges.clone(),
            nv: self.nv,
            ne: self.ne,
            checkpoint_interval: self.checkpoint_interval,
        }
    }

    fn with_edges<ED2>(&self, edges: Dataset<Arc<EdgePartition<ED2>>>) -> Graph<VD, ED2> {
        Graph {
            verts: self.verts.clone(),
            edges,
            nv: self.nv,
            ne: self.ne,
            checkpoint_interval: self.checkpoint_interval,
        }
    }

    /// Transforms edge attributes (`f(src, dst, attr)`); the structure is reused.
    pub fn map_edges<ED2: Data>(
        &self,
        f: impl Fn(VertexId, VertexId, &ED) -> ED2 + Send + Sync + 'static,
    ) -> Graph<VD, ED2> {
        let edges = self
            .edges
            .map(move |ep| {
                let mut attrs = Vec::with_capacity(ep.len());
                ep.for_each(|s, d, e| {
                    attrs.push(f(
                        ep.global[s as usize],
                        ep.global[d as usize],
                        &ep.attrs[e],
                    ))
                });
                Arc::new(ep.with_attrs(attrs))
            })
            .cache();
        self.with_edges(edges)
    }

    /// Transforms edge attributes seeing the triplet; only the attributes `fields` names
    /// are shipped to the edges.
    pub fn map_triplets<ED2: Data>(
        &self,
        f: impl Fn(&Triplet<'_, VD, ED>) -> ED2 + Send + Sync + 'static,
        fields: TripletFields,
    ) -> Graph<VD, ED2> {
        let edges = self
            .replicate(fields, None)
            .map(move |(ep, view)| {
                let mut attrs = Vec::with_capacity(ep.len());
                ep.for_each(|s, d, e| {
                    attrs.push(f(&Triplet {
                        src_id: ep.global[s as usize],
                        dst_id: ep.global[d as usize],
                        attr: &ep.attrs[e],
                        src_attr: view.attrs[s as usize].as_ref(),
                        dst_attr: view.attrs[d as usize].as_ref(),
                    }))
                });
                Arc::new(ep.with_attrs(attrs))
            })
            .cache();
        self.with_edges(edges)
    }

    /// Joins vertex attributes with a dataset keyed by vertex id: `f` sees each vertex with
    /// its value in `other` if any (the first, for duplicate keys). Vertices absent from
    /// the graph are ignored. A dataset hash partitioned into
    /// [`num_partitions`](Self::num_partitions) partitions is not shuffled.
    pub fn outer_join_vertices<U: Data, VD2: Data>(
        &self,
        other: &Dataset<(VertexId, U)>,
        f: impl Fn(VertexId, &VD, Option<U>) -> VD2 + Send + Sync + 'static,
    ) -> Graph<VD2, ED> {
        let table = other.partition_by(HashPartitioner::new(self.nv)).glom();
        let verts = zip1(&self.verts, &table).map(move |(vp, recs)| {
            let mut found: Vec<Option<U>> = (0..vp.index.ids.len()).map(|_| None).collect();
            for (id, u) in recs {
                if let Some(i) = vp.index.find(id) {
                    if found[i].is_none() {
                        found[i] = Some(u);
                    }
                }
            }
            let attrs = vp
                .index
                .ids
                .iter()
                .zip(vp.attrs.iter())
                .zip(found)
                .map(|((&id, a), u)| f(id, a, u))
                .collect();
            VPart {
                index: vp.index,
                attrs: Arc::new(attrs),
            }
        });
        self.with_verts(verts)
    }

    /// As [`outer_join_vertices`](Self::outer_join_vertices), changing only the vertices
    /// that have a value in `other` (GraphX's `joinVertices`).
    pub fn join_vertices<U: Data>(
        &self,
        other: &Dataset<(VertexId, U)>,
        f: impl Fn(VertexId, &VD, U) -> VD + Send + Sync + 'static,
    ) -> Graph<VD, ED> {
        self.outer_join_vertices(other, move |id, a, u| match u {
            Some(u) => f(id, a, u),
            None => a.clone(),
        })
    }

    /// Joins vertex attributes with values aligned with the vertex partitions.
    pub(crate) fn join_aligned<A: Data, VD2: Data>(
        &self,
        msgs: &Dataset<Arc<Vec<Option<A>>>>,
        f: impl Fn(VertexId, &VD, Option<&A>) -> VD2 + Send + Sync + 'static,
    ) -> Graph<VD2, ED> {
        let verts = zip1(&self.verts, msgs).map(move |(vp, m)| {
            let attrs = vp
                .index
                .ids
                .iter()
                .zip(vp.attrs.iter())
                .zip(m.iter())
                .map(|((&id, a), u)| f(id, a, u.as_ref()))
                .collect();
            VPart {
                index: vp.index,
                attrs: Arc::new(attrs),
            }
        });
        self.with_verts(verts)
    }

    // ----- message passing -----

    /// Ships vertex attributes (those `fields` names) and activity flags to the edge
    /// partitions: one record per edge partition.
    pub(crate) fn replicate(
        &self,
        fields: TripletFields,
        active: Option<&Dataset<Arc<Vec<bool>>>>,
    ) -> Dataset<(Arc<EdgePartition<ED>>, Arc<LocalView<VD>>)>
    where
        LocalView<VD>: Send + Sync,
    {
        let (fs, fd) = (fields.src(), fields.dst());
        if !fs && !fd && active.is_none() {
            return self.edges.map(|ep| {
                let n = ep.num_local();
                (
                    ep,
                    Arc::new(LocalView {
                        attrs: (0..n).map(|_| None).collect(),
                        active: None,
                    }),
                )
            });
        }
        let ne = self.ne;
        let has_active = active.is_some();
        let src: Dataset<(VPart<VD>, Option<Arc<Vec<bool>>>)> = match active {
            Some(a) => zip1(&self.verts, a).map(|(v, a)| (v, Some(a))),
            None => self.verts.map(|v| (v, None)),
        };
        let ships = src
            .map_partitions_with_index(move |q, recs| {
                let mut out: Vec<(u64, Ship<VD>)> = Vec::new();
                for (vp, act) in recs {
                    for p in 0..ne {
                        let route = &vp.index.routes[p];
                        if route.is_empty() {
                            continue;
                        }
                        let (a, b) = vp.index.ship_range(p, fs, fd);
                        let attrs: Vec<VD> = route[a..b]
                            .iter()
                            .map(|&i| vp.attrs[i as usize].clone())
                            .collect();
                        let active = act
                            .as_ref()
                            .map(|act| route.iter().map(|&i| act[i as usize]).collect());
                        out.push((
                            p as u64,
                            Ship {
                                q: q as u32,
                                attrs,
                                active,
                            },
                        ));
                    }
                }
                out
            })
            .partition_by(Arc::new(IdPartitioner(ne)) as Arc<dyn firesteel_core::Partitioner<u64>>)
            .glom();
        zip1(&self.edges, &ships).map(move |(ep, ships)| {
            let n = ep.num_local();
            let mut attrs: Vec<Option<VD>> = (0..n).map(|_| None).collect();
            let mut active = if has_active {
                Some(vec![false; n])
            } else {
                None
            };
            for (_, s) in ships {
                let q = s.q as usize;
                let (lo, hi) = ep.ship_range(q, fs, fd);
                debug_assert_eq!((hi - lo) as usize, s.attrs.len());
                for (slot, a) in attrs[lo as usize..hi as usize].iter_mut().zip(s.attrs) {
                    *slot = Some(a);
                }
                if let (Some(act), Some(flags)) = (active.as_mut(), s.active) {
                    let lo = ep.ranges[q] as usize;
                    act[lo..lo + flags.len()].copy_from_slice(&flags);
                }
            }
            (ep, Arc::new(LocalView { attrs, active }))
        })
    }

    /// Runs `send` on the edges and merges the messages per vertex; the result holds one
    /// record per vertex partition, aligned with its ids. With `active`, only edges whose
    /// ends are active as `dir` says send.
    pub(crate) fn aggregate_aligned<A: Data>(
        &self,
        send: impl Fn(&mut EdgeContext<'_, VD, ED, A>) + Send + Sync + 'static,
        merge: impl Fn(A, A) -> A + Send + Sync + 'static,
        fields: TripletFields,
        active: Option<(&Dataset<Arc<Vec<bool>>>, EdgeDirection)>,
    ) -> Dataset<Arc<Vec<Option<A>>>> {
        let nv = self.nv;
        let dir = active.map(|a| a.1);
        let merge = Arc::new(merge);
        let merge2 = merge.clone();
        let blocks = self
            .replicate(fields, active.map(|a| a.0))
            .map(move |(ep, view)| {
                let n = ep.num_local();
                let mut acc: Vec<Option<A>> = (0..n).map(|_| None).collect();
                let merge: &dyn Fn(A, A) -> A = &*merge;
                let act = view.active.as_deref();
                for s in 0..n {
                    let s_active = act.is_none_or(|a| a[s]);
                    if !s_active && matches!(dir, Some(EdgeDirection::Out | EdgeDirection::Both)) {
                        continue;
                    }
                    let (lo, hi) = (ep.offsets[s] as usize, ep.offsets[s + 1] as usize);
                    for e in lo..hi {
                        let d = ep.dst[e] as usize;
                        if let (Some(a), Some(dir)) = (act, dir) {
                            let ok = match dir {
                                EdgeDirection::Out => true,
                                EdgeDirection::In => a[d],
                                EdgeDirection::Either => s_active || a[d],
                                EdgeDirection::Both => a[d],
                            };
                            if !ok {
                                continue;
                            }
                        }
                        let mut ctx = EdgeContext {
                            src_id: ep.global[s],
                            dst_id: ep.global[d],
                            attr: &ep.attrs[e],
                            src_attr: view.attrs[s].as_ref(),
                            dst_attr: view.attrs[d].as_ref(),
                            src_local: s,
                            dst_local: d,
                            acc: &mut acc,
                            merge,
                        };
                        send(&mut ctx);
                    }
                }
                let mut out: Vec<MsgBlock<A>> = Vec::with_capacity(nv);
                let mut it = acc.into_iter();
                for q in 0..nv {
                    let len = (ep.ranges[q + 1] - ep.ranges[q]) as usize;
                    let msgs: Vec<(u32, A)> = it
                        .by_ref()
                        .take(len)
                        .enumerate()
                        .filter_map(|(i, m)| m.map(|m| (i as u32, m)))
                        .collect();
                    out.push((q as u32, msgs));
                }
                out
            })
            .map_partitions_with_index(|p, recs| {
                recs.flat_map(move |blocks| {
                    blocks
                        .into_iter()
                        .filter(|b| !b.1.is_empty())
                        .map(move |(q, msgs)| (q as u64, (p as u32, msgs)))
                        .collect::<Vec<_>>()
                })
            })
            .partition_by(Arc::new(IdPartitioner(nv)) as Arc<dyn firesteel_core::Partitioner<u64>>)
            .glom();
        zip1(&self.verts, &blocks).map(move |(vp, blocks)| {
            let mut out: Vec<Option<A>> = (0..vp.index.ids.len()).map(|_| None).collect();
            for (_, (p, msgs)) in blocks {
                let route = &vp.index.routes[p as usize];
                for (pos, m) in msgs {
                    let slot = &mut out[route[pos as usize] as usize];
                    *slot = Some(match slot.take() {
                        Some(a) => merge2(a, m),
                        None => m,
                    });
                }
            }
            Arc::new(out)
        })
    }

    /// GraphX's `aggregateMessages`: `send` runs on every edge (seeing the attributes that
    /// `fields` names) and may message either end; messages to a vertex are combined with
    /// `merge`. Vertices that receive no message are absent from the result.
    pub fn aggregate_messages<A: Data>(
        &self,
        send: impl Fn(&mut EdgeContext<'_, VD, ED, A>) + Send + Sync + 'static,
        merge: impl Fn(A, A) -> A + Send + Sync + 'static,
        fields: TripletFields,
    ) -> Dataset<(VertexId, A)> {
        let msgs = self.aggregate_aligned(send, merge, fields, None);
        zip1(&self.verts, &msgs).flat_map(|(vp, m)| {
            vp.index
                .ids
                .iter()
                .zip(m.iter())
                .filter_map(|(&id, m)| m.clone().map(|m| (id, m)))
                .collect::<Vec<_>>()
        })
    }

    /// The ids of each vertex's neighbours in `dir` (`In`, `Out` or `Either`), for every
    /// vertex (empty when it has none). Duplicate edges give duplicate ids, as in GraphX.
    ///
    /// # Errors
    /// `EdgeDirection::Both`, which GraphX rejects too.
    pub fn collect_neighbor_ids(
        &self,
        dir: EdgeDirection,
    ) -> Result<Dataset<(VertexId, Vec<VertexId>)>> {
        if dir == EdgeDirection::Both {
            return Err(GraphError::InvalidArgument(
                "collect_neighbor_ids does not support EdgeDirection::Both; use Either".into(),
            ));
        }
        let msgs = self.aggregate_aligned(
            move |c: &mut EdgeContext<'_, VD, ED, Vec<VertexId>>| {
                if matches!(dir, EdgeDirection::Out | EdgeDirection::Either) {
                    let d = c.dst_id;
                    c.send_to_src(vec![d]);
                }
                if matches!(dir, EdgeDirection::In | EdgeDirection::Either) {
                    let s = c.src_id;
                    c.send_to_dst(vec![s]);
                }
            },
            |mut a, b| {
                a.extend(b);
                a
            },
            TripletFields::None,
            None,
        );
        Ok(zip1(&self.verts, &msgs).flat_map(|(vp, m)| {
            vp.index
                .ids
                .iter()
                .zip(m.iter())
                .map(|(&id, m)| (id, m.clone().unwrap_or_default()))
                .collect::<Vec<_>>()
        }))
    }

    // ----- structural operators -----

    /// Edges filtered by partition, with the partition index, for rebuilding.
    fn rebuild_edges<ED2: Data>(
        &self,
        f: impl Fn(&EdgePartition<ED>, &LocalView<VD>) -> Vec<Edge<ED2>> + Send + Sync + 'static,
        fields: TripletFields,
    ) -> Dataset<Vec<Edge<ED2>>> {
        self.replicate(fields, None)
            .map(move |(ep, view)| f(&ep, &view))
    }

    /// Reverses every edge (GraphX's `reverse`). Edges stay in their partitions.
    pub fn reverse(&self) -> Self {
        let groups = self.rebuild_edges(
            |ep, _| {
                ep.edges()
                    .into_iter()
                    .map(|e| Edge::new(e.dst_id, e.src_id, e.attr))
                    .collect()
            },
            TripletFields::None,
        );
        Self::build(
            Some(self.vertices()),
            groups,
            None,
            self.checkpoint_interval,
        )
    }

    /// Keeps the vertices satisfying `vpred` and the edges satisfying `epred` whose both
    /// ends satisfy `vpred` (GraphX's `subgraph`).
    pub fn subgraph(
        &self,
        epred: impl Fn(&Triplet<'_, VD, ED>) -> bool + Send + Sync + 'static,
        vpred: impl Fn(VertexId, &VD) -> bool + Send + Sync + 'static,
    ) -> Self {
        let vpred = Arc::new(vpred);
        let vp2 = vpred.clone();
        let groups = self.rebuild_edges(
            move |ep, view| {
                let mut out = Vec::new();
                ep.for_each(|s, d, e| {
                    let (s, d) = (s as usize, d as usize);
                    let sa = view.attrs[s].as_ref().expect("shipped");
                    let da = view.attrs[d].as_ref().expect("shipped");
                    let t = Triplet {
                        src_id: ep.global[s],
                        dst_id: ep.global[d],
                        attr: &ep.attrs[e],
                        src_attr: Some(sa),
                        dst_attr: Some(da),
                    };
                    if vpred(t.src_id, sa) && vpred(t.dst_id, da) && epred(&t) {
                        out.push(Edge::new(t.src_id, t.dst_id, ep.attrs[e].clone()));
                    }
                });
                out
            },
            TripletFields::All,
        );
        let verts = self.vertices().filter(move |(id, a)| vp2(*id, a));
        Self::build(Some(verts), groups, None, self.checkpoint_interval)
    }

    /// Keeps the vertices and edges that are also in `other` (edges match by source and
    /// destination), with this graph's attributes (GraphX's `mask`).
    pub fn mask<VD2: Data, ED2: Data>(&self, other: &Graph<VD2, ED2>) -> Self {
        let ne = self.ne;
        let keep_v = other.vertices().map(|(id, _)| (id, ()));
        let verts = self.vertices().cogroup(&keep_v).flat_map(|(id, (vs, ks))| {
            if ks.is_empty() {
                Vec::new()
            } else {
                vs.into_iter().map(|v| (id, v)).collect()
            }
        });
        let mine = self.edges.map_partitions_with_index(|p, eps| {
            eps.flat_map(move |ep| {
                ep.edges()
                    .into_iter()
                    .map(|e| ((e.src_id, e.dst_id), (p as u64, e.attr)))
                    .collect::<Vec<_>>()
            })
        });
        let theirs = other.edges().map(|e| ((e.src_id, e.dst_id), ()));
        let groups = mine
            .cogroup(&theirs)
            .flat_map(|((s, d), (mine, theirs))| {
                if theirs.is_empty() {
                    Vec::new()
                } else {
                    mine.into_iter()
                        .map(|(p, a)| (p, Edge::new(s, d, a)))
                        .collect()
                }
            })
            .partition_by(Arc::new(IdPartitioner(ne)) as Arc<dyn firesteel_core::Partitioner<u64>>)
            .glom()
            .map(|v| v.into_iter().map(|(_, e)| e).collect::<Vec<_>>());
        Self::build(Some(verts), groups, None, self.checkpoint_interval)
    }

    /// Merges parallel edges (same source and destination) within each partition with
    /// `merge` (GraphX's `groupEdges`: partition by a strategy first to bring duplicates
    /// together). The vertex structure and routing are reused.
    pub fn group_edges(&self, merge: impl Fn(ED, ED) -> ED + Send + Sync + 'static) -> Self {
        let edges = self
            .edges
            .map(move |ep| {
                let mut es: Vec<(u32, u32, ED)> = Vec::with_capacity(ep.len());
                ep.for_each(|s, d, e| match es.last_mut() {
                    Some(last) if last.0 == s && last.1 == d => {
                        let a = std::mem::replace(&mut last.2, ep.attrs[e].clone());
                        last.2 = merge(a, ep.attrs[e].clone());
                    }
                    _ => es.push((s, d, ep.attrs[e].clone())),
                });
                Arc::new(EdgePartition::from_sorted(
                    ep.global.clone(),
                    ep.ranges.clone(),
                    ep.splits.clone(),
                    es,
                ))
            })
            .cache();
        self.with_edges(edges)
    }
}

impl<VD: Data> Graph<VD, i32> {
    /// GraphX's `Graph.fromEdgeTuples`: edges with attribute 1, vertices with `default`.
    /// With `unique_edges`, the edges are partitioned by that strategy and duplicates are
    /// merged, their attributes summed (so the attribute counts them).
    pub fn from_edge_tuples(
        tuples: &Dataset<(VertexId, VertexId)>,
        default: VD,
        unique_edges: Option<PartitionStrategy>,
    ) -> Self {
        let edges = tuples.map(|(s, d)| Edge::new(s, d, 1i32));
        let g = Self::from_edges(&edges, default);
        match unique_edges {
            Some(s) => g.partition_by(s, g.ne).group_edges(|a, b| a + b),
            None => g,
        }
    }
}

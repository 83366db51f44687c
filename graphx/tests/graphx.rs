//! Integration tests of firesteel-graphx: Spark's results on its sample data, random graphs
//! against simple single-threaded references, Pregel semantics and edge cases.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use firesteel_core::{Context, Dataset};
use firesteel_graphx::algorithms::{self, RESET_PROB};
use firesteel_graphx::{
    edge_list_file, Edge, EdgeDirection, EdgeListOptions, Graph, GraphError, PartitionStrategy,
    TripletFields, VertexId,
};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

#[path = "../../data/spark_results.rs"]
mod spark_results;

use spark_results::key;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");

const STRATEGIES: [PartitionStrategy; 4] = [
    PartitionStrategy::EdgePartition1D,
    PartitionStrategy::EdgePartition2D,
    PartitionStrategy::RandomVertexCut,
    PartitionStrategy::CanonicalRandomVertexCut,
];

fn ctx() -> Context {
    Context::local(2).unwrap()
}

fn map_of<V: firesteel_core::Data>(d: &Dataset<(VertexId, V)>) -> BTreeMap<VertexId, V> {
    let v = d.collect().unwrap();
    let n = v.len();
    let m: BTreeMap<_, _> = v.into_iter().collect();
    assert_eq!(m.len(), n, "duplicate vertex ids");
    m
}

fn assert_close(got: &BTreeMap<VertexId, f64>, want: &BTreeMap<VertexId, f64>, tol: f64) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, w) in want {
        let g = got[k];
        assert!((g - w).abs() <= tol, "vertex {k}: got {g}, want {w}");
    }
}

// ----- Spark's results on its sample data (data/spark_results.json) -----

/// Entry `key` of the table as a map of vertex values, with its tolerance.
fn spark_ranks(key: &str) -> (BTreeMap<VertexId, f64>, f64) {
    (
        spark_results::vertex_values(key).into_iter().collect(),
        spark_results::tolerance(key),
    )
}

#[test]
fn followers_match_spark() {
    let ctx = ctx();
    for (n, strategy) in [
        (0, None),
        (1, None),
        (3, Some(PartitionStrategy::EdgePartition2D)),
        (4, Some(PartitionStrategy::RandomVertexCut)),
    ] {
        let opts = EdgeListOptions {
            num_partitions: n,
            strategy,
            ..Default::default()
        };
        let g = edge_list_file(&ctx, format!("{DATA}/followers.txt"), opts).unwrap();
        assert_eq!(g.num_vertices().unwrap(), 6);
        assert_eq!(g.num_edges().unwrap(), 8);
        let pr = algorithms::page_rank(&g, 20, RESET_PROB).unwrap();
        let (want, tol) = spark_ranks(key::FOLLOWERS_PAGE_RANK);
        assert_close(&map_of(&pr.vertices()), &want, tol);
        let mp = algorithms::static_page_rank_message_passing(&g, 20, RESET_PROB, None).unwrap();
        assert_close(&map_of(&mp.vertices()), &want, tol);

        let cc = algorithms::connected_components(&g, None).unwrap();
        let want: BTreeMap<VertexId, VertexId> =
            spark_results::vertex_labels(key::FOLLOWERS_COMPONENTS)
                .into_iter()
                .collect();
        assert_eq!(map_of(&cc.vertices()), want);
    }
}

#[test]
fn pagerank_data_matches_spark() {
    let ctx = ctx();
    let g = edge_list_file(
        &ctx,
        format!("{DATA}/pagerank_data.txt"),
        Default::default(),
    )
    .unwrap();
    let pr = algorithms::page_rank(&g, 10, RESET_PROB).unwrap();
    let (want, tol) = spark_ranks(key::PAGERANK_DATA_PAGE_RANK);
    assert_close(&map_of(&pr.vertices()), &want, tol);
}

#[test]
fn edge_list_errors_name_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.txt");
    std::fs::write(&p, "# header\n1 2\n2 x\n").unwrap();
    let err = edge_list_file(&ctx(), &p, Default::default()).unwrap_err();
    assert!(matches!(err, GraphError::Parse { line: 3, .. }), "{err}");
    assert!(
        err.to_string().starts_with(&format!("{}:3:", p.display())),
        "{err}"
    );
    let err = edge_list_file(&ctx(), dir.path().join("missing.txt"), Default::default());
    assert!(matches!(err, Err(GraphError::Io { .. })));
    // Canonical orientation: 2 1 becomes 1 2.
    std::fs::write(&p, "2 1\n1 3\n").unwrap();
    let opts = EdgeListOptions {
        canonical_orientation: true,
        ..Default::default()
    };
    let g = edge_list_file(&ctx(), &p, opts).unwrap();
    let mut es: Vec<_> = g.edges().collect().unwrap();
    es.sort();
    assert_eq!(es, vec![Edge::new(1, 2, 1), Edge::new(1, 3, 1)]);
    assert_eq!(
        map_of(&g.vertices()),
        [(1, 1), (2, 1), (3, 1)].into_iter().collect()
    );
}

// ----- references -----

/// A random multigraph: self-loops and duplicate edges included, plus isolated vertices.
fn random_graph(seed: u64, n: u64, m: usize) -> (Vec<VertexId>, Vec<(VertexId, VertexId)>) {
    let mut rng = Pcg64::seed_from_u64(seed);
    // Sparse, scattered ids.
    let ids: Vec<VertexId> = (0..n).map(|i| i * 7 + rng.random_range(0..7)).collect();
    let mut edges = Vec::with_capacity(m);
    for _ in 0..m {
        // Leave the last few ids isolated.
        let s = ids[rng.random_range(0..n as usize - 3)];
        let d = ids[rng.random_range(0..n as usize - 3)];
        edges.push((s, d));
    }
    // Some explicit duplicates and self-loops.
    edges.push(edges[0]);
    edges.push((ids[1], ids[1]));
    (ids, edges)
}

fn build(
    ctx: &Context,
    ids: &[VertexId],
    edges: &[(VertexId, VertexId)],
    parts: usize,
    strategy: PartitionStrategy,
) -> Graph<u32, u32> {
    let vs = ctx.parallelize(ids.iter().map(|&i| (i, 0u32)).collect(), 2);
    let es = ctx.parallelize(
        edges.iter().map(|&(s, d)| Edge::new(s, d, 1u32)).collect(),
        3,
    );
    Graph::new(&vs, &es, 0).partition_by(strategy, parts)
}

fn ref_pagerank(
    ids: &[VertexId],
    edges: &[(VertexId, VertexId)],
    iters: usize,
    src: Option<VertexId>,
) -> BTreeMap<VertexId, f64> {
    let mut outdeg: HashMap<VertexId, f64> = HashMap::new();
    for &(s, _) in edges {
        *outdeg.entry(s).or_default() += 1.0;
    }
    let delta = |v: VertexId| match src {
        Some(s) => (s == v) as u8 as f64,
        None => 1.0,
    };
    let mut r: BTreeMap<VertexId, f64> = ids.iter().map(|&v| (v, delta(v))).collect();
    for _ in 0..iters {
        let mut next: BTreeMap<VertexId, f64> = ids.iter().map(|&v| (v, 0.0)).collect();
        for &(s, d) in edges {
            *next.get_mut(&d).unwrap() += r[&s] / outdeg[&s];
        }
        for (v, x) in next.iter_mut() {
            *x = RESET_PROB * delta(*v) + (1.0 - RESET_PROB) * *x;
        }
        r = next;
    }
    let sum: f64 = r.values().sum();
    let f = if src.is_some() {
        1.0 / sum
    } else {
        ids.len() as f64 / sum
    };
    r.values_mut().for_each(|x| *x *= f);
    r
}

fn ref_cc(ids: &[VertexId], edges: &[(VertexId, VertexId)]) -> BTreeMap<VertexId, VertexId> {
    let idx: HashMap<VertexId, usize> = ids.iter().enumerate().map(|(i, &v)| (v, i)).collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for &(s, d) in edges {
        let (a, b) = (find(&mut parent, idx[&s]), find(&mut parent, idx[&d]));
        parent[a.max(b)] = a.min(b);
    }
    let mut min_of: HashMap<usize, VertexId> = HashMap::new();
    for (i, &v) in ids.iter().enumerate() {
        let r = find(&mut parent, i);
        let e = min_of.entry(r).or_insert(v);
        *e = (*e).min(v);
    }
    ids.iter()
        .enumerate()
        .map(|(i, &v)| (v, min_of[&find(&mut parent, i)]))
        .collect()
}

fn ref_scc(ids: &[VertexId], edges: &[(VertexId, VertexId)]) -> BTreeMap<VertexId, VertexId> {
    let mut g = petgraph::Graph::<VertexId, ()>::new();
    let nodes: HashMap<VertexId, _> = ids.iter().map(|&v| (v, g.add_node(v))).collect();
    for &(s, d) in edges {
        g.add_edge(nodes[&s], nodes[&d], ());
    }
    let mut out = BTreeMap::new();
    for comp in petgraph::algo::tarjan_scc(&g) {
        let min = comp.iter().map(|&n| g[n]).min().unwrap();
        for n in comp {
            out.insert(g[n], min);
        }
    }
    out
}

fn ref_triangles(ids: &[VertexId], edges: &[(VertexId, VertexId)]) -> BTreeMap<VertexId, u64> {
    let mut adj: BTreeSet<(VertexId, VertexId)> = BTreeSet::new();
    for &(s, d) in edges {
        if s != d {
            adj.insert((s.min(d), s.max(d)));
        }
    }
    let has = |a: VertexId, b: VertexId| adj.contains(&(a.min(b), a.max(b)));
    let mut out: BTreeMap<VertexId, u64> = ids.iter().map(|&v| (v, 0)).collect();
    for (i, &a) in ids.iter().enumerate() {
        for (j, &b) in ids.iter().enumerate().skip(i + 1) {
            if !has(a, b) {
                continue;
            }
            for &c in &ids[j + 1..] {
                if has(a, c) && has(b, c) {
                    for v in [a, b, c] {
                        *out.get_mut(&v).unwrap() += 1;
                    }
                }
            }
        }
    }
    out
}

/// Hop counts from every vertex to each landmark, following edge directions (BFS on the
/// reversed graph from each landmark).
fn ref_shortest(
    ids: &[VertexId],
    edges: &[(VertexId, VertexId)],
    landmarks: &[VertexId],
) -> BTreeMap<VertexId, BTreeMap<VertexId, u32>> {
    let mut rev: HashMap<VertexId, Vec<VertexId>> = HashMap::new();
    for &(s, d) in edges {
        rev.entry(d).or_default().push(s);
    }
    let mut out: BTreeMap<VertexId, BTreeMap<VertexId, u32>> =
        ids.iter().map(|&v| (v, BTreeMap::new())).collect();
    for &l in landmarks {
        let mut dist: HashMap<VertexId, u32> = HashMap::from([(l, 0)]);
        let mut q = VecDeque::from([l]);
        while let Some(v) = q.pop_front() {
            for &u in rev.get(&v).into_iter().flatten() {
                if !dist.contains_key(&u) {
                    dist.insert(u, dist[&v] + 1);
                    q.push_back(u);
                }
            }
        }
        for (v, d) in dist {
            out.get_mut(&v).unwrap().insert(l, d);
        }
    }
    out
}

// ----- random graphs vs references, across partition counts and strategies -----

#[test]
fn algorithms_match_references_on_random_graphs() {
    let ctx = ctx();
    for (seed, n, m) in [(1u64, 40u64, 120usize), (2, 60, 90)] {
        let (ids, edges) = random_graph(seed, n, m);
        let pr_want = ref_pagerank(&ids, &edges, 15, None);
        let cc_want = ref_cc(&ids, &edges);
        let scc_want = ref_scc(&ids, &edges);
        let tri_want = ref_triangles(&ids, &edges);
        for parts in [1usize, 3, 4] {
            for strategy in STRATEGIES {
                let g = build(&ctx, &ids, &edges, parts, strategy);
                let what = format!("seed {seed}, {parts} parts, {strategy:?}");
                assert_eq!(g.num_vertices().unwrap(), n, "{what}");
                assert_eq!(g.num_edges().unwrap(), edges.len() as u64, "{what}");
                let pr = algorithms::page_rank(&g, 15, RESET_PROB).unwrap();
                assert_close(&map_of(&pr.vertices()), &pr_want, 1e-9);
                // The pull loop against the message-passing version, edge weights included.
                let mp =
                    algorithms::static_page_rank_message_passing(&g, 15, RESET_PROB, None).unwrap();
                // Same summation order: the same bits.
                assert_eq!(map_of(&pr.vertices()), map_of(&mp.vertices()), "{what}");
                let mut we: Vec<(u64, u64, u64)> = pr
                    .edges()
                    .map(|e| (e.src_id, e.dst_id, e.attr.to_bits()))
                    .collect()
                    .unwrap();
                let mut wm: Vec<(u64, u64, u64)> = mp
                    .edges()
                    .map(|e| (e.src_id, e.dst_id, e.attr.to_bits()))
                    .collect()
                    .unwrap();
                we.sort();
                wm.sort();
                assert_eq!(we, wm, "{what}");
                let src = ids[2];
                let fp = algorithms::personalized_page_rank(&g, src, 6, RESET_PROB).unwrap();
                let mp = algorithms::static_page_rank_message_passing(&g, 6, RESET_PROB, Some(src))
                    .unwrap();
                assert_eq!(map_of(&fp.vertices()), map_of(&mp.vertices()), "{what}");
                let cc = algorithms::connected_components(&g, None).unwrap();
                assert_eq!(map_of(&cc.vertices()), cc_want, "{what}");
                let ccp = algorithms::connected_components_pregel(&g, None).unwrap();
                assert_eq!(map_of(&ccp.vertices()), cc_want, "{what}");
                for k in [1, 2, 3] {
                    let dense = algorithms::connected_components(&g, Some(k)).unwrap();
                    let pregel = algorithms::connected_components_pregel(&g, Some(k)).unwrap();
                    assert_eq!(
                        map_of(&dense.vertices()),
                        map_of(&pregel.vertices()),
                        "{what}"
                    );
                }
                let scc = algorithms::strongly_connected_components(&g, 50).unwrap();
                assert_eq!(map_of(&scc.vertices()), scc_want, "{what}");
                let tri = algorithms::triangle_count(&g).unwrap();
                assert_eq!(map_of(&tri.vertices()), tri_want, "{what}");
            }
        }
    }
}

#[test]
fn pagerank_variants_match_references() {
    let ctx = ctx();
    let (ids, edges) = random_graph(7, 50, 150);
    for (parts, strategy) in [(2, STRATEGIES[1]), (3, STRATEGIES[3])] {
        let g = build(&ctx, &ids, &edges, parts, strategy);
        // Personalized, one source.
        let src = ids[4];
        let want = ref_pagerank(&ids, &edges, 12, Some(src));
        let got = algorithms::personalized_page_rank(&g, src, 12, RESET_PROB).unwrap();
        assert_close(&map_of(&got.vertices()), &want, 1e-9);
        // Many sources at once agree with one at a time.
        let sources = [ids[0], ids[4], ids[9]];
        let par =
            algorithms::parallel_personalized_page_rank(&g, &sources, 12, RESET_PROB).unwrap();
        let par = map_of(&par.vertices());
        for (k, &s) in sources.iter().enumerate() {
            let want = ref_pagerank(&ids, &edges, 12, Some(s));
            let got: BTreeMap<VertexId, f64> = par.iter().map(|(&v, r)| (v, r[k])).collect();
            assert_close(&got, &want, 1e-9);
        }
        // Dynamic converges to the fixed point of the static iteration.
        let want = ref_pagerank(&ids, &edges, 200, None);
        let got = algorithms::dynamic_page_rank(&g, 1e-10, RESET_PROB).unwrap();
        assert_close(&map_of(&got.vertices()), &want, 1e-6);
        let want = ref_pagerank(&ids, &edges, 200, Some(src));
        let got = algorithms::dynamic_personalized_page_rank(&g, src, 1e-10, RESET_PROB).unwrap();
        assert_close(&map_of(&got.vertices()), &want, 1e-6);
    }
}

#[test]
fn shortest_paths_and_label_propagation_match_references() {
    let ctx = ctx();
    let (ids, edges) = random_graph(11, 45, 70);
    let landmarks = [ids[0], ids[5], ids[44]];
    let want = ref_shortest(&ids, &edges, &landmarks);
    for strategy in STRATEGIES {
        let g = build(&ctx, &ids, &edges, 3, strategy);
        let got = algorithms::shortest_paths(&g, &landmarks).unwrap();
        assert_eq!(map_of(&got.vertices()), want, "{strategy:?}");
    }
    // Label propagation, against a direct synchronous implementation (ties: smallest label).
    let g = build(&ctx, &ids, &edges, 3, STRATEGIES[2]);
    let mut labels: BTreeMap<VertexId, VertexId> = ids.iter().map(|&v| (v, v)).collect();
    for _ in 0..5 {
        let mut counts: BTreeMap<VertexId, BTreeMap<VertexId, u64>> = BTreeMap::new();
        for &(s, d) in &edges {
            *counts.entry(s).or_default().entry(labels[&d]).or_default() += 1;
            *counts.entry(d).or_default().entry(labels[&s]).or_default() += 1;
        }
        for (v, c) in counts {
            let max = *c.values().max().unwrap();
            labels.insert(v, *c.iter().find(|(_, &n)| n == max).unwrap().0);
        }
    }
    let got = algorithms::label_propagation(&g, 5).unwrap();
    assert_eq!(map_of(&got.vertices()), labels);
}

// ----- Pregel semantics -----

#[test]
fn pregel_only_active_vertices_send_and_max_iter_holds() {
    let ctx = ctx();
    // A path 1 → 2 → 3 → 4 → 5: a token travels one hop per superstep.
    let es = ctx.parallelize((1..5u64).map(|i| Edge::new(i, i + 1, ())).collect(), 2);
    let g = Graph::from_edges(&es, 0u32).partition_by(STRATEGIES[2], 3);
    let sends = ctx.long_accumulator("sends");
    let acc = sends.clone();
    // Vertex 1 starts with the token (attr 1); a vertex forwards it when it has it. The
    // count of send calls shows that inactive vertices' edges are skipped.
    let run = |max_iter: usize| {
        let acc = acc.clone();
        g.map_vertices(|id, _| u32::from(id == 1))
            .pregel(
                0u32,
                max_iter,
                EdgeDirection::Out,
                |_, &a, m| a.max(m),
                move |c| {
                    acc.add(1);
                    if *c.src_attr() == 1 && *c.dst_attr() == 0 {
                        c.send_to_dst(1);
                    }
                },
                |a, b| a.max(b),
            )
            .unwrap()
    };
    let full = map_of(&run(100).vertices());
    assert_eq!(
        full.values().copied().collect::<Vec<_>>(),
        vec![1, 1, 1, 1, 1]
    );
    // First round over all 4 edges, then one active edge per superstep (2→3, 3→4, 4→5),
    // and a last superstep where vertex 5 is active but has no out-edge.
    assert_eq!(sends.value(), 4 + 3);
    sends.reset();
    // max_iter = 2: messages were delivered to 2 and 3 only.
    let two = map_of(&run(2).vertices());
    assert_eq!(
        two.values().copied().collect::<Vec<_>>(),
        vec![1, 1, 1, 0, 0]
    );
    // max_iter = 0: only the initial vprog runs.
    let zero = map_of(&run(0).vertices());
    assert_eq!(
        zero.values().copied().collect::<Vec<_>>(),
        vec![1, 0, 0, 0, 0]
    );
}

#[test]
fn pregel_merges_messages_and_respects_direction() {
    let ctx = ctx();
    // A star into 0 from 1..=6, plus 0 → 7.
    let mut edges: Vec<Edge<()>> = (1..=6u64).map(|i| Edge::new(i, 0, ())).collect();
    edges.push(Edge::new(0, 7, ()));
    let g = Graph::from_edges(&ctx.parallelize(edges, 3), 0u64).partition_by(STRATEGIES[0], 2);
    // Each leaf sends its id once; vertex 0 sums what it gets (merged), then passes it on
    // along In-direction activity: edges whose destination is active send (to the source).
    let vprog_calls = ctx.long_accumulator("vprog");
    let calls = vprog_calls.clone();
    let out = g
        .map_vertices(|id, _| id)
        .pregel(
            0u64,
            1,
            EdgeDirection::In,
            move |_, &a, m| {
                calls.add(1);
                a + m
            },
            |c| {
                if *c.dst_attr() == 0 && c.src_id != 0 {
                    let s = *c.src_attr();
                    c.send_to_dst(s);
                }
            },
            |a, b| a + b,
        )
        .unwrap();
    let got = map_of(&out.vertices());
    assert_eq!(got[&0], 21); // 1 + ... + 6, merged into one message
    assert_eq!(got[&7], 7);
    // 8 initial vprog calls, then exactly one (vertex 0's merged message).
    assert_eq!(vprog_calls.value(), 8 + 1);
}

#[test]
fn pregel_checkpoints_keep_results() {
    let ctx = ctx();
    let (ids, edges) = random_graph(5, 30, 40);
    let g = build(&ctx, &ids, &edges, 2, STRATEGIES[1]).with_checkpoint_interval(2);
    let cc = algorithms::connected_components(&g, None).unwrap();
    assert_eq!(map_of(&cc.vertices()), ref_cc(&ids, &edges));
    let pr = algorithms::page_rank(&g, 7, RESET_PROB).unwrap();
    assert_close(
        &map_of(&pr.vertices()),
        &ref_pagerank(&ids, &edges, 7, None),
        1e-9,
    );
    // max_iter bounds connected components: after one superstep labels moved one hop.
    let path: Vec<Edge<()>> = (1..6u64).map(|i| Edge::new(i, i + 1, ())).collect();
    let pg = Graph::from_edges(&ctx.parallelize(path, 2), ());
    let cc1 = map_of(
        &algorithms::connected_components(&pg, Some(1))
            .unwrap()
            .vertices(),
    );
    assert_eq!(
        cc1.values().copied().collect::<Vec<_>>(),
        vec![1, 1, 2, 3, 4, 5]
    );
}

// ----- operators -----

#[test]
fn operators_match_direct_computation() {
    let ctx = ctx();
    let (ids, edges) = random_graph(3, 30, 80);
    for strategy in STRATEGIES {
        let g = build(&ctx, &ids, &edges, 3, strategy).map_vertices(|id, _| id * 10);
        let mut indeg: BTreeMap<VertexId, u64> = BTreeMap::new();
        let mut outdeg: BTreeMap<VertexId, u64> = BTreeMap::new();
        for &(s, d) in &edges {
            *outdeg.entry(s).or_default() += 1;
            *indeg.entry(d).or_default() += 1;
        }
        let mut deg = indeg.clone();
        for (k, v) in &outdeg {
            *deg.entry(*k).or_default() += v;
        }
        assert_eq!(map_of(&g.in_degrees()), indeg);
        assert_eq!(map_of(&g.out_degrees()), outdeg);
        assert_eq!(map_of(&g.degrees()), deg);

        // Triplets carry both attributes.
        let mut trips: Vec<(u64, u64, u64, u64)> = g
            .triplets()
            .map(|t| (t.src_id, t.dst_id, t.src_attr, t.dst_attr))
            .collect()
            .unwrap();
        trips.sort();
        let mut want: Vec<_> = edges.iter().map(|&(s, d)| (s, d, s * 10, d * 10)).collect();
        want.sort();
        assert_eq!(trips, want);

        // map_triplets with only the source shipped; map_edges.
        let mt = g.map_triplets(|t| *t.src_attr() + t.dst_id, TripletFields::Src);
        let mut got: Vec<u64> = mt.edges().map(|e| e.attr).collect().unwrap();
        got.sort();
        let mut w: Vec<u64> = edges.iter().map(|&(s, d)| s * 10 + d).collect();
        w.sort();
        assert_eq!(got, w);
        let dst_only = g.map_triplets(|t| *t.dst_attr(), TripletFields::Dst);
        let mut got: Vec<u64> = dst_only.edges().map(|e| e.attr).collect().unwrap();
        got.sort();
        let mut w: Vec<u64> = edges.iter().map(|&(_, d)| d * 10).collect();
        w.sort();
        assert_eq!(got, w);
        let me = g.map_edges(|s, d, a| (s + d) as u32 + a);
        let total: u64 = me.edges().map(|e| e.attr as u64).sum().unwrap();
        assert_eq!(total, edges.iter().map(|&(s, d)| s + d + 1).sum::<u64>());

        // reverse
        let mut rev: Vec<(u64, u64)> = g
            .reverse()
            .edges()
            .map(|e| (e.src_id, e.dst_id))
            .collect()
            .unwrap();
        rev.sort();
        let mut w: Vec<_> = edges.iter().map(|&(s, d)| (d, s)).collect();
        w.sort();
        assert_eq!(rev, w);

        // subgraph: even ids, edges with src < dst.
        let sub = g.subgraph(|t| t.src_id < t.dst_id, |id, _| id % 2 == 0);
        let mut got: Vec<(u64, u64)> = sub.edges().map(|e| (e.src_id, e.dst_id)).collect().unwrap();
        got.sort();
        let mut w: Vec<_> = edges
            .iter()
            .copied()
            .filter(|&(s, d)| s % 2 == 0 && d % 2 == 0 && s < d)
            .collect();
        w.sort();
        assert_eq!(got, w);
        let sv = map_of(&sub.vertices());
        assert_eq!(
            sv.keys().copied().collect::<Vec<_>>(),
            ids.iter()
                .copied()
                .filter(|i| i % 2 == 0)
                .collect::<Vec<_>>()
        );
        assert!(sv.iter().all(|(k, v)| *v == k * 10));

        // mask by the subgraph: same vertices and edges, this graph's attributes.
        let masked = g.mask(&sub);
        assert_eq!(map_of(&masked.vertices()), sv);
        let mut got: Vec<(u64, u64)> = masked
            .edges()
            .map(|e| (e.src_id, e.dst_id))
            .collect()
            .unwrap();
        got.sort();
        assert_eq!(got, w);

        // group_edges merges duplicates that share a partition (all strategies colocate them).
        let grouped = g.group_edges(|a, b| a + b);
        let mut counts: BTreeMap<(u64, u64), u32> = BTreeMap::new();
        for &e in &edges {
            *counts.entry(e).or_default() += 1;
        }
        let got: BTreeMap<(u64, u64), u32> = grouped
            .edges()
            .map(|e| ((e.src_id, e.dst_id), e.attr))
            .collect()
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(grouped.num_edges().unwrap(), counts.len() as u64);
        assert_eq!(got, counts);

        // joins
        let table = ctx.parallelize(vec![(ids[0], 5u64), (ids[1], 6), (999_999, 7)], 2);
        let j = map_of(&g.join_vertices(&table, |_, a, u| a + u).vertices());
        assert_eq!(j[&ids[0]], ids[0] * 10 + 5);
        assert_eq!(j[&ids[2]], ids[2] * 10);
        assert!(!j.contains_key(&999_999));
        let oj = map_of(&g.outer_join_vertices(&table, |_, _, u| u).vertices());
        assert_eq!(oj.values().filter(|v| v.is_some()).count(), 2);

        // collect_neighbor_ids
        let nb = map_of(&g.collect_neighbor_ids(EdgeDirection::Out).unwrap());
        assert_eq!(nb.len(), ids.len());
        for &v in &ids {
            let mut got = nb[&v].clone();
            got.sort();
            let mut w: Vec<u64> = edges.iter().filter(|e| e.0 == v).map(|e| e.1).collect();
            w.sort();
            assert_eq!(got, w);
        }
        let either = map_of(&g.collect_neighbor_ids(EdgeDirection::Either).unwrap());
        let total: usize = either.values().map(Vec::len).sum();
        assert_eq!(total, 2 * edges.len());
        assert!(g.collect_neighbor_ids(EdgeDirection::Both).is_err());
    }
}

#[test]
fn from_edge_tuples_and_petgraph_round_trip() {
    let ctx = ctx();
    let pairs = ctx.parallelize(vec![(1u64, 2u64), (1, 2), (2, 3), (3, 3)], 2);
    let g = Graph::from_edge_tuples(&pairs, 'v', None);
    assert_eq!(g.num_edges().unwrap(), 4);
    let u = Graph::from_edge_tuples(&pairs, 'v', Some(PartitionStrategy::RandomVertexCut));
    let mut es: Vec<_> = u.edges().collect().unwrap();
    es.sort();
    assert_eq!(
        es,
        vec![Edge::new(1, 2, 2), Edge::new(2, 3, 1), Edge::new(3, 3, 1)]
    );

    let mut pg = petgraph::Graph::<&'static str, f64>::new();
    let a = pg.add_node("a");
    let b = pg.add_node("b");
    let c = pg.add_node("c");
    pg.add_edge(a, b, 1.5);
    pg.add_edge(b, c, 2.5);
    let g = Graph::from_petgraph(&ctx, &pg.map(|_, n| n.to_string(), |_, e| *e), 2);
    assert_eq!(
        map_of(&g.vertices()),
        [(0, "a".to_string()), (1, "b".into()), (2, "c".into())]
            .into_iter()
            .collect()
    );
    let back = g.to_petgraph().unwrap();
    assert_eq!(back.node_count(), 3);
    let mut ws: Vec<(u64, u64, f64)> = back
        .raw_edges()
        .iter()
        .map(|e| (back[e.source()].0, back[e.target()].0, e.weight))
        .collect();
    ws.sort_by(|x, y| x.partial_cmp(y).unwrap());
    assert_eq!(ws, vec![(0, 1, 1.5), (1, 2, 2.5)]);
}

// ----- edge cases -----

#[test]
fn edge_cases_behave_as_graphx() {
    let ctx = ctx();
    // Empty graph.
    let empty: Graph<u8, u8> = Graph::from_edges(&ctx.parallelize(Vec::new(), 2), 0);
    assert_eq!(empty.num_vertices().unwrap(), 0);
    assert_eq!(empty.num_edges().unwrap(), 0);
    assert!(algorithms::connected_components(&empty, None)
        .unwrap()
        .vertices()
        .collect()
        .unwrap()
        .is_empty());
    assert!(algorithms::triangle_count(&empty)
        .unwrap()
        .vertices()
        .collect()
        .unwrap()
        .is_empty());
    assert!(algorithms::strongly_connected_components(&empty, 5)
        .unwrap()
        .vertices()
        .collect()
        .unwrap()
        .is_empty());

    // Only isolated vertices: PageRank gives each 1.0 (reset, then rescaled to sum n).
    let iso = Graph::new(
        &ctx.parallelize(vec![(10u64, ()), (20, ()), (30, ())], 2),
        &ctx.parallelize(Vec::<Edge<()>>::new(), 2),
        (),
    );
    let pr = map_of(
        &algorithms::page_rank(&iso, 5, RESET_PROB)
            .unwrap()
            .vertices(),
    );
    assert_close(
        &pr,
        &[(10, 1.0), (20, 1.0), (30, 1.0)].into_iter().collect(),
        1e-12,
    );
    let cc = map_of(
        &algorithms::connected_components(&iso, None)
            .unwrap()
            .vertices(),
    );
    assert_eq!(cc, [(10, 10), (20, 20), (30, 30)].into_iter().collect());

    // Self-loops: a vertex with only a self-loop is its own component; a self-loop counts
    // as in- and out-degree; no triangles from loops.
    let loops = vec![(1u64, 1u64), (1, 2), (2, 2), (3, 3)];
    let es = ctx.parallelize(loops.iter().map(|&(s, d)| Edge::new(s, d, ())).collect(), 2);
    let g = Graph::from_edges(&es, ());
    assert_eq!(
        map_of(&g.degrees()),
        [(1, 3), (2, 3), (3, 2)].into_iter().collect()
    );
    let cc = map_of(
        &algorithms::connected_components(&g, None)
            .unwrap()
            .vertices(),
    );
    assert_eq!(cc, [(1, 1), (2, 1), (3, 3)].into_iter().collect());
    let tri = map_of(&algorithms::triangle_count(&g).unwrap().vertices());
    assert!(tri.values().all(|&t| t == 0));
    let ids = [1u64, 2, 3];
    assert_close(
        &map_of(
            &algorithms::page_rank(&g, 10, RESET_PROB)
                .unwrap()
                .vertices(),
        ),
        &ref_pagerank(&ids, &loops, 10, None),
        1e-12,
    );

    // Duplicate edges count in PageRank (GraphX keeps them) but not in triangles.
    let dup = vec![(1u64, 2u64), (1, 2), (2, 3), (3, 1), (3, 1)];
    let es = ctx.parallelize(dup.iter().map(|&(s, d)| Edge::new(s, d, ())).collect(), 2);
    let g = Graph::from_edges(&es, ());
    assert_close(
        &map_of(
            &algorithms::page_rank(&g, 10, RESET_PROB)
                .unwrap()
                .vertices(),
        ),
        &ref_pagerank(&ids, &dup, 10, None),
        1e-12,
    );
    let tri = map_of(&algorithms::triangle_count(&g).unwrap().vertices());
    assert_eq!(tri, [(1, 1), (2, 1), (3, 1)].into_iter().collect());

    // Vertices given twice: the first attribute wins; vertices named only by edges get
    // the default.
    let g = Graph::new(
        &ctx.parallelize(vec![(1u64, 'a'), (1, 'b'), (5, 'e')], 1),
        &ctx.parallelize(vec![Edge::new(1, 2, ())], 1),
        'z',
    );
    assert_eq!(
        map_of(&g.vertices()),
        [(1, 'a'), (2, 'z'), (5, 'e')].into_iter().collect()
    );
}

//! GraphX benchmarks on a Graph500 R-MAT graph (a = 0.57, b = c = 0.19, edge factor 16,
//! permuted ids), each against a plain single-threaded baseline in the same run:
//! - PageRank, 20 iterations, vs a CSR pull loop;
//! - connected components vs union-find.
//!
//! Run with `cargo bench --bench graphx`. `FIRESTEEL_GRAPHX_SCALE` sets the scale (default
//! 18; 20 is the other size of issue 4). A summary with nanoseconds per edge per iteration
//! and the ratio to the baseline is printed before criterion's measurements.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firesteel::core::Context;
use firesteel::graphx::rmat::RmatConfig;
use firesteel::graphx::{algorithms, Edge, Graph, PartitionStrategy};

const THREADS: usize = 2;
const ITERS: usize = 20;

fn scale() -> u32 {
    std::env::var("FIRESTEEL_GRAPHX_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(18)
}

fn ctx() -> Context {
    Context::builder()
        .threads(THREADS)
        .memory(8 << 30)
        .shuffle_memory(4 << 30)
        .build()
        .unwrap()
}

/// In-edges in CSR form, out-degrees, for the baseline.
struct Csr {
    offsets: Vec<u32>,
    sources: Vec<u32>,
    outdeg: Vec<u32>,
}

fn csr(n: usize, edges: &[(u64, u64)]) -> Csr {
    let mut offsets = vec![0u32; n + 1];
    let mut outdeg = vec![0u32; n];
    for &(s, d) in edges {
        offsets[d as usize + 1] += 1;
        outdeg[s as usize] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut pos = offsets.clone();
    let mut sources = vec![0u32; edges.len()];
    for &(s, d) in edges {
        sources[pos[d as usize] as usize] = s as u32;
        pos[d as usize] += 1;
    }
    Csr {
        offsets,
        sources,
        outdeg,
    }
}

/// The plain single-threaded CSR PageRank loop (GraphX's update, without normalization).
fn csr_pagerank(g: &Csr, iters: usize) -> Vec<f64> {
    let n = g.outdeg.len();
    let mut rank = vec![1.0f64; n];
    let mut contrib = vec![0.0f64; n];
    for _ in 0..iters {
        for ((c, &r), &d) in contrib.iter_mut().zip(&rank).zip(&g.outdeg) {
            *c = if d > 0 { r / d as f64 } else { 0.0 };
        }
        for (r, w) in rank.iter_mut().zip(g.offsets.windows(2)) {
            let mut sum = 0.0;
            for &u in &g.sources[w[0] as usize..w[1] as usize] {
                sum += contrib[u as usize];
            }
            *r = 0.15 + 0.85 * sum;
        }
    }
    rank
}

/// Union-find connected components (labels: smallest id).
fn union_find(n: usize, edges: &[(u64, u64)]) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for &(s, d) in edges {
        let (a, b) = (find(&mut parent, s as u32), find(&mut parent, d as u32));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    for v in 0..n as u32 {
        let r = find(&mut parent, v);
        parent[v as usize] = r;
    }
    parent
}

struct Setup {
    n: usize,
    m: usize,
    edges: Vec<(u64, u64)>,
    graph: Graph<i32, i32>,
    _ctx: Context,
}

fn setup() -> Setup {
    let cfg = RmatConfig::graph500(scale(), 0x5eed);
    let t = Instant::now();
    let edges = cfg.generate();
    let ctx = ctx();
    let es: Vec<Edge<i32>> = edges.iter().map(|&(s, d)| Edge::new(s, d, 1)).collect();
    let graph = Graph::from_edges(&ctx.parallelize(es, 2 * THREADS), 1)
        .partition_by(PartitionStrategy::EdgePartition2D, 2 * THREADS)
        .localize()
        .unwrap();
    graph.num_edges().unwrap();
    eprintln!(
        "R-MAT scale {}: {} vertices, {} edges, generated and partitioned in {:.2?}",
        cfg.scale,
        cfg.num_vertices(),
        edges.len(),
        t.elapsed()
    );
    Setup {
        n: cfg.num_vertices() as usize,
        m: edges.len(),
        edges,
        graph,
        _ctx: ctx,
    }
}

fn best_of<R>(runs: usize, mut f: impl FnMut() -> R) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn pagerank(c: &mut Criterion) {
    let s = setup();
    let base = csr(s.n, &s.edges);
    let per = |d: Duration| d.as_nanos() as f64 / (s.m * ITERS) as f64;
    let tb = best_of(3, || csr_pagerank(&base, ITERS));
    let tf = best_of(3, || algorithms::page_rank(&s.graph, ITERS, 0.15).unwrap());
    eprintln!(
        "pagerank x{ITERS}: firesteel ({THREADS} threads) {:.2?} = {:.2} ns/edge/iter; \
         single-threaded CSR loop {:.2?} = {:.2} ns/edge/iter; firesteel / baseline = {:.2}",
        tf,
        per(tf),
        tb,
        per(tb),
        tf.as_secs_f64() / tb.as_secs_f64()
    );
    let tm = best_of(1, || {
        algorithms::static_page_rank_message_passing(&s.graph, ITERS, 0.15, None).unwrap()
    });
    eprintln!(
        "pagerank x{ITERS}, general message-passing version (aggregate_messages + joins): \
         {tm:.2?} = {:.2} ns/edge/iter; / baseline = {:.2}",
        per(tm),
        tm.as_secs_f64() / tb.as_secs_f64()
    );
    let mut g = c.benchmark_group("pagerank20");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements((s.m * ITERS) as u64));
    g.bench_function(BenchmarkId::new("firesteel", s.m), |b| {
        b.iter(|| algorithms::page_rank(&s.graph, ITERS, 0.15).unwrap())
    });
    g.bench_function(BenchmarkId::new("csr_loop", s.m), |b| {
        b.iter(|| csr_pagerank(&base, ITERS))
    });
    g.finish();
}

fn connected_components(c: &mut Criterion) {
    let s = setup();
    let tb = best_of(3, || union_find(s.n, &s.edges));
    let tf = best_of(2, || {
        algorithms::connected_components(&s.graph, None).unwrap()
    });
    let tp = best_of(1, || {
        algorithms::connected_components_pregel(&s.graph, None).unwrap()
    });
    eprintln!(
        "connected components: firesteel ({THREADS} threads) {tf:.2?}; Pregel version {tp:.2?}; \
         union-find {tb:.2?}; firesteel / baseline = {:.2}; Pregel / baseline = {:.2}",
        tf.as_secs_f64() / tb.as_secs_f64(),
        tp.as_secs_f64() / tb.as_secs_f64()
    );
    let mut g = c.benchmark_group("connected_components");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(s.m as u64));
    g.bench_function(BenchmarkId::new("firesteel", s.m), |b| {
        b.iter(|| algorithms::connected_components(&s.graph, None).unwrap())
    });
    g.bench_function(BenchmarkId::new("union_find", s.m), |b| {
        b.iter(|| union_find(s.n, &s.edges))
    });
    g.finish();
}

criterion_group!(benches, pagerank, connected_components);
criterion_main!(benches);

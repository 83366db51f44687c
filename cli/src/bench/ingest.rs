//! The ingestion benchmark (`firesteel bench --jobs ingest`): how fast data gets in, as
//! ratios against references measured in the same run.
//!
//! - LIBSVM loading: the parallel loader (`load_libsvm_file`, parsing inside tasks on every
//!   thread) against the single-threaded driver-side loader (`load_libsvm` and
//!   `to_blocks`, what every loader did before) and against reading the same bytes from
//!   the page cache (`std::fs::read`).
//! - PageRank end to end, as users feel it: load the edge list, build the graph and run 20
//!   iterations, against a single-threaded program that reads the same file into a CSR
//!   array and runs the same 20 iterations (GraphX's static PageRank, with its final
//!   rescaling); the ranks must agree.
//!
//! Every figure is the best of three runs, after a first read has put the file in the
//! page cache.

use std::path::Path;
use std::time::Instant;

use firesteel::core::{Context, Error, Result};
use firesteel::graphx::algorithms::PageRankConfig;
use firesteel::graphx::{edge_list_file, EdgeListOptions};
use firesteel::mllib::data;
use serde::Serialize;

/// Repetitions of each measurement; the best is reported.
const REPS: usize = 3;
const PAGERANK_ITERATIONS: usize = 20;
const RESET_PROB: f64 = 0.15;

/// LIBSVM loading times.
#[derive(Debug, Clone, Serialize)]
pub struct LibsvmLoad {
    pub file_bytes: u64,
    pub rows: u64,
    pub page_cache_read_s: f64,
    pub driver_load_s: f64,
    pub parallel_load_s: f64,
    /// `driver_load_s / parallel_load_s` (goal: at least 4 on 2 threads).
    pub speedup_over_driver: f64,
    /// `parallel_load_s / page_cache_read_s` (goal: at most 3).
    pub slowdown_over_read: f64,
}

/// PageRank end to end.
#[derive(Debug, Clone, Serialize)]
pub struct PageRankEndToEnd {
    pub edges: u64,
    pub vertices: u64,
    pub single_thread_load_s: f64,
    pub single_thread_iterate_s: f64,
    pub firesteel_load_s: f64,
    pub firesteel_iterate_s: f64,
    /// Single-threaded total over Firesteel's total (goal: above 1).
    pub speedup: f64,
    pub ranks_agree: bool,
}

/// Both ingestion measurements.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub threads: usize,
    pub partitions: usize,
    pub libsvm: LibsvmLoad,
    pub pagerank: PageRankEndToEnd,
}

fn best<T>(mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..REPS {
        let start = Instant::now();
        let r = f()?;
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(r);
    }
    Ok((best, out.expect("REPS > 0")))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io {
        op: "reading",
        path: path.to_path_buf(),
        source: e,
    })
}

fn ml(e: firesteel::mllib::MlError) -> Error {
    Error::task_failed(e.to_string())
}

pub(crate) fn libsvm(ctx: &Context, input: &Path, parts: usize) -> Result<LibsvmLoad> {
    let (read_s, bytes) = best(|| read(input))?;
    let (driver_s, rows) = best(|| {
        let d = data::load_libsvm(input, None).map_err(ml)?;
        let blocks = d.to_blocks(ctx, parts, data::DEFAULT_BLOCK_ROWS);
        let n = d.len() as u64;
        let _ = blocks.unpersist();
        Ok(n)
    })?;
    let (parallel_s, parallel_rows) = best(|| {
        let blocks = data::load_libsvm_file(ctx, input, None, parts).map_err(ml)?;
        let n = blocks.map(|b| b.len() as u64).sum()?;
        let _ = blocks.unpersist();
        Ok(n)
    })?;
    if rows != parallel_rows {
        return Err(Error::task_failed(format!(
            "the loaders disagree: {rows} rows against {parallel_rows}"
        )));
    }
    Ok(LibsvmLoad {
        file_bytes: bytes.len() as u64,
        rows,
        page_cache_read_s: read_s,
        driver_load_s: driver_s,
        parallel_load_s: parallel_s,
        speedup_over_driver: driver_s / parallel_s,
        slowdown_over_read: parallel_s / read_s,
    })
}

/// A graph in compressed sparse rows: vertex ids (in order of first appearance), and
/// each vertex's out-edges as indices into them.
struct Csr {
    ids: Vec<u64>,
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

/// A non-negative integer of plain digits at `b[i..]`: its value and end.
fn id_at(b: &[u8], mut i: usize) -> Option<(u64, usize)> {
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add(u64::from(b[i] - b'0'))?;
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// The single-threaded program's load, written as a careful single-threaded program
/// would be: one pass over the bytes for the edges, ids numbered through a hash map, and
/// the CSR arrays filled by a counting sort on the source.
fn csr_of(path: &Path) -> Result<Csr> {
    let bytes = read(path)?;
    let mut index: rustc_hash::FxHashMap<u64, u32> = rustc_hash::FxHashMap::default();
    let mut ids: Vec<u64> = Vec::new();
    let mut number = |v: u64| {
        *index.entry(v).or_insert_with(|| {
            ids.push(v);
            (ids.len() - 1) as u32
        })
    };
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let i = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if i == line.len() || line[i] == b'#' {
            continue;
        }
        let bad = || Error::parse(path, n as u64 + 1, "expected `src dst`");
        let (s, end) = id_at(line, i).ok_or_else(bad)?;
        let j = end
            + line[end..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        let (d, _) = id_at(line, j).filter(|_| j > end).ok_or_else(bad)?;
        edges.push((number(s), number(d)));
    }
    let n = ids.len();
    let mut offsets = vec![0usize; n + 1];
    for &(s, _) in &edges {
        offsets[s as usize + 1] += 1;
    }
    for v in 0..n {
        offsets[v + 1] += offsets[v];
    }
    let mut next = offsets.clone();
    let mut targets = vec![0u32; edges.len()];
    for &(s, d) in &edges {
        targets[next[s as usize]] = d;
        next[s as usize] += 1;
    }
    Ok(Csr {
        ids,
        offsets,
        targets,
    })
}

/// GraphX's static PageRank on one thread: every vertex starts at 1, each iteration sends
/// `rank / out_degree` along every edge and sets `reset + (1 - reset) * received`, and the
/// ranks are finally rescaled to sum to the number of vertices.
fn pagerank_single(g: &Csr) -> Vec<f64> {
    let n = g.ids.len();
    let mut rank = vec![1.0; n];
    let mut received = vec![0.0; n];
    for _ in 0..PAGERANK_ITERATIONS {
        received.iter_mut().for_each(|r| *r = 0.0);
        for (v, r) in rank.iter().enumerate() {
            let out = &g.targets[g.offsets[v]..g.offsets[v + 1]];
            if out.is_empty() {
                continue;
            }
            let share = r / out.len() as f64;
            for &t in out {
                received[t as usize] += share;
            }
        }
        for (r, s) in rank.iter_mut().zip(&received) {
            *r = RESET_PROB + (1.0 - RESET_PROB) * s;
        }
    }
    let sum: f64 = rank.iter().sum();
    rank.iter().map(|r| r * (n as f64 / sum)).collect()
}

pub(crate) fn pagerank(ctx: &Context, input: &Path, parts: usize) -> Result<PageRankEndToEnd> {
    read(input)?;
    let (single_load_s, csr) = best(|| csr_of(input))?;
    let (single_iter_s, single) = best(|| Ok(pagerank_single(&csr)))?;
    let opts = EdgeListOptions {
        num_partitions: parts,
        ..Default::default()
    };
    let graph_err = |e: firesteel::graphx::GraphError| Error::task_failed(e.to_string());
    let mut load_s = f64::INFINITY;
    let mut iter_s = f64::INFINITY;
    let mut ours = Vec::new();
    for _ in 0..REPS {
        let start = Instant::now();
        let g = edge_list_file(ctx, input, opts).map_err(graph_err)?;
        let loaded = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let ranks = PageRankConfig::iterations(PAGERANK_ITERATIONS)
            .reset_prob(RESET_PROB)
            .run(&g)
            .map_err(graph_err)?;
        ours = ranks.vertices().collect()?;
        let iterated = start.elapsed().as_secs_f64();
        load_s = load_s.min(loaded);
        iter_s = iter_s.min(iterated);
    }
    ours.sort_unstable_by_key(|r| r.0);
    let mut theirs: Vec<(u64, f64)> = csr.ids.iter().copied().zip(single).collect();
    theirs.sort_unstable_by_key(|r| r.0);
    let ranks_agree = ours.len() == theirs.len()
        && ours
            .iter()
            .zip(&theirs)
            .all(|(&(v, r), &(id, s))| v == id && (r - s).abs() <= 1e-9 * (1.0 + s.abs()));
    Ok(PageRankEndToEnd {
        edges: csr.targets.len() as u64,
        vertices: csr.ids.len() as u64,
        single_thread_load_s: single_load_s,
        single_thread_iterate_s: single_iter_s,
        firesteel_load_s: load_s,
        firesteel_iterate_s: iter_s,
        speedup: (single_load_s + single_iter_s) / (load_s + iter_s),
        ranks_agree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The single-threaded oracle is GraphX's PageRank: on the bundled followers graph it
    /// gives Spark's ranks (`graphx.followers.static_page_rank_20` in
    /// data/spark_results.json).
    #[test]
    fn the_single_threaded_program_computes_graphx_pagerank() {
        use crate::demo::spark_results::{key, tolerance, vertex_values};
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../data/followers.txt"
        ));
        let g = csr_of(path).unwrap();
        let ranks = pagerank_single(&g);
        let mut got: Vec<(u64, f64)> = g.ids.iter().copied().zip(ranks).collect();
        got.sort_unstable_by_key(|r| r.0);
        let spark = vertex_values(key::FOLLOWERS_PAGE_RANK);
        let tol = tolerance(key::FOLLOWERS_PAGE_RANK);
        assert_eq!(got.len(), spark.len());
        for ((v, r), (sv, sr)) in got.iter().zip(spark) {
            assert_eq!(*v, sv);
            assert!((r - sr).abs() <= tol, "{v}: {r} vs {sr}");
        }
    }
}

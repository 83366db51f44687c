//! `firesteel bench`: the RDD paper's headline experiments on our engine.
//!
//! Logistic regression, k-means and PageRank run on generated data in two modes in the same
//! run:
//! - **cached**: the input is parsed once, cached, and every iteration runs over memory;
//! - **MapReduce-style**: every iteration is a separate job that re-reads and re-parses the
//!   input from disk, reads the previous iteration's result (weights, centers, ranks) from a
//!   file and writes its own, as a Hadoop job chain does. Nothing is cached.
//!
//! Both modes run the same per-iteration computation, so the ratio measures what caching
//! saves. A memory-pressure run repeats cached logistic regression with the cache budget at
//! a fraction of the cached dataset's size; partitions that do not fit are recomputed from
//! the file on every pass (the RDD paper's Figure 12).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use firesteel::core::io::{excerpt, LineOrigin};
use firesteel::core::{Context, Dataset, Error, HashPartitioner, Result};
use firesteel::graphx::{parse_edge_line, GraphError};
use firesteel::mllib::data::{parse_dense_line, parse_libsvm_line};
use firesteel::mllib::MlError;
use serde::{Deserialize, Serialize};

mod charts;
mod ingest;

use crate::{ContextSettings, Processes};

/// How many times finer than the other runs the memory-pressure runs split their input.
pub const PRESSURE_SPLIT: usize = 4;

/// Sizes and settings of a bench run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub threads: Option<usize>,
    pub partitions: usize,
    pub iterations: usize,
    pub seed: u64,
    pub lr_points: usize,
    pub lr_dims: usize,
    pub km_points: usize,
    pub km_dims: usize,
    pub km_k: usize,
    pub rmat_scale: u32,
    pub jobs: Vec<String>,
    pub fractions: Vec<f64>,
    pub out: PathBuf,
}

/// Per-iteration times of one mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeRun {
    pub mode: String,
    pub iteration_s: Vec<f64>,
    pub first_s: f64,
    pub later_mean_s: f64,
}

impl ModeRun {
    fn new(mode: &str, iteration_s: Vec<f64>) -> Self {
        let first_s = iteration_s.first().copied().unwrap_or(0.0);
        let later = &iteration_s[1.min(iteration_s.len())..];
        let later_mean_s = if later.is_empty() {
            first_s
        } else {
            later.iter().sum::<f64>() / later.len() as f64
        };
        ModeRun {
            mode: mode.into(),
            iteration_s,
            first_s,
            later_mean_s,
        }
    }
}

/// Both modes of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job: String,
    /// Records (points or edges) per iteration.
    pub records: u64,
    pub cached: ModeRun,
    pub mapreduce: ModeRun,
    /// MapReduce-style later-iteration time over cached later-iteration time.
    pub speedup_later: f64,
    pub cached_ns_per_record_iter: f64,
    pub mapreduce_ns_per_record_iter: f64,
    /// Both modes computed the same result (up to float rounding).
    pub results_agree: bool,
}

/// One point of the memory-pressure curve.
#[derive(Debug, Clone, Serialize)]
pub struct PressurePoint {
    pub fraction_cached: f64,
    pub budget_bytes: usize,
    pub later_mean_s: f64,
    pub iteration_s: Vec<f64>,
}

/// Everything a bench run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub threads: usize,
    pub partitions: usize,
    pub iterations: usize,
    pub jobs: Vec<JobReport>,
    pub memory_pressure: Vec<PressurePoint>,
    /// Partitions of the memory-pressure runs' input.
    pub memory_pressure_partitions: usize,
    pub cached_dataset_bytes: usize,
    /// The ingestion figures (`--jobs ingest`).
    pub ingest: Option<ingest::IngestReport>,
}

/// Dense points of one partition, row-major.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Block {
    dims: usize,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Block {
    fn rows(&self) -> usize {
        self.y.len()
    }
}

/// Rows into one block of `dims` columns.
fn block_of(dims: usize, rows: impl Iterator<Item = (f64, Vec<(usize, f64)>)>) -> Vec<Arc<Block>> {
    let mut b = Block {
        dims,
        x: Vec::new(),
        y: Vec::new(),
    };
    for (y, features) in rows {
        let row = b.x.len();
        b.x.resize(row + dims, 0.0);
        for (i, v) in features {
            b.x[row + i] = v;
        }
        b.y.push(y);
    }
    vec![Arc::new(b)]
}

/// A line parser's error, re-made to name the line's origin (the parsers are called with
/// line 0, so that no line number is computed for lines that parse).
fn at_line(message: Option<String>, origin: &LineOrigin<'_>, e: String) -> Error {
    origin.error(message.unwrap_or(e))
}

fn add_into(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// A dot product with four independent accumulators, so that it vectorizes.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// Gradient of the logistic loss over a block, plus the count in the last slot.
fn lr_gradient(b: &Block, w: &[f64]) -> Vec<f64> {
    let d = b.dims;
    let mut g = vec![0.0; d + 1];
    for (row, &y) in b.x.chunks_exact(d).zip(&b.y) {
        let dot = dot(row, w);
        let err = 1.0 / (1.0 + (-dot).exp()) - y;
        for (gi, xi) in g.iter_mut().zip(row) {
            *gi += err * xi;
        }
    }
    g[d] = b.rows() as f64;
    g
}

fn lr_step(w: &mut [f64], g: &[f64]) {
    let n = g[w.len()].max(1.0);
    for (wi, gi) in w.iter_mut().zip(g) {
        *wi -= 1.0 * gi / n;
    }
}

/// Per-center coordinate sums and counts: `k * (dims + 1)` values.
fn km_partials(b: &Block, centers: &[f64], k: usize) -> Vec<f64> {
    let d = b.dims;
    let mut acc = vec![0.0; k * (d + 1)];
    for row in b.x.chunks_exact(d) {
        let mut best = (f64::INFINITY, 0);
        for (c, center) in centers.chunks_exact(d).enumerate() {
            let dist: f64 = row.iter().zip(center).map(|(x, c)| (x - c) * (x - c)).sum();
            if dist < best.0 {
                best = (dist, c);
            }
        }
        let slot = &mut acc[best.1 * (d + 1)..(best.1 + 1) * (d + 1)];
        for (s, x) in slot.iter_mut().zip(row) {
            *s += x;
        }
        slot[d] += 1.0;
    }
    acc
}

fn km_update(centers: &mut [f64], partials: &[f64], dims: usize) {
    for (c, p) in centers
        .chunks_exact_mut(dims)
        .zip(partials.chunks_exact(dims + 1))
    {
        if p[dims] > 0.0 {
            for (ci, si) in c.iter_mut().zip(p) {
                *ci = si / p[dims];
            }
        }
    }
}

fn write_vector(path: &Path, v: &[f64]) -> Result<()> {
    let text: Vec<String> = v.iter().map(|x| format!("{x:e}")).collect();
    std::fs::write(path, text.join("\n")).map_err(|e| Error::Io {
        op: "writing",
        path: path.to_path_buf(),
        source: e,
    })
}

fn read_vector(path: &Path) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        op: "reading",
        path: path.to_path_buf(),
        source: e,
    })?;
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            l.parse()
                .map_err(|_| Error::parse(path, i as u64 + 1, "bad number"))
        })
        .collect()
}

fn timed(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

fn libsvm_blocks(
    ctx: &Context,
    input: &Path,
    dims: usize,
    parts: usize,
) -> Result<Dataset<Arc<Block>>> {
    Ok(ctx
        .parse_text_file(input, parts, move |line, origin| {
            let mut f = Vec::new();
            match parse_libsvm_line(line, origin.path(), 0, Some(dims), &mut f) {
                Ok(label) => Ok(label.map(|y| (y, f))),
                Err(e) => Err(at_line(ml_message(&e), origin, e.to_string())),
            }
        })?
        .map_partitions(move |rows| block_of(dims, rows)))
}

fn dense_blocks(
    ctx: &Context,
    input: &Path,
    dims: usize,
    parts: usize,
) -> Result<Dataset<Arc<Block>>> {
    Ok(ctx
        .parse_text_file(input, parts, move |line, origin| {
            let mut v = Vec::new();
            match parse_dense_line(line, origin.path(), 0, &mut v) {
                Ok(false) => Ok(None),
                Ok(true) if v.len() != dims => {
                    Err(origin.error(format!("expected {dims} values, found {}", v.len())))
                }
                Ok(true) => Ok(Some((0.0, v.into_iter().enumerate().collect()))),
                Err(e) => Err(at_line(ml_message(&e), origin, e.to_string())),
            }
        })?
        .map_partitions(move |rows| block_of(dims, rows)))
}

/// The message of a parse error, without its `path:line`.
fn ml_message(e: &MlError) -> Option<String> {
    match e {
        MlError::Parse { message, .. } => Some(message.clone()),
        _ => None,
    }
}

fn lr_iteration(blocks: &Dataset<Arc<Block>>, w: &mut [f64]) -> Result<()> {
    let wb = Arc::new(w.to_vec());
    let g = blocks.map(move |b| lr_gradient(&b, &wb)).tree_aggregate(
        vec![0.0; w.len() + 1],
        add_into,
        add_into,
        2,
    )?;
    lr_step(w, &g);
    Ok(())
}

/// Cached logistic regression: returns per-iteration times and the final weights.
fn lr_cached(ctx: &Context, input: &Path, cfg: &BenchConfig) -> Result<(Vec<f64>, Vec<f64>)> {
    let blocks = libsvm_blocks(ctx, input, cfg.lr_dims, cfg.partitions)?.cache();
    let mut w = vec![0.0; cfg.lr_dims];
    let mut times = Vec::new();
    for _ in 0..cfg.iterations {
        times.push(timed(|| lr_iteration(&blocks, &mut w))?);
    }
    Ok((times, w))
}

fn lr_mapreduce(
    ctx: &Context,
    input: &Path,
    cfg: &BenchConfig,
    dir: &Path,
) -> Result<(Vec<f64>, Vec<f64>)> {
    write_vector(&dir.join("w-0"), &vec![0.0; cfg.lr_dims])?;
    let mut times = Vec::new();
    for i in 0..cfg.iterations {
        times.push(timed(|| {
            let mut w = read_vector(&dir.join(format!("w-{i}")))?;
            let blocks = libsvm_blocks(ctx, input, cfg.lr_dims, cfg.partitions)?;
            lr_iteration(&blocks, &mut w)?;
            write_vector(&dir.join(format!("w-{}", i + 1)), &w)
        })?);
    }
    Ok((
        times,
        read_vector(&dir.join(format!("w-{}", cfg.iterations)))?,
    ))
}

fn initial_centers(blocks: &Dataset<Arc<Block>>, k: usize) -> Result<Vec<f64>> {
    // The first k points, as a fixed, reproducible start for both modes.
    let first = blocks.first()?;
    let d = first.dims;
    if first.rows() < k {
        return Err(Error::InvalidArgument(format!(
            "the first partition has {} points, fewer than k = {k}",
            first.rows()
        )));
    }
    Ok(first.x[..k * d].to_vec())
}

fn km_iteration(
    blocks: &Dataset<Arc<Block>>,
    centers: &mut [f64],
    k: usize,
    dims: usize,
) -> Result<()> {
    let cb = Arc::new(centers.to_vec());
    let p = blocks
        .map(move |b| km_partials(&b, &cb, k))
        .tree_aggregate(vec![0.0; k * (dims + 1)], add_into, add_into, 2)?;
    km_update(centers, &p, dims);
    Ok(())
}

fn km_cached(ctx: &Context, input: &Path, cfg: &BenchConfig) -> Result<(Vec<f64>, Vec<f64>)> {
    let blocks = dense_blocks(ctx, input, cfg.km_dims, cfg.partitions)?.cache();
    let mut times = Vec::new();
    let mut centers = Vec::new();
    for i in 0..cfg.iterations {
        times.push(timed(|| {
            if i == 0 {
                centers = initial_centers(&blocks, cfg.km_k)?;
            }
            km_iteration(&blocks, &mut centers, cfg.km_k, cfg.km_dims)
        })?);
    }
    Ok((times, centers))
}

fn km_mapreduce(
    ctx: &Context,
    input: &Path,
    cfg: &BenchConfig,
    dir: &Path,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut times = Vec::new();
    for i in 0..cfg.iterations {
        times.push(timed(|| {
            let blocks = dense_blocks(ctx, input, cfg.km_dims, cfg.partitions)?;
            let mut centers = if i == 0 {
                initial_centers(&blocks, cfg.km_k)?
            } else {
                read_vector(&dir.join(format!("c-{i}")))?
            };
            km_iteration(&blocks, &mut centers, cfg.km_k, cfg.km_dims)?;
            write_vector(&dir.join(format!("c-{}", i + 1)), &centers)
        })?);
    }
    Ok((
        times,
        read_vector(&dir.join(format!("c-{}", cfg.iterations)))?,
    ))
}

/// The edges of an edge list (as [`parse_edge_line`]).
fn edges(ctx: &Context, input: &Path, parts: usize) -> Result<Dataset<(u64, u64)>> {
    ctx.parse_text_file(input, parts, |line, origin| {
        match parse_edge_line(line, origin.path(), 0, false) {
            Ok(pair) => Ok(pair),
            Err(GraphError::Parse { message, .. }) => Err(origin.error(message)),
            Err(e) => Err(origin.error(e.to_string())),
        }
    })
}

/// One PageRank step, as Spark's PageRank example: contributions joined from the links
/// table, summed by a shuffle into the links' partitioning.
fn pr_step(
    links: &Dataset<(u64, Arc<Vec<u64>>)>,
    ranks: &Dataset<(u64, f64)>,
    p: HashPartitioner,
) -> Dataset<(u64, f64)> {
    links
        .join(ranks)
        .values()
        .flat_map(|(dests, r)| {
            let share = r / dests.len() as f64;
            (0..dests.len()).map(move |i| (dests[i], share))
        })
        .reduce_by_key_with(|a, b| a + b, p)
        .map_values(|s| 0.15 + 0.85 * s)
}

fn pr_cached(
    ctx: &Context,
    input: &Path,
    cfg: &BenchConfig,
) -> Result<(Vec<f64>, Vec<(u64, f64)>)> {
    let p = HashPartitioner::new(cfg.partitions);
    // Adjacency lists behind an Arc: a cache read then clones a pointer, not the list.
    let links = edges(ctx, input, cfg.partitions)?
        .group_by_key_with(p)
        .map_values(Arc::new)
        .cache();
    let mut ranks = links.map_values(|_| 1.0);
    let mut times = Vec::new();
    for _ in 0..cfg.iterations {
        times.push(timed(|| {
            let next = pr_step(&links, &ranks, p).cache();
            next.count()?;
            let _ = ranks.unpersist();
            ranks = next;
            Ok(())
        })?);
    }
    let mut out = ranks.collect()?;
    out.sort_by_key(|r| r.0);
    Ok((times, out))
}

fn pr_mapreduce(
    ctx: &Context,
    input: &Path,
    cfg: &BenchConfig,
    dir: &Path,
) -> Result<(Vec<f64>, Vec<(u64, f64)>)> {
    let p = HashPartitioner::new(cfg.partitions);
    let mut times = Vec::new();
    for i in 0..cfg.iterations {
        times.push(timed(|| {
            let links = edges(ctx, input, cfg.partitions)?
                .group_by_key_with(p)
                .map_values(Arc::new);
            let ranks = if i == 0 {
                links.map_values(|_| 1.0)
            } else {
                let path = dir.join(format!("ranks-{i}"));
                ctx.parse_text_file(&path, cfg.partitions, |l, origin| {
                    let parsed = l
                        .split_once('\t')
                        .and_then(|(v, r)| Some((v.parse().ok()?, r.parse().ok()?)));
                    match parsed {
                        Some(p) => Ok(Some(p)),
                        None => Err(origin.error(format!("bad rank {}", excerpt(l)))),
                    }
                })?
            };
            pr_step(&links, &ranks, p)
                .map(|(v, r)| format!("{v}\t{r:e}"))
                .save_as_text_file(dir.join(format!("ranks-{}", i + 1)))
        })?);
    }
    let path = dir.join(format!("ranks-{}", cfg.iterations));
    let mut out: Vec<(u64, f64)> = ctx
        .text_file(&path, 1)?
        .try_map(|l| {
            let (v, r) = l.split_once('\t').unwrap_or(("", ""));
            match (v.parse(), r.parse()) {
                (Ok(v), Ok(r)) => Ok((v, r)),
                _ => Err(Error::task_failed(format!("bad rank line `{l}`"))),
            }
        })
        .collect()?;
    out.sort_by_key(|r| r.0);
    Ok((times, out))
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + x.abs()))
}

fn report(job: &str, records: u64, cached: Vec<f64>, mr: Vec<f64>, agree: bool) -> JobReport {
    let cached = ModeRun::new("cached", cached);
    let mapreduce = ModeRun::new("mapreduce", mr);
    let ns = |s: f64| s * 1e9 / records.max(1) as f64;
    JobReport {
        job: job.into(),
        records,
        speedup_later: mapreduce.later_mean_s / cached.later_mean_s.max(1e-12),
        cached_ns_per_record_iter: ns(cached.later_mean_s),
        mapreduce_ns_per_record_iter: ns(mapreduce.later_mean_s),
        cached,
        mapreduce,
        results_agree: agree,
    }
}

/// Generates `input` with `gen` unless it exists already.
fn ensure_input(
    input: &Path,
    log: &dyn Fn(&str),
    gen: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if !input.exists() {
        log(&format!("generating {}", input.display()));
        gen(input)?;
    }
    Ok(())
}

/// A fresh directory for one job's MapReduce-style iteration files.
fn job_dir(work: &Path, name: &str) -> Result<PathBuf> {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::Io {
        op: "creating",
        path: dir.clone(),
        source: e,
    })?;
    Ok(dir)
}

/// Runs the benchmark, writing `bench.json` and the SVG charts into `cfg.out`.
pub fn run(cfg: &BenchConfig, log: &dyn Fn(&str)) -> Result<BenchReport> {
    let data = cfg.out.join("data");
    let work = tempfile::tempdir_in(&cfg.out).map_err(|e| Error::Io {
        op: "creating a work dir in",
        path: cfg.out.clone(),
        source: e,
    })?;
    let big = 64usize << 30;
    // Local, without retries, with a given cache budget.
    let context = |memory| {
        crate::build_context(ContextSettings {
            threads: cfg.threads,
            default_parallelism: None,
            memory,
            max_task_attempts: Some(1),
            processes: Processes::Local,
            progress: false,
        })
    };
    let ctx = context(big)?;
    let threads = ctx.threads();
    let mut jobs = Vec::new();
    let mut memory_pressure = Vec::new();
    let mut cached_dataset_bytes = 0;
    let want = |j: &str| cfg.jobs.iter().any(|x| x == j);

    if want("lr") {
        let input = data.join(format!("logistic-{}x{}.libsvm", cfg.lr_points, cfg.lr_dims));
        ensure_input(&input, log, |p| {
            crate::generate::logistic(p, cfg.lr_points, cfg.lr_dims, cfg.seed)
        })?;
        log("logistic regression: cached");
        let (c, wc) = lr_cached(&context(big)?, &input, cfg)?;
        log("logistic regression: MapReduce-style");
        let dir = job_dir(work.path(), "lr")?;
        let (m, wm) = lr_mapreduce(&ctx, &input, cfg, &dir)?;
        jobs.push(report(
            "logistic_regression",
            cfg.lr_points as u64,
            c,
            m,
            close(&wc, &wm),
        ));

        // Memory pressure: the same cached run under smaller cache budgets, over 4× finer
        // partitions. With only as many partitions as a few per thread, the time would
        // move in steps: an iteration lasts as long as the thread with the most uncached
        // partitions.
        let cfg = &BenchConfig {
            partitions: cfg.partitions * PRESSURE_SPLIT,
            ..cfg.clone()
        };
        let probe = context(big)?;
        let blocks = libsvm_blocks(&probe, &input, cfg.lr_dims, cfg.partitions)?.cache();
        blocks.count()?;
        cached_dataset_bytes = blocks.cached_bytes();
        drop(probe);
        for &f in &cfg.fractions {
            let budget = (cached_dataset_bytes as f64 * f) as usize;
            log(&format!(
                "logistic regression with {:.0} % of the data cacheable",
                f * 100.0
            ));
            let (times, w) = lr_cached(&context(budget)?, &input, cfg)?;
            if !close(&w, &wc) {
                return Err(Error::task_failed(format!(
                    "memory pressure at {f} changed the result"
                )));
            }
            let run = ModeRun::new("cached", times);
            memory_pressure.push(PressurePoint {
                fraction_cached: f,
                budget_bytes: budget,
                later_mean_s: run.later_mean_s,
                iteration_s: run.iteration_s,
            });
        }
    }
    if want("kmeans") {
        let input = data.join(format!(
            "blobs-{}x{}-k{}.txt",
            cfg.km_points, cfg.km_dims, cfg.km_k
        ));
        ensure_input(&input, log, |p| {
            crate::generate::blobs(p, cfg.km_points, cfg.km_dims, cfg.km_k, cfg.seed)
        })?;
        log("k-means: cached");
        let (c, cc) = km_cached(&context(big)?, &input, cfg)?;
        log("k-means: MapReduce-style");
        let dir = job_dir(work.path(), "km")?;
        let (m, cm) = km_mapreduce(&ctx, &input, cfg, &dir)?;
        jobs.push(report(
            "kmeans",
            cfg.km_points as u64,
            c,
            m,
            close(&cc, &cm),
        ));
    }
    if want("pagerank") {
        let input = data.join(format!("rmat-{}.txt", cfg.rmat_scale));
        ensure_input(&input, log, |p| {
            crate::generate::rmat(p, cfg.rmat_scale, 16, cfg.seed)
        })?;
        let n_edges = (1u64 << cfg.rmat_scale) * 16;
        log("PageRank: cached");
        let (c, rc) = pr_cached(&context(big)?, &input, cfg)?;
        log("PageRank: MapReduce-style");
        let dir = job_dir(work.path(), "pr")?;
        let (m, rm) = pr_mapreduce(&ctx, &input, cfg, &dir)?;
        let agree = rc.len() == rm.len()
            && rc
                .iter()
                .zip(&rm)
                .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() <= 1e-9 * (1.0 + a.1));
        jobs.push(report("pagerank", n_edges, c, m, agree));
    }
    let mut ingest = None;
    if want("ingest") {
        let libsvm = data.join(format!("logistic-{}x{}.libsvm", cfg.lr_points, cfg.lr_dims));
        ensure_input(&libsvm, log, |p| {
            crate::generate::logistic(p, cfg.lr_points, cfg.lr_dims, cfg.seed)
        })?;
        let edges = data.join(format!("rmat-{}.txt", cfg.rmat_scale));
        ensure_input(&edges, log, |p| {
            crate::generate::rmat(p, cfg.rmat_scale, 16, cfg.seed)
        })?;
        let ctx = context(big)?;
        log("ingest: LIBSVM loading");
        let libsvm = ingest::libsvm(&ctx, &libsvm, cfg.partitions)?;
        log("ingest: PageRank end to end");
        let pagerank = ingest::pagerank(&ctx, &edges, cfg.partitions)?;
        ingest = Some(ingest::IngestReport {
            threads,
            partitions: cfg.partitions,
            libsvm,
            pagerank,
        });
    }
    let report = BenchReport {
        threads,
        partitions: cfg.partitions,
        iterations: cfg.iterations,
        jobs,
        memory_pressure,
        memory_pressure_partitions: cfg.partitions * PRESSURE_SPLIT,
        cached_dataset_bytes,
        ingest,
    };
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| Error::task_failed(e.to_string()))?;
    let path = cfg.out.join("bench.json");
    std::fs::write(&path, json).map_err(|e| Error::Io {
        op: "writing",
        path,
        source: e,
    })?;
    if !report.jobs.is_empty() {
        charts::iterations(&report, &cfg.out.join("iterations.svg"))?;
    }
    if !report.memory_pressure.is_empty() {
        charts::memory_pressure(&report, &cfg.out.join("memory_pressure.svg"))?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_modes_agree_on_a_small_run() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = BenchConfig {
            threads: Some(2),
            partitions: 4,
            iterations: 3,
            seed: 1,
            lr_points: 400,
            lr_dims: 3,
            km_points: 300,
            km_dims: 2,
            km_k: 3,
            rmat_scale: 7,
            jobs: vec!["lr".into(), "kmeans".into(), "pagerank".into()],
            fractions: vec![0.0, 0.5, 1.0],
            out: dir.path().to_path_buf(),
        };
        let r = run(&cfg, &|_| {}).unwrap();
        assert_eq!(r.jobs.len(), 3);
        for j in &r.jobs {
            assert!(j.results_agree, "{} modes disagree", j.job);
            assert_eq!(j.cached.iteration_s.len(), 3);
            assert_eq!(j.mapreduce.iteration_s.len(), 3);
        }
        assert_eq!(r.memory_pressure.len(), 3);
        assert!(r.cached_dataset_bytes > 400 * 3 * 8);
        assert!(dir.path().join("bench.json").exists());
        assert!(dir.path().join("iterations.svg").exists());
        assert!(dir.path().join("memory_pressure.svg").exists());
    }

    #[test]
    fn malformed_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::builder()
            .threads(1)
            .max_task_attempts(1)
            .build()
            .unwrap();
        let file = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let lr = file("lr.libsvm", "1 1:0.5 2:1\n\n0 2:x\n");
        let e = libsvm_blocks(&ctx, &lr, 2, 1).unwrap().count().unwrap_err();
        let want = format!("{}:3: cannot parse feature value \"x\"", lr.display());
        assert!(e.to_string().contains(&want), "{e}");
        let e = libsvm_blocks(&ctx, &lr, 1, 1).unwrap().count().unwrap_err();
        assert!(e.to_string().contains("exceeds num_features 1"), "{e}");
        let km = file("km.txt", "1 2\n3 4 5\n");
        let e = dense_blocks(&ctx, &km, 2, 1).unwrap().count().unwrap_err();
        let want = format!("{}:2: expected 2 values, found 3", km.display());
        assert!(e.to_string().contains(&want), "{e}");
        let pr = file("pr.txt", "# edges\n1 2\n3\n");
        let e = edges(&ctx, &pr, 1).unwrap().count().unwrap_err();
        let want = format!("{}:3: expected `src dst`", pr.display());
        assert!(e.to_string().contains(&want), "{e}");
        let e = dense_blocks(&ctx, &km, 3, 1).unwrap().count().unwrap_err();
        let want = format!("{}:1: expected 3 values, found 2", km.display());
        assert!(e.to_string().ends_with(&want), "{e}");
    }

    #[test]
    fn lr_gradient_matches_a_finite_difference() {
        let b = Block {
            dims: 2,
            x: vec![1.0, 2.0, -1.0, 0.5, 0.3, -0.7],
            y: vec![1.0, 0.0, 1.0],
        };
        let loss = |w: &[f64]| -> f64 {
            b.x.chunks_exact(2)
                .zip(&b.y)
                .map(|(x, y)| {
                    let p = 1.0 / (1.0 + (-(x[0] * w[0] + x[1] * w[1])).exp());
                    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
                })
                .sum()
        };
        let w = [0.3, -0.2];
        let g = lr_gradient(&b, &w);
        for i in 0..2 {
            let mut wp = w;
            let mut wm = w;
            wp[i] += 1e-6;
            wm[i] -= 1e-6;
            let fd = (loss(&wp) - loss(&wm)) / 2e-6;
            assert!((fd - g[i]).abs() < 1e-6, "{fd} vs {}", g[i]);
        }
        assert_eq!(g[2], 3.0);
    }
}

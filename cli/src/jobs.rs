//! The job subcommands: `pagerank`, `cc`, `scc`, `triangles`, `kmeans`, `lr` and `als`.
//!
//! Each loads its input (timed as `load_s`), trains or iterates (`fit_s`), and prints either a
//! human summary or, with `--json`, exactly one JSON object holding the timings, the job's
//! quality figures and the engine metrics.

use std::error::Error as StdError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use firesteel::core::Context;
use firesteel::graphx::algorithms::{self, PageRankConfig};
use firesteel::graphx::{
    edge_list_dataset, edge_list_file, Edge, EdgeListOptions, Graph, GraphError,
};
use firesteel::mllib::als::{Als, AlsModel, ColdStartStrategy};
use firesteel::mllib::data;
use firesteel::mllib::kmeans::{KMeans, KMeansInit};
use firesteel::mllib::logistic::{Family, LogisticRegression};
use firesteel::mllib::{Fit, MlError, Model, ParamError, ParamGuard};
use serde_json::{json, Value};

use crate::run_identity;
use crate::sources;
use crate::Common;

pub(crate) type JobResult = Result<(), Box<dyn StdError + Send + Sync>>;

/// What a job reports.
struct Outcome {
    job: &'static str,
    load_s: f64,
    fit_s: f64,
    iterations: usize,
    iteration_s: Vec<f64>,
    quality: Value,
}

fn emit(common: &Common, ctx: &Context, o: Outcome) {
    if !crate::is_leader(ctx) {
        return;
    }
    let m = ctx.metrics();
    if common.json {
        let t = m.totals;
        let v = json!({
            "job": o.job,
            "load_s": o.load_s,
            "fit_s": o.fit_s,
            "iterations": o.iterations,
            "iteration_s": o.iteration_s,
            "quality": o.quality,
            "metrics": {
                "jobs": m.jobs_run,
                "stages": m.stages_run,
                "task_failures": m.task_failures,
                "shuffle_bytes_written": t.shuffle_bytes_written,
                "shuffle_bytes_read": t.shuffle_bytes_read,
                "bytes_spilled": t.bytes_spilled,
                "cache_hits": t.cache_hits,
                "cache_misses": t.cache_misses,
                "cache_evictions": t.cache_evictions,
                "recomputations": t.recomputations,
                "cache_memory_used": m.cache_memory_used,
            }
        });
        println!("{v}");
    } else {
        eprintln!(
            "{}: loaded in {:.3} s, ran {} iterations in {:.3} s; {}",
            o.job, o.load_s, o.iterations, o.fit_s, o.quality
        );
    }
}

/// Writes `lines` to `--output` (a plain TSV file, under `--mode`), or to stdout without
/// `--json`.
fn write_tsv(common: &Common, ctx: &Context, lines: impl Iterator<Item = String>) -> JobResult {
    if !crate::is_leader(ctx) {
        return Ok(());
    }
    match &common.output {
        Some(path) => sources::write_lines(path, common.mode, lines)?,
        None if !common.json => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            for l in lines {
                writeln!(w, "{l}")?;
            }
        }
        None => {}
    }
    Ok(())
}

/// Writes a graph job's `(vertex, value)` records to `--output` (TSV, or records as its
/// extension or scheme says, under `--mode`), or TSV to stdout without `--json`.
fn write_vertices<V: sources::OutputValue>(
    common: &Common,
    ctx: &Context,
    rows: &[(u64, V)],
) -> JobResult {
    match &common.output {
        Some(path) if crate::is_leader(ctx) => {
            sources::write_vertex_values(path, common.mode, rows)
        }
        Some(_) => Ok(()),
        None => write_tsv(common, ctx, rows.iter().map(|(id, v)| format!("{id}\t{v}"))),
    }
}

/// Refuses at once, before anything runs, an output that exists under `--mode error`.
fn check_output(common: &Common) -> JobResult {
    match &common.output {
        Some(path) => sources::check_output(path, common.mode),
        None => Ok(()),
    }
}

/// Graph jobs' flags.
#[derive(Args, Debug)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    common: Common,
    /// The edges: a text edge list (`src dst` per line, `#` comments), or the columns
    /// `src` and `dst` (vertex ids, integers >= 0) of Parquet (`.parquet`, or a directory
    /// of part files), CSV with a header (`.csv`), JSON lines (`.jsonl`, `.json`) or a
    /// PostgreSQL table (`postgres://USER@HOST:PORT/DB?table=T&partition_column=C&num_partitions=N`).
    /// Files, directories, globs, comma lists; text compressed (.gz, .bz2, .zst) too.
    #[arg(long)]
    input: PathBuf,
    /// Checkpoint the parsed edges here, and resume from that checkpoint when it is
    /// complete (the input is then not read): a rerun after a failure skips the loading.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
}

/// PageRank's flags.
#[derive(Args, Debug)]
pub(crate) struct PageRankArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Static PageRank with this many iterations (default 20).
    #[arg(long, conflicts_with = "tolerance")]
    iterations: Option<usize>,
    /// Dynamic PageRank until ranks change by less than this.
    #[arg(long)]
    tolerance: Option<f64>,
    /// With --tolerance: stop after this many iterations even if ranks still change (with
    /// a warning). GraphX sets no limit; a tolerance below what doubles can show would
    /// never be reached.
    #[arg(long, default_value_t = 10_000, requires = "tolerance", value_parser = crate::count_in(usize::MAX))]
    max_iterations: usize,
    /// Probability of a random reset.
    #[arg(long, default_value_t = 0.15)]
    reset_prob: f64,
}

fn load_graph(
    ctx: &Context,
    a: &GraphArgs,
) -> Result<(Graph<i32, i32>, f64), Box<dyn StdError + Send + Sync>> {
    let start = Instant::now();
    let opts = EdgeListOptions {
        num_partitions: a.common.partitions.unwrap_or(0),
        ..Default::default()
    };
    let parts = opts.num_partitions;
    let records = sources::read_edges(ctx, &a.input, parts)?;
    let g = match &a.checkpoint_dir {
        None => match records {
            None => edge_list_file(ctx, &a.input, opts)?,
            Some(edges) => {
                let g = Graph::from_edges(&edges, 1);
                // Read now, so that a bad record is reported as the input's error.
                match g.num_edges() {
                    Ok(_) => g,
                    Err(GraphError::Engine(e)) => return Err(sources::engine_error(e)),
                    Err(e) => return Err(e.into()),
                }
            }
        },
        Some(dir) => {
            let saved = dir.join("edges");
            // The identity of the input the checkpoint is made from, written before it.
            let source = dir.join("edges.source");
            let input = run_identity::input_identity(&a.input);
            let edges = if saved.join("_SUCCESS").exists() {
                let recorded = std::fs::read_to_string(&source).ok();
                match (&input, &recorded) {
                    (Some(now), Some(then)) if now != then => {
                        return Err(format!(
                            "the checkpoint in {} was made from another input than {}: \
                             remove it, or choose another --checkpoint-dir",
                            saved.display(),
                            a.input.display()
                        )
                        .into())
                    }
                    (_, None) => {
                        return Err(format!(
                            "the checkpoint in {} has no record of its input ({} is \
                             missing): remove it, or choose another --checkpoint-dir",
                            saved.display(),
                            source.display()
                        )
                        .into())
                    }
                    (None, Some(_)) => eprintln!(
                        "{} cannot be read: resuming without checking that the checkpoint \
                         is of it",
                        a.input.display()
                    ),
                    _ => {}
                }
                eprintln!("resuming from the checkpoint in {}", saved.display());
                ctx.read_checkpoint::<Edge<i32>>(&saved)?
            } else {
                if let Some(identity) = &input {
                    std::fs::create_dir_all(dir)?;
                    std::fs::write(&source, identity)?;
                }
                match records {
                    None => edge_list_dataset(ctx, &a.input, &opts)?,
                    Some(edges) => edges,
                }
                .checkpoint_to(&saved)
                .map_err(sources::engine_error)?
            };
            Graph::from_edges(&edges, 1)
        }
    };
    Ok((g, start.elapsed().as_secs_f64()))
}

/// A parameter the graph library rejects, named by its flag (`--reset-prob 2 must be in
/// [0, 1]`); other errors as they are.
fn flag_error(e: GraphError) -> Box<dyn StdError + Send + Sync> {
    match e {
        GraphError::InvalidParameter { name, value, rule } => {
            let flag = match name {
                "reset_prob" => "reset-prob",
                "tol" => "tolerance",
                "num_iter" => "iterations",
                other => other,
            };
            format!("--{flag} {value} {rule}").into()
        }
        e => e.into(),
    }
}

pub(crate) fn pagerank(a: &PageRankArgs) -> JobResult {
    let common = &a.graph.common;
    let (config, iterations) = match a.tolerance {
        Some(tol) => (
            PageRankConfig::tolerance(tol).max_iterations(a.max_iterations),
            0,
        ),
        None => {
            let n = a.iterations.unwrap_or(20);
            (PageRankConfig::iterations(n), n)
        }
    };
    let config = config.reset_prob(a.reset_prob);
    // The library checks the parameters; before loading, so that a bad flag fails at once.
    config.check().map_err(flag_error)?;
    check_output(common)?;
    let ctx = crate::context(common)?;
    let (g, load_s) = load_graph(&ctx, &a.graph)?;
    let start = Instant::now();
    let ranks = config.run(&g)?;
    // Only rank 0 writes and reports: the other processes need not receive the ranks.
    let Some(mut v) = ranks.vertices().collect_to_leader()? else {
        return Ok(());
    };
    let fit_s = start.elapsed().as_secs_f64();
    v.sort_by_key(|r| r.0);
    let sum: f64 = v.iter().map(|r| r.1).sum();
    write_vertices(common, &ctx, &v)?;
    emit(
        common,
        &ctx,
        Outcome {
            job: "pagerank",
            load_s,
            fit_s,
            iterations,
            iteration_s: Vec::new(),
            quality: json!({ "vertices": v.len(), "rank_sum": sum }),
        },
    );
    Ok(())
}

/// Which per-vertex graph algorithm to run.
#[derive(Debug, Clone, Copy)]
pub(crate) enum VertexJob {
    Components,
    Strong,
    Triangles,
}

pub(crate) fn vertex_job(a: &GraphArgs, which: VertexJob) -> JobResult {
    check_output(&a.common)?;
    let ctx = crate::context(&a.common)?;
    let (g, load_s) = load_graph(&ctx, a)?;
    let start = Instant::now();
    let (name, result) = match which {
        VertexJob::Components => ("cc", algorithms::connected_components(&g, None)?),
        VertexJob::Strong => (
            "scc",
            algorithms::strongly_connected_components(&g, usize::MAX)?,
        ),
        VertexJob::Triangles => ("triangles", algorithms::triangle_count(&g)?),
    };
    // Only rank 0 writes and reports: the other processes need not receive the labels.
    let Some(mut v) = result.vertices().collect_to_leader()? else {
        return Ok(());
    };
    let fit_s = start.elapsed().as_secs_f64();
    v.sort_unstable();
    let quality = match which {
        VertexJob::Triangles => json!({
            "vertices": v.len(),
            "triangles": v.iter().map(|x| x.1).sum::<u64>() / 3,
        }),
        _ => {
            let mut labels: Vec<u64> = v.iter().map(|x| x.1).collect();
            labels.sort_unstable();
            labels.dedup();
            json!({ "vertices": v.len(), "components": labels.len() })
        }
    };
    write_vertices(&a.common, &ctx, &v)?;
    emit(
        &a.common,
        &ctx,
        Outcome {
            job: name,
            load_s,
            fit_s,
            iterations: 0,
            iteration_s: Vec::new(),
            quality,
        },
    );
    Ok(())
}

/// Input formats of the ML jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Libsvm,
    Dense,
}

/// k-means initialization, as Spark names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Init {
    #[value(name = "k-means-parallel", alias = "k-means||")]
    KMeansParallel,
    Random,
}

/// k-means flags.
#[derive(Args, Debug)]
pub(crate) struct KMeansArgs {
    #[command(flatten)]
    common: Common,
    /// The points: LIBSVM or dense text (whitespace-separated numbers; the label of
    /// LIBSVM is ignored), or every numeric column but `label` (ignored if present), in
    /// the table's order, of Parquet (`.parquet`), CSV with a header (`.csv`; a column is
    /// numeric if its first row's value is a number), JSON lines (`.jsonl`, `.json`;
    /// numbers in the first line) or a PostgreSQL table
    /// (`postgres://USER@HOST:PORT/DB?table=T&partition_column=C&num_partitions=N`;
    /// integer and floating columns).
    #[arg(long)]
    input: PathBuf,
    /// Text input format (default: detected from the first line).
    #[arg(long, value_enum)]
    format: Option<Format>,
    #[arg(long)]
    k: usize,
    #[arg(long, default_value_t = 20)]
    iterations: usize,
    #[arg(long, default_value_t = 1e-4)]
    tol: f64,
    #[arg(long, value_enum, default_value = "k-means-parallel")]
    init: Init,
}

/// LIBSVM if the first non-blank line of the first input file has a `:`, else dense.
fn detect_format(path: &Path) -> Result<Format, Box<dyn StdError + Send + Sync>> {
    use std::io::BufRead;
    let files = firesteel::core::io::resolve_inputs(path)?;
    let Some(first_file) = files.first() else {
        return Err(format!("{}: no input files", path.display()).into());
    };
    let reader = std::io::BufReader::new(firesteel::core::io::open_decoded(first_file)?);
    for line in reader.lines() {
        let line = line.map_err(|e| format!("reading {}: {e}", first_file.display()))?;
        if !line.trim().is_empty() {
            return Ok(if line.contains(':') {
                Format::Libsvm
            } else {
                Format::Dense
            });
        }
    }
    Ok(Format::Dense)
}

/// Blocks of the points of a record input, cached as the text loaders cache theirs;
/// every point must have as many features as the first.
fn point_blocks(
    input: &Path,
    points: firesteel::core::Dataset<data::LabeledPoint>,
) -> Result<
    firesteel::core::Dataset<std::sync::Arc<data::InstanceBlock>>,
    Box<dyn StdError + Send + Sync>,
> {
    let blocks = data::blockify(&points, data::DEFAULT_BLOCK_ROWS)
        .persist(firesteel::core::StorageLevel::MemoryAndDisk);
    let shapes = blocks
        .map(|b| (b.len(), b.num_features()))
        .collect()
        .map_err(sources::engine_error)?;
    if shapes.iter().all(|s| s.0 == 0) {
        return Err(format!("{}: no records", input.display()).into());
    }
    Ok(blocks)
}

/// The library's message for a parameter it rejected, led by the flag that set it
/// (`renamed` lists the flags not named after their parameter).
fn invalid_flag(e: ParamError, renamed: &[(&str, &str)]) -> String {
    let flag = match renamed.iter().find(|(param, _)| *param == e.param()) {
        Some((_, flag)) => (*flag).to_string(),
        None => e.param().replace('_', "-"),
    };
    format!("--{flag}: {e}")
}

pub(crate) fn kmeans(a: &KMeansArgs) -> JobResult {
    let init = match a.init {
        Init::KMeansParallel => KMeansInit::KMeansParallel,
        Init::Random => KMeansInit::Random,
    };
    let params = KMeans::params(a.k)
        .max_iter(a.iterations)
        .tol(a.tol)
        .init(init)
        .seed(a.common.seed)
        .check()
        .map_err(|e| invalid_flag(e, &[]))?;
    check_output(&a.common)?;
    let ctx = crate::context(&a.common)?;
    let start = Instant::now();
    let parts = crate::partitions(&a.common, &ctx);
    let mut names = Vec::new();
    let blocks = match sources::read_points(&ctx, &a.input, parts)? {
        Some(p) => {
            names = p.features;
            point_blocks(&a.input, p.points)?
        }
        None => {
            let format = match a.format {
                Some(f) => f,
                None => detect_format(&a.input)?,
            };
            match format {
                Format::Libsvm => data::load_libsvm_file(&ctx, &a.input, None, parts)?,
                Format::Dense => data::load_dense_file(&ctx, &a.input, parts)?,
            }
        }
    };
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let model = params.fit(&blocks)?;
    let fit_s = start.elapsed().as_secs_f64();
    let s = model.summary();
    let centers: Vec<Vec<f64>> = model.centers().outer_iter().map(|c| c.to_vec()).collect();
    match &a.common.output {
        Some(path) if crate::is_leader(&ctx) => {
            sources::write_centers(path, a.common.mode, &names, &centers)?
        }
        _ => write_tsv(
            &a.common,
            &ctx,
            centers.iter().map(|c| {
                c.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\t")
            }),
        )?,
    }
    emit(
        &a.common,
        &ctx,
        Outcome {
            job: "kmeans",
            load_s,
            fit_s,
            iterations: s.training.iterations,
            iteration_s: s.training.iteration_seconds.clone(),
            quality: json!({ "cost": s.training_cost, "converged": s.training.converged, "cluster_sizes": s.cluster_sizes }),
        },
    );
    Ok(())
}

/// Logistic regression family names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FamilyArg {
    Auto,
    Binomial,
    Multinomial,
}

/// Logistic regression flags.
#[derive(Args, Debug)]
pub(crate) struct LrArgs {
    #[command(flatten)]
    common: Common,
    /// The labelled points: LIBSVM text, or the column `label` (0, 1, ... for the
    /// classes) and every other numeric column as a feature, in the table's order, of
    /// Parquet (`.parquet`), CSV with a header (`.csv`; a column is numeric if its first
    /// row's value is a number), JSON lines (`.jsonl`, `.json`; numbers in the first
    /// line) or a PostgreSQL table
    /// (`postgres://USER@HOST:PORT/DB?table=T&partition_column=C&num_partitions=N`;
    /// integer and floating columns).
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 100)]
    iterations: usize,
    /// Regularization strength (Spark's regParam).
    #[arg(long, default_value_t = 0.0)]
    reg: f64,
    /// L1 share of the penalty (Spark's elasticNetParam).
    #[arg(long, default_value_t = 0.0)]
    elastic_net: f64,
    #[arg(long, value_enum, default_value = "auto")]
    family: FamilyArg,
    /// Convergence tolerance (Spark's tol); 0 runs every iteration.
    #[arg(long, default_value_t = 1e-6)]
    tol: f64,
}

pub(crate) fn lr(a: &LrArgs) -> JobResult {
    let family = match a.family {
        FamilyArg::Auto => Family::Auto,
        FamilyArg::Binomial => Family::Binomial,
        FamilyArg::Multinomial => Family::Multinomial,
    };
    let params = LogisticRegression::params()
        .max_iter(a.iterations)
        .tol(a.tol)
        .reg_param(a.reg)
        .elastic_net_param(a.elastic_net)
        .family(family)
        .check()
        .map_err(|e| {
            invalid_flag(
                e,
                &[("reg_param", "reg"), ("elastic_net_param", "elastic-net")],
            )
        })?;
    if let Some(out) = &a.common.output {
        sources::text_output_only("lr", "its model file", out)?;
    }
    check_output(&a.common)?;
    let ctx = crate::context(&a.common)?;
    let start = Instant::now();
    let parts = crate::partitions(&a.common, &ctx);
    let blocks = match sources::read_points(&ctx, &a.input, parts)? {
        Some(p) if !p.labeled => {
            return Err(format!(
                "{}: no column \"label\" (lr needs one; it has {})",
                a.input.display(),
                p.features.join(", ")
            )
            .into())
        }
        Some(p) => point_blocks(&a.input, p.points)?,
        None => data::load_libsvm_file(&ctx, &a.input, None, parts)?,
    };
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let model = params.fit(&blocks).map_err(|e| match e {
        // The training data no longer know their lines: find the first with that label.
        MlError::InvalidLabel(l) => match first_line_labelled(&a.input, l) {
            Some(at) => format!(
                "{at}: invalid label {l}: logistic regression needs class indices 0, 1, 2, ..."
            )
            .into(),
            None => Box::<dyn StdError + Send + Sync>::from(MlError::InvalidLabel(l)),
        },
        e => e.into(),
    })?;
    let fit_s = start.elapsed().as_secs_f64();
    if let Some(path) = &a.common.output {
        if crate::is_leader(&ctx) {
            sources::write_file(path, a.common.mode, |p| Ok(model.save(p)?))?;
        }
    }
    let s = model.summary();
    emit(
        &a.common,
        &ctx,
        Outcome {
            job: "lr",
            load_s,
            fit_s,
            iterations: s.training.iterations,
            iteration_s: s.training.iteration_seconds.clone(),
            quality: json!({
                "accuracy": s.accuracy,
                "area_under_roc": s.area_under_roc,
                "classes": model.num_classes(),
                "objective": s.training.objective_history.last(),
            }),
        },
    );
    Ok(())
}

/// `path:line` of the first line of the text input `spec` whose first token (a LIBSVM or
/// dense-text label) is `label`; `None` for other inputs or when none is.
fn first_line_labelled(spec: &Path, label: f64) -> Option<String> {
    use std::io::BufRead;
    for file in firesteel::core::io::resolve_inputs(spec).ok()? {
        let reader = std::io::BufReader::new(firesteel::core::io::open_decoded(&file).ok()?);
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = line.ok()?;
            let first = line
                .split(|b| b.is_ascii_whitespace())
                .find(|t| !t.is_empty());
            let parsed = first.and_then(|t| std::str::from_utf8(t).ok()?.parse::<f64>().ok());
            if parsed.is_some_and(|v| v == label || (v.is_nan() && label.is_nan())) {
                return Some(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    None
}

/// ALS flags.
#[derive(Args, Debug)]
pub(crate) struct AlsArgs {
    #[command(flatten)]
    common: Common,
    /// Ratings: MovieLens text `user::item::rating::timestamp`, `user,item,rating` lines
    /// (a `.csv` file without a header), or the columns `user` and `item` (ids, integers
    /// from 0) and `rating` (a number) of Parquet (`.parquet`), CSV with a header
    /// (`.csv`), JSON lines (`.jsonl`, `.json`) or a PostgreSQL table
    /// (`postgres://USER@HOST:PORT/DB?table=T&partition_column=C&num_partitions=N`).
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 10)]
    rank: usize,
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    #[arg(long, default_value_t = 0.1)]
    reg: f64,
    /// Implicit feedback (Hu, Koren and Volinsky).
    #[arg(long)]
    implicit: bool,
    #[arg(long, default_value_t = 1.0)]
    alpha: f64,
    /// Share of the ratings held out for the test RMSE.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
}

pub(crate) fn als(a: &AlsArgs) -> JobResult {
    // The hold-out share is the job's, not a parameter of ALS.
    if !(0.0..1.0).contains(&a.test_fraction) {
        return Err(format!("--test-fraction {} is not in [0, 1)", a.test_fraction).into());
    }
    if let Some(out) = &a.common.output {
        sources::text_output_only("als", "its factors", out)?;
    }
    check_output(&a.common)?;
    let params = Als::params()
        .rank(a.rank)
        .max_iter(a.iterations)
        .reg_param(a.reg)
        .implicit_prefs(a.implicit)
        .alpha(a.alpha)
        .seed(a.common.seed)
        .cold_start_strategy(ColdStartStrategy::Drop)
        .check()
        .map_err(|e| invalid_flag(e, &[("reg_param", "reg")]))?;
    let ctx = crate::context(&a.common)?;
    let start = Instant::now();
    let parts = crate::partitions(&a.common, &ctx);
    let all = match sources::read_ratings(&ctx, &a.input, parts)? {
        Some(r) => r,
        None => data::load_ratings_file(&ctx, &a.input, parts)?,
    }
    .cache();
    if all.count().map_err(sources::engine_error)? == 0 {
        return Err(format!("{}: no records", a.input.display()).into());
    }
    let split = all.random_split(&[1.0 - a.test_fraction, a.test_fraction], a.common.seed)?;
    let (train, test) = (split[0].cache(), split[1].cache());
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let model = params.fit(&train)?;
    let fit_s = start.elapsed().as_secs_f64();
    let train_rmse = model.rmse(&train)?;
    let test_rmse = if a.test_fraction > 0.0 {
        Some(model.rmse(&test)?)
    } else {
        None
    };
    emit(
        &a.common,
        &ctx,
        Outcome {
            job: "als",
            load_s,
            fit_s,
            iterations: model.summary().iterations,
            iteration_s: model.summary().iteration_seconds.clone(),
            quality: json!({ "train_rmse": train_rmse, "test_rmse": test_rmse }),
        },
    );
    if a.common.output.is_some() {
        write_tsv(&a.common, &ctx, factor_lines(&model))?;
    }
    Ok(())
}

/// The model's factors as TSV lines `user<TAB>id<TAB>f1,f2,...`, then the items'.
fn factor_lines(model: &AlsModel) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    for (kind, (ids, factors)) in [
        ("user", model.user_factors()),
        ("item", model.item_factors()),
    ] {
        for (id, row) in ids.iter().zip(factors.rows()) {
            let values: Vec<String> = row.iter().map(f32::to_string).collect();
            out.push(format!("{kind}\t{id}\t{}", values.join(",")));
        }
    }
    out.into_iter()
}

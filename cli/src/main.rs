//! The `firesteel` command-line tool, in the spirit of Spark's `run-example` and
//! `spark-submit`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

mod bench;
mod demo;
mod generate;
mod jobs;
mod launch;
mod run_identity;
mod sources;
mod stream;
mod stream_bench;
use firesteel::core::metrics::{StageInfo, TaskEnd};
use firesteel::core::{ClusterConfig, Context, Listener};

#[derive(Parser, Debug)]
#[command(
    name = "firesteel",
    version,
    about = "Partitioned in-memory datasets, in the spirit of Apache Spark"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// What to log on stderr, as `tracing` targets and levels: `info` (jobs), `debug`
    /// (stages), `firesteel::round=debug` (cluster rounds), ... Default: `RUST_LOG`, else
    /// `warn`.
    #[arg(long, global = true)]
    log: Option<String>,
}

/// Flags every job takes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Worker threads (default: all cores; at most 1024).
    #[arg(long, value_parser = count_in(MAX_THREADS))]
    threads: Option<usize>,
    /// Partitions of the input (default: 2 per thread; at most 100,000).
    #[arg(long, value_parser = count_in(MAX_PARTITIONS))]
    partitions: Option<usize>,
    /// Cache memory budget, in bytes or with a suffix: 512m, 2g.
    #[arg(long, value_parser = parse_bytes, default_value = "1g")]
    memory: usize,
    /// Seed of everything random.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to write the output: a file (TSV), or records by extension or scheme:
    /// Parquet (`.parquet`), CSV with a header (`.csv`) or JSON lines (`.jsonl`), each a
    /// directory of part files as Spark writes them, or a PostgreSQL table
    /// (`postgres://USER@HOST:PORT/DB?table=T`).
    #[arg(long)]
    output: Option<PathBuf>,
    /// What to do when the output exists (Spark's save modes): `error` (refuse),
    /// `append`, `overwrite` (replace it once the new output is complete) or `ignore`
    /// (write nothing).
    #[arg(long, default_value = "error", value_parser = parse_mode)]
    mode: firesteel::connectors::SaveMode,
    /// Print exactly one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Show progress on stderr (default: when stderr is a terminal).
    #[arg(long)]
    progress: Option<bool>,
    /// Cluster mode: this process's rank (default: `FIRESTEEL_RANK` and the like).
    #[arg(long, requires = "peers")]
    process_rank: Option<usize>,
    /// Cluster mode: every process's `host:port`, comma-separated, by rank (default:
    /// `FIRESTEEL_PEERS`). Each process listens only on its own address.
    #[arg(long, value_delimiter = ',', requires = "process_rank")]
    peers: Option<Vec<String>>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Runs the demo on the bundled sample data and prints each result.
    Demo {
        #[command(flatten)]
        common: Common,
        /// Directory of the bundled data.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))]
        data_dir: PathBuf,
    },
    /// Writes seeded synthetic data for benchmarks.
    Generate {
        #[command(subcommand)]
        what: Generate,
        /// Seed.
        #[arg(long, default_value_t = 42, global = true)]
        seed: u64,
        /// Output file.
        #[arg(long, global = true)]
        output: Option<PathBuf>,
    },
    /// Cached vs MapReduce-style iterations of logistic regression, k-means and PageRank,
    /// and the memory-pressure curve; writes bench.json and SVG charts.
    Bench(BenchArgs),
    /// PageRank with GraphX semantics: TSV `vertex<TAB>rank`, sorted by vertex (or records
    /// `vertex`, `value`: see `--output`).
    Pagerank(jobs::PageRankArgs),
    /// Connected components: TSV `vertex<TAB>component` (the smallest id in it).
    Cc(jobs::GraphArgs),
    /// Strongly connected components: TSV `vertex<TAB>component`.
    Scc(jobs::GraphArgs),
    /// Triangles through each vertex: TSV `vertex<TAB>triangles`.
    Triangles(jobs::GraphArgs),
    /// k-means; `--output` writes the centers: TSV, or records `cluster` and one column per
    /// feature (Parquet, CSV, JSON lines or a PostgreSQL table, by extension or scheme).
    Kmeans(jobs::KMeansArgs),
    /// Logistic regression; `--output` writes the model file.
    Lr(jobs::LrArgs),
    /// ALS matrix factorization; reports train and test RMSE; `--output` writes the factors
    /// (TSV `user` or `item`, id, and the factors comma-separated).
    Als(jobs::AlsArgs),
    /// Starts N local processes of a program as a cluster: `launch -n 2 -- firesteel ...`.
    Launch(launch::LaunchArgs),
    /// Streaming jobs on discretized streams, as Spark's streaming examples:
    /// `file-word-count`, `stateful-word-count`, `windowed-word-count`.
    Stream(stream::StreamArgs),
    /// The D-Streams paper's throughput and latency experiments: the sustainable rate of
    /// Grep and sliding-window WordCount, and latency at half that rate.
    StreamBench(stream_bench::StreamBenchArgs),
    /// Counts words, sorted by word.
    Wordcount {
        #[command(flatten)]
        common: Common,
        /// A text file or a directory of part files.
        #[arg(long)]
        input: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum Generate {
    /// A Graph500 R-MAT edge list (`src dst`).
    Rmat {
        /// log2 of the vertex count (at most 31: the graph jobs read 32-bit vertex ids).
        #[arg(long, default_value_t = 18, value_parser = clap::value_parser!(u32).range(0..=31))]
        scale: u32,
        /// Edges per vertex (at least 1).
        #[arg(long, default_value_t = 16, value_parser = count_in(1 << 20))]
        edge_factor: usize,
    },
    /// Gaussian blobs as dense vectors (as `kmeans_data.txt`).
    Blobs {
        #[arg(long, default_value_t = 500_000, value_parser = count_in(usize::MAX))]
        points: usize,
        #[arg(long, default_value_t = 16, value_parser = count_in(MAX_DIMS))]
        dims: usize,
        #[arg(long, default_value_t = 16, value_parser = count_in(usize::MAX))]
        k: usize,
    },
    /// Labelled points for logistic regression, in LIBSVM format.
    Logistic {
        #[arg(long, default_value_t = 200_000, value_parser = count_in(usize::MAX))]
        points: usize,
        #[arg(long, default_value_t = 50, value_parser = count_in(MAX_DIMS))]
        dims: usize,
    },
    /// Low-rank ratings `user,item,rating`.
    Ratings {
        #[arg(long, default_value_t = 10_000, value_parser = count_in(i32::MAX as usize))]
        users: usize,
        #[arg(long, default_value_t = 5_000, value_parser = count_in(i32::MAX as usize))]
        items: usize,
        #[arg(long, default_value_t = 1_000_000, value_parser = count_in(usize::MAX))]
        ratings: usize,
        /// The rank of the factors the ratings are drawn from (at most 4096, as ALS's).
        #[arg(long, default_value_t = 10, value_parser = count_in(MAX_RANK))]
        rank: usize,
    },
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// Worker threads (default: all cores; at most 1024).
    #[arg(long, value_parser = count_in(MAX_THREADS))]
    threads: Option<usize>,
    /// Partitions of every input (at most 100,000).
    #[arg(long, default_value_t = 8, value_parser = count_in(MAX_PARTITIONS))]
    partitions: usize,
    /// Iterations of each job.
    #[arg(long, default_value_t = 10)]
    iterations: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Comma-separated jobs: lr, kmeans, pagerank, and ingest (loading LIBSVM and
    /// PageRank end to end against single-threaded references; uses the lr and rmat sizes).
    #[arg(long, default_value = "lr,kmeans,pagerank", value_delimiter = ',')]
    jobs: Vec<String>,
    /// Logistic regression points and dimensions.
    #[arg(long, default_value_t = 200_000)]
    lr_points: usize,
    #[arg(long, default_value_t = 20)]
    lr_dims: usize,
    /// k-means points, dimensions and k.
    #[arg(long, default_value_t = 200_000)]
    km_points: usize,
    #[arg(long, default_value_t = 16)]
    km_dims: usize,
    #[arg(long, default_value_t = 16)]
    km_k: usize,
    /// R-MAT scale of the PageRank graph (edge factor 16).
    #[arg(long, default_value_t = 16)]
    rmat_scale: u32,
    /// Cache budgets of the memory-pressure curve, as fractions of the dataset.
    #[arg(long, default_value = "0,0.25,0.5,0.75,1", value_delimiter = ',')]
    fractions: Vec<f64>,
    /// Directory for the data, bench.json and the charts.
    #[arg(long, default_value = "bench-out")]
    output: PathBuf,
    /// Print bench.json on stdout.
    #[arg(long)]
    json: bool,
}

fn run_generate(what: &Generate, seed: u64, output: Option<&Path>) -> firesteel::Result<()> {
    let default = match what {
        Generate::Rmat { scale, .. } => format!("rmat-{scale}.txt"),
        Generate::Blobs { .. } => "blobs.txt".into(),
        Generate::Logistic { .. } => "logistic.libsvm".into(),
        Generate::Ratings { .. } => "ratings.csv".into(),
    };
    let path = output.map_or_else(|| PathBuf::from(default), Path::to_path_buf);
    // The generators build their data in memory before writing it.
    let bytes = match *what {
        Generate::Rmat { scale, edge_factor } => {
            (edge_factor as f64) * 2f64.powi(scale as i32) * 16.0
        }
        Generate::Blobs { points, dims, .. } | Generate::Logistic { points, dims } => {
            points as f64 * dims as f64 * 8.0
        }
        Generate::Ratings {
            users,
            items,
            ratings,
            rank,
        } => (users as f64 + items as f64) * rank as f64 * 8.0 + ratings as f64 * 24.0,
    };
    if bytes > GENERATE_MEMORY as f64 {
        return Err(firesteel::Error::InvalidArgument(format!(
            "generate: these sizes would hold about {:.0} GiB in memory, past the {} GiB a \
             generator may use",
            bytes / f64::from(1u32 << 30),
            GENERATE_MEMORY >> 30
        )));
    }
    match *what {
        Generate::Rmat { scale, edge_factor } => generate::rmat(&path, scale, edge_factor, seed)?,
        Generate::Blobs { points, dims, k } => generate::blobs(&path, points, dims, k, seed)?,
        Generate::Logistic { points, dims } => generate::logistic(&path, points, dims, seed)?,
        Generate::Ratings {
            users,
            items,
            ratings,
            rank,
        } => generate::ratings(&path, users, items, ratings, rank, seed)?,
    }
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn run_bench(a: &BenchArgs) -> firesteel::Result<()> {
    if a.partitions == 0 || a.iterations == 0 {
        return Err(firesteel::Error::InvalidArgument(
            "--partitions and --iterations must be at least 1".into(),
        ));
    }
    if let Some(j) = a
        .jobs
        .iter()
        .find(|j| !["lr", "kmeans", "pagerank", "ingest"].contains(&j.as_str()))
    {
        return Err(firesteel::Error::InvalidArgument(format!(
            "unknown job `{j}` (expected lr, kmeans, pagerank, ingest)"
        )));
    }
    if let Some(f) = a.fractions.iter().find(|f| !(0.0..=1.0).contains(*f)) {
        return Err(firesteel::Error::InvalidArgument(format!(
            "fraction {f} is not in [0, 1]"
        )));
    }
    std::fs::create_dir_all(&a.output).map_err(|e| firesteel::Error::Io {
        op: "creating",
        path: a.output.clone(),
        source: e,
    })?;
    let cfg = bench::BenchConfig {
        threads: a.threads,
        partitions: a.partitions,
        iterations: a.iterations,
        seed: a.seed,
        lr_points: a.lr_points,
        lr_dims: a.lr_dims,
        km_points: a.km_points,
        km_dims: a.km_dims,
        km_k: a.km_k,
        rmat_scale: a.rmat_scale,
        jobs: a.jobs.clone(),
        fractions: a.fractions.clone(),
        out: a.output.clone(),
    };
    let quiet = a.json;
    let r = bench::run(&cfg, &|m| {
        if !quiet {
            eprintln!("{m}")
        }
    })?;
    if a.json {
        println!("{}", serde_json::to_string(&r).expect("report serializes"));
        return Ok(());
    }
    println!(
        "{} threads, {} partitions, {} iterations",
        r.threads, r.partitions, r.iterations
    );
    println!("job                  mode        first (s)  later (s)  ns/record/iter  speedup");
    for j in &r.jobs {
        for m in [&j.mapreduce, &j.cached] {
            let ns = if m.mode == "cached" {
                j.cached_ns_per_record_iter
            } else {
                j.mapreduce_ns_per_record_iter
            };
            let speedup = if m.mode == "cached" {
                format!("{:.1}x", j.speedup_later)
            } else {
                String::new()
            };
            println!(
                "{:<20} {:<10} {:>10.4} {:>10.4} {:>15.1}  {speedup}",
                j.job, m.mode, m.first_s, m.later_mean_s, ns
            );
        }
        if !j.results_agree {
            println!("  WARNING: the two modes computed different results");
        }
    }
    if !r.memory_pressure.is_empty() {
        println!(
            "memory pressure (logistic regression, {} partitions, cached data {} bytes):",
            r.memory_pressure_partitions, r.cached_dataset_bytes
        );
        for p in &r.memory_pressure {
            println!(
                "  {:>5.0} % cacheable: {:.4} s per later iteration",
                p.fraction_cached * 100.0,
                p.later_mean_s
            );
        }
    }
    if let Some(i) = &r.ingest {
        let l = &i.libsvm;
        println!(
            "ingest, LIBSVM ({} bytes, {} rows, {} threads): page-cache read {:.4} s, driver-side load {:.4} s, parallel load {:.4} s",
            l.file_bytes, l.rows, i.threads, l.page_cache_read_s, l.driver_load_s, l.parallel_load_s
        );
        println!(
            "  parallel load: {:.1}x the driver-side load's speed, {:.1}x the page-cache read's time",
            l.speedup_over_driver, l.slowdown_over_read
        );
        let p = &i.pagerank;
        println!(
            "ingest, PageRank end to end ({} edges, {} vertices): single-threaded CSR load {:.4} s + 20 iterations {:.4} s; Firesteel load {:.4} s + 20 iterations {:.4} s: {:.2}x{}",
            p.edges,
            p.vertices,
            p.single_thread_load_s,
            p.single_thread_iterate_s,
            p.firesteel_load_s,
            p.firesteel_iterate_s,
            p.speedup,
            if p.ranks_agree { "" } else { " (WARNING: the ranks differ)" }
        );
    }
    println!(
        "wrote {}/bench.json{}{}",
        a.output.display(),
        if r.jobs.is_empty() {
            ""
        } else {
            ", iterations.svg"
        },
        if r.memory_pressure.is_empty() {
            ""
        } else {
            ", memory_pressure.svg"
        }
    );
    Ok(())
}

fn parse_mode(s: &str) -> Result<firesteel::connectors::SaveMode, String> {
    s.parse()
}

/// The most worker threads a flag may ask for.
pub(crate) const MAX_THREADS: usize = 1024;
/// The most partitions a flag may ask for: each partition is a task per stage and a
/// bucket per shuffle, so counts past this cost far more than they could spread.
pub(crate) const MAX_PARTITIONS: usize = 100_000;
/// The most memory `generate` may build its data in.
const GENERATE_MEMORY: u64 = 8 << 30;
/// The most dimensions `generate` writes per point.
const MAX_DIMS: usize = 1 << 20;
/// The largest factor rank: ALS's limit (see `firesteel::mllib::als`).
const MAX_RANK: usize = firesteel::mllib::als::MAX_RANK;

/// A parser of a count from 1 to `max`, whose error names the value and the limit.
pub(crate) fn count_in(
    max: usize,
) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync + 'static {
    move |s| match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        Ok(n) if max == usize::MAX => Err(format!("{n} is out of range: it must be at least 1")),
        Ok(n) => Err(format!("{n} is out of range: it must be from 1 to {max}")),
        Err(e) => Err(format!("{s:?} is not a count: {e}")),
    }
}

pub(crate) fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1usize << 10),
        Some('m') => (&s[..s.len() - 1], 1 << 20),
        Some('g') => (&s[..s.len() - 1], 1 << 30),
        Some('t') => (&s[..s.len() - 1], 1 << 40),
        _ => (&s[..], 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a byte size (examples: 1048576, 512m, 2g)"))?;
    if n.is_nan() || n < 0.0 {
        return Err(format!("`{s}` is negative"));
    }
    Ok((n * mult as f64) as usize)
}

/// A progress bar per stage on stderr: the stage, its dataset and its finished tasks.
#[derive(Default)]
struct Progress {
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress {
    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Listener for Progress {
    fn on_stage_submitted(&self, s: &StageInfo) {
        let style = ProgressStyle::with_template(
            "[{bar:30.cyan/blue}] {pos}/{len} tasks {elapsed:>3} {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = ProgressBar::new(s.num_tasks as u64)
            .with_style(style)
            .with_message(format!("stage {}/{} {}", s.index, s.total, s.name));
        if let Some(old) = self.bar().replace(bar) {
            old.finish_and_clear();
        }
    }
    fn on_task_end(&self, t: &TaskEnd) {
        if let Some(bar) = &*self.bar() {
            bar.set_position(t.tasks_done as u64);
            if t.tasks_done == t.tasks_total {
                bar.finish_and_clear();
            }
        }
    }
}

/// Which processes a context runs on.
pub(crate) enum Processes {
    /// This process alone.
    Local,
    /// A cluster if the environment names one (`FIRESTEEL_RANK` and the like), else local.
    FromEnv,
    /// The given cluster.
    Cluster(ClusterConfig),
}

/// Everything the CLI sets on a context: the jobs from their [`Common`] flags, the bench
/// from its configuration.
pub(crate) struct ContextSettings {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Shuffle partitions (default: the engine's).
    pub default_parallelism: Option<usize>,
    /// Cache memory budget in bytes.
    pub memory: usize,
    /// Attempts per task before its job fails (default: the engine's).
    pub max_task_attempts: Option<usize>,
    /// Which processes it runs on.
    pub processes: Processes,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Builds a context with `settings`: the one place where the CLI configures its contexts.
pub(crate) fn build_context(settings: ContextSettings) -> firesteel::Result<Context> {
    let mut b = Context::builder()
        .app_name("firesteel")
        .memory(settings.memory);
    if let Some(t) = settings.threads {
        b = b.threads(t);
    }
    if let Some(p) = settings.default_parallelism {
        b = b.default_parallelism(p);
    }
    if let Some(n) = settings.max_task_attempts {
        b = b.max_task_attempts(n);
    }
    b = match settings.processes {
        Processes::Local => b,
        Processes::FromEnv => b.cluster_from_env()?,
        Processes::Cluster(cfg) => b.cluster(cfg),
    };
    let ctx = b.build()?;
    // Processes started with other arguments or other input files would blend their
    // results: every process fails at once instead.
    if ctx.num_processes() > 1 {
        ctx.ensure_same(
            "command-line arguments and input files",
            run_identity::fingerprint(std::env::args_os().skip(1)),
        )?;
    }
    if settings.progress {
        ctx.add_listener(Arc::new(Progress::default()));
    }
    Ok(ctx)
}

/// A job's context, from its [`Common`] flags.
pub(crate) fn context(common: &Common) -> firesteel::Result<Context> {
    build_context(ContextSettings {
        threads: common.threads,
        // Shuffles get the input's partition count too, so that results do not depend on
        // the number of processes.
        default_parallelism: common.partitions,
        memory: common.memory,
        max_task_attempts: None,
        processes: match (common.process_rank, &common.peers) {
            (Some(rank), Some(peers)) => {
                Processes::Cluster(ClusterConfig::new(rank, peers.clone()))
            }
            _ => Processes::FromEnv,
        },
        progress: common
            .progress
            .unwrap_or_else(|| std::io::stderr().is_terminal())
            && !common.json,
    })
}

pub(crate) fn partitions(common: &Common, ctx: &Context) -> usize {
    common.partitions.unwrap_or(2 * ctx.default_parallelism())
}

/// Whether this process writes the driver's output files: in cluster mode every process
/// computes the same results, and rank 0 writes them.
pub(crate) fn is_leader(ctx: &Context) -> bool {
    ctx.process_rank() == 0
}

pub(crate) fn word_count(
    ctx: &Context,
    input: &Path,
    parts: usize,
) -> firesteel::Result<Vec<(String, u64)>> {
    let counts = ctx
        .text_file(input, parts)?
        .flat_map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .sort_by_key(true, None)?;
    counts.collect()
}

fn run_wordcount(common: &Common, input: &Path) -> firesteel::Result<()> {
    let ctx = context(common)?;
    let start = Instant::now();
    let counts = word_count(&ctx, input, partitions(common, &ctx))?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(out) = &common.output {
        let lines = ctx
            .parallelize(counts.clone(), 1)
            .map(|(w, c)| format!("{w}\t{c}"));
        if ctx.num_processes() > 1 || common.mode == firesteel::connectors::SaveMode::ErrorIfExists
        {
            lines.save_as_text_file(out)?;
        } else {
            sources::write_dir(out, common.mode, |p| {
                lines.save_as_text_file(p).map_err(sources::engine_error)
            })
            .map_err(|e| firesteel::Error::InvalidArgument(e.to_string()))?;
        }
    }
    if !is_leader(&ctx) {
    } else if common.json {
        let m = ctx.metrics();
        println!(
            "{{\"job\":\"wordcount\",\"distinct_words\":{},\"total_words\":{},\"load_s\":0,\"fit_s\":{secs},\"iterations\":1,\"iteration_s\":[{secs}],\"metrics\":{{\"jobs\":{},\"stages\":{},\"shuffle_bytes_written\":{},\"bytes_spilled\":{}}}}}",
            counts.len(),
            counts.iter().map(|(_, c)| c).sum::<u64>(),
            m.jobs_run,
            m.stages_run,
            m.totals.shuffle_bytes_written,
            m.totals.bytes_spilled
        );
    } else if common.output.is_none() {
        for (w, c) in &counts {
            println!("{w}\t{c}");
        }
    }
    Ok(())
}

fn run_demo(
    common: &Common,
    data_dir: &Path,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let ctx = context(common)?;
    println!(
        "Firesteel demo on the bundled data in {} ({} threads)",
        data_dir.display(),
        ctx.threads()
    );
    println!();
    if demo::run(&ctx, data_dir, partitions(common, &ctx))? {
        Ok(())
    } else {
        Err("some results differ from Spark's (marked NO above)".into())
    }
}

/// Sends the engine's `tracing` events (jobs, stages, cluster rounds) to stderr, as `spec`
/// (or `RUST_LOG`) selects.
fn init_logging(spec: Option<&str>) -> Result<(), String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = spec
        .map(str::to_owned)
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "warn".into());
    let filter: tracing_subscriber::filter::Targets = spec
        .parse()
        .map_err(|e| format!("--log {spec:?} is not a valid filter: {e}"))?;
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .try_init()
        .map_err(|e| e.to_string())
}

/// Restores the default action of SIGPIPE, which Rust programs ignore: when a reader of
/// our output goes away (`firesteel demo | head -1`), the process ends quietly with the
/// status shells report as 141, as other command-line tools do, instead of panicking in
/// the next `println!`. Outputs are written to temporary names and renamed when complete,
/// so nothing half-written is left looking complete.
fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// On SIGINT or SIGTERM, removes the temporary outputs and scratch directories being
/// written, then dies of the signal as the process would have: an interrupted run leaves
/// neither a partial output nor stray temporary files.
fn remove_temporaries_on_interrupt() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                firesteel::core::io::remove_temporaries();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
    }
}

fn main() -> ExitCode {
    default_sigpipe();
    remove_temporaries_on_interrupt();
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.log.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result: Result<(), Box<dyn std::error::Error + Send + Sync>> = match &cli.command {
        Command::Demo { common, data_dir } => run_demo(common, data_dir),
        Command::Wordcount { common, input } => run_wordcount(common, input).map_err(Into::into),
        Command::Generate { what, seed, output } => {
            run_generate(what, *seed, output.as_deref()).map_err(Into::into)
        }
        Command::Bench(args) => run_bench(args).map_err(Into::into),
        Command::Pagerank(a) => jobs::pagerank(a),
        Command::Cc(a) => jobs::vertex_job(a, jobs::VertexJob::Components),
        Command::Scc(a) => jobs::vertex_job(a, jobs::VertexJob::Strong),
        Command::Triangles(a) => jobs::vertex_job(a, jobs::VertexJob::Triangles),
        Command::Kmeans(a) => jobs::kmeans(a),
        Command::Lr(a) => jobs::lr(a),
        Command::Als(a) => jobs::als(a),
        Command::Stream(a) => stream::run(a),
        Command::StreamBench(a) => stream_bench::run(a),
        Command::Launch(a) => match launch::run(a) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("512m"), Ok(512 << 20));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert_eq!(parse_bytes("1.5k"), Ok(1536));
        assert!(parse_bytes("lots").is_err());
    }
}

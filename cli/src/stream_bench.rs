//! `firesteel stream-bench`: the D-Streams paper's (SOSP 2013) throughput and latency
//! experiments on our streaming engine, on this machine.
//!
//! Records are 100-byte lines of words from an in-process generator, made inside the
//! batch's tasks (generation is part of the measured work). Two jobs:
//! - **grep**: the lines containing a word that about 1% of lines hold, counted;
//! - **wordcount**: word counts over a sliding window (30 s, 1 s slide by default), kept
//!   incrementally with the inverse function.
//!
//! **Sustainable rate.** On the manual clock (batches back to back, no waiting), the rate
//! is adjusted phase by phase until the slowest batch of a phase takes just under the
//! batch interval: at that rate a real-time stream keeps its total delay below the batch
//! interval. The first window of batches is a warm-up and is not measured.
//!
//! **Latency.** At half the sustainable rate, with 100 ms batches, on the system clock:
//! each batch's total delay (from its time to the end of its output), p50 and p99. A
//! record waits up to one batch interval for its batch, so its end-to-end delay is at
//! most the batch interval plus the total delay. The process's resident memory is read
//! at the start and the end of that run.
//!
//! **Recovery.** At the same rate, a recoverable stream (`get_or_create`) runs for 3 s, is
//! stopped, stays down for 2 s and is restarted from its checkpoint: the time from the
//! restart until the first batch at or after the restart time has finished, after the
//! missed batches ran back to back.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use firesteel::core::{Context, Dataset};
use firesteel::streaming::{BatchInfo, Clock, DStream, StreamingContext, StreamingListener, Time};

use crate::{build_context, ContextSettings, Processes};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Args, Debug)]
pub(crate) struct StreamBenchArgs {
    /// Jobs to measure, comma-separated: grep, wordcount.
    #[arg(long, value_delimiter = ',', default_value = "grep,wordcount")]
    jobs: Vec<String>,
    /// Batch intervals to find the sustainable rate for.
    #[arg(long, value_delimiter = ',', default_value = "1s,100ms", value_parser = crate::stream::parse_duration)]
    batches: Vec<Duration>,
    /// WordCount's window length.
    #[arg(long, default_value = "30s", value_parser = crate::stream::parse_duration)]
    window: Duration,
    /// WordCount's window slide.
    #[arg(long, default_value = "1s", value_parser = crate::stream::parse_duration)]
    slide: Duration,
    /// Rate of the first phase, records per second.
    #[arg(long, default_value_t = 1_000_000)]
    start_rate: u64,
    /// Rate-adjusting phases.
    #[arg(long, default_value_t = 8)]
    phases: usize,
    /// Measured batches per phase (at least one slide's worth are used).
    #[arg(long, default_value_t = 10)]
    phase_batches: usize,
    /// Seconds of the real-time latency run.
    #[arg(long, default_value_t = 10)]
    latency_seconds: u64,
    /// Worker threads (default: all cores; at most 1024).
    #[arg(long, value_parser = crate::count_in(crate::MAX_THREADS))]
    threads: Option<usize>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

/// The D-Streams paper's Grep throughput per core, records of 100 bytes per second
/// (over 60 million records/s on 100 four-core nodes), the reference of the goal.
const PAPER_GREP_PER_CORE: f64 = 150_000.0;

const WORDS: usize = 10_000;
const NEEDLE: &str = "needle";

/// The generator's vocabulary: `w0` to `w9999`.
fn vocabulary() -> &'static [String] {
    static WORDS_TABLE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    WORDS_TABLE.get_or_init(|| (0..WORDS).map(|w| format!("w{w}")).collect())
}

/// The `i`th record of the batch at `t`: about 100 bytes of words; about 1% hold the
/// needle.
fn record(t: i64, i: u64) -> String {
    let words = vocabulary();
    let mut x =
        (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let mut next = || {
        x ^= x >> 31;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 29;
        x
    };
    let mut line = String::with_capacity(112);
    if next() % 100 == 0 {
        line.push_str(NEEDLE);
        line.push(' ');
    }
    while line.len() < 100 {
        line.push_str(&words[(next() % WORDS as u64) as usize]);
        line.push(' ');
    }
    line
}

/// A stream of `rate` records per second, generated inside the tasks.
fn generator(
    ssc: &StreamingContext,
    ctx: &Context,
    rate: Arc<AtomicU64>,
    batch_ms: i64,
) -> DStream<String> {
    let (ctx, parts) = (ctx.clone(), ctx.default_parallelism());
    ssc.input_stream(move |t: Time| {
        let n = rate.load(Ordering::Relaxed) * batch_ms as u64 / 1000;
        let ms = t.millis();
        Ok(Some(
            ctx.range(0, n as i64, 1, parts)?
                .map(move |i| record(ms, i as u64)),
        ))
    })
}

/// Registers the job's output on `lines`.
fn job(
    name: &str,
    lines: &DStream<String>,
    window: Duration,
    slide: Duration,
) -> Result<(), BoxError> {
    match name {
        "grep" => lines
            .filter(|l: &String| l.contains(NEEDLE))
            .count()
            .foreach_rdd(|ds, _| ds.collect().map(drop)),
        "wordcount" => lines
            .flat_map(|l: String| {
                l.split(' ')
                    .filter(|w| !w.is_empty())
                    .map(|w| (w.to_owned(), 1u64))
                    .collect::<Vec<_>>()
            })
            .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, window, slide, None, None)
            .foreach_rdd(|ds: &Dataset<(String, u64)>, _| ds.count().map(drop)),
        other => {
            return Err(format!("unknown stream-bench job {other:?} (grep, wordcount)").into())
        }
    }
    Ok(())
}

/// Collects each batch's processing and total delays.
#[derive(Default)]
struct Delays(Mutex<Vec<(i64, f64, f64)>>);

impl StreamingListener for Delays {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((
            b.batch_time.millis(),
            ms(b.processing_delay()),
            ms(b.total_delay()),
        ));
    }
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

#[derive(serde::Serialize)]
struct RateResult {
    job: String,
    batch_ms: i64,
    sustainable_records_per_s: f64,
    per_core: f64,
    paper_grep_per_core_ratio: f64,
    slowest_batch_ms: f64,
}

#[derive(serde::Serialize)]
struct LatencyResult {
    job: String,
    batch_ms: i64,
    rate: f64,
    batches: usize,
    total_delay_p50_ms: f64,
    total_delay_p99_ms: f64,
    end_to_end_p99_bound_ms: f64,
    rss_start_mb: f64,
    rss_end_mb: f64,
}

#[derive(serde::Serialize)]
struct RecoveryResult {
    job: String,
    batch_ms: i64,
    rate: f64,
    down_ms: u64,
    batches_replayed: usize,
    catch_up_ms: f64,
    catch_up_batches: f64,
}

/// Completion times of batches, by batch time.
#[derive(Default)]
struct Completions(Mutex<Vec<(i64, Instant)>>);

impl StreamingListener for Completions {
    fn on_batch_completed(&self, b: &BatchInfo) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((b.batch_time.millis(), Instant::now()));
    }
}

/// Runs a recoverable stream at `rate` with 100 ms batches on the system clock, stops it,
/// waits `down`, restarts it from its checkpoint and measures how long it takes to run
/// the batches it missed and reach the present.
fn recovery(
    args: &StreamBenchArgs,
    ctx: &Context,
    name: &str,
    rate: f64,
) -> Result<RecoveryResult, BoxError> {
    let batch = Duration::from_millis(100);
    let dir = tempfile::tempdir()?;
    let make = || -> firesteel::Result<StreamingContext> {
        let ssc = StreamingContext::new(ctx, batch)?;
        let lines = generator(&ssc, ctx, Arc::new(AtomicU64::new(rate as u64)), 100);
        job(name, &lines, args.window, args.slide)
            .map_err(|e| firesteel::Error::InvalidArgument(e.to_string()))?;
        Ok(ssc)
    };
    let ssc = StreamingContext::get_or_create(dir.path(), make)?;
    ssc.start()?;
    std::thread::sleep(Duration::from_secs(3));
    ssc.stop(false);
    let down = Duration::from_secs(2);
    std::thread::sleep(down);
    let t0 = Instant::now();
    let now_ms = firesteel::streaming::SystemClock.now_ms();
    let ssc = StreamingContext::get_or_create(dir.path(), make)?;
    let done = Arc::new(Completions::default());
    ssc.add_listener(done.clone());
    ssc.start()?;
    let caught_up = loop {
        let hit = done
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(t, _)| *t >= now_ms)
            .map(|(_, at)| *at);
        if let Some(at) = hit {
            break at;
        }
        if t0.elapsed() > Duration::from_secs(120) {
            ssc.stop(false);
            return Err("the restarted stream did not catch up within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    ssc.stop(false);
    let replayed = done
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|(t, _)| *t < now_ms)
        .count();
    let catch_up_ms = caught_up.duration_since(t0).as_secs_f64() * 1000.0;
    Ok(RecoveryResult {
        job: name.into(),
        batch_ms: 100,
        rate,
        down_ms: down.as_millis() as u64,
        batches_replayed: replayed,
        catch_up_ms,
        catch_up_batches: catch_up_ms / 100.0,
    })
}

/// The process's resident memory, in MB (Linux; 0 elsewhere).
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<f64>().ok())
        })
        .map_or(0.0, |pages| pages * 4096.0 / 1e6)
}

fn sustainable_rate(
    args: &StreamBenchArgs,
    ctx: &Context,
    name: &str,
    batch: Duration,
) -> Result<RateResult, BoxError> {
    let batch_ms = batch.as_millis() as i64;
    let ssc = StreamingContext::with_manual_clock(ctx, batch)?;
    let dir = tempfile::tempdir()?;
    ssc.checkpoint(dir.path())?;
    let rate = Arc::new(AtomicU64::new(args.start_rate));
    let lines = generator(&ssc, ctx, rate.clone(), batch_ms);
    job(name, &lines, args.window, args.slide)?;
    let delays = Arc::new(Delays::default());
    ssc.add_listener(delays.clone());
    ssc.start()?;
    let slide_batches = (args.slide.as_millis() as i64 / batch_ms).max(1) as usize;
    let warmup = if name == "wordcount" {
        (args.window.as_millis() as i64 / batch_ms) as usize
    } else {
        2
    };
    ssc.run_batches(warmup)?;
    let per_phase = args.phase_batches.max(slide_batches);
    let mut best: Option<(f64, f64)> = None;
    for _ in 0..args.phases {
        delays.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
        ssc.run_batches(per_phase)?;
        let slowest = delays
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|d| d.1)
            .fold(0.0, f64::max);
        let r = rate.load(Ordering::Relaxed) as f64;
        if slowest < batch_ms as f64 && best.is_none_or(|(b, _)| r > b) {
            best = Some((r, slowest));
        }
        // Work grows about linearly with the rate: aim the slowest batch at 90% of the
        // interval.
        let next = (r * 0.9 * batch_ms as f64 / slowest.max(0.1)).clamp(r / 4.0, r * 4.0);
        rate.store(next.max(1000.0) as u64, Ordering::Relaxed);
    }
    ssc.stop(false);
    let (r, slowest) = best.unwrap_or((0.0, f64::NAN));
    let cores = ctx.threads() as f64;
    Ok(RateResult {
        job: name.into(),
        batch_ms,
        sustainable_records_per_s: r,
        per_core: r / cores,
        paper_grep_per_core_ratio: r / cores / PAPER_GREP_PER_CORE,
        slowest_batch_ms: slowest,
    })
}

fn latency(
    args: &StreamBenchArgs,
    ctx: &Context,
    name: &str,
    rate: f64,
) -> Result<LatencyResult, BoxError> {
    let batch = Duration::from_millis(100);
    let ssc = StreamingContext::new(ctx, batch)?;
    let dir = tempfile::tempdir()?;
    ssc.checkpoint(dir.path())?;
    let lines = generator(&ssc, ctx, Arc::new(AtomicU64::new(rate as u64)), 100);
    job(name, &lines, args.window, args.slide)?;
    let delays = Arc::new(Delays::default());
    ssc.add_listener(delays.clone());
    let rss_start = rss_mb();
    ssc.start()?;
    let t0 = Instant::now();
    let stopped = ssc.await_termination_or_timeout(Duration::from_secs(args.latency_seconds))?;
    ssc.stop(false);
    let _ = (stopped, t0);
    let rss_end = rss_mb();
    let mut total: Vec<f64> = delays
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|d| d.2)
        .collect();
    let n = total.len();
    let p50 = quantile(&mut total, 0.5);
    let p99 = quantile(&mut total, 0.99);
    Ok(LatencyResult {
        job: name.into(),
        batch_ms: 100,
        rate,
        batches: n,
        total_delay_p50_ms: p50,
        total_delay_p99_ms: p99,
        end_to_end_p99_bound_ms: 100.0 + p99,
        rss_start_mb: rss_start,
        rss_end_mb: rss_end,
    })
}

pub(crate) fn run(args: &StreamBenchArgs) -> Result<(), BoxError> {
    let ctx = build_context(ContextSettings {
        threads: args.threads,
        default_parallelism: None,
        memory: 4 << 30,
        max_task_attempts: None,
        processes: Processes::Local,
        progress: false,
    })?;
    let mut rates = Vec::new();
    let mut latencies = Vec::new();
    let mut recoveries = Vec::new();
    for name in &args.jobs {
        for &b in &args.batches {
            let r = sustainable_rate(args, &ctx, name, b)?;
            if !args.json {
                println!(
                    "{:<10} batch {:>5} ms: sustainable {:>12.0} records/s ({:>10.0} per core, {:.1}x the paper's Grep per core; slowest batch {:.0} ms)",
                    r.job, r.batch_ms, r.sustainable_records_per_s, r.per_core, r.paper_grep_per_core_ratio, r.slowest_batch_ms
                );
            }
            rates.push(r);
        }
        let at_100ms = rates
            .iter()
            .filter(|r| r.job == *name && r.batch_ms == 100)
            .map(|r| r.sustainable_records_per_s)
            .next()
            .unwrap_or(args.start_rate as f64);
        if args.latency_seconds > 0 && at_100ms > 0.0 {
            let l = latency(args, &ctx, name, at_100ms / 2.0)?;
            if !args.json {
                println!(
                    "{:<10} 100 ms batches at {:.0} records/s: total delay p50 {:.1} ms, p99 {:.1} ms over {} batches; end to end at most {:.1} ms (p99); RSS {:.0} -> {:.0} MB",
                    l.job, l.rate, l.total_delay_p50_ms, l.total_delay_p99_ms, l.batches, l.end_to_end_p99_bound_ms, l.rss_start_mb, l.rss_end_mb
                );
            }
            latencies.push(l);
            let r = recovery(args, &ctx, name, at_100ms / 2.0)?;
            if !args.json {
                println!(
                    "{:<10} recovery at {:.0} records/s: {} ms down, {} batches replayed, caught up in {:.0} ms ({:.1} batch intervals)",
                    r.job, r.rate, r.down_ms, r.batches_replayed, r.catch_up_ms, r.catch_up_batches
                );
            }
            recoveries.push(r);
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "threads": ctx.threads(),
                "rates": rates,
                "latency": latencies,
                "recovery": recoveries,
            })
        );
    }
    Ok(())
}

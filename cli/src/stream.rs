//! `firesteel stream`: the jobs of Spark's streaming examples (`file-word-count`,
//! `stateful-word-count`, `windowed-word-count`) on discretized streams, reading a
//! watched directory on the system clock, or a replayable directory of batches on a
//! manual clock as fast as the engine goes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, ValueEnum};
use firesteel::core::Dataset;
use firesteel::streaming::{BatchInfo, DStream, StreamingContext, StreamingListener, Time};

use crate::{build_context, ContextSettings, Processes};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The streaming jobs (named after Spark's streaming examples).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum StreamJob {
    /// Word counts of each batch of lines from a TCP server (`--host`, `--port`), as
    /// Spark's NetworkWordCount (try `nc -lk 9999`).
    NetworkWordCount,
    /// Word counts of each batch of record values from Kafka topics (`--brokers`,
    /// `--topics`), read by the direct stream, as Spark's DirectKafkaWordCount.
    KafkaWordCount,
    /// Word counts of each batch (Spark's HdfsWordCount).
    FileWordCount,
    /// Running word counts since the start (`update_state_by_key`, as Spark's
    /// StatefulNetworkWordCount did).
    StatefulWordCount,
    /// Word counts over a sliding window, updated incrementally with an inverse function
    /// (`reduce_by_key_and_window`); words whose count fell to zero are left out.
    WindowedWordCount,
}

#[derive(Args, Debug)]
pub(crate) struct StreamArgs {
    /// The job.
    #[arg(value_enum)]
    job: StreamJob,
    /// Directory watched for new text files (moved in whole), on the system clock.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Host of `network-word-count`'s TCP server.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// Port of `network-word-count`'s TCP server.
    #[arg(long, default_value_t = 9999)]
    port: u16,
    /// Kafka brokers of `kafka-word-count` (`host:port`, comma-separated).
    #[arg(long, default_value = "localhost:9092")]
    brokers: String,
    /// Kafka topics of `kafka-word-count`, comma-separated.
    #[arg(long, value_delimiter = ',')]
    topics: Vec<String>,
    /// Kafka consumer group of `kafka-word-count`.
    #[arg(long, default_value = "firesteel-kafka-word-count")]
    group: String,
    /// Where `kafka-word-count` starts in a partition the group has no offset for:
    /// `earliest` or `latest` (Kafka's `auto.offset.reset`).
    #[arg(long, default_value = "latest")]
    offset_reset: String,
    /// Replayable input: each file of DIR, in name order, is one batch (as a queue stream
    /// handing out one dataset per batch), run on a manual clock as fast as the engine
    /// goes. The stream stops after the last file plus the batches a window needs to drain.
    #[arg(long, conflicts_with = "dir")]
    batches_dir: Option<PathBuf>,
    /// Batch interval: `1s`, `100ms`, `2m`.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    batch: Duration,
    /// Window length of `windowed-word-count` (default 30s).
    #[arg(long, value_parser = parse_duration)]
    window: Option<Duration>,
    /// Window slide of `windowed-word-count` (default: the batch interval).
    #[arg(long, value_parser = parse_duration)]
    slide: Option<Duration>,
    /// Checkpoint directory: with it the job recovers after a crash, as Spark's
    /// `getOrCreate` (each batch's inputs are logged before its outputs and committed after
    /// them; a restart reruns unfinished batches, so `--output` comes out exactly once).
    /// Without it, state checkpoints go to a temporary directory.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// `network-word-count`: log the received lines in the checkpoint directory before
    /// they go into a batch (Spark's receiver write-ahead log), so that after a crash every
    /// line received is counted at least once. Needs `--checkpoint`.
    #[arg(long, requires = "checkpoint")]
    receiver_write_ahead_log: bool,
    /// Writes each batch's counts into the directory `PREFIX-<batch time in ms>`: part
    /// files of `word<TAB>count` lines sorted by word, and `_SUCCESS`. Without it, each
    /// batch's first counts are printed as Spark's `print()` does.
    #[arg(long)]
    output: Option<String>,
    /// One JSON line per batch on stdout: its time, input records, delays and rate.
    #[arg(long)]
    json: bool,
    /// Go on after a batch fails (its input cannot be read, say): the failure is printed on
    /// stderr and the batch has no output directory. By default the first failed batch
    /// stops the job with its error (`path:line` for a bad input line).
    #[arg(long)]
    skip_failed_batches: bool,
    /// Stop after this many batches.
    #[arg(long)]
    batches: Option<usize>,
    /// Stop after this long (on the system clock).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Worker threads (default: all cores; at most 1024).
    #[arg(long, value_parser = crate::count_in(crate::MAX_THREADS))]
    threads: Option<usize>,
    /// Partitions of the counts (default: the threads; at most 100,000).
    #[arg(long, value_parser = crate::count_in(crate::MAX_PARTITIONS))]
    partitions: Option<usize>,
    /// Cache memory budget, in bytes or with a suffix: 512m, 2g.
    #[arg(long, value_parser = crate::parse_bytes, default_value = "1g")]
    memory: usize,
}

/// `1s`, `250ms`, `2m`, `1h`, or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 1s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s:?} is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Prints one JSON line per completed batch.
struct JsonLines {
    records: Arc<Mutex<HashMap<i64, u64>>>,
}

impl StreamingListener for JsonLines {
    fn on_batch_completed(&self, b: &BatchInfo) {
        let t = b.batch_time.millis();
        let records = self
            .records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&t)
            .unwrap_or(0);
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        let processing = ms(b.processing_delay());
        let rate = processing.map(|p| records as f64 / (p / 1000.0).max(1e-6));
        let line = serde_json::json!({
            "batch_time_ms": t,
            "records": records,
            "scheduling_delay_ms": ms(b.scheduling_delay()),
            "processing_delay_ms": processing,
            "total_delay_ms": ms(b.total_delay()),
            "records_per_second": rate,
            "failure": b.failure,
        });
        println!("{line}");
    }
}

/// Prints each failed batch on stderr (with `--skip-failed-batches`).
struct ReportFailures;

impl StreamingListener for ReportFailures {
    fn on_batch_completed(&self, b: &BatchInfo) {
        if let Some(f) = &b.failure {
            eprintln!("warning: skipped {f}");
        }
    }
}

/// Stops the context after `n` batches (on the system clock).
struct StopAfter {
    n: usize,
    done: Mutex<usize>,
    ssc: StreamingContext,
}

impl StreamingListener for StopAfter {
    fn on_batch_completed(&self, _: &BatchInfo) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        *done += 1;
        if *done == self.n {
            self.ssc.stop(true);
        }
    }
}

/// The files of a `--batches-dir`, in name order (hidden files skipped).
fn batch_files(dir: &Path) -> Result<Vec<PathBuf>, BoxError> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))? {
        let e = e.map_err(|e| format!("listing {}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && !name.starts_with('_') && e.path().is_file() {
            files.push(e.path());
        }
    }
    files.sort();
    Ok(files)
}

fn words(lines: &DStream<String>) -> DStream<(String, u64)> {
    lines.flat_map(|l: String| {
        l.split_whitespace()
            .map(|w| (w.to_owned(), 1u64))
            .collect::<Vec<_>>()
    })
}

/// Where a test asks the process to kill itself (SIGKILL) at a batch, through
/// `FIRESTEEL_STREAM_KILL_AT=<batch>:<before-output|during-output|after-output>`, where
/// `<batch>` is a batch time in ms or `first-input` (the first batch of this run whose
/// input is not empty): for the kill-and-restart tests of exactly-once output. Not for
/// production use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillPoint {
    Before,
    During,
    After,
}

/// Which batch a test kills the process at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillBatch {
    At(i64),
    FirstWithInput,
}

fn kill_at() -> Option<(KillBatch, KillPoint)> {
    let spec = std::env::var("FIRESTEEL_STREAM_KILL_AT").ok()?;
    let (batch, phase) = spec.split_once(':')?;
    let phase = match phase {
        "before-output" => KillPoint::Before,
        "during-output" => KillPoint::During,
        "after-output" => KillPoint::After,
        _ => return None,
    };
    let batch = match batch {
        "first-input" => KillBatch::FirstWithInput,
        ms => KillBatch::At(ms.parse().ok()?),
    };
    Some((batch, phase))
}

fn kill_self() -> ! {
    let pid = std::process::id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Builds the job's streams and outputs on a new context: `get_or_create`'s setup.
fn setup(
    args: &StreamArgs,
    ctx: &firesteel::Context,
    replay: Option<&Vec<PathBuf>>,
    records: &Arc<Mutex<HashMap<i64, u64>>>,
) -> firesteel::Result<StreamingContext> {
    let ssc = if replay.is_some() {
        StreamingContext::with_manual_clock(ctx, args.batch)?
    } else {
        StreamingContext::new(ctx, args.batch)?
    };
    ssc.stop_on_error(!args.skip_failed_batches);
    if args.skip_failed_batches {
        ssc.add_listener(Arc::new(ReportFailures));
    }
    let kill = kill_at();
    let batch_ms = args.batch.as_millis() as i64;
    let lines: DStream<String> = match (replay, &args.dir) {
        (None, _) if args.job == StreamJob::NetworkWordCount => {
            ssc.receiver_write_ahead_log(args.receiver_write_ahead_log);
            ssc.socket_text_stream(&args.host, args.port)
        }
        (None, _) if args.job == StreamJob::KafkaWordCount => {
            use firesteel::streaming::kafka::{ConsumerStrategy, KafkaParams, KafkaRecord};
            if args.topics.is_empty() {
                return Err(firesteel::Error::InvalidArgument(
                    "kafka-word-count needs --topics".into(),
                ));
            }
            let params = KafkaParams::new(&args.brokers)
                .set("group.id", &args.group)
                .set("auto.offset.reset", &args.offset_reset)
                .commit_offsets(true);
            ssc.kafka_direct_stream(params, ConsumerStrategy::Subscribe(args.topics.clone()))
                .map(|r: KafkaRecord| {
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or(&[])).into_owned()
                })
        }
        (Some(files), _) => {
            let (c, files) = (ctx.clone(), files.clone());
            ssc.input_stream(move |t: Time| {
                let i = (t.millis() / batch_ms - 1) as usize;
                Ok(Some(match files.get(i) {
                    Some(f) => c.text_file(f, 1)?,
                    None => c.empty(),
                }))
            })
        }
        (None, Some(dir)) => ssc.text_file_stream(dir),
        (None, None) => {
            return Err(firesteel::Error::InvalidArgument(
                "give --dir DIR (a watched directory) or --batches-dir DIR".into(),
            ))
        }
    };
    let lines = lines.cache();
    if args.json {
        let seen = records.clone();
        lines.foreach_rdd(move |ds, t| {
            let n = ds.count()?;
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(t.millis(), n);
            Ok(())
        });
        ssc.add_listener(Arc::new(JsonLines {
            records: records.clone(),
        }));
    }
    // The kill points are output operations of every run, killing or not, so that a
    // restarted run has the same stream graph as the one it recovers. The first runs
    // before the batch's other outputs, and picks the batch for `first-input`.
    let first_input: Arc<Mutex<Option<i64>>> = Arc::default();
    let chosen = first_input.clone();
    let kills = move |t: Time, point: KillPoint| match kill {
        Some((KillBatch::At(ms), p)) => p == point && ms == t.millis(),
        Some((KillBatch::FirstWithInput, p)) => {
            p == point && *chosen.lock().unwrap_or_else(|e| e.into_inner()) == Some(t.millis())
        }
        None => false,
    };
    let kills_at = kills.clone();
    let kill_point = move |point: KillPoint| {
        let (first_input, kills) = (first_input.clone(), kills_at.clone());
        move |ds: &Dataset<String>, t: Time| {
            if point == KillPoint::Before && matches!(kill, Some((KillBatch::FirstWithInput, _))) {
                let mut first = first_input.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() && ds.count()? > 0 {
                    *first = Some(t.millis());
                }
            }
            if kills(t, point) {
                kill_self();
            }
            Ok(())
        }
    };
    lines.foreach_rdd(kill_point(KillPoint::Before));

    let window = args.window.unwrap_or(Duration::from_secs(30));
    let slide = args.slide.unwrap_or(args.batch);
    let counts = match args.job {
        StreamJob::FileWordCount | StreamJob::NetworkWordCount | StreamJob::KafkaWordCount => {
            words(&lines).reduce_by_key(|a, b| a + b)
        }
        StreamJob::StatefulWordCount => {
            words(&lines).update_state_by_key(|new: Vec<u64>, old: Option<u64>| {
                Some(old.unwrap_or(0) + new.iter().sum::<u64>())
            })
        }
        StreamJob::WindowedWordCount => {
            let nonzero: firesteel::streaming::WindowFilter<String, u64> =
                Arc::new(|kv: &(String, u64)| kv.1 != 0);
            words(&lines).reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                window,
                slide,
                args.partitions,
                Some(nonzero),
            )
        }
    };
    match &args.output {
        Some(prefix) => counts
            .transform(move |ds: &Dataset<(String, u64)>, t| {
                let sorted = ds.sort_by_key(true, None)?;
                let sorted = match kill {
                    // Dies inside the write: some part files are out, `_SUCCESS` is not.
                    // (Decided when the write runs, after the first kill point's job.)
                    Some((_, KillPoint::During)) => {
                        let kills = kills.clone();
                        sorted.map_partitions_with_index(move |i, records| {
                            if i == 1 && kills(t, KillPoint::During) {
                                std::thread::sleep(Duration::from_millis(200));
                                kill_self();
                            }
                            records.collect::<Vec<_>>()
                        })
                    }
                    _ => sorted,
                };
                Ok(sorted.map(|(w, c)| format!("{w}\t{c}")))
            })
            .save_as_text_files(prefix.clone(), ""),
        // Spark prints a pair as `(word,count)`, and so does `print`.
        None if !args.json => counts.print(10),
        None => counts.foreach_rdd(|ds, _| ds.count().map(|_| ())),
    }
    lines.foreach_rdd(kill_point(KillPoint::After));
    Ok(ssc)
}

pub(crate) fn run(args: &StreamArgs) -> Result<(), BoxError> {
    let ctx = build_context(ContextSettings {
        threads: args.threads,
        default_parallelism: args.partitions,
        memory: args.memory,
        max_task_attempts: None,
        processes: Processes::FromEnv,
        progress: false,
    })?;
    let replay = args
        .batches_dir
        .as_ref()
        .map(|d| batch_files(d))
        .transpose()?;
    let records = Arc::new(Mutex::new(HashMap::new()));
    let make = || setup(args, &ctx, replay.as_ref(), &records);
    // With --checkpoint the job recovers from a crash; without, its state checkpoints go
    // to a temporary directory.
    let _tmp;
    let ssc = match &args.checkpoint {
        Some(dir) => StreamingContext::get_or_create(dir, make)?,
        None => {
            let t = tempfile::tempdir()?;
            let ssc = make()?;
            ssc.checkpoint(t.path())?;
            _tmp = t;
            ssc
        }
    };

    ssc.start()?;
    match replay {
        Some(files) => {
            let drain = match args.job {
                StreamJob::WindowedWordCount => {
                    let window = args.window.unwrap_or(Duration::from_secs(30));
                    (window.as_millis() / args.batch.as_millis()) as usize
                }
                _ => 0,
            };
            let n = args.batches.unwrap_or(files.len() + drain) as i64;
            let last = Time::from_millis(n * args.batch.as_millis() as i64);
            let result = ssc.run_until(last);
            ssc.stop(false);
            if !args.skip_failed_batches {
                result?;
            }
        }
        None => {
            if let Some(n) = args.batches {
                ssc.add_listener(Arc::new(StopAfter {
                    n,
                    done: Mutex::new(0),
                    ssc: ssc.clone(),
                }));
            }
            if args.skip_failed_batches {
                // Failures are reported as they happen; wait for the stop or the time.
                let t0 = std::time::Instant::now();
                while ssc.state() != firesteel::streaming::StreamingState::Stopped
                    && args.duration.is_none_or(|d| t0.elapsed() < d)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                ssc.stop(true);
            } else {
                let stopped = match args.duration {
                    Some(d) => ssc.await_termination_or_timeout(d),
                    None => ssc.await_termination().map(|_| true),
                };
                ssc.stop(true);
                stopped?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3 weeks").is_err());
    }
}

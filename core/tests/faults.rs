//! Fault injection: failed and panicking tasks are retried, dropped cache blocks and deleted
//! shuffle outputs are recomputed, and results equal a clean run.

use firesteel_core::fault::Fault;
use firesteel_core::metrics::StageKind;
use firesteel_core::{Context, Dataset, Error};

fn ctx() -> Context {
    Context::builder().threads(2).build().unwrap()
}

fn word_pairs(ctx: &Context) -> Dataset<(u64, u64)> {
    ctx.parallelize((0..20_000u64).collect(), 6)
        .map(|x| (x % 97, x))
}

fn oracle() -> Vec<(u64, u64)> {
    let mut sums = vec![0u64; 97];
    for x in 0..20_000u64 {
        sums[(x % 97) as usize] += x;
    }
    sums.into_iter()
        .enumerate()
        .map(|(k, v)| (k as u64, v))
        .collect()
}

fn sorted(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort();
    v
}

#[test]
fn failed_result_task_is_retried() {
    let ctx = ctx();
    let sums = word_pairs(&ctx).reduce_by_key(|a, b| a + b);
    ctx.inject_fault(Fault::FailTask {
        dataset: sums.id(),
        partition: 3,
        attempt: 0,
        panic: false,
    });
    assert_eq!(sorted(sums.collect().unwrap()), oracle());
    let job = ctx.last_job_metrics().unwrap();
    let result = job
        .stages
        .iter()
        .find(|s| s.kind == StageKind::Result)
        .unwrap();
    assert_eq!(result.failed_attempts, 1);
    assert_eq!(result.tasks, 6);
    assert_eq!(ctx.metrics().task_failures, 1);
}

#[test]
fn panicking_map_task_is_retried_from_lineage() {
    let ctx = ctx();
    let pairs = word_pairs(&ctx);
    let sums = pairs.reduce_by_key(|a, b| a + b);
    // The map stage's final dataset is the shuffle's parent.
    ctx.inject_fault(Fault::FailTask {
        dataset: pairs.id(),
        partition: 2,
        attempt: 0,
        panic: true,
    });
    ctx.inject_fault(Fault::FailTask {
        dataset: pairs.id(),
        partition: 2,
        attempt: 1,
        panic: true,
    });
    assert_eq!(sorted(sums.collect().unwrap()), oracle());
    let job = ctx.last_job_metrics().unwrap();
    let map = job
        .stages
        .iter()
        .find(|s| s.kind == StageKind::ShuffleMap)
        .unwrap();
    assert_eq!(map.failed_attempts, 2);
    assert_eq!(map.tasks, 6);
}

#[test]
fn exhausted_attempts_fail_the_job_and_the_context_survives() {
    let ctx = Context::builder()
        .threads(2)
        .max_task_attempts(3)
        .build()
        .unwrap();
    let data = ctx.parallelize((0..100u64).collect(), 4).map(|x| x + 1);
    for attempt in 0..3 {
        ctx.inject_fault(Fault::FailTask {
            dataset: data.id(),
            partition: 1,
            attempt,
            panic: false,
        });
    }
    let err = data.collect().unwrap_err();
    match &err {
        Error::JobFailed {
            partition,
            attempts,
            cause,
            ..
        } => {
            assert_eq!(*partition, 1);
            assert_eq!(*attempts, 3);
            assert!(matches!(**cause, Error::TaskFailed(_)));
        }
        other => panic!("expected JobFailed, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("partition 1") && msg.contains("injected fault"),
        "{msg}"
    );
    // The context is still usable, and the same dataset now computes.
    assert_eq!(data.count().unwrap(), 100);
    assert_eq!(ctx.metrics().jobs_failed, 1);
}

#[test]
fn user_panic_reports_its_message() {
    let ctx = ctx();
    let data = ctx.parallelize(vec![1u32, 2, 3, 0], 2).map(|x| 12 / x);
    let err = data.collect().unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("attempt") || msg.contains("time(s)"), "{msg}");
    assert!(
        matches!(err.root_cause(), Error::TaskPanicked(m) if m.contains("divide by zero")),
        "{err:?}"
    );
}

#[test]
fn dropped_cache_block_is_recomputed() {
    let ctx = ctx();
    let computed = ctx.long_accumulator("computed");
    let c = computed.clone();
    let data = ctx
        .parallelize((0..1000u64).collect(), 4)
        .map(move |x| {
            c.add(1);
            x * 3
        })
        .cache();
    let clean = data.collect().unwrap();
    assert_eq!(computed.value(), 1000);
    ctx.inject_fault(Fault::DropCachedBlock {
        dataset: data.id(),
        partition: 1,
    });
    assert_eq!(data.collect().unwrap(), clean);
    // Only the dropped partition (250 records) was computed again.
    assert_eq!(computed.value(), 1250);
    let job = ctx.last_job_metrics().unwrap().totals();
    assert_eq!(job.recomputations, 1);
    assert_eq!(job.cache_hits, 3);
}

#[test]
fn deleted_shuffle_output_reruns_its_map_task() {
    let ctx = ctx();
    let sums = word_pairs(&ctx).reduce_by_key(|a, b| a + b);
    let clean = sorted(sums.collect().unwrap());
    let shuffle = *ctx.shuffle_ids().last().unwrap();
    ctx.inject_fault(Fault::DeleteShuffleOutput {
        shuffle,
        map_partition: 4,
    });
    assert_eq!(sorted(sums.collect().unwrap()), clean);
    let job = ctx.last_job_metrics().unwrap();
    let maps: Vec<_> = job
        .stages
        .iter()
        .filter(|s| s.kind == StageKind::ShuffleMap)
        .collect();
    assert_eq!(maps.len(), 1, "one map stage re-ran");
    assert_eq!(maps[0].tasks, 1, "only the lost map task re-ran");
}

#[test]
fn shuffle_output_lost_between_stages_is_recovered() {
    // Delete every map output after a first run: the next job must redo the map stage
    // entirely, and a failure injected into the re-run is retried as well.
    let ctx = ctx();
    let pairs = word_pairs(&ctx);
    let sums = pairs.reduce_by_key(|a, b| a + b);
    let clean = sorted(sums.collect().unwrap());
    let shuffle = *ctx.shuffle_ids().last().unwrap();
    for m in 0..6 {
        ctx.inject_fault(Fault::DeleteShuffleOutput {
            shuffle,
            map_partition: m,
        });
    }
    ctx.inject_fault(Fault::FailTask {
        dataset: pairs.id(),
        partition: 0,
        attempt: 0,
        panic: false,
    });
    assert_eq!(sorted(sums.collect().unwrap()), clean);
    let job = ctx.last_job_metrics().unwrap();
    let map = job
        .stages
        .iter()
        .find(|s| s.kind == StageKind::ShuffleMap)
        .unwrap();
    assert_eq!((map.tasks, map.failed_attempts), (6, 1));
}

/// A merge function that panics once, in the middle of a map-side combine: the task is
/// retried and the result is exact, for a combiner without drop glue (merged in place)
/// and for one with (a `String`).
#[test]
fn panicking_merge_function_is_retried() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let ctx = ctx();
    static PANIC_U64: AtomicBool = AtomicBool::new(true);
    let sums = word_pairs(&ctx).reduce_by_key(|a, b| {
        if a > 1_000 && PANIC_U64.swap(false, Ordering::SeqCst) {
            panic!("merge failed");
        }
        a + b
    });
    assert_eq!(sorted(sums.collect().unwrap()), oracle());
    assert!(ctx.metrics().task_failures >= 1);

    static PANIC_STRING: AtomicBool = AtomicBool::new(true);
    let lens = word_pairs(&ctx)
        .map_values(|x| x.to_string())
        .reduce_by_key(|a, b| {
            if a.len() > 20 && PANIC_STRING.swap(false, Ordering::SeqCst) {
                panic!("merge failed");
            }
            a + &b
        })
        .map_values(|s| s.len() as u64);
    let mut expected = vec![0u64; 97];
    for x in 0..20_000u64 {
        expected[(x % 97) as usize] += x.to_string().len() as u64;
    }
    let expected: Vec<(u64, u64)> = expected
        .into_iter()
        .enumerate()
        .map(|(k, v)| (k as u64, v))
        .collect();
    assert_eq!(sorted(lens.collect().unwrap()), expected);
}

/// A job of 40 batches of 1,024 records, each record taking 50 µs, and the count of
/// records it has mapped so far.
fn slow_job(ctx: &Context) -> (Dataset<u32>, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let mapped = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let m = mapped.clone();
    let d = ctx
        .parallelize((0..40 * 1024u32).collect(), 40)
        .map(move |x| {
            std::thread::sleep(std::time::Duration::from_micros(50));
            m.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            x
        });
    (d, mapped)
}

#[test]
fn cancelling_a_job_group_stops_its_running_job_and_only_it() {
    let ctx = ctx();
    let (slow, mapped) = slow_job(&ctx);
    // Another thread's job, in another group, is not touched.
    let other = ctx.clone();
    let bystander = std::thread::spawn(move || {
        other.set_job_group("other", "a job that must finish");
        let r = other
            .parallelize((0..1000u32).collect(), 4)
            .map(|x| x * 2)
            .count();
        (r.unwrap(), other.cancel_job_group("nobody"))
    });
    let canceller = ctx.clone();
    let stop = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(150));
        canceller.cancel_job_group("reports")
    });
    ctx.set_job_group("reports", "the slow report");
    let err = slow.count().unwrap_err();
    assert_eq!(stop.join().unwrap(), 1, "one job was running in the group");
    assert!(matches!(err, Error::Cancelled(_)), "{err}");
    assert!(err.to_string().contains("job group reports"), "{err}");
    // It stopped part way.
    let done = mapped.load(std::sync::atomic::Ordering::Relaxed);
    assert!(done < 40 * 1024, "{done} records mapped");
    assert_eq!(bystander.join().unwrap(), (1000, 0));
    // The group's next job runs normally.
    ctx.clear_job_group();
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
}

#[test]
fn cancel_all_jobs_stops_every_running_job() {
    let ctx = ctx();
    let (slow, mapped) = slow_job(&ctx);
    let canceller = ctx.clone();
    let stop = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(150));
        canceller.cancel_all_jobs()
    });
    let err = slow.count().unwrap_err();
    assert_eq!(stop.join().unwrap(), 1);
    assert!(
        err.to_string().contains("cancelled with all running jobs"),
        "{err}"
    );
    assert!(mapped.load(std::sync::atomic::Ordering::Relaxed) < 40 * 1024);
    assert_eq!(ctx.cancel_all_jobs(), 0, "nothing runs any more");
}

/// A dataset of 400 records in 4 partitions whose last partition waits until `release`
/// is set (or 30 s pass).
fn last_partition_waits(
    ctx: &Context,
    release: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Dataset<f64> {
    use std::sync::atomic::Ordering;
    ctx.parallelize((0..400).map(f64::from).collect(), 4)
        .map_partitions_with_index(move |i, recs| {
            if i == 3 {
                let start = std::time::Instant::now();
                while !release.load(Ordering::Acquire) && start.elapsed().as_secs() < 30 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            recs
        })
}

#[test]
fn approximate_actions_answer_from_the_partitions_done_at_the_timeout() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;
    let ctx = ctx();
    let release = Arc::new(AtomicBool::new(false));
    let d = last_partition_waits(&ctx, release.clone());
    // 300 records in 3 of 4 partitions: the rest is estimated as Poisson(100).
    let count = d.count_approx(Duration::from_secs(2), 0.95).unwrap();
    assert!(!count.is_initial_value_final());
    let c = *count.initial_value();
    assert_eq!((c.mean, c.confidence), (400.0, 0.95));
    // Poisson(100)'s 2.5% and 97.5% quantiles are 81 and 120.
    assert_eq!((c.low, c.high), (381.0, 420.0));
    release.store(true, Ordering::Release);
    let exact = count.final_value().unwrap();
    assert_eq!(
        (exact.mean, exact.low, exact.high, exact.confidence),
        (400.0, 400.0, 400.0, 1.0)
    );

    // The mean of 0..300 from three partitions; dropping the result cancels the rest.
    let release = Arc::new(AtomicBool::new(false));
    let d = last_partition_waits(&ctx, release.clone());
    let mean = d.mean_approx(Duration::from_secs(2), 0.99).unwrap();
    assert_eq!(mean.initial_value().mean, 149.5);
    assert!(mean.initial_value().low < 149.5 && mean.initial_value().high > 149.5);
    drop(mean);
    release.store(true, Ordering::Release);
    // A bad confidence is refused before any job runs.
    assert!(matches!(
        d.sum_approx(Duration::from_secs(1), 1.5),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        d.sum_approx(Duration::from_secs(60), 0.9)
            .unwrap()
            .initial_value()
            .mean,
        79_800.0
    );
}

//! Planning: laziness, stage boundaries, partitioner-aware joins, deterministic results
//! across thread counts, and ids in program order.

use firesteel_core::metrics::StageKind;
use firesteel_core::{Context, Dataset, HashPartitioner};

fn stage_kinds(ctx: &Context) -> Vec<StageKind> {
    ctx.last_job_metrics()
        .unwrap()
        .stages
        .iter()
        .map(|s| s.kind)
        .collect()
}

#[test]
fn transformations_are_lazy() {
    let ctx = Context::local(2).unwrap();
    let touched = ctx.long_accumulator("touched");
    let t = touched.clone();
    let ds = ctx
        .parallelize((0..100u64).collect(), 4)
        .map(move |x| {
            t.add(1);
            (x % 3, x)
        })
        .reduce_by_key(|a, b| a + b)
        .filter(|_| true);
    assert_eq!(touched.value(), 0);
    assert_eq!(ctx.metrics().jobs_run, 0);
    assert_eq!(ds.count().unwrap(), 3);
    assert_eq!(touched.value(), 100);
}

#[test]
fn narrow_operations_fuse_into_one_stage() {
    let ctx = Context::local(2).unwrap();
    let n = ctx
        .parallelize((0..1000u64).collect(), 4)
        .map(|x| x + 1)
        .filter(|x| x % 2 == 0)
        .flat_map(|x| vec![x, x])
        .count()
        .unwrap();
    assert_eq!(n, 1000);
    assert_eq!(stage_kinds(&ctx), vec![StageKind::Result]);
}

#[test]
fn a_shuffle_splits_the_job_into_stages() {
    let ctx = Context::local(2).unwrap();
    let ds = ctx
        .parallelize((0..1000u64).collect(), 4)
        .map(|x| (x % 10, x))
        .reduce_by_key(|a, b| a + b)
        .map(|(k, v)| (v % 7, k))
        .group_by_key();
    assert_eq!(ds.count().unwrap(), 7);
    assert_eq!(
        stage_kinds(&ctx),
        vec![
            StageKind::ShuffleMap,
            StageKind::ShuffleMap,
            StageKind::Result
        ]
    );
    // A second action reuses the shuffle outputs: the map stages are skipped.
    assert_eq!(ds.count().unwrap(), 7);
    assert_eq!(stage_kinds(&ctx), vec![StageKind::Result]);
    let debug = ds.to_debug_string();
    assert_eq!(debug.matches("+-").count(), 2, "{debug}");
    assert!(debug.starts_with("(4) ShuffledDataset"), "{debug}");
}

#[test]
fn map_side_combine_ships_one_record_per_key_and_partition() {
    let ctx = Context::local(2).unwrap();
    let ds = ctx
        .parallelize((0..100_000u64).collect(), 4)
        .map(|x| (x % 10, 1u64))
        .reduce_by_key(|a, b| a + b);
    assert_eq!(ds.count().unwrap(), 10);
    let job = ctx.last_job_metrics().unwrap();
    let result = job
        .stages
        .iter()
        .find(|s| s.kind == StageKind::Result)
        .unwrap();
    assert_eq!(
        result.totals.shuffle_records_read, 40,
        "10 keys x 4 map partitions"
    );
}

#[test]
fn co_partitioned_join_does_not_shuffle() {
    let ctx = Context::local(2).unwrap();
    let p = HashPartitioner::new(4);
    let links = ctx
        .parallelize((0..1000u64).map(|i| (i % 100, i)).collect(), 3)
        .group_by_key_with(p)
        .cache();
    let ranks = links.map_values(|_| 1.0f64);
    assert!(ranks.is_partitioned(), "map_values keeps the partitioner");
    links.count().unwrap();
    // Joining two datasets with the same partitioner reads both sides in place.
    let contribs = links.join(&ranks).count().unwrap();
    assert_eq!(contribs, 100);
    assert_eq!(stage_kinds(&ctx), vec![StageKind::Result]);
    // Aggregating by key on a partitioned dataset needs no shuffle either.
    let summed = ranks.reduce_by_key(|a, b| a + b);
    assert!(summed.is_partitioned());
    assert_eq!(summed.count().unwrap(), 100);
    assert_eq!(stage_kinds(&ctx), vec![StageKind::Result]);
    // A dataset partitioned differently is shuffled (one map stage, for that side only).
    let other = ctx.parallelize((0..100u64).map(|i| (i, i)).collect(), 5);
    assert_eq!(links.join(&other).count().unwrap(), 100);
    assert_eq!(
        stage_kinds(&ctx),
        vec![StageKind::ShuffleMap, StageKind::Result]
    );
    // partition_by with the same partitioner is a no-op.
    assert_eq!(links.partition_by(p).id(), links.id());
}

#[test]
fn dataset_ids_follow_program_order() {
    let ctx = Context::local(2).unwrap();
    let a = ctx.parallelize(vec![1u8], 1);
    let b = a.map(|x| x + 1);
    let c = ctx.range(0, 10, 1, 2).unwrap();
    let d = b.union(&b);
    assert!(a.id() < b.id() && b.id() < c.id() && c.id() < d.id());
}

/// A program exercising every source of nondeterminism we know of.
fn program(
    threads: usize,
) -> (
    Vec<(u64, f64)>,
    Vec<u64>,
    Vec<Vec<u64>>,
    Vec<(u64, Vec<u64>)>,
    f64,
    Vec<u64>,
) {
    let ctx = Context::builder().threads(threads).build().unwrap();
    let xs: Dataset<u64> = ctx.parallelize((0..20_000u64).collect(), 6);
    let sums = xs
        .map(|x| (x % 101, (x as f64).sqrt()))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .unwrap();
    let sample = xs.sample(false, 0.1, 42).unwrap().collect().unwrap();
    let splits = xs
        .random_split(&[0.3, 0.7], 7)
        .unwrap()
        .iter()
        .map(|s| s.collect().unwrap())
        .collect();
    let groups = xs.map(|x| (x % 13, x)).group_by_key().collect().unwrap();
    let acc = ctx.double_accumulator("acc");
    let a = acc.clone();
    xs.foreach(move |x| a.add((x as f64).ln_1p())).unwrap();
    let rep = xs
        .repartition(5)
        .glom()
        .map(|v| v.len() as u64)
        .collect()
        .unwrap();
    (sums, sample, splits, groups, acc.value(), rep)
}

#[test]
fn results_are_identical_whatever_the_thread_count() {
    let one = program(1);
    for threads in [2, 3, 4] {
        let other = program(threads);
        assert_eq!(one.0.len(), other.0.len());
        for (a, b) in one.0.iter().zip(&other.0) {
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits(), "bit-identical sums");
        }
        assert_eq!(one.1, other.1);
        assert_eq!(one.2, other.2);
        assert_eq!(one.3, other.3);
        assert_eq!(
            one.4.to_bits(),
            other.4.to_bits(),
            "accumulator merge order is fixed"
        );
        assert_eq!(one.5, other.5);
    }
}

#[test]
fn repartition_balances_records() {
    let ctx = Context::local(2).unwrap();
    let sizes = ctx
        .parallelize((0..1000u32).collect(), 3)
        .repartition(4)
        .glom()
        .map(|v| v.len())
        .collect()
        .unwrap();
    assert_eq!(sizes.iter().sum::<usize>(), 1000);
    assert!(sizes.iter().all(|&s| (240..=260).contains(&s)), "{sizes:?}");
}

#[test]
fn zip_partitions_combines_matching_partitions() {
    let ctx = Context::local(2).unwrap();
    let a = ctx.parallelize((0..100u64).collect(), 4);
    let b = a.map(|x| x * 2);
    let sums = a
        .zip_partitions(&b, false, |l, r| l.zip(r).map(|(x, y)| x + y))
        .unwrap();
    assert_eq!(
        sums.collect().unwrap(),
        (0..100).map(|x| 3 * x).collect::<Vec<_>>()
    );
    // One record per partition: the partition sizes of both sides.
    let sizes = a
        .zip_partitions(&b.filter(|x| x % 4 == 0), false, |l, r| {
            std::iter::once((l.count(), r.count()))
        })
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(sizes, vec![(25, 13), (25, 12), (25, 13), (25, 12)]);
    assert!(a
        .zip_partitions(&a.coalesce(2, false), false, |l, _| l)
        .is_err());
    let keyed = a.map(|x| (x % 7, x)).partition_by(HashPartitioner::new(3));
    let kept = keyed.zip_partitions(&keyed, true, |l, _| l).unwrap();
    assert!(kept.is_partitioned());
    assert_eq!(kept.count().unwrap(), 100);
}

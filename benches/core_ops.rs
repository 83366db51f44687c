//! Core operator benchmarks, each against a plain rayon baseline in the same run.
//!
//! Run with `cargo bench --bench core_ops`. Set `FIRESTEEL_BENCH_N` to change the record
//! count (default 10 million).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use firesteel::core::Context;
use rayon::prelude::*;

const THREADS: usize = 2;

fn n() -> u64 {
    std::env::var("FIRESTEEL_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000)
}

fn ctx() -> Context {
    Context::builder()
        .threads(THREADS)
        .memory(4 << 30)
        .shuffle_memory(1 << 30)
        .build()
        .unwrap()
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .unwrap()
}

fn map_filter_sum(c: &mut Criterion) {
    let n = n();
    let data: Vec<u64> = (0..n).collect();
    let ctx = ctx();
    let ds = ctx.parallelize(data.clone(), 2 * THREADS).cache();
    ds.count().unwrap();
    let pool = pool();
    let mut g = c.benchmark_group("map_filter_sum");
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("firesteel", n), |b| {
        b.iter(|| {
            black_box(
                ds.map(|x| x.wrapping_mul(3))
                    .filter(|x| x % 2 == 0)
                    .sum()
                    .unwrap(),
            )
        })
    });
    g.bench_function(BenchmarkId::new("rayon", n), |b| {
        b.iter(|| {
            pool.install(|| {
                black_box(
                    data.par_iter()
                        .map(|x| x.wrapping_mul(3))
                        .filter(|x| x % 2 == 0)
                        .sum::<u64>(),
                )
            })
        })
    });
    g.finish();
}

fn keyed(n: u64, keys: u64) -> Vec<(u64, u64)> {
    (0..n)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % keys, i))
        .collect()
}

fn reduce_by_key(c: &mut Criterion) {
    let n = n();
    let data = keyed(n, 100_000);
    let ctx = ctx();
    let ds = ctx.parallelize(data.clone(), 2 * THREADS).cache();
    ds.count().unwrap();
    let pool = pool();
    let mut g = c.benchmark_group("reduce_by_key_100k_keys");
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("firesteel", n), |b| {
        b.iter(|| black_box(ds.reduce_by_key(|a, b| a + b).count().unwrap()))
    });
    g.bench_function(BenchmarkId::new("rayon_hashmap", n), |b| {
        b.iter(|| {
            pool.install(|| {
                let m = data
                    .par_iter()
                    .fold(HashMap::new, |mut m: HashMap<u64, u64>, (k, v)| {
                        *m.entry(*k).or_default() += v;
                        m
                    })
                    .reduce(HashMap::new, |mut a, b| {
                        for (k, v) in b {
                            *a.entry(k).or_default() += v;
                        }
                        a
                    });
                black_box(m.len())
            })
        })
    });
    g.finish();
}

fn sort_by_key(c: &mut Criterion) {
    let n = n();
    let data = keyed(n, u64::MAX);
    let ctx = ctx();
    let ds = ctx.parallelize(data.clone(), 2 * THREADS).cache();
    ds.count().unwrap();
    let pool = pool();
    let mut g = c.benchmark_group("sort_by_key");
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("firesteel", n), |b| {
        b.iter(|| black_box(ds.sort_by_key(true, None).unwrap().count().unwrap()))
    });
    g.bench_function(BenchmarkId::new("rayon_par_sort", n), |b| {
        b.iter(|| {
            pool.install(|| {
                let mut v = data.clone();
                v.par_sort_by_key(|kv| kv.0);
                black_box(v.len())
            })
        })
    });
    g.finish();
}

fn job_overhead(c: &mut Criterion) {
    let ctx = ctx();
    let ds = ctx.parallelize((0..4u64).collect(), 4).cache();
    ds.count().unwrap();
    c.bench_function("job_overhead/count_cached_4_partitions", |b| {
        b.iter(|| black_box(ds.count().unwrap()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = map_filter_sum, reduce_by_key, sort_by_key, job_overhead
}
criterion_main!(benches);

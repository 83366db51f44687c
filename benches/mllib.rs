//! mllib benchmarks on seeded synthetic data (2 threads), each with first-iteration and
//! later-iteration times and an in-run reference:
//!
//! - k-means, 500k × 16, k = 16, 20 Lloyd iterations (ns per point·center·dimension;
//!   reference: one single-threaded ndarray GEMM of the same size, the distance kernel);
//! - logistic regression, 200k × 50, L-BFGS (reference: one single-threaded pass of the
//!   gradient kernel `Xᵀ(σ(Xw) − y)`);
//! - ALS, about 1M ratings, rank 10, 10 iterations (ns per rating·rank² per iteration).
//!
//! Run with `cargo bench --bench mllib`. `FIRESTEEL_BENCH_SCALE` (default 1.0) scales the
//! data sizes.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use firesteel::core::Context;
use firesteel::mllib::als::Als;
use firesteel::mllib::datasets;
use firesteel::mllib::kmeans::KMeans;
use firesteel::mllib::logistic::LogisticRegression;
use firesteel::mllib::ndarray::Array1;
use firesteel::mllib::Fit;

const THREADS: usize = 2;

fn scale() -> f64 {
    std::env::var("FIRESTEEL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

fn ctx() -> Context {
    Context::builder()
        .threads(THREADS)
        .memory(8 << 30)
        .shuffle_memory(2 << 30)
        .build()
        .unwrap()
}

fn kmeans(c: &mut Criterion) {
    let n = (500_000.0 * scale()) as usize;
    let (d, k, iters) = (16, 16, 20);
    let ctx = ctx();
    let (data, _) = datasets::gaussian_blobs(n, d, k, 3.0, 1);
    let blocks = data.to_blocks(&ctx, THREADS * 4, 4096);
    blocks.count().unwrap();
    // tol 0 so that all 20 iterations run.
    let params = KMeans::params(k).max_iter(iters).tol(0.0).seed(1);
    let model = params.fit(&blocks).unwrap();
    let s = &model.summary().training;
    let per = |secs: f64| secs * 1e9 / (n * k * d) as f64;
    let first = s.iteration_seconds[0];
    let later: f64 =
        s.iteration_seconds[1..].iter().sum::<f64>() / (s.iteration_seconds.len() - 1) as f64;
    let t = Instant::now();
    let g = data.features.dot(&model.centers().t());
    black_box(g);
    let gemm = t.elapsed().as_secs_f64();
    println!(
        "kmeans {n}x{d} k={k}: init {:.3} s, first iteration {:.1} ms ({:.3} ns/pcd), later \
         iterations {:.1} ms ({:.3} ns/pcd); reference 1-thread GEMM {:.1} ms ({:.3} ns/pcd); \
         later/GEMM = {:.2}",
        s.setup_seconds,
        first * 1e3,
        per(first),
        later * 1e3,
        per(later),
        gemm * 1e3,
        per(gemm),
        later / gemm
    );
    let mut g = c.benchmark_group("mllib");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("kmeans_500k_x16_k16_20iter", |b| {
        b.iter(|| black_box(params.fit(&blocks).unwrap()))
    });
    g.finish();
}

fn logistic(c: &mut Criterion) {
    let n = (200_000.0 * scale()) as usize;
    let d = 50;
    let ctx = ctx();
    let (data, _) = datasets::logistic_data(n, d, 2);
    let blocks = data.to_blocks(&ctx, THREADS * 4, 4096);
    blocks.count().unwrap();
    let params = LogisticRegression::params().reg_param(1e-4);
    let time = |p: &firesteel::mllib::logistic::LogisticRegressionParams| {
        let t = Instant::now();
        let m = p.fit(&blocks).unwrap();
        (t.elapsed().as_secs_f64(), m)
    };
    let (t1, _) = time(&params.clone().max_iter(1));
    let (tn, model) = time(&params);
    let s = model.summary();
    let iters = s.training.iterations.max(2);
    let t = Instant::now();
    let w = Array1::from_elem(d, 0.01);
    let m = data.features.dot(&w).mapv(|v| 1.0 / (1.0 + (-v).exp())) - &data.labels;
    black_box(data.features.t().dot(&m));
    let pass = t.elapsed().as_secs_f64();
    let later = (tn - t1) / (iters - 1) as f64;
    println!(
        "logistic {n}x{d}: {} iterations, accuracy {:.4}; fit {:.1} ms; first iteration \
         (with setup and summary) {:.1} ms, later iterations {:.1} ms; reference 1-thread \
         gradient pass {:.1} ms; later/pass = {:.2}",
        s.training.iterations,
        s.accuracy,
        tn * 1e3,
        t1 * 1e3,
        later * 1e3,
        pass * 1e3,
        later / pass
    );
    let mut g = c.benchmark_group("mllib");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("logistic_200k_x50_lbfgs", |b| {
        b.iter(|| black_box(params.fit(&blocks).unwrap()))
    });
    g.finish();
}

fn als(c: &mut Criterion) {
    let ctx = ctx();
    let s = scale();
    let (nu, ni) = ((6000.0 * s) as usize, (4000.0 * s) as usize);
    let (ratings, _, _) =
        datasets::low_rank_ratings(nu, ni, 10, 1_000_000.0 / (6000.0 * 4000.0), 0.1, 3);
    let n = ratings.len();
    let ds = ctx.parallelize(ratings, THREADS * 4);
    let split = ds.random_split(&[0.9, 0.1], 1).unwrap();
    let (train, test) = (split[0].cache(), split[1].cache());
    train.count().unwrap();
    let params = Als::params()
        .rank(10)
        .max_iter(10)
        .reg_param(0.05)
        .num_user_blocks(THREADS * 2)
        .num_item_blocks(THREADS * 2);
    let model = params.fit(&train).unwrap();
    let sm = model.summary();
    let first = sm.iteration_seconds[0];
    let later: f64 =
        sm.iteration_seconds[1..].iter().sum::<f64>() / (sm.iteration_seconds.len() - 1) as f64;
    let per = |secs: f64| secs * 1e9 / (2.0 * n as f64 * 100.0);
    println!(
        "als {n} ratings ({nu} users, {ni} items) rank 10: setup {:.1} ms, first iteration \
         {:.1} ms, later iterations {:.1} ms ({:.3} ns per rating·rank² per half-iteration); \
         held-out RMSE {:.4} (noise 0.1)",
        sm.setup_seconds * 1e3,
        first * 1e3,
        later * 1e3,
        per(later),
        model.rmse(&test).unwrap()
    );
    let mut g = c.benchmark_group("mllib");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("als_1m_rank10_10iter", |b| {
        b.iter(|| black_box(params.fit(&train).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, kmeans, logistic, als);
criterion_main!(benches);

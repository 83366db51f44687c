//! Algorithm properties against independent oracles: k-means|| against brute-force
//! k-means, ALS recovery of planted low-rank matrices, determinism across thread counts,
//! and model persistence.

use std::sync::Arc;

use firesteel_core::{Context, Dataset};
use firesteel_mllib::als::{Als, ColdStartStrategy};
use firesteel_mllib::data::{self, InstanceBlock, Rating};
use firesteel_mllib::datasets;
use firesteel_mllib::kmeans::{KMeans, KMeansModel};
use firesteel_mllib::logistic::{LogisticRegression, LogisticRegressionModel};
use firesteel_mllib::persist::FORMAT_VERSION;
use firesteel_mllib::{Fit, MlError, Model, Predict, Progress, TrainingSummary};
use ndarray::{Array1, Array2};

fn path(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn blocks(
    ctx: &Context,
    d: &data::LocalData,
    parts: usize,
    rows: usize,
) -> Dataset<Arc<InstanceBlock>> {
    d.to_blocks(ctx, parts, rows)
}

/// Exhaustive k-means: the assignment of minimum WSSSE over all k^n labelings.
fn brute_force_cost(x: &Array2<f64>, k: usize) -> f64 {
    let n = x.nrows();
    let mut best = f64::INFINITY;
    let total = k.pow(n as u32);
    for code in 0..total {
        let mut c = code;
        let mut labels = vec![0; n];
        for l in labels.iter_mut() {
            *l = c % k;
            c /= k;
        }
        let mut cost = 0.0;
        for j in 0..k {
            let members: Vec<usize> = (0..n).filter(|&i| labels[i] == j).collect();
            if members.is_empty() {
                continue;
            }
            let mean = members
                .iter()
                .fold(Array1::<f64>::zeros(x.ncols()), |a, &i| a + x.row(i))
                / members.len() as f64;
            for &i in &members {
                cost += (&x.row(i) - &mean).mapv(|v| v * v).sum();
            }
        }
        best = best.min(cost);
    }
    best
}

#[test]
fn kmeans_parallel_matches_brute_force_on_planted_clusters() {
    let ctx = Context::local(2).unwrap();
    for seed in 0..4 {
        // 12 points in 3 well-separated blobs: 3^12 = 531441 labelings.
        let (d, _) = datasets::gaussian_blobs(12, 2, 3, 0.3, seed);
        let oracle = brute_force_cost(&d.features, 3);
        let model = KMeans::params(3)
            .seed(seed)
            .fit(&blocks(&ctx, &d, 3, 2))
            .unwrap();
        let cost = model.summary().training_cost;
        assert!(
            (cost - oracle).abs() <= 1e-9 * oracle.max(1.0),
            "seed {seed}: k-means|| {cost} vs brute force {oracle}"
        );
    }
}

#[test]
fn kmeans_finds_planted_centers_at_scale() {
    let ctx = Context::local(2).unwrap();
    let (d, centers) = datasets::gaussian_blobs(4000, 5, 8, 0.5, 9);
    let model = KMeans::params(8)
        .seed(3)
        .fit(&blocks(&ctx, &d, 4, 256))
        .unwrap();
    // Every true center has a found center within a few standard errors.
    for c in centers.outer_iter() {
        let best = model
            .centers()
            .outer_iter()
            .map(|m| (&m - &c).mapv(|v: f64| v * v).sum().sqrt())
            .fold(f64::INFINITY, f64::min);
        assert!(best < 0.1, "center {c} missed by {best}");
    }
    let s = &model.summary().training;
    assert_eq!(s.objective_history.len(), s.iterations);
}

fn ratings_ds(ctx: &Context, r: Vec<Rating>, parts: usize) -> Dataset<Rating> {
    ctx.parallelize(r, parts)
}

#[test]
fn als_matches_spark_training_rmse_on_movielens() {
    let ctx = Context::local(2).unwrap();
    let r = data::load_ratings(path("sample_movielens_ratings.txt")).unwrap();
    assert_eq!(r.len(), 1501);
    let all = ratings_ds(&ctx, r, 2);
    let split = all.random_split(&[0.8, 0.2], 7).unwrap();
    let (train, test) = (split[0].cache(), split[1].cache());
    let model = Als::params()
        .rank(10)
        .max_iter(5)
        .reg_param(0.01)
        .seed(1)
        .fit(&train)
        .unwrap();
    let train_rmse = model.rmse(&train).unwrap();
    // Spark's training RMSE on its own random 80 % split is entry mllib.als.movielens of
    // data/spark_results.json. Ours is a different split with different random initial
    // factors; over 4 splits × 3 seeds we measured 0.17-0.21. We require a fit no worse than
    // Spark's (< 0.30, its value rounded up) that has not degenerated into interpolating the
    // training set (> 0.10).
    assert!(
        train_rmse > 0.10 && train_rmse < 0.30,
        "training RMSE {train_rmse}"
    );
    // Cold start: test pairs with unseen users or items are NaN, or dropped.
    let mut m = model.clone();
    m.set_cold_start_strategy(ColdStartStrategy::Drop);
    let kept = m.predict_dataset(&test).count().unwrap();
    assert!(kept <= test.count().unwrap());
    assert!(model.predict((1_000_000, 1)).unwrap().is_nan());
    assert!(model.recommend_for_user(1_000_000, 3).is_empty());
    let recs = model.recommend_for_user(0, 5);
    assert_eq!(recs.len(), 5);
    for w in recs.windows(2) {
        assert!(w[0].1 >= w[1].1);
    }
    assert!((recs[0].1 - model.predict((0, recs[0].0)).unwrap()).abs() < 1e-4);
    let all_recs = model.recommend_for_all_users(&ctx, 5, 3).unwrap();
    let (users, _) = model.user_factors();
    assert_eq!(all_recs.len(), users.len());
    let r0 = all_recs.iter().find(|(u, _)| *u == 0).unwrap();
    assert_eq!(
        r0.1.iter().map(|p| p.0).collect::<Vec<_>>(),
        recs.iter().map(|p| p.0).collect::<Vec<_>>()
    );
}

#[test]
fn explicit_als_recovers_planted_low_rank_matrix() {
    let ctx = Context::local(2).unwrap();
    let noise = 0.1;
    let (r, u, v) = datasets::low_rank_ratings(120, 100, 3, 0.4, noise, 5);
    let model = Als::params()
        .rank(3)
        .max_iter(15)
        .reg_param(0.001)
        .num_user_blocks(3)
        .num_item_blocks(2)
        .fit(&ratings_ds(&ctx, r, 3))
        .unwrap();
    // RMSE against the noiseless matrix over ALL pairs (mostly unobserved): the
    // recovery error should be well below the noise level.
    let truth = u.dot(&v.t());
    let mut se = 0.0;
    for a in 0..120 {
        for b in 0..100 {
            let e = f64::from(model.predict((a, b)).unwrap()) - truth[[a as usize, b as usize]];
            se += e * e;
        }
    }
    let rmse = (se / 12000.0).sqrt();
    assert!(rmse < noise, "recovery RMSE {rmse} vs noise {noise}");
    // Non-negative mode keeps every factor >= 0.
    let (r2, _, _) = datasets::low_rank_ratings(40, 30, 2, 0.5, 0.0, 6);
    let nn = Als::params()
        .rank(2)
        .max_iter(3)
        .nonnegative(true)
        .num_user_blocks(2)
        .num_item_blocks(2)
        .fit(&ratings_ds(&ctx, r2, 2))
        .unwrap();
    assert!(nn.user_factors().1.iter().all(|&x| x >= 0.0));
    assert!(nn.item_factors().1.iter().all(|&x| x >= 0.0));
}

#[test]
fn implicit_als_recovers_planted_preferences() {
    // Planted rank-4 preference matrix: users and items in 4 groups; a user prefers the
    // items of its group. Half the preferred pairs are observed (with counts 1..5); the
    // rest are held out. Recovery: every held-out preferred pair scores above every
    // non-preferred pair's ... within a margin: > 0.5 versus < 0.5.
    let ctx = Context::local(2).unwrap();
    let (nu, ni, g) = (80u32, 60u32, 4u32);
    let mut obs = Vec::new();
    let mut held = Vec::new();
    let mut k = 0u32;
    for a in 0..nu {
        for b in 0..ni {
            if a % g == b % g {
                k = k.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if (k >> 16) & 1 == 0 {
                    obs.push(Rating {
                        user: a,
                        item: b,
                        rating: (1 + (k >> 20) % 5) as f32,
                    });
                } else {
                    held.push((a, b));
                }
            }
        }
    }
    let model = Als::params()
        .rank(4)
        .max_iter(10)
        .reg_param(0.01)
        .implicit_prefs(true)
        .alpha(10.0)
        .num_user_blocks(2)
        .num_item_blocks(3)
        .fit(&ratings_ds(&ctx, obs, 2))
        .unwrap();
    for &(a, b) in &held {
        let p = model.predict((a, b)).unwrap();
        assert!(p > 0.5, "held-out preferred pair ({a}, {b}) scored {p}");
    }
    for a in 0..nu {
        for b in 0..ni {
            if a % g != b % g {
                let p = model.predict((a, b)).unwrap();
                assert!(p.abs() < 0.5, "non-preferred pair ({a}, {b}) scored {p}");
            }
        }
    }
}

/// Trains through the shared [`Fit`] trait, collecting the progress reports.
fn fit_reporting<R, P: Fit<R>>(params: &P, data: &Dataset<R>) -> (Vec<Progress>, P::Model) {
    let mut seen = Vec::new();
    let model = params.fit_with_progress(data, |p| seen.push(*p)).unwrap();
    (seen, model)
}

/// Progress reports one entry per iteration, numbered from 1, with the summary's timings.
fn check_progress(seen: &[Progress], s: &TrainingSummary) {
    assert!(s.iterations > 0);
    assert_eq!(seen.len(), s.iterations);
    for (i, p) in seen.iter().enumerate() {
        assert_eq!(p.iteration, i + 1);
        assert_eq!(p.seconds, s.iteration_seconds[i]);
    }
}

#[test]
fn progress_and_summaries_have_one_shape() {
    let ctx = Context::local(2).unwrap();
    let (d, _) = datasets::gaussian_blobs(300, 2, 3, 1.0, 4);
    let (seen, km) = fit_reporting(&KMeans::params(3).tol(0.0), &blocks(&ctx, &d, 2, 64));
    let s = km.training_summary();
    check_progress(&seen, s);
    // k-means reports the cost each iteration started from: its objective history.
    let reported: Vec<f64> = seen.iter().map(|p| p.objective.unwrap()).collect();
    assert_eq!(reported, s.objective_history);

    let (l, _) = datasets::logistic_data(300, 3, 2);
    let (seen, lr) = fit_reporting(&LogisticRegression::params(), &blocks(&ctx, &l, 2, 64));
    let s = lr.training_summary();
    check_progress(&seen, s);
    assert!(s.converged && s.iterations < 100);
    // The history starts with the initial objective; each report is a later state's.
    for p in &seen {
        assert!(s.objective_history[1..].contains(&p.objective.unwrap()));
    }

    let (r, _, _) = datasets::low_rank_ratings(30, 20, 2, 0.5, 0.1, 2);
    let als = Als::params().rank(2).max_iter(3).num_blocks(2);
    let (seen, model) = fit_reporting(&als, &ratings_ds(&ctx, r, 2));
    let s = model.training_summary();
    check_progress(&seen, s);
    assert_eq!(s.iterations, 3);
    assert!(!s.converged && s.objective_history.is_empty());
    assert!(seen.iter().all(|p| p.objective.is_none()));
}

fn train_all(threads: usize) -> (KMeansModel, LogisticRegressionModel, Vec<f32>) {
    let ctx = Context::builder().threads(threads).build().unwrap();
    let (d, _) = datasets::gaussian_blobs(3000, 4, 5, 1.0, 1);
    let km = KMeans::params(5)
        .seed(2)
        .fit(&blocks(&ctx, &d, 4, 300))
        .unwrap();
    let (l, _) = datasets::logistic_data(2000, 6, 3);
    let lr = LogisticRegression::params()
        .reg_param(0.01)
        .elastic_net_param(0.5)
        .fit(&blocks(&ctx, &l, 4, 300))
        .unwrap();
    let (r, _, _) = datasets::low_rank_ratings(60, 50, 2, 0.3, 0.1, 4);
    let als = Als::params()
        .rank(2)
        .max_iter(3)
        .num_user_blocks(3)
        .num_item_blocks(2)
        .fit(&ratings_ds(&ctx, r, 4))
        .unwrap();
    (km, lr, als.user_factors().1.iter().copied().collect())
}

#[test]
fn results_are_identical_across_thread_counts() {
    let a = train_all(1);
    let b = train_all(2);
    let c = train_all(4);
    assert_eq!(a.0.centers(), b.0.centers());
    assert_eq!(a.0.centers(), c.0.centers());
    assert_eq!(a.1.coefficients(), b.1.coefficients());
    assert_eq!(a.1.intercept().to_bits(), c.1.intercept().to_bits());
    assert_eq!(a.2, b.2);
    assert_eq!(a.2, c.2);
}

#[test]
fn models_round_trip_and_bad_files_are_rejected() {
    let ctx = Context::local(2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (d, _) = datasets::gaussian_blobs(200, 3, 3, 0.5, 1);
    let km = KMeans::params(3).fit(&blocks(&ctx, &d, 2, 64)).unwrap();
    let p = dir.path().join("km.json");
    km.save(&p).unwrap();
    assert_eq!(KMeansModel::load(&p).unwrap(), km);
    let (l, _) = datasets::logistic_data(300, 4, 1);
    let lr = LogisticRegression::params()
        .fit(&blocks(&ctx, &l, 2, 64))
        .unwrap();
    let q = dir.path().join("lr.json");
    lr.save(&q).unwrap();
    assert_eq!(LogisticRegressionModel::load(&q).unwrap(), lr);
    let (r, _, _) = datasets::low_rank_ratings(20, 20, 2, 0.5, 0.1, 1);
    let als = Als::params()
        .rank(2)
        .max_iter(2)
        .fit(&ratings_ds(&ctx, r, 2))
        .unwrap();
    let s = dir.path().join("als.json");
    als.save(&s).unwrap();
    assert_eq!(firesteel_mllib::als::AlsModel::load(&s).unwrap(), als);

    // Wrong kind.
    assert!(matches!(
        LogisticRegressionModel::load(&p),
        Err(MlError::ModelKindMismatch { .. })
    ));
    // Other version.
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace(&format!("\"version\":{FORMAT_VERSION}"), "\"version\":99");
    std::fs::write(&p, text).unwrap();
    assert!(matches!(
        KMeansModel::load(&p),
        Err(MlError::ModelVersionMismatch { found: 99, .. })
    ));
    // Truncated file.
    let text = std::fs::read_to_string(&q).unwrap();
    std::fs::write(&q, &text[..text.len() / 2]).unwrap();
    let e = LogisticRegressionModel::load(&q).unwrap_err();
    assert!(matches!(e, MlError::CorruptModel { .. }), "{e}");
    assert!(e.to_string().contains("lr.json"));
    // Not a model at all.
    std::fs::write(&q, "{\"hello\": 1}").unwrap();
    assert!(matches!(
        LogisticRegressionModel::load(&q),
        Err(MlError::CorruptModel { .. })
    ));
    assert!(matches!(
        KMeansModel::load(dir.path().join("missing.json")),
        Err(MlError::Io { .. })
    ));
}

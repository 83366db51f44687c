//! Results on Spark's sample data, compared with what Spark 4.3.0 computes on the same
//! files (read from `data/spark_results.json`).

use firesteel_core::Context;
use firesteel_mllib::data;
use firesteel_mllib::kmeans::{KMeans, KMeansInit};
use firesteel_mllib::logistic::LogisticRegression;
use firesteel_mllib::Fit;

#[path = "../../data/spark_results.rs"]
mod spark_results;

use spark_results::{f64_of, key, tolerance, u64_of};

fn path(name: &str) -> String {
    format!("{}/../data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn kmeans_matches_spark_on_kmeans_data() {
    let ctx = Context::local(2).unwrap();
    let x = data::load_dense(path("kmeans_data.txt")).unwrap();
    let n = x.nrows();
    let blocks = data::to_blocks(&ctx, &x, &ndarray::Array1::zeros(n), None, 2, 4096);
    for init in [KMeansInit::KMeansParallel, KMeansInit::Random] {
        let model = KMeans::params(2).init(init).seed(1).fit(&blocks).unwrap();
        let mut centers: Vec<Vec<f64>> = model.centers().outer_iter().map(|r| r.to_vec()).collect();
        centers.sort_by(|a, b| a[0].total_cmp(&b[0]));
        // The data are exact decimals, so only rounding separates us from Spark.
        let spark = spark_results::vectors(key::KMEANS, "centers");
        let cost = f64_of(key::KMEANS, "training_cost");
        let tol = tolerance(key::KMEANS);
        assert_eq!(centers.len(), spark.len());
        for (c, e) in centers.iter().zip(&spark) {
            assert_eq!(c.len(), e.len());
            for (v, e) in c.iter().zip(e) {
                assert!((v - e).abs() < tol, "{centers:?}");
            }
        }
        assert!((model.summary().training_cost - cost).abs() < tol);
        assert!((model.compute_cost(&blocks).unwrap() - cost).abs() < tol);
    }
}

#[test]
fn logistic_l2_matches_spark_on_sample_libsvm() {
    let ctx = Context::local(2).unwrap();
    let d = data::load_libsvm(path("sample_libsvm_data.txt"), None).unwrap();
    assert_eq!(d.features.shape(), &[100, 692]);
    let blocks = d.to_blocks(&ctx, 2, 4096);
    let model = LogisticRegression::params()
        .max_iter(100)
        .reg_param(0.01)
        .fit(&blocks)
        .unwrap();
    let s = model.summary();
    assert_eq!(s.accuracy, f64_of(key::LOGISTIC_L2, "accuracy"));
    assert_eq!(
        s.area_under_roc,
        Some(f64_of(key::LOGISTIC_L2, "area_under_roc"))
    );
    for w in s.training.objective_history.windows(2) {
        assert!(w[1] <= w[0] + 1e-12);
    }
}

#[test]
fn logistic_elastic_net_matches_spark_on_sample_libsvm() {
    let ctx = Context::local(2).unwrap();
    let d = data::load_libsvm(path("sample_libsvm_data.txt"), None).unwrap();
    let blocks = d.to_blocks(&ctx, 2, 4096);
    let model = LogisticRegression::params()
        .max_iter(10)
        .reg_param(0.3)
        .elastic_net_param(0.8)
        .fit(&blocks)
        .unwrap();
    let nnz = model.coefficients().iter().filter(|v| **v != 0.0).count();
    eprintln!("nnz {nnz} intercept {:.17}", model.intercept());
    assert_eq!(nnz as u64, u64_of(key::LOGISTIC_ELASTIC_NET, "non_zeros"));
    let intercept = f64_of(key::LOGISTIC_ELASTIC_NET, "intercept");
    assert!((model.intercept() - intercept).abs() < tolerance(key::LOGISTIC_ELASTIC_NET));
}

#[test]
fn multinomial_matches_spark_accuracy() {
    let ctx = Context::local(2).unwrap();
    let d = data::load_libsvm(path("sample_multiclass_classification_data.txt"), None).unwrap();
    let blocks = d.to_blocks(&ctx, 2, 4096);
    let model = LogisticRegression::params().fit(&blocks).unwrap();
    assert!(model.is_multinomial());
    let s = model.summary();
    eprintln!(
        "multinomial accuracy {} iters {}",
        s.accuracy, s.training.iterations
    );
    let accuracy = f64_of(key::LOGISTIC_MULTINOMIAL, "accuracy");
    assert!((s.accuracy - accuracy).abs() < tolerance(key::LOGISTIC_MULTINOMIAL));
}

//! Logistic regression on Spark's sample data:
//! `cargo run --release --example logistic_regression`.

use firesteel::mllib::data;
use firesteel::mllib::logistic::LogisticRegression;
use firesteel::mllib::Fit;
use firesteel::Context;

#[path = "../data/spark_results.rs"]
mod spark_results;

use spark_results::{f64_of, key, u64_of};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::local(2)?;
    let d = data::load_libsvm(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample_libsvm_data.txt"),
        None,
    )?;
    let blocks = d.to_blocks(&ctx, 2, 4096);

    let l2 = LogisticRegression::params()
        .max_iter(100)
        .reg_param(0.01)
        .fit(&blocks)?;
    let s = l2.summary();
    println!(
        "binomial, L2 (reg 0.01): {} iterations",
        s.training.iterations
    );
    for (i, v) in s.training.objective_history.iter().enumerate().step_by(5) {
        println!("  iteration {i}: objective {v:.6}");
    }
    println!(
        "  accuracy {} (Spark {:?}), area under ROC {:?} (Spark {:?})",
        s.accuracy,
        f64_of(key::LOGISTIC_L2, "accuracy"),
        s.area_under_roc,
        f64_of(key::LOGISTIC_L2, "area_under_roc")
    );

    let en = LogisticRegression::params()
        .max_iter(10)
        .reg_param(0.3)
        .elastic_net_param(0.8)
        .fit(&blocks)?;
    let nnz = en.coefficients().iter().filter(|v| **v != 0.0).count();
    println!(
        "binomial, elastic net (reg 0.3, alpha 0.8, 10 iterations): {nnz} non-zeros (Spark {}), \
         intercept {:.16} (Spark {})",
        u64_of(key::LOGISTIC_ELASTIC_NET, "non_zeros"),
        en.intercept(),
        f64_of(key::LOGISTIC_ELASTIC_NET, "intercept")
    );

    let m = data::load_libsvm(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/sample_multiclass_classification_data.txt"
        ),
        None,
    )?;
    let mb = m.to_blocks(&ctx, 2, 4096);
    let multi = LogisticRegression::params().fit(&mb)?;
    let ms = multi.summary();
    println!(
        "multinomial ({} classes): {} iterations, accuracy {} (Spark {})",
        multi.num_classes(),
        ms.training.iterations,
        ms.accuracy,
        f64_of(key::LOGISTIC_MULTINOMIAL, "accuracy")
    );
    println!("  intercepts {}", multi.intercepts());
    Ok(())
}

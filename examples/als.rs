//! ALS on Spark's `sample_movielens_ratings.txt`: `cargo run --release --example als`.

use firesteel::mllib::als::{Als, ColdStartStrategy};
use firesteel::mllib::data;
use firesteel::mllib::Fit;
use firesteel::Context;

#[path = "../data/spark_results.rs"]
mod spark_results;

use spark_results::{f64_of, key};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::local(2)?;
    let ratings = data::load_ratings(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/sample_movielens_ratings.txt"
    ))?;
    println!("{} ratings", ratings.len());
    let all = ctx.parallelize(ratings, 2);
    let split = all.random_split(&[0.8, 0.2], 7)?;
    let (train, test) = (split[0].cache(), split[1].cache());
    let model = Als::params()
        .rank(10)
        .max_iter(5)
        .reg_param(0.01)
        .cold_start_strategy(ColdStartStrategy::Drop)
        .fit_with_progress(&train, |p| {
            println!("iteration {}: {:.1} ms", p.iteration, p.seconds * 1e3)
        })?;
    println!(
        "training RMSE {:.4} (Spark: about {})",
        model.rmse(&train)?,
        f64_of(key::ALS, "training_rmse")
    );
    println!(
        "held-out RMSE {:.4} (Spark: {} on its own split)",
        model.rmse(&test)?,
        f64_of(key::ALS, "test_rmse")
    );
    for (item, score) in model.recommend_for_user(0, 5) {
        println!("user 0: item {item} predicted {score:.3}");
    }
    Ok(())
}

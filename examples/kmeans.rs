//! k-means on Spark's `kmeans_data.txt`: `cargo run --release --example kmeans`.

use firesteel::mllib::data;
use firesteel::mllib::kmeans::KMeans;
use firesteel::mllib::ndarray::Array1;
use firesteel::mllib::Fit;
use firesteel::Context;

#[path = "../data/spark_results.rs"]
mod spark_results;

use spark_results::{f64_of, key};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Context::local(2)?;
    let x = data::load_dense(concat!(env!("CARGO_MANIFEST_DIR"), "/data/kmeans_data.txt"))?;
    let n = x.nrows();
    let blocks = data::to_blocks(&ctx, &x, &Array1::zeros(n), None, 2, 4096);
    let model = KMeans::params(2).seed(1).fit_with_progress(&blocks, |p| {
        let cost = p.objective.unwrap_or(f64::NAN);
        println!("iteration {}: cost {cost:.6}", p.iteration);
    })?;
    let s = model.summary();
    println!(
        "k-means on {n} points: {} iterations, converged: {}",
        s.training.iterations, s.training.converged
    );
    for (j, c) in model.centers().outer_iter().enumerate() {
        println!("center {j}: {c} ({} points)", s.cluster_sizes[j]);
    }
    println!(
        "training cost (WSSSE): {:.6}  (Spark: {})",
        s.training_cost,
        f64_of(key::KMEANS, "training_cost")
    );
    Ok(())
}

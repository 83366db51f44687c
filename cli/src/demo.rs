//! `firesteel demo`: every library on Spark's bundled sample data, each result printed beside
//! the value Spark 4.3.0 computes (read from `data/spark_results.json`), then a small
//! cached-vs-recompute comparison.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use firesteel::core::{Context, Dataset};
use firesteel::graphx::{algorithms, edge_list_file, EdgeListOptions};
use firesteel::mllib::als::{Als, ColdStartStrategy};
use firesteel::mllib::data;
use firesteel::mllib::kmeans::KMeans;
use firesteel::mllib::logistic::LogisticRegression;
use firesteel::mllib::Fit;

#[path = "../../data/spark_results.rs"]
pub(crate) mod spark_results;

use spark_results::{f64_of, key, tolerance, u64_of, vectors, vertex_labels, vertex_values};

/// The demo's bound on the elastic-net intercept, looser than the tests' (the table's
/// tolerance): the demo runs with any `--threads` and partition count.
const DEMO_INTERCEPT_TOLERANCE: f64 = 1e-3;

/// The demo's bound on ALS's training RMSE, Firesteel's own: Spark's value is approximate
/// (it depends on the random split), so there is no tolerance to compare within.
const DEMO_ALS_MAX_RMSE: f64 = 0.4;

type DemoResult<T> = Result<T, Box<dyn StdError + Send + Sync>>;

/// One line of the comparison table.
struct Row {
    what: String,
    ours: String,
    spark: String,
    ok: bool,
}

fn row(
    rows: &mut Vec<Row>,
    what: impl Into<String>,
    ours: impl Into<String>,
    spark: impl Into<String>,
    ok: bool,
) {
    rows.push(Row {
        what: what.into(),
        ours: ours.into(),
        spark: spark.into(),
        ok,
    });
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Runs the demo; prints as it goes and returns whether every result matched.
pub fn run(ctx: &Context, dir: &Path, parts: usize) -> DemoResult<bool> {
    let mut rows = Vec::new();
    let t0 = Instant::now();

    // Word count, against a sequential HashMap count.
    let text = dir.join("sample_text.txt");
    let counts = crate::word_count(ctx, &text, parts)?;
    let raw = std::fs::read_to_string(&text)?;
    let mut oracle: HashMap<&str, u64> = HashMap::new();
    for w in raw.split_whitespace() {
        *oracle.entry(w).or_default() += 1;
    }
    let same = counts.len() == oracle.len()
        && counts
            .iter()
            .all(|(w, c)| oracle.get(w.as_str()) == Some(c));
    row(
        &mut rows,
        "word count of sample_text.txt (distinct words)",
        counts.len().to_string(),
        format!("{} (sequential count)", oracle.len()),
        same,
    );

    // k-means.
    let blocks = data::load_dense_file(ctx, dir.join("kmeans_data.txt"), parts)?;
    let km = KMeans::params(2).seed(1).fit(&blocks)?;
    let mut centers: Vec<Vec<f64>> = km.centers().outer_iter().map(|c| c.to_vec()).collect();
    centers.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let fmt_c = |c: &[f64]| {
        format!(
            "({})",
            c.iter()
                .map(|v| format!("{v:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let spark_centers = vectors(key::KMEANS, "centers");
    let km_tol = tolerance(key::KMEANS);
    let centers_ok = centers.len() == spark_centers.len()
        && centers.iter().zip(&spark_centers).all(|(c, s)| {
            c.len() == s.len() && c.iter().zip(s).all(|(a, b)| close(*a, *b, km_tol))
        });
    row(
        &mut rows,
        "k-means k=2 centers (kmeans_data.txt)",
        centers
            .iter()
            .map(|c| fmt_c(c))
            .collect::<Vec<_>>()
            .join(" "),
        spark_centers
            .iter()
            .map(|c| fmt_c(c))
            .collect::<Vec<_>>()
            .join(" "),
        centers_ok,
    );
    let cost = km.summary().training_cost;
    let spark_cost = f64_of(key::KMEANS, "training_cost");
    row(
        &mut rows,
        "k-means training cost (WSSSE)",
        format!("{cost:.6}"),
        spark_cost.to_string(),
        close(cost, spark_cost, km_tol),
    );

    // Logistic regression.
    let lb = data::load_libsvm_file(ctx, dir.join("sample_libsvm_data.txt"), None, parts)?;
    let l2 = LogisticRegression::params()
        .max_iter(100)
        .reg_param(0.01)
        .fit(&lb)?;
    let s = l2.summary();
    let spark_acc = f64_of(key::LOGISTIC_L2, "accuracy");
    row(
        &mut rows,
        "logistic regression L2 (reg 0.01): accuracy",
        s.accuracy.to_string(),
        format!("{spark_acc:?}"),
        s.accuracy == spark_acc,
    );
    let auc = s.area_under_roc.unwrap_or(f64::NAN);
    let spark_auc = f64_of(key::LOGISTIC_L2, "area_under_roc");
    row(
        &mut rows,
        "logistic regression L2: area under ROC",
        auc.to_string(),
        format!("{spark_auc:?}"),
        auc == spark_auc,
    );
    let en = LogisticRegression::params()
        .max_iter(10)
        .reg_param(0.3)
        .elastic_net_param(0.8)
        .fit(&lb)?;
    let nnz = en.coefficients().iter().filter(|v| **v != 0.0).count();
    let spark_nnz = u64_of(key::LOGISTIC_ELASTIC_NET, "non_zeros");
    row(
        &mut rows,
        "elastic net (reg 0.3, alpha 0.8): non-zeros",
        nnz.to_string(),
        spark_nnz.to_string(),
        nnz as u64 == spark_nnz,
    );
    let spark_intercept = f64_of(key::LOGISTIC_ELASTIC_NET, "intercept");
    row(
        &mut rows,
        "elastic net: intercept",
        format!("{:.10}", en.intercept()),
        format!("{spark_intercept:.10}"),
        close(en.intercept(), spark_intercept, DEMO_INTERCEPT_TOLERANCE),
    );
    let multi = dir.join("sample_multiclass_classification_data.txt");
    let mb = data::load_libsvm_file(ctx, multi, None, parts)?;
    let mm = LogisticRegression::params().fit(&mb)?;
    let acc = mm.summary().accuracy;
    let spark_acc = f64_of(key::LOGISTIC_MULTINOMIAL, "accuracy");
    row(
        &mut rows,
        "multinomial logistic regression: accuracy",
        format!("{acc:.10}"),
        format!("{spark_acc:.10}"),
        close(acc, spark_acc, tolerance(key::LOGISTIC_MULTINOMIAL)),
    );

    // ALS on an 80 % split.
    let all = data::load_ratings_file(ctx, dir.join("sample_movielens_ratings.txt"), parts)?;
    let split = all.random_split(&[0.8, 0.2], 7)?;
    let train = split[0].cache();
    let als = Als::params()
        .rank(10)
        .max_iter(5)
        .reg_param(0.01)
        .seed(1)
        .cold_start_strategy(ColdStartStrategy::Drop)
        .fit(&train)?;
    let rmse = als.rmse(&train)?;
    row(
        &mut rows,
        "ALS rank 10, 5 iterations: training RMSE",
        format!("{rmse:.4}"),
        format!(
            "about {} (on Spark's own random split)",
            f64_of(key::ALS, "training_rmse")
        ),
        rmse < DEMO_ALS_MAX_RMSE,
    );

    // GraphX on followers.txt and pagerank_data.txt.
    let g = edge_list_file(ctx, dir.join("followers.txt"), EdgeListOptions::default())?;
    let mut pr = algorithms::page_rank(&g, 20, 0.15)?.vertices().collect()?;
    pr.sort_by_key(|v| v.0);
    let spark_pr = vertex_values(key::FOLLOWERS_PAGE_RANK);
    let pr_tol = tolerance(key::FOLLOWERS_PAGE_RANK);
    let pr_ok = pr.len() == spark_pr.len()
        && pr
            .iter()
            .zip(&spark_pr)
            .all(|(a, b)| a.0 == b.0 && close(a.1, b.1, pr_tol));
    let fmt_r = |r: &[(u64, f64)]| {
        r.iter()
            .map(|(v, x)| format!("{v}:{x:.6}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    row(
        &mut rows,
        "static PageRank (20) on followers.txt",
        fmt_r(&pr),
        fmt_r(&spark_pr),
        pr_ok,
    );
    let mut cc = algorithms::connected_components(&g, None)?
        .vertices()
        .collect()?;
    cc.sort();
    let spark_cc = vertex_labels(key::FOLLOWERS_COMPONENTS);
    let fmt_cc = |r: &[(u64, u64)]| {
        r.iter()
            .map(|(v, c)| format!("{v}:{c}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    row(
        &mut rows,
        "connected components on followers.txt",
        fmt_cc(&cc),
        fmt_cc(&spark_cc),
        cc == spark_cc,
    );
    let g2 = edge_list_file(
        ctx,
        dir.join("pagerank_data.txt"),
        EdgeListOptions::default(),
    )?;
    let mut pr2 = algorithms::page_rank(&g2, 10, 0.15)?.vertices().collect()?;
    pr2.sort_by_key(|v| v.0);
    let spark_pr2 = vertex_values(key::PAGERANK_DATA_PAGE_RANK);
    let pr2_tol = tolerance(key::PAGERANK_DATA_PAGE_RANK);
    let pr2_ok = pr2.len() == spark_pr2.len()
        && pr2
            .iter()
            .zip(&spark_pr2)
            .all(|(a, b)| a.0 == b.0 && close(a.1, b.1, pr2_tol));
    row(
        &mut rows,
        "static PageRank (10) on pagerank_data.txt",
        fmt_r(&pr2),
        fmt_r(&spark_pr2),
        pr2_ok,
    );

    let w0 = rows.iter().map(|r| r.what.len()).max().unwrap_or(0);
    println!(
        "{:<w0$}  {:<6}  Firesteel  |  Spark 4.3.0",
        "result", "match"
    );
    for r in &rows {
        println!(
            "{:<w0$}  {:<6}  {}  |  {}",
            r.what,
            if r.ok { "yes" } else { "NO" },
            r.ours,
            r.spark
        );
    }
    println!(
        "({} results in {:.2} s)",
        rows.len(),
        t0.elapsed().as_secs_f64()
    );
    println!();

    // Cached vs recomputed: logistic-regression-style passes over parsed text.
    let lines = ctx.text_file(dir.join("sample_libsvm_data.txt"), parts)?;
    let parsed: Dataset<Arc<Vec<f64>>> = lines.map(|l| {
        Arc::new(
            l.split_whitespace()
                .skip(1)
                .filter_map(|t| t.split_once(':').and_then(|(_, v)| v.parse().ok()))
                .collect(),
        )
    });
    let passes = 20;
    let timed = |ds: &Dataset<Arc<Vec<f64>>>| -> DemoResult<(f64, f64)> {
        let start = Instant::now();
        let mut total = 0.0;
        for _ in 0..passes {
            total = ds.map(|v| v.iter().sum::<f64>()).reduce(|a, b| a + b)?;
        }
        Ok((start.elapsed().as_secs_f64(), total))
    };
    let (recompute_s, a) = timed(&parsed)?;
    let cached = parsed.cache();
    let (cached_s, b) = timed(&cached)?;
    println!("{passes} passes over sample_libsvm_data.txt's parsed features (sum {a:.3}):");
    println!(
        "  re-read and re-parsed every pass: {:.2} ms",
        recompute_s * 1e3
    );
    println!(
        "  cached after the first pass:      {:.2} ms ({:.1}x faster)",
        cached_s * 1e3,
        recompute_s / cached_s.max(1e-9)
    );
    let agree = a == b;
    println!("  results identical: {}", if agree { "yes" } else { "NO" });
    println!();
    println!("engine metrics: {}", ctx.metrics());
    Ok(agree && rows.iter().all(|r| r.ok))
}

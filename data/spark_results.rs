//! Reader of `spark_results.json` (beside this file): what Spark 4.3.0 computes on the sample
//! data, the one table that the demo, the tests and the examples compare against.
//!
//! Not part of any library: each reader includes this file with
//! `#[path = ".../data/spark_results.rs"] mod spark_results;` and needs `serde_json`.

#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::Value;

/// The table's text, compiled in.
pub const JSON: &str = include_str!("spark_results.json");

/// The parsed table (the whole file).
pub fn table() -> &'static Value {
    static TABLE: OnceLock<Value> = OnceLock::new();
    TABLE.get_or_init(|| serde_json::from_str(JSON).expect("data/spark_results.json parses"))
}

/// The entry `key` of `results`, e.g. `"graphx.followers.static_page_rank_20"`.
pub fn entry(key: &str) -> &'static Value {
    let e = &table()["results"][key];
    assert!(e.is_object(), "data/spark_results.json has no entry {key}");
    e
}

/// The keys of every entry.
pub fn keys() -> Vec<&'static str> {
    table()["results"]
        .as_object()
        .expect("results is an object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn value(key: &str, name: &str) -> &'static Value {
    let v = &entry(key)["values"][name];
    assert!(
        !v.is_null(),
        "data/spark_results.json: {key} has no value {name}"
    );
    v
}

/// The number `values.name` of entry `key`.
pub fn f64_of(key: &str, name: &str) -> f64 {
    value(key, name)
        .as_f64()
        .unwrap_or_else(|| panic!("{key}.{name} is not a number"))
}

/// The whole number `values.name` of entry `key`.
pub fn u64_of(key: &str, name: &str) -> u64 {
    value(key, name)
        .as_u64()
        .unwrap_or_else(|| panic!("{key}.{name} is not a whole number"))
}

/// The vectors `values.name` of entry `key` (e.g. k-means centers).
pub fn vectors(key: &str, name: &str) -> Vec<Vec<f64>> {
    let rows = value(key, name).as_array().expect("an array of vectors");
    rows.iter()
        .map(|r| {
            r.as_array()
                .expect("a vector")
                .iter()
                .map(|x| x.as_f64().expect("a number"))
                .collect()
        })
        .collect()
}

/// The tolerance (absolute) of entry `key`; 0 where the comparison is exact.
pub fn tolerance(key: &str) -> f64 {
    entry(key)["tolerance"].as_f64().unwrap_or(0.0)
}

/// The per-vertex values of entry `key`, sorted by vertex id.
pub fn vertex_values(key: &str) -> Vec<(u64, f64)> {
    vertex_map(key, |v| v.as_f64())
}

/// The per-vertex labels (whole numbers) of entry `key`, sorted by vertex id.
pub fn vertex_labels(key: &str) -> Vec<(u64, u64)> {
    vertex_map(key, |v| v.as_u64())
}

fn vertex_map<T>(key: &str, get: impl Fn(&Value) -> Option<T>) -> Vec<(u64, T)> {
    let values = entry(key)["values"]
        .as_object()
        .expect("values is an object");
    let mut out: Vec<(u64, T)> = values
        .iter()
        .map(|(id, v)| {
            let id = id.parse().expect("vertex ids are whole numbers");
            (id, get(v).unwrap_or_else(|| panic!("{key}: vertex {id}")))
        })
        .collect();
    out.sort_by_key(|p| p.0);
    out
}

/// Entry keys, named once for every reader.
pub mod key {
    /// GraphX `staticPageRank(20)` on followers.txt.
    pub const FOLLOWERS_PAGE_RANK: &str = "graphx.followers.static_page_rank_20";
    /// GraphX `connectedComponents()` on followers.txt.
    pub const FOLLOWERS_COMPONENTS: &str = "graphx.followers.connected_components";
    /// GraphX `staticPageRank(10)` on pagerank_data.txt.
    pub const PAGERANK_DATA_PAGE_RANK: &str = "graphx.pagerank_data.static_page_rank_10";
    /// KMeans(k = 2) on kmeans_data.txt.
    pub const KMEANS: &str = "mllib.kmeans.k2";
    /// L2 logistic regression on sample_libsvm_data.txt.
    pub const LOGISTIC_L2: &str = "mllib.logistic.l2";
    /// Elastic-net logistic regression on sample_libsvm_data.txt.
    pub const LOGISTIC_ELASTIC_NET: &str = "mllib.logistic.elastic_net";
    /// Multinomial logistic regression on sample_multiclass_classification_data.txt.
    pub const LOGISTIC_MULTINOMIAL: &str = "mllib.logistic.multinomial";
    /// ALS on sample_movielens_ratings.txt.
    pub const ALS: &str = "mllib.als.movielens";

    /// Every key above.
    pub const ALL: [&str; 8] = [
        FOLLOWERS_PAGE_RANK,
        FOLLOWERS_COMPONENTS,
        PAGERANK_DATA_PAGE_RANK,
        KMEANS,
        LOGISTIC_L2,
        LOGISTIC_ELASTIC_NET,
        LOGISTIC_MULTINOMIAL,
        ALS,
    ];
}

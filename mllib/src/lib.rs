//! # firesteel-mllib
//!
//! Machine learning on [`firesteel_core`] datasets, after Spark MLlib: k-means
//! ([`kmeans`]), logistic regression ([`logistic`]), alternating least squares ([`als`]),
//! evaluation metrics ([`evaluation`]), loaders ([`data`]) and seeded synthetic data
//! ([`datasets`]).
//!
//! Training data is cached as blocks: one `Arc<`[`InstanceBlock`]`>` record per block of
//! rows, holding contiguous ndarray matrices, so that reading a cached partition clones
//! pointers and the algorithms' inner loops are matrix products. Cross-partition sums go
//! through `tree_aggregate`. Parameters are checked before training (each rule has its own
//! [`MlError`] variant), and models save to versioned JSON ([`Model`]).
//!
//! ```
//! use firesteel_mllib::{data, kmeans::KMeans};
//!
//! firesteel_core::example(|ctx| {
//!     let x = ndarray::array![[0.0, 0.0], [0.1, 0.1], [9.0, 9.0], [9.1, 9.1]];
//!     let blocks = data::to_blocks(ctx, &x, &ndarray::Array1::zeros(4), None, 2, 1024);
//!     let model = KMeans::params(2).seed(1).fit(&blocks).unwrap();
//!     assert!((model.summary().training_cost - 0.02).abs() < 1e-9);
//! });
//! ```

pub mod als;
pub mod data;
pub mod datasets;
pub mod error;
pub mod evaluation;
pub mod kmeans;
pub mod logistic;
pub mod optim;
pub mod persist;
mod util;

pub use data::{InstanceBlock, LabeledPoint, LocalData, Rating};
pub use error::{MlError, Result};
/// The ndarray version this crate uses (re-exported for callers).
pub use ndarray;
pub use persist::Model;

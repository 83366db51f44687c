//! # firesteel-mllib
//!
//! Machine learning on [`firesteel_core`] datasets, after Spark MLlib: k-means
//! ([`kmeans`]), logistic regression ([`logistic`]), alternating least squares ([`als`]),
//! the traits they share ([`estimator`]), evaluation metrics ([`evaluation`]), loaders
//! ([`data`]), seeded synthetic data ([`datasets`]), the L-BFGS / OWL-QN optimizer
//! ([`optim`]), errors ([`error`]) and model files ([`persist`]).
//!
//! Training data is cached as blocks: one `Arc<`[`InstanceBlock`]`>` record per block of
//! rows, holding contiguous ndarray matrices, so that reading a cached partition clones
//! pointers and the algorithms' inner loops are matrix products. Cross-partition sums go
//! through `tree_aggregate`.
//!
//! The estimators follow linfa's shape ([`estimator`]): a params type with Spark's
//! defaults is checked once ([`ParamGuard`]; each rule has its own [`ParamError`] variant)
//! into validated params, which [`Fit`] a dataset into a [`Model`]; models [`Predict`]
//! one point or a dataset, report a [`TrainingSummary`], and save to versioned JSON.
//!
//! ```
//! use firesteel_mllib::{data, kmeans::KMeans, Fit, ParamGuard, Predict};
//!
//! firesteel_core::example(|ctx| {
//!     let x = ndarray::array![[0.0, 0.0], [0.1, 0.1], [9.0, 9.0], [9.1, 9.1]];
//!     let blocks = data::to_blocks(ctx, &x, &ndarray::Array1::zeros(4), None, 2, 1024);
//!     let params = KMeans::params(2).seed(1).check().unwrap();
//!     let model = params.fit(&blocks).unwrap();
//!     assert!((model.summary().training_cost - 0.02).abs() < 1e-9);
//!     let near = model.predict(ndarray::array![9.2, 9.0].view()).unwrap();
//!     assert_eq!(near, model.predict(x.row(3)).unwrap());
//! });
//! ```

pub mod als;
pub mod data;
pub mod datasets;
pub mod error;
pub mod estimator;
pub mod evaluation;
pub mod kmeans;
pub mod logistic;
pub mod optim;
pub mod persist;
mod util;

pub use data::{InstanceBlock, LabeledPoint, LocalData, Rating};
pub use error::{MlError, ParamError, Result};
pub use estimator::{Fit, ParamGuard, Predict, Progress, TrainingSummary};
/// The ndarray version this crate uses (re-exported for callers).
pub use ndarray;
pub use persist::Model;

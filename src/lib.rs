//! # Firesteel
//!
//! A partitioned in-memory dataset engine in the spirit of Apache Spark. This crate
//! re-exports the engine ([`core`]), the ML library ([`mllib`]), the graph library
//! ([`graphx`]) and discretized streams ([`streaming`]). It depends on nothing else: the `firesteel` command-line tool lives in the
//! `firesteel-cli` package (`cli/`), so a program that only wants datasets compiles no CLI.
//!
//! Features:
//! - `cluster`: cluster mode over timely-dataflow (`firesteel-core/cluster`), off by default.
//! - `postgres`: the PostgreSQL data source and sink, as `firesteel::connectors`
//!   (`firesteel-connectors` with its `postgres` feature), off by default.
//! - `parquet`: Parquet files as a data source and sink, as `firesteel::connectors`
//!   (`firesteel-connectors` with its `parquet` feature), off by default.
//! - `kafka`: the Kafka direct stream and reader, as `firesteel::streaming::kafka`
//!   (`firesteel-streaming` with its `kafka` feature, on librdkafka), off by default.
//!
//! ```
//! use firesteel::Context;
//!
//! let ctx = Context::local(2).unwrap();
//! let sum = ctx.parallelize((1..=10u64).collect(), 2).reduce(|a, b| a + b).unwrap();
//! assert_eq!(sum, 55);
//! ```

#[cfg(any(feature = "postgres", feature = "parquet"))]
pub use firesteel_connectors as connectors;
pub use firesteel_core as core;
/// serde, for the record types of your own datasets, with no dependency of your own: derive
/// through this path and tell serde where it is.
///
/// ```
/// use firesteel::serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// #[serde(crate = "firesteel::serde")]
/// struct Visit {
///     page: String,
///     seconds: u32,
/// }
///
/// firesteel::example(|ctx| {
///     let visits = vec![
///         Visit { page: "a".into(), seconds: 3 },
///         Visit { page: "b".into(), seconds: 5 },
///     ];
///     let total = ctx.parallelize(visits, 2).map(|v| v.seconds).reduce(|a, b| a + b);
///     assert_eq!(total.unwrap(), 8);
/// });
/// ```
pub use firesteel_core::serde;
pub use firesteel_core::{
    example, Context, ContextBuilder, Data, Dataset, Error, Result, StorageLevel,
};
pub use firesteel_graphx as graphx;
pub use firesteel_mllib as mllib;
pub use firesteel_streaming as streaming;

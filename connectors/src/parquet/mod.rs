//! Parquet files as a data source and sink, as Spark's `spark.read.parquet` and
//! `df.write.parquet` read and write them.
//!
//! - [`ParquetSource`] reads files (a path, a directory, a glob or a comma-separated
//!   list) in parallel, one partition per row group, decoding only the columns asked for.
//!   Records are serde types matched to columns by name
//!   ([`build`](ParquetSourceBuilder::build)), Arrow record batches ([`ArrowBatch`]),
//!   generic rows ([`Row`] of [`Value`]s) or numeric rows for machine learning,
//!   `(label, features)` or features alone, with the feature columns' names
//!   ([`build_labeled`](ParquetSourceBuilder::build_labeled)). [`read_parquet`] is the
//!   short form for serde records.
//! - [`ParquetSink`] and [`write_parquet`] write a dataset as a directory of part files
//!   `part-NNNNN.parquet`, one per partition, committed at once (a temporary directory,
//!   attempt files renamed, `_SUCCESS`, renamed to the output), with Spark's
//!   [`SaveMode`]s and snappy (the default), zstd or no
//!   [`Compression`].
//! - Errors: [`ParquetError`], one line naming the file and the column. Every file's
//!   footer is read and checked when a source is built, so a missing column, a column of
//!   the wrong type or a file that is not Parquet is reported before any job runs.
//!
//! The format is apache arrow-rs's `parquet` crate, re-exported as [`format`](mod@format), with its
//! Arrow crates as [`arrow`]; serde records convert through `serde_arrow`.
//!
//! ```
//! use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
//! use firesteel_core::Context;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
//! struct Point { label: f64, x: f64, y: i32, tag: Option<String> }
//!
//! let ctx = Context::local(2).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("points");
//! let points: Vec<Point> = (0..6)
//!     .map(|i| Point { label: (i % 2) as f64, x: i as f64 / 2.0, y: i, tag: None })
//!     .collect();
//! write_parquet(&ctx.parallelize(points.clone(), 3), &path, &ParquetWriteOptions::new())
//!     .unwrap();
//!
//! // Serde records: the columns named by the fields.
//! let source = ParquetSource::builder(&path).build::<Point>().unwrap();
//! assert_eq!(source.num_partitions(), 3);
//! assert_eq!(ctx.read_source(source).collect().unwrap(), points);
//!
//! // Numeric rows: the label, and every other numeric column as a feature.
//! let source = ParquetSource::builder(&path).build_labeled("label").unwrap();
//! assert_eq!(source.feature_names(), ["x", "y"]);
//! let first = ctx.read_source(source).first().unwrap();
//! assert_eq!(first, (0.0, vec![0.0, 0.0]));
//! ```

mod batch;
mod error;
mod sink;
mod source;
mod value;

pub use crate::SaveMode;
pub use ::parquet as format;
pub use batch::ArrowBatch;
pub use error::ParquetError;
pub use sink::{
    write_parquet, Compression, ParquetSink, ParquetWriteOptions, DEFAULT_ROW_GROUP_SIZE,
};
pub use source::{read_parquet, ParquetSource, ParquetSourceBuilder, DEFAULT_BATCH_SIZE};
pub use value::{Row, Value};

/// The Arrow crates of the records: [`array`](crate::parquet::arrow::array) (arrays and
/// [`RecordBatch`](arrow_array::RecordBatch)) and
/// [`schema`](crate::parquet::arrow::schema) (types, fields, schemas).
pub mod arrow {
    pub use arrow_array as array;
    pub use arrow_schema as schema;
}

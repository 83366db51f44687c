//! # Firesteel connectors
//!
//! Other systems as Firesteel datasets, through core's
//! [`DataSource`](firesteel_core::io::DataSource) and
//! [`DataSink`](firesteel_core::io::DataSink) seam.
//!
//! Modules:
//! - [`postgres`] (feature `postgres`, on by default): a PostgreSQL table or query read in
//!   parallel by ranges of a column, and a sink that writes a dataset into a table exactly
//!   once, as Spark's JDBC data source does.
//! - [`parquet`] (feature `parquet`, on by default): Parquet files read in parallel by row
//!   groups with column projection, as serde records, Arrow record batches, generic rows
//!   or numeric feature vectors, and datasets written as directories of part files
//!   committed at once, as Spark's `spark.read.parquet` and `df.write.parquet` do.
//! - [`SaveMode`]: what a sink does when its output exists, shared by both.

#[cfg(any(feature = "parquet", feature = "postgres"))]
mod job_id;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "postgres")]
pub mod postgres;
mod save_mode;

pub use save_mode::SaveMode;

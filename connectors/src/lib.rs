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

#[cfg(feature = "postgres")]
pub mod postgres;

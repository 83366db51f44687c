//! PostgreSQL as a data source and sink, as Spark's JDBC data source reads and writes it.
//!
//! - [`PgSource`] reads a table or a query in parallel by ranges of a partition column
//!   (integer, date or timestamp), with the WHERE clauses of Spark's
//!   `JDBCRelation.columnPartition` ([`column_partition`]); each partition is fetched
//!   through a cursor, [`fetch_size`](PgSourceBuilder::fetch_size) rows at a time.
//! - [`PgSink`] writes a dataset exactly once, however often tasks are retried: each task
//!   stages its partition in a table of its own, and the commit moves every staging table
//!   into the target in one transaction, with Spark's [`SaveMode`]s.
//! - Records: [`FromRow`] and [`ToRow`], implemented for tuples of driver types and for
//!   generic rows `Vec<`[`Value`]`>`; [`Date`] and [`Timestamp`] are serializable date and
//!   time values.
//! - Connections: [`PgConfig`] and the `postgres://` URL ([`PgUrl`]); the password comes
//!   from the URL, else `PGPASSWORD`, else `~/.pgpass` ([`pgpass_lookup`]).
//! - Errors: [`PgError`], one line naming the server and the table.
//!
//! The driver is the synchronous `postgres` crate (over tokio-postgres), re-exported as
//! [`client`].
//!
//! ```no_run
//! use firesteel_connectors::postgres::{PgSink, PgSource, SaveMode};
//! use firesteel_core::Context;
//!
//! let ctx = Context::local(4).unwrap();
//! let url = "postgres://app:pw@127.0.0.1:5432/shop";
//! let orders = ctx.read_source(
//!     PgSource::from_url(&format!("{url}?table=orders&partition_column=id&num_partitions=8"))
//!         .unwrap()
//!         .build::<(i64, f64)>()
//!         .unwrap(),
//! );
//! let big = orders.filter(|(_, amount)| *amount > 100.0);
//! let cfg = firesteel_connectors::postgres::PgUrl::parse(url).unwrap().config;
//! big.write_to(
//!     PgSink::builder(cfg, "big_orders")
//!         .columns([("id", "bigint"), ("amount", "double precision")])
//!         .mode(SaveMode::Overwrite)
//!         .build()
//!         .unwrap(),
//! )
//! .unwrap();
//! ```

mod config;
mod error;
mod partition;
mod row;
mod sink;
mod source;

pub use ::postgres as client;
pub use ::postgres::types::{FromSql, ToSql};
pub use ::postgres::Row;
pub use config::{pgpass_lookup, PgConfig, PgUrl};
pub use error::PgError;
pub use partition::{column_partition, ColumnKind, MAX_PARTITIONS};
pub use row::{BoxError, Date, FromRow, Timestamp, ToRow, Value};
pub use sink::{PgSink, PgSinkBuilder, SaveMode};
pub use source::{PgSource, PgSourceBuilder, DEFAULT_FETCH_SIZE};

//! [`PgSink`]: a dataset written into a table exactly once, with Spark's save modes.
//!
//! See [`PgSink`] for how a retried task never duplicates rows.

use crate::job_id::random_job_id;
use std::sync::atomic::{AtomicBool, Ordering};

use ::postgres::binary_copy::BinaryCopyInWriter;
use ::postgres::types::Type;
use firesteel_core::io::DataSink;
use firesteel_core::Records;

use super::config::PgConfig;
use super::error::{classify, PgError};
use super::row::{BoxError, ToRow};
use super::source::quote_ident;
pub use crate::SaveMode;

/// Options of a [`PgSink`].
///
/// ```
/// use firesteel_connectors::postgres::{PgConfig, PgSink, SaveMode};
///
/// let cfg = PgConfig::new("127.0.0.1", 5432, "app", "shop");
/// let sink = PgSink::<(i64, String)>::builder(cfg, "people")
///     .columns([("id", "bigint PRIMARY KEY"), ("name", "text")])
///     .mode(SaveMode::Overwrite)
///     .build()
///     .unwrap();
/// assert_eq!(sink.table(), "people");
/// ```
#[derive(Debug, Clone)]
pub struct PgSinkBuilder<T> {
    config: PgConfig,
    table: String,
    columns: Vec<(String, String)>,
    mode: SaveMode,
    truncate: bool,
    job_id: Option<String>,
    _records: std::marker::PhantomData<fn(T)>,
}

impl<T> PgSinkBuilder<T> {
    /// The table's columns, as `(name, SQL type)`, in the order of the records' values:
    /// what the sink creates the table with and names in its `COPY`. Without them, the
    /// table must exist and records give all its columns in order.
    pub fn columns<N: Into<String>, S: Into<String>>(
        mut self,
        columns: impl IntoIterator<Item = (N, S)>,
    ) -> Self {
        self.columns = columns
            .into_iter()
            .map(|(n, t)| (n.into(), t.into()))
            .collect();
        self
    }

    /// The save mode ([`SaveMode::ErrorIfExists`] by default).
    pub fn mode(mut self, mode: SaveMode) -> Self {
        self.mode = mode;
        self
    }

    /// With [`SaveMode::Overwrite`], truncate the existing table instead of dropping and
    /// creating it (keeps its indexes, constraints and grants; Spark's `truncate`).
    pub fn truncate(mut self, truncate: bool) -> Self {
        self.truncate = truncate;
        self
    }

    /// The id that names the staging tables (lower-case letters, digits and `_`, at most
    /// 32): random by default; give every process the same one in cluster mode.
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.job_id = Some(id.into());
        self
    }

    /// Checks the options and builds the sink (nothing is connected yet).
    pub fn build(self) -> Result<PgSink<T>, PgError> {
        let job = match self.job_id {
            Some(j) => {
                let ok = !j.is_empty()
                    && j.len() <= 32
                    && j.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !ok {
                    return Err(PgError::InvalidOption(format!(
                        "job id {j:?} must be 1 to 32 lower-case letters, digits or _"
                    )));
                }
                j
            }
            None => random_job_id(),
        };
        if self.table.trim().is_empty() {
            return Err(PgError::InvalidOption("no table to write".into()));
        }
        Ok(PgSink {
            config: self.config,
            table: self.table,
            columns: self.columns,
            mode: self.mode,
            truncate: self.truncate,
            job,
            skip: AtomicBool::new(false),
            _records: std::marker::PhantomData,
        })
    }
}

/// A PostgreSQL table as a [`DataSink`], written exactly once however often tasks are
/// retried, with Spark's save modes.
///
/// # Exactly once: how a retried task never duplicates rows
///
/// Each task writes its partition into a staging table of its own,
/// `firesteel_stg_<job>_<partition>` (an `UNLOGGED` table in the session's current
/// schema), in one transaction that drops any staging table of an earlier attempt of the
/// same partition, creates it afresh and fills it with `COPY ... FROM STDIN BINARY`. A
/// failed attempt leaves either nothing or a complete staging table of its own that the
/// next attempt replaces atomically; an attempt that saw its input end early (an upstream
/// error) fails its task after writing, and its retry replaces what it wrote.
///
/// [`commit`](DataSink::commit) runs once every partition is written: in one transaction
/// it applies the save mode (create, drop or truncate the target), moves every staging
/// table's rows into the target with `INSERT ... SELECT`, and drops the staging tables.
/// Readers see the table before or after the whole write, never part of it.
/// [`abort`](DataSink::abort) drops the job's staging tables. (One gap remains, as in
/// any two-phase write without a transaction log: if the connection drops after the
/// server commits but before it says so, the commit task fails and its retry finds no
/// staging tables; the rows are in the table once, but the job reports a failure.)
///
/// The job id is random per sink; in cluster mode, where every process builds the sink,
/// give them all the same one with [`PgSinkBuilder::job_id`].
///
/// # Example
///
/// ```no_run
/// use firesteel_connectors::postgres::{PgConfig, PgSink, SaveMode};
/// use firesteel_core::Context;
///
/// let ctx = Context::local(4).unwrap();
/// let people = ctx.parallelize(vec![(1i64, "ann".to_string()), (2, "bob".to_string())], 2);
/// let cfg = PgConfig::new("127.0.0.1", 5432, "app", "shop").password("pw");
/// let sink = PgSink::builder(cfg, "people")
///     .columns([("id", "bigint"), ("name", "text")])
///     .mode(SaveMode::Append)
///     .build()
///     .unwrap();
/// people.write_to(sink).unwrap();
/// ```
pub struct PgSink<T> {
    config: PgConfig,
    table: String,
    columns: Vec<(String, String)>,
    mode: SaveMode,
    truncate: bool,
    job: String,
    /// Set by `prepare` when the mode is `Ignore` and the table exists.
    skip: AtomicBool,
    _records: std::marker::PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for PgSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSink")
            .field("server", &self.config.server())
            .field("table", &self.table)
            .field("columns", &self.columns)
            .field("mode", &self.mode)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl<T> PgSink<T> {
    /// A builder for a sink writing `table` (SQL naming a table, such as `people`,
    /// `shop.people` or `"People"`) on the server of `config`.
    pub fn builder(config: PgConfig, table: impl Into<String>) -> PgSinkBuilder<T> {
        PgSinkBuilder {
            config,
            table: table.into(),
            columns: Vec::new(),
            mode: SaveMode::default(),
            truncate: false,
            job_id: None,
            _records: std::marker::PhantomData,
        }
    }

    /// The target table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The job id that names the staging tables.
    pub fn job_id(&self) -> &str {
        &self.job
    }

    /// The staging table of a partition.
    pub fn staging_table(&self, partition: usize) -> String {
        format!("firesteel_stg_{}_{partition}", self.job)
    }

    fn connect(&self) -> Result<::postgres::Client, PgError> {
        self.config
            .connect()
            .map_err(|e| e.context(&format!("writing table {}", self.table)))
    }

    fn err(&self, e: ::postgres::Error, doing: &str) -> PgError {
        classify(
            &e,
            &self.config.server(),
            Some(&self.table),
            &format!("table {}, {doing}", self.table),
        )
    }

    fn exists(&self, client: &mut impl ::postgres::GenericClient) -> Result<bool, PgError> {
        let row = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.table])
            .map_err(|e| self.err(e, "checking whether it exists"))?;
        Ok(row.get(0))
    }

    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(n, _)| quote_ident(n))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn column_defs(&self) -> String {
        self.columns
            .iter()
            .map(|(n, t)| format!("{} {t}", quote_ident(n)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn create_target(&self, tx: &mut ::postgres::Transaction<'_>) -> Result<(), PgError> {
        if self.columns.is_empty() {
            return Err(PgError::NoSuchTable {
                server: self.config.server(),
                table: self.table.clone(),
            });
        }
        tx.batch_execute(&format!(
            "CREATE TABLE {} ({})",
            self.table,
            self.column_defs()
        ))
        .map_err(|e| self.err(e, "creating it"))
    }

    fn write(&self, partition: usize, records: &mut dyn Iterator<Item = T>) -> Result<u64, PgError>
    where
        T: ToRow,
    {
        let doing = format!("writing partition {partition}");
        let mut client = self.connect()?;
        let mut tx = client.transaction().map_err(|e| self.err(e, &doing))?;
        let stg = self.staging_table(partition);
        let create = if self.columns.is_empty() {
            format!("CREATE UNLOGGED TABLE {stg} (LIKE {})", self.table)
        } else {
            format!("CREATE UNLOGGED TABLE {stg} ({})", self.column_defs())
        };
        // Replaces what an earlier attempt of this partition staged, atomically.
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {stg}; {create}"))
            .map_err(|e| self.err(e, &doing))?;
        let types: Vec<Type> = tx
            .prepare(&format!("SELECT * FROM {stg}"))
            .map_err(|e| self.err(e, &doing))?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let copy = tx
            .copy_in(&format!("COPY {stg} FROM STDIN (FORMAT binary)"))
            .map_err(|e| self.err(e, &doing))?;
        let mut writer = BinaryCopyInWriter::new(copy, &types);
        let mut n = 0u64;
        for record in records {
            n += 1;
            let mut put =
                |values: &[&(dyn ::postgres::types::ToSql + Sync)]| -> Result<(), BoxError> {
                    if values.len() != types.len() {
                        return Err(format!(
                            "the record has {} value(s), the table {} column(s)",
                            values.len(),
                            types.len()
                        )
                        .into());
                    }
                    writer.write(values).map_err(|e| e.into())
                };
            record.to_row(&mut put).map_err(|e| PgError::Query {
                server: self.config.server(),
                what: format!("table {}, {doing}", self.table),
                message: format!(
                    "record {n}: {}",
                    match e.downcast_ref::<::postgres::Error>() {
                        Some(pe) => super::error::one_line(pe),
                        None => e.to_string().replace('\n', " "),
                    }
                ),
            })?;
        }
        writer.finish().map_err(|e| self.err(e, &doing))?;
        tx.commit().map_err(|e| self.err(e, &doing))?;
        Ok(n)
    }

    fn commit_all(&self, num_partitions: usize) -> Result<(), PgError> {
        let mut client = self.connect()?;
        let mut tx = client
            .transaction()
            .map_err(|e| self.err(e, "committing"))?;
        let exists = self.exists(&mut tx)?;
        let skip = self.skip.load(Ordering::SeqCst);
        match (self.mode, exists) {
            (SaveMode::Ignore, true) => {
                self.drop_staging(&mut tx, num_partitions)?;
                return tx.commit().map_err(|e| self.err(e, "committing"));
            }
            (SaveMode::ErrorIfExists, true) => {
                return Err(PgError::TableExists {
                    server: self.config.server(),
                    table: self.table.clone(),
                })
            }
            (SaveMode::Overwrite, true) => {
                if self.truncate || self.columns.is_empty() {
                    tx.batch_execute(&format!("TRUNCATE TABLE {}", self.table))
                        .map_err(|e| self.err(e, "truncating it"))?;
                } else {
                    tx.batch_execute(&format!("DROP TABLE {}", self.table))
                        .map_err(|e| self.err(e, "dropping it"))?;
                    self.create_target(&mut tx)?;
                }
            }
            (SaveMode::Append, true) => {}
            (_, false) => {
                if skip {
                    // Ignore decided to write nothing, but the table went away since.
                    return Ok(());
                }
                self.create_target(&mut tx)?;
            }
        }
        let cols = if self.columns.is_empty() {
            "*".to_string()
        } else {
            self.column_list()
        };
        let into = if self.columns.is_empty() {
            String::new()
        } else {
            format!(" ({cols})")
        };
        for p in 0..num_partitions {
            let stg = self.staging_table(p);
            tx.batch_execute(&format!(
                "INSERT INTO {}{into} SELECT {cols} FROM {stg}; DROP TABLE {stg}",
                self.table
            ))
            .map_err(|e| self.err(e, &format!("moving partition {p}'s rows from {stg}")))?;
        }
        tx.commit().map_err(|e| self.err(e, "committing"))
    }

    fn drop_staging(
        &self,
        client: &mut impl ::postgres::GenericClient,
        num_partitions: usize,
    ) -> Result<(), PgError> {
        let _ = num_partitions;
        let pattern = format!("firesteel\\_stg\\_{}\\_%", self.job.replace('_', "\\_"));
        let rows = client
            .query(
                "SELECT quote_ident(tablename) FROM pg_tables \
                 WHERE schemaname = current_schema() AND tablename LIKE $1",
                &[&pattern],
            )
            .map_err(|e| self.err(e, "listing the staging tables"))?;
        for r in rows {
            let name: String = r.get(0);
            client
                .batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
                .map_err(|e| self.err(e, "dropping a staging table"))?;
        }
        Ok(())
    }
}

impl<T: ToRow + Clone + Send + Sync + 'static> DataSink<T> for PgSink<T> {
    fn prepare(&self, _num_partitions: usize) -> firesteel_core::Result<()> {
        let mut client = self.connect()?;
        let exists = self.exists(&mut client)?;
        match (self.mode, exists) {
            (SaveMode::ErrorIfExists, true) => Err(PgError::TableExists {
                server: self.config.server(),
                table: self.table.clone(),
            }
            .into()),
            (SaveMode::Ignore, true) => {
                self.skip.store(true, Ordering::SeqCst);
                Ok(())
            }
            (_, false) if self.columns.is_empty() => Err(PgError::Query {
                server: self.config.server(),
                what: format!("table {}", self.table),
                message: "the table does not exist and no columns were given to create it".into(),
            }
            .into()),
            _ => Ok(()),
        }
    }

    fn write_partition(
        &self,
        partition: usize,
        _attempt: usize,
        records: &mut Records<T>,
    ) -> firesteel_core::Result<()> {
        if self.skip.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.write(partition, records)?;
        Ok(())
    }

    fn commit(&self, num_partitions: usize) -> firesteel_core::Result<()> {
        Ok(self.commit_all(num_partitions)?)
    }

    fn abort(&self) {
        if let Ok(mut client) = self.config.connect() {
            let _ = self.drop_staging(&mut client, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids() {
        let cfg = PgConfig::new("h", 1, "u", "d");
        let a = PgSink::<(i64,)>::builder(cfg.clone(), "t").build().unwrap();
        let b = PgSink::<(i64,)>::builder(cfg.clone(), "t").build().unwrap();
        assert_ne!(a.job_id(), b.job_id());
        assert_eq!(a.job_id().len(), 16);
        assert_eq!(
            a.staging_table(3),
            format!("firesteel_stg_{}_3", a.job_id())
        );
        let c = PgSink::<(i64,)>::builder(cfg.clone(), "t")
            .job_id("nightly_7")
            .build()
            .unwrap();
        assert_eq!(c.staging_table(0), "firesteel_stg_nightly_7_0");
        for bad in ["", "Caps", "semi;colon", &"x".repeat(33)] {
            let e = PgSink::<(i64,)>::builder(cfg.clone(), "t")
                .job_id(bad)
                .build();
            assert!(e.is_err(), "{bad}");
        }
        assert!(PgSink::<(i64,)>::builder(cfg, " ").build().is_err());
    }
}

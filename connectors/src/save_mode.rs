//! [`SaveMode`]: what a sink does when its output (a table, a directory) already exists.

/// What a sink does when its output already exists, as Spark's `SaveMode`: a PostgreSQL
/// table for [`PgSink`](crate::postgres::PgSink), a directory for
/// [`ParquetSink`](crate::parquet::ParquetSink).
///
/// ```
/// use firesteel_connectors::SaveMode;
///
/// assert_eq!(SaveMode::default(), SaveMode::ErrorIfExists);
/// assert_eq!("overwrite".parse::<SaveMode>().unwrap(), SaveMode::Overwrite);
/// assert_eq!(SaveMode::Append.to_string(), "append");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum SaveMode {
    /// Fail (the default): the output already exists.
    #[default]
    ErrorIfExists,
    /// Add the records to the existing output (rows to the table, part files to the
    /// directory).
    Append,
    /// Replace the existing output. A table is dropped and created again from the sink's
    /// columns (or truncated, with
    /// [`PgSinkBuilder::truncate`](crate::postgres::PgSinkBuilder::truncate) or without
    /// columns) in the same transaction that inserts the new rows; a directory is
    /// replaced only once every part file is written.
    Overwrite,
    /// Leave the existing output as it is and write nothing.
    Ignore,
}

impl std::fmt::Display for SaveMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SaveMode::ErrorIfExists => "errorifexists",
            SaveMode::Append => "append",
            SaveMode::Overwrite => "overwrite",
            SaveMode::Ignore => "ignore",
        })
    }
}

impl std::str::FromStr for SaveMode {
    type Err = String;

    /// Spark's names, in any case: `errorifexists` (or `error`, `default`), `append`,
    /// `overwrite`, `ignore`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "errorifexists" | "error" | "default" => Ok(SaveMode::ErrorIfExists),
            "append" => Ok(SaveMode::Append),
            "overwrite" => Ok(SaveMode::Overwrite),
            "ignore" => Ok(SaveMode::Ignore),
            _ => Err(format!(
                "unknown save mode {s:?} (errorifexists, append, overwrite or ignore)"
            )),
        }
    }
}

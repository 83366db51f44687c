//! [`ParquetError`]: what went wrong, in one line that names the file (and the column).

use std::path::PathBuf;

/// An error of the Parquet source or sink. Every message is one line and names the file
/// or directory and, for a schema mismatch, the column.
///
/// Inside tasks it becomes a [`firesteel_core::Error`] through `From`: a file that cannot
/// be opened or written is retried as any task failure; a schema mismatch, a corrupt file
/// or a value that does not fit its field is
/// [`Error::Unrecoverable`](firesteel_core::Error::Unrecoverable) and fails the job at once.
///
/// ```
/// use firesteel_connectors::parquet::ParquetError;
///
/// let e = ParquetError::MissingColumn {
///     path: "data/points.parquet".into(),
///     column: "label".into(),
///     available: "x, y".into(),
/// };
/// assert_eq!(
///     e.to_string(),
///     "data/points.parquet: no column \"label\" (the file has x, y)"
/// );
/// let core: firesteel_core::Error = e.into();
/// assert!(!core.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParquetError {
    /// A file or directory could not be opened, read, written or renamed.
    #[error("{op} {path}: {message}")]
    Io {
        /// What was being done (`"reading"`, `"writing"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The input path names no file (a missing path, a glob that matches nothing).
    #[error("{0}")]
    NoInput(String),
    /// A file is not a Parquet file, or is truncated or corrupt.
    #[error("{path}: not a valid Parquet file: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader said.
        message: String,
    },
    /// A column that was asked for (or that a field of the records needs) is not in a
    /// file.
    #[error("{path}: no column {column:?} (the file has {available})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The file's columns, comma-separated.
        available: String,
    },
    /// A column's type cannot become the field (or value) it is read into.
    #[error("{path}: column {column:?} is {found}, which cannot be read as {expected}")]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The column's Arrow type.
        found: String,
        /// What it was to be read as.
        expected: String,
    },
    /// Values of a row group could not be decoded or converted (a corrupt page, a null in
    /// a field that is not an `Option`, a number out of range).
    #[error("{path}, row group {row_group}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The row group (the partition's split).
        row_group: usize,
        /// The cause.
        message: String,
    },
    /// Records could not be converted to Arrow and written.
    #[error("writing {path}: {message}")]
    Encode {
        /// The part file or directory.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The output directory exists and the save mode is
    /// [`ErrorIfExists`](crate::SaveMode::ErrorIfExists).
    #[error("output path {0} already exists (save mode ErrorIfExists)")]
    OutputExists(PathBuf),
    /// In [`Append`](crate::SaveMode::Append) mode, the records' schema differs from the
    /// existing part files'.
    #[error(
        "{path}: cannot append: column {column:?} is {existing} there but {new} in the records"
    )]
    AppendMismatch {
        /// The existing part file compared with.
        path: PathBuf,
        /// The first column that differs.
        column: String,
        /// The column in the existing file (`missing` where there is none).
        existing: String,
        /// The column in the records (`missing` where there is none).
        new: String,
    },
    /// An option or a record type is invalid.
    #[error("parquet: {0}")]
    InvalidOption(String),
}

impl From<ParquetError> for firesteel_core::Error {
    fn from(e: ParquetError) -> Self {
        use firesteel_core::Error;
        match e {
            ParquetError::Io { .. } => Error::TaskFailed(e.to_string()),
            ParquetError::NoInput(_) | ParquetError::InvalidOption(_) => {
                Error::InvalidArgument(e.to_string())
            }
            ParquetError::OutputExists(path) => Error::OutputExists(path),
            e => Error::Unrecoverable(e.to_string()),
        }
    }
}

/// An error and its causes on one line, joined by `": "`.
pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cause = c.source();
    }
    let s = s.replace('\n', " ");
    // serde_arrow's messages start with "Error: ".
    s.strip_prefix("Error: ").map(str::to_string).unwrap_or(s)
}

pub(crate) fn io_error(
    op: &'static str,
    path: impl Into<PathBuf>,
    e: std::io::Error,
) -> ParquetError {
    ParquetError::Io {
        op,
        path: path.into(),
        message: one_line(&e),
    }
}

//! What a record reader does with a malformed line: Spark's parse modes, and records read
//! with their corrupt lines kept aside.

use serde::{Deserialize, Serialize};

/// What [`read_csv`](crate::Context::read_csv) and [`read_json`](crate::Context::read_json)
/// do with a line that is not a well-formed record, as Spark's `mode` option of
/// `DataFrameReader.csv` and `.json`.
///
/// Spark's `PERMISSIVE` mode sets the fields that do not parse to null and keeps the line
/// in a `_corrupt_record` column. A typed Rust record has a null only where its field is an
/// `Option`, so here:
/// - [`Permissive`](ParseMode::Permissive) sets the bad fields of a record to `None` (each
///   reader says which fields it can tell apart) and fails the job, as
///   [`FailFast`](ParseMode::FailFast) does, for a line whose record cannot hold its bad
///   fields as `None`;
/// - the line itself is kept aside only by the `_with_corrupt` readers
///   ([`read_csv_with_corrupt`](crate::Context::read_csv_with_corrupt),
///   [`read_json_with_corrupt`](crate::Context::read_json_with_corrupt)), which yield
///   [`Parsed`] records whatever the mode.
///
/// ```
/// use firesteel_core::io::ParseMode;
///
/// assert_eq!(ParseMode::default(), ParseMode::Permissive);
/// assert_eq!(ParseMode::from_name("dropMalformed"), Some(ParseMode::DropMalformed));
/// assert_eq!(ParseMode::from_name("FAILFAST"), Some(ParseMode::FailFast));
/// assert_eq!(ParseMode::from_name("lenient"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ParseMode {
    /// Spark's `PERMISSIVE`, the default: bad fields become `None`.
    #[default]
    Permissive,
    /// Spark's `DROPMALFORMED`: malformed lines are skipped.
    DropMalformed,
    /// Spark's `FAILFAST`: the first malformed line fails the job with
    /// [`Error::Parse`](crate::Error::Parse) naming `path:line` (no retries).
    FailFast,
}

impl ParseMode {
    /// The mode with Spark's name (`PERMISSIVE`, `DROPMALFORMED`, `FAILFAST`),
    /// case-insensitively.
    pub fn from_name(name: &str) -> Option<ParseMode> {
        match name.to_ascii_uppercase().as_str() {
            "PERMISSIVE" => Some(ParseMode::Permissive),
            "DROPMALFORMED" => Some(ParseMode::DropMalformed),
            "FAILFAST" => Some(ParseMode::FailFast),
            _ => None,
        }
    }
}

/// A line read as a record, or kept aside as corrupt: what Spark's `PERMISSIVE` mode
/// with a `_corrupt_record` column gives, as a Rust enum.
///
/// ```
/// use firesteel_core::io::{CorruptRecord, Parsed};
///
/// let good: Parsed<u32> = Parsed::Record(7);
/// assert_eq!(good.clone().ok(), Some(7));
/// let bad: Parsed<u32> = Parsed::Corrupt(CorruptRecord {
///     path: "in.csv".into(),
///     line: 3,
///     text: "x".into(),
///     error: "invalid digit found in string".into(),
/// });
/// assert_eq!(bad.corrupt().map(|c| c.line), Some(3));
/// assert!(bad.into_result().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Parsed<T> {
    /// A well-formed record.
    Record(T),
    /// A line that is not one.
    Corrupt(CorruptRecord),
}

impl<T> Parsed<T> {
    /// The record, if the line was well-formed.
    pub fn ok(self) -> Option<T> {
        match self {
            Parsed::Record(t) => Some(t),
            Parsed::Corrupt(_) => None,
        }
    }

    /// The corrupt line, if it was one.
    pub fn corrupt(&self) -> Option<&CorruptRecord> {
        match self {
            Parsed::Record(_) => None,
            Parsed::Corrupt(c) => Some(c),
        }
    }

    /// The record, or the corrupt line as an error.
    pub fn into_result(self) -> std::result::Result<T, CorruptRecord> {
        match self {
            Parsed::Record(t) => Ok(t),
            Parsed::Corrupt(c) => Err(c),
        }
    }
}

/// A line that did not parse as a record: Spark's `_corrupt_record`, with where it came
/// from and why it did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CorruptRecord {
    /// The file, as the input path named it.
    pub path: String,
    /// The 1-based line number.
    pub line: u64,
    /// The line, without its terminator.
    pub text: String,
    /// Why it did not parse.
    pub error: String,
}

impl CorruptRecord {
    #[cfg_attr(not(any(feature = "csv", feature = "json")), allow(dead_code))]
    pub(crate) fn new(origin: &super::LineOrigin<'_>, text: &str, error: String) -> Self {
        CorruptRecord {
            path: origin.path().display().to_string(),
            line: origin.line(),
            text: text.to_owned(),
            error,
        }
    }
}

//! CSV files, as Spark's `DataFrameReader.csv` and `DataFrameWriter.csv` read and write
//! them, into and from typed serde records (the `csv` feature).
//!
//! Reading is line-based, as Spark's default `multiLine = false`: each line is one record,
//! split into fields as Spark's parser splits it and deserialized by the `csv` crate's
//! serde deserializer inside the tasks of
//! [`Context::parse_text_file`], so files are read in parallel over byte splits, compressed
//! ones decompressed, and every error names `path:line`. The splitter and the record's
//! field buffer are kept per thread and reused from line to line, so a line allocates only
//! what its record itself holds.
//!
//! Writing goes through the part-file committer of `save_as_text_file`, one `part-NNNNN.csv`
//! per partition, with the header (if asked for) at the top of each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::StringRecord;
use serde::de::DeserializeOwned;

use super::codec::open_decoded;
use super::fields::{Row, Shape};
use super::parse_mode::{CorruptRecord, ParseMode, Parsed};
use super::{excerpt, resolve_inputs, Codec, LineOrigin};
use crate::error::{Error, Result};
use crate::{Context, Data, Dataset};

/// How [`Context::read_csv`] reads CSV files: Spark's CSV data source options, with
/// Spark's defaults (`Default`) and snake_case names.
///
/// | option | Spark's | default |
/// | --- | --- | --- |
/// | [`header`](Self::header) | `header` | `false` |
/// | [`delimiter`](Self::delimiter) ([`sep`](Self::sep)) | `sep`, `delimiter` | `,` |
/// | [`quote`](Self::quote) | `quote` | `"` |
/// | [`escape`](Self::escape) | `escape` | `\` |
/// | [`comment`](Self::comment) | `comment` | none |
/// | [`null_value`](Self::null_value) | `nullValue` | empty |
/// | [`ignore_leading_white_space`](Self::ignore_leading_white_space) | `ignoreLeadingWhiteSpace` | `false` |
/// | [`ignore_trailing_white_space`](Self::ignore_trailing_white_space) | `ignoreTrailingWhiteSpace` | `false` |
/// | [`mode`](Self::mode) | `mode` | [`ParseMode::Permissive`] |
///
/// Escapes: inside quotes, an escaped quote (`\"`) and a doubled quote (`""`, RFC 4180)
/// are each one quote, whatever the escape character, and an escaped escape (`\\`) is one
/// escape character; an escape before any other character, or outside quotes, is kept
/// (`"C:\temp"` reads as `C:\temp`), as Spark's parser keeps it.
///
/// Differences from Spark:
/// - the delimiter, quote, escape and comment characters must be ASCII, and files UTF-8
///   (no `encoding`);
/// - one record per line: no `multiLine`, so a quoted field cannot span lines;
/// - no `inferSchema` or `schema`: the record type `T` is the schema;
/// - an empty field, quoted or not, is `None` for an `Option` field (Spark reads `""` as an
///   empty string, its `emptyValue`), and an empty string for a `String` field.
///
/// ```
/// use firesteel_core::io::{CsvOptions, ParseMode};
///
/// let opts = CsvOptions::new().header(true).sep(';').mode(ParseMode::FailFast);
/// assert!(opts.has_header());
/// assert_eq!(opts.get_delimiter(), ';');
/// assert_eq!(CsvOptions::default().get_mode(), ParseMode::Permissive);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    header: bool,
    delimiter: char,
    quote: char,
    escape: char,
    comment: Option<char>,
    null_value: String,
    ignore_leading_white_space: bool,
    ignore_trailing_white_space: bool,
    mode: ParseMode,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: false,
            delimiter: ',',
            quote: '"',
            escape: '\\',
            comment: None,
            null_value: String::new(),
            ignore_leading_white_space: false,
            ignore_trailing_white_space: false,
            mode: ParseMode::Permissive,
        }
    }
}

impl CsvOptions {
    /// Spark's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the first line of each file is a header (Spark's `header`). The header of
    /// the first file names the columns, and a struct record's fields are matched to them
    /// by name, so the columns may come in any order and a column the struct lacks is
    /// ignored; a field with no column is `None` if it is an `Option`, and otherwise makes
    /// every line malformed. Names match case-insensitively where they do not match
    /// exactly, as in Spark. Spark, given a schema, matches columns by position unless
    /// `enforceSchema` is off. The header is the first line of a file that is neither
    /// blank nor a comment, as Spark finds it.
    ///
    /// ```
    /// use firesteel_core::io::CsvOptions;
    ///
    /// #[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
    /// struct City {
    ///     name: String,
    ///     population: Option<u64>,
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// std::fs::write(dir.path().join("a.csv"), "Population,country,Name\n2100000,FR,Paris\n").unwrap();
    /// std::fs::write(dir.path().join("b.csv"), "Population,country,Name\n,DE,Bonn\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let opts = CsvOptions::new().header(true);
    /// let cities = ctx.read_csv::<City>(dir.path(), 2, &opts).unwrap().collect().unwrap();
    /// let city = |name: &str, population| City { name: name.into(), population };
    /// assert_eq!(cities, [city("Paris", Some(2_100_000)), city("Bonn", None)]);
    /// ```
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The field delimiter (Spark's `sep`, or `delimiter`), `,` by default.
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The field delimiter, as [`delimiter`](Self::delimiter): Spark's other name for it.
    pub fn sep(self, sep: char) -> Self {
        self.delimiter(sep)
    }

    /// The quote character, `"` by default: a delimiter inside quotes is part of the field.
    pub fn quote(mut self, quote: char) -> Self {
        self.quote = quote;
        self
    }

    /// The character that escapes a quote inside quotes, `\` by default (as Spark). Set it
    /// to the quote character for RFC 4180 files only; doubled quotes are read in any case.
    ///
    /// ```
    /// use firesteel_core::io::CsvOptions;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("paths.csv");
    /// let lines = [r#""C:\tmp","say \"hi\"","say ""hi""""#, r#""dir\",x"#];
    /// std::fs::write(&path, lines.join("\n")).unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let read = |opts: &CsvOptions| ctx.read_csv::<Vec<String>>(&path, 1, opts).unwrap().collect().unwrap();
    /// // Spark's default: `\"` and `""` are quotes, other backslashes are kept.
    /// let spark = read(&CsvOptions::new());
    /// assert_eq!(spark[0], [r"C:\tmp", r#"say "hi""#, r#"say "hi""#]);
    /// assert_eq!(spark[1], [r#"dir",x"#]);
    /// // RFC 4180: only `""` is a quote, and a backslash may end a field.
    /// let rfc = read(&CsvOptions::new().escape('"'));
    /// assert_eq!(rfc[1], [r"dir\", "x"]);
    /// ```
    pub fn escape(mut self, escape: char) -> Self {
        self.escape = escape;
        self
    }

    /// Skips lines that start with this character (Spark's `comment`, off by default).
    pub fn comment(mut self, comment: char) -> Self {
        self.comment = Some(comment);
        self
    }

    /// The text of a missing value (Spark's `nullValue`, empty by default): a field equal
    /// to it is `None` for an `Option` field (and empty for a `String` one).
    ///
    /// ```
    /// use firesteel_core::io::CsvOptions;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("temps.csv");
    /// std::fs::write(&path, "# city, temperature\nOslo, NA\nRome, 21.5\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let opts = CsvOptions::new().comment('#').null_value("NA").ignore_leading_white_space(true);
    /// let temps = ctx.read_csv::<(String, Option<f64>)>(&path, 1, &opts).unwrap();
    /// assert_eq!(temps.collect().unwrap(), [("Oslo".into(), None), ("Rome".into(), Some(21.5))]);
    /// ```
    pub fn null_value(mut self, null_value: impl Into<String>) -> Self {
        self.null_value = null_value.into();
        self
    }

    /// Whether leading whitespace of fields is dropped (`false` by default).
    pub fn ignore_leading_white_space(mut self, ignore: bool) -> Self {
        self.ignore_leading_white_space = ignore;
        self
    }

    /// Whether trailing whitespace of fields is dropped (`false` by default).
    pub fn ignore_trailing_white_space(mut self, ignore: bool) -> Self {
        self.ignore_trailing_white_space = ignore;
        self
    }

    /// What to do with malformed lines ([`ParseMode`], Spark's `mode`).
    pub fn mode(mut self, mode: ParseMode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether the first line of each file is a header.
    pub fn has_header(&self) -> bool {
        self.header
    }

    /// The field delimiter.
    pub fn get_delimiter(&self) -> char {
        self.delimiter
    }

    /// The parse mode.
    pub fn get_mode(&self) -> ParseMode {
        self.mode
    }

    /// Checks the options and builds the line splitter's settings.
    fn dialect(&self) -> Result<Dialect> {
        let delimiter = ascii("delimiter", self.delimiter)?;
        let quote = ascii("quote", self.quote)?;
        let escape = ascii("escape", self.escape)?;
        let comment = self.comment.map(|c| ascii("comment", c)).transpose()?;
        if delimiter == quote {
            return Err(Error::InvalidArgument(format!(
                "the CSV delimiter and quote are both {:?}",
                self.delimiter
            )));
        }
        if [b'\n', b'\r'].contains(&delimiter) || [b'\n', b'\r'].contains(&quote) {
            return Err(Error::InvalidArgument(
                "a CSV delimiter or quote cannot be a line terminator".into(),
            ));
        }
        Ok(Dialect {
            delimiter,
            quote,
            escape: (escape != quote).then_some(escape),
            comment,
            null_value: (!self.null_value.is_empty()).then(|| self.null_value.clone()),
            trim_start: self.ignore_leading_white_space,
            trim_end: self.ignore_trailing_white_space,
        })
    }
}

fn ascii(what: &str, c: char) -> Result<u8> {
    if c.is_ascii() {
        Ok(c as u8)
    } else {
        Err(Error::InvalidArgument(format!(
            "the CSV {what} must be an ASCII character, not {c:?}"
        )))
    }
}

/// How lines split into fields.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dialect {
    delimiter: u8,
    quote: u8,
    escape: Option<u8>,
    comment: Option<u8>,
    null_value: Option<String>,
    trim_start: bool,
    trim_end: bool,
}

/// A line splitter's buffers, kept per thread and reused from line to line: the fields'
/// bytes, where each ends, and the record handed to the deserializer.
struct Splitter {
    out: Vec<u8>,
    ends: Vec<usize>,
    record: StringRecord,
}

impl Splitter {
    fn new() -> Splitter {
        Splitter {
            out: Vec::new(),
            ends: Vec::new(),
            record: StringRecord::new(),
        }
    }

    /// Splits `line` into `self.record`, as Spark's parser (univocity) splits a line:
    /// - a field that starts with the quote character (after leading whitespace, when that
    ///   is ignored) runs to the closing quote; inside it, the escape character before a
    ///   quote or before itself stands for that character, a doubled quote for one quote,
    ///   and anything else (a delimiter, an escape before another character) is itself;
    ///   text between the closing quote and the next delimiter is kept, and an unclosed
    ///   quote runs to the end of the line;
    /// - any other field runs to the next delimiter;
    /// - ignored whitespace is trimmed outside quotes only;
    /// - a UTF-8 byte order mark is dropped at the start of a file (`file_start`) only.
    fn split(
        &mut self,
        line: &str,
        d: &Dialect,
        file_start: bool,
    ) -> std::result::Result<(), String> {
        let mut bytes = line.as_bytes();
        if file_start && bytes.starts_with(BOM) {
            bytes = &bytes[BOM.len()..];
        }
        self.out.clear();
        self.ends.clear();
        let blank = |b: u8| b == b' ' || b == b'\t';
        let (n, delim, quote) = (bytes.len(), d.delimiter, d.quote);
        let mut i = 0;
        loop {
            let field_start = self.out.len();
            if d.trim_start {
                while i < n && blank(bytes[i]) {
                    i += 1;
                }
            }
            // The end of the quoted part, past which trimming stops.
            let mut kept = field_start;
            if i < n && bytes[i] == quote {
                i += 1;
                while i < n {
                    let b = bytes[i];
                    let next = bytes.get(i + 1).copied();
                    if Some(b) == d.escape && (next == Some(quote) || next == d.escape) {
                        self.out.push(bytes[i + 1]);
                        i += 2;
                    } else if b == quote && next == Some(quote) {
                        self.out.push(quote);
                        i += 2;
                    } else if b == quote {
                        i += 1;
                        break;
                    } else {
                        self.out.push(b);
                        i += 1;
                    }
                }
                kept = self.out.len();
            }
            let rest = bytes[i..]
                .iter()
                .position(|&b| b == delim)
                .map_or(n, |p| i + p);
            self.out.extend_from_slice(&bytes[i..rest]);
            if d.trim_end {
                while self.out.len() > kept && self.out.last().is_some_and(|&b| blank(b)) {
                    self.out.pop();
                }
            }
            self.ends.push(self.out.len());
            if rest == n {
                break;
            }
            i = rest + 1;
        }
        self.record.clear();
        let mut start = 0;
        for &end in &self.ends {
            // Only ASCII characters were taken out, so the fields are UTF-8 as the line is.
            let field = std::str::from_utf8(&self.out[start..end])
                .map_err(|_| "invalid UTF-8 in a field".to_string())?;
            start = end;
            if d.null_value.as_deref() == Some(field) {
                self.record.push_field("");
            } else {
                self.record.push_field(field);
            }
        }
        Ok(())
    }
}

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xef\xbb\xbf";

thread_local! {
    static SPLITTER: RefCell<Splitter> = RefCell::new(Splitter::new());
}

/// Runs `f` with this thread's splitter.
fn with_splitter<R>(f: impl FnOnce(&mut Splitter) -> R) -> R {
    SPLITTER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => f(&mut s),
        // Reentered (a record's Deserialize reading CSV): a splitter of its own.
        Err(_) => f(&mut Splitter::new()),
    })
}

/// Everything a task needs to turn lines into records.
#[derive(Debug)]
struct CsvLines {
    dialect: Dialect,
    /// The column names, with `header`.
    headers: Option<StringRecord>,
    /// The number of columns, when known (the header's, or the record type's arity).
    columns: Option<usize>,
    header: bool,
    /// Files whose header is not their first line, with its offset.
    header_offsets: HashMap<PathBuf, u64>,
    last_header_offset: u64,
}

impl CsvLines {
    fn new<T: DeserializeOwned>(path: &Path, opts: &CsvOptions) -> Result<CsvLines> {
        let dialect = opts.dialect()?;
        let shape = Shape::of::<T>();
        let mut lines = CsvLines {
            columns: shape.columns(),
            dialect,
            headers: None,
            header: opts.header,
            header_offsets: HashMap::new(),
            last_header_offset: 0,
        };
        if opts.header {
            for file in resolve_inputs(path)? {
                let Some((offset, text)) = lines.find_header(&file)? else {
                    continue;
                };
                if lines.headers.is_none() {
                    let d = &lines.dialect;
                    let headers = with_splitter(|s| {
                        s.split(&text, d, offset == 0).map(|()| s.record.clone())
                    })
                    .map_err(|e| Error::parse(&file, 0, format!("bad CSV header: {e}")))?;
                    lines.columns = Some(headers.len());
                    lines.headers = Some(match shape {
                        Shape::Struct(fields) => match_case(&headers, fields),
                        _ => headers,
                    });
                }
                if offset > 0 {
                    lines.last_header_offset = lines.last_header_offset.max(offset);
                    lines.header_offsets.insert(file, offset);
                }
            }
        }
        Ok(lines)
    }

    /// The offset and text of a file's header line: its first line that is neither blank
    /// nor a comment.
    fn find_header(&self, file: &Path) -> Result<Option<(u64, String)>> {
        let mut reader = BufReader::new(open_decoded(file)?);
        let (mut offset, mut line, mut number) = (0u64, Vec::new(), 0);
        loop {
            line.clear();
            number += 1;
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io("reading", file, e))?;
            if n == 0 {
                return Ok(None);
            }
            let text = std::str::from_utf8(&line)
                .map_err(|_| Error::parse(file, number, "invalid UTF-8 in the CSV header"))?;
            let text = text.trim_end_matches('\n').trim_end_matches('\r');
            if !self.skipped(text) {
                return Ok(Some((offset, text.to_string())));
            }
            offset += n as u64;
        }
    }

    /// Whether a line is blank or a comment, which Spark skips.
    fn skipped(&self, line: &str) -> bool {
        line.trim().is_empty()
            || self
                .dialect
                .comment
                .is_some_and(|c| line.as_bytes()[0] == c)
    }

    /// Whether a line is its file's header, or otherwise no record.
    fn skip(&self, line: &str, origin: &LineOrigin<'_>) -> bool {
        if self.header && origin.offset() <= self.last_header_offset {
            let at = if self.header_offsets.is_empty() {
                0
            } else {
                self.header_offsets.get(origin.path()).copied().unwrap_or(0)
            };
            if origin.offset() == at {
                return true;
            }
        }
        self.skipped(line)
    }

    /// Parses a line into a record. `lenient` (the permissive mode) sets bad fields to
    /// empty (so `None` for `Option` fields), missing columns too, and drops extra ones.
    fn parse<T: DeserializeOwned>(
        &self,
        line: &str,
        origin: &LineOrigin<'_>,
        lenient: bool,
    ) -> std::result::Result<T, String> {
        let d = &self.dialect;
        with_splitter(|s| {
            s.split(line, d, origin.offset() == 0)?;
            let headers = self.headers.as_ref();
            let record = &s.record;
            match self.columns {
                Some(n) if record.len() != n && !lenient => {
                    return Err(format!("{} columns, expected {n}", record.len()));
                }
                Some(n) if record.len() != n => return lenient_parse(record, headers, Some(n)),
                _ => {}
            }
            match record.deserialize::<T>(headers) {
                Ok(t) => Ok(t),
                Err(_) if lenient => lenient_parse(record, headers, self.columns),
                Err(e) => Err(describe(&e, record, headers)),
            }
        })
    }
}

/// The header with each column name that matches no field exactly but one field
/// case-insensitively renamed to that field, as Spark resolves column names
/// (`spark.sql.caseSensitive` is off by default).
fn match_case(headers: &StringRecord, fields: &[&str]) -> StringRecord {
    headers
        .iter()
        .map(|h| {
            if fields.contains(&h) {
                return h;
            }
            let mut same = fields.iter().filter(|f| f.eq_ignore_ascii_case(h));
            match (same.next(), same.next()) {
                (Some(f), None) => f,
                _ => h,
            }
        })
        .collect()
}

/// Parses a record whose bad fields are emptied one by one, and whose columns are padded
/// or cut to `columns`.
fn lenient_parse<T: DeserializeOwned>(
    record: &StringRecord,
    headers: Option<&StringRecord>,
    columns: Option<usize>,
) -> std::result::Result<T, String> {
    let mut fields: Vec<&str> = record.iter().collect();
    if let Some(n) = columns {
        fields.resize(n, "");
    }
    loop {
        let attempt = StringRecord::from(fields.clone());
        match attempt.deserialize::<T>(headers) {
            Ok(t) => return Ok(t),
            Err(e) => {
                let bad = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => err.field(),
                    _ => None,
                };
                match bad.and_then(|i| fields.get_mut(i as usize)) {
                    Some(f) if !f.is_empty() => *f = "",
                    _ => return Err(describe(&e, &attempt, headers)),
                }
            }
        }
    }
}

/// What went wrong deserializing a record, naming the column.
fn describe(e: &csv::Error, record: &StringRecord, headers: Option<&StringRecord>) -> String {
    let csv::ErrorKind::Deserialize { err, .. } = e.kind() else {
        return e.to_string();
    };
    match err.field() {
        Some(i) => {
            let i = i as usize;
            let name = headers
                .and_then(|h| h.get(i))
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let value = record.get(i).unwrap_or("");
            format!(
                "column {}{name} = {}: {}",
                i + 1,
                excerpt(value),
                err.kind()
            )
        }
        None => err.kind().to_string(),
    }
}

fn malformed(line: &str, detail: &str) -> String {
    format!("malformed CSV record ({detail}): {}", excerpt(line))
}

impl Context {
    /// Reads CSV files as typed records, as Spark's `spark.read.csv(path)` with the
    /// options of [`CsvOptions`]: each line is one record (Spark's default
    /// `multiLine = false`), deserialized with serde into `T`: a struct (its fields
    /// matched to the header's columns by name with [`header`](CsvOptions::header), by
    /// position without), a tuple, a `Vec<String>` of all fields, or a single value.
    ///
    /// `path` is read as [`parse_text_file`](Self::parse_text_file) reads it (files,
    /// directories, globs, comma lists, `.gz`/`.bz2`/`.zst`), in at least `min_partitions`
    /// splits parsed in parallel. Blank lines and, with [`comment`](CsvOptions::comment),
    /// comment lines are skipped.
    ///
    /// A line is malformed if it has more or fewer fields than the header (or than a
    /// struct or tuple record's fields), or if a field does not parse as its record
    /// field; what happens then is the [`mode`](CsvOptions::mode): fail the job naming
    /// `path:line` ([`FailFast`](ParseMode::FailFast)), skip the line
    /// ([`DropMalformed`](ParseMode::DropMalformed)), or ([`Permissive`](ParseMode::Permissive),
    /// the default) set each bad field to `None`, missing columns too, and drop extra
    /// columns, as Spark sets them to null; a line whose record cannot hold that (a bad
    /// field that is not an `Option`) then fails the job, where Spark would keep a row of
    /// nulls: [`read_csv_with_corrupt`](Self::read_csv_with_corrupt) keeps such lines.
    ///
    /// Spark's example `people.csv`, with `sep = ';'` and a header:
    ///
    /// ```
    /// use firesteel_core::io::CsvOptions;
    ///
    /// #[derive(serde::Deserialize, serde::Serialize, Clone, Debug, PartialEq)]
    /// struct Person {
    ///     name: String,
    ///     age: u32,
    ///     job: String,
    /// }
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("people.csv");
    /// std::fs::write(&path, "name;age;job\nJorge;30;Developer\nBob;32;Developer\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let opts = CsvOptions::new().sep(';').header(true);
    /// let people = ctx.read_csv::<Person>(&path, 2, &opts).unwrap().collect().unwrap();
    /// assert_eq!(people[1], Person { name: "Bob".into(), age: 32, job: "Developer".into() });
    ///
    /// // Without a header, by position: tuples, or all fields as strings.
    /// let rows = ctx.read_csv::<Vec<String>>(&path, 1, &CsvOptions::new().sep(';')).unwrap();
    /// assert_eq!(rows.first().unwrap(), ["name", "age", "job"]);
    /// ```
    ///
    /// Parse modes:
    ///
    /// ```
    /// use firesteel_core::io::{CsvOptions, ParseMode};
    /// use firesteel_core::Error;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("points.csv");
    /// std::fs::write(&path, "1,2.5\n2,oops\n3\n4,0.5\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let read = |mode| ctx.read_csv::<(u32, Option<f64>)>(&path, 1, &CsvOptions::new().mode(mode));
    ///
    /// let lenient = read(ParseMode::Permissive).unwrap().collect().unwrap();
    /// assert_eq!(lenient, [(1, Some(2.5)), (2, None), (3, None), (4, Some(0.5))]);
    /// let dropped = read(ParseMode::DropMalformed).unwrap().collect().unwrap();
    /// assert_eq!(dropped, [(1, Some(2.5)), (4, Some(0.5))]);
    /// let e = read(ParseMode::FailFast).unwrap().collect().unwrap_err();
    /// assert!(matches!(e.root_cause(), Error::Parse { line: 2, .. }));
    /// assert!(e.root_cause().to_string().ends_with(
    ///     "points.csv:2: malformed CSV record (column 2 = \"oops\": invalid float literal): \"2,oops\""
    /// ));
    /// ```
    ///
    /// # Errors
    /// Invalid options ([`Error::InvalidArgument`]), a path as in
    /// [`text_file`](Self::text_file), an unreadable header; while the job runs,
    /// [`Error::Parse`] for a malformed line as the mode says, or invalid UTF-8.
    pub fn read_csv<T: Data>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        options: &CsvOptions,
    ) -> Result<Dataset<T>> {
        let path = path.as_ref();
        let lines = Arc::new(CsvLines::new::<T>(path, options)?);
        let mode = options.mode;
        crate::io::parse_text_file(
            self,
            path,
            min_partitions,
            "read_csv",
            move |line, origin| {
                if lines.skip(line, origin) {
                    return Ok(None);
                }
                match lines.parse::<T>(line, origin, mode == ParseMode::Permissive) {
                    Ok(t) => Ok(Some(t)),
                    Err(_) if mode == ParseMode::DropMalformed => Ok(None),
                    Err(detail) if mode == ParseMode::FailFast => {
                        Err(origin.error(malformed(line, &detail)))
                    }
                    Err(detail) => Err(origin.error(format!(
                        "{}, which {} cannot hold with None in its bad fields \
                     (read_csv_with_corrupt keeps such lines)",
                        malformed(line, &detail),
                        std::any::type_name::<T>()
                    ))),
                }
            },
        )
    }

    /// Reads CSV files as [`read_csv`](Self::read_csv) does, keeping each malformed line
    /// aside as [`Parsed::Corrupt`] (with its path, line number, text and error) instead
    /// of applying the [`mode`](CsvOptions::mode), which is ignored: Spark's `PERMISSIVE`
    /// mode with a `_corrupt_record` column, except that a corrupt line gives no partial
    /// record.
    ///
    /// ```
    /// use firesteel_core::io::{CsvOptions, Parsed};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("ages.csv");
    /// std::fs::write(&path, "name,age\nAnn,31\nBob,old\n").unwrap();
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let opts = CsvOptions::new().header(true);
    /// let rows = ctx.read_csv_with_corrupt::<(String, u32)>(&path, 1, &opts).unwrap();
    /// let rows = rows.collect().unwrap();
    /// assert_eq!(rows[0], Parsed::Record(("Ann".to_string(), 31)));
    /// let bad = rows[1].corrupt().unwrap();
    /// assert_eq!((bad.line, bad.text.as_str()), (3, "Bob,old"));
    /// assert_eq!(bad.error, "column 2 (age) = \"old\": invalid digit found in string");
    /// ```
    ///
    /// # Errors
    /// As [`read_csv`](Self::read_csv), except for malformed lines.
    pub fn read_csv_with_corrupt<T: Data>(
        &self,
        path: impl AsRef<Path>,
        min_partitions: usize,
        options: &CsvOptions,
    ) -> Result<Dataset<Parsed<T>>> {
        let path = path.as_ref();
        let lines = Arc::new(CsvLines::new::<T>(path, options)?);
        crate::io::parse_text_file(
            self,
            path,
            min_partitions,
            "read_csv_with_corrupt",
            move |line, origin| {
                if lines.skip(line, origin) {
                    return Ok(None);
                }
                Ok(Some(match lines.parse::<T>(line, origin, false) {
                    Ok(t) => Parsed::Record(t),
                    Err(detail) => Parsed::Corrupt(CorruptRecord::new(origin, line, detail)),
                }))
            },
        )
    }
}

/// How [`Dataset::save_as_csv`] writes CSV files: Spark's CSV writer options, with
/// Spark's defaults (`Default`).
///
/// A field is quoted when it contains the delimiter, the quote or escape character, or a
/// line break, or when it is an empty (or all-whitespace) string, so that it reads back
/// as a string (a `None` is written as an empty field). Inside quotes, the quote and the
/// escape character are escaped with the escape character (`\"`, `\\`), as Spark
/// writes them; with the escape set to the quote character, quotes are doubled as RFC 4180
/// has them. Unlike Spark, leading and trailing whitespace is kept.
///
/// ```
/// use firesteel_core::io::{Codec, CsvWriteOptions};
///
/// let opts = CsvWriteOptions::new().header(true).delimiter('\t').codec(Codec::Gzip);
/// assert_eq!(opts.get_codec(), Some(Codec::Gzip));
/// assert!(!CsvWriteOptions::default().has_header());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvWriteOptions {
    header: bool,
    delimiter: char,
    quote: char,
    escape: char,
    codec: Option<Codec>,
}

impl Default for CsvWriteOptions {
    fn default() -> Self {
        CsvWriteOptions {
            header: false,
            delimiter: ',',
            quote: '"',
            escape: '\\',
            codec: None,
        }
    }
}

impl CsvWriteOptions {
    /// Spark's defaults: no header, `,`, `"`, `\`, no compression.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether each part file starts with a header line of column names: a struct's field
    /// names, `_1`, `_2`, ... for a tuple, `value` for a single value.
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The field delimiter, `,` by default.
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The quote character, `"` by default.
    pub fn quote(mut self, quote: char) -> Self {
        self.quote = quote;
        self
    }

    /// The escape character inside quotes, `\` by default.
    pub fn escape(mut self, escape: char) -> Self {
        self.escape = escape;
        self
    }

    /// Compresses each part file (`part-00000.csv.gz`, ...).
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = Some(codec);
        self
    }

    /// Whether part files start with a header.
    pub fn has_header(&self) -> bool {
        self.header
    }

    /// The compression codec, if any.
    pub fn get_codec(&self) -> Option<Codec> {
        self.codec
    }
}

/// Writes rows of fields as CSV lines.
struct LineWriter {
    delimiter: u8,
    quote: u8,
    escape: u8,
    line: Vec<u8>,
}

impl LineWriter {
    fn new(opts: &CsvWriteOptions) -> Result<LineWriter> {
        let delimiter = ascii("delimiter", opts.delimiter)?;
        let quote = ascii("quote", opts.quote)?;
        let escape = ascii("escape", opts.escape)?;
        if delimiter == quote {
            return Err(Error::InvalidArgument(format!(
                "the CSV delimiter and quote are both {:?}",
                opts.delimiter
            )));
        }
        Ok(LineWriter {
            delimiter,
            quote,
            escape,
            line: Vec::new(),
        })
    }

    /// Encodes one line of fields (each with whether it is a string) into `self.line`.
    fn encode<'a>(&mut self, fields: impl Iterator<Item = (&'a str, bool)>) {
        self.line.clear();
        for (i, (field, string)) in fields.enumerate() {
            if i > 0 {
                self.line.push(self.delimiter);
            }
            let special = |&b: &u8| {
                b == self.delimiter
                    || b == self.quote
                    || b == self.escape
                    || b == b'\n'
                    || b == b'\r'
            };
            // A leading BOM is quoted, so that a reader at the start of a file keeps it.
            let quoted = field.bytes().any(|b| special(&b))
                || (string && field.trim().is_empty())
                || field.as_bytes().starts_with(BOM);
            if !quoted {
                self.line.extend_from_slice(field.as_bytes());
                continue;
            }
            self.line.push(self.quote);
            for b in field.bytes() {
                if b == self.quote || b == self.escape {
                    self.line.push(self.escape);
                }
                self.line.push(b);
            }
            self.line.push(self.quote);
        }
        self.line.push(b'\n');
    }
}

impl<T: Data> Dataset<T> {
    /// Writes the dataset as CSV, one line per record, as Spark's `df.write.csv(path)`:
    /// `part-NNNNN.csv` files (`.csv.gz` and so on with a codec) in the directory `path`,
    /// committed as [`save_as_text_file`](Self::save_as_text_file) commits them. A record
    /// is a struct, a tuple or a sequence of fields, or one value; fields are numbers,
    /// strings, booleans, `Option`s of them (`None` is an empty field) or unit enum
    /// variants (their names). With [`header`](CsvWriteOptions::header), every part file
    /// starts with the column names, as Spark writes them (a part with no records of a
    /// type whose names cannot be known without one, a sequence, has no header). Floats
    /// are written as the shortest text that reads back exactly (`2.0`, `1e300`, `NaN`,
    /// `Inf`). [`Context::read_csv`] reads the directory back, except records with a line
    /// break in a field: they are quoted, as Spark writes them, but read line by line, as
    /// Spark reads them without `multiLine`.
    ///
    /// ```
    /// use firesteel_core::io::{CsvOptions, CsvWriteOptions};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("quotes");
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let rows = vec![
    ///     ("Ann".to_string(), 1.5),
    ///     ("says \"hi\", twice".to_string(), -2.0),
    /// ];
    /// let ds = ctx.parallelize(rows.clone(), 2);
    /// ds.save_as_csv(&out, &CsvWriteOptions::new().header(true)).unwrap();
    /// let part = std::fs::read_to_string(out.join("part-00001.csv")).unwrap();
    /// assert_eq!(part, "_1,_2\n\"says \\\"hi\\\", twice\",-2.0\n");
    /// let back = ctx.read_csv::<(String, f64)>(&out, 2, &CsvOptions::new().header(true));
    /// assert_eq!(back.unwrap().collect().unwrap(), rows);
    /// ```
    ///
    /// # Errors
    /// Invalid options, `path` exists already ([`Error::OutputExists`]), a record that is
    /// not a row of fields ([`Error::Serde`]), or writing fails.
    pub fn save_as_csv(&self, path: impl AsRef<Path>, options: &CsvWriteOptions) -> Result<()> {
        LineWriter::new(options)?;
        let header = options.header;
        let names: Option<Vec<String>> = match Shape::of::<T>() {
            Shape::Struct(fields) => Some(fields.iter().map(|f| f.to_string()).collect()),
            Shape::Tuple(n) => Some((1..=n).map(|i| format!("_{i}")).collect()),
            Shape::Other => None,
        };
        let opts = options.clone();
        crate::io::write_part_files(
            self,
            path.as_ref(),
            ".csv",
            options.codec,
            move |w, it, attempt| {
                let write_err = |e| Error::io("writing", attempt, e);
                let mut out = LineWriter::new(&opts)?;
                let mut row = Row::default();
                let mut need_header = header;
                if let (true, Some(names)) = (header, &names) {
                    out.encode(names.iter().map(|n| (n.as_str(), true)));
                    w.write_all(&out.line).map_err(write_err)?;
                    need_header = false;
                }
                for b in it {
                    for r in b? {
                        row.fill(&r).map_err(Error::serde)?;
                        if need_header {
                            let names = row.header_names();
                            out.encode(names.iter().map(|n| (n.as_str(), true)));
                            w.write_all(&out.line).map_err(write_err)?;
                            need_header = false;
                        }
                        out.encode(row.fields());
                        w.write_all(&out.line).map_err(write_err)?;
                    }
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str, opts: &CsvOptions) -> Vec<String> {
        let d = opts.dialect().unwrap();
        with_splitter(|s| {
            s.split(line, &d, false).unwrap();
            s.record.iter().map(String::from).collect()
        })
    }

    #[test]
    fn lines_split_with_quotes_and_escapes() {
        let o = CsvOptions::new();
        assert_eq!(split("a,\"b,c\",d", &o), ["a", "b,c", "d"]);
        assert_eq!(split(r#""say \"hi\"","x""y""#, &o), ["say \"hi\"", "x\"y"]);
        assert_eq!(split("a,,", &o), ["a", "", ""]);
        assert_eq!(split("one\rline", &o), ["one\rline"]);
        let o = CsvOptions::new()
            .sep(';')
            .ignore_leading_white_space(true)
            .null_value("NA");
        assert_eq!(split("  x ;NA; y", &o), ["x ", "", "y"]);
        // A byte order mark is dropped at the start of a file only.
        let bom = "\u{feff}a,b";
        let d = CsvOptions::new().dialect().unwrap();
        let at = |start| {
            with_splitter(|s| {
                s.split(bom, &d, start).unwrap();
                s.record.get(0).unwrap().to_string()
            })
        };
        assert_eq!((at(true).as_str(), at(false).as_str()), ("a", "\u{feff}a"));
        // Inside quotes, an escape before anything but a quote or itself is kept.
        let o = CsvOptions::new();
        assert_eq!(split(r#""C:\temp, x",\"#, &o), ["C:\\temp, x", "\\"]);
        assert_eq!(split(r#""a\\b","ab"c,"open"#, &o), ["a\\b", "abc", "open"]);
        // Ignored whitespace is trimmed outside quotes only.
        let both = o
            .ignore_leading_white_space(true)
            .ignore_trailing_white_space(true);
        assert_eq!(split("  \" a \" , b\t", &both), [" a ", "b"]);
        // A long line grows the buffers.
        let long = vec!["abc"; 100].join(",");
        assert_eq!(split(&long, &CsvOptions::new()).len(), 100);
    }

    #[test]
    fn written_lines_split_back() {
        let mut w = LineWriter::new(&CsvWriteOptions::new()).unwrap();
        let fields = [
            "plain",
            "a,b",
            "q\"uote",
            "back\\slash\"",
            "",
            " ",
            "tab\tend\\",
        ];
        w.encode(fields.iter().map(|f| (*f, true)));
        assert_eq!(
            std::str::from_utf8(&w.line).unwrap(),
            "plain,\"a,b\",\"q\\\"uote\",\"back\\\\slash\\\"\",\"\",\" \",\"tab\tend\\\\\"\n"
        );
        let line = std::str::from_utf8(&w.line).unwrap().trim_end_matches('\n');
        assert_eq!(split(line, &CsvOptions::new()), fields);
        let mut rfc = LineWriter::new(&CsvWriteOptions::new().escape('"')).unwrap();
        rfc.encode([("q\"uote", true), ("", false)].into_iter());
        assert_eq!(rfc.line, b"\"q\"\"uote\",\n");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Any fields without a line break, written by the writer, split back the same,
        /// with Spark's escape or RFC 4180 doubling, whatever the delimiter.
        #[test]
        fn any_fields_round_trip(
            fields in proptest::collection::vec(
                proptest::prop_oneof!["[^\n]{0,10}", "[,;|\t\"\\\\ a\r\u{feff}]{0,6}"],
                1..6,
            ),
            delimiter in proptest::sample::select(vec![',', ';', '\t', '|']),
            rfc: bool,
        ) {
            let escape = if rfc { '"' } else { '\\' };
            let wopts = CsvWriteOptions::new().delimiter(delimiter).escape(escape);
            let mut w = LineWriter::new(&wopts).unwrap();
            w.encode(fields.iter().map(|f| (f.as_str(), true)));
            let line = std::str::from_utf8(&w.line).unwrap().strip_suffix('\n').unwrap();
            let back = split(line, &CsvOptions::new().sep(delimiter).escape(escape));
            proptest::prop_assert_eq!(back, fields);
        }
    }

    #[test]
    fn options_are_checked() {
        let bad = |o: CsvOptions| o.dialect().is_err();
        assert!(bad(CsvOptions::new().sep('"')));
        assert!(bad(CsvOptions::new().sep('§')));
        assert!(bad(CsvOptions::new().quote('\n')));
        assert!(!bad(CsvOptions::new().sep('\t').escape('"')));
    }
}

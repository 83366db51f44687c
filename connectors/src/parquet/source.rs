//! [`ParquetSource`]: Parquet files read in parallel, one row group per partition.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, FieldRef, Schema, SchemaRef};
use firesteel_core::io::{DataSource, RecordBatches};
use firesteel_core::{Context, Data, Dataset};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use serde::de::DeserializeOwned;
use serde_arrow::schema::{SchemaLike, TracingOptions};

use super::batch::ArrowBatch;
use super::error::{io_error, one_line, ParquetError};
use super::value::{batch_rows, is_numeric, nullable_f64s, numeric_values, value_supported, Row};

/// How many rows a batch read from a row group has at most, by default.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Converts one Arrow batch (the columns read, in order) of a row group into records.
type Decoder<T> =
    Arc<dyn Fn(&Path, usize, &RecordBatch) -> Result<Vec<T>, ParquetError> + Send + Sync>;

/// A file to read: its footer, and which of its columns to read in which order.
#[derive(Clone)]
struct FileInfo {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    mask: ProjectionMask,
    /// For each column asked for, its position among the columns read (which come in the
    /// file's order).
    order: Vec<usize>,
}

/// Options of a [`ParquetSource`]: the input path, the columns to read and the batch
/// size; then one of the `build` methods chooses the records.
///
/// ```
/// use firesteel_connectors::parquet::ParquetSource;
///
/// let builder = ParquetSource::builder("data/parquet/points.parquet")
///     .columns(["label", "x"])
///     .batch_size(1024);
/// assert_eq!(builder.path(), std::path::Path::new("data/parquet/points.parquet"));
/// ```
#[derive(Debug, Clone)]
pub struct ParquetSourceBuilder {
    path: PathBuf,
    columns: Option<Vec<String>>,
    batch_size: usize,
}

/// What the columns of a file must be, checked on the driver for every file.
enum Check {
    /// Anything.
    Any,
    /// The Arrow type each column will be deserialized into (`None`: not checked).
    Serde(Vec<Option<DataType>>),
    /// A simple type ([`Value`](super::Value)).
    Values,
    /// A number.
    Numeric,
}

impl ParquetSourceBuilder {
    /// The input path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads only these columns (column projection: the others are not decoded), in
    /// this order. By default a serde record type reads the columns named by its fields,
    /// and the other record kinds read every column.
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The most rows decoded at once ([`DEFAULT_BATCH_SIZE`] by default): a partition
    /// is read in batches of this many records.
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows;
        self
    }

    /// Records of a serde type `T`: a struct's fields are matched to columns by name
    /// (and only those columns are read); a tuple's elements take the
    /// [`columns`](Self::columns), which it needs, in order.
    ///
    /// Integer columns read into any integer field they fit (a value out of range is an
    /// error when it is read), and into float fields; floats into floats; strings into
    /// `String`; binary into `serde_bytes::ByteBuf`; lists into `Vec`s; structs into
    /// structs; a nullable column into an
    /// `Option` (a null in a field that is not an `Option` is an error when it is read).
    ///
    /// # Errors
    /// [`ParquetError::MissingColumn`] when a file lacks a field's column,
    /// [`ParquetError::ColumnType`] when a column's type cannot become its field,
    /// [`ParquetError::Corrupt`] for a file that is not Parquet, before anything is read.
    ///
    /// ```
    /// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
    /// use firesteel_core::Context;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    /// struct Person { name: String, age: Option<i32> }
    ///
    /// let ctx = Context::local(2).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("people");
    /// let people = vec![
    ///     Person { name: "Ann".into(), age: Some(41) },
    ///     Person { name: "Bob".into(), age: None },
    /// ];
    /// write_parquet(&ctx.parallelize(people.clone(), 2), &path, &ParquetWriteOptions::new())
    ///     .unwrap();
    ///
    /// let source = ParquetSource::builder(&path).build::<Person>().unwrap();
    /// assert_eq!(source.columns(), ["name", "age"]);
    /// assert_eq!(ctx.read_source(source).collect().unwrap(), people);
    ///
    /// // A tuple reads the named columns in order.
    /// let names = ParquetSource::builder(&path)
    ///     .columns(["age", "name"])
    ///     .build::<(Option<i64>, String)>()
    ///     .unwrap();
    /// assert_eq!(
    ///     ctx.read_source(names).collect().unwrap(),
    ///     [(Some(41), "Ann".to_string()), (None, "Bob".to_string())]
    /// );
    /// ```
    pub fn build<T: DeserializeOwned + 'static>(self) -> Result<ParquetSource<T>, ParquetError> {
        let traced = Vec::<FieldRef>::from_type::<T>(serde_options()).ok();
        let tuple = traced.as_ref().is_some_and(|f| {
            !f.is_empty()
                && f.iter()
                    .enumerate()
                    .all(|(i, f)| *f.name() == i.to_string())
        });
        let (columns, check) = match (traced, &self.columns) {
            (Some(fields), Some(cols)) if tuple => {
                if cols.len() != fields.len() {
                    return Err(ParquetError::InvalidOption(format!(
                        "the records are tuples of {} values but {} columns were named",
                        fields.len(),
                        cols.len()
                    )));
                }
                let types = fields.iter().map(|f| Some(f.data_type().clone())).collect();
                (Some(cols.clone()), Check::Serde(types))
            }
            (Some(_), None) if tuple => {
                return Err(ParquetError::InvalidOption(
                    "tuple records need the columns to read, in order (.columns([...]))".into(),
                ))
            }
            (Some(fields), cols) => {
                let cols = match cols {
                    Some(cols) => {
                        if let Some(f) = fields.iter().find(|f| !cols.contains(f.name())) {
                            return Err(ParquetError::InvalidOption(format!(
                                "field {:?} of the records is not among the columns read",
                                f.name()
                            )));
                        }
                        cols.clone()
                    }
                    None => fields.iter().map(|f| f.name().clone()).collect(),
                };
                let types = cols
                    .iter()
                    .map(|c| {
                        fields
                            .iter()
                            .find(|f| f.name() == c)
                            .map(|f| f.data_type().clone())
                    })
                    .collect();
                (Some(cols), Check::Serde(types))
            }
            (None, cols) => (cols.clone(), Check::Any),
        };
        // serde_arrow reads a float field only from a float column of its width: numbers
        // of other types are converted first.
        let floats: Vec<Option<DataType>> = match &check {
            Check::Serde(types) => types
                .iter()
                .map(|t| t.clone().filter(|t| kind(t) == Kind::Float))
                .collect(),
            _ => Vec::new(),
        };
        let decode: Decoder<T> = Arc::new(move |path, row_group, batch| {
            let err = |message| ParquetError::Decode {
                path: path.to_path_buf(),
                row_group,
                message,
            };
            let converted;
            let batch = if floats
                .iter()
                .enumerate()
                .any(|(j, t)| t.as_ref().is_some_and(|t| batch.column(j).data_type() != t))
            {
                converted = to_floats(batch, &floats).map_err(err)?;
                &converted
            } else {
                batch
            };
            serde_arrow::from_record_batch::<Vec<T>>(batch).map_err(|e| err(one_line(&e)))
        });
        self.open(columns, check, decode, Vec::new(), None)
    }

    /// Records that are Arrow record batches ([`ArrowBatch`]), one per batch read, with
    /// the columns asked for (by default every column).
    ///
    /// ```
    /// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
    /// use firesteel_core::Context;
    ///
    /// let ctx = Context::local(2).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("pairs");
    /// let pairs = ctx.parallelize((0..10i64).map(|i| (i, i * i)).collect(), 2);
    /// write_parquet(&pairs, &path, &ParquetWriteOptions::new().columns(["n", "square"]))
    ///     .unwrap();
    ///
    /// let source = ParquetSource::builder(&path)
    ///     .columns(["square"])
    ///     .build_batches()
    ///     .unwrap();
    /// let batches = ctx.read_source(source).collect().unwrap();
    /// assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 10);
    /// assert_eq!(batches[0].schema().field(0).name(), "square");
    /// ```
    pub fn build_batches(self) -> Result<ParquetSource<ArrowBatch>, ParquetError> {
        let decode: Decoder<ArrowBatch> =
            Arc::new(|_, _, batch| Ok(vec![ArrowBatch(batch.clone())]));
        let columns = self.columns.clone();
        self.open(columns, Check::Any, decode, Vec::new(), None)
    }

    /// Generic rows ([`Row`], a `Vec<`[`Value`](super::Value)`>`): one value per column
    /// asked for (by default every column), in order. Every column must be of a simple
    /// type (boolean, integer, float, string, binary).
    ///
    /// ```
    /// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions, Value};
    /// use firesteel_core::Context;
    ///
    /// let ctx = Context::local(2).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("edges");
    /// let edges = ctx.parallelize(vec![(1i64, 2i64), (2, 3)], 1);
    /// write_parquet(&edges, &path, &ParquetWriteOptions::new().columns(["src", "dst"])).unwrap();
    ///
    /// let source = ParquetSource::builder(&path).build_rows().unwrap();
    /// assert_eq!(
    ///     ctx.read_source(source).collect().unwrap(),
    ///     [vec![Value::Int(1), Value::Int(2)], vec![Value::Int(2), Value::Int(3)]]
    /// );
    /// ```
    pub fn build_rows(self) -> Result<ParquetSource<Row>, ParquetError> {
        let decode: Decoder<Row> = Arc::new(|path, row_group, batch| {
            batch_rows(batch).map_err(|message| ParquetError::Decode {
                path: path.to_path_buf(),
                row_group,
                message,
            })
        });
        let columns = self.columns.clone();
        self.open(columns, Check::Values, decode, Vec::new(), None)
    }

    /// Numeric rows for machine learning: `(label, features)`, where the label is the
    /// column `label` and the features are every other numeric column (integers and
    /// floats) of the first file, in the file's order, or the
    /// [`columns`](Self::columns) asked for. Non-numeric columns are skipped. The
    /// feature columns are [`ParquetSource::feature_names`]. A null label or feature is
    /// an error when it is read.
    ///
    /// ```
    /// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
    /// use firesteel_core::Context;
    ///
    /// let ctx = Context::local(2).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("points");
    /// let points = ctx.parallelize(vec![(1.5f64, 1i32, "a".to_string(), 0.5f32)], 1);
    /// let options = ParquetWriteOptions::new().columns(["x", "label", "name", "y"]);
    /// write_parquet(&points, &path, &options).unwrap();
    ///
    /// let source = ParquetSource::builder(&path).build_labeled("label").unwrap();
    /// assert_eq!(source.feature_names(), ["x", "y"]);
    /// assert_eq!(ctx.read_source(source).collect().unwrap(), [(1.0, vec![1.5, 0.5])]);
    /// ```
    pub fn build_labeled(
        self,
        label: &str,
    ) -> Result<ParquetSource<(f64, Vec<f64>)>, ParquetError> {
        let decode: Decoder<(f64, Vec<f64>)> = Arc::new(|path, row_group, batch| {
            let cols = numeric_columns(path, row_group, batch)?;
            let Some((labels, features)) = cols.split_first() else {
                return Ok(Vec::new());
            };
            Ok(labels
                .iter()
                .enumerate()
                .map(|(i, l)| (*l, features.iter().map(|c| c[i]).collect()))
                .collect())
        });
        self.numeric(Some(label), decode)
    }

    /// Numeric rows without a label: every numeric column (integers and floats) of the
    /// first file, in the file's order, or the [`columns`](Self::columns) asked for, as
    /// one `Vec<f64>` per row ([`ParquetSource::feature_names`] names them).
    ///
    /// ```
    /// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
    /// use firesteel_core::Context;
    ///
    /// let ctx = Context::local(2).unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("xy");
    /// let xy = ctx.parallelize(vec![(1.0f64, 2.0f64), (3.0, 4.0)], 2);
    /// write_parquet(&xy, &path, &ParquetWriteOptions::new().columns(["x", "y"])).unwrap();
    ///
    /// let source = ParquetSource::builder(&path).build_features().unwrap();
    /// assert_eq!(source.feature_names(), ["x", "y"]);
    /// assert_eq!(ctx.read_source(source).collect().unwrap(), [vec![1.0, 2.0], vec![3.0, 4.0]]);
    /// ```
    pub fn build_features(self) -> Result<ParquetSource<Vec<f64>>, ParquetError> {
        let decode: Decoder<Vec<f64>> = Arc::new(|path, row_group, batch| {
            let cols = numeric_columns(path, row_group, batch)?;
            Ok((0..batch.num_rows())
                .map(|i| cols.iter().map(|c| c[i]).collect())
                .collect())
        });
        self.numeric(None, decode)
    }

    fn numeric<T>(
        self,
        label: Option<&str>,
        decode: Decoder<T>,
    ) -> Result<ParquetSource<T>, ParquetError> {
        let files = self.files()?;
        let (first, meta) = &files[0];
        let schema = meta.schema();
        if let Some(label) = label {
            schema_index(first, schema, label)?;
        }
        let features: Vec<String> = match &self.columns {
            Some(cols) => cols
                .iter()
                .filter(|c| Some(c.as_str()) != label)
                .cloned()
                .collect(),
            None => schema
                .fields()
                .iter()
                .filter(|f| Some(f.name().as_str()) != label && is_numeric(f.data_type()))
                .map(|f| f.name().clone())
                .collect(),
        };
        let columns: Vec<String> = label
            .map(str::to_string)
            .into_iter()
            .chain(features.clone())
            .collect();
        self.open_files(
            files,
            Some(columns),
            Check::Numeric,
            decode,
            features,
            label.map(str::to_string),
        )
    }

    /// The input files and their footers.
    fn files(&self) -> Result<Vec<(PathBuf, ArrowReaderMetadata)>, ParquetError> {
        if self.batch_size == 0 {
            return Err(ParquetError::InvalidOption(
                "the batch size must be at least 1".into(),
            ));
        }
        let paths = firesteel_core::io::resolve_inputs(&self.path).map_err(|e| match e {
            firesteel_core::Error::Io { op, path, source } => io_error(op, path, source),
            e => ParquetError::NoInput(e.to_string()),
        })?;
        if paths.is_empty() {
            return Err(ParquetError::NoInput(format!(
                "{} names no files",
                self.path.display()
            )));
        }
        paths
            .into_iter()
            .map(|path| {
                let file = File::open(&path).map_err(|e| io_error("opening", &path, e))?;
                let meta =
                    ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
                        ParquetError::Corrupt {
                            path: path.clone(),
                            message: one_line(&e),
                        }
                    })?;
                Ok((path, meta))
            })
            .collect()
    }

    fn open<T>(
        self,
        columns: Option<Vec<String>>,
        check: Check,
        decode: Decoder<T>,
        features: Vec<String>,
        label: Option<String>,
    ) -> Result<ParquetSource<T>, ParquetError> {
        let files = self.files()?;
        self.open_files(files, columns, check, decode, features, label)
    }

    fn open_files<T>(
        self,
        files: Vec<(PathBuf, ArrowReaderMetadata)>,
        columns: Option<Vec<String>>,
        check: Check,
        decode: Decoder<T>,
        features: Vec<String>,
        label: Option<String>,
    ) -> Result<ParquetSource<T>, ParquetError> {
        let columns = columns.unwrap_or_else(|| {
            files[0]
                .1
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect()
        });
        if let Some((_, c)) = columns
            .iter()
            .enumerate()
            .find(|(i, c)| columns[..*i].contains(c))
        {
            return Err(ParquetError::InvalidOption(format!(
                "column {c:?} is named twice"
            )));
        }
        let mut infos = Vec::with_capacity(files.len());
        let mut splits = Vec::new();
        for (path, meta) in files {
            let schema = meta.schema().clone();
            let mut indices = Vec::with_capacity(columns.len());
            for (j, c) in columns.iter().enumerate() {
                let i = schema_index(&path, &schema, c)?;
                let found = schema.field(i).data_type();
                let expected = match &check {
                    Check::Any => None,
                    Check::Serde(types) => types[j]
                        .as_ref()
                        .filter(|t| !serde_compatible(t, found))
                        .map(|t| type_name(t).to_string()),
                    Check::Values => (!value_supported(found))
                        .then(|| "a Value (boolean, integer, float, string or binary)".to_string()),
                    Check::Numeric => (!is_numeric(found)).then(|| "a number (f64)".to_string()),
                };
                if let Some(expected) = expected {
                    return Err(ParquetError::ColumnType {
                        path,
                        column: c.clone(),
                        found: found.to_string(),
                        expected,
                    });
                }
                indices.push(i);
            }
            let mut sorted = indices.clone();
            sorted.sort_unstable();
            let order = indices
                .iter()
                .map(|i| sorted.binary_search(i).unwrap_or(0))
                .collect();
            let mask =
                ProjectionMask::roots(meta.metadata().file_metadata().schema_descr(), sorted);
            for rg in 0..meta.metadata().num_row_groups() {
                splits.push((infos.len(), rg));
            }
            infos.push(FileInfo {
                path,
                meta,
                mask,
                order,
            });
        }
        Ok(ParquetSource {
            name: format!("parquet {}", self.path.display()),
            files: Arc::new(infos),
            splits,
            columns,
            features,
            label,
            batch_size: self.batch_size,
            decode,
        })
    }
}

/// The serde options that trace record types: Spark's types (`Utf8`, `Binary`, `List`).
pub(crate) fn serde_options() -> TracingOptions {
    TracingOptions::default()
        .allow_null_fields(true)
        .strings_as_large_utf8(false)
        .bytes_as_large_binary(false)
        .sequence_as_large_list(false)
}

fn schema_index(path: &Path, schema: &SchemaRef, column: &str) -> Result<usize, ParquetError> {
    schema
        .index_of(column)
        .map_err(|_| ParquetError::MissingColumn {
            path: path.to_path_buf(),
            column: column.to_string(),
            available: schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[derive(PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
    Bytes,
    Other,
}

fn kind(t: &DataType) -> Kind {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => Kind::Int,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
        DataType::Boolean => Kind::Bool,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Str,
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => Kind::Bytes,
        _ => Kind::Other,
    }
}

/// Whether a column of type `found` can be deserialized into a field traced as
/// `expected` (types that are not simple are left to the deserializer).
fn serde_compatible(expected: &DataType, found: &DataType) -> bool {
    match (kind(expected), kind(found)) {
        (Kind::Other, _) | (_, Kind::Other) => true,
        (Kind::Float, Kind::Int) => true,
        // Sequences of bytes trace as lists of integers.
        (e, f) => e == f,
    }
}

fn type_name(t: &DataType) -> &'static str {
    match t {
        DataType::Int8 => "i8",
        DataType::Int16 => "i16",
        DataType::Int32 => "i32",
        DataType::Int64 => "i64",
        DataType::UInt8 => "u8",
        DataType::UInt16 => "u16",
        DataType::UInt32 => "u32",
        DataType::UInt64 => "u64",
        DataType::Float32 => "f32",
        DataType::Float64 => "f64",
        DataType::Boolean => "bool",
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "a string",
        _ => "bytes",
    }
}

/// `batch` with the numeric columns that `floats` names converted to its float type.
fn to_floats(batch: &RecordBatch, floats: &[Option<DataType>]) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (j, (col, field)) in batch.columns().iter().zip(schema.fields()).enumerate() {
        match floats.get(j).cloned().flatten() {
            Some(t) if col.data_type() != &t && is_numeric(col.data_type()) => {
                let values = nullable_f64s(col.as_ref())
                    .map_err(|m| format!("column {:?}: {m}", field.name()))?;
                let array: ArrayRef = if t == DataType::Float32 {
                    Arc::new(
                        values
                            .iter()
                            .map(|v| v.map(|v| v as f32))
                            .collect::<Float32Array>(),
                    )
                } else {
                    Arc::new(values.into_iter().collect::<Float64Array>())
                };
                fields.push(Arc::new(Field::new(field.name(), t, field.is_nullable())));
                columns.push(array);
            }
            _ => {
                fields.push(field.clone());
                columns.push(col.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| one_line(&e))
}

/// The columns of a batch as `f64`s; a null names its column, file and row group.
fn numeric_columns(
    path: &Path,
    row_group: usize,
    batch: &RecordBatch,
) -> Result<Vec<Vec<f64>>, ParquetError> {
    let schema = batch.schema();
    batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            numeric_values(c.as_ref()).map_err(|m| ParquetError::Decode {
                path: path.to_path_buf(),
                row_group,
                message: format!("column {:?}: {m}", f.name()),
            })
        })
        .collect()
}

/// Parquet files as a [`DataSource`], as Spark's `spark.read.parquet` reads them: one
/// partition per row group of each file (in the order of
/// [`resolve_inputs`](firesteel_core::io::resolve_inputs), which takes a file, a
/// directory's visible files, a glob or a comma-separated list), reading only the
/// columns asked for.
///
/// Every file's footer is read on the driver, when the source is built: a file that is
/// not Parquet, a missing column or a column of the wrong type is reported then, naming
/// the file and the column, before any job runs. Inside tasks, errors are one line naming
/// the file and the row group; those that every attempt would repeat are
/// [`Error::Unrecoverable`](firesteel_core::Error::Unrecoverable).
///
/// Build one with [`ParquetSource::builder`], choosing the records: serde types
/// ([`build`](ParquetSourceBuilder::build)), Arrow batches
/// ([`build_batches`](ParquetSourceBuilder::build_batches)), generic rows
/// ([`build_rows`](ParquetSourceBuilder::build_rows)) or numeric rows for machine
/// learning ([`build_labeled`](ParquetSourceBuilder::build_labeled),
/// [`build_features`](ParquetSourceBuilder::build_features)).
///
/// ```
/// use firesteel_connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions};
/// use firesteel_core::Context;
///
/// let ctx = Context::local(2).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("squares");
/// let squares = ctx.parallelize((0..100i64).map(|i| (i, i * i)).collect(), 4);
/// write_parquet(&squares, &path, &ParquetWriteOptions::new().columns(["n", "square"]))
///     .unwrap();
///
/// let source = ParquetSource::builder(&path)
///     .columns(["square"])
///     .build::<(i64,)>()
///     .unwrap();
/// assert_eq!(source.num_partitions(), 4); // 4 part files of one row group each
/// assert_eq!(source.num_rows(), 100);
/// let sum = ctx.read_source(source).map(|(s,)| s).sum().unwrap();
/// assert_eq!(sum, 328350);
/// ```
pub struct ParquetSource<T> {
    name: String,
    files: Arc<Vec<FileInfo>>,
    splits: Vec<(usize, usize)>,
    columns: Vec<String>,
    features: Vec<String>,
    label: Option<String>,
    batch_size: usize,
    decode: Decoder<T>,
}

impl<T> std::fmt::Debug for ParquetSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSource")
            .field("name", &self.name)
            .field("files", &self.files())
            .field("splits", &self.splits)
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

impl ParquetSource<()> {
    /// A builder for the files that `path` names: a file, a directory's visible files
    /// (names that do not start with `_` or `.`), a glob, or a comma-separated list.
    pub fn builder(path: impl AsRef<Path>) -> ParquetSourceBuilder {
        ParquetSourceBuilder {
            path: path.as_ref().to_path_buf(),
            columns: None,
            batch_size: DEFAULT_BATCH_SIZE,
        }
    }
}

impl<T> ParquetSource<T> {
    /// The files read, in order.
    pub fn files(&self) -> Vec<&Path> {
        self.files.iter().map(|f| f.path.as_path()).collect()
    }

    /// The columns read, in the order of the records' values.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The feature columns of numeric rows, in the order of the features
    /// ([`build_labeled`](ParquetSourceBuilder::build_labeled),
    /// [`build_features`](ParquetSourceBuilder::build_features)); empty otherwise.
    pub fn feature_names(&self) -> &[String] {
        &self.features
    }

    /// The label column of [`build_labeled`](ParquetSourceBuilder::build_labeled).
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The number of partitions: the row groups of all files (at least 1).
    pub fn num_partitions(&self) -> usize {
        self.splits.len().max(1)
    }

    /// The number of rows of all files, from their footers.
    pub fn num_rows(&self) -> u64 {
        self.files
            .iter()
            .map(|f| f.meta.metadata().file_metadata().num_rows().max(0) as u64)
            .sum()
    }

    /// The Arrow schema of the columns read, as the first file has them.
    pub fn schema(&self) -> SchemaRef {
        let f = &self.files[0];
        let schema = f.meta.schema();
        let fields: Vec<_> = self
            .columns
            .iter()
            .filter_map(|c| schema.field_with_name(c).ok().cloned())
            .collect();
        Arc::new(Schema::new(fields))
    }
}

impl<T: Send + 'static> DataSource<T> for ParquetSource<T> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn num_partitions(&self) -> usize {
        ParquetSource::num_partitions(self)
    }

    fn read_partition(&self, partition: usize) -> firesteel_core::Result<RecordBatches<T>> {
        let Some(&(file, row_group)) = self.splits.get(partition) else {
            return Ok(Box::new(std::iter::empty()));
        };
        let f = &self.files[file];
        let handle = File::open(&f.path).map_err(|e| io_error("opening", &f.path, e))?;
        let decode_err = |e: &dyn std::error::Error| ParquetError::Decode {
            path: f.path.clone(),
            row_group,
            message: one_line(e),
        };
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(handle, f.meta.clone())
            .with_row_groups(vec![row_group])
            .with_projection(f.mask.clone())
            .with_batch_size(self.batch_size)
            .build()
            .map_err(|e| decode_err(&e))?;
        let (files, decode) = (self.files.clone(), self.decode.clone());
        Ok(Box::new(reader.map(move |batch| {
            let f = &files[file];
            let batch =
                batch
                    .and_then(|b| b.project(&f.order))
                    .map_err(|e| ParquetError::Decode {
                        path: f.path.clone(),
                        row_group,
                        message: one_line(&e),
                    })?;
            Ok(decode(&f.path, row_group, &batch)?)
        })))
    }
}

/// Reads Parquet files as a dataset of serde records, as Spark's `spark.read.parquet`:
/// [`ParquetSource::builder`]`(path).`[`build`](ParquetSourceBuilder::build)`()` read with
/// [`Context::read_source`].
///
/// ```
/// use firesteel_connectors::parquet::{read_parquet, write_parquet, ParquetWriteOptions};
/// use firesteel_core::Context;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// struct Rating { user: i32, item: i32, rating: f32 }
///
/// let ctx = Context::local(2).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ratings");
/// let ratings = vec![Rating { user: 1, item: 7, rating: 4.5 }];
/// write_parquet(&ctx.parallelize(ratings.clone(), 1), &path, &Default::default()).unwrap();
/// let back = read_parquet::<Rating>(&ctx, &path).unwrap();
/// assert_eq!(back.collect().unwrap(), ratings);
/// ```
pub fn read_parquet<T: Data>(
    ctx: &Context,
    path: impl AsRef<Path>,
) -> Result<Dataset<T>, ParquetError> {
    Ok(ctx.read_source(ParquetSource::builder(path).build::<T>()?))
}

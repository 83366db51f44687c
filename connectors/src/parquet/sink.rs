//! [`ParquetSink`]: a dataset written as a directory of Parquet part files, committed at
//! once, with Spark's save modes.

use crate::job_id::random_job_id;
use std::fs::File;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::{Field, FieldRef, Schema, SchemaRef};
use firesteel_core::io::DataSink;
use firesteel_core::{Data, Dataset, Records};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_arrow::schema::SchemaLike;

use super::error::{io_error, one_line, ParquetError};
use super::source::serde_options;
use crate::SaveMode;

/// The compression of the part files' pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Compression {
    /// Snappy (the default, as Spark's `spark.sql.parquet.compression.codec`).
    #[default]
    Snappy,
    /// Zstandard (level 3): smaller files, slower writes.
    Zstd,
    /// No compression.
    None,
}

impl Compression {
    fn codec(self) -> parquet::basic::Compression {
        match self {
            Compression::Snappy => parquet::basic::Compression::SNAPPY,
            Compression::Zstd => parquet::basic::Compression::ZSTD(Default::default()),
            Compression::None => parquet::basic::Compression::UNCOMPRESSED,
        }
    }
}

/// The most rows of a row group, by default (as arrow-rs's writer).
pub const DEFAULT_ROW_GROUP_SIZE: usize = 1024 * 1024;

/// Options of [`write_parquet`] and [`ParquetSink`]: the save mode, the compression, the
/// row group size and the column names.
///
/// ```
/// use firesteel_connectors::parquet::{Compression, ParquetWriteOptions};
/// use firesteel_connectors::SaveMode;
///
/// let options = ParquetWriteOptions::new()
///     .mode(SaveMode::Overwrite)
///     .compression(Compression::None)
///     .row_group_size(10_000)
///     .columns(["src", "dst"]);
/// assert_eq!(options.save_mode(), SaveMode::Overwrite);
/// assert_eq!(ParquetWriteOptions::default().save_mode(), SaveMode::ErrorIfExists);
/// ```
#[derive(Debug, Clone)]
pub struct ParquetWriteOptions {
    mode: SaveMode,
    compression: Compression,
    row_group_size: usize,
    columns: Option<Vec<String>>,
    job_id: Option<String>,
}

impl Default for ParquetWriteOptions {
    fn default() -> Self {
        ParquetWriteOptions {
            mode: SaveMode::default(),
            compression: Compression::default(),
            row_group_size: DEFAULT_ROW_GROUP_SIZE,
            columns: None,
            job_id: None,
        }
    }
}

impl ParquetWriteOptions {
    /// The defaults: [`SaveMode::ErrorIfExists`], [`Compression::Snappy`],
    /// [`DEFAULT_ROW_GROUP_SIZE`] rows per row group, the records' field names.
    pub fn new() -> Self {
        Self::default()
    }

    /// What to do when the output path exists ([`SaveMode::ErrorIfExists`] by default).
    pub fn mode(mut self, mode: SaveMode) -> Self {
        self.mode = mode;
        self
    }

    /// The save mode.
    pub fn save_mode(&self) -> SaveMode {
        self.mode
    }

    /// The pages' compression ([`Compression::Snappy`] by default).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The most rows of a row group (each row group is one partition when the files
    /// are read back).
    pub fn row_group_size(mut self, rows: usize) -> Self {
        self.row_group_size = rows;
        self
    }

    /// The column names, in the order of the records' values: needed for tuples (whose
    /// elements would be columns `0`, `1`, ...), optional for structs (whose field names
    /// are the default).
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// The id that names the temporary directory and appended part files (letters,
    /// digits, `-` and `_`): random by default. In cluster mode every process must use
    /// the same one ([`write_parquet`] sees to it).
    pub fn job_id(mut self, id: impl Into<String>) -> Self {
        self.job_id = Some(id.into());
        self
    }
}

/// A [`DataSink`] that writes records of a serde type as a directory of Parquet files, as
/// Spark's `df.write.parquet(path)`: one part file `part-NNNNN.parquet` per partition.
///
/// Columns are the fields of a struct (or the [`columns`](ParquetWriteOptions::columns)
/// named for a tuple's elements), with Spark's types: integers, floats, booleans,
/// strings, `Option`s as nullable columns, `Vec`s as lists, nested structs as structs.
///
/// The output is committed as core's text output is: each task writes an attempt file
/// in a hidden temporary directory next to the output and renames it to its part file
/// when complete (a retried task replaces a failed attempt); once every partition is
/// written the directory gets an empty `_SUCCESS` marker and is renamed to the output
/// path. A failed job removes the temporary directory and leaves no output.
///
/// Save modes ([`SaveMode`]) when the path exists: `ErrorIfExists` fails before any task
/// runs; `Ignore` writes nothing; `Overwrite` replaces the directory only after every
/// part file is written; `Append` adds part files named `part-NNNNN-<job id>.parquet`
/// (and fails before any task runs if the records' columns differ from the existing
/// part files').
///
/// ```
/// use firesteel_connectors::parquet::{ParquetSink, ParquetWriteOptions};
/// use firesteel_connectors::SaveMode;
/// use firesteel_core::Context;
///
/// let ctx = Context::local(2).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("edges");
/// let edges = ctx.parallelize(vec![(1i64, 2i64), (2, 3), (3, 1)], 2);
/// let options = ParquetWriteOptions::new().columns(["src", "dst"]);
/// edges.write_to(ParquetSink::new(&path, &options).unwrap()).unwrap();
/// assert!(path.join("part-00000.parquet").exists());
/// assert!(path.join("part-00001.parquet").exists());
/// assert!(path.join("_SUCCESS").exists());
///
/// // Appending adds part files; the default mode refuses an existing path.
/// let appended = options.clone().mode(SaveMode::Append);
/// edges.write_to(ParquetSink::new(&path, &appended).unwrap()).unwrap();
/// assert!(ParquetSink::<(i64, i64)>::new(&path, &options).is_err());
/// ```
pub struct ParquetSink<T> {
    path: PathBuf,
    tmp: PathBuf,
    job: String,
    mode: SaveMode,
    skip: bool,
    schema: SchemaRef,
    fields: Vec<FieldRef>,
    props: WriterProperties,
    chunk: usize,
    _records: PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for ParquetSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("job", &self.job)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl<T: Serialize + DeserializeOwned> ParquetSink<T> {
    /// A sink writing to the directory `path` with `options`. The record type's schema
    /// is traced now: a type that cannot be a table's row (not a struct or a tuple, or
    /// with a field of no Arrow type) is an error before anything is written, and so is
    /// an existing path with [`SaveMode::ErrorIfExists`], and, with [`SaveMode::Append`],
    /// existing part files with other columns.
    pub fn new(
        path: impl AsRef<Path>,
        options: &ParquetWriteOptions,
    ) -> Result<Self, ParquetError> {
        let path = path.as_ref().to_path_buf();
        let name = path
            .file_name()
            .ok_or_else(|| {
                ParquetError::InvalidOption(format!("{} has no file name", path.display()))
            })?
            .to_string_lossy()
            .into_owned();
        let job = match &options.job_id {
            Some(j) => {
                let ok = !j.is_empty()
                    && j.len() <= 64
                    && j.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(ParquetError::InvalidOption(format!(
                        "job id {j:?} must be 1 to 64 letters, digits, - or _"
                    )));
                }
                j.clone()
            }
            None => random_job_id(),
        };
        if options.row_group_size == 0 {
            return Err(ParquetError::InvalidOption(
                "the row group size must be at least 1".into(),
            ));
        }
        let mut fields = Vec::<FieldRef>::from_type::<T>(serde_options()).map_err(|e| {
            ParquetError::InvalidOption(format!(
                "records of type {} cannot be Parquet rows (write structs or tuples): {}",
                std::any::type_name::<T>(),
                // The first sentence (the rest suggests serde_arrow's API).
                one_line(&e).split(". ").next().unwrap_or_default()
            ))
        })?;
        if let Some(cols) = &options.columns {
            if cols.len() != fields.len() {
                return Err(ParquetError::InvalidOption(format!(
                    "{} column names for records of {} values",
                    cols.len(),
                    fields.len()
                )));
            }
            fields = fields
                .iter()
                .zip(cols)
                .map(|(f, c)| Arc::new(Field::clone(f).with_name(c.clone())))
                .collect();
        }
        let names: Vec<&String> = fields.iter().map(|f| f.name()).collect();
        if let Some(dup) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            return Err(ParquetError::InvalidOption(format!(
                "column {:?} is named twice",
                dup.1
            )));
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = parent.join(format!(".{name}.firesteel-tmp-{job}"));
        let exists = path.exists();
        if exists && options.mode == SaveMode::ErrorIfExists {
            return Err(ParquetError::OutputExists(path));
        }
        let props = WriterProperties::builder()
            .set_compression(options.compression.codec())
            .set_max_row_group_row_count(Some(options.row_group_size))
            .build();
        let sink = ParquetSink {
            schema: Arc::new(Schema::new(fields.clone())),
            fields,
            skip: exists && options.mode == SaveMode::Ignore,
            mode: options.mode,
            chunk: options.row_group_size.min(8192),
            path,
            tmp,
            job,
            props,
            _records: PhantomData,
        };
        if exists && sink.mode == SaveMode::Append {
            sink.check_append()?;
        }
        Ok(sink)
    }
}

impl<T> ParquetSink<T> {
    /// The output directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Arrow schema of the part files.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The job id (random unless [`ParquetWriteOptions::job_id`] set it).
    pub fn job_id(&self) -> &str {
        &self.job
    }

    /// In `Append` mode, checks the records' columns against an existing part file.
    fn check_append(&self) -> Result<(), ParquetError> {
        let existing = match std::fs::read_dir(&self.path) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension().is_some_and(|e| e == "parquet")
                            && p.file_name()
                                .is_some_and(|n| !n.to_string_lossy().starts_with(['_', '.']))
                    })
                    .collect();
                files.sort();
                files.into_iter().next()
            }
            Err(e) => return Err(io_error("listing", &self.path, e)),
        };
        let Some(file) = existing else { return Ok(()) };
        let handle = File::open(&file).map_err(|e| io_error("opening", &file, e))?;
        let meta = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::new()).map_err(|e| {
            ParquetError::Corrupt {
                path: file.clone(),
                message: one_line(&e),
            }
        })?;
        let old = meta.schema();
        let describe =
            |f: Option<&Field>| f.map_or("missing".to_string(), |f| f.data_type().to_string());
        for f in self.schema.fields() {
            let o = old.field_with_name(f.name()).ok();
            if o.map(|o| o.data_type()) != Some(f.data_type()) {
                return Err(ParquetError::AppendMismatch {
                    path: file,
                    column: f.name().clone(),
                    existing: describe(o),
                    new: describe(Some(f)),
                });
            }
        }
        if let Some(o) = old
            .fields()
            .iter()
            .find(|o| self.schema.field_with_name(o.name()).is_err())
        {
            return Err(ParquetError::AppendMismatch {
                path: file,
                column: o.name().clone(),
                existing: describe(Some(o)),
                new: describe(None),
            });
        }
        Ok(())
    }

    fn write_file<I: Iterator<Item = T>>(
        &self,
        file: &Path,
        records: &mut I,
    ) -> Result<(), ParquetError>
    where
        T: Serialize,
    {
        let handle = File::create(file).map_err(|e| io_error("creating", file, e))?;
        let encode = |e: &dyn std::error::Error| ParquetError::Encode {
            path: file.to_path_buf(),
            message: one_line(e),
        };
        let mut writer =
            ArrowWriter::try_new(handle, self.schema.clone(), Some(self.props.clone()))
                .map_err(|e| encode(&e))?;
        let mut chunk = Vec::with_capacity(self.chunk);
        loop {
            chunk.clear();
            chunk.extend(records.by_ref().take(self.chunk));
            if chunk.is_empty() {
                break;
            }
            let batch =
                serde_arrow::to_record_batch(&self.fields, &chunk).map_err(|e| encode(&e))?;
            writer.write(&batch).map_err(|e| encode(&e))?;
        }
        writer.close().map_err(|e| encode(&e))?;
        Ok(())
    }
}

impl<T: Data> DataSink<T> for ParquetSink<T> {
    fn prepare(&self, _num_partitions: usize) -> firesteel_core::Result<()> {
        if self.skip {
            return Ok(());
        }
        let exists = self.path.exists();
        match self.mode {
            SaveMode::ErrorIfExists if exists => {
                return Err(ParquetError::OutputExists(self.path.clone()).into())
            }
            SaveMode::Append if exists => self.check_append()?,
            _ => {}
        }
        if exists && !self.path.is_dir() {
            return Err(ParquetError::InvalidOption(format!(
                "{} exists and is not a directory",
                self.path.display()
            ))
            .into());
        }
        std::fs::create_dir_all(&self.tmp).map_err(|e| io_error("creating", &self.tmp, e))?;
        Ok(())
    }

    fn write_partition(
        &self,
        partition: usize,
        attempt: usize,
        records: &mut Records<T>,
    ) -> firesteel_core::Result<()> {
        if self.skip {
            return Ok(());
        }
        std::fs::create_dir_all(&self.tmp).map_err(|e| io_error("creating", &self.tmp, e))?;
        let part = self.tmp.join(format!("part-{partition:05}.parquet"));
        let file = self
            .tmp
            .join(format!(".part-{partition:05}.parquet.attempt-{attempt}"));
        let written = self.write_file(&file, records);
        if written.is_err() {
            let _ = std::fs::remove_file(&file);
        }
        written?;
        std::fs::rename(&file, &part).map_err(|e| io_error("renaming", &file, e))?;
        Ok(())
    }

    fn commit(&self, num_partitions: usize) -> firesteel_core::Result<()> {
        if self.skip {
            return Ok(());
        }
        let marker = self.tmp.join("_SUCCESS");
        std::fs::write(&marker, b"").map_err(|e| io_error("writing", &marker, e))?;
        let exists = self.path.exists();
        match self.mode {
            _ if !exists => std::fs::rename(&self.tmp, &self.path)
                .map_err(|e| io_error("renaming output to", &self.path, e))?,
            SaveMode::Overwrite => {
                let old = self.tmp.with_file_name(format!(
                    "{}.old",
                    self.tmp.file_name().unwrap_or_default().to_string_lossy()
                ));
                std::fs::rename(&self.path, &old)
                    .map_err(|e| io_error("moving aside", &self.path, e))?;
                std::fs::rename(&self.tmp, &self.path)
                    .map_err(|e| io_error("renaming output to", &self.path, e))?;
                let _ = std::fs::remove_dir_all(&old);
            }
            SaveMode::Append => {
                for p in 0..num_partitions {
                    let from = self.tmp.join(format!("part-{p:05}.parquet"));
                    let to = self.path.join(format!("part-{p:05}-{}.parquet", self.job));
                    std::fs::rename(&from, &to).map_err(|e| io_error("moving", &from, e))?;
                }
                let marker = self.path.join("_SUCCESS");
                std::fs::write(&marker, b"").map_err(|e| io_error("writing", &marker, e))?;
                let _ = std::fs::remove_dir_all(&self.tmp);
            }
            SaveMode::Ignore => {
                let _ = std::fs::remove_dir_all(&self.tmp);
            }
            SaveMode::ErrorIfExists => {
                return Err(ParquetError::OutputExists(self.path.clone()).into());
            }
        }
        Ok(())
    }

    fn abort(&self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Writes `ds` as a directory of Parquet part files at `path`, as Spark's
/// `df.write.mode(...).parquet(path)`: a [`ParquetSink`] written with
/// [`Dataset::write_to`]. In cluster mode every process uses the same job id.
///
/// ```
/// use firesteel_connectors::parquet::{read_parquet, write_parquet, Compression, ParquetWriteOptions};
/// use firesteel_connectors::SaveMode;
/// use firesteel_core::Context;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// struct Word { word: String, count: u32 }
///
/// let ctx = Context::local(2).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("words");
/// let words = ctx.parallelize(vec![Word { word: "spark".into(), count: 3 }], 1);
/// write_parquet(&words, &path, &ParquetWriteOptions::new()).unwrap();
/// // The path exists now: the default mode fails, Overwrite replaces it.
/// assert!(write_parquet(&words, &path, &ParquetWriteOptions::new()).is_err());
/// let options = ParquetWriteOptions::new().mode(SaveMode::Overwrite).compression(Compression::Zstd);
/// write_parquet(&words, &path, &options).unwrap();
/// let back = read_parquet::<Word>(&ctx, &path).unwrap();
/// assert_eq!(back.collect().unwrap(), [Word { word: "spark".into(), count: 3 }]);
/// ```
pub fn write_parquet<T: Data>(
    ds: &Dataset<T>,
    path: impl AsRef<Path>,
    options: &ParquetWriteOptions,
) -> firesteel_core::Result<()> {
    let mut options = options.clone();
    if options.job_id.is_none() && ds.context().num_processes() > 1 {
        options.job_id = Some(format!("cluster-{}", ds.id()));
    }
    let sink = ParquetSink::<T>::new(path, &options)?;
    if sink.skip {
        return Ok(());
    }
    ds.write_to(sink)
}

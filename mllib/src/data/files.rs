//! Loaders that read files in parallel: each partition of the input (a byte range of a
//! file, as `Context::text_file` splits it) is parsed inside its task, and rows become
//! cached blocks without passing through the driver. Errors name `path:line` as the
//! driver-side loaders' do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use firesteel_core::io::line_number;
use firesteel_core::{Context, Dataset, Error as EngineError, StorageLevel};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{dense_row, libsvm_row, rating_row, InstanceBlock, Rating, DEFAULT_BLOCK_ROWS};
use crate::error::{MlError, Result};

/// An engine error as the loaders report it: a parse or I/O error of the input by itself
/// (as the driver-side loaders give it), anything else wrapped.
pub fn input_error(e: EngineError) -> MlError {
    match e {
        EngineError::JobFailed { cause, .. } => input_error(*cause),
        EngineError::Parse {
            path,
            line,
            message,
        } => MlError::Parse {
            path,
            line: line as usize,
            message,
        },
        EngineError::Io { path, source, .. } => MlError::Io { path, source },
        other => MlError::Engine(other),
    }
}

/// Rows of LIBSVM data, sparse, in compressed-row form.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SparseRows {
    labels: Vec<f64>,
    /// Row `i`'s entries are `indptr[i]..indptr[i + 1]` of `indices` and `values`.
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    /// One past the largest index (0 for rows without features).
    width: usize,
}

impl SparseRows {
    fn push(&mut self, label: f64, features: &[(usize, f64)]) {
        if self.indptr.is_empty() {
            self.indptr.push(0);
        }
        self.labels.push(label);
        for &(j, v) in features {
            self.indices.push(j as u32);
            self.values.push(v);
        }
        self.indptr.push(self.indices.len());
        if let Some(&(j, _)) = features.last() {
            self.width = self.width.max(j + 1);
        }
    }

    fn to_block(&self, d: usize) -> InstanceBlock {
        let mut f = Array2::zeros((self.labels.len(), d));
        for (i, w) in self.indptr.windows(2).enumerate() {
            for k in w[0]..w[1] {
                f[[i, self.indices[k] as usize]] = self.values[k];
            }
        }
        InstanceBlock::new(f, Array1::from(self.labels.clone()))
    }
}

/// Spark's `MLUtils.loadLibSVMFile`, in parallel: reads LIBSVM data (`label index:value
/// ...`, 1-based increasing indices; blank lines and `#` comments skipped) from `path` (a
/// file, directory, glob or comma-separated list, compressed or not, as
/// [`Context::text_file`] takes it) in at least `min_partitions` partitions, and returns
/// blocks of at most [`DEFAULT_BLOCK_ROWS`] dense rows, persisted in memory and on disk
/// (`MemoryAndDisk`, as Spark's ML algorithms persist their input: blocks that do not fit
/// the memory budget spill rather than being parsed again on every pass).
///
/// `num_features` is inferred as the largest index when `None` (one pass over the parsed,
/// cached sparse rows, as Spark does); when given, a larger index is an error.
///
/// ```
/// use firesteel_mllib::data::load_libsvm_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("train.libsvm");
/// std::fs::write(&path, "1 1:0.5 3:2\n# comment\n0 2:1\n").unwrap();
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let blocks = load_libsvm_file(&ctx, &path, None, 2).unwrap().collect().unwrap();
/// let rows: usize = blocks.iter().map(|b| b.len()).sum();
/// assert_eq!((rows, blocks[0].num_features()), (2, 3));
///
/// std::fs::write(&path, "1 1:0.5\n1 4:1\n").unwrap();
/// let e = load_libsvm_file(&ctx, &path, Some(3), 2).unwrap_err();
/// assert!(e.to_string().ends_with("train.libsvm:2: feature index 4 exceeds num_features 3"));
/// ```
///
/// # Errors
/// [`MlError::Io`] for an input that cannot be read, [`MlError::Parse`] naming `path:line`
/// for a malformed line, [`MlError::EmptyInput`] when no line holds a row.
pub fn load_libsvm_file(
    ctx: &Context,
    path: impl AsRef<Path>,
    num_features: Option<usize>,
    min_partitions: usize,
) -> Result<Dataset<Arc<InstanceBlock>>> {
    let path = path.as_ref();
    let rows = ctx
        .parse_text_file(path, min_partitions, move |line, origin| {
            let mut features = Vec::new();
            match libsvm_row(line, num_features, &mut features) {
                Ok(Some(label)) => Ok(Some((label, features))),
                Ok(None) => Ok(None),
                Err(m) => Err(origin.error(m)),
            }
        })
        .map_err(input_error)?;
    let sparse = rows
        .map_partitions(|rows| {
            let mut out = Vec::new();
            let mut cur = SparseRows::default();
            for (label, features) in rows {
                cur.push(label, &features);
                if cur.labels.len() == DEFAULT_BLOCK_ROWS {
                    out.push(std::mem::take(&mut cur));
                }
            }
            if !cur.labels.is_empty() {
                out.push(cur);
            }
            out
        })
        .persist(StorageLevel::MemoryAndDisk);
    let shapes = sparse
        .map(|s| (s.labels.len(), s.width))
        .collect()
        .map_err(input_error)?;
    let n: usize = shapes.iter().map(|s| s.0).sum();
    if n == 0 {
        let _ = sparse.unpersist();
        return Err(MlError::EmptyInput(path.display().to_string()));
    }
    let d = num_features.unwrap_or_else(|| shapes.iter().map(|s| s.1).max().unwrap_or(0));
    let blocks = sparse
        .map(move |s| Arc::new(s.to_block(d)))
        .persist(StorageLevel::MemoryAndDisk);
    blocks.count().map_err(input_error)?;
    let _ = sparse.unpersist();
    Ok(blocks)
}

/// A block of dense rows of one width, and where its first row came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DenseChunk {
    path: Arc<PathBuf>,
    offset: u64,
    block: Arc<InstanceBlock>,
}

/// Reads whitespace-separated dense vectors, one per line (as `kmeans_data.txt`), in
/// parallel as [`load_libsvm_file`] does, into cached blocks with labels 0. Blank lines are
/// skipped; every row must have the width of the first.
///
/// ```
/// use firesteel_mllib::data::load_dense_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("points.txt");
/// std::fs::write(&path, "0 0\n1 1\n\n9 8\n").unwrap();
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let blocks = load_dense_file(&ctx, &path, 2).unwrap().collect().unwrap();
/// assert_eq!(blocks.iter().map(|b| b.len()).sum::<usize>(), 3);
///
/// std::fs::write(&path, "0 0\n1 1\n1 2 3\n").unwrap();
/// let e = load_dense_file(&ctx, &path, 2).unwrap_err();
/// assert!(e.to_string().ends_with("points.txt:3: expected 2 values, found 3"));
/// ```
///
/// # Errors
/// As [`load_libsvm_file`]; a row of another width than the first is a
/// [`MlError::Parse`] naming its line.
pub fn load_dense_file(
    ctx: &Context,
    path: impl AsRef<Path>,
    min_partitions: usize,
) -> Result<Dataset<Arc<InstanceBlock>>> {
    let path = path.as_ref();
    let rows = ctx
        .parse_text_file(path, min_partitions, |line, origin| {
            let mut values = Vec::new();
            match dense_row(line, &mut values) {
                Ok(true) => Ok(Some((origin.shared_path(), origin.offset(), values))),
                Ok(false) => Ok(None),
                Err(m) => Err(origin.error(m)),
            }
        })
        .map_err(input_error)?;
    // A block holds rows of one width; a row of another width starts a new block, so that
    // the driver can name the first row, in input order, whose width differs.
    let chunks = rows
        .map_partitions(|rows| {
            let mut out = Vec::new();
            let mut cur: Vec<(Arc<PathBuf>, u64, Vec<f64>)> = Vec::new();
            let flush = |cur: &mut Vec<(Arc<PathBuf>, u64, Vec<f64>)>,
                         out: &mut Vec<DenseChunk>| {
                if cur.is_empty() {
                    return;
                }
                let d = cur[0].2.len();
                let mut f = Array2::zeros((cur.len(), d));
                for (i, r) in cur.iter().enumerate() {
                    f.row_mut(i).assign(&ndarray::ArrayView1::from(&r.2[..]));
                }
                let labels = Array1::zeros(cur.len());
                out.push(DenseChunk {
                    path: cur[0].0.clone(),
                    offset: cur[0].1,
                    block: Arc::new(InstanceBlock::new(f, labels)),
                });
                cur.clear();
            };
            for r in rows {
                if cur.len() == DEFAULT_BLOCK_ROWS
                    || cur.first().is_some_and(|c| c.2.len() != r.2.len())
                {
                    flush(&mut cur, &mut out);
                }
                cur.push(r);
            }
            flush(&mut cur, &mut out);
            out
        })
        .persist(StorageLevel::MemoryAndDisk);
    let shapes = chunks
        .map(|c| {
            (
                c.path.clone(),
                c.offset,
                c.block.num_features(),
                c.block.len(),
            )
        })
        .collect()
        .map_err(input_error)?;
    let Some(first) = shapes.first() else {
        let _ = chunks.unpersist();
        return Err(MlError::EmptyInput(path.display().to_string()));
    };
    let d = first.2;
    if let Some((p, offset, width, _)) = shapes.iter().find(|s| s.2 != d) {
        let _ = chunks.unpersist();
        return Err(MlError::Parse {
            path: p.to_path_buf(),
            line: line_number(p, *offset) as usize,
            message: format!("expected {d} values, found {width}"),
        });
    }
    let blocks = chunks.map(|c| c.block).persist(StorageLevel::MemoryAndDisk);
    blocks.count().map_err(input_error)?;
    let _ = chunks.unpersist();
    Ok(blocks)
}

/// Reads ratings, MovieLens `user::item::rating[::timestamp]` or CSV
/// `user,item,rating[,timestamp]` (detected per line), in parallel, parsed inside the
/// tasks. A file's first line, if CSV whose user field is not a number, is a header and
/// skipped. The result is not cached.
///
/// ```
/// use firesteel_mllib::data::load_ratings_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("ratings.csv");
/// std::fs::write(&path, "user,item,rating\n1,2,5.0\n3,4,1.5\n").unwrap();
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let ratings = load_ratings_file(&ctx, &path, 2).unwrap().collect().unwrap();
/// assert_eq!((ratings.len(), ratings[1].item, ratings[1].rating), (2, 4, 1.5));
/// ```
///
/// # Errors
/// [`MlError::Io`] for an input that cannot be read. A malformed line fails the first
/// action on the result with an engine error whose root cause names `path:line`
/// ([`input_error`](crate::data::input_error) turns it into [`MlError::Parse`]).
pub fn load_ratings_file(
    ctx: &Context,
    path: impl AsRef<Path>,
    min_partitions: usize,
) -> Result<Dataset<Rating>> {
    ctx.parse_text_file(path, min_partitions, |line, origin| {
        rating_row(line, origin.offset() == 0).map_err(|m| origin.error(m))
    })
    .map_err(input_error)
}

//! Loaders that read files in parallel: each partition of the input (a byte range of a
//! file, as `Context::text_file` splits it) is parsed inside its task, and rows become
//! cached blocks without passing through the driver. Errors name `path:line` as the
//! driver-side loaders' do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::collections::HashMap;

use firesteel_core::io::{line_number, open_decoded, resolve_inputs};
use firesteel_core::{Context, Dataset, Error as EngineError, StorageLevel};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{
    csv_row, dense_row, libsvm_row, rating_row, InstanceBlock, Rating, DEFAULT_BLOCK_ROWS,
};
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

/// LIBSVM rows gathered densely, row-major, as wide as the largest index so far (or a
/// given width): a wider row re-lays the rows before it, which happens a few times at
/// most, early in a block.
#[derive(Debug, Default)]
struct LibsvmRows {
    values: Vec<f64>,
    labels: Vec<f64>,
    width: usize,
}

impl LibsvmRows {
    fn with_width(width: usize) -> Self {
        LibsvmRows {
            width,
            ..Default::default()
        }
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn push(&mut self, label: f64, features: &[(usize, f64)]) {
        let need = features.last().map_or(0, |&(j, _)| j + 1);
        if need > self.width {
            self.widen(need);
        }
        let start = self.values.len();
        self.values.resize(start + self.width, 0.0);
        let row = &mut self.values[start..];
        for &(j, v) in features {
            row[j] = v;
        }
        self.labels.push(label);
    }

    fn widen(&mut self, width: usize) {
        if !self.labels.is_empty() {
            let mut wide = vec![0.0; self.labels.len() * width];
            for (old, new) in self
                .values
                .chunks_exact(self.width.max(1))
                .zip(wide.chunks_exact_mut(width))
            {
                new[..old.len()].copy_from_slice(old);
            }
            self.values = wide;
        }
        self.width = width;
    }

    fn into_block(self) -> InstanceBlock {
        let rows = self.labels.len();
        let f = Array2::from_shape_vec((rows, self.width), self.values).expect("rows of one width");
        InstanceBlock::new(f, Array1::from(self.labels))
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
    // One pass: each block is as wide as its own largest index (or `num_features`), and
    // only blocks narrower than the widest are widened afterwards.
    let blocks = ctx
        .read_text_chunks(path, min_partitions, move |lines| {
            let mut rows = LibsvmRows::with_width(num_features.unwrap_or(0));
            let mut features = Vec::new();
            while rows.len() < DEFAULT_BLOCK_ROWS {
                let Some(line) = lines.next_line() else { break };
                let (text, origin) = line?;
                match libsvm_row(text, num_features, &mut features) {
                    Ok(Some(label)) => rows.push(label, &features),
                    Ok(None) => {}
                    Err(m) => return Err(origin.error(m)),
                }
            }
            if rows.len() == 0 {
                return Ok(None);
            }
            Ok(Some(Arc::new(rows.into_block())))
        })
        .map_err(input_error)?
        .persist(StorageLevel::MemoryAndDisk);
    let shapes = blocks
        .map(|b| (b.len(), b.num_features()))
        .collect()
        .map_err(input_error)?;
    if shapes.iter().all(|s| s.0 == 0) {
        let _ = blocks.unpersist();
        return Err(MlError::EmptyInput(path.display().to_string()));
    }
    let d = shapes.iter().map(|s| s.1).max().unwrap_or(0);
    if shapes.iter().all(|s| s.1 == d) {
        return Ok(blocks);
    }
    let wide = blocks
        .map(move |b| {
            if b.num_features() == d {
                b
            } else {
                Arc::new(widened(&b, d))
            }
        })
        .persist(StorageLevel::MemoryAndDisk);
    wide.count().map_err(input_error)?;
    let _ = blocks.unpersist();
    Ok(wide)
}

/// `b` with zero columns added up to `d`.
fn widened(b: &InstanceBlock, d: usize) -> InstanceBlock {
    let mut f = Array2::zeros((b.len(), d));
    f.slice_mut(ndarray::s![.., ..b.num_features()])
        .assign(&b.features);
    InstanceBlock::with_weights(f, b.labels.clone(), b.weights.clone())
}

/// Dense rows of one width being gathered into a block.
#[derive(Default)]
struct DenseRows {
    values: Vec<f64>,
    rows: usize,
    width: usize,
    first: Option<(Arc<PathBuf>, u64)>,
}

impl DenseRows {
    fn push(&mut self, row: &[f64], origin: &firesteel_core::io::LineOrigin<'_>) {
        if self.rows == 0 {
            self.width = row.len();
            self.first = Some((origin.shared_path(), origin.offset()));
        }
        self.values.extend_from_slice(row);
        self.rows += 1;
    }

    fn into_chunk(self) -> Option<DenseChunk> {
        let (path, offset) = self.first?;
        let f = Array2::from_shape_vec((self.rows, self.width), self.values)
            .expect("rows of one width");
        Some(DenseChunk {
            path,
            offset,
            block: Arc::new(InstanceBlock::new(f, Array1::zeros(self.rows))),
        })
    }
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
    load_rows(ctx, path.as_ref(), min_partitions, dense_row, None, None)
}

/// The byte offset of each file's first non-blank line (a CSV header), read on the driver.
fn header_offsets(path: &Path) -> Result<Arc<HashMap<PathBuf, u64>>> {
    use std::io::BufRead;
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| MlError::Io { path: p, source }
    };
    let mut out = HashMap::new();
    for file in resolve_inputs(path).map_err(input_error)? {
        let mut r = std::io::BufReader::new(open_decoded(&file).map_err(input_error)?);
        let (mut offset, mut line) = (0u64, Vec::new());
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line).map_err(io_err(&file))?;
            if n == 0 {
                break;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.insert(file.clone(), offset);
                break;
            }
            offset += n as u64;
        }
    }
    Ok(Arc::new(out))
}

/// Rows of numbers parsed by `parse_row` inside the tasks into cached blocks, with every
/// row as wide as the first; `headers` names each file's line to skip, and `label` the
/// column that holds the label (the others are features).
fn load_rows(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
    parse_row: fn(&str, &mut Vec<f64>) -> std::result::Result<bool, String>,
    headers: Option<Arc<HashMap<PathBuf, u64>>>,
    label: Option<usize>,
) -> Result<Dataset<Arc<InstanceBlock>>> {
    let last_header = headers
        .as_ref()
        .and_then(|h| h.values().max().copied())
        .unwrap_or(0);
    // A block holds rows of one width; a row of another width starts a new block, so that
    // the driver can name the first row, in input order, whose width differs. Each call
    // reads up to a block's worth of rows and returns the blocks they make.
    let chunks = ctx
        .read_text_chunks(path, min_partitions, move |lines| {
            let mut out = Vec::new();
            let mut cur = DenseRows::default();
            let mut row = Vec::new();
            let mut read = 0;
            while read < DEFAULT_BLOCK_ROWS {
                let Some(line) = lines.next_line() else { break };
                let (text, origin) = line?;
                if let Some(h) = &headers {
                    if origin.offset() <= last_header
                        && h.get(origin.path()) == Some(&origin.offset())
                    {
                        continue;
                    }
                }
                match parse_row(text, &mut row) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(m) => return Err(origin.error(m)),
                }
                read += 1;
                if cur.rows > 0 && row.len() != cur.width {
                    out.extend(std::mem::take(&mut cur).into_chunk());
                }
                cur.push(&row, &origin);
            }
            out.extend(cur.into_chunk());
            Ok((!out.is_empty()).then_some(out))
        })
        .map_err(input_error)?
        .flat_map(|chunks| chunks)
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
    if let Some(c) = label.filter(|&c| c >= d) {
        let _ = chunks.unpersist();
        return Err(MlError::DimensionMismatch {
            expected: c + 1,
            got: d,
        });
    }
    let blocks = chunks
        .map(move |c| match label {
            None => c.block,
            Some(col) => {
                let b = &c.block.features;
                let keep: Vec<usize> = (0..b.ncols()).filter(|&j| j != col).collect();
                Arc::new(InstanceBlock::new(
                    b.select(ndarray::Axis(1), &keep),
                    b.column(col).to_owned(),
                ))
            }
        })
        .persist(StorageLevel::MemoryAndDisk);
    blocks.count().map_err(input_error)?;
    let _ = chunks.unpersist();
    Ok(blocks)
}

/// Reads comma-separated numeric rows in parallel, as [`load_dense_file`] reads dense text,
/// into cached blocks: with `has_header`, each file's first non-blank line is skipped; with
/// `label_column = Some(c)`, column `c` is the label and the others are features,
/// otherwise every column is a feature and the labels are 0 (as [`parse_csv`]).
///
/// [`parse_csv`]: super::parse_csv
///
/// ```
/// use firesteel_mllib::data::load_csv_file;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("points.csv");
/// std::fs::write(&path, "x,label,y\n0.5,1,2\n1.5,0,-1\n").unwrap();
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let blocks = load_csv_file(&ctx, &path, true, Some(1), 1).unwrap().collect().unwrap();
/// let b = &blocks[0];
/// assert_eq!(b.features, ndarray::array![[0.5, 2.0], [1.5, -1.0]]);
/// assert_eq!(b.labels.to_vec(), [1.0, 0.0]);
/// ```
///
/// # Errors
/// As [`load_dense_file`]; a label column past the last column is
/// [`MlError::DimensionMismatch`].
pub fn load_csv_file(
    ctx: &Context,
    path: impl AsRef<Path>,
    has_header: bool,
    label_column: Option<usize>,
    min_partitions: usize,
) -> Result<Dataset<Arc<InstanceBlock>>> {
    let path = path.as_ref();
    let headers = if has_header {
        Some(header_offsets(path)?)
    } else {
        None
    };
    load_rows(ctx, path, min_partitions, csv_row, headers, label_column)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_widen_as_indices_grow() {
        let mut r = LibsvmRows::with_width(0);
        r.push(1.0, &[]);
        r.push(0.0, &[(1, 2.0)]);
        r.push(1.0, &[(0, 3.0), (3, 4.0)]);
        r.push(0.0, &[(2, 5.0)]);
        let b = r.into_block();
        let want = ndarray::array![
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 2.0, 0.0, 0.0],
            [3.0, 0.0, 0.0, 4.0],
            [0.0, 0.0, 5.0, 0.0]
        ];
        assert_eq!(b.features, want);
        assert_eq!(b.labels.to_vec(), [1.0, 0.0, 1.0, 0.0]);
        let mut r = LibsvmRows::with_width(5);
        r.push(1.0, &[(4, 1.0)]);
        assert_eq!(
            r.into_block().features,
            ndarray::array![[0.0, 0.0, 0.0, 0.0, 1.0]]
        );
    }
}

//! Loaders and the blocked training-data layout.
//!
//! The `load_*_file` loaders read in parallel, parsing inside tasks (`files`); the
//! `load_*` and `parse_*` functions read on the driver into [`LocalData`].
//!
//! Training data is cached as one record per block: an [`InstanceBlock`] behind an `Arc`,
//! holding a contiguous feature matrix, labels and weights (as Spark ML's `InstanceBlock`).
//! A cached dataset's records are cloned on read, so each read clones a pointer and the
//! algorithms' inner loops run over ndarray matrices.

use std::path::Path;
use std::sync::Arc;

use firesteel_core::io::excerpt;
use firesteel_core::{Context, Dataset};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};

mod fast;
mod files;

pub use files::{input_error, load_csv_file, load_dense_file, load_libsvm_file, load_ratings_file};

/// Default number of rows in one block.
pub const DEFAULT_BLOCK_ROWS: usize = 4096;

/// A block of training instances: row `i` of `features` has label `labels[i]` and weight
/// `weights[i]`.
///
/// Blocks serialize their numbers as byte strings (little-endian `f64`s), not one number
/// at a time: the block store sizes a cached block, and spills or ships it, at the cost of
/// a copy rather than of a walk over every value.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceBlock {
    /// Features, one row per instance.
    pub features: Array2<f64>,
    /// Labels (0 where the data has none).
    pub labels: Array1<f64>,
    /// Instance weights (1 unless given).
    pub weights: Array1<f64>,
}

impl InstanceBlock {
    /// A block with unit weights.
    ///
    /// # Panics
    /// If `labels` does not have one entry per row.
    pub fn new(features: Array2<f64>, labels: Array1<f64>) -> Self {
        assert_eq!(features.nrows(), labels.len(), "one label per row");
        let weights = Array1::ones(labels.len());
        InstanceBlock {
            features,
            labels,
            weights,
        }
    }

    /// A block with explicit weights.
    ///
    /// # Panics
    /// If `labels` or `weights` does not have one entry per row.
    pub fn with_weights(features: Array2<f64>, labels: Array1<f64>, weights: Array1<f64>) -> Self {
        assert_eq!(features.nrows(), labels.len(), "one label per row");
        assert_eq!(features.nrows(), weights.len(), "one weight per row");
        InstanceBlock {
            features,
            labels,
            weights,
        }
    }

    /// Number of instances.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the block has no instances.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features.
    pub fn num_features(&self) -> usize {
        self.features.ncols()
    }
}

/// `f64`s as one byte string of little-endian values.
struct F64Bytes<'a>(&'a [f64]);

impl Serialize for F64Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if cfg!(target_endian = "little") {
            s.serialize_bytes(bytemuck::cast_slice(self.0))
        } else {
            let bytes: Vec<u8> = self.0.iter().flat_map(|v| v.to_le_bytes()).collect();
            s.serialize_bytes(&bytes)
        }
    }
}

fn f64s_of(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// The serialized form of an [`InstanceBlock`].
#[derive(Deserialize)]
struct BlockParts {
    rows: usize,
    cols: usize,
    #[serde(with = "serde_bytes")]
    features: Vec<u8>,
    #[serde(with = "serde_bytes")]
    labels: Vec<u8>,
    #[serde(with = "serde_bytes")]
    weights: Vec<u8>,
}

impl Serialize for InstanceBlock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let standard;
        let features = match self.features.as_slice() {
            Some(f) => f,
            None => {
                standard = self.features.as_standard_layout().into_owned();
                standard.as_slice().expect("standard layout")
            }
        };
        let labels = self.labels.to_vec();
        let weights = self.weights.to_vec();
        let mut st = s.serialize_struct("InstanceBlock", 5)?;
        st.serialize_field("rows", &self.features.nrows())?;
        st.serialize_field("cols", &self.features.ncols())?;
        st.serialize_field("features", &F64Bytes(features))?;
        st.serialize_field("labels", &F64Bytes(&labels))?;
        st.serialize_field("weights", &F64Bytes(&weights))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for InstanceBlock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error;
        let p = BlockParts::deserialize(d)?;
        let (features, labels, weights) = (
            f64s_of(&p.features),
            f64s_of(&p.labels),
            f64s_of(&p.weights),
        );
        if labels.len() != p.rows || weights.len() != p.rows {
            return Err(D::Error::custom(
                "a block needs one label and one weight per row",
            ));
        }
        let features =
            Array2::from_shape_vec((p.rows, p.cols), features).map_err(D::Error::custom)?;
        Ok(InstanceBlock {
            features,
            labels: Array1::from(labels),
            weights: Array1::from(weights),
        })
    }
}

/// A labeled point, the per-record form that [`blockify`] turns into blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledPoint {
    /// The label.
    pub label: f64,
    /// Dense features.
    pub features: Vec<f64>,
}

/// Data loaded on the driver: a feature matrix and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalData {
    /// Features, one row per instance.
    pub features: Array2<f64>,
    /// Labels (0 where the file has none).
    pub labels: Array1<f64>,
}

impl LocalData {
    /// Number of instances.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no instances.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Splits the rows into `num_partitions` contiguous partitions of blocks of at most
    /// `block_rows` rows and caches them (one `Arc<InstanceBlock>` record per block).
    pub fn to_blocks(
        &self,
        ctx: &Context,
        num_partitions: usize,
        block_rows: usize,
    ) -> Dataset<Arc<InstanceBlock>> {
        to_blocks(
            ctx,
            &self.features,
            &self.labels,
            None,
            num_partitions,
            block_rows,
        )
    }
}

/// Caches rows as blocks: `num_partitions` contiguous partitions (at least 1), each cut
/// into blocks of at most `block_rows` rows. Weights default to 1.
pub fn to_blocks(
    ctx: &Context,
    features: &Array2<f64>,
    labels: &Array1<f64>,
    weights: Option<&Array1<f64>>,
    num_partitions: usize,
    block_rows: usize,
) -> Dataset<Arc<InstanceBlock>> {
    let n = features.nrows();
    let parts = num_partitions.max(1);
    let block_rows = block_rows.max(1);
    let mut partitions: Vec<Vec<Arc<InstanceBlock>>> = Vec::with_capacity(parts);
    for p in 0..parts {
        let (lo, hi) = (p * n / parts, (p + 1) * n / parts);
        let mut blocks = Vec::new();
        let mut s = lo;
        while s < hi {
            let e = (s + block_rows).min(hi);
            let f = features.slice(ndarray::s![s..e, ..]).to_owned();
            let l = labels.slice(ndarray::s![s..e]).to_owned();
            let w = match weights {
                Some(w) => w.slice(ndarray::s![s..e]).to_owned(),
                None => Array1::ones(e - s),
            };
            blocks.push(Arc::new(InstanceBlock::with_weights(f, l, w)));
            s = e;
        }
        partitions.push(blocks);
    }
    ctx.parallelize(partitions, parts)
        .flat_map(|blocks| blocks)
        .cache()
}

/// Turns a dataset of labeled points into blocks of at most `block_rows` rows, partition
/// by partition (the result is not cached; call `.cache()` on it).
pub fn blockify(data: &Dataset<LabeledPoint>, block_rows: usize) -> Dataset<Arc<InstanceBlock>> {
    let block_rows = block_rows.max(1);
    data.map_partitions(move |recs| {
        let mut out = Vec::new();
        let mut rows: Vec<LabeledPoint> = Vec::with_capacity(block_rows);
        let flush = |rows: &mut Vec<LabeledPoint>, out: &mut Vec<Arc<InstanceBlock>>| {
            if rows.is_empty() {
                return;
            }
            let d = rows[0].features.len();
            let mut f = Array2::zeros((rows.len(), d));
            let mut l = Array1::zeros(rows.len());
            for (i, r) in rows.iter().enumerate() {
                f.row_mut(i).assign(&ArrayView1::from(&r.features[..]));
                l[i] = r.label;
            }
            out.push(Arc::new(InstanceBlock::new(f, l)));
            rows.clear();
        };
        for r in recs {
            rows.push(r);
            if rows.len() == block_rows {
                flush(&mut rows, &mut out);
            }
        }
        flush(&mut rows, &mut out);
        out
    })
}

fn read_lines(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| MlError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> MlError {
    MlError::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// `s` as a finite number, or a message quoting (a prefix of) it.
fn finite(s: &str, what: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("cannot parse {what} {} as a number", excerpt(s)))?;
    if !v.is_finite() {
        return Err(format!("{what} {} is not finite", excerpt(s)));
    }
    Ok(v)
}

fn parse_finite(path: &Path, line: usize, s: &str, what: &str) -> Result<f64> {
    finite(s, what).map_err(|m| parse_err(path, line, m))
}

/// [`parse_libsvm_line`] without the line's origin: errors are messages.
pub(crate) fn libsvm_row(
    line: &str,
    num_features: Option<usize>,
    features: &mut Vec<(usize, f64)>,
) -> std::result::Result<Option<f64>, String> {
    if let Some(r) = fast::libsvm_row(line, num_features, features) {
        return Ok(r);
    }
    features.clear();
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let mut it = line.split_whitespace();
    let label = finite(it.next().unwrap_or(""), "label")?;
    let mut prev = 0usize;
    for tok in it {
        let (idx, val) = tok
            .split_once(':')
            .ok_or_else(|| format!("expected index:value, got {}", excerpt(tok)))?;
        let idx: usize = idx
            .parse()
            .map_err(|_| format!("bad feature index {}", excerpt(idx)))?;
        if idx == 0 {
            return Err("feature indices are 1-based, got 0".into());
        }
        if idx <= prev {
            return Err(format!(
                "feature indices must be strictly increasing ({idx} after {prev})"
            ));
        }
        if let Some(n) = num_features {
            if idx > n {
                return Err(format!("feature index {idx} exceeds num_features {n}"));
            }
        }
        prev = idx;
        features.push((idx - 1, finite(val, "feature value")?));
    }
    Ok(Some(label))
}

/// Parses one LIBSVM line (`label index:value ...`, 1-based strictly increasing indices),
/// line `line_no` (1-based) of `path`, which errors name: returns the label and leaves the
/// features in `features` as `(index, value)` pairs with 0-based indices. `features` is
/// cleared first, so that a caller parsing many lines reuses one buffer. Blank lines and
/// lines starting with `#` give `None`. With `num_features`, larger indices are an error.
///
/// [`parse_libsvm`] parses a whole text with it; a job that reads a file with
/// `Context::text_file` can call it inside its tasks.
///
/// ```
/// use std::path::Path;
/// use firesteel_mllib::data::parse_libsvm_line;
///
/// let p = Path::new("train.libsvm");
/// let mut features = Vec::new();
/// let label = parse_libsvm_line("1 1:0.5 3:2", p, 7, Some(3), &mut features).unwrap();
/// assert_eq!((label, features.as_slice()), (Some(1.0), &[(0, 0.5), (2, 2.0)][..]));
/// assert_eq!(parse_libsvm_line("# comment", p, 8, None, &mut features).unwrap(), None);
/// let e = parse_libsvm_line("1 4:1", p, 9, Some(3), &mut features).unwrap_err();
/// assert_eq!(e.to_string(), "train.libsvm:9: feature index 4 exceeds num_features 3");
/// ```
///
/// # Errors
/// [`MlError::Parse`] naming `path:line_no` for a label or value that is not a finite
/// number, a token that is not `index:value`, or an index that is 0, not increasing or
/// above `num_features`.
pub fn parse_libsvm_line(
    line: &str,
    path: &Path,
    line_no: usize,
    num_features: Option<usize>,
    features: &mut Vec<(usize, f64)>,
) -> Result<Option<f64>> {
    libsvm_row(line, num_features, features).map_err(|m| parse_err(path, line_no, m))
}

/// Parses LIBSVM text (`label index:value ...`, 1-based ascending indices), line by line
/// with [`parse_libsvm_line`]. Empty lines and lines starting with `#` are skipped.
/// `num_features` is inferred as the largest index when `None`; when given, larger indices
/// are an error.
pub fn parse_libsvm(text: &str, path: &Path, num_features: Option<usize>) -> Result<LocalData> {
    let mut labels = Vec::new();
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut max_index = 0usize;
    let mut row = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(label) = parse_libsvm_line(line, path, i + 1, num_features, &mut row)? else {
            continue;
        };
        max_index = max_index.max(row.last().map_or(0, |&(j, _)| j + 1));
        labels.push(label);
        rows.push(std::mem::take(&mut row));
    }
    if rows.is_empty() {
        return Err(MlError::EmptyInput(path.display().to_string()));
    }
    let d = num_features.unwrap_or(max_index);
    let mut features = Array2::zeros((rows.len(), d));
    for (i, row) in rows.iter().enumerate() {
        for &(j, v) in row {
            features[[i, j]] = v;
        }
    }
    Ok(LocalData {
        features,
        labels: Array1::from(labels),
    })
}

/// Loads a LIBSVM file (see [`parse_libsvm`]).
pub fn load_libsvm(path: impl AsRef<Path>, num_features: Option<usize>) -> Result<LocalData> {
    let path = path.as_ref();
    parse_libsvm(&read_lines(path)?, path, num_features)
}

fn rows_to_matrix(path: &Path, rows: Vec<(usize, Vec<f64>)>) -> Result<Array2<f64>> {
    let d = match rows.first() {
        Some((_, r)) => r.len(),
        None => return Err(MlError::EmptyInput(path.display().to_string())),
    };
    let mut m = Array2::zeros((rows.len(), d));
    for (i, (ln, r)) in rows.into_iter().enumerate() {
        if r.len() != d {
            return Err(parse_err(
                path,
                ln,
                format!("expected {d} values, found {}", r.len()),
            ));
        }
        m.row_mut(i).assign(&Array1::from(r));
    }
    Ok(m)
}

/// Parses one line of whitespace-separated numbers, line `line_no` (1-based) of `path`,
/// which errors name, into `values` (cleared first, so that a caller parsing many lines
/// reuses one buffer). Returns whether the line held a row: a blank line gives `false`.
///
/// [`parse_dense`] parses a whole text with it; a job that reads a file with
/// `Context::text_file` can call it inside its tasks.
///
/// ```
/// use std::path::Path;
/// use firesteel_mllib::data::parse_dense_line;
///
/// let p = Path::new("points.txt");
/// let mut row = Vec::new();
/// assert!(parse_dense_line(" 1 2.5\t-3 ", p, 1, &mut row).unwrap());
/// assert_eq!(row, [1.0, 2.5, -3.0]);
/// assert!(!parse_dense_line("  ", p, 2, &mut row).unwrap());
/// let e = parse_dense_line("1 x", p, 3, &mut row).unwrap_err();
/// assert_eq!(e.to_string(), "points.txt:3: cannot parse value \"x\" as a number");
/// ```
///
/// # Errors
/// [`MlError::Parse`] naming `path:line_no` for a value that is not a finite number.
pub fn parse_dense_line(
    line: &str,
    path: &Path,
    line_no: usize,
    values: &mut Vec<f64>,
) -> Result<bool> {
    dense_row(line, values).map_err(|m| parse_err(path, line_no, m))
}

/// One line of comma-separated numbers (each trimmed), as [`parse_csv`] reads them: whether
/// it held a row (a blank line does not). Errors are messages.
pub(crate) fn csv_row(line: &str, values: &mut Vec<f64>) -> std::result::Result<bool, String> {
    values.clear();
    let line = line.trim();
    if line.is_empty() {
        return Ok(false);
    }
    for t in line.split(',') {
        values.push(finite(t, "value")?);
    }
    Ok(true)
}

/// [`parse_dense_line`] without the line's origin: errors are messages.
pub(crate) fn dense_row(line: &str, values: &mut Vec<f64>) -> std::result::Result<bool, String> {
    if let Some(any) = fast::dense_row(line, values) {
        return Ok(any);
    }
    values.clear();
    for t in line.split_whitespace() {
        values.push(finite(t, "value")?);
    }
    Ok(!values.is_empty())
}

/// Parses whitespace-separated dense vectors, one per line (as `kmeans_data.txt`), line by
/// line with [`parse_dense_line`]. Empty lines are skipped; every row must have the same
/// width.
pub fn parse_dense(text: &str, path: &Path) -> Result<Array2<f64>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut r = Vec::new();
        if parse_dense_line(line, path, i + 1, &mut r)? {
            rows.push((i + 1, r));
        }
    }
    rows_to_matrix(path, rows)
}

/// Loads whitespace-separated dense vectors (see [`parse_dense`]).
pub fn load_dense(path: impl AsRef<Path>) -> Result<Array2<f64>> {
    let path = path.as_ref();
    parse_dense(&read_lines(path)?, path)
}

/// Parses comma-separated numeric rows. With `has_header` the first non-empty line is
/// skipped. With `label_column = Some(c)`, column `c` is the label and the others are
/// features; otherwise all columns are features and labels are 0.
pub fn parse_csv(
    text: &str,
    path: &Path,
    has_header: bool,
    label_column: Option<usize>,
) -> Result<LocalData> {
    let mut rows = Vec::new();
    let mut header_pending = has_header;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if header_pending {
            header_pending = false;
            continue;
        }
        let r = line
            .split(',')
            .map(|t| parse_finite(path, i + 1, t, "value"))
            .collect::<Result<Vec<_>>>()?;
        rows.push((i + 1, r));
    }
    let m = rows_to_matrix(path, rows)?;
    match label_column {
        None => Ok(LocalData {
            labels: Array1::zeros(m.nrows()),
            features: m,
        }),
        Some(c) => {
            if c >= m.ncols() {
                return Err(MlError::DimensionMismatch {
                    expected: c + 1,
                    got: m.ncols(),
                });
            }
            let labels = m.column(c).to_owned();
            let keep: Vec<usize> = (0..m.ncols()).filter(|&j| j != c).collect();
            let features = m.select(Axis(1), &keep);
            Ok(LocalData { features, labels })
        }
    }
}

/// Loads a CSV file (see [`parse_csv`]).
pub fn load_csv(
    path: impl AsRef<Path>,
    has_header: bool,
    label_column: Option<usize>,
) -> Result<LocalData> {
    let path = path.as_ref();
    parse_csv(&read_lines(path)?, path, has_header, label_column)
}

/// One rating of an item by a user.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// The user id.
    pub user: u32,
    /// The item id.
    pub item: u32,
    /// The rating (or, in implicit mode, the strength of the interaction).
    pub rating: f32,
}

/// One line of ratings, `user::item::rating[::timestamp]` or `user,item,rating[,timestamp]`
/// (errors are messages). A blank line gives `None`, and so does a header: a CSV line whose
/// user field is not a number, when `may_be_header` (the file's first line).
pub(crate) fn rating_row(
    line: &str,
    may_be_header: bool,
) -> std::result::Result<Option<Rating>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let movielens = line.contains("::");
    let sep = if movielens { "::" } else { "," };
    let mut fields = [""; 4];
    let mut n = 0;
    for t in line.split(sep) {
        if n < 4 {
            fields[n] = t.trim();
        }
        n += 1;
    }
    if may_be_header && !movielens && fields[0].parse::<f64>().is_err() {
        return Ok(None); // CSV header
    }
    if !(3..=4).contains(&n) {
        return Err(format!(
            "expected user, item, rating[, timestamp], found {n} fields"
        ));
    }
    let user: u32 = fields[0]
        .parse()
        .map_err(|_| format!("bad user id {}", excerpt(fields[0])))?;
    let item: u32 = fields[1]
        .parse()
        .map_err(|_| format!("bad item id {}", excerpt(fields[1])))?;
    let rating = finite(fields[2], "rating")? as f32;
    Ok(Some(Rating { user, item, rating }))
}

/// Parses ratings, either MovieLens `user::item::rating[::timestamp]` or CSV
/// `user,item,rating[,timestamp]`, detected per line. A first CSV line whose user field is
/// not a number is taken as a header and skipped.
pub fn parse_ratings(text: &str, path: &Path) -> Result<Vec<Rating>> {
    let mut out = Vec::new();
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let is_first = std::mem::replace(&mut first, false);
        if let Some(r) = rating_row(line, is_first).map_err(|m| parse_err(path, i + 1, m))? {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(MlError::EmptyInput(path.display().to_string()));
    }
    Ok(out)
}

/// Loads ratings (see [`parse_ratings`]).
pub fn load_ratings(path: impl AsRef<Path>) -> Result<Vec<Rating>> {
    let path = path.as_ref();
    parse_ratings(&read_lines(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("mem.txt")
    }

    #[test]
    fn libsvm_parses_and_infers_width() {
        let d = parse_libsvm("1 1:0.5 3:2\n\n# c\n0 2:1\n", p(), None).unwrap();
        assert_eq!(d.features.shape(), &[2, 3]);
        assert_eq!(d.features[[0, 2]], 2.0);
        assert_eq!(d.features[[1, 1]], 1.0);
        assert_eq!(d.labels.to_vec(), vec![1.0, 0.0]);
        let d = parse_libsvm("1 1:0.5\n", p(), Some(5)).unwrap();
        assert_eq!(d.features.ncols(), 5);
    }

    #[test]
    fn libsvm_errors_name_the_line() {
        let e = parse_libsvm("1 1:1\n1 0:1\n", p(), None).unwrap_err();
        assert!(e.to_string().starts_with("mem.txt:2:"), "{e}");
        let e = parse_libsvm("1 2:1 2:3\n", p(), None).unwrap_err();
        assert!(e.to_string().contains("increasing"), "{e}");
        let e = parse_libsvm("1 3:1\n", p(), Some(2)).unwrap_err();
        assert!(e.to_string().contains("exceeds"), "{e}");
        let e = parse_libsvm("1 1:NaN\n", p(), None).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
        let e = parse_libsvm("inf 1:1\n", p(), None).unwrap_err();
        assert!(e.to_string().contains("not finite"), "{e}");
        let e = parse_libsvm("1 1-1\n", p(), None).unwrap_err();
        assert!(matches!(e, MlError::Parse { line: 1, .. }));
        assert!(matches!(
            parse_libsvm("\n# only comments\n", p(), None),
            Err(MlError::EmptyInput(_))
        ));
    }

    #[test]
    fn libsvm_line_parser() {
        let mut f = Vec::new();
        let label = parse_libsvm_line("  -1 2:0.25 5:3  ", p(), 4, None, &mut f).unwrap();
        assert_eq!(
            (label, f.as_slice()),
            (Some(-1.0), &[(1, 0.25), (4, 3.0)][..])
        );
        let label = parse_libsvm_line("0", p(), 1, Some(2), &mut f).unwrap();
        assert_eq!((label, f.len()), (Some(0.0), 0), "the buffer is cleared");
        assert_eq!(parse_libsvm_line("", p(), 1, None, &mut f).unwrap(), None);
        assert_eq!(
            parse_libsvm_line("# c", p(), 1, None, &mut f).unwrap(),
            None
        );
        let e = parse_libsvm_line("1 1:1 x", p(), 12, None, &mut f).unwrap_err();
        assert!(matches!(e, MlError::Parse { line: 12, .. }), "{e}");
        assert_eq!(e.to_string(), "mem.txt:12: expected index:value, got \"x\"");
        let e = parse_libsvm_line("yes 1:1", p(), 3, None, &mut f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem.txt:3: cannot parse label \"yes\" as a number"
        );
        let e = parse_libsvm_line("1 1:a", p(), 5, None, &mut f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem.txt:5: cannot parse feature value \"a\" as a number"
        );
    }

    #[test]
    fn dense_line_parser() {
        let mut r = Vec::new();
        assert!(parse_dense_line("0.5 -2 1e3", p(), 1, &mut r).unwrap());
        assert_eq!(r, [0.5, -2.0, 1000.0]);
        assert!(!parse_dense_line("\t", p(), 1, &mut r).unwrap());
        assert!(r.is_empty(), "the buffer is cleared");
        let e = parse_dense_line("1 2 three", p(), 7, &mut r).unwrap_err();
        assert!(matches!(e, MlError::Parse { line: 7, .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "mem.txt:7: cannot parse value \"three\" as a number"
        );
        let e = parse_dense_line("1 -inf", p(), 2, &mut r).unwrap_err();
        assert_eq!(e.to_string(), "mem.txt:2: value \"-inf\" is not finite");
    }

    #[test]
    fn dense_and_csv() {
        let m = parse_dense("0 0 1\n1 2 3\n", p()).unwrap();
        assert_eq!(m.shape(), &[2, 3]);
        let e = parse_dense("0 0 1\n1 2\n", p()).unwrap_err();
        assert!(e.to_string().starts_with("mem.txt:2:"), "{e}");
        assert!(parse_dense("1 inf\n", p()).is_err());
        assert!(matches!(parse_dense("", p()), Err(MlError::EmptyInput(_))));
        let d = parse_csv("y,a,b\n1,2,3\n0,4,5\n", p(), true, Some(0)).unwrap();
        assert_eq!(d.labels.to_vec(), vec![1.0, 0.0]);
        assert_eq!(d.features.row(1).to_vec(), vec![4.0, 5.0]);
        let e = parse_csv("1,2\n3,x\n", p(), false, None).unwrap_err();
        assert!(e.to_string().starts_with("mem.txt:2:"), "{e}");
        assert!(parse_csv("1,nan\n", p(), false, None).is_err());
    }

    #[test]
    fn ratings_both_formats() {
        let r = parse_ratings("0::2::3::1424380312\n1::5::1\n", p()).unwrap();
        assert_eq!(
            r[0],
            Rating {
                user: 0,
                item: 2,
                rating: 3.0
            }
        );
        assert_eq!(r.len(), 2);
        let r = parse_ratings("userId,movieId,rating\n4,7,2.5\n", p()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].rating, 2.5);
        let e = parse_ratings("1,2,3\n-1,2,3\n", p()).unwrap_err();
        assert!(e.to_string().starts_with("mem.txt:2:"), "{e}");
        assert!(parse_ratings("1,2,NaN\n", p()).is_err());
        assert!(parse_ratings("1,2\n", p()).is_err());
        assert!(matches!(
            parse_ratings("\n", p()),
            Err(MlError::EmptyInput(_))
        ));
    }

    /// Blocks survive the engine's own serialization (spill files, serialized caching),
    /// bit for bit, whatever their layout.
    #[test]
    fn blocks_round_trip_through_serialized_storage() {
        use firesteel_core::StorageLevel;
        let x = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 * 0.1 - 0.7);
        let w = Array1::from(vec![1.0, 2.0, 0.5, -0.0, f64::MIN_POSITIVE]);
        let plain =
            InstanceBlock::with_weights(x.clone(), Array1::from(vec![1.0, 0.0, 1.0, 2.0, 0.0]), w);
        // A transposed (column-major) view serializes as its logical rows too.
        use ndarray::ShapeBuilder;
        let column_major =
            Array2::from_shape_vec((5, 3).f(), (0..15).map(f64::from).collect()).unwrap();
        assert!(column_major.as_slice().is_none());
        let t = InstanceBlock::new(column_major, Array1::zeros(5));
        let ctx = Context::local(2).unwrap();
        for level in [StorageLevel::MemoryOnlySer, StorageLevel::DiskOnly] {
            let ds = ctx
                .parallelize(vec![Arc::new(plain.clone()), Arc::new(t.clone())], 2)
                .persist(level);
            ds.count().unwrap();
            let back = ds.collect().unwrap();
            assert_eq!(*back[0], plain, "{level:?}");
            assert_eq!(*back[1], t, "{level:?}");
        }
    }

    #[test]
    fn blockify_cuts_partitions_into_blocks() {
        let ctx = Context::local(2).unwrap();
        let pts: Vec<LabeledPoint> = (0..7)
            .map(|i| LabeledPoint {
                label: i as f64,
                features: vec![i as f64, -(i as f64)],
            })
            .collect();
        let blocks = blockify(&ctx.parallelize(pts, 2), 2).collect().unwrap();
        // Partitions of 3 and 4 rows (or 4 and 3) give blocks of at most 2 rows.
        assert_eq!(blocks.len(), 4);
        assert!(blocks.iter().all(|b| b.len() <= 2 && b.num_features() == 2));
        let labels: Vec<f64> = blocks.iter().flat_map(|b| b.labels.to_vec()).collect();
        assert_eq!(labels, (0..7).map(|i| i as f64).collect::<Vec<_>>());
        assert_eq!(blocks[0].features[[1, 1]], -1.0);
        let x = ndarray::Array2::from_shape_fn((5, 1), |(i, _)| i as f64);
        let cached = to_blocks(&ctx, &x, &Array1::zeros(5), None, 2, 2);
        assert_eq!(cached.num_partitions(), 2);
        let sizes: Vec<usize> = cached.collect().unwrap().iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = load_dense("/nonexistent/firesteel.txt").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/firesteel.txt"));
    }
}

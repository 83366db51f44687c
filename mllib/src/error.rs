//! Errors of the ML library.

use std::path::PathBuf;

/// The result type of this crate.
pub type Result<T, E = MlError> = std::result::Result<T, E>;

/// Everything that can go wrong in loading data, checking parameters, training and
/// saving models. Parameter rules each have their own variant so that callers (and tests)
/// can tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// An I/O error on a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A malformed line in an input file.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// The input has no records.
    #[error("{0}: no records")]
    EmptyInput(String),
    /// The engine failed.
    #[error("engine: {0}")]
    Engine(#[from] firesteel_core::Error),
    /// Rows of different widths, or a model applied to data of the wrong width.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The expected number of features.
        expected: usize,
        /// The number found.
        got: usize,
    },
    /// A label that the algorithm cannot use (for example a non-integer class).
    #[error("invalid label {0}")]
    InvalidLabel(f64),
    /// `k` must be at least 2 (k-means).
    #[error("k must be > 1, got {0}")]
    InvalidK(usize),
    /// `tol` must be finite and non-negative.
    #[error("tol must be finite and >= 0, got {0}")]
    InvalidTol(f64),
    /// `init_steps` must be at least 1 (k-means||).
    #[error("init_steps must be > 0, got {0}")]
    InvalidInitSteps(usize),
    /// `reg_param` must be finite and non-negative.
    #[error("reg_param must be finite and >= 0, got {0}")]
    InvalidRegParam(f64),
    /// `elastic_net_param` must lie in [0, 1].
    #[error("elastic_net_param must be in [0, 1], got {0}")]
    InvalidElasticNetParam(f64),
    /// `threshold` must lie in [0, 1].
    #[error("threshold must be in [0, 1], got {0}")]
    InvalidThreshold(f64),
    /// The binomial family was asked for with more than two classes.
    #[error("binomial family supports 1 or 2 classes, found {0}")]
    BinomialWithMoreClasses(usize),
    /// `rank` must be at least 1 (ALS).
    #[error("rank must be > 0, got {0}")]
    InvalidRank(usize),
    /// `alpha` must be finite and non-negative (implicit ALS).
    #[error("alpha must be finite and >= 0, got {0}")]
    InvalidAlpha(f64),
    /// Block counts must be at least 1 (ALS).
    #[error("num_user_blocks and num_item_blocks must be > 0, got {0}")]
    InvalidNumBlocks(usize),
    /// `checkpoint_interval` must be -1 (off) or at least 1.
    #[error("checkpoint_interval must be -1 or >= 1, got {0}")]
    InvalidCheckpointInterval(i64),
    /// A model file that is not valid JSON or not a model.
    #[error("{path}: corrupt model file: {message}")]
    CorruptModel {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model file of another kind (for example a k-means model loaded as ALS).
    #[error("{path}: model kind mismatch: expected {expected}, found {found}")]
    ModelKindMismatch {
        /// The file.
        path: PathBuf,
        /// The kind asked for.
        expected: String,
        /// The kind in the file.
        found: String,
    },
    /// A model file written by an incompatible format version.
    #[error("{path}: unsupported model format version {found} (this build reads {supported})")]
    ModelVersionMismatch {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The optimizer failed (for example a non-finite objective).
    #[error("optimization failed: {0}")]
    Optimization(String),
}

//! Errors of the ML library.

use std::fmt;
use std::path::PathBuf;

/// The result type of this crate.
pub type Result<T, E = MlError> = std::result::Result<T, E>;

/// Everything that can go wrong in loading data, checking parameters, training and
/// saving models. Parameter rules each have their own [`ParamError`] variant, wrapped in
/// [`MlError::InvalidParam`], so that callers (and tests) can tell them apart.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// A parameter breaks one of its rules (each rule has its own [`ParamError`] variant).
    #[error(transparent)]
    InvalidParam(#[from] ParamError),
    /// The binomial family was asked for with more than two classes.
    #[error("binomial family supports 1 or 2 classes, found {0}")]
    BinomialWithMoreClasses(usize),
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

/// A parameter that breaks one of its rules, as found by
/// [`ParamGuard::check`](crate::ParamGuard::check). Each rule has its own variant, which
/// holds the offending value; [`param`](Self::param) names the parameter (as its builder
/// method does) and [`rule`](Self::rule) states the rule. The rules are Spark's.
///
/// # Examples
///
/// ```
/// use firesteel_mllib::kmeans::KMeans;
/// use firesteel_mllib::{ParamError, ParamGuard};
///
/// let err = KMeans::params(1).check().unwrap_err();
/// assert_eq!(err, ParamError::K(1));
/// assert_eq!((err.param(), err.rule()), ("k", "> 1"));
/// assert_eq!(err.to_string(), "k must be > 1, got 1");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ParamError {
    /// `k` must be at least 2 (k-means).
    K(usize),
    /// `tol` must be finite and non-negative.
    Tol(f64),
    /// `init_steps` must be at least 1 (k-means||).
    InitSteps(usize),
    /// `aggregation_depth` must be at least 1.
    AggregationDepth(usize),
    /// `reg_param` must be finite and non-negative.
    RegParam(f64),
    /// `elastic_net_param` must lie in [0, 1].
    ElasticNetParam(f64),
    /// `threshold` must lie in [0, 1].
    Threshold(f64),
    /// `rank` must be from 1 to [`MAX_RANK`](crate::als::MAX_RANK) (ALS).
    Rank(usize),
    /// `alpha` must be finite and non-negative (implicit ALS).
    Alpha(f64),
    /// `num_user_blocks` must be at least 1 (ALS).
    NumUserBlocks(usize),
    /// `num_item_blocks` must be at least 1 (ALS).
    NumItemBlocks(usize),
    /// `checkpoint_interval` must be -1 (off) or at least 1 (ALS).
    CheckpointInterval(i64),
}

impl ParamError {
    /// The parameter's name, as its builder method spells it.
    pub fn param(&self) -> &'static str {
        match self {
            Self::K(_) => "k",
            Self::Tol(_) => "tol",
            Self::InitSteps(_) => "init_steps",
            Self::AggregationDepth(_) => "aggregation_depth",
            Self::RegParam(_) => "reg_param",
            Self::ElasticNetParam(_) => "elastic_net_param",
            Self::Threshold(_) => "threshold",
            Self::Rank(_) => "rank",
            Self::Alpha(_) => "alpha",
            Self::NumUserBlocks(_) => "num_user_blocks",
            Self::NumItemBlocks(_) => "num_item_blocks",
            Self::CheckpointInterval(_) => "checkpoint_interval",
        }
    }

    /// The rule the value must obey.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::K(_) => "> 1",
            Self::Tol(_) | Self::RegParam(_) | Self::Alpha(_) => "finite and >= 0",
            Self::Rank(_) => "from 1 to 4096",
            Self::InitSteps(_)
            | Self::AggregationDepth(_)
            | Self::NumUserBlocks(_)
            | Self::NumItemBlocks(_) => ">= 1",
            Self::ElasticNetParam(_) | Self::Threshold(_) => "in [0, 1]",
            Self::CheckpointInterval(_) => "-1 or >= 1",
        }
    }

    /// `Ok` when the value held obeys the rule, else `Err(self)`: each params type's
    /// `check` is one call of this per rule, so that a rule's test, name and wording sit
    /// together here.
    pub(crate) fn check(self) -> Result<(), Self> {
        let holds = match self {
            Self::K(k) => k > 1,
            Self::Tol(v) | Self::RegParam(v) | Self::Alpha(v) => v.is_finite() && v >= 0.0,
            Self::Rank(n) => (1..=crate::als::MAX_RANK).contains(&n),
            Self::InitSteps(n)
            | Self::AggregationDepth(n)
            | Self::NumUserBlocks(n)
            | Self::NumItemBlocks(n) => n >= 1,
            Self::ElasticNetParam(v) | Self::Threshold(v) => (0.0..=1.0).contains(&v),
            Self::CheckpointInterval(n) => n == -1 || n >= 1,
        };
        if holds {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} must be {}, got ", self.param(), self.rule())?;
        match self {
            Self::K(n)
            | Self::InitSteps(n)
            | Self::AggregationDepth(n)
            | Self::Rank(n)
            | Self::NumUserBlocks(n)
            | Self::NumItemBlocks(n) => write!(f, "{n}"),
            Self::Tol(v)
            | Self::RegParam(v)
            | Self::ElasticNetParam(v)
            | Self::Threshold(v)
            | Self::Alpha(v) => write!(f, "{v}"),
            Self::CheckpointInterval(n) => write!(f, "{n}"),
        }
    }
}

impl std::error::Error for ParamError {}

//! Errors of the graph library.

use std::path::PathBuf;

/// The result type of the graph library.
pub type Result<T, E = GraphError> = std::result::Result<T, E>;

/// What can go wrong building or processing a graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// A line of an edge list could not be parsed.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// An edge list could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An argument was invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An algorithm's parameter broke one of its rules (GraphX's `require`s), as the
    /// algorithms' configurations check them ([`PageRankConfig::check`] and the like).
    ///
    /// [`PageRankConfig::check`]: crate::algorithms::PageRankConfig::check
    #[error("invalid parameter {name} = {value}: {rule}")]
    InvalidParameter {
        /// The parameter, as the configuration names it (`reset_prob`, `tol`, ...).
        name: &'static str,
        /// The rejected value, formatted.
        value: String,
        /// The rule it broke (`must be in [0, 1]`, ...).
        rule: &'static str,
    },
    /// The engine failed (a job, a shuffle, a checkpoint).
    #[error(transparent)]
    Engine(#[from] firesteel_core::Error),
}

impl GraphError {
    /// A [`GraphError::InvalidParameter`].
    pub(crate) fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        rule: &'static str,
    ) -> Self {
        GraphError::InvalidParameter {
            name,
            value: value.to_string(),
            rule,
        }
    }
}

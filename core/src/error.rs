//! Error types of the engine.

use std::fmt;
use std::path::PathBuf;

/// The result type used throughout firesteel-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the engine.
///
/// I/O errors name their path, parse errors name `path:line`, and a failed job carries the
/// stage, the partition and the cause of its last attempt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on a file or directory failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"reading"`, `"writing"`, ...).
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of an input file could not be parsed.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number (0 when only a byte offset is known, see `message`).
        line: u64,
        /// What was wrong.
        message: String,
    },
    /// Serialization or deserialization of records failed (spill, cache or checkpoint files).
    #[error("serialization failed: {0}")]
    Serde(String),
    /// The job was cancelled (its job group, or all jobs; see
    /// [`Context::cancel_job_group`](crate::Context::cancel_job_group)).
    #[error("{0}")]
    Cancelled(String),
    /// An argument to an operation was invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An input glob matched no file.
    #[error("input pattern {0} matches no files")]
    NoMatch(String),
    /// The output of `save_as_text_file` already exists.
    #[error("output path {0} already exists")]
    OutputExists(PathBuf),
    /// A job failed because one of its tasks ran out of attempts.
    #[error("job {job} aborted: stage {stage} ({stage_name}) partition {partition} failed {attempts} time(s); last cause: {cause}")]
    JobFailed {
        /// The job id.
        job: usize,
        /// The stage id.
        stage: usize,
        /// A description of the stage (its final dataset).
        stage_name: String,
        /// The partition whose task failed.
        partition: usize,
        /// How many attempts were made.
        attempts: usize,
        /// The error of the last attempt.
        #[source]
        cause: Box<Error>,
    },
    /// A task panicked; the payload message is kept.
    #[error("task panicked: {0}")]
    TaskPanicked(String),
    /// A task failed for a reason given by user code or fault injection; the task is
    /// retried.
    #[error("task failed: {0}")]
    TaskFailed(String),
    /// A task failed in a way every attempt would repeat (wrong credentials, a table that
    /// already exists, a schema that does not match): the job fails at once, without
    /// retries. See [`Error::is_retryable`].
    #[error("{0}")]
    Unrecoverable(String),
    /// The map output a reduce task needed is gone; the scheduler re-runs the map task.
    #[error("shuffle {shuffle} output of map partition {map_partition} is missing")]
    FetchFailed {
        /// The shuffle id.
        shuffle: usize,
        /// The map partition whose output is missing.
        map_partition: usize,
    },
    /// An action needed at least one record.
    #[error("{0} on an empty dataset")]
    EmptyDataset(&'static str),
    /// Building the thread pool failed.
    #[error("could not build the thread pool: {0}")]
    ThreadPool(String),
    /// Cluster mode could not start or run: connecting, handshakes, timeouts, bad messages.
    #[error("cluster: {0}")]
    Cluster(String),
    /// A peer process of the cluster went away (it exited, crashed or was killed).
    #[error("cluster: lost peer rank {rank} ({address}): {cause}")]
    PeerLost {
        /// The lost peer's rank.
        rank: usize,
        /// The lost peer's address.
        address: String,
        /// What the network layer reported.
        cause: String,
    },
    /// The processes of a cluster built different plans (the program is not SPMD).
    #[error("cluster: plan mismatch: {0}")]
    PlanMismatch(String),
    /// A job failed on another process of the cluster.
    #[error("cluster: job failed on rank {rank}: {message}")]
    Remote {
        /// The rank where it failed.
        rank: usize,
        /// The error there.
        message: String,
    },
}

impl Error {
    /// Builds an I/O error naming the operation (`"reading"`, `"renaming"`, ...) and the
    /// path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn serde(e: impl fmt::Display) -> Self {
        Error::Serde(e.to_string())
    }

    /// Builds a parse error naming `path:line`.
    pub fn parse(path: impl Into<PathBuf>, line: u64, message: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }

    /// Builds an error that fails the current task (and, after retries, the job).
    pub fn task_failed(message: impl Into<String>) -> Self {
        Error::TaskFailed(message.into())
    }

    /// Whether a task that failed with this error is tried again. Bad input
    /// ([`Error::Parse`]), invalid arguments, an output that exists, an input glob that
    /// matches nothing and [`Error::Unrecoverable`] fail the same way every time, so the
    /// job fails at once; anything else (I/O, a lost connection, a panic) is retried up to
    /// the context's task attempts, as Spark retries a failed task.
    ///
    /// ```
    /// use firesteel_core::Error;
    ///
    /// assert!(Error::task_failed("connection reset").is_retryable());
    /// assert!(!Error::Unrecoverable("table t already exists".into()).is_retryable());
    /// assert!(!Error::parse("in.txt", 3, "bad number").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Error::Parse { .. }
                | Error::InvalidArgument(_)
                | Error::OutputExists(_)
                | Error::NoMatch(_)
                | Error::Unrecoverable(_)
                | Error::Cancelled(_)
        )
    }

    /// The innermost cause of a job failure, or the error itself.
    pub fn root_cause(&self) -> &Error {
        match self {
            Error::JobFailed { cause, .. } => cause.root_cause(),
            e => e,
        }
    }
}

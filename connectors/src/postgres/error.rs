//! [`PgError`]: what went wrong, in one line that names the server and the table.

/// An error of the PostgreSQL source or sink. Every message is one line and names the
/// source: the server as `user@host:port/database` and, where there is one, the table or
/// query.
///
/// Inside tasks it becomes a [`firesteel_core::Error`] through `From` (a task failure,
/// retried as any other; an invalid option becomes
/// [`Error::InvalidArgument`](firesteel_core::Error::InvalidArgument)).
///
/// ```
/// use firesteel_connectors::postgres::PgError;
///
/// let e = PgError::NoSuchTable {
///     server: "app@db:5432/shop".into(),
///     table: "orders".into(),
/// };
/// assert_eq!(e.to_string(), "postgres app@db:5432/shop: table orders does not exist");
/// let core: firesteel_core::Error = e.into();
/// assert!(core.to_string().contains("table orders does not exist"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// The server could not be reached (refused, unknown host, timeout, closed).
    #[error("postgres {server}: cannot connect: {message}")]
    Connect {
        /// `user@host:port/database`.
        server: String,
        /// The cause.
        message: String,
    },
    /// The server refused the user's credentials (or none were found).
    #[error("postgres {server}: authentication failed: {message}")]
    Auth {
        /// `user@host:port/database`.
        server: String,
        /// The cause.
        message: String,
    },
    /// The table read or written does not exist.
    #[error("postgres {server}: table {table} does not exist")]
    NoSuchTable {
        /// `user@host:port/database`.
        server: String,
        /// The table.
        table: String,
    },
    /// The sink's table exists and the save mode is
    /// [`ErrorIfExists`](super::SaveMode::ErrorIfExists).
    #[error("postgres {server}: table {table} already exists (save mode ErrorIfExists)")]
    TableExists {
        /// `user@host:port/database`.
        server: String,
        /// The table.
        table: String,
    },
    /// A statement failed on the server, or a row could not be converted.
    #[error("postgres {server}, {what}: {message}")]
    Query {
        /// `user@host:port/database`.
        server: String,
        /// The table or query, and what was being done.
        what: String,
        /// The cause.
        message: String,
    },
    /// A URL, a `.pgpass` file or an option is invalid.
    #[error("postgres: {0}")]
    InvalidOption(String),
}

impl PgError {
    /// Adds what was being done (`"reading table orders"`) to a connection or
    /// authentication error, which otherwise names only the server.
    pub fn context(self, what: &str) -> PgError {
        match self {
            PgError::Connect { server, message } => PgError::Connect {
                server,
                message: format!("{message} ({what})"),
            },
            PgError::Auth { server, message } => PgError::Auth {
                server,
                message: format!("{message} ({what})"),
            },
            e => e,
        }
    }
}

impl From<PgError> for firesteel_core::Error {
    fn from(e: PgError) -> Self {
        // What every attempt would repeat fails the job at once; a lost connection or a
        // failed statement is retried, as Spark retries a failed task.
        match e {
            PgError::InvalidOption(_) => firesteel_core::Error::InvalidArgument(e.to_string()),
            PgError::Auth { .. } | PgError::NoSuchTable { .. } | PgError::TableExists { .. } => {
                firesteel_core::Error::Unrecoverable(e.to_string())
            }
            e => firesteel_core::Error::TaskFailed(e.to_string()),
        }
    }
}

/// The message of a driver error, on one line: a server error's message (with its detail
/// and hint), or the error and its causes joined by `": "`.
pub(crate) fn one_line(e: &::postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!(" (hint: {h})"));
        }
        return s.replace('\n', " ");
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cause = c.source();
    }
    s.replace('\n', " ")
}

/// Classifies a driver error from connecting or running a statement about `table`.
pub(crate) fn classify(
    e: &::postgres::Error,
    server: &str,
    table: Option<&str>,
    what: &str,
) -> PgError {
    use ::postgres::error::SqlState;
    let message = one_line(e);
    if let Some(code) = e.code() {
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return PgError::Auth {
                server: server.to_string(),
                message,
            };
        }
        if *code == SqlState::UNDEFINED_TABLE {
            if let Some(t) = table {
                return PgError::NoSuchTable {
                    server: server.to_string(),
                    table: t.to_string(),
                };
            }
        }
        if code.code().starts_with("08") || *code == SqlState::INVALID_CATALOG_NAME {
            return PgError::Connect {
                server: server.to_string(),
                message,
            };
        }
    } else if message.contains("password missing") {
        return PgError::Auth {
            server: server.to_string(),
            message: "no password given (in the URL, PGPASSWORD or ~/.pgpass)".into(),
        };
    } else if e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
    {
        return PgError::Connect {
            server: server.to_string(),
            message,
        };
    }
    PgError::Query {
        server: server.to_string(),
        what: what.to_string(),
        message,
    }
}

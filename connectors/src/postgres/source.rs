//! [`PgSource`]: a table or a query read in parallel by ranges of a column, as Spark's
//! JDBC source reads it, each partition fetched through a cursor in batches.

use std::sync::Arc;

use ::postgres::types::Type;
use ::postgres::{Client, Row, Statement};
use firesteel_core::io::{DataSource, RecordBatches};

use super::config::{PgConfig, PgUrl};
use super::error::{classify, PgError};
use super::partition::{column_partition, ColumnKind};
use super::row::{BoxError, FromRow};

/// Spark's default `fetchsize` for PostgreSQL is the driver's (everything at once); a
/// cursor needs a batch size, and a thousand rows keep round trips and memory small.
pub const DEFAULT_FETCH_SIZE: usize = 1000;

/// Options of a [`PgSource`], as Spark's JDBC options: a `table` or a `query`, and
/// optionally a `partition_column` with `lower_bound`, `upper_bound` and
/// `num_partitions`.
///
/// ```no_run
/// use firesteel_connectors::postgres::{PgConfig, PgSource};
/// use firesteel_core::Context;
///
/// let cfg = PgConfig::new("127.0.0.1", 5432, "app", "shop").password("pw");
/// let source = PgSource::builder(cfg)
///     .table("orders")
///     .partition_column("id")
///     .lower_bound(0)
///     .upper_bound(1_000_000)
///     .num_partitions(8)
///     .build::<(i64, Option<String>)>()
///     .unwrap();
/// let ctx = Context::local(4).unwrap();
/// let orders = ctx.read_source(source);
/// println!("{} orders", orders.count().unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct PgSourceBuilder {
    config: PgConfig,
    table: Option<String>,
    query: Option<String>,
    partition_column: Option<String>,
    lower_bound: Option<String>,
    upper_bound: Option<String>,
    num_partitions: Option<usize>,
    fetch_size: usize,
    columns: String,
}

impl PgSourceBuilder {
    /// Reads a table: any SQL that may follow `FROM` (Spark's `dbtable`), such as
    /// `orders`, `shop.orders` or `"Orders"`.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Reads the result of a query (Spark's `query`), as the subquery
    /// `(query) AS firesteel_query`; a partition column names one of its output columns
    /// (Spark refuses a partition column with `query`; Firesteel allows it).
    pub fn query(mut self, query: impl Into<String>) -> Self {
        self.query = Some(query.into());
        self
    }

    /// Reads in ranges of this column (an integer, date or timestamp column; matched
    /// exactly, else ignoring case, as Spark resolves it).
    pub fn partition_column(mut self, column: impl Into<String>) -> Self {
        self.partition_column = Some(column.into());
        self
    }

    /// Where the ranges start: an integer, `yyyy-mm-dd` or `yyyy-mm-dd hh:mm:ss[.f]`.
    /// Only the stride depends on it: rows below it are read too, by partition 0. Without
    /// it, the column's minimum (a Firesteel extension).
    pub fn lower_bound(mut self, bound: impl ToString) -> Self {
        self.lower_bound = Some(bound.to_string());
        self
    }

    /// Where the ranges end; rows above it are read by the last partition. Without it,
    /// the column's maximum.
    pub fn upper_bound(mut self, bound: impl ToString) -> Self {
        self.upper_bound = Some(bound.to_string());
        self
    }

    /// How many ranges (fewer when the bounds are closer than that).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.num_partitions = Some(n);
        self
    }

    /// Rows fetched per round trip (Spark's `fetchsize`; [`DEFAULT_FETCH_SIZE`] by
    /// default; 0 means the default).
    pub fn fetch_size(mut self, rows: usize) -> Self {
        self.fetch_size = if rows == 0 { DEFAULT_FETCH_SIZE } else { rows };
        self
    }

    /// The select list (SQL, `*` by default).
    pub fn columns(mut self, columns: impl Into<String>) -> Self {
        self.columns = columns.into();
        self
    }

    /// Builds a source of records made by [`FromRow`]. With a partition column, this
    /// connects once to check the column and, without bounds, to find its range.
    pub fn build<T: FromRow + 'static>(self) -> Result<PgSource<T>, PgError> {
        self.build_with(T::from_row)
    }

    /// Builds a source of records made by `f` from each row.
    ///
    /// ```no_run
    /// use firesteel_connectors::postgres::{PgConfig, PgSource};
    ///
    /// let cfg = PgConfig::new("127.0.0.1", 5432, "app", "shop");
    /// let names = PgSource::builder(cfg)
    ///     .query("SELECT id, name FROM people WHERE active")
    ///     .build_with(|row| Ok(format!("{}: {}", row.try_get::<_, i64>(0)?, row.try_get::<_, String>(1)?)))
    ///     .unwrap();
    /// ```
    pub fn build_with<T, F>(self, f: F) -> Result<PgSource<T>, PgError>
    where
        F: Fn(&Row) -> Result<T, BoxError> + Send + Sync + 'static,
    {
        let (relation, what, table) = match (&self.table, &self.query) {
            (Some(t), None) => (t.clone(), format!("table {t}"), Some(t.clone())),
            (None, Some(q)) => (
                format!("({q}) AS firesteel_query"),
                format!("query {}", short(q)),
                None,
            ),
            (Some(_), Some(_)) => {
                return Err(PgError::InvalidOption(
                    "both a table and a query were given; give one".into(),
                ))
            }
            (None, None) => {
                return Err(PgError::InvalidOption(
                    "give a table or a query to read".into(),
                ))
            }
        };
        let server = self.config.server();
        let clauses = match &self.partition_column {
            None => {
                if self.lower_bound.is_some() || self.upper_bound.is_some() {
                    return Err(PgError::InvalidOption(format!(
                        "{what}: bounds were given without a partition column"
                    )));
                }
                vec![None]
            }
            Some(col) => {
                let n = self.num_partitions.ok_or_else(|| {
                    PgError::InvalidOption(format!(
                        "{what}: a partition column needs num_partitions"
                    ))
                })?;
                let mut client = self
                    .config
                    .connect()
                    .map_err(|e| e.context(&format!("reading {what}")))?;
                let err = |e: ::postgres::Error, doing: &str| {
                    classify(&e, &server, table.as_deref(), &format!("{what}, {doing}"))
                };
                let stmt = client
                    .prepare(&format!("SELECT * FROM {relation}"))
                    .map_err(|e| err(e, "reading its columns"))?;
                let (name, ty) = resolve_column(&stmt, col).map_err(|m| PgError::Query {
                    server: server.clone(),
                    what: what.clone(),
                    message: m,
                })?;
                let kind = column_kind(&ty).ok_or_else(|| PgError::Query {
                    server: server.clone(),
                    what: what.clone(),
                    message: format!(
                        "partition column type should be numeric, date, or timestamp, \
                         but {ty} found"
                    ),
                })?;
                let quoted = quote_ident(&name);
                let mut lower = self
                    .lower_bound
                    .as_deref()
                    .map(|b| kind.parse_bound(b))
                    .transpose()?;
                let mut upper = self
                    .upper_bound
                    .as_deref()
                    .map(|b| kind.parse_bound(b))
                    .transpose()?;
                if lower.is_none() || upper.is_none() {
                    let (lo, hi) = min_max(kind, &quoted);
                    let row = client
                        .query_one(&format!("SELECT {lo}, {hi} FROM {relation}"), &[])
                        .map_err(|e| err(e, "finding the partition column's range"))?;
                    let min: Option<i64> = row.get(0);
                    let max: Option<i64> = row.get(1);
                    lower = lower.or(min);
                    upper = upper.or(max);
                }
                match (lower, upper) {
                    (Some(lo), Some(hi)) => column_partition(&quoted, kind, lo, hi, n)?,
                    // No non-null values: one partition reads everything.
                    _ => vec![None],
                }
            }
        };
        Ok(PgSource {
            config: self.config,
            relation,
            what,
            table,
            columns: self.columns,
            clauses,
            fetch_size: self.fetch_size,
            map_row: Arc::new(f),
        })
    }
}

/// A PostgreSQL table or query as a [`DataSource`]: one partition per WHERE clause of
/// its partition column's ranges (see [`column_partition`]), each read inside its task on
/// its own connection, in a read-only transaction, through a cursor fetched
/// [`fetch_size`](PgSourceBuilder::fetch_size) rows at a time, so a partition is never
/// held in memory whole. As in Spark, each partition reads its own snapshot: rows
/// changed while the job runs may be seen by one partition and not another.
///
/// ```no_run
/// use firesteel_connectors::postgres::{PgSource, Value};
/// use firesteel_core::Context;
///
/// let source = PgSource::from_url(
///     "postgres://app:pw@127.0.0.1:5432/shop?table=orders&partition_column=created\
///      &lower_bound=2024-01-01&upper_bound=2025-01-01&num_partitions=12",
/// )
/// .unwrap()
/// .build::<Vec<Value>>()
/// .unwrap();
/// let ctx = Context::local(4).unwrap();
/// let rows = ctx.read_source(source).collect().unwrap();
/// ```
pub struct PgSource<T> {
    config: PgConfig,
    relation: String,
    what: String,
    table: Option<String>,
    columns: String,
    clauses: Vec<Option<String>>,
    fetch_size: usize,
    map_row: Arc<dyn Fn(&Row) -> Result<T, BoxError> + Send + Sync>,
}

impl<T> std::fmt::Debug for PgSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSource")
            .field("server", &self.config.server())
            .field("relation", &self.relation)
            .field("clauses", &self.clauses)
            .field("fetch_size", &self.fetch_size)
            .finish_non_exhaustive()
    }
}

impl PgSource<()> {
    /// A builder for a source on the server of `config`.
    pub fn builder(config: PgConfig) -> PgSourceBuilder {
        PgSourceBuilder {
            config,
            table: None,
            query: None,
            partition_column: None,
            lower_bound: None,
            upper_bound: None,
            num_partitions: None,
            fetch_size: DEFAULT_FETCH_SIZE,
            columns: "*".to_string(),
        }
    }

    /// A builder from a `postgres://` URL with its read options (see [`PgUrl`]).
    pub fn from_url(url: &str) -> Result<PgSourceBuilder, PgError> {
        Ok(Self::from_parsed_url(PgUrl::parse(url)?))
    }

    /// A builder from a parsed URL.
    pub fn from_parsed_url(u: PgUrl) -> PgSourceBuilder {
        let mut b = Self::builder(u.config);
        b.table = u.table;
        b.query = u.query;
        b.partition_column = u.partition_column;
        b.lower_bound = u.lower_bound;
        b.upper_bound = u.upper_bound;
        b.num_partitions = u.num_partitions;
        if let Some(n) = u.fetch_size {
            b = b.fetch_size(n);
        }
        if let Some(c) = u.columns {
            b.columns = c;
        }
        b
    }
}

impl<T> PgSource<T> {
    /// The WHERE clause of each partition (`None`: no WHERE clause).
    pub fn where_clauses(&self) -> &[Option<String>] {
        &self.clauses
    }

    /// The query that partition `partition` runs.
    pub fn partition_query(&self, partition: usize) -> Option<String> {
        let clause = self.clauses.get(partition)?;
        Some(match clause {
            Some(w) => format!("SELECT {} FROM {} WHERE {w}", self.columns, self.relation),
            None => format!("SELECT {} FROM {}", self.columns, self.relation),
        })
    }
}

impl<T: 'static> DataSource<T> for PgSource<T> {
    fn name(&self) -> String {
        format!("postgres {} on {}", self.what, self.config.server())
    }

    fn num_partitions(&self) -> usize {
        self.clauses.len()
    }

    fn read_partition(&self, partition: usize) -> firesteel_core::Result<RecordBatches<T>> {
        let sql = self.partition_query(partition).ok_or_else(|| {
            firesteel_core::Error::InvalidArgument(format!(
                "{}: no partition {partition}",
                self.name()
            ))
        })?;
        let server = self.config.server();
        let what = format!("{}, partition {partition}", self.what);
        let mut client = self
            .config
            .connect()
            .map_err(|e| e.context(&format!("reading {what}")))?;
        let err = |e: ::postgres::Error| -> firesteel_core::Error {
            classify(&e, &server, self.table.as_deref(), &what).into()
        };
        client
            .batch_execute(&format!(
                "BEGIN READ ONLY; DECLARE firesteel_cursor NO SCROLL CURSOR FOR {sql}"
            ))
            .map_err(err)?;
        let fetch = client
            .prepare(&format!(
                "FETCH FORWARD {} FROM firesteel_cursor",
                self.fetch_size
            ))
            .map_err(err)?;
        Ok(Box::new(Batches {
            client: Some(client),
            fetch,
            fetch_size: self.fetch_size,
            map_row: self.map_row.clone(),
            server,
            table: self.table.clone(),
            what,
            row: 0,
        }))
    }
}

/// The batches of one partition, fetched from its cursor.
struct Batches<T> {
    client: Option<Client>,
    fetch: Statement,
    fetch_size: usize,
    map_row: Arc<dyn Fn(&Row) -> Result<T, BoxError> + Send + Sync>,
    server: String,
    table: Option<String>,
    what: String,
    row: u64,
}

impl<T> Iterator for Batches<T> {
    type Item = firesteel_core::Result<Vec<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let client = self.client.as_mut()?;
        let rows = match client.query(&self.fetch, &[]) {
            Ok(rows) => rows,
            Err(e) => {
                self.client = None;
                return Some(Err(classify(
                    &e,
                    &self.server,
                    self.table.as_deref(),
                    &self.what,
                )
                .into()));
            }
        };
        if rows.len() < self.fetch_size {
            // The cursor is exhausted: end the transaction and close the connection.
            if let Some(mut c) = self.client.take() {
                let _ = c.batch_execute("COMMIT");
            }
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            self.row += 1;
            match (self.map_row)(r) {
                Ok(x) => out.push(x),
                Err(e) => {
                    self.client = None;
                    let e = PgError::Query {
                        server: self.server.clone(),
                        what: self.what.clone(),
                        message: format!(
                            "row {} cannot be converted: {}",
                            self.row,
                            e.to_string().replace('\n', " ")
                        ),
                    };
                    return Some(Err(e.into()));
                }
            }
        }
        Some(Ok(out))
    }
}

/// The column of `stmt`'s output named `name`: exactly, else ignoring ASCII case if only
/// one matches.
fn resolve_column(stmt: &Statement, name: &str) -> Result<(String, Type), String> {
    let cols = stmt.columns();
    let unquoted = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .map(|n| n.replace("\"\"", "\""));
    let want = unquoted.as_deref().unwrap_or(name);
    if let Some(c) = cols.iter().find(|c| c.name() == want) {
        return Ok((c.name().to_string(), c.type_().clone()));
    }
    let folded: Vec<_> = cols
        .iter()
        .filter(|c| c.name().eq_ignore_ascii_case(want))
        .collect();
    if folded.len() == 1 {
        return Ok((folded[0].name().to_string(), folded[0].type_().clone()));
    }
    let names: Vec<&str> = cols.iter().map(|c| c.name()).collect();
    Err(format!(
        "partition column {name} not found (columns: {})",
        names.join(", ")
    ))
}

fn column_kind(ty: &Type) -> Option<ColumnKind> {
    match *ty {
        Type::INT2 | Type::INT4 | Type::INT8 | Type::NUMERIC | Type::FLOAT4 | Type::FLOAT8 => {
            Some(ColumnKind::Integer)
        }
        Type::DATE => Some(ColumnKind::Date),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => Some(ColumnKind::Timestamp),
        _ => None,
    }
}

/// SQL for the column's minimum and maximum as the bounds' internal `bigint` values.
fn min_max(kind: ColumnKind, col: &str) -> (String, String) {
    match kind {
        ColumnKind::Integer => (
            format!("floor(min({col})::numeric)::int8"),
            format!("ceil(max({col})::numeric)::int8"),
        ),
        ColumnKind::Date => (
            format!("(min({col}) - DATE '1970-01-01')::int8"),
            format!("(max({col}) - DATE '1970-01-01')::int8"),
        ),
        ColumnKind::Timestamp => (
            format!("floor(extract(epoch from min({col})) * 1000000)::int8"),
            format!("ceil(extract(epoch from max({col})) * 1000000)::int8"),
        ),
    }
}

/// `"name"`, with inner quotes doubled.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The first line of a query, cut to 60 characters, for messages.
fn short(q: &str) -> String {
    let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}...", one.chars().take(57).collect::<String>())
    } else {
        one
    }
}

//! Where the server is and who connects: [`PgConfig`], the `postgres://` URL ([`PgUrl`])
//! and the password lookup (the URL, then `PGPASSWORD`, then the `.pgpass` file).

use std::path::PathBuf;
use std::time::Duration;

use super::error::{classify, PgError};

/// How to reach a PostgreSQL server: host, port, user, password and database.
///
/// Without a password, connecting looks one up as libpq does: the `PGPASSWORD` environment
/// variable, then the password file (`PGPASSFILE`, else `~/.pgpass`; ignored when group or
/// others can read it).
///
/// ```
/// use firesteel_connectors::postgres::PgConfig;
///
/// let cfg = PgConfig::new("db.example.com", 5432, "app", "shop").password("secret");
/// assert_eq!(cfg.server(), "app@db.example.com:5432/shop");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// The host name or address.
    pub host: String,
    /// The TCP port (5432 by default).
    pub port: u16,
    /// The user name.
    pub user: String,
    /// The password, if given (else `PGPASSWORD`, else `.pgpass`).
    pub password: Option<String>,
    /// The database.
    pub dbname: String,
    /// How long to wait for a connection (10 s by default).
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("server", &self.server())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl PgConfig {
    /// A configuration without a password (see [`password`](Self::password)).
    pub fn new(
        host: impl Into<String>,
        port: u16,
        user: impl Into<String>,
        dbname: impl Into<String>,
    ) -> Self {
        PgConfig {
            host: host.into(),
            port,
            user: user.into(),
            password: None,
            dbname: dbname.into(),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// `user@host:port/database`, the server as errors name it (never the password).
    pub fn server(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{}@{}:{}/{}", self.user, host, self.port, self.dbname)
    }

    /// The password to use: the configured one, else `PGPASSWORD`, else a matching line of
    /// the password file (`PGPASSFILE`, else `~/.pgpass`).
    pub fn resolve_password(&self) -> Option<String> {
        if let Some(p) = &self.password {
            return Some(p.clone());
        }
        if let Ok(p) = std::env::var("PGPASSWORD") {
            return Some(p);
        }
        let path = match std::env::var_os("PGPASSFILE") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // libpq ignores a password file that group or others can read.
            let meta = std::fs::metadata(&path).ok()?;
            if meta.permissions().mode() & 0o077 != 0 {
                return None;
            }
        }
        let contents = std::fs::read_to_string(&path).ok()?;
        pgpass_lookup(&contents, &self.host, self.port, &self.dbname, &self.user)
    }

    /// Opens a connection (no TLS), with the session's time zone set to UTC so that date
    /// and timestamp bounds read and print the same everywhere.
    ///
    /// ```no_run
    /// use firesteel_connectors::postgres::PgConfig;
    ///
    /// let cfg = PgConfig::new("127.0.0.1", 5432, "firesteel", "firesteel").password("pw");
    /// let mut client = cfg.connect().unwrap();
    /// let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    /// assert_eq!(one, 1);
    /// ```
    pub fn connect(&self) -> Result<::postgres::Client, PgError> {
        let mut c = ::postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name("firesteel")
            .connect_timeout(self.connect_timeout);
        if let Some(p) = self.resolve_password() {
            c.password(p);
        }
        let server = self.server();
        let mut client = c.connect(::postgres::NoTls).map_err(|e| {
            match classify(&e, &server, None, "connecting") {
                PgError::Query { message, .. } => PgError::Connect {
                    server: server.clone(),
                    message,
                },
                other => other,
            }
        })?;
        client
            .batch_execute("SET TIME ZONE 'UTC'")
            .map_err(|e| classify(&e, &server, None, "setting the time zone"))?;
        Ok(client)
    }
}

/// A parsed `postgres://` URL: the connection and the read options that the CLI passes
/// to [`PgSource`](super::PgSource) (Spark's JDBC options, in snake case).
///
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB?table=T&partition_column=C&num_partitions=N&lower_bound=L&upper_bound=U`
///
/// Spark's own names are accepted too (`dbtable`, `partitionColumn`, `lowerBound`,
/// `upperBound`, `numPartitions`, `fetchsize`).
/// Also `postgresql://`; `query=SQL` instead of `table`; `fetch_size=N`; `columns=a,b`;
/// `connect_timeout=SECONDS`; `sslmode=disable|allow|prefer` (TLS is not supported).
/// Components are percent-decoded. Without a user, `PGUSER` or `USER`; without a database,
/// the user name; without a port, 5432.
///
/// ```
/// use firesteel_connectors::postgres::PgUrl;
///
/// let u = PgUrl::parse(
///     "postgres://app:s%40cret@db:6543/shop?table=orders&partition_column=id\
///      &num_partitions=8&lower_bound=0&upper_bound=1000000",
/// )
/// .unwrap();
/// assert_eq!(u.config.server(), "app@db:6543/shop");
/// assert_eq!(u.config.password.as_deref(), Some("s@cret"));
/// assert_eq!(u.table.as_deref(), Some("orders"));
/// assert_eq!(u.num_partitions, Some(8));
/// assert_eq!(u.upper_bound.as_deref(), Some("1000000"));
/// assert!(PgUrl::parse("mysql://db/x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgUrl {
    /// The connection.
    pub config: PgConfig,
    /// `table`: the relation to read or write (any SQL valid after `FROM`).
    pub table: Option<String>,
    /// `query`: a query to read instead of a table.
    pub query: Option<String>,
    /// `partition_column`: the column to read by ranges.
    pub partition_column: Option<String>,
    /// `lower_bound`: where the ranges start (text: an integer, a date or a timestamp).
    pub lower_bound: Option<String>,
    /// `upper_bound`: where the ranges end.
    pub upper_bound: Option<String>,
    /// `num_partitions`: how many ranges.
    pub num_partitions: Option<usize>,
    /// `fetch_size`: rows per round trip.
    pub fetch_size: Option<usize>,
    /// `columns`: the columns to read (SQL, `*` by default).
    pub columns: Option<String>,
}

impl PgUrl {
    /// Parses a URL (see the type's documentation). Errors never show the password.
    pub fn parse(url: &str) -> Result<PgUrl, PgError> {
        let bad = |m: &str| PgError::InvalidOption(format!("invalid URL {}: {m}", redact(url)));
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .ok_or_else(|| bad("it must start with postgres:// or postgresql://"))?;
        let (main, params) = match rest.split_once('?') {
            Some((m, p)) => (m, Some(p)),
            None => (rest, None),
        };
        let (authority, path) = match main.split_once('/') {
            Some((a, p)) => (a, p),
            None => (main, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (
                    decode(u).map_err(|m| bad(&m))?,
                    Some(decode(p).map_err(|m| bad(&m))?),
                ),
                None => (decode(u).map_err(|m| bad(&m))?, None),
            },
            None => (String::new(), None),
        };
        let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("junk after the host"))?,
                ),
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (decode(h).map_err(|m| bad(&m))?, Some(p)),
                None => (decode(hostport).map_err(|m| bad(&m))?, None),
            }
        };
        let port = match port {
            None | Some("") => 5432,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| bad(&format!("invalid port {p:?}")))?,
        };
        let host = if host.is_empty() {
            "localhost".to_string()
        } else {
            host
        };
        let user = if user.is_empty() {
            std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .map_err(|_| bad("no user name (and neither PGUSER nor USER is set)"))?
        } else {
            user
        };
        let dbname = decode(path).map_err(|m| bad(&m))?;
        let dbname = if dbname.is_empty() {
            user.clone()
        } else {
            dbname
        };
        let mut config = PgConfig::new(host, port, user, dbname);
        config.password = password;
        let mut u = PgUrl {
            config,
            table: None,
            query: None,
            partition_column: None,
            lower_bound: None,
            upper_bound: None,
            num_partitions: None,
            fetch_size: None,
            columns: None,
        };
        for pair in params.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k).map_err(|m| bad(&m))?;
            let v = decode(v).map_err(|m| bad(&m))?;
            let count = |v: &str| {
                v.parse::<usize>()
                    .map_err(|_| bad(&format!("{k} must be a non-negative integer, not {v:?}")))
            };
            match k.as_str() {
                "table" | "dbtable" => u.table = Some(v),
                "query" => u.query = Some(v),
                "partition_column" | "partitionColumn" => u.partition_column = Some(v),
                "lower_bound" | "lowerBound" => u.lower_bound = Some(v),
                "upper_bound" | "upperBound" => u.upper_bound = Some(v),
                "num_partitions" | "numPartitions" => u.num_partitions = Some(count(&v)?),
                "fetch_size" | "fetchsize" => u.fetch_size = Some(count(&v)?),
                "columns" => u.columns = Some(v),
                "connect_timeout" => {
                    u.config.connect_timeout = Duration::from_secs(count(&v)? as u64)
                }
                "sslmode" => match v.as_str() {
                    "disable" | "allow" | "prefer" => {}
                    _ => return Err(bad(&format!("sslmode={v} is not supported (no TLS)"))),
                },
                "user" => u.config.user = v,
                "password" => u.config.password = Some(v),
                "dbname" => u.config.dbname = v,
                "host" => u.config.host = v,
                "port" => {
                    u.config.port = v
                        .parse::<u16>()
                        .map_err(|_| bad(&format!("invalid port {v:?}")))?
                }
                _ => return Err(bad(&format!("unknown parameter {k:?}"))),
            }
        }
        Ok(u)
    }
}

/// The URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!(
                "{}{user}:***@{host}{}",
                &url[..scheme_end + 3],
                &rest[auth_end..]
            )
        }
        _ => url.to_string(),
    }
}

/// Percent-decoding (`%41` is `A`); the result must be UTF-8.
fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent escapes are not UTF-8".to_string())
}

/// The password of the first line of a libpq password file that matches: lines are
/// `hostname:port:database:username:password`, `*` in the first four fields matches
/// anything, `\` escapes `:` and `\`, and lines starting with `#` are comments.
///
/// ```
/// use firesteel_connectors::postgres::pgpass_lookup;
///
/// let file = "# comment\ndb:5432:shop:app:one\n*:*:*:app:two\n";
/// assert_eq!(pgpass_lookup(file, "db", 5432, "shop", "app").as_deref(), Some("one"));
/// assert_eq!(pgpass_lookup(file, "other", 1, "x", "app").as_deref(), Some("two"));
/// assert_eq!(pgpass_lookup(file, "db", 5432, "shop", "root"), None);
/// ```
pub fn pgpass_lookup(
    contents: &str,
    host: &str,
    port: u16,
    dbname: &str,
    user: &str,
) -> Option<String> {
    let port = port.to_string();
    let wanted = [host, port.as_str(), dbname, user];
    for line in contents.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        // Split on unescaped colons, unescaping as we go; the fifth field is the rest.
        let mut fields: Vec<(String, bool)> = Vec::with_capacity(5); // (text, was it exactly `*`)
        let mut cur = String::new();
        let mut raw_star = true;
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    raw_star = false;
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                ':' if fields.len() < 4 => {
                    let star = raw_star && cur == "*";
                    fields.push((std::mem::take(&mut cur), star));
                    raw_star = true;
                }
                c => cur.push(c),
            }
        }
        if fields.len() < 4 {
            continue;
        }
        fields.push((cur, false));
        let matches = fields
            .iter()
            .zip(wanted)
            .all(|((text, star), want)| *star || text == want);
        if matches {
            return Some(fields[4].0.clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = PgUrl::parse("postgres://firesteel:pw@127.0.0.1:55432/firesteel").unwrap();
        assert_eq!(
            u.config,
            PgConfig::new("127.0.0.1", 55432, "firesteel", "firesteel").password("pw")
        );
        assert_eq!(u.table, None);

        let u = PgUrl::parse(
            "postgresql://a%20b@[::1]/d%2Fb?query=SELECT%20*%20FROM%20t&fetch_size=10\
             &partition_column=ts&lower_bound=2018-07-06%2000:00:00&upper_bound=2019-01-01\
             &num_partitions=3&sslmode=disable&columns=a,b",
        )
        .unwrap();
        assert_eq!(u.config.host, "::1");
        assert_eq!(u.config.port, 5432);
        assert_eq!(u.config.user, "a b");
        assert_eq!(u.config.dbname, "d/b");
        assert_eq!(u.config.password, None);
        assert_eq!(u.config.server(), "a b@[::1]:5432/d/b");
        assert_eq!(u.query.as_deref(), Some("SELECT * FROM t"));
        assert_eq!(u.fetch_size, Some(10));
        assert_eq!(u.partition_column.as_deref(), Some("ts"));
        assert_eq!(u.lower_bound.as_deref(), Some("2018-07-06 00:00:00"));
        assert_eq!(u.num_partitions, Some(3));
        assert_eq!(u.columns.as_deref(), Some("a,b"));

        // Spark's option names.
        let u = PgUrl::parse(
            "postgres://u@h/d?dbtable=t&partitionColumn=c&lowerBound=1&upperBound=9&numPartitions=2&fetchsize=5",
        )
        .unwrap();
        assert_eq!(
            (
                u.table.as_deref(),
                u.partition_column.as_deref(),
                u.num_partitions,
                u.fetch_size
            ),
            (Some("t"), Some("c"), Some(2), Some(5))
        );
        assert_eq!(
            (u.lower_bound.as_deref(), u.upper_bound.as_deref()),
            (Some("1"), Some("9"))
        );

        // No database: the user's name.
        let u = PgUrl::parse("postgres://app@h").unwrap();
        assert_eq!(u.config.dbname, "app");
        // A password with a colon and an @.
        let u = PgUrl::parse("postgres://app:a:b@c@h:1/d").unwrap();
        assert_eq!(u.config.password.as_deref(), Some("a:b@c"));
        assert_eq!(u.config.host, "h");
    }

    #[test]
    fn bad_urls_are_errors_without_the_password() {
        for url in [
            "http://u:secret@h/d",
            "postgres://u:secret@h:notaport/d",
            "postgres://u:secret@h:0/d",
            "postgres://u:secret@h/d?num_partitions=many",
            "postgres://u:secret@h/d?what=1",
            "postgres://u:secret@h/d?sslmode=require",
            "postgres://u:secret@h/d%zz",
            "postgres://u:secret@[::1/d",
        ] {
            let e = PgUrl::parse(url).unwrap_err().to_string();
            assert!(!e.contains("secret"), "{e}");
            assert!(e.starts_with("postgres: invalid URL"), "{e}");
            assert!(!e.contains('\n'));
        }
        assert_eq!(
            redact("postgres://u:secret@h/d?x=1"),
            "postgres://u:***@h/d?x=1"
        );
    }

    #[test]
    fn pgpass_matching_as_libpq() {
        let file = "\
# host:port:db:user:password
localhost:5432:*:alice:pw1
db.example.com:*:shop:*:pw2
*:*:*:carol:pass\\:with\\\\colon
h\\:x:1:d:u:a:b:c
*:*:*:*:fallback
";
        assert_eq!(
            pgpass_lookup(file, "localhost", 5432, "any", "alice").as_deref(),
            Some("pw1")
        );
        assert_eq!(
            pgpass_lookup(file, "localhost", 5433, "any", "alice").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pgpass_lookup(file, "db.example.com", 1, "shop", "bob").as_deref(),
            Some("pw2")
        );
        assert_eq!(
            pgpass_lookup(file, "x", 1, "y", "carol").as_deref(),
            Some("pass:with\\colon")
        );
        // An escaped colon in the host; the password keeps its unescaped colons.
        assert_eq!(
            pgpass_lookup(file, "h:x", 1, "d", "u").as_deref(),
            Some("a:b:c")
        );
        // An escaped star is a literal star.
        assert_eq!(pgpass_lookup("\\*:1:d:u:p", "h", 1, "d", "u"), None);
        assert_eq!(
            pgpass_lookup("\\*:1:d:u:p", "*", 1, "d", "u").as_deref(),
            Some("p")
        );
        // Short lines are skipped.
        assert_eq!(pgpass_lookup("h:1:d\n", "h", 1, "d", "u"), None);
        assert_eq!(pgpass_lookup("", "h", 1, "d", "u"), None);
    }
}

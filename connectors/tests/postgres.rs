//! The PostgreSQL source and sink against a real server.
//!
//! The server's URL comes from `FIRESTEEL_PG_URL` (`eval "$(.ci/postgres start)"` starts a
//! throwaway one and sets it). Without it these tests are skipped, loudly, unless
//! `FIRESTEEL_REQUIRE_PG=1` (as in CI), which makes them fail.

#![cfg(feature = "postgres")]

mod common;

use common::{server, server_url};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use firesteel_connectors::postgres::client::Client;
use firesteel_connectors::postgres::{
    Date, PgConfig, PgError, PgSink, PgSource, PgUrl, SaveMode, Timestamp, Value,
};
use firesteel_core::io::{DataSource, RecordBatches};
use firesteel_core::Context;

fn config(url: &str) -> PgConfig {
    PgUrl::parse(url).unwrap().config
}

fn client(url: &str) -> Client {
    config(url).connect().unwrap()
}

fn ctx() -> Context {
    Context::local(4).unwrap()
}

/// Sorted multiset of the rows of `sql`, as generic rows.
fn select(url: &str, sql: &str) -> Vec<String> {
    let mut c = client(url);
    let mut rows: Vec<String> = c
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| {
            let v: Vec<Value> = (0..r.len()).map(|i| r.get::<_, Value>(i)).collect();
            format!("{v:?}")
        })
        .collect();
    rows.sort();
    rows
}

fn sorted_debug<T: std::fmt::Debug>(rows: Vec<T>) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    v.sort();
    v
}

#[test]
fn integer_ranges_read_every_row_once() {
    let url = server!("integer_ranges_read_every_row_once");
    let mut c = client(&url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t_int;
         CREATE TABLE t_int (id integer, name text);
         INSERT INTO t_int SELECT i, 'n' || i FROM generate_series(-50, 149) i;
         INSERT INTO t_int VALUES (NULL, 'null one'), (NULL, 'null two'), (1000, 'far');",
    )
    .unwrap();
    let expected = select(&url, "SELECT id, name FROM t_int");
    assert_eq!(expected.len(), 203);

    // Bounds inside the data: rows below 0 and above 100 are read too.
    let source = PgSource::from_url(&format!(
        "{url}?table=t_int&partition_column=id&lower_bound=0&upper_bound=100&num_partitions=4&fetch_size=7"
    ))
    .unwrap()
    .columns("id, name")
    .build::<Vec<Value>>()
    .unwrap();
    assert_eq!(source.num_partitions(), 4);
    assert_eq!(
        source.where_clauses()[0].as_deref(),
        Some("\"id\" < 25 or \"id\" is null")
    );
    let ds = ctx().read_source(source);
    assert_eq!(ds.num_partitions(), 4);
    // Each partition holds its range: partition 0 the 75 rows below 25 and the NULLs.
    let sizes: Vec<usize> = ds.glom().collect().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![75 + 2, 25, 25, 75 + 1]);
    assert_eq!(sorted_debug(ds.collect().unwrap()), expected);

    // Tuples, and the column's range found by MIN/MAX when no bounds are given.
    let source = PgSource::builder(config(&url))
        .table("t_int")
        .columns("id, name")
        .partition_column("ID") // resolved ignoring case, as Spark does
        .num_partitions(5)
        .build::<(Option<i32>, String)>()
        .unwrap();
    assert_eq!(
        source.where_clauses()[4].as_deref(),
        Some("\"id\" >= 790"),
        "{:?}",
        source.where_clauses()
    );
    let got: Vec<(Option<i32>, String)> = ctx().read_source(source).collect().unwrap();
    let mut got: Vec<String> = got
        .into_iter()
        .map(|(id, name)| {
            format!(
                "{:?}",
                vec![
                    id.map_or(Value::Null, |i| Value::Int(i as i64)),
                    Value::Text(name)
                ]
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, expected);

    // More partitions than values between the bounds: fewer partitions (Spark's rule).
    let source = PgSource::builder(config(&url))
        .table("t_int")
        .partition_column("id")
        .lower_bound(1)
        .upper_bound(5)
        .num_partitions(10)
        .build::<Vec<Value>>()
        .unwrap();
    assert_eq!(source.num_partitions(), 4);
    assert_eq!(ctx().read_source(source).count().unwrap(), 203);

    // No partition column: one partition.
    let source = PgSource::builder(config(&url))
        .table("t_int")
        .build::<Vec<Value>>()
        .unwrap();
    assert_eq!(source.num_partitions(), 1);
    assert_eq!(ctx().read_source(source).count().unwrap(), 203);
}

#[test]
fn timestamp_ranges_read_every_row_once() {
    let url = server!("timestamp_ranges_read_every_row_once");
    let mut c = client(&url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t_ts;
         CREATE TABLE t_ts (id integer, t timestamp, tz timestamptz);
         INSERT INTO t_ts
           SELECT i, TIMESTAMP '2018-06-20 00:00:00' + i * INTERVAL '7 hours 13 minutes 0.5 seconds',
                  TIMESTAMPTZ '2018-06-20 00:00:00+00' + i * INTERVAL '5 hours'
           FROM generate_series(0, 299) i;
         INSERT INTO t_ts VALUES (1000, NULL, NULL), (1001, NULL, NULL);",
    )
    .unwrap();
    let expected = select(&url, "SELECT id, t FROM t_ts");
    for n in [2, 3, 7] {
        let source = PgSource::builder(config(&url))
            .table("t_ts")
            .columns("id, t")
            .partition_column("t")
            .lower_bound("2018-07-04 03:30:00.0")
            .upper_bound("2018-07-27 14:11:05.0")
            .num_partitions(n)
            .fetch_size(16)
            .build::<(i32, Option<Timestamp>)>()
            .unwrap();
        if n == 2 {
            assert_eq!(
                source.where_clauses(),
                [
                    Some("\"t\" < '2018-07-15 20:50:32.5' or \"t\" is null".to_string()),
                    Some("\"t\" >= '2018-07-15 20:50:32.5'".to_string()),
                ]
            );
        }
        let got: Vec<Vec<Value>> = ctx()
            .read_source(source)
            .collect()
            .unwrap()
            .into_iter()
            .map(|(id, t)| {
                vec![
                    Value::Int(id as i64),
                    t.map_or(Value::Null, Value::Timestamp),
                ]
            })
            .collect();
        assert_eq!(sorted_debug(got), expected, "{n} partitions");
    }

    // timestamptz, bounds found by MIN/MAX.
    let expected = select(&url, "SELECT id, tz FROM t_ts");
    let source = PgSource::builder(config(&url))
        .table("t_ts")
        .columns("id, tz")
        .partition_column("tz")
        .num_partitions(6)
        .build::<Vec<Value>>()
        .unwrap();
    assert_eq!(source.num_partitions(), 6);
    assert_eq!(
        sorted_debug(ctx().read_source(source).collect().unwrap()),
        expected
    );
}

#[test]
fn date_ranges_read_every_row_once() {
    let url = server!("date_ranges_read_every_row_once");
    let mut c = client(&url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t_date;
         CREATE TABLE t_date (d date, label text);
         INSERT INTO t_date SELECT DATE '2018-06-01' + i, 'day ' || i FROM generate_series(0, 90) i;
         INSERT INTO t_date VALUES (NULL, 'no date'), (DATE '1999-12-31', 'old'), (DATE '2100-01-01', 'new');",
    )
    .unwrap();
    let expected = select(&url, "SELECT * FROM t_date");
    let source = PgSource::builder(config(&url))
        .table("t_date")
        .partition_column("d")
        .lower_bound("2018-07-06")
        .upper_bound("2018-07-20")
        .num_partitions(3)
        .build::<Vec<Value>>()
        .unwrap();
    // Spark's clauses for these bounds (JDBCSuite, SPARK-22814).
    assert_eq!(
        source.where_clauses(),
        [
            Some("\"d\" < '2018-07-11' or \"d\" is null".to_string()),
            Some("\"d\" >= '2018-07-11' AND \"d\" < '2018-07-15'".to_string()),
            Some("\"d\" >= '2018-07-15'".to_string()),
        ]
    );
    let ds = ctx().read_source(source);
    assert_eq!(sorted_debug(ds.collect().unwrap()), expected);
    let firsts: Vec<Vec<Vec<Value>>> = ds.glom().collect().unwrap();
    assert!(firsts[0].iter().any(|r| r[0] == Value::Null));
    assert!(firsts[0]
        .iter()
        .any(|r| r[0] == Value::Date(Date::parse("1999-12-31").unwrap())));
    assert!(firsts[2]
        .iter()
        .any(|r| r[0] == Value::Date(Date::parse("2100-01-01").unwrap())));
}

#[test]
fn query_source() {
    let url = server!("query_source");
    let mut c = client(&url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t_q;
         CREATE TABLE t_q (id bigint, amount double precision);
         INSERT INTO t_q SELECT i, i * 1.5 FROM generate_series(1, 500) i;",
    )
    .unwrap();
    let q = "SELECT id, amount FROM t_q WHERE id % 3 = 0";
    let expected = select(&url, q);
    let source = PgSource::builder(config(&url))
        .query(q)
        .build::<(i64, f64)>()
        .unwrap();
    let got = ctx().read_source(source).collect().unwrap();
    assert_eq!(
        sorted_debug(
            got.iter()
                .map(|(i, a)| vec![Value::Int(*i), Value::Float(*a)])
                .collect()
        ),
        expected
    );
    // By ranges of the query's output column.
    let source = PgSource::from_url(&format!(
        "{url}?query={}&partition_column=id&num_partitions=4&lower_bound=100&upper_bound=400",
        q.replace('%', "%25").replace(' ', "%20")
    ))
    .unwrap()
    .build_with(|row| Ok(row.try_get::<_, i64>(0)?))
    .unwrap();
    assert_eq!(source.num_partitions(), 4);
    let mut ids = ctx().read_source(source).collect().unwrap();
    ids.sort();
    assert_eq!(ids, (1..=500).filter(|i| i % 3 == 0).collect::<Vec<i64>>());
}

/// Partitions of `(i64, String)` records in batches of 10; the first time partition 1 is
/// read, it fails after its second batch.
struct Flaky {
    parts: usize,
    per_part: usize,
}

static FLAKY_FAILED: AtomicBool = AtomicBool::new(false);
static FLAKY_READS: AtomicUsize = AtomicUsize::new(0);

impl DataSource<(i64, String)> for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn num_partitions(&self) -> usize {
        self.parts
    }
    fn read_partition(&self, p: usize) -> firesteel_core::Result<RecordBatches<(i64, String)>> {
        FLAKY_READS.fetch_add(1, Ordering::SeqCst);
        let fail = p == 1 && !FLAKY_FAILED.swap(true, Ordering::SeqCst);
        let base = (p * self.per_part) as i64;
        let per = self.per_part as i64;
        Ok(Box::new((0..per).step_by(10).enumerate().map(
            move |(k, start)| {
                if fail && k == 2 {
                    return Err(firesteel_core::Error::TaskFailed("injected failure".into()));
                }
                Ok((start..(start + 10).min(per))
                    .map(|i| (base + i, format!("row {}", base + i)))
                    .collect())
            },
        )))
    }
}

fn count_staging(url: &str, job: &str) -> i64 {
    client(url)
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE $1",
            &[&format!("firesteel\\_stg\\_{job}\\_%")],
        )
        .unwrap()
        .get(0)
}

#[test]
fn retried_task_writes_each_row_once() {
    let url = server!("retried_task_writes_each_row_once");
    client(&url)
        .batch_execute("DROP TABLE IF EXISTS t_retry")
        .unwrap();
    let ds = ctx().read_source(Flaky {
        parts: 4,
        per_part: 50,
    });
    let sink = PgSink::builder(config(&url), "t_retry")
        .columns([("id", "bigint"), ("name", "text")])
        .build()
        .unwrap();
    let job = sink.job_id().to_string();
    ds.write_to(sink).unwrap();
    assert!(
        FLAKY_FAILED.load(Ordering::SeqCst),
        "the failure was injected"
    );
    assert_eq!(
        FLAKY_READS.load(Ordering::SeqCst),
        5,
        "partition 1 ran twice"
    );
    let row = client(&url)
        .query_one(
            "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM t_retry",
            &[],
        )
        .unwrap();
    let (n, distinct, lo, hi): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((n, distinct, lo, hi), (200, 200, 0, 199));
    assert_eq!(count_staging(&url, &job), 0, "staging tables are dropped");
}

/// A value that fails to encode the first time record 25 is written, once per test run:
/// the sink's own write fails half-way through a partition's COPY.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct FailsOnce(i64);

static FAILS_ONCE: AtomicBool = AtomicBool::new(false);

impl firesteel_connectors::postgres::ToSql for FailsOnce {
    fn to_sql(
        &self,
        ty: &firesteel_connectors::postgres::client::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<
        firesteel_connectors::postgres::client::types::IsNull,
        firesteel_connectors::postgres::BoxError,
    > {
        if self.0 == 25 && !FAILS_ONCE.swap(true, Ordering::SeqCst) {
            return Err("injected encoding failure".into());
        }
        self.0.to_sql(ty, out)
    }
    fn accepts(ty: &firesteel_connectors::postgres::client::types::Type) -> bool {
        <i64 as firesteel_connectors::postgres::ToSql>::accepts(ty)
    }
    firesteel_connectors::postgres::client::types::to_sql_checked!();
}

#[test]
fn sink_failing_mid_copy_is_rolled_back_and_retried() {
    let url = server!("sink_failing_mid_copy_is_rolled_back_and_retried");
    client(&url)
        .batch_execute("DROP TABLE IF EXISTS t_midcopy")
        .unwrap();
    let ds = ctx().parallelize((0..100).map(|i| (FailsOnce(i), i * 2)).collect(), 2);
    let sink = PgSink::builder(config(&url), "t_midcopy")
        .columns([("id", "bigint"), ("twice", "bigint")])
        .build()
        .unwrap();
    let job = sink.job_id().to_string();
    ds.write_to(sink).unwrap();
    assert!(
        FAILS_ONCE.load(Ordering::SeqCst),
        "the failure was injected"
    );
    let row = client(&url)
        .query_one("SELECT count(*), count(DISTINCT id) FROM t_midcopy", &[])
        .unwrap();
    let (n, distinct): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((n, distinct), (100, 100));
    assert_eq!(count_staging(&url, &job), 0);
}

#[test]
fn save_modes() {
    let url = server!("save_modes");
    let mut c = client(&url);
    c.batch_execute("DROP TABLE IF EXISTS t_modes").unwrap();
    let ctx = ctx();
    let rows = |from: i64, to: i64| {
        ctx.parallelize(
            (from..to)
                .map(|i| (i, format!("v{i}"), Date(i as i32)))
                .collect(),
            3,
        )
    };
    let sink = |mode: SaveMode| {
        PgSink::builder(config(&url), "t_modes")
            .columns([("id", "bigint"), ("v", "text"), ("d", "date")])
            .mode(mode)
            .build()
            .unwrap()
    };
    let contents = |c: &mut Client| -> (i64, i64, i64) {
        let r = c
            .query_one("SELECT count(*), min(id), max(id) FROM t_modes", &[])
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };

    // ErrorIfExists (the default) creates a missing table...
    rows(0, 10).write_to(sink(SaveMode::default())).unwrap();
    assert_eq!(contents(&mut c), (10, 0, 9));
    // ...and refuses an existing one, leaving it and no staging tables.
    let s = sink(SaveMode::ErrorIfExists);
    let job = s.job_id().to_string();
    let e = rows(100, 110).write_to(s).unwrap_err();
    // Every attempt would fail the same way: the job fails at once.
    assert!(
        matches!(e, firesteel_core::Error::JobFailed { attempts: 1, .. }),
        "{e:?}"
    );
    let e = e.to_string();
    assert!(e.contains("table t_modes already exists"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    assert_eq!(contents(&mut c), (10, 0, 9));
    assert_eq!(count_staging(&url, &job), 0);

    // Append adds.
    rows(10, 25).write_to(sink(SaveMode::Append)).unwrap();
    assert_eq!(contents(&mut c), (25, 0, 24));

    // Overwrite replaces (drop and create).
    rows(50, 53).write_to(sink(SaveMode::Overwrite)).unwrap();
    assert_eq!(contents(&mut c), (3, 50, 52));
    let d: Date = c
        .query_one("SELECT d FROM t_modes WHERE id = 51", &[])
        .unwrap()
        .get(0);
    assert_eq!(d, Date(51));

    // Ignore leaves an existing table alone.
    rows(0, 100).write_to(sink(SaveMode::Ignore)).unwrap();
    assert_eq!(contents(&mut c), (3, 50, 52));

    // Overwrite with truncate keeps the table (and its extra column's default).
    c.batch_execute("ALTER TABLE t_modes ADD COLUMN extra int DEFAULT 7")
        .unwrap();
    let s = PgSink::builder(config(&url), "t_modes")
        .columns([("id", "bigint"), ("v", "text"), ("d", "date")])
        .mode(SaveMode::Overwrite)
        .truncate(true)
        .build()
        .unwrap();
    rows(7, 9).write_to(s).unwrap();
    assert_eq!(contents(&mut c), (2, 7, 8));
    let extra: i32 = c
        .query_one("SELECT min(extra) FROM t_modes", &[])
        .unwrap()
        .get(0);
    assert_eq!(extra, 7);

    // Ignore on a missing table writes it; generic rows into an existing table without
    // a column list.
    c.batch_execute("DROP TABLE t_modes").unwrap();
    rows(0, 4).write_to(sink(SaveMode::Ignore)).unwrap();
    assert_eq!(contents(&mut c), (4, 0, 3));
    let generic = ctx.parallelize(
        vec![
            vec![Value::Int(99), Value::Null, Value::Date(Date(1))],
            vec![Value::Int(98), Value::Text("x".into()), Value::Null],
        ],
        2,
    );
    generic
        .write_to(
            PgSink::builder(config(&url), "t_modes")
                .mode(SaveMode::Append)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(contents(&mut c), (6, 0, 99));

    // A record of the wrong shape fails with a message naming the table.
    let bad = ctx.parallelize(vec![(1i64,)], 1);
    let e = bad
        .write_to(
            PgSink::builder(config(&url), "t_modes")
                .mode(SaveMode::Append)
                .build()
                .unwrap(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("table t_modes") && e.contains("1 value(s)"),
        "{e}"
    );
    assert_eq!(contents(&mut c), (6, 0, 99));
}

#[test]
fn connection_errors_are_one_line_and_name_the_source() {
    let url = server!("connection_errors_are_one_line_and_name_the_source");
    let good = config(&url);

    // A wrong password, both where the driver connects (building with a partition
    // column) and inside tasks.
    let mut wrong = good.clone().password("not-the-password");
    wrong.connect_timeout = std::time::Duration::from_secs(5);
    let e = PgSource::builder(wrong.clone())
        .table("t_err")
        .partition_column("id")
        .num_partitions(2)
        .build::<Vec<Value>>()
        .unwrap_err();
    assert!(matches!(e, PgError::Auth { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&good.server()), "{msg}");
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(msg.contains("(reading table t_err)"), "{msg}");
    eprintln!("wrong password, building: {msg}");
    assert!(!msg.contains('\n'));
    let source = PgSource::builder(wrong)
        .table("t_err")
        .build::<Vec<Value>>()
        .unwrap();
    let ctx = Context::builder()
        .threads(2)
        .max_task_attempts(1)
        .build()
        .unwrap();
    let msg = ctx.read_source(source).count().unwrap_err().to_string();
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(msg.contains("postgres table t_err on"), "{msg}");
    eprintln!("wrong password, in a task: {msg}");
    assert!(!msg.contains('\n'), "{msg}");

    // An unreachable port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut down = good.clone();
    down.port = port;
    let e = down.connect().map(|_| ()).unwrap_err();
    assert!(matches!(e, PgError::Connect { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("cannot connect"), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    let sink = PgSink::builder(down, "t_err")
        .columns([("id", "bigint")])
        .build()
        .unwrap();
    let msg = ctx
        .parallelize(vec![(1i64,)], 1)
        .write_to(sink)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("cannot connect") && msg.contains(&format!(":{port}/")),
        "{msg}"
    );
    assert!(msg.contains("(writing table t_err)"), "{msg}");
    eprintln!("unreachable port, writing: {msg}");
    assert!(!msg.contains('\n'), "{msg}");

    // A missing table.
    let e = PgSource::builder(good.clone())
        .table("no_such_table")
        .partition_column("id")
        .num_partitions(2)
        .build::<Vec<Value>>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "postgres {}: table no_such_table does not exist",
            good.server()
        )
    );
    let source = PgSource::builder(good.clone())
        .table("no_such_table")
        .build::<Vec<Value>>()
        .unwrap();
    let msg = ctx.read_source(source).count().unwrap_err().to_string();
    assert!(msg.contains("table no_such_table does not exist"), "{msg}");

    // A partition column of the wrong type, and a missing one.
    let mut c = good.connect().unwrap();
    c.batch_execute("DROP TABLE IF EXISTS t_err; CREATE TABLE t_err (id int, s text)")
        .unwrap();
    let e = PgSource::builder(good.clone())
        .table("t_err")
        .partition_column("s")
        .num_partitions(2)
        .build::<Vec<Value>>()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("numeric, date, or timestamp, but text found"),
        "{e}"
    );
    let e = PgSource::builder(good)
        .table("t_err")
        .partition_column("nope")
        .num_partitions(2)
        .build::<Vec<Value>>()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("partition column nope not found (columns: id, s)"),
        "{e}"
    );
}

#[test]
fn generic_rows_round_trip_every_supported_type() {
    let url = server!("generic_rows_round_trip_every_supported_type");
    let mut c = client(&url);
    c.batch_execute(
        "DROP TABLE IF EXISTS t_types, t_types_copy;
         CREATE TABLE t_types (b bool, i2 smallint, i4 integer, i8 bigint, f4 real,
             f8 double precision, t text, vc varchar(10), bin bytea, d date, ts timestamp,
             tz timestamptz);
         INSERT INTO t_types VALUES
           (true, -2, 40000, 9000000000, 1.5, -0.25, 'héllo', 'v', '\\x00ff10', '1500-03-01',
            '2018-07-04 03:30:00.25', '1969-12-31 23:59:59.999999+00'),
           (false, 0, 0, 0, 0, 0, '', '', '\\x', '2000-01-01', '2000-01-01 00:00:00',
            '2000-01-01 00:00:00+00'),
           (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
    )
    .unwrap();
    let source = PgSource::builder(config(&url))
        .table("t_types")
        .build::<Vec<Value>>()
        .unwrap();
    let rows = ctx().read_source(source).collect().unwrap();
    assert_eq!(rows.len(), 3);
    // Dates and timestamps print as PostgreSQL prints them (independent of our decoding).
    let texts = c
        .query(
            "SELECT d::text, ts::text, (tz AT TIME ZONE 'UTC')::text FROM t_types \
             WHERE d IS NOT NULL ORDER BY i4 DESC",
            &[],
        )
        .unwrap();
    let mut ours: Vec<&Vec<Value>> = rows.iter().filter(|r| !r[9].is_null()).collect();
    ours.sort_by_key(|r| match r[2] {
        Value::Int(i) => -i,
        _ => 0,
    });
    for (row, text) in ours.iter().zip(&texts) {
        for (k, col) in [9, 10, 11].into_iter().enumerate() {
            assert_eq!(
                row[col].to_string(),
                text.get::<_, String>(k),
                "column {col}"
            );
        }
    }
    assert!(rows.iter().any(|r| r.iter().all(Value::is_null)));
    assert!(rows
        .iter()
        .any(|r| r[6] == Value::Text("héllo".into()) && r[8] == Value::Bytes(vec![0, 255, 16])));

    // Written back through the sink into a copy of the table: the same rows.
    c.batch_execute("CREATE TABLE t_types_copy (LIKE t_types)")
        .unwrap();
    ctx()
        .parallelize(rows, 2)
        .write_to(
            PgSink::builder(config(&url), "t_types_copy")
                .mode(SaveMode::Append)
                .build()
                .unwrap(),
        )
        .unwrap();
    let diff: i64 = c
        .query_one(
            "SELECT count(*) FROM ((TABLE t_types EXCEPT ALL TABLE t_types_copy)
               UNION ALL (TABLE t_types_copy EXCEPT ALL TABLE t_types)) x",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(diff, 0);
}

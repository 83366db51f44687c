//! The Parquet source and sink: round trips, projection, row groups as partitions,
//! directories and globs, save modes, files written by pyarrow (`data/parquet/make.py`),
//! and bad input (wrong schemas, corrupt files, failed writes).

#![cfg(feature = "parquet")]

use std::path::{Path, PathBuf};

use firesteel_connectors::parquet::format::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions,
};
use firesteel_connectors::parquet::{
    read_parquet, write_parquet, Compression, ParquetError, ParquetSink, ParquetSource,
    ParquetWriteOptions, Value,
};
use firesteel_connectors::SaveMode;
use firesteel_core::io::{DataSource, RecordBatches};
use firesteel_core::{Context, Error};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rec {
    id: i64,
    small: i32,
    unsigned: u16,
    score: f64,
    ratio: f32,
    name: String,
    ok: bool,
    maybe_int: Option<i64>,
    maybe_name: Option<String>,
    maybe_float: Option<f64>,
    blob: serde_bytes::ByteBuf,
    list: Vec<i32>,
}

fn recs(n: i64) -> Vec<Rec> {
    (0..n)
        .map(|i| Rec {
            id: i,
            small: -(i as i32) * 3,
            unsigned: (i * 7) as u16,
            score: i as f64 / 3.0,
            ratio: i as f32 * 0.25,
            name: format!("name {i} é"),
            ok: i % 2 == 0,
            maybe_int: (i % 3 != 0).then_some(i * 1_000_000_007),
            maybe_name: (i % 4 == 1).then(|| format!("n{i}")),
            maybe_float: (i % 5 != 2).then_some(-(i as f64) * 1.5e-300),
            blob: serde_bytes::ByteBuf::from(vec![i as u8; (i % 3) as usize]),
            list: (0..(i % 4) as i32).collect(),
        })
        .collect()
}

fn ctx() -> Context {
    Context::local(2).unwrap()
}

/// The repository's `data/parquet/` file `name`, written by pyarrow.
fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/parquet")
        .join(name)
}

fn one_line(e: &impl std::fmt::Display) -> String {
    let m = e.to_string();
    println!("{m}");
    assert!(!m.contains('\n'), "not one line: {m}");
    m
}

/// The names of the entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_of_a_serde_struct_with_nulls() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recs");
    let data = recs(100);
    write_parquet(
        &ctx.parallelize(data.clone(), 3),
        &path,
        &ParquetWriteOptions::new(),
    )
    .unwrap();
    assert_eq!(
        entries(&path),
        [
            "_SUCCESS",
            "part-00000.parquet",
            "part-00001.parquet",
            "part-00002.parquet"
        ]
    );
    // Nothing left next to the output.
    assert_eq!(entries(dir.path()), ["recs"]);
    let source = ParquetSource::builder(&path).build::<Rec>().unwrap();
    assert_eq!(source.num_partitions(), 3);
    assert_eq!(source.num_rows(), 100);
    assert_eq!(source.files().len(), 3);
    let back = ctx.read_source(source).collect().unwrap();
    assert_eq!(back, data);
    // Bit-exact floats.
    for (a, b) in back.iter().zip(&data) {
        assert_eq!(a.score.to_bits(), b.score.to_bits());
        assert_eq!(
            a.maybe_float.map(f64::to_bits),
            b.maybe_float.map(f64::to_bits)
        );
    }
    // The short form, as spark.read.parquet.
    assert_eq!(
        read_parquet::<Rec>(&ctx, &path).unwrap().count().unwrap(),
        100
    );
}

#[test]
fn the_schema_is_sparks() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recs");
    write_parquet(&ctx.parallelize(recs(3), 1), &path, &Default::default()).unwrap();
    let source = ParquetSource::builder(&path).build_batches().unwrap();
    let schema = source.schema();
    let types: Vec<(String, String, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string(), f.is_nullable()))
        .collect();
    let want = [
        ("id", "Int64", false),
        ("small", "Int32", false),
        ("unsigned", "UInt16", false),
        ("score", "Float64", false),
        ("ratio", "Float32", false),
        ("name", "Utf8", false),
        ("ok", "Boolean", false),
        ("maybe_int", "Int64", true),
        ("maybe_name", "Utf8", true),
        ("maybe_float", "Float64", true),
        ("blob", "Binary", false),
        ("list", "List(non-null Int32, field: 'element')", false),
    ];
    let want: Vec<(String, String, bool)> = want
        .iter()
        .map(|(n, t, b)| (n.to_string(), t.to_string(), *b))
        .collect();
    assert_eq!(types, want);
}

#[test]
fn projection_reads_only_the_named_columns() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recs");
    let data = recs(20);
    write_parquet(
        &ctx.parallelize(data.clone(), 2),
        &path,
        &Default::default(),
    )
    .unwrap();

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Narrow {
        maybe_name: Option<String>,
        id: i64,
    }
    let source = ParquetSource::builder(&path).build::<Narrow>().unwrap();
    assert_eq!(source.columns(), ["maybe_name", "id"]);
    let back = ctx.read_source(source).collect().unwrap();
    let want: Vec<Narrow> = data
        .iter()
        .map(|r| Narrow {
            maybe_name: r.maybe_name.clone(),
            id: r.id,
        })
        .collect();
    assert_eq!(back, want);

    // Batches hold only the columns asked for, in the order asked.
    let source = ParquetSource::builder(&path)
        .columns(["score", "id"])
        .build_batches()
        .unwrap();
    let batches = ctx.read_source(source).collect().unwrap();
    for b in &batches {
        assert_eq!(b.num_columns(), 2);
        assert_eq!(b.schema().field(0).name(), "score");
        assert_eq!(b.schema().field(1).name(), "id");
    }
    // Tuples take the columns by position; an i64 column reads into f64 too.
    let source = ParquetSource::builder(&path)
        .columns(["id", "name", "ok"])
        .build::<(f64, String, bool)>()
        .unwrap();
    let back = ctx.read_source(source).collect().unwrap();
    let want: Vec<(f64, String, bool)> = data
        .iter()
        .map(|r| (r.id as f64, r.name.clone(), r.ok))
        .collect();
    assert_eq!(back, want);
}

#[test]
fn row_groups_become_partitions() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("groups");
    let options = ParquetWriteOptions::new()
        .row_group_size(3)
        .columns(["n", "sq"]);
    let pairs: Vec<(i64, i64)> = (0..10).map(|i| (i, i * i)).collect();
    write_parquet(&ctx.parallelize(pairs.clone(), 1), &path, &options).unwrap();
    let source = ParquetSource::builder(&path)
        .columns(["n", "sq"])
        .build::<(i64, i64)>()
        .unwrap();
    assert_eq!(source.num_partitions(), 4);
    let sizes: Vec<usize> = (0..4)
        .map(|p| {
            let batches: RecordBatches<(i64, i64)> = source.read_partition(p).unwrap();
            batches.map(|b| b.unwrap().len()).sum()
        })
        .collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
    let ds = ctx.read_source(source);
    assert_eq!(ds.num_partitions(), 4);
    assert_eq!(ds.collect().unwrap(), pairs);

    // Small batches within a row group.
    let source = ParquetSource::builder(&path)
        .batch_size(2)
        .build_batches()
        .unwrap();
    let rows: Vec<usize> = ctx
        .read_source(source)
        .collect()
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .collect();
    assert_eq!(rows, [2, 1, 2, 1, 2, 1, 1]);
}

#[test]
fn directories_globs_and_lists() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nums");
    let options = ParquetWriteOptions::new().columns(["n"]);
    let nums: Vec<(i32,)> = (0..30).map(|i| (i,)).collect();
    write_parquet(&ctx.parallelize(nums.clone(), 3), &path, &options).unwrap();
    let read = |spec: String| {
        let source = ParquetSource::builder(spec)
            .columns(["n"])
            .build::<(i32,)>()
            .unwrap();
        let n = source.num_partitions();
        (n, ctx.read_source(source).collect().unwrap())
    };
    // A directory: its part files (not _SUCCESS).
    assert_eq!(read(format!("{}", path.display())), (3, nums.clone()));
    // A glob.
    let (n, v) = read(format!("{}/part-0000[02].parquet", path.display()));
    assert_eq!(n, 2);
    assert_eq!(v, [&nums[..10], &nums[20..]].concat());
    // A comma-separated list, in its order.
    let (n, v) = read(format!(
        "{0}/part-00002.parquet,{0}/part-00000.parquet",
        path.display()
    ));
    assert_eq!(n, 2);
    assert_eq!(v, [&nums[20..], &nums[..10]].concat());
    // A glob that matches nothing.
    let e = ParquetSource::builder(format!("{}/*.csv", path.display()))
        .build_rows()
        .unwrap_err();
    assert!(matches!(e, ParquetError::NoInput(_)), "{e}");
    one_line(&e);
}

#[test]
fn save_modes() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let options = ParquetWriteOptions::new().columns(["a", "b"]);
    let first = ctx.parallelize(vec![(1i64, 10i64), (2, 20)], 2);
    let second = ctx.parallelize(vec![(3i64, 30i64)], 1);
    let read = || {
        let source = ParquetSource::builder(&path)
            .columns(["a", "b"])
            .build::<(i64, i64)>()
            .unwrap();
        let mut v = ctx.read_source(source).collect().unwrap();
        v.sort();
        v
    };
    write_parquet(&first, &path, &options).unwrap();

    // ErrorIfExists (the default): an error, before anything is written.
    let e = write_parquet(&second, &path, &options).unwrap_err();
    assert!(matches!(e, Error::OutputExists(_)), "{e}");
    one_line(&e);
    let e = ParquetSink::<(i64, i64)>::new(&path, &options).unwrap_err();
    assert!(matches!(e, ParquetError::OutputExists(_)), "{e}");
    assert_eq!(entries(dir.path()), ["out"]);
    assert_eq!(read(), [(1, 10), (2, 20)]);

    // Ignore: nothing happens.
    write_parquet(&second, &path, &options.clone().mode(SaveMode::Ignore)).unwrap();
    second
        .write_to(ParquetSink::new(&path, &options.clone().mode(SaveMode::Ignore)).unwrap())
        .unwrap();
    assert_eq!(read(), [(1, 10), (2, 20)]);

    // Append: new part files.
    write_parquet(&second, &path, &options.clone().mode(SaveMode::Append)).unwrap();
    assert_eq!(read(), [(1, 10), (2, 20), (3, 30)]);
    let files = entries(&path);
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(
        files[1].starts_with("part-00000-") && files[1].ends_with(".parquet"),
        "{files:?}"
    );

    // Append of other columns: an error naming the column, and nothing written.
    let other = ctx.parallelize(vec![(4i64, "x".to_string())], 1);
    let e = write_parquet(&other, &path, &options.clone().mode(SaveMode::Append)).unwrap_err();
    let m = one_line(&e);
    assert!(
        m.contains("\"b\"") && m.contains("Int64") && m.contains("Utf8"),
        "{m}"
    );
    assert!(!e.root_cause().is_retryable());
    assert_eq!(entries(&path).len(), 4);
    assert_eq!(entries(dir.path()), ["out"]);

    // Overwrite: replaced.
    write_parquet(&second, &path, &options.clone().mode(SaveMode::Overwrite)).unwrap();
    assert_eq!(read(), [(3, 30)]);
    assert_eq!(entries(&path), ["_SUCCESS", "part-00000.parquet"]);
    assert_eq!(entries(dir.path()), ["out"]);

    // Modes by Spark's names.
    assert_eq!("Ignore".parse::<SaveMode>().unwrap(), SaveMode::Ignore);
    assert!("sometimes".parse::<SaveMode>().is_err());
}

#[test]
fn compression_options() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let data = recs(50);
    for (name, compression, codec) in [
        ("snappy", Compression::Snappy, "SNAPPY"),
        ("zstd", Compression::Zstd, "ZSTD"),
        ("none", Compression::None, "UNCOMPRESSED"),
    ] {
        let path = dir.path().join(name);
        let options = ParquetWriteOptions::new().compression(compression);
        write_parquet(&ctx.parallelize(data.clone(), 1), &path, &options).unwrap();
        let file = std::fs::File::open(path.join("part-00000.parquet")).unwrap();
        let meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).unwrap();
        let used = meta.metadata().row_group(0).column(0).compression();
        assert!(format!("{used:?}").starts_with(codec), "{name}: {used:?}");
        assert_eq!(
            read_parquet::<Rec>(&ctx, &path).unwrap().collect().unwrap(),
            data
        );
    }
    // The default is snappy, as Spark's.
    assert_eq!(Compression::default(), Compression::Snappy);
}

#[test]
fn arrow_batches_survive_a_shuffle() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("recs");
    write_parquet(&ctx.parallelize(recs(40), 4), &path, &Default::default()).unwrap();
    let source = ParquetSource::builder(&path).build_batches().unwrap();
    // Repartitioning serializes the batches (Arrow IPC) through the shuffle.
    let batches = ctx.read_source(source).repartition(3).collect().unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 40);
    assert!(batches.iter().all(|b| b.num_columns() == 12));
}

#[test]
fn a_file_written_by_pyarrow() {
    let ctx = ctx();
    let points = data("points.parquet");

    // Serde records: nullable strings, booleans, an int32 column into i32.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Point {
        id: i64,
        label: f64,
        x: f64,
        name: Option<String>,
        y: i32,
        flag: bool,
    }
    let source = ParquetSource::builder(&points).build::<Point>().unwrap();
    // 5 rows in row groups of 2.
    assert_eq!(source.num_partitions(), 3);
    assert_eq!(source.num_rows(), 5);
    let got = ctx.read_source(source).collect().unwrap();
    let p = |id, label, x, name: Option<&str>, y, flag| Point {
        id,
        label,
        x,
        name: name.map(str::to_string),
        y,
        flag,
    };
    assert_eq!(
        got,
        [
            p(1, 0.0, 0.5, Some("a"), 10, true),
            p(2, 1.0, -1.25, Some("b"), 20, false),
            p(3, 1.0, 3.0, None, 30, true),
            p(4, 0.0, 0.1, Some("d"), -40, false),
            p(5, 1.0, 1e-3, Some("e"), 50, true),
        ]
    );

    // Generic rows: the edges, exactly.
    let edges = data("edges.parquet");
    let source = ParquetSource::builder(&edges).build_rows().unwrap();
    assert_eq!(source.columns(), ["src", "dst"]);
    let rows = ctx.read_source(source).collect().unwrap();
    let want: Vec<Vec<Value>> = [(1, 2), (1, 3), (2, 3), (3, 1), (4, 1)]
        .iter()
        .map(|&(a, b)| vec![Value::Int(a), Value::Int(b)])
        .collect();
    assert_eq!(rows, want);
    // Typed tuples by column names (dst first).
    let source = ParquetSource::builder(&edges)
        .columns(["dst", "src"])
        .build::<(u32, u32)>()
        .unwrap();
    assert_eq!(
        ctx.read_source(source).collect().unwrap(),
        [(2, 1), (3, 1), (3, 2), (1, 3), (1, 4)]
    );
    // Rows of several types, nulls included.
    let source = ParquetSource::builder(&points)
        .columns(["name", "flag", "y"])
        .build_rows()
        .unwrap();
    let rows = ctx.read_source(source).collect().unwrap();
    assert_eq!(rows[2], [Value::Null, Value::Bool(true), Value::Int(30)]);
    assert_eq!(rows[3][0], Value::Str("d".into()));
}

#[test]
fn the_ml_reader_on_a_pyarrow_file() {
    let ctx = ctx();
    let points = data("points.parquet");
    let source = ParquetSource::builder(&points)
        .build_labeled("label")
        .unwrap();
    // Every numeric column but the label, in the file's order (strings and booleans are
    // not features).
    assert_eq!(source.feature_names(), ["id", "x", "y"]);
    assert_eq!(source.label(), Some("label"));
    assert_eq!(source.num_partitions(), 3);
    let got = ctx.read_source(source).collect().unwrap();
    assert_eq!(
        got,
        [
            (0.0, vec![1.0, 0.5, 10.0]),
            (1.0, vec![2.0, -1.25, 20.0]),
            (1.0, vec![3.0, 3.0, 30.0]),
            (0.0, vec![4.0, 0.1, -40.0]),
            (1.0, vec![5.0, 1e-3, 50.0]),
        ]
    );
    // Chosen features, in the order asked.
    let source = ParquetSource::builder(&points)
        .columns(["y", "x"])
        .build_labeled("label")
        .unwrap();
    assert_eq!(source.feature_names(), ["y", "x"]);
    let got = ctx.read_source(source).collect().unwrap();
    assert_eq!(got[1], (1.0, vec![20.0, -1.25]));
    // No label.
    let source = ParquetSource::builder(&points).build_features().unwrap();
    assert_eq!(source.feature_names(), ["id", "label", "x", "y"]);
    let got = ctx.read_source(source).collect().unwrap();
    assert_eq!(got[4], [5.0, 1.0, 1e-3, 50.0]);
    // A label that is not a number, or not there.
    let e = ParquetSource::builder(&points)
        .build_labeled("name")
        .unwrap_err();
    let m = one_line(&e);
    assert!(matches!(e, ParquetError::ColumnType { .. }), "{m}");
    assert!(
        m.contains("points.parquet") && m.contains("\"name\""),
        "{m}"
    );
    let e = ParquetSource::builder(&points)
        .build_labeled("target")
        .unwrap_err();
    let m = one_line(&e);
    assert!(
        m.contains("points.parquet") && m.contains("\"target\""),
        "{m}"
    );
    // A null feature is an error naming the file and the column, when read.
    let e = ParquetSource::builder(&points)
        .columns(["name"])
        .build_features()
        .unwrap_err();
    assert!(matches!(e, ParquetError::ColumnType { .. }), "{e}");
}

#[test]
fn wrong_schemas_name_the_file_and_the_column() {
    let ctx = ctx();
    let points = data("points.parquet");

    // A missing column.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[allow(dead_code)]
    struct Missing {
        id: i64,
        z: f64,
    }
    let e = ParquetSource::builder(&points)
        .build::<Missing>()
        .unwrap_err();
    let m = one_line(&e);
    assert!(matches!(e, ParquetError::MissingColumn { .. }), "{m}");
    assert!(m.contains("points.parquet") && m.contains("\"z\""), "{m}");
    assert!(!Error::from(e).is_retryable());

    // A column of a type that cannot become the field.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[allow(dead_code)]
    struct WrongType {
        id: i64,
        name: i64,
    }
    let e = ParquetSource::builder(&points)
        .build::<WrongType>()
        .unwrap_err();
    let m = one_line(&e);
    assert!(matches!(e, ParquetError::ColumnType { .. }), "{m}");
    assert!(
        m.contains("points.parquet") && m.contains("\"name\"") && m.contains("i64"),
        "{m}"
    );
    let e = ParquetSource::builder(&points)
        .columns(["label"])
        .build::<(String,)>()
        .unwrap_err();
    assert!(matches!(e, ParquetError::ColumnType { .. }), "{e}");

    // A directory where one file lacks the column: named, before any job.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&points, dir.path().join("a.parquet")).unwrap();
    std::fs::copy(data("edges.parquet"), dir.path().join("b.parquet")).unwrap();
    let e = ParquetSource::builder(dir.path())
        .columns(["id"])
        .build_rows()
        .unwrap_err();
    let m = one_line(&e);
    assert!(m.contains("b.parquet") && m.contains("\"id\""), "{m}");

    // A null in a field that is not an Option: an unrecoverable task error naming the
    // file and the row group.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    #[allow(dead_code)]
    struct NotNull {
        name: String,
    }
    let source = ParquetSource::builder(&points).build::<NotNull>().unwrap();
    let e = ctx.read_source(source).collect().unwrap_err();
    let m = one_line(&e.root_cause());
    assert!(matches!(e.root_cause(), Error::Unrecoverable(_)), "{m}");
    assert!(
        m.contains("points.parquet") && m.contains("row group 1"),
        "{m}"
    );

    // Tuples need the columns; options are checked.
    let e = ParquetSource::builder(&points)
        .build::<(i64, i64)>()
        .unwrap_err();
    assert!(matches!(e, ParquetError::InvalidOption(_)), "{e}");
    let e = ParquetSource::builder(&points)
        .columns(["id", "id"])
        .build_rows()
        .unwrap_err();
    assert!(matches!(e, ParquetError::InvalidOption(_)), "{e}");
}

#[test]
fn corrupt_files_name_the_file() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(data("points.parquet")).unwrap();

    // Truncated: the footer is gone.
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = ParquetSource::builder(&truncated).build_rows().unwrap_err();
    let m = one_line(&e);
    assert!(matches!(e, ParquetError::Corrupt { .. }), "{m}");
    assert!(m.contains("truncated.parquet"), "{m}");
    assert!(!Error::from(e).is_retryable());

    // Not Parquet at all.
    let text = dir.path().join("text.parquet");
    std::fs::write(&text, "id,label\n1,0.5\n").unwrap();
    let e = ParquetSource::builder(&text).build_rows().unwrap_err();
    let m = one_line(&e);
    assert!(
        matches!(e, ParquetError::Corrupt { .. }) && m.contains("text.parquet"),
        "{m}"
    );

    // Empty.
    let empty = dir.path().join("empty.parquet");
    std::fs::write(&empty, "").unwrap();
    let e = ParquetSource::builder(&empty).build_rows().unwrap_err();
    assert!(matches!(e, ParquetError::Corrupt { .. }), "{e}");

    // Pages overwritten with garbage, the footer intact: the job fails (no panic escapes)
    // with an error naming the file.
    let garbled = dir.path().join("garbled.parquet");
    for (from, to) in [(4, bytes.len() / 2), (40, 60), (300, 400), (1000, 1100)] {
        let mut g = bytes.clone();
        for b in &mut g[from..to] {
            *b = 0xA5;
        }
        std::fs::write(&garbled, &g).unwrap();
        let m = match ParquetSource::builder(&garbled).build_rows() {
            Ok(source) => match ctx.read_source(source).collect() {
                // Garbage in plain-encoded values may still decode.
                Ok(_) => continue,
                Err(e) => one_line(&e),
            },
            Err(e) => one_line(&e),
        };
        assert!(m.contains("garbled.parquet"), "{m}");
    }

    // A missing path.
    let e = ParquetSource::builder(dir.path().join("nope"))
        .build_rows()
        .unwrap_err();
    let m = one_line(&e);
    assert!(m.contains("nope"), "{m}");
}

/// Partition 1 fails, every time.
struct Failing;

impl DataSource<Rec> for Failing {
    fn name(&self) -> String {
        "failing".into()
    }
    fn num_partitions(&self) -> usize {
        3
    }
    fn read_partition(&self, p: usize) -> firesteel_core::Result<RecordBatches<Rec>> {
        if p == 1 {
            return Err(Error::Unrecoverable("partition 1 is broken".into()));
        }
        Ok(Box::new(std::iter::once(Ok(recs(5)))))
    }
}

#[test]
fn a_failed_write_leaves_nothing() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let e = write_parquet(&ctx.read_source(Failing), &path, &Default::default()).unwrap_err();
    assert!(one_line(&e).contains("partition 1 is broken"));
    assert!(!path.exists());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // With Overwrite, the old output stays as it was.
    let options = ParquetWriteOptions::new().mode(SaveMode::Overwrite);
    write_parquet(&ctx.parallelize(recs(4), 1), &path, &options).unwrap();
    write_parquet(&ctx.read_source(Failing), &path, &options).unwrap_err();
    assert_eq!(entries(dir.path()), ["out"]);
    assert_eq!(
        read_parquet::<Rec>(&ctx, &path).unwrap().collect().unwrap(),
        recs(4)
    );

    // Records that cannot be rows: refused before anything is written.
    let other = dir.path().join("numbers");
    let e = write_parquet(
        &ctx.parallelize(vec![1i64, 2], 1),
        &other,
        &Default::default(),
    )
    .unwrap_err();
    one_line(&e);
    assert!(!other.exists());
    // Column names that do not fit the records.
    let e = ParquetSink::<(i64, i64)>::new(&other, &ParquetWriteOptions::new().columns(["a"]))
        .unwrap_err();
    assert!(matches!(e, ParquetError::InvalidOption(_)), "{e}");
    assert_eq!(entries(dir.path()), ["out"]);
}

#[test]
fn empty_datasets_and_partitions() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse");
    // Two of four partitions are empty: every partition gets a part file.
    let ds = ctx.parallelize(recs(2), 4);
    write_parquet(&ds, &path, &Default::default()).unwrap();
    assert_eq!(entries(&path).len(), 5);
    let source = ParquetSource::builder(&path).build::<Rec>().unwrap();
    assert_eq!(source.num_rows(), 2);
    assert_eq!(ctx.read_source(source).collect().unwrap(), recs(2));

    let path = dir.path().join("empty");
    write_parquet(
        &ctx.parallelize(Vec::<Rec>::new(), 1),
        &path,
        &Default::default(),
    )
    .unwrap();
    let source = ParquetSource::builder(&path).build::<Rec>().unwrap();
    assert_eq!(ctx.read_source(source).count().unwrap(), 0);
}

/// Partition 1 fails halfway through on its first attempt only (a retryable error).
struct FlakyOnce(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl DataSource<Rec> for FlakyOnce {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn num_partitions(&self) -> usize {
        2
    }
    fn read_partition(&self, p: usize) -> firesteel_core::Result<RecordBatches<Rec>> {
        let all = recs(20);
        let part = all[p * 10..p * 10 + 10].to_vec();
        if p == 1 && !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let first = part[..5].to_vec();
            return Ok(Box::new(
                [Ok(first), Err(Error::task_failed("connection reset"))].into_iter(),
            ));
        }
        Ok(Box::new(std::iter::once(Ok(part))))
    }
}

#[test]
fn a_retried_task_replaces_its_failed_attempt() {
    let ctx = ctx();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let failed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ds = ctx.read_source(FlakyOnce(failed.clone()));
    write_parquet(&ds, &path, &Default::default()).unwrap();
    assert!(failed.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        entries(&path),
        ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    );
    assert_eq!(
        read_parquet::<Rec>(&ctx, &path).unwrap().collect().unwrap(),
        recs(20)
    );
    assert_eq!(entries(dir.path()), ["out"]);
}

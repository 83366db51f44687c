//! Every job reads Parquet, CSV with a header, JSON lines and PostgreSQL inputs by column
//! name, with the same results as its text input; graph jobs write their records where
//! `--output` says; `--mode` is Spark's save modes.
//!
//! The PostgreSQL test needs a server: `FIRESTEEL_PG_URL` (`eval "$(.ci/postgres start)"`
//! starts a throwaway one and sets it). Without it that test is skipped, loudly, unless
//! `FIRESTEEL_REQUIRE_PG=1`, which makes it fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use firesteel::connectors::parquet::{write_parquet, ParquetSource, ParquetWriteOptions, Value};
use firesteel::core::Context;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn firesteel<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firesteel"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .expect("running firesteel")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs a job that must succeed; its stdout.
fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let o = firesteel(args);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

/// The `quality` figures of a `--json` run.
fn quality<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> serde_json::Value {
    let out = ok(args);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["quality"].clone()
}

/// A job that must fail with one line on stderr; that line.
fn fails<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let o = firesteel(args);
    assert!(!o.status.success(), "succeeded: {}", stdout(&o));
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err.trim_end().to_string()
}

fn data(name: &str) -> String {
    format!("{ROOT}/data/{name}")
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// The edges of data/followers.txt.
fn followers() -> Vec<(i64, i64)> {
    std::fs::read_to_string(data("followers.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<i64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

/// followers.txt as Parquet (written by the library, in 2 part files), CSV with a header
/// (columns in another order, and one more) and JSON lines.
fn edge_files(dir: &Path) -> Vec<PathBuf> {
    let ctx = Context::local(2).unwrap();
    let edges = followers();
    let parquet = dir.join("edges.parquet");
    let opts = ParquetWriteOptions::new().columns(["src", "dst"]);
    write_parquet(&ctx.parallelize(edges.clone(), 2), &parquet, &opts).unwrap();
    let csv = dir.join("edges.csv");
    let mut text = String::from("weight,dst,src\n");
    for (s, d) in &edges {
        text.push_str(&format!("1.5,{d},{s}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let json = dir.join("edges.jsonl");
    let text: String = edges
        .iter()
        .map(|(s, d)| format!("{{\"dst\":{d},\"src\":{s}}}\n"))
        .collect();
    std::fs::write(&json, text).unwrap();
    vec![parquet, csv, json]
}

#[test]
fn graph_jobs_read_edges_by_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let files = edge_files(dir.path());
    for job in ["pagerank", "cc", "triangles"] {
        let text = ok(&[job, "--input", &data("followers.txt")]);
        assert!(text.lines().count() > 3, "{text}");
        for f in &files {
            assert_eq!(
                ok(&[job, "--input", &p(f)]),
                text,
                "{job} on {}",
                f.display()
            );
        }
    }
    // A directory of part-*.parquet files without the extension in its name.
    let plain = dir.path().join("edges-dir");
    std::fs::rename(&files[0], &plain).unwrap();
    let text = ok(&["cc", "--input", &data("followers.txt")]);
    assert_eq!(ok(&["cc", "--input", &p(&plain)]), text);
}

#[test]
fn missing_columns_and_bad_records_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("e.csv");
    std::fs::write(&csv, "src,to\n1,2\n").unwrap();
    let e = fails(&["cc", "--input", &p(&csv)]);
    assert!(
        e.contains("e.csv") && e.contains("no column \"dst\""),
        "{e}"
    );

    std::fs::write(&csv, "src,dst\n1,2\n3,x\n").unwrap();
    let e = fails(&["pagerank", "--input", &p(&csv)]);
    assert!(e.contains("e.csv:3:") && e.contains("dst"), "{e}");

    let json = dir.path().join("p.jsonl");
    std::fs::write(&json, "{\"x\":1,\"y\":2}\n{\"x\":1,\"y\":\"a\"}\n").unwrap();
    let e = fails(&["kmeans", "--k", "2", "--input", &p(&json)]);
    assert!(e.contains("p.jsonl:2:") && e.contains("\"y\""), "{e}");

    let e = fails(&["cc", "--input", &data("parquet/points.parquet")]);
    assert!(
        e.contains("points.parquet") && e.contains("no column \"src\""),
        "{e}"
    );

    let e = fails(&["als", "--input", &data("parquet/points.parquet")]);
    assert!(
        e.contains("points.parquet") && e.contains("no column \"user\""),
        "{e}"
    );

    // lr needs a label.
    let csv = dir.path().join("xy.csv");
    std::fs::write(&csv, "x,y\n1,2\n").unwrap();
    let e = fails(&["lr", "--input", &p(&csv)]);
    assert!(
        e.contains("xy.csv") && e.contains("no column \"label\""),
        "{e}"
    );
}

#[test]
fn kmeans_reads_records_as_its_text_input() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<f64>> = std::fs::read_to_string(data("kmeans_data.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    // CSV: a label (ignored) and a text column (skipped) around the features.
    let csv = dir.path().join("points.csv");
    let mut text = String::from("x,label,name,y,z\n");
    for r in &rows {
        text.push_str(&format!("{},7,p{},{},{}\n", r[0], r[1], r[1], r[2]));
    }
    std::fs::write(&csv, text).unwrap();
    let ctx = Context::local(1).unwrap();
    let parquet = dir.path().join("points.parquet");
    let triples: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    let opts = ParquetWriteOptions::new().columns(["x", "y", "z"]);
    write_parquet(&ctx.parallelize(triples, 1), &parquet, &opts).unwrap();
    let json = dir.path().join("points.jsonl");
    let text: String = rows
        .iter()
        .map(|r| format!("{{\"x\":{},\"y\":{},\"z\":{}}}\n", r[0], r[1], r[2]))
        .collect();
    std::fs::write(&json, text).unwrap();

    let run = |input: &str| {
        quality(&[
            "kmeans",
            "--input",
            input,
            "--k",
            "2",
            "--partitions",
            "1",
            "--json",
        ])
    };
    let want = run(&data("kmeans_data.txt"));
    assert_eq!(want["cluster_sizes"], serde_json::json!([3.0, 3.0]));
    for f in [&csv, &parquet, &json] {
        assert_eq!(run(&p(f)), want, "{}", f.display());
    }
}

#[test]
fn lr_reads_records_as_its_text_input() {
    let dir = tempfile::tempdir().unwrap();
    // sample_libsvm_data.txt as dense CSV and JSON lines: label, f1 ... fd.
    let mut rows: Vec<(f64, Vec<(usize, f64)>)> = Vec::new();
    let mut d = 0;
    for l in std::fs::read_to_string(data("sample_libsvm_data.txt"))
        .unwrap()
        .lines()
    {
        let mut it = l.split_whitespace();
        let Some(label) = it.next() else { continue };
        let feats: Vec<(usize, f64)> = it
            .map(|t| {
                let (i, v) = t.split_once(':').unwrap();
                (i.parse().unwrap(), v.parse().unwrap())
            })
            .collect();
        d = d.max(feats.last().map_or(0, |f| f.0));
        rows.push((label.parse().unwrap(), feats));
    }
    let dense = |feats: &[(usize, f64)]| {
        let mut v = vec![0.0; d];
        for &(i, x) in feats {
            v[i - 1] = x;
        }
        v
    };
    let csv = dir.path().join("train.csv");
    let mut text = String::from("label");
    for j in 1..=d {
        text.push_str(&format!(",f{j}"));
    }
    text.push('\n');
    let mut json = String::new();
    for (label, feats) in &rows {
        let v = dense(feats);
        text.push_str(&label.to_string());
        json.push_str(&format!("{{\"label\":{label}"));
        for (j, x) in v.iter().enumerate() {
            text.push_str(&format!(",{x}"));
            json.push_str(&format!(",\"f{}\":{x}", j + 1));
        }
        text.push('\n');
        json.push_str("}\n");
    }
    std::fs::write(&csv, text).unwrap();
    let jsonl = dir.path().join("train.jsonl");
    std::fs::write(&jsonl, json).unwrap();

    let run = |input: &str| {
        quality(&[
            "lr",
            "--input",
            input,
            "--partitions",
            "1",
            "--iterations",
            "20",
            "--json",
        ])
    };
    let want = run(&data("sample_libsvm_data.txt"));
    assert_eq!(want["accuracy"], serde_json::json!(1.0));
    assert_eq!(run(&p(&csv)), want);
    assert_eq!(run(&p(&jsonl)), want);

    // The committed points.parquet (columns id, label, x, name, y, flag: the features
    // are id, x and y), and the same rows as CSV, give the same model.
    let ctx = Context::local(1).unwrap();
    let source = ParquetSource::builder(data("parquet/points.parquet"))
        .build_rows()
        .unwrap();
    let names = source.columns().to_vec();
    let mut text = names.join(",") + "\n";
    for r in ctx.read_source(source).collect().unwrap() {
        let fields: Vec<String> = r
            .iter()
            .map(|v| match v {
                Value::Int(i) => i.to_string(),
                Value::Float(x) => format!("{x:?}"),
                Value::Str(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                other => panic!("{other:?}"),
            })
            .collect();
        text.push_str(&(fields.join(",") + "\n"));
    }
    let csv = dir.path().join("points.csv");
    std::fs::write(&csv, text).unwrap();
    // The Parquet file is read in 3 partitions (its row groups), the CSV in 1: the sums
    // of the objective come in another order.
    let want = run(&data("parquet/points.parquet"));
    let got = run(&p(&csv));
    for k in ["accuracy", "area_under_roc", "classes"] {
        assert_eq!(got[k], want[k], "{k}");
    }
    assert_eq!(want["classes"], serde_json::json!(2));
    let (a, b) = (
        got["objective"].as_f64().unwrap(),
        want["objective"].as_f64().unwrap(),
    );
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1e-300) + 1e-15,
        "{a} vs {b}"
    );
}

#[test]
fn als_reads_csv_with_a_header() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ratings.csv");
    // Columns by name, in another order than the text's.
    let mut text = String::from("rating,user,item\n");
    for l in std::fs::read_to_string(data("sample_movielens_ratings.txt"))
        .unwrap()
        .lines()
    {
        let f: Vec<&str> = l.split("::").collect();
        if f.len() >= 3 {
            text.push_str(&format!("{},{},{}\n", f[2], f[0], f[1]));
        }
    }
    std::fs::write(&csv, text).unwrap();
    let run = |input: &str| {
        quality(&[
            "als",
            "--input",
            input,
            "--partitions",
            "1",
            "--iterations",
            "5",
            "--json",
        ])
    };
    let want = run(&data("sample_movielens_ratings.txt"));
    assert!(want["test_rmse"].as_f64().unwrap() > 0.0);
    assert_eq!(run(&p(&csv)), want);
}

/// TSV `vertex<TAB>value` lines as pairs.
fn tsv(text: &str) -> Vec<(i64, f64)> {
    text.lines()
        .map(|l| {
            let (v, r) = l.split_once('\t').unwrap();
            (v.parse().unwrap(), r.parse().unwrap())
        })
        .collect()
}

#[test]
fn graph_outputs_are_records_equal_to_the_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("followers.txt");
    let want = tsv(&ok(&["pagerank", "--input", &input]));
    let ctx = Context::local(2).unwrap();

    let out = dir.path().join("ranks.parquet");
    ok(&["pagerank", "--input", &input, "--output", &p(&out)]);
    let source = ParquetSource::builder(&out)
        .columns(["vertex", "value"])
        .build::<(i64, f64)>()
        .unwrap();
    let mut got = ctx.read_source(source).collect().unwrap();
    got.sort_by_key(|r| r.0);
    assert_eq!(got, want);

    let out = dir.path().join("ranks.csv");
    ok(&["pagerank", "--input", &input, "--output", &p(&out)]);
    let opts = firesteel::core::io::CsvOptions::new().header(true);
    let mut got = ctx
        .read_csv::<(i64, f64)>(&out, 1, &opts)
        .unwrap()
        .collect()
        .unwrap();
    got.sort_by_key(|r| r.0);
    assert_eq!(got, want);
    let part = std::fs::read_to_string(out.join("part-00000.csv")).unwrap();
    assert!(part.starts_with("vertex,value\n"), "{part}");

    let out = dir.path().join("ranks.jsonl");
    ok(&["pagerank", "--input", &input, "--output", &p(&out)]);
    #[derive(serde::Deserialize, serde::Serialize, Clone)]
    struct Rec {
        vertex: i64,
        value: f64,
    }
    let got = ctx
        .read_json::<Rec>(&out, 1, firesteel::core::io::ParseMode::FailFast)
        .unwrap()
        .collect()
        .unwrap();
    let mut got: Vec<(i64, f64)> = got.into_iter().map(|r| (r.vertex, r.value)).collect();
    got.sort_by_key(|r| r.0);
    assert_eq!(got, want);

    // Components are integers.
    let want = ok(&["cc", "--input", &input]);
    let out = dir.path().join("cc.parquet");
    ok(&["cc", "--input", &input, "--output", &p(&out)]);
    let source = ParquetSource::builder(&out)
        .columns(["vertex", "value"])
        .build::<(i64, i64)>()
        .unwrap();
    let mut got = ctx.read_source(source).collect().unwrap();
    got.sort();
    let got: String = got.iter().map(|(v, c)| format!("{v}\t{c}\n")).collect();
    assert_eq!(got, want);
}

#[test]
fn kmeans_centers_are_records_equal_to_the_tsv() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("kmeans_data.txt");
    let args = |out: &Path| ok(&["kmeans", "--input", &input, "--k", "2", "--output", &p(out)]);
    let tsv_out = dir.path().join("centers.tsv");
    args(&tsv_out);
    let want: Vec<Vec<f64>> = std::fs::read_to_string(&tsv_out)
        .unwrap()
        .lines()
        .map(|l| l.split('\t').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(want.len(), 2);
    let ctx = Context::local(1).unwrap();
    let out = dir.path().join("centers.parquet");
    args(&out);
    let source = ParquetSource::builder(&out).build_rows().unwrap();
    assert_eq!(source.columns(), ["cluster", "f1", "f2", "f3"]);
    let got: Vec<Vec<f64>> = ctx
        .read_source(source)
        .collect()
        .unwrap()
        .iter()
        .map(|r| r[1..].iter().map(|v| v.as_f64().unwrap()).collect())
        .collect();
    assert_eq!(got, want);
    let out = dir.path().join("centers.csv");
    args(&out);
    let text = std::fs::read_to_string(out.join("part-00000.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("cluster,f1,f2,f3"));
    let got: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').skip(1).map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn save_modes() {
    let dir = tempfile::tempdir().unwrap();
    let input = data("followers.txt");
    let want = ok(&["cc", "--input", &input]);
    let out = dir.path().join("cc.tsv");
    std::fs::write(&out, "keep me\n").unwrap();

    // error (the default): refused, one line naming the path, the file untouched.
    for args in [&[][..], &["--mode", "error"][..]] {
        let mut a = vec!["cc", "--input", &input, "--output"];
        let o = p(&out);
        a.push(&o);
        a.extend_from_slice(args);
        let e = fails(&a);
        assert!(e.contains(&p(&out)) && e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me\n");
    }
    // ignore: left as it is.
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&out),
        "--mode",
        "ignore",
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me\n");
    // append: added at the end.
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&out),
        "--mode",
        "append",
    ]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        format!("keep me\n{want}")
    );
    // overwrite: replaced, and nothing left aside.
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&out),
        "--mode",
        "overwrite",
    ]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["cc.tsv"]);

    // The same for every job that writes a file: k-means' centers, lr's model.
    let centers = dir.path().join("centers.tsv");
    std::fs::write(&centers, "keep\n").unwrap();
    let km = |mode: &str| {
        firesteel(&[
            "kmeans",
            "--input",
            &data("kmeans_data.txt"),
            "--k",
            "2",
            "--output",
            &p(&centers),
            "--mode",
            mode,
        ])
    };
    assert!(!km("error").status.success());
    assert_eq!(std::fs::read_to_string(&centers).unwrap(), "keep\n");
    assert!(km("overwrite").status.success());
    assert_eq!(
        std::fs::read_to_string(&centers).unwrap().lines().count(),
        2
    );
    let model = dir.path().join("model.json");
    std::fs::write(&model, "keep\n").unwrap();
    let e = fails(&[
        "lr",
        "--input",
        &data("sample_libsvm_data.txt"),
        "--output",
        &p(&model),
    ]);
    assert!(e.contains("model.json"), "{e}");
    assert_eq!(std::fs::read_to_string(&model).unwrap(), "keep\n");

    // Directories of part files.
    let ranks = dir.path().join("ranks.parquet");
    ok(&["pagerank", "--input", &input, "--output", &p(&ranks)]);
    let e = fails(&["pagerank", "--input", &input, "--output", &p(&ranks)]);
    assert!(e.contains("ranks.parquet"), "{e}");
    ok(&[
        "pagerank",
        "--input",
        &input,
        "--output",
        &p(&ranks),
        "--mode",
        "append",
    ]);
    let source = ParquetSource::builder(&ranks).build_rows().unwrap();
    assert_eq!(source.num_rows(), 2 * want.lines().count() as u64);
    ok(&[
        "pagerank",
        "--input",
        &input,
        "--output",
        &p(&ranks),
        "--mode",
        "overwrite",
    ]);
    let source = ParquetSource::builder(&ranks).build_rows().unwrap();
    assert_eq!(source.num_rows(), want.lines().count() as u64);

    let csv = dir.path().join("cc.csv");
    ok(&["cc", "--input", &input, "--output", &p(&csv)]);
    assert!(!firesteel(&["cc", "--input", &input, "--output", &p(&csv)])
        .status
        .success());
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&csv),
        "--mode",
        "append",
    ]);
    let parts = std::fs::read_dir(&csv).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("part-")
    });
    assert_eq!(parts.count(), 2);
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&csv),
        "--mode",
        "ignore",
    ]);
    ok(&[
        "cc",
        "--input",
        &input,
        "--output",
        &p(&csv),
        "--mode",
        "overwrite",
    ]);
    let parts = std::fs::read_dir(&csv).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("part-")
    });
    assert_eq!(parts.count(), 1);

    let o = firesteel(&["cc", "--input", &input, "--mode", "sideways"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("unknown save mode \"sideways\""),
        "{}",
        stderr(&o)
    );
}

/// The server's URL, or `None` (after saying so) when the test should be skipped.
fn server_url(test: &str) -> Option<String> {
    match std::env::var("FIRESTEEL_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("FIRESTEEL_REQUIRE_PG").as_deref() == Ok("1") {
                panic!(
                    "{test}: FIRESTEEL_REQUIRE_PG=1 but FIRESTEEL_PG_URL is not set \
                     (start a server with `eval \"$(.ci/postgres start)\"`)"
                );
            }
            // Straight to stderr: libtest captures `eprintln!` of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: FIRESTEEL_PG_URL is not set; start a server with \
                 `eval \"$(.ci/postgres start)\"` (FIRESTEEL_REQUIRE_PG=1 makes this a failure)"
            );
            None
        }
    }
}

#[test]
fn postgres_tables_in_and_out() {
    use firesteel::connectors::postgres::PgUrl;
    let Some(url) = server_url("postgres_tables_in_and_out") else {
        return;
    };
    let mut client = PgUrl::parse(&url).unwrap().config.connect().unwrap();
    client
        .batch_execute(
            "DROP TABLE IF EXISTS cli_edges; DROP TABLE IF EXISTS cli_ranks;
             DROP TABLE IF EXISTS cli_points;
             CREATE TABLE cli_edges (id serial, dst bigint, src integer);",
        )
        .unwrap();
    for (s, d) in followers() {
        client
            .execute(
                "INSERT INTO cli_edges (src, dst) VALUES ($1, $2)",
                &[&(s as i32), &d],
            )
            .unwrap();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    let input = format!("{url}{sep}table=cli_edges&partition_column=src&num_partitions=3");
    // Read in 3 partitions, the edges come in another order than the text's, and the
    // ranks' sums in another order: equal to the last bits or so.
    let text = ok(&["pagerank", "--input", &data("followers.txt")]);
    let close = |a: &[(i64, f64)], b: &[(i64, f64)]| {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.0, y.0);
            assert!((x.1 - y.1).abs() < 1e-12, "{x:?} vs {y:?}");
        }
    };
    let from_table = ok(&["pagerank", "--input", &input]);
    close(&tsv(&from_table), &tsv(&text));
    assert_eq!(
        ok(&["cc", "--input", &input]),
        ok(&["cc", "--input", &data("followers.txt")])
    );

    // Ranks written into a table, and read back.
    let output = format!("{url}{sep}table=cli_ranks");
    ok(&["pagerank", "--input", &input, "--output", &output]);
    let rows = client
        .query("SELECT vertex, value FROM cli_ranks ORDER BY vertex", &[])
        .unwrap();
    let got: Vec<(i64, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, tsv(&from_table));
    // The table exists now: refused by default, replaced with overwrite.
    let e = fails(&["pagerank", "--input", &input, "--output", &output]);
    assert!(e.contains("cli_ranks"), "{e}");
    ok(&[
        "pagerank", "--input", &input, "--output", &output, "--mode", "append",
    ]);
    let n: i64 = client
        .query_one("SELECT count(*) FROM cli_ranks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n as usize, 2 * got.len());
    ok(&[
        "pagerank",
        "--input",
        &input,
        "--output",
        &output,
        "--mode",
        "overwrite",
    ]);
    let n: i64 = client
        .query_one("SELECT count(*) FROM cli_ranks", &[])
        .unwrap()
        .get(0);
    assert_eq!(n as usize, got.len());

    // A missing column names the table and the column.
    let e = fails(&["als", "--input", &input]);
    assert!(e.contains("cli_edges") && e.contains("\"user\""), "{e}");

    // k-means on a table: the numeric columns but the label, in the table's order.
    client
        .batch_execute(
            "CREATE TABLE cli_points (id integer, x double precision, label integer, name text, y real, z bigint);",
        )
        .unwrap();
    let rows: Vec<Vec<f64>> = std::fs::read_to_string(data("kmeans_data.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|x| x.parse().unwrap()).collect())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("points.csv");
    let mut text = String::from("id,x,label,name,y,z\n");
    for (i, r) in rows.iter().enumerate() {
        let (x, y, z) = (r[0], r[1] as f32, (r[2] * 10.0).round() as i64);
        client
            .execute(
                "INSERT INTO cli_points VALUES ($1, $2, 0, 'p', $3, $4)",
                &[&(i as i32), &x, &y, &z],
            )
            .unwrap();
        text.push_str(&format!("{i},{x},0,p,{},{z}\n", y as f64));
    }
    std::fs::write(&csv, text).unwrap();
    let run = |input: &str| {
        quality(&[
            "kmeans",
            "--input",
            input,
            "--k",
            "2",
            "--partitions",
            "1",
            "--json",
        ])
    };
    let table = format!("{url}{sep}table=cli_points");
    assert_eq!(run(&table), run(&p(&csv)));

    // Centers into a table: cluster, then the features by their input names.
    let centers = format!("{url}{sep}table=cli_centers");
    client
        .batch_execute("DROP TABLE IF EXISTS cli_centers")
        .unwrap();
    ok(&[
        "kmeans", "--input", &table, "--k", "2", "--output", &centers,
    ]);
    let rows = client
        .query(
            "SELECT cluster, id, x, y, z FROM cli_centers ORDER BY cluster",
            &[],
        )
        .unwrap();
    assert_eq!(rows.len(), 2);
    let first: i64 = rows[0].get(0);
    assert_eq!(first, 0);
    client.batch_execute("DROP TABLE cli_centers").unwrap();
    client
        .batch_execute("DROP TABLE cli_edges; DROP TABLE cli_ranks; DROP TABLE cli_points;")
        .unwrap();
}

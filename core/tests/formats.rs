//! CSV and JSON lines as typed records: Spark's own examples, round trips through part
//! files (compressed too), header mapping by name, the three parse modes, and errors that
//! name the exact line far into a file read in parallel.
#![cfg(all(feature = "csv", feature = "json", feature = "compression"))]

use std::io::Write;
use std::path::Path;

use firesteel_core::io::{Codec, CsvOptions, CsvWriteOptions, ParseMode, Parsed};
use firesteel_core::{Context, Error};
use serde::{Deserialize, Serialize};

/// `examples/src/main/resources/people.csv` of the Spark distribution, as Spark's "CSV
/// Files" guide (sql-data-sources-csv) reads it.
const PEOPLE_CSV: &str = "name;age;job\nJorge;30;Developer\nBob;32;Developer\n";

/// `examples/src/main/resources/people.json`, as Spark's "JSON Files" guide
/// (sql-data-sources-json) reads it.
const PEOPLE_JSON: &str =
    "{\"name\":\"Michael\"}\n{\"name\":\"Andy\", \"age\":30}\n{\"name\":\"Justin\", \"age\":19}\n";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Person {
    name: String,
    age: u32,
    job: String,
}

fn person(name: &str, age: u32, job: &str) -> Person {
    Person {
        name: name.into(),
        age,
        job: job.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: u64,
    label: String,
    score: Option<f64>,
    flag: bool,
}

fn ctx() -> Context {
    Context::local(2).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn gzip(path: &Path, text: &str) {
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
}

#[test]
fn spark_people_csv_reads_as_sparks_guide_shows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    write(&path, PEOPLE_CSV);
    let ctx = ctx();
    // spark.read.csv(path): one column, `_c0`, holding whole lines.
    let one: Vec<String> = ctx
        .read_csv(&path, 2, &CsvOptions::new())
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(
        one,
        ["name;age;job", "Jorge;30;Developer", "Bob;32;Developer"]
    );
    // .option("delimiter", ";"): three columns, the header line a row.
    let three: Vec<(String, String, String)> = ctx
        .read_csv(&path, 2, &CsvOptions::new().delimiter(';'))
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(three[0], ("name".into(), "age".into(), "job".into()));
    assert_eq!(three[2], ("Bob".into(), "32".into(), "Developer".into()));
    // .option("header", True): named columns.
    let people: Vec<Person> = ctx
        .read_csv(&path, 2, &CsvOptions::new().sep(';').header(true))
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(
        people,
        [
            person("Jorge", 30, "Developer"),
            person("Bob", 32, "Developer")
        ]
    );
}

#[test]
fn spark_people_json_reads_as_sparks_guide_shows() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct P {
        name: String,
        age: Option<i64>,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.json");
    write(&path, PEOPLE_JSON);
    let people = ctx()
        .read_json::<P>(&path, 2, ParseMode::FailFast)
        .unwrap()
        .collect()
        .unwrap();
    let ages: Vec<_> = people.iter().map(|p| (p.name.as_str(), p.age)).collect();
    assert_eq!(
        ages,
        [("Michael", None), ("Andy", Some(30)), ("Justin", Some(19))]
    );
    // SELECT name FROM people WHERE age BETWEEN 13 AND 19 -> Justin.
    let teens: Vec<_> = people
        .iter()
        .filter(|p| p.age.is_some_and(|a| (13..=19).contains(&a)))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(teens, ["Justin"]);
}

fn tricky_rows() -> Vec<Row> {
    let labels = [
        "plain",
        "comma, inside",
        "say \"hi\"",
        "semi;colon",
        "back\\slash",
        "ends with backslash\\",
        "\\\"both\\\"",
        "",
        "  padded  ",
        "ünïcödé ✓",
        "tab\there",
    ];
    (0..200u64)
        .map(|i| Row {
            id: i,
            label: labels[i as usize % labels.len()].to_string(),
            score: (i % 3 != 0).then(|| i as f64 / 7.0 - 10.0),
            flag: i % 2 == 0,
        })
        .collect()
}

#[test]
fn csv_round_trips_with_quotes_delimiters_and_codecs() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let rows = tricky_rows();
    let ds = ctx.parallelize(rows.clone(), 3);
    for (name, wopts, ropts, codec_ext) in [
        (
            "plain",
            CsvWriteOptions::new().header(true),
            CsvOptions::new().header(true),
            "",
        ),
        (
            "gzip",
            CsvWriteOptions::new().codec(Codec::Gzip),
            CsvOptions::new(),
            ".gz",
        ),
        (
            "semicolon-rfc",
            CsvWriteOptions::new()
                .header(true)
                .delimiter(';')
                .escape('"')
                .codec(Codec::Zstd),
            CsvOptions::new().header(true).sep(';').escape('"'),
            ".zst",
        ),
    ] {
        let out = dir.path().join(name);
        ds.save_as_csv(&out, &wopts).unwrap();
        assert!(out.join(format!("part-00002.csv{codec_ext}")).exists());
        let opts = ropts.mode(ParseMode::FailFast);
        let back: Vec<Row> = ctx.read_csv(&out, 4, &opts).unwrap().collect().unwrap();
        assert_eq!(back, rows, "{name}");
    }
    // The header is the first line of every part file.
    for part in 0..3 {
        let text =
            std::fs::read_to_string(dir.path().join(format!("plain/part-{part:05}.csv"))).unwrap();
        assert!(text.starts_with("id,label,score,flag\n"), "part {part}");
    }
    let first = std::fs::read_to_string(dir.path().join("plain/part-00000.csv")).unwrap();
    let lines: Vec<&str> = first.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "id,label,score,flag",
            "0,plain,,true",
            "1,\"comma, inside\",-9.857142857142858,false",
            "2,\"say \\\"hi\\\"\",-9.714285714285714,true",
        ]
    );
}

#[test]
fn csv_header_columns_map_to_fields_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    // Columns in another order than the struct's, one it does not have, and names
    // that differ in case (Spark resolves them case-insensitively).
    write(
        &dir.path().join("a.csv"),
        "Job,extra,name,AGE\nDeveloper,x,Jorge,30\nDesigner,y,Ann,41\n",
    );
    // Each file's header is skipped, even after blank and comment lines.
    write(
        &dir.path().join("b.csv"),
        "# exported\n\njob,extra,name,age\nTester,z,Bob,32\n",
    );
    let opts = CsvOptions::new()
        .header(true)
        .comment('#')
        .mode(ParseMode::FailFast);
    let people: Vec<Person> = ctx
        .read_csv(dir.path(), 3, &opts)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(
        people,
        [
            person("Jorge", 30, "Developer"),
            person("Ann", 41, "Designer"),
            person("Bob", 32, "Tester"),
        ]
    );
    // A struct field with no column fails every line, naming it.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct WithSalary {
        name: String,
        salary: u32,
    }
    let e = ctx
        .read_csv::<WithSalary>(dir.path().join("a.csv"), 1, &opts)
        .unwrap()
        .collect()
        .unwrap_err();
    let msg = e.root_cause().to_string();
    assert!(
        msg.contains("a.csv:2: malformed CSV record (missing field `salary`)"),
        "{msg}"
    );
}

/// A file of `n` lines `i,label-i,i/2`, with `bad` lines replaced.
fn big_csv(path: &Path, n: usize, bad: &[(usize, &str)]) {
    let mut text = String::with_capacity(n * 24);
    for i in 1..=n {
        match bad.iter().find(|(l, _)| *l == i) {
            Some((_, line)) => text.push_str(line),
            None => text.push_str(&format!("{i},label-{i},{}", i as f64 / 2.0)),
        }
        text.push('\n');
    }
    write(path, &text);
}

#[test]
fn a_bad_row_far_past_the_first_split_names_its_exact_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let n = 200_000;
    big_csv(&path, n, &[(199_937, "199937,label,not-a-number")]);
    let ctx = ctx();
    let opts = CsvOptions::new().mode(ParseMode::FailFast);
    let ds = ctx.read_csv::<(u64, String, f64)>(&path, 4, &opts).unwrap();
    assert_eq!(ds.num_partitions(), 4);
    let e = ds.count().unwrap_err();
    match e.root_cause() {
        Error::Parse {
            path: p,
            line,
            message,
        } => {
            assert_eq!(*line, 199_937);
            assert_eq!(p, &path);
            assert_eq!(
                message,
                "malformed CSV record (column 3 = \"not-a-number\": invalid float literal): \
                 \"199937,label,not-a-number\""
            );
        }
        other => panic!("expected a parse error, got {other}"),
    }
    // DROPMALFORMED skips it; the rest are all there.
    let dropped = ctx
        .read_csv::<(u64, String, f64)>(&path, 4, &opts.clone().mode(ParseMode::DropMalformed))
        .unwrap();
    assert_eq!(dropped.count().unwrap(), n as u64 - 1);
    let sum: u64 = dropped.map(|r| r.0).reduce(|a, b| a + b).unwrap();
    assert_eq!(sum, (n as u64 * (n as u64 + 1)) / 2 - 199_937);
}

#[test]
fn a_row_with_too_few_columns_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.csv");
    write(
        &path,
        "name,age,job\nJorge,30,Developer\nBob,32\nAnn,41,Designer\n",
    );
    let ctx = ctx();
    let opts = CsvOptions::new().header(true);
    let e = ctx
        .read_csv::<Person>(&path, 1, &opts.clone().mode(ParseMode::FailFast))
        .unwrap()
        .collect()
        .unwrap_err();
    let msg = e.root_cause().to_string();
    assert!(
        msg.ends_with("short.csv:3: malformed CSV record (2 columns, expected 3): \"Bob,32\""),
        "{msg}"
    );
    let kept = ctx
        .read_csv::<Person>(&path, 1, &opts.clone().mode(ParseMode::DropMalformed))
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(
        kept,
        [
            person("Jorge", 30, "Developer"),
            person("Ann", 41, "Designer")
        ]
    );
    // Too many columns is malformed too (as in Spark 3).
    write(&path, "1,2\n3,4,5\n");
    let e = ctx
        .read_csv::<(u8, u8)>(&path, 1, &CsvOptions::new().mode(ParseMode::FailFast))
        .unwrap()
        .collect()
        .unwrap_err();
    assert!(matches!(e.root_cause(), Error::Parse { line: 2, .. }));
}

#[test]
fn permissive_sets_bad_fields_to_none_and_keeps_corrupt_lines_aside() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Loose {
        name: String,
        age: Option<u32>,
        job: Option<String>,
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loose.csv");
    write(
        &path,
        "name,age,job\nJorge,30,Developer\nBob,thirty-two\nAnn,41,Designer,extra\nEve,x,QA\n",
    );
    let ctx = ctx();
    let opts = CsvOptions::new().header(true);
    let loose: Vec<Loose> = ctx.read_csv(&path, 2, &opts).unwrap().collect().unwrap();
    let l = |name: &str, age, job: Option<&str>| Loose {
        name: name.into(),
        age,
        job: job.map(Into::into),
    };
    assert_eq!(
        loose,
        [
            l("Jorge", Some(30), Some("Developer")),
            l("Bob", None, None),
            l("Ann", Some(41), Some("Designer")),
            l("Eve", None, Some("QA")),
        ]
    );
    // A record with no Option for its bad field cannot be permissive: the job fails,
    // pointing at read_csv_with_corrupt.
    let e = ctx
        .read_csv::<Person>(&path, 1, &opts)
        .unwrap()
        .collect()
        .unwrap_err();
    let msg = e.root_cause().to_string();
    assert!(
        msg.contains("loose.csv:3:") && msg.contains("read_csv_with_corrupt"),
        "{msg}"
    );
    // ... which keeps the lines aside, with where they are and why.
    let parsed: Vec<Parsed<Person>> = ctx
        .read_csv_with_corrupt(&path, 2, &opts)
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(parsed[0], Parsed::Record(person("Jorge", 30, "Developer")));
    let corrupt: Vec<(u64, &str, &str)> = parsed
        .iter()
        .filter_map(Parsed::corrupt)
        .map(|c| (c.line, c.text.as_str(), c.error.as_str()))
        .collect();
    assert_eq!(
        corrupt,
        [
            (3, "Bob,thirty-two", "2 columns, expected 3"),
            (4, "Ann,41,Designer,extra", "4 columns, expected 3"),
            (
                5,
                "Eve,x,QA",
                "column 2 (age) = \"x\": invalid digit found in string"
            ),
        ]
    );
}

#[test]
fn a_gzipped_csv_gives_the_records_of_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name,age,job\n");
    for i in 0..5000 {
        text.push_str(&format!("\"Person, {i}\",{},Job{}\n", 20 + i % 50, i % 7));
    }
    let plain = dir.path().join("people.csv");
    let zipped = dir.path().join("people.csv.gz");
    write(&plain, &text);
    gzip(&zipped, &text);
    let ctx = ctx();
    let opts = CsvOptions::new().header(true).mode(ParseMode::FailFast);
    let a: Vec<Person> = ctx.read_csv(&plain, 4, &opts).unwrap().collect().unwrap();
    let b: Vec<Person> = ctx.read_csv(&zipped, 4, &opts).unwrap().collect().unwrap();
    assert_eq!(a.len(), 5000);
    assert_eq!(a[4999], person("Person, 4999", 69, "Job1"));
    assert_eq!(a, b);
}

#[test]
fn csv_options_null_value_trimming_and_comments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opts.csv");
    write(
        &path,
        "// a comment\n id | score \n1|  NA\n\n  2 | 3.5\r\n// another\n",
    );
    let opts = CsvOptions::new()
        .sep('|')
        .header(true)
        .comment('/')
        .null_value("NA")
        .ignore_leading_white_space(true)
        .ignore_trailing_white_space(true)
        .mode(ParseMode::FailFast);
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct S {
        id: u32,
        score: Option<f64>,
    }
    let rows: Vec<S> = ctx().read_csv(&path, 3, &opts).unwrap().collect().unwrap();
    assert_eq!(
        rows,
        [
            S { id: 1, score: None },
            S {
                id: 2,
                score: Some(3.5)
            }
        ]
    );
    // Non-ASCII or clashing characters are refused before any job runs.
    let bad = ctx().read_csv::<S>(&path, 1, &CsvOptions::new().sep('"'));
    assert!(matches!(bad, Err(Error::InvalidArgument(_))));
}

#[test]
fn json_round_trips_through_part_files_and_codecs() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = ctx();
    let rows = tricky_rows();
    let ds = ctx.parallelize(rows.clone(), 3);
    for codec in [None, Some(Codec::Gzip), Some(Codec::Bzip2)] {
        let out = dir.path().join(format!("out-{codec:?}"));
        ds.save_as_json(&out, codec).unwrap();
        let ext = codec.map_or("", Codec::extension);
        assert!(out.join(format!("part-00000.json{ext}")).exists());
        let back: Vec<Row> = ctx
            .read_json(&out, 4, ParseMode::FailFast)
            .unwrap()
            .collect()
            .unwrap();
        assert_eq!(back, rows, "{codec:?}");
    }
    let text = std::fs::read_to_string(dir.path().join("out-None/part-00000.json")).unwrap();
    assert_eq!(
        text.lines().nth(2).unwrap(),
        r#"{"id":2,"label":"say \"hi\"","score":-9.714285714285714,"flag":true}"#
    );
}

#[test]
fn json_parse_modes_far_into_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let n = 200_000;
    let mut text = String::new();
    for i in 1..=n {
        match i {
            180_001 => text.push_str("{\"id\": 180001, \"score\": \"high\"}"),
            199_999 => text.push_str("{\"id\": 199999, "),
            _ => text.push_str(&format!("{{\"id\":{i},\"score\":{}}}", i as f64 / 4.0)),
        }
        text.push('\n');
    }
    write(&path, &text);
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct J {
        id: Option<u64>,
        score: Option<f64>,
    }
    let ctx = ctx();
    let e = ctx
        .read_json::<J>(&path, 4, ParseMode::FailFast)
        .unwrap()
        .filter(|j| j.id.is_some_and(|id| id > 180_000))
        .count()
        .unwrap_err();
    // Both bad lines lie in the last split; its first bad line fails the job.
    match e.root_cause() {
        Error::Parse { line, message, .. } => {
            assert_eq!(*line, 180_001);
            assert_eq!(
                message,
                "malformed JSON record (invalid type: string \"high\", expected f64 at column 30): \
                 \"{\\\"id\\\": 180001, \\\"score\\\": \\\"high\\\"}\""
            );
        }
        other => panic!("expected a parse error, got {other}"),
    }
    let dropped = ctx
        .read_json::<J>(&path, 4, ParseMode::DropMalformed)
        .unwrap();
    assert_eq!(dropped.count().unwrap(), n as u64 - 2);
    let lenient = ctx.read_json::<J>(&path, 4, ParseMode::Permissive).unwrap();
    let odd: Vec<J> = lenient.filter(|j| j.score.is_none()).collect().unwrap();
    assert_eq!(
        odd,
        [
            J {
                id: Some(180_001),
                score: None
            },
            J {
                id: None,
                score: None
            }
        ]
    );
    let corrupt: Vec<u64> = ctx
        .read_json_with_corrupt::<J>(&path, 4)
        .unwrap()
        .flat_map(|p| p.corrupt().map(|c| c.line))
        .collect()
        .unwrap();
    assert_eq!(corrupt, [180_001, 199_999]);
}

//! The `firesteel` command line: the demo, the job subcommands' output contracts, and bad
//! input giving a one-line error and a non-zero exit.

use std::process::{Command, Output};

#[path = "../../data/spark_results.rs"]
mod spark_results;

use spark_results::key;

fn firesteel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_firesteel"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("running firesteel")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn demo_matches_spark_on_every_result() {
    let o = firesteel(&["demo", "--threads", "2"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("static PageRank (20) on followers.txt"),
        "{out}"
    );
    assert!(!out.contains("  NO  "), "{out}");
}

#[test]
fn pagerank_tsv_matches_graphx() {
    let o = firesteel(&[
        "pagerank",
        "--input",
        "data/followers.txt",
        "--iterations",
        "20",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got: Vec<(u64, f64)> = stdout(&o)
        .lines()
        .map(|l| {
            let (v, r) = l.split_once('\t').unwrap();
            (v.parse().unwrap(), r.parse().unwrap())
        })
        .collect();
    let spark = spark_results::vertex_values(key::FOLLOWERS_PAGE_RANK);
    let tol = spark_results::tolerance(key::FOLLOWERS_PAGE_RANK);
    assert_eq!(got.len(), spark.len());
    for (a, b) in got.iter().zip(&spark) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < tol, "{a:?} vs {b:?}");
    }
}

#[test]
fn json_is_exactly_one_object() {
    for args in [
        &["cc", "--input", "data/followers.txt", "--json"][..],
        &[
            "kmeans",
            "--input",
            "data/kmeans_data.txt",
            "--k",
            "2",
            "--json",
        ][..],
        &[
            "lr",
            "--input",
            "data/sample_libsvm_data.txt",
            "--reg",
            "0.01",
            "--json",
        ][..],
    ] {
        let o = firesteel(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert_eq!(out.trim().lines().count(), 1, "{out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        for key in [
            "load_s",
            "fit_s",
            "iterations",
            "iteration_s",
            "quality",
            "metrics",
        ] {
            assert!(v.get(key).is_some(), "{args:?} lacks {key}: {v}");
        }
    }
    let o = firesteel(&["cc", "--input", "data/followers.txt", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["quality"]["components"], 2);
    let o = firesteel(&[
        "kmeans",
        "--input",
        "data/kmeans_data.txt",
        "--k",
        "2",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let spark_cost = spark_results::f64_of(key::KMEANS, "training_cost");
    let tol = spark_results::tolerance(key::KMEANS);
    assert!((v["quality"]["cost"].as_f64().unwrap() - spark_cost).abs() < tol);
}

/// `data/spark_results.json` (Spark's results, which the demo, the tests and the examples
/// read) parses, every number in it reads back exactly as written, and it holds every entry
/// and value the readers look up. (Checking it against the record of the Spark runs,
/// `shared/data/spark/README.md`, needs that file, which is outside the repository.)
#[test]
fn spark_results_table_parses_and_is_complete() {
    let table = spark_results::table();
    for field in ["note", "spark_version", "master", "source"] {
        assert!(table[field].is_string(), "lacks {field}");
    }
    assert_eq!(table["spark_version"], "4.3.0");
    let mut keys = spark_results::keys();
    keys.sort();
    let mut want = key::ALL.to_vec();
    want.sort();
    assert_eq!(keys, want, "the table's entries are the readers' keys");
    for k in key::ALL {
        let e = spark_results::entry(k);
        for field in ["spark", "dataset"] {
            assert!(e[field].is_string(), "{k} lacks {field}");
        }
        let dataset = e["dataset"].as_str().unwrap();
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/").to_string() + dataset;
        assert!(std::path::Path::new(&file).is_file(), "{k}: no {file}");
        assert!(e["params"].is_object(), "{k} lacks params");
        assert!(e["values"].is_object(), "{k} lacks values");
        if let Some(t) = e.get("tolerance") {
            assert!(t.as_f64().is_some_and(|t| t > 0.0), "{k}: tolerance {t}");
        }
    }
    // Every value the readers use, of the type they read it as.
    for k in [key::FOLLOWERS_PAGE_RANK, key::PAGERANK_DATA_PAGE_RANK] {
        assert!(!spark_results::vertex_values(k).is_empty(), "{k}");
        assert!(spark_results::tolerance(k) > 0.0, "{k}");
    }
    assert!(!spark_results::vertex_labels(key::FOLLOWERS_COMPONENTS).is_empty());
    let centers = spark_results::vectors(key::KMEANS, "centers");
    assert!(centers.len() == 2 && centers.iter().all(|c| c.len() == 3));
    spark_results::f64_of(key::KMEANS, "training_cost");
    spark_results::f64_of(key::LOGISTIC_L2, "accuracy");
    spark_results::f64_of(key::LOGISTIC_L2, "area_under_roc");
    spark_results::u64_of(key::LOGISTIC_ELASTIC_NET, "non_zeros");
    spark_results::f64_of(key::LOGISTIC_ELASTIC_NET, "intercept");
    spark_results::f64_of(key::LOGISTIC_MULTINOMIAL, "accuracy");
    spark_results::f64_of(key::ALS, "training_rmse");
    spark_results::f64_of(key::ALS, "test_rmse");
    for k in [
        key::KMEANS,
        key::LOGISTIC_ELASTIC_NET,
        key::LOGISTIC_MULTINOMIAL,
    ] {
        assert!(spark_results::tolerance(k) > 0.0, "{k}");
    }
    // Exact parsing: each number's shortest round-trip form is the text in the file.
    fn numbers<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        match v {
            serde_json::Value::Number(_) => out.push(v),
            serde_json::Value::Array(a) => a.iter().for_each(|x| numbers(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| numbers(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    numbers(table, &mut all);
    let text: String = spark_results::JSON.split_whitespace().collect();
    for n in all {
        let s = n.to_string();
        assert!(
            text.contains(&format!(":{s},"))
                || text.contains(&format!(":{s}}}"))
                || text.contains(&format!("[{s},"))
                || text.contains(&format!(",{s},"))
                || text.contains(&format!(",{s}]")),
            "{s} is not written so in data/spark_results.json"
        );
    }
}

#[test]
fn bad_input_is_a_one_line_error() {
    for args in [
        &["pagerank", "--input", "/no/such/edges.txt"][..],
        &["kmeans", "--input", "data/kmeans_data.txt", "--k", "0"][..],
        &["lr", "--input", "data/kmeans_data.txt"][..],
        &[
            "pagerank",
            "--input",
            "data/followers.txt",
            "--reset-prob",
            "2",
        ][..],
        &["cc", "--input", "data/sample_libsvm_data.txt"][..],
    ] {
        let o = firesteel(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let o = firesteel(&["lr", "--input", "data/kmeans_data.txt"]);
    assert!(
        stderr(&o).contains("kmeans_data.txt:1"),
        "names file and line"
    );
    // The library checks the ML parameters; the message leads with the flag that set one.
    for (args, want) in [
        (
            &["kmeans", "--input", "data/kmeans_data.txt", "--k", "0"][..],
            "--k: k must be > 1, got 0",
        ),
        (
            &["lr", "--input", "data/sample_libsvm_data.txt", "--reg=-1"][..],
            "--reg: reg_param must be finite and >= 0, got -1",
        ),
        (
            &[
                "als",
                "--input",
                "data/sample_movielens_ratings.txt",
                "--rank",
                "0",
            ][..],
            "--rank: rank must be from 1 to 4096, got 0",
        ),
    ] {
        let o = firesteel(args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert_eq!(stderr(&o).trim(), format!("error: {want}"), "{args:?}");
    }
}

#[test]
fn pagerank_flags_are_checked_by_the_graph_library() {
    for (flags, want) in [
        (
            ["--reset-prob", "2"],
            "error: --reset-prob 2 must be in [0, 1]",
        ),
        (
            ["--tolerance", "0"],
            "error: --tolerance 0 must be greater than 0",
        ),
        (
            ["--iterations", "0"],
            "error: --iterations 0 must be greater than 0",
        ),
    ] {
        let args = [&["pagerank", "--input", "data/followers.txt"][..], &flags].concat();
        let o = firesteel(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert_eq!(stderr(&o).trim(), want, "{args:?}");
    }
}

#[test]
fn wordcount_writes_part_files_and_generate_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("wc");
    let o = firesteel(&[
        "wordcount",
        "--input",
        "data/sample_text.txt",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("_SUCCESS").exists());
    let text = std::fs::read_to_string(out.join("part-00000")).unwrap();
    assert!(text.lines().any(|l| l == "the\t19"), "{text}");
    let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
    for p in [&a, &b] {
        let o = firesteel(&[
            "generate",
            "rmat",
            "--scale",
            "8",
            "--output",
            p.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(
        std::fs::read_to_string(&a).unwrap().lines().count(),
        256 * 16
    );
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    use std::os::unix::process::ExitStatusExt;
    // As `firesteel demo | head -0`: the reader is gone before the first line.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_firesteel"))
        .args(["demo", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Ended by SIGPIPE (13), which shells report as status 141.
    assert_eq!(out.status.signal(), Some(13), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn als_writes_its_factors_to_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("factors.tsv");
    let out_s = out.to_str().unwrap();
    let args = [
        "als",
        "--input",
        "data/sample_movielens_ratings.txt",
        "--rank",
        "4",
        "--test-fraction",
        "0",
        "--output",
        out_s,
    ];
    let o = firesteel(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // With nothing held out, every user and item of the ratings has factors, once.
    let ratings = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/sample_movielens_ratings.txt"
    ))
    .unwrap();
    let mut want = std::collections::BTreeSet::new();
    for l in ratings.lines() {
        let f: Vec<&str> = l.split("::").collect();
        want.insert(("user".to_string(), f[0].parse::<u32>().unwrap()));
        want.insert(("item".to_string(), f[1].parse::<u32>().unwrap()));
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let mut got = std::collections::BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "{line}");
        let values: Vec<f32> = f[2].split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(values.len(), 4, "{line}");
        assert!(values.iter().all(|v| v.is_finite()), "{line}");
        assert!(
            got.insert((f[0].to_string(), f[1].parse::<u32>().unwrap())),
            "twice: {line}"
        );
    }
    assert_eq!(got, want);
    // An existing output is refused before anything runs.
    let again = firesteel(&args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[cfg(unix)]
#[test]
fn sigterm_while_writing_leaves_no_output_and_no_temporaries() {
    use std::fmt::Write as _;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    // Three million distinct words: the output takes a while to write.
    let mut text = String::with_capacity(40 << 20);
    for i in 0..3_000_000u32 {
        writeln!(text, "w{i:x}").unwrap();
    }
    std::fs::write(&input, text).unwrap();
    let scratch = dir.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let out = dir.path().join("counts");
    let mut child = Command::new(env!("CARGO_BIN_EXE_firesteel"))
        .args(["wordcount", "--threads", "2", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&out)
        .env("TMPDIR", &scratch)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let entries = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    // Signal once the temporary output exists, while it is being written.
    let start = std::time::Instant::now();
    while !entries(dir.path())
        .iter()
        .any(|n| n.starts_with(".counts.firesteel-tmp-"))
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the job ended before its output was written aside"
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "no temporary output appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");
    // Neither the output nor its temporary, nor the context's scratch directory, is left.
    assert_eq!(entries(dir.path()), ["tmp", "words.txt"]);
    assert_eq!(entries(&scratch), Vec::<String>::new());
}

#[test]
fn a_graph_checkpoint_is_resumed_only_whole_and_for_its_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("edges.txt");
    std::fs::copy("../data/followers.txt", &input).unwrap();
    let ckpt = dir.path().join("ckpt");
    let (input_arg, ckpt_arg) = (input.to_str().unwrap(), ckpt.to_str().unwrap());
    let run = || {
        firesteel(&[
            "pagerank",
            "--input",
            input_arg,
            "--checkpoint-dir",
            ckpt_arg,
            "--iterations",
            "5",
            "--partitions",
            "3",
        ])
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    // Unchanged: resumed, with the same ranks.
    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("resuming from the checkpoint"));
    assert_eq!(stdout(&again), stdout(&first));
    // A lost part is an error naming it, not a smaller graph.
    let part = ckpt.join("edges/part-00001");
    let saved = std::fs::read(&part).unwrap();
    std::fs::remove_file(&part).unwrap();
    let o = run();
    assert!(!o.status.success() && stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("part part-00001 is missing"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&part, saved).unwrap();
    // Another input under the same path: the checkpoint is refused, not used.
    let mut edges = std::fs::read_to_string(&input).unwrap();
    edges.push_str("1 7\n");
    std::fs::write(&input, edges).unwrap();
    let o = run();
    assert!(!o.status.success() && stdout(&o).is_empty());
    assert!(
        stderr(&o).contains("made from another input"),
        "{}",
        stderr(&o)
    );
}

/// The bad-input corpus: every case must fail with status 1 (or clap's 2 for a flag it
/// refuses), a message starting `error:` that names what is wrong, and no panic or abort.
/// Files are made in a temporary directory: `{dir}` in an argument stands for it.
#[cfg(unix)]
#[test]
fn bad_input_corpus_fails_cleanly_with_a_named_cause() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("utf8.txt"), b"1 2\n3 \xff\xfe\n").unwrap();
    std::fs::write(d.join("words.txt"), "1 2\nthree 4\n").unwrap();
    std::fs::write(d.join("neg.txt"), "1 2\n-3 4\n").unwrap();
    std::fs::write(d.join("huge.txt"), "1 99999999999999999999\n").unwrap();
    std::fs::write(d.join("bad.libsvm"), "1 1:0.5 2:x\n").unwrap();
    std::fs::write(d.join("label.libsvm"), "0.5 1:0.5\n").unwrap();
    std::fs::write(d.join("ratings.txt"), "0::1::x::0\n").unwrap();
    std::fs::write(d.join("ragged.txt"), "1.0 2.0\n3.0\n").unwrap();
    std::fs::write(d.join("nan.txt"), "1.0 NaN\n2.0 3.0\n").unwrap();
    std::fs::write(d.join("one.csv"), "1.0,2.0\n").unwrap();
    std::fs::create_dir(d.join("existing")).unwrap();
    // A FIFO and a symbolic link stand for outputs that are not regular files (never a
    // real device: a failing case would replace it).
    assert!(Command::new("mkfifo")
        .arg(d.join("fifo"))
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink(d.join("existing"), d.join("link")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Inputs that are not there, or not what the job reads.
        (
            vec!["wordcount", "--input", "/no/such/file"],
            "/no/such/file",
        ),
        (
            vec!["pagerank", "--input", "/no/such/edges"],
            "/no/such/edges",
        ),
        (vec!["cc", "--input", "{dir}/words.txt"], "words.txt:2"),
        (vec!["scc", "--input", "{dir}/neg.txt"], "neg.txt:2"),
        (vec!["triangles", "--input", "{dir}/huge.txt"], "huge.txt:1"),
        (vec!["pagerank", "--input", "{dir}/utf8.txt"], "utf8.txt:2"),
        (
            vec!["kmeans", "--input", "{dir}/ragged.txt", "--k", "2"],
            "ragged.txt:2",
        ),
        (
            vec!["kmeans", "--input", "{dir}/nan.txt", "--k", "2"],
            "nan.txt:1",
        ),
        (vec!["lr", "--input", "{dir}/bad.libsvm"], "bad.libsvm:1"),
        (
            vec!["kmeans", "--input", "{dir}/one.csv", "--k", "2"],
            "below the header line",
        ),
        (
            vec!["lr", "--input", "{dir}/label.libsvm"],
            "label.libsvm:1",
        ),
        (vec!["als", "--input", "{dir}/ratings.txt"], "ratings.txt:1"),
        (vec!["wordcount", "--input", "{dir}/*.nothing"], "nothing"),
        // Flags out of range.
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--threads",
                "0",
            ],
            "--threads",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--threads",
                "100000",
            ],
            "1024",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--partitions",
                "0",
            ],
            "--partitions",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--partitions",
                "18446744073709551615",
            ],
            "100000",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--memory",
                "12q",
            ],
            "--memory",
        ),
        (
            vec!["kmeans", "--input", "data/kmeans_data.txt", "--k", "0"],
            "--k",
        ),
        (
            vec![
                "kmeans",
                "--input",
                "data/kmeans_data.txt",
                "--k",
                "2",
                "--tol",
                "nan",
            ],
            "--tol",
        ),
        (
            vec![
                "kmeans",
                "--input",
                "data/kmeans_data.txt",
                "--k",
                "2",
                "--tol",
                "inf",
            ],
            "--tol",
        ),
        (
            vec![
                "lr",
                "--input",
                "data/sample_libsvm_data.txt",
                "--reg",
                "inf",
            ],
            "--reg",
        ),
        (
            vec![
                "lr",
                "--input",
                "data/sample_libsvm_data.txt",
                "--reg",
                "nan",
            ],
            "--reg",
        ),
        (
            vec!["lr", "--input", "data/sample_libsvm_data.txt", "--reg=-1"],
            "--reg",
        ),
        (
            vec![
                "als",
                "--input",
                "data/sample_movielens_ratings.txt",
                "--rank",
                "0",
            ],
            "--rank",
        ),
        (
            vec![
                "als",
                "--input",
                "data/sample_movielens_ratings.txt",
                "--rank",
                "100000",
            ],
            "4096",
        ),
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--reset-prob",
                "2",
            ],
            "--reset-prob",
        ),
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--reset-prob",
                "nan",
            ],
            "--reset-prob",
        ),
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--tolerance",
                "0",
            ],
            "--tolerance",
        ),
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--iterations",
                "0",
            ],
            "--iterations",
        ),
        // Sizes past what can be built.
        (
            vec!["generate", "rmat", "--scale", "64", "--output", "{dir}/g"],
            "--scale",
        ),
        (
            vec!["generate", "rmat", "--scale", "31", "--output", "{dir}/g"],
            "GiB",
        ),
        (
            vec![
                "generate",
                "rmat",
                "--edge-factor",
                "0",
                "--output",
                "{dir}/g",
            ],
            "--edge-factor",
        ),
        (
            vec!["generate", "blobs", "--points", "0", "--output", "{dir}/g"],
            "--points",
        ),
        (
            vec!["generate", "blobs", "--dims", "0", "--output", "{dir}/g"],
            "--dims",
        ),
        (
            vec![
                "generate", "logistic", "--points", "0", "--output", "{dir}/g",
            ],
            "--points",
        ),
        (
            vec!["generate", "ratings", "--users", "0", "--output", "{dir}/g"],
            "--users",
        ),
        (
            vec![
                "generate",
                "ratings",
                "--rank",
                "1000000000",
                "--output",
                "{dir}/g",
            ],
            "4096",
        ),
        (
            vec![
                "generate",
                "ratings",
                "--users",
                "100000000",
                "--rank",
                "4000",
                "--output",
                "{dir}/g",
            ],
            "GiB",
        ),
        // Outputs that exist, or are not files.
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--output",
                "{dir}/existing",
            ],
            "existing",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--output",
                "{dir}/existing",
            ],
            "existing",
        ),
        (
            vec![
                "kmeans",
                "--input",
                "data/kmeans_data.txt",
                "--k",
                "2",
                "--output",
                "{dir}/fifo",
                "--mode",
                "overwrite",
            ],
            "not a regular file",
        ),
        (
            vec![
                "pagerank",
                "--input",
                "data/followers.txt",
                "--output",
                "{dir}/fifo",
                "--mode",
                "append",
            ],
            "not a regular file",
        ),
        (
            vec![
                "wordcount",
                "--input",
                "data/sample_text.txt",
                "--output",
                "{dir}/link",
                "--mode",
                "overwrite",
            ],
            "not a regular file",
        ),
    ];
    let dir_text = d.to_str().unwrap();
    for (args, names) in &cases {
        let args: Vec<String> = args.iter().map(|a| a.replace("{dir}", dir_text)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = firesteel(&args);
        let err = stderr(&o);
        let code = o.status.code();
        assert!(
            matches!(code, Some(1) | Some(2)),
            "{args:?}: status {:?}\n{err}",
            o.status
        );
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains(names), "{args:?} should name {names:?}: {err}");
    }
    // Nothing was written where a case refused to write.
    assert_eq!(std::fs::read_dir(d.join("existing")).unwrap().count(), 0);
    let fifo = std::fs::symlink_metadata(d.join("fifo"))
        .unwrap()
        .file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo));
    assert!(std::fs::symlink_metadata(d.join("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!d.join("g").exists());
}

#[test]
fn a_tolerance_pagerank_cannot_reach_stops_at_its_iteration_cap() {
    // No double can show a change of 1e-300 in a rank near 1: without the cap this would
    // loop for ever (GraphX sets none).
    let mut child = Command::new(env!("CARGO_BIN_EXE_firesteel"))
        .args([
            "pagerank",
            "--input",
            "data/followers.txt",
            "--tolerance",
            "1e-300",
        ])
        .args(["--max-iterations", "30"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() > 60 {
            child.kill().unwrap();
            panic!("dynamic PageRank did not stop at its iteration cap");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stopped after 30 iterations without converging"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o).lines().count(), 6, "the six vertices' ranks");
}

//! The `firesteel` command line: the demo, the job subcommands' output contracts, and bad
//! input giving a one-line error and a non-zero exit.

use std::process::{Command, Output};

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
    let spark = [
        (1, 1.441651026258466),
        (2, 1.4083489737415333),
        (3, 1.0000000000000002),
        (4, 0.15000000000000005),
        (6, 0.7017543969892541),
        (7, 1.2982456030107463),
    ];
    assert_eq!(got.len(), spark.len());
    for (a, b) in got.iter().zip(&spark) {
        assert_eq!(a.0, b.0);
        assert!((a.1 - b.1).abs() < 1e-9, "{a:?} vs {b:?}");
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
    assert!((v["quality"]["cost"].as_f64().unwrap() - 0.12).abs() < 1e-9);
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
            "--rank: rank must be >= 1, got 0",
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

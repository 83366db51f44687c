//! Text input and output: line-aligned splits, directories of part files, atomic output,
//! and typed errors naming the file and line.

use std::collections::HashMap;
use std::path::PathBuf;

use firesteel_core::fault::Fault;
use firesteel_core::{Context, Error};

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/sample_text.txt")
}

#[test]
fn word_count_equals_a_hashmap_count() {
    let ctx = Context::local(2).unwrap();
    let text = std::fs::read_to_string(sample()).unwrap();
    let mut oracle: HashMap<String, u64> = HashMap::new();
    for w in text.split_whitespace() {
        *oracle.entry(w.to_string()).or_default() += 1;
    }
    for parts in [1, 3, 8] {
        let counts: HashMap<String, u64> = ctx
            .text_file(sample(), parts)
            .unwrap()
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b)
            .collect()
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(counts, oracle, "{parts} partitions");
    }
}

#[test]
fn splits_are_line_aligned_for_every_partition_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.txt");
    let lines: Vec<String> = (0..2000)
        .map(|i| "x".repeat(i % 37) + &format!("line {i}"))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let ctx = Context::local(2).unwrap();
    for parts in [1, 2, 3, 7, 16, 100] {
        let ds = ctx.text_file(&path, parts).unwrap();
        assert!(ds.num_partitions() >= parts.min(100), "{parts}");
        assert_eq!(ds.collect().unwrap(), lines, "{parts} partitions");
    }
}

#[test]
fn crlf_and_missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crlf.txt");
    std::fs::write(&path, "a b\r\n\r\nc\r\nlast").unwrap();
    let ctx = Context::local(2).unwrap();
    for parts in [1, 2, 4] {
        let got = ctx.text_file(&path, parts).unwrap().collect().unwrap();
        assert_eq!(got, vec!["a b", "", "c", "last"]);
    }
}

#[test]
fn empty_file_has_no_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.txt");
    std::fs::write(&path, "").unwrap();
    let ctx = Context::local(2).unwrap();
    assert_eq!(ctx.text_file(&path, 4).unwrap().count().unwrap(), 0);
}

#[test]
fn save_then_read_directory_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = Context::local(2).unwrap();
    let data = ctx.parallelize((0..1000u32).collect(), 4);
    data.save_as_text_file(&out).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "_SUCCESS",
            "part-00000",
            "part-00001",
            "part-00002",
            "part-00003"
        ]
    );
    let back: Vec<u32> = ctx
        .text_file(&out, 2)
        .unwrap()
        .map(|l| l.parse().unwrap())
        .collect()
        .unwrap();
    assert_eq!(back, (0..1000).collect::<Vec<_>>());
    // As Spark, refuse to overwrite.
    assert!(matches!(
        data.save_as_text_file(&out),
        Err(Error::OutputExists(_))
    ));
}

#[test]
fn failed_save_leaves_nothing_that_looks_complete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = Context::builder()
        .threads(2)
        .max_task_attempts(2)
        .build()
        .unwrap();
    let data = ctx.parallelize((0..1000u32).collect(), 4);
    for attempt in 0..2 {
        ctx.inject_fault(Fault::FailTask {
            dataset: data.id(),
            partition: 2,
            attempt,
            panic: false,
        });
    }
    assert!(data.save_as_text_file(&out).is_err());
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "temporary files removed"
    );
    // A retry succeeds.
    data.save_as_text_file(&out).unwrap();
    assert!(out.join("_SUCCESS").exists());
}

#[test]
fn missing_input_names_the_path() {
    let ctx = Context::local(2).unwrap();
    let err = ctx.text_file("/no/such/firesteel/file.txt", 2).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(
        err.to_string().contains("/no/such/firesteel/file.txt"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_names_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.txt");
    let mut bytes = b"ok\nfine\n".to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    bytes.extend_from_slice(b"more\n");
    std::fs::write(&path, &bytes).unwrap();
    let ctx = Context::local(2).unwrap();
    let err = ctx.text_file(&path, 1).unwrap().collect().unwrap_err();
    match err.root_cause() {
        Error::Parse { path: p, line, .. } => {
            assert_eq!(p, &path);
            assert_eq!(*line, 3);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
    assert!(err.to_string().contains("bad.txt:3"), "{err}");
}

#[test]
fn try_map_reports_the_first_bad_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nums.txt");
    std::fs::write(&path, "1\n2\nthree\n4\n").unwrap();
    let ctx = Context::local(2).unwrap();
    let p2 = path.clone();
    let parsed = ctx
        .text_file(&path, 1)
        .unwrap()
        .zip_with_index()
        .unwrap()
        .try_map(move |(line, i)| {
            line.parse::<u32>()
                .map_err(|e| Error::parse(&p2, i + 1, format!("`{line}`: {e}")))
        });
    let err = parsed.collect().unwrap_err();
    assert!(
        matches!(err.root_cause(), Error::Parse { line: 3, .. }),
        "{err:?}"
    );
    assert!(
        matches!(err, Error::JobFailed { attempts: 1, .. }),
        "bad input is not retried"
    );
    assert!(err.to_string().contains("nums.txt:3: `three`"), "{err}");
    let p3 = path.clone();
    let sums = ctx
        .text_file(&path, 1)
        .unwrap()
        .try_map_partitions(move |_, lines| {
            let mut total = 0u32;
            for (i, l) in lines.enumerate() {
                total += l
                    .parse::<u32>()
                    .map_err(|e| Error::parse(&p3, i as u64 + 1, e.to_string()))?;
            }
            Ok(vec![total])
        });
    assert!(matches!(
        sums.collect().unwrap_err().root_cause(),
        Error::Parse { line: 3, .. }
    ));
    let ok = ctx
        .parallelize(vec!["5".to_string(), "6".to_string()], 2)
        .try_map(|s| {
            s.parse::<u32>()
                .map_err(|e| Error::task_failed(e.to_string()))
        });
    assert_eq!(ok.collect().unwrap(), vec![5, 6]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_dead_runs_temporary_output_is_cleaned_by_the_next_run() {
    // The pid of a process that has exited.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join(format!(".out.firesteel-tmp-{dead}-7"));
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("part-00000"), "half").unwrap();
    // A live process's temporary output (this test's own pid, other dataset) stays.
    let live = dir
        .path()
        .join(format!(".out.firesteel-tmp-{}-999999", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    let ctx = firesteel_core::Context::local(1).unwrap();
    ctx.parallelize(vec![1, 2], 1)
        .save_as_text_file(dir.path().join("out"))
        .unwrap();
    assert!(!stale.exists());
    assert!(live.exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/part-00000")).unwrap(),
        "1\n2\n"
    );
}

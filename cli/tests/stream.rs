//! `firesteel stream`: the word-count jobs on a replayable directory of batches, checked
//! against counts computed here from the same files, and on a watched directory.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{count, read_output, totals};

fn firesteel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_firesteel"))
}

/// Writes the batches `texts` into `dir` as `00.txt`, `01.txt`, ...
fn write_batches(dir: &Path, texts: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, t) in texts.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:02}.txt")), t).unwrap();
    }
}

const TEXTS: [&str; 6] = [
    "the cat sat\non the mat\n",
    "the dog\n",
    "",
    "a cat and a dog\nthe end\n",
    "mat mat\n",
    "dog\n",
];

#[test]
fn windowed_word_count_matches_counts_of_each_window() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("batches");
    write_batches(&input, &TEXTS);
    let prefix = tmp.path().join("out/wc");
    let out = firesteel()
        .args([
            "stream",
            "windowed-word-count",
            "--batch",
            "1s",
            "--window",
            "3s",
            "--slide",
            "1s",
        ])
        .arg("--batches-dir")
        .arg(&input)
        .arg("--output")
        .arg(&prefix)
        .args(["--partitions", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 6 batches, then 3 more for the window to drain: the last one is empty.
    for b in 1..=9usize {
        let dir = tmp.path().join(format!("out/wc-{}", b * 1000));
        let window: Vec<&str> = (b.saturating_sub(3)..b)
            .filter_map(|i| TEXTS.get(i).copied())
            .collect();
        let want: Vec<(String, u64)> = count(&window).into_iter().collect();
        assert_eq!(read_output(&dir), want, "window ending at batch {b}");
    }
    assert!(!tmp.path().join("out/wc-10000").exists());
}

#[test]
fn stateful_word_count_keeps_running_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("batches");
    write_batches(&input, &TEXTS);
    let prefix = tmp.path().join("wc");
    let out = firesteel()
        .args([
            "stream",
            "stateful-word-count",
            "--batch",
            "500ms",
            "--json",
        ])
        .arg("--batches-dir")
        .arg(&input)
        .arg("--output")
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for b in 1..=TEXTS.len() {
        let dir = tmp.path().join(format!("wc-{}", b * 500));
        let want: Vec<(String, u64)> = count(&TEXTS[..b]).into_iter().collect();
        assert_eq!(read_output(&dir), want, "state after batch {b}");
    }
    // One JSON line per batch with its time and input lines.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let times: Vec<i64> = lines
        .iter()
        .map(|l| l["batch_time_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(times, vec![500, 1000, 1500, 2000, 2500, 3000]);
    let records: Vec<u64> = lines
        .iter()
        .map(|l| l["records"].as_u64().unwrap())
        .collect();
    assert_eq!(records, vec![2, 1, 0, 2, 1, 1]);
    assert!(lines
        .iter()
        .all(|l| l["total_delay_ms"].as_f64().unwrap() >= 0.0));
}

#[test]
fn file_word_count_reads_files_moved_into_a_watched_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let watched = tmp.path().join("in");
    std::fs::create_dir(&watched).unwrap();
    std::fs::write(watched.join("before.txt"), "ignored ignored\n").unwrap();
    let prefix = tmp.path().join("out/wc");
    let mut child = firesteel()
        .args([
            "stream",
            "file-word-count",
            "--batch",
            "100ms",
            "--batches",
            "40",
        ])
        .arg("--dir")
        .arg(&watched)
        .arg("--output")
        .arg(&prefix)
        .spawn()
        .unwrap();
    // Once the first batch is out, the stream has listed the files present at start.
    let out_dir = tmp.path().join("out");
    let t0 = std::time::Instant::now();
    while std::fs::read_dir(&out_dir).map_or(true, |d| d.count() == 0) {
        assert!(t0.elapsed().as_secs() < 30, "no batch output");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let staged = tmp.path().join("new.txt");
    std::fs::write(&staged, "new words new\n").unwrap();
    std::fs::rename(&staged, watched.join("new.txt")).unwrap();
    assert!(child.wait().unwrap().success());
    let mut batches: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    batches.sort();
    assert_eq!(batches.len(), 40);
    let nonempty: Vec<Vec<(String, u64)>> = batches
        .iter()
        .map(|d| read_output(d))
        .filter(|o| !o.is_empty())
        .collect();
    assert_eq!(
        nonempty,
        vec![vec![("new".to_string(), 2), ("words".to_string(), 1)]]
    );
}

#[test]
fn bad_stream_arguments_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write_batches(tmp.path(), &["a"]);
    let run = |args: &[&str]| {
        let out = firesteel()
            .args(["stream", "windowed-word-count", "--batches-dir"])
            .arg(tmp.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let err = run(&["--batch", "0s"]);
    assert!(err.contains("not a positive duration"), "{err}");
    let err = run(&["--batch", "1s", "--window", "1500ms"]);
    assert!(
        err.contains("window length 1500 ms is not a multiple"),
        "{err}"
    );
}

#[test]
fn network_word_count_counts_lines_from_a_tcp_server() {
    use std::io::Write;
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("out/wc");
    let mut child = firesteel()
        .args([
            "stream",
            "network-word-count",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
        ])
        .args(["--batch", "100ms", "--batches", "15"])
        .arg("--output")
        .arg(&prefix)
        .arg("--checkpoint")
        .arg(tmp.path().join("checkpoint"))
        .arg("--receiver-write-ahead-log")
        .spawn()
        .unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"to be or not\nto be\n").unwrap();
    conn.flush().unwrap();
    // The write-ahead log holds the lines (in `current.log` until a batch takes them, then
    // in the batch's file until the batch is forgotten, a few batches later).
    let log_dir = tmp.path().join("checkpoint/receivers/0");
    let t0 = std::time::Instant::now();
    while !std::fs::read_dir(&log_dir).is_ok_and(|d| {
        d.flatten().any(|e| {
            std::fs::read_to_string(e.path()).is_ok_and(|l| l.contains("\"to be or not\"\n"))
        })
    }) {
        assert!(
            t0.elapsed().as_secs() < 20,
            "the lines never reached the log"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(child.wait().unwrap().success());
    drop(conn);
    // Whichever batches the lines fell into, together they hold every word once.
    let total: BTreeMap<String, u64> = totals(&tmp.path().join("out"));
    assert_eq!(total, count(&["to be or not\nto be\n"]));
}

#[test]
fn stream_bench_reports_rates_and_latencies() {
    // A tiny run: only the report's shape and sanity are checked here (speed is measured
    // by running the command, not by tests).
    let out = firesteel()
        .args([
            "stream-bench",
            "--jobs",
            "grep,wordcount",
            "--batches",
            "100ms",
        ])
        .args([
            "--window",
            "300ms",
            "--slide",
            "100ms",
            "--start-rate",
            "20000",
        ])
        .args([
            "--phases",
            "2",
            "--phase-batches",
            "2",
            "--latency-seconds",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rates = v["rates"].as_array().unwrap();
    assert_eq!(rates.len(), 2);
    for r in rates {
        assert!(
            r["sustainable_records_per_s"].as_f64().unwrap() > 0.0,
            "{r}"
        );
        assert!(r["slowest_batch_ms"].as_f64().unwrap() < 100.0, "{r}");
    }
    let rec = v["recovery"].as_array().unwrap();
    assert_eq!(rec.len(), 2);
    for r in rec {
        // Stopped for 2 s with 100 ms batches: about 20 batches to run again.
        assert!(r["batches_replayed"].as_u64().unwrap() >= 10, "{r}");
    }
    let lat = v["latency"].as_array().unwrap();
    assert_eq!(lat.len(), 2);
    for l in lat {
        assert!(l["batches"].as_u64().unwrap() >= 5, "{l}");
        let (p50, p99) = (
            l["total_delay_p50_ms"].as_f64().unwrap(),
            l["total_delay_p99_ms"].as_f64().unwrap(),
        );
        assert!(p50 <= p99, "{l}");
    }
}

#[test]
fn a_batch_that_cannot_be_read_stops_the_job_or_is_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("batches");
    write_batches(&input, &["a b\n", "", "c\n"]);
    // The second batch's file is not UTF-8 on its second line.
    std::fs::write(input.join("01.txt"), b"ok\nbad \xff byte\n").unwrap();
    let bad = input.join("01.txt");
    let run = |prefix: &Path, skip: bool| {
        let mut c = firesteel();
        c.args(["stream", "file-word-count", "--batch", "1s"])
            .arg("--batches-dir")
            .arg(&input)
            .arg("--output")
            .arg(prefix);
        if skip {
            c.arg("--skip-failed-batches");
        }
        c.output().unwrap()
    };
    // By default the job stops at the failed batch, naming the file and line.
    let stop = tmp.path().join("stop/wc");
    let out = run(&stop, false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains(&format!("{}:2: invalid UTF-8", bad.display())),
        "{err}"
    );
    assert!(tmp.path().join("stop/wc-1000/_SUCCESS").exists());
    assert!(!tmp.path().join("stop/wc-2000").exists());
    assert!(!tmp.path().join("stop/wc-3000").exists());
    // With --skip-failed-batches the later batches still run.
    let skip = tmp.path().join("skip/wc");
    let out = run(&skip, true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("warning: skipped batch 2000 ms"), "{err}");
    assert!(err.contains(&format!("{}:2", bad.display())), "{err}");
    assert!(!tmp.path().join("skip/wc-2000").exists());
    assert_eq!(
        read_output(&tmp.path().join("skip/wc-3000")),
        vec![("c".to_string(), 1)]
    );
}

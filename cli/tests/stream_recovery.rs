//! Exactly-once output across crashes: `firesteel stream ... --checkpoint DIR` is killed
//! with SIGKILL at a batch (before its output, in the middle of writing it, or after it
//! but before the batch is committed), restarted with the same command, and its output
//! directories must equal those of a run that was never interrupted, byte for byte, with
//! no batch missing, none duplicated and no stray temporary files.

#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use common::{files_under, totals};

const BATCHES: usize = 24;

/// Batch files with a deterministic mix of words.
fn write_batches(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"];
    let mut x: u64 = 7;
    for b in 0..BATCHES {
        let mut text = String::new();
        for line in 0..(b % 4) {
            for _ in 0..=(line + b % 3) {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                text.push_str(words[(x >> 33) as usize % words.len()]);
                text.push(' ');
            }
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{b:02}.txt")), text).unwrap();
    }
}

fn stream(job: &str, input: &Path, out: &Path, checkpoint: Option<&Path>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firesteel"));
    c.args([
        "stream",
        job,
        "--batch",
        "1s",
        "--window",
        "3s",
        "--partitions",
        "3",
    ])
    .arg("--batches-dir")
    .arg(input)
    .arg("--output")
    .arg(out.join("wc"));
    if let Some(dir) = checkpoint {
        c.arg("--checkpoint").arg(dir);
    }
    c
}

fn check_recovery(job: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_batches(&input);
    let reference = tmp.path().join("reference");
    let st = stream(job, &input, &reference, None).status().unwrap();
    assert!(st.success());
    let want = files_under(&reference);
    assert!(want.len() >= 2 * BATCHES, "{} files", want.len());

    // Before the first state checkpoint (10 s), just after one, and on one.
    for at in [7_000, 13_000, 20_000] {
        for phase in ["before-output", "during-output", "after-output"] {
            let run = tmp.path().join(format!("{at}-{phase}"));
            let (out, ckpt) = (run.join("out"), run.join("checkpoint"));
            let killed = stream(job, &input, &out, Some(&ckpt))
                .env("FIRESTEEL_STREAM_KILL_AT", format!("{at}:{phase}"))
                .output()
                .unwrap();
            assert_eq!(
                killed.status.signal(),
                Some(9),
                "{job} {at} {phase}: {}",
                String::from_utf8_lossy(&killed.stderr)
            );
            let restarted = stream(job, &input, &out, Some(&ckpt)).output().unwrap();
            assert!(
                restarted.status.success(),
                "{job} {at} {phase}: {}",
                String::from_utf8_lossy(&restarted.stderr)
            );
            let got = files_under(&out);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{job} killed at {at} ms {phase}"
            );
            assert!(
                got == want,
                "{job} killed at {at} ms {phase}: contents differ"
            );
        }
    }
}

#[test]
fn stateful_word_count_is_exactly_once_across_kills() {
    check_recovery("stateful-word-count");
}

#[test]
fn windowed_word_count_is_exactly_once_across_kills() {
    check_recovery("windowed-word-count");
}

#[test]
fn a_checkpoint_of_another_program_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write_batches(&input);
    let ckpt = tmp.path().join("checkpoint");
    let first = stream(
        "stateful-word-count",
        &input,
        &tmp.path().join("a"),
        Some(&ckpt),
    )
    .output()
    .unwrap();
    assert!(first.status.success());
    let other = stream(
        "windowed-word-count",
        &input,
        &tmp.path().join("b"),
        Some(&ckpt),
    )
    .output()
    .unwrap();
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(err.contains("belongs to a different stream graph"), "{err}");
    // Running the finished program again recovers past its last batch and writes nothing
    // new.
    let before = files_under(&tmp.path().join("a"));
    let again = stream(
        "stateful-word-count",
        &input,
        &tmp.path().join("a"),
        Some(&ckpt),
    )
    .output()
    .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(files_under(&tmp.path().join("a")) == before);
}

#[test]
fn a_watched_directory_is_exactly_once_across_kills() {
    // Files move into the watched directory while the job runs; it kills itself at the
    // first batch that read any, before, during or after its output. More files arrive
    // while it is down. After the restart every word is counted exactly once.
    let put = |staging: &Path, watched: &Path, name: &str, text: &str| {
        std::fs::write(staging.join(name), text).unwrap();
        std::fs::rename(staging.join(name), watched.join(name)).unwrap();
    };
    for phase in ["before-output", "during-output", "after-output"] {
        let tmp = tempfile::tempdir().unwrap();
        let (watched, staging) = (tmp.path().join("in"), tmp.path().join("staging"));
        std::fs::create_dir(&watched).unwrap();
        std::fs::create_dir(&staging).unwrap();
        let (out, ckpt) = (tmp.path().join("out"), tmp.path().join("checkpoint"));
        let job = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_firesteel"));
            c.args([
                "stream",
                "file-word-count",
                "--batch",
                "200ms",
                "--batches",
                "10",
            ])
            .args(["--partitions", "3", "--dir"])
            .arg(&watched)
            .arg("--output")
            .arg(out.join("wc"))
            .arg("--checkpoint")
            .arg(&ckpt);
            c
        };
        let child = job()
            .env("FIRESTEEL_STREAM_KILL_AT", format!("first-input:{phase}"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once a batch is out, the files present at start have been listed.
        let t0 = std::time::Instant::now();
        while std::fs::read_dir(&out).map_or(true, |d| d.count() == 0) {
            assert!(t0.elapsed().as_secs() < 30, "no batch output");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        put(&staging, &watched, "a.txt", "alpha beta\nbeta gamma\n");
        put(&staging, &watched, "b.txt", "gamma delta alpha\n");
        let killed = child.wait_with_output().unwrap();
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "{phase}: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        put(&staging, &watched, "c.txt", "delta alpha\n");
        let restarted = job().output().unwrap();
        assert!(
            restarted.status.success(),
            "{phase}: {}",
            String::from_utf8_lossy(&restarted.stderr)
        );
        let want: BTreeMap<String, u64> = [("alpha", 3), ("beta", 2), ("delta", 2), ("gamma", 2)]
            .iter()
            .map(|(w, c)| (w.to_string(), *c))
            .collect();
        assert_eq!(totals(&out), want, "killed {phase}");
    }
}

//! `firesteel stream kafka-word-count` against a real Kafka-protocol broker (tansu) on
//! loopback, killed and restarted in the middle: the word counts of every record come
//! out once.

#[path = "../../streaming/tests/common/broker.rs"]
mod broker;
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::totals;

/// The arguments of `firesteel stream kafka-word-count` over the topic `words`.
fn job_args(b: &broker::Broker, out: &Path, batches: &str) -> Vec<String> {
    let out = out.join("wc");
    [
        "stream",
        "kafka-word-count",
        "--brokers",
        &b.servers(),
        "--topics",
        "words",
        "--offset-reset",
        "earliest",
        "--batch",
        "200ms",
        "--batches",
        batches,
        "--output",
        out.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn job(b: &broker::Broker, out: &Path, ckpt: &Path, batches: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_firesteel"));
    c.args(job_args(b, out, batches))
        .arg("--checkpoint")
        .arg(ckpt);
    c
}

#[test]
fn kafka_word_count_counts_every_record_once_across_a_restart() {
    let Some(b) = broker::broker() else { return };
    b.create_topic("words", 2);
    b.produce("words", 0, &["to be", "or not"]);
    b.produce("words", 1, &["to be"]);
    let tmp = tempfile::tempdir().unwrap();
    let (out, ckpt) = (tmp.path().join("out"), tmp.path().join("checkpoint"));
    let first = job(&b, &out, &ckpt, "5").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let want = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs.iter().map(|(w, c)| (w.to_string(), *c)).collect()
    };
    assert_eq!(
        totals(&out),
        want(&[("be", 2), ("not", 1), ("or", 1), ("to", 2)])
    );

    // More records while the job is down; the restarted job reads only those.
    b.produce("words", 0, &["be quick"]);
    let second = job(&b, &out, &ckpt, "5").output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        totals(&out),
        want(&[("be", 3), ("not", 1), ("or", 1), ("quick", 1), ("to", 2)])
    );
}

/// A topic `words` of two partitions with four lines, and their word counts.
fn produce_two_partitions(b: &broker::Broker) -> BTreeMap<String, u64> {
    b.create_topic("words", 2);
    let (p0, p1) = (["to be", "or not"], ["to be", "that is"]);
    b.produce("words", 0, &p0);
    b.produce("words", 1, &p1);
    common::count(&[&p0.join("\n"), &p1.join("\n")])
}

#[test]
fn kafka_word_count_on_2_processes_counts_every_record_once() {
    // Rank 0 asks the broker for each batch's offset ranges; each process reads the
    // ranges of the Kafka partitions it owns (partition 0 on rank 0, 1 on rank 1).
    let Some(b) = broker::broker() else { return };
    let want = produce_two_partitions(&b);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let bin = env!("CARGO_BIN_EXE_firesteel");
    let done = Command::new(bin)
        .args(["launch", "-n", "2", "--timeout", "100", "--", bin])
        .args(job_args(&b, &out, "5"))
        .args(["--partitions", "2"])
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_eq!(totals(&out), want);
}

#[cfg(unix)]
#[test]
fn kafka_word_count_is_exactly_once_across_kills() {
    // The job kills itself (SIGKILL) at its first batch with records, before, during or
    // after that batch's output; the restarted job reruns the batch with its logged offset
    // ranges, and every record is counted exactly once.
    use std::os::unix::process::ExitStatusExt;
    let Some(b) = broker::broker() else { return };
    let want = produce_two_partitions(&b);
    for phase in ["before-output", "during-output", "after-output"] {
        let tmp = tempfile::tempdir().unwrap();
        let (out, ckpt) = (tmp.path().join("out"), tmp.path().join("checkpoint"));
        let killed = job(&b, &out, &ckpt, "5")
            .args(["--partitions", "3", "--group", phase])
            .env("FIRESTEEL_STREAM_KILL_AT", format!("first-input:{phase}"))
            .output()
            .unwrap();
        assert_eq!(
            killed.status.signal(),
            Some(9),
            "{phase}: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
        let restarted = job(&b, &out, &ckpt, "5")
            .args(["--partitions", "3", "--group", phase])
            .output()
            .unwrap();
        assert!(
            restarted.status.success(),
            "{phase}: {}",
            String::from_utf8_lossy(&restarted.stderr)
        );
        // Every batch directory complete (totals checks), every word counted once.
        assert_eq!(totals(&out), want, "killed {phase}");
    }
}

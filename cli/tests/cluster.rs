//! Cluster mode end to end: real processes started by `firesteel launch`, each test with a
//! hard timeout. The jobs must print exactly what local mode prints; a killed process must
//! make the others fail naming it; a rerun must resume from a checkpoint.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{batch_counts, files_under, totals};

const BIN: &str = env!("CARGO_BIN_EXE_firesteel");

/// Waits for `child` at most `limit` (reading its output meanwhile), killing it past that.
fn wait_with_timeout(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            kill(pid);
            let out = rx.recv().unwrap().unwrap();
            panic!(
                "timed out after {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn run(args: &[&str]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = wait_with_timeout(child, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "firesteel {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a job locally, then on 1, 2 and 3 processes, and returns the stdouts.
fn local_and_cluster(job: &[&str]) -> (String, Vec<String>) {
    let local = String::from_utf8(run(job).stdout).unwrap();
    let cluster = [1, 2, 3]
        .iter()
        .map(|n| {
            let mut args = vec!["launch", "-n"];
            let n = n.to_string();
            args.push(&n);
            args.extend(["--timeout", "100", "--", BIN]);
            args.extend(job);
            String::from_utf8(run(&args).stdout).unwrap()
        })
        .collect();
    (local, cluster)
}

/// The `quality` figures of a `--json` run.
fn quality(stdout: &str) -> Value {
    let v: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    v["quality"].clone()
}

#[test]
fn graph_jobs_print_the_same_tsv_on_1_2_and_3_processes() {
    for job in ["pagerank", "cc"] {
        let args = [
            job,
            "--input",
            "data/followers.txt",
            "--threads",
            "1",
            "--partitions",
            "4",
        ];
        let (local, cluster) = local_and_cluster(&args);
        assert_eq!(local.lines().count(), 6, "{local}");
        for (n, out) in cluster.iter().enumerate() {
            assert_eq!(out, &local, "{job} on {} processes", n + 1);
        }
    }
}

#[test]
fn word_count_is_the_same_on_1_2_and_3_processes() {
    let args = [
        "wordcount",
        "--input",
        "data/sample_text.txt",
        "--threads",
        "1",
        "--partitions",
        "5",
    ];
    let (local, cluster) = local_and_cluster(&args);
    assert!(local.lines().count() > 50, "{local}");
    for (n, out) in cluster.iter().enumerate() {
        assert_eq!(out, &local, "{} processes", n + 1);
    }
}

#[test]
fn ml_jobs_report_the_same_figures_on_1_2_and_3_processes() {
    let jobs: [&[&str]; 3] = [
        &["kmeans", "--input", "data/kmeans_data.txt", "--k", "2"],
        &[
            "lr",
            "--input",
            "data/sample_libsvm_data.txt",
            "--iterations",
            "20",
        ],
        &[
            "als",
            "--input",
            "data/sample_movielens_ratings.txt",
            "--rank",
            "5",
            "--iterations",
            "5",
            "--reg",
            "0.1",
        ],
    ];
    for job in jobs {
        let mut args = job.to_vec();
        args.extend(["--threads", "1", "--partitions", "4", "--json"]);
        let (local, cluster) = local_and_cluster(&args);
        let want = quality(&local);
        assert!(want.is_object(), "{local}");
        for (n, out) in cluster.iter().enumerate() {
            assert_eq!(quality(out), want, "{} on {} processes", job[0], n + 1);
        }
    }
}

/// Writes an R-MAT graph big enough that PageRank runs for a while.
fn write_graph(dir: &Path) -> String {
    let path = dir.join("graph.txt");
    let p = path.to_str().unwrap().to_owned();
    run(&[
        "generate",
        "rmat",
        "--scale",
        "12",
        "--edge-factor",
        "8",
        "--output",
        &p,
    ]);
    p
}

/// Starts a launch and returns it with the pid of rank 1, read from its stderr.
fn launch_and_find_rank1(args: &[&str]) -> (Child, u32, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            // The launch's own --timeout stops its processes.
            let _ = child.wait();
            panic!("the launcher did not name rank 1's pid");
        };
        if let Some(pid) = line.strip_prefix("[launch] rank 1 pid ") {
            return (child, pid.trim().parse().unwrap(), rx);
        }
    }
}

fn kill(pid: u32) {
    let ok = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -9 {pid}");
}

/// Kills `pid` mid-job: once the edge checkpoint shows that both processes connected and
/// ran jobs. (On failure, the launch's own `--timeout` stops its processes.)
fn kill_once_checkpointed(ckpt: &Path, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ckpt.join("edges/_SUCCESS").exists() {
        assert!(Instant::now() < deadline, "no checkpoint was written");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    kill(pid);
}

/// Collects the launcher's remaining stderr and waits for it, with a deadline.
fn finish(mut child: Child, rx: std::sync::mpsc::Receiver<String>, limit: Duration) -> String {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            // The launch's own --timeout stops its processes.
            let _ = child.wait();
            panic!("the cluster did not stop within {limit:?} of losing a process");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut text = String::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        text.push_str(&l);
        text.push('\n');
    }
    text
}

#[test]
fn a_killed_process_makes_the_others_fail_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(dir.path());
    let ckpt = dir.path().join("ckpt");
    let (child, pid, rx) = launch_and_find_rank1(&[
        "launch",
        "-n",
        "2",
        "--grace",
        "60",
        "--timeout",
        "120",
        "--",
        BIN,
        "pagerank",
        "--input",
        &graph,
        "--checkpoint-dir",
        ckpt.to_str().unwrap(),
        "--iterations",
        "1000000",
        "--threads",
        "1",
        "--partitions",
        "4",
    ]);
    kill_once_checkpointed(&ckpt, pid);
    let started = Instant::now();
    // Rank 0 must fail on its own, well before the launcher's 60 s grace would kill it.
    let text = finish(child, rx, Duration::from_secs(30));
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        text.contains("[rank 0] error: cluster: lost peer rank 1"),
        "{text}"
    );
    assert!(!text.contains("killed rank 0"), "{text}");
    // The summary names the rank that failed first, not the one that noticed.
    assert!(text.contains("[launch] rank 1 failed first"), "{text}");
}

#[test]
fn a_rerun_resumes_from_the_checkpoint_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let graph = write_graph(dir.path());
    let ckpt = dir.path().join("ckpt");
    let ckpt_s = ckpt.to_str().unwrap();
    let job = |iterations: &'static str| -> Vec<String> {
        [
            "pagerank",
            "--input",
            &graph,
            "--checkpoint-dir",
            ckpt_s,
            "--iterations",
            iterations,
            "--threads",
            "1",
            "--partitions",
            "4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The reference: a clean local run without checkpoints.
    let want = String::from_utf8(
        run(&[
            "pagerank",
            "--input",
            &graph,
            "--iterations",
            "5",
            "--threads",
            "1",
            "--partitions",
            "4",
        ])
        .stdout,
    )
    .unwrap();
    // Run 1 checkpoints the edges, then loses a process mid-job.
    let mut args = vec!["launch", "-n", "2", "--timeout", "120", "--", BIN];
    let long = job("1000000");
    args.extend(long.iter().map(String::as_str));
    let (child, pid, rx) = launch_and_find_rank1(&args);
    kill_once_checkpointed(&ckpt, pid);
    finish(child, rx, Duration::from_secs(30));
    // Run 2 cannot read the input: it must resume from the checkpoint.
    std::fs::remove_file(&graph).unwrap();
    let mut args = vec!["launch", "-n", "2", "--timeout", "100", "--", BIN];
    let short = job("5");
    args.extend(short.iter().map(String::as_str));
    let out = run(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("resuming from the checkpoint"), "{err}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
}

#[test]
fn the_demo_matches_spark_on_two_processes() {
    let out = run(&[
        "launch",
        "-n",
        "2",
        "--timeout",
        "100",
        "--",
        BIN,
        "demo",
        "--threads",
        "1",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("(12 results in"), "{text}");
    assert!(!text.contains("  NO  "), "{text}");
}

#[test]
fn streaming_word_counts_write_the_same_batches_on_2_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("batches");
    std::fs::create_dir(&input).unwrap();
    for i in 0..8 {
        let text = format!("a b c a\nb d w{i}\n{}\n", "e ".repeat(i));
        std::fs::write(input.join(format!("{i:02}.txt")), text).unwrap();
    }
    let input = input.to_str().unwrap().to_owned();
    for job in ["windowed-word-count", "stateful-word-count"] {
        let out = |name: &str| tmp.path().join(job).join(name).join("wc");
        let (local, cluster) = (out("local"), out("cluster"));
        let args = |prefix: &Path| {
            vec![
                "stream".to_string(),
                job.into(),
                "--batches-dir".into(),
                input.clone(),
                "--batch".into(),
                "1s".into(),
                "--window".into(),
                "3s".into(),
                "--partitions".into(),
                "3".into(),
                "--output".into(),
                prefix.to_str().unwrap().into(),
            ]
        };
        let local_args = args(&local);
        run(&local_args.iter().map(String::as_str).collect::<Vec<_>>());
        let mut launch = vec!["launch", "-n", "2", "--timeout", "100", "--", BIN];
        let cluster_args = args(&cluster);
        launch.extend(cluster_args.iter().map(String::as_str));
        run(&launch);
        let want = files_under(local.parent().unwrap());
        assert!(want.len() >= 16, "{job}: {} files", want.len());
        assert!(
            files_under(cluster.parent().unwrap()) == want,
            "{job}: outputs differ"
        );
    }
}

/// Launches `firesteel stream ARGS` on 2 processes.
fn launch_stream(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(["launch", "-n", "2", "--timeout", "100", "--", BIN, "stream"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn processes_agree_on_the_files_of_a_watched_directory() {
    // Files arrive every few milliseconds while the batches run, so that two processes
    // listing the directory on their own would often see different files in a batch.
    // Each file's words are its own and land in different partitions (owned by different
    // processes): a batch must hold all of a file's words or none, and every file exactly
    // once.
    let tmp = tempfile::tempdir().unwrap();
    let (watched, staging) = (tmp.path().join("in"), tmp.path().join("staging"));
    std::fs::create_dir(&watched).unwrap();
    std::fs::create_dir(&staging).unwrap();
    let out = tmp.path().join("out");
    let prefix = out.join("wc");
    let child = launch_stream(&[
        "file-word-count",
        "--dir",
        watched.to_str().unwrap(),
        "--batch",
        "50ms",
        "--batches",
        "50",
        "--partitions",
        "4",
        "--output",
        prefix.to_str().unwrap(),
    ]);
    let t0 = Instant::now();
    while std::fs::read_dir(&out).map_or(true, |d| d.count() == 0) {
        assert!(t0.elapsed() < Duration::from_secs(60), "no batch output");
        std::thread::sleep(Duration::from_millis(10));
    }
    let files = 60;
    let words = |i: usize| (0..6).map(move |w| format!("f{i}w{w}"));
    for i in 0..files {
        let staged = staging.join(format!("{i}.txt"));
        let text: Vec<String> = words(i).collect();
        std::fs::write(&staged, text.join(" ") + "\n").unwrap();
        std::fs::rename(&staged, watched.join(format!("{i}.txt"))).unwrap();
        std::thread::sleep(Duration::from_millis(7));
    }
    let done = wait_with_timeout(child, Duration::from_secs(120));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let batches = batch_counts(&out);
    assert_eq!(batches.len(), 50);
    let mut seen = vec![0; files];
    for b in &batches {
        for (i, n) in seen.iter_mut().enumerate() {
            let present = words(i).filter(|w| b.get(w) == Some(&1)).count();
            assert!(present == 0 || present == 6, "file {i} split: {b:?}");
            *n += usize::from(present == 6);
        }
        assert_eq!(b.values().sum::<u64>() % 6, 0, "{b:?}");
    }
    assert_eq!(seen, vec![1; files], "each file in exactly one batch");
}

#[test]
fn a_socket_stream_is_received_once_by_rank_0() {
    use std::io::Write;
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("wc");
    let child = launch_stream(&[
        "network-word-count",
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--batch",
        "100ms",
        "--batches",
        "20",
        "--partitions",
        "4",
        "--output",
        prefix.to_str().unwrap(),
    ]);
    let text = "to be or not\nto be\nthat is the question\n";
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(text.as_bytes()).unwrap();
    conn.flush().unwrap();
    // Nobody else connects: only rank 0 runs the receiver.
    server.set_nonblocking(true).unwrap();
    let done = wait_with_timeout(child, Duration::from_secs(120));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(server.accept().is_err(), "a second process connected");
    drop(conn);
    assert_eq!(totals(tmp.path()), common::count(&[text]));
}

/// Whether process `pid` is gone (or a zombie no one has reaped yet).
#[cfg(target_os = "linux")]
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the parenthesized command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn ranks_die_with_a_launcher_killed_by_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let watched = tmp.path().to_str().unwrap();
    let mut launcher = Command::new(BIN)
        .args(["launch", "-n", "2", "--timeout", "100", "--", BIN, "stream"])
        .args(["file-word-count", "--dir", watched, "--batch", "100ms"])
        .args(["--duration", "90s"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = BufReader::new(launcher.stderr.take().unwrap());
    let mut pids = Vec::new();
    for line in err.lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("[launch] rank ") {
            pids.push(
                rest.split(" pid ")
                    .nth(1)
                    .unwrap()
                    .trim()
                    .parse::<u32>()
                    .unwrap(),
            );
            if pids.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(pids.len(), 2, "the launcher named its ranks");
    kill(launcher.id());
    let _ = launcher.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pids.iter().all(|&p| gone(p)) {
        assert!(
            Instant::now() < deadline,
            "ranks {pids:?} outlived their launcher"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Two loopback addresses for a cluster whose processes a test starts itself.
fn two_peers() -> String {
    let listeners: Vec<std::net::TcpListener> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    addrs.join(",")
}

/// Starts rank 0 and rank 1 of a two-process run by hand, each with its own arguments and
/// working directory, and returns their outputs.
fn two_ranks(args: [(&[&str], &Path); 2]) -> Vec<Output> {
    let peers = two_peers();
    let children: Vec<Child> = args
        .iter()
        .enumerate()
        .map(|(rank, (args, dir))| {
            Command::new(BIN)
                .args(*args)
                .current_dir(dir)
                .env("FIRESTEEL_RANK", rank.to_string())
                .env("FIRESTEEL_PEERS", &peers)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| wait_with_timeout(c, Duration::from_secs(60)))
        .collect()
}

#[test]
fn processes_started_with_other_arguments_or_inputs_all_fail() {
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let kmeans = |k: &'static str| -> Vec<&'static str> {
        vec![
            "kmeans",
            "--input",
            "data/kmeans_data.txt",
            "--k",
            k,
            "--json",
        ]
    };
    let (two, three) = (kmeans("2"), kmeans("3"));
    let outs = two_ranks([(&two, repo), (&three, repo)]);
    // The same input path in two directories, with other words.
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    std::fs::write(dirs[0].path().join("in.txt"), "to be or not\n").unwrap();
    std::fs::write(dirs[1].path().join("in.txt"), "to be or NOT\n").unwrap();
    let wc: &[&str] = &["wordcount", "--input", "in.txt"];
    let outs_wc = two_ranks([(wc, dirs[0].path()), (wc, dirs[1].path())]);
    for (rank, out) in outs.iter().chain(&outs_wc).enumerate() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "process {rank} succeeded:\n{err}");
        assert!(
            err.contains("plan mismatch")
                && err.contains("differ in command-line arguments and input files"),
            "process {rank}:\n{err}"
        );
        assert!(out.stdout.is_empty(), "process {rank} printed a result");
    }
}

#[test]
fn each_launch_gives_its_processes_a_fresh_secret() {
    let secret = || {
        let out = run(&[
            "launch",
            "-n",
            "1",
            "--",
            "sh",
            "-c",
            "echo $FIRESTEEL_SECRET",
        ]);
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (a, b) = (secret(), secret());
    assert_eq!(a.len(), 64, "{a:?}");
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a:?}");
    assert_ne!(a, b);
}

//! `firesteel launch -n N -- PROG ARGS...`: starts N local processes of one program as a
//! cluster on 127.0.0.1, for development and tests (what `mpirun -n N` does for MPI).
//!
//! Each process gets `FIRESTEEL_RANK`, `FIRESTEEL_PEERS` (ports the OS handed out just
//! before), a fresh `FIRESTEEL_SESSION`, so that processes of concurrent launches never
//! join each other, and a fresh `FIRESTEEL_SECRET` (256 random bits), which every
//! connection between them must prove, so that no other process can join them. Rank 0's stdout becomes the launcher's; the other ranks' stdout is
//! dropped (every rank computes the same results). Every rank's stderr is forwarded with a
//! `[rank i]` prefix. When a process fails, the others are given a grace period to notice
//! (they fail on their own, naming the lost peer) and are then killed. The summary names
//! the rank that failed first (each rank's exit is timed to the millisecond by a watcher
//! of its own), and the exit code is that failure's, 124 on `--timeout`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

/// `launch`'s flags.
#[derive(Args, Debug)]
pub(crate) struct LaunchArgs {
    /// Number of processes.
    #[arg(short = 'n', long = "processes", default_value_t = 2)]
    processes: usize,
    /// Kill every process after this many seconds (exit code 124).
    #[arg(long)]
    timeout: Option<f64>,
    /// Seconds the others get to exit on their own after one process fails.
    #[arg(long, default_value_t = 15.0)]
    grace: f64,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Loopback addresses with ports the OS just handed out.
fn free_addresses(n: usize) -> std::io::Result<Vec<String>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect()
}

fn session_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((std::process::id(), Instant::now()))
}

/// A fresh shared secret: 32 bytes of the system's randomness, in hex.
fn new_secret() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the launch; returns the exit code.
pub(crate) fn run(a: &LaunchArgs) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    if a.processes == 0 {
        return Err("-n must be at least 1".into());
    }
    let peers = free_addresses(a.processes)?.join(",");
    let session = session_id().to_string();
    let secret = new_secret().map_err(|e| format!("making the cluster's secret: {e}"))?;
    let (prog, args) = a.command.split_first().ok_or("no program given after --")?;
    let mut children: Vec<Child> = Vec::with_capacity(a.processes);
    let mut forwarders = Vec::new();
    for rank in 0..a.processes {
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .env("FIRESTEEL_RANK", rank.to_string())
            .env("FIRESTEEL_PEERS", &peers)
            .env("FIRESTEEL_SESSION", &session)
            .env("FIRESTEEL_SECRET", &secret)
            .stdin(Stdio::null())
            .stdout(if rank == 0 {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped());
        die_with_launcher(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                for c in &mut children {
                    let _ = c.kill();
                }
                return Err(format!("starting {prog}: {e}").into());
            }
        };
        eprintln!("[launch] rank {rank} pid {}", child.id());
        if let Some(err) = child.stderr.take() {
            forwarders.push(std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    let mut e = std::io::stderr().lock();
                    let _ = writeln!(e, "[rank {rank}] {line}");
                }
            }));
        }
        children.push(child);
    }
    let start = Instant::now();
    let timeout = a.timeout.map(Duration::from_secs_f64);
    let grace = Duration::from_secs_f64(a.grace.max(0.0));
    // One watcher per rank notes when it exits (within a millisecond, whatever the other
    // ranks do, so that the first failure is told apart from the ones it caused) and kills
    // it when asked.
    let (exits, exited) =
        std::sync::mpsc::channel::<(usize, std::io::Result<ExitStatus>, Instant)>();
    let kill_flags: Vec<Arc<AtomicBool>> = children.iter().map(|_| Arc::default()).collect();
    let watchers: Vec<_> = children
        .into_iter()
        .enumerate()
        .map(|(rank, child)| {
            let (exits, kill) = (exits.clone(), kill_flags[rank].clone());
            std::thread::spawn(move || watch(rank, child, &kill, &exits))
        })
        .collect();
    drop(exits);
    let mut status: Vec<Option<ExitStatus>> = vec![None; watchers.len()];
    let mut first_failure: Option<(usize, ExitStatus, Instant)> = None;
    let mut code = 0u8;
    let mut killing = false;
    while status.iter().any(Option::is_none) {
        match exited.recv_timeout(Duration::from_millis(20)) {
            Ok((rank, s, at)) => {
                let s = s?;
                status[rank] = Some(s);
                let earlier = first_failure.is_none_or(|(_, _, first)| at < first);
                if !s.success() && !killing && earlier {
                    first_failure = Some((rank, s, at));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        let timed_out = timeout.is_some_and(|t| start.elapsed() > t);
        let grace_over = first_failure.is_some_and(|(_, _, at)| at.elapsed() > grace);
        if !killing && (timed_out || grace_over) {
            killing = true;
            for (i, flag) in kill_flags.iter().enumerate() {
                if status[i].is_none() {
                    flag.store(true, Ordering::Release);
                    let why = if timed_out {
                        "timeout"
                    } else {
                        "a peer failed"
                    };
                    eprintln!("[launch] killed rank {i} ({why})");
                }
            }
            if timed_out {
                code = 124;
            }
        }
    }
    for w in watchers {
        let _ = w.join();
    }
    for f in forwarders {
        let _ = f.join();
    }
    if code == 0 {
        if let Some((rank, s, _)) = first_failure {
            eprintln!("[launch] rank {rank} failed first ({s})");
            code = s
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1)
                .max(1);
        }
    }
    Ok(code)
}

/// Waits for one rank, reporting its exit status and time; kills it when `kill` is set.
fn watch(
    rank: usize,
    mut child: Child,
    kill: &AtomicBool,
    exits: &std::sync::mpsc::Sender<(usize, std::io::Result<ExitStatus>, Instant)>,
) {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => {
                let _ = exits.send((rank, Ok(s), Instant::now()));
                return;
            }
            Ok(None) => {}
            Err(e) => {
                let _ = exits.send((rank, Err(e), Instant::now()));
                return;
            }
        }
        if kill.load(Ordering::Acquire) {
            let _ = child.kill();
            let s = child.wait();
            let _ = exits.send((rank, s, Instant::now()));
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Makes a rank die with the launcher (Linux: a parent-death signal), so that a launcher
/// killed even with SIGKILL leaves no rank running on as an orphan, writing output.
fn die_with_launcher(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let launcher = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec the closure calls only async-signal-safe functions
        // (prctl, getppid, _exit) and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The launcher died before the signal was armed: do not start at all.
                if libc::getppid() != launcher {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

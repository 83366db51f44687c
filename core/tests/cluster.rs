//! Cluster mode with the processes played by threads of this test: each thread builds its
//! own context connected to the others over loopback, and runs the same program. (The
//! CLI package's `cli/tests/cluster.rs` runs real processes through `firesteel launch`.)
#![cfg(feature = "cluster")]

use std::net::TcpListener;
use std::time::Duration;

use firesteel_core::{ClusterConfig, Context, Error, HashPartitioner};

/// Addresses on loopback with ports the OS just handed out.
fn free_addresses(n: usize) -> Vec<String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect()
}

/// Runs `program` on `n` cluster "processes" (threads) and returns each one's result.
fn on_cluster<R: Send + 'static>(
    n: usize,
    program: impl Fn(&Context) -> R + Send + Sync + Clone + 'static,
) -> Vec<R> {
    let peers = free_addresses(n);
    let session = rand_session();
    let handles: Vec<_> = (0..n)
        .map(|rank| {
            let peers = peers.clone();
            let program = program.clone();
            std::thread::spawn(move || {
                let cfg = ClusterConfig::new(rank, peers)
                    .session(session)
                    .connect_timeout(Duration::from_secs(20))
                    .round_timeout(Duration::from_secs(60));
                let ctx = Context::builder().threads(2).cluster(cfg).build().unwrap();
                program(&ctx)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn rand_session() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn word_count(ctx: &Context) -> Vec<(String, u64)> {
    let words: Vec<String> = (0..2000u64)
        .map(|i| format!("w{}", (i * 7919) % 113))
        .collect();
    let mut out = ctx
        .parallelize(words, 5)
        .map(|w| (w, 1u64))
        .reduce_by_key_with(|a, b| a + b, 3)
        .collect()
        .unwrap();
    out.sort();
    out
}

#[test]
fn word_count_matches_local_on_two_and_three_processes() {
    let local = word_count(&Context::local(2).unwrap());
    assert_eq!(local.len(), 113);
    for n in [2, 3] {
        for got in on_cluster(n, word_count) {
            assert_eq!(got, local, "{n} processes");
        }
    }
}

/// An iterative job with a cached, co-partitioned join (PageRank's shape), a union that
/// reads partitions other processes own, a sort, and accumulators.
fn mixed(ctx: &Context) -> (Vec<(u64, f64)>, Vec<u64>, u64, u64, f64) {
    let part = HashPartitioner::new(4);
    let edges: Vec<(u64, u64)> = (0..400u64).map(|i| (i % 37, (i * 13 + 5) % 37)).collect();
    let links = ctx.parallelize(edges, 6).group_by_key_with(part).cache();
    let mut ranks = links.map_values(|_| 1.0f64);
    for _ in 0..5 {
        let contribs = links.join(&ranks).flat_map(|(_, (dsts, r))| {
            let share = r / dsts.len() as f64;
            dsts.into_iter()
                .map(move |d| (d, share))
                .collect::<Vec<_>>()
        });
        ranks = contribs
            .reduce_by_key_with(|a, b| a + b, part)
            .map_values(|s| 0.15 + 0.85 * s);
    }
    let mut r = ranks.collect().unwrap();
    r.sort_by_key(|x| x.0);
    let a = ctx.parallelize((0..50u64).collect(), 3).map(|x| (x % 7, x));
    let b = ctx.parallelize((0..30u64).collect(), 2).map(|x| (x % 5, x));
    let unioned = a
        .reduce_by_key_with(|x, y| x + y, 3)
        .union(&b.reduce_by_key_with(|x, y| x + y, 4))
        .coalesce(2, false);
    let mut u: Vec<u64> = unioned.map(|(_, v)| v).collect().unwrap();
    u.sort_unstable();
    let seen = ctx.long_accumulator("seen");
    let acc = seen.clone();
    let sorted = ctx
        .parallelize((0..500u64).rev().collect(), 4)
        .map(move |x| {
            acc.add(1);
            (x % 97, x)
        })
        .sort_by_key(true, Some(3))
        .unwrap()
        .map(|(k, _)| k)
        .collect()
        .unwrap();
    let inversions = sorted.windows(2).filter(|w| w[0] > w[1]).count() as u64;
    let total = ctx.parallelize((1..=1000u64).collect(), 7).sum().unwrap();
    let mean = ctx
        .parallelize((0..100).map(f64::from).collect(), 3)
        .aggregate(
            (0.0f64, 0u64),
            |(s, c), x| (s + x, c + 1),
            |(s, c), (t, d)| (s + t, c + d),
        )
        .unwrap();
    (
        r,
        u,
        inversions + 1000 * seen.value(),
        total,
        mean.0 / mean.1 as f64,
    )
}

#[test]
fn iterative_joins_unions_sorts_and_accumulators_match_local() {
    let local = mixed(&Context::local(2).unwrap());
    for n in [2, 3] {
        for got in on_cluster(n, mixed) {
            assert_eq!(got.0, local.0, "ranks on {n} processes");
            assert_eq!(got.1, local.1, "union on {n} processes");
            assert_eq!(got.2, local.2, "sort and accumulator on {n} processes");
            assert_eq!(got.3, 500_500);
            assert_eq!(got.4, local.4);
        }
    }
}

#[test]
fn text_output_is_written_once_by_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o2 = out.clone();
    let counts = on_cluster(2, move |ctx| {
        ctx.parallelize((0..100u64).collect(), 5)
            .save_as_text_file(&o2)
            .unwrap();
        ctx.text_file(&o2, 3).unwrap().count().unwrap()
    });
    assert_eq!(counts, vec![100, 100]);
    assert!(out.join("_SUCCESS").exists());
    let parts = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("part-")
        })
        .count();
    assert_eq!(parts, 5);
}

#[test]
fn different_plans_are_an_error_not_a_hang() {
    let results = on_cluster(2, |ctx| {
        // Rank 1 builds a different lineage.
        let d = ctx.parallelize((0..10u64).collect(), 2);
        let d = if ctx.process_rank() == 1 {
            d.map(|x| x + 1).filter(|_| true)
        } else {
            d.map(|x| x + 1)
        };
        d.count().map_err(|e| e.to_string())
    });
    for r in results {
        let e = r.unwrap_err();
        assert!(e.contains("plan mismatch"), "{e}");
    }
}

#[test]
fn a_failed_task_fails_the_job_on_every_process() {
    let results = on_cluster(2, |ctx| {
        let r = ctx
            .parallelize((0..10u64).collect(), 2)
            .try_map(|x| {
                if x == 7 {
                    Err(Error::parse("input.txt", 7, "bad record"))
                } else {
                    Ok(x)
                }
            })
            .count();
        // The cluster is still usable afterwards.
        let after = ctx.parallelize((0..10u64).collect(), 2).count().unwrap();
        (r.map_err(|e| e.to_string()), after)
    });
    for (r, after) in results {
        let e = r.unwrap_err();
        assert!(e.contains("input.txt:7"), "{e}");
        assert_eq!(after, 10);
    }
}

#[test]
fn a_garbage_peer_is_rejected_with_an_error() {
    use std::io::Write;
    let peers = free_addresses(2);
    let target = peers[0].clone();
    let handle = std::thread::spawn(move || {
        let cfg = ClusterConfig::new(0, peers)
            .session(1)
            .connect_timeout(Duration::from_secs(20));
        Context::builder().threads(1).cluster(cfg).build().map(drop)
    });
    // Rank 0 waits for rank 1; send it garbage instead.
    let mut s = loop {
        match std::net::TcpStream::connect(&target) {
            Ok(s) => break s,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let e = handle.join().unwrap().unwrap_err();
    assert!(e.to_string().contains("not a firesteel peer"), "{e}");
}

#[test]
fn a_missing_peer_is_a_connect_timeout() {
    let peers = free_addresses(2);
    let cfg = ClusterConfig::new(1, peers).connect_timeout(Duration::from_millis(300));
    let e = Context::builder()
        .threads(1)
        .cluster(cfg)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("could not connect to rank 0"), "{e}");
}

/// `collect_to_leader`: rank 0 gets every record in partition order, the others `None`;
/// accumulator updates still reach every process, and the next action works everywhere.
#[test]
fn collect_to_leader_delivers_to_rank_zero_only() {
    let program = |ctx: &Context| {
        let seen = ctx.long_accumulator("seen");
        let acc = seen.clone();
        let d = ctx.parallelize((0..1000u64).collect(), 7).map(move |x| {
            acc.add(1);
            x * 3
        });
        let got = d.collect_to_leader().unwrap();
        let after = d.map(|x| x + 1).reduce(|a, b| a + b).unwrap();
        (ctx.process_rank(), got, seen.value(), after)
    };
    let expected: Vec<u64> = (0..1000u64).map(|x| x * 3).collect();
    let local = program(&Context::local(2).unwrap());
    assert_eq!(local.1.as_ref(), Some(&expected));
    for n in [2, 3] {
        for (rank, got, seen, after) in on_cluster(n, program) {
            if rank == 0 {
                assert_eq!(got.as_ref(), Some(&expected), "rank 0 of {n}");
            } else {
                assert_eq!(got, None, "rank {rank} of {n}");
            }
            assert_eq!(seen, local.2, "accumulator on rank {rank} of {n}");
            assert_eq!(after, local.3);
        }
    }
}

#[test]
fn processes_disagreeing_on_where_results_go_get_an_error() {
    let results = on_cluster(2, |ctx| {
        let d = ctx.parallelize((0..10u64).collect(), 2);
        if ctx.process_rank() == 0 {
            d.collect_to_leader().map(|_| ()).map_err(|e| e.to_string())
        } else {
            d.collect().map(|_| ()).map_err(|e| e.to_string())
        }
    });
    for r in results {
        let e = r.unwrap_err();
        assert!(e.contains("plan mismatch"), "{e}");
    }
}

#[test]
fn agree_gives_every_process_rank_zeros_decision_or_its_error() {
    let results = on_cluster(3, |ctx| {
        // Each process would decide differently; rank 0's decision wins everywhere, and
        // `decide` runs on rank 0 only.
        let rank = ctx.process_rank();
        let ran = std::sync::atomic::AtomicUsize::new(0);
        let v: Vec<String> = ctx
            .agree("the files", || {
                ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(vec![format!("seen by rank {rank}")])
            })
            .unwrap();
        // A failure to decide is the same error on every process, and the cluster goes on.
        let failed = ctx
            .agree::<u64>("the offsets", || Err(Error::parse("offsets.txt", 3, "bad")))
            .map_err(|e| e.to_string());
        let after = ctx.parallelize((0..10u64).collect(), 2).count().unwrap();
        (v, ran.into_inner(), failed, after)
    });
    for (rank, (v, ran, failed, after)) in results.into_iter().enumerate() {
        assert_eq!(v, vec!["seen by rank 0".to_string()]);
        assert_eq!(ran, usize::from(rank == 0));
        let e = failed.unwrap_err();
        assert!(e.contains("offsets.txt:3"), "rank {rank}: {e}");
        assert_eq!(after, 10);
    }
}

#[test]
fn processes_at_different_decisions_get_a_plan_mismatch() {
    let results = on_cluster(2, |ctx| {
        let label = format!("batch {}", ctx.process_rank());
        ctx.agree(&label, || Ok(1u8)).map_err(|e| e.to_string())
    });
    for r in results {
        let e = r.unwrap_err();
        assert!(e.contains("plan mismatch"), "{e}");
    }
}

#[test]
fn an_accumulators_initial_value_counts_once_on_every_process() {
    let results = on_cluster(2, |ctx| {
        let a = ctx.accumulator(None, 9u64, 0, |acc, x| *acc += x);
        a.add(1);
        let add = a.clone();
        ctx.parallelize(vec![1, 2, 3, 4, 5], 4)
            .foreach(move |_| add.add(1))
            .unwrap();
        a.value()
    });
    assert_eq!(results, vec![15, 15]);
}

#[test]
fn processes_with_different_fingerprints_all_fail_naming_each() {
    let results = on_cluster(3, |ctx| {
        // The same arguments everywhere pass; a process with others fails them all.
        ctx.ensure_same("job arguments", 7).unwrap();
        let mine = if ctx.process_rank() == 2 { 8 } else { 7 };
        let e = ctx.ensure_same("job arguments", mine);
        e.map_err(|e| e.to_string())
    });
    for r in results {
        let e = r.unwrap_err();
        assert!(e.contains("plan mismatch"), "{e}");
        assert!(e.contains("differ in job arguments"), "{e}");
        assert!(
            e.contains("rank 0: 0000000000000007") && e.contains("rank 2: 0000000000000008"),
            "{e}"
        );
    }
}

/// Builds an `n`-process cluster, each process configured by `configure(rank, config)`,
/// and counts ten records on it: each process's count, or its error.
fn count_on_configured_cluster(
    n: usize,
    configure: impl Fn(usize, ClusterConfig) -> ClusterConfig + Send + Sync + Clone + 'static,
) -> Vec<Result<u64, String>> {
    let peers = free_addresses(n);
    let session = rand_session();
    let handles: Vec<_> = (0..n)
        .map(|rank| {
            let (peers, configure) = (peers.clone(), configure.clone());
            std::thread::spawn(move || {
                let cfg = ClusterConfig::new(rank, peers)
                    .session(session)
                    .connect_timeout(Duration::from_secs(5));
                let ctx = Context::builder()
                    .threads(2)
                    .cluster(configure(rank, cfg))
                    .build()
                    .map_err(|e| e.to_string())?;
                ctx.parallelize((0..10u64).collect(), 4)
                    .count()
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn only_processes_that_prove_the_shared_secret_join() {
    // The same secret: the cluster runs.
    let ok = count_on_configured_cluster(3, |_, cfg| cfg.secret("a shared secret"));
    assert_eq!(ok, vec![Ok(10), Ok(10), Ok(10)]);
    // Rank 1 guesses: it cannot join, and nobody runs with it. Rank 0 accepts nobody but
    // rank 1, so it fails on rank 1's proof or waits for it in vain.
    let guessed = count_on_configured_cluster(2, |rank, cfg| {
        cfg.secret(if rank == 1 {
            "a guess"
        } else {
            "a shared secret"
        })
    });
    for (rank, r) in guessed.iter().enumerate() {
        let e = r.as_ref().unwrap_err();
        assert!(
            e.contains("failed to prove the shared secret"),
            "rank {rank}: {e}"
        );
    }
    // A process without the secret is refused, and says why.
    let without = count_on_configured_cluster(2, |rank, cfg| {
        if rank == 0 {
            cfg.secret("a shared secret")
        } else {
            cfg
        }
    });
    assert!(without.iter().all(Result::is_err), "{without:?}");
    let e = without[0].as_ref().unwrap_err();
    assert!(e.contains("does not authenticate"), "{e}");
}

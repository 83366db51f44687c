//! The parallel loaders (files parsed inside tasks) give the same records as the
//! driver-side loaders on the bundled data, locally and on 1, 2 and 3 cluster processes
//! (played by threads, each with its own context), and name `path:line` for a bad line far
//! past the first split.
#![cfg(feature = "cluster")]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use firesteel::core::ClusterConfig;
use firesteel::graphx::{edge_list_dataset, parse_edge_line, EdgeListOptions};
use firesteel::mllib::data::{self, InstanceBlock};
use firesteel::mllib::ndarray::{concatenate, Array2, Axis};
use firesteel::mllib::MlError;
use firesteel::Context;

fn data_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

/// Runs `program` on a local context and on `n` = 1, 2, 3 cluster processes (threads),
/// returning every process's result.
fn everywhere<R: Send + 'static>(
    program: impl Fn(&Context) -> R + Send + Sync + Clone + 'static,
) -> Vec<R> {
    everywhere_with(None, program)
}

/// [`everywhere`], with a memory budget for every context.
fn everywhere_with<R: Send + 'static>(
    memory: Option<usize>,
    program: impl Fn(&Context) -> R + Send + Sync + Clone + 'static,
) -> Vec<R> {
    let builder = move || {
        let b = Context::builder().threads(2);
        match memory {
            Some(m) => b.memory(m),
            None => b,
        }
    };
    let mut out = vec![program(&builder().build().unwrap())];
    for n in 1..=3 {
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let peers: Vec<String> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        drop(listeners);
        let session = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let handles: Vec<_> = (0..n)
            .map(|rank| {
                let (peers, program) = (peers.clone(), program.clone());
                std::thread::spawn(move || {
                    let cfg = ClusterConfig::new(rank, peers)
                        .session(session)
                        .connect_timeout(Duration::from_secs(20))
                        .round_timeout(Duration::from_secs(60));
                    let ctx = builder().cluster(cfg).build().unwrap();
                    program(&ctx)
                })
            })
            .collect();
        out.extend(handles.into_iter().map(|h| h.join().unwrap()));
    }
    out
}

/// The rows of cached blocks, stacked in order, and their labels.
fn stacked(blocks: &[Arc<InstanceBlock>]) -> (Array2<f64>, Vec<f64>) {
    let views: Vec<_> = blocks.iter().map(|b| b.features.view()).collect();
    let x = concatenate(Axis(0), &views).unwrap();
    let y = blocks.iter().flat_map(|b| b.labels.to_vec()).collect();
    (x, y)
}

#[test]
fn libsvm_and_dense_blocks_equal_the_driver_side_loaders() {
    for name in [
        "sample_libsvm_data.txt",
        "sample_multiclass_classification_data.txt",
    ] {
        let want = data::load_libsvm(data_file(name), None).unwrap();
        let path = data_file(name);
        for (x, y) in everywhere(move |ctx| {
            let blocks = data::load_libsvm_file(ctx, &path, None, 3).unwrap();
            stacked(&blocks.collect().unwrap())
        }) {
            assert_eq!(x, want.features, "{name}");
            assert_eq!(y, want.labels.to_vec(), "{name}");
        }
    }
    let want = data::load_dense(data_file("kmeans_data.txt")).unwrap();
    for (x, y) in everywhere(|ctx| {
        let blocks = data::load_dense_file(ctx, data_file("kmeans_data.txt"), 4).unwrap();
        stacked(&blocks.collect().unwrap())
    }) {
        assert_eq!(x, want);
        assert!(y.iter().all(|&l| l == 0.0));
    }
}

#[test]
fn ratings_edges_and_words_equal_the_driver_side_parses() {
    let want = data::load_ratings(data_file("sample_movielens_ratings.txt")).unwrap();
    for got in everywhere(|ctx| {
        data::load_ratings_file(ctx, data_file("sample_movielens_ratings.txt"), 3)
            .unwrap()
            .collect()
            .unwrap()
    }) {
        assert_eq!(got, want);
    }

    let path = data_file("followers.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let want: Vec<(u64, u64)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| parse_edge_line(l, &path, i as u64 + 1, false).unwrap())
        .collect();
    for got in everywhere(|ctx| {
        let opts = EdgeListOptions {
            num_partitions: 3,
            ..Default::default()
        };
        edge_list_dataset(ctx, data_file("followers.txt"), &opts)
            .unwrap()
            .map(|e| (e.src_id, e.dst_id))
            .collect()
            .unwrap()
    }) {
        assert_eq!(got, want);
    }

    let text = std::fs::read_to_string(data_file("sample_text.txt")).unwrap();
    let mut want: HashMap<String, u64> = HashMap::new();
    for w in text.split_whitespace() {
        *want.entry(w.to_string()).or_default() += 1;
    }
    for got in everywhere(|ctx| {
        ctx.text_file(data_file("sample_text.txt"), 3)
            .unwrap()
            .flat_map(|l| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|w| (w, 1u64))
            .reduce_by_key(|a, b| a + b)
            .collect()
            .unwrap()
    }) {
        assert_eq!(got.into_iter().collect::<HashMap<_, _>>(), want);
    }
}

/// A LIBSVM file of 120,000 rows with a bad token on line 117,003: every process fails
/// naming that line, locally and in cluster mode (where the process that owns the split
/// reports it, and the others report the remote failure with its message).
#[test]
fn a_bad_line_far_past_the_first_split_is_named_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.libsvm");
    let bad = 117_003;
    let text: String = (1..=120_000)
        .map(|i| {
            if i == bad {
                "1 1:0.5 2:x\n".to_string()
            } else {
                format!("{} 1:{} 3:{}\n", i % 2, i % 7, i % 11)
            }
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let expected = format!(
        "{}:{bad}: cannot parse feature value \"x\" as a number",
        path.display()
    );
    let p = path.clone();
    for e in everywhere(move |ctx| data::load_libsvm_file(ctx, &p, None, 4).unwrap_err()) {
        match &e {
            MlError::Parse { line, .. } => {
                assert_eq!(*line, bad);
                assert_eq!(e.to_string(), expected);
            }
            other => assert!(other.to_string().contains(&expected), "{other}"),
        }
    }
}

/// A file twice the size of the memory budget loads, and its blocks spill to disk instead
/// of being parsed again on every pass: locally and on 1, 2 and 3 processes.
#[test]
fn a_file_twice_the_memory_budget_loads_and_is_not_reparsed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.libsvm");
    let rows = 40_000;
    let mut text = String::new();
    let mut oracle = 0.0;
    for i in 0..rows {
        text.push_str(if i % 2 == 0 { "1" } else { "0" });
        for j in 1..=8 {
            let v = ((i * 31 + j * 7) % 1000) as f64 / 8.0;
            oracle += v;
            text.push_str(&format!(" {j}:{v}"));
        }
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    let budget = text.len() / 2;
    let p = path.clone();
    for (n, sum, recomputed, used) in everywhere_with(Some(budget), move |ctx| {
        let blocks = data::load_libsvm_file(ctx, &p, None, 4).unwrap();
        let before = ctx.metrics().totals.recomputations;
        let mut sum = 0.0;
        for _ in 0..3 {
            sum = blocks.map(|b| b.features.sum()).sum().unwrap();
        }
        let n = blocks.map(|b| b.len() as u64).sum().unwrap();
        let m = ctx.metrics();
        (
            n,
            sum,
            m.totals.recomputations - before,
            m.cache_memory_used,
        )
    }) {
        assert_eq!(n, rows as u64);
        assert!((sum - oracle).abs() <= 1e-9 * oracle, "{sum} vs {oracle}");
        assert_eq!(recomputed, 0, "blocks were parsed again");
        assert!(
            used <= budget,
            "{used} bytes cached past a budget of {budget}"
        );
    }
}

/// Dense rows must all have the first row's width: the first row that differs, in input
/// order, is named, wherever the splits fall, locally and on 1, 2 and 3 processes.
#[test]
fn the_first_dense_row_of_another_width_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.txt");
    // Rows 1..=9000 have 3 values, except 6001..=9000 with 4, and row 7500 with 2 again.
    let text: String = (1..=9000)
        .map(|i| match i {
            7500 => "1 2\n".to_string(),
            6001.. => format!("{i} 1 2 3\n"),
            _ => format!("{i} 1 2\n"),
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    let expected = format!("{}:6001: expected 3 values, found 4", path.display());
    for parts in [1, 2, 5] {
        let p = path.clone();
        for e in everywhere(move |ctx| data::load_dense_file(ctx, &p, parts).unwrap_err()) {
            assert!(matches!(e, MlError::Parse { line: 6001, .. }), "{e}");
            assert_eq!(e.to_string(), expected);
        }
    }
}

/// Numeric CSV with a header and a label column: the same blocks as the driver-side
/// `load_csv`, with each file's header skipped (here, two files read as one input).
#[test]
fn csv_blocks_equal_the_driver_side_loader() {
    let dir = tempfile::tempdir().unwrap();
    let want = data::load_libsvm(data_file("sample_libsvm_data.txt"), None).unwrap();
    // The LIBSVM sample as CSV: the label in column 2 of 5 (features 150..154).
    let mut csv = String::from("f150,f151,label,f152,f153\n");
    for (row, y) in want.features.outer_iter().zip(want.labels.iter()) {
        csv.push_str(&format!(
            "{},{},{y},{},{}\n",
            row[150], row[151], row[152], row[153]
        ));
    }
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let lines: Vec<&str> = csv.lines().collect();
    std::fs::write(&a, lines[..60].join("\n") + "\n").unwrap();
    std::fs::write(&b, format!("\n{}\n{}\n", lines[0], lines[60..].join("\n"))).unwrap();
    std::fs::write(dir.path().join("whole.txt"), &csv).unwrap();
    let whole = data::load_csv(dir.path().join("whole.txt"), true, Some(2)).unwrap();
    let spec = format!("{},{}", a.display(), b.display());
    for (x, y) in everywhere(move |ctx| {
        let blocks = data::load_csv_file(ctx, &spec, true, Some(2), 3).unwrap();
        stacked(&blocks.collect().unwrap())
    }) {
        assert_eq!(x, whole.features);
        assert_eq!(y, whole.labels.to_vec());
    }
}

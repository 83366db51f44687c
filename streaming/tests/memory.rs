//! A long run holds what it holds after a short one: state checkpoints cut the lineage,
//! and a batch's datasets, shuffle outputs and cached blocks are freed once no window or
//! state needs them. Measured with the engine's own counts (cached blocks, their bytes,
//! the scratch directory's files), not wall time or process memory.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use firesteel_core::Context;
use firesteel_streaming::{StreamingContext, Time};

/// Files (and their bytes) under `dir`.
fn files_under(dir: &Path) -> (usize, u64) {
    let (mut n, mut bytes) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                n += 1;
                bytes += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    (n, bytes)
}

#[test]
fn a_long_running_stateful_and_windowed_stream_holds_no_more_than_a_short_one() {
    let ctx = Context::local(2).unwrap();
    let ckpt = tempfile::tempdir().unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    ssc.checkpoint(ckpt.path()).unwrap();
    // 2,000 words a batch out of 500 keys.
    let c = ctx.clone();
    let words = ssc.input_stream(move |t: Time| {
        let base = t.millis() as u64;
        Ok(Some(c.range(0, 2_000, 1, 4)?.map(move |i| {
            let k = (i as u64 * 7_919 + base) % 500;
            (format!("w{k}"), 1u64)
        })))
    });
    let totals = words.update_state_by_key(|v: Vec<u64>, s: Option<u64>| {
        Some(s.unwrap_or(0) + v.iter().sum::<u64>())
    });
    let windowed = words.reduce_by_key_and_window_inv(
        |a, b| a + b,
        |a, b| a - b,
        Duration::from_secs(2),
        Duration::from_millis(100),
        Some(4),
        None,
    );
    let (seen_total, seen_window) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (st, sw) = (seen_total.clone(), seen_window.clone());
    totals.foreach_rdd(move |ds, _| {
        st.store(ds.values().fold(0, |a, b| a + b)?, Ordering::Relaxed);
        Ok(())
    });
    windowed.foreach_rdd(move |ds, _| {
        sw.store(ds.values().fold(0, |a, b| a + b)?, Ordering::Relaxed);
        Ok(())
    });
    ssc.start().unwrap();
    let snapshot = |batches: u64| {
        assert_eq!(seen_total.load(Ordering::Relaxed), 2_000 * batches);
        assert_eq!(seen_window.load(Ordering::Relaxed), 2_000 * batches.min(20));
        let m = ctx.metrics();
        (
            m.cached_blocks,
            m.cache_memory_used,
            files_under(ctx.scratch_dir()),
            files_under(ckpt.path()),
        )
    };
    // Past the window and a few state checkpoints (every 10 s of batches), then 4× longer.
    ssc.run_batches(250).unwrap();
    let short = snapshot(250);
    ssc.run_batches(750).unwrap();
    let long = snapshot(1_000);
    ssc.stop(false);
    let (blocks, bytes, scratch, checkpoints) = (long.0, long.1, long.2, long.3);
    assert!(
        blocks <= short.0 + 8,
        "cached blocks {} then {blocks}",
        short.0
    );
    assert!(
        bytes <= short.1 + short.1 / 4,
        "cached bytes {} then {bytes}",
        short.1
    );
    assert!(
        scratch.0 <= short.2 .0 + 8,
        "scratch files {:?} then {scratch:?}",
        short.2
    );
    assert!(
        checkpoints.0 <= short.3 .0 + 8,
        "checkpoint files {:?} then {checkpoints:?}",
        short.3
    );
}

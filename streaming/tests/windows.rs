//! Windowed reductions three ways: incrementally with an inverse function, by reducing
//! the whole window, and by an independent oracle summing each window's batches from
//! scratch. They agree on random batches, windows and slides (the inverse form keeps keys
//! whose count fell back to zero, as Spark's does when no filter is given).

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firesteel_core::Context;
use firesteel_streaming::{DStream, StreamingContext, Time};
use proptest::prelude::*;

type Out = Vec<(i64, Vec<(u8, u64)>)>;

fn collect(stream: DStream<(u8, u64)>, into: &Arc<Mutex<Out>>) {
    let seen = into.clone();
    stream.foreach_rdd(move |ds, t: Time| {
        let mut v = ds.collect()?;
        v.sort();
        seen.lock().unwrap().push((t.millis(), v));
        Ok(())
    });
}

/// Runs both forms over `batches` (100 ms batches) and returns (inverse form with zero
/// counts removed, whole-window form).
fn run(batches: &[Vec<(u8, u64)>], len: i64, slide: i64, extra: usize) -> (Out, Out) {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_millis(100)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    // Batch i at time (i + 1) * 100 ms whether or not a window asks for it (a queue
    // stream hands out its next dataset when asked, which skips nothing).
    let (c, data) = (ctx.clone(), batches.to_vec());
    let input = ssc.input_stream(move |t| {
        let i = (t.millis() / 100 - 1) as usize;
        Ok(Some(
            c.parallelize(data.get(i).cloned().unwrap_or_default(), 2),
        ))
    });
    let (inv, whole) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    let (l, s) = (
        Duration::from_millis(len as u64),
        Duration::from_millis(slide as u64),
    );
    collect(
        input.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, l, s, Some(3), None),
        &inv,
    );
    collect(input.reduce_by_key_and_window(|a, b| a + b, l, s), &whole);
    ssc.start().unwrap();
    ssc.run_batches(batches.len() + extra).unwrap();
    ssc.stop(false);
    let mut inv = inv.lock().unwrap().clone();
    for (_, v) in &mut inv {
        v.retain(|&(_, c)| c != 0);
    }
    let whole = whole.lock().unwrap().clone();
    (inv, whole)
}

/// The oracle: for each output time `t` (a multiple of the slide after 0), the sums by key
/// of the batches at times in `(t - len, t]`; batch `i` is at `(i + 1) * 100` ms.
fn oracle(batches: &[Vec<(u8, u64)>], len: i64, slide: i64, total: usize) -> Out {
    let mut out = Vec::new();
    let end = total as i64 * 100;
    let mut t = slide;
    while t <= end {
        let mut sums = BTreeMap::new();
        for (i, b) in batches.iter().enumerate() {
            let bt = (i as i64 + 1) * 100;
            if bt > t - len && bt <= t {
                for &(k, v) in b {
                    *sums.entry(k).or_insert(0) += v;
                }
            }
        }
        out.push((t, sums.into_iter().collect()));
        t += slide;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn inverse_equals_whole_window_equals_oracle(
        batches in prop::collection::vec(
            prop::collection::vec((0u8..6, 1u64..4), 0..8), 1..10),
        len_batches in 1i64..6,
        slide_batches in 1i64..4,
    ) {
        let (len, slide) = (len_batches * 100, slide_batches * 100);
        let extra = (len_batches + slide_batches) as usize;
        let (inv, whole) = run(&batches, len, slide, extra);
        let want = oracle(&batches, len, slide, batches.len() + extra);
        prop_assert_eq!(&whole, &want);
        prop_assert_eq!(&inv, &want);
    }
}

#[test]
fn sparks_window_example_with_a_larger_slide() {
    // Two-batch slide, four-batch window; checked against the oracle by hand:
    // batches a, a b, b, c, (empty)...
    let batches = vec![
        vec![(0u8, 1u64)],
        vec![(0, 1), (1, 1)],
        vec![(1, 1)],
        vec![(2, 1)],
    ];
    let (inv, whole) = run(&batches, 400, 200, 4);
    let want: Out = vec![
        (200, vec![(0, 2), (1, 1)]),
        (400, vec![(0, 2), (1, 2), (2, 1)]),
        (600, vec![(1, 1), (2, 1)]),
        (800, vec![]),
    ];
    assert_eq!(whole, want);
    assert_eq!(inv, want);
}

#[test]
fn a_window_shorter_than_its_slide_holds_only_its_own_batches() {
    // Batches at 100 and 300 fall between the 100 ms windows that end at 200 and 400.
    let batches = vec![vec![(0u8, 1u64)], vec![(1, 1)], vec![(2, 1)], vec![(3, 1)]];
    let (inv, whole) = run(&batches, 100, 200, 2);
    let want: Out = vec![(200, vec![(1, 1)]), (400, vec![(3, 1)]), (600, vec![])];
    assert_eq!(whole, want);
    assert_eq!(inv, want);
}

//! Runs a stream function over queued batches on the manual clock and collects each
//! output batch, as PySpark's `PySparkStreamingTestCase._test_func` does.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use firesteel_core::{Context, Data};
use firesteel_streaming::{DStream, StreamingContext};

/// PySpark's test batch interval: 0.5 s.
pub const BATCH: Duration = Duration::from_millis(500);

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The outputs of `n` batches of `f` over `input` (one queued dataset per batch, each
/// in `partitions` partitions; later batches are empty).
pub fn run<T: Data, U: Data>(
    input: Vec<Vec<T>>,
    partitions: usize,
    n: usize,
    f: impl FnOnce(DStream<T>) -> DStream<U>,
) -> Vec<Vec<U>> {
    run2(input, Vec::<Vec<u8>>::new(), partitions, n, |a, _| f(a))
}

/// As [`run`], with a second input stream.
pub fn run2<T: Data, T2: Data, U: Data>(
    input: Vec<Vec<T>>,
    input2: Vec<Vec<T2>>,
    partitions: usize,
    n: usize,
    f: impl FnOnce(DStream<T>, DStream<T2>) -> DStream<U>,
) -> Vec<Vec<U>> {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, BATCH).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let (a, b) = (
        queue(&ssc, input, partitions),
        queue(&ssc, input2, partitions),
    );
    let out = Arc::new(Mutex::new(Vec::new()));
    let seen = out.clone();
    f(a, b).foreach_rdd(move |ds, _| {
        seen.lock().unwrap().push(ds.collect()?);
        Ok(())
    });
    ssc.start().unwrap();
    ssc.run_batches(n).unwrap();
    ssc.stop(false);
    let got = out.lock().unwrap().clone();
    got
}

/// A queue stream of `input`, one batch per element.
pub fn queue<T: Data>(ssc: &StreamingContext, input: Vec<Vec<T>>, partitions: usize) -> DStream<T> {
    let ctx = ssc.context();
    let batches: VecDeque<_> = input
        .into_iter()
        .map(|b| ctx.parallelize(b, partitions))
        .collect();
    ssc.queue_stream(Arc::new(Mutex::new(batches)), true, None)
}

/// An owned string.
pub fn s(x: &str) -> String {
    x.to_owned()
}

/// Sorts each batch, for outputs whose order within a batch is not defined.
pub fn sorted<U: Ord>(mut batches: Vec<Vec<U>>) -> Vec<Vec<U>> {
    for b in &mut batches {
        b.sort();
    }
    batches
}

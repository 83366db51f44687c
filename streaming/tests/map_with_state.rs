//! `map_with_state` against the expectations of Spark's `MapWithStateSuite`
//! (streaming/src/test/scala/org/apache/spark/streaming/MapWithStateSuite.scala), with
//! its 1 s batches on the manual clock.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::s;
use firesteel_core::Context;
use firesteel_streaming::{MapWithStateDStream, State, StateSpec, StreamingContext};

type Snapshots = Vec<BTreeSet<(String, u64)>>;

/// Runs `spec` over `input` (each word paired with 1) for `n` batches; returns the
/// mapped output and the state snapshot of each batch, each sorted.
fn run<E: firesteel_core::Data + Ord>(
    input: &[&[&str]],
    spec: StateSpec<String, u64, u64, E>,
    n: usize,
) -> (Vec<Vec<E>>, Snapshots) {
    let ctx = Context::local(2).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let batches: Vec<Vec<(String, u64)>> = input
        .iter()
        .map(|b| b.iter().map(|w| (s(w), 1u64)).collect())
        .collect();
    let stream: MapWithStateDStream<String, u64, E> =
        common::queue(&ssc, batches, 2).map_with_state(spec);
    let (outputs, states) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    let (o, st) = (outputs.clone(), states.clone());
    stream.foreach_rdd(move |ds, _| {
        let mut v = ds.collect()?;
        v.sort();
        o.lock().unwrap().push(v);
        Ok(())
    });
    stream.state_snapshots().foreach_rdd(move |ds, _| {
        st.lock().unwrap().push(ds.collect()?.into_iter().collect());
        Ok(())
    });
    ssc.start().unwrap();
    ssc.run_batches(n).unwrap();
    ssc.stop(false);
    let outputs = outputs.lock().unwrap().clone();
    let states = states.lock().unwrap().clone();
    (outputs, states)
}

fn set(pairs: &[(&str, u64)]) -> BTreeSet<(String, u64)> {
    pairs.iter().map(|(k, v)| (s(k), *v)).collect()
}

#[test]
fn basic_operations() {
    // "mapWithState - basic operations with simple API": the state keeps a running
    // count and the updated count is returned.
    let input: [&[&str]; 7] = [
        &[],
        &["a"],
        &["a", "b"],
        &["a", "b", "c"],
        &["a", "b"],
        &["a"],
        &[],
    ];
    let spec = StateSpec::function(|_k: &String, v: Option<u64>, state: &mut State<u64>| {
        let sum = v.unwrap_or(0) + state.get().copied().unwrap_or(0);
        state.update(sum);
        sum
    });
    let (outputs, states) = run(&input, spec, 7);
    let want: Vec<Vec<u64>> = vec![
        vec![],
        vec![1],
        vec![1, 2],
        vec![1, 2, 3],
        vec![3, 4],
        vec![5],
        vec![],
    ];
    assert_eq!(outputs, want);
    let want_states = vec![
        set(&[]),
        set(&[("a", 1)]),
        set(&[("a", 2), ("b", 1)]),
        set(&[("a", 3), ("b", 2), ("c", 1)]),
        set(&[("a", 4), ("b", 3), ("c", 1)]),
        set(&[("a", 5), ("b", 3), ("c", 1)]),
        set(&[("a", 5), ("b", 3), ("c", 1)]),
    ];
    assert_eq!(states, want_states);
}

#[test]
fn removing_state() {
    // A key's state is removed when its count reaches 2, so it restarts from 1.
    let input: [&[&str]; 4] = [&["a"], &["a"], &["a"], &["a"]];
    let spec = StateSpec::function(|_k: &String, v: Option<u64>, state: &mut State<u64>| {
        let sum = v.unwrap_or(0) + state.get().copied().unwrap_or(0);
        if sum >= 2 {
            state.remove();
        } else {
            state.update(sum);
        }
        sum
    });
    let (outputs, states) = run(&input, spec, 4);
    assert_eq!(outputs, vec![vec![1], vec![2], vec![1], vec![2]]);
    assert_eq!(
        states,
        vec![set(&[("a", 1)]), set(&[]), set(&[("a", 1)]), set(&[])]
    );
}

#[test]
fn state_timing_out() {
    // "mapWithState - state timing out": a 3 s timeout; c and b go idle and time out
    // (each returned once, when it expires), a stays active.
    let mut input: Vec<&[&str]> = vec![&["a", "b", "c"], &["a", "b"], &["a"], &[], &[], &["a"]];
    input.extend(std::iter::repeat_n(&["a"][..], 20));
    let spec = StateSpec::function(|k: &String, v: Option<u64>, state: &mut State<u64>| {
        if v.is_some() {
            state.update(1);
        }
        state.is_timing_out().then(|| k.clone())
    })
    .timeout(Duration::from_secs(3));
    let (outputs, states) = run(&input, spec, 20);
    let expired: Vec<String> = outputs.into_iter().flatten().flatten().collect();
    assert_eq!(expired, vec![s("b"), s("c")]);
    assert!(states
        .iter()
        .any(|st| *st == set(&[("a", 1), ("b", 1), ("c", 1)])));
    assert_eq!(states.last().unwrap(), &set(&[("a", 1)]));
}

#[test]
fn initial_state() {
    let ctx = Context::local(1).unwrap();
    let ssc = StreamingContext::with_manual_clock(&ctx, Duration::from_secs(1)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    ssc.checkpoint(dir.path()).unwrap();
    let initial = ctx.parallelize(vec![(s("a"), 10u64), (s("z"), 5)], 1);
    let spec = StateSpec::function(|_k: &String, v: Option<u64>, state: &mut State<u64>| {
        let sum = v.unwrap_or(0) + state.get().copied().unwrap_or(0);
        state.update(sum);
        sum
    })
    .initial_state(initial)
    .num_partitions(3);
    let snaps = Arc::new(Mutex::new(Vec::new()));
    let seen = snaps.clone();
    common::queue(&ssc, vec![vec![(s("a"), 1u64)], vec![(s("b"), 1)]], 1)
        .map_with_state(spec)
        .state_snapshots()
        .foreach_rdd(move |ds, _| {
            seen.lock()
                .unwrap()
                .push(ds.collect()?.into_iter().collect::<BTreeSet<_>>());
            Ok(())
        });
    ssc.start().unwrap();
    ssc.run_batches(2).unwrap();
    ssc.stop(false);
    assert_eq!(
        *snaps.lock().unwrap(),
        vec![
            set(&[("a", 11), ("z", 5)]),
            set(&[("a", 11), ("b", 1), ("z", 5)])
        ]
    );
}

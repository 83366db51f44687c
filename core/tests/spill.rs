//! Spill: shuffles over data several times the memory budgets complete with correct
//! results and report the bytes they spilled.

use std::collections::BTreeMap;

use firesteel_core::Context;

const BUDGET: usize = 256 << 10;

fn small_ctx() -> Context {
    Context::builder()
        .threads(2)
        .memory(BUDGET)
        .shuffle_memory(BUDGET)
        .build()
        .unwrap()
}

/// Records of about 48 bytes each: (key, (value, padding)).
fn records(n: u64) -> Vec<(u32, (u64, String))> {
    (0..n)
        .map(|i| {
            let k = (i.wrapping_mul(2_654_435_761) % 5003) as u32;
            (k, (i, format!("{:016x}", i ^ 0xabcdef)))
        })
        .collect()
}

#[test]
fn group_by_key_spills_and_is_correct() {
    let ctx = small_ctx();
    let n = 60_000u64; // about 3 MB estimated: over 4x both budgets
    let data = records(n);
    let mut oracle: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for (k, (v, _)) in &data {
        oracle.entry(*k).or_default().push(*v);
    }
    let ds = ctx.parallelize(data, 4);
    let mut got: Vec<(u32, Vec<u64>)> = ds
        .group_by_key()
        .map_values(|vs| {
            let mut vs: Vec<u64> = vs.into_iter().map(|(v, _)| v).collect();
            vs.sort();
            vs
        })
        .collect()
        .unwrap();
    got.sort();
    for vs in oracle.values_mut() {
        vs.sort();
    }
    assert_eq!(got, oracle.into_iter().collect::<Vec<_>>());
    let m = ctx.metrics().totals;
    assert!(
        m.bytes_spilled > 4 * BUDGET as u64,
        "spilled {}",
        m.bytes_spilled
    );
}

#[test]
fn sort_by_key_spills_and_is_sorted() {
    let ctx = small_ctx();
    let data = records(60_000);
    let mut expect: Vec<(u32, u64)> = data.iter().map(|(k, (v, _))| (*k, *v)).collect();
    expect.sort();
    let sorted = ctx
        .parallelize(data, 4)
        .sort_by_key(true, Some(3))
        .unwrap()
        .collect()
        .unwrap();
    let keys: Vec<u32> = sorted.iter().map(|(k, _)| *k).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "keys are sorted");
    let mut got: Vec<(u32, u64)> = sorted.into_iter().map(|(k, (v, _))| (k, v)).collect();
    got.sort();
    assert_eq!(got, expect);
    assert!(ctx.metrics().totals.bytes_spilled > 4 * BUDGET as u64);
}

#[test]
fn descending_sort_spills_and_is_sorted() {
    let ctx = small_ctx();
    let data = records(40_000);
    let sorted = ctx
        .parallelize(data, 3)
        .sort_by_key(false, Some(2))
        .unwrap()
        .keys()
        .collect()
        .unwrap();
    assert_eq!(sorted.len(), 40_000);
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn reduce_by_key_with_many_keys_spills_and_is_correct() {
    let ctx = small_ctx();
    let n = 200_000u64;
    let ds = ctx
        .parallelize((0..n).collect(), 4)
        .map(|i| (i % 50_000, i));
    let mut got = ds.reduce_by_key(|a, b| a + b).collect().unwrap();
    got.sort();
    let expect: Vec<(u64, u64)> = (0..50_000u64)
        .map(|k| (k, (0..4).map(|j| k + j * 50_000).sum()))
        .collect();
    assert_eq!(got, expect);
    assert!(ctx.metrics().totals.bytes_spilled > 0);
}

#[test]
fn cogroup_and_join_spill_and_are_correct() {
    let ctx = small_ctx();
    let left = ctx.parallelize((0..40_000u64).map(|i| (i % 10_000, i)).collect(), 3);
    let right = ctx.parallelize(
        (0..10_000u64).map(|i| (i, format!("r{i:012}"))).collect(),
        2,
    );
    let joined = left.join(&right).collect().unwrap();
    assert_eq!(joined.len(), 40_000);
    assert!(joined
        .iter()
        .all(|(k, (v, w))| v % 10_000 == *k && *w == format!("r{k:012}")));
    assert!(ctx.metrics().totals.bytes_spilled > 0);
}

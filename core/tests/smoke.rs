//! Smoke test of the main operators.

use firesteel_core::{Context, HashPartitioner, StorageLevel};

#[test]
fn basics() {
    let ctx = Context::local(2).unwrap();
    let d = ctx.parallelize((0..10_000u64).collect(), 7);
    assert_eq!(d.count().unwrap(), 10_000);
    assert_eq!(
        d.map(|x| x * 2).filter(|x| x % 3 == 0).sum().unwrap(),
        (0..10_000u64)
            .map(|x| x * 2)
            .filter(|x| x % 3 == 0)
            .sum::<u64>()
    );
    let pairs = d.map(|x| (x % 13, x));
    let mut r = pairs.reduce_by_key(|a, b| a + b).collect().unwrap();
    r.sort();
    let mut expect = vec![0u64; 13];
    for x in 0..10_000u64 {
        expect[(x % 13) as usize] += x;
    }
    assert_eq!(
        r,
        expect
            .iter()
            .enumerate()
            .map(|(k, v)| (k as u64, *v))
            .collect::<Vec<_>>()
    );
    let g = pairs
        .group_by_key()
        .map_values(|v| v.len())
        .collect()
        .unwrap();
    assert_eq!(g.len(), 13);
    let sorted = d
        .map(|x| (10_000 - x, x))
        .sort_by_key(true, Some(3))
        .unwrap()
        .keys()
        .collect()
        .unwrap();
    assert_eq!(sorted, (1..=10_000u64).collect::<Vec<_>>());
    let p = pairs.partition_by(HashPartitioner::new(4)).cache();
    let j = p.join(&p.map_values(|v| v + 1)).count().unwrap();
    assert!(j > 0);
    println!("{}", p.join(&p.map_values(|v| v + 1)).to_debug_string());
    let c = d.persist(StorageLevel::MemoryOnlySer);
    assert_eq!(c.count().unwrap(), 10_000);
    assert_eq!(c.count().unwrap(), 10_000);
    println!("{}", ctx.metrics());
}

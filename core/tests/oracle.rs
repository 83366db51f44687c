//! Oracle tests: every transformation and action of [`Dataset`] is checked with proptest
//! against a plain sequential computation over std collections on the same input.
//!
//! Inputs mix empty vectors, tiny vectors spread over more partitions than records, wide
//! and narrow value ranges, and skewed keys (most records on one key), over 1 to 12
//! partitions. Results are compared in order where the engine defines an order (narrow
//! transformations, `collect`, `take`, `zip`, `glom`, sorting, ...) and as sorted
//! multisets where a shuffle leaves it unspecified.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use firesteel_core::{Context, Dataset, Error, HashPartitioner, Partitioner};
use proptest::collection::vec;
use proptest::prelude::*;

// ----- helpers -----

/// A fresh small context per case, so that cases share no shuffle or cache state.
fn ctx() -> Context {
    Context::builder()
        .threads(2)
        .build()
        .expect("building a test context")
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// What `parallelize(v, n)` puts in each partition: contiguous runs
/// `[i * len / n, (i + 1) * len / n)`.
fn slices<T: Clone>(v: &[T], n: usize) -> Vec<Vec<T>> {
    let len = v.len();
    (0..n)
        .map(|i| v[i * len / n..(i + 1) * len / n].to_vec())
        .collect()
}

/// Whether `sub` is a subsequence of `full` (order kept, elements skipped).
fn is_subsequence<T: PartialEq>(sub: &[T], full: &[T]) -> bool {
    let mut it = full.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

fn hash_partition(p: &HashPartitioner, k: &u8) -> usize {
    Partitioner::<u8>::get_partition(p, k)
}

/// Checks through `glom` that every record sits in the partition `p` gives its key.
fn assert_placed_by<V: firesteel_core::Data + std::fmt::Debug>(
    d: &Dataset<(u8, V)>,
    p: &HashPartitioner,
) {
    let parts = d.glom().collect().unwrap();
    assert_eq!(parts.len(), Partitioner::<u8>::num_partitions(p));
    for (i, part) in parts.iter().enumerate() {
        for (k, _) in part {
            assert_eq!(hash_partition(p, k), i, "key {k} in partition {i}");
        }
    }
}

fn is_empty_err<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::EmptyDataset(_)))
}

// ----- strategies -----

fn values() -> impl Strategy<Value = i64> {
    prop_oneof![3 => -1000i64..1000, 1 => -1_000_000i64..1_000_000]
}

/// Plain numbers: empty, tiny, many duplicates, wide, and skewed to one value.
fn nums() -> impl Strategy<Value = Vec<i64>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => vec(-5i64..5, 0..4),
        4 => vec(-20i64..20, 0..80),
        2 => vec(-1_000_000i64..1_000_000, 0..80),
        2 => vec(prop_oneof![5 => Just(3i64), 1 => -20i64..20], 0..80),
    ]
}

/// Key-value records: empty, tiny, few keys, skewed (most on key 7), and wide keys.
fn pairs() -> impl Strategy<Value = Vec<(u8, i64)>> {
    prop_oneof![
        1 => Just(Vec::new()),
        2 => vec((0u8..4, values()), 0..4),
        4 => vec((0u8..10, values()), 0..60),
        3 => vec((prop_oneof![6 => Just(7u8), 1 => 0u8..10], values()), 0..80),
        1 => vec((any::<u8>(), values()), 0..60),
    ]
}

/// Partition counts 1..=12, with 1 drawn often.
fn parts() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(1usize), 3 => 1usize..=12]
}

// ----- oracles for pair operations -----

fn group_oracle<V: Clone>(v: &[(u8, V)]) -> BTreeMap<u8, Vec<V>> {
    let mut m: BTreeMap<u8, Vec<V>> = BTreeMap::new();
    for (k, x) in v {
        m.entry(*k).or_default().push(x.clone());
    }
    m
}

fn join_oracle(a: &[(u8, i64)], b: &[(u8, i64)]) -> Vec<(u8, (i64, i64))> {
    let mut out = Vec::new();
    for (k, v) in a {
        for (k2, w) in b {
            if k == k2 {
                out.push((*k, (*v, *w)));
            }
        }
    }
    sorted(out)
}

fn left_outer_oracle(a: &[(u8, i64)], b: &[(u8, i64)]) -> Vec<(u8, (i64, Option<i64>))> {
    let mut out = Vec::new();
    for (k, v) in a {
        let mut matched = false;
        for (k2, w) in b {
            if k == k2 {
                matched = true;
                out.push((*k, (*v, Some(*w))));
            }
        }
        if !matched {
            out.push((*k, (*v, None)));
        }
    }
    sorted(out)
}

fn full_outer_oracle(a: &[(u8, i64)], b: &[(u8, i64)]) -> Vec<(u8, (Option<i64>, Option<i64>))> {
    let mut out: Vec<_> = left_outer_oracle(a, b)
        .into_iter()
        .map(|(k, (v, w))| (k, (Some(v), w)))
        .collect();
    for (k, w) in b {
        if !a.iter().any(|(k2, _)| k2 == k) {
            out.push((*k, (None, Some(*w))));
        }
    }
    sorted(out)
}

// ----- properties -----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// collect, count, map, filter, flat_map, key_by, map_partitions(_with_index), glom.
    #[test]
    fn narrow_transformations(input in nums(), n in parts()) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        prop_assert_eq!(d.num_partitions(), n);
        prop_assert_eq!(d.collect().unwrap(), input.clone());
        prop_assert_eq!(d.count().unwrap(), input.len() as u64);

        let mapped: Vec<i64> = input.iter().map(|x| x * 3 - 1).collect();
        prop_assert_eq!(d.map(|x| x * 3 - 1).collect().unwrap(), mapped);

        let kept: Vec<i64> = input.iter().copied().filter(|x| x % 3 == 0).collect();
        prop_assert_eq!(d.filter(|x| x % 3 == 0).collect().unwrap(), kept);

        let flat: Vec<i64> = input
            .iter()
            .flat_map(|&x| (0..x.rem_euclid(4)).map(move |i| x + i))
            .collect();
        let got = d.flat_map(|x| (0..x.rem_euclid(4)).map(move |i| x + i)).collect().unwrap();
        prop_assert_eq!(got, flat);

        let keyed: Vec<(i64, i64)> = input.iter().map(|&x| (x.rem_euclid(5), x)).collect();
        prop_assert_eq!(d.key_by(|x| x.rem_euclid(5)).collect().unwrap(), keyed);

        let sl = slices(&input, n);
        prop_assert_eq!(d.glom().collect().unwrap(), sl.clone());

        let sums: Vec<i64> = sl.iter().map(|s| s.iter().sum()).collect();
        let got = d.map_partitions(|recs| std::iter::once(recs.sum::<i64>())).collect().unwrap();
        prop_assert_eq!(got, sums);

        let tagged: Vec<(usize, i64)> = sl
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.iter().map(move |&x| (i, x)))
            .collect();
        let got = d
            .map_partitions_with_index(|i, recs| recs.map(move |x| (i, x)))
            .collect()
            .unwrap();
        prop_assert_eq!(got, tagged);

        // Fused chains keep the order as well.
        let chained: Vec<i64> = input
            .iter()
            .map(|x| x + 1)
            .filter(|x| x % 2 == 0)
            .flat_map(|x| [x, -x])
            .collect();
        let got = d.map(|x| x + 1).filter(|x| x % 2 == 0).flat_map(|x| [x, -x]).collect().unwrap();
        prop_assert_eq!(got, chained);
    }

    /// first, take, take_ordered, top, reduce, fold, sum, aggregate, foreach,
    /// foreach_partition, count_by_value.
    #[test]
    fn actions(input in nums(), n in parts(), k in 0usize..90) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);

        match input.first() {
            Some(x) => prop_assert_eq!(d.first().unwrap(), *x),
            None => prop_assert!(is_empty_err(&d.first())),
        }
        prop_assert_eq!(d.take(k).unwrap(), input[..k.min(input.len())].to_vec());
        prop_assert_eq!(d.take(0).unwrap(), Vec::<i64>::new());
        prop_assert_eq!(d.take(input.len() + 5).unwrap(), input.clone());

        let asc = sorted(input.clone());
        prop_assert_eq!(d.take_ordered(k).unwrap(), asc[..k.min(asc.len())].to_vec());
        let desc: Vec<i64> = asc.iter().rev().copied().collect();
        prop_assert_eq!(d.top(k).unwrap(), desc[..k.min(desc.len())].to_vec());

        let total: i64 = input.iter().sum();
        match input.is_empty() {
            true => prop_assert!(is_empty_err(&d.reduce(|a, b| a + b))),
            false => prop_assert_eq!(d.reduce(|a, b| a + b).unwrap(), total),
        }
        if let Some(m) = input.iter().max() {
            prop_assert_eq!(d.reduce(|a, b| a.max(b)).unwrap(), *m);
        }
        prop_assert_eq!(d.fold(0, |a, b| a + b).unwrap(), total);
        prop_assert_eq!(d.sum().unwrap(), total);

        let (s, c) = d
            .aggregate((0i64, 0u64), |(s, c), x| (s + x, c + 1), |a, b| (a.0 + b.0, a.1 + b.1))
            .unwrap();
        prop_assert_eq!((s, c), (total, input.len() as u64));
        let all = d
            .aggregate(Vec::new(), |mut acc, x| { acc.push(x); acc }, |mut a, b| { a.extend(b); a })
            .unwrap();
        prop_assert_eq!(sorted(all), asc.clone());

        let seen = Mutex::new(Vec::new());
        d.foreach(|x| seen.lock().unwrap().push(x)).unwrap();
        prop_assert_eq!(sorted(seen.into_inner().unwrap()), asc.clone());

        let seen_parts = Mutex::new(Vec::new());
        d.foreach_partition(|recs| seen_parts.lock().unwrap().push(recs.collect::<Vec<_>>()))
            .unwrap();
        prop_assert_eq!(sorted(seen_parts.into_inner().unwrap()), sorted(slices(&input, n)));

        let mut counts: HashMap<i64, u64> = HashMap::new();
        for x in &input {
            *counts.entry(*x).or_default() += 1;
        }
        prop_assert_eq!(d.count_by_value().unwrap(), counts);
    }

    /// tree_aggregate and tree_reduce at depths 1..=4 (and 0, treated as 1).
    #[test]
    fn tree_ops(input in nums(), n in parts(), depth in 0usize..=4) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        let total: i64 = input.iter().sum();
        let got = d.tree_aggregate(0i64, |a, x| a + x, |a, b| a + b, depth).unwrap();
        prop_assert_eq!(got, total);
        let got = d
            .tree_aggregate(
                (0i64, 0u64),
                |(s, c), x| (s + x, c + 1),
                |a, b| (a.0 + b.0, a.1 + b.1),
                depth,
            )
            .unwrap();
        prop_assert_eq!(got, (total, input.len() as u64));
        // The combining order is fixed: concatenation gives back the partition order.
        let all = d
            .tree_aggregate(
                Vec::new(),
                |mut acc, x| { acc.push(x); acc },
                |mut a, b| { a.extend(b); a },
                depth,
            )
            .unwrap();
        prop_assert_eq!(all, input.clone());
        match input.is_empty() {
            true => prop_assert!(is_empty_err(&d.tree_reduce(|a, b| a + b, depth))),
            false => prop_assert_eq!(d.tree_reduce(|a, b| a + b, depth).unwrap(), total),
        }
        if let Some(m) = input.iter().min() {
            prop_assert_eq!(d.tree_reduce(|a, b| a.min(b), depth).unwrap(), *m);
        }
    }

    /// union, zip, zip_with_index, cartesian.
    #[test]
    fn union_zip_cartesian(a in nums(), na in parts(), b in nums(), nb in parts()) {
        let ctx = ctx();
        let da = ctx.parallelize(a.clone(), na);
        let db = ctx.parallelize(b.clone(), nb);

        let u = da.union(&db);
        prop_assert_eq!(u.num_partitions(), na + nb);
        prop_assert_eq!(u.collect().unwrap(), [a.clone(), b.clone()].concat());
        let mut glommed = slices(&a, na);
        glommed.extend(slices(&b, nb));
        prop_assert_eq!(u.glom().collect().unwrap(), glommed);

        // zip with a narrow transformation of itself, and with another dataset of the same
        // length and slicing.
        let doubled: Vec<(i64, i64)> = a.iter().map(|&x| (x, 2 * x)).collect();
        prop_assert_eq!(da.zip(&da.map(|x| 2 * x)).unwrap().collect().unwrap(), doubled);
        let rev: Vec<i64> = a.iter().rev().copied().collect();
        let zipped: Vec<(i64, i64)> = a.iter().copied().zip(rev.iter().copied()).collect();
        let dr = ctx.parallelize(rev, na);
        prop_assert_eq!(da.zip(&dr).unwrap().collect().unwrap(), zipped);
        prop_assert!(da.zip(&ctx.parallelize(a.clone(), na + 1)).is_err());
        // Different record counts in some partition fail when the job runs.
        let filtered = da.filter(|x| *x > 0);
        let res = da.zip(&filtered).unwrap().collect();
        prop_assert_eq!(res.is_err(), a.iter().any(|x| *x <= 0));

        let indexed: Vec<(i64, u64)> = a.iter().enumerate().map(|(i, &x)| (x, i as u64)).collect();
        prop_assert_eq!(da.zip_with_index().unwrap().collect().unwrap(), indexed);
        // Also after a filter, whose partition sizes are not those of the slicing.
        let after: Vec<(i64, u64)> = a
            .iter()
            .copied()
            .filter(|x| x % 2 != 0)
            .enumerate()
            .map(|(i, x)| (x, i as u64))
            .collect();
        let got = da.filter(|x| x % 2 != 0).zip_with_index().unwrap().collect().unwrap();
        prop_assert_eq!(got, after);

        let c = da.cartesian(&db);
        prop_assert_eq!(c.num_partitions(), na * nb);
        let mut nested = Vec::new();
        for x in &a {
            for y in &b {
                nested.push((*x, *y));
            }
        }
        let got = c.collect().unwrap();
        prop_assert_eq!(sorted(got.clone()), sorted(nested));
        // Partition (i, j) pairs left partition i with right partition j, in order.
        let mut by_parts = Vec::new();
        for li in slices(&a, na) {
            for rj in slices(&b, nb) {
                for x in &li {
                    for y in &rj {
                        by_parts.push((*x, *y));
                    }
                }
            }
        }
        prop_assert_eq!(got, by_parts);
        prop_assert_eq!(c.count().unwrap(), (a.len() * b.len()) as u64);
    }

    /// distinct, coalesce (with and without shuffle), repartition.
    #[test]
    fn distinct_coalesce_repartition(input in nums(), n in parts(), m in parts()) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);

        let set: HashSet<i64> = input.iter().copied().collect();
        let got = d.distinct().collect().unwrap();
        prop_assert_eq!(got.len(), set.len());
        prop_assert_eq!(sorted(got), sorted(set.into_iter().collect()));

        // Without shuffle: neighbouring partitions merged, order kept.
        let c = d.coalesce(m, false);
        prop_assert_eq!(c.num_partitions(), m.min(n));
        prop_assert_eq!(c.collect().unwrap(), input.clone());
        let sl = slices(&input, n);
        let groups: Vec<Vec<i64>> = if m >= n {
            sl.clone()
        } else {
            (0..m).map(|i| sl[i * n / m..(i + 1) * n / m].concat()).collect()
        };
        prop_assert_eq!(c.glom().collect().unwrap(), groups);

        // With shuffle: exactly m partitions, same multiset.
        let cs = d.coalesce(m, true);
        prop_assert_eq!(cs.num_partitions(), m);
        prop_assert_eq!(sorted(cs.collect().unwrap()), sorted(input.clone()));

        let r = d.repartition(m);
        prop_assert_eq!(r.num_partitions(), m);
        let glommed = r.glom().collect().unwrap();
        prop_assert_eq!(glommed.len(), m);
        prop_assert_eq!(sorted(glommed.concat()), sorted(input.clone()));
        prop_assert_eq!(r.count().unwrap(), input.len() as u64);
    }

    /// sample: subsequence, the fractions 0 and 1, determinism, with replacement.
    #[test]
    fn sample(input in nums(), n in parts(), fraction in 0.0f64..=1.0, seed in any::<u64>()) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        let s = d.sample(false, fraction, seed).unwrap();
        let got = s.collect().unwrap();
        prop_assert!(is_subsequence(&got, &input), "{got:?} not a subsequence of {input:?}");
        prop_assert_eq!(s.collect().unwrap(), got.clone());
        prop_assert_eq!(d.sample(false, fraction, seed).unwrap().collect().unwrap(), got);
        prop_assert_eq!(d.sample(false, 0.0, seed).unwrap().collect().unwrap(), Vec::<i64>::new());
        prop_assert_eq!(d.sample(false, 1.0, seed).unwrap().collect().unwrap(), input.clone());
        prop_assert_eq!(d.sample(true, 0.0, seed).unwrap().collect().unwrap(), Vec::<i64>::new());

        // With replacement: records repeat in place, so the indices never decrease.
        let idx = d.zip_with_index().unwrap();
        let with = idx.sample(true, fraction * 2.0, seed).unwrap();
        let got = with.collect().unwrap();
        prop_assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "{got:?}");
        prop_assert!(got.iter().all(|(x, i)| input[*i as usize] == *x));
        prop_assert_eq!(with.collect().unwrap(), got);
        // Without replacement on unique records: strictly increasing indices.
        let got = idx.sample(false, fraction, seed).unwrap().collect().unwrap();
        prop_assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "{got:?}");

        prop_assert!(d.sample(false, 1.5, seed).is_err());
        prop_assert!(d.sample(false, -0.1, seed).is_err());
        prop_assert!(d.sample(true, f64::NAN, seed).is_err());
    }

    /// random_split: the splits partition the (indexed) input exactly.
    #[test]
    fn random_split(
        input in nums(),
        n in parts(),
        weights in vec(prop_oneof![1 => Just(0.0f64), 4 => 0.0f64..5.0], 1..5),
        seed in any::<u64>(),
    ) {
        prop_assume!(weights.iter().sum::<f64>() > 0.0);
        let ctx = ctx();
        let idx = ctx.parallelize(input.clone(), n).zip_with_index().unwrap();
        let splits = idx.random_split(&weights, seed).unwrap();
        prop_assert_eq!(splits.len(), weights.len());
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        for (s, w) in splits.iter().zip(&weights) {
            let got = s.collect().unwrap();
            prop_assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "split out of order: {got:?}");
            if *w == 0.0 {
                prop_assert!(got.is_empty(), "zero weight split got {got:?}");
            }
            for (x, i) in &got {
                prop_assert!(seen.insert(*i), "record {i} in two splits");
                prop_assert_eq!(input[*i as usize], *x);
            }
            prop_assert_eq!(s.collect().unwrap(), got.clone());
            all.extend(got);
        }
        let expected: Vec<(i64, u64)> =
            input.iter().enumerate().map(|(i, &x)| (x, i as u64)).collect();
        prop_assert_eq!(sorted(all.into_iter().map(|(x, i)| (i, x)).collect()),
            expected.into_iter().map(|(x, i)| (i, x)).collect::<Vec<_>>());
        // Same seed, same splits.
        let again = idx.random_split(&weights, seed).unwrap();
        for (s, t) in splits.iter().zip(&again) {
            prop_assert_eq!(s.collect().unwrap(), t.collect().unwrap());
        }
    }

    /// reduce_by_key, fold_by_key, aggregate_by_key, combine_by_key, group_by_key.
    #[test]
    fn aggregations_by_key(input in pairs(), n in parts(), m in parts()) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        let groups = group_oracle(&input);
        let sums: Vec<(u8, i64)> = groups.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();

        let r = d.reduce_by_key(|a, b| a + b);
        prop_assert_eq!(r.num_partitions(), n);
        prop_assert!(r.is_partitioned());
        prop_assert_eq!(sorted(r.collect().unwrap()), sums.clone());

        let hp = HashPartitioner::new(m);
        let r = d.reduce_by_key_with(|a, b| a + b, hp);
        prop_assert_eq!(r.num_partitions(), m);
        prop_assert_eq!(sorted(r.collect().unwrap()), sums.clone());
        assert_placed_by(&r, &hp);
        // Reducing again by the same partitioner needs no shuffle and changes nothing.
        let again = r.reduce_by_key_with(|a, b| a + b, hp).collect().unwrap();
        prop_assert_eq!(sorted(again), sums.clone());

        prop_assert_eq!(sorted(d.fold_by_key(0, |a, b| a + b).collect().unwrap()), sums.clone());
        // A zero that is not neutral but idempotent: the maximum is unaffected by how often
        // it is folded in.
        let maxes: Vec<(u8, i64)> =
            groups.iter().map(|(k, vs)| (*k, *vs.iter().max().unwrap())).collect();
        prop_assert_eq!(sorted(d.fold_by_key(i64::MIN, i64::max).collect().unwrap()), maxes);

        let stats: Vec<(u8, (i64, u64, i64))> = groups
            .iter()
            .map(|(k, vs)| (*k, (vs.iter().sum(), vs.len() as u64, *vs.iter().min().unwrap())))
            .collect();
        let got = d
            .aggregate_by_key(
                (0i64, 0u64, i64::MAX),
                |(s, c, lo), v| (s + v, c + 1, lo.min(v)),
                |a, b| (a.0 + b.0, a.1 + b.1, a.2.min(b.2)),
            )
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), stats);

        let sorted_groups: Vec<(u8, Vec<i64>)> =
            groups.iter().map(|(k, vs)| (*k, sorted(vs.clone()))).collect();
        let got = d
            .combine_by_key(|v| vec![v], |mut c, v| { c.push(v); c }, |mut a, b| { a.extend(b); a })
            .map_values(sorted)
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), sorted_groups.clone());
        let got = d
            .combine_by_key_with(
                |v| vec![v],
                |mut c, v| { c.push(v); c },
                |mut a, b| { a.extend(b); a },
                hp,
            )
            .map_values(sorted)
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), sorted_groups.clone());

        let g = d.group_by_key();
        prop_assert_eq!(g.num_partitions(), n);
        let got = g.collect().unwrap();
        let as_sets: Vec<(u8, Vec<i64>)> =
            got.iter().map(|(k, vs)| (*k, sorted(vs.clone()))).collect();
        prop_assert_eq!(sorted(as_sets), sorted_groups.clone());
        // Documented: value order within a group follows the input's partition order.
        let expected: Vec<(u8, Vec<i64>)> = groups.clone().into_iter().collect();
        prop_assert_eq!(sorted(got), expected.clone());

        let g = d.group_by_key_with(hp);
        prop_assert_eq!(g.num_partitions(), m);
        assert_placed_by(&g, &hp);
        prop_assert_eq!(sorted(g.collect().unwrap()), expected);
    }

    /// map_values, flat_map_values, keys, values, count_by_key, count_by_value, lookup.
    #[test]
    fn pair_narrow_ops(input in pairs(), n in parts(), m in parts(), probe in any::<u8>()) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);

        let mv: Vec<(u8, i64)> = input.iter().map(|&(k, v)| (k, v * 2 + 1)).collect();
        prop_assert_eq!(d.map_values(|v| v * 2 + 1).collect().unwrap(), mv);
        let fmv: Vec<(u8, i64)> = input
            .iter()
            .flat_map(|&(k, v)| (0..v.rem_euclid(3)).map(move |i| (k, v + i)))
            .collect();
        let got = d
            .flat_map_values(|v| (0..v.rem_euclid(3)).map(move |i| v + i))
            .collect()
            .unwrap();
        prop_assert_eq!(got, fmv);
        let keys: Vec<u8> = input.iter().map(|p| p.0).collect();
        prop_assert_eq!(d.keys().collect().unwrap(), keys);
        let vals: Vec<i64> = input.iter().map(|p| p.1).collect();
        prop_assert_eq!(d.values().collect().unwrap(), vals);

        // Partitioning is kept by map_values, flat_map_values and filter, not by map.
        let r = d.reduce_by_key(|a, b| a + b);
        prop_assert!(r.map_values(|v| v + 1).is_partitioned());
        prop_assert!(r.flat_map_values(|v| [v]).is_partitioned());
        prop_assert!(r.filter(|p| p.1 > 0).is_partitioned());
        prop_assert!(!r.map(|p| p).is_partitioned());
        prop_assert!(!d.is_partitioned());

        let mut by_key: HashMap<u8, u64> = HashMap::new();
        let mut by_value: HashMap<(u8, i64), u64> = HashMap::new();
        for p in &input {
            *by_key.entry(p.0).or_default() += 1;
            *by_value.entry(*p).or_default() += 1;
        }
        prop_assert_eq!(d.count_by_key().unwrap(), by_key);
        prop_assert_eq!(d.count_by_value().unwrap(), by_value);

        // lookup vs filter: in order without a partitioner, as a multiset with one.
        let hp = HashPartitioner::new(m);
        let p = d.partition_by(hp);
        let mut probes: Vec<u8> = input.iter().map(|p| p.0).take(3).collect();
        probes.push(probe);
        for key in probes {
            let expected: Vec<i64> = input.iter().filter(|p| p.0 == key).map(|p| p.1).collect();
            prop_assert_eq!(d.lookup(&key).unwrap(), expected.clone());
            prop_assert_eq!(sorted(p.lookup(&key).unwrap()), sorted(expected.clone()));
            let f = d.filter(move |p| p.0 == key).values().collect().unwrap();
            prop_assert_eq!(f, expected);
        }
    }

    /// join, left/right/full outer joins and cogroup against nested loops.
    #[test]
    fn joins(a in pairs(), na in parts(), b in pairs(), nb in parts()) {
        let ctx = ctx();
        let da = ctx.parallelize(a.clone(), na);
        let db = ctx.parallelize(b.clone(), nb);

        let j = da.join(&db);
        prop_assert_eq!(j.num_partitions(), na.max(nb));
        prop_assert_eq!(sorted(j.collect().unwrap()), join_oracle(&a, &b));
        let got = da.left_outer_join(&db).collect().unwrap();
        prop_assert_eq!(sorted(got), left_outer_oracle(&a, &b));
        let right: Vec<(u8, (Option<i64>, i64))> = left_outer_oracle(&b, &a)
            .into_iter()
            .map(|(k, (w, v))| (k, (v, w)))
            .collect();
        prop_assert_eq!(sorted(da.right_outer_join(&db).collect().unwrap()), sorted(right));
        let got = da.full_outer_join(&db).collect().unwrap();
        prop_assert_eq!(sorted(got), full_outer_oracle(&a, &b));

        let ga = group_oracle(&a);
        let gb = group_oracle(&b);
        let mut cg: BTreeMap<u8, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
        for k in ga.keys().chain(gb.keys()) {
            let vs = sorted(ga.get(k).cloned().unwrap_or_default());
            let ws = sorted(gb.get(k).cloned().unwrap_or_default());
            cg.insert(*k, (vs, ws));
        }
        let got = da
            .cogroup(&db)
            .map_values(|(vs, ws)| (sorted(vs), sorted(ws)))
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), cg.into_iter().collect::<Vec<_>>());

        // Self-join.
        prop_assert_eq!(sorted(da.join(&da).collect().unwrap()), join_oracle(&a, &a));
    }

    /// partition_by with a HashPartitioner, then joins of co-partitioned datasets.
    #[test]
    fn partition_by_and_copartitioned_join(
        a in pairs(), na in parts(), b in pairs(), nb in parts(), m in parts(),
    ) {
        let ctx = ctx();
        let hp = HashPartitioner::new(m);
        let pa = ctx.parallelize(a.clone(), na).partition_by(hp).cache();
        let pb = ctx.parallelize(b.clone(), nb).partition_by(hp).cache();
        prop_assert_eq!(pa.num_partitions(), m);
        prop_assert!(pa.is_partitioned());
        prop_assert_eq!(sorted(pa.collect().unwrap()), sorted(a.clone()));
        assert_placed_by(&pa, &hp);
        prop_assert_eq!(pa.partition_by(hp).id(), pa.id());

        let j = pa.join(&pb);
        prop_assert_eq!(j.num_partitions(), m);
        prop_assert!(j.is_partitioned());
        // Co-partitioned: the only shuffles in the lineage are the two partition_by's.
        let lineage = j.to_debug_string();
        prop_assert_eq!(lineage.matches("+-").count(), 2, "{}", lineage);
        prop_assert_eq!(sorted(j.collect().unwrap()), join_oracle(&a, &b));
        assert_placed_by(&j, &hp);
        let got = pa.left_outer_join(&pb).collect().unwrap();
        prop_assert_eq!(sorted(got), left_outer_oracle(&a, &b));
        let got = pa.full_outer_join(&pb).collect().unwrap();
        prop_assert_eq!(sorted(got), full_outer_oracle(&a, &b));

        // One side partitioned, the other not; and join_with an explicit partitioner.
        let db = ctx.parallelize(b.clone(), nb);
        prop_assert_eq!(sorted(pa.join(&db).collect().unwrap()), join_oracle(&a, &b));
        let da = ctx.parallelize(a.clone(), na);
        let jw = da.join_with(&db, hp);
        prop_assert_eq!(jw.num_partitions(), m);
        prop_assert_eq!(sorted(jw.collect().unwrap()), join_oracle(&a, &b));
        // Partitioning by another count reshuffles into that count.
        let other = HashPartitioner::new(m + 1);
        let re = pa.partition_by(other);
        prop_assert_eq!(re.num_partitions(), m + 1);
        assert_placed_by(&re, &other);
        prop_assert_eq!(sorted(re.collect().unwrap()), sorted(a.clone()));
        // Sides partitioned differently: the partitioner with more partitions wins.
        let jm = pa.join(&ctx.parallelize(b.clone(), nb).partition_by(other));
        prop_assert_eq!(jm.num_partitions(), m + 1);
        prop_assert_eq!(sorted(jm.collect().unwrap()), join_oracle(&a, &b));
        let got = pa
            .cogroup(&pb)
            .map_values(|(vs, ws)| (sorted(vs), sorted(ws)))
            .collect()
            .unwrap();
        let (ga, gb) = (group_oracle(&a), group_oracle(&b));
        let keys: std::collections::BTreeSet<u8> = ga.keys().chain(gb.keys()).copied().collect();
        let expected: Vec<(u8, (Vec<i64>, Vec<i64>))> = keys
            .into_iter()
            .map(|k| {
                let vs = sorted(ga.get(&k).cloned().unwrap_or_default());
                let ws = sorted(gb.get(&k).cloned().unwrap_or_default());
                (k, (vs, ws))
            })
            .collect();
        prop_assert_eq!(sorted(got), expected);
    }

    /// sort_by_key, ascending and descending, into the default or a given partition count.
    #[test]
    fn sort_by_key(
        input in pairs(), n in parts(), ascending in any::<bool>(),
        target in prop_oneof![Just(None), (1usize..=12).prop_map(Some)],
    ) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        let s = d.sort_by_key(ascending, target).unwrap();
        prop_assert!(s.num_partitions() >= 1);
        prop_assert!(s.num_partitions() <= target.unwrap_or(n));
        let got = s.collect().unwrap();
        let keys: Vec<u8> = got.iter().map(|p| p.0).collect();
        let mut expected_keys: Vec<u8> = input.iter().map(|p| p.0).collect();
        expected_keys.sort();
        if !ascending {
            expected_keys.reverse();
        }
        prop_assert_eq!(keys, expected_keys);
        prop_assert_eq!(sorted(got.clone()), sorted(input.clone()));
        prop_assert_eq!(s.glom().collect().unwrap().concat(), got);
        prop_assert_eq!(s.count().unwrap(), input.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// max, min and their key forms, top_by_key, take_ordered_by_key, sort_by, histogram,
    /// zip_with_unique_id, to_local_iterator and take_sample.
    #[test]
    fn ordering_sampling_and_histogram_actions(
        input in nums(),
        n in parts(),
        k in 0usize..90,
        seed in any::<u64>(),
    ) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        if input.is_empty() {
            prop_assert!(is_empty_err(&d.max()) && is_empty_err(&d.min()));
        } else {
            prop_assert_eq!(d.max().unwrap(), *input.iter().max().unwrap());
            prop_assert_eq!(d.min().unwrap(), *input.iter().min().unwrap());
            // The first record of the largest or smallest key, as Python's max and min.
            let key = |x: &i64| x.rem_euclid(7);
            let first_max = input.iter().copied().fold(None, |b: Option<i64>, x| match b {
                Some(b) if key(&x) <= key(&b) => Some(b),
                _ => Some(x),
            });
            let first_min = input.iter().copied().fold(None, |b: Option<i64>, x| match b {
                Some(b) if key(&x) >= key(&b) => Some(b),
                _ => Some(x),
            });
            prop_assert_eq!(d.max_by_key(key).unwrap(), first_max.unwrap());
            prop_assert_eq!(d.min_by_key(key).unwrap(), first_min.unwrap());
        }
        // A stable sort by key keeps equal keys in input order, as Python's heapq does.
        let key = |x: &i64| x.rem_euclid(5);
        let mut by_key = input.clone();
        by_key.sort_by_key(key);
        prop_assert_eq!(d.take_ordered_by_key(k, key).unwrap(), by_key.iter().copied().take(k).collect::<Vec<_>>());
        let mut by_key_desc = input.clone();
        by_key_desc.sort_by_key(|x| std::cmp::Reverse(key(x)));
        prop_assert_eq!(d.top_by_key(k, key).unwrap(), by_key_desc.iter().copied().take(k).collect::<Vec<_>>());
        let sorted_desc = d.sort_by(|x| -x, true, Some(3)).unwrap().collect().unwrap();
        let mut want = input.clone();
        want.sort_by_key(|x| std::cmp::Reverse(*x));
        prop_assert_eq!(sorted_desc, want);
        // Ids: partition k of n numbers its records k, n + k, 2n + k, ...
        let ids = d.zip_with_unique_id().collect().unwrap();
        let mut expected = Vec::new();
        for (p, part) in slices(&input, n).into_iter().enumerate() {
            for (i, x) in part.into_iter().enumerate() {
                expected.push((x, (i * n + p) as u64));
            }
        }
        prop_assert_eq!(ids, expected);
        let local: Vec<i64> = d.to_local_iterator().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(&local, &input);
        // Floats through a comparison: as the integers they hold.
        let floats = d.map(|x| x as f64 / 4.0);
        let quarters: Vec<f64> = input.iter().map(|&x| x as f64 / 4.0).collect();
        if !input.is_empty() {
            prop_assert_eq!(floats.max_by(f64::total_cmp).unwrap(), *input.iter().max().unwrap() as f64 / 4.0);
            prop_assert_eq!(floats.min_by(f64::total_cmp).unwrap(), *input.iter().min().unwrap() as f64 / 4.0);
        }
        let mut asc = quarters.clone();
        asc.sort_by(f64::total_cmp);
        prop_assert_eq!(floats.take_ordered_by(k, f64::total_cmp).unwrap(), asc.iter().copied().take(k).collect::<Vec<_>>());
        prop_assert_eq!(floats.top_by(k, f64::total_cmp).unwrap(), asc.iter().rev().copied().take(k).collect::<Vec<_>>());
        // Histograms: each value in the one bucket whose edges hold it, the last closed.
        let floats = d.map(|x| x as f64);
        let edges = [-15.0, -3.0, 0.0, 2.5, 19.0];
        let mut want = vec![0u64; 4];
        for &x in &input {
            let x = x as f64;
            if (-15.0..=19.0).contains(&x) {
                let i = edges.iter().rposition(|&e| e <= x).unwrap().min(3);
                want[i] += 1;
            }
        }
        prop_assert_eq!(floats.histogram_with_buckets(&edges).unwrap(), want);
        if !input.is_empty() {
            let (edges, counts) = floats.histogram(3).unwrap();
            prop_assert_eq!(counts.iter().sum::<u64>(), input.len() as u64);
            prop_assert_eq!(edges.first().copied(), input.iter().min().map(|&x| x as f64));
            prop_assert_eq!(edges.last().copied(), input.iter().max().map(|&x| x as f64));
        }
        // take_sample: the right size, records of the input, no record twice without
        // replacement, and the same sample for the same seed.
        let without = d.take_sample(false, k, seed).unwrap();
        prop_assert_eq!(without.len(), k.min(input.len()));
        let mut pool = input.clone();
        for x in &without {
            let at = pool.iter().position(|y| y == x);
            prop_assert!(at.is_some(), "{} drawn too often", x);
            pool.swap_remove(at.unwrap());
        }
        prop_assert_eq!(&d.take_sample(false, k, seed).unwrap(), &without);
        let with = d.take_sample(true, k, seed).unwrap();
        prop_assert_eq!(with.len(), if input.is_empty() { 0 } else { k });
        prop_assert!(with.iter().all(|x| input.contains(x)));
    }

    /// sample_by_key_exact keeps exactly ceil(fraction * count) pairs of each key, each an
    /// input pair (without replacement, each at most once; with it, fractions go up to
    /// 3), and the same ones for the same seed.
    #[test]
    fn stratified_exact_samples(
        input in pairs(),
        n in parts(),
        seed in any::<u64>(),
        percents in vec(0u32..=300, 256),
    ) {
        let ctx = ctx();
        let d = ctx.parallelize(input.clone(), n);
        let groups = group_oracle(&input);
        for with_replacement in [false, true] {
            let cap = if with_replacement { 3.0 } else { 1.0 };
            let fractions: HashMap<u8, f64> = (0..=255u8)
                .map(|k| (k, (f64::from(percents[k as usize]) / 100.0).min(cap)))
                .collect();
            let sample = |seed| {
                d.sample_by_key_exact(with_replacement, &fractions, seed).unwrap().collect().unwrap()
            };
            let s = sample(seed);
            let mut counts: BTreeMap<u8, u64> = BTreeMap::new();
            for (k, _) in &s {
                *counts.entry(*k).or_default() += 1;
            }
            for (k, vs) in &groups {
                let want = (fractions[k] * vs.len() as f64).ceil() as u64;
                prop_assert_eq!(counts.get(k).copied().unwrap_or(0), want, "key {}", k);
            }
            if with_replacement {
                prop_assert!(s.iter().all(|p| input.contains(p)));
            } else {
                let mut pool = input.clone();
                for p in &s {
                    let at = pool.iter().position(|q| q == p);
                    prop_assert!(at.is_some());
                    pool.swap_remove(at.unwrap());
                }
            }
            prop_assert_eq!(sample(seed), s);
        }
    }

    /// intersection, subtract, subtract_by_key, group_by, cogroup3 and cogroup4,
    /// collect_as_map and reduce_by_key_locally.
    #[test]
    fn set_and_grouping_operations(a in pairs(), na in parts(), b in pairs(), nb in parts()) {
        let ctx = ctx();
        let (da, db) = (ctx.parallelize(a.clone(), na), ctx.parallelize(b.clone(), nb));
        let set_b: HashSet<(u8, i64)> = b.iter().copied().collect();
        let keys_b: HashSet<u8> = b.iter().map(|p| p.0).collect();
        let both: BTreeSet<(u8, i64)> = a.iter().copied().filter(|p| set_b.contains(p)).collect();
        prop_assert_eq!(sorted(da.intersection(&db).collect().unwrap()), both.into_iter().collect::<Vec<_>>());
        let minus: Vec<(u8, i64)> = a.iter().copied().filter(|p| !set_b.contains(p)).collect();
        prop_assert_eq!(sorted(da.subtract(&db).collect().unwrap()), sorted(minus));
        let minus_keys: Vec<(u8, i64)> = a.iter().copied().filter(|p| !keys_b.contains(&p.0)).collect();
        let sub = da.subtract_by_key(&db);
        prop_assert_eq!(sorted(sub.collect().unwrap()), sorted(minus_keys));
        prop_assert_eq!(sub.num_partitions(), na);
        // group_by: each group's records in input order within a partition.
        let groups: BTreeMap<i64, Vec<(u8, i64)>> = da
            .group_by(|p| p.1.rem_euclid(3))
            .collect()
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, sorted(v)))
            .collect();
        let mut want: BTreeMap<i64, Vec<(u8, i64)>> = BTreeMap::new();
        for p in &a {
            want.entry(p.1.rem_euclid(3)).or_default().push(*p);
        }
        let want: BTreeMap<i64, Vec<(u8, i64)>> = want.into_iter().map(|(k, v)| (k, sorted(v))).collect();
        prop_assert_eq!(groups, want);
        // cogroup4 of a, b, a and b: every key of either, with each side's values.
        let g4: BTreeMap<u8, (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>)> = da
            .cogroup4(&db, &da, &db)
            .collect()
            .unwrap()
            .into_iter()
            .map(|(k, (w, x, y, z))| (k, (sorted(w), sorted(x), sorted(y), sorted(z))))
            .collect();
        let (ga, gb) = (group_oracle(&a), group_oracle(&b));
        let keys: BTreeSet<u8> = ga.keys().chain(gb.keys()).copied().collect();
        let side = |g: &BTreeMap<u8, Vec<i64>>, k: &u8| sorted(g.get(k).cloned().unwrap_or_default());
        let want4: BTreeMap<u8, (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>)> = keys
            .iter()
            .map(|k| (*k, (side(&ga, k), side(&gb, k), side(&ga, k), side(&gb, k))))
            .collect();
        prop_assert_eq!(g4, want4);
        let g3 = da.cogroup3(&db, &da).count().unwrap();
        prop_assert_eq!(g3, keys.len() as u64);
        // The last value of a key wins in collect_as_map, as in a HashMap built in order.
        let want_map: HashMap<u8, i64> = a.iter().copied().collect();
        prop_assert_eq!(da.collect_as_map().unwrap(), want_map);
        let sums: HashMap<u8, i64> = ga.iter().map(|(k, v)| (*k, v.iter().sum())).collect();
        prop_assert_eq!(da.reduce_by_key_locally(|x, y| x + y).unwrap(), sums);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Shuffles and caching under budgets so small that every shuffle spills and cached
    /// partitions are evicted: results must not change.
    #[test]
    fn shuffles_under_tiny_budgets(a in pairs(), na in parts(), b in pairs(), nb in parts()) {
        let ctx = Context::builder()
            .threads(2)
            .shuffle_memory(256)
            .memory(256)
            .build()
            .expect("building a test context");
        let da = ctx.parallelize(a.clone(), na).cache();
        let db = ctx.parallelize(b.clone(), nb);
        prop_assert_eq!(da.collect().unwrap(), a.clone());
        prop_assert_eq!(da.collect().unwrap(), a.clone());

        let groups = group_oracle(&a);
        let sums: Vec<(u8, i64)> = groups.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        prop_assert_eq!(sorted(da.reduce_by_key(|x, y| x + y).collect().unwrap()), sums);
        let expected: Vec<(u8, Vec<i64>)> = groups.into_iter().collect();
        prop_assert_eq!(sorted(da.group_by_key().collect().unwrap()), expected);
        prop_assert_eq!(sorted(da.join(&db).collect().unwrap()), join_oracle(&a, &b));
        let got = da.full_outer_join(&db).collect().unwrap();
        prop_assert_eq!(sorted(got), full_outer_oracle(&a, &b));

        let s = da.sort_by_key(true, Some(3)).unwrap().collect().unwrap();
        prop_assert!(s.windows(2).all(|w| w[0].0 <= w[1].0));
        prop_assert_eq!(sorted(s), sorted(a.clone()));

        let set: HashSet<(u8, i64)> = a.iter().copied().collect();
        let expected: Vec<(u8, i64)> = sorted(set.into_iter().collect());
        prop_assert_eq!(sorted(da.distinct().collect().unwrap()), expected);
        prop_assert_eq!(sorted(da.repartition(5).collect().unwrap()), sorted(a.clone()));
        // The budgets are small enough that the shuffles did spill.
        if a.len() >= 40 {
            prop_assert!(ctx.metrics().totals.bytes_spilled > 0, "nothing spilled");
        }
    }
}

// ----- fixed edge cases -----

#[test]
fn empty_dataset_actions() {
    let ctx = ctx();
    for n in [1, 3, 12] {
        let d = ctx.parallelize(Vec::<i64>::new(), n);
        assert_eq!(d.num_partitions(), n);
        assert_eq!(d.count().unwrap(), 0);
        assert!(is_empty_err(&d.reduce(|a, b| a + b)));
        assert!(is_empty_err(&d.first()));
        for depth in 1..=4 {
            assert!(is_empty_err(&d.tree_reduce(|a, b| a + b, depth)));
            assert_eq!(
                d.tree_aggregate(0, |a, x| a + x, |a, b| a + b, depth)
                    .unwrap(),
                0
            );
        }
        assert_eq!(d.fold(0, |a, b| a + b).unwrap(), 0);
        assert_eq!(d.sum().unwrap(), 0);
        assert_eq!(d.take(3).unwrap(), Vec::<i64>::new());
        assert_eq!(d.take_ordered(3).unwrap(), Vec::<i64>::new());
        assert_eq!(d.top(3).unwrap(), Vec::<i64>::new());
        assert_eq!(d.glom().collect().unwrap(), vec![Vec::<i64>::new(); n]);
        assert!(d.count_by_value().unwrap().is_empty());
        assert_eq!(d.distinct().count().unwrap(), 0);
        assert_eq!(d.repartition(5).glom().collect().unwrap().len(), 5);
        let p = d.map(|x| (x as u8, x));
        assert!(p.group_by_key().collect().unwrap().is_empty());
        assert!(p
            .sort_by_key(true, Some(4))
            .unwrap()
            .collect()
            .unwrap()
            .is_empty());
        assert!(p.join(&p).collect().unwrap().is_empty());
        assert!(p.count_by_key().unwrap().is_empty());
        assert!(p.lookup(&0).unwrap().is_empty());
    }
}

#[test]
fn invalid_arguments() {
    let ctx = ctx();
    let d = ctx.parallelize((0..10i64).collect(), 3);
    assert!(d.random_split(&[], 1).is_err());
    assert!(d.random_split(&[0.0, 0.0], 1).is_err());
    assert!(d.random_split(&[1.0, -1.0], 1).is_err());
    assert!(d.random_split(&[f64::NAN], 1).is_err());
    assert!(d.sample(false, 1.01, 1).is_err());
    assert!(d.sample(true, -1.0, 1).is_err());
    assert!(d.sample(true, 3.0, 1).is_ok());
    assert!(d.zip(&ctx.parallelize((0..10i64).collect(), 4)).is_err());
}

#[test]
fn more_partitions_than_records() {
    let ctx = ctx();
    let input = vec![5i64, -2, 9];
    let d = ctx.parallelize(input.clone(), 12);
    assert_eq!(d.glom().collect().unwrap(), slices(&input, 12));
    assert_eq!(d.collect().unwrap(), input);
    assert_eq!(d.take(2).unwrap(), vec![5, -2]);
    assert_eq!(d.first().unwrap(), 5);
    assert_eq!(
        d.zip_with_index().unwrap().collect().unwrap(),
        vec![(5, 0), (-2, 1), (9, 2)]
    );
    assert_eq!(d.tree_reduce(|a, b| a + b, 3).unwrap(), 12);
    let pairs = d.map(|x| (x.rem_euclid(2) as u8, x));
    assert_eq!(
        sorted(pairs.reduce_by_key(|a, b| a + b).collect().unwrap()),
        vec![(0, -2), (1, 14)]
    );
}

#[test]
fn flat_map_with_outputs_larger_than_a_batch() {
    // One record expands to more records than a batch holds, the next to none: the
    // expansion must continue across batches in order, and the later records follow it.
    let ctx = ctx();
    let sizes = vec![3u64, 10_000, 0, 5_000, 1];
    let expected: Vec<(u64, u64)> = sizes
        .iter()
        .flat_map(|&n| (0..n).map(move |i| (n, i)))
        .collect();
    let d = ctx.parallelize(sizes, 2);
    let got = d
        .flat_map(|n| (0..n).map(move |i| (n, i)))
        .collect()
        .unwrap();
    assert_eq!(got, expected);
    let pairs = d.map(|n| (n % 2, n));
    let got = pairs
        .flat_map_values(|n| vec![n; n as usize])
        .count()
        .unwrap();
    assert_eq!(got, 3 + 10_000 + 5_000 + 1);
}

#[test]
fn flat_map_reports_an_upstream_error_after_its_records() {
    let ctx = ctx();
    let d = ctx
        .parallelize((0..10_000u64).collect(), 1)
        .try_map(|x| {
            if x == 7_000 {
                Err(Error::task_failed("bad record 7000"))
            } else {
                Ok(x)
            }
        })
        .flat_map(|x| [x, x + 1]);
    let err = d.collect().unwrap_err();
    assert!(err.to_string().contains("bad record 7000"), "{err}");
}

//! The examples of PySpark's RDD documentation, with their printed outputs, reproduced
//! (apache/spark `python/pyspark/core/rdd.py` at 04be62fa5099a39dedf7267ffc06dc2103e13ea0;
//! PySpark's doctests run on `local[4]`, so `parallelize` without a count makes 4
//! partitions). Python's dynamic keys become key functions here: `key=str` is
//! `|x| x.to_string()` on the integers the floats hold.

use std::collections::BTreeMap;

use firesteel_core::{Context, ModPartitioner};

fn sc() -> Context {
    Context::builder().threads(2).build().unwrap()
}

#[test]
fn max_min_top_and_take_ordered() {
    let sc = sc();
    // rdd = sc.parallelize([1.0, 5.0, 43.0, 10.0]); max() 43.0; max(key=str) 5.0
    let rdd = sc.parallelize(vec![1.0f64, 5.0, 43.0, 10.0], 4);
    let as_int = rdd.map(|x| x as i64);
    assert_eq!(as_int.max().unwrap(), 43);
    assert_eq!(rdd.max_by_key(|x| format!("{x:.1}")).unwrap(), 5.0);
    // rdd = sc.parallelize([2.0, 5.0, 43.0, 10.0]); min() 2.0; min(key=str) 10.0
    let rdd = sc.parallelize(vec![2.0f64, 5.0, 43.0, 10.0], 4);
    assert_eq!(rdd.map(|x| x as i64).min().unwrap(), 2);
    assert_eq!(rdd.min_by_key(|x| format!("{x:.1}")).unwrap(), 10.0);
    // top(1) [12]; parallelize([2, 3, 4, 5, 6], 2).top(2) [6, 5]; top(3, key=str) [4, 3, 2]
    let rdd = sc.parallelize(vec![10, 4, 2, 12, 3], 4);
    assert_eq!(rdd.top(1).unwrap(), vec![12]);
    assert_eq!(
        sc.parallelize(vec![2, 3, 4, 5, 6], 2).top(2).unwrap(),
        vec![6, 5]
    );
    assert_eq!(rdd.top_by_key(3, |x| x.to_string()).unwrap(), vec![4, 3, 2]);
    // takeOrdered(6) [1..6]; parallelize(.., 2).takeOrdered(6, key=lambda x: -x)
    let data = vec![10, 1, 2, 9, 3, 4, 5, 6, 7];
    assert_eq!(
        sc.parallelize(data.clone(), 4).take_ordered(6).unwrap(),
        vec![1, 2, 3, 4, 5, 6]
    );
    assert_eq!(
        sc.parallelize(data, 2)
            .take_ordered_by_key(6, |x| -x)
            .unwrap(),
        vec![10, 9, 7, 6, 5, 4]
    );
    // sc.emptyRDD().takeOrdered(3) []
    assert!(sc.empty::<i32>().take_ordered(3).unwrap().is_empty());
}

#[test]
fn histogram() {
    let sc = sc();
    // rdd = sc.parallelize(range(51))
    let rdd = sc.parallelize((0..51).map(f64::from).collect(), 4);
    // histogram(2) ([0, 25, 50], [25, 26])
    assert_eq!(
        rdd.histogram(2).unwrap(),
        (vec![0.0, 25.0, 50.0], vec![25, 26])
    );
    // histogram([0, 5, 25, 50]) [5, 20, 26]
    assert_eq!(
        rdd.histogram_with_buckets(&[0.0, 5.0, 25.0, 50.0]).unwrap(),
        vec![5, 20, 26]
    );
    // histogram([0, 15, 30, 45, 60]) [15, 15, 15, 6]
    assert_eq!(
        rdd.histogram_with_buckets(&[0.0, 15.0, 30.0, 45.0, 60.0])
            .unwrap(),
        vec![15, 15, 15, 6]
    );
    // The docstring's rule: buckets [1, 10, 20, 50] on the input 1 and 50 give 1, 0, 1.
    let ends = sc.parallelize(vec![1.0, 50.0], 2);
    assert_eq!(
        ends.histogram_with_buckets(&[1.0, 10.0, 20.0, 50.0])
            .unwrap(),
        vec![1, 0, 1]
    );
    // Spark refuses infinities and NaN when it must find the range, and bad edges.
    let inf = sc.parallelize(vec![1.0, f64::INFINITY], 2);
    assert!(inf.histogram(2).is_err());
    assert!(rdd.histogram(0).is_err());
    assert!(rdd.histogram_with_buckets(&[1.0]).is_err());
    assert!(rdd.histogram_with_buckets(&[2.0, 1.0]).is_err());
    assert!(rdd.histogram_with_buckets(&[1.0, 1.0, 2.0]).is_err());
    // Values that do not vary: one bucket [v, v] holding all of them (Spark's Scala).
    let same = sc.parallelize(vec![3.0; 5], 2);
    assert_eq!(same.histogram(4).unwrap(), (vec![3.0, 3.0], vec![5]));
}

#[test]
fn maps_sets_and_groups() {
    let sc = sc();
    // collectAsMap: m[1] 2, m[3] 4
    let m = sc
        .parallelize(vec![(1, 2), (3, 4)], 4)
        .collect_as_map()
        .unwrap();
    assert_eq!((m[&1], m[&3]), (2, 4));
    // reduceByKeyLocally(add) [('a', 2), ('b', 1)]
    let rdd = sc.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 4);
    let local: BTreeMap<_, _> = rdd
        .reduce_by_key_locally(|a, b| a + b)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(local, BTreeMap::from([('a', 2), ('b', 1)]));
    // intersection [1, 2, 3]
    let rdd1 = sc.parallelize(vec![1, 10, 2, 3, 4, 5], 4);
    let rdd2 = sc.parallelize(vec![1, 6, 2, 3, 7, 8], 4);
    let mut both = rdd1.intersection(&rdd2).collect().unwrap();
    both.sort();
    assert_eq!(both, vec![1, 2, 3]);
    // subtract [('a', 1), ('b', 4), ('b', 5)] (None becomes 0)
    let rdd1 = sc.parallelize(vec![('a', 1), ('b', 4), ('b', 5), ('a', 3)], 4);
    let rdd2 = sc.parallelize(vec![('a', 3), ('c', 0)], 4);
    let mut left = rdd1.subtract(&rdd2).collect().unwrap();
    left.sort();
    assert_eq!(left, vec![('a', 1), ('b', 4), ('b', 5)]);
    // subtractByKey [('b', 4), ('b', 5)]
    let rdd1 = sc.parallelize(vec![('a', 1), ('b', 4), ('b', 5), ('a', 2)], 4);
    let mut left = rdd1.subtract_by_key(&rdd2).collect().unwrap();
    left.sort();
    assert_eq!(left, vec![('b', 4), ('b', 5)]);
    // groupBy(lambda x: x % 2) [(0, [2, 8]), (1, [1, 1, 3, 5])]
    let rdd = sc.parallelize(vec![1, 1, 2, 3, 5, 8], 4);
    let mut groups: Vec<(i32, Vec<i32>)> = rdd
        .group_by(|x| x % 2)
        .collect()
        .unwrap()
        .into_iter()
        .map(|(k, mut v)| {
            v.sort();
            (k, v)
        })
        .collect();
    groups.sort();
    assert_eq!(groups, vec![(0, vec![2, 8]), (1, vec![1, 1, 3, 5])]);
    // groupWith: [('a', ([5], [1], [2], [])), ('b', ([6], [4], [], [42]))]
    let w = sc.parallelize(vec![('a', 5), ('b', 6)], 4);
    let x = sc.parallelize(vec![('a', 1), ('b', 4)], 4);
    let y = sc.parallelize(vec![('a', 2)], 4);
    let z = sc.parallelize(vec![('b', 42)], 4);
    let mut g = w.cogroup4(&x, &y, &z).collect().unwrap();
    g.sort();
    assert_eq!(
        g,
        vec![
            ('a', (vec![5], vec![1], vec![2], vec![])),
            ('b', (vec![6], vec![4], vec![], vec![42])),
        ]
    );
}

#[test]
fn sorting_ids_and_partition_layouts() {
    let sc = sc();
    // sortBy(lambda x: x[0]) and sortBy(lambda x: x[1])
    let tmp = vec![('a', 1), ('b', 2), ('1', 3), ('d', 4), ('2', 5)];
    let rdd = sc.parallelize(tmp, 4);
    assert_eq!(
        rdd.sort_by(|x| x.0, true, None).unwrap().collect().unwrap(),
        vec![('1', 3), ('2', 5), ('a', 1), ('b', 2), ('d', 4)]
    );
    assert_eq!(
        rdd.sort_by(|x| x.1, true, None).unwrap().collect().unwrap(),
        vec![('a', 1), ('b', 2), ('1', 3), ('d', 4), ('2', 5)]
    );
    // parallelize(['a', 'b', 'c', 'd', 'e'], 3).zipWithUniqueId()
    let ids = sc
        .parallelize(vec!['a', 'b', 'c', 'd', 'e'], 3)
        .zip_with_unique_id()
        .collect()
        .unwrap();
    assert_eq!(ids, vec![('a', 0), ('b', 1), ('c', 4), ('d', 2), ('e', 5)]);
    // parallelize(['a', 'b', 'c', 'd'], 3).zipWithIndex()
    let ids = sc
        .parallelize(vec!['a', 'b', 'c', 'd'], 3)
        .zip_with_index()
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(ids, vec![('a', 0), ('b', 1), ('c', 2), ('d', 3)]);
    // repartitionAndSortWithinPartitions(2, lambda x: x % 2, True).glom()
    let rdd = sc.parallelize(vec![(0u64, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)], 4);
    let parts = rdd
        .repartition_and_sort_within_partitions(ModPartitioner::new(2), true)
        .glom()
        .collect()
        .unwrap();
    assert_eq!(
        parts,
        vec![vec![(0, 5), (0, 8), (2, 6)], vec![(1, 3), (3, 8), (3, 8)]]
    );
    // toLocalIterator: [0, 1, ..., 9]
    let all: Vec<i64> = sc
        .parallelize((0..10).collect(), 4)
        .to_local_iterator()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
}

#[test]
fn take_sample_sizes() {
    let sc = sc();
    // rdd = sc.parallelize(range(0, 10)): takeSample(True, 20, 1) 20 records,
    // takeSample(False, 5, 2) 5, takeSample(False, 15, 3) 10.
    let rdd = sc.parallelize((0..10).collect::<Vec<i64>>(), 4);
    assert_eq!(rdd.take_sample(true, 20, 1).unwrap().len(), 20);
    assert_eq!(rdd.take_sample(false, 5, 2).unwrap().len(), 5);
    assert_eq!(rdd.take_sample(false, 15, 3).unwrap().len(), 10);
    // sc.range(0, 10).takeSample(False, sys.maxsize): "Sample size cannot be greater than"
    let err = rdd
        .take_sample(false, usize::MAX, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be greater than"), "{err}");
}

#[test]
fn an_accumulators_initial_value_counts_once() {
    // PySpark's accumulator example: sc.accumulator(9), += 1 on the driver, then += 1
    // for each of 5 records in a foreach: 15, whatever the partition count.
    let sc = sc();
    for partitions in [1, 4, 5, 8] {
        let a = sc.accumulator(Some("a"), 9u64, 0, |acc, x| *acc += x);
        a.add(1);
        let add = a.clone();
        sc.parallelize(vec![1, 2, 3, 4, 5], partitions)
            .foreach(move |_| add.add(1))
            .unwrap();
        assert_eq!(a.value(), 15, "{partitions} partitions");
        assert!(!a.is_zero());
        a.reset();
        assert!(a.is_zero());
    }
}

#[test]
fn count_approx_distinct() {
    let sc = sc();
    // n = sc.parallelize(range(1000)).map(str).countApproxDistinct(); 900 < n < 1100
    let n = sc
        .parallelize((0..1000).collect::<Vec<i32>>(), 4)
        .map(|i| i.to_string())
        .count_approx_distinct(0.05)
        .unwrap();
    assert!(900 < n && n < 1100, "{n}");
    // parallelize([i % 20 for i in range(1000)]).countApproxDistinct(); 16 < n < 24
    let n = sc
        .parallelize((0..1000).map(|i| i % 20).collect::<Vec<i32>>(), 4)
        .count_approx_distinct(0.05)
        .unwrap();
    assert!(16 < n && n < 24, "{n}");
    // Larger counts stay within a few standard deviations (5% each at 0.05).
    let n = sc
        .range(0, 200_000, 1, 4)
        .unwrap()
        .count_approx_distinct(0.05)
        .unwrap();
    assert!((170_000..230_000).contains(&n), "{n}");
}

#[test]
fn sample_by_key() {
    let sc = sc();
    // fractions = {"a": 0.2, "b": 0.1}
    // rdd = sc.parallelize(fractions.keys()).cartesian(sc.parallelize(range(0, 1000)))
    // sample = dict(rdd.sampleByKey(False, fractions, 2).groupByKey().collect())
    // 100 < len(sample["a"]) < 300 and 50 < len(sample["b"]) < 150; values in 0..=999
    let fractions = std::collections::HashMap::from([('a', 0.2), ('b', 0.1)]);
    let rdd = sc
        .parallelize(vec!['a', 'b'], 4)
        .cartesian(&sc.parallelize((0..1000).collect::<Vec<i32>>(), 4));
    let sample: BTreeMap<char, Vec<i32>> = rdd
        .sample_by_key(false, &fractions, 2)
        .unwrap()
        .group_by_key()
        .collect()
        .unwrap()
        .into_iter()
        .collect();
    let (a, b) = (&sample[&'a'], &sample[&'b']);
    assert!(100 < a.len() && a.len() < 300, "{}", a.len());
    assert!(50 < b.len() && b.len() < 150, "{}", b.len());
    assert!(a.iter().chain(b).all(|v| (0..=999).contains(v)));
    // The exact form keeps exactly ceil(fraction * count) of each key, each record once.
    let exact = rdd.sample_by_key_exact(false, &fractions, 2).unwrap();
    let mut got: BTreeMap<char, Vec<i32>> = exact
        .group_by_key()
        .collect()
        .unwrap()
        .into_iter()
        .collect();
    for v in got.values_mut() {
        v.sort();
        v.dedup();
    }
    assert_eq!((got[&'a'].len(), got[&'b'].len()), (200, 100));
    assert_eq!(
        exact.collect().unwrap(),
        rdd.sample_by_key_exact(false, &fractions, 2)
            .unwrap()
            .collect()
            .unwrap()
    );
    // With replacement: exactly ceil(fraction * count) draws of each key, spread
    // uniformly over the key's records. 10,000 draws of 'a' over its 1,000 records give
    // each record Binomial(10000, 0.001) draws: mean 10, standard deviation 3.16. The
    // chi-square statistic over the 1,000 records has mean 999 and standard deviation
    // about 45; 1,250 is more than 5 of them away.
    let many = std::collections::HashMap::from([('a', 10.0), ('b', 0.5)]);
    let drawn = rdd
        .sample_by_key_exact(true, &many, 7)
        .unwrap()
        .collect()
        .unwrap();
    let mut per_value = vec![0u64; 1000];
    let (mut a_draws, mut b_draws) = (0, 0);
    for (k, v) in &drawn {
        if *k == 'a' {
            a_draws += 1;
            per_value[*v as usize] += 1;
        } else {
            b_draws += 1;
        }
    }
    assert_eq!((a_draws, b_draws), (10_000, 500));
    let chi2: f64 = per_value
        .iter()
        .map(|&c| (c as f64 - 10.0).powi(2) / 10.0)
        .sum();
    assert!((750.0..1250.0).contains(&chi2), "chi-square {chi2}");
    // A key without a fraction is an error that names it.
    let only_a = std::collections::HashMap::from([('a', 0.5)]);
    let err = rdd
        .sample_by_key_exact(false, &only_a, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no fraction for key 'b'"), "{err}");
    let err = rdd
        .sample_by_key(false, &only_a, 1)
        .unwrap()
        .count()
        .unwrap_err()
        .to_string();
    assert!(err.contains("no fraction for key 'b'"), "{err}");
}

#[test]
fn pipe() {
    let sc = sc();
    // sc.parallelize(['1', '2', '', '3']).pipe('cat').collect() ['1', '2', '', '3']
    let rdd = sc.parallelize(vec!["1".to_string(), "2".into(), "".into(), "3".into()], 4);
    assert_eq!(rdd.pipe("cat").collect().unwrap(), vec!["1", "2", "", "3"]);
    // One process per partition, with the environment given.
    let counted = sc.parallelize((0..10).collect::<Vec<i32>>(), 3).pipe_with(
        vec!["sh".into(), "-c".into(), "echo \"$TAG $(wc -l)\"".into()],
        vec![("TAG".into(), "lines".into())],
    );
    let out: Vec<String> = counted
        .collect()
        .unwrap()
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(out, vec!["lines 3", "lines 3", "lines 4"]);
    // A command that stops reading early is not an error.
    let first = sc
        .parallelize((0..100_000).collect::<Vec<i32>>(), 1)
        .pipe("head -1");
    assert_eq!(first.collect().unwrap(), vec!["0"]);
    // A non-zero exit names the command, its status and what it said.
    let failing = rdd.pipe_with(
        vec!["sh".into(), "-c".into(), "echo broken >&2; exit 3".into()],
        Vec::new(),
    );
    let err = failing.collect().unwrap_err().to_string();
    assert!(err.contains("exited with status 3"), "{err}");
    assert!(err.contains("broken"), "{err}");
    assert!(err.contains("failed 1 time(s)"), "not retried: {err}");
    let missing = rdd.pipe("/nonexistent/firesteel-command");
    let err = missing.count().unwrap_err().to_string();
    assert!(
        err.contains("/nonexistent/firesteel-command") && err.contains("could not start"),
        "{err}"
    );
}

#[test]
fn object_files_round_trip_and_refuse_what_they_cannot_read() {
    let sc = sc();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("objects");
    let d = sc.parallelize(
        (0..1000)
            .map(|i| (i, format!("r{i}")))
            .collect::<Vec<(u32, String)>>(),
        3,
    );
    d.save_as_object_file(&out).unwrap();
    let back = sc.object_file::<(u32, String)>(&out).unwrap();
    assert_eq!(back.num_partitions(), 3);
    assert_eq!(back.collect().unwrap(), d.collect().unwrap());
    // Never over an existing output.
    assert!(matches!(
        d.save_as_object_file(&out),
        Err(firesteel_core::Error::OutputExists(_))
    ));
    // An incomplete directory is refused; a damaged part is an error naming it.
    assert!(sc.object_file::<u32>(dir.path()).is_err());
    std::fs::write(out.join("part-00001"), b"\xff\xff\xff\x7f").unwrap();
    let err = sc
        .object_file::<(u32, String)>(&out)
        .unwrap()
        .count()
        .unwrap_err()
        .to_string();
    assert!(err.contains("part-00001"), "{err}");
}

//! The per-batch expectations of PySpark's own DStream tests
//! (`python/pyspark/streaming/tests/test_dstream.py`, Spark 4), reproduced on the manual
//! clock with PySpark's 0.5 s batches. Where PySpark sorts a batch before comparing, so
//! do these tests.

mod common;

use common::{run, run2, s, secs, sorted};

fn ranges(rs: &[(u64, u64)]) -> Vec<Vec<u64>> {
    rs.iter().map(|&(a, b)| (a..b).collect()).collect()
}

#[test]
fn map_flat_map_filter() {
    let input = ranges(&[(1, 5), (5, 9), (9, 13)]);
    let got = run(input.clone(), 2, 3, |s| s.map(|x| x.to_string()));
    let want: Vec<Vec<String>> = input
        .iter()
        .map(|b| b.iter().map(|x| x.to_string()).collect())
        .collect();
    assert_eq!(got, want);

    let got = run(input.clone(), 2, 3, |s| s.flat_map(|x| [x, x * 2]));
    let want: Vec<Vec<u64>> = input
        .iter()
        .map(|b| b.iter().flat_map(|&x| [x, x * 2]).collect())
        .collect();
    assert_eq!(got, want);

    let got = run(input.clone(), 2, 3, |s| s.filter(|x| x % 2 == 0));
    assert_eq!(got, vec![vec![2, 4], vec![6, 8], vec![10, 12]]);
}

#[test]
fn count_and_reduce() {
    let got = run(ranges(&[(0, 5), (0, 10), (0, 20)]), 2, 3, |s| s.count());
    assert_eq!(got, vec![vec![5], vec![10], vec![20]]);
    let got = run(ranges(&[(1, 5), (5, 9), (9, 13)]), 2, 3, |s| {
        s.reduce(|a, b| a + b)
    });
    assert_eq!(got, vec![vec![10], vec![26], vec![42]]);
    // An empty batch counts 0 (Spark unions a zero) and reduces to nothing.
    let got = run(ranges(&[(1, 3)]), 2, 2, |s| s.count());
    assert_eq!(got, vec![vec![2], vec![0]]);
    let got = run(ranges(&[(1, 3)]), 2, 2, |s| s.reduce(|a, b| a + b));
    assert_eq!(got, vec![vec![3], vec![]]);
}

#[test]
fn reduce_by_key_and_count_by_value() {
    let input = vec![
        vec![(s("a"), 1u64), (s("a"), 1), (s("b"), 1), (s("b"), 1)],
        vec![(s(""), 1), (s(""), 1), (s(""), 1), (s(""), 1)],
    ];
    let got = sorted(run(input, 2, 2, |s| s.reduce_by_key(|a, b| a + b)));
    assert_eq!(got, vec![vec![(s("a"), 2), (s("b"), 2)], vec![(s(""), 4)]]);

    let mut b1: Vec<u64> = (1..5).collect();
    b1.extend(1..5);
    let input = vec![b1, vec![5, 6, 5, 6, 7, 8]];
    let got = sorted(run(input, 2, 2, |s| s.count_by_value()));
    assert_eq!(
        got,
        vec![
            vec![(1, 2), (2, 2), (3, 2), (4, 2)],
            vec![(5, 2), (6, 2), (7, 1), (8, 1)]
        ]
    );
}

#[test]
fn map_values_flat_map_values_group_combine() {
    let input = vec![vec![(s("a"), 2u64), (s("b"), 2), (s("c"), 1), (s("d"), 1)]];
    let got = sorted(run(input.clone(), 2, 1, |s| s.map_values(|x| x + 10)));
    assert_eq!(
        got,
        vec![vec![(s("a"), 12), (s("b"), 12), (s("c"), 11), (s("d"), 11)]]
    );
    let got = run(input, 2, 1, |s| s.flat_map_values(|x| [x, x + 10]));
    assert_eq!(
        got,
        vec![vec![
            (s("a"), 2),
            (s("a"), 12),
            (s("b"), 2),
            (s("b"), 12),
            (s("c"), 1),
            (s("c"), 11),
            (s("d"), 1),
            (s("d"), 11)
        ]]
    );

    let input = vec![
        vec![(1u64, 1u64), (2, 1), (3, 1), (4, 1)],
        vec![(1, 1), (1, 1), (1, 1), (2, 1), (2, 1), (3, 1)],
    ];
    let got = sorted(run(input.clone(), 2, 2, |s| s.group_by_key()));
    assert_eq!(
        got,
        vec![
            vec![(1, vec![1]), (2, vec![1]), (3, vec![1]), (4, vec![1])],
            vec![(1, vec![1, 1, 1]), (2, vec![1, 1]), (3, vec![1])]
        ]
    );
    let got = sorted(run(input, 2, 2, |s| {
        let p = firesteel_core::partitioner::HashPartitioner::new(2);
        s.combine_by_key(
            |v| v.to_string(),
            |a, b| a + &b.to_string(),
            |a, b| a + &b,
            p,
        )
    }));
    assert_eq!(
        got,
        vec![
            vec![
                (1, "1".into()),
                (2, "1".into()),
                (3, "1".into()),
                (4, "1".into())
            ],
            vec![(1, "111".to_string()), (2, "11".into()), (3, "1".into())]
        ]
    );
}

#[test]
fn glom_map_partitions_repartition() {
    let input = ranges(&[(1, 5), (5, 9), (9, 13)]);
    let got = run(input.clone(), 2, 3, |s| s.glom());
    assert_eq!(
        got,
        vec![
            vec![vec![1, 2], vec![3, 4]],
            vec![vec![5, 6], vec![7, 8]],
            vec![vec![9, 10], vec![11, 12]]
        ]
    );
    let got = run(input, 2, 3, |s| {
        s.map_partitions(|r| std::iter::once(r.sum::<u64>()))
    });
    assert_eq!(got, vec![vec![3, 7], vec![11, 15], vec![19, 23]]);
    let got = run(ranges(&[(1, 5), (5, 9)]), 2, 2, |s| s.repartition(1).glom());
    assert_eq!(got, vec![vec![vec![1, 2, 3, 4]], vec![vec![5, 6, 7, 8]]]);
}

#[test]
fn union_cogroup_and_joins() {
    let got = sorted(run2(
        ranges(&[(0, 3), (0, 5), (0, 6)]),
        ranges(&[(3, 6), (5, 6)]),
        2,
        3,
        |a, b| a.union(&b),
    ));
    assert_eq!(got, vec![(0..6).collect::<Vec<u64>>(); 3]);

    let input = vec![
        vec![(1u64, 1u64), (2, 1), (3, 1)],
        vec![(1, 1), (1, 1), (1, 1), (2, 1)],
    ];
    let input2 = vec![vec![(1u64, 2u64)], vec![(4, 1)]];
    let got = sorted(run2(input, input2, 2, 2, |a, b| a.cogroup(&b)));
    assert_eq!(
        got,
        vec![
            vec![
                (1, (vec![1], vec![2])),
                (2, (vec![1], vec![])),
                (3, (vec![1], vec![]))
            ],
            vec![
                (1, (vec![1, 1, 1], vec![])),
                (2, (vec![1], vec![])),
                (4, (vec![], vec![1]))
            ]
        ]
    );

    let left = vec![vec![(s("a"), 1u64), (s("b"), 2)]];
    let right = vec![vec![(s("b"), 3u64), (s("c"), 4)]];
    let got = sorted(run2(left.clone(), right.clone(), 2, 1, |a, b| a.join(&b)));
    assert_eq!(got, vec![vec![(s("b"), (2, 3))]]);
    let got = sorted(run2(left.clone(), right.clone(), 2, 1, |a, b| {
        a.left_outer_join(&b)
    }));
    assert_eq!(got, vec![vec![(s("a"), (1, None)), (s("b"), (2, Some(3)))]]);
    let got = sorted(run2(left.clone(), right.clone(), 2, 1, |a, b| {
        a.right_outer_join(&b)
    }));
    assert_eq!(got, vec![vec![(s("b"), (Some(2), 3)), (s("c"), (None, 4))]]);
    let got = sorted(run2(left, right, 2, 1, |a, b| a.full_outer_join(&b)));
    assert_eq!(
        got,
        vec![vec![
            (s("a"), (Some(1), None)),
            (s("b"), (Some(2), Some(3))),
            (s("c"), (None, Some(4)))
        ]]
    );
}

#[test]
fn update_state_by_key() {
    let updater = |vs: Vec<u64>, s: Option<Vec<u64>>| {
        let mut s = s.unwrap_or_default();
        s.extend(vs);
        Some(s)
    };
    let input: Vec<Vec<(String, u64)>> = (0..5).map(|i| vec![(s("k"), i)]).collect();
    let got = run(input, 1, 5, |s| s.update_state_by_key(updater));
    let want: Vec<Vec<(String, Vec<u64>)>> =
        (0..5).map(|i| vec![(s("k"), (0..=i).collect())]).collect();
    assert_eq!(got, want);

    // With an initial state: PySpark's test_update_state_by_key_initial_rdd.
    let input: Vec<Vec<(String, u64)>> = (2..5).map(|i| vec![(s("k"), i)]).collect();
    let got = run(input, 1, 3, |stream| {
        let initial = stream
            .context()
            .context()
            .parallelize(vec![(s("k"), vec![0u64, 1])], 1);
        let p = firesteel_core::partitioner::HashPartitioner::new(2);
        stream.update_state_by_key_with(updater, p, Some(initial))
    });
    let want: Vec<Vec<(String, Vec<u64>)>> =
        (2..5).map(|i| vec![(s("k"), (0..=i).collect())]).collect();
    assert_eq!(got, want);
}

fn sizes(n: u64) -> Vec<Vec<u64>> {
    (1..=n).map(|i| (0..i).collect()).collect()
}

#[test]
fn window_and_count_by_window() {
    let want: Vec<Vec<u64>> = [1, 3, 6, 9, 12, 9, 5].iter().map(|&c| vec![c]).collect();
    let got = run(sizes(5), 1, 7, |s| s.window(secs(1.5), secs(0.5)).count());
    assert_eq!(got, want);
    let got = run(sizes(5), 1, 7, |s| s.count_by_window(secs(1.5), secs(0.5)));
    assert_eq!(got, want);
    // test_count_by_window_large
    let got = run(sizes(6), 1, 10, |s| s.count_by_window(secs(2.5), secs(0.5)));
    let want: Vec<Vec<u64>> = [1, 3, 6, 10, 15, 20, 18, 15, 11, 6]
        .iter()
        .map(|&c| vec![c])
        .collect();
    assert_eq!(got, want);
}

#[test]
fn count_by_value_and_window() {
    let got = sorted(run(sizes(6), 1, 11, |s| {
        s.count_by_value_and_window(secs(2.5), secs(0.5), None)
    }));
    let want: Vec<Vec<(u64, u64)>> = vec![
        vec![(0, 1)],
        vec![(0, 2), (1, 1)],
        vec![(0, 3), (1, 2), (2, 1)],
        vec![(0, 4), (1, 3), (2, 2), (3, 1)],
        vec![(0, 5), (1, 4), (2, 3), (3, 2), (4, 1)],
        vec![(0, 5), (1, 5), (2, 4), (3, 3), (4, 2), (5, 1)],
        vec![(0, 4), (1, 4), (2, 4), (3, 3), (4, 2), (5, 1)],
        vec![(0, 3), (1, 3), (2, 3), (3, 3), (4, 2), (5, 1)],
        vec![(0, 2), (1, 2), (2, 2), (3, 2), (4, 2), (5, 1)],
        vec![(0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1)],
        // After the last batch has left the window every count is zero and filtered out.
        vec![],
    ];
    assert_eq!(got, want);
}

#[test]
fn group_by_key_and_window() {
    let input: Vec<Vec<(String, u64)>> = (0..5).map(|i| vec![(s("a"), i)]).collect();
    let got = run(input, 1, 7, |s| {
        s.group_by_key_and_window(secs(1.5), secs(0.5))
    });
    let want: Vec<Vec<(String, Vec<u64>)>> = vec![
        vec![(s("a"), vec![0])],
        vec![(s("a"), vec![0, 1])],
        vec![(s("a"), vec![0, 1, 2])],
        vec![(s("a"), vec![1, 2, 3])],
        vec![(s("a"), vec![2, 3, 4])],
        vec![(s("a"), vec![3, 4])],
        vec![(s("a"), vec![4])],
    ];
    assert_eq!(got, want);
}

#[test]
fn reduce_by_key_and_window_without_inverse() {
    // test_reduce_by_key_and_window_with_none_invFunc: a 5 s window sliding every 1 s
    // over 0.5 s batches, so outputs come every second batch.
    let got = run(sizes(6), 1, 12, |s| {
        s.map(|x| (x, 1u64))
            .reduce_by_key_and_window(|a, b| a + b, secs(5.0), secs(1.0))
            .filter(|kv| kv.1 > 0)
            .count()
    });
    let want: Vec<Vec<u64>> = [2, 4, 6, 6, 6, 6].iter().map(|&c| vec![c]).collect();
    assert_eq!(got, want);
}

#[test]
fn invalid_windows_fail_at_start() {
    // test_reduce_by_invalid_window: windows that are not multiples of the 0.5 s batch.
    for (len, slide) in [(0.1, 0.1), (1.0, 0.1)] {
        let ctx = firesteel_core::Context::local(1).unwrap();
        let ssc =
            firesteel_streaming::StreamingContext::with_manual_clock(&ctx, common::BATCH).unwrap();
        let q = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        ssc.queue_stream::<(u8, u64)>(q, true, None)
            .reduce_by_key_and_window(|a, b| a + b, secs(len), secs(slide))
            .foreach_rdd(|_, _| Ok(()));
        let err = ssc.start().unwrap_err().to_string();
        assert!(
            err.contains("not a multiple of the parent stream's slide 500 ms"),
            "{err}"
        );
    }
}

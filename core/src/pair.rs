//! Operations on datasets of key-value pairs, like Spark's `PairRDDFunctions`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use crate::dataset::partition_rng;
use crate::error::Result;
use crate::partitioner::{
    unerase, ErasedPartitioner, HashPartitioner, ModPartitioner, Partitioner, RangePartitioner,
};
use crate::rdd::RddMeta;
use crate::shuffle::{
    external_sort, Aggregator, CoGroupSide, CoGroupedRdd, ExternalMap, FnAggregator, JoinedRdd,
    NoCombine, PlainShuffledRdd, ShuffleDependency, ShuffledRdd,
};
use crate::{Data, Dataset};

/// Anything that names a partitioning for a shuffle: a partition count (hash partitioned),
/// or a partitioner.
pub trait IntoPartitioner<K> {
    /// The partitioner.
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>>;
}

impl<K: Hash + 'static> IntoPartitioner<K> for usize {
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        Arc::new(HashPartitioner::new(self))
    }
}

impl<K: Hash + 'static> IntoPartitioner<K> for HashPartitioner {
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        Arc::new(self)
    }
}

impl<K: Ord + Clone + Send + Sync + std::fmt::Debug + 'static> IntoPartitioner<K>
    for RangePartitioner<K>
{
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        Arc::new(self)
    }
}

impl<K: crate::partitioner::JavaHash + 'static> IntoPartitioner<K> for crate::JavaHashPartitioner {
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        Arc::new(self)
    }
}

impl<K> IntoPartitioner<K> for ModPartitioner
where
    ModPartitioner: Partitioner<K>,
{
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        Arc::new(self)
    }
}

impl<K> IntoPartitioner<K> for Arc<dyn Partitioner<K>> {
    fn into_partitioner(self) -> Arc<dyn Partitioner<K>> {
        self
    }
}

fn same<K: 'static>(a: &Arc<dyn Partitioner<K>>, b: &Option<ErasedPartitioner>) -> bool {
    b.as_ref()
        .and_then(|b| b.downcast_ref::<Arc<dyn Partitioner<K>>>())
        .is_some_and(|b| a.equivalent(b.as_any()))
}

impl<K: Data + Hash + Eq, V: Data> Dataset<(K, V)> {
    /// The dataset's partitioner, if it knows one.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let pairs = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    ///     assert!(pairs.partitioner().is_none());
    ///     let by_key = pairs.partition_by(3);
    ///     assert_eq!(by_key.partitioner().map(|p| p.num_partitions()), Some(3));
    /// });
    /// ```
    pub fn partitioner(&self) -> Option<Arc<dyn Partitioner<K>>> {
        self.erased_partitioner().as_ref().and_then(unerase::<K>)
    }

    /// Spark's `Partitioner.defaultPartitioner`: the partitioner with the most partitions
    /// among the inputs that have one; otherwise hash partitioning into the context's
    /// default parallelism if it was set, else into the largest input's partition count.
    pub(crate) fn default_partitioner(
        &self,
        others: &[(Option<ErasedPartitioner>, usize)],
    ) -> Arc<dyn Partitioner<K>> {
        let mut inputs = vec![(self.erased_partitioner(), self.num_partitions())];
        inputs.extend(others.iter().cloned());
        let best = inputs
            .iter()
            .filter_map(|(p, _)| p.as_ref().and_then(unerase::<K>))
            .max_by_key(|p| p.num_partitions());
        if let Some(p) = best {
            return p;
        }
        let cfg = &self.ctx.inner.config;
        let n = if cfg.parallelism_set {
            cfg.default_parallelism
        } else {
            inputs.iter().map(|(_, n)| *n).max().unwrap_or(1)
        };
        Arc::new(HashPartitioner::new(n))
    }

    /// The general aggregation by key. With a partitioner equal to the dataset's own, the
    /// values are combined within each partition and nothing is shuffled.
    pub(crate) fn combine_internal<C: Data, A: Aggregator<V, C>>(
        &self,
        op: &'static str,
        agg: A,
        partitioner: Arc<dyn Partitioner<K>>,
        map_side_combine: bool,
    ) -> Dataset<(K, C)> {
        let agg = Arc::new(agg);
        if same(&partitioner, &self.erased_partitioner()) {
            return self.map_batches_of_partitions(op, true, move |tc, _, it| {
                let agg = agg.clone();
                let mut map = ExternalMap::<K, C>::new(tc);
                for b in it {
                    let b = match b {
                        Ok(b) => b,
                        Err(e) => return Box::new(std::iter::once(Err(e))),
                    };
                    for (k, v) in b {
                        if let Err(e) =
                            map.insert(k, v, |v| agg.create(v), |c, v| agg.merge_value(c, v))
                        {
                            return Box::new(std::iter::once(Err(e)));
                        }
                    }
                }
                let agg2 = agg.clone();
                match map.into_batches(move |a, b| agg2.merge_combiners(a, b)) {
                    Ok(it) => it,
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            });
        }
        let dep = ShuffleDependency::<K, V, C, A>::new(
            &self.ctx.inner,
            self.rdd.clone(),
            partitioner,
            Some(agg),
            map_side_combine,
        );
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(ShuffledRdd {
                meta: RddMeta::new(&self.ctx.inner, op),
                dep: Arc::new(dep),
            }),
        )
    }

    /// Spark's `combineByKey`: turns each key's values into a combiner, with map-side
    /// combining, hash partitioned by the default partitioner.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 2)], 2);
    ///     let append = |mut list: Vec<i32>, v| { list.push(v); list };
    ///     let extend = |mut list: Vec<i32>, more| { list.extend(more); list };
    ///     let mut lists = d.combine_by_key(|v| vec![v], append, extend).collect().unwrap();
    ///     lists.sort();
    ///     assert_eq!(lists, vec![('a', vec![1, 2]), ('b', vec![1])]);
    /// });
    /// ```
    pub fn combine_by_key<C: Data>(
        &self,
        create_combiner: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
    ) -> Dataset<(K, C)> {
        let p = self.default_partitioner(&[]);
        self.combine_by_key_with(create_combiner, merge_value, merge_combiners, p)
    }

    /// As [`combine_by_key`](Self::combine_by_key), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 2)], 2);
    ///     let add = |(sum, n): (i32, i32), v: i32| (sum + v, n + 1);
    ///     let merge = |a: (i32, i32), b: (i32, i32)| (a.0 + b.0, a.1 + b.1);
    ///     let sums = d.combine_by_key_with(|v| (v, 1), add, merge, 3);
    ///     let mut sums = sums.collect().unwrap();
    ///     sums.sort();
    ///     assert_eq!(sums, vec![('a', (3, 2)), ('b', (1, 1))]);
    /// });
    /// ```
    pub fn combine_by_key_with<C: Data>(
        &self,
        create_combiner: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, C)> {
        let agg = FnAggregator {
            create: create_combiner,
            merge_value,
            merge_combiners,
        };
        self.combine_internal("combine_by_key", agg, partitioning.into_partitioner(), true)
    }

    /// Merges each key's values with an associative function, combining map-side first.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let mut sums = d.reduce_by_key(|a, b| a + b).collect().unwrap();
    ///     sums.sort();
    ///     assert_eq!(sums, vec![('a', 2), ('b', 1)]);
    /// });
    /// ```
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> Dataset<(K, V)> {
        let p = self.default_partitioner(&[]);
        self.reduce_by_key_with(f, p)
    }

    /// As [`reduce_by_key`](Self::reduce_by_key), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let sums = d.reduce_by_key_with(|a, b| a + b, 3);
    ///     assert_eq!(sums.num_partitions(), 3);
    ///     let mut sums = sums.collect().unwrap();
    ///     sums.sort();
    ///     assert_eq!(sums, vec![('a', 2), ('b', 1)]);
    /// });
    /// ```
    pub fn reduce_by_key_with(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, V)> {
        let f = Arc::new(f);
        let g = f.clone();
        let agg = FnAggregator {
            create: |v| v,
            merge_value: move |a, b| f(a, b),
            merge_combiners: move |a, b| g(a, b),
        };
        self.combine_internal("reduce_by_key", agg, partitioning.into_partitioner(), true)
    }

    /// Folds each key's values starting from `zero` (once per key per partition).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let mut sums = d.fold_by_key(0, |a, b| a + b).collect().unwrap();
    ///     sums.sort();
    ///     assert_eq!(sums, vec![('a', 2), ('b', 1)]);
    /// });
    /// ```
    pub fn fold_by_key(
        &self,
        zero: V,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> Dataset<(K, V)> {
        let f = Arc::new(f);
        let g = f.clone();
        let h = f.clone();
        let agg = FnAggregator {
            create: move |v| h(zero.clone(), v),
            merge_value: move |a, b| f(a, b),
            merge_combiners: move |a, b| g(a, b),
        };
        let p = self.default_partitioner(&[]);
        self.combine_internal("fold_by_key", agg, p, true)
    }

    /// Aggregates each key's values with `seq` from `zero`, and partial results with
    /// `comb`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 2)], 2);
    ///     let seq = |(sum, n): (i32, i32), v: i32| (sum + v, n + 1);
    ///     let comb = |a: (i32, i32), b: (i32, i32)| (a.0 + b.0, a.1 + b.1);
    ///     let mut sums = d.aggregate_by_key((0, 0), seq, comb).collect().unwrap();
    ///     sums.sort();
    ///     assert_eq!(sums, vec![('a', (3, 2)), ('b', (1, 1))]);
    /// });
    /// ```
    pub fn aggregate_by_key<U: Data>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + Send + Sync + 'static,
        comb: impl Fn(U, U) -> U + Send + Sync + 'static,
    ) -> Dataset<(K, U)> {
        let seq = Arc::new(seq);
        let s2 = seq.clone();
        let agg = FnAggregator {
            create: move |v| s2(zero.clone(), v),
            merge_value: move |u, v| seq(u, v),
            merge_combiners: comb,
        };
        let p = self.default_partitioner(&[]);
        self.combine_internal("aggregate_by_key", agg, p, true)
    }

    /// Groups each key's values (no map-side combine, as in Spark). Value order within a
    /// group follows partition order of the input.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let mut groups = d.group_by_key().collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups, vec![('a', vec![1, 1]), ('b', vec![1])]);
    /// });
    /// ```
    pub fn group_by_key(&self) -> Dataset<(K, Vec<V>)> {
        let p = self.default_partitioner(&[]);
        self.group_by_key_with(p)
    }

    /// As [`group_by_key`](Self::group_by_key), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let groups = d.group_by_key_with(3);
    ///     assert_eq!(groups.num_partitions(), 3);
    ///     let mut groups = groups.collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups, vec![('a', vec![1, 1]), ('b', vec![1])]);
    /// });
    /// ```
    pub fn group_by_key_with(&self, partitioning: impl IntoPartitioner<K>) -> Dataset<(K, Vec<V>)> {
        let agg = FnAggregator {
            create: |v| vec![v],
            merge_value: |mut c: Vec<V>, v| {
                c.push(v);
                c
            },
            merge_combiners: |mut a: Vec<V>, b: Vec<V>| {
                a.extend(b);
                a
            },
        };
        self.combine_internal("group_by_key", agg, partitioning.into_partitioner(), false)
    }

    /// Moves records so that the partitioner decides each key's partition. A dataset
    /// already partitioned that way is returned as it is.
    ///
    /// ```
    /// use firesteel_core::ModPartitioner;
    /// firesteel_core::example(|ctx| {
    ///     let pairs = ctx.parallelize(vec![1u64, 2, 3, 4, 2, 4, 1], 2).map(|x| (x, x));
    ///     let mut parts = pairs.partition_by(ModPartitioner::new(2)).glom().collect().unwrap();
    ///     parts.iter_mut().for_each(|p| p.sort());
    ///     let (even, odd) = (vec![(2, 2), (2, 2), (4, 4), (4, 4)], vec![(1, 1), (1, 1), (3, 3)]);
    ///     assert_eq!(parts, vec![even, odd]);
    /// });
    /// ```
    pub fn partition_by(&self, partitioning: impl IntoPartitioner<K>) -> Dataset<(K, V)> {
        let p = partitioning.into_partitioner();
        if same(&p, &self.erased_partitioner()) {
            return self.clone();
        }
        self.shuffle_plain("partition_by", "ShuffledDataset", p)
    }

    fn shuffle_plain(
        &self,
        op: &'static str,
        kind: &'static str,
        p: Arc<dyn Partitioner<K>>,
    ) -> Dataset<(K, V)> {
        let dep = ShuffleDependency::<K, V, V, NoCombine>::new(
            &self.ctx.inner,
            self.rdd.clone(),
            p,
            None,
            false,
        );
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(PlainShuffledRdd {
                meta: RddMeta::new(&self.ctx.inner, op),
                dep: Arc::new(dep),
                kind,
            }),
        )
    }

    /// Applies `f` to each value, keeping keys and the partitioner.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let fruit = vec!["apple".to_string(), "banana".into(), "lemon".into()];
    ///     let d = ctx.parallelize(vec![('a', fruit), ('b', vec!["grapes".into()])], 2);
    ///     assert_eq!(d.map_values(|v| v.len()).collect().unwrap(), vec![('a', 3), ('b', 1)]);
    /// });
    /// ```
    pub fn map_values<U: Data>(
        &self,
        f: impl Fn(V) -> U + Send + Sync + 'static,
    ) -> Dataset<(K, U)> {
        let f = Arc::new(f);
        self.map_batches_of_partitions("map_values", true, move |_, _, it| {
            let f = f.clone();
            Box::new(it.map(move |b| b.map(|b| b.map_vec(|(k, v)| (k, f(v))).into())))
        })
    }

    /// Maps each value to any number of values, keeping keys and the partitioner.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', vec!['x', 'y', 'z']), ('b', vec!['p', 'r'])], 2);
    ///     let flat = d.flat_map_values(|v| v).collect().unwrap();
    ///     assert_eq!(flat, vec![('a', 'x'), ('a', 'y'), ('a', 'z'), ('b', 'p'), ('b', 'r')]);
    /// });
    /// ```
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> Dataset<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.map_batches_of_partitions("flat_map_values", true, move |_, _, it| {
            let f = f.clone();
            crate::rdd::flat_map_batches(it, move |(k, v)| {
                f(v).into_iter().map(move |u| (k.clone(), u))
            })
        })
    }

    /// As [`flat_map_values`](Self::flat_map_values), with the key passed to `f` too
    /// (keys and the partitioner are kept).
    ///
    /// ```
    /// let ctx = firesteel_core::Context::local(1).unwrap();
    /// let pairs = ctx.parallelize(vec![(2u32, 'a'), (3, 'b')], 1);
    /// let mut out = pairs.flat_map_values_with_key(|k, c| vec![c; *k as usize]).collect().unwrap();
    /// out.sort();
    /// assert_eq!(out, vec![(2, 'a'), (2, 'a'), (3, 'b'), (3, 'b'), (3, 'b')]);
    /// ```
    pub fn flat_map_values_with_key<U: Data, I>(
        &self,
        f: impl Fn(&K, V) -> I + Send + Sync + 'static,
    ) -> Dataset<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.map_batches_of_partitions("flat_map_values_with_key", true, move |_, _, it| {
            let f = f.clone();
            crate::rdd::flat_map_batches(it, move |(k, v)| {
                let values = f(&k, v).into_iter();
                values.map(move |u| (k.clone(), u))
            })
        })
    }

    /// The keys.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![(1, 2), (3, 4)], 2);
    ///     assert_eq!(d.keys().collect().unwrap(), vec![1, 3]);
    /// });
    /// ```
    pub fn keys(&self) -> Dataset<K> {
        self.map(|(k, _)| k)
    }

    /// The values.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![(1, 2), (3, 4)], 2);
    ///     assert_eq!(d.values().collect().unwrap(), vec![2, 4]);
    /// });
    /// ```
    pub fn values(&self) -> Dataset<V> {
        self.map(|(_, v)| v)
    }

    /// For each key in either dataset, the values of both. A side already partitioned by
    /// the result's partitioner is not shuffled.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let mut groups = x.cogroup(&y).collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups, vec![('a', (vec![1], vec![2])), ('b', (vec![4], vec![]))]);
    /// });
    /// ```
    pub fn cogroup<W: Data>(&self, other: &Dataset<(K, W)>) -> Dataset<(K, (Vec<V>, Vec<W>))> {
        let p = self.default_partitioner(&[(other.erased_partitioner(), other.num_partitions())]);
        self.cogroup_with(other, p)
    }

    /// As [`cogroup`](Self::cogroup), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let groups = x.cogroup_with(&y, 3);
    ///     assert_eq!(groups.num_partitions(), 3);
    ///     let mut groups = groups.collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups, vec![('a', (vec![1], vec![2])), ('b', (vec![4], vec![]))]);
    /// });
    /// ```
    pub fn cogroup_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, (Vec<V>, Vec<W>))> {
        let p = partitioning.into_partitioner();
        let inner = &self.ctx.inner;
        let (left, right) = (self.side(&p), other.side(&p));
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(CoGroupedRdd {
                meta: RddMeta::new(inner, "cogroup"),
                left,
                right,
                partitioner: p,
            }),
        )
    }

    /// This dataset as one side of a cogroup or join into `p`: read in place when already
    /// partitioned by `p`, shuffled otherwise.
    fn side(&self, p: &Arc<dyn Partitioner<K>>) -> CoGroupSide<K, V> {
        if same(p, &self.erased_partitioner()) {
            CoGroupSide::Narrow(self.rdd.clone())
        } else {
            CoGroupSide::Shuffle(Arc::new(ShuffleDependency::new(
                &self.ctx.inner,
                self.rdd.clone(),
                p.clone(),
                None::<Arc<NoCombine>>,
                false,
            )))
        }
    }

    /// Inner join: every pair of values for keys present in both.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2), ('a', 3)], 2);
    ///     let mut joined = x.join(&y).collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (1, 2)), ('a', (1, 3))]);
    /// });
    /// ```
    pub fn join<W: Data>(&self, other: &Dataset<(K, W)>) -> Dataset<(K, (V, W))> {
        let p = self.default_partitioner(&[(other.erased_partitioner(), other.num_partitions())]);
        self.join_with(other, p)
    }

    /// As [`join`](Self::join), into the given partitioning. A side already partitioned
    /// that way is read in place; the join itself is a hash join on the other side's
    /// partition (see `core/DESIGN.md`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2), ('a', 3)], 2);
    ///     let joined = x.join_with(&y, 3);
    ///     assert_eq!(joined.num_partitions(), 3);
    ///     let mut joined = joined.collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (1, 2)), ('a', (1, 3))]);
    /// });
    /// ```
    pub fn join_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, (V, W))> {
        let p = partitioning.into_partitioner();
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(JoinedRdd {
                meta: RddMeta::new(&self.ctx.inner, "join"),
                left: self.side(&p),
                right: other.side(&p),
                partitioner: p,
            }),
        )
    }

    /// Left outer join: keys of `self`, with `None` where `other` has no value.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let mut joined = x.left_outer_join(&y).collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (1, Some(2))), ('b', (4, None))]);
    /// });
    /// ```
    pub fn left_outer_join<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
    ) -> Dataset<(K, (V, Option<W>))> {
        let p = self.default_partitioner(&[(other.erased_partitioner(), other.num_partitions())]);
        self.left_outer_join_with(other, p)
    }

    /// As [`left_outer_join`](Self::left_outer_join), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let joined = x.left_outer_join_with(&y, 3);
    ///     assert_eq!(joined.num_partitions(), 3);
    ///     let mut joined = joined.collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (1, Some(2))), ('b', (4, None))]);
    /// });
    /// ```
    pub fn left_outer_join_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, (V, Option<W>))> {
        self.cogroup_with(other, partitioning)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                for v in &vs {
                    if ws.is_empty() {
                        out.push((v.clone(), None));
                    }
                    for w in &ws {
                        out.push((v.clone(), Some(w.clone())));
                    }
                }
                out
            })
    }

    /// Right outer join: keys of `other`, with `None` where `self` has no value.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let mut joined = y.right_outer_join(&x).collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (Some(2), 1)), ('b', (None, 4))]);
    /// });
    /// ```
    pub fn right_outer_join<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
    ) -> Dataset<(K, (Option<V>, W))> {
        let p = self.default_partitioner(&[(other.erased_partitioner(), other.num_partitions())]);
        self.right_outer_join_with(other, p)
    }

    /// As [`right_outer_join`](Self::right_outer_join), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2)], 1);
    ///     let joined = y.right_outer_join_with(&x, 3);
    ///     assert_eq!(joined.num_partitions(), 3);
    ///     let mut joined = joined.collect().unwrap();
    ///     joined.sort();
    ///     assert_eq!(joined, vec![('a', (Some(2), 1)), ('b', (None, 4))]);
    /// });
    /// ```
    pub fn right_outer_join_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, (Option<V>, W))> {
        self.cogroup_with(other, partitioning)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                for w in &ws {
                    if vs.is_empty() {
                        out.push((None, w.clone()));
                    }
                    for v in &vs {
                        out.push((Some(v.clone()), w.clone()));
                    }
                }
                out
            })
    }

    /// Full outer join: keys of either, with `None` for the side that lacks them.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2), ('c', 8)], 2);
    ///     let mut joined = x.full_outer_join(&y).collect().unwrap();
    ///     joined.sort();
    ///     let (a, b, c) = (('a', (Some(1), Some(2))), ('b', (Some(4), None)), ('c', (None, Some(8))));
    ///     assert_eq!(joined, vec![a, b, c]);
    /// });
    /// ```
    pub fn full_outer_join<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
    ) -> Dataset<(K, (Option<V>, Option<W>))> {
        let p = self.default_partitioner(&[(other.erased_partitioner(), other.num_partitions())]);
        self.full_outer_join_with(other, p)
    }

    /// As [`full_outer_join`](Self::full_outer_join), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4)], 2);
    ///     let y = ctx.parallelize(vec![('a', 2), ('c', 8)], 2);
    ///     let joined = x.full_outer_join_with(&y, 3);
    ///     assert_eq!(joined.num_partitions(), 3);
    ///     let mut joined = joined.collect().unwrap();
    ///     joined.sort();
    ///     let (a, b, c) = (('a', (Some(1), Some(2))), ('b', (Some(4), None)), ('c', (None, Some(8))));
    ///     assert_eq!(joined, vec![a, b, c]);
    /// });
    /// ```
    pub fn full_outer_join_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, (Option<V>, Option<W>))> {
        self.cogroup_with(other, partitioning)
            .flat_map_values(|(vs, ws)| {
                let mut out = Vec::new();
                if ws.is_empty() {
                    out.extend(vs.iter().map(|v| (Some(v.clone()), None)));
                } else if vs.is_empty() {
                    out.extend(ws.iter().map(|w| (None, Some(w.clone()))));
                } else {
                    for v in &vs {
                        for w in &ws {
                            out.push((Some(v.clone()), Some(w.clone())));
                        }
                    }
                }
                out
            })
    }

    /// Sorts by key into `num_partitions` range partitions (default: the current count):
    /// keys are sampled (a job, as in Spark) to choose the range bounds, records are
    /// shuffled by range, and each partition is sorted, spilling sorted runs past the
    /// shuffle budget. Equal keys keep their shuffle order.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 2), ('1', 3), ('d', 4), ('2', 5)], 2);
    ///     let sorted = vec![('1', 3), ('2', 5), ('a', 1), ('b', 2), ('d', 4)];
    ///     assert_eq!(d.sort_by_key(true, None).unwrap().first().unwrap(), ('1', 3));
    ///     assert_eq!(d.sort_by_key(true, Some(1)).unwrap().collect().unwrap(), sorted);
    ///     assert_eq!(d.sort_by_key(true, Some(2)).unwrap().collect().unwrap(), sorted);
    /// });
    /// ```
    pub fn sort_by_key(
        &self,
        ascending: bool,
        num_partitions: Option<usize>,
    ) -> Result<Dataset<(K, V)>>
    where
        K: Ord + std::fmt::Debug,
    {
        let n = num_partitions.unwrap_or(self.num_partitions()).max(1);
        let p: Arc<dyn Partitioner<K>> = if n == 1 {
            Arc::new(RangePartitioner::<K>::from_bounds(Vec::new(), ascending))
        } else {
            // As Spark's RangePartitioner: about 20 samples per output partition.
            let per_part = (20 * n).div_ceil(self.num_partitions().max(1)).max(1);
            let samples = self.run_all(move |tc, it| {
                let mut rng = partition_rng(0x5eed, tc.partition);
                let mut reservoir: Vec<K> = Vec::with_capacity(per_part);
                let mut seen = 0usize;
                for b in it {
                    for (k, _) in b? {
                        seen += 1;
                        if reservoir.len() < per_part {
                            reservoir.push(k);
                        } else {
                            let j = rand::Rng::random_range(&mut rng, 0..seen);
                            if j < per_part {
                                reservoir[j] = k;
                            }
                        }
                    }
                }
                Ok(reservoir)
            })?;
            Arc::new(RangePartitioner::from_sample(
                samples.concat(),
                n,
                ascending,
            ))
        };
        let shuffled = self.shuffle_plain("sort_by_key", "ShuffledDataset", p);
        Ok(
            shuffled.map_batches_of_partitions("sort_by_key", true, move |tc, _, it| {
                match external_sort(tc, it, ascending) {
                    Ok(it) => it,
                    Err(e) => Box::new(std::iter::once(Err(e))),
                }
            }),
        )
    }

    /// Shuffles the pairs into `partitioning` and sorts each partition by key, as Spark's
    /// `repartitionAndSortWithinPartitions` (one pass instead of a shuffle and then a sort).
    ///
    /// ```
    /// use firesteel_core::ModPartitioner;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![(0u64, 5), (3, 8), (2, 6), (0, 8), (3, 8), (1, 3)], 2);
    ///     let parts = d
    ///         .repartition_and_sort_within_partitions(ModPartitioner::new(2), true)
    ///         .glom()
    ///         .collect()
    ///         .unwrap();
    ///     assert_eq!(
    ///         parts,
    ///         vec![vec![(0, 5), (0, 8), (2, 6)], vec![(1, 3), (3, 8), (3, 8)]]
    ///     );
    /// });
    /// ```
    pub fn repartition_and_sort_within_partitions(
        &self,
        partitioning: impl IntoPartitioner<K>,
        ascending: bool,
    ) -> Dataset<(K, V)>
    where
        K: Ord,
    {
        let p = partitioning.into_partitioner();
        self.shuffle_plain(
            "repartition_and_sort_within_partitions",
            "ShuffledDataset",
            p,
        )
        .map_batches_of_partitions(
            "repartition_and_sort_within_partitions",
            true,
            move |tc, _, it| match external_sort(tc, it, ascending) {
                Ok(it) => it,
                Err(e) => Box::new(std::iter::once(Err(e))),
            },
        )
    }

    /// The pairs as a map, as Spark's `collectAsMap`: of several pairs with one key, the
    /// last (in partition order) wins.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let m = ctx.parallelize(vec![(1, 2), (3, 4), (1, 5)], 2).collect_as_map().unwrap();
    ///     assert_eq!((m[&1], m[&3]), (5, 4));
    /// });
    /// ```
    pub fn collect_as_map(&self) -> Result<HashMap<K, V>> {
        Ok(self.collect()?.into_iter().collect())
    }

    /// The values of each key combined with `f`, returned as a map, as Spark's
    /// `reduceByKeyLocally`: each partition reduces its pairs, and the partitions' maps
    /// are merged here, without a shuffle.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let mut m: Vec<_> = d.reduce_by_key_locally(|a, b| a + b).unwrap().into_iter().collect();
    ///     m.sort();
    ///     assert_eq!(m, vec![('a', 2), ('b', 1)]);
    /// });
    /// ```
    pub fn reduce_by_key_locally(&self, f: impl Fn(V, V) -> V + Sync) -> Result<HashMap<K, V>> {
        let f = &f;
        let merge = |mut m: HashMap<K, V>, (k, v): (K, V)| {
            let v = match m.remove(&k) {
                Some(old) => f(old, v),
                None => v,
            };
            m.insert(k, v);
            m
        };
        let parts = self.fold_partitions(HashMap::new, |m, b| b.into_iter().fold(m, merge))?;
        Ok(parts
            .into_iter()
            .fold(HashMap::new(), |all, m| m.into_iter().fold(all, merge)))
    }

    /// The number of values of each key.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let counts = d.count_by_key().unwrap();
    ///     assert_eq!((counts.len(), counts[&'a'], counts[&'b']), (2, 2, 1));
    /// });
    /// ```
    pub fn count_by_key(&self) -> Result<HashMap<K, u64>> {
        Ok(self
            .map_values(|_| 1u64)
            .reduce_by_key(|a, b| a + b)
            .collect()?
            .into_iter()
            .collect())
    }

    /// The values of `key`. With a known partitioner, only that key's partition is read.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..1000).map(|x| (x, x)).collect(), 10);
    ///     assert_eq!(d.lookup(&42).unwrap(), vec![42]);
    ///     let sorted = d.sort_by_key(true, None).unwrap();
    ///     assert_eq!(sorted.lookup(&42).unwrap(), vec![42]);
    ///     assert!(sorted.lookup(&1024).unwrap().is_empty());
    /// });
    /// ```
    pub fn lookup(&self, key: &K) -> Result<Vec<V>> {
        let parts: Vec<usize> = match self.partitioner() {
            Some(p) => vec![p.get_partition(key)],
            None => (0..self.num_partitions()).collect(),
        };
        let found = self.run(&parts, |_, it| {
            let mut v = Vec::new();
            for b in it {
                v.extend(b?.into_iter().filter(|(k, _)| k == key).map(|(_, v)| v));
            }
            Ok(v)
        })?;
        Ok(found.concat())
    }
}

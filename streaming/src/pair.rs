//! Operations on streams of key-value pairs, as Spark's `PairDStreamFunctions`: batch by
//! batch aggregations and joins. Shuffles go into the default number of partitions
//! (the context's default parallelism) unless a partitioning is given.

use std::hash::Hash;
use std::sync::Arc;

use firesteel_core::partitioner::HashPartitioner;
use firesteel_core::{Data, Dataset, Result};

use crate::dstream::DStream;
use crate::time::Time;

impl<K: Data + Hash + Eq, V: Data> DStream<(K, V)> {
    /// Hash partitioning into the context's default parallelism, as Spark Streaming's
    /// default partitioner.
    pub(crate) fn default_partitioner(&self) -> HashPartitioner {
        HashPartitioner::new(self.ssc.context().default_parallelism())
    }

    /// Merges each key's values in each batch with an associative function.
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + Send + Sync + 'static) -> DStream<(K, V)> {
        self.reduce_by_key_with(f, self.default_partitioner())
    }

    /// As [`reduce_by_key`](Self::reduce_by_key), hash partitioned by `partitioner`.
    pub fn reduce_by_key_with(
        &self,
        f: impl Fn(V, V) -> V + Send + Sync + 'static,
        partitioner: HashPartitioner,
    ) -> DStream<(K, V)> {
        let f = Arc::new(f);
        self.derive("reduce_by_key", move |ds, _| {
            let f = f.clone();
            Ok(ds.reduce_by_key_with(move |a, b| f(a, b), partitioner))
        })
    }

    /// Each key's values in each batch, in the order they arrived.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.group_by_key_with(self.default_partitioner())
    }

    /// As [`group_by_key`](Self::group_by_key), hash partitioned by `partitioner`.
    pub fn group_by_key_with(&self, partitioner: HashPartitioner) -> DStream<(K, Vec<V>)> {
        self.derive("group_by_key", move |ds, _| {
            Ok(ds.group_by_key_with(partitioner))
        })
    }

    /// Spark's `combineByKey` on each batch.
    pub fn combine_by_key<C: Data>(
        &self,
        create_combiner: impl Fn(V) -> C + Send + Sync + 'static,
        merge_value: impl Fn(C, V) -> C + Send + Sync + 'static,
        merge_combiners: impl Fn(C, C) -> C + Send + Sync + 'static,
        partitioner: HashPartitioner,
    ) -> DStream<(K, C)> {
        let create = Arc::new(create_combiner);
        let merge_value = Arc::new(merge_value);
        let merge_combiners = Arc::new(merge_combiners);
        self.derive("combine_by_key", move |ds, _| {
            let (c, v, m) = (create.clone(), merge_value.clone(), merge_combiners.clone());
            Ok(ds.combine_by_key_with(
                move |x| c(x),
                move |a, x| v(a, x),
                move |a, b| m(a, b),
                partitioner,
            ))
        })
    }

    /// Maps each value, keeping the keys (and the partitioning).
    pub fn map_values<U: Data>(
        &self,
        f: impl Fn(V) -> U + Send + Sync + 'static,
    ) -> DStream<(K, U)> {
        let f = Arc::new(f);
        self.derive("map_values", move |ds, _| {
            let f = f.clone();
            Ok(ds.map_values(move |v| f(v)))
        })
    }

    /// Maps each value to any number of values, keeping the keys.
    pub fn flat_map_values<U: Data, I>(
        &self,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> DStream<(K, U)>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.derive("flat_map_values", move |ds, _| {
            let f = f.clone();
            Ok(ds.flat_map_values(move |v| f(v)))
        })
    }

    fn join_like<W: Data, R: Data>(
        &self,
        other: &DStream<(K, W)>,
        f: impl Fn(&Dataset<(K, V)>, &Dataset<(K, W)>, HashPartitioner) -> Dataset<R>
            + Send
            + Sync
            + 'static,
    ) -> DStream<R> {
        let p = self.default_partitioner();
        self.transform_with(other, move |a, b, _: Time| -> Result<Dataset<R>> {
            Ok(f(a, b, p))
        })
    }

    /// For each key in either stream's batch, the values of both (the streams must have
    /// the same slide).
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (Vec<V>, Vec<W>))> {
        self.join_like(other, |a, b, p| a.cogroup_with(b, p))
    }

    /// Inner join of each batch of the two streams.
    pub fn join<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))> {
        self.join_like(other, |a, b, p| a.join_with(b, p))
    }

    /// Left outer join of each batch.
    pub fn left_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (V, Option<W>))> {
        self.join_like(other, |a, b, p| a.left_outer_join_with(b, p))
    }

    /// Right outer join of each batch.
    pub fn right_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, W))> {
        self.join_like(other, |a, b, p| a.right_outer_join_with(b, p))
    }

    /// Full outer join of each batch.
    pub fn full_outer_join<W: Data>(
        &self,
        other: &DStream<(K, W)>,
    ) -> DStream<(K, (Option<V>, Option<W>))> {
        self.join_like(other, |a, b, p| a.full_outer_join_with(b, p))
    }
}

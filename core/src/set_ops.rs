//! Set operations between datasets, as Spark's: the records two datasets share, and the
//! records (or keys) of one that the other lacks. Each is a cogroup of the two sides.

use std::hash::Hash;

use crate::dataset::Dataset;
use crate::pair::IntoPartitioner;
use crate::Data;

impl<T: Data + Hash + Eq> Dataset<T> {
    /// The distinct records found in both datasets, as Spark's `intersection`, in as many
    /// partitions as the larger of the two.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let a = ctx.parallelize(vec![1, 10, 2, 3, 4, 5], 2);
    ///     let b = ctx.parallelize(vec![1, 6, 2, 3, 7, 8], 2);
    ///     let mut both = a.intersection(&b).collect().unwrap();
    ///     both.sort();
    ///     assert_eq!(both, vec![1, 2, 3]);
    /// });
    /// ```
    pub fn intersection(&self, other: &Dataset<T>) -> Dataset<T> {
        let n = self.num_partitions().max(other.num_partitions());
        self.map(|x| (x, ()))
            .cogroup_with(&other.map(|x| (x, ())), n)
            .filter(|(_, (a, b))| !a.is_empty() && !b.is_empty())
            .keys()
    }

    /// The records of this dataset that are not in `other` (duplicates kept), as Spark's
    /// `subtract`, in as many partitions as this one.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4), ('b', 5), ('a', 3)], 2);
    ///     let y = ctx.parallelize(vec![('a', 3), ('c', 0)], 1);
    ///     let mut left = x.subtract(&y).collect().unwrap();
    ///     left.sort();
    ///     assert_eq!(left, vec![('a', 1), ('b', 4), ('b', 5)]);
    /// });
    /// ```
    pub fn subtract(&self, other: &Dataset<T>) -> Dataset<T> {
        let n = self.num_partitions();
        self.map(|x| (x, ()))
            .subtract_by_key_with(&other.map(|x| (x, ())), n)
            .keys()
    }
}

impl<K: Data + Hash + Eq, V: Data> Dataset<(K, V)> {
    /// The pairs whose key is not a key of `other`, as Spark's `subtractByKey`, in this
    /// dataset's partitioning (or as many hash partitions as it has).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4), ('b', 5), ('a', 2)], 2);
    ///     let y = ctx.parallelize(vec![('a', 3), ('c', 0)], 1);
    ///     let mut left = x.subtract_by_key(&y).collect().unwrap();
    ///     left.sort();
    ///     assert_eq!(left, vec![('b', 4), ('b', 5)]);
    /// });
    /// ```
    pub fn subtract_by_key<W: Data>(&self, other: &Dataset<(K, W)>) -> Dataset<(K, V)> {
        match self.partitioner() {
            Some(p) => self.subtract_by_key_with(other, p),
            None => self.subtract_by_key_with(other, self.num_partitions()),
        }
    }

    /// As [`subtract_by_key`](Self::subtract_by_key), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let x = ctx.parallelize(vec![('a', 1), ('b', 4), ('b', 5), ('a', 2)], 2);
    ///     let y = ctx.parallelize(vec![('a', 3), ('c', 0)], 1);
    ///     let left = x.subtract_by_key_with(&y, 3);
    ///     assert_eq!(left.num_partitions(), 3);
    ///     let mut left = left.collect().unwrap();
    ///     left.sort();
    ///     assert_eq!(left, vec![('b', 4), ('b', 5)]);
    /// });
    /// ```
    pub fn subtract_by_key_with<W: Data>(
        &self,
        other: &Dataset<(K, W)>,
        partitioning: impl IntoPartitioner<K>,
    ) -> Dataset<(K, V)> {
        self.cogroup_with(other, partitioning)
            .flat_map_values_with_key(|_, (vs, ws)| if ws.is_empty() { vs } else { Vec::new() })
    }
}

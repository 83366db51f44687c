//! Operations that order records: the largest and smallest records (by their own order, by
//! a key, or by a comparison such as `f64::total_cmp`), the first records in such an order,
//! and sorting by a key function.

use std::hash::Hash;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::Data;

impl<T: Data> Dataset<T> {
    /// The largest record, as Spark's `max` (the first of equal ones).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1, 5, 43, 10], 2).max().unwrap(), 43);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn max(&self) -> Result<T>
    where
        T: Ord,
    {
        self.max_by_key(|x| x.clone())
    }

    /// The smallest record, as Spark's `min` (the first of equal ones).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![2, 5, 43, 10], 2).min().unwrap(), 2);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn min(&self) -> Result<T>
    where
        T: Ord,
    {
        self.min_by_key(|x| x.clone())
    }

    /// The record whose key `f` is largest, as PySpark's `max(key=f)` (the first of equal
    /// keys).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 5, 43, 10], 2);
    ///     assert_eq!(d.max_by_key(|x| x.to_string()).unwrap(), 5);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn max_by_key<K: Ord>(&self, f: impl Fn(&T) -> K + Sync) -> Result<T> {
        self.extreme(&f, std::cmp::Ordering::Greater, "max")
    }

    /// The record whose key `f` is smallest, as PySpark's `min(key=f)` (the first of equal
    /// keys).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![2, 5, 43, 10], 2);
    ///     assert_eq!(d.min_by_key(|x| x.to_string()).unwrap(), 10);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn min_by_key<K: Ord>(&self, f: impl Fn(&T) -> K + Sync) -> Result<T> {
        self.extreme(&f, std::cmp::Ordering::Less, "min")
    }

    /// The largest record by the comparison `cmp` (the first of equal ones), as
    /// `Iterator::max_by`: with `f64::total_cmp`, floats need no wrapper.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1.5, -2.0, 43.25, 10.0], 2);
    ///     assert_eq!(d.max_by(f64::total_cmp).unwrap(), 43.25);
    ///     assert_eq!(d.min_by(f64::total_cmp).unwrap(), -2.0);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn max_by(&self, cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync) -> Result<T> {
        self.extreme_by(&cmp, std::cmp::Ordering::Greater, "max")
    }

    /// The smallest record by the comparison `cmp` (the first of equal ones), as
    /// `Iterator::min_by`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![2.0, 5.0, 43.0, 10.0], 2);
    ///     assert_eq!(d.min_by(f64::total_cmp).unwrap(), 2.0);
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn min_by(&self, cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync) -> Result<T> {
        self.extreme_by(&cmp, std::cmp::Ordering::Less, "min")
    }

    /// The first record (in partition order) that beats every other by `wins` under `cmp`.
    fn extreme_by(
        &self,
        cmp: &(impl Fn(&T, &T) -> std::cmp::Ordering + Sync),
        wins: std::cmp::Ordering,
        what: &'static str,
    ) -> Result<T> {
        let better = |best: Option<T>, x: T| match best {
            Some(b) if cmp(&x, &b) != wins => Some(b),
            _ => Some(x),
        };
        let parts =
            self.fold_partitions(|| None, |acc: Option<T>, b| b.into_iter().fold(acc, better))?;
        parts
            .into_iter()
            .flatten()
            .fold(None, better)
            .ok_or(Error::EmptyDataset(what))
    }

    /// The `n` largest records by the comparison `cmp`, largest first (records that compare
    /// equal in partition order).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![0.5, 3.0, -1.0, 2.0], 2);
    ///     assert_eq!(d.top_by(2, f64::total_cmp).unwrap(), vec![3.0, 2.0]);
    ///     assert_eq!(d.take_ordered_by(2, f64::total_cmp).unwrap(), vec![-1.0, 0.5]);
    /// });
    /// ```
    pub fn top_by(
        &self,
        n: usize,
        cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
    ) -> Result<Vec<T>> {
        let cmp = &cmp;
        self.take_by(n, |a, b| cmp(b, a))
    }

    /// The `n` smallest records by the comparison `cmp`, smallest first (records that
    /// compare equal in partition order).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![10.0, 1.0, 2.0, 9.0, 3.0, 4.0, 5.0, 6.0, 7.0], 2);
    ///     assert_eq!(d.take_ordered_by(6, f64::total_cmp).unwrap(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    ///     let descending = d.take_ordered_by(6, |a, b| b.total_cmp(a)).unwrap();
    ///     assert_eq!(descending, vec![10.0, 9.0, 7.0, 6.0, 5.0, 4.0]);
    /// });
    /// ```
    pub fn take_ordered_by(
        &self,
        n: usize,
        cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync,
    ) -> Result<Vec<T>> {
        let cmp = &cmp;
        self.take_by(n, |a, b| cmp(a, b))
    }

    /// The first record (in partition order) whose key beats every other's by `wins`.
    fn extreme<K: Ord>(
        &self,
        f: &(impl Fn(&T) -> K + Sync),
        wins: std::cmp::Ordering,
        what: &'static str,
    ) -> Result<T> {
        let better = |best: Option<(K, T)>, x: T| -> Option<(K, T)> {
            let k = f(&x);
            match best {
                Some((bk, b)) if k.cmp(&bk) != wins => Some((bk, b)),
                _ => Some((k, x)),
            }
        };
        let parts = self.fold_partitions(
            || None,
            |acc: Option<T>, b| {
                let seed = acc.map(|a| (f(&a), a));
                b.into_iter().fold(seed, better).map(|(_, x)| x)
            },
        )?;
        parts
            .into_iter()
            .flatten()
            .fold(None, better)
            .map(|(_, x)| x)
            .ok_or(Error::EmptyDataset(what))
    }

    /// The `n` records with the largest keys `f`, largest first, as PySpark's
    /// `top(n, key=f)` (records of equal keys in partition order).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![10, 4, 2, 12, 3], 2);
    ///     assert_eq!(d.top_by_key(3, |x| x.to_string()).unwrap(), vec![4, 3, 2]);
    /// });
    /// ```
    pub fn top_by_key<K: Ord>(&self, n: usize, f: impl Fn(&T) -> K + Sync) -> Result<Vec<T>> {
        let f = &f;
        self.take_by(n, |a, b| f(b).cmp(&f(a)))
    }

    /// The `n` records with the smallest keys `f`, smallest first, as PySpark's
    /// `takeOrdered(n, key=f)` (records of equal keys in partition order).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![10, 1, 2, 9, 3, 4, 5, 6, 7], 2);
    ///     assert_eq!(
    ///         d.take_ordered_by_key(6, |x| -x).unwrap(),
    ///         vec![10, 9, 7, 6, 5, 4]
    ///     );
    /// });
    /// ```
    pub fn take_ordered_by_key<K: Ord>(
        &self,
        n: usize,
        f: impl Fn(&T) -> K + Sync,
    ) -> Result<Vec<T>> {
        let f = &f;
        self.take_by(n, |a, b| f(a).cmp(&f(b)))
    }

    /// The records sorted by the key `f` gives them, as Spark's `sortBy`: a range
    /// partitioning of the keys (sampled, so this runs a job), sorted within each
    /// partition, into `num_partitions` partitions (default: as many as now).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 2), ('1', 3), ('d', 4), ('2', 5)], 2);
    ///     let by_name: Vec<i32> = d.sort_by(|r| r.0, true, None).unwrap()
    ///         .map(|r| r.1).collect().unwrap();
    ///     assert_eq!(by_name, vec![3, 5, 1, 2, 4]);
    /// });
    /// ```
    ///
    /// # Errors
    /// A failure of the sampling job.
    pub fn sort_by<K: Data + Ord + Hash + Eq + std::fmt::Debug>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        ascending: bool,
        num_partitions: Option<usize>,
    ) -> Result<Dataset<T>> {
        Ok(self
            .key_by(f)
            .sort_by_key(ascending, num_partitions)?
            .values())
    }
}

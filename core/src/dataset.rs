//! [`Dataset<T>`]: the user-facing distributed collection, like Spark's `RDD[T]`.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::batch::Batch;
use crate::context::Context;
use crate::error::{Error, Result};
use crate::partitioner::ErasedPartitioner;
use crate::rdd::{
    through_records, BatchIter, CartesianRdd, CheckpointRdd, CoalescedRdd, Dependency,
    MapPartitions, Rdd, RddBase, RddMeta, Records, Tc, UnionRdd, ZippedRdd,
};
use crate::scheduler::run_job;
use crate::storage::StorageLevel;
use crate::Data;

/// A partitioned, immutable, lazily computed collection of records, like Spark's `RDD`.
///
/// Transformations (`map`, `filter`, `reduce_by_key`, ...) only record lineage and return a
/// new dataset; actions (`collect`, `count`, `reduce`, ...) run a job. Cloning a dataset is
/// cheap and shares its lineage and cache.
///
/// # Examples
/// ```
/// let ctx = firesteel_core::Context::local(2).unwrap();
/// let lines: Vec<String> = vec!["a b".into(), "b c".into(), "c".into()];
/// let words = ctx.parallelize(lines, 2)
///     .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>());
/// let mut counts = words.map(|w| (w, 1u32)).reduce_by_key(|a, b| a + b).collect().unwrap();
/// counts.sort();
/// assert_eq!(counts, vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 2)]);
/// ```
#[must_use = "datasets are lazy and do nothing until an action runs"]
pub struct Dataset<T> {
    pub(crate) ctx: Context,
    pub(crate) rdd: Arc<dyn Rdd<T>>,
}

impl<T> Clone for Dataset<T> {
    fn clone(&self) -> Self {
        Dataset {
            ctx: self.ctx.clone(),
            rdd: self.rdd.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for Dataset<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dataset({})", self.rdd.describe())
    }
}

/// Seeds a partition's random generator from the user seed and the partition index.
pub(crate) fn partition_rng(seed: u64, partition: usize) -> Pcg64 {
    Pcg64::seed_from_u64(seed ^ (partition as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// A Poisson(λ) draw by Knuth's method (λ is a sampling fraction, so small).
pub(crate) fn poisson(rng: &mut Pcg64, lambda: f64) -> usize {
    let l = (-lambda).exp();
    let (mut k, mut p) = (0usize, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

impl<T: Data> Dataset<T> {
    pub(crate) fn from_rdd(ctx: &Context, rdd: Arc<dyn Rdd<T>>) -> Self {
        Dataset {
            ctx: ctx.clone(),
            rdd,
        }
    }

    pub(crate) fn meta(&self, op: &'static str) -> RddMeta {
        RddMeta::new(&self.ctx.inner, op)
    }

    /// The dataset's id, unique within its context and allocated in program order.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let nums = ctx.parallelize(vec![1, 2, 3], 2);
    ///     let doubled = nums.map(|x| x * 2);
    ///     assert_eq!((nums.id(), doubled.id(), doubled.clone().id()), (0, 1, 1));
    /// });
    /// ```
    pub fn id(&self) -> usize {
        self.rdd.id()
    }

    /// The context the dataset belongs to.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.range(0, 5, 1, 2).unwrap();
    ///     assert_eq!(d.context().scratch_dir(), ctx.scratch_dir());
    /// });
    /// ```
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Number of partitions.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1, 2, 3, 4], 2).num_partitions(), 2);
    /// });
    /// ```
    pub fn num_partitions(&self) -> usize {
        self.rdd.num_partitions()
    }

    /// Whether the dataset knows a partitioner (it was produced by a shuffle, or by a
    /// transformation that keeps the partitioning, such as `map_values` or `filter`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let pairs = ctx.parallelize(vec![(1, 'a'), (2, 'b')], 2);
    ///     let by_key = pairs.partition_by(2);
    ///     assert_eq!((pairs.is_partitioned(), by_key.is_partitioned()), (false, true));
    ///     let (kept, lost) = (by_key.map_values(|c| c), by_key.map(|p| p));
    ///     assert_eq!((kept.is_partitioned(), lost.is_partitioned()), (true, false));
    /// });
    /// ```
    pub fn is_partitioned(&self) -> bool {
        self.rdd.partitioner().is_some()
    }

    pub(crate) fn erased_partitioner(&self) -> Option<ErasedPartitioner> {
        self.rdd.partitioner()
    }

    /// A new narrow node running `f` on each partition's batch stream.
    pub(crate) fn map_batches_of_partitions<U: Data>(
        &self,
        op: &'static str,
        preserves_partitioning: bool,
        f: impl Fn(&Tc, usize, BatchIter<T>) -> BatchIter<U> + Send + Sync + 'static,
    ) -> Dataset<U> {
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(MapPartitions {
                meta: self.meta(op),
                parent: self.rdd.clone(),
                f: Arc::new(f),
                preserves_partitioning,
                kind: "MapPartitionsDataset",
            }),
        )
    }

    /// Applies `f` to every record.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!['b', 'a', 'c'], 2);
    ///     let mut pairs = d.map(|x| (x, 1)).collect().unwrap();
    ///     pairs.sort();
    ///     assert_eq!(pairs, vec![('a', 1), ('b', 1), ('c', 1)]);
    /// });
    /// ```
    pub fn map<U: Data>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Dataset<U> {
        let f = Arc::new(f);
        self.map_batches_of_partitions("map", false, move |_, _, it| {
            let f = f.clone();
            Box::new(it.map(move |b| b.map(|b| b.map_vec(&*f).into())))
        })
    }

    /// Applies a fallible `f` to every record. The first error fails the task (and, once its
    /// attempts run out, the job, with this error as the cause): use it to parse input and
    /// report bad records, for example as [`Error::parse`] naming the file and line.
    ///
    /// ```
    /// use firesteel_core::Error;
    /// firesteel_core::example(|ctx| {
    ///     let parse = |s: String| s.parse::<u32>().map_err(|e| Error::InvalidArgument(e.to_string()));
    ///     let good = ctx.parallelize(vec!["1".to_string(), "22".into()], 2);
    ///     assert_eq!(good.try_map(parse).collect().unwrap(), vec![1, 22]);
    ///     let bad = ctx.parallelize(vec!["1".to_string(), "x".into()], 2).try_map(parse);
    ///     let err = bad.collect().unwrap_err();
    ///     assert_eq!(err.root_cause().to_string(), "invalid argument: invalid digit found in string");
    /// });
    /// ```
    pub fn try_map<U: Data>(
        &self,
        f: impl Fn(T) -> Result<U> + Send + Sync + 'static,
    ) -> Dataset<U> {
        let f = Arc::new(f);
        self.map_batches_of_partitions("try_map", false, move |_, _, it| {
            let f = f.clone();
            Box::new(it.map(move |b| {
                let b = b?;
                let mut out = Vec::with_capacity(b.len());
                for x in b {
                    out.push(f(x)?);
                }
                Ok(out.into())
            }))
        })
    }

    /// As [`map_partitions`](Self::map_partitions) with a fallible `f`, which gets the
    /// partition index and its records and returns all its output at once.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4], 2);
    ///     let sums = d.try_map_partitions(|i, recs| Ok(vec![(i, recs.sum::<i32>())]));
    ///     assert_eq!(sums.collect().unwrap(), vec![(0, 3), (1, 7)]);
    /// });
    /// ```
    pub fn try_map_partitions<U: Data>(
        &self,
        f: impl Fn(usize, Records<T>) -> Result<Vec<U>> + Send + Sync + 'static,
    ) -> Dataset<U> {
        let f = Arc::new(f);
        self.map_batches_of_partitions("try_map_partitions", false, move |_, split, it| {
            let slot = crate::rdd::ErrorSlot::default();
            let out = f(split, Records::new(it, slot.clone()));
            let parked = slot.borrow_mut().take();
            match (parked, out) {
                (Some(e), _) | (None, Err(e)) => Box::new(std::iter::once(Err(e))),
                (None, Ok(v)) => crate::rdd::batches_from_vec(v),
            }
        })
    }

    /// Keeps the records for which `f` is true. Keeps the partitioner.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    ///     assert_eq!(d.filter(|x| x % 2 == 0).collect().unwrap(), vec![2, 4]);
    /// });
    /// ```
    pub fn filter(&self, f: impl Fn(&T) -> bool + Send + Sync + 'static) -> Dataset<T> {
        let f = Arc::new(f);
        self.map_batches_of_partitions("filter", true, move |_, _, it| {
            let f = f.clone();
            Box::new(
                it.map(move |b| b.map(|b| b.filter(|x| f(x))))
                    .filter(|b| !matches!(b, Ok(b) if b.is_empty())),
            )
        })
    }

    /// Maps each record to any number of records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![2, 3, 4], 2);
    ///     let mut out = d.flat_map(|x| 1..x).collect().unwrap();
    ///     out.sort();
    ///     assert_eq!(out, vec![1, 1, 1, 2, 2, 3]);
    /// });
    /// ```
    pub fn flat_map<U: Data, I>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Dataset<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.map_batches_of_partitions("flat_map", false, move |_, _, it| {
            let f = f.clone();
            crate::rdd::flat_map_batches(it, move |x| f(x).into_iter())
        })
    }

    /// Transforms each partition as a whole: `f` gets an iterator over the partition's
    /// records and returns the new records (lazily, if it likes).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4], 2);
    ///     let sums = d.map_partitions(|recs| [recs.sum::<i32>()]);
    ///     assert_eq!(sums.collect().unwrap(), vec![3, 7]);
    /// });
    /// ```
    pub fn map_partitions<U: Data, I>(
        &self,
        f: impl Fn(Records<T>) -> I + Send + Sync + 'static,
    ) -> Dataset<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.map_batches_of_partitions("map_partitions", false, move |_, _, it| {
            let f = f.clone();
            through_records(it, move |recs| f(recs).into_iter())
        })
    }

    /// As [`map_partitions`](Self::map_partitions), also passing the partition index.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4], 4);
    ///     assert_eq!(d.map_partitions_with_index(|i, _| [i]).sum().unwrap(), 6);
    /// });
    /// ```
    pub fn map_partitions_with_index<U: Data, I>(
        &self,
        f: impl Fn(usize, Records<T>) -> I + Send + Sync + 'static,
    ) -> Dataset<U>
    where
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: 'static,
    {
        let f = Arc::new(f);
        self.map_batches_of_partitions("map_partitions_with_index", false, move |_, split, it| {
            let f = f.clone();
            through_records(it, move |recs| f(split, recs).into_iter())
        })
    }

    /// Names the dataset, as Spark's `setName`: the name appears in
    /// [`to_debug_string`](Self::to_debug_string) and in the names of the jobs and stages
    /// that compute it (metrics and listeners). Returns the dataset.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(|x| x * 2).set_name("doubled");
    ///     assert_eq!(d.name().as_deref(), Some("doubled"));
    ///     assert!(d.to_debug_string().contains("doubled MapPartitionsDataset["));
    /// });
    /// ```
    pub fn set_name(&self, name: &str) -> Dataset<T> {
        self.rdd.meta().set_name(name);
        self.clone()
    }

    /// The dataset's name, if the program gave it one (Spark's `name`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2], 2);
    ///     assert_eq!(d.name(), None);
    ///     assert_eq!(d.set_name("I am a dataset").name().as_deref(), Some("I am a dataset"));
    /// });
    /// ```
    pub fn name(&self) -> Option<String> {
        self.rdd.meta().name().map(|n| n.to_string())
    }

    /// One `Vec` per partition holding its records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4], 2);
    ///     assert_eq!(d.glom().collect().unwrap(), vec![vec![1, 2], vec![3, 4]]);
    /// });
    /// ```
    pub fn glom(&self) -> Dataset<Vec<T>> {
        self.map_batches_of_partitions("glom", false, |_, _, it| {
            let mut all: Vec<T> = Vec::new();
            for b in it {
                match b {
                    Ok(b) => all.extend(b),
                    Err(e) => return Box::new(std::iter::once(Err(e))),
                }
            }
            Box::new(std::iter::once(Ok(vec![all].into())))
        })
    }

    /// The records of both datasets (duplicates kept), with their partitions side by side.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 1, 2, 3], 2);
    ///     let twice = d.union(&d);
    ///     assert_eq!(twice.num_partitions(), 4);
    ///     assert_eq!(twice.collect().unwrap(), vec![1, 1, 2, 3, 1, 1, 2, 3]);
    /// });
    /// ```
    pub fn union(&self, other: &Dataset<T>) -> Dataset<T> {
        self.ctx.union(&[self.clone(), other.clone()])
    }

    /// A sample of the records: each kept with probability `fraction` (without
    /// replacement), or kept a Poisson(`fraction`) number of times (with replacement).
    /// The same seed and partitioning give the same sample.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..100).collect::<Vec<u32>>(), 4);
    ///     let n = d.sample(false, 0.1, 81).unwrap().count().unwrap();
    ///     assert!((6..=14).contains(&n));
    ///     assert_eq!(d.sample(false, 0.1, 81).unwrap().count().unwrap(), n);
    /// });
    /// ```
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> Result<Dataset<T>> {
        if fraction.is_nan() || fraction < 0.0 || (!with_replacement && fraction > 1.0) {
            return Err(Error::InvalidArgument(format!(
                "sample fraction must be in [0, 1] without replacement and >= 0 with, got {fraction}"
            )));
        }
        Ok(
            self.map_batches_of_partitions("sample", true, move |_, split, it| {
                let mut rng = partition_rng(seed, split);
                Box::new(it.map(move |b| {
                    b.map(|b| {
                        let mut out = Vec::with_capacity((b.len() as f64 * fraction) as usize + 1);
                        for x in b {
                            if with_replacement {
                                for _ in 0..poisson(&mut rng, fraction) {
                                    out.push(x.clone());
                                }
                            } else if rng.random::<f64>() < fraction {
                                out.push(x);
                            }
                        }
                        out.into()
                    })
                }))
            }),
        )
    }

    /// Splits the records randomly by `weights` (normalized): every record lands in exactly
    /// one split, as with Spark's `randomSplit`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..500).collect::<Vec<u32>>(), 1);
    ///     let parts = d.random_split(&[2.0, 3.0], 17).unwrap();
    ///     let (a, b) = (parts[0].count().unwrap(), parts[1].count().unwrap());
    ///     assert_eq!(a + b, 500);
    ///     assert!(150 < a && a < 250 && 250 < b && b < 350);
    /// });
    /// ```
    pub fn random_split(&self, weights: &[f64], seed: u64) -> Result<Vec<Dataset<T>>> {
        if weights.is_empty() || weights.iter().any(|w| w.is_nan() || *w < 0.0) {
            return Err(Error::InvalidArgument(
                "random_split weights must be non-negative".into(),
            ));
        }
        let total: f64 = weights.iter().sum();
        if total.is_nan() || total <= 0.0 {
            return Err(Error::InvalidArgument(
                "random_split weights must sum to more than 0".into(),
            ));
        }
        let mut bounds = vec![0.0];
        for w in weights {
            bounds.push(bounds.last().unwrap() + w / total);
        }
        *bounds.last_mut().unwrap() = 1.0;
        Ok(bounds
            .windows(2)
            .map(|w| {
                let (lo, hi) = (w[0], w[1]);
                self.map_batches_of_partitions("random_split", true, move |_, split, it| {
                    let mut rng = partition_rng(seed, split);
                    Box::new(it.map(move |b| {
                        b.map(|b| {
                            b.filter(|_| {
                                let u = rng.random::<f64>();
                                lo <= u && u < hi
                            })
                        })
                    }))
                })
            })
            .collect())
    }

    /// Pairs records by position with another dataset that has the same number of
    /// partitions and of records in each partition.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let a = ctx.parallelize((0..5).collect::<Vec<u32>>(), 2);
    ///     let b = ctx.parallelize((1000..1005).collect::<Vec<u32>>(), 2);
    ///     let pairs = a.zip(&b).unwrap().collect().unwrap();
    ///     assert_eq!(pairs, vec![(0, 1000), (1, 1001), (2, 1002), (3, 1003), (4, 1004)]);
    ///     assert!(a.zip(&ctx.parallelize(vec![1], 1)).is_err());
    /// });
    /// ```
    ///
    /// # Errors
    /// Different partition counts (here); different record counts (when the job runs).
    pub fn zip<U: Data>(&self, other: &Dataset<U>) -> Result<Dataset<(T, U)>> {
        if self.num_partitions() != other.num_partitions() {
            return Err(Error::InvalidArgument(format!(
                "can only zip datasets with the same number of partitions ({} vs {})",
                self.num_partitions(),
                other.num_partitions()
            )));
        }
        Ok(Dataset::from_rdd(
            &self.ctx,
            Arc::new(ZippedRdd {
                meta: self.meta("zip"),
                left: self.rdd.clone(),
                right: other.rdd.clone(),
            }),
        ))
    }

    /// Computes each partition from the matching partitions of `self` and `other`, which
    /// must have the same number of partitions (Spark's `zipPartitions`). With
    /// `preserves_partitioning`, the result keeps `self`'s partitioner.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let nums = ctx.parallelize(vec![1, 2, 3, 4], 2);
    ///     let chars = ctx.parallelize(vec!['a', 'b', 'c'], 2);
    ///     let sizes = nums.zip_partitions(&chars, false, |n, c| [(n.count(), c.count())]).unwrap();
    ///     assert_eq!(sizes.collect().unwrap(), vec![(2, 1), (2, 2)]);
    /// });
    /// ```
    ///
    /// # Errors
    /// Different partition counts.
    pub fn zip_partitions<U: Data, V: Data, I>(
        &self,
        other: &Dataset<U>,
        preserves_partitioning: bool,
        f: impl Fn(Records<T>, Records<U>) -> I + Send + Sync + 'static,
    ) -> Result<Dataset<V>>
    where
        I: IntoIterator<Item = V> + 'static,
        I::IntoIter: 'static,
    {
        if self.num_partitions() != other.num_partitions() {
            return Err(Error::InvalidArgument(format!(
                "can only zip partitions of datasets with the same number of partitions ({} vs {})",
                self.num_partitions(),
                other.num_partitions()
            )));
        }
        let f = Arc::new(f);
        let zf = move |l: BatchIter<T>, r: BatchIter<U>| -> BatchIter<V> {
            let f = f.clone();
            let slot = crate::rdd::ErrorSlot::default();
            let out = f(Records::new(l, slot.clone()), Records::new(r, slot.clone()));
            crate::rdd::rebatch_checked(out.into_iter(), slot)
        };
        Ok(Dataset::from_rdd(
            &self.ctx,
            Arc::new(crate::rdd::ZipPartitionsRdd {
                meta: self.meta("zip_partitions"),
                left: self.rdd.clone(),
                right: other.rdd.clone(),
                f: Arc::new(zf),
                preserves_partitioning,
            }),
        ))
    }

    /// Pairs each record with its index: partition order, then position. Like Spark, this
    /// runs a job to count the records of all partitions but the last.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!['a', 'b', 'c', 'd'], 3);
    ///     let indexed = d.zip_with_index().unwrap().collect().unwrap();
    ///     assert_eq!(indexed, vec![('a', 0), ('b', 1), ('c', 2), ('d', 3)]);
    /// });
    /// ```
    pub fn zip_with_index(&self) -> Result<Dataset<(T, u64)>> {
        let n = self.num_partitions();
        let counts = if n > 1 {
            let parts: Vec<usize> = (0..n - 1).collect();
            self.run(&parts, |_, it| {
                let mut c = 0u64;
                for b in it {
                    c += b?.len() as u64;
                }
                Ok(c)
            })?
        } else {
            Vec::new()
        };
        let mut offsets = vec![0u64];
        for c in counts {
            offsets.push(offsets.last().unwrap() + c);
        }
        let offsets = Arc::new(offsets);
        Ok(
            self.map_batches_of_partitions("zip_with_index", false, move |_, split, it| {
                let mut next = offsets[split];
                Box::new(it.map(move |b| {
                    b.map(|b| {
                        b.map_vec(|x| {
                            next += 1;
                            (x, next - 1)
                        })
                        .into()
                    })
                }))
            }),
        )
    }

    /// Pairs each record with a unique id without running a job, as Spark's
    /// `zipWithUniqueId`: the records of partition `k` of `n` get `k`, `n + k`, `2n + k`,
    /// and so on, so there may be gaps.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec!['a', 'b', 'c', 'd', 'e'], 3);
    ///     assert_eq!(
    ///         d.zip_with_unique_id().collect().unwrap(),
    ///         vec![('a', 0), ('b', 1), ('c', 4), ('d', 2), ('e', 5)]
    ///     );
    /// });
    /// ```
    pub fn zip_with_unique_id(&self) -> Dataset<(T, u64)> {
        let n = self.num_partitions() as u64;
        self.map_batches_of_partitions("zip_with_unique_id", false, move |_, split, it| {
            let mut next = split as u64;
            Box::new(it.map(move |b| {
                b.map(|b| {
                    b.map_vec(|x| {
                        next += n;
                        (x, next - n)
                    })
                    .into()
                })
            }))
        })
    }

    /// The records grouped by the key `f` gives them, as Spark's `groupBy`, in the
    /// default partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 1, 2, 3, 5, 8], 2);
    ///     let mut groups = d.group_by(|x| x % 2).collect().unwrap();
    ///     groups.sort();
    ///     for g in &mut groups {
    ///         g.1.sort();
    ///     }
    ///     assert_eq!(groups, vec![(0, vec![2, 8]), (1, vec![1, 1, 3, 5])]);
    /// });
    /// ```
    pub fn group_by<K: Data + Hash + Eq>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> Dataset<(K, Vec<T>)> {
        self.key_by(f).group_by_key()
    }

    /// As [`group_by`](Self::group_by), into the given partitioning.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 1, 2, 3, 5, 8], 2);
    ///     let groups = d.group_by_with(|x| x % 2, 3);
    ///     assert_eq!(groups.num_partitions(), 3);
    ///     let mut groups = groups.collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups, vec![(0, vec![2, 8]), (1, vec![1, 1, 3, 5])]);
    /// });
    /// ```
    pub fn group_by_with<K: Data + Hash + Eq>(
        &self,
        f: impl Fn(&T) -> K + Send + Sync + 'static,
        partitioning: impl crate::pair::IntoPartitioner<K>,
    ) -> Dataset<(K, Vec<T>)> {
        self.key_by(f).group_by_key_with(partitioning)
    }

    /// Fewer partitions. Without shuffle, runs of neighbouring partitions are merged (a
    /// count above the current one leaves it unchanged); with shuffle this is `repartition`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 3);
    ///     assert_eq!(d.glom().collect().unwrap(), vec![vec![1], vec![2, 3], vec![4, 5]]);
    ///     assert_eq!(d.coalesce(1, false).glom().collect().unwrap(), vec![vec![1, 2, 3, 4, 5]]);
    /// });
    /// ```
    pub fn coalesce(&self, num_partitions: usize, shuffle: bool) -> Dataset<T> {
        let n = num_partitions.max(1);
        if shuffle {
            return self.repartition(n);
        }
        let p = self.num_partitions();
        if n >= p {
            return self.clone();
        }
        let groups = (0..n).map(|i| (i * p / n)..((i + 1) * p / n)).collect();
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(CoalescedRdd {
                meta: self.meta("coalesce"),
                parent: self.rdd.clone(),
                groups,
            }),
        )
    }

    /// Exactly `num_partitions` partitions, by a shuffle that deals each partition's records
    /// round-robin, as Spark does: partition `i` starts after the position that Spark's
    /// `new XORShiftRandom(i).nextInt(num_partitions)` picks, so the layout is Scala
    /// Spark's.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5, 6, 7], 4);
    ///     assert_eq!(d.glom().collect().unwrap(), vec![vec![1], vec![2, 3], vec![4, 5], vec![6, 7]]);
    ///     // The four partitions start at 0, 0, 1 and 1, and deal from the next position.
    ///     assert_eq!(d.repartition(2).glom().collect().unwrap(), vec![vec![3, 4, 6], vec![1, 2, 5, 7]]);
    ///     assert_eq!(d.repartition(10).glom().collect().unwrap().len(), 10);
    /// });
    /// ```
    pub fn repartition(&self, num_partitions: usize) -> Dataset<T> {
        let n = num_partitions.clamp(1, i32::MAX as usize);
        let keyed = self.map_partitions_with_index(move |i, recs| {
            let mut pos =
                crate::xorshift::XorShiftRandom::new(i as i64).next_int(n as i32) as usize;
            recs.map(move |x| {
                pos = (pos + 1) % n;
                (pos as u64, x)
            })
        });
        keyed
            .partition_by(
                Arc::new(crate::ModPartitioner::new(n)) as Arc<dyn crate::Partitioner<u64>>
            )
            .values()
    }

    /// Every pair of a record of `self` with a record of `other`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2], 2);
    ///     let mut pairs = d.cartesian(&d).collect().unwrap();
    ///     pairs.sort();
    ///     assert_eq!(pairs, vec![(1, 1), (1, 2), (2, 1), (2, 2)]);
    /// });
    /// ```
    pub fn cartesian<U: Data>(&self, other: &Dataset<U>) -> Dataset<(T, U)> {
        Dataset::from_rdd(
            &self.ctx,
            Arc::new(CartesianRdd {
                meta: self.meta("cartesian"),
                left: self.rdd.clone(),
                right: other.rdd.clone(),
            }),
        )
    }

    /// Pairs each record with the key `f` gives it.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let squares = ctx.parallelize(vec![0, 1, 2], 2).key_by(|x| x * x);
    ///     assert_eq!(squares.collect().unwrap(), vec![(0, 0), (1, 1), (4, 2)]);
    ///     let pairs = ctx.parallelize((0..5).map(|x| (x, x)).collect(), 2);
    ///     let mut groups = squares.cogroup(&pairs).collect().unwrap();
    ///     groups.sort();
    ///     assert_eq!(groups[2], (2, (vec![], vec![2])));
    ///     assert_eq!(groups[4], (4, (vec![2], vec![4])));
    /// });
    /// ```
    pub fn key_by<K: Data>(&self, f: impl Fn(&T) -> K + Send + Sync + 'static) -> Dataset<(K, T)> {
        self.map(move |x| (f(&x), x))
    }

    /// The distinct records (by shuffle, so their order is not the input's).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let mut d = ctx.parallelize(vec![1, 1, 2, 3], 2).distinct().collect().unwrap();
    ///     d.sort();
    ///     assert_eq!(d, vec![1, 2, 3]);
    /// });
    /// ```
    pub fn distinct(&self) -> Dataset<T>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, ())).reduce_by_key(|_, _| ()).keys()
    }

    // ----- persistence -----

    /// Keeps computed partitions in memory (`persist(StorageLevel::MemoryOnly)`).
    ///
    /// ```
    /// use firesteel_core::StorageLevel;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.range(0, 5, 1, 2).unwrap();
    ///     let cached = d.cache();
    ///     assert_eq!(cached.id(), d.id()); // the same dataset
    ///     assert_eq!(d.storage_level(), Some(StorageLevel::MemoryOnly));
    ///     assert_eq!(d.count().unwrap(), 5);
    ///     assert!(d.cached_bytes() > 0);
    /// });
    /// ```
    pub fn cache(&self) -> Dataset<T> {
        self.persist(StorageLevel::MemoryOnly)
    }

    /// Keeps computed partitions at `level` from the next action on. Changing the level of
    /// a persisted dataset drops the blocks stored at the old level.
    ///
    /// ```
    /// use firesteel_core::StorageLevel;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.range(0, 5, 1, 2).unwrap().persist(StorageLevel::MemoryAndDisk);
    ///     assert_eq!(d.storage_level(), Some(StorageLevel::MemoryAndDisk));
    ///     assert_eq!(d.collect().unwrap(), vec![0, 1, 2, 3, 4]);
    ///     let on_disk = d.persist(StorageLevel::DiskOnly);
    ///     assert_eq!(on_disk.storage_level(), Some(StorageLevel::DiskOnly));
    /// });
    /// ```
    pub fn persist(&self, level: StorageLevel) -> Dataset<T> {
        let meta = self.rdd.meta();
        if let Some(old) = meta.storage_level() {
            if old != level {
                self.ctx.inner.blocks.remove_rdd(meta.id);
            }
        }
        meta.set_storage_level(Some(level));
        self.clone()
    }

    /// Stops caching and drops the stored partitions.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.range(0, 5, 1, 2).unwrap().cache();
    ///     assert_eq!(d.count().unwrap(), 5);
    ///     assert_eq!(d.unpersist().storage_level(), None);
    ///     assert_eq!(d.cached_bytes(), 0);
    /// });
    /// ```
    pub fn unpersist(&self) -> Dataset<T> {
        self.rdd.meta().set_storage_level(None);
        self.ctx.inner.blocks.remove_rdd(self.rdd.id());
        self.clone()
    }

    /// The storage level, if persisted.
    ///
    /// ```
    /// use firesteel_core::StorageLevel;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2], 2);
    ///     assert_eq!(d.storage_level(), None);
    ///     assert_eq!(d.cache().storage_level(), Some(StorageLevel::MemoryOnly));
    /// });
    /// ```
    pub fn storage_level(&self) -> Option<StorageLevel> {
        self.rdd.meta().storage_level()
    }

    /// Estimated bytes this dataset's cached blocks hold in memory now.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..1000u64).collect(), 2).cache();
    ///     assert_eq!(d.cached_bytes(), 0);
    ///     assert_eq!(d.count().unwrap(), 1000);
    ///     assert!(d.cached_bytes() >= 1000 * 8);
    /// });
    /// ```
    pub fn cached_bytes(&self) -> usize {
        self.ctx.inner.blocks.rdd_memory(self.rdd.id())
    }

    /// Writes every partition to the context's scratch directory and returns a dataset that
    /// reads them back, with no lineage beyond the files (the partitioner is kept).
    ///
    /// Unlike Spark's `RDD.checkpoint()`, which marks the RDD and writes it after the next
    /// job, this is eager and returns the truncated dataset, like Spark SQL's
    /// `Dataset.checkpoint(eager = true)`: the lineage cut is explicit in the program.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(|x| x * 10);
    ///     let saved = d.checkpoint().unwrap();
    ///     assert_eq!(saved.collect().unwrap(), vec![10, 20, 30]);
    ///     assert_eq!(saved.to_debug_string(), "(2) ReliableCheckpointDataset[2] at checkpoint []");
    /// });
    /// ```
    pub fn checkpoint(&self) -> Result<Dataset<T>> {
        let dir = self
            .ctx
            .scratch_dir()
            .join(format!("checkpoint-{}", self.id()));
        self.checkpoint_to(dir)
    }

    /// As [`checkpoint`](Self::checkpoint), into `dir` (created; the files are named
    /// `part-00000` and so on). A dataset can be rebuilt from such a directory with
    /// [`Context::read_checkpoint`].
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).checkpoint_to(dir.path().join("nums")).unwrap();
    ///     assert!(dir.path().join("nums/part-00001").exists());
    ///     assert_eq!(d.collect().unwrap(), vec![1, 2, 3]);
    /// });
    /// ```
    pub fn checkpoint_to(&self, dir: impl AsRef<Path>) -> Result<Dataset<T>> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        // A directory that held an older checkpoint is not complete until it is rewritten.
        let marker = dir.join("_SUCCESS");
        if marker.exists() {
            std::fs::remove_file(&marker).map_err(|e| Error::io("removing", &marker, e))?;
        }
        let d2 = dir.clone();
        let parts = self.run_all(move |tc, it| {
            let name = format!("part-{:05}", tc.partition);
            let path = d2.join(&name);
            let tmp = d2.join(format!(".{name}.attempt-{}", tc.attempt));
            let mut bytes = Vec::new();
            for b in it {
                for r in b? {
                    crate::ser::encode_into(&r, &mut bytes)?;
                }
            }
            std::fs::write(&tmp, &bytes).map_err(|e| Error::io("writing", &tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| Error::io("renaming", &tmp, e))?;
            Ok(crate::checkpoint_files::Part::of(name, &bytes))
        })?;
        crate::checkpoint_files::write_manifest(&dir, &parts)?;
        Ok(Dataset::from_rdd(
            &self.ctx,
            Arc::new(CheckpointRdd {
                meta: self.meta("checkpoint"),
                files: parts.iter().map(|p| dir.join(&p.name)).collect(),
                checksums: Some(parts.iter().map(|p| p.crc).collect()),
                checkpoint_dir: Some(dir),
                partitioner: self.erased_partitioner(),
                _t: std::marker::PhantomData,
            }),
        ))
    }

    /// Stores every partition in the block store (at `MemoryAndDisk`, or the disk-backed
    /// form of the level the dataset is persisted at) and returns a dataset that reads
    /// them, with no lineage beyond them, as Spark's `localCheckpoint`: faster than
    /// [`checkpoint`](Self::checkpoint), which writes files, but not fault tolerant. A
    /// block that is gone (the dataset was unpersisted, or in cluster mode its process
    /// died) fails the job that needs it, as in Spark.
    ///
    /// Like `checkpoint`, and unlike Spark's, this is eager: it runs a job and returns
    /// the truncated dataset.
    ///
    /// ```
    /// use firesteel_core::StorageLevel;
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2).map(|x| x * 10);
    ///     let local = d.local_checkpoint().unwrap();
    ///     assert!(local.is_checkpointed() && local.checkpoint_file().is_none());
    ///     assert_eq!(d.storage_level(), Some(StorageLevel::MemoryAndDisk));
    ///     assert_eq!(local.to_debug_string(), "(2) LocalCheckpointDataset[2] at local_checkpoint []");
    ///     assert_eq!(local.collect().unwrap(), vec![10, 20, 30]);
    ///     let _ = d.unpersist();
    ///     assert!(local.collect().is_err());
    /// });
    /// ```
    ///
    /// # Errors
    /// A failed job computing the partitions.
    pub fn local_checkpoint(&self) -> Result<Dataset<T>> {
        let level = match self.storage_level() {
            None | Some(StorageLevel::MemoryOnly) => StorageLevel::MemoryAndDisk,
            Some(StorageLevel::MemoryOnlySer) => StorageLevel::MemoryAndDisk,
            Some(level) => level,
        };
        let _ = self.persist(level);
        self.run_all(|_, mut it| it.try_for_each(|b| b.map(drop)))?;
        Ok(Dataset::from_rdd(
            &self.ctx,
            Arc::new(crate::rdd::LocalCheckpointRdd {
                meta: self.meta("local_checkpoint"),
                parent: self.rdd.clone(),
            }),
        ))
    }

    /// Whether this dataset reads a checkpoint instead of computing its lineage: true for
    /// what [`checkpoint`](Self::checkpoint), [`checkpoint_to`](Self::checkpoint_to),
    /// [`local_checkpoint`](Self::local_checkpoint) and [`Context::read_checkpoint`]
    /// return, as Spark's `isCheckpointed` is after the checkpoint is written.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2);
    ///     assert!(!d.is_checkpointed());
    ///     assert!(d.checkpoint().unwrap().is_checkpointed());
    /// });
    /// ```
    pub fn is_checkpointed(&self) -> bool {
        self.rdd.is_checkpoint()
    }

    /// The directory of the checkpoint this dataset reads, as Spark's
    /// `getCheckpointFile`; `None` unless it reads a reliable checkpoint.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2);
    ///     assert_eq!(d.checkpoint_file(), None);
    ///     let saved = d.checkpoint_to(dir.path().join("c")).unwrap();
    ///     assert_eq!(saved.checkpoint_file(), Some(dir.path().join("c")));
    /// });
    /// ```
    pub fn checkpoint_file(&self) -> Option<PathBuf> {
        self.rdd.checkpoint_dir().map(Path::to_path_buf)
    }

    /// The lineage, one dataset per line, with stage boundaries (shuffles) marked `+-`,
    /// as Spark's `toDebugString`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![('a', 1), ('b', 1), ('a', 1)], 2);
    ///     let lineage = d.reduce_by_key(|a, b| a + b).to_debug_string();
    ///     let lines: Vec<&str> = lineage.lines().collect();
    ///     assert_eq!(lines[0], "(2) ShuffledDataset[1] at reduce_by_key []");
    ///     assert_eq!(lines[1], " +-(2) ParallelCollectionDataset[0] at parallelize []");
    /// });
    /// ```
    pub fn to_debug_string(&self) -> String {
        let mut out = String::new();
        let root: Arc<dyn RddBase> = self.rdd.clone();
        debug_lines(&self.ctx, &root, "", true, &mut out);
        out.pop();
        out
    }

    // ----- actions -----

    /// Runs a job over some partitions.
    pub(crate) fn run<R: Send + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        partitions: &[usize],
        f: impl Fn(&Tc, BatchIter<T>) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        run_job(&self.ctx.inner, &self.rdd, partitions, &f)
    }

    /// Runs a job over all partitions.
    pub(crate) fn run_all<R: Send + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        f: impl Fn(&Tc, BatchIter<T>) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        let parts: Vec<usize> = (0..self.num_partitions()).collect();
        self.run(&parts, f)
    }

    /// Folds each partition's batches; `init` per partition.
    pub(crate) fn fold_partitions<A: Send + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        init: impl Fn() -> A + Sync,
        f: impl Fn(A, Batch<T>) -> A + Sync,
    ) -> Result<Vec<A>> {
        self.run_all(|_, it| {
            let mut acc = init();
            for b in it {
                acc = f(acc, b?);
            }
            Ok(acc)
        })
    }

    /// All records, in partition order, on the leader only: in cluster mode, rank 0 gets
    /// `Some(records)` and every other process `None`, so the records cross the network
    /// once instead of to every process. In local mode it is [`collect`](Self::collect)
    /// wrapped in `Some`. Use it where only rank 0 goes on to use the records (to write
    /// them out, say); every process must still call it, as with any action.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3], 2);
    ///     assert_eq!(d.collect_to_leader().unwrap(), Some(vec![1, 2, 3]));
    /// });
    /// ```
    pub fn collect_to_leader(&self) -> Result<Option<Vec<T>>> {
        self.gather_records(crate::backend::Gather::Leader)
    }

    /// All records, in partition order.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.range(0, 5, 1, 2).unwrap().collect().unwrap(), vec![0, 1, 2, 3, 4]);
    ///     assert_eq!(ctx.parallelize(vec!['x', 'y', 'z'], 2).collect().unwrap(), vec!['x', 'y', 'z']);
    /// });
    /// ```
    pub fn collect(&self) -> Result<Vec<T>> {
        Ok(self
            .gather_records(crate::backend::Gather::All)?
            .expect("every process gets the records"))
    }

    fn gather_records(&self, gather: crate::backend::Gather) -> Result<Option<Vec<T>>> {
        let f = |_: &Tc, it: BatchIter<T>| -> Result<Vec<T>> {
            let mut acc: Vec<T> = Vec::new();
            for b in it {
                let b = b?;
                if acc.is_empty() {
                    acc = b.into_vec();
                } else {
                    acc.extend(b);
                }
            }
            Ok(acc)
        };
        let parts: Vec<usize> = (0..self.num_partitions()).collect();
        let got = crate::scheduler::run_job_gather(&self.ctx.inner, &self.rdd, &parts, &f, gather)?;
        Ok(got.map(|p| p.concat()))
    }

    /// Number of records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![2, 3, 4], 2).count().unwrap(), 3);
    /// });
    /// ```
    pub fn count(&self) -> Result<u64> {
        Ok(self
            .fold_partitions(|| 0u64, |c, b| c + b.len() as u64)?
            .into_iter()
            .sum())
    }

    /// Whether the dataset has no records, as Spark's `isEmpty`: partitions are computed
    /// only until a record turns up (as [`take`](Self::take)`(1)`).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((1..=10u32).collect(), 4);
    ///     assert!(!d.is_empty().unwrap());
    ///     assert!(d.filter(|&x| x > 10).is_empty().unwrap());
    /// });
    /// ```
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.num_partitions() == 0 || self.take(1)?.is_empty())
    }

    /// The first record.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![2, 3, 4], 2).first().unwrap(), 2);
    ///     assert!(ctx.parallelize(Vec::<i32>::new(), 2).first().is_err());
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset.
    pub fn first(&self) -> Result<T> {
        self.take(1)?
            .into_iter()
            .next()
            .ok_or(Error::EmptyDataset("first"))
    }

    /// The first `n` records, scanning one partition, then four times as many as scanned so
    /// far, and so on, as Spark's `take` does.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![2, 3, 4, 5, 6], 2).cache();
    ///     assert_eq!(d.take(2).unwrap(), vec![2, 3]);
    ///     assert_eq!(d.take(10).unwrap(), vec![2, 3, 4, 5, 6]);
    ///     let d = ctx.parallelize((0..100).collect::<Vec<u32>>(), 100);
    ///     assert_eq!(d.filter(|&x| x > 90).take(3).unwrap(), vec![91, 92, 93]);
    /// });
    /// ```
    pub fn take(&self, n: usize) -> Result<Vec<T>> {
        let total = self.num_partitions();
        let mut out = Vec::new();
        let mut scanned = 0;
        while out.len() < n && scanned < total {
            let try_count = if scanned == 0 {
                1
            } else {
                (scanned * 4).min(total - scanned)
            };
            let parts: Vec<usize> = (scanned..scanned + try_count).collect();
            let left = n - out.len();
            let got = self.run(&parts, |_, it| {
                let mut v = Vec::new();
                for b in it {
                    let b = b?;
                    v.extend(b.into_iter().take(left - v.len()));
                    if v.len() >= left {
                        break;
                    }
                }
                Ok(v)
            })?;
            for v in got {
                let room = n - out.len();
                out.extend(v.into_iter().take(room));
            }
            scanned += try_count;
        }
        Ok(out)
    }

    /// The `n` smallest records, ascending.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![10, 1, 2, 9, 3, 4, 5, 6, 7], 2);
    ///     assert_eq!(d.take_ordered(6).unwrap(), vec![1, 2, 3, 4, 5, 6]);
    /// });
    /// ```
    pub fn take_ordered(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        self.take_by(n, |a, b| a.cmp(b))
    }

    /// The `n` largest records, descending.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![10, 4, 2, 12, 3], 2).top(1).unwrap(), vec![12]);
    ///     assert_eq!(ctx.parallelize(vec![2, 3, 4, 5, 6], 2).top(2).unwrap(), vec![6, 5]);
    /// });
    /// ```
    pub fn top(&self, n: usize) -> Result<Vec<T>>
    where
        T: Ord,
    {
        self.take_by(n, |a, b| b.cmp(a))
    }

    pub(crate) fn take_by(
        &self,
        n: usize,
        cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Sync + Copy,
    ) -> Result<Vec<T>> {
        let parts = self.fold_partitions(Vec::new, |mut acc: Vec<T>, b| {
            acc.extend(b);
            if acc.len() > 2 * n.max(1024) {
                acc.sort_by(cmp);
                acc.truncate(n);
            }
            acc
        })?;
        let mut all: Vec<T> = parts.concat();
        all.sort_by(cmp);
        all.truncate(n);
        Ok(all)
    }

    /// Combines all records with an associative function.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    ///     assert_eq!(d.reduce(|a, b| a + b).unwrap(), 15);
    ///     assert!(ctx.parallelize(Vec::<i32>::new(), 2).reduce(|a, b| a + b).is_err());
    /// });
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyDataset`] on an empty dataset (Spark throws "empty collection").
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Sync) -> Result<T> {
        let f = &f;
        let parts = self.fold_partitions(
            || None,
            |acc: Option<T>, b| {
                let r = b.into_iter().reduce(f);
                match (acc, r) {
                    (Some(a), Some(r)) => Some(f(a, r)),
                    (a, r) => a.or(r),
                }
            },
        )?;
        parts
            .into_iter()
            .flatten()
            .reduce(f)
            .ok_or(Error::EmptyDataset("reduce"))
    }

    /// Folds each partition starting from `zero`, then the partition results from `zero`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    ///     assert_eq!(d.fold(0, |a, b| a + b).unwrap(), 15);
    ///     // `zero` counts once per partition and once more for the partition results.
    ///     assert_eq!(d.fold(10, |a, b| a + b).unwrap(), 45);
    /// });
    /// ```
    pub fn fold(&self, zero: T, f: impl Fn(T, T) -> T + Sync) -> Result<T> {
        let f = &f;
        let parts = self.fold_partitions(|| zero.clone(), |acc, b| b.fold(acc, f))?;
        Ok(parts.into_iter().fold(zero, f))
    }

    /// Sums the records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     assert_eq!(ctx.parallelize(vec![1.0, 2.0, 3.0], 2).sum().unwrap(), 6.0);
    /// });
    /// ```
    pub fn sum(&self) -> Result<T>
    where
        T: std::iter::Sum<T>,
    {
        let parts = self.fold_partitions(Vec::new, |mut acc: Vec<T>, b| {
            acc.push(b.sum());
            acc
        })?;
        Ok(parts.into_iter().flatten().sum())
    }

    /// Aggregates each partition with `seq` from `zero`, then the partition results with
    /// `comb` from `zero`.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let seq = |(sum, n): (i32, i32), x: i32| (sum + x, n + 1);
    ///     let comb = |a: (i32, i32), b: (i32, i32)| (a.0 + b.0, a.1 + b.1);
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4], 2);
    ///     assert_eq!(d.aggregate((0, 0), seq, comb).unwrap(), (10, 4));
    ///     assert_eq!(ctx.parallelize(vec![], 2).aggregate((0, 0), seq, comb).unwrap(), (0, 0));
    /// });
    /// ```
    pub fn aggregate<U: Send + Sync + Clone + serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Sync,
        comb: impl Fn(U, U) -> U + Sync,
    ) -> Result<U> {
        let seq = &seq;
        let parts = self.fold_partitions(|| zero.clone(), |acc, b| b.fold(acc, seq))?;
        Ok(parts.into_iter().fold(zero, comb))
    }

    /// As [`aggregate`](Self::aggregate), but partition results are combined in a tree of
    /// the given depth (at least 1), in parallel on the executor, as Spark's
    /// `treeAggregate`. The combining order is fixed, so results do not depend on timing.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let add = |a: i32, b: i32| a + b;
    ///     let d = ctx.parallelize(vec![-5, -4, -3, -2, -1, 1, 2, 3, 4], 10);
    ///     for depth in [1, 2, 5, 10] {
    ///         assert_eq!(d.tree_aggregate(0, add, add, depth).unwrap(), -5);
    ///     }
    /// });
    /// ```
    pub fn tree_aggregate<
        U: Send + Sync + Clone + serde::Serialize + serde::de::DeserializeOwned,
    >(
        &self,
        zero: U,
        seq: impl Fn(U, T) -> U + Sync,
        comb: impl Fn(U, U) -> U + Sync,
        depth: usize,
    ) -> Result<U> {
        let seq = &seq;
        let mut level = self.fold_partitions(|| zero.clone(), |acc, b| b.fold(acc, seq))?;
        let depth = depth.max(1);
        let scale = ((level.len() as f64).powf(1.0 / depth as f64).ceil() as usize).max(2);
        while level.len() > scale {
            let groups: Vec<Vec<U>> = {
                let mut it = level.into_iter();
                let mut gs = Vec::new();
                loop {
                    let g: Vec<U> = it.by_ref().take(scale).collect();
                    if g.is_empty() {
                        break;
                    }
                    gs.push(g);
                }
                gs
            };
            let cells: Vec<OnceLock<U>> = groups.iter().map(|_| OnceLock::new()).collect();
            let inputs: Vec<std::sync::Mutex<Option<Vec<U>>>> = groups
                .into_iter()
                .map(|g| std::sync::Mutex::new(Some(g)))
                .collect();
            self.ctx.inner.executor.run_tasks(inputs.len(), &|i| {
                let g = inputs[i]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .expect("each group is combined once");
                let mut it = g.into_iter();
                let first = it.next().expect("groups are non-empty");
                let _ = cells[i].set(it.fold(first, &comb));
            });
            level = cells
                .into_iter()
                .map(|c| c.into_inner().expect("every group combined"))
                .collect();
        }
        Ok(level.into_iter().fold(zero, comb))
    }

    /// As [`reduce`](Self::reduce), combining partition results in a tree.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![-5, -4, -3, -2, -1, 1, 2, 3, 4], 10);
    ///     for depth in [1, 2, 5, 10] {
    ///         assert_eq!(d.tree_reduce(|a, b| a + b, depth).unwrap(), -5);
    ///     }
    /// });
    /// ```
    pub fn tree_reduce(&self, f: impl Fn(T, T) -> T + Sync, depth: usize) -> Result<T> {
        let f = &f;
        let merged = self.tree_aggregate(
            None,
            |acc: Option<T>, x| {
                Some(match acc {
                    Some(a) => f(a, x),
                    None => x,
                })
            },
            |a, b| match (a, b) {
                (Some(a), Some(b)) => Some(f(a, b)),
                (a, b) => a.or(b),
            },
            depth,
        )?;
        merged.ok_or(Error::EmptyDataset("tree_reduce"))
    }

    /// Runs `f` on every record, for its side effects (accumulators, output).
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let total = ctx.long_accumulator("total");
    ///     ctx.parallelize(vec![1, 2, 3, 4, 5], 2).foreach(|x| total.add(x)).unwrap();
    ///     assert_eq!(total.value(), 15);
    /// });
    /// ```
    pub fn foreach(&self, f: impl Fn(T) + Sync) -> Result<()> {
        self.run_all(|_, it| {
            for b in it {
                b?.into_iter().for_each(&f);
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Runs `f` on each partition's records.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let sizes = ctx.collection_accumulator("sizes");
    ///     let d = ctx.parallelize(vec![1, 2, 3, 4, 5], 2);
    ///     d.foreach_partition(|records| sizes.add(vec![records.count()])).unwrap();
    ///     assert_eq!(sizes.value(), vec![2, 3]);
    /// });
    /// ```
    pub fn foreach_partition(&self, f: impl Fn(Records<T>) + Sync) -> Result<()> {
        self.run_all(|_, it| {
            let slot = crate::rdd::ErrorSlot::default();
            f(Records::new(it, slot.clone()));
            let err = slot.borrow_mut().take();
            err.map_or(Ok(()), Err)
        })?;
        Ok(())
    }

    /// How many times each distinct record occurs.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let counts = ctx.parallelize(vec![1, 2, 1, 2, 2], 2).count_by_value().unwrap();
    ///     assert_eq!((counts.len(), counts[&1], counts[&2]), (2, 2, 3));
    /// });
    /// ```
    pub fn count_by_value(&self) -> Result<HashMap<T, u64>>
    where
        T: Hash + Eq,
    {
        Ok(self
            .map(|x| (x, 1u64))
            .reduce_by_key(|a, b| a + b)
            .collect()?
            .into_iter()
            .collect())
    }

    /// Writes one line per record to `part-NNNNN` files in the directory `path`, plus an
    /// empty `_SUCCESS`. A record is written by its `Display` form, and a tuple as Scala
    /// writes it, `(a,1)` (see [`TextRecord`](crate::io::TextRecord)). The files are written to a hidden temporary directory that
    /// is renamed to `path` only when every task succeeded, so a failed job leaves nothing
    /// that looks complete.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("nums");
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..10).collect::<Vec<u32>>(), 2);
    ///     d.save_as_text_file(&out).unwrap();
    ///     assert_eq!(std::fs::read_to_string(out.join("part-00001")).unwrap(), "5\n6\n7\n8\n9\n");
    ///     assert!(out.join("_SUCCESS").exists());
    ///     assert!(d.save_as_text_file(&out).is_err());
    ///
    ///     let pairs = ctx.parallelize(vec![("a".to_string(), 1), ("b".to_string(), 2)], 1);
    ///     pairs.save_as_text_file(out.with_file_name("pairs")).unwrap();
    ///     let text = std::fs::read_to_string(out.with_file_name("pairs/part-00000")).unwrap();
    ///     assert_eq!(text, "(a,1)\n(b,2)\n");
    /// });
    /// ```
    ///
    /// # Errors
    /// `path` exists already ([`Error::OutputExists`], as Spark refuses too), or writing
    /// fails.
    pub fn save_as_text_file<V>(&self, path: impl AsRef<Path>) -> Result<()>
    where
        T: crate::io::TextRecord<V>,
    {
        crate::io::save_as_text_file(self, path.as_ref(), None)
    }

    /// Writes the records to part files in the directory `path` in Firesteel's binary
    /// record format (length-prefixed postcard, the format of checkpoints), as Spark's
    /// `saveAsObjectFile` (whose format is Java serialization);
    /// [`Context::object_file`] reads them back. Committed all at once with `_SUCCESS`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("pairs");
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize(vec![(1u8, "one".to_string()), (2, "two".into())], 2);
    ///     d.save_as_object_file(&out).unwrap();
    ///     let back = ctx.object_file::<(u8, String)>(&out).unwrap();
    ///     assert_eq!(back.collect().unwrap(), d.collect().unwrap());
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`save_as_text_file`](Self::save_as_text_file): an existing `path` is
    /// [`Error::OutputExists`].
    pub fn save_as_object_file(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::save_as_object_file(self, path.as_ref())
    }

    /// [`save_as_text_file`](Self::save_as_text_file), compressing each part file with
    /// `codec` (`part-00000.gz`, ...), as Spark's `saveAsTextFile(path, codec)`.
    /// [`Context::text_file`] reads such a directory back.
    ///
    /// ```
    /// use firesteel_core::io::Codec;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("squares");
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let squares = ctx.parallelize((1..=4u32).map(|x| x * x).collect(), 2);
    /// squares.save_as_text_file_with_codec(&out, Codec::Gzip).unwrap();
    /// assert!(out.join("part-00001.gz").exists());
    /// assert_eq!(ctx.text_file(&out, 1).unwrap().collect().unwrap(), ["1", "4", "9", "16"]);
    /// ```
    ///
    /// # Errors
    /// As [`save_as_text_file`](Self::save_as_text_file).
    pub fn save_as_text_file_with_codec<V>(
        &self,
        path: impl AsRef<Path>,
        codec: crate::io::Codec,
    ) -> Result<()>
    where
        T: crate::io::TextRecord<V>,
    {
        crate::io::save_as_text_file(self, path.as_ref(), Some(codec))
    }

    /// Writes the dataset to a [`DataSink`](crate::io::DataSink), one task per partition:
    /// the sink prepares, writes each partition (again for a retried task) and commits, or
    /// aborts if the job fails.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use std::sync::{Arc, Mutex};
    /// use firesteel_core::{io::DataSink, Records, Result};
    ///
    /// // Keeps each partition's records in memory; a retried task replaces its partition.
    /// #[derive(Clone, Default)]
    /// struct Memory(Arc<Mutex<BTreeMap<usize, Vec<u32>>>>);
    ///
    /// impl DataSink<u32> for Memory {
    ///     fn write_partition(&self, p: usize, _attempt: usize, recs: &mut Records<u32>) -> Result<()> {
    ///         self.0.lock().unwrap().insert(p, recs.collect());
    ///         Ok(())
    ///     }
    /// }
    ///
    /// firesteel_core::example(|ctx| {
    ///     let sink = Memory::default();
    ///     ctx.parallelize(vec![1, 2, 3], 2).write_to(sink.clone()).unwrap();
    ///     assert_eq!(*sink.0.lock().unwrap(), BTreeMap::from([(0, vec![1]), (1, vec![2, 3])]));
    /// });
    /// ```
    ///
    /// # Errors
    /// The sink's errors, or a failed upstream task.
    pub fn write_to<S: crate::io::DataSink<T>>(&self, sink: S) -> Result<()> {
        crate::io::write_to_sink(self, sink)
    }
}

fn debug_lines(ctx: &Context, rdd: &Arc<dyn RddBase>, indent: &str, root: bool, out: &mut String) {
    use std::fmt::Write;
    if root {
        let _ = writeln!(
            out,
            "({}) {}{}",
            rdd.num_partitions(),
            rdd.describe(),
            storage_of(ctx, rdd)
        );
    }
    for dep in rdd.dependencies() {
        match dep {
            Dependency::Narrow(p) => {
                let _ = writeln!(out, "{indent} |  {}{}", p.describe(), storage_of(ctx, &p));
                debug_lines(ctx, &p, indent, false, out);
            }
            Dependency::Shuffle(d) => {
                let p = d.parent();
                let _ = writeln!(
                    out,
                    "{indent} +-({}) {}{}",
                    p.num_partitions(),
                    p.describe(),
                    storage_of(ctx, &p)
                );
                let deeper = format!("{indent}   ");
                debug_lines(ctx, &p, &deeper, false, out);
            }
        }
    }
}

fn storage_of(ctx: &Context, rdd: &Arc<dyn RddBase>) -> String {
    match rdd.meta().storage_level() {
        Some(level) => {
            let cached = (0..rdd.num_partitions())
                .filter(|&p| ctx.inner.blocks.contains((rdd.id(), p)))
                .count();
            format!(
                " [{level:?}, {cached}/{} partitions cached]",
                rdd.num_partitions()
            )
        }
        None => " []".into(),
    }
}

impl Context {
    /// The records of all `datasets` (duplicates kept), their partitions side by side in
    /// list order, as Spark's `SparkContext.union`. An empty list gives an empty dataset.
    ///
    /// ```
    /// let ctx = firesteel_core::Context::local(2).unwrap();
    /// let parts = [ctx.parallelize(vec![1, 2], 2), ctx.parallelize(vec![3], 1)];
    /// let all = ctx.union(&parts);
    /// assert_eq!(all.num_partitions(), 3);
    /// assert_eq!(all.collect().unwrap(), vec![1, 2, 3]);
    /// ```
    pub fn union<T: Data>(&self, datasets: &[Dataset<T>]) -> Dataset<T> {
        let parents: Vec<Arc<dyn Rdd<T>>> = datasets.iter().map(|d| d.rdd.clone()).collect();
        let index = parents
            .iter()
            .enumerate()
            .flat_map(|(p, r)| (0..r.num_partitions()).map(move |s| (p, s)))
            .collect();
        Dataset::from_rdd(
            self,
            Arc::new(UnionRdd {
                meta: RddMeta::new(&self.inner, "union"),
                parents,
                index,
            }),
        )
    }

    /// A dataset with no partitions and no records, as Spark's `emptyRDD`.
    ///
    /// ```
    /// let ctx = firesteel_core::Context::local(1).unwrap();
    /// let none = ctx.empty::<u32>();
    /// assert_eq!((none.num_partitions(), none.count().unwrap()), (0, 0));
    /// ```
    pub fn empty<T: Data>(&self) -> Dataset<T> {
        self.union(&[])
    }

    /// Rebuilds a dataset from a directory written by
    /// [`Dataset::checkpoint_to`] (without its partitioner).
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// firesteel_core::example(|ctx| {
    ///     let saved = ctx.parallelize(vec![1, 2, 3], 2).checkpoint_to(dir.path()).unwrap();
    ///     let back = ctx.read_checkpoint::<i32>(dir.path()).unwrap();
    ///     assert_eq!(back.num_partitions(), saved.num_partitions());
    ///     assert_eq!(back.collect().unwrap(), vec![1, 2, 3]);
    /// });
    /// ```
    ///
    /// # Errors
    /// The directory is missing, unreadable, or has no `_SUCCESS` marker.
    pub fn read_checkpoint<T: Data>(&self, dir: impl AsRef<Path>) -> Result<Dataset<T>> {
        self.record_files(dir.as_ref(), "read_checkpoint", true)
    }

    /// The records of a directory written by [`Dataset::save_as_object_file`], one
    /// partition per part file, as Spark's `objectFile`.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = dir.path().join("nums");
    /// firesteel_core::example(|ctx| {
    ///     ctx.parallelize((0..10).collect::<Vec<u32>>(), 3).save_as_object_file(&out).unwrap();
    ///     let back = ctx.object_file::<u32>(&out).unwrap();
    ///     assert_eq!(back.num_partitions(), 3);
    ///     assert_eq!(back.collect().unwrap(), (0..10).collect::<Vec<u32>>());
    /// });
    /// ```
    ///
    /// # Errors
    /// The directory is missing, unreadable, or has no `_SUCCESS` marker. A part file
    /// that does not decode as records of `T` fails the job that reads it, naming it.
    pub fn object_file<T: Data>(&self, dir: impl AsRef<Path>) -> Result<Dataset<T>> {
        self.record_files(dir.as_ref(), "object_file", false)
    }

    fn record_files<T: Data>(
        &self,
        dir: &Path,
        op: &'static str,
        checkpoint: bool,
    ) -> Result<Dataset<T>> {
        if checkpoint {
            let (files, checksums) = crate::checkpoint_files::verified_parts(dir)?
                .into_iter()
                .unzip();
            return Ok(Dataset::from_rdd(
                self,
                Arc::new(CheckpointRdd {
                    meta: RddMeta::new(&self.inner, op),
                    files,
                    checksums: Some(checksums),
                    checkpoint_dir: Some(dir.to_path_buf()),
                    partitioner: None,
                    _t: std::marker::PhantomData,
                }),
            ));
        }
        if !dir.join("_SUCCESS").exists() {
            return Err(Error::InvalidArgument(format!(
                "{} is not a complete object file output (no _SUCCESS)",
                dir.display()
            )));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io("listing", dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("part-"))
            })
            .collect();
        files.sort();
        Ok(Dataset::from_rdd(
            self,
            Arc::new(CheckpointRdd {
                meta: RddMeta::new(&self.inner, op),
                files,
                checksums: None,
                checkpoint_dir: None,
                partitioner: None,
                _t: std::marker::PhantomData,
            }),
        ))
    }
}

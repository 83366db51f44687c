//! Partitioners decide which partition of a shuffle a key goes to.
//!
//! [`HashPartitioner`], the default, hashes with a fixed hasher (FxHash followed by a
//! 64-bit finalizer), never a randomly seeded `RandomState`, so that every process of a
//! cluster and every run computes the same partition for a key. It takes any `Hash` key,
//! and spreads integer keys evenly however they are strided.
//! [`JavaHashPartitioner`] places keys where Scala Spark's `HashPartitioner` does, from
//! their Java `hashCode` ([`JavaHash`]), for layouts that must match Spark's.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use crate::java_hash::JavaHash;

/// Maps keys to partitions, as Spark's `Partitioner` does.
///
/// Two datasets whose partitioners are [`equivalent`](Partitioner::equivalent) are
/// co-partitioned: joining or cogrouping them needs no shuffle.
pub trait Partitioner<K>: Send + Sync + fmt::Debug + 'static {
    /// How many partitions keys are spread over.
    fn num_partitions(&self) -> usize;
    /// The partition of `key`, in `0..num_partitions()`.
    fn get_partition(&self, key: &K) -> usize;
    /// Whether `other` places every key in the same partition as `self` does.
    fn equivalent(&self, other: &dyn Any) -> bool;
    /// `self` as `Any`, for [`equivalent`](Partitioner::equivalent).
    fn as_any(&self) -> &dyn Any;
}

/// A shared, type-erased handle to a `Partitioner<K>`, as stored in lineage nodes.
pub(crate) type ErasedPartitioner = Arc<dyn Any + Send + Sync>;

/// Wraps a typed partitioner for storage in a lineage node.
pub(crate) fn erase<K: 'static>(p: Arc<dyn Partitioner<K>>) -> ErasedPartitioner {
    Arc::new(p)
}

/// Recovers a typed partitioner from a lineage node.
pub(crate) fn unerase<K: 'static>(p: &ErasedPartitioner) -> Option<Arc<dyn Partitioner<K>>> {
    p.downcast_ref::<Arc<dyn Partitioner<K>>>().cloned()
}

/// The engine's stable 64-bit hash of a key.
#[inline]
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    fmix64(h.finish())
}

/// MurmurHash3's 64-bit finalizer: spreads FxHash's output over all bits.
#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Spark's `HashPartitioner`: partition = hash(key) mod n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    /// A hash partitioner over `partitions` partitions (at least 1).
    pub fn new(partitions: usize) -> Self {
        HashPartitioner {
            partitions: partitions.max(1),
        }
    }
}

impl<K: Hash + 'static> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    #[inline]
    fn get_partition(&self, key: &K) -> usize {
        let (h, n) = (stable_hash(key), self.partitions as u64);
        // The same value as `h % n`, without a division when n is a power of two.
        if n.is_power_of_two() {
            (h & (n - 1)) as usize
        } else {
            (h % n) as usize
        }
    }
    fn equivalent(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<HashPartitioner>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Scala Spark's `HashPartitioner` to the partition: partition =
/// `nonNegativeMod(key.hashCode, n)`, with Java's and Scala's hash codes ([`JavaHash`]).
/// An `Int` key `k` goes to `k mod n` (made non-negative), a string by Java's string hash,
/// a tuple by Scala's `productHash`, and a `None` (Java's `null`) to partition 0.
///
/// It is not the default because it takes only the key types Spark has (see
/// [`JavaHash`]), and because integer keys with a stride that shares a factor with `n`
/// crowd into a few partitions, as they do in Spark: [`HashPartitioner`] mixes every bit.
///
/// ```
/// use firesteel_core::JavaHashPartitioner;
/// firesteel_core::example(|ctx| {
///     // Scala: sc.parallelize(List((1,"aaa"),(2,"bbb"),(3,"ccc"),(4,"ddd")), 4)
///     //          .partitionBy(new HashPartitioner(2)).glom.collect
///     // Array(Array((2,bbb), (4,ddd)), Array((1,aaa), (3,ccc)))
///     let pairs = vec![(1, "aaa".to_string()), (2, "bbb".into()), (3, "ccc".into()), (4, "ddd".into())];
///     let d = ctx.parallelize(pairs, 4).partition_by(JavaHashPartitioner::new(2));
///     let keys: Vec<Vec<i32>> = d.glom().collect().unwrap()
///         .into_iter().map(|p| p.into_iter().map(|(k, _)| k).collect()).collect();
///     assert_eq!(keys, [vec![2, 4], vec![1, 3]]);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JavaHashPartitioner {
    partitions: usize,
}

impl JavaHashPartitioner {
    /// A partitioner over `partitions` partitions (at least 1; at most `i32::MAX`, as in
    /// Spark).
    pub fn new(partitions: usize) -> Self {
        JavaHashPartitioner {
            partitions: partitions.clamp(1, i32::MAX as usize),
        }
    }
}

impl<K: JavaHash + 'static> Partitioner<K> for JavaHashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    #[inline]
    fn get_partition(&self, key: &K) -> usize {
        // Spark's Utils.nonNegativeMod.
        key.hash_code().rem_euclid(self.partitions as i32) as usize
    }
    fn equivalent(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<JavaHashPartitioner>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Spark's `RangePartitioner`: keys are split at sorted bounds, so that partition `i` holds
/// keys no greater than those of partition `i + 1` (or no smaller, when descending).
#[derive(Debug, Clone, PartialEq)]
pub struct RangePartitioner<K> {
    bounds: Vec<K>,
    ascending: bool,
}

impl<K: Ord + Clone> RangePartitioner<K> {
    /// A range partitioner with the given upper bounds (`bounds.len() + 1` partitions).
    /// The bounds are sorted and deduplicated.
    pub fn from_bounds(mut bounds: Vec<K>, ascending: bool) -> Self {
        bounds.sort();
        bounds.dedup();
        RangePartitioner { bounds, ascending }
    }

    /// Picks `partitions - 1` bounds from a sample of keys, as evenly spaced quantiles.
    pub fn from_sample(mut sample: Vec<K>, partitions: usize, ascending: bool) -> Self {
        sample.sort();
        let partitions = partitions.max(1);
        let mut bounds = Vec::with_capacity(partitions.saturating_sub(1));
        if !sample.is_empty() {
            for i in 1..partitions {
                let idx = (i * sample.len()) / partitions;
                let b = &sample[idx.min(sample.len() - 1)];
                if bounds.last() != Some(b) {
                    bounds.push(b.clone());
                }
            }
        }
        RangePartitioner { bounds, ascending }
    }

    /// The bounds between partitions, ascending.
    pub fn bounds(&self) -> &[K] {
        &self.bounds
    }
}

impl<K: Ord + Clone + Send + Sync + fmt::Debug + 'static> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }
    #[inline]
    fn get_partition(&self, key: &K) -> usize {
        // Keys equal to a bound go to the lower partition, as in Spark.
        let p = self.bounds.partition_point(|b| b < key);
        if self.ascending {
            p
        } else {
            self.bounds.len() - p
        }
    }
    fn equivalent(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<RangePartitioner<K>>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Partition = key mod n, for integer keys that already say where a record goes: positions
/// (`repartition`'s round robin), block ids (ALS) or partition indices (graph dense loops).
///
/// This is what Spark's `HashPartitioner` does with a non-negative `Int` key, whose hash code
/// is the key itself; ours hashes every key, so integer keys that must keep their placement
/// use this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModPartitioner {
    partitions: usize,
}

impl ModPartitioner {
    /// A partitioner over `partitions` partitions (at least one).
    pub fn new(partitions: usize) -> Self {
        ModPartitioner {
            partitions: partitions.max(1),
        }
    }
}

macro_rules! mod_partitioner {
    ($($t:ty),*) => {$(
        impl Partitioner<$t> for ModPartitioner {
            fn num_partitions(&self) -> usize {
                self.partitions
            }
            fn get_partition(&self, key: &$t) -> usize {
                (*key as u64 % self.partitions as u64) as usize
            }
            fn equivalent(&self, other: &dyn Any) -> bool {
                other.downcast_ref::<ModPartitioner>() == Some(self)
            }
            fn as_any(&self) -> &dyn Any {
                self
            }
        }
    )*};
}

mod_partitioner!(u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_partitioner_is_stable_and_in_range() {
        let p = HashPartitioner::new(7);
        for k in 0u64..1000 {
            let a = Partitioner::<u64>::get_partition(&p, &k);
            assert!(a < 7);
            assert_eq!(a, Partitioner::<u64>::get_partition(&p, &k));
        }
        // A fixed value: the hash must not change between runs or processes.
        assert_eq!(stable_hash(&42u64), stable_hash(&42u64));
        let counts = (0u64..7000).fold([0usize; 7], |mut c, k| {
            c[Partitioner::<u64>::get_partition(&p, &k)] += 1;
            c
        });
        assert!(counts.iter().all(|&c| c > 800 && c < 1200), "{counts:?}");
    }

    #[test]
    fn range_partitioner_orders_keys() {
        let p = RangePartitioner::from_sample((0..100).collect(), 4, true);
        assert_eq!(Partitioner::<i32>::num_partitions(&p), 4);
        let mut last = 0;
        for k in 0..100 {
            let part = p.get_partition(&k);
            assert!(part >= last);
            last = part;
        }
        let d = RangePartitioner::from_sample((0..100).collect(), 4, false);
        assert_eq!(d.get_partition(&0), 3);
        assert_eq!(d.get_partition(&99), 0);
    }

    #[test]
    fn equivalence() {
        let a = HashPartitioner::new(4);
        assert!(Partitioner::<u32>::equivalent(&a, &HashPartitioner::new(4)));
        assert!(!Partitioner::<u32>::equivalent(
            &a,
            &HashPartitioner::new(5)
        ));
        let r = RangePartitioner::from_bounds(vec![1, 2], true);
        assert!(!Partitioner::<u32>::equivalent(&a, &r));
        assert!(r.equivalent(&r.clone()));
    }

    #[test]
    fn java_hash_partitioner_is_sparks_non_negative_mod() {
        let p = JavaHashPartitioner::new(3);
        // Int keys: k mod n, made non-negative.
        let got: Vec<usize> = [-4i32, -3, -1, 0, 1, 5]
            .iter()
            .map(|k| p.get_partition(k))
            .collect();
        assert_eq!(got, [2, 0, 2, 0, 1, 2]);
        // "hello".hashCode = 99162322 = 3 * 33054107 + 1.
        assert_eq!(p.get_partition(&"hello".to_string()), 1);
        // null (None) goes to partition 0.
        assert_eq!(p.get_partition(&None::<i32>), 0);
        // i32::MIN: Java's % gives -2 (made 1 by nonNegativeMod).
        assert_eq!(p.get_partition(&i32::MIN), 1);
        assert!(Partitioner::<i32>::equivalent(
            &p,
            &JavaHashPartitioner::new(3)
        ));
        assert!(!Partitioner::<i32>::equivalent(
            &p,
            &HashPartitioner::new(3)
        ));
    }

    #[test]
    fn mod_partitioner_keeps_integer_placement() {
        let m = ModPartitioner::new(3);
        let got: Vec<usize> = (0u32..7).map(|k| m.get_partition(&k)).collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(Partitioner::<u64>::get_partition(&m, &(u64::MAX)), 0);
        assert_eq!(
            Partitioner::<u64>::num_partitions(&ModPartitioner::new(0)),
            1
        );
        assert!(Partitioner::<u64>::equivalent(&m, &ModPartitioner::new(3)));
        assert!(!Partitioner::<u64>::equivalent(&m, &ModPartitioner::new(4)));
        assert!(!Partitioner::<u64>::equivalent(
            &m,
            &HashPartitioner::new(3)
        ));
    }
}

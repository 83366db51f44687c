//! Partitioners decide which partition of a shuffle a key goes to.
//!
//! Hashing uses a fixed hasher (FxHash followed by a 64-bit finalizer), never a randomly
//! seeded `RandomState`, so that every process of a cluster and every run computes the same
//! partition for a key.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

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

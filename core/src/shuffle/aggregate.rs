//! How values of a key combine: Spark's `Aggregator`, and the hash maps of combiners.

use std::hash::Hash;

use serde::Serialize;

use crate::ser::SizeTracker;
// GLOB

/// How values of a key are combined, as Spark's `Aggregator`.
pub(crate) trait Aggregator<V, C>: Send + Sync + 'static {
    fn create(&self, v: V) -> C;
    fn merge_value(&self, c: C, v: V) -> C;
    fn merge_combiners(&self, c: C, other: C) -> C;
}

/// An aggregator from three closures; monomorphized, so combining is inlined in the loop.
pub(crate) struct FnAggregator<F1, F2, F3> {
    pub create: F1,
    pub merge_value: F2,
    pub merge_combiners: F3,
}

impl<V, C, F1, F2, F3> Aggregator<V, C> for FnAggregator<F1, F2, F3>
where
    F1: Fn(V) -> C + Send + Sync + 'static,
    F2: Fn(C, V) -> C + Send + Sync + 'static,
    F3: Fn(C, C) -> C + Send + Sync + 'static,
{
    #[inline]
    fn create(&self, v: V) -> C {
        (self.create)(v)
    }
    #[inline]
    fn merge_value(&self, c: C, v: V) -> C {
        (self.merge_value)(c, v)
    }
    #[inline]
    fn merge_combiners(&self, c: C, other: C) -> C {
        (self.merge_combiners)(c, other)
    }
}

/// The aggregator type of shuffles that only move records (partition_by, sort_by_key).
pub(crate) struct NoCombine;

impl<V: 'static> Aggregator<V, V> for NoCombine {
    fn create(&self, v: V) -> V {
        v
    }
    fn merge_value(&self, _: V, _: V) -> V {
        unreachable!("a shuffle without aggregator never combines")
    }
    fn merge_combiners(&self, _: V, _: V) -> V {
        unreachable!("a shuffle without aggregator never combines")
    }
}

/// Hash maps of combiners. hashbrown's by-value `replace_entry_with` lets by-value merge
/// functions update a combiner in place, with one hash lookup and no `Option` around it.
pub(crate) type CombineMap<K, C> = hashbrown::HashMap<K, C, rustc_hash::FxBuildHasher>;

/// Adds `v` to the combiner of `k`: `create` for a new key, `merge` for an existing one.
/// `tracker` accounts every new entry and, if `count_merged`, every merged value.
#[inline]
pub(crate) fn combine_into<K: Hash + Eq + Serialize, V: Serialize, C: Serialize>(
    map: &mut CombineMap<K, C>,
    tracker: &mut SizeTracker,
    count_merged: bool,
    (k, v): (K, V),
    create: impl FnOnce(V) -> C,
    merge: impl FnOnce(C, V) -> C,
) {
    match map.entry(k) {
        hashbrown::hash_map::Entry::Occupied(e) => {
            if count_merged {
                tracker.add(&v);
            }
            if std::mem::needs_drop::<C>() {
                // If `merge` panics the entry is gone, and the map stays consistent.
                e.replace_entry_with(|_, c| Some(merge(c, v)));
            } else {
                let slot = e.into_mut();
                // SAFETY: `slot` is valid for reads and writes. The combiner is moved out
                // and the merged one written back. Should `merge` panic in between, the
                // bits left in `slot` belong to a type without drop glue, so dropping the
                // map during the unwind (the map is task-local and is never read after a
                // panic) cannot free anything twice.
                unsafe {
                    let c = std::ptr::read(slot);
                    std::ptr::write(slot, merge(c, v));
                }
            }
        }
        hashbrown::hash_map::Entry::Vacant(e) => {
            let c = create(v);
            tracker.add(&(e.key(), &c));
            e.insert(c);
        }
    }
}

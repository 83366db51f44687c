//! Batches: the unit in which records flow between fused operators.
//!
//! A batch either owns its records or shares a slice of an in-memory partition (a cached
//! block, a parallelized collection, a shuffle output kept in memory). Reading a shared
//! batch clones records one at a time as the consumer takes them, so a cached partition is
//! never copied wholesale before the first operator runs, and consumers that only look at
//! records (count, sum, fold, filter) copy nothing they do not keep.

use std::sync::Arc;

/// Up to [`BATCH`](crate::rdd::BATCH) records.
#[derive(Debug)]
pub(crate) enum Batch<T> {
    /// Records the batch owns.
    Owned(Vec<T>),
    /// `data[start..end]` of a shared partition.
    Shared(Arc<Vec<T>>, usize, usize),
}

impl<T> From<Vec<T>> for Batch<T> {
    fn from(v: Vec<T>) -> Self {
        Batch::Owned(v)
    }
}

impl<T: Clone> Batch<T> {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        match self {
            Batch::Owned(v) => v.len(),
            Batch::Shared(_, s, e) => e - s,
        }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records, owned.
    #[inline]
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            Batch::Owned(v) => v,
            Batch::Shared(a, s, e) => a[s..e].to_vec(),
        }
    }

    /// Maps every record; one pass, with no copy of a shared batch first.
    #[inline]
    pub(crate) fn map_vec<U>(self, mut f: impl FnMut(T) -> U) -> Vec<U> {
        match self {
            Batch::Owned(v) => v.into_iter().map(f).collect(),
            Batch::Shared(a, s, e) => a[s..e].iter().map(|x| f(x.clone())).collect(),
        }
    }

    /// Keeps the records for which `f` is true; a shared batch clones only those.
    #[inline]
    pub(crate) fn filter(self, mut f: impl FnMut(&T) -> bool) -> Batch<T> {
        match self {
            Batch::Owned(mut v) => {
                v.retain(|x| f(x));
                Batch::Owned(v)
            }
            Batch::Shared(a, s, e) => {
                Batch::Owned(a[s..e].iter().filter(|x| f(x)).cloned().collect())
            }
        }
    }

    /// Folds over the records.
    #[inline]
    pub(crate) fn fold<A>(self, init: A, mut f: impl FnMut(A, T) -> A) -> A {
        match self {
            Batch::Owned(v) => v.into_iter().fold(init, f),
            Batch::Shared(a, s, e) => a[s..e].iter().fold(init, |acc, x| f(acc, x.clone())),
        }
    }

    /// Sums the records.
    #[inline]
    pub(crate) fn sum(self) -> T
    where
        T: std::iter::Sum<T>,
    {
        match self {
            Batch::Owned(v) => v.into_iter().sum(),
            Batch::Shared(a, s, e) => a[s..e].iter().cloned().sum(),
        }
    }

    /// Iterates the records, cloning shared ones as they are taken.
    pub(crate) fn into_iter(self) -> BatchRecords<T> {
        match self {
            Batch::Owned(v) => BatchRecords::Owned(v.into_iter()),
            Batch::Shared(a, s, e) => BatchRecords::Shared(a, s, e),
        }
    }
}

/// The records of a batch.
#[derive(Debug)]
pub(crate) enum BatchRecords<T> {
    Owned(std::vec::IntoIter<T>),
    Shared(Arc<Vec<T>>, usize, usize),
}

impl<T: Clone> Iterator for BatchRecords<T> {
    type Item = T;
    #[inline]
    fn next(&mut self) -> Option<T> {
        match self {
            BatchRecords::Owned(it) => it.next(),
            BatchRecords::Shared(a, s, e) => {
                if *s < *e {
                    *s += 1;
                    Some(a[*s - 1].clone())
                } else {
                    None
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            BatchRecords::Owned(it) => it.len(),
            BatchRecords::Shared(_, s, e) => e - s,
        };
        (n, Some(n))
    }
}

impl<T: Clone> ExactSizeIterator for BatchRecords<T> {}

impl<T: Clone> IntoIterator for Batch<T> {
    type Item = T;
    type IntoIter = BatchRecords<T>;
    fn into_iter(self) -> BatchRecords<T> {
        Batch::into_iter(self)
    }
}

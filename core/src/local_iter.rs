//! Records brought here one partition at a time, as Spark's `toLocalIterator`: only one
//! partition's records are held at once.

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::Data;

/// The records of a dataset, computed one partition at a time as they are asked for (see
/// [`Dataset::to_local_iterator`]). After an error it ends.
pub struct LocalIterator<T> {
    dataset: Dataset<T>,
    next_partition: usize,
    current: std::vec::IntoIter<T>,
    failed: bool,
}

impl<T> std::fmt::Debug for LocalIterator<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalIterator")
            .field("next_partition", &self.next_partition)
            .field("buffered", &self.current.len())
            .finish()
    }
}

impl<T: Data> Iterator for LocalIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(x) = self.current.next() {
                return Some(Ok(x));
            }
            if self.failed || self.next_partition >= self.dataset.num_partitions() {
                return None;
            }
            let p = self.next_partition;
            self.next_partition += 1;
            match self.dataset.run(&[p], |_, it| {
                let mut v = Vec::new();
                for b in it {
                    v.extend(b?);
                }
                Ok::<_, Error>(v)
            }) {
                Ok(mut parts) => self.current = parts.pop().unwrap_or_default().into_iter(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<T: Data> Dataset<T> {
    /// The records, in partition order, computed one partition at a time as the iterator
    /// reaches them (one job per partition), as Spark's `toLocalIterator`: this process
    /// holds one partition's records at a time rather than all of them.
    ///
    /// ```
    /// firesteel_core::example(|ctx| {
    ///     let d = ctx.parallelize((0..10).collect::<Vec<u32>>(), 3);
    ///     let all: Vec<u32> = d.to_local_iterator().collect::<Result<_, _>>().unwrap();
    ///     assert_eq!(all, (0..10).collect::<Vec<u32>>());
    /// });
    /// ```
    pub fn to_local_iterator(&self) -> LocalIterator<T> {
        LocalIterator {
            dataset: self.clone(),
            next_partition: 0,
            current: Vec::new().into_iter(),
            failed: false,
        }
    }
}

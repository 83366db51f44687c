//! What runs a stage's tasks within this process.
//!
//! The scheduler hands an [`Executor`] the tasks that the backend placed in this process
//! (see `backend`: locally all of them, in a cluster those of the partitions this process
//! owns) as an indexed closure; the executor runs each index once, in parallel as it sees
//! fit, and returns when all have finished. Results travel through slots the scheduler
//! owns, so the trait stays object safe and knows nothing of record types. The default
//! implementation is a rayon pool; a program may bring its own (say, one pinned to cores).

use std::fmt;

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Runs the tasks of a stage.
pub trait Executor: Send + Sync + fmt::Debug {
    /// How many tasks can run at once.
    fn parallelism(&self) -> usize;

    /// Calls `task(i)` exactly once for each `i` in `0..count`, possibly in parallel, and
    /// returns when all calls have returned. `task` catches its own panics.
    fn run_tasks(&self, count: usize, task: &(dyn Fn(usize) + Sync));
}

/// Runs tasks on a dedicated rayon thread pool.
#[derive(Debug)]
pub struct LocalExecutor {
    pool: rayon::ThreadPool,
}

impl LocalExecutor {
    /// A pool of `threads` workers (`None`: one per available core).
    ///
    /// # Errors
    /// The pool cannot be built.
    pub fn new(threads: Option<usize>) -> Result<Self> {
        let mut b =
            rayon::ThreadPoolBuilder::new().thread_name(|i| format!("firesteel-worker-{i}"));
        if let Some(n) = threads {
            b = b.num_threads(n);
        }
        let pool = b.build().map_err(|e| Error::ThreadPool(e.to_string()))?;
        Ok(LocalExecutor { pool })
    }
}

impl Executor for LocalExecutor {
    fn parallelism(&self) -> usize {
        self.pool.current_num_threads()
    }

    fn run_tasks(&self, count: usize, task: &(dyn Fn(usize) + Sync)) {
        if count == 1 {
            // One task: run it on a worker without the overhead of a parallel iterator.
            self.pool.install(|| task(0));
            return;
        }
        self.pool
            .install(|| (0..count).into_par_iter().with_max_len(1).for_each(task));
    }
}

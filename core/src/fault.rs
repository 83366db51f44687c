//! Fault injection, for tests of retry and recovery (the `fault-injection` feature, off by
//! default: test suites turn it on through a dev-dependency).

use std::sync::Mutex;

use crate::context::ContextInner;
use crate::error::{Error, Result};

/// A fault to inject through [`Context::inject_fault`](crate::Context::inject_fault).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Fail attempt `attempt` (0-based) of the task computing `partition` of the stage whose
    /// final dataset is `dataset` (a map stage's final dataset is the shuffle's parent).
    FailTask {
        /// The stage's final dataset id ([`Dataset::id`](crate::Dataset::id)).
        dataset: usize,
        /// The partition.
        partition: usize,
        /// The attempt to fail.
        attempt: usize,
        /// Panic instead of returning an error.
        panic: bool,
    },
    /// Drop a cached partition now, as if evicted or lost with its executor.
    DropCachedBlock {
        /// The persisted dataset.
        dataset: usize,
        /// The partition.
        partition: usize,
    },
    /// Delete a map output of a shuffle now, as if lost with its executor.
    DeleteShuffleOutput {
        /// The shuffle id.
        shuffle: usize,
        /// The map partition.
        map_partition: usize,
    },
}

/// Pending task faults.
#[derive(Debug, Default)]
pub(crate) struct FaultInjector {
    pending: Mutex<Vec<Fault>>,
}

impl FaultInjector {
    pub(crate) fn inject(&self, fault: Fault, ctx: &ContextInner) {
        match fault {
            Fault::DropCachedBlock { dataset, partition } => {
                ctx.blocks.drop_block((dataset, partition));
            }
            Fault::DeleteShuffleOutput {
                shuffle,
                map_partition,
            } => {
                ctx.shuffles.remove_output(shuffle, map_partition);
            }
            f @ Fault::FailTask { .. } => self
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(f),
        }
    }

    /// Fails the task (stage dataset, partition, attempt) as a pending fault says, with
    /// an error or a panic; consumes the fault.
    pub(crate) fn before_task(&self, ds: usize, part: usize, att: usize) -> Result<()> {
        let fault = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            let pos = pending.iter().position(|f| {
                matches!(f, Fault::FailTask { dataset, partition, attempt, .. }
                    if *dataset == ds && *partition == part && *attempt == att)
            });
            pos.map(|p| pending.remove(p))
        };
        let what = format!("injected fault: dataset {ds} partition {part} attempt {att}");
        match fault {
            None => Ok(()),
            Some(Fault::FailTask { panic: true, .. }) => panic!("{what}"),
            Some(_) => Err(Error::TaskFailed(what)),
        }
    }
}

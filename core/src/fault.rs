//! Fault injection, for tests of retry and recovery. Not part of the stable API.

use std::sync::Mutex;

use crate::context::ContextInner;

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

/// How an injected fault makes a task fail.
pub(crate) enum InjectedFailure {
    Error,
    Panic,
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

    /// Whether the task (stage dataset, partition, attempt) must fail; consumes the fault.
    pub(crate) fn check(&self, ds: usize, part: usize, att: usize) -> Option<InjectedFailure> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_empty() {
            return None;
        }
        let pos = pending.iter().position(|f| {
            matches!(f, Fault::FailTask { dataset, partition, attempt, .. }
                if *dataset == ds && *partition == part && *attempt == att)
        })?;
        match pending.remove(pos) {
            Fault::FailTask { panic: true, .. } => Some(InjectedFailure::Panic),
            _ => Some(InjectedFailure::Error),
        }
    }
}

//! The execution backend: the seam between the scheduler, which walks a job's stages, and
//! the machinery that decides where their tasks run and how their outputs meet.
//!
//! The scheduler asks a job's backend three things per stage: which of the stage's tasks
//! run in this process ([`JobBackend::place`]), what to do with a finished map stage
//! ([`JobBackend::finish_map_stage`]) and with a finished result stage
//! ([`JobBackend::finish_result_stage`]). Locally every task runs here and there is
//! nothing to move ([`LocalJob`]). In cluster mode ([`crate::cluster`]) a process runs the
//! partitions it owns, ships shuffle buckets to their owners and gathers results in rounds;
//! the scheduler knows nothing of processes or wire formats.
//!
//! Which backend a context uses is decided once, when the [`Context`](crate::Context) is
//! built ([`Backend`]). Within a process, the tasks that a backend places here run on the
//! [`Executor`](crate::Executor) (a thread pool).

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::accumulator::TaskUpdates;
use crate::cluster::ClusterBackend;
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::rdd::RddBase;
use crate::shuffle::ShuffleDepBase;

/// A failed stage.
pub(crate) enum StageFailure {
    /// A shuffle output was missing; re-run its map tasks and retry.
    Fetch(Error),
    /// The job cannot go on: a task ran out of attempts, or another process failed.
    Abort(Error),
}

impl StageFailure {
    /// The error, whichever the kind of failure.
    pub(crate) fn into_error(self) -> Error {
        match self {
            StageFailure::Fetch(e) | StageFailure::Abort(e) => e,
        }
    }
}

/// How a stage ended in this process: every task's accumulator updates, by partition, or
/// the failure.
pub(crate) type StageOutcome = std::result::Result<Vec<(usize, TaskUpdates)>, StageFailure>;

/// Which processes receive an action's results in cluster mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gather {
    /// Every process: driver-side branches stay identical everywhere.
    All,
    /// Rank 0 only; the other processes get `None`.
    Leader,
}

/// What a job runs, as the backend sees it when the job starts.
pub(crate) struct JobPlan<'a> {
    /// The job's id (jobs are numbered in the order the program runs them).
    pub job: usize,
    /// The dataset the action runs on.
    pub rdd: &'a Arc<dyn RddBase>,
    /// The partitions of `rdd` the action computes.
    pub partitions: &'a [usize],
    /// The map stages whose outputs are missing, parents first.
    pub map_stages: &'a [Arc<dyn ShuffleDepBase>],
    /// Who receives the results.
    pub gather: Gather,
}

/// The backend of one job: where its tasks run and how their outputs meet.
pub(crate) trait JobBackend: Sync {
    /// The indices in `parts` (partitions of `rdd` that a stage computes) of the tasks that
    /// run in this process. The shuffle buckets those tasks read are here when it returns.
    fn place(
        &mut self,
        ctx: &ContextInner,
        rdd: &Arc<dyn RddBase>,
        parts: &[usize],
    ) -> std::result::Result<Vec<usize>, StageFailure>;

    /// A map stage of `dep` has ended here with `outcome` for the tasks of `mine`. Returns
    /// the accumulator updates of every task of the stage, wherever it ran, once its
    /// outputs can be read by the tasks that need them.
    fn finish_map_stage(
        &mut self,
        ctx: &ContextInner,
        dep: &Arc<dyn ShuffleDepBase>,
        mine: &[usize],
        outcome: StageOutcome,
    ) -> StageOutcome;

    /// Called on a result task's thread as soon as the result of `partition` is computed,
    /// so that moving it can overlap the remaining tasks. An error fails the task.
    fn result_ready<R: Serialize>(&self, partition: usize, result: &R) -> Result<()>;

    /// The result stage has ended here with `outcome`. Fills `results` (by index in the
    /// job's partitions) with the results computed elsewhere and returns the updates of
    /// every task, wherever it ran; when this process receives results (see
    /// [`receives_results`](Self::receives_results)), every slot is then filled.
    fn finish_result_stage<R: DeserializeOwned>(
        &mut self,
        ctx: &ContextInner,
        outcome: StageOutcome,
        results: &mut [Option<R>],
    ) -> StageOutcome;

    /// Whether this process receives the action's results.
    fn receives_results(&self) -> bool;
}

/// Where a context's jobs run, chosen when the context is built.
#[derive(Debug)]
pub(crate) enum Backend {
    /// Every task in this process.
    Local,
    /// One process of a cluster.
    Cluster(ClusterBackend),
}

impl Backend {
    /// This process's rank in its cluster (0 locally).
    pub(crate) fn rank(&self) -> usize {
        match self {
            Backend::Local => 0,
            Backend::Cluster(c) => c.rank(),
        }
    }

    /// The number of processes (1 locally).
    pub(crate) fn world(&self) -> usize {
        match self {
            Backend::Local => 1,
            Backend::Cluster(c) => c.world(),
        }
    }

    /// Whether the job's tasks run in more than one process. Then each process caches
    /// only its own partitions, so planning must not depend on this process's cache, and
    /// accumulator updates arrive from other processes.
    pub(crate) fn is_distributed(&self) -> bool {
        matches!(self, Backend::Cluster(_))
    }
}

/// The local backend's job: every task runs here, and outputs stay where they are.
#[derive(Debug)]
pub(crate) struct LocalJob;

impl JobBackend for LocalJob {
    fn place(
        &mut self,
        _: &ContextInner,
        _: &Arc<dyn RddBase>,
        parts: &[usize],
    ) -> std::result::Result<Vec<usize>, StageFailure> {
        Ok((0..parts.len()).collect())
    }

    fn finish_map_stage(
        &mut self,
        _: &ContextInner,
        _: &Arc<dyn ShuffleDepBase>,
        _: &[usize],
        outcome: StageOutcome,
    ) -> StageOutcome {
        outcome
    }

    fn result_ready<R: Serialize>(&self, _: usize, _: &R) -> Result<()> {
        Ok(())
    }

    fn finish_result_stage<R: DeserializeOwned>(
        &mut self,
        _: &ContextInner,
        outcome: StageOutcome,
        _: &mut [Option<R>],
    ) -> StageOutcome {
        outcome
    }

    fn receives_results(&self) -> bool {
        true
    }
}

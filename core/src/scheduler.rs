//! The DAG scheduler: splits a job into stages at shuffle dependencies, runs the map stages
//! whose outputs are missing (parents first), then the result stage, retrying failed tasks
//! and re-running map tasks whose outputs were lost.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::FxHashSet;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::accumulator::{self, TaskUpdates};
use crate::backend::{Backend, Gather, JobBackend, JobPlan, LocalJob, StageFailure, StageOutcome};
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::metrics::{
    JobMetrics, StageInfo, StageKind, StageMetrics, TaskCounters, TaskEnd, TaskMetrics,
};
use crate::rdd::{iterator, BatchIter, Dependency, Rdd, RddBase, TaskContext, Tc};
use crate::shuffle::ShuffleDepBase;
use crate::Data;

/// How many times a job re-runs stages after lost shuffle outputs before giving up
/// (Spark's `spark.stage.maxConsecutiveAttempts`).
const MAX_STAGE_ATTEMPTS: usize = 4;

/// What a user-facing action does with each partition it computes.
pub(crate) type PartitionFunc<'f, T, R> = dyn Fn(&Tc, BatchIter<T>) -> Result<R> + Sync + 'f;

struct StageDesc {
    name: String,
    kind: StageKind,
    dataset_id: usize,
    index: usize,
    total: usize,
}

impl StageDesc {
    /// Stage `index` of `total`, computing `rdd` (a map stage's parent, or the job's
    /// final dataset).
    fn new(rdd: &dyn RddBase, kind: StageKind, index: usize, total: usize) -> Self {
        StageDesc {
            name: rdd.describe(),
            kind,
            dataset_id: rdd.id(),
            index,
            total,
        }
    }
}

/// What an action computes: `func` over `partitions` of `rdd`.
struct Action<'a, 'f, T, R> {
    rdd: &'a Arc<dyn Rdd<T>>,
    partitions: &'a [usize],
    func: &'a PartitionFunc<'f, T, R>,
}

struct Job<'c> {
    ctx: &'c Arc<ContextInner>,
    id: usize,
    stages: Vec<StageMetrics>,
    /// Set if the job is cancelled; its tasks check it.
    cancel: Arc<crate::job_group::CancelFlag>,
}

/// Runs `func` over the given partitions of `rdd` and returns its results in that order.
pub(crate) fn run_job<T: Data, R: Send + Serialize + DeserializeOwned>(
    ctx: &Arc<ContextInner>,
    rdd: &Arc<dyn Rdd<T>>,
    partitions: &[usize],
    func: &PartitionFunc<'_, T, R>,
) -> Result<Vec<R>> {
    run_job_gather(ctx, rdd, partitions, func, Gather::All)
        .map(|r| r.expect("every process gets the results"))
}

/// [`run_job`], with the results delivered as `gather` says: `None` on a process that
/// does not receive them.
pub(crate) fn run_job_gather<T: Data, R: Send + Serialize + DeserializeOwned>(
    ctx: &Arc<ContextInner>,
    rdd: &Arc<dyn Rdd<T>>,
    partitions: &[usize],
    func: &PartitionFunc<'_, T, R>,
    gather: Gather,
) -> Result<Option<Vec<R>>> {
    let id = ctx.next_job.fetch_add(1, Ordering::Relaxed);
    let name = rdd.describe();
    let _span = tracing::info_span!("job", id, name = %name).entered();
    let listeners = ctx.listeners();
    for l in &listeners {
        l.on_job_start(id, &name);
    }
    let start = Instant::now();
    let (cancel, group) = ctx.job_groups.begin(id);
    if let Some(group) = &group {
        tracing::debug!(job = id, group, "job in a job group");
    }
    let mut job = Job {
        ctx,
        id,
        stages: Vec::new(),
        cancel,
    };
    // The one place where the backend chosen when the context was built comes in.
    let result = match &ctx.backend {
        Backend::Local => job.run(rdd, partitions, func, gather, |_| LocalJob),
        Backend::Cluster(c) => job.run(rdd, partitions, func, gather, |plan| c.begin_job(plan)),
    };
    ctx.job_groups.end(id);
    let metrics = JobMetrics {
        job_id: id,
        name,
        duration: start.elapsed(),
        success: result.is_ok(),
        stages: std::mem::take(&mut job.stages),
    };
    {
        let mut st = ctx.metrics.lock().unwrap_or_else(|e| e.into_inner());
        st.jobs_run += 1;
        if result.is_err() {
            st.jobs_failed += 1;
        }
        st.stages_run += metrics.stages.len();
        for s in &metrics.stages {
            st.totals.merge(&s.totals);
            st.task_failures += s.failed_attempts;
        }
        if st.recent.len() == 64 {
            st.recent.pop_front();
        }
        st.recent.push_back(metrics.clone());
    }
    for l in &listeners {
        l.on_job_end(&metrics);
    }
    tracing::info!(
        duration_ms = metrics.duration.as_secs_f64() * 1e3,
        stages = metrics.stages.len(),
        success = metrics.success,
        "job finished"
    );
    result
}

impl Job<'_> {
    /// Walks the job's stages: the map stages whose outputs are missing (parents first),
    /// then the result stage, re-running map stages whose outputs were lost. `begin` makes
    /// the job's backend from its plan.
    fn run<T: Data, R: Send + Serialize + DeserializeOwned, B: JobBackend>(
        &mut self,
        rdd: &Arc<dyn Rdd<T>>,
        partitions: &[usize],
        func: &PartitionFunc<'_, T, R>,
        gather: Gather,
        begin: impl FnOnce(&JobPlan<'_>) -> B,
    ) -> Result<Option<Vec<R>>> {
        let base: Arc<dyn RddBase> = rdd.clone();
        let mut map_stages = self.missing_map_stages(&base);
        let mut backend = begin(&JobPlan {
            job: self.id,
            rdd: &base,
            partitions,
            map_stages: &map_stages,
            gather,
        });
        // Result tasks that succeeded keep their results when a later attempt re-runs lost
        // map outputs: only the unfinished ones run again.
        let mut result_slots = Vec::new();
        let mut stage_attempts = 0;
        let action = Action {
            rdd,
            partitions,
            func,
        };
        loop {
            let failure = match self.attempt(
                &mut backend,
                &action,
                &map_stages,
                &mut result_slots,
                stage_attempts,
            ) {
                Ok(results) => return Ok(results),
                Err(f) => f,
            };
            match failure {
                StageFailure::Abort(e) => return Err(e),
                StageFailure::Fetch(e) => {
                    stage_attempts += 1;
                    if stage_attempts >= MAX_STAGE_ATTEMPTS {
                        return Err(Error::JobFailed {
                            job: self.id,
                            stage: usize::MAX,
                            stage_name: "shuffle fetch".into(),
                            partition: 0,
                            attempts: stage_attempts,
                            cause: Box::new(e),
                        });
                    }
                }
            }
            map_stages = self.missing_map_stages(&base);
        }
    }

    /// One attempt at the job's stages.
    fn attempt<T: Data, R: Send + Serialize + DeserializeOwned, B: JobBackend>(
        &mut self,
        backend: &mut B,
        action: &Action<'_, '_, T, R>,
        map_stages: &[Arc<dyn ShuffleDepBase>],
        slots: &mut Vec<Option<(R, TaskUpdates)>>,
        stage_attempt: usize,
    ) -> std::result::Result<Option<Vec<R>>, StageFailure> {
        let Action {
            rdd,
            partitions,
            func,
        } = *action;
        let ctx = self.ctx;
        let total = map_stages.len() + 1;
        for (k, dep) in map_stages.iter().enumerate() {
            let parent = dep.parent();
            let missing = ctx
                .shuffles
                .missing(dep.shuffle_id(), parent.num_partitions());
            if missing.is_empty() {
                continue;
            }
            let mine: Vec<usize> = backend
                .place(ctx, &parent, &missing)?
                .into_iter()
                .map(|i| missing[i])
                .collect();
            let desc = StageDesc::new(&*parent, StageKind::ShuffleMap, k + 1, total);
            let mut slots: Vec<Option<((), TaskUpdates)>> = mine.iter().map(|_| None).collect();
            let outcome = self
                .run_placed(&desc, &missing, &mine, &mut slots, stage_attempt, &|tc| {
                    dep.run_map_task(tc)
                })
                .map(|()| {
                    mine.iter()
                        .zip(slots)
                        .map(|(&p, s)| (p, s.expect("stage succeeded").1))
                        .collect()
                });
            apply_in_order(backend.finish_map_stage(ctx, dep, &mine, outcome)?);
        }

        let base: Arc<dyn RddBase> = rdd.clone();
        let mine_idx = backend.place(ctx, &base, partitions)?;
        let mine: Vec<usize> = mine_idx.iter().map(|&i| partitions[i]).collect();
        let desc = StageDesc::new(&**rdd, StageKind::Result, total, total);
        if slots.len() != mine.len() {
            *slots = mine.iter().map(|_| None).collect();
        }
        let task = result_task(rdd, func);
        let shared: &B = backend;
        let ready = |tc: &Tc| -> Result<R> {
            let r = task(tc)?;
            shared.result_ready(tc.partition, &r)?;
            Ok(r)
        };
        let outcome = self.run_placed(&desc, partitions, &mine, slots, stage_attempt, &ready);
        let mut results: Vec<Option<R>> = partitions.iter().map(|_| None).collect();
        let outcome: StageOutcome = outcome.map(|()| {
            mine_idx
                .iter()
                .zip(std::mem::take(slots))
                .map(|(&i, s)| {
                    let (r, u) = s.expect("stage succeeded");
                    results[i] = Some(r);
                    (partitions[i], u)
                })
                .collect()
        });
        apply_in_order(backend.finish_result_stage(ctx, outcome, &mut results)?);
        if !backend.receives_results() {
            return Ok(None);
        }
        Ok(Some(
            results
                .into_iter()
                .map(|r| r.expect("the backend returned every result"))
                .collect(),
        ))
    }

    /// Shuffle dependencies whose outputs are incomplete, parents before children. The
    /// walk stops at fully cached datasets and at complete shuffles.
    fn missing_map_stages(&self, rdd: &Arc<dyn RddBase>) -> Vec<Arc<dyn ShuffleDepBase>> {
        let mut out = Vec::new();
        let mut seen_rdds = FxHashSet::default();
        let mut seen_shuffles = FxHashSet::default();
        self.visit(rdd, &mut out, &mut seen_rdds, &mut seen_shuffles);
        out
    }

    fn visit(
        &self,
        rdd: &Arc<dyn RddBase>,
        out: &mut Vec<Arc<dyn ShuffleDepBase>>,
        seen_rdds: &mut FxHashSet<usize>,
        seen_shuffles: &mut FxHashSet<usize>,
    ) {
        if !seen_rdds.insert(rdd.id()) {
            return;
        }
        // Where processes cache different blocks, the walk must not depend on this
        // process's cache: every process plans alike.
        if !self.ctx.backend.is_distributed()
            && rdd.meta().storage_level().is_some()
            && self.ctx.blocks.contains_all(rdd.id(), rdd.num_partitions())
        {
            return;
        }
        for dep in rdd.dependencies() {
            match dep {
                Dependency::Narrow(p) => self.visit(&p, out, seen_rdds, seen_shuffles),
                Dependency::Shuffle(d) => {
                    if seen_shuffles.insert(d.shuffle_id()) {
                        let parent = d.parent();
                        let missing = self
                            .ctx
                            .shuffles
                            .missing(d.shuffle_id(), parent.num_partitions());
                        if !missing.is_empty() {
                            self.visit(&parent, out, seen_rdds, seen_shuffles);
                            out.push(d);
                        }
                    }
                }
            }
        }
    }

    /// Runs the tasks of a stage's partitions `parts` that the backend placed here
    /// (`mine`). A process with none of them records no stage.
    fn run_placed<R: Send>(
        &mut self,
        desc: &StageDesc,
        parts: &[usize],
        mine: &[usize],
        slots: &mut [Option<(R, TaskUpdates)>],
        stage_attempt: usize,
        task: &(dyn Fn(&Tc) -> Result<R> + Sync),
    ) -> std::result::Result<(), StageFailure> {
        if mine.is_empty() && !parts.is_empty() {
            return Ok(());
        }
        self.run_stage(desc, mine, slots, stage_attempt, task)
    }

    /// Runs the tasks of `partitions` whose slot is empty, retrying failed attempts.
    fn run_stage<R: Send>(
        &mut self,
        desc: &StageDesc,
        partitions: &[usize],
        slots: &mut [Option<(R, TaskUpdates)>],
        stage_attempt: usize,
        task: &(dyn Fn(&Tc) -> Result<R> + Sync),
    ) -> std::result::Result<(), StageFailure> {
        let ctx = self.ctx;
        let stage_id = ctx.next_stage.fetch_add(1, Ordering::Relaxed);
        let _span = tracing::debug_span!(
            "stage",
            id = stage_id,
            name = %desc.name,
            kind = ?desc.kind,
            tasks = partitions.len(),
            attempt = stage_attempt
        )
        .entered();
        let listeners = ctx.listeners();
        let start = Instant::now();
        let mut attempts = vec![0usize; partitions.len()];
        let mut metrics = StageMetrics {
            stage_id,
            name: desc.name.clone(),
            kind: desc.kind,
            tasks: 0,
            failed_attempts: 0,
            duration: Default::default(),
            totals: TaskMetrics::default(),
        };
        let mut outcome = Ok(());
        loop {
            let pending: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].is_none()).collect();
            if pending.is_empty() {
                break;
            }
            let info = StageInfo {
                job_id: self.id,
                stage_id,
                name: desc.name.clone(),
                kind: desc.kind,
                dataset_id: desc.dataset_id,
                index: desc.index,
                total: desc.total,
                num_tasks: pending.len(),
                attempt: stage_attempt,
            };
            for l in &listeners {
                l.on_stage_submitted(&info);
            }
            let results: Vec<Mutex<Option<TaskOutcome<R>>>> =
                pending.iter().map(|_| Mutex::new(None)).collect();
            let done = AtomicUsize::new(0);
            ctx.executor.run_tasks(pending.len(), &|j| {
                let i = pending[j];
                let out = run_attempt(
                    ctx,
                    &self.cancel,
                    desc.dataset_id,
                    partitions[i],
                    attempts[i],
                    task,
                );
                let finished = done.fetch_add(1, Ordering::AcqRel) + 1;
                if !listeners.is_empty() {
                    let end = TaskEnd {
                        job_id: self.id,
                        stage_id,
                        partition: partitions[i],
                        attempt: attempts[i],
                        success: out.result.is_ok(),
                        tasks_done: finished,
                        tasks_total: pending.len(),
                        metrics: out.metrics,
                        error: out.result.as_ref().err().map(|e| e.to_string()),
                    };
                    for l in &listeners {
                        l.on_task_end(&end);
                    }
                }
                *results[j].lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
            });
            let mut fetch = None;
            let mut abort = None;
            for (j, cell) in results.into_iter().enumerate() {
                let i = pending[j];
                let out = cell
                    .into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("executor ran every task");
                match out.result {
                    Ok(r) => {
                        metrics.tasks += 1;
                        metrics.totals.merge(&out.metrics);
                        slots[i] = Some((r, out.updates));
                    }
                    Err(e @ Error::FetchFailed { .. }) => {
                        metrics.failed_attempts += 1;
                        fetch.get_or_insert(e);
                    }
                    // A cancelled job ends with the cancellation itself.
                    Err(e @ Error::Cancelled(_)) => {
                        metrics.failed_attempts += 1;
                        abort.get_or_insert(e);
                    }
                    Err(e) => {
                        metrics.failed_attempts += 1;
                        attempts[i] += 1;
                        // Bad input fails the same way every time: do not retry it.
                        let fatal = !e.is_retryable();
                        if (fatal || attempts[i] >= ctx.config.max_task_attempts) && abort.is_none()
                        {
                            abort = Some(Error::JobFailed {
                                job: self.id,
                                stage: stage_id,
                                stage_name: desc.name.clone(),
                                partition: partitions[i],
                                attempts: attempts[i],
                                cause: Box::new(e),
                            });
                        }
                    }
                }
            }
            if let Some(e) = abort {
                outcome = Err(StageFailure::Abort(e));
                break;
            }
            if let Some(e) = fetch {
                outcome = Err(StageFailure::Fetch(e));
                break;
            }
        }
        metrics.duration = start.elapsed();
        tracing::debug!(
            duration_ms = metrics.duration.as_secs_f64() * 1e3,
            tasks = metrics.tasks,
            failed_attempts = metrics.failed_attempts,
            "stage finished"
        );
        for l in &listeners {
            l.on_stage_completed(&metrics);
        }
        self.stages.push(metrics);
        outcome
    }
}

struct TaskOutcome<R> {
    result: Result<R>,
    metrics: TaskMetrics,
    updates: TaskUpdates,
}

fn run_attempt<R>(
    ctx: &Arc<ContextInner>,
    cancel: &Arc<crate::job_group::CancelFlag>,
    dataset_id: usize,
    partition: usize,
    attempt: usize,
    task: &(dyn Fn(&Tc) -> Result<R> + Sync),
) -> TaskOutcome<R> {
    let tc: Tc = std::rc::Rc::new(TaskContext {
        ctx: ctx.clone(),
        partition,
        attempt,
        counters: TaskCounters::default(),
        cancel: cancel.clone(),
    });
    let start = Instant::now();
    let prev = accumulator::begin_task();
    let result = catch_unwind(AssertUnwindSafe(|| {
        #[cfg(feature = "fault-injection")]
        ctx.faults.before_task(dataset_id, partition, attempt)?;
        #[cfg(not(feature = "fault-injection"))]
        let _ = dataset_id; // only fault injection names a task by its stage's dataset
                            // A task of a cancelled job does not start.
        tc.cancel.check()?;
        task(&tc)
    }))
    .unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        Err(Error::TaskPanicked(msg))
    });
    let updates = accumulator::end_task(prev);
    TaskOutcome {
        result,
        metrics: tc.counters.snapshot(start.elapsed()),
        updates,
    }
}

/// The result stage's task: computes a partition and applies the action's function.
fn result_task<'a, T: Data, R>(
    rdd: &'a Arc<dyn Rdd<T>>,
    func: &'a PartitionFunc<'_, T, R>,
) -> impl Fn(&Tc) -> Result<R> + Sync + 'a {
    move |tc: &Tc| -> Result<R> {
        let it = iterator(rdd, tc.partition, tc)?;
        let tc2 = tc.clone();
        let it: BatchIter<T> = Box::new(it.inspect(move |b| {
            if let Ok(b) = b {
                TaskCounters::add(&tc2.counters.records_out, b.len() as u64);
            }
        }));
        func(tc, it)
    }
}

/// Applies task updates in partition order, whichever process ran the tasks.
fn apply_in_order(mut updates: Vec<(usize, TaskUpdates)>) {
    updates.sort_by_key(|(p, _)| *p);
    for (_, u) in updates {
        u.apply();
    }
}

//! The DAG scheduler: splits a job into stages at shuffle dependencies, runs the map stages
//! whose outputs are missing (parents first), then the result stage, retrying failed tasks
//! and re-running map tasks whose outputs were lost.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::accumulator::{self, TaskUpdates};
use crate::cluster::{self, Needs, RoundMsg, Transport};
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::fault::InjectedFailure;
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

enum StageFailure {
    /// A shuffle output was missing; re-run its map tasks and retry.
    Fetch(Error),
    /// A task ran out of attempts.
    Abort(Error),
}

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

struct Job<'c> {
    ctx: &'c Arc<ContextInner>,
    id: usize,
    stages: Vec<StageMetrics>,
}

/// Which processes receive an action's results in cluster mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gather {
    /// Every process: driver-side branches stay identical everywhere.
    All,
    /// Rank 0 only; the other processes get `None`.
    Leader,
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
    let listeners = ctx.listeners();
    for l in &listeners {
        l.on_job_start(id, &name);
    }
    let start = Instant::now();
    let mut job = Job {
        ctx,
        id,
        stages: Vec::new(),
    };
    let result = match ctx.cluster.clone() {
        Some(t) => job.run_cluster(&*t, rdd, partitions, func, gather),
        None => job.run(rdd, partitions, func).map(Some),
    };
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
    result
}

impl Job<'_> {
    fn run<T: Data, R: Send>(
        &mut self,
        rdd: &Arc<dyn Rdd<T>>,
        partitions: &[usize],
        func: &PartitionFunc<'_, T, R>,
    ) -> Result<Vec<R>> {
        let mut slots: Vec<Option<(R, TaskUpdates)>> = partitions.iter().map(|_| None).collect();
        let mut stage_attempts = 0;
        let base: Arc<dyn RddBase> = rdd.clone();
        loop {
            let map_stages = self.missing_map_stages(&base);
            let total = map_stages.len() + 1;
            let mut failure = None;
            for (k, dep) in map_stages.iter().enumerate() {
                let parent = dep.parent();
                let missing = self
                    .ctx
                    .shuffles
                    .missing(dep.shuffle_id(), parent.num_partitions());
                if missing.is_empty() {
                    continue;
                }
                let desc = StageDesc::new(&*parent, StageKind::ShuffleMap, k + 1, total);
                let mut map_slots: Vec<Option<((), TaskUpdates)>> =
                    missing.iter().map(|_| None).collect();
                match self.run_stage(&desc, &missing, &mut map_slots, stage_attempts, &|tc| {
                    dep.run_map_task(tc)
                }) {
                    Ok(()) => {
                        for (_, u) in map_slots.into_iter().flatten() {
                            u.apply();
                        }
                    }
                    Err(f) => {
                        failure = Some(f);
                        break;
                    }
                }
            }
            if failure.is_none() {
                let desc = StageDesc::new(&**rdd, StageKind::Result, total, total);
                let task = result_task(rdd, func);
                match self.run_stage(&desc, partitions, &mut slots, stage_attempts, &task) {
                    Ok(()) => break,
                    Err(f) => failure = Some(f),
                }
            }
            match failure {
                Some(StageFailure::Abort(e)) => return Err(e),
                Some(StageFailure::Fetch(e)) => {
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
                None => unreachable!("loop exits on success"),
            }
        }
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let (r, u) = s.expect("all result tasks succeeded");
            u.apply();
            out.push(r);
        }
        Ok(out)
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
        // In cluster mode the walk must not depend on this process's cache, which differs
        // between processes.
        if self.ctx.cluster.is_none()
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
                let out = run_attempt(ctx, desc.dataset_id, partitions[i], attempts[i], task);
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
                    Err(e) => {
                        metrics.failed_attempts += 1;
                        attempts[i] += 1;
                        // Bad input fails the same way every time: do not retry it.
                        let fatal = matches!(e, Error::Parse { .. });
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
    });
    let start = Instant::now();
    let prev = accumulator::begin_task();
    let result = catch_unwind(AssertUnwindSafe(|| {
        match ctx.faults.check(dataset_id, partition, attempt) {
            Some(InjectedFailure::Panic) => panic!(
                "injected fault: dataset {dataset_id} partition {partition} attempt {attempt}"
            ),
            Some(InjectedFailure::Error) => {
                return Err(Error::TaskFailed(format!(
                    "injected fault: dataset {dataset_id} partition {partition} attempt {attempt}"
                )))
            }
            None => {}
        }
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

/// What a process sends in a round: one message per peer, or the same one to all.
enum Outgoing {
    PerPeer(Vec<RoundMsg>),
    All(RoundMsg),
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

/// Cluster mode (see [`crate::cluster`]): every process walks the same plan, runs the tasks
/// of the partitions it owns, and meets the others in one round per stage.
impl Job<'_> {
    fn run_cluster<T: Data, R: Send + Serialize + DeserializeOwned>(
        &mut self,
        t: &dyn Transport,
        rdd: &Arc<dyn Rdd<T>>,
        partitions: &[usize],
        func: &PartitionFunc<'_, T, R>,
        gather: Gather,
    ) -> Result<Option<Vec<R>>> {
        let ctx = self.ctx;
        let (me, world) = (t.rank(), t.world());
        let base: Arc<dyn RddBase> = rdd.clone();
        let map_stages = self.missing_map_stages(&base);
        let parents: Vec<Arc<dyn RddBase>> = map_stages.iter().map(|d| d.parent()).collect();
        // Where the results go is part of the plan: processes that disagree on it fail
        // with a plan mismatch instead of waiting for results that never come.
        let plan = cluster::fingerprint(self.id, &base, partitions, &parents)
            ^ u64::from(gather == Gather::Leader).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut round = 0usize;
        let total = map_stages.len() + 1;
        let by_owner = |parts: &[usize]| -> Vec<Vec<usize>> {
            (0..world)
                .map(|d| {
                    parts
                        .iter()
                        .copied()
                        .filter(|&p| cluster::owner(p, world) == d)
                        .collect()
                })
                .collect()
        };
        for (k, dep) in map_stages.iter().enumerate() {
            let parent = dep.parent();
            let (sid, num_maps, num_reduce) =
                (dep.shuffle_id(), parent.num_partitions(), dep.num_reduce());
            let missing = ctx.shuffles.missing(sid, num_maps);
            if missing.is_empty() {
                continue;
            }
            let per_rank = by_owner(&missing);
            let mut needs = Needs::new();
            cluster::needs(&parent, &per_rank, &mut needs);
            self.deliver(t, plan, &mut round, &needs)?;
            let mine = &per_rank[me];
            let desc = StageDesc::new(&*parent, StageKind::ShuffleMap, k + 1, total);
            let mut slots: Vec<Option<((), TaskUpdates)>> = mine.iter().map(|_| None).collect();
            let outcome = if mine.is_empty() {
                Ok(())
            } else {
                self.run_stage(&desc, mine, &mut slots, 0, &|tc| dep.run_map_task(tc))
            };
            // Each peer gets the buckets of the reduce partitions it owns.
            let owned = by_owner(&(0..num_reduce).collect::<Vec<_>>());
            let build = || -> Result<Vec<RoundMsg>> {
                outcome_error(outcome)?;
                let updates = encode_updates(mine, &slots)?;
                let mut msgs: Vec<RoundMsg> = (0..world).map(|_| RoundMsg::default()).collect();
                for (d, msg) in msgs.iter_mut().enumerate() {
                    if d == me {
                        continue;
                    }
                    msg.updates = updates.clone();
                    for &m in mine {
                        msg.buckets
                            .push((sid, m, dep.encode_buckets(ctx, m, &owned[d])?));
                    }
                }
                Ok(msgs)
            };
            let got = self.round(t, plan, &mut round, build().map(Outgoing::PerPeer))?;
            let mut updates: Vec<(usize, TaskUpdates)> = Vec::new();
            for (&m, slot) in mine.iter().zip(slots) {
                updates.push((m, slot.expect("stage succeeded").1));
            }
            for msg in got {
                for (s, m, buckets) in msg.buckets {
                    ctx.shuffles
                        .register_remote(s, num_maps, num_reduce, m, buckets);
                }
                for (p, u) in msg.updates {
                    updates.push((p, TaskUpdates::decode(ctx, u)?));
                }
            }
            ctx.shuffles.mark_delivered(sid, num_maps, &owned);
            apply_in_order(updates);
        }

        // The result stage: every process runs its own partitions, then all results go to
        // every process (or to rank 0 only; accumulator updates always go everywhere).
        let per_rank = by_owner(partitions);
        let mut needs = Needs::new();
        cluster::needs(&base, &per_rank, &mut needs);
        self.deliver(t, plan, &mut round, &needs)?;
        let mine_idx: Vec<usize> = (0..partitions.len())
            .filter(|&i| cluster::owner(partitions[i], world) == me)
            .collect();
        let mine: Vec<usize> = mine_idx.iter().map(|&i| partitions[i]).collect();
        let desc = StageDesc::new(&**rdd, StageKind::Result, total, total);
        let mut slots: Vec<Option<(R, TaskUpdates)>> = mine.iter().map(|_| None).collect();
        let task = result_task(rdd, func);
        // Each result goes to the processes that receive results as soon as its task
        // ends, so that the transfer overlaps the remaining tasks; the round itself then
        // carries only accumulator updates (or the stage's failure). A result that cannot
        // be sent early is missing at the receiver, which then fails the job.
        let receivers: Vec<usize> = (0..world)
            .filter(|&d| d != me && (gather == Gather::All || d == 0))
            .collect();
        let tag = cluster::round_tag(plan, round);
        let slot_of: FxHashMap<usize, usize> =
            mine_idx.iter().map(|&i| (partitions[i], i)).collect();
        let streaming = |tc: &Tc| -> Result<R> {
            let r = task(tc)?;
            if let Some((&last, rest)) = receivers.split_last() {
                let frame = cluster::encode_result(slot_of[&tc.partition], &r)?;
                // A lost peer fails the round that follows, naming it.
                for &d in rest {
                    let _ = t.send_early(tag, d, frame.clone());
                }
                let _ = t.send_early(tag, last, frame);
            }
            Ok(r)
        };
        let outcome = if mine.is_empty() {
            Ok(())
        } else {
            self.run_stage(&desc, &mine, &mut slots, 0, &streaming)
        };
        let build = || -> Result<RoundMsg> {
            outcome_error(outcome)?;
            Ok(RoundMsg {
                updates: encode_updates(&mine, &slots)?,
                ..RoundMsg::default()
            })
        };
        let outgoing = build().map(Outgoing::All);
        let got = self.round(t, plan, &mut round, outgoing)?;
        let receives = gather == Gather::All || me == 0;
        let mut results: Vec<Option<R>> = partitions.iter().map(|_| None).collect();
        let mut updates: Vec<(usize, TaskUpdates)> = Vec::new();
        for (&i, slot) in mine_idx.iter().zip(slots) {
            let (r, u) = slot.expect("stage succeeded");
            results[i] = Some(r);
            updates.push((partitions[i], u));
        }
        for (p, msg) in got.into_iter().enumerate() {
            for (i, bytes) in msg.result_bytes() {
                let r = postcard::from_bytes(bytes).map_err(|e| {
                    Error::Cluster(format!("rank {p} sent a result that does not decode: {e}"))
                })?;
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            for (q, u) in msg.updates {
                updates.push((q, TaskUpdates::decode(ctx, u)?));
            }
        }
        apply_in_order(updates);
        if !receives {
            return Ok(None);
        }
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.ok_or_else(|| {
                    Error::Cluster(format!(
                        "no process returned the result of partition {}",
                        partitions[i]
                    ))
                })
            })
            .collect::<Result<Vec<R>>>()
            .map(Some)
    }

    /// One round: sends `out` (or, when building it failed, the failure), and returns what
    /// the peers sent (an empty message at this process's own rank). A failure anywhere
    /// fails the job everywhere.
    fn round(
        &self,
        t: &dyn Transport,
        plan: u64,
        round: &mut usize,
        out: Result<Outgoing>,
    ) -> Result<Vec<RoundMsg>> {
        let (me, world) = (t.rank(), t.world());
        let (out, local_err) = match out {
            Ok(o) => (o, None),
            Err(e) => {
                let msg = RoundMsg {
                    failure: Some(e.to_string()),
                    ..RoundMsg::default()
                };
                (Outgoing::All(msg), Some(e))
            }
        };
        let bytes: Vec<Vec<u8>> = match out {
            Outgoing::All(m) => {
                let mut b = Some(m.encode()?);
                let last = if me + 1 == world {
                    world.saturating_sub(2)
                } else {
                    world - 1
                };
                (0..world)
                    .map(|d| match d {
                        _ if d == me => Vec::new(),
                        _ if d == last => b.take().unwrap_or_default(),
                        _ => b.clone().unwrap_or_default(),
                    })
                    .collect()
            }
            Outgoing::PerPeer(ms) => ms
                .iter()
                .enumerate()
                .map(|(d, m)| if d == me { Ok(Vec::new()) } else { m.encode() })
                .collect::<Result<_>>()?,
        };
        let tag = cluster::round_tag(plan, *round);
        *round += 1;
        let got = t.exchange(tag, bytes)?;
        if let Some(e) = local_err {
            return Err(e);
        }
        let mut msgs = Vec::with_capacity(world);
        for (p, frames) in got.into_iter().enumerate() {
            let m = if p == me {
                RoundMsg::default()
            } else {
                RoundMsg::decode(frames, p)?
            };
            if let Some(f) = &m.failure {
                return Err(Error::Remote {
                    rank: p,
                    message: f.clone(),
                });
            }
            msgs.push(m);
        }
        Ok(msgs)
    }

    /// Ships, in one round, every reduce partition some process needs and lacks. Every
    /// process computes the same needs and deliveries, so all skip the round together.
    fn deliver(
        &self,
        t: &dyn Transport,
        plan: u64,
        round: &mut usize,
        needs: &Needs,
    ) -> Result<()> {
        let ctx = self.ctx;
        let (me, world) = (t.rank(), t.world());
        let mut lacking = Vec::new();
        for (sid, (dep, per)) in needs {
            let have = ctx.shuffles.delivered(*sid, world);
            let l: Vec<Vec<usize>> = per
                .iter()
                .zip(&have)
                .enumerate()
                .map(|(d, (n, h))| {
                    let mut v: Vec<usize> = if d == me && world == 1 {
                        Vec::new()
                    } else {
                        n.difference(h).copied().collect()
                    };
                    v.sort_unstable();
                    v
                })
                .collect();
            if l.iter().any(|v| !v.is_empty()) {
                lacking.push((dep.clone(), l));
            }
        }
        if lacking.is_empty() {
            return Ok(());
        }
        let build = || -> Result<Vec<RoundMsg>> {
            let mut msgs: Vec<RoundMsg> = (0..world).map(|_| RoundMsg::default()).collect();
            for (dep, l) in &lacking {
                let num_maps = dep.parent().num_partitions();
                for (d, msg) in msgs.iter_mut().enumerate() {
                    if d == me || l[d].is_empty() {
                        continue;
                    }
                    for m in (0..num_maps).filter(|&m| cluster::owner(m, world) == me) {
                        let b = dep.encode_buckets(ctx, m, &l[d])?;
                        msg.buckets.push((dep.shuffle_id(), m, b));
                    }
                }
            }
            Ok(msgs)
        };
        let got = self.round(t, plan, round, build().map(Outgoing::PerPeer))?;
        for (dep, l) in &lacking {
            let num_maps = dep.parent().num_partitions();
            let num_reduce = dep.num_reduce();
            for msg in &got {
                for (s, m, buckets) in &msg.buckets {
                    if *s == dep.shuffle_id() {
                        ctx.shuffles
                            .register_remote(*s, num_maps, num_reduce, *m, buckets.clone());
                    }
                }
            }
            ctx.shuffles.mark_delivered(dep.shuffle_id(), num_maps, l);
        }
        Ok(())
    }
}

/// The error of a failed stage, if it failed.
fn outcome_error(outcome: std::result::Result<(), StageFailure>) -> Result<()> {
    match outcome {
        Ok(()) => Ok(()),
        Err(StageFailure::Abort(e) | StageFailure::Fetch(e)) => Err(e),
    }
}

/// The accumulator updates of a stage's finished tasks, serialized, by partition.
fn encode_updates<R>(
    parts: &[usize],
    slots: &[Option<(R, TaskUpdates)>],
) -> Result<Vec<(usize, Vec<(usize, Vec<u8>)>)>> {
    parts
        .iter()
        .zip(slots)
        .map(|(&p, s)| Ok((p, s.as_ref().expect("stage succeeded").1.encode()?)))
        .collect()
}

/// Applies task updates in partition order, whichever process ran the tasks.
fn apply_in_order(mut updates: Vec<(usize, TaskUpdates)>) {
    updates.sort_by_key(|(p, _)| *p);
    for (_, u) in updates {
        u.apply();
    }
}

//! The cluster backend: a job's stages as rounds between the processes (see the module
//! above for the protocol). Each process runs the tasks of the partitions it owns, ships
//! the buckets of its map outputs to the owners of their reduce partitions, and sends its
//! action results to the processes that receive them.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{encode_result, label_hash, owner, round_tag, RoundMsg, Transport};
use crate::accumulator::TaskUpdates;
use crate::backend::{Gather, JobBackend, JobPlan, StageFailure, StageOutcome};
use crate::context::ContextInner;
use crate::error::{Error, Result};
use crate::lineage::{fingerprint, shuffle_reads, ShuffleReads};
use crate::rdd::RddBase;
use crate::shuffle::ShuffleDepBase;

/// One process of a cluster: its transport to the others.
#[derive(Debug)]
pub(crate) struct ClusterBackend {
    transport: Arc<dyn Transport>,
}

impl ClusterBackend {
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // only timely makes one
    pub(crate) fn new(transport: Arc<dyn Transport>) -> Self {
        ClusterBackend { transport }
    }

    pub(crate) fn rank(&self) -> usize {
        self.transport.rank()
    }

    pub(crate) fn world(&self) -> usize {
        self.transport.world()
    }

    /// A value decided by rank 0 alone (`decide` runs there only) and sent to every
    /// process in a round of its own. Every process must reach the same decisions in the
    /// same order, between the same jobs; `label` names the decision in the round's tag,
    /// so processes at different decisions fail with a plan mismatch rather than take each
    /// other's. A failure to decide fails the round on every process with rank 0's error.
    pub(crate) fn agree(
        &self,
        label: &str,
        decide: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let t = &*self.transport;
        let (me, world) = (t.rank(), t.world());
        let tag = round_tag(label_hash(label), usize::MAX);
        let mut out = vec![Vec::new(); world];
        let decided = (me == 0).then(decide);
        if let Some(d) = &decided {
            let msg: std::result::Result<&[u8], String> = match d {
                Ok(bytes) => Ok(bytes),
                Err(e) => Err(e.to_string()),
            };
            let frame = postcard::to_stdvec(&msg).map_err(Error::serde)?;
            for o in out.iter_mut().skip(1) {
                o.clone_from(&frame);
            }
        }
        let mut got = t.exchange(tag, out)?;
        if let Some(d) = decided {
            return d;
        }
        let frame = std::mem::take(&mut got[0])
            .into_iter()
            .find(|f| !f.is_empty())
            .ok_or_else(|| Error::Cluster(format!("rank 0 sent no decision on {label}")))?;
        let msg: std::result::Result<Vec<u8>, String> =
            postcard::from_bytes(&frame).map_err(|e| {
                Error::Cluster(format!("rank 0's decision on {label} does not decode: {e}"))
            })?;
        msg.map_err(|e| Error::Cluster(format!("rank 0 could not decide {label}: {e}")))
    }

    /// Checks that every process holds the same `value` of `what` (in a round of its own):
    /// each sends its value to every other, so each sees them all and every process fails
    /// alike, naming the ranks, when they differ.
    pub(crate) fn all_same(&self, what: &str, value: u64) -> Result<()> {
        let t = &*self.transport;
        let (me, world) = (t.rank(), t.world());
        let tag = round_tag(label_hash(&format!("same {what}")), usize::MAX);
        let mut out = vec![value.to_le_bytes().to_vec(); world];
        out[me].clear();
        let got = t.exchange(tag, out)?;
        let values: Vec<Option<u64>> = got
            .iter()
            .enumerate()
            .map(|(src, frames)| {
                if src == me {
                    return Some(value);
                }
                let frame = frames.iter().find(|f| !f.is_empty())?;
                Some(u64::from_le_bytes(frame.as_slice().try_into().ok()?))
            })
            .collect();
        if values.iter().all(|v| *v == Some(value)) {
            return Ok(());
        }
        let each: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(rank, v)| match v {
                Some(v) => format!("rank {rank}: {v:016x}"),
                None => format!("rank {rank}: nothing readable"),
            })
            .collect();
        Err(Error::PlanMismatch(format!(
            "the processes differ in {what} ({})",
            each.join(", ")
        )))
    }

    /// Starts a job. Every process must start the same jobs in the same order.
    pub(crate) fn begin_job(&self, plan: &JobPlan<'_>) -> ClusterJob<'_> {
        let t = &*self.transport;
        let (me, world) = (t.rank(), t.world());
        let parents: Vec<Arc<dyn RddBase>> = plan.map_stages.iter().map(|d| d.parent()).collect();
        // Where the results go is part of the plan: processes that disagree on it fail
        // with a plan mismatch instead of waiting for results that never come.
        let fingerprint = fingerprint(plan.job, plan.rdd, plan.partitions, &parents)
            ^ u64::from(plan.gather == Gather::Leader).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        ClusterJob {
            t,
            me,
            world,
            plan: fingerprint,
            round: 0,
            partitions: plan.partitions.to_vec(),
            receivers: (0..world)
                .filter(|&d| d != me && (plan.gather == Gather::All || d == 0))
                .collect(),
            receives: plan.gather == Gather::All || me == 0,
            slot_of: FxHashMap::default(),
        }
    }
}

/// What a process sends in a round: one message per peer, or the same one to all.
enum Outgoing {
    PerPeer(Vec<RoundMsg>),
    All(RoundMsg),
}

/// One job of a cluster process.
pub(crate) struct ClusterJob<'t> {
    t: &'t dyn Transport,
    me: usize,
    world: usize,
    /// The plan's fingerprint; every round's tag derives from it.
    plan: u64,
    /// The next round's number.
    round: usize,
    /// The partitions the action computes.
    partitions: Vec<usize>,
    /// The peers this process sends its results to.
    receivers: Vec<usize>,
    /// Whether this process receives the results.
    receives: bool,
    /// The last placed stage's partitions run here, and their index in the stage.
    slot_of: FxHashMap<usize, usize>,
}

impl JobBackend for ClusterJob<'_> {
    fn place(
        &mut self,
        ctx: &ContextInner,
        rdd: &Arc<dyn RddBase>,
        parts: &[usize],
    ) -> std::result::Result<Vec<usize>, StageFailure> {
        let mut reads = ShuffleReads::new();
        shuffle_reads(rdd, &self.by_owner(parts), &mut reads);
        self.deliver(ctx, &reads).map_err(StageFailure::Abort)?;
        let mine: Vec<usize> = (0..parts.len())
            .filter(|&i| owner(parts[i], self.world) == self.me)
            .collect();
        self.slot_of = mine.iter().map(|&i| (parts[i], i)).collect();
        Ok(mine)
    }

    fn finish_map_stage(
        &mut self,
        ctx: &ContextInner,
        dep: &Arc<dyn ShuffleDepBase>,
        mine: &[usize],
        outcome: StageOutcome,
    ) -> StageOutcome {
        let (sid, num_maps, num_reduce) = (
            dep.shuffle_id(),
            dep.parent().num_partitions(),
            dep.num_reduce(),
        );
        // Each peer gets the buckets of the reduce partitions it owns.
        let owned = self.by_owner(&(0..num_reduce).collect::<Vec<_>>());
        let (mut updates, out) = match outcome {
            Ok(u) => {
                let out = self.map_messages(ctx, dep, mine, &u, &owned);
                (u, out.map(Outgoing::PerPeer))
            }
            Err(f) => (Vec::new(), Err(f.into_error())),
        };
        let got = self.round(out).map_err(StageFailure::Abort)?;
        for msg in got {
            for (s, m, buckets) in msg.buckets {
                ctx.shuffles
                    .register_remote(s, num_maps, num_reduce, m, buckets);
            }
            for (p, u) in msg.updates {
                updates.push((p, TaskUpdates::decode(ctx, u).map_err(StageFailure::Abort)?));
            }
        }
        ctx.shuffles.mark_delivered(sid, num_maps, &owned);
        Ok(updates)
    }

    fn result_ready<R: Serialize>(&self, partition: usize, result: &R) -> Result<()> {
        if let Some((&last, rest)) = self.receivers.split_last() {
            let frame = encode_result(self.slot_of[&partition], result)?;
            // The results go out as the tasks end, so that the transfer overlaps the
            // remaining tasks. A lost peer fails the round that follows, naming it.
            let tag = round_tag(self.plan, self.round);
            for &d in rest {
                let _ = self.t.send_early(tag, d, frame.clone());
            }
            let _ = self.t.send_early(tag, last, frame);
        }
        Ok(())
    }

    fn finish_result_stage<R: DeserializeOwned>(
        &mut self,
        ctx: &ContextInner,
        outcome: StageOutcome,
        results: &mut [Option<R>],
    ) -> StageOutcome {
        // The round itself carries only accumulator updates (they always go everywhere),
        // or the stage's failure: the results went ahead of it.
        let (mut updates, out) = match outcome {
            Ok(u) => {
                let out = encode_updates(&u).map(|updates| {
                    Outgoing::All(RoundMsg {
                        updates,
                        ..RoundMsg::default()
                    })
                });
                (u, out)
            }
            Err(f) => (Vec::new(), Err(f.into_error())),
        };
        let got = self.round(out).map_err(StageFailure::Abort)?;
        for (p, msg) in got.into_iter().enumerate() {
            for (i, bytes) in msg.result_bytes() {
                let r = postcard::from_bytes(bytes).map_err(|e| {
                    StageFailure::Abort(Error::Cluster(format!(
                        "rank {p} sent a result that does not decode: {e}"
                    )))
                })?;
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            for (q, u) in msg.updates {
                updates.push((q, TaskUpdates::decode(ctx, u).map_err(StageFailure::Abort)?));
            }
        }
        // A result that could not be sent early is missing here: fail rather than hang.
        if self.receives {
            if let Some(i) = results.iter().position(Option::is_none) {
                return Err(StageFailure::Abort(Error::Cluster(format!(
                    "no process returned the result of partition {}",
                    self.partitions[i]
                ))));
            }
        }
        Ok(updates)
    }

    fn receives_results(&self) -> bool {
        self.receives
    }
}

impl ClusterJob<'_> {
    /// `parts`, split by the process that owns each.
    fn by_owner(&self, parts: &[usize]) -> Vec<Vec<usize>> {
        (0..self.world)
            .map(|d| {
                parts
                    .iter()
                    .copied()
                    .filter(|&p| owner(p, self.world) == d)
                    .collect()
            })
            .collect()
    }

    /// The messages that end a map stage: to each peer, the buckets of this process's map
    /// outputs for the reduce partitions it owns, and the stage's accumulator updates.
    fn map_messages(
        &self,
        ctx: &ContextInner,
        dep: &Arc<dyn ShuffleDepBase>,
        mine: &[usize],
        updates: &[(usize, TaskUpdates)],
        owned: &[Vec<usize>],
    ) -> Result<Vec<RoundMsg>> {
        let updates = encode_updates(updates)?;
        let mut msgs: Vec<RoundMsg> = (0..self.world).map(|_| RoundMsg::default()).collect();
        for (d, msg) in msgs.iter_mut().enumerate() {
            if d == self.me {
                continue;
            }
            msg.updates = updates.clone();
            for &m in mine {
                msg.buckets
                    .push((dep.shuffle_id(), m, dep.encode_buckets(ctx, m, &owned[d])?));
            }
        }
        Ok(msgs)
    }

    /// One round: sends `out` (or, when building it failed, the failure), and returns what
    /// the peers sent (an empty message at this process's own rank). A failure anywhere
    /// fails the job everywhere.
    fn round(&mut self, out: Result<Outgoing>) -> Result<Vec<RoundMsg>> {
        let (me, world) = (self.me, self.world);
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
        let tag = round_tag(self.plan, self.round);
        self.round += 1;
        let got = self.t.exchange(tag, bytes)?;
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
    fn deliver(&mut self, ctx: &ContextInner, reads: &ShuffleReads) -> Result<()> {
        let (me, world) = (self.me, self.world);
        let mut lacking = Vec::new();
        for (sid, (dep, per)) in reads {
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
                    for m in (0..num_maps).filter(|&m| owner(m, world) == me) {
                        let b = dep.encode_buckets(ctx, m, &l[d])?;
                        msg.buckets.push((dep.shuffle_id(), m, b));
                    }
                }
            }
            Ok(msgs)
        };
        let out = build().map(Outgoing::PerPeer);
        let got = self.round(out)?;
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

/// Accumulator updates, serialized, by partition.
fn encode_updates(updates: &[(usize, TaskUpdates)]) -> Result<Vec<(usize, Vec<(usize, Vec<u8>)>)>> {
    updates.iter().map(|(p, u)| Ok((*p, u.encode()?))).collect()
}

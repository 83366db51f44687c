//! GraphX's Pregel: bulk-synchronous message passing with an active set.

use std::sync::Arc;

use firesteel_core::{Data, Dataset};

use crate::graph::zip1;
use crate::{EdgeContext, EdgeDirection, Graph, Result, TripletFields, VertexId};

impl<VD: Data, ED: Data> Graph<VD, ED> {
    /// GraphX's `Pregel`: first every vertex runs `vprog` on `initial_msg`; then, in each
    /// superstep, edges run `send_msg` (which messages either end through the context),
    /// messages to a vertex are merged with `merge_msg`, and every vertex that received a
    /// message runs `vprog` on it. Only vertices that received a message in the previous
    /// superstep are active: in the next one, an edge sends only if its ends are active as
    /// `active_direction` says (`Out`: the source, `In`: the destination, `Either`, `Both`).
    /// The first round of messages is sent over all edges. The loop stops when no message
    /// is sent or after `max_iter` supersteps.
    ///
    /// Each superstep's vertices and messages are computed in one job and their lineage is
    /// truncated in memory (as Spark's `localCheckpoint`), so nothing accumulates across
    /// supersteps; with a [checkpoint interval](Graph::with_checkpoint_interval), both are
    /// also written to the scratch directory every that many supersteps (GraphX's
    /// `checkpointInterval`). The returned graph's vertices have no lineage.
    pub fn pregel<A: Data>(
        &self,
        initial_msg: A,
        max_iter: usize,
        active_direction: EdgeDirection,
        vprog: impl Fn(VertexId, &VD, A) -> VD + Send + Sync + 'static,
        send_msg: impl Fn(&mut EdgeContext<'_, VD, ED, A>) + Send + Sync + 'static,
        merge_msg: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Result<Graph<VD, ED>> {
        self.pregel_run(
            initial_msg,
            max_iter,
            active_direction,
            vprog,
            send_msg,
            merge_msg,
        )
        .map(|(g, _)| g)
    }

    /// [`pregel`](Self::pregel), with whether it stopped at `max_iter` with messages still
    /// to deliver (`true`) rather than because none were sent.
    pub(crate) fn pregel_run<A: Data>(
        &self,
        initial_msg: A,
        max_iter: usize,
        active_direction: EdgeDirection,
        vprog: impl Fn(VertexId, &VD, A) -> VD + Send + Sync + 'static,
        send_msg: impl Fn(&mut EdgeContext<'_, VD, ED, A>) + Send + Sync + 'static,
        merge_msg: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Result<(Graph<VD, ED>, bool)> {
        let vprog = Arc::new(vprog);
        let send = Arc::new(send_msg);
        let merge = Arc::new(merge_msg);
        let sender = || {
            let s = send.clone();
            move |c: &mut EdgeContext<'_, VD, ED, A>| s(c)
        };
        let merger = || {
            let m = merge.clone();
            move |a: A, b: A| m(a, b)
        };
        let nv = self.nv;
        let ctx = self.context().clone();
        // Computes a superstep's vertices and messages in one job and truncates both
        // lineages in memory (Spark's `localCheckpoint`); returns the message count.
        let settle = |g: Graph<VD, ED>,
                      msgs: Dataset<Arc<Vec<Option<A>>>>|
         -> Result<(Graph<VD, ED>, Dataset<Arc<Vec<Option<A>>>>, u64)> {
            let g = g.cache();
            let both = zip1(&g.verts, &msgs).collect()?;
            g.unpersist_vertices();
            let (vs, ms): (Vec<_>, Vec<_>) = both.into_iter().unzip();
            let active = ms
                .iter()
                .map(|m| m.iter().filter(|x| x.is_some()).count() as u64)
                .sum();
            Ok((
                g.with_verts(ctx.parallelize(vs, nv)),
                ctx.parallelize(ms, nv),
                active,
            ))
        };
        let g0 = {
            let vp = vprog.clone();
            self.map_vertices(move |id, a| vp(id, a, initial_msg.clone()))
        };
        let m0 = g0.aggregate_aligned(sender(), merger(), TripletFields::All, None);
        let (mut g, mut msgs, mut active) = settle(g0, m0)?;
        let mut i = 0;
        while active > 0 && i < max_iter {
            let vp = vprog.clone();
            let new_g = g.join_aligned(&msgs, move |id, a, m| match m {
                Some(m) => vp(id, a, m.clone()),
                None => a.clone(),
            });
            let flags = msgs.map(|m| Arc::new(m.iter().map(Option::is_some).collect::<Vec<_>>()));
            let new_msgs = new_g.aggregate_aligned(
                sender(),
                merger(),
                TripletFields::All,
                Some((&flags, active_direction)),
            );
            (g, msgs, active) = settle(new_g, new_msgs)?;
            i += 1;
            if self.checkpoint_interval > 0 && i % self.checkpoint_interval == 0 {
                g = g.checkpoint()?;
                msgs = msgs.checkpoint()?;
            }
        }
        Ok((g, active > 0))
    }
}

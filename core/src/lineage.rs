//! Questions that planning asks of a dataset's lineage: which shuffle partitions a set of
//! tasks reads, and a fingerprint of the plan a job runs.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use rustc_hash::{FxHashSet, FxHasher};

use crate::rdd::{Dependency, RddBase};
use crate::shuffle::ShuffleDepBase;

/// The reduce partitions that groups of tasks read, per shuffle id: the shuffle and, by
/// group, the partitions.
pub(crate) type ShuffleReads = BTreeMap<usize, (Arc<dyn ShuffleDepBase>, Vec<FxHashSet<usize>>)>;

/// The reduce partitions that computing the partitions `parts[d]` of `rdd` reads, for each
/// group `d` (in cluster mode, a process), following narrow dependencies down to the
/// shuffles they read.
pub(crate) fn shuffle_reads(rdd: &Arc<dyn RddBase>, parts: &[Vec<usize>], out: &mut ShuffleReads) {
    let world = parts.len();
    for (d, ps) in parts.iter().enumerate() {
        let mut seen = FxHashSet::default();
        let mut stack: Vec<(Arc<dyn RddBase>, usize)> =
            ps.iter().map(|&p| (rdd.clone(), p)).collect();
        while let Some((node, p)) = stack.pop() {
            if !seen.insert((node.id(), p)) {
                continue;
            }
            for (i, dep) in node.dependencies().into_iter().enumerate() {
                match dep {
                    Dependency::Narrow(parent) => {
                        for q in node.narrow_parents(i, p) {
                            stack.push((parent.clone(), q));
                        }
                    }
                    Dependency::Shuffle(s) => {
                        out.entry(s.shuffle_id())
                            .or_insert_with(|| (s, vec![FxHashSet::default(); world]))
                            .1[d]
                            .insert(p);
                    }
                }
            }
        }
    }
}

/// A hash of the part of the plan a job runs, identical in every process running the same
/// program: the narrow lineage of the job's final dataset and of the map stages it runs
/// (cluster mode checks that every process runs the same plan).
pub(crate) fn fingerprint(
    job: usize,
    rdd: &Arc<dyn RddBase>,
    partitions: &[usize],
    map_parents: &[Arc<dyn RddBase>],
) -> u64 {
    let mut h = FxHasher::default();
    job.hash(&mut h);
    partitions.hash(&mut h);
    let mut seen = FxHashSet::default();
    let mut stack: Vec<Arc<dyn RddBase>> = vec![rdd.clone()];
    stack.extend(map_parents.iter().cloned());
    while let Some(node) = stack.pop() {
        if !seen.insert(node.id()) {
            continue;
        }
        (node.id(), node.kind(), node.num_partitions()).hash(&mut h);
        for dep in node.dependencies() {
            match dep {
                Dependency::Narrow(p) => stack.push(p),
                Dependency::Shuffle(s) => s.shuffle_id().hash(&mut h),
            }
        }
    }
    h.finish()
}

//! Cluster mode: the same program runs as N processes (SPMD).
//!
//! Every process runs the driver program and builds the same plan. Partition `p` of every
//! dataset is owned by process `p mod N`, which runs its tasks, caches its blocks and
//! receives its shuffle buckets. The processes move data only in *rounds*, in which every
//! process sends one message to every other one:
//!
//! - after a shuffle map stage, each process sends each peer the buckets of its map outputs
//!   for the reduce partitions that peer owns, with its tasks' accumulator updates and its
//!   stage status (a failed stage fails the job everywhere, never a hang);
//! - after a result stage, each process sends every peer its partition results, so every
//!   process sees the same action value and driver-side branches stay identical;
//! - before a stage whose tasks read reduce partitions they do not own (through a union,
//!   coalesce or cartesian), a delivery round ships those buckets.
//!
//! Whether a round happens and what it carries is computed from the plan alone, so every
//! process agrees without asking. Every message carries a tag hashed from the job's plan:
//! a process that built a different plan fails with [`Error::PlanMismatch`].
//!
//! The transport is the [`Transport`] trait; the timely-dataflow implementation
//! (`timely_transport`, behind the `cluster` feature) is the only code that knows timely;
//! `auth` proves a shared secret on each connection.

use std::hash::{Hash, Hasher};
use std::time::Duration;

use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::shuffle::SerializedBucket;

#[cfg(feature = "cluster")]
mod auth;
mod backend;
#[cfg(feature = "cluster")]
mod timely_transport;

pub(crate) use backend::ClusterBackend;

/// Moves one round of messages between the processes of a cluster.
pub(crate) trait Transport: Send + Sync + std::fmt::Debug {
    /// This process's rank, in `0..world()`.
    fn rank(&self) -> usize;
    /// The number of processes.
    fn world(&self) -> usize;
    /// Sends `payload` to process `dst` now, as part of the coming round `tag`, so that
    /// the transfer overlaps the work before the round. Callable from any thread.
    fn send_early(&self, tag: u64, dst: usize, payload: Vec<u8>) -> Result<()>;
    /// Sends `out[d]` to every process `d` and returns, per process, the messages it sent
    /// to this one in the round, those sent early included, in no particular order
    /// (`out[rank]` comes back alone at `rank`). Every process must call this the same
    /// number of times; messages whose `tag` differs from this process's fail the round.
    fn exchange(&self, tag: u64, out: Vec<Vec<u8>>) -> Result<Vec<Vec<Vec<u8>>>>;
}

/// Where this process sits in a cluster: its rank and every peer's address.
///
/// # Examples
/// ```
/// use firesteel_core::ClusterConfig;
/// let cfg = ClusterConfig::new(1, vec!["127.0.0.1:7000".into(), "127.0.0.1:7001".into()]);
/// assert_eq!((cfg.rank(), cfg.world()), (1, 2));
/// ```
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub(crate) rank: usize,
    pub(crate) peers: Vec<String>,
    pub(crate) session: u64,
    pub(crate) secret: Option<Secret>,
    pub(crate) connect_timeout: Duration,
    pub(crate) round_timeout: Duration,
}

/// A shared secret; its `Debug` form does not show it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Environment variables that carry the rank, for the launchers that set one.
const RANK_VARS: [&str; 5] = [
    "FIRESTEEL_RANK",
    "JOB_COMPLETION_INDEX",
    "SLURM_PROCID",
    "OMPI_COMM_WORLD_RANK",
    "PMI_RANK",
];

impl ClusterConfig {
    /// Rank `rank` of a cluster whose process `i` listens on `peers[i]` (`host:port`).
    /// Each process listens only on its own address.
    pub fn new(rank: usize, peers: Vec<String>) -> Self {
        ClusterConfig {
            rank,
            peers,
            session: 0,
            secret: None,
            connect_timeout: Duration::from_secs(30),
            round_timeout: Duration::from_secs(600),
        }
    }

    /// A session id that every peer must present when connecting (default 0), so that
    /// processes of different runs never join each other.
    pub fn session(mut self, id: u64) -> Self {
        self.session = id;
        self
    }

    /// A secret every process must share, as Spark's `spark.authenticate`: each
    /// connection proves it on both sides (HMAC-SHA256 over fresh nonces) before any data
    /// moves, so a process without it can neither join the cluster nor be joined. The
    /// secret never crosses the wire; the data that crosses it afterwards is not
    /// encrypted. Processes that disagree on having a secret fail to connect.
    ///
    /// ```
    /// use firesteel_core::ClusterConfig;
    /// let cfg = ClusterConfig::new(0, vec!["127.0.0.1:7000".into()]).secret("a long random string");
    /// assert!(cfg.authenticates());
    /// assert!(!format!("{cfg:?}").contains("a long random string"));
    /// ```
    pub fn secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(Secret(secret.into()));
        self
    }

    /// Whether connections are authenticated with a shared [secret](Self::secret).
    pub fn authenticates(&self) -> bool {
        self.secret.is_some()
    }

    /// How long to wait for every peer to connect (default 30 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// How long one exchange round may wait for the slowest peer (default 600 s). A peer
    /// that exits or crashes is detected at once, without this timeout.
    pub fn round_timeout(mut self, t: Duration) -> Self {
        self.round_timeout = t;
        self
    }

    /// This process's rank.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of processes.
    pub fn world(&self) -> usize {
        self.peers.len()
    }

    /// The peers' addresses, by rank.
    pub fn peers(&self) -> &[String] {
        &self.peers
    }

    /// Reads the cluster from the environment, as set by `firesteel launch`, a Kubernetes
    /// indexed job, Slurm or an MPI launcher; `None` when `FIRESTEEL_PEERS` is not set.
    ///
    /// - `FIRESTEEL_PEERS`: comma-separated `host:port` of every process, by rank;
    /// - the rank: `FIRESTEEL_RANK`, else `JOB_COMPLETION_INDEX`, `SLURM_PROCID`,
    ///   `OMPI_COMM_WORLD_RANK` or `PMI_RANK`;
    /// - optional `FIRESTEEL_SESSION` (an integer), `FIRESTEEL_SECRET` (the shared
    ///   [secret](Self::secret)), `FIRESTEEL_CONNECT_TIMEOUT` and `FIRESTEEL_ROUND_TIMEOUT`
    ///   (seconds).
    ///
    /// # Errors
    /// A variable that is set but malformed, or a rank outside the peer list.
    pub fn from_env() -> Result<Option<Self>> {
        let Ok(peers) = std::env::var("FIRESTEEL_PEERS") else {
            return Ok(None);
        };
        let peers: Vec<String> = peers
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let bad = |var: &str, v: &str| {
            Error::InvalidArgument(format!("environment variable {var}={v:?} is not valid"))
        };
        let (var, value) = RANK_VARS
            .iter()
            .find_map(|v| std::env::var(v).ok().map(|x| (*v, x)))
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "FIRESTEEL_PEERS is set but no rank is: set one of {RANK_VARS:?}"
                ))
            })?;
        let rank: usize = value.trim().parse().map_err(|_| bad(var, &value))?;
        let mut cfg = ClusterConfig::new(rank, peers);
        let num = |var: &str| -> Result<Option<u64>> {
            match std::env::var(var) {
                Ok(v) => v.trim().parse().map(Some).map_err(|_| bad(var, &v)),
                Err(_) => Ok(None),
            }
        };
        if let Some(s) = num("FIRESTEEL_SESSION")? {
            cfg.session = s;
        }
        if let Some(secret) = std::env::var_os("FIRESTEEL_SECRET").filter(|s| !s.is_empty()) {
            cfg = cfg.secret(secret.into_encoded_bytes());
        }
        if let Some(s) = num("FIRESTEEL_CONNECT_TIMEOUT")? {
            cfg.connect_timeout = Duration::from_secs(s);
        }
        if let Some(s) = num("FIRESTEEL_ROUND_TIMEOUT")? {
            cfg.round_timeout = Duration::from_secs(s);
        }
        cfg.validate()?;
        Ok(Some(cfg))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.peers.is_empty() {
            return Err(Error::InvalidArgument(
                "a cluster needs at least one peer".into(),
            ));
        }
        if self.rank >= self.peers.len() {
            return Err(Error::InvalidArgument(format!(
                "rank {} is outside a cluster of {} processes",
                self.rank,
                self.peers.len()
            )));
        }
        Ok(())
    }
}

/// Connects this process to its peers.
pub(crate) fn start(cfg: &ClusterConfig) -> Result<ClusterBackend> {
    cfg.validate()?;
    #[cfg(feature = "cluster")]
    {
        let transport = std::sync::Arc::new(timely_transport::TimelyTransport::start(cfg)?);
        Ok(ClusterBackend::new(transport))
    }
    #[cfg(not(feature = "cluster"))]
    {
        Err(Error::Cluster(
            "firesteel-core was built without its `cluster` feature".into(),
        ))
    }
}

/// The process that owns partition `p`.
pub(crate) fn owner(p: usize, world: usize) -> usize {
    p % world
}

/// The first byte of every message says what follows: a [`RoundMsg`], or one action
/// result sent ahead of its round ([`encode_result`]).
const FRAME_ROUND: u8 = 0;
const FRAME_RESULT: u8 = 1;

/// What a process sends its peers at the end of a stage, or in a delivery round.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct RoundMsg {
    /// The stage failed here: the error, shown to every process.
    pub failure: Option<String>,
    /// Shuffle buckets: `(shuffle, map, buckets)`.
    pub buckets: Vec<(usize, usize, Vec<SerializedBucket>)>,
    /// Accumulator updates of finished tasks: `(partition, [(accumulator, encoded)])`.
    pub updates: Vec<(usize, Vec<(usize, Vec<u8>)>)>,
    /// Action results, each sent ahead of the round in a frame of its own: `(slot, frame,
    /// where the result starts)`, decoded in place rather than copied out.
    #[serde(skip)]
    pub early: Vec<(usize, Vec<u8>, usize)>,
}

/// One action result (slot `slot`), framed to be sent ahead of its round with
/// [`Transport::send_early`]: serialized once, straight into the message.
pub(crate) fn encode_result<R: Serialize>(slot: usize, r: &R) -> Result<Vec<u8>> {
    let size = postcard::experimental::serialized_size(r).map_err(Error::serde)?;
    let mut v = Vec::with_capacity(size + 11);
    v.push(FRAME_RESULT);
    let v = postcard::to_extend(&(slot as u64), v).map_err(Error::serde)?;
    postcard::to_extend(r, v).map_err(Error::serde)
}

impl RoundMsg {
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        // Sized up front: the buckets are most of the message, and growing a vector of
        // megabytes by doubling would copy them again.
        let payload: usize = self
            .buckets
            .iter()
            .flat_map(|(_, _, bs)| bs.iter().map(|b| b.bytes.len() + 24))
            .chain(
                self.updates
                    .iter()
                    .flat_map(|u| u.1.iter().map(|a| a.1.len() + 12)),
            )
            .sum();
        let mut v = Vec::with_capacity(payload + 64);
        v.push(FRAME_ROUND);
        postcard::to_extend(self, v).map_err(Error::serde)
    }

    /// Decodes and merges the messages one peer (rank `from`) sent in a round.
    pub(crate) fn decode(frames: Vec<Vec<u8>>, from: usize) -> Result<Self> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::Cluster(format!(
                "rank {from} sent a message that does not decode: {e}"
            ))
        };
        let mut all = RoundMsg::default();
        for frame in frames {
            match frame.first() {
                Some(&FRAME_ROUND) => {
                    let m: RoundMsg = postcard::from_bytes(&frame[1..]).map_err(|e| bad(&e))?;
                    all.failure = all.failure.or(m.failure);
                    all.buckets.extend(m.buckets);
                    all.updates.extend(m.updates);
                }
                Some(&FRAME_RESULT) => {
                    let (slot, rest) =
                        postcard::take_from_bytes::<u64>(&frame[1..]).map_err(|e| bad(&e))?;
                    let start = frame.len() - rest.len();
                    all.early.push((slot as usize, frame, start));
                }
                Some(k) => return Err(bad(&format!("unknown message kind {k}"))),
                None => return Err(bad(&"an empty message")),
            }
        }
        Ok(all)
    }

    /// The action results this peer sent, `(slot, encoded result)`.
    pub(crate) fn result_bytes(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.early.iter().map(|(i, f, s)| (*i, &f[*s..]))
    }
}

/// A hash of a decision's label, for the tag of its round.
pub(crate) fn label_hash(label: &str) -> u64 {
    let mut h = FxHasher::default();
    label.hash(&mut h);
    h.finish()
}

/// The tag of round `round` of a job with fingerprint `plan`.
pub(crate) fn round_tag(plan: u64, round: usize) -> u64 {
    let mut h = FxHasher::default();
    (plan, round).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_validated() {
        let c = ClusterConfig::new(2, vec!["a:1".into(), "b:2".into()]);
        assert!(c.validate().is_err());
        assert!(ClusterConfig::new(0, vec![]).validate().is_err());
        assert!(ClusterConfig::new(1, vec!["a:1".into(), "b:2".into()])
            .validate()
            .is_ok());
    }

    #[test]
    fn round_messages_round_trip_and_reject_garbage() {
        let m = RoundMsg {
            failure: Some("boom".into()),
            buckets: vec![(
                3,
                1,
                vec![SerializedBucket {
                    reduce: 0,
                    records: 2,
                    bytes: vec![1, 2, 3],
                }],
            )],
            updates: vec![(1, vec![(0, vec![4])])],
            early: Vec::new(),
        };
        let early = encode_result(5, &vec![7u32, 300]).unwrap();
        let back = RoundMsg::decode(vec![early, m.encode().unwrap()], 1).unwrap();
        assert_eq!(back.failure.as_deref(), Some("boom"));
        assert_eq!(back.buckets[0].2[0].bytes, [1, 2, 3]);
        assert_eq!(back.updates, m.updates);
        let results: Vec<(usize, Vec<u8>)> =
            back.result_bytes().map(|(i, b)| (i, b.to_vec())).collect();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].0, 5);
        let r: Vec<u32> = postcard::from_bytes(&results[0].1).unwrap();
        assert_eq!(r, vec![7, 300]);
        for garbage in [vec![0xff; 7], vec![0, 0xff, 0xff], vec![1], Vec::new()] {
            let e = RoundMsg::decode(vec![garbage], 4).err().unwrap();
            assert!(e.to_string().contains("rank 4"), "{e}");
        }
    }
}

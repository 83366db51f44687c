//! The one module that touches timely-dataflow.
//!
//! Peers connect with plain TCP sockets and a handshake of our own (magic, session, process
//! count, rank, and with a shared secret the proofs of `auth`), with a deadline, so that a wrong or garbage peer is an error and a missing
//! one a timeout; timely then runs its send and receive threads on those sockets. Each
//! process runs one timely worker on a thread of its own, driving one long-lived dataflow:
//! an input, the `Exchange` pact routing each message to the worker of its target process,
//! and an operator that hands the messages back to the driver. Every exchange round is one
//! epoch of that dataflow. A round's last message from each peer says how many that peer sent
//! ahead of it in the round, so the round is complete as soon as they are all in, without the
//! extra round trip that waiting for timely's progress tracking (a probe) would take.
//!
//! Timely reports a lost connection by panicking on its network threads. A panic hook
//! records such panics (the thread name says which peer), and the driver, which waits for a
//! round with a short poll, turns the record into [`Error::PeerLost`].

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::rc::Rc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use super::auth;

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::ProcessBuilder;
use timely::communication::{AllocatorBuilder, Hooks, WorkerGuards};
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Input, Operator};
use timely::dataflow::InputHandle;
use timely::WorkerConfig;

use super::{ClusterConfig, Transport};
use crate::error::{Error, Result};

/// One message of a round: target rank, source rank, round tag, how many messages the
/// source sent ahead of this one in the round when this one closes the round (`None` for a
/// message sent ahead), payload (serialized as one byte string, not byte by byte).
type Msg = (u32, u32, u64, Option<u32>, serde_bytes::ByteBuf);

/// Whether every peer's messages of the round sent at `epoch` are in: its closing message,
/// and as many messages sent ahead as that one counts.
fn round_complete(received: &[(u64, Msg)], epoch: u64, rank: usize, world: usize) -> bool {
    let mut ahead = vec![0u32; world];
    let mut closing: Vec<Option<u32>> = vec![None; world];
    for (t, (_, src, _, close, _)) in received {
        let Some(src) = (*t == epoch)
            .then_some(*src as usize)
            .filter(|&s| s < world)
        else {
            continue;
        };
        match close {
            Some(n) => closing[src] = Some(*n),
            None => ahead[src] += 1,
        }
    }
    (0..world).all(|p| p == rank || closing[p] == Some(ahead[p]))
}

const MAGIC: &[u8; 8] = b"FIRESTL2";
/// Magic, session, process count, rank, whether it authenticates, and a nonce.
const HANDSHAKE_LEN: usize = 8 + 8 + 4 + 4 + 1 + auth::LEN;

/// What timely's threads reported before dying, if anything.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

static HOOK: Once = Once::new();

fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Records panics of timely's threads instead of printing them; other panics go to the
/// previous hook.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if !name.starts_with("timely:") {
                return prev(info);
            }
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            let mut f = FAILURE.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(format!("{name}: {msg}"));
            }
        }));
    });
}

/// Which peer a recorded failure names: timely's network threads are `timely:send-N` and
/// `timely:recv-N`.
fn lost_peer(report: &str) -> Option<usize> {
    let rest = report
        .strip_prefix("timely:recv-")
        .or_else(|| report.strip_prefix("timely:send-"))?;
    rest.split(':').next()?.parse().ok()
}

enum Cmd {
    /// Send one message of the coming round now, ahead of the round.
    Early(u64, usize, Vec<u8>),
    Round(u64, Vec<Vec<u8>>),
}

/// Per source rank, the messages it sent in the round.
type Reply = std::result::Result<Vec<Vec<Vec<u8>>>, String>;

/// A [`Transport`] over a timely-dataflow cluster of processes, one worker each.
pub(crate) struct TimelyTransport {
    rank: usize,
    peers: Vec<String>,
    round_timeout: Duration,
    cmds: Mutex<Option<mpsc::Sender<Cmd>>>,
    /// The timely worker's thread, unparked after each command.
    worker: Option<std::thread::Thread>,
    /// Bytes sent ahead of the coming round, for the trace.
    early_bytes: std::sync::atomic::AtomicUsize,
    replies: Mutex<mpsc::Receiver<Reply>>,
    guards: Mutex<Option<WorkerGuards<()>>>,
    /// The first failure, once there was one: timely's threads can no longer be joined, and
    /// every later call fails with the same error (a failed early send, whose error the
    /// caller drops, must not hide the lost peer's name from the round that follows).
    broken: Mutex<Option<Error>>,
}

impl std::fmt::Debug for TimelyTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelyTransport")
            .field("rank", &self.rank)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

fn cluster_err(msg: impl Into<String>) -> Error {
    Error::Cluster(msg.into())
}

/// The same failure again, for every call after the first one that saw it.
fn replay(e: &Error) -> Error {
    match e {
        Error::PeerLost {
            rank,
            address,
            cause,
        } => Error::PeerLost {
            rank: *rank,
            address: address.clone(),
            cause: cause.clone(),
        },
        Error::PlanMismatch(m) => Error::PlanMismatch(m.clone()),
        other => cluster_err(other.to_string().trim_start_matches("cluster: ").to_owned()),
    }
}

fn resolve(addr: &str) -> Result<SocketAddr> {
    addr.to_socket_addrs()
        .map_err(|e| cluster_err(format!("bad peer address {addr}: {e}")))?
        .next()
        .ok_or_else(|| cluster_err(format!("peer address {addr} resolves to nothing")))
}

fn handshake(cfg: &ClusterConfig, rank: usize, nonce: &[u8; auth::LEN]) -> [u8; HANDSHAKE_LEN] {
    let mut h = [0u8; HANDSHAKE_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&cfg.session.to_le_bytes());
    h[16..20].copy_from_slice(&(cfg.peers.len() as u32).to_le_bytes());
    h[20..24].copy_from_slice(&(rank as u32).to_le_bytes());
    h[24] = u8::from(cfg.secret.is_some());
    h[25..].copy_from_slice(nonce);
    h
}

/// Checks a peer's handshake and returns its rank and nonce.
fn check_handshake(
    cfg: &ClusterConfig,
    h: &[u8; HANDSHAKE_LEN],
    from: &str,
) -> Result<(usize, [u8; auth::LEN])> {
    if &h[..8] != MAGIC {
        return Err(cluster_err(format!(
            "{from} is not a firesteel peer: bad handshake {:02x?}",
            &h[..8]
        )));
    }
    let session = u64::from_le_bytes(h[8..16].try_into().expect("8 bytes"));
    let world = u32::from_le_bytes(h[16..20].try_into().expect("4 bytes")) as usize;
    let rank = u32::from_le_bytes(h[20..24].try_into().expect("4 bytes")) as usize;
    if session != cfg.session {
        return Err(cluster_err(format!(
            "{from} belongs to another session ({session:#x}, ours is {:#x})",
            cfg.session
        )));
    }
    if world != cfg.peers.len() || rank >= world {
        return Err(cluster_err(format!(
            "{from} claims rank {rank} of {world} processes; this cluster has {}",
            cfg.peers.len()
        )));
    }
    match (h[24] != 0, cfg.secret.is_some()) {
        (false, true) => {
            return Err(cluster_err(format!(
                "{from} does not authenticate, and this process requires the shared secret"
            )))
        }
        (true, false) => {
            return Err(cluster_err(format!(
                "{from} authenticates with a shared secret, and this process has none \
                 (FIRESTEEL_SECRET)"
            )))
        }
        _ => {}
    }
    Ok((rank, h[25..].try_into().expect("a nonce")))
}

fn read_handshake(
    s: &mut TcpStream,
    cfg: &ClusterConfig,
    from: &str,
) -> Result<(usize, [u8; auth::LEN])> {
    let mut h = [0u8; HANDSHAKE_LEN];
    let read = |s: &mut TcpStream, buf: &mut [u8]| {
        s.read_exact(buf)
            .map_err(|e| cluster_err(format!("reading the handshake of {from}: {e}")))
    };
    // The magic first: a stranger that sends less than a handshake is still named at once.
    read(s, &mut h[..MAGIC.len()])?;
    if &h[..MAGIC.len()] == MAGIC {
        read(s, &mut h[MAGIC.len()..])?;
    }
    check_handshake(cfg, &h, from)
}

/// With a shared secret, sends this side's proof of it (`role`) and checks the other's.
/// The accepting side proves first; the connecting side checks before it proves.
fn prove(
    stream: &mut TcpStream,
    cfg: &ClusterConfig,
    role: auth::Role,
    x: &auth::Exchange<'_>,
    from: &str,
) -> Result<()> {
    let Some(secret) = &cfg.secret else {
        return Ok(());
    };
    let io = |e: std::io::Error| cluster_err(format!("authenticating {from}: {e}"));
    let other = match role {
        auth::Role::Accept => auth::Role::Connect,
        auth::Role::Connect => auth::Role::Accept,
    };
    if let auth::Role::Accept = role {
        stream
            .write_all(&auth::proof(secret, role, x))
            .map_err(io)?;
    }
    let mut got = [0u8; auth::LEN];
    stream.read_exact(&mut got).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            // The connecting side hangs up when our proof fails its check.
            cluster_err(format!(
                "{from} failed to prove the shared secret: it closed the connection, \
                 holding another secret"
            ))
        } else {
            io(e)
        }
    })?;
    if !auth::verify(secret, other, x, &got) {
        return Err(cluster_err(format!(
            "{from} failed to prove the shared secret: it does not belong to this cluster"
        )));
    }
    if let auth::Role::Connect = role {
        stream
            .write_all(&auth::proof(secret, role, x))
            .map_err(io)?;
    }
    Ok(())
}

/// Connects to every peer: actively to lower ranks, by accepting from higher ones.
fn connect(cfg: &ClusterConfig) -> Result<Vec<Option<TcpStream>>> {
    let me = cfg.rank;
    let n = cfg.peers.len();
    let deadline = Instant::now() + cfg.connect_timeout;
    let own = resolve(&cfg.peers[me])?;
    if cfg.secret.is_none() {
        let remote = cfg
            .peers
            .iter()
            .find(|a| resolve(a).is_ok_and(|a| !a.ip().is_loopback()));
        if let Some(addr) = remote {
            tracing::warn!(
                "cluster connections are not authenticated, and peer {addr} is not on \
                 loopback: set FIRESTEEL_SECRET on every process"
            );
        }
    }
    let listener = TcpListener::bind(own)
        .map_err(|e| cluster_err(format!("rank {me} cannot listen on {own}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| cluster_err(e.to_string()))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    let io_timeout = Some(Duration::from_secs(10));
    for (peer, addr) in cfg.peers.iter().enumerate().take(me) {
        let target = resolve(addr)?;
        let mut stream = loop {
            match TcpStream::connect_timeout(&target, Duration::from_millis(500)) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(cluster_err(format!(
                        "rank {me} could not connect to rank {peer} at {addr} within {:?}: {e}",
                        cfg.connect_timeout
                    )))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let from = format!("rank {peer} at {addr}");
        let io = |e: std::io::Error| cluster_err(format!("handshake with {from}: {e}"));
        stream.set_nodelay(true).map_err(io)?;
        stream.set_read_timeout(io_timeout).map_err(io)?;
        let nonce = auth::nonce();
        stream.write_all(&handshake(cfg, me, &nonce)).map_err(io)?;
        let (got, their_nonce) = read_handshake(&mut stream, cfg, &from)?;
        if got != peer {
            return Err(cluster_err(format!("{from} answered as rank {got}")));
        }
        let x = auth::Exchange {
            session: cfg.session,
            connecting: me as u32,
            accepting: peer as u32,
            connect_nonce: &nonce,
            accept_nonce: &their_nonce,
        };
        prove(&mut stream, cfg, auth::Role::Connect, &x, &from)?;
        sockets[peer] = Some(stream);
    }
    let mut pending = n - me - 1;
    while pending > 0 {
        match listener.accept() {
            Ok((mut stream, remote)) => {
                let from = format!("a connection from {remote}");
                let io = |e: std::io::Error| cluster_err(format!("handshake with {from}: {e}"));
                stream.set_nonblocking(false).map_err(io)?;
                stream.set_nodelay(true).map_err(io)?;
                stream.set_read_timeout(io_timeout).map_err(io)?;
                let (peer, their_nonce) = read_handshake(&mut stream, cfg, &from)?;
                if peer <= me || sockets[peer].is_some() {
                    return Err(cluster_err(format!(
                        "{from} claims rank {peer}, which rank {me} does not expect"
                    )));
                }
                let nonce = auth::nonce();
                stream.write_all(&handshake(cfg, me, &nonce)).map_err(io)?;
                let x = auth::Exchange {
                    session: cfg.session,
                    connecting: peer as u32,
                    accepting: me as u32,
                    connect_nonce: &their_nonce,
                    accept_nonce: &nonce,
                };
                prove(&mut stream, cfg, auth::Role::Accept, &x, &from)?;
                sockets[peer] = Some(stream);
                pending -= 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<usize> =
                        (me + 1..n).filter(|&p| sockets[p].is_none()).collect();
                    return Err(cluster_err(format!(
                        "rank {me} waited {:?} on {own} for ranks {missing:?} to connect",
                        cfg.connect_timeout
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(cluster_err(format!("accepting on {own}: {e}"))),
        }
    }
    for s in sockets.iter().flatten() {
        s.set_read_timeout(None)
            .map_err(|e| cluster_err(e.to_string()))?;
    }
    Ok(sockets)
}

impl TimelyTransport {
    /// Connects to the peers and starts this process's timely worker.
    pub(crate) fn start(cfg: &ClusterConfig) -> Result<Self> {
        install_panic_hook();
        let rank = cfg.rank;
        let world = cfg.peers.len();
        let sockets = connect(cfg)?;
        let (builders, comms) = initialize_networking_from_sockets(
            ProcessBuilder::new_typed_vector(1, Hooks::default().refill, None),
            sockets,
            rank,
            1,
            Hooks::default(),
        )
        .map_err(|e| cluster_err(format!("starting timely networking: {e}")))?;
        let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
        let (cmd_tx, cmd_rx) = mpsc::channel::<Cmd>();
        let (reply_tx, reply_rx) = mpsc::channel::<Reply>();
        let cmd_rx = Mutex::new(Some(cmd_rx));
        let reply_tx = Mutex::new(Some(reply_tx));
        let guards = timely::execute::execute_from(
            builders,
            Box::new(comms),
            WorkerConfig::default(),
            move |worker| {
                let cmds = cmd_rx.lock().unwrap_or_else(|e| e.into_inner()).take();
                let replies = reply_tx.lock().unwrap_or_else(|e| e.into_inner()).take();
                let (Some(cmds), Some(replies)) = (cmds, replies) else {
                    return;
                };
                let mut input: InputHandle<u64, _> = InputHandle::new();
                // Messages by epoch: a fast peer's next round can arrive before this one ends.
                let received: Rc<RefCell<Vec<(u64, Msg)>>> = Rc::default();
                let sink = received.clone();
                worker.dataflow::<u64, _, _>(|scope| {
                    scope
                        .input_from(&mut input)
                        .unary::<timely::container::CapacityContainerBuilder<Vec<()>>, _, _, _>(
                            Exchange::new(|m: &Msg| u64::from(m.0)),
                            "FiresteelExchange",
                            |_, _| {
                                move |input, _output| {
                                    input.for_each(|cap, data: &mut Vec<Msg>| {
                                        // Our input always sends under a capability.
                                        let t = cap.least().copied().unwrap_or(u64::MAX);
                                        sink.borrow_mut().extend(data.drain(..).map(|m| (t, m)));
                                    });
                                }
                            },
                        );
                });
                let mut epoch = 0u64;
                // Per peer, the messages sent ahead of the coming round.
                let mut sent_ahead = vec![0u32; world];
                // Between commands the worker keeps stepping, so that messages arriving
                // early are received while the driver works; it parks until data arrives
                // or the driver, having sent a command, unparks it. Ends when the driver
                // drops its sender: the input closes with `input`.
                loop {
                    let cmd = match cmds.try_recv() {
                        Ok(cmd) => cmd,
                        Err(mpsc::TryRecvError::Empty) => {
                            if failure().is_some() {
                                return;
                            }
                            worker.step_or_park(Some(Duration::from_millis(10)));
                            continue;
                        }
                        Err(mpsc::TryRecvError::Disconnected) => break,
                    };
                    let (tag, out) = match cmd {
                        Cmd::Early(tag, dst, payload) => {
                            // Sent at the current epoch, which the coming round closes.
                            sent_ahead[dst] += 1;
                            input.send((dst as u32, rank as u32, tag, None, payload.into()));
                            input.flush();
                            worker.step();
                            continue;
                        }
                        Cmd::Round(tag, out) => (tag, out),
                    };
                    for (dst, payload) in out.into_iter().enumerate() {
                        if dst != rank {
                            let ahead = std::mem::take(&mut sent_ahead[dst]);
                            input.send((dst as u32, rank as u32, tag, Some(ahead), payload.into()));
                        }
                    }
                    // The round is complete once every peer's messages of it are in. The
                    // epoch still advances, for timely's bookkeeping.
                    let this = epoch;
                    epoch += 1;
                    input.advance_to(epoch);
                    input.flush();
                    loop {
                        worker.step();
                        if failure().is_some() {
                            return;
                        }
                        if round_complete(&received.borrow(), this, rank, world) {
                            break;
                        }
                        worker.step_or_park(Some(Duration::from_millis(1)));
                    }
                    let mut got: Vec<Vec<Vec<u8>>> = (0..world).map(|_| Vec::new()).collect();
                    let mut bad = None;
                    let this_round: Vec<Msg> = {
                        let mut all = received.borrow_mut();
                        let (now, later): (Vec<_>, Vec<_>) =
                            all.drain(..).partition(|(t, _)| *t <= this);
                        *all = later;
                        now.into_iter().map(|(_, m)| m).collect()
                    };
                    for (dst, src, t, _, payload) in this_round {
                        let src = src as usize;
                        if dst as usize != rank || src >= world || src == rank {
                            bad = Some(format!("a malformed message (from {src} to {dst})"));
                        } else if t != tag {
                            bad = Some(format!(
                                "rank {src} is running a different plan: round tag {t:#018x}, \
                                 ours {tag:#018x}"
                            ));
                        } else {
                            got[src].push(payload.into_vec());
                        }
                    }
                    let reply = match bad {
                        Some(b) => Err(b),
                        None => Ok(got),
                    };
                    if replies.send(reply).is_err() {
                        return;
                    }
                }
            },
        )
        .map_err(|e| cluster_err(format!("starting the timely worker: {e}")))?;
        let worker = guards.guards().first().map(|g| g.thread().clone());
        Ok(TimelyTransport {
            worker,
            early_bytes: Default::default(),
            rank,
            peers: cfg.peers.clone(),
            round_timeout: cfg.round_timeout,
            cmds: Mutex::new(Some(cmd_tx)),
            replies: Mutex::new(reply_rx),
            guards: Mutex::new(Some(guards)),
            broken: Mutex::new(None),
        })
    }

    /// Hands the worker a command and wakes it; false if the worker has stopped.
    fn command(&self, cmd: Cmd) -> bool {
        let cmds = self.cmds.lock().unwrap_or_else(|e| e.into_inner());
        let sent = cmds.as_ref().is_some_and(|c| c.send(cmd).is_ok());
        if let Some(w) = &self.worker {
            w.unpark();
        }
        sent
    }

    /// Fails if the cluster already failed, or a peer was lost.
    fn check(&self) -> Result<()> {
        if let Some(first) = &*self.broken.lock().unwrap_or_else(|e| e.into_inner()) {
            return Err(replay(first));
        }
        if let Some(report) = failure() {
            return Err(self.fail(self.peer_error(report)));
        }
        Ok(())
    }

    fn fail(&self, e: Error) -> Error {
        let mut broken = self.broken.lock().unwrap_or_else(|e| e.into_inner());
        match &*broken {
            Some(first) => replay(first),
            None => {
                *broken = Some(replay(&e));
                e
            }
        }
    }

    /// Why the worker stopped: the worker only stops on its own after timely's threads
    /// reported a failure, which names the lost peer.
    fn stopped(&self) -> Error {
        match failure() {
            Some(report) => self.peer_error(report),
            None => cluster_err("the timely worker has stopped"),
        }
    }

    fn peer_error(&self, report: String) -> Error {
        match lost_peer(&report) {
            Some(p) => Error::PeerLost {
                rank: p,
                address: self.peers.get(p).cloned().unwrap_or_default(),
                cause: report,
            },
            None => cluster_err(format!("the timely worker failed: {report}")),
        }
    }
}

impl Transport for TimelyTransport {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world(&self) -> usize {
        self.peers.len()
    }

    fn send_early(&self, tag: u64, dst: usize, payload: Vec<u8>) -> Result<()> {
        self.check()?;
        self.early_bytes
            .fetch_add(payload.len(), std::sync::atomic::Ordering::Relaxed);
        if dst != self.rank && !self.command(Cmd::Early(tag, dst, payload)) {
            return Err(self.fail(self.stopped()));
        }
        Ok(())
    }

    fn exchange(&self, tag: u64, out: Vec<Vec<u8>>) -> Result<Vec<Vec<Vec<u8>>>> {
        self.check()?;
        let mut own = Vec::new();
        let mut out = out;
        let sent: usize = out.iter().map(Vec::len).sum::<usize>()
            + self
                .early_bytes
                .swap(0, std::sync::atomic::Ordering::Relaxed);
        if let Some(o) = out.get_mut(self.rank) {
            own = std::mem::take(o);
        }
        if !self.command(Cmd::Round(tag, out)) {
            return Err(self.fail(self.stopped()));
        }
        let replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        let start = Instant::now();
        let _trace = RoundTrace { start, sent };
        loop {
            match replies.recv_timeout(Duration::from_millis(25)) {
                Ok(Ok(mut got)) => {
                    got[self.rank] = vec![own];
                    return Ok(got);
                }
                Ok(Err(msg)) => return Err(self.fail(Error::PlanMismatch(msg))),
                Err(RecvTimeoutError::Disconnected) => return Err(self.fail(self.stopped())),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(report) = failure() {
                        return Err(self.fail(self.peer_error(report)));
                    }
                    if start.elapsed() > self.round_timeout {
                        return Err(self.fail(cluster_err(format!(
                            "rank {}: no exchange round completed within {:?}; a peer is \
                             stuck or was stopped",
                            self.rank, self.round_timeout
                        ))));
                    }
                }
            }
        }
    }
}

impl Drop for TimelyTransport {
    fn drop(&mut self) {
        // Closing the command channel ends the worker loop; its input closes and the
        // dataflow drains. Joining waits for the peers to close too, so it runs on a thread
        // of its own with a deadline, and is skipped once the cluster is broken.
        drop(self.cmds.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(w) = &self.worker {
            w.unpark();
        }
        let guards = self.guards.lock().unwrap_or_else(|e| e.into_inner()).take();
        let broken = self
            .broken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some();
        let Some(guards) = guards else { return };
        if broken || failure().is_some() {
            std::mem::forget(guards);
            return;
        }
        let (tx, rx) = mpsc::channel();
        let joiner = std::thread::Builder::new()
            .name("timely:shutdown".into())
            .spawn(move || {
                drop(guards.join());
                let _ = tx.send(());
            });
        if joiner.is_ok() {
            let _ = rx.recv_timeout(self.round_timeout.min(Duration::from_secs(30)));
        }
    }
}

/// Reports each round as a `debug` event of target `firesteel::round` (see the `tracing`
/// crate): the round's duration (including the wait for the slowest peer), how long this
/// process worked between the previous round and this one, and the bytes it sent (those sent
/// ahead of the round included). The wall-clock times (seconds since the Unix epoch) at
/// which the process entered and left the round let `scripts/cluster_rounds.sh` line up the
/// processes of one machine: the spread of their entries is the imbalance, and the time
/// from the last entry to the exits is the round's own latency.
struct RoundTrace {
    start: Instant,
    sent: usize,
}

impl Drop for RoundTrace {
    fn drop(&mut self) {
        static LAST: Mutex<Option<Instant>> = Mutex::new(None);
        if !tracing::enabled!(target: "firesteel::round", tracing::Level::DEBUG) {
            return;
        }
        let now = Instant::now();
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        let work = last.map_or(Duration::ZERO, |l| self.start.saturating_duration_since(l));
        *last = Some(now);
        let round = now - self.start;
        let left = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        tracing::debug!(
            target: "firesteel::round",
            round_ms = round.as_secs_f64() * 1e3,
            work_ms = work.as_secs_f64() * 1e3,
            bytes_sent = self.sent,
            entered_at = format_args!("{:.6}", left - round.as_secs_f64()),
            left_at = format_args!("{left:.6}"),
            "round"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_peer_is_read_from_the_thread_name() {
        assert_eq!(
            lost_peer("timely:recv-2: timely communication error"),
            Some(2)
        );
        assert_eq!(lost_peer("timely:send-11: broken pipe"), Some(11));
        assert_eq!(lost_peer("timely:work-0: oops"), None);
    }

    #[test]
    fn handshakes_are_checked() {
        let cfg =
            ClusterConfig::new(1, vec!["127.0.0.1:1".into(), "127.0.0.1:2".into()]).session(7);
        let n = auth::nonce();
        let h = handshake(&cfg, 0, &n);
        assert_eq!(check_handshake(&cfg, &h, "x").unwrap(), (0, n));
        let other = ClusterConfig::new(0, vec!["a:1".into(), "b:2".into()]).session(8);
        let e = check_handshake(&cfg, &handshake(&other, 0, &n), "x").unwrap_err();
        assert!(e.to_string().contains("another session"), "{e}");
        let mut bad = h;
        bad[0] = b'G';
        let e = check_handshake(&cfg, &bad, "x").unwrap_err();
        assert!(e.to_string().contains("not a firesteel peer"), "{e}");
        let three =
            ClusterConfig::new(0, vec!["a:1".into(), "b:2".into(), "c:3".into()]).session(7);
        let e = check_handshake(&cfg, &handshake(&three, 2, &n), "x").unwrap_err();
        assert!(e.to_string().contains("rank 2 of 3"), "{e}");
        // A process with a secret and one without never connect.
        let with = cfg.clone().secret("s");
        let e = check_handshake(&with, &h, "x").unwrap_err();
        assert!(e.to_string().contains("does not authenticate"), "{e}");
        let e = check_handshake(&cfg, &handshake(&with, 0, &n), "x").unwrap_err();
        assert!(e.to_string().contains("FIRESTEEL_SECRET"), "{e}");
    }

    #[test]
    fn a_failure_is_reported_again_by_every_later_call() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = ClusterConfig::new(0, vec![format!("127.0.0.1:{port}")]);
        let t = TimelyTransport::start(&cfg).unwrap();
        assert_eq!(t.exchange(1, vec![vec![3]]).unwrap(), vec![vec![vec![3]]]);
        // As when an early send meets a lost peer and its caller drops the error.
        let _ = t.fail(Error::PeerLost {
            rank: 1,
            address: "127.0.0.1:9".into(),
            cause: "timely:recv-1: gone".into(),
        });
        let _ = t.fail(cluster_err("a later, different failure"));
        for e in [
            t.send_early(2, 0, vec![1]).unwrap_err(),
            t.exchange(2, vec![vec![]]).unwrap_err(),
        ] {
            assert!(matches!(&e, Error::PeerLost { rank: 1, .. }), "{e}");
            assert_eq!(
                e.to_string(),
                "cluster: lost peer rank 1 (127.0.0.1:9): timely:recv-1: gone"
            );
        }
    }

    #[test]
    fn a_round_is_complete_when_every_peer_closed_it_with_all_it_sent_ahead() {
        let m = |t: u64, src: u32, close: Option<u32>| {
            (t, (0u32, src, 9u64, close, serde_bytes::ByteBuf::new()))
        };
        // Rank 0 of 3: rank 1 sent two messages ahead, rank 2 none.
        let mut got = vec![m(4, 1, None), m(4, 2, Some(0))];
        assert!(!round_complete(&got, 4, 0, 3));
        got.push(m(4, 1, Some(2)));
        // The closing message overtook one sent ahead of it.
        assert!(!round_complete(&got, 4, 0, 3));
        // The next round's messages do not count for this one.
        got.push(m(5, 1, None));
        assert!(!round_complete(&got, 4, 0, 3));
        got.push(m(4, 1, None));
        assert!(round_complete(&got, 4, 0, 3));
        assert!(!round_complete(&got, 5, 0, 3));
        // Alone, a process has nothing to wait for.
        assert!(round_complete(&[], 0, 0, 1));
    }
}

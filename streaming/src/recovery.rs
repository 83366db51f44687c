//! What a recoverable context keeps in its checkpoint directory so that a restarted
//! program picks up where a crashed one stopped, as Spark's metadata checkpoints and
//! write-ahead logs do:
//! - `metadata.json`: the batch interval, the zero time and the stream graph's signature;
//! - `wal/<batch ms>.json`: the inputs each batch was given (the files a directory stream
//!   chose, say), written before the batch's outputs run;
//! - `commits/<batch ms>`: written once all of a batch's outputs have finished;
//! - `receivers/<stream>/`: the receiver write-ahead logs ([`crate::receiver_log`]).
//!
//! Every file is written under a temporary name and renamed into place, so a reader sees
//! all of it or none of it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use firesteel_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::time::Time;

/// The inputs of one batch: for each input stream (by id), what it logged.
pub(crate) type BatchInputs = BTreeMap<String, serde_json::Value>;

/// The checkpoint directory's description of the stream graph it belongs to.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub(crate) struct Metadata {
    pub version: u32,
    pub batch_ms: i64,
    pub zero_ms: i64,
    pub graph_hash: String,
    pub graph: String,
}

/// The log in a checkpoint directory.
#[derive(Clone, Debug)]
pub(crate) struct Log {
    dir: PathBuf,
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("writing", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("renaming", &tmp, e))
}

/// The batch times named by the files of `dir` (`<ms>` or `<ms>.json`), in order.
fn times_in(dir: &Path) -> Result<Vec<Time>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io("listing", dir, e)),
    };
    for e in entries {
        let e = e.map_err(|e| Error::io("listing", dir, e))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let stem = name
            .strip_suffix(".json")
            .or_else(|| name.strip_suffix(".log"))
            .unwrap_or(&name);
        if let Ok(ms) = stem.parse::<i64>() {
            out.push(Time::from_millis(ms));
        }
    }
    out.sort();
    Ok(out)
}

impl Log {
    pub fn new(dir: &Path) -> Log {
        Log {
            dir: dir.to_path_buf(),
        }
    }

    fn wal(&self) -> PathBuf {
        self.dir.join("wal")
    }

    fn commits(&self) -> PathBuf {
        self.dir.join("commits")
    }

    fn receivers(&self) -> PathBuf {
        self.dir.join("receivers")
    }

    /// Where the receiver of stream `stream` keeps its write-ahead log.
    pub fn receiver_dir(&self, stream: usize) -> PathBuf {
        self.receivers().join(stream.to_string())
    }

    fn metadata_path(&self) -> PathBuf {
        self.dir.join("metadata.json")
    }

    /// The metadata of an earlier run, if there was one.
    pub fn read_metadata(&self) -> Result<Option<Metadata>> {
        let path = self.metadata_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("reading", &path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::parse(&path, 1, format!("not a streaming checkpoint: {e}")))
    }

    pub fn write_metadata(&self, m: &Metadata) -> Result<()> {
        for d in [self.wal(), self.commits()] {
            std::fs::create_dir_all(&d).map_err(|e| Error::io("creating", &d, e))?;
        }
        let bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::Serde(e.to_string()))?;
        write_atomic(&self.metadata_path(), &bytes)
    }

    /// Logs the inputs of the batch at `time`.
    pub fn write_batch(&self, time: Time, inputs: &BatchInputs) -> Result<()> {
        let bytes = serde_json::to_vec(inputs).map_err(|e| Error::Serde(e.to_string()))?;
        write_atomic(&self.wal().join(format!("{}.json", time.millis())), &bytes)
    }

    /// Every logged batch's inputs.
    pub fn read_batches(&self) -> Result<BTreeMap<Time, BatchInputs>> {
        let mut out = BTreeMap::new();
        for t in times_in(&self.wal())? {
            let path = self.wal().join(format!("{}.json", t.millis()));
            let text =
                std::fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?;
            let inputs: BatchInputs = serde_json::from_str(&text)
                .map_err(|e| Error::parse(&path, 1, format!("not a batch log entry: {e}")))?;
            out.insert(t, inputs);
        }
        Ok(out)
    }

    /// Marks the batch at `time` as done: all its outputs finished.
    pub fn commit(&self, time: Time) -> Result<()> {
        write_atomic(&self.commits().join(time.millis().to_string()), b"")
    }

    /// The last batch whose outputs all finished.
    pub fn last_commit(&self) -> Result<Option<Time>> {
        Ok(times_in(&self.commits())?.pop())
    }

    /// Forgets batches before `before`: their log entries and receiver logs, and every
    /// commit marker but the last.
    pub fn prune(&self, before: Time) -> Result<()> {
        for t in times_in(&self.wal())?.into_iter().filter(|t| *t < before) {
            let _ = std::fs::remove_file(self.wal().join(format!("{}.json", t.millis())));
        }
        if let Ok(streams) = std::fs::read_dir(self.receivers()) {
            for dir in streams.flatten().map(|e| e.path()) {
                for t in times_in(&dir)?.into_iter().filter(|t| *t < before) {
                    let _ = std::fs::remove_file(dir.join(format!("{}.log", t.millis())));
                }
            }
        }
        let commits = times_in(&self.commits())?;
        if let Some((_, older)) = commits.split_last() {
            for t in older {
                let _ = std::fs::remove_file(self.commits().join(t.millis().to_string()));
            }
        }
        Ok(())
    }
}

/// FNV-1a, 64 bits: a stable hash of the graph description (the same on every platform
/// and Rust version, unlike `DefaultHasher`).
pub(crate) fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_round_trip_and_prune() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path());
        assert_eq!(log.read_metadata().unwrap(), None);
        let m = Metadata {
            version: 1,
            batch_ms: 100,
            zero_ms: 0,
            graph_hash: fnv1a("g"),
            graph: "g".into(),
        };
        log.write_metadata(&m).unwrap();
        assert_eq!(log.read_metadata().unwrap(), Some(m));
        for t in [100, 200, 300] {
            let mut inputs = BatchInputs::new();
            inputs.insert("0".into(), serde_json::json!(t));
            log.write_batch(Time::from_millis(t), &inputs).unwrap();
            log.commit(Time::from_millis(t)).unwrap();
        }
        assert_eq!(log.last_commit().unwrap(), Some(Time::from_millis(300)));
        log.prune(Time::from_millis(250)).unwrap();
        let left: Vec<i64> = log
            .read_batches()
            .unwrap()
            .keys()
            .map(|t| t.millis())
            .collect();
        assert_eq!(left, vec![300]);
        assert_eq!(log.last_commit().unwrap(), Some(Time::from_millis(300)));
    }

    #[test]
    fn the_graph_hash_is_fnv1a() {
        // FNV-1a 64 test vectors (Fowler, Noll, Vo): "" and "a".
        assert_eq!(fnv1a(""), "cbf29ce484222325");
        assert_eq!(fnv1a("a"), "af63dc4c8601ec8c");
    }
}

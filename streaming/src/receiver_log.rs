//! The receiver write-ahead log, as Spark's `spark.streaming.receiver.writeAheadLog`: what
//! a receiver stores is appended to `receivers/<stream>/current.log` in the checkpoint
//! directory before `store` returns, one JSON line per record. When a batch takes the
//! stored records, the file is renamed to `<batch ms>.log` and a new one begun. After a
//! crash the batch reads its sealed file again, and what was stored but in no batch yet
//! (`current.log`) goes into the first new batch: every stored record is processed at
//! least once. Sealed files go when the batch log forgets their batch.
//!
//! The log is written, not synced: it survives the process dying, not the machine.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use firesteel_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::time::Time;

/// One receiver's log: its directory and the file of records not yet in a batch.
pub(crate) struct ReceiverLog {
    dir: PathBuf,
    current: File,
    /// Reused for each append.
    line: Vec<u8>,
}

const CURRENT: &str = "current.log";

fn sealed_path(dir: &Path, time: Time) -> PathBuf {
    dir.join(format!("{}.log", time.millis()))
}

/// The records of a log file, one JSON line each. A last line without its newline was cut
/// short by a crash while being stored (`store` had not returned): it is not a record.
/// Returns the records and the length of the whole lines.
fn read_records<T: DeserializeOwned>(path: &Path) -> Result<(Vec<T>, u64)> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let mut reader = BufReader::new(file);
    let (mut records, mut whole, mut line) = (Vec::new(), 0u64, String::new());
    for number in 1.. {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| Error::io("reading", path, e))?;
        if n == 0 || !line.ends_with('\n') {
            break;
        }
        let record = serde_json::from_str(&line)
            .map_err(|e| Error::parse(path, number, format!("not a stored record: {e}")))?;
        records.push(record);
        whole += n as u64;
    }
    Ok((records, whole))
}

impl ReceiverLog {
    /// Opens the log in `dir` (creating it), and returns it with the records stored
    /// before a crash but in no batch.
    pub fn open<T: DeserializeOwned>(dir: &Path) -> Result<(ReceiverLog, Vec<T>)> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
        let path = dir.join(CURRENT);
        let current = File::options()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(|e| Error::io("opening", &path, e))?;
        let (pending, whole) = read_records(&path)?;
        // Appends go after the last whole record, not after a torn one.
        current
            .set_len(whole)
            .map_err(|e| Error::io("truncating", &path, e))?;
        let log = ReceiverLog {
            dir: dir.to_path_buf(),
            current,
            line: Vec::new(),
        };
        Ok((log, pending))
    }

    /// Appends `records` in one write.
    pub fn append<'a, T: Serialize + 'a>(
        &mut self,
        records: impl IntoIterator<Item = &'a T>,
    ) -> Result<()> {
        self.line.clear();
        for r in records {
            serde_json::to_writer(&mut self.line, r).map_err(|e| Error::Serde(e.to_string()))?;
            self.line.push(b'\n');
        }
        let path = || self.dir.join(CURRENT);
        self.current
            .write_all(&self.line)
            .map_err(|e| Error::io("writing", path(), e))
    }

    /// Makes what was appended so far the records of the batch at `time`, and begins a
    /// new file.
    pub fn seal(&mut self, time: Time) -> Result<()> {
        let current = self.dir.join(CURRENT);
        let sealed = sealed_path(&self.dir, time);
        std::fs::rename(&current, &sealed).map_err(|e| Error::io("renaming", &current, e))?;
        self.current = File::options()
            .create(true)
            .append(true)
            .open(&current)
            .map_err(|e| Error::io("creating", &current, e))?;
        Ok(())
    }

    /// The records sealed for the batch at `time`, if it was sealed.
    pub fn sealed<T: DeserializeOwned>(&self, time: Time) -> Result<Option<Vec<T>>> {
        let path = sealed_path(&self.dir, time);
        if !path.exists() {
            return Ok(None);
        }
        read_records(&path).map(|(records, _)| Some(records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reopen_and_a_torn_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, pending) = ReceiverLog::open::<String>(dir.path()).unwrap();
        assert!(pending.is_empty());
        log.append(&["a".to_string(), "b".to_string()]).unwrap();
        log.seal(Time::from_millis(100)).unwrap();
        log.append(&["c".to_string()]).unwrap();
        drop(log);
        // A crash in the middle of storing "d".
        let mut f = File::options()
            .append(true)
            .open(dir.path().join(CURRENT))
            .unwrap();
        f.write_all(b"\"d").unwrap();
        let (mut log, pending) = ReceiverLog::open::<String>(dir.path()).unwrap();
        assert_eq!(pending, vec!["c".to_string()]);
        log.append(&["e".to_string()]).unwrap();
        assert_eq!(
            log.sealed::<String>(Time::from_millis(100)).unwrap(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(log.sealed::<String>(Time::from_millis(200)).unwrap(), None);
        log.seal(Time::from_millis(200)).unwrap();
        assert_eq!(
            log.sealed::<String>(Time::from_millis(200)).unwrap(),
            Some(vec!["c".to_string(), "e".to_string()])
        );
    }

    #[test]
    fn a_damaged_record_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CURRENT), "\"ok\"\nnot json\n").unwrap();
        let err = ReceiverLog::open::<String>(dir.path()).err().unwrap();
        assert!(err.to_string().contains("current.log:2"), "{err}");
    }
}

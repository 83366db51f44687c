//! `text_file_stream`: a directory watched for new files, as Spark's `FileInputDStream`.
//! Each batch reads the files that appeared since the previous batch, oldest first. Files
//! must appear atomically (written elsewhere, then renamed or moved in), as in Spark;
//! hidden files (`.name`, `_name`) are skipped, as are the temporary files of writers.
//!
//! As in Spark, the stream remembers the files it chose for a minute
//! ([`REMEMBER_MS`]): a file whose modification time is older than that when it is listed
//! is ignored, so that what the stream remembers stays bounded however long it runs.
//! (Spark measures the minute back from the batch time; this stream measures it back
//! from the wall clock of the listing, which a manual clock does not move.) In cluster
//! mode rank 0 lists the directory and the other processes take its choice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use firesteel_core::{Context, Dataset, Error, Result};

use crate::clock::Clock;
use crate::context::{InputHooks, StreamingContext};
use crate::dstream::DStream;
use crate::time::Time;

/// How long the stream remembers the files it chose, as Spark's
/// `FileInputDStream.MIN_REMEMBER_DURATION` (60 s).
pub(crate) const REMEMBER_MS: i64 = 60_000;

/// What the stream has seen of its directory.
#[derive(Default)]
struct Seen {
    /// Files processed, or present at start and ignored, with their modification times
    /// (ms); those older than [`REMEMBER_MS`] before the latest listing are forgotten.
    files: HashMap<PathBuf, i64>,
    /// The files of each batch, so that a batch asked for twice reads the same files.
    batches: BTreeMap<Time, Vec<PathBuf>>,
    /// Batch times whose files have not been logged yet, with the wall time of the
    /// listing that chose them.
    unlogged: Vec<(Time, i64)>,
    /// After a restart: batches up to this time finished before it, so one without
    /// logged files had none.
    recovered: Option<Time>,
    /// After a restart: the wall time of the oldest logged listing. Files modified then
    /// or before were there before the logged history began (a file modified in the same
    /// millisecond after that listing was chosen by the next one, and is logged by name).
    listed_before: Option<i64>,
}

/// One batch's files in the write-ahead log.
#[derive(serde::Serialize, serde::Deserialize)]
struct Logged {
    time_ms: i64,
    listed_ms: i64,
    files: Vec<PathBuf>,
}

struct FileStream {
    ctx: Context,
    dir: PathBuf,
    new_files_only: bool,
    seen: Mutex<Seen>,
}

/// The visible regular files of `dir` with their modification times (ms), oldest first
/// (then by name).
fn list(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            // Gone between listing and stat, or not a file.
            _ => continue,
        };
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        out.push((modified, entry.path()));
    }
    out.sort();
    Ok(out)
}

impl FileStream {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The files for the batch at `time`: those chosen before for it, or the new ones
    /// (listed by rank 0 in cluster mode).
    fn files_for(&self, time: Time) -> Result<Vec<PathBuf>> {
        {
            let mut seen = self.seen();
            if let Some(files) = seen.batches.get(&time) {
                return Ok(files.clone());
            }
            if seen.recovered.is_some_and(|last| time <= last) {
                seen.batches.insert(time, Vec::new());
                return Ok(Vec::new());
            }
        }
        let label = format!("the new files of {} for batch {time}", self.dir.display());
        let (listed_ms, new): (i64, Vec<(i64, PathBuf)>) = self.ctx.agree(&label, || {
            let listed_ms = crate::clock::SystemClock.now_ms();
            let found = list(&self.dir)?;
            let seen = self.seen();
            let new = found
                .into_iter()
                .filter(|(modified, p)| {
                    *modified >= listed_ms - REMEMBER_MS
                        && seen.listed_before.is_none_or(|l| *modified > l)
                        && !seen.files.contains_key(p)
                })
                .collect();
            Ok((listed_ms, new))
        })?;
        let mut seen = self.seen();
        let forget_before = listed_ms - REMEMBER_MS;
        seen.files.retain(|_, modified| *modified >= forget_before);
        seen.files
            .extend(new.iter().map(|(modified, p)| (p.clone(), *modified)));
        let new: Vec<PathBuf> = new.into_iter().map(|(_, p)| p).collect();
        seen.batches.insert(time, new.clone());
        seen.unlogged.push((time, listed_ms));
        // Batches older than a few dozen are never asked for again.
        while seen.batches.len() > 64 {
            seen.batches.pop_first();
        }
        Ok(new)
    }
}

impl InputHooks for FileStream {
    fn take_log(&self) -> Option<serde_json::Value> {
        let mut seen = self.seen();
        let unlogged = std::mem::take(&mut seen.unlogged);
        let entries: Vec<Logged> = unlogged
            .into_iter()
            .map(|(t, listed_ms)| Logged {
                time_ms: t.millis(),
                listed_ms,
                files: seen.batches.get(&t).cloned().unwrap_or_default(),
            })
            .collect();
        serde_json::to_value(entries).ok()
    }

    fn restore(&self, logged: &[serde_json::Value], last: Time) -> Result<()> {
        let mut seen = self.seen();
        let mut oldest: Option<i64> = None;
        for v in logged {
            let entries: Vec<Logged> = serde_json::from_value(v.clone()).map_err(|e| {
                Error::InvalidArgument(format!(
                    "text_file_stream {}: a write-ahead log entry is not a list of files: {e}",
                    self.dir.display()
                ))
            })?;
            for e in entries {
                oldest = Some(oldest.map_or(e.listed_ms, |o| o.min(e.listed_ms)));
                // Their modification times are unknown; they are remembered as listed.
                let listed = e.listed_ms;
                seen.files
                    .extend(e.files.iter().map(|f| (f.clone(), listed)));
                seen.batches.insert(Time::from_millis(e.time_ms), e.files);
            }
        }
        // Logged again with the next batch, so that the history survives this restart's
        // rewrite of the unfinished batches' log entries.
        let restored: Vec<(Time, i64)> = seen
            .batches
            .keys()
            .map(|t| (*t, oldest.unwrap_or(0)))
            .collect();
        seen.unlogged = restored;
        seen.recovered = Some(last);
        if let Some(o) = oldest {
            seen.listed_before = Some(o);
        }
        Ok(())
    }

    fn on_start(&self, _zero: Time) -> Result<()> {
        if !self.dir.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "text_file_stream: {} is not a directory",
                self.dir.display()
            )));
        }
        if self.new_files_only && self.seen().recovered.is_none() {
            let label = format!("the files present in {} at start", self.dir.display());
            let existing = self.ctx.agree(&label, || list(&self.dir))?;
            self.seen()
                .files
                .extend(existing.into_iter().map(|(modified, p)| (p, modified)));
        }
        Ok(())
    }
}

impl StreamingContext {
    /// The lines of new text files in `dir`, as Spark's `textFileStream`: each batch
    /// reads the files that appeared in the directory since the previous batch (oldest
    /// first), and files present when the context starts are ignored. Compressed files
    /// (`.gz`, `.bz2`, `.zst`) are read decompressed.
    ///
    /// Files must appear whole (moved or renamed into the directory); a file written in
    /// place may be read half-written, as in Spark.
    pub fn text_file_stream(&self, dir: impl AsRef<Path>) -> DStream<String> {
        self.text_file_stream_with(dir, true)
    }

    /// As [`text_file_stream`](Self::text_file_stream); with `new_files_only` false the
    /// files already present at start are read by the first batch.
    pub fn text_file_stream_with(
        &self,
        dir: impl AsRef<Path>,
        new_files_only: bool,
    ) -> DStream<String> {
        let stream = Arc::new(FileStream {
            ctx: self.context().clone(),
            dir: dir.as_ref().to_path_buf(),
            new_files_only,
            seen: Mutex::new(Seen::default()),
        });
        let hooks = stream.clone();
        let compute = move |time: Time| -> Result<Option<Dataset<String>>> {
            let files = stream.files_for(time)?;
            let ctx = &stream.ctx;
            let parts = files
                .iter()
                .map(|f| ctx.text_file(f, 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(ctx.union(&parts)))
        };
        let out = self.input_node("text_file_stream", Box::new(compute));
        self.add_input(&out, hooks);
        out
    }
}

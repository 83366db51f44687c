//! `text_file_stream`: a directory watched for new files, as Spark's `FileInputDStream`.
//! Each batch reads the files that appeared since the previous batch, oldest first. Files
//! must appear atomically (written elsewhere, then renamed or moved in), as in Spark;
//! hidden files (`.name`, `_name`) are skipped, as are the temporary files of writers.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use firesteel_core::{Dataset, Error, Result};

use crate::context::{InputHooks, StreamingContext};
use crate::dstream::DStream;
use crate::time::Time;

/// What the stream has seen of its directory.
#[derive(Default)]
struct Seen {
    /// Files processed, or present at start and ignored.
    files: HashSet<PathBuf>,
    /// The files of each batch, so that a batch asked for twice reads the same files.
    batches: BTreeMap<Time, Vec<PathBuf>>,
}

struct FileStream {
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

    /// The files for the batch at `time`: those chosen before for it, or the new ones.
    fn files_for(&self, time: Time) -> Result<Vec<PathBuf>> {
        if let Some(files) = self.seen().batches.get(&time) {
            return Ok(files.clone());
        }
        let found = list(&self.dir)?;
        let mut seen = self.seen();
        let new: Vec<PathBuf> = found
            .into_iter()
            .map(|(_, p)| p)
            .filter(|p| !seen.files.contains(p))
            .collect();
        seen.files.extend(new.iter().cloned());
        seen.batches.insert(time, new.clone());
        // Batches older than a few dozen are never asked for again.
        while seen.batches.len() > 64 {
            seen.batches.pop_first();
        }
        Ok(new)
    }
}

impl InputHooks for FileStream {
    fn on_start(&self, _zero: Time) -> Result<()> {
        if !self.dir.is_dir() {
            return Err(Error::InvalidArgument(format!(
                "text_file_stream: {} is not a directory",
                self.dir.display()
            )));
        }
        if self.new_files_only {
            let existing = list(&self.dir)?;
            self.seen()
                .files
                .extend(existing.into_iter().map(|(_, p)| p));
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
            dir: dir.as_ref().to_path_buf(),
            new_files_only,
            seen: Mutex::new(Seen::default()),
        });
        self.add_input(stream.clone());
        let ctx = self.context().clone();
        let compute = move |time: Time| -> Result<Option<Dataset<String>>> {
            let files = stream.files_for(time)?;
            let parts = files
                .iter()
                .map(|f| ctx.text_file(f, 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some(ctx.union(&parts)))
        };
        self.input_node("text_file_stream", Box::new(compute))
    }
}

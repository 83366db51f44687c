//! Text input and output.
//!
//! `text_file` cuts files into byte ranges that partitions read in parallel, as Hadoop input
//! splits do: a line belongs to the split in which its first byte lies, so a reader skips
//! the partial line at its start and reads past its end to finish its last line.
//! Line terminators `\n` and `\r\n` are stripped.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::rdd::{BatchIter, Dependency, Rdd, RddBase, RddMeta, Tc, BATCH};
use crate::{Context, Data, Dataset};

/// Largest split, as Hadoop's local block size in Spark (32 MiB).
const MAX_SPLIT: u64 = 32 << 20;

#[derive(Debug, Clone)]
struct Split {
    path: Arc<PathBuf>,
    start: u64,
    end: u64,
}

/// Lines of text files, one partition per split.
struct TextFileRdd {
    meta: RddMeta,
    splits: Vec<Split>,
}

/// The files a path names: itself, or a directory's visible files (not starting with `_`
/// or `.`, as Hadoop skips `_SUCCESS` and hidden files), sorted by name.
fn input_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("reading", path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| Error::io("listing", path, e))? {
        let entry = entry.map_err(|e| Error::io("listing", path, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let p = entry.path();
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn text_file(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
) -> Result<Dataset<String>> {
    let files = input_files(path)?;
    let mut sizes = Vec::with_capacity(files.len());
    for f in &files {
        sizes.push(
            std::fs::metadata(f)
                .map_err(|e| Error::io("reading", f, e))?
                .len(),
        );
    }
    let total: u64 = sizes.iter().sum();
    let goal = total / min_partitions.max(1) as u64;
    let split_size = goal.clamp(1, MAX_SPLIT);
    let mut splits = Vec::new();
    for (f, size) in files.into_iter().zip(sizes) {
        let f = Arc::new(f);
        if size == 0 {
            splits.push(Split {
                path: f,
                start: 0,
                end: 0,
            });
            continue;
        }
        let mut start = 0;
        // Hadoop's SPLIT_SLOP: the last split may be up to 10% larger than the others.
        while (size - start) as f64 / split_size as f64 > 1.1 {
            splits.push(Split {
                path: f.clone(),
                start,
                end: start + split_size,
            });
            start += split_size;
        }
        splits.push(Split {
            path: f,
            start,
            end: size,
        });
    }
    Ok(Dataset::from_rdd(
        ctx,
        Arc::new(TextFileRdd {
            meta: RddMeta::new(&ctx.inner, "text_file"),
            splits,
        }),
    ))
}

impl RddBase for TextFileRdd {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "HadoopDataset"
    }
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

/// The 1-based line number of byte `offset` of a file (read only when reporting an error).
fn line_of(path: &Path, offset: u64) -> u64 {
    let Ok(f) = File::open(path) else { return 0 };
    let mut r = BufReader::new(f).take(offset);
    let mut buf = [0u8; 64 * 1024];
    let mut lines = 1;
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    lines
}

struct LineReader {
    path: Arc<PathBuf>,
    reader: BufReader<File>,
    /// Byte offset of the next line's first byte.
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    done: bool,
}

impl LineReader {
    fn open(split: &Split) -> Result<LineReader> {
        let path = &split.path;
        let mut file = File::open(&**path).map_err(|e| Error::io("opening", &**path, e))?;
        let mut pos = split.start;
        let seek_to = split.start.saturating_sub(1);
        file.seek(SeekFrom::Start(seek_to))
            .map_err(|e| Error::io("seeking", &**path, e))?;
        let mut reader = BufReader::with_capacity(256 * 1024, file);
        if split.start > 0 {
            // Skip the partial line unless the split starts right after a newline.
            let mut skipped = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| Error::io("reading", &**path, e))?;
            pos = seek_to + n as u64;
        }
        Ok(LineReader {
            path: split.path.clone(),
            reader,
            pos,
            end: split.end,
            buf: Vec::new(),
            done: false,
        })
    }

    fn next_batch(&mut self) -> Option<Result<Batch<String>>> {
        if self.done {
            return None;
        }
        let mut out = Vec::with_capacity(256);
        while out.len() < BATCH {
            if self.pos >= self.end {
                self.done = true;
                break;
            }
            self.buf.clear();
            let n = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::io("reading", &**self.path, e)));
                }
            };
            if n == 0 {
                self.done = true;
                break;
            }
            let line_start = self.pos;
            self.pos += n as u64;
            let mut line = &self.buf[..];
            if line.last() == Some(&b'\n') {
                line = &line[..line.len() - 1];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
            }
            match std::str::from_utf8(line) {
                Ok(s) => out.push(s.to_owned()),
                Err(e) => {
                    self.done = true;
                    return Some(Err(Error::parse(
                        &**self.path,
                        line_of(&self.path, line_start),
                        format!("invalid UTF-8 ({e})"),
                    )));
                }
            }
        }
        (!out.is_empty()).then_some(Ok(Batch::Owned(out)))
    }
}

impl Rdd<String> for TextFileRdd {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<String>> {
        let mut reader = LineReader::open(&self.splits[split])?;
        Ok(Box::new(std::iter::from_fn(move || reader.next_batch())))
    }
}

pub(crate) fn save_as_text_file<T: Data + fmt::Display>(
    ds: &Dataset<T>,
    path: &Path,
) -> Result<()> {
    if path.exists() {
        return Err(Error::OutputExists(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::InvalidArgument(format!("{} has no file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    // In cluster mode every process writes its own parts into the same directory, so its
    // name must not depend on the process, and no process may clear it.
    let cluster = ds.ctx.num_processes() > 1;
    let owner = if cluster {
        "cluster".to_string()
    } else {
        std::process::id().to_string()
    };
    let tmp = parent.join(format!(".{name}.firesteel-tmp-{owner}-{}", ds.id()));
    if !cluster {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io("creating", &tmp, e))?;
    let tmp2 = tmp.clone();
    let result = ds.run_all(move |tc, it| {
        let part = tmp2.join(format!("part-{:05}", tc.partition));
        let attempt = tmp2.join(format!(".part-{:05}.attempt-{}", tc.partition, tc.attempt));
        let file = File::create(&attempt).map_err(|e| Error::io("creating", &attempt, e))?;
        let mut w = BufWriter::new(file);
        let write_err = |e| Error::io("writing", &attempt, e);
        for b in it {
            for r in b? {
                writeln!(w, "{r}").map_err(write_err)?;
            }
        }
        w.flush().map_err(write_err)?;
        std::fs::rename(&attempt, &part).map_err(|e| Error::io("renaming", &attempt, e))?;
        Ok(())
    });
    // Commit in a one-task job, so that in cluster mode one process renames and every
    // process returns only after it did (or sees its error).
    let (tmp2, path2) = (tmp.clone(), path.to_path_buf());
    let finish = result.and_then(|_| {
        ds.ctx
            .parallelize(vec![()], 1)
            .run_all(move |_, _| {
                let marker = tmp2.join("_SUCCESS");
                std::fs::write(&marker, b"").map_err(|e| Error::io("writing", &marker, e))?;
                std::fs::rename(&tmp2, &path2)
                    .map_err(|e| Error::io("renaming output to", &path2, e))
            })
            .map(drop)
    });
    if finish.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    finish
}

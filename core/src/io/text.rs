//! Text files read in parallel, line by line.
//!
//! Files are cut into byte ranges that partitions read in parallel, as Hadoop input
//! splits: a line belongs to the split in which its first byte lies, so a reader skips the
//! partial line at its start and reads past its end to finish its last line. A compressed
//! file is one split. Line terminators `\n` and `\r\n` are stripped.
//!
//! Each line is handed to a parse function with its [`LineOrigin`], so that a parser
//! running inside a task names `path:line` in its errors. A split that starts inside a
//! file does not know its first line number; it is counted (by reading the file up to the
//! split) only when an error, or a caller, asks for it, once per split.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec::{open_decoded, Codec};
use super::input::resolve_inputs;
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
    /// One past the last byte whose line belongs here; `u64::MAX` for a whole compressed
    /// file.
    end: u64,
    compressed: bool,
}

/// Where a line came from: its file, and its line number, for errors that name
/// `path:line` from inside a task.
///
/// ```
/// use firesteel_core::{Context, Error};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("nums.txt");
/// std::fs::write(&path, "1\n2\nthree\n4\n").unwrap();
/// let ctx = Context::local(2).unwrap();
/// let nums = ctx
///     .parse_text_file(&path, 2, |line, origin| {
///         line.parse::<u32>()
///             .map(Some)
///             .map_err(|_| origin.error(format!("not a number: {line:?}")))
///     })
///     .unwrap();
/// let e = nums.collect().unwrap_err();
/// assert!(matches!(e.root_cause(), Error::Parse { line: 3, .. }));
/// assert!(e.root_cause().to_string().ends_with("nums.txt:3: not a number: \"three\""));
/// ```
#[derive(Debug)]
pub struct LineOrigin<'a> {
    path: &'a Path,
    shared: &'a Arc<PathBuf>,
    /// Byte offset of the line's first byte (in the decompressed stream).
    offset: u64,
    /// The line's index within its split (0-based).
    index_in_split: u64,
    /// Offset of the split's first line, and its line number once known.
    split_first_offset: u64,
    split_first_line: &'a Cell<Option<u64>>,
}

impl LineOrigin<'_> {
    /// The file the line is in.
    pub fn path(&self) -> &Path {
        self.path
    }

    /// The file the line is in, shared: cloning it costs no allocation, so records can
    /// carry it (to name the file in an error found later, say).
    pub fn shared_path(&self) -> Arc<PathBuf> {
        self.shared.clone()
    }

    /// The byte offset of the line's first byte in the file (in the decompressed stream for
    /// a compressed file).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The 1-based line number. The first call in a split that starts inside a file counts
    /// the lines before the split, reading the file up to it; later calls are free.
    pub fn line(&self) -> u64 {
        let first = match self.split_first_line.get() {
            Some(l) => l,
            None => {
                let l = line_number(self.path, self.split_first_offset);
                self.split_first_line.set(Some(l));
                l
            }
        };
        first + self.index_in_split
    }

    /// A parse error naming this line: [`Error::Parse`], which fails the job at once,
    /// without retries.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(self.path, self.line(), message)
    }
}

/// The 1-based number of the line that byte `offset` of a file lies in, counting in the
/// decompressed stream for a compressed file (as [`LineOrigin::offset`] does). It reads
/// the file up to `offset`: for error messages, not for every record. Returns 0 if the
/// file cannot be read.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("t.txt");
/// std::fs::write(&path, "ab\ncd\nef\n").unwrap();
/// assert_eq!(firesteel_core::io::line_number(&path, 0), 1);
/// assert_eq!(firesteel_core::io::line_number(&path, 6), 3);
/// ```
pub fn line_number(path: &Path, offset: u64) -> u64 {
    let Ok(f) = open_decoded(path) else { return 0 };
    let mut r = f.take(offset);
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 1;
    while let Ok(n) = r.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    lines
}

/// Lines of text files, one partition per split, turned into records by `R`, which
/// appends the records of some of a split's lines to a batch and says whether more may
/// follow.
struct TextFileRdd<T, R> {
    meta: RddMeta,
    splits: Vec<Split>,
    read: Arc<R>,
    _records: PhantomData<fn() -> T>,
}

fn splits_of(files: Vec<PathBuf>, min_partitions: usize) -> Result<Vec<Split>> {
    let mut sizes = Vec::with_capacity(files.len());
    for f in &files {
        let meta = std::fs::metadata(f).map_err(|e| Error::io("reading", f, e))?;
        sizes.push(meta.len());
    }
    let total: u64 = sizes.iter().sum();
    let goal = total / min_partitions.max(1) as u64;
    let split_size = goal.clamp(1, MAX_SPLIT);
    let mut splits = Vec::new();
    for (f, size) in files.into_iter().zip(sizes) {
        let compressed = Codec::from_path(&f).is_some();
        let f = Arc::new(f);
        if size == 0 || compressed {
            let end = if compressed { u64::MAX } else { 0 };
            splits.push(Split {
                path: f,
                start: 0,
                end,
                compressed,
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
                compressed,
            });
            start += split_size;
        }
        splits.push(Split {
            path: f,
            start,
            end: size,
            compressed,
        });
    }
    Ok(splits)
}

fn text_rdd<T, R>(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
    op: &'static str,
    read: R,
) -> Result<Dataset<T>>
where
    T: Data,
    R: Fn(&mut Lines, &mut Vec<T>) -> Result<bool> + Send + Sync + 'static,
{
    let splits = splits_of(resolve_inputs(path)?, min_partitions)?;
    Ok(Dataset::from_rdd(
        ctx,
        Arc::new(TextFileRdd {
            meta: RddMeta::new(&ctx.inner, op),
            splits,
            read: Arc::new(read),
            _records: PhantomData,
        }),
    ))
}

pub(crate) fn parse_text_file<T, F>(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
    op: &'static str,
    parse: F,
) -> Result<Dataset<T>>
where
    T: Data,
    F: Fn(&str, &LineOrigin<'_>) -> Result<Option<T>> + Send + Sync + 'static,
{
    text_rdd(ctx, path, min_partitions, op, move |lines, out| {
        while out.len() < BATCH {
            match lines.next_line() {
                None => return Ok(false),
                Some(Err(e)) => return Err(e),
                Some(Ok((line, origin))) => out.extend(parse(line, &origin)?),
            }
        }
        Ok(true)
    })
}

pub(crate) fn read_text_chunks<T, F>(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
    next: F,
) -> Result<Dataset<T>>
where
    T: Data,
    F: Fn(&mut Lines) -> Result<Option<T>> + Send + Sync + 'static,
{
    text_rdd(
        ctx,
        path,
        min_partitions,
        "read_text_chunks",
        move |lines, out| match next(lines)? {
            Some(x) => {
                out.push(x);
                Ok(true)
            }
            None => Ok(false),
        },
    )
}

impl<T: Data, R: Send + Sync + 'static> RddBase for TextFileRdd<T, R> {
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

impl<T, R> Rdd<T> for TextFileRdd<T, R>
where
    T: Data,
    R: Fn(&mut Lines, &mut Vec<T>) -> Result<bool> + Send + Sync + 'static,
{
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<T>> {
        let mut lines = Lines::open(&self.splits[split])?;
        let read = self.read.clone();
        let mut done = false;
        Ok(Box::new(std::iter::from_fn(move || {
            while !done {
                let mut out = Vec::new();
                match read(&mut lines, &mut out) {
                    Ok(more) => done = !more,
                    Err(e) => {
                        done = true;
                        return Some(Err(e));
                    }
                }
                if !out.is_empty() {
                    return Some(Ok(Batch::Owned(out)));
                }
            }
            None
        })))
    }
}

/// The lines of one partition of a text input (one split), read one at a time with
/// [`next_line`](Self::next_line), as [`Context::read_text_chunks`] hands them to its
/// function.
pub struct Lines {
    path: Arc<PathBuf>,
    reader: BufReader<Box<dyn Read + Send>>,
    /// Byte offset of the next line's first byte.
    pos: u64,
    end: u64,
    /// A line that ran past the end of the reader's buffer, gathered here.
    buf: Vec<u8>,
    /// Bytes of the reader's buffer that the current line occupies, consumed on the next
    /// read (a line inside the buffer is handed out without a copy).
    pending: usize,
    done: bool,
    first_offset: u64,
    first_line: Cell<Option<u64>>,
    /// Lines read so far.
    index: u64,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl Lines {
    fn open(split: &Split) -> Result<Lines> {
        let path = &split.path;
        const CAPACITY: usize = 256 * 1024;
        if split.compressed {
            return Ok(Lines {
                path: path.clone(),
                reader: BufReader::with_capacity(CAPACITY, open_decoded(path)?),
                pos: 0,
                end: split.end,
                buf: Vec::new(),
                pending: 0,
                done: false,
                first_offset: 0,
                first_line: Cell::new(Some(1)),
                index: 0,
            });
        }
        let mut file = File::open(&**path).map_err(|e| Error::io("opening", &**path, e))?;
        let mut pos = split.start;
        let seek_to = split.start.saturating_sub(1);
        file.seek(SeekFrom::Start(seek_to))
            .map_err(|e| Error::io("seeking", &**path, e))?;
        let mut reader = BufReader::with_capacity(CAPACITY, Box::new(file) as Box<dyn Read + Send>);
        if split.start > 0 {
            // Skip the partial line unless the split starts right after a newline.
            let mut skipped = Vec::new();
            let n = reader
                .read_until(b'\n', &mut skipped)
                .map_err(|e| Error::io("reading", &**path, e))?;
            pos = seek_to + n as u64;
        }
        Ok(Lines {
            path: path.clone(),
            reader,
            pos,
            end: split.end,
            buf: Vec::new(),
            pending: 0,
            done: false,
            first_offset: pos,
            first_line: Cell::new((pos == 0).then_some(1)),
            index: 0,
        })
    }

    /// The next line, without its terminator, and where it came from; `None` at the end of
    /// the partition.
    ///
    /// # Errors
    /// An I/O error reading the file, or a line that is not UTF-8 ([`Error::Parse`] naming
    /// it); after an error the partition ends.
    pub fn next_line(&mut self) -> Option<Result<(&str, LineOrigin<'_>)>> {
        let (line, offset) = match self.read_line()? {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        let index_in_split = self.index;
        self.index += 1;
        let origin = LineOrigin {
            path: &self.path,
            shared: &self.path,
            offset,
            index_in_split,
            split_first_offset: self.first_offset,
            split_first_line: &self.first_line,
        };
        let bytes = match line {
            Line::Buffered(len) => &self.reader.buffer()[..len],
            Line::Gathered(len) => &self.buf[..len],
        };
        match std::str::from_utf8(bytes) {
            Ok(line) => Some(Ok((line, origin))),
            Err(e) => {
                let e = origin.error(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to()
                ));
                self.done = true;
                Some(Err(e))
            }
        }
    }

    /// Finds the next line: at the start of the reader's buffer, or gathered in `buf` when
    /// it runs past the buffer's end; with its length without the terminator, and its byte
    /// offset.
    fn read_line(&mut self) -> Option<Result<(Line, u64)>> {
        self.reader.consume(std::mem::take(&mut self.pending));
        if self.done || self.pos >= self.end {
            self.done = true;
            return None;
        }
        let available = match self.reader.fill_buf() {
            Ok(b) => b,
            Err(e) => return Some(Err(self.fail(e))),
        };
        if available.is_empty() {
            self.done = true;
            return None;
        }
        let (n, buffered) = if let Some(i) = memchr::memchr(b'\n', available) {
            self.pending = i + 1;
            (i + 1, true)
        } else {
            self.buf.clear();
            self.buf.extend_from_slice(available);
            let taken = available.len();
            self.reader.consume(taken);
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(more) => (taken + more, false),
                Err(e) => return Some(Err(self.fail(e))),
            }
        };
        let bytes = if buffered {
            &self.reader.buffer()[..n]
        } else {
            &self.buf[..n]
        };
        let mut len = n;
        if bytes[len - 1] == b'\n' {
            len -= 1;
            if len > 0 && bytes[len - 1] == b'\r' {
                len -= 1;
            }
        }
        let start = self.pos;
        self.pos += n as u64;
        let line = if buffered {
            Line::Buffered(len)
        } else {
            Line::Gathered(len)
        };
        Some(Ok((line, start)))
    }

    fn fail(&mut self, e: std::io::Error) -> Error {
        self.done = true;
        Error::io("reading", &**self.path, e)
    }
}

/// Where a line's bytes are, and how many (without the terminator).
#[derive(Clone, Copy)]
enum Line {
    /// At the start of the reader's buffer.
    Buffered(usize),
    /// In `Lines::buf`.
    Gathered(usize),
}

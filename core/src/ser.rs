//! Record encoding for spill, cache and checkpoint files, and size estimation.
//!
//! Records are written as a little-endian `u32` length followed by their postcard encoding,
//! so that a file of records can be streamed back one record at a time.

use std::io::{self, BufReader, Read, Write};
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// Appends one length-prefixed record to `out`.
pub(crate) fn encode_into<T: Serialize>(rec: &T, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0u8; 4]);
    let taken = std::mem::take(out);
    let mut buf = postcard::to_extend(rec, taken).map_err(Error::serde)?;
    let len = u32::try_from(buf.len() - start - 4)
        .map_err(|_| Error::Serde("record larger than 4 GiB".into()))?;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    *out = buf;
    Ok(())
}

/// Encodes a slice of records into one buffer.
pub(crate) fn encode_all<'a, T: Serialize + 'a>(
    recs: impl IntoIterator<Item = &'a T>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for r in recs {
        encode_into(r, &mut out)?;
    }
    Ok(out)
}

/// Decodes every record of a buffer written by [`encode_all`].
pub(crate) fn decode_all<T: DeserializeOwned>(mut bytes: &[u8]) -> Result<Vec<T>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 4 {
            return Err(Error::Serde("truncated record header".into()));
        }
        let len = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")) as usize;
        bytes = &bytes[4..];
        if bytes.len() < len {
            return Err(Error::Serde("truncated record".into()));
        }
        out.push(postcard::from_bytes(&bytes[..len]).map_err(Error::serde)?);
        bytes = &bytes[len..];
    }
    Ok(out)
}

/// Streams length-prefixed records from a reader.
pub(crate) struct RecordReader<R, T> {
    reader: BufReader<R>,
    remaining: u64,
    buf: Vec<u8>,
    _t: PhantomData<fn() -> T>,
}

impl<R: Read, T: DeserializeOwned> RecordReader<R, T> {
    /// Reads at most `count` records from `reader`.
    pub(crate) fn new(reader: R, count: u64) -> Self {
        RecordReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            remaining: count,
            buf: Vec::new(),
            _t: PhantomData,
        }
    }

    fn read_one(&mut self) -> io::Result<T> {
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        self.buf.resize(len, 0);
        self.reader.read_exact(&mut self.buf)?;
        postcard::from_bytes(&self.buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

impl<R: Read, T: DeserializeOwned> Iterator for RecordReader<R, T> {
    type Item = io::Result<T>;
    fn next(&mut self) -> Option<io::Result<T>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.read_one())
    }
}

/// Writes length-prefixed records to a writer, counting records and bytes.
pub(crate) struct RecordWriter<W: Write> {
    writer: W,
    buf: Vec<u8>,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
}

impl<W: Write> RecordWriter<W> {
    pub(crate) fn new(writer: W) -> Self {
        RecordWriter {
            writer,
            buf: Vec::with_capacity(256),
            records: 0,
            bytes: 0,
        }
    }

    pub(crate) fn write<T: Serialize>(&mut self, rec: &T) -> Result<()> {
        self.buf.clear();
        encode_into(rec, &mut self.buf)?;
        self.writer
            .write_all(&self.buf)
            .map_err(|e| Error::Serde(format!("writing record: {e}")))?;
        self.records += 1;
        self.bytes += self.buf.len() as u64;
        Ok(())
    }

    pub(crate) fn into_inner(self) -> W {
        self.writer
    }
}

/// Estimated in-memory size of one record (see [`crate::sizeof`]).
#[inline]
pub(crate) fn record_size<T: Serialize>(rec: &T) -> usize {
    crate::sizeof::size_of_val(rec)
}

/// Estimated in-memory size of a slice of records, from a sample of at most 32 of them.
pub(crate) fn estimate_size<T: Serialize>(items: &[T]) -> usize {
    if items.is_empty() {
        return 0;
    }
    let step = (items.len() / 32).max(1);
    let (mut total, mut n) = (0usize, 0usize);
    for r in items.iter().step_by(step) {
        total += record_size(r);
        n += 1;
    }
    (total as f64 / n as f64 * items.len() as f64) as usize + std::mem::size_of::<Vec<T>>()
}

/// Tracks the estimated size of a growing collection by sampling records.
#[derive(Debug, Default)]
pub(crate) struct SizeTracker {
    count: u64,
    sampled: u64,
    sampled_bytes: u64,
    next_sample: u64,
    /// `sampled_bytes / sampled`, updated when a sample is taken, so that [`bytes`]
    /// (asked after every record by some callers) needs no division.
    ///
    /// [`bytes`]: SizeTracker::bytes
    mean: f64,
}

impl SizeTracker {
    /// Accounts one more record; samples its size now and then.
    #[inline]
    pub(crate) fn add<T: Serialize>(&mut self, rec: &T) {
        if self.count == self.next_sample {
            self.sample(record_size(rec));
        }
        self.count += 1;
    }

    #[cold]
    fn sample(&mut self, size: usize) {
        self.sampled += 1;
        self.sampled_bytes += size as u64;
        self.mean = self.sampled_bytes as f64 / self.sampled as f64;
        self.next_sample = self.count + 1 + self.count / 16;
    }

    /// Estimated bytes of everything added since the last reset.
    #[inline]
    pub(crate) fn bytes(&self) -> u64 {
        (self.count as f64 * self.mean) as u64
    }

    pub(crate) fn reset(&mut self) {
        *self = SizeTracker::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_records() {
        let recs = vec![
            (1u64, "a".to_string()),
            (2, String::new()),
            (3, "ccc".into()),
        ];
        let bytes = encode_all(&recs).unwrap();
        let back: Vec<(u64, String)> = decode_all(&bytes).unwrap();
        assert_eq!(back, recs);
        let streamed: Vec<(u64, String)> = RecordReader::new(&bytes[..], 3)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(streamed, recs);
    }

    #[test]
    fn truncated_input_is_an_error() {
        let bytes = encode_all(&[1u64, 2, 3]).unwrap();
        assert!(decode_all::<u64>(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn size_estimate_counts_heap_data() {
        let small = estimate_size(&[1u8; 100]);
        let big = estimate_size(&vec![vec![0u64; 100]; 100]);
        assert_eq!(small, 100 + 24);
        assert_eq!(big, 100 * (24 + 800) + 24);
    }
}

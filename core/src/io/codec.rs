//! Compression by file extension, as Hadoop's codec factory picks a codec: `.gz` (gzip,
//! concatenated members read as one stream), `.bz2` (bzip2) and `.zst` (zstd). A
//! compressed file is read as one split: gzip and zstd streams cannot start in the middle,
//! and bzip2, which Hadoop splits at its block markers, is not split here (yet).
//!
//! The codecs need the `compression` feature (on by default); without it a compressed
//! input or output is an [`Error::InvalidArgument`] that says so.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// A compression codec for text inputs and outputs.
///
/// ```
/// use firesteel_core::io::Codec;
///
/// assert_eq!(Codec::from_path("logs/part-00000.gz".as_ref()), Some(Codec::Gzip));
/// assert_eq!(Codec::from_path("data.txt".as_ref()), None);
/// assert_eq!(Codec::from_name("zstd"), Some(Codec::Zstd));
/// assert_eq!(Codec::Bzip2.extension(), ".bz2");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// gzip (`.gz`), with `flate2`.
    Gzip,
    /// bzip2 (`.bz2`), with `bzip2`.
    Bzip2,
    /// zstd (`.zst`), with `zstd`.
    Zstd,
}

impl Codec {
    /// The codec a file's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Codec> {
        match path.extension()?.to_str()? {
            "gz" => Some(Codec::Gzip),
            "bz2" => Some(Codec::Bzip2),
            "zst" => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// The codec with Spark's short name (`gzip`, `bzip2`, `zstd`; also the extensions
    /// `gz`, `bz2`, `zst`), case-insensitively.
    pub fn from_name(name: &str) -> Option<Codec> {
        match name.to_ascii_lowercase().as_str() {
            "gzip" | "gz" => Some(Codec::Gzip),
            "bzip2" | "bz2" => Some(Codec::Bzip2),
            "zstd" | "zst" => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// The file extension, with its dot.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::Gzip => ".gz",
            Codec::Bzip2 => ".bz2",
            Codec::Zstd => ".zst",
        }
    }

    /// A reader of the decompressed bytes of `file`.
    #[cfg(feature = "compression")]
    pub(crate) fn decoder(self, file: File, _path: &Path) -> Result<Box<dyn Read + Send>> {
        Ok(match self {
            Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
            Codec::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(file)),
            Codec::Zstd => Box::new(
                zstd::stream::read::Decoder::new(file)
                    .map_err(|e| Error::io("opening", _path, e))?,
            ),
        })
    }

    #[cfg(not(feature = "compression"))]
    pub(crate) fn decoder(self, _file: File, path: &Path) -> Result<Box<dyn Read + Send>> {
        Err(not_built(path))
    }

    /// A writer that compresses into `file`; [`Encoder::finish`] completes the stream.
    pub(crate) fn encoder(self, file: File, path: &Path) -> Result<Encoder> {
        let w = BufWriter::with_capacity(256 * 1024, file);
        #[cfg(feature = "compression")]
        {
            let level = flate2::Compression::default();
            Ok(match self {
                Codec::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(w, level)),
                Codec::Bzip2 => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                    w,
                    bzip2::Compression::default(),
                )),
                Codec::Zstd => Encoder::Zstd(
                    zstd::stream::write::Encoder::new(w, 0)
                        .map_err(|e| Error::io("opening", path, e))?,
                ),
            })
        }
        #[cfg(not(feature = "compression"))]
        {
            let _ = w;
            Err(not_built(path))
        }
    }
}

#[cfg(not(feature = "compression"))]
fn not_built(path: &Path) -> Error {
    Error::InvalidArgument(format!(
        "{} is compressed, and firesteel-core was built without its `compression` feature",
        path.display()
    ))
}

/// Opens a file for reading, decompressing it if its extension names a codec
/// ([`Codec::from_path`]).
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be opened.
pub fn open_decoded(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    match Codec::from_path(path) {
        Some(codec) => codec.decoder(file, path),
        None => Ok(Box::new(file)),
    }
}

/// A buffered output file, plain or compressed.
pub(crate) enum Encoder {
    Plain(BufWriter<File>),
    #[cfg(feature = "compression")]
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    #[cfg(feature = "compression")]
    Bzip2(bzip2::write::BzEncoder<BufWriter<File>>),
    #[cfg(feature = "compression")]
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
}

impl Encoder {
    /// A plain or compressed writer of `file`.
    pub(crate) fn new(file: File, path: &Path, codec: Option<Codec>) -> Result<Encoder> {
        match codec {
            None => Ok(Encoder::Plain(BufWriter::with_capacity(256 * 1024, file))),
            Some(c) => c.encoder(file, path),
        }
    }

    /// Writes the compressed stream's end and flushes everything to the file.
    pub(crate) fn finish(self) -> std::io::Result<()> {
        let mut w = match self {
            Encoder::Plain(w) => w,
            #[cfg(feature = "compression")]
            Encoder::Gzip(e) => e.finish()?,
            #[cfg(feature = "compression")]
            Encoder::Bzip2(e) => e.finish()?,
            #[cfg(feature = "compression")]
            Encoder::Zstd(e) => e.finish()?,
        };
        w.flush()?;
        w.get_ref().sync_all()
    }
}

impl Write for Encoder {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            #[cfg(feature = "compression")]
            Encoder::Gzip(e) => e.write(buf),
            #[cfg(feature = "compression")]
            Encoder::Bzip2(e) => e.write(buf),
            #[cfg(feature = "compression")]
            Encoder::Zstd(e) => e.write(buf),
        }
    }
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(buf),
            #[cfg(feature = "compression")]
            Encoder::Gzip(e) => e.write_all(buf),
            #[cfg(feature = "compression")]
            Encoder::Bzip2(e) => e.write_all(buf),
            #[cfg(feature = "compression")]
            Encoder::Zstd(e) => e.write_all(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            #[cfg(feature = "compression")]
            Encoder::Gzip(e) => e.flush(),
            #[cfg(feature = "compression")]
            Encoder::Bzip2(e) => e.flush(),
            #[cfg(feature = "compression")]
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

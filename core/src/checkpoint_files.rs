//! What a reliable checkpoint directory holds, and how it is verified before use.
//!
//! `checkpoint_to` writes one `part-NNNNN` file per partition and then `_SUCCESS`, whose
//! text is the manifest: the partition count and each part's length and CRC-32.
//! `read_checkpoint` uses a directory only if the manifest is there and every part it lists
//! is present with its length (and no other part is); each part's checksum is checked when
//! a task reads it. A missing, truncated or corrupted part is an error that names it,
//! never a smaller dataset.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The manifest's first line.
const HEADER: &str = "firesteel checkpoint 1";

/// A part file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Part {
    pub name: String,
    pub len: u64,
    pub crc: u32,
}

impl Part {
    /// The record of `bytes`, written as `name`.
    pub(crate) fn of(name: String, bytes: &[u8]) -> Part {
        Part {
            name,
            len: bytes.len() as u64,
            crc: crc32fast::hash(bytes),
        }
    }
}

/// Writes `dir/_SUCCESS` with the manifest of `parts` (in partition order).
pub(crate) fn write_manifest(dir: &Path, parts: &[Part]) -> Result<()> {
    let mut text = format!("{HEADER}\npartitions {}\n", parts.len());
    for p in parts {
        text.push_str(&format!("{} {} {:08x}\n", p.name, p.len, p.crc));
    }
    let marker = dir.join("_SUCCESS");
    std::fs::write(&marker, text).map_err(|e| Error::io("writing", &marker, e))
}

fn corrupt(dir: &Path, what: String) -> Error {
    Error::InvalidArgument(format!("checkpoint {}: {what}", dir.display()))
}

/// Reads and verifies the manifest of `dir`: every listed part present with its length,
/// no other part file. The parts' paths and checksums, in partition order.
pub(crate) fn verified_parts(dir: &Path) -> Result<Vec<(PathBuf, u32)>> {
    let marker = dir.join("_SUCCESS");
    let text = std::fs::read_to_string(&marker).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            corrupt(dir, "incomplete (no _SUCCESS)".into())
        } else {
            Error::io("reading", &marker, e)
        }
    })?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(corrupt(
            dir,
            "_SUCCESS holds no manifest of its parts (not written by this version)".into(),
        ));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.strip_prefix("partitions "))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| corrupt(dir, "the manifest has no partition count".into()))?;
    let mut parts = Vec::with_capacity(count);
    for (i, line) in lines.enumerate() {
        let bad = || corrupt(dir, format!("line {} of the manifest is malformed", i + 3));
        let mut f = line.split(' ');
        let (Some(name), Some(len), Some(crc), None) = (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad());
        };
        let len: u64 = len.parse().map_err(|_| bad())?;
        let crc = u32::from_str_radix(crc, 16).map_err(|_| bad())?;
        if name != format!("part-{i:05}") {
            return Err(bad());
        }
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(corrupt(dir, format!("part {name} is missing")))
            }
            Err(e) => return Err(Error::io("reading", &path, e)),
            Ok(m) if m.len() != len => {
                return Err(corrupt(
                    dir,
                    format!("part {name} has {} bytes, the manifest says {len}", m.len()),
                ))
            }
            Ok(_) => parts.push((path, crc)),
        }
    }
    if parts.len() != count {
        return Err(corrupt(
            dir,
            format!("the manifest lists {} parts of {count}", parts.len()),
        ));
    }
    let listed = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    for entry in listed.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let index = name
            .strip_prefix("part-")
            .and_then(|n| n.parse::<usize>().ok());
        if index.is_some_and(|i| i >= count) {
            return Err(corrupt(dir, format!("part {name} is not in the manifest")));
        }
    }
    Ok(parts)
}

/// Checks a part's bytes against the checksum the manifest gives it.
pub(crate) fn check_part(path: &Path, bytes: &[u8], crc: u32) -> Result<()> {
    let got = crc32fast::hash(bytes);
    if got != crc {
        return Err(Error::Unrecoverable(format!(
            "checkpoint part {} is corrupt: its CRC-32 is {got:08x}, the manifest says {crc:08x}",
            path.display()
        )));
    }
    Ok(())
}

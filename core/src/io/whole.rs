//! `whole_text_files` and `binary_files`: one record per file, `(path, contents)`, as
//! Spark's `wholeTextFiles` and `binaryFiles`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::codec::open_decoded;
use super::input::resolve_inputs;
use crate::error::{Error, Result};
use crate::rdd::{BatchIter, Dependency, Rdd, RddBase, RddMeta, Tc};
use crate::{Context, Data, Dataset};

/// Files read whole, a run of files per partition.
struct WholeFileRdd<T> {
    meta: RddMeta,
    groups: Vec<Vec<PathBuf>>,
    read: fn(&Path) -> Result<T>,
}

/// Cuts files (in order) into at most `n` contiguous runs of about equal bytes.
fn group_by_size(files: Vec<PathBuf>, n: usize) -> Result<Vec<Vec<PathBuf>>> {
    let n = n.clamp(1, files.len().max(1));
    let mut sizes = Vec::with_capacity(files.len());
    for f in &files {
        sizes.push(
            std::fs::metadata(f)
                .map_err(|e| Error::io("reading", f, e))?
                .len(),
        );
    }
    let total: u64 = sizes.iter().sum::<u64>().max(1);
    let mut groups: Vec<Vec<PathBuf>> = vec![Vec::new(); n];
    let mut before = 0u64;
    for (i, (f, size)) in files.into_iter().zip(sizes).enumerate() {
        // A file goes to the run its middle byte falls in; runs never go backwards, and
        // there are never more runs used than files.
        let by_bytes = ((before + size / 2) as u128 * n as u128 / total as u128) as usize;
        let g = by_bytes.min(i).min(n - 1);
        groups[g].push(f);
        before += size;
    }
    groups.retain(|g| !g.is_empty());
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    Ok(groups)
}

fn whole<T: Data>(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
    op: &'static str,
    read: fn(&Path) -> Result<T>,
) -> Result<Dataset<T>> {
    let groups = group_by_size(resolve_inputs(path)?, min_partitions)?;
    Ok(Dataset::from_rdd(
        ctx,
        Arc::new(WholeFileRdd {
            meta: RddMeta::new(&ctx.inner, op),
            groups,
            read,
        }),
    ))
}

fn read_text(path: &Path) -> Result<(String, String)> {
    let mut bytes = Vec::new();
    open_decoded(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("reading", path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count() as u64;
        Error::parse(path, line, "invalid UTF-8")
    })?;
    Ok((path.display().to_string(), text))
}

fn read_binary(path: &Path) -> Result<(String, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    Ok((path.display().to_string(), bytes))
}

pub(crate) fn whole_text_files(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
) -> Result<Dataset<(String, String)>> {
    whole(ctx, path, min_partitions, "whole_text_files", read_text)
}

pub(crate) fn binary_files(
    ctx: &Context,
    path: &Path,
    min_partitions: usize,
) -> Result<Dataset<(String, Vec<u8>)>> {
    whole(ctx, path, min_partitions, "binary_files", read_binary)
}

impl<T: Data> RddBase for WholeFileRdd<T> {
    fn meta(&self) -> &RddMeta {
        &self.meta
    }
    fn kind(&self) -> &'static str {
        "WholeFileDataset"
    }
    fn num_partitions(&self) -> usize {
        self.groups.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data> Rdd<T> for WholeFileRdd<T> {
    fn compute(&self, split: usize, _tc: &Tc) -> Result<BatchIter<T>> {
        // One file at a time, so a partition holds one file's contents in memory at once
        // beyond what the consumer keeps.
        let read = self.read;
        let files = self.groups[split].clone();
        Ok(Box::new(files.into_iter().map(move |f| {
            read(&f).map(|r| crate::batch::Batch::Owned(vec![r]))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_balance_bytes_and_keep_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for (name, size) in [("a", 100), ("b", 10), ("c", 10), ("d", 100), ("e", 5)] {
            let p = dir.path().join(name);
            std::fs::write(&p, vec![b'x'; size]).unwrap();
            files.push(p);
        }
        let names = |g: &Vec<Vec<PathBuf>>| -> Vec<Vec<String>> {
            g.iter()
                .map(|r| {
                    r.iter()
                        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                        .collect()
                })
                .collect()
        };
        let g = group_by_size(files.clone(), 2).unwrap();
        assert_eq!(names(&g), [vec!["a", "b"], vec!["c", "d", "e"]]);
        let g = group_by_size(files.clone(), 1).unwrap();
        assert_eq!(g.len(), 1);
        let g = group_by_size(files[..2].to_vec(), 8).unwrap();
        assert_eq!(names(&g), [vec!["a"], vec!["b"]]);
        assert_eq!(
            group_by_size(Vec::new(), 3).unwrap(),
            vec![Vec::<PathBuf>::new()]
        );
    }
}

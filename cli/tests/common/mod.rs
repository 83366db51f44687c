//! What the streaming tests read back from `firesteel stream --output PREFIX`: one
//! directory per batch (`PREFIX-<ms>`) of `part-*` files of `word<TAB>count` lines and a
//! `_SUCCESS` marker.

#![allow(dead_code)] // each test binary uses some of these

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `dir` (hidden ones included), by path relative to it, with its bytes.
pub fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The batch directories under `dir`, in name order (batch times of equal width sort as
/// numbers).
pub fn batch_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut batches: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    batches.sort();
    batches
}

/// The `word<TAB>count` lines of a complete batch directory, in part-file order.
pub fn read_output(batch: &Path) -> Vec<(String, u64)> {
    assert!(
        batch.join("_SUCCESS").exists(),
        "{} is incomplete",
        batch.display()
    );
    let mut parts: Vec<PathBuf> = std::fs::read_dir(batch)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("part-")
        })
        .collect();
    parts.sort();
    parts
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| {
                    let (w, c) = l.split_once('\t').unwrap();
                    (w.to_owned(), c.parse().unwrap())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The counts of each batch directory under `dir`, in batch order; every batch must be
/// complete, and no temporary directory may be left.
pub fn batch_counts(dir: &Path) -> Vec<BTreeMap<String, u64>> {
    batch_dirs(dir)
        .iter()
        .map(|b| {
            let name = b.file_name().unwrap().to_string_lossy();
            assert!(
                !name.starts_with('.'),
                "a temporary directory is left: {name}"
            );
            let mut counts = BTreeMap::new();
            for (w, c) in read_output(b) {
                *counts.entry(w).or_insert(0) += c;
            }
            counts
        })
        .collect()
}

/// The counts of all batch directories under `dir`, summed.
pub fn totals(dir: &Path) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for batch in batch_counts(dir) {
        for (w, c) in batch {
            *all.entry(w).or_insert(0) += c;
        }
    }
    all
}

/// The word counts of `texts`.
pub fn count(texts: &[&str]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for t in texts {
        for w in t.split_whitespace() {
            *m.entry(w.to_owned()).or_insert(0) += 1;
        }
    }
    m
}

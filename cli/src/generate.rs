//! Writes the libraries' seeded synthetic data (`firesteel::mllib::datasets`,
//! `firesteel::graphx::rmat`) in the formats the jobs read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use firesteel::core::Error;
use firesteel::graphx::rmat::RmatConfig;
use firesteel::mllib::datasets;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        op: "writing",
        path: path.to_path_buf(),
        source: e,
    }
}

/// Writes `path` through a buffered writer, creating its directory.
fn write_with(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), Error> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err(path))?);
    f(&mut out).and_then(|()| out.flush()).map_err(io_err(path))
}

/// `n` labelled points in LIBSVM format (dense, 1-based indices), from
/// [`datasets::logistic_data`].
pub fn logistic(path: &Path, n: usize, dims: usize, seed: u64) -> Result<(), Error> {
    let (d, _) = datasets::logistic_data(n, dims, seed);
    write_with(path, |out| {
        for (row, label) in d.features.outer_iter().zip(d.labels.iter()) {
            write!(out, "{label}")?;
            for (i, x) in row.iter().enumerate() {
                write!(out, " {}:{x:.6}", i + 1)?;
            }
            writeln!(out)?;
        }
        Ok(())
    })
}

/// `n` points around `k` centers as dense vectors (as `kmeans_data.txt`), from
/// [`datasets::gaussian_blobs`].
pub fn blobs(path: &Path, n: usize, dims: usize, k: usize, seed: u64) -> Result<(), Error> {
    let (d, _) = datasets::gaussian_blobs(n, dims, k, 1.0, seed);
    write_with(path, |out| {
        for row in d.features.outer_iter() {
            for (j, x) in row.iter().enumerate() {
                write!(out, "{}{x:.6}", if j == 0 { "" } else { " " })?;
            }
            writeln!(out)?;
        }
        Ok(())
    })
}

/// A Graph500 R-MAT edge list (`src dst` per line), from [`RmatConfig::graph500`].
pub fn rmat(path: &Path, scale: u32, edge_factor: usize, seed: u64) -> Result<(), Error> {
    let cfg = RmatConfig {
        edge_factor,
        ..RmatConfig::graph500(scale, seed)
    };
    let edges = cfg.generate();
    write_with(path, |out| {
        for (s, d) in edges {
            writeln!(out, "{s} {d}")?;
        }
        Ok(())
    })
}

/// About `n` ratings of a rank-`rank` matrix, as CSV with the header `user,item,rating`, from
/// [`datasets::low_rank_ratings`].
pub fn ratings(
    path: &Path,
    users: usize,
    items: usize,
    n: usize,
    rank: usize,
    seed: u64,
) -> Result<(), Error> {
    let density = (n as f64 / (users as f64 * items as f64)).min(1.0);
    let (r, _, _) = datasets::low_rank_ratings(users, items, rank, density, 0.1, seed);
    write_with(path, |out| {
        writeln!(out, "user,item,rating")?;
        for x in r {
            writeln!(out, "{},{},{}", x.user, x.item, x.rating)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_seeded_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        rmat(&a, 6, 4, 1).unwrap();
        rmat(&b, 6, 4, 1).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text, std::fs::read_to_string(&b).unwrap());
        assert_eq!(text.lines().count(), 64 * 4);
        assert!(text
            .lines()
            .all(|l| l.split(' ').all(|t| t.parse::<u64>().is_ok_and(|v| v < 64))));
        logistic(&a, 50, 3, 2).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert_eq!(text.lines().count(), 50);
        assert!(text.lines().all(|l| l.split(' ').count() == 4));
        blobs(&a, 30, 2, 3, 3).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap().lines().count(), 30);
        ratings(&a, 20, 20, 100, 2, 4).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert!(text.lines().count() > 50);
        assert!(text.lines().all(|l| l.split(',').count() == 3));
    }
}

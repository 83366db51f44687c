//! Seeded synthetic data for benchmarks, written in the formats the jobs read.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use firesteel::core::Error;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        op: "writing",
        path: path.to_path_buf(),
        source: e,
    }
}

fn writer(path: &Path) -> Result<BufWriter<File>, Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(path).map_err(io_err(path))?,
    ))
}

/// A standard normal draw (Box–Muller).
pub fn gaussian(rng: &mut Pcg64) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `n` labelled points in LIBSVM format (dense, 1-based indices): features are standard
/// normal, and the label is 1 with probability σ(w·x) for a fixed random `w`.
pub fn logistic(path: &Path, n: usize, dims: usize, seed: u64) -> Result<(), Error> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let w: Vec<f64> = (0..dims).map(|_| gaussian(&mut rng)).collect();
    let mut out = writer(path)?;
    let mut x = vec![0.0; dims];
    for _ in 0..n {
        let mut dot = 0.0;
        for (xi, wi) in x.iter_mut().zip(&w) {
            *xi = gaussian(&mut rng);
            dot += *xi * wi;
        }
        let p = 1.0 / (1.0 + (-dot).exp());
        let label = u8::from(rng.random::<f64>() < p);
        write!(out, "{label}").map_err(io_err(path))?;
        for (i, xi) in x.iter().enumerate() {
            write!(out, " {}:{:.6}", i + 1, xi).map_err(io_err(path))?;
        }
        writeln!(out).map_err(io_err(path))?;
    }
    out.flush().map_err(io_err(path))
}

/// `n` points around `k` Gaussian centers (whitespace-separated dense vectors, as
/// `kmeans_data.txt`).
pub fn blobs(path: &Path, n: usize, dims: usize, k: usize, seed: u64) -> Result<(), Error> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let centers: Vec<Vec<f64>> = (0..k)
        .map(|_| (0..dims).map(|_| 10.0 * gaussian(&mut rng)).collect())
        .collect();
    let mut out = writer(path)?;
    for i in 0..n {
        let c = &centers[i % k.max(1)];
        for (j, cj) in c.iter().enumerate() {
            let sep = if j == 0 { "" } else { " " };
            write!(out, "{sep}{:.6}", cj + gaussian(&mut rng)).map_err(io_err(path))?;
        }
        writeln!(out).map_err(io_err(path))?;
    }
    out.flush().map_err(io_err(path))
}

/// A Graph500 R-MAT edge list (`src dst` per line): `2^scale` vertices, `edge_factor` edges
/// per vertex, quadrant probabilities a = 0.57, b = c = 0.19, and vertex ids permuted.
pub fn rmat(path: &Path, scale: u32, edge_factor: usize, seed: u64) -> Result<(), Error> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let n = 1u64 << scale;
    let mut perm: Vec<u64> = (0..n).collect();
    for i in (1..n as usize).rev() {
        let j = rng.random_range(0..=i);
        perm.swap(i, j);
    }
    let (a, b, c) = (0.57, 0.19, 0.19);
    let mut out = writer(path)?;
    for _ in 0..(n as usize * edge_factor) {
        let (mut src, mut dst) = (0u64, 0u64);
        for bit in (0..scale).rev() {
            let r: f64 = rng.random();
            let (s, d) = if r < a {
                (0, 0)
            } else if r < a + b {
                (0, 1)
            } else if r < a + b + c {
                (1, 0)
            } else {
                (1, 1)
            };
            src |= s << bit;
            dst |= d << bit;
        }
        writeln!(out, "{} {}", perm[src as usize], perm[dst as usize]).map_err(io_err(path))?;
    }
    out.flush().map_err(io_err(path))
}

/// `n` ratings `user,item,rating` of a rank-`rank` matrix plus noise, ratings clamped to
/// [1, 5].
pub fn ratings(
    path: &Path,
    users: usize,
    items: usize,
    n: usize,
    rank: usize,
    seed: u64,
) -> Result<(), Error> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let scale = 1.0 / (rank as f64).sqrt();
    let u: Vec<Vec<f64>> = (0..users)
        .map(|_| (0..rank).map(|_| scale * gaussian(&mut rng)).collect())
        .collect();
    let v: Vec<Vec<f64>> = (0..items)
        .map(|_| (0..rank).map(|_| scale * gaussian(&mut rng)).collect())
        .collect();
    let mut out = writer(path)?;
    for _ in 0..n {
        let (i, j) = (rng.random_range(0..users), rng.random_range(0..items));
        let dot: f64 = u[i].iter().zip(&v[j]).map(|(a, b)| a * b).sum();
        let r = (3.0 + 1.5 * dot + 0.1 * gaussian(&mut rng)).clamp(1.0, 5.0);
        writeln!(out, "{i},{j},{r:.3}").map_err(io_err(path))?;
    }
    out.flush().map_err(io_err(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_and_well_formed() {
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
        assert!(text.lines().all(|l| l.split(' ').count() == 4));
        blobs(&a, 30, 2, 3, 3).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap().lines().count(), 30);
        ratings(&a, 10, 10, 40, 2, 4).unwrap();
        let text = std::fs::read_to_string(&a).unwrap();
        assert!(text.lines().all(|l| {
            let r: f64 = l.split(',').nth(2).unwrap().parse().unwrap();
            (1.0..=5.0).contains(&r)
        }));
    }
}

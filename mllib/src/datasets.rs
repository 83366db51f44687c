//! Seeded synthetic data for tests, benchmarks and the command-line tool: Gaussian blobs
//! (k-means), logistic data (classification) and low-rank ratings (ALS).

use ndarray::{Array1, Array2};
use rand::Rng;

use crate::data::{LocalData, Rating};
use crate::util::{gaussian, rng};

/// Gaussian blobs: `k` centers drawn uniformly from `[-10, 10]^d`, and `n` points, point
/// `i` drawn around center `i % k` with standard deviation `spread` per coordinate.
/// Returns the points (labels = true cluster) and the true centers.
pub fn gaussian_blobs(
    n: usize,
    d: usize,
    k: usize,
    spread: f64,
    seed: u64,
) -> (LocalData, Array2<f64>) {
    let mut r = rng(seed);
    let centers = Array2::from_shape_fn((k, d), |_| r.random_range(-10.0..10.0));
    let mut x = Array2::zeros((n, d));
    let mut labels = Array1::zeros(n);
    for i in 0..n {
        let c = i % k;
        labels[i] = c as f64;
        for j in 0..d {
            x[[i, j]] = centers[[c, j]] + spread * gaussian(&mut r);
        }
    }
    (
        LocalData {
            features: x,
            labels,
        },
        centers,
    )
}

/// Logistic data: standard normal features, a true weight vector with entries
/// `N(0, 1)·2/√d` and intercept 0.5; labels drawn as Bernoulli(sigmoid(x·w + 0.5)).
/// Returns the data and the true weights.
pub fn logistic_data(n: usize, d: usize, seed: u64) -> (LocalData, Array1<f64>) {
    let mut r = rng(seed);
    let scale = 2.0 / (d as f64).sqrt();
    let w = Array1::from_shape_fn(d, |_| gaussian(&mut r) * scale);
    let x = Array2::from_shape_fn((n, d), |_| gaussian(&mut r));
    let margins = x.dot(&w);
    let labels = margins.mapv(|m| {
        let p = 1.0 / (1.0 + (-(m + 0.5)).exp());
        if r.random::<f64>() < p {
            1.0
        } else {
            0.0
        }
    });
    (
        LocalData {
            features: x,
            labels,
        },
        w,
    )
}

/// Low-rank ratings: user and item factors with `N(0, 1/√rank)` entries, so that true
/// ratings `u·v` have unit variance; each (user, item) pair is observed with probability
/// `density`, with Gaussian noise of standard deviation `noise`. Returns the ratings and the
/// true user and item factors.
pub fn low_rank_ratings(
    num_users: usize,
    num_items: usize,
    rank: usize,
    density: f64,
    noise: f64,
    seed: u64,
) -> (Vec<Rating>, Array2<f64>, Array2<f64>) {
    let mut r = rng(seed);
    let s = 1.0 / (rank as f64).sqrt().sqrt();
    let u = Array2::from_shape_fn((num_users, rank), |_| gaussian(&mut r) * s);
    let v = Array2::from_shape_fn((num_items, rank), |_| gaussian(&mut r) * s);
    let mut out = Vec::with_capacity((num_users as f64 * num_items as f64 * density) as usize + 16);
    for a in 0..num_users {
        for b in 0..num_items {
            if r.random::<f64>() < density {
                let t = u.row(a).dot(&v.row(b));
                out.push(Rating {
                    user: a as u32,
                    item: b as u32,
                    rating: (t + noise * gaussian(&mut r)) as f32,
                });
            }
        }
    }
    (out, u, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_seeded_and_shaped() {
        let (a, c) = gaussian_blobs(100, 3, 4, 0.1, 1);
        let (b, _) = gaussian_blobs(100, 3, 4, 0.1, 1);
        assert_eq!(a, b);
        assert_eq!(c.shape(), &[4, 3]);
        let (l, w) = logistic_data(50, 5, 2);
        assert_eq!(l.features.shape(), &[50, 5]);
        assert_eq!(w.len(), 5);
        assert!(l.labels.iter().all(|&y| y == 0.0 || y == 1.0));
        let (r, u, v) = low_rank_ratings(30, 20, 2, 0.5, 0.0, 3);
        assert!(!r.is_empty());
        let x = &r[0];
        let t = u.row(x.user as usize).dot(&v.row(x.item as usize));
        assert!((t - f64::from(x.rating)).abs() < 1e-5);
    }
}

//! k-means clustering (Spark's `KMeans`): k-means|| or random initialization, then Lloyd
//! iterations over cached blocks, with distances computed by the norms trick
//! `||x||² − 2 x·c + ||c||²` as one matrix product per block.

use std::sync::Arc;

use firesteel_core::Dataset;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::InstanceBlock;
use crate::error::{MlError, Result};
use crate::util::{fetch_rows, partition_sizes, rng, row_sq_norms};

/// How the initial centers are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KMeansInit {
    /// k-means|| (Bahmani et al.), Spark's default.
    KMeansParallel,
    /// `k` distinct rows drawn uniformly.
    Random,
}

/// Entry point: `KMeans::params(k)`.
#[derive(Debug, Clone, Copy)]
pub struct KMeans;

impl KMeans {
    /// Parameters with Spark's defaults: `max_iter` 20, `tol` 1e-4, k-means|| with 2 steps.
    pub fn params(k: usize) -> KMeansParams {
        KMeansParams {
            k,
            max_iter: 20,
            tol: 1e-4,
            init: KMeansInit::KMeansParallel,
            init_steps: 2,
            seed: 42,
            aggregation_depth: 2,
        }
    }
}

/// k-means parameters, checked by [`KMeansParams::check`] (and by `fit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    k: usize,
    max_iter: usize,
    tol: f64,
    init: KMeansInit,
    init_steps: usize,
    seed: u64,
    aggregation_depth: usize,
}

impl KMeansParams {
    /// Number of clusters (> 1).
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// Most Lloyd iterations (>= 0; 0 returns the initial centers).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = n;
        self
    }
    /// Convergence: stop when every center moved less than `tol` (Euclidean).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }
    /// Initialization mode.
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }
    /// Rounds of k-means|| (> 0).
    pub fn init_steps(mut self, n: usize) -> Self {
        self.init_steps = n;
        self
    }
    /// Random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Depth of the `tree_aggregate` combining partition sums (>= 1).
    pub fn aggregation_depth(mut self, depth: usize) -> Self {
        self.aggregation_depth = depth;
        self
    }

    /// Checks every rule, returning the first violation.
    pub fn check(&self) -> Result<()> {
        if self.k < 2 {
            return Err(MlError::InvalidK(self.k));
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(MlError::InvalidTol(self.tol));
        }
        if self.init_steps == 0 {
            return Err(MlError::InvalidInitSteps(self.init_steps));
        }
        Ok(())
    }

    /// Trains on cached blocks (labels are ignored, weights are used).
    pub fn fit(&self, data: &Dataset<Arc<InstanceBlock>>) -> Result<KMeansModel> {
        self.fit_with_progress(data, |_, _| {})
    }

    /// As [`fit`](Self::fit), calling `progress(iteration, cost)` after each Lloyd
    /// iteration.
    pub fn fit_with_progress(
        &self,
        data: &Dataset<Arc<InstanceBlock>>,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<KMeansModel> {
        self.check()?;
        let (sizes, d) = partition_sizes(data)?;
        let n: usize = sizes.iter().sum();
        if n == 0 {
            return Err(MlError::EmptyInput("k-means training data".into()));
        }
        let init_start = std::time::Instant::now();
        let mut centers = match self.init {
            KMeansInit::Random => self.init_random(data, &sizes, n)?,
            KMeansInit::KMeansParallel => self.init_parallel(data, &sizes, n, d)?,
        };
        let init_time = init_start.elapsed().as_secs_f64();
        let k = centers.nrows();
        let mut cost_history = Vec::new();
        let mut iteration_times = Vec::new();
        let mut iteration = 0;
        let mut converged = false;
        let eps2 = self.tol * self.tol;
        while iteration < self.max_iter && !converged {
            let t = std::time::Instant::now();
            let (sums, weights, cost) = lloyd_pass(data, &centers, self.aggregation_depth)?;
            converged = true;
            for j in 0..k {
                if weights[j] > 0.0 {
                    let new = sums.row(j).mapv(|s| s / weights[j]);
                    let moved = sq_dist(new.view(), centers.row(j));
                    if moved > eps2 {
                        converged = false;
                    }
                    centers.row_mut(j).assign(&new);
                }
            }
            cost_history.push(cost);
            iteration += 1;
            iteration_times.push(t.elapsed().as_secs_f64());
            progress(iteration, cost);
        }
        let (_, last_weights, last_cost) = lloyd_pass(data, &centers, self.aggregation_depth)?;
        let summary = KMeansSummary {
            iterations: iteration,
            converged,
            cost_history,
            training_cost: last_cost,
            cluster_sizes: last_weights.to_vec(),
            init_seconds: init_time,
            iteration_seconds: iteration_times,
        };
        Ok(KMeansModel { centers, summary })
    }

    fn init_random(
        &self,
        data: &Dataset<Arc<InstanceBlock>>,
        sizes: &[usize],
        n: usize,
    ) -> Result<Array2<f64>> {
        let mut r = rng(self.seed);
        let take = self.k.min(n);
        // Floyd's algorithm: `take` distinct indices.
        let mut chosen: Vec<usize> = Vec::with_capacity(take);
        for j in n - take..n {
            let t = r.random_range(0..=j);
            if chosen.contains(&t) {
                chosen.push(j);
            } else {
                chosen.push(t);
            }
        }
        let rows = fetch_rows(data, sizes, &chosen)?;
        Ok(distinct_rows(rows.view()))
    }

    fn init_parallel(
        &self,
        data: &Dataset<Arc<InstanceBlock>>,
        sizes: &[usize],
        n: usize,
        d: usize,
    ) -> Result<Array2<f64>> {
        let mut r = rng(self.seed);
        let seed: u64 = r.random();
        let first = r.random_range(0..n);
        let mut centers = fetch_rows(data, sizes, &[first])?;
        let k = self.k;
        for step in 0..self.init_steps {
            let bc = data.context().broadcast(centers.clone());
            let bc2 = bc.clone();
            let sum_costs = data.tree_aggregate(
                0.0,
                move |acc, b| acc + min_dists(&b, bc.value()).iter().sum::<f64>(),
                |a, b| a + b,
                self.aggregation_depth,
            )?;
            if sum_costs <= 0.0 {
                break;
            }
            let step_seed = seed ^ ((step as u64) << 16);
            let chosen: Vec<Vec<f64>> = data
                .map_partitions_with_index(move |p, blocks| {
                    let mut r = rng(step_seed ^ p as u64);
                    let mut out = Vec::new();
                    for b in blocks {
                        let c = min_dists(&b, bc2.value());
                        for (i, &ci) in c.iter().enumerate() {
                            if r.random::<f64>() < 2.0 * ci * k as f64 / sum_costs {
                                out.push(b.features.row(i).to_vec());
                            }
                        }
                    }
                    out
                })
                .collect()?;
            if chosen.is_empty() {
                continue;
            }
            let mut grown = Array2::zeros((centers.nrows() + chosen.len(), d));
            grown
                .slice_mut(ndarray::s![..centers.nrows(), ..])
                .assign(&centers);
            for (i, c) in chosen.into_iter().enumerate() {
                grown.row_mut(centers.nrows() + i).assign(&Array1::from(c));
            }
            centers = grown;
        }
        let distinct = distinct_rows(centers.view());
        if distinct.nrows() <= k {
            return Ok(distinct);
        }
        // Weight each candidate by the (weighted) number of points closest to it, then
        // reduce to k with weighted k-means++ and local Lloyd iterations, as Spark does.
        let (_, weights, _) = lloyd_pass(data, &distinct, self.aggregation_depth)?;
        Ok(local_kmeans_pp(distinct.view(), &weights, k, 30, 0))
    }
}

/// Training summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansSummary {
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Whether the centers moved less than `tol` in the last iteration.
    pub converged: bool,
    /// Cost (WSSSE) of the centers at the start of each iteration.
    pub cost_history: Vec<f64>,
    /// WSSSE of the final centers on the training data.
    pub training_cost: f64,
    /// Weighted number of training points closest to each final center.
    pub cluster_sizes: Vec<f64>,
    /// Seconds spent in initialization.
    pub init_seconds: f64,
    /// Seconds spent in each Lloyd iteration.
    pub iteration_seconds: Vec<f64>,
}

/// A trained k-means model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansModel {
    centers: Array2<f64>,
    summary: KMeansSummary,
}

impl KMeansModel {
    /// The centers, one per row.
    pub fn centers(&self) -> &Array2<f64> {
        &self.centers
    }
    /// The training summary.
    pub fn summary(&self) -> &KMeansSummary {
        &self.summary
    }
    /// Index of the closest center.
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict(&self, x: ArrayView1<'_, f64>) -> Result<usize> {
        self.check_dim(x.len())?;
        let mut best = (0, f64::INFINITY);
        for (j, c) in self.centers.outer_iter().enumerate() {
            let d = sq_dist(x, c);
            if d < best.1 {
                best = (j, d);
            }
        }
        Ok(best.0)
    }
    /// Closest center of each row.
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict_matrix(&self, x: ArrayView2<'_, f64>) -> Result<Vec<usize>> {
        self.check_dim(x.ncols())?;
        let (idx, _) = assign(x, row_sq_norms(x).view(), &self.centers);
        Ok(idx)
    }
    /// Closest center of each row of each block.
    pub fn predict_blocks(&self, data: &Dataset<Arc<InstanceBlock>>) -> Dataset<Vec<usize>> {
        let c = data.context().broadcast(self.centers.clone());
        data.map(move |b| {
            let x = b.features.view();
            assign(x, row_sq_norms(x).view(), c.value()).0
        })
    }
    /// Weighted sum of squared distances to the closest center (WSSSE).
    pub fn compute_cost(&self, data: &Dataset<Arc<InstanceBlock>>) -> Result<f64> {
        let c = data.context().broadcast(self.centers.clone());
        Ok(data.tree_aggregate(
            0.0,
            move |acc, b| {
                acc + min_dists(&b, c.value())
                    .iter()
                    .zip(b.weights.iter())
                    .map(|(d, w)| d * w)
                    .sum::<f64>()
            },
            |a, b| a + b,
            2,
        )?)
    }
    fn check_dim(&self, got: usize) -> Result<()> {
        if got != self.centers.ncols() {
            return Err(MlError::DimensionMismatch {
                expected: self.centers.ncols(),
                got,
            });
        }
        Ok(())
    }
}

impl crate::persist::Model for KMeansModel {
    const KIND: &'static str = "kmeans";
}

fn sq_dist(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Closest center and squared distance of each row, by the norms trick.
pub(crate) fn assign(
    x: ArrayView2<'_, f64>,
    xnorm: ArrayView1<'_, f64>,
    centers: &Array2<f64>,
) -> (Vec<usize>, Vec<f64>) {
    let cnorm = row_sq_norms(centers.view()).to_vec();
    let mut idx = Vec::with_capacity(x.nrows());
    let mut dist = Vec::with_capacity(x.nrows());
    nearest_rows(x, &centers.t(), &cnorm, |i, j, d| {
        idx.push(j);
        dist.push((d + xnorm[i]).max(0.0));
    });
    (idx, dist)
}

/// For each row `i` of `x`, calls `f(i, j, cnorm[j] − 2·x_i·c_j)` with the closest center
/// `j`. The dot products are one matrix product `x · centersᵀ` (`centers_t` is d × k).
fn nearest_rows(
    x: ArrayView2<'_, f64>,
    centers_t: &ArrayView2<'_, f64>,
    cnorm: &[f64],
    mut f: impl FnMut(usize, usize, f64),
) {
    let k = cnorm.len();
    let g = x.dot(centers_t);
    let g = g.as_standard_layout();
    let gs = g.as_slice().expect("standard layout");
    for (i, row) in gs.chunks_exact(k.max(1)).enumerate().take(x.nrows()) {
        let mut best = 0usize;
        let mut bd = f64::INFINITY;
        for (j, (&gij, &cn)) in row.iter().zip(cnorm).enumerate() {
            let d = cn - 2.0 * gij;
            if d < bd {
                bd = d;
                best = j;
            }
        }
        f(i, best, bd);
    }
}

fn min_dists(b: &InstanceBlock, centers: &Array2<f64>) -> Vec<f64> {
    let x = b.features.view();
    assign(x, row_sq_norms(x).view(), centers).1
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct PassStats {
    /// k × d sums, row-major.
    sums: Vec<f64>,
    weights: Vec<f64>,
    cost: f64,
}

/// One Lloyd pass: per-center weighted sums and weights, and the weighted cost.
fn lloyd_pass(
    data: &Dataset<Arc<InstanceBlock>>,
    centers: &Array2<f64>,
    depth: usize,
) -> Result<(Array2<f64>, Array1<f64>, f64)> {
    let (k, d) = centers.dim();
    let cnorm = row_sq_norms(centers.view()).to_vec();
    let bc = data.context().broadcast((centers.t().to_owned(), cnorm));
    let zero = PassStats {
        sums: vec![0.0; k * d],
        weights: vec![0.0; k],
        cost: 0.0,
    };
    let acc = data.tree_aggregate(
        zero,
        move |mut acc, b| {
            if b.is_empty() {
                return acc;
            }
            let (ct, cnorm) = bc.value();
            let x = b.features.as_standard_layout();
            let xs = x.as_slice().expect("standard layout");
            let w = &b.weights;
            nearest_rows(x.view(), &ct.view(), cnorm, |i, j, dd| {
                let xi = &xs[i * d..(i + 1) * d];
                let xn: f64 = xi.iter().map(|v| v * v).sum();
                let wi = w[i];
                acc.cost += wi * (dd + xn).max(0.0);
                acc.weights[j] += wi;
                for (s, v) in acc.sums[j * d..(j + 1) * d].iter_mut().zip(xi) {
                    *s += wi * v;
                }
            });
            acc
        },
        |mut a, b| {
            for (x, y) in a.sums.iter_mut().zip(&b.sums) {
                *x += y;
            }
            for (x, y) in a.weights.iter_mut().zip(&b.weights) {
                *x += y;
            }
            a.cost += b.cost;
            a
        },
        depth,
    )?;
    let sums = Array2::from_shape_vec((k, d), acc.sums).expect("k × d");
    Ok((sums, Array1::from(acc.weights), acc.cost))
}

fn distinct_rows(m: ArrayView2<'_, f64>) -> Array2<f64> {
    let mut keep: Vec<usize> = Vec::new();
    for i in 0..m.nrows() {
        if !keep.iter().any(|&j| m.row(j) == m.row(i)) {
            keep.push(i);
        }
    }
    m.select(Axis(0), &keep)
}

/// Weighted k-means++ on a small local set, then up to `max_iter` weighted Lloyd
/// iterations (Spark's `LocalKMeans.kMeansPlusPlus`).
fn local_kmeans_pp(
    points: ArrayView2<'_, f64>,
    weights: &Array1<f64>,
    k: usize,
    max_iter: usize,
    seed: u64,
) -> Array2<f64> {
    let (n, d) = points.dim();
    let mut r = rng(seed);
    let mut centers = Array2::zeros((k, d));
    // First center: weighted pick.
    let total: f64 = weights.sum();
    let pick = {
        let t = r.random::<f64>() * total;
        let mut acc = 0.0;
        let mut i = 0;
        while i < n - 1 {
            acc += weights[i];
            if acc >= t {
                break;
            }
            i += 1;
        }
        i
    };
    centers.row_mut(0).assign(&points.row(pick));
    let mut cost: Vec<f64> = (0..n)
        .map(|p| sq_dist(points.row(p), centers.row(0)))
        .collect();
    for c in 1..k {
        let sum: f64 = cost.iter().zip(weights.iter()).map(|(c, w)| c * w).sum();
        let target = r.random::<f64>() * sum;
        let mut cum = 0.0;
        let mut j = 0;
        while j < n && cum < target {
            cum += weights[j] * cost[j];
            j += 1;
        }
        let chosen = j.saturating_sub(1);
        centers.row_mut(c).assign(&points.row(chosen));
        for (p, cp) in cost.iter_mut().enumerate() {
            *cp = cp.min(sq_dist(points.row(p), centers.row(c)));
        }
    }
    let mut old = vec![usize::MAX; n];
    let mut moved = true;
    let mut it = 0;
    while moved && it < max_iter {
        moved = false;
        let mut sums = Array2::<f64>::zeros((k, d));
        let mut counts = vec![0.0; k];
        for p in 0..n {
            let mut best = (0, f64::INFINITY);
            for j in 0..k {
                let dd = sq_dist(points.row(p), centers.row(j));
                if dd < best.1 {
                    best = (j, dd);
                }
            }
            sums.row_mut(best.0).scaled_add(weights[p], &points.row(p));
            counts[best.0] += weights[p];
            if best.0 != old[p] {
                moved = true;
                old[p] = best.0;
            }
        }
        for (j, &count) in counts.iter().enumerate() {
            if count == 0.0 {
                let p = r.random_range(0..n);
                centers.row_mut(j).assign(&points.row(p));
            } else {
                centers.row_mut(j).assign(&sums.row(j).mapv(|s| s / count));
            }
        }
        it += 1;
    }
    centers
}

#[cfg(test)]
mod tests {
    use super::*;
    use firesteel_core::Context;

    fn blocks(ctx: &Context, x: Array2<f64>) -> Dataset<Arc<InstanceBlock>> {
        let n = x.nrows();
        crate::data::to_blocks(ctx, &x, &Array1::zeros(n), None, 2, 3)
    }

    #[test]
    fn each_rule_has_its_error() {
        let ctx = Context::local(1).unwrap();
        let data = blocks(&ctx, Array2::zeros((4, 2)));
        assert!(matches!(
            KMeans::params(1).fit(&data),
            Err(MlError::InvalidK(1))
        ));
        assert!(matches!(
            KMeans::params(2).tol(-1.0).check(),
            Err(MlError::InvalidTol(_))
        ));
        assert!(matches!(
            KMeans::params(2).tol(f64::NAN).check(),
            Err(MlError::InvalidTol(_))
        ));
        assert!(matches!(
            KMeans::params(2).init_steps(0).check(),
            Err(MlError::InvalidInitSteps(0))
        ));
        assert!(KMeans::params(2).check().is_ok());
    }

    #[test]
    fn norms_trick_matches_direct_distance() {
        let x = ndarray::array![[1.0, 2.0], [3.0, -1.0], [0.0, 0.0]];
        let c = ndarray::array![[0.0, 0.0], [3.0, 0.0]];
        let (idx, d) = assign(x.view(), row_sq_norms(x.view()).view(), &c);
        assert_eq!(idx, vec![0, 1, 0]);
        let expect = [5.0, 1.0, 0.0];
        for (a, b) in d.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn max_iter_zero_returns_init_and_random_init_works() {
        let ctx = Context::local(2).unwrap();
        let x = ndarray::array![[0.0], [0.1], [10.0], [10.1], [0.2], [10.2]];
        let data = blocks(&ctx, x);
        let m = KMeans::params(2)
            .init(KMeansInit::Random)
            .seed(3)
            .fit(&data)
            .unwrap();
        let mut c: Vec<f64> = m.centers().column(0).to_vec();
        c.sort_by(f64::total_cmp);
        assert!(
            (c[0] - 0.1).abs() < 1e-12 && (c[1] - 10.1).abs() < 1e-12,
            "{c:?}"
        );
        let assigned: Vec<usize> = m.predict_blocks(&data).collect().unwrap().concat();
        let direct: Vec<usize> = [0.0, 0.1, 10.0, 10.1, 0.2, 10.2]
            .iter()
            .map(|&v| m.predict(ndarray::array![v].view()).unwrap())
            .collect();
        assert_eq!(assigned, direct);
        assert_ne!(direct[0], direct[2]);
        let m0 = KMeans::params(2).max_iter(0).fit(&data).unwrap();
        assert_eq!(m0.summary().iterations, 0);
    }

    #[test]
    fn dimension_checked_on_predict() {
        let ctx = Context::local(1).unwrap();
        let data = blocks(&ctx, ndarray::array![[0.0, 1.0], [5.0, 5.0], [6.0, 5.0]]);
        let m = KMeans::params(2).fit(&data).unwrap();
        assert!(matches!(
            m.predict(ndarray::array![1.0].view()),
            Err(MlError::DimensionMismatch { .. })
        ));
    }
}

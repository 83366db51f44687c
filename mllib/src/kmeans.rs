//! k-means clustering (Spark's `KMeans`): k-means|| or random initialization, then Lloyd
//! iterations over cached blocks, with distances computed by the norms trick
//! `||x||² − 2 x·c + ||c||²` as one matrix product per block.

use std::sync::Arc;
use std::time::Instant;

use firesteel_core::Dataset;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::data::InstanceBlock;
use crate::error::{MlError, ParamError, Result};
use crate::estimator::{Fit, ParamGuard, Predict, Progress, TrainingSummary};
use crate::persist::Model;
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
    /// Parameters with Spark's defaults (see [`KMeansParams`]) and `k` clusters.
    ///
    /// # Examples
    ///
    /// ```
    /// use firesteel_mllib::kmeans::{KMeans, KMeansInit};
    /// use firesteel_mllib::ParamGuard;
    ///
    /// let p = KMeans::params(3).check().unwrap();
    /// assert_eq!((p.k(), p.max_iter(), p.tol()), (3, 20, 1e-4));
    /// assert_eq!((p.init(), p.init_steps()), (KMeansInit::KMeansParallel, 2));
    /// ```
    pub fn params(k: usize) -> KMeansParams {
        // Spark's `KMeans` defaults (ml.clustering.KMeans docs): maxIter 20, tol 1e-4,
        // initMode "k-means||", initSteps 2. Spark's seed defaults to a hash of the class
        // name; ours is a fixed 42.
        KMeansParams(KMeansValidParams {
            k,
            max_iter: 20,
            tol: 1e-4,
            init: KMeansInit::KMeansParallel,
            init_steps: 2,
            seed: 42,
            aggregation_depth: 2,
        })
    }
}

/// k-means parameters (a builder), checked by [`ParamGuard`] into [`KMeansValidParams`].
/// [`Fit`] checks them first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams(KMeansValidParams);

/// Spark's default: `k` = 2.
impl Default for KMeansParams {
    fn default() -> Self {
        KMeans::params(2)
    }
}

impl KMeansParams {
    /// Number of clusters (> 1).
    pub fn k(mut self, k: usize) -> Self {
        self.0.k = k;
        self
    }
    /// Most Lloyd iterations (0 returns the initial centers).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    /// Convergence: stop when every center moved less than `tol` (Euclidean; finite,
    /// >= 0).
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    /// Initialization mode.
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.0.init = init;
        self
    }
    /// Rounds of k-means|| (>= 1).
    pub fn init_steps(mut self, n: usize) -> Self {
        self.0.init_steps = n;
        self
    }
    /// Random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
    /// Depth of the `tree_aggregate` combining partition sums (>= 1).
    pub fn aggregation_depth(mut self, depth: usize) -> Self {
        self.0.aggregation_depth = depth;
        self
    }
}

impl ParamGuard for KMeansParams {
    type Checked = KMeansValidParams;

    fn check_ref(&self) -> Result<&KMeansValidParams, ParamError> {
        let p = &self.0;
        // Spark's rules: k > 1, maxIter >= 0 (a usize), tol >= 0, initSteps > 0.
        ParamError::K(p.k).check()?;
        ParamError::Tol(p.tol).check()?;
        ParamError::InitSteps(p.init_steps).check()?;
        ParamError::AggregationDepth(p.aggregation_depth).check()?;
        Ok(p)
    }

    fn check(self) -> Result<KMeansValidParams, ParamError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// Checked k-means parameters: they [`Fit`] cached blocks (labels are ignored, weights
/// are used) into a [`KMeansModel`].
///
/// # Examples
///
/// ```
/// use firesteel_mllib::kmeans::KMeans;
/// use firesteel_mllib::{data, Fit, ParamGuard};
///
/// firesteel_core::example(|ctx| {
///     let x = ndarray::array![[0.0], [0.2], [5.0], [5.2]];
///     let blocks = data::to_blocks(ctx, &x, &ndarray::Array1::zeros(4), None, 2, 1024);
///     let valid = KMeans::params(2).tol(0.0).check().unwrap();
///     let model = valid.fit(&blocks).unwrap();
///     assert!((model.summary().training_cost - 0.04).abs() < 1e-12);
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansValidParams {
    k: usize,
    max_iter: usize,
    tol: f64,
    init: KMeansInit,
    init_steps: usize,
    seed: u64,
    aggregation_depth: usize,
}

impl KMeansValidParams {
    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Most Lloyd iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Convergence tolerance.
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// Initialization mode.
    pub fn init(&self) -> KMeansInit {
        self.init
    }
    /// Rounds of k-means||.
    pub fn init_steps(&self) -> usize {
        self.init_steps
    }
    /// Random seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Depth of the `tree_aggregate` combining partition sums.
    pub fn aggregation_depth(&self) -> usize {
        self.aggregation_depth
    }
}

impl Fit<Arc<InstanceBlock>> for KMeansValidParams {
    type Model = KMeansModel;

    /// Trains, reporting after each Lloyd iteration the cost of the centers it started
    /// from.
    fn fit_with_progress(
        &self,
        data: &Dataset<Arc<InstanceBlock>>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<KMeansModel> {
        let (sizes, d) = partition_sizes(data)?;
        let n: usize = sizes.iter().sum();
        if n == 0 {
            return Err(MlError::EmptyInput("k-means training data".into()));
        }
        let init_start = Instant::now();
        let mut centers = match self.init {
            KMeansInit::Random => self.init_random(data, &sizes, n)?,
            KMeansInit::KMeansParallel => self.init_parallel(data, &sizes, n, d)?,
        };
        let mut training = TrainingSummary {
            setup_seconds: init_start.elapsed().as_secs_f64(),
            ..TrainingSummary::default()
        };
        let k = centers.nrows();
        let eps2 = self.tol * self.tol;
        let mut since = Instant::now();
        while training.iterations < self.max_iter && !training.converged {
            let (sums, weights, cost) = lloyd_pass(data, &centers, self.aggregation_depth)?;
            training.converged = true;
            for j in 0..k {
                if weights[j] > 0.0 {
                    let new = sums.row(j).mapv(|s| s / weights[j]);
                    let moved = sq_dist(new.view(), centers.row(j));
                    if moved > eps2 {
                        training.converged = false;
                    }
                    centers.row_mut(j).assign(&new);
                }
            }
            training.objective_history.push(cost);
            training.record_iteration(&mut since, Some(cost), &mut progress);
        }
        let (_, last_weights, last_cost) = lloyd_pass(data, &centers, self.aggregation_depth)?;
        let summary = KMeansSummary {
            training,
            training_cost: last_cost,
            cluster_sizes: last_weights.to_vec(),
        };
        Ok(KMeansModel { centers, summary })
    }
}

impl KMeansValidParams {
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
    /// Iterations, convergence, the cost at the start of each iteration (the objective
    /// history) and timings (initialization is the setup).
    pub training: TrainingSummary,
    /// WSSSE of the final centers on the training data.
    pub training_cost: f64,
    /// Weighted number of training points closest to each final center.
    pub cluster_sizes: Vec<f64>,
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
    /// Closest center of each row.
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict_matrix(&self, x: ArrayView2<'_, f64>) -> Result<Vec<usize>> {
        self.check_dim(x.ncols())?;
        let (idx, _) = assign(x, row_sq_norms(x).view(), &self.centers);
        Ok(idx)
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

impl Predict for KMeansModel {
    /// A feature row.
    type Point<'a> = ArrayView1<'a, f64>;
    /// The index of the closest center.
    type Prediction = usize;
    type Record = Arc<InstanceBlock>;
    /// The closest center of each row of the block.
    type Output = Vec<usize>;

    fn predict(&self, x: ArrayView1<'_, f64>) -> Result<usize> {
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

    fn predict_dataset(&self, data: &Dataset<Arc<InstanceBlock>>) -> Dataset<Vec<usize>> {
        let c = data.context().broadcast(self.centers.clone());
        data.map(move |b| {
            let x = b.features.view();
            assign(x, row_sq_norms(x).view(), c.value()).0
        })
    }
}

impl Model for KMeansModel {
    const KIND: &'static str = "kmeans";

    fn training_summary(&self) -> &TrainingSummary {
        &self.summary.training
    }
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
    fn defaults_are_sparks() {
        // Spark ML `KMeans` (ml.clustering.KMeans): k = 2, maxIter = 20, tol = 1e-4,
        // initMode = "k-means||", initSteps = 2.
        let p = KMeansParams::default().check().unwrap();
        assert_eq!(p.k(), 2);
        assert_eq!(p.max_iter(), 20);
        assert_eq!(p.tol(), 1e-4);
        assert_eq!(p.init(), KMeansInit::KMeansParallel);
        assert_eq!(p.init_steps(), 2);
        assert_eq!(p.aggregation_depth(), 2);
        assert_eq!(KMeans::params(5).check().unwrap().k(), 5);
    }

    #[test]
    fn each_rule_has_its_error() {
        let p = || KMeans::params(2);
        assert_eq!(p().k(1).check(), Err(ParamError::K(1)));
        assert_eq!(p().k(0).check(), Err(ParamError::K(0)));
        assert_eq!(p().tol(-1.0).check(), Err(ParamError::Tol(-1.0)));
        assert_eq!(
            p().tol(f64::INFINITY).check(),
            Err(ParamError::Tol(f64::INFINITY))
        );
        assert!(matches!(p().tol(f64::NAN).check(), Err(ParamError::Tol(v)) if v.is_nan()));
        assert_eq!(p().init_steps(0).check(), Err(ParamError::InitSteps(0)));
        assert_eq!(
            p().aggregation_depth(0).check(),
            Err(ParamError::AggregationDepth(0))
        );
        // Boundary values pass.
        assert!(p()
            .tol(0.0)
            .max_iter(0)
            .init_steps(1)
            .aggregation_depth(1)
            .check()
            .is_ok());
        // The params type's fit checks before touching the data.
        let ctx = Context::local(1).unwrap();
        let data = blocks(&ctx, Array2::zeros((4, 2)));
        let e = KMeans::params(1).fit(&data).unwrap_err();
        assert!(matches!(e, MlError::InvalidParam(ParamError::K(1))), "{e}");
        assert_eq!(e.to_string(), "k must be > 1, got 1");
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
        let assigned: Vec<usize> = m.predict_dataset(&data).collect().unwrap().concat();
        let direct: Vec<usize> = [0.0, 0.1, 10.0, 10.1, 0.2, 10.2]
            .iter()
            .map(|&v| m.predict(ndarray::array![v].view()).unwrap())
            .collect();
        assert_eq!(assigned, direct);
        assert_ne!(direct[0], direct[2]);
        let m0 = KMeans::params(2).max_iter(0).fit(&data).unwrap();
        assert_eq!(m0.summary().training.iterations, 0);
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

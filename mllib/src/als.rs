//! Alternating least squares (Spark's `ALS`), blocked as Spark's is.
//!
//! Users are split into `num_user_blocks` blocks (`user % num_user_blocks`) and items into
//! `num_item_blocks`. Each block knows its ratings grouped by destination row (the
//! *in-block*) and, for every block of the other side, which of its factors that block needs
//! (the *out-block*). A half-iteration joins each source block's factors with its
//! out-block, ships to each destination block only the factors its ratings use, groups
//! them by destination block and solves one normal equation per row with Cholesky (or NNLS).
//!
//! Explicit mode is ALS-WR: the regularization of a row is `reg_param` times its number of
//! ratings. Implicit mode is Hu–Koren–Volinsky: confidence `1 + alpha·|r|`, preference
//! `r > 0`, with `YᵀY` computed once per half-iteration.

use std::sync::Arc;
use std::time::Instant;

use firesteel_core::{Context, Dataset, ModPartitioner, Partitioner};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::data::Rating;
use crate::error::{MlError, ParamError, Result};
use crate::estimator::{Fit, ParamGuard, Predict, Progress, TrainingSummary};
use crate::persist::Model;
use crate::util::{gaussian, rng};

/// The largest rank ALS takes. Each least-squares solve builds a `rank × rank` normal
/// matrix per thread (4096² doubles are 128 MiB) and costs `rank³`, so a larger rank would
/// exhaust memory or time before it helped; Spark sets no limit and fails on allocation.
pub const MAX_RANK: usize = 4096;

/// What to do with users or items not seen in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColdStartStrategy {
    /// Predict NaN (Spark's default).
    Nan,
    /// Drop such rows from the output.
    Drop,
}

/// Entry point: `Als::params()`.
#[derive(Debug, Clone, Copy)]
pub struct Als;

impl Als {
    /// Spark's defaults: rank 10, `max_iter` 10, `reg_param` 0.1, explicit, alpha 1,
    /// 10 user and 10 item blocks, checkpoint interval 10, factors unconstrained, cold
    /// start NaN.
    ///
    /// # Examples
    ///
    /// ```
    /// use firesteel_mllib::als::{Als, ColdStartStrategy};
    /// use firesteel_mllib::ParamGuard;
    ///
    /// let p = Als::params().check().unwrap();
    /// assert_eq!((p.rank(), p.max_iter(), p.reg_param()), (10, 10, 0.1));
    /// assert_eq!(p.cold_start_strategy(), ColdStartStrategy::Nan);
    /// ```
    pub fn params() -> AlsParams {
        // Spark's `ALS` defaults (ml.recommendation.ALS docs): rank 10, maxIter 10,
        // regParam 0.1, implicitPrefs false, alpha 1.0, nonnegative false, numUserBlocks
        // and numItemBlocks 10, checkpointInterval 10, coldStartStrategy "nan". Spark's
        // seed defaults to a hash of the class name; ours is a fixed 42.
        AlsParams(AlsValidParams {
            rank: 10,
            max_iter: 10,
            reg_param: 0.1,
            implicit_prefs: false,
            alpha: 1.0,
            nonnegative: false,
            seed: 42,
            num_user_blocks: 10,
            num_item_blocks: 10,
            checkpoint_interval: 10,
            cold_start_strategy: ColdStartStrategy::Nan,
        })
    }
}

/// ALS parameters (a builder), checked by [`ParamGuard`] into [`AlsValidParams`].
/// [`Fit`] checks them first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsParams(AlsValidParams);

/// Spark's defaults, as [`Als::params`].
impl Default for AlsParams {
    fn default() -> Self {
        Als::params()
    }
}

impl AlsParams {
    /// Number of latent factors (>= 1).
    pub fn rank(mut self, r: usize) -> Self {
        self.0.rank = r;
        self
    }
    /// Iterations (each updates items, then users).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    /// Regularization (finite, >= 0), scaled per row by its number of ratings.
    pub fn reg_param(mut self, r: f64) -> Self {
        self.0.reg_param = r;
        self
    }
    /// Implicit feedback mode.
    pub fn implicit_prefs(mut self, b: bool) -> Self {
        self.0.implicit_prefs = b;
        self
    }
    /// Confidence scale of implicit mode (finite, >= 0).
    pub fn alpha(mut self, a: f64) -> Self {
        self.0.alpha = a;
        self
    }
    /// Constrain factors to be non-negative (NNLS).
    pub fn nonnegative(mut self, b: bool) -> Self {
        self.0.nonnegative = b;
        self
    }
    /// Random seed of the initial factors.
    pub fn seed(mut self, s: u64) -> Self {
        self.0.seed = s;
        self
    }
    /// Number of user blocks and of item blocks (>= 1), as Spark's `setNumBlocks`.
    pub fn num_blocks(self, n: usize) -> Self {
        self.num_user_blocks(n).num_item_blocks(n)
    }
    /// Number of user blocks (>= 1).
    pub fn num_user_blocks(mut self, n: usize) -> Self {
        self.0.num_user_blocks = n;
        self
    }
    /// Number of item blocks (>= 1).
    pub fn num_item_blocks(mut self, n: usize) -> Self {
        self.0.num_item_blocks = n;
        self
    }
    /// Checkpoint the factors every this many iterations (-1: never; otherwise >= 1).
    pub fn checkpoint_interval(mut self, n: i64) -> Self {
        self.0.checkpoint_interval = n;
        self
    }
    /// The model's cold-start strategy.
    pub fn cold_start_strategy(mut self, s: ColdStartStrategy) -> Self {
        self.0.cold_start_strategy = s;
        self
    }
}

impl ParamGuard for AlsParams {
    type Checked = AlsValidParams;

    fn check_ref(&self) -> Result<&AlsValidParams, ParamError> {
        let p = &self.0;
        // Spark's rules: rank >= 1, maxIter >= 0 (a usize), regParam >= 0, alpha >= 0,
        // numUserBlocks and numItemBlocks >= 1, checkpointInterval -1 or >= 1.
        ParamError::Rank(p.rank).check()?;
        ParamError::RegParam(p.reg_param).check()?;
        ParamError::Alpha(p.alpha).check()?;
        ParamError::NumUserBlocks(p.num_user_blocks).check()?;
        ParamError::NumItemBlocks(p.num_item_blocks).check()?;
        ParamError::CheckpointInterval(p.checkpoint_interval).check()?;
        Ok(p)
    }

    fn check(self) -> Result<AlsValidParams, ParamError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// Checked ALS parameters: they [`Fit`] ratings into an [`AlsModel`].
///
/// # Examples
///
/// ```
/// use firesteel_mllib::als::Als;
/// use firesteel_mllib::{Fit, ParamGuard, Predict, Rating};
///
/// firesteel_core::example(|ctx| {
///     let r = |user, item, rating| Rating { user, item, rating };
///     let ratings = ctx.parallelize(vec![r(0, 0, 4.0), r(0, 1, 1.0), r(1, 0, 5.0)], 2);
///     let valid = Als::params().rank(2).reg_param(0.01).num_blocks(2).check().unwrap();
///     let model = valid.fit(&ratings).unwrap();
///     assert!((model.predict((0, 0)).unwrap() - 4.0).abs() < 0.5);
///     assert!(model.predict((7, 0)).unwrap().is_nan());
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsValidParams {
    rank: usize,
    max_iter: usize,
    reg_param: f64,
    implicit_prefs: bool,
    alpha: f64,
    nonnegative: bool,
    seed: u64,
    num_user_blocks: usize,
    num_item_blocks: usize,
    checkpoint_interval: i64,
    cold_start_strategy: ColdStartStrategy,
}

impl AlsValidParams {
    /// Number of latent factors.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// Iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Regularization.
    pub fn reg_param(&self) -> f64 {
        self.reg_param
    }
    /// Whether implicit feedback mode is on.
    pub fn implicit_prefs(&self) -> bool {
        self.implicit_prefs
    }
    /// Confidence scale of implicit mode.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// Whether factors are constrained to be non-negative.
    pub fn nonnegative(&self) -> bool {
        self.nonnegative
    }
    /// Random seed of the initial factors.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Number of user blocks.
    pub fn num_user_blocks(&self) -> usize {
        self.num_user_blocks
    }
    /// Number of item blocks.
    pub fn num_item_blocks(&self) -> usize {
        self.num_item_blocks
    }
    /// Checkpoint interval (-1: never).
    pub fn checkpoint_interval(&self) -> i64 {
        self.checkpoint_interval
    }
    /// The model's cold-start strategy.
    pub fn cold_start_strategy(&self) -> ColdStartStrategy {
        self.cold_start_strategy
    }
}

impl Fit<Rating> for AlsValidParams {
    type Model = AlsModel;

    /// Trains, reporting each iteration's time (ALS tracks no objective).
    fn fit_with_progress(
        &self,
        ratings: &Dataset<Rating>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<AlsModel> {
        let (nub, nib) = (self.num_user_blocks, self.num_item_blocks);
        let upart: Arc<dyn Partitioner<u32>> = Arc::new(ModPartitioner::new(nub));
        let ipart: Arc<dyn Partitioner<u32>> = Arc::new(ModPartitioner::new(nib));
        let t0 = Instant::now();
        let users = make_blocks(ratings, true, nub, nib, &upart);
        let items = make_blocks(ratings, false, nib, nub, &ipart);
        let n_user_blocks = users.count()?;
        items.count()?;
        if n_user_blocks == 0 {
            return Err(MlError::EmptyInput("ALS ratings".into()));
        }
        let rank = self.rank;
        let seed = self.seed;
        let mut user_f = users
            .map_values(move |b| init_factors(&b.ids, rank, seed, 0))
            .cache();
        let mut item_f = items
            .map_values(move |b| init_factors(&b.ids, rank, seed, 1))
            .cache();
        let mut training = TrainingSummary {
            setup_seconds: t0.elapsed().as_secs_f64(),
            ..TrainingSummary::default()
        };
        let solve = SolveParams {
            rank,
            reg: self.reg_param,
            implicit: self.implicit_prefs,
            alpha: self.alpha,
            nonnegative: self.nonnegative,
        };
        let mut since = Instant::now();
        for iter in 0..self.max_iter {
            let new_items = half_step(&user_f, &users, &items, &ipart, solve)?.cache();
            new_items.count()?;
            let _ = item_f.unpersist();
            item_f = new_items;
            let new_users = half_step(&item_f, &items, &users, &upart, solve)?.cache();
            new_users.count()?;
            let _ = user_f.unpersist();
            user_f = new_users;
            if self.checkpoint_interval > 0 && (iter + 1) % self.checkpoint_interval as usize == 0 {
                item_f = item_f.checkpoint()?;
                user_f = user_f.checkpoint()?;
            }
            training.record_iteration(&mut since, None, &mut progress);
        }
        let (user_ids, user_factors) = gather(&users, &user_f, rank)?;
        let (item_ids, item_factors) = gather(&items, &item_f, rank)?;
        Ok(AlsModel {
            rank,
            user_ids,
            user_factors,
            item_ids,
            item_factors,
            cold_start_strategy: self.cold_start_strategy,
            summary: training,
        })
    }
}

/// One block of one side: its ids, its in-block (ratings grouped by row, pointing into
/// the factor lists shipped by the other side's blocks) and its out-block.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SideBlock {
    /// Sorted ids of this block's rows.
    ids: Vec<u32>,
    /// CSR offsets into the rating arrays, one range per row.
    ptr: Vec<usize>,
    /// Source block of each rating.
    src_block: Vec<u32>,
    /// Position of the rating's source factor within the list that block ships here.
    src_pos: Vec<u32>,
    /// Rating values.
    rating: Vec<f32>,
    /// For each block of the other side, the local rows whose factors it needs.
    out: Vec<Vec<u32>>,
}

fn make_blocks(
    ratings: &Dataset<Rating>,
    by_user: bool,
    num_blocks: usize,
    num_other: usize,
    part: &Arc<dyn Partitioner<u32>>,
) -> Dataset<(u32, Arc<SideBlock>)> {
    let nb = num_blocks as u32;
    ratings
        .map(move |r| {
            let (own, _) = if by_user {
                (r.user, r.item)
            } else {
                (r.item, r.user)
            };
            (own % nb, r)
        })
        .group_by_key_with(part.clone())
        .map_values(move |mut rs: Vec<Rating>| {
            let key = |r: &Rating| {
                if by_user {
                    (r.user, r.item)
                } else {
                    (r.item, r.user)
                }
            };
            rs.sort_by_key(key);
            // Per other-side block: sorted distinct ids rated here (the shipped list).
            let mut lists: Vec<Vec<u32>> = vec![Vec::new(); num_other];
            for r in &rs {
                let o = key(r).1;
                lists[o as usize % num_other].push(o);
            }
            for l in lists.iter_mut() {
                l.sort_unstable();
                l.dedup();
            }
            let mut b = SideBlock {
                ids: Vec::new(),
                ptr: vec![0],
                src_block: Vec::with_capacity(rs.len()),
                src_pos: Vec::with_capacity(rs.len()),
                rating: Vec::with_capacity(rs.len()),
                out: Vec::new(),
            };
            for r in &rs {
                let (own, o) = key(r);
                if b.ids.last() != Some(&own) {
                    if !b.ids.is_empty() {
                        b.ptr.push(b.rating.len());
                    }
                    b.ids.push(own);
                }
                let ob = o as usize % num_other;
                b.src_block.push(ob as u32);
                b.src_pos
                    .push(lists[ob].binary_search(&o).expect("listed") as u32);
                b.rating.push(r.rating);
            }
            b.ptr.push(b.rating.len());
            // Out-block: local indices of own rows rated by each other-side block.
            let mut out: Vec<Vec<u32>> = vec![Vec::new(); num_other];
            let mut mark = vec![usize::MAX; num_other];
            for (local, w) in b.ptr.windows(2).enumerate() {
                for j in w[0]..w[1] {
                    let ob = b.src_block[j] as usize;
                    if mark[ob] != local {
                        mark[ob] = local;
                        out[ob].push(local as u32);
                    }
                }
            }
            b.out = out;
            Arc::new(b)
        })
        .cache()
}

/// Initial factors of a block's rows: Gaussian, normalized to unit length (as Spark's),
/// each row seeded by (seed, side, id) so that the start does not depend on the blocking.
fn init_factors(ids: &[u32], rank: usize, seed: u64, side: u64) -> Arc<Array2<f32>> {
    let mut f = Array2::zeros((ids.len(), rank));
    let base = seed ^ (side << 40) ^ 0x9e37_79b9_7f4a_7c15;
    for (&id, mut row) in ids.iter().zip(f.outer_iter_mut()) {
        let mut r = rng(base ^ u64::from(id).wrapping_mul(0xbf58_476d_1ce4_e5b9));
        let v: Vec<f64> = (0..rank).map(|_| gaussian(&mut r)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
        for (j, x) in v.iter().enumerate() {
            row[j] = (x / norm) as f32;
        }
    }
    Arc::new(f)
}

#[derive(Debug, Clone, Copy)]
struct SolveParams {
    rank: usize,
    reg: f64,
    implicit: bool,
    alpha: f64,
    nonnegative: bool,
}

type Factors = Dataset<(u32, Arc<Array2<f32>>)>;

/// Computes the destination side's factors from the source side's.
fn half_step(
    src_f: &Factors,
    src: &Dataset<(u32, Arc<SideBlock>)>,
    dst: &Dataset<(u32, Arc<SideBlock>)>,
    dst_part: &Arc<dyn Partitioner<u32>>,
    p: SolveParams,
) -> Result<Factors> {
    let yty: Option<Arc<Array2<f64>>> = if p.implicit {
        let k = p.rank;
        let m = src_f.tree_aggregate(
            Array2::<f64>::zeros((k, k)),
            |acc, (_, f)| {
                let f64m = f.mapv(f64::from);
                acc + f64m.t().dot(&f64m)
            },
            |a, b| a + b,
            2,
        )?;
        Some(Arc::new(m))
    } else {
        None
    };
    let msgs = src
        .join(src_f)
        .flat_map(|(sb, (blk, f))| {
            blk.out
                .iter()
                .enumerate()
                .filter(|(_, idx)| !idx.is_empty())
                .map(|(db, idx)| {
                    let rows: Vec<usize> = idx.iter().map(|&i| i as usize).collect();
                    (db as u32, (sb, Arc::new(f.select(Axis(0), &rows))))
                })
                .collect::<Vec<_>>()
        })
        .group_by_key_with(dst_part.clone());
    Ok(dst.join(&msgs).map_values(move |(blk, msgs)| {
        let mut by_block: Vec<Option<Arc<Array2<f32>>>> = Vec::new();
        for (sb, m) in msgs {
            let sb = sb as usize;
            if by_block.len() <= sb {
                by_block.resize(sb + 1, None);
            }
            by_block[sb] = Some(m);
        }
        solve_block(&blk, &by_block, yty.as_deref(), p)
    }))
}

fn solve_block(
    blk: &SideBlock,
    src: &[Option<Arc<Array2<f32>>>],
    yty: Option<&Array2<f64>>,
    p: SolveParams,
) -> Arc<Array2<f32>> {
    let k = p.rank;
    let mut out = Array2::<f32>::zeros((blk.ids.len(), k));
    let mut ata = vec![0.0f64; k * k];
    let mut atb = vec![0.0f64; k];
    let mut y = vec![0.0f64; k];
    for (row, w) in blk.ptr.windows(2).enumerate() {
        ata.iter_mut().for_each(|v| *v = 0.0);
        atb.iter_mut().for_each(|v| *v = 0.0);
        let mut n_explicit = 0usize;
        for j in w[0]..w[1] {
            let f = src[blk.src_block[j] as usize]
                .as_ref()
                .expect("factor shipped");
            let fr = f.row(blk.src_pos[j] as usize);
            for (t, v) in fr.iter().enumerate() {
                y[t] = f64::from(*v);
            }
            let r = f64::from(blk.rating[j]);
            let (c, b) = if p.implicit {
                let c1 = p.alpha * r.abs();
                if r > 0.0 {
                    n_explicit += 1;
                }
                (c1, if r > 0.0 { 1.0 + c1 } else { 0.0 })
            } else {
                n_explicit += 1;
                (1.0, r)
            };
            // Upper triangle of c·y·yᵀ, and b·y.
            for a in 0..k {
                let ya = c * y[a];
                let rowp = &mut ata[a * k..a * k + k];
                for bb in a..k {
                    rowp[bb] += ya * y[bb];
                }
                atb[a] += b * y[a];
            }
        }
        if let Some(yty) = yty {
            for a in 0..k {
                for bb in a..k {
                    ata[a * k + bb] += yty[[a, bb]];
                }
            }
        }
        for a in 0..k {
            for bb in 0..a {
                ata[a * k + bb] = ata[bb * k + a];
            }
        }
        let lambda = p.reg * n_explicit as f64;
        for a in 0..k {
            ata[a * k + a] += lambda;
        }
        let x = if p.nonnegative {
            nnls(&ata, &atb, k)
        } else {
            cholesky_solve(&mut ata, &atb, k)
        };
        for (t, v) in x.iter().enumerate() {
            out[[row, t]] = *v as f32;
        }
    }
    Arc::new(out)
}

/// Solves `A x = b` for symmetric positive definite `A` (row-major, overwritten by its
/// Cholesky factor). A singular matrix gets a tiny ridge.
pub(crate) fn cholesky_solve(a: &mut [f64], b: &[f64], k: usize) -> Vec<f64> {
    let orig = a.to_vec();
    let mut ridge = 0.0;
    loop {
        if ridge > 0.0 {
            a.copy_from_slice(&orig);
            for i in 0..k {
                a[i * k + i] += ridge;
            }
        }
        let mut ok = true;
        for j in 0..k {
            let mut s = a[j * k + j];
            for t in 0..j {
                s -= a[j * k + t] * a[j * k + t];
            }
            if s <= 0.0 || !s.is_finite() {
                ok = false;
                break;
            }
            let d = s.sqrt();
            a[j * k + j] = d;
            for i in j + 1..k {
                let mut s = a[i * k + j];
                for t in 0..j {
                    s -= a[i * k + t] * a[j * k + t];
                }
                a[i * k + j] = s / d;
            }
        }
        if ok {
            break;
        }
        ridge = if ridge == 0.0 { 1e-10 } else { ridge * 100.0 };
    }
    let mut z = b.to_vec();
    for i in 0..k {
        for t in 0..i {
            z[i] -= a[i * k + t] * z[t];
        }
        z[i] /= a[i * k + i];
    }
    for i in (0..k).rev() {
        for t in i + 1..k {
            z[i] -= a[t * k + i] * z[t];
        }
        z[i] /= a[i * k + i];
    }
    z
}

/// Minimizes `½ xᵀAx − bᵀx` subject to `x ≥ 0` (cyclic coordinate descent to
/// convergence; the problem is strictly convex for the regularized normal equations).
pub(crate) fn nnls(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut x = vec![0.0; k];
    for _ in 0..10_000 {
        let mut max_change: f64 = 0.0;
        for i in 0..k {
            let aii = a[i * k + i];
            if aii <= 0.0 {
                continue;
            }
            let mut g = -b[i];
            for j in 0..k {
                g += a[i * k + j] * x[j];
            }
            let new = (x[i] - g / aii).max(0.0);
            max_change = max_change.max((new - x[i]).abs() * aii.sqrt());
            x[i] = new;
        }
        if max_change < 1e-12 {
            break;
        }
    }
    x
}

fn gather(
    side: &Dataset<(u32, Arc<SideBlock>)>,
    f: &Factors,
    rank: usize,
) -> Result<(Vec<u32>, Array2<f32>)> {
    let mut rows: Vec<(u32, Vec<f32>)> = side
        .join(f)
        .flat_map(|(_, (b, f))| {
            b.ids
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, f.row(i).to_vec()))
                .collect::<Vec<_>>()
        })
        .collect()?;
    rows.sort_by_key(|r| r.0);
    let mut m = Array2::zeros((rows.len(), rank));
    for (i, (_, r)) in rows.iter().enumerate() {
        m.row_mut(i).assign(&ArrayView1::from(&r[..]));
    }
    Ok((rows.into_iter().map(|r| r.0).collect(), m))
}

/// A trained ALS model: user and item factors, sorted by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlsModel {
    rank: usize,
    user_ids: Vec<u32>,
    user_factors: Array2<f32>,
    item_ids: Vec<u32>,
    item_factors: Array2<f32>,
    cold_start_strategy: ColdStartStrategy,
    summary: TrainingSummary,
}

impl Model for AlsModel {
    const KIND: &'static str = "als";

    fn training_summary(&self) -> &TrainingSummary {
        &self.summary
    }
}

impl AlsModel {
    /// The rank.
    pub fn rank(&self) -> usize {
        self.rank
    }
    /// The training summary: iterations and timings (the setup builds the blocks and the
    /// initial factors).
    pub fn summary(&self) -> &TrainingSummary {
        &self.summary
    }
    /// The cold-start strategy.
    pub fn cold_start_strategy(&self) -> ColdStartStrategy {
        self.cold_start_strategy
    }
    /// Sets the cold-start strategy.
    pub fn set_cold_start_strategy(&mut self, s: ColdStartStrategy) {
        self.cold_start_strategy = s;
    }
    /// User ids (sorted) and their factors (one row each).
    pub fn user_factors(&self) -> (&[u32], &Array2<f32>) {
        (&self.user_ids, &self.user_factors)
    }
    /// Item ids (sorted) and their factors (one row each).
    pub fn item_factors(&self) -> (&[u32], &Array2<f32>) {
        (&self.item_ids, &self.item_factors)
    }
    /// The factor of `user`, if seen in training.
    pub fn user_factor(&self, user: u32) -> Option<ArrayView1<'_, f32>> {
        self.user_ids
            .binary_search(&user)
            .ok()
            .map(|i| self.user_factors.row(i))
    }
    /// The factor of `item`, if seen in training.
    pub fn item_factor(&self, item: u32) -> Option<ArrayView1<'_, f32>> {
        self.item_ids
            .binary_search(&item)
            .ok()
            .map(|i| self.item_factors.row(i))
    }
    /// Predicted rating; NaN for a user or item not seen in training.
    fn rating(&self, user: u32, item: u32) -> f32 {
        match (self.user_factor(user), self.item_factor(item)) {
            (Some(u), Some(v)) => u.dot(&v),
            _ => f32::NAN,
        }
    }
    /// Predictions for (user, item) pairs, as (user, item, prediction); unknown users or
    /// items get NaN, or are dropped under [`ColdStartStrategy::Drop`].
    pub fn predict_pairs(&self, pairs: &[(u32, u32)]) -> Vec<(u32, u32, f32)> {
        pairs
            .iter()
            .map(|&(u, i)| (u, i, self.rating(u, i)))
            .filter(|p| self.cold_start_strategy == ColdStartStrategy::Nan || !p.2.is_nan())
            .collect()
    }
    /// Root mean squared error on `ratings` (pairs without a prediction are skipped).
    pub fn rmse(&self, ratings: &Dataset<Rating>) -> Result<f64> {
        let (se, n) = self
            .predict_dataset(ratings)
            .filter(|p| !p.1.is_nan())
            .aggregate(
                (0.0f64, 0u64),
                |(s, n), (r, p)| {
                    let e = f64::from(r.rating) - f64::from(p);
                    (s + e * e, n + 1)
                },
                |a, b| (a.0 + b.0, a.1 + b.1),
            )?;
        if n == 0 {
            return Err(MlError::EmptyInput("ALS evaluation ratings".into()));
        }
        Ok((se / n as f64).sqrt())
    }
    /// The `k` items with the highest predicted rating for `user` (empty for an unknown
    /// user), best first; ties by item id.
    pub fn recommend_for_user(&self, user: u32, k: usize) -> Vec<(u32, f32)> {
        match self.user_factor(user) {
            Some(u) => top_k(&self.item_factors.dot(&u), &self.item_ids, k),
            None => Vec::new(),
        }
    }
    /// The top `k` items of every user, computed per partition of users with the item
    /// factors broadcast.
    pub fn recommend_for_all_users(
        &self,
        ctx: &Context,
        k: usize,
        num_partitions: usize,
    ) -> Result<Vec<(u32, Vec<(u32, f32)>)>> {
        let items = ctx.broadcast((self.item_ids.clone(), self.item_factors.clone()));
        let parts = num_partitions.max(1);
        let n = self.user_ids.len();
        let chunks: Vec<(Vec<u32>, Array2<f32>)> = (0..parts)
            .map(|p| {
                let (lo, hi) = (p * n / parts, (p + 1) * n / parts);
                (
                    self.user_ids[lo..hi].to_vec(),
                    self.user_factors.slice(ndarray::s![lo..hi, ..]).to_owned(),
                )
            })
            .collect();
        Ok(ctx
            .parallelize(chunks, parts)
            .flat_map(move |(ids, uf)| {
                let (iids, itf) = items.value();
                let scores = uf.dot(&itf.t());
                ids.iter()
                    .enumerate()
                    .map(|(r, &u)| (u, top_k(&scores.row(r).to_owned(), iids, k)))
                    .collect::<Vec<_>>()
            })
            .collect()?)
    }
}

impl Predict for AlsModel {
    /// A (user, item) pair.
    type Point<'a> = (u32, u32);
    /// The predicted rating: NaN for a user or item not seen in training.
    type Prediction = f32;
    type Record = Rating;
    /// The rating and its prediction; under [`ColdStartStrategy::Drop`], ratings whose
    /// user or item was not seen in training are dropped (Spark's `transform`).
    type Output = (Rating, f32);

    fn predict(&self, (user, item): (u32, u32)) -> Result<f32> {
        Ok(self.rating(user, item))
    }

    fn predict_dataset(&self, ratings: &Dataset<Rating>) -> Dataset<(Rating, f32)> {
        let m = ratings.context().broadcast(self.clone());
        let drop = self.cold_start_strategy == ColdStartStrategy::Drop;
        ratings
            .map(move |r| (r, m.value().rating(r.user, r.item)))
            .filter(move |p| !(drop && p.1.is_nan()))
    }
}

fn top_k(scores: &Array1<f32>, ids: &[u32], k: usize) -> Vec<(u32, f32)> {
    let mut v: Vec<(u32, f32)> = ids.iter().copied().zip(scores.iter().copied()).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(k);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_sparks() {
        // Spark ML `ALS` (ml.recommendation.ALS): rank = 10, maxIter = 10, regParam = 0.1,
        // alpha = 1.0, implicitPrefs = false, numUserBlocks = numItemBlocks = 10,
        // nonnegative = false, checkpointInterval = 10, coldStartStrategy = "nan".
        let p = AlsParams::default().check().unwrap();
        assert_eq!(p.rank(), 10);
        assert_eq!(p.max_iter(), 10);
        assert_eq!(p.reg_param(), 0.1);
        assert_eq!(p.alpha(), 1.0);
        assert!(!p.implicit_prefs());
        assert_eq!((p.num_user_blocks(), p.num_item_blocks()), (10, 10));
        assert!(!p.nonnegative());
        assert_eq!(p.checkpoint_interval(), 10);
        assert_eq!(p.cold_start_strategy(), ColdStartStrategy::Nan);
        let b = Als::params().num_blocks(3).check().unwrap();
        assert_eq!((b.num_user_blocks(), b.num_item_blocks()), (3, 3));
    }

    #[test]
    fn each_rule_has_its_error() {
        let p = Als::params;
        assert_eq!(p().rank(0).check(), Err(ParamError::Rank(0)));
        assert!(p().rank(MAX_RANK).check().is_ok());
        let past = p().rank(MAX_RANK + 1).check().unwrap_err();
        assert_eq!(
            past.to_string(),
            format!("rank must be from 1 to {MAX_RANK}, got 4097")
        );
        assert_eq!(p().reg_param(-1.0).check(), Err(ParamError::RegParam(-1.0)));
        assert!(matches!(
            p().reg_param(f64::NAN).check(),
            Err(ParamError::RegParam(v)) if v.is_nan()
        ));
        assert_eq!(p().alpha(-1.0).check(), Err(ParamError::Alpha(-1.0)));
        assert_eq!(
            p().alpha(f64::INFINITY).check(),
            Err(ParamError::Alpha(f64::INFINITY))
        );
        assert_eq!(
            p().num_user_blocks(0).check(),
            Err(ParamError::NumUserBlocks(0))
        );
        assert_eq!(
            p().num_item_blocks(0).check(),
            Err(ParamError::NumItemBlocks(0))
        );
        assert_eq!(p().num_blocks(0).check(), Err(ParamError::NumUserBlocks(0)));
        assert_eq!(
            p().checkpoint_interval(0).check(),
            Err(ParamError::CheckpointInterval(0))
        );
        assert_eq!(
            p().checkpoint_interval(-2).check(),
            Err(ParamError::CheckpointInterval(-2))
        );
        // Boundary values pass.
        assert!(p().checkpoint_interval(-1).check().is_ok());
        let edge = p().rank(1).max_iter(0).reg_param(0.0).alpha(0.0);
        assert!(edge.num_blocks(1).checkpoint_interval(1).check().is_ok());
        // The params type's fit checks before touching the data.
        let ctx = firesteel_core::Context::local(1).unwrap();
        let ratings = ctx.parallelize(Vec::<Rating>::new(), 1);
        assert!(matches!(
            p().rank(0).fit(&ratings),
            Err(MlError::InvalidParam(ParamError::Rank(0)))
        ));
    }

    #[test]
    fn cholesky_solves_spd_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] -> x = [0.5, 0].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let x = cholesky_solve(&mut a, &[2.0, 1.0], 2);
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
    }

    #[test]
    fn nnls_satisfies_kkt() {
        // A = [[2, 1], [1, 2]], b = [-1, 3]: unconstrained x = [-5/3, 7/3]; constrained
        // optimum x = [0, 1.5] (gradient at it: [1.5 + 1, 0] >= 0).
        let a = [2.0, 1.0, 1.0, 2.0];
        let x = nnls(&a, &[-1.0, 3.0], 2);
        assert!(x[0].abs() < 1e-9 && (x[1] - 1.5).abs() < 1e-9, "{x:?}");
        // Without active constraints it is the plain solution.
        let x = nnls(&a, &[3.0, 3.0], 2);
        assert!(
            (x[0] - 1.0).abs() < 1e-9 && (x[1] - 1.0).abs() < 1e-9,
            "{x:?}"
        );
    }
}

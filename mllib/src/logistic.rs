//! Logistic regression (Spark's `LogisticRegression`): binomial and multinomial families,
//! L2 through L-BFGS and L1 / elastic net through OWL-QN.
//!
//! As in Spark, the objective is the weighted mean log loss plus
//! `0.5·reg·(1−α)·||w||² + reg·α·||w||₁` (the intercept is not regularized). Training runs
//! in standardized space (features divided by their standard deviation, and virtually
//! centered when an intercept is fitted, which does not change the optimum), and the
//! coefficients are reported in the original space.

use std::sync::Arc;
use std::time::Instant;

use firesteel_core::Dataset;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::data::InstanceBlock;
use crate::error::{MlError, ParamError, Result};
use crate::estimator::{Fit, ParamGuard, Predict, Progress, TrainingSummary};
use crate::optim::{minimize, LbfgsConfig, StopReason};
use crate::persist::Model;

/// The model family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    /// Binomial for at most two classes, multinomial otherwise.
    Auto,
    /// Binary logistic regression (one coefficient vector, one intercept).
    Binomial,
    /// Softmax regression (one coefficient vector and intercept per class).
    Multinomial,
}

/// Entry point: `LogisticRegression::params()`.
#[derive(Debug, Clone, Copy)]
pub struct LogisticRegression;

impl LogisticRegression {
    /// Parameters with Spark's defaults: `max_iter` 100, `tol` 1e-6, no regularization,
    /// intercept fitted, standardization on, threshold 0.5, family auto, aggregation depth
    /// 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use firesteel_mllib::logistic::LogisticRegression;
    /// use firesteel_mllib::ParamGuard;
    ///
    /// let p = LogisticRegression::params().check().unwrap();
    /// assert_eq!((p.max_iter(), p.tol(), p.threshold()), (100, 1e-6, 0.5));
    /// ```
    pub fn params() -> LogisticRegressionParams {
        // Spark's `LogisticRegression` defaults (ml.classification.LogisticRegression
        // docs): maxIter 100, regParam 0, elasticNetParam 0, tol 1e-6, fitIntercept
        // true, standardization true, threshold 0.5, family "auto", aggregationDepth 2.
        LogisticRegressionParams(LogisticRegressionValidParams {
            max_iter: 100,
            tol: 1e-6,
            reg_param: 0.0,
            elastic_net_param: 0.0,
            fit_intercept: true,
            standardization: true,
            threshold: 0.5,
            family: Family::Auto,
            aggregation_depth: 2,
        })
    }
}

/// Logistic regression parameters (a builder), checked by [`ParamGuard`] into
/// [`LogisticRegressionValidParams`]. [`Fit`] checks them first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionParams(LogisticRegressionValidParams);

/// Spark's defaults, as [`LogisticRegression::params`].
impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegression::params()
    }
}

impl LogisticRegressionParams {
    /// Most optimizer iterations.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.0.max_iter = n;
        self
    }
    /// Convergence tolerance (finite, >= 0).
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.tol = tol;
        self
    }
    /// Regularization strength (finite, >= 0).
    pub fn reg_param(mut self, r: f64) -> Self {
        self.0.reg_param = r;
        self
    }
    /// Elastic-net mixing, in [0, 1]: 0 is L2, 1 is L1.
    pub fn elastic_net_param(mut self, a: f64) -> Self {
        self.0.elastic_net_param = a;
        self
    }
    /// Whether to fit intercepts.
    pub fn fit_intercept(mut self, b: bool) -> Self {
        self.0.fit_intercept = b;
        self
    }
    /// Whether to standardize features before training (the penalty then applies to
    /// standardized coefficients, as in Spark).
    pub fn standardization(mut self, b: bool) -> Self {
        self.0.standardization = b;
        self
    }
    /// Binomial decision threshold on the positive-class probability, in [0, 1].
    pub fn threshold(mut self, t: f64) -> Self {
        self.0.threshold = t;
        self
    }
    /// The family.
    pub fn family(mut self, f: Family) -> Self {
        self.0.family = f;
        self
    }
    /// Depth of the `tree_aggregate` combining partition gradients (>= 1).
    pub fn aggregation_depth(mut self, d: usize) -> Self {
        self.0.aggregation_depth = d;
        self
    }
}

impl ParamGuard for LogisticRegressionParams {
    type Checked = LogisticRegressionValidParams;

    fn check_ref(&self) -> Result<&LogisticRegressionValidParams, ParamError> {
        let p = &self.0;
        // Spark's rules: maxIter >= 0 (a usize), tol >= 0, regParam >= 0,
        // elasticNetParam and threshold in [0, 1]. Spark's aggregationDepth param asks
        // for >= 2, but its treeAggregate (and ours) works from depth 1, a flat
        // aggregation, which we allow.
        ParamError::Tol(p.tol).check()?;
        ParamError::RegParam(p.reg_param).check()?;
        ParamError::ElasticNetParam(p.elastic_net_param).check()?;
        ParamError::Threshold(p.threshold).check()?;
        ParamError::AggregationDepth(p.aggregation_depth).check()?;
        Ok(p)
    }

    fn check(self) -> Result<LogisticRegressionValidParams, ParamError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// Checked logistic regression parameters: they [`Fit`] cached blocks, whose labels must
/// be class indices 0, 1, 2, ..., into a [`LogisticRegressionModel`].
///
/// # Examples
///
/// ```
/// use firesteel_mllib::logistic::LogisticRegression;
/// use firesteel_mllib::{data, Fit, ParamGuard};
///
/// firesteel_core::example(|ctx| {
///     let x = ndarray::array![[0.0], [1.0], [3.0], [4.0]];
///     let y = ndarray::array![0.0, 0.0, 1.0, 1.0];
///     let blocks = data::to_blocks(ctx, &x, &y, None, 2, 1024);
///     let valid = LogisticRegression::params().reg_param(0.1).check().unwrap();
///     let model = valid.fit(&blocks).unwrap();
///     assert_eq!(model.summary().accuracy, 1.0);
/// });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionValidParams {
    max_iter: usize,
    tol: f64,
    reg_param: f64,
    elastic_net_param: f64,
    fit_intercept: bool,
    standardization: bool,
    threshold: f64,
    family: Family,
    aggregation_depth: usize,
}

impl LogisticRegressionValidParams {
    /// Most optimizer iterations.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }
    /// Convergence tolerance.
    pub fn tol(&self) -> f64 {
        self.tol
    }
    /// Regularization strength.
    pub fn reg_param(&self) -> f64 {
        self.reg_param
    }
    /// Elastic-net mixing.
    pub fn elastic_net_param(&self) -> f64 {
        self.elastic_net_param
    }
    /// Whether intercepts are fitted.
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }
    /// Whether features are standardized.
    pub fn standardization(&self) -> bool {
        self.standardization
    }
    /// Binomial decision threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }
    /// Depth of the `tree_aggregate` combining partition gradients.
    pub fn aggregation_depth(&self) -> usize {
        self.aggregation_depth
    }
}

impl Fit<Arc<InstanceBlock>> for LogisticRegressionValidParams {
    type Model = LogisticRegressionModel;

    /// Trains, reporting the objective after each optimizer iteration.
    fn fit_with_progress(
        &self,
        data: &Dataset<Arc<InstanceBlock>>,
        mut progress: impl FnMut(&Progress),
    ) -> Result<LogisticRegressionModel> {
        let setup_start = Instant::now();
        let stats = summarize(data, self.aggregation_depth)?;
        let num_classes = stats.histogram.len();
        let multinomial = match self.family {
            Family::Auto => num_classes > 2,
            Family::Binomial => {
                if num_classes > 2 {
                    return Err(MlError::BinomialWithMoreClasses(num_classes));
                }
                false
            }
            Family::Multinomial => true,
        };
        let d = stats.mean.len();
        let inv_std: Array1<f64> = stats.std.mapv(|s| if s > 0.0 { 1.0 / s } else { 0.0 });
        let scaled_mean: Array1<f64> = if self.fit_intercept {
            &stats.mean * &inv_std
        } else {
            Array1::zeros(d)
        };
        let k = if multinomial { num_classes.max(2) } else { 1 };
        // Binomial with one class present: the optimum is at infinity (Spark's shortcut).
        if !multinomial && self.fit_intercept {
            let h0 = stats.histogram.first().copied().unwrap_or(0.0);
            let h1 = stats.histogram.get(1).copied().unwrap_or(0.0);
            if h0 == 0.0 || h1 == 0.0 {
                let intercept = if h1 == 0.0 {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                // Nothing to iterate: the optimum is known, so training has converged.
                let training = TrainingSummary {
                    converged: true,
                    setup_seconds: setup_start.elapsed().as_secs_f64(),
                    ..TrainingSummary::default()
                };
                return self.model(
                    Array2::zeros((1, d)),
                    Array1::from(vec![intercept]),
                    2,
                    false,
                    training,
                    data,
                );
            }
        }
        let nb = if self.fit_intercept { k } else { 0 };
        let n_params = k * d + nb;
        let mut x0 = vec![0.0; n_params];
        if self.fit_intercept {
            if multinomial {
                let raw: Vec<f64> = (0..k)
                    .map(|c| stats.histogram.get(c).copied().unwrap_or(0.0).ln_1p())
                    .collect();
                let mean = raw.iter().sum::<f64>() / k as f64;
                for c in 0..k {
                    x0[k * d + c] = raw[c] - mean;
                }
            } else {
                x0[d] = (stats.histogram[1] / stats.histogram[0]).ln();
            }
        }
        let reg_l1 = self.reg_param * self.elastic_net_param;
        let reg_l2 = self.reg_param * (1.0 - self.elastic_net_param);
        // Per-feature penalty scale: 1 in standardized space, or 1/σ to penalize the
        // original-space coefficients when standardization is off.
        let pen_scale: Array1<f64> = if self.standardization {
            Array1::ones(d)
        } else {
            inv_std.clone()
        };
        let objective = Objective {
            data: data.clone(),
            inv_std: inv_std.clone(),
            scaled_mean: scaled_mean.clone(),
            num_classes: k,
            multinomial,
            fit_intercept: self.fit_intercept,
            weight_sum: stats.weight_sum,
            reg_l2,
            pen_scale: pen_scale.clone(),
            depth: self.aggregation_depth,
        };
        let l1 = if reg_l1 > 0.0 {
            let mut w = vec![0.0; n_params];
            for c in 0..k {
                for j in 0..d {
                    w[c * d + j] = reg_l1 * pen_scale[j];
                }
            }
            Some(w)
        } else {
            None
        };
        let config = LbfgsConfig {
            max_iter: self.max_iter,
            m: 10,
            tol: self.tol,
            l1,
        };
        let mut training = TrainingSummary {
            setup_seconds: setup_start.elapsed().as_secs_f64(),
            ..TrainingSummary::default()
        };
        let mut since = Instant::now();
        let res = minimize(
            |x| objective.value_and_grad(x),
            x0,
            &config,
            |iteration, value| {
                training.record_iteration(&mut since, Some(value), &mut progress);
                debug_assert_eq!(training.iterations, iteration);
            },
        )?;
        training.converged = matches!(
            res.reason,
            StopReason::FunctionValuesConverged | StopReason::GradientConverged
        );
        training.objective_history = res.objective_history;
        // Back to the original space.
        let mut coef = Array2::zeros((k, d));
        let mut intercepts = Array1::zeros(k);
        for c in 0..k {
            let w = ArrayView1::from(&res.x[c * d..(c + 1) * d]);
            for j in 0..d {
                coef[[c, j]] = w[j] * inv_std[j];
            }
            if self.fit_intercept {
                intercepts[c] = res.x[k * d + c] - w.dot(&scaled_mean);
            }
        }
        if multinomial {
            if self.reg_param == 0.0 {
                let means = coef.mean_axis(Axis(0)).expect("k > 0");
                for mut row in coef.outer_iter_mut() {
                    row -= &means;
                }
            }
            if self.fit_intercept {
                let m = intercepts.mean().unwrap_or(0.0);
                intercepts -= m;
            }
        }
        self.model(
            coef,
            intercepts,
            num_classes.max(2),
            multinomial,
            training,
            data,
        )
    }
}

impl LogisticRegressionValidParams {
    /// The model, with its training accuracy and (binomial) area under ROC.
    fn model(
        &self,
        coefficients: Array2<f64>,
        intercepts: Array1<f64>,
        num_classes: usize,
        multinomial: bool,
        training: TrainingSummary,
        data: &Dataset<Arc<InstanceBlock>>,
    ) -> Result<LogisticRegressionModel> {
        let mut model = LogisticRegressionModel {
            coefficients,
            intercepts,
            num_classes,
            multinomial,
            threshold: self.threshold,
            summary: LogisticRegressionSummary {
                training,
                accuracy: f64::NAN,
                area_under_roc: None,
            },
        };
        (model.summary.accuracy, model.summary.area_under_roc) = model.evaluate(data)?;
        Ok(model)
    }
}

/// Weighted label histogram, feature means and (unbiased) standard deviations.
struct Stats {
    histogram: Vec<f64>,
    weight_sum: f64,
    mean: Array1<f64>,
    std: Array1<f64>,
}

fn summarize(data: &Dataset<Arc<InstanceBlock>>, depth: usize) -> Result<Stats> {
    type Acc = (
        Vec<f64>,
        f64,
        f64,
        Option<Array1<f64>>,
        Result<(), f64>,
        usize,
    );
    let zero: Acc = (Vec::new(), 0.0, 0.0, None, Ok(()), 0);
    let first: Acc = data.tree_aggregate(
        zero,
        |(mut h, mut ws, mut wss, mut sx, mut bad, mut dim): Acc, b: Arc<InstanceBlock>| {
            if b.is_empty() {
                return (h, ws, wss, sx, bad, dim);
            }
            dim = b.num_features();
            for (&l, &w) in b.labels.iter().zip(b.weights.iter()) {
                if !(l.is_finite() && l >= 0.0 && l.fract() == 0.0 && l < 1e6) {
                    bad = Err(l);
                    continue;
                }
                let c = l as usize;
                if h.len() <= c {
                    h.resize(c + 1, 0.0);
                }
                h[c] += w;
                ws += w;
                wss += w * w;
            }
            let s = b.features.t().dot(&b.weights);
            sx = Some(match sx {
                Some(a) if a.len() == s.len() => a + s,
                Some(a) => {
                    bad = Err(f64::NAN);
                    a
                }
                None => s,
            });
            (h, ws, wss, sx, bad, dim)
        },
        |a, b| {
            let mut h = a.0;
            if h.len() < b.0.len() {
                h.resize(b.0.len(), 0.0);
            }
            for (i, v) in b.0.iter().enumerate() {
                h[i] += v;
            }
            let sx = match (a.3, b.3) {
                (Some(x), Some(y)) if x.len() == y.len() => Some(x + y),
                (Some(x), None) | (None, Some(x)) => Some(x),
                (x, _) => x,
            };
            (h, a.1 + b.1, a.2 + b.2, sx, a.4.and(b.4), a.5.max(b.5))
        },
        depth,
    )?;
    let (histogram, weight_sum, wsq, sx, bad, _) = first;
    if let Err(l) = bad {
        return Err(MlError::InvalidLabel(l));
    }
    let Some(sx) = sx else {
        return Err(MlError::EmptyInput(
            "logistic regression training data".into(),
        ));
    };
    if weight_sum <= 0.0 {
        return Err(MlError::EmptyInput(
            "logistic regression training data".into(),
        ));
    }
    let mean = sx / weight_sum;
    let bm = data.context().broadcast(mean.clone());
    let m2: Array1<f64> = data.tree_aggregate(
        Array1::zeros(mean.len()),
        move |acc, b| {
            let c = &b.features - bm.value();
            let sq = c.mapv(|v| v * v);
            acc + sq.t().dot(&b.weights)
        },
        |a, b| a + b,
        depth,
    )?;
    let denom = weight_sum - wsq / weight_sum;
    let std = if denom > 0.0 {
        m2.mapv(|v| (v / denom).max(0.0).sqrt())
    } else {
        Array1::zeros(mean.len())
    };
    Ok(Stats {
        histogram,
        weight_sum,
        mean,
        std,
    })
}

/// The loss over the blocks, in standardized (and virtually centered) space.
pub(crate) struct Objective {
    data: Dataset<Arc<InstanceBlock>>,
    inv_std: Array1<f64>,
    scaled_mean: Array1<f64>,
    num_classes: usize,
    multinomial: bool,
    fit_intercept: bool,
    weight_sum: f64,
    reg_l2: f64,
    pen_scale: Array1<f64>,
    depth: usize,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct LossAcc {
    loss: f64,
    grad: Array2<f64>,
    mult_sum: Array1<f64>,
}

fn log1p_exp(m: f64) -> f64 {
    if m > 0.0 {
        m + (-m).exp().ln_1p()
    } else {
        m.exp().ln_1p()
    }
}

impl Objective {
    /// Value and gradient at `x` (coefficients class-major, then intercepts).
    pub(crate) fn value_and_grad(&self, x: &[f64]) -> Result<(f64, Vec<f64>)> {
        let k = self.num_classes;
        let d = self.inv_std.len();
        // Original-space coefficients and margin offsets.
        let mut beta = Array2::zeros((k, d));
        let mut offset = Array1::zeros(k);
        for c in 0..k {
            let w = ArrayView1::from(&x[c * d..(c + 1) * d]);
            beta.row_mut(c).assign(&(&w * &self.inv_std));
            if self.fit_intercept {
                offset[c] = x[k * d + c] - w.dot(&self.scaled_mean);
            }
        }
        let multinomial = self.multinomial;
        let bc = self.data.context().broadcast((beta, offset));
        let zero = LossAcc {
            loss: 0.0,
            grad: Array2::zeros((k, d)),
            mult_sum: Array1::zeros(k),
        };
        let acc = self.data.tree_aggregate(
            zero,
            move |mut acc, b| {
                if b.is_empty() {
                    return acc;
                }
                let (beta, offset) = bc.value();
                if multinomial {
                    multinomial_block(&b, beta, offset, &mut acc);
                } else {
                    binary_block(&b, beta, offset[0], &mut acc);
                }
                acc
            },
            |mut a, b| {
                a.loss += b.loss;
                a.grad += &b.grad;
                a.mult_sum += &b.mult_sum;
                a
            },
            self.depth,
        )?;
        let ws = self.weight_sum;
        let mut loss = acc.loss / ws;
        let mut grad = vec![0.0; x.len()];
        for c in 0..k {
            for j in 0..d {
                let mut g = acc.grad[[c, j]] * self.inv_std[j] / ws;
                if self.fit_intercept {
                    g -= self.scaled_mean[j] * acc.mult_sum[c] / ws;
                }
                let w = x[c * d + j];
                let s2 = self.pen_scale[j] * self.pen_scale[j];
                loss += 0.5 * self.reg_l2 * w * w * s2;
                g += self.reg_l2 * w * s2;
                grad[c * d + j] = g;
            }
            if self.fit_intercept {
                grad[k * d + c] = acc.mult_sum[c] / ws;
            }
        }
        Ok((loss, grad))
    }
}

fn binary_block(b: &InstanceBlock, beta: &Array2<f64>, offset: f64, acc: &mut LossAcc) {
    let margins = b.features.dot(&beta.row(0));
    let mut mult = Array1::zeros(b.len());
    let mut sum = 0.0;
    for i in 0..b.len() {
        let w = b.weights[i];
        if w == 0.0 {
            continue;
        }
        let m = margins[i] + offset;
        let y = b.labels[i];
        acc.loss += w * (log1p_exp(m) - y * m);
        let p = 1.0 / (1.0 + (-m).exp());
        mult[i] = w * (p - y);
        sum += mult[i];
    }
    let g = b.features.t().dot(&mult);
    let mut row = acc.grad.row_mut(0);
    row += &g;
    acc.mult_sum[0] += sum;
}

fn multinomial_block(
    b: &InstanceBlock,
    beta: &Array2<f64>,
    offset: &Array1<f64>,
    acc: &mut LossAcc,
) {
    let k = beta.nrows();
    let mut m = b.features.dot(&beta.t());
    for mut row in m.outer_iter_mut() {
        row += offset;
    }
    for (i, mut row) in m.outer_iter_mut().enumerate() {
        let w = b.weights[i];
        let y = b.labels[i] as usize;
        if w == 0.0 {
            row.fill(0.0);
            continue;
        }
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut sum = 0.0;
        for v in row.iter() {
            sum += (v - max).exp();
        }
        let lse = max + sum.ln();
        acc.loss += w * (lse - if y < k { row[y] } else { 0.0 });
        for (c, v) in row.iter_mut().enumerate() {
            let p = (*v - lse).exp();
            *v = w * (p - if c == y { 1.0 } else { 0.0 });
        }
    }
    acc.grad += &m.t().dot(&b.features);
    acc.mult_sum += &m.sum_axis(Axis(0));
}

/// Training summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionSummary {
    /// Optimizer iterations, convergence, the objective (loss plus penalty) at each
    /// optimizer state starting with the initial one, and timings (the setup computes the
    /// feature statistics).
    pub training: TrainingSummary,
    /// Training accuracy.
    pub accuracy: f64,
    /// Training area under ROC (binomial only).
    pub area_under_roc: Option<f64>,
}

/// A trained logistic regression model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionModel {
    coefficients: Array2<f64>,
    intercepts: Array1<f64>,
    num_classes: usize,
    multinomial: bool,
    threshold: f64,
    summary: LogisticRegressionSummary,
}

impl Model for LogisticRegressionModel {
    const KIND: &'static str = "logistic_regression";

    fn training_summary(&self) -> &TrainingSummary {
        &self.summary.training
    }
}

impl LogisticRegressionModel {
    /// Binomial coefficients (the single row of the coefficient matrix).
    pub fn coefficients(&self) -> ArrayView1<'_, f64> {
        self.coefficients.row(0)
    }
    /// Coefficient matrix: one row per class (multinomial) or a single row (binomial).
    pub fn coefficient_matrix(&self) -> &Array2<f64> {
        &self.coefficients
    }
    /// Binomial intercept.
    pub fn intercept(&self) -> f64 {
        self.intercepts[0]
    }
    /// Intercepts, one per class (multinomial) or one (binomial).
    pub fn intercepts(&self) -> &Array1<f64> {
        &self.intercepts
    }
    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }
    /// Whether the model is multinomial.
    pub fn is_multinomial(&self) -> bool {
        self.multinomial
    }
    /// The binomial threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    /// Sets the binomial threshold.
    ///
    /// # Errors
    /// [`ParamError::Threshold`] unless `t` is in [0, 1].
    pub fn set_threshold(&mut self, t: f64) -> Result<(), ParamError> {
        ParamError::Threshold(t).check()?;
        self.threshold = t;
        Ok(())
    }
    /// The training summary.
    pub fn summary(&self) -> &LogisticRegressionSummary {
        &self.summary
    }

    /// Class probabilities of each row (`num_classes` columns).
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict_probability_matrix(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        if x.ncols() != self.coefficients.ncols() {
            return Err(MlError::DimensionMismatch {
                expected: self.coefficients.ncols(),
                got: x.ncols(),
            });
        }
        let mut m = x.dot(&self.coefficients.t());
        for mut row in m.outer_iter_mut() {
            row += &self.intercepts;
        }
        if !self.multinomial {
            let mut out = Array2::zeros((x.nrows(), 2));
            for (i, &v) in m.column(0).iter().enumerate() {
                let p = 1.0 / (1.0 + (-v).exp());
                out[[i, 0]] = 1.0 - p;
                out[[i, 1]] = p;
            }
            return Ok(out);
        }
        for mut row in m.outer_iter_mut() {
            let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            row.mapv_inplace(|v| (v - max).exp());
            let s = row.sum();
            row /= s;
        }
        Ok(m)
    }

    /// Class probabilities of one row.
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict_probability(&self, x: ArrayView1<'_, f64>) -> Result<Vec<f64>> {
        let m = x.insert_axis(Axis(0));
        Ok(self.predict_probability_matrix(m)?.row(0).to_vec())
    }

    /// Predicted class of each row: the positive class when its probability exceeds the
    /// threshold (binomial), or the most probable class (multinomial).
    ///
    /// # Errors
    /// If `x` has the wrong width.
    pub fn predict_matrix(&self, x: ArrayView2<'_, f64>) -> Result<Vec<f64>> {
        let p = self.predict_probability_matrix(x)?;
        Ok(p.outer_iter()
            .map(|row| {
                if !self.multinomial {
                    if row[1] > self.threshold {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    let mut best = 0;
                    for c in 1..row.len() {
                        if row[c] > row[best] {
                            best = c;
                        }
                    }
                    best as f64
                }
            })
            .collect())
    }

    /// (positive-class probability or predicted class, prediction, label, weight) of every
    /// instance, in dataset order: the input of the [`evaluation`](crate::evaluation)
    /// metrics.
    pub fn scores(&self, data: &Dataset<Arc<InstanceBlock>>) -> Result<Vec<(f64, f64, f64, f64)>> {
        let model = data.context().broadcast(self.clone());
        let parts: Vec<Vec<(f64, f64, f64, f64)>> = data
            .map(move |b| {
                let m = model.value();
                let p = m
                    .predict_probability_matrix(b.features.view())
                    .unwrap_or_else(|_| Array2::from_elem((b.len(), m.num_classes), f64::NAN));
                let pred = m.predict_matrix(b.features.view()).unwrap_or_default();
                (0..b.len())
                    .map(|i| {
                        let s = if m.multinomial { pred[i] } else { p[[i, 1]] };
                        (
                            s,
                            pred.get(i).copied().unwrap_or(f64::NAN),
                            b.labels[i],
                            b.weights[i],
                        )
                    })
                    .collect()
            })
            .collect()?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// Accuracy and (binomial) area under ROC on `data`.
    pub fn evaluate(&self, data: &Dataset<Arc<InstanceBlock>>) -> Result<(f64, Option<f64>)> {
        let s = self.scores(data)?;
        if s.is_empty() {
            return Err(MlError::EmptyInput("evaluation data".into()));
        }
        let pred: Vec<f64> = s.iter().map(|r| r.1).collect();
        let label: Vec<f64> = s.iter().map(|r| r.2).collect();
        let acc = crate::evaluation::accuracy(&pred, &label);
        let auc = if self.multinomial {
            None
        } else {
            let score: Vec<f64> = s.iter().map(|r| r.0).collect();
            let w: Vec<f64> = s.iter().map(|r| r.3).collect();
            Some(crate::evaluation::area_under_roc(&score, &label, Some(&w)))
        };
        Ok((acc, auc))
    }
}

impl Predict for LogisticRegressionModel {
    /// A feature row.
    type Point<'a> = ArrayView1<'a, f64>;
    /// The predicted class (see [`predict_matrix`](LogisticRegressionModel::predict_matrix)).
    type Prediction = f64;
    type Record = Arc<InstanceBlock>;
    /// The predicted class of each row of the block (NaN for a block of the wrong width).
    type Output = Vec<f64>;

    fn predict(&self, x: ArrayView1<'_, f64>) -> Result<f64> {
        Ok(self.predict_matrix(x.insert_axis(Axis(0)))?[0])
    }

    fn predict_dataset(&self, data: &Dataset<Arc<InstanceBlock>>) -> Dataset<Vec<f64>> {
        let model = data.context().broadcast(self.clone());
        data.map(move |b| {
            model
                .value()
                .predict_matrix(b.features.view())
                .unwrap_or_else(|_| vec![f64::NAN; b.len()])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::{gaussian, rng};
    use firesteel_core::Context;

    fn random_blocks(
        ctx: &Context,
        n: usize,
        d: usize,
        classes: usize,
    ) -> Dataset<Arc<InstanceBlock>> {
        let mut r = rng(7);
        let x = Array2::from_shape_fn((n, d), |(_, j)| {
            gaussian(&mut r) * (j + 1) as f64 + j as f64
        });
        let y = Array1::from_shape_fn(n, |i| (i % classes) as f64);
        let w = Array1::from_shape_fn(n, |i| 0.5 + (i % 3) as f64);
        crate::data::to_blocks(ctx, &x, &y, Some(&w), 2, 7)
    }

    fn check_gradient(multinomial: bool, standardization: bool) {
        let ctx = Context::local(2).unwrap();
        let (d, classes) = (3, if multinomial { 3 } else { 2 });
        let data = random_blocks(&ctx, 30, d, classes);
        let stats = summarize(&data, 2).unwrap();
        let inv_std = stats.std.mapv(|s| 1.0 / s);
        let k = if multinomial { classes } else { 1 };
        let obj = Objective {
            data,
            scaled_mean: &stats.mean * &inv_std,
            pen_scale: if standardization {
                Array1::ones(d)
            } else {
                inv_std.clone()
            },
            inv_std,
            num_classes: k,
            multinomial,
            fit_intercept: true,
            weight_sum: stats.weight_sum,
            reg_l2: 0.3,
            depth: 2,
        };
        let n = k * d + k;
        let mut r = rng(11);
        let x: Vec<f64> = (0..n).map(|_| gaussian(&mut r) * 0.5).collect();
        let (_, g) = obj.value_and_grad(&x).unwrap();
        let h = 1e-6;
        for i in 0..n {
            let mut xp = x.clone();
            let mut xm = x.clone();
            xp[i] += h;
            xm[i] -= h;
            let fd = (obj.value_and_grad(&xp).unwrap().0 - obj.value_and_grad(&xm).unwrap().0)
                / (2.0 * h);
            assert!(
                (fd - g[i]).abs() < 1e-6 * (1.0 + g[i].abs()),
                "coordinate {i}: analytic {} vs finite difference {fd}",
                g[i]
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences_binomial() {
        check_gradient(false, true);
        check_gradient(false, false);
    }

    #[test]
    fn gradient_matches_finite_differences_multinomial() {
        check_gradient(true, true);
    }

    #[test]
    fn defaults_are_sparks() {
        // Spark ML `LogisticRegression` (ml.classification.LogisticRegression): maxIter =
        // 100, regParam = 0, elasticNetParam = 0, tol = 1e-6, fitIntercept = true,
        // standardization = true, threshold = 0.5, family = "auto", aggregationDepth = 2.
        let p = LogisticRegressionParams::default().check().unwrap();
        assert_eq!(p.max_iter(), 100);
        assert_eq!(p.reg_param(), 0.0);
        assert_eq!(p.elastic_net_param(), 0.0);
        assert_eq!(p.tol(), 1e-6);
        assert!(p.fit_intercept());
        assert!(p.standardization());
        assert_eq!(p.threshold(), 0.5);
        assert_eq!(p.family(), Family::Auto);
        assert_eq!(p.aggregation_depth(), 2);
    }

    #[test]
    fn each_rule_has_its_error() {
        let p = LogisticRegression::params;
        assert_eq!(p().tol(-1.0).check(), Err(ParamError::Tol(-1.0)));
        assert_eq!(
            p().tol(f64::INFINITY).check(),
            Err(ParamError::Tol(f64::INFINITY))
        );
        assert_eq!(p().reg_param(-0.1).check(), Err(ParamError::RegParam(-0.1)));
        assert_eq!(
            p().reg_param(f64::INFINITY).check(),
            Err(ParamError::RegParam(f64::INFINITY))
        );
        assert!(matches!(
            p().reg_param(f64::NAN).check(),
            Err(ParamError::RegParam(v)) if v.is_nan()
        ));
        assert_eq!(
            p().elastic_net_param(1.5).check(),
            Err(ParamError::ElasticNetParam(1.5))
        );
        assert_eq!(
            p().elastic_net_param(-0.1).check(),
            Err(ParamError::ElasticNetParam(-0.1))
        );
        assert!(matches!(
            p().elastic_net_param(f64::NAN).check(),
            Err(ParamError::ElasticNetParam(v)) if v.is_nan()
        ));
        assert_eq!(
            p().threshold(-0.5).check(),
            Err(ParamError::Threshold(-0.5))
        );
        assert_eq!(p().threshold(1.5).check(), Err(ParamError::Threshold(1.5)));
        assert_eq!(
            p().aggregation_depth(0).check(),
            Err(ParamError::AggregationDepth(0))
        );
        // Boundary values pass.
        let edge = p()
            .tol(0.0)
            .elastic_net_param(1.0)
            .threshold(0.0)
            .max_iter(0);
        assert!(edge.aggregation_depth(1).check().is_ok());
        assert!(p().elastic_net_param(0.0).threshold(1.0).check().is_ok());
        assert!(p().check().is_ok());
        let ctx = Context::local(1).unwrap();
        let data = random_blocks(&ctx, 12, 2, 3);
        assert!(matches!(
            p().reg_param(-1.0).fit(&data),
            Err(MlError::InvalidParam(ParamError::RegParam(_)))
        ));
        assert!(matches!(
            p().family(Family::Binomial).fit(&data),
            Err(MlError::BinomialWithMoreClasses(3))
        ));
        let bad = crate::data::to_blocks(
            &ctx,
            &Array2::zeros((2, 1)),
            &ndarray::array![0.0, 0.5],
            None,
            1,
            4,
        );
        assert!(matches!(p().fit(&bad), Err(MlError::InvalidLabel(_))));
    }

    #[test]
    fn single_class_gives_infinite_intercept() {
        let ctx = Context::local(1).unwrap();
        let data = crate::data::to_blocks(
            &ctx,
            &ndarray::array![[1.0], [2.0]],
            &ndarray::array![1.0, 1.0],
            None,
            1,
            4,
        );
        let m = LogisticRegression::params().fit(&data).unwrap();
        assert_eq!(m.intercept(), f64::INFINITY);
        assert!(m.summary().training.converged);
        let mut m2 = m.clone();
        assert_eq!(m2.set_threshold(2.0), Err(ParamError::Threshold(2.0)));
        assert_eq!(m2.threshold(), 0.5);
        assert_eq!(m.predict(ndarray::array![3.0].view()).unwrap(), 1.0);
    }
}

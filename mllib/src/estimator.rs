//! The shape the estimators share, after linfa's: a params type (the builder, with Spark's
//! defaults) is checked once by [`ParamGuard`] into validated params, which [`Fit`] a
//! dataset into a model; the model [`Predict`]s one point or a whole dataset, and its
//! [`TrainingSummary`] (through [`Model::training_summary`]) says how training went.
//! Training can report [`Progress`] after each iteration.
//!
//! | estimator | params → validated params | records fitted | model |
//! | --- | --- | --- | --- |
//! | k-means | [`KMeansParams`] → [`KMeansValidParams`] | `Arc<InstanceBlock>` | [`KMeansModel`] |
//! | logistic regression | [`LogisticRegressionParams`] → [`LogisticRegressionValidParams`] | `Arc<InstanceBlock>` | [`LogisticRegressionModel`] |
//! | ALS | [`AlsParams`] → [`AlsValidParams`] | [`Rating`](crate::Rating) | [`AlsModel`] |
//!
//! [`KMeansParams`]: crate::kmeans::KMeansParams
//! [`KMeansValidParams`]: crate::kmeans::KMeansValidParams
//! [`KMeansModel`]: crate::kmeans::KMeansModel
//! [`LogisticRegressionParams`]: crate::logistic::LogisticRegressionParams
//! [`LogisticRegressionValidParams`]: crate::logistic::LogisticRegressionValidParams
//! [`LogisticRegressionModel`]: crate::logistic::LogisticRegressionModel
//! [`AlsParams`]: crate::als::AlsParams
//! [`AlsValidParams`]: crate::als::AlsValidParams
//! [`AlsModel`]: crate::als::AlsModel

use std::time::Instant;

use firesteel_core::Dataset;
use serde::{Deserialize, Serialize};

use crate::error::{ParamError, Result};
use crate::persist::Model;

/// Parameters that must be checked before training (linfa's `ParamGuard`).
///
/// # Examples
///
/// ```
/// use firesteel_mllib::logistic::LogisticRegression;
/// use firesteel_mllib::{ParamError, ParamGuard};
///
/// let params = LogisticRegression::params().reg_param(0.1).elastic_net_param(0.5);
/// let valid = params.check_ref().unwrap();
/// assert_eq!(valid.reg_param(), 0.1);
/// assert_eq!(
///     LogisticRegression::params().elastic_net_param(1.5).check().unwrap_err(),
///     ParamError::ElasticNetParam(1.5),
/// );
/// ```
pub trait ParamGuard {
    /// The validated parameters.
    type Checked;

    /// Checks every rule and borrows the validated parameters.
    ///
    /// # Errors
    /// The first rule broken, naming the parameter, its value and the rule.
    fn check_ref(&self) -> Result<&Self::Checked, ParamError>;

    /// Checks every rule and returns the validated parameters.
    ///
    /// # Errors
    /// The first rule broken, naming the parameter, its value and the rule.
    fn check(self) -> Result<Self::Checked, ParamError>;
}

/// Trains a model on a dataset of `R` records (linfa's `Fit`). Validated params implement
/// it; params types get it through [`ParamGuard`], checking first.
///
/// # Examples
///
/// ```
/// use firesteel_mllib::kmeans::KMeans;
/// use firesteel_mllib::{data, Fit, Model, ParamGuard};
///
/// firesteel_core::example(|ctx| {
///     let x = ndarray::array![[0.0], [0.2], [5.0], [5.2]];
///     let blocks = data::to_blocks(ctx, &x, &ndarray::Array1::zeros(4), None, 2, 1024);
///     // Checked once, fitted as often as needed.
///     let valid = KMeans::params(2).seed(1).check().unwrap();
///     let mut costs = Vec::new();
///     let model = valid
///         .fit_with_progress(&blocks, |p| costs.push(p.objective))
///         .unwrap();
///     assert_eq!(costs.len(), model.training_summary().iterations);
///     // The params type checks, then fits.
///     let again = KMeans::params(2).seed(1).fit(&blocks).unwrap();
///     assert_eq!(again.centers(), model.centers());
///     assert!(KMeans::params(0).fit(&blocks).is_err());
/// });
/// ```
pub trait Fit<R> {
    /// The trained model.
    type Model: Model;

    /// Trains on `data`, calling `progress` after each iteration.
    ///
    /// # Errors
    /// Invalid parameters (for a params type), data the algorithm cannot use, and engine
    /// failures.
    fn fit_with_progress(
        &self,
        data: &Dataset<R>,
        progress: impl FnMut(&Progress),
    ) -> Result<Self::Model>;

    /// Trains on `data`.
    ///
    /// # Errors
    /// As [`fit_with_progress`](Self::fit_with_progress).
    fn fit(&self, data: &Dataset<R>) -> Result<Self::Model> {
        self.fit_with_progress(data, |_| {})
    }
}

impl<P, R> Fit<R> for P
where
    P: ParamGuard,
    P::Checked: Fit<R>,
{
    type Model = <P::Checked as Fit<R>>::Model;

    fn fit_with_progress(
        &self,
        data: &Dataset<R>,
        progress: impl FnMut(&Progress),
    ) -> Result<Self::Model> {
        self.check_ref()?.fit_with_progress(data, progress)
    }
}

/// Applies a trained model to one point, or lazily to a whole dataset (linfa's
/// `Predict`).
///
/// # Examples
///
/// ```
/// use firesteel_mllib::logistic::LogisticRegression;
/// use firesteel_mllib::{data, Fit, Predict};
///
/// firesteel_core::example(|ctx| {
///     let x = ndarray::array![[0.0], [1.0], [3.0], [4.0]];
///     let y = ndarray::array![0.0, 0.0, 1.0, 1.0];
///     let blocks = data::to_blocks(ctx, &x, &y, None, 2, 1024);
///     let model = LogisticRegression::params().reg_param(0.1).fit(&blocks).unwrap();
///     assert_eq!(model.predict(ndarray::array![4.5].view()).unwrap(), 1.0);
///     let per_block: Vec<Vec<f64>> = model.predict_dataset(&blocks).collect().unwrap();
///     assert_eq!(per_block.concat(), vec![0.0, 0.0, 1.0, 1.0]);
/// });
/// ```
pub trait Predict {
    /// One point: a feature row, or a (user, item) pair.
    type Point<'a>;
    /// The prediction for one point.
    type Prediction;
    /// The records of the datasets the model applies to.
    type Record;
    /// What [`predict_dataset`](Self::predict_dataset) yields per record.
    type Output;

    /// The prediction for one point.
    ///
    /// # Errors
    /// A point the model cannot take (for example of the wrong width).
    fn predict(&self, point: Self::Point<'_>) -> Result<Self::Prediction>;

    /// The predictions for every record of `data`, computed lazily (the model is
    /// broadcast when an action runs).
    fn predict_dataset(&self, data: &Dataset<Self::Record>) -> Dataset<Self::Output>;
}

/// What one training run reports, in the same shape for every algorithm (models give it
/// through [`Model::training_summary`]; their own summaries add algorithm-specific
/// figures).
///
/// # Examples
///
/// ```
/// use firesteel_mllib::als::Als;
/// use firesteel_mllib::{Fit, Model, Rating};
///
/// firesteel_core::example(|ctx| {
///     let r = |user, item, rating| Rating { user, item, rating };
///     let ratings = ctx.parallelize(vec![r(0, 0, 4.0), r(0, 1, 1.0), r(1, 0, 5.0)], 2);
///     let model = Als::params().rank(2).max_iter(3).fit(&ratings).unwrap();
///     let s = model.training_summary();
///     assert_eq!((s.iterations, s.iteration_seconds.len()), (3, 3));
///     assert!(!s.converged && s.objective_history.is_empty());
/// });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Iterations run (Lloyd iterations, optimizer iterations or ALS iterations).
    pub iterations: usize,
    /// Whether training stopped because its convergence test passed rather than at
    /// `max_iter`. ALS has no convergence test (as in Spark) and reports `false`.
    pub converged: bool,
    /// The objective the algorithm tracks: k-means, the cost of the centers at the start
    /// of each iteration; logistic regression, the loss plus penalty at each optimizer
    /// state, starting with the initial one; ALS, nothing (Spark computes no objective
    /// while training ALS either).
    pub objective_history: Vec<f64>,
    /// Seconds spent before the first iteration (statistics, blocking, initialization).
    pub setup_seconds: f64,
    /// Seconds spent in each iteration.
    pub iteration_seconds: Vec<f64>,
}

impl TrainingSummary {
    /// Records an iteration that ran since `*since` (which moves to now), and reports it to
    /// `progress`.
    pub(crate) fn record_iteration(
        &mut self,
        since: &mut Instant,
        objective: Option<f64>,
        progress: &mut impl FnMut(&Progress),
    ) {
        let seconds = since.elapsed().as_secs_f64();
        *since = Instant::now();
        self.iterations += 1;
        self.iteration_seconds.push(seconds);
        progress(&Progress {
            iteration: self.iterations,
            objective,
            seconds,
        });
    }
}

/// One iteration's report, passed to the callback of [`Fit::fit_with_progress`].
///
/// # Examples
///
/// ```
/// use firesteel_mllib::kmeans::KMeans;
/// use firesteel_mllib::{data, Fit};
///
/// firesteel_core::example(|ctx| {
///     let x = ndarray::array![[0.0], [0.2], [5.0], [5.2]];
///     let blocks = data::to_blocks(ctx, &x, &ndarray::Array1::zeros(4), None, 2, 1024);
///     KMeans::params(2)
///         .fit_with_progress(&blocks, |p| {
///             println!("iteration {}: cost {:?} in {:.3} s", p.iteration, p.objective, p.seconds)
///         })
///         .unwrap();
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// The iteration just finished, from 1.
    pub iteration: usize,
    /// The objective the algorithm tracks (see [`TrainingSummary::objective_history`]);
    /// for logistic regression, the objective after the iteration. `None` for ALS.
    pub objective: Option<f64>,
    /// Seconds the iteration took.
    pub seconds: f64,
}

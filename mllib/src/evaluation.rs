//! Evaluation metrics. Each takes predictions and labels (and optionally weights) as
//! slices; use [`collect_scores`](crate::logistic::LogisticRegressionModel::scores) or a
//! model's `predict_*` methods to get them from a dataset.

/// Root mean squared error.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn rmse(pred: &[f64], label: &[f64]) -> f64 {
    mse(pred, label).sqrt()
}

/// Mean squared error.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn mse(pred: &[f64], label: &[f64]) -> f64 {
    check(pred, label);
    pred.iter()
        .zip(label)
        .map(|(p, l)| (p - l) * (p - l))
        .sum::<f64>()
        / pred.len() as f64
}

/// Mean absolute error.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn mae(pred: &[f64], label: &[f64]) -> f64 {
    check(pred, label);
    pred.iter()
        .zip(label)
        .map(|(p, l)| (p - l).abs())
        .sum::<f64>()
        / pred.len() as f64
}

/// Coefficient of determination, `1 − SS_res / SS_tot` (as Spark's `RegressionMetrics.r2`
/// with an intercept).
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn r2(pred: &[f64], label: &[f64]) -> f64 {
    check(pred, label);
    let mean = label.iter().sum::<f64>() / label.len() as f64;
    let ss_res: f64 = pred.iter().zip(label).map(|(p, l)| (l - p) * (l - p)).sum();
    let ss_tot: f64 = label.iter().map(|l| (l - mean) * (l - mean)).sum();
    1.0 - ss_res / ss_tot
}

/// Fraction of predictions equal to the label.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn accuracy(pred: &[f64], label: &[f64]) -> f64 {
    check(pred, label);
    pred.iter().zip(label).filter(|(p, l)| p == l).count() as f64 / pred.len() as f64
}

/// Binary confusion counts for positive class `positive`: (tp, fp, fn).
fn confusion(pred: &[f64], label: &[f64], positive: f64) -> (f64, f64, f64) {
    check(pred, label);
    let (mut tp, mut fp, mut fne) = (0.0, 0.0, 0.0);
    for (&p, &l) in pred.iter().zip(label) {
        match (p == positive, l == positive) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fne += 1.0,
            _ => {}
        }
    }
    (tp, fp, fne)
}

/// Precision of class `positive`: tp / (tp + fp), 0 when nothing is predicted positive.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn precision(pred: &[f64], label: &[f64], positive: f64) -> f64 {
    let (tp, fp, _) = confusion(pred, label, positive);
    if tp + fp == 0.0 {
        0.0
    } else {
        tp / (tp + fp)
    }
}

/// Recall of class `positive`: tp / (tp + fn), 0 when the class never occurs.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn recall(pred: &[f64], label: &[f64], positive: f64) -> f64 {
    let (tp, _, fne) = confusion(pred, label, positive);
    if tp + fne == 0.0 {
        0.0
    } else {
        tp / (tp + fne)
    }
}

/// F1 score of class `positive` (harmonic mean of precision and recall).
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn f1(pred: &[f64], label: &[f64], positive: f64) -> f64 {
    let p = precision(pred, label, positive);
    let r = recall(pred, label, positive);
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Mean log loss of predicted positive-class probabilities for 0/1 labels, with
/// probabilities clipped to `[1e-15, 1 − 1e-15]`.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn log_loss(prob: &[f64], label: &[f64]) -> f64 {
    check(prob, label);
    let eps = 1e-15;
    prob.iter()
        .zip(label)
        .map(|(&p, &l)| {
            let p = p.clamp(eps, 1.0 - eps);
            -(l * p.ln() + (1.0 - l) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / prob.len() as f64
}

/// The ROC curve's points (false positive rate, true positive rate) from the highest score
/// down, with tied scores grouped into one point (as Spark's `BinaryClassificationMetrics`
/// without binning). Labels are 0/1; `weights` default to 1.
fn roc_points(score: &[f64], label: &[f64], weights: Option<&[f64]>) -> Vec<(f64, f64, f64, f64)> {
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let pos: f64 = (0..score.len()).filter(|&i| label[i] > 0.5).map(w).sum();
    let neg: f64 = (0..score.len()).filter(|&i| label[i] <= 0.5).map(w).sum();
    let mut pts = vec![(0.0, 0.0, pos, neg)]; // (tp, fp, pos, neg) cumulative
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = score[idx[i]];
        while i < idx.len() && score[idx[i]] == s {
            if label[idx[i]] > 0.5 {
                tp += w(idx[i]);
            } else {
                fp += w(idx[i]);
            }
            i += 1;
        }
        pts.push((tp, fp, pos, neg));
    }
    pts
}

/// Area under the ROC curve (trapezoids, ties grouped). Labels are 0/1.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn area_under_roc(score: &[f64], label: &[f64], weights: Option<&[f64]>) -> f64 {
    check(score, label);
    let pts = roc_points(score, label, weights);
    let mut area = 0.0;
    for w in pts.windows(2) {
        let (tp0, fp0, pos, neg) = w[0];
        let (tp1, fp1, _, _) = w[1];
        let (x0, x1) = (fp0 / neg, fp1 / neg);
        let (y0, y1) = (tp0 / pos, tp1 / pos);
        area += (x1 - x0) * (y0 + y1) / 2.0;
    }
    area
}

/// Area under the precision–recall curve (trapezoids over recall, ties grouped, starting
/// at (recall 0, precision of the first group) as Spark does). Labels are 0/1.
///
/// # Panics
/// If the slices differ in length or are empty.
pub fn area_under_pr(score: &[f64], label: &[f64], weights: Option<&[f64]>) -> f64 {
    check(score, label);
    let pts = roc_points(score, label, weights);
    let mut curve: Vec<(f64, f64)> = Vec::new(); // (recall, precision)
    for &(tp, fp, pos, _) in &pts[1..] {
        curve.push((tp / pos, tp / (tp + fp)));
    }
    let first_precision = curve.first().map_or(1.0, |c| c.1);
    let mut prev = (0.0, first_precision);
    let mut area = 0.0;
    for &(r, p) in &curve {
        area += (r - prev.0) * (p + prev.1) / 2.0;
        prev = (r, p);
    }
    area
}

/// Within-set sum of squared errors of a clustering: Σ ||x − c(x)||² (see
/// [`KMeansModel::compute_cost`](crate::kmeans::KMeansModel::compute_cost) for datasets).
pub fn wssse(points: ndarray::ArrayView2<'_, f64>, centers: ndarray::ArrayView2<'_, f64>) -> f64 {
    points
        .outer_iter()
        .map(|x| {
            centers
                .outer_iter()
                .map(|c| {
                    x.iter()
                        .zip(c.iter())
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .fold(f64::INFINITY, f64::min)
        })
        .sum()
}

fn check(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "predictions and labels differ in length");
    assert!(!a.is_empty(), "no predictions");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn regression_metrics_by_hand() {
        let p = [2.5, 0.0, 2.0, 8.0];
        let l = [3.0, -0.5, 2.0, 7.0];
        // errors 0.5, 0.5, 0, 1 -> mse (0.25+0.25+0+1)/4 = 0.375
        close(mse(&p, &l), 0.375);
        close(rmse(&p, &l), 0.375f64.sqrt());
        close(mae(&p, &l), 0.5);
        // mean label 2.875; ss_tot = 0.015625+11.390625+0.765625+17.015625 = 29.1875
        close(r2(&p, &l), 1.0 - 1.5 / 29.1875);
    }

    #[test]
    fn classification_metrics_by_hand() {
        let p = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let l = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        // tp 2, fp 1, fn 1, tn 2
        close(accuracy(&p, &l), 4.0 / 6.0);
        close(precision(&p, &l, 1.0), 2.0 / 3.0);
        close(recall(&p, &l, 1.0), 2.0 / 3.0);
        close(f1(&p, &l, 1.0), 2.0 / 3.0);
        close(precision(&[0.0, 0.0], &[1.0, 0.0], 1.0), 0.0);
    }

    #[test]
    fn log_loss_by_hand() {
        let v = log_loss(&[0.9, 0.2], &[1.0, 0.0]);
        close(v, -(0.9f64.ln() + 0.8f64.ln()) / 2.0);
    }

    #[test]
    fn auc_by_hand() {
        // scores 0.9(1) 0.8(0) 0.7(1) 0.1(0): pairs (pos, neg) ordered right: (0.9>0.8),
        // (0.9>0.1), (0.7>0.1); wrong: (0.7<0.8) -> 3/4.
        let s = [0.9, 0.8, 0.7, 0.1];
        let l = [1.0, 0.0, 1.0, 0.0];
        close(area_under_roc(&s, &l, None), 0.75);
        // A tie between a positive and a negative counts one half.
        close(area_under_roc(&[0.5, 0.5], &[1.0, 0.0], None), 0.5);
        close(area_under_roc(&[0.9, 0.1], &[1.0, 0.0], None), 1.0);
        // PR: points (r, p): (0.5, 1), (0.5, 0.5), (1, 2/3), (1, 0.5), start (0, 1):
        // area = 0.5*1 + 0 + 0.5*(0.5+2/3)/2 + 0 = 0.5 + 0.291666...
        close(
            area_under_pr(&s, &l, None),
            0.5 + 0.5 * (0.5 + 2.0 / 3.0) / 2.0,
        );
    }

    #[test]
    fn wssse_by_hand() {
        let x = ndarray::array![[0.0, 0.0], [1.0, 1.0], [10.0, 10.0]];
        let c = ndarray::array![[0.5, 0.5], [10.0, 11.0]];
        close(wssse(x.view(), c.view()), 0.5 + 0.5 + 1.0);
    }
}

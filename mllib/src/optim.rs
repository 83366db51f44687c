//! L-BFGS and OWL-QN, following Breeze's `LBFGS` / `OWLQN` (the optimizers Spark ML uses)
//! step for step: the same two-loop recursion with memory `m`, strong-Wolfe line search
//! (cubic interpolation) for L-BFGS, Breeze's backtracking search with orthant projection
//! for OWL-QN, the same convergence checks (max iterations, function values over the last
//! 20 iterations, relative gradient norm) and the same history reset on a failed search.

use std::collections::VecDeque;

use crate::error::{MlError, Result};

/// Optimizer settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LbfgsConfig {
    /// Most iterations.
    pub max_iter: usize,
    /// History length.
    pub m: usize,
    /// Convergence tolerance (relative).
    pub tol: f64,
    /// Per-coordinate L1 weights; `Some` switches to OWL-QN.
    pub l1: Option<Vec<f64>>,
}

/// Why the optimizer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `max_iter` reached.
    MaxIterations,
    /// The objective stopped improving.
    FunctionValuesConverged,
    /// The gradient norm fell below tolerance.
    GradientConverged,
    /// The line search failed twice in a row.
    SearchFailed,
}

/// The optimizer's result.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimResult {
    /// The solution.
    pub x: Vec<f64>,
    /// Objective (including the L1 term) at each state, starting with the initial point.
    pub objective_history: Vec<f64>,
    /// Iterations taken.
    pub iterations: usize,
    /// Why it stopped.
    pub reason: StopReason,
}

enum Fail {
    FirstOrder,
    Hard(MlError),
}

impl From<MlError> for Fail {
    fn from(e: MlError) -> Self {
        Fail::Hard(e)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn signum(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

struct Cached<F> {
    f: F,
    last: Option<(Vec<f64>, f64, Vec<f64>)>,
}

impl<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>> Cached<F> {
    fn calc(&mut self, x: &[f64]) -> Result<(f64, Vec<f64>)> {
        if let Some((lx, v, g)) = &self.last {
            if lx.as_slice() == x {
                return Ok((*v, g.clone()));
            }
        }
        let (v, g) = (self.f)(x)?;
        if v.is_nan() {
            return Err(MlError::Optimization("objective is NaN".into()));
        }
        self.last = Some((x.to_vec(), v, g.clone()));
        Ok((v, g))
    }
}

struct State {
    x: Vec<f64>,
    value: f64,
    grad: Vec<f64>,
    adj_value: f64,
    adj_grad: Vec<f64>,
    iter: usize,
    initial_adj_value: f64,
    steps: VecDeque<Vec<f64>>,
    grad_deltas: VecDeque<Vec<f64>>,
    fvals: VecDeque<f64>,
    search_failed: bool,
}

/// Minimizes `f` (returning value and gradient) from `x0`: L-BFGS, or OWL-QN when
/// `config.l1` is set (the L1 term `Σ l1[i]·|x[i]|` is added by the optimizer).
/// `on_iteration(iteration, objective)` is called after each iteration that moves.
pub fn minimize(
    f: impl FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    x0: Vec<f64>,
    config: &LbfgsConfig,
    mut on_iteration: impl FnMut(usize, f64),
) -> Result<OptimResult> {
    let mut f = Cached { f, last: None };
    let l1 = config.l1.as_deref();
    let (value, grad) = f.calc(&x0)?;
    let (adj_value, adj_grad) = adjust(l1, &x0, &grad, value);
    let mut state = State {
        x: x0,
        value,
        grad,
        adj_value,
        adj_grad,
        iter: 0,
        initial_adj_value: adj_value,
        steps: VecDeque::new(),
        grad_deltas: VecDeque::new(),
        fvals: VecDeque::from(vec![f64::INFINITY]),
        search_failed: false,
    };
    let mut history = vec![state.adj_value];
    let mut failed_once = false;
    loop {
        if let Some(reason) = converged(&state, config) {
            return Ok(OptimResult {
                x: state.x,
                objective_history: history,
                iterations: state.iter,
                reason,
            });
        }
        match step(&mut f, &state, config) {
            Ok(new) => {
                failed_once = false;
                state = new;
                on_iteration(state.iter, state.adj_value);
            }
            Err(Fail::FirstOrder) if !failed_once => {
                failed_once = true;
                state.steps.clear();
                state.grad_deltas.clear();
            }
            Err(Fail::FirstOrder) => state.search_failed = true,
            Err(Fail::Hard(e)) => return Err(e),
        }
        history.push(state.adj_value);
    }
}

fn converged(s: &State, c: &LbfgsConfig) -> Option<StopReason> {
    if s.iter >= c.max_iter {
        return Some(StopReason::MaxIterations);
    }
    if s.fvals.len() >= 2 {
        let max = s.fvals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if (s.adj_value - max).abs() <= c.tol * s.initial_adj_value.abs() {
            return Some(StopReason::FunctionValuesConverged);
        }
    }
    if norm(&s.adj_grad) <= (c.tol * s.adj_value.abs()).max(1e-8) {
        return Some(StopReason::GradientConverged);
    }
    if s.search_failed {
        return Some(StopReason::SearchFailed);
    }
    None
}

fn adjust(l1: Option<&[f64]>, x: &[f64], g: &[f64], v: f64) -> (f64, Vec<f64>) {
    let Some(l1) = l1 else {
        return (v, g.to_vec());
    };
    let mut adj = v;
    let mut out = Vec::with_capacity(g.len());
    for i in 0..x.len() {
        let r = l1[i];
        adj += r * x[i].abs();
        out.push(if x[i] == 0.0 {
            let (dp, dm) = (g[i] + r, g[i] - r);
            if dm > 0.0 {
                dm
            } else if dp < 0.0 {
                dp
            } else {
                0.0
            }
        } else {
            g[i] + signum(x[i]) * r
        });
    }
    (adj, out)
}

/// Two-loop recursion: `-H·g`.
fn direction(s: &State, g: &[f64]) -> Result<Vec<f64>, Fail> {
    let h = s.steps.len();
    let diag = if h > 0 {
        let sy = dot(&s.steps[0], &s.grad_deltas[0]);
        let yy = dot(&s.grad_deltas[0], &s.grad_deltas[0]);
        if sy < 0.0 || sy.is_nan() {
            return Err(Fail::FirstOrder);
        }
        sy / yy
    } else {
        1.0
    };
    let mut dir = g.to_vec();
    let mut a = vec![0.0; h];
    let mut rho = vec![0.0; h];
    for i in 0..h {
        rho[i] = dot(&s.steps[i], &s.grad_deltas[i]);
        a[i] = dot(&s.steps[i], &dir) / rho[i];
        if a[i].is_nan() {
            return Err(Fail::FirstOrder);
        }
        for (d, y) in dir.iter_mut().zip(&s.grad_deltas[i]) {
            *d -= a[i] * y;
        }
    }
    for d in dir.iter_mut() {
        *d *= diag;
    }
    for i in (0..h).rev() {
        let beta = dot(&s.grad_deltas[i], &dir) / rho[i];
        for (d, st) in dir.iter_mut().zip(&s.steps[i]) {
            *d += (a[i] - beta) * st;
        }
    }
    for d in dir.iter_mut() {
        *d = -*d;
    }
    Ok(dir)
}

fn take_step(s: &State, dir: &[f64], alpha: f64, owlqn: bool) -> Vec<f64> {
    let mut x: Vec<f64> = s.x.iter().zip(dir).map(|(x, d)| x + d * alpha).collect();
    if owlqn {
        for (i, xi) in x.iter_mut().enumerate() {
            let orth = if s.x[i] != 0.0 {
                signum(s.x[i])
            } else {
                signum(-s.adj_grad[i])
            };
            if signum(*xi) != orth {
                *xi = 0.0;
            }
        }
    }
    x
}

fn step<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>>(
    f: &mut Cached<F>,
    s: &State,
    c: &LbfgsConfig,
) -> Result<State, Fail> {
    let l1 = c.l1.as_deref();
    let owlqn = l1.is_some();
    let dir = if owlqn {
        let d = direction(s, &s.adj_grad)?;
        d.iter()
            .zip(&s.adj_grad)
            .map(|(&d, &g)| if d * g < 0.0 { d } else { 0.0 })
            .collect::<Vec<_>>()
    } else {
        direction(s, &s.grad)?
    };
    let alpha = if owlqn {
        let mut phi = |alpha: f64| -> Result<(f64, f64)> {
            let x = take_step(s, &dir, alpha, true);
            let (v, g) = f.calc(&x)?;
            let (av, ag) = adjust(l1, &x, &g, v);
            Ok((av, dot(&ag, &dir)))
        };
        let init = if s.iter < 1 { 0.5 / norm(&s.grad) } else { 1.0 };
        let shrink = if s.iter < 1 { 0.1 } else { 0.5 };
        backtracking(&mut phi, s.value, init, shrink)?
    } else {
        let mut phi = |alpha: f64| -> Result<(f64, f64)> {
            let x = take_step(s, &dir, alpha, false);
            let (v, g) = f.calc(&x)?;
            Ok((v, dot(&g, &dir)))
        };
        let init = if s.iter == 0 { 1.0 / norm(&dir) } else { 1.0 };
        let a = strong_wolfe(&mut phi, init)?;
        if a * norm(&s.grad) < 1e-10 {
            return Err(Fail::FirstOrder);
        }
        a
    };
    let x = take_step(s, &dir, alpha, owlqn);
    let (value, grad) = f.calc(&x)?;
    let (adj_value, adj_grad) = adjust(l1, &x, &grad, value);
    let mut steps = s.steps.clone();
    let mut grad_deltas = s.grad_deltas.clone();
    steps.push_front(x.iter().zip(&s.x).map(|(a, b)| a - b).collect());
    grad_deltas.push_front(grad.iter().zip(&s.grad).map(|(a, b)| a - b).collect());
    steps.truncate(c.m);
    grad_deltas.truncate(c.m);
    let mut fvals = s.fvals.clone();
    fvals.push_back(adj_value);
    while fvals.len() > 20 {
        fvals.pop_front();
    }
    Ok(State {
        x,
        value,
        grad,
        adj_value,
        adj_grad,
        iter: s.iter + 1,
        initial_adj_value: s.initial_adj_value,
        steps,
        grad_deltas,
        fvals,
        search_failed: false,
    })
}

/// Breeze's `BacktrackingLineSearch` with its defaults (Armijo 1e-4, Wolfe 0.9, both
/// Wolfe conditions enforced, grow 2.1), including its use of `init_value` as the value at
/// the first trial step.
fn backtracking(
    phi: &mut impl FnMut(f64) -> Result<(f64, f64)>,
    init_value: f64,
    init: f64,
    shrink: f64,
) -> Result<f64, Fail> {
    const MAX_ITER: usize = 20;
    let (f0, df0) = phi(0.0)?;
    let init_deriv = phi(init)?.1;
    let (mut alpha, mut fval, mut fderiv) = (init, init_value, init_deriv);
    let mut iter = 0;
    loop {
        let mult = if fval > f0 + alpha * df0 * 1e-4 {
            shrink
        } else if fderiv < 0.9 * df0 {
            2.1
        } else if fderiv > -0.9 * df0 {
            shrink
        } else {
            return Ok(alpha);
        };
        let new_alpha = alpha * mult;
        if !(1e-10..=1e10).contains(&new_alpha) {
            return Err(Fail::FirstOrder);
        }
        if iter + 1 >= MAX_ITER {
            return Ok(alpha);
        }
        let (v, d) = phi(new_alpha)?;
        alpha = new_alpha;
        fval = v;
        fderiv = d;
        iter += 1;
    }
}

#[derive(Clone, Copy)]
struct Bracket {
    t: f64,
    dd: f64,
    fval: f64,
}

fn interp(l: Bracket, r: Bracket) -> f64 {
    let d1 = l.dd + r.dd - 3.0 * (l.fval - r.fval) / (l.t - r.t);
    let d2 = (d1 * d1 - l.dd * r.dd).sqrt();
    let m = r.t - l.t;
    let t = r.t - m * (r.dd + d2 - d1) / (r.dd - l.dd + 2.0 * d2);
    let lb = l.t + 0.1 * (r.t - l.t);
    let ub = l.t + 0.9 * (r.t - l.t);
    if t < lb {
        lb
    } else if t > ub {
        ub
    } else {
        t
    }
}

/// Breeze's `StrongWolfeLineSearch(maxZoomIter = 10, maxLineSearchIter = 10)`.
fn strong_wolfe(phi: &mut impl FnMut(f64) -> Result<(f64, f64)>, init: f64) -> Result<f64, Fail> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let mut eval = |t: f64| -> Result<Bracket, Fail> {
        let (fval, dd) = phi(t)?;
        Ok(Bracket { t, dd, fval })
    };
    let mut low = eval(0.0)?;
    let (fval, dd) = (low.fval, low.dd);
    if dd > 0.0 {
        return Err(Fail::FirstOrder);
    }
    let zoom = |eval: &mut dyn FnMut(f64) -> Result<Bracket, Fail>,
                mut low: Bracket,
                mut hi: Bracket|
     -> Result<f64, Fail> {
        for _ in 0..10 {
            let t = if low.t > hi.t {
                interp(hi, low)
            } else {
                interp(low, hi)
            };
            let c = eval(t)?;
            if c.fval > fval + C1 * c.t * dd || c.fval >= low.fval {
                hi = c;
            } else {
                if c.dd.abs() <= C2 * dd.abs() {
                    return Ok(c.t);
                }
                if c.dd * (hi.t - low.t) >= 0.0 {
                    hi = low;
                }
                low = c;
            }
        }
        Err(Fail::FirstOrder)
    };
    let mut t = init;
    for i in 0..10 {
        let c = eval(t)?;
        if !c.fval.is_finite() {
            t /= 2.0;
            continue;
        }
        if c.fval > fval + C1 * t * dd || (c.fval >= low.fval && i > 0) {
            return zoom(&mut eval, low, c);
        }
        if c.dd.abs() <= C2 * dd.abs() {
            return Ok(c.t);
        }
        if c.dd >= 0.0 {
            return zoom(&mut eval, c, low);
        }
        low = c;
        t *= 1.5;
    }
    Err(Fail::FirstOrder)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(l1: Option<Vec<f64>>) -> LbfgsConfig {
        LbfgsConfig {
            max_iter: 200,
            m: 10,
            tol: 1e-12,
            l1,
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn lbfgs_finds_quadratic_minimum() {
        // f(x) = Σ c_i (x_i - a_i)^2, minimum at a.
        let a = [1.0, -2.0, 3.0, 0.5];
        let c = [1.0, 10.0, 0.1, 3.0];
        let r = minimize(
            |x| {
                let v = (0..4).map(|i| c[i] * (x[i] - a[i]).powi(2)).sum();
                let g = (0..4).map(|i| 2.0 * c[i] * (x[i] - a[i])).collect();
                Ok((v, g))
            },
            vec![0.0; 4],
            &cfg(None),
            |_, _| {},
        )
        .unwrap();
        for i in 0..4 {
            assert!((r.x[i] - a[i]).abs() < 1e-6, "{:?}", r.x);
        }
    }

    #[test]
    fn lbfgs_solves_rosenbrock() {
        let r = minimize(
            |x| {
                let (a, b) = (x[0], x[1]);
                let v = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
                let g = vec![
                    -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
                    200.0 * (b - a * a),
                ];
                Ok((v, g))
            },
            vec![-1.2, 1.0],
            &cfg(None),
            |_, _| {},
        )
        .unwrap();
        assert!(
            (r.x[0] - 1.0).abs() < 1e-4 && (r.x[1] - 1.0).abs() < 1e-4,
            "{:?}",
            r.x
        );
        // The objective history never increases.
        for w in r.objective_history.windows(2) {
            assert!(w[1] <= w[0] + 1e-12);
        }
    }

    #[test]
    fn owlqn_matches_soft_thresholding() {
        // 0.5 Σ (x_i - a_i)^2 + λ_i |x_i| has minimum sign(a) max(|a| - λ, 0).
        let a = [3.0, -0.5, 0.2, -2.0, 1.0];
        let l = vec![1.0, 1.0, 1.0, 0.5, 0.0];
        let r = minimize(
            |x| {
                let v = (0..5).map(|i| 0.5 * (x[i] - a[i]).powi(2)).sum();
                let g = (0..5).map(|i| x[i] - a[i]).collect();
                Ok((v, g))
            },
            vec![0.0; 5],
            &cfg(Some(l.clone())),
            |_, _| {},
        )
        .unwrap();
        for i in 0..5 {
            let expect = a[i].signum() * (a[i].abs() - l[i]).max(0.0);
            assert!((r.x[i] - expect).abs() < 1e-6, "{:?}", r.x);
        }
        assert_eq!(r.x[1], 0.0);
        assert_eq!(r.x[2], 0.0);
    }

    #[test]
    fn max_iter_zero_returns_start() {
        let r = minimize(
            |x| Ok((x[0] * x[0], vec![2.0 * x[0]])),
            vec![1.0],
            &LbfgsConfig {
                max_iter: 0,
                m: 10,
                tol: 1e-6,
                l1: None,
            },
            |_, _| {},
        )
        .unwrap();
        assert_eq!(r.x, vec![1.0]);
        assert_eq!(r.objective_history, vec![1.0]);
        assert_eq!(r.reason, StopReason::MaxIterations);
    }
}

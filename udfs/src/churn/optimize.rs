//! A small BFGS minimiser with a backtracking line search, for the few-parameter likelihoods
//! of the customer-base models (fitted in log-parameter space, so unconstrained).

#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `f`, which returns the value and writes the gradient into its second argument.
/// Stops when the largest gradient component is below `gtol`, when no step decreases `f`
/// (rounding noise), or after `max_iter` iterations; callers judge convergence themselves.
pub(crate) fn bfgs(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: &[f64],
    gtol: f64,
    max_iter: usize,
) -> Minimum {
    let n = x0.len();
    let identity = |h: &mut Vec<f64>| {
        h.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            h[i * n + i] = 1.0;
        }
    };
    let mut h = vec![0.0; n * n];
    identity(&mut h);
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut value = f(&x, &mut g);
    let mut next_g = vec![0.0; n];
    let mut fresh = true;
    let mut stalled = 0;
    for _ in 0..max_iter {
        if !value.is_finite() || g.iter().any(|v| !v.is_finite()) {
            return Minimum { x, value };
        }
        if g.iter().all(|v| v.abs() < gtol) {
            return Minimum { x, value };
        }
        let mut d: Vec<f64> = (0..n).map(|i| -dot(&h[i * n..(i + 1) * n], &g)).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 {
            identity(&mut h);
            d = g.iter().map(|v| -v).collect();
            slope = dot(&g, &d);
            fresh = true;
        }
        // Never step more than 5 log-units in one go: the likelihoods overflow far away.
        let longest = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut step = if longest > 5.0 { 5.0 / longest } else { 1.0 };
        let mut accepted = None;
        for _ in 0..60 {
            let trial: Vec<f64> = x.iter().zip(&d).map(|(x, d)| x + step * d).collect();
            let v = f(&trial, &mut next_g);
            if v.is_finite() && v <= value + 1e-4 * step * slope {
                accepted = Some((trial, v));
                break;
            }
            step *= 0.5;
        }
        let Some((trial, v)) = accepted else {
            if fresh {
                // Even steepest descent cannot decrease: at the minimum to the precision the
                // objective's rounding allows.
                return Minimum { x, value };
            }
            identity(&mut h);
            fresh = true;
            continue;
        };
        let s: Vec<f64> = trial.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-14 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| dot(&h[i * n..(i + 1) * n], &y)).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] +=
                        rho * ((1.0 + rho * yhy) * s[i] * s[j] - hy[i] * s[j] - s[i] * hy[j]);
                }
            }
            fresh = false;
        }
        // Several iterations that no longer move the objective beyond rounding: done.
        if value - v <= 1e-12 * value.abs().max(1.0) {
            stalled += 1;
        } else {
            stalled = 0;
        }
        x = trial;
        value = v;
        std::mem::swap(&mut g, &mut next_g);
        if stalled >= 3 {
            break;
        }
    }
    Minimum { x, value }
}

/// Minimises `f` in log-parameter space from each of `starts` (natural units) in turn, stopping
/// at the first whose optimum converged, and keeps the lowest optimum seen. Returns the
/// log-parameters and whether the gradient vanishes there, up to the objective's rounding (the
/// line search can stall a little above BFGS's own tolerance).
pub(crate) fn minimize_from_starts(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    starts: &[&[f64]],
) -> Option<(Vec<f64>, bool)> {
    let converged_at = |f: &mut dyn FnMut(&[f64], &mut [f64]) -> f64, theta: &[f64]| {
        let mut gradient = vec![0.0; theta.len()];
        f(theta, &mut gradient);
        gradient.iter().all(|g| g.abs() < 1e-6)
    };
    let mut best: Option<(f64, Vec<f64>, bool)> = None;
    for start in starts {
        let theta0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
        let m = bfgs(&mut f, &theta0, 1e-9, 2000);
        if m.value.is_finite() && best.as_ref().is_none_or(|b| m.value < b.0) {
            let converged = converged_at(&mut f, &m.x);
            best = Some((m.value, m.x, converged));
        }
        // The other starts only guard against a start that does not converge.
        if best.as_ref().is_some_and(|b| b.2) {
            break;
        }
    }
    best.map(|(_, theta, converged)| (theta, converged))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = bfgs(
            |p, g| {
                let (x, y) = (p[0], p[1]);
                g[0] = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x);
                g[1] = 200.0 * (y - x * x);
                (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
            },
            &[-1.2, 1.0],
            1e-10,
            1000,
        );
        assert!((m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8);
    }
}

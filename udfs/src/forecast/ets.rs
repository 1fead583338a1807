//! Exponential smoothing state-space models (ETS) and their automatic selection by AICc, as
//! Hyndman's R `forecast::ets` defines them and Nixtla's statsforecast `AutoETS` ports them:
//! the same recursions, initial states, parameter bounds and admissibility test, Nelder-Mead
//! on the same likelihood, the same candidate models and the same analytic prediction
//! intervals.

use super::nelder_mead::nelder_mead;
use super::polyroots::max_root_modulus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    None,
    Additive,
    Multiplicative,
}

impl Component {
    fn letter(self) -> char {
        match self {
            Component::None => 'N',
            Component::Additive => 'A',
            Component::Multiplicative => 'M',
        }
    }

    fn parse(c: char) -> Option<Self> {
        match c.to_ascii_uppercase() {
            'N' => Some(Component::None),
            'A' => Some(Component::Additive),
            'M' => Some(Component::Multiplicative),
            _ => None,
        }
    }
}

use Component::{Additive as A, Multiplicative as M, None as N};

/// One ETS model: error, trend (damped or not), season.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spec {
    pub error: Component,
    pub trend: Component,
    pub damped: bool,
    pub season: Component,
}

impl Spec {
    /// "ANN", "AAdN", "MAM", … (R's and statsforecast's naming).
    pub fn name(&self) -> String {
        let mut s = String::new();
        s.push(self.error.letter());
        s.push(self.trend.letter());
        if self.damped {
            s.push('d');
        }
        s.push(self.season.letter());
        s
    }

    pub fn parse(text: &str) -> Option<Self> {
        let chars: Vec<char> = text.trim().chars().collect();
        let (error, trend, damped, season) = match chars.as_slice() {
            [e, t, s] => (*e, *t, false, *s),
            [e, t, d, s] if *d == 'd' || *d == 'D' => (*e, *t, true, *s),
            _ => return None,
        };
        let spec = Spec {
            error: Component::parse(error)?,
            trend: Component::parse(trend)?,
            damped,
            season: Component::parse(season)?,
        };
        // Multiplicative trends and the unstable combinations are not offered (statsforecast's
        // defaults: restrict = true, no multiplicative trend).
        let ok = spec.error != N
            && spec.trend != M
            && !(spec.damped && spec.trend == N)
            && !(spec.error == A && spec.season == M);
        ok.then_some(spec)
    }
}

const LOWER: [f64; 4] = [1e-4, 1e-4, 1e-4, 0.8];
const UPPER: [f64; 4] = [0.9999, 0.9999, 0.9999, 0.98];
const TOL: f64 = 1e-10;
const HUGEN: f64 = 1e10;

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fit {
    pub spec: Spec,
    pub m: usize,
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
    /// The state after the last observation: level, (growth), m seasonal states.
    pub last_state: Vec<f64>,
    /// One-step residuals (additive) or relative residuals (multiplicative error).
    pub residuals: Vec<f64>,
    pub sigma2: f64,
    pub aicc: f64,
}

/// Forecasts `h` steps from a state (R's `forecast` in etscalc.c).
fn forecast_from(state: &[f64], m: usize, spec: &Spec, phi: f64, h: usize) -> Vec<f64> {
    let l = state[0];
    let has_trend = spec.trend != N;
    let b = if has_trend { state[1] } else { 0.0 };
    let s = &state[1 + has_trend as usize..];
    let mut f = Vec::with_capacity(h);
    let mut phistar = phi;
    for i in 0..h {
        let mut v = match spec.trend {
            N => l,
            A => l + phistar * b,
            M => {
                if b < 0.0 {
                    f64::NAN
                } else {
                    l * b.powf(phistar)
                }
            }
        };
        if spec.season != N {
            let j = (m as isize - 1 - i as isize).rem_euclid(m as isize) as usize;
            match spec.season {
                A => v += s[j],
                M => v *= s[j],
                N => {}
            }
        }
        f.push(v);
        if i + 1 < h {
            // phistar_j = φ + φ² + … + φ^j. statsforecast 2.1.1 adds φ^(i+1) here (2φ at step
            // 2); that slip is fixed upstream and here.
            if (phi - 1.0).abs() < TOL {
                phistar += 1.0;
            } else {
                phistar += phi.powi(i as i32 + 2);
            }
        }
    }
    f
}

/// One state update after observing `y` (R's `update` in etscalc.c).
#[allow(clippy::too_many_arguments)]
fn update(
    state: &mut [f64],
    m: usize,
    spec: &Spec,
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    y: f64,
) {
    let has_trend = spec.trend != N;
    let oldl = state[0];
    let oldb = if has_trend { state[1] } else { 0.0 };
    let so = 1 + has_trend as usize;
    let (q, phib) = match spec.trend {
        N => (oldl, 0.0),
        A => (oldl + phi * oldb, phi * oldb),
        M => {
            let phib = if (phi - 1.0).abs() < TOL {
                oldb
            } else {
                oldb.powf(phi)
            };
            (oldl * phib, phib)
        }
    };
    let last_season = if spec.season != N {
        state[so + m - 1]
    } else {
        0.0
    };
    let p = match spec.season {
        N => y,
        A => y - last_season,
        M => {
            if last_season.abs() < TOL {
                HUGEN
            } else {
                y / last_season
            }
        }
    };
    let l = q + alpha * (p - q);
    state[0] = l;
    if has_trend {
        let r = match spec.trend {
            A => l - oldl,
            _ => {
                if oldl.abs() < TOL {
                    HUGEN
                } else {
                    l / oldl
                }
            }
        };
        state[1] = phib + (beta / alpha) * (r - phib);
    }
    if spec.season != N {
        let t = match spec.season {
            A => y - q,
            _ => {
                if q.abs() < TOL {
                    HUGEN
                } else {
                    y / q
                }
            }
        };
        // The oldest seasonal state moves to the front, updated; the others age by one.
        let oldest = state[so + m - 1];
        state[so..so + m].rotate_right(1);
        state[so] = oldest + gamma * (t - oldest);
    }
}

/// Runs the model over `y` from `init` (the full state); returns the likelihood criterion
/// n·ln(Σe²) (+ 2·Σ ln|ŷ| for multiplicative errors), NaN when a forecast is undefined.
/// Fills `e` with the residuals and leaves the last state in `state`.
#[allow(clippy::too_many_arguments)]
fn calc(
    y: &[f64],
    m: usize,
    spec: &Spec,
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    state: &mut [f64],
    e: &mut [f64],
) -> f64 {
    let mut sse = 0.0;
    let mut log_f = 0.0;
    let has_trend = spec.trend != N;
    let so = 1 + has_trend as usize;
    for (i, &yi) in y.iter().enumerate() {
        // One-step forecast from the current state.
        let l = state[0];
        let mut f = match spec.trend {
            N => l,
            A => l + phi * state[1],
            M => {
                if state[1] < 0.0 {
                    return f64::NAN;
                }
                l * state[1].powf(phi)
            }
        };
        match spec.season {
            A => f += state[so + m - 1],
            M => f *= state[so + m - 1],
            N => {}
        }
        e[i] = match spec.error {
            M => (yi - f) / if f.abs() < TOL { f + TOL } else { f },
            _ => yi - f,
        };
        sse += e[i] * e[i];
        log_f += if f == 0.0 {
            (f.abs() + 1e-8).ln()
        } else {
            f.abs().ln()
        };
        update(state, m, spec, alpha, beta, gamma, phi, yi);
    }
    let mut lik = y.len() as f64
        * if sse == 0.0 {
            (sse + 1e-8).ln()
        } else {
            sse.ln()
        };
    if spec.error == M {
        lik += 2.0 * log_f;
    }
    lik
}

/// The admissible region of Hyndman et al. (2008), as statsforecast checks it.
fn admissible(
    alpha: f64,
    beta: Option<f64>,
    gamma: Option<f64>,
    phi: Option<f64>,
    m: usize,
) -> bool {
    let phi = phi.unwrap_or(1.0);
    if !(0.0..=1.0 + 1e-8).contains(&phi) {
        return false;
    }
    match gamma {
        None => {
            if alpha < 1.0 - 1.0 / phi || alpha > 1.0 + 1.0 / phi {
                return false;
            }
            if let Some(beta) = beta {
                if beta < alpha * (phi - 1.0) || beta > (1.0 + phi) * (2.0 - alpha) {
                    return false;
                }
            }
        }
        Some(gamma) if m > 1 => {
            let beta = beta.unwrap_or(0.0);
            if gamma < (1.0 - 1.0 / phi - alpha).max(0.0) || gamma > 1.0 + 1.0 / phi - alpha {
                return false;
            }
            let mf = m as f64;
            if alpha < 1.0 - 1.0 / phi - gamma * (1.0 - mf + phi + phi * mf) / (2.0 * phi * mf) {
                return false;
            }
            if beta < -(1.0 - phi) * (gamma / mf + alpha) {
                return false;
            }
            // The characteristic polynomial's roots must lie in the unit circle.
            let mut p = vec![
                phi * (1.0 - alpha - gamma),
                alpha + beta - alpha * phi + gamma - 1.0,
            ];
            p.extend(std::iter::repeat_n(alpha + beta - alpha * phi, m - 2));
            p.push(alpha + beta - phi);
            p.push(1.0);
            if max_root_modulus(&p) > 1.0 + 1e-10 {
                return false;
            }
        }
        Some(_) => {}
    }
    true
}

/// statsforecast's `check_param` with bounds = "both" (usual bounds and admissible).
fn check_param(
    alpha: f64,
    beta: Option<f64>,
    gamma: Option<f64>,
    phi: Option<f64>,
    m: usize,
    upper: &[f64; 4],
) -> bool {
    if alpha < LOWER[0] || alpha > upper[0] {
        return false;
    }
    if let Some(b) = beta {
        if b < LOWER[1] || b > alpha || b > upper[1] {
            return false;
        }
    }
    if let Some(p) = phi {
        if p < LOWER[3] || p > upper[3] {
            return false;
        }
    }
    if let Some(g) = gamma {
        if g < LOWER[2] || g > 1.0 - alpha || g > upper[2] {
            return false;
        }
    }
    admissible(alpha, beta, gamma, phi, m)
}

/// Least squares of `y` on the columns of `x` (row-major, `k` columns) by normal equations.
fn lstsq(x: &[f64], y: &[f64], k: usize) -> Vec<f64> {
    let mut a = vec![0.0; k * k];
    let mut b = vec![0.0; k];
    for (row, &yi) in x.chunks_exact(k).zip(y) {
        for i in 0..k {
            b[i] += row[i] * yi;
            for j in 0..k {
                a[i * k + j] += row[i] * row[j];
            }
        }
    }
    // Gaussian elimination with partial pivoting.
    let mut coef = vec![0.0; k];
    let mut order: Vec<usize> = (0..k).collect();
    for col in 0..k {
        let pivot = (col..k)
            .max_by(|&i, &j| {
                a[order[i] * k + col]
                    .abs()
                    .total_cmp(&a[order[j] * k + col].abs())
            })
            .unwrap_or(col);
        order.swap(col, pivot);
        let p = order[col];
        let d = a[p * k + col];
        if d.abs() < 1e-300 {
            continue;
        }
        for &r in &order[col + 1..] {
            let f = a[r * k + col] / d;
            for c in col..k {
                a[r * k + c] -= f * a[p * k + c];
            }
            b[r] -= f * b[p];
        }
    }
    for col in (0..k).rev() {
        let p = order[col];
        let d = a[p * k + col];
        if d.abs() < 1e-300 {
            continue;
        }
        let s: f64 = (col + 1..k).map(|c| a[p * k + c] * coef[c]).sum();
        coef[col] = (b[p] - s) / d;
    }
    coef
}

/// statsmodels' classical `seasonal_decompose` seasonal component (centred moving average
/// trend, per-position means of the detrended series, normalised).
pub(crate) fn seasonal_decompose(y: &[f64], m: usize, multiplicative: bool) -> Vec<f64> {
    let n = y.len();
    let filt: Vec<f64> = if m % 2 == 0 {
        let mut f = vec![1.0 / m as f64; m + 1];
        f[0] = 0.5 / m as f64;
        f[m] = 0.5 / m as f64;
        f
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = filt.len() / 2;
    let mut trend = vec![f64::NAN; n];
    for (t, tr) in trend.iter_mut().enumerate().take(n - half).skip(half) {
        *tr = filt
            .iter()
            .enumerate()
            .map(|(k, w)| w * y[t + k - half])
            .sum();
    }
    let detrended: Vec<f64> = y
        .iter()
        .zip(&trend)
        .map(|(v, t)| if multiplicative { v / t } else { v - t })
        .collect();
    let mut averages: Vec<f64> = (0..m)
        .map(|i| {
            let vals: Vec<f64> = detrended[i..]
                .iter()
                .step_by(m)
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            vals.iter().sum::<f64>() / vals.len() as f64
        })
        .collect();
    let mean = averages.iter().sum::<f64>() / m as f64;
    for a in &mut averages {
        if multiplicative {
            *a /= mean;
        } else {
            *a -= mean;
        }
    }
    (0..n).map(|t| averages[t % m]).collect()
}

/// statsforecast's `initstate`: level, growth and m − 1 seasonal states.
fn init_state(y: &[f64], m: usize, spec: &Spec) -> Option<Vec<f64>> {
    let n = y.len();
    let (init_seas, y_sa, m) = if spec.season != N {
        if n < 4 {
            return None;
        }
        let seasonal: Vec<f64> = if n < 3 * m {
            // A trend plus one Fourier pair, by least squares.
            let mut x = Vec::with_capacity(n * 4);
            let p = 1.0 / m as f64;
            let with_sin = (2.0 * p - (2.0 * p).round()).abs() > f64::EPSILON;
            let k = if with_sin { 4 } else { 3 };
            for t in 1..=n {
                let tt = t as f64;
                x.push(1.0);
                x.push(tt);
                if with_sin {
                    x.push((2.0 * std::f64::consts::PI * p * tt).sin());
                }
                x.push((2.0 * std::f64::consts::PI * p * tt).cos());
            }
            let c = lstsq(&x, y, k);
            if spec.season == A {
                (0..n)
                    .map(|t| y[t] - c[0] - c[1] * (t + 1) as f64)
                    .collect()
            } else {
                if y.iter().any(|&v| v <= 0.0) {
                    return None;
                }
                (0..n)
                    .map(|t| y[t] / (c[0] + c[1] * (t + 1) as f64))
                    .collect()
            }
        } else {
            seasonal_decompose(y, m, spec.season == M)
        };
        let mut init: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
        let y_sa: Vec<f64> = if spec.season == A {
            y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
        } else {
            for v in &mut init {
                *v = v.max(1e-2);
            }
            let sum: f64 = init.iter().sum();
            if sum > m as f64 {
                let denom: f64 = init.iter().map(|v| v + 1e-2).sum();
                for v in &mut init {
                    *v /= denom;
                }
            }
            y.iter()
                .zip(&seasonal)
                .map(|(v, s)| v / s.max(1e-2))
                .collect()
        };
        (init, y_sa, m)
    } else {
        (vec![], y.to_vec(), 1)
    };
    let maxn = (10usize.max(2 * m)).min(y_sa.len());
    let mut out = vec![];
    if spec.trend == N {
        out.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
    } else {
        let x: Vec<f64> = (1..=maxn).flat_map(|t| [1.0, t as f64]).collect();
        let c = lstsq(&x, &y_sa[..maxn], 2);
        let (mut l0, mut b0) = (c[0], c[1]);
        if (l0 + b0).abs() < 1e-8 {
            l0 *= 1.0 + 1e-3;
            b0 *= 1.0 - 1e-3;
        }
        out.push(l0);
        out.push(b0);
    }
    out.extend(init_seas);
    Some(out)
}

/// The full state from the optimiser's free states: the last seasonal state makes the
/// seasonal states sum to 0 (additive) or m (multiplicative).
fn full_state(free: &[f64], m: usize, spec: &Spec) -> Vec<f64> {
    let mut s = free.to_vec();
    if spec.season != N {
        let so = 1 + (spec.trend != N) as usize;
        let sum: f64 = free[so..].iter().sum();
        s.push(if spec.season == M { m as f64 } else { 0.0 } - sum);
    }
    s
}

/// (α, β, γ, φ) from the front of a parameter vector laid out as statsforecast does.
fn unpack_params(x: &[f64], spec: &Spec) -> (f64, Option<f64>, Option<f64>, Option<f64>) {
    let mut i = 1;
    let beta = (spec.trend != N).then(|| {
        i += 1;
        x[i - 1]
    });
    let gamma = (spec.season != N).then(|| {
        i += 1;
        x[i - 1]
    });
    let phi = spec.damped.then(|| x[i]);
    (x[0], beta, gamma, phi)
}

/// Fits one model (statsforecast's `etsmodel`); `None` if it cannot be fitted to `y`.
pub fn fit_model(y: &[f64], m: usize, spec: Spec) -> Option<Fit> {
    if y.iter().all(|&v| v == y[0]) {
        return fixed_alpha_ses(y);
    }
    if too_short(y.len(), &spec) {
        return None;
    }
    fit_with_bounds(y, m, spec, &mut UPPER.clone())
}

/// `upper` is shared by the candidates of one search: statsforecast's `initparam` narrows it in
/// place (β below every trend candidate's starting α so far), and we follow it so the search
/// picks the same models.
fn fit_with_bounds(y: &[f64], m: usize, spec: Spec, upper: &mut [f64; 4]) -> Option<Fit> {
    // Too short for a season: it is dropped, as statsforecast does.
    let spec = if spec.season != N && y.len() <= m {
        Spec { season: N, ..spec }
    } else {
        spec
    };
    let m = if spec.season == N { 1 } else { m };
    if spec.season != N && m < 2 {
        return None;
    }
    if (spec.error == M || spec.season == M) && y.iter().any(|&v| v <= 0.0) {
        return None;
    }
    // Starting values (statsforecast's initparam).
    let alpha0 = {
        let a = LOWER[0] + 0.2 * (upper[0] - LOWER[0]) / m as f64;
        if !(0.0..=1.0).contains(&a) {
            LOWER[0] + 2e-3
        } else {
            a
        }
    };
    let mut params = vec![alpha0];
    let mut lower_b = vec![LOWER[0]];
    let mut upper_b = vec![UPPER[0]];
    if spec.trend != N {
        upper[1] = upper[1].min(alpha0);
        let mut b = LOWER[1] + 0.1 * (upper[1] - LOWER[1]);
        if b < 0.0 || b > alpha0 {
            b = alpha0 - 1e-3;
        }
        params.push(b);
        lower_b.push(LOWER[1]);
        upper_b.push(upper[1]);
    }
    if spec.season != N {
        upper[2] = upper[2].min(1.0 - alpha0);
        let mut g = LOWER[2] + 0.05 * (upper[2] - LOWER[2]);
        if g < 0.0 || g > 1.0 - alpha0 {
            g = 1.0 - alpha0 - 1e-3;
        }
        params.push(g);
        lower_b.push(LOWER[2]);
        upper_b.push(upper[2]);
    }
    if spec.damped {
        let mut p = LOWER[3] + 0.99 * (upper[3] - LOWER[3]);
        if !(0.0..=1.0).contains(&p) {
            p = upper[3] - 1e-3;
        }
        params.push(p);
        lower_b.push(LOWER[3]);
        upper_b.push(upper[3]);
    }
    let n_smoothing = params.len();
    {
        let (alpha, beta, gamma, phi) = unpack_params(&params, &spec);
        if !check_param(alpha, beta, gamma, phi, m, upper) {
            return None;
        }
    }
    let state0 = init_state(y, m, &spec)?;
    let n_state = state0.len();
    let mut x0 = params;
    x0.extend_from_slice(&state0);
    lower_b.extend(std::iter::repeat_n(f64::NEG_INFINITY, n_state));
    upper_b.extend(std::iter::repeat_n(f64::INFINITY, n_state));
    let np = x0.len();
    if np >= y.len() - 1 {
        return None;
    }
    let unpack = |x: &[f64]| unpack_params(x, &spec);
    let mut e = vec![0.0; y.len()];
    // statsforecast's objective: no smoothing-parameter checks beyond the optimiser's box.
    let mut objective = |x: &[f64]| -> f64 {
        let (alpha, beta, gamma, phi) = unpack(x);
        let mut state = full_state(&x[n_smoothing..], m, &spec);
        if spec.season == M {
            let so = 1 + (spec.trend != N) as usize;
            if state[so..].iter().any(|&s| s < 0.0) {
                return f64::INFINITY;
            }
        }
        let lik = calc(
            y,
            m,
            &spec,
            alpha,
            beta.unwrap_or(0.0),
            gamma.unwrap_or(0.0),
            phi.unwrap_or(1.0),
            &mut state,
            &mut e,
        );
        // NaN scores −∞ there (the candidate is dropped afterwards, when its likelihood is
        // recomputed as NaN).
        if lik.is_nan() {
            f64::NEG_INFINITY
        } else {
            lik.max(-1e10)
        }
    };
    let best = nelder_mead(&mut objective, &x0, &lower_b, &upper_b, 1e-4, 1000);
    let (alpha, beta, gamma, phi) = unpack(&best);
    let mut state = full_state(&best[n_smoothing..], m, &spec);
    let mut e = vec![0.0; y.len()];
    let (beta, gamma, phi) = (
        beta.unwrap_or(0.0),
        gamma.unwrap_or(0.0),
        phi.unwrap_or(1.0),
    );
    let lik = calc(y, m, &spec, alpha, beta, gamma, phi, &mut state, &mut e);
    if !lik.is_finite() {
        return None;
    }
    let ny = y.len() as f64;
    let np_eff = (np + 1) as f64;
    let aic = lik + 2.0 * np_eff;
    let aicc = aic + 2.0 * np_eff * (np_eff + 1.0) / (ny - np_eff - 1.0);
    Some(Fit {
        spec,
        m,
        alpha,
        beta,
        gamma,
        phi,
        last_state: state,
        sigma2: e.iter().map(|v| v * v).sum::<f64>() / (ny - np_eff - 1.0),
        residuals: e,
        aicc,
    })
}

/// Every model AutoETS tries on `y` with season length `m`.
pub fn candidates(y: &[f64], m: usize) -> Vec<Spec> {
    let positive = y.iter().all(|&v| v > 0.0);
    let seasonal = m > 1 && y.len() > m;
    let mut out = vec![];
    for error in [A, M] {
        for trend in [N, A] {
            for season in [N, A, M] {
                for damped in [true, false] {
                    if trend == N && damped {
                        continue;
                    }
                    if error == A && season == M {
                        continue;
                    }
                    if !positive && (error == M || season == M) {
                        continue;
                    }
                    if season != N && !seasonal {
                        continue;
                    }
                    out.push(Spec {
                        error,
                        trend,
                        damped,
                        season,
                    });
                }
            }
        }
    }
    out
}

/// Too short for a model with these components (statsforecast's "tiny datasets" rule).
fn too_short(n: usize, spec: &Spec) -> bool {
    let mut npars = 2 + spec.damped as usize;
    if spec.trend != N {
        npars += 2;
    }
    if spec.season != N {
        npars += 2;
    }
    n <= npars + 4
}

/// AutoETS: the candidate with the lowest AICc (a constant series gets simple exponential
/// smoothing with α = 0.9999, as statsforecast does).
pub fn auto(y: &[f64], m: usize) -> Option<Fit> {
    // Too short for any model ("tiny datasets" in statsforecast); callers fall back to naive.
    if y.len() <= 6 {
        return None;
    }
    if y.iter().all(|&v| v == y[0]) {
        return fixed_alpha_ses(y);
    }
    let mut best: Option<Fit> = None;
    let mut upper = UPPER;
    for spec in candidates(y, m) {
        if let Some(fit) = fit_with_bounds(y, m, spec, &mut upper) {
            if fit.aicc.is_finite() && best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                best = Some(fit);
            }
        }
    }
    best
}

/// A constant series: simple exponential smoothing with α = 0.9999 (statsforecast's choice),
/// which forecasts the constant with zero-width intervals; no likelihood to report.
fn fixed_alpha_ses(y: &[f64]) -> Option<Fit> {
    let spec = Spec {
        error: A,
        trend: N,
        damped: false,
        season: N,
    };
    Some(Fit {
        spec,
        m: 1,
        alpha: 0.9999,
        beta: 0.0,
        gamma: 0.0,
        phi: 1.0,
        last_state: vec![*y.first()?],
        residuals: vec![0.0; y.len()],
        sigma2: 0.0,
        aicc: f64::NAN,
    })
}

/// Point forecasts and the variance of each step's forecast error.
pub fn forecast(fit: &Fit, h: usize) -> (Vec<f64>, Vec<f64>) {
    let mean = forecast_from(&fit.last_state, fit.m, &fit.spec, fit.phi, h);
    let var = variance(fit, &mean, h);
    (mean, var)
}

fn sigmah_class2(pf: &[f64], sigma: f64, cvals: &[f64]) -> Vec<f64> {
    let h = pf.len();
    let mut theta = vec![0.0; h];
    theta[0] = pf[0] * pf[0];
    for k in 1..h {
        let sum: f64 = (0..k).map(|j| cvals[j] * cvals[j] * theta[k - 1 - j]).sum();
        theta[k] = pf[k] * pf[k] + sigma * sum;
    }
    (0..h)
        .map(|k| (1.0 + sigma) * theta[k] - pf[k] * pf[k])
        .collect()
}

/// statsforecast's `_compute_pred_intervals` variances (classes 1 to 3).
fn variance(fit: &Fit, pf: &[f64], h: usize) -> Vec<f64> {
    let sigma = fit.sigma2;
    let (alpha, beta, gamma, phi) = (fit.alpha, fit.beta, fit.gamma, fit.phi);
    let m = fit.m as f64;
    let spec = fit.spec;
    let steps: Vec<f64> = (1..=h).map(|s| s as f64).collect();
    let hm = ((h as f64 - 1.0) / m).floor();
    let exp1 = |s: f64| alpha * alpha + alpha * beta * s + beta * beta * s * (2.0 * s - 1.0) / 6.0;
    let exp2 = |s: f64| beta * phi * s / (1.0 - phi).powi(2);
    let exp3 = 2.0 * alpha * (1.0 - phi) + beta * phi;
    let exp4 =
        |s: f64| beta * phi * (1.0 - phi.powf(s)) / ((1.0 - phi).powi(2) * (1.0 - phi * phi));
    let exp5 =
        |s: f64| 2.0 * alpha * (1.0 - phi * phi) + beta * phi * (1.0 + 2.0 * phi - phi.powf(s));
    let dvals: Vec<f64> = (1..=h)
        .map(|k| if k % fit.m == 0 { 1.0 } else { 0.0 })
        .collect();
    let sum_phi = |k: usize| (1..=k).map(|j| phi.powi(j as i32)).sum::<f64>();
    match (spec.error, spec.trend, spec.damped, spec.season) {
        (A, N, _, N) => steps
            .iter()
            .map(|s| sigma * (1.0 + alpha * alpha * (s - 1.0)))
            .collect(),
        (A, A, false, N) => steps
            .iter()
            .map(|&s| sigma * (1.0 + (s - 1.0) * exp1(s)))
            .collect(),
        (A, A, true, N) => steps
            .iter()
            .map(|&s| {
                sigma * (1.0 + alpha * alpha * (s - 1.0) + exp2(s) * exp3 - exp4(s) * exp5(s))
            })
            .collect(),
        (A, N, _, A) => steps
            .iter()
            .map(|&s| {
                sigma * (1.0 + alpha * alpha * (s - 1.0) + gamma * hm * (2.0 * alpha + gamma))
            })
            .collect(),
        (A, A, false, A) => {
            let exp6 = 2.0 * alpha + gamma + beta * m * (hm + 1.0);
            steps
                .iter()
                .map(|&s| sigma * (1.0 + (s - 1.0) * exp1(s) + gamma * hm * exp6))
                .collect()
        }
        (A, A, true, A) => {
            let exp7 = 2.0 * beta * gamma * phi / ((1.0 - phi) * (1.0 - phi.powf(m)));
            let exp8 = hm * (1.0 - phi.powf(m)) - phi.powf(m) * (1.0 - phi.powf(m * hm));
            steps
                .iter()
                .map(|&s| {
                    sigma
                        * (1.0 + alpha * alpha * (s - 1.0) + exp2(s) * exp3 - exp4(s) * exp5(s)
                            + gamma * hm * (2.0 * alpha + gamma)
                            + exp7 * exp8)
                })
                .collect()
        }
        (M, N, _, N) => sigmah_class2(pf, sigma, &vec![alpha; h]),
        (M, A, false, N) => sigmah_class2(
            pf,
            sigma,
            &steps.iter().map(|s| alpha + beta * s).collect::<Vec<_>>(),
        ),
        (M, A, true, N) => sigmah_class2(
            pf,
            sigma,
            &(1..=h)
                .map(|k| alpha + beta * sum_phi(k))
                .collect::<Vec<_>>(),
        ),
        (M, N, _, A) => sigmah_class2(
            pf,
            sigma,
            &dvals.iter().map(|d| alpha + gamma * d).collect::<Vec<_>>(),
        ),
        // The book's c_j = α + βj + γd_j (statsforecast 2.1.1 multiplies α and βj; fixed upstream).
        (M, A, false, A) => sigmah_class2(
            pf,
            sigma,
            &steps
                .iter()
                .zip(&dvals)
                .map(|(s, d)| alpha + beta * s + gamma * d)
                .collect::<Vec<_>>(),
        ),
        (M, A, true, A) => sigmah_class2(
            pf,
            sigma,
            &(1..=h)
                .map(|k| alpha + beta * sum_phi(k) + gamma * dvals[k - 1])
                .collect::<Vec<_>>(),
        ),
        (M, _, _, M) => super::ets_class3::variance(fit, h),
        _ => vec![f64::NAN; h],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ["ANN", "AAdN", "MAM", "MAdM", "ANA"] {
            assert_eq!(Spec::parse(name).unwrap().name(), name);
        }
        assert!(Spec::parse("AAM").is_none());
        assert!(Spec::parse("MMN").is_none());
        assert!(Spec::parse("ANdN").is_none());
    }

    #[test]
    fn long_seasons_fit() {
        // A season longer than any fixed buffer (weekly data with a yearly cycle and more).
        let y: Vec<f64> = (0..400)
            .map(|t| {
                100.0
                    + 10.0 * ((t % 60) as f64 / 60.0 * std::f64::consts::TAU).sin()
                    + (t % 7) as f64
            })
            .collect();
        let fit = fit_model(&y, 60, Spec::parse("ANA").unwrap()).unwrap();
        let (mean, var) = forecast(&fit, 70);
        assert!(mean.iter().all(|v| v.is_finite()) && var.iter().all(|v| *v >= 0.0));
    }

    #[test]
    fn decomposition_of_a_pure_season() {
        let y: Vec<f64> = (0..28)
            .map(|t| 10.0 + [1.0, -1.0, 2.0, -2.0][t % 4])
            .collect();
        let s = seasonal_decompose(&y, 4, false);
        assert!((s[0] - 1.0).abs() < 1e-12 && (s[3] + 2.0).abs() < 1e-12);
    }
}

//! The Theta method family (standard/optimised, static/dynamic: STM, OTM, DSTM, DOTM) and its
//! automatic choice, as statsforecast's `AutoTheta` runs it (Fiorucci et al. 2016): a
//! seasonality test, classical decomposition, Nelder-Mead on the in-sample error, and the
//! model with the lowest error. Intervals are the exact Gaussian limit of statsforecast's
//! simulation (which draws only 200 paths), so they do not depend on a random seed.

use super::ets::seasonal_decompose;
use super::nelder_mead::nelder_mead;

const TOL: f64 = 1e-10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Stm,
    Otm,
    Dstm,
    Dotm,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Stm => "STM",
            Kind::Otm => "OTM",
            Kind::Dstm => "DSTM",
            Kind::Dotm => "DOTM",
        }
    }

    fn dynamic(self) -> bool {
        matches!(self, Kind::Dstm | Kind::Dotm)
    }

    fn optimised(self) -> bool {
        matches!(self, Kind::Otm | Kind::Dotm)
    }
}

/// State row: level, mean of y so far, A, B, one-step forecast.
type Row = [f64; 5];

fn init_row(y: &[f64], kind: Kind, l0: f64, alpha: f64, theta: f64) -> Row {
    let n = y.len() as f64;
    let (an, bn, mu) = if kind.dynamic() {
        (y[0], 0.0, y[0])
    } else {
        let ym = y.iter().sum::<f64>() / n;
        let wa = y
            .iter()
            .enumerate()
            .map(|(t, v)| (t + 1) as f64 * v)
            .sum::<f64>()
            / n;
        let bn = 6.0 * (2.0 * wa - (n + 1.0) * ym) / (n * n - 1.0);
        let an = ym - (n + 1.0) * bn / 2.0;
        (an, bn, l0 + (1.0 - 1.0 / theta) * (an + bn))
    };
    [alpha * y[0] + (1.0 - alpha) * l0, y[0], an, bn, mu]
}

/// The row for time index `i` after `prev`; `y = None` uses the row's own forecast.
fn step(prev: &Row, i: usize, kind: Kind, alpha: f64, theta: f64, y: Option<f64>) -> Row {
    let [level, meany, an, bn, _] = *prev;
    let fi = i as f64;
    let mu = level
        + (1.0 - 1.0 / theta)
            * (an * (1.0 - alpha).powf(fi) + bn * (1.0 - (1.0 - alpha).powf(fi + 1.0)) / alpha);
    let y = y.unwrap_or(mu);
    let new_mean = (fi * meany + y) / (fi + 1.0);
    let (a, b) = if kind.dynamic() {
        let b = ((fi - 1.0) * bn + 6.0 * (y - meany) / (fi + 1.0)) / (fi + 2.0);
        (new_mean - b * (fi + 2.0) / 2.0, b)
    } else {
        (an, bn)
    };
    [alpha * y + (1.0 - alpha) * level, new_mean, a, b, mu]
}

/// (objective = Σ_{t≥3} e² / mean|y|, residuals, last row).
fn calc(y: &[f64], kind: Kind, l0: f64, alpha: f64, theta: f64) -> (f64, Vec<f64>, Row) {
    let mut row = init_row(y, kind, l0, alpha, theta);
    let mut e = vec![0.0; y.len()];
    e[0] = y[0] - row[4];
    for i in 1..y.len() {
        let next = step(&row, i, kind, alpha, theta, Some(y[i]));
        e[i] = y[i] - next[4];
        row = next;
    }
    let mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
    let sse: f64 = e.iter().skip(3).map(|v| v * v).sum();
    (sse / mean_abs.max(TOL), e, row)
}

#[derive(Debug, Clone)]
pub struct ThetaFit {
    pub kind: Kind,
    pub mean: Vec<f64>,
    pub lo: Vec<Vec<f64>>,
    pub hi: Vec<Vec<f64>>,
}

fn fit_kind(y: &[f64], kind: Kind) -> (f64, Vec<f64>) {
    let mut x0 = vec![y[0] / 2.0, 0.5];
    let mut lo = vec![-1e10, 0.1];
    let mut hi = vec![1e10, 0.99];
    if kind.optimised() {
        x0.push(2.0);
        lo.push(1.0);
        hi.push(1e10);
    }
    let mut f = |p: &[f64]| {
        let theta = if kind.optimised() { p[2] } else { 2.0 };
        let v = calc(y, kind, p[0], p[1], theta).0.max(-1e10);
        if v.is_nan() {
            f64::NEG_INFINITY
        } else {
            v
        }
    };
    let best = nelder_mead(&mut f, &x0, &lo, &hi, 1e-4, 1000);
    let value = f(&best);
    (value, best)
}

/// statsforecast's seasonality test: the lag-m autocorrelation beyond the 90% band.
fn seasonal(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 4 || n < 2 * m {
        return false;
    }
    let mean = y.iter().sum::<f64>() / n as f64;
    let denom: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    if denom == 0.0 {
        return false;
    }
    let r = |k: usize| {
        (0..n - k)
            .map(|t| (y[t] - mean) * (y[t + k] - mean))
            .sum::<f64>()
            / denom
    };
    let se = ((1.0 + 2.0 * (1..m).map(|k| r(k).powi(2)).sum::<f64>()) / n as f64).sqrt();
    r(m).abs() / se > 1.644_853_626_951_472_2
}

/// AutoTheta: `None` when the series is too short (3 points or fewer).
pub fn auto(y: &[f64], m: usize, h: usize, z: &[f64]) -> Option<ThetaFit> {
    if y.len() <= 3 {
        return None;
    }
    let n = y.len();
    // Deseasonalise when the test says so: multiplicative unless the data or indices forbid it.
    let mut season: Option<(Vec<f64>, bool)> = None;
    if seasonal(y, m) {
        let mut multiplicative = y.iter().all(|&v| v > 0.0);
        let mut s = seasonal_decompose(y, m, multiplicative);
        if multiplicative && s.iter().any(|&v| v < 0.01) {
            multiplicative = false;
            s = seasonal_decompose(y, m, false);
        }
        season = Some((s, multiplicative));
    }
    let y_sa: Vec<f64> = match &season {
        Some((s, true)) => y.iter().zip(s).map(|(v, s)| v / s).collect(),
        Some((s, false)) => y.iter().zip(s).map(|(v, s)| v - s).collect(),
        None => y.to_vec(),
    };
    let mut best: Option<(Kind, f64, Vec<f64>)> = None;
    for kind in [Kind::Stm, Kind::Otm, Kind::Dstm, Kind::Dotm] {
        let (value, params) = fit_kind(&y_sa, kind);
        if best.as_ref().is_none_or(|b| value < b.1) {
            best = Some((kind, value, params));
        }
    }
    let (kind, _, p) = best?;
    let (alpha, theta) = (p[1], if kind.optimised() { p[2] } else { 2.0 });
    let (_, e, last) = calc(&y_sa, kind, p[0], alpha, theta);
    // Point forecasts run the model's own update.
    let mut row = last;
    let mut mean = Vec::with_capacity(h);
    for j in 0..h {
        row = step(&row, n + j, kind, alpha, theta, None);
        mean.push(row[4]);
    }
    // Intervals: statsforecast simulates from the last row with the dynamic update and the
    // running mean restarted at mean(y_sa); the path is linear in the draws, so its quantiles
    // are centre ± z·σ·‖weights‖.
    let seasonal_future: Vec<f64> = match &season {
        Some((s, _)) => (0..h).map(|j| s[n - m + j % m]).collect(),
        None => vec![0.0; h],
    };
    let residuals: Vec<f64> = match &season {
        Some((s, true)) => e.iter().zip(s).map(|(e, s)| e * s).collect(),
        // statsforecast adds the seasonal index to the residuals here; kept so the band matches.
        Some((s, false)) => e.iter().zip(s).map(|(e, s)| e + s).collect(),
        None => e.clone(),
    };
    let tail = &residuals[3.min(residuals.len())..];
    let sigma = if tail.len() > 1 {
        let mu = tail.iter().sum::<f64>() / tail.len() as f64;
        (tail.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (tail.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    let start: Row = [
        last[0],
        y_sa.iter().sum::<f64>() / n as f64,
        last[2],
        last[3],
        last[4],
    ];
    // One simulated path with a unit draw at step `shock` (none for the centre).
    let simulate = |shock: Option<usize>| -> Vec<f64> {
        let [mut level, mut meany, mut a, mut b, _] = start;
        (0..h)
            .map(|j| {
                let i = (n + j) as f64;
                let eps = if shock == Some(j) { 1.0 } else { 0.0 };
                let x = level
                    + (1.0 - 1.0 / theta)
                        * (a * (1.0 - alpha).powf(i)
                            + b * (1.0 - (1.0 - alpha).powf(i + 1.0)) / alpha)
                    + eps;
                level = alpha * x + (1.0 - alpha) * level;
                meany = (i * meany + x) / (i + 1.0);
                b = ((i - 1.0) * b + 6.0 * (x - meany) / (i + 1.0)) / (i + 2.0);
                a = meany - b * (i + 2.0) / 2.0;
                x
            })
            .collect()
    };
    let centre = simulate(None);
    let mut weights2 = vec![0.0; h];
    for k in 0..h {
        let path = simulate(Some(k));
        for j in k..h {
            weights2[j] += (path[j] - centre[j]).powi(2);
        }
    }
    let scale = |v: f64, j: usize| match &season {
        Some((_, true)) => v * seasonal_future[j],
        Some((_, false)) => v + seasonal_future[j],
        None => v,
    };
    let mut lo = vec![];
    let mut hi = vec![];
    for &zv in z {
        lo.push(
            (0..h)
                .map(|j| scale(centre[j] - zv * sigma * weights2[j].sqrt(), j))
                .collect(),
        );
        hi.push(
            (0..h)
                .map(|j| scale(centre[j] + zv * sigma * weights2[j].sqrt(), j))
                .collect(),
        );
    }
    Some(ThetaFit {
        kind,
        mean: (0..h).map(|j| scale(mean[j], j)).collect(),
        lo,
        hi,
    })
}

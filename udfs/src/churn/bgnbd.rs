//! The BG/NBD model of Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way":
//! maximum-likelihood fit and the per-customer predictions, as the `lifetimes` package
//! defines them.

use datafusion::common::HashMap;

use super::optimize::minimize_from_starts;

/// Above this many distinct histories the likelihood is summed on several threads.
const PARALLEL_ROWS: usize = 50_000;
const CHUNKS: usize = 4;
use super::special::{digamma, hyp2f1, ln_gamma};

/// Fitted BG/NBD parameters (r, α: purchase rate gamma; a, b: dropout beta).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

/// A fit's outcome: parameters, total log-likelihood (without the penalty) and whether the
/// optimiser converged to an interior optimum.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BgNbdFit {
    pub params: BgNbd,
    pub log_likelihood: f64,
    pub converged: bool,
}

/// Customers as distinct (frequency, recency, T) histories with how many share each.
#[derive(Debug, Default)]
pub(crate) struct Histories {
    xs: Vec<f64>,
    txs: Vec<f64>,
    ts: Vec<f64>,
    /// (index into xs, into txs, into ts, weight)
    rows: Vec<(u32, u32, u32, f64)>,
    customers: f64,
    max_t: f64,
}

fn index_of(map: &mut HashMap<u64, u32>, values: &mut Vec<f64>, v: f64) -> u32 {
    *map.entry(v.to_bits()).or_insert_with(|| {
        values.push(v);
        (values.len() - 1) as u32
    })
}

impl Histories {
    /// `rows` are valid (frequency, recency, T) triples (see `check_history`).
    pub(crate) fn new(rows: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        let mut h = Histories::default();
        let (mut xi, mut txi, mut ti) =
            (HashMap::default(), HashMap::default(), HashMap::default());
        let mut weights: HashMap<(u32, u32, u32), f64> = HashMap::default();
        for (x, tx, t) in rows {
            let key = (
                index_of(&mut xi, &mut h.xs, x),
                index_of(&mut txi, &mut h.txs, tx),
                index_of(&mut ti, &mut h.ts, t),
            );
            *weights.entry(key).or_default() += 1.0;
            h.customers += 1.0;
            h.max_t = h.max_t.max(t);
        }
        h.rows = weights
            .into_iter()
            .map(|((a, b, c), w)| (a, b, c, w))
            .collect();
        // A fixed order makes the sums, and so the fit, independent of the input order.
        h.rows.sort_by(|p, q| {
            (h.xs[p.0 as usize], h.txs[p.1 as usize], h.ts[p.2 as usize])
                .partial_cmp(&(h.xs[q.0 as usize], h.txs[q.1 as usize], h.ts[q.2 as usize]))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        h
    }

    pub(crate) fn customers(&self) -> usize {
        self.customers as usize
    }

    /// Mean negative log-likelihood plus lifetimes' penalty, and its gradient in
    /// θ = ln(r, α, a, b). lifetimes fits with time rescaled by 1/max(T) and penalises the
    /// rescaled parameters, so α enters the penalty as α / max(T).
    fn objective(&self, theta: &[f64], grad: &mut [f64], penalizer: f64) -> f64 {
        let (r, alpha, a, b) = (
            theta[0].exp(),
            theta[1].exp(),
            theta[2].exp(),
            theta[3].exp(),
        );
        let (ll, g) = self.log_likelihood(&BgNbd { r, alpha, a, b }, true);
        let n = self.customers;
        let scaled_alpha = alpha / self.max_t;
        let params = [r, alpha, a, b];
        for i in 0..4 {
            grad[i] = -g[i] / n * params[i];
        }
        grad[0] += 2.0 * penalizer * r * r;
        grad[1] += 2.0 * penalizer * scaled_alpha * scaled_alpha;
        grad[2] += 2.0 * penalizer * a * a;
        grad[3] += 2.0 * penalizer * b * b;
        -ll / n + penalizer * (r * r + scaled_alpha * scaled_alpha + a * a + b * b)
    }

    /// Total log-likelihood and (if asked) its gradient in (r, α, a, b).
    pub(crate) fn log_likelihood(&self, p: &BgNbd, with_gradient: bool) -> (f64, [f64; 4]) {
        let BgNbd { r, alpha, a, b } = *p;
        let ln_alpha = alpha.ln();
        let (lg_r, lg_b, lg_ab) = (ln_gamma(r), ln_gamma(b), ln_gamma(a + b));
        let (dg_r, dg_b, dg_ab) = if with_gradient {
            (digamma(r), digamma(b), digamma(a + b))
        } else {
            (0.0, 0.0, 0.0)
        };
        // Per distinct frequency: the terms that depend on x only.
        struct PerX {
            base: f64,
            ln_a_b: f64,
            dr: f64,
            da: f64,
            db: f64,
        }
        let per_x: Vec<PerX> = self
            .xs
            .iter()
            .map(|&x| {
                let base = ln_gamma(r + x) - lg_r + r * ln_alpha + lg_ab + ln_gamma(b + x)
                    - lg_b
                    - ln_gamma(a + b + x);
                let ln_a_b = if x > 0.0 {
                    a.ln() - (b + x - 1.0).ln()
                } else {
                    0.0
                };
                if !with_gradient {
                    return PerX {
                        base,
                        ln_a_b,
                        dr: 0.0,
                        da: 0.0,
                        db: 0.0,
                    };
                }
                let dg_abx = digamma(a + b + x);
                PerX {
                    base,
                    ln_a_b,
                    dr: digamma(r + x) - dg_r + ln_alpha,
                    da: dg_ab - dg_abx,
                    db: dg_ab + digamma(b + x) - dg_b - dg_abx,
                }
            })
            .collect();
        let ln_t: Vec<f64> = self.ts.iter().map(|t| (alpha + t).ln()).collect();
        let ln_tx: Vec<f64> = self.txs.iter().map(|t| (alpha + t).ln()).collect();
        let inv_t: Vec<f64> = self.ts.iter().map(|t| 1.0 / (alpha + t)).collect();
        let inv_tx: Vec<f64> = self.txs.iter().map(|t| 1.0 / (alpha + t)).collect();
        let sum = |rows: &[(u32, u32, u32, f64)]| -> (f64, [f64; 4]) {
            let mut ll = 0.0;
            let mut g = [0.0; 4];
            for &(xi, txi, ti, w) in rows {
                let x = self.xs[xi as usize];
                let px = &per_x[xi as usize];
                let (lt, ltx) = (ln_t[ti as usize], ln_tx[txi as usize]);
                let a3 = -(r + x) * lt;
                let (value, p3) = if x > 0.0 {
                    // log(e^a3 + e^a4) and e^a3 / (e^a3 + e^a4) from one exponential.
                    let a4 = px.ln_a_b - (r + x) * ltx;
                    let d = (-(a3 - a4).abs()).exp();
                    let p_big = 1.0 / (1.0 + d);
                    let p3 = if a3 >= a4 { p_big } else { 1.0 - p_big };
                    (px.base + a3.max(a4) + d.ln_1p(), p3)
                } else {
                    (px.base + a3, 1.0)
                };
                ll += w * value;
                if with_gradient {
                    let p4 = 1.0 - p3;
                    let (it, itx) = (inv_t[ti as usize], inv_tx[txi as usize]);
                    g[0] += w * (px.dr - p3 * lt - p4 * ltx);
                    g[1] += w * (r / alpha - (r + x) * (p3 * it + p4 * itx));
                    g[2] += w * (px.da + p4 / a);
                    if x > 0.0 {
                        g[3] += w * (px.db - p4 / (b + x - 1.0));
                    } else {
                        g[3] += w * px.db;
                    }
                }
            }
            (ll, g)
        };
        if self.rows.len() < PARALLEL_ROWS {
            return sum(&self.rows);
        }
        // A fixed number of chunks keeps the sums, and so the fit, the same on any machine.
        let chunk = self.rows.len().div_ceil(CHUNKS);
        let parts: Vec<(f64, [f64; 4])> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .rows
                .chunks(chunk)
                .map(|rows| scope.spawn(move || sum(rows)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or((f64::NAN, [f64::NAN; 4])))
                .collect()
        });
        parts.into_iter().fold((0.0, [0.0; 4]), |(ll, g), (l, p)| {
            (ll + l, [g[0] + p[0], g[1] + p[1], g[2] + p[2], g[3] + p[3]])
        })
    }

    /// Maximum-likelihood fit (with lifetimes' L2 penalty when `penalizer` > 0). `None` when
    /// the data cannot identify the model: fewer than two customers, nobody with a repeat
    /// purchase, or every customer's T = 0.
    pub(crate) fn fit(&self, penalizer: f64) -> Option<BgNbdFit> {
        if self.customers < 2.0 || self.max_t <= 0.0 || self.xs.iter().all(|&x| x == 0.0) {
            return None;
        }
        let s = self.max_t;
        // lifetimes starts at 1 for every rescaled parameter; the other starts guard against
        // a flat region on odd data.
        let starts = [
            [1.0, s, 1.0, 1.0],
            [0.5, 0.5 * s, 0.5, 2.0],
            [2.0, 0.1 * s, 2.0, 5.0],
        ];
        let starts: Vec<&[f64]> = starts.iter().map(|s| s.as_slice()).collect();
        let (theta, converged) =
            minimize_from_starts(|t, g| self.objective(t, g, penalizer), &starts)?;
        let params = BgNbd {
            r: theta[0].exp(),
            alpha: theta[1].exp(),
            a: theta[2].exp(),
            b: theta[3].exp(),
        };
        // A parameter running off to 0 or infinity means the likelihood has no interior optimum.
        let interior = [params.r, params.alpha / s, params.a, params.b]
            .iter()
            .all(|v| (1e-6..1e6).contains(v));
        let (ll, _) = self.log_likelihood(&params, false);
        Some(BgNbdFit {
            params,
            log_likelihood: ll,
            converged: converged && interior && ll.is_finite(),
        })
    }
}

impl BgNbd {
    /// P(alive | x, t_x, T); 1 for customers without a repeat purchase (a model property).
    pub(crate) fn p_alive(&self, x: f64, tx: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let log_div = (self.r + x) * ((self.alpha + t) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x - 1.0)).ln();
        1.0 / (1.0 + log_div.exp())
    }

    /// E[purchases in the next `horizon` time units | x, t_x, T] (FHL 2005, eq. 10).
    pub(crate) fn expected_purchases(&self, horizon: f64, x: f64, tx: f64, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (ha, hb, hc) = (r + x, b + x, a + b + x - 1.0);
        let z = horizon / (alpha + t + horizon);
        let mut ln_hyp = hyp2f1(ha, hb, hc, z).ln();
        if ln_hyp.is_infinite() {
            // lifetimes' fallback: Euler's transformation of the same function.
            ln_hyp = hyp2f1(hc - ha, hc - hb, hc, z).ln() + (hc - ha - hb) * (1.0 - z).ln();
        }
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = 1.0 - (ln_hyp + (r + x) * ((alpha + t) / (alpha + horizon + t)).ln()).exp();
        let denominator = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((alpha + t) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        first * second / denominator
    }
}

/// Checks one customer's (frequency, recency, T) the way lifetimes does, with a message
/// saying what is wrong.
pub(crate) fn check_history(x: f64, tx: f64, t: f64) -> Result<(), String> {
    if !(x.is_finite() && tx.is_finite() && t.is_finite()) {
        return Err("frequency, recency and T must be finite numbers".into());
    }
    if x < 0.0 || x.fract() != 0.0 {
        return Err(format!(
            "frequency must be a whole number of repeat purchases (>= 0), got {x}"
        ));
    }
    if tx < 0.0 || t < 0.0 {
        return Err(format!(
            "recency and T must be >= 0, got recency {tx}, T {t}"
        ));
    }
    if tx > t {
        return Err(format!(
            "recency (age at the last purchase, {tx}) is larger than T (age at the end of observation, {t})"
        ));
    }
    if x == 0.0 && tx != 0.0 {
        return Err(format!(
            "recency must be 0 for a customer without repeat purchases, got {tx}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let h = Histories::new([
            (0.0, 0.0, 30.0),
            (2.0, 20.0, 38.0),
            (5.0, 35.0, 39.0),
            (1.0, 3.0, 10.0),
            (0.0, 0.0, 0.0),
        ]);
        let theta = [0.3f64.ln(), 4.0f64.ln(), 0.8f64.ln(), 2.5f64.ln()];
        let mut g = [0.0; 4];
        h.objective(&theta, &mut g, 0.1);
        for i in 0..4 {
            let (mut up, mut down) = (theta, theta);
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let mut scratch = [0.0; 4];
            let numeric = (h.objective(&up, &mut scratch, 0.1)
                - h.objective(&down, &mut scratch, 0.1))
                / 2e-6;
            assert!((g[i] - numeric).abs() < 1e-7, "{i}: {} vs {numeric}", g[i]);
        }
    }

    #[test]
    fn histories_are_checked() {
        assert!(check_history(1.5, 1.0, 2.0).is_err());
        assert!(check_history(1.0, 3.0, 2.0).is_err());
        assert!(check_history(0.0, 1.0, 2.0).is_err());
        assert!(check_history(2.0, 1.0, 2.0).is_ok());
    }
}

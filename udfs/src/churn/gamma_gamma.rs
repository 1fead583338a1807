//! The Gamma-Gamma model of average transaction value (Fader, Hardie & Lee 2005, "RFM and
//! CLV"; Fader & Hardie 2013, note 025), as the `lifetimes` package fits and applies it.

use datafusion::common::HashMap;

use super::bgnbd::BgNbd;
use super::optimize::minimize_from_starts;
use super::special::{digamma, ln_gamma};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct GammaGammaFit {
    pub params: GammaGamma,
    pub log_likelihood: f64,
    pub converged: bool,
}

/// Repeat customers as (frequency, mean repeat spend), grouped by frequency.
#[derive(Debug, Default)]
pub(crate) struct Spends {
    xs: Vec<f64>,
    /// (index into xs, spend, ln spend)
    rows: Vec<(u32, f64, f64)>,
}

impl Spends {
    /// Keeps the customers the model applies to: frequency > 0 and mean spend > 0.
    pub(crate) fn new(rows: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut s = Spends::default();
        let mut index: HashMap<u64, u32> = HashMap::default();
        let mut kept: Vec<(f64, f64)> = rows
            .into_iter()
            .filter(|&(x, m)| x > 0.0 && m > 0.0 && x.is_finite() && m.is_finite())
            .collect();
        // A fixed order makes the sums, and so the fit, independent of the input order.
        kept.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        for (x, m) in kept {
            let i = *index.entry(x.to_bits()).or_insert_with(|| {
                s.xs.push(x);
                (s.xs.len() - 1) as u32
            });
            s.rows.push((i, m, m.ln()));
        }
        s
    }

    pub(crate) fn customers(&self) -> usize {
        self.rows.len()
    }

    /// Total log-likelihood and (if asked) its gradient in (p, q, v).
    fn log_likelihood(&self, gg: &GammaGamma, with_gradient: bool) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, v } = *gg;
        let (lg_q, ln_v) = (ln_gamma(q), v.ln());
        let dg_q = if with_gradient { digamma(q) } else { 0.0 };
        let per_x: Vec<(f64, f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                let lg = ln_gamma(p * x + q) - ln_gamma(p * x) - lg_q + q * ln_v + p * x * x.ln();
                if with_gradient {
                    let dg = digamma(p * x + q);
                    (lg, dg, digamma(p * x), x.ln())
                } else {
                    (lg, 0.0, 0.0, x.ln())
                }
            })
            .collect();
        let mut ll = 0.0;
        let mut g = [0.0; 3];
        for &(xi, m, ln_m) in &self.rows {
            let x = self.xs[xi as usize];
            let (lg, dg_pxq, dg_px, ln_x) = per_x[xi as usize];
            let ln_xmv = (x * m + v).ln();
            ll += lg + (p * x - 1.0) * ln_m - (p * x + q) * ln_xmv;
            if with_gradient {
                g[0] += x * (dg_pxq - dg_px + ln_m + ln_x - ln_xmv);
                g[1] += dg_pxq - dg_q + ln_v - ln_xmv;
                g[2] += q / v - (p * x + q) / (x * m + v);
            }
        }
        (ll, g)
    }

    /// Mean negative log-likelihood plus lifetimes' penalty c·(p² + q² + v²), with its
    /// gradient in θ = ln(p, q, v).
    fn objective(&self, theta: &[f64], grad: &mut [f64], penalizer: f64) -> f64 {
        let params = [theta[0].exp(), theta[1].exp(), theta[2].exp()];
        let (ll, g) = self.log_likelihood(
            &GammaGamma {
                p: params[0],
                q: params[1],
                v: params[2],
            },
            true,
        );
        let n = self.rows.len() as f64;
        let mut penalty = 0.0;
        for i in 0..3 {
            grad[i] = -g[i] / n * params[i] + 2.0 * penalizer * params[i] * params[i];
            penalty += params[i] * params[i];
        }
        -ll / n + penalizer * penalty
    }

    /// Maximum-likelihood fit; `None` with fewer than two repeat customers.
    pub(crate) fn fit(&self, penalizer: f64) -> Option<GammaGammaFit> {
        if self.rows.len() < 2 {
            return None;
        }
        let mean = self.rows.iter().map(|r| r.1).sum::<f64>() / self.rows.len() as f64;
        let starts = [[1.0, 1.0, 1.0], [2.0, 2.0, mean], [10.0, 3.0, 0.5 * mean]];
        let starts: Vec<&[f64]> = starts.iter().map(|s| s.as_slice()).collect();
        let (theta, converged) =
            minimize_from_starts(|t, g| self.objective(t, g, penalizer), &starts)?;
        let params = GammaGamma {
            p: theta[0].exp(),
            q: theta[1].exp(),
            v: theta[2].exp(),
        };
        // Equal spends (no spread) send p and v to infinity: no interior optimum.
        let interior = [params.p, params.q, params.v / mean]
            .iter()
            .all(|v| (1e-6..1e6).contains(v));
        let (ll, _) = self.log_likelihood(&params, false);
        Some(GammaGammaFit {
            params,
            log_likelihood: ll,
            converged: converged && interior && ll.is_finite(),
        })
    }
}

impl GammaGamma {
    /// E[average spend | x repeat purchases with mean spend m]: the population mean
    /// γp/(q−1) shrunk towards the customer's own mean; the population mean for x = 0.
    pub(crate) fn expected_average_profit(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let weight = p * x / (p * x + q - 1.0);
        (1.0 - weight) * v * p / (q - 1.0) + weight * m
    }
}

/// Periods of the time unit of T per 30-day month, as lifetimes' `customer_lifetime_value`
/// steps through months ('D' 30, 'W' 4.345, 'M' 1, 'H' 720).
pub(crate) fn steps_per_month(period: &str) -> Option<f64> {
    match period.trim().to_ascii_uppercase().as_str() {
        "D" | "DAY" | "DAYS" => Some(30.0),
        "W" | "WEEK" | "WEEKS" => Some(4.345),
        "M" | "MONTH" | "MONTHS" => Some(1.0),
        "H" | "HOUR" | "HOURS" => Some(720.0),
        _ => None,
    }
}

/// lifetimes' `customer_lifetime_value`: the expected spend of each of the next `months`
/// months, discounted at `discount_rate` per month, summed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn clv(
    bgnbd: &BgNbd,
    gg: &GammaGamma,
    (x, tx, t, m): (f64, f64, f64, f64),
    months: u32,
    discount_rate: f64,
    per_month: f64,
) -> f64 {
    let spend = gg.expected_average_profit(x, m);
    let mut total = 0.0;
    let mut previous = 0.0;
    for k in 1..=months {
        let cumulative = bgnbd.expected_purchases(k as f64 * per_month, x, tx, t);
        total += spend * (cumulative - previous) / (1.0 + discount_rate).powi(k as i32);
        previous = cumulative;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let s = Spends::new([
            (1.0, 10.0),
            (3.0, 25.0),
            (2.0, 40.0),
            (0.0, 0.0),
            (5.0, 18.0),
        ]);
        assert_eq!(s.customers(), 4);
        let theta = [2.0f64.ln(), 3.0f64.ln(), 12.0f64.ln()];
        let mut g = [0.0; 3];
        s.objective(&theta, &mut g, 0.05);
        for i in 0..3 {
            let (mut up, mut down) = (theta, theta);
            up[i] += 1e-6;
            down[i] -= 1e-6;
            let mut scratch = [0.0; 3];
            let numeric = (s.objective(&up, &mut scratch, 0.05)
                - s.objective(&down, &mut scratch, 0.05))
                / 2e-6;
            assert!((g[i] - numeric).abs() < 1e-7, "{i}: {} vs {numeric}", g[i]);
        }
    }
}

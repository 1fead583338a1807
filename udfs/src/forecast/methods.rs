//! The forecasting methods offered from SQL, behind one call: point forecasts with 80% and 95%
//! intervals, and one-step in-sample fits for anomaly bands.

use super::ets::{self, Spec};
use super::theta;

pub const Z80: f64 = 1.281_551_565_544_600_4;
pub const Z95: f64 = 1.959_963_984_540_054;

pub const METHODS_DOC: &str = "'auto' (default: AutoETS — every admissible ETS model with \
    additive or multiplicative error, none/additive/damped trend and none/additive/multiplicative \
    season, fitted by maximum likelihood and chosen by AICc, as statsforecast's AutoETS and R's \
    forecast::ets), an ETS model by name ('ANN', 'AAN', 'AAdN', 'ANA', 'AAA', 'AAdA', 'MNN', 'MAN', \
    'MAdN', 'MNA', 'MAA', 'MAdA', 'MNM', 'MAM', 'MAdM'), 'ses' (ANN), 'holt' (AAN), \
    'holt_winters' (AAA; AAN without a season), 'theta' (AutoTheta: standard/optimised, \
    static/dynamic Theta chosen by in-sample error), 'seasonal_naive', 'naive'";

#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    Auto,
    Ets(Spec),
    HoltWinters,
    Theta,
    SeasonalNaive,
    Naive,
}

impl Method {
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        let name = lower
            .strip_prefix("ets:")
            .or_else(|| lower.strip_prefix("ets(").and_then(|r| r.strip_suffix(')')))
            .map(|s| s.replace(',', ""));
        if let Some(name) = name {
            return Spec::parse(&name).map(Method::Ets);
        }
        match lower.as_str() {
            "auto" | "ets" | "autoets" | "auto_ets" => Some(Method::Auto),
            "ses" => Spec::parse("ANN").map(Method::Ets),
            "holt" => Spec::parse("AAN").map(Method::Ets),
            "holt_winters" | "holtwinters" => Some(Method::HoltWinters),
            "theta" | "autotheta" | "auto_theta" => Some(Method::Theta),
            "seasonal_naive" | "snaive" => Some(Method::SeasonalNaive),
            "naive" => Some(Method::Naive),
            _ => Spec::parse(t).map(Method::Ets),
        }
    }
}

/// Forecasts of one series; NaN where a bound is undefined.
#[derive(Debug, Clone)]
pub struct Forecast {
    pub model: String,
    pub mean: Vec<f64>,
    pub lo80: Vec<f64>,
    pub hi80: Vec<f64>,
    pub lo95: Vec<f64>,
    pub hi95: Vec<f64>,
}

fn from_sd(model: String, mean: Vec<f64>, sd: &[f64]) -> Forecast {
    let band = |z: f64, sign: f64| -> Vec<f64> {
        mean.iter().zip(sd).map(|(m, s)| m + sign * z * s).collect()
    };
    Forecast {
        lo80: band(Z80, -1.0),
        hi80: band(Z80, 1.0),
        lo95: band(Z95, -1.0),
        hi95: band(Z95, 1.0),
        model,
        mean,
    }
}

fn ets_forecast(fit: &ets::Fit, h: usize) -> Forecast {
    let (mean, var) = ets::forecast(fit, h);
    let sd: Vec<f64> = var.iter().map(|v| v.max(0.0).sqrt()).collect();
    from_sd(format!("ETS({})", fit.spec.name()), mean, &sd)
}

/// The naive forecast: the last value, with a random-walk band.
pub fn naive(y: &[f64], h: usize) -> Forecast {
    let n = y.len();
    let sigma = if n > 1 {
        (y.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        f64::NAN
    };
    let sd: Vec<f64> = (1..=h).map(|j| sigma * (j as f64).sqrt()).collect();
    from_sd("Naive".into(), vec![y[n - 1]; h], &sd)
}

/// The seasonal naive forecast: the value one season earlier (NaN for season positions the
/// data never reached).
pub fn seasonal_naive(y: &[f64], m: usize, h: usize) -> Forecast {
    let n = y.len();
    let m = m.max(1);
    let mean: Vec<f64> = (0..h)
        .map(|j| {
            let i = n as isize - m as isize + (j % m) as isize;
            if i >= 0 {
                y[i as usize]
            } else {
                f64::NAN
            }
        })
        .collect();
    let sigma = if n > m {
        (y[m..]
            .iter()
            .zip(y)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / (n - m) as f64)
            .sqrt()
    } else {
        0.0
    };
    let sd: Vec<f64> = (0..h)
        .map(|j| sigma * ((j / m) as f64 + 1.0).sqrt())
        .collect();
    from_sd(format!("SeasonalNaive({m})"), mean, &sd)
}

/// Runs `method` on the regular series `y` with season length `m`. `None` when the method
/// cannot be fitted to these data (too short, non-positive values for a multiplicative model).
pub fn run(method: &Method, y: &[f64], m: usize, h: usize) -> Option<Forecast> {
    if y.is_empty() {
        return None;
    }
    match method {
        Method::Auto => match ets::auto(y, m) {
            Some(fit) => Some(ets_forecast(&fit, h)),
            // Too short for any ETS model (6 points or fewer): the naive forecast.
            None if y.len() <= 6 => Some(naive(y, h)),
            None => None,
        },
        Method::Ets(spec) => ets::fit_model(y, m, *spec).map(|f| ets_forecast(&f, h)),
        Method::HoltWinters => {
            let name = if m > 1 && y.len() > m { "AAA" } else { "AAN" };
            let spec = Spec::parse(name)?;
            ets::fit_model(y, m, spec).map(|f| ets_forecast(&f, h))
        }
        Method::Theta => theta::auto(y, m, h, &[Z80, Z95]).map(|t| Forecast {
            model: format!("Theta({})", t.kind.name()),
            mean: t.mean,
            lo80: t.lo[0].clone(),
            hi80: t.hi[0].clone(),
            lo95: t.lo[1].clone(),
            hi95: t.hi[1].clone(),
        }),
        Method::SeasonalNaive => Some(seasonal_naive(y, m, h)),
        Method::Naive => Some(naive(y, h)),
    }
}

/// One-step in-sample fits of AutoETS and the half-width of a `level` band around each
/// (additive error: ±z·σ; multiplicative: ±z·σ·fitted). `None` if no model can be fitted.
pub fn one_step_band(y: &[f64], m: usize, z: f64) -> Option<(Vec<f64>, Vec<f64>, String)> {
    let fit = ets::auto(y, m)?;
    let sigma = fit.sigma2.max(0.0).sqrt();
    let multiplicative = fit.spec.error == ets::Component::Multiplicative;
    let fitted: Vec<f64> = y
        .iter()
        .zip(&fit.residuals)
        .map(|(v, e)| if multiplicative { v / (1.0 + e) } else { v - e })
        .collect();
    let half: Vec<f64> = fitted
        .iter()
        .map(|f| {
            if multiplicative {
                z * sigma * f.abs()
            } else {
                z * sigma
            }
        })
        .collect();
    Some((fitted, half, format!("ETS({})", fit.spec.name())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse() {
        assert_eq!(Method::parse("auto"), Some(Method::Auto));
        assert_eq!(Method::parse("MAM"), Spec::parse("MAM").map(Method::Ets));
        assert_eq!(
            Method::parse("ets(A,Ad,N)"),
            Spec::parse("AAdN").map(Method::Ets)
        );
        assert_eq!(Method::parse("Theta"), Some(Method::Theta));
        assert!(Method::parse("prophet").is_none());
    }
}

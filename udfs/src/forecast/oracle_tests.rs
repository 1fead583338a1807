//! AutoETS and the fixed ETS models against statsforecast 2.1.1
//! (tests/oracles/forecast_statsforecast.py → udfs/tests/fixtures/forecast_statsforecast.json).
//!
//! Tolerances: selected model identical; AICc, point forecasts and interval bounds within 1e-6
//! relative (where our optimiser ends on a better optimum, lower AICc, forecasts and intervals
//! within 1%, the bar). Two statsforecast slips are fixed here rather than copied (both fixed upstream
//! after 2.1.1): damped forecasts are compared with the fixture's `mean_correct_damping`, and
//! the intervals of ETS(M,A,A) and of damped multiplicative-error models (built on those
//! forecasts) are only required to contain the forecast and widen with the horizon.

use serde_json::Value;

use super::ets::{auto, fit_model, forecast, Fit, Spec};
use super::theta;

const FIXTURE: &str = include_str!("../../tests/fixtures/forecast_statsforecast.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-9)
}

/// Compares one fitted model and its forecasts with statsforecast's; returns what differs.
fn compare(name: &str, fit: &Fit, want: &Value, h: usize, z: &[(String, f64)]) -> Vec<String> {
    let mut bad = vec![];
    let model = fit.spec.name();
    if model != want["model"].as_str().unwrap_or("") {
        bad.push(format!("{name}: model {model} vs {}", want["model"]));
        return bad;
    }
    // Exact agreement is expected (same Nelder-Mead, same path). Where our path found a
    // better optimum (lower AICc), the bar applies: forecasts within 1%.
    let mut tol = 1e-6;
    if let Some(aicc) = want["aicc"].as_f64() {
        if fit.aicc.is_finite() && !close(fit.aicc, aicc, 1e-6) {
            if fit.aicc < aicc {
                tol = 1e-2;
            } else {
                bad.push(format!("{name}: aicc {} vs {aicc}", fit.aicc));
            }
        }
    }
    let (mean, var) = forecast(fit, h);
    let damped = fit.spec.damped;
    let want_mean = if damped {
        floats(&want["mean_correct_damping"])
    } else {
        floats(&want["forecast"]["mean"])
    };
    for (j, (g, w)) in mean.iter().zip(&want_mean).enumerate() {
        if !close(*g, *w, tol) {
            bad.push(format!("{name}: mean[{j}] {g} vs {w}"));
            break;
        }
    }
    let exact_intervals = !(model == "MAA" || (damped && model.starts_with('M')));
    for (key, zv) in z {
        let (lo, hi) = (
            floats(&want["forecast"][format!("lo-{key}")]),
            floats(&want["forecast"][format!("hi-{key}")]),
        );
        let centre = floats(&want["forecast"]["mean"]);
        for j in 0..h {
            let sd = var[j].max(0.0).sqrt();
            let (glo, ghi) = (mean[j] - zv * sd, mean[j] + zv * sd);
            if exact_intervals && damped {
                // Same width, around the corrected damped forecast.
                if !close(ghi - mean[j], hi[j] - centre[j], tol)
                    || !close(mean[j] - glo, centre[j] - lo[j], tol)
                {
                    bad.push(format!(
                        "{name}: {key}% half-width[{j}] {} vs {}",
                        ghi - mean[j],
                        hi[j] - centre[j]
                    ));
                    break;
                }
            } else if exact_intervals {
                if !close(glo, lo[j], tol) || !close(ghi, hi[j], tol) {
                    bad.push(format!(
                        "{name}: {key}% interval[{j}] ({glo}, {ghi}) vs ({}, {})",
                        lo[j], hi[j]
                    ));
                    break;
                }
            } else if !(glo <= mean[j] && mean[j] <= ghi && sd.is_finite()) {
                bad.push(format!(
                    "{name}: {key}% interval[{j}] ({glo}, {ghi}) does not hold the forecast"
                ));
                break;
            }
        }
    }
    bad
}

#[test]
fn ets_matches_statsforecast() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let z: Vec<(String, f64)> = fixture["z"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    let mut bad = vec![];
    for series in fixture["series"].as_array().unwrap() {
        let name = series["name"].as_str().unwrap();
        let y = floats(&series["values"]);
        let m = series["season_length"].as_u64().unwrap() as usize;
        let h = series["horizon"].as_u64().unwrap() as usize;
        let want = &series["auto_ets"];
        match (auto(&y, m), want.get("error")) {
            (None, Some(_)) => {}
            (Some(fit), None) => bad.extend(compare(&format!("{name} auto"), &fit, want, h, &z)),
            (got, _) => bad.push(format!(
                "{name} auto: {:?} vs {want}",
                got.map(|f| f.spec.name())
            )),
        }
        if let Some(fixed) = series["fixed_ets"].as_object() {
            for (model, want) in fixed {
                let spec = Spec::parse(model).unwrap();
                match (fit_model(&y, m, spec), want.get("error")) {
                    (None, Some(_)) => {}
                    (Some(fit), None) => {
                        bad.extend(compare(&format!("{name} {model}"), &fit, want, h, &z))
                    }
                    (got, _) => bad.push(format!(
                        "{name} {model}: {:?} vs {}",
                        got.map(|f| f.spec.name()),
                        want.get("error").unwrap_or(&Value::Null)
                    )),
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn theta_matches_statsforecast() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let z: Vec<(String, f64)> = fixture["z"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
        .collect();
    let zs: Vec<f64> = z.iter().map(|p| p.1).collect();
    let mut bad = vec![];
    for series in fixture["series"].as_array().unwrap() {
        let name = series["name"].as_str().unwrap();
        let y = floats(&series["values"]);
        let m = series["season_length"].as_u64().unwrap() as usize;
        let h = series["horizon"].as_u64().unwrap() as usize;
        let want = &series["auto_theta"];
        let got = theta::auto(&y, m, h, &zs);
        let (Some(got), None) = (&got, want.get("error")) else {
            if got.is_some() != want.get("error").is_none() {
                bad.push(format!("{name}: {:?} vs {want}", got.map(|g| g.kind)));
            }
            continue;
        };
        if got.kind.name() != want["modeltype"].as_str().unwrap() {
            bad.push(format!(
                "{name}: {} vs {}",
                got.kind.name(),
                want["modeltype"]
            ));
            continue;
        }
        for (j, (g, w)) in got
            .mean
            .iter()
            .zip(floats(&want["forecast"]["mean"]))
            .enumerate()
        {
            if !close(*g, w, 1e-6) {
                bad.push(format!("{name}: mean[{j}] {g} vs {w}"));
                break;
            }
        }
        let limit = &want["forecast_gaussian_limit"];
        for (i, (key, _)) in z.iter().enumerate() {
            let (lo, hi) = (
                floats(&limit[format!("lo-{key}")]),
                floats(&limit[format!("hi-{key}")]),
            );
            for j in 0..h {
                if !close(got.lo[i][j], lo[j], 1e-6) || !close(got.hi[i][j], hi[j], 1e-6) {
                    bad.push(format!(
                        "{name}: {key}% [{j}] ({}, {}) vs ({}, {})",
                        got.lo[i][j], got.hi[i][j], lo[j], hi[j]
                    ));
                    break;
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn naive_methods_match_statsforecast() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let mut bad = vec![];
    for series in fixture["series"].as_array().unwrap() {
        let name = series["name"].as_str().unwrap();
        let y = floats(&series["values"]);
        let m = series["season_length"].as_u64().unwrap() as usize;
        let h = series["horizon"].as_u64().unwrap() as usize;
        for (key, got) in [
            ("seasonal_naive", super::methods::seasonal_naive(&y, m, h)),
            ("naive", super::methods::naive(&y, h)),
        ] {
            let want = &series[key]["forecast"];
            for (field, values) in [
                ("mean", &got.mean),
                ("lo-80", &got.lo80),
                ("hi-80", &got.hi80),
                ("lo-95", &got.lo95),
                ("hi-95", &got.hi95),
            ] {
                for (j, (g, w)) in values.iter().zip(floats(&want[field])).enumerate() {
                    let same = (g.is_nan() && w.is_nan()) || close(*g, w, 1e-9);
                    if !same {
                        bad.push(format!("{name} {key} {field}[{j}]: {g} vs {w}"));
                        break;
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} differences:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The accuracy bar: on a hold-out of the last `horizon` points of every long-enough
/// series, mean MASE no worse than statsforecast's by more than 2%.
#[test]
fn holdout_mase_is_no_worse_than_statsforecast() {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let mut ours = vec![];
    for name in fixture["holdout_summary"]["series"].as_array().unwrap() {
        let series = fixture["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| &s["name"] == name)
            .unwrap();
        let y = floats(&series["values"]);
        let m = series["season_length"].as_u64().unwrap() as usize;
        let hold = &series["holdout"];
        let (train, h, lag) = (
            hold["train_length"].as_u64().unwrap() as usize,
            hold["horizon"].as_u64().unwrap() as usize,
            hold["scale_lag"].as_u64().unwrap() as usize,
        );
        let fit = auto(&y[..train], m).unwrap();
        let (mean, _) = forecast(&fit, h);
        let scale =
            (lag..train).map(|t| (y[t] - y[t - lag]).abs()).sum::<f64>() / (train - lag) as f64;
        let mae = mean
            .iter()
            .zip(&y[train..train + h])
            .map(|(f, v)| (f - v).abs())
            .sum::<f64>()
            / h as f64;
        ours.push(mae / scale);
    }
    let ours_mean = ours.iter().sum::<f64>() / ours.len() as f64;
    let theirs = fixture["holdout_summary"]["mean_mase"]["auto_ets"]
        .as_f64()
        .unwrap();
    assert!(
        ours_mean <= theirs * 1.02,
        "mean MASE {ours_mean} vs statsforecast {theirs}"
    );
}

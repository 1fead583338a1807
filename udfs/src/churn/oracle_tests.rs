//! The churn / CLV functions against `lifetimes` 0.11.3 (tests/oracles/btyd_lifetimes.py), the
//! published CDNOW figures, and scikit-learn (tests/oracles/logistic_sklearn.py).
//!
//! Tolerances: summaries exact (1e-9); fitted parameters within 0.1% of lifetimes' and to the
//! printed precision of the papers; per-customer predictions within 1e-6 relative of lifetimes
//! given lifetimes' parameters; logistic coefficients within 1% of scikit-learn's (in practice
//! 1e-6), probabilities within 1e-6; AUC to 1e-9.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::{CsvReadOptions, SessionContext};
use serde_json::Value;

use super::bgnbd::{BgNbd, Histories};
use super::gamma_gamma::{clv, GammaGamma, Spends};
use super::logistic::{fit, Options};
use super::roc_auc::auc;

const BTYD: &str = include_str!("../../tests/fixtures/btyd_lifetimes.json");
const LOGISTIC: &str = include_str!("../../tests/fixtures/logistic_sklearn.json");

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn rel_close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1e-12)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

async fn context() -> SessionContext {
    let ctx = SessionContext::new();
    crate::register_all(&ctx).unwrap();
    ctx
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

fn params(v: &Value) -> BgNbd {
    BgNbd {
        r: f(&v["r"]),
        alpha: f(&v["alpha"]),
        a: f(&v["a"]),
        b: f(&v["b"]),
    }
}

#[tokio::test]
async fn btyd_summary_matches_lifetimes() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    let ctx = context().await;
    for (table, file) in [
        ("cdnow", "cdnow_transactions.csv"),
        ("synthetic", "btyd_synthetic_transactions.csv"),
    ] {
        ctx.register_csv(table, fixture_path(file), CsvReadOptions::new())
            .await
            .unwrap();
    }
    for case in fixture["summary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let table = if case["data"].as_str().unwrap().starts_with("cdnow") {
            "cdnow"
        } else {
            "synthetic"
        };
        // With no observation_end lifetimes uses the last transaction: pass max(ts).
        let end = match case["observation_end"].as_str() {
            Some(e) => format!("TIMESTAMP '{e}'"),
            None => "e.end_ts".to_string(),
        };
        let sql = format!(
            "SELECT customer_id, s['frequency'], s['recency'], s['t'], s['monetary'] FROM (
               SELECT customer_id, btyd_summary(CAST(ts AS TIMESTAMP), amount, {end}, '{}') AS s
               FROM {table} CROSS JOIN (SELECT max(CAST(ts AS TIMESTAMP)) AS end_ts FROM {table}) e
               GROUP BY customer_id)
             WHERE s IS NOT NULL ORDER BY customer_id",
            case["freq"].as_str().unwrap()
        );
        let batches = rows(&ctx, &sql).await;
        let mut got = vec![];
        for b in &batches {
            let id = datafusion::arrow::compute::cast(b.column(0), &DataType::Int64).unwrap();
            let id = id.as_primitive::<Int64Type>();
            for r in 0..b.num_rows() {
                let mut row = vec![id.value(r) as f64];
                for c in 1..5 {
                    row.push(b.column(c).as_primitive::<Float64Type>().value(r));
                }
                got.push(row);
            }
        }
        let want = case["rows"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{name}: customers");
        for (g, w) in got.iter().zip(want) {
            let w = floats(w);
            for c in 0..5 {
                assert!(
                    (g[c] - w[c]).abs() <= 1e-9 * w[c].abs().max(1.0),
                    "{name}: customer {} column {c}: {} vs {}",
                    w[0],
                    g[c],
                    w[c]
                );
            }
        }
    }
}

fn cdnow_histories() -> Vec<(f64, f64, f64, f64)> {
    let text = std::fs::read_to_string(fixture_path("cdnow_summary.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
            (v[1], v[2], v[3], v[4])
        })
        .collect()
}

#[test]
fn bgnbd_fit_reproduces_the_paper_and_lifetimes() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    let cdnow = cdnow_histories();
    for name in ["cdnow", "cdnow_penalized"] {
        let case = &fixture["bgnbd"][name];
        let h = Histories::new(cdnow.iter().map(|c| (c.0, c.1, c.2)));
        let fit = h.fit(f(&case["penalizer_coef"])).unwrap();
        assert!(fit.converged, "{name}");
        let want = params(&case["params"]);
        for (g, w) in [
            (fit.params.r, want.r),
            (fit.params.alpha, want.alpha),
            (fit.params.a, want.a),
            (fit.params.b, want.b),
        ] {
            assert!(rel_close(g, w, 1e-3), "{name}: {g} vs lifetimes {w}");
        }
        assert!(
            rel_close(fit.log_likelihood, f(&case["ll_total"]), 1e-6),
            "{name}"
        );
    }
    // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
    let h = Histories::new(cdnow.iter().map(|c| (c.0, c.1, c.2)));
    let fit = h.fit(0.0).unwrap();
    let published = &fixture["bgnbd"]["cdnow"]["published"];
    for (g, key) in [
        (fit.params.r, "r"),
        (fit.params.alpha, "alpha"),
        (fit.params.a, "a"),
        (fit.params.b, "b"),
    ] {
        assert!(
            ((g * 1000.0).round() / 1000.0 - f(&published[key])).abs() < 1e-9,
            "{key} = {g}"
        );
    }
    assert_eq!((fit.log_likelihood * 10.0).round() / 10.0, -9582.4);
}

#[test]
fn bgnbd_predictions_match_lifetimes_given_its_parameters() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    let cdnow = cdnow_histories();
    for name in ["cdnow", "cdnow_penalized", "synthetic"] {
        let case = &fixture["bgnbd"][name];
        let model = params(&case["params"]);
        let histories: Vec<(f64, f64, f64)> = if name == "synthetic" {
            case["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let r = floats(r);
                    (r[0], r[1], r[2])
                })
                .collect()
        } else {
            cdnow.iter().map(|c| (c.0, c.1, c.2)).collect()
        };
        let p_alive = floats(&case["p_alive"]);
        for (i, &(x, tx, t)) in histories.iter().enumerate() {
            assert!(
                rel_close(model.p_alive(x, tx, t), p_alive[i], 1e-6),
                "{name} p_alive {i}"
            );
        }
        for (horizon, values) in case["expected"].as_object().unwrap() {
            let horizon: f64 = horizon.parse().unwrap();
            for (i, (&(x, tx, t), w)) in histories.iter().zip(floats(values)).enumerate() {
                let g = model.expected_purchases(horizon, x, tx, t);
                assert!(
                    rel_close(g, w, 1e-6),
                    "{name} expected({horizon}) {i}: {g} vs {w}"
                );
            }
        }
        if name == "synthetic" {
            // Unseen data: the fit itself, too.
            let fit = Histories::new(histories.iter().copied()).fit(0.0).unwrap();
            let want = params(&case["params"]);
            assert!(rel_close(fit.params.r, want.r, 1e-3));
            assert!(rel_close(fit.params.alpha, want.alpha, 1e-3));
            assert!(rel_close(fit.params.a, want.a, 1e-3));
            assert!(rel_close(fit.params.b, want.b, 1e-3));
        }
    }
}

#[test]
fn gamma_gamma_and_clv_match_lifetimes() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    let case = &fixture["gamma_gamma"];
    let cdnow = cdnow_histories();
    let spends = Spends::new(cdnow.iter().map(|c| (c.0, c.3)));
    assert_eq!(spends.customers(), 946);
    let fit = spends.fit(0.0).unwrap();
    assert!(fit.converged);
    let want = GammaGamma {
        p: f(&case["params"]["p"]),
        q: f(&case["params"]["q"]),
        v: f(&case["params"]["v"]),
    };
    assert!(rel_close(fit.log_likelihood, f(&case["ll_total"]), 1e-8));
    for (g, w) in [
        (fit.params.p, want.p),
        (fit.params.q, want.q),
        (fit.params.v, want.v),
    ] {
        assert!(rel_close(g, w, 1e-3), "{g} vs lifetimes {w}");
    }
    // Published: p = 6.25, q = 3.74, v = 15.44 (the likelihood is flat along p and v, so
    // the third digit of v is what the paper's optimiser stopped at).
    assert_eq!((fit.params.p * 100.0).round() / 100.0, 6.25);
    assert_eq!((fit.params.q * 100.0).round() / 100.0, 3.74);
    assert!((fit.params.v - 15.44).abs() < 0.01);

    let profit = floats(&case["conditional_expected_average_profit"]);
    for (i, c) in cdnow.iter().enumerate() {
        assert!(
            rel_close(want.expected_average_profit(c.0, c.3), profit[i], 1e-9),
            "{i}"
        );
    }
    let bgnbd = params(&fixture["bgnbd"]["cdnow"]["params"]);
    for spec in case["clv"].as_array().unwrap() {
        let per_month =
            super::gamma_gamma::steps_per_month(spec["freq"].as_str().unwrap()).unwrap();
        let months = spec["time"].as_u64().unwrap() as u32;
        for (i, (c, w)) in cdnow.iter().zip(floats(&spec["values"])).enumerate() {
            let g = clv(
                &bgnbd,
                &want,
                *c,
                months,
                f(&spec["discount_rate"]),
                per_month,
            );
            assert!(rel_close(g, w, 1e-6), "clv {i}: {g} vs {w}");
        }
    }
}

#[test]
fn edge_cases_give_no_model_where_lifetimes_fails() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    for case in fixture["edge_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        match case["model"].as_str().unwrap() {
            "bgnbd" if case.get("frequency").is_some() => {
                let (x, tx, t) = (
                    floats(&case["frequency"]),
                    floats(&case["recency"]),
                    floats(&case["T"]),
                );
                let valid =
                    (0..x.len()).all(|i| super::bgnbd::check_history(x[i], tx[i], t[i]).is_ok());
                let fit = Histories::new((0..x.len()).map(|i| (x[i], tx[i], t[i])))
                    .fit(0.0)
                    .filter(|f| f.converged);
                if !valid {
                    assert!(case["outcome"] == "error", "{name}");
                    continue;
                }
                // Everything lifetimes rejects, and its degenerate boundary fit on ten rows,
                // has no model here.
                assert!(fit.is_none(), "{name}: {fit:?}");
            }
            "gamma_gamma" => {
                let (x, m) = (floats(&case["frequency"]), floats(&case["monetary_value"]));
                let fit = Spends::new(x.into_iter().zip(m))
                    .fit(0.0)
                    .filter(|f| f.converged);
                assert!(fit.is_none(), "{name}: {fit:?}");
            }
            "bgnbd_predict" => {
                let model = params(&fixture["bgnbd"]["cdnow"]["params"]);
                let (x, tx, t) = (
                    floats(&case["frequency"]),
                    floats(&case["recency"]),
                    floats(&case["T"]),
                );
                for i in 0..x.len() {
                    assert!(rel_close(
                        model.p_alive(x[i], tx[i], t[i]),
                        f(&case["p_alive"][i]),
                        1e-9
                    ));
                    let e = model.expected_purchases(10.0, x[i], tx[i], t[i]);
                    assert!(rel_close(e, f(&case["expected_10"][i]), 1e-6), "{name} {i}");
                    assert_eq!(model.expected_purchases(0.0, x[i], tx[i], t[i]), 0.0);
                }
            }
            _ => {}
        }
    }
    // T = 0 one-time buyers add nothing to the likelihood: the CDNOW fit is unchanged.
    let cdnow = cdnow_histories();
    let with_zeros = Histories::new(
        cdnow
            .iter()
            .map(|c| (c.0, c.1, c.2))
            .chain(std::iter::repeat_n((0.0, 0.0, 0.0), 40)),
    );
    let fit = with_zeros.fit(0.0).unwrap();
    let want = params(&fixture["bgnbd"]["cdnow"]["params"]);
    assert!(rel_close(fit.params.r, want.r, 1e-3) && rel_close(fit.params.b, want.b, 1e-3));
}

#[test]
fn logistic_matches_scikit_learn() {
    let fixture: Value = serde_json::from_str(LOGISTIC).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let rows = case["rows"].as_array().unwrap();
        let dim = case["feature_names"].as_array().unwrap().len();
        let (mut x, mut y) = (vec![], vec![]);
        for r in rows {
            let r = r.as_array().unwrap();
            if let Some(label) = r[0].as_f64() {
                x.extend(r[1..].iter().map(f));
                y.push(label);
            }
        }
        let options = Options {
            l2: f(&case["l2"]),
            ..Options::default()
        };
        let model = fit(&x, &y, dim, &options).unwrap();
        let (intercept, coef) = model.original();
        let want = floats(&case["coef_orig"]);
        for j in 0..dim {
            assert!(
                (coef[j] - want[j]).abs() <= 1e-2 * want[j].abs() + 1e-12,
                "{name}: coefficient {j}: {} vs {}",
                coef[j],
                want[j]
            );
            let std_want = f(&case["coef_std_newton"][j]);
            assert!(
                (model.coef_std[j] - std_want).abs() < 1e-6,
                "{name}: standardised {j}"
            );
        }
        assert!(
            (intercept - f(&case["intercept_orig"])).abs()
                <= 1e-2 * f(&case["intercept_orig"]).abs()
        );
        let proba = floats(&case["proba"]);
        for (i, r) in rows.iter().enumerate() {
            let features: Vec<f64> = r.as_array().unwrap()[1..].iter().map(f).collect();
            assert!(
                (model.probability(&features) - proba[i]).abs() < 1e-6,
                "{name} row {i}"
            );
        }
    }
    for case in fixture["roc_auc"].as_array().unwrap() {
        let labels = case["labels"].as_array().unwrap();
        let scores = case["scores"].as_array().unwrap();
        let (s, l): (Vec<f64>, Vec<f64>) = scores
            .iter()
            .zip(labels)
            .filter_map(|(s, l)| Some((s.as_f64()?, l.as_f64()?)))
            .unzip();
        let got = auc(&s, &l);
        match case["auc"].as_f64() {
            None => assert!(got.is_none()),
            Some(want) => assert!((got.unwrap() - want).abs() < 1e-9, "{}", case["name"]),
        }
    }
}

/// The SQL surface end to end: the window functions score with the model their partition
/// fits, which lands within a hair of lifetimes'.
#[tokio::test]
async fn sql_functions_agree_with_the_kernels() {
    let fixture: Value = serde_json::from_str(BTYD).unwrap();
    let cdnow = cdnow_histories();
    let schema = Arc::new(Schema::new(
        ["frequency", "recency", "t", "monetary"]
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<Arc<dyn Array>> = (0..4)
        .map(|c| {
            Arc::new(datafusion::arrow::array::Float64Array::from_iter_values(
                cdnow.iter().map(|r| [r.0, r.1, r.2, r.3][c]),
            )) as _
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    let ctx = context().await;
    ctx.register_table(
        "cdnow",
        Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
    )
    .unwrap();
    let out = rows(
        &ctx,
        "SELECT m['r'], m['alpha'], m['a'], m['b'], m['log_likelihood'], m['customers'], g['p'], g['q'], g['v']
         FROM (SELECT bgnbd_fit(frequency, recency, t) AS m, gamma_gamma_fit(frequency, monetary) AS g FROM cdnow)",
    )
    .await;
    let v = |c: usize| out[0].column(c).as_primitive::<Float64Type>().value(0);
    let want = params(&fixture["bgnbd"]["cdnow"]["params"]);
    assert!(rel_close(v(0), want.r, 1e-3) && rel_close(v(3), want.b, 1e-3));
    assert_eq!(out[0].column(5).as_primitive::<Int64Type>().value(0), 2357);
    assert!(rel_close(
        v(6),
        f(&fixture["gamma_gamma"]["params"]["p"]),
        1e-3
    ));

    let out = rows(
        &ctx,
        "SELECT bgnbd_p_alive(frequency, recency, t) OVER () AS p,
                bgnbd_expected_purchases(frequency, recency, t, 39) OVER () AS e,
                clv(frequency, recency, t, monetary, 12, 0.01, 'W') OVER () AS v
         FROM cdnow",
    )
    .await;
    let p_alive = floats(&fixture["bgnbd"]["cdnow"]["p_alive"]);
    let expected = floats(&fixture["bgnbd"]["cdnow"]["expected"]["39"]);
    let clv_want = floats(&fixture["gamma_gamma"]["clv"][0]["values"]);
    let mut n = 0;
    for b in &out {
        for r in 0..b.num_rows() {
            let col = |c: usize| b.column(c).as_primitive::<Float64Type>().value(r);
            // Rows keep their order here (no PARTITION BY / ORDER BY in the window).
            assert!(rel_close(col(0), p_alive[n], 1e-5), "p_alive {n}");
            assert!(rel_close(col(1), expected[n], 1e-5), "expected {n}");
            assert!(
                rel_close(col(2), clv_want[n], 1e-4),
                "clv {n}: {} vs {}",
                col(2),
                clv_want[n]
            );
            n += 1;
        }
    }
    assert_eq!(n, 2357);
}

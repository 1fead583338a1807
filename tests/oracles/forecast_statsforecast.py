"""Reference forecasts from Nixtla statsforecast, for the forecasting functions (AutoETS, Theta,
SeasonalNaive, Naive).

statsforecast 2.1.1 requires pandas < 3, so it lives in its own venv (the system python3 keeps
pandas 3.1.1):

    python3 -m venv /work/venv-statsforecast
    /work/venv-statsforecast/bin/pip install statsforecast==2.1.1 statsmodels==0.15.0 \\
        numpy==2.4.6 scipy==1.17.1 pandas==2.3.3
    # pulled in: coreforecast==0.0.20 utilsforecast==0.2.17 fugue==0.9.7
    OMP_NUM_THREADS=1 /work/venv-statsforecast/bin/python tests/oracles/forecast_statsforecast.py \\
        > udfs/tests/fixtures/forecast_statsforecast.json

Two runs give byte-identical output. The algorithm is written up, with quotes from statsforecast's
source and the quirks a port has to copy, in tests/oracles/statsforecast_ets_notes.md. Read that
before you compare anything more closely than "same model, forecasts within a few %".

Data (every value is rounded to 6 decimals BEFORE anything is fitted, so the fixture holds exactly
what statsforecast saw; `timestamps` are ISO dates, one per value):

  * air_passengers: Box & Jenkins monthly airline passengers 1949-01..1960-12 (144, m=12, h=12),
    from `statsforecast.utils.AirPassengers`; air_passengers_log: its natural log.
  * co2_monthly: statsmodels `co2` (Mauna Loa weekly, 1958-03..2001-12) averaged per calendar month
    (`resample("MS").mean()`, NaN weeks skipped); the 5 months with no data (1958-06, 1958-10,
    1964-02..04) are filled by linear interpolation; last 480 months kept (1962-01..2001-12), m=12.
  * nile: statsmodels `nile`, annual Nile flow 1871..1970 (100, m=1, h=10).
  * elnino: statsmodels `elnino` sea-surface temperatures, the 12 month columns flattened row-wise
    into one monthly series 1950-01..2010-12; last 480 kept (1971-01..2010-12), m=12, h=12.
  * sunspots: statsmodels `sunspots`, annual 1700..2008 (309, m=1, h=10). It has 3 zero years, so
    statsforecast never tries a multiplicative model on it.
  * us_realgdp: statsmodels `macrodata` realgdp, quarterly 1959Q1..2009Q3 (203, m=4, h=8).
  * synthetic daily series, m=7, h=28, from 2024-01-01, numpy default_rng(20240101) drawn in the
    order listed: daily_trend_weekly (364: 100 + 0.08 t + 3 w[t%7] + N(0, 2)), daily_multiplicative
    (364: (200 + 0.5 t) f[t%7] (1 + N(0, 0.03))), daily_negative (196: -12 + 0.12 t + 2.5 w[t%7] +
    N(0, 1.5), crosses zero), daily_constant (60 x 42.0), daily_short (the first 10 points of
    daily_trend_weekly, fewer than two seasons) and daily_tiny (3 points).

Per series (each model is called directly, e.g. `AutoETS(season_length=m).fit(y)` then
`.predict(h, level=[80, 95])`; the same as going through `StatsForecast(...).forecast`):

  * `auto_ets`: AutoETS(season_length=m) (model="ZZZ", damped tried both ways). `model` is R's
    style ("MAdM"), `components` statsforecast's (E, T, S, then D or N for damped), `method`
    "ETS(M,Ad,M)". `alpha..phi` are null where the model has no such parameter.
    `initial_states`: l0, b0, and s = [s_0, s_-1, ..., s_-(m-1)] in statsforecast's state order
    (s[0] is the most recent season, s[m-1] is the one the first observation uses; the last entry
    is not optimised, it is m - sum (mult.) or -sum (add.) of the others). `last_state` is the
    state after the last observation, the one forecasts start from. `sigma2`, `loglik`, `aic`,
    `aicc`, `bic`, `n_params` exactly as statsforecast reports them (see the notes: its "loglik" is
    -0.5 * (n log SSE + 2 sum log|yhat|), no 2*pi constant). `optimizer`: the Nelder-Mead result
    (`nit` 1001 means it stopped at the 1000-iteration cap, not at convergence). `initstate` is the
    heuristic start state before optimisation, `x0`/`lower`/`upper` the optimiser's start vector and
    box. `forecast`: mean, lo-80, hi-80, lo-95, hi-95. `fitted`: one-step in-sample predictions.
    `candidates`: every model the "ZZZ" search fitted, in search order, with its aicc/aic/bic (null
    when statsforecast gave it +inf because it has >= n-1 parameters), optimiser start, box and
    result: the box shows the upper-bound leak described in the notes.
  * `fixed_ets`: AutoETS(model=X, damped=...) for X in ANN AAN AAdN ANA AAA MNM MAM MNN MAN (damped
    passed explicitly as False, or True for AAdN: with damped=None statsforecast would try both),
    same fields but no `fitted`/`candidates`; `{"error": ...}` where statsforecast raises (a
    multiplicative model on data with values <= 0, a seasonal model with m = 1, too few points).
    Note `components` may differ from X: statsforecast silently drops seasonality when n <= m.
    Damped models also get `mean_correct_damping`: the point forecasts from the same final state
    with the textbook damping sum phi + ... + phi^j, which statsforecast 2.1.1 gets wrong from
    step 2 on (fixed upstream after 2.1.1; see the notes). Computed here, not by statsforecast.
  * `auto_theta`: AutoTheta(season_length=m) (decomposition_type="multiplicative"): chosen
    `modeltype` (STM/OTM/DSTM/DOTM), its parameters, the per-model `mse` it chose by, whether the
    seasonal test said to deseasonalise and how, the seasonal indices, the forecast and intervals.
    Theta intervals are Monte Carlo (200 normal draws, default_rng(0)) in statsforecast, so a port
    cannot reproduce them bit for bit; `forecast_converged` holds the same quantiles from 20000
    draws, and `forecast_gaussian_limit` their exact limit (the simulation is linear in its normal
    draws, so each step is Gaussian: `centre` +- z * `sd`, then the seasonal factor; computed
    here, not by statsforecast; it agrees with `forecast_converged` to Monte Carlo error). A
    port should reproduce `forecast_gaussian_limit`.
  * `seasonal_naive`, `naive`: SeasonalNaive(m), Naive() forecasts and intervals.
  * `holdout`: only for series with n >= 2h + 2m: fit on all but the last h points, forecast h.
    MASE = mean |actual - forecast| / mean_{t >= m} |y_t - y_{t-m}| over the training part (lag m,
    lag 1 when m = 1), for AutoETS, AutoTheta, SeasonalNaive and Naive. `holdout_summary` holds the
    mean MASE over the eligible series.

`edge_cases`: what statsforecast does with a constant series, a too-short one, NaN inside the
series, negative/zero values with multiplicative models, a seasonal model with m = 1, n <= m, and
m > 24 (allowed, unlike R's ets). Errors are recorded as "ExceptionType: message".

JSON has no NaN/Infinity: every non-finite number is written as null.
"""

import json
import math
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import statsforecast
import statsforecast.ets as sfe
import statsforecast.theta as sft
import statsmodels
import statsmodels.api as sm
from scipy.stats import norm
from statsforecast.models import AutoETS, AutoTheta, Naive, SeasonalNaive
from statsforecast.utils import AirPassengers
from statsmodels.tsa.stattools import acf

LEVELS = [80, 95]
FIXED_MODELS = ["ANN", "AAN", "AAdN", "ANA", "AAA", "MNM", "MAM", "MNN", "MAN"]


# ---------------------------------------------------------------- helpers

def clean(x):
    """Recursively turn numpy values into JSON ones; non-finite floats become None."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return [clean(v) for v in x.tolist()]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    return x


def err(ex):
    return f"{type(ex).__name__}: {ex}"


def fcst_dict(res):
    out = {"mean": res["mean"]}
    for lv in LEVELS:
        out[f"lo-{lv}"] = res[f"lo-{lv}"]
        out[f"hi-{lv}"] = res[f"hi-{lv}"]
    return out


def r_style(components):
    e, t, s, d = components
    return f"{e}{t}{'d' if d == 'D' else ''}{s}"


# Record every candidate fitted inside ets_f (model search order, bounds, optimiser start/result).
_RECORD = {"on": False, "calls": []}
_orig_etsmodel = sfe.etsmodel
_orig_opt = sfe.optimize_ets_target_fn


def _spy_opt(**kw):
    res = _orig_opt(**kw)
    if _RECORD["on"] and _RECORD["calls"]:
        k = len(kw["par"])
        _RECORD["calls"][-1]["opt"] = {
            "x0": np.array(kw["x0"]), "lower": np.array(kw["lowerb"][:k]),
            "upper": np.array(kw["upperb"][:k]), "x": np.array(res.x), "fn": res.fn, "nit": res.nit,
        }
    return res


def _spy_etsmodel(*args, **kw):
    names = ["y", "m", "errortype", "trendtype", "seasontype", "damped", "alpha", "beta", "gamma", "phi"]
    a = dict(zip(names, args))
    a.update(kw)
    rec = {"errortype": a["errortype"], "trendtype": a["trendtype"], "seasontype": a["seasontype"],
           "damped": bool(a["damped"]), "m_arg": a["m"]}
    if _RECORD["on"]:
        _RECORD["calls"].append(rec)
    fit = _orig_etsmodel(*args, **kw)
    rec["fit"] = fit
    return fit


sfe.etsmodel = _spy_etsmodel
sfe.optimize_ets_target_fn = _spy_opt


def ets_summary(fit, y, h, with_fitted):
    """Summarise an ets_f() result dict (as stored in AutoETS.model_)."""
    comp = fit["components"]
    par = np.asarray(fit["par"], dtype=float)
    m = fit["m"]
    has_t = comp[1] != "N"
    has_s = comp[2] != "N"
    init = par[4:]
    states = {"l0": init[0]}
    if has_t:
        states["b0"] = init[1]
    if has_s:
        states["s"] = init[1 + has_t:]
    out = {
        "model": r_style(comp),
        "components": comp,
        "method": fit.get("method"),
        "m": m,
        "n_obs": len(y),
        "alpha": par[0], "beta": par[1] if has_t else None, "gamma": par[2] if has_s else None,
        "phi": par[3] if comp[3] == "D" else None,
        "initial_states": states,
        "last_state": np.asarray(fit["states"])[-1],
        "sigma2": fit["sigma2"], "loglik": fit["loglik"], "aic": fit["aic"], "aicc": fit["aicc"],
        "bic": fit["bic"], "mse": fit["mse"], "amse": fit["amse"], "n_params": fit["n_params"],
    }
    fred = fit.get("fit")
    if fred is not None and hasattr(fred, "nit"):
        out["optimizer"] = {"fn": fred.fn, "nit": fred.nit, "hit_max_iter": fred.nit > 1000}
    m_eff = m if has_s else 1
    out["initstate"] = sfe.initstate(y, m_eff, comp[1], comp[2])
    if with_fitted:
        out["fitted"] = fit["fitted"]
    return out


def run_ets(y, m, h, model="ZZZ", damped=None, with_fitted=False, with_candidates=False):
    _RECORD["calls"] = []
    _RECORD["on"] = True
    try:
        mod = AutoETS(season_length=m, model=model, damped=damped).fit(y)
        res = mod.predict(h, level=LEVELS)
    except Exception as ex:  # noqa: BLE001 - statsforecast raises bare Exception too
        return {"error": err(ex)}
    finally:
        _RECORD["on"] = False
    out = ets_summary(mod.model_, y, h, with_fitted)
    calls = [c for c in _RECORD["calls"] if "fit" in c]
    sel = [c for c in calls if c["fit"] is mod.model_]
    if sel and "opt" in sel[0]:
        out["x0"] = sel[0]["opt"]["x0"]
        out["lower"] = sel[0]["opt"]["lower"]
        out["upper"] = sel[0]["opt"]["upper"]
    out["forecast"] = fcst_dict(res)
    if out["components"][3] == "D":
        out["mean_correct_damping"] = correct_damped_mean(out["last_state"], out, h)
    if with_candidates:
        cands = []
        for c in calls:
            f = c["fit"]
            cand = {
                "model": f"{c['errortype']}{c['trendtype']}{'d' if c['damped'] else ''}{c['seasontype']}",
                "aicc": f["aicc"], "aic": f["aic"], "bic": f["bic"],
                "loglik": f.get("loglik"), "n_params": f.get("n_params"),
                "infeasible_too_many_params": f.get("fit") is None,
                "selected": f is mod.model_,
            }
            if "opt" in c:
                cand.update({k: c["opt"][k] for k in ("x0", "lower", "upper", "x", "fn", "nit")})
            cands.append(cand)
        out["candidates"] = cands
    return out


def correct_damped_mean(last_state, fit, h):
    """Damped point forecasts with phi + phi^2 + ... + phi^j (statsforecast 2.1.1 uses
    phi + phi + phi^2 + ... + phi^(j-1), see the notes); computed here, not by statsforecast."""
    comp, m, phi = fit["components"], fit["m"], fit["phi"]
    l, b = last_state[0], last_state[1]
    s = last_state[2:]
    out = []
    for i in range(h):
        mult = sum(phi ** k for k in range(1, i + 2))
        f = l + mult * b if comp[1] == "A" else l * b ** mult
        if comp[2] != "N":
            f = f + s[(m - 1 - i) % m] if comp[2] == "A" else f * s[(m - 1 - i) % m]
        out.append(f)
    return out


class _ManySamples:
    """Temporarily make theta's Monte Carlo intervals use many draws."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.orig = sft.compute_pi_samples

        def patched(*a, **kw):
            kw["n_samples"] = self.n
            return self.orig(*a, **kw)

        sft.compute_pi_samples = patched

    def __exit__(self, *exc):
        sft.compute_pi_samples = self.orig


def seasonality_test(y, m):
    """AutoTheta's test, recomputed (statsforecast does not return the statistic)."""
    if not (m >= 4 and len(y) >= 2 * m):
        return None
    r = acf(y, nlags=m, fft=False)[1:]
    stat = np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / len(y))
    return {"acf_m": r[-1], "se": stat, "z": abs(r[-1]) / stat, "threshold": norm.ppf(0.95)}


def theta_gaussian_limit(mm, h):
    """Exact limit of statsforecast's Theta Monte Carlo intervals as the draws go to infinity.

    `compute_pi_samples` pushes each draw through a recursion that is linear in the normal draws
    (level, running mean, A, B all update linearly), so every step's sample is Gaussian: a
    centre (the path with all draws 0, NOT the point forecast) plus sigma * ||w_k|| * N(0, 1).
    """
    n, alpha, theta = mm["n"], mm["par"]["alpha"], mm["par"]["theta"]
    resid_tail = np.asarray(mm["residuals"])[3:]
    sigma = np.std(resid_tail, ddof=1)
    row = np.asarray(mm["states"])[-1]
    # each quantity = [constant, coefficient of draw 0, ..., coefficient of draw h-1]
    lvl = np.zeros(h + 1); lvl[0] = row[0]
    a_ = np.zeros(h + 1); a_[0] = row[2]
    b_ = np.zeros(h + 1); b_[0] = row[3]
    my = np.zeros(h + 1); my[0] = mm["mean_y"]
    centre, sd = np.zeros(h), np.zeros(h)
    for k, i in enumerate(range(n, n + h)):
        smp = lvl + (1 - 1 / theta) * (a_ * (1 - alpha) ** i + b_ * (1 - (1 - alpha) ** (i + 1)) / alpha)
        smp[k + 1] += 1.0
        centre[k], sd[k] = smp[0], sigma * np.linalg.norm(smp[1:])
        lvl = alpha * smp + (1 - alpha) * lvl
        my = (i * my + smp) / (i + 1)
        b_ = ((i - 1) * b_ + 6 * (smp - my) / (i + 1)) / (i + 2)
        a_ = my - b_ * (i + 2) / 2
    out = {"centre": centre, "sd": sd}
    for lv in LEVELS:
        z = norm.ppf(0.5 + lv / 200)
        out[f"lo-{lv}"], out[f"hi-{lv}"] = centre - z * sd, centre + z * sd
    if mm.get("decompose", False):
        seas = np.tile(mm["seas_forecast"]["mean"], h // len(mm["seas_forecast"]["mean"]) + 1)[:h]
        for key in [k for k in out if k.startswith(("lo-", "hi-"))]:
            out[key] = out[key] * seas if mm["decomposition_type"] == "multiplicative" else out[key] + seas
    return out


def run_theta(y, m, h):
    thetas = []
    orig = sft.thetamodel

    def spy(**kw):
        fit = orig(**kw)
        thetas.append({"modeltype": kw["modeltype"], "mse": fit["mse"], "par": dict(fit["par"]),
                       "nit": fit["fit"].nit if fit["fit"] is not None else None})
        return fit

    sft.thetamodel = spy
    try:
        mod = AutoTheta(season_length=m).fit(y)
        res = mod.predict(h, level=LEVELS)
    except Exception as ex:  # noqa: BLE001
        return {"error": err(ex)}
    finally:
        sft.thetamodel = orig
    mm = mod.model_
    with _ManySamples(20000):
        conv = sft.forecast_theta(mm, h, level=LEVELS)
    resid_tail = np.asarray(mm["residuals"])[3:]
    out = {
        "modeltype": mm["modeltype"],
        "initial_smoothed": mm["par"]["initial_smoothed"], "alpha": mm["par"]["alpha"],
        "theta": mm["par"]["theta"], "mse": mm["mse"],
        "candidates": thetas,
        "seasonality_test": seasonality_test(y, m),
        "decompose": bool(mm.get("decompose", False)),
        "decomposition_type": mm.get("decomposition_type"),
        "seasonal_indices": mm["seas_forecast"]["mean"] if mm.get("decompose", False) else None,
        "pi_sigma": np.std(resid_tail, ddof=1) if len(resid_tail) >= 2 else None,
        "last_state": np.asarray(mm["states"])[-1],
        "forecast": fcst_dict(res),
        "forecast_converged": {k: v for k, v in fcst_dict(conv).items() if k != "mean"},
        "forecast_gaussian_limit": theta_gaussian_limit(mm, h),
    }
    return out


def run_simple(model, y, h):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.forecast(y, h, level=LEVELS)
    except Exception as ex:  # noqa: BLE001
        return {"error": err(ex)}
    return {"forecast": fcst_dict(res)}


def mase(actual, pred, train, m):
    lag = m if m > 1 else 1
    scale = np.mean(np.abs(train[lag:] - train[:-lag]))
    if not np.isfinite(scale) or scale == 0:
        return None
    return float(np.mean(np.abs(actual - pred)) / scale)


def holdout(y, m, h):
    train, test = y[:-h], y[-h:]
    out = {"train_length": len(train), "horizon": h, "scale_lag": m if m > 1 else 1}
    ets = run_ets(train, m, h)
    out["auto_ets_model"] = ets.get("model")
    out["auto_ets_forecast"] = ets["forecast"]["mean"] if "forecast" in ets else None
    preds = {"auto_ets": ets["forecast"]["mean"] if "forecast" in ets else None}
    th = run_theta(train, m, h)
    preds["auto_theta"] = th["forecast"]["mean"] if "forecast" in th else None
    preds["seasonal_naive"] = run_simple(SeasonalNaive(season_length=m), train, h)["forecast"]["mean"]
    preds["naive"] = run_simple(Naive(), train, h)["forecast"]["mean"]
    out["mase"] = {k: (mase(test, np.asarray(v), train, m) if v is not None else None)
                   for k, v in preds.items()}
    return out


# ---------------------------------------------------------------- data

def dates(start, n, freq):
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=n, freq=freq)]


def load_series():
    series = []

    def add(name, source, freq, m, h, ts, values):
        values = np.round(np.asarray(values, dtype=np.float64), 6)
        assert len(ts) == len(values)
        series.append(dict(name=name, source=source, freq=freq, season_length=m, horizon=h,
                           timestamps=ts, values=values))

    ap = np.asarray(AirPassengers, dtype=np.float64)
    add("air_passengers", "statsforecast.utils.AirPassengers (Box-Jenkins 1949-1960)", "monthly",
        12, 12, dates("1949-01-01", len(ap), "MS"), ap)
    add("air_passengers_log", "log of air_passengers", "monthly", 12, 12,
        dates("1949-01-01", len(ap), "MS"), np.log(np.round(ap, 6)))

    co2 = sm.datasets.co2.load_pandas().data["co2"]
    mo = co2.resample("MS").mean().interpolate(method="linear")
    mo = mo.iloc[-480:]
    add("co2_monthly", "statsmodels co2, monthly means, 5 empty months interpolated, last 480",
        "monthly", 12, 12, [d.strftime("%Y-%m-%d") for d in mo.index], mo.to_numpy())

    nile = sm.datasets.nile.load_pandas().data
    add("nile", "statsmodels nile (annual flow 1871-1970)", "annual", 1, 10,
        dates(f"{int(nile.year.iloc[0])}-01-01", len(nile), "YS"), nile.volume.to_numpy())

    el = sm.datasets.elnino.load_pandas().data
    flat = el.drop(columns="YEAR").to_numpy().reshape(-1)
    start_year = int(el.YEAR.iloc[0])
    ts = dates(f"{start_year}-01-01", len(flat), "MS")
    add("elnino", "statsmodels elnino, months flattened, last 480", "monthly", 12, 12,
        ts[-480:], flat[-480:])

    ss = sm.datasets.sunspots.load_pandas().data
    add("sunspots", "statsmodels sunspots (annual 1700-2008, has zeros)", "annual", 1, 10,
        dates(f"{int(ss.YEAR.iloc[0])}-01-01", len(ss), "YS"), ss.SUNACTIVITY.to_numpy())

    md = sm.datasets.macrodata.load_pandas().data
    add("us_realgdp", "statsmodels macrodata realgdp (quarterly 1959Q1-2009Q3)", "quarterly", 4, 8,
        dates("1959-01-01", len(md), "QS"), md.realgdp.to_numpy())

    rng = np.random.default_rng(20240101)
    w = np.array([0.0, 2.5, 3.0, 2.0, 1.0, -4.0, -4.5])
    f = np.array([1.0, 1.15, 1.25, 1.1, 0.95, 0.75, 0.8])
    f = f / f.mean()
    t = np.arange(364)
    trend_weekly = 100 + 0.08 * t + 3 * w[t % 7] + rng.normal(0, 2.0, len(t))
    add("daily_trend_weekly", "synthetic: 100 + 0.08t + 3w[t%7] + N(0,2)", "daily", 7, 28,
        dates("2024-01-01", len(t), "D"), trend_weekly)
    mult = (200 + 0.5 * t) * f[t % 7] * (1 + rng.normal(0, 0.03, len(t)))
    add("daily_multiplicative", "synthetic: (200 + 0.5t) f[t%7] (1 + N(0,0.03))", "daily", 7, 28,
        dates("2024-01-01", len(t), "D"), mult)
    t2 = np.arange(196)
    neg = -12 + 0.12 * t2 + 2.5 * w[t2 % 7] + rng.normal(0, 1.5, len(t2))
    add("daily_negative", "synthetic: -12 + 0.12t + 2.5w[t%7] + N(0,1.5)", "daily", 7, 28,
        dates("2024-01-01", len(t2), "D"), neg)
    add("daily_constant", "synthetic: 60 x 42.0", "daily", 7, 28, dates("2024-01-01", 60, "D"),
        np.full(60, 42.0))
    add("daily_short", "first 10 points of daily_trend_weekly (< 2 seasons)", "daily", 7, 28,
        dates("2024-01-01", 10, "D"), trend_weekly[:10])
    add("daily_tiny", "synthetic: 3 points", "daily", 7, 28, dates("2024-01-01", 3, "D"),
        [12.5, 13.1, 12.8])
    return series


# ---------------------------------------------------------------- edge cases

def edge_call(label, fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as ex:  # noqa: BLE001
            result = {"error": err(ex)}
    msgs = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    if isinstance(result, dict) and msgs:
        result["warnings"] = msgs
    return {"call": label, "result": result}


def edge_cases(by_name):
    cases = []

    def std_calls(y, m, h):
        return [
            edge_call(f"AutoETS(season_length={m})", lambda: run_ets(y, m, h)),
            edge_call(f"AutoETS(season_length={m}, model='MNN')", lambda: run_ets(y, m, h, "MNN", False)),
            edge_call(f"AutoTheta(season_length={m})", lambda: run_theta(y, m, h)),
            edge_call(f"SeasonalNaive(season_length={m})",
                      lambda: SeasonalNaive(season_length=m).forecast(y, h, level=LEVELS)),
            edge_call("Naive()", lambda: Naive().forecast(y, h, level=LEVELS)),
        ]

    s = by_name["daily_constant"]
    cases.append({"name": "constant", "series": "daily_constant",
                  "note": "ets_f short-circuits a constant series to ANN with alpha fixed at 0.9999; "
                          "AutoTheta's constant branch discards its result and fits normally",
                  "calls": std_calls(s["values"], 7, 28)})
    s = by_name["daily_short"]
    cases.append({"name": "shorter_than_two_seasons", "series": "daily_short",
                  "calls": std_calls(s["values"], 7, 28)})
    s = by_name["daily_tiny"]
    cases.append({"name": "three_points", "series": "daily_tiny", "calls": std_calls(s["values"], 7, 28)})

    y = np.array(by_name["air_passengers"]["values"][:48], dtype=float)
    y[20] = np.nan
    cases.append({"name": "nan_inside", "values": y, "season_length": 12, "horizon": 12,
                  "note": "first 48 air_passengers values with index 20 set to NaN",
                  "calls": std_calls(y, 12, 12)})

    y = by_name["daily_negative"]["values"]
    cases.append({"name": "negative_values_multiplicative", "series": "daily_negative", "calls": [
        edge_call("AutoETS(model='MNN')", lambda: run_ets(y, 7, 28, "MNN", False)),
        edge_call("AutoETS(model='MAM')", lambda: run_ets(y, 7, 28, "MAM", False)),
        edge_call("AutoETS(model='ANM')", lambda: run_ets(y, 7, 28, "ANM", False)),
        edge_call("AutoETS(model='ZZZ') (multiplicative candidates skipped)",
                  lambda: {k: v for k, v in run_ets(y, 7, 28, with_candidates=True).items()
                           if k in ("model", "candidates")}),
    ]})
    y = by_name["sunspots"]["values"]
    cases.append({"name": "zero_values_multiplicative", "series": "sunspots", "calls": [
        edge_call("AutoETS(model='MNN')", lambda: run_ets(y, 1, 10, "MNN", False)),
    ]})
    y = by_name["nile"]["values"]
    cases.append({"name": "seasonal_model_with_m_1", "series": "nile", "calls": [
        edge_call("AutoETS(season_length=1, model='ANA')", lambda: run_ets(y, 1, 10, "ANA", False)),
    ]})
    y = by_name["daily_short"]["values"]
    cases.append({"name": "n_le_m_drops_seasonality", "series": "daily_short",
                  "note": "10 points with season_length=12: ets_f sets seasontype='N' silently",
                  "calls": [edge_call("AutoETS(season_length=12, model='ANA')",
                                      lambda: run_ets(y, 12, 12, "ANA", False))]})
    y = by_name["air_passengers"]["values"]
    cases.append({"name": "fixed_trend_damped_none", "series": "air_passengers",
                  "note": "model='MAM' with damped=None tries MAdM and MAM and keeps the lower AICc",
                  "calls": [edge_call("AutoETS(season_length=12, model='MAM')",
                                      lambda: run_ets(y, 12, 12, "MAM", None, with_candidates=True))]})
    y = by_name["daily_trend_weekly"]["values"]
    cases.append({"name": "season_length_over_24", "series": "daily_trend_weekly",
                  "note": "statsforecast fits seasonal ETS for m > 24 (R's ets drops seasonality)",
                  "calls": [edge_call("AutoETS(season_length=30, model='ANA')",
                                      lambda: run_ets(y, 30, 28, "ANA", False))]})
    return cases


# ---------------------------------------------------------------- main

def main():
    warnings.simplefilter("ignore")
    series = load_series()
    by_name = {s["name"]: s for s in series}
    out_series = []
    for s in series:
        y, m, h = s["values"], s["season_length"], s["horizon"]
        rec = dict(s)
        rec["positive"] = bool(np.min(y) > 0)
        rec["auto_ets"] = run_ets(y, m, h, with_fitted=True, with_candidates=True)
        fixed = {}
        for x in FIXED_MODELS:
            spec = x.replace("d", "")
            fixed[x] = run_ets(y, m, h, spec, damped=("d" in x))
        rec["fixed_ets"] = fixed
        rec["auto_theta"] = run_theta(y, m, h)
        rec["seasonal_naive"] = run_simple(SeasonalNaive(season_length=m), y, h)
        rec["naive"] = run_simple(Naive(), y, h)
        rec["holdout"] = holdout(y, m, h) if len(y) >= 2 * h + 2 * m and np.ptp(y) > 0 else None
        out_series.append(rec)
        a = rec["auto_ets"]
        sys.stderr.write(
            f"{s['name']:<22} n={len(y):<4} m={m:<2} auto_ets={a.get('model', a.get('error'))} "
            f"theta={rec['auto_theta'].get('modeltype', rec['auto_theta'].get('error'))} "
            f"holdout={None if rec['holdout'] is None else rec['holdout']['mase']}\n")

    methods = ["auto_ets", "auto_theta", "seasonal_naive", "naive"]
    eligible = [r for r in out_series if r["holdout"] is not None]
    summary = {"series": [r["name"] for r in eligible], "mean_mase": {}}
    for k in methods:
        vals = [r["holdout"]["mase"][k] for r in eligible if r["holdout"]["mase"][k] is not None]
        summary["mean_mase"][k] = float(np.mean(vals))
        summary.setdefault("n", {})[k] = len(vals)
    sys.stderr.write(f"mean hold-out MASE: {summary['mean_mase']}\n")

    doc = {
        "reference": f"statsforecast {statsforecast.__version__}, statsmodels {statsmodels.__version__}, "
                     f"numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}",
        "levels": LEVELS,
        "z": {str(lv): norm.ppf(0.5 + lv / 200) for lv in LEVELS},
        "series": out_series,
        "holdout_summary": summary,
        "edge_cases": edge_cases(by_name),
    }
    json.dump(clean(doc), sys.stdout, separators=(",", ":"), allow_nan=False)


if __name__ == "__main__":
    main()

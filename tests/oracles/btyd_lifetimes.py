"""Reference BTYD numbers (summary, BG/NBD, Gamma-Gamma, CLV) from the archived `lifetimes` package.

lifetimes 0.11.3 only partly runs on the system's pandas 3.1 / numpy 2.4 (its BG/NBD fit and D/W
summaries do, but pandas 3 refuses `Timedelta / np.timedelta64(1, "M")`, which its freq="M" summary
needs: "ValueError: Unit M is not supported"), so the reference runs in a venv with the pins of
its era (Python 3.11):

    python3 -m venv /work/venv-lifetimes
    /work/venv-lifetimes/bin/pip install lifetimes==0.11.3 numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 \
        autograd==1.6.2 dill==0.3.8 setuptools==69.5.1 python-dateutil==2.9.0.post0 pytz==2024.2
    /work/venv-lifetimes/bin/python tests/oracles/btyd_lifetimes.py > udfs/tests/fixtures/btyd_lifetimes.json

(setuptools is there for `pkg_resources`, which lifetimes.datasets imports.) The script also
(re)writes three data files next to the JSON, byte-identical from run to run:

  * udfs/tests/fixtures/cdnow_transactions.csv  `customer_id,ts,amount`: lifetimes'
    datasets/CDNOW_sample.txt (the CDNOW 1/10 sample, 6919 lines, 1997-01-01..1998-06-30).
    customer_id is the file's 2nd column (the sample id 1..2357, = the ID of the summary files; the
    1st column, the master-file id, is dropped, as is the number of CDs); ts = YYYY-MM-DD; amount is
    the dollar value text as shipped (2 decimals; 8 rows are 0.00). Rows in the shipped order;
    177 (customer, day) pairs have several rows (lifetimes sums them).
  * udfs/tests/fixtures/cdnow_summary.csv  `customer_id,frequency,recency,t,monetary`: lifetimes'
    datasets/cdnow_customers_summary_with_transactions.csv (ID,x,t_x,T,zbar) as shipped: 2357
    customers, 39-week calibration (1997-01-01..1997-09-30), recency and t in WEEKS rounded to 2
    decimals, monetary = mean spend of the REPEAT purchases (first excluded; same-day purchases
    summed) rounded to cents, 0.00 for the 1411 one-time buyers (946 repeaters, min zbar 2.99).
    frequency/recency/t equal datasets/cdnow_customers_summary.csv (the load_cdnow_summary() file)
    exactly. Checked here: summary case cdnow_D_calibration / 7, rounded to 2 dp, reproduces
    recency and t exactly and monetary within 0.005 (the file's rounding to cents).
  * udfs/tests/fixtures/btyd_synthetic_transactions.csv  `customer_id,ts,amount`: 300 customers
    (random 5-digit ids), 2024-01-01 00:00:00..2024-06-30 23:59:59, ts = YYYY-MM-DD HH:MM:SS, amount
    2 decimals (3% are 0.00), rows shuffled. Same-day and within-6-day repeats, plus 12 hand-made
    customers on the bucketing edges (observation end Wed 2024-06-12: a purchase at 23:59:59 that
    day, one at 2024-06-13 00:00:00, a first purchase on Sun 2024-06-16, Sun 23:59:59 -> Mon 00:00:00,
    Jan 31 / Feb 1 / Feb 29, three purchases on one day, a duplicate timestamp, ...).

JSON layout: `summary` (cases), `bgnbd` {cdnow, cdnow_penalized, synthetic}, `gamma_gamma`,
`edge_cases`. Floats are full precision; a non-finite float would be written as "nan"/"inf".
Per-customer arrays are in the order of the input rows (cdnow_summary.csv order = customer_id 1..2357).

------------------------------------------------------------------------------------------------
1. summary_data_from_transaction_data(tx, "customer_id", "ts", monetary_value_col="amount",
   observation_period_end=END, freq=F)   (cases in `summary`, rows sorted by customer_id)
------------------------------------------------------------------------------------------------
What lifetimes/pandas do, step by step (lifetimes/utils.py, _find_first_transactions):

  a. Every timestamp is replaced by the START of its pandas period:
     `transactions.set_index(ts).to_period(freq).to_timestamp()`.
       D: midnight of the day (time of day dropped).
       W: pandas "W" is "W-SUN": weeks run Monday 00:00 .. Sunday 23:59:59.999 and END on Sunday;
          the period start is the MONDAY. 2024-06-09 (Sun) and 2024-06-10 (Mon) are different weeks;
          2024-02-05 (Mon) and 2024-02-11 (Sun) are the same week.
       M: the 1st of the calendar month, 00:00.
  b. END is floored the same way: `pd.to_datetime(END).to_period(freq).to_timestamp()`
     (END=None: the max ts, floored). Transactions are kept iff period_start(ts) <= period_start(END).
     So a transaction AFTER the end date but inside the end's period is KEPT: with W and END =
     Tue 1997-09-30, purchases up to Sun 1997-10-05 count (36 CDNOW rows; case cdnow_W_calibration);
     with D, anything on the END day at any time counts. Customers with no kept row are absent.
  c. Rows are grouped by (period, customer); amounts in one period are SUMMED into one transaction.
  d. Per customer: first = earliest period start, last = latest, n = number of distinct periods.
       frequency = n - 1
       recency   = (last - first) / U          (0 when frequency = 0)
       T         = (period_start(END) - first) / U
       monetary  = mean over the repeat periods (all but the first period) of the per-period sums;
                   0 when frequency = 0
     where U = np.timedelta64(1, freq): D = 1 day, W = 7 days (so W recency/T are whole numbers of
     weeks, counted Monday to Monday), and M = np.timedelta64(1, "M") = 30.436875 days exactly
     (365.2425/12 days, 2629746 s): M recency/T are FRACTIONAL, e.g. 1997-01-01 -> 1998-06-01 is
     516 days = 16.95312018727284 months, 2024-01-01 -> 2024-02-01 is 31/30.436875 =
     1.0185014065997249. Results are floats (astype(float)).

Cases: cdnow_D_calibration (END 1997-09-30: the Fader-Hardie calibration period, in days),
cdnow_W_calibration, cdnow_M_full (END 1998-06-30), cdnow_D_truncated (END 1997-06-30, later rows
dropped; every CDNOW customer first bought in Q1 1997 so all 2357 remain), cdnow_W_early
(END Wed 1997-02-12: 1264 customers, the rest first bought later; purchases of Thu 02-13..Sun 02-16
count), and synthetic_D / _W / _M (END 2024-06-12: 273 / 282 / 300 customers),
synthetic_D_default_end (END None -> max ts 2024-06-30 23:59:59). Worked examples from the synthetic
file (customer: purchases -> D / W / M rows [frequency, recency, T, monetary]):
  64454: 03-01 10:00, 06-13 00:00            -> D [0, 0, 103, 0]   W [1, 15, 15, 57.1]
  71366: 06-16 23:59:59 (first = Sun)        -> D absent           W [0, 0, 0, 0]
  72319: 06-09 23:59:59, 06-10 00:00         -> D [1, 1, 3, ...]   W [1, 1, 1, ...]   M [0, 0, 0, 0]
  85128: 01-31 23:00 73.49, 02-01 01:00 24.73, 02-29 41.66
                                             -> M [1, 1.0185014065997249, 4.993942380747038, 66.39]

------------------------------------------------------------------------------------------------
2. BG/NBD: BetaGeoFitter(penalizer_coef=c).fit(frequency, recency, T)   (`bgnbd`)
------------------------------------------------------------------------------------------------
fit() casts frequency with astype(int) (BEFORE its input checks, so 1.5 silently becomes 1), then
rescales time by s = 1/max(T): recency*s, T*s, and minimises over log-params (start 0.1 each) with
scipy.optimize.minimize(value_and_grad(nll), jac=True, method=None -> BFGS, tol=1e-7). Per customer
(lifetimes' _negative_log_likelihood, x = frequency, t_x = recency):
    A1 = lnG(r+x) - lnG(r) + r ln(alpha)
    A2 = lnG(a+b) + lnG(b+x) - lnG(b) - lnG(a+b+x)
    A3 = -(r+x) ln(alpha+T)
    A4 = ln(a) - ln(b + max(x,1) - 1) - (r+x) ln(t_x + alpha)
    LL_i = A1 + A2 + ln(exp(A3) + [x>0] exp(A4))          (evaluated as a log-sum-exp)
and the minimised objective is, verbatim:
    penalizer_term = penalizer_coef * sum(params ** 2)
    return -ll.sum() / weights.sum() + penalizer_term
i.e. the NEGATIVE MEAN log-likelihood plus c * (r^2 + alpha_s^2 + a^2 + b^2), where params are
the parameters IN SCALED TIME: alpha_s = alpha * s = alpha / max(T) (r, a, b are unaffected by the
time unit). After the fit, alpha = alpha_s / s. Written in natural units the penalised objective is
    -(1/N) sum_i LL_i(r, alpha, a, b; x_i, t_x_i, T_i) + c * (r^2 + (alpha/max T)^2 + a^2 + b^2)
plus the constant mean(x) * ln(s) (rescaling time changes each LL_i by -x_i ln s); `lifetimes_objective`
is lifetimes' stored value (scaled time, incl. that constant) and `objective_natural_units` the
expression above; the script asserts they differ by exactly mean(x)*ln(s). So the penalty depends on
max(T) and on N (a mean, not a sum). lifetimes' stored `_negative_log_likelihood_` is therefore
NOT -LL/N in the data's units: `ll_total` here is -N * nll(params) evaluated with lifetimes' own
function on the UNSCALED data, with penalty 0 (the published -9582.4 is on that scale), and
`ll_mean` = ll_total/N. `se` are lifetimes' standard errors. `refined_params` polish lifetimes'
optimum of the same objective (BFGS, gtol 1e-12): they agree with `params` to < 3e-7 relative.
Predictions use lifetimes' fitted `params`:
    conditional_probability_alive = 1 if x == 0 else expit(-log_div),
        log_div = (r+x) ln((alpha+T)/(alpha+t_x)) + ln(a / (b + max(x,1) - 1))
    conditional_expected_number_of_purchases_up_to_time(t) = FHL eq. 10, with 2F1 via scipy hyp2f1
        (and the Euler-transformed 2F1 when that overflows); `expected_new_customer` = eq. 9.

CDNOW (2357, cdnow_summary.csv):  r=0.2425929, alpha=4.4135323, a=0.7928860, b=2.4257524,
  LL = -9582.425561 (mean -4.0655178; lifetimes' stored objective 0.2502717), published
  (Fader, Hardie & Lee 2005): r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4; LL at the published
  params -9582.426831. p_alive and expected purchases for t=10 and t=39 weeks per customer.
CDNOW penalizer_coef=0.1: r=0.2309470, alpha=4.2192875, a=0.1286547, b=0.2671268; unpenalised LL
  -9626.932294; penalised objective (natural units) 4.0997040512 (lifetimes' 0.2844579351).
Synthetic: lifetimes.generate_data.beta_geometric_nbd_model(T=40, r=0.5, alpha=6, a=0.8, b=2.5,
  size=5000) after np.random.seed(20240612) (it draws from numpy's global RandomState; its
  frequency = number of distinct int(purchase times), recency = last purchase time, rounded to 6 dp
  here before fitting); fit r=0.5667072, alpha=7.5901720, a=0.6838425, b=1.9337658,
  LL=-33441.990552; p_alive and expected purchases for t=20. Rows [frequency, recency, T] included.

------------------------------------------------------------------------------------------------
3. Gamma-Gamma: GammaGammaFitter().fit(frequency, monetary) on the 946 repeaters (`gamma_gamma`)
------------------------------------------------------------------------------------------------
    LL_i = lnG(px+q) - lnG(px) - lnG(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(x m + v)
objective = -(sum LL_i)/N + c*(p^2+q^2+v^2) (no time scaling here), so `ll_total` = -N * lifetimes'
stored objective. Fit: p=6.2488025, q=3.7445885, v=15.4477481, LL=-4055.923244 (mean -4.2874453);
published p=6.25, q=3.74, gamma=15.44 (LL at those -4055.924713). The likelihood is a flat ridge
along (p, v) (a 0.1% move of both costs 0.005 LL) but lifetimes' point is the optimum to ~4e-9 in
log-params (gradient 7e-9), so `refined_params` equal `params`.
conditional_expected_average_profit(x, m) = (1-w)*v*p/(q-1) + w*m, w = p*x/(p*x+q-1): for all
2357 customers; for x=0 w=0, so one-time buyers get the population mean v*p/(q-1) = 35.171002
(their monetary 0 is ignored, not used as 0).
customer_lifetime_value(bgf, frequency, recency, T, monetary, time, discount_rate, freq) with the
CDNOW BG/NBD fit, for all 2357 customers: (time=12, discount_rate=0.01, freq="W") and (time=6,
discount_rate=0.05, freq="W"). lifetimes/utils.py _customer_lifetime_value, verbatim:

    adjusted_monetary_value = self.conditional_expected_average_profit(frequency, monetary_value)
    ...
    steps = np.arange(1, time + 1)
    factor = {"W": 4.345, "M": 1.0, "D": 30, "H": 30 * 24}[freq]

    for i in steps * factor:
        # since the prediction of number of transactions is cumulative, we have to subtract off the previous periods
        expected_number_of_transactions = transaction_prediction_model.predict(
            i, frequency, recency, T
        ) - transaction_prediction_model.predict(i - factor, frequency, recency, T)
        # sum up the CLV estimates of all of the periods and apply discounted cash flow
        df["clv"] += (monetary_value * expected_number_of_transactions) / (1 + discount_rate) ** (i / factor)

i.e. CLV = sum_{k=1..time} M_adj * (E[Y(k*f)] - E[Y((k-1)*f)]) / (1+d)^k, with predict =
conditional_expected_number_of_purchases_up_to_time, "months" of f = 4.345 weeks (freq W; NOT
30/7), 30 days (D), 1 (M), 720 hours (H); i = k*f computed as float (np.arange * f), exponent
i/f (= k up to the last bit), and E[Y(0)] = 0. No per-month probability of being alive beyond
what E[Y] already holds; one-time buyers get a positive CLV from the population mean spend.

------------------------------------------------------------------------------------------------
4. Edge cases (`edge_cases`: outcome "fitted" with params, or "error" with the exception text)
------------------------------------------------------------------------------------------------
  * all frequencies 0 (8 customers): LinAlgError "Singular matrix" (BFGS stops, then inverting
    the Hessian for the standard errors fails); single one-time buyer: the same.
  * single customer (x=3, t_x=20, T=30): ConvergenceError (and lifetimes print()s the scipy result).
  * 10 customers of which 4 have T=0: "fitted" to a degenerate boundary (r ~ 7e15, b ~ 9e20) -
    lifetimes gives no warning for a tiny sample.
  * all T=0: max(T)=0, s = 1/0 = inf: ConvergenceError.
  * CDNOW + 40 rows (0, 0, 0): T=0 one-time buyers contribute exactly 0 to the LL
    (r ln alpha - r ln(alpha+0)), so params/LL are CDNOW's (unpenalised; N only rescales the mean);
    p_alive = 1 and E[Y(10)] = eq. 9 for them.
  * recency > T, recency != 0 with frequency 0, empty input: ValueError from _check_inputs (texts
    recorded). CDNOW-fit predictions for T=0 / recency=T / x=0 histories are recorded
    (`cdnow_fit_predictions_on_edge_inputs`, incl. t=0 -> 0).
  * Gamma-Gamma with monetary <= 0 (e.g. a one-time buyer's 0): ValueError; 1 or 2 repeaters, all
    spends equal, or a frequency-0 row with positive monetary (lnG(0)): ConvergenceError.
  * summary: END before every transaction -> empty frame (no error); two purchases on the END day
    -> [0, 0, 0, 0]; negative amounts are summed/averaged like any other.
Suggested Sightline behaviour: NULL (or an error) where lifetimes errors or degenerates.
"""

import contextlib
import io
import json
import math
import sys
import warnings
from pathlib import Path

import autograd
import numpy as np
import pandas as pd
import scipy
from scipy.optimize import minimize

import lifetimes
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value, load_dataset
from lifetimes.generate_data import beta_geometric_nbd_model
from lifetimes.utils import summary_data_from_transaction_data

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "udfs" / "tests" / "fixtures"
CDNOW_TRANSACTIONS = FIXTURES / "cdnow_transactions.csv"
CDNOW_SUMMARY = FIXTURES / "cdnow_summary.csv"
SYNTHETIC_TRANSACTIONS = FIXTURES / "btyd_synthetic_transactions.csv"

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "ll": -9582.4}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def log(msg):
    sys.stderr.write(msg + "\n")


def num(v):
    """A JSON-safe float: full precision, non-finite values as the strings "nan"/"inf"/"-inf"."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def nums(a):
    return [num(v) for v in np.asarray(a, dtype=float).ravel()]


def err(e):
    return f"{type(e).__name__}: {' '.join(str(e).split())}"


@contextlib.contextmanager
def quiet():
    """lifetimes print()s the scipy result before raising ConvergenceError: keep stdout clean for the JSON."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield buf


# --------------------------------------------------------------------------------------------
# data files
# --------------------------------------------------------------------------------------------


def write_cdnow_files():
    raw = load_dataset(
        "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "n_cds", "amount"],
        dtype={"master_id": str, "customer_id": int, "date": str, "n_cds": int, "amount": str},
    )
    with open(CDNOW_TRANSACTIONS, "w", newline="\n") as f:
        f.write("customer_id,ts,amount\n")
        for cid, d, amount in zip(raw["customer_id"], raw["date"], raw["amount"]):
            f.write(f"{cid},{d[:4]}-{d[4:6]}-{d[6:]},{amount}\n")

    summary = load_dataset("cdnow_customers_summary_with_transactions.csv", dtype=str)
    summary.columns = [c.strip() for c in summary.columns]
    with open(CDNOW_SUMMARY, "w", newline="\n") as f:
        f.write("customer_id,frequency,recency,t,monetary\n")
        for row in summary[["ID", "x", "t_x", "T", "zbar"]].itertuples(index=False):
            f.write(",".join(v.strip() for v in row) + "\n")
    # the loader lifetimes itself offers for this file must agree with what was written
    ref = load_cdnow_summary_data_with_monetary_value()
    back = pd.read_csv(CDNOW_SUMMARY)
    assert (back["customer_id"].values == ref.index.values).all()
    for a, b in [("frequency", "frequency"), ("recency", "recency"), ("t", "T"), ("monetary", "monetary_value")]:
        assert (back[a].values == ref[b].values).all(), a


def write_synthetic_transactions():
    """~300 customers, timestamps with time of day, same-day / same-week repeats, week/month edges."""
    rng = np.random.default_rng(20240612)
    start = pd.Timestamp("2024-01-01 00:00:00")
    end = pd.Timestamp("2024-06-30 23:59:59")
    span = int((end - start).total_seconds())
    ids = rng.choice(np.arange(10000, 100000), size=300, replace=False)
    rows = []

    def amount():
        return 0.0 if rng.random() < 0.03 else round(float(rng.gamma(2.0, 20.0)) + 0.01, 2)

    for cid in ids[:288]:
        t = start + pd.Timedelta(seconds=int(rng.integers(0, span)))
        times = [t]
        for _ in range(int(rng.poisson(3.0))):
            u = rng.random()
            last = times[-1]
            if u < 0.2:  # same calendar day, later time of day
                day_end = last.normalize() + pd.Timedelta(seconds=86399)
                gap = int(rng.integers(0, max(1, int((day_end - last).total_seconds()) + 1)))
                nt = last + pd.Timedelta(seconds=gap)
            elif u < 0.45:  # within the next 6 days (often the same week)
                nt = last + pd.Timedelta(seconds=int(rng.integers(3600, 6 * 86400)))
            else:
                nt = last + pd.Timedelta(seconds=int(rng.exponential(20.0) * 86400) + 1)
            if nt > end:
                break
            times.append(nt)
        for tt in times:
            rows.append((int(cid), tt, amount()))
    # hand-made customers on the edges the bucketing cares about (observation end = Wed 2024-06-12)
    special = [
        ["2024-03-01 10:00:00", "2024-06-12 23:59:59"],  # last purchase late on the observation-end day
        ["2024-03-01 10:00:00", "2024-06-13 00:00:00"],  # just after it: dropped for D, same week for W
        ["2024-06-16 23:59:59"],  # first purchase on the Sunday of the observation week (W: T=0)
        ["2024-06-09 23:59:59", "2024-06-10 00:00:00"],  # Sunday -> Monday: two W periods, two days
        ["2024-01-31 23:00:00", "2024-02-01 01:00:00", "2024-02-29 12:00:00"],  # month edges, leap day
        ["2024-04-02 08:00:00", "2024-04-02 09:00:00", "2024-04-02 21:00:00"],  # all on one day: D freq 0
        ["2024-01-01 00:00:00", "2024-06-30 23:59:59"],  # first and last instants of the data
        ["2024-06-12 00:00:00"],  # single purchase at the observation-end day (D: T=0)
        ["2024-02-05 12:00:00", "2024-02-11 12:00:00", "2024-02-12 12:00:00"],  # Mon, Sun, Mon
        ["2024-05-20 09:30:00", "2024-05-20 09:30:00"],  # duplicate timestamp (amounts summed)
        ["2024-01-15 12:00:00", "2024-03-15 12:00:00", "2024-05-15 12:00:00", "2024-06-11 12:00:00"],
        ["2024-06-01 00:00:01", "2024-06-05 00:00:00", "2024-06-14 00:00:00"],
    ]
    for cid, ts_list in zip(ids[288:], special):
        for ts in ts_list:
            rows.append((int(cid), pd.Timestamp(ts), amount()))
    order = rng.permutation(len(rows))
    with open(SYNTHETIC_TRANSACTIONS, "w", newline="\n") as f:
        f.write("customer_id,ts,amount\n")
        for i in order:
            cid, tt, am = rows[i]
            f.write(f"{cid},{tt.strftime('%Y-%m-%d %H:%M:%S')},{am:.2f}\n")


def read_transactions(path):
    df = pd.read_csv(path, dtype={"customer_id": int, "ts": str, "amount": float})
    df["ts"] = pd.to_datetime(df["ts"])
    return df


# --------------------------------------------------------------------------------------------
# summary_data_from_transaction_data
# --------------------------------------------------------------------------------------------


def summary_case(name, data_file, tx, freq, observation_end):
    s = summary_data_from_transaction_data(
        tx, "customer_id", "ts", monetary_value_col="amount", observation_period_end=observation_end, freq=freq
    ).sort_index()
    if observation_end is None:
        used_end = str(tx["ts"].max())
    else:
        used_end = observation_end
    rows = [
        [int(cid), int(r.frequency), num(r.recency), num(r.T), num(r.monetary_value)]
        for cid, r in zip(s.index, s.itertuples(index=False))
    ]
    log(f"summary {name:<28} freq={freq} end={used_end}: {len(rows)} customers, "
        f"sum f={int(s.frequency.sum())}, repeaters={(s.frequency > 0).sum()}")
    return {
        "name": name,
        "data": data_file,
        "freq": freq,
        "observation_end": observation_end,
        "observation_end_used": used_end,
        "period_of_observation_end": str(pd.Timestamp(used_end).to_period(freq)),
        "n_customers": len(rows),
        "columns": ["customer_id", "frequency", "recency", "T", "monetary_value"],
        "rows": rows,
    }


# --------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------


def bgnbd_mean_nll(params, f, rec, T, penalizer=0.0):
    """lifetimes' own objective (BetaGeoFitter._negative_log_likelihood) at natural-scale params."""
    w = np.ones_like(rec, dtype=int)
    return float(BetaGeoFitter._negative_log_likelihood(np.log(np.asarray(params, float)), f, rec, T, w, penalizer))


def refine_bgnbd(params, f, rec, T, penalizer, scale):
    """Polish lifetimes' optimum of ITS objective (time scaled by 1/max T) to a tight tolerance."""
    sp = np.array(params, float)
    sp[1] *= scale
    w = np.ones_like(rec, dtype=int)
    obj = autograd.value_and_grad(BetaGeoFitter._negative_log_likelihood)
    out = minimize(obj, np.log(sp), jac=True, method="BFGS", args=(f, rec * scale, T * scale, w, penalizer),
                   options={"gtol": 1e-12, "maxiter": 10000})
    p = np.exp(out.x)
    p[1] /= scale
    return p


def bgnbd_fit_case(name, f, rec, T, penalizer=0.0, t_values=(), data=None, rows=None):
    f = np.asarray(f).astype(int)
    rec = np.asarray(rec, float)
    T = np.asarray(T, float)
    with quiet():
        m = BetaGeoFitter(penalizer_coef=penalizer).fit(f, rec, T)
    params = m.params_[["r", "alpha", "a", "b"]].values
    n = len(f)
    scale = 1.0 / T.max()
    ll_total = -n * bgnbd_mean_nll(params, f, rec, T, 0.0)
    penalised_natural = bgnbd_mean_nll(params, f, rec, T, 0.0) + penalizer * float(
        params[0] ** 2 + (params[1] * scale) ** 2 + params[2] ** 2 + params[3] ** 2)
    # lifetimes' stored objective is in scaled time: it differs from the natural-units one by
    # mean(x) * log(1/max T) (a constant), check that here
    assert abs(m._negative_log_likelihood_ - (penalised_natural + f.mean() * math.log(scale))) < 1e-9
    refined = refine_bgnbd(params, f, rec, T, penalizer, scale)
    case = {
        "name": name,
        "data": data,
        "n": n,
        "penalizer_coef": penalizer,
        "max_T": num(T.max()),
        "params": {k: num(v) for k, v in zip(["r", "alpha", "a", "b"], params)},
        "se": {k: num(m.standard_errors_[k]) for k in ["r", "alpha", "a", "b"]},
        "lifetimes_objective": num(m._negative_log_likelihood_),
        "objective_natural_units": num(penalised_natural),
        "ll_total": num(ll_total),
        "ll_mean": num(ll_total / n),
        "refined_params": {k: num(v) for k, v in zip(["r", "alpha", "a", "b"], refined)},
        "refined_ll_total": num(-n * bgnbd_mean_nll(refined, f, rec, T, 0.0)),
        "repr": repr(m),
    }
    if rows is not None:
        case["columns"] = ["frequency", "recency", "T"]
        case["rows"] = rows
    case["p_alive"] = nums(m.conditional_probability_alive(f, rec, T))
    case["expected"] = {
        str(t): nums(m.conditional_expected_number_of_purchases_up_to_time(t, f, rec, T)) for t in t_values
    }
    case["expected_new_customer"] = {
        str(t): num(m.expected_number_of_purchases_up_to_time(t)) for t in (1, 10, 20, 39, 52, 78)
    }
    pr = case["params"]
    log(f"bgnbd {name:<22} r={pr['r']:.6f} alpha={pr['alpha']:.6f} a={pr['a']:.6f} b={pr['b']:.6f} "
        f"LL={ll_total:.6f} (lifetimes objective {m._negative_log_likelihood_:.9f}); refined LL "
        f"{case['refined_ll_total']:.6f}, max |dparam/param| vs refined "
        f"{np.max(np.abs(refined - params) / params):.2e}")
    return case, m


# --------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------


def gg_mean_nll(params, x, m, penalizer=0.0):
    w = np.ones_like(x, dtype=int)
    return float(GammaGammaFitter._negative_log_likelihood(np.log(np.asarray(params, float)), x, m, w, penalizer))


def refine_gg(params, x, m):
    w = np.ones_like(x, dtype=int)
    obj = autograd.value_and_grad(GammaGammaFitter._negative_log_likelihood)
    out = minimize(obj, np.log(params), jac=True, method="BFGS", args=(x, m, w, 0.0),
                   options={"gtol": 1e-12, "maxiter": 10000})
    return np.exp(out.x)


# --------------------------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------------------------


def bgnbd_edge(name, f, rec, T, note):
    f = np.asarray(f, dtype=float)
    rec = np.asarray(rec, dtype=float)
    T = np.asarray(T, dtype=float)
    case = {"name": name, "model": "bgnbd", "note": note, "frequency": nums(f), "recency": nums(rec), "T": nums(T)}
    try:
        with quiet():
            m = BetaGeoFitter().fit(f, rec, T)
        params = m.params_[["r", "alpha", "a", "b"]].values
        case["outcome"] = "fitted"
        case["params"] = {k: num(v) for k, v in zip(["r", "alpha", "a", "b"], params)}
        case["lifetimes_objective"] = num(m._negative_log_likelihood_)
        with quiet():
            case["ll_total"] = num(-len(f) * bgnbd_mean_nll(params, f.astype(int), rec, T))
            case["p_alive"] = nums(m.conditional_probability_alive(f, rec, T))
            case["expected_10"] = nums(m.conditional_expected_number_of_purchases_up_to_time(10, f, rec, T))
    except Exception as e:  # noqa: BLE001 - the outcome itself is what we record
        case["outcome"] = "error"
        case["error"] = err(e)
    log(f"edge {name:<32} {case['outcome']}: {case.get('error', case.get('params'))}")
    return case


def gg_edge(name, x, mv, note):
    x = np.asarray(x, dtype=float)
    mv = np.asarray(mv, dtype=float)
    case = {"name": name, "model": "gamma_gamma", "note": note, "frequency": nums(x), "monetary_value": nums(mv)}
    try:
        with quiet():
            g = GammaGammaFitter().fit(x, mv)
        params = g.params_[["p", "q", "v"]].values
        case["outcome"] = "fitted"
        case["params"] = {k: num(v) for k, v in zip(["p", "q", "v"], params)}
        case["lifetimes_objective"] = num(g._negative_log_likelihood_)
        with quiet():
            case["conditional_expected_average_profit"] = nums(g.conditional_expected_average_profit(x, mv))
    except Exception as e:  # noqa: BLE001
        case["outcome"] = "error"
        case["error"] = err(e)
    log(f"edge {name:<32} {case['outcome']}: {case.get('error', case.get('params'))}")
    return case


def summary_edge(name, tx_rows, freq, observation_end, note):
    tx = pd.DataFrame(tx_rows, columns=["customer_id", "ts", "amount"])
    tx["ts"] = pd.to_datetime(tx["ts"])
    case = {
        "name": name,
        "model": "summary",
        "note": note,
        "freq": freq,
        "observation_end": observation_end,
        "transactions": [[int(c), str(t), float(a)] for c, t, a in tx_rows],
    }
    try:
        with quiet():
            s = summary_data_from_transaction_data(
                tx, "customer_id", "ts", monetary_value_col="amount", observation_period_end=observation_end,
                freq=freq,
            ).sort_index()
        case["outcome"] = "ok"
        case["rows"] = [[int(c), int(r.frequency), num(r.recency), num(r.T), num(r.monetary_value)]
                        for c, r in zip(s.index, s.itertuples(index=False))]
    except Exception as e:  # noqa: BLE001
        case["outcome"] = "error"
        case["error"] = err(e)
    log(f"edge {name:<32} {case['outcome']}: {case.get('error', case.get('rows'))}")
    return case


def edge_cases(bgf_cdnow, f, rec, T):
    cases = []
    # 40 T=0 one-time buyers appended to CDNOW: each contributes exactly 0 to the log-likelihood
    # (r*log(alpha) - r*log(alpha + 0)), so the unpenalised optimum is CDNOW's; only N changes
    n0 = 40
    f0 = np.concatenate([f, np.zeros(n0, int)])
    r0 = np.concatenate([rec, np.zeros(n0)])
    t0 = np.concatenate([T, np.zeros(n0)])
    with quiet():
        m0 = BetaGeoFitter().fit(f0, r0, t0)
        p0 = m0.params_[["r", "alpha", "a", "b"]].values
        cases.append({
            "name": "cdnow_plus_40_T_zero",
            "model": "bgnbd",
            "note": "cdnow_summary.csv rows followed by 40 rows (frequency 0, recency 0, T 0)",
            "outcome": "fitted",
            "params": {k: num(v) for k, v in zip(["r", "alpha", "a", "b"], p0)},
            "lifetimes_objective": num(m0._negative_log_likelihood_),
            "ll_total": num(-len(f0) * bgnbd_mean_nll(p0, f0, r0, t0)),
            "p_alive_T_zero": num(m0.conditional_probability_alive(0, 0.0, 0.0)[0]),
            "expected_10_T_zero": num(m0.conditional_expected_number_of_purchases_up_to_time(10, 0, 0.0, 0.0)),
        })
    log(f"edge cdnow_plus_40_T_zero fitted: {cases[-1]['params']} LL {cases[-1]['ll_total']}")
    cases.append(bgnbd_edge(
        "all_frequency_zero", [0] * 8, [0] * 8, [5, 10, 12, 20, 25, 30, 38, 39],
        "nobody repeats: the likelihood r*log(alpha/(alpha+T)) grows as r -> 0 / alpha -> inf"))
    cases.append(bgnbd_edge("single_customer", [3], [20.0], [30.0], "one customer with repeats"))
    cases.append(bgnbd_edge("single_customer_frequency_zero", [0], [0.0], [30.0], "one one-time buyer"))
    cases.append(bgnbd_edge(
        "some_T_zero", [2, 0, 1, 0, 5, 0, 3, 1, 0, 0], [10, 0, 4, 0, 30, 0, 20, 1, 0, 0],
        [30, 0, 12, 25, 38, 0, 39, 2, 7, 0],
        "ten customers, four with T=0: a tiny sample, lifetimes ends on a degenerate boundary fit"))
    cases.append(bgnbd_edge("all_T_zero", [0, 0, 0], [0, 0, 0], [0, 0, 0],
                            "everybody first bought in the last period: lifetimes scales time by 1/max(T)"))
    cases.append(bgnbd_edge("recency_gt_T", [1, 2], [10, 40], [20, 30], "input check"))
    cases.append(bgnbd_edge("recency_nonzero_with_frequency_zero", [0, 2], [3, 10], [20, 30], "input check"))
    cases.append(bgnbd_edge("empty", [], [], [], "no customers"))
    # predictions of the CDNOW fit on edge inputs (T=0, frequency 0, recency=T)
    f = np.array([0, 0, 1, 3, 3, 10])
    r = np.array([0.0, 0.0, 0.0, 39.0, 10.0, 38.0])
    T = np.array([0.0, 39.0, 0.0, 39.0, 39.0, 38.0])
    with quiet():
        cases.append({
            "name": "cdnow_fit_predictions_on_edge_inputs",
            "model": "bgnbd_predict",
            "note": "lifetimes' CDNOW params (bgnbd.cdnow.params) applied to T=0 / recency=T / f=0 histories",
            "frequency": nums(f), "recency": nums(r), "T": nums(T),
            "p_alive": nums(bgf_cdnow.conditional_probability_alive(f, r, T)),
            "expected_10": nums(bgf_cdnow.conditional_expected_number_of_purchases_up_to_time(10, f, r, T)),
            "expected_0": nums(bgf_cdnow.conditional_expected_number_of_purchases_up_to_time(0, f, r, T)),
        })
    cases.append(gg_edge("gg_single_repeater", [3], [25.0], "one repeater"))
    cases.append(gg_edge("gg_two_repeaters", [1, 4], [10.0, 30.0], "two repeaters"))
    cases.append(gg_edge("gg_including_frequency_zero", [0, 2, 3], [0.0, 20.0, 30.0],
                         "a one-time buyer (monetary 0) passed to the fit"))
    cases.append(gg_edge("gg_frequency_zero_positive_monetary", [0, 2, 3, 1], [15.0, 20.0, 30.0, 12.0],
                         "a frequency-0 row with a positive monetary value"))
    cases.append(gg_edge("gg_all_same_monetary", [1, 2, 3, 4, 5], [20.0] * 5, "no spread in spend"))
    cases.append(summary_edge(
        "summary_observation_end_before_all", [[1, "2024-03-01", 10.0], [2, "2024-03-05 10:00:00", 5.0]], "D",
        "2024-01-01", "no transaction on or before the observation end"))
    cases.append(summary_edge(
        "summary_single_customer_one_day", [[7, "2024-03-01 08:00:00", 10.0], [7, "2024-03-01 18:00:00", 5.5]], "D",
        "2024-03-01", "two purchases on the observation-end day"))
    cases.append(summary_edge(
        "summary_negative_amount", [[1, "2024-03-01", 10.0], [1, "2024-03-04", -4.0], [1, "2024-03-09", 6.0]], "D",
        "2024-03-10", "a refund row is just summed/averaged like any amount"))
    return cases


# --------------------------------------------------------------------------------------------


def main():
    write_cdnow_files()
    write_synthetic_transactions()
    cdnow_tx = read_transactions(CDNOW_TRANSACTIONS)
    synth_tx = read_transactions(SYNTHETIC_TRANSACTIONS)

    # ---- summary ----
    summary_cases = [
        summary_case("cdnow_D_calibration", "cdnow_transactions.csv", cdnow_tx, "D", "1997-09-30"),
        summary_case("cdnow_W_calibration", "cdnow_transactions.csv", cdnow_tx, "W", "1997-09-30"),
        summary_case("cdnow_M_full", "cdnow_transactions.csv", cdnow_tx, "M", "1998-06-30"),
        summary_case("cdnow_D_truncated", "cdnow_transactions.csv", cdnow_tx, "D", "1997-06-30"),
        summary_case("cdnow_W_early", "cdnow_transactions.csv", cdnow_tx, "W", "1997-02-12"),
        summary_case("synthetic_D", "btyd_synthetic_transactions.csv", synth_tx, "D", "2024-06-12"),
        summary_case("synthetic_W", "btyd_synthetic_transactions.csv", synth_tx, "W", "2024-06-12"),
        summary_case("synthetic_M", "btyd_synthetic_transactions.csv", synth_tx, "M", "2024-06-12"),
        summary_case("synthetic_D_default_end", "btyd_synthetic_transactions.csv", synth_tx, "D", None),
    ]
    # cross-check: the daily summary / 7 is lifetimes' CDNOW summary file (recency/T to 2 decimals)
    cd = pd.read_csv(CDNOW_SUMMARY).set_index("customer_id")
    d = pd.DataFrame(summary_cases[0]["rows"], columns=["id", "f", "r", "T", "m"]).set_index("id").loc[cd.index]
    assert (d.f.values == cd.frequency.values).all()
    assert np.abs(np.round(d.r / 7, 2) - cd.recency).max() < 1e-9
    assert np.abs(np.round(d["T"] / 7, 2) - cd.t).max() < 1e-9
    mdiff = np.abs(d.m - cd.monetary)
    assert mdiff.max() <= 0.005 + 1e-9, mdiff.max()
    log(f"check: cdnow_D_calibration/7 == cdnow_summary.csv (recency, T to 2 dp); monetary within "
        f"{mdiff.max():.6f} (file rounded to cents)")

    # ---- BG/NBD on CDNOW ----
    f, rec, T, mon = cd.frequency.values, cd.recency.values, cd.t.values, cd.monetary.values
    pub = PUBLISHED_BGNBD
    cdnow_case, bgf = bgnbd_fit_case("cdnow", f, rec, T, 0.0, t_values=(10, 39), data="cdnow_summary.csv")
    cdnow_case["published"] = dict(pub, source="Fader, Hardie & Lee (2005), Marketing Science 24(2), sec. 7")
    cdnow_case["ll_total_at_published_params"] = num(
        -len(f) * bgnbd_mean_nll([pub["r"], pub["alpha"], pub["a"], pub["b"]], f, rec, T))
    for k in ("r", "alpha", "a", "b"):
        assert round(cdnow_case["params"][k], 2) == round(pub[k], 2) or abs(cdnow_case["params"][k] - pub[k]) < 5e-3, k
    assert abs(cdnow_case["ll_total"] - pub["ll"]) < 0.05
    pen_case, _ = bgnbd_fit_case("cdnow_penalizer_0.1", f, rec, T, 0.1, t_values=(10, 39), data="cdnow_summary.csv")

    # ---- BG/NBD on data simulated by lifetimes ----
    np.random.seed(20240612)  # lifetimes.generate_data draws from numpy's global RandomState
    with quiet():
        sim = beta_geometric_nbd_model(40.0, 0.5, 6.0, 0.8, 2.5, size=5000)
    sf = sim["frequency"].values.astype(int)
    sr = np.round(sim["recency"].values.astype(float), 6)
    sT = np.round(sim["T"].values.astype(float), 6)
    rows = [[int(a), float(b), float(c)] for a, b, c in zip(sf, sr, sT)]
    sim_case, _ = bgnbd_fit_case("synthetic", sf, sr, sT, 0.0, t_values=(20,), rows=rows)
    sim_case["generator"] = {
        "function": "lifetimes.generate_data.beta_geometric_nbd_model",
        "T": 40.0, "r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5, "size": 5000, "numpy_seed": 20240612,
        "note": "frequency = number of distinct int(purchase times); recency = last purchase time, rounded to 6 dp",
    }

    # ---- Gamma-Gamma on the 946 CDNOW repeaters ----
    rep = f > 0
    x, m = f[rep].astype(float), mon[rep]
    with quiet():
        ggf = GammaGammaFitter().fit(x, m)
    gp = ggf.params_[["p", "q", "v"]].values
    gg_ll = -len(x) * gg_mean_nll(gp, x, m)
    assert abs(ggf._negative_log_likelihood_ * -len(x) - gg_ll) < 1e-6
    g_ref = refine_gg(gp, x, m)
    with quiet():
        profit = ggf.conditional_expected_average_profit(pd.Series(f), pd.Series(mon))
        clv = ggf.customer_lifetime_value(bgf, pd.Series(f), pd.Series(rec), pd.Series(T), pd.Series(mon),
                                          time=12, discount_rate=0.01, freq="W")
        clv_b = ggf.customer_lifetime_value(bgf, pd.Series(f), pd.Series(rec), pd.Series(T), pd.Series(mon),
                                            time=6, discount_rate=0.05, freq="W")
    gg_case = {
        "name": "cdnow_repeaters",
        "data": "cdnow_summary.csv rows with frequency > 0",
        "n": int(rep.sum()),
        "params": {k: num(v) for k, v in zip(["p", "q", "v"], gp)},
        "se": {k: num(ggf.standard_errors_[k]) for k in ["p", "q", "v"]},
        "lifetimes_objective": num(ggf._negative_log_likelihood_),
        "ll_total": num(gg_ll),
        "ll_mean": num(gg_ll / len(x)),
        "refined_params": {k: num(v) for k, v in zip(["p", "q", "v"], g_ref)},
        "refined_ll_total": num(-len(x) * gg_mean_nll(g_ref, x, m)),
        "published": dict(PUBLISHED_GG, source="Fader & Hardie (2013) note 025; Fader, Hardie & Lee (2005) JMR"),
        "ll_total_at_published_params": num(-len(x) * gg_mean_nll([6.25, 3.74, 15.44], x, m)),
        "population_mean_spend": num(gp[2] * gp[0] / (gp[1] - 1)),
        "repr": repr(ggf),
        "conditional_expected_average_profit": nums(profit),
        "clv": [
            {"bgnbd": "bgnbd.cdnow.params", "time": 12, "discount_rate": 0.01, "freq": "W", "values": nums(clv)},
            {"bgnbd": "bgnbd.cdnow.params", "time": 6, "discount_rate": 0.05, "freq": "W", "values": nums(clv_b)},
        ],
    }
    for k in ("p", "q", "v"):
        assert abs(gg_case["params"][k] - PUBLISHED_GG[k]) < 0.02, k
    log(f"gamma_gamma cdnow p={gp[0]:.6f} q={gp[1]:.6f} v={gp[2]:.6f} LL={gg_ll:.6f} "
        f"(lifetimes objective {ggf._negative_log_likelihood_:.9f}); refined LL {gg_case['refined_ll_total']:.6f}; "
        f"population mean {gg_case['population_mean_spend']:.6f}; sum CLV(12, 1%) {float(clv.sum()):.4f}")

    edges = edge_cases(bgf, f, rec, T)

    ref = (f"lifetimes {lifetimes.__version__}, pandas {pd.__version__}, numpy {np.__version__}, "
           f"scipy {scipy.__version__}, autograd {getattr(autograd, '__version__', '1.6.2')}")
    out = {
        "reference": ref,
        "data_files": {
            "cdnow_transactions.csv": "CDNOW 1/10 sample (lifetimes datasets/CDNOW_sample.txt): customer_id,ts,amount",
            "cdnow_summary.csv": "lifetimes datasets/cdnow_customers_summary_with_transactions.csv "
                                 "(ID,x,t_x,T,zbar as customer_id,frequency,recency,t,monetary); weeks",
            "btyd_synthetic_transactions.csv": "generated here; customer_id,ts (YYYY-MM-DD HH:MM:SS),amount",
        },
        "summary": summary_cases,
        "bgnbd": {"cdnow": cdnow_case, "cdnow_penalized": pen_case, "synthetic": sim_case},
        "gamma_gamma": gg_case,
        "edge_cases": edges,
    }
    json.dump(out, sys.stdout, separators=(",", ":"), allow_nan=False)


if __name__ == "__main__":
    main()

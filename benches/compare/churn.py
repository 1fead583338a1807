"""Churn models, Sightline vs lifetimes (BG/NBD) and scikit-learn (logistic), same data, same machine.

    cargo build --release
    pip install scikit-learn==1.9.1 numpy pandas pyarrow threadpoolctl
    python3 -m venv /work/venv-lifetimes
    /work/venv-lifetimes/bin/pip install lifetimes==0.11.3 numpy==1.26.4 pandas==1.5.3 scipy==1.11.4 \\
        autograd==1.6.2 dill==0.3.8 setuptools==69.5.1 python-dateutil==2.9.0.post0 pytz==2024.2
    python3 benches/compare/churn.py [--customers 1000000] [--rows 1000000] [--runs 3] \\
        [--lifetimes-python /work/venv-lifetimes/bin/python]

(The binary is $CARGO_TARGET_DIR/release/sightline, default <repo>/target; here that means
`CARGO_TARGET_DIR=/work/target python3 benches/compare/churn.py`.)

lifetimes 0.11.3 (archived) needs the pandas/numpy of its era, hence the venv (the pins are those
of tests/oracles/btyd_lifetimes.py). That venv has no Parquet reader (no pyarrow/fastparquet), so
the generator also writes the same customers as a float64 .npy file (n x 3, beside the table
directory: c<N>-customers.npy) for lifetimes to load.

Data (generated once, outside any timing, under the system temp dir; numpy seeds 23 and 29):

  * `c<N>/customers.parquet` (frequency, recency, t DOUBLE) + the .npy: --customers draws from
    the BG/NBD generative process (Fader, Hardie & Lee 2005) with r=0.25, alpha=4, a=0.8, b=2.5,
    simulated vectorised in numpy: lambda ~ Gamma(r, scale 1/alpha), p ~ Beta(a, b); T = a whole
    number of days uniform in 7..364, in weeks; repeat purchases arrive as a Poisson process of
    rate lambda (per week) and after each repeat purchase the customer dies with probability p;
    frequency = repeat purchases in (0, T], recency = time of the last one (0 if none). recency
    and T are weeks rounded to 2 decimals, as in lifetimes' CDNOW summary. At 1M: 366,678 repeat
    buyers, max frequency 81, 338,263 distinct (frequency, recency, T) histories (Sightline fits
    on the distinct histories with weights; lifetimes gets the 1M rows).
  * `r<N>/rows.parquet`: --rows rows of 10 features f1..f10 on very different scales (standard normal,
    log-normal revenue ~1e3, Poisson counts, days 0..365, a 0/1 flag, a correlated pair, ...) and
    `label` BIGINT drawn from a logistic model of the standardised features (intercept -1, about
    35% positives), NULL for a random 10% of rows.

Benchmarks (each engine: one warm-up run, then the median of --runs, every run a fresh process;
peak RSS is the child's ru_maxrss; "net" = median minus the engine's median start-up, which is
`SELECT 1` for Sightline and Python with the libraries imported for the others):

  1. bgnbd: Sightline fits BG/NBD and scores P(alive) for every customer in one statement,
     `SELECT m['r'], m['alpha'], m['a'], m['b'], m['log_likelihood'], (SELECT avg(p) FROM
     (SELECT bgnbd_p_alive(frequency, recency, t) OVER () AS p FROM customers)) FROM
     (SELECT bgnbd_fit(frequency, recency, t) AS m FROM customers)` (the window function fits
     again on its partition, so the model is fitted twice). lifetimes: np.load the .npy, then
     `BetaGeoFitter().fit(frequency, recency, T)` (defaults: penalizer 0, tol 1e-7; one row per
     customer, no `weights`, as in its documentation) and `conditional_probability_alive` for every
     customer, printing the parameters and mean P(alive) (at 1M: fit ~7 s, 485 MiB). Also measured
     inside lifetimes' process (time.perf_counter): the load, `fit` alone and fit + predict.
     bgnbd_fit alone in Sightline (query `fit_only`) is timed too, against lifetimes' fit alone.
     Checked: the parameters agree to 1e-3 relative and mean P(alive) to 1e-4 (else the script
     fails); both parameter sets' log-likelihoods are evaluated afterwards, untimed, with
     lifetimes' own objective in the data's units (which optimum is better).
  2. logistic: Sightline `SELECT avg(s), min(s), max(s) FROM (SELECT logistic_score(label, f1,
     ..., f10) OVER () AS s FROM rows)` (l2=1, z-scored features). scikit-learn ("sklearn"):
     pandas reads the file, `StandardScaler` fitted on the labelled rows, `LogisticRegression(C=1.0)`
     (defaults: lbfgs, tol 1e-4) fitted on them, `predict_proba` for every row; also timed with
     solver="newton-cholesky" ("sklearn_newton", sklearn's fastest solver for n >> features).
     OMP/BLAS threads = all CPUs (the script sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
     MKL_NUM_THREADS to os.cpu_count() for every engine). Checked against sklearn's exact optimum
     (an untimed newton-cholesky fit to tol 1e-12): Sightline's mean probability within 1e-9 (it
     agrees to ~1e-16; its Newton runs to machine precision) and within 1e-3 of the default fit,
     which stops early (lbfgs, 9 iterations: ~5e-5 off on the default data; both reported).

Reported: times (end to end and net), in-process fit times, peak RSS, the speed-ups
other/Sightline (net of start-up) and memory ratios Sightline/other. Results go to
benches/compare/results/churn.json (--out elsewhere). `--sightline PATH` replaces the binary;
`--only bgnbd|logistic` runs one benchmark, `--lifetimes-only` times lifetimes' side of bgnbd
alone; `--lifetimes-customers N` gives lifetimes its own draw of N customers (same process and
seed) if the full size were too slow for it (not needed: ~7 s per fit at 1M); the answers are then
not compared.
"""

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile

from measure import run

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SIGHTLINE = TARGET / "release" / "sightline"
LIFETIMES_PYTHON = "/work/venv-lifetimes/bin/python"
TRUE_PARAMS = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
PARAMS = ["r", "alpha", "a", "b"]
N_FEATURES = 10
FEATURES = ", ".join(f"f{i}" for i in range(1, N_FEATURES + 1))

BGNBD_QUERIES = {
    "fit_and_p_alive": (
        "SELECT m['r'] AS r, m['alpha'] AS alpha, m['a'] AS a, m['b'] AS b, "
        "m['log_likelihood'] AS ll, "
        "(SELECT avg(p) FROM (SELECT bgnbd_p_alive(frequency, recency, t) OVER () AS p FROM customers)) AS mean_p "
        "FROM (SELECT bgnbd_fit(frequency, recency, t) AS m FROM customers)"
    ),
    "fit_only": (
        "SELECT m['r'] AS r, m['alpha'] AS alpha, m['a'] AS a, m['b'] AS b, m['log_likelihood'] AS ll "
        "FROM (SELECT bgnbd_fit(frequency, recency, t) AS m FROM customers)"
    ),
}
LOGISTIC_QUERY = (
    "SELECT avg(s) AS mean_p, min(s) AS min_p, max(s) AS max_p FROM "
    f"(SELECT logistic_score(label, {FEATURES}) OVER () AS s FROM rows)"
)

# Runs in the lifetimes venv (numpy 1.26, pandas 1.5). Modes: startup, query, ll.
LIFETIMES_RUNNER = """
import sys, time
import numpy as np
from lifetimes import BetaGeoFitter
what, path = sys.argv[1], sys.argv[2]
if what == "startup":
    print("r,alpha,a,b,mean_p\\n1,1,1,1,1"); sys.exit()
t0 = time.perf_counter()
d = np.load(path)
f, rec, T = d[:, 0], d[:, 1], d[:, 2]
t1 = time.perf_counter()
if what == "ll":
    # total log-likelihood (data's units) of each parameter set given as r,alpha,a,b
    w = np.ones_like(rec)
    print("ll")
    for s in sys.argv[3:]:
        params = np.array([float(v) for v in s.split(",")])
        print(repr(-len(f) * float(BetaGeoFitter._negative_log_likelihood(np.log(params), f, rec, T, w, 0.0))))
    sys.exit()
m = BetaGeoFitter().fit(f, rec, T)
t2 = time.perf_counter()
p = m.conditional_probability_alive(f, rec, T)
t3 = time.perf_counter()
sys.stderr.write(f"@load {t1 - t0}\\n@fit {t2 - t1}\\n@fit_predict {t3 - t1}\\n")
print("r,alpha,a,b,mean_p")
print(",".join(repr(float(m.params_[k])) for k in ("r", "alpha", "a", "b")) + f",{float(np.mean(p))!r}")
"""

SKLEARN_RUNNER = """
import sys, time
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
what, path, dim, solver = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if what == "startup":
    print("mean_p,min_p,max_p\\n1,1,1"); sys.exit()
t0 = time.perf_counter()
df = pd.read_parquet(path)
x = df[[f"f{i}" for i in range(1, dim + 1)]].to_numpy(dtype=np.float64)
label = df["label"].to_numpy(dtype=np.float64, na_value=np.nan)
train = ~np.isnan(label)
t1 = time.perf_counter()
scaler = StandardScaler().fit(x[train])
# "reference" (untimed): the exact optimum, to check the answers against
options = {"solver": solver} if what == "query" else {"solver": "newton-cholesky", "tol": 1e-12, "max_iter": 1000}
model = LogisticRegression(C=1.0, **options).fit(scaler.transform(x[train]), label[train].astype(np.int64))
t2 = time.perf_counter()
p = model.predict_proba(scaler.transform(x))[:, 1]
t3 = time.perf_counter()
from threadpoolctl import threadpool_info
threads = max((i["num_threads"] for i in threadpool_info()), default=0)
sys.stderr.write(f"@load {t1 - t0}\\n@fit {t2 - t1}\\n@fit_predict {t3 - t1}\\n@iter {int(model.n_iter_[0])}\\n"
                 f"@threads {threads}\\n")
print("mean_p,min_p,max_p")
print(f"{float(p.mean())!r},{float(p.min())!r},{float(p.max())!r}")
"""


def simulate_bgnbd(n, seed=23, r=0.25, alpha=4.0, a=0.8, b=2.5):
    """(frequency, recency, T) of n customers drawn from the BG/NBD process, time in weeks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lam = np.maximum(rng.gamma(r, 1.0 / alpha, n), 1e-300)
    p = rng.beta(a, b, n)
    T = rng.integers(7, 365, n) / 7.0  # whole days 7..364 since the first purchase
    clock = np.zeros(n)
    frequency = np.zeros(n)
    recency = np.zeros(n)
    active = np.arange(n)  # alive and not yet past T
    while active.size:
        nxt = clock[active] + rng.exponential(1.0 / lam[active])
        inside = nxt <= T[active]
        active, nxt = active[inside], nxt[inside]
        clock[active] = nxt
        frequency[active] += 1
        recency[active] = nxt
        active = active[rng.random(active.size) >= p[active]]  # dies after this purchase with prob p
    return frequency, np.round(recency, 2), np.round(T, 2)


def npy(data):
    """The .npy copy of data/customers.parquet for lifetimes, beside the table directory (Sightline
    would warn about a non-Parquet file inside it)."""
    return data.parent / f"{data.name}-customers.npy"


def generate_customers(data, n):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    f, rec, T = simulate_bgnbd(n)
    assert (rec <= T).all() and (rec[f == 0] == 0).all()
    pq.write_table(pa.table({"frequency": f, "recency": rec, "t": T}), data / "customers.parquet",
                   row_group_size=1 << 17, compression="zstd")
    np.save(npy(data), np.column_stack([f, rec, T]))


def describe_customers(data):
    import numpy as np

    d = np.load(npy(data))
    return {
        "customers": int(len(d)),
        "distinct_histories": int(len(np.unique(d, axis=0))),
        "repeat_buyers": int((d[:, 0] > 0).sum()),
        "mean_frequency": float(d[:, 0].mean()),
        "max_frequency": int(d[:, 0].max()),
        "mean_t_weeks": float(d[:, 2].mean()),
    }


def generate_rows(path, n, seed=29):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3))
    x = np.column_stack([
        z[:, 0],                                            # f1 standard normal
        np.exp(6.5 + 1.2 * z[:, 1]),                        # f2 revenue, log-normal, ~1e3
        rng.poisson(4.0, n).astype(float),                  # f3 order count
        rng.integers(0, 366, n).astype(float),              # f4 days since last order
        (rng.random(n) < 0.3).astype(float),                # f5 0/1 flag
        0.01 * (50 + 10 * (0.8 * z[:, 0] + 0.6 * z[:, 2])), # f6 correlated with f1, tiny scale
        rng.uniform(-1e4, 1e4, n),                          # f7 wide uniform
        rng.gamma(2.0, 0.05, n),                            # f8 small positive rate
        1e6 + 1e3 * rng.standard_normal(n),                 # f9 large offset
        rng.standard_t(5, n),                               # f10 heavy tails
    ])
    std = (x - x.mean(axis=0)) / x.std(axis=0)
    beta = np.array([0.8, -0.5, 0.3, 1.1, -0.4, 0.6, 0.0, 0.2, -0.1, 0.35])
    prob = 1.0 / (1.0 + np.exp(-(-1.0 + std @ beta)))
    label = (rng.random(n) < prob).astype(np.int64)
    missing = rng.random(n) < 0.10
    columns = {"label": pa.array(label, mask=missing)}
    columns.update({f"f{j + 1}": pa.array(x[:, j]) for j in range(N_FEATURES)})
    pq.write_table(pa.table(columns), path, row_group_size=1 << 17, compression="zstd")


def table(text):
    """(header, rows) of Sightline's boxed table (`| a | b |` lines) or a runner's CSV."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    boxed = [l for l in lines if l.startswith("|")]
    if boxed:
        cells = [[c.strip() for c in l.strip("|").split("|")] for l in boxed]
    else:
        cells = [l.split(",") for l in lines if "," in l]
    if len(cells) < 2:
        sys.exit(f"no result table in:\n{text[-2000:]}")
    return cells[0], cells[1:]


def numbers(text, what):
    """The one answer row as {column: float}; fails on a missing or NULL cell."""
    header, rows = table(text)
    try:
        if len(rows) != 1:
            raise ValueError(f"{len(rows)} rows")
        if "" in rows[0]:
            raise ValueError(f"NULL in {dict(zip(header, rows[0]))}; did the fit converge?")
        return {h: float(v) for h, v in zip(header, rows[0], strict=True)}
    except ValueError as e:
        sys.exit(f"{what}: cannot read the answer ({e}) from:\n{text[-2000:]}")


def measure(cmd, runs, startup, what):
    """Warm-up run, then `runs` fresh-process runs: timings, peak RSS, the in-process @ markers."""
    run(cmd, what)
    times, rss, marks = [], [], {}
    for _ in range(runs):
        seconds, mib, out, err = run(cmd, what)
        times.append(seconds)
        rss.append(mib)
        for line in err.splitlines():
            if line.startswith("@"):
                key, value = line[1:].split()
                marks.setdefault(key, []).append(float(value))
    median = statistics.median(times)
    row = {"median_seconds": median, "net_seconds": max(median - startup, 1e-3), "seconds": times,
           "peak_rss_mib": max(rss)}
    for key, values in marks.items():
        row[key if key in ("iter", "threads") else f"{key}_seconds"] = statistics.median(values)
    return row, out


def show(name, engine, row, answer):
    extra = "".join(f" {k[:-8]}={row[k]:.2f}s" for k in ("load_seconds", "fit_seconds", "fit_predict_seconds")
                    if k in row)
    print(f"{name:<16} {engine:<14} {row['median_seconds']:>9.2f} {row['net_seconds']:>7.2f} "
          f"{row['peak_rss_mib']:>9.0f} {extra}", flush=True)
    print(f"{'':<31} {answer}", flush=True)


def customers_dir(args, n, make=False):
    """The directory of customers.parquet for n customers (generated when make and missing)."""
    data = pathlib.Path(args.data) / f"c{n}"
    if make and not (npy(data).exists() and (data / "customers.parquet").exists()):
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {n:,} BG/NBD customers -> {data}", flush=True)
        generate_customers(data, n)
    return data


def rows_dir(args, make=False):
    data = pathlib.Path(args.data) / f"r{args.rows}"
    if make and not (data / "rows.parquet").exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.rows:,} rows x {N_FEATURES} features -> {data}", flush=True)
        generate_rows(data / "rows.parquet", args.rows)
    return data


def bgnbd(args, startup, sightline, lifetimes):
    data = customers_dir(args, args.customers)
    lt_data = customers_dir(args, args.lifetimes_customers or args.customers)
    result = {"true_params": TRUE_PARAMS, "data": describe_customers(data), "sql": BGNBD_QUERIES, "engines": {}}
    if lt_data != data:
        result["lifetimes_data"] = describe_customers(lt_data)
    print(f"bgnbd: {result['data']}")
    answers = {}
    for name, sql in ({} if args.lifetimes_only else BGNBD_QUERIES).items():
        row, out = measure(sightline(data, sql), args.runs, startup["sightline"], f"sightline {name}")
        row["answer"] = answers[name] = numbers(out, f"sightline {name}")
        result["engines"][f"sightline_{name}"] = row
        show(name, "sightline", row, row["answer"])
    row, out = measure(lifetimes("query", lt_data), args.runs, startup["lifetimes"], "lifetimes")
    row["answer"] = answers["lifetimes"] = numbers(out, "lifetimes")
    result["engines"]["lifetimes"] = row
    show("fit_and_p_alive", "lifetimes", row, row["answer"])
    if args.lifetimes_only:
        return result

    ours, theirs = answers["fit_and_p_alive"], answers["lifetimes"]
    if ours["r"] != answers["fit_only"]["r"]:
        sys.exit(f"bgnbd_fit and the query with bgnbd_p_alive disagree: {ours} vs {answers['fit_only']}")
    rel = {k: abs(ours[k] - theirs[k]) / abs(theirs[k]) for k in PARAMS}
    # untimed: both optima's log-likelihood under lifetimes' own objective, data's units
    sets = [",".join(repr(d[k]) for k in PARAMS) for d in (ours, theirs)]
    _, _, out, _ = run([args.lifetimes_python, "-c", LIFETIMES_RUNNER, "ll", str(npy(data)), *sets])
    ll_ours, ll_theirs = (float(v) for v in out.split()[1:3])
    s, f, m = (result["engines"][k] for k in ("sightline_fit_and_p_alive", "sightline_fit_only", "lifetimes"))
    result["comparison"] = {
        "param_relative_difference": rel,
        "mean_p_alive_difference": ours["mean_p"] - theirs["mean_p"],
        "log_likelihood_sightline_params": ll_ours,
        "log_likelihood_lifetimes_params": ll_theirs,
        "sightline_reported_log_likelihood": ours["ll"],
        "speedup_end_to_end": m["median_seconds"] / s["median_seconds"],
        "speedup_net": m["net_seconds"] / s["net_seconds"],
        "speedup_vs_lifetimes_fit_predict_only": m["fit_predict_seconds"] / s["net_seconds"],
        "speedup_fit_only_vs_lifetimes_fit": m["fit_seconds"] / f["net_seconds"],
        "memory_ratio": s["peak_rss_mib"] / m["peak_rss_mib"],
    }
    c = result["comparison"]
    print(f"bgnbd: params rel. diff " + ", ".join(f"{k} {rel[k]:.1e}" for k in PARAMS)
          + f"; mean P(alive) diff {c['mean_p_alive_difference']:.1e}")
    print(f"bgnbd: log-likelihood at sightline's params {ll_ours:.6f}, at lifetimes' {ll_theirs:.6f} "
          f"(sightline reports {ours['ll']:.6f})")
    print(f"bgnbd: sightline is x{c['speedup_net']:.1f} faster net of start-up (x{c['speedup_end_to_end']:.1f} "
          f"end to end, x{c['speedup_vs_lifetimes_fit_predict_only']:.1f} vs lifetimes' fit+predict alone; "
          f"fit only x{c['speedup_fit_only_vs_lifetimes_fit']:.1f}); peak memory x{c['memory_ratio']:.2f}")
    if lt_data == data:
        if max(rel.values()) > 1e-3 or abs(c["mean_p_alive_difference"]) > 1e-4:
            sys.exit("bgnbd: the engines' answers disagree beyond 1e-3 (params) / 1e-4 (mean P(alive))")
    return result


def logistic(args, startup, sightline, sklearn):
    data = rows_dir(args)
    path = data / "rows.parquet"
    result = {"rows": args.rows, "features": N_FEATURES, "sql": LOGISTIC_QUERY, "engines": {}}
    answers = {}
    engines = {"sightline": sightline(data, LOGISTIC_QUERY), "sklearn": sklearn("query", path, "lbfgs"),
               "sklearn_newton": sklearn("query", path, "newton-cholesky")}
    for engine, cmd in engines.items():
        row, out = measure(cmd, args.runs, startup["sklearn" if "sklearn" in engine else engine], engine)
        row["answer"] = answers[engine] = numbers(out, f"{engine} logistic")
        result["engines"][engine] = row
        show("logistic_score", engine, row, row["answer"])
    # untimed: sklearn's exact optimum (newton-cholesky to tol 1e-12)
    reference = numbers(run(sklearn("reference", path, "-"))[2], "sklearn reference")
    result["sklearn_reference_answer"] = reference
    s, m, n = (result["engines"][k] for k in ("sightline", "sklearn", "sklearn_newton"))
    ours = answers["sightline"]
    result["comparison"] = {
        "mean_p_difference_vs_sklearn_default": ours["mean_p"] - answers["sklearn"]["mean_p"],
        "mean_p_difference_vs_sklearn_newton": ours["mean_p"] - answers["sklearn_newton"]["mean_p"],
        "difference_vs_exact_optimum": {k: ours[k] - reference[k] for k in ours},
        "speedup_end_to_end": m["median_seconds"] / s["median_seconds"],
        "speedup_net": m["net_seconds"] / s["net_seconds"],
        "speedup_vs_sklearn_fit_predict_only": m["fit_predict_seconds"] / s["net_seconds"],
        "speedup_net_vs_newton_cholesky": n["net_seconds"] / s["net_seconds"],
        "memory_ratio": s["peak_rss_mib"] / m["peak_rss_mib"],
    }
    c = result["comparison"]
    exact = c["difference_vs_exact_optimum"]
    print(f"logistic: mean probability diff vs sklearn default (lbfgs, {m.get('iter'):.0f} iterations, tol 1e-4) "
          f"{c['mean_p_difference_vs_sklearn_default']:.1e}, vs newton-cholesky "
          f"{c['mean_p_difference_vs_sklearn_newton']:.1e}, vs the exact optimum (untimed newton-cholesky, tol "
          f"1e-12) mean {exact['mean_p']:.1e} min {exact['min_p']:.1e} max {exact['max_p']:.1e}; "
          f"sklearn threads {m.get('threads'):.0f}")
    print(f"logistic: sightline is x{c['speedup_net']:.1f} faster net of start-up (x{c['speedup_end_to_end']:.1f} "
          f"end to end, x{c['speedup_vs_sklearn_fit_predict_only']:.1f} vs sklearn's scale+fit+predict alone, "
          f"x{c['speedup_net_vs_newton_cholesky']:.1f} vs newton-cholesky); peak memory x{c['memory_ratio']:.2f}")
    if abs(exact["mean_p"]) > 1e-9 or abs(c["mean_p_difference_vs_sklearn_default"]) > 1e-3:
        sys.exit("logistic: the mean probabilities disagree (beyond 1e-9 from the exact optimum or 1e-3 from "
                 "sklearn's default fit)")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-churn"))
    ap.add_argument("--sightline", default=str(SIGHTLINE), help="the sightline binary (default: %(default)s)")
    ap.add_argument("--lifetimes-python", default=LIFETIMES_PYTHON, help="python of the lifetimes venv")
    ap.add_argument("--lifetimes-customers", type=int, help="give lifetimes fewer customers (default: the same)")
    ap.add_argument("--only", choices=["bgnbd", "logistic"])
    ap.add_argument("--lifetimes-only", action="store_true", help="bgnbd, lifetimes' side alone")
    ap.add_argument("--out", default=str(ROOT / "benches" / "compare" / "results" / "churn.json"))
    args = ap.parse_args()

    if not pathlib.Path(args.sightline).exists():
        sys.exit(f"{args.sightline} not found: run `cargo build --release` first")
    threads = str(os.cpu_count())
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads  # inherited by every engine's process

    def sightline(data, sql):
        return [args.sightline, "query", "--data", str(data), sql]

    def lifetimes(what, data):
        return [args.lifetimes_python, "-c", LIFETIMES_RUNNER, what, str(npy(data))]

    def sklearn(what, path, solver="lbfgs"):
        return [sys.executable, "-c", SKLEARN_RUNNER, what, str(path), str(N_FEATURES), solver]

    benches = ["bgnbd"] if args.lifetimes_only else [args.only] if args.only else ["bgnbd", "logistic"]
    if "bgnbd" in benches:
        customers_dir(args, args.customers, make=True)
        customers_dir(args, args.lifetimes_customers or args.customers, make=True)
    if "logistic" in benches:
        rows_dir(args, make=True)
    empty = pathlib.Path(tempfile.mkdtemp(prefix="sightline-empty-"))
    startup = {"sightline": statistics.median(run(sightline(empty, "SELECT 1"))[0] for _ in range(args.runs))}
    if "bgnbd" in benches:
        startup["lifetimes"] = statistics.median(
            run(lifetimes("startup", empty))[0] for _ in range(args.runs))
    if "logistic" in benches:
        startup["sklearn"] = statistics.median(run(sklearn("startup", empty))[0] for _ in range(args.runs))
    print("start-up: " + ", ".join(f"{e} {s:.2f}s" for e, s in startup.items()) + " (python + imports for the others)")

    import sklearn as _sklearn
    _, _, version, _ = run([args.lifetimes_python, "-c", "import lifetimes, numpy, pandas, scipy; "
                            "print(lifetimes.__version__, numpy.__version__, pandas.__version__, scipy.__version__)"])
    lt = dict(zip(["lifetimes", "numpy", "pandas", "scipy"], version.split()))
    results = {"runs": args.runs, "cpus": os.cpu_count(), "thread_env": threads, "startup_seconds": startup,
               "sklearn_version": _sklearn.__version__, "lifetimes_venv": lt}
    print(f"{'benchmark':<16} {'engine':<14} {'median s':>9} {'net s':>7} {'peak MiB':>9}  in-process")
    for bench in benches:
        results[bench] = (bgnbd if bench == "bgnbd" else logistic)(
            args, startup, sightline, lifetimes if bench == "bgnbd" else sklearn)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results -> {out}")


if __name__ == "__main__":
    main()

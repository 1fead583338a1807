"""forecast (AutoETS), Sightline vs Nixtla statsforecast, same Parquet file, same machine.

    cargo build --release
    python3 -m venv /work/venv-statsforecast
    /work/venv-statsforecast/bin/pip install statsforecast==2.1.1 statsmodels==0.15.0 numpy==2.4.6 \\
        scipy==1.17.1 pandas==2.3.3 pyarrow
    CARGO_TARGET_DIR=/work/target python3 benches/compare/forecast.py [--series 10000] [--days 365] \\
        [--runs 1] [--statsforecast-python /work/venv-statsforecast/bin/python]

Data (generated once, outside any timing, numpy seed 11): --series daily series of --days points
(`daily_sales.parquet`: sku TEXT, day DATE, units DOUBLE): a level of 50-150, a small linear
trend, a weekly cycle of random amplitude and phase, Gaussian noise of random size, floored at 1
(so multiplicative models are candidates too), rounded to 3 decimals.

Timed, each in a fresh process (median of --runs; the statsforecast run is long, so the default
is one run each and no warm-up beyond the page cache):

  * Sightline: `SELECT count(*), avg(f['forecast']) FROM (SELECT unnest(forecast(day, units, 28))
    AS f FROM daily_sales GROUP BY sku)` — AutoETS with the weekly season inferred from the daily
    step, 28 days ahead with 80/95% intervals, one model per sku, both cores (DataFusion runs the
    groups' final aggregation in parallel partitions);
  * statsforecast 2.1.1: pandas reads the same file, then `StatsForecast(models=[AutoETS(
    season_length=7)], freq='D', n_jobs=-1).forecast(df=df, h=28, level=[80, 95])` (all cores).

Untimed check on the first --check series: the model statsforecast selects for each series
(`AutoETS(season_length=7).fit(y).model_`) against the `model` Sightline reports, and the
largest relative difference of the point forecasts where the models agree (damped-trend models
differ by design from step 2: statsforecast 2.1.1 mis-sums the damping, fixed upstream and here).

Results go to benches/compare/results/forecast.json.
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
SF_PYTHON = "/work/venv-statsforecast/bin/python"

SIGHTLINE_SQL = (
    "SELECT count(*) AS n, avg(f['forecast']) AS mean FROM (SELECT unnest(forecast(day, units, 28)) AS f "
    "FROM daily_sales GROUP BY sku)"
)
SIGHTLINE_CHECK_SQL = (
    "SELECT sku, f['model'] AS model, f['forecast'] AS forecast FROM (SELECT sku, unnest(forecast(day, units, 28)) AS f "
    "FROM daily_sales WHERE sku IN ({skus}) GROUP BY sku) ORDER BY sku, f['ts']"
)

SF_RUNNER = r"""
import sys, time
import pandas as pd
path, what = sys.argv[1], sys.argv[2]
from statsforecast import StatsForecast
from statsforecast.models import AutoETS
if what == "startup":
    print("n,mean\n1,1"); sys.exit()
df = pd.read_parquet(path).rename(columns={"sku": "unique_id", "day": "ds", "units": "y"})
df["ds"] = pd.to_datetime(df["ds"])
sf = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=-1)
f = sf.forecast(df=df, h=28, level=[80, 95])
print(f"n,mean\n{len(f)},{f['AutoETS'].mean()}")
"""

SF_CHECK = r"""
import json, sys
import numpy as np
import pandas as pd
from statsforecast.models import AutoETS
path, k = sys.argv[1], int(sys.argv[2])
df = pd.read_parquet(path)
out = {}
for sku, g in df.groupby("sku", sort=True):
    if len(out) >= k:
        break
    m = AutoETS(season_length=7).fit(g.sort_values("day")["units"].to_numpy(dtype=float))
    c = m.model_["components"]
    name = c[0] + c[1] + ("d" if c[3] == "D" else "") + c[2]
    out[sku] = {"model": f"ETS({name})", "forecast": m.predict(h=28)["mean"].tolist()}
print(json.dumps(out))
"""


def generate(path, series, days, seed=11):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    t = np.arange(days)
    level = rng.uniform(50, 150, (series, 1))
    trend = rng.normal(0, 0.05, (series, 1))
    amp = rng.uniform(0, 10, (series, 1))
    phase = rng.uniform(0, 6, (series, 1))
    noise = rng.uniform(3, 8, (series, 1)) * rng.standard_normal((series, days))
    y = np.round(np.maximum(level + trend * t + amp * np.sin(2 * np.pi * t / 7 + phase) + noise, 1.0), 3)
    skus = np.repeat(np.array([f"s{i:05d}" for i in range(series)]), days)
    day = np.tile(np.datetime64("2024-01-01") + t, series).astype("datetime64[D]")
    pq.write_table(pa.table({"sku": skus, "day": pa.array(day), "units": y.ravel()}), path,
                   row_group_size=1 << 20, compression="zstd")


def answer(text):
    for line in reversed(text.splitlines()):
        cells = [c.strip() for c in line.replace("|", ",").split(",") if c.strip()]
        if len(cells) == 2:
            try:
                return int(cells[0]), float(cells[1])
            except ValueError:
                continue
    sys.exit(f"no answer in:\n{text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--check", type=int, default=200, help="series compared model by model (untimed)")
    ap.add_argument("--statsforecast-python", default=SF_PYTHON)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-forecast"))
    args = ap.parse_args()

    if not SIGHTLINE.exists():
        sys.exit(f"{SIGHTLINE} not found: run `cargo build --release` first")
    data = pathlib.Path(args.data) / f"s{args.series}-d{args.days}"
    path = data / "daily_sales.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.series:,} series x {args.days} days -> {path}", flush=True)
        generate(path, args.series, args.days)

    def sightline(sql):
        return [str(SIGHTLINE), "query", "--data", str(data), sql]

    def statsforecast(what):
        return [args.statsforecast_python, "-c", SF_RUNNER, str(path), what]

    startup = {
        "sightline": statistics.median(run(sightline("SELECT 1"))[0] for _ in range(3)),
        "statsforecast": statistics.median(run(statsforecast("startup"))[0] for _ in range(3)),
    }
    print(f"start-up: sightline {startup['sightline']:.2f}s, statsforecast (python + import) {startup['statsforecast']:.2f}s")
    rows = {}
    for engine, cmd in {"sightline": sightline(SIGHTLINE_SQL), "statsforecast": statsforecast("run")}.items():
        times, rss = [], []
        for _ in range(args.runs):
            seconds, mib, out, _ = run(cmd)
            times.append(seconds)
            rss.append(mib)
        n, mean = answer(out)
        median = statistics.median(times)
        rows[engine] = {"median_seconds": median, "net_seconds": median - startup[engine], "seconds": times,
                        "peak_rss_mib": max(rss), "forecast_rows": n, "mean_forecast": mean}
        print(f"{engine:<14} {median:>9.1f} s  net {median - startup[engine]:>8.1f} s  {max(rss):>7.0f} MiB  "
              f"rows {n}  mean {mean:.4f}", flush=True)
    if rows["sightline"]["forecast_rows"] != rows["statsforecast"]["forecast_rows"]:
        sys.exit("the engines returned different numbers of forecast rows")

    # Untimed: model by model on the first --check series.
    _, _, sf_out, _ = run([args.statsforecast_python, "-c", SF_CHECK, str(path), str(args.check)])
    sf = json.loads(sf_out.strip().splitlines()[-1])
    skus = ", ".join(f"'{s}'" for s in sorted(sf))
    _, _, sl_out, _ = run(sightline(SIGHTLINE_CHECK_SQL.format(skus=skus)))
    ours = {}
    for line in sl_out.splitlines():
        cells = [c.strip() for c in line.split("|") if c.strip()]
        if len(cells) == 3 and cells[0] in sf:
            ours.setdefault(cells[0], {"model": cells[1], "forecast": []})["forecast"].append(float(cells[2]))
    same = [s for s in sf if ours.get(s, {}).get("model") == sf[s]["model"]]
    worst = 0.0
    for s in same:
        if "d" in sf[s]["model"][5:]:
            continue  # damped: 2.1.1's damping sum differs by design from step 2
        for a, b in zip(ours[s]["forecast"], sf[s]["forecast"]):
            worst = max(worst, abs(a - b) / max(abs(b), 1e-9))
    check = {"series": len(sf), "same_model": len(same), "same_model_share": len(same) / max(len(sf), 1),
             "max_rel_forecast_diff_same_undamped_model": worst}
    print(f"check on {len(sf)} series: same model {len(same)} ({check['same_model_share']:.1%}); "
          f"largest relative forecast difference where the (undamped) model agrees: {worst:.2e}")

    result = {
        "series": args.series, "days": args.days, "horizon": 28, "runs": args.runs,
        "startup_seconds": startup, "engines": rows, "check": check,
        "time_ratio_end_to_end": rows["sightline"]["median_seconds"] / rows["statsforecast"]["median_seconds"],
        "time_ratio_net": rows["sightline"]["net_seconds"] / rows["statsforecast"]["net_seconds"],
        "memory_ratio": rows["sightline"]["peak_rss_mib"] / rows["statsforecast"]["peak_rss_mib"],
        "sightline_sql": SIGHTLINE_SQL,
    }
    print(f"sightline / statsforecast: time x{result['time_ratio_end_to_end']:.2f} end to end, "
          f"x{result['time_ratio_net']:.2f} net; memory x{result['memory_ratio']:.2f}")
    out = ROOT / "benches" / "compare" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "forecast.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

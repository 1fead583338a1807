"""Markov-chain attribution, Sightline vs ChannelAttribution, same Parquet file, same run, same machine.

    cargo build --release
    pip install ChannelAttribution==2.2.5 numpy pandas pyarrow
    python3 benches/compare/attribution.py [--journeys 1000000] [--runs 3] [--orders 1 2]

Generates (once, outside any timing; numpy, fixed seed) journeys.parquet: one row per journey
over 10 channels, 1 + Poisson(3) touches (mean 4) drawn from a sticky first-order chain, with
path ("a > b > c"), conversions (0/1, from a logistic model of the channels touched),
conversion_value (log-normal for converters, else 0) and null_count (1 - conversions). Each
engine then runs, in a fresh process per run so peak memory is per query, for each Markov order:

  * Sightline: markov_attribution(path, conversions, conversion_value, null_count, order)
    unnested, summarised as the number of channels and the total attributed conversions. It is
    exact (a linear solve on the absorbing chain).
  * ChannelAttribution: pandas reads the file, groupby(path).sum() aggregates it to one row per
    distinct path (as its docs recommend), then markov_model(..., order) with its defaults
    (conv_par 0.05 unless --conv-par, nsim_start 1e5, ncore 1, seed 0): a Monte-Carlo estimate
    whose simulation count grows x1.5 until its 10 folds agree within conv_par. The number of
    simulations it ended with is reported.

Reported per order: median wall time over the runs (process start to answer), the same minus
the engine's median start-up (`SELECT 1` for Sightline; Python with pandas + ChannelAttribution
imported for ChannelAttribution), ChannelAttribution's own time in groupby and in markov_model,
peak RSS, and the ratios (end to end, and against markov_model alone). Both engines must report
the same channels and the same total conversions (1e-6 relative), or the script fails; the
largest per-channel difference |sightline - CA| / total conversions is reported (it is
Monte-Carlo noise plus CA's path-length cap, not a failure). Results and the SQL go to
benches/compare/results/attribution.json (or --out).
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
CHANNELS = ["search", "social", "video", "display", "email", "affiliate", "referral", "direct", "push", "sms"]

ATTRIBUTION = "markov_attribution(path, conversions, conversion_value, null_count, {order})"
TOTAL_SQL = f"SELECT count(*) AS channels, sum(c['conversions']) AS total FROM (SELECT unnest({ATTRIBUTION}) AS c FROM journeys)"
CHANNEL_SQL = (f"SELECT c['channel'] AS channel, c['conversions'] AS conversions FROM "
               f"(SELECT unnest({ATTRIBUTION}) AS c FROM journeys) ORDER BY channel")

CA_RUNNER = """
import contextlib, io, json, re, sys, time
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ca
what, path = sys.argv[1], sys.argv[2]
if what == "startup":
    print(json.dumps({"channels": 0, "total": 0})); sys.exit()
df = pd.read_parquet(path)
t0 = time.perf_counter()
agg = df.groupby("path", as_index=False)[["conversions", "conversion_value", "null_count"]].sum()
t1 = time.perf_counter()
log = io.StringIO()
with contextlib.redirect_stdout(log):
    res = ca.markov_model(agg, "path", "conversions", var_value="conversion_value", var_null="null_count",
                          order=int(what), conv_par=float(sys.argv[3]), verbose=True, flg_pro=False)
t2 = time.perf_counter()
nsim = re.findall(r"Number of simulations: (\\d+)", log.getvalue())
steps = re.findall(r"maximum number of steps \\((\\d+)\\)", log.getvalue())
sys.stderr.write(f"@aggregate {t1 - t0}\\n@markov {t2 - t1}\\n")
per = dict(zip(res["channel_name"], map(float, res["total_conversions"])))
print(json.dumps({"channels": len(per), "total": sum(per.values()), "per_channel": per,
                  "distinct_paths": len(agg), "nsim": int(nsim[-1]) if nsim else None,
                  "max_step": int(steps[-1]) if steps else None}))
"""


def generate(path, journeys, seed=23):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    k = len(CHANNELS)
    length = np.minimum(1 + rng.poisson(3, journeys), 20)
    popularity = rng.dirichlet(np.full(k, 2.0))
    step = rng.dirichlet(np.full(k, 0.7), size=k) * 0.75 + np.eye(k) * 0.25  # sticky chain
    cum = np.cumsum(step, axis=1)
    touches = np.full((journeys, length.max()), -1, dtype=np.int64)
    touches[:, 0] = rng.choice(k, journeys, p=popularity)
    for i in range(1, length.max()):
        alive = np.flatnonzero(length > i)
        prev = touches[alive, i - 1]
        nxt = (rng.random(alive.size)[:, None] > cum[prev]).sum(axis=1)
        touches[alive, i] = np.minimum(nxt, k - 1)
    seen = np.zeros((journeys, k), dtype=bool)
    for i in range(length.max()):
        alive = np.flatnonzero(touches[:, i] >= 0)
        seen[alive, touches[alive, i]] = True
    lift = rng.normal(0.3, 0.4, k)
    logit = -3.6 + seen @ lift + 0.08 * length
    conversions = (rng.random(journeys) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    value = np.where(conversions == 1, np.round(rng.lognormal(4.0, 0.6, journeys), 2), 0.0)
    names = np.array(CHANNELS, dtype=object)
    paths = [" > ".join(names[row[:n]]) for row, n in zip(touches, length)]
    table = pa.table({"path": pa.array(paths, pa.string()), "conversions": conversions,
                      "conversion_value": value, "null_count": 1 - conversions})
    pq.write_table(table, path, row_group_size=1 << 20, compression="zstd")


def table_rows(text):
    """The data rows of Sightline's pretty-printed table, as lists of cell strings."""
    lines = [l for l in text.splitlines() if l.startswith("|")]
    return [[c.strip() for c in l.strip("|").split("|")] for l in lines[1:]]


def sightline_total(text):
    rows = table_rows(text)
    try:
        (channels, total), = rows
        return {"channels": int(channels), "total": float(total)}
    except ValueError:
        sys.exit(f"no (channels, total) answer in Sightline's output:\n{text}")


def sightline_channels(text):
    try:
        return {ch: float(v) for ch, v in table_rows(text)}
    except ValueError:
        sys.exit(f"no (channel, conversions) rows in Sightline's output:\n{text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--journeys", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--orders", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-attribution"))
    ap.add_argument("--engines", default="sightline,channelattribution",
                    help="comma-separated subset to run (ratios and checks need both)")
    ap.add_argument("--conv-par", type=float, default=0.05,
                    help="ChannelAttribution's convergence tolerance (its default 0.05; smaller is slower and closer)")
    ap.add_argument("--out", default=str(ROOT / "benches" / "compare" / "results" / "attribution.json"))
    args = ap.parse_args()
    engines = args.engines.split(",")
    if not set(engines) <= {"sightline", "channelattribution"}:
        sys.exit(f"unknown engine in --engines {args.engines}")

    if "sightline" in engines and not SIGHTLINE.exists():
        sys.exit(f"{SIGHTLINE} not found: run `cargo build --release` first "
                 "(or set CARGO_TARGET_DIR, or pass --engines channelattribution)")
    data = pathlib.Path(args.data) / f"j{args.journeys}"
    path = data / "journeys.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.journeys:,} journeys over {len(CHANNELS)} channels -> {path}", flush=True)
        generate(path, args.journeys)

    def command(engine, what):
        if engine == "sightline":
            sql = "SELECT 1" if what == "startup" else TOTAL_SQL.format(order=what)
            return [str(SIGHTLINE), "query", "--data", str(data), sql]
        return [sys.executable, "-c", CA_RUNNER, str(what), str(path), str(args.conv_par)]

    startup = {e: statistics.median(run(command(e, "startup"), f"{e} start-up")[0] for _ in range(args.runs))
               for e in engines}
    results = {"journeys": args.journeys, "channels": len(CHANNELS), "runs": args.runs,
               "channelattribution_conv_par": args.conv_par,
               "startup_seconds": startup, "queries": {}}
    print("start-up: " + ", ".join(f"{e} {s:.2f}s" for e, s in startup.items()))
    print(f"{'query':<16} {'engine':<18} {'median s':>9} {'net s':>7} {'groupby s':>9} {'markov s':>9} {'peak MiB':>9}")
    for order in args.orders:
        name = f"markov_order{order}"
        row, answers = {}, {}
        for engine in engines:
            cmd = command(engine, order)
            run(cmd, f"{engine} {name}")  # warm the page cache and the binary
            times, rss, aggregate, markov = [], [], [], []
            for _ in range(args.runs):
                seconds, mib, out, err = run(cmd, f"{engine} {name}")
                times.append(seconds)
                rss.append(mib)
                aggregate += [float(l.split()[1]) for l in err.splitlines() if l.startswith("@aggregate ")]
                markov += [float(l.split()[1]) for l in err.splitlines() if l.startswith("@markov ")]
            median = statistics.median(times)
            row[engine] = {"median_seconds": median, "net_seconds": max(median - startup[engine], 1e-3),
                           "peak_rss_mib": max(rss)}
            if engine == "sightline":
                answers[engine] = sightline_total(out)
                row[engine]["sql"] = cmd[-1]
                # Per-channel answer, once, untimed.
                per_sql = CHANNEL_SQL.format(order=order)
                answers[engine]["per_channel"] = sightline_channels(
                    run(cmd[:-1] + [per_sql], f"sightline {name} per channel")[2])
                row[engine]["per_channel_sql"] = per_sql
            else:
                answers[engine] = json.loads(out.splitlines()[-1])
                row[engine]["groupby_seconds"] = statistics.median(aggregate)
                row[engine]["markov_model_seconds"] = statistics.median(markov)
                row[engine]["nsim"] = answers[engine]["nsim"]
                row[engine]["max_step"] = answers[engine]["max_step"]
                row[engine]["distinct_paths"] = answers[engine]["distinct_paths"]
            row[engine]["answer"] = answers[engine]
            extra = (f"{row[engine]['groupby_seconds']:>9.2f} {row[engine]['markov_model_seconds']:>9.2f}"
                     if engine == "channelattribution" else f"{'':>9} {'':>9}")
            print(f"{name:<16} {engine:<18} {median:>9.2f} {row[engine]['net_seconds']:>7.2f} {extra} {max(rss):>9.0f}",
                  flush=True)
        if len(engines) == 2:
            ours, theirs = answers["sightline"], answers["channelattribution"]
            if ours["channels"] != theirs["channels"] or set(ours["per_channel"]) != set(theirs["per_channel"]):
                sys.exit(f"{name}: the engines disagree on the channels:\n{ours}\n{theirs}")
            if abs(ours["total"] - theirs["total"]) > 1e-6 * abs(theirs["total"]):
                sys.exit(f"{name}: the engines disagree on total conversions: {ours['total']} vs {theirs['total']}")
            total = theirs["total"]
            row["max_channel_share_diff"] = max(
                abs(ours["per_channel"][ch] - theirs["per_channel"][ch]) / total for ch in theirs["per_channel"])
            row["speedup_end_to_end"] = row["channelattribution"]["net_seconds"] / row["sightline"]["net_seconds"]
            row["speedup_vs_markov_model_only"] = (row["channelattribution"]["markov_model_seconds"]
                                                   / row["sightline"]["net_seconds"])
            row["memory_ratio"] = row["sightline"]["peak_rss_mib"] / row["channelattribution"]["peak_rss_mib"]
            print(f"{name:<16} {ours['channels']} channels, {total:,.0f} conversions agree; largest channel share "
                  f"difference {row['max_channel_share_diff']:.4f} (CA nsim {row['channelattribution']['nsim']:,}); "
                  f"sightline is x{row['speedup_end_to_end']:.1f} faster end to end, "
                  f"x{row['speedup_vs_markov_model_only']:.1f} vs markov_model alone; "
                  f"peak memory x{row['memory_ratio']:.2f}")
        results["queries"][name] = row
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

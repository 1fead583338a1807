"""Funnel functions, Sightline vs ClickHouse (chdb), same Parquet file, same run, same machine.

    cargo build --release
    pip install chdb==4.4.0
    python3 benches/compare/funnels.py [--events 10000000] [--users 1000000] [--runs 3]

Generates (once, outside any timing) a Parquet file of N events over U users: user_id, ts
(UInt32 epoch seconds, because ClickHouse's windowFunnel takes DateTime/unsigned integers, not
DateTime64) and event_type (view/search/add_to_cart/checkout/purchase). Each engine then runs,
in a fresh process per run so peak memory is per query:

  * window_funnel: a 4-step funnel per user within one day, summarised as users per level;
  * retention: 3-condition retention per user, summarised as sums.

Reported per query: median wall time over the runs (process start to result, both engines
reading the file from the page cache), the same minus the engine's median start-up time (a
`SELECT 1` in a fresh process: Python + chdb import for ClickHouse, catalog scan for Sightline),
peak RSS of the process, and the Sightline/ClickHouse ratios of the net time and of peak memory. Results and the exact SQL go to benches/compare/results/funnels.json.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import sys
import tempfile

from measure import run

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SIGHTLINE = TARGET / "release" / "sightline"

STEPS = "event_type = 'view', event_type = 'add_to_cart', event_type = 'checkout', event_type = 'purchase'"
RET = "event_type = 'view', event_type = 'add_to_cart', event_type = 'purchase'"
QUERIES = {
    "window_funnel": (
        f"SELECT level, count(*) AS users FROM (SELECT user_id, window_funnel(86400, ts, {STEPS}) AS level "
        "FROM events GROUP BY user_id) GROUP BY level ORDER BY level",
        f"SELECT level, count() AS users FROM (SELECT user_id, windowFunnel(86400)(ts, {STEPS}) AS level "
        "FROM file('{path}', Parquet) GROUP BY user_id) GROUP BY level ORDER BY level",
    ),
    "retention": (
        "SELECT sum(CASE WHEN r[1] THEN 1 ELSE 0 END) AS d0, sum(CASE WHEN r[2] THEN 1 ELSE 0 END) AS d1, "
        f"sum(CASE WHEN r[3] THEN 1 ELSE 0 END) AS d2 FROM (SELECT user_id, retention({RET}) AS r "
        "FROM events GROUP BY user_id)",
        "SELECT sum(r[1]) AS d0, sum(r[2]) AS d1, sum(r[3]) AS d2 FROM (SELECT user_id, "
        f"retention({RET}) AS r FROM file('{{path}}', Parquet) GROUP BY user_id)",
    ),
}


def generate(path, events, users, seed=7):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    user = rng.integers(1, users + 1, events, dtype=np.int64)
    start = rng.integers(1_700_000_000, 1_730_000_000, users + 1, dtype=np.int64)
    ts = (start[user] + rng.exponential(3 * 86400, events).astype(np.int64)).astype(np.uint32)
    kinds = np.array(["view", "search", "add_to_cart", "checkout", "purchase"])
    event_type = kinds[rng.choice(5, events, p=[0.55, 0.15, 0.15, 0.09, 0.06])]
    table = pa.table({"user_id": user, "ts": ts, "event_type": event_type})
    pq.write_table(table, path, row_group_size=1 << 20, compression="zstd")


CHDB_RUNNER = """
import sys, chdb
res = chdb.query(sys.argv[1], "CSV")
print(res.data().strip())
"""


def numbers(text):
    """The integers of a result, whatever its layout (Sightline's table, chdb's CSV)."""
    rows = [l for l in text.splitlines() if not l.startswith(("+", "(")) and not any(c.isalpha() for c in l)]
    return [int(x) for l in rows for x in re.findall(r"-?\d+", l)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-funnels"))
    args = ap.parse_args()

    if not SIGHTLINE.exists():
        sys.exit(f"{SIGHTLINE} not found: run `cargo build --release` first")
    data = pathlib.Path(args.data) / f"e{args.events}-u{args.users}"
    path = data / "events.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.events:,} events over {args.users:,} users -> {path}", flush=True)
        generate(path, args.events, args.users)

    results = {"events": args.events, "users": args.users, "runs": args.runs, "queries": {}}
    startup = {
        "sightline": [str(SIGHTLINE), "query", "--data", str(data), "SELECT 1"],
        "clickhouse": [sys.executable, "-c", CHDB_RUNNER, "SELECT 1"],
    }
    startup = {e: statistics.median(run(cmd)[0] for _ in range(args.runs)) for e, cmd in startup.items()}
    results["startup_seconds"] = startup
    print(f"start-up: sightline {startup['sightline']:.2f}s, clickhouse (python + chdb) {startup['clickhouse']:.2f}s")
    print(f"{'query':<14} {'engine':<10} {'median s':>9} {'net s':>7} {'peak MiB':>9}")
    for name, (ours, theirs) in QUERIES.items():
        engines = {
            "sightline": [str(SIGHTLINE), "query", "--data", str(data), ours],
            "clickhouse": [sys.executable, "-c", CHDB_RUNNER, theirs.replace("{path}", str(path))],
        }
        row, answers = {}, {}
        for engine, cmd in engines.items():
            run(cmd)  # warm the page cache and the binary
            times, rss = [], []
            for _ in range(args.runs):
                seconds, mib, out, _ = run(cmd)
                times.append(seconds)
                rss.append(mib)
            answers[engine] = out
            median = statistics.median(times)
            row[engine] = {
                "median_seconds": median,
                "net_seconds": max(median - startup[engine], 1e-3),
                "peak_rss_mib": max(rss),
                "sql": cmd[-1],
            }
            print(f"{name:<14} {engine:<10} {median:>9.2f} {row[engine]['net_seconds']:>7.2f} {max(rss):>9.0f}", flush=True)
        row["time_ratio"] = row["sightline"]["net_seconds"] / row["clickhouse"]["net_seconds"]
        row["memory_ratio"] = row["sightline"]["peak_rss_mib"] / row["clickhouse"]["peak_rss_mib"]
        row["answers"] = answers
        if numbers(answers["sightline"]) != numbers(answers["clickhouse"]):
            sys.exit(f"{name}: the engines disagree:\n{answers['sightline']}\n{answers['clickhouse']}")
        print(f"{name:<14} sightline/clickhouse: net time x{row['time_ratio']:.2f}, peak memory x{row['memory_ratio']:.2f}")
        results["queries"][name] = row
    out = ROOT / "benches" / "compare" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "funnels.json").write_text(json.dumps(results, indent=2) + "\n")
    for name, row in results["queries"].items():
        print(f"\n{name} answers\n  sightline:\n{row['answers']['sightline']}\n  clickhouse:\n{row['answers']['clickhouse']}")


if __name__ == "__main__":
    main()

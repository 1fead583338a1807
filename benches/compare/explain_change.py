"""explain_change, Sightline vs the same aggregation in DuckDB, same Parquet file, same machine.

    cargo build --release
    pip install duckdb numpy pyarrow
    python3 benches/compare/explain_change.py [--rows 10000000] [--runs 3]

Generates (once, outside any timing) a Parquet file of sessions: six text dimensions d1..d6 with
5, 10, 20, 50, 200 and 1000 values ("v0", "v1", ...; Zipf(1) popularity), a `period` column
("base" / "cmp", exactly half each) and `converted` (0/1 BIGINT, rate 8-16% by d2) with a planted
drop (x0.7) for d1=v3 in "cmp". Each engine then runs in a fresh process per run (median of
--runs after one warm-up run; peak RSS is the child's ru_maxrss):

  * Sightline: explain_change over all six dimensions (max_depth 2: 6 + 15 dimension sets),
    `SELECT count(*) AS rows, max(abs(effect)) AS top FROM explain_change('sessions',
    'sum(converted) / count(*)', 'd1, d2, d3, d4, d5, d6', 'period', 'base', 'cmp')`;
  * DuckDB (reference for the aggregation alone): one GROUP BY GROUPING SETS over the same 21
    single and pair combinations, count(*) and sum(converted) per period with FILTER — the
    scan-and-aggregate work explain_change does, without the scoring and ranking.

Reported: median wall time (process start to answer), the same minus the engine's start-up
(`SELECT 1` for Sightline; Python with duckdb imported for DuckDB), peak RSS, and the ratios
Sightline / DuckDB. Results go to benches/compare/results/explain_change.json.
"""

import argparse
import itertools
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
CARDINALITIES = [5, 10, 20, 50, 200, 1000]
DIMS = [f"d{i + 1}" for i in range(len(CARDINALITIES))]

SIGHTLINE_SQL = (
    "SELECT count(*) AS rows, max(abs(effect)) AS top FROM explain_change('sessions', "
    f"'sum(converted) / count(*)', '{', '.join(DIMS)}', 'period', 'base', 'cmp')"
)
SETS = [c for k in (1, 2) for c in itertools.combinations(DIMS, k)]
DUCKDB_SQL = (
    "SELECT count(*) AS groups, sum(rows_b + rows_c) AS total FROM ("
    f"SELECT {', '.join(DIMS)}, "
    "count(*) FILTER (WHERE period = 'base') AS rows_b, count(*) FILTER (WHERE period = 'cmp') AS rows_c, "
    "sum(converted) FILTER (WHERE period = 'base') AS n_b, sum(converted) FILTER (WHERE period = 'cmp') AS n_c "
    "FROM read_parquet('{path}') "
    f"GROUP BY GROUPING SETS ({', '.join('(' + ', '.join(c) + ')' for c in SETS)}))"
)

DUCKDB_RUNNER = """
import sys
import duckdb
what, sql = sys.argv[1], sys.argv[2]
if what == "startup":
    print("groups,total\\n1,1"); sys.exit()
groups, total = duckdb.connect().execute(sql).fetchone()
print(f"groups,total\\n{groups},{total}")
"""


def generate(path, rows, seed=7):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    columns, index = {}, {}
    for name, card in zip(DIMS, CARDINALITIES):
        weights = 1.0 / np.arange(1, card + 1)
        index[name] = rng.choice(card, rows, p=weights / weights.sum()).astype(np.int32)
        values = pa.array([f"v{k}" for k in range(card)], pa.string())
        columns[name] = pc.take(values, pa.array(index[name]))
    cmp = rng.permutation(rows) >= rows // 2
    columns["period"] = pc.take(pa.array(["base", "cmp"]), pa.array(cmp.astype(np.int8)))
    rate = 0.08 + 0.08 * (index["d2"] % 2)  # 8% or 16% by d2
    rate = np.where(cmp & (index["d1"] == 3), rate * 0.7, rate)
    columns["converted"] = (rng.random(rows) < rate).astype(np.int64)
    pq.write_table(pa.table(columns), path, row_group_size=1 << 20, compression="zstd")


def answer(text):
    """The two cells of the last data row of Sightline's table or the runner's CSV, as numbers."""
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
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-explain"))
    args = ap.parse_args()

    if not SIGHTLINE.exists():
        sys.exit(f"{SIGHTLINE} not found: run `cargo build --release` first")
    data = pathlib.Path(args.data) / f"r{args.rows}"
    path = data / "sessions.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.rows:,} sessions -> {path}", flush=True)
        generate(path, args.rows)

    def sightline(sql):
        return [str(SIGHTLINE), "query", "--data", str(data), sql]

    def duckdb(what):
        return [sys.executable, "-c", DUCKDB_RUNNER, what, DUCKDB_SQL.format(path=path)]

    startup = {
        "sightline": statistics.median(run(sightline("SELECT 1"))[0] for _ in range(args.runs)),
        "duckdb": statistics.median(run(duckdb("startup"))[0] for _ in range(args.runs)),
    }
    print(f"start-up: sightline {startup['sightline']:.2f}s, duckdb (python + import) {startup['duckdb']:.2f}s")
    print(f"{'engine':<10} {'median s':>9} {'net s':>7} {'peak MiB':>9}  answer")
    engines = {"sightline": sightline(SIGHTLINE_SQL), "duckdb": duckdb("query")}
    row = {}
    for engine, cmd in engines.items():
        run(cmd)  # warm the page cache and the binary
        times, rss = [], []
        for _ in range(args.runs):
            seconds, mib, out, _ = run(cmd)
            times.append(seconds)
            rss.append(mib)
        got = answer(out)
        median = statistics.median(times)
        row[engine] = {
            "median_seconds": median,
            "net_seconds": max(median - startup[engine], 1e-3),
            "seconds": times,
            "peak_rss_mib": max(rss),
            "answer": ({"rows": got[0], "top_abs_effect": got[1]} if engine == "sightline"
                       else {"groups": got[0], "total_rows": int(got[1])}),
        }
        print(f"{engine:<10} {median:>9.2f} {row[engine]['net_seconds']:>7.2f} {max(rss):>9.0f}  {got}", flush=True)
    if row["duckdb"]["answer"]["total_rows"] != len(SETS) * args.rows:
        sys.exit(f"duckdb counted {row['duckdb']['answer']['total_rows']} rows, expected {len(SETS) * args.rows}")
    results = {
        "rows": args.rows, "runs": args.runs, "cardinalities": dict(zip(DIMS, CARDINALITIES)),
        "dimension_sets": len(SETS), "startup_seconds": startup,
        "sightline_sql": SIGHTLINE_SQL, "duckdb_sql": DUCKDB_SQL.format(path="sessions.parquet"),
        "engines": row,
        "time_ratio_end_to_end": row["sightline"]["median_seconds"] / row["duckdb"]["median_seconds"],
        "time_ratio_net": row["sightline"]["net_seconds"] / row["duckdb"]["net_seconds"],
        "memory_ratio": row["sightline"]["peak_rss_mib"] / row["duckdb"]["peak_rss_mib"],
    }
    import duckdb as _duckdb
    results["duckdb_version"] = _duckdb.__version__
    print(f"sightline / duckdb: time x{results['time_ratio_end_to_end']:.2f} end to end, "
          f"x{results['time_ratio_net']:.2f} net of start-up; peak memory x{results['memory_ratio']:.2f}")
    out = ROOT / "benches" / "compare" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "explain_change.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

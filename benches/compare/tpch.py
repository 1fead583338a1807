"""TPC-H: Sightline over the wire vs DuckDB in-process, same Parquet files, same machine, one run.

    cargo build --release
    pip install duckdb "psycopg[binary]"
    CARGO_TARGET_DIR=... python3 benches/compare/tpch.py [--sf 1] [--runs 3]

Generates the data once with `sightline tpch --sf SF` (outside any timing), starts
`sightline serve` on it, and runs the 22 queries of sql-examples/tpch/ through:

  * Sightline over the PostgreSQL protocol: psycopg 3, simple query protocol, text results,
    every row fetched into Python (what a BI tool or notebook pays);
  * DuckDB in-process: views over read_parquet() of the same files, every row fetched into
    Python.

Each query: one warm-up run, then the median of --runs. The answers are compared (same rows
after sorting; numbers to 1e-6 relative, as DuckDB and DataFusion round decimals differently in
the last digit). Reported per query and as geometric means, with the ratio Sightline / DuckDB
(below 1 = Sightline faster). Also the wire streaming case: all of lineitem through
`COPY (SELECT * FROM lineitem) TO STDOUT` (text), rows/s. Results go to
benches/compare/results/tpch.json.
"""

import argparse
import datetime
import decimal
import json
import math
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time

import duckdb
import psycopg

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
SIGHTLINE = TARGET / "release" / "sightline"
QUERIES = sorted((ROOT / "sql-examples" / "tpch").glob("q*.sql"))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def norm(value):
    if isinstance(value, (decimal.Decimal, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    return value


def same(a, b):
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    key = lambda r: tuple((0, x) if isinstance(x, (int, float)) else (1, str(x)) for x in r)
    for ra, rb in zip(sorted(a, key=key), sorted(b, key=key)):
        for x, y in zip(ra, rb):
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or not math.isclose(float(x), float(y), rel_tol=1e-6, abs_tol=1e-6):
                    return f"{ra} vs {rb}"
            elif x != y:
                return f"{ra} vs {rb}"
    return None


def timed(fn, runs):
    fn()  # warm-up
    times = []
    result = None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sf", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", type=pathlib.Path)
    args = ap.parse_args()
    data = args.data or pathlib.Path(f"/tmp/sightline-tpch-sf{args.sf:g}")
    if not (data / "lineitem").exists():
        subprocess.run([SIGHTLINE, "tpch", "--sf", str(args.sf), "--out", data], check=True)

    port = free_port()
    server = subprocess.Popen(
        [SIGHTLINE, "serve", "--data", data, "--listen", f"127.0.0.1:{port}", "--log-level", "warn"],
        stderr=subprocess.DEVNULL,
    )
    try:
        dsn = f"host=127.0.0.1 port={port} user=bench dbname=sightline"
        for _ in range(100):
            try:
                conn = psycopg.connect(dsn, autocommit=True)
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        duck = duckdb.connect()
        duck.execute(f"SET threads = {os.cpu_count()}")
        for t in TABLES:
            duck.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")

        rows = []
        for q in QUERIES:
            sql = q.read_text()
            s_time, s_rows = timed(lambda: conn.execute(sql).fetchall(), args.runs)
            d_time, d_rows = timed(lambda: duck.execute(sql).fetchall(), args.runs)
            s_norm = [tuple(norm(v) for v in r) for r in s_rows]
            d_norm = [tuple(norm(v) for v in r) for r in d_rows]
            diff = same(s_norm, d_norm)
            rows.append({"query": q.stem, "sightline_s": s_time, "duckdb_s": d_time,
                         "ratio": s_time / d_time, "rows": len(s_rows), "same_answer": diff is None,
                         "difference": diff})
            print(f"{q.stem}  sightline {s_time*1000:8.1f} ms  duckdb {d_time*1000:8.1f} ms  "
                  f"ratio {s_time/d_time:5.2f}  {'same answer' if diff is None else 'DIFFERENT: ' + diff[:80]}",
                  flush=True)
        geo = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
        g_s = geo([r["sightline_s"] for r in rows])
        g_d = geo([r["duckdb_s"] for r in rows])
        print(f"geometric mean  sightline {g_s*1000:.1f} ms  duckdb {g_d*1000:.1f} ms  ratio {g_s/g_d:.2f}")

        # Wire streaming: all of lineitem as COPY text.
        t = time.perf_counter()
        n_bytes = 0
        with conn.cursor().copy("COPY (SELECT * FROM lineitem) TO STDOUT") as copy:
            for chunk in copy:
                n_bytes += len(chunk)
        copy_s = time.perf_counter() - t
        n_rows = conn.execute("SELECT count(*) FROM lineitem").fetchone()[0]
        print(f"lineitem COPY TO STDOUT: {n_rows} rows, {n_bytes/1e6:.0f} MB in {copy_s:.1f} s "
              f"= {n_rows/copy_s:,.0f} rows/s")
        result = {
            "sf": args.sf, "runs": args.runs, "cpus": os.cpu_count(),
            "duckdb": duckdb.__version__, "queries": rows,
            "geomean_sightline_s": g_s, "geomean_duckdb_s": g_d, "geomean_ratio": g_s / g_d,
            "lineitem_copy": {"rows": n_rows, "bytes": n_bytes, "seconds": copy_s, "rows_per_s": n_rows / copy_s},
            "all_answers_same": all(r["same_answer"] for r in rows),
        }
        out = ROOT / "benches" / "compare" / "results" / "tpch.json"
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    sys.exit(main())

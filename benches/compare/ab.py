#!/usr/bin/env python3
"""Two Sightline builds side by side: the same queries on the same data, alternating run by run.

On a small shared machine the time of a query drifts by ±20% over minutes, more than most changes
one wants to measure. This script starts two servers (binary A and binary B, or one binary with
different SET statements), and for each query times A and B alternately, so drift hits both
alike. It prints each query's median for A and B, B/A, and the geometric means.

    # a build of an older commit against the current one
    git worktree add /tmp/old <commit> && (cd /tmp/old && cargo build --release) \
        && cp target/release/sightline /tmp/sightline-old
    cargo build --release
    python3 benches/compare/ab.py --a-bin /tmp/sightline-old --runs 5

    # one build, a setting off (A) and on (B)
    python3 benches/compare/ab.py \
        --a-set "SET datafusion.optimizer.enable_join_dynamic_filter_pushdown = false"

Queries default to the TPC-H set (`sql-examples/tpch`) over `/tmp/sightline-tpch-sf1`
(made by `sightline tpch --sf 1 --out /tmp/sightline-tpch-sf1` or by `tpch.py`).
"""
import argparse
import math
import pathlib
import statistics
import subprocess
import sys
import time

import psycopg

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from benchlib import free_port, sightline_bin  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def start(binary, data):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "serve", "--data", str(data), "--listen", f"127.0.0.1:{port}",
         "--log-level", "warn"],
        stderr=subprocess.DEVNULL,
    )
    dsn = f"host=127.0.0.1 port={port} user=bench dbname=sightline"
    for _ in range(300):
        try:
            return proc, psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError:
            if proc.poll() is not None:
                raise RuntimeError(f"{binary} serve exited with {proc.returncode}")
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"{binary} did not accept connections within 60 s")


def timed(conn, sql):
    start = time.perf_counter()
    rows = conn.execute(sql).fetchall()
    return time.perf_counter() - start, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a-bin", help="sightline binary for A (default: this checkout's release build)")
    ap.add_argument("--b-bin", help="sightline binary for B (default: this checkout's release build)")
    ap.add_argument("--a-set", action="append", default=[], help="statement run first on A's session")
    ap.add_argument("--b-set", action="append", default=[], help="statement run first on B's session")
    ap.add_argument("--data", type=pathlib.Path, default=pathlib.Path("/tmp/sightline-tpch-sf1"))
    ap.add_argument("--queries", type=pathlib.Path, default=ROOT / "sql-examples" / "tpch",
                    help="a directory of .sql files (one query each)")
    ap.add_argument("--only", default="", help="comma-separated query names, e.g. q17,q18")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query and side (median)")
    args = ap.parse_args()

    files = sorted(args.queries.glob("*.sql"))
    if args.only:
        files = [f for f in files if f.stem in args.only.split(",")]
    if not files:
        sys.exit(f"no .sql files in {args.queries}")
    servers = []
    try:
        for binary, sets in ((args.a_bin, args.a_set), (args.b_bin, args.b_set)):
            proc, conn = start(binary or sightline_bin(), args.data)
            servers.append((proc, conn))
            for statement in sets:
                conn.execute(statement)
        (_, a), (_, b) = servers
        times_a, times_b = [], []
        for file in files:
            sql = file.read_text()
            _, rows_a = timed(a, sql)  # warm-up, and both must agree
            _, rows_b = timed(b, sql)
            same = "" if rows_a == rows_b else "  DIFFERENT ANSWERS"
            ta, tb = [], []
            for _ in range(args.runs):
                ta.append(timed(a, sql)[0])
                tb.append(timed(b, sql)[0])
            ma, mb = statistics.median(ta), statistics.median(tb)
            times_a.append(ma)
            times_b.append(mb)
            print(f"{file.stem:24} A {ma * 1000:8.1f} ms  B {mb * 1000:8.1f} ms  B/A {mb / ma:5.2f}{same}",
                  flush=True)
        geo = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))  # noqa: E731
        ga, gb = geo(times_a), geo(times_b)
        print(f"{'geometric mean':24} A {ga * 1000:8.1f} ms  B {gb * 1000:8.1f} ms  B/A {gb / ga:5.3f}")
    finally:
        for proc, conn in servers:
            conn.close()
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

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
the last digit). With --postgres DSN the same queries also run on PostgreSQL (tables loaded once
with COPY, ANALYZEd, no indexes; one run per query, capped at 60 s), and lineitem is streamed
from it too. Reported per query and as
geometric means, with the ratio Sightline / DuckDB
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


PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "VARCHAR": "text", "DATE": "date",
            "DECIMAL(15,2)": "numeric(15,2)", "DOUBLE": "double precision"}


def load_postgres(pg, duck, data):
    """Creates and COPY-loads the tables in PostgreSQL once (skipped when lineitem is there)."""
    have = pg.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'lineitem'").fetchone()[0]
    if have:
        return
    for t in TABLES:
        cols = duck.execute(f"DESCRIBE {t}").fetchall()
        ddl = ", ".join(f"{c[0]} {PG_TYPES.get(c[1], 'text')}" for c in cols)
        pg.execute(f"CREATE TABLE {t} ({ddl})")
        started = time.perf_counter()
        with pg.cursor().copy(f"COPY {t} FROM STDIN WITH (FORMAT csv)") as copy:
            rel = duck.execute(f"SELECT * FROM {t}")
            while True:
                batch = rel.fetchmany(100_000)
                if not batch:
                    break
                import csv, io
                buf = io.StringIO()
                csv.writer(buf).writerows(batch)
                copy.write(buf.getvalue())
        pg.execute(f"ANALYZE {t}")
        print(f"loaded {t} into PostgreSQL in {time.perf_counter() - started:.0f} s", flush=True)


PG_TIMEOUT_S = 60


def pg_timed(pg, sql):
    """One run on PostgreSQL (its caches are warm after the load), capped at PG_TIMEOUT_S:
    without indexes some TPC-H plans (Q17, Q20's correlated subqueries) take far longer."""
    pg.execute(f"SET statement_timeout = '{PG_TIMEOUT_S}s'")
    t = time.perf_counter()
    try:
        pg.execute(sql).fetchall()
    except psycopg.errors.QueryCanceled:
        return float(PG_TIMEOUT_S)
    return time.perf_counter() - t


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
    ap.add_argument("--postgres", metavar="DSN",
                    help="also run everything on this PostgreSQL (tables loaded with COPY once)")
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

        pg = psycopg.connect(args.postgres, autocommit=True) if args.postgres else None
        if pg is not None:
            load_postgres(pg, duck, data)

        rows = []
        for q in QUERIES:
            sql = q.read_text()
            s_time, s_rows = timed(lambda: conn.execute(sql).fetchall(), args.runs)
            d_time, d_rows = timed(lambda: duck.execute(sql).fetchall(), args.runs)
            p_time = pg_timed(pg, sql) if pg is not None else None
            s_norm = [tuple(norm(v) for v in r) for r in s_rows]
            d_norm = [tuple(norm(v) for v in r) for r in d_rows]
            diff = same(s_norm, d_norm)
            rows.append({"query": q.stem, "sightline_s": s_time, "duckdb_s": d_time,
                         "postgres_s": p_time,
                         "ratio": s_time / d_time, "rows": len(s_rows), "same_answer": diff is None,
                         "difference": diff})
            pg_text = f"  postgres {p_time*1000:8.1f} ms" if p_time is not None else ""
            print(f"{q.stem}  sightline {s_time*1000:8.1f} ms  duckdb {d_time*1000:8.1f} ms{pg_text}  "
                  f"ratio {s_time/d_time:5.2f}  {'same answer' if diff is None else 'DIFFERENT: ' + diff[:80]}",
                  flush=True)
        geo = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
        g_s = geo([r["sightline_s"] for r in rows])
        g_d = geo([r["duckdb_s"] for r in rows])
        print(f"geometric mean  sightline {g_s*1000:.1f} ms  duckdb {g_d*1000:.1f} ms  ratio {g_s/g_d:.2f}")
        # Timed-out PostgreSQL queries count at the cap, which flatters PostgreSQL.
        g_p = geo([r["postgres_s"] for r in rows]) if pg is not None else None
        if g_p is not None:
            print(f"geometric mean  postgres {g_p*1000:.1f} ms  sightline / postgres {g_s/g_p:.2f}")

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
        pg_copy = None
        if pg is not None:
            t = time.perf_counter()
            pg_bytes = 0
            with pg.cursor().copy("COPY (SELECT * FROM lineitem) TO STDOUT") as copy:
                for chunk in copy:
                    pg_bytes += len(chunk)
            pg_s = time.perf_counter() - t
            pg_copy = {"bytes": pg_bytes, "seconds": pg_s, "rows_per_s": n_rows / pg_s}
            print(f"postgres lineitem COPY TO STDOUT: {pg_bytes/1e6:.0f} MB in {pg_s:.1f} s = "
                  f"{n_rows/pg_s:,.0f} rows/s; sightline / postgres throughput {pg_s/copy_s:.2f}")
        result = {
            "sf": args.sf, "runs": args.runs, "cpus": os.cpu_count(),
            "duckdb": duckdb.__version__, "queries": rows,
            "geomean_sightline_s": g_s, "geomean_duckdb_s": g_d, "geomean_ratio": g_s / g_d,
            "lineitem_copy": {"rows": n_rows, "bytes": n_bytes, "seconds": copy_s, "rows_per_s": n_rows / copy_s},
            "geomean_postgres_s": g_p, "postgres_lineitem_copy": pg_copy,
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

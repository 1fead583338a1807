"""TPC-H and analytic queries: Sightline over the wire vs DuckDB in-process (and optionally
PostgreSQL), same Parquet files, same machine, one run.

    cargo build --release
    pip install duckdb "psycopg[binary]"
    CARGO_TARGET_DIR=... python3 benches/compare/tpch.py [--sf 1] [--runs 3] [--postgres auto|DSN]
        [--only tpch|analytics] [--out FILE] [--analytics-out FILE]

TPC-H: generates the data once with `sightline tpch --sf SF` into --data (default
/tmp/sightline-tpch-sfSF; outside any timing), starts `sightline serve` on it, and runs the 22
queries of sql-examples/tpch/ through:

  * Sightline over the PostgreSQL protocol: psycopg 3, simple query protocol, text results,
    every row fetched into Python (what a BI tool or notebook pays);
  * DuckDB in-process: views over read_parquet() of the same files, every row fetched into
    Python.

Each query: one warm-up run, then the median of --runs. The answers are compared (same rows
after sorting; numbers to 1e-6 relative, as DuckDB and DataFusion round decimals differently in
the last digit). Reported per query and as geometric means, with the ratio Sightline / DuckDB
(below 1 = Sightline faster).

Wire streaming: all of lineitem (rows/s) three ways, on Sightline and on PostgreSQL if enabled,
with the throughput ratio Sightline / PostgreSQL (above 1 = Sightline faster):
  * copy_text: `COPY (SELECT * FROM lineitem) TO STDOUT` (text) through psycopg's copy;
  * copy_binary: `COPY (SELECT * FROM lineitem) TO STDOUT (FORMAT binary)` through psycopg's
    copy (chunks' bytes counted, rows not parsed in Python);
  * select_text_psql: `psql -X -q -At -c "SELECT * FROM lineitem" -o /dev/null`, a C client
    (simple protocol, text), so Python is not the bottleneck.
A case a server does not support is recorded as {"error": message} and the run goes on.

Analytic queries (benches/compare/analytics/*.sql, portable SQL run unchanged on every
engine): daily revenue by channel with a 7-day moving average, monthly cohort retention, a
4-step funnel with a time window (self-joins), RFM quintiles (NTILE), product pairs bought
together (self-join) with lift, customer lifetime value percentiles (percentile_cont), last-touch
attribution vs ad spend (ROW_NUMBER). They run over the demo e-commerce data, generated once with
`sightline demo --customers N` into --demo-data (default /tmp/sightline-demo-cN, N =
--customers, default 50000), served by its own `sightline serve`, with DuckDB views over the
same files; warm-up + median of --runs on every engine (PostgreSQL too), answers compared with
Sightline's, per query times, ratios and geometric means.

PostgreSQL (optional):
  * --postgres DSN: an existing server. TPC-H tables are loaded into schema public, the demo
    tables into schema sightline_demo (each with COPY once, ANALYZEd, no indexes; a table
    already there with the same row count is kept).
  * --postgres auto: a throwaway cluster (benches/compare/pgcluster.py): Debian's server binaries
    from /usr/lib/postgresql/*/bin (`apt-get install postgresql` if absent), initdb into a temp
    dir (as the postgres OS user when run as root), started on a free port on 127.0.0.1 with
    shared_buffers = min(4GB, RAM/4), work_mem 256MB, max_parallel_workers_per_gather = number
    of CPUs, jit off (at these sizes LLVM compilation costs more than it saves; --pg-jit leaves
    it on), durability off (fsync, synchronous_commit, full_page_writes; only speeds up the
    load). Stopped and deleted at the end, also on error, Ctrl-C or SIGTERM.
  TPC-H on PostgreSQL: one run per query (its caches are warm after the load), capped at 60 s
  (without indexes Q17/Q20's correlated subqueries take far longer; a timed-out query counts at
  the cap, which flatters PostgreSQL); its answers are compared with Sightline's too.

Results: TPC-H and streaming to --out (default benches/compare/results/tpch.json), analytic
queries to --analytics-out (default benches/compare/results/analytics.json); each only when that
part ran (--only tpch / --only analytics runs one part).
"""

import argparse
import contextlib
import json
import os
import pathlib
import sys

import duckdb
import psycopg

import analytics
import pgcluster
from benchlib import (PG_TIMEOUT_S, ROOT, geo, load_postgres, normalise, pg_timed, run_sightline, same,
                      sightline_server, streaming, timed)

QUERIES = sorted((ROOT / "sql-examples" / "tpch").glob("q*.sql"))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
RESULTS = ROOT / "benches" / "compare" / "results"


def run_tpch(args, data, pg_dsn, psql):
    if not (data / "lineitem").exists():
        run_sightline("tpch", "--sf", args.sf, "--out", data)
    duck = duckdb.connect()
    duck.execute(f"SET threads = {os.cpu_count()}")
    paths = {t: f"{data}/{t}/*.parquet" for t in TABLES}
    for t, p in paths.items():
        duck.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{p}')")
    pg = psycopg.connect(pg_dsn, autocommit=True) if pg_dsn else None
    try:
        if pg is not None:
            load_postgres(pg, duck, paths)
            pg.execute("SET search_path TO public")
        with sightline_server(data) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
            rows = []
            for q in QUERIES:
                sql = q.read_text()
                s_time, s_rows = timed(lambda: conn.execute(sql).fetchall(), args.runs)
                d_time, d_rows = timed(lambda: duck.execute(sql).fetchall(), args.runs)
                s_norm = normalise(s_rows)
                diff = same(s_norm, normalise(d_rows))
                row = {"query": q.stem, "sightline_s": s_time, "duckdb_s": d_time, "postgres_s": None,
                       "ratio": s_time / d_time, "rows": len(s_rows), "same_answer": diff is None,
                       "difference": diff}
                pg_text = ""
                if pg is not None:
                    p_time, p_rows = pg_timed(pg, sql)
                    p_diff = f"timed out after {PG_TIMEOUT_S} s" if p_rows is None else same(s_norm, normalise(p_rows))
                    row.update({"postgres_s": p_time, "postgres_same_answer": p_diff is None,
                                "postgres_difference": p_diff})
                    pg_text = f"  postgres {p_time*1000:8.1f} ms"
                rows.append(row)
                verdict = "same answer" if diff is None else "DIFFERENT: " + diff[:80]
                if pg is not None and row["postgres_difference"]:
                    verdict += "; postgres: " + row["postgres_difference"][:80]
                print(f"{q.stem}  sightline {s_time*1000:8.1f} ms  duckdb {d_time*1000:8.1f} ms{pg_text}  "
                      f"ratio {s_time/d_time:5.2f}  {verdict}", flush=True)
            g_s = geo([r["sightline_s"] for r in rows])
            g_d = geo([r["duckdb_s"] for r in rows])
            print(f"geometric mean  sightline {g_s*1000:.1f} ms  duckdb {g_d*1000:.1f} ms  ratio {g_s/g_d:.2f}")
            # Timed-out PostgreSQL queries count at the cap, which flatters PostgreSQL.
            g_p = geo([r["postgres_s"] for r in rows]) if pg is not None else None
            if g_p is not None:
                print(f"geometric mean  postgres {g_p*1000:.1f} ms  sightline / postgres {g_s/g_p:.2f}")

            n_rows = conn.execute("SELECT count(*) FROM lineitem").fetchone()[0]
            stream = streaming(dsn, pg_dsn, n_rows, psql)
    finally:
        if pg is not None:
            pg.close()
        duck.close()

    def legacy(entry):  # the pre-existing keys: COPY text only
        return {k: entry[k] for k in ("rows", "bytes", "seconds", "rows_per_s") if k in entry} or entry
    return {
        "sf": args.sf, "runs": args.runs, "cpus": os.cpu_count(),
        "duckdb": duckdb.__version__, "queries": rows,
        "geomean_sightline_s": g_s, "geomean_duckdb_s": g_d, "geomean_ratio": g_s / g_d,
        "lineitem_copy": legacy(stream["copy_text"]["sightline"]),
        "geomean_postgres_s": g_p,
        "postgres_lineitem_copy": legacy(stream["copy_text"]["postgres"]) if pg_dsn else None,
        "streaming": stream,
        "all_answers_same": all(r["same_answer"] for r in rows),
        "all_postgres_answers_same": all(r["postgres_same_answer"] for r in rows) if pg_dsn else None,
        "postgres_timeouts": [r["query"] for r in rows if (r.get("postgres_difference") or "").startswith("timed out")]
        if pg_dsn else None,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sf", type=float, default=1.0, help="TPC-H scale factor (default 1)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per query after a warm-up (median)")
    ap.add_argument("--data", type=pathlib.Path, help="TPC-H data dir (default /tmp/sightline-tpch-sfSF)")
    ap.add_argument("--postgres", metavar="DSN|auto",
                    help="also run on PostgreSQL: a DSN, or `auto` for a throwaway local cluster")
    ap.add_argument("--pg-jit", action="store_true", help="with --postgres auto: leave PostgreSQL's JIT on")
    ap.add_argument("--only", choices=["tpch", "analytics"], help="run only one part (default both)")
    ap.add_argument("--customers", type=int, default=50_000, help="demo data size for the analytic queries")
    ap.add_argument("--demo-data", type=pathlib.Path,
                    help="demo data dir (default /tmp/sightline-demo-cN; generated if missing)")
    ap.add_argument("--out", type=pathlib.Path, default=RESULTS / "tpch.json", help="TPC-H + streaming JSON")
    ap.add_argument("--analytics-out", type=pathlib.Path, default=RESULTS / "analytics.json",
                    help="analytic queries JSON")
    args = ap.parse_args()
    data = args.data or pathlib.Path(f"/tmp/sightline-tpch-sf{args.sf:g}")
    demo = args.demo_data or pathlib.Path(f"/tmp/sightline-demo-c{args.customers}")

    with pgcluster.sigterm_as_exit(), contextlib.ExitStack() as stack:
        pg_dsn, psql, pg_info = args.postgres, None, None
        if args.postgres == "auto":
            cluster = stack.enter_context(pgcluster.TempPostgres(jit=args.pg_jit))
            pg_dsn, psql = cluster.dsn, cluster.psql()
            pg_info = {"mode": "auto", "version": cluster.version, "settings": pgcluster.settings(args.pg_jit)}
        elif args.postgres:
            pg_info = {"mode": "dsn"}
        if pg_dsn:
            with psycopg.connect(pg_dsn, autocommit=True) as c:
                pg_info["server_version"] = c.execute("SHOW server_version").fetchone()[0]

        if args.only in (None, "tpch"):
            result = run_tpch(args, data, pg_dsn, psql)
            result["postgres"] = pg_info
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")
            print(f"wrote {args.out}", flush=True)
        if args.only in (None, "analytics"):
            result = analytics.run(demo, args.customers, args.runs, pg_dsn)
            result.update({"cpus": os.cpu_count(), "duckdb": duckdb.__version__, "postgres": pg_info})
            args.analytics_out.parent.mkdir(parents=True, exist_ok=True)
            args.analytics_out.write_text(json.dumps(result, indent=2) + "\n")
            print(f"wrote {args.analytics_out}", flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted (servers stopped, temporary PostgreSQL cluster deleted)", file=sys.stderr)
        sys.exit(130)

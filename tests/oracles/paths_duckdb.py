"""Reference values for `sessionize` and `event_path`, computed by DuckDB with plain window
functions and ordered string_agg (ClickHouse has neither function).

    pip install duckdb==2.0.1
    python3 tests/oracles/paths_duckdb.py > udfs/tests/fixtures/paths_duckdb.json

Random events with same-second ties, repeated events, NULL times and NULL events. Expected:
the session number of every row (gap 30 s, new session when the gap is exceeded; NULL time ->
NULL), and per user the full path, the last 3 steps, and the path with consecutive repeats
collapsed (ties ordered by event text). Exact equality expected.
"""

import json
import random
import sys

import duckdb

SEED = 424242


def main():
    rng = random.Random(SEED)
    rows = []
    for user in range(1, 301):
        t = 0
        for _ in range(rng.choice([0, 1, 2, 4, 7, 15, 30])):
            t += rng.choice([0, 0, 1, 5, 20, 30, 31, 45, 200])
            ts = None if rng.random() < 0.03 else t
            ev = None if rng.random() < 0.03 else rng.choice(["search", "social", "email", "display", "email"])
            rows.append([len(rows) + 1, user, ts, ev])
    rng.shuffle(rows)
    con = duckdb.connect()
    con.execute("CREATE TABLE ev(row_id INT, user_id INT, ts BIGINT, event VARCHAR)")
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?)", rows)
    sessions = con.execute("""
        SELECT row_id, CASE WHEN ts IS NOT NULL THEN
                 sum(CASE WHEN prev IS NULL OR ts - prev > 30 THEN 1 ELSE 0 END)
                   OVER (PARTITION BY user_id ORDER BY ts ROWS UNBOUNDED PRECEDING) END AS session
        FROM (SELECT *, lag(ts) OVER (PARTITION BY user_id ORDER BY ts) AS prev
              FROM ev WHERE ts IS NOT NULL)
        UNION ALL SELECT row_id, NULL FROM ev WHERE ts IS NULL
        ORDER BY row_id""").fetchall()
    paths = con.execute("""
        WITH usable AS (SELECT * FROM ev WHERE ts IS NOT NULL AND event IS NOT NULL),
        ordered AS (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts, event) AS pos,
                           count(*) OVER (PARTITION BY user_id) AS n,
                           lag(event) OVER (PARTITION BY user_id ORDER BY ts, event) AS prev_event
                    FROM usable),
        deduped AS (SELECT * FROM ordered WHERE prev_event IS NULL OR prev_event <> event)
        SELECT u.user_id,
               (SELECT string_agg(event, ' > ' ORDER BY pos) FROM ordered o WHERE o.user_id = u.user_id),
               (SELECT string_agg(event, ' > ' ORDER BY pos) FROM ordered o WHERE o.user_id = u.user_id AND pos > n - 3),
               (SELECT string_agg(event, ' > ' ORDER BY pos) FROM deduped d WHERE d.user_id = u.user_id)
        FROM (SELECT DISTINCT user_id FROM ev) u ORDER BY u.user_id""").fetchall()
    json.dump({
        "reference": f"DuckDB {duckdb.__version__}", "seed": SEED, "gap_seconds": 30,
        "columns": ["row_id", "user_id", "ts", "event"], "events": rows,
        "sessions": {str(r): s for r, s in sessions},
        "paths": {str(u): {"full": f, "last3": l, "dedupe": d} for u, f, l, d in paths},
    }, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

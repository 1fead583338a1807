"""Reference values for Sightline's funnel family, computed by ClickHouse itself (chdb).

    pip install chdb==4.4.0
    python3 tests/oracles/funnel_clickhouse.py > udfs/tests/fixtures/funnel_clickhouse.json

Random event sets with ties, duplicates, rows matching several conditions, NULL conditions, events
outside the window and repeated steps. Every user's answer from windowFunnel (each mode and some
combinations), retention, sequenceMatch and sequenceCount is written out; the Rust tests
(udfs/src/funnel/oracle_tests.rs) run the same questions through DataFusion and compare row for row.
Exact equality is expected (integer results).

sequenceMatch/sequenceCount sort same-second events in an unspecified order in ClickHouse, so their
fixture uses an event set with distinct timestamps per user; tie handling for them is tested in Rust
against our documented rule instead.
"""

import json
import random

import chdb

SEED = 20261125
N_USERS = 400
N_CONDS = 4


def gen_events(rng, distinct_ts):
    rows = []
    for user in range(1, N_USERS + 1):
        n = rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 40])
        span = rng.choice([5, 20, 60, 400])
        if distinct_ts:
            span = max(span, n * 3)
            stamps = rng.sample(range(span), n)
        else:
            stamps = [rng.randrange(span) for _ in range(n)]
        for ts in stamps:
            conds = []
            for _ in range(N_CONDS):
                r = rng.random()
                conds.append(None if r < 0.03 else int(r < 0.35))
            rows.append([user, 1_700_000_000 + ts] + conds)
    rng.shuffle(rows)
    return rows


def values_clause(rows):
    cols = "user UInt32, ts DateTime, " + ", ".join(f"c{i} Nullable(UInt8)" for i in range(1, N_CONDS + 1))
    def lit(v):
        return "NULL" if v is None else str(v)
    tuples = ",".join("(" + ",".join(lit(v) for v in r) + ")" for r in rows)
    return f"values('{cols}', {tuples})"


def per_user(src, expr):
    out = chdb.query(f"SELECT user, toString({expr}) FROM {src} GROUP BY user ORDER BY user", "JSONCompact")
    return {str(u): v for u, v in json.loads(out.data())["data"]}


def main():
    rng = random.Random(SEED)
    events = gen_events(rng, distinct_ts=False)
    seq_events = gen_events(rng, distinct_ts=True)
    src, seq_src = values_clause(events), values_clause(seq_events)
    conds = ", ".join(f"c{i}" for i in range(1, N_CONDS + 1))

    cases = []
    modes = [[], ["strict_deduplication"], ["strict_order"], ["strict_increase"], ["strict_once"],
             ["strict_order", "strict_increase"], ["strict_deduplication", "strict_increase"],
             ["strict_order", "allow_reentry"], ["strict_once", "strict_increase"]]
    for window in [0, 3, 10, 100]:
        for m in modes:
            params = ", ".join([str(window)] + [f"'{x}'" for x in m])
            for n in (1, 2, N_CONDS):
                cs = ", ".join(f"c{i}" for i in range(1, n + 1))
                cases.append({"function": "window_funnel", "window": window, "modes": m, "conditions": n,
                              "expected": per_user(src, f"windowFunnel({params})(ts, {cs})")})
    for n in (2, 3, N_CONDS):
        cs = ", ".join(f"c{i}" for i in range(1, n + 1))
        cases.append({"function": "retention", "conditions": n,
                      "expected": per_user(src, f"retention({cs})")})
    patterns = ["(?1)(?2)", "(?1).*(?3)", "(?1)(?t<=5)(?2)", "(?1).(?2)", "(?2)(?t>3)(?3)",
                "(?1)(?t<10).*(?3)", ".*(?1)(?2)", "(?1)(?t==2)(?2)", "(?1)(?t>=4)(?1)",
                "(?4)(?3)(?2)(?1)", "(?1).*(?2).*(?4)", "(?1)(?t<3)(?2)(?t<3)(?3)", "(?3)"]
    for p in patterns:
        for fn, ch in (("sequence_match", "sequenceMatch"), ("sequence_count", "sequenceCount")):
            cases.append({"function": fn, "pattern": p, "conditions": N_CONDS,
                          "expected": per_user(seq_src, f"{ch}('{p}')(ts, {conds})")})
    version = json.loads(chdb.query("SELECT version()", "JSONCompact").data())["data"][0][0]
    json.dump({"reference": f"ClickHouse {version} via chdb", "seed": SEED,
               "columns": ["user_id", "ts"] + [f"c{i}" for i in range(1, N_CONDS + 1)],
               "events": events, "sequence_events": seq_events, "cases": cases},
              __import__("sys").stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

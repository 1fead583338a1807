"""Market-basket mining, Sightline vs mlxtend, same Parquet file, same run, same machine.

    cargo build --release
    pip install mlxtend==0.25.0 pandas pyarrow numpy scipy
    python3 benches/compare/basket.py [--baskets 1000000] [--items 10000] [--runs 3]

Generates (once, outside any timing) a Parquet file of order lines (basket_id, item) for N
baskets over I distinct items with Zipf(1) popularity, 1 + Poisson(3) lines per basket, 5%
duplicate lines, and 50 planted item pairs/triples bought together. Each engine then runs, in a
fresh process per run so peak memory is per query:

  * frequent_itemsets at min_support 0.001;
  * association_rules at min_support 0.001, min_confidence 0.1.

mlxtend's pipeline is the one its docs give for data this size: pandas reads the file, the
baskets go through `TransactionEncoder(sparse=True)` into a sparse DataFrame, then `fpgrowth`
(and `association_rules(metric="confidence")`). Reported per query: median wall time (process
start to answer), the same minus the engine's median start-up (`SELECT 1` for Sightline; Python
with pandas + mlxtend imported for mlxtend), mlxtend's own time inside fpgrowth/association_rules
alone (excluding reading and encoding), peak RSS, and the ratios. Both engines must report the
same number of itemsets/rules and the same total count, or the script fails. Results go to
benches/compare/results/basket.json.
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
MIN_SUPPORT = 0.001
MIN_CONFIDENCE = 0.1

QUERIES = {
    "frequent_itemsets": (
        "SELECT count(*) AS n, sum(s['count']) AS total FROM "
        f"(SELECT unnest(frequent_itemsets(basket_id, item, {MIN_SUPPORT})) AS s FROM baskets)"
    ),
    "association_rules": (
        "SELECT count(*) AS n, sum(r['count']) AS total FROM "
        f"(SELECT unnest(association_rules(basket_id, item, {MIN_SUPPORT}, {MIN_CONFIDENCE})) AS r FROM baskets)"
    ),
}

MLXTEND_RUNNER = """
import sys, time
import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder
what, path = sys.argv[1], sys.argv[2]
if what == "startup":
    print("n,total\\n1,1"); sys.exit()
lines = pd.read_parquet(path)
baskets = lines.groupby("basket_id")["item"].agg(lambda s: sorted(set(s))).tolist()
te = TransactionEncoder()
df = pd.DataFrame.sparse.from_spmatrix(te.fit(baskets).transform(baskets, sparse=True), columns=te.columns_)
t0 = time.perf_counter()
itemsets = fpgrowth(df, min_support=float(sys.argv[3]))
if what == "frequent_itemsets":
    n, total = len(itemsets), round((itemsets["support"] * len(baskets)).round().sum())
else:
    rules = association_rules(itemsets, num_itemsets=len(baskets), metric="confidence",
                              min_threshold=float(sys.argv[4]))
    n, total = len(rules), round((rules["support"] * len(baskets)).round().sum())
sys.stderr.write(f"@mining {time.perf_counter() - t0}\\n")
print(f"n,total\\n{n},{total}")
"""


def generate(path, baskets, items, seed=11):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(3, baskets)
    basket = np.repeat(np.arange(1, baskets + 1, dtype=np.int64), sizes)
    weights = 1.0 / np.arange(1, items + 1)
    item = rng.choice(items, basket.size, p=weights / weights.sum()).astype(np.int64)
    extra_b, extra_i = [], []
    for g in range(50):  # planted groups among mid-popularity items
        group = rng.choice(np.arange(50, 2000), 2 + g % 2, replace=False)
        chosen = np.flatnonzero(rng.random(baskets) < 0.002 + 0.0002 * g) + 1
        for i in group:
            extra_b.append(chosen)
            extra_i.append(np.full(chosen.size, i, dtype=np.int64))
    basket = np.concatenate([basket, *extra_b])
    item = np.concatenate([item, *extra_i])
    dup = rng.random(basket.size) < 0.05
    basket = np.concatenate([basket, basket[dup]])
    item = np.concatenate([item, item[dup]])
    order = rng.permutation(basket.size)
    table = pa.table({"basket_id": basket[order], "item": item[order]})
    pq.write_table(table, path, row_group_size=1 << 20, compression="zstd")


def answer(text):
    """(n, total) from Sightline's table or the runner's CSV."""
    for line in reversed(text.splitlines()):
        cells = [c.strip() for c in line.replace("|", ",").split(",") if c.strip()]
        if len(cells) == 2 and all(c.isdigit() for c in cells):
            return int(cells[0]), int(cells[1])
    sys.exit(f"no answer in:\n{text}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baskets", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-basket"))
    args = ap.parse_args()

    if not SIGHTLINE.exists():
        sys.exit(f"{SIGHTLINE} not found: run `cargo build --release` first")
    data = pathlib.Path(args.data) / f"b{args.baskets}-i{args.items}"
    path = data / "baskets.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.baskets:,} baskets over {args.items:,} items -> {path}", flush=True)
        generate(path, args.baskets, args.items)

    def sightline(sql):
        return [str(SIGHTLINE), "query", "--data", str(data), sql]

    def mlxtend(what):
        return [sys.executable, "-c", MLXTEND_RUNNER, what, str(path), str(MIN_SUPPORT), str(MIN_CONFIDENCE)]

    startup = {
        "sightline": statistics.median(run(sightline("SELECT 1"))[0] for _ in range(args.runs)),
        "mlxtend": statistics.median(run(mlxtend("startup"))[0] for _ in range(args.runs)),
    }
    results = {"baskets": args.baskets, "items": args.items, "runs": args.runs,
               "min_support": MIN_SUPPORT, "min_confidence": MIN_CONFIDENCE,
               "startup_seconds": startup, "queries": {}}
    print(f"start-up: sightline {startup['sightline']:.2f}s, mlxtend (python + imports) {startup['mlxtend']:.2f}s")
    print(f"{'query':<18} {'engine':<10} {'median s':>9} {'net s':>7} {'mining s':>9} {'peak MiB':>9}")
    for name, ours in QUERIES.items():
        engines = {"sightline": sightline(ours), "mlxtend": mlxtend(name)}
        row, answers = {}, {}
        for engine, cmd in engines.items():
            run(cmd)  # warm the page cache and the binary
            times, rss, mining = [], [], []
            for _ in range(args.runs):
                seconds, mib, out, err = run(cmd)
                times.append(seconds)
                rss.append(mib)
                mining += [float(l.split()[1]) for l in err.splitlines() if l.startswith("@mining ")]
            answers[engine] = answer(out)
            median = statistics.median(times)
            row[engine] = {
                "median_seconds": median,
                "net_seconds": max(median - startup[engine], 1e-3),
                "peak_rss_mib": max(rss),
                "answer": {"count": answers[engine][0], "total": answers[engine][1]},
            }
            if mining:
                row[engine]["mining_seconds"] = statistics.median(mining)
            shown = f"{statistics.median(mining):>9.2f}" if mining else f"{'':>9}"
            print(f"{name:<18} {engine:<10} {median:>9.2f} {row[engine]['net_seconds']:>7.2f} {shown} {max(rss):>9.0f}",
                  flush=True)
        if answers["sightline"] != answers["mlxtend"]:
            sys.exit(f"{name}: the engines disagree: {answers}")
        row["sql"] = ours
        row["speedup_end_to_end"] = row["mlxtend"]["net_seconds"] / row["sightline"]["net_seconds"]
        row["speedup_vs_mining_only"] = row["mlxtend"]["mining_seconds"] / row["sightline"]["net_seconds"]
        row["memory_ratio"] = row["sightline"]["peak_rss_mib"] / row["mlxtend"]["peak_rss_mib"]
        print(f"{name:<18} {answers['sightline'][0]:,} results agree; sightline is x{row['speedup_end_to_end']:.1f} faster "
              f"end to end, x{row['speedup_vs_mining_only']:.1f} vs mlxtend's mining alone; "
              f"peak memory x{row['memory_ratio']:.2f}")
        results["queries"][name] = row
    out = ROOT / "benches" / "compare" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "basket.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

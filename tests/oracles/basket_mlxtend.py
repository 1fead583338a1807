"""Reference frequent itemsets and association rules from mlxtend (plus a brute-force counter).

    pip install mlxtend==0.25.0 pandas pyarrow
    python3 tests/oracles/basket_mlxtend.py > udfs/tests/fixtures/basket_mlxtend.json

    # The demo shop's order lines, as the wire tests generate them (3000 customers, seed 42):
    cargo run --release -- demo --out /tmp/demo3000 --customers 3000 --seed 42
    python3 tests/oracles/basket_mlxtend.py --demo /tmp/demo3000 > tests/fixtures/basket_demo_mlxtend.json

Several generated basket sets: skewed (Zipf) item popularity, planted pairs/triples, single-item
baskets, duplicate lines, text and integer items. For each: the input lines, and mlxtend's
`fpgrowth` itemsets and `association_rules(metric="confidence")` with support, confidence, lift,
leverage and conviction (inf when confidence is 1). The brute-force counter re-counts every
itemset mlxtend returns and checks nothing frequent is missing (for itemsets up to size 3).
Rust tests (udfs/src/basket/oracle_tests.rs) assert the same sets, metrics to 1e-12 relative.
"""

import itertools
import json
import math
import random
import sys
from collections import Counter

import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder


def gen(rng, baskets, items, zipf_s, planted, integer_items):
    weights = [1 / (k + 1) ** zipf_s for k in range(items)]
    name = (lambda k: k + 100) if integer_items else (lambda k: f"item_{k:03d}")
    lines = []
    for b in range(1, baskets + 1):
        size = rng.choice([1, 1, 2, 2, 3, 4, 5, 7])
        chosen = set(rng.choices(range(items), weights, k=size))
        for group, p in planted:
            if rng.random() < p:
                chosen.update(group)
        for k in sorted(chosen):
            lines.append([b, name(k)])
            if rng.random() < 0.05:  # a duplicate line: the item counts once in the basket
                lines.append([b, name(k)])
    rng.shuffle(lines)
    return lines


def reference(lines, min_support, min_confidence, max_len):
    baskets = {}
    for b, item in lines:
        baskets.setdefault(b, set()).add(str(item))
    transactions = [sorted(s) for s in baskets.values()]
    n = len(transactions)
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(transactions).transform(transactions), columns=te.columns_)
    itemsets = fpgrowth(df, min_support=min_support, use_colnames=True, max_len=max_len)
    rules = association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=min_confidence)

    # Brute force: every returned itemset's count, and nothing frequent missing (sizes <= 3).
    sets = [frozenset(t) for t in transactions]
    got = {frozenset(s): round(sup * n) for s, sup in zip(itemsets["itemsets"], itemsets["support"])}
    for s, c in got.items():
        assert sum(1 for t in sets if s <= t) == c, (s, c)
    frequent_items = {i for s in got for i in s}
    for k in range(1, min(3, max_len or 3) + 1):
        counts = Counter()
        for t in transactions:
            counts.update(itertools.combinations([i for i in t if i in frequent_items], k))
        want = {frozenset(c) for c, cnt in counts.items() if cnt / n >= min_support}
        assert want == {s for s in got if len(s) == k}, k

    def num(x):
        return "inf" if math.isinf(x) else float(x)

    return {
        "baskets": n,
        "itemsets": sorted(
            ([sorted(s), c] for s, c in got.items()), key=lambda r: (len(r[0]), r[0])
        ),
        "rules": sorted(
            (
                {
                    "antecedent": sorted(r["antecedents"]),
                    "consequent": sorted(r["consequents"]),
                    "support": num(r["support"]),
                    "confidence": num(r["confidence"]),
                    "lift": num(r["lift"]),
                    "leverage": num(r["leverage"]),
                    "conviction": num(r["conviction"]),
                    "count": round(r["support"] * n),
                }
                for _, r in rules.iterrows()
            ),
            key=lambda r: (r["antecedent"], r["consequent"]),
        ),
    }


# Thresholds for the demo case; tests/it/basket.rs runs association_rules with the same ones.
DEMO_MIN_SUPPORT = 0.002
DEMO_MIN_CONFIDENCE = 0.05


def demo(directory):
    lines = pd.read_parquet(f"{directory}/order_items.parquet", columns=["order_id", "product_id"])
    case = dict(name="demo_order_items", min_support=DEMO_MIN_SUPPORT,
                min_confidence=DEMO_MIN_CONFIDENCE, max_len=None)
    case.update(reference(lines.values.tolist(), DEMO_MIN_SUPPORT, DEMO_MIN_CONFIDENCE, None))
    import mlxtend
    json.dump({"reference": f"mlxtend {mlxtend.__version__}", "case": case}, sys.stdout, separators=(",", ":"))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--demo":
        return demo(sys.argv[2])
    rng = random.Random(11)
    cases = [
        dict(name="skewed_text", lines=gen(rng, 3000, 80, 1.1, [((10, 20), 0.08)], False),
             min_support=0.01, min_confidence=0.2, max_len=None),
        dict(name="integer_items_max3", lines=gen(rng, 2000, 40, 0.8, [((5, 6, 7), 0.05)], True),
             min_support=0.005, min_confidence=0.4, max_len=3),
        dict(name="flat_popularity", lines=gen(rng, 1500, 25, 0.0, [], False),
             min_support=0.02, min_confidence=0.1, max_len=None),
        dict(name="high_threshold", lines=gen(rng, 1000, 30, 1.5, [((1, 2), 0.3)], False),
             min_support=0.1, min_confidence=0.6, max_len=None),
    ]
    for c in cases:
        c.update(reference(c["lines"], c["min_support"], c["min_confidence"], c["max_len"]))
    import mlxtend
    json.dump({"reference": f"mlxtend {mlxtend.__version__}", "cases": cases}, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

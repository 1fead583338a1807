"""Reference contribution analysis for `explain_change`, brute-forced in plain Python.

    pip install numpy
    python3 tests/oracles/explain_change_bruteforce.py > udfs/tests/fixtures/explain_change.json

Several generated data sets, each with a planted cause of a metric change between a "base" and
a "cmp" period (or none): a single-dimension rate drop, a two-dimension interaction, a pure mix
shift, noise only, a sum metric (revenue), and a 200-value dimension that min_support mostly
filters. Each row is [dim values..., period, n, d]: the metric is sum(n) ("sum") or
sum(n) / sum(d) ("ratio"). For every segment (every dim=value conjunction over 1..max_depth
distinct dimensions that occurs in either period) the script computes, with the same formulas
and in the same float order as the SQL explain_change generates:

  sum:   effect = N_c,s - N_b,s; values N_b,s and N_c,s; mix/rate null.
  ratio: w = D_s / D, r = N_s / D_s (r_b := R_b when D_b,s = 0; r_c := 0 when D_c,s = 0);
         mix = (w_c - w_b) * (r_b - R_b); rate = w_c * (r_c - r_b); effect = mix + rate;
         values N_s / D_s (null when D_s = 0).

contribution = effect / total change, relative_effect = effect / |baseline metric| (null on 0).
A segment is kept if its base rows >= min_support * all base rows or its cmp rows >=
min_support * all cmp rows; the rest are ranked by |effect| desc, depth asc, segment text asc
(dims joined by " AND " in call order) and cut at top_k. The script also checks exactness: for
every combination of dimensions its segments' effects sum to the total change (1e-9).
Rust tests compare explain_change's output with "expected" (floats to 1e-9 relative).
"""

import itertools
import json
import sys

import numpy as np

REGIONS = ["north", "south", "east", "west", "central"]
CHANNELS = ["search", "social", "email", "display", "direct", "referral"]
DEVICES = ["desktop", "mobile", "tablet"]
CATEGORIES = ["toys", "books", "garden", "electronics", "clothing", "food"]


def pick(rng, n, values, weights=None):
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    return rng.choice(len(values), n, p=w / w.sum())


def periods(rng, n):
    """Exactly half the rows in each period, in random order."""
    return np.where(rng.permutation(n) < n // 2, "base", "cmp")


def to_rows(dim_values, period, n, d):
    """[[dim values..., period, n, d], ...] with Python scalars."""
    cols = [list(map(str, c)) for c in dim_values]
    nn = [float(x) if isinstance(x, (float, np.floating)) else int(x) for x in n]
    dd = [int(x) for x in d]
    return [[*(c[i] for c in cols), str(period[i]), nn[i], dd[i]] for i in range(len(period))]


def explain(rows, dims, metric, max_depth, min_support, top_k):
    k = len(dims)
    ratio = metric == "ratio"
    tot = [0.0, 0.0, 0.0, 0.0, 0, 0]  # nb, nc, db, dc, rows_b, rows_c
    combos = [c for depth in range(1, min(max_depth, k) + 1) for c in itertools.combinations(range(k), depth)]
    groups = {c: {} for c in combos}
    for row in rows:
        p = 0 if row[k] == "base" else 1
        n, d = row[k + 1], row[k + 2]
        tot[p] += n
        tot[2 + p] += d
        tot[4 + p] += 1
        for c in combos:
            g = groups[c].setdefault(tuple(row[i] for i in c), [0.0, 0.0, 0.0, 0.0, 0, 0])
            g[p] += n
            g[2 + p] += d
            g[4 + p] += 1
    o_nb, o_nc, o_db, o_dc, o_rows_b, o_rows_c = tot
    o_rb = o_nb / o_db if ratio else o_nb
    o_rc = o_nc / o_dc if ratio else o_nc
    total_change = o_rc - o_rb
    scored = []
    for c in combos:
        effects = []
        for key, (nb, nc, db, dc, rows_b, rows_c) in groups[c].items():
            if ratio:
                wb, wc = db / o_db, dc / o_dc
                rb = nb / db if db != 0 else o_rb
                rc = nc / dc if dc != 0 else 0.0
                mix = (wc - wb) * (rb - o_rb)
                rate = wc * (rc - rb)
                effect = (wc - wb) * (rb - o_rb) + wc * (rc - rb)
                value_b = nb / db if db != 0 else None
                value_c = nc / dc if dc != 0 else None
            else:
                effect, mix, rate, value_b, value_c = nc - nb, None, None, nb, nc
            effects.append(effect)
            if not (rows_b >= min_support * o_rows_b or rows_c >= min_support * o_rows_c):
                continue
            segment = " AND ".join(f"{dims[i]}={v}" for i, v in zip(c, key))
            scored.append(dict(
                segment=segment, depth=len(c), baseline_value=value_b, comparison_value=value_c,
                change=None if value_b is None or value_c is None else value_c - value_b,
                effect=effect, contribution=effect / total_change if total_change != 0 else None,
                relative_effect=effect / abs(o_rb) if o_rb != 0 else None,
                mix_effect=mix, rate_effect=rate, baseline_rows=rows_b, comparison_rows=rows_c,
            ))
        # Exactness: one combination's segments partition the rows, so their effects add up.
        assert abs(sum(effects) - total_change) <= 1e-9 * max(1.0, abs(total_change)), (c, sum(effects), total_change)
    scored.sort(key=lambda s: (-abs(s["effect"]), s["depth"], s["segment"]))
    ranked = [dict(rank=i + 1, **s) for i, s in enumerate(scored[:top_k])]
    # Neighbours whose |effect| differ by < 1e-12 relative could swap under a different float order.
    for a, b in zip(scored, scored[1:top_k + 1]):
        x, y = abs(a["effect"]), abs(b["effect"])
        assert x == y or x - y > 1e-12 * max(x, 1e-300), (a["segment"], b["segment"])
    return ranked, dict(baseline=o_rb, comparison=o_rc, total_change=total_change,
                        baseline_rows=o_rows_b, comparison_rows=o_rows_c, segments=len(scored))


def conversions(rng, rate, d=None):
    return rng.binomial(1 if d is None else d, np.clip(rate, 0, 1))


def exact(rng, rate, *cells):
    """0/1 conversions with exactly round(rate * rows) ones in every cell (rate is constant per cell)."""
    key = np.zeros(len(rate), dtype=np.int64)
    for c in cells:
        key = key * 1000 + np.unique(c, return_inverse=True)[1]
    conv = np.zeros(len(rate), dtype=int)
    for k in np.unique(key):
        idx = np.flatnonzero(key == k)
        conv[rng.choice(idx, round(rate[idx[0]] * idx.size), replace=False)] = 1
    return conv


def case_single(rng, n=7000):
    r, ch, dv = pick(rng, n, REGIONS, [3, 2, 2, 1.5, 1]), pick(rng, n, CHANNELS, [4, 3, 2, 2, 2, 1]), pick(rng, n, DEVICES, [5, 4, 1])
    per = periods(rng, n)
    rate = 0.12 * np.array([1.2, 0.8, 1.0, 1.3, 0.5, 1.1])[ch] * np.array([1.1, 0.9, 1.0])[dv]
    rate = np.where((per == "cmp") & (r == 1), rate * 0.5, rate)
    return dict(name="single_dimension_rate_drop", dims=["region", "channel", "device"], metric="ratio",
                max_depth=2, min_support=0.01, top_k=20, planted="region=south",
                rows=to_rows([np.array(REGIONS)[r], np.array(CHANNELS)[ch], np.array(DEVICES)[dv]],
                             per, exact(rng, rate, r, ch, dv, per), np.ones(n, dtype=int)))


def case_interaction(rng, n=7000):
    r, dv, ch = pick(rng, n, REGIONS), pick(rng, n, DEVICES, [4, 5, 1]), pick(rng, n, CHANNELS, [4, 3, 2, 2, 2, 1])
    per = periods(rng, n)
    rate = 0.2 * np.array([1.2, 0.8, 1.0, 1.3, 0.5, 1.1])[ch]
    rate = np.where((per == "cmp") & (r == 3) & (dv == 1), rate * 0.3, rate)
    return dict(name="two_dimension_interaction", dims=["region", "device", "channel"], metric="ratio",
                max_depth=3, min_support=0.01, top_k=20, planted="region=west AND device=mobile",
                rows=to_rows([np.array(REGIONS)[r], np.array(DEVICES)[dv], np.array(CHANNELS)[ch]],
                             per, exact(rng, rate, r, dv, ch, per), np.ones(n, dtype=int)))


def case_mix(rng, n=6000):
    per = periods(rng, n)
    base_w = np.array([4, 3, 2, 1.2, 2, 1])  # display ~9% of base sessions
    cmp_w = base_w.copy()
    cmp_w[3] *= 3.0  # display's share of sessions roughly triples
    ch = np.where(per == "base", pick(rng, n, CHANNELS, base_w), pick(rng, n, CHANNELS, cmp_w))
    dv, r = pick(rng, n, DEVICES, [5, 4, 1]), pick(rng, n, REGIONS)
    # Exactly round(rate * rows) conversions per channel and period: no rate change at all.
    rate = np.array([0.20, 0.15, 0.22, 0.03, 0.18, 0.16])
    conv = np.zeros(n, dtype=int)
    for p in ("base", "cmp"):
        for k in range(len(CHANNELS)):
            idx = np.flatnonzero((per == p) & (ch == k))
            conv[rng.choice(idx, round(rate[k] * idx.size), replace=False)] = 1
    return dict(name="pure_mix_shift", dims=["channel", "device", "region"], metric="ratio",
                max_depth=2, min_support=0.01, top_k=20, planted="channel=display",
                rows=to_rows([np.array(CHANNELS)[ch], np.array(DEVICES)[dv], np.array(REGIONS)[r]],
                             per, conv, np.ones(n, dtype=int)))


def case_noise(rng, n=5000):
    # Several sessions per row (d in 1..3, n <= d): weights are by D, support by rows.
    r, ch, dv = pick(rng, n, REGIONS, [3, 2, 2, 1.5, 1]), pick(rng, n, CHANNELS), pick(rng, n, DEVICES, [5, 4, 1])
    per = periods(rng, n)
    d = rng.integers(1, 4, n)
    rate = 0.3 * np.array([1.1, 0.9, 1.0, 1.0, 0.8, 1.2])[ch]
    return dict(name="noise_only", dims=["region", "channel", "device"], metric="ratio",
                max_depth=2, min_support=0.01, top_k=20, planted=None,
                rows=to_rows([np.array(REGIONS)[r], np.array(CHANNELS)[ch], np.array(DEVICES)[dv]],
                             per, conversions(rng, rate, d), d))


def case_revenue(rng, n=4000):
    cat, r, dv = pick(rng, n, CATEGORIES, [3, 2, 2, 3, 2, 1]), pick(rng, n, REGIONS), pick(rng, n, DEVICES, [5, 4, 1])
    per = periods(rng, n)
    amount = rng.lognormal(3.5, 0.5, n) * np.array([1.5, 0.8, 1.0, 1.5, 1.0, 0.6])[cat]
    amount = np.where((per == "cmp") & (cat == 0), amount * 0.6, amount)
    return dict(name="revenue_sum", dims=["category", "region", "device"], metric="sum",
                max_depth=2, min_support=0.0, top_k=20, planted="category=toys",
                rows=to_rows([np.array(CATEGORIES)[cat], np.array(REGIONS)[r], np.array(DEVICES)[dv]],
                             per, np.round(amount, 2), np.ones(n, dtype=int)))


def case_high_cardinality(rng, n=5000):
    # 200 products with Zipf popularity: most fall under min_support; some exist in one period
    # only; some rows have d = 0 (impressions with no clicks possible), so some D_s can be 0.
    products = np.array([f"p{k:03d}" for k in range(200)])
    prod = pick(rng, n, products, 1.0 / np.arange(1, 201) ** 1.1)
    r, dv = pick(rng, n, REGIONS), pick(rng, n, DEVICES, [5, 4, 1])
    per = periods(rng, n)
    d = rng.integers(0, 3, n)
    rate = 0.25 + 0.1 * (prod % 3)
    rate = np.where((per == "cmp") & (prod == 2), rate * 0.15, rate)
    return dict(name="high_cardinality_support", dims=["product", "device", "region"], metric="ratio",
                max_depth=2, min_support=0.01, top_k=50, planted="product=p002",
                rows=to_rows([products[prod], np.array(DEVICES)[dv], np.array(REGIONS)[r]],
                             per, conversions(rng, rate, d), d))


def main():
    gens = (case_single, case_interaction, case_mix, case_noise, case_revenue, case_high_cardinality)
    cases = [f(np.random.default_rng(20240611 + i)) for i, f in enumerate(gens)]
    for c in cases:
        c["expected"], c["overall"] = explain(c["rows"], c["dims"], c["metric"], c["max_depth"], c["min_support"], c["top_k"])
        exp = c["expected"]
        ranks = [e["rank"] for e in exp if e["segment"] == c["planted"]]
        c["planted_rank"] = ranks[0] if ranks else None
        c["max_abs_relative_effect"] = max(abs(e["relative_effect"]) for e in exp)
        top3 = ", ".join(f"{e['segment']} ({e['effect']:.4g})" for e in exp[:3])
        sys.stderr.write(f"{c['name']}: {c['overall']['segments']} segments kept; top: {top3}; "
                         f"planted rank {c['planted_rank']}; max |rel| {c['max_abs_relative_effect']:.4f}\n")
    single, inter, mix, noise, revenue, high = cases
    assert single["expected"][0]["segment"] == "region=south"
    top2 = [e for e in inter["expected"] if e["depth"] == 2][0]
    assert top2["segment"] == "region=west AND device=mobile" and inter["planted_rank"] <= 5, top2
    top = mix["expected"][0]
    assert top["segment"] == "channel=display" and abs(top["mix_effect"]) > 3 * abs(top["rate_effect"]), top
    sys.stderr.write(f"pure_mix_shift top: mix {top['mix_effect']:.5f}, rate {top['rate_effect']:.5f}\n")
    assert noise["max_abs_relative_effect"] < 0.05, noise["max_abs_relative_effect"]
    assert revenue["expected"][0]["segment"] == "category=toys"
    assert high["expected"][0]["segment"] == "product=p002"
    assert high["overall"]["segments"] < 100  # of ~2,000 segments, most are under min_support
    json.dump({"reference": f"brute force (Python {sys.version.split()[0]}, numpy {np.__version__})", "cases": cases},
              sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

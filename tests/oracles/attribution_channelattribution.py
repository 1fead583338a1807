"""Reference values for Sightline's attribution family, checked against ChannelAttribution.

    pip install ChannelAttribution==2.2.5 numpy pandas
    python3 tests/oracles/attribution_channelattribution.py > udfs/tests/fixtures/attribution.json

(About 1-2 minutes on two cores; ChannelAttribution builds its C++ core from source on install.
A summary per case goes to stderr.) Everything is generated from fixed seeds, and
ChannelAttribution runs single-threaded with a fixed seed, so the output is the same on every run.

markov: markov_attribution(path, conversions, conversion_value, null_count, order), exact.
  Paths are '>'-separated channel names, space-trimmed, empty names skipped. Rows without a
  channel or with conversions + null_count == 0 are dropped (from the chain and the totals).
  Order-k states are the sliding k-windows of the path (the whole path if it is shorter than k),
  with consecutive equal states merged. Transitions weigh conversions + null_count; the last
  state goes to (conversion) with weight `conversions` and to (null) with weight `null_count`.
  P = P(absorbed in conversion | start), solved exactly: numpy.linalg.solve on I - Q. V is the
  same system with reward p(s -> conversion) * mv(s), mv(s) = value / conversions of the rows
  ending in s that converted. Removing a channel removes every state whose tuple holds it
  (paths reaching one go to null). removal_effect = 1 - P_ch/P; conversions = removal_effect
  / sum(removal_effect) * sum(conversions); conversion_value likewise with 1 - V_ch/V and the
  value total. Checked here against a power-series evaluation of the same chain.
  ChannelAttribution's markov_model runs on the same rows (minus the dropped ones: it would
  otherwise send channel-less rows from (start) straight to (conversion)/(null) and list the
  channels of zero-weight rows with 0). It is a Monte-Carlo estimate that also truncates
  simulated paths at `max_step` channel states (default: the longest observed path in merged
  states + 1) and counts truncated paths as non-converting. The script computes that truncated
  expectation exactly too and asserts ChannelAttribution sits within Monte-Carlo noise of it
  (0.01 of the totals), and within 0.02 of the exact answer. Each case records
  max_conversion_share_diff = max over channels |exact - CA| conversions / sum(conversions)
  (and max_value_share_diff with values / sum(values)); the largest here is about 0.001.

shapley: shapley_attribution(path, conversions, conversion_value, journeys), set-based Shapley
  (Zhao, Mahboobi & Bagheri 2018). Per distinct channel set T: R(T) = conversions / journeys
  (RV(T) = value / journeys); v(S) = sum of R(T) over non-empty T within S. Shapley values come
  from the textbook formula summed over every coalition (brute force, up to 12 channels);
  conversions = phi / sum(phi) * sum(conversions), conversion_value likewise with RV. The
  closed form phi_j = sum over T containing j of R(T)/|T| is asserted equal (1e-12) as a check.
  Rows without a channel or with journeys == 0 are dropped.

weights: attribution_weight models per touch (journey_id, ts seconds, channel); touches are
  listed in shuffled order and weights follow that order. Touches of a journey with equal ts
  form a tie group. first_touch/last_touch: the first/last group shares 1 equally. linear: 1/n.
  time_decay: 2^-((t_ref - ts)/half_life), normalised to 1 per journey (half-life 604800 s, and
  86400 s for time_decay_1d); t_ref is the journey's conversion_ts when given, else its last ts
  (it cancels in the normalisation). position_based(p): one group gets 1, two groups 1/2 each,
  otherwise first and last group p each and 1 - 2p split evenly over the middle touches; a
  group's share is split evenly over its touches (p = 0.4 and 0.3). The tie-free case also
  holds ChannelAttribution's heuristic_models on the journeys' paths: per channel,
  sum(weight * conversions) must equal its first/last/linear_touch conversions (and
  sum(weight * value) its values), asserted here to 1e-9.

Cases: markov on the seed story (search_ads, short_video, qa_community, email, direct; ~1900
distinct aggregated paths) at orders 1-3 and a smaller one at order 4, one row per journey
(~2800 rows, varied spacing, plus rows that must be dropped) at orders 1-2, everything
converting (no nulls) at orders 1-2, and a 3-path case worked by hand below; shapley on the
per-journey rows, the same journeys aggregated per path (asserted equal), 12 channels, and a
single channel; weights with ties (450 journeys) and without ties (250 journeys, conversion_ts).

Fixture notes: channels are listed sorted by name; conversion_ts keys are strings (JSON);
"channelattribution" also holds max_step (its path cap) and nsim_final (simulations in its last
round); "heuristics" also holds first_touch_value / last_touch_value / linear_touch_value.

Tolerances for the Rust tests: markov exact values 1e-9 relative (different linear solvers),
shapley 1e-12 relative, weights 1e-12 absolute, heuristics 1e-9; ChannelAttribution shares as
recorded per case plus Monte-Carlo slack (0.01 of the totals is safe for every case here).
"""

import contextlib
import io
import json
import math
import re
import sys

import numpy as np
import pandas as pd

with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
    import ChannelAttribution as ca
    from importlib.metadata import version as _version

CA_VERSION = _version("ChannelAttribution")
CONV_PAR = 0.003
NSIM_START = 1_000_000
CA_SEED = 1

SEED_CHANNELS = ["search_ads", "short_video", "qa_community", "email", "direct"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------ data

def seed_journeys(rng, journeys):
    """The seed story, one (channel list, converted, value) per journey.

    short_video opens most journeys but only-short_video journeys never convert; qa_community
    is planted early in long journeys, which convert far more often (slow, but it works);
    direct and search_ads close; 30% single-touch journeys; 25% chance of repeating a channel.
    """
    w0 = np.array([0.3, 0.35, 0.08, 0.1, 0.17])
    out = []
    for _ in range(journeys):
        n = 1 if rng.random() < 0.3 else min(1 + int(rng.geometric(0.35)), 12)
        path = [int(rng.choice(5, p=w0))]
        for i in range(1, n):
            if rng.random() < 0.25:
                path.append(path[-1])
            else:
                late = min(i / 6, 1)
                w = w0 * np.array([1 + late, 1 - 0.7 * late, 1 - late, 1 + 0.5 * late, 1 + 2 * late])
                path.append(int(rng.choice(5, p=w / w.sum())))
        if n >= 4 and rng.random() < 0.35:
            path[int(rng.integers(0, 2))] = 2
        s = set(path)
        if s == {1}:
            p = 0.0
        else:
            p = 0.03 + 0.04 * len(s) + (0.3 if 2 in s and n >= 4 else 0) + (0.08 if path[-1] in (0, 4) else 0)
        conv = bool(rng.random() < p)
        value = round(float(rng.lognormal(4.0 + (0.4 if 2 in s else 0), 0.5)), 2) if conv else 0.0
        out.append(([SEED_CHANNELS[i] for i in path], conv, value))
    return out


def aggregate(journeys):
    """Distinct paths: [path, conversions, value, nulls], in first-seen order."""
    agg = {}
    for chans, conv, value in journeys:
        key = " > ".join(chans)
        c, v, n = agg.get(key, (0, 0.0, 0))
        agg[key] = (c + int(conv), round(v + value, 2), n + int(not conv))
    return [[k, c, v, n] for k, (c, v, n) in agg.items()]


def spelled(rng, chans):
    """A path string with varied spacing around '>' (trimmed away by every reader)."""
    seps = [">", " > ", " >", ">  ", "  >   "]
    s = chans[0]
    for ch in chans[1:]:
        s += seps[int(rng.integers(0, len(seps)))] + ch
    return s


# ------------------------------------------------------------------------------------ markov

def parse(path):
    return [t.strip(" ") for t in path.split(">") if t.strip(" ")]


def states_of(chans, k):
    windows = [tuple(chans)] if len(chans) < k else [tuple(chans[i:i + k]) for i in range(len(chans) - k + 1)]
    out = []
    for s in windows:
        if not out or out[-1] != s:
            out.append(s)
    return out


def used_rows(rows):
    return [r for r in rows if parse(r[0]) and r[1] + r[3] > 0]


def chain(rows, k):
    idx, start, trans, conv, null, vend, cend = {}, {}, {}, {}, {}, {}, {}
    chans, tc, tv = set(), 0.0, 0.0
    for path, c, v, n in used_rows(rows):
        ch = parse(path)
        tc += c
        tv += v
        chans.update(ch)
        st = states_of(ch, k)
        for s in st:
            idx.setdefault(s, len(idx))
        w = c + n
        start[st[0]] = start.get(st[0], 0) + w
        for a, b in zip(st, st[1:]):
            trans[(a, b)] = trans.get((a, b), 0) + w
        conv[st[-1]] = conv.get(st[-1], 0) + c
        null[st[-1]] = null.get(st[-1], 0) + n
        if c > 0:
            vend[st[-1]] = vend.get(st[-1], 0) + v
            cend[st[-1]] = cend.get(st[-1], 0) + c
    m = len(idx)
    q, pc, p0, mv = np.zeros((m, m)), np.zeros(m), np.zeros(m), np.zeros(m)
    for (a, b), w in trans.items():
        q[idx[a], idx[b]] += w
    for s, i in idx.items():
        pc[i] = conv.get(s, 0)
        total = q[i].sum() + pc[i] + null.get(s, 0)
        q[i] /= total
        pc[i] /= total
        mv[i] = vend[s] / cend[s] if cend.get(s) else 0.0
        p0[i] = start.get(s, 0)
    p0 /= p0.sum()
    return list(idx), q, pc, p0, mv, sorted(chans), tc, tv


def absorb(q, p0, reward, keep, horizon=None):
    """P(start -> ... -> conversion) weighted by reward, over the kept states; the others are null.
    horizon=None: exact; else only paths of at most `horizon` channel states convert."""
    qk = q[np.ix_(keep, keep)]
    if horizon is None:
        return float(p0[keep] @ np.linalg.solve(np.eye(len(qk)) - qk, reward[keep]))
    a, total = p0[keep].copy(), 0.0
    for _ in range(horizon):
        total += a @ reward[keep]
        a = a @ qk
    return float(total)


def markov(rows, k, horizon=None):
    states, q, pc, p0, mv, chans, tc, tv = chain(rows, k)
    rv = pc * mv
    every = np.ones(len(states), bool)
    p, v = absorb(q, p0, pc, every, horizon), absorb(q, p0, rv, every, horizon)
    re_, rev = {}, {}
    for ch in chans:
        keep = np.array([ch not in s for s in states], bool)
        re_[ch] = 1 - absorb(q, p0, pc, keep, horizon) / p if p else 0.0
        rev[ch] = 1 - absorb(q, p0, rv, keep, horizon) / v if v else 0.0
    sre, srev = sum(re_.values()), sum(rev.values())
    return [
        {"channel": ch, "removal_effect": re_[ch],
         "conversions": re_[ch] / sre * tc if sre else 0.0,
         "conversion_value": rev[ch] / srev * tv if srev else 0.0}
        for ch in chans
    ]


def channelattribution_markov(rows, k):
    used = used_rows(rows)
    df = pd.DataFrame(used, columns=["path", "c", "v", "n"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        res = ca.markov_model(df, "path", "c", var_value="v", var_null="n", order=k, out_more=True,
                              conv_par=CONV_PAR, nsim_start=NSIM_START, seed=CA_SEED, ncore=1,
                              verbose=True, flg_pro=False)
    text = out.getvalue()
    nsim = int(re.findall(r"Number of simulations: (\d+)", text)[-1])
    max_step = int(re.search(r"maximum number of steps \((\d+)\)", text).group(1))
    r = res["result"].set_index("channel_name")
    e = res["removal_effects"].set_index("channel_name")
    results = [
        {"channel": ch, "removal_effect": float(e.loc[ch, "removal_effects_conversion"]),
         "conversions": float(r.loc[ch, "total_conversions"]),
         "conversion_value": float(r.loc[ch, "total_conversion_value"])}
        for ch in sorted(r.index)
    ]
    return results, nsim, max_step


def share_diffs(ours, theirs, tc, tv):
    a = {x["channel"]: x for x in ours}
    b = {x["channel"]: x for x in theirs}
    assert set(a) == set(b), (set(a), set(b))
    dc = max(abs(a[ch]["conversions"] - b[ch]["conversions"]) for ch in a) / tc
    dv = max(abs(a[ch]["conversion_value"] - b[ch]["conversion_value"]) for ch in a) / tv if tv else 0.0
    return dc, dv


def markov_case(name, rows, k):
    exact = markov(rows, k)
    used = used_rows(rows)
    tc, tv = sum(r[1] for r in used), sum(r[2] for r in used)
    # The exact solve against a long power series of the same chain.
    series = markov(rows, k, horizon=4000)
    for x, y in zip(exact, series):
        for f in ("removal_effect", "conversions", "conversion_value"):
            assert abs(x[f] - y[f]) <= 1e-9 * max(1.0, abs(x[f])), (name, k, x, y)
    theirs, nsim, max_step = channelattribution_markov(rows, k)
    horizon = max(len(states_of(parse(r[0]), k)) for r in used) + 1
    assert max_step == horizon, (name, k, max_step, horizon)
    truncated = markov(rows, k, horizon=horizon)
    dc, dv = share_diffs(exact, theirs, tc, tv)
    tdc, tdv = share_diffs(truncated, theirs, tc, tv)
    bdc, bdv = share_diffs(exact, truncated, tc, tv)
    log(f"markov {name:<28} order {k}: {len(rows):>5} rows, {len(exact)} channels, CA nsim {nsim:>9,}, "
        f"max_step {max_step:>2} | exact-CA conv {dc:.5f} value {dv:.5f} | truncated-CA conv {tdc:.5f} "
        f"value {tdv:.5f} | truncation bias conv {bdc:.5f} value {bdv:.5f}")
    assert tdc <= 0.01 and tdv <= 0.01, "ChannelAttribution is not within Monte-Carlo noise of the truncated chain"
    assert dc <= 0.02 and dv <= 0.02, "ChannelAttribution disagrees with the exact chain"
    return {
        "name": name, "order": k, "rows": rows, "exact": exact,
        "channelattribution": {
            "conv_par": CONV_PAR, "nsim_start": NSIM_START, "results": theirs,
            "max_conversion_share_diff": dc, "max_value_share_diff": dv,
            "max_step": max_step, "nsim_final": nsim,
        },
    }


# Hand-checkable chain, order 1 (weights are conversions + nulls):
#   a > b  c=1 v=10 n=1      start->a 4, start->b 1      p(a->b) = p(a->c) = 1/2
#   b      c=1 v=20 n=0      b: conversion 2, null 1      mv(b) = 30/2 = 15
#   a > c  c=1 v=60 n=1      c: conversion 1, null 1      mv(c) = 60
# P   = 4/5 (1/2 * 2/3 + 1/2 * 1/2) + 1/5 * 2/3 = 3/5
# P_a = 2/15 -> RE 7/9;   P_b = 1/5 -> RE 2/3;   P_c = 2/5 -> RE 1/3;   sum 16/9, 3 conversions
#   conversions a 21/16 = 1.3125, b 18/16 = 1.125, c 9/16 = 0.5625
# V   = 4/5 (1/2 * 10 + 1/2 * 30) + 1/5 * 10 = 18   (rewards: b 2/3*15 = 10, c 1/2*60 = 30)
# V_a = 2 -> 8/9;   V_b = 12 -> 1/3;   V_c = 6 -> 2/3;   sum 17/9, value 90
#   value a 8/17*90 = 42.3529..., b 3/17*90 = 15.8823..., c 6/17*90 = 31.7647...
# Order 2: every path is a single state (a,b), (b), (a,c) with start weights 2, 1, 2 and
# conversion probabilities 1/2, 1, 1/2, values 10, 20, 60: P = 3/5, V = 2 + 4 + 12 = 18.
# RE: a 1 - (1/5)/(3/5) = 2/3, b 2/3, c 1/3 -> conversions 1.2, 1.2, 0.6;
# value RE: a 1 - 4/18 = 7/9, b 1 - 12/18 = 1/3, c 1 - 6/18 = 2/3 -> 39.375, 16.875, 33.75.
TINY = [["a > b", 1, 10.0, 1], ["b", 1, 20.0, 0], ["a > c", 1, 60.0, 1]]
TINY_EXPECTED = {
    1: {"a": (7 / 9, 21 / 16, 8 / 17 * 90), "b": (2 / 3, 18 / 16, 3 / 17 * 90), "c": (1 / 3, 9 / 16, 6 / 17 * 90)},
    2: {"a": (2 / 3, 1.2, 39.375), "b": (2 / 3, 1.2, 16.875), "c": (1 / 3, 0.6, 33.75)},
}


def markov_cases(rng):
    seed = aggregate(seed_journeys(rng, 9_000))
    small = aggregate(seed_journeys(rng, 1_500))
    # One row per journey (c in {0,1}, n = 1 - c), with varied spacing, plus rows the function
    # drops: no channel at all, an empty name between separators, and a zero-weight row whose
    # channel ("ghost") therefore appears nowhere in the output.
    per_journey = [[spelled(rng, ch), int(conv), value, int(not conv)] for ch, conv, value in seed_journeys(rng, 2_800)]
    per_journey += [["", 1, 50.0, 0], [" > ", 0, 0.0, 1], ["email > > direct", 1, 42.5, 0],
                    ["> search_ads >", 0, 0.0, 1], ["ghost > email", 0, 0.0, 0]]
    # Everything converts: no null counts anywhere.
    all_conv = [[p, c + n, round(v + 55.0 * n, 2), 0] for p, c, v, n in aggregate(seed_journeys(rng, 1_200))]
    cases = [markov_case("seed_story", seed, k) for k in (1, 2, 3)]
    cases.append(markov_case("seed_story_small", small, 4))
    cases += [markov_case("per_journey", per_journey, k) for k in (1, 2)]
    cases.append(markov_case("all_convert", all_conv, 1))
    cases.append(markov_case("all_convert", all_conv, 2))
    for k in (1, 2):
        tiny = markov_case("tiny", TINY, k)
        for x in tiny["exact"]:
            want = TINY_EXPECTED[k][x["channel"]]
            got = (x["removal_effect"], x["conversions"], x["conversion_value"])
            assert all(abs(g - w) < 1e-12 for g, w in zip(got, want)), (k, x, want)
        cases.append(tiny)
    assert not any(x["channel"] == "ghost" for c in cases for x in c["exact"])
    return cases, per_journey


# ------------------------------------------------------------------------------------ shapley

def shapley(rows):
    """Brute-force Shapley over every coalition of the channels seen."""
    sets = {}
    for path, c, v, m in rows:
        ch = frozenset(parse(path))
        if not ch or m == 0:
            continue
        a = sets.setdefault(ch, [0.0, 0.0, 0.0])
        a[0] += c
        a[1] += v
        a[2] += m
    chans = sorted(set().union(*sets))
    n = len(chans)
    assert n <= 12
    bit = {ch: 1 << i for i, ch in enumerate(chans)}
    tmask = np.array([sum(bit[c] for c in t) for t in sets], dtype=np.int64)
    rate = np.array([a[0] / a[2] for a in sets.values()])
    vrate = np.array([a[1] / a[2] for a in sets.values()])
    tc = sum(a[0] for a in sets.values())
    tv = sum(a[1] for a in sets.values())
    full = 1 << n
    worth = np.zeros(full)
    vworth = np.zeros(full)
    for s in range(1, full):
        inside = (tmask & s) == tmask
        worth[s] = rate[inside].sum()
        vworth[s] = vrate[inside].sum()
    size = np.array([bin(s).count("1") for s in range(full)])
    weight = np.array([math.factorial(z) * math.factorial(n - z - 1) / math.factorial(n) if z < n else 0.0
                       for z in range(n + 1)])
    phi, vphi = [], []
    for j in range(n):
        without = np.array([s for s in range(full) if not s >> j & 1])
        w = weight[size[without]]
        phi.append(float(w @ (worth[without | 1 << j] - worth[without])))
        vphi.append(float(w @ (vworth[without | 1 << j] - vworth[without])))
    # Efficiency, and the closed form the Rust side uses.
    assert abs(sum(phi) - worth[full - 1]) <= 1e-12 * max(1, worth[full - 1])
    for j, ch in enumerate(chans):
        closed = sum(r / len(t) for t, r in zip(sets, rate) if ch in t)
        vclosed = sum(r / len(t) for t, r in zip(sets, vrate) if ch in t)
        assert abs(phi[j] - closed) <= 1e-12 * max(1, closed), (ch, phi[j], closed)
        assert abs(vphi[j] - vclosed) <= 1e-12 * max(1, vclosed), (ch, vphi[j], vclosed)
    sp, svp = sum(phi), sum(vphi)
    return [
        {"channel": ch, "shapley": phi[j],
         "conversions": phi[j] / sp * tc if sp else 0.0,
         "conversion_value": vphi[j] / svp * tv if svp else 0.0}
        for j, ch in enumerate(chans)
    ]


def shapley_cases(rng, per_journey):
    journeys = [[p, c, v, c + n] for p, c, v, n in per_journey if c + n > 0]
    journeys += [["email > direct", 0, 0.0, 0], ["", 1, 30.0, 1]]  # dropped: no journeys, no channel
    agg = {}
    for p, c, v, m in journeys:
        key = " > ".join(parse(p))
        a = agg.setdefault(key, [0, 0.0, 0])
        a[0] += c
        a[1] = round(a[1] + v, 2)
        a[2] += m
    aggregated = [[k, *a] for k, a in agg.items()]
    twelve = [f"ch{i:02d}" for i in range(12)]
    pop = np.array([1 / (i + 1) for i in range(12)])
    lift = rng.uniform(0.0, 0.12, 12)
    rows12 = {}
    for _ in range(3_000):
        size = int(rng.choice([1, 1, 2, 2, 3, 4, 5, 7]))
        chans = [twelve[i] for i in rng.choice(12, size, p=pop / pop.sum())]
        conv = int(rng.random() < 0.02 + sum(lift[twelve.index(c)] for c in set(chans)) / 2)
        key = " > ".join(chans)
        a = rows12.setdefault(key, [0, 0.0, 0])
        a[0] += conv
        a[1] = round(a[1] + (round(float(rng.uniform(5, 200)), 2) if conv else 0.0), 2)
        a[2] += 1
    single = [["only", 3, 120.0, 10], ["only > only", 1, 15.5, 4], ["  only  ", 0, 0.0, 6]]
    cases = [
        ("per_journey", journeys),
        ("per_journey_aggregated", aggregated),
        ("twelve_channels", [[k, *a] for k, a in rows12.items()]),
        ("single_channel", single),
    ]
    out = []
    for name, rows in cases:
        res = shapley(rows)
        log(f"shapley {name:<24} {len(rows):>5} rows, {len(res):>2} channels")
        out.append({"name": name, "rows": rows, "result": res})
    # The same journeys, one row each or aggregated per path, give the same answer.
    for x, y in zip(out[0]["result"], out[1]["result"]):
        assert x["channel"] == y["channel"]
        for f in ("shapley", "conversions", "conversion_value"):
            assert abs(x[f] - y[f]) <= 1e-9 * max(1, abs(x[f])), (x, y)
    assert len(out[2]["result"]) == 12
    assert abs(out[3]["result"][0]["shapley"] - 4 / 20) < 1e-15
    return out


# ------------------------------------------------------------------------------------ weights

WEIGHT_CHANNELS = ["paid_search", "social", "display", "email", "referral", "direct"]


def gen_touches(rng, journeys, ties):
    touches, info, conversion_ts = [], [], {}
    for j in range(1, journeys + 1):
        n = int(rng.integers(1, 9))
        t = int(rng.integers(1_700_000_000, 1_720_000_000))
        chans = [WEIGHT_CHANNELS[int(rng.integers(0, 6))]]
        stamps = [t]
        for _ in range(n - 1):
            chans.append(chans[-1] if rng.random() < 0.2 else WEIGHT_CHANNELS[int(rng.integers(0, 6))])
            if ties and rng.random() < 0.2:
                stamps.append(stamps[-1])
            else:
                stamps.append(stamps[-1] + 1 + int(rng.exponential(2 * 86400)))
        if ties and j % 50 == 0:  # some journeys entirely at one instant
            stamps = [t] * n
        conv = int(rng.random() < 0.35) + int(rng.random() < 0.05)
        value = round(float(rng.uniform(10, 300)) * conv, 2)
        info.append([j, conv, value])
        conversion_ts[j] = stamps[-1] + int(rng.integers(0, 5 * 86400))
        touches += [[j, ts, ch] for ts, ch in zip(stamps, chans)]
    order = rng.permutation(len(touches))
    return [touches[i] for i in order], info, conversion_ts


def weights(touches, conversion_ts):
    by_journey = {}
    for i, (j, ts, ch) in enumerate(touches):
        by_journey.setdefault(j, []).append(i)
    models = {m: [0.0] * len(touches) for m in
              ("first_touch", "last_touch", "linear", "time_decay", "time_decay_1d", "position_based",
               "position_based_0.3")}
    for j, idx in by_journey.items():
        ts = {i: touches[i][1] for i in idx}
        groups = [[i for i in idx if ts[i] == t] for t in sorted(set(ts.values()))]
        n, g = len(idx), len(groups)
        for i in groups[0]:
            models["first_touch"][i] = 1 / len(groups[0])
        for i in groups[-1]:
            models["last_touch"][i] = 1 / len(groups[-1])
        for i in idx:
            models["linear"][i] = 1 / n
        t_ref = conversion_ts[j] if conversion_ts else max(ts.values())
        assert t_ref >= max(ts.values())
        for name, half_life in (("time_decay", 604800), ("time_decay_1d", 86400)):
            raw = {i: 2.0 ** (-(t_ref - ts[i]) / half_life) for i in idx}
            total = sum(raw.values())
            for i in idx:
                models[name][i] = raw[i] / total
        for name, p in (("position_based", 0.4), ("position_based_0.3", 0.3)):
            if g == 1:
                share = [1.0]
            elif g == 2:
                share = [0.5, 0.5]
            else:
                middle = sum(len(x) for x in groups[1:-1])
                share = [p] + [(1 - 2 * p) / middle * len(x) for x in groups[1:-1]] + [p]
            for s, grp in zip(share, groups):
                for i in grp:
                    models[name][i] = s / len(grp)
    for name, w in models.items():
        for j, idx in by_journey.items():
            assert abs(sum(w[i] for i in idx) - 1) < 1e-12, (name, j)
    return models


def heuristics(touches, info, models):
    by_journey = {}
    for j, ts, ch in touches:
        by_journey.setdefault(j, []).append((ts, ch))
    conv = {j: (c, v) for j, c, v in info}
    paths = []
    for j, tt in by_journey.items():
        tt.sort()
        assert len({t for t, _ in tt}) == len(tt), "heuristics need journeys without ties"
        paths.append([" > ".join(ch for _, ch in tt), conv[j][0], conv[j][1]])
    df = pd.DataFrame(paths, columns=["path", "c", "v"])
    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.heuristic_models(df, "path", "c", var_value="v", flg_pro=False)
    res = res.set_index("channel_name")
    out = {}
    for ours, theirs in (("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")):
        got_c, got_v = {}, {}
        for i, (j, ts, ch) in enumerate(touches):
            got_c[ch] = got_c.get(ch, 0.0) + models[ours][i] * conv[j][0]
            got_v[ch] = got_v.get(ch, 0.0) + models[ours][i] * conv[j][1]
        assert set(got_c) == set(res.index)
        for ch in got_c:
            assert abs(got_c[ch] - res.loc[ch, f"{theirs}_conversions"]) <= 1e-9 * max(1, got_c[ch]), (ours, ch)
            assert abs(got_v[ch] - res.loc[ch, f"{theirs}_value"]) <= 1e-9 * max(1, got_v[ch]), (ours, ch)
        out[theirs] = {ch: float(res.loc[ch, f"{theirs}_conversions"]) for ch in sorted(res.index)}
        out[f"{theirs}_value"] = {ch: float(res.loc[ch, f"{theirs}_value"]) for ch in sorted(res.index)}
    return out


def weight_cases(rng):
    out = []
    touches, info, _ = gen_touches(rng, 450, ties=True)
    out.append({"name": "ties", "touches": touches, "conversion_ts": None,
                "models": weights(touches, None), "heuristics": None, "journeys": info})
    touches, info, cts = gen_touches(rng, 250, ties=False)
    models = weights(touches, cts)
    out.append({"name": "no_ties_conversion_ts", "touches": touches,
                "conversion_ts": {str(j): t for j, t in cts.items()},
                "models": models, "heuristics": heuristics(touches, info, models), "journeys": info})
    for c in out:
        log(f"weights {c['name']:<24} {len(c['journeys'])} journeys, {len(c['touches'])} touches")
    return out


# ------------------------------------------------------------------------------------ main

def finite(x):
    if isinstance(x, float):
        assert math.isfinite(x), x
    elif isinstance(x, dict):
        for v in x.values():
            finite(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            finite(v)


def main():
    rng = np.random.default_rng(20260411)
    markov_out, per_journey = markov_cases(rng)
    doc = {
        "reference": f"ChannelAttribution {CA_VERSION}, numpy {np.__version__}",
        "markov": markov_out,
        "shapley": shapley_cases(rng, per_journey),
        "weights": weight_cases(rng),
    }
    finite(doc)
    json.dump(doc, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

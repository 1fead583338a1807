"""K-means segmentation, Sightline vs scikit-learn, same Parquet file, same run, same machine.

    cargo build --release
    pip install scikit-learn==1.9.1 numpy pandas pyarrow
    python3 benches/compare/segmentation.py [--rows 1000000] [--runs 3]

Generates (once, outside any timing; numpy seed 17) `points.parquet`: N rows of an `id` BIGINT
and 8 float64 features f1..f8 drawn from 8 Gaussian clusters with unequal weights (5%..22%),
random means (N(0, 2) per feature) and different, axis-dependent spreads (sd 0.65..1.89), so
the clusters overlap (sklearn's labels agree with the generating ones at ARI 0.84..0.93
depending on the local minimum, never 1); the features are then put on very different scales
(x0.01 .. x1000, with offsets), so the z-score standardisation matters. Rows are shuffled. Each
engine then runs, in a fresh process per run so peak memory is per query:

  * centroids: `kmeans_centroids(8, f1..f8)` unnested, summarised as cluster count, total size
    and total inertia (in the standardised space);
  * cluster_window: `kmeans_cluster(8, f1..f8) OVER ()`, summarised as rows per cluster.

scikit-learn's side, for both: pandas reads f1..f8 from the file, `StandardScaler`, then
`KMeans(n_clusters=8, n_init=4, random_state=0)` (k-means++, Lloyd; n_init=4 matches
Sightline's default of 4 restarts; sklearn uses all cores through OpenMP), reporting
`inertia_` and the sizes from `labels_`. Reported per query and engine: median wall time
(process start to answer), the same net of the engine's median start-up (`SELECT 1` for
Sightline; Python with pandas + sklearn imported for sklearn), sklearn's time inside
`KMeans.fit` alone (`fit_seconds`, excluding reading and scaling), peak RSS, and the ratios.

Checks and tolerances: the script fails if either engine does not answer, or if the engines'
row counts differ (total cluster size for centroids, summed counts for cluster_window). The
inertias are not expected to match exactly: both are local searches from random starts. On the
default 1M file single sklearn starts end at +0%, +0.4% or +1.4% of the best inertia seen
(2584109.64, n_init=10, random_state=1), and sklearn's n_init=4, random_state=0 run lands on the
+0.4% one (2594418.44), so a ratio of about 0.996..1.014 is normal. The ratio sightline/sklearn
is printed prominently and recorded (< 1 means Sightline found the better clustering), never
asserted; nor are the cluster counts (an
implementation may return fewer than k clusters if one empties). Results go to
benches/compare/results/segmentation.json.

`--sightline PATH` replaces the binary (any program taking `query --data DIR SQL` and printing
Sightline's table), `--sklearn-only` skips Sightline entirely, `--out FILE` writes the results
elsewhere (for trial runs on small data).
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
K = 8
N_INIT = 4
FEATURES = ", ".join(f"f{i}" for i in range(1, 9))

QUERIES = {
    "centroids": (
        "SELECT count(*) AS clusters, sum(c['size']) AS rows, sum(c['inertia']) AS inertia FROM "
        f"(SELECT unnest(kmeans_centroids({K}, {FEATURES})) AS c FROM points)"
    ),
    "cluster_window": (
        "SELECT c, count(*) AS n FROM "
        f"(SELECT kmeans_cluster({K}, {FEATURES}) OVER () AS c FROM points) GROUP BY c ORDER BY c"
    ),
}

SKLEARN_RUNNER = """
import sys, time
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
what, path, k, n_init = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if what == "startup":
    print("clusters,rows,inertia\\n1,1,1"); sys.exit()
x = pd.read_parquet(path, columns=[f"f{i}" for i in range(1, 9)]).to_numpy(dtype=np.float64)
z = StandardScaler().fit_transform(x)
t0 = time.perf_counter()
model = KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=0).fit(z)
sys.stderr.write(f"@fit {time.perf_counter() - t0} {model.n_iter_}\\n")
from threadpoolctl import threadpool_info
omp = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"]
sys.stderr.write(f"@threads {max(omp, default=0)}\\n")
sizes = np.bincount(model.labels_, minlength=k)
if what == "centroids":
    print(f"clusters,rows,inertia\\n{int((sizes > 0).sum())},{int(sizes.sum())},{model.inertia_!r}")
else:
    print("c,n")
    for c, n in enumerate(sizes):
        if n:
            print(f"{c},{n}")
"""


def generate(path, rows, seed=17):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    weights = np.array([0.22, 0.18, 0.15, 0.12, 0.11, 0.09, 0.08, 0.05])
    means = rng.normal(0.0, 2.0, (K, 8))
    spreads = rng.uniform(0.6, 1.8, K)[:, None] * rng.uniform(0.7, 1.3, (K, 8))
    label = rng.choice(K, rows, p=weights)
    x = means[label] + rng.standard_normal((rows, 8)) * spreads[label]
    scale = np.array([1.0, 100.0, 0.01, 10.0, 1.0, 1000.0, 0.1, 5.0])
    offset = np.array([0.0, 50.0, -3.0, 1000.0, 7.0, 0.0, 0.5, -20.0])
    x = x * scale + offset
    columns = {"id": pa.array(np.arange(1, rows + 1, dtype=np.int64))}
    columns.update({f"f{i + 1}": pa.array(x[:, i]) for i in range(8)})
    pq.write_table(pa.table(columns), path, row_group_size=1 << 17, compression="zstd")


def table(text):
    """(header, rows) of Sightline's boxed table (`| a | b |` lines) or the runner's CSV."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    boxed = [l for l in lines if l.startswith("|")]
    if boxed:
        cells = [[c.strip() for c in l.strip("|").split("|")] for l in boxed]
    else:
        cells = [l.split(",") for l in lines if "," in l]
    if len(cells) < 2:
        sys.exit(f"no result table in:\n{text[-2000:]}")
    return cells[0], cells[1:]


def answer(query, text):
    """The comparable answer: {clusters, rows, inertia} or {clusters, rows, sizes}."""
    header, rows = table(text)
    try:
        if query == "centroids":
            if header != ["clusters", "rows", "inertia"] or len(rows) != 1:
                raise ValueError(f"unexpected shape {header} x {len(rows)}")
            clusters, total, inertia = rows[0]
            return {"clusters": int(clusters), "rows": int(total), "inertia": float(inertia)}
        if header != ["c", "n"]:
            raise ValueError(f"unexpected header {header}")
        sizes = {row[0]: int(row[1]) for row in rows}
        return {"clusters": len(sizes), "rows": sum(sizes.values()),
                "sizes": sorted(sizes.values(), reverse=True)}
    except ValueError as e:
        sys.exit(f"{query}: cannot read the answer ({e}) from:\n{text[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "sightline-bench-segmentation"))
    ap.add_argument("--sightline", default=str(SIGHTLINE), help="the sightline binary (default: %(default)s)")
    ap.add_argument("--sklearn-only", action="store_true", help="time scikit-learn alone")
    ap.add_argument("--out", default=str(ROOT / "benches" / "compare" / "results" / "segmentation.json"))
    args = ap.parse_args()

    engines = ["sklearn"] if args.sklearn_only else ["sightline", "sklearn"]
    if "sightline" in engines and not pathlib.Path(args.sightline).exists():
        sys.exit(f"{args.sightline} not found: run `cargo build --release` first (or pass --sklearn-only)")
    data = pathlib.Path(args.data) / f"r{args.rows}"
    path = data / "points.parquet"
    if not path.exists():
        data.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.rows:,} points x 8 features in {K} clusters -> {path}", flush=True)
        generate(path, args.rows)

    def command(engine, query):
        if engine == "sightline":
            return [args.sightline, "query", "--data", str(data), "SELECT 1" if query == "startup" else QUERIES[query]]
        return [sys.executable, "-c", SKLEARN_RUNNER, query, str(path), str(K), str(N_INIT)]

    startup = {e: statistics.median(run(command(e, "startup"))[0] for _ in range(args.runs)) for e in engines}
    import sklearn
    results = {"engines": engines, "rows": args.rows, "k": K, "features": 8, "runs": args.runs, "sklearn_n_init": N_INIT,
               "sklearn_version": sklearn.__version__, "cpus": os.cpu_count(), "startup_seconds": startup,
               "queries": {}}
    print("start-up: " + ", ".join(
        f"{e} {s:.2f}s" + (" (python + imports)" if e == "sklearn" else "") for e, s in startup.items()))
    print(f"sklearn: KMeans(n_clusters={K}, n_init={N_INIT}, random_state=0), {os.cpu_count()} CPUs")
    print(f"{'query':<15} {'engine':<10} {'median s':>9} {'net s':>7} {'fit s':>7} {'peak MiB':>9}  answer")
    for name, sql in QUERIES.items():
        row, answers = {"sql": sql}, {}
        for engine in engines:
            cmd = command(engine, name)
            run(cmd)  # warm the page cache and the binary
            times, rss, fits, iters, threads = [], [], [], [], None
            for _ in range(args.runs):
                seconds, mib, out, err = run(cmd)
                times.append(seconds)
                rss.append(mib)
                for line in err.splitlines():
                    if line.startswith("@fit "):
                        fits.append(float(line.split()[1]))
                        iters.append(int(line.split()[2]))
                    if line.startswith("@threads "):
                        threads = int(line.split()[1])
            answers[engine] = answer(name, out)
            median = statistics.median(times)
            row[engine] = {
                "median_seconds": median,
                "net_seconds": max(median - startup[engine], 1e-3),
                "peak_rss_mib": max(rss),
                "answer": answers[engine],
            }
            if fits:
                row[engine]["fit_seconds"] = statistics.median(fits)
                row[engine]["n_iter"] = iters[-1]
                row[engine]["openmp_threads"] = threads
            shown = f"{statistics.median(fits):>7.2f}" if fits else f"{'':>7}"
            brief = {k: v for k, v in answers[engine].items() if k != "sizes"}
            print(f"{name:<15} {engine:<10} {median:>9.2f} {row[engine]['net_seconds']:>7.2f} {shown} "
                  f"{max(rss):>9.0f}  {brief}", flush=True)
        if len(engines) == 2:
            ours, theirs = answers["sightline"], answers["sklearn"]
            if ours["rows"] != theirs["rows"]:
                sys.exit(f"{name}: the engines disagree on the row count: sightline {ours['rows']:,}, "
                         f"sklearn {theirs['rows']:,}")
            if ours["clusters"] != theirs["clusters"]:
                print(f"{name}: NOTE cluster counts differ: sightline {ours['clusters']}, sklearn {theirs['clusters']}")
            s, m = row["sightline"], row["sklearn"]
            row["speedup_end_to_end"] = m["net_seconds"] / s["net_seconds"]
            row["speedup_vs_fit_only"] = m["fit_seconds"] / s["net_seconds"]
            row["time_ratio"] = s["net_seconds"] / m["net_seconds"]
            row["memory_ratio"] = s["peak_rss_mib"] / m["peak_rss_mib"]
            line = (f"{name:<15} {ours['rows']:,} rows agree; sightline is x{row['speedup_end_to_end']:.2f} faster "
                    f"end to end, x{row['speedup_vs_fit_only']:.2f} vs sklearn's fit alone; "
                    f"peak memory x{row['memory_ratio']:.2f}")
            print(line)
            if "inertia" in ours:
                row["inertia_ratio"] = ours["inertia"] / theirs["inertia"]
                print(f"{'':<15} >>> INERTIA RATIO sightline/sklearn = {row['inertia_ratio']:.6f} "
                      f"(sightline {ours['inertia']:.6g}, sklearn {theirs['inertia']:.6g}; < 1 is better) <<<")
            else:
                print(f"{'':<15} cluster sizes: sightline {ours['sizes']}, sklearn {theirs['sizes']}")
        results["queries"][name] = row
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results -> {out}")


if __name__ == "__main__":
    main()

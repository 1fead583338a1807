#!/usr/bin/env bash
# Load test: pgbench with 64 clients running a mix of dashboard and analytic queries against the
# 50,000-customer demo shop for 60 s. Passes when no transaction failed and the server's peak
# RSS stayed under its configured memory limit.
#
#   bash benches/load/run.sh [clients=64] [seconds=60] [memory_limit_mb=4096]
#
# Needs pgbench (Debian: postgresql-client or postgresql-contrib) and a release build
# (`cargo build --release`; CARGO_TARGET_DIR is honoured).
set -euo pipefail
clients=${1:-64}
seconds=${2:-60}
limit_mb=${3:-4096}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${CARGO_TARGET_DIR:-$root/target}/release/sightline
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d /tmp/sightline-load-XXXXXX)
data=${SIGHTLINE_LOAD_DATA:-/tmp/sightline-load-demo-50000}
[ -f "$data/orders.parquet" ] || "$bin" demo --out "$data" --customers 50000 >/dev/null
port=$((20000 + RANDOM % 20000))
"$bin" serve --data "$data" --listen "127.0.0.1:$port" --max-connections $((clients + 10)) \
  --memory-limit-mb "$limit_mb" --statement-timeout-ms 120000 --log-level warn \
  2> "$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
echo "server pid $server on port $port, data $data, memory limit ${limit_mb} MiB"
cd "$work"
set +e
pgbench -n -c "$clients" -j 2 -T "$seconds" -P 10 -h 127.0.0.1 -p "$port" -U bench \
  --log --log-prefix="$work/tx" \
  -f "$here/dashboard.sql@60" -f "$here/funnel.sql@15" -f "$here/rfm.sql@10" \
  -f "$here/attribution.sql@5" -f "$here/basket.sql@10" sightline > "$work/pgbench.out" 2>&1
pgbench_status=$?
set -e
# pgbench aborts a client on any SQL error: list them, they fail the run.
grep -E "aborted|ERROR" "$work/pgbench.out" | head -5 || true
sed -n '1,/^SQL script 1/p' "$work/pgbench.out" | grep -v "^SQL script"
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
python3 - "$work" "$peak_kb" "$limit_mb" "$pgbench_status" <<'PY'
import glob, sys
work, peak_kb, limit_mb, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lat = []
for f in glob.glob(f"{work}/tx*"):
    for line in open(f):
        parts = line.split()
        if len(parts) >= 3 and parts[2].isdigit():
            lat.append(int(parts[2]) / 1000.0)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
out = open(f"{work}/pgbench.out").read()
failed = next((l for l in out.splitlines() if l.startswith("number of failed transactions")), "number of failed transactions: ?")
tps = next((l for l in out.splitlines() if l.startswith("tps")), "tps = ?")
print(f"transactions {len(lat)}; {tps.strip()}")
print(f"latency ms: p50 {q(0.50):.1f}  p95 {q(0.95):.1f}  p99 {q(0.99):.1f}  max {lat[-1] if lat else float('nan'):.1f}")
print(f"peak RSS {peak_kb/1024:.0f} MiB (limit {limit_mb} MiB); {failed}")
ok = status == 0 and failed.split(":")[1].strip().startswith("0 ") and peak_kb / 1024 < limit_mb
if status != 0:
    print(f"pgbench exited with {status} (aborted clients: see above)")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY

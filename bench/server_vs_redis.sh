#!/usr/bin/env bash
# synap-server beside redis-server under redis-benchmark, same flags, one run:
# Redis with appendfsync always, everysec and no persistence; synap-server
# with fsync always, periodic and never. SET, GET, INCR with 16 B values,
# SET and GET with 1 KiB, XADD, and a queue publish (Synap's QPUBLISH beside
# Redis's LPUSH, the list Redis users queue with) with 16 B and 1 KiB
# payloads; -c 50, pipelining 1 and 16; medians of `reps` runs.
#   bench/server_vs_redis.sh [build-dir] [reps]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-release}
REPS=${2:-3}
OUT=${RESULTS:-/tmp/synap-server-vs-redis}
N=${N:-200000}
PORT=16390
rm -rf "$OUT" && mkdir -p "$OUT"
trap 'kill $pid 2>/dev/null || true' EXIT

start_redis() {  # mode
  local dir; dir=$(mktemp -d /tmp/redis-$1.XXXX)
  local aof=(--appendonly yes --appendfsync "$1")
  [[ $1 == none ]] && aof=(--appendonly no)
  redis-server --port $PORT --bind 127.0.0.1 --dir "$dir" "${aof[@]}" --save '' \
    --auto-aof-rewrite-percentage 0 --daemonize no > "$OUT/redis.log" 2>&1 &
  pid=$!
}
start_synap() {  # mode
  local dir; dir=$(mktemp -d "$ROOT/data/server-bench.XXXX")
  "$BUILD/tools/synap-server/synap-server" --port $PORT --dir "$dir" --fsync "$1" > "$OUT/synap.log" 2>&1 &
  pid=$!
}
wait_up() { for _ in $(seq 1 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && return; sleep 0.1; done; }

for rep in $(seq 1 "$REPS"); do
  for target in redis:always redis:everysec redis:none synap:always synap:periodic synap:never; do
    who=${target%%:*} mode=${target##*:}
    "start_$who" "$mode"
    wait_up
    push=LPUSH; [[ $who == synap ]] && push=QPUBLISH
    for P in 1 16; do
      f="$OUT/$who-$mode-P$P.$rep.csv"
      redis-benchmark -p $PORT -c 50 -n "$N" -P $P -d 16 -t set,get,incr --csv > "$f"
      redis-benchmark -p $PORT -c 50 -n "$N" -P $P -d 1024 -t set,get --csv | sed -e 's/^"SET"/"SET 1K"/' \
        -e 's/^"GET"/"GET 1K"/' | tail -n +2 >> "$f"
      for size in 16 1024; do
        payload=$(head -c $size /dev/zero | tr '\0' v)
        label=$([[ $size == 16 ]] && echo "" || echo " 1K")
        redis-benchmark -p $PORT -c 50 -n "$N" -P $P --csv XADD bench-stream '*' f "$payload" | tail -n +2 |
          sed -e "s/^\"[^\"]*\"/\"XADD$label\"/" >> "$f"
        redis-benchmark -p $PORT -c 50 -n "$N" -P $P --csv $push bench-queue "$payload" | tail -n +2 |
          sed -e "s/^\"[^\"]*\"/\"PUBLISH$label\"/" >> "$f"
      done
    done
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$ROOT"/data/server-bench.* /tmp/redis-"$mode".*
  done
done

python3 - "$OUT" <<'PY'
import csv, glob, statistics, sys
out = sys.argv[1]
vals = {}
for f in glob.glob(f"{out}/*.csv"):
    name = f.split("/")[-1].rsplit(".", 2)[0]  # who-mode-PN
    for row in list(csv.reader(open(f)))[1:]:
        vals.setdefault((name, row[0]), []).append((float(row[1]), float(row[6]) if len(row) > 6 else float("nan")))
def med(name, test):
    v = vals.get((name, test))
    if not v: return None, None
    return statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)
print("| test | P | " + " | ".join(["redis always", "redis everysec", "redis none", "synap always", "synap periodic", "synap never"]) + " |")
print("|---|---:|" + "---:|" * 6)
# PUBLISH: QPUBLISH on synap-server, LPUSH on redis-server
for test in ("SET", "GET", "INCR", "SET 1K", "GET 1K", "XADD", "XADD 1K", "PUBLISH", "PUBLISH 1K"):
    for P in (1, 16):
        cells = []
        for who in ("redis-always", "redis-everysec", "redis-none", "synap-always", "synap-periodic", "synap-never"):
            rps, p99 = med(f"{who}-P{P}", test)
            cells.append("–" if rps is None else f"{rps:,.0f} (p99 {p99:.2f} ms)")
        print(f"| {test} | {P} | " + " | ".join(cells) + " |")
PY

#!/usr/bin/env bash
# Synap's durable queue publish beside Redis Streams XADD with appendfsync
# always, in one run on this machine, as ../shared/peers/redis_bench.sh runs
# Redis (16-byte field, redis-benchmark -c 50, pipelining 1 and 16).
#   bench/queue_vs_redis.sh [build-dir] [reps]
# Needs redis-server and redis-benchmark (Debian redis-server, redis-tools).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
REPS=${2:-3}
OUT=${RESULTS:-/tmp/synap-queue-vs-redis}
PORT=16380
mkdir -p "$OUT"
export SYNAP_BENCH_DIR=${SYNAP_BENCH_DIR:-$ROOT/data/bench}

"$BUILD/bench/synap_queue_bench" --benchmark_repetitions="$REPS" --benchmark_min_time=2 \
  --benchmark_format=json > "$OUT/synap_queue.json"

dir=$(mktemp -d /tmp/redis-always.XXXX)
redis-server --port $PORT --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync always \
  --save '' --auto-aof-rewrite-percentage 0 --daemonize no > "$OUT/redis-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
V16=$(printf 'v%.0s' $(seq 1 16))
for rep in $(seq 1 "$REPS"); do
  for P in 1 16; do
    redis-benchmark -p $PORT -c 50 -n 200000 -P $P --csv XADD s '*' f "$V16" > "$OUT/xadd_P$P.$rep.csv"
  done
done

python3 - "$OUT" <<'PY'
import csv, glob, json, statistics, sys
out = sys.argv[1]
med = {}
for b in json.load(open(f"{out}/synap_queue.json"))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        med[b["run_name"]] = b
def redis(P):
    vals = []
    for f in glob.glob(f"{out}/xadd_P{P}.*.csv"):
        rows = list(csv.reader(open(f)))
        vals.append(float(rows[1][1]))
    return statistics.median(vals)
x1, x16 = redis(1), redis(16)
print("| Synap | ops/s | p50 / p99 µs | vs Redis XADD always -c 50 P1 (%s) | vs P16 (%s) |" % (f"{x1:,.0f}", f"{x16:,.0f}"))
print("|---|---:|---:|---:|---:|")
for name, key in [("durable publish, 1 producer", "BM_PublishDurable/real_time/threads:1"),
                  ("durable publish, 8 producers", "BM_PublishDurable/real_time/threads:8"),
                  ("durable publish, 64 producers", "BM_PublishDurable/real_time/threads:64"),
                  ("publish+consume+ack round trip (always)", "BM_RoundTrip/real_time"),
                  ("consume+ack (never), 1 thread", "BM_ConsumeAck/real_time")]:
    b = med.get(key)
    if b is None: continue
    v = b["items_per_second"]
    lat = f'{b.get("p50_us", float("nan")):.0f} / {b.get("p99_us", float("nan")):.0f}' if "p50_us" in b else "–"
    print(f"| {name} | {v:,.0f} | {lat} | {v / x1:.1f}x | {v / x16:.1f}x |")
PY

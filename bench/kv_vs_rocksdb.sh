#!/usr/bin/env bash
# Synap's KV beside RocksDB's db_bench, in one run on this machine:
#   synap_kv_bench (GET 1/2 threads, SET, durable SET 1/8/64 writers), 3 repetitions
#   ../shared/peers/rocksdb_bench.sh 3 5 (fillrandom sync=1 t1/8/32, readrandom t1/2)
# and prints medians and ratios. Usage: bench/kv_vs_rocksdb.sh [build-dir]
# Needs db_bench (Debian rocksdb-tools: ../shared/peers/install.sh installs it).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
OUT=${RESULTS:-/tmp/synap-kv-vs-rocksdb}
PEERS=${PEERS:-$ROOT/../shared/peers}
mkdir -p "$OUT"
export SYNAP_BENCH_DIR=${SYNAP_BENCH_DIR:-$ROOT/data/bench}

"$BUILD/bench/synap_kv_bench" --benchmark_repetitions=3 --benchmark_min_time=2 \
  --benchmark_format=json > "$OUT/synap_kv.json"
RESULTS="$OUT" bash "$PEERS/rocksdb_bench.sh" 3 5 > "$OUT/rocksdb.txt"

python3 - "$OUT" <<'PY'
import json, re, statistics, sys, glob, os
out = sys.argv[1]
synap = {}
for b in json.load(open(f"{out}/synap_kv.json"))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        synap[b["run_name"]] = b["items_per_second"]
def rocks(pattern):
    vals = []
    for f in glob.glob(f"{out}/rocksdb/{pattern}.*.txt"):
        # The result line: "<benchmark> : <micros> micros/op <n> ops/sec ..."
        m = re.search(r"^\w+\s+:.*?(\d+) ops/sec", open(f).read(), re.M)
        if m: vals.append(int(m.group(1)))
    return statistics.median(vals) if vals else float("nan")
rows = [
  ("GET, 1 thread", "BM_Get/real_time/threads:1", "readrandom, 1 thread", rocks("readrandom_t1")),
  ("GET, 2 threads", "BM_Get/real_time/threads:2", "readrandom, 2 threads", rocks("readrandom_t2")),
  ("durable SET, 1 writer", "BM_DurableSet/real_time/threads:1", "fillrandom sync=1 t1", rocks("fillrandom_sync1_t1")),
  ("durable SET, 8 writers", "BM_DurableSet/real_time/threads:8", "fillrandom sync=1 t8", rocks("fillrandom_sync1_t8")),
  ("durable SET, 64 writers", "BM_DurableSet/real_time/threads:64", "fillrandom sync=1 t32", rocks("fillrandom_sync1_t32")),
  ("SET never, 1 thread", "BM_SetNever/real_time/threads:1", "fillrandom sync=0 t1", rocks("fillrandom_sync0_t1")),
  ("SET async, 1 thread", "BM_SetAsync/real_time/threads:1", "fillrandom sync=0 t1", rocks("fillrandom_sync0_t1")),
  ("SET async, 2 threads", "BM_SetAsync/real_time/threads:2", "fillrandom sync=0 t1", rocks("fillrandom_sync0_t1")),
]
print("| Synap | ops/s (median of 3) | RocksDB | ops/s (median of 3) | ratio |")
print("|---|---:|---|---:|---:|")
for name, key, peer, pv in rows:
    sv = synap.get(key + "_median", synap.get(key, float("nan")))
    print(f"| {name} | {sv:,.0f} | {peer} | {pv:,.0f} | {sv / pv:.1f}x |")
PY

#!/usr/bin/env bash
# synap-cli bench (the embedded engine through libsynap's C ABI) beside
# RocksDB's db_bench and fio's serial fdatasync rate, interleaved in one run
# on this machine, so that the peers see the same noise:
#   synap-cli bench kv set (always, 1/8/64 writers), kv get (1/2 threads, 1M keys),
#     queue publish (64 writers) and roundtrip (8), stream append (64 writers,
#     4 rooms), wal (64 writers): 100-byte values, 5 s each (wal: 200,000 records)
#   ../shared/peers/rocksdb_bench.sh 1 5 per round (fillrandom sync=1 t1/8/32,
#     readrandom t1/2 on 1M keys)
#   fio: one job, 4 KiB psync writes, fdatasync after each, 10 s (the disk's
#     serial durable-write rate: what one writer without batching could reach)
# Prints medians and ratios. Usage: bench/cli_vs_peers.sh [build-dir] [rounds]
# Needs db_bench and fio (../shared/peers/install.sh installs them).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-release}
ROUNDS=${2:-3}
OUT=${RESULTS:-/tmp/synap-cli-vs-peers}
PEERS=${PEERS:-$ROOT/../shared/peers}
CLI="$BUILD/tools/synap-cli/synap-cli"
DIR="$ROOT/data/bench/cli"
rm -rf "$OUT" && mkdir -p "$OUT" "$DIR"
trap 'rm -rf "$DIR" "$ROOT/data/bench/fio"' EXIT

# name | synap-cli bench arguments
RUNS=(
  "kv_set_t1|kv --fsync always --writers 1 --duration 5 --records 100000000"
  "kv_set_t8|kv --fsync always --writers 8 --duration 5 --records 100000000"
  "kv_set_t64|kv --fsync always --writers 64 --duration 5 --records 100000000"
  "kv_get_t1|kv --op get --fsync never --writers 1 --keys 1000000 --records 1000000 --duration 5"
  "kv_get_t2|kv --op get --fsync never --writers 2 --keys 1000000 --records 1000000 --duration 5"
  "queue_publish_t64|queue --op publish --fsync always --writers 64 --duration 5 --records 100000000"
  "queue_roundtrip_t8|queue --op roundtrip --fsync always --writers 8 --duration 5 --records 100000000"
  "stream_append_t64|stream --op append --fsync always --writers 64 --rooms 4 --duration 5 --records 100000000"
  "wal_t64|wal --fsync always --writers 64 --records 200000"
)

for round in $(seq 1 "$ROUNDS"); do
  for run in "${RUNS[@]}"; do
    name=${run%%|*}
    # shellcheck disable=SC2086  # the arguments are words
    "$CLI" bench ${run#*|} --value-size 100 --dir "$DIR/$name" --fresh --json --no-progress \
      > "$OUT/$name.$round.json"
    rm -rf "${DIR:?}/$name"
    echo "round $round $name: $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["ops_per_sec"]))' "$OUT/$name.$round.json") ops/s"
  done
  RESULTS="$OUT/r$round" bash "$PEERS/rocksdb_bench.sh" 1 5 > /dev/null
  mkdir -p "$ROOT/data/bench/fio"
  fio --name=sync --filename="$ROOT/data/bench/fio/f" --size=64M --rw=write --bs=4k --ioengine=psync \
    --fdatasync=1 --time_based --runtime=10 --output-format=json > "$OUT/fio.$round.json"
  rm -rf "$ROOT/data/bench/fio"
done

python3 - "$OUT" "$ROUNDS" <<'PY'
import glob, json, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def synap(name, field="ops_per_sec"):
    return statistics.median(json.load(open(f)).get(field, float("nan"))
                             for f in glob.glob(f"{out}/{name}.*.json"))
def rocks(test):
    vals = []
    for f in glob.glob(f"{out}/r*/rocksdb/{test}.*.txt"):
        m = re.search(r"^\w+\s+:.*?(\d+) ops/sec", open(f).read(), re.M)
        if m: vals.append(int(m.group(1)))
    return statistics.median(vals) if vals else float("nan")
fio = statistics.median(json.load(open(f))["jobs"][0]["write"]["iops"] for f in glob.glob(f"{out}/fio.*.json"))
rows = [
  ("kv set, always, 1 writer", "kv_set_t1", "fillrandom sync=1 t1", rocks("fillrandom_sync1_t1")),
  ("kv set, always, 8 writers", "kv_set_t8", "fillrandom sync=1 t8", rocks("fillrandom_sync1_t8")),
  ("kv set, always, 64 writers", "kv_set_t64", "fillrandom sync=1 t32", rocks("fillrandom_sync1_t32")),
  ("kv get, 1 thread", "kv_get_t1", "readrandom t1", rocks("readrandom_t1")),
  ("kv get, 2 threads", "kv_get_t2", "readrandom t2", rocks("readrandom_t2")),
  ("queue publish, always, 64 writers", "queue_publish_t64", "fillrandom sync=1 t32", rocks("fillrandom_sync1_t32")),
  ("queue roundtrip, always, 8 writers", "queue_roundtrip_t8", "fillrandom sync=1 t8", rocks("fillrandom_sync1_t8")),
  ("stream append, always, 64 writers", "stream_append_t64", "fillrandom sync=1 t32", rocks("fillrandom_sync1_t32")),
  ("wal append, always, 64 writers", "wal_t64", "fillrandom sync=1 t32", rocks("fillrandom_sync1_t32")),
]
print(f"medians of {rounds} rounds; fio serial 4 KiB write+fdatasync: {fio:,.0f} IOPS")
print("| synap-cli bench | ops/s | p50 µs | p99 µs | peer (db_bench) | ops/s | ratio |")
print("|---|---:|---:|---:|---|---:|---:|")
for label, name, peer, pv in rows:
    sv = synap(name)
    print(f"| {label} | {sv:,.0f} | {synap(name, 'p50_us'):,.1f} | {synap(name, 'p99_us'):,.1f} "
          f"| {peer} | {pv:,.0f} | {sv / pv:.2f}x |")
PY

#!/usr/bin/env bash
# Synap's stream appends and reads beside fio's sequential buffered write
# limit and Redis Streams XADD (appendfsync always and everysec), all in one
# run on this machine, with the peers run as ../shared/peers/ runs them:
#   fio: psync, 1 MiB blocks, 2 GiB, fsync at the end; fio's default
#        (fallocated file) and --fallocate=none (plain appends)
#   redis-benchmark -c 50 -P {1,16} XADD s '*' f <16 bytes>
#   bench/stream_vs_peers.sh [build-dir] [reps]
# Needs fio, redis-server and redis-benchmark (Debian fio, redis-server, redis-tools).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
REPS=${2:-3}
OUT=${RESULTS:-/tmp/synap-stream-vs-peers}
PORT=16381
rm -rf "$OUT" && mkdir -p "$OUT"
export SYNAP_BENCH_DIR=${SYNAP_BENCH_DIR:-$ROOT/data/bench}
FIODIR=$(mktemp -d "$ROOT/data/fio.XXXX")
trap 'rm -rf "$FIODIR"' EXIT

for rep in $(seq 1 "$REPS"); do
  # Interleaved: one rep of each peer and of Synap per round.
  fio --name=seq --filename="$FIODIR/f" --output-format=json --ioengine=psync --rw=write --bs=1m --size=2G \
    --end_fsync=1 > "$OUT/fio_fa.$rep.json"
  rm -f "$FIODIR/f"
  fio --name=seq --filename="$FIODIR/f" --output-format=json --ioengine=psync --rw=write --bs=1m --size=2G \
    --end_fsync=1 --fallocate=none > "$OUT/fio_nofa.$rep.json"
  rm -f "$FIODIR/f"
  for mode in always everysec; do
    dir=$(mktemp -d /tmp/redis-$mode.XXXX)
    redis-server --port $PORT --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync $mode \
      --save '' --auto-aof-rewrite-percentage 0 --daemonize no > "$OUT/redis-server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done
    V16=$(printf 'v%.0s' $(seq 1 16))
    for P in 1 16; do
      redis-benchmark -p $PORT -c 50 -n 200000 -P $P --csv XADD s '*' f "$V16" > "$OUT/xadd_${mode}_P$P.$rep.csv"
    done
    kill $pid; wait $pid 2>/dev/null || true
    rm -rf "$dir"
  done
  rm -rf "$SYNAP_BENCH_DIR"/stream-*
  "$BUILD/bench/synap_stream_bench" --benchmark_min_time=2 --benchmark_format=json > "$OUT/synap.$rep.json"
done
rm -rf "$SYNAP_BENCH_DIR"/stream-*

python3 - "$OUT" <<'PY'
import csv, glob, json, statistics, sys
out = sys.argv[1]
def med(v): return statistics.median(v)
fio = {k: med([json.load(open(f))["jobs"][0]["write"]["bw_bytes"] / 1e6 for f in glob.glob(f"{out}/fio_{k}.*.json")])
       for k in ("fa", "nofa")}
xadd = {}
for f in glob.glob(f"{out}/xadd_*.csv"):
    key = f.split("/")[-1].split(".")[0][5:]  # always_P1 ...
    xadd.setdefault(key, []).append(float(list(csv.reader(open(f)))[1][1]))
xadd = {k: med(v) for k, v in xadd.items()}
runs = {}
for f in glob.glob(f"{out}/synap.*.json"):
    for b in json.load(open(f))["benchmarks"]:
        runs.setdefault(b["name"], []).append(b)
def m(name, field): return med([b[field] for b in runs[name]])
print(f"fio seq buffered 1 MiB: {fio['fa']:,.0f} MB/s (fallocated, fio default), {fio['nofa']:,.0f} MB/s (--fallocate=none)")
print("Redis XADD 16 B -c 50: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in sorted(xadd.items())))
print()
print("| Synap benchmark | events/s | MB/s | vs fio (fallocated / none) | vs XADD always P1 / P16 |")
print("|---|---:|---:|---:|---:|")
for name in sorted(runs):
    ev = m(name, "items_per_second"); mb = m(name, "bytes_per_second") / 1e6
    ratio_fio = f"{mb / fio['fa']:.2f} / {mb / fio['nofa']:.2f}" if "Append" in name or "Read" in name else ""
    ratio_x = f"{ev / xadd['always_P1']:.1f}x / {ev / xadd['always_P16']:.1f}x"
    print(f"| {name} | {ev:,.0f} | {mb:,.0f} | {ratio_fio} | {ratio_x} |")
PY

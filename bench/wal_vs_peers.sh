#!/usr/bin/env bash
# One run, one machine: the disk's limits (fio), RocksDB's group commit
# (db_bench fillrandom sync=1) and Synap's WAL sweep, back to back, so the
# figures in docs/benchmarks.md sit beside peers measured minutes apart.
#
#   bench/wal_vs_peers.sh [REPS]        (default 3; ~40 minutes at 3)
#   SWEEP_ARGS="--fsync always" bench/wal_vs_peers.sh 3     (~16 minutes)
#
# Needs fio and rocksdb-tools (../shared/peers/install.sh, or apt-get install
# fio rocksdb-tools) and a release build (scripts/run.sh makes one).
# Results: $OUT (default /tmp/synap-bench): peers/ (the peer scripts' raw
# output), synap/ (one JSON per run), summary.md (all tables).
set -euo pipefail
REPS=${1:-3}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS=${PEERS:-$ROOT/../shared/peers}
OUT=${OUT:-/tmp/synap-bench}
CLI=${CLI:-$ROOT/build-release/tools/synap-cli/synap-cli}
mkdir -p "$OUT"
export RESULTS="$OUT/peers"

[[ -x "$CLI" ]] || { echo "no $CLI: build it first (scripts/run.sh or scripts/build.sh build-release -Dbuildtype=release)" >&2; exit 2; }
command -v fio >/dev/null || { echo "fio is missing: apt-get install fio" >&2; exit 2; }
command -v db_bench >/dev/null || { echo "db_bench is missing: apt-get install rocksdb-tools" >&2; exit 2; }

{
  echo "date: $(date -u +%FT%TZ)"
  echo "kernel: $(uname -r)"
  echo "cpus: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "memory: $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "disk: $(df -h /tmp | awk 'NR==2{print $1, $2}') $(findmnt -no FSTYPE,OPTIONS --target /tmp)"
  echo "synap: $(git -C "$ROOT" rev-parse --short HEAD)"
} | tee "$OUT/machine.txt"

# The disk: write+fdatasync at the sizes Synap's batches have, and sequential bandwidth.
FDSYNC_BS="4k 16k 64k 1m" FIO_ONLY=fdsync "$PEERS/fio_limits.sh" "$REPS"
FIO_ONLY=seq "$PEERS/fio_limits.sh" "$REPS"
# The direct mechanism's peer: 4 KiB O_DIRECT|O_DSYNC overwrites through io_uring
# at QD1 (the same job fio_limits.sh runs without FIO_ONLY).
for rep in $(seq 1 "$REPS"); do
  rm -f /tmp/peers/fio/fio.dat
  fio --name=odirect_dsync_4k_ow_qd1 --filename=/tmp/peers/fio/fio.dat --output-format=json --lat_percentiles=1 \
      --ioengine=io_uring --direct=1 --sync=dsync --rw=write --bs=4k --iodepth=1 --size=512M --overwrite=1 \
      --runtime=4 --time_based > "$RESULTS/fio/odirect_dsync_4k_ow_qd1.$rep.json"
  rm -f /tmp/peers/fio/fio.dat
done
# RocksDB's group commit: fillrandom sync=1 with 1/8/32 threads.
"$PEERS/rocksdb_bench.sh" "$REPS" 5
# Synap.
# SWEEP_ARGS narrows the grid, e.g. SWEEP_ARGS="--fsync always".
# shellcheck disable=SC2086
python3 "$ROOT/bench/wal_sweep.py" --cli "$CLI" --reps "$REPS" --out "$OUT" ${SWEEP_ARGS:-} > /dev/null

{
  cat "$OUT/machine.txt"
  python3 "$PEERS/summarize.py" fio
  python3 "$PEERS/summarize.py" rocksdb
  cat "$OUT/synap_summary.md"
} > "$OUT/summary.md"
echo "tables: $OUT/summary.md"

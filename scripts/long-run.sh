#!/usr/bin/env bash
# The long versions of the fault tests (docs/reliability.md, section 9), one
# after another, each logged, with a summary at the end.
#
#   scripts/long-run.sh [part...]     default: every part, in this order
#
#   sim        engine_sim_test over 100,000 seeds, wal_sim_crash_test 20,000
#   kill9      wal_kill9_test, 5,000 rounds per mechanism
#   powerloss  10,000 power-cut rounds + 50 control (needs /dev/fuse)
#   soak       an hour against synap-server, a kill -9 a minute
#   tsan       every ThreadSanitizer test, each gtest repeated 20 times
#   fuzz       10 M executions per fuzz target (ASan + UBSan, clang-14)
#
# How long, on a 2-vCPU VM: sim ~15 min, kill9 ~40 min, powerloss ~1.5 h,
# soak ~75 min, tsan ~30 min. Fuzzing at 10 M per target is the long pole.
# It runs a coverage-only build (SYNAP_FUZZ_SANITIZE=none), then replays
# what it kept under ASan + UBSan. At coverage-only rates (2 vCPUs)
# log_recovery takes ~45 min, server_config ~3 h; capi stays at ~90
# executions/s (each input opens an engine), ~30 h. LONG_FUZZ sets the
# budget instead: seconds per target (LONG_FUZZ=3600) or -runs=N.
#
# Environment: LONG_RUN_DIR (logs; default long-run-<date> under the
# repository), LONG_FUZZ (default -runs=10000000), LONG_SIM_SEEDS (engine
# simulation seeds, default 100000; the WAL simulation runs a fifth of it),
# LONG_SEED (the seed of the seeded parts; default: the date). Builds `build` as CI's build stage
# does; fuzz builds build-fuzz, tsan build-tsan.
# Exit status: 0 if every part passed, 1 otherwise.
# shellcheck disable=SC2317 # the part_* functions are called indirectly
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 2

PARTS=(sim kill9 powerloss soak tsan fuzz)
parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=("${PARTS[@]}")
for p in "${parts[@]}"; do
  [[ " ${PARTS[*]} " == *" $p "* ]] || { echo "long-run.sh: unknown part '$p' (parts: ${PARTS[*]})" >&2; exit 2; }
done

LOGS="${LONG_RUN_DIR:-$ROOT/long-run-$(date +%Y%m%d-%H%M%S)}"
SEED="${LONG_SEED:-$(date +%Y%m%d)}"
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
mkdir -p "$LOGS"

"$ROOT/scripts/install-deps.sh" || exit 1
"$ROOT/scripts/build.sh" build -Dbuildtype=debugoptimized -Dtests=true || exit 1

part_sim() {
  local seeds=${LONG_SIM_SEEDS:-100000}
  build/tests/engine_sim_test --seed=1 --seeds="$seeds" --gtest_filter=EngineSim.RandomSeeds &&
    SYNAP_SIM_SEEDS=$((seeds / 5)) build/tests/wal_sim_crash_test
}
part_kill9() { SYNAP_CRASH_ROUNDS=5000 build/tests/crash/wal_kill9_test; }
part_powerloss() {
  "$PY" tests/powerloss/powerloss_test.py --rounds 10000 --control-rounds 50 --seed "$SEED"
}
part_soak() {
  "$PY" tests/soak/soak.py --server build/tools/synap-server/synap-server --duration 3600 --kill-every 60 \
    --seed "$SEED"
}
part_tsan() { SYNAP_TSAN_REPEAT=20 scripts/tsan.sh; }
# Coverage only first (5-15x faster), then every input that run kept, and
# every crash, replayed under ASan + UBSan.
part_fuzz() {
  SYNAP_FUZZ_SANITIZE=none scripts/fuzz.sh "${LONG_FUZZ:--runs=10000000}" &&
    SYNAP_FUZZ_CORPUS_ROOT="$ROOT/build-fuzz-fast/fuzz-corpus" scripts/fuzz.sh -runs=0
}

declare -A status took
for p in "${parts[@]}"; do
  echo "== $p (log: $LOGS/$p.log)"
  t0=$SECONDS
  "part_$p" >"$LOGS/$p.log" 2>&1
  status[$p]=$?
  took[$p]=$((SECONDS - t0))
  tail -n 3 "$LOGS/$p.log" | sed 's/^/   /'
done

echo "== summary (seed $SEED, logs in $LOGS)"
failed=0
for p in "${parts[@]}"; do
  if [[ ${status[$p]} -eq 0 ]]; then verdict=passed; else verdict="FAILED (exit ${status[$p]})"; failed=1; fi
  printf '  %-10s %-20s %6d s\n' "$p" "$verdict" "${took[$p]}"
done
exit "$failed"

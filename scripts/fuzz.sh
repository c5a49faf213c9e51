#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh                  # 60 s per target (CI runs 20 s: scripts/test.sh asan)
#   scripts/fuzz.sh 3600             # the long run: an hour per target
#   scripts/fuzz.sh -runs=10000000   # a fixed number of executions per target
#   scripts/fuzz.sh 60 resp capi     # only these targets
#
# Configures build-fuzz (clang-14, ASan + UBSan, -Dfuzz=true) if missing,
# builds only the fuzz targets, then runs each on build-fuzz/fuzz-corpus/<name>
# (the seeds of tests/fuzz/corpus/<name> copied in; what the fuzzer adds
# stays there for the next run). A crash is saved as
# build-fuzz/crashes/<name>/crash-<sha1> (or leak-, timeout-, oom-); replay
# it with `build-fuzz/tests/fuzz/fuzz_<name> FILE`, then, once fixed, copy
# it to tests/fuzz/corpus/<name>/crash-<what> as a regression test.
# Prints per target: executions, exec/s, new corpus entries, crashes. Exits
# 1 if any target crashed.
#
# Needs clang-14 and libclang-rt-14-dev (Debian). Environment:
# SYNAP_FUZZ_SANITIZE (default address,undefined; `none` builds coverage
# only, in build-fuzz-fast: 5-15x more executions per second for the long
# runs, at the price of not seeing memory errors that do not crash; replay
# what such a run grew under the sanitizers afterwards:
# SYNAP_FUZZ_CORPUS_ROOT=build-fuzz-fast/fuzz-corpus scripts/fuzz.sh -runs=0),
# SYNAP_FUZZ_BUILD_DIR (default build-fuzz), SYNAP_FUZZ_CORPUS_ROOT (default
# <build>/fuzz-corpus: <root>/<name> per target), JOBS (ninja, default 2),
# FUZZ_FLAGS (more libFuzzer flags, e.g. -jobs=2), SYNAP_FUZZ_TMPDIR (the C
# ABI target's data directory; default /dev/shm).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sanitize=${SYNAP_FUZZ_SANITIZE:-address,undefined}
if [ "$sanitize" = none ]; then default_build=$root/build-fuzz-fast; else default_build=$root/build-fuzz; fi
build=${SYNAP_FUZZ_BUILD_DIR:-$default_build}
all_targets=(log_batch log_recovery snapshot resp server_config capi)

budget=${1:-60}
[ $# -gt 0 ] && shift
if [[ $budget =~ ^-runs=[0-9]+$ ]]; then
  limit=("$budget")
elif [[ $budget =~ ^[0-9]+$ ]]; then
  limit=("-max_total_time=$budget")
else
  echo "usage: $0 [SECONDS_PER_TARGET | -runs=N] [TARGET...]" >&2
  exit 2
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# The longest input worth trying, per target: log segments and snapshots
# are the biggest seeds; RESP, configs and C ABI programs stay small.
max_len() {
  case $1 in
    log_batch|log_recovery) echo 65536 ;;
    snapshot|server_config) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

for tool in clang-14 clang++-14 meson ninja; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
done
if [ ! -f "$build/build.ninja" ]; then
  CC=clang-14 CXX=clang++-14 meson setup "$build" "$root" -Dfuzz=true -Db_sanitize="$sanitize" \
    -Db_lundef=false -Dbenchmarks=false -Dbuildtype=debugoptimized
fi
ninja -C "$build" -j "${JOBS:-2}" "${targets[@]/#/tests/fuzz/fuzz_}"

# UBSan reports are findings: stop at the first, with a stack.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}

failed=0
summary=()
for t in "${targets[@]}"; do
  corpus=${SYNAP_FUZZ_CORPUS_ROOT:-$build/fuzz-corpus}/$t
  crashes=$build/crashes/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$corpus/" 2>/dev/null || true
  before=$(ls "$corpus" | wc -l)
  crashes_before=$(ls "$crashes" | wc -l)
  echo "== fuzz_$t (${limit[*]}, log $log)"
  status=0
  # shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
  "$build/tests/fuzz/fuzz_$t" "${limit[@]}" -timeout=30 -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
    -close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_FLAGS:-} "$corpus" \
    >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  added=$(( $(ls "$corpus" | wc -l) - before ))
  found=$(( $(ls "$crashes" | wc -l) - crashes_before ))
  if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    echo "   CRASH (exit $status): new files in $crashes; the report is in $log:"
    grep -m5 -E "ERROR: |runtime error|SUMMARY" "$log" | sed 's/^/   /' || true
    # The run closed the target's stderr: replay the input to show which
    # invariant (FUZZ_CHECK) failed.
    newest=$(ls -t "$crashes" | head -1)
    if [ -n "$newest" ]; then
      echo "   replaying $crashes/$newest:"
      timeout 120 "$build/tests/fuzz/fuzz_$t" "$crashes/$newest" 2>&1 |
        grep -m4 -E "FUZZ_CHECK|^  [^ ]|ERROR: |runtime error" | sed 's/^/   /' || true
    fi
  fi
  summary+=("$(printf '%-14s %12s %8s %8s %8s' "$t" "${execs:-?}" "${rate:-?}" "$added" "$found")")
done

printf '\n%-14s %12s %8s %8s %8s\n' target executions exec/s new crashes
printf '%s\n' "${summary[@]}"
exit $failed

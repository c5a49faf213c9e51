#!/usr/bin/env bash
# Install what is missing, build, and run every test suite. This is what CI
# runs (.ci/run); it must work from any cwd and in a fresh clone.
#
#   scripts/test.sh [stage...]     default: every stage in STAGES, in order
#
# Each stage is a function stage_<name> run in its own subshell with errexit.
# A failing stage does not stop later ones (except `deps`); the script exits
# non-zero if any stage failed. The last line printed is always
#   N passed, N failed
# summed over the test results of all stages. A stage that fails without a
# recorded test failure (e.g. a compile error) counts as one failure, so the
# line says "0 failed" only when everything passed.
# shellcheck disable=SC2317 # stage functions are called indirectly
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# ---------------------------------------------------------------------------
# Stages, in the order they run. To add one: write stage_<name> below, add
# <name> here, and, if it only applies once some directory exists, add it to
# STAGE_NEEDS (the stage is skipped while that path is missing).
STAGES=(deps build asan tsan soak python rust)
declare -A STAGE_NEEDS=(
  [python]=bindings/python
  [rust]=bindings/rust/Cargo.toml
)

NUM_PROCESSES="${SYNAP_TEST_PROCESSES:-2}"

RESULTS="$(mktemp -d)"
trap 'rm -rf "$RESULTS"' EXIT

# ---------------------------------------------------------------------------
# Helpers for stages.

# record_counts STAGE PASSED FAILED SKIPPED -- add to a stage's test counts.
record_counts() {
  echo "$2 $3 $4" >>"$RESULTS/$1.counts"
}

# Print "passed failed skipped" for a meson testlog.json (one JSON per line).
count_testlog() {
  python3 - "$1" <<'EOF'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        if not line.strip():
            continue
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, ...
            failed += 1
print(passed, failed, skipped)
EOF
}

# meson_tests STAGE BUILDDIR [meson test args...] -- run meson test and record
# its results for the final summary. Returns meson's exit status.
meson_tests() {
  local stage="$1" builddir="$2" rc=0 counts
  shift 2
  local log="$builddir/meson-logs/testlog.json"
  rm -f "$log" # never count a previous run
  meson test -C "$builddir" --print-errorlogs "$@" || rc=$?
  if [[ -f "$log" ]]; then
    counts=$(count_testlog "$log")
    # shellcheck disable=SC2086 # three numbers
    record_counts "$stage" $counts
  fi
  return "$rc"
}

# ---------------------------------------------------------------------------
# The stages.

# System packages (apt-get; quiet when nothing is missing).
stage_deps() {
  "$ROOT/scripts/install-deps.sh"
}

# Main build: every suite (unit, crash, ...), warnings are errors.
stage_build() {
  "$ROOT/scripts/build.sh" build \
    -Dbuildtype=debugoptimized -Dwerror=true -Dtests=true -Dbenchmarks=true
  meson_tests build build --num-processes "$NUM_PROCESSES"
}

# The executables of one suite's tests, as ninja targets of BUILDDIR (which
# must be configured): suite_targets BUILDDIR SUITE
suite_targets() {
  meson introspect "$1" --tests | python3 -c '
import json, os, sys
build, suite = os.path.realpath(sys.argv[1]), sys.argv[2]
for t in json.load(sys.stdin):
    exe = os.path.realpath(t["cmd"][0])
    if any(s.split(":")[-1] == suite for s in t["suite"]) and exe.startswith(build + "/"):
        print(os.path.relpath(exe, build))' "$1" "$2"
}

# AddressSanitizer + UndefinedBehaviorSanitizer build with clang-14, which
# also carries libFuzzer's coverage instrumentation (-Dfuzz=true), so one
# sanitizer build serves both: it builds only the unit suite's executables
# and the fuzz targets, runs the unit suite, then each fuzz target for
# SYNAP_FUZZ_SECONDS (20) from its corpus (scripts/fuzz.sh; a crash is saved
# under build-san/crashes/). Warnings are gated by the main build, so no
# werror. scripts/fuzz.sh 3600 is the long fuzzing run.
stage_asan() {
  local opts=(-Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false
              -Dtests=true -Dbenchmarks=false -Dwerror=false -Dfuzz=true)
  local fuzz=(tests/fuzz/fuzz_log_batch tests/fuzz/fuzz_log_recovery tests/fuzz/fuzz_snapshot
              tests/fuzz/fuzz_resp tests/fuzz/fuzz_server_config tests/fuzz/fuzz_capi)
  export CC=clang-14 CXX=clang++-14
  SYNAP_BUILD_TARGETS=build.ninja "$ROOT/scripts/build.sh" build-san "${opts[@]}"
  SYNAP_BUILD_TARGETS="$(suite_targets build-san unit | tr '\n' ' ') ${fuzz[*]}" \
    "$ROOT/scripts/build.sh" build-san "${opts[@]}"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  local rc=0
  meson_tests asan build-san --suite unit --no-rebuild --num-processes "$NUM_PROCESSES" || rc=$?
  SYNAP_FUZZ_BUILD_DIR="$ROOT/build-san" "$ROOT/scripts/fuzz.sh" "${SYNAP_FUZZ_SECONDS:-20}" || rc=$?
  return "$rc"
}

# ThreadSanitizer build (GCC), the bounded concurrency set (scripts/tsan.sh
# --ci): group commit, KV shards, queues, streams, pub/sub, synap-server's
# event loops. Only the executables those tests run are built.
stage_tsan() {
  local rc=0 log="$ROOT/build-tsan/meson-logs/tsan-testlog.json"
  SYNAP_TSAN_TIMEOUT=180 "$ROOT/scripts/tsan.sh" --ci || rc=$?
  # shellcheck disable=SC2046 # three numbers
  [[ -f $log ]] && record_counts tsan $(count_testlog "$log")
  return "$rc"
}

# A 60 s soak against synap-server (tests/soak/soak.py): a mixed workload
# at kv.maxmemory with a kill -9 and restart every 15 s; fails when RSS
# passes its bound or an acknowledged write is lost. --duration 3600 is
# the long run.
stage_soak() {
  local py=/usr/bin/python3
  [[ -x $py ]] || py=python3
  "$py" "$ROOT/tests/soak/soak.py" --server "$ROOT/build/tools/synap-server/synap-server" \
    --duration "${SYNAP_SOAK_SECONDS:-60}" --kill-every 15
}

# HOOK (python bindings): runs once bindings/python exists. Adjust to how the
# bindings find libsynap. Uses Debian's python3, where python3-pytest lives.
stage_python() {
  local py=/usr/bin/python3 xml="$RESULTS/python-junit.xml" rc=0 counts
  [[ -x $py ]] || py=python3
  export SYNAP_BUILD_DIR="$ROOT/build"
  "$py" -m pytest -q "$ROOT/bindings/python" --junitxml="$xml" || rc=$?
  if [[ -f $xml ]]; then
    counts=$(python3 - "$xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0)); s += int(su.get("skipped", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
print(t - f - s, f, s)
EOF
    )
    # shellcheck disable=SC2086
    record_counts python $counts
  fi
  return "$rc"
}

# Rust bindings (bindings/rust): the crates' unit and integration tests,
# linked against the main build's libsynap (synap-sys's build.rs reads
# SYNAP_BUILD_DIR). --offline: the crates have no dependencies to fetch.
stage_rust() {
  local out="$RESULTS/rust.out" rc=0 counts
  command -v cargo >/dev/null || { echo "cargo not found (scripts/install-deps.sh installs it)" >&2; return 1; }
  export SYNAP_BUILD_DIR="$ROOT/build"
  cargo test --offline --manifest-path "$ROOT/bindings/rust/Cargo.toml" 2>&1 | tee "$out" || rc=$?
  # "test result: ok. 3 passed; 0 failed; 1 ignored; ..."
  counts=$(awk '/^test result:/ {
             for (i = 1; i <= NF; i++) {
               if ($(i+1) ~ /^passed/) p += $i
               if ($(i+1) ~ /^failed/) f += $i
               if ($(i+1) ~ /^ignored/) s += $i
             }
           } END { print p + 0, f + 0, s + 0 }' "$out")
  # shellcheck disable=SC2086
  record_counts rust $counts
  return "$rc"
}

# ---------------------------------------------------------------------------
# Runner.

selected=("$@")
[[ ${#selected[@]} -gt 0 ]] || selected=("${STAGES[@]}")
for st in "${selected[@]}"; do
  if ! declare -F "stage_$st" >/dev/null; then
    echo "test: unknown stage '$st' (stages: ${STAGES[*]})" >&2
    exit 2
  fi
done

overall=0
abort=""
t0=$SECONDS
for st in "${selected[@]}"; do
  need="${STAGE_NEEDS[$st]:-}"
  if [[ -n "$abort" ]]; then
    echo "==> stage $st: skipped ($abort)"
    echo "$st skipped 0" >>"$RESULTS/stages"
    continue
  fi
  if [[ -n "$need" && ! -e "$ROOT/$need" ]]; then
    echo "==> stage $st: skipped ($need does not exist yet)"
    echo "$st skipped 0" >>"$RESULTS/stages"
    continue
  fi

  echo "==> stage $st"
  start=$SECONDS
  set +e
  (
    set -e
    "stage_$st"
  )
  rc=$?
  set -e
  secs=$((SECONDS - start))

  if [[ $rc -eq 0 ]]; then
    status=ok
  else
    status=FAILED
    overall=1
    failed_here=0
    if [[ -f "$RESULTS/$st.counts" ]]; then
      failed_here=$(awk '{ f += $2 } END { print f + 0 }' "$RESULTS/$st.counts")
    fi
    # Failed without a test failure to show for it: count the stage itself.
    [[ $failed_here -gt 0 ]] || record_counts "$st" 0 1 0
    [[ $st != deps ]] || abort="dependencies are missing"
  fi
  echo "==> stage $st: $status in ${secs}s (exit $rc)"
  echo "$st $status $secs" >>"$RESULTS/stages"
done

echo
echo "==> summary ($((SECONDS - t0))s)"
total_p=0
total_f=0
while read -r st status secs; do
  p=0 f=0 s=0
  if [[ -f "$RESULTS/$st.counts" ]]; then
    read -r p f s < <(awk '{ p += $1; f += $2; s += $3 } END { print p + 0, f + 0, s + 0 }' \
      "$RESULTS/$st.counts")
  fi
  total_p=$((total_p + p))
  total_f=$((total_f + f))
  printf '  %-8s %-8s %5ss  %s passed, %s failed, %s skipped\n' \
    "$st" "$status" "$secs" "$p" "$f" "$s"
done <"$RESULTS/stages"
echo "$total_p passed, $total_f failed"
exit "$overall"

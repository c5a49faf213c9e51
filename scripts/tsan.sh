#!/usr/bin/env bash
# ThreadSanitizer build running Synap's concurrency tests: group commit, the
# KV shards, queues, streams, pub/sub and synap-server's event loops.
#
#   scripts/tsan.sh [--ci] [test...]
#
#   (no test)  every test in TESTS below
#   --ci       the bounded set for CI (CI_TESTS below: ~1.5 min of tests)
#   test...    only these (names from TESTS, e.g. `wal_test server_test`)
#
# It configures build-tsan (GCC 12 by default; CC=clang-14 CXX=clang++-14
# before the first configure selects clang), builds ONLY the executables the
# chosen tests run (found with `meson introspect --tests`), and runs each test
# directly with
#   TSAN_OPTIONS=halt_on_error=1:second_deadlock_stop=1:suppressions=tests/tsan.supp:log_path=...
# Every TSan report (data race, lock-order inversion, TSan CHECK failure) goes
# to a file under build-tsan/tsan-logs and fails the test that produced it,
# also when it came from a synap-server child of a Python test; the reports
# are printed at the end.
#
# Environment:
#   SYNAP_TSAN_BUILD_DIR  build directory (default: build-tsan, from the root)
#   SYNAP_TSAN_JOBS       ninja -j (default 2: the CI machines have 2 cores)
#   SYNAP_TSAN_REPEAT     --gtest_repeat for the gtest executables (default 1);
#                         more repeats try more interleavings (the long run)
#   SYNAP_TSAN_TIMEOUT    seconds per test before it counts as failed (600)
#
# Output: one line per test, the reports, and last "N passed, N failed".
# Results are also written one JSON object per line (meson's testlog shape:
# name, result, duration) to <builddir>/meson-logs/tsan-testlog.json, so
# scripts/test.sh can count them with count_testlog. Exit 0 only if every
# test passed without a report.
#
# io_uring: TSan sees only user-space synchronisation. Each of Synap's rings
# is used by one thread: the WAL's ring is SINGLE_ISSUER (the committer both
# submits and reaps); a server event loop's ring is set up on the main thread
# and then used only by that loop's thread (handed over by thread creation,
# which TSan sees). So a completion never carries data from one user thread to
# another through the kernel. The cross-thread wake-ups that go through a
# ring (an eventfd read by an io_uring read: the committer's wake, a server
# loop's mailbox and pub/sub wake) are never relied on for memory ordering:
# the data behind them is handed over under a mutex (Wal, Mailbox, the
# subscriptions) or through an atomic (work epoch, acked LSN), which TSan
# does see. A missing edge can only make TSan report a race that is not
# there; none was reported. So the tests run on the real io_uring backend
# (what production uses; wal_test and io_kernel_test also run the sync
# backend). What TSan cannot see: the kernel reading a write buffer while a
# user thread changes it (docs/reliability.md, "ThreadSanitizer").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD="${SYNAP_TSAN_BUILD_DIR:-build-tsan}"
JOBS="${SYNAP_TSAN_JOBS:-2}"
REPEAT="${SYNAP_TSAN_REPEAT:-1}"
TIMEOUT="${SYNAP_TSAN_TIMEOUT:-600}"
SUPP="$ROOT/tests/tsan.supp"

# The tests, as "meson-test-name[:gtest-filter]". A gtest filter splits one
# executable into two runs where some of its cases cannot run with TSan's
# deadlock detector (see NO_DEADLOCK_DETECTOR).
FLUSHALL_CASES='KvTest.FlushAllOnlyWhenAllowed:EvictionTest.AllKeysPoliciesStayUnderTheLimit:EvictionTest.VolatilePoliciesEvictOnlyKeysWithAnExpiry'
TESTS=(
  io_kernel_test                # io_uring and sync backends: wake() from another thread, one submitter
  io_sim_test                   # the simulated backend's wait and wake across threads
  wal_test                      # group commit: many appending threads, io_uring and sync, shared committer
  "kv_test:-$FLUSHALL_CASES"    # KV shards, expiry sweeper, eviction
  "kv_test:$FLUSHALL_CASES"     # the cases that lock every shard (FLUSHALL)
  db_test                       # snapshots taken while writers run
  queue_test                    # queues: blocking consume, a snapshot while producers and consumers run
  pubsub_test                   # pub/sub fan-out and overflow policies
  stream_test                   # streams, consumer groups, blocking reads
  stream_maintenance_test       # compaction and retention while readers and writers run
  stream_trim_test              # trimming while a writer and a reader run
  queue_abi_test                # the queue C ABI
  queue_async_abi_test          # tickets, notify_ready/notify_cancel from other threads
  pubsub_abi_test               # pub/sub delivered to C callbacks
  stream_abi_test               # streams and partitioned topics through the C ABI
  capi_bad_input_test           # every C function with bad input, on a live handle (FLUSHALL: see below)
  server_test                   # synap-server: 2 event loops, KV, pub/sub, streams, SIGTERM
  server_queue_test             # synap-server: queues, QCONSUME BLOCK woken from another connection
  server_stream_group_test      # synap-server: consumer groups, XREADGROUP BLOCK woken by another XADD
  server_stream_admin_test      # synap-server: stream administration
  server_config_test            # synap-server: configuration (FLUSHALL: see below)
)
# The bounded set for CI: every area once, without the slowest runs
# (stream_abi_test, stream_maintenance_test, server_stream_group_test: 15 to
# 35 s each on an idle 2-core machine) and the ones that add little
# concurrency (io_sim_test, capi_bad_input_test, the stream admin and config
# server tests).
CI_TESTS=(
  io_kernel_test wal_test "kv_test:-$FLUSHALL_CASES" "kv_test:$FLUSHALL_CASES" db_test
  queue_test pubsub_test stream_test stream_trim_test queue_abi_test queue_async_abi_test
  pubsub_abi_test server_test server_queue_test
)

# TSan's deadlock detector tracks at most 64 mutexes held by one thread (a
# CHECK failure, not a report, beyond that). FLUSHALL holds every KV shard's
# lock (kv.shards = 64) plus the WAL's: 65. These runs keep race detection and
# turn off only lock-order checking; every other run has it.
NO_DEADLOCK_DETECTOR=("kv_test:$FLUSHALL_CASES" capi_bad_input_test server_config_test)

ci=false
selected=()
for a in "$@"; do
  case "$a" in
    --ci) ci=true ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "tsan: unknown option $a" >&2; exit 2 ;;
    *) selected+=("$a") ;;
  esac
done
if [[ ${#selected[@]} -eq 0 ]]; then
  if $ci; then selected=("${CI_TESTS[@]}"); else selected=("${TESTS[@]}"); fi
else
  for s in "${selected[@]}"; do
    found=false
    for t in "${TESTS[@]}"; do [[ $t == "$s" || ${t%%:*} == "$s" ]] && found=true; done
    $found || { echo "tsan: unknown test '$s' (tests: ${TESTS[*]%%:*})" >&2; exit 2; }
  done
  # A bare name selects every run of that executable.
  expanded=()
  for s in "${selected[@]}"; do
    for t in "${TESTS[@]}"; do [[ $t == "$s" || ${t%%:*} == "$s" ]] && expanded+=("$t"); done
  done
  selected=("${expanded[@]}")
fi

# ---------------------------------------------------------------------------
# Configure, then build only what the selected tests run.

# A build that fails must not leave the last run's results to be counted.
rm -f "$BUILD/meson-logs/tsan-testlog.json"
opts=(-Dbuildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false
      -Dtests=true -Dbenchmarks=false -Dwerror=false)
SYNAP_BUILD_TARGETS=build.ninja "$ROOT/scripts/build.sh" "$BUILD" "${opts[@]}"
BUILD_ABS="$(cd "$BUILD" && pwd)"

# Prints, for each selected meson test name, one line: name TAB json(cmd).
INTRO="$(mktemp)"
trap 'rm -f "$INTRO"' EXIT
meson introspect "$BUILD" --tests >"$INTRO"
names=()
for t in "${selected[@]}"; do names+=("${t%%:*}"); done
# The ninja targets: every path inside the build dir named by a test's
# command line (the gtest/C executable, or synap-server for the Python tests).
mapfile -t targets < <(python3 - "$INTRO" "$BUILD_ABS" "${names[@]}" <<'EOF'
import json, os, sys
tests = {t["name"]: t for t in json.load(open(sys.argv[1]))}
build = os.path.realpath(sys.argv[2])
out = set()
for name in sys.argv[3:]:
    if name not in tests:
        sys.exit(f"tsan: meson knows no test named {name}")
    for arg in tests[name]["cmd"]:
        p = os.path.realpath(arg)
        if p.startswith(build + "/"):
            out.add(os.path.relpath(p, build))
print("\n".join(sorted(out)))
EOF
)
echo "==> tsan: building ${targets[*]}"
ninja -C "$BUILD" -j "$JOBS" "${targets[@]}"

# ---------------------------------------------------------------------------
# Run.

LOGS="$BUILD_ABS/tsan-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS" "$BUILD_ABS/tsan-tmp" "$BUILD_ABS/meson-logs"
TESTLOG="$BUILD_ABS/meson-logs/tsan-testlog.json"
: >"$TESTLOG"
export SYNAP_TEST_TMPDIR="$BUILD_ABS/tsan-tmp"
base_opts="halt_on_error=1:second_deadlock_stop=1:suppressions=$SUPP:log_path=$LOGS/report"

# The command of one meson test, NUL-separated.
test_cmd() {
  python3 - "$INTRO" "$1" <<'EOF'
import json, sys
t = {t["name"]: t for t in json.load(open(sys.argv[1]))}[sys.argv[2]]
sys.stdout.write("\0".join(t["cmd"]) + "\0")
EOF
}

passed=0
failed=0
reports=()
t_all=$SECONDS
for t in "${selected[@]}"; do
  name="${t%%:*}"
  filter=""
  [[ $t == *:* ]] && filter="${t#*:}"
  mapfile -d '' -t cmd < <(test_cmd "$name")
  label="$name"
  tsan_opts="$base_opts"
  for n in "${NO_DEADLOCK_DETECTOR[@]}"; do
    [[ $n == "$t" ]] && tsan_opts+=":detect_deadlocks=0"
  done
  if [[ -n $filter ]]; then
    cmd+=("--gtest_filter=$filter")
    [[ $filter == -* ]] && label+=" (without FLUSHALL cases)" || label+=" (FLUSHALL cases)"
  fi
  # gtest executables only: the C and Python tests take no such flag.
  if [[ $REPEAT -gt 1 && ${cmd[0]} == "$BUILD_ABS/tests/"*_test && ${cmd[0]} != */capi/* ]]; then
    cmd+=("--gtest_repeat=$REPEAT")
  fi
  log="$LOGS/${name}${filter:+.$([[ $filter == -* ]] && echo rest || echo flushall)}.log"
  start=$SECONDS
  rc=0
  TSAN_OPTIONS="$tsan_opts" timeout "$TIMEOUT" "${cmd[@]}" >"$log" 2>&1 || rc=$?
  secs=$((SECONDS - start))
  # Reports from this test (and from any server it started).
  found=()
  for f in "$LOGS"/report.*; do
    [[ -e $f ]] || continue
    dest="$LOGS/${name}.tsan.${f##*.}"
    mv "$f" "$dest"
    found+=("$dest")
    reports+=("$dest")
  done
  if [[ $rc -eq 0 && ${#found[@]} -eq 0 ]]; then
    result=OK
    passed=$((passed + 1))
  else
    [[ $rc -eq 124 ]] && result=TIMEOUT || result=FAIL
    failed=$((failed + 1))
  fi
  printf '%-4s %-50s %4ss  (exit %s, %s TSan report file(s))\n' \
    "$([[ $result == OK ]] && echo ok || echo FAIL)" "$label" "$secs" "$rc" "${#found[@]}"
  if [[ $result != OK ]]; then
    echo "---- last lines of $log"
    tail -n 25 "$log" | sed 's/^/    /'
  fi
  python3 -c 'import json, sys; print(json.dumps({"name": sys.argv[1], "result": sys.argv[2], "duration": int(sys.argv[3])}))' \
    "tsan: $label" "$result" "$secs" >>"$TESTLOG"
done

if [[ ${#reports[@]} -gt 0 ]]; then
  echo
  echo "==> tsan: reports (also in $LOGS)"
  for f in "${reports[@]}"; do
    echo "---- $f"
    cat "$f"
  done
fi
echo
echo "==> tsan: ${#selected[@]} runs in $((SECONDS - t_all))s; logs in $LOGS"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

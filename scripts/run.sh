#!/usr/bin/env bash
# Install what is missing, build a release binary, and run the main job on the
# embedded default data directory ($ROOT/data, ignored by git).
#
#   scripts/run.sh [args for the main job...]
#
# The main job is the WAL demo until the server exists:
#   synap-cli bench wal --dir data/wal --fsync always --writers 64 \
#     --records 200000 --value-size 100
# On the default directory it passes --fresh: each run replaces the previous
# run's log. Extra args are forwarded; a flag given here replaces its default
# (e.g. `scripts/run.sh --writers 8 --json`). Only the job writes to stdout;
# install/build output and this script's messages go to stderr, so
# `scripts/run.sh --json > result.json` keeps the JSON clean.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# No cd: a relative --dir given by the user is relative to the caller's cwd.

BUILDDIR=build-release
CLI="$ROOT/$BUILDDIR/tools/synap-cli/synap-cli"

"$ROOT/scripts/install-deps.sh" >&2
# Only the tools are needed here; tests and benchmarks build in scripts/test.sh.
"$ROOT/scripts/build.sh" "$BUILDDIR" -Dbuildtype=release -Dtests=false -Dbenchmarks=false >&2

# Defaults of the main job, as flag/value pairs, in order.
DEFAULTS=(
  --dir        "$ROOT/data/wal"
  --fsync      always
  --writers    64
  --records    200000
  --value-size 100
)

# Keep a default unless the user passed the same flag (`--flag v` or `--flag=v`).
user_has() {
  local flag="$1" a
  shift
  for a in "$@"; do
    [[ "$a" == "$flag" || "$a" == "$flag="* ]] && return 0
  done
  return 1
}

job_args=(bench wal)
data_dir=""
for ((i = 0; i < ${#DEFAULTS[@]}; i += 2)); do
  flag="${DEFAULTS[i]}" value="${DEFAULTS[i + 1]}"
  if ! user_has "$flag" "$@"; then
    job_args+=("$flag" "$value")
    [[ "$flag" == --dir ]] && data_dir="$value"
  fi
done
# The demo writes a fresh log each run: the previous run's segments in the
# default directory are replaced (bench wal refuses an existing log otherwise).
user_has --fresh "$@" || [[ "$data_dir" != "$ROOT/data/wal" ]] || job_args+=(--fresh)
job_args+=("$@")

# Where the data goes (the user's --dir if given).
if [[ -z "$data_dir" ]]; then
  prev=""
  for a in "$@"; do
    if [[ "$prev" == --dir ]]; then data_dir="$a"; fi
    if [[ "$a" == --dir=* ]]; then data_dir="${a#--dir=}"; fi
    prev="$a"
  done
fi
[[ -z "$data_dir" ]] || mkdir -p "$data_dir"

if [[ ! -x "$CLI" ]]; then
  echo "run: $CLI was not built (tools/synap-cli is not in the build yet?)" >&2
  exit 1
fi

echo "run: synap-cli ${job_args[*]}" >&2
rc=0
"$CLI" "${job_args[@]}" || rc=$?

[[ -z "$data_dir" ]] || echo "run: data directory: $(cd "$data_dir" && pwd)" >&2
exit "$rc"

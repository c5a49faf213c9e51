#!/usr/bin/env bash
# Install what is missing, build a release binary, and run the main job on the
# embedded default data directory ($ROOT/data, ignored by git).
#
#   scripts/run.sh [synap-server flags...]
#
# The main job is synap-server, the Redis-protocol server, in the foreground:
#   synap-server --dir data/server --port 6379 --fsync always
# A flag given here replaces its default (e.g. `scripts/run.sh --port 7000
# --fsync periodic`); with `--config FILE` none of the defaults is passed, so
# the file's settings hold (docs/synap-server.toml). Connect with `redis-cli -p 6379`; Ctrl-C (SIGINT) stops
# it cleanly. Install/build output and this script's messages go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# No cd: a relative --dir given by the user is relative to the caller's cwd.

BUILDDIR=build-release
SERVER="$ROOT/$BUILDDIR/tools/synap-server/synap-server"

"$ROOT/scripts/install-deps.sh" >&2
# Only the tools are needed here; tests and benchmarks build in scripts/test.sh.
"$ROOT/scripts/build.sh" "$BUILDDIR" -Dbuildtype=release -Dtests=false -Dbenchmarks=false >&2

# Defaults of the main job, as flag/value pairs, in order.
DEFAULTS=(
  --dir   "$ROOT/data/server"
  --port  6379
  --fsync always
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

args=()
port=6379
# With --config the file decides: a default flag here would override it.
if ! user_has --config "$@"; then
  for ((i = 0; i < ${#DEFAULTS[@]}; i += 2)); do
    flag="${DEFAULTS[i]}" value="${DEFAULTS[i + 1]}"
    user_has "$flag" "$@" || args+=("$flag" "$value")
  done
fi
args+=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ "${args[i]}" == --port ]] && port="${args[i + 1]:-$port}"
  [[ "${args[i]}" == --port=* ]] && port="${args[i]#--port=}"
done

if [[ ! -x "$SERVER" ]]; then
  echo "run: $SERVER was not built" >&2
  exit 1
fi
echo "run: synap-server ${args[*]}" >&2
echo "run: connect with: redis-cli -p $port   (Ctrl-C here stops the server)" >&2
exec "$SERVER" "${args[@]}"

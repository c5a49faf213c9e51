#!/usr/bin/env bash
# Configure (or reconfigure) and build Synap.
#
#   scripts/build.sh [builddir] [extra meson args...]
#
# builddir defaults to `build` (relative paths are taken from the repository
# root). Dependencies come from the system only (--wrap-mode=nofallback); run
# scripts/install-deps.sh first. With CI=true warnings are errors.
# SYNAP_BUILD_TARGETS (space-separated ninja targets) builds only those.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

builddir="${1:-build}"
if [[ $# -gt 0 ]]; then shift; fi
args=(--wrap-mode=nofallback "$@")

if [[ "${CI:-}" == "true" ]]; then
  werror_given=false
  for a in "$@"; do
    case "$a" in -Dwerror=*|--werror) werror_given=true ;; esac
  done
  if [[ $werror_given == false ]]; then args+=(-Dwerror=true); fi
fi

if [[ -f "$builddir/meson-private/coredata.dat" ]]; then
  if ! meson setup --reconfigure "${args[@]}" "$builddir"; then
    echo "build: reconfiguring $builddir failed; if it is stale (e.g. made by" \
         "another meson version), delete it or run: meson setup --wipe $builddir" >&2
    exit 1
  fi
else
  meson setup "${args[@]}" "$builddir"
fi

# shellcheck disable=SC2086  # a list of targets
ninja -C "$builddir" ${SYNAP_BUILD_TARGETS:-}

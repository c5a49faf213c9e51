#!/usr/bin/env bash
# libsynap exports only synap_* symbols, each under a SYNAP_* version node,
# and its SONAME is libsynap.so.1.
set -euo pipefail
lib="$1"
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^synap_' | grep -v '^SYNAP_' || true)
if [[ -n "$bad" ]]; then
  echo "exported symbols outside synap_*:"; echo "$bad"; exit 1
fi
unversioned=$(objdump -T "$lib" | awk '/ synap_/ && $(NF-1) !~ /^SYNAP_/' || true)
if [[ -n "$unversioned" ]]; then
  echo "synap_* symbols without a SYNAP_* version:"; echo "$unversioned"; exit 1
fi
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[[ "$soname" == "libsynap.so.1" ]] || { echo "SONAME is '$soname', expected libsynap.so.1"; exit 1; }
count=$(nm -D --defined-only "$lib" | grep -c ' synap_')
echo "ok: $count synap_* symbols, all versioned; SONAME $soname"

#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR, then compiles docs/examples/version.c
# and docs/examples/kv.c against the *installed* header and library through
# pkg-config, as a user would, and runs them (kv on a fresh data directory).
set -euo pipefail
build="$1" src="$2"
# A sanitizer build's library needs the sanitizer runtime loaded first: a
# plain user program cannot load it, so there is nothing to learn here.
if ldd "$build/capi/libsynap.so.1" | grep -q 'libasan\|libubsan'; then
  echo "skipped: sanitizer build"; exit 77
fi
dest="$build/tmp/install-check"
rm -rf "$dest"
meson install -C "$build" --destdir "$dest" --quiet >/dev/null
pc=$(find "$dest" -name synap.pc -print -quit)
[[ -n "$pc" ]] || { echo "synap.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs synap)
for example in version kv; do
  cc -std=c99 -Wall -Wextra -Werror "$src/docs/examples/$example.c" $flags -o "$dest/$example"
done
# The .pc file lives in <libdir>/pkgconfig.
libdir="$(dirname "$(dirname "$pc")")"
LD_LIBRARY_PATH="$libdir" "$dest/version"
LD_LIBRARY_PATH="$libdir" "$dest/kv" "$dest/kv-data"
echo "ok: compiled with: pkg-config --cflags --libs synap -> $flags"

#!/usr/bin/env bash
# Install the Debian 12 packages Synap needs to build and test, and only the
# ones that are missing. Idempotent; prints nothing when everything is present.
# Runs apt-get through sudo when not root.
set -euo pipefail

# The one list of system packages. Keep it commented by what needs each.
PACKAGES=(
  # toolchain and build system
  build-essential     # make, libc headers, dpkg-dev
  g++                 # C++20 compiler (GCC 12 on Debian 12)
  meson               # build system (meson.build)
  ninja-build         # meson backend
  pkg-config          # meson dependency() lookups
  # engine libraries
  liburing-dev        # engine/io: io_uring backend
  libxxhash-dev       # engine/log: record checksums
  liblz4-dev          # engine/log: block compression (lz4)
  libzstd-dev         # engine/log: block compression (zstd)
  # tools
  libcli11-dev        # tools/synap-cli: command-line parsing
  # tests and benchmarks
  libgtest-dev        # tests/unit: GoogleTest
  libgmock-dev        # tests/unit: GoogleMock
  libbenchmark-dev    # bench/: Google Benchmark
  strace              # tests/crash: syscall tracing / fault points
  python3             # scripts/test.sh result parsing; python bindings
  python3-pytest      # python bindings tests
  redis-tools         # tests/server: redis-cli and redis-benchmark drive synap-server
  python3-redis       # tests/server: redis-py drives synap-server
  fuse3               # tests/powerloss: fusermount3, to mount powerloss_fs (the test skips without it)
  libfuse3-dev        # tests/powerloss: libfuse3 to build powerloss_fs (not built without it)
  clang-14            # scripts/fuzz.sh: libFuzzer targets (tests/fuzz) are built with clang
  libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer and the sanitizer runtimes for clang
)

# Rust bindings (bindings/rust): any cargo on PATH will do (e.g. rustup's).
# Only when there is none, Debian's cargo and rustc (1.63) are installed; the
# crates have no crates.io dependencies and build with them offline.
if ! command -v cargo >/dev/null 2>&1; then
  PACKAGES+=(
    cargo             # bindings/rust: build and test the crates
    rustc             # bindings/rust: the compiler cargo drives
  )
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "install-deps: dpkg-query not found; this script supports Debian 12 only." >&2
  echo "install-deps: needed packages: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: not root and sudo is not available; install them as root." >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
# sudo resets the environment, so pass DEBIAN_FRONTEND through env(1).
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env python3
"""Sweep `synap-cli bench wal` over fsync modes x writers x value sizes x
(backend, mechanism), several repetitions interleaved (the outer loop is the
repetition, so a noisy minute does not hit one configuration only), and print
median (min-max) tables in Markdown.

Usage:
  bench/wal_sweep.py --cli build-release/tools/synap-cli/synap-cli \
      [--reps 3] [--out /tmp/synap-bench] [--dir /tmp/synap-bench/wal] [--quick]
  bench/wal_sweep.py --summarize-only --out /tmp/synap-bench

Each run's JSON is kept in OUT/synap/<config>.<rep>.json; the tables go to
stdout and OUT/synap_summary.md. Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

FSYNC = ["always", "periodic", "never"]
WRITERS = [1, 8, 64, 256]
SIZES = [100, 1024, 16384]
# (backend, mechanism): the io_uring backend with both durability mechanisms,
# and the pwritev+fdatasync fallback backend.
CONFIGS = [("io_uring", "buffered"), ("io_uring", "direct"), ("sync", "buffered")]


def records_for(fsync, writers, size, quick):
    """Enough appends for roughly 1-3 s per run on this 2-vCPU VM."""
    if fsync == "always":
        n = {1: 5000, 8: 20000, 64: 100000, 256: 150000}[writers]
    else:
        n = 400000
    n = min(n, max(2000, (1 << 30) // max(size, 1) // 2))  # at most ~512 MiB of payload
    if size >= 16384:
        n = min(n, 30000 if fsync != "always" else n // 4)
    return max(n // 4, 500) if quick else n


def name_of(fsync, writers, size, backend, mech):
    return f"{fsync}_w{writers}_v{size}_{backend}_{mech}"


def run_one(cli, d, fsync, writers, size, backend, mech, records):
    cmd = [cli, "bench", "wal", "--fsync", fsync, "--writers", str(writers), "--records", str(records),
           "--value-size", str(size), "--backend", backend, "--mechanism", mech, "--dir", d, "--fresh",
           "--json", "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        print(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stderr}", file=sys.stderr)
        return None
    return json.loads(p.stdout)


def sweep(args):
    outdir = os.path.join(args.out, "synap")
    os.makedirs(outdir, exist_ok=True)
    grid = [(f, w, s, b, m) for f in FSYNC for w in WRITERS for s in SIZES for (b, m) in CONFIGS]
    if args.quick:
        grid = [g for g in grid if g[1] in (1, 64) and g[2] in (100, 16384)]
    if args.fsync:
        grid = [g for g in grid if g[0] in args.fsync.split(",")]
    for rep in range(1, args.reps + 1):
        for i, (f, w, s, b, m) in enumerate(grid):
            n = records_for(f, w, s, args.quick)
            r = run_one(args.cli, args.dir, f, w, s, b, m, n)
            if r is None:
                continue
            with open(os.path.join(outdir, f"{name_of(f, w, s, b, m)}.{rep}.json"), "w") as fh:
                json.dump(r, fh)
            print(f"rep {rep} [{i + 1}/{len(grid)}] {name_of(f, w, s, b, m)}: {r['ops_per_sec']:,.0f} ops/s "
                  f"p50 {r['p50_us']:.0f} us p99 {r['p99_us']:.0f} us", file=sys.stderr, flush=True)


def cell(vals, fmt="{:,.0f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    m = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(m)
    return f"{fmt.format(m)} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def summarize(args):
    outdir = os.path.join(args.out, "synap")
    runs = defaultdict(list)
    for fn in sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []:
        if fn.endswith(".json"):
            with open(os.path.join(outdir, fn)) as fh:
                runs[fn.rsplit(".", 2)[0]].append(json.load(fh))
    lines = []
    for f in FSYNC:
        lines.append(f"\n#### fsync={f}\n")
        lines.append("| writers | value | backend / mechanism | ops/s | p50 µs | p99 µs | MB/s | records/batch |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for w in WRITERS:
            for s in SIZES:
                for (b, m) in CONFIGS:
                    rs = runs.get(name_of(f, w, s, b, m))
                    if not rs:
                        continue
                    mech = rs[0].get("mechanism", m)
                    lines.append(
                        f"| {w} | {s} B | {b} / {mech} | {cell([r['ops_per_sec'] for r in rs])} | "
                        f"{cell([r['p50_us'] for r in rs])} | {cell([r['p99_us'] for r in rs])} | "
                        f"{cell([r['mb_per_sec'] for r in rs], '{:,.1f}')} | "
                        f"{cell([r['avg_records_per_batch'] for r in rs], '{:,.1f}')} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "synap_summary.md"), "w") as fh:
        fh.write(text)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default="build-release/tools/synap-cli/synap-cli")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default="/tmp/synap-bench")
    ap.add_argument("--dir", default=None, help="log directory (default OUT/wal)")
    ap.add_argument("--quick", action="store_true", help="a small grid with fewer records")
    ap.add_argument("--fsync", default="", help="comma-separated fsync modes to sweep (default: all)")
    ap.add_argument("--summarize-only", action="store_true")
    args = ap.parse_args()
    args.dir = args.dir or os.path.join(args.out, "wal")
    if not args.summarize_only:
        sweep(args)
    summarize(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A linker symbol-ordering file from a PGO profile: every function that ran in training,
most-run first, one mangled name per line.

  llvm-profdata show --all-functions --counts merged.profdata | scripts/pgo_order.py > order.txt

scripts/build-static.sh links the trained binary with it (`rust-lld --symbol-ordering-file`),
so the code that runs sits together at the start of `.text`. The kernel maps code in 64 KiB
windows around each page fault (fault-around), so what a process keeps resident is the number
of windows its code touches, not the bytes it runs: LLVM alone leaves the functions that ran but
carry a `#[cold]` (Vec growth, hashbrown rehash, bytes' shared release) among the never-run code
in `.text.unlikely`, and those ~0.6 MB kept ~2 MB of it resident (BENCHMARKS.md, "Idle memory").
"""
import sys


def main():
    counts = {}
    name = None
    for line in sys.stdin:
        # "  [file;]symbol:" opens a function; its "Block counts: [..]" follow.
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            name = line.strip()[:-1].split(";")[-1]
        elif name and "Block counts:" in line:
            values = line.split(":", 1)[1].strip().strip("[]")
            ran = max((int(v) for v in values.split(",") if v.strip()), default=0)
            if ran > 0:
                counts[name] = max(counts.get(name, 0), ran)
            name = None
    if not counts:
        sys.exit("pgo_order.py: no function ran in the profile (was the training run empty?)")
    try:
        for n in sorted(counts, key=lambda n: (-counts[n], n)):
            sys.stdout.write(n + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        sys.exit(1)


if __name__ == "__main__":
    main()

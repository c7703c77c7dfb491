"""What allocation sites cost: the benchmark workload (workload.build)
run bare, under tracemalloc with 1 and 10 frames (what `heapsnap dump
--trace=N` runs the program with), under memory_profiler's @profile and
under @heapsnap.profile; then the snapshot of the heap with and without
sites: the dump's time, its sites phase, and the bytes the site tables
add per object.  Each mode runs in a fresh interpreter.  Numbers only,
never pass/fail.

usage: python bench_sites.py SCALE OUTDIR   (the Python with the agent on
PYTHONPATH; memory_profiler is Debian's python3-memory-profiler and runs
where it is installed)
"""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import gc, json, os, sys, time
sys.path.insert(0, %(here)r)
import workload
mode, scale, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
res = {}
if mode.startswith("tracemalloc"):
    import tracemalloc
    tracemalloc.start(int(mode[len("tracemalloc"):]))
fn = workload.build
if mode == "memory_profiler":
    import io, memory_profiler
    fn = memory_profiler.profile(fn, stream=io.StringIO())
elif mode == "heapsnap_profile":
    import io, heapsnap
    fn = heapsnap.profile(fn, stream=io.StringIO(), frames=10)
t = time.perf_counter()
svc = fn(scale)
res["build_seconds"] = time.perf_counter() - t
if out != "-":
    import heapsnap
    gc.collect()
    t = time.perf_counter()
    heapsnap.dump(out)
    res["dump_seconds"] = time.perf_counter() - t
    import sqlite3
    db = sqlite3.connect(out)
    meta = dict(db.execute("SELECT key, value FROM meta"))
    res["objects"] = meta["object_count"]
    res["sites_seconds"] = meta.get("alloc_sites_seconds", 0.0)
    res["walk_seconds"] = meta["walk_seconds"]
    res["traced"] = meta.get("alloc_traced_objects", 0)
    res["frames"] = db.execute("SELECT count(*) FROM alloc_frames").fetchone()[0]
    res["tracebacks"] = db.execute(
        "SELECT count(DISTINCT id) FROM alloc_tracebacks").fetchone()[0]
    db.close()
    res["file_bytes"] = os.path.getsize(out)
print(json.dumps(res))
"""


def run(python, mode, scale, out="-"):
    p = subprocess.run([python, "-c", CHILD % {"here": HERE}, mode,
                        str(scale), out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        return None
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 0.2
    outdir = sys.argv[2] if len(sys.argv) > 2 else "."
    py = sys.executable
    print("workload.build(%.2f) on Python %s; seconds, best of 3 for the "
          "fast modes:" % (scale, sys.version.split()[0]))
    base = None
    rows = [("bare", "bare", 3), ("tracemalloc, 1 frame (--trace=1)",
                                  "tracemalloc1", 3),
            ("tracemalloc, 10 frames (--trace, --trace=10)",
             "tracemalloc10", 3),
            ("@heapsnap.profile (10 frames, 2 dumps)", "heapsnap_profile", 1)]
    mp = "/usr/bin/python3"
    has_mp = subprocess.run([mp, "-c", "import memory_profiler"],
                            stderr=subprocess.DEVNULL).returncode == 0
    for label, mode, reps in rows:
        times = [r["build_seconds"] for r in
                 (run(py, mode, scale) for _ in range(reps)) if r]
        if not times:
            print("  %-46s failed" % label)
            continue
        best = min(times)
        base = base or best
        print("  %-46s %8.2f s  x%.1f" % (label, best, best / base))
    if has_mp:
        r = run(mp, "memory_profiler", scale)
        mbase = run(mp, "bare", scale)
        if r and mbase:
            print("  %-46s %8.2f s  x%.1f (bare on %s: %.2f s)" % (
                "memory_profiler @profile", r["build_seconds"],
                r["build_seconds"] / mbase["build_seconds"], mp,
                mbase["build_seconds"]))
    else:
        print("  memory_profiler @profile: not installed for %s "
              "(tools/deps.sh bench)" % mp)
    print("\nthe snapshot of that heap (heapsnap.dump after the build):")
    plain = run(py, "bare", scale, os.path.join(outdir, "sites0.db"))
    for n in (1, 10):
        r = run(py, "tracemalloc%d" % n, scale,
                os.path.join(outdir, "sites%d.db" % n))
        if not (r and plain):
            continue
        print("  %2d frame%s: %s objects, %s traced, %s frames, %s "
              "tracebacks" % (n, "" if n == 1 else "s",
                              format(r["objects"], ","),
                              format(r["traced"], ","),
                              format(r["frames"], ","),
                              format(r["tracebacks"], ",")))
        print("            dump %.2f s (walk %.2f s, sites %.2f s = %.1f "
              "us per object) vs %.2f s untraced" % (
                  r["dump_seconds"], r["walk_seconds"], r["sites_seconds"],
                  1e6 * r["sites_seconds"] / r["objects"],
                  plain["dump_seconds"]))
        print("            file %s bytes vs %s: %.1f bytes more per "
              "object" % (format(r["file_bytes"], ","),
                          format(plain["file_bytes"], ","),
                          (r["file_bytes"] - plain["file_bytes"]) /
                          r["objects"]))
    for n in (0, 1, 10):
        try:
            os.unlink(os.path.join(outdir, "sites%d.db" % n))
        except OSError:
            pass


if __name__ == "__main__":
    main()

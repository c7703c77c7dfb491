"""Analyzer benchmark (make bench): heapsnap's answers on the ~1.3M-object
benchmark heap, cold (a fresh process that loads the snapshot each time),
against objgraph answering live in the process that holds the heap.

usage: python bench_analyzer.py HEAPSNAP SNAPSHOT TARGET_ADDRESS [SCALE
                                [CLI_SNAPSHOT DUMP_LOG]]
(bench/run.sh provides the snapshot and the target's address.)  SNAPSHOT
is what heapsnap.dump() wrote in the process, without caches;
CLI_SNAPSHOT what `heapsnap dump` wrote of the same heap at its exit and
prepared for analysis, DUMP_LOG that command's stderr.
Prints seconds and ratios; never fails on a time.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# Peak RSS (bytes) of the last command timed(): os.wait4 gives each
# child's own rusage.
last_rss = 0


def timed(argv):
    global last_rss
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        t = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status) \
            if hasattr(os, "waitstatus_to_exitcode") else status
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    last_rss = ru.ru_maxrss * 1024
    if p.returncode != 0:
        print("  %s failed: %s" % (" ".join(argv[1:3]), stderr.strip()))
    return t, stdout


def count_objects(snap):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % snap, uri=True)
    try:
        return db.execute("SELECT count(*) FROM objects").fetchone()[0]
    finally:
        db.close()


def rss_note(objects):
    return "peak RSS %.0f MiB, %.0f bytes/object" % (
        last_rss / 2 ** 20, last_rss / max(objects, 1))


def best(argv, runs=3):
    times = []
    out = ""
    for _ in range(runs):
        t, out = timed(argv)
        times.append(t)
    return min(times), out


def mib(path):
    return os.path.getsize(path) / 2 ** 20


def dumped_by_cli(heapsnap, cli_snap, log, addr):
    """The first `why` on a file `heapsnap dump` wrote and prepared: no
    cache to build, nothing written.  Returns its seconds."""
    text = open(log).read() if os.path.exists(log) else ""
    m = re.search(r"wrote '.*?' \((\S+) objects, \S+ references, ([0-9.]+) s",
                  text)
    p = re.search(r"prepared '.*?' for analysis in ([0-9.]+) s", text)
    if m and p:
        print("  heapsnap dump: exit dump %s s in the program, then %s s "
              "preparing the file (%s objects)" % (m.group(2), p.group(1),
                                                  m.group(1)))
    else:
        print("  heapsnap dump: no 'wrote' / 'prepared' line in %s" % log)
    before = os.stat(cli_snap)
    objects = count_objects(cli_snap)
    t, _ = timed([heapsnap, "why", "-f", cli_snap, addr])
    after = os.stat(cli_snap)
    print("  why OBJ, first command on a file heapsnap dump wrote  %.3f s   "
          "(file %.1f MiB = %.0f bytes/object on disk, %s; %s)"
          % (t, mib(cli_snap), before.st_size / max(objects, 1),
             "unchanged" if (before.st_size, before.st_mtime_ns) ==
             (after.st_size, after.st_mtime_ns) else "WRITTEN TO",
             rss_note(objects)))
    return t


def main():
    heapsnap, snap, addr = sys.argv[1:4]
    scale = sys.argv[4] if len(sys.argv) > 4 else "1.0"
    cli = sys.argv[5:7] if len(sys.argv) > 6 else None
    env_note = os.path.basename(snap)
    print("analyzer on %s (%.1f MiB)" % (env_note,
                                         os.path.getsize(snap) / 2 ** 20))
    # The first command on a fresh snapshot reads the tables, computes
    # the dominators and stores both derived tables; later ones read them.
    fresh = snap + ".fresh.db"
    shutil.copyfile(snap, fresh)
    os.chmod(fresh, 0o600)
    t_first, _ = timed([heapsnap, "why", "-f", fresh, addr])
    os.unlink(fresh)
    print("  why OBJ, first command on the file (stores the caches)  %.3f s"
          % t_first)
    t_cli = dumped_by_cli(heapsnap, cli[0], cli[1], addr) if cli else None
    t_why, out = best([heapsnap, "why", "-f", snap, addr])
    print("  why OBJ (cold, load included)   %.3f s   (%s)"
          % (t_why, rss_note(count_objects(snap))))
    print("    " + (out.splitlines()[1].strip() if out.count("\n") > 1
                    else out.strip()))
    t_type, out = best([heapsnap, "why", "-f", snap, "LeakedRequest"])
    print("  why LeakedRequest (~100k)       %.3f s   (target <= 2 s)"
          % t_type)
    t_top, _ = best([heapsnap, "top", "-f", snap])
    print("  top                             %.3f s" % t_top)
    t_cyc, _ = best([heapsnap, "cycles", "-f", snap])
    print("  cycles                          %.3f s   (target <= 1 s)"
          % t_cyc)
    t_adv, out = best([heapsnap, "advise", "-f", snap])
    # top is little more than the load: advise / top is what the finders
    # add, comparable between machines of different speeds.
    print("  advise                          %.3f s   (target <= 2 s; "
          "advise / top %.1f)" % (t_adv, t_adv / max(t_top, 1e-9)))
    print("    " + out.splitlines()[0].strip() if out else "    (no output)")
    py = "/usr/bin/python3"
    if not os.path.exists(py):
        print("  objgraph: no Debian python3 here")
        return
    p = subprocess.run([py, os.path.join(HERE, "bench_objgraph.py"), scale],
                       stdout=subprocess.PIPE, universal_newlines=True)
    og = dict()
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "objgraph":
            og[parts[1]] = float(parts[2])
        else:
            print("  " + line)
    if "find_backref_chain" in og:
        t = og["find_backref_chain"]
        print("  objgraph find_backref_chain (live, same heap)  %.3f s" % t)
        print("  ratio heapsnap why (cold) / objgraph (live)    %.2f   "
              "(target <= 1.0)" % (t_why / t))
        print("  ratio first why (stores caches) / objgraph     %.2f"
              % (t_first / t))
        if t_cli is not None:
            print("  ratio first why, dump-written / objgraph       %.2f   "
                  "(target <= 1.0)" % (t_cli / t))
    if "show_most_common_types" in og:
        t = og["show_most_common_types"]
        print("  objgraph show_most_common_types (live)         %.3f s" % t)
        print("  ratio heapsnap top (cold) / objgraph (live)    %.2f"
              % (t_top / t))


if __name__ == "__main__":
    main()

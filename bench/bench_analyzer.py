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
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(argv):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    t = time.perf_counter() - t0
    if p.returncode != 0:
        print("  %s failed: %s" % (" ".join(argv[1:3]), p.stderr.strip()))
    return t, p.stdout


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
    t, _ = timed([heapsnap, "why", "-f", cli_snap, addr])
    after = os.stat(cli_snap)
    print("  why OBJ, first command on a file heapsnap dump wrote  %.3f s   "
          "(file %.1f MiB, %s)"
          % (t, mib(cli_snap),
             "unchanged" if (before.st_size, before.st_mtime_ns) ==
             (after.st_size, after.st_mtime_ns) else "WRITTEN TO"))
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
    print("  why OBJ (cold, load included)   %.3f s" % t_why)
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

"""Agent benchmark (make bench): dump a ~1M-object service-like heap and
compare with a pure-Python gc.get_objects() + gc.get_referents() walk of
the same heap in the same process.  Prints numbers; never fails on time.

usage: python bench_dump.py [SCALE] [OUT.db]
"""

import gc
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
import heapsnap  # noqa: E402


def python_walk():
    """Every object reachable from the gc lists, the way a pure-Python
    tool must find them: gc.get_objects() then gc.get_referents()."""
    objs = gc.get_objects()
    seen = set(map(id, objs))
    stack = objs
    edges = 0
    count = 0
    while stack:
        o = stack.pop()
        count += 1
        refs = gc.get_referents(o)
        edges += len(refs)
        for r in refs:
            if id(r) not in seen:
                seen.add(id(r))
                stack.append(r)
    return count, edges


class Ticker:
    """A thread that wakes every millisecond and remembers the longest
    gap between two wake-ups: the pause the program itself sees while a
    dump holds the GIL."""

    def __init__(self):
        import threading
        self.gap = 0.0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        last = time.perf_counter()
        while not self.stop:
            time.sleep(0.001)
            now = time.perf_counter()
            self.gap = max(self.gap, now - last)
            last = now

    def __enter__(self):
        self.thread.start()
        time.sleep(0.05)
        self.gap = 0.0
        return self

    def __exit__(self, *exc):
        time.sleep(0.01)
        self.stop = True
        self.thread.join()


def pauses(out):
    """The longest pause the program sees during an in-place dump (the
    walk: the writer finishes with the GIL released) and during a forked
    one (with how long the child took); how long the asking thread waits
    in dump() and in a SIGUSR2 handler, and when the latter's file is
    complete."""
    with Ticker() as t:
        heapsnap.dump(out)
    in_place = t.gap
    # The thread that asks: dump() waits for the writer (GIL released);
    # a signal's handler returns after the walk (agent/finisher.c).
    t0 = time.perf_counter()
    heapsnap.dump(out)
    api = time.perf_counter() - t0
    base = heapsnap.install(path=out + ".sig.db")
    t0 = time.perf_counter()
    os.kill(os.getpid(), signal.SIGUSR2)
    handler = time.perf_counter() - t0  # the handler ran before this line
    heapsnap.wait()
    tail = time.perf_counter() - t0
    signal.signal(signal.SIGUSR2, signal.SIG_DFL)
    root, ext = os.path.splitext(base)
    os.unlink("%s.1%s" % (root, ext))
    with Ticker() as t:
        t0 = time.perf_counter()
        heapsnap.dump(out, fork=True)
        heapsnap.wait()
        child = time.perf_counter() - t0
    return in_place, t.gap, child, api, handler, tail


def quiet():
    """Lets the previous step's file reach the disk before the next timing:
    the kernel writes a dump's hundreds of MB back in the background, and
    that would otherwise overlap whatever is timed next."""
    os.sync()
    time.sleep(0.2)


def floor():
    """The least a walk must do (agent/floor.c): the gc lists, each
    object's tp_traverse, and the walk's id table (hs_idmap) to find each
    object once.  Its seconds count from the moment its table is made, as
    the dump's pause does; CPU seconds are the whole call's.  Returns wall
    seconds, CPU seconds, objects, references, the table's seconds."""
    quiet()
    c0 = time.process_time()
    objs, refs, t_walk, t_table = heapsnap._heapsnap._floor()
    return t_walk, time.process_time() - c0, objs, refs, t_table


def again(out):
    """The pause of one more dump of the same heap."""
    quiet()
    return heapsnap._heapsnap._dump(out, trigger="api")["pause_seconds"]


def rss_peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    out = sys.argv[2] if len(sys.argv) > 2 else "bench-dump.db"
    svc = workload.build(scale)
    gc.collect()
    gc.disable()
    # The dump first, so the pure-Python walk's own allocations are not
    # in the snapshot.
    quiet()
    t0, c0 = time.perf_counter(), time.process_time()
    facts = heapsnap._heapsnap._dump(out, trigger="api")
    t_dump = time.perf_counter() - t0
    c_dump = time.process_time() - c0
    # Then floors and dumps taken in turn, three of each: on a shared
    # machine one run of either can take half as long again as the next
    # (measured: the floor 1.13 to 2.2 s at 10M objects in one process),
    # so the ratio is the best pause over the best floor, the same
    # statistic on both sides, with the first dump's beside it.
    floors = [floor()]
    walks = [facts["pause_seconds"]]
    for _ in range(2):
        walks.append(again(out))
        floors.append(floor())
    t_floor, c_floor, f_objs, f_refs, f_table = min(floors)
    quiet()
    t0 = time.perf_counter()
    n, e = python_walk()
    t_walk = time.perf_counter() - t0
    size = os.path.getsize(out)
    objs = facts["objects"]
    print("python            %s" % sys.version.split()[0])
    print("objects           %d (python walk: %d), references %d (python walk: %d)"
          % (objs, n, facts["edges"], e))
    pause = facts["pause_seconds"]
    best = min(walks)
    print("dump              %.2f s wall, %.2f s CPU  (%.0f objects/s)"
          % (t_dump, c_dump, objs / t_dump))
    print("  pause           %.2f s with the GIL held (the walk), then the "
          "writer %.2f s with it released" % (pause, facts["phases"][5]))
    print("  phases          seed %.2f, objects and edges %.2f, roots %.2f, rest %.2f,"
          " sizes %.2f, writer finishing %.2f" % tuple(facts["phases"]))
    if facts["output_thread"]:
        # Of "objects and edges": the walking thread waited for the
        # output thread (a full handoff, and its end).
        print("  output thread   the walk waited %.2f s for it"
              % facts["output_wait_seconds"])
    print("python walk       %.2f s" % t_walk)
    print("ratio pause/walk  %.2f   (target <= 0.5; whole dump/walk %.2f)"
          % (pause / t_walk, t_dump / t_walk))
    print("floor             %.2f s wall from its table made (%.2f s "
          "before, not counted), %.2f s CPU in all  (best of %d; gc lists + "
          "tp_traverse + the walk's id table, %d objects found, %d "
          "references: agent/floor.c)"
          % (t_floor, f_table, c_floor, len(floors), f_objs, f_refs))
    print("ratio pause/floor %.2f   (target <= 1.5; best of %d pauses %.2f s "
          "over best of %d floors, taken in turn; pauses %s, floors %s)"
          % (best / t_floor, len(walks), best, len(floors),
             " ".join("%.2f" % p for p in walks),
             " ".join("%.2f" % f[0] for f in floors)))
    print("  first dump      pause/floor %.2f (the first dump of the process"
          " over the best floor); median of the pairs %.2f; whole "
          "dump/floor %.2f wall, %.2f CPU"
          % (pause / t_floor,
             sorted(p / f[0] for p, f in zip(walks, floors))[len(walks) // 2],
             t_dump / t_floor, c_dump / max(c_floor, 1e-9)))
    # The walk sees more than tp_traverse reports: the keys of dicts whose
    # keys are all str (tp_traverse skips them, a str making no cycle; on
    # this heap the headers' keys and the cache's, the latter found by
    # nothing else), code objects' constants and names, type internals.
    # Per reference found.
    print("per reference     pause %.0f ns, floor %.0f ns: ratio %.2f  "
          "(best of each; the walk found %.2f times the floor's references)"
          % (best / facts["edges"] * 1e9, t_floor / f_refs * 1e9,
             (best / facts["edges"]) / (t_floor / f_refs),
             facts["edges"] / f_refs))
    print("snapshot          %.1f MiB, %.1f bytes/object   (target <= 80)"
          % (size / 2 ** 20, size / objs))
    print("agent peak memory %.1f MiB, %.1f bytes/object  (target <= 32)"
          % (facts["peak_memory"] / 2 ** 20, facts["peak_memory"] / objs))
    if facts["output_thread"] and scale <= 10:
        # The same dump with the rows made on the walking thread (as a
        # forked child and a traced process make them): what the output
        # thread saves, in the same process.
        os.environ["HEAPSNAP_OUTPUT_THREAD"] = "0"
        inline = again(out)
        del os.environ["HEAPSNAP_OUTPUT_THREAD"]
        threaded = again(out)
        print("output thread     pause %.2f s; rows on the walking thread "
              "%.2f s: ratio %.2f (the two dumps one after the other)"
              % (threaded, inline, threaded / inline))
    elif not facts["output_thread"]:
        print("output thread     none (one CPU, or "
              "HEAPSNAP_OUTPUT_THREAD=0)")
    in_place, forked, child, api, handler, tail = pauses(out)
    os.unlink(out)
    print("pause seen by the program: in-place %.0f ms, --fork %.1f ms "
          "(target <= 50 ms; the child took %.2f s)"
          % (in_place * 1000, forked * 1000, child))
    print("the asking thread: dump() %.2f s; SIGUSR2 handler %.2f s, its "
          "file complete after %.2f s  (handler/dump() %.2f)"
          % (api, handler, tail, handler / api))
    del svc


if __name__ == "__main__":
    main()

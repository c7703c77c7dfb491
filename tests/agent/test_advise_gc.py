"""heapsnap advise's collector findings, held to their word.

gc_freeze: a program that forked workers is run as it is and with
gc.freeze() before a worker is forked; each forks one more worker that
runs a full collection and reads its own Private_Dirty memory before and
after (/proc/self/smaps_rollup): the pages the kernel copied for it.  The
saving advise predicted per worker from the first program's snapshot must
match the difference within 15 %.

gc_tuning: the objects advise says every full collection examines must
be the objects gc.freeze() then moves (gc.get_freeze_count()), within 5 %.

Neither is reported where it does not apply: workers started with the
spawn method, everything frozen already, the gc disabled.
"""

import json
import os
import subprocess
import sys
import textwrap

import test_advise
from hstest import AgentTest
from test_compiled import agent_path, cli_path

# Runs BODY (which may define WORKERS, a pool of forked workers), dumps
# to argv[3] when given, then applies the fix when argv[1] is 1, forks
# one worker that collects, and prints what it measured.
RUNNER = """
import gc, json, os, sys
import heapsnap
FIX = int(sys.argv[1])
N = int(sys.argv[2])

def private_dirty():
    path = '/proc/self/smaps_rollup'
    if not os.path.exists(path):
        path = '/proc/self/smaps'
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith('Private_Dirty:'):
                total += int(line.split()[1]) * 1024
    return total

def worker_collects():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        before = private_dirty()
        gc.collect()
        after = private_dirty()
        os.write(w, str(after - before).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 100)
    os.close(r)
    os.waitpid(pid, 0)
    return int(out)

%s
stats = [s['collections'] for s in gc.get_stats()]
if len(sys.argv) > 3:
    heapsnap.dump(sys.argv[3])
if FIX:
    gc.freeze()
dirty = worker_collects()
frozen = gc.get_freeze_count()
finish()
print(json.dumps({"dirty": dirty, "frozen": frozen, "stats": stats}))
"""

FORK_POOL = """
import multiprocessing
data = [{'i': i, 'tags': [i]} for i in range(N)]
pool = multiprocessing.get_context('fork').Pool(2)
def finish():
    pool.close()
    pool.join()
"""


class AdviseGcTest(AgentTest):

    def run_program(self, body, fix, n, dump=None):
        args = [sys.executable, "-W", "ignore", "-c",
                RUNNER % textwrap.dedent(body), str(fix), str(n)]
        if dump:
            args.append(dump)
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd=self.tmp,
                           env=dict(os.environ, PYTHONPATH=agent_path()))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout.decode().splitlines()[-1])

    # (a module, not its class: the loader would run AdviseTest again)
    advise = test_advise.AdviseTest.advise

    def kinds(self, snap):
        return [f["kind"] for f in self.advise(snap, "--min-bytes", "0")]

    def note(self, what, predicted, measured):
        if os.environ.get("HS_TEST_VERBOSE"):
            sys.stderr.write("# %s on %s: predicted %d, measured %d "
                             "(%+.1f %%)\n"
                             % (what, sys.version.split()[0], predicted,
                                measured, 100.0 * (predicted - measured) /
                                max(measured, 1)))

    def test_gc_freeze_saving_is_measured(self):
        snap = self.path("fork.db")
        before = self.run_program(FORK_POOL, 0, 100000, dump=snap)
        after = self.run_program(FORK_POOL, 1, 100000)
        measured = before["dirty"] - after["dirty"]
        found = [f for f in self.advise(snap) if f["kind"] == "gc_freeze"]
        self.assertEqual(len(found), 1, self.advise(snap))
        f = found[0]
        self.assertIn("forked 2 workers", f["title"])
        predicted = f["bytes_saved"] // 2  # per worker
        self.note("gc_freeze", predicted, measured)
        self.assertGreater(measured, 0)
        self.assertLessEqual(
            abs(predicted - measured), 0.15 * measured,
            "gc_freeze on %s: predicted %d bytes per worker, measured %d "
            "(%s)" % (sys.version.split()[0], predicted, measured,
                      f["basis"]))
        # The objects it counts are those gc.freeze() then moved.
        self.assertLessEqual(abs(f["count"] - after["frozen"]),
                             0.05 * after["frozen"], f)
        self.assertIn("gc.freeze()", f["fix"])
        self.assertIn("Popen", f["where"])
        self.assertEqual(f["type"], "dict")
        # What a user reads.
        p = subprocess.run([cli_path(), "advise", "-f", snap],
                           stdout=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"#\d+  gc_freeze: saves \d")
        self.assertIn("fix:   call gc.freeze()", p.stdout)

    def test_gc_collections_are_recorded(self):
        """info shows the collections gc.get_stats() counted at the dump."""
        snap = self.path("stats.db")
        out = self.run_program(FORK_POOL, 0, 1000, dump=snap)
        p = subprocess.run([cli_path(), "info", "-f", snap, "--json"],
                           stdout=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(p.returncode, 0)
        meta = json.loads(p.stdout)["meta"]
        self.assertEqual(json.loads(meta["gc_collections"]), out["stats"])
        self.assertEqual(meta["page_size"], os.sysconf("SC_PAGE_SIZE"))

    def test_gc_tuning_count_is_measured(self):
        snap = self.path("tuning.db")
        body = """
            data = [{'i': i, 'tags': [i]} for i in range(N)]
            def finish():
                pass
            """
        out = self.run_program(body, 1, 80000, dump=snap)
        found = [f for f in self.advise(snap) if f["kind"] == "gc_tuning"]
        self.assertEqual(len(found), 1, self.advise(snap))
        f = found[0]
        self.note("gc_tuning", f["count"], out["frozen"])
        self.assertLessEqual(abs(f["count"] - out["frozen"]),
                             0.05 * out["frozen"], f)
        self.assertEqual(f["bytes_saved"], 0)
        self.assertIn("full collection", f["title"])
        self.assertNotIn("gc_freeze", self.kinds(snap))

    def test_no_gc_finding_where_it_does_not_apply(self):
        """Workers started by spawn share no pages; a heap frozen before
        the dump leaves nothing to freeze; with the gc disabled no
        collection runs."""
        cases = {
            "spawn": """
                import multiprocessing
                data = [{'i': i, 'tags': [i]} for i in range(N)]
                pool = multiprocessing.get_context('spawn').Pool(1)
                def finish():
                    pool.close()
                    pool.join()
                """,
            "frozen": """
                import gc, multiprocessing
                data = [{'i': i, 'tags': [i]} for i in range(N)]
                gc.freeze()
                pool = multiprocessing.get_context('fork').Pool(2)
                def finish():
                    pool.close()
                    pool.join()
                """,
            "disabled": """
                import gc, multiprocessing
                gc.disable()
                data = [{'i': i, 'tags': [i]} for i in range(N)]
                pool = multiprocessing.get_context('fork').Pool(2)
                def finish():
                    pool.close()
                    pool.join()
                """,
        }
        for name, body in cases.items():
            snap = self.path(name + ".db")
            self.run_program(body, 0, 120000, dump=snap)
            kinds = self.kinds(snap)
            self.assertNotIn("gc_freeze", kinds, name)
            if name != "spawn":  # spawn's 240k objects are worth freezing
                self.assertNotIn("gc_tuning", kinds, name)
            else:
                self.assertIn("gc_tuning", kinds, name)

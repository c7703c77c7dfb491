"""Allocation sites: with tracemalloc tracing, the snapshot records each
object's allocation traceback (alloc_frames, alloc_tracebacks,
object_tracebacks), and it is the one tracemalloc gives in the same
process.  Each test runs in a fresh interpreter that starts tracing
itself, so that what was allocated before tracing is known."""

import os
import sys
import textwrap

from hstest import AgentTest, Snapshot

# The tracebacks of a snapshot, by object address: [(file, line, function)]
# innermost first.
READ = """
def tracebacks(path):
    import sqlite3
    db = sqlite3.connect(path)
    out = {}
    for addr, depth, f, line, func in db.execute(
            "SELECT o.address, t.depth, f.file, f.line, f.function "
            "FROM object_tracebacks ot JOIN objects o ON o.id = ot.object_id "
            "JOIN alloc_tracebacks t ON t.id = ot.traceback_id "
            "JOIN alloc_frames f ON f.id = t.frame_id "
            "ORDER BY o.address, t.depth"):
        out.setdefault(addr, []).append((f, line, func))
    meta = dict(db.execute("SELECT key, value FROM meta"))
    db.close()
    return out, meta
"""


class SitesTest(AgentTest):

    def program(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
        return p

    def test_same_as_tracemalloc_in_the_process(self):
        """For every gc object and a sample of others, the snapshot's
        traceback is tracemalloc.get_object_traceback(obj), frame for
        frame (innermost first in the snapshot); objects it has none for
        have none.  CPython 3.11's get_object_traceback misses objects
        with a managed __dict__ (it subtracts the gc header only, not the
        whole pre-header; fixed in 3.12): the snapshot knows them, so
        they are checked against their known line instead."""
        out = self.run_child(READ + """
import gc, os, sys, tracemalloc
tracemalloc.start(8)
import heapsnap

class Managed:              # instances have a managed __dict__ on 3.11+
    def __init__(self, i):
        self.i = i
        self.data = [i] * 3

def build(n):
    return [Managed(i) for i in range(n)], {"k%d" % i: str(i) * 9
                                             for i in range(n)}

LINE = build.__code__.co_firstlineno + 1   # Managed(i)
kept = build(50)
path = os.path.join(os.environ["HS_TEST_TMP"], "s.db")
# What existed at the dump (held until checked; reading the snapshot
# makes new objects).
objs = gc.get_objects() + list(kept[1].keys()) + list(kept[1].values())
heapsnap.dump(path)
tbs, meta = tracebacks(path)
assert meta["alloc_sites"] == 1, meta
checked = missed_by_tracemalloc = 0
for o in objs:
    live = tracemalloc.get_object_traceback(o)
    snap = tbs.get(id(o))
    if live is None:
        if snap is not None and sys.version_info[:2] == (3, 11) and \\
                type(o).__flags__ & (1 << 4):     # Py_TPFLAGS_MANAGED_DICT
            if type(o) is Managed:
                assert snap[0][1] == LINE, (snap, LINE)
                missed_by_tracemalloc += 1
            continue
        assert snap is None, (type(o), snap)
        continue
    want = [(f.filename, f.lineno) for f in reversed(live)]
    assert snap is not None, (type(o), want)
    assert [(f, l) for f, l, _ in snap] == want, (type(o), snap, want)
    checked += 1
assert checked > 100, checked
if sys.version_info[:2] == (3, 11):
    assert missed_by_tracemalloc == 50, missed_by_tracemalloc
print("checked", checked)
""")
        self.assertIn("checked", out)

    def test_known_line_and_function(self):
        """A class instantiated on line 12 and kept is reported at line 12
        in the function that ran it; the caller is the next frame; the
        objects allocated before tracing began have none, and the meta
        counts add up."""
        prog = self.program("prog.py", """
            import os, sys, tracemalloc
            early = [object() for _ in range(10)]
            tracemalloc.start(10)
            import heapsnap


            class Request:
                pass


            def handle(store):
                store.append(Request())
                return store


            kept = handle([])
            heapsnap.dump(sys.argv[1])
            """)
        path = self.path("known.db")
        self.run_child("import runpy, sys; sys.argv = [%r, %r]; "
                       "runpy.run_path(%r, run_name='__main__')"
                       % (prog, path, prog))
        snap = Snapshot(path)
        self.snaps.append(snap)
        rows = snap.q(
            "SELECT t.depth, f.file, f.line, f.function "
            "FROM objects o JOIN types ty ON ty.id = o.type_id "
            "JOIN object_tracebacks ot ON ot.object_id = o.id "
            "JOIN alloc_tracebacks t ON t.id = ot.traceback_id "
            "JOIN alloc_frames f ON f.id = t.frame_id "
            "WHERE ty.name = 'Request' AND ty.module = '__main__' "
            "AND f.file = ? ORDER BY t.depth", prog)
        self.assertEqual([r[2] for r in rows], [12, 16])
        self.assertEqual(rows[0][3], "handle")
        self.assertEqual(rows[0][0], 0)
        traced = snap.meta("alloc_traced_objects")
        untraced = snap.meta("alloc_untraced_objects")
        self.assertEqual(traced + untraced, snap.meta("object_count"))
        self.assertEqual(
            snap.q1("SELECT count(*) FROM object_tracebacks"), traced)
        self.assertGreater(untraced, 10)  # `early` and the interpreter's
        self.assertEqual(snap.meta("alloc_max_frames") <= 10, True)
        # Interned: each (file, line) once, each traceback once.
        self.assertEqual(snap.q1(
            "SELECT count(*) FROM (SELECT file, line FROM alloc_frames "
            "GROUP BY file, line HAVING count(*) > 1)"), 0)

    def test_not_tracing(self):
        """Without tracemalloc: alloc_sites = 0 and empty tables."""
        import heapsnap
        import tracemalloc
        if tracemalloc.is_tracing():
            self.skipTest("this interpreter traces already")
        p = self.path()
        heapsnap.dump(p)
        snap = Snapshot(p)
        self.snaps.append(snap)
        self.assertEqual(snap.meta("alloc_sites"), 0)
        for table in ("alloc_frames", "alloc_tracebacks",
                      "object_tracebacks"):
            self.assertEqual(snap.q1("SELECT count(*) FROM %s" % table), 0)

    def test_forked_dump_has_sites(self):
        """A forked child reads tracemalloc's tables as they were at the
        fork: the same tracebacks as an in-place dump."""
        out = self.run_child(READ + """
import os, tracemalloc
tracemalloc.start(4)
import heapsnap

class Thing:
    __slots__ = ()   # no managed __dict__: 3.11's lookup finds it too

things = [Thing() for _ in range(20)]
tmp = os.environ["HS_TEST_TMP"]
heapsnap.dump(os.path.join(tmp, "fork.db"), fork=True)
heapsnap.wait()
tbs, meta = tracebacks(os.path.join(tmp, "fork.db"))
assert meta["alloc_sites"] == 1 and meta["forked"] == 1, meta
for t in things:
    want = [(f.filename, f.lineno)
            for f in reversed(tracemalloc.get_object_traceback(t))]
    assert [(f, l) for f, l, _ in tbs[id(t)]] == want
print("forked ok")
""")
        self.assertIn("forked ok", out)

    def test_two_dumps_diff_by_site_names_the_leak(self):
        """heapsnap.dump() twice in one traced process, then `heapsnap diff
        A B --by site`: the leaking line comes first."""
        out = self.run_child("""
import os, subprocess, tracemalloc
tracemalloc.start(5)
import heapsnap
from heapsnap._command import path as heapsnap_command

class Session:
    pass

CACHE = []
def serve(i):
    CACHE.append(Session())      # the leak: line 12 (the text starts with a newline)

tmp = os.environ["HS_TEST_TMP"]
for i in range(50):
    serve(i)
heapsnap.dump(os.path.join(tmp, "a.db"))
for i in range(400):
    serve(i)
heapsnap.dump(os.path.join(tmp, "b.db"))
p = subprocess.run([heapsnap_command(), "diff", os.path.join(tmp, "a.db"),
                    os.path.join(tmp, "b.db"), "--by", "site", "-n", "1"],
                   stdout=subprocess.PIPE, check=True)
print(p.stdout.decode())
""")
        rows = [l for l in out.splitlines() if "<string>:" in l]
        self.assertTrue(rows, out)
        self.assertIn("<string>:12 in serve", rows[0])
        self.assertTrue(rows[0].split()[0] == "400", rows[0])
        self.assertIn("__main__.Session \u00d7400", rows[0])


if __name__ == "__main__":
    import unittest
    unittest.main()

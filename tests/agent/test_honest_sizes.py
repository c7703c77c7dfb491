"""Sizes on real snapshots are what objects own, so that they add up:
the retained sizes of the dominator tree's top-level objects plus the
unreachable ones equal the heap total, and no object is bigger than the
process's RSS; a forked child's snapshot of 3.11+ generators holds their
real size (it once read an ob_size they do not have: ~1e15 bytes).  And
with pandas (under an interpreter of this very version that has it,
e.g. Debian's /usr/bin/python3): a DataFrame's Python __sizeof__, a deep
size, is recorded apart and its columns' bytes are counted once."""

import os
import sqlite3
import subprocess
import sys
import unittest

from hstest import AgentTest
from test_compiled import cli_path, run_child


def python_with(module):
    """An interpreter of this very version (its agent is this one) that can import `module`."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(exe):
            continue
        p = subprocess.run(
            [exe, "-c", "import sys, %s; print('%%d.%%d.%%d' %% "
             "sys.version_info[:3])" % module], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        if p.returncode == 0 and p.stdout.decode().strip() == \
                "%d.%d.%d" % sys.version_info[:3]:
            return exe
    return None


class HonestSizesTest(AgentTest):

    def retained(self, path):
        """Computes the snapshot's retained table with the CLI; returns an
        open connection."""
        cli = cli_path()
        if not os.access(cli, os.X_OK):
            self.skipTest("no heapsnap command at %s" % cli)
        p = subprocess.run([cli, "top", "--by", "retained", "-f", path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        db = sqlite3.connect(path)
        self.addCleanup(db.close)
        return db

    def assert_adds_up(self, path):
        db = self.retained(path)
        total, biggest = db.execute(
            "SELECT sum(size), max(size) FROM objects").fetchone()
        top = db.execute("SELECT total(retained_size) FROM retained WHERE "
                         "idom IS NULL").fetchone()[0]
        garbage = db.execute("SELECT total(o.size) FROM retained r JOIN "
                             "objects o ON o.id = r.object_id WHERE "
                             "r.idom = 0").fetchone()[0]
        self.assertEqual(int(top + garbage), total)
        rss = db.execute("SELECT value FROM meta WHERE key = 'rss_bytes'"
                         ).fetchone()[0]
        self.assertLess(biggest, rss)
        self.assertLess(total, rss)
        return db

    def test_zoo_sizes_add_up_in_place_and_forked(self):
        self.run_child("""
            import os, heapsnap, zoo
            z = zoo.build()
            tmp = os.environ["HS_TEST_TMP"]
            heapsnap.dump(os.path.join(tmp, "in_place.db"))
            heapsnap.dump(os.path.join(tmp, "forked.db"), fork=True)
            heapsnap.wait()
        """)
        for name in ("in_place.db", "forked.db"):
            self.assert_adds_up(os.path.join(self.tmp, name))

    def test_forked_generators_have_their_size(self):
        out = self.run_child("""
            import asyncio, os, sys, heapsnap, hstest

            def gen(n):
                x = [n]
                yield x

            async def coro():
                await asyncio.sleep(0)

            gens = [gen(i) for i in range(200)]
            for g in gens[:100]:
                next(g)
            coros = [coro() for _ in range(100)]
            p = os.path.join(os.environ["HS_TEST_TMP"], "gens.db")
            heapsnap.dump(p, fork=True)
            heapsnap.wait()
            snap = hstest.Snapshot(p)
            bad = [(type(o).__name__, snap.row(o)["size"], sys.getsizeof(o))
                   for o in gens + coros
                   if snap.row(o)["size"] != sys.getsizeof(o)]
            assert not bad, bad[:5]
            for c in coros:
                c.close()
            print("ok", sys.getsizeof(gens[0]), sys.getsizeof(coros[0]))
        """)
        self.assertIn("ok", out)
        sys.stdout.write("# forked generator, coroutine sizes: %s\n" %
                         out.split("ok")[-1].strip())

    def test_pandas_dataframe_counts_its_columns_once(self):
        exe = python_with("pandas")
        if exe is None:
            self.skipTest("no Python %d.%d.%d with pandas" %
                          sys.version_info[:3])
        code = """
import os, sys, numpy, pandas, heapsnap, hstest
n = 500000
df = pandas.DataFrame({"a": numpy.arange(n, dtype=numpy.float64),
                       "b": numpy.ones(n), "c": numpy.zeros(n)})
nbytes = sum(b.values.nbytes for b in df._mgr.blocks)
s = pandas.Series(numpy.arange(1000.0))  # its own data, not df's
p = os.path.join(os.environ["HS_TEST_TMP"], "pandas.db")
snap = hstest.child_snapshot(p, hstest.raw_dump(p))
own = hstest.own_size(df)
# The deep figure is kept apart, the size is what the object owns.
assert sys.getsizeof(df) > nbytes, sys.getsizeof(df)
assert snap.row(df)["size"] == own < 1000, (snap.row(df)["size"], own)
assert snap.reported_size(df) == sys.getsizeof(df)
assert snap.row(s)["size"] == hstest.own_size(s) < 1000
assert snap.reported_size(s) == sys.getsizeof(s)
# The columns' bytes are in the snapshot once, in an ndarray's size.
big = snap.q("SELECT t.name FROM objects o JOIN types t ON "
             "t.id = o.type_id WHERE o.size >= ?", nbytes)
assert big == [("ndarray",)], big
print("ok", snap.oid(df), nbytes, sys.getsizeof(df))
"""
        out = run_child(self, exe, code)
        _, oid, nbytes, deep = out.split()
        db = self.assert_adds_up(os.path.join(self.tmp, "pandas.db"))
        retained = db.execute("SELECT retained_size FROM retained WHERE "
                              "object_id = ?", (int(oid),)).fetchone()[0]
        # Once: the block's array (a view) holds the base that owns the
        # bytes; never twice: the frame's deep __sizeof__ is not added.
        self.assertGreaterEqual(retained, int(nbytes))
        self.assertLess(retained, int(nbytes) * 1.1 + 65536)
        sys.stdout.write("# DataFrame: getsizeof %s, retained %d\n" %
                         (deep, retained))


if __name__ == "__main__":
    unittest.main()

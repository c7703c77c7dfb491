"""make bench's dump part (bench/bench_dump.py) runs to its end on a small
heap and prints every figure issue 17 asks of it: the pause against the
Python walk and against the floor (three of each taken in turn, best over
best), the first dump's ratio, per reference, snapshot and peak bytes per
object, the output thread's effect and the pauses a program sees.  Only
that the lines are there and agree with each other, never a time's size:
a bench that stops half-way (as one did with a TypeError) fails here
instead of in someone's benchmark run."""

import os
import re
import sys

from hstest import AgentTest, HERE

BENCH_DUMP = os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench",
                          "bench_dump.py")
NUM = r"([0-9]+(?:\.[0-9]+)?)"


class BenchDumpTest(AgentTest):

    def test_bench_prints_every_ratio(self):
        out_db = os.path.join(self.tmp, "bench.db")
        out = self.run_child("""
            import runpy, sys
            sys.argv = [%r, "0.02", %r]
            runpy.run_path(sys.argv[0], run_name="__main__")
            """ % (BENCH_DUMP, out_db), timeout=600)
        # Each figure's line by the words it starts with (the first one).
        lines = {}
        for key in ("python ", "objects", "dump ", "pause ", "phases",
                    "python walk", "ratio pause/walk", "floor",
                    "ratio pause/floor", "first dump", "per reference",
                    "snapshot", "agent peak memory", "output thread",
                    "pause seen by the program", "the asking thread"):
            found = [l for l in out.splitlines() if l.lstrip().startswith(key)]
            self.assertTrue(found, "no line %r in:\n%s" % (key, out))
            lines[key.strip()] = found[0]
        self.assertEqual(lines["python"].split()[1], sys.version.split()[0])

        # Three pauses and three floors, and the ratio is the best of the
        # one over the best of the other.
        m = re.search(r"ratio pause/floor %s .*best of 3 pauses %s s over "
                      r"best of 3 floors, taken in turn; pauses %s %s %s, "
                      r"floors %s %s %s\)" % ((NUM,) * 8),
                      lines["ratio pause/floor"])
        self.assertIsNotNone(m, lines["ratio pause/floor"])
        ratio, best, *samples = map(float, m.groups())
        pauses, floors = samples[:3], samples[3:]
        self.assertEqual(best, min(pauses))
        self.assertGreater(ratio, 0)
        m = re.match(r"floor +%s s wall from its table made \(%s s before, "
                     r"not counted\)" % (NUM, NUM), lines["floor"])
        self.assertIsNotNone(m, lines["floor"])
        self.assertEqual(float(m.group(1)), min(floors))

        # The counts: the dump finds at least what the floor finds.
        m = re.match(r"objects +(\d+) \(python walk: (\d+)\), references "
                     r"(\d+) \(python walk: (\d+)\)", lines["objects"])
        self.assertIsNotNone(m, lines["objects"])
        objs, py_objs, refs, py_refs = map(int, m.groups())
        self.assertGreater(py_objs, 20000)
        self.assertGreaterEqual(objs, py_objs)
        self.assertGreaterEqual(refs, py_refs)
        for key in ("snapshot", "agent peak memory"):
            m = re.search(r"%s bytes/object" % NUM, lines[key])
            self.assertIsNotNone(m, lines[key])
            self.assertGreater(float(m.group(1)), 0)
        # It cleaned up after itself.
        self.assertEqual(os.listdir(self.tmp), [])

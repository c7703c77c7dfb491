"""heapsnap._heapsnap._floor(), the walk's floor that make bench divides
the dump's pause by, finds what a pure-Python walk of the collector's
view finds: every object on the gc lists, plus each object their
references reach (found once), untracked containers followed; and counts
every reference tp_traverse reports.  It reports its traversal's seconds
and its table's apart, both within the call.  Checked in a fresh interpreter
with nothing frozen, then with the heap frozen by gc.freeze() (the
permanent generation is a gc list too)."""

import json

from hstest import AgentTest


class FloorTest(AgentTest):

    def census(self, freeze):
        out = self.run_child("""
            import gc, json, time
            from heapsnap import _heapsnap

            def python_census():
                # The same walk in Python, inside a function: its own
                # objects are reached by nothing on the gc lists.
                objs = gc.get_objects()
                seen = set(map(id, objs))
                refs = 0
                for o in objs:
                    todo = [o]
                    while todo:
                        r = gc.get_referents(todo.pop())
                        refs += len(r)
                        for x in r:
                            if id(x) not in seen:
                                seen.add(id(x))
                                if not gc.is_tracked(x):
                                    todo.append(x)
                return len(seen), refs

            keep = [{"k": (i, str(i))} for i in range(5000)]
            gc.collect()
            gc.unfreeze()
            if %d:
                gc.freeze()
            t0 = time.monotonic()
            objs, refs, walk, table = _heapsnap._floor()
            outside = time.monotonic() - t0
            frozen = gc.get_freeze_count()
            gc.unfreeze()
            print(json.dumps([objs, refs, frozen] + list(python_census()) +
                             [walk, table, outside]))
            """ % freeze)
        return json.loads(out.splitlines()[-1])

    def check(self, freeze):
        objs, refs, frozen, py_objs, py_refs, walk, table, outside = \
            self.census(freeze)
        # Its own times: the traversal and the table, each within the
        # call, which took at least both.
        self.assertGreater(walk, 0)
        self.assertGreaterEqual(table, 0)
        self.assertLessEqual(walk + table, outside, (walk, table, outside))
        # 5,000 dicts, tuples and strs, the ints in the tuples.
        self.assertGreater(objs, 15000)
        # The census's own few objects (the gc.get_objects() list) are
        # made between the two.
        self.assertLessEqual(abs(objs - py_objs), 10, (objs, py_objs))
        self.assertLessEqual(abs(refs - py_refs), 0.01 * py_refs,
                             (refs, py_refs))
        return frozen

    def test_floor_finds_what_a_python_walk_finds(self):
        self.assertEqual(self.check(0), 0)

    def test_floor_walks_the_frozen_generation(self):
        self.assertGreater(self.check(1), 5000)

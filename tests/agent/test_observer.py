"""The dump observes without disturbing: it leaves the gc object count,
reference counts and instance dict state as they were, and its own state
never appears in the snapshot.

The documented handful of objects a dump through the Python API may leave
behind: the returned value (the path str for heapsnap.dump(), a dict of
facts for _dump()), which are not gc-tracked or are one dict.  ALLOWED is
that handful plus slack for what the test's own lines allocate."""

import gc
import sys
import unittest

import heapsnap
from heapsnap import _heapsnap

from hstest import AgentTest, Marker, PY, main_ident

ALLOWED = 3


class ObserverTest(AgentTest):

    def count_around(self, fn):
        gc.collect()
        gc.disable()
        try:
            fn()            # warm up (first-call caches, imports)
            before = len(gc.get_objects())
            result = fn()
            after = len(gc.get_objects())
        finally:
            gc.enable()
        return before, after, result

    def test_gc_count_unchanged_by_dump(self):
        p = self.path()
        before, after, _ = self.count_around(lambda: heapsnap.dump(p))
        # get_objects' own list is counted in `after`, not in `before`.
        self.assertLessEqual(abs(after - before - 1), ALLOWED,
                             (before, after))

    def test_gc_count_unchanged_by_check_dump(self):
        p = self.path()
        before, after, facts = self.count_around(
            lambda: _heapsnap._dump(p, check=True, main_ident=main_ident()))
        self.assertLessEqual(abs(after - before - 1), ALLOWED,
                             (before, after))
        self.assertIsInstance(facts, dict)

    def test_refcounts_unchanged(self):
        objs = [Marker(), [1, 2], {"a": 1}, "text %d" % id(self), 10 ** 40,
                Marker, sys.modules, heapsnap]
        counts = [sys.getrefcount(o) for o in objs]
        self.dump()
        self.assertEqual([sys.getrefcount(o) for o in objs], counts)

    def test_refcount_column_is_the_refcount(self):
        objs = [Marker(), [1, 2], {"a": 1}, "text %d" % id(self), 10 ** 40]
        snap = self.dump()
        for i in range(len(objs)):
            # getrefcount's argument is one more; the list holds one.
            self.assertEqual(snap.row(objs[i])["refcount"],
                             sys.getrefcount(objs[i]) - 1, repr(objs[i]))
            self.assertEqual(snap.row(objs[i])["refcount"], 1)

    def test_no_frame_objects_created(self):
        if PY < (3, 11):
            self.skipTest("3.8-3.10 frames are objects already")
        import threading
        ready, stop = threading.Event(), threading.Event()

        def nested(n):
            if n:
                return nested(n - 1)
            ready.set()
            stop.wait(30)
        t = threading.Thread(target=nested, args=(20,))
        t.start()
        try:
            ready.wait(10)
            snap = self.dump()
            # Running frames were listed without frame objects: none of
            # the background thread's 20+ frames has one.
            tid = snap.q1("SELECT id FROM threads WHERE ident = ?", t.ident)
            rows = snap.q("SELECT function, object_id FROM frames WHERE "
                          "thread_id = ? AND function LIKE '%nested'", tid)
            self.assertEqual(len(rows), 21)
            self.assertEqual({o for _, o in rows}, {None})
            frames = sys._current_frames()[t.ident]
            del frames
        finally:
            stop.set()
            t.join()

    def test_agent_state_not_in_snapshot(self):
        snap = self.dump()
        # No snapshot-writing machinery shows up as Python objects: the
        # only heapsnap objects are the modules and their namespaces.
        names = {n for (n,) in snap.q(
            "SELECT t.module FROM types t")}
        self.assertNotIn("heapsnap._heapsnap", names - {"heapsnap"})
        self.assertIsNotNone(snap.oid(_heapsnap))

    def test_dump_twice_same_heap(self):
        gc.collect()
        a = self.dump()
        b = self.dump()
        na, nb = a.meta("object_count"), b.meta("object_count")
        # The second dump sees the first's Snapshot, its sqlite3
        # connection and cursor objects, and little else.
        self.assertLess(abs(nb - na), 300, (na, nb))


if __name__ == "__main__":
    unittest.main()

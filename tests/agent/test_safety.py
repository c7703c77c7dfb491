"""The dump never crashes or corrupts its host: deep and huge structures
(no recursion), hostile objects, extension types, out-of-memory at every
early allocation, a dump requested from a signal handler while one runs,
and a dump from a non-main thread."""

import gc
import os
import signal
import sys
import threading
import time
import unittest

import heapsnap

from hstest import (AgentTest, FLAG_SIZE_FALLBACK, FLAG_UNREACHABLE, Marker,
                    Snapshot, own_size)


class Node:
    __slots__ = ("next",)


class Hostile:
    """Every Python-level hook raises: the agent must call none of them
    (or survive them after the walk)."""

    def __repr__(self):
        raise RuntimeError("no repr")

    def __getattribute__(self, name):
        raise RuntimeError("no attribute %s" % name)

    def __eq__(self, other):
        raise RuntimeError("no eq")

    def __hash__(self):
        return 7

    def __del__(self):
        pass


class SafetyTest(AgentTest):

    def test_deep_and_huge(self):
        # A 1,000,000-long linked list, a list of 2,000,000 items and a
        # dict of 1,000,000 items, in one dump.
        n = 1000000
        head = None
        for _ in range(n):
            node = Node()
            node.next = head
            head = node
        del node
        tail = head
        while tail.next is not None:
            tail = tail.next
        big_list = [None] * 2000000
        big_list[1999999] = tail
        big_dict = dict.fromkeys(range(1000000))
        big_dict[999999] = head
        t0 = time.monotonic()
        snap = self.dump()
        seconds = time.monotonic() - t0
        nodes = snap.q1("SELECT count(*) FROM objects WHERE type_id = ?",
                        snap.oid(Node))
        self.assertEqual(nodes, n)
        self.assertFalse(snap.row(tail)["flags"] & FLAG_UNREACHABLE)
        self.assertEqual(snap.row(big_list)["length"], 2000000)
        self.assertEqual(snap.q1("SELECT count(*) FROM edge_list WHERE "
                                 "src = ?", snap.oid(big_list)), 2000000)
        self.assertEqual(snap.labels(big_list, tail), ["[1999999]"])
        self.assertEqual(snap.row(big_dict)["length"], 1000000)
        self.assertEqual(snap.labels(big_dict, head), ["[999999]"])
        self.assertEqual(snap.q1("SELECT count(*) FROM edge_list WHERE "
                                 "src = ?", snap.oid(big_dict)), 2000000)
        sys.stdout.write("# deep and huge: %d objects, %d edges, %.1f s\n" %
                         (snap.facts["objects"], snap.facts["edges"],
                          seconds))
        # Tear the chain down without recursing in CPython's dealloc.
        while head is not None:
            head = head.next

    def test_deep_nesting(self):
        # Nested lists and dicts 200,000 deep: tp_traverse depth is 1 per
        # object, the walk's queue does the rest.
        deep = []
        for _ in range(200000):
            deep = [deep]
        nested = {}
        for i in range(200000):
            nested = {"k": nested}
        snap = self.dump()
        self.assertEqual(snap.labels(deep, deep[0]), ["[0]"])
        self.assertEqual(snap.labels(nested, nested["k"]), ["['k']"])
        n = snap.q1("SELECT count(*) FROM objects o JOIN types t ON "
                    "t.id = o.type_id WHERE t.name = 'list'")
        self.assertGreater(n, 200000)

    def test_hostile_objects(self):
        objs = [Hostile() for _ in range(10)]
        d = {objs[0]: objs[1]}
        s = {objs[2]}
        snap = self.dump()
        for o in objs:
            self.assertIsNotNone(snap.oid(o))
        self.assertEqual(len(snap.edges(d, objs[1])), 1)
        self.assertEqual(snap.edges(s, objs[2]), [("element", "{element}")])
        # The key's label is its type, never its repr.
        self.assertEqual(snap.labels(d, objs[1]), ["[<Hostile>]"])

    def test_sizeof_that_mutates_the_heap(self):
        victims = [Marker() for _ in range(100)]
        addresses = [id(v) for v in victims]
        box = []

        class Mutator:
            def __sizeof__(self):
                if box:
                    return 1000
                # Runs after the walk: free objects, make new ones.
                del victims[:]
                box.append([Marker() for _ in range(100)])
                gc.collect()
                return 1000
        m = Mutator()
        snap = self.dump()
        self.assertEqual(snap.row(m)["size"], own_size(m))
        self.assertEqual(snap.reported_size(m), sys.getsizeof(m))
        self.assertFalse(snap.row(m)["flags"] & FLAG_SIZE_FALLBACK)
        self.assertEqual(victims, [])
        self.assertEqual(len(box), 1)
        # The snapshot is the heap as the walk saw it: the victims alive.
        self.assertEqual(snap.q1(
            "SELECT count(*) FROM objects WHERE type_id = ? AND address IN "
            "(%s)" % ",".join(map(str, addresses)), snap.oid(Marker)), 100)
        self.assertEqual(snap.q1("SELECT count(*) FROM objects"),
                         snap.meta("object_count"))

    def test_sizeof_that_dumps(self):
        errors = []
        outer = self.path()
        inner = self.path()

        class Nested:
            def __sizeof__(self):
                try:
                    heapsnap.dump(inner)
                except heapsnap.Error as e:
                    errors.append(str(e))
                return 10
        n = Nested()
        heapsnap.dump(outer)
        self.assertEqual(len(errors), 1)
        self.assertIn("already running", errors[0])
        self.assertFalse(os.path.exists(inner))
        self.assertTrue(os.path.exists(outer))
        del n

    def test_signal_during_dump(self):
        # A Python signal handler can only run where Python code runs
        # during a dump: a __sizeof__ after the walk.  A dump it asks for
        # is refused cleanly and the running dump completes.
        if not hasattr(signal, "SIGUSR1"):
            self.skipTest("no SIGUSR1")
        seen = []
        inner = self.path()

        def handler(sig, frame):
            try:
                heapsnap.dump(inner)
                seen.append("dumped")
            except heapsnap.Error as e:
                seen.append(str(e))

        class Kicker:
            def __sizeof__(self):
                if not armed:
                    return 64
                # raise() delivers to this thread before it returns; the
                # handler runs at the next bytecode boundary.
                signal.raise_signal(signal.SIGUSR1)
                deadline = time.monotonic() + 10
                while not seen and time.monotonic() < deadline:
                    time.sleep(0.001)
                return 64
        armed = [1]
        old = signal.signal(signal.SIGUSR1, handler)
        try:
            k = Kicker()
            outer = self.path()
            heapsnap.dump(outer)
        finally:
            armed.clear()
            signal.signal(signal.SIGUSR1, old)
        self.assertEqual(len(seen), 1, seen)
        self.assertIn("already running", seen[0])
        self.assertFalse(os.path.exists(inner))
        snap = Snapshot(outer)
        self.snaps.append(snap)
        self.assertEqual(snap.row(k)["size"], own_size(k))
        self.assertEqual(snap.reported_size(k), sys.getsizeof(k))

    def test_install_handler_dumps(self):
        if not hasattr(signal, "SIGUSR2"):
            self.skipTest("no SIGUSR2")
        self.run_child("""
            import os, signal, sys, time, heapsnap
            base = os.path.join(os.environ["HS_TEST_TMP"], "sig.db")
            heapsnap.install(path=base)
            os.kill(os.getpid(), signal.SIGUSR2)
            for _ in range(100):
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGUSR2)
            heapsnap.wait()  # the handler returned after the walk
            names = sorted(os.listdir(os.environ["HS_TEST_TMP"]))
            assert names == ["sig.1.db", "sig.2.db"], names
            import sqlite3
            db = sqlite3.connect(os.path.join(os.environ["HS_TEST_TMP"],
                                              "sig.1.db"))
            assert db.execute("SELECT value FROM meta WHERE key = "
                              "'trigger'").fetchone()[0] == "signal"
        """)

    def test_dump_from_other_thread(self):
        out = {}
        p = self.path()
        main_local = Marker("main")

        def work():
            try:
                out["path"] = heapsnap.dump(p)
            except BaseException as e:   # reported to the main thread
                out["error"] = e
        t = threading.Thread(target=work, name="hs-dumper")
        t.start()
        t.join()
        self.assertNotIn("error", out)
        snap = Snapshot(p)
        self.snaps.append(snap)
        rows = dict((name, (m, d)) for name, m, d in snap.q(
            "SELECT name, is_main, is_dumper FROM threads"))
        self.assertEqual(rows["hs-dumper"], (0, 1))
        self.assertEqual(rows["MainThread"], (1, 0))
        self.assertIsNotNone(snap.oid(main_local))

    def test_out_of_memory(self):
        # One allocation fails, at each of many points of the dump; then
        # every allocation from a point on.  Each attempt must raise
        # heapsnap.Error (or MemoryError where Python itself ran out),
        # leave no file, and the next dump must work.
        self.run_child("""
            import os, sys
            try:
                import _testcapi
                _testcapi.set_nomemory
            except (ImportError, AttributeError):
                print("skip")
                sys.exit(0)
            import heapsnap
            from heapsnap import _heapsnap
            tmp = os.environ["HS_TEST_TMP"]
            p = os.path.join(tmp, "oom.db")
            set_nomemory = _testcapi.set_nomemory
            remove = _testcapi.remove_mem_hooks
            dump = _heapsnap._dump

            def attempt(start, stop):
                set_nomemory(start, stop)
                try:
                    dump(p)
                except BaseException as e:
                    remove()
                    return e
                remove()
                return None
            points = list(range(60)) + [int(60 * 1.3 ** k)
                                        for k in range(1, 18)]
            causes = set()
            ok = 0
            for start in points:
                for stop in (start + 1, 0):
                    if stop == 0 and start % 5:
                        continue
                    e = attempt(start, stop)
                    if e is None:
                        ok += 1
                        os.unlink(p)
                        continue
                    assert isinstance(e, (heapsnap.Error, MemoryError)), \\
                        repr(e)
                    if isinstance(e, heapsnap.Error):
                        causes.add(str(e).split(":")[0].split(" (")[0])
                    left = os.listdir(tmp)
                    assert not left, (start, stop, left, repr(e))
            heapsnap.dump(p)
            assert os.path.exists(p)
            print(sorted(causes), ok)
            assert "out of memory" in causes, causes
        """)

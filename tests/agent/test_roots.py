"""Roots and reachability: threads and their frames, external references
held from C, module globals, weak references, unreachable cycles."""

import collections
import ctypes
import gc
import os
import sys
import threading
import unittest
import weakref

from hstest import (AgentTest, FLAG_SIZE_FALLBACK, FLAG_UNREACHABLE, Marker,
                    PY)

# Held by this module's namespace only: no external reference.
GLOBAL_HELD = Marker("global")


class CycleNode:
    """Only the cycle test makes these."""

    def __init__(self):
        self.me = self


def sleeper(ready, stop, box):
    sleeper_local = Marker("in thread")
    box.append(id(sleeper_local))
    ready.set()
    stop.wait(60)
    return sleeper_local


class RootTest(AgentTest):

    def test_background_thread_local(self):
        ready, stop, box = threading.Event(), threading.Event(), []
        t = threading.Thread(target=sleeper, args=(ready, stop, box),
                             name="hs-sleeper")
        t.start()
        try:
            self.assertTrue(ready.wait(10))
            snap = self.dump()
            threads = snap.q("SELECT id, ident, name, is_main, is_dumper, "
                             "object_id FROM threads WHERE ident = ?",
                             t.ident)
            self.assertEqual(len(threads), 1)
            tid, _, name, is_main, is_dumper, object_id = threads[0]
            self.assertEqual(name, "hs-sleeper")
            self.assertEqual((is_main, is_dumper), (0, 0))
            self.assertEqual(object_id, snap.oid(t))
            frames = snap.q("SELECT id, depth, function, file, line FROM "
                            "frames WHERE thread_id = ? AND function = "
                            "'sleeper'", tid)
            self.assertEqual(len(frames), 1)
            fid, depth, _, path, line = frames[0]
            self.assertEqual(os.path.basename(path), "test_roots.py")
            self.assertEqual(line, sleeper.__code__.co_firstlineno + 4)
            self.assertGreater(depth, 0)     # Event.wait runs above it
            local = snap.q1("SELECT id FROM objects WHERE address = ?",
                            box[0])
            self.assertIsNotNone(local)
            if PY >= (3, 11):
                self.assertEqual(snap.q(
                    "SELECT kind, label, thread_id, frame_id FROM roots "
                    "WHERE object_id = ?", local),
                    [("frame", "local sleeper_local", tid, fid)])
            else:
                fobj = snap.q1("SELECT object_id FROM frames WHERE id = ?",
                               fid)
                self.assertEqual(snap.q(
                    "SELECT kind, label FROM edges WHERE src = ? AND "
                    "dst = ?", fobj, local),
                    [("local", "local sleeper_local")])
                self.assertEqual(snap.q(
                    "SELECT kind, label, thread_id, frame_id FROM roots "
                    "WHERE object_id = ?", fobj),
                    [("frame", "frame", tid, fid)])
            main = snap.q("SELECT is_main, is_dumper FROM threads WHERE "
                          "ident = ?", threading.get_ident())
            self.assertEqual(main, [(1, 1)])
        finally:
            stop.set()
            t.join()

    def test_external_reference(self):
        obj = Marker("leaked")
        addr = id(obj)
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
        del obj
        try:
            snap = self.dump()
            oid = snap.q1("SELECT id FROM objects WHERE address = ?", addr)
            self.assertEqual(snap.type_name(oid), "Marker")
            self.assertEqual(
                snap.q("SELECT kind, label FROM roots WHERE object_id = ?",
                       oid),
                [("external", "1 reference from outside the heap")])
            self.assertEqual(snap.q1("SELECT flags & ? FROM objects WHERE "
                                     "id = ?", FLAG_UNREACHABLE, oid), 0)
        finally:
            obj = ctypes.cast(addr, ctypes.py_object).value
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))
        # Twice leaked: the label counts.
        for _ in range(2):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
        try:
            snap = self.dump()
            self.assertIn(("external", "2 references from outside the heap",
                           None, None), snap.roots(obj))
        finally:
            for _ in range(2):
                ctypes.pythonapi.Py_DecRef(ctypes.py_object(obj))

    def test_module_global_is_not_external(self):
        snap = self.dump()
        self.assertEqual(snap.roots(GLOBAL_HELD), [])
        mod_dict = sys.modules[__name__].__dict__
        self.assertEqual(snap.labels(mod_dict, GLOBAL_HELD),
                         ["['GLOBAL_HELD']"])
        r = snap.row(GLOBAL_HELD)
        self.assertEqual(r["refcount"], sys.getrefcount(GLOBAL_HELD) - 1)
        self.assertFalse(r["flags"] & FLAG_UNREACHABLE)

    def test_no_external_for_plain_objects(self):
        # A structure held only through the heap has no external roots.
        tree = Marker([Marker({"k": Marker()}) for _ in range(50)])
        global _TREE
        _TREE = tree
        try:
            snap = self.dump()
            stack, seen = [tree], 0
            while stack:
                o = stack.pop()
                seen += 1
                self.assertEqual([r for r in snap.roots(o)
                                  if r[0] == "external"], [], repr(o))
                if isinstance(o, Marker):
                    stack.append(o.tag)
                elif isinstance(o, list):
                    stack.extend(o)
                elif isinstance(o, dict):
                    stack.extend(o.values())
            self.assertGreater(seen, 150)
        finally:
            del _TREE

    def test_weak_reference_never_retains(self):
        value = Marker("weakly held")
        wvd = weakref.WeakValueDictionary()
        wvd["key"] = value
        keyed = wvd.data["key"]
        wset = weakref.WeakSet([value])
        proxy = weakref.proxy(value)
        snap = self.dump()
        self.assertEqual(snap.edges(keyed, value), [("weak", "(weak)")])
        self.assertEqual(snap.q1("SELECT retains FROM edge_kinds WHERE "
                                 "name = 'weak'"), 0)
        strong = [e for e in snap.in_edges(value) if e[0] != "weak"]
        weak = [e for e in snap.in_edges(value) if e[0] == "weak"]
        self.assertEqual(len(weak), 3)           # KeyedRef, WeakSet, proxy
        # Strong in-edges plus this frame's local account for the
        # refcount: weak edges are not counted (no external root, no
        # negative balance).
        self.assertEqual([r for r in snap.roots(value)
                          if r[0] == "external"], [])
        self.assertEqual(snap.row(value)["refcount"],
                         len(strong) + (1 if PY >= (3, 11) else 0))
        del proxy, wset

    def test_weak_only_object_is_unreachable_garbage(self):
        # Held by nothing but a cycle and a weak reference: garbage.
        gc.disable()
        try:
            node = CycleNode()
            ref = weakref.ref(node)
            addr = id(node)
            del node
            snap = self.dump()
            oid = snap.q1("SELECT id FROM objects WHERE address = ?", addr)
            self.assertTrue(snap.q1("SELECT flags FROM objects WHERE id = ?",
                                    oid) & FLAG_UNREACHABLE)
            self.assertIsNotNone(ref())
        finally:
            gc.enable()
            gc.collect()

    def test_unreachable_cycles(self):
        gc.collect()
        gc.disable()
        try:
            addrs = []
            for _ in range(10):
                a, b = CycleNode(), CycleNode()
                a.other, b.other = b, a
                addrs += [id(a), id(b)]
                del a, b
            reachable = CycleNode()
            snap = self.dump()
            rows = snap.q("SELECT o.address, o.flags FROM objects o JOIN "
                          "types t ON t.id = o.type_id WHERE t.name = "
                          "'CycleNode'")
            flagged = {a for a, f in rows if f & FLAG_UNREACHABLE}
            self.assertEqual(flagged, set(addrs))
            self.assertFalse(snap.row(reachable)["flags"] & FLAG_UNREACHABLE)
            # Their dicts (or values) are unreachable too, not roots.
            self.assertEqual(snap.q1(
                "SELECT count(*) FROM roots r JOIN objects o ON "
                "o.id = r.object_id WHERE o.address IN (%s)" %
                ",".join(map(str, addrs))), 0)
            # collect=True: gone.
            p = self.path()
            facts = None
            import heapsnap
            heapsnap.dump(p, collect=True)
            from hstest import Snapshot
            snap2 = Snapshot(p, facts)
            self.snaps.append(snap2)
            self.assertEqual(snap2.q1(
                "SELECT count(*) FROM objects o JOIN types t ON "
                "t.id = o.type_id WHERE t.name = 'CycleNode' AND "
                "o.flags & ?", FLAG_UNREACHABLE), 0)
            self.assertEqual(snap2.meta("gc_collected"), 1)
            self.assertEqual(snap.meta("gc_collected"), 0)
        finally:
            gc.enable()

    def test_unreachable_rows_whose_size_is_called_later(self):
        # A deque's size comes from its own C __sizeof__, called after the
        # walk, which rewrites its row's size and flags; the unreachable
        # flag, known only once the walk is over, must survive that.
        gc.collect()
        gc.disable()
        try:
            a = CycleNode()
            a.other = collections.deque([a, "x" * 10] * 40)
            address, size = id(a.other), sys.getsizeof(a.other)
            del a
            snap = self.dump()
            flags, got = snap.q("SELECT flags, size FROM objects WHERE "
                                "address = ?", address)[0]
            self.assertTrue(flags & FLAG_UNREACHABLE)
            self.assertFalse(flags & FLAG_SIZE_FALLBACK)
            self.assertEqual(got, size)
        finally:
            gc.enable()

    def test_sys_modules_and_builtins_roots(self):
        snap = self.dump()
        self.assertIn(("sys", "sys.modules", None, None),
                      snap.roots(sys.modules))
        import builtins
        self.assertIn(("builtins", "builtins", None, None),
                      snap.roots(builtins.__dict__))
        self.assertIn(("module", "os", None, None), snap.roots(os))

    def test_everything_reachable_is_not_flagged(self):
        gc.collect()
        snap = self.dump()
        # After a collection nothing is garbage but what the dump's own
        # call made meanwhile: no tracked object should be unreachable.
        rows = snap.q("SELECT t.name, count(*) FROM objects o JOIN types t "
                      "ON t.id = o.type_id WHERE o.flags & ? GROUP BY t.name",
                      FLAG_UNREACHABLE)
        self.assertEqual(rows, [])


if __name__ == "__main__":
    unittest.main()

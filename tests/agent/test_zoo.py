"""Check-mode invariants on a zoo of object kinds (zoo.py): no labelled
reference that tp_traverse should report is missing from it
(check_mismatches == 0) and no object has more references than its
refcount (check_negative_balances == 0); every zoo object is in the
snapshot with its getsizeof size."""

import gc
import sys
import unittest

import zoo
from hstest import AgentTest, FLAG_SIZE_FALLBACK


def flatten(z):
    out = []
    for v in z.values():
        if isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


class ZooTest(AgentTest):

    def check_zoo(self, snap, objs):
        for o in objs:
            self.assertIsNotNone(snap.oid(o), type(o))

    def test_zoo_in_process(self):
        z = zoo.build()
        objs = flatten(z)
        sizes = [sys.getsizeof(o) for o in objs]
        snap = self.dump()
        self.check_zoo(snap, objs)
        bad = []
        for o, size in zip(objs, sizes):
            r = snap.row(o)
            if sys.getsizeof(o) == size and (
                    r["size"] != size or r["flags"] & FLAG_SIZE_FALLBACK):
                bad.append((type(o).__name__, r["size"], size))
        self.assertEqual(bad, [])

    def test_zoo_sizes_forked(self):
        # A forked child runs no Python code, yet sizes what the parent's
        # sys.getsizeof says (hstest.own_size): generators, coroutines,
        # frames and code objects of 3.11+ have no ob_size to multiply
        # (their C __sizeof__ is called), every other kind of the zoo too.
        out = self.run_child("""
            import os, sys, heapsnap, hstest, zoo
            objs = []
            for v in zoo.build().values():
                objs.extend(v if isinstance(v, list) else [v])
            want = [hstest.own_size(o) for o in objs]
            p = os.path.join(os.environ["HS_TEST_TMP"], "forked.db")
            heapsnap.dump(p, fork=True)
            heapsnap.wait()
            snap = hstest.Snapshot(p)
            assert snap.meta("forked") == 1
            bad = []
            kinds = set()
            for o, size in zip(objs, want):
                if hstest.own_size(o) != size:
                    continue  # changed since (a running frame)
                r = snap.row(o)
                kinds.add(type(o).__name__)
                if r["size"] != size or r["flags"] & hstest.FLAG_SIZE_FALLBACK:
                    bad.append((type(o).__name__, r["size"], size))
            assert not bad, bad
            for k in ("generator", "coroutine", "async_generator", "frame",
                      "code"):
                assert k in kinds, (k, sorted(kinds))
            print("ok", len(kinds))
        """)
        self.assertIn("ok", out)

    def test_zoo_fresh_interpreter(self):
        out = self.run_child("""
            import gc, os, sys, hstest, zoo
            z = zoo.build()
            p = os.path.join(os.environ["HS_TEST_TMP"], "zoo.db")
            snap = hstest.child_snapshot(p, hstest.raw_dump(p))
            for v in z.values():
                for o in (v if isinstance(v, list) else [v]):
                    assert snap.oid(o) is not None, type(o)
            # References only tp_traverse names, by referrer type: the
            # labelled part should cover the builtins.
            core = ("dict", "list", "tuple", "set", "frozenset", "type",
                    "function", "cell", "method", "code", "frame",
                    "generator", "coroutine", "async_generator",
                    "traceback", "weakref", "weakproxy", "KeyedRef",
                    "builtin_function_or_method", "property",
                    "classmethod", "staticmethod", "method_descriptor",
                    "member_descriptor", "getset_descriptor",
                    "wrapper_descriptor", "BaseException", "Exception",
                    "ValueError", "KeyError", "OSError", "SyntaxError",
                    "StopIteration", "ExceptionGroup", "Plain", "Slotted",
                    "SlottedDict", "ListSub", "DictSub", "TupleSub",
                    "ExcSub", "Point", "functools.partial", "partial",
                    "SimpleNamespace", "NT", "Color")
            rows = snap.q(
                "SELECT t.name, count(*) FROM edges e JOIN objects o ON "
                "o.id = e.src JOIN types t ON t.id = o.type_id WHERE "
                "e.kind = 'other' AND t.name IN (%s) GROUP BY t.name" %
                ",".join("'%s'" % n for n in core))
            print("ROWS=%r" % (rows,))
        """)
        rows = eval([line for line in out.splitlines()
                     if line.startswith("ROWS=")][0][5:])
        self.assertEqual(rows, [], "core types with unlabelled references")

    def test_zoo_frozen_and_threads(self):
        self.run_child("""
            import gc, os, threading, hstest, zoo
            z = zoo.build()
            gc.freeze()
            z2 = zoo.build()
            stop = threading.Event()
            ts = [threading.Thread(target=stop.wait, args=(30,))
                  for _ in range(3)]
            for t in ts:
                t.start()
            try:
                p = os.path.join(os.environ["HS_TEST_TMP"], "zoo.db")
                snap = hstest.child_snapshot(p, hstest.raw_dump(p))
                assert snap.q1("SELECT count(*) FROM threads") == 4
            finally:
                stop.set()
                for t in ts:
                    t.join()
        """)

    def test_zoo_after_collect(self):
        z = zoo.build()
        gc.collect()
        snap = self.dump()
        self.check_zoo(snap, flatten(z))


if __name__ == "__main__":
    unittest.main()

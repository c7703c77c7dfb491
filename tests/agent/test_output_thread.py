"""Phase 1's output thread (agent/handoff.c, walk.c's output side).

By default the rows of a dump are made on a second thread while the walk
goes on; the rest of the suite checks those snapshots against the live
process.  Here: the same checks with the rows made on the walking thread
(HEAPSNAP_OUTPUT_THREAD=0, also what a forked child does); when each way is taken; and a read that faults on the output thread,
which must fail the dump like one on the walking thread."""

import os
import unittest

import native
import test_coverage
import test_labels
from hstest import AgentTest

ENV = "HEAPSNAP_OUTPUT_THREAD"


def cpus():
    return len(os.sched_getaffinity(0))


class Inline:
    """Runs a test class's tests with the output on the walking thread."""

    def setUp(self):
        self._saved = os.environ.get(ENV)
        os.environ[ENV] = "0"
        super().setUp()

    def tearDown(self):
        super().tearDown()
        if self._saved is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = self._saved

    def dump(self, *args, **kwargs):
        snap = super().dump(*args, **kwargs)
        self.assertEqual(snap.meta("output_thread"), 0)
        return snap


class InlineCoverageTest(Inline, test_coverage.CoverageTest):
    pass


class InlineLabelTest(Inline, test_labels.LabelTest):
    pass


class OutputThreadTest(AgentTest):

    def test_when_the_output_has_a_thread(self):
        if cpus() < 2:
            raise unittest.SkipTest("one CPU: the output never has a thread")
        out = self.run_child("""
            import os, sqlite3, tracemalloc
            import heapsnap
            tmp = os.environ["HS_TEST_TMP"]

            def meta(p):
                db = sqlite3.connect(p)
                v = db.execute("SELECT value FROM meta "
                               "WHERE key = 'output_thread'").fetchone()[0]
                db.close()
                return int(v)

            def dump(name, fork=False):
                p = os.path.join(tmp, name)
                if fork:
                    heapsnap.dump(p, fork=True)
                    heapsnap.wait()
                    return None, meta(p)
                facts = heapsnap._heapsnap._dump(p)
                # The walk's wait for the output thread is part of phase
                # 1; without the thread there is none.
                wait = facts["output_wait_seconds"]
                assert (0 <= wait <= facts["phases"][1]
                        if facts["output_thread"] else wait == 0), facts
                return facts["output_thread"], meta(p)

            keep = [[i, str(i), float(i)] for i in range(200000)]
            print("default", dump("a.db"))
            os.environ["HEAPSNAP_OUTPUT_THREAD"] = "0"
            print("told not", dump("b.db"))
            del os.environ["HEAPSNAP_OUTPUT_THREAD"]
            # tracemalloc's raw allocator takes the GIL, which the walk
            # holds while it waits for the output thread: that thread
            # must not use it (a deadlock would hang the child).
            tracemalloc.start()
            print("traced", dump("c.db"))
            tracemalloc.stop()
            print("forked", dump("d.db", fork=True))
            print("again", dump("e.db"))
        """, timeout=240)
        self.assertEqual(out.split("\n")[:5], [
            "default (True, 1)", "told not (False, 0)", "traced (True, 1)",
            "forked (None, 0)", "again (True, 1)"])

    def test_fault_on_the_output_side_fails_the_dump(self):
        """Only the output side reads a str's characters: a str subclass
        instance whose character pointer is unmapped faults there, and the
        dump fails with the object's type named, leaving no file; the
        process goes on and dumps again once the pointer is put back."""
        out = self.run_child("""
            import gc, os, sys
            sys.path.insert(0, %r)
            gc.disable()
            import heapsnap, hs_native
            tmp = os.environ["HS_TEST_TMP"]
            p = os.path.join(tmp, "wild.db")

            class WildChars(str):
                __slots__ = ()

            s = WildChars("some characters " * 8)
            keep = [s]
            for mode in ("1", "0"):
                os.environ["HEAPSNAP_OUTPUT_THREAD"] = mode
                old = hs_native.swap_str_data(s, 0)
                try:
                    heapsnap.dump(p)
                    msg = None
                except heapsnap.Error as e:
                    msg = str(e)
                hs_native.swap_str_data(s, old)
                assert msg, "no error with output thread %%s" %% mode
                assert "invalid memory" in msg, msg
                assert "'WildChars'" in msg, msg
                assert "process is unharmed" in msg, msg
                assert os.listdir(tmp) == [], os.listdir(tmp)
                print(mode, "failed")
            del os.environ["HEAPSNAP_OUTPUT_THREAD"]
            assert s == "some characters " * 8
            heapsnap.dump(p)
            print("ok", sorted(os.listdir(tmp)))
        """ % native.path())
        self.assertIn("1 failed\n0 failed\nok ['wild.db']", out)


if __name__ == "__main__":
    unittest.main()

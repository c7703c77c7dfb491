"""dump(fork=True): a forked child writes the snapshot of the heap as it
was at fork() while the process carries on.  The child's snapshot holds
the same objects as an in-place one of the same heap, runs no Python code,
keeps other threads' frames, reports failures through wait(), and works
from a signal handler (install(fork=True))."""

import os
import unittest

from hstest import AgentTest, FLAG_SIZE_FALLBACK, Snapshot


class ForkTest(AgentTest):

    def test_forked_snapshot_equals_in_place_one(self):
        out = self.run_child("""
            import gc, os, sqlite3, heapsnap
            from hstest import Marker, raw_dump
            gc.disable()
            keep = [Marker(i) for i in range(3000)]
            table = {"k%d" % i: (Marker(-i), [i] * 3) for i in range(500)}
            tmp = os.environ["HS_TEST_TMP"]
            raw_dump(tmp + "/in_place.db", check=True)
            heapsnap.dump(tmp + "/forked.db", fork=True)
            print(heapsnap.wait())

            def objects(path):
                db = sqlite3.connect(path)
                rows = db.execute(
                    "SELECT o.address, t.name FROM objects o "
                    "JOIN types t ON t.id = o.type_id").fetchall()
                edges = db.execute(
                    "SELECT count(*) FROM edges e JOIN objects s ON "
                    "s.id = e.src JOIN types t ON t.id = s.type_id "
                    "WHERE t.name = 'Marker'").fetchone()[0]
                meta = dict(db.execute("SELECT key, value FROM meta"))
                db.close()
                return dict(rows), edges, meta

            a, ea, ma = objects(tmp + "/in_place.db")
            b, eb, mb = objects(tmp + "/forked.db")
            markers = [id(m) for m in keep] + [id(v[0]) for v in table.values()]
            assert all(a.get(x) == "Marker" for x in markers)
            assert all(b.get(x) == "Marker" for x in markers)
            assert ea == eb, (ea, eb)
            # Between the two dumps only the first one's result and the
            # fork's bookkeeping were allocated.
            only_a = set(a) - set(b)
            only_b = set(b) - set(a)
            assert len(only_a) < 300 and len(only_b) < 300, (
                len(only_a), len(only_b))
            assert mb["pid"] == os.getpid() and mb["forked"] == 1, mb
            assert ma["forked"] == 0, ma
            print("ok", len(a), len(b))
        """)
        self.assertIn("forked.db", out)
        self.assertIn("ok", out)

    def test_the_child_runs_no_python_code(self):
        out = self.run_child("""
            import os, sqlite3, sys, heapsnap
            calls = []

            class Sized:
                def __sizeof__(self):
                    calls.append(os.getpid())
                    return 4242

            s = Sized()
            tmp = os.environ["HS_TEST_TMP"]
            heapsnap.dump(tmp + "/forked.db", fork=True)
            heapsnap.wait()
            assert calls == [], calls  # not in this process either
            db = sqlite3.connect(tmp + "/forked.db")
            size, flags = db.execute(
                "SELECT size, flags FROM objects WHERE address = ?",
                (id(s),)).fetchone()
            print(size, flags)
            heapsnap.dump(tmp + "/in_place.db")
            db = sqlite3.connect(tmp + "/in_place.db")
            own, reported = db.execute(
                "SELECT o.size, r.size FROM objects o LEFT JOIN "
                "reported_sizes r ON r.object_id = o.id WHERE address = ?",
                (id(s),)).fetchone()
            print(own, reported, sys.getsizeof(s),
                  object.__sizeof__(s) + sys.getsizeof(s) - s.__sizeof__())
        """)
        forked, in_place = out.splitlines()[-2:]
        size, flags = map(int, forked.split())
        own, reported, getsizeof, expected = map(int, in_place.split())
        # Both keep what the object owns (object.__sizeof__ and its
        # pre-header); only the one made in place asked the Python
        # __sizeof__, whose figure is kept apart.
        self.assertEqual((size, own), (expected, expected))
        self.assertEqual(reported, getsizeof)
        self.assertFalse(flags & FLAG_SIZE_FALLBACK)

    def test_other_threads_keep_their_frames(self):
        out = self.run_child("""
            import os, sqlite3, threading, heapsnap
            from hstest import Marker
            ready, stop = threading.Event(), threading.Event()

            def worker():
                held_by_worker = Marker("w")
                ready.set()
                stop.wait()

            t = threading.Thread(target=worker, name="bg-worker")
            t.start()
            ready.wait()
            tmp = os.environ["HS_TEST_TMP"]
            heapsnap.dump(tmp + "/forked.db", fork=True)
            heapsnap.wait()
            stop.set()
            t.join()
            db = sqlite3.connect(tmp + "/forked.db")
            # A local of the worker's frame: a root of its thread (3.11+)
            # or a reference from its frame object (3.8 to 3.10).
            print(db.execute(
                "SELECT r.label FROM roots r JOIN objects o "
                "ON o.id = r.object_id JOIN types ty ON ty.id = o.type_id "
                "WHERE ty.name = 'Marker' UNION ALL SELECT e.label FROM "
                "edges e JOIN objects o ON o.id = e.dst JOIN types ty "
                "ON ty.id = o.type_id WHERE ty.name = 'Marker'").fetchall())
            print(db.execute("SELECT name FROM threads").fetchall())
        """)
        self.assertIn("held_by_worker", out)
        self.assertIn("bg-worker", out)

    def test_a_failure_is_raised_by_wait_and_leaves_nothing(self):
        out = self.run_child("""
            import os, heapsnap
            tmp = os.environ["HS_TEST_TMP"]
            bad = tmp + "/missing/x.db"
            heapsnap.dump(bad, fork=True)
            try:
                heapsnap.wait()
            except heapsnap.Error as e:
                print("error:", e)
            print(sorted(os.listdir(tmp)))
            print(heapsnap.wait())  # nothing left to wait for
        """)
        self.assertIn("error: cannot create", out)
        self.assertIn("missing/x.db.tmp", out)
        self.assertIn("[]\n[]", out)

    def test_install_fork_on_a_signal(self):
        out = self.run_child("""
            import os, signal, sqlite3, time, heapsnap
            from hstest import Marker
            keep = [Marker() for _ in range(77)]
            tmp = os.environ["HS_TEST_TMP"]
            base = heapsnap.install(path=tmp + "/sig.db", fork=True)
            os.kill(os.getpid(), signal.SIGUSR2)
            time.sleep(0.05)  # the handler runs between bytecodes
            paths = heapsnap.wait()
            print(paths)
            db = sqlite3.connect(paths[0])
            print(db.execute(
                "SELECT count(*) FROM objects o JOIN types t "
                "ON t.id = o.type_id WHERE t.name = 'Marker'").fetchone()[0],
                dict(db.execute("SELECT key, value FROM meta"))["trigger"])
        """)
        self.assertIn("sig.1.db", out)
        self.assertIn("77 signal", out)

    def test_attach_entry_point_waits_for_the_child(self):
        out = self.run_child("""
            import os, heapsnap
            tmp = os.environ["HS_TEST_TMP"]
            facts = heapsnap._attach_dump(tmp + "/a.db", False, False, True)
            print(facts["forked"], facts["objects"] > 1000,
                  os.path.exists(tmp + "/a.db"))
            facts = heapsnap._attach_dump(tmp + "/b.db", False, False)
            print("phases" in facts, os.path.exists(tmp + "/b.db"))
        """)
        self.assertIn("True True True\nTrue True", out)


if __name__ == "__main__":
    unittest.main()

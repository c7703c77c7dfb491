"""Issue 17: the pause is the walk.  The walk never waits for the SQLite
writer: chunks it cannot queue go to the spool (an unlinked file next to
the snapshot), and the writer finishes after the walk with the GIL
released, so the program's other threads run meanwhile.

The writer's test gate (_dump(writer_gate=fd)) makes this deterministic:
the writer writes nothing until a byte arrives on the fd, so every chunk
after the first few goes through the spool, and the byte is sent by a
Python thread that can only run once the dumping thread has released the
GIL.  Were the GIL held to the end, the writer would give up at its gate
and the dump would fail.  While the gate is closed that thread also
checks what the released GIL allows: another dump is refused, and a
fork() waits for the writer (whose locks would otherwise stay locked in
the child), after which the child can dump its own heap.  The byte
itself comes from a process (hstest.gate_opener), because the thread
waiting in fork() holds the GIL."""

import json

from hstest import AgentTest

CHILD = """
    import gc, json, os, resource, signal, sys, threading, time
    import heapsnap
    from heapsnap import _heapsnap
    import hstest

    class Item:
        def __init__(self, i):
            self.i = i
            self.name = "item-%%d" %% i
            self.tags = [i, str(i), (i, -i)]

    FSIZE = %(fsize)d
    keep = [Item(i) for i in range(60000)]
    tmp = os.environ["HS_TEST_TMP"]
    p = os.path.join(tmp, "gated.db")
    r, w = os.pipe()
    seen = {}
    forking = os.path.join(tmp, "forking")
    opener = hstest.gate_opener(w, forking)

    def while_writer_waits():
        # Another dump while the writer finishes: refused.
        try:
            _heapsnap._dump(os.path.join(tmp, "second.db"))
            seen["second"] = "written"
        except heapsnap.Error as e:
            seen["second"] = str(e)
        # A fork now waits for the writer (its locks would stay locked in
        # the child), and the child is not stuck with the parent's dump.
        seen["forked"], _, seen["child_status"] = hstest.fork_and_dump(
            forking, os.path.join(tmp, "child.db"))

    def open_gate():
        # FILE.tmp exists from the start of the dump; this thread sees it
        # only when it gets the GIL.
        end = time.perf_counter() + 120
        while not os.path.exists(p + ".tmp"):
            if time.perf_counter() > end:
                return
            time.sleep(0.0005)
        seen["opened"] = time.perf_counter()
        # The pause is over and the writer still waits at its gate: it
        # creates the schema, so SQLite has not written FILE.tmp yet.
        seen["tmp_bytes"] = os.path.getsize(p + ".tmp")
        if not FSIZE:
            while_writer_waits()
        else:
            open(forking, "w").close()

    def fds():
        return sorted(os.listdir("/proc/self/fd"))

    gc.collect()
    fds_before = fds()
    if FSIZE:
        # The gated writer has written almost nothing to FILE.tmp: the
        # spool is the file that outgrows the limit.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
    t = threading.Thread(target=open_gate, daemon=True)
    t.start()
    t0 = time.perf_counter()
    try:
        facts = _heapsnap._dump(p, check=True, writer_gate=r)
        error = None
    except heapsnap.Error as e:
        facts, error = None, str(e)
    t1 = time.perf_counter()
    t.join()
    seen["gate"] = float(opener.communicate()[0])
    os.remove(forking)
    os.close(r)
    os.close(w)
    out = {"error": error, "t0": t0, "t1": t1, "seen": seen,
           "files": sorted(os.listdir(tmp)),
           "fds_left": sorted(set(fds()) - set(fds_before))}
    if facts:
        snap = hstest.child_snapshot(p, facts)
        out.update({
            "facts": {k: facts[k] for k in ("objects", "edges", "roots",
                                              "pause_seconds", "seconds")},
            "rows": snap.q1("SELECT count(*) FROM objects"),
            "edge_rows": snap.q1("SELECT count(*) FROM edge_list"),
            "root_rows": snap.q1("SELECT count(*) FROM roots"),
            "mismatches": snap.meta("check_mismatches"),
            "negative": snap.meta("check_negative_balances"),
            "items": snap.q1("SELECT count(*) FROM objects o JOIN types t "
                             "ON t.id = o.type_id WHERE t.name = 'Item'"),
            "missing": [k.i for k in keep[::97] if snap.oid(k) is None],
            "names": [snap.row(k.name)["value"] for k in keep[::997]],
            "expected_names": [k.name for k in keep[::997]],
            "child_rows": hstest.Snapshot(
                os.path.join(tmp, "child.db")).q1(
                    "SELECT count(*) FROM objects o JOIN types t "
                    "ON t.id = o.type_id WHERE t.name = 'Item'"),
        })
    print(json.dumps(out))
"""


class SpoolTest(AgentTest):

    def gated(self, fsize=0):
        out = self.run_child(CHILD % {"fsize": fsize})
        return json.loads(out.splitlines()[-1])

    def test_everything_spooled_arrives_after_the_gil_is_released(self):
        r = self.gated()
        self.assertIsNone(r["error"])
        f, seen = r["facts"], r["seen"]
        # The gate opened after the walk had given up the GIL: the thread
        # ran between the end of the pause and the dump's return.
        self.assertGreaterEqual(seen["opened"], r["t0"] + f["pause_seconds"])
        self.assertLessEqual(seen["opened"], r["t1"])
        self.assertLess(f["pause_seconds"], f["seconds"])
        # Nothing of SQLite's happened in the pause, not even the schema
        # (the writer thread creates it).
        self.assertEqual(seen["tmp_bytes"], 0)
        self.assertEqual(seen["second"], "a dump is already running")
        # The fork waited for the writer: it returned after the gate
        # opened.
        self.assertGreater(seen["forked"], seen["gate"])
        self.assertEqual(seen["child_status"], 0)
        self.assertEqual(r["child_rows"], 60000)
        # 60,000 instances with dicts, lists, strs and tuples: tens of MiB
        # of rows, all but the first four chunks through the spool.  The
        # writer applies size updates after their object rows: order
        # matters (check mode's balances would go wrong otherwise).
        self.assertEqual(r["rows"], f["objects"])
        self.assertEqual(r["edge_rows"], f["edges"])
        self.assertEqual(r["root_rows"], f["roots"])
        self.assertEqual(r["mismatches"], 0)
        self.assertEqual(r["negative"], 0)
        self.assertEqual(r["items"], 60000)
        self.assertEqual(r["missing"], [])
        self.assertEqual(r["names"], r["expected_names"])
        # The spool is gone with the dump: no file, no descriptor.
        self.assertEqual(r["files"], ["child.db", "gated.db"])
        self.assertEqual(r["fds_left"], [])

    def test_a_spool_that_cannot_grow_fails_cleanly(self):
        r = self.gated(fsize=2 << 20)
        self.assertIn("cannot write the spool of", r["error"])
        self.assertIn("gated.db.tmp", r["error"])
        self.assertEqual(r["files"], [])
        self.assertEqual(r["fds_left"], [])

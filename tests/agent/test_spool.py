"""Issue 17: the pause is the walk.  The walk never waits for the SQLite
writer: chunks it cannot queue go to the spool (an unlinked file next to
the snapshot), and the writer finishes after the walk with the GIL
released, so the program's other threads run meanwhile.

The writer's test gate (_dump(writer_gate=fd)) makes this deterministic:
the writer writes nothing until a byte arrives on the fd, so every chunk
after the first few goes through the spool, and the byte is sent by a
Python thread that can only run once the dumping thread has released the
GIL.  Were the GIL held to the end, the writer would give up at its gate
and the dump would fail."""

import json
import os

from hstest import AgentTest

CHILD = """
    import gc, json, os, sys, threading, time
    from heapsnap import _heapsnap
    import hstest

    class Item:
        def __init__(self, i):
            self.i = i
            self.name = "item-%%d" %% i
            self.tags = [i, str(i), (i, -i)]

    keep = [Item(i) for i in range(%(items)d)]
    tmp = os.environ["HS_TEST_TMP"]
    p = os.path.join(tmp, "gated.db")
    r, w = os.pipe()
    opened = []

    def open_gate():
        # FILE.tmp exists from the start of the dump; this thread sees it
        # only when it gets the GIL.
        end = time.perf_counter() + 120
        while not os.path.exists(p + ".tmp"):
            if time.perf_counter() > end:
                return
            time.sleep(0.0005)
        opened.append(time.perf_counter())
        os.write(w, b"x")

    def fds():
        return sorted(os.listdir("/proc/self/fd"))

    gc.collect()
    fds_before = fds()
    t = threading.Thread(target=open_gate, daemon=True)
    t.start()
    t0 = time.perf_counter()
    facts = _heapsnap._dump(p, check=True, writer_gate=r)
    t1 = time.perf_counter()
    t.join()
    os.close(r)
    os.close(w)
    snap = hstest.child_snapshot(p, facts)
    items = snap.q1("SELECT count(*) FROM objects o JOIN types t "
                    "ON t.id = o.type_id WHERE t.name = 'Item'")
    missing = [k.i for k in keep[::97] if snap.oid(k) is None]
    names = [snap.row(k.name)["value"] for k in keep[::997]]
    print(json.dumps({
        "facts": {k: facts[k] for k in ("objects", "edges", "roots",
                                          "pause_seconds", "seconds")},
        "t0": t0, "t1": t1, "opened": opened[0],
        "rows": snap.q1("SELECT count(*) FROM objects"),
        "edge_rows": snap.q1("SELECT count(*) FROM edge_list"),
        "root_rows": snap.q1("SELECT count(*) FROM roots"),
        "mismatches": snap.meta("check_mismatches"),
        "negative": snap.meta("check_negative_balances"),
        "items": items, "missing": missing, "names": names,
        "expected_names": [k.name for k in keep[::997]],
        "files": sorted(os.listdir(tmp)),
        "fds_left": sorted(set(fds()) - set(fds_before)),
    }))
"""


class SpoolTest(AgentTest):

    def gated(self, items):
        out = self.run_child(CHILD % {"items": items})
        return json.loads(out.splitlines()[-1])

    def test_writer_finishes_after_the_gil_is_released(self):
        r = self.gated(60000)
        f = r["facts"]
        # The gate opened after the walk had given up the GIL: the thread
        # ran between the end of the pause and the dump's return.
        self.assertGreaterEqual(r["opened"], r["t0"] + f["pause_seconds"])
        self.assertLessEqual(r["opened"], r["t1"])
        self.assertLess(f["pause_seconds"], f["seconds"])

    def test_every_spooled_row_arrives_in_order(self):
        # 60,000 instances with dicts, lists, strs and tuples: tens of
        # MiB of rows, all but the first four chunks through the spool.
        # The writer applies size updates after their object rows: order
        # matters (check mode's balances would go wrong otherwise).
        r = self.gated(60000)
        f = r["facts"]
        self.assertEqual(r["rows"], f["objects"])
        self.assertEqual(r["edge_rows"], f["edges"])
        self.assertEqual(r["root_rows"], f["roots"])
        self.assertEqual(r["mismatches"], 0)
        self.assertEqual(r["negative"], 0)
        self.assertEqual(r["items"], 60000)
        self.assertEqual(r["missing"], [])
        self.assertEqual(r["names"], r["expected_names"])
        # The spool is gone with the dump: no file, no descriptor.
        self.assertEqual(r["files"], ["gated.db"])
        self.assertEqual(r["fds_left"], [])

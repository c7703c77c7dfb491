"""Issue 17: a signal's dump pauses the program for the walk only.  The
handler (install()) asks for a background dump: hs_dump() returns after
the walk and a thread of the agent finishes the file, then reports it as
a synchronous dump would (the launcher's report line and 'heapsnap:
wrote ...' on stderr).  The next dump, heapsnap.wait() and the exit wait
for that thread.

The writer's test gate (_dump(writer_gate=fd)) holds the tail until the
test lets it go, so "returned before the file was complete" is a fact
here, not a race."""

import json
import os
import subprocess
import sys
import textwrap
import time

from hstest import AgentTest, HERE

COMMON = """
    import json, os, sys, threading, time
    import heapsnap
    from heapsnap import _heapsnap
    import hstest

    class Item:
        def __init__(self, i):
            self.i = i
            self.name = "item-%d" % i
            self.tags = [i, str(i)]

    keep = [Item(i) for i in range(30000)]
    tmp = os.environ["HS_TEST_TMP"]
    p = os.path.join(tmp, "bg.db")
"""


class BackgroundTest(AgentTest):

    def child(self, code, pass_fds=()):
        e = dict(os.environ)
        e["PYTHONPATH"] = os.pathsep.join(
            [HERE] + [x for x in e.get("PYTHONPATH", "").split(os.pathsep)
                      if x])
        e["HS_TEST_TMP"] = self.tmp
        return subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(COMMON) +
             textwrap.dedent(code)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=e, cwd=self.tmp, pass_fds=pass_fds)

    def finished(self, proc, timeout=300):
        out, err = proc.communicate(timeout=timeout)
        out, err = out.decode(), err.decode()
        if proc.returncode != 0:
            self.fail("child exited with %d\n--- stdout\n%s--- stderr\n%s" %
                      (proc.returncode, out, err))
        return json.loads(out.splitlines()[-1]), err

    def test_returns_after_the_walk_and_reports_when_complete(self):
        proc = self.child("""
            r, w = os.pipe()
            rep_r, rep_w = os.pipe()
            os.set_blocking(rep_r, False)
            forking = os.path.join(tmp, "forking")
            opener = hstest.gate_opener(w, forking)
            facts = _heapsnap._dump(p, trigger="signal", background=True,
                                    report_fd=rep_w, writer_gate=r,
                                    check=True)
            out = {"facts": facts,
                   "file_then": os.path.exists(p),
                   "tmp_then": os.path.exists(p + ".tmp")}
            try:
                out["report_then"] = os.read(rep_r, 1000).decode()
            except BlockingIOError:
                out["report_then"] = None
            # A fork now waits for the tail (the byte comes from another
            # process: this thread holds the GIL in fork()), and the child
            # has no tail to wait for: it dumps.
            (out["forked"], out["file_at_fork"],
             out["child_status"]) = hstest.fork_and_dump(
                forking, os.path.join(tmp, "child.db"), watch=p)
            out["gate"] = float(opener.communicate()[0])
            heapsnap.wait()
            os.close(rep_w)
            out["report"] = os.read(rep_r, 1000).decode()
            snap = hstest.child_snapshot(p, facts)
            out["rows"] = snap.q1("SELECT count(*) FROM objects")
            out["items"] = snap.q1(
                "SELECT count(*) FROM objects o JOIN types t "
                "ON t.id = o.type_id WHERE t.name = 'Item'")
            out["trigger"] = snap.meta("trigger")
            out["mismatches"] = snap.meta("check_mismatches")
            os.remove(forking)
            out["files"] = sorted(os.listdir(tmp))
            print(json.dumps(out))
        """)
        r, err = self.finished(proc)
        f = r["facts"]
        self.assertGreater(r["forked"], r["gate"])
        self.assertTrue(r["file_at_fork"])
        self.assertTrue(f["background"])
        self.assertFalse(r["file_then"])
        self.assertTrue(r["tmp_then"])
        self.assertIsNone(r["report_then"])
        self.assertEqual(r["child_status"], 0)
        self.assertEqual(r["report"],
                         "ok\tsignal\t%s\t%d\n" % (
                             os.path.join(self.tmp, "bg.db"), f["objects"]))
        # The one human line, from the tail.
        self.assertRegex(err, r"^heapsnap: wrote '%s' \(%d objects, %d "
                         r"references, [0-9.]+ s\)\n$" % (
                             os.path.join(self.tmp, "bg.db"), f["objects"],
                             f["edges"]))
        self.assertEqual(r["rows"], f["objects"])
        self.assertEqual(r["items"], 30000)
        self.assertEqual(r["trigger"], "signal")
        self.assertEqual(r["mismatches"], 0)
        self.assertEqual(r["files"], ["bg.db", "child.db"])

    def test_the_next_dump_waits_instead_of_failing(self):
        proc = self.child("""
            r, w = os.pipe()
            seen = {}

            def open_gate():
                time.sleep(0.3)
                seen["opened"] = time.monotonic()
                seen["file_before_gate"] = os.path.exists(p)
                os.write(w, b"x")

            facts = _heapsnap._dump(p, background=True, writer_gate=r)
            t = threading.Thread(target=open_gate)
            t.start()
            second = _heapsnap._dump(os.path.join(tmp, "second.db"))
            seen["second_returned"] = time.monotonic()
            seen["file_after_second"] = os.path.exists(p)
            t.join()
            seen["first_rows"] = hstest.Snapshot(p).q1(
                "SELECT count(*) FROM objects")
            seen["objects"] = facts["objects"]
            seen["second_background"] = second["background"]
            print(json.dumps(seen))
        """)
        r, err = self.finished(proc)
        self.assertFalse(r["file_before_gate"])
        self.assertTrue(r["file_after_second"])
        self.assertGreater(r["second_returned"], r["opened"])
        self.assertEqual(r["first_rows"], r["objects"])
        self.assertFalse(r["second_background"])
        self.assertEqual(err.count("heapsnap: wrote"), 1)

    def test_the_exit_waits_for_the_file(self):
        # The gate is this test's pipe: the child has nothing left to run
        # when the test opens it, so only the agent's exit handler can be
        # what keeps the child alive meanwhile.
        r, w = os.pipe()
        try:
            proc = self.child("""
                facts = _heapsnap._dump(p, background=True,
                                        writer_gate=%d)
                print(json.dumps(facts))
                sys.stdout.flush()
            """ % r, pass_fds=(r,))
            os.close(r)
            line = proc.stdout.readline()
            facts = json.loads(line)
            self.assertTrue(facts["background"])
            time.sleep(0.5)
            self.assertIsNone(proc.poll())
            self.assertFalse(os.path.exists(self.path("bg.db")))
            os.write(w, b"x")
        finally:
            os.close(w)
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("heapsnap: wrote '%s' (%d objects" % (
            self.path("bg.db"), facts["objects"]), err.decode())
        import hstest
        self.assertEqual(hstest.Snapshot(self.path("bg.db")).q1(
            "SELECT count(*) FROM objects"), facts["objects"])
        self.assertEqual(sorted(os.listdir(self.tmp)), ["bg.db"])

    def test_a_tail_that_fails_reports_and_leaves_nothing(self):
        proc = self.child("""
            r, w = os.pipe()
            rep_r, rep_w = os.pipe()
            facts = _heapsnap._dump(p, trigger="signal", background=True,
                                    report_fd=rep_w, writer_gate=r)
            os.mkdir(p)            # the rename can no longer succeed
            os.mkdir(os.path.join(p, "x"))
            os.write(w, b"x")
            heapsnap.wait()
            os.close(rep_w)
            print(json.dumps({"report": os.read(rep_r, 2000).decode(),
                              "files": sorted(os.listdir(tmp))}))
        """)
        r, err = self.finished(proc)
        path = self.path("bg.db")
        self.assertTrue(r["report"].startswith(
            "fail\tsignal\t%s\tcannot rename '%s.tmp' to '%s': " % (
                path, path, path)), r["report"])
        self.assertIn("heapsnap: error: cannot write snapshot '%s': cannot "
                      "rename" % path, err)
        self.assertEqual(r["files"], ["bg.db"])  # the folder made above

    def test_install_signal_dump_completes_and_reports_once(self):
        proc = self.child("""
            heapsnap.install(path=p)
            os.kill(os.getpid(), __import__("signal").SIGUSR2)
            heapsnap.wait()
            snap = hstest.Snapshot(os.path.join(tmp, "bg.1.db"))
            print(json.dumps({
                "trigger": snap.meta("trigger"),
                "items": snap.q1(
                    "SELECT count(*) FROM objects o JOIN types t "
                    "ON t.id = o.type_id WHERE t.name = 'Item'"),
                "files": sorted(os.listdir(tmp))}))
        """)
        r, err = self.finished(proc)
        self.assertEqual(r["trigger"], "signal")
        self.assertEqual(r["items"], 30000)
        self.assertEqual(r["files"], ["bg.1.db"])
        self.assertEqual(err.count("heapsnap: wrote '%s'" %
                                   self.path("bg.1.db")), 1)

"""A dump that meets invalid memory fails with heapsnap.Error and the
process lives (agent/guard.c); a failed, killed or crashed dump leaves no
FILE.tmp, in place, forked or attached (`heapsnap dump --pid`).  The
broken objects come from hs_native (native.py): WildTraverse's
tp_traverse and WildField's member hold a pointer to unmapped memory."""

import os
import signal
import subprocess
import sys
import time
import unittest

import native
from hstest import AgentTest
from test_compiled import cli_path

# A heap big enough that its dump takes a while (the kill tests).
BIG_HEAP = "big = [[i, str(i)] for i in range(1500000)]\n"


class GuardTest(AgentTest):

    def test_invalid_pointers_fail_the_dump_not_the_process(self):
        out = self.run_child("""
            import gc, os, sys
            sys.path.insert(0, %r)
            gc.disable()  # the collector would follow the wild pointers
            import heapsnap, hs_native
            tmp = os.environ["HS_TEST_TMP"]
            p = os.path.join(tmp, "wild.db")
            for kind in ("WildTraverse", "WildField"):
                keep = [getattr(hs_native, kind)()]
                for fork in (False, True):
                    try:
                        heapsnap.dump(p, fork=fork)
                        heapsnap.wait()
                        raise AssertionError("no error for %%s" %% kind)
                    except heapsnap.Error as e:
                        msg = str(e)
                    assert "invalid memory" in msg, msg
                    assert "process is unharmed" in msg, msg
                    assert kind in msg, msg
                    assert sorted(os.listdir(tmp)) == [], os.listdir(tmp)
                del keep
            gc.enable()
            gc.collect()
            heapsnap.dump(p)
            heapsnap.dump(p + "2", fork=True)
            heapsnap.wait()
            print("ok", sorted(os.listdir(tmp)))
        """ % native.path())
        self.assertIn("ok ['wild.db', 'wild.db2']", out)

    def test_killed_or_crashed_forked_child_leaves_no_file(self):
        out = self.run_child(BIG_HEAP + """
import os, signal, time, heapsnap
tmp = os.environ["HS_TEST_TMP"]
# Under ASan a SIGSEGV becomes ASan's report and exit(1): crash by abort then.
crash = (signal.SIGABRT if "libasan" in os.environ.get("LD_PRELOAD", "")
         else signal.SIGSEGV)
for n, sig in enumerate((signal.SIGKILL, crash)):
    p = os.path.join(tmp, "killed%d.db" % n)
    job = heapsnap._start_forked(p, False, False, "api")
    while not os.path.exists(p + ".tmp"):
        time.sleep(0.001)
    os.kill(job.pid, sig)
    try:
        heapsnap.wait()
        raise AssertionError("the killed child reported success")
    except heapsnap.Error as e:
        assert "signal %d" % sig in str(e), str(e)
    assert os.listdir(tmp) == [], os.listdir(tmp)
print("ok", len(big))
""")
        self.assertIn("ok", out)

    def attach_target(self, code):
        env = dict(os.environ)
        env["HS_TEST_TMP"] = self.tmp
        env["PYTHONPATH"] = os.pathsep.join(
            [native.path()] + env.get("PYTHONPATH", "").split(os.pathsep))
        t = subprocess.Popen([sys.executable, "-c", code + """
import sys
print("ready", flush=True)
sys.stdin.readline()
print("alive", flush=True)
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=env, cwd=self.tmp)
        self.addCleanup(self.reap, t)
        if t.stdout.readline() != b"ready\n":
            t.kill()
            self.fail(t.stderr.read().decode())
        return t

    def reap(self, t):
        if t.poll() is None:
            t.kill()
        t.wait()
        for f in (t.stdin, t.stdout, t.stderr):
            f.close()

    def cli(self):
        cli = cli_path()
        if not os.access(cli, os.X_OK):
            self.skipTest("no heapsnap command at %s" % cli)
        return cli

    def test_attached_dump_of_invalid_pointer_fails_target_lives(self):
        cli = self.cli()
        t = self.attach_target("import gc; gc.disable()\n"
                               "import hs_native\n"
                               "keep = [hs_native.WildTraverse()]\n")
        out = os.path.join(self.tmp, "attached.db")
        p = subprocess.run([cli, "dump", "--pid", str(t.pid), "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("invalid memory", err)
        self.assertFalse(os.path.exists(out))
        self.assertFalse(os.path.exists(out + ".tmp"))
        t.stdin.write(b"\n")
        t.stdin.flush()
        self.assertEqual(t.stdout.readline(), b"alive\n")
        self.assertEqual(t.wait(timeout=60), 0)

    def test_target_killed_during_attached_dump_leaves_no_file(self):
        cli = self.cli()
        t = self.attach_target(BIG_HEAP)
        out = os.path.join(self.tmp, "attached.db")
        p = subprocess.Popen([cli, "dump", "--pid", str(t.pid), "-o", out],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while not os.path.exists(out + ".tmp") and p.poll() is None:
            time.sleep(0.001)
        t.kill()
        _, err = p.communicate(timeout=60)
        self.assertNotEqual(p.returncode, 0, err)
        self.assertFalse(os.path.exists(out + ".tmp"))
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()

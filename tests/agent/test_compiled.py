"""Compiled classes whose layouts differ from what their bases declare:
the walk reads a member only where the instance's real layout has it
(agent/layout.c).  hs_native (native.py) builds the shapes here: a
mypyc-like class that puts its vtable where its trait base declared
__dict__, C bases under Python classes with __slots__ or a __dict__, a
__dict__ between two C members.  And the real thing: a process holding
mypy's own (mypyc-compiled) objects survives dump(), dump(fork=True) and
`heapsnap dump --pid`, under any interpreter of this very version that
has mypy installed (Debian's /usr/bin/python3 has)."""

import os
import platform
import shutil
import subprocess
import sys
import time
import unittest

import heapsnap

import native
from hstest import HERE, AgentTest


def mypy_python():
    """An interpreter of this very version (its agent is this one) that can import mypy, or
    None."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if not os.path.exists(exe):
            continue
        p = subprocess.run(
            [exe, "-c", "import sys, mypy.api; print('%d.%d.%d' % "
             "sys.version_info[:3])"], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        if p.returncode == 0 and p.stdout.decode().strip() == \
                "%d.%d.%d" % sys.version_info[:3]:
            return exe
    return None


def agent_path():
    """The folder holding this heapsnap package (a build/pyX.Y)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(
        heapsnap.__file__)))


def cli_path():
    """The heapsnap command of the build this agent belongs to."""
    return os.environ.get("HEAPSNAP") or os.path.join(
        os.path.dirname(agent_path()), "heapsnap")


def run_child(test, exe, code):
    """Runs `code` in a new process of `exe` with this agent and the test
    helpers importable (HS_TEST_TMP: the test's folder); fails `test`
    unless it exits 0.  Returns its standard output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, agent_path()])
    env["HS_TEST_TMP"] = test.tmp
    p = subprocess.run([exe, "-c", code], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=test.tmp)
    out = p.stdout.decode("utf-8", "replace")
    test.assertEqual(p.returncode, 0, out +
                     p.stderr.decode("utf-8", "replace"))
    return out


# Runs mypy on a small module in-process and keeps its build result (type
# checkers, expression checkers, semantic analyzers...) alive; asserts the
# heap holds instances of mypyc classes whose base declared __dict__ where
# they keep something else.
MYPY_SETUP = """
import gc, os, sys
from mypy import build, options
from mypy.modulefinder import BuildSource
tmp = os.environ["HS_TEST_TMP"]
src = os.path.join(tmp, "checked.py")
with open(src, "w") as f:
    f.write("def f(x: int) -> str:\\n    return str(x)\\n"
            "class A:\\n    y: int = 3\\n    def g(self) -> int:\\n"
            "        return self.y + len(f(1))\\n")
opts = options.Options()
opts.incremental = False
result = build.build([BuildSource(src, None)], opts)
checkers = [st.type_checker() for st in result.graph.values()]
assert not result.errors, result.errors

def moved_dict(o):
    base = type(o).__base__
    return (base is not None and "__dict__" in base.__dict__ and
            base.__dictoffset__ > 0 and
            base.__dictoffset__ != type(o).__dictoffset__)

hazards = [o for o in gc.get_objects() if moved_dict(o)]
assert len(hazards) > 10, len(hazards)
print("hazards", len(hazards), len(gc.get_objects()), flush=True)
"""


class CompiledTest(AgentTest):

    def test_native_layouts(self):
        folder = native.path()
        out = self.run_child("""
            import os, sys
            sys.path.insert(0, %r)
            import hs_native as m
            import hstest

            class SlotsOnNative(m.NativeBase):
                __slots__ = ("a", "b")

            class DictOnNative(m.NativeBase):
                pass

            class SlotsOnMiddle(m.DictInMiddle):
                __slots__ = ("s",)

            c = m.Compiled([1])
            c.extra = [2]
            s = SlotsOnNative([3])
            s.a = [4]
            d = DictOnNative([5])
            d.x = [6]
            mid = SlotsOnMiddle([7], [8])
            mid.s, mid.y = [9], [10]
            p = os.path.join(os.environ["HS_TEST_TMP"], "native.db")
            snap = hstest.child_snapshot(p, hstest.raw_dump(p))
            labels = snap.labels
            assert labels(c, c.payload) == [".payload"], labels(c, c.payload)
            assert labels(c, vars(c)) == [".__dict__"]
            assert labels(vars(c), c.extra) == ["['extra']"]
            assert labels(s, s.payload) == [".payload"]
            assert labels(s, s.a) == [".a"]
            assert labels(d, d.payload) == [".payload"]
            assert labels(d, vars(d)) == [".__dict__"] or \\
                labels(d, d.x) == [".x"], snap.out_edges(d)
            assert labels(mid, mid.before) == [".before"]
            assert labels(mid, mid.after) == [".after"]
            assert labels(mid, mid.s) == [".s"]
            assert labels(mid, vars(mid)) == [".__dict__"]
            # The vtable is no object: nothing but the payload, the dict
            # and the class.
            assert len(snap.out_edges(c)) == 3, snap.out_edges(c)
            print("ok")
        """ % folder)
        self.assertIn("ok", out)

    @unittest.skipUnless(platform.machine() in ("x86_64", "AMD64"),
                         "mypyc getters are read on x86-64 only")
    def test_mypyc_like_fields_are_named(self):
        """A mypyc-shaped class (hs_native.MypycLike): a reference its
        field holds is named by the attribute in __mypyc_attrs__ whose
        getter reads the field, and getattr() gives the referent; a getter
        not in __mypyc_attrs__, or one a class attribute hides, names
        nothing (the reference stays numbered).  No getter is called."""
        folder = native.path()
        out = self.run_child("""
            import os, sys
            sys.path.insert(0, %r)
            import hs_native as m
            import hstest

            # 3.8 miscounts a heap type's references from instances of
            # its Python subclasses (bpo-35810): no subclass there.
            Sub = m.MypycLike
            if sys.version_info >= (3, 9):
                class Sub(m.MypycLike):
                    pass

            both, hidden, shadow = [1], [2], [3]
            x = m.MypycLike(both, both, hidden, shadow)
            s = Sub([4], [5], [6], [7])
            p = os.path.join(os.environ["HS_TEST_TMP"], "mypyc.db")
            snap = hstest.child_snapshot(p, hstest.raw_dump(p))
            labels = snap.labels
            assert sorted(labels(x, both)) == [".name", ".node"], \\
                snap.out_edges(x)
            assert x.name is both and x.node is both
            assert labels(x, hidden) == ["<ref #0>"], labels(x, hidden)
            assert labels(x, shadow) == ["<ref #1>"], labels(x, shadow)
            assert x.shadow is None  # the class attribute, not the field
            assert labels(s, s.name) == [".name"], snap.out_edges(s)
            assert labels(s, s.node) == [".node"], snap.out_edges(s)
            assert labels(s, s.hidden) == ["<ref #0>"], snap.out_edges(s)
            print("ok")
        """ % folder)
        self.assertIn("ok", out)

    def test_member_past_basicsize_is_not_read(self):
        folder = native.path()
        out = self.run_child("""
            import os, sys
            sys.path.insert(0, %r)
            import hs_native as m
            import hstest
            w = m.WildMember()
            p = os.path.join(os.environ["HS_TEST_TMP"], "far.db")
            snap = hstest.child_snapshot(p, hstest.raw_dump(p))
            assert snap.out_edges(w) == [], snap.out_edges(w)
            print("ok")
        """ % folder)
        self.assertIn("ok", out)

    def mypy_exe(self):
        exe = mypy_python()
        if exe is None:
            self.skipTest("no Python %d.%d.%d with mypy" % sys.version_info[:3])
        return exe

    def test_mypy_process_survives_dump_and_fork(self):
        exe = self.mypy_exe()
        code = MYPY_SETUP + """
import heapsnap, hstest
p = os.path.join(tmp, "mypy.db")
snap = hstest.child_snapshot(p, hstest.raw_dump(p))
n = snap.q1("SELECT count(*) FROM objects")
ids = {id(o) for o in hazards}
found = sum(1 for (a,) in snap.q("SELECT address FROM objects")
            if a in ids)
assert found == len(hazards), (found, len(hazards))
heapsnap.dump(os.path.join(tmp, "mypy-fork.db"), fork=True)
heapsnap.wait()
m = hstest.Snapshot(os.path.join(tmp, "mypy-fork.db"))
assert all(m.oid(o) for o in hazards)
print("ok", n, flush=True)
"""
        out = run_child(self, exe, code)
        self.assertIn("ok", out)
        sys.stdout.write("# mypy heap: %s\n" % out.split("ok")[-1].strip())

    def test_mypy_process_survives_dump_pid(self):
        exe = self.mypy_exe()
        cli = cli_path()
        if not os.access(cli, os.X_OK):
            self.skipTest("no heapsnap command at %s" % cli)
        code = MYPY_SETUP + """
sys.stdin.readline()
print("alive", len(checkers), flush=True)
"""
        env = dict(os.environ)
        env["HS_TEST_TMP"] = self.tmp
        target = subprocess.Popen([exe, "-c", code], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env,
                                  cwd=self.tmp)
        try:
            line = target.stdout.readline().decode()
            if not line.startswith("hazards"):
                target.kill()
                self.fail(line + target.stderr.read().decode())
            out = os.path.join(self.tmp, "mypy-pid.db")
            p = subprocess.run([cli, "dump", "--pid", str(target.pid),
                                "-o", out], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
            msg = p.stderr.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, msg)
            self.assertTrue(os.path.exists(out))
            self.assertFalse(os.path.exists(out + ".tmp"))
            self.assertIsNone(target.poll(), "the target died: " + msg)
            target.stdin.write(b"\n")
            target.stdin.flush()
            self.assertTrue(target.stdout.readline().startswith(b"alive"))
            self.assertEqual(target.wait(timeout=60), 0)
        finally:
            if target.poll() is None:
                target.kill()
                target.wait()
            target.stdout.close()
            target.stderr.close()
            target.stdin.close()


if __name__ == "__main__":
    unittest.main()

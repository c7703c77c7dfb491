"""Helpers shared by the agent tests: dump the running heap, read the
snapshot back, run a snippet in a fresh interpreter.

Snapshot reads objects by their address (id() of a live object the test
still holds), so a test keeps every object it asks about alive until it
has asked.  Every dump made through dump() runs in check mode and the
check counters are asserted by the caller (assert_checks), so each test
also proves the refcount invariants on the heap it built.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import heapsnap
from heapsnap import _heapsnap

PY = sys.version_info[:2]
HERE = os.path.dirname(os.path.abspath(__file__))

FLAG_GC_TRACKED = 1
FLAG_IMMORTAL = 2
FLAG_STATIC = 4
FLAG_HAS_DEL = 8
FLAG_UNREACHABLE = 16
FLAG_INTERNED = 32
FLAG_VALUE_TRUNCATED = 64
FLAG_REDACTED = 128
FLAG_SIZE_FALLBACK = 256
FLAG_FROZEN = 512


class Marker:
    """A class the snapshot can only contain on purpose."""

    def __init__(self, tag=None):
        self.tag = tag


def main_ident():
    import threading
    return threading.main_thread().ident


def raw_dump(path, check=True, redact=False):
    """heapsnap's private entry with check mode on; returns the facts."""
    return _heapsnap._dump(path, check=check, redact=redact,
                           main_ident=main_ident())


class Snapshot:
    """A snapshot file opened for questions.  Indexes are added to the
    file (it belongs to the test) so that lookups stay fast."""

    def __init__(self, path, facts=None):
        self.path = path
        self.facts = facts
        self.db = sqlite3.connect(path)
        self.db.executescript(
            "CREATE INDEX IF NOT EXISTS t_addr ON objects(address);"
            "CREATE INDEX IF NOT EXISTS t_src ON edge_list(src);"
            "CREATE INDEX IF NOT EXISTS t_dst ON edge_list(dst);"
            "CREATE INDEX IF NOT EXISTS t_root ON roots(object_id);")

    def close(self):
        self.db.close()

    def q(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    def q1(self, sql, *args):
        rows = self.q(sql, *args)
        return rows[0][0] if rows else None

    def meta(self, key):
        return self.q1("SELECT value FROM meta WHERE key = ?", key)

    def oid(self, obj):
        """objects.id of a live object, or None."""
        return self.q1("SELECT id FROM objects WHERE address = ?", id(obj))

    def row(self, obj):
        """The objects row of obj as a dict, or None."""
        cur = self.db.execute("SELECT * FROM objects WHERE address = ?",
                              (id(obj),))
        r = cur.fetchone()
        if r is None:
            return None
        return dict(zip([d[0] for d in cur.description], r))

    def type_name(self, object_id):
        return self.q1("SELECT t.name FROM objects o JOIN types t "
                       "ON t.id = o.type_id WHERE o.id = ?", object_id)

    def edges(self, src, dst):
        """[(kind, label)] of the references src -> dst (objects)."""
        s, d = self.oid(src), self.oid(dst)
        if s is None or d is None:
            return []
        return self.q("SELECT kind, label FROM edges WHERE src = ? AND "
                      "dst = ? ORDER BY id", s, d)

    def labels(self, src, dst):
        return [label for _, label in self.edges(src, dst)]

    def out_edges(self, src):
        """[(kind, label, dst objects.id)] of src."""
        return self.q("SELECT kind, label, dst FROM edges WHERE src = ? "
                      "ORDER BY id", self.oid(src))

    def in_edges(self, dst):
        return self.q("SELECT kind, label, src FROM edges WHERE dst = ? "
                      "ORDER BY id", self.oid(dst))

    def roots(self, obj):
        """[(kind, label, thread_id, frame_id)] naming obj as a root."""
        return self.q("SELECT kind, label, thread_id, frame_id FROM roots "
                      "WHERE object_id = ?", self.oid(obj))

    def reported_size(self, obj):
        """reported_sizes.size of obj (a Python __sizeof__'s figure where
        it differs from objects.size), or None."""
        return self.q1("SELECT r.size FROM reported_sizes r JOIN objects o "
                       "ON o.id = r.object_id WHERE o.address = ?", id(obj))

    def addresses(self):
        return {a for (a,) in self.q("SELECT address FROM objects")}


class AgentTest(unittest.TestCase):
    """Base class: a private temporary folder and a dump() that checks."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="hs-agent-")
        self.snaps = []
        self.n = 0

    def tearDown(self):
        for s in self.snaps:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name=None):
        self.n += 1
        return os.path.join(self.tmp, name or "snap%d.db" % self.n)

    def dump(self, check=True, redact=False, collect=False):
        """Dumps the running heap (check mode) and opens the snapshot."""
        p = self.path()
        if collect:
            import gc
            gc.collect()
        facts = raw_dump(p, check=check, redact=redact)
        snap = Snapshot(p, facts)
        self.snaps.append(snap)
        if check:
            self.assert_checks(snap)
        return snap

    def assert_checks(self, snap):
        self.assertEqual(snap.meta("check_mismatches"), 0,
                         "labelled references tp_traverse did not report")
        if snap.meta("check_negative_balances") != 0:
            self.fail("%s objects with more references than their refcount:"
                      "\n%s" % (snap.meta("check_negative_balances"),
                                 explain_negatives(snap)))

    def assert_row(self, snap, obj):
        r = snap.row(obj)
        self.assertIsNotNone(r, "%s at %#x is not in the snapshot" %
                             (type(obj).__name__, id(obj)))
        return r

    def run_child(self, code, timeout=300, env=None, flags=()):
        """Runs `code` in a fresh interpreter (this one's executable with
        `flags`, and PYTHONPATH, tests/agent importable); fails the test
        with its output unless it exits 0.  Returns its stdout."""
        e = dict(os.environ)
        e["PYTHONPATH"] = os.pathsep.join(
            [HERE] + [p for p in e.get("PYTHONPATH", "").split(os.pathsep)
                      if p])
        e["HS_TEST_TMP"] = self.tmp
        if env:
            e.update(env)
        p = subprocess.run([sys.executable] + list(flags) +
                           ["-c", textwrap.dedent(code)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=e, timeout=timeout, cwd=self.tmp)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode != 0:
            self.fail("child exited with %d\n--- stdout\n%s--- stderr\n%s" %
                      (p.returncode, out, err))
        return out


def own_size(o):
    """What the snapshot's objects.size of o should be: sys.getsizeof(o),
    except where a __sizeof__ written in Python comes first in its MRO:
    then what the first one written in C (a method descriptor) says, plus
    the pre-header getsizeof adds (agent/types.c)."""
    c_level = type(object.__dict__["__sizeof__"])
    python_first = False
    for cls in type(o).__mro__:
        d = cls.__dict__.get("__sizeof__")
        if d is None:
            continue
        if type(d) is not c_level:
            python_first = True
        elif not python_first:
            return sys.getsizeof(o)
        else:
            return d(o) + sys.getsizeof(o) - type(o).__sizeof__(o)
    return sys.getsizeof(o)


def explain_negatives(snap, limit=10):
    """Objects found with more references than their refcount, with the
    references that point at them (a diagnostic for failures)."""
    out = []
    rows = snap.q(
        "SELECT o.id, t.name, o.refcount, o.value, o.flags, n FROM objects o"
        " JOIN types t ON t.id = o.type_id JOIN (SELECT dst, count(*) AS n"
        " FROM edge_list WHERE kind != 9 GROUP BY dst) c ON c.dst = o.id"
        " WHERE (o.flags & 6) = 0 AND o.refcount < n LIMIT ?", limit)
    for oid, tname, rc, value, flags, n in rows:
        out.append("  #%d %s refcount %d, %d references, flags %#x, value %r"
                   % (oid, tname, rc, n, flags, value))
        for kind, label, src, stype in snap.q(
                "SELECT e.kind, e.label, e.src, t.name FROM edges e JOIN "
                "objects o ON o.id = e.src JOIN types t ON t.id = o.type_id "
                "WHERE e.dst = ? AND e.kind != 'weak' LIMIT 8", oid):
            out.append("      <- %s %s from #%d %s" % (kind, label, src,
                                                      stype))
    if not rows:
        out.append("  (none visible in SQL: the difference is in owned "
                   "roots)")
    return "\n".join(out)


def child_snapshot(path, facts=None):
    """For child programs: open a snapshot and assert the check counters."""
    s = Snapshot(path, facts)
    assert s.meta("check_mismatches") == 0, s.meta("check_mismatches")
    assert s.meta("check_negative_balances") == 0, \
        explain_negatives(s)
    return s


GATE_OPENER = """
import os, sys, time
while not os.path.exists(sys.argv[1]):
    time.sleep(0.001)
time.sleep(0.3)
print(time.monotonic(), flush=True)
os.write(int(sys.argv[2]), b"x")
"""


def gate_opener(w, trigger):
    """For child programs: a process that sends the byte the writer's test
    gate (_dump(writer_gate=r)) waits for on pipe end `w`, 0.3 s after the
    file `trigger` appears; its stdout's one line is the time.monotonic()
    just before.  A process, not a thread: a fork() that waits for the
    writer (agent/fork_wait.c) holds the GIL.  Start it before the dump:
    starting a process forks too."""
    return subprocess.Popen([sys.executable, "-c", GATE_OPENER, trigger,
                             str(w)], pass_fds=(w,), stdout=subprocess.PIPE)


def fork_and_dump(cue, path, watch=None):
    """For child programs: creates the file `cue` (a gate_opener's), then
    forks; the child dumps its heap to `path` and leaves by os._exit (0
    if it could).  Returns when fork() returned in the parent (its
    time.monotonic()), whether `watch` existed then, and the child's wait
    status."""
    open(cue, "w").close()
    pid = os.fork()
    if pid == 0:
        try:
            _heapsnap._dump(path)
            code = 0
        except BaseException:
            code = 1
        os._exit(code)
    forked = time.monotonic()
    existed = watch is not None and os.path.exists(watch)
    return forked, existed, os.waitpid(pid, 0)[1]

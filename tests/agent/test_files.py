"""The snapshot file: written atomically (FILE.tmp, then a rename), mode
0600, failures raise heapsnap.Error naming the cause and leave nothing
behind; redaction keeps data out of the file."""

import os
import sqlite3
import stat
import sys
import unittest

import heapsnap

from hstest import AgentTest, FLAG_INTERNED, FLAG_REDACTED, Marker, Snapshot


def unwritable_folder(base):
    """A folder this process cannot create files in, or None.  Root
    ignores permission bits, so /sys stands in then."""
    d = os.path.join(base, "readonly")
    os.mkdir(d, 0o500)
    for cand in (d, "/sys"):
        try:
            fd = os.open(os.path.join(cand, "probe"),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return cand
        os.close(fd)
        os.unlink(os.path.join(cand, "probe"))
    return None


class FileTest(AgentTest):

    def listing(self, folder):
        return sorted(os.listdir(folder))

    def test_atomic_write_and_mode(self):
        p = self.path("atomic.db")
        old = os.umask(0)        # the mode must not depend on the umask
        try:
            result = heapsnap.dump(p)
        finally:
            os.umask(old)
        self.assertEqual(result, p)
        self.assertEqual(self.listing(self.tmp), ["atomic.db"])
        self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600)
        db = sqlite3.connect(p)
        self.assertEqual(db.execute("PRAGMA application_id").fetchone()[0],
                         0x48534E50)
        self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], 1)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0],
                         "ok")
        db.close()

    def test_default_path(self):
        cwd = os.getcwd()
        os.chdir(self.tmp)
        try:
            p = heapsnap.dump()
        finally:
            os.chdir(cwd)
        self.assertTrue(os.path.isabs(p))
        self.assertEqual(os.path.dirname(p), os.path.realpath(self.tmp))
        self.assertTrue(os.path.basename(p).startswith(
            "heapsnap-%d-" % os.getpid()))
        self.assertTrue(p.endswith(".db"))
        p2 = heapsnap.dump(path=os.path.join(self.tmp, "x.db"))
        self.assertEqual(len(self.listing(self.tmp)), 2)
        del p2

    def test_replaces_existing_file_and_stale_tmp(self):
        p = self.path("again.db")
        with open(p, "w") as f:
            f.write("old contents")
        with open(p + ".tmp", "w") as f:
            f.write("a crashed dump's leftovers")
        os.chmod(p + ".tmp", 0o644)
        heapsnap.dump(p)
        self.assertEqual(self.listing(self.tmp), ["again.db"])
        self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600)
        Snapshot(p).close()

    def assert_fails_cleanly(self, p, words):
        with self.assertRaises(heapsnap.Error) as cm:
            heapsnap.dump(p)
        msg = str(cm.exception)
        self.assertTrue(any(w in msg for w in words), msg)
        self.assertFalse(os.path.exists(p))
        self.assertFalse(os.path.exists(p + ".tmp"))
        # The process is healthy: the next dump works.
        ok = self.path()
        heapsnap.dump(ok)
        self.assertTrue(os.path.exists(ok))
        return msg

    def test_missing_folder(self):
        p = os.path.join(self.tmp, "no", "such", "folder", "x.db")
        msg = self.assert_fails_cleanly(p, ["No such file or directory"])
        self.assertIn("x.db", msg)

    def test_unwritable_folder(self):
        d = unwritable_folder(self.tmp)
        if d is None:
            self.skipTest("no unwritable folder available")
        p = os.path.join(d, "x.db")
        self.assert_fails_cleanly(p, ["Permission denied",
                                      "Read-only file system"])

    def test_final_name_is_a_folder(self):
        p = os.path.join(self.tmp, "taken.db")
        os.mkdir(p)
        with open(os.path.join(p, "inside"), "w") as f:
            f.write("x")
        with self.assertRaises(heapsnap.Error) as cm:
            heapsnap.dump(p)
        # Refused before anything is written (issue 18: only a regular
        # file is ever replaced).
        self.assertIn("is a folder; a snapshot replaces only a regular file",
                      str(cm.exception))
        self.assertTrue(os.path.isdir(p))
        self.assertFalse(os.path.exists(p + ".tmp"))
        heapsnap.dump(self.path())

    def test_error_is_exported(self):
        self.assertTrue(issubclass(heapsnap.Error, Exception))
        self.assertEqual(heapsnap.Error.__module__, "heapsnap")

    def test_redaction(self):
        secret = "s3cr3t-%d-value" % os.getpid()
        data_key = "k3y-%d-data" % os.getpid()
        blob = b"b10b-" + secret.encode()
        holder = {data_key: secret, "blob": blob}
        obj = Marker(secret)
        obj.visible_attribute_name = 1
        # A frame object (this test's, kept by a traceback on every
        # version): its value names the function, never the file.
        try:
            raise ValueError
        except ValueError as e:
            frame = e.__traceback__.tb_frame
        here = os.path.basename(__file__)
        p = self.path("redacted.db")
        heapsnap.dump(p, redact=True)
        raw = open(p, "rb").read()
        self.assertNotIn(secret.encode(), raw)
        self.assertNotIn(data_key.encode(), raw)
        self.assertNotIn(b"b10b-", raw)
        snap = Snapshot(p)
        self.snaps.append(snap)
        self.assertEqual(snap.meta("redacted"), 1)
        r = snap.row(secret)
        self.assertIsNone(r["value"])
        self.assertTrue(r["flags"] & FLAG_REDACTED)
        r = snap.row(blob)
        self.assertIsNone(r["value"])
        self.assertTrue(r["flags"] & FLAG_REDACTED)
        self.assertEqual(snap.labels(holder, secret), ["[<str>]"])
        # Interned strings are redacted too (string literals are interned;
        # issue 18), but the labels that name attributes keep their text.
        name = [k for k in vars(obj) if k == "visible_attribute_name"][0]
        r = snap.row(name)
        self.assertTrue(r["flags"] & FLAG_INTERNED)
        self.assertIsNone(r["value"])
        self.assertTrue(r["flags"] & FLAG_REDACTED)
        self.assertIn(b"visible_attribute_name", raw)
        # Inline values (3.11+) or the instance's __dict__, a namespace.
        owner = obj if snap.labels(obj, 1) else obj.__dict__
        self.assertIn(snap.labels(owner, 1), [[".visible_attribute_name"],
                                              ["['visible_attribute_name']"]])
        self.assertEqual(snap.q1("SELECT count(*) FROM objects WHERE "
                                 "value LIKE '%s3cr3t%'"), 0)
        self.assertIn("test_redaction", snap.row(frame)["value"])
        self.assertNotIn(here, snap.row(frame)["value"])
        # Not redacted: the text is there.
        p2 = self.path("plain.db")
        heapsnap.dump(p2)
        snap2 = Snapshot(p2)
        self.snaps.append(snap2)
        self.assertEqual(snap2.row(secret)["value"], secret)
        self.assertEqual(snap2.labels(holder, secret), ["[%r]" % data_key])
        self.assertIn(here, snap2.row(frame)["value"])
        self.assertEqual(snap2.meta("redacted"), 0)

    def test_meta(self):
        snap = self.dump()
        self.assertEqual(snap.meta("python_version"),
                         sys.version.split()[0])
        self.assertEqual(snap.meta("pid"), os.getpid())
        self.assertEqual(snap.meta("trigger"), "api")
        self.assertEqual(snap.meta("pointer_size"), 8)
        self.assertEqual(snap.meta("format_version"), 1)
        self.assertEqual(snap.meta("agent_version"), heapsnap.__version__)
        import json
        self.assertEqual(json.loads(snap.meta("argv")), sys.argv)
        self.assertEqual(snap.meta("python_executable"), sys.executable)
        self.assertGreater(snap.meta("rss_bytes"), 1 << 20)
        self.assertEqual(len(json.loads(snap.meta("gc_thresholds"))), 3)

    def test_facts_report_the_phases(self):
        # make bench prints these: each phase is timed, and together they
        # fit in the dump's own time.
        facts = self.dump().facts
        phases = facts["phases"]
        self.assertEqual(len(phases), 6)
        self.assertGreater(phases[1], 0.0)   # edges: never instant
        self.assertGreater(phases[3], 0.0)   # the unreachable flags, frames
        self.assertTrue(all(p >= 0.0 for p in phases))
        self.assertLessEqual(sum(phases), facts["seconds"] + 1e-3)


if __name__ == "__main__":
    unittest.main()

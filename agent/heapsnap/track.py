"""What a block of code left behind: the objects it allocated that are
still alive after it, with the line that allocated each.

    with heapsnap.track() as t:
        handle_requests()
    print(t)              # type, count, bytes, allocation line; biggest first
    t.survivors           # the same rows as dicts
    t.why("Request")      # their retention paths, as `heapsnap why` prints

    @heapsnap.profile     # after each call: its lines, with the objects
    def handle(req): ...  # each allocated that are alive when it returns

How: a snapshot before the block (no allocation sites needed) and one
after it with tracemalloc tracing and gc.collect() first (cyclic garbage
the block left is not alive); the objects of the second that the first
does not have, by address and type (as `heapsnap diff` matches them), are
what the block left behind, and the second snapshot's allocation sites
say where each was made.  tracemalloc is started for the block if it was
off (with `frames` frames) and stopped after; if it was on, it is left
as it was.  Each block costs two snapshots (about 1.5 s per million
objects of the heap); objects made by heapsnap itself are left out.
An object that reused a freed block of memory allocated before tracing
began (CPython's free lists) has no traceback: its site is None.
"""

import gc as _gc
import os as _os
import sys as _sys

from . import _heapsnap

# shutil, tempfile and weakref are imported when used: importing heapsnap
# must not import threading (tempfile does) into every program.

_HERE = _os.path.dirname(_os.path.abspath(__file__))

# Every row of the "after" snapshot with its type and innermost frame.
_ROWS = """
SELECT o.address, coalesce(t.module || '.', '') || coalesce(t.qualname,
       t.name), t.name, o.size, ot.traceback_id
  FROM objects o JOIN types t ON t.id = o.type_id
  LEFT JOIN object_tracebacks ot ON ot.object_id = o.id
"""
_BEFORE = """
SELECT o.address, coalesce(t.module || '.', '') || coalesce(t.qualname,
       t.name) FROM objects o JOIN types t ON t.id = o.type_id
"""
_FRAMES = """
SELECT tb.id, tb.depth, f.file, f.line, f.function
  FROM alloc_tracebacks tb JOIN alloc_frames f ON f.id = tb.frame_id
 ORDER BY tb.id, tb.depth
"""


def _is_own(frames):
    """Made by heapsnap's own Python code (this package) or tracemalloc."""
    return bool(frames) and (frames[0][0].startswith(_HERE + _os.sep) or
                             _os.path.basename(frames[0][0]) ==
                             "tracemalloc.py")


class track:
    """Context manager: what the block allocated that is still alive after
    it (see the module's docstring).  `frames`: tracemalloc's traceback
    depth when track() starts it (default 10)."""

    def __init__(self, frames=10):
        self.frames = max(1, int(frames))
        self.survivors = None   # rows after the block, biggest first
        self.objects = None     # [(type, bytes, frames)] of each survivor
        self._dir = None
        self._started = False
        self._cleanup = None

    # -- the block --------------------------------------------------------

    def __enter__(self):
        import shutil
        import tempfile
        import tracemalloc
        import weakref

        self._dir = tempfile.mkdtemp(prefix="heapsnap-track-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self.before_path = _os.path.join(self._dir, "before.db")
        self.after_path = _os.path.join(self._dir, "after.db")
        # Before: only which objects exist (no sites: traced_bytes -1).
        _heapsnap._dump(self.before_path, trigger="api", traced_bytes=-1)
        self._started = not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start(self.frames)
        return self

    def __exit__(self, exc_type, exc, tb):
        import tracemalloc

        try:
            _gc.collect()
            _heapsnap._dump(self.after_path, trigger="api",
                            traced_bytes=tracemalloc.get_traced_memory()[0])
        finally:
            if self._started:
                tracemalloc.stop()
        self._read()
        return False

    # -- reading the two snapshots --------------------------------------------

    def _read(self):
        import sqlite3

        db = sqlite3.connect(self.before_path)
        try:
            before = set(db.execute(_BEFORE))
        finally:
            db.close()
        db = sqlite3.connect(self.after_path)
        try:
            tracebacks = {}
            for tid, _depth, f, line, func in db.execute(_FRAMES):
                tracebacks.setdefault(tid, []).append((f, line, func))
            objects = []
            for addr, key, _name, size, tid in db.execute(_ROWS):
                if (addr, key) in before:
                    continue
                frames = tracebacks.get(tid, [])
                if _is_own(frames):
                    continue
                objects.append((key, size, frames))
        finally:
            db.close()
        self.objects = objects
        rows = {}
        for key, size, frames in objects:
            site = "%s:%d" % (frames[0][0], frames[0][1]) if frames else None
            r = rows.get((key, site))
            if r is None:
                r = rows[(key, site)] = {"type": key, "count": 0, "bytes": 0,
                                         "site": site}
            r["count"] += 1
            r["bytes"] += size
        self.survivors = sorted(rows.values(),
                                key=lambda r: (-r["bytes"], -r["count"],
                                               r["type"], r["site"] or ""))

    # -- answers ----------------------------------------------------------

    def __str__(self):
        if self.survivors is None:
            return "<heapsnap.track: the block has not ended>"
        if not self.survivors:
            return "The block left no objects behind."
        count = sum(r["count"] for r in self.survivors)
        size = sum(r["bytes"] for r in self.survivors)
        lines = ["The block left %s objects (%s) behind:" %
                 (format(count, ","), _human(size)), ""]
        table = [("count", "bytes", "type", "allocated at")]
        for r in self.survivors:
            table.append((format(r["count"], ","), _human(r["bytes"]),
                          r["type"], r["site"] or "? (no traceback)"))
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for row in table:
            lines.append("  %s  %s  %s  %s" % (row[0].rjust(widths[0]),
                                               row[1].rjust(widths[1]),
                                               row[2].ljust(widths[2]),
                                               row[3]))
        return "\n".join(lines)

    def why(self, type_name, paths=5):
        """The retention paths of the survivors of type `type_name`,
        grouped as `heapsnap why` groups them (the text `heapsnap diff
        BEFORE AFTER --type TYPE` prints for the new objects)."""
        import subprocess

        from . import _command

        if self.survivors is None:
            raise _heapsnap.Error("the block has not ended")
        try:
            cli = _command.path()
        except _command.NotFound as e:
            raise _heapsnap.Error(str(e))
        p = subprocess.run([cli, "diff", self.before_path,
                            self.after_path, "--type", type_name,
                            "--paths", str(int(paths)), "-n", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0:
            raise _heapsnap.Error(p.stderr.decode("utf-8", "replace").strip()
                                  or "heapsnap diff failed")
        at = out.find("\nThe ")
        return out[at + 1:] if at >= 0 else out

    def close(self):
        """Removes the two snapshots now (else when the object goes)."""
        if self._cleanup is not None:
            self._cleanup()


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else \
                ("%.1f %s" % (n, unit))
        n /= 1024.0


def _line_table(func, t):
    """memory_profiler's table for the lines of `func`: each line with the
    survivors of the call allocated on it (the frame of the traceback in
    func's code), and the objects allocated deeper than the traceback
    reaches."""
    import inspect
    import linecache

    code = func.__code__
    try:
        source, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        source, first = [], code.co_firstlineno
    last = first + max(len(source), 1) - 1
    filename = code.co_filename
    per_line, elsewhere, untraced = {}, [0, 0], [0, 0]
    for _key, size, frames in t.objects:
        if not frames:
            untraced[0] += 1
            untraced[1] += size
            continue
        for f, line, _func in frames:
            if f == filename and first <= line <= last:
                c = per_line.setdefault(line, [0, 0])
                c[0] += 1
                c[1] += size
                break
        else:
            elsewhere[0] += 1
            elsewhere[1] += size
    out = ["%s:%d %s(): objects allocated by the call and alive when it "
           "returned" % (filename, first, func.__qualname__), "",
           "  Line #     Objects       Bytes  Line Contents",
           "  " + "=" * 60]
    for n in range(first, last + 1):
        text = (source[n - first] if n - first < len(source)
                else linecache.getline(filename, n)).rstrip("\n")
        c = per_line.get(n)
        out.append("  %6d  %10s  %10s  %s" % (
            n, format(c[0], ",") if c else "", _human(c[1]) if c else "",
            text))
    if elsewhere[0] or untraced[0]:
        out.append("")
    if elsewhere[0]:
        out.append("  and %s objects (%s) whose traceback does not reach "
                   "this function (deeper than tracemalloc's frames)" %
                   (format(elsewhere[0], ","), _human(elsewhere[1])))
    if untraced[0]:
        out.append("  and %s objects (%s) without a traceback: they reuse "
                   "memory freed before tracing began (trace from the "
                   "start: heapsnap dump --trace, PYTHONTRACEMALLOC=N)" %
                   (format(untraced[0], ","), _human(untraced[1])))
    return "\n".join(out)


def profile(func=None, *, stream=None, frames=25):
    """Decorator: after each call of the function, prints (to `stream`,
    default sys.stdout) a line-by-line table of it, as memory_profiler's
    @profile does, but counting objects: on each line, the objects
    allocated there (directly or in what it called) that are still alive
    when the call returns.  tracemalloc is started with `frames` frames
    for the call if it was off."""
    import functools

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            t = track(frames=frames)
            try:
                with t:
                    result = f(*args, **kwargs)
                print(_line_table(f, t), file=stream or _sys.stdout)
            finally:
                t.close()
            return result
        return wrapper

    return decorate(func) if func is not None else decorate

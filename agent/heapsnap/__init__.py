"""heapsnap: snapshot the live Python heap into an SQLite file.

    import heapsnap
    heapsnap.dump("app.db")        # every object, reference and root
    heapsnap.install()             # dump on SIGUSR2 from now on

Then explain the snapshot offline with the `heapsnap` command:
``heapsnap why -f app.db LeakedThing``.

The walk runs in C with the GIL held: it allocates no Python objects, runs
no Python code and creates no __dict__ or frame objects, so what it writes
is the heap as it was, not as observing it made it.
"""

import gc as _gc
import os as _os
import sys as _sys
import time as _time

from . import _heapsnap

__all__ = ["dump", "install", "Error"]
__version__ = _heapsnap.agent_version

Error = _heapsnap.Error


class _PlainClass:
    """Any class statement's class: tells the agent CPython's private
    tp_traverse for such classes, so their instances take the fast path."""


_heapsnap._init(_PlainClass)

_install_state = None  # (signum, previous handler, base path, counter)


def _default_path(directory=None, when=None):
    stamp = _time.strftime("%Y%m%d-%H%M%S", _time.localtime(when))
    name = "heapsnap-%d-%s.db" % (_os.getpid(), stamp)
    path = _os.path.join(directory or _os.getcwd(), name)
    n = 1
    while _os.path.exists(path):
        n += 1
        path = _os.path.join(directory or _os.getcwd(),
                             "heapsnap-%d-%s-%d.db" % (_os.getpid(), stamp, n))
    return path


def _main_ident():
    threading = _sys.modules.get("threading")
    if threading is None:
        return 0
    try:
        return threading.main_thread().ident or 0
    except Exception:
        return 0


def _dump(path, collect, redact, trigger, check=False):
    if collect:
        _gc.collect()
    return _heapsnap._dump(path, trigger=trigger, redact=bool(redact),
                           collected=bool(collect), main_ident=_main_ident(),
                           check=bool(check))


def dump(path=None, *, collect=False, redact=False):
    """Write a snapshot of the whole heap to `path` and return the path.

    path     the file to write (default: heapsnap-<pid>-<time>.db in the
             current folder).  It is written as path + ".tmp" and renamed
             when complete, with mode 0600: heaps hold secrets.
    collect  run gc.collect() first.  By default nothing is collected and
             unreachable objects (cyclic garbage) are kept and flagged.
    redact   store no str or bytes contents (identifiers are kept).

    Raises heapsnap.Error with the cause when the snapshot cannot be
    written; no file is left behind then.
    """
    path = _default_path() if path is None else _os.fspath(path)
    _dump(path, collect, redact, "api")
    return path


def _numbered(base, n):
    root, ext = _os.path.splitext(base)
    return "%s.%d%s" % (root, n, ext or ".db")


def install(signum=None, path=None, *, collect=False, redact=False):
    """Snapshot the heap each time the process receives `signum`
    (default SIGUSR2).  The handler only runs between bytecodes of the
    main thread, a safe point; files are numbered: PATH.1.db, PATH.2.db...
    (default PATH: heapsnap-<pid>-<time>.db here).  Returns the base path.
    """
    import signal

    global _install_state
    if signum is None:
        signum = signal.SIGUSR2
    base = _default_path() if path is None else _os.path.abspath(
        _os.fspath(path))
    counter = [0]

    def on_signal(sig, frame):
        counter[0] += 1
        target = _numbered(base, counter[0])
        _report(target, _safe_dump(target, collect, redact, "signal"),
                "signal")

    previous = signal.signal(signum, on_signal)
    _install_state = (signum, previous, base, counter)
    return base


def _safe_dump(path, collect, redact, trigger):
    """Dump, turning failures into a message (never raises)."""
    try:
        return _dump(path, collect, redact, trigger)
    except Error as e:
        return e
    except Exception as e:  # a broken program state must not kill it
        return e


def _report(path, result, trigger):
    out = _sys.__stderr__ or _sys.stderr
    failed = isinstance(result, BaseException)
    if failed:
        msg = "heapsnap: error: cannot write snapshot '%s': %s" % (path, result)
    else:
        msg = "heapsnap: wrote '%s' (%d objects, %d references, %.2f s)" % (
            path, result["objects"], result["edges"], result["seconds"])
    try:
        out.write(msg + "\n")
        out.flush()
    except Exception:
        pass
    if _report_fd is not None:
        detail = str(result) if failed else str(result["objects"])
        line = "\t".join(("fail" if failed else "ok", trigger, path,
                          detail.replace("\t", " ").replace("\n", " ")))
        try:
            _os.write(_report_fd, (line + "\n").encode("utf-8", "replace"))
        except OSError:
            pass


_report_fd = None


def _start_from_environment():
    """Called by the bootstrap sitecustomize that `heapsnap dump --`
    puts on PYTHONPATH: dump at exit and on SIGUSR2, as the command line
    asked, and undo the environment so child processes are unaffected."""
    global _report_fd
    env = _os.environ
    mode = env.pop("HEAPSNAP_BOOT", None)
    if mode is None:
        return
    output = env.pop("HEAPSNAP_OUTPUT", None)
    directory = env.pop("HEAPSNAP_OUTPUT_DIR", None)
    collect = env.pop("HEAPSNAP_COLLECT", "0") == "1"
    redact = env.pop("HEAPSNAP_REDACT", "0") == "1"
    fd = env.pop("HEAPSNAP_REPORT_FD", None)
    if env.pop("HEAPSNAP_PYTHONPATH_WAS_SET", "0") == "1":
        env["PYTHONPATH"] = env.pop("HEAPSNAP_ORIG_PYTHONPATH", "")
    else:
        env.pop("HEAPSNAP_ORIG_PYTHONPATH", None)
        env.pop("PYTHONPATH", None)
    if fd is not None:
        try:
            _report_fd = int(fd)
            _os.set_inheritable(_report_fd, False)
        except (ValueError, OSError):
            _report_fd = None
    if mode != "1":
        return  # the output folder is not writable: no snapshots
    base = output or _default_path(directory)
    pid = _os.getpid()
    install(path=base, collect=collect, redact=redact)

    def at_exit():
        # A forked child inherits this handler; only the program dumps.
        if _os.getpid() == pid:
            _report(base, _safe_dump(base, collect, redact, "exit"), "exit")

    import atexit
    atexit.register(at_exit)

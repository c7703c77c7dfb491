"""heapsnap: snapshot the live Python heap into an SQLite file.

    import heapsnap
    heapsnap.dump("app.db")        # every object, reference and root
    heapsnap.dump("app.db", fork=True)  # a forked child writes it
    heapsnap.install()             # dump on SIGUSR2 from now on

What a block of code left behind, with the line that allocated it:
``with heapsnap.track() as t: ...`` then ``print(t)``; ``@heapsnap.profile``
prints that line by line after each call of a function (track.py).

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
from .track import profile, track

__all__ = ["dump", "install", "wait", "track", "profile", "Error"]
__version__ = _heapsnap.agent_version

Error = _heapsnap.Error


class _PlainClass:
    """Any class statement's class: tells the agent CPython's private
    tp_traverse for such classes, so their instances take the fast path."""


_heapsnap._init(_PlainClass)

_install_state = None  # the _Installed of install(), if any


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


def _traced_bytes():
    """tracemalloc's traced total when it runs (recorded in the snapshot's
    meta, for the memory reconciliation of `heapsnap info`), else -1."""
    try:
        import _tracemalloc  # built in; tracing may start with -X tracemalloc
        if _tracemalloc.is_tracing():
            return _tracemalloc.get_traced_memory()[0]
    except Exception:
        pass
    return -1


_waits_at_exit = []


def _dump(path, collect, redact, trigger, check=False, attach_method=None,
          background=False, status_fd=-1):
    if background and not _waits_at_exit:
        # A background tail is waited for before the interpreter
        # finalizes; the agent's C atexit handler is the backstop for an
        # exit that runs no Python atexit handlers.
        import atexit
        atexit.register(_heapsnap._wait_background)
        _waits_at_exit.append(True)
    if collect:
        _gc.collect()
    return _heapsnap._dump(path, trigger=trigger, redact=bool(redact),
                           collected=bool(collect), check=bool(check),
                           traced_bytes=_traced_bytes(),
                           attach_method=attach_method,
                           background=background, status_fd=status_fd,
                           report_fd=(_report_fd if background and
                                      _report_fd is not None else -1))


class _Forked:
    """A snapshot being written by a forked child (see dump(fork=True))."""

    def __init__(self, path, collect, redact, trigger, report=False,
                 attach_method=None):
        if collect:
            _gc.collect()
        self.path = path
        self.pid, self._fd = _heapsnap._dump(
            path, trigger=trigger, redact=bool(redact),
            collected=bool(collect), fork=True, traced_bytes=_traced_bytes(),
            report_fd=(_report_fd if report and _report_fd is not None
                       else -1), attach_method=attach_method)
        self._result = None

    def wait(self):
        """Waits for the child; returns the dict of facts or raises Error.
        The GIL is released while waiting."""
        if self._result is None:
            self._result = self._collect()
        if isinstance(self._result, Error):
            raise self._result
        return self._result

    def _collect(self):
        data = b""
        try:
            while True:
                chunk = _os.read(self._fd, 4096)
                if not chunk:
                    break
                data += chunk
        finally:
            _os.close(self._fd)
        status = None
        try:
            status = _os.waitpid(self.pid, 0)[1]
        except ChildProcessError:
            pass  # reaped by someone else; the status line tells
        fields = data.decode("utf-8", "replace").rstrip("\n").split("\t")
        if fields[0] != "ok":
            # A child that was killed or crashed left its file half
            # written; one that failed removed it already.
            _remove_tmp(self.path)
        if fields[0] == "ok" and len(fields) == 5:
            return {"objects": int(fields[1]), "edges": int(fields[2]),
                    "seconds": float(fields[3]),
                    "walk_seconds": float(fields[4]), "forked": True,
                    "pid": self.pid}
        if fields[0] == "fail" and len(fields) > 1:
            return Error("\t".join(fields[1:]))
        if status is not None and _os.WIFSIGNALED(status):
            return Error("the forked child writing '%s' was killed by "
                         "signal %d" % (self.path, _os.WTERMSIG(status)))
        return Error("the forked child writing '%s' ended without a "
                     "result" % self.path)


_forked = []  # (_Forked, thread reaping it), oldest first


def _start_forked(path, collect, redact, trigger, report=False):
    """Forks a child that writes `path`; a daemon thread reaps it."""
    import threading

    job = _Forked(path, collect, redact, trigger, report)

    def reap():
        try:
            job.wait()
        except Error:
            pass  # kept in job for wait() to raise

    t = threading.Thread(target=reap, name="heapsnap-reaper", daemon=True)
    t.start()
    _forked.append((job, t))
    return job


def dump(path=None, *, collect=False, redact=False, fork=False):
    """Write a snapshot of the whole heap to `path` and return the path.

    path     the file to write (default: heapsnap-<pid>-<time>.db in the
             current folder).  It is written as path + ".tmp" and renamed
             when complete, with mode 0600: heaps hold secrets.
    collect  run gc.collect() first.  By default nothing is collected and
             unreachable objects (cyclic garbage) are kept and flagged.
    redact   store no str or bytes contents (identifiers are kept).
    fork     let a forked child write the snapshot: the process pauses only
             for fork() itself and carries on while the child walks the
             heap as it was at that moment.  dump() returns at once; the
             file appears, complete, when the child is done; wait() waits
             for it.  Copy-on-write memory grows as the process writes
             while the child runs; other threads do not exist in the child,
             so their objects are snapshotted as they were; what a Python
             __sizeof__ reports is not recorded (reported_sizes).

    Raises heapsnap.Error with the cause when the snapshot cannot be
    written; no file is left behind then.
    """
    path = _default_path() if path is None else _os.fspath(path)
    if fork:
        _start_forked(path, collect, redact, "api")
    else:
        _dump(path, collect, redact, "api")
    return path


def wait(timeout=None):
    """Wait for the snapshots that forked children are writing (dump(...,
    fork=True), or signals with install(fork=True)); return their paths.
    Raises heapsnap.Error for the first that failed, after waiting for all,
    or when `timeout` seconds pass first.  A signal's snapshot that is
    being finished after its walk (install()) is waited for first, without
    a timeout; it reports itself on stderr."""
    _heapsnap._wait_background()
    deadline = None if timeout is None else _time.monotonic() + timeout
    paths, failure = [], None
    while _forked:
        job, thread = _forked[0]
        thread.join(None if deadline is None
                    else max(0.0, deadline - _time.monotonic()))
        if thread.is_alive():
            raise Error("a forked snapshot ('%s') is still being written "
                        "after %s s" % (job.path, timeout))
        _forked.pop(0)
        try:
            job.wait()
            paths.append(job.path)
        except Error as e:
            failure = failure or e
    if failure is not None:
        raise failure
    return paths


def _attach_dump(path, collect, redact, fork=False, method="ptrace",
                 status_fd=-1):
    """The entry point of `heapsnap dump --pid` (inject/inject.c, or
    inject/remote_payload.py with method "pep768"): the facts of a dump to
    `path`, in place or by a forked child waited for.  `method` is
    recorded in the snapshot's meta as attach_method.  With `status_fd`
    (the remote payload, which runs on one of the program's threads) the
    dump returns after the walk ('background' in the facts) and the
    agent's thread finishes the file, then writes the status file's result
    and end lines on its own copy of the fd."""
    if fork:
        return _Forked(path, collect, redact, "attach",
                       attach_method=method).wait()
    return _dump(path, collect, redact, "attach", attach_method=method,
                 background=status_fd >= 0, status_fd=status_fd)


def _numbered(base, n):
    root, ext = _os.path.splitext(base)
    return "%s.%d%s" % (root, n, ext or ".db")


def _own_path(named, directory):
    """The base snapshot name of this process when its parent's was
    `named` (an absolute path, or None for the default naming in
    `directory`): FILE-<pid>.db, or heapsnap-<pid>-<time>.db."""
    if named is None:
        return _default_path(directory)
    root, ext = _os.path.splitext(named)
    return "%s-%d%s" % (root, _os.getpid(), ext or ".db")


class _Installed:
    """What install() set up: the signal, the handler it replaced, the
    options, and the numbered files written so far.  `named` is the path
    the caller gave (None: default naming in `directory`); a forked child
    derives its own base from it (_after_fork_in_child)."""

    def __init__(self, signum, named, directory, collect, redact, fork):
        self.signum = signum
        self.previous = None
        self.named = named
        self.directory = directory
        self.pid = _os.getpid()
        self.base = named or _default_path(directory)
        self.counter = 0
        self.collect, self.redact, self.fork = collect, redact, fork
        # The handler returns after the walk and a thread finishes the
        # file, except in an os.fork() child: those usually leave by
        # os._exit(), which waits for nothing (multiprocessing's workers).
        self.background = True

    def on_signal(self, sig, frame):
        self.counter += 1
        target = _numbered(self.base, self.counter)
        if self.fork:
            # The child reports itself: it may outlive this process.
            try:
                _start_forked(target, self.collect, self.redact, "signal",
                              report=True)
            except Exception as e:
                _report(target, e, "signal")
            return
        _report_start(target, "signal")
        # The handler returns after the walk; a thread finishes the file
        # and reports it (the next dump and the exit wait for it).
        result = _safe_dump(target, self.collect, self.redact, "signal",
                            background=self.background)
        if isinstance(result, BaseException) or not result["background"]:
            _report(target, result, "signal")


def install(signum=None, path=None, *, collect=False, redact=False,
            fork=False):
    """Snapshot the heap each time the process receives `signum`
    (default SIGUSR2).  The handler only runs between bytecodes of the
    main thread, a safe point; files are numbered: PATH.1.db, PATH.2.db...
    (default PATH: heapsnap-<pid>-<time>.db here).  The program pauses for
    the walk only: the handler returns then, and a thread finishes the
    file and prints 'heapsnap: wrote ...' when it is complete (a later
    dump, wait() and the exit wait for it; os._exit() does not, so in a
    child made by os.fork(), which usually leaves that way, the handler
    returns once the file is complete).  With
    fork=True a forked child writes each one (see dump()).  A child made
    by os.fork()
    keeps the handler with names of its own: PATH-<pid>.1.db... (default:
    heapsnap-<childpid>-<time>.1.db...).  Returns the base path.
    """
    import signal

    global _install_state
    if signum is None:
        signum = signal.SIGUSR2
    named = None if path is None else _os.path.abspath(_os.fspath(path))
    state = _Installed(signum, named, None, collect, redact, fork)
    state.previous = signal.signal(signum, state.on_signal)
    _install_state = state
    return state.base


def _after_fork_in_child():
    """os.fork() child: its own snapshot names, no parent's jobs, and the
    report pipe of `heapsnap dump --` closed (it belongs to the program;
    a child outliving it must not keep the command waiting)."""
    global _report_fd
    del _forked[:]
    if _report_fd is not None:
        try:
            _os.close(_report_fd)
        except OSError:
            pass
        _report_fd = None
    st = _install_state
    if st is not None and st.pid != _os.getpid():
        st.pid = _os.getpid()
        st.background = False
        st.base = _own_path(st.named, st.directory)
        st.counter = 0


_os.register_at_fork(after_in_child=_after_fork_in_child)


def _remove_tmp(path):
    """Removes the FILE.tmp of a dump to `path` that did not finish, if
    it is a regular file (never what someone else put there)."""
    import stat

    tmp = path + ".tmp"
    try:
        if stat.S_ISREG(_os.lstat(tmp).st_mode):
            _os.unlink(tmp)
    except OSError:
        pass


def _report_line(*fields):
    """One tab-separated line on `heapsnap dump --`'s report pipe, if any."""
    if _report_fd is not None:
        line = "\t".join(f.replace("\t", " ").replace("\n", " ")
                         for f in fields)
        try:
            _os.write(_report_fd, (line + "\n").encode("utf-8", "replace"))
        except OSError:
            pass


def _report_start(path, trigger):
    """Tells `heapsnap dump --` that a dump to `path` starts: if the
    program dies before _report(), the command removes its FILE.tmp."""
    _report_line("start", trigger, path, "")


def _safe_dump(path, collect, redact, trigger, background=False):
    """Dump, turning failures into a message (never raises)."""
    try:
        return _dump(path, collect, redact, trigger, background=background)
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
    detail = str(result) if failed else str(result["objects"])
    _report_line("fail" if failed else "ok", trigger, path, detail)


_report_fd = None  # `heapsnap dump --`'s report pipe, in its program only


def _first_at_exit(handler):
    """Makes `handler` the first atexit handler to run (atexit runs them
    last registered first): it is registered now, and atexit.register is
    wrapped so that each later registration (the program's, a
    weakref.finalize's, logging's...) moves it back to the end.  Handlers
    registered before (by .pth files) run after it anyway."""
    import atexit

    register = atexit.register

    def register_then_heapsnap(func, *args, **kwargs):
        result = register(func, *args, **kwargs)
        atexit.unregister(handler)
        register(handler)
        return result

    for name in ("__name__", "__qualname__", "__doc__"):
        setattr(register_then_heapsnap, name, getattr(register, name, None))
    register_then_heapsnap.__wrapped__ = register
    register(handler)
    atexit.register = register_then_heapsnap


def _start_from_environment():
    """Called by the bootstrap sitecustomize that `heapsnap dump --`
    puts on PYTHONPATH, in the program and in every Python process it
    starts (the environment stays for them: subprocesses, multiprocessing's
    spawned workers, a reloader's server).

    HEAPSNAP_BOOT says which: "1" the program itself, "descendant" one of
    its Python descendants ("no-write" / "descendant-no-write": the output
    folder is not writable, nothing is installed).  Every one snapshots on
    SIGUSR2, with its pid in the file names (the program: FILE.N.db; a
    descendant: FILE-<pid>.N.db, or heapsnap-<pid>-<time>.N.db); os.fork()
    children of either do the same (install()).  Only the program
    snapshots at exit, before any other atexit handler runs (and after
    threading has joined the program's non-daemon threads): a descendant's
    exit is not the program's end, and multiprocessing's workers leave by
    os._exit anyway."""
    global _report_fd
    env = _os.environ
    mode = env.get("HEAPSNAP_BOOT")
    if mode is None:
        return
    output = env.get("HEAPSNAP_OUTPUT")
    directory = env.get("HEAPSNAP_OUTPUT_DIR")
    collect = env.get("HEAPSNAP_COLLECT", "0") == "1"
    fork = env.get("HEAPSNAP_FORK", "0") == "1"
    redact = env.get("HEAPSNAP_REDACT", "0") == "1"
    # The report pipe is the program's alone (not inherited across exec).
    fd = env.pop("HEAPSNAP_REPORT_FD", None)
    program = mode in ("1", "no-write")
    if program:
        env["HEAPSNAP_BOOT"] = "descendant" if mode == "1" else \
            "descendant-no-write"
    if fd is not None and program:
        try:
            _report_fd = int(fd)
            _os.set_inheritable(_report_fd, False)
        except (ValueError, OSError):
            _report_fd = None
    if mode not in ("1", "descendant"):
        return  # the output folder is not writable: no snapshots
    if program:
        base = install(path=output or _default_path(directory),
                       collect=collect, redact=redact, fork=fork)
    else:
        base = install(path=_own_path(output, directory), collect=collect,
                       redact=redact, fork=fork)
    # Named like the program's; its children derive theirs the same way.
    _install_state.named = output
    _install_state.directory = directory
    if not program:
        return
    pid = _os.getpid()
    done = []

    def at_exit():
        # A forked child inherits this handler; only the program dumps.
        if _os.getpid() == pid and not done:
            done.append(True)
            _report_start(base, "exit")
            _report(base, _safe_dump(base, collect, redact, "exit"), "exit")

    _first_at_exit(at_exit)

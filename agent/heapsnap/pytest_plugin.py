"""pytest plugin: a test fails when it leaves objects alive, and says why.

    @pytest.mark.no_leaks                     # instances of project classes
    @pytest.mark.no_leaks(types=["Request"])  # instances of these types
    def test_handler(): ...

    def test_cache(heapsnap_leaks):           # the same check on a block
        with heapsnap_leaks(types=["Request"]):
            ...

A marked test fails when objects of those types created while it ran
(from the end of its set-up to the end of its teardown, so what a fixture's
teardown releases is no leak) are still alive after it and a gc.collect().
The failure message groups them by the path that keeps them alive, as
`heapsnap why OBJ...` does, from a snapshot of this process taken then;
`--heapsnap-dump-on-leak DIR` keeps that snapshot in DIR.

types: names (as `heapsnap why` takes them: Request, app.models.Request)
or classes.  Without types: any instance of a class defined in the project
under test, i.e. in a module whose file lies under pytest's rootdir and
outside every site-packages and dist-packages folder.  Objects are found
with gc.get_objects(): the instances of classes written in Python are
there; types= naming a class whose instances the cyclic gc does not track
(int, str, a C type without GC) finds none.

Installing heapsnap enables the plugin (entry point pytest11); without
installing, `pytest -p heapsnap.pytest_plugin` with the agent on
PYTHONPATH.  Tests without the marker or fixture cost nothing.
"""

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import weakref

import pytest

# `heapsnap why` gets at most this many addresses of one type; a type all
# of whose live instances leaked is named instead.
_MAX_ADDRESSES = 1000

_HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_addoption(parser):
    group = parser.getgroup("heapsnap", "heapsnap leak checks")
    group.addoption(
        "--heapsnap-dump-on-leak", metavar="DIR", default=None,
        help="keep the heap snapshot of each test that leaked in DIR "
             "(heapsnap-leak-<test>.db), for heapsnap's other commands")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "no_leaks(types=None): fail the test when objects created while it "
        "ran are still alive after it and gc.collect() (instances of "
        "`types`, names or classes; default: of any class defined in the "
        "project under test), with heapsnap why's paths for them")


# ---- what is watched ---------------------------------------------------------

def _check_types(types):
    """types as a tuple, or None; raises TypeError for anything else."""
    if types is None:
        return None
    if isinstance(types, (str, type)):
        types = [types]
    try:
        types = tuple(types)
    except TypeError:
        raise TypeError("types must be a list of type names or classes, "
                        "not %s" % type(types).__name__)
    for t in types:
        if not isinstance(t, (str, type)):
            raise TypeError("types must be type names or classes, not %r"
                            % (t,))
    return types


def _full_name(t):
    return "%s.%s" % (t.__module__, getattr(t, "__qualname__", t.__name__))


def _site_folder(path):
    parts = path.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts


def _matcher(types, rootdir):
    """A predicate on type objects: the watched ones.  Answers are cached
    by the caller for one pass only (types are not kept alive)."""
    if types is not None:
        classes = [t for t in types if isinstance(t, type)]
        names = {t for t in types if isinstance(t, str)}

        def match(t):
            return t in classes or t.__name__ in names or \
                getattr(t, "__qualname__", None) in names or \
                _full_name(t) in names
        return match

    root = os.path.realpath(str(rootdir)) + os.sep
    modules = {}  # module name -> under the project (for one pass)

    def match(t):
        name = t.__module__
        found = modules.get(name)
        if found is None:
            mod = sys.modules.get(name)
            path = getattr(mod, "__file__", None)
            found = False
            if isinstance(path, str):
                path = os.path.realpath(path)
                found = path.startswith(root) and \
                    not path.startswith(_HERE + os.sep) and \
                    not _site_folder(path)
            modules[name] = found
        return found
    return match


def _scan(match, collect):
    """Yields every gc-tracked object whose type `match` takes, after a
    gc.collect() if `collect`."""
    if collect:
        gc.collect()
    verdicts = {}
    for o in gc.get_objects():
        t = type(o)
        v = verdicts.get(t)
        if v is None:
            v = verdicts[t] = bool(match(t))
        if v:
            yield o


class _Watch:
    """The watched objects alive when it starts: a weak reference to each
    (a strong one to an object that takes none, which then lives at least
    as long as the watch), by id, so that a new object at a dead one's
    address is still new."""

    def __init__(self, types, rootdir):
        self._types, self._rootdir = types, rootdir
        self._before = {}
        o = None
        # No collection first: garbage watched now is simply never new.
        for o in _scan(_matcher(types, rootdir), False):
            try:
                ref = weakref.ref(o)
            except TypeError:
                ref = (lambda kept: lambda: kept)(o)
            self._before[id(o)] = ref
        del o

    def new_alive(self):
        """The watched objects alive now (after gc.collect()) that were not
        when the watch started: [(type name, [ids], live instances of that
        type)], most first.  Ends the watch; keeps no reference to them."""
        before, self._before = self._before, None
        new, total = {}, {}
        o = None
        for o in _scan(_matcher(self._types, self._rootdir), True):
            t = type(o)
            total[t] = total.get(t, 0) + 1
            ref = before.get(id(o))
            if ref is None or ref() is not o:
                new.setdefault(t, []).append(id(o))
        del o, before
        leaks = sorted(((_full_name(t), ids, total[t])
                        for t, ids in new.items()),
                       key=lambda x: (-len(x[1]), x[0]))
        return leaks


# ---- explaining --------------------------------------------------------------

def _snapshot_path(keep_dir, nodeid):
    """Where the snapshot goes: DIR/heapsnap-leak-<test>.db (kept), or a
    temporary folder (removed); returns (path, temporary folder or None)."""
    if keep_dir:
        os.makedirs(keep_dir, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
        path = os.path.join(os.path.abspath(keep_dir),
                            "heapsnap-leak-%s.db" % name[:150])
        if os.path.exists(path):
            os.unlink(path)
        return path, None
    tmp = tempfile.mkdtemp(prefix="heapsnap-leak-")
    return os.path.join(tmp, "leak.db"), tmp


def _why(path, leaks):
    """`heapsnap why` over the leaked objects: a type by name when all its
    live instances leaked, else their addresses.  Its text, or the reason
    it could not run."""
    from heapsnap import _command

    specs, note = [], ""
    for name, ids, total in leaks:
        if len(ids) == total:
            specs.append(name)
        else:
            specs.extend("%#x" % i for i in ids[:_MAX_ADDRESSES])
            if len(ids) > _MAX_ADDRESSES:
                note += "\n(why shows %d of the %d %s objects)" % (
                    _MAX_ADDRESSES, len(ids), name)
    try:
        cmd = [_command.path(), "why", "-f", path] + specs
    except _command.NotFound as e:
        return "(no paths: %s)" % e
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        return "(no paths: heapsnap why failed: %s)" % p.stderr.strip()
    return p.stdout.rstrip("\n") + note


def _leak_message(leaks, what, keep_dir, nodeid):
    """The failure message for `leaks` (Watch.new_alive()), with why's
    paths from a snapshot of this process taken now."""
    import heapsnap

    count = sum(len(ids) for _, ids, _ in leaks)
    head = "heapsnap: %d object%s created %s %s still alive after it and " \
           "gc.collect(): %s" % (
               count, "" if count == 1 else "s", what,
               "is" if count == 1 else "are",
               ", ".join("%d %s" % (len(ids), name)
                         for name, ids, _ in leaks))
    try:
        path, tmp = _snapshot_path(keep_dir, nodeid)
    except OSError as e:
        return "%s\n(no snapshot: cannot write to '%s': %s)" % (
            head, keep_dir, e.strerror)
    try:
        heapsnap.dump(path)
        body = _why(path, leaks)
        if keep_dir:
            body += "\nsnapshot: %s" % path
        return "%s\n%s" % (head, body)
    except heapsnap.Error as e:
        return "%s\n(no snapshot: %s)" % (head, e)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _rootdir(config):
    return getattr(config, "rootpath", None) or config.rootdir


# ---- the marker --------------------------------------------------------------

def _marker_types(marker):
    if marker.args and "types" in marker.kwargs:
        raise TypeError("types given twice")
    types = marker.kwargs.get("types", marker.args[0] if marker.args
                              else None)
    unknown = set(marker.kwargs) - {"types"}
    if unknown or len(marker.args) > 1:
        raise TypeError("no_leaks takes one argument, types")
    return _check_types(types)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    marker = item.get_closest_marker("no_leaks")
    if marker is not None:
        try:
            types = _marker_types(marker)
        except TypeError as e:
            pytest.fail("@pytest.mark.no_leaks: %s" % e, pytrace=False)
        item._heapsnap_watch = _Watch(types, _rootdir(item.config))
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """For a no_leaks test: set-up, call and teardown as pytest runs them,
    then the check, whose failure becomes the call's, and only then the
    reports."""
    if item.get_closest_marker("no_leaks") is None:
        return None
    from _pytest.runner import runtestprotocol

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid,
                                       location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    watch = item.__dict__.pop("_heapsnap_watch", None)
    call = [r for r in reports if r.when == "call"]
    if watch is not None and call and all(r.passed for r in reports):
        leaks = watch.new_alive()
        if leaks:
            call[0].outcome = "failed"
            call[0].longrepr = _leak_message(
                leaks, "during the test",
                item.config.getoption("heapsnap_dump_on_leak"), item.nodeid)
    del watch
    for r in reports:
        item.ihook.pytest_runtest_logreport(report=r)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid,
                                        location=item.location)
    return True


# ---- the fixture -------------------------------------------------------------

class _Block:
    """`with heapsnap_leaks(types=...):` fails the test at the block's end
    when objects created inside it are alive then (after gc.collect()).
    Variables of the test that still hold them count: the path says so."""

    def __init__(self, types, request):
        self._types = _check_types(types)
        self._request = request
        self._watch = None

    def __enter__(self):
        self._watch = _Watch(self._types, _rootdir(self._request.config))
        return self

    def __exit__(self, exc_type, exc, tb):
        watch, self._watch = self._watch, None
        if exc_type is not None:
            return False
        leaks = watch.new_alive()
        del watch
        if leaks:
            pytest.fail(_leak_message(
                leaks, "in the heapsnap_leaks block",
                self._request.config.getoption("heapsnap_dump_on_leak"),
                self._request.node.nodeid), pytrace=False)
        return False


@pytest.fixture
def heapsnap_leaks(request):
    """heapsnap_leaks(types=None): a context manager; the test fails when
    objects created inside it (instances of `types`, names or classes;
    default: of any class defined in the project under test) are alive at
    its end after gc.collect().  The message says why, as the no_leaks
    marker's does."""

    def check(types=None):
        return _Block(types, request)
    return check

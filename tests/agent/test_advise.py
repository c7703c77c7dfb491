"""heapsnap advise, held to its word: for each kind of finding a program
is run as it is and with the advice applied (the __slots__ class, the
array, the interned strings); the saving advise predicted from the first
program's snapshot must match the saving tracemalloc measures between the
two runs, within 15 %.  And advise stays silent where a technique does not
apply (a class with 3 instances, a list of mixed objects)."""

import json
import os
import subprocess
import sys
import textwrap
import unittest

from hstest import AgentTest
from test_compiled import cli_path

# What a program builds, as it is (FIX = 0) and with the advice applied
# (FIX = 1); `data` keeps it alive.  N objects each.
PROGRAMS = {
    "slots": """
        class Point:
            if FIX:
                __slots__ = ('x', 'y', 'z')
            def __init__(self, i):
                self.x = i
                self.y = None
                self.z = 'point'
        def build():
            return [Point(i) for i in range(N)]
        """,
    "array_floats": """
        import array
        def build():
            if FIX:
                return array.array('d', [i * 0.5 for i in range(N)])
            return [i * 0.5 for i in range(N)]
        """,
    "array_ints": """
        import array
        def build():
            if FIX:
                return array.array('q', [i * 1000 for i in range(N)])
            return [i * 1000 for i in range(N)]
        """,
    "duplicate_strings": """
        import sys
        def build():
            if FIX:
                return [sys.intern(''.join(['user-', 'status'])) for i in range(N)]
            return [''.join(['user-', 'status']) for i in range(N)]
        """,
    # Copies of a few values held by one attribute: the finding names it.
    "duplicate_attr": """
        import sys
        class Row:
            def __init__(self, i):
                c = ''.join(['country-', ('US', 'FR', 'DE')[i % 3]])
                self.country = sys.intern(c) if FIX else c
                self.i = i
        def build():
            return [Row(i) for i in range(N)]
        """,
    "duplicate_bytes": """
        CACHE = {}
        CANON = {}
        def build():
            for i in range(N):
                b = b'payload-' + str(i % 4).encode() * 20
                CACHE[i] = CANON.setdefault(b, b) if FIX else b
        """,
    # Copies in many small lists, each an attribute: pooled by it.
    "duplicate_in_lists": """
        import sys
        class Row:
            def __init__(self, i):
                a = ''.join(['tag-', 'xyz'[i % 3]])
                b = ''.join(['tag-', 'uvw'[i % 3]])
                self.tags = [sys.intern(a), sys.intern(b)] if FIX else [a, b]
        def build():
            return [Row(i) for i in range(N)]
        """,
    # Equal tuples of immutable values, or one canonical copy of each.
    "duplicate_tuples": """
        CANON = {}
        class Row:
            def __init__(self, i):
                k = (''.join(['kind-', 'abc'[i % 3]]), i % 3)
                self.key = CANON.setdefault(k, k) if FIX else k
                self.i = i
        def build():
            return [Row(i) for i in range(N)]
        """,
    "sparse_containers": """
        class Node:
            def __init__(self, i):
                self.name = i
                self.children = None if FIX else []
                self.meta = None if FIX else {}
        def build():
            return [Node(i) for i in range(N)]
        """,
    # Lists grown by append() (FIX = 0) or made at their final size.
    "overallocated_lists": """
        class Node:
            def __init__(self, i):
                self.name = i
                if FIX:
                    self.kids = [i]
                else:
                    self.kids = []
                    self.kids.append(i)
        def build():
            return [Node(i) for i in range(N)]
        """,
    # A module-level dict shrunk by deletions (FIX = 0), or rebuilt once
    # shrunk.  None values: the references to them count as items.  1,365
    # left: dict(d) asks for 2,048 slots, which 3.10 to 3.13.3 round up
    # to 4,096.
    "sparse_dict": """
        CACHE = None
        def build():
            global CACHE
            CACHE = {i: None for i in range(N * 10)}
            for i in range(1365, N * 10):
                del CACHE[i]
            if FIX:
                CACHE = dict(CACHE)
        """,
    # Sets that lost most of their elements, per instance.
    "sparse_sets": """
        class Node:
            def __init__(self, i):
                self.tags = set(range(i % 7, 100 + i % 7))
                for k in range(1, 100):
                    self.tags.discard(k + i % 7)
                if FIX:
                    self.tags = set(self.tags)
        def build():
            return [Node(i) for i in range(N)]
        """,
    "garbage_cycles": """
        import gc, weakref
        gc.disable()
        class Node:
            def __init__(self, parent):
                if FIX and parent is not None:
                    self.parent = weakref.ref(parent)
                else:
                    self.parent = parent
                self.kids = []
        def build():
            for i in range(N):
                root = Node(None)
                root.kids.append(Node(root))
        """,
    "weak_cache": """
        import weakref
        class Blob:
            def __init__(self, i):
                self.payload = bytes(2000)
                self.i = i
        CACHE = weakref.WeakValueDictionary() if FIX else {}
        def build():
            for i in range(N):
                CACHE['k%d' % i] = Blob(i)
        """,
    # A class's registry of every instance made (FIX = 0), or a WeakSet
    # of them.
    "weak_list": """
        import weakref
        class Blob:
            registry = weakref.WeakSet() if FIX else []
            def __init__(self, i):
                self.payload = bytes(2000)
                self.i = i
                if FIX:
                    Blob.registry.add(self)
                else:
                    Blob.registry.append(self)
        def build():
            for i in range(N):
                Blob(i)
        """,
    # Listeners stored as bound methods (FIX = 0), or as WeakMethods.
    "weak_listeners": """
        import weakref
        LISTENERS = []
        class Handler:
            def __init__(self, i):
                self.payload = bytes(2000)
                self.i = i
            def on_event(self):
                return self.i
        def build():
            for i in range(N):
                h = Handler(i)
                LISTENERS.append(weakref.WeakMethod(h.on_event) if FIX
                                 else h.on_event)
        """,
    # An lru_cache on a method keeps every self (FIX = 0), or a cache per
    # instance in a WeakKeyDictionary.
    "weak_cache_lru_method": """
        import functools, weakref
        class Blob:
            def __init__(self, i):
                self.payload = bytes(2000)
                self.i = i
            if FIX:
                _cache = weakref.WeakKeyDictionary()
                def render(self, k):
                    mine = Blob._cache.setdefault(self, {})
                    if k not in mine:
                        mine[k] = 'r%d' % k
                    return mine[k]
            else:
                @functools.lru_cache(maxsize=None)
                def render(self, k):
                    return 'r%d' % k
        def build():
            for i in range(N):
                Blob(i).render(1)
        """,
    # An unbounded lru_cache on a function (FIX = 0), or a memo that keeps
    # its results only while something else uses them.
    "weak_cache_lru_function": """
        import functools, weakref
        class Blob:
            def __init__(self, i):
                self.payload = bytes(2000)
                self.i = i
        if FIX:
            MEMO = weakref.WeakValueDictionary()
            def make(i):
                b = MEMO.get(i)
                if b is None:
                    b = MEMO[i] = Blob(i)
                return b
        else:
            @functools.lru_cache(maxsize=None)
            def make(i):
                return Blob(i)
        def build():
            for i in range(N):
                make(i)
        """,
    # open_resources: each kept open (FIX = 0) or closed and dropped.
    "open_files": """
        def build():
            with open('data.txt', 'w') as f:
                f.write('line\\n' * 100)
            files = []
            for i in range(N):
                if FIX:
                    with open('data.txt') as f:
                        f.read()
                    files.append(None)
                else:
                    f = open('data.txt')
                    f.read()
                    files.append(f)
            return files
        """,
    "open_sockets": """
        import socket
        def build():
            socks = []
            for i in range(N):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if FIX:
                    s.close()
                    s = None
                socks.append(s)
            return socks
        """,
    "open_sqlite": """
        import sqlite3
        def build():
            conns = []
            for i in range(N):
                c = sqlite3.connect(':memory:')
                c.execute('select 1').fetchall()
                if FIX:
                    c.close()
                    c = None
                conns.append(c)
            return conns
        """,
    "open_mmaps": """
        import mmap
        def build():
            maps = []
            for i in range(N):
                m = mmap.mmap(-1, 1 << 20)
                for at in range(0, 1 << 20, 4096):
                    m[at] = 1
                if FIX:
                    m.close()
                    m = None
                maps.append(m)
            return maps
        """,
    "open_popens": """
        import subprocess, sys
        def build():
            procs = []
            for i in range(N):
                p = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                if FIX:
                    p.communicate(b'')
                    p = None
                procs.append(p)
            return procs
        """,
    "running_threads": """
        import atexit, threading
        GO = threading.Event()
        # At exit the threads end: CPython frees nothing of a daemon
        # thread still running then (LeakSanitizer reports its buffer).
        def release(threads):
            GO.set()
            for t in threads:
                t.join()
        def work(ready):
            buf = bytearray(200000)
            ready.set()
            GO.wait()
            return len(buf)
        def build():
            threads = []
            for i in range(N):
                ready = threading.Event()
                t = threading.Thread(target=work, args=(ready,), daemon=True)
                t.start()
                ready.wait()
                threads.append(t)
            atexit.register(release, threads)
            if FIX:
                GO.set()
                for t in threads:
                    t.join()
            return threads
        """,
    # back_reference: the back-pointer strong (FIX = 0) or weak.
    "back_reference_parent": """
        import weakref
        class Node:
            def __init__(self, parent):
                if FIX and parent is not None:
                    self.parent = weakref.ref(parent)
                else:
                    self.parent = parent
                self.kids = []
        def build():
            roots = []
            for i in range(N):
                r = Node(None)
                for k in range(10):
                    r.kids.append(Node(r))
                roots.append(r)
            return roots
        """,
    "back_reference_method": """
        import weakref
        class Handler:
            def __init__(self):
                if FIX:
                    self.callback = weakref.WeakMethod(self.on_event)
                else:
                    self.callback = self.on_event
                self.data = [0] * 10
            def on_event(self):
                pass
        def build():
            return [Handler() for i in range(N)]
        """,
    # materialized_sequence: a list built whole only to be walked (FIX =
    # 0) or a generator; DUMP() is called half way through the walk.
    "materialized": """
        def build():
            if FIX:
                data = (str(i) * 3 for i in range(N))
            else:
                data = [str(i) * 3 for i in range(N)]
            total = 0
            for k, x in enumerate(data):
                total += len(x)
                if k == N // 2:
                    DUMP()
            return total
        """,
}

# The kind of finding each program must produce, and the type it names.
EXPECT = {
    "slots": ("slots", "__main__.Point"),
    "array_floats": ("array", "list"),
    "array_ints": ("array", "list"),
    "duplicate_strings": ("duplicate_strings", "str"),
    "duplicate_attr": ("duplicate_strings", "str"),
    "duplicate_bytes": ("duplicate_strings", "bytes"),
    "duplicate_tuples": ("duplicate_strings", "tuple"),
    "duplicate_in_lists": ("duplicate_strings", "str"),
    "sparse_containers": ("sparse_containers", None),
    "overallocated_lists": ("sparse_containers", "list"),
    "sparse_dict": ("sparse_containers", "dict"),
    "sparse_sets": ("sparse_containers", "set"),
    "garbage_cycles": ("garbage_cycles", "__main__.Node"),
    "weak_cache": ("weak_cache", "__main__.Blob"),
    "weak_cache_lru_method": ("weak_cache", "__main__.Blob"),
    "weak_list": ("weak_cache", "__main__.Blob"),
    "weak_listeners": ("weak_cache", "__main__.Handler"),
    "weak_cache_lru_function": ("weak_cache", "__main__.Blob"),
    "open_files": ("open_resources", "_io.TextIOWrapper"),
    "open_sockets": ("open_resources", "socket.socket"),
    "open_sqlite": ("open_resources", "sqlite3.Connection"),
    "open_mmaps": ("open_resources", "mmap.mmap"),
    "open_popens": ("open_resources", "subprocess.Popen"),
    "running_threads": ("open_resources", "threading.Thread"),
    "back_reference_parent": ("back_reference", "__main__.Node"),
    "back_reference_method": ("back_reference", "__main__.Handler"),
    "materialized": ("materialized_sequence", "list"),
}

# What each program's saving is measured by: tracemalloc's traced bytes,
# the resident set (what lies outside Python's allocators: mappings), or
# for back-references the objects the cyclic gc frees once the structure
# is dropped (the finding's count, not its bytes, is compared), or the
# peak of tracemalloc's traced bytes until DUMP().
MEASURE = {"open_mmaps": "rss", "back_reference_parent": "collected",
           "back_reference_method": "collected", "materialized": "peak"}

RUNNER = """
import gc, json, sys, tracemalloc
FIX = int(sys.argv[1])
N = int(sys.argv[2])
def rss():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
PEAK = []
def DUMP():
    # Dumps now, inside build(): the peak traced until then is measured.
    PEAK.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    if len(sys.argv) > 3:
        import heapsnap
        heapsnap.dump(sys.argv[3])
%s
gc.collect()
rss0 = rss()
tracemalloc.start()
data = build()
traced, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
rss1 = rss()
if len(sys.argv) > 3 and not PEAK:
    import heapsnap
    heapsnap.dump(sys.argv[3])
gc.collect()
del data
collected = gc.collect()
print(json.dumps({"traced": traced, "rss": rss1 - rss0,
                  "collected": collected, "peak": (PEAK or [peak])[0]}))
"""


class AdviseTest(AgentTest):

    def run_program(self, body, fix, n, dump=None, measure="traced"):
        code = RUNNER % textwrap.dedent(body)
        env = dict(os.environ)
        agent = os.path.dirname(os.path.dirname(
            os.path.abspath(__import__("heapsnap").__file__)))
        env["PYTHONPATH"] = agent
        args = [sys.executable, "-c", code, str(fix), str(n)]
        if dump:
            args.append(dump)
        p = subprocess.run(args, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout.decode().splitlines()[-1])[measure]

    def advise(self, snap, *opts):
        p = subprocess.run([cli_path(), "advise", "-f", snap, "--json",
                            "-n", "0"] + list(opts),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout.decode())["findings"]

    def check_honest(self, name, n=20000):
        snap = self.path(name + ".db")
        measure = MEASURE.get(name, "traced")
        before = self.run_program(PROGRAMS[name], 0, n, dump=snap,
                                  measure=measure)
        after = self.run_program(PROGRAMS[name], 1, n, measure=measure)
        measured = before - after
        kind, type_name = EXPECT[name]
        found = [f for f in self.advise(snap)
                 if f["kind"] == kind and type_name in (None, f["type"])]
        self.assertEqual(len(found), 1 if type_name else 2,
                         "not the %s findings for %s: %s" %
                         (kind, type_name, self.advise(snap)))
        f = found[0]
        predicted = sum(f["count" if measure == "collected" else
                          "bytes_saved"] for f in found)
        if os.environ.get("HS_TEST_VERBOSE"):
            sys.stderr.write("# %s on %s: predicted %d, measured %d (%+.1f %%)\n"
                             % (name, sys.version.split()[0], predicted,
                                measured, 100.0 * (predicted - measured) /
                                max(measured, 1)))
        self.assertGreater(measured, 0)
        self.assertLessEqual(
            abs(predicted - measured), 0.15 * measured,
            "%s on %s: predicted %d bytes saved, measured %d (%s)" %
            (name, sys.version.split()[0], predicted, measured, f["basis"]))
        self.assertTrue(f["fix"] and f["where"] and f["title"])
        self.measured = measured
        return f

    def test_slots_saving_is_measured(self):
        f = self.check_honest("slots")
        self.assertIn("__slots__ = ('x', 'y', 'z')", f["fix"])
        self.assertEqual(f["count"], 20000)
        self.assertIn(".data", f["where"])

    def test_array_of_floats_saving_is_measured(self):
        f = self.check_honest("array_floats", n=100000)
        self.assertIn("array.array('d'", f["fix"])

    def test_array_of_ints_saving_is_measured(self):
        f = self.check_honest("array_ints", n=100000)
        self.assertIn("array.array('q'", f["fix"])

    def test_duplicate_strings_saving_is_measured(self):
        f = self.check_honest("duplicate_strings")
        self.assertIn("sys.intern", f["fix"])
        self.assertEqual(f["count"], 20000)

    def test_duplicate_strings_by_attribute_is_measured(self):
        f = self.check_honest("duplicate_attr")
        self.assertEqual(f["count"], 20000)
        self.assertIn("held by Row.country: 3 distinct values", f["title"])
        self.assertIn("'country-US' x6,667", f["title"])
        self.assertIn("sys.intern(value) where they are stored (Row.country)",
                      f["fix"])

    def test_duplicate_bytes_saving_is_measured(self):
        f = self.check_honest("duplicate_bytes")
        self.assertEqual(f["count"], 20000)
        self.assertIn("held by module __main__ .CACHE", f["title"])
        self.assertIn("4 distinct values", f["title"])
        self.assertIn("dict of canonical values", f["fix"])

    def test_duplicate_strings_in_small_lists_is_measured(self):
        f = self.check_honest("duplicate_in_lists", n=10000)
        self.assertEqual(f["count"], 20000)
        self.assertIn("held by items of Row.tags (list objects): 6 distinct "
                      "values", f["title"])

    def test_duplicate_tuples_saving_is_measured(self):
        """The tuples and the str each holds: no str finding counts those
        again."""
        f = self.check_honest("duplicate_tuples")
        self.assertEqual(f["count"], 20000)
        self.assertIn("duplicate tuple held by Row.key: 3 distinct values ",
                      f["title"])
        self.assertIn("('kind-a', 0) x6,667", f["title"])
        self.assertIn("canon.setdefault(value, value)", f["fix"])
        snap = self.path("duplicate_tuples.db")
        self.assertEqual([x for x in self.advise(snap, "--min-bytes", "0")
                          if "kind-" in x["title"]], [f])

    def test_no_duplicate_strings_for_code_constants(self):
        """The same literal compiled into 300 code objects (a constant, a
        docstring) and classes: the program's text, which no interning in
        its data frees.  No finding names them, even with --min-bytes 0;
        the copies a list holds are found."""
        snap = self.path("consts.db")
        self.run_program('''
            SRC = (
                "def f():\\n"
                "    'a docstring copied into every function, 0123'\\n"
                "    return 'not an identifier: a constant, 0123'\\n"
                "class K:\\n"
                "    'a class docstring, 0123'\\n")
            def build():
                kept = []
                for i in range(300):
                    ns = {}
                    exec(compile(SRC, 'm%d' % i, 'exec'), ns)
                    kept.append((ns['f'], ns['K']))
                kept.append([''.join(['data-', 'value']) for i in range(300)])
                return kept
            ''', 0, 0, dump=snap)
        found = [f["title"] for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "duplicate_strings"]
        self.assertFalse([t for t in found if "0123" in t], found)
        self.assertEqual(len([t for t in found if "'data-value' x300" in t]),
                         1, found)

    def test_empty_containers_saving_is_measured(self):
        f = self.check_honest("sparse_containers")
        self.assertEqual(f["count"], 20000)
        self.assertIn("lazily", f["fix"])

    def test_overallocated_lists_saving_is_measured(self):
        f = self.check_honest("overallocated_lists")
        self.assertEqual(f["count"], 20000)
        self.assertIn("over-allocated lists in .kids of __main__.Node",
                      f["title"])
        self.assertIn("l.copy()", f["fix"])

    def test_no_overallocated_lists_at_final_size(self):
        """Lists made at their final size (a literal, a copy, a slice), or
        grown by append() to more than half their room, or shared: no
        over-allocated finding, even with --min-bytes 0; only the lists
        left with one item after pops are."""
        snap = self.path("overalloc.db")
        self.run_program("""
            class Node:
                def __init__(self, i, shared):
                    self.a = [i, i]
                    grown = []
                    for k in range(3):
                        grown.append(k)
                    self.b = grown.copy()
                    self.c = grown[:]
                    self.d = grown
                    self.e = shared
                    popped = list(range(40))
                    del popped[1:]
                    self.f = popped
            def build():
                shared = []
                shared.append(1)
                return [Node(i, shared) for i in range(500)]
            """, 0, 0, dump=snap)
        found = [(f["title"], f["count"])
                 for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "sparse_containers"
                 and "__main__.Node" in f["title"]]
        self.assertEqual(len(found), 1, found)
        self.assertIn("over-allocated lists in .f of", found[0][0])
        self.assertEqual(found[0][1], 500, found)

    def test_sparse_dict_saving_is_measured(self):
        f = self.check_honest("sparse_dict")
        self.assertEqual(f["count"], 1)
        self.assertRegex(f["title"], "^a dict at module __main__ .CACHE keeps "
                         "a table of [0-9,]+ slots for 1,365 items")
        self.assertIn("dict(d)", f["fix"])
        # The table dict(d) makes is this Python's to the byte (tracemalloc
        # adds a few bytes of its own).
        self.assertLessEqual(abs(f["bytes_saved"] - self.measured), 256,
                             (f["bytes_saved"], self.measured))

    def test_sparse_sets_saving_is_measured(self):
        f = self.check_honest("sparse_sets", n=2000)
        self.assertEqual(f["count"], 2000)
        self.assertIn("sets in .tags of __main__.Node instances keep tables "
                      "sized before deletions", f["title"])
        self.assertIn("set(s)", f["fix"])

    def test_no_sparse_tables_when_grown_or_copied(self):
        """Dicts and sets of every size up to 3,000 grown by insertion,
        copied, made by fromkeys or a comprehension, or churned (as many
        inserted as deleted): none is called sparse, even with --min-bytes
        0; only the dict and the set that lost most of their items are."""
        snap = self.path("tables.db")
        self.run_program("""
            KEEP = []
            def build():
                for n in list(range(0, 200)) + list(range(200, 3001, 97)):
                    d, s, u = {}, set(), {}
                    for i in range(n):
                        d[i] = i
                        s.add(i)
                        u['k%d' % i] = i
                    churn = dict(u)
                    for i in range(n):
                        del churn['k%d' % i]
                        churn['j%d' % i] = i
                    KEEP.append((d, s, u, dict(d), d.copy(), set(s),
                                 dict.fromkeys(range(n)),
                                 {i: i for i in range(n)}, churn))
                lost = {i: i for i in range(5000)}
                gone = set(range(5000))
                for i in range(10, 5000):
                    del lost[i]
                    gone.discard(i)
                KEEP.append((lost, gone))
            """, 0, 0, dump=snap)
        found = [(f["title"], f["count"], f["where"])
                 for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "sparse_containers" and "KEEP" in f["where"]]
        self.assertEqual(sorted((t.split(" at ")[0], c) for t, c, _ in found),
                         [("a dict", 1), ("a set", 1)], found)
        for t, _, _ in found:
            self.assertIn("slots for 10 items (left by deletions)", t)

    def test_garbage_cycles_saving_is_measured(self):
        f = self.check_honest("garbage_cycles")
        self.assertIn("weakref", f["fix"])
        self.assertGreaterEqual(f["count"], 20000 * 3)

    def test_weak_cache_saving_is_measured(self):
        f = self.check_honest("weak_cache", n=2000)
        self.assertIn("WeakValueDictionary", f["fix"])
        self.assertIn("module __main__ .CACHE", f["title"])
        self.assertEqual(f["count"], 2000)

    def test_weak_registry_list_saving_is_measured(self):
        f = self.check_honest("weak_list", n=2000)
        self.assertEqual(f["count"], 2000)
        self.assertIn("module __main__ .Blob → type .registry (a list) alone "
                      "keeps 2,000 Blob objects alive", f["title"])
        self.assertIn("weakref.WeakSet()", f["fix"])

    def test_weak_listeners_list_saving_is_measured(self):
        f = self.check_honest("weak_listeners", n=2000)
        self.assertEqual(f["count"], 2000)
        self.assertIn("module __main__ .LISTENERS (a list) alone keeps 2,000 "
                      "Handler objects alive, through bound methods",
                      f["title"])
        self.assertIn("weakref.WeakMethod(obj.method)", f["fix"])

    def test_no_weak_cache_for_lists_that_hold_nothing_alone(self):
        """Module lists of instances (the program's data, not a cache),
        instances that something else also holds, of strs (no weak
        reference possible), 99 callbacks, a class's list of another
        class's instances, and a list a function's local holds: no
        weak_cache finding, even with --min-bytes 0."""
        snap = self.path("weak_lists.db")
        self.run_program("""
            class Blob:
                def __init__(self, i):
                    self.payload = bytes(100)
                    def on(self):
                        pass
            def on(self):
                pass
            Blob.on = on
            DATA = [Blob(i) for i in range(500)]
            OWNED = [Blob(i) for i in range(500)]
            VIEW = list(OWNED)
            METHODS = [b.on for b in OWNED]
            STRS = ['s%d' % i for i in range(500)]
            FEW = [Blob(i).on for i in range(99)]
            class Other:
                kept = [Blob(i) for i in range(500)]
            def build():
                local = [Blob(i) for i in range(500)]
                DUMP()
                return len(local)
            """, 0, 0, dump=snap)
        found = [f["title"] for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "weak_cache"]
        self.assertEqual(found, [])

    def test_lru_cache_on_a_method_saving_is_measured(self):
        f = self.check_honest("weak_cache_lru_method", n=2000)
        self.assertEqual(f["count"], 2000)
        self.assertIn("(a functools.lru_cache) alone keeps 2,000 Blob",
                      f["title"])
        self.assertIn(".render", f["title"])
        self.assertIn("is a method", f["fix"])
        self.assertIn("WeakKeyDictionary", f["fix"])
        self.assertIn("_lru_cache_wrapper", f["where"])

    def test_lru_cache_on_a_function_saving_is_measured(self):
        f = self.check_honest("weak_cache_lru_function", n=2000)
        self.assertEqual(f["count"], 2000)
        self.assertIn("module __main__ .make (a functools.lru_cache)",
                      f["title"])
        self.assertIn("maxsize", f["fix"])
        self.assertIn("WeakValueDictionary", f["fix"])

    def test_no_weak_cache_for_small_or_shared_lru_caches(self):
        """A bounded lru_cache (maxsize=32), one whose results something
        else holds too, and one of ints: no weak_cache finding, even with
        --min-bytes 0."""
        snap = self.path("lru.db")
        self.run_program("""
            import functools
            class Blob:
                def __init__(self, i):
                    self.payload = bytes(200)
                @functools.lru_cache(maxsize=32)
                def render(self, k):
                    return k
            KEPT = []
            @functools.lru_cache(maxsize=None)
            def make(i):
                b = Blob(i)
                KEPT.append(b)
                return b
            @functools.lru_cache(maxsize=None)
            def square(i):
                return i * i
            def build():
                for i in range(1000):
                    Blob(i).render(1)
                    make(i)
                    square(i)
            """, 0, 0, dump=snap)
        found = [f for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "weak_cache"]
        self.assertEqual(found, [])

    def test_open_files_saving_is_measured(self):
        f = self.check_honest("open_files", n=200)
        self.assertEqual(f["count"], 200)
        self.assertIn("with open(", f["fix"])
        self.assertIn(".data", f["where"])

    def test_open_sockets_saving_is_measured(self):
        f = self.check_honest("open_sockets", n=1000)
        self.assertEqual(f["count"], 1000)
        self.assertIn("s.close()", f["fix"])

    def test_open_sqlite_connections_saving_is_measured(self):
        if sys.version_info < (3, 10):
            # Before 3.10 a Connection reports nothing to the gc (no
            # tp_traverse): the snapshot cannot see its statement cache,
            # so only the connections themselves are found and counted.
            snap = self.path("sqlite.db")
            self.run_program(PROGRAMS["open_sqlite"], 0, 200, dump=snap)
            found = [f for f in self.advise(snap, "--min-bytes", "0")
                     if f["kind"] == "open_resources"
                     and f["type"] == "sqlite3.Connection"]
            self.assertEqual([f["count"] for f in found], [200], found)
            self.skipTest("sqlite3.Connection hides what it holds before "
                          "3.10: found, saving not comparable")
        f = self.check_honest("open_sqlite", n=200)
        self.assertEqual(f["count"], 200)
        self.assertIn("conn.close()", f["fix"])

    def test_open_mmaps_saving_is_measured(self):
        f = self.check_honest("open_mmaps", n=16)
        self.assertEqual(f["count"], 16)
        self.assertGreaterEqual(f["bytes_saved"], 16 << 20)

    def test_open_popens_saving_is_measured(self):
        f = self.check_honest("open_popens", n=20)
        self.assertEqual(f["count"], 20)
        self.assertIn("communicate()", f["fix"])

    def test_running_threads_saving_is_measured(self):
        f = self.check_honest("running_threads", n=20)
        self.assertEqual(f["count"], 20)
        self.assertIn("join()", f["fix"])

    def test_no_open_resources_when_released(self):
        """Closed files, sockets, connections and maps still held, a
        waited-for Popen, a joined thread, the standard streams: no
        open_resources finding, even with --min-bytes 0; only the one
        file left open is."""
        snap = self.path("released.db")
        self.run_program("""
            import mmap, socket, sqlite3, subprocess, sys, threading
            def build():
                f = open('closed.txt', 'w')
                f.write('x')
                f.close()
                r = open('closed.txt', 'rb')
                r.read()
                r.close()
                s = socket.socket()
                s.close()
                c = sqlite3.connect(':memory:')
                c.close()
                m = mmap.mmap(-1, 1 << 16)
                m.close()
                p = subprocess.Popen([sys.executable, '-c', 'pass'],
                                     stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
                p.communicate(b'')
                t = threading.Thread(target=len, args=('x',))
                t.start()
                t.join()
                left_open = open('closed.txt', 'rb')
                return [f, r, s, c, m, p, t, sys.stdout, sys.stderr,
                        left_open]
            """, 0, 0, dump=snap)
        found = [(f["type"], f["count"], f["where"])
                 for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "open_resources"]
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0][:2], ("_io.BufferedReader", 1), found)
        self.assertIn("[9]", found[0][2])

    def test_open_resources_say_where_they_were_opened(self):
        """With allocation sites (tracemalloc on at the dump), each
        open_resources finding names the line that opened its resources:
        files opened on two lines are two findings; without sites,
        opened_at is null."""
        snap = self.path("opened.db")
        code = textwrap.dedent("""\
            import socket, sys, tracemalloc
            tracemalloc.start(4)
            import heapsnap
            def open_logs():
                return [open(sys.argv[1]) for i in range(30)]  # logs
            def open_more():
                return [open(sys.argv[1]) for i in range(20)]  # more
            def connect():
                return [socket.socket() for i in range(10)]  # socks
            held = [open_logs(), open_more(), connect()]
            heapsnap.dump(sys.argv[2])
            """)
        lines = code.splitlines()
        line = {tag: 1 + [i for i, x in enumerate(lines) if x.endswith(tag)][0]
                for tag in ("logs", "more", "socks")}
        with open(self.path("data.txt"), "w") as f:
            f.write("x\\n")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.path.dirname(os.path.dirname(
            os.path.abspath(__import__("heapsnap").__file__)))
        p = subprocess.run([sys.executable, "-c", code,
                            self.path("data.txt"), snap],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        found = sorted((f["count"], f["opened_at"]["line"],
                        f["opened_at"]["file"])
                       for f in self.advise(snap, "--min-bytes", "0")
                       if f["kind"] == "open_resources")
        self.assertEqual([x[:2] for x in found],
                         [(10, line["socks"]), (20, line["more"]),
                          (30, line["logs"])], found)
        self.assertEqual({x[2] for x in found}, {"<string>"}, found)
        text = subprocess.run([cli_path(), "advise", "-f", snap,
                               "--min-bytes", "0", "-n", "0"],
                              stdout=subprocess.PIPE).stdout.decode()
        self.assertIn("opened at <string>:%d in " % line["logs"], text)
        # The same heap without sites: opened_at is null.
        plain = self.path("plain.db")
        self.run_program(PROGRAMS["open_sockets"], 0, 10, dump=plain)
        found = [f for f in self.advise(plain, "--min-bytes", "0")
                 if f["kind"] == "open_resources"]
        self.assertTrue(found)
        self.assertEqual({f["opened_at"] for f in found}, {None}, found)

    def test_back_reference_parent_is_measured(self):
        f = self.check_honest("back_reference_parent", n=500)
        self.assertIn("weakref.ref(parent)", f["fix"])
        self.assertIn(".parent", f["title"])
        self.assertIn("in 500 reference cycles", f["title"])

    def test_back_reference_bound_method_is_measured(self):
        f = self.check_honest("back_reference_method", n=2000)
        self.assertIn("weakref.WeakMethod", f["fix"])
        self.assertIn(".__self__", f["title"])

    def test_no_back_reference_without_a_back_pointer(self):
        """Weak parents, and a ring of strong .next references (a cycle,
        but no back-pointer closes it): no back_reference finding, even
        with --min-bytes 0; only the one strong .owner is."""
        snap = self.path("noback.db")
        self.run_program("""
            import weakref
            class Node:
                def __init__(self, parent):
                    self.parent = parent and weakref.ref(parent)
                    self.kids = []
            class Ring:
                def __init__(self):
                    self.next = None
            class Part:
                def __init__(self, owner):
                    self.owner = owner
            class Whole:
                def __init__(self):
                    self.parts = [Part(self) for i in range(3)]
            def build():
                trees = []
                for i in range(100):
                    r = Node(None)
                    r.kids = [Node(r) for k in range(5)]
                    trees.append(r)
                ring = [Ring() for i in range(100)]
                for a, b in zip(ring, ring[1:] + ring[:1]):
                    a.next = b
                return [trees, ring, Whole()]
            """, 0, 0, dump=snap)
        # (The standard library may hold such cycles of its own.)
        found = [(f["type"], f["count"], f["title"])
                 for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "back_reference"
                 and f["type"].startswith("__main__.")]
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0][0], "__main__.Whole", found)
        self.assertIn(".owner", found[0][2])
        # The Whole, its parts list and 3 Parts (and their __dict__s).
        self.assertIn(found[0][1], (5, 9), found)

    def test_materialized_list_saving_is_measured(self):
        f = self.check_honest("materialized", n=50000)
        self.assertEqual(f["count"], 50000)
        self.assertIn("generator expression", f["fix"])
        self.assertIn("local data", f["where"])

    def test_no_materialized_sequence_held_elsewhere(self):
        """Big lists held by a module, or by a local and an object too,
        and a small local list: no materialized_sequence finding, even
        with --min-bytes 0; only the big list held by a local alone is."""
        snap = self.path("nomat.db")
        self.run_program("""
            GLOBAL = [str(i) for i in range(20000)]
            STORE = []
            def build():
                kept = [str(i) for i in range(20000)]
                STORE.append(kept)
                small = [str(i) for i in range(100)]
                alone = [str(i) for i in range(30000)]
                for x in alone:
                    pass
                DUMP()
                return len(small)
            """, 0, 0, dump=snap)
        found = [(f["count"], f["where"])
                 for f in self.advise(snap, "--min-bytes", "0")
                 if f["kind"] == "materialized_sequence"]
        self.assertEqual(len(found), 1, found)
        self.assertEqual(found[0][0], 30000, found)
        self.assertIn("local alone", found[0][1])

    def test_silent_where_nothing_applies(self):
        """A class with 3 instances, lists of mixed objects, of bools, of
        a few floats, of ints shared with another list, a handful of
        duplicate strings: no finding, even with --min-bytes 0."""
        snap = self.path("none.db")
        self.run_program("""
            class Kept:
                pass
            REG = {}
            ALSO = []
            NAMES = {}
            for i in range(300):
                REG[i] = Kept()
                ALSO.append(REG[i])
                NAMES['n%d' % i] = 'v%d' % i
            class Few:
                def __init__(self):
                    self.a = 1
                    self.b = 2
                    self.c = []
            def build():
                shared = [i * 1000 for i in range(20000)]
                return {
                    'few': [Few() for i in range(3)],
                    'mixed': [1, 'a', 2.5] * 1000,
                    'bools': [True, False] * 1000,
                    'small': [i * 0.5 for i in range(50)],
                    'shared_a': shared,
                    'shared_b': list(shared),
                    'dups': [''.join(['x-', 'y']) for i in range(10)],
                    'filled': [Few() for i in range(3)],
                }
            """, 0, 0, dump=snap)
        found = self.advise(snap, "--min-bytes", "0")
        for f in found:
            self.assertNotIn("Few", f["type"] or "", f)
            self.assertNotIn("Few", f["title"], f)
            self.assertNotIn("['mixed']", f["where"], f)
            self.assertNotIn("['bools']", f["where"], f)
            self.assertNotIn("['small']", f["where"], f)
            if f["kind"] == "duplicate_strings":
                self.assertNotIn("x-y", f["title"], f)
            # REG's values are held by ALSO too; NAMES holds strs.
            self.assertNotEqual(f["kind"], "weak_cache", f)
        # The shared ints stay alive in the other list: only the list
        # itself would be saved, and the array costs as much.
        for f in found:
            if f["kind"] == "array" and "['shared_" in f["where"]:
                self.assertLess(f["bytes_saved"], 20000 * 8, f)


if __name__ == "__main__":
    unittest.main()

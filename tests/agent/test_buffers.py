"""Memory outside the object graph: buffer owners as edges, buffer bytes in
sizes, and the memory figures recorded for `info`'s reconciliation.

numpy tests need numpy in the interpreter under test (Debian's python3 has
it: HEAPSNAP_PYTHONS=/usr/bin/python3 make BUILD=build-deb, then
BUILD=build-deb SUITES=agent tests/run.sh); elsewhere they skip, saying
so.  Every fact is checked against the live process: id() of the base,
arr.nbytes, sys.getsizeof.
"""

import array
import os
import sys
import unittest

from hstest import AgentTest

try:
    import numpy
except ImportError:
    numpy = None

NO_NUMPY = "numpy is not installed for %s" % sys.executable


# PYTHONMALLOC=malloc (the sanitizer runs set it) leaves pymalloc out, and
# under ASan malloc's own figures are the sanitizer allocator's.
ALLOCATORS_REPLACED = os.environ.get("PYTHONMALLOC", "").startswith("malloc")


@unittest.skipIf(numpy is None, NO_NUMPY)
class NumpyTest(AgentTest):

    def test_view_in_cache_keeps_big_base(self):
        big = numpy.ones(50 * 1024 * 1024 // 8)
        nbytes, base_size = big.nbytes, sys.getsizeof(big)
        cache = {"k": big[:10]}
        view = cache["k"]
        base_id = id(big)
        del big
        s = self.dump()
        base = view.base
        self.assertEqual(id(base), base_id)
        row = self.assert_row(s, base)
        self.assertEqual(row["size"], base_size)
        self.assertGreaterEqual(row["size"], nbytes)
        self.assertEqual(s.labels(view, base), [".base"])
        self.assertEqual(self.assert_row(s, view)["size"],
                         sys.getsizeof(view))
        self.assertLess(sys.getsizeof(view), 1024, "a view owns no data")
        self.assertEqual(s.labels(cache, view), ["['k']"])
        self.assertIn((".dtype", s.oid(view.dtype)),
                      [(label, dst) for _, label, dst in s.out_edges(view)])

    def test_sizes_equal_getsizeof(self):
        arrays = [numpy.arange(1000), numpy.zeros((30, 40), dtype="f4"),
                  numpy.arange(12.0).reshape(3, 4), numpy.empty(0),
                  numpy.array(3.5), numpy.array([b"ab", b"cde"]),
                  numpy.arange(100)[::7], numpy.ones(10).view("i4")]
        s = self.dump()
        for a in arrays:
            self.assertEqual(self.assert_row(s, a)["size"], sys.getsizeof(a),
                             repr(a))
            self.assertFalse(self.assert_row(s, a)["flags"] & 256,
                             "computed, not a fallback")

    def test_object_array_elements(self):
        words = ["word-%d" % i for i in range(2000)]
        arr = numpy.array(words, dtype=object)
        grid = numpy.empty((2, 3), dtype=object)
        for i in range(2):
            for j in range(3):
                grid[i, j] = "cell-%d-%d" % (i, j)
        cube = numpy.empty((2, 11, 3), dtype=object)
        cube[1, 10, 2] = "".join(["de", "ep"])
        view = arr[5:8]
        s = self.dump()
        for i in (0, 1, 1023, 1024, 1999):
            self.assertIs(arr[i], words[i])
            self.assertEqual(s.labels(arr, arr[i]), ["[%d]" % i])
        self.assertEqual(s.labels(grid, grid[1, 2]), ["[1,2]"])
        self.assertEqual(s.labels(grid, grid[0, 1]), ["[0,1]"])
        self.assertEqual(s.labels(cube, cube[1, 10, 2]), ["[1,10,2]"])
        # A view borrows its elements from its base.
        self.assertEqual(s.labels(view, arr[5]), [])
        self.assertEqual(s.labels(view, arr), [".base"])
        self.assertEqual(len([e for e in s.out_edges(arr)
                              if e[1].startswith("[")]), 2000)

    def test_why_of_an_element_goes_through_the_array(self):
        arr = numpy.array(["only-in-array-%d" % i for i in range(3)],
                          dtype=object)
        holder = {"arr": arr}
        s = self.dump()
        elem = arr[2]
        self.assertEqual([label for _, label, _ in s.in_edges(elem)],
                         ["[2]"])
        self.assertEqual(s.labels(holder, arr), ["['arr']"])

    def test_subclass_keeps_base_and_dict(self):
        class Sub(numpy.ndarray):
            pass
        base = numpy.arange(6)
        sub = base.view(Sub)
        sub.tag = "tagged"
        s = self.dump()
        self.assertEqual(s.labels(sub, base), [".base"])
        self.assertEqual(self.assert_row(s, sub)["size"], sys.getsizeof(sub))
        self.assertIn(".__dict__", [label for _, label, _ in
                                    s.out_edges(sub)])

    def test_forked_dump_sizes_arrays_without_python(self):
        big = numpy.ones(1 << 20)
        import heapsnap
        p = self.path()
        heapsnap.dump(p, fork=True)
        heapsnap.wait()
        from hstest import Snapshot
        s = Snapshot(p)
        self.snaps.append(s)
        self.assertEqual(s.row(big)["size"], sys.getsizeof(big))


class MemoryviewTest(AgentTest):

    def test_memoryview_references_its_exporter(self):
        data = bytearray(b"x" * 100)
        mv = memoryview(data)[10:20]
        s = self.dump()
        out = s.out_edges(mv)
        mbuf = [dst for _, label, dst in out if label == ".<managed buffer>"]
        self.assertEqual(len(mbuf), 1, out)
        exporter = s.q("SELECT label, dst FROM edges WHERE src = ?", mbuf[0])
        self.assertEqual(exporter, [(".obj", s.oid(data))])
        self.assertIs(mv.obj, data)


class BufferSizesTest(AgentTest):

    def test_owned_buffers_count_in_sizes(self):
        ba = bytearray(1 << 20)
        arr = array.array("d", range(100000))
        by = b"y" * 300000
        s = self.dump()
        for o in (ba, arr, by):
            self.assertEqual(self.assert_row(s, o)["size"], sys.getsizeof(o))
            self.assertGreater(sys.getsizeof(o), 300000)


    def test_forked_dump_sizes_array_array(self):
        import heapsnap
        from hstest import Snapshot
        arrays = [array.array("d", range(50000)), array.array("b"),
                  array.array("u", "text"), array.array("q", [1] * 999)]
        p = self.path()
        heapsnap.dump(p, fork=True)
        heapsnap.wait()
        s = Snapshot(p)
        self.snaps.append(s)
        for a in arrays:
            row = s.row(a)
            self.assertEqual(row["size"], sys.getsizeof(a), a.typecode)
            self.assertFalse(row["flags"] & 256, "computed, not a fallback")
        # The memory figures are the parent's, read before fork().
        self.assertEqual(s.meta("forked"), 1)
        keys = ("rss_bytes", "rss_peak_bytes")
        if not ALLOCATORS_REPLACED:
            keys += ("pymalloc_arena_bytes", "malloc_heap_bytes")
        for key in keys:
            self.assertGreater(s.meta(key), 0, key)


class MemoryFactsTest(AgentTest):

    def test_figures_are_recorded_and_consistent(self):
        s = self.dump()
        rss = s.meta("rss_bytes")
        with open("/proc/self/status") as f:
            status = dict(line.split(":", 1) for line in f)
        now = int(status["VmRSS"].split()[0]) * 1024
        self.assertGreater(rss, 0)
        # The dump's own buffers came after the figures were read.
        self.assertLessEqual(rss, max(now, s.meta("rss_peak_bytes")))
        self.assertGreaterEqual(s.meta("rss_peak_bytes"), rss)
        self.assertEqual(s.meta("rss_anon_bytes") + s.meta("rss_file_bytes")
                         + s.meta("rss_shmem_bytes"), rss)
        arenas, arena_bytes = (s.meta("pymalloc_arenas"),
                               s.meta("pymalloc_arena_bytes"))
        if ALLOCATORS_REPLACED:
            self.assertIsNone(arenas)
            self.skipTest("PYTHONMALLOC=%s: no pymalloc, and malloc is "
                          "the sanitizer's" % os.environ["PYTHONMALLOC"])
        self.assertGreater(arenas, 0)
        self.assertEqual(arena_bytes % arenas, 0)
        self.assertIn(arena_bytes // arenas, (256 << 10, 1 << 20))
        self.assertLess(s.meta("pymalloc_used_bytes"), arena_bytes)
        self.assertEqual(s.meta("malloc_used_bytes")
                         + s.meta("malloc_free_bytes"),
                         s.meta("malloc_heap_bytes"))
        self.assertIsNone(s.meta("tracemalloc_traced_bytes"))

    def test_tracemalloc_total_is_recorded(self):
        import tracemalloc
        tracemalloc.start()
        try:
            keep = [bytearray(1000) for _ in range(1000)]
            traced = tracemalloc.get_traced_memory()[0]
            import heapsnap
            p = self.path()
            heapsnap.dump(p)
        finally:
            tracemalloc.stop()
        from hstest import Snapshot
        s = Snapshot(p)
        self.snaps.append(s)
        self.assertGreaterEqual(s.meta("tracemalloc_traced_bytes"),
                                len(keep) * 1000)
        self.assertLess(abs(s.meta("tracemalloc_traced_bytes") - traced),
                        1 << 20)


if __name__ == "__main__":
    unittest.main()

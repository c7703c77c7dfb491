"""The agent's own memory during a dump stays within issue 17's budget:
at most 32 bytes per object on make bench's heap of about 1.4 million
objects (bench/workload.py, scale 1).  The figure is the dump's
peak_memory fact: the walk's arrays (id table, names, ...) at their
largest plus SQLite's own high-water mark, over the objects in the
snapshot.  The first part depends on the heap only; the second a little
on how far the writer got (27.9-29.2 on 3.8-3.14 when this test was
written), so a layout that grows a per-object array fails it and the
machine's speed alone does not"""

import json
import os

from hstest import AgentTest, HERE

BENCH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench")
BUDGET = 32.0


class AgentMemoryTest(AgentTest):

    def test_bench_heap_within_32_bytes_per_object(self):
        out = self.run_child("""
            import gc, json, os, sys
            sys.path.insert(0, %r)
            import workload
            import heapsnap

            svc = workload.build(1.0)
            gc.collect()
            path = os.path.join(os.environ["HS_TEST_TMP"], "m.db")
            facts = heapsnap._heapsnap._dump(path, trigger="api")
            print(json.dumps({"objects": facts["objects"],
                              "peak": facts["peak_memory"],
                              "kept": len(svc.cache)}))
            """ % BENCH, timeout=600)
        f = json.loads(out.splitlines()[-1])
        # The heap really is the bench's: its leaked requests are there.
        self.assertEqual(f["kept"], 100000)
        self.assertGreater(f["objects"], 1300000)
        per_object = f["peak"] / f["objects"]
        self.assertGreater(per_object, 0)
        self.assertLessEqual(per_object, BUDGET,
                             "%.1f bytes per object" % per_object)

"""Dumps the benchmark heap with heapsnap and prints the target's address
(for bench_analyzer.py).  usage: python dump_workload.py OUT.db [SCALE]"""

import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402
import heapsnap  # noqa: E402

scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
svc = workload.build(scale)
gc.collect()
heapsnap.dump(sys.argv[1])
print("0x%x" % id(workload.target(svc)))

"""objgraph's answer to "why is this alive", live, on the benchmark heap.

Run under Debian's python3 with python3-objgraph.  Builds the same
deterministic workload as the heapsnap benchmarks and times
objgraph.find_backref_chain(target, objgraph.is_proper_module), which
walks referrers back to a module (gc.get_referrers per step).

usage: /usr/bin/python3 bench_objgraph.py [SCALE]
Prints "objgraph find_backref_chain SECONDS CHAIN_LENGTH".
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workload  # noqa: E402

try:
    import objgraph
except ImportError:
    print("objgraph unavailable (apt-get install python3-objgraph)")
    sys.exit(0)


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    svc = workload.build(scale)
    obj = workload.target(svc)
    t0 = time.perf_counter()
    chain = objgraph.find_backref_chain(obj, objgraph.is_proper_module)
    t = time.perf_counter() - t0
    print("objgraph find_backref_chain %.3f %d" % (t, len(chain)))
    t0 = time.perf_counter()
    objgraph.show_most_common_types(limit=10, file=open(os.devnull, "w"))
    print("objgraph show_most_common_types %.3f" % (time.perf_counter() - t0))


if __name__ == "__main__":
    main()

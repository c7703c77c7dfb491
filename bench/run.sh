#!/bin/bash
# make bench: every benchmark, printed as numbers and ratios against a
# baseline measured in the same run.  Benchmarks never pass or fail on
# time.  SCALE=0.5 make bench runs a smaller heap; BENCH="dump analyzer
# dominators sites" picks parts; SITES_SCALE (default 0.1) sizes the
# allocation-site part, whose memory_profiler run traces every line.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SCALE=${SCALE:-1.0}
BENCH=${BENCH:-dump analyzer dominators sites}
SITES_SCALE=${SITES_SCALE:-0.1}
OUT="$BUILD/bench"
mkdir -p "$OUT"
PY=$(sed -n 's/^PY_\([0-9.]*\)_EXE := //p' "$BUILD/config.mk" | tail -1)
VER=$(sed -n 's/^PY_\([0-9.]*\)_EXE := .*/\1/p' "$BUILD/config.mk" | tail -1)
export PYTHONPATH="$PWD/$BUILD/py$VER"

for part in $BENCH; do
    case $part in
    dump)
        echo "== agent: dump of the benchmark heap (Python $VER, scale $SCALE)"
        "$PY" bench/bench_dump.py "$SCALE" "$OUT/dump.db"
        rm -f "$OUT/dump.db"
        ;;
    analyzer)
        echo "== analyzer vs objgraph (scale $SCALE)"
        # One process: heapsnap.dump() writes heap.db inside it (no
        # caches), then `heapsnap dump` writes heap-cli.db at its exit and
        # prepares it for analysis (its stderr says how long that took).
        rm -f "$OUT/heap-cli.db"
        addr=$("$BUILD/heapsnap" dump -o "$OUT/heap-cli.db" -- \
            "$PY" bench/dump_workload.py "$OUT/heap.db" "$SCALE" \
            2>"$OUT/dump-cli.log" | tail -1)
        "$PY" bench/bench_analyzer.py "$BUILD/heapsnap" "$OUT/heap.db" "$addr" "$SCALE" \
            "$OUT/heap-cli.db" "$OUT/dump-cli.log"
        if make -s "$BUILD/bench/bench_load" >/dev/null 2>&1; then
            echo "== what every command pays first (same snapshot, caches stored)"
            "$BUILD/bench/bench_load" "$OUT/heap.db"
        fi
        ;;
    dominators)
        if [ -x "$BUILD/bench/bench_dominators" ] || make -s "$BUILD/bench/bench_dominators" >/dev/null 2>&1; then
            echo "== dominators and retained sizes"
            "$BUILD/bench/bench_dominators"
        fi
        ;;
    sites)
        echo "== allocation sites: tracing's cost vs memory_profiler (scale $SITES_SCALE)"
        "$PY" bench/bench_sites.py "$SITES_SCALE" "$OUT"
        ;;
    *)
        echo "bench: unknown part '$part'" >&2
        ;;
    esac
done

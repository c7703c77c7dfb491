#!/bin/bash
# make bench: every benchmark, printed as numbers and ratios against a
# baseline measured in the same run.  Benchmarks never pass or fail on
# time.  SCALE=0.5 make bench runs a smaller heap; BENCH="dump analyzer
# dominators" picks parts.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SCALE=${SCALE:-1.0}
BENCH=${BENCH:-dump analyzer dominators}
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
        addr=$("$PY" bench/dump_workload.py "$OUT/heap.db" "$SCALE" 2>/dev/null | tail -1)
        "$PY" bench/bench_analyzer.py "$BUILD/heapsnap" "$OUT/heap.db" "$addr" "$SCALE"
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
    *)
        echo "bench: unknown part '$part'" >&2
        ;;
    esac
done

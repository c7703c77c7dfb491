#!/bin/bash
# make bench: every benchmark, printed as numbers and ratios against a
# baseline measured in the same run.  Benchmarks never pass or fail on
# time.  SCALE=0.5 make bench runs a smaller heap; BENCH="dump analyzer
# dominators sites" picks parts; SITES_SCALE (default 0.1) sizes the
# allocation-site part, whose memory_profiler run traces every line.
# The dump part runs on the newest interpreter, or on each one that
# DUMP_PYTHONS names by key ("3.8.18 3.11.7 3.13.0", as in build/config.mk),
# at each scale in DUMP_SCALES (default: SCALE): the pause's ratios on 1M
# and 10M objects for several Pythons in one run.  BENCH_OUT: the folder
# for its files (default BUILD/bench).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SCALE=${SCALE:-1.0}
BENCH=${BENCH:-dump analyzer dominators sites}
SITES_SCALE=${SITES_SCALE:-0.1}
OUT=${BENCH_OUT:-$BUILD/bench}
mkdir -p "$OUT"
PY=$(sed -n 's/^PY_\([0-9.]*\)_EXE := //p' "$BUILD/config.mk" | tail -1)
VER=$(sed -n 's/^PY_\([0-9.]*\)_EXE := .*/\1/p' "$BUILD/config.mk" | tail -1)
export PYTHONPATH="$PWD/$BUILD/py$VER"

for part in $BENCH; do
    case $part in
    dump)
        for key in ${DUMP_PYTHONS:-$VER}; do
            exe=$(sed -n "s/^PY_${key//./\\.}_EXE := //p" "$BUILD/config.mk")
            if [ -z "$exe" ]; then
                echo "bench: no Python '$key' in $BUILD/config.mk" >&2
                continue
            fi
            for scale in ${DUMP_SCALES:-$SCALE}; do
                echo "== agent: dump of the benchmark heap (Python $key, scale $scale)"
                PYTHONPATH="$PWD/$BUILD/py$key" "$exe" bench/bench_dump.py \
                    "$scale" "$OUT/dump.db"
                rm -f "$OUT/dump.db"
            done
        done
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

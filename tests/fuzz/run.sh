#!/bin/bash
# Runs every libFuzzer target in FUZZ_BUILD/fuzz/ for RUNS inputs each
# (bounded by count: what `make test` does) or, with SECONDS, for that long
# each (`make fuzz`; RUNS -1 is no count limit), and prints TAP: one "ok"
# line per target with the inputs it ran.  Seeds: the test fixture
# snapshot for fuzz_snapshot, the strings in tests/fuzz/corpus/objspec/
# for fuzz_objspec, the requests in tests/fuzz/corpus/serve_router/ for
# fuzz_serve_router, the raw requests in tests/fuzz/corpus/serve_http/ for
# fuzz_serve_http (which serves web/ too); new inputs go to a scratch
# copy, never into the repository.  A crash leaves its input in the
# scratch folder, which is then kept and named.
#   tests/fuzz/run.sh FUZZ_BUILD RUNS [SECONDS]
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
FUZZ_BUILD=${1:?usage: tests/fuzz/run.sh FUZZ_BUILD RUNS}
RUNS=${2:?usage: tests/fuzz/run.sh FUZZ_BUILD RUNS [SECONDS]}
SECONDS_EACH=${3:-}
limits=(-runs="$RUNS")
[ -z "$SECONDS_EACH" ] || limits+=(-max_total_time="$SECONDS_EACH")
targets=()
for t in "$FUZZ_BUILD"/fuzz/fuzz_*; do
    [ -x "$t" ] && [[ $t != *.d ]] && targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || { echo "1..0 # SKIP no fuzz targets in $FUZZ_BUILD/fuzz (make fuzzers)"; exit 0; }

scratch=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-fuzz-XXXXXX")
keep=
trap '[ -n "$keep" ] || rm -rf "$scratch"' EXIT
fixture="$scratch/fixture.db"
sqlite3 "$fixture" < schema/heapsnap.sql && sqlite3 "$fixture" < tests/fixtures/leak.sql || exit 1
export HEAPSNAP_FUZZ_SNAPSHOT=$fixture
export HEAPSNAP_FUZZ_WEB=$ROOT/web

echo "1..${#targets[@]}"
i=0
for t in "${targets[@]}"; do
    i=$((i + 1))
    name=$(basename "$t")
    corpus="$scratch/corpus-$name"
    mkdir -p "$corpus"
    case $name in
    fuzz_snapshot) cp "$fixture" "$corpus/fixture.db"
                   sqlite3 "$corpus/empty.db" < schema/heapsnap.sql ;;
    fuzz_objspec) cp tests/fuzz/corpus/objspec/* "$corpus/" ;;
    fuzz_serve_router) cp tests/fuzz/corpus/serve_router/* "$corpus/" ;;
    fuzz_serve_http) cp tests/fuzz/corpus/serve_http/* "$corpus/" ;;
    esac
    # -close_fd_mask=3: the targets' own error lines are expected noise;
    # libFuzzer still reports crashes.
    if (cd "$scratch" && ASAN_OPTIONS=detect_leaks=1 "$ROOT/$t" "${limits[@]}" \
            -max_len=65536 -timeout=60 -rss_limit_mb=2048 -close_fd_mask=3 \
            -print_final_stats=1 -artifact_prefix="$scratch/$name-" "$corpus" \
            > "$scratch/$name.log" 2>&1); then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$name.log")
        echo "ok $i - $name: ${execs:-$RUNS} inputs${SECONDS_EACH:+ in at most $SECONDS_EACH s}, 0 crashes"
    else
        keep=1
        echo "not ok $i - $name: failed; its log and input: $scratch/$name.log"
        grep -E '^==|ERROR|SUMMARY' "$scratch/$name.log" | head -5 | sed 's/^/# /'
    fi
done
[ -z "$keep" ]

#!/usr/bin/env bats
# make bench's analyzer part (bench/run.sh, BENCH=analyzer) runs to its end
# on a small heap and prints every figure issue 17 asks of it: the first
# `why` on a file heapsnap.dump() wrote and on one `heapsnap dump` wrote,
# a later `why`, objgraph's live find_backref_chain on the same heap and
# the ratios of the three to it, bytes per object on disk and in RAM.
# Only that the lines are there, agree with each other and name the
# leaked object, never a time's size (tests/agent/test_bench_dump.py does
# the same for the dump part).

load lib

setup() {
    [ "${SAN:-0}" = 1 ] && skip "the bench runs the plain build's agent"
    [ -x /usr/bin/python3 ] || skip "no Debian python3 (objgraph's side)"
    /usr/bin/python3 -c 'import objgraph' 2>/dev/null ||
        skip "python3-objgraph is not installed (tools/deps.sh test)"
    cd "$BATS_TEST_TMPDIR"
}

@test "make bench's analyzer part prints every ratio against objgraph" {
    mkdir out
    run env BENCH=analyzer SCALE=0.02 BUILD="$BUILD" \
        BENCH_OUT="$BATS_TEST_TMPDIR/out" "$ROOT/bench/run.sh"
    echo "$output"
    [ "$status" -eq 0 ]
    # No command of the bench failed, and objgraph answered.
    ! grep -E ' failed: |objgraph unavailable|no Debian python3' <<<"$output"
    echo "$output" > bench.txt
    python3 - bench.txt <<'PY'
import re, sys

text = open(sys.argv[1]).read()
NUM = r"([0-9]+(?:\.[0-9]+)?)"

def figure(label, tail=""):
    m = re.search(re.escape(label) + r" +" + NUM + tail, text)
    assert m, "no line %r in:\n%s" % (label, text)
    return [float(g) for g in m.groups()]

first = figure("why OBJ, first command on the file (stores the caches)")[0]
cli, disk, rss_cli = figure(
    "why OBJ, first command on a file heapsnap dump wrote",
    r" s .*= " + NUM + r" bytes/object on disk, unchanged; peak RSS .*MiB, "
    + NUM + r" bytes/object\)")
later, rss = figure("why OBJ (cold, load included)",
                    r" s .*peak RSS .*MiB, " + NUM + r" bytes/object\)")
og = figure("objgraph find_backref_chain (live, same heap)")[0]
assert og > 0, og
# Each ratio is its two times, as printed to three places, divided.
for label, t in (("ratio heapsnap why (cold) / objgraph (live)", later),
                 ("ratio first why (stores caches) / objgraph", first),
                 ("ratio first why, dump-written / objgraph", cli)):
    r = figure(label)[0]
    assert abs(r - t / og) <= 0.01 + 0.0011 / og * max(r, 1), (label, r, t, og)
assert disk > 0 and rss_cli > 0 and rss > 0, (disk, rss_cli, rss)
figure("peak memory", r" MiB \(" + NUM + r" bytes/object\)")
# The path `why` printed ends at the leaked object, from a module.
assert re.search(r"\n +module __main__ .*→ LeakedRequest\n", text), text
PY
    # Its files went where it was told, none into the build.
    [ -s out/heap.db ]
    [ -s out/heap-cli.db ]
}

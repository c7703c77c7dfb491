#!/bin/bash
# golden.sh: every command's output, captured so that a refactoring of the
# inspector can prove it changed nothing a user sees.
#
#   tests/cli/golden.sh capture DIR   builds the test snapshots into DIR/snaps
#                                     (kept: a real dump differs every run) and
#                                     writes every output into DIR/out
#   tests/cli/golden.sh recapture DIR the outputs again into DIR/out, from the
#                                     snapshots already in DIR/snaps (a new
#                                     baseline after others' changes)
#   tests/cli/golden.sh check DIR     runs the same again into DIR/new and
#                                     compares it byte for byte with DIR/out;
#                                     exits 1 and prints the diff if any
#
# What is run: every command with every option on the hand-built fixture
# (tests/fixtures/leak.sql, every object and type) and on a real dump of
# examples/leaky_service.py (a sample of objects, its types, diff of its two
# snapshots); stdout, stderr, the exit code and every file a command writes
# (DOT, SVG, JSON) are kept; then `serve`'s JSON and SVG answers.  Commands
# run in a scratch folder holding fresh copies of the snapshots, with
# relative paths, so that the outputs do not depend on DIR.  DIR must be
# outside the repository.  Not part of `make test`: it is the refactoring's
# before/after comparison, run by hand (BUILD= picks the build folder).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
HEAPSNAP=$ROOT/$BUILD/heapsnap

die() { echo "golden.sh: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: golden.sh capture|recapture|check DIR"
mode=$1
mkdir -p "$2" || die "cannot make $2"
DIR=$(cd "$2" && pwd)
case $DIR/ in "$ROOT"/*) die "DIR must be outside the repository" ;; esac
[ -x "$HEAPSNAP" ] || die "no $HEAPSNAP (make first)"

# ---- the snapshots ---------------------------------------------------------
make_snaps() {
    local s=$DIR/snaps py
    mkdir -p "$s"
    rm -f "$s"/*.db
    sqlite3 "$s/leak.db" < "$ROOT/schema/heapsnap.sql" &&
        sqlite3 "$s/leak.db" < "$ROOT/tests/fixtures/leak.sql" ||
        die "cannot build the fixture snapshot"
    py=$(sed -n 's/^PY_\([0-9.]*\)_EXE := \(.*\)$/\2/p' "$ROOT/$BUILD/config.mk" | tail -1)
    (cd "$s" && HEAPSNAP_NO_PROGRESS=1 "$HEAPSNAP" dump -o leaky.db -- \
        "$py" "$ROOT/examples/leaky_service.py" --midway > dump.log 2>&1) ||
        die "cannot dump the example: $(cat "$s/dump.log")"
    sqlite3 "$s/leaky.db" "select id from objects order by id" |
        awk 'NR % 4001 == 1' > "$s/sample.ids"
    sqlite3 "$s/leaky.db" "select o.id from objects o join types t on \
        o.type_id = t.id where t.name = 'LeakedRequest' order by o.id limit 3" \
        >> "$s/sample.ids"
    # Derived tables once, here: they record when they were computed.
    for db in leak leaky.1 leaky; do
        "$HEAPSNAP" top -f "$s/$db.db" --by retained > /dev/null 2>&1 ||
            die "cannot derive the tables of $db.db"
    done
}

# ---- running ---------------------------------------------------------------
OUT= WORK= N=0

# run NAME ARGS...: stdout, stderr and exit code of `heapsnap ARGS` into
# OUT/NAME.*, then any file the command wrote into the scratch folder.
run() {
    local name=${1// /_} f
    shift
    N=$((N + 1))
    (cd "$WORK" && HEAPSNAP_NO_PROGRESS=1 "$HEAPSNAP" "$@" \
        > "$OUT/$name.out" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc")
    for f in "$WORK"/out.*; do
        [ -e "$f" ] || continue
        mv "$f" "$OUT/$name.file.${f##*.}"
    done
}

fresh_work() {
    rm -rf "$WORK"
    mkdir -p "$WORK"
    cp "$DIR"/snaps/*.db "$WORK"/
}

commands() {
    local f=leak.db id t o
    run help-top --help
    run info-leak info -f $f
    run info-leak-json info -f $f --json
    for by in size count retained; do
        for n in 0 3; do
            run "top-leak-$by-$n" top -f $f --by $by -n $n
            run "top-leak-$by-$n-json" top -f $f --by $by -n $n --json
        done
    done
    run top-leak-objects top -f $f --objects
    run top-leak-objects-json top -f $f --objects --json -n 5
    for th in 10 50 1; do
        run "top-leak-suspects-$th" top -f $f --suspects --threshold $th
        run "top-leak-suspects-$th-json" top -f $f --suspects --threshold $th --json
    done
    for id in $(seq 1 30 | sed 's/^/@/') 0x11000 69632 0x1; do
        run "why-leak-$id" why -f $f "$id"
        run "why-leak-$id-json" why -f $f "$id" --json
        run "show-leak-$id" show -f $f "$id"
        run "show-leak-$id-json" show -f $f "$id" --json -n 2
        run "refs-leak-$id" refs -f $f "$id" -o out.dot
        run "backrefs-leak-$id" backrefs -f $f "$id" -o out.dot
        run "backrefs-leak-$id-json" backrefs -f $f "$id" --json
        run "why-leak-$id-svg" why -f $f "$id" --svg out.svg --dot out.gv
    done
    for t in Foo CycleNode dict str list type module __main__.Foo Nope ReferenceType; do
        run "why-leak-$t" why -f $f "$t"
        run "why-leak-$t-paths1-full" why -f $f "$t" --paths 1 --full
        run "why-leak-$t-json" why -f $f "$t" --json
        run "why-leak-$t-json-paths1" why -f $f "$t" --json --paths 1
        run "why-leak-$t-dot" why -f $f "$t" --dot out.dot --svg out.svg
        run "refs-leak-$t" refs -f $f "$t" -o out.dot --too-many 2
        run "backrefs-leak-$t" backrefs -f $f "$t" -o out.dot --depth 2
        run "show-leak-$t" show -f $f "$t"
    done
    for o in "" "--all" "--garbage" "-n 1" "-n 0" "--all -n 0"; do
        run "cycles-leak-$o" cycles -f $f $o
        run "cycles-leak-$o-json" cycles -f $f $o --json
        run "cycles-leak-$o-dot" cycles -f $f $o --dot out.dot --svg out.svg
    done
    run cycles-leak-max2 cycles -f $f --all --dot out.dot --max-nodes 2
    for o in "--depth 1" "--depth 2" "--too-many 1" "--max-nodes 3" "--max-nodes 0" "--json"; do
        run "refs-leak-16-$o" refs -f $f @16 $o -o out.dot
        run "backrefs-leak-16-$o" backrefs -f $f @16 $o -o out.dot
    done
    run refs-leak-stdout refs -f $f @11 -o -
    run backrefs-leak-none backrefs -f $f @16
    run why-leak-missing why -f nope.db @1
    run why-leak-two why -f $f @1 @2
    run why-leak-paths0 why -f $f Foo --paths 0
    run diff-leak-self diff $f $f
    run diff-leak-self-json diff $f $f --json

    # The real dump: sampled objects, its types, both snapshots diffed.
    f=leaky.db
    run info-real info -f $f
    run info-real-json info -f $f --json
    run info-real1 info -f leaky.1.db
    for by in size count retained; do
        run "top-real-$by" top -f $f --by $by -n 15
        run "top-real-$by-json" top -f $f --by $by -n 15 --json
    done
    run top-real-objects top -f $f --objects
    run top-real-objects-json top -f $f --objects --json
    run top-real-suspects top -f $f --suspects
    run top-real-suspects-json top -f $f --suspects --json
    run top-real-suspects-5 top -f $f --suspects --threshold 5
    while read -r id; do
        run "why-real-$id" why -f $f "@$id"
        run "why-real-$id-full" why -f $f "@$id" --full
        run "why-real-$id-json" why -f $f "@$id" --json
        run "show-real-$id" show -f $f "@$id"
        run "show-real-$id-json" show -f $f "@$id" --json
        run "refs-real-$id" refs -f $f "@$id" -o out.dot --depth 2
        run "backrefs-real-$id" backrefs -f $f "@$id" -o out.dot
        run "why-real-$id-svg" why -f $f "@$id" --dot out.dot
    done < "$DIR/snaps/sample.ids"
    for t in LeakedRequest dict str Session list function tuple; do
        run "why-real-$t" why -f $f "$t"
        run "why-real-$t-full" why -f $f "$t" --full --paths 9
        run "why-real-$t-json" why -f $f "$t" --json
        run "why-real-$t-dot" why -f $f "$t" --dot out.dot
        run "backrefs-real-$t" backrefs -f $f "$t" -o out.dot --depth 2
    done
    for o in "" "--all" "--garbage" "-n 0" "--all -n 3"; do
        run "cycles-real-$o" cycles -f $f $o
        run "cycles-real-$o-json" cycles -f $f $o --json
    done
    run cycles-real-dot cycles -f $f --dot out.dot -n 2
    run cycles-real-all-dot cycles -f $f --all --dot out.dot --max-nodes 50
    for o in "" "--by count" "-n 0" "--paths 0" "--paths 5" "--type dict" "--type LeakedRequest" "--type Nope" "--json" "--json --by count -n 3"; do
        run "diff-real-$o" diff leaky.1.db $f $o
    done
    run diff-real-rev diff $f leaky.1.db
}

# serve_answers: the server's JSON and SVG on the fixture and the real dump.
serve_answers() {
    local snap=$1 tag=$2 pid port p name notoken=
    shift 2
    # A server that guards requests with a token is asked not to: the
    # answers are what is compared.
    "$HEAPSNAP" serve --help | grep -q -- --no-token && notoken=--no-token
    (cd "$WORK" && exec "$HEAPSNAP" serve -f "$snap" --port 0 $notoken \
        > serve.out 2> serve.err) &
    pid=$!
    for _ in $(seq 600); do
        port=$(sed -n 's|^heapsnap: serving .* at http://127\.0\.0\.1:\([0-9]*\)/.*(Ctrl-C stops)$|\1|p' "$WORK/serve.err")
        [ -n "$port" ] && break
        kill -0 $pid 2> /dev/null || break
        sleep 0.1
    done
    [ -n "$port" ] || die "serve did not start: $(cat "$WORK/serve.err")"
    for p in "$@"; do
        name=$(printf '%s' "$p" | tr '/?&=' '____')
        N=$((N + 1))
        curl -s --path-as-is -o "$OUT/serve-$tag-$name.body" \
            -w '%{http_code} %{content_type}\n' "http://127.0.0.1:$port$p" \
            > "$OUT/serve-$tag-$name.status"
    done
    kill -TERM $pid
    wait $pid
}

serve_all() {
    local ids=() id p
    for id in $(seq 1 28); do
        ids+=("/api/object/$id?n=20" "/api/object/$id?n=1" "/api/why/$id"
              "/api/why/$id?steps=2" "/svg/why/$id" "/svg/refs/$id"
              "/svg/backrefs/$id?depth=2")
    done
    serve_answers leak.db leak /api/info /api/top "/api/top?by=count&n=2" \
        "/api/top?by=retained&n=1" /api/suspects "/api/suspects?threshold=50" \
        "/api/why?type=Foo" "/api/why?type=CycleNode" "/api/why?type=Nope" \
        "/api/why?type=dict&n=1" /api/cycles "/api/cycles?all=1" \
        "/api/cycles?garbage=1&n=1" "/api/search?q=fo" "/api/search?q=c" \
        "/api/search?q=0x11000" "/api/search?q=@16" "/api/search" \
        /api/nope "/svg/refs/16?max_nodes=2" "/svg/why/1000" "${ids[@]}"
    ids=()
    while read -r id; do
        ids+=("/api/object/$id" "/api/why/$id" "/svg/why/$id"
              "/svg/backrefs/$id")
    done < "$DIR/snaps/sample.ids"
    serve_answers leaky.db real /api/info /api/top "/api/top?by=retained" \
        /api/suspects "/api/why?type=LeakedRequest" "/api/why?type=dict" \
        /api/cycles "/api/cycles?all=1&n=50" "/api/search?q=Leak" "${ids[@]}"
}

capture_into() {
    OUT=$1
    WORK=$DIR/work
    rm -rf "$OUT"
    mkdir -p "$OUT"
    fresh_work
    commands
    fresh_work
    serve_all
    rm -rf "$WORK"
    echo "golden.sh: $N outputs in $OUT"
}

case $mode in
capture)
    make_snaps
    capture_into "$DIR/out" ;;
recapture)
    [ -f "$DIR/snaps/sample.ids" ] || die "no snapshots in $DIR (capture first)"
    capture_into "$DIR/out" ;;
check)
    [ -d "$DIR/out" ] || die "nothing captured in $DIR (capture first)"
    capture_into "$DIR/new"
    if diff -r "$DIR/out" "$DIR/new" > "$DIR/diff.txt"; then
        echo "golden.sh: identical"
    else
        echo "golden.sh: outputs differ ($(grep -c '^diff\|^Only' "$DIR/diff.txt") files; $DIR/diff.txt):"
        head -60 "$DIR/diff.txt"
        exit 1
    fi ;;
*) die "usage: golden.sh capture|recapture|check DIR" ;;
esac

#!/usr/bin/env bats
# heapsnap serve: the web viewer's server.  On the fixture every JSON
# endpoint is checked for exact values and against the matching command's
# --json output (the API may add fields, never change one); then pictures,
# errors (400, 404, 405), path traversal, headers, the address it binds,
# the token every request needs, slow and greedy clients, how it stops,
# how it fails before listening; then a real program.

load lib

setup_file() {
    # The real interpreter behind python3: pyenv's shim costs half a
    # second a call, and these tests parse a lot of JSON.
    PY3=$(python3 -c 'import sys; print(sys.executable)')
    export PY3
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    # ASan builds: Graphviz's context lives as long as the process and its
    # leaks are suppressed (render_dot.c); keep LeakSanitizer quiet about
    # the suppressions it used.
    export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"
    # Anything the server wrote to TMPDIR would land here: the tests check
    # that it writes nothing (pictures are rendered in memory).
    mkdir -p tmp
    export TMPDIR="$BATS_TEST_TMPDIR/tmp"
    SERVER=
    # jsonlib.py subset A B: every field of JSON file A is in B with the
    # same value (lists element by element, same length); B may have more.
    # jsonlib.py get FILE EXPR: prints eval(EXPR) on the document d.
    cat > jsonlib.py <<'PY'
import json, sys


def subset(a, b, path='$'):
    if isinstance(a, dict):
        assert isinstance(b, dict), '%s: %r is not an object' % (path, b)
        for k in a:
            assert k in b, '%s.%s is missing' % (path, k)
            subset(a[k], b[k], '%s.%s' % (path, k))
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), \
            '%s: %d items, not %r' % (path, len(a), b)
        for i, (x, y) in enumerate(zip(a, b)):
            subset(x, y, '%s[%d]' % (path, i))
    elif isinstance(a, float) or isinstance(b, float):
        assert abs(a - b) < 1e-9, '%s: %r != %r' % (path, a, b)
    else:
        assert a == b, '%s: %r != %r' % (path, a, b)


if sys.argv[1] == 'subset':
    subset(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])))
elif sys.argv[1] == 'get':
    d = json.load(open(sys.argv[2]))
    print(eval(sys.argv[3]))
PY
}

# Every server must stop cleanly: under ASan a leak makes the status 23.
teardown() {
    stop_server
    if [ -n "$SERVER_STATUS" ] && [ "$SERVER_STATUS" -ne 0 ]; then
        echo "the server exited with status $SERVER_STATUS"
        cat serve.err
        return 1
    fi
}

# start_server SNAP [ARGS...]: runs `heapsnap serve -f SNAP --port 0 ARGS`
# in the background and waits for its line; sets SERVER, PORT, TOKEN (empty
# with --no-token), BASE, and COOKIE (curl's -b argument that authorizes).
start_server() {
    local snap=$1
    shift
    # Made here, before the background job opens it: the loop reads it at
    # once, and a sed that cannot read it would fail the test.
    : > serve.err
    "$HEAPSNAP" serve -f "$snap" --port 0 "$@" > serve.out 2> serve.err 3>&- &
    SERVER=$!
    for _ in $(seq 600); do
        PORT=$(sed -n 's|^heapsnap: serving .* at http://127\.0\.0\.1:\([0-9]*\)/\(?token=[0-9a-f]\{32\}\)\{0,1\} (Ctrl-C stops)$|\1|p' serve.err)
        TOKEN=$(sed -n 's|^heapsnap: serving .* at http://.*/?token=\([0-9a-f]*\) (Ctrl-C stops)$|\1|p' serve.err)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER" 2> /dev/null || break
        sleep 0.1
    done
    [ -n "$PORT" ] || {
        cat serve.err
        return 1
    }
    BASE="http://127.0.0.1:$PORT"
    COOKIE="heapsnap-token-$PORT=$TOKEN"
}

# stop_server: SIGTERM, then its exit status in SERVER_STATUS.
stop_server() {
    SERVER_STATUS=
    if [ -n "$SERVER" ]; then
        kill -TERM "$SERVER" 2> /dev/null
        wait "$SERVER"
        SERVER_STATUS=$?
        SERVER=
    fi
}

# fetch PATH [CURL ARGS...]: the body in body.out, the headers in
# headers.out, the status in STATUS; with the token's cookie.
fetch() {
    local path=$1
    shift
    STATUS=$(curl -s --path-as-is -o body.out -D headers.out -w '%{http_code}' -b "$COOKIE" "$@" "$BASE$path")
}

# fetch_bare PATH [CURL ARGS...]: fetch without the cookie.
fetch_bare() {
    local path=$1
    shift
    STATUS=$(curl -s --path-as-is -o body.out -D headers.out -w '%{http_code}' "$@" "$BASE$path")
}

# json PATH: fetches PATH, which must answer 200 with JSON, into api.json.
json() {
    fetch "$1"
    [ "$STATUS" = 200 ] || {
        echo "$1 answered $STATUS: $(cat body.out)"
        return 1
    }
    cp body.out api.json
    "$PY3" -c 'import json, sys; json.load(sys.stdin)' < api.json
}

get() { # get EXPR: a value of api.json
    "$PY3" jsonlib.py get api.json "$1"
}

header() { # header NAME: its value in headers.out
    tr -d '\r' < headers.out | sed -n "s/^$1: //Ip" | head -1
}

@test "serve: one line on stderr, then the viewer's page" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    [ "$(wc -l < serve.err)" -eq 1 ]
    [[ "$(cat serve.err)" =~ ^heapsnap:\ serving\ .*/leak\.db\ at\ http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{32}\ \(Ctrl-C\ stops\)$ ]]
    [ ! -s serve.out ]
    fetch /
    [ "$STATUS" = 200 ]
    [ "$(header Content-Type)" = "text/html; charset=utf-8" ]
    grep -q '<script src="/static/app.js"' body.out
    # The viewer's pages are the same page.
    for page in /object/16 /type/Foo /cycles /index.html; do
        fetch "$page"
        [ "$STATUS" = 200 ]
        grep -q '<script src="/static/app.js"' body.out
    done
    fetch /static/app.js
    [ "$STATUS" = 200 ]
    [ "$(header Content-Type)" = "text/javascript; charset=utf-8" ]
    cmp body.out "$ROOT/web/app.js"
    fetch /static/style.css
    [ "$(header Content-Type)" = "text/css; charset=utf-8" ]
    fetch /static/favicon.svg
    [ "$(header Content-Type)" = "image/svg+xml" ]
}

@test "serve: --help, and usage errors exit 2" {
    run "$HEAPSNAP" serve --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "usage: heapsnap serve [-f FILE] [--diff OLD] [--port N] [--host ADDR]" ]]
    [[ "$output" == *"--port N"* ]]
    [[ "$output" == *"--diff OLD"*"older snapshot OLD (/diff)"* ]]
    [[ "$output" == *"heap map (/map)"* ]]
    [[ "$output" == *"--no-token"*"loopback --host only"* ]]
    [[ "$output" == *"?token="* ]]
    run "$HEAPSNAP" serve -f "$snap" --timeout 0
    [ "$status" -eq 2 ]
    [[ "$output" == *"--timeout takes 1 to 3600, not 0"* ]]
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" serve -f "$snap" --port 70000
    [ "$status" -eq 2 ]
    [[ "$output" == *"--port takes 0 to 65535, not 70000"* ]]
    run "$HEAPSNAP" serve -f "$snap" --host localhost
    [ "$status" -eq 2 ]
    [[ "$output" == *"--host takes a numeric IPv4 or IPv6 address"* ]]
    run "$HEAPSNAP" serve -f "$snap" extra
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" help
    [[ "$output" == *"serve "* ]]
}

@test "serve: /api/info is info --json, plus the retained heap" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json /api/info
    "$HEAPSNAP" info -f "$snap" --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'd["totals"]["objects"], d["totals"]["edges"], d["totals"]["bytes"]')" = "(27, 21, 10845)" ]
    [ "$(get 'd["meta"]["pid"], d["meta"]["python_version"]')" = "(4242, '3.12.1')" ]
    [ "$(get 'd["retained"]')" = "{'reachable': 24, 'reachable_bytes': 10696, 'unreachable': 3, 'unreachable_bytes': 149, 'origin': 'stored'}" ]
}

@test "serve: /api/top is top --json, by size, count and retained" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    for by in size count retained; do
        for n in 0 3; do
            json "/api/top?by=$by&n=$n"
            "$HEAPSNAP" top -f "$snap" --by "$by" -n "$n" --json > cli.json
            "$PY3" jsonlib.py subset cli.json api.json
        done
    done
    json /api/top
    [ "$(get '[(t["type"], t["count"], t["bytes"], t["type_id"]) for t in d["types"][:4]]')" = \
      "[('type', 9, 8584, 1), ('dict', 2, 1384, 3), ('str', 8, 397, 5), ('__main__.Foo', 3, 144, 7)]" ]
    [ "$(get 'd["total"]')" = "{'count': 27, 'bytes': 10845, 'types': 8}" ]
    json "/api/top?by=retained&n=1"
    [ "$(get '[(t["type"], t["retained_size"]) for t in d["types"]]')" = "[('type', 8584)]" ]
}

@test "serve: /api/suspects is top --suspects --json" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json /api/suspects
    "$HEAPSNAP" top -f "$snap" --suspects --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'd["objects"][0]["accumulation_point"]["path"]')" = "module __main__ .__dict__ → dict" ]
    json "/api/suspects?threshold=50"
    "$HEAPSNAP" top -f "$snap" --suspects --threshold 50 --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
}

@test "serve: /api/object/ID is show --json with descriptions, capped with totals" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json "/api/object/16?n=20"
    "$HEAPSNAP" show -f "$snap" @16 --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'sorted((r["label"], r["id"], r["description"]) for r in d["referrers"])')" = \
      "[('(weak)', 24, 'ReferenceType'), ('[0]', 15, 'list (3 items)')]" ]
    [ "$(get '[(r["label"], r["description"], r["retained_size"]) for r in d["referents"]]')" = \
      "[('.name', \"str 'ann'\", 44), ('.__class__', 'type Foo', 1072)]" ]
    [ "$(get 'd["retained_size"], d["idom"]["id"], d["idom"]["description"], d["description"]')" = \
      "(92, 15, 'list (3 items)', 'Foo')" ]
    json "/api/object/16?n=1"
    [ "$(get 'len(d["referrers"]), d["referrers_total"], len(d["referents"]), d["referents_total"]')" = "(1, 2, 1, 2)" ]
    # The type object, a root held from outside, and an unreachable one.
    for id in 7 25 22; do
        json "/api/object/$id?n=20"
        "$HEAPSNAP" show -f "$snap" "@$id" --json > cli.json
        "$PY3" jsonlib.py subset cli.json api.json
    done
    [ "$(get 'd["reachable"], d["idom"], d["idom_note"], d["flags"]')" = "(False, None, 'unreachable', ['gc_tracked', 'unreachable'])" ]
}

@test "serve: /api/why/ID is why --json: every step with its retained size" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    for id in 17 10 25 19; do
        json "/api/why/$id"
        "$HEAPSNAP" why -f "$snap" "@$id" --json > cli.json
        "$PY3" jsonlib.py subset cli.json api.json
    done
    json /api/why/17
    [ "$(get '[(s["label"], s["to"]["id"], s["to"]["retained_size"]) for s in d["path"]]')" = \
      "[('.__dict__', 11, 1934), (\"['CACHE']\", 13, 601), (\"['users']\", 15, 363), ('[1]', 17, 92)]" ]
    [ "$(get 'd["reason"], d["root"]["kind"], d["root"]["object"]["retained_size"], d["text"]')" = \
      "('path', 'module', 2006, \"module __main__ .CACHE → dict ['users'] → list [1] → Foo\")" ]
    json "/api/why/17?steps=2"
    [ "$(get '[s.get("label", s.get("elided")) for s in d["path"]]')" = "['.__dict__', 2, '[1]']" ]
}

@test "serve: /api/why/ID of an unreachable object names its cycle" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json /api/why/22
    "$HEAPSNAP" why -f "$snap" @22 --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'd["reason"], [(h["cycle"], h["description"], h["member_ids"]) for h in d["held_by"]]')" = \
      "('unreachable', [(True, '2 CycleNode objects', [22, 23])])" ]
}

@test "serve: /api/why?type=NAME is why TYPE --json" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json "/api/why?type=Foo"
    "$HEAPSNAP" why -f "$snap" Foo --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get '[(g["count"], g["shape"], g["example"]["id"]) for g in d["groups"]]')" = \
      "[(3, \"module __main__ .CACHE → dict ['users'] → list [*] → Foo\", 16)]" ]
    json "/api/why?type=CycleNode"
    "$HEAPSNAP" why -f "$snap" CycleNode --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get '[(g["count"], g["unreachable"]) for g in d["groups"]]')" = "[(2, True)]" ]
    # The qualified name and the type object's id name the same type.
    for name in __main__.Foo @7; do
        json "/api/why?type=$name"
        [ "$(get 'd["type"], d["count"]')" = "('__main__.Foo', 3)" ]
    done
    fetch "/api/why?type=Nope"
    [ "$STATUS" = 404 ]
    [ "$(cat body.out)" = '{"error":"no type '"'"'Nope'"'"'"}' ]
    fetch "/api/why?type=module"
    [ "$STATUS" = 200 ]
    fetch "/api/why"
    [ "$STATUS" = 400 ]
    fetch "/api/why?type=Foo&n=0"
    [ "$STATUS" = 400 ]
}

@test "serve: /api/cycles is cycles --json" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json /api/cycles
    "$HEAPSNAP" cycles -f "$snap" --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get '[(c["members"], c["unreachable"], [(s["from"], s["label"], s["to"]) for s in c["loop"]]) for c in d["cycles"]]')" = \
      "[(2, True, [(22, '.peer', 23), (23, '.peer', 22)])]" ]
    for q in "garbage=1" "all=1" "n=0&all=1"; do
        json "/api/cycles?$q"
        args=$(echo "$q" | sed 's/garbage=1/--garbage/; s/all=1/--all/; s/n=0/-n 0/; s/&/ /')
        "$HEAPSNAP" cycles -f "$snap" $args --json > cli.json
        "$PY3" jsonlib.py subset cli.json api.json
    done
    fetch "/api/cycles?all=2"
    [ "$STATUS" = 400 ]
}

@test "serve: /api/search finds types by name and objects by address or id" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json "/api/search?q=fo"
    [ "$(get '[(t["type"], t["type_id"], t["count"]) for t in d["types"]], d["objects"]')" = "([('__main__.Foo', 7, 3)], [])" ]
    # The name itself first, then prefixes, then the rest.
    json "/api/search?q=c"
    [ "$(get '[t["type"] for t in d["types"]]')" = "['__main__.CycleNode', 'dict', 'ReferenceType']" ]
    json "/api/search?q=type"
    [ "$(get '[t["type"] for t in d["types"]]')" = "['type', 'ReferenceType']" ]
    json "/api/search?q=TYPE"
    [ "$(get '[t["type"] for t in d["types"]][0]')" = "type" ]
    for q in 0x10000 65536 @16; do
        json "/api/search?q=$q"
        [ "$(get '[(o["id"], o["address"]) for o in d["objects"]]')" = "[(16, '0x10000')]" ]
    done
    json "/api/search?q=nothing-like-this"
    [ "$(get 'd["types"], d["objects"], d["types_total"]')" = "([], [], 0)" ]
    fetch "/api/search"
    [ "$STATUS" = 400 ]
    fetch "/api/search?q="
    [ "$STATUS" = 400 ]
}

@test "serve: SVG pictures link every drawn object to its page" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    for pic in backrefs/16 refs/11 why/17 why/22 "backrefs/16?depth=1&too_many=1"; do
        fetch "/svg/$pic"
        [ "$STATUS" = 200 ]
        [ "$(header Content-Type)" = "image/svg+xml" ]
        xmllint --noout body.out
        grep -q 'xlink:href="/object/' body.out
    done
    # The same objects as `backrefs @16` draws, each linked.
    fetch /svg/backrefs/16
    grep -o 'xlink:href="/object/[0-9]*"' body.out | sed 's/.*object\/\([0-9]*\)"/\1/' | sort -n > served
    "$HEAPSNAP" backrefs -f "$snap" @16 -o cli.dot > /dev/null
    grep -o '^[[:space:]]*o[0-9]*[[:space:]]*\[' cli.dot | tr -dc '0-9\n' | sort -n > drawn
    [ -s drawn ]
    diff drawn served
    [ "$(cat drawn | tr '\n' ' ')" = "10 11 13 15 16 24 " ]
    grep -q 'backrefs of Foo @0x10000, depth 3' body.out
    # Why pictures: the path from the module, or the cycle.
    fetch /svg/why/17
    grep -q 'why Foo @0x11000 is alive: module __main__ (module root)' body.out
    fetch /svg/why/22
    grep -q 'xlink:href="/object/23"' body.out
    # Pictures are rendered in memory: nothing was written to TMPDIR.
    [ -z "$(ls -A tmp)" ]
}

@test "serve: 404 for unknown routes and objects, 400 for bad parameters" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    while read -r code path; do
        fetch "$path"
        [ "$STATUS" = "$code" ] || {
            echo "$path answered $STATUS, not $code"
            return 1
        }
        [ "$(header Content-Type)" = "application/json; charset=utf-8" ]
        "$PY3" -c 'import json, sys; d = json.load(open("body.out")); assert list(d) == ["error"] and d["error"], d'
    done <<'EOF'
404 /nope
404 /api/nope
404 /api/object/999
404 /api/why/0
404 /svg/backrefs/1000
404 /svg/nope/16
404 /static/nope.js
404 /static/index.htm
404 /static/.hidden.js
400 /api/object/
400 /api/object/abc
400 /api/object/-1
400 /api/object/16x
400 /api/top?by=x
400 /api/top?n=-1
400 /api/top?n=1e3
400 /api/object/16?n=x
400 /api/why/17?steps=1
400 /api/suspects?threshold=0
400 /svg/backrefs/16?depth=11
400 /svg/backrefs/16?too_many=0
400 /svg/refs/16?max_nodes=1001
EOF
    fetch /api/object/999
    [ "$(cat body.out)" = '{"error":"no object @999"}' ]
    fetch "/api/top?by=x"
    [ "$(cat body.out)" = '{"error":"by must be size, count or retained, not '"'"'x'"'"'"}' ]
}

@test "serve: only GET and HEAD (405 with Allow), HEAD without a body" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    for method in POST PUT DELETE PATCH OPTIONS; do
        fetch /api/info -X "$method" --data x
        [ "$STATUS" = 405 ]
        [ "$(header Allow)" = "GET, HEAD" ]
        [ "$(cat body.out)" = "{\"error\":\"only GET and HEAD, not $method\"}" ]
    done
    fetch /api/info -I
    [ "$STATUS" = 200 ]
    ! grep -q '{' body.out
    [ "$(header Content-Length)" -gt 100 ]
    # The server is still fine.
    json /api/info
}

@test "serve: no path traversal, encoded or not" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    for path in '/../Makefile' '/%2e%2e/Makefile' '/static/../../etc/passwd' \
        '/static/%2e%2e/%2e%2e/etc/passwd' '/static/..%2f..%2fMakefile' \
        '/static/%2e%2e%2fMakefile' '/static/..%2fweb%2fapp.js' \
        '/static/%2E%2E/Makefile' '/./static/app.js' '/static/./app.js' \
        '/static/..\\Makefile' '/static//etc/passwd' '/static/%00app.js' \
        '/api/../static/app.js' '/svg/../../Makefile'; do
        fetch "$path"
        case "$STATUS" in
        400 | 404) ;;
        *)
            echo "$path answered $STATUS"
            return 1
            ;;
        esac
        ! grep -q 'root:' body.out
        ! grep -q 'WARNINGS' body.out
        ! grep -q 'use strict' body.out
    done
}

@test "serve: content types, nosniff and a CSP on every answer; no CORS" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    while read -r path type; do
        fetch "$path"
        [ "$(header Content-Type)" = "$type" ]
        [ "$(header X-Content-Type-Options)" = "nosniff" ]
        csp=$(header Content-Security-Policy)
        [[ "$csp" == *"default-src 'none'"* ]]
        [[ "$csp" == *"script-src 'self'"* ]]
        [[ "$csp" == *"frame-ancestors 'none'"* ]]
        [[ "$csp" != *"unsafe"* ]]
        [ "$(header Cache-Control)" = "no-store" ]
        [ -z "$(header Access-Control-Allow-Origin)" ]
    done <<'EOF'
/ text/html; charset=utf-8
/static/app.js text/javascript; charset=utf-8
/static/style.css text/css; charset=utf-8
/api/info application/json; charset=utf-8
/api/nope application/json; charset=utf-8
/svg/backrefs/16 image/svg+xml
EOF
}

@test "serve: binds 127.0.0.1 only and answers only its own host names" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    hexport=$(printf '%04X' "$PORT")
    # The one listening socket on that port (state 0A) is 127.0.0.1's.
    [ "$(awk -v p=":$hexport" '$2 ~ p"$" && $4 == "0A" { print $2 }' /proc/net/tcp /proc/net/tcp6)" = "0100007F:$hexport" ]
    for host in "127.0.0.1:$PORT" "localhost:$PORT" "LOCALHOST:$PORT" localhost "[::1]:$PORT"; do
        fetch /api/info -H "Host: $host"
        [ "$STATUS" = 200 ]
    done
    # DNS rebinding: another site's name pointed at 127.0.0.1.
    for host in "evil.example:$PORT" evil.example "localhost:1" "127.0.0.1.evil.example:$PORT"; do
        fetch /api/info -H "Host: $host"
        [ "$STATUS" = 403 ]
        [[ "$(cat body.out)" == *"answers requests for http://127.0.0.1:$PORT/ only"* ]]
    done
}

@test "serve: SIGTERM and SIGINT stop it with status 0, leaving no file" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    fetch /svg/backrefs/16
    [ "$STATUS" = 200 ]
    [ -z "$(ls -A tmp)" ]
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
    [ -z "$(ls tmp)" ]
    # Nothing listens any more.
    run curl -s "$BASE/api/info"
    [ "$status" -ne 0 ]
    start_server "$snap"
    kill -INT "$SERVER"
    wait "$SERVER"
    status=$?
    SERVER=
    [ "$status" -eq 0 ]
    [ "$(wc -l < serve.err)" -eq 1 ]
    [ -z "$(ls tmp)" ]
}

@test "serve: a missing snapshot exits 4, a bad one 3, before listening" {
    port=$("$PY3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run "$HEAPSNAP" serve -f missing.db --port "$port"
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: cannot open 'missing.db'"* ]]
    [[ "$output" != *serving* ]]
    echo "not a snapshot" > bad.db
    run "$HEAPSNAP" serve -f bad.db --port "$port"
    [ "$status" -eq 3 ]
    [[ "$output" != *serving* ]]
    sqlite3 other.db "create table t(x)"
    run "$HEAPSNAP" serve -f other.db --port "$port"
    [ "$status" -eq 3 ]
    [[ "$output" != *serving* ]]
    [ -z "$(ls tmp)" ]
}

@test "serve: a port in use exits 4 naming the address" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    run "$HEAPSNAP" serve -f "$snap" --port "$PORT"
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: cannot listen on 127.0.0.1:$PORT: "* ]]
    # The first server is not disturbed.
    json /api/info
}

@test "serve: concurrent requests are all answered" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    pids=()
    for i in $(seq 24); do
        case $((i % 4)) in
        0) path=/api/why/17 ;;
        1) path=/svg/backrefs/16 ;;
        2) path="/api/why?type=Foo" ;;
        3) path=/api/object/16 ;;
        esac
        curl -s -b "$COOKIE" -o "out.$i" -w '%{http_code}\n' "$BASE$path" > "code.$i" &
        pids+=($!)
    done
    wait "${pids[@]}"
    [ "$(cat code.* | sort | uniq -c | tr -s ' ')" = " 24 200" ]
    cmp out.4 out.8
    cmp out.1 out.5
}

@test "serve: a real program's snapshot, every endpoint" {
    PY=$(default_python)
    [ -n "$PY" ] || skip "no Python with an agent in $BUILD"
    HEAPSNAP_AGENT_DIR=${HEAPSNAP_AGENT_DIR:-$ROOT/$BUILD} \
        "$HEAPSNAP" dump -o leaky.db -- "$PY" "$ROOT/examples/leaky_service.py" > dump.log 2>&1 || {
        cat dump.log
        return 1
    }
    start_server leaky.db
    json "/api/top?n=5"
    [ "$(get '[t["count"] for t in d["types"] if t["type"] == "__main__.LeakedRequest"]')" = "[20000]" ]
    json /api/suspects
    [[ "$(get 'd["objects"][0]["accumulation_point"]["path"]')" == *".REQUEST_LOG → dict" ]]
    [ "$(get 'd["types"][0]["type"]')" = "__main__.LeakedRequest" ]
    json "/api/why?type=LeakedRequest"
    "$HEAPSNAP" why -f leaky.db LeakedRequest --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'd["groups"][0]["shape"], d["groups"][0]["count"]')" = \
      "('module __main__ .REQUEST_LOG → dict [*] → LeakedRequest', 20000)" ]
    id=$(get 'd["groups"][0]["example"]["id"]')
    json "/api/why/$id"
    "$HEAPSNAP" why -f leaky.db "@$id" --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    json "/api/object/$id?n=20"
    "$HEAPSNAP" show -f leaky.db "@$id" --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    json /api/cycles
    "$HEAPSNAP" cycles -f leaky.db --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    json "/api/advise?n=20"
    "$HEAPSNAP" advise -f leaky.db -n 20 --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get '[f["kind"] for f in d["findings"]]')" = "['weak_cache', 'duplicate_strings', 'slots']" ]
    fetch "/api/advise?min_bytes=lots"
    [ "$STATUS" = 400 ]
    json "/api/search?q=leakedreq"
    [ "$(get '[t["type"] for t in d["types"]]')" = "['__main__.LeakedRequest']" ]
    json /api/info
    [ "$(get 'd["totals"]["objects"] == d["meta"]["object_count"]')" = True ]
    for pic in backrefs refs why; do
        fetch "/svg/$pic/$id"
        [ "$STATUS" = 200 ]
        xmllint --noout body.out
        grep -q "xlink:href=\"/object/$id\"" body.out
    done
    stop_server
    [ "$SERVER_STATUS" -eq 0 ]
}

@test "serve: every request needs the token; its address sets a cookie" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    [ ${#TOKEN} -eq 32 ]
    # No token: 403 with one line, for the page, the API and the pictures.
    for path in / /api/info /api/object/16 /svg/backrefs/16 /static/app.js; do
        fetch_bare "$path"
        [ "$STATUS" = 403 ]
        [ "$(wc -l < body.out)" -le 1 ]
        [[ "$(cat body.out)" == *"needs its token"* ]]
        ! grep -q ann body.out
    done
    # A wrong token, in the address or in the cookie, or a prefix of it.
    for bad in "" 0 "${TOKEN:0:31}" "${TOKEN}0" "$(echo "$TOKEN" | tr 0-9a-f a-f0-9)"; do
        fetch_bare "/?token=$bad"
        [ "$STATUS" = 403 ]
        [ -z "$(header Set-Cookie)" ]
        fetch_bare /api/info -b "heapsnap-token-$PORT=$bad"
        [ "$STATUS" = 403 ]
    done
    # Another server's cookie name does not do.
    fetch_bare /api/info -b "heapsnap-token-1=$TOKEN"
    [ "$STATUS" = 403 ]
    # The printed address: a cookie, and the same address without the token.
    fetch_bare "/?token=$TOKEN"
    [ "$STATUS" = 303 ]
    [ "$(header Location)" = / ]
    [ "$(header Set-Cookie)" = "heapsnap-token-$PORT=$TOKEN; Path=/; HttpOnly; SameSite=Strict" ]
    fetch_bare "/type/a%20b?n=2&token=$TOKEN&q=x%26y"
    [ "$STATUS" = 303 ]
    [ "$(header Location)" = "/type/a%20b?n=2&q=x%26y" ]
    # Then the cookie alone, as a browser sends it back.
    rm -f jar
    STATUS=$(curl -s -L -c jar -b jar -o body.out -w '%{http_code} %{url_effective}' "$BASE/?token=$TOKEN")
    [ "$STATUS" = "200 $BASE/" ]
    grep -q '<script src="/static/app.js"' body.out
    STATUS=$(curl -s -b jar -o api.json -w '%{http_code}' "$BASE/api/object/16")
    [ "$STATUS" = 200 ]
    [ "$(get 'd["id"]')" = 16 ]
    # A new server has a new token: the old cookie is refused.
    old=$TOKEN
    stop_server
    start_server "$snap"
    [ "$TOKEN" != "$old" ]
    fetch_bare /api/info -b "heapsnap-token-$PORT=$old"
    [ "$STATUS" = 403 ]
}

@test "serve: --no-token answers all on loopback, and only there" {
    snap=$(make_snapshot leak)
    start_server "$snap" --no-token
    [ -z "$TOKEN" ]
    [[ "$(cat serve.err)" =~ at\ http://127\.0\.0\.1:[0-9]+/\ \(Ctrl-C ]]
    fetch_bare /api/info
    [ "$STATUS" = 200 ]
    stop_server
    for host in 0.0.0.0 :: 192.0.2.1; do
        run "$HEAPSNAP" serve -f "$snap" --port 0 --host "$host" --no-token
        [ "$status" -eq 2 ]
        [[ "$output" == *"--no-token needs a loopback --host: anyone who reaches $host could read the heap"* ]]
        [[ "$output" != *serving* ]]
    done
}

@test "serve: --host 0.0.0.0 says the token guards it, and requires it" {
    snap=$(make_snapshot leak)
    "$HEAPSNAP" serve -f "$snap" --port 0 --host 0.0.0.0 > serve.out 2> serve.err 3>&- &
    SERVER=$!
    for _ in $(seq 600); do
        grep -q serving serve.err && break
        kill -0 "$SERVER" 2> /dev/null || break
        sleep 0.1
    done
    [ "$(sed -n 1p serve.err)" = "heapsnap: 0.0.0.0 is not a loopback address: whoever reaches it needs the token below, and it is the only guard" ]
    line=$(sed -n 2p serve.err)
    [[ "$line" =~ at\ http://0\.0\.0\.0:([0-9]+)/\?token=([0-9a-f]{32})\ \(Ctrl-C ]]
    PORT=${BASH_REMATCH[1]}
    TOKEN=${BASH_REMATCH[2]}
    BASE="http://127.0.0.1:$PORT"
    fetch_bare /api/info
    [ "$STATUS" = 403 ]
    fetch_bare /api/info -b "heapsnap-token-$PORT=$TOKEN"
    [ "$STATUS" = 200 ]
}

@test "serve: 64 idle connections from one client leave room for another" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    # The greedy client is 127.0.0.2 (all of 127/8 is loopback): it opens
    # 64 connections and sends nothing; the server keeps 32 of them.  Then
    # the user's client (127.0.0.1) is answered while they are all open.
    "$PY3" - "$PORT" "$COOKIE" > greedy.out <<'PY'
import socket, sys, urllib.request
port, cookie = int(sys.argv[1]), sys.argv[2]
idle = []
for _ in range(64):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    idle.append(s)
req = urllib.request.Request("http://127.0.0.1:%d/api/info" % port,
                             headers={"Cookie": cookie})
with urllib.request.urlopen(req, timeout=60) as r:
    print(r.status)
# How many of the idle ones the server kept: those it refused are closed.
kept = 0
for s in idle:
    s.setblocking(False)
    try:
        kept += s.recv(1) != b""
    except BlockingIOError:
        kept += 1
    except OSError:
        pass
print(kept)
PY
    [ "$(sed -n 1p greedy.out)" = 200 ]
    [ "$(sed -n 2p greedy.out)" -le 32 ]
}

@test "serve: a client trickling its headers is cut off after --timeout" {
    snap=$(make_snapshot leak)
    start_server "$snap" --timeout 1
    # One header line every 0.2 s, 150 of them at most (30 s): the server
    # closes the connection after about 1 s of it; the library's own idle
    # timeout would never fire, each line being fresh activity.
    "$PY3" - "$PORT" > trickle.out <<'PY'
import select, socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
sent = 0
closed = False
for i in range(150):
    r, _, _ = select.select([s], [], [], 0.2)
    if r:
        try:
            closed = s.recv(4096) == b""
        except OSError:
            closed = True
        if closed:
            break
    try:
        s.sendall(b"X-Slow-%d: x\r\n" % i)
        sent += 1
    except OSError:
        closed = True
        break
print("closed" if closed else "open", sent)
PY
    read -r state sent < trickle.out
    [ "$state" = closed ]
    [ "$sent" -lt 150 ]
    # The server still answers.
    json /api/info
}

@test "i18.4 serve: a snapshot truncated or written over under it stops it (4), no SIGBUS" {
    for how in truncate overwrite; do
        snap=$(make_snapshot leak "live-$how")
        make_snapshot leak other > /dev/null
        sqlite3 other.db "UPDATE objects SET value = 'planted' WHERE address = 57344"
        start_server "$snap"
        json /api/object/16
        if [ "$how" = truncate ]; then
            truncate -s 4096 "$snap"
        else
            cat other.db > "$snap"
        fi
        fetch /api/object/14
        [ "$STATUS" = 503 ]
        [[ "$(cat body.out)" == *"the snapshot file changed on disk"* ]]
        [[ "$(cat body.out)" != *planted* ]]
        wait "$SERVER" && status=0 || status=$?
        SERVER=
        [ "$status" -eq 4 ] || { echo "$how: $status"; cat serve.err; false; }
        grep -q "heapsnap: error: '$snap' was changed while being read (truncated or written over)" serve.err
    done
    # Replaced by rename(): the server keeps reading the file it opened.
    snap=$(make_snapshot leak renamed)
    start_server "$snap"
    json /api/object/16
    cp other.db new.db
    mv new.db "$snap"
    json /api/object/16
    fetch /api/object/14
    [ "$STATUS" = 200 ]
    [[ "$(cat body.out)" != *planted* ]]
}

@test "serve: /api/map is the dominator tree, children by retained size as stored" {
    snap=$(make_snapshot leak)
    start_server "$snap"
    json '/api/map?depth=1&limit=100'
    [ "$(get 'd["id"], d["retained_size"], d["unreachable_bytes"]')" = "(None, 10696, 149)" ]
    want=$(sqlite3 "$snap" "select object_id, retained_size from retained where idom is null order by retained_size desc, object_id" | tr '\n' ' ')
    [ "$(get '" ".join("%d|%d" % (c["id"], c["retained_size"]) for c in d["children"])') " = "$want" ]
    [ "$(get 'd["rest"]')" = "{'count': 0, 'retained_size': 0}" ]
    # Below one object: what it dominates, the rest counted, its dominators.
    top=$(get 'd["children"][0]["id"]')
    json "/api/map/$top?depth=2&limit=1"
    kids=$(sqlite3 "$snap" "select count(*), sum(retained_size) from retained where idom = $top")
    n=$(get 'len(d["children"]) + d["rest"]["count"]')
    [ "$n|$(get 'd["children"][0]["retained_size"] + d["rest"]["retained_size"]')" = "$kids" ]
    [ "$(get 'd["ancestors"], d["depth"], d["limit"]')" = "([], 2, 1)" ]
    fetch '/api/map/12345'
    [ "$STATUS" = 404 ]
    fetch '/api/map?depth=9'
    [ "$STATUS" = 400 ]
    # The page itself is the viewer's.
    fetch "/map/$top"
    [ "$STATUS" = 200 ]
    grep -q 'app.js' body.out
}

@test "serve --diff OLD: /api/diff is diff OLD FILE --json; no OLD, no diff" {
    old=$(make_snapshot leak old)
    snap=$(make_snapshot leak)
    start_server "$snap" --diff "$old"
    json /api/diff
    "$HEAPSNAP" diff "$old" "$snap" -n 0 --paths 5 --json > cli.json
    "$PY3" jsonlib.py subset cli.json api.json
    [ "$(get 'd["old"]["file"], d["new"]["objects"]')" = "('$old', 27)" ]
    json /api/info
    [ "$(get 'd["diff_old"]')" = "$old" ]
    stop_server
    start_server "$snap"
    fetch /api/diff
    [ "$STATUS" = 404 ]
    [[ "$(cat body.out)" == *"--diff OLD"* ]]
    stop_server
    run "$HEAPSNAP" serve -f "$snap" --diff missing.db --port 0
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: cannot open 'missing.db'"* ]]
    [[ "$output" != *serving* ]]
}

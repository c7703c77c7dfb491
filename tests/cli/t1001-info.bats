#!/usr/bin/env bats
# heapsnap info: the first reader of a snapshot, and every way opening one
# can fail.

load lib

@test "info: text report of the fixture" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap"
    [ "$status" -eq 0 ]
    [[ "$output" == *"python       CPython 3.12.1"* ]]
    [[ "$output" == *"objects      27 (10.6 KiB shallow)"* ]]
    [[ "$output" == *"references   21"* ]]
    [[ "$output" == *"roots        12: static 7, external 3, interned 1, module 1"* ]]
    [[ "$output" == *"unreachable  2 objects (96 B)"* ]]
    [[ "$output" == *"MainThread"* ]]
}

@test "info: --json carries meta, totals, roots and threads" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap" --json
    [ "$status" -eq 0 ]
    echo "$output" | check_json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["format"] == 1, d["format"]
assert d["totals"]["objects"] == 27
assert d["totals"]["edges"] == 21
assert d["totals"]["unreachable_objects"] == 2
assert d["roots_by_kind"]["module"] == 1
assert d["meta"]["pid"] == 4242
assert d["meta"]["python_version"] == "3.12.1"
assert d["threads"][0]["name"] == "MainThread"
assert d["derived"]["retained"] is False
assert d["derived"]["graph_cache_bytes"] is None
'
}

@test "info: says whether the graph cache and retained sizes are stored" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap"
    [[ "$output" == *"graph cache  not stored yet"* ]]
    # Any command that loads the graph stores the cache; retained sizes
    # come with the commands that show them.
    "$HEAPSNAP" top -f "$snap" > /dev/null
    run "$HEAPSNAP" info -f "$snap"
    [[ "$output" == *"retained     not computed yet"* ]]
    [[ "$output" == *"graph cache  stored ("*" of the file)"* ]]
    "$HEAPSNAP" why -f "$snap" Foo > /dev/null
    run "$HEAPSNAP" info -f "$snap" --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)["derived"]
# 27 objects x 28 bytes + 4 (the extra offset) + 21 references x 9
# (target 4, kind 1, arg 4)
assert d["graph_cache_bytes"] == 27 * 28 + 4 + 21 * 9, d
assert d["retained"] is True
'
    # The cached graph answers as the tables did.
    run "$HEAPSNAP" why -f "$snap" @17
    [ "${lines[1]}" = "  module __main__ .CACHE → dict ['users'] → list [1] → Foo" ]
}

@test "info: without -f reads the newest heapsnap-*.db here and says so" {
    snap=$(make_snapshot leak)
    mkdir -p "$BATS_TEST_TMPDIR/here" && cd "$BATS_TEST_TMPDIR/here"
    cp "$snap" heapsnap-1-old.db
    touch -d '2020-01-01' heapsnap-1-old.db
    cp "$snap" heapsnap-2-new.db
    run "$HEAPSNAP" info
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "heapsnap: reading 'heapsnap-2-new.db' (newest heapsnap-*.db here; -f picks another)" ]
}

@test "info: no snapshot here is a usage error" {
    mkdir -p "$BATS_TEST_TMPDIR/empty" && cd "$BATS_TEST_TMPDIR/empty"
    run "$HEAPSNAP" info
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: no snapshot given and no heapsnap-*.db in the current folder (use -f FILE)" ]
}

@test "info: a missing file is an I/O error (4) naming the file" {
    run "$HEAPSNAP" info -f "$BATS_TEST_TMPDIR/nope.db"
    [ "$status" -eq 4 ]
    [ "$output" = "heapsnap: error: cannot open '$BATS_TEST_TMPDIR/nope.db': No such file or directory" ]
}

@test "info: a folder is not a snapshot (3)" {
    run "$HEAPSNAP" info -f "$BATS_TEST_TMPDIR"
    [ "$status" -eq 3 ]
    [ "$output" = "heapsnap: error: '$BATS_TEST_TMPDIR' is not a heapsnap snapshot: it is a folder" ]
}

@test "info: an unreadable file is an I/O error (4)" {
    snap=$(make_snapshot leak)
    chmod 000 "$snap"
    if [ -r "$snap" ]; then skip "running as root: permissions do not apply"; fi
    run "$HEAPSNAP" info -f "$snap"
    [ "$status" -eq 4 ]
    [[ "$output" == *"Permission denied"* ]]
}

@test "info: a text file is not a snapshot (3)" {
    echo "hello" > "$BATS_TEST_TMPDIR/x.db"
    run "$HEAPSNAP" info -f "$BATS_TEST_TMPDIR/x.db"
    [ "$status" -eq 3 ]
    [ "$output" = "heapsnap: error: '$BATS_TEST_TMPDIR/x.db' is not a heapsnap snapshot: file is not a database" ]
}

@test "info: another application's SQLite file is not a snapshot (3)" {
    sqlite3 "$BATS_TEST_TMPDIR/other.db" "create table t(x); insert into t values (1);"
    run "$HEAPSNAP" info -f "$BATS_TEST_TMPDIR/other.db"
    [ "$status" -eq 3 ]
    [ "$output" = "heapsnap: error: '$BATS_TEST_TMPDIR/other.db' is not a heapsnap snapshot (SQLite application_id is 0)" ]
}

@test "info: a newer snapshot format is refused (3) with advice" {
    snap=$(make_snapshot leak)
    sqlite3 "$snap" "PRAGMA user_version = 99"
    run "$HEAPSNAP" info -f "$snap"
    [ "$status" -eq 3 ]
    [ "$output" = "heapsnap: error: '$snap' has snapshot format 99; this heapsnap reads format 1 or older (upgrade heapsnap)" ]
}

@test "info: a snapshot missing a table is refused (3)" {
    snap=$(make_snapshot leak)
    sqlite3 "$snap" "DROP VIEW edges; DROP TABLE edge_list"
    run "$HEAPSNAP" info -f "$snap"
    [ "$status" -eq 3 ]
    [ "$output" = "heapsnap: error: '$snap' is not a complete heapsnap snapshot: table 'edge_list' is missing" ]
}

@test "info: a truncated snapshot is refused, never half read" {
    snap=$(make_snapshot leak)
    head -c 5000 "$snap" > "$BATS_TEST_TMPDIR/cut.db"
    run "$HEAPSNAP" info -f "$BATS_TEST_TMPDIR/cut.db"
    [ "$status" -eq 3 ] || [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: "*"cut.db"* ]]
}

@test "info: the snapshot file is not modified by reading it" {
    snap=$(make_snapshot leak)
    before=$(sha256sum "$snap")
    "$HEAPSNAP" info -f "$snap" > /dev/null
    "$HEAPSNAP" info -f "$snap" --json > /dev/null
    [ "$(sha256sum "$snap")" = "$before" ]
}

@test "info: extra arguments are a usage error" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap" extra
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: unexpected argument 'extra'" ]]
}

@test "info: a snapshot without memory figures shows them unknown, no warning" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap"
    [ "$status" -eq 0 ]
    [[ "$output" == *"memory       RSS 10.0 MiB ="* ]]
    [[ "$output" == *"unknown  malloc free space"* ]]
    [[ "$output" == *"tracemalloc not tracing"* ]]
    [[ "$output" != *"warning"* ]]
    run "$HEAPSNAP" info -f "$snap" --json
    echo "$output" | python3 -c '
import json, sys
m = json.load(sys.stdin)["memory"]
assert m["rss"] == 10485760, m
assert m["pymalloc_free"] is None and m["malloc_free"] is None, m
assert m["file_backed"] is None and m["warning"] is None, m
assert m["objects"] + m["unexplained"] == m["rss"], m
'
}

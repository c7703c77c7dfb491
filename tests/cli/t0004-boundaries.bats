#!/usr/bin/env bats
# The inspector's boundaries (STYLE.md "Boundaries"), checked on the source:
# one loaded heap opens snapshots; SQL stays in the snapshot layer.  Each
# failure names the file that crossed a boundary.

load lib

setup() {
    cd "$ROOT/inspector"
}

# offenders PATTERN ALLOWED...: the .c files matching the extended regex
# PATTERN that are not among ALLOWED.
offenders() {
    local pattern=$1 f a ok
    shift
    for f in $(grep -lE "$pattern" -- *.c); do
        ok=
        for a in "$@"; do
            [ "$f" = "$a" ] && ok=1
        done
        [ -n "$ok" ] || echo "$f"
    done
}

@test "boundaries: only the heap opens a snapshot and loads its graph" {
    run offenders '\bhs_snapshot_open\(|\bhs_graph_load\(|\bhs_naming_new\(|\bhs_retained_get\(|\bhs_snapshot_pick\(' \
        heap.c snapshot.c graph.c naming.c retained.c
    [ "$status" -eq 0 ]
    [ -z "$output" ] || {
        echo "open a heap (heap.h) instead, in: $output"
        return 1
    }
}

@test "boundaries: SQL only in the snapshot layer" {
    # SQLite's API (sqlite3_*, sqlite3.h), not Python's sqlite3 module
    # that `advise` names in its findings.
    run offenders '"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|BEGIN|COMMIT)\b|\bhs_query_|\bhs_snapshot_(exec|int)\(|\bsqlite3_|sqlite3\.h' \
        snapshot.c graph.c graph_cache.c retained.c naming.c summary.c snapshot_facts.c \
        sites.c
    [ "$status" -eq 0 ]
    [ -z "$output" ] || {
        echo "SQL outside the snapshot layer, in: $output"
        return 1
    }
}

@test "boundaries: commands never call commands" {
    local f out=
    # A command file includes no other command's header and defines
    # nothing but its entry point(s) outside itself.
    for f in cmd_*.c serve_*.c; do
        grep -qE '#include "cmd_' "$f" && out="$out $f(includes a cmd_ header)"
    done
    for f in cmd_*.c; do
        grep -E '^[a-z_]+\(' "$f" | grep -vE '^cmd_[a-z]+\(int argc' |
            while read -r line; do
                grep -B1 -F "$line" "$f" | head -1 | grep -q '^static' ||
                    echo "$f: ${line%%(*}"
            done | grep -q . && out="$out $f(exports more than its command)"
    done
    [ -z "$out" ] || {
        echo "boundary crossed:$out"
        return 1
    }
}

@test "boundaries: edge kinds and flag bits are typed in the schema only" {
    # Both halves include build/gen/schema_numbers.h; nobody spells the
    # numbers again (NKINDS is room for kinds, BATCH a row count).
    run bash -c "grep -nE '^[[:space:]]*(#define[[:space:]]+)?HS_(K|F|TF|OBJ|TYPE|EDGE)_[A-Z_]+[[:space:]=]+(0x)?[0-9]' \
        '$ROOT'/agent/*.[ch] '$ROOT'/inspector/*.[ch] | grep -vE 'HS_EDGE_NKINDS|_BATCH '"
    [ -z "$output" ] || {
        echo "numbers typed outside schema/heapsnap.sql: $output"
        return 1
    }
}

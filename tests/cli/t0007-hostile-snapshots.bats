#!/usr/bin/env bats
# Snapshots nobody should trust (issue 18): every command opens a crafted
# file defensively and fails with exit 3 and its cause, never crashes,
# hangs or runs what the file holds; the exit codes and the JSON of odd
# but valid files.  Test names start with the issue group they close:
#   i18.4  the loader: NULL columns, views and triggers, non-regular files
#   i18.6  concurrent first commands wait for each other
#   i18.7  exit codes and noise: missing tables, read-only folder, show '',
#          invalid UTF-8 in the JSON

load lib

# Every command that reads a snapshot, with an argument that exists in the
# leak fixture.
COMMANDS=("info" "top" "why 0xd000" "show 0xd000" "refs 0xd000"
    "backrefs 0xd000" "cycles")

setup() {
    cd "$BATS_TEST_TMPDIR"
    SNAP=$(make_snapshot leak)
}

# run_all FILE: runs every command on FILE (each under a time limit: a
# hang is a failure); OUT gets "command status" lines, ERRS the stderr.
run_all() {
    OUT= ERRS=
    local c st
    for c in "${COMMANDS[@]}"; do
        st=0
        # shellcheck disable=SC2086
        timeout 60 "$HEAPSNAP" $c -f "$1" > /dev/null 2> cmd.err || st=$?
        OUT+="$c $st"$'\n'
        ERRS+=$(cat cmd.err)$'\n'
    done
}

# all_exit N: every command of the last run_all exited N.
all_exit() {
    ! grep -v " $1\$" <<< "${OUT%$'\n'}"
}

# rebuilt FILE TABLE COLUMNS: TABLE re-created without its constraints
# (as a crafted file could have it), same rows.
rebuilt() {
    sqlite3 "$1" "CREATE TABLE t_copy AS SELECT * FROM $2; DROP TABLE $2;
        CREATE TABLE $2 ($3); INSERT INTO $2 SELECT * FROM t_copy;
        DROP TABLE t_copy;"
}

@test "i18.4 a NULL roots.kind or meta.key is read, not a crash" {
    cp "$SNAP" kind.db
    rebuilt kind.db roots "object_id, kind, label, thread_id, frame_id"
    sqlite3 kind.db "UPDATE roots SET kind = NULL WHERE rowid = 1"
    run_all kind.db
    all_exit 0 || { echo "$OUT$ERRS"; false; }
    run "$HEAPSNAP" info --json -f kind.db
    [ "$status" -eq 0 ]
    echo "$output" | check_json
    cp "$SNAP" key.db
    rebuilt key.db meta "key, value"
    sqlite3 key.db "INSERT INTO meta VALUES (NULL, 'x')"
    run_all key.db
    all_exit 0 || { echo "$OUT$ERRS"; false; }
}

@test "i18.4 a view in place of a table is refused (3) before it can run" {
    cp "$SNAP" view.db
    # Recursive without end: reading it would never finish.
    sqlite3 view.db "ALTER TABLE objects RENAME TO objects_data;
        CREATE VIEW objects AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL
        SELECT x + 1 FROM r) SELECT o.* FROM objects_data o, r;"
    run_all view.db
    all_exit 3 || { echo "$OUT$ERRS"; false; }
    [ "$(grep -c "'view.db' is not a heapsnap snapshot: 'objects' is not a table" <<< "$ERRS")" -eq ${#COMMANDS[@]} ]
}

@test "i18.4 the file's own views are never used: a hostile 'edges' is ignored" {
    cp "$SNAP" edges.db
    sqlite3 edges.db "DROP VIEW edges; CREATE VIEW edges (id, label) AS
        WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)
        SELECT x, 'planted' FROM r;"
    run timeout 60 "$HEAPSNAP" why 0xd000 -f edges.db
    [ "$status" -eq 0 ]
    [[ "$output" == *"module __main__ .CACHE → dict"* ]]
    [[ "$output" != *planted* ]]
}

@test "i18.4 a file holding a trigger is refused (3) and the trigger never runs" {
    cp "$SNAP" trig.db
    sqlite3 trig.db "CREATE TABLE ran (x); CREATE TRIGGER t AFTER INSERT ON
        meta BEGIN INSERT INTO ran VALUES (1); END; CREATE TRIGGER t2
        BEFORE INSERT ON meta BEGIN INSERT INTO ran VALUES (2); END;"
    run_all trig.db
    all_exit 3 || { echo "$OUT$ERRS"; false; }
    [[ "$ERRS" == *"'trig.db' is not a heapsnap snapshot: it holds trigger 't"* ]]
    # Nothing was written into it: no derived table, no trigger fired.
    [ "$(sqlite3 trig.db "SELECT count(*) FROM ran")" -eq 0 ]
    [ "$(sqlite3 trig.db "SELECT count(*) FROM sqlite_master WHERE name IN ('retained', 'graph_cache')")" -eq 0 ]
}

@test "i18.4 a FIFO, a device or a folder as -f is refused at once (3)" {
    mkfifo pipe.db
    mkdir folder.db
    for f in pipe.db /dev/null /dev/zero folder.db; do
        run timeout 20 "$HEAPSNAP" info -f "$f"
        [ "$status" -eq 3 ] || { echo "$f: $status $output"; false; }
        [[ "$output" == "heapsnap: error: '$f' is not a heapsnap snapshot: it is a "* ]]
        run timeout 20 "$HEAPSNAP" top -f "$f"
        [ "$status" -eq 3 ]
    done
}

# change_counter FILE: SQLite's file change counter (header bytes 24-27),
# one more per committed write transaction.
change_counter() {
    od -An -tu1 -j24 -N4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

@test "i18.6 four commands opening a new snapshot together all succeed" {
    "$HEAPSNAP" dump -o big.db -- "$(default_python)" -c '
keep = [{"n": i, "s": str(i)} for i in range(200000)]'
    # New as heapsnap.dump() leaves one: dump stored its caches.
    sqlite3 big.db "DROP TABLE graph_cache; DROP TABLE retained; DELETE FROM meta WHERE key LIKE 'derived_%'"
    for round in 1 2; do
        cp big.db new.db
        before=$(change_counter new.db)
        pids=()
        for i in 1 2 3 4; do
            "$HEAPSNAP" top --by retained -f new.db > "top$i.out" 2> "top$i.err" &
            pids+=($!)
        done
        for i in 0 1 2 3; do
            wait "${pids[$i]}" || { cat top*.err; false; }
        done
        ! grep -i 'locked\|error' top*.err
        # Each answered the same, and the file holds its derived tables.
        for i in 2 3 4; do cmp top1.out "top$i.out"; done
        [ "$(sqlite3 new.db "SELECT count(*) FROM meta WHERE key IN ('derived_retained', 'derived_graph_cache')")" -eq 2 ]
        # Stored once each (two commits), not rewritten by the commands
        # that computed them at the same time.
        [ $(($(change_counter new.db) - before)) -eq 2 ] ||
            { echo "commits: $(($(change_counter new.db) - before))"; false; }
    done
}

@test "i18.7 a missing table is exit 3 for every command, naming it" {
    for t in frames threads type_flags object_flags edge_kinds; do
        cp "$SNAP" missing.db
        sqlite3 missing.db "DROP TABLE $t"
        run_all missing.db
        all_exit 3 || { echo "$t: $OUT$ERRS"; false; }
        [[ "$ERRS" == *"'missing.db' is not a complete heapsnap snapshot"*"$t"* ]]
    done
}

@test "i18.7 a snapshot in a read-only folder: answers, a note, exit 0" {
    command -v setpriv > /dev/null || skip "no setpriv"
    [ "$(id -u)" -eq 0 ] || skip "needs root to run as nobody"
    # A folder user nobody can reach: the test's own may not be.
    top=$(mktemp -d /tmp/heapsnap-ro-XXXXXX)
    chmod 755 "$top"
    mkdir "$top/ro"
    cp "$SNAP" "$top/ro/snap.db"
    chmod 666 "$top/ro/snap.db"
    chmod 555 "$top/ro"
    cd "$top"
    for c in top "why 0xd000" cycles; do
        # shellcheck disable=SC2086
        run setpriv --reuid=nobody --regid=nogroup --clear-groups \
            "$HEAPSNAP" $c -f ro/snap.db
        [ "$status" -eq 0 ] || { echo "$c: $output"; rm -rf "$top"; false; }
        [[ "$output" != *"error:"* ]]
        [[ "$output" != *"warning:"* ]]
        [[ "$output" == *"'ro/snap.db' is read-only: derived data is computed, not stored"* ]]
    done
    n=$(sqlite3 ro/snap.db "SELECT count(*) FROM sqlite_master WHERE name = 'retained'")
    cd "$BATS_TEST_TMPDIR"
    rm -rf "$top"
    [ "$n" -eq 0 ]
}

@test "i18.7 an empty object name is a usage error (2) for every command" {
    for c in show why refs backrefs; do
        run "$HEAPSNAP" $c '' -f "$SNAP"
        [ "$status" -eq 2 ] || { echo "$c: $status $output"; false; }
        [[ "$output" == *"an empty object name"* ]]
    done
}

@test "i18.7 bytes that are not UTF-8 come out of --json as U+FFFD" {
    cp "$SNAP" bytes.db
    sqlite3 bytes.db "UPDATE objects SET value = CAST(x'41ff42c3' AS TEXT)
        WHERE address = 57344;
        INSERT INTO meta VALUES (CAST(x'6b6579ff' AS TEXT), CAST(x'80' AS TEXT));"
    for c in "show 0xe000" "info" "top" "why 0xe000" "backrefs 0xe000"; do
        # shellcheck disable=SC2086
        "$HEAPSNAP" $c --json -f bytes.db > out.json
        python3 -c 'import json, sys
json.loads(open("out.json", "rb").read().decode("utf-8"))' || { echo "$c"; false; }
    done
    "$HEAPSNAP" show 0xe000 --json -f bytes.db > out.json
    python3 -c 'import json
d = json.loads(open("out.json", "rb").read().decode("utf-8"))
assert "A\ufffdB\ufffd" in json.dumps(d, ensure_ascii=False), d'
}
